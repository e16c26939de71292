"""Transaction control and SET/RESET are recognised by the parse, whatever text precedes them."""

from __future__ import annotations

import pytest

from gridpg.errors import PgError
from gridpg.sql import parse


@pytest.mark.parametrize(
    ("sql", "kind", "chain"),
    [
        ("/* app:web */ rollback", "rollback", False),
        ("-- c\nROLLBACK", "rollback", False),
        ("commit /* x */", "commit", False),
        ("END", "commit", False),
        ("  ABORT", "rollback", False),
        ("ROLLBACK AND NO CHAIN", "rollback", False),
        ("/* a /* nested */ b */ rollback and chain", "rollback", True),
        ("-- one\n-- two\n/* three */ COMMIT WORK", "commit", False),
        ("/*x*/ROLLBACK TO SAVEPOINT s1", "rollback_to", False),
        ("rollback to s1", "rollback_to", False),
        ("/* x */ begin isolation level repeatable read", "begin", False),
        ("/* x */ set transaction read only", "set_transaction", False),
        ("/* x */ prepare transaction 'g'", "prepare", False),
        ("-- tm\nCOMMIT PREPARED 'g'", "commit_prepared", False),
        ("rollback prepared 'g'", "rollback_prepared", False),
    ],
)
def test_transaction_control_by_parse(sql: str, kind: str, chain: bool) -> None:
    control = parse.transaction_control(sql)
    assert control is not None
    assert control.kind == kind
    assert control.chain is chain


@pytest.mark.parametrize(
    "sql",
    [
        "select 'rollback'",
        "/* rollback */ select 1",
        "-- commit\nselect 1",
        "set transaction_isolation = 'read committed'",
        "set search_path = x",
        "endx",
    ],
)
def test_not_transaction_control(sql: str) -> None:
    assert parse.transaction_control(sql) is None


def test_prepared_transaction_identifier() -> None:
    control = parse.transaction_control("/* xa */ PREPARE TRANSACTION 'a b''c'")
    assert control is not None and control.name == "a b'c"


def test_savepoint_name_after_comment() -> None:
    control = parse.transaction_control("/* c */ rollback to savepoint \"S 1\"")
    assert control is not None and control.name == "S 1"


@pytest.mark.parametrize(
    ("sql", "name", "reset", "local"),
    [
        ("/* c */ set search_path = a", "search_path", False, False),
        ("-- c\nRESET ALL", "all", True, False),
        ("/**/ set local work_mem = '1MB'", "work_mem", False, True),
        ("reset work_mem", "work_mem", True, False),
    ],
)
def test_set_statement_after_comments(sql: str, name: str, reset: bool, local: bool) -> None:
    setting = parse.set_statement(sql)
    assert setting is not None
    assert (setting.name, setting.reset, setting.is_local) == (name, reset, local)


def test_statement_start() -> None:
    assert parse.statement_start("select 1") == 0
    assert parse.statement_start("  /* a */\n-- b\n  x") == 17
    assert parse.statement_start("/* only */") == len("/* only */")


def _alone(sql: str) -> list[parse.SetConfigCall] | None:
    """The calls of a `SELECT set_config(...)[, ...]` and nothing else; else None."""
    use = parse.set_config_use(sql)
    return use.calls if use is not None and use.alone else None


def _probe(sql: str) -> list[parse.SetConfigCall] | None:
    """The calls applied after another SELECT that calls set_config(); None without one."""
    use = parse.set_config_use(sql)
    return None if use is None else [] if use.alone else use.calls


def test_set_config_calls_read_constants_parameters_and_expressions() -> None:
    calls = _alone("/* dump */ SELECT pg_catalog.set_config('search_path', '', false)")
    assert calls == [parse.SetConfigCall("set_config", (("const", "search_path"), ("const", ""), ("const", "false")))]
    calls = _alone("select set_config($1, $2::text, 't') as v, set_config('a.b', current_user || 'x', true)")
    assert calls is not None and [c.column for c in calls] == ["v", "set_config"]
    assert calls[0].args == (("param", 1), ("param", 2), ("const", "t"))
    assert calls[1].args[1] == ("expr", "CURRENT_USER || 'x'")
    assert _alone("SELECT set_config('a.b', NULL, false)")[0].args[1] == ("const", None)  # type: ignore[index]


