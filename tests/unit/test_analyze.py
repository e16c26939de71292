"""planner.analyze on real parse trees: relations, pinning values, equi-join pairs."""

from __future__ import annotations

import json
from typing import Any

import pglast

from gridpg.planner.analyze import (
    RelRef,
    Value,
    conjuncts,
    equi_join_pairs,
    has_node,
    pinning_values,
    relations,
)


def tree(sql: str) -> dict[str, Any]:
    return json.loads(pglast.parser.parse_sql_json(sql))["stmts"][0]["stmt"]  # type: ignore[no-any-return]


def names(sql: str) -> list[tuple[str | None, str]]:
    return [(r.schema, r.name) for r in relations(tree(sql))]


def where(sql: str) -> dict[str, Any]:
    return tree(sql)["SelectStmt"]["whereClause"]  # type: ignore[no-any-return]


def pins(sql: str, column: str = "k") -> list[Value] | None:
    """Values pinning the column named `column` (by its last name part)."""
    found = pinning_values(where(sql), lambda col: col[-1] if col[-1] == column else None)
    return found.get(column)


# -- relations ------------------------------------------------------------------------------


def test_relations_in_text_order_with_schema_and_alias() -> None:
    refs = relations(tree("SELECT * FROM s.a AS x JOIN b ON true, LATERAL (SELECT * FROM c) q"))
    assert [(r.schema, r.name, r.alias) for r in refs] == [("s", "a", "x"), (None, "b", None), (None, "c", None)]
    assert refs[0].location < refs[1].location < refs[2].location


def test_relations_exclude_cte_names() -> None:
    sql = "WITH w AS (SELECT * FROM base), v AS (SELECT * FROM w) SELECT * FROM w, v, other"
    assert names(sql) == [(None, "base"), (None, "other")]


def test_schema_qualified_name_is_not_a_cte() -> None:
    assert names("WITH w AS (SELECT 1) SELECT * FROM w, s.w") == [("s", "w")]


def test_recursive_cte_name_is_excluded() -> None:
    sql = "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 3) SELECT * FROM r"
    assert names(sql) == []


def test_cte_body_reading_the_table_it_shadows() -> None:
    assert names("WITH t AS (SELECT * FROM t WHERE a > 0) SELECT * FROM t") == [(None, "t")]


def test_relations_in_subqueries_and_dml() -> None:
    assert names("SELECT * FROM a WHERE x IN (SELECT y FROM b) AND EXISTS (SELECT 1 FROM c)") == [
        (None, "a"), (None, "b"), (None, "c")]
    # The DML target comes first.
    assert names("INSERT INTO s.tgt SELECT * FROM src") == [("s", "tgt"), (None, "src")]
    assert names("UPDATE tgt SET v = src.v FROM src WHERE tgt.k = src.k") == [(None, "tgt"), (None, "src")]
    assert names("DELETE FROM tgt USING src WHERE tgt.k = src.k") == [(None, "tgt"), (None, "src")]
    assert names("WITH d AS (SELECT * FROM src) INSERT INTO tgt SELECT * FROM d")[0] == (None, "tgt")


def test_relation_refs_are_hashable_values() -> None:
    assert RelRef(None, "a", 14, None) in set(relations(tree("SELECT * FROM a")))


# -- pinning values -----------------------------------------------------------------------


def test_equality_with_constants() -> None:
    assert pins("SELECT * FROM t WHERE k = 5") == [Value("5")]
    assert pins("SELECT * FROM t WHERE 5 = k") == [Value("5")]
    assert pins("SELECT * FROM t WHERE t.k = 'abc'") == [Value("abc")]
    assert pins("SELECT * FROM t WHERE k = -1") == [Value("-1")]
    assert pins("SELECT * FROM t WHERE k = 0") == [Value("0")]
    assert pins("SELECT * FROM t WHERE k = 1.5") == [Value("1.5")]
    assert pins("SELECT * FROM t WHERE k = ''") == [Value("")]
    assert pins("SELECT * FROM t WHERE k = false") == [Value("false")]
    assert pins("SELECT * FROM t WHERE k = NULL") == [Value(None)]


