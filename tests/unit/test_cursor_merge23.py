"""The merge of a streaming cursor's ordered rows (executor/cursor_merge.py): PostgreSQL's
order read from text and binary values, and the ORDER BYs it refuses to read."""

from __future__ import annotations

import asyncio
import decimal
import struct

from gridpg.executor import cursor_merge
from gridpg.executor.cursor_merge import (
    SortedMerge,
    SortKey,
    _comparable,
    _numeric_binary,
    _sort_key,
)
from gridpg.sql import parse as sqlparse


def _row(*values: bytes | None) -> bytes:
    body = struct.pack("!h", len(values)) + b"".join(
        struct.pack("!i", -1) if v is None else struct.pack("!i", len(v)) + v for v in values)
    return b"D" + struct.pack("!i", len(body) + 4) + body


def _merged(keys: tuple[SortKey, ...], nodes: list[list[bytes]], batch: int = 2) -> list[bytes]:
    merge = SortedMerge(keys)
    out: list[bytes] = []

    async def fetch(index: int, size: int) -> tuple[list[bytes], bool]:
        assert size in (cursor_merge.FIRST_BATCH, cursor_merge.BATCH)
        rows, nodes[index] = nodes[index][:batch], nodes[index][batch:]
        return rows, not nodes[index]

    asyncio.run(merge.advance(len(nodes), fetch, [False] * 3, None, False, out.append))
    return out


def test_numbers_order_as_postgres() -> None:
    texts = [b"NaN", b"-Infinity", b"2.5", b"Infinity", b"-0", b"0", b"10"]
    ordered = sorted(texts, key=lambda t: _comparable(t, 1700, False))
    assert ordered[0] == b"-Infinity" and ordered[-1] == b"NaN" and ordered[-2] == b"Infinity"
    floats = sorted([b"NaN", b"1", b"-Infinity", b"-0"], key=lambda t: _comparable(t, 701, False))
    assert floats == [b"-Infinity", b"-0", b"1", b"NaN"]


def test_binary_numeric_is_exact() -> None:
    # -12345678901234567890.000000000000000000001: ndigits 11, weight 4, dscale 21
    digits = [1234, 5678, 9012, 3456, 7890, 0, 0, 0, 0, 0, 1000]
    raw = struct.pack("!hhHh", len(digits), 4, 0x4000, 21) + struct.pack(f"!{len(digits)}h", *digits)
    assert _numeric_binary(raw) == decimal.Decimal("-12345678901234567890.000000000000000000001")
    assert _numeric_binary(struct.pack("!hhHh", 0, 0, 0xC000, 0)).is_nan()


def test_merge_with_nulls_and_descending_text() -> None:
    keys = (SortKey(0, 25, True, True), SortKey(1, 23, False, False))
    first = [_row(None, b"1"), _row(b"\xc3\xa9", b"2"), _row(b"b", b"3"), _row(b"a", b"9")]
    second = [_row(None, b"0"), _row(b"z", b"5"), _row(b"b", b"1")]
    merged = _merged(keys, [first, second])
    assert merged == [second[0], first[0], first[1], second[1], second[2], first[2], first[3]]


def _key_of(sql: str) -> SortKey | None:
    select = sqlparse.parse_tree(sql)["SelectStmt"]
    return _sort_key(select["sortClause"][0]["SortBy"], ["id", "v", "id2"], [23, 25, 1082])


def test_sort_keys_it_reads_and_those_it_leaves() -> None:
    assert _key_of("SELECT 1 ORDER BY v DESC") == SortKey(1, 25, True, True)
    assert _key_of("SELECT 1 ORDER BY 1 NULLS FIRST") == SortKey(0, 23, False, True)
    for refused in ("SELECT 1 ORDER BY t.v", "SELECT 1 ORDER BY id USING <", "SELECT 1 ORDER BY v COLLATE \"C\"",
                    "SELECT 1 ORDER BY id2", "SELECT 1 ORDER BY id + 1", "SELECT 1 ORDER BY 4"):
        assert _key_of(refused) is None, refused
    assert cursor_merge.BATCH >= 100
