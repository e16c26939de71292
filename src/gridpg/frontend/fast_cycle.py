"""Routed statements answered from callbacks, without waking the session's task.

While a session's task waits for its client (`Session._read_idle`), the client's bytes
arrive in `ClientStream.data_received`. When they are exactly one routed cycle (Bind +
[Describe] + Execute + Sync of a statement the prepared fast path sends to one node,
`Session.plan_cycle`), or one simple Query the simple protocol's fast path has planned
already (`StatementRunner.start_query_now`), and the node's connection is at hand without
waiting, the node's request is sent right there, and the node's answer is taken by this
module from the connection's own `data_received`: the rows and CommandComplete relayed as
one slice of the bytes received, no message objects, the client's ReadyForQuery and the
whole answer written at once. The session's task sleeps through all of it: no future,
task step or coroutine chain per statement.

Only the plain answer is taken here (rows, CommandComplete or EmptyQueryResponse, then the
node's ReadyForQuery as the last bytes received). Anything else (an error, a notice after
the CommandComplete, a COPY, a lost node) is handed back to the task untouched from that
message on, which relays it as `Session.routed_cycle` or `on_query` would have
(`Session.finish_cycle`): the client sees the same either way.
"""

from __future__ import annotations

import struct
import time
from typing import TYPE_CHECKING

from gridpg.errors import PgError
from gridpg.metrics import FAST_CYCLE_COUNTS
from gridpg.pgwire.codec import (
    BIND_COMPLETE,
    NO_DATA,
    ProtocolViolation,
    build_command_complete,
    build_ready,
    split_bind,
)
from gridpg.txn.transaction import TxnState

if TYPE_CHECKING:
    from gridpg.datanode.connection import BackendConnection
    from gridpg.frontend.session import PreparedStatement, Session
    from gridpg.txn.transaction import CallbackCommit

# Relayed to the client as they are: DataRow, NoticeResponse, ParameterStatus, Notification
# (and, for a simple Query, the RowDescription: the node answers its Describe).
_RELAY = frozenset((0x44, 0x4E, 0x53, 0x41))
_RELAY_SIMPLE = _RELAY | {0x54}
# Not for the client: ParseComplete, BindComplete, CloseComplete; RowDescription of a
# prepared cycle (the client got its own description); NoData of a simple Query.
_SKIP = frozenset((0x31, 0x32, 0x33, 0x54))
_SKIP_SIMPLE = frozenset((0x31, 0x32, 0x33, 0x6E))
_END = frozenset((0x43, 0x49))  # CommandComplete, EmptyQueryResponse
_BIND_COMPLETE = b"2\0\0\0\4"
_PARSE_COMPLETE = b"1\0\0\0\4"
_NO_DATA = b"n\0\0\0\4"
_READY = 0x5A
_READY_IDLE = build_ready(b"I")
_READY_IN_BLOCK = build_ready(b"T")
_READY_SIZE = 6
_COMMIT_COMPLETE = build_command_complete("COMMIT")
_LENGTH = struct.Struct(">I").unpack_from  # a message's length (no slice made to read it)
_ERROR = 0x45


def start(session: Session) -> bool:
    """Start the statement the client's buffered bytes hold, if it can run from callbacks;
    False: nothing consumed or sent (the task handles the bytes)."""
    runner = session.runner
    if runner is None or runner.pipeline_block:
        return False  # a pipeline's implicit block ends in the task's on_sync
    found = session.frames.peek_bind_cycle()  # (a Bind cycle, else a Query)
    if found is None:
        return _start_query(session)
    # The prepared cycle, in one function: the statement the Bind names
    # (Session.cycle_statement), planned (Session.plan_cycle), sent, its messages consumed
    # (Session.open_cycle).
    payload, wants_description = found
    if payload[:1] != b"\0":
        return False  # (a named portal: message by message)
    names_end = payload.find(b"\0", 1)
    if names_end < 0:
        return False
    try:
        statement = session.statements.get(payload[1:names_end].decode())
    except UnicodeDecodeError:
        return False
    if statement is None:
        return False
    names_end += 1
    control = statement.controls_transaction
    if control is None:
        control = statement.controls_transaction = runner.is_transaction_control(statement.sql)
    try:
        if control:  # (never a routed plan: plan_cycle would find none)
            return _run_begin(session, statement, names_end, payload, wants_description)
        planned = session.plan_cycle(payload, wants_description, statement, names_end)
        if planned is None:
            return False
    except (PgError, ProtocolViolation):
        return False  # the task's handlers report it
    route, group, description, tail = planned
    started = time.perf_counter()
    taken = runner.start_cycle_now(route, group, tail)
    if taken is None:
        return False
    conn, alone = taken
    runner.note_routed_statement(statement.sql, alone)
    session.frames.skip_buffered()  # (Session.open_cycle)
    portals = session.portals
    if portals:
        portals.pop("", None)  # this Bind replaces the unnamed portal; Sync closes it
    out = session.out
    out.append(BIND_COMPLETE)
    if description:
        out.append(description)
    cycle = session.cycle = FastCycle(session, conn, group, started, alone, route.writes, False)
    conn.start_relay(cycle)  # (as _begin)
    return True


