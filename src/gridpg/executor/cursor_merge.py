"""The k-way merge of a streaming cursor's ordered rows from several datanodes.

Each node's cursor returns its rows in the query's ORDER BY; the coordinator keeps one
batch of rows per node and hands out the least row of the batches' heads, so the client
gets PostgreSQL's order across nodes with a few batches in memory. The order is read from
the rows' own values, so only keys the coordinator can compare exactly as PostgreSQL does
are taken (else the cursor keeps the materialized path, which sorts on the catalog
server): each sort key an output column (by name or position, ASC/DESC, NULLS
FIRST/LAST; no USING, no COLLATE), of a type among integers, numeric, float4/8, boolean,
or text/varchar/name under a collation that orders by code point (C, POSIX, C.UTF-8, the
builtin provider's), read from the catalog server for the query's own expression.
Values in text or binary form (the FETCH's result formats) are both read. Rows with equal
keys come in no defined order, as in PostgreSQL.
"""

from __future__ import annotations

import collections
import decimal
import heapq
import math
import struct
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from gridpg.errors import FEATURE_NOT_SUPPORTED, PgError
from gridpg.pgwire import codec

if TYPE_CHECKING:
    from gridpg.executor.dispatch import Dispatcher, ExecRequest

BATCH = 1000  # rows fetched from a node at a time
FIRST_BATCH = 100  # the first time: the first rows sooner, fewer rows read ahead for nothing
_INTEGERS = {20: 8, 21: 2, 23: 4}
_NUMERIC, _FLOAT4, _FLOAT8, _BOOL = 1700, 700, 701, 16
_TEXTS = {25, 1043}
_NAME = 19
_CODE_POINT_COLLATIONS = {'"C"', '"POSIX"', '"ucs_basic"', '"pg_c_utf8"', '"C.utf8"', '"C.UTF-8"'}
_CODE_POINT_LOCALES = {"C", "POSIX", "C.UTF-8", "C.utf8"}


@dataclass(frozen=True)
class SortKey:
    column: int
    type_oid: int
    descending: bool
    nulls_first: bool


@dataclass
class SortedMerge:
    keys: tuple[SortKey, ...]
    buffers: list[collections.deque[bytes]] = field(default_factory=list)
    exhausted: list[bool] = field(default_factory=list)
    heap: list[tuple[tuple[Any, ...], int, bytes]] = field(default_factory=list)  # each node's head
    owed: list[int] = field(default_factory=list)  # nodes whose head is to be put in the heap
    fetched: set[int] = field(default_factory=set)  # nodes read once already
    formats: tuple[int, ...] | None = None

    async def advance(self, nodes: int, fetch: Callable[[int, int], Awaitable[tuple[list[bytes], bool]]],
                      binary: list[bool], wanted: int | None, moving: bool, emit: Callable[[bytes], None]) -> int:
        """Up to `wanted` rows (None: all) in the merged order, to `emit` unless moving.
        `fetch(node, rows)`: that node's next batch of DataRows and whether it has no more. A
        node's next row is read only when the merge needs it (no FETCH of a node for
        nothing at the end of the client's)."""
        if not self.buffers:
            self.buffers = [collections.deque() for _ in range(nodes)]
            self.exhausted = [False] * nodes
            self.owed = list(range(nodes))
        done = 0
        while wanted is None or done < wanted:
            for index in self.owed:
                await self._push_head(index, fetch, binary)
            self.owed.clear()
            if not self.heap:
                break
            _, index, raw = heapq.heappop(self.heap)
            self.owed.append(index)
            if not moving:
                emit(raw)
            done += 1
        return done

    async def _push_head(self, index: int, fetch: Callable[[int, int], Awaitable[tuple[list[bytes], bool]]],
                         binary: list[bool]) -> None:
        buffer = self.buffers[index]
        if not buffer and not self.exhausted[index]:
            size = BATCH if index in self.fetched else FIRST_BATCH
            self.fetched.add(index)
            rows, self.exhausted[index] = await fetch(index, size)
            buffer.extend(rows)
        if buffer:
            raw = buffer.popleft()
            heapq.heappush(self.heap, (self._key(raw, binary), index, raw))

    def ensure_formats(self, formats: list[int]) -> None:
        """A cursor's FETCHes may each ask other result formats: the rows buffered are in
        the formats of the FETCH that read them."""
        wanted = tuple(formats)
        if self.formats is not None and wanted != self.formats and (any(self.buffers) or self.heap):
            raise PgError(FEATURE_NOT_SUPPORTED, "gridpg cannot change the result format of an ordered "
                          "cursor over several nodes between its FETCHes")
        self.formats = wanted

    def _key(self, raw: bytes, binary: list[bool]) -> tuple[Any, ...]:
        values = _leading_fields(raw, max(k.column for k in self.keys))
        out: list[Any] = []
        for key in self.keys:
            value = values[key.column]
            if value is None:
                out.append((0,) if key.nulls_first else (2,))
                continue
            comparable = _comparable(value, key.type_oid, binary[key.column])
            out.append((1, _Descending(comparable) if key.descending else comparable))
        return tuple(out)


