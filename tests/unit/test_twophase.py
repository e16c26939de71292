"""Golden tests of the two-phase aggregation rewriter: SQL in, partial and final SQL out.

The integration test (tests/integration/test_twophase_pg.py) proves these shapes give
PostgreSQL's answers; here each supported shape and each refusal is pinned down as text.
"""

from __future__ import annotations

import pytest

from gridpg.planner.twophase import NotApplicable, TwoPhasePlan, build_two_phase

TEMP = "pg_temp.gp_agg_1"

GOLDEN = [  # (query, partial_sql, final_sql)
    # a bare column in GROUP BY is the one the statement qualifies (`c.d` exists, so `d`
    # is `c.d` or ambiguous): the select list's `to_char(c.d, ...)` is the group key
    ("SELECT to_char(c.d, 'YYYY-MM') AS m, t.k, count(*) FROM c JOIN t ON t.id = c.id GROUP BY to_char(d, 'YYYY-MM'), t.k",
     "SELECT to_char(d, 'YYYY-MM') AS g1, t.k AS g2, count(*) AS p3 FROM c INNER JOIN t ON t.id = c.id GROUP BY 1, 2",
     'SELECT g1 AS m, g2 AS k, CAST(COALESCE(sum(p3), 0) AS bigint) AS count FROM pg_temp.gp_agg_1 GROUP BY g1, g2'),
    # ... but two tables' columns of one name stay apart: t.id is no group key of c.id
    ('SELECT t.id, count(*) FROM c JOIN t ON t.x = c.x GROUP BY c.id',
     'SELECT c.id AS g1, t.id AS f2, count(*) AS p3 FROM c INNER JOIN t ON t.x = c.x GROUP BY 1',
     'SELECT f2 AS id, CAST(COALESCE(sum(p3), 0) AS bigint) AS count FROM pg_temp.gp_agg_1 GROUP BY g1, f2'),
    # b must depend on a (a's table's primary key): the partial query keeps GROUP BY a, so
    # the node checks that as PostgreSQL does; the temp table has no key, so both group
    ('SELECT a, b, count(*) FROM t GROUP BY a ORDER BY b',
     'SELECT a AS g1, b AS f2, count(*) AS p3 FROM t GROUP BY 1',
     'SELECT g1 AS a, f2 AS b, CAST(COALESCE(sum(p3), 0) AS bigint) AS count FROM pg_temp.gp_agg_1 GROUP BY g1, f2 ORDER BY b'),
    ('SELECT count(*), count(x) FROM t',
     'SELECT count(*) AS p1, count(x) AS p2 FROM t',
     'SELECT CAST(COALESCE(sum(p1), 0) AS bigint) AS count, CAST(COALESCE(sum(p2), 0) AS bigint) AS count FROM pg_temp.gp_agg_1'),
    ('SELECT sum(x) FROM t',
     'SELECT sum(x) AS p1 FROM t',
     'SELECT (CAST(ROW(sum(p1)) AS pg_temp.gp_agg_1)).p1 AS sum FROM pg_temp.gp_agg_1'),
    ('SELECT avg(x) FROM t',
     "SELECT avg(x) FILTER (WHERE FALSE) AS p1, count(x) AS p2, sum(CASE WHEN pg_catalog.pg_typeof(x) = CAST('pg_catalog.float4' AS pg_catalog.regtype) THEN x * CAST(1 AS double precision) END) AS p3, sum(x) AS p4 FROM t",
     'SELECT COALESCE((CAST(ROW(sum(p3) / NULLIF(sum(p2), 0), NULL, NULL, NULL) AS pg_temp.gp_agg_1)).p1, sum(p4) / NULLIF(sum(p2), 0)) AS avg FROM pg_temp.gp_agg_1'),
    ('SELECT min(x), max(x) FROM t',
     'SELECT min(x) AS p1, max(x) AS p2 FROM t',
     'SELECT min(p1) AS min, max(p2) AS max FROM pg_temp.gp_agg_1'),
    ('SELECT bool_and(f), bool_or(f), every(f) FROM t',
     'SELECT bool_and(f) AS p1, bool_or(f) AS p2, every(f) AS p3 FROM t',
     'SELECT bool_and(p1) AS bool_and, bool_or(p2) AS bool_or, bool_and(p3) AS every FROM pg_temp.gp_agg_1'),
    ('SELECT var_pop(x) FROM t',
     "SELECT var_pop(x) FILTER (WHERE FALSE) AS p1, count(x) AS p2, sum(CASE WHEN pg_catalog.pg_typeof(x) IN (CAST('pg_catalog.float4' AS pg_catalog.regtype), CAST('pg_catalog.float8' AS pg_catalog.regtype)) THEN NULL ELSE CAST(x AS numeric) END) AS p3, sum(CASE WHEN pg_catalog.pg_typeof(x) IN (CAST('pg_catalog.float4' AS pg_catalog.regtype), CAST('pg_catalog.float8' AS pg_catalog.regtype)) THEN NULL ELSE CAST(x AS numeric) END * CASE WHEN pg_catalog.pg_typeof(x) IN (CAST('pg_catalog.float4' AS pg_catalog.regtype), CAST('pg_catalog.float8' AS pg_catalog.regtype)) THEN NULL ELSE CAST(x AS numeric) END) AS p4, sum(CASE WHEN pg_catalog.pg_typeof(x) IN (CAST('pg_catalog.float4' AS pg_catalog.regtype), CAST('pg_catalog.float8' AS pg_catalog.regtype)) THEN CAST(x AS double precision) END) AS p5, var_pop(CASE WHEN pg_catalog.pg_typeof(x) IN (CAST('pg_catalog.float4' AS pg_catalog.regtype), CAST('pg_catalog.float8' AS pg_catalog.regtype)) THEN CAST(x AS double precision) END) * count(CASE WHEN pg_catalog.pg_typeof(x) IN (CAST('pg_catalog.float4' AS pg_catalog.regtype), CAST('pg_catalog.float8' AS pg_catalog.regtype)) THEN CAST(x AS double precision) END) AS p6, bool_and(CASE WHEN pg_catalog.pg_typeof(x) IN (CAST('pg_catalog.float4' AS pg_catalog.regtype), CAST('pg_catalog.float8' AS pg_catalog.regtype)) THEN CAST(x AS double precision) END = pg_catalog.trunc(CASE WHEN pg_catalog.pg_typeof(x) IN (CAST('pg_catalog.float4' AS pg_catalog.regtype), CAST('pg_catalog.float8' AS pg_catalog.regtype)) THEN CAST(x AS double precision) END)) AS p7 FROM t",
     'SELECT COALESCE((CAST(ROW(CASE WHEN sum(p2) = 0 THEN NULL ELSE (sum(p6) + GREATEST(sum((p5 - p2 * w1) / p2 * (p5 - p2 * w1)) - sum(p5 - p2 * w1) / sum(p2) * sum(p5 - p2 * w1), 0)) / sum(p2) END, NULL, NULL, NULL, NULL, NULL, NULL) AS pg_temp.gp_agg_1)).p1, COALESCE(min(p1), CASE WHEN sum(p2) <= 0 THEN NULL WHEN sum(p2) * sum(p4) - sum(p3) * sum(p3) <= 0 THEN 0 ELSE (sum(p2) * sum(p4) - sum(p3) * sum(p3)) / (sum(p2) * sum(p2)) END)) AS var_pop FROM (SELECT *, CASE WHEN bool_and(p7) OVER () THEN round(min(p5 / NULLIF(p2, 0)) OVER ()) ELSE min(p5 / NULLIF(p2, 0)) OVER () END AS w1 FROM pg_temp.gp_agg_1) AS partials'),
    # count(o.*) beside a shipped aggregate: `o.*` in the partial's select list would
    # expand to o's columns, so whether o's whole row is there (not an outer join's
    # NULL) is shipped instead
    ("SELECT c.k, count(o.*), array_agg(o.s ORDER BY o.id) FROM c LEFT JOIN o ON o.k = c.k GROUP BY c.k",
     "SELECT c.k AS g1, o.* IS DISTINCT FROM NULL OR NULL AS v2, o.s AS v3, o.id AS v4 FROM c LEFT JOIN o ON o.k = c.k",
     "SELECT g1 AS k, count(v2) AS count, array_agg(v3 ORDER BY v4) AS array_agg FROM pg_temp.gp_agg_1 GROUP BY g1"),
    ("SELECT a, string_agg(s, ',' ORDER BY s) FROM t GROUP BY a",
     'SELECT a AS g1, s AS v2 FROM t',
     "SELECT g1 AS a, string_agg(v2, ',' ORDER BY v2) AS string_agg FROM pg_temp.gp_agg_1 GROUP BY g1"),
    ('SELECT array_agg(x ORDER BY y DESC) FILTER (WHERE f) FROM t',
     'SELECT x AS v1, y AS v2, f AS v3 FROM t',
     'SELECT array_agg(v1 ORDER BY v2 DESC) FILTER (WHERE v3) AS array_agg FROM pg_temp.gp_agg_1'),
    ('SELECT a, count(DISTINCT x), sum(x) FROM t GROUP BY a',
     'SELECT a AS g1, x AS v2, sum(x) AS p3 FROM t GROUP BY 1, 2',
     'SELECT g1 AS a, count(DISTINCT v2) AS count, (CAST(ROW(NULL, NULL, sum(p3)) AS pg_temp.gp_agg_1)).p3 AS sum FROM pg_temp.gp_agg_1 GROUP BY g1'),
    ('SELECT count(*) FILTER (WHERE x > 1) FROM t',
     'SELECT count(*) FILTER (WHERE x > 1) AS p1 FROM t',
     'SELECT CAST(COALESCE(sum(p1), 0) AS bigint) AS count FROM pg_temp.gp_agg_1'),
    ('SELECT a + 1, count(*) FROM t GROUP BY 1',
     'SELECT a + 1 AS g1, count(*) AS p2 FROM t GROUP BY 1',
     'SELECT g1 AS "?column?", CAST(COALESCE(sum(p2), 0) AS bigint) AS count FROM pg_temp.gp_agg_1 GROUP BY g1'),
    ('SELECT t.a, count(*) FROM t GROUP BY a HAVING sum(x) > 10 ORDER BY count(*) DESC LIMIT 5 OFFSET 2',
     'SELECT a AS g1, count(*) AS p2, sum(x) AS p3 FROM t GROUP BY 1',
     'SELECT g1 AS a, CAST(COALESCE(sum(p2), 0) AS bigint) AS count FROM pg_temp.gp_agg_1 GROUP BY g1 HAVING (CAST(ROW(NULL, NULL, sum(p3)) AS pg_temp.gp_agg_1)).p3 > 10 ORDER BY CAST(COALESCE(sum(p2), 0) AS bigint) DESC LIMIT 5 OFFSET 2'),
    ('SELECT DISTINCT a % 2, max(x) FROM t GROUP BY a',
     'SELECT a AS g1, max(x) AS p2 FROM t GROUP BY 1',
     'SELECT DISTINCT g1 % 2 AS "?column?", max(p2) AS max FROM pg_temp.gp_agg_1 GROUP BY g1'),
    ('SELECT round(avg(x), 2), coalesce(max(x), 0), sum(a) / count(*) FROM t',
     "SELECT avg(x) FILTER (WHERE FALSE) AS p1, count(x) AS p2, sum(CASE WHEN pg_catalog.pg_typeof(x) = CAST('pg_catalog.float4' AS pg_catalog.regtype) THEN x * CAST(1 AS double precision) END) AS p3, sum(x) AS p4, max(x) AS p5, sum(a) AS p6, count(*) AS p7 FROM t",
     'SELECT round(COALESCE((CAST(ROW(sum(p3) / NULLIF(sum(p2), 0), NULL, NULL, NULL, NULL, NULL, NULL) AS pg_temp.gp_agg_1)).p1, sum(p4) / NULLIF(sum(p2), 0)), 2) AS round, COALESCE(max(p5), 0) AS coalesce, (CAST(ROW(NULL, NULL, NULL, NULL, NULL, sum(p6), NULL) AS pg_temp.gp_agg_1)).p6 / CAST(COALESCE(sum(p7), 0) AS bigint) AS "?column?" FROM pg_temp.gp_agg_1'),
    ('SELECT a, count(*) AS n FROM t GROUP BY a ORDER BY n',
     'SELECT a AS g1, count(*) AS p2 FROM t GROUP BY 1',
     'SELECT g1 AS a, CAST(COALESCE(sum(p2), 0) AS bigint) AS n FROM pg_temp.gp_agg_1 GROUP BY g1 ORDER BY n'),
    ('SELECT a FROM t GROUP BY a',
     'SELECT a AS g1 FROM t GROUP BY 1',
     'SELECT g1 AS a FROM pg_temp.gp_agg_1 GROUP BY g1'),
    ('SELECT 1, x::text, count(*) FROM t GROUP BY x',
     'SELECT x AS g1, count(*) AS p2 FROM t GROUP BY 1',
     'SELECT 1 AS "?column?", CAST(g1 AS text) AS x, CAST(COALESCE(sum(p2), 0) AS bigint) AS count FROM pg_temp.gp_agg_1 GROUP BY g1'),
    ('SELECT DISTINCT ON (a) a, b, count(*) FROM t GROUP BY a, b ORDER BY a, b',
     'SELECT a AS g1, b AS g2, count(*) AS p3 FROM t GROUP BY 1, 2',
     'SELECT DISTINCT ON (a) g1 AS a, g2 AS b, CAST(COALESCE(sum(p3), 0) AS bigint) AS count FROM pg_temp.gp_agg_1 GROUP BY g1, g2 ORDER BY a, b'),
]


