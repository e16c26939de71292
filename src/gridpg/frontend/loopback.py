"""The coordinator's side of the loopback: a catalog server's postgres_fdw connection that
runs its statements on the transaction of the session whose server-side code it serves.

A connection whose application_name is `gridpg-lb:<worker>:<token>` (set by
`executor/loopback.run_call`) is a loopback. On another worker of the coordinator it is
handed over, bytes unchanged, through that worker's Unix socket. It must log in as the
cluster superuser with the password (the user mapping's, never the client's trust), come
from the catalog server's address, and present a token registered for a session that is
running a call right now. Then its `LoopbackRunner` shares that session's
`DistributedTransaction` and settings:

* postgres_fdw's transaction commands are answered without effect: `START TRANSACTION`,
  `COMMIT`, `ABORT` (the caller's COMMIT or ROLLBACK decides, the catalog server's own
  commit reaches here while the caller commits); its SETs (search_path, TimeZone,
  DateStyle ...) too: its statements name every table with its schema, and the values
  come back in the caller's formats, which the catalog server reads with the same
  settings;
* its savepoints (`SAVEPOINT sN`, `ROLLBACK TO` / `RELEASE`, what a PL/pgSQL EXCEPTION block
  makes) become savepoints of the caller's transaction on every node (named
  `gridpg_lb_sN`) while the call runs; after it, the caller's own savepoint commands have
  already done the work on the nodes;
* its cursors (`DECLARE cN CURSOR FOR ...`, `FETCH n FROM cN`, `MOVE BACKWARD ALL`, `CLOSE`)
  run the query through gridpg's planner and serve the rows from memory; a query that
  reads `ctid` (postgres_fdw's way to update rows it could not send as one statement) is
  refused: a ctid names a row only within one table on one node;
* every other statement goes through the whole pipeline (routine guard, planner,
  executor) on the caller's transaction, except that nothing may use the caller's catalog
  connection, which is busy running the function: Describe uses a connection of the
  coordinator's own, and a plan that needs the catalog server fails with 0A000.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from typing import TYPE_CHECKING, Any

from gridpg.errors import FEATURE_NOT_SUPPORTED, INVALID_AUTHORIZATION, PgError, fatal
from gridpg.executor import prepared
from gridpg.executor.dispatch import Dispatcher, ExecRequest
from gridpg.executor.loopback import APP_PREFIX, end_within_call, parse_application_name
from gridpg.frontend import by_ctid, readonly
from gridpg.frontend.auth import authenticate
from gridpg.frontend.session import ClientClosed
from gridpg.frontend.statements import StatementRunner
from gridpg.frontend.temps import SessionTemps
from gridpg.pgwire import codec
from gridpg.planner import analyze
from gridpg.planner import prepared as reading
from gridpg.sql import parse as sqlparse
from gridpg.sql import shadow_only
from gridpg.sql.quote import quote_ident

if TYPE_CHECKING:
    from gridpg.catalog.model import CatalogSnapshot
    from gridpg.datanode.connection import BackendConnection
    from gridpg.frontend.session import Portal, PreparedStatement, Session

SAVEPOINT_PREFIX = "gridpg_lb_"
_WRITE_KINDS = frozenset({"InsertStmt", "UpdateStmt", "DeleteStmt", "MergeStmt", "TruncateStmt"})
_NO_DATA_WORDS = frozenset({"declare", "fetch", "move", "close", "set", "savepoint", "release",
                            "rollback", "commit", "start", "begin", "abort", "deallocate"})


class HandedOver(ClientClosed):
    """The connection was served by another worker; this session ends quietly."""


def is_loopback(params: dict[str, str]) -> bool:
    return params.get("application_name", "").startswith(APP_PREFIX)


async def begin(session: Session, params: dict[str, str]) -> None:
    """Authenticate a loopback connection and bind it to its caller's transaction."""
    coord = session.coord
    parsed = parse_application_name(params.get("application_name", ""))
    if parsed is None:
        raise fatal(INVALID_AUTHORIZATION, "invalid gridpg loopback connection")
    worker, token, pid = parsed
    if worker != coord.worker:
        await _hand_over(session, params, worker)
        raise HandedOver()
    user = params.get("user", "")
    if user != coord.catalog_address.user or not _from_catalog_server(session):
        raise fatal(INVALID_AUTHORIZATION, "invalid gridpg loopback connection")
    await authenticate(user, coord.lookup_role, session._send_now, session._read_password, trust=False)
    caller = coord.loopback_tokens.claim(token)
    if caller is None or caller.loopback_calls <= 0:
        raise fatal(INVALID_AUTHORIZATION, "gridpg loopback token is not valid now")
    bind(session, caller, token, pid)
    session.info.backend_pid, session.info.backend_key = coord.register_session(session)
    session.send(codec.build_auth(codec.AUTH_OK))
    for name, value in caller.reported_parameters().items():
        session.send(codec.build_parameter_status(name, value))
    session.send(codec.build_backend_key(session.info.backend_pid, session.info.backend_key))
    session.send_ready()
    await session.flush()


