"""Vectorised COPY routing gives planner/hashing.py's shard for every value and line."""

from __future__ import annotations

import random

import numpy as np
import pytest

from gridpg.executor.copysplit import shard_indexes, split_block
from gridpg.planner.hashing import shard_for_value

RANGES = {"int2": (-(2**15), 2**15 - 1), "int4": (-(2**31), 2**31 - 1),
          "int8": (-(10**18) + 1, 10**18 - 1)}


@pytest.mark.parametrize("kind", ["int2", "int4", "int8"])
@pytest.mark.parametrize("shards", [1, 7, 32])
def test_shards_match_the_scalar_hash(kind: str, shards: int) -> None:
    low, high = RANGES[kind]
    rng = random.Random(kind + str(shards))
    values = [low, high, 0, -1, 1] + [rng.randint(low, high) for _ in range(3000)]
    got = shard_indexes(np.array(values, dtype=np.int64), kind, shards)
    assert got.tolist() == [shard_for_value(kind, v, shards) for v in values]


def _lines(keys: list[int], position: int) -> bytes:
    rows = []
    for k in keys:
        fields = [f"x{k}", str(k), "1.5"]
        fields.insert(0, fields.pop(1)) if position == 0 else None
        rows.append("\t".join(fields) + "\n")
    return "".join(rows).encode()


@pytest.mark.parametrize("position", [0, 1])
def test_blocks_hold_each_line_on_its_shards_group(position: int) -> None:
    groups = ["dn1", "dn2", "dn1", "dn3"]
    keys = list(range(-500, 500)) + [2**31 - 1]
    data = _lines(keys, position)
    out = split_block(data, b"\t", position, "integer", groups)
    assert out is not None
    expected: dict[str, list[bytes]] = {}
    for key, line in zip(keys, data.splitlines(keepends=True)):
        expected.setdefault(groups[shard_for_value("int4", key, 4)], []).append(line)
    assert out == {g: b"".join(lines) for g, lines in expected.items()}


@pytest.mark.parametrize("bad", [b"\\N\tx\n", b"+5\tx\n", b"5\\t\tx\n", b"\tx\n", b"12a\tx\n",
                                 b"99999999999\tx\n", b"5\tx\r\n", b"1234567890123456789\tx\n"])
def test_anything_unusual_is_left_to_the_per_record_path(bad: bytes) -> None:
    data = _lines(list(range(100)), 0) + bad
    kind = "int8" if b"1234567890123456789" in bad else "int4"
    assert split_block(data, b"\t", 0, kind, ["dn1", "dn2"]) is None


def test_a_line_without_the_key_field_is_left_to_the_per_record_path() -> None:
    data = _lines(list(range(100)), 1) + b"lonely\n"
    assert split_block(data, b"\t", 1, "int4", ["dn1", "dn2"]) is None
