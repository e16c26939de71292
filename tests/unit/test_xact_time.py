"""sql/xact_time.py: which calls are pinned to the transaction's instant, with which text,
and what is left alone (DDL, strings, other functions, statement_timestamp's own instant)."""

from __future__ import annotations

import pytest

from gridpg.sql import parse as sqlparse
from gridpg.sql import xact_time
from gridpg.sql.xact_time import (
    TimePins,
    has_special_input,
    mentions_time,
    pin_expression,
    pin_insert_defaults,
    pin_times,
    pin_to_setting,
    statement_mentions_time,
)

PINS = TimePins("2026-12-02 03:00:00.000001+00", "2026-12-02 03:00:05.000000+00")
L = "'2026-12-02 03:00:00.000001+00'::pg_catalog.timestamptz"
S = "'2026-12-02 03:00:05.000000+00'::pg_catalog.timestamptz"


@pytest.mark.parametrize(("sql", "want"), [
    ("SELECT now()", f"SELECT ({L}) AS now"),
    ("select NOW ( ) from t", f"select ({L}) AS now from t"),
    ("SELECT pg_catalog.now() AS n", f"SELECT ({L}) AS n"),
    ("SELECT transaction_timestamp(), statement_timestamp()",
     f"SELECT ({L}) AS transaction_timestamp, ({S}) AS statement_timestamp"),
    ("SELECT current_timestamp(0) - interval '1 day'", f"SELECT ({L}::pg_catalog.timestamptz(0)) - interval '1 day'"),
    ("SELECT CURRENT_DATE", f'SELECT ({L}::pg_catalog.date) AS "current_date"'),
    ("SELECT localtimestamp(3), localtime", (f'SELECT ({L}::pg_catalog.timestamp(3)) AS "localtimestamp", '
                                            f'({L}::pg_catalog.time) AS "localtime"')),
    ("SELECT 'now'::timestamp", f"SELECT ({L})::timestamp"),
    ("SELECT timestamptz 'today'", f"SELECT CAST({L}::pg_catalog.date AS timestamptz)"),
    ("SELECT CAST('tomorrow' AS date)", f"SELECT CAST((({L}::pg_catalog.date + 1)) AS date)"),
    ("UPDATE t SET c = now() WHERE id = 1", f"UPDATE t SET c = ({L}) WHERE id = 1"),
    ("INSERT INTO t VALUES (1, now()) RETURNING now()", f"INSERT INTO t VALUES (1, ({L})) RETURNING ({L}) AS now"),
    ("/* é */ SELECT now()", f"/* é */ SELECT ({L}) AS now"),  # offsets in characters
    ("DELETE FROM t WHERE c < current_date - 7", f"DELETE FROM t WHERE c < ({L}::pg_catalog.date) - 7"),
])
def test_calls_are_pinned(sql: str, want: str) -> None:
    assert pin_times(sql, PINS) == want
    sqlparse.parse_tree(pin_times(sql, PINS))  # still one valid statement


@pytest.mark.parametrize("sql", [
    "CREATE TABLE t (c timestamptz DEFAULT now())",
    "ALTER TABLE t ALTER c SET DEFAULT CURRENT_TIMESTAMP",
    "CREATE VIEW v AS SELECT now()",
    "CREATE MATERIALIZED VIEW m AS SELECT now()",
    "CREATE FUNCTION f() RETURNS timestamptz LANGUAGE sql AS 'SELECT now()'",
    "SELECT 'now'::text, 'now', clock_timestamp(), known FROM snow",
    "SELECT s.now() FROM t",
    "SELECT now(1)",
    "EXPLAIN SELECT now()",
    "SELECT current_user, current_schema",
    "SELECT 'today'::time",
    "SELECT now( FROM",  # a syntax error is the caller's to report
])
def test_left_alone(sql: str) -> None:
    assert pin_times(sql, PINS) == sql


