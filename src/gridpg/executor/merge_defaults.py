"""MERGE's INSERT actions run on the datanodes, on every MERGE path (colocated, one node,
staged): a column they leave to a sequence default would be filled from the datanode's
own copy of the sequence, values PostgreSQL never gives and the same on every node
(duplicate ids without an error, Citus's merge.sql:1647).

So a MERGE whose INSERT leaves a serial, identity or `DEFAULT nextval('s')` column to its
default runs staged (executor/merge_staged.py), whatever path it was planned for: each
source row takes the column's next value from the GTM into a staging column, in the
source's order, and the INSERT action reads the value from there
(`with_sequence_values`). A source row that matches takes a value it does not use: the
sequence has gaps PostgreSQL's would not (each value still unique cluster-wide). A
default that is an expression around nextval() stays refused (0A000), as does a
RETURNING of the source's whole row (it would show the staging columns) and an INSERT
that fills a HASH table's distribution column so (DEFAULT, left out, or an identity
under OVERRIDING USER VALUE): the row would belong on another node than the source row.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from pglast import ast
from pglast.enums import CmdType, OverridingKind
from pglast.stream import RawStream

from gridpg.errors import FEATURE_NOT_SUPPORTED, PgError
from gridpg.planner import analyze
from gridpg.planner.calls import mentions_sequence_call
from gridpg.sql.parse import parse_sql, parse_tree

if TYPE_CHECKING:
    from gridpg.catalog.model import DistTable
    from gridpg.executor.dispatch import Dispatcher
    from gridpg.executor.dml import TableColumn

SEQUENCE_COLUMN = "gp_seq_{}"  # the staging column of the n-th sequence-filled column


async def sequence_defaults(dispatcher: Dispatcher, sql: str
                            ) -> tuple[DistTable | None, list[TableColumn], list[str]]:
    """(the MERGE's distributed target, its columns the MERGE's INSERT leaves to a
    serial/identity/nextval('s') default, its column names); 0A000 for a default that is
    an expression around a sequence call (module doc)."""
    from gridpg.executor.run import catalog_view, search_path

    body = parse_tree(sql).get("MergeStmt")
    if not isinstance(body, dict) or not any(
            (c.get("MergeWhenClause") or {}).get("commandType") == "CMD_INSERT"
            for c in body.get("mergeWhenClauses") or []):
        return None, [], []
    relation = body.get("relation") or {}
    ref = analyze.RelRef(relation.get("schemaname"), str(relation.get("relname", "")), -1, None)
    target = catalog_view(dispatcher).resolve(ref, search_path(dispatcher))
    if target is None:
        return None, [], []
    columns = await dispatcher.coord.table_columns(dispatcher.runner, target)
    names = [c.name for c in columns if not c.generated]
    left, overridden = _defaulted_columns(body, names)
    out = []
    for column in columns:
        if column.name not in left and not (column.identity and column.name in overridden):
            continue
        if column.sequence:
            out.append(column)
        elif mentions_sequence_call(column.default):
            raise PgError(FEATURE_NOT_SUPPORTED, f'gridpg cannot run this MERGE: its INSERT leaves column '
                          f'"{column.name}" to its default, which calls a sequence function the datanodes '
                          "would answer from their own copy of the sequence",
                          hint=f'give "{column.name}" a value in the INSERT action')
    return target, out, names


async def ensure_view_insert_defaults(dispatcher: Dispatcher, sql: str, plan: Any) -> None:
    """A MERGE through a view (plan.through_view) whose INSERT action could leave a column
    of the view's table to a default the nodes cannot compute as one server would (a
    sequence's, or on several replicas a volatile one): 0A000. The view's mapping of
    columns is PostgreSQL's, on the nodes: any such column of the table refuses."""
    from gridpg.planner import replicas

    body = parse_tree(sql).get("MergeStmt") or {}
    if not any((c.get("MergeWhenClause") or {}).get("commandType") == "CMD_INSERT"
               for c in body.get("mergeWhenClauses") or []):
        return
    table = plan.target
    columns = await dispatcher.coord.table_columns(dispatcher.runner, table)
    replicated = table.method == "replication" and len(table.groups) > 1
    volatile = dispatcher.runner.snapshot().volatile_functions
    for column in columns:
        if column.sequence or mentions_sequence_call(column.default) or (
                replicated and replicas.diverging_default(column.default, volatile)):
            raise PgError(FEATURE_NOT_SUPPORTED,
                          f'gridpg cannot MERGE ... INSERT through view "{plan.through_view[1]}": column '
                          f'"{column.name}" of "{table.name}" has a default the datanodes would each compute '
                          "for themselves", hint=f'MERGE into "{table.name}" itself')


