"""Planning a query over distributed tables: the strategies, in their declared order.

`SELECT_STRATEGIES` and `WRITE_STRATEGIES` below are the one place the order is declared.
Each strategy takes the statement's `QueryContext` and returns a plan or a
`NotApplicable` reason; the first plan wins and the reasons before it are kept (EXPLAIN
VERBOSE prints them):

  SELECT   1. router              every distributed table pinned to one node (router.py)
           2. pushdown            colocated, nothing to combine (pushdown.py)
           2b. merge              ORDER BY / LIMIT / DISTINCT by a sorted merge (merge.py)
           3. two-phase           partial aggregation (aggregate.py, twophase.py)
           4. coordinator-finish  anything else (finish.py); never for SELECT ... FOR UPDATE
                                  (locking-subplans when only its sub-selects lock, subplans.py)
  UPDATE/  1. move-rows           an UPDATE of the distribution column (writes.py)
  DELETE   2. router
           3. every node of the target: pushdown, or broadcast of the tables it reads; but
              locking-subplans first when a sub-select has FOR UPDATE/SHARE (subplans.py)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from gridpg.catalog.model import CatalogSnapshot
from gridpg.errors import FEATURE_NOT_SUPPORTED, PgError
from gridpg.planner import analyze, catalog_oids, router, tableoid
from gridpg.planner.aggregate import two_phase
from gridpg.planner.context import BoundParams
from gridpg.planner.finish import coordinator_finish
from gridpg.planner.merge import sorted_merge
from gridpg.planner.node_local import volatile_subselect
from gridpg.planner.plan import (
    DistributedPlan,
    Fragment,
    LockingSubplansPlan,
    NotApplicable,
    PushdownPlan,
    ScratchNames,
    Strategy,
)
from gridpg.planner.pushdown import Resolved, needs_combine, pushable_from
from gridpg.planner.writes import move_rows, multi_node_write, updates_column


@dataclass
class QueryContext:
    """One statement being planned: what every strategy reads, each fact computed once."""

    sql: str
    tree: dict[str, Any]
    kind: str
    resolved: list[Resolved]
    snapshot: CatalogSnapshot
    params: BoundParams
    reasons: list[NotApplicable] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.body: dict[str, Any] = self.tree[self.kind]
        self.writes = self.kind != "SelectStmt" or analyze.has_node(self.tree, "lockingClause")
        self.scratch = ScratchNames(self.sql)

    @cached_property
    def oid_use(self) -> str | None:
        """An expression whose value would be a datanode's OID (planner/catalog_oids.py)."""
        tables = [(r.ref.alias or r.ref.name, r.table.schema, r.table.name) for r in self.resolved if r.table]
        if not catalog_oids.may_use_oids(self.sql) and not any(
                self.snapshot.reg_columns_of(schema, name) for _, schema, name in tables):
            return None
        return catalog_oids.hazard(self.tree, self.kind, tables, self.snapshot, self.params)

    @cached_property
    def router_spec(self) -> router.RouterSpec | NotApplicable:
        return router.static(self.body, self.resolved, self.writes)

    @cached_property
    def pinned(self) -> set[str] | None:
        """The nodes the WHERE clause's values pin (None: not pinned)."""
        spec = self.router_spec
        return router.pinned_set(spec, self.snapshot, self.params) if isinstance(spec, router.RouterSpec) else None

    @cached_property
    def target_pinned(self) -> set[str] | None:
        """The nodes holding the rows an UPDATE/DELETE's own WHERE clause pins its target
        to (None: not pinned), when sub-selects over other tables keep the router out."""
        spec = router.target_spec(self.body, self.resolved)
        return router.pinned_set(spec, self.snapshot, self.params) if spec is not None else None

    @cached_property
    def pushable(self) -> list[str] | NotApplicable:
        """The nodes to run on when each can answer for its own rows (pinned ones only)."""
        if volatile_subselect(self.body):
            return NotApplicable(Strategy.PUSHDOWN, "a sub-select calls a volatile function: PostgreSQL "
                                 "draws its value once, each node would draw its own")
        groups = pushable_from(self.body, self.resolved, self.snapshot)
        if isinstance(groups, NotApplicable):
            return groups
        if self.pinned:
            groups = [g for g in groups if g in self.pinned]  # IN (...) over a few shards
        if self.writes and "relation" not in self.body:
            for table in router.locked_references(self.body, self.resolved):
                if set(groups) != {router.lock_node(table)}:
                    # every locker and writer of a reference table's rows locks them on its
                    # first node: locked on another, two sessions would both hold the row
                    raise PgError(FEATURE_NOT_SUPPORTED, f'SELECT ... FOR UPDATE/SHARE of reference table '
                                  f'"{table.name}" together with distributed tables is not supported here',
                                  hint="Name the tables to lock with FOR UPDATE OF, or lock the reference "
                                  "table's rows in a statement of their own.")
        return groups