def test_expressions_and_detection() -> None:
    assert pin_expression("now()", PINS) == f"({L})"
    assert pin_expression("CURRENT_TIMESTAMP", PINS) == f"({L}::pg_catalog.timestamptz)"
    assert pin_expression("nextval('s'::regclass)", PINS) is None
    assert mentions_time("(now() + '1 day'::interval)") and not mentions_time("clock_timestamp()")
    assert statement_mentions_time("SELECT 1 WHERE now() > x") and not statement_mentions_time("SELECT 'now'")
    assert has_special_input("VALUES (' Now ')") and not has_special_input("SELECT 'nowhere'")


B = "pg_catalog.current_setting('gridpg.xact_now')::pg_catalog.timestamptz"


@pytest.mark.parametrize(("sql", "want"), [
    ("INSERT INTO h (tid, mtime) VALUES ($1, CURRENT_TIMESTAMP)",
     f"INSERT INTO h (tid, mtime) VALUES ($1, ({B}::pg_catalog.timestamptz))"),
    ("SELECT now(), current_date FROM t WHERE id = $1",
     f'SELECT ({B}) AS now, ({B}::pg_catalog.date) AS "current_date" FROM t WHERE id = $1'),
    ("UPDATE t SET c = localtimestamp(2), d = 'tomorrow'::date WHERE id = $1",
     f"UPDATE t SET c = ({B}::pg_catalog.timestamp(2)), d = (({B}::pg_catalog.date + 1))::date WHERE id = $1"),
    ("SELECT 1 FROM t WHERE id = $1", "SELECT 1 FROM t WHERE id = $1"),
])
def test_calls_read_the_blocks_setting(sql: str, want: str) -> None:
    """The prepared fast path's text inside a block: fixed (no instant in it), valid."""
    assert pin_to_setting(sql) == want
    sqlparse.parse_tree(want)


def test_statement_time_does_not_read_the_blocks_setting() -> None:
    assert pin_to_setting("SELECT now(), statement_timestamp() FROM t WHERE id = $1") is None


COLUMNS = ["id", "created", "made", "day"]
DEFAULTS = {"made": f"({L})", "day": f"({L}::pg_catalog.date)"}
TYPES = {"id": 23, "created": 1184, "made": 1184, "day": 1082}


def _pin_insert(sql: str) -> str | None:
    return pin_insert_defaults(sql, sqlparse.parse_tree(sql), COLUMNS, DEFAULTS, PINS, TYPES)


def test_insert_defaults_are_given_explicitly() -> None:
    assert _pin_insert("INSERT INTO t (id, created) VALUES (1, x), (2, f(y, (z)))") == (
        f"INSERT INTO t (id, created, made, day) VALUES (1, x, ({L}), ({L}::pg_catalog.date)), "
        f"(2, f(y, (z)), ({L}), ({L}::pg_catalog.date))")
    assert _pin_insert("INSERT INTO t VALUES (1, x) ON CONFLICT DO NOTHING") == (
        f"INSERT INTO t (id, created, made, day) VALUES (1, x, ({L}), ({L}::pg_catalog.date)) ON CONFLICT DO NOTHING")
    assert _pin_insert("INSERT INTO t (id, made, day, created) VALUES (1, DEFAULT, '2020-01-01', 'now')") == (
        f"INSERT INTO t (id, made, day, created) VALUES (1, ({L}), '2020-01-01', ({L}))")
    assert _pin_insert("INSERT INTO t AS a DEFAULT VALUES RETURNING *") == (
        f"INSERT INTO t AS a (made, day) VALUES (({L}), ({L}::pg_catalog.date)) RETURNING *")
    assert _pin_insert("INSERT INTO t (id, day) VALUES (1, 'today')") == (
        f"INSERT INTO t (id, day, made) VALUES (1, ({L}::pg_catalog.date), ({L}))")


