"""Server-side code with its own search path, schema-qualified names, SECURITY DEFINER.

Each step runs on gridpg and on plain PostgreSQL (same schemas, roles and data) and must
give the same rows, status or SQLSTATE; REFUSED steps must fail on gridpg with 0A000 (a
stand-in fails the same way on PostgreSQL to keep both transactions in step). The schema
holding the tables is not on the caller's search path, as in an application whose code
lives in its own schema.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from gridpg.cluster.control import Cluster
from tests.integration import test_server_side_code as base
from tests.integration.test_server_side_code import REFUSED, walk

pair = base.pair  # the fixture: (gridpg, PostgreSQL) on a schema holding t, ref, x


def _setup(app: str, role: str) -> list[str]:
    return [
        f'CREATE SCHEMA "{app}"',
        f'CREATE TABLE "{app}".orders (id int PRIMARY KEY, v int)',
        f'CREATE TABLE "{app}"."Audit Log" (id int, note text)',
        f'INSERT INTO "{app}".orders SELECT g, g * 10 FROM generate_series(1, 10) g',
        f'CREATE ROLE "{role}" LOGIN PASSWORD \'pw\'',
        f'GRANT USAGE ON SCHEMA "{app}" TO "{role}"',
        # -- its own search path, mixed-case names, dollar quoting with a tag, comments
        f'''CREATE FUNCTION "{app}".count_orders() RETURNS bigint LANGUAGE sql
            SET search_path = "{app}", public AS $body$ /* own path */ SELECT count(*) FROM orders $body$''',
        f'''CREATE FUNCTION "{app}".add_order(i int, note text DEFAULT 'added') RETURNS bigint
            LANGUAGE plpgsql SECURITY DEFINER SET search_path = "{app}", pg_temp AS $$
            BEGIN
              INSERT INTO orders VALUES (i, i * 10);  -- the owner's right, not the caller's
              INSERT INTO "Audit Log" VALUES (i, note);
              RETURN (SELECT count(*) FROM orders);
            END $$''',
        f'REVOKE EXECUTE ON FUNCTION "{app}".add_order(int, text) FROM PUBLIC',
        f'GRANT EXECUTE ON FUNCTION "{app}".add_order(int, text) TO "{role}"',
        f'''CREATE FUNCTION "{app}".add_plain(i int) RETURNS void LANGUAGE plpgsql SECURITY DEFINER
            AS $$ BEGIN INSERT INTO orders VALUES (i, 0); END $$''',
        f'''CREATE PROCEDURE "{app}".bump(d int) LANGUAGE sql SET search_path = "{app}"
            AS $$ UPDATE orders SET v = v + d WHERE id <= 3 $$''',
        f'''CREATE FUNCTION "{app}".nested() RETURNS bigint LANGUAGE sql SET search_path = "{app}"
            AS $$ SELECT "{app}".count_orders() + 1 $$''',
        f'''CREATE FUNCTION "{app}".qualified() RETURNS bigint LANGUAGE sql
            AS $$ SELECT count(*) FROM "{app}".orders $$''',
        f'''CREATE FUNCTION "{app}".qualified_pl(i int) RETURNS bigint LANGUAGE plpgsql AS $fn$
            DECLARE n bigint;
            BEGIN
              INSERT INTO "{app}" . orders (id, v) VALUES (i, i);  -- spaced, quoted
              SELECT count(*) INTO n FROM "{app}".orders o WHERE o.v > 0;
              RETURN n;
            END $fn$''',
        f'''CREATE FUNCTION "{app}".calls_qualified() RETURNS bigint LANGUAGE sql
            AS $$ SELECT "{app}".qualified() $$''',
        f'''CREATE FUNCTION "{app}".changes_path() RETURNS bigint LANGUAGE plpgsql AS $$
            BEGIN PERFORM set_config('search_path', '"{app}"', true); RETURN (SELECT count(*) FROM orders); END $$''',
        f'''CREATE FUNCTION "{app}".temp_last() RETURNS bigint LANGUAGE sql
            SET search_path = "{app}", pg_temp AS $$ SELECT count(*) FROM orders $$''',
    ]


@pytest.fixture()
def apps(gridpg_cluster: Cluster, plain_pg: str, schema: str,
         request: pytest.FixtureRequest) -> Iterator[tuple[Any, Any, str, str]]:
    """(gridpg, PostgreSQL, app schema, role): the app's schema is off the search path."""
    index = getattr(request, "param", 0)
    app, role = f"App {schema[-12:]}", f"clerk_{schema[-12:]}"
    teardown = [f'DROP SCHEMA IF EXISTS "{app}" CASCADE', f'DROP ROLE IF EXISTS "{role}"']
    with psycopg.connect(plain_pg, autocommit=True) as plain, \
            psycopg.connect(gridpg_cluster.dsn(index), autocommit=True) as grid:
        for conn in (plain, grid):
            for sql in teardown:
                conn.execute(sql)
            for sql in _setup(app, role):
                conn.execute(sql)
        try:
            yield grid, plain, app, role
        finally:
            for conn in (plain, grid):
                conn.rollback()
                for sql in teardown:
                    conn.execute(sql)


