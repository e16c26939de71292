"""A session's distributed transaction: which nodes it holds, what it wrote, how it ends.

State is one Enum with its transitions here. A node joins lazily: the first statement that
needs it takes a pooled connection and opens the transaction there (BEGIN with the
transaction's isolation, then every savepoint still open, then SET LOCALs), pipelined with
the statement itself. The end: nothing written or one node written -> plain COMMIT on each;
two or more written -> 2PC: PREPARE TRANSACTION on every writer but the decider, whose
one-phase commit with a marker row decides (txn/marker.py), then COMMIT PREPARED; where no
writer can decide so, PREPARE everywhere, the decision logged in the GTM, then COMMIT
PREPARED. The GID carries the GXID and the coordinator (and the decider), so recovery can
find the decision.

A transaction takes its GXID when it opens its first remote block (from the coordinator's
cached GXID range: no round trip); every node's block is labeled with it in the same
pipelined message (`SET LOCAL application_name = 'gridpg:<gxid>:<coordinator>'`), so the
monitor can map the nodes' backends to the distributed transaction (txn/deadlock.py).
Catalog servers are not labeled (they answer the session's SHOW application_name).
"""

from __future__ import annotations

import asyncio
import enum
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from gridpg import metrics
from gridpg.catalog.relation_oids import ColumnMap
from gridpg.datanode.connection import BackendConnection, NodeAddress
from gridpg.datanode.pool import NodePool, PoolSet
from gridpg.errors import (
    CANNOT_CONNECT_NOW,
    CONNECTION_FAILURE,
    IN_FAILED_TRANSACTION,
    SERIALIZATION_FAILURE,
    TRANSACTION_RESOLUTION_UNKNOWN,
    TRANSACTION_ROLLBACK,
    UNDEFINED_OBJECT,
    UNDEFINED_TABLE,
    PgError,
)
from gridpg.pgwire import codec
from gridpg.sql import xact_time
from gridpg.sql.quote import quote_ident, quote_literal
from gridpg.txn import durable, fence, marker, snapshot
from gridpg.txn.deadlock import build_label

log = logging.getLogger("gridpg.txn")

# How long a node that refuses connections is retried before a statement fails: covers a
# primary's restart and a failover (planned: about a second; after a crash: a few seconds).
CONNECT_RETRY_SECONDS = 10.0
# How long a 2PC commit holds the commit fence it asked for beside its PREPARE round while
# that round runs: a PREPARE waiting on a lock (a deferred trigger's) whose holder waits for
# the snapshot fence gives the fence back after this, and asks again once prepared.
EARLY_FENCE_SECONDS = 0.1
# How long a coordinator keeps finishing a committed transaction on a node that did not
# confirm COMMIT PREPARED; after that the monitor's or a restart's recovery does it.
FINISH_COMMIT_SECONDS = 600.0


_COMMIT = codec.build_query("COMMIT")
_IMMEDIATE = codec.build_query("SET CONSTRAINTS ALL IMMEDIATE")
_COMMITTED = codec.build_command_complete("COMMIT")
_COMMITTED_PREPARED = codec.build_command_complete("COMMIT PREPARED")
_IMMEDIATE_DONE = codec.build_command_complete("SET CONSTRAINTS")


def outcome_unknown(where: str, cause: object) -> PgError:
    """What the client is told when its COMMIT's commit point was passed to `where` (a
    node's COMMIT written, the GTM's decision request sent) and the answer was lost: the
    transaction may have committed, so neither success nor a rollback may be reported
    (PostgreSQL's transaction_resolution_unknown). The session's block is over either way."""
    return PgError(TRANSACTION_RESOLUTION_UNKNOWN,
                   f"the connection to {where} was lost after COMMIT was sent: "
                   "the transaction may or may not have committed",
                   detail=str(cause), hint="look for its changes before repeating it")


async def read_commit_answer(conn: BackendConnection) -> None:
    """The answer to a COMMIT written on `conn`: an error the node sent (the transaction
    rolled back there) is raised as it is; the connection lost instead (the node died, or
    ended the backend, after the COMMIT may have become durable) raises 08007."""
    try:
        await conn.read_results()
    except PgError as exc:
        if conn.is_closed:
            raise outcome_unknown(f"node {conn.node}", exc) from None
        raise


_ON_CONFLICT = re.compile(r"\bON\s+CONFLICT\b", re.IGNORECASE)


def is_insert(sql: str) -> bool:
    """Whether `sql` is a plain INSERT, which locks no row already there (an upsert may):
    a hint for choosing the 2PC decider (`_choose_decider`), read from the text's start."""
    return sql.lstrip()[:6].upper() == "INSERT" and _ON_CONFLICT.search(sql) is None


def serializable_refusal(held: list[str], joining: str) -> PgError:
    """The error of a SERIALIZABLE transaction reaching a second datanode. Each datanode's
    serializable checks (SSI) see only the reads and writes made on it: a write skew whose
    two sides lie on two nodes (each reads what the other writes) would commit both, with no
    40001 where PostgreSQL gives one. Citus runs such transactions all the same, serializable
    per shard only; Postgres-XC/XL did not offer SERIALIZABLE at all. gridpg refuses them
    rather than give that weaker guarantee under the name (h-jepsen8, h-refuse25)."""
    return PgError(
        "0A000", "a SERIALIZABLE transaction may touch only one datanode in gridpg",
        detail=(f"It has run on {', '.join(held)} and now needs {joining}: each datanode checks serializability "
                "only over its own reads and writes, so a write skew across two datanodes would commit both "
                "sides where PostgreSQL raises 40001."),
        hint=("Keep the transaction on one distribution value (tables colocated by that value), or use "
              "REPEATABLE READ (one cluster-wide snapshot, not serializable) and take the rows whose "
              "invariant matters with SELECT ... FOR UPDATE."),
    )


_OpeningKey = tuple[int, str, "str | None"]  # (GXID, BEGIN text, the block's instant)


def _build_opening(key: _OpeningKey, coordinator: str) -> tuple[_OpeningKey, bytes, bytes]:
    """A remote block's usual opening (`DistributedTransaction._open_remote_block`): the
    Query (BEGIN, the GXID's application_name label, the block's instant) and the answer a
    node gives it when all goes well, whole (a relay recognises it with one comparison:
    frontend/fast_cycle.py; any other answer is read message by message)."""
    gxid, begin_sql, instant = key
    label = build_label(gxid, coordinator)
    sql = [begin_sql, f"SET LOCAL application_name = {quote_literal(label)}"]
    answer = [_BEGIN_COMPLETE, _SET_COMPLETE]
    if instant is not None:
        sql.append(f"SET LOCAL {xact_time.SETTING} = {quote_literal(instant)}")
        answer.append(_SET_COMPLETE)
    answer.append(codec.build_parameter_status("application_name", label))
    answer.append(codec.build_ready(b"T"))
    return key, codec.build_query("; ".join(sql)), b"".join(answer)


_BEGIN_COMPLETE = codec.build_command_complete("BEGIN")
_SET_COMPLETE = codec.build_command_complete("SET")


@dataclass
class _PrepareRound:
    """A PREPARE round written (`DistributedTransaction._start_prepare`), its answers due."""

    gid: str
    writers: list[str]  # the writers prepared (all but the decider)
    requests: list[tuple[BackendConnection, bytes]]
    sent: list[BaseException | None]
    # The writer whose one-phase commit with the GID's marker decides (txn/marker.py);
    # None: every writer prepared, the GTM's log decides.
    decider: str | None = None
    # The commit fence asked for beside the PREPAREs (`CommitLog.claim_commit_fence`).
    fence: object | None = None


def _commit_prepared_query(gid: str) -> bytes:
    return codec.build_query(f"COMMIT PREPARED {quote_literal(gid)}")


_PREPARE_TEXT = b"PREPARE TRANSACTION "
_COMMIT_PREPARED_TEXT = b"COMMIT PREPARED "
_PREPARED = codec.build_command_complete("PREPARE TRANSACTION")


def _expected_answer(query: bytes) -> bytes | None:
    """The tags of a 2PC round's request when all goes well (its answer is then taken as it
    arrives, `BackendConnection.send_command`); None for any other request."""
    if query is _COMMIT:
        return _COMMITTED
    text = query[5:25]
    if text.startswith(_PREPARE_TEXT):
        return _PREPARED
    if text.startswith(_COMMIT_PREPARED_TEXT):
        return _COMMITTED_PREPARED
    if query is _IMMEDIATE:
        return _IMMEDIATE_DONE
    return None


def _send_round(requests: list[tuple[BackendConnection, bytes]]) -> list[BaseException | None]:
    """Write every request of a 2PC round (simple Query messages, one or more; the
    connections out of any extended cycle) before any answer is awaited, so the nodes work
    at once with no task per node (an `asyncio.gather` costs a task, its scheduling and a
    wake-up of the caller per node). Each one's outcome so far: None (written) or what it
    raised."""
    outcomes: list[BaseException | None] = []
    for conn, query in requests:
        try:
            expected = _expected_answer(query)
            if expected is None:
                conn.send(query)
            else:
                conn.send_command(query, expected)
            outcomes.append(None)
        except Exception as exc:  # noqa: BLE001 - an outcome, as gather(return_exceptions=True)
            outcomes.append(exc)
    return outcomes


async def _read_answer(conn: BackendConnection, query: bytes) -> BaseException | None:
    try:
        await _read_request(conn, query)
    except Exception as exc:  # noqa: BLE001 - an outcome, as in `_read_round`
        return exc
    return None


async def _read_request(conn: BackendConnection, query: bytes) -> None:
    """A round's request answered (raises its error). A PREPARE TRANSACTION that answers
    ROLLBACK, without an error, found the node's block failed: nothing was prepared there,
    so it counts as a failed PREPARE (never as prepared: the others would commit alone)."""
    answer = conn.command_answer
    if answer is not None:
        expected: bytes | None = answer.expected
    else:
        expected = _expected_answer(query)
        if expected is None:
            await conn.read_results()
            return
    if not await conn.read_command(expected) and expected is _PREPARED:
        raise PgError(TRANSACTION_ROLLBACK, f"the transaction was rolled back on node {conn.node}",
                      detail="its PREPARE TRANSACTION found the node's block failed", node=conn.node)


