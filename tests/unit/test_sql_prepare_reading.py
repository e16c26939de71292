"""Reading PREPARE / EXECUTE / DECLARE text without a server (planner/prepared.py): where
the name, the statement and the arguments are, whatever comments and names surround them."""

from __future__ import annotations

import pytest

from gridpg.errors import PgError
from gridpg.planner import prepared
from gridpg.sql import parse as sqlparse


def test_prepared_body_skips_comments_and_the_type_list() -> None:
    sql = 'PREPARE /* c */ "my stmt" (int, numeric(10, 2)[]) AS -- x\n SELECT $1, $2'
    name_start, name_end, body = prepared.prepared_body(sql)
    assert sql[name_start:name_end] == '"my stmt"'
    assert sql[body:] == "SELECT $1, $2"
    assert prepared.prepared_body("prepare as as values (1)")[2] == len("prepare as as ")


@pytest.mark.parametrize(("sql", "kind", "clause", "args", "rest"), [
    ("EXECUTE p(1, (2 + 3), 'a,b')", "ExecuteStmt", "EXECUTE p(1, (2 + 3), 'a,b')", "1, (2 + 3), 'a,b'", ""),
    ("execute p", "ExecuteStmt", "execute p", None, ""),
    ("EXPLAIN (ANALYZE, COSTS OFF) EXECUTE execute(1)", "ExplainStmt", "EXECUTE execute(1)", "1", ""),
    ("EXPLAIN VERBOSE EXECUTE q", "ExplainStmt", "EXECUTE q", None, ""),
    ("CREATE TABLE execute (a) AS EXECUTE p(2) WITH NO DATA", "CreateTableAsStmt", "EXECUTE p(2)", "2",
     " WITH NO DATA"),
])
def test_execute_span(sql: str, kind: str, clause: str, args: str | None, rest: str) -> None:
    assert sqlparse.node_type(sqlparse.parse_tree(sql)) == kind
    span = prepared.execute_span(sql, kind)
    assert sql[span.start : span.end] == clause
    assert span.args == args
    assert sql[span.end :] == rest
    if args is not None:
        assert sql[span.args_start :].startswith(args)


def test_first_keyword() -> None:
    assert prepared.first_keyword("  /* a /* nested */ b */ -- c\n ExEcUtE p") == "execute"
    assert prepared.first_keyword("(SELECT 1)") == "select"
    assert prepared.first_keyword("-- only a comment") == ""


def test_inline_params_as_typed_literals() -> None:
    sql = "SELECT $1, $2 FROM t WHERE $1 > 0 AND x = '$2'"
    out = prepared.inline_params(sql, ["it's", None], ["integer", "text"])
    assert out == ("SELECT CAST('it''s' AS integer), CAST(NULL AS text) FROM t "
                   "WHERE CAST('it''s' AS integer) > 0 AND x = '$2'")


def test_session_statements() -> None:
    for sql, expected in [("PREPARE p AS SELECT 1", True), ("EXECUTE p", True), ("DEALLOCATE p", True),
                          ("EXPLAIN EXECUTE p", True), ("EXPLAIN SELECT 1", False),
                          ("CREATE TABLE x AS EXECUTE p", True), ("CREATE TABLE x AS SELECT 1", False)]:
        tree = sqlparse.parse_tree(sql)
        assert prepared.is_session_statement(tree, sqlparse.node_type(tree)) is expected, sql


def test_malformed_prepare_is_a_syntax_error() -> None:
    with pytest.raises(PgError) as err:
        prepared.prepared_body("PREPARE p")
    assert err.value.sqlstate == "42601"


def test_constant_arguments_skip_the_evaluation_only_when_the_text_stays() -> None:
    args = sqlparse.parse_tree("EXECUTE p(-5, 'a b', NULL, true, 1.5, 99999999999, 0)")["ExecuteStmt"]["params"]
    INT4, TEXT, BOOL, NUMERIC, INT8 = 23, 25, 16, 1700, 20
    oids = [INT4, TEXT, INT4, BOOL, NUMERIC, INT8, INT4]
    assert prepared.constant_values(args, oids) == ["-5", "a b", None, "true", "1.5", "99999999999", "0"]
    # 1.5 into an integer rounds, a big integer into int2 overflows, true into text
    # becomes 'true' only by a cast: PostgreSQL evaluates those
    assert prepared.constant_values(args[4:5], [INT4]) is None
    big = sqlparse.parse_tree("EXECUTE p(100000)")["ExecuteStmt"]["params"]
    assert prepared.constant_values(big, [21]) is None
    assert prepared.constant_values(args[3:4], [TEXT]) is None
    # expressions, and types of the user's own (OIDs differ between servers)
    expr = sqlparse.parse_tree("EXECUTE p(1 + 1, 'x'::text)")["ExecuteStmt"]["params"]
    assert prepared.constant_values(expr, [INT4, TEXT]) is None
    assert prepared.constant_values(args[1:2], [16385]) is None
    texts = sqlparse.parse_tree("EXECUTE p('12', '0x1F', ' 7', 'a')")["ExecuteStmt"]["params"]
    assert prepared.constant_values(texts[:1], [INT4]) == ["12"]
    for arg in texts[1:3]:
        assert prepared.constant_values([arg], [INT4]) is None
    assert prepared.constant_values(texts[3:], [1082]) is None  # a date: PostgreSQL reads it
