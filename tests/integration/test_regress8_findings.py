"""What the eighth regression-replay pass (h-regress8: guc, prepared_xacts, largeobject,
misc, ... of PostgreSQL 18's files) found: each test fails on the code before it."""

from __future__ import annotations

import psycopg
import pytest

from gridpg.cluster.control import Cluster


def test_large_objects_are_the_same_through_every_coordinator(gridpg_cluster: Cluster) -> None:
    """A large object lived on the catalog server of the coordinator that made it: through
    the other it did not exist (42704), and lo_create of its OID there made a second
    object of that OID with contents of its own (largeobject.sql)."""
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as one, \
            psycopg.connect(gridpg_cluster.dsn(1), autocommit=True) as two:
        one.execute("SELECT lo_unlink(l.oid) FROM pg_largeobject_metadata l WHERE l.oid IN (880001, 880002)")
        one.execute("SELECT lo_from_bytea(880001, '\\xdeadbeef'::bytea)")
        assert two.execute("SELECT lo_get(880001)").fetchone() == (b"\xde\xad\xbe\xef",)
        with pytest.raises(psycopg.errors.UniqueViolation):  # (PostgreSQL's own)
            two.execute("SELECT lo_create(880001)")
        two.execute("SELECT lo_create(880002)")
        two.execute("SELECT lo_put(880002, 0, 'hello'::bytea)")
        two.execute("COMMENT ON LARGE OBJECT 880002 IS 'greeting'")
        assert one.execute("SELECT lo_get(880002)").fetchone() == (b"hello",)
        assert one.execute("SELECT obj_description(880002, 'pg_largeobject')").fetchone() == ("greeting",)
        assert one.execute("SELECT count(*) FROM pg_largeobject_metadata WHERE oid IN (880001, 880002)"
                           ).fetchone() == two.execute("SELECT count(*) FROM pg_largeobject_metadata "
                                                       "WHERE oid IN (880001, 880002)").fetchone() == (2,)
        with two.transaction():  # a descriptor lives for the transaction, on the home server
            fd = two.execute("SELECT lo_open(880002, 262144)").fetchone()[0]  # INV_READ
            assert two.execute("SELECT loread(%s, 3)", (fd,)).fetchone() == (b"hel",)
        # a statement over a temp table runs on the session's own catalog server: through
        # the coordinator whose server is not the home, refused rather than run there
        two.execute("CREATE TEMP TABLE regress8_tt (o oid)")
        with pytest.raises(psycopg.errors.FeatureNotSupported):
            two.execute("INSERT INTO regress8_tt VALUES (lo_from_bytea(0, 'x'))")
        two.execute("DROP TABLE regress8_tt")
        two.execute("SELECT lo_unlink(880001)")
        with pytest.raises(psycopg.errors.UndefinedObject):
            one.execute("SELECT lo_get(880001)")
        one.execute("SELECT lo_unlink(880002)")


