"""The `tableoid` mapping (planner/tableoid.py): which references are rewritten, with which
qualifier, and which strategies refuse a mapped statement."""

from __future__ import annotations

import pytest

from gridpg.errors import PgError
from gridpg.planner import tableoid
from gridpg.sql import parse


def _mapped(sql: str) -> str | None:
    return tableoid.rewrite(sql, parse.parse_tree(sql))


def test_references_are_mapped_with_their_qualifier() -> None:
    out = _mapped("select tableoid::regclass, * from m")
    assert out is not None and out.startswith("select (SELECT CASE WHEN m.tableoid::") and out.endswith(")::regclass, * from m")
    assert "pg_partition_ancestors(m.tableoid)" in out and "AS tableoid)" in out
    out = _mapped('select "X".tableoid from s.t "X" join u using (a) where u.tableoid > 0')
    assert out is not None and '"X".tableoid' in out and "u.tableoid" in out and out.count(tableoid.MARKER) == 4
    out = _mapped("update s.t set v = 1 returning tableoid::regclass")
    assert out is not None and "ELSE t.tableoid END" in out
    out = _mapped("delete from t as d using u returning d.tableoid")
    assert out is not None and "ELSE d.tableoid END" in out
    out = _mapped("select tableoid from t where a in (select b from u where tableoid > 0)")
    assert out is not None and "ELSE t.tableoid END" in out and "ELSE u.tableoid END" in out
    parse.parse_tree(out)


def test_untouched_statements() -> None:
    assert _mapped("select a from t") is None
    assert _mapped("select 'tableoid' from t") is None
    assert _mapped("select tableoid from a, b") is None  # ambiguous: PostgreSQL says so
    once = _mapped("select tableoid from t")
    assert once is not None and _mapped(once) is None  # mapped text is not mapped again


def test_insert_merge_and_relations_without_system_columns() -> None:
    """INSERT and MERGE RETURNING name the target; a subquery, function or CTE in FROM has
    no tableoid, so an unqualified one is the table's, unless it outputs a column so named."""
    out = _mapped("insert into t as u values (1) returning tableoid, new.tableoid")
    assert out is not None and "ELSE u.tableoid END" in out and "ELSE new.tableoid END" in out
    out = _mapped("insert into t select a from s returning tableoid")
    assert out is not None and "ELSE t.tableoid END" in out
    out = _mapped("merge into t using (select 1 a) s on t.a = s.a when not matched then insert values (s.a) "
                  "returning tableoid")
    assert out is not None and "ELSE t.tableoid END" in out
    for sql in ("select tableoid from t, (select 1) s", "select tableoid from t, generate_series(1, 2) g",
                "with c as (select 1 x) select tableoid from t, c",
                "update t set v = 1 from (select 1 k) s where t.a = s.k returning tableoid"):
        out = _mapped(sql)
        assert out is not None and "ELSE t.tableoid END" in out, sql
    for ambiguous in ("select tableoid from t, (select 1) s(tableoid)",
                      "select tableoid from t, (select 2 as tableoid) s",
                      "with c as (select 1 as tableoid) select tableoid from t, c",
                      "select tableoid from t, (select 1 union select 2) s(tableoid)",
                      "select tableoid from t, (select 1 as tableoid union select 2) s"):
        assert _mapped(ambiguous) is None, ambiguous


def test_gathering_strategies_refuse_a_mapped_statement() -> None:
    tableoid.ensure_not_gathered("select a from t", "a coordinator finish")
    mapped = _mapped("select tableoid from t order by 1")
    assert mapped is not None
    with pytest.raises(PgError) as err:
        tableoid.ensure_not_gathered(mapped, "a coordinator finish")
    assert err.value.sqlstate == "0A000"
    assert not tableoid.has_user_sublink(parse.parse_tree(mapped))
    assert tableoid.has_user_sublink(parse.parse_tree("select (select 1) from t"))


@pytest.mark.parametrize("sql", [
    "select tableoid::regclass, * from t order by 2",
    "select tableoid::regclass::text as r from t order by 1",
    "select a from t where tableoid = 'p1'::regclass",
    "select a from t where 'p1'::regclass::oid <> tableoid",
    "select a from t where tableoid in ('p1'::regclass, 'p2'::regclass)",
    "select case when tableoid = 'p1'::regclass then 1 end from t",
    "update t set a = 1 where tableoid = 't'::regclass returning tableoid::regclass",
    "select CASE (pg_catalog.pg_identify_object('pg_catalog.pg_class'::pg_catalog.regclass, tableoid, 0)).identity "
    "WHEN 'public.t' THEN 1::pg_catalog.oid ELSE tableoid END AS tableoid from t",
])
def test_names_and_comparisons_with_names_run_on_the_nodes(sql: str) -> None:
    assert tableoid.number_refs(parse.parse_tree(sql)) == set()
    mapped = _mapped(sql)
    assert mapped is not None and not tableoid.reads_number(mapped)


