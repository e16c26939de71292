"""Statements that read or write a session's temp tables alongside distributed tables.

A session's temp tables exist only on its pinned catalog connection (`frontend/temps.py`),
so such a statement runs there: each distributed table it reads is gathered into a scratch
temp table on that connection (the coordinator-finish strategy) and the statement runs
over them with PostgreSQL's own semantics. INSERT into a distributed table from a temp
table takes the INSERT ... SELECT path, whose SELECT runs on that same connection.
UPDATE and DELETE of a distributed table that read temp tables ship the temp rows to the
target's nodes first (scratch tables in the statement's transaction); MERGE into a distributed table stages its
source rows, read on this connection, on the target's nodes (executor/merge_staged.py).
"""

from __future__ import annotations

import dataclasses
import itertools
import os
from typing import TYPE_CHECKING, Any

from gridpg.catalog.model import DistTable
from gridpg.datanode.connection import BackendConnection
from gridpg.errors import FEATURE_NOT_SUPPORTED, PgError
from gridpg.executor import temp_calls
from gridpg.planner import analyze, tempnames
from gridpg.sql.quote import quote_ident, quote_literal

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
    if tempnames.temp_names(path):
        await _ensure_no_cluster_sequence_default(dispatcher, analysis.tree or _tree(request.sql), path)
    if analysis.route == "query" and analysis.kind in temp_calls.WRITES and tempnames.temp_names(path) \
            and not (analysis.kind == "InsertStmt" and references_temp(analysis, path)
                     and not temp_calls.values_read_temps(analysis.tree, path)):
        # (an INSERT ... SELECT reading temp tables runs its SELECT, calls included, where they
        # are; VALUES rows are evaluated on a connection of their own, executor/values.py)
        evaluated = await temp_calls.with_temp_calls_evaluated(dispatcher, request, analysis, path)
        if evaluated is not None:  # its calls of code reading temp tables replaced by their values
            from gridpg.executor.run import run_statement

            await run_statement(dispatcher, evaluated)
            return True
    if analysis.route in ("query", "catalog", "utility") and tempnames.temp_names(path):
        from gridpg.executor import temp_views

        try:
            inlined = await temp_views.inline(dispatcher, request.sql, catalog, session)
        except PgError as exc:
            if exc.sqlstate == FEATURE_NOT_SUPPORTED:  # PostgreSQL's own error first, if it has one
                from gridpg.executor.run import ensure_postgres_accepts

                await ensure_postgres_accepts(dispatcher, request)
            raise
        if inlined is not None:  # planned as written with the views' definitions
            from gridpg.executor.run import run_statement, search_path

            inlined_request = dataclasses.replace(request, sql=inlined)
            # the definitions' calls of the user's routines are the statement's now: checked
            # as the client's own (they may read distributed tables, through the loopback)
            if not await dispatcher.coord.routine_guard.before(dispatcher, inlined_request,
                                                               list(search_path(dispatcher))):
                await run_statement(dispatcher, inlined_request)
            return True
    if analysis.route == "query" and references_temp(analysis, path):
        return await run(dispatcher, request, analysis)
    if analysis.route == "query" and analysis.kind == "SelectStmt" and (
            _names_temp_routines_or_types(analysis.tree)
            or (tempnames.temp_names(path) and await dispatcher.coord.routine_guard.code_reads_temps(
                dispatcher, analysis.sql or request.sql, tuple(path), tempnames.temp_names(path)))):
        # code or types of the session's own (pg_temp.f(), ::pg_temp.t, code reading its temp
        # tables): its tables gathered where those are (the datanodes have none of them:
        # 3F000, 42P01)
        return await run(dispatcher, request, analysis)
    if analysis.route == "utility" and analysis.kind == "ViewStmt" and _temp_view(analysis, path):
        await dispatcher.run_on_node(dispatcher.coord.catalog_node, request, writes=False)
        _note_view_over_distributed(dispatcher, analysis, catalog, session)
        return True
    if analysis.route == "utility" and analysis.kind == "ExplainStmt" and tempnames.temp_names(path):
        evaluated = await temp_calls.explain_with_temp_calls_evaluated(dispatcher, request, analysis, path)
        if evaluated is not None:  # EXPLAIN of such a write: of the write as it runs
            from gridpg.executor.run import run_statement

            await run_statement(dispatcher, evaluated)
            return True
    if analysis.route == "utility" and analysis.kind == "ExplainStmt" \
            and await _explain_over_temp(dispatcher, request, analysis, catalog, session):
        return True
    if analysis.route == "utility" and analysis.kind == "CopyStmt" \
            and await _copy_query_over_temp(dispatcher, request, analysis, path):
        return True
    if analysis.route == "utility" and analysis.kind not in ("CreateStmt", "CreateTableAsStmt"):
        on_temp = utility_on_temp(analysis, path)
        if on_temp is True:
            await dispatcher.run_on_node(dispatcher.coord.catalog_node, request, writes=False)
            return True
        if on_temp is False:
            await _drop_or_truncate_mixed(dispatcher, request, path)
            return True
    if analysis.route == "utility" and dispatcher.runner.temps.pinned \
            and (_on_temp_types(analysis.tree) or _defines_in_temp_schema(analysis.tree)
                 or _comment_on_temp(analysis.tree, path)):
        # CREATE/ALTER/DROP TYPE or DOMAIN in pg_temp, CREATE AGGREGATE / STATISTICS
        # pg_temp.x, COMMENT ON a temp object: the session's own, on its connection alone
        # (0A000 at PREPARE or 42P01 from the other servers before)
        await dispatcher.run_on_node(dispatcher.coord.catalog_node, request, writes=False)
        return True
    if analysis.route == "utility" and dispatcher.runner.temps.pinned \
            and await _on_temp_statistics(dispatcher, analysis.tree):
        # COMMENT ON / ALTER / DROP STATISTICS of a temp table's statistics object (made in
        # the current schema, on the session's connection alone: 42704 from the others before)
        await dispatcher.run_on_node(dispatcher.coord.catalog_node, request, writes=False)
        return True
    if analysis.route == "utility" and dispatcher.runner.temps.pinned and _on_temp_routines(analysis.tree):
        # DROP / ALTER FUNCTION pg_temp.f(): the session's own routine, on its connection
        # alone (the other servers have no such schema: 3F000 before)
        await dispatcher.run_on_node(dispatcher.coord.catalog_node, request, writes=False)
        return True
    if analysis.route == "utility" and dispatcher.runner.temps.pinned \
            and await _on_temp_dependent_routines(dispatcher, request.sql, analysis.tree):
        # DROP / ALTER FUNCTION f() where f depends on a temp object (`RETURNS SETOF
        # temp_table`, a BEGIN ATOMIC body over one): commands/ddl.py made it on the
        # session's connection alone, so it is dropped or altered there (42883 from the
        # other servers before, and the routine stayed)
        await dispatcher.run_on_node(dispatcher.coord.catalog_node, request, writes=False)
        return True
    return False


