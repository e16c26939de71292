"""The guard on server-side code: refuse a statement whose user code reaches distributed tables.

Before a statement runs, `RoutineGuard.check` finds the user routines it may call (its
function calls, CALL, DO blocks, and the triggers, column defaults, view rules and
constraints of the relations it names), follows their nested calls, and raises 0A000
naming the routine and the table when one of them reads or writes a distributed or
replicated table, runs dynamic SQL it cannot check, or is written in a language it cannot
read. Routines that touch no distributed table run as before.

I/O lives here (pg_proc, pg_depend lookups on the catalog server); the reading of bodies
is `planner/routines.py`. Cached per catalog epoch: the names of user routines and of
relations that depend on them (a cheap text filter: a statement that names none of them
is not parsed), each routine's access by oid, and each statement's verdict. A transaction that ran DDL
gets its own registry per private catalog view (its routines may differ from the cluster's).
"""

from __future__ import annotations

import contextlib
import json

import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from gridpg.catalog.model import CatalogSnapshot, DistTable
from gridpg.datanode.connection import BackendConnection
from gridpg.errors import FEATURE_NOT_SUPPORTED, PgError
from gridpg.executor import advisory, delegation, view_instead
from gridpg.executor import triggers as firing_mod
from gridpg.planner import analyze, call_shape, lazy_initplans, replicas, tempnames
from gridpg.planner import delegation as delegation_shape
from gridpg.planner import routines as body
from gridpg.planner.delegation import Delegation
from gridpg.sql import parse as sqlparse
from gridpg.sql import plpgsql_upsert, trigger_relation
from gridpg.sql.quote import quote_ident, quote_literal

if TYPE_CHECKING:
    from gridpg.executor.dispatch import Dispatcher, ExecRequest
    from gridpg.frontend.coordinator import Coordinator

# Statements that store expressions (defaults, view queries, trigger and rule bodies) or
# name objects without running user code: checked when that code runs, not here.
DEFINITIONS = frozenset({
    "CreateStmt", "ViewStmt", "CreateTrigStmt", "CreateFunctionStmt", "RuleStmt",
    "CreatePolicyStmt", "AlterPolicyStmt", "DefineStmt", "CreateDomainStmt", "CommentStmt",
    "DropStmt", "GrantStmt", "AlterFunctionStmt", "RenameStmt", "AlterOwnerStmt",
    "CreateCastStmt", "CreateEventTrigStmt", "AlterObjectSchemaStmt", "CreateSchemaStmt",
    "AlterEnumStmt", "CompositeTypeStmt", "CreateEnumStmt", "CreateSeqStmt", "AlterSeqStmt",
    "IndexStmt", "CreateStatsStmt", "SecLabelStmt", "AlterTableStmt", "PrepareStmt",
})
MAX_ROUTINES = 500  # bound on the routines one statement's check visits
_LOOPBACK_KINDS = ("SelectStmt", "CallStmt", "DoStmt")
# A write into a relation the catalog server holds (a view with INSTEAD OF triggers, a
# table that is not distributed) whose triggers or defaults reach distributed tables.
_LOCAL_WRITE_KINDS = ("InsertStmt", "CopyStmt")
# The firing verdict of a write none of whose table's triggers fire (UPDATE of columns an
# `UPDATE OF` trigger does not list): the statement runs as planned
_NOTHING_FIRES = PgError("00000", "no trigger fires")


@dataclass(frozen=True)
class LoopbackCall:
    """The verdict for a statement run on the catalog server with the loopback armed:
    the tables its code reaches (they get shadows), and the refusal to give if the
    statement turns out not to be the catalog server's."""

    tables: tuple[tuple[str, str], ...]  # (schema, name) of tables and views to shadow
    refusal: PgError
    # The code runs SQL text built at run time: every distributed table and view of the
    # session's schemas is shadowed, and the call is checked not to have reached the
    # catalog server's own copies (loopback.run_call).
    dynamic: bool = False
    # COPY FROM into a relation the catalog server holds (its plan is a CopyPlan, run there)
    copy: bool = False
    # Routines with their own SET search_path, or naming distributed tables with their
    # schema, called by the statement itself: each runs as its twin (executor/twins.py),
    # the same code with the shadows on its path and in place of those schemas;
    # (oid, schema or None as the statement names it, name, the (schema, table) it names)
    twins: tuple[tuple[int, str | None, str, frozenset[tuple[str, str]]], ...] = ()
    # The role every statement of the code runs as, when not the caller's (SECURITY
    # DEFINER code): the loopback runs them as that role on the datanodes too
    role: str | None = None
    # A SELECT that reads distributed tables itself, besides the code it calls: it runs
    # whole on the catalog server, its own (unqualified) names reaching the shadows
    whole_select: bool = False
    # A DO block whose upserts into distributed tables the coordinator runs (its body
    # rewritten, sql/plpgsql_upsert.py)
    upsert_do: bool = False
    # Some twin names shadows in place of schemas or on its own path: its call is watched
    # (twins made only to run their upserts on the coordinator rewrite no names)
    watched_twins: bool = False
    # The statement to run when it is not the client's text: a SELECT whose views that
    # call such code are replaced by their definitions (`_inline_code_views`)
    sql: str | None = None
    # (schema, name) of distributed tables and views the statement itself names with
    # their schema: it names their shadow schemas instead (twins.redirect_statement)
    redirect: frozenset[tuple[str, str]] = frozenset()
    # An UPDATE/DELETE of a view over distributed tables, whose INSTEAD OF row triggers
    # (if the view has them for the event) carry it out on the catalog server over a
    # temporary stand-in of the view (executor/view_instead.py)
    instead_view: tuple[str, str] | None = None
    # The twins to make instead in a read-only transaction block (no temporary function can
    # be made there): without those made only for their dynamic text (plpgsql_dynamic.py),
    # which then run as they are, watched; None: the same twins
    read_only_twins: tuple[tuple[int, str | None, str, frozenset[tuple[str, str]]], ...] | None = None


@dataclass(frozen=True)
class TempCode:
    """What the code behind one called name does with the session's temp tables (the
    routines of the name the statement may call, and all they call)."""

    title: str  # the routine, for messages
    reads_temp: bool  # some body reads one of the session's temp tables
    blocker: str | None  # why one evaluation before routing would not be PostgreSQL's, if so
    volatile: bool  # a routine of the name is VOLATILE
    returns_set: bool
    builtins: frozenset[str]  # pg_catalog functions the bodies call (checked for volatility)


def _collector(seen: dict[int, tuple[body.Routine, body.Access]]) -> Callable[[body.Routine, body.Access, str],
                                                                              PgError | None]:
    def visit(routine: body.Routine, routine_access: body.Access, title: str) -> PgError | None:
        seen[routine.oid] = (routine, routine_access)
        return None

    return visit


def _declared_settings(routine: body.Routine) -> list[str]:
    """The names of a routine's own SET clauses: pg_get_functiondef's header lines
    ` SET name TO value` before the body (search_path's too)."""
    names = []
    for line in routine.definition.split("\n"):
        if line.startswith(("AS ", "BEGIN ATOMIC")):
            break
        if line.startswith(" SET ") and len(line.split()) > 2:
            names.append(line.split()[1].strip('"'))
    return names


def _returns_set(routine: body.Routine) -> bool:
    """Whether the function returns a set: pg_get_functiondef's second line (its RETURNS
    clause; the body, where such a line could also appear, comes later)."""
    lines = routine.definition.split("\n", 2)
    return len(lines) > 1 and re.match(r" RETURNS (SETOF|TABLE)\b", lines[1]) is not None



def _temp_code(call: tuple[str | None, str], seen: dict[int, tuple[body.Routine, body.Access]],
               edges: dict[int, set[int]], path: tuple[str, ...], temps: set[str] | frozenset[str],
               resolve: body.Resolver, views: body.ViewResolver, registry: _Registry,
               walk_error: str | None) -> TempCode:
    roots = [r for oid, (r, _) in seen.items() if 0 in edges.get(oid, ())] or [r for r, _ in seen.values()]
    title = roots[0].title if roots else f"function {call[1]}"
    reads = False
    blocker = walk_error
    builtins: set[str] = set()
    for routine, access in seen.values():
        run_path = routine.search_path or path
        for ref in access.all_relations():
            if _names_view(ref, temps):
                reads = True
            elif ref.schema not in body.SYSTEM_SCHEMAS and blocker is None:
                table = resolve(ref, run_path)
                view = None if table is not None else views(ref, run_path)
                if table is not None:
                    blocker = f"it also reads {_touches(table)[len('it reads or writes '):]}"
                elif view is not None:
                    blocker = f"it also reads view {view[0]}.{view[1]} over distributed tables"
        builtins |= {name.lower() for schema, name in access.all_calls()
                     if schema in (None, "pg_catalog") and name.lower() not in registry.names}
        if blocker is None:
            blocker = access.blocker()
        if blocker is None and (access.all_writes() or access.utility):
            written = sorted(access.all_writes()) or [ref.name for _, ref in access.utility]
            blocker = f"{routine.title} writes {written[0]}" if routine not in roots else f"it writes {written[0]}"
        if blocker is None and access.sequence_call() is not None:
            blocker = f"it calls {access.sequence_call()}, whose sequences are cluster-wide"
    return TempCode(title, reads, blocker, any(is_volatile(r) for r in roots),
                    any(_returns_set(r) for r in roots), frozenset(builtins))


@dataclass(frozen=True)
class CodeEffects:
    """What a statement's user code does to the session beyond its rows (`code_effects`)."""

    # the settings it changes: (name, is_local), each None where the code computes it
    settings: frozenset[tuple[str | None, bool | None]] = frozenset()
    # the advisory lock functions it calls (pg_advisory_lock, pg_try_advisory_xact_lock, ...)
    advisory_locks: frozenset[str] = frozenset()
    # the settings its routines declare (`CREATE FUNCTION ... SET name = value`): in force
    # while each runs, put back after it (so not the session's)
    declared: frozenset[str] = frozenset()

    @property
    def session_locks(self) -> bool:
        """Whether it may take a lock held until the session ends (not the transaction)."""
        return any(advisory.takes_session_lock(name) for name in self.advisory_locks)


_NO_EFFECTS = CodeEffects()


@dataclass(frozen=True)
class NodeLocal:
    """The verdict for a SELECT over tables whose user code only reads replicated tables
    (pagila's `SELECT inventory_held_by_customer(i.inventory_id) FROM inventory i`): it runs
    as PostgreSQL would where its plan evaluates that code on the datanodes alone (router,
    pushdown: every node has the replicated tables whole, and the transaction's own writes
    to them), on nodes that hold them all; any other plan would evaluate it on the catalog
    server, against its empty copies: refused."""

    groups: frozenset[str]  # the nodes holding every replicated table the code reads
    refusal: PgError


def _ensure_node_local(dispatcher: Dispatcher, request: ExecRequest, verdict: NodeLocal, registry: _Registry) -> None:
    """Refuse unless the statement's plan runs its user code on the nodes alone: the whole
    statement there (router, pushdown), or pieces there and a final step on the catalog
    server (merge, two-phase) that names no user routine."""
    from gridpg.executor.run import catalog_view, session_view
    from gridpg.planner.plan import DistributedPlan, Strategy

    planner = dispatcher.coord.planner
    assert planner is not None
    plan = planner.plan(request.sql, catalog_view(dispatcher), session_view(dispatcher),
                        request.bound(), request.simple)
    if not isinstance(plan, DistributedPlan) or not {f.group for f in plan.fragments} <= verdict.groups:
        raise verdict.refusal
    if plan.strategy in (Strategy.ROUTER, Strategy.PUSHDOWN):
        return
    if plan.strategy in (Strategy.MERGE, Strategy.TWO_PHASE) and not _calls_user_code(plan.final_sql or "", registry):
        return
    raise verdict.refusal


# Settings whose value the loopback's statements would need from the code that changed
# them: who runs (role), whether row security applies; and custom names (`app.tenant`),
# which row-level security policies, views and functions read with current_setting().
_READ_SETTINGS = frozenset({"role", "session_authorization", "row_security"})
# dotted names that are not the user's variables: gridpg's own markers in a distributed
# function's proconfig (create_distributed_function), PL/pgSQL's options, Citus's (which gridpg reads nowhere)
_OWN_PREFIXES = ("gridpg.", "plpgsql.", "postgres_fdw.", "citus.")


def _may_change_reads(name: str | None) -> bool:
    if name is None:
        return True
    lowered = name.lower()
    return lowered in _READ_SETTINGS or ("." in lowered and not lowered.startswith(_OWN_PREFIXES))


async def _ensure_code_settings_reach_the_loopback(dispatcher: Dispatcher, sql: str) -> None:
    """Code that changes such a setting (set_config(), SET) and reaches distributed tables
    through the loopback is refused (0A000): the change is made on the catalog server's
    connection running the code, while its reads and writes run in the coordinator's
    session, which sees the old value until the statement ends
    (frontend/session_commands.adopt_code_settings). A function switching the tenant and
    then counting rows under a policy over `current_setting('app.tenant')` answered the
    previous tenant's rows, silently (found beside rowsecurity.sql:2388)."""
    from gridpg.executor.run import search_path

    guard = dispatcher.coord.routine_guard
    effects = await guard.code_effects(dispatcher, sql, search_path(dispatcher))
    changed = sorted({"(a computed name)" if name is None else name for name, _local in effects.settings
                      if _may_change_reads(name)} | {name for name in effects.declared if _may_change_reads(name)})
    if changed:
        raise PgError(FEATURE_NOT_SUPPORTED,
                      f'server-side code that changes setting {", ".join(changed)} and reaches distributed '
                      "tables in the same statement is not supported by gridpg: its reads and writes of "
                      "those tables would see the value the setting had before the statement",
                      hint="Change the setting in a statement of its own (SELECT set_config(...), or a "
                      "function that only sets it), then run the code that reads the tables.")


def _cte_conflict_target(tree: dict[str, Any]) -> bool:
    """An INSERT inside the statement's WITH with ON CONFLICT naming a conflict target or
    doing an UPDATE (pgqueuer's `inserted AS (INSERT ... ON CONFLICT (dedupe_key) WHERE ...
    DO NOTHING RETURNING ...)`): run whole on the catalog server, it writes through the
    target's shadow, which postgres_fdw gives no such ON CONFLICT (42P10 "there is no unique
    or exclusion constraint matching the ON CONFLICT specification" for a valid statement)."""
    for node in analyze._walk(tree):
        if isinstance(node, dict) and "CommonTableExpr" in node:
            insert = (node["CommonTableExpr"].get("ctequery") or {}).get("InsertStmt")
            conflict = (insert or {}).get("onConflictClause")
            if conflict and (conflict.get("infer") or conflict.get("action") != "ONCONFLICT_NOTHING"):
                return True
    return False


def _calls_user_code(sql: str, registry: _Registry) -> bool:
    """A function call of `sql` names a user routine, or it uses a user operator."""
    called = {n.get("FuncCall", {}).get("funcname", [{}])[-1].get("String", {}).get("sval", "").lower()
              for n in analyze._walk(sqlparse.parse_tree(sql)) if isinstance(n, dict) and "FuncCall" in n}
    return bool(called & set(registry.names)) or any(op in sql for op in registry.operators)


async def _run_loopback(dispatcher: Dispatcher, request: ExecRequest, call: LoopbackCall,
                        explain: str = "") -> None:
    """Run the statement on the catalog server with the loopback armed; `explain`: the
    `EXPLAIN [options]` text that asked for its plan instead (RoutineGuard._explain_over_code)."""
    from gridpg.executor import loopback
    from gridpg.executor.run import catalog_view, session_view
    from gridpg.planner.plan import CatalogPlan, CopyPlan, InsertPlan, SequenceCallPlan

    tables = list(call.tables)
    view = call.instead_view
    kind = sqlparse.node_type(sqlparse.parse_tree(request.sql)) if view is not None else None
    stand_in = await view_instead.run(dispatcher, request, view, kind) \
        if view is not None and kind in ("UpdateStmt", "DeleteStmt") else None
    if stand_in is not None:  # (its INSTEAD OF triggers carry out an UPDATE or DELETE of the view)
        sql = stand_in[0]
    elif view is not None and kind == "InsertStmt" and not call.twins and await _inserts_instead(dispatcher, view):
        # (planned, an INSERT into a view over several tables would be refused)
        sql, tables, call = _inserting_instead(request.sql, view, call)
    else:
        planner = dispatcher.coord.planner
        assert planner is not None
        plan = planner.plan(request.sql, catalog_view(dispatcher), session_view(dispatcher),
                            request.bound(), request.simple)
        if isinstance(plan, CopyPlan) and call.copy:
            sql = request.sql  # the verdict found no distributed table among its relations
        elif isinstance(plan, CatalogPlan):
            sql = call.sql or plan.sql or request.sql
        elif isinstance(plan, SequenceCallPlan):
            # (`SELECT f(), currval('s')`: armed, the statement's own sequence calls reach the
            # GTM's sequences as the code's do, in PostgreSQL's order)
            sql = call.sql or request.sql
        elif call.whole_select:
            sql = call.sql or request.sql
        elif isinstance(plan, InsertPlan) and plan.through_view is not None and not call.twins \
                and await _inserts_instead(dispatcher, plan.through_view):
            sql, tables, call = _inserting_instead(request.sql, plan.through_view, call)
        else:
            raise call.refusal
    # (a twin naming shadows is watched like dynamic SQL: what its rewriting may have
    # missed would reach the catalog server's copies; that fails the statement. A CALL or
    # DO that may COMMIT is not watched, which would keep it in one catalog transaction:
    # its rewritten code was read again instead, twins.refuse_missed_names)
    before = _preparer(dispatcher, call)
    if stand_in is not None:
        before = _chained(stand_in[1], before)
    typed = await _whole_select_step(dispatcher, sql) if call.whole_select else None
    if typed is not None:  # (last: the cast names the table's own type, no shadow schema)
        before = typed if before is None else _chained(before, typed)
    guarded = call.dynamic or (call.watched_twins and not loopback.may_end_transactions(dispatcher.runner, sql))
    await _ensure_code_settings_reach_the_loopback(dispatcher, request.sql)
    dispatcher.runner.loopback_error = None
    try:
        await loopback.run_call(dispatcher, request, explain + sql, tables, guarded=guarded,
                                role=call.role, before=before)
    except PgError as exc:
        with_loopback_names(exc, getattr(dispatcher.runner, "loopback_error", None))
        raise


# PostgreSQL's error fields naming the object an error is about (schema, table, column,
# data type, constraint), which postgres_fdw does not pass on when it raises a remote error
_NAME_FIELDS = ("s", "t", "c", "d", "n")


def with_loopback_names(error: PgError, inner: PgError | None) -> None:
    """`error`, raised by the catalog server where the code's statement failed through the
    loopback, given back the names the loopback sent (a unique violation's constraint and
    table: `err.constraint` in node-postgres, `diag.constraint_name` in psycopg) when it is
    that same error."""
    if inner is None or inner.sqlstate != error.sqlstate or inner.message != error.message:
        return
    names = {k: v for k, v in (inner.fields or {}).items() if k in _NAME_FIELDS}
    if names and error.fields is not None:
        error.fields = {**error.fields, **{k: v for k, v in names.items() if k not in error.fields}}


def _inserting_instead(sql: str, view: tuple[str, str],
                       call: LoopbackCall) -> tuple[str, list[tuple[str, str]], LoopbackCall]:
    """(the statement, the tables to shadow, the verdict) of an INSERT into a view over
    distributed tables carried out by its INSTEAD OF trigger: the view itself named, not
    its shadow."""
    tables = [t for t in call.tables if t != view]
    if view in call.redirect:  # (the view itself, not its shadow)
        call = replace(call, redirect=call.redirect - {view})
    return _naming_view(sql, view), tables, call


