"""Resolving in-doubt two-phase transactions (DESIGN 6).

gridpg's own GIDs read `gridpg_<gxid>_<coordinator>` (decided by the GTM's log) or
`gridpgm_<gxid>_<n>_<decider>_<coordinator>` (decided by the decider's commit marker,
txn/marker.py); any other prepared transaction (a user's `PREPARE TRANSACTION 'x'`) is
never touched here. A prepared transaction is *in doubt* when its coordinator cannot
finish it: the coordinator is gone (not running, not answering), or it has been prepared
longer than a bound (its coordinator lost it, e.g. a node connection dropped during COMMIT
PREPARED). The GTM decides a `gridpg_` GID with `txn_resolve`: a logged decision means the
transaction committed (COMMIT PREPARED wherever it is still prepared); otherwise the GTM
records the abort for good, so the coordinator's late attempt to log a commit is refused,
and the transaction is rolled back (ROLLBACK PREPARED). A `gridpgm_` GID is decided on its
decider's primary (`marker.resolve_by_marker`): its marker means committed; else recovery
commits an abort marker there first, which the coordinator's late commit then collides
with. So a mistaken judgement of "gone" costs the client an error, never a half-committed
transaction.

Callers: a coordinator at its start (its own GIDs: none of them is in flight then), the
monitor every few seconds, `gridpg recover` and `SELECT gridpg_recover_prepared()`.
Decisions and markers are forgotten once no primary holds their GID prepared, at the
earliest a minute after they were made (read before the scan, deleted after it when every
node answered); a server that is in recovery (an old address after a failover) counts as
not reached, so nothing is forgotten from its view.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field

from gridpg.datanode.connection import BackendConnection, NodeAddress
from gridpg.errors import LOCK_NOT_AVAILABLE, PgError
from gridpg.gtm.client import GtmClient
from gridpg.sql.quote import quote_literal
from gridpg.txn import marker
from gridpg.txn.deadlock import LABEL_PREFIX, build_label

log = logging.getLogger("gridpg.recovery")

GID = re.compile(r"^gridpg_(\d+)_(.+)$")
IN_DOUBT_AFTER = 10.0  # seconds prepared before a running coordinator's GID is in doubt
# A decision is forgotten only this long after it was logged (and when every primary was
# scanned without finding its GID): the coordinator forgets its own decisions once every
# node confirmed; this is garbage collection and must never race a commit still under way.
FORGET_AFTER = 60.0
UNDEFINED_OBJECT = "42704"
OBJECT_IN_PREREQUISITE_STATE = "55000"

_SCAN = ("SELECT gid, extract(epoch FROM now() - prepared)::float8 FROM pg_catalog.pg_prepared_xacts "
         "WHERE gid ~ '^gridpgm?_[0-9]+_' AND database = current_database()")


@dataclass
class PreparedTxn:
    node: str
    gid: str
    coordinator: str
    age: float
    decider: str | None = None  # the node whose commit marker decides; None: the GTM


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
    """(gxid, coordinator) of a gridpg GID (either form); None for any other name."""
    by_marker = marker.parse_gid(gid)
    if by_marker is not None:
        return by_marker.gxid, by_marker.coordinator
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
    forget the decisions and markers nothing is prepared for any more (when every node
    answered). `connect` lends a kept connection (the monitor's); by default one is opened
    per node."""
    forget_before = (time.time() - FORGET_AFTER) * 1_000_000
    decisions = [str(d.get("gid", "")) for d in await gtm.txn_decisions()  # before the scan
                 if int(d.get("ts", 0)) < forget_before]
    outcome = RecoveryOutcome()
    conns: dict[str, BackendConnection] = {}
    markers: dict[str, list[tuple[str, str]]] = {}  # node -> its old markers, before the scan
    seen: set[str] = set()  # every GID found prepared
    try:
        for address in nodes:
            conn = await _reach(address, connect, outcome)
            if conn is not None:
                conns[address.name] = conn
                markers[address.name] = await marker.stale_markers(conn, FORGET_AFTER)
        for name, conn in conns.items():
            for txn in await scan_prepared(conn):
                seen.add(txn.gid)
                if is_in_doubt(txn):
                    await resolve(conn, gtm, txn, outcome, conns)
        if not outcome.unreachable:
            for gid in decisions:
                if gid not in seen and parse_gid(gid) is not None:
                    await gtm.txn_forget(gid)
                    outcome.forgotten += 1
            for name, found in markers.items():
                outcome.forgotten += await _forget_markers(conns[name], found, seen)
    finally:
        if connect is None:
            for conn in conns.values():
                conn.close()
    return outcome