def _run_begin(session: Session, statement: PreparedStatement, names_end: int, payload: bytes,
               wants_description: bool) -> bool:
    """A prepared BEGIN's whole cycle, answered here (it sends nothing to the nodes); or a
    prepared COMMIT/END of a one-node block, whose node's answer is relayed here."""
    runner = session.runner
    if runner is None or statement.described is None or statement.described[0] \
            or session.coord.settings.idle_in_transaction_timeout > 0 or session.own_idle_timeout() > 0:
        return False  # (those timers run in the task, from the block's first wait on)
    # (the unnamed portal: cycle_statement) a malformed Bind is the same violation either way
    if split_bind(payload, names_end)[1]:
        return False  # on_bind reports PostgreSQL's error
    description = NO_DATA if wants_description else b""
    if wants_description and statement.described[1] is not None:
        return False
    complete = runner.begin_now(statement.sql)
    if complete is None:
        return _run_commit(session, statement.sql, description)
    runner.note_routed_statement(statement.sql, True)
    FAST_CYCLE_COUNTS.inc("callback")
    session.open_cycle(description)
    session.send(complete)
    session.cycle_synced()
    after_cycle(session)
    return True


def _run_commit(session: Session, sql: str, description: bytes) -> bool:
    """A prepared COMMIT/END sent to the block's one node (`StatementRunner.commit_now`):
    the node's CommandComplete is the client's, its ReadyForQuery ends the cycle. Or the
    PREPARE round of a block that wrote two or more nodes (two-phase)."""
    runner = session.runner
    assert runner is not None
    started = time.perf_counter()
    taken = runner.commit_now(sql)
    if taken is None:
        return False
    conn, two_phase = taken
    runner.note_routed_statement(sql, False)
    if not two_phase:
        session.open_cycle(description)
        _begin(FastCycle(session, conn, conn.node, started, False, False, simple=False, commit=True))
        return True
    # Two or more nodes written: the PREPAREs are on their way. The rest (the decider's
    # commit, COMMIT PREPARED) runs from the nodes' callbacks in the usual case, else in
    # the task, as `_hand_back` hands it an answer.
    session.open_cycle(description)
    cycle = TwoPhaseCycle(session, conn, started)
    driven = runner.txn.commit_from_callbacks(cycle.done, cycle.hand_back)
    if driven is None:
        cycle.hand_back()
        return True
    cycle.driven = driven
    session.cycle = cycle  # type: ignore[assignment]  (no other cycle starts meanwhile)
    return True


class TwoPhaseCycle:
    """A client's COMMIT of a block that wrote two or more nodes, its PREPARE round written:
    the rest runs from the nodes' callbacks (txn/transaction.py `CallbackCommit`), and
    `done` answers the client (CommandComplete, ReadyForQuery) as a one-phase COMMIT's
    `_synced` does; `hand_back` gives the commit to the task at the step reached."""

    __slots__ = ("conn", "driven", "session", "started")

    def __init__(self, session: Session, conn: BackendConnection, started: float) -> None:
        self.session = session
        self.conn = conn  # (a writer's: what a cancel and pg_stat_activity look at)
        self.started = started
        self.driven: CallbackCommit | None = None

    def done(self) -> None:
        FAST_CYCLE_COUNTS.inc("callback")
        session = self.session
        session.cycle = None
        runner = session.runner
        assert runner is not None
        runner.commit_synced(two_phase=True)
        session.send(_COMMIT_COMPLETE)
        session.cycle_synced()
        after_cycle(session)

    def hand_back(self) -> None:
        FAST_CYCLE_COUNTS.inc("task")
        session = self.session
        session.cycle = None
        session.handover = FastCycle(session, self.conn, self.conn.node, self.started, False, True, simple=False,
                                     commit=True, two_phase=True)
        session.stream.wake()

    def abandon(self) -> None:
        """The session's task is cancelled: nothing more is driven (`CallbackCommit.stop`);
        the session's close rolls back what was not prepared, recovery the rest."""
        if self.driven is not None:
            self.driven.stop()
        self.session.cycle = None
        if self.session.runner is not None:
            self.session.runner.abandon_commit()