@pytest.mark.parametrize(("sql", "partial_sql", "final_sql"), GOLDEN)
def test_golden(sql: str, partial_sql: str, final_sql: str) -> None:
    assert build_two_phase(sql, TEMP) == TwoPhasePlan(partial_sql, final_sql)


REFUSED = [  # (query, words of the reason)
    ("SELECT count(*) OVER () FROM t", "window functions"),
    ("SELECT a, count(*) FROM t GROUP BY a WINDOW w AS (ORDER BY a)", "window functions"),
    ("SELECT a, count(*) FROM t GROUP BY ROLLUP (a)", "GROUPING SETS"),
    ("SELECT a, count(*) FROM t GROUP BY CUBE (a)", "GROUPING SETS"),
    ("SELECT a, b, count(*) FROM t GROUP BY GROUPING SETS ((a), (b))", "GROUPING SETS"),
    ("SELECT count(*) FROM t UNION SELECT count(*) FROM u", "set operations"),
    ("SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY x) FROM t", "percentile_cont"),
    ("SELECT mode() WITHIN GROUP (ORDER BY x) FROM t", "mode"),
    ("SELECT json_agg(x) FROM t", "json_agg"),
    ("SELECT myschema.my_agg(x) FROM t", "no aggregates"),
    ("SELECT count(*), myschema.my_agg(x) FROM t", "my_agg"),
    ("SELECT my_agg(DISTINCT x) FROM t", "my_agg is not supported"),
    ("SELECT a, my_agg(1) FROM t GROUP BY a", "my_agg"),
    ("SELECT a FROM t", "no aggregates and no GROUP BY"),
    ("SELECT count(*) FROM t WHERE x > (SELECT avg(x) FROM t)", "subquery contains aggregates"),
    ("SELECT a, (SELECT 1) FROM t GROUP BY a", "subquery"),
    ("SELECT count(*) FROM (SELECT a FROM t GROUP BY a) s", "subquery in FROM"),
    ("SELECT count(*) FROM (SELECT DISTINCT a FROM t) s", "subquery in FROM"),
    ("SELECT count(*) FROM (SELECT a FROM t LIMIT 3) s", "subquery in FROM"),
    ("WITH c AS (SELECT a FROM t) SELECT count(*) FROM c", "WITH"),
    ("SELECT count(*) FROM generate_series(1, 3)", "function in FROM"),
    ("SELECT count(*) FROM (VALUES (1)) v(x)", "VALUES"),
    ("SELECT count(*)", "no FROM"),
    ("SELECT a, b, string_agg(c, ',') FROM t GROUP BY a", "column b"),
    ("SELECT a, array_agg(o.* ORDER BY o.id) FROM t JOIN o ON o.a = t.a GROUP BY a", "whole-row"),
    ("SELECT a, count(DISTINCT o.*), string_agg(o.s, ',') FROM t JOIN o ON o.a = t.a GROUP BY a", "whole-row"),
    ("SELECT *, count(*) FROM t GROUP BY a", "*"),
    ("SELECT a + 1 AS b, count(*) FROM t GROUP BY b", "input or an output column"),
    ("SELECT count(*) FROM t GROUP BY 3", "position 3"),
    ("SELECT count(*) FROM t GROUP BY 1", "refers to an aggregate"),
    ("SELECT count(*) FROM t WHERE count(*) > 1", "aggregate in WHERE"),
    ("SELECT sum(count(*)) FROM t", "nested aggregate"),
    ("SELECT a, GROUPING(a) FROM t GROUP BY a", "GROUPING()"),
    ("SELECT count(*), $1 FROM t", "parameter"),
    ("SELECT count(*), current_user FROM t", "session/time value"),
    ("SELECT count(*) FROM t LIMIT (SELECT 1)", "LIMIT/OFFSET"),
    ("SELECT count(*) FROM t FOR UPDATE", "FOR UPDATE"),
    ("SELECT count(*) INTO x FROM t", "SELECT INTO"),
    ("SELECT count(DISTINCT (a, b)) FROM t", "row-valued"),
    ("SELECT sum(a, b) FROM t", "2 arguments"),
    ("SELEC count(*) FROM t", "syntax error"),
    ("SELECT 1; SELECT 2", "single SELECT"),
    ("INSERT INTO t VALUES (1)", "single SELECT"),
]


