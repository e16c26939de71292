"""Settings changed by server-side code (frontend/session_commands.adopt_code_settings).

A function, procedure or DO block calling `set_config()` or running `SET` changes the
setting on the one server connection that runs it (the catalog server's). The session's
other connections, and gridpg's routing of its next statements, kept the old value: a
tenant switch (`SELECT set_tenant('a')`, then `... WHERE tenant =
current_setting('app.tenant', true)` on the datanodes) read no rows, and a function
moving search_path left the next statements reading the old schema's table, both
silently. Each step is compared with plain PostgreSQL (tests/integration/
test_server_side_code.walk), in blocks that commit and roll back too.
"""

from __future__ import annotations

from typing import Any

import psycopg

from tests.integration.test_server_side_code import pair, walk  # noqa: F401 - the fixture

FUNCTIONS = [
    "CREATE TABLE notes (id int PRIMARY KEY, tenant text, body text)",
    "INSERT INTO notes VALUES (1, 'a', 'x'), (2, 'b', 'y'), (3, 'a', 'z'), (4, 'c', 'w')",
    ("CREATE FUNCTION set_tenant(t text) RETURNS void LANGUAGE plpgsql AS $$ "
     "BEGIN PERFORM set_config('app.tenant', t, false); END $$"),
    ("CREATE FUNCTION set_tenant_local(t text) RETURNS void LANGUAGE plpgsql AS $$ "
     "BEGIN PERFORM set_config('app.tenant', t, true); END $$"),
    "CREATE FUNCTION tz_tokyo() RETURNS void LANGUAGE plpgsql AS $$ BEGIN SET TIME ZONE 'Asia/Tokyo'; END $$",
    "CREATE PROCEDURE tenant_proc(t text) LANGUAGE plpgsql AS $$ BEGIN PERFORM set_config('app.tenant', t, false); END $$",
    ("CREATE FUNCTION mine() RETURNS bigint LANGUAGE sql STABLE AS $$ "
     "SELECT count(*) FROM notes WHERE tenant = current_setting('app.tenant', true) $$"),
]
MINE = "SELECT id FROM notes WHERE tenant = current_setting('app.tenant', true) ORDER BY id"


def test_a_tenant_set_by_a_function_is_seen_by_the_datanodes(pair: Any) -> None:  # noqa: F811
    gridpg, plain = pair
    walk(gridpg, plain, [
        *FUNCTIONS,
        MINE,
        "SELECT set_tenant('a')",
        MINE,
        "SELECT current_setting('app.tenant')",
        "SELECT count(*) FROM notes WHERE tenant = current_setting('app.tenant')",
        "CALL tenant_proc('b')",
        MINE,
        "DO $$ BEGIN PERFORM set_config('app.tenant', 'c', false); END $$",
        MINE,
        # transaction-local outside a block: gone with the statement
        "SELECT set_tenant_local('a')",
        MINE,
        # in a block: LOCAL until its end, a session-level change kept by COMMIT, undone by ROLLBACK
        "BEGIN",
        "SELECT set_tenant_local('a')",
        MINE,
        "SELECT mine()",
        "COMMIT",
        MINE,
        "BEGIN",
        "SELECT set_tenant('b')",
        MINE,
        "COMMIT",
        MINE,
        "BEGIN",
        "SELECT set_tenant('a')",
        MINE,
        "ROLLBACK",
        MINE,
        "SELECT tz_tokyo()",
        "SHOW TimeZone",
        "SELECT '2024-01-01 00:00:00+00'::timestamptz::text",
    ])


def test_search_path_moved_by_code_routes_the_next_statements(pair: Any, schema: str) -> None:  # noqa: F811
    gridpg, plain = pair
    other = f"{schema}_other"
    for conn in (gridpg, plain):
        conn.execute(f'DROP SCHEMA IF EXISTS "{other}" CASCADE')
    walk(gridpg, plain, [
        f'CREATE SCHEMA "{other}"',
        f'CREATE TABLE "{other}".x (id int PRIMARY KEY, v text)',
        f"INSERT INTO \"{other}\".x VALUES (1, 'other')",
        "SELECT id, v FROM x ORDER BY id",
        (f"CREATE FUNCTION go_other() RETURNS void LANGUAGE plpgsql AS $$ BEGIN "
         f"PERFORM set_config('search_path', '\"{other}\"', false); END $$"),
        "SELECT go_other()",
        "SELECT id, v FROM x ORDER BY id",
        f'SET search_path TO "{schema}"',
        "SELECT id, v FROM x ORDER BY id",
        f"DO $$ BEGIN SET search_path = \"{other}\"; END $$",
        "SELECT id, v FROM x ORDER BY id",
        f'SET search_path TO "{schema}"',
        f'DROP SCHEMA "{other}" CASCADE',
    ])


def test_code_that_sets_nothing_changes_nothing(pair: Any) -> None:  # noqa: F811
    """A function's own SET clause ends with it; the session keeps its value."""
    gridpg, plain = pair
    walk(gridpg, plain, [
        *FUNCTIONS,
        "CREATE FUNCTION in_utc() RETURNS text LANGUAGE sql SET TimeZone = 'UTC' AS $$ SELECT current_setting('TimeZone') $$",
        "SET TimeZone = 'Europe/Oslo'",
        "SELECT in_utc()",
        "SHOW TimeZone",
        "SELECT '2024-01-01 00:00:00+00'::timestamptz::text",
    ])
    assert isinstance(gridpg, psycopg.Connection)