async def _inserts_instead(dispatcher: Dispatcher, view: tuple[str, str]) -> bool:
    """Whether an INSERT into `view` (over distributed tables) is carried out by an INSTEAD
    OF INSERT row trigger of the view, and no rule: then it runs on the catalog server, the
    trigger with NEW as PostgreSQL builds it and its code reaching the tables through the
    loopback (the INSERT reads nothing of the view). A rule's actions are bound to the
    catalog server's own copies: not so."""
    from gridpg.sql.quote import quote_qualified

    conn = await dispatcher.runner.txn.connection(dispatcher.coord.catalog_node, wants_block=False)
    await conn.settle()
    regclass = f"pg_catalog.to_regclass({quote_literal(quote_qualified(*view))})"
    rows = await conn.query(
        f"SELECT (SELECT count(*) FROM pg_catalog.pg_trigger t WHERE t.tgrelid = {regclass} "
        "AND t.tgenabled <> 'D' AND t.tgtype::int & 69 = 69), "
        f"(SELECT count(*) FROM pg_catalog.pg_rewrite r WHERE r.ev_class = {regclass} AND r.rulename <> '_RETURN')")
    return bool(rows) and rows[0][0] not in (None, "0") and rows[0][1] == "0"


def _naming_view(sql: str, view: tuple[str, str]) -> str:
    """The INSERT with its target named with its schema: armed, the session's path has the
    shadows first, and the view's shadow would take the INSERT back through the loopback."""
    from gridpg.planner.text import relation_span
    from gridpg.sql.quote import quote_qualified

    tree = sqlparse.parse_tree(sql)
    relation = tree["InsertStmt"]["relation"]
    ref = analyze.RelRef(relation.get("schemaname"), relation["relname"], relation["location"], None)
    start, end = relation_span(sql, sqlparse.tokens(sql), ref)
    return sql[:start] + quote_qualified(*view) + sql[end:]


async def _whole_select_step(dispatcher: Dispatcher, sql: str) -> Callable[[BackendConnection, str], Any] | None:
    """What casts the statement's whole rows of distributed tables to the tables' row
    types (planner/shadow_rows.py); None when it names no distributed table. (`FROM ONLY
    t` reads t's own rows: the shadow of a table with inheritance children reads them under
    ONLY, sql/shadow_only.py; refused with 0A000 until h-plpgsql26.)"""
    from gridpg.executor.run import catalog_view, search_path
    from gridpg.planner import shadow_rows

    facts, path = catalog_view(dispatcher), search_path(dispatcher)
    tables: dict[str, tuple[str, str]] = {}
    columns: dict[str, set[str]] = {}
    for ref in analyze.relations(sqlparse.parse_tree(sql)):
        table = facts.resolve(ref, path)
        if table is not None:
            tables[ref.alias or ref.name] = (table.schema, table.name)
            columns[ref.alias or ref.name] = {c.name for c in await dispatcher.coord.table_columns(dispatcher.runner, table)}
    if not tables:
        return None

    async def typed(conn: BackendConnection, text: str) -> tuple[str, str]:
        return shadow_rows.typed_whole_rows(text, tables, columns), ""

    return typed


def _preparer(dispatcher: Dispatcher, call: LoopbackCall) -> Callable[[BackendConnection, str], Any] | None:
    """What prepares the armed catalog connection and the statement's text: twins (the
    calls first: the twins' names are no tables), then the statement's own schema-qualified
    names of distributed tables; or a DO block's upserts."""
    steps = [_twin_maker(dispatcher, call)] if call.twins else [_do_rewriter(call)] if call.upsert_do else []
    if call.redirect:
        steps.append(_statement_redirector(call))
    if len(steps) < 2:
        return steps[0] if steps else None

    async def prepare(conn: BackendConnection, sql: str) -> tuple[str, str]:
        drops: list[str] = []
        for step in steps:
            sql, drop = await step(conn, sql)
            drops.extend([drop] if drop else [])
        return sql, "; ".join(drops)

    return prepare


def _chained(first: Callable[[BackendConnection, str], Any],
             then: Callable[[BackendConnection, str], Any] | None) -> Callable[[BackendConnection, str], Any]:
    """Two preparers one after the other (each gives the statement and SQL to run after it)."""
    if then is None:
        return first

    async def prepare(conn: BackendConnection, sql: str) -> tuple[str, str]:
        sql, drop = await first(conn, sql)
        sql, more = await then(conn, sql)
        return sql, "; ".join(d for d in (more, drop) if d)

    return prepare


def _statement_redirector(call: LoopbackCall) -> Callable[[BackendConnection, str], Any]:
    """What makes the statement name the shadow schemas of the tables it names with their schema."""
    from gridpg.executor import twins

    async def redirect(conn: BackendConnection, sql: str) -> tuple[str, str]:
        return await twins.redirect_statement(conn, sql, call.redirect), ""

    return redirect


def _inline_code_views(dispatcher: Dispatcher, registry: _Registry, sql: str,
                       tree: dict[str, Any]) -> str | None:
    """The SELECT with each view it names whose definition calls user routines (or reads a
    view that does) replaced by that definition, level by level (at most 16), or None when
    it names no such view. The loopback cannot run such a view whole: a view over
    distributed tables is reached through its shadow, i.e. the coordinator, which would
    have to call back into the catalog server for the view's code; one over none would
    call the code with no shadow for the tables the view itself names with their schema.
    Inlined, the view's code becomes the statement's own calls (twins where needed) and its
    tables the statement's own names (the shadows). The definitions name everything with
    its schema (coordinator._load_views). Read with the caller's rights, as a
    security_invoker view is."""
    from gridpg.executor.run import catalog_view, session_view
    from gridpg.planner.core import inline_views

    catalog = catalog_view(dispatcher)
    session = session_view(dispatcher)
    if not catalog.views:
        return None
    memo: dict[str, bool] = {}

    def calls_code(definition: str, depth: int = 0) -> bool:
        if definition not in memo:
            memo[definition] = False  # (a cycle calls nothing more)
            try:
                view_tree = sqlparse.parse_tree(definition)
            except PgError:
                return False
            access = body.statement_access(view_tree)
            calls = {name.lower() for _, name in call_shape.statement_calls(view_tree)}
            memo[definition] = bool(calls & set(registry.names)) or bool(registry.operator_functions(access)) \
                or (depth < 16 and any(calls_code(inner, depth + 1) for inner in (
                    catalog.views.get((ref.schema, ref.name)) for ref in access.relations if ref.schema) if inner))
        return memo[definition]

    out = None
    for _ in range(16):
        inlined = inline_views(sql, tree, catalog, session, wanted=calls_code)
        if inlined is None:
            break
        sql = out = inlined
        tree = sqlparse.parse_tree(sql)
    return out


def _may_write(lowered: str) -> bool:
    return any(word in lowered for word in ("insert", "update", "delete", "merge"))


def _view_write_as_table_write(dispatcher: Dispatcher, sql: str, search_path: list[str]
                               ) -> tuple[tuple[str, str], DistTable, str] | None:
    """((schema, view), table, the statement writing the table instead, under the view's
    name as its alias) for a write through an automatically updatable view over one
    distributed table; else None (the planner reports what it refuses)."""
    from pglast import ast
    from pglast.stream import RawStream

    from gridpg.executor.run import catalog_view
    from gridpg.planner.context import SessionView
    from gridpg.planner.core import write_through_view

    try:
        tree = sqlparse.parse_tree(sql)
        kind = sqlparse.node_type(tree)
        if kind not in ("InsertStmt", "UpdateStmt", "DeleteStmt", "MergeStmt"):
            return None
        found = write_through_view(tree, kind, analyze.relations(tree), catalog_view(dispatcher),
                                   SessionView(tuple(search_path)))
        if found is None:
            return None
        stmt = sqlparse.parse_sql(sql)[0].stmt
    except PgError:
        return None
    view, table = found
    relation = stmt.relation
    alias = relation.alias or ast.Alias(aliasname=relation.relname)
    stmt.relation = ast.RangeVar(schemaname=table.schema, relname=table.name, inh=True,
                                 relpersistence="p", alias=alias)
    return view, table, RawStream()(stmt)


def _idle_functions(triggers: tuple[Any, ...], events: list[tuple[str, frozenset[str] | None]]) -> frozenset[int]:
    """The functions of a table's triggers none of which may fire for the statement's events
    (an AFTER INSERT trigger for a DELETE): a DELETE was refused for an INSERT trigger's
    function. Any enabled state but disabled counts as firing (ENABLE REPLICA ones fire on
    the datanodes under session_replication_role = replica), and a function that one
    firing trigger uses is not idle."""
    from gridpg.planner.triggers import EVENT_BITS

    def may_fire(trigger: Any) -> bool:
        for event, targets in events:
            if trigger.enabled != "D" and trigger.tgtype & EVENT_BITS[event] and not (
                    event == "UPDATE" and trigger.columns and targets is not None
                    and not set(trigger.columns) & targets):
                return True
        return False

    firing = {t.function_oid for t in triggers if may_fire(t)}
    return frozenset(t.function_oid for t in triggers if t.function_oid not in firing)


def _upsert_blocker(routine: body.Routine, access: body.Access, path: tuple[str, ...],
                    resolve: body.Resolver) -> str | None:
    """Why a routine's INSERT ... ON CONFLICT into a distributed table cannot run (None: its
    twin hands it to the coordinator, sql/plpgsql_upsert.py)."""
    for ref in access.upserts:
        table = resolve(ref, path)
        if table is None:
            continue
        label = f"INSERT ... ON CONFLICT into distributed table {table.schema}.{table.name}"
        if routine.language.lower() not in ("plpgsql", "sql"):
            return f"it runs {label} in a {routine.language} body (gridpg runs those from PL/pgSQL and SQL)"
        if routine.search_path is not None:
            return f"it runs {label} with its own search_path"
    return None


def _do_rewriter(call: LoopbackCall) -> Callable[[BackendConnection, str], Any]:
    """What rewrites a DO block's upserts into distributed tables (sql/plpgsql_upsert.py)."""
    from gridpg.executor import twins

    async def rewrite(conn: BackendConnection, sql: str) -> tuple[str, str]:
        targets = await twins.upsert_columns(conn, call.tables)
        return plpgsql_upsert.rewrite_do(sql, targets), ""

    return rewrite


def _caller_role(dispatcher: Dispatcher) -> str | None:
    """The role the session's statements run as (SET ROLE, else the session's user)."""
    state = getattr(dispatcher.runner, "state", None)
    return (state.role or state.session_user) if state is not None else None


def _twin_maker(dispatcher: Dispatcher, call: LoopbackCall) -> Callable[[BackendConnection, str], Any]:
    """What makes the call's twins on the armed catalog connection and rewrites the
    statement's calls to them: (the statement to run, the SQL that drops them after)."""
    from gridpg.executor import twins

    async def make(conn: BackendConnection, sql: str) -> tuple[str, str]:
        state = dispatcher.runner.state
        chosen = call.twins
        if call.read_only_twins is not None and await twins.in_read_only_block(conn):
            chosen = call.read_only_twins
            if not chosen:
                return sql, ""
        oids = sorted({oid for oid, _, _, _ in chosen})
        unqualified = {oid for oid, schema, _, _ in chosen if schema is None}
        redirect = {oid: pairs for oid, _, _, pairs in chosen}
        names, drop = await twins.create_twins(conn, state.session_user, state.role, oids, unqualified,
                                               redirect, call.tables)
        return twins.rewrite_calls(sql, {(s, n): names[oid] for oid, s, n, _ in chosen}), drop

    return make
_DO_WORD = re.compile(r"\bdo\b")
_DDL_WORD = re.compile(r"^\s*(create|alter|drop|comment|grant|revoke|security|import|refresh|reindex)\b")
_EVENT_SQL = ("SELECT evtfoid, evtevent, evttags IS NULL, pg_catalog.array_to_string(evttags, ',') "
              "FROM pg_catalog.pg_event_trigger WHERE evtenabled <> 'D' "
              "AND evtname NOT LIKE 'gridpg\\_loopback\\_%'")
_USER_SCHEMAS = ("n.nspname NOT IN ('pg_catalog', 'information_schema', 'gridpg', 'gridpg_shards') "
                 "AND n.nspname NOT LIKE 'pg\\_toast%' "
                 "AND n.nspname NOT LIKE 'gridpg\\_lb%'")  # the loopback's shadows and twins


def _is_ddl(lowered: str) -> bool:
    """Whether a statement (lower case) is DDL that may fire event triggers, read past its
    leading comments (a migration tool's `-- 0002_add_index` before CREATE INDEX: its event
    trigger's function ran unchecked on every server)."""
    return _DDL_WORD.match(lowered[sqlparse.statement_start(lowered):]) is not None


# C and internal functions (extensions' code) run no SQL gridpg could not see: left out,
# so that their names and operators do not send every statement through the check; but not
# those whose C function runs a query given as text or acts on the one server's own state
# (planner/routines.py), under whatever name they were created. An aggregate counts when
# one of its support functions does: citext's max(citext) and min(citext), over C
# functions, had made every statement naming max() or min() look as if it called user
# code (currval() in such a statement was refused)
_CODE_SOURCE = ("({f}.prolang NOT IN (SELECT oid FROM pg_catalog.pg_language "
                "WHERE lanname IN ('c', 'internal')) OR lower({f}.prosrc) IN ("
                + ", ".join(quote_literal(s) for s in sorted(body.SQL_TEXT_FUNCTIONS | set(body.SERVER_STATE_C_FUNCTIONS)
                                                        | set(body.SETTING_C_FUNCTIONS)))
                + "))")
_READABLE = ("(CASE WHEN p.prokind = 'a' THEN EXISTS (SELECT FROM pg_catalog.pg_aggregate a "
             "JOIN pg_catalog.pg_proc f ON f.oid IN (a.aggtransfn, a.aggfinalfn, a.aggcombinefn, "
             "a.aggserialfn, a.aggdeserialfn, a.aggmtransfn, a.aggminvtransfn, a.aggmfinalfn) "
             "WHERE a.aggfnoid = p.oid AND " + _CODE_SOURCE.format(f="f") + ") "
             "ELSE " + _CODE_SOURCE.format(f="p") + " END)")

_NAMES_SQL = f"""
SELECT DISTINCT lower(p.proname) FROM pg_catalog.pg_proc p
JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace WHERE {_USER_SCHEMAS} AND {_READABLE}"""

# Routines `x.f` may call (attribute notation): one argument, of a row type (a table's,
# a composite type's, record)
_ROW_ARGUMENT_SQL = f"""
SELECT DISTINCT lower(p.proname) FROM pg_catalog.pg_proc p
JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
JOIN pg_catalog.pg_type t ON t.oid = p.proargtypes[0]
WHERE {_USER_SCHEMAS} AND {_READABLE} AND p.pronargs = 1
AND (t.typtype = 'c' OR t.oid = 'pg_catalog.record'::pg_catalog.regtype
     OR (t.typtype = 'd' AND (SELECT b.typtype FROM pg_catalog.pg_type b WHERE b.oid = t.typbasetype) = 'c'))"""

# Routines whose source names temporary objects (`CREATE TEMP TABLE`, `DROP TABLE
# pg_temp.x`, dynamic SQL spelling TEMP): calling them may leave temp tables on the
# catalog connection that runs them (frontend/temps.py pins it for the session).
_TEMP_MAKERS_SQL = f"""
SELECT DISTINCT lower(p.proname) FROM pg_catalog.pg_proc p
JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace WHERE {_USER_SCHEMAS} AND {_READABLE}
AND p.prosrc ~* '\\m(temp|temporary|pg_temp)\\M'"""

# Foreign keys whose ON DELETE / ON UPDATE action writes the referencing table: the
# datanodes run the action, so the referencing table's triggers fire there (`_cascade_triggers`).
_FK_ACTIONS_SQL = """
SELECT pn.nspname, p.relname, cn.nspname, c.relname, k.confdeltype, k.confupdtype,
       pg_catalog.array_to_json(ARRAY(SELECT a.attname FROM pg_catalog.pg_attribute a
         WHERE a.attrelid = k.confrelid AND a.attnum = ANY (k.confkey)))::text
FROM pg_catalog.pg_constraint k
JOIN pg_catalog.pg_class p ON p.oid = k.confrelid JOIN pg_catalog.pg_namespace pn ON pn.oid = p.relnamespace
JOIN pg_catalog.pg_class c ON c.oid = k.conrelid JOIN pg_catalog.pg_namespace cn ON cn.oid = c.relnamespace
WHERE k.contype = 'f' AND (k.confdeltype IN ('c', 'n', 'd') OR k.confupdtype IN ('c', 'n', 'd'))"""

_DEPENDENTS_SQL = f"""
SELECT DISTINCT c.relname, p.oid, r.kind, r.col, rn.nspname FROM pg_catalog.pg_depend d
JOIN pg_catalog.pg_proc p ON d.refclassid = 'pg_catalog.pg_proc'::regclass AND p.oid = d.refobjid
JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
JOIN LATERAL (
  SELECT a.adrelid AS rel, 'd' AS kind, t.attname AS col FROM pg_catalog.pg_attrdef a
   JOIN pg_catalog.pg_attribute t ON t.attrelid = a.adrelid AND t.attnum = a.adnum
   WHERE d.classid = 'pg_catalog.pg_attrdef'::regclass AND a.oid = d.objid
  UNION ALL SELECT tgrelid, CASE WHEN tgtype & 1 = 1 THEN 't' ELSE 's' END, NULL FROM pg_catalog.pg_trigger
   WHERE d.classid = 'pg_catalog.pg_trigger'::regclass AND oid = d.objid AND NOT tgisinternal
  UNION ALL SELECT ev_class, CASE WHEN ev_type = '1' THEN 'r' ELSE 'u' END,
                   CASE WHEN ev_type <> '1' THEN ev_type::text END FROM pg_catalog.pg_rewrite
   WHERE d.classid = 'pg_catalog.pg_rewrite'::regclass AND oid = d.objid
  UNION ALL SELECT conrelid, 'w', NULL FROM pg_catalog.pg_constraint
   WHERE d.classid = 'pg_catalog.pg_constraint'::regclass AND oid = d.objid AND conrelid <> 0
  UNION ALL SELECT a.attrelid, 'w', NULL FROM pg_catalog.pg_constraint k
   JOIN pg_catalog.pg_attribute a ON a.atttypid = k.contypid AND a.attnum > 0 AND NOT a.attisdropped
   WHERE d.classid = 'pg_catalog.pg_constraint'::regclass AND k.oid = d.objid AND k.contypid <> 0
) r ON true
JOIN pg_catalog.pg_class c ON c.oid = r.rel
JOIN pg_catalog.pg_namespace rn ON rn.oid = c.relnamespace
WHERE {_USER_SCHEMAS} AND {_READABLE}
  AND NOT (r.kind = 'r' AND c.relpersistence = 't')"""  # (temp views: executor/temp_views.py inlines them)

_OPERATORS_SQL = f"""
SELECT o.oprname, o.oprcode::oid FROM pg_catalog.pg_operator o
JOIN pg_catalog.pg_proc p ON p.oid = o.oprcode
JOIN pg_catalog.pg_namespace n ON n.oid = o.oprnamespace WHERE {_USER_SCHEMAS} AND {_READABLE}"""

_ROUTINES_SQL = """
SELECT p.oid, n.nspname, p.proname, pg_catalog.pg_get_function_identity_arguments(p.oid),
       l.lanname, p.prokind,
       CASE WHEN p.prokind <> 'a' AND l.lanname NOT IN ('c', 'internal')
            THEN pg_catalog.pg_get_functiondef(p.oid) END,
       (SELECT substr(s, 13) FROM unnest(p.proconfig) s WHERE s LIKE 'search_path=%'),
       (SELECT concat_ws(',', a.aggtransfn::oid, a.aggfinalfn::oid, a.aggcombinefn::oid,
                         a.aggmtransfn::oid, a.aggminvtransfn::oid, a.aggmfinalfn::oid)
          FROM pg_catalog.pg_aggregate a WHERE a.aggfnoid = p.oid),
       p.prosecdef, pg_catalog.pg_get_userbyid(p.proowner),
       CASE WHEN l.lanname IN ('c', 'internal') THEN p.prosrc END
FROM pg_catalog.pg_proc p
JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
JOIN pg_catalog.pg_language l ON l.oid = p.prolang
WHERE """


