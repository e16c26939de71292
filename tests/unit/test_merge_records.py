"""The sorted merge refuses outputs of an anonymous record type (its scratch table cannot
hold them): ROW(...) at the top and inside arrays, CASE and COALESCE (found by the Citus
replay: `SELECT ARRAY[(x, (y, x))] FROM t ORDER BY x` failed with 42P16)."""

from __future__ import annotations

import pytest

from gridpg.planner.merge import _anonymous_record_output
from gridpg.sql.parse import parse_tree


@pytest.mark.parametrize("sql", [
    "SELECT (x, y) FROM t ORDER BY x",
    "SELECT ARRAY[NULL, (x, (y, x)), NULL] FROM t ORDER BY x",
    "SELECT ARRAY[[(x, (y, x))], [(x, (x, y))]] AS a FROM t ORDER BY x",
    "SELECT CASE WHEN y > 2 THEN ROW(x, y) ELSE ROW(y, x) END FROM t ORDER BY x",
    "SELECT coalesce(NULL, ROW(x, y)) AS c FROM t ORDER BY x",
])
def test_record_valued_outputs_are_not_merged(sql: str) -> None:
    assert _anonymous_record_output(parse_tree(sql)["SelectStmt"])


@pytest.mark.parametrize("sql", [
    "SELECT row_to_json(ROW(x, y)) FROM t ORDER BY x",
    "SELECT ARRAY[x, y] FROM t ORDER BY x",
    "SELECT CASE WHEN y > 2 THEN x END FROM t ORDER BY x",
])
def test_other_outputs_keep_the_merge(sql: str) -> None:
    assert not _anonymous_record_output(parse_tree(sql)["SelectStmt"])
