"""The pure text pieces of the regression-replay fixes (issue 12): `TABLE rel` spelled out,
pg_get_viewdef's unparseable CYCLE clause repaired, SELECT ... INTO where PostgreSQL
refuses it, a join renamed by position needing its tables' every column."""

from __future__ import annotations

import pytest

from gridpg.errors import PgError
from gridpg.planner.gather import table_needs
from gridpg.planner.into_checks import ensure_into_allowed
from gridpg.sql import parse as sqlparse


@pytest.mark.parametrize(("sql", "expected"), [
    ("TABLE x", "SELECT * FROM x"),
    ("VALUES (1, 2) UNION ALL TABLE ONLY s.x", "VALUES (1, 2) UNION ALL SELECT * FROM ONLY s.x"),
    ("(table a) union (table b) except table c",
     "(SELECT * FROM a) union (SELECT * FROM b) except SELECT * FROM c"),
    ("with c as (table a) select * from c, lateral (table b) q",
     "with c as (SELECT * FROM a) select * from c, lateral (SELECT * FROM b) q"),
    ("create table t as table \"Table\"", "create table t as SELECT * FROM \"Table\""),
    ("insert into t table only (x)", "insert into t SELECT * FROM only (x)"),
    ("select /* é */ 1 union table y", "select /* é */ 1 union SELECT * FROM y"),
    # left alone: TABLE as a keyword of DDL, in names and strings, text that does not parse
    ("create table x (a int)", "create table x (a int)"),
    ("select * from \"table\" where c = 'table x'", "select * from \"table\" where c = 'table x'"),
    ("select * from x; table", "select * from x; table"),
])
def test_table_queries_are_spelled_out(sql: str, expected: str) -> None:
    assert sqlparse.spell_out_table_queries(sql) == expected


def test_split_spells_out_each_statement() -> None:
    assert sqlparse.split("select 1; table x;") == ["select 1", "SELECT * FROM x"]


def test_cycle_clause_of_a_view_definition_is_repaired() -> None:
    printed = ("WITH RECURSIVE s(f, t) AS ( SELECT g.f, g.t FROM graph g) "
               "CYCLE f, t SET is_cycle TO 'Y'::text DEFAULT 'N'::text USING path SELECT f FROM s")
    with pytest.raises(PgError):
        sqlparse.parse_tree(printed)  # PostgreSQL 18's pg_get_viewdef prints what it refuses
    repaired = sqlparse.repair_view_definition(printed)
    assert "TO text 'Y' DEFAULT text 'N'" in repaired
    sqlparse.parse_tree(repaired)
    # a string constant that looks like one is not touched, nor a definition that parses
    fine = "SELECT 'a TO ''b''::text'::text AS x"
    assert sqlparse.repair_view_definition(fine) == fine


@pytest.mark.parametrize(("sql", "sqlstate"), [
    ("INSERT INTO t SELECT 1 INTO f", "42601"),
    ("INSERT INTO t SELECT 1 INTO f UNION SELECT 2", "42601"),
    ("DECLARE c CURSOR FOR SELECT 1 INTO t", "42601"),
    ("COPY (SELECT 1 INTO frak UNION SELECT 2) TO STDOUT", "0A000"),
    ("INSERT INTO t SELECT 1", None),
    ("SELECT 1 INTO t", None),
    ("COPY (SELECT 1) TO STDOUT", None),
])
def test_select_into_where_postgresql_refuses_it(sql: str, sqlstate: str | None) -> None:
    tree = sqlparse.parse_tree(sql)
    if sqlstate is None:
        ensure_into_allowed(tree)
        return
    with pytest.raises(PgError) as failed:
        ensure_into_allowed(tree)
    assert failed.value.sqlstate == sqlstate


def test_join_renamed_by_position_needs_every_column() -> None:
    sql = "SELECT ii, kk FROM (a CROSS JOIN b) AS tx (ii, jj, tt, ii2, kk)"
    refs = {sql.index("a CROSS"): ("public", "a"), sql.index("b)"): ("public", "b")}
    columns = {("public", "a"): ["i", "j", "t"], ("public", "b"): ["i", "k"]}
    needs = table_needs(sql, refs, columns)
    assert needs[("public", "a")].columns is None and needs[("public", "b")].columns is None
    plain = "SELECT a.i, k FROM a CROSS JOIN b"
    refs = {plain.index("a CROSS"): ("public", "a"), plain.index("b"): ("public", "b")}
    assert table_needs(plain, refs, columns)[("public", "a")].columns == ("i",)