@dataclass
class _Registry:
    """User routine names and the relations that depend on user routines, at one epoch."""

    epoch: int
    names: frozenset[str] = frozenset()
    row_argument_names: frozenset[str] = frozenset()  # routines attribute notation may call
    dependents: dict[str, set[int]] = field(default_factory=dict)  # relname -> routine oids
    on_write: dict[str, set[int]] = field(default_factory=dict)  # triggers, defaults, checks
    operators: dict[str, set[int]] = field(default_factory=dict)  # user operator -> function
    delegated: dict[str, dict[int, Delegation]] = field(default_factory=dict)  # distributed functions
    delegable: dict[int, str | None] = field(default_factory=dict)  # why not, by oid
    by_call: dict[tuple[str | None, str], list[int]] = field(default_factory=dict)  # name -> oids
    # functions of enabled event triggers -> the events they fire on
    event_functions: dict[int, frozenset[str]] = field(default_factory=dict)
    # the command tags (WHEN TAG IN) its event triggers fire for; None: every tag
    event_tags: dict[int, frozenset[str] | None] = field(default_factory=dict)
    defaults: dict[str, dict[str, set[int]]] = field(default_factory=dict)  # rel -> col -> oids
    access: dict[int, tuple[body.Routine, body.Access]] = field(default_factory=dict)
    verdicts: dict[tuple[str, tuple[str, ...], str | None], Any] = field(default_factory=dict)
    # side_effect_names's answer, with how many routines `access` held when it was made
    side_effects: tuple[int, frozenset[str]] = (-1, frozenset())
    # what `code_effects` found per (statement, search path)
    effects: dict[tuple[str, tuple[str, ...]], CodeEffects] = field(default_factory=dict)
    table_triggers: dict[tuple[str, str], firing_mod.TableTriggers | None] = field(default_factory=dict)
    trigger_pins: dict[tuple[Any, ...], str | None] = field(default_factory=dict)  # proofs
    # By (schema, relname) as in pg_class: what fires for one distributed table (by name
    # alone, another schema's table of that name lent its triggers: spurious refusals, and
    # a pinned-trigger proof made against the wrong table); the maps by name above serve
    # relations resolved conservatively (every schema's table of the name)
    on_write_at: dict[tuple[str, str], set[int]] = field(default_factory=dict)
    row_triggers_at: set[tuple[str, str]] = field(default_factory=set)  # user row triggers
    statement_triggers_at: set[tuple[str, str]] = field(default_factory=set)  # statement-level
    constrained_at: set[tuple[str, str]] = field(default_factory=set)  # constraints calling user code
    row_trigger_functions_at: dict[tuple[str, str], set[int]] = field(default_factory=dict)
    temp_makers: frozenset[str] = frozenset()  # names of routines whose source names temp objects
    # (schema, relname) -> (referencing table, its ON DELETE action, its ON UPDATE action),
    # for referencing tables with user triggers
    fk_actions: dict[tuple[str, str], list[tuple[tuple[str, str], str, str]]] = field(default_factory=dict)
    # (parent, child) -> the parent's columns its foreign keys reference: an UPDATE that
    # assigns none of them runs no ON UPDATE action
    fk_keys: dict[tuple[tuple[str, str], tuple[str, str]], frozenset[str]] = field(default_factory=dict)
    fk_parents: frozenset[str] = frozenset()  # their referenced tables' names
    # relname -> pg_rewrite.ev_type -> routines the relation's ON INSERT/UPDATE/DELETE
    # rules call: they run only when a statement writes it so (Pagila's payment_pk_update,
    # a rule ON UPDATE of the partitioned payment, had refused every read of payment)
    write_rules: dict[str, dict[str, set[int]]] = field(default_factory=dict)

    def rule_code(self, tree: dict[str, Any]) -> set[int]:
        """The routines the rules a statement's writes fire call."""
        return {oid for name, event in body.rule_events(tree)
                for oid in self.write_rules.get(name, {}).get(event, ())}

    def mentions(self, lowered: str) -> bool:
        if self.event_functions and _is_ddl(lowered):
            return True
        if _DO_WORD.search(lowered) or any(op in lowered for op in self.operators):
            return True
        found = [name for names in (self.names, body.SQL_TEXT_FUNCTIONS, self.dependents, self.write_rules,
                                    self.on_write,
                                    self.defaults, self.fk_parents) for name in names if _written_in(name, lowered)]
        return bool(found) and _names_words(lowered, found)  # one scan for all of them

    def names_routines(self, lowered: str) -> bool:
        """The text names a user routine, or an operator of one (conservative: a name must
        stand as a word of the text, in a string constant too; operators as substrings).
        A routine named `f` or a table named `t` no longer marks every statement."""
        if any(op in lowered for op in self.operators):
            return True
        found = [name for name in self.names if _written_in(name, lowered)]
        return bool(found) and _names_words(lowered, found)

    def operator_functions(self, access: body.Access) -> set[int]:
        return {oid for op in access.all_operators() for oid in self.operators.get(op, ())}

    def written_code(self, ref: analyze.RelRef, path: tuple[str, ...]) -> set[int]:
        """The triggers and checks a write into `ref` runs: those of the relation its
        schema, else the search path, names (`s2.v` does not run the trigger of `s1.v`).
        Unqualified, the first schema of `path` whose relation of the name has code
        counts, and a session's temp relation of the name besides (conservative: a
        relation without code earlier on the path is not known here)."""
        if ref.schema is not None:
            return self.on_write_at.get((ref.schema, ref.name), set())
        out = {oid for (schema, name), oids in self.on_write_at.items()
               if name == ref.name and schema.startswith("pg_temp") for oid in oids}
        found = next((self.on_write_at[(schema, ref.name)] for schema in path
                      if (schema, ref.name) in self.on_write_at), set())
        return out | found


_WORD_PARTS = re.compile(r"[^\W\d][\w$]*")


def _names_words(lowered: str, names: list[str]) -> bool:
    """Whether one of `names` (each found in `lowered` as a substring) is a word of the
    statement: an identifier or keyword token, or a word inside a string constant (dynamic
    SQL, 'f'::regproc). A text the scanner cannot read counts as naming them."""
    try:
        toks = sqlparse.tokens(lowered)
    except PgError:
        return True
    words: set[str] = set()
    for tok in toks:
        if tok.name == "UIDENT":
            return True  # U&"\0066n": a name written with escapes (the parse tree reads it)
        text = lowered[tok.start:tok.end + 1]
        words.update(_WORD_PARTS.findall(text))
        words.add(text.strip('"'))
        if len(text) > 1 and text[0] == text[-1] == '"':  # a quoted name: its quotes undoubled
            words.add(text[1:-1].replace('""', '"'))
    return any(name in words for name in names)


def _written_in(name: str, lowered: str) -> bool:
    """Whether a name may be written in the text: as it is, or quoted with each of its
    double quotes doubled (a function whose name holds a double quote: the name was not
    found in the text, and its code ran unchecked, on the datanodes or over the catalog
    server's empty copies)."""
    return name in lowered or ('"' in name and name.replace('"', '""') in lowered) or 'u&"' in lowered


def _analyzes(explain: dict[str, Any]) -> bool:
    """EXPLAIN's ANALYZE option is on (`ANALYZE`, `(ANALYZE)`, `(ANALYZE true)`)."""
    for option in explain.get("options") or []:
        item = option.get("DefElem", {})
        if item.get("defname") != "analyze":
            continue
        arg = item.get("arg") or {}
        if "Boolean" in arg:
            return bool(arg["Boolean"].get("boolval"))
        if "Integer" in arg:
            return bool(arg["Integer"].get("ival"))
        value = (arg.get("String") or {}).get("sval", "true")
        return str(value).lower() in ("true", "on", "yes", "1")
    return False


