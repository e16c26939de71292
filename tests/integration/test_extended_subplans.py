"""Statements whose last part runs on one node after their subplans (`subplans, then
router` / `then catalog`: TPC-DS q02, q09, q24, q54, ...) through the extended protocol,
prepared and with parameters, executed again and again on one connection, in autocommit
and inside a client's block: the node's owed Sync is settled before the statement's own
COMMIT (or the side catalog connection's ROLLBACK), so the connection is not closed
under the client ("connection to node catalog1 was lost" on the second execution, and on
every execution inside a block)."""

from __future__ import annotations

import psycopg
import pytest

from gridpg.cluster.control import Cluster

QUERIES = [
    ("SELECT (SELECT count(*) FROM t WHERE n > %s) AS c", lambda k: [(sum(1 for n in range(20) if n % 7 > k),)]),
    ("SELECT x FROM (VALUES (1), (2), (30)) v(x) WHERE x < (SELECT count(*) FROM t WHERE n > %s) ORDER BY x",
     lambda k: [(x,) for x in (1, 2, 30) if x < sum(1 for n in range(20) if n % 7 > k)]),
]


@pytest.fixture()
def tables(gridpg_cluster: Cluster, schema: str) -> str:
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute(f"CREATE TABLE {schema}.t (id int, n int) DISTRIBUTE BY HASH (id)")
        conn.execute(f"INSERT INTO {schema}.t SELECT i, i % 7 FROM generate_series(0, 19) i")
    return schema


@pytest.mark.parametrize("autocommit", [True, False])
def test_prepared_subplans_then_one_node_run_again_and_again(gridpg_cluster: Cluster, tables: str,
                                                             autocommit: bool) -> None:
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=autocommit) as conn:
        conn.execute(f"SET search_path = {tables}")
        for round_ in range(3):
            for sql, expected in QUERIES:
                for k in (0, 3, 5):
                    got = conn.execute(sql, (k,), prepare=True).fetchall()
                    assert got == expected(k), (round_, sql, k)
            if not autocommit:
                conn.commit()
        # the session carries on with other statements afterwards
        assert conn.execute("SELECT count(*) FROM t").fetchall() == [(20,)]