def _as_role(dsn: str, role: str) -> psycopg.Connection[Any]:
    url = urllib.parse.urlsplit(dsn.split(",")[0] if "," in dsn else dsn)
    return psycopg.connect(host=url.hostname, port=url.port, user=role, password="pw",
                           dbname=(url.path or "/postgres").lstrip("/") or "postgres", autocommit=True)


@pytest.mark.parametrize("apps", [0, 1], indirect=True, ids=["coordinator1", "coordinator2"])
def test_own_search_path_and_schema_off_the_path(apps: Any) -> None:
    grid, plain, app, _ = apps
    walk(grid, plain, [
        f'SELECT "{app}".count_orders()',
        f'SELECT "{app}" . count_orders /* spaced */ ()',
        "BEGIN",
        f'SELECT "{app}".add_order(11)',
        f'SELECT "{app}".count_orders(), "{app}".count_orders() + 1',
        f'CALL "{app}".bump(5)',
        f'SELECT id, v FROM "{app}".orders WHERE id <= 3 ORDER BY id',
        "ROLLBACK",
        f'SELECT count(*), sum(v) FROM "{app}".orders',
        f'SELECT "{app}".add_order(12, note => \'named\')',
        f'SELECT * FROM "{app}"."Audit Log" ORDER BY id',
        f'SELECT * FROM "{app}".count_orders()',
        # pg_temp: first unless the routine's path puts it later
        "CREATE TEMP TABLE orders (id int, v int)",
        f'SELECT "{app}".count_orders()',
        f'SELECT "{app}".temp_last()',
        "DROP TABLE orders",
        # a nested routine with its own path (or schema-qualified names) runs as a twin
        # called by its caller's twin; a body changing search_path stays refused
        f'SELECT "{app}".nested()',
        f'SELECT "{app}".qualified()',
        f'SELECT "{app}".qualified_pl(31), "{app}".qualified_pl(32)',
        f'SELECT id, v FROM "{app}".orders WHERE id > 30 ORDER BY id',
        f'SELECT "{app}".calls_qualified()',
        (f'SELECT "{app}".changes_path()', REFUSED),
        (f'SELECT set_config(\'search_path\', \'"{app}"\', true), "{app}".add_plain(40)', REFUSED),
        # SECURITY DEFINER code and the caller's in one statement, called by the code's
        # owner: one role (Pagila's rewards_report called by postgres; was refused)
        f'SELECT "{app}".add_order(41), "{app}".count_orders()',
        f'SELECT count(*) FROM "{app}".orders',
        # an unqualified call, from the schema on the path
        f'SET search_path = "{app}", public',
        "SELECT add_order(42)",
        "SELECT count_orders()",
        "RESET search_path",
    ])


