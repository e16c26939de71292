"""Dynamic SQL of server-side code naming distributed tables with their schema, MERGE and
upserts in EXECUTE text (h-code21, sql/plpgsql_dynamic.py, executor/dynamic_text.py): bound
parameters (the extended protocol), both coordinators, nested routines, a read-only block,
the catalog servers' copies left empty; what stays refused. Answers equal plain PostgreSQL's."""

from __future__ import annotations

import psycopg

from gridpg.cluster.control import Cluster
from tests.conftest import answer, same_answers_as_plain

SETUP = [
    "CREATE TABLE c21_orders (id int PRIMARY KEY, amount int NOT NULL)",
    "CREATE TABLE c21_log (id bigserial PRIMARY KEY, what text, n int)",
    ("CREATE FUNCTION c21_log_it(s text, what text, n int) RETURNS void LANGUAGE plpgsql AS $$ BEGIN "
     "EXECUTE format('INSERT INTO %I.c21_log (what, n) VALUES ($1, $2)', s) USING what, n; END $$"),
    # nested: the outer routine's twin calls the inner one's
    ("CREATE FUNCTION c21_add(s text, k int, a int) RETURNS bigint LANGUAGE plpgsql AS $$ DECLARE c bigint; BEGIN "
     "EXECUTE format('INSERT INTO %I.c21_orders VALUES ($1, $2)', s) USING k, a; "
     "PERFORM c21_log_it(s, 'add', k); "
     "EXECUTE 'SELECT count(*) FROM ' || quote_ident(s) || '.c21_orders' INTO c; RETURN c; END $$"),
    ("CREATE FUNCTION c21_total(s text) RETURNS bigint LANGUAGE plpgsql AS $$ DECLARE t bigint; BEGIN "
     "EXECUTE 'SELECT sum(amount) FROM ' || quote_ident(s) || '.c21_orders' INTO t; RETURN t; END $$"),
    ("CREATE FUNCTION c21_merge(s text, k int, a int) RETURNS int LANGUAGE plpgsql AS $$ DECLARE c int; BEGIN "
     "EXECUTE format('MERGE INTO %I.c21_orders o USING (VALUES ($1, $2)) v(id, amount) ON o.id = v.id "
     "WHEN MATCHED THEN UPDATE SET amount = o.amount + v.amount WHEN NOT MATCHED THEN INSERT VALUES (v.id, v.amount)', s) "
     "USING k, a; GET DIAGNOSTICS c = ROW_COUNT; RETURN c; END $$"),
]

# (coordinator, statement, parameters); {s} is the schema
SCRIPT: list[tuple[int, str, tuple[object, ...] | None]] = [
    (0, "SELECT c21_add(%s, %s, %s)", ("{s}", 1, 10)),
    (1, "SELECT c21_add(%s, %s, %s)", ("{s}", 2, 20)),
    (0, "SELECT c21_merge(%s, 2, %s), c21_merge(%s, 3, 30)", ("{s}", 5, "{s}")),
    (0, "BEGIN", None),
    (0, "SELECT c21_add(%s, 4, 40)", ("{s}",)),
    (0, "SELECT c21_total(%s)", ("{s}",)),
    (0, "ROLLBACK", None),
    (1, "SELECT c21_total(%s)", ("{s}",)),
    (1, "SELECT id, amount FROM c21_orders ORDER BY id", None),
    (0, "SELECT what, n FROM c21_log ORDER BY n", None),
    (0, "DO $$ BEGIN EXECUTE NULL; END $$", None),  # EXECUTE's own 22004
]


def _run(dsns: tuple[str, str], schema: str, gridpg: bool) -> list[object]:
    out: list[object] = []
    with psycopg.connect(dsns[0], autocommit=True) as first, psycopg.connect(dsns[1], autocommit=True) as second:
        first.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
        for conn in (first, second):
            conn.execute(f"SET search_path TO {schema}")
        for sql in SETUP:
            first.execute(sql)
        for node, sql, params in SCRIPT:
            bound = tuple(schema if p == "{s}" else p for p in params) if params else None
            out.append(answer((first, second)[node], sql, bound))
    return out


def test_dynamic_text_naming_schemas_merging_and_nesting(gridpg_cluster: Cluster, plain_pg: str, schema: str,
                                                        catalogs: dict[str, str]) -> None:
    grid = same_answers_as_plain(_run, [s[1] for s in SCRIPT], gridpg_cluster, plain_pg, schema)
    assert grid[1] == [(2,)] and grid[-1] == "22004"
    for dsn in catalogs.values():  # the catalog servers' own copies stayed empty
        with psycopg.connect(dsn) as conn:
            counts = conn.execute(f"SELECT (SELECT count(*) FROM {schema}.c21_orders), "
                                  f"(SELECT count(*) FROM {schema}.c21_log)").fetchone()
            assert counts == (0, 0)


