"""What each statement does for one session: the seam between protocol and planner.

`StatementRunner` splits query strings, keeps PostgreSQL's implicit-transaction rules,
handles transaction control and session settings itself, answers Describe from the
catalog server, and hands every other statement to the executor's dispatcher with a
`Target` to write into. It holds the session's `DistributedTransaction`.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from gridpg import metrics
from gridpg.catalog import store
from gridpg.catalog.model import CatalogSnapshot
from gridpg.commands import (
    citus_views,
    databases,
    dump_view,
    index_upkeep,
    internal_view,
    sequences,
    server_config,
    sizes,
    stat_activity,
    table_stats,
)
from gridpg.datanode.connection import BackendConnection
from gridpg.errors import (
    ACTIVE_SQL_TRANSACTION,
    DEADLOCK_DETECTED,
    FEATURE_NOT_SUPPORTED,
    NO_ACTIVE_SQL_TRANSACTION,
    OBJECT_NOT_IN_PREREQUISITE_STATE,
    PROTOCOL_VIOLATION,
    QUERY_CANCELED,
    TRANSACTION_RESOLUTION_UNKNOWN,
    PgError,
    cached_plan_changed,
    stack_depth_exceeded,
)
from gridpg.executor import (
    conflict_params,
    large_objects,
    oid_results,
    relay,
    routed,
    server_settings,
    stream_cursor,
    tableoid_oids,
    update_volatile,
)
from gridpg.executor.dispatch import Dispatcher, ExecRequest
from gridpg.executor.multi import BufferedRows, NodePortals
from gridpg.executor.prepared import sync_cycles
from gridpg.executor.routed import (
    NOT_ROUTED,
    RoutedStatement,
    ShardTexts,
    build_routed,
    literal_types,
)
from gridpg.executor.shard_hold import wrote_held
from gridpg.frontend import notify, portal_moves, readonly, session_commands, shard_gate
from gridpg.frontend.notify import SessionNotify
from gridpg.frontend.session_settings import (
    SessionSettings,
    canonical_datestyle,
    check_client_encoding,
    timeout_ms,
)
from gridpg.frontend.temps import SessionTemps
from gridpg.gtm.protocol import GtmError, GtmUnavailable
from gridpg.pgwire import codec
from gridpg.planner import sizes as plan_sizes
from gridpg.planner import stat_activity as plan_activity
from gridpg.planner.text import learn_template, literal_start, match_template, normalize_literals
from gridpg.sql import (
    connection_values,
    escape_strings,
    long_names,
    positions,
    schema_elements,
    xact_time,
)
from gridpg.sql import parse as sqlparse
from gridpg.sql.xl import parse_xl_command
from gridpg.txn import exported, prepared
from gridpg.txn.snapshot import SessionConsistency, check_setting
from gridpg.txn.transaction import DistributedTransaction, TxnState, read_commit_answer

if TYPE_CHECKING:
    from gridpg.executor.shard_hold import ShardHold
    from gridpg.frontend.coordinator import Coordinator
    from gridpg.frontend.fast_cycle import FastCycle
    from gridpg.frontend.session import Portal, PreparedStatement, Session
    from gridpg.planner.context import CatalogView, SessionView
    from gridpg.planner.router import RouterSpec

log = logging.getLogger("gridpg.statements")

# Every routed cycle whose stamp says "valid" checked again in full, a stale stamp raised
# (the test suites run with it; a missed invalidation would be a silent wrong answer).
CHECK_STAMPS = os.environ.get("GRIDPG_CHECK_STAMPS") == "1"

# Settings the coordinator keeps for itself as well as forwarding.
# A statement longer than this (characters) takes the general path, never a routed fast path.
_ROUTED_LIMIT = 65536
REPORTED = ("application_name", "DateStyle", "TimeZone", "IntervalStyle", "search_path",
            "client_encoding", "standard_conforming_strings", "is_superuser",
            "session_authorization", "default_transaction_read_only", "in_hot_standby",
            "integer_datetimes", "server_encoding", "server_version", "scram_iterations")

# Role and database settings a login does not take from pg_db_role_setting: the encoding
# is UTF8 (gridpg speaks no other); role and authorization are the session model's own.
_NOT_FROM_ROLE_SETTINGS = frozenset({"client_encoding", "role", "session_authorization"})


def _split_options(options: str) -> list[str]:
    """The startup packet's `options` split at whitespace, a backslash taking the next
    character as it is (PostgreSQL's pg_split_opts: `-c default_transaction_isolation=
    repeatable\\ read` is one value)."""
    parts: list[str] = []
    current: list[str] | None = None
    chars = iter(options)
    for char in chars:
        if char.isspace():
            if current is not None:
                parts.append("".join(current))
                current = None
            continue
        if char == "\\":
            char = next(chars, "")
        if current is None:
            current = []
        current.append(char)
    if current is not None:
        parts.append("".join(current))
    return parts


# Whether the catalog server's block reached the cluster through the loopback (then it
# cannot PREPARE); a call that stopped at its first DDL (executor/code_ddl.py) did not.
_LOOPBACK_USED_SQL = "SELECT EXISTS (SELECT FROM gridpg.postgres_fdw_get_connections() WHERE used_in_xact)"


# A statement that may write rows (and so fire triggers): its first keyword.
_WRITES = re.compile(r"\s*(\(\s*)*(WITH|INSERT|UPDATE|DELETE|MERGE|COPY)\b", re.IGNORECASE)

class StatementRunner:
    """Runs the statements of one session."""

    def __init__(self, coordinator: Coordinator, session: Session) -> None:
        self.coord = coordinator
        self.session = session
        # The routed cycles' validity stamp (`cycle_route`): bumped by every change of what
        # they depend on in this session; `cycle_generation` is the coordinator's
        # `cycle_generation` it was last checked against.
        self.cycle_stamp = 1
        self.cycle_generation = -1
        # Session-level settings, role and authorization, replayed on each connection.
        self.state = SessionSettings(login=session.info.user, on_change=self.invalidate_cycles)
        self.txn = DistributedTransaction(
            coordinator.pools, coordinator.commit_log, coordinator.name, self._setup_connection
        )
        self.txn.on_pin = self.invalidate_cycles
        self.txn.accepts = lambda conn: self.state.accepts(conn)
        # Simple-protocol routes by literal-free text: ((snapshot, settings generation), route).
        self._simple_routes: dict[str, tuple[tuple[object, int], object]] = {}
        self.txn.local_nodes = {coordinator.catalog_node, *(a.name for a in coordinator.other_catalogs)}
        self.txn.switch_count = lambda: coordinator.pause_gate.switches
        self.txn.deferrable = lambda: self.snapshot().deferrable
        self.txn.witness = coordinator.commit_witness
        self.txn.markers = coordinator.commit_markers
        self.txn.consistency = SessionConsistency(
            coordinator.gtm, lambda: self.state.values, lambda: list(coordinator.datanode_addresses))
        self.implicit_block = False
        # An implicit block an extended-protocol pipeline opened (`begin_pipeline_block`):
        # its statements commit or roll back together at the client's Sync.
        self.pipeline_block = False
        self.pending_sync: dict[str, BackendConnection] = {}
        self.presynced: set[str] = set()  # nodes already sent their Sync with the Execute
        self.dispatcher = Dispatcher(coordinator, self)
        self.ddl_in_block = False
        # every DDL of the block so far changed nothing a coordinator caches (TRUNCATE):
        # its COMMIT reloads no coordinator (commands/ddl.DdlRunner.finish)
        self.ddl_in_block_quiet = False
        self._private_snapshot: CatalogSnapshot | None = None
        self.private_views: dict[tuple[str, str], str] = {}  # with the private snapshot
        self.private_rules: dict[tuple[str, str], Any] = {}
        self.rule_depth = 0  # writes expanded by rules, nested (executor/rules.py)
        self.sequence_values: dict[str, int] = {}  # currval() per sequence, this session
        self.temps = SessionTemps(self)
        self.notify = SessionNotify(self)
        self.cycle_failed = False  # a message of this extended-protocol cycle failed
        self.last_sequence: str | None = None  # the sequence lastval() reads
        self.sequence_ddl: list[sequences.SequenceDdl] = []  # GTM changes waiting for COMMIT
        # Work the block's DDL left for just before its COMMIT (commands/retype.py)
        self.before_commit: list[Callable[[], Awaitable[None]]] = []
        # Sequences created in the open transaction: the catalog server's until COMMIT.
        self.local_sequences: set[str] = set()
        # Sequences ALTERed without RESTART in the open block: the GTM takes the change at
        # COMMIT, so values of theirs are refused until then (commands/sequences.next_values)
        self.altered_sequences: set[str] = set()
        self.renamed_sequences: dict[str, str] = {}  # renamed in the open block: new -> GTM's name
        self._running = 0  # statements past the pause gate and not yet finished
        self.waiting_for_pause = False
        self.waiting_for_hold = False  # held by an online move's switch (executor/shard_hold.py)
        self.current_sql: str | None = None  # the statement running, for a shard hold's drain
        self.last_query = ""  # for gridpg_stat_activity
        self.query_text = ""  # the whole query string of the last simple Query message
        self.cursor_texts: dict[str, str] = {}  # cursor gridpg declared -> the client's text
        # cursors declared on the datanodes, fetched as the client asks (executor/stream_cursor.py)
        self.stream_cursors: dict[str, stream_cursor.StreamCursor] = {}
        self.query_start: float | None = None
        self.xact_start: float | None = None
        self.loopback_token: str | None = None  # while server-side code may call back
        self.loopback_calls = 0  # statements running with the loopback armed
        # a FETCH of a cursor that armed code opened (executor/run.py); the transaction's
        # write count when the last armed call ended: a remote cursor first declared in
        # such a FETCH after later writes would see them (frontend/loopback.py refuses it)
        self.loopback_fetching = False
        self.loopback_call_writes = 0
        self.firing_depth = 0  # levels of triggers the coordinator is firing (executor/triggers.py)
        self.call_ends_transactions = False  # a CALL/DO outside a block: its COMMIT ends ours
        self.call_transactions_ended = 0  # COMMIT/ROLLBACKs such calls ran (executor/code_ddl.py)
        self.call_commits = 0  # the COMMITs among them
        self.sequence_echo: Any = None  # code_ddl.SequenceEcho while code may run twice
        self.loopback_writes = 0  # statements that wrote through this session's loopback
        self.loopback_role: str | None = None  # SECURITY DEFINER code's owner, while it runs
        self.loopback_switched: set[str] = set()  # nodes where the loopback set that role
        self.lifted_rights = False  # a plan reading views' tables with the owners' rights runs
        self.is_loopback = False  # this runner serves a loopback connection
        self.side_catalog_active = False  # scratch tables on a side catalog connection (executor/scratch.py)
        # temp views this session made over distributed tables (executor/temp_views.py):
        # server-side code reading one is refused (executor/routines.py)
        self.temp_views_over_distributed: set[str] = set()
        self.catalog_aside = False  # inside scratch.side_catalog: scratch tables shaped on a datanode
        self.side_catalog_read_only = False
        # A cancel request came for the running statement: work the coordinator does itself
        # (rows it routes) stops at its next `check_interrupts`; reset when a statement starts.
        self.cancel_pending = False
        # Connections the running statement uses beside its transaction's participants
        # (a catalog connection streaming rows): a cancel request reaches them too.
        self.side_connections: set[BackendConnection] = set()

    @property
    def state_name(self) -> str:
        """The session's state as pg_stat_activity names it."""
        if self._running:
            return "active"
        if self.txn.state is TxnState.FAILED:
            return "idle in transaction (aborted)"
        return "idle in transaction" if self.txn.in_block else "idle"

    def note_routed_statement(self, sql: str, alone: bool) -> None:
        """What pg_stat_activity shows of a statement: its text and start, and the
        transaction's start when it runs alone or is a BEGIN (all of `_note_statement`
        that the fast paths need)."""
        now = time.time()
        self.last_query, self.query_start = sql, now
        if alone:
            self.xact_start = now

    def _note_statement(self, sql: str) -> None:
        self.cancel_pending = False
        self.note_routed_statement(sql[:1000], not self.txn.in_block)
        self.query_text = sql  # the whole query string (pg_prepared_statements shows it)

    def check_interrupts(self) -> None:
        """Raise PostgreSQL's 57014 when the running statement was cancelled (a cancel
        request, the client gone) or has run longer than the session's statement_timeout:
        for loops the coordinator runs itself, which no node's timer or cancel reaches.
        (A SET LOCAL statement_timeout is the nodes' to enforce: it reaches every node of
        the block; here only the session's value, which ROLLBACK TO keeps exact.)"""
        if self.cancel_pending:
            raise PgError(QUERY_CANCELED, "canceling statement due to user request")
        limit = timeout_ms(self.state.values.get("statement_timeout"))
        if limit and self.query_start is not None and (time.time() - self.query_start) * 1000 >= limit:
            raise PgError(QUERY_CANCELED, "canceling statement due to statement timeout")

    @property
    def is_running(self) -> bool:
        """A statement is past the pause gate and not finished."""
        return bool(self._running)

    @property
    def busy(self) -> bool:
        """In a transaction: PAUSE CLUSTER waits until no session is."""
        return bool(self._running or self.txn.in_block or self.pending_sync)

    async def _pass_pause_gate(self, sql: str) -> None:
        """A new transaction waits while the cluster is paused (UNPAUSE itself does not)."""
        gate = self.coord.pause_gate
        if self.txn.in_block or not gate.is_closed_for(self.session):
            return
        command = parse_xl_command(sql)
        if command is not None and command.kind == "unpause":
            return
        self.waiting_for_pause = True
        try:
            await gate.wait_open(self.session)
        finally:
            self.waiting_for_pause = False

    @property
    def shard_checks_due(self) -> bool:
        """A shard hold is set, or this REPEATABLE READ block's snapshot predates a shard
        switch: statements go the general path, which checks them (frontend/shard_gate.py)."""
        gate = self.coord.pause_gate
        return gate.hold is not None or (self.txn.moved_since is not None
                                         and self.txn.moved_since != gate.switches)

    def in_flight_touches(self, hold: ShardHold) -> bool:
        """A statement of this session is past the gates and may touch the held shards, or
        its open transaction wrote them (a shard hold's drain waits for either)."""
        if self.txn.in_block and wrote_held(self.txn.shard_writes, hold):
            return True  # its writes must be committed before the switch's catch-up
        if self.waiting_for_hold or self.waiting_for_pause or not (self._running or self.pending_sync):
            return False  # (an extended cycle's statement is uncommitted until its Sync)
        return shard_gate.text_touches(self, hold, self.current_sql)

    # -- metadata ----------------------------------------------------------------------

    @property
    def private_snapshot(self) -> CatalogSnapshot | None:
        """The catalog as this transaction's own DDL (or a plan's scratch tables) left it."""
        return self._private_snapshot

    @private_snapshot.setter
    def private_snapshot(self, snapshot: CatalogSnapshot | None) -> None:
        if snapshot is not self._private_snapshot:
            self._private_snapshot = snapshot
            self.invalidate_cycles()

    @property
    def settings_generation(self) -> int:
        """Bumped by every change of the session's settings, role or authorization (the
        fast paths' plans depend on search_path)."""
        return self.state.generation

    def snapshot(self) -> CatalogSnapshot:
        """The catalog this session plans with: its own uncommitted DDL included."""
        if self.private_snapshot is not None:
            return self.private_snapshot
        assert self.coord.snapshot is not None
        return self.coord.snapshot

    async def load_private_snapshot(self) -> None:
        """The catalog as this transaction's DDL left it: tables and the views' definitions
        (a view created in the transaction is inlined like any other)."""
        conn = await self.txn.connection(self.coord.catalog_node, wants_block=True)
        called_back = self.txn.loopback_node
        if called_back is not None and not self.txn.may_decide(called_back) \
                and (await conn.query(_LOOPBACK_USED_SQL))[0][0] == "t":
            # The catalog server whose code called back decides the 2PC (txn/transaction.py
            # `_choose_decider`); where it may not, the COMMIT would fail: "cannot PREPARE a
            # transaction that has operated on postgres_fdw foreign tables", after the
            # schema change seemed to succeed.
            raise PgError(FEATURE_NOT_SUPPORTED,
                          "gridpg cannot change the schema in a transaction block that ran "
                          "server-side code over distributed tables",
                          hint="Run the schema change in its own transaction, or before the code.")
        await self._read_private_snapshot(conn)

    async def reload_private_snapshot(self) -> None:
        """After ROLLBACK TO SAVEPOINT: the catalog as the rollback left this transaction's
        DDL (no schema change is made, so nothing is refused)."""
        await self._read_private_snapshot(await self.txn.connection(self.coord.catalog_node, wants_block=True))

    async def _read_private_snapshot(self, conn: Any) -> None:
        from gridpg.frontend.coordinator import _load_views

        epoch = self.coord.snapshot.epoch if self.coord.snapshot else 0
        self.private_snapshot = await store.load_snapshot(conn, epoch, self.coord.shard_pieces)
        self.private_views, self.private_rules = await _load_views(conn, in_block=True)

    def views(self) -> dict[tuple[str, str], str]:
        """User views' definitions as this session sees them (its own uncommitted DDL included)."""
        return self.private_views if self.private_snapshot is not None else self.coord.views

    def rules(self) -> dict[tuple[str, str], Any]:
        """The rules of distributed tables as this session sees them (planner/rules.py)."""
        return self.private_rules if self.private_snapshot is not None else self.coord.table_rules

    @contextlib.asynccontextmanager
    async def statement_transaction(self) -> AsyncIterator[None]:
        """One statement's work in a remote transaction block on every node it touches:
        inside the client's block as part of it, else committed (2PC when needed) at the end
        and rolled back on any error."""
        if self.txn.in_block:
            yield
            return
        self.txn.begin(keep_statement_instant=True)
        self.implicit_block = True
        try:
            yield
        except BaseException:
            self.implicit_block = False
            await self.end_transaction(commit=False)
            raise
        self.implicit_block = False
        # A node this statement ran its last part on through the extended protocol (after
        # subplans: `then` on one node) owes its Sync: settle it before the COMMIT, as a
        # client's COMMIT does, or the connection is given back unclean and closed while
        # the client's Sync still expects it
        await self.sync_pending()
        await self.end_transaction(commit=True)

    async def end_transaction(self, commit: bool) -> None:
        """COMMIT or ROLLBACK of the session's block, with the metadata bookkeeping.

        Settings changed inside the block are kept by COMMIT and undone by ROLLBACK; the
        block's connections then hold a state no tag describes, so they are closed."""
        ddl = self.ddl_in_block
        reload = ddl and not self.ddl_in_block_quiet
        self.ddl_in_block = self.ddl_in_block_quiet = False
        if ddl:  # committed, the new epoch does it for every connection; rolled back, only these saw it
            for part in self.txn.participants.values():
                part.conn.forget_prepared()
        self.coord.loopback_tokens.forget(self)
        self.private_snapshot = None
        self.temps.transaction_ended()
        self.stream_cursors.clear()  # (closed with the nodes' blocks)
        self.local_sequences.clear()  # committed: the GTM's from now on; rolled back: gone
        self.altered_sequences.clear()
        self.renamed_sequences.clear()  # committed: renamed in the GTM too; rolled back: undone
        if self.state.changed_in_transaction:
            self.txn.taint()
        if commit:
            hooks, self.before_commit = self.before_commit, []
            try:
                for hook in hooks:
                    await hook()
                await self.notify.pre_commit()
            except BaseException:
                await self.txn.rollback()
                self.state.rollback()
                await self.notify.rollback()
                raise
            try:
                await self.txn.commit()
            except BaseException:
                self.state.rollback()
                await self.notify.rollback()
                raise
            self.state.commit()
            if reload:
                await self.coord.metadata_changed()
            pending, self.sequence_ddl = self.sequence_ddl, []
            for change in pending:
                await change.apply(self.dispatcher)
            await self.notify.commit()  # after the commit: LISTENs take effect, NOTIFYs go
        else:
            await self.txn.rollback()
            self.state.rollback()
            self.sequence_ddl.clear()
            self.before_commit.clear()
            await self.notify.rollback()

    @property
    def settings(self) -> dict[str, str]:
        """Settings by name as statements see them now: the session's, under the open
        transaction's SET LOCAL (the planner reads search_path here)."""
        return self.state.effective

    # -- session start and settings ----------------------------------------------------

    async def start(self, params: dict[str, str], role_settings: tuple[tuple[str, str], ...] = ()) -> None:
        startup = self._role_settings(role_settings)
        for key, value in params.items():
            if key in ("user", "database", "replication") or key.startswith("_pq_"):
                continue
            if key == "options":
                self._apply_options(value, startup)
                continue
            startup[key.lower()] = value
        for key, value in startup.items():
            try:
                check_setting(key, value)
            except PgError as exc:  # a bad startup option ends the connection, as in PostgreSQL
                exc.severity = "FATAL"
                raise
        startup.setdefault("client_encoding", "UTF8")
        if "datestyle" in startup:  # (reported at once: in the form PostgreSQL reports)
            startup["datestyle"] = canonical_datestyle(startup["datestyle"])
        try:
            check_client_encoding(startup["client_encoding"])
        except PgError as exc:
            exc.severity = "FATAL"
            raise
        self.state = SessionSettings(login=self.session.info.user, startup=startup,
                                     on_change=self.invalidate_cycles)
        self.invalidate_cycles()

    @staticmethod
    def _role_settings(settings: tuple[tuple[str, str], ...]) -> dict[str, str]:
        """What ALTER DATABASE/ROLE ... SET give the login (the client's startup values
        override them, as PostgreSQL's PGC_S_CLIENT does): a `default_transaction_isolation
        = serializable` of the role was silently READ COMMITTED. One gridpg cannot take is
        left out, as PostgreSQL warns and goes on over a stored value it cannot apply."""
        startup: dict[str, str] = {}
        for key, value in settings:
            if key in _NOT_FROM_ROLE_SETTINGS:
                continue
            try:
                check_setting(key, value)
            except PgError:
                continue
            startup[key] = value
        return startup

    @staticmethod
    def _apply_options(options: str, startup: dict[str, str]) -> None:
        """`-c name=value`, `-cname=value` and `--name=value`, as PostgreSQL reads options."""
        parts = _split_options(options)
        index = 0
        while index < len(parts):
            part = parts[index]
            item = None
            if part == "-c" and index + 1 < len(parts):
                item = parts[index + 1]
                index += 1
            elif part.startswith(("-c", "--")):
                item = part[2:]
            if item and "=" in item:
                key, value = item.split("=", 1)
                startup[key.replace("-", "_").lower()] = value
            index += 1

    def reported_parameters(self) -> dict[str, str]:
        base = dict(self.coord.server_parameters)
        base["client_encoding"] = "UTF8"
        base["is_superuser"] = "on" if self.session.info.is_superuser else "off"
        base["session_authorization"] = self.state.session_user
        base["application_name"] = self.settings.get("application_name", "")
        if self.coord.read_only:  # what drivers' read/write routing looks at
            base["default_transaction_read_only"] = "on"
            base["in_hot_standby"] = "on"
        # (the startup packet's own values, `options=-c ...` included: a client that quotes
        # literals itself reads standard_conforming_strings here, and one told `on` while
        # the session ran `off` sent backslashes the server read as escapes)
        for key in ("DateStyle", "TimeZone", "IntervalStyle", "standard_conforming_strings"):
            if key.lower() in self.settings:
                base[key] = self.settings[key.lower()]
        return base

    async def _setup_connection(self, conn: BackendConnection) -> None:
        """Bring a pooled connection to this session's settings and role."""
        conn.note_catalog_epoch(self.coord.snapshot.epoch if self.coord.snapshot is not None else 0)
        await session_commands.setup_connection(self, conn)

    # -- status ------------------------------------------------------------------------

    def txn_status(self) -> bytes:
        if self.implicit_block:
            return b"I"
        state = self.txn.state
        # (compared, not looked up: an Enum key's hash is a Python-level call)
        return b"I" if state is TxnState.IDLE else b"T" if state is TxnState.IN_BLOCK else b"E"

    def in_block(self) -> bool:
        return self.txn.in_block and not self.implicit_block

    async def close(self) -> None:
        await self.end_transaction(commit=False)
        self.temps.close()
        await self.notify.close()

    # -- simple protocol ---------------------------------------------------------------

    def read_text(self, sql: str) -> str:
        """A client's query text as gridpg reads it: under the session's
        `standard_conforming_strings = off`, its plain constants holding a backslash get the
        E prefix they then mean (sql/escape_strings.py), as the text is read whole."""
        return escape_strings.standard_strings(sql) if self._nonstandard_strings() else sql

    def _nonstandard_strings(self) -> bool:
        value = self.state.effective.get("standard_conforming_strings")
        return value is not None and escape_strings.is_off(value)

    async def simple_query(self, sql: str) -> None:
        sql = self.read_text(sql)
        try:
            await self._simple_query(sql)
        except sqlparse.ParserError:
            await self._ensure_postgres_parses(sql)
            whole = sqlparse.whole_string_syntax_error(sql)  # (PostgreSQL's message and caret)
            if whole is not None:
                raise whole from None
            raise

    async def _simple_query(self, sql: str) -> None:
        if not self.is_loopback:
            self.session.say_truncations(sql)
        statements = sqlparse.split(sql)
        if not statements:
            self.session.send(codec.EMPTY_QUERY)
            return
        await self._pass_pause_gate(statements[0])
        self._note_statement(sql)
        self._running += 1
        try:
            await self._simple_statements(statements)
        except PgError as exc:
            _place_parameter(exc, statements)
            _offset_position(exc, sql, statements)
            raise
        finally:
            self._running -= 1

    async def _ensure_postgres_parses(self, sql: str) -> None:
        """A query string gridpg's parser refused: PostgreSQL's own error when it is not a
        plain syntax error (its scanner and grammar give some other SQLSTATEs, and read
        string constants under the session's standard_conforming_strings), from an unnamed
        Parse on the catalog server, which runs nothing. Outside a transaction block only
        (an error there would abort the block's catalog transaction); a 42601 from
        PostgreSQL leaves gridpg's own error, which knows XL's clauses."""
        if self.txn.in_block:
            return
        conn = await self.txn.connection(self.coord.catalog_node, wants_block=False)
        try:
            await conn.settle()
            conn.send(codec.build_parse("", sql, []) + codec.SYNC)
            await conn.read_results()
        except PgError as error:
            if error.sqlstate != "42601":
                error.text = sql  # (its position points into the client's text)
                raise
        finally:
            self.txn.release_if_idle()

    async def _simple_statements(self, statements: list[str]) -> None:
        self.current_sql = statements[0]
        if len(statements) == 1 and not self.shard_checks_due \
                and not xact_time.has_special_input(statements[0]):
            try:
                routed_here = await self._query_routed(await self._pinned_times(statements[0]))
            except PgError as exc:
                # the node's caret, into the text it ran (pinned, its instant given before
                # it: relay.start_simple), placed in the client's statement
                _place_position(exc, statements[0])
                raise
            if routed_here:
                self.txn.release_if_idle()
                return
        several = len(statements) > 1
        try:
            for index, text in enumerate(statements):
                if several and not self.txn.in_block:
                    # PostgreSQL's implicit block, begun again after a COMMIT or ROLLBACK
                    # among the statements: an error later rolls back what follows it
                    self.txn.begin()
                    self.implicit_block = True
                try:
                    await self.run(ExecRequest(text, simple=True))
                except PgError as exc:
                    exc.statement_index = index
                    raise
        except PgError:
            if self.implicit_block:
                self.implicit_block = False
                await self.end_transaction(commit=False)
            else:
                await self._statement_failed()
            raise
        finally:
            if not self.txn.in_block:
                self.implicit_block = False
        if self.implicit_block:
            self.implicit_block = False
            await self.end_transaction(commit=True)
        self.txn.release_if_idle()
        self.txn.close_orphans()

    async def _statement_failed(self) -> None:
        if self.txn.in_block:
            self.txn.fail()
            # PostgreSQL releases a failed transaction's locks at the error, not at the
            # client's ROLLBACK: the nodes' blocks are rolled back now (not under savepoints,
            # which ROLLBACK TO must still find). A session left idle in its failed block
            # held them: a CREATE TABLE refused on the datanodes after the catalog server
            # had made the table kept the name locked, and every other session's CREATE
            # TABLE of that name waited (psycopg2's DeadlockSerializationTests hung).
            await self.txn.abort_remote(skip=set(self.pending_sync))
        else:
            await self.end_transaction(commit=False)

    # -- extended protocol -------------------------------------------------------------

    def check_parse(self, sql: str) -> None:
        statements = sqlparse.split(sql)
        if len(statements) > 1:
            raise PgError("42601", "cannot insert multiple commands into a prepared statement")

    async def check_bind(self, statement: PreparedStatement, bind: codec.Bind) -> None:
        """PostgreSQL's parameter-count check. Without a description, a Bind that supplies
        as many values as the Parse declared types is left to the node that runs it."""
        if statement.described is None and len(bind.params) == len(statement.param_oids):
            return
        required = len((await self.describe(statement))[0])
        if required != len(bind.params):
            raise PgError(
                PROTOCOL_VIOLATION,
                f"bind message supplies {len(bind.params)} parameters, but prepared "
                f'statement "{statement.name}" requires {required}',
            )

    async def describe(self, statement: PreparedStatement) -> tuple[list[int], bytes | None]:
        """The statement's parameter types and RowDescription. Described again when the
        catalog snapshot or search_path moved since (DDL here or through another
        coordinator, a SET): PostgreSQL revalidates a prepared statement's plan then, and
        refuses one whose result columns changed (0A000), where the client would read rows
        of another shape than the description it holds."""
        described = statement.described
        snapshot, path = self.snapshot(), self.settings.get("search_path", "")
        made_for = statement.described_for
        if described is not None and made_for is not None and made_for[0] is snapshot and made_for[1] == path:
            return described
        sql = statement.sql
        if citus_views.reads_views(sql):  # views the coordinator answers
            sql = await citus_views.rewrite(self.coord, sql, self.txn)
        if plan_sizes.mentions(sql):  # Citus's size functions named as PostgreSQL's
            sql = plan_sizes.rewrite(sql, plan_sizes.find_calls(sql), {})
        fresh = await self.dispatcher.describe(sql, statement.param_oids)
        if described is not None:
            if _result_type(fresh[1]) != _result_type(described[1]):
                raise cached_plan_changed()
            # (the parameter types stay those of the first analysis, as PostgreSQL's do)
            fresh = (described[0], fresh[1])
            if fresh[1] != described[1]:
                statement.portal_descriptions.clear()
        statement.described, statement.described_for = fresh, (snapshot, path)
        return fresh

    async def revalidate(self, statement: PreparedStatement) -> None:
        """Before a described statement runs: `describe` checks it again when the catalog
        snapshot or search_path it was described for moved."""
        made_for = statement.described_for
        if statement.described is not None and (
                made_for is None or made_for[0] is not self.snapshot()
                or made_for[1] != self.settings.get("search_path", "")):
            await self.describe(statement)

    async def close_node_portals(self, portal: Portal) -> None:
        """The client closed a portal it executed with a row limit: the node portals bound
        for it are closed too, in the nodes' current cycles (the client's Sync ends them).
        PostgreSQL's Close drops the portal and the references it held on its relations;
        left open on the nodes until the transaction's end, they kept the tables in use,
        and DROP or ALTER TABLE in the same block failed with 55006 "being used by active
        queries in this session" (asyncpg closes an exhausted cursor's portal)."""
        held, portal.node_portals = portal.node_portals, []
        name = relay.portal_name(portal.name)
        conns: list[BackendConnection] = []
        for node, conn in held:
            participant = self.txn.participants.get(node)
            if participant is None or participant.conn is not conn or conn.is_closed or node in self.presynced:
                continue  # (its transaction is over: the node dropped the portal then)
            assert isinstance(conn, BackendConnection)
            relay.start_close_portal(conn, name)
            self.pending_sync.setdefault(node, conn)
            conns.append(conn)
        for conn in conns:
            error = await relay.finish_close_portal(conn)
            if error is not None:
                self.cycle_failed = True

    async def execute_portal(self, portal: Portal, max_rows: int) -> None:
        """Execute a Bound portal. One that already ran to completion is not run again, as
        in PostgreSQL: a query's portal answers no rows (`SELECT 0`), any other statement's
        is refused (55000); it ran the statement again (the rows twice, a write twice)."""
        if portal.done:
            if sqlparse.node_type(sqlparse.parse_tree(portal.statement.sql)) != "SelectStmt":
                raise PgError(OBJECT_NOT_IN_PREREQUISITE_STATE, f'portal "{portal.name}" cannot be run')
            self.session.send(codec.build_command_complete("SELECT 0"))
            return
        await self._execute_portal(portal, max_rows)
        if portal.cursor is None:
            portal.done = True

    async def _execute_portal(self, portal: Portal, max_rows: int) -> None:
        if isinstance(portal.cursor, BufferedRows):  # the rest of a multi-node portal
            portal.cursor.serve(self.session.send, max_rows)
            return
        if isinstance(portal.cursor, NodePortals):  # the nodes' portals, read on
            await portal.cursor.serve(self.dispatcher, portal, max_rows)
            return
        if portal.cursor is None:
            await self.revalidate(portal.statement)
        if 1 in portal.result_formats and portal.cursor is None:
            described = portal.statement.described or await self.describe(portal.statement)
            oid_columns = oid_results.oid_columns(portal.statement.sql, described[1],
                                                  portal.result_formats, self.coord.oid_carrying_types)
            if oid_columns:  # regclass, arrays of enums ... in binary: the catalog server's OIDs
                await self._execute_oid_portal(portal, max_rows, oid_columns, described)
                return
        if (not max_rows and portal.cursor is None and self.private_snapshot is None
                and not self.coord.read_only and not self.temps.pinned
                and not self.shard_checks_due):
            # the fast path too waits at PAUSE CLUSTER's gate and counts as running
            await self._pass_pause_gate(portal.statement.sql)
            self.current_sql = portal.statement.sql
            self.note_routed_statement(portal.statement.sql, not self.txn.in_block)
            self._running += 1
            try:
                if await self._execute_routed(portal):
                    return
            finally:
                self._running -= 1
        statement = portal.statement
        decode_oids = statement.param_oids
        if 1 in portal.param_formats and (len(decode_oids) < len(portal.params) or 0 in decode_oids):
            # Binary values of undeclared types (asyncpg): read them by the described types.
            decode_oids = (await self.describe(statement))[0]
        elif statement.described is not None:
            decode_oids = statement.described[0]
        request = ExecRequest(
            statement.sql, simple=False, params=portal.params,
            param_formats=portal.param_formats, result_formats=portal.result_formats,
            param_oids=statement.param_oids, max_rows=max_rows, portal=portal,
            decode_oids=decode_oids,
        )
        try:
            await self.run(request)
        except PgError:
            # Outside a block the nodes roll back their implicit transaction at Sync, and
            # sync() gives their connections back then; inside one, the block is failed.
            # Blocks the statement opened itself (a DDL's, on every server) wait for no
            # Sync: rolled back now, as after a simple Query (they stayed open, failed, and
            # every later statement of the session got 25P02).
            if self.txn.in_block or not self.pending_sync:
                await self._statement_failed()
            raise

    async def _execute_oid_portal(self, portal: Portal, max_rows: int, oid_columns: dict[int, int],
                                  described: tuple[list[int], bytes | None]) -> None:
        statement = portal.statement
        param_oids, row_description = described
        request = ExecRequest(
            statement.sql, simple=False, params=portal.params,
            param_formats=portal.param_formats, result_formats=portal.result_formats,
            param_oids=statement.param_oids, max_rows=max_rows, portal=portal,
            decode_oids=param_oids,
        )
        columns = len(codec.parse_row_description(row_description[5:])) if row_description else 0
        try:
            await oid_results.run_translated(self, request, oid_columns, columns)
        except PgError:
            if self.txn.in_block:
                self.txn.fail()
            raise

    def pin_connection_values(self, sql: str) -> str:
        """`sql` with its inet_client_addr(), pg_backend_pid() and the like as the client
        connection's (sql/connection_values.py)."""
        if not connection_values.mentions(sql) or self.is_loopback:
            return sql
        stream = self.session.stream
        values = connection_values.of_socket(stream.get_extra_info("peername"), stream.get_extra_info("sockname"),
                                             self.session.info.backend_pid, own_temps=self.temps.pinned)
        return connection_values.pin_connection_values(sql, values)

    async def _pinned_times(self, sql: str) -> str:
        """The statement with its transaction-time calls pinned (sql/xact_time.py); in a
        block, to the catalog server's transaction start, read once. And its
        inet_client_addr(), pg_backend_pid() and the like, the client connection's
        (sql/connection_values.py)."""
        sql = self.pin_connection_values(sql)
        # (a write in a block whose catalog server joined before the instant was read reads
        # it first: the trigger functions it fires on the datanodes read the instant from
        # their setting, sql/trigger_relation.py, and the block's later now() must be that
        # same instant; h-trig24)
        if self.txn.in_block and (xact_time.statement_mentions_time(sql) or (
                _WRITES.match(sql) and self.txn.is_instant_unread_in(self.coord.catalog_node))):
            self.txn.ensure_not_failed()
            await self.txn.read_block_instant(self.coord.catalog_node)
        return xact_time.pin_times(sql, self.txn.start_statement())

    async def _query_routed(self, sql: str) -> bool:
        """The simple protocol's fast path: a statement whose literals pin one node, planned
        once per literal-free form; False (nothing run) to take the general path."""
        if self.private_snapshot is not None or self.coord.read_only or self.temps.pinned:
            return False  # a read-only coordinator checks every statement (run); temp tables
        form = normalize_literals(sql)
        if form is None:
            return False
        text, literals = form
        txn = self.txn
        if not txn.in_block and not txn.participants and self.coord.is_epoch_check_due():
            await self.coord.ensure_fresh_catalog()
        route = await self._simple_route(text)
        planner = self.coord.planner
        if route is None or planner is None:
            return False
        txn.ensure_not_failed()
        target = route.target_for_literals(planner, literals, txn.shard_writes if route.writes and txn.in_block else None)
        if target is None:
            return False
        group, sent = target  # sent.sql: the literal-free text, or its shard's
        types = literal_types(sql, text)
        prepared = None if types is None or len(types) != len(literals) else (sent.sql, types, literals)
        started = time.perf_counter()
        try:
            await self.dispatcher.run_simple_routed(group, sql, route.writes, prepared,
                                                    None if prepared is None else (text, prepared[1]))
        except PgError as exc:
            metrics.STATEMENT_ERRORS.labels(exc.sqlstate[:2]).inc()
            await self._statement_failed()
            raise
        _count_routed(started)
        return True

    def start_query_now(self, sql: str) -> tuple[BackendConnection, bool, str, bool] | None:
        """`simple_query`'s fast path (`_query_routed`) where nothing needs waiting
        (frontend/fast_cycle.py): one statement, its literal-free form planned already and
        known to prepare on the nodes, its node's connection at hand; the statement sent.
        (connection, alone, group, writes); None: nothing taken or sent. It ends with
        `query_synced` or `finish_query` (see `start_cycle_now` for "alone")."""
        txn = self.txn
        if self.shard_checks_due or self.private_snapshot is not None \
                or self.coord.read_only or self.temps.pinned or txn.state is TxnState.FAILED \
                or (not txn.in_block and (self.coord.pause_gate.is_closed_for(self.session)
                                          or (not txn.participants and self.coord.is_epoch_check_due()))):
            return None
        shaped = match_template(sql)  # (a shape seen before: what the lines below find, at once)
        literals: Sequence[str | None]
        if shaped is not None:
            template, literals = shaped
            statement = sql[template.start : len(sql) - template.end_trim]
            text = template.text
        else:
            statements = sqlparse.split(sql)
            if len(statements) != 1:
                return None
            statement = statements[0]
            if "\\" in statement and self._nonstandard_strings():
                return None  # its constants are read by `simple_query` (sql/escape_strings.py)
            form = normalize_literals(statement)
            if form is None or long_names.may_truncate(statement):  # (its NOTICEs: `simple_query`)
                return None
            text, literals = form
        cached = self._simple_routes.get(text)
        planner = self.coord.planner
        if cached is None or planner is None \
                or cached[0] != (self.coord.snapshot, self.settings_generation, self.temps.names) \
                or not isinstance(cached[1], RoutedStatement):
            return None
        route = cached[1]
        target = route.target_for_literals(planner, literals, txn.shard_writes if route.writes and txn.in_block else None)
        if target is None:
            return None
        if shaped is not None:
            types = shaped[0].types
        else:
            found_types = literal_types(statement, text)
            if found_types is None or len(found_types) != len(literals):
                return None
            types = found_types
        if routed.PREPARABLE.get((text, types)) is not True:  # (its shard's text alike)
            return None
        if shaped is None:
            learn_template(sql, statement, text, literals, types)
        group, sent = target
        alone = not txn.in_block and not txn.participants and group not in txn.pinned
        conn = txn.take_alone(group, self._setup_now) if alone else txn.connection_now(group, self._setup_now)
        if conn is None:
            return None
        self._note_statement(sql)
        self._running += 1
        self.current_sql = statement
        if route.writes and not alone:
            txn.mark_written(group, locks_rows=route.locks_rows)
        relay.start_simple_prepared(conn, sent.sql, types, literals)
        return conn, alone, group, route.writes

    def query_synced(self, cycle: FastCycle) -> None:
        """A statement from `start_query_now` answered whole (its ReadyForQuery taken)."""
        if cycle.alone:
            self.txn.give_back_alone(cycle.group, cycle.conn)
        _count_routed(cycle.started)
        self.txn.release_if_idle()
        self._running -= 1

    async def finish_query(self, cycle: FastCycle) -> None:
        """The rest of a statement from `start_query_now` that the task takes over (as
        `_query_routed` and `simple_query` finish it)."""
        self.adopt_cycle(cycle)
        try:
            try:
                result = await relay.finish_simple(cycle.conn, self.session.send)
                if result.copy_in:
                    result = await self.dispatcher.relay_copy_in(cycle.conn, result)
                if result.error is not None:
                    raise result.error
            except PgError as exc:
                if self.current_sql is not None:
                    _place_parameter(exc, [self.current_sql])  # (as `simple_query` does)
                metrics.STATEMENT_ERRORS.labels(exc.sqlstate[:2]).inc()
                await self._statement_failed()
                raise
            _count_routed(cycle.started)
            self.txn.release_if_idle()
        finally:
            self._running -= 1

    async def _simple_route(self, text: str) -> RoutedStatement | None:
        snapshot = self.coord.snapshot
        key = (snapshot, self.settings_generation, self.temps.names)
        cached = self._simple_routes.get(text)
        if cached is None or cached[0] != key:
            if len(self._simple_routes) > 1000:
                self._simple_routes.clear()
            from gridpg.frontend.session import PreparedStatement

            cached = (key, await self._build_routed(PreparedStatement("", text, []), block_time=False))
            self._simple_routes[text] = cached
        found = cached[1]
        return None if found is NOT_ROUTED else found  # type: ignore[return-value]

    async def _is_plain_statement(self, sql: str, block_time: bool) -> bool:
        """What `run` checks on every statement, checked once per fast-path plan (they
        depend only on the text, the catalog snapshot and the session's search_path): no
        session-state change, sequence use, coordinator-answered view, or user code that
        reaches distributed tables (the routine guard). Transaction-time calls only with
        `block_time` and when a block can read them from its setting (`_block_text`)."""
        lowered = sql.lower()
        if sqlparse.may_change_session_state(sql) or prepared.reads_prepared_view(sql) \
                or citus_views.reads_views(sql) or plan_sizes.mentions(sql) or table_stats.reads_views(sql) or internal_view.mentions(sql) \
                or index_upkeep.mentions(sql) \
                or bool(tableoid_oids.bare_targets(sql)) or "prepared_statements" in lowered or "advisory" in lowered or "_backend" in lowered \
                or sequences.is_one_row_of_calls(sql) or xact_time.has_special_input(sql) \
                or "pg_sequence_last_value" in lowered \
                or connection_values.mentions(sql) \
                or (large_objects.may_touch(lowered) and large_objects.touches(sql)) \
                or (xact_time.statement_mentions_time(sql) and (not block_time or _block_text(sql) is None)):
            return False  # (other time calls: pinned per statement on the general path)
        try:
            sequences.ensure_supported(sql)
            from gridpg.executor.run import search_path

            group = await self.coord.routine_guard.check(self.dispatcher, sql, list(search_path(self.dispatcher)))
        except PgError:
            return False  # the general path raises it
        return group is None

    async def _execute_routed(self, portal: Portal) -> bool:
        """The prepared fast path (executor/routed.py); False: take the general path."""
        txn = self.txn
        if not txn.in_block and not txn.participants and self.coord.is_epoch_check_due():
            await self.coord.ensure_fresh_catalog()
        route = await self._routed(portal.statement)
        if route is None:
            return False  # also every transaction-control statement (ROLLBACK of a failed block)
        txn.ensure_not_failed()
        started = time.perf_counter()
        try:
            done = await self.dispatcher.run_routed(portal, route)
        except PgError as exc:
            metrics.STATEMENT_ERRORS.labels(exc.sqlstate[:2]).inc()
            if txn.in_block:
                txn.fail()
            raise
        if done:
            _count_routed(started)
        if done and not txn.in_block and not self.pending_sync:
            txn.release_if_idle()
        return done

    def cycle_route(self, statement: PreparedStatement) -> RoutedStatement | None:
        """The statement's fast-path plan when a whole Bind-Execute-Sync cycle received at
        once may run as one (Session.routed_cycle); None: message by message.

        Per Execute this reads what changes with every transaction (a node owing its Sync,
        the block's state; outside a block, whether a pause or a catalog check is on:
        `Coordinator.idle_cycles_stop`) and compares two integers: the statement's stamp
        with the session's (`invalidate_cycles`: settings, role, temp relations or pins, a
        private catalog, LISTEN/NOTIFY in the transaction) and the session's view of the
        coordinator's generation (catalog snapshot, pause gate, shard holds and switches,
        the catalog check). When either moved, `_cycle_allowed` checks everything again
        and stamps the statement."""
        if self.pending_sync:
            return None
        state = self.txn.state
        if state is not TxnState.IN_BLOCK and (state is TxnState.FAILED or (self.coord.idle_cycles_stop
                                                                            and self._idle_stopped())):
            return None
        if statement.cycle_stamp != self.cycle_stamp or self.cycle_generation != self.coord.cycle_generation:
            return self._stamp_cycle(statement)
        if CHECK_STAMPS and not self._cycle_allowed(statement):
            log.error("a stale routed-cycle stamp for %r", statement.sql)
            raise AssertionError(f"stale routed-cycle stamp for {statement.sql!r}")
        return statement.routed  # type: ignore[return-value]

    def invalidate_cycles(self) -> None:
        """Something this session's routed cycles depend on changed: each checks again."""
        self.cycle_stamp += 1

    def _idle_stopped(self) -> bool:
        """Outside a block: the pause gate closed for this session, or (no node held) the
        catalog check due; `execute_portal` would wait for either."""
        coord = self.coord
        return coord.pause_gate.is_closed_for(self.session) \
            or (not self.txn.participants and coord.is_epoch_check_due())

    def _stamp_cycle(self, statement: PreparedStatement) -> RoutedStatement | None:
        generation = self.coord.cycle_generation
        if self.cycle_generation != generation:
            self.cycle_generation = generation
            self.cycle_stamp += 1
        if not self._cycle_allowed(statement):
            return None
        statement.cycle_stamp = self.cycle_stamp
        return statement.routed  # type: ignore[return-value]

    def _cycle_allowed(self, statement: PreparedStatement) -> bool:
        """The checks behind a stamp, whatever the transaction's state: the plan made already
        for this catalog, these settings and temp relations, and nothing that
        `execute_portal` would stop at (a private catalog, a read-only coordinator, a shard
        hold or a switch since this REPEATABLE READ block's snapshot, pinned temp tables,
        LISTEN/NOTIFY in the transaction: that one inside a block too, where a statement went
        on before). A loopback's statements go message by message (its own describe)."""
        coord = self.coord
        key = statement.routed_key
        if key is None or not isinstance(statement.routed, RoutedStatement) or self.is_loopback \
                or self.private_snapshot is not None or coord.read_only or coord.planner is None \
                or self.shard_checks_due or self.temps.pinned or self.notify.in_transaction:
            return False
        snapshot, generation, names = key
        return generation == self.state.generation and (snapshot is coord.snapshot or snapshot == coord.snapshot) \
            and names == self.temps.names

    def has_block_instant(self, route: RoutedStatement, group: str) -> bool:
        """Whether `route` may run on `group` as it is, with no waiting: it reads no
        transaction time, or runs outside a block, or the node has (or gets as it joins)
        the block's settled instant (`DistributedTransaction.has_block_instant`); and it is
        no write in a block whose catalog server holds the instant unread (its trigger
        functions read the instant: `is_instant_unread_in`)."""
        txn = self.txn
        if route.writes and txn.is_instant_unread_in(self.coord.catalog_node):
            return False
        return route.block is None or not txn.in_block or txn.has_block_instant(group, self.coord.catalog_node)

    async def execute_cycle(self, route: RoutedStatement, group: str, bind_tail: bytes) -> None:
        """`execute_portal` of a routed cycle whose Sync came with it: the node's Sync goes
        with the Execute; the connection is given back by the Sync that follows (`sync`)."""
        self.current_sql = route.statement
        self.note_routed_statement(route.statement, not self.txn.in_block)
        self._running += 1
        started = time.perf_counter()
        try:
            await self.dispatcher.run_routed_on(group, route, bind_tail, sync_now=True)
        except PgError as exc:
            self._cycle_failed(exc)
            raise
        finally:
            self._running -= 1
        _count_routed(started)

    def start_cycle_now(self, route: RoutedStatement, group: str,
                        bind_tail: bytes) -> tuple[BackendConnection, bool] | None:
        """`execute_cycle`'s send where the node's connection is at hand without waiting
        (frontend/fast_cycle.py): (the connection, whether it runs alone); None: nothing
        taken or sent. Alone: one statement outside any transaction, on a pooled connection
        kept out of the transaction's bookkeeping (no participant, no pending Sync) until it
        goes back to its pool (`cycle_synced`) or joins them (`adopt_cycle`)."""
        txn = self.txn
        alone = txn.state is TxnState.IDLE and not txn.participants and group not in txn.pinned
        # (alone: DistributedTransaction.take_alone, without its call)
        conn = (None if group in txn.pools.stale_maps else txn.pools.pool(group).take_matching(self._setup_now)) \
            if alone else txn.connection_now(group, self._setup_now)
        if conn is None:
            return None
        self.current_sql = route.client_sql or route.sql  # (route.statement)
        self._running += 1
        if alone:
            relay.start_routed(conn, route, bind_tail, True)
            return conn, alone
        # (Dispatcher.start_routed_on with its Sync, in one function)
        if route.writes:
            txn.mark_written(group, locks_rows=route.locks_rows)
        if route.block is not None and txn.state is not TxnState.IDLE:
            route = route.block  # (route.for_block)
        relay.start_routed(conn, route, bind_tail, True)
        self.presynced.add(group)
        self.pending_sync[group] = conn
        return conn, alone

    @staticmethod
    def is_transaction_control(sql: str) -> bool:
        """BEGIN, COMMIT, ROLLBACK, SAVEPOINT ...: run here, never routed (False also for
        a text `classify` cannot read: the general path reports it)."""
        try:
            return classify(sql)[0] is not None
        except PgError:
            return False

    def begin_now(self, sql: str) -> bytes | None:
        """A client's prepared BEGIN run from callbacks (frontend/fast_cycle.py): what
        `run` does for it, where nothing needs waiting (no pause gate closed, no shard
        check or catalog check due, no block open); its CommandComplete, or None: nothing
        done. A BEGIN sends nothing to the nodes (each joins at its first statement)."""
        txn = self.txn
        if txn.in_block or self._running or self.pending_sync or self.coord.read_only \
                or self.shard_checks_due or self.coord.pause_gate.is_closed_for(self.session) \
                or (not txn.participants and self.coord.is_epoch_check_due()):
            return None
        try:
            control, setting = classify(sql)
        except PgError:
            return None
        if control is None or control.kind != "begin" or setting is not None:
            return None
        self._note_statement(sql)
        self.current_sql = sql
        self.temps.transaction_ended()
        self.implicit_block = False
        txn.begin(control.begin_sql)
        return codec.build_command_complete("START TRANSACTION" if control.is_start else "BEGIN")

    def commit_now(self, sql: str) -> tuple[BackendConnection, bool] | None:
        """A client's prepared COMMIT/END run from callbacks (frontend/fast_cycle.py), where
        nothing needs waiting and `_commit_now_allowed` (checked once for both cases):
        (the connection whose answer ends it, whether it is two-phase), or None: nothing
        done. One-phase: the case of `end_transaction(commit=True)` with one open remote
        block and no other node written (`DistributedTransaction.one_phase_commit_now`),
        the node's COMMIT sent; its answer ends with `commit_synced` (or `finish_commit` in
        the task). Two-phase: a block that wrote two or more nodes, its PREPARE round
        written (`DistributedTransaction.two_phase_commit_now`; a writer's connection
        returned), the rest left to the task (`finish_commit`)."""
        if not self._commit_now_allowed(sql):
            return None
        txn = self.txn
        conn = txn.one_phase_commit_now()
        two_phase = False
        if conn is None:
            conn = txn.two_phase_commit_now()
            if conn is None:
                return None
            two_phase = True
        self._committing_now(sql)
        return conn, two_phase

    def _commit_now_allowed(self, sql: str) -> bool:
        """Whether a COMMIT may start from callbacks: a block (not failed, not implicit)
        with no DDL, sequence change, setting change, temp table, private snapshot,
        LISTEN/NOTIFY or open cycle in it, the pause gate open, and `sql` a plain COMMIT/END
        (not AND CHAIN)."""
        txn = self.txn
        if txn.state is not TxnState.IN_BLOCK or self.implicit_block or self._running or self.pending_sync \
                or self.coord.read_only or self.shard_checks_due or self.ddl_in_block or self.sequence_ddl \
                or self.before_commit \
                or self.local_sequences or self.private_snapshot is not None or self.temps.pinned \
                or self.state.changed_in_transaction or self.coord.pause_gate.is_closed_for(self.session) \
                or self.notify.in_transaction:
            return False  # (LISTEN/NOTIFY: the hub's work before and after the commit, in the task)
        try:
            control, setting = classify(sql)
        except PgError:
            return False
        return control is not None and control.kind == "commit" and not control.chain and setting is None

    def _committing_now(self, sql: str) -> None:
        """A COMMIT started from callbacks: the bookkeeping `end_transaction` does first."""
        self._note_statement(sql)
        self.current_sql = sql
        self._running += 1
        self.implicit_block = False
        self.coord.loopback_tokens.forget(self)
        self.temps.transaction_ended()
        self.stream_cursors.clear()

    def commit_synced(self, two_phase: bool = False) -> None:
        """A COMMIT from `commit_now` answered COMMIT (its ReadyForQuery taken); or, with
        `two_phase`, a two-phase one whose rounds all ran from callbacks and ended well
        (the transaction finished by `CallbackCommit`)."""
        if not two_phase:
            self.txn.finish_one_phase_commit()
        self.state.commit()
        self.notify.committed_quietly()
        self._running -= 1

    def abandon_commit(self) -> None:
        """A COMMIT from `commit_now` whose end nobody waits for (the session ends)."""
        self._running -= 1

    async def finish_commit(self, cycle: FastCycle) -> None:
        """The rest of a COMMIT from `commit_now` that the task takes over (an error, a
        notice, a lost node), or of one from `two_phase_commit_now` (all of its rounds
        after the PREPAREs written): what `end_transaction(commit=True)` does with its outcome."""
        try:
            try:
                if cycle.two_phase:
                    await self.txn.finish_two_phase_commit()  # (rolls back on failure)
                else:
                    try:
                        await read_commit_answer(cycle.conn)  # its answer lost: 08007
                    except BaseException as exc:
                        unknown = isinstance(exc, PgError) and exc.sqlstate == TRANSACTION_RESOLUTION_UNKNOWN
                        metrics.COMMIT_COUNTS.inc("unknown" if unknown else "failed")
                        await self.txn.rollback()
                        raise
                    self.txn.finish_one_phase_commit()
            except BaseException:
                self.state.rollback()
                await self.notify.rollback()
                raise
            self.state.commit()
            await self.notify.commit()
            self.session.send(codec.build_command_complete("COMMIT"))
        finally:
            self._running -= 1

    def cycle_synced(self, cycle: FastCycle) -> None:
        """A cycle from `start_cycle_now` answered whole (its ReadyForQuery taken)."""
        if cycle.alone:
            self.txn.give_back_alone(cycle.group, cycle.conn)
        else:
            self.dispatcher.routed_synced(cycle.group)
        self._running -= 1
        _count_routed(cycle.started)

    def joined_cycle_ended(self, group: str, started: float) -> None:
        """`cycle_synced` of a cycle that is not alone (FastCycle._synced_joined)."""
        del self.pending_sync[group]  # (Dispatcher.routed_synced)
        self.presynced.discard(group)
        self._running -= 1
        metrics.ROUTER.observe(time.perf_counter() - started)

    def alone_cycle_ended(self, started: float) -> None:
        """`cycle_synced`'s count of a cycle run alone whose connection went back to its
        pool (FastCycle._synced_alone)."""
        self._running -= 1
        metrics.ROUTER.observe(time.perf_counter() - started)

    def adopt_cycle(self, cycle: FastCycle) -> None:
        """A cycle run alone whose answer is left to the task (or to the close's Sync): it
        joins the transaction's bookkeeping as `run_routed_on` would have joined it."""
        if not cycle.alone:
            return
        cycle.alone = False
        self.txn.adopt(cycle.group, cycle.conn, cycle.writes)
        if not cycle.simple:  # a simple statement's answer ends with its own ReadyForQuery
            self.pending_sync[cycle.group] = cycle.conn
            self.presynced.add(cycle.group)

    async def finish_cycle(self, cycle: FastCycle) -> None:
        """The rest of a cycle from `start_cycle_now` that the task takes over."""
        self.adopt_cycle(cycle)
        try:
            await self.dispatcher.finish_routed_on(cycle.conn, cycle.group, sync_now=True)
        except PgError as exc:
            self._cycle_failed(exc)
            raise
        finally:
            self._running -= 1
        _count_routed(cycle.started)

    def abandon_cycle(self, cycle: FastCycle) -> None:
        """A cycle from `start_cycle_now` whose answer nobody will relay (the session ends):
        its node is left to the Sync of the session's close."""
        self.adopt_cycle(cycle)
        self._running -= 1

    def _cycle_failed(self, exc: PgError) -> None:
        metrics.STATEMENT_ERRORS.labels(exc.sqlstate[:2]).inc()
        if self.txn.in_block:
            self.txn.fail()

    def _setup_now(self, conn: BackendConnection) -> bool:
        """`_setup_connection` where it has nothing to send: the connection is in the
        session's state already (its catalog epoch noted); False: it is not."""
        if conn.session_state != self.state.tag(conn.address.user, self.txn.state is not TxnState.IDLE):
            return False  # (the tag at a transaction's start inside a block: txn.in_block)
        if conn.placeholders and not self.state.accepts(conn):
            return False
        if self.state.placeholders and not self.state.placeholders <= conn.placeholders:
            session_commands.mark_placeholders(conn, self.state.placeholders)  # (SET LOCALs replayed)
        snapshot = self.coord.snapshot
        epoch = snapshot.epoch if snapshot is not None else 0
        if conn.catalog_epoch != epoch:  # (note_catalog_epoch: nothing to do when it is the same)
            conn.note_catalog_epoch(epoch)
        return True

    async def _routed(self, statement: PreparedStatement) -> RoutedStatement | None:
        """The statement's fast-path plan for the current catalog and settings, made once."""
        snapshot = self.coord.snapshot
        key = (snapshot, self.settings_generation, self.temps.names)
        if statement.routed_key != key:
            statement.cycle_stamp = 0  # (a stamp vouches for the plan it was checked with)
            statement.routed = await self._build_routed(statement)
            statement.routed_key = key
        found = statement.routed
        return None if found is NOT_ROUTED else found  # type: ignore[return-value]

    async def _build_routed(self, statement: PreparedStatement, block_time: bool = True) -> object:
        """The statement's fast-path plan, or NOT_ROUTED: the general path takes it.

        A statement this cannot read is NOT_ROUTED, never an error: the simple protocol's
        plan is built from the literal-free text, which is no statement at all where the
        literals are not values (`PREPARE TRANSACTION $1`, `COMMIT PREPARED $1`, `SET
        TRANSACTION SNAPSHOT $1`); the general path runs the client's own text and reports
        the errors that text has."""
        try:
            return await self._plan_routed(statement, block_time)
        except PgError:
            return NOT_ROUTED

    async def _insert_router(self, sql: str, catalog: CatalogView, session: SessionView) -> RouterSpec | None:
        """A one-row INSERT ... VALUES routed by a parameter (executor/dml.py)."""
        planner = self.coord.planner
        assert planner is not None
        if self.temps.names or "temp" in sql.lower():
            return None
        analysis = planner.analysis(sql, catalog, session)
        if analysis.route != "query" or analysis.kind != "InsertStmt" or analysis.sql is not None \
                or analysis.literals is not None or not analysis.resolved or analysis.oid_use is not None:
            return None  # OID-typed values: checked with the parameters' values (planner/catalog_oids.py)
        if planner.fires_rules(sql, catalog, session):
            return None
        from gridpg.executor.dml import prepared_insert_spec

        return await prepared_insert_spec(self.dispatcher, sql, analysis.tree, list(analysis.resolved))

    async def _plan_routed(self, statement: PreparedStatement, block_time: bool) -> object:
        """`block_time`: a statement reading the transaction's time may be routed (its
        RoutedStatement.block reads the block's instant on the node): the prepared path
        sends the route's own texts; the simple path sends its literal-free form, so not there."""
        planner = self.coord.planner
        sql = statement.sql
        if len(sql) > _ROUTED_LIMIT:
            return NOT_ROUTED  # (a bulk statement: the fast path's checks would parse it once more)
        if planner is None or self.coord.snapshot is None or classify(sql) != (None, None) \
                or _is_session_reset(sql) or _ONLY.search(sql) or conflict_params.has_index_predicate(sql) \
                or not await self._is_plain_statement(sql, block_time):
            return NOT_ROUTED  # ONLY: the general path drops it where needed (executor/only.py)
        from gridpg.executor.run import catalog_view, session_view

        catalog, session = catalog_view(self.dispatcher), session_view(self.dispatcher)
        spec = planner.prepared_router(sql, catalog, session)
        if spec is None:
            spec = await self._insert_router(sql, catalog, session)
        if spec is None:
            return NOT_ROUTED
        described = statement.described[0] if statement.described is not None else None
        block_sql = _block_text(sql)
        shard_texts = await self._shard_texts(spec, sql, block_sql, catalog, session)
        route = build_routed(spec, sql, statement.param_oids, described, self.coord.snapshot,
                             self.settings_generation, planner, block_sql, shard_texts)
        return NOT_ROUTED if route is None else route

    async def _shard_texts(self, spec: RouterSpec, sql: str, block_sql: str | None,
                           catalog: CatalogView, session: SessionView) -> ShardTexts | None:
        """The statement's texts naming its pinned table's shard, by remainder (and its
        block text's), where that gives the table's answer for this session's role
        (planner/shard_route.py, executor/shard_route.py); None: the table is named."""
        planner = self.coord.planner
        snapshot = self.coord.snapshot
        if planner is None or snapshot is None or len(spec.pins) != 1 or len(spec.pins[0][1]) != 1:
            return None
        table = spec.pins[0][0]
        own = [sql] if block_sql is None or block_sql == sql else [sql, block_sql]
        texts = [planner.shard_text(text, table, catalog, session) for text in own]
        if any(isinstance(text, str) for text in texts):
            return None
        shard_texts = [text for text in texts if not isinstance(text, str)]
        role = self.state.role or self.state.session_user
        first = shard_texts[0]
        if not await self.coord.shard_routes.allows(table, role, first.kind, first.locks, snapshot.epoch):
            return None
        count = table.shard_count or 0
        plain = tuple(shard_texts[0].text(r) for r in range(count))
        in_block = tuple(shard_texts[1].text(r) for r in range(count)) if len(shard_texts) > 1 else None
        return plain, in_block

    def begin_pipeline_block(self) -> None:
        """An Execute outside a block that the client follows with more messages before its
        Sync (JDBC's executeBatch, psycopg's and asyncpg's pipelines): PostgreSQL runs every
        statement up to the Sync in one implicit transaction, so an error rolls back the
        statements before it too. The block ends at `sync` (or at a BEGIN/COMMIT/ROLLBACK
        among the statements, as in PostgreSQL)."""
        self.txn.begin()
        self.implicit_block = True
        self.pipeline_block = True

    async def sync(self) -> None:
        """End of an extended-protocol cycle: sync the nodes we talked to, and end the
        pipeline's implicit block (committed unless a message of the cycle failed)."""
        error = await sync_cycles(self)
        if error is not None:
            self.session.send((await self.explain_cancel(error)).to_message())
            await self._statement_failed()
        if self.pipeline_block:
            self.pipeline_block = False
            if self.implicit_block:
                self.implicit_block = False
                failed = self.cycle_failed or error is not None or self.txn.state is TxnState.FAILED
                try:
                    await self.end_transaction(commit=not failed)
                except PgError as exc:
                    self.session.send(exc.to_message())
                    self.cycle_failed = True
        self.txn.release_if_idle()
        self.txn.close_orphans()
        failed, self.cycle_failed = self.cycle_failed, False
        if self.notify.in_transaction:  # LISTEN/NOTIFY of the implicit transaction
            try:
                await self.notify.synced(failed or error is not None)
            except PgError as exc:
                self.session.send(exc.to_message())

    async def explain_cancel(self, error: PgError) -> PgError:
        """A node's 57014 may be the monitor breaking a distributed deadlock whose victim is
        this session's transaction: the GTM then holds the cycle, and the client gets
        40P01 "deadlock detected" with it, as from PostgreSQL's own detector."""
        gxid = self.txn.gxid if self.txn.gxid is not None else self.txn.last_gxid
        if error.sqlstate != QUERY_CANCELED or gxid is None:
            return error
        try:
            detail = await self.coord.gtm.deadlock_victim_get(f"{self.coord.name}/{gxid}")
        except (GtmError, GtmUnavailable, OSError):
            return error
        if detail is None:
            return error
        if self.txn.in_block:
            await self.txn.abort_remote(skip=set(self.pending_sync))
        return PgError(DEADLOCK_DETECTED, "deadlock detected", detail=detail, node=error.node,
                       hint="gridpg's monitor cancelled this transaction to break a deadlock "
                            "across nodes; retry the transaction")

    # -- one statement -----------------------------------------------------------------

    async def run(self, request: ExecRequest) -> None:
        await self._pass_pause_gate(request.sql)
        if self.shard_checks_due and self.session is not self.coord.pause_gate.pauser:
            await shard_gate.pass_hold(self, request)
        if self.txn.in_block and classify(request.sql) == (None, None):  # (BEGIN, COMMIT, SET write nothing)
            shard_gate.note_writes(self, request)
        if not self._running:
            self._note_statement(request.sql)
        self.current_sql = request.sql
        if request.client_sql is None:
            request.client_sql = request.sql
        self._running += 1
        try:
            await self._run(request)
        except PgError as exc:
            _place_position(exc, request.sql)
            raise
        except GtmError as exc:  # the GTM said no (its SQLSTATE): the statement fails, not the session
            raise PgError(exc.code, exc.message) from None
        except RecursionError:
            raise stack_depth_exceeded() from None
        finally:
            self._running -= 1

    async def _run(self, request: ExecRequest) -> None:
        if self.coord.read_only:
            if await self._read_only_answer(request):
                return
            self.coord.follow_standby_verdict()  # per statement: the standbys' current verdict
        if not self.is_loopback and connection_values.shows_port(request.sql):
            self.txn.ensure_not_failed()
            self._show_port(request)
            return
        if not self.is_loopback and server_settings.shows_all(request.sql):
            self.txn.ensure_not_failed()
            await server_settings.show_all(self.dispatcher, request, self.coordinator_port())
            return
        control, setting = classify(request.sql)
        if control is None or control.kind not in ("commit", "rollback", "rollback_to", "prepare"):
            if self.txn.state is TxnState.FAILED:
                sqlparse.ensure_parses(request.sql)  # PostgreSQL parses before it says 25P02
            self.txn.ensure_not_failed()
        if control is not None:
            self.temps.transaction_ended()
            await self._transaction_control(control, request)
            return
        if setting is not None:
            await self._set(setting, request)
            return
        set_config = sqlparse.set_config_use(request.sql)
        if set_config is not None and set_config.alone:
            await session_commands.run_set_config(self, set_config.calls, request)
            return
        if await self._session_reset(request):
            return
        if await self._drop_of_missing_database(request):
            return
        if exported.is_export(request.sql):  # pg_export_snapshot(): every server's part
            await exported.export(self, request)
            return
        everywhere = server_config.everywhere_call(request.sql)
        if everywhere is not None:  # pg_reload_conf(), pg_stat_reset(): every server's
            await server_config.call_everywhere(self.dispatcher, request, everywhere)
            return
        elements = schema_elements.split(request.sql) if "schema" in request.sql.lower() else None
        if elements is not None:
            await self._run_schema_elements(request, elements)
            return
        if await portal_moves.run_if_protocol_portal(self, request):  # MOVE n "<Bound portal>" (asyncpg)
            return
        if self.stream_cursors and await stream_cursor.run_if_streamed(self, request):  # on the datanodes
            return
        if notify.may_concern(request.sql):
            if await self.notify.run(request):
                return
            request = replace(request, sql=notify.with_listening_channels(request.sql, list(self.notify.channels)))
        pinned = await self._pinned_times(request.sql)
        if pinned != request.sql:  # one now() on every node (sql/xact_time.py)
            request = replace(request, sql=pinned)
        if not self.txn.in_block and not self.txn.participants:
            self.txn.last_gxid = None
            await self.coord.ensure_fresh_catalog()
        await self.temps.before_statement(request.sql)
        if sqlparse.may_change_session_state(request.sql):
            self.txn.taint()  # its connections are closed after it, not pooled
        spelled = await sequences.inline_sequence_defaults(self.dispatcher, request.sql)
        if spelled != request.sql:  # SET col = DEFAULT calling a sequence: the GTM's value, not a node's
            request = replace(request, sql=spelled)
        inlined = await sequences.inline_session_values(self.dispatcher, request.sql)
        if inlined != request.sql:
            request = replace(request, sql=inlined)
        if not self.is_loopback:
            inlined = await sequences.inline_values_nextval(self.dispatcher, request.sql)
            if inlined != request.sql:  # nextval items of a VALUES list in FROM: the GTM's values
                request = replace(request, sql=inlined)
        request = await conflict_params.inline_arbiter_params(self.dispatcher, request)
        if sequences.per_row_nextval(request.sql) and not self.is_loopback \
                and not await self.coord.routine_guard.may_call_user_code(self.dispatcher, request.sql) \
                and (not self._reads_distributed(request.sql) or self._shadowable(request.sql)):
            await sequences.run_per_row_nextval(self.dispatcher, request, self._distributed_tables(request.sql))
            if not self.txn.in_block and not self.pending_sync:
                self.txn.release_if_idle()
            return
        if "nextval" in request.sql.lower() and not self.is_loopback and await self._update_nextval(request):
            return
        if not self.is_loopback and update_volatile.mentions(request.sql) and await self._update_volatile(request):
            return
        await sequences.ensure_served(self.dispatcher, request.sql, self._is_distributed)
        signals = None
        if not self.is_loopback and plan_activity.mentions(request.sql):
            # pg_stat_activity: the cluster's client sessions; pg_terminate_backend and
            # pg_cancel_backend: of those sessions, never of the catalog server's backends
            sql, signals = await stat_activity.rewrite(self, request.sql)
            if sql != request.sql:
                request = replace(request, sql=sql)
        if prepared.reads_prepared_view(request.sql):
            request = replace(request, sql=await prepared.rewrite_view(self.coord, request.sql))
        if citus_views.reads_views(request.sql):
            request = replace(request, sql=await citus_views.rewrite(self.coord, request.sql, self.txn))
        if table_stats.reads_views(request.sql):  # the datanodes' counters
            request = replace(request, sql=await table_stats.rewrite(self.dispatcher, request.sql))
        if "tableoid" in request.sql.lower() and tableoid_oids.bare_targets(request.sql):
            request = replace(request, sql=await tableoid_oids.rewrite(  # the catalog server's OIDs
                self.dispatcher, request.sql, self._distributed_tables(request.sql)))
        if any(plan_sizes.mentions(d) for d in self.views().values()):  # answered when read
            request = replace(request, sql=self._inline_size_views(request.sql))
        if plan_sizes.mentions(request.sql) and not plan_sizes.is_prepare(request.sql):
            # the cluster's sizes, not the empty copies' (a PREPAREd statement's: at each EXECUTE)
            if plan_sizes.stores_code(request.sql):
                sizes.ensure_not_in_stored_code(request.sql)
            else:
                request = replace(request, sql=await sizes.rewrite(
                    self.dispatcher, request.sql, self._reads_distributed(request.sql)))
        if index_upkeep.mentions(request.sql) and not plan_sizes.is_prepare(request.sql):
            if plan_sizes.stores_code(request.sql):  # it would run on the catalog server's empty index
                index_upkeep.ensure_not_in_stored_code(request.sql)
            else:  # run where the index's rows are
                request = replace(request, sql=await index_upkeep.rewrite(self.dispatcher, request.sql))
        if dump_view.is_dump_client(self.settings):
            if dump_view.reads_hidden(request.sql):
                request = replace(request, sql=await dump_view.prepare(self.coord, request.sql))
        elif not self.is_loopback and internal_view.mentions(request.sql):  # gridpg's internals hidden
            request = replace(request, sql=internal_view.rewrite(request.sql))
        sequence_ddl = await sequences.before_statement(self.dispatcher, request.sql)
        await sequences.sync_state_reads(self.dispatcher, request.sql)
        if "pg_sequence_last_value" in request.sql.lower() and self._reads_distributed(request.sql):
            request = replace(request, sql=await sequences.inline_last_values(self.dispatcher, request.sql))
        code_settings = await self._code_settings(request.sql)
        if sequences.is_one_row_of_calls(request.sql):
            await sequences.run_one_row_of_calls(self.dispatcher, request)
        elif signals is not None:
            await stat_activity.run_signalling(self, signals, lambda: self.dispatcher.run(request))
        else:
            await self.dispatcher.run(request)
        if set_config is not None and set_config.calls:
            await session_commands.adopt_set_config(self, set_config.calls, request)
        if code_settings:  # (code that ran set_config() or SET on the catalog server)
            await session_commands.adopt_code_settings(self, code_settings)
        if sequence_ddl is not None:
            if self.txn.in_block:
                self.sequence_ddl.append(sequence_ddl)  # the GTM follows at COMMIT
                await sequences.track_renames(self.dispatcher, sequence_ddl)
                self.local_sequences.update(await sequence_ddl.created_names(self.dispatcher))
                # ALTER SEQUENCE ... RESTART: the catalog server's sequence, restarted in this
                # block (and rolled back with it), serves the block as for TRUNCATE ...
                # RESTART IDENTITY; the GTM takes its definition and position at COMMIT
                # (SequenceDdl.realter). Other ALTERs: values refused until COMMIT (the
                # catalog server's copy does not hold the GTM's position).
                for name, restarted in sequence_ddl.realter:
                    if restarted:
                        self.local_sequences.add(name)
                    elif name not in self.local_sequences:
                        self.altered_sequences.add(name)
            else:
                await sequence_ddl.apply(self.dispatcher)
        if not self.txn.in_block and not self.pending_sync:
            self.txn.release_if_idle()

    async def _code_settings(self, sql: str) -> frozenset[tuple[str | None, bool | None]]:
        """The settings the user code the statement runs may change (RoutineGuard.code_effects)."""
        if self.is_loopback or self.coord.planner is None:
            return frozenset()
        from gridpg.executor.run import search_path

        effects = await self.coord.routine_guard.code_effects(self.dispatcher, sql, search_path(self.dispatcher))
        return effects.settings

    async def _run_schema_elements(self, request: ExecRequest, elements: schema_elements.SchemaElements) -> None:
        """CREATE SCHEMA with schema elements: the CREATE SCHEMA, then each element as a
        statement of its own (sql/schema_elements.py), all in one transaction, as
        PostgreSQL runs it; the client sees the one CREATE SCHEMA."""
        implicit = not self.txn.in_block
        if implicit:
            self.txn.begin()
            self.implicit_block = True
        try:
            await self._run(replace(request, sql=elements.head))
            schema = elements.schema or await self._current_user()
            session = self.session
            send = session.send
            session.send = lambda data: send(codec.without_message_type(data, b"C"))
            try:
                for text in elements.statements(schema):
                    await self._run(replace(request, sql=text))
            finally:
                session.send = send
        except BaseException:
            if implicit:
                self.implicit_block = False
                await self.end_transaction(commit=False)
            raise
        if implicit:
            self.implicit_block = False
            await self.end_transaction(commit=True)

    async def _current_user(self) -> str:
        conn = await self.txn.connection(self.coord.catalog_node, wants_block=False)
        await conn.settle()
        rows = await conn.query("SELECT current_user")
        return str(rows[0][0])

    def _distributed_tables(self, sql: str) -> list[tuple[str, str]]:
        """The distributed tables a statement names (search_path order), its target included."""
        from gridpg.executor.run import catalog_view, search_path
        from gridpg.planner.analyze import relations

        try:
            tree = sqlparse.parse_tree(sql)
        except PgError:
            return []
        view, path = catalog_view(self.dispatcher), search_path(self.dispatcher)
        found: list[tuple[str, str]] = []
        for ref in relations(tree):
            table = view.resolve(ref, path)
            if table is not None and table.key not in found:
                found.append(table.key)
        return found

    def _shadowable(self, sql: str) -> bool:
        """Whether the loopback's shadows carry every relation of a SELECT that reads
        distributed tables: each distributed one named without its schema (a shadow
        schema put first on the path catches it), no view the coordinator inlines, no
        temp relation of the session (its pg_temp comes first)."""
        from gridpg.executor.run import catalog_view, search_path
        from gridpg.planner.analyze import relations

        try:
            tree = sqlparse.parse_tree(sql)
        except PgError:
            return False
        view, path = catalog_view(self.dispatcher), search_path(self.dispatcher)
        views = self.views()
        for ref in relations(tree):
            if ref.schema is not None and view.resolve(ref, path) is not None:
                return False
            if (ref.schema, ref.name) in views or any((s, ref.name) in views for s in path):
                return False
            if ref.name in self.temps.names:
                return False
        return True

    def _reads_distributed(self, sql: str) -> bool:
        """Whether a statement names a distributed table or a view the coordinator inlines."""
        from gridpg.executor.run import search_path
        from gridpg.planner.analyze import relations

        if self._distributed_tables(sql):
            return True
        try:
            tree = sqlparse.parse_tree(sql)
        except PgError:
            return False
        views, path = self.views(), list(search_path(self.dispatcher))
        return any((ref.schema, ref.name) in views if ref.schema else any((s, ref.name) in views for s in path)
                   for ref in relations(tree))

    def _inline_size_views(self, sql: str) -> str:
        """A SELECT reading views that call size functions, with those views replaced by
        their definitions (nested ones too), so that the calls answer the cluster's sizes
        as a top-level call does: run as views on the catalog server, they would measure
        its empty copies."""
        from gridpg.executor.run import catalog_view, session_view
        from gridpg.planner.core import inline_views

        catalog, session = catalog_view(self.dispatcher), session_view(self.dispatcher)
        names = {name.lower() for (_, name), text in self.views().items() if plan_sizes.mentions(text)}
        for _ in range(16):  # the views reading those (a name in the text: inlining more is harmless)
            more = {name.lower() for (_, name), text in self.views().items()
                    if name.lower() not in names and any(n in text.lower() for n in names)}
            if not more:
                break
            names |= more

        def wanted(definition: str) -> bool:
            return plan_sizes.mentions(definition) or any(n in definition.lower() for n in names)

        for _ in range(16):  # views of views; PostgreSQL refuses cycles
            try:
                tree = sqlparse.parse_tree(sql)
            except PgError:
                return sql
            if next(iter(tree), "") != "SelectStmt":
                return sql
            inlined = inline_views(sql, tree, catalog, session, wanted=wanted)
            if inlined is None:
                return sql
            sql = inlined
        return sql

    async def _update_volatile(self, request: ExecRequest) -> bool:
        """`UPDATE t SET col = random()` on a REPLICATION table, each row's value computed
        once and given to every replica (executor/update_volatile.py)."""
        return await self._update_per_row(request, update_volatile)

    async def _update_nextval(self, request: ExecRequest) -> bool:
        """`UPDATE t SET col = nextval('s')` on a distributed table, each row its own value
        (executor/update_nextval.py)."""
        from gridpg.executor import update_nextval

        return await self._update_per_row(request, update_nextval)

    async def _update_per_row(self, request: ExecRequest, module: Any) -> bool:
        """An UPDATE whose values `module` (update_nextval, update_volatile) computes row by
        row, when it serves the statement and the routine guard has nothing to run for it
        (no trigger the coordinator fires, no user code reaching distributed tables)."""
        from gridpg.executor.multi import inline_params
        from gridpg.executor.run import catalog_view, search_path

        if request.max_rows:
            return False  # (a portal run in parts: the planner's path answers)
        path = search_path(self.dispatcher)
        catalog = catalog_view(self.dispatcher)
        update = module.served(request.sql, lambda ref: catalog.resolve(ref, path),
                               catalog.snapshot.volatile_functions)
        if update is None or await self.coord.routine_guard.check(self.dispatcher, request.sql, list(path)) is not None:
            return False
        if request.params:  # (the locking SELECT and the nodes' UPDATEs run as text)
            request = replace(request, sql=await inline_params(self.dispatcher, request, request.sql),
                              params=[], param_formats=[], param_oids=[], decode_oids=[])
        await module.run(self.dispatcher, request, update)
        if not self.txn.in_block and not self.pending_sync:
            self.txn.release_if_idle()
        return True

    def _is_distributed(self, relation: dict[str, Any]) -> bool:
        """Whether a statement's RangeVar names a distributed table (search_path order)."""
        from gridpg.executor.run import catalog_view, search_path
        from gridpg.planner.analyze import RelRef

        ref = RelRef(relation.get("schemaname"), relation["relname"], 0, None)
        return catalog_view(self.dispatcher).resolve(ref, search_path(self.dispatcher)) is not None

    def coordinator_port(self) -> int | None:
        """The port this coordinator listens on, where the client connected (the catalog
        server behind it listens on another)."""
        return connection_values.of_socket(None, self.session.stream.get_extra_info("sockname")).port

    def _show_port(self, request: ExecRequest) -> None:
        """SHOW port: the coordinator's."""
        port = self.coordinator_port()
        if request.simple:
            self.session.send(codec.build_row_description([codec.Column("port")]))
        self.session.send(codec.build_data_row([None if port is None else str(port).encode()]))
        self.session.send(codec.build_command_complete("SHOW"))

    async def _read_only_answer(self, request: ExecRequest) -> bool:
        """On a read-only coordinator: refuse writes (25006); SHOW transaction_read_only
        answers `on` (the catalog server, a primary, would say off)."""
        readonly.ensure_read_only(request.sql)
        name = readonly.shows_read_only(request.sql)
        if name is None:
            return False
        if request.simple:
            self.session.send(codec.build_row_description([codec.Column(name)]))
        self.session.send(codec.build_data_row([b"on"]))
        self.session.send(codec.build_command_complete("SHOW"))
        return True

    async def _transaction_control(self, control: sqlparse.TxnControl, request: ExecRequest) -> None:
        send, say = self.session.send, self.session.say
        kind = control.kind
        if kind == "begin":
            if self.txn.in_block and not self.implicit_block:
                say("there is already a transaction in progress", "WARNING", ACTIVE_SQL_TRANSACTION)
            else:
                self.implicit_block = False
                self.txn.begin(control.begin_sql)
            send(codec.build_command_complete("BEGIN" if not control.is_start else "START TRANSACTION"))
        elif kind in ("commit", "rollback"):
            if control.chain and (not self.txn.in_block or self.implicit_block):
                raise PgError(NO_ACTIVE_SQL_TRANSACTION,
                              f"{kind.upper()} AND CHAIN can only be used in transaction blocks")
            if not self.txn.in_block:
                say("there is no transaction in progress", "WARNING", NO_ACTIVE_SQL_TRANSACTION)
                send(codec.build_command_complete("COMMIT" if kind == "commit" else "ROLLBACK"))
                return
            await self.sync_pending()
            failed = self.txn.state is TxnState.FAILED
            chained = self.txn.chain_begin_sql()  # AND CHAIN keeps the characteristics
            if self.implicit_block:  # a multi-statement query's or a pipeline's block: PostgreSQL ends it, warning
                say("there is no transaction in progress", "WARNING", NO_ACTIVE_SQL_TRANSACTION)
            self.implicit_block = False
            if kind == "commit" and not failed:
                await self.end_transaction(commit=True)
                tag = "COMMIT"
            else:
                await self.end_transaction(commit=False)
                tag = "ROLLBACK"
            if control.chain:
                self.txn.begin(chained)
            send(codec.build_command_complete(tag))
        elif kind == "savepoint":
            self._ensure_block("SAVEPOINT")
            await self.sync_pending()
            await self.txn.savepoint(control.name)
            self.state.savepoint(control.name)
            self.notify.savepoint(control.name)
            send(codec.build_command_complete("SAVEPOINT"))
        elif kind == "rollback_to":
            self._ensure_block("ROLLBACK TO SAVEPOINT")
            await self.sync_pending()
            await self.txn.rollback_to(control.name)
            await stream_cursor.forget_rolled_back(self)
            if self.private_snapshot is not None:
                # the block's DDL after the savepoint is undone on the catalog server: plan
                # with the metadata as it is there now (a redistribution rolled back left the
                # table planned as replicated: one node's rows read, inserts refused)
                await self.reload_private_snapshot()
            self.state.rollback_to(control.name)
            self.notify.rollback_to(control.name)
            send(codec.build_command_complete("ROLLBACK"))
        elif kind == "release":
            self._ensure_block("RELEASE SAVEPOINT")
            await self.sync_pending()
            await self.txn.release(control.name)
            self.state.release(control.name)
            self.notify.release(control.name)
            send(codec.build_command_complete("RELEASE"))
        elif kind == "prepare":
            await self._prepare_transaction(control.name)
        elif kind in ("commit_prepared", "rollback_prepared"):
            await prepared.finish(self, control.name, commit=kind == "commit_prepared")
            send(codec.build_command_complete("COMMIT PREPARED" if kind == "commit_prepared" else "ROLLBACK PREPARED"))
        elif kind == "set_transaction":
            if control.snapshot is not None:
                txn = self.txn
                parts = exported.import_parts(
                    self, control.snapshot, queried=txn.in_block and bool(txn.participants),
                    isolation=txn.effective_isolation if txn.in_block
                    else txn.consistency.default_isolation if txn.consistency else None,
                    in_subtransaction=bool(txn.savepoints))
                if txn.in_block:  # (each remote block imports its node's part as it opens)
                    txn.imported_snapshot, txn.imported_at = parts, len(txn.local_settings)
                    await exported.open_imported(self, parts)
                    send(codec.build_command_complete("SET"))
                    return
            if self.txn.in_block:
                await self.txn.set_local(request.sql)
                self.txn.note_isolation(control.isolation)
            else:
                say("SET TRANSACTION can only be used in transaction blocks", "WARNING", NO_ACTIVE_SQL_TRANSACTION)
            send(codec.build_command_complete("SET"))

    async def _drop_of_missing_database(self, request: ExecRequest) -> bool:
        """DROP DATABASE [IF EXISTS] of a name no catalog server has: PostgreSQL's NOTICE or
        3D000 (commands/databases.py); in a block, its 25001."""
        dropped = databases.dropped_database(request.sql)
        if dropped is None:
            return False
        if self.txn.in_block or self.implicit_block:  # PostgreSQL's first check
            raise PgError(ACTIVE_SQL_TRANSACTION, "DROP DATABASE cannot run inside a transaction block")
        name, missing_ok = dropped
        if await databases.is_known(self.coord, name):
            return False
        self.session.say(databases.missing_answer(name, missing_ok))
        self.session.send(codec.build_command_complete("DROP DATABASE"))
        return True

    async def _prepare_transaction(self, gid: str) -> None:
        """PREPARE TRANSACTION: outside a block PostgreSQL warns; in a failed one it rolls back."""
        send, say = self.session.send, self.session.say
        if not self.txn.in_block:
            say("there is no transaction in progress", "WARNING", NO_ACTIVE_SQL_TRANSACTION)
            send(codec.build_command_complete("ROLLBACK"))
            return
        await self.sync_pending()
        self.implicit_block = False
        if self.txn.state is TxnState.FAILED:
            await self.end_transaction(commit=False)
            send(codec.build_command_complete("ROLLBACK"))
            return
        if self.notify.in_transaction:  # PostgreSQL's AtPrepare_Notify
            await self.end_transaction(commit=False)
            raise PgError(FEATURE_NOT_SUPPORTED,
                          "cannot PREPARE a transaction that has executed LISTEN, UNLISTEN, or NOTIFY")
        await prepared.prepare(self, gid)
        send(codec.build_command_complete("PREPARE TRANSACTION"))

    def _ensure_block(self, what: str) -> None:
        """Savepoints need an explicit block: an implicit one (several statements of one
        query string, or a pipeline before its Sync) refuses them, as PostgreSQL does."""
        if not self.txn.in_block or self.implicit_block:
            raise PgError(NO_ACTIVE_SQL_TRANSACTION, f"{what} can only be used in transaction blocks")

    async def sync_pending(self) -> None:
        """Settle the nodes' open extended cycles now (Sync to each, read to ReadyForQuery),
        in the middle of the client's own cycle. Only the client's Sync (`sync`) ends that
        cycle and with it a pipeline's implicit block: ending it here had committed the
        pipeline's statements before this one while the pipeline went on (an error after it
        no longer rolled them back, and the step that asked for the sync, a savepoint's
        RELEASE, then failed at the client's Sync: an extra ErrorResponse, psycopg's
        pipeline out of step)."""
        if not self.pending_sync:
            return
        error = await sync_cycles(self)
        if error is not None:
            self.session.send((await self.explain_cancel(error)).to_message())
            await self._statement_failed()

    async def _session_reset(self, request: ExecRequest) -> bool:
        """DEALLOCATE / DISCARD concern the client's session, which the coordinator keeps
        (session_commands.discard_or_deallocate); its temp tables go with DISCARD ALL/TEMP."""
        return await session_commands.discard_or_deallocate(self, request.sql)

    async def _set(self, setting: sqlparse.SetStatement, request: ExecRequest) -> None:
        """SET/RESET: validated on the catalog server, then kept for every node of the session."""
        await session_commands.run_set(self, setting, request)


def _is_session_reset(sql: str) -> bool:
    """DEALLOCATE ... / DISCARD ...: statements about the client's session (no parse)."""
    first = sql.lstrip()[:10].lower()
    return first.startswith(("deallocate", "discard"))



_ONLY = re.compile(r"\bonly\b", re.IGNORECASE)

_CLASSIFIED: dict[str, tuple[sqlparse.TxnControl | None, sqlparse.SetStatement | None]] = {}


def classify(sql: str) -> tuple[sqlparse.TxnControl | None, sqlparse.SetStatement | None]:
    """Transaction control and SET/RESET of a statement text, read once per text (BEGIN
    and COMMIT come back every transaction; their tokenizing cost more than routing)."""
    found = _CLASSIFIED.get(sql)
    if found is None:
        if len(_CLASSIFIED) > 4096:
            _CLASSIFIED.clear()
        found = _CLASSIFIED[sql] = (sqlparse.transaction_control(sql), sqlparse.set_statement(sql))
    return found


def _count_routed(started: float) -> None:
    """The fast paths bypass executor/run.execute, which counts planned statements."""
    metrics.ROUTER.observe(time.perf_counter() - started)


def _block_text(sql: str) -> str | None:
    """The prepared fast path's text of a statement inside a transaction block: its time
    calls read the block's instant from the node's setting (sql/xact_time.py); the text
    itself when it has none; None when it cannot (statement_timestamp())."""
    if not xact_time.statement_mentions_time(sql):
        return sql
    return xact_time.pin_to_setting(sql)


def _place_position(error: PgError, client_sql: str) -> None:
    """A node's error position, into the text the node ran, placed in the client's
    statement (sql/positions.py), or dropped when it cannot be."""
    fields = error.fields
    if not fields or "P" not in fields or error.text is None:
        return
    placed = positions.client_position(fields["P"], error.text, client_sql)
    error.fields = {k: v for k, v in fields.items() if k != "P"}
    if placed is not None:
        error.fields["P"] = placed
    error.text = None  # placed: relative to the client's statement now


_PORTAL_PARAMETER = re.compile(r"(?:unnamed portal|portal \"[^\"]*\") parameter \$(\d+)(?: = .*)?", re.DOTALL)


# Errors about a literal that PostgreSQL raises while the statement runs, not while it
# parses (a domain's CHECK or NOT NULL): no position points at the literal.
_RAISED_RUNNING = frozenset({"23514", "23502"})


def _place_parameter(error: PgError, statements: list[str]) -> None:
    """A node's error about a value that was one of the client's literals (the simple
    protocol's fast path sends them as parameters, planner/text.normalize_literals):
    PostgreSQL points at the literal; the node names its parameter instead ("unnamed
    portal parameter $2 = '...'"), which the client never wrote. That CONTEXT line is
    replaced by the literal's position in the statement (none when the statement's time
    calls were pinned as literals too: the numbering is not the client's then)."""
    fields = error.fields
    match = _PORTAL_PARAMETER.fullmatch(fields.get("W", "")) if fields and "P" not in fields else None
    index = getattr(error, "statement_index", 0 if len(statements) == 1 else None)
    if match is None or index is None:
        return
    error.fields = {k: v for k, v in fields.items() if k != "W"}
    client_sql = statements[index]
    if error.sqlstate in _RAISED_RUNNING:
        return  # PostgreSQL checks a domain's constraints as the statement runs: no position
    if not xact_time.statement_mentions_time(client_sql):
        start = literal_start(client_sql, int(match.group(1)))
        if start is not None:
            error.fields["P"] = str(start + 1)


def _offset_position(error: PgError, sql: str, statements: list[str]) -> None:
    """A position inside one statement of a query string, made relative to the whole
    string (as PostgreSQL reports it)."""
    fields = error.fields
    index = getattr(error, "statement_index", 0 if len(statements) == 1 else None)
    if not fields or "P" not in fields or index is None or not fields["P"].isdigit():
        return
    start = 0
    for number, text in enumerate(statements[:index + 1]):
        found = sql.find(text, start)
        if found < 0:
            error.fields = {k: v for k, v in fields.items() if k != "P"}
            return
        if number < index:
            start = found + len(text)
        else:
            start = found
    error.fields = {**fields, "P": str(int(fields["P"]) + start)}


def _result_type(row_description: bytes | None) -> list[tuple[str, int, int]] | None:
    """What PostgreSQL compares when it revalidates a prepared statement (equalRowTypes):
    each result column's name, type and typmod; not the table OID or column number a
    re-created table changes."""
    if row_description is None:
        return None
    return [(c.name, c.type_oid, c.type_mod)
            for c in codec.parse_row_description(row_description[5:])]
