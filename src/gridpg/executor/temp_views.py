"""Temporary views over distributed tables: read through their definitions.

A temp view lives, as the session's temp tables do, on its pinned catalog connection
(`frontend/temps.py`), where the distributed tables it reads are empty copies: reading it
there would answer for none of their rows. So a statement naming such a view has it
replaced by its definition (`pg_get_viewdef` on that connection, nested temp views too),
as a subquery that carries the view's name and column names, and is then planned as if
the client had written that. Temp views that read no distributed table (VALUES, temp
tables) are left to the catalog server, which answers for them. Writes through a temp
view over distributed tables are refused (0A000): its rows are not on the catalog server.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from gridpg.errors import FEATURE_NOT_SUPPORTED, PgError
from gridpg.planner import analyze, tempnames
from gridpg.planner.text import quote, relation_span, splice
from gridpg.sql import parse as sqlparse

if TYPE_CHECKING:
    from gridpg.executor.dispatch import Dispatcher
    from gridpg.planner.context import CatalogView, SessionView

_VIEWS_SQL = (
    "SELECT c.relname, pg_catalog.pg_get_viewdef(c.oid), "
    "pg_catalog.array_to_json(ARRAY(SELECT a.attname FROM pg_catalog.pg_attribute a "
    "WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum))::text "
    "FROM pg_catalog.pg_class c WHERE c.relnamespace = pg_catalog.pg_my_temp_schema() AND c.relkind = 'v'")
_READING = frozenset({"SelectStmt", "InsertStmt", "UpdateStmt", "DeleteStmt", "MergeStmt", "CopyStmt"})
_MAX_DEPTH = 16  # views of views; PostgreSQL refuses cycles


async def inline(dispatcher: Dispatcher, sql: str, catalog: CatalogView, session: SessionView) -> str | None:
    """`sql` with the session's temp views over distributed tables replaced by their
    definitions; None when it names none. A write through one is refused."""
    import json

    path = list(session.search_path)
    try:
        tree = sqlparse.parse_tree(sql)
    except PgError:
        return None  # (the statement's own run reports it)
    kind = sqlparse.node_type(tree)
    if kind == "CopyStmt" and not tree[kind].get("query"):
        return None  # COPY of a relation: PostgreSQL's own error for a view
    if kind not in _READING or not any(
            tempnames.shadows(path, r.schema, r.name) for r in analyze.relations(tree)):
        return None
    memo = dispatcher.runner.temps.memo
    views = memo.get("temp views")
    if views is None:  # (kept until a statement may change the session's temp objects)
        conn = await dispatcher.runner.txn.connection(dispatcher.coord.catalog_node, wants_block=False)
        await conn.settle()
        views = memo["temp views"] = {
            str(name): (sqlparse.repair_view_definition(str(definition).strip().rstrip(";")), json.loads(columns))
            for name, definition, columns in await conn.query(_VIEWS_SQL)}
    if not views:
        return None
    calling = {name for name, (definition, _) in views.items()
               if await _calls_code_over_tables(dispatcher, definition, path)}
    reading = _reading_distributed(views, catalog, session, path, calling)
    changed = False
    for _ in range(_MAX_DEPTH):
        tree = sqlparse.parse_tree(sql)
        target = analyze._dml_target(tree)
        refs = [r for r in analyze.relations(tree)
                if r.name in views and tempnames.shadows(path, r.schema, r.name)]
        if not changed and not any(r.name in reading for r in refs):
            return None
        if any(r.location == target and r.name in reading for r in refs):
            raise PgError(FEATURE_NOT_SUPPORTED, "writes through a temporary view over distributed tables "
                          "are not supported by gridpg", hint="write the view's tables directly")
        if not refs:
            return sql
        tokens = sqlparse.tokens(sql)
        replacements = []
        for ref in refs:
            definition, columns = views[ref.name]
            start, end = relation_span(sql, tokens, ref)
            names = ", ".join(quote(c) for c in columns)
            alias = "" if ref.alias else f" AS {quote(ref.name)}"
            replacements.append((start, end, f"(SELECT * FROM ({definition}) AS {quote(ref.name)}({names})){alias}"))
        sql = splice(sql, replacements)
        changed = True
    raise PgError("42P17", "temporary views nested too deeply")


async def _calls_code_over_tables(dispatcher: Dispatcher, definition: str, path: list[str]) -> bool:
    """Whether a view's definition calls user code that gridpg cannot leave to the catalog
    server (it reads distributed tables or the cluster's sequences; or it is refused): then
    the view is inlined and the statement's own checks run that code where it can. A view
    over a function that reads temp tables only stays on the catalog server."""
    guard = dispatcher.coord.routine_guard
    if not await guard.may_call_user_code(dispatcher, definition):
        return False
    try:
        return await guard.check(dispatcher, definition, path) is not None
    except PgError:
        return True


def _reading_distributed(views: dict[str, tuple[str, list[str]]], catalog: CatalogView, session: SessionView,
                         path: list[str], calling: set[str]) -> set[str]:
    """The temp views that read distributed tables, themselves or through other temp views.
    `calling`: the views whose definitions call the user's routines, which may read them
    (a view over `f()` whose SQL body reads a distributed table answered from the catalog
    server's empty copy): inlined too, so the statement's own checks see the call."""
    from gridpg.planner.core import touches_distributed

    uses: dict[str, set[str]] = {}
    reading: set[str] = set(calling)
    for name, (definition, _) in views.items():
        try:
            tree = sqlparse.parse_tree(definition)
        except PgError:
            reading.add(name)  # cannot be read here: inlined, and the plan says what is wrong
            continue
        uses[name] = {r.name for r in analyze.relations(tree)
                      if r.name in views and tempnames.shadows(path, r.schema, r.name)}
        if touches_distributed(tree, catalog, session):
            reading.add(name)
    for _ in range(_MAX_DEPTH):
        more = {name for name, used in uses.items() if used & reading} - reading
        if not more:
            break
        reading |= more
    return reading
