"""UPDATE and DELETE of a view over distributed tables carried out by the view's INSTEAD OF
row triggers (`UPDATE order_view SET qty = 3 WHERE id = 7`, the trigger updating the view's
tables). PostgreSQL scans the view for the rows the statement names and calls the trigger
once per row with OLD (and NEW); the command tag counts the rows whose trigger returned
non-NULL, and RETURNING is computed over the row it returned (UPDATE) or OLD (DELETE).

The catalog server holds the view over its empty copies of the tables, so the statement
runs there with the loopback armed (executor/routines.py `_run_loopback`) over a *stand-in*:
a temporary view of the view's name whose query reads the view's shadow (the loopback's
foreign table, i.e. the view as gridpg's planner runs it over the cluster), with the
view's triggers and column defaults copied onto it. PostgreSQL then does all of the
above itself, the trigger functions' statements reaching the cluster's tables through
the shadows as any code's do. The stand-in is made and dropped inside the statement's
transaction on the session's catalog connection.

Refused (0A000): trigger functions that read TG_TABLE_SCHEMA or TG_RELID (they would see
the stand-in's temporary schema and oid), replica-only triggers, views with rules.
Not taken (the statement goes on to the other paths, which refuse it): a view without an
enabled INSTEAD OF row trigger for the event (PostgreSQL then writes through the view
itself or refuses; a stand-in over a foreign table would let it write through instead).
This module does not decide whether the trigger code may run through the loopback: the
routine guard did, as for any code (`_loopback_verdict`)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from gridpg.datanode.connection import BackendConnection
from gridpg.errors import FEATURE_NOT_SUPPORTED, PgError
from gridpg.planner import analyze
from gridpg.planner import routines as body
from gridpg.sql import parse as sqlparse
from gridpg.sql.quote import quote_ident, quote_literal, quote_qualified

if TYPE_CHECKING:
    from gridpg.executor.dispatch import Dispatcher, ExecRequest

_KINDS = {"UpdateStmt": 16, "DeleteStmt": 8}  # pg_trigger.tgtype's event bits
_ROW, _INSTEAD = 1, 64
# trigger variables whose value the stand-in would change (the temp schema, its own oid)
_STAND_IN_VARIABLES = frozenset({"tg_table_schema", "tg_relid"})

Preparer = Callable[[BackendConnection, str], Awaitable[tuple[str, str]]]


def written_view(tree: dict[str, Any], kind: str, path: tuple[str, ...],
                 views: body.ViewResolver) -> tuple[str, str] | None:
    """(schema, name) of the view over distributed tables an INSERT, UPDATE or DELETE writes,
    or None (an INSERT: executor/routines.py `_inserts_instead`)."""
    if kind not in _KINDS and kind != "InsertStmt":
        return None
    relation = tree[kind].get("relation") or {}
    name = relation.get("relname")
    if not name:
        return None
    found = views(analyze.RelRef(relation.get("schemaname"), name, relation.get("location", -1), None), path)
    return found if found is not None and found[0] != "pg_temp" else None


async def has_instead_trigger(dispatcher: Dispatcher, view: tuple[str, str], kind: str) -> bool:
    """Whether the view has an enabled INSTEAD OF row trigger for the statement's event."""
    event = _KINDS.get(kind, 4)  # (INSERT: 4)
    wanted = _ROW | _INSTEAD | event
    conn = await dispatcher.runner.txn.connection(dispatcher.coord.catalog_node, wants_block=False)
    await conn.settle()
    regclass = f"pg_catalog.to_regclass({quote_literal(quote_qualified(*view))})"
    rows = await conn.query(f"SELECT count(*) FROM pg_catalog.pg_trigger WHERE tgrelid = {regclass} "
                            f"AND tgenabled <> 'D' AND tgtype::int & {wanted} = {wanted}")
    return bool(rows) and rows[0][0] not in (None, "0")