class RoutineGuard:
    """Per coordinator: checks statements for server-side code over distributed tables."""

    def __init__(self, coordinator: Coordinator) -> None:
        self.coord = coordinator
        self._registry: _Registry | None = None
        self._private: dict[int, tuple[CatalogSnapshot, _Registry]] = {}  # by session

    async def before(self, dispatcher: Dispatcher, request: ExecRequest, search_path: list[str]) -> bool:
        """Run the statement here when it is create_distributed_function() or a call of a
        distributed function (True); else check it (raises 0A000) and let it go on."""
        lowered = request.sql.lower()
        if "skip_triggers" in lowered and not getattr(dispatcher.runner, "is_loopback", False):
            from gridpg.planner.triggers import SKIP_SETTING

            if SKIP_SETTING in lowered:  # only the coordinator sets it (executor/triggers.py)
                raise PgError("42501", f'permission denied to set parameter "{SKIP_SETTING}"')
        if delegation.NAME in lowered:
            call = _call(request.sql)
            if call is not None and call.name.lower() == delegation.NAME:
                await delegation.create(self, dispatcher, request, call, tuple(search_path))
                return True
        snapshot = dispatcher.runner.snapshot()
        # (without distributed tables, only code calling sequence functions is checked)
        registry = await self._registry_for(dispatcher, snapshot,
                                            _sees_own_catalog(dispatcher))
        if registry.delegated and any(name in lowered for name in registry.delegated):
            tree = _tree(request.sql)
            if tree and await delegation.try_delegate(self, dispatcher, request, tree, registry,
                                                      tuple(search_path)):
                return True
        if "cursor" in lowered and registry.mentions(lowered) and await self._declare_over_code(
                dispatcher, request, search_path):
            return True
        if "explain" in lowered and registry.mentions(lowered) and await self._explain_over_code(
                dispatcher, request, search_path):
            return True
        if "explain" in lowered and await self._explains_fired_write(dispatcher, request, search_path):
            return False
        try:
            group = await self.check(dispatcher, request.sql, search_path)
        except _SublinkRefusal:
            # a condition's sub-select calling code with side effects: kept on the catalog
            # server, computed when a row needs it, as PostgreSQL calls it (the loopback
            # runs the same text: `_run_call`); else (or when still refused) run first
            lazy = lazy_initplans.rewrite(request.sql, side_effect_names(registry))
            group = None
            if lazy != request.sql:
                with contextlib.suppress(_SublinkRefusal):
                    group = await self.check(dispatcher, lazy, search_path)
            if group is None:
                if await _sublinks_first(dispatcher, request, registry):
                    return True
                raise
        if group is None:
            return False
        if isinstance(group, LoopbackCall):
            await _run_loopback(dispatcher, request, group)
            return True
        if isinstance(group, firing_mod.TriggerFiring):
            await firing_mod.run(dispatcher, request, group)
            return True
        if isinstance(group, NodeLocal):
            try:
                _ensure_node_local(dispatcher, request, group, registry)
            except PgError as exc:
                # its plan would run the code on the catalog server (a final step over the
                # nodes' partials), where replicated tables are empty: the whole statement
                # runs there with the loopback instead, the tables read through their shadows
                if exc is not group.refusal:
                    raise
                call = await self._loopback_verdict(dispatcher, registry, snapshot, request.sql,
                                                    tuple(search_path), group.refusal)
                if isinstance(call, PgError):
                    raise call from None
                await _run_loopback(dispatcher, request, call)
                return True
            return False
        await dispatcher.run_on_node(group, request, writes=False)
        return True

    async def _declare_over_code(self, dispatcher: Dispatcher, request: ExecRequest,
                                 search_path: list[str]) -> bool:
        """DECLARE CURSOR over a query whose code needs the loopback (or a datanode): the
        cursor is declared over the query's rows, computed first by the path the query
        alone would take (executor/prepared.py), as for a query over distributed tables;
        declared on the catalog server, FETCH would run the code there later, unarmed.
        False: not such a DECLARE (the query's own check refuses what cannot run)."""
        from gridpg.executor import prepared

        tree = _tree(request.sql)
        if tree is None or sqlparse.node_type(tree) != "DeclareCursorStmt":
            return False
        query = request.sql[prepared.cursor_query_start(request.sql):]
        if await self.check(dispatcher, query, search_path) is None:
            return False
        await prepared.declare_cursor(dispatcher, request, tree["DeclareCursorStmt"])
        return True

    async def _explain_over_code(self, dispatcher: Dispatcher, request: ExecRequest,
                                 search_path: list[str]) -> bool:
        """EXPLAIN [ANALYZE] of a statement that runs on the catalog server with the
        loopback (`EXPLAIN SELECT order_total(7)`, `EXPLAIN SELECT * FROM t WHERE v <
        total()`): the catalog server's plan of the statement as it runs there, its
        distributed tables read through their shadows (foreign scans), twins in place;
        ANALYZE runs it armed, as the statement itself runs. It was refused (0A000) though
        the statement ran. False: not such an EXPLAIN (what cannot run stays refused)."""
        from gridpg.executor.temp_calls import explained_start

        tree = _tree(request.sql)
        if tree is None or sqlparse.node_type(tree) != "ExplainStmt":
            return False
        start = explained_start(request.sql)
        if start is None:
            return False
        inner = replace(request, sql=request.sql[start:])
        try:
            group = await self.check(dispatcher, inner.sql, search_path)
        except _SublinkRefusal:
            return False
        if not isinstance(group, LoopbackCall):
            return False
        await _run_loopback(dispatcher, inner, group, explain=request.sql[:start])
        return True

    async def _explains_fired_write(self, dispatcher: Dispatcher, request: ExecRequest,
                                    search_path: list[str]) -> bool:
        """EXPLAIN without ANALYZE of a write whose triggers the coordinator fires (a table
        with statement-level triggers, inherit.sql:115): nothing runs and no trigger fires,
        so its plan is shown as planned. It was refused (0A000, "would fire once on each
        datanode") though the write itself runs."""
        from gridpg.executor.temp_calls import explained_start

        tree = _tree(request.sql)
        if tree is None or sqlparse.node_type(tree) != "ExplainStmt" or _analyzes(tree["ExplainStmt"]):
            return False
        start = explained_start(request.sql)
        if start is None:
            return False
        try:
            group = await self.check(dispatcher, request.sql[start:], search_path)
        except (_SublinkRefusal, PgError):
            return False
        return isinstance(group, firing_mod.TriggerFiring)

    async def may_call_user_code(self, dispatcher: Dispatcher, sql: str) -> bool:
        """Whether the statement itself may call a routine of the user's: one named in its text
        or behind an operator it uses (a cheap, conservative test; the triggers and defaults
        of the tables it writes run on the datanodes, row by row)."""
        snapshot = dispatcher.runner.snapshot()
        registry = await self._registry_for(dispatcher, snapshot, _sees_own_catalog(dispatcher))
        return registry.names_routines(sql.lower())

    async def side_effect_names(self, dispatcher: Dispatcher, sql: str) -> frozenset[str]:
        """`side_effect_names` of the registry the statement is checked with (its routines
        read by that check), when the statement names any user routine."""
        snapshot = dispatcher.runner.snapshot()
        registry = await self._registry_for(dispatcher, snapshot, _sees_own_catalog(dispatcher))
        return side_effect_names(registry) if registry.names_routines(sql.lower()) else frozenset()

    async def may_draw_from_sequences(self, dispatcher: Dispatcher, sql: str) -> bool:
        """Whether code the statement calls may call a sequence function (or runs dynamic SQL,
        which may): `may_call_user_code`, narrowed by reading the code. With citext
        installed, its SQL wrappers `replace()`, `split_part()`, `strpos()` made
        `SELECT replace(name, ...), currval('s') FROM t` refuse its currval (0A000)."""
        from gridpg.executor.run import search_path

        snapshot = dispatcher.runner.snapshot()
        registry = await self._registry_for(dispatcher, snapshot, _sees_own_catalog(dispatcher))
        if not registry.names_routines(sql.lower()):  # (may_call_user_code's test)
            return False
        return await self._calls_sequences(dispatcher, registry, sql, tuple(search_path(dispatcher)))

    async def check(self, dispatcher: Dispatcher, sql: str,
                    search_path: list[str]) -> str | LoopbackCall | NodeLocal | firing_mod.TriggerFiring | None:
        """Raise 0A000 if the statement's user code reaches a distributed table it cannot
        run with; the datanode group to run it on when its code only reads replicated
        tables; a LoopbackCall when it runs on the catalog server with the loopback; else
        None."""
        runner = dispatcher.runner
        snapshot = runner.snapshot()
        private = _sees_own_catalog(dispatcher)
        registry = await self._registry_for(dispatcher, snapshot, private)
        await self._ensure_view_table_code_on_nodes(dispatcher, registry, sql, search_path)
        if not registry.mentions(sql.lower()):
            return None
        # (the caller's role: SECURITY DEFINER code of that owner runs as the caller)
        key = (sql, tuple(search_path), _caller_role(dispatcher))
        # the session's temp views over distributed tables are its own: no shared verdict
        views = runner.temp_views_over_distributed & runner.temps.names
        own_views = bool(views)
        if own_views and (registry.names_routines(sql.lower()) or _is_code_block(sql)) \
                and await self._code_may_read(dispatcher, registry, sql, tuple(search_path), views):
            # code runs on the catalog server, where such a view reads the empty copies of
            # its tables
            raise _refusal("user code", "this session has temporary views over distributed tables "
                           f"({', '.join(sorted(views))}), which code running on the catalog server "
                           "would read empty; drop them first")
        if key in registry.verdicts and not own_views:
            verdict = registry.verdicts[key]
        else:
            verdict = None
            # (with no distributed table yet, code is still read: it may change the cluster's
            # roles or databases on one catalog server, planner/routines._global_kind)
            if snapshot.tables or registry.names_routines(sql.lower()) or _is_code_block(sql) \
                    or await self._calls_sequences(dispatcher, registry, sql, tuple(search_path)):
                verdict = await self._verdict(dispatcher, registry, snapshot, sql, tuple(search_path))
            if len(registry.verdicts) > 10000:
                registry.verdicts.clear()
            if not own_views:
                registry.verdicts[key] = verdict  # a private registry serves one catalog view
        if isinstance(verdict, PgError):
            raise verdict
        if own_views and isinstance(verdict, (str, LoopbackCall, firing_mod.TriggerFiring)) \
                and _names_views(sql, views):
            # the statement itself runs where its code can (the catalog server, a datanode),
            # and reads the view there: over the empty copies of its tables (0 rows, silently)
            raise _refusal("user code", "this statement reads temporary views over distributed tables "
                           f"({', '.join(sorted(views))}) and calls code that gridpg runs on another "
                           "server, where those views read empty; drop them or read their tables")
        return verdict

    async def _ensure_view_table_code_on_nodes(self, dispatcher: Dispatcher, registry: _Registry, sql: str,
                                               search_path: list[str]) -> None:
        """A write through an automatically updatable view over a distributed table runs on
        the table's datanodes (planner/core.write_through_view), where PostgreSQL fires the
        table's triggers: checked as the same write of the table itself is. Code that may
        run there passes; code the coordinator would have to run itself (triggers it fires on
        the catalog server, the loopback) cannot take that path through a view: 0A000 (an
        AFTER trigger keeping a counter in another distributed table updated the datanode's
        own rows, none or the wrong ones)."""
        if not registry.on_write_at or not _may_write(sql.lower()):
            return
        written = _view_write_as_table_write(dispatcher, sql, search_path)
        if written is None or written[1].key not in registry.on_write_at or written[0] in registry.on_write_at:
            return  # (a view's own INSTEAD OF triggers carry the write, or refuse it: multi._ensure_plain_view)
        (_, view), table, direct = written
        verdict = await self.check(dispatcher, direct, search_path)
        if verdict is None or isinstance(verdict, NodeLocal):
            return
        raise PgError(FEATURE_NOT_SUPPORTED,
                      f'gridpg cannot write through view "{view}": the triggers of table '
                      f"{table.schema}.{table.name} would have to run on the coordinator, which a write "
                      "through a view does not take", hint="write the view's table directly")

    async def code_reads_temps(self, dispatcher: Dispatcher, sql: str, path: tuple[str, ...],
                               temps: set[str] | frozenset[str]) -> bool:
        """Whether a statement calls code that reads one of the session's temp tables and
        no distributed or replicated one (`SELECT id, note_of(id) FROM t`, `note_of` reading
        a temp table): run where the statement is planned (the datanodes), the code finds no
        such table (42P01); the caller runs it on the session's catalog connection instead."""
        if not temps:
            return False
        registry = await self._registry_for(dispatcher, dispatcher.runner.snapshot(),
                                            _sees_own_catalog(dispatcher))
        if not registry.names_routines(sql.lower()):
            return False
        if await self.check(dispatcher, sql, list(path)) is not None:
            return False  # its code reaches distributed tables: the loopback's, or refused
        return await self._code_may_read(dispatcher, registry, sql, path, temps)

    async def code_effects(self, dispatcher: Dispatcher, sql: str, path: tuple[str, ...]) -> CodeEffects:
        """What the user code a statement runs (a DO block, the routines it calls, followed
        through their calls) does to the session beyond its rows: the settings it changes
        and the advisory lock functions it calls. Such code runs on one server connection,
        which the session must then follow (frontend/session_commands.adopt_code_settings,
        executor/advisory.py)."""
        lowered = sql.lower()
        registry = await self._registry_for(dispatcher, dispatcher.runner.snapshot(),
                                            _sees_own_catalog(dispatcher))
        do_block = _DO_WORD.search(lowered) is not None
        if not do_block and not registry.names_routines(lowered):
            return _NO_EFFECTS
        key = (sql, path)
        cached = registry.effects.get(key)
        if cached is not None:
            return cached
        tree = _tree(sql)
        if tree is None:
            return _NO_EFFECTS
        access = body.statement_access(tree)
        accesses = list(access.nested)  # (DO blocks)
        calls = body.user_calls(access, registry.names, registry.row_argument_names)
        seen: dict[int, tuple[body.Routine, body.Access]] = {}
        if calls:
            snapshot = dispatcher.runner.snapshot()
            await self._walk(dispatcher, registry, set(), calls, path, _resolver(dispatcher, snapshot),
                             visit=_collector(seen))
            accesses += [routine_access for _, routine_access in seen.values()]
        settings: set[tuple[str | None, bool | None]] = set()
        locks: set[str] = set()
        declared = {name for routine, _ in seen.values() for name in _declared_settings(routine)}
        for found in accesses:
            settings |= found.all_settings()
            locks |= {name.lower() for schema, name in found.all_calls()
                      if schema in (None, "pg_catalog") and advisory.mentions(name)}
        effects = CodeEffects(frozenset(settings), frozenset(locks), frozenset(declared))
        if len(registry.effects) > 10000:
            registry.effects.clear()
        registry.effects[key] = effects
        return effects

    async def temp_code_calls(self, dispatcher: Dispatcher, sql: str, path: tuple[str, ...],
                              temps: set[str] | frozenset[str]) -> dict[tuple[str | None, str], TempCode]:
        """For each user routine a statement names, what its code (followed through its
        nested calls) does with the session's temp tables `temps` (executor/temp_calls.py
        evaluates the calls of those that read them once, on the session's connection).
        Empty when it names none."""
        tree = _tree(sql)
        if tree is None or not temps:
            return {}
        registry = await self._registry_for(dispatcher, dispatcher.runner.snapshot(),
                                            _sees_own_catalog(dispatcher))
        if not registry.names_routines(sql.lower()):
            return {}
        calls = body.user_calls(body.statement_access(tree), registry.names, registry.row_argument_names)
        snapshot = dispatcher.runner.snapshot()
        resolve, views = _resolver(dispatcher, snapshot), _view_resolver(dispatcher, snapshot)
        out: dict[tuple[str | None, str], TempCode] = {}
        for call in sorted(calls, key=str)[:64]:
            seen: dict[int, tuple[body.Routine, body.Access]] = {}
            edges: dict[int, set[int]] = {}
            error = await self._walk(dispatcher, registry, set(), {call}, path, resolve,
                                     visit=_collector(seen), edges=edges)
            out[call] = _temp_code(call, seen, edges, path, temps, resolve, views, registry,
                                   None if error is None else error.message)
        return out

    def forget_registry(self) -> None:
        """Read the routines and what depends on them again at the next statement: a
        session's DDL on its temp objects (a trigger on a temp table, a DEFAULT or CHECK
        calling code) reaches no other server and moves no catalog epoch, yet the guard
        must see it (a temp table's trigger writing a distributed table ran unarmed,
        against the catalog server's empty copy: rows lost, silently)."""
        self._registry = None
        self._private.clear()

    async def may_create_temp(self, dispatcher: Dispatcher, sql: str) -> bool:
        """Whether the statement runs code that may create temporary objects: a DO block
        naming them, or a call of a routine whose source does (by name, as a word of the
        text). PostgreSQL keeps them for the session; the catalog connection that runs the
        code must then stay the session's (`frontend/temps.py`)."""
        lowered = sql.lower()
        if _DO_WORD.search(lowered) and re.search(r"\b(temp|temporary|pg_temp)\b", lowered):
            tree = _tree(sql)
            if tree is not None and sqlparse.node_type(tree) == "DoStmt":
                return True
        registry = await self._registry_for(dispatcher, dispatcher.runner.snapshot(),
                                            _sees_own_catalog(dispatcher))
        found = [name for name in registry.temp_makers if _written_in(name, lowered)]
        return bool(found) and _names_words(lowered, found)

    async def _code_may_read(self, dispatcher: Dispatcher, registry: _Registry, sql: str,
                             path: tuple[str, ...], views: set[str] | frozenset[str]) -> bool:
        """Whether the code a statement runs may read one of the session's temp `views`: a
        body naming one (unqualified or in pg_temp), running dynamic SQL, or unreadable; an
        immutable `plus1(v)` or `upper()` calls nothing of the kind (such a session refused
        every call of user code before)."""
        tree = _tree(sql)
        if tree is None:
            return True

        def reads_view(access: body.Access) -> bool:
            return access.has_dynamic() or access.unreadable_reason() is not None or any(
                _names_view(r, views) for r in access.all_relations())

        return await self._any_code(dispatcher, registry, tree, path, reads_view)

    async def _calls_sequences(self, dispatcher: Dispatcher, registry: _Registry, sql: str,
                               path: tuple[str, ...]) -> bool:
        """Whether the code a statement runs may call sequence functions (or runs dynamic
        SQL, which may): checked also in a cluster without distributed tables, since every
        sequence is the GTM's (the catalog server's copy gave each coordinator its own
        values)."""
        tree = _tree(sql)
        if tree is None or sqlparse.node_type(tree) in DEFINITIONS:
            return False
        return await self._any_code(dispatcher, registry, tree, path,
                                    lambda access: access.sequence_call() is not None or access.has_dynamic())

    async def _any_code(self, dispatcher: Dispatcher, registry: _Registry, tree: dict[str, object],
                        path: tuple[str, ...], test: Callable[[body.Access], bool]) -> bool:
        """Whether `test` holds for any code the statement runs: its DO blocks, the routines
        it reaches, their triggers and operators (True also when they cannot all be read)."""
        access = body.statement_access(tree)  # type: ignore[arg-type]
        if any(test(inner) for inner in access.nested):
            return True
        found: list[int] = []

        def visit(routine: body.Routine, routine_access: body.Access, title: str) -> PgError | None:
            if test(routine_access):
                found.append(routine.oid)
            return None

        roots = registry.operator_functions(access) | _written_routines(tree, access, registry)  # type: ignore[arg-type]
        error = await self._walk(dispatcher, registry, roots, body.user_calls(access, registry.names, registry.row_argument_names), path,
                                 _resolver(dispatcher, dispatcher.runner.snapshot()), visit=visit)
        return bool(found) or error is not None

    # -- registry ----------------------------------------------------------------------

    async def _registry_for(self, dispatcher: Dispatcher, snapshot: CatalogSnapshot,
                            private: bool) -> _Registry:
        if not private and self._registry is not None and self._registry.epoch == snapshot.epoch:
            return self._registry
        # Inside a transaction that ran DDL: one registry per private catalog view (a new
        # view comes with each DDL statement).
        own = self._private.get(id(_registry_owner(dispatcher.runner)))
        if private and own is not None and own[0] is snapshot:
            return own[1]
        async with _CatalogConnection(dispatcher, private) as conn:
            names = frozenset(r[0] for r in await conn.query(_NAMES_SQL) if r[0])
            row_argument_names = frozenset(r[0] for r in await conn.query(_ROW_ARGUMENT_SQL) if r[0])
            temp_makers = frozenset(r[0] for r in await conn.query(_TEMP_MAKERS_SQL) if r[0])
            dependents: dict[str, set[int]] = {}
            write_rules: dict[str, dict[str, set[int]]] = {}
            on_write: dict[str, set[int]] = {}
            defaults: dict[str, dict[str, set[int]]] = {}
            on_write_at: dict[tuple[str, str], set[int]] = {}
            row_triggers_at: set[tuple[str, str]] = set()
            statement_triggers_at: set[tuple[str, str]] = set()
            constrained_at: set[tuple[str, str]] = set()
            row_functions_at: dict[tuple[str, str], set[int]] = {}
            for relname, oid, kind, col, schema in await conn.query(_DEPENDENTS_SQL):
                key = (schema or "", relname or "")
                if relname and oid and kind == "d":
                    defaults.setdefault(relname.lower(), {}).setdefault(col or "", set()).add(int(oid))
                elif relname and oid and kind == "u":
                    write_rules.setdefault(relname.lower(), {}).setdefault(col or "", set()).add(int(oid))
                elif relname and oid:
                    target = dependents if kind == "r" else on_write
                    target.setdefault(relname.lower(), set()).add(int(oid))
                    if kind != "r":
                        on_write_at.setdefault(key, set()).add(int(oid))
                    if kind in ("t", "s"):
                        (row_triggers_at if kind == "t" else statement_triggers_at).add(key)
                    if kind == "w":
                        constrained_at.add(key)
                    if kind == "t":
                        row_functions_at.setdefault(key, set()).add(int(oid))
            operators: dict[str, set[int]] = {}
            for name, oid in await conn.query(_OPERATORS_SQL):
                if name and oid and oid != "0":
                    operators.setdefault(name, set()).add(int(oid))
            delegated = delegation.parse_delegated(await conn.query(delegation.DELEGATED_SQL))
            events: dict[int, frozenset[str]] = {}
            event_tags: dict[int, frozenset[str] | None] = {}
            for oid, event, untagged, tags in await conn.query(_EVENT_SQL):
                if oid:
                    events[int(oid)] = events.get(int(oid), frozenset()) | {event or ""}
                    # (a function some trigger fires for every tag: None)
                    known = event_tags.get(int(oid), frozenset())
                    event_tags[int(oid)] = None if untagged == "t" or known is None \
                        else known | frozenset((tags or "").split(","))
            with_triggers = row_triggers_at | statement_triggers_at
            fk_actions: dict[tuple[str, str], list[tuple[tuple[str, str], str, str]]] = {}
            fk_keys: dict[tuple[tuple[str, str], tuple[str, str]], frozenset[str]] = {}
            for p_schema, p_name, c_schema, c_name, on_delete, on_update, keys in await conn.query(_FK_ACTIONS_SQL):
                child = (c_schema or "", c_name or "")
                parent = (p_schema or "", p_name or "")
                fk_actions.setdefault(parent, []).append((child, on_delete or "", on_update or ""))
                fk_keys[(parent, child)] = fk_keys.get((parent, child), frozenset()) | frozenset(
                    json.loads(keys or "[]"))
            # (a parent matters when some table its actions reach has user triggers)
            fk_actions = {parent: children for parent, children in fk_actions.items()
                          if _reaches(parent, fk_actions, with_triggers)}
        registry = _Registry(snapshot.epoch, names, row_argument_names, dependents, on_write, operators,
                             delegated=delegated, event_functions=events, event_tags=event_tags,
                             defaults=defaults,
                             on_write_at=on_write_at, row_triggers_at=row_triggers_at,
                             statement_triggers_at=statement_triggers_at, constrained_at=constrained_at,
                             row_trigger_functions_at=row_functions_at, temp_makers=temp_makers,
                             write_rules=write_rules,
                             fk_actions=fk_actions, fk_parents=frozenset(p[1].lower() for p in fk_actions),
                             fk_keys=fk_keys)
        if not private:
            self._registry = registry
            self._private.pop(id(_registry_owner(dispatcher.runner)), None)
        else:
            if len(self._private) > 1000:
                self._private.clear()
            self._private[id(_registry_owner(dispatcher.runner))] = (snapshot, registry)
        return registry

    # -- one statement -----------------------------------------------------------------

    async def _verdict(self, dispatcher: Dispatcher, registry: _Registry, snapshot: CatalogSnapshot,
                       sql: str, path: tuple[str, ...]) -> PgError | str | LoopbackCall | NodeLocal | None:
        """None: run as planned; a group name: run there; a LoopbackCall: run on the
        catalog server with the loopback; an error: refuse."""
        verdict = await self._plain_verdict(dispatcher, registry, snapshot, sql, path)
        if verdict is None:
            return await self._written_instead(dispatcher, registry, snapshot, sql, path)
        if not isinstance(verdict, PgError) or verdict.sqlstate != FEATURE_NOT_SUPPORTED:
            return verdict
        firing = await self._firing_verdict(dispatcher, registry, snapshot, sql, path)
        if firing is _NOTHING_FIRES:
            return None
        if firing is not None:
            return firing
        if await self._runs_as_steps(dispatcher, registry, snapshot, sql, path):
            return None
        return await self._loopback_verdict(dispatcher, registry, snapshot, sql, path, verdict)

    async def _written_instead(self, dispatcher: Dispatcher, registry: _Registry, snapshot: CatalogSnapshot,
                               sql: str, path: tuple[str, ...]) -> LoopbackCall | None:
        """A write into a view over distributed tables that its INSTEAD OF triggers carry out,
        whose code touches no distributed table (it raises a notice, writes a table of the
        catalog server's, changes NEW): run on the catalog server as such a write whose code
        does (`_loopback_verdict`; executor/view_instead.py). Planned, it went to the datanodes,
        where the triggers would run on each node (refused, multi._ensure_plain_view). None:
        not such a write, or the loopback cannot run it either (run as planned)."""
        from gridpg.sql.xl import extract_distribution

        if not registry.on_write_at:
            return None
        tree = _tree(sql)
        kind = sqlparse.node_type(tree) if tree else ""
        if tree is None or kind not in ("InsertStmt", "UpdateStmt", "DeleteStmt") \
                or (tree[kind].get("relation") or {}).get("relname") not in {n for _, n in registry.on_write_at}:
            return None
        view = view_instead.written_view(tree, kind, path, _view_resolver(dispatcher, snapshot))
        if view is None or view not in registry.on_write_at or not await view_instead.has_instead_trigger(
                dispatcher, view, kind):
            return None
        refusal = PgError(FEATURE_NOT_SUPPORTED, f'gridpg cannot write through view "{view[1]}": its INSTEAD OF '
                          "triggers would run on each datanode", hint="write the view's table directly")
        call = await self._loopback_verdict(dispatcher, registry, snapshot, extract_distribution(sql)[0], path,
                                            refusal)
        return call if isinstance(call, LoopbackCall) else None

    async def _writes_statement_triggers(self, dispatcher: Dispatcher, registry: _Registry, tree: dict[str, Any],
                                         path: tuple[str, ...], resolve: body.Resolver) -> bool:
        """Whether a table the statement writes has statement-level INSERT, UPDATE or DELETE
        triggers."""
        for ref in body.written_relations(tree):
            table = resolve(ref, path)
            found = await self._table_triggers(dispatcher, registry, table) if table is not None else None
            if found is not None and any(not t.is_row and any(t.fires_on(e) for e in ("INSERT", "UPDATE", "DELETE"))
                                         for t in found.triggers):
                return True
        return False

    async def _runs_as_steps(self, dispatcher: Dispatcher, registry: _Registry, snapshot: CatalogSnapshot,
                             sql: str, path: tuple[str, ...]) -> bool:
        """A data-modifying WITH refused only for the triggers of the one distributed table
        its parts write that has any (pgqueuer's dequeue: `WITH ... claimed AS (UPDATE
        pgqueuer ... RETURNING *), log_pick AS (INSERT INTO pgqueuer_log ...) SELECT ...`,
        pgqueuer with a statement-level trigger) runs as planned: as steps
        (executor/modifying_cte.py), each part a statement of its own, checked again here,
        whose triggers the coordinator fires (`_firing_verdict`): PostgreSQL fires statement
        triggers once per part. Run whole on the catalog server instead, through the table's
        shadow, postgres_fdw sent one INSERT per row and each fired the statement triggers
        (three NOTIFYs for one statement), and FOR UPDATE was refused."""
        from gridpg.planner.modifying_cte import plan_steps
        from gridpg.sql.xl import extract_distribution

        tree = sqlparse.parse_tree(extract_distribution(sql)[0])
        kind = sqlparse.node_type(tree)
        if kind not in ("SelectStmt", "InsertStmt", "UpdateStmt", "DeleteStmt") \
                or not analyze.has_modifying_cte({kind: {"withClause": tree[kind].get("withClause")}}):
            return False
        resolve = _resolver(dispatcher, snapshot)
        triggered: dict[tuple[str, str], frozenset[int]] = {}
        for ref in body.written_relations(tree):
            table = resolve(ref, path)
            found = await self._table_triggers(dispatcher, registry, table) if table is not None else None
            if found is not None and found.triggers:
                triggered[table.key] = frozenset(t.function_oid for t in found.triggers)
        if len(triggered) != 1:
            return False
        try:
            plan_steps(sql)  # (what the steps cannot run goes on to the loopback, below)
        except PgError:
            return False
        return await self._plain_verdict(dispatcher, registry, snapshot, sql, path,
                                         next(iter(triggered.items()))) is None

    async def _loopback_verdict(self, dispatcher: Dispatcher, registry: _Registry,
                                snapshot: CatalogSnapshot, sql: str, path: tuple[str, ...],
                                refusal: PgError) -> PgError | LoopbackCall:
        """A statement refused because its code touches distributed tables runs with the
        loopback when the statement itself goes to the catalog server (SELECT or CALL of
        routines, DO) and every routine reaches those tables by names the shadows catch."""
        from gridpg.sql.xl import extract_distribution

        tree = sqlparse.parse_tree(extract_distribution(sql)[0])
        kind = sqlparse.node_type(tree)
        expanded = _inline_code_views(dispatcher, registry, sql, tree) if kind == "SelectStmt" else None
        if expanded is not None:  # (its views' code is then the statement's own calls)
            sql, tree = expanded, sqlparse.parse_tree(expanded)
        access = body.statement_access(tree)
        if kind == "DoStmt":  # (its dynamic texts ask the coordinator for the shadows of qualified names)
            from gridpg.executor import twins as twins_mod

            expanded = twins_mod.dynamic_do(sql) or expanded
        resolve = _resolver(dispatcher, snapshot)
        own = body.Access(relations=access.relations)
        views = _view_resolver(dispatcher, snapshot)
        # (an UPDATE/DELETE of a view over distributed tables whose INSTEAD OF triggers
        # carry it out: executor/view_instead.py)
        instead_view = view_instead.written_view(tree, kind, path, views)
        local_write = (kind in _LOCAL_WRITE_KINDS and (kind != "CopyStmt" or tree[kind].get("is_from"))) \
            or _writes_temp_table(tree, kind, path) or instead_view is not None
        # A SELECT that also reads distributed tables itself runs whole on the catalog
        # server too, its own unqualified names reaching the shadows like the code's. So
        # does an INSERT into a distributed table whose VALUES or SELECT call such code:
        # its rows reach the target through the target's shadow (postgres_fdw), which
        # takes ON CONFLICT DO NOTHING without a conflict target, no other ON CONFLICT, and
        # no OVERRIDING clause.
        whole_select = body.first_distributed(own, path, resolve) is not None
        conflict = tree[kind].get("onConflictClause") if kind == "InsertStmt" else None
        whole_insert = whole_select and kind == "InsertStmt" \
            and tree[kind].get("override", "OVERRIDING_NOT_SET") == "OVERRIDING_NOT_SET" and (
            conflict is None or (conflict.get("action") == "ONCONFLICT_NOTHING" and not conflict.get("infer")))
        if whole_insert and await self._whole_insert_blocked(dispatcher, registry, snapshot, tree, path):
            return refusal
        if whole_select and _cte_conflict_target(tree):
            return refusal  # (a shadow has no unique index: PostgreSQL's 42P10, not the answer)
        if whole_select and await self._writes_statement_triggers(dispatcher, registry, tree, path, resolve):
            # (its rows would reach the table through the shadow one statement per row, each
            # firing the statement triggers: five firings for one INSERT of five rows)
            return refusal
        if (kind not in _LOOPBACK_KINDS and not local_write) \
                or (whole_select and kind != "SelectStmt" and not whole_insert and instead_view is None) \
                or tree[kind].get("intoClause") or analyze.has_node(tree, "lockingClause") \
                or access.unreadable_reason() is not None:
            return refusal
        tables: set[tuple[str, str]] = set()
        if body.mentions_search_path(sql):  # (by the scanner: not a schema named t_search_path_x)
            return refusal
        # (a SELECT's: named in the shadow schemas; an INSERT's target view too, which
        # `_run_loopback` names itself when the view's INSTEAD OF trigger carries it out)
        own_qualified: set[tuple[str, str]] = set()
        why = body.loopback_blocker(None, access, path, resolve, views, tables,
                                    own_qualified if kind in ("SelectStmt", "DoStmt", "InsertStmt")
                                    or instead_view is not None else None)
        if why is not None:
            return _refusal("a DO block" if kind == "DoStmt" else "the statement", why)
        statement_touches = bool(tables)
        dynamic = [access.has_dynamic()]
        seen: dict[int, tuple[body.Routine, body.Access, str]] = {}
        why = next(filter(None, map(_sequence_blocker, access.nested)), None)
        if why is not None:
            return _refusal("a DO block", why)
        # code calling sequence functions runs armed: they reach the GTM's sequences through
        # the loopback (executor/loopback.py SEQUENCE_CALLS), not the catalog server's copies
        sequences = {0} if any(inner.sequence_call() for inner in access.nested) else set()

        def visit(routine: body.Routine, routine_access: body.Access, title: str) -> PgError | None:
            unreadable = routine_access.unreadable_reason()
            if unreadable is not None:
                return _refusal(title, unreadable)
            why = _sequence_blocker(routine_access)
            if why is not None:
                return _refusal(title, why)
            if routine_access.sequence_call() is not None:
                sequences.add(routine.oid)
            dynamic[0] = dynamic[0] or routine_access.has_dynamic()
            seen[routine.oid] = (routine, routine_access, title)
            return None

        roots = registry.operator_functions(access)
        if local_write:  # the triggers and defaults of the written table run on the catalog server
            roots |= _written_routines(tree, access, registry)
        edges: dict[int, set[int]] = {}
        error = await self._walk(dispatcher, registry, roots, body.user_calls(access, registry.names, registry.row_argument_names),
                                 path, resolve, visit=visit, edges=edges)
        if error is not None:
            return error
        shape = call_shape.shape({oid: r for oid, (r, _, _) in seen.items()}, edges, path)
        touching: set[int] = set()
        qualified: dict[int, set[tuple[str, str]]] = {}
        upserting: set[int] = set()
        for oid, (routine, routine_access, title) in seen.items():
            for run_path in shape.paths[oid]:
                if changes_path(routine):
                    run_path = wide_path(snapshot, run_path)
                reached: set[tuple[str, str]] = set()
                named = qualified.setdefault(oid, set())
                reason = body.loopback_blocker(routine, routine_access, run_path, resolve, views,
                                               reached, named)
                if reason is not None:
                    return _refusal(title, reason)
                reason = _upsert_blocker(routine, routine_access, run_path, resolve)
                if reason is not None:
                    return _refusal(title, reason)
                if reached or (oid in sequences and routine.search_path is not None):
                    touching.add(oid)  # (its own path: its twin's path names the sequence functions)
                if any(resolve(ref, run_path) is not None for ref in routine_access.upserts):
                    upserting.add(oid)
                tables |= reached
        error = _fdw_parameter_blocker(access, "a DO block" if kind == "DoStmt" else "the statement", path,
                                       seen, edges, shape.paths, touching | (sequences - {0}), resolve, views)
        if error is not None:
            return error
        if not tables and not dynamic[0] and not sequences:
            return refusal
        # (routines of a called name the walk left out are in schemas off every path the
        # call may run with, `_callable`: no call reaches them)
        reachable = {c: [o for o in oids if o in seen] for c, oids in registry.by_call.items()}
        extra = call_shape.twins_and_role(tree, seen, edges, shape, touching, statement_touches,
                                          dynamic[0], reachable, path,
                                          {o: frozenset(q) for o, q in qualified.items() if q},
                                          upserting, _caller_role(dispatcher))
        if isinstance(extra, PgError):
            return extra
        twins, role = extra
        read_only_twins = None
        if twins and dynamic[0]:  # (twins made for dynamic text alone cannot be made in a read-only block)
            narrow = call_shape.twins_and_role(tree, seen, edges, shape, touching, statement_touches,
                                               dynamic[0], reachable, path,
                                               {o: frozenset(q) for o, q in qualified.items() if q},
                                               upserting, _caller_role(dispatcher), with_dynamic=False)
            read_only_twins = narrow[0] if not isinstance(narrow, PgError) and narrow[0] != twins else None
        # Every distributed table of a name the code uses gets its shadow: whatever schema
        # the name meets first at run time, it is never the catalog server's empty copy.
        names = {name for _, name in tables}
        tables |= {(t.schema, t.name) for t in snapshot.tables if t.name in names}
        if dynamic[0]:
            # SQL text made at run time may name any table of the session's schemas.
            tables |= {(t.schema, t.name) for t in snapshot.tables if t.schema in path}
            tables |= {key for key in dispatcher.runner.views() if key[0] in path
                       and views(analyze.RelRef(key[0], key[1], -1, None), path) is not None}
        upsert_do = any(resolve(ref, path) is not None for inner in access.nested for ref in inner.upserts)
        watched = any(qualified.get(oid) or seen[oid][0].search_path is not None for oid, _, _, _ in twins)
        # (a statement naming shadows in place of schemas is watched like a twin that does)
        return LoopbackCall(tuple(sorted(tables)), refusal, dynamic[0], copy=kind == "CopyStmt",
                            twins=twins, role=role, whole_select=whole_select, upsert_do=upsert_do,
                            watched_twins=watched or bool(own_qualified), sql=expanded,
                            redirect=frozenset(own_qualified), instead_view=instead_view,
                            read_only_twins=read_only_twins)

    async def _firing_verdict(self, dispatcher: Dispatcher, registry: _Registry, snapshot: CatalogSnapshot,
                              sql: str, path: tuple[str, ...]) -> PgError | firing_mod.TriggerFiring | None:
        """A write refused because of its table's triggers runs with the coordinator firing
        them (executor/triggers.py) when everything else about it passes the check, its
        BEFORE ROW triggers can stay on the datanodes, and the others reach distributed
        tables by names the loopback's shadows catch. None: not such a write."""
        from gridpg.sql.xl import extract_distribution

        tree = sqlparse.parse_tree(extract_distribution(sql)[0])
        event = firing_mod.statement_event(tree)
        merge = firing_mod.merge_events(tree)  # (a MERGE fires the events of its actions)
        if merge is not None:
            event = ("MERGE", None)
        copy = tree.get("CopyStmt")
        is_copy = isinstance(copy, dict) and bool(copy.get("is_from"))
        if is_copy:  # COPY FROM: INSERT's triggers, which the coordinator cannot fire for it
            event = ("INSERT", None)
        written = body.written_names(tree)
        if event is None or len(written) != 1:
            return None
        resolve = _resolver(dispatcher, snapshot)
        target = firing_mod.target_relation(tree)
        table = resolve(analyze.RelRef(target[0], target[1], -1, None), path) if target else None
        if table is None:
            return None
        found = await self._table_triggers(dispatcher, registry, table)
        row_kind = sqlparse.node_type(tree) in ("UpdateStmt", "DeleteStmt")
        if found is None and not row_kind:
            return None
        triggers = found.triggers if found is not None else ()
        events = [event] if merge is None else merge
        upsert = firing_mod.upsert_targets(tree)
        if upsert is not None:
            events.append(("UPDATE", upsert))
        pairs = [(e, t) for e, targets in events for t in triggers if t.fires_on(e, targets)]
        relevant = list({t.name: t for _, t in pairs}.values())
        label = f"the triggers of {table.schema}.{table.name}"
        before_row = [t for t in relevant if t.is_row and t.is_before]
        others = [t for t in relevant if not (t.is_row and t.is_before)]
        fired = [(e, t) for e, t in pairs if not (t.is_row and t.is_before)]
        # (every trigger of the table: those this event does not fire need no check)
        exclude = (table.key, frozenset(t.function_oid for t in triggers))
        rest = await self._plain_verdict(dispatcher, registry, snapshot, sql, path, exclude)
        # An UPDATE or DELETE whose own SET or WHERE calls code reaching distributed tables
        # runs row by row here, that code evaluated with the loopback (executor/row_writes.py)
        code_here = False
        if rest is not None:
            if not row_kind or not isinstance(rest, PgError):
                return None  # the refusal is about something else
            if rest.sqlstate != FEATURE_NOT_SUPPORTED or await self._plain_verdict(
                    dispatcher, registry, snapshot, sql, path, exclude, own_calls=False) is not None:
                # (about something else, named without the table's triggers: a DELETE is
                # not refused for a trigger only INSERT or UPDATE fires)
                return rest
            code_here = True
        moves = firing_mod.moves_rows(tree, table)  # (the nodes then delete and insert rows)
        moved = await self._partition_move_refusal(dispatcher, registry, snapshot, sql, path, tree, table,
                                                   found, pairs, before_row, code_here or moves)
        if moved is not None:
            return moved
        if not code_here:
            if not pairs and not moves:
                return _NOTHING_FIRES  # (UPDATE OF other columns): the nodes fire nothing either
            idle = _idle_functions(triggers, events)
            if idle and not moves and await self._plain_verdict(dispatcher, registry, snapshot, sql, path,
                                                                (table.key, idle)) is None:
                return _NOTHING_FIRES  # refused only for triggers this event does not fire
            # (rows that move are deleted and inserted on the datanodes, where every trigger
            # of the table would fire: a move keeps them all off, below)
            if not others and not (moves and triggers) and (not before_row or await self._before_rows_stay(
                    dispatcher, registry, snapshot, table, before_row, path, resolve) is None):
                return None
        copy_body = tree.get("CopyStmt") or {}
        if is_copy and (copy_body.get("filename") or copy_body.get("is_program")):
            return _refusal(label, "COPY FROM a file or program (gridpg reads the rows of COPY ... "
                            "FROM STDIN to fire them)")
        why = firing_mod.why_not_fired_here(tree, table, relevant)
        if why is not None:
            return _refusal(label, why)
        tables: set[tuple[str, str]] = set()
        error = await self._before_rows_stay(dispatcher, registry, snapshot, table, before_row, path, resolve)
        before_here = error is not None
        rows_here = row_kind and (before_here or code_here)
        where_here = volatile = False
        if rows_here:  # (every BEFORE ROW trigger fired here, on each row: executor/row_writes.py)
            before_here = bool(before_row)
            why, where_here, volatile = await self._rows_here_blocker(dispatcher, registry, snapshot, tree,
                                                                      table, path, resolve, tables)
            if why is not None:
                what = f"BEFORE ROW triggers of {table.schema}.{table.name}" if error is not None else "the statement"
                cause = (error.message.split(": ", 1)[-1] if error is not None
                         else rest.message.split(": ", 1)[-1] if isinstance(rest, PgError) else "")
                return _refusal(what, f"{cause}, and the coordinator cannot run the statement row by row "
                                f"itself: {why}")
        elif before_here:  # (fired here on each new row, executor/triggers._fire_before_rows)
            why = await self._before_rows_here(dispatcher, registry, snapshot, tree, table,
                                               before_row, path, resolve, tables)
            if why is not None:
                return _refusal(f"BEFORE ROW triggers of {table.schema}.{table.name}",
                                f"{error.message.split(': ', 1)[-1]}, and the coordinator cannot fire "
                                f"them before storing the rows: {why}")
        roles: list[str] = []
        # (dynamic SQL in the AFTER and statement-level ones; not in BEFORE ROW triggers
        # fired row by row, which may read their own table between the rows)
        dynamic = None if rows_here else [False]
        error = await self._reach_by_loopback(dispatcher, registry, snapshot,
                                              others + (before_row if rows_here else []), path, resolve,
                                              tables, roles, dynamic=dynamic)
        if error is not None:
            return error
        if roles and rows_here:
            return _refusal(label, "they are SECURITY DEFINER, which gridpg does not fire row by row")
        names = {n for _, n in tables}
        tables |= {(t.schema, t.name) for t in snapshot.tables if t.name in names}
        runs_dynamic = dynamic is not None and dynamic[0]
        if runs_dynamic:
            # SQL text made at run time may name any table of the session's schemas (as a
            # call's, `_loopback_verdict`); PostgreSQL's COPY FROM reads rows a dynamic
            # statement could see between them: it runs as an INSERT here
            views = _view_resolver(dispatcher, snapshot)
            tables |= {(t.schema, t.name) for t in snapshot.tables if t.schema in path}
            tables |= {key for key in dispatcher.runner.views() if key[0] in path
                       and views(analyze.RelRef(key[0], key[1], -1, None), path) is not None}
        after_statement = [(e, t) for e, t in fired if not t.is_row and not t.is_before]
        after_statement.sort(key=lambda p: [e for e, _ in events].index(p[0]), reverse=True)
        # A move fires none of the DELETE / INSERT triggers, row or statement level, that
        # the datanodes' DELETE and COPY would: PostgreSQL's UPDATE fires UPDATE ones (here)
        kept_off = triggers if rows_here or moves else ()
        return firing_mod.TriggerFiring(
            table, event[0], found.relid if found is not None else 0,
            tuple((e, t) for e, t in fired if t.is_before),
            tuple((e, t) for e, t in fired if t.is_row),
            tuple(after_statement),
            tuple(sorted(tables)),
            kept_off,
            roles[0] if roles else None,
            tuple((e, t) for e, t in pairs if t.is_row and t.is_before) if before_here else (),
            is_copy, rows_here, where_here, volatile, runs_dynamic)

    async def _partition_move_refusal(self, dispatcher: Dispatcher, registry: _Registry,
                                      snapshot: CatalogSnapshot, sql: str, path: tuple[str, ...],
                                      tree: dict[str, Any], table: DistTable,
                                      found: firing_mod.TableTriggers | None,
                                      pairs: list[tuple[str, Any]], before_row: list[Any],
                                      all_kept_off: bool) -> PgError | None:
        """An UPDATE that may move rows between partitions, refused (0A000) where a row
        trigger would fire wrongly. PostgreSQL fires the DELETE and INSERT row triggers of
        the partitions for a moved row, and none of its AFTER UPDATE ones: the datanodes
        do so too, but a DELETE or INSERT trigger reaching other distributed tables then
        wrote them node-locally (the datanode's own sequence and shards: duplicate keys
        later), and the coordinator, firing the UPDATE ones itself, fired them for moved
        rows as UPDATEs (h-probe28). Statement triggers and their transition tables (which
        hold moved rows as updated ones) and row triggers the datanodes may fire are kept.
        `all_kept_off`: the write runs row by row here or moves rows between datanodes, with
        every trigger of the table kept off the datanodes."""
        if found is None or not found.moves_partitions(tree):
            return None
        label = f"the triggers of {table.schema}.{table.name}"
        why = ("the UPDATE may move rows between its partitions, where PostgreSQL fires their DELETE "
               "and INSERT row triggers instead of UPDATE ones, and gridpg fires only")
        moved = [t for t in found.triggers if t.is_row and not t.is_instead
                 and (t.fires_on("INSERT") or t.fires_on("DELETE"))]
        if moved:
            others = frozenset(t.function_oid for t in found.triggers) - {t.function_oid for t in moved}
            if await self._plain_verdict(dispatcher, registry, snapshot, sql, path, (table.key, others)) is not None:
                return _refusal(label, f"{why} triggers that stay on the datanodes for such rows (these "
                                "reach other distributed tables)")
        if all_kept_off and any(t.is_row for t in found.triggers):
            return _refusal(label, f"{why} UPDATE triggers for the rows it updates row by row or moves "
                            "between datanodes")
        fired_row = [t for _, t in pairs if t.is_row and not t.is_before]
        if fired_row or (before_row and await self._before_rows_stay(
                dispatcher, registry, snapshot, table, before_row, path, _resolver(dispatcher, snapshot))
                is not None):
            return _refusal(label, f"{why} UPDATE triggers for the rows it writes (these reach other "
                            "distributed tables)")
        return None

    async def _rows_here_blocker(self, dispatcher: Dispatcher, registry: _Registry, snapshot: CatalogSnapshot,
                                 tree: dict[str, Any], table: DistTable, path: tuple[str, ...],
                                 resolve: body.Resolver,
                                 tables: set[tuple[str, str]]) -> tuple[str | None, bool, bool]:
        """Why the coordinator cannot run this UPDATE or DELETE row by row (None: it can;
        the tables its SET and WHERE reach through the loopback, and the table's own
        shadow, go to `tables`), whether its WHERE is evaluated here (it calls user
        routines) rather than on the datanodes, and whether it calls VOLATILE routines
        (evaluated row by row, seeing what the triggers of the earlier rows did, as in
        PostgreSQL; STABLE and IMMUTABLE ones see the statement's snapshot: evaluated for
        every row before any trigger fires)."""
        from gridpg.planner.calls import sequence_calls

        kind = sqlparse.node_type(tree)
        stmt = tree[kind]
        if analyze.has_node(tree, "CurrentOfExpr"):
            return "it has WHERE CURRENT OF", False, False
        if firing_mod.moves_rows(tree, table):
            return "it sets the distribution column", False, False
        access = body.statement_access(tree)
        # A statement reading other distributed tables (`WHERE id IN (SELECT ... FROM
        # other)`, FROM / USING), or its own table beyond the target on a table spread over
        # several nodes (a datanode would read only its shards), has its WHERE evaluated
        # here: every row is read, and the statement runs on the temp copy with the loopback
        # armed, so those tables are read whole through their shadows (h-trig24)
        reads_elsewhere = bool(stmt.get("fromClause") or stmt.get("usingClause"))
        own = 0
        for ref in access.all_relations():
            found = resolve(ref, path)
            if found is None:
                return "it reads tables that are not distributed", False, False
            if found == table:
                own += 1
                continue
            reads_elsewhere = True
            tables.add(found.key)
        if own > 1 and table.method != "replication":
            reads_elsewhere = True
        if sequence_calls(stmt):
            return "it calls sequence functions", False, False
        calls = body.user_calls(access, registry.names, registry.row_argument_names)
        names = {n.lower() for _, n in calls}
        seen: dict[str, list[tuple[str, bool]]] = {}  # name: (schema, volatile) of each overload
        if calls:
            reached: set[tuple[str, str]] = set()
            roles: list[str] = []
            error = await self._reach_by_loopback(dispatcher, registry, snapshot, [], path, resolve,
                                                  reached, roles, calls)
            if error is not None:
                return error.message, False, False
            tables |= reached

            def visit(routine: body.Routine, routine_access: body.Access, title: str) -> PgError | None:
                if routine.name.lower() in names:
                    seen.setdefault(routine.name.lower(), []).append((routine.schema, is_volatile(routine)))
                return None

            await self._walk(dispatcher, registry, set(), calls, path, resolve, visit=visit)
        tables.add(table.key)
        where = stmt.get("whereClause")
        where_access = body.statement_access({"SelectStmt": {"whereClause": where}}) if where else None
        where_here = reads_elsewhere or where_access is not None and bool(
            body.user_calls(where_access, registry.names, registry.row_argument_names) or registry.operator_functions(where_access))
        # (the overloads the session's path finds first are those called; each one of them
        # that is VOLATILE makes the statement's code evaluated row by row)
        volatile = False
        for found in seen.values():
            ranked = sorted(found, key=lambda f: path.index(f[0]) if f[0] in path else len(path))
            first = ranked[0][0]
            volatile |= any(v for schema, v in ranked if schema == first)
        return None, where_here, volatile

    async def _before_rows_here(self, dispatcher: Dispatcher, registry: _Registry, snapshot: CatalogSnapshot,
                                tree: dict[str, Any], table: DistTable, triggers: list[Any],
                                path: tuple[str, ...], resolve: body.Resolver,
                                tables: set[tuple[str, str]]) -> str | None:
        """Why the coordinator cannot fire these BEFORE ROW triggers itself on the new rows
        of the INSERT (None: it can; the tables they reach, and the table's own shadow, go
        to `tables`). The rows are made on the catalog server (executor/triggers.
        _fire_before_rows), so they must need no table, user routine or sequence there; the
        triggers, fired on all the rows before any is stored, must not read or write their
        own table (in PostgreSQL each sees the rows stored before its own)."""
        from gridpg.planner.calls import sequence_calls

        insert = tree.get("InsertStmt")
        copy = tree.get("CopyStmt")
        if isinstance(copy, dict) and copy.get("is_from") and not copy.get("filename") \
                and not copy.get("is_program"):
            # COPY ... FROM STDIN: its rows become an INSERT of literals first
            # (executor/triggers._copy_as_insert)
            insert = {"selectStmt": {}}
        if not isinstance(insert, dict):
            event = firing_mod.statement_event(tree)
            return (f"it fires them itself for INSERT ... VALUES only, not for "
                    f"{event[0] if event else 'this statement'}")
        upsert = firing_mod.upsert_targets(tree)
        if upsert is not None and any(t.fires_on("UPDATE", upsert) for t in triggers):
            # (fired here as INSERT ones on each proposed row; an UPDATE's would fire for
            # the conflicting rows only, on the datanodes where their old values are)
            return "the INSERT has ON CONFLICT DO UPDATE and BEFORE ROW UPDATE triggers"
        if insert.get("override") == "OVERRIDING_USER_VALUE":
            return "the INSERT has OVERRIDING USER VALUE"  # (SYSTEM VALUE: triggers.refuse_generated_values)
        source = insert.get("selectStmt") or {}
        access = body.statement_access({"SelectStmt": source.get("SelectStmt") or {}})
        if any(True for _ in access.all_relations()):
            return "the INSERT reads tables (INSERT ... VALUES is served)"
        if {n.lower() for _, n in call_shape.statement_calls(source)} & set(registry.names) \
                or registry.operator_functions(access):
            return "the INSERT calls user routines"
        if sequence_calls(source):
            return "the INSERT calls sequence functions"
        reached: set[tuple[str, str]] = set()
        roles: list[str] = []
        error = await self._reach_by_loopback(dispatcher, registry, snapshot, triggers, path, resolve,
                                              reached, roles)
        if error is not None:
            return error.message
        if roles:
            return "they are SECURITY DEFINER"
        if table.key in reached:
            return f"they read or write {table.schema}.{table.name} itself"
        tables |= reached | {table.key}
        return None

    async def _whole_insert_blocked(self, dispatcher: Dispatcher, registry: _Registry, snapshot: CatalogSnapshot,
                                    tree: dict[str, Any], path: tuple[str, ...]) -> bool:
        """Whether an INSERT's distributed target keeps it from running whole through the
        loopback: a statement-level INSERT trigger or one with a transition table (rows sent
        through the target's shadow arrive one INSERT each, so those would fire per row and
        see one row each); a constraint or rule calling user code (it runs where the row
        lands, a call from inside the loopback's: the refusal then names what it does)."""
        target = firing_mod.target_relation(tree)
        table = _resolver(dispatcher, snapshot)(analyze.RelRef(target[0], target[1], -1, None), path) \
            if target else None
        if table is None:
            return False
        if table.key in registry.constrained_at or registry.dependents.get(table.name.lower()) \
                or registry.write_rules.get(table.name.lower(), {}).get("3"):
            return True
        found = await self._table_triggers(dispatcher, registry, table)
        return found is not None and any(t.fires_on("INSERT") and (not t.is_row or t.transition)
                                         for t in found.triggers)

    async def _table_triggers(self, dispatcher: Dispatcher, registry: _Registry,
                              table: DistTable) -> firing_mod.TableTriggers | None:
        key = (table.schema, table.name)
        if key not in registry.table_triggers:
            async with _CatalogConnection(dispatcher, _sees_own_catalog(dispatcher)) as conn:
                registry.table_triggers[key] = await firing_mod.load_table_triggers(conn, table)
        return registry.table_triggers[key]

    async def _before_rows_stay(self, dispatcher: Dispatcher, registry: _Registry, snapshot: CatalogSnapshot,
                                table: DistTable, triggers: list[Any], path: tuple[str, ...],
                                resolve: body.Resolver) -> PgError | None:
        """None when the BEFORE ROW triggers give PostgreSQL's answer on the datanodes (they
        change the stored row there): as for any row trigger, replicated tables read on
        nodes that hold them, colocated writes pinned to the row."""
        if not triggers:
            return None
        oids = {t.function_oid for t in triggers}
        pinned = await self._pinned_triggers(dispatcher, registry, snapshot, {table.key: table}, path, resolve)
        reads: dict[tuple[str, str], tuple[DistTable, PgError]] = {}
        views = _view_resolver(dispatcher, snapshot)

        on_replicas = table.method == "replication" and len(table.groups) > 1
        time_pinned: frozenset[int] = frozenset()
        if on_replicas and await self._walk(dispatcher, registry, oids, set(), path, resolve,
                                            visit=_replica_divergence) is not None:
            time_pinned = await self._time_pinned(dispatcher, registry, oids, path, resolve, table.groups)

        def visit(routine: body.Routine, routine_access: body.Access, title: str) -> PgError | None:
            if on_replicas:
                diverging = _replica_divergence(routine, routine_access, title, time_pinned)
                if diverging is not None:
                    return diverging
            error = _check(routine, routine_access, path, resolve, title, reads, views)
            if error is None or routine.oid not in pinned:
                return error
            return None if pinned[routine.oid] is None else _refusal(title, pinned[routine.oid] or "")

        error = await self._walk(dispatcher, registry, oids, set(), path, resolve, visit=visit)
        if error is not None:
            where = "on every replica" if on_replicas else "on the row's datanode"
            return _refusal(f"BEFORE ROW triggers of {table.schema}.{table.name}",
                            f"{error.message} (a BEFORE ROW trigger fires {where})")
        for read, refusal in reads.values():
            if not set(table.groups) <= set(read.groups):
                return refusal
        return None

    async def _replica_walk(self, dispatcher: Dispatcher, registry: _Registry, oids: set[int],
                            path: tuple[str, ...], resolve: body.Resolver,
                            groups: tuple[str, ...]) -> PgError | None:
        """`_replica_divergence` over the row-trigger code of REPLICATION tables on `groups`:
        reads of now() and the like count only in code whose datanode copies do not read
        the coordinator's instant (`time_pinned_copies`, asked only when the plain walk
        refuses)."""
        error = await self._walk(dispatcher, registry, oids, set(), path, resolve, visit=_replica_divergence)
        if error is None:
            return None
        pinned = await self._time_pinned(dispatcher, registry, oids, path, resolve, groups)
        if not pinned:
            return error

        def visit(routine: body.Routine, access: body.Access, title: str) -> PgError | None:
            return _replica_divergence(routine, access, title, pinned)

        return await self._walk(dispatcher, registry, oids, set(), path, resolve, visit=visit)

    async def _time_pinned(self, dispatcher: Dispatcher, registry: _Registry, oids: set[int],
                           path: tuple[str, ...], resolve: body.Resolver,
                           groups: tuple[str, ...]) -> frozenset[int]:
        """Of the trigger functions `oids` (only they: what they call is not rewritten), those
        whose copies on `groups` read the transaction's time from the coordinator."""
        found: list[body.Routine] = []

        def collect(routine: body.Routine, access: body.Access, title: str) -> PgError | None:
            if routine.oid in oids:
                found.append(routine)
            return None

        await self._walk(dispatcher, registry, set(oids), set(), path, resolve, visit=collect)
        return await time_pinned_copies(dispatcher, found, groups)

    async def _reach_by_loopback(self, dispatcher: Dispatcher, registry: _Registry, snapshot: CatalogSnapshot,
                                 triggers: list[Any], path: tuple[str, ...], resolve: body.Resolver,
                                 tables: set[tuple[str, str]], roles: list[str],
                                 calls: set[tuple[str | None, str]] | None = None,
                                 dynamic: list[bool] | None = None) -> PgError | None:
        """None when the trigger functions fired on the coordinator (and what they call)
        reach distributed tables through the loopback's shadows; those tables go to
        `tables`, the one owner they run as (all SECURITY DEFINER of one owner) to `roles`.
        With `dynamic`, code running dynamic SQL is accepted and noted there (its SQL text
        finds the shadows of the session's schemas by the armed search path, and the firing
        fails if it reached a catalog server's copy: `TriggerFiring.dynamic`)."""
        views = _view_resolver(dispatcher, snapshot)
        has_path: list[str] = []  # (routines they call with their own path)
        own_paths: list[str] = []  # (trigger functions with their own path)
        called_reach: list[str] = []  # (routines they call that reach distributed tables)
        oids = {t.function_oid for t in triggers}
        definers: dict[int, str] = {}

        def visit(routine: body.Routine, routine_access: body.Access, title: str) -> PgError | None:
            if dynamic is not None and routine_access.has_dynamic():
                dynamic[0] = True
                blocker = routine_access.unreadable_reason() or _sequence_blocker(routine_access)
            else:
                blocker = routine_access.blocker() or _sequence_blocker(routine_access)
            if blocker is not None:
                return _refusal(title, blocker)
            called = routine_access.sequence_call()
            if called is not None and routine.search_path is not None and routine.oid not in oids:
                # (it would run with its own path, without the loopback's sequence functions)
                return _refusal(title, f"it sets its own search_path and calls {called}, "
                                "whose sequences are cluster-wide")
            run_path = path
            if routine.search_path is not None and routine.oid in oids:
                # its twin runs with its own path, the shadows put on it (executor/triggers.py)
                own_paths.append(title)
                run_path = routine.search_path
            elif routine.search_path is not None:
                has_path.append(title)
            reached: set[tuple[str, str]] = set()
            # (a trigger function's own twin names the shadows of the tables it names with
            # their schema, executor/triggers.ensure_twins; what it calls runs as it is)
            qualified: set[tuple[str, str]] | None = set() if routine.oid in oids else None
            reason = body.loopback_blocker(routine, routine_access, run_path, resolve, views, reached,
                                           qualified)
            if reached and routine.oid not in oids:
                called_reach.append(title)
            if reason is None and routine.oid not in oids:  # (the trigger's own twin runs them)
                reason = next((f"it runs INSERT ... ON CONFLICT into distributed table {t.schema}.{t.name}, "
                               "which gridpg runs in the trigger function itself, not in what it calls"
                               for t in (resolve(ref, path) for ref in routine_access.upserts) if t), None)
            if reason is None and routine.oid in oids and routine.search_path is not None:
                # (the coordinator runs its upserts with the caller's path, not the function's)
                reason = next((f"it runs INSERT ... ON CONFLICT into distributed table {t.schema}.{t.name} "
                               "with its own search_path" for t in (resolve(ref, run_path) for ref in
                                                                   routine_access.upserts) if t), None)
            if routine.security_definer:
                if routine.oid in oids:
                    definers[routine.oid] = routine.owner  # fired as its owner (TriggerFiring.role)
                elif reason is None and reached:
                    # (what a trigger function calls runs as the trigger's role)
                    reason = "it is SECURITY DEFINER and reads or writes distributed tables"
            tables.update(reached)
            return None if reason is None else _refusal(title, reason)

        error = await self._walk(dispatcher, registry, oids, set(calls or ()), path, resolve, visit=visit)
        if error is not None:
            return error
        if has_path and tables:
            return _refusal(has_path[0], "it sets its own search_path and calls code that "
                            "reads or writes distributed tables")
        if own_paths and called_reach:  # (they would run with its path, checked with the caller's)
            return _refusal(own_paths[0], "it sets its own search_path and calls code that "
                            f"reads or writes distributed tables ({called_reach[0]})")
        if len(set(definers.values())) > 1 or (definers and len(definers) < len(oids)):
            owners = ", ".join(sorted({*definers.values(), *(["the caller"] if len(definers) < len(oids) else [])}))
            return PgError(FEATURE_NOT_SUPPORTED,
                           "gridpg cannot fire the triggers of one statement whose functions run as "
                           f"different roles ({owners}: SECURITY DEFINER)")
        roles.extend(set(definers.values()))
        return None

    async def _plain_verdict(self, dispatcher: Dispatcher, registry: _Registry, snapshot: CatalogSnapshot,
                             sql: str, path: tuple[str, ...],
                             exclude: tuple[tuple[str, str], frozenset[int]] | None = None,
                             own_calls: bool = True) -> PgError | str | None:
        """`exclude`: ((schema, table), trigger functions) of triggers the coordinator fires
        itself, left out of the check; without `own_calls`, the routines the statement calls
        by name are left out too (the coordinator evaluates them itself)."""
        from gridpg.sql.xl import extract_distribution

        try:
            tree = sqlparse.parse_tree(extract_distribution(sql)[0])
        except PgError:
            return None  # the statement's own path reports its syntax
        resolve = _resolver(dispatcher, snapshot)
        if "search_path" in sql.lower():  # set_config() beside a call: any schema's tables
            path = wide_path(snapshot, path)
        kind = sqlparse.node_type(tree)
        fired_events = _event_functions_fired(tree, registry) if _is_ddl(sql.lower()) else set()
        if fired_events:
            # Event triggers fire on every server the DDL reaches.
            error = await self._walk(dispatcher, registry, fired_events, set(), path, resolve)
            if error is not None:
                return error
        if kind in DEFINITIONS:
            return None
        access = body.statement_access(tree)
        blocker = access.blocker()
        if blocker is not None:
            return _refusal("a DO block", blocker)
        table = body.first_distributed(access, path, resolve) if access.nested else None
        if table is not None:
            return _refusal("a DO block", _touches(table))
        called = next((c for c in (inner.sequence_call() for inner in access.nested) if c), None)
        if called is not None:
            return _sequence_refusal("a DO block", called)
        trigger_error = _trigger_refusal(tree, registry, path, resolve, exclude[0] if exclude else None)
        if trigger_error is not None:
            return trigger_error
        # Triggers, defaults and checks of written distributed tables run on their datanodes,
        # where replicated tables are whole: they may read those.
        written = [(ref.name.lower(), resolve(ref, path)) for ref in body.written_relations(tree)]
        on_nodes = {t.key: t for _, t in written if t is not None}
        off_nodes = [ref for ref in body.written_relations(tree) if resolve(ref, path) is None]
        used = _defaults_used(tree, registry)
        if kind == "TruncateStmt":
            # Only TRUNCATE triggers fire: no row triggers, defaults or checks.
            fired = set()
            for table in on_nodes.values():
                found = await self._table_triggers(dispatcher, registry, table)
                fired |= {t.function_oid for t in (found.triggers if found else ()) if t.fires_on("TRUNCATE")}
        else:
            fired = {oid for key in on_nodes for oid in registry.on_write_at.get(key, ())}
            fired |= {oid for name, t in written if t is not None for oid in used.get(name, ())}
        reached: dict[tuple[str, str], DistTable] = {}  # tables written by foreign-key actions
        if kind in ("DeleteStmt", "UpdateStmt", "MergeStmt") and registry.fk_actions:
            cascaded = await self._cascade_triggers(dispatcher, registry, on_nodes, kind, path, resolve, reached,
                                                    tree.get("UpdateStmt"))
            if isinstance(cascaded, PgError):
                return cascaded
            fired |= cascaded
        if exclude is not None:
            fired -= exclude[1]
        # Row triggers of a REPLICATION table fire on every replica, each computing the row
        # for itself: code calling random() or clock_timestamp() there would leave the
        # replicas different, read back by whichever node serves the read. Refused here;
        # the coordinator then fires such triggers itself where it can (_firing_verdict).
        replica_code = fired & {oid for key, t in on_nodes.items()
                                if t.method == "replication" and len(t.groups) > 1
                                for oid in registry.row_trigger_functions_at.get(key, ())}
        if replica_code:
            groups = tuple(sorted({g for t in on_nodes.values() if t.method == "replication" for g in t.groups}))
            error = await self._replica_walk(dispatcher, registry, replica_code, path, resolve, groups)
            if error is not None:
                return error
        reads: dict[tuple[str, str], tuple[DistTable, PgError]] = {}
        pinned = await self._pinned_triggers(dispatcher, registry, snapshot, {**reached, **on_nodes}, path, resolve)
        views = _view_resolver(dispatcher, snapshot)

        def visit(routine: body.Routine, routine_access: body.Access, title: str) -> PgError | None:
            error = _check(routine, routine_access, path, resolve, title, reads, views,
                           wide_path(snapshot, path))
            if error is None or routine.oid not in pinned:
                return error
            return None if pinned[routine.oid] is None else _refusal(title, pinned[routine.oid] or "")

        error = await self._walk(dispatcher, registry, fired, set(), path, resolve, visit=visit)
        if error is not None:
            return error
        for table, refusal in reads.values():
            if any(not set(t.groups) <= set(table.groups) for t in on_nodes.values()):
                return refusal
        roots = {oid for ref in access.relations for oid in registry.dependents.get(ref.name.lower(), ())}
        roots |= registry.rule_code(tree)
        roots |= {oid for ref in off_nodes
                  for oid in (*registry.written_code(ref, path), *used.get(ref.name.lower(), ()))}
        roots |= registry.operator_functions(access)
        reads = {}
        cursors: list[str] = []

        def note_cursors(routine: body.Routine, routine_access: body.Access, title: str) -> PgError | None:
            if _hands_out_cursors(routine):
                cursors.append(routine.title)
            return _check(routine, routine_access, path, resolve, title, reads, views, wide_path(snapshot, path))

        error = await self._walk(dispatcher, registry, roots,
                                 body.user_calls(access, registry.names, registry.row_argument_names) if own_calls else set(),
                                 path, resolve, reads, visit=note_cursors)
        if error is not None or not reads:
            return error
        if cursors:
            # (a cursor it opens on a datanode would be out of the client's reach: its FETCH
            # goes to the catalog connection, 34000; the loopback keeps it there)
            return next(iter(reads.values()))[1]
        return _reroute(tree, access, reads)

    async def _cascade_triggers(self, dispatcher: Dispatcher, registry: _Registry,
                                written: dict[tuple[str, str], DistTable], kind: str,
                                path: tuple[str, ...], resolve: body.Resolver,
                                reached: dict[tuple[str, str], DistTable],
                                update: dict[str, Any] | None = None) -> set[int] | PgError:
        """The row trigger functions that foreign-key actions (ON DELETE/UPDATE CASCADE, SET
        NULL, SET DEFAULT) fire in tables referencing the written ones, to be checked as the
        written tables' own: the datanodes run those actions, so these triggers fire there,
        where the coordinator neither fires nor sees them. A statement-level trigger so
        fired runs once per datanode, with that node's rows: refused (0A000). Before, a
        multi-node DELETE fired it once per node, and row triggers writing a replicated
        table wrote the copy of each row's node alone (copies diverged, silently). The
        referencing tables go to `reached`: their row triggers proven to stay on the row's
        node (`_pinned_triggers`) still run. `update`: the UPDATE statement's body; a
        foreign key whose referenced columns it does not assign runs no action, as in
        PostgreSQL (h-probe28: a counter-cache trigger's `UPDATE users SET n_orders = ...`
        was refused for the ON UPDATE CASCADE of orders.user_id)."""
        from gridpg.planner.writes import updates_column

        events = {"DeleteStmt": ("DELETE",), "UpdateStmt": ("UPDATE",), "MergeStmt": ("DELETE", "UPDATE")}[kind]
        # (the statement's own target alone: a table written by an action or by a WITH
        # query has its keys changed by other assignments)
        top = set(written) if len(written) == 1 else set()
        todo = [(key, event) for key in written for event in events]
        seen: set[tuple[tuple[str, str], str]] = set()
        functions: set[int] = set()
        while todo:
            key, event = todo.pop()
            for child, on_delete, on_update in registry.fk_actions.get(key, ()):
                action = on_delete if event == "DELETE" else on_update
                if action not in ("c", "n", "d"):
                    continue
                if event == "UPDATE" and isinstance(update, dict) and key in top and (key, event) not in seen and not any(
                        updates_column(update, column) for column in registry.fk_keys.get((key, child), ())):
                    continue  # (the statement keeps the referenced key: no action runs)
                fired_event = "DELETE" if event == "DELETE" and action == "c" else "UPDATE"
                if (child, fired_event) in seen:
                    continue
                seen.add((child, fired_event))
                todo.append((child, fired_event))
                table = resolve(analyze.RelRef(child[0], child[1], -1, None), path)
                if table is None:
                    continue
                reached[table.key] = table
                found = await self._table_triggers(dispatcher, registry, table)
                for trigger in found.triggers if found is not None else ():
                    if not trigger.fires_on(fired_event):
                        continue
                    if not trigger.is_row:
                        return _refusal(f"trigger {trigger.name} of {table.schema}.{table.name}",
                                        f"a foreign key's ON {event} action fires it on each datanode "
                                        "that holds referencing rows, once per node")
                    functions.add(trigger.function_oid)
        return functions

    async def _pinned_triggers(self, dispatcher: Dispatcher, registry: _Registry,
                               snapshot: CatalogSnapshot, on_nodes: dict[tuple[str, str], DistTable],
                               path: tuple[str, ...], resolve: body.Resolver) -> dict[int, str | None]:
        """Row trigger functions of the written tables that may touch distributed tables
        because every statement of theirs stays on the row's node: by oid, None when proven,
        else why not."""
        out: dict[int, str | None] = {}
        for name, table in on_nodes.items():
            for oid in registry.row_trigger_functions_at.get(name, ()):
                found = await self._load(dispatcher, registry, {oid}, set())
                if not found or (oid in out and out[oid] is not None):
                    continue  # a function refused for one table is refused
                key = (oid, table.schema, table.name, path)
                if key not in registry.trigger_pins:  # one proof per epoch and search path
                    registry.trigger_pins[key] = await _trigger_pin_reason(
                        self, dispatcher, registry, found[0][0], table, snapshot, path, resolve)
                out[oid] = registry.trigger_pins[key]
        return out

    async def _walk(self, dispatcher: Dispatcher, registry: _Registry, oids: set[int],
                    calls: set[tuple[str | None, str]], path: tuple[str, ...],
                    resolve: body.Resolver,
                    reads: dict[tuple[str, str], tuple[DistTable, PgError]] | None = None,
                    visit: Callable[[body.Routine, body.Access, str], PgError | None] | None = None,
                    edges: dict[int, set[int]] | None = None) -> PgError | None:
        """Breadth-first over the routines reachable from the statement; `via` remembers
        which routine called which, for the message. With `reads`, replicated tables that
        are only read are collected there (with the refusal to use if they cannot be
        honoured) instead of refused."""
        seen: set[int] = set()
        via_oid: dict[int, str] = {}
        via_call: dict[tuple[str | None, str], str] = {}
        # with `edges`: who may call whom (0: the statement), for paths and roles
        call_parents: dict[tuple[str | None, str], set[int]] = {c: {0} for c in calls}
        # The search paths an unqualified call may be resolved with (None: any schema): a
        # routine in a schema off all of them cannot be the one called (PostgreSQL never
        # looks in pg_temp for functions), so another tenant's routine of the name is not
        # checked (it made the statement's refusal name that routine)
        call_paths: dict[tuple[str | None, str], set[tuple[str, ...]] | None] = {c: {path} for c in calls}
        found_routines: dict[int, body.Routine] = {}
        if edges is not None:
            for oid in oids:
                edges.setdefault(oid, set()).add(0)
        while oids or calls:
            if len(seen) > MAX_ROUTINES:
                return PgError(FEATURE_NOT_SUPPORTED,
                               "server-side code calls too many routines for gridpg to check")
            wanted = oids - seen
            found = await self._load(dispatcher, registry, wanted, calls)
            found = [(r, a) for r, a in found if r.oid in wanted or _callable(r, calls, call_paths)]
            calls_of_last_round = {r.oid: r.oid in wanted for r, _ in found}
            oids, calls = set(), set()
            for routine, access in found:
                if routine.oid in seen:
                    continue
                seen.add(routine.oid)
                caller = via_oid.get(routine.oid) or via_call.get((routine.schema, routine.name)) \
                    or via_call.get((None, routine.name))
                title = routine.title + (f" (called by {caller})" if caller else "")
                if visit is not None:
                    error = visit(routine, access, title)
                else:
                    snapshot = dispatcher.runner.snapshot()
                    error = _check(routine, access, path, resolve, title, reads,
                                   _view_resolver(dispatcher, snapshot), wide_path(snapshot, path))
                if error is not None:
                    return error
                found_routines[routine.oid] = routine
                for oid in (*routine.support, *registry.operator_functions(access)):
                    via_oid.setdefault(oid, title)
                    oids.add(oid)
                    if edges is not None:
                        edges.setdefault(oid, set()).add(routine.oid)
                run_paths = _run_paths(routine, calls_of_last_round.get(routine.oid, True), call_paths)
                for call in body.user_calls(access, registry.names, registry.row_argument_names):
                    via_call.setdefault(call, routine.title)
                    calls.add(call)
                    call_parents.setdefault(call, set()).add(routine.oid)
                    known = call_paths.get(call, set())
                    call_paths[call] = None if known is None or run_paths is None else known | run_paths
        if edges is not None:
            for routine in found_routines.values():
                for (schema, name), parents in call_parents.items():
                    if name.lower() == routine.name.lower() and schema in (None, routine.schema):
                        edges.setdefault(routine.oid, set()).update(parents)
        return None

    async def _load(self, dispatcher: Dispatcher, registry: _Registry, oids: set[int],
                    calls: set[tuple[str | None, str]]) -> list[tuple[body.Routine, body.Access]]:
        """Routines by oid and by called name (every overload: the server picks one)."""
        known = {c for c in calls if c in registry.by_call}
        oids = oids | {o for c in known for o in registry.by_call[c]}
        calls = calls - known
        out = [registry.access[o] for o in oids if o in registry.access]
        wanted = [o for o in oids if o not in registry.access]
        conditions = []
        if wanted:
            conditions.append(f"p.oid IN ({', '.join(str(int(o)) for o in wanted)})")
        for schema, name in calls:
            cond = f"p.proname = {quote_literal(name)}"
            if schema is not None:
                cond += f" AND n.nspname = {quote_literal(schema)}"
            conditions.append(f"({cond} AND {_USER_SCHEMAS})")
        if not conditions:
            return out
        private = _sees_own_catalog(dispatcher)
        async with _CatalogConnection(dispatcher, private) as conn:
            rows = await conn.query(_ROUTINES_SQL + " OR ".join(conditions))
        for row in rows:
            routine = _routine(row)
            cached = registry.access.get(routine.oid)
            if cached is None:
                cached = (routine, body.routine_access(routine))
                registry.access[routine.oid] = cached
            out.append(cached)
        for schema, name in calls:
            registry.by_call[(schema, name)] = [
                r.oid for r, _ in out if r.name == name and schema in (None, r.schema)]
        return out


