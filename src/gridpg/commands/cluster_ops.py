"""Cluster maintenance a coordinator answers itself: `SELECT gridpg_recover_prepared()`.

The function runs one in-doubt recovery pass exactly as the monitor does (cluster/monitor.py,
txn/recovery.py) over this coordinator's view of the cluster (datanode primaries, catalog
servers, coordinators from the catalog) and returns how many prepared transactions it
resolved. An optional argument gives the seconds a running coordinator's transaction must
have been prepared before it counts as in doubt (default 10). Superuser only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gridpg.errors import INSUFFICIENT_PRIVILEGE, INVALID_PARAMETER_VALUE, PgError
from gridpg.pgwire import codec

if TYPE_CHECKING:
    from gridpg.executor.dispatch import Dispatcher, ExecRequest


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
