"""The notification hub of one coordinator worker: LISTEN/NOTIFY across the cluster.

Every coordinator sends its sessions' committed notifications to one PostgreSQL server,
the *hub*: the current primary of the cluster's first datanode group (by name), which
every coordinator reads from the same catalog and re-finds after a failover
(`hub_address`). A notification travels as `pg_notify(channel, header || payload)`; the
header (a token of the cluster, the sending worker's tag, the session's backend pid, the
one its client got in BackendKeyData) tells the receivers who sent it, so a session gets
the sender's pid, and its own for its own notifications.

Each worker keeps one listener connection to the hub and, for notifications that
server-side code (functions, triggers) makes where it runs, one to every catalog server
and every datanode group primary; on each it LISTENs to the union of its sessions'
channels (LISTEN/UNLISTEN there as the union changes), made only once a session listens.
A notification without gridpg's header comes from such code and is relayed with the
PostgreSQL backend's pid. gridpg's own channel on the catalog servers (metadata epochs,
`EPOCH_CHANNEL`) is never relayed.

This module owns those connections and the worker's channel -> sessions map; what a
session may LISTEN and when (transaction rules) is `frontend/notify.py`. It writes to a
client only through `Session.deliver_notification`.
"""

from __future__ import annotations

import asyncio
import collections
import hashlib
import logging
import time
import zlib
from typing import TYPE_CHECKING, Any

from gridpg.datanode.connection import BackendConnection, NodeAddress
from gridpg.errors import CONNECTION_FAILURE, PgError, notice
from gridpg.pgwire import codec
from gridpg.sql.quote import quote_ident, quote_literal

if TYPE_CHECKING:
    from gridpg.frontend.coordinator import Coordinator
    from gridpg.frontend.session import Session

log = logging.getLogger("gridpg.notify")

HEADER_SIZE = 21  # 8 hex digits of the cluster's token, 4 of the worker's tag, 8 of the pid, ':'
PAYLOAD_LIMIT = 8000  # PostgreSQL's: a payload must be shorter (bytes)
SEND_ATTEMPTS = 4  # tries of one send, a failover's re-found hub included
RETRY_PAUSE = 0.5  # seconds between them, and between reconnections of a listener
COMMAND_TIMEOUT = 10.0  # bound on one LISTEN/UNLISTEN/sync round trip
RECONNECT_MAX = 5.0  # seconds between a listener's attempts to connect again, at most
# frontend/coordinator.py EPOCH_CHANNEL, frontend/epoch_acks.py ACK_CHANNEL
INTERNAL_CHANNELS = frozenset({"gridpg_catalog", "gridpg_epoch_loaded"})


def hub_address(coord: Coordinator) -> NodeAddress | None:
    """The hub: the primary of the first datanode group by name (also on a read-only
    coordinator, whose pools read from standbys: LISTEN and NOTIFY need a primary); None
    while that group has none (a failover under way)."""
    snapshot = coord.snapshot
    groups = snapshot.datanode_groups() if snapshot is not None else []
    if not groups:
        return None
    return _primary(coord, groups[0])


def server_addresses(coord: Coordinator) -> list[NodeAddress]:
    """Every server whose code may NOTIFY: the datanode group primaries (the hub among
    them) and the catalog servers."""
    snapshot = coord.snapshot
    primaries = [_primary(coord, g) for g in snapshot.datanode_groups()] if snapshot is not None else []
    return [a for a in primaries if a is not None] + [coord.catalog_address, *coord.other_catalogs]


def _primary(coord: Coordinator, group: Any) -> NodeAddress | None:
    snapshot = coord.snapshot
    node = snapshot.node(group.primary) if snapshot is not None and group.primary else None
    if node is None:
        return None
    base = coord.catalog_address
    return NodeAddress(group.name, node.host, node.port, base.user, base.password, base.database, base.socket_dir)


def cluster_token(password: str) -> str:
    """8 hex digits only the cluster's superuser knows: server-side code cannot make a
    payload that passes for one gridpg sent."""
    return hashlib.sha256(b"gridpg-notify:" + password.encode()).hexdigest()[:8]


def encode_payload(token: str, tag: int, pid: int, payload: str) -> str:
    return f"{token}{tag & 0xFFFF:04x}{pid & 0xFFFFFFFF:08x}:{payload}"


def decode_payload(token: str, text: str) -> tuple[int, int, str] | None:
    """(tag, pid, payload) of a notification gridpg sent; None for one it did not (made by
    server-side code)."""
    if len(text) < HEADER_SIZE or text[HEADER_SIZE - 1] != ":" or not text.startswith(token):
        return None
    try:
        return int(text[8:12], 16), int(text[12:20], 16), text[HEADER_SIZE:]
    except ValueError:
        return None


