"""commands/index_upkeep: which statements run the index maintenance functions on the
datanodes (h-regress17a). EXPLAIN without ANALYZE plans the calls and must not run them."""

from __future__ import annotations

import pytest

from gridpg.commands import index_upkeep
from gridpg.planner import sizes as plan_sizes


@pytest.mark.parametrize(("sql", "explains_only"), [
    ("EXPLAIN SELECT brin_summarize_new_values('i')", True),
    ("EXPLAIN (COSTS OFF) SELECT gin_clean_pending_list('i')", True),
    ("EXPLAIN (ANALYZE false) SELECT brin_summarize_new_values('i')", True),
    ("EXPLAIN ANALYZE SELECT brin_summarize_new_values('i')", False),
    ("EXPLAIN (ANALYZE, COSTS OFF) SELECT brin_summarize_new_values('i')", False),
    ("SELECT brin_summarize_new_values('i')", False),
])
def test_explain_without_analyze_runs_nothing(sql: str, explains_only: bool) -> None:
    assert index_upkeep._explains_only(sql) is explains_only


def test_the_calls_found() -> None:
    sql = ("SELECT pg_catalog.brin_summarize_range('s.i', 2) AS n, gin_clean_pending_list('g') > 10 AS many, "
           "brin_desummarize_range(c.oid, 0) FROM pg_class c")
    calls = plan_sizes.find_calls(sql, index_upkeep.FUNCTIONS)
    assert [(c.name, c.args, c.constant) for c in calls] == [
        ("brin_summarize_range", ("'s.i'", "2"), True),
        ("gin_clean_pending_list", ("'g'",), True),
        ("brin_desummarize_range", ("c.oid", "0"), False),
    ]
    assert index_upkeep.mentions(sql) and not index_upkeep.mentions("SELECT brin_foo('i')")
