"""Running recursive plans (planner/subplans.py): subplans first, then the statement.

Each subplan is a statement of its own, planned and run through the ordinary path, its
rows captured instead of sent to the client: a scalar subquery's value becomes a typed
literal in the statement's text; a CTE's rows go into an unlogged scratch table in
`gridpg_shards` on every datanode the statement's tables live on, which the rest of the
statement (re-planned with that table known as replicated on those nodes) joins locally.
Everything runs inside the statement's transaction on the session's own datanode
connections: the scratch tables are dropped at the end, and an error or a cancel rolls
them back with the transaction (or the client's block). A CTE's rows pass through the
coordinator once, as COPY text; the subqueries split off are those whose results are
small in the plans this serves (aggregates, thresholds).

The locking sub-selects of an UPDATE/DELETE (planner/subplans.py split_locking) run the
same way, first and inside the caller's transaction, so the rows they lock are the
cluster's own and stay locked until it ends.
"""

from __future__ import annotations

import dataclasses
import math
import struct
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

from gridpg.catalog.model import CatalogSnapshot, DistTable
from gridpg.errors import CARDINALITY_VIOLATION, FEATURE_NOT_SUPPORTED, INTERNAL_ERROR, PgError
from gridpg.executor.exchange import record_stage
from gridpg.pgwire import codec
from gridpg.planner.estimates import in_subquery_requests, small_in_subqueries
from gridpg.planner.plan import SCRATCH_SCHEMA, ScratchNames
from gridpg.planner.prepared import FIRST_NORMAL_OID
from gridpg.planner.subplans import (
    SubplanSplit,
    in_subqueries,
    split_code_calls,
    split_locking,
    split_write_scalars,
    split_subplans,
)
from gridpg.sql import parse as sqlparse
from gridpg.sql.quote import quote_ident, quote_literal

if TYPE_CHECKING:
    from gridpg.executor.dispatch import Dispatcher, ExecRequest
    from gridpg.txn.transaction import DistributedTransaction

COPY_CHUNK = 1 << 20
T = TypeVar("T")


@dataclass(frozen=True)
class Recursive:
    """A split and the datanode groups its scratch tables go to."""

    split: SubplanSplit
    groups: tuple[str, ...]

    def describe(self, then: str) -> list[str]:
        return [f"Distributed plan: subplans, then {then}", *self.split.describe()]


async def plan_recursive(dispatcher: Dispatcher, sql: str, locking: bool = False,
                         calling: frozenset[str] | None = None, writes: bool = False) -> Recursive | str:
    """The split of `sql` into subplans, or why there is none; `locking`: the split of an
    UPDATE/DELETE's locking sub-selects (split_locking); `calling`: of the uncorrelated
    scalar sub-selects calling these user routines (split_code_calls); `writes`: of a
    MERGE's or UPDATE's uncorrelated scalar sub-selects (split_write_scalars)."""
    from gridpg.executor.exchange import _resolved_refs, is_read_only

    refs = _resolved_refs(dispatcher, sql)
    if not refs:
        return "no distributed table"
    tables = {t.key: t for t in refs.values()}
    columns = {k: [c.name for c in await dispatcher.coord.table_columns(dispatcher.runner, t)]
               for k, t in tables.items()}
    names = ScratchNames(sql)
    if locking:
        split = split_locking(sql, refs, columns, lambda kind: names.new(kind, shared=True))
    elif calling is not None:
        split = split_code_calls(sql, refs, columns, lambda kind: names.new(kind, shared=True), calling)
    elif writes:
        split = split_write_scalars(sql, refs, columns, lambda kind: names.new(kind, shared=True))
    else:
        small = await _small_in_subqueries(dispatcher, in_subqueries(sql, refs, columns),
                                           sorted({g for t in tables.values() for g in t.groups}))
        split = split_subplans(sql, refs, columns, lambda kind: names.new(kind, shared=True), small)
    if isinstance(split, str):
        return split
    if is_read_only(dispatcher) and any(s.kind == "table" for s in split.subplans):
        return "a read-only transaction or coordinator cannot create scratch tables on the datanodes"
    order = [g.name for g in dispatcher.runner.snapshot().datanode_groups()]
    used = {g for t in tables.values() for g in t.groups}
    return Recursive(split, tuple(g for g in order if g in used))