def test_equality_with_params_and_casts() -> None:
    assert pins("SELECT * FROM t WHERE k = $1") == [Value(param=1)]
    assert pins("SELECT * FROM t WHERE k = $2::int") == [Value(param=2, cast="int4")]
    assert pins("SELECT * FROM t WHERE k = CAST($3 AS bigint)") == [Value(param=3, cast="int8")]
    assert pins("SELECT * FROM t WHERE k = '7'::text") == [Value("7", cast="text")]
    assert pins("SELECT * FROM t WHERE k = '2024-01-01'::date") == [Value("2024-01-01", cast="date")]
    assert pins("SELECT * FROM t WHERE k = $1::int[]") is None


def test_in_lists() -> None:
    assert pins("SELECT * FROM t WHERE k IN (1, 2, 3)") == [Value("1"), Value("2"), Value("3")]
    assert pins("SELECT * FROM t WHERE k IN ($1, 'x', $2::int)") == [
        Value(param=1), Value("x"), Value(param=2, cast="int4")]
    assert pins("SELECT * FROM t WHERE k IN (1, j)") is None  # not all constants
    assert pins("SELECT * FROM t WHERE k NOT IN (1, 2)") is None
    assert pins("SELECT * FROM t WHERE k IN (SELECT 1)") is None


def test_only_top_level_conjuncts_pin() -> None:
    assert pins("SELECT * FROM t WHERE k = 1 AND j > 2 AND (x = 1 OR y = 2)") == [Value("1")]
    assert pins("SELECT * FROM t WHERE j = 1 AND (k = 2 AND i = 3)") == [Value("2")]
    assert pins("SELECT * FROM t WHERE k = 1 OR k = 2") is None
    assert pins("SELECT * FROM t WHERE NOT k = 1") is None
    assert pins("SELECT * FROM t WHERE k > 1") is None
    assert pins("SELECT * FROM t WHERE k <> 1") is None
    assert pins("SELECT * FROM t WHERE k = 1 + 1") is None
    assert pins("SELECT * FROM t WHERE k = j") is None
    assert pins("SELECT * FROM t WHERE k = now()") is None


def test_first_condition_per_key_wins() -> None:
    assert pins("SELECT * FROM t WHERE k = 1 AND k = 2") == [Value("1")]


def test_several_keys_and_no_where() -> None:
    found = pinning_values(where("SELECT * FROM t WHERE a = 1 AND b IN (2, 3) AND c = 4"),
                           lambda col: col[-1] if col[-1] in ("a", "b") else None)
    assert found == {"a": [Value("1")], "b": [Value("2"), Value("3")]}
    assert pinning_values(None, lambda col: col) == {}
    assert conjuncts(None) == []


# -- joins --------------------------------------------------------------------------------


def test_equi_join_pairs_from_where_and_on() -> None:
    stmt = tree("SELECT * FROM a JOIN b ON a.x = b.y JOIN c ON c.z = b.y AND c.k > 1 "
                "WHERE a.q = c.q AND a.r = 1 AND a.s < b.s")["SelectStmt"]
    assert sorted(equi_join_pairs(stmt)) == sorted([
        (("a", "x"), ("b", "y")), (("c", "z"), ("b", "y")), (("a", "q"), ("c", "q"))])


def test_equi_join_pairs_ignore_non_equalities_and_or() -> None:
    stmt = tree("SELECT * FROM a, b WHERE a.x = b.y OR a.z = b.z")["SelectStmt"]
    assert equi_join_pairs(stmt) == []
    stmt = tree("SELECT * FROM a LEFT JOIN b ON a.x <> b.y")["SelectStmt"]
    assert equi_join_pairs(stmt) == []
    stmt = tree("SELECT * FROM a JOIN b USING (x)")["SelectStmt"]
    assert equi_join_pairs(stmt) == []