def bind(session: Session, caller: StatementRunner, token: str, pid: int | None) -> LoopbackRunner:
    """The loopback session serves `caller`'s call (as its user), from catalog backend `pid`."""
    session.info.user = caller.session.info.user
    session.info.is_superuser = caller.session.info.is_superuser
    running = caller.txn.participants.get(session.coord.catalog_node)
    if running is not None:
        running.called_back = True
    runner = LoopbackRunner(session.coord, session, caller, token, pid)
    session.runner = runner
    return runner


def _from_catalog_server(session: Session) -> bool:
    """A forwarded connection (Unix socket, from a sibling worker) or one from the catalog
    server's host."""
    peer = session.client_addr
    if peer is None:
        return True
    host = session.coord.catalog_address.host
    local = ("127.0.0.1", "::1", "localhost", "::ffff:127.0.0.1")
    return peer == host or (host in local and peer in local)


async def _hand_over(session: Session, params: dict[str, str], worker: int) -> None:
    """Pipe the connection to the worker that owns the token."""
    coord = session.coord
    if coord.cancel_socket_dir is None:
        raise fatal(INVALID_AUTHORIZATION, "invalid gridpg loopback connection")
    try:
        reader, writer = await asyncio.open_unix_connection(coord.loopback_socket(worker))
    except OSError as exc:
        raise fatal(INVALID_AUTHORIZATION, f"gridpg loopback worker {worker} unreachable: {exc}") from None
    writer.write(codec.build_startup(params))
    leftover = session.frames.take_buffered()
    if leftover:
        writer.write(leftover)

    async def pump(src: Any, dst: Any) -> None:  # StreamReader/Writer or the ClientStream
        with contextlib.suppress(ConnectionError, OSError):
            while True:
                data = await src.read(262144)
                if not data:
                    break
                dst.write(data)
                await dst.drain()
        with contextlib.suppress(Exception):
            dst.close()

    await asyncio.gather(pump(session.stream, writer), pump(reader, session.stream))


