"""One connection from the coordinator to a PostgreSQL server (datanode or catalog server).

Built on an asyncio Protocol and the pgwire codec: frames arrive in `data_received`, are
queued, and coroutines take them with `recv()` or `recv_raw()` (the latter keeps the bytes
whole so they can be relayed to a client unchanged). `simple_query` and `copy_out` are the
conveniences the rest of the coordinator uses; the raw methods are the hot path.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import hashlib
import os
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Protocol

from scramp import ScramClient

from gridpg.catalog.relation_oids import ColumnMap
from gridpg.errors import CONNECTION_FAILURE, PgError
from gridpg.pgwire import codec
from gridpg.sql.quote import quote_literal


@dataclass(frozen=True)
class NodeAddress:
    """Where and as whom to connect."""

    name: str
    host: str
    port: int
    user: str
    password: str
    database: str = "postgres"
    # Where servers of this cluster keep their Unix sockets: a server on a loopback address
    # is reached through `<socket_dir>/.s.PGSQL.<port>` when that socket exists (no TCP
    # stack per message: about a third less CPU per routed statement in the coordinator).
    socket_dir: str | None = None
    # Startup parameters of every connection (session defaults a RESET ALL returns to).
    options: tuple[tuple[str, str], ...] = ()

    @property
    def unix_socket(self) -> str | None:
        """The Unix socket to try first, or None (remote server, or no socket there)."""
        if self.socket_dir is None or not _is_loopback(self.host):
            return None
        path = os.path.join(self.socket_dir, f".s.PGSQL.{self.port}")
        return path if os.path.exists(path) else None


# Datanode sessions: a HASH table is a partitioned parent there, and PostgreSQL's cost
# model then never picks the generic plan of a prepared statement (it costs every
# partition, though initial pruning leaves one), so each Execute would plan anew. A client's
# own SET plan_cache_mode reaches the nodes with its other settings and wins.
# Colocated tables are partitioned alike on a node (same modulus, same remainders), so a
# join or grouping on the distribution column can run partition by partition (smaller
# hash tables, index nested loops per partition): PostgreSQL leaves that off by default.
DATANODE_OPTIONS: tuple[tuple[str, str], ...] = (
    ("plan_cache_mode", "force_generic_plan"),
    ("enable_partitionwise_join", "on"),
    ("enable_partitionwise_aggregate", "on"),
)


# Query, Parse, Bind, Close: the messages whose text an error's position points into
_STATEMENT_KINDS = frozenset(b"QPBC")
CANCEL_ACK_WAIT = 5.0  # seconds a cancel waits for the server to say it signalled the backend
ROW_LOCK_PROBE_WAIT = 2.0  # seconds the fence waits to learn whether a write waits for a row lock


def _is_loopback(host: str) -> bool:
    return host in ("localhost", "::1") or host.startswith("127.")


@dataclass
class QueryResult:
    columns: list[codec.Column] = field(default_factory=list)
    rows: list[tuple[str | None, ...]] = field(default_factory=list)
    tag: str = ""


class ReplyRelay(Protocol):
    """Takes a connection's bytes as they arrive, instead of its frame queue (a routed
    cycle answered from callbacks, frontend/fast_cycle.py)."""

    def on_data(self, data: bytes) -> None: ...

    def on_lost(self) -> None: ...


_READY_HEAD = b"Z\0\0\0\5"


class _CommandAnswer:
    """Takes the answer of one simple Query (`send_command`) straight from the connection's
    bytes: when it is exactly the expected CommandComplete messages, then ParameterStatus
    messages (a SET LOCAL's setting going back at the block's end) and the ReadyForQuery,
    it is consumed whole, without frames or message objects. Anything else (an error, a
    notice, another tag, a lost connection) goes back to the connection's frame queue
    untouched, for `read_results` to read as if no relay had been."""

    __slots__ = ("buffer", "conn", "done", "expected", "then")

    def __init__(self, conn: BackendConnection, expected: bytes) -> None:
        self.conn = conn
        self.expected = expected
        self.buffer = b""
        self.done: asyncio.Future[bool] = conn._proto.loop.create_future()
        # Called with the outcome as it is known, from the connection's callback (a 2PC
        # commit driven from callbacks: txn/transaction.py CallbackCommit).
        self.then: Callable[[bool], None] | None = None

    def on_data(self, data: bytes) -> None:
        buffer = self.buffer + data if self.buffer else data
        expected = self.expected
        size, start = len(buffer), len(expected)
        if buffer[-6:-1] == _READY_HEAD and buffer.startswith(expected) and (
                size == start + 6 or (buffer[start] == 0x53  # (one ParameterStatus between)
                                      and int.from_bytes(buffer[start + 1 : start + 5], "big") == size - start - 7)):
            self._taken(buffer[-1:])  # (the usual answers)
            return
        if not buffer.startswith(expected):
            if size < start and expected.startswith(buffer):
                self.buffer = buffer
            else:
                self._hand_back(buffer)
            return
        pos, end = start, size
        while pos < end:
            kind = buffer[pos]
            if pos + 5 > end:
                break  # (the rest to come)
            length = int.from_bytes(buffer[pos + 1 : pos + 5], "big")
            if kind == 0x5A and length == 5 and pos + 6 == end:
                self._taken(buffer[pos + 5 : pos + 6])
                return
            if kind != 0x53 or length < 4:
                self._hand_back(buffer)
                return
            pos += 1 + length
        self.buffer = buffer

    def _taken(self, status: bytes) -> None:
        conn = self.conn
        conn.end_relay(status)
        self.buffer = b""
        if not self.done.done():
            self.done.set_result(True)
        waiter = conn._proto.waiter  # (a reader that did not know of this answer: it looks again)
        if waiter is not None and not waiter.done():
            waiter.set_result(None)
        if self.then is not None:
            self.then(True)

    def on_lost(self) -> None:
        self._hand_back(self.buffer)

    def results(self) -> list[QueryResult]:
        """The answer taken, as `read_results` returns it (one result per tag)."""
        results, expected, pos = [], self.expected, 0
        while pos < len(expected):
            end = pos + 1 + int.from_bytes(expected[pos + 1 : pos + 5], "big")
            results.append(QueryResult(tag=expected[pos + 5 : end - 1].decode()))
            pos = end
        return results

    def _hand_back(self, unread: bytes) -> None:
        self.buffer = b""
        self.conn.abandon_relay(unread)
        if not self.done.done():
            self.done.set_result(False)
        if self.then is not None:
            self.then(False)


# RowDescriptions already mapped for clients (`client_row_description`), by the generation
# of the nodes' type and relation maps, which are refilled in place at each catalog reload
# (`maps_reloaded` starts a new generation once they are)
_MAPS_GENERATION = [0]
_MAPPED_DESCRIPTIONS: dict[tuple[int, int, bytes], bytes] = {}


def maps_reloaded() -> None:
    """The nodes' type and relation maps were refilled: earlier mappings are stale."""
    _MAPS_GENERATION[0] += 1
    _MAPPED_DESCRIPTIONS.clear()