async def _read_round(requests: list[tuple[BackendConnection, bytes]],
                      outcomes: list[BaseException | None]) -> list[BaseException | None]:
    """Each written request's answer, read in turn (`_send_round`): None (done) or what it
    raised."""
    for index, (conn, query) in enumerate(requests):
        if outcomes[index] is not None:
            continue
        try:
            await _read_request(conn, query)
        except Exception as exc:  # noqa: BLE001 - likewise
            outcomes[index] = exc
    return outcomes


PREPARING, DECIDING, DECIDE_SENT, DECIDED, COMMITTING_PREPARED = (
    "preparing", "deciding", "decide-sent", "decided", "commit-prepared-sent")


class CallbackCommit:
    """The rest of a two-phase commit whose PREPARE round `two_phase_commit_now` wrote,
    driven from the nodes' callbacks as their answers arrive (frontend/fast_cycle.py): the
    PREPAREs' answers, the decider's commit with its marker (txn/marker.py), the COMMIT
    PREPARED round, then `done`. The session's task sleeps through it: no task step,
    future or coroutine chain per round.

    Only the usual case runs here: a decider, no read-only participant, no deferred checks,
    every answer the expected one (`BackendConnection.send_command`) and the commit
    fence's share granted when the decision is to be sent. At anything else the task takes
    over at the step reached (`step`; `DistributedTransaction.finish_two_phase_commit`),
    with the code that runs every step when the callbacks do not, so outcomes and errors
    are the same either way. `stop` (the session ends meanwhile) drives nothing more: what
    was decided stands, in-doubt recovery finishes it as after a task cancelled mid-commit."""

    __slots__ = ("done", "hand_back", "pending", "requests", "sent", "started", "step", "stopped", "timer", "txn")

    def __init__(self, txn: DistributedTransaction, started: _PrepareRound, done: Callable[[], None],
                 hand_back: Callable[[], None]) -> None:
        self.txn = txn
        self.started = started
        self.done = done
        self.hand_back = hand_back
        self.step = PREPARING
        self.pending = 0
        self.requests: list[tuple[BackendConnection, bytes]] = []
        self.sent: list[BaseException | None] = []
        self.stopped = False
        self.timer: asyncio.TimerHandle | None = None

    def start(self) -> bool:
        started = self.started
        if started.decider is None or len(started.requests) != len(started.writers) \
                or any(outcome is not None for outcome in started.sent):
            return False  # (the GTM decides, a reader commits or deferred checks run beside)
        answers = [conn.command_answer for conn, _ in started.requests]
        if not answers or any(answer is None or answer.done.done() for answer in answers):
            return False
        self.pending = len(answers)
        for answer in answers:
            answer.then = self._prepared  # type: ignore[union-attr]
        if started.fence is not None:  # (as `_read_prepare_round`: a slow PREPARE gives it back)
            self.timer = asyncio.get_running_loop().call_later(EARLY_FENCE_SECONDS, self._slow)
        return True

    def stop(self) -> None:
        self.stopped = True
        if self.timer is not None:
            self.timer.cancel()

    def _to_task(self) -> None:
        self.stop()
        self.hand_back()

    def _slow(self) -> None:
        self.timer = None
        if not self.stopped and self.step == PREPARING:
            self._to_task()  # (whose `_read_prepare_round` gives the fence back while it waits)

    def _last_of_round(self, expected: bool) -> bool:
        """Whether this answer (`expected`: the usual one) was the last one its round waited
        for; an unusual one gives the commit to the task at the step reached."""
        if self.stopped:
            return False
        if not expected:
            self._to_task()
            return False
        self.pending -= 1
        return not self.pending

    def _prepared(self, expected: bool) -> None:
        if not self._last_of_round(expected):
            return
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        txn, started = self.txn, self.started
        participants = txn.participants
        for node in started.writers:
            participants[node].state = RemoteState.PREPARED
        for conn, _ in started.requests:
            conn.command_answer = None  # (taken: the task reads them no more)
        self.step = DECIDING
        if txn._is_fenced() and not txn.commit_log.commit_fence_granted(started.fence):
            self._to_task()  # (it waits for the fence)
            return
        decider = started.decider
        assert decider is not None
        part = participants[decider]
        conn = part.conn
        if not conn.is_quiet:
            self._to_task()
            return
        part.state = RemoteState.COMMITTING
        try:
            conn.send_command(marker.decide_request(started.gid), marker.DECIDED)
        except PgError:  # (nothing sent: the task's `_decide` finds the connection lost too)
            self._to_task()
            return
        self.step = DECIDE_SENT
        answer = conn.command_answer
        if answer is None:
            self._to_task()
            return
        self.pending = 1
        answer.then = self._decided

    def _decided(self, expected: bool) -> None:
        if not self._last_of_round(expected):
            return
        txn, started = self.txn, self.started
        decider = started.decider
        assert decider is not None
        txn.participants[decider].conn.command_answer = None
        self.step = DECIDED
        sql = _commit_prepared_query(started.gid)
        requests = [(txn.participants[n].conn, sql) for n in started.writers]
        for node in started.writers:
            txn.participants[node].state = RemoteState.COMMITTING
        self.requests = requests
        self.sent = _send_round(requests)
        self.step = COMMITTING_PREPARED
        answers = [conn.command_answer if outcome is None else None
                   for (conn, _), outcome in zip(requests, self.sent)]
        if any(answer is None for answer in answers):
            self._to_task()
            return
        self.pending = len(answers)
        for answer in answers:
            answer.then = self._committed  # type: ignore[union-attr]

    def _committed(self, expected: bool) -> None:
        if not self._last_of_round(expected):
            return
        self.stopped = True
        txn, started = self.txn, self.started
        for conn, _ in self.requests:
            conn.command_answer = None
        if started.fence is not None:
            txn.commit_log.drop_commit_fence(started.fence)
        txn.forget_decision(started.gid)
        txn._prepare_round = txn._from_callbacks = None
        metrics.COMMIT_COUNTS.inc("two-phase")
        txn._release_all()
        txn._reset()
        self.done()


class TxnState(enum.Enum):
    IDLE = "I"  # no transaction block; statements run one by one
    IN_BLOCK = "T"  # BEGIN seen, running
    FAILED = "E"  # an error happened inside the block; only ROLLBACK helps


class RemoteState(enum.Enum):
    """Where one node's part of a transaction stands (Citus's RemoteTransactionState)."""

    STARTED = "started"
    PREPARING = "preparing"
    PREPARED = "prepared"
    COMMITTING = "committing"
    ABORTING = "aborting"


@dataclass
class Participant:
    conn: BackendConnection
    state: RemoteState = RemoteState.STARTED
    wrote: bool = False
    # When the node was first written, and last written by a statement that may lock rows
    # already there, counted in the transaction's writes (0: never).
    write_order: int = 0
    lock_order: int = 0
    # The block's instant its remote block was given with its BEGIN (`gridpg.xact_now`,
    # sql/xact_time.py), None: not given (a catalog server, a block opened outside BEGIN).
    instant: str | None = None
    # A catalog server whose code called back through the loopback in this transaction:
    # postgres_fdw's open remote transaction forbids its PREPARE (executor/code_ddl.py).
    called_back: bool = False
    # LOCK TABLE ran here in this transaction: as after DDL (`wrote`), a pooled connection
    # reading the table would wait for this one, forever (executor/locks.py).
    locked: bool = False
    # A side connection standing in for the catalog server for one statement
    # (executor/scratch.side_catalog): the loopback may open a block there, its caller's
    # own catalog connection being busy running the code.
    aside: bool = False

    @property
    def holds_table_locks(self) -> bool:
        """Whether the transaction may hold locks here that other connections wait for."""
        return self.wrote or self.locked


@dataclass
class Savepoint:
    name: str
    nodes: set[str] = field(default_factory=set)
    settings_at: int = 0  # how many of the block's SETs came before it


class CommitLog:
    """What the transaction needs of the GTM: GXIDs and the durable 2PC decision."""

    async def next_gxid(self) -> int:  # pragma: no cover - interface
        raise NotImplementedError

    def next_gxid_now(self) -> int | None:
        """A GXID when one is at hand without waiting (a range taken before), else None."""
        return None

    async def log_commit(self, gid: str, nodes: list[str]) -> None:  # pragma: no cover
        raise NotImplementedError

    async def forget(self, gid: str) -> None:  # pragma: no cover
        raise NotImplementedError

    def forget_soon(self, gid: str) -> None:
        """`forget` without the caller waiting (every node confirmed the commit)."""
        asyncio.ensure_future(self.forget(gid))

    async def log_commit_fenced(self, gid: str, nodes: list[str]) -> object:
        """Log the decision and take the commit fence for its COMMIT PREPARED round; the
        fence's handle, for `commit_fenced(body, held)` (the GTM does both in one request)."""
        await self.log_commit(gid, nodes)
        return None

    async def commit_fenced(self, body: Callable[[], Awaitable[None]], held: object = None) -> None:
        """Run the COMMIT PREPARED round; the GTM-backed log holds the commit fence (the one
        `held` from log_commit_fenced or `claim_commit_fence`, else one taken here)."""
        await body()

    def claim_commit_fence(self) -> object | None:
        """Start asking for the commit fence of a COMMIT PREPARED round still to come, without
        waiting: the claim goes to `commit_fenced` as `held`, or to `drop_commit_fence`.
        None: nothing asked for (`commit_fenced` takes the fence itself)."""
        return None

    def drop_commit_fence(self, claim: object) -> None:
        """Give back a claim no round will use (again: nothing happens)."""

    def commit_fence_granted(self, claim: object) -> bool:
        """Whether `claim` (from `claim_commit_fence`) holds a granted share of the commit
        fence now, so a COMMIT PREPARED round may run under it without waiting."""
        return claim is None


