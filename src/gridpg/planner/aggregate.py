"""Strategy 3, two-phase aggregation: partial aggregates on every node, loaded into a
catalog temp table (a scratch placeholder) and combined there; the rewrite itself is
`planner/twophase.py`."""

from __future__ import annotations

from gridpg.planner import twophase
from gridpg.planner.plan import Fragment, NotApplicable, ScratchNames, Strategy, TwoPhasePlan


def two_phase(sql: str, groups: list[str], scratch: ScratchNames,
              foreign_type_columns: frozenset[str] = frozenset(),
              shadowed_aggregates: frozenset[str] = frozenset()) -> TwoPhasePlan | NotApplicable:
    """`foreign_type_columns`: names of the tables' columns of types not PostgreSQL's own;
    `shadowed_aggregates`: PostgreSQL's aggregate names a user's function also has."""
    temp = f"pg_temp.{scratch.new('agg')}"
    try:
        result = twophase.build_two_phase(sql, temp, foreign_type_columns=foreign_type_columns,
                                          shadowed_aggregates=shadowed_aggregates)
    except Exception as exc:  # noqa: BLE001 - a rewriter failure falls back safely
        return NotApplicable(Strategy.TWO_PHASE, f"rewriter failed: {exc}")
    if isinstance(result, twophase.NotApplicable):
        return NotApplicable(Strategy.TWO_PHASE, result.reason)
    return TwoPhasePlan(tuple(Fragment(g, result.partial_sql) for g in groups), False,
                        result.final_sql, partial_temp=temp, scratch=tuple(scratch.made))
