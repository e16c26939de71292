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