def test_what_stays_refused(gridpg_cluster: Cluster, schema: str, catalogs: dict[str, str]) -> None:
    """A read-only block's routine whose dynamic text reaches a copy, a dynamic MERGE with
    RETURNING, one under a routine's own search_path, a routine called from dynamic text:
    0A000, nothing written anywhere."""
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
        conn.execute(f"SET search_path TO {schema}")
        for sql in SETUP[:2]:
            conn.execute(sql)
        conn.execute("CREATE FUNCTION c21_ret(k int) RETURNS int LANGUAGE plpgsql AS $$ DECLARE r int; BEGIN "
                     "EXECUTE format('MERGE INTO %I o USING (VALUES ($1)) v(id) ON o.id = v.id "
                     "WHEN NOT MATCHED THEN INSERT VALUES (v.id, 1) RETURNING o.id', 'c21_orders') INTO r USING k; "
                     "RETURN r; END $$")
        conn.execute(f"CREATE FUNCTION c21_own(k int) RETURNS int LANGUAGE plpgsql SET search_path = {schema}, public "
                     "AS $$ BEGIN EXECUTE 'INSERT INTO c21_orders AS o VALUES ($1, 1) ON CONFLICT (id) "
                     "DO UPDATE SET amount = o.amount + 1' USING k; RETURN k; END $$")
        conn.execute("CREATE FUNCTION c21_count(s text) RETURNS bigint LANGUAGE plpgsql AS $$ DECLARE n bigint; "
                     "BEGIN EXECUTE format('SELECT count(*) FROM %s', (s || '.c21_orders')::regclass) INTO n; "
                     "RETURN n; END $$")
        conn.execute("CREATE FUNCTION c21_via_text(s text) RETURNS bigint LANGUAGE plpgsql AS $$ DECLARE n bigint; "
                     "BEGIN EXECUTE 'SELECT c21_count($1)' INTO n USING s; RETURN n; END $$")
        assert answer(conn, "SELECT c21_ret(1)") == "0A000"
        assert answer(conn, "SELECT c21_own(1)") == "0A000"
        assert answer(conn, "SELECT c21_via_text(%s)", (schema,)) == "0A000"
        assert answer(conn, "SELECT c21_count(%s)", (schema,)) == [(0,)]
        conn.execute("BEGIN READ ONLY")  # no twin can be made there: run as it is, watched
        assert answer(conn, "SELECT c21_count(%s)", (schema,)) == "0A000"
        conn.execute("ROLLBACK")
        assert answer(conn, "SELECT count(*) FROM c21_orders") == [(0,)]
    for dsn in catalogs.values():
        with psycopg.connect(dsn) as conn:
            assert conn.execute(f"SELECT count(*) FROM {schema}.c21_orders").fetchone() == (0,)


def test_error_context_names_the_schema_as_written(gridpg_cluster: Cluster, plain_pg: str, schema: str) -> None:
    """An error inside a dynamic statement quotes it in its CONTEXT as the code made it,
    the table's own schema and not the loopback's shadow schema, as PostgreSQL does."""
    contexts: dict[str, list[str]] = {}
    for side, dsn in (("plain", plain_pg), ("gridpg", gridpg_cluster.dsn(0))):
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
            conn.execute(f"SET search_path TO {schema}")
            conn.execute("CREATE TABLE c21_u (id int PRIMARY KEY)")
            conn.execute("CREATE TABLE c21_w (id int PRIMARY KEY)")
            conn.execute("INSERT INTO c21_u VALUES (1)")
            conn.execute("CREATE FUNCTION c21_put() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                         "EXECUTE format('INSERT INTO %I.c21_u VALUES ($1)', TG_TABLE_SCHEMA) USING NEW.id; "
                         "RETURN NULL; END $$")
            conn.execute("CREATE TRIGGER c21_t AFTER INSERT ON c21_w FOR EACH ROW EXECUTE FUNCTION c21_put()")
            seen = contexts.setdefault(side, [])
            for sql in ("INSERT INTO c21_w VALUES (1)",
                        f"DO $$ BEGIN EXECUTE 'INSERT INTO {schema}.c21_u VALUES (1)'; END $$"):
                try:
                    conn.execute(sql)
                except psycopg.errors.UniqueViolation as exc:
                    seen.append((exc.diag.context or "").split("\n")[0])
            if side == "plain":
                conn.execute(f"DROP SCHEMA {schema} CASCADE")
    assert contexts["gridpg"] == contexts["plain"]
    assert contexts["plain"][0] == f'SQL statement "INSERT INTO {schema}.c21_u VALUES ($1)"'
