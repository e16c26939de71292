"""Recursive planning: which CTEs and scalar subqueries run first as their own plans (pure)."""

from __future__ import annotations

import itertools

from gridpg.catalog.model import DistTable
from gridpg.planner import analyze
from gridpg.planner.subplans import SubplanSplit, split_code_calls, split_locking, split_subplans
from gridpg.sql.parse import parse_tree

GROUPS = ("dn1", "dn2")
TABLES = {
    "lineitem": DistTable("public", "lineitem", "hash", "l_orderkey", "int4", 1, 32, GROUPS),
    "supplier": DistTable("public", "supplier", "hash", "s_suppkey", "int4", 1, 32, GROUPS),
    "partsupp": DistTable("public", "partsupp", "hash", "ps_partkey", "int4", 1, 32, GROUPS),
    "nation": DistTable("public", "nation", "replication", None, None, None, None, GROUPS),
}
COLUMNS = {
    ("public", "lineitem"): ["l_orderkey", "l_suppkey", "l_extendedprice", "l_discount", "l_shipdate"],
    ("public", "supplier"): ["s_suppkey", "s_name", "s_nationkey"],
    ("public", "partsupp"): ["ps_partkey", "ps_suppkey", "ps_supplycost", "ps_availqty"],
    ("public", "nation"): ["n_nationkey", "n_name"],
}


def split(sql: str) -> SubplanSplit | str:
    refs = {r.location: TABLES[r.name] for r in analyze.relations(parse_tree(sql)) if r.name in TABLES}
    counter = itertools.count(1)
    return split_subplans(sql, refs, COLUMNS, lambda kind: f"gp_{kind}_s{next(counter)}")


Q15 = ("WITH revenue0 (supplier_no, total_revenue) AS (SELECT l_suppkey, sum(l_extendedprice * (1 - l_discount)) "
       "FROM lineitem WHERE l_shipdate >= date '1996-01-01' GROUP BY l_suppkey) "
       "SELECT s_suppkey, s_name, total_revenue FROM supplier, revenue0 WHERE s_suppkey = supplier_no "
       "AND total_revenue = (SELECT max(total_revenue) FROM revenue0) ORDER BY s_suppkey")


def test_cte_over_a_distributed_table_becomes_a_scratch_table() -> None:
    got = split(Q15)
    assert isinstance(got, SubplanSplit), got
    (cte,) = got.subplans
    assert cte.kind == "table" and cte.columns == ("supplier_no", "total_revenue") and cte.origin == "CTE revenue0"
    # the alias list names the select list itself: the CTE stays a plain GROUP BY (two-phase)
    assert cte.sql.startswith("SELECT l_suppkey AS supplier_no, sum(l_extendedprice * (1 - l_discount)) "
                              "AS total_revenue FROM lineitem")
    # both references read the scratch table; the scalar subquery over it stays (complete on every node)
    assert got.sql.count("gridpg_shards.gp_cte_s1 AS revenue0") == 2
    assert not got.sql.upper().startswith("WITH")


def test_uncorrelated_scalar_subquery_becomes_a_value() -> None:
    sql = ("SELECT ps_partkey, sum(ps_supplycost * ps_availqty) AS value FROM partsupp, supplier, nation "
           "WHERE ps_suppkey = s_suppkey AND s_nationkey = n_nationkey AND n_name = 'GERMANY' GROUP BY ps_partkey "
           "HAVING sum(ps_supplycost * ps_availqty) > (SELECT sum(ps_supplycost * ps_availqty) * 0.001 "
           "FROM partsupp, supplier, nation WHERE ps_suppkey = s_suppkey AND s_nationkey = n_nationkey "
           "AND n_name = 'GERMANY') ORDER BY value DESC")
    got = split(sql)
    assert isinstance(got, SubplanSplit), got
    (value,) = got.subplans
    assert value.kind == "value" and value.marker == "gp_val_s1"
    assert value.sql.startswith("SELECT sum(ps_supplycost * ps_availqty) * 0.001 FROM partsupp")
    assert "HAVING sum(ps_supplycost * ps_availqty) > (gp_val_s1)" in got.sql