async def _on_temp_dependent_routines(dispatcher: Dispatcher, sql: str, tree: dict[str, Any]) -> bool:
    """DROP FUNCTION / PROCEDURE / ROUTINE / AGGREGATE, ALTER FUNCTION, RENAME, OWNER TO or
    SET SCHEMA of routines that all exist on the session's catalog connection and each
    depend on one of its temp objects (so exist there alone)."""
    from pglast import ast, parse_sql
    from pglast.stream import RawStream

    kind = next(iter(tree), "")
    body = tree.get(kind) or {}
    if not ((kind == "DropStmt" and body.get("removeType") in _ROUTINE_OBJECTS) or kind == "AlterFunctionStmt"
            or (kind in ("RenameStmt", "AlterOwnerStmt", "AlterObjectSchemaStmt")
                and body.get("renameType", body.get("objectType")) in _ROUTINE_OBJECTS)):
        return False
    try:
        stmt = parse_sql(sql)[0].stmt
    except Exception:  # noqa: BLE001 - the statement's own path reports it
        return False
    if isinstance(stmt, ast.DropStmt):
        objects = list(stmt.objects or ())
    elif isinstance(stmt, ast.AlterFunctionStmt):
        objects = [stmt.func]
    else:
        objects = [stmt.object]
    lookups = []
    for obj in objects:
        if not isinstance(obj, ast.ObjectWithArgs):
            return False
        name = ".".join(quote_ident(n.sval) for n in obj.objname or ())
        if obj.args_unspecified:
            lookups.append(f"pg_catalog.to_regproc({quote_literal(name)})::pg_catalog.oid")
        else:
            types = ", ".join(RawStream()(t) for t in obj.objargs or ())
            lookups.append(f"pg_catalog.to_regprocedure({quote_literal(f'{name}({types})')})::pg_catalog.oid")
    if not lookups:
        return False
    checks = " AND ".join(_TEMP_DEPENDENT_ROUTINE.format(oid=lookup) for lookup in lookups)
    return await _session_catalog_says(dispatcher, checks)


async def _on_temp_statistics(dispatcher: Dispatcher, tree: dict[str, Any]) -> bool:
    """COMMENT ON, ALTER (SET STATISTICS, RENAME, OWNER TO, SET SCHEMA) or DROP STATISTICS
    naming statistics objects that all exist on the session's catalog connection and are
    each on one of its temp tables or in its temp schema."""
    kind = next(iter(tree), "")
    body = tree.get(kind) or {}
    if kind == "AlterStatsStmt":
        lists = [body.get("defnames") or []]
    elif body.get("objtype", body.get("removeType", body.get("renameType", body.get("objectType")))) \
            == "OBJECT_STATISTIC_EXT" and kind in ("CommentStmt", "DropStmt", "RenameStmt", "AlterOwnerStmt",
                                                    "AlterObjectSchemaStmt"):
        objects = body.get("objects") if kind == "DropStmt" else [body.get("object")]
        lists = [(o or {}).get("List", {}).get("items", []) for o in objects or ()]
    else:
        return False
    checks = []
    for items in lists:
        names = _names_list(items)
        if not names or len(names) > 2:
            return False
        where = ("pg_catalog.pg_statistics_obj_is_visible(s.oid)" if len(names) == 1
                 else "n.oid = pg_catalog.pg_my_temp_schema()" if tempnames.is_temp_schema(names[0])
                 else f"n.nspname = {quote_literal(names[0])}")
        # (a statistics object in pg_temp may be on a permanent table: the session's alone)
        checks.append("COALESCE((SELECT c.relpersistence = 't' OR n.oid = pg_catalog.pg_my_temp_schema() "
                      "FROM pg_catalog.pg_statistic_ext s "
                      "JOIN pg_catalog.pg_namespace n ON n.oid = s.stxnamespace "
                      "JOIN pg_catalog.pg_class c ON c.oid = s.stxrelid "
                      f"WHERE s.stxname = {quote_literal(names[-1])} AND {where}), false)")
    if not checks:
        return False
    return await _session_catalog_says(dispatcher, " AND ".join(checks))


async def _session_catalog_says(dispatcher: Dispatcher, condition: str) -> bool:
    """Whether `condition` (SQL of a boolean) holds on the session's catalog connection,
    the one that sees its temp objects (a lookup: taken and given back unless the
    transaction holds it already)."""
    txn = dispatcher.runner.txn
    node = dispatcher.coord.catalog_node
    held = node in txn.participants
    conn = await txn.connection(node, wants_block=False)
    try:
        rows = await conn.query(f"SELECT {condition}")
    finally:
        txn.release_lookup(node, held)
    return bool(rows) and rows[0][0] == "t"


