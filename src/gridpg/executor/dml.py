"""INSERT and COPY into distributed tables: rows routed to their nodes in bulk.

INSERT ... VALUES splits its rows by node (token spans of the original text, so nothing
is re-deparsed), fills serial/identity columns from GTM sequences first, and sends one
INSERT per node. INSERT ... SELECT and COPY FROM STDIN stream rows as COPY text (or CSV,
or binary) and route each record by its distribution column. Several nodes written means
a remote transaction block on each and 2PC at the end.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import re
from collections.abc import AsyncIterator, Awaitable, Iterable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, TypeVar

from pglast import ast
from pglast.stream import RawStream

from gridpg.catalog.model import DistTable
from gridpg.datanode.connection import BackendConnection
from gridpg.errors import CONNECTION_FAILURE, FEATURE_NOT_SUPPORTED, READ_ONLY_SQL_TRANSACTION, PgError
from gridpg.executor import copy_instant, copy_server_hash, copyfill, copysplit, large_objects, server_files
from gridpg.executor.copy_format import CopyFormat
from gridpg.executor.copylines import CopyLines
from gridpg.pgwire import codec
from gridpg.executor.replica_defaults import ensure_replica_defaults
from gridpg.planner import analyze, replicas, tableoid, tempnames
from gridpg.planner.plan import Fragment, PushdownPlan
from gridpg.sql import parse as sqlparse
from gridpg.sql import xact_time
from gridpg.sql.parse import parse_sql, tokens
from gridpg.sql.quote import quote_ident, quote_literal, quote_qualified

if TYPE_CHECKING:
    from gridpg.executor.dispatch import Dispatcher, ExecRequest
    from gridpg.executor.insert_nextval import SequenceDefault
    from gridpg.planner.pushdown import Resolved
    from gridpg.planner.router import RouterSpec

_roundrobin = itertools.count()
_T = TypeVar("_T")


async def _next_values(dispatcher: Dispatcher, name: str, count: int) -> list[int]:
    from gridpg.commands.sequences import next_values

    return await next_values(dispatcher, name, count)


@dataclass(frozen=True)
class TableColumn:
    name: str
    default: str | None
    sequence: str | None  # qualified serial/identity sequence, filled from the GTM
    identity: str  # '' | 'a' (ALWAYS) | 'd' (BY DEFAULT)
    type_oid: int
    typmod: int = -1  # numeric(8,-6), timestamp(2): PostgreSQL rounds the value it stores
    primary_key: bool = False  # a column of the table's primary key
    generated: str = ""  # pg_attribute.attgenerated: '' | 's' (stored) | 'v' (virtual)

    @property
    def has_time_default(self) -> bool:
        """Its default reads the transaction's time (now(), CURRENT_DATE, ...): where the
        coordinator pins it to the statement's instant (sql/xact_time.py), not a node."""
        return bool(self.default) and not self.sequence and xact_time.mentions_time(self.default or "")


# -- INSERT ----------------------------------------------------------------------------


async def insert(dispatcher: Dispatcher, request: ExecRequest, tree: dict[str, Any],
                 resolved: list[Resolved]) -> None:
    target = resolved[0].table
    assert target is not None
    reads = partial_reads(tree["InsertStmt"], resolved)
    if list(reads) == ["RETURNING"]:
        from gridpg.executor import returning_reads

        await returning_reads.run(dispatcher, request, target)  # as a data-modifying WITH
        return
    ensure_no_partial_reads(tree["InsertStmt"], resolved, reads)
    from gridpg.executor import no_column_insert

    if no_column_insert.has_no_columns(tree["InsertStmt"]):  # rows of defaults, as many as it returns
        columns = await dispatcher.coord.table_columns(dispatcher.runner, target)
        if columns:  # (a table of no columns: its rows are empty either way, written below)
            spelled_request = await no_column_insert.spelled_as_defaults(dispatcher, request, columns)
            await insert(dispatcher, spelled_request, sqlparse.parse_tree(spelled_request.sql), resolved[:1])
            return
    if target.method == "replication" and tree["InsertStmt"].get("onConflictClause"):
        replicas.ensure_same_on_every_replica(tree["InsertStmt"]["onConflictClause"], target, "INSERT ... ON CONFLICT",
                                              dispatcher.runner.snapshot().volatile_functions)
        await ensure_replica_defaults(dispatcher, request.sql)
    pinned = await _pin_time_defaults(dispatcher, request, tree, target)
    if pinned is not None:
        request, tree = replace(request, sql=pinned), sqlparse.parse_tree(pinned)
    body = tree["InsertStmt"]
    select = (body.get("selectStmt") or {}).get("SelectStmt")
    sources = [r for r in resolved[1:] if r.table is not None]
    if body.get("selectStmt") is None:
        spelled = await _default_values_as_values(dispatcher, request, target)
        if spelled is not None:  # the distribution column's default decides the node
            await insert(dispatcher, replace(request, sql=spelled), sqlparse.parse_tree(spelled), resolved)
            return
        await insert_default_values(dispatcher, request, body, target)
        return
    if sources and analyze.has_node(body, "lockingClause"):
        from gridpg.executor.locked_insert import insert_locked

        await insert_locked(dispatcher, request)  # its rows locked where they live, first
        return
    if select is not None and select.get("valuesLists") and sources and not body.get("withClause") \
            and analyze.has_node(select["valuesLists"], "SetToDefault"):
        spelled = await _values_subqueries_evaluated(dispatcher, request, body, target)
        await insert(dispatcher, replace(request, sql=spelled, params=[], param_oids=[], param_formats=[],
                                         decode_oids=[]),
                     sqlparse.parse_tree(spelled), resolved[:1])
        return
    if select is not None and not sources and large_objects.may_touch(request.sql.lower()):
        spelled = large_objects.bare_select_as_values(request.sql)  # (computed at the home as VALUES)
        if spelled is not None:
            await insert(dispatcher, replace(request, sql=spelled), sqlparse.parse_tree(spelled), resolved)
            return
    if select is None or not select.get("valuesLists") or sources:
        await insert_select(dispatcher, request, body, target)
        return
    columns = await dispatcher.coord.table_columns(dispatcher.runner, target)
    shape = _values_shape(request.sql, body, columns)
    from gridpg.executor import values

    if large_objects.may_touch(request.sql.lower()):
        from gridpg.executor.multi import inline_params

        text = await inline_params(dispatcher, request, request.sql)
        spans = shape.rows if text == request.sql else \
            _values_shape(text, sqlparse.parse_tree(text)["InsertStmt"], columns).rows
        computed = await large_objects.values_at_home(dispatcher, text, spans)
        if computed is not None:
            await insert(dispatcher, replace(request, sql=computed, params=[], param_oids=[], param_formats=[],
                                                    decode_oids=[]),
                         sqlparse.parse_tree(computed), resolved)
            return
    if values.needs_evaluation(select, shape.cols, target.column) \
            or _distribution_default(request.sql, target, shape, columns) \
            or _uses_sequence_defaults(request.sql, shape, columns) \
            or _diverges_on_replicas(request.sql, select, target, shape, columns,
                                     dispatcher.runner.snapshot().volatile_functions):
        await values.insert_evaluated(dispatcher, request, body, target)
        return
    fill = [c for c in columns if c.sequence and c.name not in shape.cols]
    _check_items(request.sql, body, shape, columns)
    rows = await _route_rows(dispatcher, request, target, shape, columns, fill,
                             user_value=body.get("override") == "OVERRIDING_USER_VALUE")
    groups = sorted({g for g, _ in rows})
    leaves = await _leaves_for_system_columns(dispatcher, request, body, target, shape, fill, rows)
    if len(groups) == 1 and not fill and not shape.changed and target.method != "replication" and not leaves:
        await dispatcher.run_on_node(groups[0], request, writes=True)
        return
    fragments = _insert_fragments(request.sql, body, target, shape, fill, rows, columns, leaves)
    if target.method == "replication":
        text = fragments[0].sql
        fragments = [Fragment(g, text) for g in target.groups]
    oids = request.param_oids
    if not request.simple and request.params:
        oids, _ = await dispatcher.describe(request.sql, request.param_oids)
    plan = PushdownPlan(tuple(fragments), True)
    from gridpg.executor.multi import scatter

    order = _returned_order(rows, leaves) if _has_returning(body) and target.method != "replication" else None
    await scatter(dispatcher, replace(request, param_oids=list(oids)), plan,
                  relay_groups=None if target.method != "replication" else {fragments[0].group},
                  order=order, reads=False, command="INSERT" if leaves else None,
                  first_alone=target.method == "replication")


def _returned_order(rows: list[tuple[str, list[str]]], leaves: list[str]) -> list[tuple[str, int]]:
    """Each VALUES row's node and its place among the rows that node returns: in the
    order sent, or, when the rows went to several shard tables of one node
    (`_insert_fragments`), shard table after shard table in the order they first appear."""
    from gridpg.executor.multi import in_sent_order

    if not leaves:
        return in_sent_order([g for g, _ in rows])
    sequence: dict[str, list[int]] = {}
    for group, leaf in _leaf_runs(rows, leaves):
        sequence.setdefault(group, []).extend(leaf)
    place = {index: position for indexes in sequence.values() for position, index in enumerate(indexes)}
    return [(group, place[index]) for index, (group, _) in enumerate(rows)]


def _leaf_runs(rows: list[tuple[str, list[str]]], leaves: list[str]) -> list[tuple[str, list[int]]]:
    """(node, the indexes of its rows in one shard table) per shard table, in the order
    each (node, shard table) first appears; a node's shard tables keep that order."""
    by_leaf: dict[tuple[str, str], list[int]] = {}
    for index, ((group, _), leaf) in enumerate(zip(rows, leaves, strict=True)):
        by_leaf.setdefault((group, leaf), []).append(index)
    return [(group, indexes) for (group, _), indexes in by_leaf.items()]


def ensure_no_partial_reads(body: dict[str, Any], resolved: list[Resolved],
                            reads: dict[str, str] | None = None) -> None:
    """Refuse (0A000) an INSERT whose RETURNING list or ON CONFLICT DO UPDATE reads a
    distributed table in a sub-select: those run on the node of each inserted row, where
    the sub-select would see that node's rows only (a count of one node's share, stored or
    returned as if it were the table's). (`insert` runs one whose RETURNING list alone does
    as a data-modifying WITH, executor/returning_reads.py.) `reads`: `partial_reads` of
    the INSERT, when the caller has it."""
    for what, table in (partial_reads(body, resolved) if reads is None else reads).items():
        raise PgError(FEATURE_NOT_SUPPORTED,
                      f'INSERT with a sub-select over distributed table "{table}" in its '
                      f"{what} clause is not supported by gridpg: it would run on the node of each "
                      "inserted row and read that node's rows only",
                      hint="Read the value in a statement of its own first.")


def partial_reads(body: dict[str, Any], resolved: list[Resolved]) -> dict[str, str]:
    """The clauses of an INSERT ("RETURNING", "ON CONFLICT DO UPDATE") whose sub-selects
    read a distributed table, each with the first such table's name."""
    found = {what: _partial_reads_of(body, resolved, what) for what in _READING_CLAUSES}
    return {what: table for what, table in found.items() if table is not None}


_READING_CLAUSES = {"RETURNING": ("returningList", "returningClause"), "ON CONFLICT DO UPDATE": ("onConflictClause",)}


def _partial_reads_of(body: dict[str, Any], resolved: list[Resolved], what: str) -> str | None:
    """The first distributed table a clause's sub-selects read, by name; None: none."""
    parts = [body.get(key) for key in _READING_CLAUSES[what]]
    locations = {node["RangeVar"].get("location") for node in analyze._walk(parts)
                 if isinstance(node, dict) and isinstance(node.get("RangeVar"), dict)}
    if not locations:
        return None
    for r in resolved[1:]:
        if r.table is not None and r.table.method != "replication" and r.ref.location in locations:
            return r.table.name
    return None


async def _pin_time_defaults(dispatcher: Dispatcher, request: ExecRequest, tree: dict[str, Any],
                             target: DistTable) -> str | None:
    """The INSERT with the columns whose defaults read the transaction time (now(),
    CURRENT_TIMESTAMP, ...) given the transaction's instant explicitly: each datanode would
    evaluate the default with its own transaction start (sql/xact_time.py)."""
    columns = await dispatcher.coord.table_columns(dispatcher.runner, target)
    timed = [c for c in columns if c.has_time_default]
    special = xact_time.may_mention_time(request.sql)
    if not timed and not special:
        return None
    await dispatcher.runner.txn.read_block_instant(dispatcher.coord.catalog_node)
    pins = dispatcher.runner.txn.time_pins()
    pinned = {c.name: xact_time.pin_expression(c.default or "", pins) or "" for c in timed}
    types = {c.name: c.type_oid for c in columns} if special else None
    return xact_time.pin_insert_defaults(request.sql, tree, [c.name for c in columns], pinned, pins, types)


async def prepared_insert_spec(dispatcher: Dispatcher, sql: str, tree: dict[str, Any],
                               resolved: list[Resolved]) -> RouterSpec | None:
    """The router spec of a one-row INSERT ... VALUES whose distribution column is given by
    a bare parameter, when `insert` would send the statement unchanged to the node of that
    value whatever the values are (no VALUES evaluation, no sequence to fill, no default or
    rounding of the distribution value): the prepared fast path (executor/routed.py) then
    runs it with no parse, catalog lookup or tokenizing per Execute. None otherwise."""
    from gridpg.executor import values
    from gridpg.planner.router import RouterSpec

    body = tree["InsertStmt"]
    target = resolved[0].table
    select = (body.get("selectStmt") or {}).get("SelectStmt")
    if target is None or target.method not in ("hash", "modulo") or select is None \
            or len(select.get("valuesLists") or ()) != 1 or any(r.table is not None for r in resolved[1:]):
        return None
    columns = await dispatcher.coord.table_columns(dispatcher.runner, target)
    shape = _values_shape(sql, body, columns)
    if values.needs_evaluation(select, shape.cols, target.column) \
            or _distribution_default(sql, target, shape, columns) or target.column not in shape.cols \
            or _uses_sequence_defaults(sql, shape, columns):
        return None
    by_name = {c.name: c for c in columns}
    if any(c.sequence and c.name not in shape.cols for c in columns):
        return None  # a serial column to fill from the GTM
    if any(c.has_time_default for c in columns):
        return None  # a default of the transaction's time (_pin_time_defaults)
    if target.method == "hash" and returns_system_columns(body):
        return None  # sent to the shard table (_leaves_for_system_columns)
    if body.get("override") == "OVERRIDING_USER_VALUE" and any(
            (by_name.get(n) or _NO_COLUMN).identity for n in shape.cols):
        return None  # the identity values are replaced by the GTM's (_route_rows)
    for name, (start, end) in zip(shape.cols, shape.rows[0]):
        column = by_name.get(name)
        if column is not None and column.sequence and sql[start:end].strip().upper() == "DEFAULT":
            return None
    position = shape.cols.index(target.column)
    items = select["valuesLists"][0].get("List", {}).get("items", [])
    value = analyze.value_of(items[position]) if position < len(items) else None
    if value is None or not value.param or value.cast is not None or await _rounds(dispatcher, target):
        return None
    return RouterSpec(((target, (value,)),), None, True, ())


class _NoColumn:
    identity = ""


_NO_COLUMN = _NoColumn()