@pytest.mark.parametrize(("sql", "reason"), REFUSED)
def test_refused(sql: str, reason: str) -> None:
    result = build_two_phase(sql, TEMP)
    assert isinstance(result, NotApplicable), result
    assert reason in result.reason


def test_output_names_follow_postgres() -> None:
    plan = build_two_phase(
        "SELECT count(*), sum(x)::int, 1::int, CASE WHEN true THEN 1 ELSE max(x) END,"
        " CASE WHEN true THEN 1 END, coalesce(min(x), 0), nullif(min(x), 0),"
        " greatest(max(x), 1), ARRAY[max(x)], x AS \"My Col\" FROM t GROUP BY x", TEMP)
    assert isinstance(plan, TwoPhasePlan)
    for name in ("AS count", "AS sum", "AS int4", "AS \"case\"", "AS coalesce", "AS nullif",
                 "AS greatest", 'AS "array"', "AS \"My Col\""):
        assert name in plan.final_sql, name
    assert plan.final_sql.count('AS "case"') == 1  # the first CASE is named after its ELSE
    assert "END AS max" in plan.final_sql


def test_same_aggregate_is_computed_once() -> None:
    plan = build_two_phase("SELECT sum(x), sum(x) + 1, avg(x) FROM t", TEMP)
    assert isinstance(plan, TwoPhasePlan)
    assert plan.partial_sql.startswith("SELECT sum(x) AS p1, avg(x) FILTER (WHERE FALSE) AS p2, count(x) AS p3")
    assert plan.partial_sql.count("sum(x)") == 1 and plan.partial_sql.count("count(x)") == 1