def test_large_objects_made_in_insert_values_are_stored_at_the_home_in_the_transaction(
        gridpg_cluster: Cluster, schema: str) -> None:
    """`INSERT INTO image VALUES ('x', lo_import(...))` (the manual's example): the VALUES
    rows were computed in a side transaction gridpg rolls back, so the object was made
    and undone and the row kept a dangling OID, silently. Now each such item is computed
    at the large objects' home in the session's transaction; other statements over
    distributed tables that call large-object functions are refused (the datanodes hold
    none; a routed point query made the object on the row's datanode)."""
    with psycopg.connect(gridpg_cluster.dsn(1), autocommit=True) as conn, \
            psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as other:
        conn.execute(f"SET search_path TO {schema}")
        other.execute(f"SET search_path TO {schema}")
        conn.execute("CREATE TABLE images (id int, loid oid) DISTRIBUTE BY HASH (id)")
        conn.execute("INSERT INTO images VALUES (1, lo_from_bytea(0, 'one')), (2, lo_from_bytea(0, %s))", (b"two",))
        got = other.execute("SELECT id, loid FROM images ORDER BY id").fetchall()
        assert [other.execute("SELECT lo_get(%s)", (loid,)).fetchone()[0] for _, loid in got] == [b"one", b"two"]
        conn.execute("BEGIN")
        loid = conn.execute("INSERT INTO images VALUES (3, lo_from_bytea(0, 'gone')) RETURNING loid").fetchone()[0]
        conn.execute("ROLLBACK")  # the object goes with the row
        assert other.execute("SELECT count(*) FROM pg_largeobject_metadata WHERE oid = %s", (loid,)).fetchone() == (0,)
        for sql in ("SELECT lo_create(0) FROM images WHERE id = 1", "SELECT lo_get(loid) FROM images WHERE id = 1",
                    "SELECT lo_get(loid) FROM images", "INSERT INTO images VALUES (4, 5) RETURNING lo_get(loid)"):
            with pytest.raises(psycopg.errors.FeatureNotSupported):
                conn.execute(sql)
            if "= 1" in sql:
                with pytest.raises(psycopg.errors.FeatureNotSupported):
                    conn.execute(sql.replace("= 1", "= %s"), (1,))
        assert conn.execute("SELECT count(*) FROM images").fetchone() == (2,)
        for _, loid in got:
            conn.execute("SELECT lo_unlink(%s)", (loid,))


def test_a_function_called_in_attribute_notation_over_a_distributed_table_is_never_answered_per_node(
        gridpg_cluster: Cluster, schema: str) -> None:
    """`p.f` is `f(p)` (misc.sql's `name(p.hobbies)`): the function, reading a distributed
    table, ran on each datanode over its own shards (11 of 20 rows, silently)."""
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute(f"SET search_path TO {schema}")
        conn.execute("CREATE TABLE per (name text, age int)")
        conn.execute("INSERT INTO per SELECT 'p' || g, g FROM generate_series(1, 20) g")
        conn.execute("CREATE TABLE hob (name text, person text)")
        conn.execute("INSERT INTO hob SELECT 'h' || g, 'p' || g FROM generate_series(1, 20) g")
        conn.execute("CREATE FUNCTION nhobs(per) RETURNS bigint "
                     "AS 'SELECT count(*) FROM hob WHERE person = $1.name' LANGUAGE sql")
        for sql in ("SELECT sum(p.nhobs) FROM per p", "SELECT sum((p).nhobs) FROM per p"):
            try:
                got = conn.execute(sql).fetchone()
            except psycopg.Error:
                continue  # loud is allowed; a per-node answer is not
            assert got == (20,), sql
        assert conn.execute("SELECT p.name FROM per p WHERE p.age = 3").fetchone() == ("p3",)


def test_an_unknown_setting_under_plpgsqls_prefix_fails_and_the_session_goes_on(gridpg_cluster: Cluster) -> None:
    """guc.sql:171-173: `SET plpgsql.extra_foo_warnings` was validated on a connection
    without PL/pgSQL loaded and accepted; every connection set up afterwards where PL/pgSQL
    was loaded refused it (42602), so DDL, and even RESET, failed for the rest of the
    session. gridpg checks such names with PL/pgSQL loaded (as in a session that ran any
    PL/pgSQL): an unknown one fails at once."""
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        for _ in range(2):
            try:
                conn.execute("SET plpgsql.extra_foo_warnings = true")
            except psycopg.errors.InvalidName:
                pass
            conn.execute("LOAD 'plpgsql'")
        for _ in range(3):
            conn.execute("DO $$BEGIN END$$")
            conn.execute("CREATE TABLE IF NOT EXISTS regress8_guc_probe (a int)")
        conn.execute("DROP TABLE regress8_guc_probe")
        with pytest.raises(psycopg.errors.InvalidName):
            conn.execute("SET plpgsql.extra_foo_warnings = true")
        conn.execute("SET plpgsql.variable_conflict = use_column")
        assert conn.execute("SHOW plpgsql.variable_conflict").fetchone() == ("use_column",)
        with pytest.raises(psycopg.errors.InvalidParameterValue):
            conn.execute("SET plpgsql.variable_conflict = bogus")
        conn.execute("RESET ALL")


