"""Gathering the estimates the exchange planner asks for (planner/estimates.py).

The planner lists EXPLAINs (node, SELECT, how many nodes hold such rows); this module runs
them and hands the answers back as values: all the requests of one node in one round
trip, each answer the node planner's row count (times the nodes) and row width. It
decides nothing: what to do with the numbers is the planner's.

An EXPLAIN runs on a pooled connection of its own, set up as the session's (the
statement's transaction may not have begun its block yet, and a node it joined now would
run the scratch tables' DDL outside it), unless it reads a subplan's scratch table, which
only the statement's own block sees, or the node is already in a client's block that ran
DDL or LOCK TABLE (whose locks the pooled connection would wait for).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING

from gridpg.datanode.connection import BackendConnection
from gridpg.errors import PgError
from gridpg.executor.spool import _all as spool_all
from gridpg.planner.estimates import Estimate, EstimateRequest

if TYPE_CHECKING:
    from gridpg.executor.dispatch import Dispatcher, ExecRequest


# Estimates the planner does without when a node cannot answer them: a table's distinct
# rows (`SELECT DISTINCT` of a column of a type without an equality operator, box or
# point, fails with 42883 where the statement itself needs none: spgist.sql:45).
OPTIONAL_KINDS = frozenset({"distinct"})


async def gather(dispatcher: Dispatcher, request: ExecRequest | None, requests: Sequence[EstimateRequest],
                 tolerant: bool = False) -> dict[tuple[str, str], Estimate]:
    """Every request's estimate, the nodes asked at once. `tolerant`: a request whose
    EXPLAIN fails (a table made in this transaction, seen only by its block) is left out;
    otherwise the error is raised."""
    from gridpg.executor.multi import inline_params

    texts = []
    for req in requests:
        sql = req.sql
        if "$" in sql and request is not None:
            sql = await inline_params(dispatcher, request, sql)
        texts.append(sql)
    # one batch per connection: two batches sent at once on the block's own connection of a
    # node (one reading the block's scratch tables, one not, after DDL in the block) waited
    # for each other's answers forever
    batches: dict[tuple[str, bool], list[int]] = {}
    for n, req in enumerate(requests):
        batches.setdefault((req.group, _on_block_connection(dispatcher, req.group, req.in_block)), []).append(n)
    out: dict[tuple[str, str], Estimate] = {}

    async def one(group: str, on_block: bool, members: list[int]) -> None:
        optional = [tolerant or requests[n].kind in OPTIONAL_KINDS for n in members]
        plans = await _explain(dispatcher, group, on_block, [texts[n] for n in members], optional)
        for n, plan in zip(members, plans):
            if plan is not None:
                req = requests[n]
                out[req.label] = Estimate(float(plan["Plan Rows"]) * req.nodes, int(plan.get("Plan Width", 0)),
                                          _reads_an_index(plan))

    await spool_all([one(g, b, m) for (g, b), m in batches.items()])
    return out


def _on_block_connection(dispatcher: Dispatcher, group: str, in_block: bool) -> bool:
    """Whether `group`'s EXPLAINs run on the block's own connection: they read what only
    the block sees (`in_block`), or the client's block ran DDL (ALTER TABLE,
    alter_distributed_table) or LOCK TABLE: its own connection may hold locks that a pooled
    connection would wait for, forever."""
    part = dispatcher.runner.txn.participants.get(group)
    return in_block or (part is not None and (dispatcher.runner.ddl_in_block or part.locked))


async def _explain(dispatcher: Dispatcher, group: str, on_block: bool, selects: list[str],
                   optional: list[bool]) -> list[dict | None]:
    """The top plan node of each SELECT on `group`, one round trip (each alone when the
    batch fails and it may: None for an `optional` one that fails, the error of any other);
    on the block's own connection when `on_block` (where a failed EXPLAIN aborts the
    client's block: only wholly `optional` batches are tried again there, as before)."""
    async def run(conn: BackendConnection) -> list[dict | None]:
        try:
            return _plans(await conn.simple_query("; ".join(f"EXPLAIN (FORMAT JSON) {s}" for s in selects)))
        except PgError:
            if not all(optional) if on_block else not any(optional):
                raise
        out: list[dict | None] = []
        for select, may_fail in zip(selects, optional):
            try:
                out += _plans(await conn.simple_query(f"EXPLAIN (FORMAT JSON) {select}"))
            except PgError:
                if not may_fail:
                    raise
                out.append(None)
        return out

    txn = dispatcher.runner.txn
    if on_block:
        conn = await txn.connection(group, wants_block=True)
        await conn.settle()
        return await run(conn)
    coord = dispatcher.coord
    conn = await coord.internal_acquire(group)
    try:
        if not getattr(dispatcher.runner, "lifted_rights", False):  # (view_rights: the superuser's)
            await dispatcher.runner._setup_connection(conn)
        plans = await run(conn)
    except BaseException:
        coord.pools.pool(group).discard(conn)
        raise
    coord.pools.pool(group).release(conn)
    return plans


def _reads_an_index(plan: dict) -> bool:
    """Whether an EXPLAIN (FORMAT JSON) plan reads through an index and sorts nothing (an
    ORDER BY then comes from the index's own order)."""
    stack, index = [plan], False
    while stack:
        node = stack.pop()
        if node.get("Node Type") in ("Sort", "Incremental Sort"):
            return False
        index = index or "Index Name" in node
        stack += node.get("Plans", [])
    return index


def _plans(results: Sequence[object]) -> list[dict | None]:
    out: list[dict | None] = []
    for result in results:
        rows = getattr(result, "rows", [])
        out.append(json.loads(rows[0][0] or "[]")[0]["Plan"] if rows else None)
    return out