@pytest.mark.parametrize("sql", [
    "select tableoid::int from t",
    "select tableoid::regclass from t order by 1",
    "select tableoid::regclass as r, a from t order by r",
    "select a from t order by tableoid",
    "select a from t where tableoid = 16384",
    "select x from (select tableoid as x from t) s",
    "select a from t where tableoid::regclass < 'p2'::regclass",
    "select tableoid from t",  # not turned into the catalog's OID by executor/tableoid_oids
    "update t set a = 1 returning tableoid::int",
])
def test_numbers_need_the_catalog(sql: str) -> None:
    assert tableoid.number_refs(parse.parse_tree(sql))
    mapped = _mapped(sql)
    assert mapped is not None and tableoid.reads_number(mapped)


def test_mapping_spans_name_their_reference() -> None:
    mapped = _mapped("select (select x.tableoid::int), y.tableoid::regclass from t x, u y")
    assert mapped is not None
    spans = tableoid.mapping_spans(mapped)
    assert [q for _, _, q in spans] == ["x", "y"]
    for start, end, _ in spans:
        assert mapped[start] == "(" and mapped[end - 1] == ")" and "AS tableoid" in mapped[start:end]


def test_the_coordinator_finish_reads_each_rows_table_from_its_copy() -> None:
    from gridpg.catalog.model import DistTable
    from gridpg.planner import analyze
    from gridpg.planner.finish import coordinator_finish
    from gridpg.planner.pushdown import Resolved

    sql = _mapped("select t.tableoid::int, c.relname from t join pg_class c on c.oid = t.tableoid")
    assert sql is not None
    table = DistTable("public", "t", "hash", "a", "int4", 1, 4, ("dn1", "dn2"))
    resolved = [Resolved(r, table if r.name == "t" else None) for r in analyze.relations(parse.parse_tree(sql))]
    plan = coordinator_finish(sql, resolved, ())
    assert [g.tableoid for g in plan.gather] == [True]
    assert tableoid.MARKER not in (plan.final_sql or "")
    assert (plan.final_sql or "").count(f"t.{tableoid.GATHERED_COLUMN}::pg_catalog.regclass::pg_catalog.oid") == 2


def test_stars_over_a_copy_with_tableoid_are_spelled_out() -> None:
    from gridpg.planner.finish import expand_stars

    out = expand_stars("select x.tableoid, * from pg_temp.g1 AS x order by 2", {"g1": ["a", "b c"]})
    assert out == 'select x.tableoid, x.a, x."b c" from pg_temp.g1 AS x order by 2'
    out = expand_stars("select t.*, u.* from pg_temp.g1 AS t join u on true", {"g1": ["a"]})
    assert out == "select t.a, u.* from pg_temp.g1 AS t join u on true"
    for sql in ("select * from pg_temp.g1 AS t, u", "select row_to_json(t.*) from pg_temp.g1 AS t",
                "select t from pg_temp.g1 AS t"):
        with pytest.raises(PgError) as refused:
            expand_stars(sql, {"g1": ["a"]})
        assert refused.value.sqlstate == "0A000"


def test_an_insert_select_stores_names_not_numbers() -> None:
    named = "insert into u select a, tableoid::regclass from t"
    assert not tableoid.number_refs(parse.parse_tree(named))
    for sql in ("insert into u select a, tableoid from t", "insert into u select a, tableoid::int::oid from t"):
        assert tableoid.number_refs(parse.parse_tree(sql))


def test_the_coordinator_finish_copies_an_only_reference_without_children() -> None:
    from gridpg.catalog.model import DistTable
    from gridpg.planner import analyze
    from gridpg.planner.finish import coordinator_finish
    from gridpg.planner.pushdown import Resolved

    sql = "select count(*) from only t p join t q on p.a = q.a"
    table = DistTable("public", "t", "hash", "a", "int4", 1, 4, ("dn1", "dn2"))
    resolved = [Resolved(r, table) for r in analyze.relations(parse.parse_tree(sql))]
    plan = coordinator_finish(sql, resolved, ())
    assert sorted(g.only for g in plan.gather) == [False, True]
