"""The pure parts of the loopback that runs server-side code over distributed tables:
what blocks code from reaching tables through shadows, the shadows' DDL, the token format,
and the rewriting of postgres_fdw's row-by-row UPDATE/DELETE."""

from __future__ import annotations

from typing import Any

from gridpg.catalog.model import DistTable
from gridpg.executor import loopback
from gridpg.frontend import by_ctid
from gridpg.planner import analyze, routines
from gridpg.sql import parse as sqlparse

T = DistTable("public", "t", "hash", "id", "int4", 1, 32, ("dn1", "dn2"))


def _resolve(ref: analyze.RelRef, path: tuple[str, ...]) -> DistTable | None:
    return T if ref.name == "t" and ref.schema in (None, "public") else None


def _views(ref: analyze.RelRef, path: tuple[str, ...]) -> tuple[str, str] | None:
    return ("public", "v") if ref.name == "v" else None


def _routine(body: str, language: str = "plpgsql", **kw: Any) -> routines.Routine:
    text = f"CREATE OR REPLACE FUNCTION public.f(i integer) RETURNS void LANGUAGE {language} AS $x${body}$x$"
    return routines.Routine(1, "public", "f", "i integer", language, "f", text, **kw)


def _blocker(routine: routines.Routine) -> tuple[str | None, set[tuple[str, str]]]:
    shadows: set[tuple[str, str]] = set()
    why = routines.loopback_blocker(routine, routines.routine_access(routine), ("public",),
                                    _resolve, _views, shadows)
    return why, shadows


def test_unqualified_tables_and_views_are_shadowed() -> None:
    why, shadows = _blocker(_routine("BEGIN INSERT INTO t VALUES (i); PERFORM count(*) FROM v; "
                                     "PERFORM 1 FROM pg_catalog.pg_class; END"))
    assert why is None and shadows == {("public", "t"), ("public", "v")}


def test_what_shadows_cannot_reach_is_named() -> None:
    assert "with its schema" in (_blocker(_routine("BEGIN DELETE FROM public.t; END"))[0] or "")
    # its own search_path (a twin) and SECURITY DEFINER (its owner) are the executor's:
    # the names resolve with the path given, and reach the shadows
    for kw in ({"search_path": ("public",)}, {"security_definer": True}):
        assert _blocker(_routine("BEGIN DELETE FROM t; END", **kw)) == (None, {("public", "t")})
    assert "change search_path" in (_blocker(_routine(
        "BEGIN PERFORM set_config('search_path', 'x', true); DELETE FROM t; END"))[0] or "")
    atomic = routines.Routine(1, "public", "f", "", "sql", "f",
                              "CREATE FUNCTION public.f() RETURNS bigint LANGUAGE sql "
                              "BEGIN ATOMIC SELECT count(*) FROM t; END")
    assert "BEGIN ATOMIC" in (_blocker(atomic)[0] or "")
    # DDL runs as distributed DDL (executor/code_ddl.py): it blocks nothing, names no shadow
    assert _blocker(_routine("BEGIN ALTER TABLE t ADD COLUMN c int; CREATE INDEX ON t (c); END")) == (None, set())
    assert "Lock on t" in (_blocker(_routine("BEGIN LOCK TABLE t; PERFORM count(*) FROM t; END"))[0] or "")
    # Code touching no distributed table is never blocked (its search_path is its own).
    assert _blocker(_routine("BEGIN PERFORM 1; END", search_path=("x",), security_definer=True)) == (None, set())


def test_application_name_carries_worker_token_and_backend_pid() -> None:
    token = "ab" * 16
    assert loopback.parse_application_name(f"gridpg-lb:1:{token}") == (1, token, None)
    assert loopback.parse_application_name(f"gridpg-lb:1:{token}:4242") == (1, token, 4242)
    for bad in ("psql", f"gridpg-lb:x:{token}", "gridpg-lb:1:short", f"gridpg-lb:1:{token}:extra",
                f"gridpg-lb:1:{token}:%p", f"gridpg-lb:1:{token}:1:2"):
        assert loopback.parse_application_name(bad) is None


def test_setup_quotes_the_secret_and_keeps_connections() -> None:
    sql = "\n".join(loopback.setup_sql("0.0.0.0", 5432, "postgres", "it's", "postgres"))
    assert "keep_connections ''on''" in sql and "'off'" not in sql and "127.0.0.1" in sql
    assert "it''''s" in sql and "ADD SERVER gridpg_loopback" in sql


class _Runner:
    def __init__(self) -> None:
        self.loopback_token: str | None = None
        self.loopback_calls = 0


class _Conn:
    def __init__(self, pid: int) -> None:
        self.backend_pid = pid