class _LoopbackTxn:
    """The caller's transaction, with a catalog connection of its own: the caller's is busy
    running the code. That one serves the steps plans run on the catalog server over rows
    gathered from the nodes (partial aggregates, coordinator finish), outside any block;
    what would need the caller's catalog transaction itself is refused."""

    def __init__(self, txn: Any, busy: str, caller: Any = None, in_call: Any = None) -> None:
        object.__setattr__(self, "_txn", txn)
        object.__setattr__(self, "_busy", busy)
        object.__setattr__(self, "_caller", caller)
        object.__setattr__(self, "_in_call", in_call)
        object.__setattr__(self, "side", None)

    def busy_node(self) -> str:
        """The caller's catalog server, whose connection is running the code."""
        return str(object.__getattribute__(self, "_busy"))

    def _ensure_in_call(self) -> None:
        """A datanode connection only while the caller's call runs: after it, the caller's
        transaction may be over (rolled back when its client left or its statement was
        cancelled), and a connection from it would be a new one, outside any block: a
        statement of the code still on its way (its Describe waited for a lock) wrote in
        autocommit, committed, though the caller's transaction never was."""
        in_call = object.__getattribute__(self, "_in_call")
        if in_call is not None and not in_call():
            raise PgError(FEATURE_NOT_SUPPORTED, "the gridpg loopback's function call has ended")

    def connection_now(self, node: str, setup_now: Any) -> BackendConnection | None:
        if node != self._busy:
            self._ensure_in_call()
        if getattr(self._caller, "loopback_role", None) is not None \
                and node not in self._caller.loopback_switched:
            return None  # the general path sets the role first
        return self._txn.connection_now(node, setup_now)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._txn, name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self._txn, name, value)

    async def read_block_instant(self, catalog_node: str) -> None:
        """The caller's catalog connection is running the code: its transaction start cannot
        be read now (waiting for it would wait for ourselves). The block keeps the instant
        it has (the coordinator's clock at BEGIN), as a block that reaches the catalog
        server only after its instant was used does."""
        if catalog_node != self._busy:
            await self._txn.read_block_instant(catalog_node)
            return
        self._txn.xact_stamp_read = True

    async def connection(self, node: str, wants_block: bool, maps: bool = True) -> BackendConnection:
        if node != self._busy:
            self._ensure_in_call()
            role = getattr(self._caller, "loopback_role", None)
            if role is None:
                return await self._txn.connection(node, wants_block, maps)
            # SECURITY DEFINER code: its statements run as the owner here too (SET LOCAL in
            # the caller's block; loopback.run_call puts the caller's role back after)
            conn = await self._txn.connection(node, True, maps)
            switched = self._caller.loopback_switched
            if node not in switched:
                await conn.settle()
                # (the backend logged in as the superuser; the caller's authorization may not
                # SET ROLE to the owner)
                await conn.simple_query(f"SET LOCAL SESSION AUTHORIZATION {quote_ident(role)}")
                switched.add(node)
            return conn
        part = self._txn.participants.get(node)
        if part is not None and part.aside:  # a statement's own block on a side connection
            return await self._txn.connection(node, wants_block, maps)
        if wants_block:
            raise PgError(FEATURE_NOT_SUPPORTED,
                          "gridpg cannot run this statement of server-side code: it needs the "
                          "catalog server inside the caller's transaction, which is running the code")
        side = object.__getattribute__(self, "side")
        if side is None or side.is_closed:
            pool = self._txn.pools.pool(node)
            side = await pool.acquire()
            pool.detach(side)  # closed when the loopback ends, never pooled
            object.__setattr__(self, "side", side)
            await self._txn.session_setup(side)
        return side

    def close_side(self) -> None:
        side = object.__getattribute__(self, "side")
        if side is not None:
            side.close()
            object.__setattr__(self, "side", None)


class _NoTemps(SessionTemps):
    """A loopback names every table with its schema: no temp names to track."""

    async def before_statement(self, sql: str) -> None:
        return None

    def transaction_ended(self) -> None:
        return None


class LoopbackDispatcher(Dispatcher):
    """Describe on a catalog connection of the coordinator's own."""

    async def describe(self, sql: str, param_oids: list[int]) -> tuple[list[int], bytes | None]:
        from gridpg.executor.dispatch import describe_on

        coord = self.coord
        key = (sql, tuple(param_oids), "\0loopback")  # names are schema-qualified
        cached = coord.describe_cache.get(key)
        if cached is not None:
            return cached
        caller = self.runner.caller  # type: ignore[attr-defined]
        changed = caller.private_snapshot is not None
        if changed and self._names_only_tables(sql):
            return await self._describe_in_block(sql, param_oids)
        conn = await coord.internal_acquire(coord.catalog_node)
        pool = coord.pools.pool(coord.catalog_node)
        try:
            if changed:
                # What the caller's block changed is locked by it until its end, which waits
                # for this very code: a wait here would never end.
                await conn.simple_query(f"SET lock_timeout = {_CHANGED_LOCK_WAIT_MS}")
            try:
                answer = await describe_on(conn, sql, param_oids, coord.planner is not None)
            finally:
                if changed:
                    await conn.simple_query("RESET lock_timeout")
        except PgError as exc:
            pool.release(conn)
            if changed and exc.sqlstate == _LOCK_NOT_AVAILABLE:
                raise PgError(FEATURE_NOT_SUPPORTED,
                              "gridpg cannot run this statement of server-side code: it reads "
                              "what the caller's transaction changed the schema of, besides its "
                              "distributed tables", hint="Commit the schema change first.") from None
            raise
        except BaseException:
            pool.discard(conn)
            raise
        pool.release(conn)
        if changed:
            return answer  # (the caller's block may have changed what it names: not cached)
        if len(coord.describe_cache) > 10000:
            coord.describe_cache.clear()
        coord.describe_cache[key] = answer
        return answer

    def _names_only_tables(self, sql: str) -> bool:
        """Whether every relation `sql` names (postgres_fdw names them with their schema) is
        a distributed table of the caller's block's catalog: then every datanode holds it as
        the block left it."""
        tree = _tree(sql)
        if not tree:
            return False
        snapshot = self.runner.snapshot()
        names = analyze.relations(tree)
        return bool(names) and all(
            r.schema is not None and snapshot.table(r.schema, r.name) is not None for r in names)

    async def _describe_in_block(self, sql: str, param_oids: list[int]) -> tuple[list[int], bytes | None]:
        """Describe a statement of the code naming what the caller's block created (a table,
        a column): on a datanode inside the caller's transaction, which holds the block's
        DDL (the caller's catalog connection is busy running the code), its OIDs mapped to
        the catalog server's. An error there fails the node's block, as the statement's own
        error would (a savepoint of the code's EXCEPTION block rolls both back)."""
        from gridpg.executor.dispatch import describe_on

        snapshot = self.runner.snapshot()
        node = next((g.primary for g in snapshot.datanode_group_list if g.primary), None)
        if node is None:
            raise PgError(FEATURE_NOT_SUPPORTED, "no datanode primary to describe the statement on")
        conn = await self.runner.txn.connection(node, wants_block=True)
        oids, row_desc = await describe_on(conn, sql, param_oids, self.coord.planner is not None)
        type_map = conn.type_map
        oids = [type_map.get(oid, oid) for oid in oids]
        if row_desc is not None and conn.maps_row_descriptions:
            row_desc = conn.client_row_description(row_desc)
        return oids, row_desc


