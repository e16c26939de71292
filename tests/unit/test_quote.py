"""Quoting of identifiers and literals, checked by parsing the result with PostgreSQL's parser."""

from __future__ import annotations

import json

import pglast
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pglast import keywords

from gridpg.sql.quote import quote_ident, quote_literal, quote_qualified


def parse(sql: str) -> dict:  # type: ignore[type-arg]
    return json.loads(pglast.parser.parse_sql_json(sql))["stmts"][0]["stmt"]  # type: ignore[no-any-return]


def alias_of(quoted: str) -> str:
    return str(parse(f"SELECT 1 AS {quoted}")["SelectStmt"]["targetList"][0]["ResTarget"]["name"])


def table_of(quoted: str) -> tuple[str | None, str]:
    target = parse(f"SELECT * FROM {quoted}")["SelectStmt"]["fromClause"][0]["RangeVar"]
    return target.get("schemaname"), target["relname"]


def literal_of(quoted: str) -> object:
    const = parse(f"SELECT {quoted}")["SelectStmt"]["targetList"][0]["ResTarget"]["val"]["A_Const"]
    if const.get("isnull"):
        return None
    return const["sval"].get("sval", "")


# Identifiers longer than NAMEDATALEN-1 bytes are truncated by the parser; NUL is impossible.
identifiers = st.text(
    st.characters(exclude_characters="\0", exclude_categories=("Cs",)), min_size=1, max_size=30
).filter(lambda s: len(s.encode()) <= 63)


@pytest.mark.parametrize(
    "name",
    ['a"b', '"', '""', "with space", "semi;colon", "drop table x; --", "MixedCase", "UPPER",
     "select", "from", "user", "order", "table", "json", "1abc", "a-b", "a.b", "ünïcödé",
     "日本語", "a$b", "_x", "x1", "tab\there", "new\nline", "back\\slash", "'quote'"],
)
def test_identifier_round_trip(name: str) -> None:
    quoted = quote_ident(name)
    assert alias_of(quoted) == name
    assert table_of(quoted) == (None, name)


@settings(max_examples=300)
@given(identifiers)
def test_any_identifier_round_trips(name: str) -> None:
    assert alias_of(quote_ident(name)) == name


@pytest.mark.parametrize("name", ["abc", "a_b", "_x", "t1", "users", "name", "data"])
def test_plain_identifiers_stay_bare(name: str) -> None:
    assert quote_ident(name) == name


def test_keywords_are_quoted_like_postgres_quote_ident() -> None:
    """quote_ident() leaves unreserved keywords bare and quotes every other kind."""
    must_quote = (set(keywords.RESERVED_KEYWORDS) | set(keywords.TYPE_FUNC_NAME_KEYWORDS)
                  | set(keywords.COL_NAME_KEYWORDS))
    assert [k for k in sorted(must_quote) if quote_ident(k) != f'"{k}"'] == []
    assert [k for k in sorted(keywords.UNRESERVED_KEYWORDS) if quote_ident(k) != k] == []


@pytest.mark.parametrize("name", ["Abc", "aBC", "a b", "a;b", "a$b", "é"])
def test_anything_but_lowercase_ascii_is_quoted(name: str) -> None:
    """As PostgreSQL's quote_ident(): only [a-z_][a-z0-9_]* goes bare."""
    assert quote_ident(name).startswith('"')


@given(identifiers, identifiers)
def test_qualified_round_trip(schema: str, name: str) -> None:
    assert table_of(quote_qualified(schema, name)) == (schema, name)
    assert table_of(quote_qualified(None, name)) == (None, name)


@pytest.mark.parametrize(
    "text",
    ["", "plain", "it's", "''", "'", "back\\slash", "\\", "\\'", "'\\", "E'x'", "$$", "a;b",
     "line\nbreak", "tab\t", "ünï 日本", "\U0001f600", "--comment", "/* c */"],
)
def test_literal_round_trip(text: str) -> None:
    assert literal_of(quote_literal(text)) == text


@settings(max_examples=500)
@given(st.text(st.characters(exclude_characters="\0", exclude_categories=("Cs",))))
def test_any_literal_round_trips(text: str) -> None:
    assert literal_of(quote_literal(text)) == text


def test_backslashes_use_escape_string_syntax() -> None:
    assert quote_literal("a\\b") == "E'a\\\\b'"
    assert quote_literal("it's") == "'it''s'"


def test_non_string_literals() -> None:
    assert quote_literal(None) == "NULL"
    assert literal_of(quote_literal(None)) is None
    assert quote_literal(True) == "true" and quote_literal(False) == "false"
    assert quote_literal(42) == "42" and quote_literal(-7) == "-7"


def test_nul_is_refused() -> None:
    with pytest.raises(ValueError):
        quote_literal("a\0b")
