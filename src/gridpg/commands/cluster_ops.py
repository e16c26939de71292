"""Cluster operations a coordinator answers itself: `SELECT gridpg_recover_prepared()`,
PAUSE CLUSTER / UNPAUSE CLUSTER (txn/pause.py) and CREATE BARRIER.

CREATE BARRIER [name]: holds the GTM fence in snapshot mode (no COMMIT PREPARED round is
in flight while it is held: every distributed transaction has committed on all of its
nodes or on none), creates `pg_create_restore_point(name)` on every datanode primary and
catalog server, then records the barrier (name, restore-point LSN per node) in the GTM.
Recovering a cluster to a barrier is not built yet.

The function runs one in-doubt recovery pass exactly as the monitor does (cluster/monitor.py,
txn/recovery.py) over this coordinator's view of the cluster (datanode primaries, catalog
servers, coordinators from the catalog) and returns how many prepared transactions it
resolved. An optional argument gives the seconds a running coordinator's transaction must
have been prepared before it counts as in doubt (default 10). Superuser only.
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Any

from gridpg.errors import (
    DUPLICATE_OBJECT,
    INSUFFICIENT_PRIVILEGE,
    INVALID_PARAMETER_VALUE,
    PgError,
    notice,
)
from gridpg.gtm.protocol import GtmError, GtmUnavailable
from gridpg.pgwire import codec
from gridpg.sql.quote import quote_literal

if TYPE_CHECKING:
    from gridpg.executor.dispatch import Dispatcher, ExecRequest
    from gridpg.sql.xl import XlCommand


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
    """Restore points on every node under the fence, recorded in the GTM."""
    coord = dispatcher.coord
    name = name or f"gridpg_barrier_{time.time_ns() // 1_000_000}"
    if len(name) > MAX_BARRIER_NAME:
        raise PgError(INVALID_PARAMETER_VALUE,
                      f"barrier name is too long (at most {MAX_BARRIER_NAME} characters)")
    try:
        if any(b.get("name") == name for b in await coord.gtm.barrier_list()):
            raise PgError(DUPLICATE_OBJECT, f'barrier "{name}" already exists')
        points = await _restore_points(coord, name)
        await coord.gtm.barrier_record(name, points)
    except GtmError as exc:
        raise PgError(exc.code, exc.message) from None
    except (GtmUnavailable, OSError) as exc:
        raise PgError("08006", f"CREATE BARRIER: the GTM cannot be reached: {exc}") from None
    dispatcher.session.send(notice(f'barrier "{name}" created on {len(points)} nodes'))


async def _restore_points(coord: Any, name: str) -> dict[str, str]:
    nodes = [*coord.datanode_addresses, coord.catalog_node, *(a.name for a in coord.other_catalogs)]
    conns = [await coord.internal_acquire(node) for node in nodes]
    sql = f"SELECT pg_catalog.pg_create_restore_point({quote_literal(name)})::text"
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
    return {node: str(rows[0][0]) for node, rows in zip(nodes, results)}  # type: ignore[index]
