"""One client session: the startup phase, then the simple and extended protocol.

The session owns what the client sees: prepared statements and portals by the client's
names, the transaction status in ReadyForQuery, skip-until-Sync after an error in the
extended protocol, and the output buffer. What a statement *does* is decided by the
statement layer (`frontend.statements`) which returns to this layer only messages to send.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from gridpg.errors import (
    ADMIN_SHUTDOWN,
    CANNOT_CONNECT_NOW,
    CONNECTION_FAILURE,
    DUPLICATE_CURSOR,
    DUPLICATE_PSTATEMENT,
    INTERNAL_ERROR,
    INVALID_CURSOR_NAME,
    INVALID_SQL_STATEMENT_NAME,
    PROTOCOL_VIOLATION,
    TOO_MANY_CONNECTIONS,
    PgError,
    fatal,
    notice,
    notice_shown,
)
from gridpg.executor import oid_results, prepared, routed
from gridpg.frontend import fast_cycle, fastpath
from gridpg.frontend.auth import authenticate
from gridpg.frontend.session_settings import timeout_ms
from gridpg.gtm.protocol import GtmUnavailable
from gridpg.pgwire import codec
from gridpg.pgwire.codec import ProtocolViolation
from gridpg.planner.prepared import first_keyword
from gridpg.sql import long_names
from gridpg.sql import parse as sqlparse
from gridpg.txn.transaction import TxnState

if TYPE_CHECKING:
    from gridpg.commands import stat_activity
    from gridpg.frontend.client_stream import ClientStream
    from gridpg.frontend.coordinator import Coordinator
    from gridpg.frontend.statements import StatementRunner

log = logging.getLogger("gridpg.session")
SEND_BUFFER_SIZE = 8192  # PostgreSQL's PQ_SEND_BUFFER_SIZE: answers held before a Sync flush past it

# Statements whose named Parse is analysed on the catalog server before ParseComplete
# (`on_parse`): the queries and writes a client prepares; utility statements (and gridpg's
# own, DISTRIBUTE BY, EXECUTE DIRECT) stay as they were, checked when they run.
_ANALYZED_AT_PARSE = frozenset(("select", "insert", "update", "delete", "with", "values", "table", "merge"))

# Session.plan_cycle's answer: the form to send, its node group, the client's description
# and the client's Bind after its two names.
# Reported settings (ParameterStatus) whose value the session model holds (`SessionSettings`,
# lower-case names): session_authorization and is_superuser are reported by their SET.
_MODEL_REPORTED = ("application_name", "DateStyle", "TimeZone", "IntervalStyle", "search_path",
                   "standard_conforming_strings")

PlannedCycle = tuple[routed.RoutedStatement, str, bytes, bytes]


@dataclass
class PreparedStatement:
    name: str
    sql: str
    param_oids: list[int]
    described: tuple[list[int], bytes | None] | None = None  # (param oids, RowDescription)
    # The catalog snapshot and search_path `described` was made for (StatementRunner.describe
    # checks it again, as PostgreSQL revalidates a cached plan, when either moved).
    described_for: tuple[object, str] | None = None
    # The prepared fast path (executor/routed.py): its plan, and the catalog snapshot and
    # settings generation it was made for (a RoutedStatement, or NOT_ROUTED).
    routed: object | None = None
    routed_key: tuple[object, ...] | None = None
    # The session's cycle stamp when its routed cycle was last allowed (StatementRunner.cycle_route).
    cycle_stamp: int = 0
    # Transaction control (BEGIN, COMMIT, ...: never routed; frontend/fast_cycle.py reads
    # it once per statement, not per Execute); None: not read yet.
    controls_transaction: bool | None = None
    # RowDescriptions with a portal's result formats applied, by those formats.
    portal_descriptions: dict[tuple[int, ...], bytes] = field(default_factory=dict)
    # When the client's Parse came (pg_prepared_statements.prepare_time).
    prepare_time: float = field(default_factory=time.time)


@dataclass
class Portal:
    name: str
    statement: PreparedStatement
    param_formats: list[int]
    params: list[bytes | None]
    result_formats: list[int]
    # A portal executed with a row limit keeps its remaining state here.
    cursor: object | None = None
    done: bool = False
    bind_tail: bytes = b""  # the client's Bind after the names, forwarded as it is
    # (node, connection) of each node portal bound for it (`relay.portal_name`): they hold
    # their relations until closed, so the client's Close closes them too
    node_portals: list[tuple[str, object]] = field(default_factory=list)


@dataclass
class SessionInfo:
    user: str = ""
    database: str = "postgres"
    application_name: str = ""
    is_superuser: bool = False
    params: dict[str, str] = field(default_factory=dict)
    backend_pid: int = 0
    backend_key: bytes = b""


class ClientClosed(Exception):
    """The client went away (or sent Terminate)."""


class Session:
    """Speaks PostgreSQL's protocol with one client."""

    def __init__(self, coordinator: Coordinator, stream: ClientStream) -> None:
        self.coord = coordinator
        self.stream = stream
        self.frames = codec.FrameReader(max_message=coordinator.settings.max_message)
        self.info = SessionInfo()
        self.out: list[bytes] = []
        self.statements: dict[str, PreparedStatement] = {}
        self.portals: dict[str, Portal] = {}
        self.skip_until_sync = False
        self.runner: StatementRunner | None = None
        self.task: asyncio.Task[None] | None = None  # the client's task (ended at shutdown)
        self._gone_cancel: asyncio.Future[None] | None = None  # client_gone's cancel, kept alive
        self.established = False  # AuthenticationOk and ReadyForQuery sent
        # While the message loop waits for the client, data_received may run routed cycles
        # (`pump`, frontend/fast_cycle.py): `fast_cycles` allows it, `cycle` is the one whose
        # answer is awaited, `handover` one whose answer the task must finish.
        self.fast_cycles = False
        self.cycle: fast_cycle.FastCycle | None = None
        self.handover: fast_cycle.FastCycle | None = None
        self._idle_timeout_seen: tuple[object, int, float] | None = None  # (own_idle_timeout)
        # NotificationResponses for the client, held until it is idle outside a block
        # (`deliver_notification`) and written just before ReadyForQuery (`send_ready`).
        self.notifications: list[bytes] = []
        self.notifications_due = False  # a write of `notifications` is scheduled (deliver_notification)
        # identifier truncation notices said for the client's statements: the servers'
        # repetitions of them are not relayed (`send`)
        self.said_truncations: set[str] = set()
        # The ParameterStatus values the client holds, and the settings generation they
        # were last compared at (`report_changed_settings`).
        self.reported: dict[str, str] = {}
        self.reported_at_login: dict[str, str] = {}  # (a setting the session has no value of)
        self.reported_generation = -1
        # pg_terminate_backend / pg_cancel_backend calls of the running statement: their
        # notices are for the coordinator (commands/stat_activity.py), not the client
        self.signal_requests: stat_activity.SignalRequests | None = None
        self.backend_start = time.time()

    # -- output ------------------------------------------------------------------------

    def send(self, data: bytes) -> None:
        if (self.said_truncations or self.signal_requests is not None) and data[:1] == b"N":
            if self.said_truncations and long_names.is_duplicate(data, self.said_truncations):
                return  # the coordinator said it for the client's text (sql/long_names.py)
            if self.signal_requests is not None and self.signal_requests.take(data):
                return
        self.out.append(data)

    def say(self, message: str, severity: str = "NOTICE", sqlstate: str = "00000") -> None:
        """A notice of gridpg's own (errors.notice), sent unless the session's
        client_min_messages is above its severity, as PostgreSQL filters its own (the
        servers' notices come filtered: they carry the session's setting)."""
        if notice_shown(severity, self._client_min_messages()):
            self.out.append(notice(message, severity, sqlstate))

    def _client_min_messages(self) -> str | None:
        return self.runner.state.effective.get("client_min_messages") if self.runner is not None else None

    def say_truncations(self, sql: str) -> None:
        """PostgreSQL's scanner's NOTICEs for identifiers of 64 bytes or more in `sql`."""
        messages = long_names.notices(sql)
        if not messages or not notice_shown("NOTICE", self._client_min_messages()):
            return
        self.out.extend(long_names.notice_messages(messages))
        if len(self.said_truncations) > 1000:
            self.said_truncations.clear()
        self.said_truncations.update(messages)

    async def flush(self) -> None:
        if self.out:
            self.stream.write(b"".join(self.out))
            self.out.clear()
        # uvloop writes at once; only a backlog (a slow client) needs the wait.
        if self.stream.needs_drain:
            await self.stream.drain()

    def send_ready(self) -> None:
        if self.runner is not None and self.runner.state.generation != self.reported_generation:
            self.report_changed_settings()
        status = self.runner.txn_status() if self.runner is not None else b"I"
        if self.notifications and status == b"I":  # PostgreSQL sends them before ReadyForQuery
            self.out.extend(self.notifications)
            self.notifications.clear()
        self.send(codec.build_ready(status))

    def report_changed_settings(self) -> None:
        """ParameterStatus for each reported setting the session model holds whose value is
        not the one the client was last told, as PostgreSQL (14 on) reports them at the end
        of every statement: a SET LOCAL or set_config(..., true) and its end at COMMIT, a SET
        undone by ROLLBACK or ROLLBACK TO SAVEPOINT. Clients read values by them (psycopg
        parses dates by DateStyle and labels timestamptz values with TimeZone)."""
        assert self.runner is not None
        self.reported_generation = self.runner.state.generation
        effective = self.runner.state.effective
        for name in _MODEL_REPORTED:
            value = effective.get(name.lower(), self.reported_at_login.get(name))
            if value is not None and self.reported.get(name) != value:
                self.reported[name] = value
                self.send(codec.build_parameter_status(name, value))

    def deliver_notification(self, message: bytes) -> None:
        """A notification, or the hub's WARNING of a gap (frontend/notify_hub.py), for this
        session: written as soon as the listener has read what came with it, when the
        session waits for its client outside a transaction with nothing of its own in
        flight; else held for its next ReadyForQuery outside a block (`send_ready`).
        The notifications one read brings (a transaction's, which PostgreSQL sends in one
        flush) go out in one write: written one by one, a client that stops after the
        first batch (psycopg's `notifies(stop_after=1)`) heard part of a transaction."""
        self.notifications.append(message)
        if len(self.notifications) == 1 and not self.notifications_due and self._idle_for_notifications():
            self.notifications_due = True
            asyncio.get_running_loop().call_soon(self._write_notifications)

    def _idle_for_notifications(self) -> bool:
        return (self.fast_cycles and self.cycle is None and self.handover is None and not self.out
                and not self.frames.buffered()
                and self.runner is not None and self.runner.txn_status() == b"I")

    def _write_notifications(self) -> None:
        """The notifications delivered since the write was scheduled, in one write, if the
        session is still idle (else `send_ready` sends them with its next ReadyForQuery)."""
        self.notifications_due = False
        if self.notifications and self._idle_for_notifications():
            self.stream.write(b"".join(self.notifications))
            self.notifications.clear()

    # -- life --------------------------------------------------------------------------

    async def run(self) -> None:
        try:
            if not await self.startup():
                return
            self.established = True
            await self.message_loop()
        except ClientClosed:
            pass
        except ProtocolViolation as exc:
            if exc.unanswered:
                log.info("connection closed: %s", exc)
            else:
                await self._send_fatal(PgError(exc.sqlstate, str(exc), severity="FATAL"))
        except PgError as exc:
            await self._send_fatal(exc)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        except asyncio.CancelledError:
            await self._send_fatal(self._shutdown_error())
            raise
        except Exception:
            log.exception("session failed")
            await self._send_fatal(fatal(INTERNAL_ERROR, "internal error in the coordinator"))
        finally:
            await self.close()

    def _shutdown_error(self) -> PgError:
        """What a client hears when the coordinator stops under it: a session gets
        PostgreSQL's fast-shutdown FATAL (57P01); a client still connecting gets "shutting
        down" (57P03), as PostgreSQL's postmaster answers then, which makes libpq try the
        next host of its connection string (it does not after any other FATAL)."""
        if self.established:
            return fatal(ADMIN_SHUTDOWN, "terminating connection due to administrator command")
        return fatal(CANNOT_CONNECT_NOW, "the database system is shutting down")

    @property
    def client_addr(self) -> str | None:
        peer = self.stream.get_extra_info("peername")
        return str(peer[0]) if isinstance(peer, tuple) and peer else None

    @property
    def is_busy(self) -> bool:
        """Running a transaction (PAUSE CLUSTER waits for these to finish)."""
        return self.runner is not None and self.runner.busy

    def client_gone(self) -> None:
        """The client closed its connection while the session's task works: a statement
        still running on the nodes is cancelled there (as PostgreSQL's backend stops at its
        next interrupt check when the client is gone); its error then ends the statement and
        the task finds the end of the stream and closes the session (close: the nodes'
        transactions rolled back, their connections pooled or closed)."""
        if self.runner is not None and self.runner.is_running:
            self._gone_cancel = asyncio.ensure_future(self.coord.cancel_session(self))

    async def close(self) -> None:
        self.coord.pause_gate.session_closed(self)
        if self.runner is not None:
            if self.runner.pending_sync:
                # The client left inside an extended-protocol cycle (Execute without Sync):
                # end the nodes' cycles before their connections go back to the pool, or
                # the next user of the connection reads this cycle's leftovers.
                self.out.clear()
                try:
                    await asyncio.wait_for(self.runner.sync(), 10)
                except Exception:
                    log.warning("could not sync backend connections of a closed session", exc_info=True)
                self.out.clear()
            await self.runner.close()
            self.runner = None
        self.coord.forget_session(self)
        try:
            self.stream.close()
        except Exception:  # noqa: BLE001 - the transport may be gone already
            pass

    async def _send_fatal(self, error: PgError) -> None:
        try:
            self.out.clear()
            self.send(error.to_message())
            await self.flush()
        except (ConnectionError, RuntimeError):
            pass

    async def read_frame(self) -> tuple[int, bytes]:
        while True:
            frame = self.frames.next_frame()
            if frame is not None:
                return frame
            if self.stream.eof:
                raise ClientClosed()
            await self.stream.wait_data()

    async def read_startup_packet(self) -> bytes:
        while True:
            packet = self.frames.next_startup()
            if packet is not None:
                return packet
            if self.stream.eof:
                raise ClientClosed()
            await self.stream.wait_data()

    # -- startup -----------------------------------------------------------------------

    async def startup(self) -> bool:
        """SSL/GSS negotiation, cancel requests, authentication; False if no session follows."""
        for _ in range(3):
            startup = codec.parse_startup(await self.read_startup_packet())
            if startup.code == codec.CANCEL_REQUEST:
                await self.coord.cancel(startup.cancel_pid, startup.cancel_key)
                return False
            if startup.code == codec.SSL_REQUEST:
                await self._negotiate_ssl()
                continue
            if startup.code == codec.GSSENC_REQUEST:
                self.stream.write(b"N")
                continue
            break
        else:
            raise ProtocolViolation("too many negotiation requests")
        if startup.code not in (codec.PROTOCOL_V3, codec.PROTOCOL_V3_2) and startup.code >> 16 == 3:
            # Newer minor versions: answer with what we speak (NegotiateProtocolVersion).
            unknown = [k for k in startup.params if k.startswith("_pq_.")]
            body = (196608).to_bytes(4, "big") + len(unknown).to_bytes(4, "big")
            body += b"".join(codec.cstr(k) for k in unknown)
            self.send(codec.message(b"v", body))
        await self._begin_session(startup.params)
        return True

    async def _negotiate_ssl(self) -> None:
        context = self.coord.ssl_context
        if context is None or self.frames.buffered():
            self.stream.write(b"N")
            return
        self.stream.write(b"S")
        await self.stream.start_tls(context)

    async def _begin_session(self, params: dict[str, str]) -> None:
        user = params.get("user", "")
        if not user:
            raise fatal("28000", "no PostgreSQL user name specified in startup packet")
        self.info.user = user
        self.info.database = params.get("database") or user
        self.info.application_name = params.get("application_name", "")
        from gridpg.frontend import loopback

        if loopback.is_loopback(params):  # a catalog server's call back into its caller's transaction
            await loopback.begin(self, params)
            return
        params = normalize_startup_params(params)
        self.info.params = params
        if self.coord.stopping:  # accepted just before the listener closed
            raise self._shutdown_error()
        if not self.coord.admit(self):
            raise fatal(TOO_MANY_CONNECTIONS, "sorry, too many clients already")
        role = await authenticate(
            user, self.coord.lookup_role, self._send_now, self._read_password,
            trust=self.coord.settings.trust,
        )
        self.info.is_superuser = role.is_superuser
        served = self.coord.catalog_address.database
        if self.info.database != served:
            # One database per cluster: another name reached this one's tables silently.
            raise fatal("3D000", f'database "{self.info.database}" does not exist '
                        f'(a gridpg cluster serves one database, "{served}")')
        from gridpg.frontend.statements import StatementRunner

        self.runner = StatementRunner(self.coord, self)
        await self.runner.start(params, role.settings)
        self.info.backend_pid, self.info.backend_key = self.coord.register_session(self)
        self.send(codec.build_auth(codec.AUTH_OK))
        self.reported_at_login = self.runner.reported_parameters()
        self.reported = dict(self.reported_at_login)
        self.reported_generation = self.runner.state.generation
        for name, value in self.reported.items():
            self.send(codec.build_parameter_status(name, value))
        self.send(codec.build_backend_key(self.info.backend_pid, self.info.backend_key))
        self.send_ready()
        await self.flush()

    def _send_now(self, data: bytes) -> None:
        self.stream.write(data)

    async def _read_password(self) -> bytes:
        kind, payload = await self.read_frame()
        if kind != 0x70:  # 'p'
            raise ProtocolViolation(f"expected password response, got message type {chr(kind)!r}")
        return payload

    # -- the message loop --------------------------------------------------------------

    async def message_loop(self) -> None:
        handlers: dict[int, Callable[[bytes], Awaitable[None]]] = {
            0x51: self.on_query,  # Q
            0x50: self.on_parse,  # P
            0x42: self.on_bind,  # B
            0x44: self.on_describe,  # D
            0x45: self.on_execute,  # E
            0x53: self.on_sync,  # S
            0x48: self.on_flush,  # H
            0x43: self.on_close,  # C
            0x46: self.on_function_call,  # F
        }
        idle_timeout = self.coord.settings.idle_in_transaction_timeout
        if self.runner is not None and self.runner.is_loopback:
            idle_timeout = 0  # waits while the code it serves computes; the caller's session times out
        while True:
            if not self.frames.buffered() and self.out and self._flush_before_sync():
                await self.flush()
            frame = self.frames.next_frame()
            if frame is None:
                frame = await self._read_with_idle_timeout(idle_timeout)
            kind, payload = frame
            if kind == 0x58:  # Terminate
                raise ClientClosed()
            if kind in (0x64, 0x63, 0x66):  # CopyData/Done/Fail outside COPY: ignored as PG does
                continue
            handler = handlers.get(kind)
            if handler is None:
                raise ProtocolViolation(f"invalid frontend message type {kind}")
            if self.skip_until_sync and kind != 0x53:
                continue
            if kind == 0x42 and await self.routed_cycle(payload):
                continue
            try:
                try:
                    await handler(payload)
                except GtmUnavailable as exc:
                    raise gtm_unreachable(exc) from None
            except PgError as exc:
                if exc.is_fatal:
                    raise
                self.send((await self.explain(exc)).to_message())
                if kind != 0x51:
                    self.skip_until_sync = True
                    if self.runner is not None:
                        self.runner.cycle_failed = True
                        # any error aborts the block, as in PostgreSQL: a Describe that the
                        # catalog server refused left ReadyForQuery saying 'T' (h-django9)
                        self.runner.txn.fail()
                    # PostgreSQL sends an error at once, not at the next Sync: a client still
                    # writing a long pipeline (asyncpg's executemany) stops when it hears it
                    await self.flush()
            except ProtocolViolation:
                raise

    def _flush_before_sync(self) -> bool:
        """Whether answers held while the client's input is drained go out before its Sync
        or Flush: as PostgreSQL, only past a send buffer's worth (PQ_SEND_BUFFER_SIZE) or
        after an error (which PostgreSQL flushes at once). Written whenever the input ran
        dry, a pipeline's answers reached the client in more, smaller writes than
        PostgreSQL's, and psycopg's pipeline, which reads what has come while it still
        sends, took more round trips (its test_executemany_trace). Every answer a client
        waits for without a Sync or Flush (CopyInResponse, a simple Query's) is flushed
        where it is made."""
        return self.skip_until_sync or sum(map(len, self.out)) >= SEND_BUFFER_SIZE

    async def _read_idle(self) -> tuple[int, bytes]:
        """`read_frame` for the message loop: while it waits, routed cycles may run from the
        client's and the node's callbacks (`pump`); one they hand back is finished here.
        (With an idle-in-transaction timeout, the coordinator's or the session's own, a BEGIN
        is not run from the callbacks, `fast_cycle._run_begin`: the block it opened would
        wait here, where no timer counts its idle time.)"""
        self.fast_cycles = self.runner is not None and not self.runner.is_loopback
        try:
            while True:
                frame = self.frames.next_frame()
                if frame is not None:
                    return frame
                if self.stream.eof:
                    raise ClientClosed()
                if self.stream.needs_drain:
                    await self.flush()  # a client not reading its answers: no more until it does
                await self.stream.wait_data()
                handover = self.handover
                if handover is not None:
                    self.handover = None
                    self.fast_cycles = False
                    await self.finish_cycle(handover)
                    self.fast_cycles = True
        finally:
            self.fast_cycles = False
            if self.cycle is not None:  # cancelled while a node's answer is awaited
                self.cycle.abandon()

    def pump(self) -> None:
        """The stream has news while the task waits: start the routed cycle the client sent,
        if it can run from callbacks, else wake the task for what is buffered (or the end)."""
        if self.cycle is not None:
            return  # the answer in flight comes first; its end pumps again
        if self.fast_cycles and not self.skip_until_sync and self.handover is None \
                and not self.stream.needs_drain and fast_cycle.start(self):
            return
        if self.frames.buffered() or self.stream.eof or self.handover is not None:
            self.stream.wake()

    async def explain(self, error: PgError) -> PgError:
        """The error as the client should see it (a deadlock victim's cancel is 40P01)."""
        if self.runner is None:
            return error
        return await self.runner.explain_cancel(error)

    async def _read_with_idle_timeout(self, timeout: float) -> tuple[int, bytes]:
        """The client's next message; in a transaction block, waited for no longer than the
        coordinator's idle_in_transaction_timeout or the session's own
        idle_in_transaction_session_timeout, whichever is shorter. The session's setting
        also reaches its backend connections, but their timers count from their own last
        statement and end only the backend (08006 "connection lost" on the next statement,
        where PostgreSQL's client hears 25P03 at once)."""
        in_txn = self.runner is not None and self.runner.txn_status() != b"I"
        if in_txn and not self.runner.is_loopback:  # type: ignore[union-attr]
            own = self.own_idle_timeout()
            if own > 0 and (timeout <= 0 or own < timeout):
                timeout = own
        if not in_txn or timeout <= 0:
            return await self._read_idle()
        try:
            return await asyncio.wait_for(self.read_frame(), timeout)
        except TimeoutError:
            raise fatal("25P03", "terminating connection due to idle-in-transaction timeout") from None

    def own_idle_timeout(self) -> float:
        """The session's idle_in_transaction_session_timeout in seconds (0: off), read again
        only when its settings changed (a prepared BEGIN asks: fast_cycle._run_begin)."""
        runner = self.runner
        if runner is None:
            return 0.0
        state = runner.state
        cached = self._idle_timeout_seen
        if cached is not None and cached[0] is state and cached[1] == state.generation:
            return cached[2]
        seconds = timeout_ms(state.effective.get("idle_in_transaction_session_timeout")) / 1000
        self._idle_timeout_seen = (state, state.generation, seconds)
        return seconds

    # -- simple protocol ---------------------------------------------------------------

    async def on_query(self, payload: bytes) -> None:
        reader = codec.PayloadReader(payload)
        sql = reader.cstring()
        assert self.runner is not None
        try:
            try:
                await self.runner.simple_query(sql)
            except GtmUnavailable as exc:
                raise gtm_unreachable(exc) from None
        except PgError as exc:
            if exc.is_fatal:
                raise
            self.send((await self.explain(exc)).to_message())
        self.send_ready()
        await self.flush()

    async def read_copy_data(self) -> tuple[int, bytes]:
        """For COPY FROM STDIN: the next CopyData/CopyDone/CopyFail (Flush/Sync ignored).

        Consecutive CopyData messages already received come back joined as one (clients
        such as pgbench send a message per row).
        """
        if self.out:
            await self.flush()
        while True:
            kind, payload = await self.read_frame()
            if kind == 0x64:
                parts = [payload]
                while self.frames.peek_type() == 0x64:
                    frame = self.frames.next_frame()
                    if frame is None:
                        break
                    parts.append(frame[1])
                return kind, b"".join(parts) if len(parts) > 1 else payload
            if kind in (0x64, 0x63, 0x66):
                return kind, payload
            if kind in (0x48, 0x53):
                continue
            if kind == 0x58:
                raise ClientClosed()
            raise ProtocolViolation(f"unexpected message type {chr(kind)!r} during COPY from stdin")

    # -- extended protocol -------------------------------------------------------------

    async def on_parse(self, payload: bytes) -> None:
        parsed = codec.parse_parse(payload)
        if parsed.name and parsed.name in self.statements:
            raise PgError(DUPLICATE_PSTATEMENT, f'prepared statement "{parsed.name}" already exists')
        assert self.runner is not None
        sql = self.runner.read_text(parsed.sql)
        self.runner.check_parse(sql)
        self.say_truncations(sql)
        sql = sqlparse.spell_out_table_queries(sql) if sqlparse.may_hold_table(sql) else sql
        sql = sqlparse.line_comment_ended(sql)
        statement = PreparedStatement(parsed.name, sql, parsed.param_oids)
        if parsed.name and first_keyword(sql) in _ANALYZED_AT_PARSE:
            # PostgreSQL analyses a statement at Parse: an unknown table, column, type or
            # function is refused there, not at Bind. Clients remember a named statement
            # as prepared once its ParseComplete came (node-postgres, pgjdbc), and then
            # refuse to prepare the name again with another text. (The description is
            # kept, and cached for other sessions: a Describe or Bind after it costs nothing.)
            await self.runner.describe(statement)
        self.statements[parsed.name] = statement
        self.send(codec.PARSE_COMPLETE)

    async def on_bind(self, payload: bytes) -> None:
        bind = codec.parse_bind(payload)
        statement = self.statements.get(bind.statement)
        if statement is None:
            raise PgError(INVALID_SQL_STATEMENT_NAME, f'prepared statement "{bind.statement}" does not exist')
        if bind.portal and bind.portal in self.portals:
            raise PgError(DUPLICATE_CURSOR, f'portal "{bind.portal}" already exists')
        assert self.runner is not None
        described = statement.described
        if described is not None:
            if len(described[0]) != len(bind.params):
                await self.runner.check_bind(statement, bind)  # raises PostgreSQL's error
        elif len(bind.params) != len(statement.param_oids):
            await self.runner.check_bind(statement, bind)
        self.portals[bind.portal] = Portal(
            bind.portal, statement, bind.param_formats, bind.params, bind.result_formats,
            bind_tail=routed.bind_tail(payload),
        )
        self.send(codec.BIND_COMPLETE)

    async def routed_cycle(self, payload: bytes) -> bool:
        """Bind + [Describe portal] + Execute + Sync of a routed prepared statement, all
        received at once (libpq's PQexecPrepared, pgbench -M prepared), run as one cycle:
        the node gets Bind + Execute + Sync in one write, the client BindComplete, the
        description, the node's answer and ReadyForQuery in one. Only where every message
        would have been answered the same one by one; False (nothing consumed or sent):
        the messages go through their handlers."""
        wants_description = self.frames.cycle_after_bind()
        bound = self.cycle_statement(payload) if wants_description is not None else None
        planned = self.plan_cycle(payload, wants_description, *bound) \
            if bound is not None and wants_description is not None else None
        if planned is None:
            return False
        route, group, description, tail = planned
        runner = self.runner
        assert runner is not None
        self.open_cycle(description)
        try:
            await runner.execute_cycle(route, group, tail)
        except PgError as exc:
            if exc.is_fatal:
                raise
            self.send((await self.explain(exc)).to_message())
        await self.on_sync(b"")
        return True

    def plan_cycle(self, payload: bytes, wants_description: bool, statement: PreparedStatement,
                   names_end: int) -> PlannedCycle | None:
        """Whether a whole cycle (`routed_cycle`) may run as one: its plan, node group, the
        description the client gets and the client's Bind after its names (forwarded as it
        is); None: message by message. `statement`, `names_end`: what `cycle_statement` found."""
        runner = self.runner
        if runner is None:
            return None
        if (wants_description and statement.described is None) or runner.pipeline_block:
            return None  # (a pipeline's block ends at the Sync on_sync runs)
        route = runner.cycle_route(statement)  # (LISTEN/NOTIFY in the transaction: None)
        if route is None:
            return None
        # a malformed Bind is the same violation either way
        formats, params, result_formats = codec.split_bind(payload, names_end)
        described = statement.described
        if len(params) != len(described[0] if described is not None else statement.param_oids):
            return None  # on_bind reports PostgreSQL's error
        if 1 in result_formats and (described is None
                                    or oid_results.oid_columns(statement.sql, described[1], result_formats,
                                                               runner.coord.oid_carrying_types)):
            return None  # regclass ... in binary: execute_portal gives the catalog's OIDs
        try:
            description = self._portal_description(statement, described[1], result_formats) \
                if wants_description and described is not None else b""
        except PgError:
            return None  # on_describe reports it (and the Execute is skipped)
        planner = self.coord.planner
        if planner is None:
            return None
        txn = runner.txn
        target = route.target(planner, params, formats,
                              txn.shard_writes if route.writes and txn.state is not TxnState.IDLE else None)
        if target is None:
            return None
        group, form = target
        if (form.block is not None or form.writes) and not runner.has_block_instant(form, group):
            return None  # (the block's instant to settle first: execute_portal awaits it)
        return form, group, description, payload[names_end:]

    def cycle_statement(self, payload: bytes) -> tuple[PreparedStatement, int] | None:
        """The statement a Bind of the unnamed portal names and where the Bind goes on
        after its names (None: another portal, or no such statement)."""
        if payload[:1] != b"\0":
            return None
        end = payload.find(b"\0", 1)
        try:
            statement = self.statements.get(payload[1:end].decode()) if end > 0 else None
        except UnicodeDecodeError:
            return None
        return None if statement is None else (statement, end + 1)

    def open_cycle(self, description: bytes) -> None:
        """The cycle's messages are consumed: the client's BindComplete and description."""
        self.frames.skip_buffered()
        self.portals.pop("", None)  # this Bind replaces the unnamed portal; Sync closes it
        out = self.out  # (appended to as `send` does, without its call per message)
        out.append(codec.BIND_COMPLETE)
        if description:
            out.append(description)

    async def finish_cycle(self, cycle: fast_cycle.FastCycle) -> None:
        """A statement started from callbacks whose answer was not the plain one: relayed
        here as `routed_cycle` or `on_query` relays it (an error, a notice, a lost node)."""
        assert self.runner is not None
        try:
            if cycle.simple:
                await self.runner.finish_query(cycle)
            elif cycle.commit:
                await self.runner.finish_commit(cycle)
            else:
                await self.runner.finish_cycle(cycle)
        except PgError as exc:
            if exc.is_fatal:
                raise
            self.send((await self.explain(exc)).to_message())
        if cycle.simple:
            self.send_ready()
            await self.flush()
        else:
            await self.on_sync(b"")

    def query_synced(self) -> None:
        """A simple Query run from callbacks is over: its ReadyForQuery, and the answer out."""
        self.send_ready()
        self.stream.write(b"".join(self.out))
        self.out.clear()

    def cycle_synced(self) -> None:
        """A cycle run from callbacks is over on its node: the client's Sync, answered."""
        runner = self.runner
        assert runner is not None
        self.skip_until_sync = False
        runner.txn.release_if_idle()
        portals = self.portals
        if portals:
            portals.pop("", None)
            if not runner.in_block():
                portals.clear()
        self.send_ready()
        self.stream.write(b"".join(self.out))
        self.out.clear()

    @staticmethod
    def _portal_description(statement: PreparedStatement, row_desc: bytes | None,
                            result_formats: list[int]) -> bytes:
        """A statement's RowDescription (or NoData) under a portal's result formats."""
        if row_desc is None:
            return codec.NO_DATA
        formats = tuple(result_formats)
        applied = statement.portal_descriptions.get(formats)
        if applied is None:
            applied = apply_result_formats(row_desc, result_formats)
            statement.portal_descriptions[formats] = applied
        return applied

    async def on_describe(self, payload: bytes) -> None:
        kind, name = codec.parse_describe_or_close(payload)
        assert self.runner is not None
        if kind == "S":
            statement = self.statements.get(name)
            if statement is None:
                raise PgError(INVALID_SQL_STATEMENT_NAME, f'prepared statement "{name}" does not exist')
            oids, row_desc = await self.runner.describe(statement)
            self.send(codec.build_parameter_description(oids))
            self.send(row_desc if row_desc is not None else codec.NO_DATA)
        else:
            portal = self.portals.get(name)
            if portal is None:
                cursor = await prepared.describe_cursor(self.runner.dispatcher, name)  # SQL DECLARE
                if cursor is None:
                    raise PgError(INVALID_CURSOR_NAME, f'portal "{name}" does not exist')
                self.send(cursor)
                return
            statement = portal.statement
            described = await self.runner.describe(statement)
            self.send(self._portal_description(statement, described[1], portal.result_formats))

    async def on_execute(self, payload: bytes) -> None:
        name, max_rows = codec.parse_execute(payload)
        portal = self.portals.get(name)
        if portal is None:
            raise PgError(INVALID_CURSOR_NAME, f'portal "{name}" does not exist')
        runner = self.runner
        assert runner is not None
        if not runner.txn.in_block and await self._more_before_sync():
            runner.begin_pipeline_block()
        await runner.execute_portal(portal, max_rows)

    async def _more_before_sync(self) -> bool:
        """Whether the client's next message after an Execute is not its Sync (a pipeline).
        PostgreSQL answers nothing before a Sync or Flush, so waiting for that message
        delays no answer the client could expect."""
        while not self.frames.has_frame():
            if self.stream.eof:
                return False
            await self.stream.wait_data()
        return self.frames.peek_type() != 0x53

    async def on_sync(self, payload: bytes) -> None:
        self.skip_until_sync = False
        assert self.runner is not None
        await self.runner.sync()
        self.portals.pop("", None)
        if not self.runner.in_block():
            self.portals.clear()
        self.send_ready()
        await self.flush()

    async def on_flush(self, payload: bytes) -> None:
        await self.flush()

    async def on_close(self, payload: bytes) -> None:
        kind, name = codec.parse_describe_or_close(payload)
        if kind == "S":
            self.statements.pop(name, None)
        else:
            portal = self.portals.pop(name, None)
            assert self.runner is not None
            if portal is None and name:  # (a cursor's name is never empty)
                await prepared.close_cursor(self.runner.dispatcher, name)  # SQL DECLARE
            elif portal is not None and portal.node_portals:
                await self.runner.close_node_portals(portal)
        self.send(codec.CLOSE_COMPLETE)

    async def on_function_call(self, payload: bytes) -> None:
        """A fastpath call (frontend/fastpath.py): answered, like a simple Query, with its
        result or error and ReadyForQuery. (It was refused as an extended-protocol message:
        no ReadyForQuery until a Sync the client never sends, and pgjdbc's
        LargeObjectManager waited for ever.)"""
        runner = self.runner
        assert runner is not None
        if not runner.txn.in_block:
            runner.begin_pipeline_block()  # the lookup and the call: one implicit transaction
        try:
            try:
                await fastpath.call(runner, payload)
            except GtmUnavailable as exc:
                raise gtm_unreachable(exc) from None
        except PgError as exc:
            if exc.is_fatal:
                raise
            self.send((await self.explain(exc)).to_message())
            runner.cycle_failed = True
            runner.txn.fail()
        await self.on_sync(b"")