def _callable(routine: body.Routine, calls: set[tuple[str | None, str]],
              call_paths: dict[tuple[str | None, str], set[tuple[str, ...]] | None]) -> bool:
    """Whether one of `calls` may resolve to `routine`: named with its schema, or
    unqualified with a search path that has its schema (or with paths not known)."""
    for schema, name in calls:
        if name.lower() != routine.name.lower():
            continue
        if schema is not None:
            if schema == routine.schema:
                return True
            continue
        paths = call_paths.get((schema, name))
        if paths is None or any(routine.schema in p for p in paths):
            return True
    return False


def _run_paths(routine: body.Routine, by_oid: bool,
               call_paths: dict[tuple[str | None, str], set[tuple[str, ...]] | None]) -> set[tuple[str, ...]] | None:
    """The search paths `routine` may run with (None: not known): its own SET search_path,
    else those of the calls that reach it; not known when it was reached otherwise (a
    trigger, an operator, a type's support function) or its body may change the path."""
    if body.mentions_search_path(body.body_text(routine.definition)):
        return None
    if routine.search_path is not None:
        if any(e.startswith("$") for e in routine.search_path):
            return None  # ("$user": the role it runs as)
        return {tuple(routine.search_path)}
    if by_oid:
        return None
    out: set[tuple[str, ...]] = set()
    for key in ((None, routine.name), (routine.schema, routine.name)):
        if key not in call_paths:
            continue
        paths = call_paths[key]
        if paths is None:
            return None
        out |= paths
    return out or None