# Whether the routine `oid` (NULL: not found) is in the session's temp schema or depends
# on an object of a temp schema (the session's: no other is visible to its connection).
_TEMP_DEPENDENT_ROUTINE = """COALESCE((SELECT p.pronamespace = pg_catalog.pg_my_temp_schema() OR EXISTS (
  SELECT 1 FROM pg_catalog.pg_depend d CROSS JOIN LATERAL pg_catalog.pg_identify_object(d.refclassid, d.refobjid, 0) o
   WHERE d.classid = 'pg_catalog.pg_proc'::pg_catalog.regclass AND d.objid = p.oid AND o.schema LIKE 'pg\\_temp\\_%')
  FROM pg_catalog.pg_proc p WHERE p.oid = {oid}), false)"""


async def _copy_query_over_temp(dispatcher: Dispatcher, request: ExecRequest, analysis: Analysis,
                                path: list[str]) -> bool:
    """`COPY (SELECT ... FROM temp JOIN distributed ...) TO STDOUT` (an export, psql's
    \\copy): the query's distributed tables gathered onto the session's catalog
    connection, as for the SELECT itself (`run`), and the COPY run there. False when it is
    no such COPY (the utility path takes it; it refused the mix with 0A000 before)."""
    from gridpg.executor.multi import _drop_temp, inline_params, prepare_query_on_catalog
    from gridpg.sql import parse as sqlparse

    body = analysis.tree.get("CopyStmt") or {}
    query = body.get("query")
    if query is None or body.get("is_from"):
        return False
    refs = analyze.relations(query)
    if not any(tempnames.shadows(path, r.schema, r.name) for r in refs):
        return False
    sql = analysis.sql or request.sql
    if request.params and not request.simple:
        sql = await inline_params(dispatcher, request, sql)
        request = dataclasses.replace(request, params=[], param_formats=[], param_oids=[])
    span = _parenthesized_query(sql, sqlparse.tokens(sql))
    if span is None:
        return False
    node = dispatcher.coord.catalog_node
    catalog = await dispatcher.runner.txn.connection(node, wants_block=False)
    prepared = await prepare_query_on_catalog(dispatcher, sql[span[0]:span[1]], catalog)
    final, temps = prepared if prepared is not None else (sql[span[0]:span[1]], [])
    try:
        await dispatcher.run_on_node(node, request, writes=False,
                                     sql=f"{sql[:span[0]]}{final}{sql[span[1]:]}")
    finally:
        await _drop_temp(catalog, temps)
    return True


def _parenthesized_query(sql: str, tokens: list[Any]) -> tuple[int, int] | None:
    """The span of the query inside `COPY ( ... )`, between its parentheses."""
    from gridpg.sql import parse as sqlparse

    if len(tokens) < 3 or tokens[1].name != "ASCII_40":
        return None
    close = sqlparse.closing_paren(tokens, 1)
    return None if close is None else (tokens[1].end + 1, tokens[close].start)


# The columns of a temp table whose DEFAULT calls nextval() of a sequence that is not
# the session's own (a cluster sequence, which the GTM serves).
_CLUSTER_SEQUENCE_DEFAULTS = """
SELECT a.attname, a.attnum, (SELECT count(*) FROM pg_catalog.pg_attribute x
                              WHERE x.attrelid = d.adrelid AND x.attnum > 0 AND NOT x.attisdropped)
FROM pg_catalog.pg_attrdef d
JOIN pg_catalog.pg_attribute a ON a.attrelid = d.adrelid AND a.attnum = d.adnum
JOIN pg_catalog.pg_depend dep ON dep.classid = 'pg_catalog.pg_attrdef'::pg_catalog.regclass
 AND dep.objid = d.oid AND dep.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass
JOIN pg_catalog.pg_class s ON s.oid = dep.refobjid AND s.relkind = 'S' AND s.relpersistence <> 't'
WHERE d.adrelid = pg_catalog.to_regclass({name})"""


async def _ensure_no_cluster_sequence_default(dispatcher: Dispatcher, tree: dict[str, Any],
                                              path: list[str]) -> None:
    """A write into a temp table that leaves a column to a DEFAULT calling nextval() of a
    cluster sequence is refused (0A000): the catalog server would take the value from its
    own copy of the sequence, not the GTM's, handing out values the cluster hands out
    again (duplicates, silently)."""
    kind = next(iter(tree), "")
    body = tree.get(kind) or {}
    if kind == "CopyStmt" and not body.get("is_from"):
        return
    if kind not in ("InsertStmt", "CopyStmt", "MergeStmt", "UpdateStmt"):
        return
    relation = body.get("relation") or {}
    schema, name = relation.get("schemaname"), str(relation.get("relname", ""))
    if not tempnames.shadows(path, schema, name):
        return
    if kind == "UpdateStmt" and not analyze.has_node(tree, "SetToDefault"):
        return
    memo, key = dispatcher.runner.temps.memo, ("cluster sequence defaults", name)
    rows = memo.get(key)
    if rows is None:  # (kept until a statement may change the session's temp objects)
        conn = await dispatcher.runner.txn.connection(dispatcher.coord.catalog_node, wants_block=False)
        qualified = f"pg_temp.{quote_ident(name)}"
        rows = memo[key] = await conn.query(_CLUSTER_SEQUENCE_DEFAULTS.format(name=quote_literal(qualified)))
    if not rows:
        return
    given = _given_columns(kind, body)
    if kind == "CopyStmt" and not body.get("attlist"):
        return  # every column from the data
    for column, position, count in rows:
        if kind == "InsertStmt" and given is None:
            if not _fills_position(body, int(str(position)), int(str(count))):
                continue
        elif given is not None and column in given and not analyze.has_node(tree, "SetToDefault"):
            continue
        raise PgError(FEATURE_NOT_SUPPORTED,
                      f"gridpg cannot fill column {column} of temporary table {name} from its DEFAULT: "
                      "it calls nextval() of a cluster-wide sequence, which the GTM serves",
                      hint="Give the column's value (SELECT nextval(...) first), or use a serial column "
                           "of the temporary table.")


def _tree(sql: str) -> dict[str, Any]:
    from gridpg.sql import parse as sqlparse
    from gridpg.sql.xl import extract_distribution

    try:
        return sqlparse.parse_tree(extract_distribution(sql)[0])
    except PgError:
        return {}


