"""2PC decided by one participant's commit: the commit marker (Citus's pg_dist_transaction,
the "last agent" of the XA literature).

A transaction that wrote two or more datanodes prepares every writer but one, the
*decider*; the decider then commits in one phase in a transaction that also inserts a
marker row naming the GID (`gridpg.commit_marker`, on every datanode), and the others get
COMMIT PREPARED. The decider's COMMIT is the decision: no GTM decision, no fsync of the
GTM's log on the row locks' path. The GID says which node decides
(`gridpgm_<gxid>_<len(decider)>_<decider>_<coordinator>`), so recovery knows where to look.

Recovery of an in-doubt GID (`resolve_by_marker`): a marker on the decider means
committed. To decide an abort, recovery inserts a conflicting marker itself (outcome 'a')
with ON CONFLICT DO NOTHING, in READ COMMITTED: while the coordinator's own insert is in
flight, the primary key makes it wait for that transaction's end; if the coordinator's
commit came first, the row read back says 'c'; if recovery's insert came first, the
coordinator's insert fails on the key, so its transaction rolls back on the decider too.
Either way one row says what happened, and both sides obey it.

Markers are deleted in batches by the coordinator once every other writer answered
COMMIT PREPARED (`MarkerKeeper.delete_soon`), or once a witness showed an asynchronous
COMMIT PREPARED durable (txn/durable.py). What a crash leaves behind, recovery deletes
(`stale_markers`, `delete_markers`): a marker at least a minute old whose GID no primary
holds prepared; an abort marker only once no backend of the decider still runs the
transaction's block (its late insert would otherwise find no conflict).

This module owns the table, the GID form, the decider's request and the marker reads and
writes; it does not choose the decider (txn/transaction.py does) nor scan for in-doubt
GIDs (txn/recovery.py).
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from gridpg.datanode.connection import BackendConnection, NodeAddress
from gridpg.datanode.pool import PoolSet
from gridpg.errors import UNDEFINED_TABLE, UNIQUE_VIOLATION, PgError
from gridpg.pgwire import codec
from gridpg.sql.quote import quote_literal

log = logging.getLogger("gridpg.txn")

TABLE = "gridpg.commit_marker"
COMMITTED, ABORTED = "c", "a"
SETUP = (
    "CREATE SCHEMA IF NOT EXISTS gridpg",
    f"CREATE TABLE IF NOT EXISTS {TABLE} (gid text PRIMARY KEY, "
    f"outcome \"char\" NOT NULL DEFAULT '{COMMITTED}' CHECK (outcome IN ('{COMMITTED}', '{ABORTED}')), "
    "made timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp())",
    # The decider's insert runs as the session's role, inside the client's transaction.
    "GRANT USAGE ON SCHEMA gridpg TO PUBLIC",
    f"GRANT INSERT ON {TABLE} TO PUBLIC",
)
PREFIX = "gridpgm_"
_GID = re.compile(r"^gridpgm_(\d+)_(\d+)_(.*)$", re.DOTALL)
LOCK_TIMEOUT_MS = 5000  # how long recovery waits for an in-flight decider commit
DELETE_DELAY = 0.2  # seconds a marker to delete waits for others to share its DELETE
DELETE_BATCH = 500
STALE_AFTER = 60.0  # seconds before recovery may delete a marker a crash left


@dataclass(frozen=True)
class MarkerGid:
    gxid: int
    decider: str
    coordinator: str


def build_gid(gxid: int, coordinator: str, decider: str) -> str:
    return f"{PREFIX}{gxid}_{len(decider)}_{decider}_{coordinator}"


def parse_gid(gid: str | None) -> MarkerGid | None:
    """The parts of a marker-decided GID; None for any other name."""
    match = _GID.match(gid or "")
    if match is None:
        return None
    size, rest = int(match.group(2)), match.group(3)
    if len(rest) < size + 2 or rest[size] != "_":
        return None
    return MarkerGid(int(match.group(1)), rest[:size], rest[size + 1:])


# The decider's answer when it committed: the marker's INSERT and the COMMIT.
DECIDED = codec.build_command_complete("INSERT 0 1") + codec.build_command_complete("COMMIT")


def decide_request(gid: str) -> bytes:
    """The decider's commit: the marker inserted and the block committed, one Query. An
    error (the key taken by recovery's abort marker, a deferred constraint) skips the
    COMMIT: the block is then failed and rolled back by the caller."""
    return codec.build_query(f"INSERT INTO {TABLE} (gid) VALUES ({quote_literal(gid)}); COMMIT")


def is_marker_conflict(exc: PgError) -> bool:
    """Whether the decider's marker insert met a marker already there (recovery's)."""
    fields = exc.fields or {}
    return exc.sqlstate == UNIQUE_VIOLATION and (
        fields.get("n") == "commit_marker_pkey" or "commit_marker_pkey" in exc.message)


async def resolve_by_marker(conn: BackendConnection, gid: str) -> bool:
    """Recovery's decision for `gid` on its decider's primary (`conn`, outside a block):
    True (committed) if the coordinator's marker is there or comes first, else the abort
    marker is committed and False. Raises when the decider's in-flight commit did not end
    within LOCK_TIMEOUT_MS (55P03): no decision this time."""
    sql = (f"BEGIN ISOLATION LEVEL READ COMMITTED; SET LOCAL lock_timeout = {LOCK_TIMEOUT_MS}; "
           f"INSERT INTO {TABLE} (gid, outcome) VALUES ({quote_literal(gid)}, '{ABORTED}') "
           f"ON CONFLICT (gid) DO NOTHING; "
           f"SELECT outcome FROM {TABLE} WHERE gid = {quote_literal(gid)}; COMMIT")
    try:
        results = await conn.simple_query(sql)
    except PgError as exc:
        await _end_block(conn)
        if exc.sqlstate != UNDEFINED_TABLE:
            raise
        await ensure_table(conn)  # never made there: no commit can have been decided there
        results = await conn.simple_query(sql)
    rows = next((r.rows for r in reversed(results) if r.rows), [])
    return bool(rows) and rows[0][0] == COMMITTED


async def ensure_table(conn: BackendConnection) -> None:
    """Create the marker table on the node `conn` reaches (concurrent creators tolerated)."""
    for attempt in range(3):
        try:
            await conn.simple_query("; ".join(SETUP))
            return
        except PgError as exc:
            await _end_block(conn)
            # Two creators at once: one of them meets the other's catalog row (23505).
            if exc.sqlstate != UNIQUE_VIOLATION or attempt == 2:
                raise


async def stale_markers(conn: BackendConnection, older_than: float = STALE_AFTER) -> list[tuple[str, str]]:
    """(gid, outcome) of the node's markers made at least `older_than` seconds ago (none
    where the table was never made: catalog servers, a new node; asked first, so that no
    recovery pass leaves an error in the server's log)."""
    rows = await conn.query(f"SELECT pg_catalog.to_regclass({quote_literal(TABLE)}) IS NOT NULL")
    if not rows or rows[0][0] != "t":
        return []
    try:
        rows = await conn.query(f"SELECT gid, outcome FROM {TABLE} WHERE made < "
                                f"pg_catalog.clock_timestamp() - interval '{float(older_than)} seconds'")
    except PgError as exc:
        if exc.sqlstate == UNDEFINED_TABLE:
            return []
        raise
    return [(str(g), str(o)) for g, o in rows if g is not None]