def test_a_login_event_trigger_is_refused(gridpg_cluster: Cluster) -> None:
    """event_trigger_login.sql: the trigger fired for gridpg's own pooled connections to
    each server (never for a client's login to a coordinator) and wrote the catalog
    server's empty copy of the distributed table it logs to: 0 logins, silently."""
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute("CREATE OR REPLACE FUNCTION regress8_on_login() RETURNS event_trigger "
                     "AS $$BEGIN END$$ LANGUAGE plpgsql")
        try:
            with pytest.raises(psycopg.errors.FeatureNotSupported):
                conn.execute("CREATE EVENT TRIGGER regress8_login ON login EXECUTE FUNCTION regress8_on_login()")
        finally:
            conn.execute("DROP EVENT TRIGGER IF EXISTS regress8_login")
            conn.execute("DROP FUNCTION regress8_on_login()")


def test_role_defaults_are_the_sessions_startup_values_on_every_coordinator(gridpg_cluster: Cluster, schema: str) -> None:
    """`ALTER ROLE r SET search_path = app` (and any setting): PostgreSQL applies it when r
    logs in; gridpg's backend connections never log in as r, so the session ran with the
    server's defaults: r's tables were not found (42P01), or another schema's table of the
    same name was read."""
    password = gridpg_cluster.password()
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as admin:
        admin.execute("DROP ROLE IF EXISTS regress8_app")
        admin.execute(f"CREATE ROLE regress8_app LOGIN PASSWORD '{password}'")
        try:
            admin.execute(f"GRANT USAGE ON SCHEMA {schema} TO regress8_app")
            admin.execute(f"CREATE TABLE {schema}.items (id int, v text)")
            admin.execute(f"INSERT INTO {schema}.items SELECT g, 'x' FROM generate_series(1, 10) g")
            admin.execute(f"GRANT SELECT ON {schema}.items TO regress8_app")
            admin.execute("CREATE TABLE IF NOT EXISTS public.items (id int)")  # the same name, empty
            admin.execute("GRANT SELECT ON public.items TO regress8_app")
            admin.execute(f"ALTER ROLE regress8_app SET search_path = {schema}, public")
            admin.execute("ALTER ROLE regress8_app SET work_mem = '7MB'")
            for coordinator in (0, 1):
                with psycopg.connect(gridpg_cluster.dsn(coordinator, user="regress8_app"), autocommit=True) as conn:
                    assert conn.execute("SHOW search_path").fetchone() == (f"{schema}, public",)
                    assert conn.execute("SELECT count(*) FROM items").fetchone() == (10,)
                    assert conn.execute("SELECT DISTINCT current_setting('work_mem') FROM items").fetchall() == [("7MB",)]
                    conn.execute("SET work_mem = '9MB'")
                    conn.execute("RESET work_mem")  # back to the role's value, as in PostgreSQL
                    assert conn.execute("SELECT DISTINCT current_setting('work_mem') FROM items").fetchall() == [("7MB",)]
                    conn.execute("RESET ALL")
                    assert conn.execute("SELECT count(*) FROM items").fetchone() == (10,)
                with psycopg.connect(gridpg_cluster.dsn(coordinator, user="regress8_app"), autocommit=True,
                                     options="-c work_mem=11MB") as conn:  # the client's own value wins
                    assert conn.execute("SHOW work_mem").fetchone() == ("11MB",)
        finally:
            admin.execute("DROP TABLE IF EXISTS public.items")
            admin.execute("DROP OWNED BY regress8_app")
            admin.execute("DROP ROLE regress8_app")