def apply_result_formats(row_description: bytes, formats: list[int]) -> bytes:
    """Rewrite the format codes of a RowDescription for a portal's result formats."""
    if not formats or formats == [0]:
        if b"\x00\x01" not in row_description:
            return row_description
    columns = codec.parse_row_description(row_description[5:])
    if len(formats) == 1:
        formats = formats * len(columns)
    elif not formats:
        formats = [0] * len(columns)
    if len(formats) != len(columns):
        raise PgError(PROTOCOL_VIOLATION, f"bind message has {len(formats)} result formats but query has {len(columns)} columns")
    out = [
        codec.Column(c.name, c.table_oid, c.attnum, c.type_oid, c.type_size, c.type_mod, f)
        for c, f in zip(columns, formats)
    ]
    return codec.build_row_description(out)


def gtm_unreachable(exc: GtmUnavailable) -> PgError:
    """The statement's error when the GTM cannot be reached (a GTM away, with no standby to
    take over): the statement fails and the session goes on, as for a lost node (it closed
    the session as an internal error)."""
    return PgError(CONNECTION_FAILURE, f"the GTM cannot be reached: {exc}")


def new_backend_key() -> bytes:
    return os.urandom(4)




def normalize_startup_params(params: dict[str, str]) -> dict[str, str]:
    """Startup parameters as PostgreSQL reads them.

    PostgreSQL compares encoding names ignoring case and every non-alphanumeric character
    (`clean_encoding_name`), so asyncpg's `'utf-8'` (quotes included) means UTF8.
    """
    out = dict(params)
    for key, value in params.items():
        if key.lower() == "client_encoding":
            cleaned = "".join(ch for ch in value.lower() if ch.isalnum())
            if cleaned in ("utf8", "unicode"):
                out[key] = "UTF8"
    return out