def with_sequence_values(sql: str, alias: str | None, columns: Sequence[TableColumn],
                         names: Sequence[str], source_columns: Sequence[str] | None) -> str:
    """The MERGE `sql` (its source already the stage) with each INSERT action giving the
    sequence-filled `columns` the staged values `<alias>.gp_seq_<n>`; `names`: the target's
    columns, in order, for an INSERT without a column list; `source_columns`: the
    source's own columns, for a RETURNING of `<alias>.*` (None: RETURNING left as it is,
    for the statement planned before the source is staged)."""
    if alias is None:
        raise PgError(FEATURE_NOT_SUPPORTED, "gridpg cannot run a MERGE whose INSERT leaves a serial or "
                      "identity column to its default with a source subquery that has no alias",
                      hint="name the source: USING (...) AS s")
    stmt = parse_sql(sql)[0].stmt
    assert isinstance(stmt, ast.MergeStmt)
    for clause, targets, values in _insert_actions(stmt, names):
        always = False
        for n, column in enumerate(columns):
            value = ast.ColumnRef(fields=(ast.String(sval=alias), ast.String(sval=SEQUENCE_COLUMN.format(n))))
            if column.name in targets:
                at = targets.index(column.name)
                if not isinstance(values[at], ast.SetToDefault) and not (
                        column.identity and clause.override == OverridingKind.OVERRIDING_USER_VALUE):
                    continue  # the action gives a value of its own
                values[at] = value
            else:
                targets.append(column.name)
                values.append(value)
            always = always or column.identity == "a" or clause.override == OverridingKind.OVERRIDING_USER_VALUE
        clause.targetList = tuple(ast.ResTarget(name=t) for t in targets)
        clause.values = tuple(values)
        if always:
            clause.override = OverridingKind.OVERRIDING_SYSTEM_VALUE
    if source_columns is not None and stmt.returningClause is not None and stmt.returningClause.exprs:
        relation = stmt.relation
        target = str(relation.alias.aliasname) if relation.alias is not None else str(relation.relname)
        stmt.returningClause.exprs = tuple(_returning_without_stage(stmt.returningClause.exprs, alias,
                                                                    source_columns, target))
    return str(RawStream()(stmt))


def _returning_without_stage(items: Sequence[ast.ResTarget], alias: str, source_columns: Sequence[str],
                             target: str) -> list[ast.ResTarget]:
    """RETURNING with `<alias>.*` spelled out as the source's own columns, and `*` as
    those and then the target's (PostgreSQL's order: the source comes first in MERGE's
    range table); the source's whole row refused (it would show the staging columns)."""
    out: list[ast.ResTarget] = []
    own = [ast.ResTarget(val=ast.ColumnRef(fields=(ast.String(sval=alias), ast.String(sval=c))))
           for c in source_columns]
    for item in items:
        val = item.val
        fields = tuple(val.fields) if isinstance(val, ast.ColumnRef) else ()
        if len(fields) == 1 and isinstance(fields[0], ast.A_Star):
            out.extend(own)
            out.append(ast.ResTarget(val=ast.ColumnRef(fields=(ast.String(sval=target), ast.A_Star()))))
            continue
        if len(fields) == 2 and isinstance(fields[1], ast.A_Star) and str(fields[0].sval) == alias:
            out.extend(own)
            continue
        if any(isinstance(node, ast.ColumnRef) and len(node.fields) == 1
               and isinstance(node.fields[0], ast.String) and str(node.fields[0].sval) == alias
               for node in _column_refs(item)):
            raise _returning_refused()
        out.append(item)
    return out


def _column_refs(node: Any) -> list[ast.ColumnRef]:
    from gridpg.planner.gather import _nodes

    return list(_nodes(node, ast.ColumnRef))