def test_a_kept_connection_serves_the_session_that_armed_its_backend() -> None:
    """The pid postgres_fdw writes for %p finds the session whose call runs on that
    catalog backend now; none once the call or its transaction is over."""
    tokens = loopback.LoopbackTokens()
    first, second = _Runner(), _Runner()
    tag = tokens.tag(first, _Conn(700), 0)  # type: ignore[arg-type]
    assert tag.startswith("gridpg-lb:0:") and tag.endswith(":%p")
    assert tokens.armed_on(700) is None  # armed, but no call running yet
    first.loopback_calls = 1
    assert tokens.armed_on(700) is first and tokens.armed_on(701) is None
    first.loopback_calls = 0
    tokens.forget(first)  # its transaction ended
    assert tokens.armed_on(700) is None
    tokens.tag(second, _Conn(700), 0)  # type: ignore[arg-type]
    second.loopback_calls = 1
    assert tokens.armed_on(700) is second and tokens.claim(second.loopback_token or "") is second


def _columns(default: str | None, identity: str = "", comment: str | None = None) -> list[tuple[str | None, ...]]:
    return [("public", "t", "2200", "id", "integer", None, "", "", comment),
            ("public", "t", "2200", "v", "bigint", default, identity, "", comment)]


def test_shadow_ddl_copies_defaults_a_datanode_would_compute() -> None:
    (ddl,) = loopback.shadow_ddl(_columns("42"))
    assert 'CREATE FOREIGN TABLE gridpg_lb_2200.t (id integer, v bigint DEFAULT 42) SERVER gridpg_loopback' in ddl
    assert "schema_name 'public', table_name 't'" in ddl and "DROP FOREIGN TABLE" not in ddl
    (ddl,) = loopback.shadow_ddl(_columns("nextval('t_v_seq'::regclass)"))
    assert "v bigint DEFAULT gridpg.loopback_no_default('public.t.v', NULL::bigint)" in ddl


def test_shadow_ddl_generates_always_generated_columns() -> None:
    """postgres_fdw leaves a generated column out of its INSERT/UPDATE: the coordinator's
    write fills a GENERATED ALWAYS identity or stored generated column."""
    for row in (_columns(None, identity="a"), [(*c[:7], "s", c[8]) for c in _columns("(id * 2)")][1:]):
        (ddl,) = loopback.shadow_ddl(row)
        assert "v bigint GENERATED ALWAYS AS (NULL::bigint) STORED" in ddl


def test_shadow_ddl_skips_an_unchanged_shadow_and_replaces_a_changed_one() -> None:
    (ddl,) = loopback.shadow_ddl(_columns("42", comment="gridpg shadow stale"))
    assert "DROP FOREIGN TABLE gridpg_lb_2200.t" in ddl
    digest = ddl.split("'gridpg shadow ")[1].split("'")[0]
    assert loopback.shadow_ddl(_columns("42", comment=f"gridpg shadow {digest}")) == []


def test_row_by_row_statements_are_recognised_and_retargeted() -> None:
    update = "UPDATE public.t SET v = $2 WHERE ctid = $1"
    tree = sqlparse.parse_tree(update)["UpdateStmt"]
    assert by_ctid.is_by_ctid(tree)
    assert not by_ctid.is_by_ctid(sqlparse.parse_tree("UPDATE public.t SET v = $2 WHERE id = $1")["UpdateStmt"])
    text = by_ctid.inline_params(by_ctid._retarget(update, tree["relation"]["location"], "public.t_3"),
                                 [b"(0,7)", b"it's"])
    assert text == "UPDATE public.t_3 SET v = 'it''s' WHERE ctid = '(0,7)'"
    assert by_ctid.inline_params("SELECT '$1', $1, $10", [None] * 9 + [b"x"]) == "SELECT '$1', NULL, 'x'"


def test_a_loopback_takes_no_datanode_connection_after_its_call() -> None:
    """After the caller's call ended (its transaction possibly rolled back), a statement of
    the code still on its way must not get a connection: the caller's transaction would
    hand out a new one, outside any block, and the write would commit on its own."""
    import asyncio

    import pytest

    from gridpg.errors import PgError
    from gridpg.frontend.loopback import _LoopbackTxn

    class Txn:
        async def connection(self, node: str, wants_block: bool, maps: bool = True) -> str:
            return f"conn:{node}"

        def connection_now(self, node: str, setup_now: Any) -> str:
            return f"conn:{node}"

    class Caller:
        loopback_role = None
        loopback_switched: set[str] = set()

    running = [True]
    txn = _LoopbackTxn(Txn(), "catalog1", Caller(), lambda: running[0])
    assert asyncio.run(txn.connection("dn1", True)) == "conn:dn1"
    running[0] = False
    with pytest.raises(PgError, match="call has ended"):
        asyncio.run(txn.connection("dn1", True))
    with pytest.raises(PgError, match="call has ended"):
        txn.connection_now("dn1", None)