def test_security_definer_runs_as_its_owner(apps: Any, gridpg_cluster: Cluster, plain_pg: str) -> None:
    grid, plain, app, role = apps
    with _as_role(gridpg_cluster.dsn(1), role) as grid_role, _as_role(plain_pg, role) as plain_role:
        walk(grid_role, plain_role, [
            f'SELECT count(*) FROM "{app}".orders',  # 42501 both: no right of its own
            f'SELECT "{app}".add_order(21)',
            "BEGIN",
            f'SELECT "{app}".add_order(22, \'in a block\')',
            f'SELECT count(*) FROM "{app}".orders',  # its own right again after the call
            "ROLLBACK",
            f'SELECT "{app}".add_order(23)',
            # SECURITY DEFINER code and the caller's in one statement: two roles
            (f'SELECT "{app}".add_order(28), "{app}".count_orders()', REFUSED),
            f'SELECT "{app}".add_plain(24)',  # 42P01 both: orders is not on the path
            f'SET search_path = "{app}"',
            "SELECT add_plain(25)",
            f'SELECT "{app}".count_orders()',  # not SECURITY DEFINER: the caller's rights
        ])
    for conn in (grid, plain):
        conn.execute(f'REVOKE EXECUTE ON FUNCTION "{app}".add_order(int, text) FROM "{role}"')
    with _as_role(gridpg_cluster.dsn(0), role) as grid_role, _as_role(plain_pg, role) as plain_role:
        # its twin may be executed by exactly the roles that may execute it
        walk(grid_role, plain_role, [f'SELECT "{app}".add_order(26)', f'SELECT "{app}".add_order(27)'])
    walk(grid, plain, [f'SELECT id, v FROM "{app}".orders WHERE id > 20 ORDER BY id',
                       f'SELECT * FROM "{app}"."Audit Log" ORDER BY id'])


@pytest.mark.parametrize("pair", [0, 1], indirect=True, ids=["coordinator1", "coordinator2"])
def test_functions_over_temp_tables_and_types(pair: Any) -> None:
    """SQL functions are checked at creation against the session's temp objects; those
    depending on one (a temp type, a BEGIN ATOMIC body) are the session's; a function
    joining a temp table with a distributed table reads both."""
    grid, plain = pair
    walk(grid, plain, [
        "CREATE TEMP TABLE tt (id int)",
        "INSERT INTO tt VALUES (1), (2), (99)",
        "CREATE FUNCTION count_tt() RETURNS bigint LANGUAGE sql AS $$ SELECT count(*) FROM tt $$ -- trailing",
        "SELECT count_tt()",
        "CREATE FUNCTION tt_join() RETURNS bigint LANGUAGE sql AS $$ SELECT count(*) FROM tt JOIN t USING (id) $$",
        "SELECT tt_join()",
        "BEGIN",
        "INSERT INTO t VALUES (99, 0)",
        "INSERT INTO tt VALUES (3)",
        "SELECT tt_join(), count_tt()",
        "ROLLBACK",
        "SELECT tt_join(), count_tt()",
        "CREATE TYPE pg_temp.pair AS (a int, b int)",
        "CREATE FUNCTION sum_pair(p pg_temp.pair) RETURNS int LANGUAGE sql AS $$ SELECT (p).a + (p).b $$",
        "SELECT sum_pair(ROW(2, 3)::pg_temp.pair)",
        "CREATE FUNCTION atomic_tt() RETURNS bigint LANGUAGE sql BEGIN ATOMIC SELECT count(*) FROM tt; END",
        "SELECT atomic_tt()",
        "CREATE FUNCTION bad_body() RETURNS bigint LANGUAGE sql AS $$ SELECT count(*) FROM no_such_relation $$",
        "SELECT count(*) FROM pg_proc WHERE proname IN ('count_tt', 'tt_join', 'bad_body')",
        "DROP TABLE tt CASCADE",
        "SELECT count(*) FROM pg_proc WHERE proname = 'atomic_tt'",
    ])