async def _small_in_subqueries(dispatcher: Dispatcher, texts: list[tuple[str, str]], groups: list[str]) -> list[str]:
    """The IN subqueries the planner runs first, from the estimates it asks for."""
    from gridpg.executor import estimates

    answers = await estimates.gather(dispatcher, None, in_subquery_requests(texts, groups), tolerant=True)
    return small_in_subqueries(texts, answers)


async def run_locking(dispatcher: Dispatcher, request: ExecRequest) -> None:
    """An UPDATE/DELETE (or a SELECT whose WITH entries lock rows) whose locking sub-selects
    run first (LockingSubplansPlan), or the refusal (0A000) when one cannot: it would lock
    copies of the rows."""
    from gridpg.executor.multi import inline_params
    from gridpg.executor.run import ensure_postgres_accepts, run_statement
    from gridpg.planner.query import SELECT_LOCKS_HINT, SELECT_LOCKS_REFUSED

    recursive = await plan_recursive(dispatcher, request.sql, locking=True)
    if isinstance(recursive, str):
        await ensure_postgres_accepts(dispatcher, request)  # (PostgreSQL's own error first: 42703)
        if sqlparse.node_type(sqlparse.parse_tree(request.sql)) == "SelectStmt":
            raise PgError(FEATURE_NOT_SUPPORTED, SELECT_LOCKS_REFUSED, hint=SELECT_LOCKS_HINT)
        raise PgError(FEATURE_NOT_SUPPORTED, f"gridpg cannot run this UPDATE/DELETE: {recursive}",
                      hint="lock the rows with a SELECT ... FOR UPDATE of its own, then write them by key")

    async def then(sql: str) -> None:
        # the parameters' values in the text: a parameter only the sub-selects used would
        # be left without a type in what remains (42P18)
        text = await inline_params(dispatcher, request, sql)
        await run_statement(dispatcher, dataclasses.replace(request, sql=text, params=[], param_oids=[],
                                                            param_formats=[]))

    await with_subplans(dispatcher, request, recursive, then)


async def run_recursive(dispatcher: Dispatcher, request: ExecRequest, plan: Recursive,
                        checked: bool = False, lazy: bool = False) -> None:
    """Subplans in order, then the statement over their results; scratch tables dropped.
    `checked`: the rest's user code is checked first (the whole statement's check refused
    it: executor/routines.py `_sublinks_first`); else the whole's check covered it.
    `lazy`: as for with_subplans."""
    from gridpg.executor.multi import inline_params
    from gridpg.executor.run import run_statement

    async def then(sql: str) -> None:
        # the parameters' values in the text, their types from the client's statement: the
        # rest, when planned to finish on the coordinator, would be described on the
        # catalog server, which has no scratch tables (knex's `WHERE k IN (SELECT ...)
        # ORDER BY ... LIMIT $1` failed with 42P01 "gp_cte_..." does not exist)
        text = await inline_params(dispatcher, request, sql)
        await (run_checked if checked else run_statement)(
            dispatcher, dataclasses.replace(request, sql=text, params=[], param_oids=[], param_formats=[]))

    await with_subplans(dispatcher, request, plan, then, lazy=lazy)


# The SQLSTATE classes of errors that evaluating an expression raises (data exceptions,
# more than one row, a RAISE in code, external routines): PostgreSQL raises them from an
# uncorrelated sub-select only when something uses its value.
_EVALUATION_CLASSES = ("21", "22", "2F", "38", "39", "P0")


class SubplanValueFailed(Exception):
    """A scalar subplan's value failed to compute with an error of evaluation (`error`),
    before anything of the statement reached the client. PostgreSQL evaluates an
    uncorrelated sub-select (an InitPlan) lazily, when a row first needs its value: over no
    rows, in a CASE branch not taken, behind an AND already false, never. Run first, the
    sub-select raised its error where PostgreSQL answers: the caller runs the statement
    another way, one that leaves the sub-select where PostgreSQL evaluates it."""

    def __init__(self, error: PgError) -> None:
        super().__init__(error.message)
        self.error = error


