"""The simple protocol's query shapes (planner/text.match_template): a query string whose
literals are all 1-9 digit integers is read by one pattern once its shape was seen, and the
pattern must give exactly what the full reading gives (sqlparse.split, normalize_literals,
executor.routed.literal_types) for every string it matches, and match no other."""

from __future__ import annotations

import random

import pytest

from gridpg.executor.routed import literal_types
from gridpg.planner import text as planner_text
from gridpg.planner.text import learn_template, match_template, normalize_literals
from gridpg.sql import parse as sqlparse

SHAPES = [
    "SELECT abalance FROM pgbench_accounts WHERE aid = {};",
    "  select * from t1 where id={} and k = {}  ;  ",
    'SELECT "col 5", x2 FROM "Tab 7" WHERE "id 3" = {} AND y > {}',
    "UPDATE pgbench_accounts SET abalance = abalance + -{} WHERE aid = {};",
    "INSERT INTO pgbench_history (tid, bid, aid, delta, mtime) VALUES ({}, {}, {}, -{}, CURRENT_TIMESTAMP);",
    "SELECT a FROM t WHERE b = {} OR c <> x1 AND d >= {}",
    "select count(*) from t where id between {} and {}",
    "SELECT x FROM t WHERE id = {}\n",
]


def _full_reading(sql: str) -> tuple[str, str, tuple[str | None, ...], tuple[int, ...]] | None:
    statements = sqlparse.split(sql)
    if len(statements) != 1:
        return None
    form = normalize_literals(statements[0])
    if form is None:
        return None
    types = literal_types(statements[0], form[0])
    if types is None:
        return None
    return statements[0], form[0], tuple(form[1]), types


def _learn(sql: str) -> None:
    reading = _full_reading(sql)
    assert reading is not None
    statement, text, literals, types = reading
    learn_template(sql, statement, text, list(literals), types)


def _digits(rng: random.Random) -> str:
    return str(rng.randrange(0, 10 ** rng.randint(1, 9)))


@pytest.mark.parametrize("shape", SHAPES)
def test_a_matched_string_reads_as_the_full_reading_does(shape: str) -> None:
    planner_text._TEMPLATES.clear()
    rng = random.Random(shape)
    count = shape.count("{}")
    _learn(shape.format(*["7"] * count))
    for _ in range(300):
        values = [_digits(rng) for _ in range(count)]
        sql = shape.format(*values)
        found = match_template(sql)
        assert found is not None, sql
        template, literals = found
        statement, text, expected_literals, types = _full_reading(sql)  # type: ignore[misc]
        assert sql[template.start : len(sql) - template.end_trim] == statement
        assert template.text == text
        assert literals == expected_literals == tuple(values)
        assert template.types == types


@pytest.mark.parametrize("other", [
    "SELECT abalance FROM pgbench_accounts WHERE aid = 1234567890;",  # 10 digits: int8 maybe
    "SELECT abalance FROM pgbench_accounts WHERE aid = 1.5;",
    "SELECT abalance FROM pgbench_accounts WHERE aid = 1e5;",
    "SELECT abalance FROM pgbench_accounts WHERE aid = '5';",
    "SELECT abalance FROM pgbench_accounts WHERE aid = 5x;",
    "SELECT abalance FROM pgbench_accounts WHERE aid = 5; SELECT 1;",
    "SELECT abalance FROM pgbench_accounts WHERE aid = 5 -- 6;",
    "SELECT abalance FROM pgbench_accounts WHERE aid = \u0665;",  # an Arabic-Indic digit
    "SELECT abalance FROM pgbench_accounts WHERE aid = $1;",
    "SELECT abalance FROM pgbench_accounts WHERE aid = 5",  # no semicolon: another shape
])
def test_no_other_string_matches(other: str) -> None:
    planner_text._TEMPLATES.clear()
    _learn("SELECT abalance FROM pgbench_accounts WHERE aid = 42;")
    assert match_template(other) is None


@pytest.mark.parametrize("sql", [
    "SELECT a FROM t WHERE b = 'x' AND c = 5",  # a string literal
    "SELECT a FROM t WHERE b = 1.25",  # a numeric literal
    "SELECT a FROM t WHERE b = 12345678901",  # past 9 digits
])
def test_only_integer_shapes_are_learned(sql: str) -> None:
    planner_text._TEMPLATES.clear()
    reading = _full_reading(sql)
    assert reading is not None
    statement, text, literals, types = reading
    learn_template(sql, statement, text, list(literals), types)
    assert not planner_text._TEMPLATES