def _given_columns(kind: str, body: dict[str, Any]) -> set[str] | None:
    if kind == "MergeStmt":
        return set()  # (its INSERT actions: taken as leaving the column to its default)
    cols = body.get("cols") if kind == "InsertStmt" else body.get("attlist")
    if not cols:
        return None if kind == "InsertStmt" else set()
    out = set()
    for col in cols:
        target = col.get("ResTarget", col)
        out.add(str(target.get("name") or target.get("String", {}).get("sval", "")))
    return out


def _fills_position(body: dict[str, Any], position: int, count: int) -> bool:
    """Whether an INSERT without a column list leaves the column at `position` (1-based)
    to its default: DEFAULT VALUES, a DEFAULT item, or rows shorter than that."""
    select = (body.get("selectStmt") or {}).get("SelectStmt")
    if select is None:
        return True
    rows = select.get("valuesLists")
    if rows:
        for row in rows:
            items = row.get("List", {}).get("items", [])
            if len(items) < position or "SetToDefault" in (items[position - 1] or {}):
                return True
        return False
    targets = select.get("targetList") or []
    if any("A_Star" in str(t) for t in targets):
        return False
    return len(targets) < position or position > count


def _names_temp_routines_or_types(tree: dict[str, Any]) -> bool:
    """A call of a routine or a type named in the session's temp schema (`pg_temp.f(x)`,
    `x::pg_temp.pair`)."""
    for node in analyze._walk(tree):
        if not isinstance(node, dict):
            continue
        type_name = node.get("TypeName") or (node.get("typeName") if isinstance(node.get("typeName"), dict) else None)
        named = (node.get("FuncCall") or {}).get("funcname") or (type_name or {}).get("names")
        if named and len(named) > 1 and tempnames.is_temp_schema(_names_list(named)[0]):
            return True
    return False


def _names_list(items: list[Any]) -> list[str]:
    return [str(n.get("String", {}).get("sval", "")) for n in items or []]


def _on_temp_types(tree: dict[str, Any]) -> bool:
    """A type or domain of the session's temp schema made, altered or dropped."""
    kind = next(iter(tree), "")
    body = tree.get(kind) or {}
    if kind in ("CreateEnumStmt", "CreateRangeStmt", "AlterEnumStmt"):
        names = [_names_list(body.get("typeName", []))]
    elif kind == "CreateDomainStmt":
        names = [_names_list(body.get("domainname", []))]
    elif kind == "CompositeTypeStmt":
        names = [[str((body.get("typevar") or {}).get("schemaname") or ""), ""]]
    elif kind == "DropStmt" and body.get("removeType") in ("OBJECT_TYPE", "OBJECT_DOMAIN"):
        names = [_names_list(o.get("TypeName", {}).get("names", [])) for o in body.get("objects", [])]
    elif kind == "AlterDomainStmt":
        names = [_names_list(body.get("typeName", []))]
    else:
        return False
    return bool(names) and all(len(n) > 1 and tempnames.is_temp_schema(n[0]) for n in names)


def _defines_in_temp_schema(tree: dict[str, Any]) -> bool:
    """CREATE AGGREGATE, OPERATOR, COLLATION, TEXT SEARCH ... or STATISTICS named in the
    session's temp schema (`CREATE AGGREGATE pg_temp.agg(int) ...`)."""
    kind = next(iter(tree), "")
    if kind not in ("DefineStmt", "CreateStatsStmt"):
        return False
    names = _names_list((tree.get(kind) or {}).get("defnames") or [])
    return len(names) > 1 and tempnames.is_temp_schema(names[0])


_COMMENTED_RELATIONS = ("OBJECT_TABLE", "OBJECT_VIEW", "OBJECT_SEQUENCE", "OBJECT_INDEX",
                        "OBJECT_MATVIEW", "OBJECT_FOREIGN_TABLE", "OBJECT_COLUMN")
# objects named `name ON relation`: the relation's name ends before the object's own
_COMMENTED_ON_RELATIONS = ("OBJECT_COLUMN", "OBJECT_TABCONSTRAINT", "OBJECT_TRIGGER", "OBJECT_POLICY",
                           "OBJECT_RULE")


def _comment_on_temp(tree: dict[str, Any], path: list[str]) -> bool:
    """COMMENT ON a temp table (view, sequence, index, one of its columns, a constraint,
    trigger, policy or rule ON it) or a temp type."""
    body = tree.get("CommentStmt")
    if not isinstance(body, dict):
        return False
    target = body.get("object") or {}
    if body.get("objtype") in ("OBJECT_TYPE", "OBJECT_DOMAIN"):
        names = _names_list(target.get("TypeName", {}).get("names", []))
        return len(names) > 1 and tempnames.is_temp_schema(names[0])
    if body.get("objtype") not in _COMMENTED_RELATIONS + _COMMENTED_ON_RELATIONS:
        return False
    names = _names_list(target.get("List", {}).get("items", []))
    if body.get("objtype") in _COMMENTED_ON_RELATIONS:
        names = names[:-1]
    if len(names) == 1:
        return tempnames.shadows(path, None, names[0])
    return len(names) == 2 and tempnames.is_temp_schema(names[0])


_ROUTINE_OBJECTS = ("OBJECT_FUNCTION", "OBJECT_PROCEDURE", "OBJECT_ROUTINE", "OBJECT_AGGREGATE")


def _on_temp_routines(tree: dict[str, Any]) -> bool:
    """DROP FUNCTION / PROCEDURE / ROUTINE, or ALTER FUNCTION, naming routines of the
    session's temp schema (`pg_temp.f`) only."""
    kind = next(iter(tree), "")
    body = tree.get(kind) or {}
    if kind == "DropStmt" and body.get("removeType") in _ROUTINE_OBJECTS:
        objects = [o.get("ObjectWithArgs", {}) for o in body.get("objects", [])]
    elif kind == "AlterFunctionStmt":
        objects = [body.get("func") or {}]
    elif kind in ("RenameStmt", "AlterOwnerStmt", "AlterObjectSchemaStmt") \
            and body.get("renameType", body.get("objectType")) in _ROUTINE_OBJECTS:
        objects = [(body.get("object") or {}).get("ObjectWithArgs", {})]
    else:
        return False

    def schema(obj: dict[str, Any]) -> str | None:
        names = [n.get("String", {}).get("sval") for n in obj.get("objname", [])]
        return names[0] if len(names) > 1 else None

    return bool(objects) and all(tempnames.is_temp_schema(schema(o)) for o in objects)


