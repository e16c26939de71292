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


def test_moving_rows_of_a_child_with_triggers_is_refused(gridpg_cluster: Cluster, schema: str) -> None:
    """An UPDATE of the distribution column through a parent moves each member's rows as
    DELETE and INSERT on the datanodes: a child's own triggers would fire for them there
    (PostgreSQL fires its UPDATE row triggers): refused, nothing changed. `UPDATE ONLY`
    of the parent moves the parent's own rows."""
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute(f"SET search_path = {schema}")
        conn.execute("CREATE TABLE tp (k int, v text)")
        conn.execute("CREATE TABLE tc (w int) INHERITS (tp)")
        conn.execute("CREATE TABLE tlog (op text)")
        conn.execute("CREATE FUNCTION tlogf() RETURNS trigger LANGUAGE plpgsql AS "
                     "$$BEGIN INSERT INTO tlog VALUES (TG_OP); RETURN NULL; END$$")
        conn.execute("CREATE TRIGGER tc_t AFTER UPDATE OR INSERT OR DELETE ON tc FOR EACH ROW EXECUTE FUNCTION tlogf()")
        conn.execute("INSERT INTO tc VALUES (1, 'a', 1), (2, 'b', 2)")
        conn.execute("INSERT INTO tp VALUES (3, 'c')")
        conn.execute("DELETE FROM tlog")
        with pytest.raises(psycopg.errors.FeatureNotSupported, match="has triggers"):
            conn.execute("UPDATE tp SET k = k + 10")
        assert conn.execute("SELECT k FROM tp ORDER BY 1").fetchall() == [(1,), (2,), (3,)]
        assert conn.execute("SELECT count(*) FROM tlog").fetchone() == (0,)
        assert conn.execute("UPDATE ONLY tp SET k = k + 20").rowcount == 1
        assert conn.execute("SELECT tableoid::regclass::text, k FROM tp ORDER BY 2").fetchall() == [
            ("tc", 1), ("tc", 2), ("tp", 23)]
        assert conn.execute("SELECT count(*) FROM tlog").fetchone() == (0,)
