"""The literal-free form used to cache the analysis of simple-protocol statements."""

from __future__ import annotations

import pytest

from gridpg.planner.text import normalize_literals


def test_literals_become_parameters() -> None:
    assert normalize_literals("SELECT a FROM t WHERE k = 42;") == ("SELECT a FROM t WHERE k = $1;", ["42"])
    assert normalize_literals("select * from t1 where x = 'a''b' and y in (1, 2.5)") == (
        "select * from t1 where x = $1 and y in ($2, $3)", ["a'b", "1", "2.5"])


@pytest.mark.parametrize("sql", [
    "select col2 from t2",  # digits inside names are not literals
    "select $1",  # already parameterized
    "select e'x\\n'", "select b'101'", "select x'ff'", "select U&'d'",  # prefixed strings
    "select 1 -- comment with 'quote", "select /* 'c' */ 1", "select $$a$$",
])
def test_what_is_not_normalized(sql: str) -> None:
    assert normalize_literals(sql) is None
