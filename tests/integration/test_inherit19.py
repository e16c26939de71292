"""Inheritance trees, h-inherit19 (PostgreSQL's inherit.sql).

EXPLAIN (without ANALYZE) of a write to a table whose statement-level triggers the
coordinator fires (inherit.sql:115): nothing runs and no trigger fires, so the plan is
shown; it was refused (0A000, "would fire once on each datanode the statement reaches")
though the write itself runs. EXPLAIN ANALYZE, which runs the write, stays refused."""

from __future__ import annotations

import psycopg
import pytest

from gridpg.cluster.control import Cluster


def test_explain_of_a_write_whose_statement_triggers_the_coordinator_fires(gridpg_cluster: Cluster,
                                                                            schema: str) -> None:
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute(f"SET search_path = {schema}")
        conn.execute("CREATE TABLE some_tab (f1 int, f2 int, f3 int)")
        conn.execute("CREATE TABLE some_tab_child () INHERITS (some_tab)")
        conn.execute("INSERT INTO some_tab_child SELECT i, i + 1, 0 FROM generate_series(1, 100) i")
        conn.execute("CREATE FUNCTION stmt_trig() RETURNS trigger LANGUAGE plpgsql AS "
                     "$$BEGIN RAISE NOTICE 'updating some_tab'; RETURN NULL; END$$")
        conn.execute("CREATE TRIGGER some_tab_stmt_trig BEFORE UPDATE ON some_tab "
                     "EXECUTE FUNCTION stmt_trig()")
        for explain in ("EXPLAIN (COSTS OFF)", "EXPLAIN", "EXPLAIN (ANALYZE false, VERBOSE)"):
            plan = conn.execute(f"{explain} UPDATE some_tab SET f3 = 11 WHERE f1 = 12 AND f2 = 13").fetchall()
            assert any("Update on " in row[0] and "some_tab" in row[0] for row in plan), plan
        notices: list[str] = []
        conn.add_notice_handler(lambda d: notices.append(d.message_primary or ""))
        cur = conn.execute("UPDATE some_tab SET f3 = 11 WHERE f1 = 12 AND f2 = 13")
        assert cur.rowcount == 1
        assert notices == ["updating some_tab"]
        assert conn.execute("SELECT f3 FROM some_tab WHERE f1 = 12").fetchall() == [(11,)]
        with pytest.raises(psycopg.errors.FeatureNotSupported):
            conn.execute("EXPLAIN ANALYZE UPDATE some_tab SET f3 = 12 WHERE f1 = 12")