async def delete_markers(conn: BackendConnection, gids: list[str]) -> None:
    """Delete markers. Not waited for on disk: a delete lost in a crash leaves a marker
    that recovery deletes later (its GID prepared nowhere), never a wrong outcome."""
    for start in range(0, len(gids), DELETE_BATCH):
        names = ", ".join(quote_literal(g) for g in gids[start:start + DELETE_BATCH])
        await conn.simple_query(f"BEGIN; SET LOCAL synchronous_commit = off; "
                                f"DELETE FROM {TABLE} WHERE gid IN ({names}); COMMIT")


async def _end_block(conn: BackendConnection) -> None:
    if not conn.is_closed and conn.txn_status != b"I":
        await conn.simple_query("ROLLBACK")


Acquire = Callable[[str], Awaitable[BackendConnection]]
Release = Callable[[str, BackendConnection], None]
Connector = Callable[[NodeAddress], Awaitable[BackendConnection]]


class OwnConnections:
    """The marker keeper's connections: one per node, its own, used by one caller at a
    time. Never a pooled one: taking a pooled connection would reset a session's settings
    on it (the session's next statement then pays for setting them again, and a block's
    first statement cannot run from the callbacks), and these queries want the node's
    defaults and the cluster superuser."""

    def __init__(self, pools: PoolSet, connect: Connector | None = None) -> None:
        self._pools = pools
        self._connect = connect or (lambda address: BackendConnection.connect(address, timeout=3))
        self._conns: dict[str, BackendConnection] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def acquire(self, node: str) -> BackendConnection:
        """The node's connection, to its primary of the moment (a failover's new one)."""
        lock = self._locks.setdefault(node, asyncio.Lock())
        await lock.acquire()
        try:
            address = self._pools.pool(node).address
            conn = self._conns.get(node)
            if conn is None or conn.is_closed or conn.address != address:
                if conn is not None:
                    conn.close()
                conn = self._conns[node] = await self._connect(address)
            return conn
        except BaseException:
            self._conns.pop(node, None)
            lock.release()
            raise

    def release(self, node: str, conn: BackendConnection) -> None:
        if conn.is_closed or conn.txn_status != b"I":
            conn.close()
            self._conns.pop(node, None)
        self._locks[node].release()

    def close(self) -> None:
        for conn in self._conns.values():
            conn.close()
        self._conns.clear()