def _leading_fields(raw: bytes, last: int) -> list[bytes | None]:
    """A DataRow's fields up to column `last` (the sort keys'): the rest are not read."""
    values: list[bytes | None] = []
    at = 7  # (type byte, length, field count)
    for _ in range(last + 1):
        size = int.from_bytes(raw[at:at + 4], "big", signed=True)
        at += 4
        if size < 0:
            values.append(None)
        else:
            values.append(raw[at:at + size])
            at += size
    return values


class _Descending:
    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value

    def __lt__(self, other: _Descending) -> bool:
        return bool(other.value < self.value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Descending) and bool(self.value == other.value)

    def __hash__(self) -> int:
        return hash(self.value)


def binary_columns(formats: list[int], count: int) -> list[bool]:
    """Which of `count` result columns come in binary under a Bind's result formats."""
    if not formats:
        return [False] * count
    if len(formats) == 1:
        return [formats[0] == 1] * count
    return [f == 1 for f in formats]


def _comparable(value: bytes, type_oid: int, binary: bool) -> Any:
    """A Python value that orders as PostgreSQL orders the type (NaN above every number)."""
    if type_oid in _INTEGERS:
        return int.from_bytes(value, "big", signed=True) if binary else int(value)
    if type_oid in (_FLOAT4, _FLOAT8):
        number = (struct.unpack("!f" if type_oid == _FLOAT4 else "!d", value)[0] if binary
                  else float(value))
        return (1, 0.0) if math.isnan(number) else (0, number)
    if type_oid == _NUMERIC:
        number = _numeric_binary(value) if binary else decimal.Decimal(value.decode())
        return (1, 0) if number.is_nan() else (0, number)
    if type_oid == _BOOL:
        return value in (b"t", b"\x01")
    return value  # text, varchar, name: UTF-8 bytes order by code point


def _numeric_binary(value: bytes) -> decimal.Decimal:
    ndigits, weight, sign, _ = struct.unpack("!hhHh", value[:8])
    if sign == 0xC000:
        return decimal.Decimal("NaN")
    if sign in (0xD000, 0xF000):
        return decimal.Decimal("Infinity" if sign == 0xD000 else "-Infinity")
    digits = struct.unpack(f"!{ndigits}h", value[8:8 + 2 * ndigits])
    total = 0
    for digit in digits:
        total = total * 10000 + digit
    exponent = 4 * (weight - ndigits + 1)
    number = decimal.Decimal(f"{total}E{exponent}")  # (exact: no context rounding)
    return number.copy_negate() if sign == 0x4000 else number  # (unary minus would round)


# -- planning the merge ------------------------------------------------------------------