def _reaches(parent: tuple[str, str], fk_actions: dict[tuple[str, str], list[tuple[tuple[str, str], str, str]]],
             with_triggers: set[tuple[str, str]]) -> bool:
    """Whether a foreign-key action from `parent` reaches, directly or through further
    actions, a table with user triggers."""
    todo, seen = [parent], {parent}
    while todo:
        for child, _, _ in fk_actions.get(todo.pop(), ()):
            if child in with_triggers:
                return True
            if child not in seen:
                seen.add(child)
                todo.append(child)
    return False


def _check(routine: body.Routine, access: body.Access, path: tuple[str, ...],
           resolve: body.Resolver, title: str,
           reads: dict[tuple[str, str], tuple[DistTable, PgError]] | None,
           views: body.ViewResolver | None = None, wide: tuple[str, ...] = ()) -> PgError | None:
    blocker = access.blocker()
    if blocker is not None:
        return _refusal(title, blocker)
    called = access.sequence_call()
    if called is not None:  # (run with the loopback armed where the statement allows it)
        return _sequence_refusal(title, called)
    if wide and changes_path(routine):
        path = wide  # its names may mean any schema's tables
        routine = body.Routine(routine.oid, routine.schema, routine.name, routine.signature,
                               routine.language, routine.kind, routine.definition)
    writes = access.all_writes()
    for ref in access.all_relations():
        if ref.schema in body.SYSTEM_SCHEMAS:
            continue
        table = resolve(ref, routine.search_path or path)
        if table is None:
            view = views(ref, routine.search_path or path) if views is not None else None
            if view is not None:
                return _refusal(title, f"it reads view {view[0]}.{view[1]} over distributed tables")
            continue
        refusal = _refusal(title, _touches(table))
        if reads is None or table.method != "replication" or ref.name.lower() in writes:
            return refusal
        reads.setdefault((table.schema, table.name), (table, refusal))
    return None


