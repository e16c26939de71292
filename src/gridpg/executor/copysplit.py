"""Vectorised routing of COPY text records by an integer distribution column.

A block of complete COPY text lines is split into one byte block per datanode group with
no Python object per row: numpy finds the line and field boundaries, parses the integer
key and computes PostgreSQL's partition hash (hashint2/4/8extended with the partition
seed, combined as `hash_combine64` does: the same arithmetic as planner/hashing.py) for
the whole block at once.

It handles only what it can prove simple: no backslash anywhere in the block (escapes,
NULL as \\N, the \\. end marker), no carriage return, every line with the key field, keys
of 1-18 digits with an optional '-'. For anything else `split_block` returns None and the
caller routes that block record by record, with the same result, more slowly.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gridpg.planner.hashing import _A0 as A0
from gridpg.planner.hashing import _B0 as B0
from gridpg.planner.hashing import _C1 as C1
from gridpg.planner.hashing import _ROT_C1_11 as ROT_C1_11
from gridpg.planner.hashing import HASH_COMBINE64_CONSTANT, _split_type

INTEGER_RANGES = {"int2": (-(2**15), 2**15 - 1), "int4": (-(2**31), 2**31 - 1),
                  "int8": (-(10**18) + 1, 10**18 - 1)}
_M32 = np.uint64(0xFFFFFFFF)
MIN_LINES = 64  # below this, numpy's fixed costs exceed the per-record path's


def is_vectorisable(type_name: str) -> bool:
    """Whether keys of this type can be routed by `split_block`."""
    return _split_type(type_name)[0] in INTEGER_RANGES


def split_block(data: bytes, delimiter: bytes, position: int, type_name: str,
                shard_groups: list[str], line_groups: list[Any] | None = None) -> dict[str, bytes] | None:
    """`data` (complete lines, ending with a newline) as one block per group, or None.
    `line_groups` gets (each line's group as an index into the sorted group names, those
    names) when given (executor/copylines.py)."""
    kind = _split_type(type_name)[0]
    arr = np.frombuffer(data, dtype=np.uint8)
    if len(delimiter) != 1 or kind not in INTEGER_RANGES or not data.endswith(b"\n"):
        return None
    if (arr == 92).any() or (arr == 13).any():  # backslash, carriage return
        return None
    ends = np.flatnonzero(arr == 10)
    if len(ends) < MIN_LINES:
        return None
    starts = np.empty_like(ends)
    starts[0] = 0
    starts[1:] = ends[:-1] + 1
    field = _key_field(arr, ends, starts, delimiter[0], position)
    if field is None:
        return None
    values = _parse_integers(arr, *field)
    low, high = INTEGER_RANGES[kind]
    if values is None or values.min() < low or values.max() > high:
        return None
    shards = shard_indexes(values, kind, len(shard_groups))
    return _gather(arr, ends, starts, shards, shard_groups, line_groups)


def _key_field(arr: np.ndarray, ends: np.ndarray, starts: np.ndarray, delimiter: int,
               position: int) -> tuple[np.ndarray, np.ndarray] | None:
    """Start and end offsets of field `position` of every line, or None if a line lacks it."""
    delims = np.append(np.flatnonzero(arr == delimiter), len(arr) + 1)  # sentinel
    first = np.searchsorted(delims, starts)
    if position == 0:
        fstart = starts
    else:
        before = delims[np.minimum(first + position - 1, len(delims) - 1)]
        if (before >= ends).any():
            return None
        fstart = before + 1
    after = delims[np.minimum(first + position, len(delims) - 1)]
    fend = np.where(after < ends, after, ends)
    return fstart, fend


def _parse_integers(arr: np.ndarray, fstart: np.ndarray, fend: np.ndarray) -> np.ndarray | None:
    """int64 values of the decimal fields, or None if one is not a plain integer."""
    if (fend <= fstart).any():
        return None
    negative = arr[fstart] == 45  # '-'
    dstart = fstart + negative
    dlen = fend - dstart
    if dlen.min() < 1 or dlen.max() > 18:
        return None
    width = int(dlen.max())
    offsets = np.arange(width)
    valid = offsets[None, :] < dlen[:, None]
    index = np.minimum(dstart[:, None] + offsets[None, :], len(arr) - 1)
    digits = arr[index].astype(np.int64) - 48
    if ((digits < 0) | (digits > 9))[valid].any():
        return None
    exponents = np.where(valid, dlen[:, None] - 1 - offsets[None, :], 0)
    values = np.where(valid, digits * (np.int64(10) ** exponents), 0).sum(axis=1)
    return np.where(negative, -values, values)


def shard_indexes(values: np.ndarray, kind: str, shard_count: int) -> np.ndarray:
    """The hash partition remainder of each int2/int4/int8 value (PostgreSQL's)."""
    signed = values.astype(np.int64)
    if kind == "int8":
        hi = ((signed >> 32).astype(np.uint64)) & _M32
        lo = signed.astype(np.uint64) & _M32
        key = lo ^ np.where(signed >= 0, hi, hi ^ _M32)
    else:
        key = signed.astype(np.uint64) & _M32
    hashed = _hash_uint32_seeded(key)
    combined = hashed + np.uint64(HASH_COMBINE64_CONSTANT)  # wraps mod 2**64, as & _M64 does
    return (combined % np.uint64(shard_count)).astype(np.int64)


def _hash_uint32_seeded(k: np.ndarray) -> np.ndarray:
    """hashing._hash_uint32_seeded over a uint64 array of 32-bit keys."""
    m = _M32

    def rot(x: np.ndarray, n: int) -> np.ndarray:
        return ((x << np.uint64(n)) | (x >> np.uint64(32 - n))) & m

    with np.errstate(over="ignore"):
        a = (((np.uint64(A0) + k) ^ np.uint64(C1)) - np.uint64(ROT_C1_11)) & m
        b = ((np.uint64(B0) ^ a) - rot(a, 25)) & m
        c = ((np.uint64(C1) ^ b) - rot(b, 16)) & m
        a = ((a ^ c) - rot(c, 4)) & m
        b = ((b ^ a) - rot(a, 14)) & m
        c = ((c ^ b) - rot(b, 24)) & m
    return (b << np.uint64(32)) | c


def _gather(arr: np.ndarray, ends: np.ndarray, starts: np.ndarray, shards: np.ndarray,
            shard_groups: list[str], line_groups: list[Any] | None = None) -> dict[str, bytes]:
    names = sorted(set(shard_groups))
    group_of_shard = np.array([names.index(g) for g in shard_groups], dtype=np.int64)
    line_group = group_of_shard[shards]
    if line_groups is not None:
        line_groups.append((line_group, names))
    byte_group = np.repeat(line_group, ends - starts + 1)
    out: dict[str, bytes] = {}
    for index, name in enumerate(names):
        chosen = arr[byte_group == index]
        if len(chosen):
            out[name] = chosen.tobytes()
    return out