async def _explain_over_temp(dispatcher: Dispatcher, request: ExecRequest, analysis: Analysis,
                             catalog: CatalogView, session: SessionView) -> bool:
    """EXPLAIN (without ANALYZE) of a query that reads the session's temp tables and
    distributed tables: it would run on the session's catalog connection over gathered
    copies of the distributed tables (`run`), so the plan shown is what is gathered and
    PostgreSQL's plan there (over the catalog server's copies, which have the same columns
    and indexes). False when it is no such EXPLAIN; EXPLAIN ANALYZE is refused (0A000)."""
    from gridpg.executor.multi import _explain_format, _send_explain, inline_params
    from gridpg.planner.core import touches_distributed

    body = analysis.tree["ExplainStmt"]
    query = body.get("query") or {}
    path = list(session.search_path)
    refs = analyze.relations(query)
    if "SelectStmt" not in query or not touches_distributed(query, catalog, session):
        return False
    if not any(tempnames.shadows(path, r.schema, r.name) for r in refs) \
            and not await _calls_temp_code(dispatcher, request.sql, query, path):
        return False
    options = {str(o["DefElem"].get("defname", "")).lower(): o["DefElem"].get("arg")
               for o in body.get("options", []) or []}
    if "analyze" in options and (options["analyze"] or {}).get("Boolean", {"boolval": True}).get("boolval", False):
        raise PgError(FEATURE_NOT_SUPPORTED, "EXPLAIN ANALYZE of a query over temporary and distributed "
                      "tables is not supported by gridpg", hint="run EXPLAIN without ANALYZE, or the query itself")
    tables = sorted({f"{t.schema}.{t.name}" for r in refs
                     if (t := catalog.resolve(r, path)) is not None})
    lines = ["Distributed plan: coordinator finish on the session's catalog connection "
             "(temporary tables)", *(f"  Gather: {name}" for name in tables)]
    conn = await dispatcher.runner.txn.connection(dispatcher.coord.catalog_node, wants_block=False)
    results = await conn.simple_query(await inline_params(dispatcher, request, request.sql))
    catalog_plan = [row[0] or "" for row in results[-1].rows]
    _send_explain(dispatcher, request, lines, [("the catalog server", catalog_plan)], _explain_format(body))
    return True


async def _calls_temp_code(dispatcher: Dispatcher, explain_sql: str, query: dict[str, Any],
                           path: list[str]) -> bool:
    """Whether the EXPLAINed SELECT names the session's own routines or types, or calls
    code reading its temp tables: it runs on the session's catalog connection as `run`
    runs it (as `run_if_temp` decides for the SELECT itself); EXPLAINed elsewhere, that
    code finds no such table (42P01)."""
    if _names_temp_routines_or_types(query):
        return True
    temps = tempnames.temp_names(path)
    if not temps:
        return False
    from pglast import parse_sql
    from pglast.stream import RawStream

    try:
        inner = RawStream()(parse_sql(explain_sql)[0].stmt.query)  # (read for its calls only)
    except Exception:  # noqa: BLE001 - the statement's own path reports it
        return False
    return await dispatcher.coord.routine_guard.code_reads_temps(dispatcher, inner, tuple(path), temps)


def _temp_view(analysis: Analysis, path: list[str]) -> bool:
    """CREATE TEMP VIEW, or a view over the session's temp relations (PostgreSQL makes it
    temporary, with a notice; gridpg refused it as one statement over temporary and other
    relations, groupingsets.sql:239): made on the session's catalog connection (pinned by
    `frontend/temps.py`), as its temp tables are; reads of one over distributed tables are
    planned through its definition (executor/temp_views.py)."""
    body = analysis.tree["ViewStmt"]
    view = body.get("view") or {}
    if tempnames.is_temp_relation(view):
        return True
    return any(tempnames.shadows(path, r.schema, r.name) for r in analyze.relations(body.get("query") or {}))