async def _reach(address: NodeAddress, connect: Connector | None,
                 outcome: RecoveryOutcome) -> BackendConnection | None:
    """A connection to the node's primary, or None (noted unreachable)."""
    conn = None
    try:
        conn = await (connect or _connect)(address)
        if await is_primary(conn):
            return conn
    except (PgError, OSError) as exc:
        log.warning("recovery: node %s unreachable: %s", address.name, exc)
        if conn is not None and connect is None:
            conn.close()
        outcome.unreachable.append(address.name)
        return None
    # An address that now serves a standby (a failover switched the group's primary):
    # what it holds says nothing about the group; skip it and forget nothing in this pass.
    if connect is None:
        conn.close()
    outcome.unreachable.append(address.name)
    return None


async def _forget_markers(conn: BackendConnection, found: list[tuple[str, str]], seen: set[str]) -> int:
    """Delete the node's old markers whose GID no primary holds prepared; an abort marker
    only once no backend there still runs the transaction's block (whose late marker
    insert must keep colliding with it)."""
    gids = [(g, o) for g, o in found if g not in seen and marker.parse_gid(g) is not None]
    if any(o == marker.ABORTED for _, o in gids):
        running = {r[0] for r in await conn.query(
            "SELECT application_name FROM pg_catalog.pg_stat_activity "
            f"WHERE application_name LIKE {quote_literal(LABEL_PREFIX + '%')}")}
        gids = [(g, o) for g, o in gids if o != marker.ABORTED or _label(g) not in running]
    if gids:
        await marker.delete_markers(conn, [g for g, _ in gids])
    return len(gids)


def _label(gid: str) -> str:
    parsed = marker.parse_gid(gid)
    assert parsed is not None
    return build_label(parsed.gxid, parsed.coordinator)


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
            by_marker = marker.parse_gid(gid)
            found.append(PreparedTxn(conn.node, gid, parsed[1], float(age or 0),
                                     by_marker.decider if by_marker is not None else None))
    return found


async def resolve(conn: BackendConnection, gtm: GtmClient, txn: PreparedTxn,
                  outcome: RecoveryOutcome, primaries: dict[str, BackendConnection] | None = None) -> None:
    """Commit or roll back one prepared transaction as the GTM (or its decider's marker,
    on `primaries`' connection to it) decides; another resolver (the coordinator, a second
    pass) having finished it first is not an error. A marker GID whose decider is not
    reached, or whose decider's commit is still in flight after the lock timeout, stays
    prepared for the next pass."""
    if txn.decider is None:
        committed = await gtm.txn_resolve(txn.gid)
    else:
        decider = (primaries or {}).get(txn.decider)
        if decider is None:
            log.warning("recovery: %s waits: its decider %s is not reached", txn.gid, txn.decider)
            if txn.decider not in outcome.unreachable:
                outcome.unreachable.append(txn.decider)
            return
        try:
            committed = await marker.resolve_by_marker(decider, txn.gid)
        except PgError as exc:
            log.warning("recovery: %s not decided on %s: %s", txn.gid, txn.decider, exc)
            if exc.sqlstate != LOCK_NOT_AVAILABLE:
                raise
            return
    verb = "COMMIT PREPARED" if committed else "ROLLBACK PREPARED"
    try:
        await conn.simple_query(f"{verb} {quote_literal(txn.gid)}")
    except PgError as exc:
        # Done by another resolver (42704), or being done by one right now ("prepared
        # transaction ... is busy", 55000: the coordinator's own COMMIT PREPARED).
        if exc.sqlstate not in (UNDEFINED_OBJECT, OBJECT_IN_PREREQUISITE_STATE):
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
