"""COMMIT PREPARED without waiting for the standbys, and the 2PC decision kept meanwhile.

A 2PC commit holds its row locks across three durable steps: the PREPARE on every writer,
the GTM's decision and COMMIT PREPARED; in a group with synchronous standbys each node
step also waits for a standby to have it. The last wait need not be on the lock's path:
the decision already says the transaction committed. So on such a group COMMIT PREPARED
runs with `synchronous_commit = off` (`async_commit_request`): its locks go and its answer
comes without waiting for a standby. (PostgreSQL still flushes a COMMIT PREPARED's record
locally whatever the setting, "no support for async commit of a prepared xact" in
twophase.c: on a group without standbys this would remove nothing, and is not done.)
Until the record is known to be on a synchronous standby, a failover can bring the GID
back prepared on the promoted standby; the GTM then still holds the decision, so in-doubt
recovery commits it there.

`CommitWitness` decides when the decision may go. A *witness* is a transaction that writes
WAL and commits with the node's default `synchronous_commit`, on the same server, after
the COMMIT PREPARED answered: its commit is flushed after the COMMIT PREPARED's record
(WAL is flushed and streamed in order) and waits for the synchronous standbys past it. In
the same transaction it reads `pg_prepared_xacts`: a GID found there again came back
(its COMMIT PREPARED lost), so that decision is kept for recovery. One witness per server
at a time covers every GID answered before it was sent; it is sent `WITNESS_DELAY` after
the first GID waiting for one, on a connection of its own (never a pooled one: its
settings are the node's defaults). A server that cannot be witnessed (down, or no longer
the node's primary) keeps its decisions for recovery, which forgets them once no primary
holds their GID prepared.

What must not happen here: a decision forgotten while a node could still bring its GID
back prepared. Nothing else changes: the commit is visible on every node when the client
hears it, as before.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from gridpg.datanode.connection import BackendConnection, NodeAddress
from gridpg.datanode.pool import PoolSet
from gridpg.errors import PgError
from gridpg.pgwire import codec
from gridpg.sql.quote import quote_literal

log = logging.getLogger("gridpg.txn")

SETTING = "synchronous_commit"
WITNESS_DELAY = 0.02  # seconds a waiting GID waits for others to share its witness
RETRY_SECONDS = 1.0  # between witnesses of a server that did not answer
GIVE_UP_SECONDS = 600.0  # then its decisions are left to recovery
_ASYNC = codec.build_query(f"SET {SETTING} = off")
_RESET = codec.build_query(f"RESET {SETTING}")
_WITNESS = "SELECT pg_catalog.pg_logical_emit_message(true, 'gridpg_witness', '')"

Connector = Callable[[NodeAddress], Awaitable[BackendConnection]]


def session_setting(state: object) -> str | None:
    """The session's own synchronous_commit on a connection in state `state` (a state tag of
    frontend/session_settings.py), or None: the node's default."""
    if not isinstance(state, tuple) or len(state) != 3:
        return None  # NEUTRAL, or unknown (such a connection is closed afterwards)
    for key, value in state[2]:
        if str(key).lower() == SETTING:
            return str(value)
    return None


def can_commit_async(conn: BackendConnection) -> bool:
    """Whether COMMIT PREPARED may run asynchronously on `conn` as far as its session goes:
    the session leaves synchronous_commit to the node (a client's own setting,
    `remote_apply` say, is kept: such a COMMIT PREPARED runs as the client asked)."""
    return session_setting(conn.session_state) is None


def async_commit_request(sql: bytes) -> bytes:
    """Three Query messages for one write: `synchronous_commit = off`, the COMMIT PREPARED
    (`sql`; it cannot run in a transaction block, an implicit one included, so the setting
    is the session's) and the setting reset (the connection goes back to its pool as it
    came: `can_commit_async` holds, so RESET gives the node's default). Three answers
    (`read_async_commit`)."""
    return _ASYNC + sql + _RESET


async def read_async_commit(conn: BackendConnection) -> BaseException | None:
    """The answers to `async_commit_request`: None (committed) or what the COMMIT PREPARED
    raised. A setting that did not take leaves COMMIT PREPARED synchronous (still correct);
    one not reset leaves the connection in an unknown state (closed, not pooled)."""
    outcome: BaseException | None = None
    for step in range(3):
        try:
            await conn.read_results()
        except Exception as exc:  # noqa: BLE001 - an outcome, as in the 2PC rounds
            if step == 1:
                outcome = exc
            elif step == 2:
                conn.session_state = None
    return outcome


