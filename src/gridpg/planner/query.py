"""Planning a query over distributed tables: the strategies, in their declared order.

For a SELECT the strategies of `QUERY_STRATEGIES` are tried in order; the first that
applies wins and the reasons of those that did not are kept (EXPLAIN VERBOSE):

  1. router              every distributed table pinned to one node (planner/router.py)
  2. pushdown            colocated, nothing to combine (planner/pushdown.py)
  2b. merge              ORDER BY / LIMIT / DISTINCT by a sorted merge (planner/merge.py)
  3. two-phase           partial aggregation (planner/aggregate.py, planner/twophase.py)
  4. coordinator-finish  anything else (planner/finish.py)

UPDATE/DELETE: router, else every node of the target (planner/writes.py); an UPDATE of
the distribution column moves the rows.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from gridpg.catalog.model import CatalogSnapshot
from gridpg.errors import FEATURE_NOT_SUPPORTED, PgError
from gridpg.planner import analyze, router
from gridpg.planner.aggregate import two_phase
from gridpg.planner.context import BoundParams
from gridpg.planner.finish import coordinator_finish
from gridpg.planner.merge import sorted_merge
from gridpg.planner.plan import DistributedPlan, Fragment, NotApplicable, PushdownPlan, ScratchNames
from gridpg.planner.pushdown import Resolved, needs_combine, pushable_from
from gridpg.planner.writes import move_rows, multi_node_write, updates_column


def plan_query(sql: str, tree: dict[str, Any], kind: str, resolved: list[Resolved],
               snapshot: CatalogSnapshot, params: BoundParams) -> DistributedPlan:
    """The plan of a SELECT, UPDATE or DELETE over distributed tables."""
    reasons: list[NotApplicable] = []
    writes = kind != "SelectStmt" or analyze.has_node(tree, "lockingClause")
    body = tree[kind]
    target = resolved[0].table
    if kind == "UpdateStmt" and target is not None and target.column and \
            target.method in ("hash", "modulo") and updates_column(body, target.column):
        return move_rows(sql, body, resolved)
    # 1. router
    spec = router.static(body, resolved, writes)
    pinned = router.pinned_set(spec, snapshot, params) if isinstance(spec, router.RouterSpec) else None
    routed = spec if isinstance(spec, NotApplicable) else router.decide(sql, spec, pinned)
    if isinstance(routed, DistributedPlan):
        return routed
    reasons.append(routed)
    if kind in ("UpdateStmt", "DeleteStmt"):
        return multi_node_write(sql, body, resolved, reasons, snapshot)
    if kind != "SelectStmt":
        raise PgError(FEATURE_NOT_SUPPORTED, f"{kind[:-4].upper()} over several nodes is not supported by gridpg yet")
    # 2. pushdown
    scratch = ScratchNames(sql)
    pushable = pushable_from(body, resolved, snapshot)
    if isinstance(pushable, NotApplicable):
        reasons.append(pushable)
    else:
        if pinned:  # IN (...) over a few shards: only their nodes
            pushable = [g for g in pushable if g in pinned]
        plain = needs_combine(body)
        if plain is None:
            return PushdownPlan(tuple(Fragment(g, sql) for g in pushable), writes,
                                reasons=tuple(reasons))
        reasons.append(NotApplicable(PushdownPlan.strategy, plain))
        # 2b. sorted merge, 3. two-phase aggregation
        for strategy in (sorted_merge_of(sql, body, resolved), two_phase):
            found = strategy(sql, pushable, scratch)
            if isinstance(found, DistributedPlan):
                return dataclasses.replace(found, reasons=tuple(reasons))
            reasons.append(found)
    if writes:
        raise PgError(FEATURE_NOT_SUPPORTED, "SELECT ... FOR UPDATE/SHARE over several nodes is not supported")
    # 4. coordinator finish
    return coordinator_finish(sql, resolved, tuple(reasons), scratch)


def sorted_merge_of(sql: str, body: dict[str, Any], resolved: list[Resolved]) -> Any:
    """The sorted merge as a strategy of the common shape (sql, groups, scratch)."""
    return lambda _sql, groups, scratch: sorted_merge(sql, body, resolved, groups, scratch)
