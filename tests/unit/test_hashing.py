"""Unit tests of gridpg.planner.hashing: vectors taken from PostgreSQL 18.

Each vector is what PostgreSQL returned for the type's extended hash function
with HASH_PARTITION_SEED (e.g. ``hashint4extended(0, x'7A5B22367996DCFD'::int8)``),
as a signed int8. The property tests against a live server are in
tests/integration/test_hashing_vs_postgres.py.
"""

from __future__ import annotations

import datetime as dt
import random
import uuid
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gridpg.planner import hashing
from gridpg.planner.hashing import (
    HASH_PARTITION_SEED,
    canonical_type_name,
    hash_value,
    is_hashable_type,
    partition_hash,
    shard_for_int_batch,
    shard_for_nonneg_int,
    shard_for_text,
    shard_for_value,
)

SEEDED_VECTORS = [
    ("int4", 0, -4403592609991167795),
    ("int4", -1, -5017072347659237694),
    ("int4", 2147483647, -6050265599104649060),
    ("int8", -9223372036854775808, -6050265599104649060),
    ("int8", 4294967296, 5968994663651403477),
    ("int2", -32768, 5885242512097991578),
    ("oid", 4294967295, -5017072347659237694),
    ("text", "", -5700645584453517373),
    ("text", "abcdefghijkl", -7876791541613377658),
    ("text", "日本語👍", 3887222964103303849),
    ("bpchar", "ab  ", 596009030900183869),
    ("name", "é" * 40, 9145233936630814511),
    ("bytea", b"\x00\xff\x10", 3279340875289139998),
    ("numeric", Decimal("1.00"), -3231555093127941538),
    ("numeric", Decimal("-0.000123"), -6887381123132799367),
    ("numeric", Decimal("123456789.0120"), 5336324178696873499),
    ("numeric", Decimal(0), 8816678312871386364),
    ("numeric", Decimal("NaN"), 8816678312871386365),
    ("numeric", Decimal("1e100"), -3231555093127941561),
    ("date", dt.date(1999, 12, 31), -5017072347659237694),
    ("time", "24:00:00", 1510475873825010920),
    ("timestamp", dt.datetime(2020, 2, 29, 12, 34, 56, 789000), -3182570490184886632),
    ("timestamp", "0044-03-15 12:00:00 BC", -2497171056867180908),
    ("timestamp", "infinity", 4938542303000433043),
    ("timestamptz", "2020-02-29 12:34:56+05:30", 1926534888823995218),
    ("interval", (14, 3, 14_706_000_000), 1721589440520990505),
    ("interval", "1 year 2 mons 3 days 04:05:06", 1721589440520990505),
    ("interval", "-infinity", 6982671906058149066),
    ("uuid", uuid.UUID("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"), 424513190990560493),
]


def signed(value: int) -> int:
    return value - (1 << 64) if value >> 63 else value


@pytest.mark.parametrize(("type_name", "value", "expected"), SEEDED_VECTORS)
def test_extended_hash_matches_postgres(type_name: str, value: object, expected: int) -> None:
    assert signed(hash_value(type_name, value)) == expected


def test_unseeded_lookup3_matches_postgres() -> None:
    assert signed(hashing.hash_bytes_uint32_extended(42, 0)) == 8010225493015854792
    assert signed(hashing.hash_bytes_extended(b"hello", 0)) == 3449563369152288809
    fox = b"The quick brown fox jumps over the lazy dog"
    assert signed(hashing.hash_bytes_extended(fox, 0)) == 2182139051089226439


@given(st.integers(0, (1 << 32) - 1))
def test_fast_uint32_path_equals_generic(k: int) -> None:
    assert hashing._hash_uint32_seeded(k) == hashing.hash_bytes_uint32_extended(
        k, HASH_PARTITION_SEED
    )


@given(st.binary(max_size=300))
def test_seeded_bytes_path_equals_generic(data: bytes) -> None:
    assert hashing._hash_bytes_seeded(data) == hashing.hash_bytes_extended(
        data, HASH_PARTITION_SEED
    )


