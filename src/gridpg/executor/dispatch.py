"""From a statement to its execution: ask the planner, run the plan, write to the client.

The Dispatcher is the executor's entry: `run` hands the statement to executor/run.py,
which asks the pure planner for a `Plan` and runs it: relay for single-node plans,
scatter/merge for multi-node plans, the DDL propagator for utility statements. It also
answers Describe from the catalog server, which holds every table's definition.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from gridpg.datanode.connection import BackendConnection
from gridpg.errors import PgError
from gridpg.executor import code_ddl, prepared, relay, routed, server_settings, stream_cursor
from gridpg.executor.run import run_statement, search_path
from gridpg.pgwire import codec
from gridpg.planner import text as planner_text
from gridpg.planner.context import BoundParams
from gridpg.planner.prepared import first_keyword
from gridpg.txn.transaction import is_insert

if TYPE_CHECKING:
    from gridpg.executor.routed import RoutedStatement
    from gridpg.frontend.coordinator import Coordinator
    from gridpg.frontend.statements import StatementRunner


@dataclass
class ExecRequest:
    """One statement to run, with its protocol context."""

    sql: str
    simple: bool
    params: list[bytes | None] = field(default_factory=list)
    param_formats: list[int] = field(default_factory=list)
    result_formats: list[int] = field(default_factory=list)
    param_oids: list[int] = field(default_factory=list)
    max_rows: int = 0
    portal: Any = None
    decode_oids: list[int] = field(default_factory=list)  # parameter types for decoding values
    # The statement as the client sent it (`sql` may be the planner's text: views inlined)
    client_sql: str | None = None

    def bound(self) -> BoundParams:
        """The parameter values as the planner reads them."""
        return BoundParams(tuple(self.params), tuple(self.param_formats),
                           tuple(self.decode_oids or self.param_oids))


class Dispatcher:
    """Runs statements for one session."""

    def __init__(self, coordinator: Coordinator, runner: StatementRunner) -> None:
        self.coord = coordinator
        self.runner = runner

    @property
    def session(self) -> Any:
        return self.runner.session

    async def run(self, request: ExecRequest) -> None:
        if self.coord.planner is None:
            await self.run_on_node(self.coord.catalog_node, request, writes=False)
            return
        if "prepared_statements" in request.sql.lower():
            request = await prepared.with_session_statements(self, request)
        if "pg_cursors" in request.sql.lower():
            request = await prepared.with_session_cursors(self, request)
        if "pg_settings" in request.sql.lower() and not self.runner.is_loopback:
            request = server_settings.with_coordinator_settings(request, self.runner.coordinator_port())
        await code_ddl.run_retrying(self, request, lambda: self._run_checked(request))

    async def _run_checked(self, request: ExecRequest) -> None:
        if await self.coord.routine_guard.before(self, request, list(search_path(self))):
            return
        await run_statement(self, request)

    # -- single node -------------------------------------------------------------------

    async def run_on_node(self, node: str, request: ExecRequest, writes: bool, sql: str | None = None) -> relay.RelayResult:
        """Run the statement (or `sql`) on one node and relay the answer to the client."""
        txn = self.runner.txn
        conn = await txn.connection(node, wants_block=False)
        if writes:
            txn.mark_written(node)
        text = sql if sql is not None else request.sql
        emit = self.session.send
        if request.simple:
            await conn.settle()
            # A cancel that came while the statement was planned found no node to tell: the
            # statement stops here, as PostgreSQL's at its next interrupt check (from here
            # on the node is told: the connection is one of the transaction's).
            self.runner.check_interrupts()
            instant = txn.instant_to_give(conn, text) if writes else None
            relay.start_simple(conn, text, instant)
            result = await relay.finish_simple(conn, emit, skip=instant is not None)
            if result.copy_in:
                result = await self.relay_copy_in(conn, result)
        else:
            self.runner.check_interrupts()  # (as above)
            instant = None
            if request.portal is not None and request.portal.cursor is not None:
                conn = request.portal.cursor
                # (the piece after a PortalSuspended: the node's portal, named as it was bound)
                conn.send(codec.build_execute(relay.portal_name(request.portal.name), request.max_rows) + codec.FLUSH)
            else:
                portal_name = ""
                if request.max_rows and request.portal is not None:
                    portal_name = relay.portal_name(request.portal.name)
                    request.portal.node_portals.append((node, conn))  # (closed with the client's)
                # The client's Sync already waits in our buffer: send the node's with this.
                sync_now = (not request.max_rows and node not in self.runner.pending_sync
                            and self.session.frames.peek_type() == 0x53)
                instant = txn.instant_to_give(conn, text) if writes else None
                relay.start_extended(
                    conn, text, request.param_oids, request.params, request.param_formats,
                    request.result_formats, request.max_rows, portal_name, sync=sync_now,
                    catalog=node == self.coord.catalog_node, instant=instant,
                )
                if sync_now:
                    self.runner.presynced.add(node)
            self.runner.pending_sync[node] = conn
            result = await relay.finish_extended(conn, emit, skip=instant is not None)
            if request.portal is not None:
                request.portal.cursor = conn if result.suspended else None
            if result.extra and not result.copy_in:  # COPY TO STDOUT: relayed as PostgreSQL sends it
                emit(result.extra[0])
                result = await relay.finish_copy_out(conn, emit)
            elif result.copy_in:
                raise PgError("0A000", "COPY is not supported in the extended query protocol by gridpg")
        if result.error is not None:
            raise result.error
        return result

    async def run_routed(self, portal: Any, route: RoutedStatement) -> bool:
        """The prepared fast path: the portal's Bind bytes to the node its values pin, the
        answer relayed. False (nothing sent) when the values do not pin one node."""
        planner = self.coord.planner
        assert planner is not None
        txn = self.runner.txn
        written = txn.shard_writes if route.writes and txn.in_block else None
        target = route.target(planner, portal.params, portal.param_formats, written)
        if target is None:
            return False
        group, route = target
        if route.writes and txn.is_instant_unread_in(self.coord.catalog_node):
            await txn.read_block_instant(self.coord.catalog_node)  # (before the node joins)
        if route.block is not None and txn.in_block:
            await txn.read_block_instant(self.coord.catalog_node)
            if not self.runner.has_block_instant(route, group):
                return False  # the general path gives the instant as a literal
        # The client's Sync already waits in our buffer: send the node's with this.
        sync_now = group not in self.runner.pending_sync and self.session.frames.peek_type() == 0x53
        await self.run_routed_on(group, route, portal.bind_tail, sync_now)
        return True

    async def run_routed_on(self, group: str, route: RoutedStatement, bind_tail: bytes,
                            sync_now: bool) -> None:
        """The prepared fast path on the node the values pin: Bind (+ Sync when `sync_now`)
        sent, the answer relayed; the node's error raised."""
        conn = await self.runner.txn.connection(group, wants_block=False)
        self.start_routed_on(conn, group, route, bind_tail, sync_now)
        await self.finish_routed_on(conn, group, sync_now)

    def start_routed_on(self, conn: BackendConnection, group: str, route: RoutedStatement,
                        bind_tail: bytes, sync_now: bool) -> None:
        """`run_routed_on`'s send: the node's Bind + Execute (+ Sync), the cycle noted."""
        runner = self.runner
        if route.writes:
            runner.txn.mark_written(group, locks_rows=route.locks_rows)
        route = route.for_block(runner.txn.in_block)
        relay.start_routed(conn, route, bind_tail, sync_now)
        if sync_now:
            runner.presynced.add(group)
        runner.pending_sync[group] = conn

    async def finish_routed_on(self, conn: BackendConnection, group: str, sync_now: bool) -> None:
        """`run_routed_on`'s receive: the answer relayed, the node's error raised."""
        result = await relay.finish_extended(conn, self.session.send, through_ready=sync_now)
        if result.synced:  # its ReadyForQuery read already: the client's Sync has no read left
            self.routed_synced(group)
        if result.copy_in or result.extra:
            raise PgError("0A000", "COPY is not supported in the extended query protocol by gridpg")
        if result.error is not None:
            raise result.error

    def routed_synced(self, group: str) -> None:
        """The node's cycle is over (its ReadyForQuery taken with the answer)."""
        runner = self.runner
        del runner.pending_sync[group]
        runner.presynced.discard(group)

    async def run_simple_routed(self, group: str, sql: str, writes: bool,
                                prepared: tuple[str, tuple[int, ...], list[str | None]] | None,
                                form: tuple[str, tuple[int, ...]] | None = None) -> None:
        """The simple protocol's fast path: the statement to its node (as its literal-free
        form prepared there, bound with the literals, when `prepared`), answer relayed.
        `form`: the literal-free form whose Parse is known to succeed or not (`PREPARABLE`),
        when `prepared` sends its shard's text (same columns, same types: the same outcome)."""
        txn = self.runner.txn
        conn = await txn.connection(group, wants_block=False)
        if writes:
            txn.mark_written(group, locks_rows=not is_insert(sql))
        await conn.settle()
        if form is None and prepared is not None:
            form = (prepared[0], prepared[1])
        known = None if form is None else routed.PREPARABLE.get(form)
        if form is not None and (known is False or (known is None and txn.in_block)):
            prepared = None  # a form not known to prepare: not where a failure would abort
        # (the pinned instant is one of the literals the prepared form is bound with)
        instant = txn.instant_to_give(conn, sql) if writes else None
        if prepared is not None:
            relay.start_simple_prepared(conn, *prepared, instant=instant)
        else:
            relay.start_simple(conn, sql, instant)
        result = await relay.finish_simple(conn, self.session.send, skip=instant is not None)
        if prepared is not None and known is None:
            # The first use of this literal-free form: a Parse that failed (a parameter
            # whose type the literal's context does not give) ran nothing; run the text.
            failed = result.error is not None and not result.parse_complete
            routed.note_preparable(form, not failed)  # type: ignore[arg-type]
            if failed:
                relay.start_simple(conn, sql, instant)
                result = await relay.finish_simple(conn, self.session.send, skip=instant is not None)
        if result.copy_in:
            result = await self.relay_copy_in(conn, result)
        if result.error is not None:
            raise result.error

    async def run_on_node_synced(self, node: str, request: ExecRequest, sql: str,
                                 emit: Any = None) -> None:
        """Extended-protocol run that Syncs the node at once (multi-step plans)."""
        conn = await self.runner.txn.connection(node, wants_block=False)
        await conn.settle()
        relay.start_extended(conn, sql, request.param_oids, request.params, request.param_formats,
                             request.result_formats, 0)
        conn.send(codec.SYNC)
        conn.in_cycle = False
        result = await relay.finish_extended(conn, emit or self.session.send)
        while True:
            kind, raw = await conn.recv_raw()
            if kind == 0x5A:
                conn.txn_status = raw[5:6]
                break
        if result.error is not None:
            raise result.error

    async def relay_copy_in(self, conn: BackendConnection, result: relay.RelayResult,
                            emit: Callable[[bytes], None] | None = None) -> relay.RelayResult:
        """COPY FROM STDIN to one node: the client's CopyData goes through as it is; the
        node's answer to `emit` (the client by default)."""
        self.session.send(result.extra[0])
        while True:
            kind, payload = await self.session.read_copy_data()
            if kind == 0x64:
                conn.send(codec.build_copy_data(payload))
            elif kind == 0x63:
                conn.send(codec.COPY_DONE)
                break
            else:
                conn.send(codec.message(b"f", payload))
                break
        done = await relay.finish_simple(conn, emit or self.session.send)
        if emit is not None and done.error is not None:
            raise done.error
        return done

    # -- describe ----------------------------------------------------------------------

    async def describe(self, sql: str, param_oids: list[int]) -> tuple[list[int], bytes | None]:
        if first_keyword(sql) == "execute":  # the session's statement, never cached here
            described = await prepared.describe_execute(self, sql)
            if described is not None:
                return described
        if first_keyword(sql) == "fetch":  # of a cursor of this session: never cached here
            streamed = stream_cursor.description_of(self.runner, sql)
            if streamed is not None:
                return [], streamed
            held = self.coord.catalog_node in self.runner.txn.participants
            conn = await self.runner.txn.connection(self.coord.catalog_node, wants_block=False)
            try:
                return await describe_on(conn, sql, param_oids, self.coord.planner is not None)
            finally:
                self.runner.txn.release_lookup(self.coord.catalog_node, held)
        key = (sql, tuple(param_oids), self.runner.settings.get("search_path", ""))
        txn = self.runner.txn
        node = self.coord.catalog_node
        # The cache is the process's, cleared when committed DDL changes the catalog epoch.
        # A block that ran DDL describes on its own connection, which sees its uncommitted
        # objects: such an answer is that block's alone (after a ROLLBACK, a type OID it
        # named was sent to the datanodes: XX000 "cache lookup failed for type"; the same
        # INSERT in another session took it too), and an answer cached before its DDL may
        # be stale in it (a column's new type). A session holding its own catalog connection
        # (temp tables, temp types and functions: pg_temp comes first in its search path)
        # describes there, and its answer is its own too: a temp table test_type(col bigint)
        # was described as the int4 column of another session's dropped test_type, and a
        # client read the bigint through int4's parser (node-postgres: a Number, its low
        # digits lost).
        own = txn.participants.get(node)
        private = (own is not None and own.wrote) or node in txn.pinned
        cached = None if private else self.coord.describe_cache.get(key)
        if cached is not None:
            return cached
        held = node in txn.participants
        conn = await txn.connection(node, wants_block=False)
        try:
            answer = await describe_on(conn, sql, param_oids, self.coord.planner is not None)
        finally:
            txn.release_lookup(node, held)
        if private:
            return answer
        if len(self.coord.describe_cache) > 10000:
            self.coord.describe_cache.clear()
        self.coord.describe_cache[key] = answer
        return answer


async def describe_on(conn: BackendConnection, sql: str, param_oids: list[int],
                      planned: bool = True) -> tuple[list[int], bytes | None]:
    """Parameter types and RowDescription of `sql`, described (not run) on `conn`."""
    describe_sql = planner_text.describe_sql(sql) if planned else sql
    if "create_distributed_function" in sql.lower():
        from gridpg.planner.calls import describe_stand_in

        describe_sql = describe_stand_in("create_distributed_function", sql)
    await conn.settle()
    conn.send(codec.build_parse("", describe_sql, param_oids) + codec.build_describe("S", "") + codec.SYNC)
    oids: list[int] = []
    row_desc: bytes | None = None
    error: PgError | None = None
    while True:
        kind, raw = await conn.recv_raw()
        if kind == 0x74:
            oids = codec.parse_parameter_description(raw[5:])
        elif kind == 0x54:
            row_desc = raw
        elif kind == 0x45:
            error = PgError.from_fields(codec.parse_error_fields(raw[5:]), None)
        elif kind == 0x5A:
            conn.txn_status = raw[5:6]
            break
    if error is not None:
        raise error
    return oids, row_desc
