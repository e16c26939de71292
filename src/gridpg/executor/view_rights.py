"""Reading views over distributed tables with the rights PostgreSQL gives: the view owner's.

A role granted SELECT on a view (and nothing on its tables) reads the view in PostgreSQL:
the tables inside it are checked against the view owner. Plans that run the client's text
on the datanodes (router, pushdown, merge, two-phase) get that from the nodes' own copies
of the views. A plan that inlined the views and reads their tables itself (stages with
exchanges, the coordinator finish) would read them with the session's rights and fail
with 42501 where PostgreSQL answers.

Such a SELECT (`DistributedPlan.view_sql`, planner/core.py `_through_views`) is checked
first on the session's catalog connection with the session's own role and settings:
`EXPLAIN (GENERIC_PLAN)` of the client's text runs PostgreSQL's permission checks (views,
their owners, `security_invoker`, column privileges) without reading a row. Passed, the
plan runs with the cluster superuser's rights on every node (SET LOCAL SESSION
AUTHORIZATION in the statement's block, put back after it), which the check has bounded
to what PostgreSQL allows. Not done, so the session's own rights apply as before (42501
where they do not suffice, never more rows), when the superuser could see or compute
something else than the session: a table with row-level security, a `security_barrier`
or `security_invoker` view, `current_user` and its kin or a privilege function, a user
routine (it would run as the superuser, `current_user` inside it changed).

This module must not plan; it wraps the running of a plan.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from gridpg.errors import FEATURE_NOT_SUPPORTED, PgError
from gridpg.planner import analyze
from gridpg.sql import parse as sqlparse
from gridpg.sql.quote import quote_ident, quote_literal, quote_qualified

if TYPE_CHECKING:
    from gridpg.executor.dispatch import Dispatcher
    from gridpg.planner.plan import DistributedPlan

# Functions whose answer depends on the role asking (and every `pg_*` function: some show
# the superuser more than a role, whatever its grants), or that act beyond the rows read.
_ROLE_FUNCTIONS = ("current_user", "current_role", "session_user", "user", "row_security_active",
                   "current_setting", "current_schema", "current_schemas", "nextval", "setval",
                   "currval", "lastval", "set_config", "lo_import", "lo_export", "dblink")
_UNSAFE_SQL = """
SELECT coalesce(bool_or(c.relrowsecurity OR c.relforcerowsecurity
                        OR coalesce(c.reloptions::text[] && ARRAY['security_barrier=true', 'security_barrier=on',
                                    'security_invoker=true', 'security_invoker=on'], false)), false)
