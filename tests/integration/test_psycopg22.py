"""What psycopg 3's own test suite found (h-psycopg22), each shape in our own words, run
through psycopg against the session's cluster (and, where an answer is compared, plain
PostgreSQL)."""

from __future__ import annotations

import time

import psycopg
import pytest

from gridpg.cluster.control import Cluster


# psycopg prepares a statement run often enough under its own name (_pg3_N, Parse by
# protocol). pg_prepared_statements listed those with a NULL prepare_time: only SQL
# PREPAREs carried one, so ordering the statements by when they were prepared failed.
def test_protocol_prepared_statements_have_a_prepare_time(gridpg_cluster: Cluster) -> None:
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True, prepare_threshold=0) as conn:
        for text in ("SELECT 1 AS first", "SELECT 2 AS second", "SELECT 3 AS third"):
            conn.execute(text)
        rows = conn.execute(
            "SELECT statement, prepare_time FROM pg_prepared_statements "
            "WHERE name LIKE '\\_pg3\\_%' ORDER BY prepare_time, statement", prepare=False).fetchall()
    assert [r[0] for r in rows] == ["SELECT 1 AS first", "SELECT 2 AS second", "SELECT 3 AS third"]
    assert all(r[1] is not None for r in rows)


# A client's own idle_in_transaction_session_timeout reached only the backend connections:
# the catalog server's backend ended, and the client's next statement failed 08006
# "connection to node catalog1 was lost" where PostgreSQL sends 25P03 and closes.
def test_own_idle_in_transaction_timeout_ends_the_session_with_25P03(gridpg_cluster: Cluster) -> None:
    with psycopg.connect(gridpg_cluster.dsn(0)) as conn:
        conn.execute("SET SESSION idle_in_transaction_session_timeout = 150")
        conn.execute("SELECT count(*) FROM pg_class")  # the block stays open
        time.sleep(1)
        with pytest.raises(psycopg.errors.IdleInTransactionSessionTimeout):
            conn.execute("SELECT 1")
        assert conn.closed


# The same setting outside a block, and a block that ends in time: nothing ends.
def test_own_idle_in_transaction_timeout_spares_idle_sessions(gridpg_cluster: Cluster) -> None:
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute("SET idle_in_transaction_session_timeout = '300ms'")
        time.sleep(0.6)
        with conn.transaction():
            assert conn.execute("SELECT 7").fetchone() == (7,)
        time.sleep(0.6)
        assert conn.execute("SHOW idle_in_transaction_session_timeout").fetchone() == ("300ms",)