async def with_subplans(dispatcher: Dispatcher, request: ExecRequest, plan: Recursive,
                        then: Callable[[str], Awaitable[T]], lazy: bool = False) -> T:
    """Run the subplans inside the statement's transaction, then `then(statement text with
    their results in place)` while their scratch tables exist; drop those afterwards.
    `lazy`: a scalar subplan's error of evaluation is raised as SubplanValueFailed, for a
    caller that can run the statement another way (inside the client's block, the
    subplans run under a savepoint that such an error is rolled back to: `_lazy_savepoint`)."""
    runner = dispatcher.runner
    saved = runner.private_snapshot
    names: dict[str, str] = {}
    made: list[str] = []
    async with runner.statement_transaction():
        try:
            savepoint = lazy and await _lazy_savepoint(dispatcher, plan)
            try:
                await _run_subplans(dispatcher, request, plan, names, made, lazy)
            except SubplanValueFailed:
                if savepoint:  # the block's nodes as before the subplans, the block going on
                    await runner.txn.rollback_to(_LAZY_SAVEPOINT)
                    await runner.txn.release(_LAZY_SAVEPOINT)
                raise
            except BaseException:
                if savepoint:  # the block has failed with the error: the nodes drop the savepoint
                    _forget_savepoint(runner.txn)  # with it when the client rolls back
                raise
            if savepoint:
                await runner.txn.release(_LAZY_SAVEPOINT)
            result = await then(bind_markers(plan.split.sql, names))
            await _drop(dispatcher, made, plan.groups)
            return result
        finally:
            runner.private_snapshot = saved


_LAZY_SAVEPOINT = "gridpg_lazy_subplans"


async def _lazy_savepoint(dispatcher: Dispatcher, plan: Recursive) -> bool:
    """Take a savepoint before the subplans when a scalar one among them may fail where
    PostgreSQL would not evaluate it (SubplanValueFailed) inside the client's block:
    rolled back to, the nodes' transaction goes on and the statement runs another way, as
    outside a block; the block's earlier writes stay. Only then: other statements, and
    every statement outside a block (rolled back whole), pay no round trip for it. Not in
    a loopback session (the catalog server's connection is busy running the caller's code:
    the error stands there)."""
    runner = dispatcher.runner
    if not runner.txn.in_block or getattr(runner, "is_loopback", False) \
            or not any(sub.kind == "value" for sub in plan.split.subplans):
        return False
    await runner.sync_pending()  # (as before a client's SAVEPOINT: a node owing a Sync settles it)
    await runner.txn.savepoint(_LAZY_SAVEPOINT)
    return True


def _forget_savepoint(txn: DistributedTransaction) -> None:
    """Our savepoint out of the block's list, with nothing sent: the failed block's nodes
    accept only ROLLBACK (TO an earlier savepoint), and either drops it there too."""
    for index in range(len(txn.savepoints) - 1, -1, -1):
        if txn.savepoints[index].name == _LAZY_SAVEPOINT:
            del txn.savepoints[index]
            return


async def _run_subplans(dispatcher: Dispatcher, request: ExecRequest, plan: Recursive,
                        names: dict[str, str], made: list[str], lazy: bool) -> None:
    """Each subplan in order: a value or list into `names` (its literal), rows into a
    scratch table (its name into `names` and `made`, known to the runner's snapshot)."""
    from gridpg.executor.multi import inline_params
    from gridpg.executor.run import scratch_name

    runner = dispatcher.runner
    for sub in plan.split.subplans:
        sql = await inline_params(dispatcher, request, bind_markers(sub.sql, names))
        started = time.perf_counter()
        if sub.kind in ("value", "list"):
            try:
                names[sub.marker] = await (_value if sub.kind == "value" else _list)(
                    dispatcher, sql, plan.groups)
            except PgError as exc:
                if lazy and sub.kind == "value" and exc.sqlstate[:2] in _EVALUATION_CLASSES:
                    raise SubplanValueFailed(exc) from exc
                raise
            record_stage(f"subplan ({sub.origin}) -> {names[sub.marker]}", "coordinator", "statement text",
                         1, 0, started)
            continue
        name = scratch_name(dispatcher, "cte")
        count = await _fill_scratch(dispatcher, sql, name, plan.groups, sub.columns, made)
        record_stage(f"subplan ({sub.origin}) rows into {SCRATCH_SCHEMA}.{name}", "coordinator",
                     ", ".join(plan.groups), count, 0, started)
        names[sub.marker] = name
        runner.private_snapshot = with_scratch(runner.snapshot(), [name], plan.groups)


