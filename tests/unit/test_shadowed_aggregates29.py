"""Two-phase aggregation refusals found by h-probe29 (the oracle corpus file
99_analytic29.sql shows the wrong answers they prevent). A user's function named like one
of PostgreSQL's aggregates (`CREATE AGGREGATE sum(text)`): an unqualified call of the name
may resolve to the user's, whose partial results PostgreSQL's combining step would
misread. JSON_ARRAY(SELECT ...): a subquery that is no SubLink in the raw parse tree, whose
aggregates are not the statement's. Both leave the statement whole (coordinator finish)."""

from __future__ import annotations

from gridpg.planner.twophase import NotApplicable, TwoPhasePlan, build_two_phase

TEMP = "pg_temp.gp_agg_1"


def test_unshadowed_names_are_split() -> None:
    assert isinstance(build_two_phase("SELECT sum(w), avg(k) FROM t", TEMP, shadowed_aggregates=frozenset({"max"})),
                      TwoPhasePlan)


def test_a_shadowed_name_is_not_split() -> None:
    for sql in ("SELECT sum(w) FROM t", "SELECT k, sum(w) FROM t GROUP BY k",
                "SELECT count(*) FROM t HAVING sum(w) > 1"):
        result = build_two_phase(sql, TEMP, shadowed_aggregates=frozenset({"sum"}))
        assert isinstance(result, NotApplicable), sql
        assert "also named sum" in result.reason


def test_pg_catalog_qualified_call_is_postgresql_s() -> None:
    result = build_two_phase("SELECT pg_catalog.sum(k) FROM t", TEMP, shadowed_aggregates=frozenset({"sum"}))
    assert isinstance(result, TwoPhasePlan)


def test_json_array_of_a_subquery_is_not_split() -> None:
    """JSON_ARRAY(SELECT count(*) ...) holds a subquery that is no SubLink in the raw tree:
    its count(*) is not the statement's aggregate."""
    result = build_two_phase("SELECT k, JSON_ARRAY(SELECT count(*) FROM u) FROM t", TEMP)
    assert isinstance(result, NotApplicable)
    assert "JSON_ARRAY" in result.reason