def test_correlated_subqueries_stay() -> None:
    # unqualified outer column (TPC-H Q17's shape): not a column of the subquery's tables
    got = split("SELECT count(*) FROM supplier WHERE s_nationkey < (SELECT max(l_discount) FROM lineitem "
                "WHERE l_suppkey = s_suppkey)")
    assert isinstance(got, str)
    # qualified outer column
    got = split("SELECT count(*) FROM supplier s WHERE 1 < (SELECT count(*) FROM lineitem l WHERE l.l_suppkey = s.s_suppkey)")
    assert isinstance(got, str)
    # a column the subquery's FROM cannot be asked about (a function in FROM): unsure, stays
    got = split("SELECT count(*) FROM supplier WHERE s_nationkey < (SELECT max(x) FROM lineitem, generate_series(1, 2) x)")
    assert isinstance(got, str)


def test_subquery_without_distributed_tables_or_with_several_columns_stays() -> None:
    assert isinstance(split("SELECT count(*) FROM supplier WHERE s_nationkey < (SELECT 3)"), str)
    assert isinstance(split("SELECT count(*) FROM supplier WHERE (s_nationkey, s_suppkey) = "
                            "(SELECT max(l_suppkey), min(l_suppkey) FROM lineitem)"), str)
    assert isinstance(split("SELECT * FROM supplier FOR UPDATE"), str)


def test_nested_scalar_inside_a_correlated_subquery_is_pulled() -> None:
    got = split("SELECT count(*) FROM supplier s WHERE EXISTS (SELECT 1 FROM lineitem l WHERE l.l_suppkey = s.s_suppkey "
                "AND l.l_discount > (SELECT avg(l_discount) FROM lineitem))")
    assert isinstance(got, SubplanSplit), got
    assert [p.sql for p in got.subplans] == ["SELECT avg(l_discount) FROM lineitem"]


def test_cte_referencing_another_cte_or_shadowed_stays() -> None:
    got = split("WITH a AS (SELECT l_suppkey FROM lineitem), b AS (SELECT * FROM a) SELECT count(*) FROM b")
    assert isinstance(got, SubplanSplit)
    assert [p.origin for p in got.subplans] == ["CTE a"]
    assert got.sql.startswith("WITH b AS (SELECT * FROM gridpg_shards.gp_cte_s1 AS a)")
    got = split("WITH a AS (SELECT l_suppkey FROM lineitem) SELECT (WITH a AS (SELECT 1 AS l_suppkey) SELECT count(*) FROM a)")
    assert isinstance(got, str)


def test_a_pulled_subquery_in_the_select_list_keeps_its_column_name() -> None:
    got = split("SELECT (SELECT count(*) FROM lineitem), (SELECT max(l_discount) AS top FROM lineitem), "
                "(SELECT max(l_discount) + 1 FROM lineitem), (SELECT min(l_suppkey) FROM lineitem) AS named")
    assert isinstance(got, SubplanSplit)
    assert got.sql == ('SELECT (gp_val_s1) AS count, (gp_val_s2) AS top, (gp_val_s3) AS "?column?", '
                       "(gp_val_s4) AS named")


def test_cte_alias_list_wraps_when_a_rename_would_change_a_reference() -> None:
    got = split("WITH r (a, b) AS (SELECT l_suppkey + 1 AS k, count(*) FROM lineitem GROUP BY k) SELECT * FROM r")
    assert isinstance(got, SubplanSplit)
    assert got.subplans[0].sql == ("SELECT * FROM (SELECT l_suppkey + 1 AS k, count(*) FROM lineitem GROUP BY k) "
                                   "AS r(a, b)")