_CHANGED_LOCK_WAIT_MS = 2000
_LOCK_NOT_AVAILABLE = "55P03"


class LoopbackRunner(StatementRunner):
    """Runs a loopback connection's statements on its caller's transaction."""

    async def explain_cancel(self, error: PgError) -> PgError:
        """Every error sent to postgres_fdw passes here: noted for the caller, whose
        client gets it back through postgres_fdw without the schema, table, column, data
        type and constraint names (`routines.with_loopback_names`)."""
        error = await super().explain_cancel(error)
        self.caller.loopback_error = error
        return error

    def __init__(self, coordinator: Any, session: Session, caller: StatementRunner, token: str,
                 catalog_pid: int | None = None) -> None:
        super().__init__(coordinator, session)
        self.caller = caller
        self.token = token
        self.catalog_pid = catalog_pid  # the catalog backend whose postgres_fdw connection this is
        self.is_loopback = True
        self.state = caller.state
        self.txn = _LoopbackTxn(caller.txn, coordinator.catalog_node, caller,  # type: ignore[assignment]
                                lambda: self.in_call)
        self.dispatcher = LoopbackDispatcher(coordinator, self)
        self.temps = _NoTemps(self)
        self.sequence_values = caller.sequence_values
        self.remote_block = False  # postgres_fdw's START TRANSACTION seen, no end yet
        self.cursors: dict[str, _Cursor] = {}
        self.row_ids: list[by_ctid.RowAddress] = []  # by_ctid: where each row number's row is

    # -- the caller's catalog ----------------------------------------------------------

    @property
    def private_snapshot(self) -> CatalogSnapshot | None:
        """The loopback's own (a plan's scratch tables), else the caller's: the code plans
        with the schema changes of the caller's block (StatementRunner.private_snapshot)."""
        own = self._private_snapshot
        caller = self.__dict__.get("caller")
        return own if own is not None or caller is None else caller.private_snapshot

    @private_snapshot.setter
    def private_snapshot(self, snapshot: CatalogSnapshot | None) -> None:
        StatementRunner.private_snapshot.fset(self, snapshot)  # type: ignore[attr-defined]

    def views(self) -> dict[tuple[str, str], str]:
        return self.caller.views() if self._private_snapshot is None else super().views()

    def rules(self) -> dict[tuple[str, str], Any]:
        return self.caller.rules() if self._private_snapshot is None else super().rules()

    # -- what the caller allows --------------------------------------------------------

    @property
    def in_call(self) -> bool:
        return self.caller.loopback_token == self.token and self.caller.loopback_calls > 0

    def _ensure_in_call(self) -> None:
        if not self.in_call:
            raise PgError(FEATURE_NOT_SUPPORTED, "the gridpg loopback's function call has ended")

    def txn_status(self) -> bytes:
        if not self.remote_block:
            return b"I"
        return b"E" if self.in_call and self.caller.txn.state.value == "E" else b"T"

    def in_block(self) -> bool:
        return self.remote_block

    async def close(self) -> None:
        self.cursors.clear()
        try:
            if self.pending_sync:
                await prepared.sync_cycles(self)
        finally:
            self.txn.close_side()

    # -- statements --------------------------------------------------------------------

    def read_text(self, sql: str) -> str:
        """postgres_fdw's text with the shadows' marked remote names read back (`ONLY t` for
        a table with inheritance children, its children's rows by `tableoid`:
        sql/shadow_only.py); every query and Parse passes here."""
        return shadow_only.rewrite(super().read_text(sql))

    async def _execute_routed(self, portal: Portal) -> bool:
        """The prepared fast path (postgres_fdw's INSERT/UPDATE/DELETE by key) does not pass
        through `_run`: its checks first (the caller's call still runs) and its writes
        counted, as `_run` does (a call that wrote through the loopback is not run again,
        executor/code_ddl.py)."""
        self._ensure_in_call()
        tree = _tree(portal.statement.sql)
        if tree and sqlparse.node_type(tree) in _WRITE_KINDS:
            self.caller.loopback_writes += 1
        return await super()._execute_routed(portal)

    async def _run(self, request: ExecRequest) -> None:
        control = sqlparse.transaction_control(request.sql)
        if control is not None:
            await self._control(control)
            return
        if sqlparse.set_statement(request.sql) is not None:
            self.session.send(codec.build_command_complete("SET"))
            return
        if await self._session_reset(request):
            return
        tree = _tree(request.sql)
        kind = sqlparse.node_type(tree) if tree else ""
        if kind != "ClosePortalStmt":  # (a scan's CLOSE may come when the caller's portal is
            self._ensure_in_call()     # dropped, after the call: its rows were all here)
        if kind in ("DeclareCursorStmt", "FetchStmt", "ClosePortalStmt"):
            await self._cursor(kind, tree[kind], request)
            return
        if kind in _WRITE_KINDS:
            self.caller.loopback_writes += 1  # (a retry of the call would write again)
        if kind in ("UpdateStmt", "DeleteStmt") and by_ctid.is_by_ctid(tree[kind]):
            self.txn.ensure_not_failed()
            await by_ctid.modify(self, kind, tree[kind], request)
            return
        self.txn.ensure_not_failed()
        if self.coord.read_only:
            readonly.ensure_read_only(request.sql)
        await self.dispatcher.run(request)

    async def _control(self, control: sqlparse.TxnControl) -> None:
        send = self.session.send
        kind = control.kind
        if kind == "begin":
            runner = self
            if not self.in_call and self.catalog_pid is not None:
                # postgres_fdw kept the connection: this transaction serves the session
                # that armed its backend now (LoopbackTokens), none when no call runs there
                caller = self.coord.loopback_tokens.armed_on(self.catalog_pid)
                if caller is not None:
                    await self.close()
                    runner = bind(self.session, caller, caller.loopback_token, self.catalog_pid)
            runner.remote_block = True
            send(codec.build_command_complete("START TRANSACTION" if control.is_start else "BEGIN"))
        elif kind in ("commit", "rollback"):
            # (while the coordinator fires triggers, the code's statement waits for them:
            # an end arriving then is the firing's own catalog block ending, not the code's)
            ending = self.remote_block and self.in_call and self.caller.call_ends_transactions \
                and self.caller.firing_depth == 0
            self.remote_block = False
            self.cursors.clear()
            if ending:  # the code's own COMMIT / ROLLBACK (or the end of its CALL)
                await self.sync_pending()
                await end_within_call(self.caller, commit=kind == "commit")
            send(codec.build_command_complete("COMMIT" if kind == "commit" else "ROLLBACK"))
        elif kind in ("savepoint", "rollback_to", "release"):
            await self._savepoint(kind, SAVEPOINT_PREFIX + control.name)
            send(codec.build_command_complete(
                {"savepoint": "SAVEPOINT", "rollback_to": "ROLLBACK", "release": "RELEASE"}[kind]))
        elif kind == "set_transaction":
            send(codec.build_command_complete("SET"))
        else:
            raise PgError(FEATURE_NOT_SUPPORTED, "two-phase commit through the gridpg loopback")

    async def _savepoint(self, kind: str, name: str) -> None:
        """Inside the call: the caller's savepoint on every node. After it (the caller's
        own ROLLBACK TO or RELEASE reached the catalog server): already done."""
        if not self.in_call:
            return
        txn = self.caller.txn
        busy = frozenset({self.coord.catalog_node})
        await self.sync_pending()
        if kind == "savepoint":
            await txn.savepoint(name, skip=busy)
            self.state.savepoint(name)
        elif any(s.name == name for s in txn.savepoints):
            if kind == "rollback_to":
                await txn.rollback_to(name, skip=busy)
                self.state.rollback_to(name)
                self.caller.loopback_switched.clear()  # a SET LOCAL ROLE after it is undone
            else:
                await txn.release(name, skip=busy)
                self.state.release(name)

    # -- cursors -----------------------------------------------------------------------

    async def _cursor(self, kind: str, body: dict[str, Any], request: ExecRequest) -> None:
        name = str(body.get("portalname") or "")
        send = self.session.send
        if kind == "DeclareCursorStmt":
            query = request.sql[prepared.cursor_query_start(request.sql):]
            self.txn.ensure_not_failed()
            caller = self.caller
            if caller.loopback_fetching and caller.txn.write_count != caller.loopback_call_writes:
                # postgres_fdw declares its remote cursor at the first fetch: PostgreSQL's
                # cursor reads as of its OPEN, this one would see the writes made since
                raise PgError(FEATURE_NOT_SUPPORTED, "gridpg cannot read a cursor that server-side code "
                              "opened over distributed tables after this transaction wrote rows: its "
                              "first FETCH would see those writes",
                              hint="FETCH from the cursor before the writes, or inside the function.")
            if _reads_gridpg_table(body.get("query"), "sequence_call"):  # the code's nextval() ...
                row_desc, rows = await self._sequence_call(body["query"])
            elif _reads_gridpg_table(body.get("query"), "redirect"):  # dynamic text (loopback_redirect)
                row_desc, rows = await self._redirect(body["query"])
            elif _reads_gridpg_table(body.get("query"), "statement"):  # an upsert (loopback_run)
                self.caller.loopback_writes += 1
                row_desc, rows = await self._statement(body["query"], request)
            elif _reads_ctid(body.get("query")):  # rows to update or delete one by one
                row_desc, rows = await by_ctid.select(self, query, request)
            else:
                row_desc, rows = await prepared._capture(self.dispatcher, request, query)
            self.cursors[name] = _Cursor(row_desc, rows)
            send(codec.build_command_complete("DECLARE CURSOR"))
        elif kind == "ClosePortalStmt":
            self.cursors.pop(name, None)
            send(codec.build_command_complete("CLOSE CURSOR"))
        else:
            cursor = self.cursors.get(name)
            if cursor is None:
                raise PgError("34000", f'cursor "{name}" does not exist')
            if body.get("ismove"):
                moved = cursor.position
                cursor.position = 0  # MOVE BACKWARD ALL: postgres_fdw's rescan
                send(codec.build_command_complete(f"MOVE {moved}"))
                return
            count = int(body.get("howMany") or 1)
            rows = cursor.rows[cursor.position: cursor.position + count]
            cursor.position += len(rows)
            if request.simple:
                send(cursor.row_desc)
            for row in rows:
                send(row)
            send(codec.build_command_complete(f"FETCH {len(rows)}"))

    async def _sequence_call(self, query: dict[str, Any]) -> tuple[bytes, list[bytes]]:
        """`SELECT value, answer FROM gridpg.sequence_call WHERE fn = ... AND seq = ... AND
        arg = ...` (what the catalog server's `gridpg_lb_calls.nextval()` and the other
        sequence functions read, executor/loopback.py): one row, the call's value for the
        caller's session (commands/sequences.loopback_call)."""
        from gridpg.commands.sequences import loopback_call

        body = query["SelectStmt"]
        where = body.get("whereClause") or {}
        fn, seq, arg = (_equality_constant(where, c) for c in ("fn", "seq", "arg"))
        if fn is None or seq is None or arg is None:
            raise PgError(FEATURE_NOT_SUPPORTED, "gridpg.sequence_call is read one call at a time")
        value, answer = await loopback_call(self.dispatcher, fn, seq, arg)
        known = {"fn": fn, "seq": seq, "arg": arg, "value": None if value is None else str(value), "answer": answer}
        columns, fields = [], []
        for target in body.get("targetList", []):
            ref = target.get("ResTarget", {}).get("val", {}).get("ColumnRef", {})
            column = (ref.get("fields") or [{}])[-1].get("String", {}).get("sval", "")
            columns.append(codec.Column(column or "?column?", type_oid=20 if column == "value" else 25))
            text = known.get(column)
            fields.append(None if text is None else text.encode())
        return codec.build_row_description(columns), [codec.build_data_row(fields)]

    async def _redirect(self, query: dict[str, Any]) -> tuple[bytes, list[bytes]]:
        """`SELECT r FROM gridpg.redirect WHERE sql = '...'` (what the catalog server's
        `gridpg.loopback_redirect` reads, sql/plpgsql_dynamic.py): one row, the dynamic
        statement's text naming shadows in place of distributed tables' schemas."""
        from gridpg.executor import dynamic_text
        from gridpg.executor.run import search_path

        body = query["SelectStmt"]
        where = body.get("whereClause") or {}
        sql, path = _equality_constant(where, "sql"), _equality_constant(where, "path")
        if sql is None:
            raise PgError(FEATURE_NOT_SUPPORTED, "gridpg.redirect is read one text at a time")
        sql = await self._prepared_statement_text(sql)
        text = await dynamic_text.redirect(self.dispatcher.coord, sql, search_path(self.dispatcher),
                                           None if path is None else path.split("\n"),
                                           _equality_constant(where, "rows") != "false")
        columns, fields = [], []
        for target in body.get("targetList", []):
            ref = target.get("ResTarget", {}).get("val", {}).get("ColumnRef", {})
            column = (ref.get("fields") or [{}])[-1].get("String", {}).get("sval", "")
            columns.append(codec.Column(column or "?column?", type_oid=25))
            fields.append((text if column == "r" else sql).encode())
        return codec.build_row_description(columns), [codec.build_data_row(fields)]

    async def _prepared_statement_text(self, sql: str) -> str:
        """A dynamic `[EXPLAIN ...] EXECUTE name(args)` of the caller's SQL-prepared statement: that
        statement's text with the arguments in place of its parameters
        (planner/prepared.execute_as_statement). The catalog server running the code does
        not hold the session's prepared statements (26000 before, or "cannot open EXECUTE
        query as cursor" in FOR ... IN EXECUTE). Any other text is returned as it is."""
        if "execute" not in sql.lower():
            return sql
        try:
            if len(sqlparse.split(sql)) != 1:
                return sql
            tree = sqlparse.parse_tree(sql)
        except PgError:
            return sql  # (PostgreSQL reports it)
        kind = sqlparse.node_type(tree)
        body = tree.get("ExecuteStmt") or (tree.get("ExplainStmt", {}).get("query") or {}).get("ExecuteStmt")
        statement = self.caller.session.statements.get(body["name"]) if body is not None else None
        if statement is None:
            return sql  # PostgreSQL's own 26000
        oids = await prepared.parameter_types(self.dispatcher, statement)
        names = await self.coord.type_names(oids, dispatcher=self.dispatcher) if oids else []
        return reading.execute_as_statement(sql, body["name"], statement.sql, names, kind)

    async def _statement(self, query: dict[str, Any], request: ExecRequest) -> tuple[bytes, list[bytes]]:
        """`SELECT r FROM gridpg.statement WHERE sql = '...' AND mode = '...'` (what the
        catalog server's `gridpg.loopback_run` reads, sql/plpgsql_upsert.py): the INSERT
        ... ON CONFLICT or MERGE run here, inside the caller's transaction; one row per row written
        (mode 'perform'), or the RETURNING rows as text[] (mode 'into': more than one is
        PL/pgSQL's P0003; mode 'rows': any number, for RETURN QUERY and FOR loops)."""
        body = query["SelectStmt"]
        where = body.get("whereClause") or {}
        sql, mode = _equality_constant(where, "sql"), _equality_constant(where, "mode")
        tree = _tree(sql or "")
        if mode not in ("perform", "into", "rows") or sqlparse.node_type(tree) not in ("InsertStmt", "MergeStmt") \
                or len(sqlparse.split(sql or "")) != 1:
            raise PgError(FEATURE_NOT_SUPPORTED,
                          "gridpg.statement runs one INSERT or MERGE of server-side code at a time")
        tag, fields = await _capture_rows(self.dispatcher, request, sql or "")
        if mode == "into" and len(fields) > 1:
            raise PgError("P0003", "query returned more than one row",
                          hint="Make sure the query returns a single row, or use LIMIT 1.")
        if mode == "perform":
            fields = [[] for _ in range(_tag_count(tag))]
        columns = [codec.Column("r", type_oid=1009)]
        rows = [codec.build_data_row([_text_array(f)]) for f in fields]
        return codec.build_row_description(columns), rows

    # -- extended protocol -------------------------------------------------------------

    async def check_bind(self, statement: PreparedStatement, bind: codec.Bind) -> None:
        return None  # postgres_fdw binds what it parsed; a wrong count fails at the node

    async def describe(self, statement: PreparedStatement) -> tuple[list[int], bytes | None]:
        words = statement.sql.lstrip().split(None, 1)
        if words and words[0].lower() in _NO_DATA_WORDS:
            return [], None
        return await super().describe(statement)