def _note_view_over_distributed(dispatcher: Dispatcher, analysis: Analysis, catalog: CatalogView,
                                session: SessionView) -> None:
    """Remember a temp view that reads distributed tables (itself or through another such
    temp view): server-side code reading it is refused, as for any view over them."""
    from gridpg.planner.core import touches_distributed

    body = analysis.tree["ViewStmt"]
    name = str((body.get("view") or {}).get("relname", ""))
    query = body.get("query") or {}
    known = dispatcher.runner.temp_views_over_distributed
    path = list(session.search_path)
    if touches_distributed(query, catalog, session) or any(
            r.name in known and tempnames.shadows(path, r.schema, r.name) for r in analyze.relations(query)):
        known.add(name)
    else:
        known.discard(name)  # (CREATE OR REPLACE of one that no longer reads them)


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
    False for a DROP, TRUNCATE, VACUUM or ANALYZE of temp and other relations
    (`_drop_or_truncate_mixed`);
    any other statement mixing them is refused."""
    if not tempnames.temp_names(path):
        return None
    from gridpg.planner.utility import DROPPED_RELATIONS, dropped_relations

    refs = analyze.relations(analysis.tree) + dropped_relations(analysis.tree, analysis.kind, DROPPED_RELATIONS)
    temp = [r for r in refs if tempnames.shadows(path, r.schema, r.name)]
    if not temp:
        return None
    if len(temp) != len(refs):
        if analysis.kind in ("TruncateStmt", "VacuumStmt") or (
                analysis.kind == "DropStmt" and analysis.tree["DropStmt"].get("removeType") in _SPLIT_DROPS):
            return False
        if _postgres_refuses_mixing(analysis, path):
            return True
        parent = _distributed_parent_of_temp(analysis, path)
        if parent is not None:  # (as for CREATE TEMP TABLE ... INHERITS, commands/ddl.py)
            raise PgError(FEATURE_NOT_SUPPORTED, f'a temporary table cannot inherit from distributed '
                          f'table "{parent}": its rows would not be seen through the parent',
                          hint="create the child as a permanent table")
        raise PgError(FEATURE_NOT_SUPPORTED,
                      "gridpg cannot run one utility statement over temporary and other tables")
    return True


def _postgres_refuses_mixing(analysis: Analysis, path: list[str]) -> bool:
    """Statements PostgreSQL itself refuses whenever they mix a session's temp relation with
    a permanent one: a permanent partition or inheritance child of a temp table (CREATE
    FOREIGN TABLE ... PARTITION OF / INHERITS, ATTACH PARTITION, INHERIT), a temp partition
    of a permanent table. Run on the session's connection alone, they fail there with
    PostgreSQL's own error (42809), not gridpg's 0A000 (foreign_data.sql:852, 855)."""
    def is_temp(node: dict[str, Any]) -> bool:
        rel = node.get("RangeVar", node)
        return tempnames.shadows(path, rel.get("schemaname"), str(rel.get("relname", "")))

    body = analysis.tree.get(analysis.kind) or {}
    if analysis.kind == "CreateForeignTableStmt":  # (a foreign table is never temporary)
        return any(is_temp(item) for item in (body.get("base") or {}).get("inhRelations") or [])
    cmds = [item.get("AlterTableCmd", {}) for item in body.get("cmds") or []]
    if analysis.kind != "AlterTableStmt" or len(cmds) != 1:
        return False
    if cmds[0].get("subtype") == "AT_AttachPartition":
        return is_temp(body["relation"]) != is_temp(cmds[0]["def"]["PartitionCmd"]["name"])
    if cmds[0].get("subtype") == "AT_AddInherit":
        return is_temp(cmds[0]["def"]) and not is_temp(body["relation"])
    return False


def _distributed_parent_of_temp(analysis: Analysis, path: list[str]) -> str | None:
    """`ALTER TABLE temp_t INHERIT t`: the name of the permanent (distributed) parent."""
    body = analysis.tree.get(analysis.kind) or {}
    cmds = [item.get("AlterTableCmd", {}) for item in body.get("cmds") or []]
    if analysis.kind != "AlterTableStmt" or len(cmds) != 1 or cmds[0].get("subtype") != "AT_AddInherit":
        return None
    child, parent = body["relation"], cmds[0]["def"].get("RangeVar", cmds[0]["def"])
    if not tempnames.shadows(path, child.get("schemaname"), str(child.get("relname", ""))) \
            or tempnames.shadows(path, parent.get("schemaname"), str(parent.get("relname", ""))):
        return None
    return str(parent.get("relname", ""))


# DROPs whose objects are relations named alone (not `DROP TRIGGER t ON rel`)
_SPLIT_DROPS = frozenset(("OBJECT_TABLE", "OBJECT_VIEW", "OBJECT_MATVIEW", "OBJECT_SEQUENCE", "OBJECT_INDEX",
                          "OBJECT_FOREIGN_TABLE"))


async def _drop_or_truncate_mixed(dispatcher: Dispatcher, request: ExecRequest, path: list[str]) -> None:
    """`DROP TABLE tmp, dist` or `TRUNCATE tmp, dist`: one statement for the session's temp
    relations, run on its catalog connection (where they are), then one for the others, run
    as any such statement is; both in one transaction (the client's block, or one of the
    statement's own), so the statement drops or empties all of them or none, as in
    PostgreSQL. `VACUUM` / `ANALYZE tmp, dist` the same, without a transaction of its own
    (VACUUM runs outside blocks, and PostgreSQL takes each table in a transaction of its
    own). The temp part's CommandComplete is left out: the client gets one."""
    from pglast import ast, parse_sql
    from pglast.stream import RawStream

    from gridpg.executor import relay
    from gridpg.executor.run import run_statement

    stmt = parse_sql(request.sql)[0].stmt
    if isinstance(stmt, ast.TruncateStmt):
        items = list(stmt.relations or ())
        is_temp = [tempnames.shadows(path, rv.schemaname, rv.relname) for rv in items]
    elif isinstance(stmt, ast.VacuumStmt):
        items = list(stmt.rels or ())
        is_temp = [tempnames.shadows(path, v.relation.schemaname, v.relation.relname) for v in items]
    else:
        assert isinstance(stmt, ast.DropStmt)
        items = list(stmt.objects or ())
        names = [[n.sval for n in obj] for obj in items]
        is_temp = [tempnames.shadows(path, n[-2] if len(n) > 1 else None, n[-1]) for n in names]

    def statement(temp: bool) -> str:
        part = tuple(item for item, t in zip(items, is_temp, strict=True) if t is temp)
        if isinstance(stmt, ast.TruncateStmt):
            return str(RawStream()(ast.TruncateStmt(relations=part, restart_seqs=stmt.restart_seqs,
                                                    behavior=stmt.behavior)))
        if isinstance(stmt, ast.VacuumStmt):
            return str(RawStream()(ast.VacuumStmt(options=stmt.options, rels=part, is_vacuumcmd=stmt.is_vacuumcmd)))
        return str(RawStream()(ast.DropStmt(objects=part, removeType=stmt.removeType, behavior=stmt.behavior,
                                            missing_ok=stmt.missing_ok, concurrent=stmt.concurrent)))

    def emit(message: bytes) -> None:
        if message[:1] != b"C":  # its notices (what CASCADE dropped) reach the client
            dispatcher.session.send(message)

    async def both() -> None:
        conn = await dispatcher.runner.txn.connection(dispatcher.coord.catalog_node, wants_block=False)
        await conn.settle()
        relay.start_simple(conn, statement(True))
        result = await relay.finish_simple(conn, emit)
        if result.error is not None:
            raise result.error
        await run_statement(dispatcher, dataclasses.replace(request, sql=statement(False)))

    if isinstance(stmt, ast.VacuumStmt):
        await both()
        return
    async with dispatcher.runner.statement_transaction():
        await both()


async def run(dispatcher: Dispatcher, request: ExecRequest, analysis: Analysis) -> bool:
    """Run the statement on the session's catalog connection; False when the INSERT path
    (target distributed) is to take it."""
    from gridpg.executor.multi import _drop_temp, inline_params, prepare_query_on_catalog
    from gridpg.executor.run import search_path as run_search_path

    if _into_temp(analysis):
        return await create_temp_table_as(dispatcher, request)
    kind = analysis.kind
    target = analysis.resolved[0].table if kind != "SelectStmt" else None
    if target is not None:
        if kind in ("InsertStmt", "MergeStmt"):
            return False  # INSERT ... SELECT and MERGE read the temp rows on this connection
        if kind in ("UpdateStmt", "DeleteStmt"):
            await _ship_and_write(dispatcher, request, analysis, target)
            return True
        raise PgError(
            FEATURE_NOT_SUPPORTED,
            f"{kind[:-4].upper()} of distributed table {target.schema}.{target.name} that reads "
            "a temporary table is not supported by gridpg",
            hint="copy the temporary rows into a distributed table first, or select the keys "
                 "from the client",
        )
    if analyze.has_node(analysis.tree, "lockingClause") \
            and not _locks_temp_only(analysis.tree, list(run_search_path(dispatcher))):
        raise PgError(FEATURE_NOT_SUPPORTED,
                      "SELECT ... FOR UPDATE/SHARE over temporary and distributed tables is not supported by gridpg")
    node = dispatcher.coord.catalog_node
    catalog = await dispatcher.runner.txn.connection(node, wants_block=False)
    sql = analysis.sql or request.sql
    if await catalog.read_only():
        if kind == "SelectStmt":
            await _select_aside(dispatcher, request, analysis, catalog)
        else:
            await _write_temp_through_loopback(dispatcher, request, analysis, sql)
        return True
    if request.params and not request.simple:
        # The gathers of the distributed tables it reads carry its filters: its parameters
        # (a bound statement, EXECUTE of a PREPAREd one) become typed literals first.
        sql = await inline_params(dispatcher, request, sql)
        request = dataclasses.replace(request, params=[], param_formats=[], param_oids=[])
    if kind == "InsertStmt":  # (its time defaults: the statement's instant, h-left25)
        from gridpg.executor.temp_defaults import pinned_insert

        sql = await pinned_insert(dispatcher, catalog, sql)
    prepared = await prepare_query_on_catalog(dispatcher, sql, catalog)
    final, temps = prepared if prepared is not None else (sql, [])
    try:
        await dispatcher.run_on_node(node, request, writes=False, sql=final)
    finally:
        await _drop_temp(catalog, temps)
    return True


async def _select_aside(dispatcher: Dispatcher, request: ExecRequest, analysis: Analysis,
                        own: BackendConnection) -> None:
    """A SELECT over temp and distributed tables in a read-only transaction, where the
    session's catalog connection can create no table for the distributed tables' gathered
    rows (25006 "cannot execute CREATE TABLE AS"): it runs on a side connection
    (executor/scratch.py), over copies of the temp tables it names made there under their
    own names (binary COPY between two sessions of one server: the same types, the values
    exact; `SELECT *` gives generated columns too), read in the transaction's snapshot; the
    side block is rolled back after, and the copies with it. A read-only transaction has
    nothing uncommitted to miss there."""
    from gridpg.executor.multi import _drop_temp, inline_params, prepare_query_on_catalog
    from gridpg.executor.run import search_path as run_search_path
    from gridpg.executor.scratch import writable_catalog

    path = list(run_search_path(dispatcher))
    names = sorted({r.ref.name for r in analysis.resolved
                    if r.table is None and tempnames.shadows(path, r.ref.schema, r.ref.name)})
    tables = {name: (await _temp_columns(own, name),
                     await own.copy_out(f"COPY (SELECT * FROM pg_temp.{quote_ident(name)}) TO STDOUT (FORMAT binary)"))
              for name in names}
    sql = analysis.sql or request.sql
    if request.params and not request.simple:
        sql = await inline_params(dispatcher, request, sql)
        request = dataclasses.replace(request, params=[], param_formats=[], param_oids=[])
    node = dispatcher.coord.catalog_node
    async with writable_catalog(dispatcher):
        side = await dispatcher.runner.txn.connection(node, wants_block=False)
        for name, (columns, chunks) in tables.items():
            await side.simple_query(f"CREATE TEMP TABLE {quote_ident(name)} ({columns})")
            await side.copy_in(f"COPY pg_temp.{quote_ident(name)} FROM STDIN (FORMAT binary)", chunks)
        prepared = await prepare_query_on_catalog(dispatcher, sql, side)
        final, temps = prepared if prepared is not None else (sql, [])
        try:
            await dispatcher.run_on_node(node, request, writes=False, sql=final)
        finally:
            await _drop_temp(side, temps)


async def _write_temp_through_loopback(dispatcher: Dispatcher, request: ExecRequest, analysis: Analysis,
                                       sql: str) -> None:
    """A write of a temp table reading distributed tables in a read-only transaction
    (transactions.sql: `UPDATE temptest SET a = 0 FROM writetest WHERE ...` under `SET
    SESSION CHARACTERISTICS AS TRANSACTION READ ONLY`): no scratch table can be made beside
    the temp table, so the statement runs where it is with the loopback armed, its
    distributed tables read through their shadows (foreign tables the coordinator answers,
    in the transaction's snapshot), as server-side code reads them. Only names that reach
    the shadows that way qualify: a distributed table named with its schema, or any other
    relation but the temp tables and the system catalogs, would be read from the catalog
    server's own copy; refused (0A000)."""
    from gridpg.executor.loopback import run_call
    from gridpg.executor.run import search_path as run_search_path

    path = list(run_search_path(dispatcher))
    tables = set()
    for r in analysis.resolved:
        if r.table is None and (tempnames.shadows(path, r.ref.schema, r.ref.name)
                                or r.ref.schema in ("pg_catalog", "information_schema")):
            continue
        if r.table is None or r.ref.schema is not None:
            raise PgError(FEATURE_NOT_SUPPORTED,
                          f"{analysis.kind[:-4].upper()} of a temporary table that reads "
                          f"{'.'.join(filter(None, (r.ref.schema, r.ref.name)))} is not supported by "
                          "gridpg in a read-only transaction",
                          hint="name the distributed tables without their schema, or run it in a "
                               "read-write transaction")
        tables.add((r.table.schema, r.table.name))
    await run_call(dispatcher, request, sql, sorted(tables))


def _locks_temp_only(tree: dict[str, Any], path: list[str]) -> bool:
    """Every row lock of the statement names (FOR UPDATE OF ...) the session's temp tables
    only: they are locked where they are, on its catalog connection; the distributed
    tables' gathered copies are not locked (a lock on them would lock nothing real)."""
    clauses = [n["LockingClause"] for n in analyze._walk(tree)
               if isinstance(n, dict) and isinstance(n.get("LockingClause"), dict)]
    refs = analyze.relations(tree)
    for clause in clauses:
        rels = clause.get("lockedRels") or []
        if not rels:
            return False
        for rel in rels:
            rv = rel.get("RangeVar", {})
            name, schema = str(rv.get("relname", "")), rv.get("schemaname")
            named = [r for r in refs if (r.alias == name and schema is None)
                     or (r.alias is None and r.name == name and r.schema == schema)]
            if not named or not all(tempnames.shadows(path, r.schema, r.name) for r in named):
                return False
    return bool(clauses)


async def _ship_and_write(dispatcher: Dispatcher, request: ExecRequest, analysis: Analysis,
                          target: DistTable) -> None:
    """UPDATE/DELETE of a distributed table reading temp tables: the temp rows are copied
    into scratch tables on every node of the target (in the statement's transaction), the
    statement, naming those instead, is planned and run as usual, the scratch tables go."""
    from dataclasses import replace

    from gridpg.executor.multi import copy_rows_to_catalog
    from gridpg.executor.run import run_statement, search_path
    from gridpg.planner.plan import SCRATCH_SCHEMA
    from gridpg.planner.text import relation_span
    from gridpg.sql import parse as sqlparse

    path = list(search_path(dispatcher))
    sql = analysis.sql or request.sql
    temps = [r.ref for r in analysis.resolved
             if r.table is None and tempnames.shadows(path, r.ref.schema, r.ref.name)]
    node = dispatcher.coord.catalog_node
    txn = dispatcher.runner.txn
    names: dict[str, str] = {}
    replacements = []
    tokens = sqlparse.tokens(sql)
    for ref in temps:
        scratch = names.setdefault(ref.name, f"{SCRATCH_SCHEMA}.{_scratch_name()}")
        start, end = relation_span(sql, tokens, ref)
        replacements.append((start, end, scratch + ("" if ref.alias else f" AS {quote_ident(ref.name)}")))
    rewritten = sql
    for start, end, text in sorted(replacements, reverse=True):
        rewritten = rewritten[:start] + text + rewritten[end:]
    async with dispatcher.runner.statement_transaction():
        catalog = await txn.connection(node, wants_block=False)
        for name, scratch in names.items():
            columns = await _temp_columns(catalog, name)
            for group in target.groups:
                dest = await txn.connection(group, wants_block=True)
                txn.mark_written(group)
                await dest.simple_query(f"CREATE UNLOGGED TABLE {scratch} ({columns})")
                await copy_rows_to_catalog(dispatcher, [(node, f"SELECT * FROM pg_temp.{quote_ident(name)}")],
                                           dest, scratch)
        # (planned and run without the routine guard: it judged the client's statement,
        # this one names a copy of the same rows. Through the guard again, a write whose
        # triggers the coordinator fires came back with its own `RETURNING WITH (OLD ...)`
        # and was refused: `DELETE FROM t USING temp_t ...` with an audit trigger, 0A000)
        await run_statement(dispatcher, replace(request, sql=rewritten))
        for group in target.groups:
            await txn.participants[group].conn.simple_query(
                "; ".join(f"DROP TABLE {scratch}" for scratch in names.values()))


async def _temp_columns(catalog: BackendConnection, name: str) -> str:
    rows = await catalog.query(
        "SELECT string_agg(pg_catalog.quote_ident(attname) || ' ' || "
        "pg_catalog.format_type(atttypid, atttypmod), ', ' ORDER BY attnum) "
        "FROM pg_catalog.pg_attribute WHERE attrelid = "
        f"pg_catalog.to_regclass({quote_literal('pg_temp.' + quote_ident(name))}) "
        "AND attnum > 0 AND NOT attisdropped")
    if not rows or not rows[0][0]:
        raise PgError("42P01", f'relation "{name}" does not exist')
    return rows[0][0]


_SCRATCH_IDS = itertools.count(1)


def _scratch_name() -> str:
    return f"gp_tship_{os.getpid()}_{next(_SCRATCH_IDS)}"


def _into_temp(analysis: Analysis) -> bool:
    into = (analysis.tree.get("SelectStmt") or {}).get("intoClause") or {}
    return tempnames.is_temp_relation(into.get("rel", {}))


async def create_temp_table_as(dispatcher: Dispatcher, request: ExecRequest) -> bool:
    """CREATE TEMP TABLE ... AS / SELECT ... INTO TEMP over distributed tables: the query's
    distributed tables gathered on the session's catalog connection, the statement run
    there. False when the query reads no distributed table (the catalog runs it as is)."""
    from pglast.stream import RawStream

    from gridpg.executor.multi import _drop_temp, prepare_query_on_catalog
    from gridpg.sql.parse import parse_sql

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