def split_small(sql: str, small: list[str] | None = None) -> tuple[list[str], SubplanSplit | str]:
    from gridpg.planner.subplans import in_subqueries

    refs = {r.location: TABLES[r.name] for r in analyze.relations(parse_tree(sql)) if r.name in TABLES}
    candidates = in_subqueries(sql, refs, COLUMNS)
    counter = itertools.count(1)
    chosen = [text for text, _ in candidates] if small is None else small
    return candidates, split_subplans(sql, refs, COLUMNS, lambda kind: f"gp_{kind}_s{next(counter)}", chosen)


Q20ISH = ("SELECT s_name FROM supplier, nation WHERE s_suppkey IN (SELECT ps_suppkey FROM partsupp "
          "WHERE ps_availqty > (SELECT 0.5 * sum(l_extendedprice) FROM lineitem WHERE l_suppkey = ps_suppkey)) "
          "AND s_nationkey = n_nationkey ORDER BY s_name")


def test_small_in_subquery_becomes_a_table_read_by_the_in() -> None:
    candidates, got = split_small(Q20ISH)
    text = ("SELECT ps_suppkey FROM partsupp WHERE ps_availqty > (SELECT 0.5 * sum(l_extendedprice) "
            "FROM lineitem WHERE l_suppkey = ps_suppkey)")
    # (estimated, and run first, as a set: its DISTINCT form)
    assert candidates == [(text, text.replace("SELECT ps_suppkey", "SELECT DISTINCT ps_suppkey", 1))]
    assert isinstance(got, SubplanSplit), got
    (sub,) = got.subplans
    assert sub.kind == "table" and sub.columns == ("gridpg_in1",) and sub.origin == "IN subquery"
    assert sub.sql.startswith("SELECT DISTINCT ps_suppkey AS gridpg_in1 FROM partsupp")  # renamed, not wrapped in SELECT *
    assert "s_suppkey IN (SELECT gridpg_in1 FROM gridpg_shards.gp_in_s1)" in got.sql


def test_in_subqueries_that_stay() -> None:
    # not estimated small: nothing to split
    assert isinstance(split_small(Q20ISH, [])[1], str)
    # correlated, `*`, EXISTS, scalar comparisons: not IN-list candidates
    for sql in ("SELECT s_name FROM supplier WHERE s_suppkey IN (SELECT ps_suppkey FROM partsupp WHERE ps_partkey = s_nationkey)",
                "SELECT s_name FROM supplier WHERE (s_suppkey, s_nationkey) IN (SELECT * FROM partsupp)",
                "SELECT s_name FROM supplier WHERE EXISTS (SELECT ps_suppkey FROM partsupp)",
                "SELECT s_name FROM supplier WHERE s_suppkey IN (SELECT n_nationkey FROM nation)"):
        assert split_small(sql)[0] == [], sql
    # an ORDER BY on the output name: renaming would change it, so the subquery stays
    sql = "SELECT s_name FROM supplier WHERE s_suppkey IN (SELECT ps_suppkey AS k FROM partsupp ORDER BY k LIMIT 5)"
    candidates, got = split_small(sql)
    assert len(candidates) == 1 and isinstance(got, str)
    # a LIMIT picks rows: estimated and run as written, not as a set
    sql = "SELECT s_name FROM supplier WHERE s_suppkey IN (SELECT ps_suppkey FROM partsupp ORDER BY ps_availqty LIMIT 5)"
    (candidate,) = split_small(sql)[0]
    assert candidate[0] == candidate[1]


def test_an_in_subquery_runs_first_as_a_set() -> None:
    """Its rows count as a set only: DISTINCT (an ORDER BY without LIMIT dropped), estimated
    so too. Not for another comparison than `=`, whose types may have no equality for
    DISTINCT."""
    sql = "SELECT s_name FROM supplier WHERE s_suppkey IN (SELECT ps_suppkey FROM partsupp ORDER BY ps_availqty)"
    assert split_small(sql)[0][0][1] == "SELECT DISTINCT ps_suppkey FROM partsupp"
    sql = "SELECT s_name FROM supplier WHERE s_suppkey IN (SELECT ps_suppkey FROM partsupp WHERE ps_availqty > 5)"
    candidates, got = split_small(sql)
    assert candidates[0][1] == "SELECT DISTINCT ps_suppkey FROM partsupp WHERE ps_availqty > 5"
    assert isinstance(got, SubplanSplit), got
    assert got.subplans[0].sql == "SELECT DISTINCT ps_suppkey AS gridpg_in1 FROM partsupp WHERE ps_availqty > 5"
    sql = "SELECT s_name FROM supplier WHERE s_suppkey < ANY (SELECT ps_suppkey FROM partsupp)"
    candidates, got = split_small(sql)
    assert candidates[0][0] == candidates[0][1]
    assert not isinstance(got, SubplanSplit) or "DISTINCT" not in got.subplans[0].sql


