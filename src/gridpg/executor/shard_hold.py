"""Shard holds: which statements an online move's switch must hold.

The switch of a shard group (shard r of every table of one colocation, moving from group
`source` to group `target`: commands/placement.py) holds only the statements that may
read or write those shards; everything else runs untouched. The hold is GTM state (a
*scoped* pause, gtm/coordination.py) that every coordinator worker watches
(txn/pause.py); while it is set, each statement is classified here before it runs:

- a statement that references no table of the held colocation passes;
- a query whose every held table is pinned by its distribution column (`col = value`,
  `col IN (...)`, literals or bound parameters) to other shards than r passes;
- anything else that references a held table (multi-node queries, INSERT, COPY, DDL,
  `EXECUTE` of an SQL-level prepared statement, whose text is not looked at) is held.

Classification errs towards holding: a statement wrongly held waits (bounded), one wrongly
let through could read the old placement. Nothing here runs while no hold is set: the
hot path reads one attribute. Talks to no server; the planner's cached analysis is read.

`written_shards` is the other half: what a statement inside a transaction block writes,
as (colocation, shard) pairs (-1: every shard; (-1, -1): not known), kept on the
transaction (`DistributedTransaction.shard_writes`; the fast paths note theirs in
executor/routed.py). The switch waits for every open transaction that wrote the held
shards: their writes must be committed before the final catch-up.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from gridpg.errors import PgError
from gridpg.planner import analyze
from gridpg.planner.context import UNKNOWN, BoundParams
from gridpg.planner.hashing import shard_for_text
from gridpg.planner.router import RouterSpec, pin_text

if TYPE_CHECKING:
    from gridpg.catalog.model import DistTable
    from gridpg.planner.context import CatalogView, SessionView
    from gridpg.planner.core import Analysis, Planner

# Routes that never read or write a distributed table's rows on a datanode.
_PASSING_ROUTES = ("catalog", "version", "sequence", "cluster_view", "function", "xl")


@dataclass(frozen=True)
class ShardHold:
    """One held shard group, as the switching coordinator published it."""

    tables: frozenset[tuple[str, str]]
    colocation: int
    remainder: int
    source: str
    target: str
    relations: tuple[str, ...]  # the shard tables on the source (qualified, quoted)
    seen: float  # when this worker saw the hold (time.monotonic)

    @staticmethod
    def from_scope(scope: Any) -> ShardHold | None:
        """The hold a GTM scope describes; None for a scope this version does not know
        (the caller then treats the pause as a full one: safe, only slower)."""
        if not isinstance(scope, dict) or scope.get("kind") != "shards":
            return None
        try:
            tables = frozenset((str(s), str(t)) for s, t in scope["tables"])
            return ShardHold(tables, int(scope["colocation"]), int(scope["remainder"]),
                             str(scope["source"]), str(scope["target"]),
                             tuple(str(r) for r in scope["relations"]), time.monotonic())
        except (KeyError, TypeError, ValueError):
            return None

    def holds_table(self, table: DistTable | None) -> bool:
        return table is not None and (table.schema, table.name) in self.tables


def build_scope(tables: list[tuple[str, str]], colocation: int, remainder: int, source: str,
                target: str, relations: list[str]) -> dict[str, Any]:
    """The GTM scope of a hold (JSON-able)."""
    return {"kind": "shards", "tables": [list(t) for t in tables], "colocation": colocation,
            "remainder": remainder, "source": source, "target": target, "relations": relations}


def statement_touches(planner: Planner, hold: ShardHold, sql: str, catalog: CatalogView,
                      session: SessionView, params: BoundParams | None, simple: bool) -> bool:
    """Whether `sql` (with these parameter values; None: not known) may touch the held
    shards. A statement the planner cannot read counts as touching them."""
    try:
        analysis = planner.analysis(sql, catalog, session, simple)
    except PgError:
        return True
    return analysis_touches(planner, hold, analysis, catalog, session, params)


def analysis_touches(planner: Planner, hold: ShardHold, analysis: Analysis, catalog: CatalogView,
                     session: SessionView, params: BoundParams | None) -> bool:
    if analysis.route in _PASSING_ROUTES:
        return False
    if analysis.route == "session" and analysis.kind == "ExecuteStmt":
        return True  # an SQL-level prepared statement: its text is not read here
    if analysis.route == "query":
        held = [r.table for r in analysis.resolved if hold.holds_table(r.table)]
        if not held:
            return False
        if analysis.literals is not None:
            params = BoundParams.from_texts(analysis.literals)
        return not _pinned_elsewhere(analysis.router, hold, len(held), params)
    tree = analysis.tree
    if not tree:
        return True
    return any(hold.holds_table(planner.resolve(catalog.snapshot, ref, session.search_path))
               for ref in analyze.relations(tree))


ANY_SHARD = (-1, -1)


def wrote_held(writes: set[tuple[int, int]], hold: ShardHold) -> bool:
    """Whether writes noted on a transaction include the held shard group."""
    return bool(writes) and (ANY_SHARD in writes or (hold.colocation, hold.remainder) in writes
                             or (hold.colocation, -1) in writes)


def written_shards(planner: Planner, sql: str, catalog: CatalogView, session: SessionView,
                   params: BoundParams, simple: bool) -> set[tuple[int, int]]:
    """The (colocation, shard) pairs a statement may write (see the module docstring)."""
    try:
        analysis = planner.analysis(sql, catalog, session, simple)
    except PgError:
        return {ANY_SHARD}
    route = analysis.route
    if route in _PASSING_ROUTES:
        return set()
    if route == "session":
        return {ANY_SHARD} if analysis.kind == "ExecuteStmt" else set()
    spec = analysis.router if isinstance(analysis.router, RouterSpec) else None
    if route == "query":
        if analysis.kind == "SelectStmt" and not (
                spec.writes if spec is not None else analyze.has_node(analysis.tree, "lockingClause")):
            return set()
        if analysis.literals is not None:
            params = BoundParams.from_texts(analysis.literals)
        return _query_writes(analysis, spec, params)
    if not analysis.tree:
        return {ANY_SHARD}
    out = set()
    for ref in analyze.relations(analysis.tree):
        table = planner.resolve(catalog.snapshot, ref, session.search_path)
        if table is not None and table.colocation_id is not None:
            out.add((table.colocation_id, -1))
    return out


def _query_writes(analysis: Analysis, spec: RouterSpec | None, params: BoundParams) -> set[tuple[int, int]]:
    out: set[tuple[int, int]] = set()
    pinned: set[tuple[str, str]] = set()
    for table, values in spec.pins if spec is not None else ():
        if table.colocation_id is None or table.method != "hash":
            continue
        found = []
        for value in values:
            text = pin_text(value, table, params)
            try:
                found.append(None if text is UNKNOWN else shard_for_text(
                    table.column_type or "", text, table.shard_count or 1))  # type: ignore[arg-type]
            except (ValueError, TypeError, OverflowError):
                found.append(None)
        if None not in found:
            out.update((table.colocation_id, r) for r in found if r is not None)
            pinned.add((table.schema, table.name))
    for resolved in analysis.resolved:
        table = resolved.table
        if table is not None and table.colocation_id is not None and (table.schema, table.name) not in pinned:
            out.add((table.colocation_id, -1))
    return out


def _pinned_elsewhere(spec: Any, hold: ShardHold, held_refs: int, params: BoundParams | None) -> bool:
    """Every reference to a held table is pinned, by known values, to shards other than
    the held one."""
    if not isinstance(spec, RouterSpec) or params is None:
        return False
    pinned = 0
    for table, values in spec.pins:
        if not hold.holds_table(table):
            continue
        pinned += 1
        if table.method != "hash":
            return False
        for value in values:
            text = pin_text(value, table, params)
            if text is UNKNOWN:
                return False
            try:
                remainder = shard_for_text(table.column_type or "", text, table.shard_count or 1)  # type: ignore[arg-type]
            except (ValueError, TypeError, OverflowError):
                return False
            if remainder == hold.remainder:
                return False
    return pinned == held_refs