async def _default_values_as_values(dispatcher: Dispatcher, request: ExecRequest,
                                    target: DistTable) -> str | None:
    """`INSERT INTO t DEFAULT VALUES ...` written `INSERT INTO t (key) VALUES (DEFAULT) ...`
    when the distribution column has a default that is not a sequence's
    (`gen_random_uuid()`, a constant): DEFAULT VALUES routed the row by NULL, and the node
    it reached evaluated the default, so the row was refused by that node's partitions
    (23514) unless its shard happened to live there. As a VALUES item the default is
    evaluated before routing. None when the form does not apply."""
    if target.method not in ("hash", "modulo") or target.column is None:
        return None
    columns = await dispatcher.coord.table_columns(dispatcher.runner, target)
    key = next((c for c in columns if c.name == target.column), None)
    if key is None or key.sequence or key.identity or not key.default:
        return None
    toks = tokens(request.sql)
    for first, second in zip(toks, toks[1:]):
        if (request.sql[first.start:first.end + 1].lower() == "default"
                and request.sql[second.start:second.end + 1].lower() == "values"):
            return (f"{request.sql[:first.start]}({quote_ident(key.name)}) VALUES (DEFAULT)"
                    f"{request.sql[second.end + 1:]}")
    return None


def _default_values_end(sql: str, body: dict[str, Any]) -> int:
    """Offset just past the statement's own `DEFAULT VALUES` (the two tokens after the
    target, however spaced or commented; not the words in a later comment or name)."""
    relation_at = int(body.get("relation", {}).get("location", -1))
    toks = [t for t in tokens(sql) if t.start > relation_at]
    for first, second in itertools.pairwise(toks):
        if sql[first.start:first.end + 1].lower() == "default" and sql[second.start:second.end + 1].lower() == "values":
            return int(second.end) + 1
    raise PgError("42601", "syntax error: no DEFAULT VALUES in INSERT ... DEFAULT VALUES")


async def insert_default_values(dispatcher: Dispatcher, request: ExecRequest, body: dict[str, Any],
                                target: DistTable) -> None:
    from gridpg.executor.values import SequenceRewriter, sequence_default_columns

    columns = await dispatcher.coord.table_columns(dispatcher.runner, target)
    by_default = {c.name for c in sequence_default_columns(columns)}
    if target.column in by_default:
        raise PgError(FEATURE_NOT_SUPPORTED, f'the default of distribution column "{target.column}" calls a '
                      "sequence function inside an expression; gridpg cannot route DEFAULT VALUES by it")
    fill = [c for c in columns if c.sequence or c.name in by_default]
    replicas.ensure_no_diverging_defaults(target, columns, (), "INSERT ... DEFAULT VALUES",
                                          dispatcher.runner.snapshot().volatile_functions)
    planner = dispatcher.coord.planner
    assert planner is not None
    rewriter = SequenceRewriter(dispatcher)
    values = {}
    for c in fill:  # in column order, as PostgreSQL evaluates them: currval() sees this row's nextval()
        values[c.name] = str((await _next_values(dispatcher, c.sequence, 1))[0]) if c.sequence \
            else f"({await rewriter.rewrite(c.default or '')})"
    if target.method == "replication":
        groups = list(target.groups)
    elif target.method == "roundrobin":
        groups = [target.groups[next(_roundrobin) % len(target.groups)]]
    else:
        group = planner.group_for_value(target, values.get(target.column or ""), dispatcher.runner.snapshot())
        groups = [group] if group else []
    relation = quote_qualified(target.schema, target.name)
    if fill:
        overriding = " OVERRIDING SYSTEM VALUE" if any(c.identity == "a" for c in fill) else ""
        sql = (f"INSERT INTO {relation} ({', '.join(quote_ident(c.name) for c in fill)}){overriding} "
               f"VALUES ({', '.join(values[c.name] for c in fill)})")
    else:
        sql = f"INSERT INTO {relation} DEFAULT VALUES"
    tail = request.sql[_default_values_end(request.sql, body):]
    plan = PushdownPlan(tuple(Fragment(g, sql + tail) for g in groups), True)
    from gridpg.executor.multi import scatter

    await scatter(dispatcher, request, plan, relay_groups={groups[0]} if len(groups) > 1 else None,
                  reads=False)


def _diverges_on_replicas(sql: str, select: dict[str, Any], target: DistTable, shape: _ValuesShape,
                          columns: list[TableColumn], user_volatile: frozenset[str]) -> bool:
    """Whether the VALUES rows for a REPLICATION table on several groups call a volatile
    function (`random()`, `gen_random_uuid()`, `clock_timestamp()`, ...), directly or
    through a column default they leave to it: each node would store its own value, so
    they are evaluated once first (values.insert_evaluated)."""
    if target.method != "replication" or len(target.groups) < 2:
        return False
    if replicas.replica_divergence(select.get("valuesLists"), user_volatile) is not None:
        return True
    for column in columns:
        if column.sequence or not replicas.diverging_default(column.default, user_volatile):
            continue
        if column.name not in shape.cols:
            return True
        index = shape.cols.index(column.name)
        if any(index < len(spans) and sql[spans[index][0]:spans[index][1]].strip().upper() == "DEFAULT"
               for spans in shape.rows):
            return True
    return False


def _distribution_default(sql: str, target: DistTable, shape: _ValuesShape,
                          columns: list[TableColumn]) -> bool:
    """True when the distribution column takes a non-sequence default (omitted or DEFAULT):
    it must be evaluated once, before routing, not again on the datanode. An explicit
    DEFAULT of a column without a default of its own is evaluated too (NULL, or its
    domain's default): it has no text to route by (42601 "DEFAULT is not allowed in this
    context" when it was cast for routing)."""
    column = next((c for c in columns if c.name == target.column), None)
    if column is None or column.sequence:
        return False
    if column.name not in shape.cols:
        return bool(column.default)
    index = shape.cols.index(column.name)
    return any(index < len(spans) and sql[spans[index][0]:spans[index][1]].strip().upper() == "DEFAULT"
               for spans in shape.rows)


@dataclass
class _ValuesShape:
    cols: list[str]
    rows: list[list[tuple[int, int]]]  # per row, per item: (start, end) text span
    values_start: int
    values_end: int
    changed: bool = False


def _staged_sequence_defaults(body: dict[str, Any], columns: list[TableColumn],
                              target: DistTable) -> list[SequenceDefault]:
    """INSERT ... SELECT leaving columns to defaults that call a sequence function inside an
    expression: a datanode evaluating them would take its own copy's values, not the
    GTM's. Those calling nextval() only (`'ORD-' || nextval('order_no')`) are evaluated
    from staged GTM values (executor/insert_nextval.SequenceDefault); refused (0A000) are
    currval()/lastval() (undefined, or another session's, on a datanode) and such a
    default of the distribution column (its rows are routed before the nodes insert)."""
    from gridpg.executor import insert_nextval
    from gridpg.executor.values import sequence_default_columns

    candidates = sequence_default_columns(columns)
    if not candidates:
        return []
    given = [c["ResTarget"]["name"] for c in body.get("cols", [])]
    if not given:
        select = (body.get("selectStmt") or {}).get("SelectStmt") or {}
        targets = select.get("targetList") or []
        if not targets or any("A_Star" in str(t) for t in targets):
            return []  # `SELECT *` (or a set operation): taken to give every column
        given = [c.name for c in columns[:len(targets)]]
    omitted = [c for c in candidates if c.name not in given]
    if not omitted:
        return []
    staged = insert_nextval.sequence_defaults([(c.name, c.default or "") for c in omitted])
    refused = [c.name for c in omitted if c.name == target.column] if staged is not None else [omitted[0].name]
    if refused:
        raise PgError(FEATURE_NOT_SUPPORTED,
                      f'INSERT ... SELECT into a distributed table leaving column "{refused[0]}" to its '
                      "default, which calls a sequence function inside an expression, is not supported",
                      hint="Give the column's value in the SELECT, or insert with VALUES.")
    assert staged is not None
    return staged


def _uses_sequence_defaults(sql: str, shape: _ValuesShape, columns: list[TableColumn]) -> bool:
    """Whether a row takes a default that calls a sequence function inside an expression
    (`-1 * currval('s')`): evaluated with the GTM's values first (values.insert_evaluated)."""
    from gridpg.executor import values

    names = {c.name for c in values.sequence_default_columns(columns)}
    if not names:
        return False
    if any(n not in shape.cols for n in names):
        return True
    return any(shape.cols[i] in names and sql[start:end].strip().upper() == "DEFAULT"
               for row in shape.rows for i, (start, end) in enumerate(row) if i < len(shape.cols))


async def _values_subqueries_evaluated(dispatcher: Dispatcher, request: ExecRequest, body: dict[str, Any],
                                      target: DistTable) -> str:
    """INSERT ... VALUES whose rows read distributed tables in subqueries and also say
    DEFAULT (which INSERT ... SELECT, the path for rows that read distributed tables, cannot
    say: 42601): the items holding subqueries evaluated first through the coordinator, in one
    SELECT (uncorrelated, as VALUES items are: PostgreSQL evaluates each once too), each
    value spelled as a literal of the item's type, so the INSERT takes the VALUES path."""
    from gridpg.executor.multi import copy_query_to_catalog_final, inline_params

    sql = await inline_params(dispatcher, request, request.sql) if request.params else request.sql
    tree = sqlparse.parse_tree(sql)["InsertStmt"]
    columns = await dispatcher.coord.table_columns(dispatcher.runner, target)
    spans = [span for row, row_spans in zip(tree["selectStmt"]["SelectStmt"]["valuesLists"],
                                            _values_shape(sql, tree, columns).rows, strict=True)
             for item, span in zip(row.get("List", {}).get("items", []), row_spans, strict=True)
             if analyze.has_node(item, "SubLink")]
    items = [sql[start:end].strip() for start, end in spans]
    if not items:
        return sql
    aliases = ", ".join(f"gp_c{i}" for i in range(len(items)))
    literals = ", ".join(f"pg_catalog.format('%L::%s', gp_c{i}, pg_catalog.pg_typeof(gp_c{i}))"
                         for i in range(len(items)))
    chunks = await copy_query_to_catalog_final(
        dispatcher, f"SELECT {literals} FROM (SELECT {', '.join(items)} OFFSET 0) AS gp_items ({aliases})")
    values = [_unescape_copy_text(field) for field in b"".join(chunks).rstrip(b"\n").split(b"\t")]
    out: list[str] = []
    pos = 0
    for (start, end), value in zip(spans, values, strict=True):
        out.extend((sql[pos:start], value))
        pos = end
    return "".join(out) + sql[pos:]


def _values_shape(sql: str, body: dict[str, Any], columns: list[TableColumn]) -> _ValuesShape:
    cols = [c["ResTarget"]["name"] for c in body.get("cols", [])] or [c.name for c in columns]
    toks = tokens(sql)
    words = [sql[t.start : t.end + 1] for t in toks]
    relation_at = int(body.get("relation", {}).get("location", -1))
    start_index = _top_level_values(words, [t.start for t in toks], relation_at)
    rows: list[list[tuple[int, int]]] = []
    depth = 0
    brackets = 0  # inside ARRAY[...] or a subscript: commas there separate no items
    i = start_index + 1
    current: list[tuple[int, int]] = []
    item_start = -1
    end = len(sql)
    while i < len(toks):
        w = words[i]
        if w == "[":
            brackets += 1
        elif w == "]":
            brackets -= 1
        if brackets:
            i += 1
            continue
        if w == "(":
            depth += 1
            if depth == 1:
                current = []
                item_start = toks[i + 1].start if i + 1 < len(toks) else toks[i].end + 1
            i += 1
            continue
        if w == ")":
            depth -= 1
            if depth == 0:
                # (an item ends at its last token: a `--` comment after it would swallow
                # what the item is joined to once it is stripped)
                current.append((item_start, toks[i - 1].end + 1))
                rows.append(current)
                if i + 1 >= len(toks) or words[i + 1] != ",":
                    end = toks[i].end + 1
                    break
            i += 1
            continue
        if w == "," and depth == 1:
            current.append((item_start, toks[i - 1].end + 1))
            item_start = toks[i + 1].start
        i += 1
    if len({len(r) for r in rows}) > 1:  # (PostgreSQL's parser checks this first, h-probe28)
        raise PgError("42601", "VALUES lists must all be the same length")
    if len(cols) < max((len(r) for r in rows), default=0):
        raise PgError("42601", "INSERT has more expressions than target columns")
    widths = {len(r) for r in rows}
    if body.get("cols") and len(widths) == 1 and len(cols) > widths.pop():
        # (the evaluated path rebuilds the INSERT with as many columns as the rows have:
        # the extra named columns took their defaults, silently)
        raise PgError("42601", "INSERT has more target columns than expressions")
    return _ValuesShape(cols[: max(len(r) for r in rows)], rows, toks[start_index].start, end)


def _top_level_values(words: list[str], starts: list[int], relation_at: int) -> int:
    """The index of the statement's own VALUES keyword: the first after the target table,
    outside parentheses and not naming the table or its alias. Not a WITH query's
    (`WITH inst AS (INSERT ... VALUES (...) RETURNING id) INSERT INTO data ... VALUES (...,
    (SELECT id FROM inst))`, SQLAlchemy's nested insert), nor a table called `values`
    (`INSERT INTO values (value) VALUES (...)`, a keyword PostgreSQL takes as a name)."""
    depth = 0
    for i, w in enumerate(words):
        if starts[i] <= relation_at:
            continue
        if w == "(":
            depth += 1
        elif w == ")":
            depth -= 1
        elif depth == 0 and w.lower() == "values" and words[i - 1] != "." and words[i - 1].lower() != "as":
            return i
    raise PgError("42601", "syntax error: no VALUES list in INSERT ... VALUES")


_INTEGER_LITERAL = re.compile(r"[+-]?\d+")
_INTEGER_RANGES = {21: ("smallint", 2**15), 23: ("integer", 2**31), 20: ("bigint", 2**63)}


def _check_items(sql: str, body: dict[str, Any], shape: _ValuesShape, columns: list[TableColumn]) -> None:
    """Errors PostgreSQL raises while it analyses the statement, before any default (and
    so any sequence value) is evaluated: a GENERATED ALWAYS identity column given a value
    without OVERRIDING SYSTEM VALUE (428C9), an integer constant out of its column's range
    (22003). Checked here, as the sequence values are taken before the datanode sees it."""
    by_name = {c.name: c for c in columns}
    override = body.get("override")
    for spans in shape.rows:
        for name, (start, end) in zip(shape.cols, spans, strict=False):
            column, text = by_name.get(name), sql[start:end].strip()
            if column is None or text.upper() == "DEFAULT":
                continue
            if column.identity == "a" and override not in ("OVERRIDING_SYSTEM_VALUE", "OVERRIDING_USER_VALUE"):
                raise PgError("428C9", f'cannot insert a non-DEFAULT value into column "{name}"',
                              detail=f'Column "{name}" is an identity column defined as GENERATED ALWAYS.',
                              hint="Use OVERRIDING SYSTEM VALUE to override.")
            bounds = _INTEGER_RANGES.get(column.type_oid)
            if bounds and _INTEGER_LITERAL.fullmatch(text) and not -bounds[1] <= int(text) < bounds[1]:
                raise PgError("22003", f"{bounds[0]} out of range")


async def _route_rows(dispatcher: Dispatcher, request: ExecRequest, target: DistTable,
                      shape: _ValuesShape, columns: list[TableColumn],
                      fill: list[TableColumn], user_value: bool = False) -> list[tuple[str, list[str]]]:
    """Per row: (group, item texts incl. filled values). `user_value` (OVERRIDING USER
    VALUE): identity columns take their sequence's value whatever the row gives."""
    by_name = {c.name: c for c in columns}
    out = []
    fill_values = {c.name: await _next_values(dispatcher, c.sequence or "", len(shape.rows)) for c in fill}
    for index, spans in enumerate(shape.rows):
        items = [request.sql[s:e].strip() for s, e in spans]
        for col_index, text in enumerate(items):
            col = by_name.get(shape.cols[col_index])
            if col is not None and col.sequence and (
                    text.upper() == "DEFAULT" or (user_value and col.identity)):
                items[col_index] = str((await _next_values(dispatcher, col.sequence, 1))[0])
                shape.changed = True
        for col in fill:
            items.append(str(fill_values[col.name][index]))
        before = list(items)
        group = await _group_of_row(dispatcher, request, target, shape.cols + [c.name for c in fill], items)
        shape.changed = shape.changed or items != before
        out.append((group, items))
    return out