def test_set_config_elsewhere_is_probed_or_refused_not_lost() -> None:
    assert _alone("SELECT 1") is None and _probe("SELECT 1") is None
    body = "CREATE FUNCTION f() RETURNS void LANGUAGE sql AS $$ SELECT set_config('a.b', 'c', false) $$"
    assert _alone(body) is None and _probe(body) is None
    asyncpg = "SELECT current_setting('jit') AS cur, set_config('jit', $1, false) AS new"
    assert _alone(asyncpg) is None
    assert _probe(asyncpg) == [parse.SetConfigCall("set_config", (("const", "jit"), ("param", 1), ("const", "false")))]
    dump = ("SELECT set_config(name, 'view, foreign-table', false) FROM pg_settings "
            "WHERE name = 'restrict_nonsystem_relation_kind'")
    assert _probe(dump) == []  # runs on the catalog server only (its name is a column)
    # kysely's migration lock reads a WITH query, no table
    kysely = ("WITH set_timeout AS (SELECT set_config('lock_timeout', '60000', true) AS config_val) "
              "SELECT pg_advisory_lock(1) FROM set_timeout")
    assert _probe(kysely) == [parse.SetConfigCall("set_config", (("const", "lock_timeout"), ("const", "60000"),
                                                                 ("const", "true")))]
    for sql in ("SELECT set_config('a.b', x, false) FROM t", "SELECT set_config('a.b', 'c', false) FROM public.pg_x",
                "WITH w AS (SELECT 1) SELECT set_config('a.b', 'c', false) FROM w, t"):
        with pytest.raises(PgError) as err:
            _probe(sql)
        assert err.value.sqlstate == "0A000"


def test_set_config_of_a_named_setting_to_an_expression_inside_a_statement_is_refused() -> None:
    """`SELECT set_config('search_path', 's2, ' || current_setting('search_path'), false) IS
    NOT NULL` changed the path of the one connection that ran it; the session kept the old
    one and routed later statements by it (another schema's table read, silently). Alone,
    such a call is evaluated and applied as before."""
    expr = "set_config('search_path', 's2, ' || current_setting('search_path'), false)"
    for sql in (f"SELECT {expr} IS NOT NULL", f"SELECT 1, {expr}", f"SELECT 1 FROM (SELECT {expr}) q"):
        with pytest.raises(PgError) as err:
            _probe(sql)
        assert err.value.sqlstate == "0A000"
    assert _alone(f"SELECT {expr}") is not None


def test_set_config_in_writes_over_tables_is_refused() -> None:
    """PostgREST's upsert counts inserted rows with set_config() in its WHERE clauses: on
    the datanodes each node counted alone, the DO UPDATE's test failed and the update was
    skipped, silently."""
    count = "set_config('pgrst.inserted', (coalesce(nullif(current_setting('pgrst.inserted', true), '')::int, 0) + 1)::text, true)"
    upsert = (f"WITH pgrst_source AS (INSERT INTO t(id) SELECT b.id FROM (SELECT 1 AS id) b WHERE {count} <> '0' "
              f"ON CONFLICT(id) DO UPDATE SET id = EXCLUDED.id WHERE {count} <> '-1' RETURNING t.*) "
              "SELECT count(*) FROM pgrst_source")
    for sql in (upsert, f"INSERT INTO t SELECT 1 WHERE {count} <> '0'",
                f"UPDATE t SET v = 1 WHERE {count} IS NOT NULL", f"DELETE FROM t WHERE {count} = '1'",
                f"WITH x AS (SELECT id FROM t) SELECT {count} FROM x"):
        with pytest.raises(PgError) as err:
            _probe(sql)
        assert err.value.sqlstate == "0A000"


def test_locations_are_string_offsets_also_after_non_ascii_text() -> None:
    sql = "/* é ü */ SELECT count(*) FROM ONLY tàble t"
    var = parse.parse_tree(sql)["SelectStmt"]["fromClause"][0]["RangeVar"]
    assert sql[var["location"]:].startswith("tàble")
    ast_var = parse.parse_sql(sql)[0].stmt.fromClause[0]
    assert ast_var.location == var["location"]
    only = next(t for t in parse.tokens(sql) if t.name == "ONLY")
    assert sql[only.start:only.end + 1] == "ONLY"
