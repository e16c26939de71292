"""The notification hub of one coordinator worker: LISTEN/NOTIFY across the cluster.

Every coordinator sends its sessions' committed notifications to one PostgreSQL server,
the *hub*: the current primary of the cluster's first datanode group (by name), which
every coordinator reads from the same catalog and re-finds after a failover
(`hub_address`). Each worker process keeps one listener connection to the hub on which
it LISTENs to the union of its sessions' channels (LISTEN/UNLISTEN there as the union
changes) and one sender connection. A notification travels as
`pg_notify(channel, header || payload)`; the header names the sending coordinator worker
and the session's backend pid (the one its client got in BackendKeyData), so the
receiving sessions get the sender's pid, and a session its own.

This module owns the two connections and the worker's channel -> sessions map; what a
session may LISTEN and when (transaction rules) is `frontend/notify.py`. It must not
write to a client except through `Session.deliver_notification`.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import zlib
from typing import TYPE_CHECKING

from gridpg.datanode.connection import BackendConnection, NodeAddress
from gridpg.errors import CONNECTION_FAILURE, PgError
from gridpg.pgwire import codec
from gridpg.sql.quote import quote_ident, quote_literal

if TYPE_CHECKING:
    from gridpg.frontend.coordinator import Coordinator
    from gridpg.frontend.session import Session

log = logging.getLogger("gridpg.notify")

HEADER_SIZE = 13  # 4 hex digits of the worker's tag, 8 of the pid, ':'
PAYLOAD_LIMIT = 8000  # PostgreSQL's: a payload must be shorter (bytes)
SEND_ATTEMPTS = 4  # tries of one send, a failover's re-found hub included
RETRY_PAUSE = 0.5  # seconds between them, and between reconnections of the listener
COMMAND_TIMEOUT = 10.0  # bound on one LISTEN/UNLISTEN/sync round trip to the hub


def hub_address(coord: Coordinator) -> NodeAddress | None:
    """The hub: the primary of the first datanode group by name (also on a read-only
    coordinator, whose pools read from standbys: LISTEN and NOTIFY need a primary)."""
    snapshot = coord.snapshot
    if snapshot is None:
        return None
    for group in snapshot.datanode_groups():
        node = snapshot.node(group.primary) if group.primary else None
        if node is None:
            return None
        base = coord.catalog_address
        return NodeAddress(group.name, node.host, node.port, base.user, base.password,
                           base.database, base.socket_dir)
    return None


def encode_payload(tag: int, pid: int, payload: str) -> str:
    return f"{tag & 0xFFFF:04x}{pid & 0xFFFFFFFF:08x}:{payload}"


def decode_payload(text: str) -> tuple[int, int, str] | None:
    """(tag, pid, payload) of a hub notification; None for one gridpg did not send (NOTIFY
    run by server-side code on the hub's datanode itself)."""
    if len(text) < HEADER_SIZE or text[HEADER_SIZE - 1] != ":":
        return None
    try:
        return int(text[:4], 16), int(text[4:12], 16), text[HEADER_SIZE:]
    except ValueError:
        return None


def reported_pid(sender_tag: int, sender_pid: int, own_tag: int, own_pid: int) -> int:
    """The pid a receiving session is told: the sender's, which is its own pid only when it
    notified itself. gridpg's pids are per coordinator worker, so a session elsewhere may
    have the receiver's number: that one is reported with bit 30 flipped, so that clients
    that skip their own notifications do not skip it."""
    if sender_pid == own_pid and sender_tag != own_tag:
        return sender_pid ^ 0x40000000
    return sender_pid


class NotifyHub:
    """One worker's connections to the hub and its sessions by channel."""

    def __init__(self, coord: Coordinator) -> None:
        self.coord = coord
        self.listeners: dict[str, set[Session]] = {}  # channel -> sessions listening here
        self._counts: dict[str, int] = {}  # channel -> holds (sessions, LISTENs about to commit)
        self._conn: BackendConnection | None = None  # the listener connection
        self._reader: asyncio.Task[None] | None = None
        self._waiting: collections.deque[asyncio.Future[PgError | None]] = collections.deque()
        self._lock = asyncio.Lock()  # one command at a time on the listener connection
        self._sender: BackendConnection | None = None
        self._send_lock = asyncio.Lock()
        self._reconnect: asyncio.Task[None] | None = None
        self.closed = False

    @property
    def tag(self) -> int:
        return zlib.crc32(self.coord.state_name.encode()) & 0xFFFF

    # -- channels ----------------------------------------------------------------------

    async def hold(self, channels: list[str]) -> None:
        """Take a hold on each channel; LISTEN on the hub for those nobody here held (before
        the session's commit, as PostgreSQL registers a listener before its commit)."""
        new = [c for c in channels if not self._counts.get(c)]
        for channel in channels:
            self._counts[channel] = self._counts.get(channel, 0) + 1
        if new:
            try:
                await self._command("; ".join(f"LISTEN {quote_ident(c)}" for c in new))
            except BaseException:
                await self.release(channels)
                raise

    async def release(self, channels: list[str]) -> None:
        """Drop a hold on each channel; UNLISTEN on the hub those nobody here holds now."""
        gone = []
        for channel in channels:
            left = self._counts.get(channel, 0) - 1
            if left <= 0:
                self._counts.pop(channel, None)
                gone.append(channel)
            else:
                self._counts[channel] = left
        if gone and self._conn is not None and not self._conn.is_closed:
            try:
                await self._command("; ".join(f"UNLISTEN {quote_ident(c)}" for c in gone))
            except (TimeoutError, PgError, OSError):
                log.info("UNLISTEN on the notification hub failed", exc_info=True)

    def attach(self, session: Session, channel: str) -> None:
        self.listeners.setdefault(channel, set()).add(session)

    def detach(self, session: Session, channel: str) -> None:
        sessions = self.listeners.get(channel)
        if sessions is not None:
            sessions.discard(session)
            if not sessions:
                del self.listeners[channel]

    async def sync(self) -> None:
        """Wait until every notification the hub committed before now has been dispatched
        (a round trip on the listener connection: PostgreSQL sends a listener's queued
        notifications before its ReadyForQuery). Used after a session notified a channel it
        listens to, so its own notification reaches it before its ReadyForQuery."""
        if self._conn is None or self._conn.is_closed:
            return
        try:
            await self._command("")
        except (TimeoutError, PgError, OSError):
            log.info("sync with the notification hub failed", exc_info=True)

    # -- sending -----------------------------------------------------------------------

    async def send(self, pid: int, notifications: list[tuple[str, str]]) -> None:
        """Send one committed transaction's notifications, in order, in one hub transaction.
        Retried on a lost connection (a failover: the hub is re-found from the catalog)."""
        tag = self.tag
        sql = "; ".join(
            f"SELECT pg_catalog.pg_notify({quote_literal(channel)}, "
            f"{quote_literal(encode_payload(tag, pid, payload))})"
            for channel, payload in notifications)
        if len(notifications) > 1:
            sql = f"BEGIN; {sql}; COMMIT"
        async with self._send_lock:
            for attempt in range(SEND_ATTEMPTS):
                try:
                    conn = await self._sending_connection()
                    await asyncio.wait_for(conn.simple_query(sql), COMMAND_TIMEOUT)
                    return
                except (TimeoutError, PgError, OSError) as exc:
                    if isinstance(exc, PgError) and exc.sqlstate != CONNECTION_FAILURE \
                            and not exc.sqlstate.startswith(("08", "57")):
                        raise
                    self._drop_sender()
                    if attempt + 1 == SEND_ATTEMPTS:
                        raise PgError(CONNECTION_FAILURE, f"could not reach the notification hub: {exc}") from None
                    await asyncio.sleep(RETRY_PAUSE)
                    await self._refresh_catalog()

    async def _sending_connection(self) -> BackendConnection:
        address = hub_address(self.coord)
        if address is None:
            raise PgError(CONNECTION_FAILURE, "the cluster has no datanode group to carry notifications")
        conn = self._sender
        if conn is None or conn.is_closed or _where(conn.address) != _where(address):
            self._drop_sender()
            conn = self._sender = await BackendConnection.connect(address)
        return conn

    def _drop_sender(self) -> None:
        if self._sender is not None:
            self._sender.close()
            self._sender = None

    async def _refresh_catalog(self) -> None:
        try:
            await self.coord.reload_catalog()
        except (PgError, OSError):
            log.info("catalog reload while looking for the notification hub failed", exc_info=True)

    # -- the listener connection -------------------------------------------------------

    def follow(self) -> None:
        """After a catalog reload: a hub that moved (failover) is reconnected to."""
        address = hub_address(self.coord)
        conn = self._conn
        if conn is not None and address is not None and _where(conn.address) != _where(address):
            log.info("notification hub moved to %s:%d", address.host, address.port)
            conn.close()  # the reader sees the loss and reconnects
            self._drop_sender()

    async def _command(self, sql: str) -> None:
        async with self._lock:
            await self._roundtrip(await self._connected(), sql)

    async def _roundtrip(self, conn: BackendConnection, sql: str) -> None:
        """One simple Query on the listener connection (the lock held); its answer is
        read by the reader task, which dispatches notifications arriving meanwhile."""
        future: asyncio.Future[PgError | None] = asyncio.get_running_loop().create_future()
        self._waiting.append(future)
        conn.send(codec.build_query(sql))
        try:
            error = await asyncio.wait_for(asyncio.shield(future), COMMAND_TIMEOUT)
        except TimeoutError:
            conn.close()  # its answers would be read as a later command's
            raise PgError(CONNECTION_FAILURE, "the notification hub did not answer") from None
        if error is not None:
            raise error

    async def _connected(self) -> BackendConnection:
        """The listener connection (the lock held): made, with every channel held here
        LISTENed, when there is none."""
        if self._conn is not None and not self._conn.is_closed:
            return self._conn
        address = hub_address(self.coord)
        if address is None:
            raise PgError(CONNECTION_FAILURE, "the cluster has no datanode group to carry notifications")
        conn = await BackendConnection.connect(address)
        self._conn = conn
        self._reader = asyncio.ensure_future(self._read(conn))
        channels = list(self._counts)
        if channels:
            await self._roundtrip(conn, "; ".join(f"LISTEN {quote_ident(c)}" for c in channels))
        return conn

    async def _read(self, conn: BackendConnection) -> None:
        error: PgError | None = None
        try:
            while True:
                kind, raw = await conn.recv_raw()
                if kind == 0x41:
                    self._dispatch(raw[5:])
                elif kind == 0x45:
                    error = PgError.from_fields(codec.parse_error_fields(raw[5:]), conn.node)
                elif kind == 0x5A and self._waiting:
                    future = self._waiting.popleft()
                    if not future.done():
                        future.set_result(error)
                    error = None
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - the connection is gone, whatever the cause
            self._lost(conn, exc)

    def _lost(self, conn: BackendConnection, exc: Exception) -> None:
        conn.close()
        if self._conn is conn:
            self._conn = None
        lost = PgError(CONNECTION_FAILURE, f"the notification hub connection was lost: {exc}")
        while self._waiting:
            future = self._waiting.popleft()
            if not future.done():
                future.set_result(lost)
        if self._counts and not self.closed:
            log.warning("notification hub connection lost (%s); reconnecting", exc)
            if self._reconnect is None or self._reconnect.done():
                self._reconnect = asyncio.ensure_future(self._reconnect_loop())

    async def _reconnect_loop(self) -> None:
        while self._counts and not self.closed:
            await asyncio.sleep(RETRY_PAUSE)
            await self._refresh_catalog()
            try:
                async with self._lock:
                    await self._connected()
                return
            except (TimeoutError, PgError, OSError):
                log.info("notification hub not reachable yet", exc_info=True)

    def _dispatch(self, payload: bytes) -> None:
        _, channel, text = codec.parse_notification(payload)
        sessions = self.listeners.get(channel)
        if not sessions:
            return
        decoded = decode_payload(text)
        if decoded is None:
            log.info("notification on %r not sent by gridpg: not delivered", channel)
            return
        sender_tag, sender_pid, body = decoded
        own_tag = self.tag
        for session in list(sessions):
            pid = reported_pid(sender_tag, sender_pid, own_tag, session.info.backend_pid)
            session.deliver_notification(codec.build_notification(pid, channel, body))

    async def close(self) -> None:
        self.closed = True
        for task in (self._reader, self._reconnect):
            if task is not None:
                task.cancel()
        if self._conn is not None:
            self._conn.close()
        self._drop_sender()


def _where(address: NodeAddress) -> tuple[str, int]:
    return address.host, address.port