Outcome = DistributedPlan | NotApplicable


def _tableoid_as_number(ctx: QueryContext, strategy: Strategy) -> NotApplicable | None:
    """A SELECT that uses a `tableoid` or another datanode OID as a number runs by the
    coordinator finish (with the catalog server's OIDs, planner/tableoid.py,
    planner/catalog_oids.py); a write that does is refused."""
    if ctx.oid_use is not None:
        if ctx.kind != "SelectStmt" or ctx.writes:
            catalog_oids.raise_refusal(ctx.kind, ctx.oid_use)
        return NotApplicable(strategy, f"{ctx.oid_use}: the catalog server's OIDs are needed")
    if not tableoid.reads_number(ctx.sql):
        return None
    if ctx.kind != "SelectStmt" or ctx.writes:
        tableoid.ensure_no_number(ctx.sql, f"{ctx.kind[:-4].upper()} over distributed tables")
    return NotApplicable(strategy, "tableoid is used as a number: the catalog server's OIDs are needed")


def _router(ctx: QueryContext) -> Outcome:
    number = _tableoid_as_number(ctx, Strategy.ROUTER)
    if number is not None:
        return number
    spec = ctx.router_spec
    return spec if isinstance(spec, NotApplicable) else router.decide(ctx.sql, spec, ctx.pinned)


def _pushdown(ctx: QueryContext) -> Outcome:
    number = _tableoid_as_number(ctx, Strategy.PUSHDOWN)
    if number is not None:
        return number
    groups = ctx.pushable
    if isinstance(groups, NotApplicable):
        return groups
    why = needs_combine(ctx.body, ctx.snapshot.aggregates)
    if why is not None:
        return NotApplicable(Strategy.PUSHDOWN, why)
    return PushdownPlan(tuple(Fragment(g, ctx.sql) for g in groups), ctx.writes)


def _merge(ctx: QueryContext) -> Outcome:
    number = _tableoid_as_number(ctx, Strategy.MERGE)
    if number is not None:
        return number
    groups = ctx.pushable
    if isinstance(groups, NotApplicable):
        return NotApplicable(Strategy.MERGE, "the FROM clause does not run node-locally")
    return sorted_merge(ctx.sql, ctx.body, ctx.resolved, groups, ctx.scratch, ctx.snapshot.aggregates)


def _two_phase(ctx: QueryContext) -> Outcome:
    number = _tableoid_as_number(ctx, Strategy.TWO_PHASE)
    if number is not None:
        return number
    groups = ctx.pushable
    if isinstance(groups, NotApplicable):
        return NotApplicable(Strategy.TWO_PHASE, "the FROM clause does not run node-locally")
    foreign = frozenset(column for r in ctx.resolved if r.table is not None
                        for column in ctx.snapshot.foreign_type_columns_of(r.table.schema, r.table.name))
    return two_phase(ctx.sql, groups, ctx.scratch, foreign, ctx.snapshot.shadowed_aggregates)


SELECT_LOCKS_REFUSED = "SELECT ... FOR UPDATE/SHARE over several nodes is not supported for this statement"
SELECT_LOCKS_HINT = ("Row locks are taken on the datanodes by statements each node runs alone "
                     "(ORDER BY ... LIMIT with SKIP LOCKED or NOWAIT, no aggregates or non-colocated "
                     "joins), or by one node when the distribution column is pinned.")


def _coordinator_finish(ctx: QueryContext) -> Outcome:
    if ctx.writes and not ctx.body.get("lockingClause"):
        # FOR UPDATE/SHARE in sub-selects only: they run first as locking SELECTs of their
        # own where they can, as an UPDATE's do (or the statement is refused)
        return LockingSubplansPlan(writes=True)
    if ctx.writes:
        if ctx.kind == "SelectStmt" and _locking_ctes_first(ctx.body):
            # its WITH entries' locking SELECTs run first, each a statement of its own
            # (executor/subplans.run_locking refuses, with the message below, when one cannot)
            return LockingSubplansPlan(writes=True)
        raise PgError(FEATURE_NOT_SUPPORTED, SELECT_LOCKS_REFUSED, hint=SELECT_LOCKS_HINT)
    plan = coordinator_finish(ctx.sql, ctx.resolved, (), ctx.scratch)
    return dataclasses.replace(plan, catalog_oids=True) if ctx.oid_use is not None else plan