async def _group_of_row(dispatcher: Dispatcher, request: ExecRequest, target: DistTable,
                        names: list[str], items: list[str]) -> str:
    planner = dispatcher.coord.planner
    assert planner is not None
    if target.method == "replication":
        return target.groups[0]
    if target.method == "roundrobin":
        return target.groups[next(_roundrobin) % len(target.groups)]
    position = names.index(target.column) if target.column in names else -1
    text: str | None
    if position < 0 or position >= len(items):
        text = None
    else:
        text = await _evaluate_item(dispatcher, request, items[position], target.column_type or "")
    group = planner.group_for_value(target, text, dispatcher.runner.snapshot())
    if group is not None and position >= 0 and await _rounds(dispatcher, target):
        group = None  # route the value PostgreSQL will store, not the one written
    if group is None and position >= 0:
        # Let PostgreSQL say what the value is (or why it is not one): cast it as the column.
        from gridpg.executor.multi import inline_params

        expr = await inline_params(dispatcher, request, items[position])
        conn = await dispatcher.runner.txn.connection(dispatcher.coord.catalog_node, wants_block=False)
        # the column's type with its modifier: timestamptz(2) stores 'now' rounded, and the
        # value routed must be the value stored
        typed = await conn.query(
            "SELECT pg_catalog.format_type(a.atttypid, a.atttypmod) FROM pg_catalog.pg_attribute a WHERE "
            f"a.attrelid = pg_catalog.to_regclass({quote_literal(quote_qualified(target.schema, target.name))}) "
            f"AND a.attname = {quote_literal(target.column or '')}")
        type_name = (typed[0][0] if typed else None) or "text"
        rows = await conn.query(f"SELECT {_routable_text_sql(f'CAST(({expr}) AS {type_name})', type_name)}")
        value = rows[0][0] if rows else None
        group = planner.group_for_value(target, value, dispatcher.runner.snapshot())
        if group is not None and value is not None:
            # Store what was routed: 'now', 'today' or a cast PostgreSQL reads differently
            # at another moment or on another node must not be converted twice.
            items[position] = f"CAST({quote_literal(value)} AS {type_name})"
    if group is None:
        raise PgError("22023", f"cannot route the value {text!r} of distribution column \"{target.column}\"")
    return group


_ROUNDED_TYPES = {1700, 1114, 1184, 1083, 1266, 1186}  # numeric, timestamp(tz), time(tz), interval


async def _rounds(dispatcher: Dispatcher, target: DistTable) -> bool:
    """Whether the distribution column's type modifier makes PostgreSQL round values."""
    columns = await dispatcher.coord.table_columns(dispatcher.runner, target)
    column = next((c for c in columns if c.name == target.column), None)
    return column is not None and column.typmod >= 0 and column.type_oid in _ROUNDED_TYPES


def _routable_text_sql(value: str, type_name: str) -> str:
    """SQL giving `value`'s text in the ISO form the router reads, whatever the session's
    DateStyle (pg_regress runs with Postgres style: 'Mon Feb 10 17:32:01 1997 PST')."""
    formats = {"date": "YYYY-MM-DD", "timestamp without time zone": "YYYY-MM-DD HH24:MI:SS.US",
               "timestamp with time zone": "YYYY-MM-DD HH24:MI:SS.US"}
    base = re.sub(r"\(\d+\)", "", type_name).strip()  # timestamp(2) with time zone
    pattern = formats.get(base)
    if pattern is None:
        return f"({value})::text"
    if base == "timestamp with time zone":
        local, zone = f"(({value}) AT TIME ZONE 'UTC')", " || '+00'"
    else:
        local, zone = f"({value})", ""
    return (f"CASE WHEN NOT pg_catalog.isfinite({value}) THEN ({value})::text ELSE "
            f"pg_catalog.to_char({local}, '{pattern}'){zone} || CASE WHEN pg_catalog.to_char({local}, 'BC') = 'BC' "
            "THEN ' BC' ELSE '' END END")


async def _evaluate_item(dispatcher: Dispatcher, request: ExecRequest, item: str,
                         column_type: str) -> str | None:
    """The text value of one VALUES item for a column of `column_type`: constants and
    parameters directly, else the catalog (a cast, or a parameter of another type, which
    the column stores converted: a timestamptz for a timestamp column, a bpchar for text)."""
    from gridpg.planner.context import UNKNOWN, value_text

    try:
        tree = parse_json_expr(item)
    except PgError:
        tree = None
    if tree is not None:
        value = analyze.value_of(tree)
        bound = request.bound()
        if value is not None and value.cast is None and value.param_type_keeps_value(bound.oids, column_type):
            text = value_text(value, bound)
            if text is not UNKNOWN:
                return text  # type: ignore[return-value]
    from gridpg.executor.multi import inline_params

    expr = await inline_params(dispatcher, request, item)
    conn = await dispatcher.runner.txn.connection(dispatcher.coord.catalog_node, wants_block=False)
    rows = await conn.query(f"SELECT ({expr})::text")
    return rows[0][0] if rows else None


def parse_json_expr(item: str) -> dict[str, Any] | None:
    from gridpg.sql.parse import parse_tree

    tree = parse_tree(f"SELECT {item}")
    targets = tree.get("SelectStmt", {}).get("targetList", [])
    if len(targets) != 1:
        return None
    return targets[0]["ResTarget"]["val"]  # type: ignore[no-any-return]


_SYSTEM_COLUMNS = frozenset({"xmin", "xmax", "cmin", "cmax", "ctid"})


def returns_system_columns(body: dict[str, Any]) -> bool:
    """RETURNING reads xmin/xmax/cmin/cmax/ctid (`RETURNING (xmax <> 0) AS updated`)."""
    def walk(node: Any) -> bool:
        if isinstance(node, dict):
            ref = node.get("ColumnRef")
            if ref is not None:
                fields = ref.get("fields") or []
                last = fields[-1].get("String", {}).get("sval") if fields else None
                return last in _SYSTEM_COLUMNS
            return any(walk(v) for v in node.values())
        if isinstance(node, list):
            return any(walk(v) for v in node)
        return False

    return walk(body.get("returningList")) or walk(body.get("returningClause"))


async def _leaves_for_system_columns(dispatcher: Dispatcher, request: ExecRequest, body: dict[str, Any],
                                     target: DistTable, shape: _ValuesShape, fill: list[TableColumn],
                                     rows: list[tuple[str, list[str]]]) -> list[str]:
    """Each row's shard table when RETURNING reads system columns of a hash-distributed
    table (else []). On a datanode the table is partitioned by shard, and PostgreSQL cannot
    return a system column through a partitioned table's INSERT; the shard table itself
    can (rows of one node in several shards: `_insert_fragments` writes a WITH of INSERTs)."""
    if target.method != "hash" or not returns_system_columns(body):
        return []
    kind = await _datanode_kind(dispatcher, target)
    if kind == "inherits":  # a plain table on its datanodes: it returns them itself
        return []
    if kind == "partitioned":  # its shards hang below its partitions
        raise PgError(FEATURE_NOT_SUPPORTED, "RETURNING system columns (xmin, xmax, ctid...) of an INSERT "
                      "into a partitioned distributed table is not supported by gridpg",
                      hint="insert into the partition itself, or return other columns")
    from gridpg.commands.ddl import shard_table_name
    from gridpg.errors import SHARD_SCHEMA
    from gridpg.planner.hashing import shard_for_text

    names = shape.cols + [c.name for c in fill]
    position = names.index(target.column) if target.column in names else -1
    leaves = []
    for _, items in rows:
        text = await _evaluate_item(dispatcher, request, items[position], target.column_type or "") \
            if position >= 0 else None
        remainder = shard_for_text(target.column_type or "", text, target.shard_count or 1)
        leaves.append(f"{SHARD_SCHEMA}.{quote_ident(shard_table_name(target.schema, target.name, remainder))}")
    return leaves


async def _datanode_kind(dispatcher: Dispatcher, target: DistTable) -> str:
    """"partitioned" for a table the user partitions, "inherits" for a member of an
    inheritance tree (a plain table on its datanodes, commands/partitions.py), else ""."""
    conn = await dispatcher.runner.txn.connection(dispatcher.coord.catalog_node, wants_block=False)
    rows = await conn.query(
        "SELECT CASE WHEN c.relkind = 'p' THEN 'partitioned' WHEN NOT c.relispartition AND EXISTS ("
        "SELECT 1 FROM pg_catalog.pg_inherits i WHERE i.inhrelid = c.oid OR i.inhparent = c.oid) "
        "THEN 'inherits' ELSE '' END FROM pg_catalog.pg_class c WHERE c.oid = pg_catalog.to_regclass("
        f"{quote_literal(quote_qualified(target.schema, target.name))})")
    return rows[0][0] if rows else ""


def _insert_fragments(sql: str, body: dict[str, Any], target: DistTable, shape: _ValuesShape,
                      fill: list[TableColumn], rows: list[tuple[str, list[str]]],
                      columns: list[TableColumn], leaves: list[str] | None = None) -> list[Fragment]:
    relation = quote_qualified(target.schema, target.name)
    alias = body["relation"].get("alias")
    if alias:
        relation += f" AS {quote_ident(alias['aliasname'])}"
    cols = shape.cols + [c.name for c in fill]
    # Identity values are ours (from the GTM): the datanode must store them as given.
    # (_check_items refused other values of an ALWAYS column; OVERRIDING USER VALUE's
    # identity values were replaced in _route_rows.)
    always = any(c.identity == "a" for c in fill) or any(c.identity == "a" and c.name in shape.cols
                                                          for c in columns)
    overriding = " OVERRIDING SYSTEM VALUE" if always or body.get("override") == "OVERRIDING_SYSTEM_VALUE" else ""
    listed = [_target_text(sql, body["cols"]), *(quote_ident(c.name) for c in fill)] \
        if any(c["ResTarget"].get("indirection") for c in body.get("cols") or []) else \
        [quote_ident(c) for c in cols]
    names = f" ({', '.join(listed)}){overriding} VALUES "
    tail = sql[shape.values_end :]

    def values(indexes: list[int]) -> str:
        return ", ".join("(" + ", ".join(rows[i][1]) + ")" for i in indexes)

    if not leaves:
        by_group: dict[str, list[int]] = {}
        for index, (group, _) in enumerate(rows):
            by_group.setdefault(group, []).append(index)
        return [Fragment(g, f"INSERT INTO {relation}{names}{values(indexes)}{tail}")
                for g, indexes in by_group.items()]
    # The shard table under the table's own name: ON CONFLICT and RETURNING refer to it.
    # Rows of one node in several shard tables: one INSERT per shard table in a WITH, their
    # RETURNING rows one after the other (`_returned_order` knows in which order).
    named = quote_ident(alias["aliasname"] if alias else target.name)
    by_node: dict[str, list[str]] = {}
    for group, indexes in _leaf_runs(rows, leaves):
        by_node.setdefault(group, []).append(f"INSERT INTO {leaves[indexes[0]]} AS {named}{names}{values(indexes)}{tail}")
    fragments = []
    for group, inserts in by_node.items():
        if len(inserts) == 1:
            fragments.append(Fragment(group, inserts[0]))
            continue
        steps = ", ".join(f"gp_insert_{k} AS ({text})" for k, text in enumerate(inserts))
        reads = " UNION ALL ".join(f"SELECT * FROM gp_insert_{k}" for k in range(len(inserts)))
        fragments.append(Fragment(group, f"WITH {steps} {reads}"))
    return fragments


def _target_text(sql: str, targets: list[dict[str, Any]]) -> str:
    """The INSERT's column list as written, when it assigns fields or elements
    (`f3.if1, f2[1]`): the names alone would name a column twice (42701)."""
    first = targets[0]["ResTarget"]["location"]
    toks = sqlparse.tokens(sql)
    opening = max(i for i, tok in enumerate(toks) if tok.start < first and tok.name == "ASCII_40")
    closing = sqlparse.closing_paren(toks, opening)
    assert closing is not None, sql
    return sql[first : toks[closing].start]


# -- INSERT ... SELECT -----------------------------------------------------------------


def insert_select_text(stmt: ast.InsertStmt) -> str:
    """The SELECT of `[WITH ...] INSERT ... SELECT` as a statement of its own, the INSERT's
    WITH in front. pglast prints a WITH clause's RECURSIVE itself: one more made
    `WITH RECURSIVE RECURSIVE c AS ...`, a syntax error. A SELECT with a WITH of its own
    (`WITH a AS (...) INSERT INTO t WITH b AS (...) SELECT ...`) is nested inside: its names
    see the INSERT's and shadow them, as in PostgreSQL (two WITHs in a row were a syntax
    error, 42601)."""
    select_sql = str(RawStream()(stmt.selectStmt))
    if stmt.withClause is None:
        return select_sql
    if getattr(stmt.selectStmt, "withClause", None) is not None:
        select_sql = f"SELECT * FROM ({select_sql}) AS gp_insert_rows"
    return f"WITH {RawStream()(stmt.withClause)} {select_sql}"


async def insert_select(dispatcher: Dispatcher, request: ExecRequest, body: dict[str, Any],
                        target: DistTable) -> None:
    """INSERT ... SELECT: the SELECT's rows are routed into a staging temp table on each node,
    then each node runs the INSERT from its staging table (ON CONFLICT and RETURNING included)."""
    stmt = parse_sql(request.sql)[0].stmt
    if any(c.indirection for c in stmt.cols or ()):
        # (the column lists below are names: `f2[2:3]` would store the whole array as f2)
        raise PgError(FEATURE_NOT_SUPPORTED, "gridpg cannot run INSERT ... SELECT into a distributed "
                      "table whose column list assigns array elements or fields (INSERT INTO t (a[1]) ...)",
                      hint="Build the whole value in the SELECT, or use INSERT ... VALUES.")
    columns = await dispatcher.coord.table_columns(dispatcher.runner, target)
    cols = [c.name for c in stmt.cols] if stmt.cols else [c.name for c in columns]
    staged = _staged_sequence_defaults(body, columns, target)
    select_sql = insert_select_text(stmt)  # WITH x AS (...) INSERT ... SELECT ... FROM x
    from gridpg.executor import insert_nextval
    from gridpg.executor.multi import inline_params

    nextvals = insert_nextval.nextval_items(body)
    if nextvals:  # each row's value from the GTM, then routed by it (executor/insert_nextval.py)
        insert_nextval.with_nulls(stmt, nextvals)
        select_sql = insert_select_text(stmt)
    select_sql = await inline_params(dispatcher, request, select_sql)
    user_values = body.get("override") == "OVERRIDING_USER_VALUE" and any(c.identity for c in columns)
    if user_values:
        if nextvals:  # (their values are filled by position in the SELECT's rows)
            raise PgError(FEATURE_NOT_SUPPORTED, "gridpg cannot run INSERT ... OVERRIDING USER VALUE "
                          "SELECT calling nextval() into a distributed table with an identity column",
                          hint="Leave the identity column out of the INSERT's column list instead.")
        select_sql, cols = await _without_identity_values(dispatcher, select_sql, cols, columns)
    await _ensure_same_defaults_on_replicas(dispatcher, target, columns, cols if stmt.cols else None, select_sql,
                                            staged)
    _ensure_no_stored_tableoid(select_sql)
    by_name = {c.name: c for c in columns}
    key = by_name.get(target.column or "")
    evaluated_key = bool(stmt.cols and key is not None and key.name not in cols and key.default and not key.sequence)
    if evaluated_key:  # its default (gen_random_uuid()) evaluated once, here: routed by that value
        assert key is not None
        select_sql = f"SELECT gp_rows.*, {key.default} FROM ({select_sql}) AS gp_rows"
        cols = [*cols, key.name]
    if not nextvals and not evaluated_key and not staged and not user_values and \
            await _insert_on_datanodes(dispatcher, request, stmt, body, target, columns, select_sql):
        return
    assign = [] if nextvals or any(c not in by_name for c in cols) else \
        [(c, by_name[c].type_oid, by_name[c].typmod) for c in cols]
    if nextvals:  # every row's GTM value first: the rows are gathered whole
        chunks = await insert_nextval.fill(dispatcher, await query_as_copy(dispatcher, select_sql, assign), nextvals)
        await _insert_rows(dispatcher, request, body, target, stmt, cols, columns, _listed(chunks), staged)
        return
    # Streamed, batch by batch, from the catalog server's COPY to the nodes' COPY: memory
    # bounded by a batch, the worker's other sessions served between batches, a cancel
    # request or statement_timeout stops it (`_copy_routed`).
    from gridpg.executor.multi import stream_query_from_catalog

    async with stream_query_from_catalog(dispatcher, select_sql, assign) as stream:
        await _insert_rows(dispatcher, request, body, target, stmt, cols, columns, stream, staged)


