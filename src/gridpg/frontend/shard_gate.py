"""The statement side of a shard hold (an online move's switch): held statements wait,
statements of transactions that already wrote the shards go on (the switch waits for
them to end), REPEATABLE READ snapshots older than a switch are refused where they would
read the moved shards; inside transaction blocks, what each statement writes is noted.

Called by `StatementRunner.run` only while this worker sees a hold, or for a REPEATABLE
READ block that took its snapshot before a switch this worker has seen since; the hot
path pays one attribute test. What a statement touches is decided by
executor/shard_hold.py.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from gridpg import metrics
from gridpg.catalog.model import CatalogError, CatalogSnapshot
from gridpg.errors import SERIALIZATION_FAILURE, PgError
from gridpg.executor.shard_hold import ShardHold, statement_touches, written_shards, wrote_held

if TYPE_CHECKING:
    from gridpg.executor.dispatch import ExecRequest
    from gridpg.frontend.statements import StatementRunner

HOLD_WAIT = 5.0  # seconds a statement waits for a switch before failing with 55P03


async def pass_hold(runner: StatementRunner, request: ExecRequest) -> None:
    """Return when `request` may run: at once unless it touches held (or, in an old
    REPEATABLE READ snapshot, moved) shards."""
    gate = runner.coord.pause_gate
    _ensure_snapshot_not_moved(runner, request)
    hold = gate.current_hold()
    if hold is None or runner.session is gate.pauser:
        return
    if not _touches(runner, hold, request.sql, request):
        return
    if runner.txn.in_block and wrote_held(runner.txn.shard_writes, hold):
        return  # it wrote them before the hold: it must finish, the switch waits for it
    runner.waiting_for_hold = True
    started, outcome = time.monotonic(), "failed"
    try:
        await gate.wait_hold_released(HOLD_WAIT)
        await runner.coord.ensure_fresh_catalog()  # the switch bumped the epoch before the hold ended
        outcome = "released"
    finally:
        runner.waiting_for_hold = False
        metrics.SHARD_HOLD_WAIT_SECONDS.labels(outcome).observe(time.monotonic() - started)
    _ensure_snapshot_not_moved(runner, request)


def text_touches(runner: StatementRunner, hold: ShardHold, sql: str | None) -> bool:
    """Whether a statement in flight (its parameters no longer at hand) may touch the held
    shards; unknown text counts as touching."""
    if sql is None:
        return True
    return _touches(runner, hold, sql, None)


def _touches(runner: StatementRunner, hold: ShardHold, sql: str, request: ExecRequest | None) -> bool:
    from gridpg.executor.run import catalog_view, session_view

    planner = runner.coord.planner
    if planner is None or runner.coord.snapshot is None:
        return True
    dispatcher = runner.dispatcher
    params = request.bound() if request is not None else None
    simple = request.simple if request is not None else False
    return statement_touches(planner, hold, sql, catalog_view(dispatcher), session_view(dispatcher),
                             params, simple)


def note_writes(runner: StatementRunner, request: ExecRequest) -> None:
    """Inside a transaction block: what the statement writes, on the transaction."""
    from gridpg.executor.run import catalog_view, session_view

    lowered = request.sql.lower()
    if lowered.lstrip().startswith("select") and "for" not in lowered:
        return  # a plain read (functions' writes come back through the loopback)
    planner = runner.coord.planner
    if planner is None or runner.coord.snapshot is None:
        return
    dispatcher = runner.dispatcher
    runner.txn.shard_writes |= written_shards(planner, request.sql, catalog_view(dispatcher),
                                              session_view(dispatcher), request.bound(), request.simple)


def _ensure_snapshot_not_moved(runner: StatementRunner, request: ExecRequest) -> None:
    """A REPEATABLE READ block whose datanode snapshots predate a shard switch cannot read
    the moved shards consistently (its snapshot on the new group is older than the copy's
    catch-up): 40001, as for any snapshot that cannot serve."""
    txn, gate = runner.txn, runner.coord.pause_gate
    since = txn.moved_since
    if since is None or since == gate.switches:
        return
    snapshot = runner.coord.snapshot
    for serial, hold in gate.ended_holds:
        if serial <= since or snapshot is None or not _switched(snapshot, hold):
            continue
        if _touches(runner, hold, request.sql, request):
            raise PgError(SERIALIZATION_FAILURE, "could not serialize access: shard "
                          f"{hold.remainder} of colocation {hold.colocation} moved from {hold.source} "
                          f"to {hold.target} after this transaction took its snapshot",
                          hint="retry the transaction")


def _switched(snapshot: CatalogSnapshot, hold: ShardHold) -> bool:
    """The placement of the held shard group is the hold's target now (the switch
    committed; a hold that ended without switching moved nothing)."""
    for schema, name in sorted(hold.tables):
        if snapshot.table(schema, name) is not None:
            try:
                return snapshot.shard_group(schema, name, hold.remainder) == hold.target
            except CatalogError:
                return False
    return False