VIEW_SETUP = [
    'CREATE TABLE "{s}".orders (id int PRIMARY KEY, v int, secret text)',
    'CREATE TABLE "{s}".cust (cid int PRIMARY KEY, name text)',
    'CREATE TABLE "{s}".mine (id int PRIMARY KEY, w int)',
    'INSERT INTO "{s}".orders SELECT g, g % 4, \'s\' || g FROM generate_series(1, 20) g',
    'INSERT INTO "{s}".cust SELECT g, \'c\' || g FROM generate_series(0, 5) g',
    'INSERT INTO "{s}".mine SELECT g, g FROM generate_series(1, 5) g',
    # a join on a column that is not the distribution key: an exchange or a coordinator finish
    'CREATE VIEW "{s}".v_join AS SELECT o.id, c.name FROM "{s}".orders o JOIN "{s}".cust c ON c.cid = o.v',
    'CREATE VIEW "{s}".v_agg AS SELECT v % 3 AS k, count(*) AS n, sum(id) AS total FROM "{s}".orders GROUP BY 1',
    'CREATE VIEW "{s}".v_invoker WITH (security_invoker = true) AS SELECT o.id, c.name FROM "{s}".orders o JOIN "{s}".cust c ON c.cid = o.v',
    'CREATE VIEW "{s}".v_who AS SELECT o.id, c.name, current_user AS who FROM "{s}".orders o JOIN "{s}".cust c ON c.cid = o.v',
    'CREATE TABLE "{s}".guarded (id int PRIMARY KEY, v int, owner_name text)',
    'INSERT INTO "{s}".guarded SELECT g, g % 4, CASE WHEN g % 2 = 0 THEN \'{r}\' ELSE \'other\' END FROM generate_series(1, 12) g',
    'ALTER TABLE "{s}".guarded ENABLE ROW LEVEL SECURITY',
    'CREATE POLICY own_rows ON "{s}".guarded USING (owner_name = current_user)',
    'CREATE VIEW "{s}".v_guarded AS SELECT g.id, c.name FROM "{s}".guarded g JOIN "{s}".cust c ON c.cid = g.v',
    'GRANT USAGE ON SCHEMA "{s}" TO "{r}"',
    'GRANT SELECT ON "{s}".v_join, "{s}".v_agg, "{s}".v_invoker, "{s}".v_who, "{s}".v_guarded, "{s}".mine TO "{r}"',
]