async def _trigger_pin_reason(guard: RoutineGuard, dispatcher: Dispatcher, registry: _Registry,
                              routine: body.Routine, table: DistTable, snapshot: CatalogSnapshot,
                              path: tuple[str, ...], resolve: body.Resolver) -> str | None:
    """None when a row trigger of `table`, firing on the datanode that holds the row, gives
    PostgreSQL's answer although it touches distributed tables: each of its statements on
    a table colocated with `table` is pinned to the row's distribution value (NEW.col or
    OLD.col, as create_distributed_function's proof pins the argument), replicated tables
    are only read, and what runs beside it (nested calls, the triggers of the tables it
    writes) touches no distributed table."""
    from gridpg.executor.delegation import _sequence_drawn_columns, _table_columns
    from gridpg.sql import plpgsql

    if routine.language.lower() != "plpgsql" or table.method not in ("hash", "modulo") or not table.column:
        return "it is not a PL/pgSQL row trigger of a hash or modulo table"
    own_path = routine.search_path or path
    parsed = body.routine_body(routine)
    if f"new.{table.column.lower()}" in plpgsql.assigned_targets(routine.definition):
        return f"it assigns the distribution column NEW.{table.column}"
    columns = await _table_columns(dispatcher, parsed, resolve, own_path)
    if table.key not in columns:  # (for NEW.* written out: `INSERT INTO child VALUES (NEW.*)`)
        columns[table.key] = [c.name for c in await dispatcher.coord.table_columns(dispatcher.runner, table)]
    drawn = await _sequence_drawn_columns(dispatcher, parsed, resolve, own_path)
    argument = delegation_shape.trigger_argument(routine.name, table.column)
    reason = delegation_shape.why_not_delegable(parsed, argument, set(), table, snapshot, resolve,
                                                own_path, lambda t: columns.get((t.schema, t.name)),
                                                lambda t: drawn.get((t.schema, t.name), frozenset()))
    if reason is not None:
        return f"{reason} (a trigger writing other tables runs on the row's datanode)"
    access = body.routine_access(routine)
    oids = {oid for tree in parsed.trees for name in body.written_names(tree)
            for oid in registry.on_write.get(name, ())} | registry.operator_functions(access)
    error = await guard._walk(dispatcher, registry, oids, body.user_calls(access, registry.names, registry.row_argument_names),
                              own_path, resolve)
    return error.message if error is not None else None


def _hands_out_cursors(routine: body.Routine) -> bool:
    """A routine whose result or OUT arguments are cursors (`RETURNS refcursor`, `INOUT c
    refcursor`): the portals it opens stay open after it returns, for the caller's FETCH."""
    header = re.split(r"\n(?:AS |BEGIN ATOMIC)", routine.definition or "", maxsplit=1)[0]
    return "refcursor" in header.lower()


def _reroute(tree: dict[str, Any], access: body.Access,
             reads: dict[tuple[str, str], tuple[DistTable, PgError]]) -> PgError | str | NodeLocal:
    """A statement whose only table access is user code reading replicated tables (`SELECT
    f(...)`, `CALL p(...)`) runs on a datanode that holds them all: the group's name. A
    SELECT that reads tables itself besides may run where its plan keeps that code on the
    datanodes (NodeLocal). Anything else would run that code on the catalog server, which
    holds them empty."""
    refusal = next(iter(reads.values()))[1]
    groups = set.intersection(*(set(t.groups) for t, _ in reads.values()))
    if access.relations and not access.nested and not access.writes and sqlparse.node_type(tree) == "SelectStmt" \
            and not analyze.has_node(tree, "lockingClause", "IntoClause") and groups:
        return NodeLocal(frozenset(groups), refusal)
    if access.relations or access.nested or sqlparse.node_type(tree) not in ("SelectStmt", "CallStmt"):
        return refusal
    return min(groups) if groups else refusal


def _trigger_refusal(tree: dict[str, Any], registry: _Registry, path: tuple[str, ...],
                     resolve: body.Resolver, excluded: tuple[str, str] | None = None) -> PgError | None:
    """Triggers whose firing on the datanodes would differ from PostgreSQL's: statement-level
    ones fire once per datanode a write reaches; an UPDATE that moves rows between nodes
    (it sets the distribution column) fires DELETE and INSERT row triggers, not UPDATE.
    Each written table resolved with its schema, as written (`b.t` with `a` first on the
    path was checked as `a.t`, its triggers not at all)."""
    for ref in body.written_relations(tree):
        table = resolve(ref, path)
        if table is None or table.key == excluded:
            continue
        label = f"{table.schema}.{table.name}"
        if table.key in registry.statement_triggers_at:
            return _refusal(f"the statement-level triggers of {label}",
                            "they would fire once on each datanode the statement reaches")
        if table.key in registry.row_triggers_at and firing_mod.moves_rows(tree, table):
            # (an assignment keeping the value moves nothing: planner/writes.updates_column)
            return _refusal(f"the triggers of {label} for an UPDATE of its distribution column",
                            "the rows move between datanodes as DELETE and INSERT")
    return None


def _defaults_used(tree: dict[str, Any], registry: _Registry) -> dict[str, set[int]]:
    """The user routines of the column defaults a statement may evaluate, by relation:
    INSERT and COPY FROM fill the columns they do not list (all of them when INSERT lists
    none: the column order is not known here), DEFAULT items and MERGE use any."""
    out: dict[str, set[int]] = {}
    for node in analyze._walk(tree):
        if not isinstance(node, dict):
            continue
        for kind in ("InsertStmt", "UpdateStmt", "MergeStmt", "CopyStmt"):
            stmt = node.get(kind)
            if not isinstance(stmt, dict) or (kind == "CopyStmt" and not stmt.get("is_from")):
                continue
            name = str((stmt.get("relation") or {}).get("relname", "")).lower()
            columns = registry.defaults.get(name)
            if not columns:
                continue
            uses = _uses_default(kind, stmt)
            for column, oids in columns.items():
                if uses(column):
                    out.setdefault(name, set()).update(oids)
    return out


def _uses_default(kind: str, stmt: dict[str, Any]) -> Callable[[str], bool]:
    """Whether a write may evaluate a column's default."""
    if kind == "MergeStmt" or analyze.has_node(stmt, "SetToDefault"):
        return lambda column: True
    if kind == "UpdateStmt":
        return lambda column: False
    cols = stmt.get("cols") if kind == "InsertStmt" else stmt.get("attlist")
    if not cols:  # INSERT without a column list may leave any out; COPY gives them all
        return (lambda column: True) if kind == "InsertStmt" else (lambda column: False)
    listed = {str(c.get("ResTarget", {}).get("name") or c.get("String", {}).get("sval", "")) for c in cols}
    return lambda column: column not in listed


# Statements that drop nothing and rewrite no table, in PostgreSQL and in what gridpg runs
# for them on any server: sql_drop and table_rewrite event triggers do not fire for them
# (PostgreSQL fires sql_drop only when the command dropped objects). CREATE TABLE, CREATE
# INDEX, ALTER TABLE, CREATE VIEW are not among them: gridpg may rebuild a table for them
# (a foreign key's parent made a REPLICATION table, a unique key without the distribution
# column), dropping the old one on the datanodes.
_NEITHER_DROPS_NOR_REWRITES = frozenset({
    "CreateFunctionStmt", "AlterFunctionStmt", "CommentStmt", "GrantStmt", "SecLabelStmt", "DefineStmt",
    "CreateEnumStmt", "CompositeTypeStmt", "CreateDomainStmt", "CreateSeqStmt", "CreateCastStmt",
    "CreateTrigStmt", "CreatePolicyStmt", "CreateStatsStmt",
})
_DROP_OR_REWRITE_EVENTS = frozenset({"sql_drop", "table_rewrite"})


def _event_functions_fired(tree: dict[str, Any], registry: _Registry) -> set[int]:
    """The functions of the enabled event triggers a DDL statement may fire: none for
    statements on event triggers; without sql_drop and table_rewrite ones for statements
    that drop and rewrite nothing (a sql_drop trigger reading a distributed table refused
    every CREATE FUNCTION, event_trigger.sql:241)."""
    if not registry.event_functions or _on_event_triggers(tree):
        return set()
    kind = sqlparse.node_type(tree)
    quiet = kind in _NEITHER_DROPS_NOR_REWRITES or (
        kind == "CreateSchemaStmt" and not tree[kind].get("schemaElts")) or _creates_lone_table(tree)
    tag = _command_tag(tree)
    return {oid for oid, events in registry.event_functions.items()
            if (not quiet or events - _DROP_OR_REWRITE_EVENTS)
            and (tag is None or registry.event_tags.get(oid) is None or tag in (registry.event_tags.get(oid) or ()))}