# -- locking sub-selects of an UPDATE/DELETE (split_locking) -------------------------------


def split_locks(sql: str) -> SubplanSplit | str:
    refs = {r.location: TABLES[r.name] for r in analyze.relations(parse_tree(sql)) if r.name in TABLES}
    counter = itertools.count(1)
    return split_locking(sql, refs, COLUMNS, lambda kind: f"gp_{kind}_s{next(counter)}")


def test_locking_scalar_subquery_runs_first_as_a_value() -> None:
    got = split_locks("UPDATE supplier SET s_name = 'taken' WHERE s_suppkey = (SELECT s_suppkey FROM supplier "
                      "WHERE s_name = 'new' ORDER BY s_suppkey LIMIT 1 FOR UPDATE SKIP LOCKED) RETURNING *")
    assert isinstance(got, SubplanSplit), got
    (value,) = got.subplans
    assert value.kind == "value"
    assert value.sql == ("SELECT s_suppkey FROM supplier WHERE s_name = 'new' ORDER BY s_suppkey "
                         "LIMIT 1 FOR UPDATE SKIP LOCKED")
    assert got.sql == "UPDATE supplier SET s_name = 'taken' WHERE s_suppkey = (gp_val_s1) RETURNING *"


def test_locking_in_and_eq_any_become_in_lists() -> None:
    for op in ("IN", "= ANY"):
        got = split_locks(f"DELETE FROM lineitem WHERE l_orderkey {op} (SELECT l_orderkey FROM lineitem "
                          "ORDER BY l_orderkey LIMIT 3 FOR NO KEY UPDATE NOWAIT)")
        assert isinstance(got, SubplanSplit), got
        (items,) = got.subplans
        assert items.kind == "list" and items.sql.endswith("FOR NO KEY UPDATE NOWAIT")
        assert got.sql == "DELETE FROM lineitem WHERE l_orderkey IN (gp_list_s1)"


def test_locking_cte_becomes_a_scratch_table() -> None:
    got = split_locks("WITH next AS (SELECT s_suppkey FROM supplier ORDER BY s_suppkey LIMIT 1 FOR UPDATE SKIP LOCKED) "
                      "UPDATE supplier SET s_name = 'x' FROM next WHERE supplier.s_suppkey = next.s_suppkey")
    assert isinstance(got, SubplanSplit), got
    (cte,) = got.subplans
    assert cte.kind == "table" and cte.columns == ("s_suppkey",)
    assert "FROM gridpg_shards.gp_cte_s1 AS next WHERE" in got.sql and not got.sql.startswith("WITH")


def test_only_the_locking_subqueries_run_first() -> None:
    got = split_locks("UPDATE supplier SET s_name = (SELECT max(n_name) FROM nation) WHERE s_suppkey = "
                      "(SELECT s_suppkey FROM supplier LIMIT 1 FOR SHARE SKIP LOCKED)")
    assert isinstance(got, SubplanSplit), got
    assert [s.sql.endswith("FOR SHARE SKIP LOCKED") for s in got.subplans] == [True]
    assert "(SELECT max(n_name) FROM nation)" in got.sql


