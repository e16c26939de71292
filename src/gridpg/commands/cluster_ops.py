"""Cluster operations a coordinator answers itself: `SELECT gridpg_recover_prepared()`,
PAUSE CLUSTER / UNPAUSE CLUSTER (txn/pause.py) and CREATE BARRIER.

CREATE BARRIER [name]: quiesces the cluster as PAUSE CLUSTER does (new transactions wait
at every coordinator's gate, running ones finish; bounded by BARRIER_QUIESCE), then,
under the GTM fence in snapshot mode as well, creates `pg_create_restore_point(name)` on
every datanode primary and catalog server (and switches WAL files where WAL is archived,
so the point reaches the archive), records the barrier (restore-point LSN and WAL file per
node, the 2PC decisions of that moment) in the GTM, and opens the gates after its own
reply. So every transaction acknowledged before CREATE BARRIER returned lies before every
restore point and every one that begins after it lies after them: `gridpg restore
--barrier` (cluster/archive.py) brings up exactly that state.

The function runs one in-doubt recovery pass exactly as the monitor does (cluster/monitor.py,
txn/recovery.py) over this coordinator's view of the cluster (datanode primaries, catalog
servers, coordinators from the catalog) and returns how many prepared transactions it
resolved. An optional argument gives the seconds a running coordinator's transaction must
have been prepared before it counts as in doubt (default 10). Superuser only.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING, Any

from gridpg.errors import (
    ACTIVE_SQL_TRANSACTION,
    DUPLICATE_OBJECT,
    INSUFFICIENT_PRIVILEGE,
    INVALID_PARAMETER_VALUE,
    PgError,
)
from gridpg.gtm.protocol import GtmError, GtmUnavailable
from gridpg.pgwire import codec
from gridpg.sql.quote import quote_literal

if TYPE_CHECKING:
    from gridpg.executor.dispatch import Dispatcher, ExecRequest
    from gridpg.sql.xl import XlCommand

log = logging.getLogger("gridpg.barrier")


async def run(dispatcher: Dispatcher, request: ExecRequest, name: str, args: list[Any]) -> None:
    from gridpg.cluster.monitor import recover_once
    from gridpg.planner.analyze import value_of
    from gridpg.planner.context import UNKNOWN, value_text

    if not dispatcher.session.info.is_superuser:
        raise PgError(INSUFFICIENT_PRIVILEGE, f"must be superuser to call {name}()")
    older_than = None
    if args:
        value = value_of(args[0])
        text = value_text(value, request.bound()) if value is not None else UNKNOWN
        if text is UNKNOWN:
            raise PgError(INVALID_PARAMETER_VALUE, f"{name}() takes a constant or parameter argument")
        try:
            older_than = None if text is None else float(text)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise PgError(INVALID_PARAMETER_VALUE,
                          f"{name}() takes the seconds after which a transaction is in doubt") from None
    coord = dispatcher.coord
    nodes = [*coord.datanode_addresses.values(), coord.catalog_address, *coord.other_catalogs]
    snapshot = dispatcher.runner.snapshot()
    coordinators = {n.name: (n.host, n.port) for n in snapshot.nodes if n.kind == "coordinator"}
    outcome = await recover_once(coord.gtm, nodes, coordinators, in_doubt_after=older_than)
    if outcome.unreachable:
        raise PgError("08006", f"{name}(): nodes not reached: {', '.join(outcome.unreachable)}",
                      detail=f"resolved {outcome.committed + outcome.rolled_back} before that")
    send = dispatcher.session.send
    if request.simple:
        send(codec.build_row_description([codec.Column(name, type_oid=23, type_size=4)]))
    send(codec.build_data_row([str(outcome.committed + outcome.rolled_back).encode()]))
    send(codec.build_command_complete("SELECT 1"))


# -- PAUSE / UNPAUSE / CREATE BARRIER ------------------------------------------------------

MAX_BARRIER_NAME = 63  # pg_create_restore_point's limit
BARRIER_QUIESCE = 10.0  # seconds CREATE BARRIER waits for running transactions to end
LOCK_NOT_AVAILABLE = "55P03"


async def run_cluster_command(dispatcher: Dispatcher, command: XlCommand) -> None:
    session = dispatcher.session
    what = {"pause": "PAUSE CLUSTER", "unpause": "UNPAUSE CLUSTER", "barrier": "CREATE BARRIER"}
    if not session.info.is_superuser:
        raise PgError(INSUFFICIENT_PRIVILEGE, f"must be superuser to use {what[command.kind]}")
    gate = dispatcher.coord.pause_gate
    if command.kind == "pause":
        await gate.pause(session, dispatcher.runner.in_block())
    elif command.kind == "unpause":
        await gate.unpause(session)
    else:
        await create_barrier(dispatcher, command.name)
    session.send(codec.build_command_complete(what[command.kind]))


async def create_barrier(dispatcher: Dispatcher, name: str) -> None:
    """Quiesce the cluster (PAUSE's drain), make a restore point on every node (switching
    to a new WAL file where WAL is archived), record the barrier in the GTM, and open the
    gates again once this statement has answered."""
    coord, session = dispatcher.coord, dispatcher.session
    if dispatcher.runner.in_block():
        raise PgError(ACTIVE_SQL_TRANSACTION, "CREATE BARRIER cannot run inside a transaction block")
    name = name or f"gridpg_barrier_{time.time_ns() // 1_000_000}"
    if len(name) > MAX_BARRIER_NAME:
        raise PgError(INVALID_PARAMETER_VALUE,
                      f"barrier name is too long (at most {MAX_BARRIER_NAME} characters)")
    gate = coord.pause_gate
    own_pause = gate.pauser is session  # PAUSE CLUSTER first, then barriers: already quiet
    try:
        if any(b.get("name") == name for b in await coord.gtm.barrier_list()):
            raise PgError(DUPLICATE_OBJECT, f'barrier "{name}" already exists')
        if not own_pause:
            await _quiesce(gate, session)
        try:
            decisions = [str(d["gid"]) for d in await coord.gtm.txn_decisions()]
            points, walfiles = await _restore_points(coord, name)
            await coord.gtm.barrier_record(name, points, {"walfiles": walfiles, "decisions": decisions})
        except BaseException:
            if not own_pause:
                await _end_pause(gate, session)
            raise
    except GtmError as exc:
        raise PgError(exc.code, exc.message) from None
    except (GtmUnavailable, OSError) as exc:
        raise PgError("08006", f"CREATE BARRIER: the GTM cannot be reached: {exc}") from None
    if not own_pause:  # after this statement's reply: nothing commits before the client knows
        asyncio.get_running_loop().call_soon(lambda: asyncio.ensure_future(_end_pause(gate, session)))
    dispatcher.session.say(f'barrier "{name}" created on {len(points)} nodes')


async def _quiesce(gate: Any, session: Any) -> None:
    """PAUSE CLUSTER's drain, bounded: a barrier must not wait forever for a session idle
    in a transaction block."""
    try:
        await asyncio.wait_for(gate.pause(session, False), BARRIER_QUIESCE)
    except TimeoutError:
        await _end_pause(gate, session)
        raise PgError(LOCK_NOT_AVAILABLE,
                      f"CREATE BARRIER could not quiesce the cluster in {BARRIER_QUIESCE:.0f} s",
                      detail="transactions (perhaps idle in a transaction block) kept running",
                      hint="end them, or PAUSE CLUSTER first and then CREATE BARRIER") from None


async def _end_pause(gate: Any, session: Any) -> None:
    try:
        await gate.unpause(session)
    except PgError as exc:
        log.warning("CREATE BARRIER could not end its pause: %s", exc.message)


async def _restore_points(coord: Any, name: str) -> tuple[dict[str, str], dict[str, str]]:
    nodes = [*coord.datanode_addresses, coord.catalog_node, *(a.name for a in coord.other_catalogs)]
    conns = [await coord.internal_acquire(node) for node in nodes]
    sql = (f"SELECT p::text, pg_catalog.pg_walfile_name(p), CASE WHEN "
           f"pg_catalog.current_setting('archive_mode') <> 'off' THEN "
           f"pg_catalog.pg_switch_wal()::text END "
           f"FROM pg_catalog.pg_create_restore_point({quote_literal(name)}) p")
    try:
        async with coord.gtm.fence("snapshot"):
            results = await asyncio.gather(*(c.query(sql) for c in conns), return_exceptions=True)
    finally:
        for node, conn in zip(nodes, conns):
            coord.pools.pool(node).release(conn)
    failed = [(n, r) for n, r in zip(nodes, results) if isinstance(r, BaseException)]
    if failed:
        node, error = failed[0]
        message = error.message if isinstance(error, PgError) else str(error)
        raise PgError("XX000", f"CREATE BARRIER failed on node {node}: {message}")
    points = {node: str(rows[0][0]) for node, rows in zip(nodes, results)}  # type: ignore[index]
    walfiles = {node: str(rows[0][1]) for node, rows in zip(nodes, results)}  # type: ignore[index]
    return points, walfiles