class _Cursor:
    def __init__(self, row_desc: bytes, rows: list[bytes]) -> None:
        self.row_desc = row_desc
        self.rows = rows
        self.position = 0


def _tree(sql: str) -> dict[str, Any]:
    try:
        return sqlparse.parse_tree(sql) or {}
    except PgError:
        return {}


def _reads_gridpg_table(query: Any, name: str) -> bool:
    """Whether a cursor's query scans `gridpg.<name>`, a table only the coordinator answers."""
    body = (query or {}).get("SelectStmt") or {}
    items = body.get("fromClause") or []
    var = items[0].get("RangeVar", {}) if len(items) == 1 else {}
    return var.get("schemaname") == "gridpg" and var.get("relname") == name


def _equality_constant(node: dict[str, Any], column: str) -> str | None:
    """The constant of `column = 'text'` (postgres_fdw writes `((seq = 'x'::text))`),
    also as one operand of an AND."""
    conjunction = node.get("BoolExpr") or {}
    if conjunction.get("boolop") == "AND_EXPR":
        found = [_equality_constant(arg, column) for arg in conjunction.get("args", [])]
        return next((f for f in found if f is not None), None)
    expr = node.get("A_Expr") or {}
    if [n.get("String", {}).get("sval") for n in expr.get("name", [])] != ["="]:
        return None
    ref = (expr.get("lexpr") or {}).get("ColumnRef", {})
    if (ref.get("fields") or [{}])[-1].get("String", {}).get("sval") != column:
        return None
    value = expr.get("rexpr") or {}
    value = (value.get("TypeCast") or {}).get("arg", value)
    const = value.get("A_Const", {})
    return str(const["sval"]["sval"]) if "sval" in const else None


