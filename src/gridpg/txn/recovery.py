"""Resolving in-doubt two-phase transactions (DESIGN 6).

gridpg's own GIDs read `gridpg_<gxid>_<coordinator>`; any other prepared transaction
(a user's `PREPARE TRANSACTION 'x'`) is never touched here. A prepared transaction is *in
doubt* when its coordinator cannot finish it: the coordinator is gone (not running, not
answering), or it has been prepared longer than a bound (its coordinator lost it, e.g. a
node connection dropped during COMMIT PREPARED). The GTM decides with `txn_resolve`: a
logged decision means the transaction committed (COMMIT PREPARED wherever it is still
prepared); otherwise the GTM records the abort for good, so the coordinator's late attempt
to log a commit is refused, and the transaction is rolled back (ROLLBACK PREPARED). So a
mistaken judgement of "gone" costs the client an error, never a half-committed transaction.

Callers: a coordinator at its start (its own GIDs: none of them is in flight then), the
monitor every few seconds, `gridpg recover` and `SELECT gridpg_recover_prepared()`.
Decisions are forgotten once no primary holds their GID prepared, at the earliest a minute
after they were logged; a server that is in recovery (an old address after a failover)
counts as not reached, so nothing is forgotten from its view.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field

from gridpg.datanode.connection import BackendConnection, NodeAddress
from gridpg.errors import PgError
from gridpg.gtm.client import GtmClient
from gridpg.sql.quote import quote_literal

log = logging.getLogger("gridpg.recovery")

GID = re.compile(r"^gridpg_(\d+)_(.+)$")
IN_DOUBT_AFTER = 10.0  # seconds prepared before a running coordinator's GID is in doubt
# A decision is forgotten only this long after it was logged (and when every primary was
# scanned without finding its GID): the coordinator forgets its own decisions once every
# node confirmed; this is garbage collection and must never race a commit still under way.
FORGET_AFTER = 60.0
UNDEFINED_OBJECT = "42704"

_SCAN = ("SELECT gid, extract(epoch FROM now() - prepared)::float8 FROM pg_catalog.pg_prepared_xacts "
         "WHERE gid ~ '^gridpg_[0-9]+_' AND database = current_database()")


@dataclass
class PreparedTxn:
    node: str
    gid: str
    coordinator: str
    age: float


InDoubtRule = Callable[[PreparedTxn], bool]
Connector = Callable[[NodeAddress], Awaitable[BackendConnection]]


@dataclass
class RecoveryOutcome:
    committed: int = 0
    rolled_back: int = 0
    unreachable: list[str] = field(default_factory=list)
    forgotten: int = 0

    def as_dict(self) -> dict[str, int]:
        return {"committed": self.committed, "rolled back": self.rolled_back,
                "forgotten decisions": self.forgotten, "unreachable nodes": len(self.unreachable)}


def parse_gid(gid: str | None) -> tuple[int, str] | None:
    """(gxid, coordinator) of a gridpg GID; None for any other name."""
    match = GID.match(gid or "")
    return None if match is None else (int(match.group(1)), match.group(2))


async def recover_in_doubt(coordinator: str, gtm: GtmClient, nodes: list[NodeAddress]) -> dict[str, int]:
    """At a coordinator's start: resolve its own prepared transactions on `nodes`."""
    outcome = await recover_round(gtm, nodes, lambda txn: txn.coordinator == coordinator)
    return {"committed": outcome.committed, "rolled back": outcome.rolled_back}


async def recover_round(
    gtm: GtmClient, nodes: Iterable[NodeAddress], is_in_doubt: InDoubtRule,
    connect: Connector | None = None,
) -> RecoveryOutcome:
    """One pass over `nodes`: resolve the prepared transactions `is_in_doubt` picks, then
    forget the decisions nothing is prepared for any more (when every node answered).
    `connect` lends a kept connection (the monitor's); by default one is opened per node."""
    forget_before = (time.time() - FORGET_AFTER) * 1_000_000
    decisions = [str(d.get("gid", "")) for d in await gtm.txn_decisions()  # before the scan
                 if int(d.get("ts", 0)) < forget_before]
    outcome = RecoveryOutcome()
    still_prepared: set[str] = set()
    for address in nodes:
        try:
            conn = await (connect or _connect)(address)
        except (PgError, OSError) as exc:
            log.warning("recovery: node %s unreachable: %s", address.name, exc)
            outcome.unreachable.append(address.name)
            continue
        try:
            if not await is_primary(conn):
                # An address that now serves a standby (a failover switched the group's
                # primary): what it holds says nothing about the group; skip it and forget
                # no decision in this pass.
                outcome.unreachable.append(address.name)
                continue
            for txn in await scan_prepared(conn):
                if not is_in_doubt(txn):
                    still_prepared.add(txn.gid)
                    continue
                await resolve(conn, gtm, txn, outcome)
        finally:
            if connect is None:
                conn.close()
    if not outcome.unreachable:
        for gid in decisions:
            if gid not in still_prepared and parse_gid(gid) is not None:
                await gtm.txn_forget(gid)
                outcome.forgotten += 1
    return outcome


async def is_primary(conn: BackendConnection) -> bool:
    rows = await conn.query("SELECT pg_catalog.pg_is_in_recovery()")
    return bool(rows) and rows[0][0] == "f"


async def _connect(address: NodeAddress) -> BackendConnection:
    return await BackendConnection.connect(address, timeout=3)


async def scan_prepared(conn: BackendConnection) -> list[PreparedTxn]:
    """gridpg's own prepared transactions on one node, with their age in seconds."""
    found = []
    for gid, age in await conn.query(_SCAN):
        parsed = parse_gid(gid)
        if parsed is not None and gid is not None:
            found.append(PreparedTxn(conn.node, gid, parsed[1], float(age or 0)))
    return found


async def resolve(conn: BackendConnection, gtm: GtmClient, txn: PreparedTxn,
                  outcome: RecoveryOutcome) -> None:
    """Commit or roll back one prepared transaction as the GTM decides; another resolver
    (the coordinator, a second pass) having finished it first is not an error."""
    committed = await gtm.txn_resolve(txn.gid)
    verb = "COMMIT PREPARED" if committed else "ROLLBACK PREPARED"
    try:
        await conn.simple_query(f"{verb} {quote_literal(txn.gid)}")
    except PgError as exc:
        if exc.sqlstate != UNDEFINED_OBJECT:
            raise
        return
    if committed:
        outcome.committed += 1
    else:
        outcome.rolled_back += 1
    log.info("recovery: %s %s on %s", verb, txn.gid, txn.node)


def in_doubt_rule(live_coordinators: set[str], in_doubt_after: float = IN_DOUBT_AFTER
                  ) -> Callable[[PreparedTxn], bool]:
    """The monitor's rule: the coordinator is not live, or the GID is older than the bound."""
    def rule(txn: PreparedTxn) -> bool:
        return txn.coordinator not in live_coordinators or txn.age > in_doubt_after

    return rule


async def is_answering(host: str, port: int, timeout: float = 1.0) -> bool:
    """Whether something accepts TCP connections at host:port (a coordinator's liveness)."""
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
    except (OSError, TimeoutError):
        return False
    writer.close()
    return True
