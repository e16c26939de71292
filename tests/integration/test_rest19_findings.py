"""What the h-rest19 replay of PostgreSQL 18's regression files from merge.sql on found:
each test fails on the code before it."""

from __future__ import annotations

import psycopg
import pytest

from gridpg.cluster.control import Cluster


def test_a_write_through_a_view_never_passes_by_the_tables_rules(gridpg_cluster: Cluster, schema: str) -> None:
    """updatable_views.sql:1604-1617: a DELETE through an automatically updatable view over a
    distributed table whose table has `ON DELETE DO INSTEAD UPDATE ... SET deleted = true`
    deleted the row (the coordinator applies such rules, the datanodes, where PostgreSQL
    resolves the view, do not have them): silently, PostgreSQL marks it deleted. An INSERT
    under a conditional INSTEAD rule failed with 23505 where PostgreSQL updates. Refused
    (0A000) now, nothing written; the table written directly applies the rules, and a rule
    of another event does not stop the write."""
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute(f"SET search_path TO {schema}")
        conn.execute("CREATE TABLE r19_base (id int PRIMARY KEY, data text, deleted boolean)")
        conn.execute("INSERT INTO r19_base VALUES (1, 'Row 1', false), (2, 'Row 2', true)")
        conn.execute("CREATE RULE r19_ins AS ON INSERT TO r19_base "
                     "WHERE EXISTS (SELECT 1 FROM r19_base t WHERE t.id = new.id) DO INSTEAD "
                     "UPDATE r19_base SET data = new.data, deleted = false WHERE id = new.id")
        conn.execute("CREATE RULE r19_del AS ON DELETE TO r19_base DO INSTEAD "
                     "UPDATE r19_base SET deleted = true WHERE id = old.id")
        conn.execute("CREATE VIEW r19_view WITH (security_barrier = true) AS "
                     "SELECT id, data FROM r19_base WHERE NOT deleted")
        with pytest.raises(psycopg.errors.FeatureNotSupported, match="r19_del"):
            conn.execute("DELETE FROM r19_view WHERE id = 1")
        with pytest.raises(psycopg.errors.FeatureNotSupported, match="r19_ins"):
            conn.execute("INSERT INTO r19_view VALUES (2, 'New row 2')")
        with pytest.raises(psycopg.errors.FeatureNotSupported):
            conn.execute("MERGE INTO r19_view t USING (VALUES (1)) v(a) ON t.id = v.a "
                         "WHEN MATCHED THEN UPDATE SET data = 'm'")
        assert conn.execute("SELECT * FROM r19_base ORDER BY id").fetchall() == [
            (1, "Row 1", False), (2, "Row 2", True)]
        assert conn.execute("UPDATE r19_view SET data = 'x' WHERE id = 1").rowcount == 1
        conn.execute("DELETE FROM r19_base WHERE id = 1")
        assert conn.execute("SELECT * FROM r19_base ORDER BY id").fetchall() == [
            (1, "x", True), (2, "Row 2", True)]


def test_a_write_through_a_view_checks_the_triggers_of_its_table(gridpg_cluster: Cluster, schema: str) -> None:
    """A write through a view over a distributed table fired the table's triggers on the
    datanodes unchecked: an AFTER UPDATE trigger counting rows in another distributed table
    updated each datanode's own rows of it (the counter moved by 0 or by the rows of one node,
    silently; written directly, the coordinator fires it and counts every row). Checked now
    as the same write of the table: refused (0A000) when the coordinator would have to fire
    the trigger; a BEFORE ROW trigger changing the new row still runs on the datanodes."""
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute(f"SET search_path TO {schema}")
        conn.execute("CREATE TABLE r19_bt (id int PRIMARY KEY, data text)")
        conn.execute("CREATE TABLE r19_count (k text PRIMARY KEY, n int)")
        conn.execute("INSERT INTO r19_count VALUES ('all', 0)")
        conn.execute("INSERT INTO r19_bt SELECT g, 'a' FROM generate_series(1, 20) g")
        conn.execute("CREATE FUNCTION r19_cnt() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                     "UPDATE r19_count SET n = n + 1 WHERE k = 'all'; RETURN NULL; END $$")
        conn.execute("CREATE TRIGGER r19_cnt AFTER UPDATE ON r19_bt FOR EACH ROW EXECUTE FUNCTION r19_cnt()")
        conn.execute("CREATE FUNCTION r19_up() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                     "NEW.data := upper(NEW.data); RETURN NEW; END $$")
        conn.execute("CREATE TRIGGER r19_up BEFORE INSERT ON r19_bt FOR EACH ROW EXECUTE FUNCTION r19_up()")
        conn.execute("CREATE VIEW r19_bv AS SELECT id, data AS d FROM r19_bt")
        assert conn.execute("UPDATE r19_bt SET data = 'x'").rowcount == 20
        assert conn.execute("SELECT n FROM r19_count").fetchone() == (20,)
        with pytest.raises(psycopg.errors.FeatureNotSupported, match="triggers of table"):
            conn.execute("UPDATE r19_bv SET d = 'y'")
        assert conn.execute("SELECT n FROM r19_count").fetchone() == (20,)
        assert conn.execute("SELECT count(*) FROM r19_bt WHERE data = 'x'").fetchone() == (20,)
        conn.execute("INSERT INTO r19_bv VALUES (21, 'c')")
        assert conn.execute("DELETE FROM r19_bv WHERE id = 21 RETURNING d").fetchone() == ("C",)


def test_an_instead_of_insert_trigger_still_carries_the_write(gridpg_cluster: Cluster, schema: str) -> None:
    """The check of a view's table's triggers leaves alone a view whose own INSTEAD OF
    trigger makes the write (triggers.sql:646): the trigger inserts into the table, whose
    statement trigger the coordinator fires, once."""
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute(f"SET search_path TO {schema}")
        conn.execute("CREATE TABLE r19_mtab (a int UNIQUE, b int)")
        conn.execute("CREATE TABLE r19_mlog (n int)")
        conn.execute("CREATE FUNCTION r19_mtab_log() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                     "INSERT INTO r19_mlog VALUES (1); RETURN NULL; END $$")
        conn.execute("CREATE TRIGGER r19_mtab_log AFTER INSERT ON r19_mtab FOR EACH STATEMENT "
                     "EXECUTE FUNCTION r19_mtab_log()")
        conn.execute("CREATE VIEW r19_mview AS SELECT a, b FROM r19_mtab")
        conn.execute("CREATE FUNCTION r19_mview_ins() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                     "INSERT INTO r19_mtab VALUES (NEW.a, NEW.b); RETURN NEW; END $$")
        conn.execute("CREATE TRIGGER r19_mview_ins INSTEAD OF INSERT ON r19_mview FOR EACH ROW "
                     "EXECUTE FUNCTION r19_mview_ins()")
        conn.execute("INSERT INTO r19_mview VALUES (20, 30)")
        assert conn.execute("INSERT INTO r19_mview VALUES (21, 31) RETURNING a, b").fetchall() == [(21, 31)]
        assert conn.execute("SELECT * FROM r19_mtab ORDER BY a").fetchall() == [(20, 30), (21, 31)]
        assert conn.execute("SELECT count(*) FROM r19_mlog").fetchone() == (2,)
