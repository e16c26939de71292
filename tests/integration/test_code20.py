"""Server-side code over distributed tables that gridpg refused (h-code20): UPDATE and
DELETE through a view's INSTEAD OF triggers (executor/view_instead.py), from both
coordinators, with bound parameters (the extended protocol), notices, blocks; what stays
refused and why. Answers equal plain PostgreSQL's."""

from __future__ import annotations

import psycopg

from gridpg.cluster.control import Cluster
from tests.conftest import answer, same_answers_as_plain

VIEW_SETUP = [
    "CREATE TABLE c20_items (id int PRIMARY KEY, name text, qty int)",
    "CREATE TABLE c20_notes (id int PRIMARY KEY, note text)",
    "INSERT INTO c20_items SELECT g, 'item' || g, g FROM generate_series(1, 20) g",
    "INSERT INTO c20_notes SELECT g, 'note' || g FROM generate_series(1, 20) g",
    "CREATE VIEW c20_v AS SELECT i.id, i.name, i.qty, n.note FROM c20_items i JOIN c20_notes n USING (id)",
    ("CREATE FUNCTION c20_v_upd() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
     "UPDATE c20_items SET name = NEW.name, qty = NEW.qty WHERE id = OLD.id; "
     "UPDATE c20_notes SET note = NEW.note WHERE id = OLD.id; "
     "RAISE NOTICE 'row % from % to %', OLD.id, OLD.qty, NEW.qty; RETURN NEW; END $$"),
    ("CREATE FUNCTION c20_v_del() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
     "DELETE FROM c20_notes WHERE id = OLD.id; DELETE FROM c20_items WHERE id = OLD.id; RETURN OLD; END $$"),
    "CREATE TRIGGER c20_v_u INSTEAD OF UPDATE ON c20_v FOR EACH ROW EXECUTE FUNCTION c20_v_upd()",
    "CREATE TRIGGER c20_v_d INSTEAD OF DELETE ON c20_v FOR EACH ROW EXECUTE FUNCTION c20_v_del()",
]

# (coordinator, statement, parameters)
VIEW_SCRIPT: list[tuple[int, str, tuple[object, ...] | None]] = [
    (0, "UPDATE c20_v SET qty = qty + %s WHERE id <= %s RETURNING id, qty", (100, 3)),
    (1, "UPDATE c20_v SET note = %s WHERE id = %s", ("other coordinator", 4)),
    (1, "DELETE FROM c20_v WHERE id > %s RETURNING id, note", (18,)),
    (0, "BEGIN", None),
    (0, "UPDATE c20_v SET name = 'in block' WHERE id = 5", None),
    (0, "SAVEPOINT a", None),
    (0, "DELETE FROM c20_v WHERE id = 6", None),
    (0, "ROLLBACK TO SAVEPOINT a", None),
    (0, "DELETE FROM c20_v WHERE id = 7", None),
    (0, "COMMIT", None),
    (1, "BEGIN", None),
    (1, "DELETE FROM c20_v WHERE id < 3", None),
    (1, "ROLLBACK", None),
    (1, "SELECT * FROM c20_v ORDER BY id", None),
    (0, "SELECT * FROM c20_items ORDER BY id", None),
]


def _run_views(dsns: tuple[str, str], schema: str, gridpg: bool) -> list[object]:
    out: list[object] = []
    notices: list[str] = []
    with psycopg.connect(dsns[0], autocommit=True) as first, psycopg.connect(dsns[1], autocommit=True) as second:
        first.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
        for conn in (first, second):
            conn.execute(f"SET search_path TO {schema}")
            conn.add_notice_handler(lambda d: notices.append(d.message_primary or ""))
        for sql in VIEW_SETUP:
            first.execute(sql)
        for node, sql, params in VIEW_SCRIPT:
            out.append(answer((first, second)[node], sql, params))
        # the stand-in view is gone with the statement
        out.append(first.execute("SELECT count(*) FROM pg_class WHERE relname = 'c20_v' "
                                 "AND relpersistence = 't'").fetchall())
    out.append(sorted(notices))
    return out