class _Protocol(asyncio.Protocol):
    """Feeds frames into a queue and wakes the one waiting reader; or, while a `relay` is
    set, hands it the bytes as they come."""

    def __init__(self) -> None:
        self.reader = codec.FrameReader(max_message=1 << 30)
        self.frames: collections.deque[tuple[int, bytes]] = collections.deque()
        self.waiter: asyncio.Future[None] | None = None
        self.transport: asyncio.Transport | None = None
        self.closed_exc: Exception | None = None
        self.raw = False
        self.awaiting_ready = 0  # ReadyForQuery messages owed by the server
        self.relay: ReplyRelay | None = None
        # The node's OIDs of user and extension types -> the catalog server's (shared by the
        # node's pool, filled per catalog epoch): a RowDescription relayed to a client is
        # mapped through it (`client_row_description`), as clients look types up by the
        # catalog's OIDs (psycopg's register_enum, pgvector's adapters). The frames stay as
        # the node sent them: the coordinator's own readers interpret OIDs on the node.
        self.type_map: dict[int, int] = {}
        # Likewise its relations' OIDs and column numbers (catalog/relation_oids.py).
        self.column_map: ColumnMap = {}
        # The loop the connection was made on, for the readers' futures: Python 3.11's
        # asyncio.get_running_loop() asks the kernel for the pid on every call.
        self.loop = asyncio.get_running_loop()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        if self.relay is not None:
            self.relay.on_data(data)
            return
        self.reader.feed(data)
        frames = self.frames
        for frame in self.reader.raw_frames():
            if frame[0] == 0x5A:
                self.awaiting_ready -= 1
            frames.append(frame)
        if frames and self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(None)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed_exc = exc or ConnectionResetError("server closed the connection")
        if self.relay is not None:
            self.relay.on_lost()
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(None)


def _ready_owed(data: bytes) -> int:
    """How many ReadyForQuery answers these frontend messages will cause (Query, Sync)."""
    if len(data) == 5 and data[0] == 0x53:
        return 1
    if data[:1] == b"Q" and int.from_bytes(data[1:5], "big") == len(data) - 1:
        return 1  # one Query (the 2PC rounds' requests)
    owed = 0
    pos = 0
    end = len(data)
    while pos + 5 <= end:
        kind = data[pos]
        length = int.from_bytes(data[pos + 1 : pos + 5], "big")
        if kind in (0x51, 0x53):  # Query, Sync
            owed += 1
        pos += 1 + length
    return owed