def test_identifiers_are_quoted_by_the_deparser() -> None:
    plan = build_two_phase('SELECT "Weird ""Col""", count(*) FROM "My Table" GROUP BY 1',
                           'pg_temp."Tmp Table"')
    assert isinstance(plan, TwoPhasePlan)
    assert plan.partial_sql == ('SELECT "Weird ""Col""" AS g1, count(*) AS p2'
                                ' FROM "My Table" GROUP BY 1')
    assert 'FROM pg_temp."Tmp Table"' in plan.final_sql
    assert 'AS "Weird ""Col"""' in plan.final_sql


def test_sum_is_cast_through_the_temp_row_type() -> None:
    plan = build_two_phase("SELECT a, sum(x) FROM t GROUP BY a", "pg_temp.gp_agg_9")
    assert isinstance(plan, TwoPhasePlan)
    assert "(CAST(ROW(NULL, sum(p2)) AS pg_temp.gp_agg_9)).p2 AS sum" in plan.final_sql


def test_variance_family_takes_its_type_from_a_typed_null() -> None:
    plan = build_two_phase("SELECT stddev(x) FILTER (WHERE x > 0) FROM t", TEMP)
    assert isinstance(plan, TwoPhasePlan)
    assert plan.partial_sql.startswith("SELECT stddev(x) FILTER (WHERE FALSE) AS p1,"
                                       " count(x) FILTER (WHERE x > 0) AS p2")
    assert "COALESCE(min(p1), CASE WHEN sum(p2) <= 1" in plan.final_sql