def test_update_and_delete_through_instead_of_triggers(gridpg_cluster: Cluster, plain_pg: str,
                                                       schema: str) -> None:
    grid = same_answers_as_plain(_run_views, [s[1] for s in VIEW_SCRIPT] + ["temp views", "notices"],
                                 gridpg_cluster, plain_pg, schema)
    assert grid[0] == [(1, 101), (2, 102), (3, 103)] or sorted(grid[0]) == [(1, 101), (2, 102), (3, 103)]
    assert grid[-1][:3] == ["row 1 from 1 to 101", "row 2 from 2 to 102", "row 3 from 3 to 103"]


def test_instead_of_triggers_reading_the_table_schema_are_refused(gridpg_cluster: Cluster, schema: str) -> None:
    """TG_TABLE_SCHEMA and TG_RELID would name the temporary stand-in: refused, nothing written."""
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute(f"SET search_path TO {schema}")
        for sql in VIEW_SETUP[:5]:
            conn.execute(sql)
        conn.execute("CREATE FUNCTION c20_v_schema() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                     "UPDATE c20_items SET name = TG_TABLE_SCHEMA WHERE id = OLD.id; RETURN NEW; END $$")
        conn.execute("CREATE TRIGGER c20_v_s INSTEAD OF UPDATE ON c20_v FOR EACH ROW EXECUTE FUNCTION c20_v_schema()")
        assert answer(conn, "UPDATE c20_v SET qty = 0 WHERE id = 1") == "0A000"
        assert conn.execute("SELECT name, qty FROM c20_items WHERE id = 1").fetchall() == [("item1", 1)]


def test_event_triggers_fire_only_for_their_tags(gridpg_cluster: Cluster, schema: str) -> None:
    """An event trigger `WHEN TAG IN ('DROP TABLE')` whose function reads a distributed table
    fires for no CREATE FUNCTION, COMMENT, CREATE VIEW or GRANT (PostgreSQL's tag filter;
    gridpg runs those statements alone on every server): they ran refused (0A000) before.
    A DROP TABLE it does fire for stays refused: the function would run on every server,
    each reading its own part of the table (executor/routines.py `_command_tag`)."""
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute(f"SET search_path TO {schema}")
        conn.execute("CREATE TABLE c20_conf (k text PRIMARY KEY, v text)")
        conn.execute("CREATE TABLE c20_victim (id int)")
        conn.execute("CREATE FUNCTION c20_guard() RETURNS event_trigger LANGUAGE plpgsql AS $$ BEGIN "
                     "IF (SELECT v FROM c20_conf WHERE k = 'lock') = 'yes' THEN RAISE EXCEPTION 'locked'; END IF; "
                     "END $$")
        conn.execute("CREATE EVENT TRIGGER c20_guard_t ON ddl_command_start WHEN TAG IN ('DROP TABLE') "
                     "EXECUTE FUNCTION c20_guard()")
        try:
            assert answer(conn, "CREATE FUNCTION c20_f() RETURNS int LANGUAGE sql AS 'SELECT 1'") == "CREATE FUNCTION"
            assert answer(conn, "COMMENT ON TABLE c20_conf IS 'settings'") == "COMMENT"
            assert answer(conn, "CREATE VIEW c20_cv AS SELECT k FROM c20_conf") == "CREATE VIEW"
            assert answer(conn, "GRANT SELECT ON c20_conf TO PUBLIC") == "GRANT"
            assert answer(conn, "DROP TABLE c20_victim") == "0A000"
        finally:
            conn.execute("DROP EVENT TRIGGER c20_guard_t")


def test_explain_analyze_inside_code(gridpg_cluster: Cluster, schema: str) -> None:
    """EXPLAIN ANALYZE inside PL/pgSQL (join_hash.sql's `FOR p IN EXECUTE 'explain (analyze,
    format json) ' || query`) runs on the catalog server with the loopback: the plan is the
    catalog server's over the shadows (Foreign Scan), its top node's actual rows the query's,
    and an explained write is made; also in a transaction that changed the schema, over a
    table it made (lead, 2026-12-07: it was refused, 0A000)."""
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute(f"SET search_path TO {schema}")
        conn.execute("CREATE TABLE c20_e (id int PRIMARY KEY, v int)")
        conn.execute("INSERT INTO c20_e SELECT g, g FROM generate_series(1, 100) g")
        conn.execute("CREATE FUNCTION c20_rows(q text) RETURNS int LANGUAGE plpgsql AS $$ DECLARE p json; BEGIN "
                     "FOR p IN EXECUTE 'explain (analyze, format json) ' || q LOOP "
                     "RETURN (p->0->'Plan'->>'Actual Rows')::numeric::int; END LOOP; END $$")
        assert conn.execute("SELECT c20_rows('SELECT * FROM c20_e WHERE v > 60')").fetchall() == [(40,)]
        assert conn.execute("SELECT c20_rows('UPDATE c20_e SET v = 0 WHERE id <= 5')").fetchall() == [(0,)]
        assert conn.execute("SELECT count(*) FROM c20_e WHERE v = 0").fetchall() == [(5,)]
        conn.execute("BEGIN")
        conn.execute("CREATE TABLE c20_new (a int)")
        assert conn.execute("SELECT c20_rows('SELECT * FROM c20_e')").fetchall() == [(100,)]
        conn.execute("INSERT INTO c20_new VALUES (1), (2)")
        assert conn.execute("SELECT c20_rows('SELECT * FROM c20_new')").fetchall() == [(2,)]
        conn.execute("ROLLBACK")


def test_instead_of_triggers_need_the_privilege_on_the_view(gridpg_cluster: Cluster, schema: str) -> None:
    """The stand-in is the caller's own temporary view: the privilege PostgreSQL checks on
    the view itself (UPDATE of the columns set, DELETE) is checked first (42501), else a role
    allowed only to read the view ran its triggers. (A view over one table: a role other
    than the superuser reading a join view through the loopback is refused, 0A000.)"""
    role = f"c20_reader_{schema[-8:]}"
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute(f"SET search_path TO {schema}")
        for sql in VIEW_SETUP[:4]:
            conn.execute(sql)
        conn.execute("CREATE VIEW c20_iv AS SELECT id, name, qty FROM c20_items")
        conn.execute("CREATE FUNCTION c20_iv_fn() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                     "IF TG_OP = 'DELETE' THEN DELETE FROM c20_items WHERE id = OLD.id; RETURN OLD; END IF; "
                     "UPDATE c20_items SET name = NEW.name, qty = NEW.qty WHERE id = OLD.id; RETURN NEW; END $$")
        conn.execute("CREATE TRIGGER c20_iv_t INSTEAD OF UPDATE OR DELETE ON c20_iv FOR EACH ROW "
                     "EXECUTE FUNCTION c20_iv_fn()")
        conn.execute(f"CREATE ROLE {role}")
        try:
            conn.execute(f"GRANT USAGE ON SCHEMA {schema} TO {role}")
            conn.execute(f"GRANT SELECT, UPDATE, DELETE ON c20_items TO {role}")
            conn.execute(f"GRANT SELECT, UPDATE (name) ON c20_iv TO {role}")
            conn.execute(f"SET ROLE {role}")
            assert answer(conn, "UPDATE c20_iv SET qty = 0 WHERE id = 1") == "42501"
            assert answer(conn, "DELETE FROM c20_iv WHERE id = 1") == "42501"
            assert answer(conn, "UPDATE c20_iv SET name = 'allowed' WHERE id = 1") == "UPDATE 1"
            conn.execute("RESET ROLE")
            assert conn.execute("SELECT name, qty FROM c20_items WHERE id = 1").fetchall() == [("allowed", 1)]
        finally:
            conn.execute("RESET ROLE")
            conn.execute(f"DROP OWNED BY {role}")
            conn.execute(f"DROP ROLE {role}")