def test_partition_hash_is_hash_combine64_from_zero() -> None:
    h = hash_value("int4", 42)
    assert partition_hash("int4", 42) == (h + 0x49A0F4DD15E5A8E3) % (1 << 64)
    assert shard_for_value("int4", 42, 1000) == partition_hash("int4", 42) % 1000
    assert partition_hash("int4", None) == 0
    assert shard_for_value("text", None, 7) == 0


@given(st.integers(-(1 << 31), (1 << 31) - 1))
def test_equal_integers_hash_alike_across_widths(value: int) -> None:
    assert hash_value("int4", value) == hash_value("int8", value)
    if -32768 <= value <= 32767:
        assert hash_value("int2", value) == hash_value("int4", value)


@given(st.lists(st.integers(-(1 << 63), (1 << 63) - 1), max_size=50), st.integers(1, 5000))
def test_int_batch_matches_single(values: list[int], shards: int) -> None:
    assert shard_for_int_batch(values, shards) == [
        shard_for_value("int8", v, shards) for v in values
    ]


@pytest.mark.parametrize(
    ("type_name", "equal_values"),
    [
        ("numeric", [Decimal("1.0"), Decimal("1.00"), Decimal(1), 1, "1.000", " 1e0 "]),
        ("numeric", [Decimal(0), Decimal("-0.00"), Decimal("0E+7"), "0"]),
        ("numeric", [Decimal("NaN"), Decimal("Infinity"), Decimal("-Infinity"), "nan", "-inf"]),
        ("bpchar", ["ab", "ab ", "ab     "]),
        ("int4", [31, "31", " +31 ", "0x1F", "0o37", "0b11111", "0_31"]),
        ("bool", [True, "t", "TRUE", "yes", "on", "1", " Tr "]),
        ("interval", [dt.timedelta(days=31), (1, 1, 0), (0, 31, 0), "1 mon 1 day", "744:00:00"]),
        (
            "timestamptz",
            [
                "2020-01-01 05:30:00+05:30",
                "2020-01-01T00:00:00Z",
                dt.datetime(2020, 1, 1, tzinfo=dt.UTC),
            ],
        ),
        ("timestamp", ["2020-01-01 00:00:00+05", dt.datetime(2020, 1, 1), dt.date(2020, 1, 1)]),
        (
            "uuid",
            [
                uuid.UUID(int=255),
                "00000000-0000-0000-0000-0000000000ff",
                "{00000000-0000-0000-0000-0000000000FF}",
                "000000000000000000000000000000ff",
            ],
        ),
        ("bytea", [b"\x00\\a", "\\x005c61", "\\000\\\\a"]),
    ],
)
def test_equal_values_hash_alike(type_name: str, equal_values: list[object]) -> None:
    assert len({hash_value(type_name, v) for v in equal_values}) == 1


def test_name_is_clipped_to_63_bytes_on_a_character_boundary() -> None:
    assert hash_value("name", "é" * 40) == hash_value("name", "é" * 31)  # 62 bytes kept
    assert hash_value("name", "x" * 70) == hash_value("name", "x" * 63)


def test_typmods_round_like_the_column() -> None:
    assert hash_value("numeric(10,2)", Decimal("1.005")) == hash_value("numeric", Decimal("1.01"))
    assert hash_value("numeric(10,2)", Decimal("-1.005")) == hash_value("numeric", "-1.01")
    assert hash_value("numeric(5)", "2.5") == hash_value("numeric", 3)
    assert hash_value("timestamp(0)", "2020-01-01 00:00:00.5") == hash_value(
        "timestamp", "2020-01-01 00:00:01"
    )
    assert hash_value("timestamp(2) with time zone", "2020-01-01 00:00:00.004+00") == hash_value(
        "timestamptz", "2020-01-01 00:00:00+00"
    )
    assert hash_value("time(1)", "10:00:00.05") == hash_value("time", "10:00:00.1")
    assert hash_value("varchar(3)", "abc") == hash_value("text", "abc")
    with pytest.raises(ValueError):
        hash_value("interval year to month", "1 year")