def _returning_refused() -> PgError:
    return PgError(FEATURE_NOT_SUPPORTED, "gridpg cannot return the source's whole row from a MERGE "
                   "whose INSERT fills a serial or identity column", hint="name the columns in RETURNING")


def _defaulted_columns(body: dict[str, Any], columns: Sequence[str]) -> tuple[set[str], set[str]]:
    """(target columns an INSERT action of the MERGE leaves to their defaults, columns an
    action gives values OVERRIDING USER VALUE: an identity column's default wins there)."""
    out: set[str] = set()
    overridden: set[str] = set()
    for clause in body.get("mergeWhenClauses") or []:
        when = clause.get("MergeWhenClause") or {}
        if when.get("commandType") != "CMD_INSERT":
            continue
        names = [(t.get("ResTarget") or {}).get("name") for t in when.get("targetList") or []]
        values = when.get("values") or []
        given = names or list(columns[:len(values)])
        out.update(c for c in columns if c not in given)
        out.update(n for n, v in zip(given, values) if "SetToDefault" in v)
        if when.get("override") == "OVERRIDING_USER_VALUE":
            overridden.update(given)
    return out, overridden


async def pin_insert_time_defaults(dispatcher: Dispatcher, sql: str) -> str:
    """The MERGE `sql` with each INSERT action giving the target's columns it leaves to a
    default reading the transaction's time (`DEFAULT now()`, CURRENT_DATE) that default
    pinned to the statement's instant, as `dml._pin_time_defaults` gives an INSERT's: the
    datanode evaluated it with its own start, apart from the block's `now()` and from the
    instant the trigger functions it fires read (h-refuse25). `sql` itself when nothing
    changes (or it does not parse: its error comes from planning)."""
    from gridpg.executor.run import catalog_view, search_path
    from gridpg.sql import xact_time

    try:
        body = parse_tree(sql).get("MergeStmt")
    except PgError:
        return sql
    if not isinstance(body, dict) or not any(
            (c.get("MergeWhenClause") or {}).get("commandType") == "CMD_INSERT"
            for c in body.get("mergeWhenClauses") or []):
        return sql
    relation = body.get("relation") or {}
    ref = analyze.RelRef(relation.get("schemaname"), str(relation.get("relname", "")), -1, None)
    target = catalog_view(dispatcher).resolve(ref, search_path(dispatcher))
    if target is None:
        return sql
    columns = await dispatcher.coord.table_columns(dispatcher.runner, target)
    names = [c.name for c in columns if not c.generated]
    left, _ = _defaulted_columns(body, names)
    timed = [c for c in columns if c.name in left and c.has_time_default and not c.generated]
    if not timed:
        return sql
    txn = dispatcher.runner.txn
    await txn.read_block_instant(dispatcher.coord.catalog_node)
    pins = txn.time_pins()
    pinned = {c.name: _expression(xact_time.pin_expression(c.default or "", pins) or "") for c in timed}
    stmt = parse_sql(sql)[0].stmt
    assert isinstance(stmt, ast.MergeStmt)
    for clause, targets, values in _insert_actions(stmt, names):
        for name, value in pinned.items():
            if name in targets:
                at = targets.index(name)
                if isinstance(values[at], ast.SetToDefault):
                    values[at] = value
            else:
                targets.append(name)
                values.append(value)
        clause.targetList = tuple(ast.ResTarget(name=t) for t in targets)
        clause.values = tuple(values)
    return RawStream()(stmt)


def _insert_actions(stmt: ast.MergeStmt, names: Sequence[str]) -> Iterator[tuple[Any, list[str], list[Any]]]:
    """Each INSERT action of the MERGE with its column names (the target's `names`, in
    order, for an action without a column list) and its values, as lists to change; the
    caller writes them back into the clause."""
    for clause in stmt.mergeWhenClauses or ():
        if clause.commandType != CmdType.CMD_INSERT:
            continue
        targets = [str(t.name) for t in clause.targetList or ()]
        values = list(clause.values or ())
        if not targets:
            targets = list(names[:len(values)])
        yield clause, targets, values


def _expression(text: str) -> Any:
    """An expression's parse tree (a pinned default's text)."""
    return parse_sql(f"SELECT {text}")[0].stmt.targetList[0].val