def test_has_node() -> None:
    assert has_node(tree("SELECT count(*) FROM t GROUP BY a"), "FuncCall")
    assert not has_node(tree("SELECT a FROM t"), "FuncCall", "SubLink")


def test_has_modifying_cte() -> None:
    from gridpg.planner import analyze
    from gridpg.sql.parse import parse_tree

    assert analyze.has_modifying_cte(parse_tree("WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d"))
    assert analyze.has_modifying_cte(parse_tree(
        "INSERT INTO u WITH x AS (SELECT 1), y AS (UPDATE t SET a = 1 RETURNING a) SELECT a FROM y"))
    assert analyze.has_modifying_cte(parse_tree("EXPLAIN WITH i AS (INSERT INTO t VALUES (1) RETURNING 1) SELECT 1"))
    assert not analyze.has_modifying_cte(parse_tree("WITH x AS (SELECT * FROM t) SELECT * FROM x"))
    assert not analyze.has_modifying_cte(parse_tree("SELECT 'WITH d AS (DELETE FROM t)'"))


def test_modifying_cte_steps() -> None:
    """The pure planning of a data-modifying WITH: its steps, or why not (no server)."""
    import pytest

    from gridpg.errors import PgError
    from gridpg.planner.modifying_cte import plan_steps

    steps = plan_steps("WITH a(x) AS (SELECT 1), d AS (DELETE FROM t WHERE id IN (SELECT x FROM a) RETURNING *), "
                       "i (k) AS (INSERT INTO log SELECT id FROM d RETURNING id) SELECT count(*) FROM i")
    assert [(s.name, s.modifying, s.columns) for s in steps.steps] == [
        ("a", False, ()), ("d", True, ()), ("i", True, ("k",))]
    assert steps.steps[0].definition == "a(x) AS (SELECT 1)"
    assert steps.steps[2].statement == "INSERT INTO log SELECT id FROM d RETURNING id"
    assert steps.main == "SELECT count(*) FROM i"
    # the archive-and-move pattern: the later part only adds rows, reading none of the table
    moved = plan_steps("WITH d AS (DELETE FROM t WHERE id > 5 RETURNING *) INSERT INTO t SELECT id + 100, v FROM d")
    assert [s.name for s in moved.steps] == ["d"] and moved.main.startswith("INSERT INTO t SELECT")
    plan_steps("WITH a AS (INSERT INTO t VALUES (1) RETURNING *), b AS (INSERT INTO t VALUES (2) RETURNING *) SELECT 1")
    # a SELECT entry reading a written table is frozen: read first, with the entries it reads
    frozen = plan_steps("WITH w AS (SELECT 1 AS k), x(a) AS (SELECT * FROM t, w), y AS (SELECT a FROM x), "
                        "d AS (DELETE FROM t WHERE id IN (SELECT a FROM y) RETURNING *) SELECT * FROM d, x")
    assert [(s.name, s.frozen_after, s.columns) for s in frozen.steps] == [
        ("w", None, ()), ("x", ("w",), ("a",)), ("y", None, ()), ("d", None, ())]
    # a data-modifying entry with a WITH of its own; it reads what only the main statement,
    # run after it, writes
    nested = plan_steps("WITH c AS (WITH s AS (SELECT id FROM u) DELETE FROM t USING s WHERE t.id = s.id "
                        "RETURNING t.id) UPDATE u SET v = 1 FROM c WHERE c.id = u.id")
    assert [(s.name, s.own_entries, s.statement) for s in nested.steps] == [
        ("c", ("s AS (SELECT id FROM u)",), "DELETE FROM t USING s WHERE t.id = s.id RETURNING t.id")]
    # the main statement reading a written table reads its rows from before the writes
    # (h-refuse25), with the main statement's WHERE when the table is all its FROM
    before = plan_steps("WITH d AS (DELETE FROM t RETURNING *) SELECT count(*) FROM s.t WHERE t.v > $1")
    assert [(s.name, s.definition, s.frozen_after) for s in before.steps if not s.modifying] == [
        ("gp_before_1", "gp_before_1 AS (SELECT * FROM s.t AS t WHERE t.v > $1)", ())]
    assert before.main == "SELECT count(*) FROM gp_before_1 AS t WHERE t.v > $1"
    joined = plan_steps("WITH u AS (UPDATE t SET v = v + 1 RETURNING id, v) SELECT a.v, u.v FROM ONLY t a JOIN u USING (id)")
    assert [s.definition for s in joined.steps if not s.modifying] == ["gp_before_1 AS (SELECT * FROM ONLY t AS a)"]
    assert joined.main == "SELECT a.v, u.v FROM gp_before_1 AS a INNER JOIN u USING (id)"
    # an appending main statement reading the table an entry writes, its own target too (h-left25)
    appended = plan_steps("WITH d AS (DELETE FROM t RETURNING *) INSERT INTO t SELECT * FROM t")
    assert [s.definition for s in appended.steps if not s.modifying] == ["gp_before_1 AS (SELECT * FROM t AS t)"]
    assert appended.main == "INSERT INTO t SELECT * FROM gp_before_1 AS t"
    filtered = plan_steps("WITH d AS (DELETE FROM t WHERE id = 1 RETURNING *) INSERT INTO t SELECT id + 9, v FROM t "
                          "WHERE id < 3")
    assert [s.definition for s in filtered.steps if not s.modifying] == [
        "gp_before_1 AS (SELECT * FROM t AS t WHERE id < 3)"]
    for refused in ("WITH d AS (DELETE FROM t RETURNING *) SELECT ctid FROM t",
                    "WITH d AS (DELETE FROM t RETURNING *) SELECT t FROM t",
                    "WITH c AS (WITH d AS (DELETE FROM u RETURNING *) DELETE FROM t RETURNING *) SELECT 1",
                    "WITH d AS (DELETE FROM u RETURNING *), c AS (WITH d AS (SELECT 1) DELETE FROM t) SELECT 1",
                    "WITH d AS (DELETE FROM u RETURNING *), c AS (DELETE FROM t WHERE id IN (SELECT id FROM u)) "
                    "SELECT 1",
                    "WITH d AS (DELETE FROM t RETURNING *) UPDATE t SET v = 1",
                    # an entry reading both a data-modifying entry's rows and the table written
                    "WITH d AS (DELETE FROM t WHERE id = 1 RETURNING *), x AS (SELECT * FROM t, d) SELECT 1",
                    "WITH RECURSIVE d AS (DELETE FROM t RETURNING *) SELECT 1",
                    # a later part that reads or updates what an earlier one wrote
                    "WITH i AS (INSERT INTO t VALUES (1) RETURNING *) DELETE FROM t",
                    "WITH d AS (DELETE FROM t RETURNING *) INSERT INTO t SELECT * FROM d ON CONFLICT DO NOTHING",
                    "WITH d AS (UPDATE t SET v = 2 RETURNING *), e AS (UPDATE t SET v = 3 RETURNING *) SELECT 1"):
        with pytest.raises(PgError) as info:
            plan_steps(refused)
        assert info.value.sqlstate == "0A000"


def test_only_is_blanked_before_the_named_relations() -> None:
    from gridpg.executor.only import _without_only

    sql = "SELECT * FROM ONLY t, u, ONLY (s.w) x WHERE a = 1"
    assert _without_only(sql, [19, 31]) == "SELECT * FROM      t, u,       s.w  x WHERE a = 1"
    assert _without_only(sql, [19]) == "SELECT * FROM      t, u, ONLY (s.w) x WHERE a = 1"
    assert _without_only("UPDATE ONLY t SET a = 1", [12]) == "UPDATE      t SET a = 1"
    assert _without_only("SELECT * FROM t", [14]) == "SELECT * FROM t"  # no ONLY: unchanged