def test_locking_subqueries_that_cannot_run_first_are_reported() -> None:
    for sql in (
        # correlated with the target
        "UPDATE supplier s SET s_name = 'x' WHERE s_suppkey = (SELECT ps_suppkey FROM partsupp "
        "WHERE ps_partkey = s.s_suppkey FOR UPDATE)",
        # FROM sub-select, EXISTS, another operator than = ANY
        "UPDATE supplier SET s_name = 'x' FROM (SELECT ps_suppkey FROM partsupp FOR UPDATE) p "
        "WHERE p.ps_suppkey = supplier.s_suppkey",
        "DELETE FROM supplier WHERE EXISTS (SELECT 1 FROM partsupp FOR UPDATE)",
        "DELETE FROM supplier WHERE s_suppkey < ANY (SELECT ps_suppkey FROM partsupp FOR UPDATE)",
    ):
        got = split_locks(sql)
        assert isinstance(got, str) and "would lock copies of the rows" in got, sql


def test_locked_rows_become_typed_constants_in_their_order() -> None:
    from gridpg.executor.locked_insert import constant_rows

    assert constant_rows([[b"2", None], [b"1", b"it's"]], ["integer", "text"]) == (
        "SELECT * FROM (VALUES (CAST('2' AS integer), CAST(NULL AS text)), "
        "(CAST('1' AS integer), CAST('it''s' AS text))) AS gp_locked")
    assert constant_rows([], ["integer"]) == "SELECT CAST(NULL AS integer) WHERE false"


def split_calls(sql: str, routines: frozenset[str] = frozenset({"total_v", "v_of"})) -> SubplanSplit | str:
    refs = {r.location: TABLES[r.name] for r in analyze.relations(parse_tree(sql)) if r.name in TABLES}
    counter = itertools.count(1)
    return split_code_calls(sql, refs, COLUMNS, lambda kind: f"gp_{kind}_c{next(counter)}", routines)


def test_uncorrelated_sub_selects_calling_user_code_run_first() -> None:
    """Such a sub-select need not read a table; its value goes in place, its output name kept."""
    got = split_calls("SELECT count(*) FROM lineitem WHERE l_suppkey < (SELECT total_v() / 10) "
                      "AND l_orderkey > (SELECT v_of(3)) AND l_discount < (SELECT 0.5)")
    assert isinstance(got, SubplanSplit)
    assert [(s.kind, s.sql) for s in got.subplans] == [("value", "SELECT total_v() / 10"), ("value", "SELECT v_of(3)")]
    assert got.sql == ("SELECT count(*) FROM lineitem WHERE l_suppkey < (gp_val_c1) AND l_orderkey > (gp_val_c2) "
                       "AND l_discount < (SELECT 0.5)")
    named = split_calls("SELECT (SELECT V_OF(3)), l_orderkey FROM lineitem")
    assert isinstance(named, SubplanSplit) and named.sql == "SELECT (gp_val_c1) AS v_of, l_orderkey FROM lineitem"
    upd = split_calls("UPDATE lineitem SET l_discount = 0 WHERE l_suppkey = (SELECT v_of(1))")
    assert isinstance(upd, SubplanSplit) and upd.sql.endswith("WHERE l_suppkey = (gp_val_c1)")


def test_sub_selects_calling_code_that_stay() -> None:
    """Correlated, not scalar, naming another routine, or in a statement that keeps them."""
    for sql in ("SELECT count(*) FROM lineitem WHERE l_suppkey < (SELECT v_of(l_orderkey))",
                "SELECT count(*) FROM lineitem WHERE EXISTS (SELECT 1 FROM supplier WHERE s_suppkey = v_of(l_suppkey))",
                "SELECT count(*) FROM lineitem WHERE l_suppkey IN (SELECT v_of(1))",
                "SELECT count(*) FROM lineitem WHERE l_suppkey < (SELECT other_f())",
                "SELECT l_orderkey FROM lineitem WHERE l_suppkey < (SELECT total_v()) FOR UPDATE",
                "INSERT INTO lineitem (l_orderkey) VALUES ((SELECT v_of(1)))"):
        assert isinstance(split_calls(sql), str), sql
