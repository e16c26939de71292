"""EXPLAIN of a statement whose user code reads or writes distributed tables, which runs on
the catalog server with the loopback (`SELECT order_total()`, `... WHERE v < total()`).
The statement ran, but its EXPLAIN was refused (0A000 "cannot run function ..."). Now it
shows the catalog server's plan of the statement as it runs there (the distributed tables
as foreign scans of their shadows); EXPLAIN ANALYZE runs it, writes included, inside the
caller's transaction, as PostgreSQL's EXPLAIN ANALYZE does; code that cannot run stays
refused."""

from __future__ import annotations

import psycopg
import pytest

from gridpg.cluster.control import Cluster

_SETUP = (
    "CREATE TABLE t (id int PRIMARY KEY, v int)",
    "INSERT INTO t SELECT g, g FROM generate_series(1, 10) g",
    "CREATE FUNCTION total() RETURNS bigint LANGUAGE sql AS $$ SELECT sum(v) FROM t $$",
    "CREATE FUNCTION add_row(k int) RETURNS void LANGUAGE plpgsql AS $$ BEGIN INSERT INTO t VALUES (k, k); END $$",
    "CREATE FUNCTION dyn_inner(tbl text) RETURNS bigint LANGUAGE plpgsql AS "
    "$$ DECLARE n bigint; BEGIN EXECUTE format('SELECT count(*) FROM %I.t', tbl) INTO n; RETURN n; END $$",
    # (called from dynamic text, dyn_inner runs as it is, not as its twin, and its text
    # reaches the catalog server's copy: refused after it ran; h-code21)
    "CREATE FUNCTION dyn(tbl text) RETURNS bigint LANGUAGE plpgsql AS "
    "$$ DECLARE n bigint; BEGIN EXECUTE 'SELECT dyn_inner($1)' INTO n USING tbl; RETURN n; END $$",
)


def _plan(conn: psycopg.Connection[tuple[object, ...]], sql: str) -> list[str]:
    return [str(r[0]) for r in conn.execute(sql)]


def test_explain_shows_the_plan_the_code_runs_with(gridpg_cluster: Cluster, schema: str) -> None:
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute(f'SET search_path = "{schema}"')
        for sql in _SETUP:
            conn.execute(sql)
        assert conn.execute("SELECT total()").fetchone() == (55,)
        plan = _plan(conn, "EXPLAIN SELECT total()")
        assert plan and plan[0].startswith("Result"), plan
        plan = _plan(conn, "EXPLAIN (COSTS OFF) SELECT id FROM t WHERE v * 10 > total()")
        assert plan[0] == "Foreign Scan on t", plan  # the table read through its shadow
        assert "total()" in "\n".join(plan), plan

        # ANALYZE runs it: the write is made, and undone with the caller's block
        conn.execute("BEGIN")
        plan = _plan(conn, "EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) SELECT add_row(11)")
        assert plan[0].startswith("Result (actual rows=1"), plan
        assert conn.execute("SELECT count(*) FROM t").fetchone() == (11,)
        conn.execute("ROLLBACK")
        assert conn.execute("SELECT count(*) FROM t").fetchone() == (10,)
        plan = _plan(conn, "EXPLAIN ANALYZE SELECT add_row(12)")
        assert any(line.startswith("Execution Time") for line in plan), plan
        assert conn.execute("SELECT v FROM t WHERE id = 12").fetchone() == (12,)

        # from the other coordinator, with a bound parameter
        with psycopg.connect(gridpg_cluster.dsn(1), autocommit=True) as other:
            other.execute(f'SET search_path = "{schema}"')
            plan = [str(r[0]) for r in other.execute("EXPLAIN (COSTS OFF) SELECT id FROM t WHERE v > total() - %s",
                                                      (3,))]
            assert plan[0] == "Foreign Scan on t", plan

        # what cannot run stays refused, with nothing run
        with pytest.raises(psycopg.Error) as caught:
            conn.execute(f"EXPLAIN ANALYZE SELECT dyn('{schema}')")
        assert caught.value.sqlstate == "0A000", caught.value
        assert conn.execute("SELECT count(*) FROM t").fetchone() == (11,)