async def _open_transport(address: NodeAddress) -> _Protocol:
    """The Unix socket of a server on this machine when it answers, else TCP."""
    loop = asyncio.get_running_loop()
    path = address.unix_socket
    if path is not None:
        try:
            _, proto = await loop.create_unix_connection(_Protocol, path)
            return proto
        except OSError:
            pass  # a stale socket file: TCP below
    _, proto = await loop.create_connection(_Protocol, address.host, address.port)
    return proto


class BackendConnection:
    """A live, authenticated connection to one PostgreSQL server."""

    def __init__(self, address: NodeAddress, proto: _Protocol) -> None:
        self.address = address
        self._proto = proto
        self.parameters: dict[str, str] = {}
        self.backend_pid = 0
        self.backend_key = b""
        self.txn_status = b"I"
        self.prepared: dict[str, str] = {}  # backend statement name -> sql, for reuse
        self.broken = False
        # A cancel request was sent for it: it may reach the server after this connection's
        # statement ended, so the connection is never handed to another session (whose
        # statement the late cancel would stop); it is closed when given back.
        self.cancel_sent = False
        # Answers of statements sent without waiting (a pipelined BEGIN) still to swallow.
        self.skip_results = 0
        self.skipped_error: PgError | None = None
        self.ahead_answer = b""  # (send_ahead_query)
        # A pipelined query not written yet: it goes in the same write as the next message
        # (one syscall and one wake-up of the node, not two), or before any wait for an answer.
        self._ahead = b""
        self.in_cycle = False  # extended-protocol messages sent, Sync not yet
        self.uncertain: set[str] = set()  # statement names that may or may not exist (after an error)
        self.cycle_parsed: set[str] = set()  # names parsed since the last Sync
        self.notices: list[bytes] = []  # NoticeResponses seen by read_results, not yet relayed
        # The answer of the query `send_command` sent, taken as it arrives: read (its
        # outcome awaited) by the next `read_command` or `read_results`.
        self.command_answer: _CommandAnswer | None = None
        self.catalog_epoch: int | None = None  # the epoch its prepared statements were made at
        # The session state (role, authorization, settings) gridpg put here: () neutral (as
        # logged in), a session's tag, or None when unknown (then it is never pooled).
        self.session_state: tuple[object, ...] | None = ()
        # Custom settings (`app.tenant`) a session SET here: PostgreSQL keeps each as a
        # placeholder for the backend's life, RESET ALL leaves it '' where a backend that
        # never saw it answers current_setting(name, true) with NULL. Only a session that
        # defined them all may take the connection (`session_settings.accepts`).
        self.placeholders: frozenset[str] = frozenset()
        # That state arms a timer in the backend (statement_timeout, ...): resetting the
        # connection for another state would run under it, so the pool closes it instead
        # of handing it to a session in another state.
        self.timer_set = False
        # The last statement-carrying write (Query, Parse, or Bind of a statement parsed
        # before): what an error's position points into (`last_text`).
        self._sent = b""

    def note_cycle_error(self) -> None:
        """An error in an extended cycle: its Parses may have been skipped by the node."""
        for name in self.cycle_parsed:
            self.prepared.pop(name, None)
            self.uncertain.add(name)
        self.cycle_parsed.clear()

    def note_catalog_epoch(self, epoch: int) -> None:
        """After DDL (a new catalog epoch) a statement prepared before may return other
        columns, which PostgreSQL refuses to run ("cached plan must not change result
        type", forever on this connection): statements are Parsed again (Close + Parse)."""
        if self.catalog_epoch is not None and self.catalog_epoch != epoch:
            self.forget_prepared()
        self.catalog_epoch = epoch

    def forget_prepared(self) -> None:
        """Parse every statement again before its next use (Close + Parse): DDL ran in the
        transaction (a parameter's type inferred before, or in a block rolled back since,
        may name a type gone: XX000 "cache lookup failed for type")."""
        self.uncertain.update(self.prepared)
        self.prepared.clear()

    def use_type_map(self, type_map: dict[int, int], column_map: ColumnMap | None = None) -> None:
        """Map the node's type OIDs in RowDescriptions through `type_map`, its relations'
        through `column_map` (its pool's)."""
        self._proto.type_map = type_map
        if column_map is not None:
            self._proto.column_map = column_map

    @property
    def type_map(self) -> dict[int, int]:
        return self._proto.type_map

    def client_row_description(self, message: bytes) -> bytes:
        """This node's RowDescription as a client is sent it: types by the catalog's OIDs,
        relations by the catalog's (remembered per text: a routed statement's description
        is the same every time, and mapping it was a tenth of a simple query's Python)."""
        proto = self._proto
        if proto.column_map:
            key = (_MAPS_GENERATION[0], id(proto.column_map), message)
            mapped = _MAPPED_DESCRIPTIONS.get(key)
            if mapped is None:
                if len(_MAPPED_DESCRIPTIONS) >= 4096:
                    _MAPPED_DESCRIPTIONS.clear()
                mapped = _MAPPED_DESCRIPTIONS[key] = codec.map_row_description(
                    message, proto.type_map, proto.column_map)
            return mapped
        return codec.map_row_description_types(message, proto.type_map) if proto.type_map else message

    @property
    def maps_row_descriptions(self) -> bool:
        """Whether `client_row_description` may change a RowDescription."""
        return bool(self._proto.type_map or self._proto.column_map)

    @property
    def node(self) -> str:
        return self.address.name

    @property
    def last_text(self) -> str | None:
        """The SQL text of the last Query or Parse written, None when the last statement
        was a Bind of one parsed earlier (its text is not at hand)."""
        data, pos = self._sent, 0
        while pos + 5 <= len(data):
            kind, end = data[pos:pos + 1], pos + 1 + int.from_bytes(data[pos + 1:pos + 5], "big")
            if kind == b"Q":
                return data[pos + 5:data.index(b"\0", pos + 5)].decode(errors="replace")
            if kind == b"P":
                name_end = data.index(b"\0", pos + 5)
                return data[name_end + 1:data.index(b"\0", name_end + 1)].decode(errors="replace")
            if kind == b"B":
                return None
            pos = end
        return None

    def error(self, fields: dict[str, str]) -> PgError:
        """The node's ErrorResponse, with the text its position points into."""
        return PgError.from_fields(fields, self.node, self.last_text if "P" in fields else None)

    # -- connecting --------------------------------------------------------------------

    @classmethod
    async def connect(
        cls, address: NodeAddress, params: dict[str, str] | None = None, timeout: float = 10.0
    ) -> BackendConnection:
        try:
            proto = await asyncio.wait_for(_open_transport(address), timeout)
        except (TimeoutError, OSError) as exc:
            raise PgError(
                CONNECTION_FAILURE, f"could not connect to node {address.name} "
                f"({address.host}:{address.port}): {exc}", node=address.name,
            ) from None
        conn = cls(address, proto)
        startup = {"user": address.user, "database": address.database, "client_encoding": "UTF8"}
        startup.update(address.options)
        startup.update(params or {})
        conn.send(codec.build_startup(startup))
        await asyncio.wait_for(conn._authenticate(), timeout)
        proto.awaiting_ready = 0  # the startup packet is not a message; its ReadyForQuery is read
        return conn

    async def _authenticate(self) -> None:
        scram: ScramClient | None = None
        while True:
            kind, payload = await self.recv()
            if kind == 0x52:  # 'R'
                code = int.from_bytes(payload[:4], "big", signed=True)
                scram = self._answer_auth(code, payload[4:], scram)
            elif kind == 0x53:  # ParameterStatus
                reader = codec.PayloadReader(payload)
                name = reader.cstring()
                self.parameters[name] = reader.cstring()
            elif kind == 0x4B:  # BackendKeyData
                self.backend_pid = int.from_bytes(payload[:4], "big")
                self.backend_key = payload[4:]
            elif kind == 0x45:  # ErrorResponse
                raise self.error(codec.parse_error_fields(payload))
            elif kind == 0x5A:
                self.txn_status = payload[:1]
                return

    def _answer_auth(self, code: int, extra: bytes, scram: ScramClient | None) -> ScramClient | None:
        address = self.address
        if code == codec.AUTH_OK:
            return scram
        if code == codec.AUTH_CLEARTEXT:
            self.send(codec.message(b"p", codec.cstr(address.password)))
        elif code == codec.AUTH_MD5:
            inner = hashlib.md5((address.password + address.user).encode()).hexdigest()
            outer = hashlib.md5(inner.encode() + extra[:4]).hexdigest()
            self.send(codec.message(b"p", codec.cstr("md5" + outer)))
        elif code == codec.AUTH_SASL:
            mechanisms = [m for m in extra.split(b"\0") if m]
            if b"SCRAM-SHA-256" not in mechanisms:
                raise PgError(CONNECTION_FAILURE, "node offers no SCRAM-SHA-256", node=self.node)
            scram = ScramClient(["SCRAM-SHA-256"], address.user, address.password)
            first = scram.get_client_first().encode()
            body = codec.cstr("SCRAM-SHA-256") + len(first).to_bytes(4, "big") + first
            self.send(codec.message(b"p", body))
        elif code == codec.AUTH_SASL_CONTINUE and scram is not None:
            scram.set_server_first(extra.decode())
            self.send(codec.message(b"p", scram.get_client_final().encode()))
        elif code == codec.AUTH_SASL_FINAL and scram is not None:
            scram.set_server_final(extra.decode())
        else:
            raise PgError(CONNECTION_FAILURE, f"unsupported authentication request {code}", node=self.node)
        return scram

    # -- raw I/O -----------------------------------------------------------------------

    def send(self, data: bytes, ready_owed: int = -1) -> None:
        """Write frontend messages; `ready_owed` (when the caller knows it) is how many
        ReadyForQuery answers they cause, else they are counted here."""
        transport = self._proto.transport
        if transport is None or self._proto.closed_exc is not None:
            self.broken = True
            raise PgError(CONNECTION_FAILURE, f"connection to node {self.node} was lost", node=self.node)
        self._proto.awaiting_ready += _ready_owed(data) if ready_owed < 0 else ready_owed
        if data and data[0] in _STATEMENT_KINDS:
            self._sent = data  # read only when an error comes (last_text)
        if self._ahead:
            data, self._ahead = self._ahead + data, b""
        transport.write(data)

    def send_command(self, query: bytes, expected: bytes) -> None:
        """`send` one simple Query whose success answer is `expected` (CommandComplete
        messages, `codec.build_command_complete`), then ParameterStatus messages and ReadyForQuery: on
        a quiet connection the answer is taken by a `_CommandAnswer` as it arrives (the 2PC
        rounds: no frames, no message objects). `read_command` reads it either way."""
        quiet = self.is_quiet and not self._ahead and self.command_answer is None
        self.send(query, 1)
        if quiet:
            self._proto.relay = self.command_answer = _CommandAnswer(self, expected)

    async def read_command(self, expected: bytes) -> bool:
        """The answer of `send_command(query, expected)`'s query: True when its tags were
        the expected ones, else False; read as `read_results` reads it when it was not the
        plain answer (an error raised after ReadyForQuery)."""
        relay = self.command_answer
        if relay is not None:
            self.command_answer = None
            if await relay.done:
                return True
        results = await self.read_results()
        return b"".join(codec.build_command_complete(r.tag) for r in results) == expected

    def _flush_ahead(self) -> None:
        """Write a pipelined query still held (`send_ahead`) before waiting for its answer."""
        if self._ahead:
            self.send(b"", 0)

    @property
    def is_clean(self) -> bool:
        """Nothing owed and nothing unread: safe to hand to another session."""
        proto = self._proto
        return (proto.awaiting_ready <= 0 and not proto.frames and not self.skip_results
                and not self.in_cycle and not self.broken and proto.closed_exc is None  # (is_closed)
                and self.command_answer is None)

    @property
    def is_quiet(self) -> bool:
        """Nothing owed, unread or relayed: a cycle's answer may be taken by a relay."""
        proto = self._proto
        return (proto.awaiting_ready <= 0 and not proto.frames and proto.relay is None and not self.skip_results
                and not self.in_cycle and not proto.reader.buffered()
                and not self.broken and proto.closed_exc is None  # (is_closed)
                and self.command_answer is None)

    def start_relay(self, relay: ReplyRelay) -> None:
        """From now on the bytes go to `relay` (the connection must be quiet before the send)."""
        self._proto.relay = relay

    def end_relay(self, status: bytes) -> None:
        """The relay took the cycle's answer through its ReadyForQuery (`status`)."""
        proto = self._proto
        proto.relay = None
        proto.awaiting_ready -= 1
        self.txn_status = status
        self.cycle_parsed.clear()
        self.in_cycle = False

    def swallow_ready(self, status: bytes) -> None:
        """A relay took the ReadyForQuery of an answer nobody reads (`send_ahead`), as
        `_swallow_skipped` takes it."""
        self.txn_status = status
        self.skip_results -= 1
        self._proto.awaiting_ready -= 1

    def abandon_relay(self, unread: bytes) -> None:
        """Back to the frame queue, with the bytes the relay did not take (readers go on
        from there as if no relay had been)."""
        proto = self._proto
        proto.relay = None
        if unread:
            proto.data_received(unread)

    def send_ahead(self, sql: str) -> None:  # only on a fresh connection: never in a cycle
        """Send a simple query whose answer nobody reads (it is swallowed by the readers),
        written with the next message sent (or when an answer is awaited first)."""
        self.send_ahead_query(codec.build_query(sql))

    def send_ahead_query(self, query: bytes, answer: bytes = b"") -> None:
        """`send_ahead` of a Query message built already; `answer`: the node's whole answer
        when all goes well, if the caller knows it (`ahead_answer`)."""
        if self._proto.transport is None or self._proto.closed_exc is not None:
            self.broken = True
            raise PgError(CONNECTION_FAILURE, f"connection to node {self.node} was lost", node=self.node)
        self._ahead += query
        self._proto.awaiting_ready += 1
        self.skip_results += 1
        # The expected answer of the last query sent ahead: a relay may swallow exactly
        # these bytes when that query is the only one owed (frontend/fast_cycle.py).
        self.ahead_answer = answer

    def send_before(self, messages: bytes) -> None:
        """Extended-protocol messages written with (and before) the next `send`, in its
        cycle: their answer comes first in that cycle's, read by its reader
        (executor/relay.py `skip`); `last_text` stays the next statement's."""
        self._ahead += messages

    def _swallow_skipped(self) -> None:
        frames = self._proto.frames
        while self.skip_results and frames:
            kind, raw = frames.popleft()
            if kind == 0x45 and self.skipped_error is None:
                self.skipped_error = self.error(codec.parse_error_fields(raw[5:]))
            elif kind == 0x5A:
                self.txn_status = raw[5:6]
                self.skip_results -= 1

    async def recv_raw(self) -> tuple[int, bytes]:
        """The next whole message (type, bytes including the header)."""
        proto = self._proto
        if self.skip_results:
            await self._drain_skipped()
        if not proto.frames:
            await self.recv_raw_peek()
        return proto.frames.popleft()

    async def _drain_skipped(self) -> None:
        while self.skip_results:
            self._swallow_skipped()
            if self.skip_results:
                await self.recv_raw_peek()
        if self.skipped_error is not None:
            error, self.skipped_error = self.skipped_error, None
            raise error

    def try_recv_raw(self) -> tuple[int, bytes] | None:
        """The next whole message if one is buffered (and no skipped answers are owed)."""
        frames = self._proto.frames
        if frames and not self.skip_results:
            return frames.popleft()
        return None

    async def recv_batch(self) -> list[tuple[int, bytes]]:
        """Every whole message already received (at least one)."""
        proto = self._proto
        if self.skip_results:
            await self._drain_skipped()
        if not proto.frames:
            await self.recv_raw_peek()
        batch = list(proto.frames)
        proto.frames.clear()
        return batch

    async def wait_started(self, writes: bool = False) -> None:
        """Wait until the statement sent last has started on the node (its snapshot is taken):
        an answer other than ParseComplete/CloseComplete/notices has arrived (not consumed).
        A write takes its snapshot at Execute, not at Bind: BindComplete does not count."""
        self._flush_ahead()
        if self.skip_results:
            await self._drain_skipped()
        proto = self._proto
        early = (0x31, 0x32, 0x33, 0x4E, 0x53) if writes else (0x31, 0x33, 0x4E, 0x53)
        while not any(kind not in early for kind, _ in proto.frames):
            if proto.closed_exc is not None:
                return
            proto.waiter = proto.loop.create_future()
            await proto.waiter
            proto.waiter = None

    def unread(self, frames: list[tuple[int, bytes]]) -> None:
        """Put back frames taken by recv_batch that belong to a later reader."""
        self._proto.frames.extendleft(reversed(frames))

    async def recv_raw_peek(self) -> None:
        """Wait until at least one message is buffered (raises if the connection is lost)."""
        self._flush_ahead()
        proto = self._proto
        while not proto.frames:
            if proto.closed_exc is not None:
                self.broken = True
                raise PgError(
                    CONNECTION_FAILURE, f"connection to node {self.node} was lost: {proto.closed_exc}",
                    node=self.node,
                )
            proto.waiter = proto.loop.create_future()
            await proto.waiter
            proto.waiter = None

    async def recv(self) -> tuple[int, bytes]:
        kind, raw = await self.recv_raw()
        return kind, raw[5:]

    def write_buffer_size(self) -> int:
        """Bytes written but not yet handed to the kernel (for backpressure)."""
        transport = self._proto.transport
        return transport.get_write_buffer_size() if transport is not None else 0

    def pause_reading(self) -> None:
        if self._proto.transport is not None:
            self._proto.transport.pause_reading()

    def resume_reading(self) -> None:
        if self._proto.transport is not None:
            self._proto.transport.resume_reading()

    # -- conveniences ------------------------------------------------------------------

    async def settle(self) -> None:
        """Close an open extended-protocol cycle (Sync) before simple-protocol use.

        A node's answers in the cycle were relayed already; what remains is its ReadyForQuery
        (or the error that made it skip to Sync, raised here).
        """
        if not self.in_cycle:
            return
        self.in_cycle = False
        self.send(codec.SYNC)
        error: PgError | None = None
        while True:
            kind, payload = await self.recv()
            if kind == 0x45 and error is None:
                error = self.error(codec.parse_error_fields(payload))
                self.note_cycle_error()
            elif kind == 0x5A:
                self.txn_status = payload[:1]
                self.cycle_parsed.clear()
                break
        if error is not None:
            raise error

    async def simple_query(self, sql: str) -> list[QueryResult]:
        """Run `sql` with the simple protocol; raises the first error after ReadyForQuery."""
        await self.settle()
        self.send(codec.build_query(sql))
        return await self.read_results()

    async def query(self, sql: str) -> list[tuple[str | None, ...]]:
        """Rows of the last statement of `sql` (the catalog store's QueryRunner contract)."""
        results = await self.simple_query(sql)
        return results[-1].rows if results else []

    async def read_results(self) -> list[QueryResult]:
        relay = self.command_answer
        if relay is not None:  # (`send_command`: its answer may be taken already)
            self.command_answer = None
            if await relay.done:
                return relay.results()
        results: list[QueryResult] = []
        current: QueryResult | None = None  # (made at its first message: most answers are a tag)
        error: PgError | None = None
        frames = self._proto.frames
        while True:
            if frames and not self.skip_results:  # (`recv`, without its two coroutines)
                kind, raw = frames.popleft()
                payload = raw[5:]
            else:
                kind, payload = await self.recv()
            if kind == 0x44:  # DataRow
                if current is None:
                    current = QueryResult()
                current.rows.append(tuple(
                    None if v is None else v.decode() for v in codec.parse_data_row(payload)
                ))
            elif kind == 0x54:
                if current is None:
                    current = QueryResult()
                current.columns = codec.parse_row_description(payload)
            elif kind == 0x43:
                tag = payload[:-1].decode()
                if current is None:
                    results.append(QueryResult(tag=tag))
                else:
                    current.tag = tag
                    results.append(current)
                    current = None
            elif kind == 0x45:
                error = self.error(codec.parse_error_fields(payload))
            elif kind == 0x5A:
                self.txn_status = payload[:1]
                if error is not None:
                    raise error
                return results
            elif kind == 0x47:  # CopyInResponse: we have nothing to send
                self.send(codec.message(b"f", codec.cstr("no COPY data from the coordinator")))
            elif kind == 0x49:  # EmptyQueryResponse
                results.append(QueryResult() if current is None else current)
                current = None
            elif kind == 0x4E:  # NoticeResponse: kept for whoever relays it
                self.notices.append(codec.message(b"N", payload))

    async def expect_copy_in(self) -> None:
        """After sending COPY ... FROM STDIN: wait for CopyInResponse, or raise the error."""
        while True:
            kind, payload = await self.recv()
            if kind == 0x47:
                return
            if kind == 0x45:
                error = self.error(codec.parse_error_fields(payload))
                while (await self.recv())[0] != 0x5A:
                    pass
                raise error

    async def read_only(self) -> bool:
        """Whether the server's transaction is read-only (`transaction_read_only`: a READ
        ONLY block, or outside one `default_transaction_read_only`)."""
        rows = await self.query("SELECT pg_catalog.current_setting('transaction_read_only')")
        return bool(rows) and rows[0][0] == "on"

    async def copy_in(self, sql: str, chunks: list[bytes]) -> None:
        """Run a COPY ... FROM STDIN of data held whole (`chunks`: CopyData payloads), to
        its end; an error of the COPY is raised."""
        await self.settle()
        self.send(codec.build_query(sql))
        await self.expect_copy_in()
        for chunk in chunks:
            self.send(codec.build_copy_data(chunk))
        self.send(codec.COPY_DONE)
        await self.read_results()

    async def copy_out(self, sql: str) -> list[bytes]:
        """Run a COPY ... TO STDOUT and return the data chunks as received."""
        await self.settle()
        self.send(codec.build_query(sql))
        chunks: list[bytes] = []
        error: PgError | None = None
        while True:
            kind, payload = await self.recv()
            if kind == 0x64:
                chunks.append(payload)
            elif kind == 0x45:
                error = self.error(codec.parse_error_fields(payload))
            elif kind == 0x5A:
                self.txn_status = payload[:1]
                if error is not None:
                    raise error
                return chunks

    async def copy_out_canonical(self, sql: str) -> list[bytes]:
        """`copy_out` with the output settings pg_dump uses (ISO dates, postgres intervals,
        exact floats, hex bytea), put back afterwards: rows that gridpg routes by a value's
        text must not depend on the session's DateStyle or extra_float_digits (PostgreSQL
        reads these forms whatever the reading session's settings)."""
        async with self.canonical_output():
            return await self.copy_out(sql)

    @contextlib.asynccontextmanager
    async def canonical_output(self) -> AsyncIterator[None]:
        """The output settings of `copy_out_canonical` while the block runs, the session's
        put back after (not on a connection closed meanwhile: an abandoned stream)."""
        names = ("DateStyle", "IntervalStyle", "extra_float_digits", "bytea_output")
        canonical = ("ISO, MDY", "postgres", "3", "hex")
        current = await self.query("SELECT " + ", ".join(
            f"pg_catalog.current_setting('{n}')" for n in names))
        old = [str(v) for v in current[0]]

        def setting(values: tuple[str, ...] | list[str]) -> str:
            return "SELECT " + ", ".join(
                f"pg_catalog.set_config('{n}', {quote_literal(v)}, false)" for n, v in zip(names, values))

        await self.simple_query(setting(canonical))
        try:
            yield
        finally:
            if not self.is_closed:
                await self.settle()
                if self.txn_status != b"E":
                    await self.simple_query(setting(old))

    async def copy_out_stream(self, sql: str) -> AsyncIterator[bytes]:
        """Run a COPY ... TO STDOUT and yield its data batch by batch as it arrives (the
        CopyData of one read, whole rows). The socket is not read while the consumer holds
        a batch: memory stays bounded by one read, whatever the result's size. A consumer
        that stops early leaves the COPY unfinished: the connection is closed (its answer
        would be the next reader's)."""
        await self.settle()
        self.send(codec.build_query(sql))
        error: PgError | None = None
        finished = False
        try:
            while True:
                batch = await self.recv_batch()
                data = b"".join(raw[5:] for kind, raw in batch if kind == 0x64)
                for kind, raw in batch:
                    if kind == 0x45 and error is None:
                        error = self.error(codec.parse_error_fields(raw[5:]))
                    elif kind == 0x5A:
                        self.txn_status = raw[5:6]
                        finished = True
                if finished:
                    if error is not None:
                        raise error
                    if data:
                        yield data
                    return
                if data and error is None:
                    self.pause_reading()
                    try:
                        yield data
                    finally:
                        self.resume_reading()
        finally:
            if not finished:
                self.close()

    async def abandon_answer(self, patience: float = 2.0) -> None:
        """Nobody will use the answers still owed to what was sent (a statement over several
        nodes failed elsewhere while this node's rows were on their way): read them to their
        ReadyForQuery and drop them, so that the connection's next reader starts at its own
        answer, not at these rows (a routed read of the same session answered with another
        statement's rows: tests/integration/cancel_mix.py). A node still busy after
        `patience` seconds is cancelled; one that does not finish even then is closed."""
        if self.is_closed:
            return
        self.in_cycle = False
        for attempt in range(2):
            try:
                await asyncio.wait_for(self._read_owed(), patience)
                return
            except TimeoutError:
                if attempt == 0:
                    await self.send_cancel()
            except PgError:
                break  # the connection was lost
        self.close()

    async def _read_owed(self) -> None:
        proto = self._proto
        self._flush_ahead()
        while proto.awaiting_ready > 0 or proto.frames:
            kind, raw = await self._recv_any()
            if kind == 0x5A:
                self.txn_status = raw[5:6]
                if self.skip_results:
                    self.skip_results -= 1
        self.skipped_error = None
        self.cycle_parsed.clear()

    async def _recv_any(self) -> tuple[int, bytes]:
        """The next message, whatever it answers (skipped answers included)."""
        proto = self._proto
        if not proto.frames:
            await self.recv_raw_peek()
        return proto.frames.popleft()

    def cancel_request(self) -> bytes:
        return codec.build_cancel_request(self.backend_pid, self.backend_key)

    async def waits_for_a_row_lock(self) -> bool:
        """Whether this connection's backend now waits for a row lock (a transaction id, a
        tuple, a speculative insertion), asked over a connection of its own. PostgreSQL
        waits for one only while a statement reads its rows: after it took its snapshot.
        An unanswered question is a no."""
        try:
            probe = await BackendConnection.connect(self.address, timeout=ROW_LOCK_PROBE_WAIT)
        except PgError:
            return False
        try:
            rows = await asyncio.wait_for(probe.query(
                "SELECT 1 FROM pg_stat_activity WHERE pid = " + str(int(self.backend_pid))
                + " AND wait_event_type = 'Lock' AND wait_event IN ('transactionid', 'tuple', "
                "'speculative token')"), ROW_LOCK_PROBE_WAIT)
            return bool(rows)
        except (PgError, TimeoutError, OSError):
            return False
        finally:
            probe.close()

    async def send_cancel(self) -> None:
        """Ask the server to cancel what this connection runs (a separate connection)."""
        self.cancel_sent = True
        try:
            reader, writer = await asyncio.open_connection(self.address.host, self.address.port)
        except OSError:
            return
        try:
            writer.write(self.cancel_request())
            await writer.drain()
            # The server closes the connection once it signalled the backend (what libpq's
            # PQcancel waits for): only then may the client hear that its cancel was sent,
            # or its next statement, already on this backend, takes the cancel meant for
            # the one before (a statement_timeout or driver timeout followed at once by
            # another query was canceled too).
            await asyncio.wait_for(reader.read(), CANCEL_ACK_WAIT)
        except (OSError, TimeoutError):
            pass
        finally:
            writer.close()

    def close(self) -> None:
        transport = self._proto.transport
        if transport is not None and not transport.is_closing():
            try:
                transport.write(codec.TERMINATE)
            except Exception:  # noqa: BLE001 - closing anyway
                pass
            transport.close()
        self.broken = True

    @property
    def is_closed(self) -> bool:
        return self.broken or self._proto.closed_exc is not None