async def _without_identity_values(dispatcher: Dispatcher, select_sql: str, cols: list[str],
                                   columns: list[TableColumn]) -> tuple[str, list[str]]:
    """OVERRIDING USER VALUE: the SELECT's values for identity columns are dropped (by
    position), so that those columns are filled from the GTM as if left out; a datanode
    given the clause would take its own copy of the sequence's values."""
    _, description = await dispatcher.describe(select_sql, [])
    width = len(codec.parse_row_description(description[5:])) if description else len(cols)
    given = cols[:width]
    identity = {c.name for c in columns if c.identity and c.sequence}
    if not identity & set(given):
        return select_sql, given
    kept = [c for c in given if c not in identity]
    names = ", ".join(quote_ident(c) for c in given)
    read = ", ".join(f"gp_rows.{quote_ident(c)}" for c in kept)
    return f"SELECT {read} FROM ({select_sql}) AS gp_rows ({names})", kept


async def _ensure_same_defaults_on_replicas(dispatcher: Dispatcher, target: DistTable, columns: list[TableColumn],
                                            listed: list[str] | None, select_sql: str,
                                            evaluated: Sequence[SequenceDefault] = ()) -> None:
    """INSERT ... SELECT into a REPLICATION table: refuse a column left to a default each
    replica would evaluate for itself (not those `evaluated` from staged GTM values: every
    replica computes the same). Without a column list the SELECT fills the table's first
    columns only, as many as it returns (described on the catalog server)."""
    if target.method != "replication" or len(target.groups) < 2:
        return
    user_volatile = dispatcher.runner.snapshot().volatile_functions
    skipped = {d.column for d in evaluated}
    checked = [c for c in columns if c.name not in skipped]
    if not any(replicas.diverging_default(c.default, user_volatile) for c in checked if not c.sequence):
        return
    if listed is None:
        _, description = await dispatcher.describe(select_sql, [])
        width = len(codec.parse_row_description(description[5:])) if description else len(columns)
        listed = [c.name for c in columns[:width]]
    replicas.ensure_no_diverging_defaults(target, checked, listed, "INSERT ... SELECT", user_volatile)


async def _insert_rows(dispatcher: Dispatcher, request: ExecRequest, body: dict[str, Any], target: DistTable,
                       stmt: Any, cols: list[str], columns: list[TableColumn], rows: AsyncIterator[bytes],
                       staged: Sequence[SequenceDefault] = ()) -> None:
    """INSERT ... SELECT's rows (COPY text batches) into the target through staging tables
    (with the GTM values of `staged` defaults' nextval() calls beside them)."""
    from gridpg.executor.run import scratch_name
    from gridpg.planner.plan import SCRATCH_SCHEMA

    first = await anext(rows, b"")
    if not stmt.cols:
        width = _copy_width([first])
        cols = cols[: width] if width else cols
    fill = [c for c in columns if c.sequence and c.name not in cols]
    all_cols = cols + [c.name for c in fill]
    quoted = ", ".join(quote_ident(c) for c in all_cols)
    qualified = quote_qualified(target.schema, target.name)
    stage = f"{SCRATCH_SCHEMA}.{scratch_name(dispatcher, 'stage')}"
    async with dispatcher.runner.statement_transaction():  # staging tables live and die in it
        await _insert_via_stage(dispatcher, request, body, target, stmt, _prepend(first, rows), fill, all_cols,
                                quoted, qualified, stage, columns, staged=staged)


async def _listed(chunks: Iterable[bytes]) -> AsyncIterator[bytes]:
    for chunk in chunks:
        yield chunk