class DistributedTransaction:
    """One session's transaction across nodes (explicit block or a single statement)."""

    def __init__(
        self, pools: PoolSet, commit_log: CommitLog, coordinator: str,
        session_setup: Callable[[BackendConnection], Awaitable[None]],
    ) -> None:
        self.pools = pools
        self.commit_log = commit_log
        self.coordinator = coordinator
        self.session_setup = session_setup
        # Whether the session may take a pooled connection at all (one carrying another
        # session's custom-setting placeholders may not: session_settings.accepts)
        self.accepts: Callable[[BackendConnection], bool] = lambda conn: True
        self.state = TxnState.IDLE
        self.begin_sql = "BEGIN"
        self.participants: dict[str, Participant] = {}
        self.savepoints: list[Savepoint] = []
        # SET statements made inside the block (SET LOCAL and session-level), in order: a
        # node that joins later runs them inside its own block, interleaved with savepoints.
        self.local_settings: list[str] = []
        self.tainted = False  # connections in an unknown session state: closed, not pooled
        self.read_only = False
        self.local_nodes: set[str] = set()  # catalog servers: not datanodes for the rules above
        # Connections kept across transactions (the session's temp tables live there);
        # None: wanted, not taken yet.
        self.pinned: dict[str, BackendConnection | None] = {}
        self.on_pin: Callable[[], None] | None = None  # a node pinned (the session's routed cycles stop)
        self.closing: list[BackendConnection] = []  # unpinned while in use: closed at the end
        # Nodes whose connection made a temporary object for this transaction only (a
        # materialized cursor's rows, executor/prepared.py): PostgreSQL will not PREPARE
        # there, so such a node decides a 2PC as a pinned one does (`_choose_decider`).
        self.temp_touched: set[str] = set()
        # Datanode type OIDs of types this block created, mapped to the catalog server's
        # (commands/block_types.py): put back into a node's map whenever it is read again
        # before the block ends.
        self.block_types: dict[str, dict[int, int]] = {}
        # Likewise the node's relations this block created, by the catalog server's OIDs
        # and column numbers (commands/block_types.map_block_relations)
        self.block_relations: dict[str, ColumnMap] = {}
        self.gxid: int | None = None  # taken when the first remote block opens
        self.last_gxid: int | None = None  # the previous transaction's, for late errors
        # What the session asks of snapshots (txn/snapshot.py); None: no fence (tests).
        self.consistency: snapshot.SessionConsistency | None = None
        self.isolation: str | None = None  # named by BEGIN or SET TRANSACTION in this block
        # Shard switches seen by this worker (PauseGate.switches) when a REPEATABLE READ
        # block took its first datanode snapshot: a statement touching shards moved since
        # then fails with 40001 (frontend/shard_gate.py). None: no such snapshot.
        self.moved_since: int | None = None
        # (colocation, shard) pairs this transaction wrote (-1: every shard of it), noted
        # while in a block: an online move's switch waits for those writing its shard.
        self.shard_writes: set[tuple[int, int]] = set()
        self.switch_count: Callable[[], int] | None = None
        # Whether the catalog has a DEFERRABLE constraint or trigger (CatalogSnapshot.deferrable):
        # without one no check waits for COMMIT, and the decider needs no SET CONSTRAINTS.
        self.deferrable: Callable[[], bool] = lambda: True
        # One snapshot on every datanode, taken under the fence (REPEATABLE READ, cluster).
        self.cluster_snapshot = False
        # Server-side code ran with the loopback armed in this catalog server's block (None:
        # none did): if it reached the cluster (postgres_fdw), that block can no longer
        # PREPARE. Having written (DDL, which commits on every catalog server), it decides
        # the 2PC instead, committing in one phase last (`_choose_decider`).
        self.loopback_node: str | None = None
        # The block's now() (sql/xact_time.py): the coordinator's clock at BEGIN, or the
        # catalog server's transaction start when the block had reached it before the first
        # statement that needs it (`read_block_instant`); None outside a block.
        self.xact_stamp: str | None = None
        self.xact_stamp_read = False
        self.statement_pins: xact_time.TimePins | None = None
        # A RESET ALL ran in this block: the nodes' gridpg.xact_now is gone (also on those
        # joining later, which replay it), no statement reads it until the block ends.
        self.instant_reset = False
        # A PREPARE round written from a callback (`two_phase_commit_now`), its answers due.
        self._prepare_round: _PrepareRound | None = None
        # The commit's later steps driven from the nodes' callbacks, until the task took over.
        self._from_callbacks: CallbackCommit | None = None
        # Keeps the decisions of asynchronous COMMIT PREPAREDs until they are durable
        # (txn/durable.py); None: COMMIT PREPARED waits for its node's flush.
        self.witness: durable.CommitWitness | None = None
        # The datanodes' commit markers (txn/marker.py): a 2PC commit decided by one
        # writer's commit; None: every 2PC decision is the GTM's.
        self.markers: marker.MarkerKeeper | None = None
        self._writes = 0  # nodes written so far in this transaction (Participant.write_order)
        # The usual remote block opening of this transaction (`_build_opening`): its key
        # (GXID, BEGIN text, instant), Query message and the node's expected answer.
        self._opening: tuple[_OpeningKey, bytes, bytes] | None = None
        # SET TRANSACTION SNAPSHOT of a cluster-wide exported snapshot (txn/exported.py):
        # each node's snapshot identifier, imported as its remote block opens, after the
        # first `imported_at` local settings (the block's SET TRANSACTION isolation)
        self.imported_snapshot: dict[str, str] | None = None
        self.imported_at = 0
        # Nodes whose participant stays outside the block on purpose: the catalog server
        # running a CALL / DO that may COMMIT (executor/loopback._run_committing_call)
        self.outside_block: set[str] = set()

    @property
    def effective_isolation(self) -> str:
        """The isolation level of the open block, as PostgreSQL would run it."""
        if self.isolation is not None:
            return self.isolation
        return self.consistency.default_isolation if self.consistency is not None else snapshot.READ_COMMITTED

    @property
    def serializable(self) -> bool:
        return self.in_block and self.effective_isolation == snapshot.SERIALIZABLE

    def note_isolation(self, level: str | None) -> None:
        """SET TRANSACTION ISOLATION LEVEL (or SET transaction_isolation) inside the block."""
        if level is not None and self.in_block:
            self.isolation = snapshot.normalize_isolation(level)

    def chain_begin_sql(self) -> str:
        """BEGIN for the transaction COMMIT/ROLLBACK AND CHAIN starts: the same
        characteristics, an isolation level set by SET TRANSACTION included."""
        if self.isolation is None or snapshot.isolation_from_begin(self.begin_sql) is not None:
            return self.begin_sql
        modes = self.begin_sql[len("BEGIN"):].strip()
        return f"BEGIN ISOLATION LEVEL {self.isolation.upper()}" + (f", {modes}" if modes else "")

    def needs_statement_fence(self, nodes: int) -> bool:
        """Whether a statement over `nodes` datanodes must take its snapshots under the
        fence: cluster consistency, two or more nodes, and no transaction snapshot already
        fenced (a REPEATABLE READ transaction's statements all read that one)."""
        return (nodes > 1 and not self.cluster_snapshot and self.consistency is not None
                and self.consistency.is_cluster)

    def _wants_cluster_snapshot(self, node: str) -> bool:
        # (the isolation level before the consistency setting: under READ COMMITTED, the
        # usual case, that one is not read at every node joining)
        return (self.state is not TxnState.IDLE and not self.cluster_snapshot and node not in self.local_nodes
                and self.consistency is not None and self.imported_snapshot is None
                and self.effective_isolation == snapshot.REPEATABLE_READ and self.consistency.is_cluster
                and not any(n not in self.local_nodes for n in self.participants))

    # -- block control -----------------------------------------------------------------

    @property
    def in_block(self) -> bool:
        return self.state is not TxnState.IDLE

    def begin(self, begin_sql: str = "BEGIN", keep_statement_instant: bool = False) -> None:
        """Enter a block; `keep_statement_instant`: a block one statement opens for its own
        work (`statement_transaction`), whose instant stays the one the statement's text
        and defaults were pinned to already: a new one made the rows' `DEFAULT now()` and
        the trigger functions' now() differ (h-refuse25)."""
        running = self.statement_pins.transaction if keep_statement_instant and self.statement_pins else None
        self.moved_since = None
        self.state = TxnState.IN_BLOCK
        self.begin_sql = begin_sql
        self.xact_stamp = running or xact_time.stamp()
        self.xact_stamp_read = False
        self.instant_reset = False
        self.isolation = snapshot.isolation_from_begin(begin_sql)

    def start_statement(self) -> xact_time.TimePins:
        """Fix the instants the statement now starting gives now() and
        statement_timestamp(): the block's start in a block, else the statement's (one
        transaction, one statement)."""
        statement = xact_time.stamp()
        self.statement_pins = xact_time.TimePins(
            self.xact_stamp if self.in_block and self.xact_stamp else statement, statement)
        return self.statement_pins

    def instant_to_give(self, conn: BackendConnection, *texts: str | None) -> str | None:
        """The statement's instant, for a node where the statement runs as a transaction of
        its own (outside a block, nothing open on the node: no BEGIN brought it the
        instant), when a text sent there holds it pinned (now(), a DEFAULT now(), ...):
        the trigger functions it fires read that instant (sql/trigger_relation.py) rather
        than the node's own start, so `created_at DEFAULT now()` and a trigger's
        `NEW.updated_at := now()` store one value, as in PostgreSQL (h-refuse25). None
        otherwise: a statement reading no time pinned by the coordinator reads only the
        node's own start, its one transaction's, and is sent as it is."""
        pins = self.statement_pins
        if pins is None or self.state is not TxnState.IDLE or conn.txn_status != b"I" or conn.in_cycle:
            return None
        instant = pins.transaction
        return instant if instant and any(text and instant in text for text in texts) else None

    async def read_block_instant(self, catalog_node: str) -> None:
        """Inside a block whose catalog server connection is already in it, make the pinned
        now() the catalog server's own transaction start (read once per block, when a
        statement first needs it): what the catalog server evaluates itself (a temp
        table's DEFAULT now(), a function without tables) then agrees with what the
        datanodes are sent. A block that has not reached the catalog server keeps the
        coordinator's clock at BEGIN, for good (joining the catalog server only for this
        cost every pgbench transaction, whose history INSERT says CURRENT_TIMESTAMP, a
        round trip and a participant: TPC-B and simple-update fell to ~0.1 of plain)."""
        if not self.in_block or self.xact_stamp_read:
            return
        part = self.participants.get(catalog_node)
        if part is None or part.conn.is_closed or part.conn.txn_status == b"I":
            self.xact_stamp_read = True  # the coordinator's clock, used from now on
            return
        if any(p.instant is not None and p.instant == self.xact_stamp for p in self.participants.values()):
            # datanodes joined with the coordinator's clock already: the trigger functions
            # they fired stored it (sql/trigger_relation.py), so it stays the block's now()
            # (what the catalog server evaluates itself may then differ; h-trig24)
            self.xact_stamp_read = True
            return
        conn = await self.connection(catalog_node, wants_block=True)
        rows = await conn.query(xact_time.READ_TRANSACTION_START)
        if rows and rows[0][0]:
            self.xact_stamp = rows[0][0]
            if self.statement_pins is not None:  # the running statement's, read again
                self.statement_pins = xact_time.TimePins(self.xact_stamp, self.statement_pins.statement)
        self.xact_stamp_read = True

    def is_instant_unread_in(self, catalog_node: str) -> bool:
        """Whether the block's catalog server joined it before its instant was settled: a
        write then reads the instant there (`read_block_instant`) before datanodes join
        and get it for their trigger functions (h-trig24)."""
        if not self.in_block or self.xact_stamp_read:
            return False
        part = self.participants.get(catalog_node)
        return part is not None and not part.conn.is_closed and part.conn.txn_status != b"I"

    def has_block_instant(self, node: str, catalog_node: str) -> bool:
        """Whether a statement reading the block's instant from the node's setting
        (`xact_time.BLOCK_INSTANT`) may run on `node` now, with no waiting: the instant is
        settled (the catalog server is not in the block, or its start was read:
        `read_block_instant`) and the node's remote block was, or will be when it joins,
        given that very instant with its BEGIN. False: the caller takes the general path
        (the instant as a literal), or first awaits `read_block_instant`."""
        if self.state is TxnState.IDLE or self.instant_reset or self.xact_stamp is None:
            return False
        if not self.xact_stamp_read:
            part = self.participants.get(catalog_node)
            if part is not None and not part.conn.is_closed and part.conn.txn_status != b"I":
                return False  # its transaction start is to be read first
            self.xact_stamp_read = True  # as read_block_instant decides it
        part = self.participants.get(node)
        return part is None or part.instant == self.xact_stamp

    def forget_block_instant(self) -> None:
        """A RESET ALL inside the block reset the nodes' gridpg.xact_now."""
        if self.in_block:
            self.instant_reset = True
            for part in self.participants.values():
                part.instant = None

    def time_pins(self) -> xact_time.TimePins:
        """The running statement's instants (`start_statement`)."""
        return self.statement_pins or self.start_statement()

    def fail(self) -> None:
        if self.state is TxnState.IN_BLOCK:
            self.state = TxnState.FAILED

    def ensure_not_failed(self) -> None:
        if self.state is TxnState.FAILED:
            raise PgError(
                IN_FAILED_TRANSACTION,
                "current transaction is aborted, commands ignored until end of transaction block",
            )

    # -- participants ------------------------------------------------------------------

    async def connection(self, node: str, wants_block: bool, maps: bool = True) -> BackendConnection:
        """The node's connection for this transaction, joining the node if needed.

        `wants_block` opens a remote transaction block even outside an explicit BEGIN
        (a statement that writes on several nodes needs one to commit atomically).
        `maps`: the node's type and relation maps are read first where a catalog reload
        left them stale (PoolSet.ensure_maps); DDL, which relays no RowDescription, says
        False, so a burst of DDL reads no datanode's maps.
        """
        if maps and node in self.pools.stale_maps:
            await self.pools.ensure_maps(node)
        if node in self.block_types:
            # (a read of the node's maps since, this session's or another's, refilled them
            # without this block's types)
            self.pools.type_maps.setdefault(node, {}).update(self.block_types[node])
        if node in self.block_relations:
            self.pools.column_maps.setdefault(node, {}).update(self.block_relations[node])
        part = self.participants.get(node)
        if part is not None and part.conn.is_closed and not self.in_block:
            # lost outside a transaction block: nothing of this session is on it any more
            self.pools.pool(node).discard(part.conn)
            del self.participants[node]
            part = None
        if part is not None:
            # (also when the statement's own block began after this node joined it for a
            # lookup: the loopback's SET LOCALs outside a block were lost, and a function's
            # writes went to the catalog server's own copies, silently; and a connection
            # that stayed a participant after a statement before the client's BEGIN, such
            # as a pinned one that ran a prepared statement: a write on it committed at
            # once and the client's ROLLBACK kept it, h-fuzz20)
            if (wants_block or (self.state is not TxnState.IDLE and node not in self.outside_block)) \
                    and part.conn.txn_status == b"I":
                await self._open_block_late(part.conn, node)
            return part.conn
        if self._wants_cluster_snapshot(node):
            await self._take_cluster_snapshot()
            part = self.participants.get(node)
            if part is not None:
                return part.conn
        if self.cluster_snapshot and self.in_block and node not in self.local_nodes:
            # A group without a primary then, or added since: its snapshot would be later.
            raise PgError(SERIALIZATION_FAILURE,
                          f"could not reach datanode {node} within this transaction's "
                          "cluster-wide snapshot (it was not serving when the snapshot was taken)",
                          hint="retry the transaction")
        return await self._join(node, wants_block)

    def connection_now(self, node: str, setup_now: Callable[[BackendConnection], bool]) -> BackendConnection | None:
        """`connection(node, wants_block=False)` where it needs no waiting, else None with
        nothing taken: the node's participant connection with nothing owed or unread on
        it; outside a block, an idle pooled connection that `setup_now` finds in the
        session's state already (no RESET/SET to send), which joins as `_join` would join it.
        None also while the node's maps are stale (`connection` reads them first)."""
        if node in self.pools.stale_maps:
            return None
        part = self.participants.get(node)
        if part is not None:
            # (a block not open there yet: `connection` opens it)
            return part.conn if part.conn.is_quiet and not (
                self.state is not TxnState.IDLE and part.conn.txn_status == b"I"
                and node not in self.outside_block) else None
        if node in self.pinned:
            return None
        if self.state is not TxnState.IDLE:  # (self.in_block)
            return self._join_now(node, setup_now)
        conn = self.pools.pool(node).take_matching(setup_now)
        if conn is not None:
            self.participants[node] = Participant(conn)
        return conn

    def _join_now(self, node: str, setup_now: Callable[[BackendConnection], bool]) -> BackendConnection | None:
        """`_join` inside a block where nothing needs waiting: no cluster-wide snapshot to
        take, a GXID at hand, a pooled connection in the session's state. Its remote block
        is opened pipelined (`send_ahead`): the connection's reader swallows that answer."""
        local = self.local_nodes
        if (node not in local and any(n not in local for n in self.participants) and self.serializable) \
                or self._wants_cluster_snapshot(node) or (self.cluster_snapshot and node not in local):
            return None  # _join raises, or takes the snapshot first
        if self.gxid is None:
            self.gxid = self.commit_log.next_gxid_now()
            if self.gxid is None:
                return None
        conn = self.pools.pool(node).take_matching(setup_now)
        if conn is None:
            return None
        instant = self._open_remote_block(conn, labeled=node not in local)
        self.participants[node] = Participant(conn, instant=instant)
        self._note_joined(node)
        return conn

    def take_alone(self, node: str, setup_now: Callable[[BackendConnection], bool]) -> BackendConnection | None:
        """For one statement outside any block, with no participant: an idle pooled
        connection that `setup_now` finds in the session's state, kept out of the
        participants; it goes back with `give_back_alone` or joins them with `adopt`.
        None also while the node's maps are stale (as `connection_now`)."""
        if node in self.pools.stale_maps:
            return None
        return self.pools.pool(node).take_matching(setup_now)

    def give_back_alone(self, node: str, conn: BackendConnection) -> None:
        if self.tainted:  # (as _give_back: one call fewer on the fast path)
            conn.session_state = None
        self.pools.pool(node).release(conn)

    def adopt(self, node: str, conn: BackendConnection, wrote: bool) -> None:
        """A connection taken by `take_alone` joins the participants (as `_join` joins one)."""
        self.participants[node] = Participant(conn)
        if wrote:
            self.mark_written(node)

    async def _take_cluster_snapshot(self) -> None:
        """Open the block on every datanode (connections taken outside the fence), then
        take each node's snapshot with `SELECT 1` under the snapshot fence."""
        assert self.consistency is not None
        self.cluster_snapshot = True  # the joins below must not come back here
        nodes = [n for n in self.consistency.datanodes() if n not in self.local_nodes]
        conns = [await self._join(n, wants_block=True) for n in nodes]

        def start() -> None:
            for conn in conns:
                conn.send(codec.build_query("SELECT 1"))

        started = [fence.Started(c.node, c.wait_started) for c in conns]
        try:
            await self.consistency.fenced(start, started)
            for conn in conns:
                await conn.read_results()
        except BaseException:
            await snapshot.abandon(conns)
            raise

    async def _join(self, node: str, wants_block: bool) -> BackendConnection:
        if self.serializable and node not in self.local_nodes and any(
            n not in self.local_nodes for n in self.participants
        ):
            raise serializable_refusal([n for n in self.participants if n not in self.local_nodes], node)
        pool, conn = await self._pinned_or_acquire(node)
        instant = None
        try:
            await self.session_setup(conn)
            if self.in_block or wants_block:
                if self.gxid is None:
                    self.gxid = await self.commit_log.next_gxid()
                instant = self._open_remote_block(conn, labeled=node not in self.local_nodes)
        except BaseException:
            if node in self.pinned:
                self.pinned[node] = conn
                conn.close()  # detached: its next use reports the loss
            else:
                pool.discard(conn)
            raise
        self.participants[node] = Participant(conn, instant=instant)
        self._note_joined(node)
        return conn

    def _note_joined(self, node: str) -> None:
        """A REPEATABLE READ block's first datanode snapshot: the shard switches seen then."""
        if (self.moved_since is None and self.switch_count is not None and self.state is not TxnState.IDLE
                and node not in self.local_nodes and self.effective_isolation == snapshot.REPEATABLE_READ):
            self.moved_since = self.switch_count()

    async def _acquire(self, node: str, wanted: object = None) -> tuple[NodePool, BackendConnection]:
        """A connection to the node's current primary (an idle one already set up as
        `wanted` first). Nothing has been sent to the node yet, so a refused connection (a
        primary stopping, or a failover switching the group's address) is retried for a
        bounded time, each time with the pool of the address the catalog names then."""
        pool = self.pools.pool(node)
        while (idle := pool.take_idle(wanted)) is not None:
            if self.accepts(idle):
                return pool, idle
            pool.discard(idle)
        deadline = asyncio.get_running_loop().time() + CONNECT_RETRY_SECONDS
        while True:
            pool = self.pools.pool(node)
            try:
                conn = await pool.acquire(wanted)
                if self.accepts(conn):
                    return pool, conn
                pool.discard(conn)  # (given back by another session meanwhile)
                continue
            except PgError as exc:
                if exc.sqlstate not in (CONNECTION_FAILURE, CANNOT_CONNECT_NOW) or \
                        asyncio.get_running_loop().time() >= deadline:
                    raise
            await asyncio.sleep(0.1)

    async def _pinned_or_acquire(self, node: str) -> tuple[NodePool, BackendConnection]:
        if node not in self.pinned:
            return await self._acquire(node)
        conn = self.pinned[node]
        if conn is not None and conn.is_closed:
            del self.pinned[node]
            raise PgError(CONNECTION_FAILURE, "the session's temporary tables were lost with its "
                          "catalog server connection", hint="reconnect and create them again")
        if conn is None:
            pool, conn = await self._acquire(node)
            pool.detach(conn)
            self.pinned[node] = conn
            return pool, conn
        return self.pools.pool(node), conn

    def pin(self, node: str) -> None:
        """Keep the node's connection for the rest of the session, out of the pool (it does
        not count against the pool's bound)."""
        if node in self.pinned:
            return
        part = self.participants.get(node)
        if part is not None:
            self.pools.pool(node).detach(part.conn)
        self.pinned[node] = part.conn if part is not None else None
        if self.markers is not None:
            self.markers.is_ready(node)  # (its marker table made now: it decides, _choose_decider)
        if self.on_pin is not None:
            self.on_pin()

    def touch_temp(self, node: str) -> None:
        """The node's connection in this block made a temporary object that ends with the
        transaction (ON COMMIT DROP): if the block also writes elsewhere, its 2PC cannot
        PREPARE there (0A000), so that node decides in one phase, last, as the connection
        holding the session's temp tables does. Its marker table is made now."""
        self.temp_touched.add(node)
        if self.markers is not None:
            self.markers.is_ready(node)

    def holds_temp(self, node: str) -> bool:
        """Whether the node's connection has touched temporary objects: pinned for the
        session's temp tables, or `touch_temp` in this transaction."""
        return node in self.pinned or node in self.temp_touched

    def unpin(self, node: str) -> None:
        """Close a pinned connection (its temp tables go with it); one still in use by the
        transaction is closed when the transaction ends."""
        conn = self.pinned.pop(node, None)
        if conn is None:
            return
        part = self.participants.get(node)
        if part is not None and part.conn is conn:
            self.closing.append(conn)
            return
        conn.close()

    async def _open_block_late(self, conn: BackendConnection, node: str) -> None:
        """A node joined for a read outside a block (a DDL's catalog lookup) that is now to
        be written: the write goes inside a remote block, or it would commit on its own at
        once and 2PC would PREPARE nothing there."""
        await conn.settle()
        if conn.txn_status != b"I":
            return
        if self.gxid is None:
            self.gxid = await self.commit_log.next_gxid()
        instant = self._open_remote_block(conn, labeled=node not in self.local_nodes)
        part = self.participants.get(node)
        if part is not None and part.conn is conn:
            part.instant = instant

    def _open_remote_block(self, conn: BackendConnection, labeled: bool) -> str | None:
        """Open the transaction on the node, pipelined; the block's instant it was given
        (None: none, or a RESET ALL it replays removed it again)."""
        in_block = self.state is not TxnState.IDLE  # (self.in_block, read once)
        instant = self.xact_stamp if in_block and labeled and self.xact_stamp is not None else None
        given = instant
        if not in_block and labeled:
            # A transaction of one statement: the statement's instant, which the
            # coordinator pins its now() to, given too, for the trigger functions the
            # datanodes fire (sql/trigger_relation.py reads it there; h-trig24)
            given = self.time_pins().transaction or None
        if labeled and self.gxid is not None and not self.savepoints and not self.local_settings \
                and self.imported_snapshot is None:
            # The usual opening (BEGIN and the two labels, nothing replayed): its Query and
            # the node's answer built once per transaction, not once per node joining.
            key = (self.gxid, self.begin_sql if in_block else "BEGIN", given)
            opening = self._opening
            if opening is None or opening[0] != key:
                opening = self._opening = _build_opening(key, self.coordinator)
            conn.send_ahead_query(opening[1], opening[2])
            conn.txn_status = b"T"
            return None if self.instant_reset else instant
        sql = [self.begin_sql if in_block else "BEGIN"]
        # Catalog servers are not labeled: SHOW application_name is answered there.
        if self.gxid is not None and labeled:
            label = build_label(self.gxid, self.coordinator)
            sql.append(f"SET LOCAL application_name = {quote_literal(label)}")
        # The block's instant for statements that read it (sql/xact_time.py), before any
        # savepoint: no ROLLBACK TO undoes it. In the same message: no round trip.
        if given is not None:
            sql.append(f"SET LOCAL {xact_time.SETTING} = {quote_literal(given)}")
        done = 0
        imported = self.imported_snapshot.get(conn.node) if self.imported_snapshot is not None and in_block else None
        if imported is not None:  # (before any query, after the isolation it needs)
            sql.extend(self.local_settings[: self.imported_at])
            done = self.imported_at
            sql.append(f"SET TRANSACTION SNAPSHOT {quote_literal(imported)}")
        for savepoint in self.savepoints:
            sql.extend(self.local_settings[done : savepoint.settings_at])
            done = savepoint.settings_at
            sql.append(f"SAVEPOINT {quote_ident(savepoint.name)}")
            savepoint.nodes.add(conn.node)
        sql.extend(self.local_settings[done:])
        # Pipelined: the answer is swallowed by the connection's next read, saving a round trip.
        conn.send_ahead("; ".join(sql))
        conn.txn_status = b"T"
        return None if self.instant_reset else instant

    def mark_written(self, node: str, locks_rows: bool = True) -> None:
        """The node is written by a statement (`locks_rows`: one that may lock rows already
        there, an UPDATE, DELETE...; False: an INSERT, whose new rows nobody waits for)."""
        part = self.participants.get(node)
        if part is None:
            return
        self._writes += 1
        if not part.wrote:
            part.wrote = True
            part.write_order = self._writes
        if locks_rows:
            part.lock_order = self._writes

    @property
    def write_count(self) -> int:
        """How many writes statements marked in this transaction so far."""
        return self._writes

    def held_nodes(self) -> list[str]:
        return list(self.participants)

    # -- ending ------------------------------------------------------------------------

    async def commit(self) -> None:
        """Commit on every participant: plainly, or with 2PC when two or more wrote."""
        try:
            writers = [n for n, p in self.participants.items() if p.wrote]
            remote_open = [n for n, p in self.participants.items() if p.conn.txn_status != b"I"]
            if len(writers) >= 2:
                await self._commit_two_phase(writers)
                metrics.COMMIT_COUNTS.inc("two-phase")
            elif remote_open:
                await self._commit_one_phase(remote_open)
                metrics.COMMIT_COUNTS.inc("one-phase")
        except BaseException as exc:
            await self._commit_failed(exc)
            raise
        self._release_all()
        self._reset()

    async def _commit_failed(self, exc: BaseException) -> None:
        """A COMMIT that did not succeed: counted (its outcome unknown when its answer was
        lost), the transaction rolled back everywhere it still can be."""
        unknown = isinstance(exc, PgError) and exc.sqlstate == TRANSACTION_RESOLUTION_UNKNOWN
        metrics.COMMIT_COUNTS.inc("unknown" if unknown else "failed")
        await self.rollback()

    async def _commit_one_phase(self, nodes: list[str]) -> None:
        """COMMIT on every node with an open block (at most one of them wrote). A node's
        refusal is raised first (nothing was committed: the writer's refusal, or a reader's
        beside a writer that then is rolled back too); else a COMMIT whose answer was lost
        raises 08007 (`read_commit_answer`)."""

        async def commit_on(conn: BackendConnection) -> None:
            await conn.settle()
            conn.send(_COMMIT, 1)  # a connection known lost raises here: nothing was sent
            await read_commit_answer(conn)

        conns = [self.participants[n].conn for n in nodes]
        if len(conns) == 1:  # (no task to gather)
            await commit_on(conns[0])
            return
        results = await asyncio.gather(*(commit_on(c) for c in conns), return_exceptions=True)
        errors = [r for r in results if isinstance(r, BaseException)]
        if not errors:
            return
        unknown = [e for e in errors if isinstance(e, PgError) and e.sqlstate == TRANSACTION_RESOLUTION_UNKNOWN]
        first = next((e for e in errors if e not in unknown), unknown[0] if unknown else errors[0])
        raise first if isinstance(first, PgError) else PgError(CONNECTION_FAILURE, str(first))

    def one_phase_commit_now(self) -> BackendConnection | None:
        """`commit()`'s one-phase case where nothing needs waiting: exactly one participant
        with its remote block open and nothing owed or unread on it, every other one idle,
        clean and not written; that node's COMMIT sent (its answer goes to the caller's
        relay, then `finish_one_phase_commit`). None: nothing sent (`commit()` decides)."""
        if self.state is not TxnState.IN_BLOCK or self.tainted or self.pinned or self.closing:
            return None
        found: Participant | None = None
        for part in self.participants.values():
            if part.conn.txn_status != b"I":
                if found is not None:
                    return None
                found = part
            elif part.wrote or not part.conn.is_clean:
                return None
        if found is None or not found.conn.is_quiet:
            return None
        found.conn.send(_COMMIT, 1)
        return found.conn

    def finish_one_phase_commit(self) -> None:
        """The node answered COMMIT to `one_phase_commit_now`: the transaction is over."""
        metrics.COMMIT_COUNTS.inc("one-phase")
        self._release_all()
        self._reset()

    async def _commit_two_phase(self, writers: list[str]) -> None:
        if self.gxid is None:
            self.gxid = await self.commit_log.next_gxid()
        if self.markers is not None:
            for node in writers:
                if self.holds_temp(node) or node == self.loopback_node:  # (it decides: _choose_decider)
                    await self.markers.make_ready(node)
        for part in self.participants.values():
            if part.conn.txn_status != b"I" and part.conn.in_cycle:
                await part.conn.settle()  # an open extended cycle closed first
        await self._finish_two_phase(self._start_prepare(writers))

    def two_phase_commit_now(self) -> BackendConnection | None:
        """`commit()`'s two-phase case where its PREPARE round can start without waiting
        (from the callback that took the client's COMMIT, frontend/fast_cycle.py): two or
        more nodes written, every open remote block's connection with nothing owed or
        unread, a GXID taken, no tainted, pinned or closing connection. The round's
        requests written (the first writer's connection returned);
        `finish_two_phase_commit` does the rest. None: nothing sent."""
        if self.state is not TxnState.IN_BLOCK or self.tainted or self.pinned or self.closing \
                or self.temp_touched or self.gxid is None or self.loopback_node is not None:
            return None
        writers: list[str] = []
        for node, part in self.participants.items():
            if part.conn.txn_status != b"I":
                if not part.conn.is_quiet:
                    return None
            elif part.wrote or not part.conn.is_clean:
                return None
            if part.wrote:
                writers.append(node)
        if len(writers) < 2 or (self.markers is not None and any(
                n in self.pinned and not self.markers.is_ready(n) for n in writers)):
            return None  # (a pinned writer decides once its marker table is known: commit())
        self._prepare_round = self._start_prepare(writers)
        return self.participants[writers[0]].conn

    async def finish_two_phase_commit(self) -> None:
        """The rest of a commit whose PREPARE round `two_phase_commit_now` started: as
        `commit()` ends a two-phase one (rolled back, and raised, on failure)."""
        started, self._prepare_round = self._prepare_round, None
        assert started is not None
        driven, self._from_callbacks = self._from_callbacks, None
        try:
            await self._finish_two_phase(started, driven)
            metrics.COMMIT_COUNTS.inc("two-phase")
        except BaseException as exc:
            await self._commit_failed(exc)
            raise
        self._release_all()
        self._reset()

    def _start_prepare(self, writers: list[str]) -> _PrepareRound:
        """Write the PREPARE round: PREPARE TRANSACTION on every writer but the decider
        (`_choose_decider`: it commits in one phase once the others prepared), and COMMIT
        on every other open remote block (read-only participants skip PREPARE: they commit
        while the writers prepare). Nothing is awaited: the nodes work while the caller
        goes on."""
        decider = self._choose_decider(writers)
        if decider is None:
            gid = f"gridpg_{self.gxid}_{self.coordinator}"
        else:
            gid = marker.build_gid(self.gxid or 0, self.coordinator, decider)
            writers = [n for n in writers if n != decider]
        readers = [n for n, p in self.participants.items() if not p.wrote and p.conn.txn_status != b"I"]
        for node in writers:
            self.participants[node].state = RemoteState.PREPARING
        prepare = codec.build_query(f"PREPARE TRANSACTION {quote_literal(gid)}")
        requests = [(self.participants[n].conn, prepare) for n in writers]
        if decider is not None and self.deferrable():
            # The decider's deferred checks run now, beside the others' PREPAREs (which run
            # theirs): its commit, under the commit fence, then waits on no lock a reader
            # may hold, as COMMIT PREPARED does not (txn/fence.py). With no DEFERRABLE
            # constraint or trigger in the catalog there are none: no message.
            requests.append((self.participants[decider].conn, _IMMEDIATE))
        requests += [(self.participants[n].conn, _COMMIT) for n in readers]
        sent = _send_round(requests)
        # The commit fence is asked for now, not once the PREPAREs answered: its GTM round
        # trip overlaps theirs instead of lengthening the decider's row locks. (The GTM's
        # decision, without a decider, comes with its fence in one request later.)
        fence = self.commit_log.claim_commit_fence() if decider is not None and self._is_fenced() else None
        return _PrepareRound(gid, writers, requests, sent, decider, fence)

    def _is_fenced(self) -> bool:
        """Whether this transaction's COMMIT PREPARED round runs under the commit fence."""
        return self.consistency is None or self.consistency.is_cluster

    def _choose_decider(self, writers: list[str]) -> str | None:
        """The writer whose commit decides (txn/marker.py), or None (the GTM decides): a
        datanode whose marker table is there, whose commit waits as the node's own
        synchronous_commit says (a session's `off` or `local` could lose the decision
        while the others commit). Among them the one that took a row lock *last* (then the
        one first written last): the decider holds its locks across two durable steps (the
        others' PREPARE, its own commit), the others across three, and a transaction
        takes its hottest lock last as a rule (TPC-B: accounts, tellers, then the branch
        row every transaction of the branch updates; its history INSERT locks nothing)."""
        keeper = self.markers
        if self.gxid is None or not self.may_decide_by_marker():
            return None
        assert keeper is not None
        called_back = self.loopback_node
        if called_back is not None and called_back in writers:
            # Code called back through the loopback there and it wrote too (DDL): postgres_fdw's
            # remote transaction forbids its PREPARE, so it decides, in one phase, last. (Not a
            # session's `synchronous_commit = off` there: its PREPARE then fails, and the
            # transaction is rolled back with postgres_fdw's 0A000.)
            return called_back if self.may_decide(called_back) and keeper.is_ready(called_back) else None
        pinned = [n for n in writers if self.holds_temp(n)]
        if len(pinned) == 1 and self.may_decide(pinned[0]) and keeper.is_ready(pinned[0]):
            # The session's temp tables (or a materialized cursor's rows) live on that
            # (catalog server's) connection, and PostgreSQL refuses to PREPARE a transaction
            # that touched temporary objects (0A000): it decides, committing in one phase
            # once the others prepared. Else a block that used temp tables and ran DDL
            # failed at its COMMIT. (Not after the loopback: postgres_fdw's remote
            # transaction would end inside that commit.)
            return pinned[0]
        candidates = [n for n in writers if n not in self.local_nodes
                      and durable.session_setting(self.participants[n].conn.session_state) is None]
        ready = [n for n in candidates if keeper.is_ready(n)]  # (asks about each: makes them ready)
        if not ready:
            return None
        return max(ready, key=lambda n: (self.participants[n].lock_order, self.participants[n].write_order))

    def may_decide_by_marker(self) -> bool:
        """Whether a writer's commit with a marker may decide this transaction's 2PC: the
        markers are on, and no SET LOCAL synchronous_commit could lose the decision."""
        keeper = self.markers
        return keeper is not None and keeper.enabled \
            and not any(durable.SETTING in s.lower() for s in self.local_settings)

    def may_decide(self, node: str) -> bool:
        """`may_decide_by_marker`, and the session's own synchronous_commit on `node`'s
        connection waits for its commit to be durable."""
        part = self.participants.get(node)
        return self.may_decide_by_marker() and part is not None \
            and durable.session_setting(part.conn.session_state) is None

    def commit_from_callbacks(self, done: Callable[[], None], hand_back: Callable[[], None]) -> CallbackCommit | None:
        """The rest of the commit whose PREPARE round `two_phase_commit_now` wrote, run from
        the nodes' callbacks (`CallbackCommit`); None: the usual case it is not (the task
        runs `finish_two_phase_commit`)."""
        started = self._prepare_round
        if started is None:
            return None
        witness = self.witness
        if witness is not None and any(witness.is_async(n, self.participants[n].conn) for n in started.writers):
            return None  # (COMMIT PREPARED without waiting for the standbys: the task's rounds)
        driven = CallbackCommit(self, started, done, hand_back)
        if not driven.start():
            return None
        self._from_callbacks = driven
        return driven

    async def _go_on_from(self, driven: CallbackCommit) -> None:
        """The rest of a commit its callbacks drove up to `driven.step` (every PREPARE
        answered as expected): the task goes on from there."""
        started = driven.started
        gid, writers, decider = started.gid, started.writers, started.decider
        assert decider is not None
        fenced = self._is_fenced()
        if driven.step == DECIDING:
            await self._commit_by_marker(gid, decider, writers, fenced, started.fence)
        elif driven.step == DECIDE_SENT:
            await self._commit_by_marker(gid, decider, writers, fenced, started.fence, decide_sent=True)
        elif driven.step == DECIDED:
            await self._commit_prepared_round(gid, writers, fenced, started.fence)
        else:  # COMMIT PREPARED written
            await self._commit_prepared_round(gid, writers, fenced, started.fence,
                                              written=(driven.requests, driven.sent))

    async def _finish_two_phase(self, started: _PrepareRound, driven: CallbackCommit | None = None) -> None:
        """The commit after its PREPARE round was written: from the round's answers, or from
        the step `driven`'s callbacks reached."""
        try:
            if driven is None or driven.step == PREPARING:
                await self._finish_prepared(started)
            else:
                await self._go_on_from(driven)
        finally:
            if started.fence is not None:  # (given back by its round already, if it ran)
                self.commit_log.drop_commit_fence(started.fence)

    async def _finish_prepared(self, started: _PrepareRound) -> None:
        gid, writers = started.gid, started.writers
        results = await self._read_prepare_round(started)
        failed = [r for r in results if r is not None]
        results = results[: len(writers)]
        for node, result in zip(writers, results):
            if result is None:
                self.participants[node].state = RemoteState.PREPARED
        if failed:
            # Nothing was decided: every node that prepared rolls back (the decider's
            # block, not prepared, is rolled back with the transaction).
            prepared = [n for n in writers if self.participants[n].state is RemoteState.PREPARED]
            unfinished = await self._run_collecting(prepared, f"ROLLBACK PREPARED {quote_literal(gid)}")
            for node in prepared:
                self.participants[node].state = RemoteState.ABORTING
            # A node whose connection was lost during PREPARE (or the ROLLBACK PREPARED) may
            # hold the transaction prepared: its PREPARE record can have reached the standby
            # a failover then promotes. Roll it back there in the background, or its locks
            # would block the group's writers until recovery finds it in doubt.
            unfinished += [n for n, r in zip(writers, results) if r is not None
                           and self.participants[n].conn.is_closed]
            if unfinished:
                asyncio.ensure_future(self._finish(gid, unfinished, commit=False))
            first = failed[0]
            raise first if isinstance(first, PgError) else PgError(CONNECTION_FAILURE, str(first))
        fenced = self._is_fenced()
        if started.decider is not None:
            await self._commit_by_marker(gid, started.decider, writers, fenced, started.fence)
            return
        held = await self._log_decision(gid, writers, fenced)
        await self._commit_prepared_round(gid, writers, fenced, held)

    async def _read_prepare_round(self, started: _PrepareRound) -> list[BaseException | None]:
        """The PREPARE round's answers; a commit fence claimed beside it is given back when
        they take longer than EARLY_FENCE_SECONDS (`commit_fenced` then asks again)."""
        if started.fence is None:
            return await _read_round(started.requests, started.sent)
        timer = asyncio.get_running_loop().call_later(
            EARLY_FENCE_SECONDS, self.commit_log.drop_commit_fence, started.fence)
        try:
            return await _read_round(started.requests, started.sent)
        finally:
            timer.cancel()

    async def _commit_by_marker(self, gid: str, decider: str, writers: list[str], fenced: bool,
                                claim: object = None, decide_sent: bool = False) -> None:
        """The decision is the decider's commit with the GID's marker (txn/marker.py); the
        commit fence (the one `claim`ed beside the PREPAREs, or one taken now) is held from
        before it until every COMMIT PREPARED answered, so no fenced snapshot sees the
        transaction on the decider and not on the others. A fence that cannot be had
        decides nothing: the transaction is rolled back."""
        from gridpg.gtm.protocol import GtmError, GtmUnavailable

        decided = False

        async def decide() -> None:
            nonlocal decided
            await self._decide(gid, decider, writers, decide_sent)
            decided = True

        try:
            await self._commit_prepared_round(gid, writers, fenced, claim, decide)
        except (GtmError, GtmUnavailable, OSError) as exc:
            if decided:
                raise
            await self._abort_prepared(gid, writers)
            raise PgError(CONNECTION_FAILURE, f"could not take the GTM's commit fence: {exc}",
                          detail="the transaction was rolled back") from None

    async def _decide(self, gid: str, decider: str, writers: list[str], sent: bool = False) -> None:
        """The decider's commit with the marker (`sent`: written already, from a callback:
        only its answer is read here). Refused (recovery's abort marker came first, a
        deferred constraint): the others roll back too. Its answer lost after it was sent:
        the outcome is unknown here (08007); the marker decides, looked up in the
        background as recovery would (`_resolve_later`)."""
        part = self.participants[decider]
        part.state = RemoteState.COMMITTING
        conn = part.conn
        if not sent:
            try:
                conn.send_command(marker.decide_request(gid), marker.DECIDED)
            except PgError:  # the connection was known lost: nothing was sent, nothing decided
                await self._abort_prepared(gid, writers)
                raise
        try:
            await conn.read_command(marker.DECIDED)
        except PgError as exc:
            if conn.is_closed:
                asyncio.ensure_future(self._resolve_later(gid, decider, writers))
                error = outcome_unknown(f"node {decider}", exc)
                error.hint = "in-doubt recovery decides its outcome from the commit marker on that node"
                raise error from None
            if exc.sqlstate == UNDEFINED_TABLE and self.markers is not None:
                self.markers.forget_node(decider)
            await self._abort_prepared(gid, writers)
            if marker.is_marker_conflict(exc):  # recovery's abort marker came first
                raise PgError(TRANSACTION_ROLLBACK, f"transaction {gid} was rolled back by in-doubt recovery",
                              detail="its commit took longer than the in-doubt bound") from None
            raise

    async def _abort_prepared(self, gid: str, writers: list[str]) -> None:
        """ROLLBACK PREPARED on every prepared writer; one that does not confirm is rolled
        back in the background (`_finish`)."""
        unfinished = await self._run_collecting(writers, f"ROLLBACK PREPARED {quote_literal(gid)}")
        for node in writers:
            self.participants[node].state = RemoteState.ABORTING
        if unfinished:
            asyncio.ensure_future(self._finish(gid, unfinished, commit=False))

    async def _resolve_later(self, gid: str, decider: str, writers: list[str]) -> None:
        """After the decider's answer was lost: decide by its marker, as recovery does
        (an abort marker if none), and finish the prepared writers accordingly."""
        assert self.markers is not None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + FINISH_COMMIT_SECONDS
        while True:
            await asyncio.sleep(1.0)
            try:
                committed = await self.markers.decide(decider, gid)
                break
            except (PgError, OSError) as exc:
                if loop.time() >= deadline:
                    log.error("%s: no decision on %s (%s); recovery will decide", gid, decider, exc)
                    return
        await self._finish(gid, writers, commit=committed)

    async def _commit_prepared_round(self, gid: str, writers: list[str], fenced: bool, held: object,
                                     decide: Callable[[], Awaitable[None]] | None = None,
                                     written: tuple[list[tuple[BackendConnection, bytes]],
                                                    list[BaseException | None]] | None = None) -> None:
        """COMMIT PREPARED on every prepared writer (under the commit fence when `fenced`:
        the one `held`, else one taken here), after `decide` (the decider's commit) when
        given; then the decision forgotten, or kept until a witness or `_finish` is done.
        `written`: the round was written already, from a callback (its requests and what
        each send raised); only its answers are read here."""
        unfinished: list[str] = []
        sql = _commit_prepared_query(gid)
        requests = written[0] if written is not None else \
            [(self.participants[n].conn, self._commit_prepared_request(n, sql)) for n in writers]
        if written is not None:
            sql = requests[0][1]  # (the callback writes the plain form only)
        asynchronous: list[NodeAddress] = []  # servers that committed it asynchronously

        async def commit_prepared() -> None:
            if decide is not None:
                await decide()
            for node in writers:
                self.participants[node].state = RemoteState.COMMITTING
            sent = _send_round(requests) if written is None else written[1]
            results: list[BaseException | None] = []
            for (conn, request), outcome in zip(requests, sent):
                if outcome is None:
                    outcome = await (durable.read_async_commit(conn) if request is not sql
                                     else _read_answer(conn, request))
                    if outcome is None and request is not sql:
                        asynchronous.append(conn.address)
                results.append(outcome)
            unfinished.extend(n for n, r in zip(writers, results) if r is not None)

        if fenced:
            await self.commit_log.commit_fenced(commit_prepared, held)
        else:  # gridpg.consistency = node: this transaction's commit is not fenced
            await commit_prepared()
        if unfinished:
            # The transaction is committed (the decision is logged); a node that did not
            # confirm COMMIT PREPARED (lost, failing over) still holds it prepared, with
            # its locks: finish it there in the background, reaching the node's primary of
            # the moment (a failover's new one). The decision is kept until then, so
            # recovery can still commit it if this coordinator dies first.
            log.warning("%s: COMMIT PREPARED unconfirmed on %s; retrying", gid, ", ".join(unfinished))
            metrics.COMMIT_COUNTS.inc("two-phase-unconfirmed")
            # A node that committed asynchronously may still bring the GID back prepared:
            # its decision is then left for recovery to forget (never forgotten here).
            sent_async = any(request is not sql for _, request in requests)
            asyncio.ensure_future(self._finish(gid, unfinished, commit=True, forget=not sent_async))
            return
        if asynchronous and self.witness is not None:
            # Forgotten once each of those servers witnessed its commit durable (txn/durable.py).
            self.witness.hold(gid, asynchronous)
            return
        # Forgetting the decision needs no wait: every node confirmed durably.
        self.forget_decision(gid)

    def forget_decision(self, gid: str) -> None:
        """Every node committed `gid` durably: its decision goes (the GTM's log entry, or
        the decider's marker)."""
        parsed = marker.parse_gid(gid)
        if parsed is not None and self.markers is not None:
            self.markers.delete_soon(parsed.decider, gid)
        else:
            self.commit_log.forget_soon(gid)

    def _commit_prepared_request(self, node: str, sql: bytes) -> bytes:
        """The COMMIT PREPARED round's bytes for one writer: `sql` itself, or, on a group
        with standbys, the asynchronous form (txn/durable.py): the row locks go without
        waiting for a standby, the decision kept until a witness shows it there."""
        if self.witness is None or not self.witness.is_async(node, self.participants[node].conn):
            return sql
        return durable.async_commit_request(sql)

    async def _finish(self, gid: str, nodes: list[str], commit: bool, forget: bool = True) -> None:
        """COMMIT PREPARED (or ROLLBACK PREPARED) on `nodes` until each confirms or no longer
        has it, reaching each node's primary of the moment; a finished commit's decision is
        then forgotten (`forget`). Given up after FINISH_COMMIT_SECONDS: recovery finishes
        it then."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + FINISH_COMMIT_SECONDS
        pending = list(nodes)
        verb = "COMMIT PREPARED" if commit else "ROLLBACK PREPARED"
        while pending and loop.time() < deadline:
            await asyncio.sleep(1.0)
            for node in list(pending):
                if await self._finish_on(node, f"{verb} {quote_literal(gid)}"):
                    pending.remove(node)
        if pending:
            log.error("%s: still prepared on %s; recovery will %s it", gid, ", ".join(pending),
                      "commit" if commit else "roll back")
            return
        if commit and forget:
            await self._forget(gid)

    async def _finish_on(self, node: str, sql: str) -> bool:
        """Whether `sql` (COMMIT/ROLLBACK PREPARED) is done on the node's current primary."""
        pool = self.pools.pool(node)
        try:
            conn = await pool.acquire()
        except PgError:
            return False
        try:
            await conn.simple_query(sql)
            return True
        except PgError as exc:
            return exc.sqlstate == UNDEFINED_OBJECT  # no longer prepared there: done
        finally:
            pool.release(conn)

    async def prepare_user(self, node_gid: str) -> list[str]:
        """PREPARE TRANSACTION on every node with an open block (the client's own 2PC): all
        prepared, or none (those that did are rolled back, the others too). Ends the
        transaction; returns the nodes that hold it."""
        nodes = [n for n, p in self.participants.items() if p.conn.txn_status != b"I"]
        prepare = f"PREPARE TRANSACTION {quote_literal(node_gid)}"
        results = await asyncio.gather(*(self.participants[n].conn.simple_query(prepare) for n in nodes),
                                       return_exceptions=True)
        failed = [r for r in results if isinstance(r, BaseException)]
        for node, result in zip(nodes, results, strict=True):
            if not isinstance(result, BaseException):
                self.participants[node].state = RemoteState.PREPARED
        if failed:
            prepared = [n for n in nodes if self.participants[n].state is RemoteState.PREPARED]
            await self._run_everywhere(prepared, f"ROLLBACK PREPARED {quote_literal(node_gid)}", swallow=True)
            for node in prepared:
                self.participants[node].state = RemoteState.ABORTING
            await self.rollback()
            first = failed[0]
            raise first if isinstance(first, PgError) else PgError(CONNECTION_FAILURE, str(first))
        self._release_all()
        self._reset()
        return nodes

    async def _log_decision(self, gid: str, writers: list[str], fenced: bool) -> object:
        """Log the commit decision (`fenced`: and take the commit fence in the same GTM
        request; its handle is returned). Refused (recovery already rolled the GID back):
        roll back here too. Unreachable GTM: the outcome is unknown here, the prepared
        transactions stay for recovery, which commits them only if the log has them."""
        from gridpg.gtm.protocol import GtmError, GtmUnavailable

        try:
            if fenced:
                return await self.commit_log.log_commit_fenced(gid, writers)
            await self.commit_log.log_commit(gid, writers)
            return None
        except GtmError as exc:
            await self._run_everywhere(writers, f"ROLLBACK PREPARED {quote_literal(gid)}", swallow=True)
            for node in writers:
                self.participants[node].state = RemoteState.ABORTING
            raise PgError(exc.code, exc.message) from None
        except (GtmUnavailable, OSError) as exc:
            # The request may have reached the GTM and been logged: the outcome is unknown
            # here; the prepared transactions stay for recovery, which decides by the log.
            error = outcome_unknown("the GTM", f"could not log the commit decision of {gid}: {exc}")
            error.hint = "in-doubt recovery decides its outcome from the GTM's log"
            raise error from None

    async def _forget(self, gid: str) -> None:
        if marker.parse_gid(gid) is not None and self.markers is not None:
            self.forget_decision(gid)
            return
        try:
            await self.commit_log.forget(gid)
        except Exception:  # noqa: BLE001 - recovery cleans up decisions left behind
            pass

    async def rollback(self) -> None:
        """Roll back everywhere; connections that cannot be cleaned are discarded."""
        open_nodes = [
            n for n, p in self.participants.items()
            if not p.conn.is_closed and p.conn.txn_status != b"I"
            and p.state not in (RemoteState.PREPARED, RemoteState.ABORTING)
        ]
        if open_nodes:
            try:
                await self._run_everywhere(open_nodes, "ROLLBACK", swallow=True)
            except PgError:
                pass
        self._release_all()
        self._reset()

    async def abort_remote(self, skip: set[str]) -> None:
        """Roll back the remote blocks at once (a deadlock victim frees its locks on every
        node, as with PostgreSQL's own detector); the session's block stays failed until the
        client's ROLLBACK. Not with savepoints: ROLLBACK TO must still find them."""
        if self.savepoints:
            return
        nodes = [
            n for n, p in self.participants.items()
            if n not in skip and p.conn.is_clean and p.conn.txn_status != b"I"
            and p.state is RemoteState.STARTED
        ]
        if nodes:
            await self._run_everywhere(nodes, "ROLLBACK", swallow=True)

    def release_if_idle(self) -> None:
        """Outside a block, give back connections whose node finished its work."""
        if self.state is not TxnState.IDLE:  # (self.in_block)
            return
        if not self.participants:  # (one statement run alone: nothing joined)
            self.tainted = False
            return
        for node, part in list(self.participants.items()):
            self._release_idle(node, part)
        if not self.participants:
            self.tainted = False

    def release_lookup(self, node: str, held: bool) -> None:
        """After a lookup on `node` outside a block (a describe, a catalog query): its
        connection back when the lookup joined the node for itself (`held` False). Not
        `release_if_idle`: the statement under way may hold other idle connections it is
        about to use (two_phase's catalog connection, taken before the describe of its
        parameters), and one given back would be taken by the next user of the pool (the
        coordinator's own lookups reset it to default settings) while the statement still
        sends on it."""
        if held or self.in_block:
            return
        part = self.participants.get(node)
        if part is not None:
            self._release_idle(node, part)
        if not self.participants:
            self.tainted = False

    def _release_idle(self, node: str, part: Participant) -> None:
        if part.conn.is_closed:  # lost (a node restarted or failed over): never reused
            if part.conn in self.closing:
                self.closing.remove(part.conn)
            elif node not in self.pinned:  # a pinned one reports the loss at its next use
                self.pools.pool(node).discard(part.conn)
            del self.participants[node]
        elif part.conn.txn_status == b"I" and part.conn.is_clean:
            if part.conn in self.closing:
                self.closing.remove(part.conn)
                part.conn.close()
            elif node not in self.pinned:
                self._give_back(node, part.conn)
            elif self.tainted:
                part.conn.session_state = None  # pinned: the session's next setup resets it
            del self.participants[node]

    def close_orphans(self) -> None:
        """At the end of a statement outside a block (its client's Sync read too), after
        `release_if_idle`: a participant that is idle on its node but still has answers
        owed or unread belongs to no statement any more (one that failed before reading
        them): closed, never read by the session's next statement as its own answer."""
        if self.in_block:
            return
        for node, part in list(self.participants.items()):
            conn = part.conn
            if node in self.pinned or conn.is_clean or conn.in_cycle or conn.txn_status != b"I":
                continue
            self.pools.pool(node).discard(conn)
            del self.participants[node]

    async def _run_everywhere(self, nodes: list[str], sql: str, swallow: bool = False) -> None:
        conns = [self.participants[n].conn for n in nodes]
        if len(conns) == 1:  # one node (a single-node COMMIT): no task to gather
            try:
                results: list[object] = [await conns[0].simple_query(sql)]
            except Exception as exc:  # noqa: BLE001 - as gather(return_exceptions=True)
                results = [exc]
        else:
            results = await asyncio.gather(*(c.simple_query(sql) for c in conns), return_exceptions=True)
        errors = [r for r in results if isinstance(r, BaseException)]
        if errors and not swallow:
            first = errors[0]
            if isinstance(first, PgError):
                raise first
            raise PgError(CONNECTION_FAILURE, str(first))

    async def _run_collecting(self, nodes: list[str], sql: str) -> list[str]:
        """Run `sql` on every node at once; the nodes where it failed."""
        conns = [self.participants[n].conn for n in nodes]
        results = await asyncio.gather(*(c.simple_query(sql) for c in conns), return_exceptions=True)
        return [n for n, r in zip(nodes, results) if isinstance(r, BaseException)]

    def taint(self) -> None:
        """The held connections (and those joining) may carry session state nobody
        recorded: when given back they are closed instead of pooled."""
        self.tainted = True

    def _give_back(self, node: str, conn: BackendConnection) -> None:
        if self.tainted:
            conn.session_state = None
        self.pools.pool(node).release(conn)

    def _release_all(self) -> None:
        for node, part in self.participants.items():
            if node in self.pinned or part.conn in self.closing:
                if self.tainted:
                    part.conn.session_state = None  # the session's next setup resets it
                if not part.conn.is_clean or part.conn in self.closing:
                    # Closed; still pinned, its next use says the temp tables are lost.
                    part.conn.close()
                continue
            self._give_back(node, part.conn)
        self.closing.clear()
        self.participants.clear()
        self.tainted = False

    def _reset(self) -> None:
        self._writes = 0
        self.temp_touched.clear()
        self.block_types.clear()
        self.block_relations.clear()
        if self.gxid is not None:
            self.last_gxid, self.gxid = self.gxid, None
        self.state = TxnState.IDLE
        self.begin_sql = "BEGIN"
        self.xact_stamp = None
        self.statement_pins = None  # (the next transaction's statement takes its own)
        self.instant_reset = False
        self.isolation = None
        self.moved_since = None
        self.shard_writes.clear()
        self.cluster_snapshot = False
        self.loopback_node = None
        if self.consistency is not None:
            self.consistency.local.clear()
        self.savepoints.clear()
        self.local_settings.clear()
        self.imported_snapshot = None
        self.imported_at = 0
        self._prepare_round = None
        self._from_callbacks = None

    # -- savepoints --------------------------------------------------------------------

    async def savepoint(self, name: str, skip: frozenset[str] = frozenset()) -> None:
        """SAVEPOINT on every node held (but `skip`: a connection busy elsewhere, the
        catalog server running the code a loopback serves)."""
        nodes = [n for n in self.participants if n not in skip]
        for node in nodes:  # one still outside the block since before BEGIN (`connection`)
            conn = self.participants[node].conn
            if conn.txn_status == b"I" and self.state is not TxnState.IDLE and node not in self.outside_block:
                await self._open_block_late(conn, node)
        sp = Savepoint(name, set(nodes), len(self.local_settings))
        await self._run_everywhere(nodes, f"SAVEPOINT {quote_ident(name)}")
        self.savepoints.append(sp)

    async def rollback_to(self, name: str, skip: frozenset[str] = frozenset()) -> None:
        index = self._find_savepoint(name)
        nodes = [n for n in self.participants if n in self.savepoints[index].nodes and n not in skip]
        await self._run_everywhere(nodes, f"ROLLBACK TO SAVEPOINT {quote_ident(name)}")
        del self.local_settings[self.savepoints[index].settings_at :]
        del self.savepoints[index + 1 :]
        if self.state is TxnState.FAILED:
            self.state = TxnState.IN_BLOCK

    async def release(self, name: str, skip: frozenset[str] = frozenset()) -> None:
        index = self._find_savepoint(name)
        nodes = [n for n in self.participants if n in self.savepoints[index].nodes and n not in skip]
        await self._run_everywhere(nodes, f"RELEASE SAVEPOINT {quote_ident(name)}")
        del self.savepoints[index:]

    def _find_savepoint(self, name: str) -> int:
        for index in range(len(self.savepoints) - 1, -1, -1):
            if self.savepoints[index].name == name:
                return index
        raise PgError("3B001", f'savepoint "{name}" does not exist')

    async def set_local(self, sql: str) -> None:
        self.local_settings.append(sql)
        await self._run_everywhere(list(self.participants), sql)