async def run(dispatcher: Dispatcher, request: ExecRequest, view: tuple[str, str],
              kind: str) -> tuple[str, Preparer] | None:
    """(the statement to run armed, what makes the stand-in first) when the view's INSTEAD
    OF triggers carry out this UPDATE or DELETE; None when none does (module doc)."""
    tree = sqlparse.parse_tree(request.sql)
    conn = await dispatcher.runner.txn.connection(dispatcher.coord.catalog_node, wants_block=False)
    await conn.settle()
    regclass = f"pg_catalog.to_regclass({quote_literal(quote_qualified(*view))})"
    triggers = await conn.query(
        "SELECT t.tgname, t.tgtype::int, t.tgenabled, pg_catalog.pg_get_triggerdef(t.oid), p.prosrc "
        "FROM pg_catalog.pg_trigger t JOIN pg_catalog.pg_proc p ON p.oid = t.tgfoid "
        f"WHERE t.tgrelid = {regclass} AND NOT t.tgisinternal ORDER BY t.tgname")
    event = _KINDS[kind]
    wanted = _ROW | _INSTEAD | event
    if not any(int(tgtype or 0) & wanted == wanted and enabled != "D" for _, tgtype, enabled, _, _ in triggers):
        return None
    await _ensure_privilege(conn, regclass, view, tree[kind], kind)
    rules = await conn.query(f"SELECT count(*) FROM pg_catalog.pg_rewrite WHERE ev_class = {regclass} "
                             "AND rulename <> '_RETURN'")
    if rules and rules[0][0] not in (None, "0"):
        return None
    copied: list[str] = []
    for name, _, enabled, definition, source in triggers:
        if enabled == "D":
            continue
        if enabled == "R":
            raise _refused(view, f"its trigger {name} is ENABLE REPLICA")
        if _reads_stand_in_variables(source or ""):
            raise _refused(view, f"the function of its trigger {name} reads TG_TABLE_SCHEMA or TG_RELID, "
                           "which would name the temporary stand-in gridpg writes through")
        copied.append(_on_stand_in(definition or ""))
    defaults = await conn.query(
        "SELECT a.attname, pg_catalog.pg_get_expr(d.adbin, d.adrelid) FROM pg_catalog.pg_attrdef d "
        "JOIN pg_catalog.pg_attribute a ON a.attrelid = d.adrelid AND a.attnum = d.adnum "
        f"WHERE d.adrelid = {regclass}")
    shadow = await conn.query(f"SELECT 'gridpg_lb_' || oid FROM pg_catalog.pg_namespace "
                              f"WHERE nspname = {quote_literal(view[0])}")
    stand_in = f"pg_temp.{quote_ident(view[1])}"
    reads = f"{quote_ident(shadow[0][0] or '')}.{quote_ident(view[1])}"
    ddl = [f"CREATE TEMPORARY VIEW {stand_in} AS SELECT * FROM {reads}", *copied,
           *(f"ALTER VIEW {stand_in} ALTER COLUMN {quote_ident(col or '')} SET DEFAULT {expr}"
             for col, expr in defaults)]
    sql = _naming_stand_in(request.sql, tree, kind)

    async def make(conn: BackendConnection, text: str) -> tuple[str, str]:
        await conn.simple_query("; ".join(ddl))
        return text, f"DROP VIEW {stand_in}"

    return sql, make


async def _ensure_privilege(conn: BackendConnection, regclass: str, view: tuple[str, str],
                            body: dict[str, Any], kind: str) -> None:
    """PostgreSQL's 42501 when the caller may not UPDATE (the columns it sets) or DELETE
    the view itself: the stand-in is the caller's own temporary view, on which PostgreSQL
    would check nothing."""
    if kind == "UpdateStmt":
        columns = {str((t.get("ResTarget") or {}).get("name") or "") for t in body.get("targetList") or []}
        checks = [f"pg_catalog.has_column_privilege({regclass}, {quote_literal(c)}, 'UPDATE')"
                  for c in sorted(columns) if c]
    else:
        checks = [f"pg_catalog.has_table_privilege({regclass}, 'DELETE')"]
    rows = await conn.query(f"SELECT {' AND '.join(checks) or 'true'}")
    if not rows or rows[0][0] != "t":
        raise PgError("42501", f"permission denied for view {view[1]}")


def _refused(view: tuple[str, str], why: str) -> PgError:
    return PgError(FEATURE_NOT_SUPPORTED,
                   f'gridpg cannot run the INSTEAD OF triggers of view "{view[1]}" over distributed tables: {why}',
                   hint="write the view's tables directly")


def _reads_stand_in_variables(source: str) -> bool:
    """The body names TG_TABLE_SCHEMA or TG_RELID (by PostgreSQL's scanner; text it cannot
    read: by its characters)."""
    try:
        tokens = sqlparse.tokens(source)
    except PgError:
        lowered = source.lower()
        return any(name in lowered for name in _STAND_IN_VARIABLES)
    return any(t.name == "IDENT" and source[t.start:t.end + 1].lower() in _STAND_IN_VARIABLES for t in tokens)


def _on_stand_in(definition: str) -> str:
    """A CREATE TRIGGER definition (pg_get_triggerdef) made ON the stand-in."""
    from gridpg.planner.text import relation_span

    relation = sqlparse.parse_tree(definition)["CreateTrigStmt"]["relation"]
    ref = analyze.RelRef(relation.get("schemaname"), relation["relname"], relation["location"], None)
    start, end = relation_span(definition, sqlparse.tokens(definition), ref)
    return f"{definition[:start]}pg_temp.{quote_ident(relation['relname'])}{definition[end:]}"


def _naming_stand_in(sql: str, tree: dict[str, Any], kind: str) -> str:
    """The statement with its target named `pg_temp.view`: armed, the session's path has the
    shadow schemas first, where the view's shadow would take the write back to the coordinator."""
    from gridpg.planner.text import relation_span

    relation = tree[kind]["relation"]
    ref = analyze.RelRef(relation.get("schemaname"), relation["relname"], relation["location"], None)
    start, end = relation_span(sql, sqlparse.tokens(sql), ref)
    return f"{sql[:start]}pg_temp.{quote_ident(relation['relname'])}{sql[end:]}"