class MarkerKeeper:
    """One coordinator worker's view of the marker tables: which datanodes have one (a
    node is a decider only then), and the markers to delete, in batches per node."""

    def __init__(self, acquire: Acquire, release: Release) -> None:
        self._acquire = acquire
        self._release = release
        self.enabled = True
        self._ready: set[str] = set()
        self._ensuring: set[str] = set()
        self._deletes: dict[str, list[str]] = {}
        self._timer: asyncio.TimerHandle | None = None
        self.deleted = 0  # markers deleted (tests)

    def is_ready(self, node: str) -> bool:
        """Whether `node` may decide: its marker table is known to exist. The first ask
        about a node starts making sure it does (in the background: this transaction
        takes the GTM's decision)."""
        if node in self._ready:
            return True
        if self.enabled and node not in self._ensuring:
            self._ensuring.add(node)
            asyncio.ensure_future(self._ensure(node))
        return False

    def forget_node(self, node: str) -> None:
        """The node's table was found missing: checked again before it decides again."""
        self._ready.discard(node)

    async def make_ready(self, node: str) -> bool:
        """`is_ready`, waiting for the table to be made when it is not known yet."""
        if node in self._ready or not self.enabled:
            return node in self._ready
        self._ensuring.add(node)
        await self._ensure(node)
        return node in self._ready

    async def _ensure(self, node: str) -> None:
        try:
            conn = await self._acquire(node)
        except (PgError, OSError) as exc:
            log.debug("marker table on %s not checked: %s", node, exc)
            self._ensuring.discard(node)
            return
        try:
            await ensure_table(conn)
            self._ready.add(node)
        except (PgError, OSError) as exc:
            log.warning("marker table on %s not made (its 2PC decisions stay in the GTM): %s", node, exc)
        finally:
            self._ensuring.discard(node)
            self._release(node, conn)

    async def decide(self, node: str, gid: str) -> bool:
        """`resolve_by_marker` on the node's primary of the moment."""
        conn = await self._acquire(node)
        try:
            return await resolve_by_marker(conn, gid)
        finally:
            self._release(node, conn)

    def delete_soon(self, decider: str, gid: str) -> None:
        """Every participant committed `gid` durably: its marker may go."""
        self._deletes.setdefault(decider, []).append(gid)
        if self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(DELETE_DELAY, self._start_deletes)

    @property
    def pending(self) -> int:
        return sum(len(g) for g in self._deletes.values())

    def _start_deletes(self) -> None:
        self._timer = None
        batches, self._deletes = self._deletes, {}
        for node, gids in batches.items():
            asyncio.ensure_future(self._delete(node, gids))

    async def _delete(self, node: str, gids: list[str]) -> None:
        try:
            conn = await self._acquire(node)
        except (PgError, OSError) as exc:
            log.debug("%d markers on %s left to recovery: %s", len(gids), node, exc)
            return
        try:
            await delete_markers(conn, gids)
            self.deleted += len(gids)
        except (PgError, OSError) as exc:
            log.debug("%d markers on %s left to recovery: %s", len(gids), node, exc)
        finally:
            self._release(node, conn)
