"""Error positions mapped from the text a node ran to the client's (sql/positions.py)."""

from __future__ import annotations

from gridpg.sql.positions import client_position


def _at(text: str, snippet: str) -> str:
    return str(text.index(snippet) + 1)


def test_the_same_text_or_an_unknown_one_keeps_the_position() -> None:
    assert client_position("7", "select x", "select x") == "7"
    assert client_position("7", None, "select nothing like it") == "7"


def test_a_rewritten_statement_points_at_the_clients_tokens() -> None:
    client = "select count(*) from et where x = 'abc'::int"
    ran = "SELECT count(*) AS p1 FROM public.et WHERE x = 'abc'::int GROUP BY ()"
    assert client_position(_at(ran, "'abc'"), ran, client) == _at(client, "'abc'")
    client = "select x from et order by nosuch"
    ran = "SELECT x FROM pg_temp.gp_gather_1 AS et ORDER BY nosuch"
    assert client_position(_at(ran, "nosuch"), ran, client) == _at(client, "nosuch")


def test_a_caret_that_cannot_be_placed_is_dropped() -> None:
    client = "select * from t where a = 1 and b = 1"
    ran = "SELECT * FROM t WHERE a = $1 AND b = $2"
    assert client_position(_at(ran, "$2"), ran, client) is None  # a parameter for a literal
    ran = "SELECT gp_sz.b = 1 FROM t WHERE a = 1 AND b = 1"
    assert client_position(_at(ran, "= 1 FROM"), ran, client) is None  # `= 1` is twice in the client's
    assert client_position(str(len(ran) + 5), ran, client) is None  # past the end
    assert client_position(_at(ran, "b = 1 FROM") + "x", ran, client) is None  # not a number
    assert client_position("3", "SELECT", "select x") is None  # inside a token