def _locking_ctes_first(body: dict[str, Any]) -> bool:
    """Whether a plain SELECT's locks are its WITH entries' own (split_locking runs them
    first): its own FOR UPDATE/SHARE, if any, names no relation over a FROM of references to
    its entries alone (which locks nothing: dropped), and some entry locks or it had one."""
    if body.get("intoClause") or body.get("op", "SETOP_NONE") != "SETOP_NONE":
        return False
    with_clause = body.get("withClause") or {}
    ctes = [c["CommonTableExpr"] for c in with_clause.get("ctes") or []]
    if with_clause.get("recursive"):
        return False
    clauses = body.get("lockingClause") or []
    if not clauses:
        return any(analyze.has_node(c.get("ctequery"), "lockingClause") for c in ctes)
    names = {c.get("ctename") for c in ctes}

    def only_ctes(item: dict[str, Any]) -> bool:
        if "JoinExpr" in item:
            return only_ctes(item["JoinExpr"]["larg"]) and only_ctes(item["JoinExpr"]["rarg"])
        rel = item.get("RangeVar")
        return rel is not None and not rel.get("schemaname") and rel.get("relname") in names

    return not any(c["LockingClause"].get("lockedRels") for c in clauses) \
        and bool(body.get("fromClause")) and all(only_ctes(i) for i in body["fromClause"])


def _move_rows(ctx: QueryContext) -> Outcome:
    if ctx.oid_use is not None:
        catalog_oids.raise_refusal(ctx.kind, ctx.oid_use)
    tableoid.ensure_no_number(ctx.sql, f"{ctx.kind[:-4].upper()} over distributed tables")
    target = ctx.resolved[0].table
    if ctx.kind == "UpdateStmt" and target is not None and target.column and \
            target.method in ("hash", "modulo") and updates_column(ctx.body, target.column):
        if any(r.table is not None for r in ctx.resolved[1:]):
            # a gathered copy of another table would name the copy (the target's own copies
            # are mapped to their members: executor/multi._member_tableoids)
            tableoid.ensure_not_gathered(ctx.sql, "moving rows between nodes")
        return move_rows(ctx.sql, ctx.body, ctx.resolved)
    return NotApplicable(Strategy.MOVE_ROWS, "the distribution column keeps its value")


def _every_target_node(ctx: QueryContext) -> Outcome:
    if ctx.oid_use is not None:
        catalog_oids.raise_refusal(ctx.kind, ctx.oid_use)
    if analyze.has_node(ctx.tree, "lockingClause"):
        # Run on the target's nodes, a sub-select's FOR UPDATE/SHARE would lock the rows of
        # what it reads there: a broadcast copy, each node's own LIMIT of rows, one replica.
        # The sub-selects run first instead, as locking SELECTs of their own (or the
        # statement is refused): never a silently locked copy.
        return LockingSubplansPlan(writes=True)
    tableoid.ensure_no_number(ctx.sql, f"{ctx.kind[:-4].upper()} over distributed tables")
    return multi_node_write(ctx.sql, ctx.body, ctx.resolved, ctx.reasons, ctx.snapshot, ctx.target_pinned)


Step = Callable[[QueryContext], Outcome]
SELECT_STRATEGIES: tuple[tuple[Strategy, Step], ...] = (
    (Strategy.ROUTER, _router),
    (Strategy.PUSHDOWN, _pushdown),
    (Strategy.MERGE, _merge),
    (Strategy.TWO_PHASE, _two_phase),
    (Strategy.COORDINATOR_FINISH, _coordinator_finish),
)
WRITE_STRATEGIES: tuple[tuple[Strategy, Step], ...] = (
    (Strategy.MOVE_ROWS, _move_rows),
    (Strategy.ROUTER, _router),
    (Strategy.PUSHDOWN, _every_target_node),  # or LOCKING_SUBPLANS first, or BROADCAST of the tables it reads
)
OTHER_STRATEGIES: tuple[tuple[Strategy, Step], ...] = ((Strategy.ROUTER, _router),)


def plan_query(sql: str, tree: dict[str, Any], kind: str, resolved: list[Resolved],
               snapshot: CatalogSnapshot, params: BoundParams) -> DistributedPlan:
    """The plan of a SELECT, UPDATE or DELETE over distributed tables."""
    ctx = QueryContext(sql, tree, kind, resolved, snapshot, params)
    strategies = {"SelectStmt": SELECT_STRATEGIES, "UpdateStmt": WRITE_STRATEGIES,
                  "DeleteStmt": WRITE_STRATEGIES}.get(kind, OTHER_STRATEGIES)
    for _, step in strategies:
        outcome = step(ctx)
        if isinstance(outcome, DistributedPlan):
            if outcome.reasons or not ctx.reasons:
                return outcome
            return dataclasses.replace(outcome, reasons=tuple(ctx.reasons))
        ctx.reasons.append(outcome)
    # the last SELECT and UPDATE/DELETE strategies always apply: only other statements end here
    raise PgError(FEATURE_NOT_SUPPORTED, f"{kind[:-4].upper()} over several nodes is not supported by gridpg yet")