def _command_tag(tree: dict[str, Any]) -> str | None:
    """The command tag a DDL statement fires event triggers with, for the kinds gridpg runs
    as written on every server and nothing else with them (so no other tag fires there):
    an event trigger `WHEN TAG IN (...)` without it does not fire (a DROP TABLE guard
    reading a distributed table refused every CREATE FUNCTION). None: not known here (every
    trigger counts)."""
    kind = sqlparse.node_type(tree)
    body = tree.get(kind) or {}
    if kind == "CreateFunctionStmt":
        return "CREATE PROCEDURE" if body.get("is_procedure") else "CREATE FUNCTION"
    if kind == "GrantStmt":
        return "GRANT" if body.get("is_grant") else "REVOKE"
    return _FIXED_TAGS.get(kind)


# (not CREATE INDEX or CREATE TABLE: the datanodes rename the shards' indexes after them,
# ALTER INDEX, commands/shard_indexes.py)
_FIXED_TAGS = {"CommentStmt": "COMMENT", "ViewStmt": "CREATE VIEW", "CreateTrigStmt": "CREATE TRIGGER"}


def _creates_lone_table(tree: dict[str, Any]) -> bool:
    """CREATE TABLE of a table without foreign keys, parent or partition bound: gridpg
    places it as it creates it, rebuilding no other table."""
    body = tree.get("CreateStmt")
    if not isinstance(body, dict) or body.get("partbound") or body.get("inhRelations"):
        return False
    return not any(isinstance(node, dict) and (node.get("Constraint") or {}).get("contype") == "CONSTR_FOREIGN"
                   for node in analyze._walk(body))


def _on_event_triggers(tree: dict[str, Any]) -> bool:
    """Statements on event triggers themselves, which fire none."""
    kind = sqlparse.node_type(tree)
    if kind in ("CreateEventTrigStmt", "AlterEventTrigStmt"):
        return True
    return kind == "DropStmt" and tree[kind].get("removeType") == "OBJECT_EVENT_TRIGGER"


def _tree(sql: str) -> dict[str, object] | None:
    from gridpg.sql.xl import extract_distribution

    try:
        return sqlparse.parse_tree(extract_distribution(sql)[0])
    except PgError:
        return None


def _call(sql: str) -> Any:
    tree = _tree(sql)
    return None if tree is None else delegation_shape.call_of(tree)


def _routine(row: tuple[str | None, ...]) -> body.Routine:
    oid, schema, name, signature, language, kind, definition, path, support, secdef, owner, symbol = row
    search_path = None
    if path:
        search_path = tuple(p.strip().strip('"') for p in path.split(",") if p.strip())
    return body.Routine(
        int(oid or 0), schema or "", name or "", signature or "", language or "", kind or "f",
        definition or "", search_path,
        tuple(int(o) for o in (support or "").split(",") if o and o != "0"),
        secdef == "t", owner or "", symbol or "",
    )


def _resolver(dispatcher: Dispatcher, snapshot: CatalogSnapshot) -> body.Resolver:
    planner = dispatcher.coord.planner

    def resolve(ref: analyze.RelRef, path: tuple[str, ...]) -> DistTable | None:
        if planner is None:
            return None
        return planner.resolve(snapshot, ref, list(path))

    return resolve


def _view_resolver(dispatcher: Dispatcher, snapshot: CatalogSnapshot) -> body.ViewResolver:
    """Views whose definitions reach distributed tables (through other views too)."""
    views = dispatcher.runner.views()
    resolve = _resolver(dispatcher, snapshot)
    temp_views = dispatcher.runner.temp_views_over_distributed & dispatcher.runner.temps.names

    def over_distributed(key: tuple[str, str], depth: int) -> bool:
        definition = views.get(key)
        if definition is None or depth > 8:
            return False
        try:
            tree = sqlparse.parse_tree(definition)
        except PgError:
            return True  # cannot be read: taken as reaching them
        for ref in analyze.relations(tree):
            if ref.schema in body.SYSTEM_SCHEMAS:
                continue
            if resolve(ref, ()) is not None:
                return True
            if ref.schema is not None and over_distributed((ref.schema, ref.name), depth + 1):
                return True
        return False

    def view_of(ref: analyze.RelRef, path: tuple[str, ...]) -> tuple[str, str] | None:
        if ref.name in temp_views and tempnames.shadows(path, ref.schema, ref.name):
            return ("pg_temp", ref.name)  # the catalog server would read its tables' empty copies
        if not views:
            return None
        schemas = (ref.schema,) if ref.schema is not None else path
        for schema in schemas:
            key = (schema, ref.name)
            if key in views:
                return key if over_distributed(key, 0) else None
        return None

    return view_of


def _replica_divergence(routine: body.Routine, access: body.Access, title: str,
                        time_pinned: frozenset[int] = frozenset()) -> PgError | None:
    """The refusal of row-trigger code (and what it calls) each replica of a REPLICATION
    table would compute differently, or None (a `_walk` visit). `time_pinned`: trigger
    functions whose copies on the table's datanodes read now() and the like from the
    coordinator's instant (sql/trigger_relation.py): those reads are the same on every
    replica."""
    diverging = _diverging_call(access)
    if diverging is not None:
        return _refusal(title, f"it calls {diverging}(), which each replica of the table would compute "
                        "for itself")
    clock = _reads_clock(routine, routine.oid in time_pinned)
    if clock is not None:
        return _refusal(title, f"it reads {clock}, the transaction's start on each replica, which "
                        "differs between them")
    return None


def _diverging_call(access: body.Access) -> str | None:
    """A built-in the code calls whose value two servers computing the same row would
    give differently (`random()`, `clock_timestamp()`, `gen_random_uuid()`:
    planner/replicas.py), or None. `now()` and the other transaction-time calls are pinned
    to one instant on every node (sql/xact_time.py)."""
    for schema, name in sorted(access.all_calls(), key=lambda c: (c[0] or "", c[1])):
        if schema in (None, "pg_catalog") and name.lower() in replicas.VOLATILE_BUILTINS:
            return name.lower()
    return None


# The transaction's time in code (CURRENT_TIMESTAMP and the like are keywords, not calls):
# pinned in a statement's text (sql/xact_time.py), but not inside code a datanode runs,
# where it is that node's own transaction start.
_CLOCK_WORDS = re.compile(r"\b(now|transaction_timestamp|statement_timestamp|current_timestamp|current_time|"
                          r"current_date|localtime|localtimestamp)\b|'(now|today|tomorrow|yesterday)'",
                          re.IGNORECASE)


def _reads_clock(routine: body.Routine, pinned: bool = False) -> str | None:
    """The transaction-time call in a routine's body, as written, or None; `pinned`: one
    that its datanodes' copies do not read from the coordinator's instant."""
    text = body.body_text(routine.definition)
    source = trigger_relation.body_source(routine.definition) if pinned else None
    if source is not None:
        text = trigger_relation.without_time_reads(source)
    found = _CLOCK_WORDS.search(text)
    return found.group(0) if found else None


_PINNED_COPY_SQL = ("SELECT p.prosrc LIKE {mark} FROM pg_catalog.pg_proc p "
                    "WHERE p.oid = pg_catalog.to_regprocedure({signature})")


async def time_pinned_copies(dispatcher: Dispatcher, routines: list[body.Routine],
                             groups: tuple[str, ...]) -> frozenset[int]:
    """The trigger functions (no arguments, PL/pgSQL) among `routines` whose copy on every
    one of `groups` reads the transaction's time from the coordinator's instant
    (sql/trigger_relation.py; a function made before gridpg rewrote them, or in the
    running block, does not count). Read once per catalog epoch, function and node."""
    coord = dispatcher.coord
    epoch = coord.snapshot.epoch if coord.snapshot is not None else 0
    cache: dict = coord.__dict__.setdefault("time_pinned_copies", {})
    if len(cache) > 5000:
        cache.clear()
    out = set()
    for routine in routines:
        if routine.language.lower() != "plpgsql" or routine.signature or not _CLOCK_WORDS.search(
                body.body_text(routine.definition)):
            continue
        signature = f"{quote_ident(routine.schema)}.{quote_ident(routine.name)}()"
        pinned = True
        for group in groups:
            key = (epoch, group, routine.oid)
            if key not in cache:
                rows = await coord.internal_query(group, _PINNED_COPY_SQL.format(
                    mark=quote_literal("%" + trigger_relation.PINNED_MARK + "%"),
                    signature=quote_literal(signature)))
                cache[key] = bool(rows) and rows[0][0] == "t"
            pinned = pinned and cache[key]
        if pinned:
            out.add(routine.oid)
    return frozenset(out)


def is_volatile(routine: body.Routine) -> bool:
    """Whether a routine is VOLATILE, read from its pg_get_functiondef header (which names
    STABLE and IMMUTABLE only)."""
    header = re.split(r"\n ?AS ", routine.definition, maxsplit=1)[0]
    return re.search(r"^ (STABLE|IMMUTABLE)\b", header, re.MULTILINE) is None


def _touches(table: DistTable) -> str:
    kind = "replicated" if table.method == "replication" else "distributed"
    return f"it reads or writes {kind} table {table.schema}.{table.name}"


def changes_path(routine: body.Routine) -> bool:
    """The body may change search_path while it runs (`SET search_path`, `set_config(
    'search_path', ...)`): the names it uses after that cannot be resolved beforehand."""
    return body.mentions_search_path(body.body_text(routine.definition))


def wide_path(snapshot: CatalogSnapshot, path: tuple[str, ...]) -> tuple[str, ...]:
    """`path` followed by every schema holding a distributed table: a name resolved with it
    meets a distributed table of that name wherever one is (for code that may change its
    search path at run time)."""
    return tuple(dict.fromkeys((*path, *sorted({t.schema for t in snapshot.tables}))))


def _names_views(sql: str, views: set[str] | frozenset[str]) -> bool:
    """Whether the statement names one of the session's temp `views` (or cannot be read)."""
    tree = _tree(sql)
    if tree is None:
        return True
    return any(_names_view(r, views) for r in analyze.relations(tree))


def _names_view(ref: analyze.RelRef, views: set[str] | frozenset[str]) -> bool:
    """Whether a reference names one of the session's temp `views` (unqualified or in pg_temp)."""
    return ref.name.lower() in views and (ref.schema is None or tempnames.is_temp_schema(ref.schema))


def _is_code_block(sql: str) -> bool:
    """A DO block or CALL: code that runs on the catalog server."""
    try:
        return sqlparse.node_type(sqlparse.parse_tree(sql)) in ("DoStmt", "CallStmt")
    except PgError:
        return False


def _sequence_blocker(access: body.Access) -> str | None:
    """Why code run with the loopback armed cannot reach the GTM's sequences by its
    sequence calls (None: it can, or calls none): the armed search_path sends
    unqualified calls to the loopback's functions only."""
    qualified = access.qualified_sequence_call()
    if qualified is not None:
        return (f"it calls {qualified} with its schema, which gridpg cannot send to the cluster-wide "
                "sequence (write it without pg_catalog.)")
    called = access.sequence_call()
    if called is not None and access.atomic:
        return f"its BEGIN ATOMIC body is bound to the catalog server's own {called} (its sequences are cluster-wide)"
    return None


def _sequence_refusal(what: str, called: str) -> PgError:
    return PgError(
        FEATURE_NOT_SUPPORTED,
        f"gridpg cannot run {what}: it calls {called}, whose sequences are cluster-wide",
        detail="Its code would run inside one PostgreSQL server (a datanode, or the catalog server), "
               "which holds only its own copy of each sequence: values would repeat across servers.",
        hint="Call the routine in a statement of its own (SELECT f(...), CALL, DO), or take the "
             "value with SELECT nextval(...) in the client.",
    )


def _fdw_parameter_blocker(access: body.Access, what: str, path: tuple[str, ...],
                           seen: dict[int, tuple[body.Routine, body.Access, str]],
                           edges: dict[int, set[int]], paths: dict[int, Any], bound: set[int],
                           resolve: body.Resolver, views: body.ViewResolver) -> PgError | None:
    """The refusal for code that calls, inside a sub-select of a statement over a
    distributed table or a view over one, a routine whose names must reach the shadows or
    the GTM's sequence functions (`bound`: it reads or writes distributed tables or calls
    sequence functions; or it calls such a routine). Over the shadow, postgres_fdw sends an
    uncorrelated sub-select's value as a parameter of the remote query and computes it
    with search_path = pg_catalog in force (its `set_transmission_modes`): the routine's
    names would miss the shadows (42P01) or, named with their schema, reach the catalog
    server's own copies (`nextval('app.s')` there takes the catalog server's sequence, not
    the cluster's), where PostgreSQL reads the tables themselves."""
    # (a routine with its own SET search_path (its twin) sets its path on entry)
    risky = {oid for oid in bound if oid in seen and seen[oid][0].search_path is None}
    grew = True
    while grew:  # (the callers of such a routine: its call resolves by the same path)
        grew = False
        for callee, callers in edges.items():
            if callee in risky:
                for caller in callers - risky - {0}:
                    if caller in seen and seen[caller][0].search_path is None:
                        risky.add(caller)
                        grew = True
    if not risky:
        return None
    candidates: list[tuple[body.Access, str, list[tuple[str, ...]]]] = [(access, what, [path])]
    candidates += [(routine_access, title, list(paths.get(oid, [path])))
                   for oid, (_, routine_access, title) in seen.items()]
    for code, title, run_paths in candidates:
        for relations, calls in code.all_sublinks():
            for run_path in run_paths:
                over = next((target for ref in relations if ref.schema not in body.SYSTEM_SCHEMAS
                             for target in [_target(ref, run_path, resolve, views)] if target is not None), None)
                if over is None:
                    continue
                called = next((seen[oid][0] for oid in sorted(risky) for schema, name in sorted(calls, key=str)
                               if name.lower() == seen[oid][0].name.lower()
                               and schema in (None, seen[oid][0].schema)), None)
                if called is not None:
                    # (in the statement's own text, the sub-select may run first: `before`)
                    return (_SublinkRefusal if code is access else PgError)(
                        FEATURE_NOT_SUPPORTED,
                        f"gridpg cannot run {title}: it calls {called.title} in a sub-select of a "
                        f"statement over {over[0]}.{over[1]}, which gridpg would evaluate with "
                        "search_path = pg_catalog (postgres_fdw computes a sub-select's value that way "
                        "for the remote statement), where its names would not reach the cluster's tables and sequences",
                        hint="Take the value into a variable first (SELECT ... INTO v) and use the "
                             "variable in the statement.")
    return None


def side_effect_names(registry: _Registry) -> frozenset[str]:
    """The names of the user's routines read so far whose calls change something: they
    write tables, run DDL or dynamic SQL, change settings, draw from sequences, or call
    such a routine (by name). PostgreSQL calls one only when a row needs its value
    (planner/lazy_initplans.py); calling it first, or once more, is seen."""
    if registry.side_effects[0] == len(registry.access):
        return registry.side_effects[1]
    changing: set[str] = set()
    calls: dict[str, set[str]] = {}
    for routine, access in registry.access.values():
        name = routine.name.lower()
        if _changes_something(access):
            changing.add(name)
        calls.setdefault(name, set()).update(n.lower() for _, n in access.all_calls())
    grew = True
    while grew:
        grew = False
        for name, called in calls.items():
            if name not in changing and called & changing:
                changing.add(name)
                grew = True
    registry.side_effects = (len(registry.access), frozenset(changing))
    return registry.side_effects[1]


def _changes_something(access: body.Access) -> bool:
    if access.writes or access.dynamic is not None or access.utility or access.settings:
        return True
    if any(name.lower() in ("nextval", "setval") for _, name in access.calls):
        return True
    return any(_changes_something(inner) for inner in access.nested)


class _SublinkRefusal(PgError):
    """`_fdw_parameter_blocker`'s refusal for a sub-select of the statement's own text:
    `RoutineGuard.before` runs such sub-selects first when they are uncorrelated scalars."""


async def _sublinks_first(dispatcher: Dispatcher, request: ExecRequest, registry: _Registry) -> bool:
    """Run the statement's uncorrelated scalar sub-selects that call user code first, each
    a statement of its own (its code with the session's search_path, through the loopback
    when it reads distributed tables), then the statement with their values in place
    (executor/subplans.py). False: it has none; the refusal stands."""
    from gridpg.executor import subplans

    plan = await subplans.plan_recursive(dispatcher, request.sql, calling=registry.names)
    if isinstance(plan, str):
        return False
    await subplans.run_recursive(dispatcher, request, plan, checked=True)
    return True


def _target(ref: analyze.RelRef, path: tuple[str, ...], resolve: body.Resolver,
            views: body.ViewResolver) -> tuple[str, str] | None:
    table = resolve(ref, path)
    return (table.schema, table.name) if table is not None else views(ref, path)


def _refusal(what: str, why: str) -> PgError:
    return PgError(
        FEATURE_NOT_SUPPORTED,
        f"gridpg cannot run {what}: {why}",
        detail="Functions, procedures, DO blocks and triggers run inside one PostgreSQL server "
               "(the catalog server holds distributed tables empty, a datanode holds only its "
               "shards), so their statements would not see or change the cluster's rows.",
        hint="Run those statements from the client, or keep server-side code on tables that "
             "are not distributed.",
    )


def _registry_owner(runner: Any) -> Any:
    """Whose private registry a runner reads: a loopback planning with its caller's block's
    catalog (frontend/loopback.py) reads the caller's, made when the caller's statement was
    checked (the caller's catalog connection is busy running the code)."""
    if getattr(runner, "is_loopback", False) and runner.__dict__.get("_private_snapshot") is None:
        return runner.caller
    return runner


def _sees_own_catalog(dispatcher: Dispatcher) -> bool:
    """Whether the statement's transaction sees a catalog of its own: it ran DDL (a
    private catalog view), or DDL on the session's temp objects that no other connection
    sees before COMMIT (a trigger made on a temp table in the open block)."""
    runner = dispatcher.runner
    temps = getattr(runner, "temps", None)
    return runner.private_snapshot is not None or bool(getattr(temps, "ddl_in_block", False))


class _CatalogConnection:
    """The transaction's catalog connection when it ran DDL (its catalog differs), else a
    connection of the coordinator's own."""

    def __init__(self, dispatcher: Dispatcher, private: bool) -> None:
        self.dispatcher = dispatcher
        self.private = private
        self.conn: BackendConnection | None = None

    async def __aenter__(self) -> BackendConnection:
        coord = self.dispatcher.coord
        if self.private:
            self.conn = await self.dispatcher.runner.txn.connection(coord.catalog_node, wants_block=True)
        else:
            self.conn = await coord.internal_acquire(coord.catalog_node)
        return self.conn

    async def __aexit__(self, *exc: object) -> None:
        if not self.private and self.conn is not None:
            coord = self.dispatcher.coord
            pool = coord.pools.pool(coord.catalog_node)
            if exc[0] is None and self.conn.is_clean:
                pool.release(self.conn)
            else:
                pool.discard(self.conn)


def _writes_temp_table(tree: dict[str, Any], kind: str, path: tuple[str, ...]) -> bool:
    """An UPDATE or DELETE of one of the session's temp tables (which the catalog server
    holds, on the session's own connection): its triggers run there, armed like an
    INSERT's (0A000 before)."""
    if kind not in ("UpdateStmt", "DeleteStmt"):
        return False
    relation = tree[kind].get("relation") or {}
    return tempnames.shadows(path, relation.get("schemaname"), str(relation.get("relname", "")))


def _written_routines(tree: dict[str, Any], access: body.Access, registry: _Registry) -> set[int]:
    """The routines a write into catalog-server relations runs: the written relations'
    triggers and used defaults, and what depends on the relations it names (rules, checks)."""
    written = body.written_names(tree)
    used = _defaults_used(tree, registry)
    oids = {oid for name in written for oid in (*registry.on_write.get(name, ()), *used.get(name, ()))}
    oids |= {oid for ref in access.relations for oid in registry.dependents.get(ref.name.lower(), ())}
    oids |= registry.rule_code(tree)
    return oids
