"""The pure parts of running server-side code's DDL as distributed DDL
(executor/code_ddl.py): the statement text from PostgreSQL's context, the choice among
SQL functions of one name, and the check that the code did nothing but its DDL."""

from __future__ import annotations

import pytest

from gridpg.errors import PgError
from gridpg.executor import code_ddl


def test_statement_text_from_a_plpgsql_context() -> None:
    context = 'SQL statement "create table t (id int)"\nPL/pgSQL function mk() line 1 at SQL statement'
    assert code_ddl.statement_from_context(context) == "create table t (id int)"
    # quotes and line breaks inside the text; EXECUTE's context; the last line
    text = 'CREATE TABLE "Odd" (v text DEFAULT \'a"b\')\n  -- made by code'
    assert code_ddl.statement_from_context(f'SQL statement "{text}"\nPL/pgSQL function inline_code_block '
                                           'line 1 at EXECUTE') == text
    assert code_ddl.statement_from_context('SQL statement "drop table t"') == "drop table t"
    assert code_ddl.statement_from_context('SQL function "mk" statement 1') is None


def test_a_sql_function_statement_is_the_one_naming_what_the_ddl_made() -> None:
    texts = {" create table probe.t_made(id int)", " create table pb.t_made(id int)"}
    assert code_ddl.pick_statement(texts, ["pb.t_made", "pb.t_made_pkey"]) == " create table pb.t_made(id int)"
    assert code_ddl.pick_statement({"create table t_made(i int)", "create table x(i int)"},
                                   ["public.t_made"]) == "create table t_made(i int)"
    # several fit, or none: no guess
    assert code_ddl.pick_statement({"create table a.t(i int)", "create table b.t(i int)"}, ["c.t"]) is None
    assert code_ddl.pick_statement({"create table t(i int)", "create table u(i int)"}, []) is None
    assert code_ddl.pick_statement({"create table only_one(i int)"}, []) == "create table only_one(i int)"


def _fp(scans: int = 0, idx: int = 0, ins: int = 0, upd: int = 0, dele: int = 0,
        node: str = "1", name: str = "s.t") -> list[object]:
    return [scans, idx, ins, upd, dele, node, name]


def test_the_code_may_do_what_its_ddl_did_and_nothing_else() -> None:
    before = {"10": _fp()}
    # CREATE TABLE AS wrote rows into a new table, CREATE INDEX scanned t: all DDL's work
    after = {"10": _fp(scans=1), "11": _fp(ins=5, node="2", name="s.copy")}
    code_ddl.ensure_untouched(before, after, {"10": [1, 0, 0, 0, 0, False], "11": [0, 0, 5, 0, 0, True]})
    # ALTER TABLE rewrote t (a new file) inside DDL
    code_ddl.ensure_untouched(before, {"10": _fp(node="9")}, {"10": [0, 0, 0, 0, 0, True]})
    for after, ddl in (({"10": _fp(ins=1)}, {}),                                     # an INSERT of its own
                       ({"10": _fp(scans=2)}, {"10": [1, 0, 0, 0, 0, False]}),       # a read beside the DDL
                       ({"10": _fp(node="9")}, {}),                                  # TRUNCATE: a new file
                       ({"10": _fp(), "12": _fp(ins=1, name="s.new")}, {"12": [0, 0, 0, 0, 0, True]})):
        with pytest.raises(PgError) as raised:
            code_ddl.ensure_untouched(before, after, ddl)
        assert raised.value.sqlstate == "0A000"


def test_the_marker_and_its_refusal() -> None:
    marker = PgError("P0004", "gridpg runs CREATE TABLE inside server-side code as distributed DDL",
                     detail=code_ddl.MARKER_DETAIL)
    assert code_ddl.is_marker(marker)
    assert not code_ddl.is_marker(PgError("P0004", "assertion failed"))
    refused = code_ddl.refusal(marker, "inside a transaction block")
    assert refused.sqlstate == "0A000" and "CREATE TABLE" in refused.message


def test_the_first_attempts_sequence_calls_in_order_with_their_values() -> None:
    echo = code_ddl.SequenceEcho()
    echo.record("nextval", "public.s", "", 101, "")  # the GTM's
    echo.record("currval", "public.s", "", 101, "")  # (reads: not echoed)
    echo.record("nextval", "pg_temp_3.t", "", None, "local")  # the catalog server's own ...
    echo.record("note_nextval", "pg_temp_3.t", "7", 7, "")  # ... whose value came as a note
    echo.record("setval", "public.s", "500,true", 500, "")
    echo.record("setval", "pg_temp_3.t", "40,false", None, "local")  # (is_called false: no note)
    assert echo.entries() == [["nextval", "public.s", "", 101], ["nextval", "pg_temp_3.t", "", 7],
                              ["setval", "public.s", "500,true", 500], ["setval", "pg_temp_3.t", "40,false", None]]


def test_a_nested_statements_calls_are_the_outer_first_attempts_too() -> None:
    outer = code_ddl.SequenceEcho()
    inner = code_ddl.SequenceEcho(outer)
    inner.record("nextval", "public.s", "", 5, "")
    assert inner.entries() == outer.entries() == [["nextval", "public.s", "", 5]]