def test_bad_temp_table_name_is_a_caller_error() -> None:
    with pytest.raises(ValueError):
        build_two_phase("SELECT count(*) FROM t", "a b c")


def test_avg_sums_real_in_float8_typed_like_avg() -> None:
    plan = build_two_phase("SELECT g, avg(x) FROM t GROUP BY g", TEMP)
    assert isinstance(plan, TwoPhasePlan)
    # a typed NULL of avg's result type first, then the float8 sum for float4 input
    assert "avg(x) FILTER (WHERE FALSE) AS p2" in plan.partial_sql
    assert "THEN x * CAST(1 AS double precision) END) AS p4" in plan.partial_sql
    assert "COALESCE((CAST(ROW(NULL, sum(p4) / NULLIF(sum(p3), 0)" in plan.final_sql


def test_float_variance_combines_around_a_group_reference() -> None:
    plan = build_two_phase("SELECT g, var_samp(x) FROM t GROUP BY g", TEMP)
    assert isinstance(plan, TwoPhasePlan)
    assert "var_pop(CASE WHEN pg_catalog.pg_typeof(x) IN" in plan.partial_sql
    # the reference is the smallest node mean, rounded when every input is an integer
    # (n * w1 and the sums' distances from it are then exact)
    assert "bool_and(CASE WHEN pg_catalog.pg_typeof(x) IN" in plan.partial_sql
    assert plan.final_sql.endswith(
        "FROM (SELECT *, CASE WHEN bool_and(p8) OVER (PARTITION BY g1)"
        " THEN round(min(p6 / NULLIF(p3, 0)) OVER (PARTITION BY g1))"
        " ELSE min(p6 / NULLIF(p3, 0)) OVER (PARTITION BY g1) END AS w1"
        " FROM pg_temp.gp_agg_1) AS partials GROUP BY g1")