def bind_markers(text: str, names: Mapping[str, str]) -> str:
    """`text` with each marker replaced by its scratch name or literal (longest first)."""
    for marker in sorted(names, key=len, reverse=True):
        text = text.replace(marker, names[marker])
    return text


def with_scratch(snapshot: CatalogSnapshot, names: Sequence[str], groups: Sequence[str]) -> CatalogSnapshot:
    """The snapshot with these scratch tables known as replicated on `groups`."""
    extra = tuple(DistTable(SCRATCH_SCHEMA, n, "replication", None, None, None, None, tuple(groups)) for n in names)
    return dataclasses.replace(snapshot, tables=snapshot.tables + extra)


# -- running a subplan with its rows captured ------------------------------------------------


async def run_checked(dispatcher: Dispatcher, request: ExecRequest) -> None:
    """Run a piece of a split statement as the client's statements run: the user code it
    calls checked first (executor/routines.py), which may run it itself (through the
    loopback, when that code reads distributed tables), else planned and run."""
    from gridpg.executor.run import run_statement, search_path

    if not await dispatcher.coord.routine_guard.before(dispatcher, request, list(search_path(dispatcher))):
        await run_statement(dispatcher, request)


async def capture(dispatcher: Dispatcher, sql: str) -> tuple[list[codec.Column], list[list[bytes | None]]]:
    """Run `sql` through the planner and executor, its user code checked as a client's
    statement's is; its columns and rows (text), not sent."""
    from gridpg.executor.dispatch import ExecRequest

    out = dispatcher.session.out
    start = len(out)
    try:
        await run_checked(dispatcher, ExecRequest(sql=sql, simple=True))
        data = b"".join(out[start:])
    finally:
        del out[start:]
    columns: list[codec.Column] = []
    rows: list[list[bytes | None]] = []
    for kind, payload, message in codec.backend_messages(data):
        if kind == 0x54:
            columns = codec.parse_row_description(payload)
        elif kind == 0x44:
            rows.append(codec.parse_data_row(payload))
        elif kind == 0x4E:
            dispatcher.session.send(message)  # a notice still reaches the client
    return columns, rows


_FLOAT_SEND = {700: ("float4send", ">f"), 701: ("float8send", ">d")}
_FLOAT_ARRAYS = (1021, 1022)


async def capture_values(dispatcher: Dispatcher, sql: str) -> tuple[list[codec.Column], list[list[bytes | None]]]:
    """`capture`, with float values exact whatever the session's extra_float_digits: below
    1 their text is rounded (15 digits), and a value written back as a literal or into a
    scratch table would no longer equal the row it came from. Then the statement runs
    again with each float column read as its binary form (float8send), and the values are
    written with the digits that give them back exactly."""
    from gridpg.executor.exchange import low_float_digits

    columns, rows = await capture(dispatcher, sql)
    if low_float_digits(dispatcher.runner) is None or not any(
            c.type_oid in _FLOAT_SEND or c.type_oid in _FLOAT_ARRAYS for c in columns):
        return columns, rows
    if any(c.type_oid in _FLOAT_ARRAYS for c in columns):
        raise PgError(FEATURE_NOT_SUPPORTED, "gridpg cannot carry float arrays exactly between the steps of this "
                      "plan while extra_float_digits is below 1", hint="SET extra_float_digits = 1")
    names = [f"c{i}" for i in range(1, len(columns) + 1)]
    items = [f"pg_catalog.{_FLOAT_SEND[c.type_oid][0]}(s.{n})" if c.type_oid in _FLOAT_SEND else f"s.{n}"
             for c, n in zip(columns, names, strict=True)]
    _, binary = await capture(dispatcher, f"SELECT {', '.join(items)} FROM ({sql}) AS s({', '.join(names)})")
    floats = [i for i, c in enumerate(columns) if c.type_oid in _FLOAT_SEND]
    for row in binary:
        for i in floats:
            row[i] = exact_float_text(row[i], _FLOAT_SEND[columns[i].type_oid][1])
    return columns, binary