async def _prepend(first: bytes, rest: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    if first:
        yield first
    async for chunk in rest:
        yield chunk


def _ensure_no_stored_tableoid(select_sql: str) -> None:
    """A `tableoid` number stored into a distributed table would be the catalog server's
    OID of the row's table, while later statements over that table compare it on the
    datanodes ('t'::regclass, a join with pg_class there), where each node numbers its
    tables itself: refused (0A000) rather than not found later. As a name
    (`tableoid::regclass`, into a regclass or text column) it is stored fine."""
    if "tableoid" not in select_sql.lower():
        return
    mapped = tableoid.rewrite(select_sql, sqlparse.parse_tree(select_sql)) or select_sql
    tableoid.ensure_no_number(mapped, "INSERT ... SELECT into a distributed table")


async def _insert_on_datanodes(dispatcher: Dispatcher, request: ExecRequest, stmt: Any, body: dict[str, Any],
                               target: DistTable, columns: list[TableColumn], select_sql: str) -> bool:
    """INSERT ... SELECT without rows through the coordinator when the SELECT runs node by
    node (executor/insert_select.py); False when it does not."""
    from gridpg.executor import insert_select as on_nodes

    relation = quote_qualified(target.schema, target.name)
    if stmt.relation.alias is not None:
        relation += f" AS {quote_ident(stmt.relation.alias.aliasname)}"
    overriding = {"OVERRIDING_SYSTEM_VALUE": " OVERRIDING SYSTEM VALUE",
                  "OVERRIDING_USER_VALUE": " OVERRIDING USER VALUE"}.get(body.get("override") or "", "")

    def head_for(cols: list[str]) -> str:
        return f"INSERT INTO {relation}{_column_list(cols)}{overriding}"

    tail = _insert_tail(request.sql, body)
    routed = await on_nodes.plan_route(dispatcher, stmt, target, columns, select_sql, head_for, tail)
    if isinstance(routed, str):
        return False
    route, cols = routed
    await on_nodes.run_route(dispatcher, request, target, route, cols, columns, head_for(cols), tail)
    return True


async def explain_insert_select(dispatcher: Dispatcher, request: ExecRequest, tree: dict[str, Any]) -> list[str] | None:
    """EXPLAIN lines of an INSERT ... SELECT that runs on the datanodes, else None."""
    from gridpg.executor import insert_select as on_nodes
    from gridpg.executor.multi import inline_params
    from gridpg.executor.run import catalog_view, search_path

    body = tree["InsertStmt"]
    if (body.get("selectStmt") or {}).get("SelectStmt", {}).get("valuesLists") or body.get("selectStmt") is None:
        return None
    ref = analyze.relations({"r": {"RangeVar": body["relation"]}})[0]
    target = catalog_view(dispatcher).resolve(ref, search_path(dispatcher))
    if target is None:
        return None
    stmt = parse_sql(request.sql)[0].stmt
    columns = await dispatcher.coord.table_columns(dispatcher.runner, target)
    select_sql = await inline_params(dispatcher, request, str(RawStream()(stmt.selectStmt)))
    routed = await on_nodes.plan_route(dispatcher, stmt, target, columns, select_sql,
                                       lambda cols: f"INSERT INTO {quote_qualified(target.schema, target.name)}"
                                       f"{_column_list(cols)}", _insert_tail(request.sql, body))
    if isinstance(routed, str):
        return ["Distributed plan: insert ... select through the coordinator (rows routed by the distribution column)",
                f"  Not on the datanodes: {routed}"]
    route = routed[0]
    kind = {"local": "on each node", "combine": "combined on the catalog server, then distributed"}.get(
        route.kind, "exchange (" + ("repartition" if route.key else "broadcast") + ")")
    return [f"Distributed plan: insert ... select {kind}", *route.describe()]


async def _insert_via_stage(dispatcher: Dispatcher, request: ExecRequest, body: dict[str, Any],
                            target: DistTable, stmt: Any, chunks: Iterable[bytes] | AsyncIterator[bytes],
                            fill: list[TableColumn],
                            all_cols: list[str], quoted: str, qualified: str, stage: str,
                            columns: list[TableColumn], fill_rows: bool = True,
                            staged: Sequence[SequenceDefault] = ()) -> None:
    from gridpg.commands.sequences import qualified_name
    from gridpg.executor.multi import in_sent_order, inline_params, scatter

    # each staged nextval() call: a bigint column of the staging table, filled from the
    # GTM as a serial column is, read by its default's expression below
    calls = [(column, sequence) for default in staged for column, sequence in default.sequences]
    seq_fill = [TableColumn(column, None, await qualified_name(dispatcher, sequence, "nextval"), "", 20)
                for column, sequence in calls]
    added = "".join(f", ADD COLUMN {quote_ident(column)} pg_catalog.int8" for column, _ in calls)
    txn = dispatcher.runner.txn
    for group in target.groups:
        conn = await txn.connection(group, wants_block=True)
        txn.mark_written(group)
        await conn.simple_query(f"CREATE UNLOGGED TABLE {stage} AS SELECT {quoted} FROM {qualified} WITH NO DATA")
        if added:
            await conn.simple_query(f"ALTER TABLE {stage} {added[2:]}")
    router = CopyRouter(dispatcher, target, all_cols + [c for c, _ in calls], "text", "\t", columns)
    if _has_returning(body) and target.method != "replication":
        router.record_order = []  # RETURNING gives the rows back in the order they came
    await _copy_routed(dispatcher, target, f"COPY {stage} FROM STDIN", router,
                       chunks_source(chunks, (fill if fill_rows else []) + seq_fill, dispatcher), commit=False,
                       drain=False)
    relation = qualified
    if stmt.relation.alias is not None:
        relation += f" AS {quote_ident(stmt.relation.alias.aliasname)}"
    overriding = ""
    if body.get("override") == "OVERRIDING_SYSTEM_VALUE" or any(c.identity == "a" for c in fill) or (
            body.get("override") == "OVERRIDING_USER_VALUE" and any(c.identity for c in fill)):
        overriding = " OVERRIDING SYSTEM VALUE"
    elif body.get("override") == "OVERRIDING_USER_VALUE":
        overriding = " OVERRIDING USER VALUE"
    # ON CONFLICT ... SET col = $n / RETURNING ... $n: the parameters as typed literals (the
    # statement below runs without them)
    tail = await inline_params(dispatcher, request, _insert_tail(request.sql, body))
    from gridpg.executor.values import with_clause_text

    prefix = with_clause_text(request.sql, body, constant=True) if tail.strip() else ""
    timed = await _time_defaults_left(dispatcher, columns, [*all_cols, *(d.column for d in staged)])
    if staged or timed:
        listed = ", ".join([n for n in (quoted, *(quote_ident(d.column) for d in staged), *timed) if n])
        read = ", ".join([n for n in (quoted, *(d.expression for d in staged), *timed.values()) if n])
        node_sql = f"{prefix}INSERT INTO {relation} ({listed}){overriding} SELECT {read} FROM {stage} {tail}"
    else:
        # (a table of no columns, `INSERT INTO t SELECT`: no column list, which would be empty)
        listed = f" ({quoted})" if quoted else ""
        node_sql = f"{prefix}INSERT INTO {relation}{listed}{overriding} SELECT * FROM {stage} {tail}"
    plan = PushdownPlan(tuple(Fragment(g, node_sql) for g in target.groups), True)
    relay = {target.groups[0]} if target.method == "replication" else None
    # Reads only its staging table: the SELECT's snapshot was fenced when it was gathered.
    await scatter(dispatcher, replace(request, params=[], param_formats=[], param_oids=[]), plan, relay,
                  commit=False, reads=False,
                  order=None if router.record_order is None else in_sent_order(router.record_order))
    for group in target.groups:
        await txn.participants[group].conn.simple_query(f"DROP TABLE {stage}")


async def _time_defaults_left(dispatcher: Dispatcher, columns: list[TableColumn],
                              given: list[str]) -> dict[str, str]:
    """The columns an INSERT ... SELECT leaves to a default reading the transaction's time
    (quoted name -> the default pinned to the statement's instant): given explicitly by
    the staging INSERT, or each node evaluates them with its own start, apart from the
    instant its trigger functions and the statement's own now() read (an INSERT ... SELECT
    with RETURNING or ON CONFLICT, which `xact_time.pin_insert_defaults` leaves; h-refuse25)."""
    timed = [c for c in columns if c.has_time_default and c.name not in given]
    if not timed:
        return {}
    await dispatcher.runner.txn.read_block_instant(dispatcher.coord.catalog_node)
    pins = dispatcher.runner.txn.time_pins()
    return {quote_ident(c.name): xact_time.pin_expression(c.default or "", pins) or "" for c in timed}


def _has_returning(body: dict[str, Any]) -> bool:
    return bool(body.get("returningList") or (body.get("returningClause") or {}).get("exprs"))


def _copy_width(chunks: list[bytes]) -> int:
    for chunk in chunks:
        line = chunk.split(b"\n", 1)[0]
        if line:
            return line.count(b"\t") + 1
    return 0


def _insert_tail(sql: str, body: dict[str, Any]) -> str:
    """The ON CONFLICT / RETURNING part of an INSERT, as written."""
    starts = []
    conflict = body.get("onConflictClause")
    if conflict:
        starts.append(conflict["location"])
    returning = body.get("returningClause") or {}
    exprs = returning.get("exprs") or body.get("returningList") or []
    if exprs:
        first = min(_first_location(e) for e in exprs)
        toks = tokens(sql)
        keyword = [t.start for t in toks if t.start < first and sql[t.start : t.end + 1].lower() == "returning"]
        if keyword:
            starts.append(keyword[-1])
    if not starts:
        return ""
    return sql[min(starts):].rstrip().rstrip(";")


def _first_location(node: Any) -> int:
    best = 1 << 30
    for item in analyze._walk(node):
        if isinstance(item, dict) and isinstance(item.get("location"), int) and item["location"] >= 0:
            best = min(best, item["location"])
    return best


async def chunks_source(chunks: Iterable[bytes] | AsyncIterator[bytes], fill: list[TableColumn],
                        dispatcher: Dispatcher) -> AsyncIterator[bytes]:
    """COPY text chunks of whole rows, each row with the next values of `fill`'s sequences
    appended (taken from the GTM chunk by chunk, in row order)."""
    source = chunks if isinstance(chunks, AsyncIterator) else _listed(chunks)
    async for chunk in source:
        if not fill:
            yield chunk
            continue
        lines = chunk.split(b"\n")
        if lines and lines[-1] == b"":
            lines.pop()
        # Row by row, column by column, as PostgreSQL evaluates defaults: a sequence two
        # columns call gives the first row's two values, then the second row's.
        by_sequence: dict[str, list[int]] = {}
        for index, column in enumerate(fill):
            by_sequence.setdefault(column.sequence or "", []).append(index)
        values: list[list[int]] = [[] for _ in fill]
        for sequence, places in by_sequence.items():
            taken = await _next_values(dispatcher, sequence, len(lines) * len(places))
            for k, place in enumerate(places):
                values[place] = taken[k :: len(places)]
        out = []
        for i, line in enumerate(lines):
            extra = b"\t".join(str(v[i]).encode() for v in values)
            out.append(line + b"\t" + extra + b"\n")
        yield b"".join(out)


async def query_as_copy(dispatcher: Dispatcher, sql: str,
                        assign: Sequence[tuple[str, int, int]] = ()) -> list[bytes]:
    """The rows of a SELECT (anything the planner can run) as COPY text chunks, converted
    to the (name, type oid, typmod) of `assign` as INSERT would (multi.copy_assigned)."""
    from gridpg.executor.multi import copy_query_to_catalog_final
    return await copy_query_to_catalog_final(dispatcher, sql, assign)


# -- COPY ------------------------------------------------------------------------------


def _ensure_copy_matview(dispatcher: Dispatcher, table: DistTable, is_from: bool) -> None:
    """COPY into a materialized view, or out of one not populated: PostgreSQL's errors (the
    datanodes hold its rows in a plain table, which would take both)."""
    snapshot = dispatcher.runner.snapshot()
    if not snapshot.is_matview(table):
        return
    if is_from:
        raise PgError("42809", f'cannot copy to materialized view "{table.name}"')
    if table.key in snapshot.unpopulated:
        raise PgError("55000", f'cannot copy from unpopulated materialized view "{table.name}"',
                      hint="Use the REFRESH MATERIALIZED VIEW command.")


async def copy(dispatcher: Dispatcher, request: ExecRequest, tree: dict[str, Any]) -> bool:
    body = tree["CopyStmt"]
    on_server = body.get("filename") is not None or bool(body.get("is_program"))
    if on_server and not body.get("is_from"):  # (TO a file the coordinator writes)
        return await server_files.copy_to(dispatcher, request, body,
                                          lambda inner: copy(dispatcher, inner, sqlparse.parse_tree(inner.sql)))
    if body.get("relation") is None:
        return await copy_query_out(dispatcher, request, body)
    planner = dispatcher.coord.planner
    assert planner is not None
    from gridpg.executor.run import search_path

    ref = analyze.relations({"r": {"RangeVar": body["relation"]}})[0]
    table = planner.resolve(dispatcher.runner.snapshot(), ref, search_path(dispatcher))
    if table is None:
        return False
    _ensure_copy_matview(dispatcher, table, bool(body.get("is_from")))
    options = _copy_options(body)
    if body.get("is_from"):
        if on_server:  # (a file or program the coordinator reads: executor/server_files.py)
            await server_files.check_rights(dispatcher, bool(body.get("is_program")))
        await copy_from_stdin(dispatcher, request, body, table, options, from_server=on_server)
    else:
        await copy_table_out(dispatcher, request, body, table, options)
    return True


def _copy_options(body: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for option in body.get("options", []) or []:
        elem = option["DefElem"]
        arg = elem.get("arg")
        value: Any = True
        if arg is not None:
            value = analyze.value_of(arg)
            if value is not None:
                value = value.text
            elif "String" in arg:
                value = arg["String"]["sval"]
            elif "Integer" in arg:
                value = str(arg["Integer"].get("ival", 0))
            elif "Boolean" in arg:  # the old syntax's bare keywords: COPY t FROM STDIN CSV HEADER
                value = bool(arg["Boolean"].get("boolval", False))
            elif "Float" in arg:
                value = arg["Float"].get("fval")
            elif "List" in arg:
                value = [i.get("String", {}).get("sval") for i in arg["List"]["items"]]
        out[elem["defname"].lower()] = value
    return out


def _node_copy_sql(sql: str, columns: list[str], drop: tuple[str, ...] = ("freeze", "header"),
                   extra_columns: list[str] | None = None) -> str:
    """The COPY statement for the nodes: without the options the coordinator handles,
    naming `extra_columns` (filled by the coordinator) after the client's columns
    (`columns`: the columns the COPY reads, for FORCE_... *)."""
    stmt = parse_sql(sql)[0].stmt
    stmt.filename, stmt.is_program = None, False  # (the coordinator reads a server file: STDIN there)
    if extra_columns:
        stmt.attlist = (*(stmt.attlist or ()), *(ast.String(sval=name) for name in extra_columns))
    if stmt.options:
        kept = tuple(o for o in stmt.options if o.defname.lower() not in drop)
        stmt.options = _node_options(kept, columns) or None
    return str(RawStream()(stmt))


_COLUMN_LIST_OPTIONS = ("force_quote", "force_not_null", "force_null")


def _node_options(options: tuple[Any, ...], columns: list[str]) -> tuple[Any, ...]:
    """COPY options as pglast's deparser prints them right, with the same meaning: the
    old syntax's bare keywords (`CSV HEADER`, a Boolean argument) as `HEADER true` (with
    one, pglast prints the whole list in the old syntax, where it drops NULL's string and
    FORCE NOT NULL's columns: a syntax error on the node), and `FORCE_QUOTE *` (also
    FORCE_NOT_NULL / FORCE_NULL *) as the list of every column it covers (pglast cannot
    print `*` there: a TypeError, which ended the client's connection), and an integer
    argument under the option's name in capitals: pglast prints `reject_limit 3` as
    `REJECT_LIMIT3` (42601 option not recognized) and fails on `header 1`, while its
    generic branch, which the capitals select, prints `NAME 3` (PostgreSQL folds the name)."""
    out = []
    for o in options:
        if isinstance(o.arg, ast.Integer):
            o = ast.DefElem(defname=o.defname.upper(), arg=o.arg, defaction=o.defaction)
        elif o.defname.lower() in _COLUMN_LIST_OPTIONS and isinstance(o.arg, ast.A_Star):
            o = ast.DefElem(defname=o.defname, arg=tuple(ast.String(sval=c) for c in columns), defaction=o.defaction)
        elif isinstance(o.arg, ast.Boolean):
            o = ast.DefElem(defname=o.defname, arg=ast.String(sval="true" if o.arg.boolval else "false"),
                            defaction=o.defaction)
        out.append(o)
    return tuple(out)


def _ensure_no_copy_sequence_defaults(columns: list[TableColumn], cols: list[str]) -> None:
    """COPY leaving a column to a default that calls a sequence function inside an
    expression (`'C' || nextval('s')`): each datanode would evaluate it on its own copy of
    the sequence, repeating values the GTM hands out (silently, before). Refused (0A000);
    INSERT ... SELECT and INSERT ... VALUES take the GTM's values for it."""
    from gridpg.executor.values import sequence_default_columns

    left = [c.name for c in sequence_default_columns(columns) if c.name not in cols]
    if left:
        raise PgError(FEATURE_NOT_SUPPORTED,
                      f'COPY into a distributed table leaving column "{left[0]}" to its default, which calls a '
                      "sequence function inside an expression, is not supported",
                      hint="List the column in the COPY, or load the rows into a staging table and "
                      "INSERT ... SELECT from it.")


def _ensure_default_markers_agree(dispatcher: Dispatcher, table: DistTable, columns: list[TableColumn],
                                  read: list[str]) -> None:
    """COPY ... (DEFAULT 'marker') (PostgreSQL 16): a field equal to the marker takes the
    column's default, which the datanode storing the row evaluates. Refused (0A000) for a
    column whose default a node would give its own value: a serial or identity column, or
    any default calling a sequence function (each node's copy of the sequence: ids
    repeated across nodes, silently, before), a time default over several groups (each
    node's own transaction instant, not the statement's one), a default calling a volatile
    function on a REPLICATION table (the copies would differ), and the distribution
    column (the marker would be routed as its value). `read`: the columns the data holds."""
    from gridpg.executor.values import sequence_default_columns

    volatile = dispatcher.runner.snapshot().volatile_functions
    sequenced = {c.name for c in sequence_default_columns(columns)}
    for column in columns:
        if column.name not in read or not (column.default or column.sequence):
            continue
        if column.sequence or column.name in sequenced:
            why = "takes the next value of a sequence"
        elif column.name == table.column:
            why = "is the distribution column"
        elif column.has_time_default and len(table.groups) > 1:
            why = "reads the transaction's time"
        elif table.method == "replication" and replicas.diverging_default(column.default, volatile):
            why = "calls a volatile function"
        else:
            continue
        raise PgError(FEATURE_NOT_SUPPORTED,
                      f'COPY FROM with the DEFAULT option into distributed table "{table.name}" is not supported '
                      f'for column "{column.name}", whose default {why}',
                      detail="the datanode storing the row would evaluate the default on its own",
                      hint="Leave the column out of the COPY's column list: the cluster fills it then.")


async def _ensure_writable(dispatcher: Dispatcher) -> None:
    """PostgreSQL refuses COPY FROM in a read-only transaction before its CopyInResponse
    (25006): the client never starts sending. The datanodes refused it only once the data
    came, so psql reported the error after the data and a driver's plain execute() of the
    COPY (psycopg's, which refuses to send COPY data from there) lost its connection. The
    session's own hints say when to ask (`exchange.is_read_only`: BEGIN READ ONLY, SET
    TRANSACTION, the defaults); the transaction's catalog connection answers."""
    from gridpg.executor.exchange import is_read_only

    if not is_read_only(dispatcher):
        return
    conn = await dispatcher.runner.txn.connection(dispatcher.coord.catalog_node, wants_block=True)
    if await conn.read_only():
        raise PgError(READ_ONLY_SQL_TRANSACTION, "cannot execute COPY FROM in a read-only transaction")


async def copy_from_stdin(dispatcher: Dispatcher, request: ExecRequest, body: dict[str, Any],
                          table: DistTable, options: dict[str, Any], from_server: bool = False) -> None:
    """COPY FROM STDIN into a distributed table; `from_server`: the data is the output of
    the statement's file or program (server_files.chunks), the client sends none."""
    fmt = str(options.get("format", "text")).lower()
    columns = await dispatcher.coord.table_columns(dispatcher.runner, table)
    listed = [c["String"]["sval"] for c in body.get("attlist", []) or []]
    fill = copyfill.missing_sequence_columns(columns, listed)
    cols = listed + [c.name for c in fill] if listed else [c.name for c in columns]
    # time defaults left: one value for every row of the COPY, given by the coordinator
    timed = copy_instant.timed_columns(columns, cols, dispatcher.runner.snapshot().volatile_functions) \
        if listed and copy_instant.should_fill(dispatcher, len(table.groups)) else []
    cols += [c.name for c in timed]
    _ensure_no_copy_sequence_defaults(columns, cols)
    replicas.ensure_no_diverging_defaults(table, columns, cols, "COPY", dispatcher.runner.snapshot().volatile_functions,
                                          times=True)
    if options.get("default") is not None:
        _ensure_default_markers_agree(dispatcher, table, columns, listed or cols)
    delimiter = options.get("delimiter") or ("," if fmt == "csv" else "\t")
    form = CopyFormat.of(fmt, options, cols)
    router = CopyRouter(dispatcher, table, cols, fmt, delimiter, columns, form)
    if table.method in ("hash", "modulo") and table.column not in cols:
        router.fixed_group = await _group_of_default(dispatcher, table, columns)
    # ON_ERROR ignore: a row whose distribution value does not convert is skipped, as the
    # node skips rows whose other values do not
    router.skip_unroutable = str(options.get("on_error", "stop")).lower() == "ignore"
    router.reject_limit = _reject_limit(options)
    silent = str(options.get("log_verbosity", "default")).lower() == "silent"
    header, match = _header_option(options.get("header"), fmt)
    # a node's line numbers (its errors' context, its skipped rows' notices) are of its
    # share of the data: mapped back to the client's
    router.lines = CopyLines(list(table.groups), 1 if header and fmt != "binary" else 0,
                             replicated=table.method == "replication")
    router.cols, router.appended = cols, len(fill) + len(timed) if fmt != "binary" else 0
    await _ensure_writable(dispatcher)
    if not from_server:
        dispatcher.session.send(codec.build_copy_response(b"G", 1 if fmt == "binary" else 0, len(listed or cols)))
    if "freeze" in options:
        await _check_freeze(dispatcher, request.sql, drain=not from_server)
    # the nodes' counts of skipped rows come from their notices, which LOG_VERBOSITY
    # silent turns off: the nodes keep the default, the client gets no notice
    drop = ("freeze", "header", "log_verbosity") if silent else ("freeze", "header")
    node_sql = _node_copy_sql(request.sql, cols, drop, extra_columns=[c.name for c in fill + timed])
    check = _node_copy_sql(request.sql, listed or cols, drop=("freeze",)) if match else None
    raw = server_files.chunks(body) if from_server else _client_data(dispatcher)
    source = _after_header(dispatcher, raw, header and fmt != "binary", check)
    if fill:
        source = copyfill.filled(source, fill, form, dispatcher)
    if timed:
        fields = await copy_instant.values(dispatcher, timed, form)
        router.appended_text = [] if fmt == "binary" else fields
        source = copy_instant.filled(source, fields, form, dispatcher)
    count = await _copy_routed(dispatcher, table, node_sql, router, source, drain=not from_server)
    if router.skipped and not silent:
        rows = "1 row was" if router.skipped == 1 else f"{router.skipped} rows were"
        dispatcher.session.say(f"{rows} skipped due to data type incompatibility")
    dispatcher.session.send(codec.build_command_complete(f"COPY {count}"))


async def _group_of_default(dispatcher: Dispatcher, table: DistTable, columns: list[TableColumn]) -> str | None:
    """The group of every row a COPY leaves the distribution column of to its default (a
    constant: one value for all rows, evaluated once here); None for no default (NULL).
    A default the datanode would evaluate to another value (gen_random_uuid(), now()) is
    refused (0A000): rows were routed as if NULL and stored elsewhere or refused with "no
    partition of relation found"."""
    column = next(c for c in columns if c.name == table.column)
    if column.sequence or not column.default:
        return None
    if replicas.diverging_default(column.default, dispatcher.runner.snapshot().volatile_functions) \
            or xact_time.mentions_time(column.default) \
            or "nextval(" in column.default.lower():
        raise PgError(FEATURE_NOT_SUPPORTED,
                      f'COPY leaving distribution column "{column.name}" to its default ({column.default}) is '
                      "not supported by gridpg: each row's value must be known before it is routed",
                      hint="List the column in the COPY and give its values.")
    catalog = await dispatcher.runner.txn.connection(dispatcher.coord.catalog_node, wants_block=False)
    await catalog.settle()
    rows = await catalog.query(f"SELECT ({column.default})::text")
    planner = dispatcher.coord.planner
    assert planner is not None
    return planner.group_for_value(table, rows[0][0] if rows else None, dispatcher.runner.snapshot())


def _reject_limit(options: dict[str, Any]) -> int | None:
    """COPY's REJECT_LIMIT: each node applies it to its own rows only, so the cluster's sum
    of skipped rows is checked against it too (`_copy_routed`)."""
    value = options.get("reject_limit")
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None  # the nodes refuse it with PostgreSQL's error


_BOOL_TEXT = {"true": True, "t": True, "on": True, "1": True, "yes": True, "y": True,
              "false": False, "f": False, "off": False, "0": False, "no": False, "n": False}


def _header_option(value: Any, fmt: str) -> tuple[bool, bool]:
    """(has a header line, HEADER MATCH), with PostgreSQL's checks of the option."""
    if value is None:
        return False, False
    text = str(value).lower() if value is not True else "true"
    if text == "match":
        result = (True, True)
    elif text in _BOOL_TEXT:
        result = (_BOOL_TEXT[text], False)
    else:
        raise PgError("42601", 'header requires a Boolean value or "match"')
    if result[0] and fmt == "binary":
        raise PgError(FEATURE_NOT_SUPPORTED, "cannot specify HEADER in BINARY mode")
    return result


async def _client_data(dispatcher: Dispatcher):  # type: ignore[no-untyped-def]
    """The client's COPY data, to its CopyDone (CopyFail: 57014)."""
    while True:
        kind, payload = await dispatcher.session.read_copy_data()
        if kind == 0x64:
            yield payload
        elif kind == 0x63:
            return
        else:
            message = codec.PayloadReader(payload).cstring()
            raise PgError("57014", f"COPY from stdin failed: {message}")


async def _after_header(dispatcher: Dispatcher, source: Any, skip_header: bool,  # type: ignore[no-untyped-def]
                        check_sql: str | None = None):
    """COPY data with its header line skipped, or first checked (HEADER MATCH)."""
    skipping = skip_header
    header = b""
    async for payload in source:
        if skipping:
            cut = payload.find(b"\n")
            if cut < 0:
                header += payload
                continue
            header += payload[: cut + 1]
            payload = payload[cut + 1 :]
            skipping = False
            if check_sql is not None:
                await _check_header(dispatcher, check_sql, header)
        yield payload


async def _check_freeze(dispatcher: Dispatcher, sql: str, drain: bool = True) -> None:
    """FREEZE: the nodes get the rows without it (a HASH table's datanode copy is
    partitioned, which PostgreSQL refuses FREEZE for), so PostgreSQL's conditions are
    checked on the catalog server, whose empty copy of the table was created or truncated
    by the same statements in the same (sub)transactions: a COPY FREEZE of no rows there
    fails as PostgreSQL would (55000 when the table was not created or truncated in the
    current subtransaction; 0A000 for a partitioned table). It was accepted, rows and all."""
    stmt = parse_sql(sql)[0].stmt
    stmt.options = _node_options(tuple(o for o in stmt.options or () if o.defname.lower() == "freeze"), [])
    stmt.attlist = None
    stmt.filename, stmt.is_program = None, False  # (FROM STDIN: no rows, whatever the source)
    conn = await dispatcher.runner.txn.connection(dispatcher.coord.catalog_node, wants_block=False)
    conn.send(codec.build_query(str(RawStream()(stmt))))
    try:
        await conn.expect_copy_in()
        conn.send(codec.COPY_DONE)
        await conn.read_results()
    except PgError:
        # as PostgreSQL, after CopyInResponse: the client's data is read and discarded
        if drain:
            with contextlib.suppress(PgError):
                async for _ in _client_data(dispatcher):
                    pass
        raise


async def _check_header(dispatcher: Dispatcher, sql: str, header: bytes) -> None:
    """HEADER MATCH: PostgreSQL checks the header line against the table's columns, on the
    catalog server (same table, same columns, empty): its error is PostgreSQL's own."""
    conn = await dispatcher.runner.txn.connection(dispatcher.coord.catalog_node, wants_block=False)
    conn.send(codec.build_query(sql))
    await conn.expect_copy_in()
    conn.send(codec.build_copy_data(header))
    conn.send(codec.COPY_DONE)
    await conn.read_results()


async def _copy_routed(dispatcher: Dispatcher, table: DistTable, node_sql: str,
                       router: CopyRouter, source: Any, commit: bool = True, drain: bool = True) -> int:
    """Stream records from `source` to the table's nodes by their distribution column.

    Between chunks the worker's other sessions run (the loop yields, and waits while a
    node has more than PUMP_HIGH_WATER bytes queued), and a cancel request or the
    session's statement_timeout stops it (`StatementRunner.check_interrupts`): the nodes'
    COPYs are failed, nothing is inserted. `drain`: the source is the client's COPY data,
    read to its end after an error (PostgreSQL discards it until CopyDone); a source of
    the coordinator's own (a catalog query's rows) is simply dropped."""
    txn = dispatcher.runner.txn
    groups = list(table.groups)
    # (REJECT_LIMIT: the cluster's count is checked before the rows commit)
    block = len(groups) > 1 or router.reject_limit is not None
    conns: dict[str, BackendConnection] = {}
    for group in groups:
        conn = await txn.connection(group, wants_block=block)
        txn.mark_written(group)
        await conn.settle()
        conn.send(codec.build_query(node_sql))
        conns[group] = conn
    for conn in conns.values():
        await conn.expect_copy_in()
    error: PgError | None = None
    runner = dispatcher.runner
    try:
        async for chunk in source:
            if error is not None:
                if drain:
                    continue
                break
            runner.check_interrupts()
            await router.resolve(dispatcher, chunk)
            for group, data in router.route(chunk).items():
                conns[group].send(codec.build_copy_data(data))
            await _wait_for_nodes(conns.values())
            error = _pending_error(conns, router)
        if error is None:
            runner.check_interrupts()
            await router.resolve(dispatcher, b"", final=True)
            for group, data in router.finish().items():
                conns[group].send(codec.build_copy_data(data))
    except PgError as exc:
        error = exc
    if error is not None:
        for conn in conns.values():
            conn.send(codec.message(b"f", codec.cstr("aborted by the coordinator")))
    else:
        for conn in conns.values():
            conn.send(codec.COPY_DONE)
    total = 0
    counted = list(conns)[:1] if table.method == "replication" else list(conns)  # one copy's count
    for group, conn in conns.items():
        try:
            results = await conn.read_results()
            if group in counted and results and results[-1].tag.startswith("COPY"):
                total += int(results[-1].tag.split()[-1])
        except PgError as exc:
            error = _first_in_client_order(error, _in_client_lines(exc, group, router))
        router.skipped += _skipped_rows(conn, group, router, group in counted)
    if router.reject_limit is not None:
        error = _reject_limit_error(table, router, error)
    _relay_row_notices(dispatcher, router.row_notices)
    if error is not None:
        if not txn.in_block:
            await dispatcher.runner.end_transaction(commit=False)
        raise error
    if commit and block and not txn.in_block:
        await txn.commit()
    return total


_SKIPPED = re.compile(r"(\d+) rows? (?:was|were) skipped due to data type incompatibility")
_REJECT_LIMIT_ERROR = re.compile(r"skipped more than REJECT_LIMIT \(\d+\) rows due to data type incompatibility")
_SKIPPED_COLUMN = re.compile(r'for column "((?:[^"]|"")*)": (null input|"(.*)")$', re.S)


def _skipped_rows(conn: BackendConnection, group: str, router: CopyRouter, counted: bool) -> int:
    """The rows a node's COPY ... (ON_ERROR ignore) skipped, taken from its notice (the one
    place PostgreSQL tells): the client gets one notice with the cluster's sum. The notice
    of each skipped row (LOG_VERBOSITY verbose) goes to `router.row_notices` with the
    client's line (of one copy of a REPLICATION table only)."""
    count, kept = 0, []
    for message in conn.notices:
        fields = codec.parse_error_fields(message[5:])
        found = _SKIPPED.fullmatch(fields.get("M", ""))
        row = router.lines.rewrite_skipped_row(group, fields) if router.lines is not None else None
        if found:
            count += int(found.group(1)) if counted else 0
        elif row is not None:
            if counted:
                router.row_notices.append(row)
        else:
            kept.append(message)
    conn.notices[:] = kept
    return count


def _in_client_lines(error: PgError, group: str, router: CopyRouter) -> PgError:
    """A node's error with the client's line in its COPY context."""
    if router.lines is not None and error.fields is not None:
        error.fields = router.lines.rewrite_context(group, error.fields)
    if router.appended and error.fields is not None:
        error.fields = copyfill.client_error(error.fields, router.cols, router.appended, router.delimiter,
                                             router.appended_text)
        error.message = error.fields.get("M", error.message)
    return error


def _reject_limit_error(table: DistTable, router: CopyRouter, error: PgError | None) -> PgError | None:
    """COPY's REJECT_LIMIT over the cluster: PostgreSQL stops at the row that makes one
    more than the limit. No node skipped more than the limit but the cluster did, or a node
    did (with the other nodes' skipped rows before it, the cluster may have done so on an
    earlier line): PostgreSQL's error, in the context of the cluster's row when the nodes
    said which rows they skipped (LOG_VERBOSITY verbose); only the notices up to it are
    relayed. The rows the nodes took roll back with the statement."""
    limit = router.reject_limit
    assert limit is not None
    node_limit = error is not None and _REJECT_LIMIT_ERROR.fullmatch(error.message) is not None
    if error is not None and not node_limit:
        return error
    router.row_notices.sort(key=lambda item: item[0])
    if router.skipped <= limit and len(router.row_notices) <= limit:
        return error
    message = f"skipped more than REJECT_LIMIT ({limit}) rows due to data type incompatibility"
    if len(router.row_notices) <= limit:
        return error or PgError("22P02", message)
    line, fields = router.row_notices[limit]
    del router.row_notices[limit + 1:]
    column = _SKIPPED_COLUMN.search(fields.get("M", ""))
    if column is None:
        return error or PgError("22P02", message)
    name = column.group(1).replace('""', '"')
    value = "null input" if column.group(3) is None else f'"{column.group(3)}"'
    return PgError("22P02", message, fields={
        "S": "ERROR", "V": "ERROR", "C": "22P02", "M": message,
        "W": f"COPY {table.name}, line {line}, column {name}: {value}"})


def _relay_row_notices(dispatcher: Dispatcher, notices: list[tuple[int, dict[str, str]]]) -> None:
    """The skipped rows' notices, in the client's line order (the nodes sent theirs in parallel)."""
    for _line, fields in sorted(notices, key=lambda item: item[0]):
        dispatcher.session.send(codec.build_error_fields(b"N", fields))
    notices.clear()


async def _wait_for_nodes(conns: Any) -> None:
    """Let the event loop run (other sessions' statements, the nodes' answers arriving),
    and wait while a node has more than PUMP_HIGH_WATER bytes queued (down to
    PUMP_LOW_WATER; bounded: a node that stopped reading for 100 s is a lost node)."""
    from gridpg.executor.exchange import PUMP_HIGH_WATER, PUMP_LOW_WATER

    await asyncio.sleep(0)
    if max(c.write_buffer_size() for c in conns) <= PUMP_HIGH_WATER:
        return
    for _ in range(100000):
        if max(c.write_buffer_size() for c in conns) <= PUMP_LOW_WATER or _has_error_frame(conns):
            return
        await asyncio.sleep(0.001)
    raise PgError(CONNECTION_FAILURE, "a datanode stopped reading the rows of a COPY")


def _has_error_frame(conns: Any) -> bool:
    return any(kind == 0x45 for conn in conns for kind, _raw in conn._proto.frames)


_ERROR_LINE = re.compile(r"^COPY [^\n]*?, line (\d+)")
_ABORTED = "COPY from stdin failed: aborted by the coordinator"


def _first_in_client_order(error: PgError | None, other: PgError) -> PgError:
    """Of two nodes' errors, the one at the client's earlier line: PostgreSQL stops at the
    first bad record, and every record before the one a node refused reached every node
    (a chunk is routed whole before the nodes' answers are read), so the node that holds
    an earlier bad record refuses it too. The coordinator's abort of the others is never it."""
    if error is None:
        return other
    if other.message == _ABORTED:
        return error

    def line(e: PgError) -> float:
        found = _ERROR_LINE.match((e.fields or {}).get("W", ""))
        return int(found.group(1)) if found else float("inf")

    return other if line(other) < line(error) else error


def _pending_error(conns: dict[str, BackendConnection], router: CopyRouter) -> PgError | None:
    for group, conn in conns.items():
        frames = conn._proto.frames
        for kind, raw in frames:
            if kind == 0x45:
                return _in_client_lines(conn.error(codec.parse_error_fields(raw[5:])), group, router)
    return None


class CopyRouter:
    """Splits COPY data into records and groups them by node."""

    def __init__(self, dispatcher: Dispatcher, table: DistTable, cols: list[str], fmt: str,
                 delimiter: str, columns: list[TableColumn] | None, form: CopyFormat | None = None) -> None:
        planner = dispatcher.coord.planner
        assert planner is not None
        self.planner = planner
        self.snapshot = dispatcher.runner.snapshot()
        self.table = table
        self.fmt = fmt
        self.delimiter = delimiter.encode()
        self.form = form or CopyFormat.plain(fmt, delimiter)
        self.position = cols.index(table.column) if table.column in cols else -1
        self.fixed_group: str | None = None  # every row's group (a COPY leaving the column to a constant default)
        self.pending = b""
        self.groups = list(table.groups)
        self.rr = 0
        self.cache: dict[bytes, str] = {}
        self.binary_header_seen = False
        self.record_order: list[str] | None = None  # when set: each record's group, in order
        self.skip_unroutable = False  # COPY ... (ON_ERROR ignore)
        self.skipped = 0
        self.lines: CopyLines | None = None  # when set: the client's line of each node's line
        self.row_notices: list[tuple[int, dict[str, str]]] = []  # LOG_VERBOSITY verbose, by client line
        self.reject_limit: int | None = None  # COPY ... (REJECT_LIMIT n)
        self.cols = cols
        self.appended = 0  # serial/identity values the coordinator appended to each record
        self.appended_text: list[bytes] = []  # and after them, the time defaults' one value each
        self.type_oid = 0
        if columns is not None and table.column:
            self.type_oid = next((c.type_oid for c in columns if c.name == table.column), 0)
        self.shard_groups = self._vectorised_groups()
        self.server: copy_server_hash.ServerHashes | None = None  # values only PostgreSQL reads
        if self.shard_groups is None and copy_server_hash.wanted(table, fmt, self.position):
            self.server = copy_server_hash.ServerHashes(table, self.form, self.position)

    async def resolve(self, dispatcher: Dispatcher, chunk: bytes, final: bool = False) -> None:
        """Before `route(chunk)` (or `finish()`, `final`): the groups of the values in its
        complete records that gridpg cannot read, from the catalog server."""
        if self.server is None or self.fixed_group is not None:
            return
        data = self.pending + chunk
        if final:
            lines = [self.pending] if self.pending.strip() else []
        else:
            cut = data.rfind(b"\n")
            lines = data[:cut].split(b"\n") if cut >= 0 else []
        if lines:
            await self.server.resolve(dispatcher, lines, _unescape_copy_text,
                                      lambda text: self.planner.group_for_value(self.table, text, self.snapshot))

    def route(self, chunk: bytes) -> dict[str, bytes]:
        if self.table.method == "replication":
            return {g: chunk for g in self.groups}
        if self.fmt == "binary":
            return self._route_binary(chunk)
        data = self.pending + chunk
        cut = data.rfind(b"\n")
        if cut < 0:
            self.pending = data
            return {}
        self.pending = data[cut + 1 :]
        block = data[: cut + 1]
        if self.shard_groups is not None:
            line_groups: list[Any] | None = [] if self.lines is not None else None
            split = copysplit.split_block(block, self.delimiter, self.position,
                                          self.table.column_type or "", self.shard_groups, line_groups)
            if split is not None:
                if self.lines is not None and line_groups:
                    self.lines.add_block(*line_groups[0])
                return split
        return self._route_lines(block.split(b"\n")[:-1])

    def _vectorised_groups(self) -> list[str] | None:
        """The group of each shard, when blocks can be routed by copysplit (text format,
        HASH on an integer column); None otherwise."""
        table = self.table
        if self.fmt != "text" or self.form.null != b"\\N" or table.method != "hash" or self.position < 0 \
                or not copysplit.is_vectorisable(table.column_type or ""):
            return None
        try:
            return [self.snapshot.shard_group(table.schema, table.name, r)
                    for r in range(table.shard_count or 1)]
        except Exception:  # noqa: BLE001 - metadata of a table created in this transaction
            return None

    def finish(self) -> dict[str, bytes]:
        if self.fmt == "binary":
            if not self.binary_header_seen:
                return {}
            return {g: b"\xff\xff" for g in self.groups}
        if self.pending.strip() and self.table.method != "replication":
            lines = [self.pending]
            self.pending = b""
            return self._route_lines(lines)
        return {}

    def _route_lines(self, lines: list[bytes]) -> dict[str, list[bytes]]:  # type: ignore[override]
        out: dict[str, list[bytes]] = {}
        record: list[bytes] = []
        inside = False
        for line in lines:
            if line == b"\\." and self.fmt != "csv":  # (CSV: data since PostgreSQL 18)
                break
            span = 1
            if self.fmt == "csv":
                record.append(line)
                inside = self.form.open_after(line, inside)
                if inside:
                    continue
                full = b"\n".join(record)
                span = len(record)
                record = []
            else:
                full = line
            try:
                group = self._group_of(full)
            except PgError as exc:
                if not (self.skip_unroutable and exc.sqlstate == "22P02"):
                    raise
                self.skipped += 1
                if self.lines is not None:
                    self.lines.add_record(None, span)
                continue
            if self.lines is not None:
                self.lines.add_record(group, span)
            if self.record_order is not None:
                self.record_order.append(group)
            out.setdefault(group, []).append(full)
        if record:
            self.pending = b"\n".join(record) + b"\n" + self.pending
        return {g: b"\n".join(rows) + b"\n" for g, rows in out.items()}  # type: ignore[misc]

    def _group_of(self, record: bytes) -> str:
        if self.fixed_group is not None:
            return self.fixed_group
        if self.table.method == "roundrobin" or self.position < 0:
            if self.table.method in ("hash", "modulo"):
                return self._group_for_text(None)
            self.rr += 1
            return self.groups[self.rr % len(self.groups)]
        if self.fmt == "csv":
            return self._group_for_text(self.form.csv_value(record, self.position))
        fields_b = record.split(self.delimiter)
        raw = fields_b[self.position] if self.position < len(fields_b) else self.form.null
        cached = self.cache.get(raw)
        if cached is not None:
            return cached
        text = None if raw == self.form.null else _unescape_copy_text(raw)
        group = self._group_for_text(text)
        if len(self.cache) < 100000:
            self.cache[raw] = group
        return group

    def _group_for_text(self, text: str | None) -> str:
        group = self.server.group(text) if self.server is not None else None
        if group is None:
            group = self.planner.group_for_value(self.table, text, self.snapshot)
        if group is None and self.table.method in ("hash", "modulo") and self.groups:
            # A value gridpg cannot read as the column's type: the first node reads it as
            # PostgreSQL does, and either refuses it with PostgreSQL's own error (or skips it
            # under ON_ERROR ignore, counted with the rest), or accepts it only into one of
            # its own shards (partition bounds, the MODULO check), i.e. where it belongs.
            return self.groups[0]
        if group is None:
            raise PgError("22P02", f'cannot route value {text!r} of distribution column "{self.table.column}"')
        return group

    def _route_binary(self, chunk: bytes) -> dict[str, bytes]:
        from gridpg.pgwire.binary import decode_binary_param

        data = self.pending + chunk
        out: dict[str, list[bytes]] = {}
        pos = 0
        if not self.binary_header_seen:
            if len(data) < 19:
                self.pending = data
                return {}
            ext = int.from_bytes(data[15:19], "big")
            header = data[: 19 + ext]
            pos = 19 + ext
            self.binary_header_seen = True
            for g in self.groups:
                out.setdefault(g, []).append(header)
        while pos + 2 <= len(data):
            nfields = int.from_bytes(data[pos : pos + 2], "big", signed=True)
            if nfields == -1:
                pos = len(data)
                break
            p = pos + 2
            value_raw: bytes | None = None
            complete = True
            for i in range(nfields):
                if p + 4 > len(data):
                    complete = False
                    break
                n = int.from_bytes(data[p : p + 4], "big", signed=True)
                p += 4
                if n >= 0:
                    if p + n > len(data):
                        complete = False
                        break
                    if i == self.position:
                        value_raw = data[p : p + n]
                    p += n
            if not complete:
                break
            if self.fixed_group is not None:
                group = self.fixed_group
            elif self.table.method in ("hash", "modulo"):
                text = None if value_raw is None else decode_binary_param(self.type_oid, value_raw)
                group = self._group_for_text(text)
            else:
                self.rr += 1
                group = self.groups[self.rr % len(self.groups)]
            if self.lines is not None:  # (PostgreSQL counts a binary COPY's tuples as its lines)
                self.lines.add_record(group)
            out.setdefault(group, []).append(data[pos:p])
            pos = p
        self.pending = data[pos:]
        return {g: b"".join(parts) for g, parts in out.items()}


def _unescape_copy_text(raw: bytes) -> str:
    text = raw.decode()
    if "\\" not in text:
        return text
    out = []
    i = 0
    escapes = {"b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v", "\\": "\\"}
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text):
            nxt = text[i + 1]
            if nxt in escapes:
                out.append(escapes[nxt])
                i += 2
                continue
            out.append(nxt)
            i += 2
            continue
        out.append(ch)
        i += 1
    return "".join(out)


async def copy_table_out(dispatcher: Dispatcher, request: ExecRequest, body: dict[str, Any],
                         table: DistTable, options: dict[str, Any]) -> None:
    fmt = str(options.get("format", "text")).lower()
    columns = await dispatcher.coord.table_columns(dispatcher.runner, table)
    # without a column list, every column but the generated ones, as PostgreSQL copies them
    # (`SELECT *` had added them: a dump read back by COPY FROM failed with 22P04)
    cols = [c["String"]["sval"] for c in body.get("attlist", []) or []] \
        or [c.name for c in columns if not c.generated]
    generated = {c.name for c in columns if c.generated}
    for name in cols:  # PostgreSQL's check (the nodes are asked for a query's columns)
        if name in generated:
            raise PgError("42P10", f'column "{name}" is a generated column',
                          detail="Generated columns cannot be used in COPY.")
    col_sql = ", ".join(quote_ident(c) for c in cols)
    groups = table.groups[:1] if table.method == "replication" else table.groups
    source = await _copy_source(dispatcher, table)
    if fmt == "binary" and await _copies_user_type_oids(dispatcher, table, cols):
        # a node's binary array of an enum (composite, ...) names the node's OID of that
        # type: the catalog server copies the gathered rows, its own OIDs in them
        stmt = parse_sql(request.sql)[0].stmt
        stmt.query = parse_sql(f"SELECT {col_sql} FROM {source}")[0].stmt
        stmt.relation = None
        stmt.attlist = None
        sql = str(RawStream()(stmt))
        if await copy_query_out(dispatcher, replace(request, sql=sql), sqlparse.parse_tree(sql)["CopyStmt"]):
            return
    dispatcher.session.send(codec.build_copy_response(b"H", 1 if fmt == "binary" else 0, len(cols)))
    total = 0
    for index, group in enumerate(groups):
        node_stmt = parse_sql(request.sql)[0].stmt
        node_stmt.query = parse_sql(f"SELECT {col_sql} FROM {source}")[0].stmt
        node_stmt.relation = None
        node_stmt.attlist = None
        if node_stmt.options:
            kept = tuple(o for o in node_stmt.options if index == 0 or o.defname.lower() != "header")
            node_stmt.options = _node_options(kept, cols) or None
        conn = await dispatcher.runner.txn.connection(group, wants_block=False)
        total += await _relay_copy_out(dispatcher, conn, str(RawStream()(node_stmt)),
                                       skip_binary_header=index > 0 and fmt == "binary",
                                       skip_binary_trailer=index < len(groups) - 1 and fmt == "binary")
    dispatcher.session.send(codec.COPY_DONE)
    dispatcher.session.send(codec.build_command_complete(f"COPY {total}"))


async def _copies_user_type_oids(dispatcher: Dispatcher, table: DistTable, cols: list[str]) -> bool:
    """Whether a copied column's binary form names a user type by OID (an array of one, a
    composite, a domain over either: `Coordinator.oid_carrying_types`)."""
    carrying = dispatcher.coord.oid_carrying_types
    if not carrying:
        return False
    conn = await dispatcher.runner.txn.connection(dispatcher.coord.catalog_node, wants_block=False)
    await conn.settle()
    rows = await conn.query(
        "SELECT a.attname, a.atttypid FROM pg_catalog.pg_attribute a WHERE a.attrelid = "
        f"{quote_literal(quote_qualified(table.schema, table.name))}::pg_catalog.regclass "
        "AND a.attnum > 0 AND NOT a.attisdropped")
    return any(name in cols and int(oid or 0) in carrying for name, oid in rows)


async def _copy_source(dispatcher: Dispatcher, table: DistTable) -> str:
    """What the nodes' `COPY (SELECT ...) TO` reads for `COPY table TO`: PostgreSQL copies the
    table's own rows, not its inheritance children's (ONLY; such a table is a plain table on
    the datanodes), and refuses a partitioned table (0A000). A HASH table without children
    is partitioned into its shards on the datanodes: read whole."""
    name = quote_qualified(table.schema, table.name)
    conn = await dispatcher.runner.txn.connection(dispatcher.coord.catalog_node, wants_block=False)
    await conn.settle()
    rows = await conn.query(
        f"SELECT c.relkind, EXISTS (SELECT 1 FROM pg_catalog.pg_inherits i WHERE i.inhparent = c.oid) "
        f"FROM pg_catalog.pg_class c WHERE c.oid = {quote_literal(name)}::pg_catalog.regclass")
    kind, has_children = rows[0] if rows else ("r", "f")
    if kind == "p":
        raise PgError("42809", f'cannot copy from partitioned table "{table.name}"',  # (PostgreSQL's code)
                      hint="Try the COPY (SELECT ...) TO variant.")
    return f"ONLY {name}" if has_children == "t" else name


async def _relay_copy_out(dispatcher: Dispatcher, conn: BackendConnection, sql: str,
                          skip_binary_header: bool = False, skip_binary_trailer: bool = False,
                          relay_response: bool = False) -> int:
    """The rows of `sql` (a COPY ... TO STDOUT) relayed to the client as CopyData; with
    `relay_response`, its CopyOutResponse too. The row count."""
    await conn.settle()
    conn.send(codec.build_query(sql))
    error: PgError | None = None
    count = 0
    first = True
    pending_tail: bytes | None = None
    while True:
        for kind, raw in await conn.recv_batch():
            if kind == 0x64:
                data = raw[5:]
                if first and skip_binary_header:
                    ext = int.from_bytes(data[15:19], "big")
                    data = data[19 + ext :]
                first = False
                if skip_binary_trailer:
                    if pending_tail is not None:
                        dispatcher.session.send(codec.build_copy_data(pending_tail))
                    pending_tail = data
                    continue
                if data:
                    dispatcher.session.send(codec.build_copy_data(data))
            elif kind == 0x48 and relay_response:
                dispatcher.session.send(raw)
            elif kind == 0x43:
                tag = raw[5:-1].decode()
                count = int(tag.split()[-1]) if tag.split()[-1].isdigit() else 0
            elif kind == 0x45:
                error = conn.error(codec.parse_error_fields(raw[5:]))
            elif kind == 0x5A:
                conn.txn_status = raw[5:6]
                if pending_tail is not None and pending_tail.endswith(b"\xff\xff"):
                    pending_tail = pending_tail[:-2]
                    if pending_tail:
                        dispatcher.session.send(codec.build_copy_data(pending_tail))
                if error is not None:
                    raise error
                return count


async def copy_query_out(dispatcher: Dispatcher, request: ExecRequest, body: dict[str, Any]) -> bool:
    """COPY (query) TO STDOUT: the query is planned; its final step runs the COPY."""
    from gridpg.executor.multi import prepare_query_on_catalog

    stmt = parse_sql(request.sql)[0].stmt
    if not isinstance(stmt.query, ast.SelectStmt):
        from gridpg.executor.run import catalog_view, search_path

        # The query would run on the catalog server's gathered copies: the rows it returns
        # would be changed there and not in the table.
        catalog, path = catalog_view(dispatcher), search_path(dispatcher)
        if any(catalog.resolve(r, path) is not None for r in analyze.relations(body["query"])):
            await _copy_returning_out(dispatcher, request, stmt)
            return True
    from gridpg.executor.locked_insert import ensure_no_copied_locks

    ensure_no_copied_locks(dispatcher, stmt.query, "COPY (query) TO")
    from gridpg.executor.multi import _drop_temp
    from gridpg.executor.scratch import writable_catalog

    # The gathered rows' temp tables go on a side connection in a read-only block (25006
    # otherwise) and in a writable one (its DDL after this statement failed to PREPARE: 0A000
    # "operated on temporary objects", and the whole block was lost at COMMIT).
    async with writable_catalog(dispatcher):
        prepared = await prepare_query_on_catalog(dispatcher, str(RawStream()(stmt.query)))
        if prepared is None:
            return False
        final_sql, temps = prepared
        stmt.query = parse_sql(final_sql)[0].stmt
        catalog = await dispatcher.runner.txn.connection(dispatcher.coord.catalog_node, wants_block=False)
        try:
            if request.simple:
                await dispatcher.run_on_node(dispatcher.coord.catalog_node, request, writes=False,
                                             sql=str(RawStream()(stmt)))
            else:
                # pg8000 sends every statement with Parse/Bind/Execute: the relay of an
                # extended cycle takes no COPY OUT (it broke the catalog server's
                # connection, 08006), so the final COPY runs as a simple query, relayed
                count = await _relay_copy_out(dispatcher, catalog, str(RawStream()(stmt)), relay_response=True)
                dispatcher.session.send(codec.COPY_DONE)
                dispatcher.session.send(codec.build_command_complete(f"COPY {count}"))
        finally:
            await _drop_temp(catalog, temps)
    return True


async def _copy_returning_out(dispatcher: Dispatcher, request: ExecRequest, stmt: Any) -> None:
    """COPY (INSERT/UPDATE/DELETE ... RETURNING) TO STDOUT over distributed tables: the write
    runs through the cluster like any (routed, pushed down, its rules applied), its
    RETURNING rows are captured, and the catalog server runs the COPY, with the client's
    options, over those rows as typed constants (it was refused: run there whole, the write
    would have changed the catalog server's empty copies)."""
    from gridpg.executor.modifying_cte import captured_entry

    returning = getattr(stmt.query, "returningClause", None)
    if returning is None or not returning.exprs:
        raise PgError(FEATURE_NOT_SUPPORTED, "COPY query must have a RETURNING clause")
    query = str(RawStream()(stmt.query))
    async with dispatcher.runner.statement_transaction():
        entry = await captured_entry(dispatcher, request, "gp_copy_rows", (), query)
        catalog = await dispatcher.runner.txn.connection(dispatcher.coord.catalog_node, wants_block=False)
        stmt.query = parse_sql(f"WITH {entry} SELECT * FROM gp_copy_rows")[0].stmt
        count = await _relay_copy_out(dispatcher, catalog, str(RawStream()(stmt)), relay_response=True)
    dispatcher.session.send(codec.COPY_DONE)
    dispatcher.session.send(codec.build_command_complete(f"COPY {count}"))


# -- CREATE TABLE AS -------------------------------------------------------------------


async def create_table_as(dispatcher: Dispatcher, request: ExecRequest, tree: dict[str, Any],
                          spec: Any) -> bool:
    body = tree["CreateTableAsStmt"]
    if body.get("objtype") != "OBJECT_TABLE":
        return False
    into = body["into"]
    if tempnames.is_temp_relation(into["rel"]):
        from gridpg.executor.temp_query import create_temp_table_as

        return await create_temp_table_as(dispatcher, request)
    catalog = await dispatcher.runner.txn.connection(dispatcher.coord.catalog_node, wants_block=False)
    if await catalog.read_only():
        # PostgreSQL's check, first (the table is made by a CREATE TABLE: its own refusal
        # named that command, transactions.sql:114)
        raise PgError("25006", "cannot execute CREATE TABLE AS in a read-only transaction")
    stmt = parse_sql(request.sql if spec is None else _strip(request.sql))[0].stmt
    query_sql = str(RawStream()(stmt.query))
    from gridpg.executor.locked_insert import ensure_no_copied_locks

    ensure_no_copied_locks(dispatcher, stmt.query, "CREATE TABLE AS")
    if body.get("if_not_exists") and await _creation_name_taken(dispatcher, into["rel"]):
        # PostgreSQL analyses the query before it looks for the name: a query naming a
        # relation or column that does not exist fails (42P01, 42703) even then
        catalog = await dispatcher.runner.txn.connection(dispatcher.coord.catalog_node, wants_block=False)
        await _query_columns(catalog, query_sql, into)
        relname = into["rel"]["relname"]
        dispatcher.session.say(f'relation "{relname}" already exists, skipping', sqlstate="42P07")
        dispatcher.session.send(codec.build_command_complete("CREATE TABLE AS"))
        return True
    with_data = not into.get("skipData")
    # Create the table from the query's shape, then distribute and fill it: one transaction.
    async with dispatcher.runner.statement_transaction():
        count = await _create_and_fill(dispatcher, into, query_sql, with_data, spec)
    # (PostgreSQL's tag of WITH NO DATA names the command: no rows were selected)
    tag = f"SELECT {count}" if with_data else "CREATE TABLE AS"
    dispatcher.session.send(codec.build_command_complete(tag))
    return True


async def _creation_name_taken(dispatcher: Dispatcher, rel: dict[str, Any]) -> bool:
    """CREATE TABLE AS ... IF NOT EXISTS: a relation of that name in the schema the table
    would be created in (the first existing schema of search_path when unqualified)."""
    catalog = await dispatcher.runner.txn.connection(dispatcher.coord.catalog_node, wants_block=False)
    schema = rel.get("schemaname")
    namespace = (f"pg_catalog.to_regnamespace({quote_literal(quote_ident(schema))})" if schema
                 else "(SELECT oid FROM pg_catalog.pg_namespace WHERE nspname = pg_catalog.current_schema())")
    rows = await catalog.query(
        "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_class WHERE relname = "
        f"{quote_literal(rel['relname'])} AND relnamespace = {namespace})")
    return rows[0][0] == "t"


async def _create_and_fill(dispatcher: Dispatcher, into: dict[str, Any], query_sql: str,
                           with_data: bool, spec: Any) -> int:
    from gridpg.commands.ddl import DdlRunner
    from gridpg.sql.parse import parse_tree

    catalog = await dispatcher.runner.txn.connection(dispatcher.coord.catalog_node, wants_block=True)
    columns = await _query_columns(catalog, query_sql, into, declared=True)
    from gridpg.commands.ddl import in_creation_schema

    rel = await in_creation_schema(catalog, into["rel"])
    name = quote_qualified(rel.get("schemaname"), rel["relname"])
    unlogged = "UNLOGGED " if rel.get("relpersistence") == "u" else ""
    create_sql = f"CREATE {unlogged}TABLE {name} ({', '.join(f'{quote_ident(n)} {t}' for n, t in columns)})"
    create_sql += _storage_clauses(into)
    saved = dispatcher.session.out[:]
    await DdlRunner(dispatcher).create_table(create_sql, parse_tree(create_sql), spec)
    dispatcher.session.out[:] = saved
    if not with_data:
        return 0
    table = dispatcher.runner.snapshot().table(*(await _resolved_name(catalog, name)))
    if table is None:
        raise PgError("XX000", "the new table has no metadata")
    rows = await catalog.query(f"SELECT pg_catalog.has_table_privilege({quote_literal(name)}, 'INSERT')")
    if rows and rows[0][0] == "f":
        # PostgreSQL fills the table it creates without checking INSERT, which the owner may
        # lack (ALTER DEFAULT PRIVILEGES ... REVOKE INSERT): gridpg fills it by INSERT or COPY,
        # so the owner holds INSERT for the fill, and the ACL is as it was after it
        await _grant_own_insert(dispatcher, table, name, "GRANT INSERT ON TABLE {} TO CURRENT_USER")
        count = await fill_table(dispatcher, table, [n for n, _ in columns], query_sql)
        await _grant_own_insert(dispatcher, table, name, "REVOKE INSERT ON TABLE {} FROM CURRENT_USER")
        return count
    return await fill_table(dispatcher, table, [n for n, _ in columns], query_sql)


async def _grant_own_insert(dispatcher: Dispatcher, table: DistTable, name: str, template: str) -> None:
    """GRANT or REVOKE `template` on the new table on every catalog server and datanode (its
    shards too, which keep their table's ACL)."""
    from gridpg.commands import shard_grants
    from gridpg.commands.ddl import DdlRunner

    ddl = DdlRunner(dispatcher)
    sql = template.format(name)
    await ddl.on_catalog_servers(sql)
    on_shards = shard_grants.with_shards(sql) or sql
    for group in table.groups:
        await (await ddl.conn(group)).simple_query(on_shards)


def _column_list(cols: list[str]) -> str:
    """` (a, b)` of a filled table's columns; nothing for a table of none (`SELECT INTO t
    FROM src` makes one: `INSERT INTO t () ...` is no SQL, and its parse error escaped as
    an internal error that closed the client's connection)."""
    return f" ({', '.join(quote_ident(c) for c in cols)})" if cols else ""


async def fill_table(dispatcher: Dispatcher, table: DistTable, cols: list[str], query_sql: str) -> int:
    """Insert the rows of a query (anything the planner runs) into a distributed table, on
    the datanodes when the query runs there, else routed through the coordinator as COPY
    text; the rows inserted (CREATE TABLE AS, materialized views). A query calling a
    sequence function is filled as INSERT ... SELECT is, nextval() items taking the GTM's
    values (executor/insert_nextval.py); other calls are refused (0A000): the datanodes or
    the catalog server would answer from their own copies of the sequence."""
    count = await _fill_with_sequence_calls(dispatcher, table, cols, query_sql)
    if count is None:
        count = await _fill_on_datanodes(dispatcher, table, cols, query_sql)
    if count is not None:
        return count
    copy_sql = f"COPY {quote_qualified(table.schema, table.name)}{_column_list(cols)} FROM STDIN"
    router = CopyRouter(dispatcher, table, cols, "text", "\t", None)
    from gridpg.executor.multi import stream_query_from_catalog

    async with stream_query_from_catalog(dispatcher, query_sql) as stream:
        return await _copy_routed(dispatcher, table, copy_sql, router, stream, commit=False, drain=False)


def _storage_clauses(into: dict[str, Any]) -> str:
    """The IntoClause's USING, WITH (...) and TABLESPACE, as the CREATE TABLE takes them
    (option names quoted: `WITH ("Fillfactor" = 10)` must fail as PostgreSQL's does)."""
    text = ""
    if into.get("accessMethod"):
        text += f" USING {quote_ident(into['accessMethod'])}"
    options = []
    for option in into.get("options") or []:
        elem = option["DefElem"]
        name = quote_ident(elem["defname"])
        if elem.get("defnamespace"):
            name = f"{quote_ident(elem['defnamespace'])}.{name}"
        arg = elem.get("arg")
        options.append(name if arg is None else f"{name} = {_option_value(arg)}")
    if options:
        text += f" WITH ({', '.join(options)})"
    if into.get("tableSpaceName"):
        text += f" TABLESPACE {quote_ident(into['tableSpaceName'])}"
    return text


def _option_value(arg: dict[str, Any]) -> str:
    for kind, field in (("Integer", "ival"), ("Float", "fval")):
        if kind in arg:
            return str(arg[kind].get(field, 0))
    if "Boolean" in arg:
        return "true" if arg["Boolean"].get("boolval") else "false"
    if "String" in arg:
        return quote_literal(arg["String"].get("sval", ""))
    if "TypeName" in arg:
        return quote_literal(".".join(n["String"]["sval"] for n in arg["TypeName"]["names"]))
    raise PgError(FEATURE_NOT_SUPPORTED, "this storage option of CREATE TABLE AS is not supported")


async def _fill_with_sequence_calls(dispatcher: Dispatcher, table: DistTable, cols: list[str],
                                    query_sql: str) -> int | None:
    """Fill `table` by `insert_select` when the query calls a sequence function: the rows
    inserted, or None when it calls none."""
    from gridpg.executor import insert_nextval
    from gridpg.executor.dispatch import ExecRequest
    from gridpg.planner.calls import may_call_sequence, sequence_calls
    from gridpg.sql.parse import parse_tree

    if not may_call_sequence(query_sql.lower()):
        return None
    text = (f"INSERT INTO {quote_qualified(table.schema, table.name)} "
            f"{_column_list(cols)} {query_sql}")
    body = parse_tree(text)["InsertStmt"]
    calls = sequence_calls(body)
    if not calls:
        return None
    if insert_nextval.nextval_items(body) is None:
        raise PgError(FEATURE_NOT_SUPPORTED, f"{calls[0][1]}() in the query of CREATE TABLE AS or a "
                      "materialized view over distributed tables is not supported by gridpg: sequences "
                      "are cluster-wide and evaluated by the coordinator",
                      hint="call nextval() as a whole item of the select list, or create the table first "
                           "and INSERT ... SELECT into it")
    _, tag = await _tag_kept_back(dispatcher, insert_select(dispatcher, ExecRequest(text, simple=True), body, table))
    return _row_count(tag)


async def _tag_kept_back(dispatcher: Dispatcher, insert: Awaitable[_T]) -> tuple[_T, str]:
    """Run an INSERT whose replies go to the client, keeping them back: what it returns and
    its command tag ('' when it sent none)."""
    out = dispatcher.session.out
    start = len(out)
    try:
        result = await insert
        tags = [m for m in out[start:] if m[:1] == b"C"]
    finally:
        del out[start:]
    return result, tags[-1][5:-1].decode() if tags else ""


def _row_count(tag: str) -> int:
    last = tag.rsplit(" ", 1)[-1]
    return int(last) if last.isdigit() else 0


async def _fill_on_datanodes(dispatcher: Dispatcher, table: DistTable, cols: list[str], query_sql: str) -> int | None:
    """CREATE TABLE AS filled as INSERT ... SELECT on the datanodes (executor/insert_select.py):
    the rows inserted, or None when the query must go through the coordinator."""
    from gridpg.executor.dispatch import ExecRequest
    from gridpg.sql.parse import parse_tree

    text = (f"INSERT INTO {quote_qualified(table.schema, table.name)} "
            f"{_column_list(cols)} {query_sql}")
    stmt = parse_sql(text)[0].stmt
    body = parse_tree(text)["InsertStmt"]
    columns = await dispatcher.coord.table_columns(dispatcher.runner, table)
    done, tag = await _tag_kept_back(dispatcher, _insert_on_datanodes(
        dispatcher, ExecRequest(text, simple=True), stmt, body, table, columns, str(RawStream()(stmt.selectStmt))))
    return _row_count(tag) if done else None


def _strip(sql: str) -> str:
    from gridpg.sql.xl import extract_distribution

    return extract_distribution(sql)[0]


async def _query_columns(conn: BackendConnection, query_sql: str, into: dict[str, Any],
                         param_oids: list[int] | None = None, declared: bool = False) -> list[tuple[str, str]]:
    """(name, type) of each output column of `query_sql` as `conn` describes it, with its
    parameters of these types (0: inferred). `declared`: a column of a domain type keeps
    the domain, as CREATE TABLE AS gives it (a RowDescription names its base type)."""
    conn.send(codec.build_parse("", query_sql, param_oids or ()) + codec.build_describe("S", "") + codec.SYNC)
    row_desc: list[codec.Column] = []
    error = None
    while True:
        kind, payload = await conn.recv()
        if kind == 0x54:
            row_desc = codec.parse_row_description(payload)
        elif kind == 0x45:
            error = PgError.from_fields(codec.parse_error_fields(payload))
        elif kind == 0x5A:
            break
    if error is not None:
        raise error
    names = [c["String"]["sval"] for c in into.get("colNames", []) or []]
    if len(names) > len(row_desc):
        raise PgError("42601", "too many column names were specified")
    types = []
    if row_desc:
        pairs = ", ".join(f"({c.type_oid}, {c.type_mod}, {i})" for i, c in enumerate(row_desc))
        rows = await conn.query("SELECT pg_catalog.format_type(o::pg_catalog.oid, m) FROM "
                                f"(VALUES {pairs}) AS v(o, m, i) ORDER BY i")
        types = [r[0] or "text" for r in rows]
        if declared and not param_oids:
            domains = await _domain_result_types(conn, query_sql)
            types = [domains.get(i, t) for i, t in enumerate(types)]
            collations = await _result_collations(conn, query_sql, row_desc)
            types = [f"{t} COLLATE {collations[i]}" if i in collations else t for i, t in enumerate(types)]
    out = []
    for index, column in enumerate(row_desc):
        out.append((names[index] if index < len(names) else column.name, types[index]))
    return out


_SHAPE_STATEMENT = "gridpg_result_shape"


async def _result_collations(conn: BackendConnection, query_sql: str, row_desc: list[codec.Column]) -> dict[int, str]:
    """The output columns of `query_sql` whose collation is not their type's default, by
    position: the collation's name as PostgreSQL quotes it (`pg_collation_for`, read over
    no row of the query). CREATE TABLE AS / SELECT INTO give the column that collation
    (`'a'::text COLLATE "C"`, a column declared COLLATE "C"), which neither a
    RowDescription nor pg_prepared_statements carries: the column took the default one,
    and its sorts and comparisons answered differently, silently."""
    oids = sorted({c.type_oid for c in row_desc})
    if not oids:
        return {}
    rows = await conn.query("SELECT t.oid FROM pg_catalog.pg_type t WHERE t.typcollation <> 0 AND t.oid IN ("
                            + ", ".join(str(int(o)) for o in oids) + ")")
    collatable = {int(r[0]) for r in rows if r[0] is not None}
    wanted = [i for i, c in enumerate(row_desc) if c.type_oid in collatable]
    if not wanted:
        return {}
    aliases = ", ".join(f"c{i}" for i in range(len(row_desc)))
    reads = ", ".join(f"pg_catalog.pg_collation_for(q.c{i})" for i in wanted)
    # (a savepoint: a query that cannot be a subquery, a data-modifying WITH, keeps the default)
    await conn.query("SAVEPOINT gridpg_collations")
    try:
        found = await conn.query(f"SELECT {reads} FROM (SELECT 1) AS d LEFT JOIN ({query_sql}) AS q({aliases}) ON false")
    except PgError:
        await conn.query("ROLLBACK TO SAVEPOINT gridpg_collations")
        found = []
    await conn.query("RELEASE SAVEPOINT gridpg_collations")
    if not found:
        return {}
    return {i: str(name) for i, name in zip(wanted, found[0], strict=True) if name not in (None, '"default"')}


async def _domain_result_types(conn: BackendConnection, query_sql: str) -> dict[int, str]:
    """The output columns of `query_sql` (one that Parse took) whose type is a domain, by
    position: their declared types, from `pg_prepared_statements.result_types` (printtup
    sends a domain's base type; CREATE TABLE AS / SELECT INTO give the column the domain,
    whose constraints later writes must pass). Nothing for a query with parameters."""
    if re.search(r"\$\d", query_sql):
        return {}
    await conn.query(f"PREPARE {_SHAPE_STATEMENT} AS {query_sql}")
    try:
        rows = await conn.query(
            "SELECT u.i, pg_catalog.format_type(u.t, NULL) FROM pg_catalog.pg_prepared_statements p, "
            "LATERAL pg_catalog.unnest(p.result_types) WITH ORDINALITY AS u(t, i) "
            "JOIN pg_catalog.pg_type y ON y.oid = u.t "
            f"WHERE p.name = {quote_literal(_SHAPE_STATEMENT)} AND y.typtype = 'd'")
    finally:
        await conn.query(f"DEALLOCATE {_SHAPE_STATEMENT}")
    return {int(i) - 1: str(t) for i, t in rows if i is not None and t is not None}


async def _resolved_name(conn: BackendConnection, qualified: str) -> tuple[str, str]:
    rows = await conn.query(
        "SELECT n.nspname, c.relname FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON "
        f"n.oid = c.relnamespace WHERE c.oid = pg_catalog.to_regclass({quote_literal(qualified)})"
    )
    return rows[0][0] or "", rows[0][1] or ""
