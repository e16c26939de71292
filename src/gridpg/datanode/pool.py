"""Bounded pools of backend connections, one per node, shared by all sessions.

A session takes a connection for the length of a transaction (or one statement outside a
transaction) and gives it back; thousands of clients share a few connections per node. A
connection comes back clean or not at all: one left inside a transaction, or broken, is
closed instead of pooled.
"""

from __future__ import annotations

import asyncio
import collections
from collections.abc import Awaitable, Callable

from gridpg.catalog.relation_oids import ColumnMap
from gridpg.datanode.connection import BackendConnection, NodeAddress

_SCAN = 16  # idle connections looked at for one already set up for the session


class NodePool:
    """Idle connections to one node, at most `max_size` open at once."""

    def __init__(self, address: NodeAddress, max_size: int = 32, type_map: dict[int, int] | None = None,
                 column_map: ColumnMap | None = None) -> None:
        self.address = address
        self.max_size = max_size
        # the node's type and relation OIDs -> the catalog server's, given to each connection it opens
        self.type_map: dict[int, int] = {} if type_map is None else type_map
        self.column_map: ColumnMap = {} if column_map is None else column_map
        self._idle: collections.deque[BackendConnection] = collections.deque()
        self._open = 0
        self._waiters: collections.deque[asyncio.Future[None]] = collections.deque()
        self.closed = False

    @property
    def open_count(self) -> int:
        return self._open

    @property
    def idle_count(self) -> int:
        return len(self._idle)

    def take_idle(self, wanted: object = None) -> BackendConnection | None:
        """An idle connection without waiting, preferring one already set up as `wanted`
        (its session state: no RESET/SET round trip); None when none is idle. One in
        another state whose state arms a timer (`timer_set`) is closed, not handed out:
        the RESET bringing it to the new state would run under the old statement_timeout
        and could fail, for a session that never set one (57014)."""
        idle = self._idle
        while idle:
            if wanted is not None:
                for index in range(len(idle) - 1, max(-1, len(idle) - 1 - _SCAN), -1):
                    conn = idle[index]
                    if conn.session_state == wanted and not conn.is_closed:
                        del idle[index]
                        return conn
            conn = idle.pop()
            if not conn.is_closed and not conn.timer_set:
                return conn
            if conn.timer_set:  # its RESET would run under another session's timer
                conn.close()
            self._open -= 1
        return None

    def take_matching(self, accept: Callable[[BackendConnection], bool]) -> BackendConnection | None:
        """An idle connection that `accept` takes as it is (among the most recent few), or
        None; no connection is opened and none waited for."""
        idle = self._idle
        if not idle:
            return None
        conn = idle[-1]  # the most recent first: almost always the one
        if not conn.is_closed and accept(conn):
            return idle.pop()
        for index in range(len(idle) - 2, max(-1, len(idle) - 1 - _SCAN), -1):
            conn = idle[index]
            if not conn.is_closed and accept(conn):
                del idle[index]
                return conn
        return None

    async def acquire(self, wanted: object = None) -> BackendConnection:
        while True:
            conn = self.take_idle(wanted)
            if conn is not None:
                return conn
            if self._open < self.max_size:
                self._open += 1
                try:
                    conn = await BackendConnection.connect(self.address)
                except BaseException:
                    self._open -= 1
                    self._wake_one()
                    raise
                conn.use_type_map(self.type_map, self.column_map)
                return conn
            waiter = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            try:
                await waiter
            finally:
                if waiter in self._waiters:
                    self._waiters.remove(waiter)

    def release(self, conn: BackendConnection) -> None:
        """Back to the pool only when clean: idle, nothing owed or unread, its session
        state known (a session's recorded settings or neutral), and to this pool's server (a
        session may give back a connection taken before the node's address switched: a
        failover, or a read-only coordinator moving between a standby and the primary), and
        no cancel request sent for it (one arriving late would stop the next session's
        statement); else closed."""
        if conn.txn_status != b"I" or self.closed or not conn.is_clean or conn.session_state is None \
                or getattr(conn, "cancel_sent", False) \
                or (conn.address is not self.address and conn.address != self.address):
            conn.close()
            self._open -= 1
        else:
            self._idle.append(conn)
        if self._waiters:
            self._wake_one()

    def discard(self, conn: BackendConnection) -> None:
        conn.close()
        self._open -= 1
        self._wake_one()

    def detach(self, conn: BackendConnection) -> None:
        """The connection leaves the pool for good (a session keeps it): no longer counted."""
        self._open -= 1
        self._wake_one()

    def _wake_one(self) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return

    def close(self) -> None:
        self.closed = True
        while self._idle:
            self._idle.pop().close()
            self._open -= 1


class PoolSet:
    """The pools of a coordinator, by node name."""

    def __init__(self, max_size: int = 32) -> None:
        self.max_size = max_size
        self._pools: dict[str, NodePool] = {}
        # per node, kept when its pool is replaced (a promoted standby has its primary's OIDs)
        self.type_maps: dict[str, dict[int, int]] = {}
        self.column_maps: dict[str, ColumnMap] = {}
        # Nodes whose maps a catalog reload left to be read again: read when a statement
        # first takes one of the node's connections (`ensure_maps`), not at every reload,
        # so a burst of DDL reads no datanode (Coordinator.ensure_node_maps)
        self.stale_maps: set[str] = set()
        self.read_maps: Callable[[str], Awaitable[None]] | None = None

    async def ensure_maps(self, node: str) -> None:
        """The node's maps as of the last catalog reload, read now if that reload left them
        stale (a statement is about to relay the node's RowDescriptions)."""
        if node in self.stale_maps and self.read_maps is not None:
            await self.read_maps(node)

    def set_node(self, address: NodeAddress) -> None:
        pool = self._pools.get(address.name)
        if pool is not None and pool.address == address:
            return
        if pool is not None:
            pool.close()
        self._pools[address.name] = NodePool(address, self.max_size, self.type_maps.setdefault(address.name, {}),
                                             self.column_maps.setdefault(address.name, {}))

    def pool(self, node: str) -> NodePool:
        return self._pools[node]

    def items(self) -> list[tuple[str, NodePool]]:
        return list(self._pools.items())

    def close(self) -> None:
        for pool in self._pools.values():
            pool.close()

    def close_idle(self) -> None:
        """CLEAN CONNECTION: close every idle pooled connection (they reopen on demand)."""
        for pool in self._pools.values():
            while pool._idle:
                pool._idle.pop().close()
                pool._open -= 1
