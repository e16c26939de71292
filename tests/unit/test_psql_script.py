"""bench/psql_script.py: statements, meta-commands and variables as psql reads them."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

from psql_script import Meta, Statement, interpolate, meta_args, read_script


def items(text: str) -> list[Statement | Meta]:
    return list(read_script(text))


def test_statements_end_at_top_level_semicolons_only() -> None:
    got = items("select ';' as a, $$;$$, \"x;\" -- c;\n from t; /* ; */ select (1;\n2);\nselect 3;")
    sqls = [i.sql for i in got if isinstance(i, Statement)]
    assert sqls[0].startswith("select ';' as a") and sqls[0].endswith("from t;")
    assert sqls[1] == "/* ; */ select (1;\n2);"
    assert sqls[2] == "select 3;"


def test_escape_string_and_nested_comment() -> None:
    got = items("select E'a\\';b' /* x /* y; */ ; */;\nselect 2;")
    assert [i.sql for i in got] == ["select E'a\\';b' /* x /* y; */ ; */;", "select 2;"]


def test_begin_atomic_body_is_one_statement() -> None:
    text = "CREATE FUNCTION f() RETURNS int LANGUAGE sql\nBEGIN ATOMIC\n  SELECT 1;\n  SELECT CASE WHEN true THEN 2 END;\nEND;\nselect 4;"
    got = [i.sql for i in items(text)]
    assert len(got) == 2 and got[0].endswith("END;") and got[1] == "select 4;"


def test_meta_commands_and_query_ending_meta() -> None:
    got = items("\\set x 1\nselect :x as v \\gset\nselect 1\n\\g\n\\d t\n")
    assert got[0] == Meta("set x 1", 1)
    assert isinstance(got[1], Statement) and got[1].meta == "gset" and got[1].sql == "select :x as v"
    assert isinstance(got[2], Statement) and got[2].meta == "g" and got[2].sql == "select 1"
    assert got[3] == Meta("d t", 5)


def test_copy_from_stdin_takes_its_data_lines() -> None:
    got = items("COPY t FROM stdin;\n1\tx\n2\t;\n\\.\nselect 1;")
    assert isinstance(got[0], Statement) and got[0].copy_data == "1\tx\n2\t;\n"
    assert [i.sql for i in got[1:]] == ["select 1;"]


def test_interpolation_skips_literals_and_casts() -> None:
    v = {"a": "it's", "n": "5"}
    assert interpolate("select :n::int, ':n', :'a', :\"a\", :zz -- :n", v) == (
        "select 5::int, ':n', 'it''s', \"it's\", :zz -- :n")


def test_meta_args_concatenate_adjacent_pieces() -> None:
    assert meta_args("filename :dir '/data/x.data'", {"dir": "/src"}) == ["filename", "/src", "/data/x.data"]
    assert meta_args("f :dir'/d'", {"dir": "/s"}) == ["f", "/s/d"]


def test_leading_line_comments_are_not_sent_as_psql_does() -> None:
    got = items("-- a comment\n  -- another\nBEGIN;\n/* kept */ select 1 -- kept too\n;")
    assert [i.sql for i in got] == ["BEGIN;", "/* kept */ select 1 -- kept too\n;"]


def test_each_statement_has_its_own_line() -> None:
    got = items("select 1; -- one\nselect 2; -- two\n\nselect\n 3;")
    assert [(i.sql, i.line) for i in got] == [("select 1;", 1), ("select 2;", 2), ("select\n 3;", 4)]


def test_backslash_semicolon_separates_statements() -> None:
    got = items("select 0\\; copy t from stdin\\; select 1;\n1\n\\.\nselect 2;")
    assert [i.sql for i in got] == ["select 0;", "copy t from stdin;", "select 1;", "select 2;"]
    assert got[1].copy_data == "1\n"


def test_replay_comparison_rules() -> None:
    from replay_compare import Outcome, agree

    def rows(*r: tuple[str | None, ...]) -> Outcome:
        return Outcome(True, status=f"SELECT {len(r)}", columns=("c", "i"), types=(25, 701),
                       rows=list(r), has_rows=True)

    a = rows(("x", "1"), ("y", "1"), ("z", "2.000000000001"))
    tie_swapped = rows(("y", "1"), ("x", "1"), ("z", "2"))
    assert agree("select c, i from t order by i", a, tie_swapped)  # ties, float tolerance
    assert not agree("select c, i from t order by c", a, tie_swapped)
    assert agree("select c, i from t", a, rows(("z", "2"), ("y", "1"), ("x", "1")))
    assert not agree("select c, i from t", a, rows(("z", "2"), ("y", "1"), ("x", "1.1")))
    assert not agree("select c, i from t", a, rows(("y", "1"), ("x", "1")))
    failed = Outcome(False, "42P01", "no table")
    assert agree("select 1", failed, Outcome(False, "42P01", "other text"))
    assert not agree("select 1", failed, Outcome(False, "0A000", "x"))
    assert agree("explain select 1", rows(("a", "1")), rows(("b", "2"), ("c", "3")))
    assert agree("fetch 1 from c", rows(("a", "1")), rows(("b", "2")), kind="count")
