"""Statements that read or write a session's temp tables alongside distributed tables.

A session's temp tables exist only on its pinned catalog connection (`frontend/temps.py`),
so such a statement runs there: each distributed table it reads is gathered into a scratch
temp table on that connection (the coordinator-finish strategy) and the statement runs
over them with PostgreSQL's own semantics. INSERT into a distributed table from a temp
table takes the INSERT ... SELECT path, whose SELECT runs on that same connection.
UPDATE, DELETE and MERGE of a distributed table that read a temp table are refused (0A000):
on a datanode the temp table does not exist, or a distributed table of the same name
would be read in its place.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from gridpg.errors import FEATURE_NOT_SUPPORTED, PgError
from gridpg.planner import analyze, tempnames

if TYPE_CHECKING:
    from gridpg.executor.dispatch import Dispatcher, ExecRequest
    from gridpg.planner.context import CatalogView, SessionView
    from gridpg.planner.core import Analysis, Planner


async def run_if_temp(dispatcher: Dispatcher, request: ExecRequest, planner: Planner,
                      catalog: CatalogView, session: SessionView) -> bool:
    """Run a statement that involves the session's temp tables (True); False: plan it as
    usual (no temp table, or INSERT into a distributed table, whose SELECT the executor
    runs on the session's catalog connection)."""
    analysis = planner.analysis(request.sql, catalog, session)
    path = list(session.search_path)
    if analysis.route == "query" and references_temp(analysis, path):
        return await run(dispatcher, request, analysis)
    if analysis.route == "utility" and analysis.kind not in ("CreateStmt", "CreateTableAsStmt") \
            and utility_on_temp(analysis, path):
        await dispatcher.run_on_node(dispatcher.coord.catalog_node, request, writes=False)
        return True
    return False


def references_temp(analysis: Analysis, path: list[str]) -> bool:
    """Does the analysed statement name one of the session's temp relations (or create one
    with SELECT ... INTO TEMP)?"""
    if _into_temp(analysis):
        return True
    if not tempnames.temp_names(path) and not any(tempnames.is_temp_schema(r.ref.schema)
                                                  for r in analysis.resolved):
        return False
    return any(r.table is None and tempnames.shadows(path, r.ref.schema, r.ref.name)
               for r in analysis.resolved)


def utility_on_temp(analysis: Analysis, path: list[str]) -> bool | None:
    """A utility statement (DROP, ALTER, TRUNCATE, CREATE INDEX ...) on temp relations only:
    True (it runs on the session's catalog connection only); None when it names none;
    mixed with other relations it is refused."""
    from gridpg.planner.utility import _dropped_tables

    if not tempnames.temp_names(path):
        return None
    refs = analyze.relations(analysis.tree) + _dropped_tables(analysis.tree, analysis.kind)
    temp = [r for r in refs if tempnames.shadows(path, r.schema, r.name)]
    if not temp:
        return None
    if len(temp) != len(refs):
        raise PgError(FEATURE_NOT_SUPPORTED,
                      "gridpg cannot run one utility statement over temporary and other tables")
    return True


async def run(dispatcher: Dispatcher, request: ExecRequest, analysis: Analysis) -> bool:
    """Run the statement on the session's catalog connection; False when the INSERT path
    (target distributed) is to take it."""
    from gridpg.executor.multi import _drop_temp, prepare_query_on_catalog

    if _into_temp(analysis):
        return await create_temp_table_as(dispatcher, request)
    kind = analysis.kind
    target = analysis.resolved[0].table if kind != "SelectStmt" else None
    if target is not None:
        if kind == "InsertStmt":
            return False
        raise PgError(
            FEATURE_NOT_SUPPORTED,
            f"{kind[:-4].upper()} of distributed table {target.schema}.{target.name} that reads "
            "a temporary table is not supported by gridpg",
            hint="copy the temporary rows into a distributed table first, or select the keys "
                 "from the client",
        )
    if analyze.has_node(analysis.tree, "lockingClause"):
        raise PgError(FEATURE_NOT_SUPPORTED,
                      "SELECT ... FOR UPDATE/SHARE over temporary and distributed tables is not supported by gridpg")
    node = dispatcher.coord.catalog_node
    catalog = await dispatcher.runner.txn.connection(node, wants_block=False)
    sql = analysis.sql or request.sql
    prepared = await prepare_query_on_catalog(dispatcher, sql, catalog)
    final, temps = prepared if prepared is not None else (sql, [])
    try:
        await dispatcher.run_on_node(node, request, writes=False, sql=final)
    finally:
        await _drop_temp(catalog, temps)
    return True


def _into_temp(analysis: Analysis) -> bool:
    into = (analysis.tree.get("SelectStmt") or {}).get("intoClause") or {}
    return bool(into.get("rel", {}).get("relpersistence") == "t")


async def create_temp_table_as(dispatcher: Dispatcher, request: ExecRequest) -> bool:
    """CREATE TEMP TABLE ... AS / SELECT ... INTO TEMP over distributed tables: the query's
    distributed tables gathered on the session's catalog connection, the statement run
    there. False when the query reads no distributed table (the catalog runs it as is)."""
    from pglast.parser import parse_sql
    from pglast.stream import RawStream

    from gridpg.executor.multi import _drop_temp, prepare_query_on_catalog

    stmt = parse_sql(request.sql)[0].stmt
    into = getattr(stmt, "into", None) or getattr(stmt, "intoClause", None)
    if hasattr(stmt, "intoClause"):  # SELECT ... INTO: the query is the statement itself
        stmt.intoClause = None
        query = stmt
    else:
        query = stmt.query
    node = dispatcher.coord.catalog_node
    catalog = await dispatcher.runner.txn.connection(node, wants_block=False)
    prepared = await prepare_query_on_catalog(dispatcher, str(RawStream()(query)), catalog)
    if prepared is None:
        return False
    final, temps = prepared
    new_query = parse_sql(final)[0].stmt
    if hasattr(stmt, "intoClause"):
        new_query.intoClause = into
        text = str(RawStream()(new_query))
    else:
        stmt.query = new_query
        text = str(RawStream()(stmt))
    try:
        await dispatcher.run_on_node(node, request, writes=False, sql=text)
    finally:
        await _drop_temp(catalog, temps)
    return True