async def _capture_rows(dispatcher: Dispatcher, request: ExecRequest,
                        sql: str) -> tuple[str, list[list[bytes | None]]]:
    """Run a statement through the coordinator: its command tag and its rows' text fields
    (notices go on to the client)."""
    session = dispatcher.session
    saved, session.out = session.out, []
    try:
        await dispatcher.run(dataclasses.replace(request, sql=sql, simple=True, params=[], param_formats=[],
                                                 param_oids=[], portal=None, result_formats=[], max_rows=0))
        captured = session.out
    finally:
        session.out = saved
    tag = ""
    rows: list[list[bytes | None]] = []
    for message in captured:
        kind = message[0]
        if kind == 0x44:
            rows.append(list(codec.parse_data_row(message[5:])))
        elif kind == 0x43:
            tag = bytes(message[5:]).rstrip(b"\0").decode()
        elif kind != 0x54:
            session.send(message)  # notices
    return tag, rows


def _tag_count(tag: str) -> int:
    last = tag.rsplit(" ", 1)[-1]
    return int(last) if last.isdigit() else 0


def _text_array(fields: list[bytes | None]) -> bytes:
    """A text[] literal of a row's text fields (NULL unquoted)."""
    items = [b"NULL" if f is None else b'"' + f.replace(b"\\", b"\\\\").replace(b'"', b'\\"') + b'"'
             for f in fields]
    return b"{" + b",".join(items) + b"}"


def _reads_ctid(query: Any) -> bool:
    for node in analyze._walk(query):
        if isinstance(node, dict) and "ColumnRef" in node:
            fields = node["ColumnRef"].get("fields", [])
            if fields and fields[-1].get("String", {}).get("sval") == "ctid":
                return True
    return False
