"""The statement side of a shard hold (an online move's switch): held statements wait,
statements of transactions already holding the shards go on, REPEATABLE READ snapshots
older than a switch are refused where they would read the moved shards.

Called by `StatementRunner.run` only while this worker sees a hold, or for a REPEATABLE
READ block that took its snapshot before a switch this worker has seen since; the hot
path pays one attribute test. What a statement touches is decided by
executor/shard_hold.py.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from gridpg.catalog.model import CatalogError, CatalogSnapshot
from gridpg.errors import SERIALIZATION_FAILURE, PgError
from gridpg.executor.shard_hold import ShardHold, statement_touches

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
    if await _holds_shard_locks(runner, hold):
        return  # it touched them before the hold: the switch waits for it on the datanode
    runner.waiting_for_hold = True
    try:
        await gate.wait_hold_released(HOLD_WAIT)
    finally:
        runner.waiting_for_hold = False
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


async def _holds_shard_locks(runner: StatementRunner, hold: ShardHold) -> bool:
    """The session's transaction holds a lock on a held shard on the source (it read or
    wrote it before the hold): asked of its own connection there."""
    txn = runner.txn
    part = txn.participants.get(hold.source)
    if not txn.in_block or part is None or hold.source in runner.pending_sync \
            or part.conn.is_closed or part.conn.txn_status != b"T":
        return False
    names = ", ".join(_literal(r) for r in hold.relations)
    sql = ("SELECT count(*) FROM pg_catalog.pg_locks WHERE pid = pg_catalog.pg_backend_pid() "
           f"AND locktype = 'relation' AND relation IN (SELECT pg_catalog.to_regclass(n) FROM "
           f"pg_catalog.unnest(ARRAY[{names}]::text[]) n)")
    try:
        rows = await part.conn.query(sql)
    except PgError:
        return False
    return bool(rows) and rows[0][0] not in ("0", None)


def _literal(text: str) -> str:
    from gridpg.sql.quote import quote_literal

    return quote_literal(text)


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