@dataclass
class _Server:
    """The GIDs waiting for a witness on one server (a node's address)."""

    address: NodeAddress
    waiting: list[str] = field(default_factory=list)
    conn: BackendConnection | None = None
    scheduled: bool = False  # a witness is due or under way
    failing_since: float | None = None


class CommitWitness:
    """A coordinator worker's GIDs whose COMMIT PREPARED ran asynchronously: each decision
    is forgotten (`forget`) once every server that committed it so has witnessed it."""

    def __init__(self, pools: PoolSet, forget: Callable[[str], None],
                 connect: Connector | None = None) -> None:
        self._pools = pools
        self._forget = forget
        self._connect = connect or (lambda address: BackendConnection.connect(address, timeout=3))
        self._remaining: dict[str, int] = {}  # GID -> servers still to witness it
        # Datanode groups with standbys (the coordinator's catalog view): only there is
        # COMMIT PREPARED sent asynchronously.
        self.replicated: frozenset[str] = frozenset()
        self._servers: dict[NodeAddress, _Server] = {}
        self.witnesses = 0  # witness transactions committed (tests, metrics)

    def is_async(self, node: str, conn: BackendConnection) -> bool:
        """Whether the node's COMMIT PREPARED on `conn` goes asynchronously."""
        return node in self.replicated and can_commit_async(conn)

    @property
    def waiting(self) -> int:
        """How many decisions wait for a witness."""
        return len(self._remaining)

    def hold(self, gid: str, addresses: list[NodeAddress]) -> None:
        """The GID's COMMIT PREPARED answered asynchronously on each server of `addresses`:
        forget its decision once each has witnessed it."""
        self._remaining[gid] = len(addresses)
        for address in addresses:
            server = self._servers.get(address)
            if server is None:
                server = self._servers[address] = _Server(address)
            server.waiting.append(gid)
            if not server.scheduled:
                server.scheduled = True
                asyncio.get_running_loop().call_later(WITNESS_DELAY, self._start, server)

    def _start(self, server: _Server) -> None:
        asyncio.ensure_future(self._witness(server))

    async def _witness(self, server: _Server) -> None:
        batch, server.waiting = server.waiting, []
        loop = asyncio.get_running_loop()
        try:
            prepared = await self._run_witness(server, batch)
        except (PgError, OSError) as exc:
            if server.conn is not None:
                server.conn.close()
                server.conn = None
            server.failing_since = server.failing_since or loop.time()
            if self._has_moved(server) or loop.time() - server.failing_since > GIVE_UP_SECONDS:
                log.warning("no witness on %s (%s): %d decisions left to recovery",
                            server.address.name, exc, len(batch) + len(server.waiting))
                for gid in batch + server.waiting:
                    self._remaining.pop(gid, None)
                server.waiting = []
                server.scheduled = False
                server.failing_since = None
                return
            server.waiting = batch + server.waiting
            loop.call_later(RETRY_SECONDS, self._start, server)
            return
        server.failing_since = None
        self.witnesses += 1
        for gid in batch:
            if gid in prepared:  # back after a restart of the server: recovery commits it
                log.warning("%s is prepared again on %s: its decision is kept for recovery",
                            gid, server.address.name)
                self._remaining.pop(gid, None)
            else:
                self._witnessed(gid)
        if server.waiting:
            loop.call_later(WITNESS_DELAY, self._start, server)
        else:
            server.scheduled = False

    async def _run_witness(self, server: _Server, batch: list[str]) -> set[str]:
        """One witness transaction on the server: the GIDs of `batch` it finds prepared."""
        if server.conn is None or server.conn.is_closed:
            server.conn = await self._connect(server.address)
        gids = ", ".join(quote_literal(g) for g in batch)
        results = await server.conn.simple_query(
            f"{_WITNESS}; SELECT gid FROM pg_catalog.pg_prepared_xacts WHERE gid IN ({gids})")
        return {row[0] for row in results[-1].rows if row[0] is not None}

    def _has_moved(self, server: _Server) -> bool:
        """Whether the node is served elsewhere now (a failover): this server's WAL is not
        the node's any more."""
        try:
            return self._pools.pool(server.address.name).address != server.address
        except KeyError:
            return True

    def _witnessed(self, gid: str) -> None:
        left = self._remaining.get(gid)
        if left is None:
            return
        if left > 1:
            self._remaining[gid] = left - 1
            return
        del self._remaining[gid]
        self._forget(gid)

    def close(self) -> None:
        for server in self._servers.values():
            if server.conn is not None:
                server.conn.close()
                server.conn = None