@pytest.mark.parametrize("sql", [
    "SELECT sum(x ORDER BY y) FROM t",
    "SELECT g, avg(x ORDER BY x DESC), count(*) FROM t GROUP BY g",
    "SELECT variance(x ORDER BY y) FROM t",
])
def test_float_sums_in_a_given_order_ship_their_rows(sql: str) -> None:
    plan = build_two_phase(sql, TEMP)
    assert isinstance(plan, TwoPhasePlan)
    assert "GROUP BY" not in plan.partial_sql  # one row per input row
    assert "ORDER BY" in plan.final_sql


def test_order_inside_count_or_distinct_sum_keeps_combining() -> None:
    plan = build_two_phase("SELECT count(x ORDER BY y), sum(DISTINCT x ORDER BY x) FROM t", TEMP)
    assert isinstance(plan, TwoPhasePlan)
    assert "GROUP BY 2" in plan.partial_sql


def test_avg_over_a_column_of_an_extension_type_is_not_split() -> None:
    """avg's partials are PostgreSQL's numeric sums and casts (`x * 1::float8`): over
    pgvector's vector they fail with 42883, so avg and the variances of such a column run
    whole; sum/count/min/max and avg of the other columns still split."""
    foreign = frozenset({"embedding"})
    for sql in ("SELECT avg(embedding) FROM items", "SELECT cat, avg(i.embedding) FROM items i GROUP BY cat",
                "SELECT variance(embedding) FROM items"):
        assert isinstance(build_two_phase(sql, "pg_temp.t", foreign_type_columns=foreign), NotApplicable)
    for sql in ("SELECT sum(embedding), count(embedding) FROM items", "SELECT cat, avg(id) FROM items GROUP BY cat"):
        assert isinstance(build_two_phase(sql, "pg_temp.t", foreign_type_columns=foreign), TwoPhasePlan)
    assert isinstance(build_two_phase("SELECT avg(embedding) FROM items", "pg_temp.t"), TwoPhasePlan)
