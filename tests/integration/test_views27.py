"""Writes through views over distributed tables found by replaying PostgreSQL 18's
updatable_views, triggers and rules files (h-views27): what gridpg refuses, it refuses with
0A000 and nothing written. Answers gridpg gives are compared with plain PostgreSQL in
tests/oracle/corpus/99_h27v_view_writes.sql."""

from __future__ import annotations

import psycopg

from gridpg.cluster.control import Cluster
from tests.conftest import answer


def test_update_through_a_view_moving_rows_to_another_node_is_refused(gridpg_cluster: Cluster, schema: str) -> None:
    """An UPDATE through a view of the column showing the distribution column (`a AS aa`,
    updatable_views.sql:121) runs on each datanode, where a new value of another node's
    shard found no partition: PostgreSQL's 23514 about a partition level the user never
    made. Now gridpg's 0A000, the statement undone on every node (executor/multi.py
    `_rows_left_in_place`)."""
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute(f"SET search_path TO {schema}")
        conn.execute("CREATE TABLE v27_base (a int PRIMARY KEY, b text) DISTRIBUTE BY HASH (a)")
        conn.execute("INSERT INTO v27_base SELECT g, 'row ' || g FROM generate_series(1, 40) g")
        conn.execute("CREATE VIEW v27_twice AS SELECT a, b, a AS aa FROM v27_base")
        before = conn.execute("SELECT * FROM v27_base ORDER BY a").fetchall()
        for sql in ("UPDATE v27_twice SET aa = aa + 1000", "UPDATE v27_twice SET a = -a WHERE b <> ''"):
            assert answer(conn, sql) == "0A000"
        assert conn.execute("SELECT * FROM v27_base ORDER BY a").fetchall() == before
        # other columns still update through the view, on every node
        assert conn.execute("UPDATE v27_twice SET b = upper(b) WHERE aa > 30").rowcount == 10