def exact_float_text(value: bytes | None, layout: str) -> bytes | None:
    """A float's binary send form (bytea text, hex or escape output) as text that
    PostgreSQL reads back to the same value."""
    if value is None:
        return None
    raw = bytes.fromhex(value[2:].decode()) if value.startswith(b"\\x") else _unescape_bytea(value)
    (number,) = struct.unpack(layout, raw)
    if math.isnan(number):
        return b"NaN"
    if math.isinf(number):
        return b"Infinity" if number > 0 else b"-Infinity"
    return (repr(number) if layout == ">d" else f"{number:.9g}").encode()


def _unescape_bytea(value: bytes) -> bytes:
    """bytea's escape output (bytea_output = 'escape') as its bytes."""
    out = bytearray()
    i = 0
    while i < len(value):
        if value[i:i + 1] == b"\\":
            if value[i + 1:i + 2] == b"\\":
                out.append(0x5C)
                i += 2
            else:
                out.append(int(value[i + 1:i + 4], 8))
                i += 4
        else:
            out.append(value[i])
            i += 1
    return bytes(out)


RECORD_OID = 2249  # pg_type `record`: an anonymous row


async def _value(dispatcher: Dispatcher, sql: str, groups: Sequence[str]) -> str:
    """A scalar subquery's value as a typed literal: NULL without rows, error 21000 with more."""
    columns, rows = await capture_values(dispatcher, sql)
    if len(rows) > 1:
        raise PgError(CARDINALITY_VIOLATION, "more than one row returned by a subquery used as an expression")
    if len(columns) != 1:
        raise PgError(INTERNAL_ERROR, "a scalar subquery returned other than one column")
    if columns[0].type_oid == RECORD_OID and rows and rows[0][0] is not None:
        return await _row_value(dispatcher, sql, groups)
    (type_name,) = await _type_names(dispatcher, sql, columns, groups)
    if not type_name:
        raise PgError(INTERNAL_ERROR, f"unknown type {columns[0].type_oid} of a scalar subquery")
    return typed_literal(rows[0][0] if rows else None, type_name)


async def _row_value(dispatcher: Dispatcher, sql: str, groups: Sequence[str]) -> str:
    """A scalar subquery's anonymous record (`(SELECT ROW(max(a), min(a)) FROM t)`) as a
    ROW constructor of typed literals: PostgreSQL reads no literal of type `record` (0A000).
    Its fields' types come from the subquery read again with the record expanded; one
    whose shape PostgreSQL knows only when it runs (a function returning `record`) cannot
    be expanded, and keeps the error."""
    expanded = f"SELECT (gp_sub.gp_row).* FROM ({sql}) AS gp_sub(gp_row)"
    try:
        columns, rows = await capture_values(dispatcher, expanded)
    except PgError as exc:
        raise PgError(FEATURE_NOT_SUPPORTED, "a scalar subquery returning a record of unknown shape over "
                      "distributed tables is not supported by gridpg",
                      hint="Return the fields as a composite type, or as columns.") from exc
    if len(rows) != 1:
        raise PgError(INTERNAL_ERROR, "a scalar subquery's record was read again with another row count")
    type_names = await _type_names(dispatcher, expanded, columns, groups)
    return "ROW(" + ", ".join(typed_literal(value, name) for value, name in zip(rows[0], type_names)) + ")"


async def _type_names(dispatcher: Dispatcher, sql: str, columns: Sequence[codec.Column],
                      groups: Sequence[str]) -> list[str]:
    """The names of the captured columns' types, to write in casts. A user's type (enum,
    composite, domain over an array...) has an OID of its own on every server and the
    rows' one may be a datanode's: then a node of the statement names them, describing
    `sql` (which has just run), as PostgreSQL prints them there."""
    if not any(c.type_oid >= FIRST_NORMAL_OID for c in columns) or not groups:
        return await dispatcher.coord.type_names([c.type_oid for c in columns], [c.type_mod for c in columns], dispatcher=dispatcher)
    from gridpg.executor.dml import _query_columns

    conn = await dispatcher.runner.txn.connection(groups[0], wants_block=True)
    await conn.settle()
    described = await _query_columns(conn, sql, {})
    if len(described) != len(columns):
        raise PgError(INTERNAL_ERROR, "a subquery was described with other columns than it returned")
    return [t for _, t in described]