def _start_query(session: Session) -> bool:
    payload = session.frames.peek_query()
    runner = session.runner
    if payload is None or runner is None:
        return False
    try:
        sql = payload.decode()
    except UnicodeDecodeError:
        return False
    started = time.perf_counter()
    try:
        taken = runner.start_query_now(sql)
    except PgError:
        return False  # the task's path reports it
    if taken is None:
        return False
    conn, alone, group, writes = taken
    runner.note_routed_statement(sql, alone)
    session.frames.skip_buffered()
    _begin(FastCycle(session, conn, group, started, alone, writes, simple=True))
    return True


def _begin(cycle: FastCycle) -> None:
    cycle.session.cycle = cycle
    cycle.conn.start_relay(cycle)


class FastCycle:
    """One routed statement whose answer the node's connection hands here as it arrives."""

    __slots__ = ("alone", "commit", "conn", "group", "pending", "session", "simple", "started", "two_phase",
                 "writes")

    def __init__(self, session: Session, conn: BackendConnection, group: str, started: float,
                 alone: bool, writes: bool, simple: bool, commit: bool = False, two_phase: bool = False) -> None:
        self.session = session
        self.conn = conn
        self.group = group
        self.started = started
        self.alone = alone  # one statement outside a block (StatementRunner.start_cycle_now)
        self.writes = writes
        self.simple = simple  # a simple Query (else a prepared cycle)
        self.commit = commit  # a block's COMMIT (StatementRunner.commit_now)
        self.two_phase = two_phase  # a 2PC COMMIT whose PREPAREs are written (no node's answer relayed)
        self.pending = b""  # an incomplete message (or an answer's end before its ReadyForQuery)

    def on_data(self, data: bytes) -> None:
        buf = self.pending + data if self.pending else data
        self.pending = b""
        if self.commit:
            self._on_commit_answer(buf)
            return
        pos = 0
        if self.conn.skip_results:
            pos = self._skip_begin_answer(buf)
            if pos < 0:
                return
            if not self.simple:
                if buf.startswith(_BIND_COMPLETE, pos) and self._took_plain_answer(buf, pos):
                    return  # (a block's first statement on the node)
            elif self._took_plain_rows(buf, pos):
                return
        elif not self.simple:
            if buf.startswith(_BIND_COMPLETE) and self._took_plain_answer(buf, 0):
                return
        elif self._took_plain_rows(buf, 0):
            return
        send = self.session.out.append  # (Session.send, without its call per message)
        if self.simple:
            relayed, skipped = _RELAY_SIMPLE, _SKIP_SIMPLE
        else:
            relayed, skipped = _RELAY, _SKIP
            if buf.startswith(_BIND_COMPLETE, pos):  # (skipped, as the loop would skip it)
                pos += 5
        size = len(buf)
        first = -1  # where the run of messages to relay as one slice begins
        type_map = self.simple and self.conn.maps_row_descriptions
        while size - pos >= 5:
            kind = buf[pos]
            end = pos + 1 + _LENGTH(buf, pos + 1)[0]
            if end > size:
                break
            if kind == 0x54 and type_map:  # the node's type and relation OIDs -> the catalog server's
                if first >= 0:
                    send(buf[first:pos])
                    first = -1
                send(self.conn.client_row_description(buf[pos:end]))
                pos = end
                continue
            if kind in relayed:
                if first < 0:
                    first = pos
                pos = end
                continue
            if kind in _END:
                if size - end == _READY_SIZE and buf[end] == _READY:
                    send(buf[pos if first < 0 else first : end])  # the rows and the end, one slice
                    self._synced(buf[size - 1 : size])
                    return
                if size - end < _READY_SIZE and (size == end or buf[end] == _READY):
                    break  # its ReadyForQuery is on its way
            if first >= 0:
                send(buf[first:pos])
                first = -1
            if kind in skipped:
                pos = end
                continue
            self._hand_back(buf[pos:])
            return
        if first >= 0:
            send(buf[first:pos])
        self.pending = buf[pos:]

    def _took_plain_answer(self, buf: bytes, start: int) -> bool:
        """The usual answer to a prepared cycle, whole in `buf` from `start`: BindComplete,
        DataRows, CommandComplete, ReadyForQuery; its rows and end relayed as one slice and
        the cycle ended. False: anything else (nothing taken; the loop of `on_data` reads it)."""
        end = _rows_end(buf, start + 5)
        if end < 0:
            return False
        self.session.out.append(buf[start + 5 : end])
        if self.alone:
            self._synced_alone(buf[-1:])
        else:
            self._synced_joined(buf[-1:])
        return True

    def _took_plain_rows(self, buf: bytes, start: int) -> bool:
        """`_took_plain_answer` of a simple Query sent as its literal-free form
        (`relay.start_simple_prepared`), whole in `buf` from `start`: [ParseComplete],
        BindComplete, RowDescription (the client's, its OIDs mapped) or NoData (not the
        client's), DataRows, CommandComplete, ReadyForQuery. False: anything else (nothing
        taken)."""
        size = len(buf)
        pos = start + 5 if buf.startswith(_PARSE_COMPLETE, start) else start
        if not buf.startswith(_BIND_COMPLETE, pos) or size - pos < 10:
            return False
        pos += 5
        if buf[pos] == 0x54:
            rows = pos + 1 + _LENGTH(buf, pos + 1)[0]
        elif buf.startswith(_NO_DATA, pos):
            pos = rows = pos + 5
        else:
            return False
        end = _rows_end(buf, rows)
        if end < 0:
            return False
        conn = self.conn
        out = self.session.out
        if rows != pos:
            out.append(conn.client_row_description(buf[pos:rows]) if conn.maps_row_descriptions else buf[pos:rows])
        out.append(buf[rows:end])
        self._synced(buf[-1:])
        return True

    def _skip_begin_answer(self, buf: bytes) -> int:
        """The answer to the remote block's pipelined BEGIN, first in `buf`, taken (the
        connection swallows it): where the statement's own answer starts; -1: handed back
        (an error, which the task's reader raises: BackendConnection._drain_skipped) or
        kept until the rest of it arrives."""
        conn = self.conn
        answer = conn.ahead_answer
        if answer and conn.skip_results == 1 and buf.startswith(answer):
            conn.swallow_ready(b"T")  # the usual answer, whole (DistributedTransaction._open_remote_block)
            return len(answer)
        size = len(buf)
        pos = 0
        while conn.skip_results:
            if size - pos < 5:
                break
            end = pos + 1 + _LENGTH(buf, pos + 1)[0]
            if end > size:
                break
            kind = buf[pos]
            if kind == _ERROR:
                self._hand_back(buf[pos:])
                return -1
            if kind == _READY:
                conn.swallow_ready(buf[end - 1 : end])
            pos = end
        if conn.skip_results:
            self.pending = buf[pos:]
            return -1
        return pos

    def _on_commit_answer(self, buf: bytes) -> None:
        """A COMMIT's answer, taken whole: notices, CommandComplete, the ParameterStatus of
        the remote block's application_name label going back (not the client's: dropped,
        as the task's path drops it), ReadyForQuery. Anything else goes to the task."""
        size = len(buf)
        pos = 0
        complete = b""
        notices: list[bytes] = []
        while size - pos >= 5:
            kind = buf[pos]
            end = pos + 1 + _LENGTH(buf, pos + 1)[0]
            if end > size:
                break
            if kind == _READY and complete and end == size:
                self.session.send(b"".join(notices) + complete)
                self._synced(buf[size - 1 : size])
                return
            if kind == 0x43 and not complete:
                complete = buf[pos:end]
            elif kind == 0x4E:
                notices.append(buf[pos:end])
            elif kind != 0x53:
                self._hand_back(buf)
                return
            pos = end
        self.pending = buf

    def on_lost(self) -> None:
        self._hand_back(self.pending)

    def abandon(self) -> None:
        """The session's task is cancelled: the node's answer goes to the frame queue, read
        by the session's close."""
        self.conn.abandon_relay(self.pending)
        self.pending = b""
        self.session.cycle = None
        if self.session.runner is not None:
            self.session.runner.abandon_cycle(self)

    def _synced(self, status: bytes) -> None:
        FAST_CYCLE_COUNTS.inc("callback")
        session = self.session
        self.conn.end_relay(status)
        session.cycle = None
        runner = session.runner
        assert runner is not None
        if self.simple:
            runner.query_synced(self)
            session.query_synced()
        elif self.commit:
            runner.commit_synced()
            session.cycle_synced()
        elif not self.alone:
            self._synced_joined(status, relay_ended=True)
            return
        else:
            runner.cycle_synced(self)
            session.cycle_synced()
        after_cycle(session)

    def _synced_joined(self, status: bytes, relay_ended: bool = False) -> None:
        """`_synced` of a prepared cycle on a connection of the transaction (not alone: in a
        block, as TPC-B's statements), in one function: `StatementRunner.cycle_synced` and,
        inside a block the client opened, `Session.cycle_synced` (ReadyForQuery 'T')."""
        session = self.session
        if not relay_ended:  # (else counted and ended by `_synced`)
            pending = FAST_CYCLE_COUNTS.pending
            pending["callback"] = pending.get("callback", 0) + 1
            self.conn.end_relay(status)
            session.cycle = None
        runner = session.runner
        assert runner is not None
        runner.joined_cycle_ended(self.group, self.started)
        if runner.txn.state is TxnState.IN_BLOCK and not runner.implicit_block:
            session.skip_until_sync = False  # (release_if_idle: nothing to do in a block)
            portals = session.portals
            if portals:
                portals.pop("", None)  # (the block's named portals stay)
            out = session.out
            out.append(_READY_IN_BLOCK)  # (send_ready: no notification in a block)
            stream = session.stream
            drain = stream.write_and_check(b"".join(out))
            out.clear()
            # (after_cycle, without its call)
            if drain:
                stream.wake()
            elif (session.frames.buffered() or stream.eof or session.handover is not None) and stream.is_parked:
                session.pump()
            return
        session.cycle_synced()
        after_cycle(session)

    def _synced_alone(self, status: bytes) -> None:
        """`_synced` of a prepared cycle run alone (one statement outside any transaction:
        `StatementRunner.start_cycle_now`), the usual case, in one function: the steps of
        `StatementRunner.cycle_synced` and `Session.cycle_synced` for a session outside a
        block, whose ReadyForQuery is Idle."""
        pending = FAST_CYCLE_COUNTS.pending
        pending["callback"] = pending.get("callback", 0) + 1
        session = self.session
        conn = self.conn
        conn.end_relay(status)
        session.cycle = None
        runner = session.runner
        assert runner is not None
        txn = runner.txn
        if txn.tainted:  # (as DistributedTransaction.give_back_alone)
            conn.session_state = None
        txn.pools.pool(self.group).release(conn)
        runner.alone_cycle_ended(self.started)
        if txn.participants or txn.state is not TxnState.IDLE:
            session.cycle_synced()  # (not the usual case: its general steps)
        else:  # Session.cycle_synced outside a block, nothing joined
            session.skip_until_sync = False
            txn.tainted = False  # (as release_if_idle)
            session.portals.clear()
            out = session.out
            if session.notifications:  # (as send_ready, before ReadyForQuery)
                out.extend(session.notifications)
                session.notifications.clear()
            out.append(_READY_IDLE)
            stream = session.stream
            drain = stream.write_and_check(b"".join(out))
            out.clear()
            # (after_cycle, without its call)
            if drain:
                stream.wake()
            elif (session.frames.buffered() or stream.eof or session.handover is not None) and stream.is_parked:
                session.pump()
            return
        after_cycle(session)

    def _hand_back(self, unread: bytes) -> None:
        """From this message on, the task relays (Session.finish_cycle)."""
        FAST_CYCLE_COUNTS.inc("task")
        session = self.session
        self.conn.abandon_relay(unread)
        self.pending = b""
        session.cycle = None
        if session.runner is not None and not self.commit:
            session.runner.adopt_cycle(self)
        session.handover = self
        session.stream.wake()


def _rows_end(buf: bytes, pos: int) -> int:
    """Where the CommandComplete after the DataRows from `pos` ends, when a ReadyForQuery
    follows it as the last bytes of `buf` (the usual end of an answer, received whole);
    -1: anything else (a notice, an error, more to come)."""
    size = len(buf)
    while size - pos >= 5:
        kind = buf[pos]
        end = pos + 1 + _LENGTH(buf, pos + 1)[0]
        if kind == 0x44:  # DataRow
            pos = end
            continue
        if kind == 0x43 and size - end == _READY_SIZE and buf[end] == _READY:
            return end
        return -1
    return -1


def after_cycle(session: Session) -> None:
    """A statement answered from callbacks: on with what the client sent meanwhile."""
    stream = session.stream
    if stream.needs_drain:
        stream.wake()  # the task waits for a slow client before anything else
    elif (session.frames.buffered() or stream.eof or session.handover is not None) and stream.is_parked:
        session.pump()  # (with none of those, pump would find nothing to do)