async def sorted_merge(dispatcher: Dispatcher, request: ExecRequest, query: str, tree: dict[str, Any],
                       row_desc: bytes, nodes: int) -> SortedMerge | None:
    """The merge of the query's ORDER BY, or None when the coordinator cannot order its rows."""
    select = tree.get("SelectStmt") if isinstance(tree, dict) else None
    if (not select or nodes < 2 or not select.get("sortClause") or select.get("limitCount")
            or select.get("limitOffset") or select.get("distinctClause") is not None
            or select.get("lockingClause") or select.get("op", "SETOP_NONE") != "SETOP_NONE"):
        return None
    columns = codec.parse_row_description(row_desc[5:])
    names = [c.name for c in columns]
    keys = []
    for item in select["sortClause"]:
        key = _sort_key(item.get("SortBy", {}), names, [c.type_oid for c in columns])
        if key is None:
            return None
        keys.append(key)
    texts = sorted({k.column for k in keys if k.type_oid in _TEXTS})
    if texts and not await _orders_by_code_point(dispatcher, request, query, len(columns), texts):
        return None
    return SortedMerge(tuple(keys))


def _sort_key(sort_by: dict[str, Any], names: list[str], types: list[int]) -> SortKey | None:
    direction = sort_by.get("sortby_dir", "SORTBY_DEFAULT")
    if direction not in ("SORTBY_DEFAULT", "SORTBY_ASC", "SORTBY_DESC"):
        return None  # USING
    node = sort_by.get("node", {})
    column = None
    if "ColumnRef" in node:
        fields = node["ColumnRef"].get("fields", [])
        if len(fields) == 1 and "String" in fields[0] and names.count(fields[0]["String"]["sval"]) == 1:
            column = names.index(fields[0]["String"]["sval"])
    elif "A_Const" in node and "ival" in node["A_Const"]:
        position = int(node["A_Const"]["ival"].get("ival", 0))
        column = position - 1 if 1 <= position <= len(names) else None
    if column is None:
        return None
    type_oid = types[column]
    if type_oid not in (*_INTEGERS, _NUMERIC, _FLOAT4, _FLOAT8, _BOOL, _NAME, *_TEXTS):
        return None
    descending = direction == "SORTBY_DESC"
    nulls = sort_by.get("sortby_nulls", "SORTBY_NULLS_DEFAULT")
    nulls_first = descending if nulls == "SORTBY_NULLS_DEFAULT" else nulls == "SORTBY_NULLS_FIRST"
    return SortKey(column, type_oid, descending, nulls_first)


async def _orders_by_code_point(dispatcher: Dispatcher, request: ExecRequest, query: str, width: int,
                                texts: list[int]) -> bool:
    """Whether the query's text sort keys have collations that order by code point, as
    the catalog server derives them for its columns (over its empty tables: no row read)."""
    from gridpg.executor.multi import inline_params

    sql = await inline_params(dispatcher, request, query) if request.params else query
    aliases = ", ".join(f"c{i}" for i in range(width))
    probes = ", ".join(f"pg_catalog.pg_collation_for(q.c{i})" for i in texts)
    conn = await dispatcher.runner.txn.connection(dispatcher.coord.catalog_node, wants_block=False)
    await conn.settle()
    in_block = conn.txn_status == b"T"
    if in_block:  # (a failure here must not fail the client's block)
        await conn.simple_query("SAVEPOINT gp_cursor_merge")
    try:
        rows = await conn.query(
            f"SELECT {probes}, d.datcollate, d.datlocprovider FROM (SELECT 1) AS one "
            f"LEFT JOIN ({sql}) AS q({aliases}) ON true "
            f"CROSS JOIN pg_catalog.pg_database d WHERE d.datname = pg_catalog.current_database()")
    except PgError:
        if in_block:
            await conn.settle()
            await conn.simple_query("ROLLBACK TO SAVEPOINT gp_cursor_merge; RELEASE SAVEPOINT gp_cursor_merge")
        return False
    if in_block:
        await conn.simple_query("RELEASE SAVEPOINT gp_cursor_merge")
    if len(rows) != 1:
        return False
    *collations, locale, provider = rows[0]
    default = provider == "b" or (provider == "c" and locale in _CODE_POINT_LOCALES)
    return all(c in _CODE_POINT_COLLATIONS or (c == '"default"' and default) for c in collations)