FROM pg_catalog.pg_class c WHERE c.oid IN ({oids})"""


@contextlib.asynccontextmanager
async def owners_rights(dispatcher: Dispatcher, plan: DistributedPlan) -> AsyncIterator[None]:
    """Run the body with the view owners' rights when the plan reads views' tables itself
    and that is safe (see the module's docstring); else as it is."""
    view_sql = plan.view_sql
    runner = dispatcher.runner
    if view_sql is None or plan.writes or not _is_select(view_sql):
        yield
        return
    superuser = dispatcher.coord.catalog_address.user
    if runner.state.session_user == superuser and runner.state.role is None:
        # already every right (and no block asked for: in code the loopback runs, the
        # caller's catalog connection is busy running the code)
        yield
        return
    async with runner.statement_transaction():
        conn = await runner.txn.connection(dispatcher.coord.catalog_node, wants_block=True)
        await conn.settle()
        if not await _may_lift(dispatcher, view_sql, plan.sql or view_sql, conn):
            await _ensure_no_owner_policies(dispatcher, view_sql, conn)
            yield
            return
        await conn.simple_query(f"EXPLAIN (GENERIC_PLAN, COSTS OFF) {view_sql}\n")  # 42501 as PostgreSQL
        back = [f"SET LOCAL SESSION AUTHORIZATION {quote_ident(runner.state.session_user)}",
                f"SET LOCAL ROLE {'NONE' if runner.state.role is None else quote_ident(str(runner.state.role))}"]
        await runner.txn.set_local(f"SET LOCAL SESSION AUTHORIZATION {quote_ident(superuser)}")
        runner.lifted_rights = True  # the estimates' EXPLAINs on connections of their own too
        try:
            yield
        finally:
            runner.lifted_rights = False
            with contextlib.suppress(PgError):  # a failed block: its end undoes both
                for statement in back:  # (one each: they are replayed one by one on joins)
                    await runner.txn.set_local(statement)


# Views (not security_invoker) owned by another role than the session's, and tables with
# row-level security read inside views that the session may read itself: both present, the
# session's rights give other rows (a table it may not read fails with 42501 as before).
# Names are matched in pg_class, not with to_regclass (which checks schema USAGE and would
# fail the statement's block on a schema of the view owner's).
_OWNER_POLICIES_SQL = """
SELECT EXISTS (SELECT FROM pg_catalog.pg_class v JOIN pg_catalog.pg_namespace n ON n.oid = v.relnamespace
               WHERE (n.nspname, v.relname) IN ({views}) AND v.relkind = 'v'
                 AND v.relowner <> (SELECT oid FROM pg_catalog.pg_roles WHERE rolname = current_user)
                 AND NOT coalesce(v.reloptions::text[] && ARRAY['security_invoker=true', 'security_invoker=on'],
                                  false))
   AND EXISTS (SELECT FROM pg_catalog.pg_class t JOIN pg_catalog.pg_namespace n ON n.oid = t.relnamespace
               WHERE ((n.nspname, t.relname) IN ({tables}) OR (n.nspname = ANY ({path}) AND t.relname IN ({bare})))
                 AND t.relrowsecurity AND pg_catalog.has_any_column_privilege(t.oid, 'SELECT'))"""


async def _ensure_no_owner_policies(dispatcher: Dispatcher, view_sql: str, conn: Any) -> None:
    """Raise 0A000 when the session's rights would read a view's table under other
    row-level security policies than PostgreSQL's. A view that is not security_invoker
    reads its tables with its owner's policies (none when the owner owns the table and it
    is not FORCEd); the inlined plan runs with the session's, and lifting to the superuser
    (no policy at all) is not safe either: the answer would be other rows, silently
    (h-probe28b: a role's own policies cut a count through its view's owner from 30 to
    13). A view the session's role owns, or a security_invoker one, reads as the session."""
    from gridpg.executor.run import search_path

    path = [p for p in search_path(dispatcher) if p]
    views, tables = _views_and_their_tables(dispatcher, view_sql, path)
    if not views or not tables:
        return

    def pairs(names: set[tuple[str, str]]) -> str:
        return ", ".join(f"({quote_literal(a)}, {quote_literal(b)})" for a, b in sorted(names)) or "(NULL, NULL)"

    bare = {name for schema, name in tables if not schema}
    rows = await conn.query(_OWNER_POLICIES_SQL.format(
        views=pairs(views), tables=pairs({t for t in tables if t[0]}),
        path="ARRAY[" + ", ".join(quote_literal(p) for p in path) + "]::text[]",
        bare=", ".join(quote_literal(n) for n in sorted(bare)) or "NULL"))
    if rows and rows[0][0] == "t":
        raise PgError(
            FEATURE_NOT_SUPPORTED,
            "reading a view over a table with row-level security together with tables gridpg joins "
            "itself is not supported by gridpg: the view's tables would be read under the session's "
            "policies, not its owner's",
            hint="Make the view security_invoker, query it as its owner, or join it on the distribution "
                 "column (the nodes then read it with its owner's rights).")


def _views_and_their_tables(dispatcher: Dispatcher, sql: str,
                            path: list[str]) -> tuple[set[tuple[str, str]], set[tuple[str, str]]]:
    """The user views `sql` reads (views in views too), as (schema, name), and the other
    relations their definitions name, as (schema or "", name). An unqualified name is the
    first view of that name along the search_path."""
    views = dispatcher.runner.views()
    found: set[tuple[str, str]] = set()
    inside: set[tuple[str, str]] = set()
    pending: list[tuple[str, bool]] = [(sql, False)]
    while pending and len(found) < 200:
        text, in_view = pending.pop()
        for ref in analyze.relations(sqlparse.parse_tree(text)):
            schemas = [ref.schema] if ref.schema else path
            key = next(((s, ref.name) for s in schemas if (s, ref.name) in views), None)
            if key is None:
                if in_view:
                    inside.add((ref.schema or "", ref.name))
                continue
            if key not in found:
                found.add(key)
                pending.append((views[key], True))
    return found, inside


def _is_select(sql: str) -> bool:
    try:
        tree = sqlparse.parse_tree(sql)
    except PgError:
        return False
    return sqlparse.node_type(tree) == "SelectStmt" and not analyze.has_node(
        tree, "lockingClause", "IntoClause", "InsertStmt", "UpdateStmt", "DeleteStmt", "MergeStmt")


async def _may_lift(dispatcher: Dispatcher, view_sql: str, inlined: str, conn: Any) -> bool:
    """Whether the superuser's rights give the same rows as the view owners' would."""
    guard = dispatcher.coord.routine_guard
    if guard is not None and await guard.may_call_user_code(dispatcher, inlined):
        return False
    tree = sqlparse.parse_tree(inlined)
    if _calls_role_functions(tree) or not _only_cluster_relations(dispatcher, tree):
        return False
    names = {quote_qualified(r.schema, r.name) for r in analyze.relations(sqlparse.parse_tree(view_sql))}
    names |= {quote_qualified(r.schema, r.name) for r in analyze.relations(tree)}
    oids = ", ".join(f"pg_catalog.to_regclass({quote_literal(n)})" for n in sorted(names)) or "NULL"
    rows = await conn.query(_UNSAFE_SQL.format(oids=oids))
    return bool(rows) and rows[0][0] == "f" and not _views_unsafe(dispatcher, inlined)


def _only_cluster_relations(dispatcher: Dispatcher, tree: dict[str, Any]) -> bool:
    """Every relation the inlined text names is a distributed table or a user view (no
    catalog relation: `pg_stat_activity` shows the superuser every session's query)."""
    from gridpg.executor.run import search_path

    planner = dispatcher.coord.planner
    snapshot = dispatcher.runner.snapshot()
    path = list(search_path(dispatcher))
    views = dispatcher.runner.views()
    for ref in analyze.relations(tree):
        if planner is not None and planner.resolve(snapshot, ref, path) is not None:
            continue
        if any(k[1] == ref.name and ref.schema in (None, k[0]) for k in views):
            continue
        return False
    return True


def _views_unsafe(dispatcher: Dispatcher, inlined: str) -> bool:
    """Views the inlined text still names (views inside views) whose definitions call role
    functions or user code (they are expanded on the nodes, as the superuser)."""
    views = dispatcher.runner.views()
    guard = dispatcher.coord.routine_guard
    registry = getattr(guard, "_registry", None)
    pending = [inlined]
    seen: set[tuple[str, str]] = set()
    while pending and len(seen) < 200:
        tree = sqlparse.parse_tree(pending.pop())
        if _calls_role_functions(tree):
            return True
        for ref in analyze.relations(tree):
            key = next((k for k in views if k[1] == ref.name and ref.schema in (None, k[0])), None)
            if key is None or key in seen:
                continue
            seen.add(key)
            definition = views[key]
            if registry is None or registry.names_routines(definition.lower()):
                return True
            pending.append(definition)
    return bool(pending)


def _calls_role_functions(tree: dict[str, Any]) -> bool:
    if analyze.has_node(tree, "SQLValueFunction"):
        for node in _nodes(tree, "SQLValueFunction"):
            op = str(node.get("op", ""))
            if "DATE" not in op and "TIME" not in op:  # current_user, current_schema, ...
                return True
    for call in _nodes(tree, "FuncCall"):
        name = call.get("funcname", [{}])[-1].get("String", {}).get("sval", "").lower()
        if name in _ROLE_FUNCTIONS or "privilege" in name or name.startswith(("pg_", "lo_")):
            return True
    return False


def _nodes(node: Any, kind: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if isinstance(item.get(kind), dict):
                out.append(item[kind])
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return out