def test_insert_select_gets_the_instant_in_its_target_list() -> None:
    # Appended to the SELECT's own targets, not wrapped: an untyped literal stays untyped
    # (a wrapping subquery would resolve 'paid' as text, refused for an enum column).
    assert _pin_insert("INSERT INTO t (id) SELECT g FROM generate_series(1, 3) g") == (
        "INSERT INTO t (id, made, day) SELECT g, ('2026-12-02 03:00:00.000001+00'::pg_catalog.timestamptz), "
        "('2026-12-02 03:00:00.000001+00'::pg_catalog.timestamptz::pg_catalog.date) "
        "FROM generate_series(1, 3) g")
    assert _pin_insert("INSERT INTO t (id, note) WITH w AS (SELECT 1 AS a) SELECT a, 'x' FROM w ORDER BY 1;") == (
        "INSERT INTO t (id, note, made, day) WITH w AS (SELECT 1 AS a) SELECT a, 'x', "
        "('2026-12-02 03:00:00.000001+00'::pg_catalog.timestamptz), "
        "('2026-12-02 03:00:00.000001+00'::pg_catalog.timestamptz::pg_catalog.date) FROM w ORDER BY 1")


def test_insert_select_of_a_set_operation_gets_the_instant_through_a_wrapped_query() -> None:
    assert _pin_insert("INSERT INTO t (id) SELECT 1 UNION ALL SELECT 2") == (
        "INSERT INTO t (id, made, day) SELECT gp_src.*, ('2026-12-02 03:00:00.000001+00'::pg_catalog.timestamptz), "
        "('2026-12-02 03:00:00.000001+00'::pg_catalog.timestamptz::pg_catalog.date) "
        "FROM (SELECT 1 UNION ALL SELECT 2) AS gp_src")


def test_insert_forms_left_to_the_nodes() -> None:
    assert _pin_insert("INSERT INTO t (id) SELECT g FROM generate_series(1, 3) g RETURNING id") is None
    assert _pin_insert("INSERT INTO t SELECT * FROM t") is None  # width unknown without the catalog
    assert _pin_insert("INSERT INTO t (id, id) VALUES (1, 2)") is None  # PostgreSQL's error
    assert _pin_insert("INSERT INTO t VALUES (1, 2, 3, 4, 5)") is None


def test_stamp_is_the_instant_to_the_microsecond() -> None:
    """`stamp` formats the second once per second: every instant still reads back as
    itself (to the microsecond), across second boundaries too."""
    import random
    from datetime import UTC, datetime

    from gridpg.sql.xact_time import stamp

    rng = random.Random(7)
    instants = [0.0, 1.5, 1764644399.9999996, 1764644400.0, 1764644400.000001]
    instants += [rng.uniform(0, 4e9) for _ in range(2000)] + [1764644400 + i * 0.3 for i in range(20)]
    for at in instants:
        text = stamp(at)
        back = datetime.strptime(text, "%Y-%m-%d %H:%M:%S.%f+00").replace(tzinfo=UTC).timestamp()
        assert abs(back - at) <= 1e-6 and len(text) == 29, (at, text)


def test_a_call_standing_as_a_from_item_is_pinned_as_a_function() -> None:
    """`FROM current_date`: a literal is no FROM item (42601 before); unnest of a
    one-element array is, named as PostgreSQL names the call when the user gave no alias."""
    pins = xact_time.TimePins(transaction="2026-01-01 00:00:00+00", statement="2026-01-01 00:00:01+00")
    lit = "'2026-01-01 00:00:00+00'::pg_catalog.timestamptz"
    assert xact_time.pin_times("SELECT * FROM current_date", pins) == \
        f'SELECT * FROM pg_catalog.unnest(ARRAY[({lit}::pg_catalog.date)]) AS "current_date"'
    assert xact_time.pin_times("SELECT * FROM now() n", pins) == f"SELECT * FROM pg_catalog.unnest(ARRAY[({lit})]) n"
    # no name can follow WITH ORDINALITY without an alias, nor ROWS FROM: left as written
    for sql in ("SELECT * FROM current_date WITH ORDINALITY", "SELECT * FROM ROWS FROM (now(), current_date)"):
        assert xact_time.pin_times(sql, pins) == sql
    # an argument of a FROM function is an expression like any other
    assert xact_time.pin_times("SELECT * FROM generate_series(current_date, current_date, '1 day') g", pins) == \
        f"SELECT * FROM generate_series(({lit}::pg_catalog.date), ({lit}::pg_catalog.date), '1 day') g"
