"""Which calls of temp-reading code a write evaluates once, and where it refuses
(executor/temp_calls.py), read from the statement alone."""

from __future__ import annotations

import pytest

from gridpg.errors import PgError
from gridpg.executor.routines import TempCode
from gridpg.executor.temp_calls import _calls_to_evaluate, explained_start, values_read_temps
from gridpg.planner import tempnames
from gridpg.sql import parse as sqlparse

_P = TempCode("function public.p(name text)", True, None, False, False, frozenset())
_SET = TempCode("function public.ids()", True, None, False, True, frozenset())
_PLAIN = TempCode("function public.plus1(integer)", False, None, False, False, frozenset())
_WRITES = TempCode("function public.w()", True, "it writes params", False, False, frozenset())
CODES = {(None, "p"): _P, (None, "ids"): _SET, (None, "plus1"): _PLAIN, (None, "w"): _WRITES,
         ("public", "p"): _P}
WHAT = "UPDATE of distributed table public.t"


def _texts(sql: str) -> list[tuple[str, str | None, bool]]:
    return [(sql[c.start:c.end], c.alias, c.as_set) for c in _calls_to_evaluate(sql, CODES, WHAT)]


def test_outermost_calls_with_constant_arguments() -> None:
    sql = "UPDATE t SET v = plus1(p('max')) WHERE id = public.p( 'min' ) + 1 AND id <> p(p('x')::text)"
    assert _texts(sql) == [("p('max')", None, False), ("public.p( 'min' )", None, False),
                           ("p(p('x')::text)", None, False)]


def test_output_names_and_sets() -> None:
    assert _texts("INSERT INTO t SELECT ids(), 'x' RETURNING p('min')") == [
        ("ids()", "ids", True), ("p('min')", "p", False)]
    assert _texts("UPDATE t SET v = 'x' FROM p('min') AS q WHERE t.id = q") == [("p('min')", None, True)]
    assert _texts("DELETE FROM t USING ids() WHERE t.id = ids") == [("ids()", "ids", True)]


@pytest.mark.parametrize("sql,why", [
    ("UPDATE t SET v = 'x' WHERE id = p(v)", "column v"),
    ("UPDATE t SET v = 'x' WHERE id = p(t.v || 'a')", "column t.v"),
    ("UPDATE t SET v = 'x' WHERE id = p((SELECT 'min'))", "sub-select"),
    ("UPDATE t SET v = 'x' WHERE id = w()", "writes params"),
    ("UPDATE t SET v = 'x' WHERE id = p(w()::text)", "writes params"),
    ("UPDATE t SET v = 'x' FROM ROWS FROM (p('a'), p('b')) AS q(a, b)", "ROWS FROM"),
    ("UPDATE t SET v = 'x' WHERE id = (SELECT p('a') OVER () LIMIT 1)", "window"),
    ("UPDATE t SET v = 'x' WHERE id = (SELECT p(DISTINCT 'a'))", "aggregate"),
])
def test_refusals_name_the_routine_and_why(sql: str, why: str) -> None:
    with pytest.raises(PgError) as caught:
        _calls_to_evaluate(sql, CODES, WHAT)
    assert caught.value.sqlstate == "0A000"
    assert why in caught.value.message and "public." in caught.value.message


def test_values_sub_selects_over_temp_tables_alone() -> None:
    path = tempnames.with_temp_names(["public"], ["params"])
    sql = ("INSERT INTO t VALUES ((SELECT val FROM params WHERE k = 'max') + 1, "
           "(SELECT v FROM t WHERE id = 1)), (EXISTS (SELECT 1 FROM params), 'x')")
    assert values_read_temps(sqlparse.parse_tree(sql), path)
    calls = _calls_to_evaluate(sql, CODES, WHAT, path)
    assert [sql[c.start:c.end] for c in calls] == ["(SELECT val FROM params WHERE k = 'max')",
                                                   "EXISTS (SELECT 1 FROM params)"]
    assert not values_read_temps(sqlparse.parse_tree("INSERT INTO t SELECT * FROM params"), path)


@pytest.mark.parametrize("sql,inner", [
    ("EXPLAIN UPDATE t SET v = 'x'", "UPDATE t SET v = 'x'"),
    ("explain analyze verbose DELETE FROM t", "DELETE FROM t"),
    ("EXPLAIN (ANALYZE, COSTS OFF) WITH x AS (SELECT 1) DELETE FROM t", "WITH x AS (SELECT 1) DELETE FROM t"),
    ("/* c */ EXPLAIN (FORMAT JSON)\nINSERT INTO t VALUES (1)", "INSERT INTO t VALUES (1)"),
])
def test_explained_statement_start(sql: str, inner: str) -> None:
    start = explained_start(sql)
    assert start is not None and sql[start:] == inner