def test_view_only_role_reads_views_of_any_plan(gridpg_cluster: Cluster, plain_pg: str, schema: str) -> None:
    """A role granted SELECT on views (not on their tables) reads them through plans that
    read the tables themselves; a security_invoker view needs the tables' rights, as in
    PostgreSQL; a view calling current_user keeps the session's rights (an error, not
    another answer)."""
    role = f"viewer_{schema[-12:]}"
    with psycopg.connect(plain_pg, autocommit=True) as plain, \
            psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as grid:
        for conn in (plain, grid):
            conn.execute(f'DROP ROLE IF EXISTS "{role}"')
            conn.execute(f"CREATE ROLE \"{role}\" LOGIN PASSWORD 'pw'")
            if conn is plain:
                conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
            for sql in VIEW_SETUP:
                conn.execute(sql.format(s=schema, r=role))
        try:
            for index in (0, 1):
                with _as_role(gridpg_cluster.dsn(index), role) as grid_role, _as_role(plain_pg, role) as plain_role:
                    walk(grid_role, plain_role, [
                        f'SELECT * FROM "{schema}".v_join ORDER BY id',
                        f'SELECT k, n, total FROM "{schema}".v_agg ORDER BY k',
                        f'SELECT count(*) FROM "{schema}".orders',  # 42501 both: the table itself
                        "BEGIN",
                        f'/* in a block */ SELECT j.name, count(*) FROM "{schema}".v_join j JOIN "{schema}".mine m ON m.w = j.id GROUP BY 1 ORDER BY 1',
                        f'SELECT count(*) FROM "{schema}".mine',
                        "ROLLBACK",
                        f'SELECT count(*) FROM "{schema}".v_invoker',  # 42501 both
                        f'SELECT count(*) FROM "{schema}".v_join WHERE name = \'c1\'',
                    ])
                    # current_user in the view or the statement: gridpg keeps the session's
                    # rights (42501) rather than answer as another role
                    for sql in (f'SELECT count(*) FROM "{schema}".v_who WHERE who = current_user',
                                f'SELECT count(*) FROM "{schema}".v_guarded',  # row-level security: not lifted
                                f'SELECT current_user = \'{role}\', count(*) FROM "{schema}".v_join'):
                        got = base._result(grid_role, sql)
                        assert got in (("error", "42501"), base._result(plain_role, sql)), (sql, got)
        finally:
            for conn in (plain, grid):
                conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE' if conn is plain else
                             f'DROP VIEW "{schema}".v_join, "{schema}".v_agg, "{schema}".v_invoker, '
                             f'"{schema}".v_who, "{schema}".v_guarded')
                conn.execute(f'REVOKE ALL ON SCHEMA "{schema}" FROM "{role}"' if conn is grid else "SELECT 1")
                conn.execute(f'REVOKE ALL ON "{schema}".mine FROM "{role}"' if conn is grid else "SELECT 1")
                conn.execute(f'DROP ROLE IF EXISTS "{role}"')


def test_merge_refusals_leave_nothing_behind(pair: Any) -> None:
    """MERGE forms gridpg cannot run on the nodes are refused (0A000), never run against
    the wrong rows: an update away from its source row's node. An INSERT without the
    distribution column in the ON condition (decided by the coordinator since 2026-12-07), a join off the distribution columns (the
    source broadcast), a grouped source (staged by its key), a view as the target (staged
    on its table's nodes, since 2026-12-04), a new row of another node (moved there) and a
    subquery outside the source (its table copied to the nodes; both h-merge24, 2026-12-07)
    give PostgreSQL's answer."""
    grid, plain = pair
    walk(grid, plain, [
        "MERGE INTO t USING x ON t.id = x.id WHEN MATCHED THEN UPDATE SET v = 7",
        "MERGE INTO t USING x ON t.id = x.id WHEN NOT MATCHED THEN INSERT (id, v) VALUES (x.id + 100, 0)",
        ("MERGE INTO t USING x ON t.id = x.id WHEN MATCHED THEN UPDATE SET id = x.id + 100", REFUSED),
        "MERGE INTO t USING x ON t.v = x.id WHEN MATCHED THEN UPDATE SET v = 1",
        # (no key in ON: the coordinator decides NOT MATCHED, since 2026-12-07)
        "MERGE INTO t USING x ON t.v = x.id WHEN NOT MATCHED THEN INSERT (id, v) VALUES (x.id, 1)",
        "MERGE INTO t USING x ON t.v = x.id WHEN NOT MATCHED THEN INSERT (id, v) VALUES (x.id + 500, 1)",
        ("WITH m AS MATERIALIZED (SELECT id, count(*) AS n FROM x GROUP BY id) "
         "MERGE INTO t USING m ON t.id = m.id WHEN MATCHED THEN UPDATE SET v = m.n"),
        "MERGE INTO t USING x ON t.id = x.id AND x.id IN (SELECT id FROM ref) WHEN MATCHED THEN DELETE",
        "CREATE VIEW tv AS SELECT id, v FROM t",
        "MERGE INTO tv USING x ON tv.id = x.id WHEN MATCHED THEN UPDATE SET v = 1",
        "SELECT id, v FROM t ORDER BY id",
    ])
