"""sql/escape_strings.py: query texts written for standard_conforming_strings = off, and
the printer's string constants (sql/parse.py), read alike under either setting."""

from __future__ import annotations

import pytest
from pglast import parse_sql
from pglast.stream import RawStream

import gridpg.sql.parse  # noqa: F401 - installs the printer's rule for string constants
from gridpg.sql.escape_strings import is_off, standard_strings


@pytest.mark.parametrize(("sql", "expected"), [
    ("SELECT 'plain'", "SELECT 'plain'"),
    (r"SELECT 'it\'s'", r"SELECT E'it\'s'"),
    (r"SELECT 'a\tb', E'x\\y', 'c'", r"SELECT E'a\tb', E'x\\y', 'c'"),
    (r"SELECT e'q\'' , 'r'", r"SELECT e'q\'' , 'r'"),  # already an escape string
    (r"SELECT $$a\b$$, $f$x'\$f$, 'z\\'", r"SELECT $$a\b$$, $f$x'\$f$, E'z\\'"),
    (r'SELECT "we\ird" FROM t WHERE x = ' + r"'\\'", r'SELECT "we\ird" FROM t WHERE x = ' + r"E'\\'"),
    ("SELECT 1 -- it's a comment \\\n, 'k\\n'", "SELECT 1 -- it's a comment \\\n, E'k\\n'"),
    (r"SELECT 1 /* 'a\' /* nested */ */, 'z\\'", r"SELECT 1 /* 'a\' /* nested */ */, E'z\\'"),
    (r"SELECT date'2024\-01-01'", r"SELECT date E'2024\-01-01'"),  # no identifier `dateE`
    (r"SELECT x'0\', b'1', 'ok\\'", r"SELECT x'0\', b'1', E'ok\\'"),
    (r"SELECT $1, 'q\w', a$b$c", r"SELECT $1, E'q\w', a$b$c"),
    ("SELECT 'a'\n  'b\\n'", "SELECT E'a'\n  'b\\n'"),  # one constant, continued
    (r"SELECT 'x\' OR id = 2 --'", r"SELECT E'x\' OR id = 2 --'"),
])
def test_plain_constants_with_a_backslash_become_escape_strings(sql: str, expected: str) -> None:
    assert standard_strings(sql) == expected


def test_the_rewritten_text_parses_to_the_values_postgresql_reads_with_the_setting_off() -> None:
    values = [n.val.sval for n in _constants(standard_strings(r"SELECT 'it\'s', 'a\tb', '\\', 'x''y'"))]
    assert values == ["it's", "a\tb", "\\", "x'y"]


def test_printed_constants_holding_a_backslash_are_escape_strings() -> None:
    printed = RawStream()(parse_sql(r"SELECT E'a\\b', 'c''d', E'e\'f'")[0].stmt)
    assert printed == r"SELECT E'a\\b', 'c''d', 'e''f'"
    assert [n.val.sval for n in _constants(printed)] == ["a\\b", "c'd", "e'f"]


def test_off_values() -> None:
    assert is_off("off") and is_off(" FALSE ") and is_off("0")
    assert not is_off("on") and not is_off(None) and not is_off("true")


def _constants(sql: str) -> list:
    from pglast.visitors import Visitor

    found = []

    class Collect(Visitor):
        def visit_A_Const(self, ancestors, node):  # pglast's naming
            found.append(node)

    Collect()(parse_sql(sql))
    return found
