"""EXPLAIN prints the planner's plan (its `describe()`), for every strategy, through the
real coordinator: joins of non-colocated tables (their table references are located in
the EXPLAINed statement's own text), writes that read scratch tables, and a refusal where
EXPLAIN ANALYZE would lose rows."""

from __future__ import annotations

import psycopg
import pytest

from gridpg.cluster.control import Cluster


def _explain(conn: psycopg.Connection, sql: str) -> list[str]:
    return [row[0] for row in conn.execute(sql).fetchall()]


@pytest.fixture()
def tables(gridpg_cluster: Cluster, schema: str) -> str:
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute(f"CREATE TABLE {schema}.t (id int, v text, n int) DISTRIBUTE BY HASH (id)")
        conn.execute(f"CREATE TABLE {schema}.u (id int, w text) DISTRIBUTE BY HASH (id)")
        conn.execute(f"INSERT INTO {schema}.t VALUES (1, 'a', 1), (2, 'b', 3), (3, 'c', 3)")
        conn.execute(f"INSERT INTO {schema}.u VALUES (1, 'x'), (3, 'y')")
    return schema


def test_explain_of_a_join_of_non_colocated_tables(gridpg_cluster: Cluster, tables: str) -> None:
    with psycopg.connect(gridpg_cluster.dsn(1), autocommit=True) as conn:
        conn.execute(f"SET search_path = {tables}")
        lines = _explain(conn, "EXPLAIN (VERBOSE) /* note */ SELECT t.id, u.w FROM t JOIN u ON t.n = u.id")
        assert lines[0].startswith("Distributed plan: exchange"), lines  # executor/exchange.py
        assert any(line.startswith((f"  Repartition {tables}.", f"  Broadcast {tables}.")) for line in lines)
        assert "  Not pushdown: the tables are not joined on their distribution columns" in lines
        # a FULL join keeps the coordinator finish, which says what it gathers
        lines = _explain(conn, "EXPLAIN (VERBOSE) SELECT t.id, u.w FROM t FULL JOIN u ON t.n = u.id")
        assert lines[0] == "Distributed plan: coordinator-finish", lines
        assert any(line.startswith("  Gather from ") and f"FROM {tables}.u" in line for line in lines), lines
        assert any(line.startswith("  Not exchange: ") for line in lines), lines
        # and the statements themselves answer as PostgreSQL would
        rows = conn.execute("SELECT t.id, u.w FROM t JOIN u ON t.n = u.id ORDER BY 1").fetchall()
        assert rows == [(1, "x"), (2, "y"), (3, "y")]
        rows = conn.execute("SELECT t.id, u.w FROM t FULL JOIN u ON t.n = u.id ORDER BY 1, 2").fetchall()
        assert rows == [(1, "x"), (2, "y"), (3, "y")]


def test_explain_of_each_strategy(gridpg_cluster: Cluster, tables: str) -> None:
    cases = {
        "SELECT * FROM t WHERE id = 2": "router",
        "SELECT * FROM t JOIN u USING (id) WHERE t.id > 0 AND t.id = u.id": "pushdown",
        "SELECT id FROM t ORDER BY id LIMIT 2": "merge",
        "SELECT n, count(*) FROM t GROUP BY n": "two-phase",
        "UPDATE t SET v = 'z' FROM u WHERE t.n = u.id": "broadcast",
        "UPDATE t SET id = id + 10 WHERE n = 3": "move-rows",
        "INSERT INTO t VALUES (9, 'i', 9)": "insert routed by the distribution column",
    }
    with psycopg.connect(gridpg_cluster.dsn(0)) as conn:
        conn.execute(f"SET search_path = {tables}")
        for sql, strategy in cases.items():
            lines = _explain(conn, f"EXPLAIN {sql}")
            assert lines[0] == f"Distributed plan: {strategy}", (sql, lines)
        broadcast = _explain(conn, "EXPLAIN UPDATE t SET v = 'z' FROM u WHERE t.n = u.id")
        assert broadcast[-1].startswith("  (no node plans")
        conn.rollback()


def test_explain_analyze_refuses_to_move_rows(gridpg_cluster: Cluster, tables: str) -> None:
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute(f"SET search_path = {tables}")
        with pytest.raises(psycopg.errors.FeatureNotSupported):
            conn.execute("EXPLAIN ANALYZE UPDATE t SET id = id + 10 WHERE n = 3")
        assert conn.execute("SELECT id FROM t ORDER BY id").fetchall() == [(1,), (2,), (3,)]


def test_explain_of_subplans_that_leave_no_table(gridpg_cluster: Cluster, tables: str) -> None:
    # TPC-DS q09's shape: once the scalar subquery's value is in place no table is left;
    # EXPLAIN ended the session with an internal error (router over no tables)
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute(f"SET search_path = {tables}")
        lines = _explain(conn, "EXPLAIN SELECT (SELECT count(*) FROM t) AS c")
        assert lines[0] == "Distributed plan: subplans, then catalog", lines
        assert conn.execute("SELECT (SELECT count(*) FROM t) AS c").fetchall() == [(3,)]


def test_explain_analyze_of_a_write_runs_it(gridpg_cluster: Cluster, schema: str) -> None:
    """EXPLAIN ANALYZE runs the write, as PostgreSQL does, also where no node runs the plan
    under ANALYZE (a broadcast UPDATE, a routed INSERT, an INSERT ... SELECT): before, those
    showed a plan and changed nothing. Bound parameters; a block that rolls back undoes it."""
    analyze = "EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) "
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute(f'SET search_path TO "{schema}"')
        conn.execute("CREATE TABLE ea1 (id int PRIMARY KEY, v int)")
        conn.execute("CREATE TABLE ea2 (k int PRIMARY KEY, w int)")
        conn.execute("INSERT INTO ea1 SELECT g, g FROM generate_series(1, 10) g")
        conn.execute("INSERT INTO ea2 SELECT g, g * 2 FROM generate_series(1, 10) g")
        plan = [r[0] for r in conn.execute(analyze + "UPDATE ea1 SET v = 0 WHERE id IN (SELECT w FROM ea2)")]
        assert any("Executed: UPDATE 5" in line for line in plan)
        assert conn.execute("SELECT count(*) FROM ea1 WHERE v = 0").fetchone() == (5,)
        conn.execute(analyze + "INSERT INTO ea1 VALUES (%s, %s)", (100, 7))
        conn.execute(analyze + "INSERT INTO ea1 SELECT w + 200, k FROM ea2 WHERE k <= %s", (3,))
        assert conn.execute("SELECT count(*) FROM ea1 WHERE id >= 100").fetchone() == (4,)
        with conn.transaction(force_rollback=True):
            conn.execute(analyze + "DELETE FROM ea1 WHERE v IN (SELECT k FROM ea2)")
            assert conn.execute("SELECT count(*) FROM ea1").fetchone() == (5,)
        assert conn.execute("SELECT count(*) FROM ea1").fetchone() == (14,)
