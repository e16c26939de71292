"""The literal-free form used to cache the analysis of simple-protocol statements."""

from __future__ import annotations

import pytest

from gridpg.planner.text import literal_start, normalize_literals


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


def test_quoted_identifiers_are_names_not_literals() -> None:
    """A number or quote inside a double-quoted name stays in the name: `"v 6"` read as
    `"v $1"` named no view, and the statement went to the catalog server's empty copies
    (0 rows from a view over a distributed table)."""
    assert normalize_literals('SELECT count(*) FROM s."v 6"') is None
    assert normalize_literals('SELECT "it\'s", "a""b 2" FROM "t-8" WHERE k = 3') == (
        'SELECT "it\'s", "a""b 2" FROM "t-8" WHERE k = $1', ["3"])
    sql = 'SELECT "x 1" FROM t WHERE a = 5 AND b = \'q\''
    assert literal_start(sql, 2) == sql.index("'q'")
