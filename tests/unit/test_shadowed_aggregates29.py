"""Two-phase aggregation and a user's function named like one of PostgreSQL's aggregates
(`CREATE AGGREGATE sum(text)`): an unqualified call of the name may resolve to the user's,
whose partial results PostgreSQL's combining step would misread, so the rewriter refuses
it (the statement is then finished whole on the coordinator). The oracle corpus file
99_analytic29.sql shows the wrong answer this prevents."""

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