def reported_pid(sender_tag: int | None, sender_pid: int, own_tag: int, own_pid: int) -> int:
    """The pid a receiving session is told: the sender's, which is its own pid only when it
    notified itself. gridpg's pids are per coordinator worker (and server-side code's are a
    PostgreSQL backend's, `sender_tag` None), so another may have the receiver's number:
    that one is reported with bit 30 flipped, so that clients that skip their own
    notifications do not skip it."""
    if sender_pid == own_pid and sender_tag != own_tag:
        return sender_pid ^ 0x40000000
    return sender_pid


class NotifyHub:
    """One worker's connections to the hub and the other servers, and its sessions by channel."""

    def __init__(self, coord: Coordinator) -> None:
        self.coord = coord
        self.listeners: dict[str, set[Session]] = {}  # channel -> sessions listening here
        self.counts: dict[str, int] = {}  # channel -> holds (sessions, LISTENs about to commit)
        self._servers: dict[tuple[str, int], ServerListener] = {}
        self._hub: tuple[str, int] | None = None
        self._sender: BackendConnection | None = None
        self._send_lock = asyncio.Lock()
        self.closed = False

    @property
    def tag(self) -> int:
        return zlib.crc32(self.coord.state_name.encode()) & 0xFFFF

    @property
    def token(self) -> str:
        return cluster_token(self.coord.catalog_address.password)

    # -- channels ----------------------------------------------------------------------

    async def hold(self, channels: list[str]) -> None:
        """Take a hold on each channel; LISTEN for those nobody here held (before the
        session's commit, as PostgreSQL registers a listener before its commit). The hub
        must answer; another server that does not is LISTENed on when it is back."""
        new = [c for c in channels if not self.counts.get(c)]
        for channel in channels:
            self.counts[channel] = self.counts.get(channel, 0) + 1
        if not new:
            return
        try:
            for attempt in range(SEND_ATTEMPTS):
                try:
                    await self._listen_everywhere(new)
                    return
                except (PgError, OSError, TimeoutError):
                    if attempt + 1 == SEND_ATTEMPTS:
                        raise
                    await asyncio.sleep(RETRY_PAUSE)
                    await self.refresh_catalog()
        except BaseException:
            await self.release(channels)
            raise

    async def _listen_everywhere(self, channels: list[str]) -> None:
        """LISTEN on every server; the hub must answer (and be known)."""
        self.follow()
        if self._hub is None:
            raise PgError(CONNECTION_FAILURE, "no datanode group primary to carry notifications now")
        sql = "; ".join(f"LISTEN {quote_ident(c)}" for c in channels)
        servers = list(self._servers.values())
        results = await asyncio.gather(*(s.command(sql) for s in servers), return_exceptions=True)
        for server, result in zip(servers, results, strict=True):
            if isinstance(result, BaseException):
                if server.key == self._hub:
                    raise result
                log.warning("LISTEN on %s failed (%s): LISTENed again when it answers", server.address.name, result)
                server.reconnect_later()

    async def release(self, channels: list[str]) -> None:
        """Drop a hold on each channel; UNLISTEN those nobody here holds now."""
        gone = []
        for channel in channels:
            left = self.counts.get(channel, 0) - 1
            if left <= 0:
                self.counts.pop(channel, None)
                gone.append(channel)
            else:
                self.counts[channel] = left
        if gone:
            sql = "; ".join(f"UNLISTEN {quote_ident(c)}" for c in gone)
            await asyncio.gather(*(s.command(sql, connect=False) for s in self._servers.values()),
                                 return_exceptions=True)

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
        (a round trip on the hub's listener: PostgreSQL sends a listener's queued
        notifications before its ReadyForQuery). Used after a session notified a channel it
        listens to, so its own notification reaches it before its ReadyForQuery."""
        server = self._servers.get(self._hub) if self._hub is not None else None
        if server is not None:
            try:
                await server.command("", connect=False)
            except (PgError, OSError, TimeoutError):
                log.info("sync with the notification hub failed", exc_info=True)

    # -- sending -----------------------------------------------------------------------

    async def send(self, pid: int, notifications: list[tuple[str, str]]) -> None:
        """Send one committed transaction's notifications, in order, in one hub transaction.
        Retried on a lost connection (a failover: the hub is re-found from the catalog)."""
        token, tag = self.token, self.tag
        sql = "; ".join(
            f"SELECT pg_catalog.pg_notify({quote_literal(channel)}, "
            f"{quote_literal(encode_payload(token, tag, pid, payload))})"
            for channel, payload in notifications)
        if len(notifications) > 1:
            sql = f"BEGIN; {sql}; COMMIT"
        async with self._send_lock:
            for attempt in range(SEND_ATTEMPTS):
                try:
                    conn = await self._sending_connection()
                    await asyncio.wait_for(conn.simple_query(sql), COMMAND_TIMEOUT)
                    return
                except (PgError, OSError, TimeoutError) as exc:
                    if isinstance(exc, PgError) and not exc.sqlstate.startswith(("08", "57", "25006")):
                        raise  # (25006: the server is a standby now, a switchover under way)
                    self._drop_sender()
                    if attempt + 1 == SEND_ATTEMPTS:
                        raise PgError(CONNECTION_FAILURE, f"could not reach the notification hub: {exc}") from None
                    await asyncio.sleep(RETRY_PAUSE)
                    await self.refresh_catalog()

    async def _sending_connection(self) -> BackendConnection:
        address = hub_address(self.coord)
        if address is None:
            raise PgError(CONNECTION_FAILURE, "no datanode group primary to carry notifications now")
        conn = self._sender
        if conn is None or conn.is_closed or _key(conn.address) != _key(address):
            self._drop_sender()
            conn = self._sender = await BackendConnection.connect(address)
        return conn

    def _drop_sender(self) -> None:
        if self._sender is not None:
            self._sender.close()
            self._sender = None

    async def refresh_catalog(self) -> None:
        """Reload the catalog if its epoch moved (a failover bumps it): the hub re-found."""
        coord = self.coord
        try:
            epoch = await coord.gtm.epoch_get()
            if coord.snapshot is None or epoch != coord.snapshot.epoch:
                await coord.reload_catalog()
        except Exception:  # the GTM or the catalog away: the next try asks again
            log.info("catalog check while looking for the notification hub failed", exc_info=True)

    # -- the listener connections ------------------------------------------------------

    def follow(self) -> None:
        """The servers to listen on, after a catalog reload (a failover moves the hub and
        a group's primary; CREATE NODE adds a group): listeners of servers gone are closed,
        new ones are made (LISTENing to every channel held) when a channel is held."""
        if self.closed:
            return
        try:
            self._follow()
        except Exception:  # never in the way of the catalog reload that calls it
            log.exception("notification listeners could not follow the catalog")

    def _follow(self) -> None:
        addresses = server_addresses(self.coord)
        wanted = {_key(a): a for a in addresses}
        hub = hub_address(self.coord)
        hub_key = _key(hub) if hub is not None else None
        if hub_key != self._hub and self._sender is not None:
            self._drop_sender()
        self._hub = hub_key
        moved: dict[str, float] = {}  # group -> since when its listener was not listening
        for key in [k for k in self._servers if k not in wanted]:
            log.info("notifications: no longer listening on %s:%d", *key)
            old = self._servers.pop(key)
            old.close()
            if self.counts:
                moved[old.address.name] = old.lost_at if old.lost_at is not None else time.monotonic()
        for key, address in wanted.items():
            if key not in self._servers:
                server = self._servers[key] = ServerListener(self, address)
                server.lost_at = moved.get(address.name)  # a failover's gap: warned when listening
                if self.counts:
                    server.reconnect_later(pause=0.0)

    def dispatch(self, server: ServerListener, payload: bytes) -> None:
        backend_pid, channel, text = codec.parse_notification(payload)
        sessions = self.listeners.get(channel)
        if not sessions:
            return
        decoded = decode_payload(self.token, text)
        if decoded is not None:  # (also from a server that is no longer the hub: each
            sender_tag, sender_pid, body = decoded  # sender used one server, each is heard once)
        elif server.is_catalog and channel in INTERNAL_CHANNELS:
            return  # gridpg's own metadata notifications
        else:
            sender_tag, sender_pid, body = None, backend_pid, text
        own_tag = self.tag
        for session in list(sessions):
            pid = reported_pid(sender_tag, sender_pid, own_tag, session.info.backend_pid)
            session.deliver_notification(codec.build_notification(pid, channel, body))

    def warn_gap(self, server: str, seconds: float) -> None:
        """A listener connection is back after a loss: every session listening here is
        told (a WARNING) that notifications sent meanwhile may not have reached it, as
        PostgreSQL's clients learn it from their lost connection, so that it can re-poll."""
        warning = notice(
            f"notifications may have been lost: this coordinator's connection to {server} "
            f"was down for {seconds:.1f} s and is listening again", "WARNING", "01000")
        for session in {s for sessions in self.listeners.values() for s in sessions}:
            session.deliver_notification(warning)

    async def close(self) -> None:
        self.closed = True
        for server in self._servers.values():
            server.close()
        self._servers.clear()
        self._drop_sender()


class ServerListener:
    """The worker's listener connection to one server: LISTEN/UNLISTEN/sync commands one at
    a time, their answers and the notifications read by one reader task."""

    def __init__(self, hub: NotifyHub, address: NodeAddress) -> None:
        self.hub = hub
        self.address = address
        self.key = _key(address)
        coord = hub.coord
        self.is_catalog = address.name in {coord.catalog_address.name, *(a.name for a in coord.other_catalogs)}
        self.conn: BackendConnection | None = None
        self._reader: asyncio.Task[None] | None = None
        self._reconnect: asyncio.Task[None] | None = None
        self._waiting: collections.deque[asyncio.Future[PgError | None]] = collections.deque()
        self._lock = asyncio.Lock()
        self.closed = False
        self.lost_at: float | None = None  # when the connection was lost with channels held

    async def command(self, sql: str, connect: bool = True) -> None:
        async with self._lock:
            if self.conn is None or self.conn.is_closed:
                if not connect:
                    return  # (UNLISTEN, sync: a new connection LISTENs to what is held)
                await self._connect()
                return  # it LISTENed to every channel held, these included
            await self._roundtrip(self.conn, sql)

    async def _roundtrip(self, conn: BackendConnection, sql: str) -> None:
        """One simple Query (the lock held); its answer is read by the reader task, which
        dispatches notifications arriving meanwhile."""
        future: asyncio.Future[PgError | None] = asyncio.get_running_loop().create_future()
        self._waiting.append(future)
        conn.send(codec.build_query(sql))
        try:
            error = await asyncio.wait_for(asyncio.shield(future), COMMAND_TIMEOUT)
        except TimeoutError:
            conn.close()  # its answer would be read as a later command's
            raise PgError(CONNECTION_FAILURE, f"{self.address.name} did not answer a LISTEN") from None
        if error is not None:
            raise error

    async def _connect(self) -> None:
        """A new connection LISTENing to every channel held (the lock held)."""
        if self.closed:
            raise PgError(CONNECTION_FAILURE, "the coordinator is stopping")
        conn = await BackendConnection.connect(self.address)
        self.conn = conn
        self._reader = asyncio.ensure_future(self._read(conn))
        channels = list(self.hub.counts)
        if channels:
            await self._roundtrip(conn, "; ".join(f"LISTEN {quote_ident(c)}" for c in channels))
        if self.lost_at is not None:
            self.hub.warn_gap(self.address.name, time.monotonic() - self.lost_at)
            self.lost_at = None

    async def _read(self, conn: BackendConnection) -> None:
        error: PgError | None = None
        try:
            while True:
                kind, raw = await conn.recv_raw()
                if kind == 0x41:
                    self.hub.dispatch(self, raw[5:])
                elif kind == 0x45:
                    error = conn.error(codec.parse_error_fields(raw[5:]))
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
        if self.conn is conn:
            self.conn = None
        if self.hub.counts and self.lost_at is None:
            self.lost_at = time.monotonic()
        lost = PgError(CONNECTION_FAILURE, f"the listener connection to {self.address.name} was lost: {exc}")
        while self._waiting:
            future = self._waiting.popleft()
            if not future.done():
                future.set_result(lost)
        if self.hub.counts and not self.closed:
            log.warning("notification listener on %s lost (%s); reconnecting", self.address.name, exc)
            self.reconnect_later()

    def reconnect_later(self, pause: float = RETRY_PAUSE) -> None:
        if not self.closed and (self._reconnect is None or self._reconnect.done()):
            self._reconnect = asyncio.ensure_future(self._reconnect_loop(pause))

    async def _reconnect_loop(self, pause: float) -> None:
        """Connect again, backing off to RECONNECT_MAX; a server that moved (failover) is
        not chased here: the epoch's reload calls follow(), which closes this listener and
        makes one for the new address."""
        while self.hub.counts and not self.closed:
            await asyncio.sleep(pause)
            pause = min(max(pause, RETRY_PAUSE) * 2, RECONNECT_MAX)
            if self.closed:
                return
            try:
                async with self._lock:
                    if self.conn is None or self.conn.is_closed:
                        await self._connect()
                return
            except (PgError, OSError, TimeoutError):
                log.info("%s not reachable for notifications yet", self.address.name, exc_info=True)

    def close(self) -> None:
        self.closed = True
        for task in (self._reader, self._reconnect):
            if task is not None and task is not asyncio.current_task():
                task.cancel()
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def _key(address: NodeAddress) -> tuple[str, int]:
    return address.host, address.port