def typed_literal(value: bytes | None, type_name: str) -> str:
    """A value in PostgreSQL's text form as a literal of its type."""
    return f"CAST({'NULL' if value is None else quote_literal(value.decode())} AS {type_name})"


async def _list(dispatcher: Dispatcher, sql: str, groups: Sequence[str]) -> str:
    """An IN subquery's rows as the items of an IN list (typed literals; ROW(...) for
    several columns); without rows, a subquery that returns none."""
    columns, rows = await capture_values(dispatcher, sql)
    types = await _type_names(dispatcher, sql, columns, groups)
    if not all(types):
        raise PgError(INTERNAL_ERROR, "unknown type of an IN subquery's column")
    if not rows:
        return f"SELECT {', '.join(typed_literal(None, t) for t in types)} WHERE false"
    items = [", ".join(typed_literal(v, t) for v, t in zip(row, types)) for row in rows]
    return ", ".join(items if len(types) == 1 else [f"ROW({item})" for item in items])


async def _fill_scratch(dispatcher: Dispatcher, sql: str, name: str, groups: Sequence[str],
                        names: Sequence[str], made: list[str]) -> int:
    """A CTE's rows into `gridpg_shards.<name>` on every node of `groups` (appended to
    `made` as soon as it exists anywhere, so the caller drops it)."""
    from gridpg.executor.exchange import _ensure_blocks

    columns, rows = await capture_values(dispatcher, sql)
    if len(columns) != len(names):
        raise PgError(INTERNAL_ERROR, f"a CTE returned {len(columns)} columns where {len(names)} were named")
    table = f"{SCRATCH_SCHEMA}.{quote_ident(name)}"
    if any(c.type_oid >= FIRST_NORMAL_OID for c in columns):
        # A user's type (enum, composite, domain over an array...) has an OID of its own on
        # every server, and the rows' one may be a datanode's: the node names the columns'
        # types itself from the statement, which it only plans.
        ddl = (f"CREATE UNLOGGED TABLE {table} ({', '.join(quote_ident(n) for n in names)}) "
               f"AS {sql} WITH NO DATA")
    else:
        types = await dispatcher.coord.type_names([c.type_oid for c in columns], [c.type_mod for c in columns], dispatcher=dispatcher)
        ddl = f"CREATE UNLOGGED TABLE {table} ({', '.join(f'{quote_ident(n)} {t}' for n, t in zip(names, types))})"
    chunks = _copy_text(rows)
    await _ensure_blocks(dispatcher, groups)
    txn = dispatcher.runner.txn
    made.append(name)
    for group in groups:
        conn = await txn.connection(group, wants_block=True)
        await conn.settle()
        await conn.simple_query(ddl)
        await conn.copy_in(f"COPY {table} FROM STDIN", chunks)
        await conn.simple_query(f"ANALYZE {table}")
    return len(rows)


def _copy_text(rows: list[list[bytes | None]]) -> list[bytes]:
    """Rows in COPY text format, in chunks of about COPY_CHUNK bytes."""
    chunks: list[bytes] = []
    lines: list[bytes] = []
    size = 0
    for row in rows:
        line = b"\t".join(b"\\N" if v is None else _escape(v) for v in row) + b"\n"
        lines.append(line)
        size += len(line)
        if size >= COPY_CHUNK:
            chunks.append(b"".join(lines))
            lines, size = [], 0
    if lines:
        chunks.append(b"".join(lines))
    return chunks


def _escape(value: bytes) -> bytes:
    if not any(c in value for c in b"\\\t\n\r"):
        return value
    return value.replace(b"\\", b"\\\\").replace(b"\t", b"\\t").replace(b"\n", b"\\n").replace(b"\r", b"\\r")


async def _drop(dispatcher: Dispatcher, made: Sequence[str], groups: Sequence[str]) -> None:
    if not made:
        return
    txn = dispatcher.runner.txn
    names = ", ".join(f"{SCRATCH_SCHEMA}.{quote_ident(n)}" for n in made)
    for group in groups:
        conn = await txn.connection(group, wants_block=True)
        await conn.settle()
        await conn.simple_query(f"DROP TABLE {names}")