@pytest.mark.parametrize(
    ("alias", "canonical"),
    [
        ("integer", "int4"), ("INT", "int4"), ("serial", "int4"), ("bigint", "int8"),
        ("bigserial", "int8"), ("smallint", "int2"), ("boolean", "bool"),
        ("character varying", "varchar"), ("character varying(20)", "varchar"),
        ("character(3)", "bpchar"), ("char(3)", "bpchar"), ("char", "char"), ('"char"', "char"), ("decimal(10, 2)", "numeric"),
        ("timestamp with time zone", "timestamptz"), ("timestamp(3) without time zone", "timestamp"),
        ("time without time zone", "time"), ("time with time zone", "timetz"),
        ("double precision", "float8"), ("real", "float4"), ("float(10)", "float4"),
        ("pg_catalog.int4", "int4"), ("interval day to second", "interval"), ("text", "text"),
    ],
)  # fmt: skip
def test_canonical_type_name(alias: str, canonical: str) -> None:
    assert canonical_type_name(alias) == canonical


def test_internal_char_is_not_bpchar() -> None:
    """The one-byte type "char" (typname char) hashes as hashcharextended, not as text:
    taken for bpchar, its rows went to the wrong node. It is not a distribution type."""
    assert not is_hashable_type("char")
    assert not is_hashable_type('"char"')
    assert is_hashable_type("char(1)")


def test_is_hashable_type() -> None:
    for name in ("int4", "text", "numeric(10,2)", "uuid", "timestamptz", "character varying"):
        assert is_hashable_type(name)
    for name in ("float8", "real", "double precision", "json", "jsonb", "point", "timetz"):
        assert not is_hashable_type(name)
    with pytest.raises(ValueError):
        shard_for_value("float8", 1.5, 32)


@pytest.mark.parametrize(
    ("type_name", "bad"),
    [
        ("int4", 1 << 31), ("int2", "40000"), ("int4", "12abc"), ("int4", 1.5),
        ("bool", "maybe"), ("numeric", 1.5), ("numeric", "1.2.3"), ("date", "01/02/2020"),
        ("date", "2021-02-29"), ("timestamptz", "2020-01-01 00:00:00"),
        ("timestamptz", dt.datetime(2020, 1, 1)), ("time", "25:00:00"),
        ("interval", "P1Y"), ("timestamp", "now"),
    ],
)  # fmt: skip
def test_values_postgres_would_refuse_or_we_cannot_route_raise(type_name: str, bad: object) -> None:
    with pytest.raises((ValueError, TypeError)):
        hash_value(type_name, bad)


def test_shard_for_text_parses_then_routes() -> None:
    assert shard_for_text("int8", "42", 32) == shard_for_value("int8", 42, 32)
    assert shard_for_text("date", "2000-01-01", 7) == shard_for_value(
        "date", dt.date(2000, 1, 1), 7
    )
    assert shard_for_text("text", None, 7) == 0


@pytest.mark.parametrize("shard_count", [1, 2, 3, 32, 255, 256, 257, 1000])
def test_shard_for_nonneg_int_table_agrees_with_the_hash(shard_count: int) -> None:
    """The routing table of small integer keys (filled block by block with numpy) gives
    the shard the hash gives, at block edges, at the table's end and beyond it."""
    rng = random.Random(shard_count)
    edges = [0, 1, 0xFFFF, 0x10000, 0x10001, (1 << 22) - 1, 1 << 22, (1 << 22) + 1, (1 << 31) - 1]
    for value in edges + [rng.randrange(0, 1 << 23) for _ in range(3000)]:
        expected = shard_for_value("int4", value, shard_count)
        assert shard_for_nonneg_int(value, shard_count) == expected, value
        assert shard_for_nonneg_int(value, shard_count) == expected, value  # from the table now
        assert shard_for_value("int8", value, shard_count) == expected
