"""planner/prepared.execute_as_statement: the text a dynamic `EXECUTE name(args)` of
server-side code runs in place of the session's prepared statement (h-small25)."""

import pytest

from gridpg.errors import PgError
from gridpg.planner.prepared import execute_as_statement


def test_arguments_replace_parameters_with_their_types() -> None:
    text = execute_as_statement("execute q (2, 'a,b')", "q", "SELECT $1 + a, $2 FROM t WHERE b = $1",
                                ["integer", "text"])
    assert text == "SELECT CAST((2) AS integer) + a, CAST(('a,b') AS text) FROM t WHERE b = CAST((2) AS integer)"


def test_statement_without_parameters_ignores_arguments() -> None:
    assert execute_as_statement("EXECUTE q", "q", "SELECT 1", []) == "SELECT 1"


def test_wrong_argument_count_is_postgresqls_error() -> None:
    with pytest.raises(PgError) as raised:
        execute_as_statement("EXECUTE q(1)", "q", "SELECT $1, $2", ["int4", "int4"])
    assert raised.value.sqlstate == "42601"


def test_computed_argument_used_twice_is_refused() -> None:
    # PostgreSQL evaluates random() once; put in twice it would be drawn twice
    with pytest.raises(PgError) as raised:
        execute_as_statement("EXECUTE q(random())", "q", "SELECT $1 = $1", ["float8"])
    assert raised.value.sqlstate == "0A000"
    assert execute_as_statement("EXECUTE q(random())", "q", "SELECT $1", ["float8"]) \
        == "SELECT CAST((random()) AS float8)"


def test_explain_execute_explains_the_statement() -> None:
    sql = "explain (analyze, costs off) execute q (2, 3)"
    assert execute_as_statement(sql, "q", "SELECT avg(a) FROM ab WHERE a BETWEEN $1 AND $2", ["integer", "integer"],
                                "ExplainStmt") == (
        "explain (analyze, costs off) SELECT avg(a) FROM ab WHERE a BETWEEN CAST((2) AS integer) AND CAST((3) AS integer)")
