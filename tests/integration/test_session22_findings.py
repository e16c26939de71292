"""A session with its own idle_in_transaction_session_timeout (lead, 2026-12-07).

h-psycopg22 made the coordinator end such a session with 25P03 as PostgreSQL does, and to
keep a BEGIN run from the callbacks from opening a block no timer watched, it ran every
statement of such sessions through the task: a role or database with the setting lost the
fast paths. Now only the BEGIN is left to the task (`fast_cycle._run_begin`)."""

from __future__ import annotations

import time

import psycopg
import pytest

from gridpg.cluster.control import Cluster
from tests.integration.test_fast_cycle import _counted
from tests.integration.test_metrics import scrape


@pytest.fixture()
def conn(gridpg_cluster: Cluster, schema: str) -> psycopg.Connection:
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as c:
        c.execute(f'SET search_path = "{schema}"')
        c.execute("CREATE TABLE s22 (id int PRIMARY KEY, bal int) DISTRIBUTE BY HASH (id)")
        c.execute("INSERT INTO s22 SELECT g, g * 10 FROM generate_series(1, 50) g")
        yield c


def test_statements_outside_blocks_keep_the_callbacks(gridpg_cluster: Cluster, conn: psycopg.Connection) -> None:
    conn.execute("SET idle_in_transaction_session_timeout = '5s'")
    query = "SELECT bal FROM s22 WHERE id = %s"
    conn.execute(query, (1,), prepare=True)
    before = scrape(gridpg_cluster)
    for key in range(1, 41):
        assert conn.execute(query, (key,), prepare=True).fetchall() == [(key * 10,)]
    assert _counted(gridpg_cluster, before, "callback", 30) >= 30  # (the first may set the connection up)


def test_a_prepared_begin_still_times_out(gridpg_cluster: Cluster, conn: psycopg.Connection) -> None:
    conn.execute("SET idle_in_transaction_session_timeout = 300")
    conn.execute("BEGIN", prepare=True)
    conn.execute("BEGIN", prepare=False)  # (not prepared by psycopg the first time)
    conn.execute("COMMIT")
    conn.execute("BEGIN", prepare=True)  # a prepared BEGIN: Bind/Execute of a prepared statement
    assert conn.execute("SELECT bal FROM s22 WHERE id = %s", (3,), prepare=True).fetchall() == [(30,)]
    time.sleep(1.2)
    with pytest.raises(psycopg.errors.IdleInTransactionSessionTimeout):
        conn.execute("SELECT 1")
    assert conn.closed
