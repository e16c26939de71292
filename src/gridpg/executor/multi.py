"""Executing distributed plans: scatter/concat, two-phase combine, coordinator finish.

Rows move as raw bytes: DataRow messages are relayed to the client unchanged, and rows
that must be combined travel as COPY text from the datanodes' connections of the session's
own transaction into temp tables on the catalog server (so a transaction reads its own
writes). Writes that touch two or more nodes run in remote transaction blocks and commit
with 2PC.
"""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import functools
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from gridpg.datanode.connection import BackendConnection
from gridpg.errors import (
    FEATURE_NOT_SUPPORTED,
    INSUFFICIENT_PRIVILEGE,
    INTERNAL_ERROR,
    UNDEFINED_OBJECT,
    PgError,
)
from gridpg.executor import relay
from gridpg.executor.catalog_scratch import (
    block_catalog_after_ddl,
    gather_out_of_pg_temp,
    is_block_catalog,
    scratch_table,
)
from gridpg.executor.dml import copy, create_table_as, insert  # noqa: F401 - re-exported entries
from gridpg.executor.scratch import writable_catalog
from gridpg.pgwire import codec
from gridpg.planner.plan import SCRATCH_SCHEMA, DistributedPlan, LockBound, Strategy
from gridpg.planner.text import splice
from gridpg.sql.quote import quote_ident, quote_literal, quote_qualified
from gridpg.sql.xl import XlCommand
from gridpg.txn.fence import Started
from gridpg.txn.snapshot import abandon

if TYPE_CHECKING:
    from gridpg.executor.cursor_merge import SortedMerge
    from gridpg.executor.dispatch import Dispatcher, ExecRequest


async def execute_plan(dispatcher: Dispatcher, request: ExecRequest, plan: DistributedPlan) -> None:
    """Run a multi-node plan (its scratch names already bound); an unknown strategy is an
    error. A SELECT reading the tables of views it inlined runs with the view owners'
    rights where that is safe (executor/view_rights.py)."""
    if plan.view_sql is not None:
        from gridpg.executor import view_rights

        async with view_rights.owners_rights(dispatcher, plan):
            await _execute_plan(dispatcher, request, plan)
        return
    await _execute_plan(dispatcher, request, plan)


async def _execute_plan(dispatcher: Dispatcher, request: ExecRequest, plan: DistributedPlan) -> None:
    strategy = plan.strategy
    if strategy is Strategy.ROUTER:
        fragment = plan.fragments[0]
        await dispatcher.run_on_node(fragment.group, request, writes=plan.writes, sql=fragment.sql)
    elif strategy is Strategy.PUSHDOWN:
        relay_groups = {plan.fragments[0].group} if plan.replicated else None
        await _written(dispatcher, request, plan, lambda: scatter(dispatcher, request, plan, relay_groups))
    elif strategy in (Strategy.TWO_PHASE, Strategy.MERGE):
        if (strategy is Strategy.MERGE and not request.simple and request.max_rows
                and request.portal is not None and await NodePortals.start_merged(dispatcher, request, plan)):
            return  # Execute with a row limit: the nodes' ordered portals merged as read
        try:
            async with writable_catalog(dispatcher, scratch_only=True):
                await two_phase(dispatcher, request, plan)
        except RecordOutputError:
            await _finish_instead(dispatcher, request)
    elif strategy is Strategy.MOVE_ROWS:
        await move_rows(dispatcher, request, plan)
    elif strategy is Strategy.BROADCAST:
        await _written(dispatcher, request, plan, lambda: broadcast_write(dispatcher, request, plan))
    elif strategy is Strategy.LOCKING_SUBPLANS:
        from gridpg.executor import subplans

        await subplans.run_locking(dispatcher, request)
    elif strategy is Strategy.COORDINATOR_FINISH:
        async with writable_catalog(dispatcher) as side:
            if side:  # read-only: the datanodes cannot take an exchange's scratch tables
                await coordinator_finish(dispatcher, request, plan)
            else:
                await _exchange_or_finish(dispatcher, request, plan)
    else:
        raise PgError(INTERNAL_ERROR, f"gridpg cannot execute a {strategy} plan over several nodes")


async def _written(dispatcher: Dispatcher, request: ExecRequest, plan: DistributedPlan,
                   write: Callable[[], Awaitable[None]]) -> None:
    """Run a scattered or broadcast write; through a view, once the view is known plain
    (`_ensure_plain_view`) and with a row its node cannot keep said as gridpg's refusal
    (`_rows_left_in_place`)."""
    if plan.through_view is None:
        await write()
        return
    await _ensure_plain_view(dispatcher, *plan.through_view, events=_trigger_events(request.sql))
    with _rows_left_in_place(dispatcher):
        await write()


async def _ensure_plain_view(dispatcher: Dispatcher, schema: str, name: str, events: int = 28) -> None:
    """A write through a view runs on the datanodes only when PostgreSQL would write the
    view's table itself there: no INSTEAD OF triggers or rules of the view, nor of the
    views below it that it reads (they would run on each datanode, away from the tables
    they may write). `events`: pg_trigger.tgtype's bits of the write's events; triggers for
    other events do not fire (an UPDATE of a view with an INSTEAD OF INSERT trigger alone
    was refused). Views with INSTEAD OF triggers for the event are written on the catalog
    server instead (executor/view_instead.py). The view's own rules the coordinator applies
    (an action that writes or notifies, planner/rules.py) do not count when they are DO ALSO
    rules or rules of another event: the write is the original statement the rules keep,
    their actions run by the coordinator, and the datanodes' copies of the view do not hold
    them (planner/utility._rules_per_group). A conditional DO INSTEAD rule of the event
    makes the view not automatically updatable: PostgreSQL's 55000. A view below it keeps
    all its rules: PostgreSQL would apply them as it rewrites the write down to it, which
    gridpg does not."""
    from gridpg.executor.run import catalog_view, session_view

    ruled = catalog_view(dispatcher).rules.get((schema, name))
    event = {4: "insert", 8: "delete", 16: "update"}.get(events)
    if ruled is not None and event is not None and any(
            r.instead and r.condition is not None for r in ruled.firing(event, session_view(dispatcher).replica)):
        raise _not_automatically_updatable(name, event)
    applied = sorted(r.name for r in ruled.rules if r.on_coordinator and (not r.instead or r.event != event)) \
        if ruled is not None and event is not None else []  # (MERGE: PostgreSQL refuses a view with rules)
    own_rules = (f"AND NOT (r.ev_class = pg_catalog.to_regclass({quote_literal(quote_qualified(schema, name))}) AND r.rulename IN "
                 f"({', '.join(quote_literal(n) for n in applied)})) ") if applied else ""
    conn = await dispatcher.runner.txn.connection(dispatcher.coord.catalog_node, wants_block=False)
    await conn.settle()
    rows = await conn.query(
        "WITH RECURSIVE stack(oid) AS ("
        "SELECT c.oid FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
        f"WHERE n.nspname = {quote_literal(schema)} AND c.relname = {quote_literal(name)} "
        "UNION SELECT d.refobjid FROM stack JOIN pg_catalog.pg_rewrite r ON r.ev_class = stack.oid "
        "AND r.rulename = '_RETURN' JOIN pg_catalog.pg_depend d ON d.classid = 'pg_catalog.pg_rewrite'::regclass "
        "AND d.objid = r.oid AND d.refclassid = 'pg_catalog.pg_class'::regclass AND d.refobjid <> stack.oid "
        "JOIN pg_catalog.pg_class v ON v.oid = d.refobjid AND v.relkind = 'v') "
        "SELECT (SELECT count(*) FROM pg_catalog.pg_trigger t WHERE t.tgrelid IN (SELECT oid FROM stack) "
        f"AND t.tgtype::int & {int(events)} <> 0) + "
        "(SELECT count(*) FROM pg_catalog.pg_rewrite r WHERE r.ev_class IN (SELECT oid FROM stack) "
        f"AND r.rulename <> '_RETURN' {own_rules})")
    if rows and rows[0][0] not in (None, "0"):
        raise PgError(FEATURE_NOT_SUPPORTED, f'gridpg cannot write through view "{name}": it has '
                      "INSTEAD OF triggers or rules, which would run on each datanode",
                      hint="write the view's table directly")


@contextlib.contextmanager
def _rows_left_in_place(dispatcher: Dispatcher) -> Iterator[None]:
    """A write through a view runs on each datanode as written, PostgreSQL resolving the
    view there: an UPDATE that gives the distribution column (under its own name or any
    view column showing it) a value of another node's shard finds no partition on this
    node, PostgreSQL's 23514 "no partition of relation ... found for row" about a partition
    level the user never made. Said as what it is, gridpg's refusal (0A000, as for an
    inheritance member's placement check, errors._placement_refusal); a new value of a
    shard on the same node moves the row there, as PostgreSQL would. The partition key the
    datanode names must be the table's distribution column alone: a user's own partitioned
    table partitioned otherwise keeps PostgreSQL's error."""
    try:
        yield
    except PgError as exc:
        refusal = _shard_miss(dispatcher, exc)
        if refusal is None:
            raise
        raise refusal from exc


_NO_PARTITION = re.compile(r'^no partition of relation "(?P<table>.+)" found for row$')
_PARTITION_KEY = re.compile(r"^Partition key of the failing row contains \((?P<key>.+?)\) = ")


def _shard_miss(dispatcher: Dispatcher, exc: PgError) -> PgError | None:
    """gridpg's 0A000 for a datanode's 23514 about the shard level of a HASH table (above)."""
    from gridpg.errors import _placement_refusal

    found = _NO_PARTITION.match(exc.message or "")
    key = _PARTITION_KEY.match(exc.detail or "")
    if exc.sqlstate != "23514" or found is None or key is None:
        return None
    fields = dict(exc.fields or {})
    schema = fields.get("s")
    table = dispatcher.runner.snapshot().table(schema, found["table"]) if schema else None
    if table is None or table.method != "hash" or key["key"] != quote_ident(table.column or ""):
        return None
    fields.setdefault("t", table.name)
    out = _placement_refusal(fields)
    return PgError(out["C"], out["M"], out.get("D"), out.get("H"), node=exc.node, fields=out)


def _not_automatically_updatable(view: str, event: str) -> PgError:
    """PostgreSQL's 55000 for a write through a view whose rules for the event include a
    conditional DO INSTEAD one (rewriteHandler.c's view_query_is_auto_updatable is not
    consulted: such a view is not automatically updatable, whatever else it is)."""
    verb = {"insert": "insert into", "update": "update", "delete": "delete from"}[event]
    noun = {"insert": "inserting into", "update": "updating", "delete": "deleting from"}[event]
    return PgError("55000", f'cannot {verb} view "{view}"',
                   detail="Views with conditional DO INSTEAD rules are not automatically updatable.",
                   hint=f"To enable {noun} the view, provide an INSTEAD OF {event.upper()} trigger or an "
                        f"unconditional ON {event.upper()} DO INSTEAD rule.")


def _trigger_events(sql: str) -> int:
    """pg_trigger.tgtype's event bits of a write (INSERT 4, DELETE 8, UPDATE 16; all three
    when it cannot be read)."""
    from gridpg.sql import parse as sqlparse

    try:
        kind = sqlparse.node_type(sqlparse.parse_tree(sql))
    except PgError:
        return 28
    return {"InsertStmt": 4, "DeleteStmt": 8, "UpdateStmt": 16}.get(kind, 28)


async def _exchange_or_finish(dispatcher: Dispatcher, request: ExecRequest, plan: DistributedPlan) -> None:
    """Where the planner chose the coordinator finish: uncorrelated CTEs and scalar
    subqueries over distributed tables run first as plans of their own (recursive
    planning), else an exchange runs when one applies (it needs the datanodes' row
    estimates, read here), else the coordinator finish."""
    from gridpg.executor import exchange, subplans
    from gridpg.planner import tableoid

    if tableoid.MARKER in request.sql or getattr(plan, "catalog_oids", False):
        # the datanodes' copies would not know each row's table, nor the catalog's OIDs
        await coordinator_finish(dispatcher, request, plan)
        return
    request = _inlined(request, plan)
    recursive = await subplans.plan_recursive(dispatcher, request.sql)
    if isinstance(recursive, subplans.Recursive):
        try:
            await subplans.run_recursive(dispatcher, request, recursive, lazy=True)
            return
        except subplans.SubplanValueFailed as failed:
            # a sub-select's value failed where PostgreSQL may never have needed it: the
            # statement's transaction is gone with the error (outside a block), or the
            # block's nodes are rolled back to the savepoint taken before the subplans
            # (inside one), and it runs again by an exchange or the coordinator finish,
            # where PostgreSQL evaluates the sub-select when (and if) a row needs it
            # (docs/architecture.md, h-corpus27, h-silent28); in a loopback session, which
            # takes no savepoint, the nodes' transaction has failed and the error stands
            if dispatcher.runner.txn.in_block and getattr(dispatcher.runner, "is_loopback", False):
                raise failed.error from None
    staged = await exchange.plan_exchange(dispatcher, request, request.sql)
    if isinstance(staged, exchange.StagedPlan):
        await exchange.run_staged(dispatcher, request, staged)
        return
    await coordinator_finish(dispatcher, request, plan)


def _inlined(request: ExecRequest, plan: DistributedPlan) -> ExecRequest:
    """The request whose text is split or staged: when the client's reads views over
    distributed tables, the text that inlined them, which reads their tables (with the
    owners' rights, `execute_plan`); the client's text named no distributed table, so no
    subplan or exchange applied and every such view was gathered whole."""
    if plan.view_sql is not None and plan.sql:
        return dataclasses.replace(request, sql=plan.sql)
    return request


# -- pushdown: the same statement on every node, results concatenated -----------------


async def scatter(dispatcher: Dispatcher, request: ExecRequest, plan: DistributedPlan,
                  relay_groups: set[str] | None = None, commit: bool = True,
                  order: list[tuple[str, int]] | None = None, reads: bool = True,
                  command: str | None = None, first_alone: bool = False,
                  after: Callable[[], Awaitable[int]] | None = None,
                  hold_rows: list[bytes] | None = None) -> None:
    """Run each fragment on its node and concatenate; `relay_groups` limits whose rows count.
    `order` (a multi-row INSERT ... RETURNING): for each row as the client listed them, its
    node and its place among that node's returned rows; the rows are put back in that
    order, as PostgreSQL returns them. `reads`: the fragments read rows of the cluster
    (their snapshots are fenced), unlike an INSERT of given rows. `command`: the tag's
    word when a node's statement stands in for another (a WITH of INSERTs for an INSERT).
    `first_alone`: a write that takes no fenced snapshot runs on the first node to its
    answer before it starts on the others (an INSERT ... ON CONFLICT of every copy of a
    REPLICATION table: writers of one key then queue on that node, where each could take
    it first on another node and both wait for the other, a deadlock PostgreSQL has not).
    `after`: a step run once every node answered, before the tag, inside the statement's
    transaction (its failure is the statement's); its count adds to the tag's (a MERGE's
    INSERT rows moved to their nodes, executor/merge_moves.py). `hold_rows`: the nodes'
    rows are kept until `after` succeeded (its refusal must come before any row reaches
    the client), then sent in node order, followed by the rows `after` put in the list."""
    txn = dispatcher.runner.txn
    groups = list(plan.groups)
    block = plan.writes and len(groups) > 1
    conns = [await txn.connection(g, wants_block=block) for g in groups]
    if plan.writes:
        for g in groups:
            txn.mark_written(g)
    sql_by_group = {f.group: f.sql for f in plan.fragments}
    params = request.params
    if request.simple:
        for conn in conns:
            await conn.settle()
    else:
        request = await _with_unused_param_types(dispatcher, request, sql_by_group.values())

    # A write running alone on its node is given the statement's instant with it (a
    # REPLICATION table placed on one node; relay.give_instant, h-refuse25)
    instants = {g: txn.instant_to_give(c, sql_by_group[g]) for g, c in zip(groups, conns)} \
        if plan.writes and not block else {}

    def start(first: int = 0, stop: int = len(conns)) -> None:
        for group, conn in zip(groups[first:stop], conns[first:stop]):
            sql = sql_by_group[group]
            if request.simple:
                relay.start_simple(conn, sql, instants.get(group))
            else:
                relay.start_extended(conn, sql, request.param_oids, params, request.param_formats,
                                     request.result_formats, 0, instant=instants.get(group))

    if (not request.simple and request.max_rows and request.portal is not None and reads
            and not plan.writes and relay_groups is None and order is None and len(conns) > 1):
        # Execute with a row limit (pgJDBC's fetchSize, asyncpg's cursors): the nodes'
        # portals are read as the client asks, never gathered whole
        await NodePortals.start(dispatcher, request, groups, conns, sql_by_group)
        return
    if plan.first_copy_lock is not None and len(conns) > 1 and \
            await dispatcher.coord.first_copy_rights.may_lock(dispatcher.runner, plan.first_copy_lock):
        await _lock_on_first_copy(dispatcher, request, conns[0], plan.first_copy_lock.sql)
    first_alone = first_alone and not reads and len(conns) > 1
    if reads:
        await start_fenced(dispatcher, conns, start, writes=plan.writes)
    else:
        start(0, 1 if first_alone else len(conns))
    out = _RowSink(dispatcher, request)
    if not request.simple and request.max_rows and request.portal is not None:
        out.buffer = []  # Execute with a row limit: rows are handed out by BufferedRows
    quiet = _RowSink(dispatcher, request)
    quiet.emit_row = lambda raw: None  # type: ignore[method-assign]
    quiet.emit_notice = lambda raw: None  # type: ignore[method-assign]  # (a copy's twin of the counted one's)
    quiet.described = True
    total = 0
    tag_word = ""
    error: PgError | None = None
    buffers = {g: _GroupBuffer(out) for g in groups} \
        if (order is not None or hold_rows is not None) and relay_groups is None else None
    for index, (group, conn) in enumerate(zip(groups, conns)):
        sink = out if relay_groups is None or group in relay_groups else quiet
        if buffers is not None:
            sink = buffers[group]
        try:
            tag, _rows = await _collect(conn, request.simple, sink, skip=instants.get(group) is not None)
        except PgError as exc:
            error = error or exc
            if first_alone:
                break  # the other nodes were not sent the statement
            continue
        if first_alone and index == 0:
            start(1)
        word, _, count = tag.rpartition(" ")
        if command is not None:
            word = command
        if word.startswith("INSERT"):
            word = "INSERT 0"
        tag_word = word or tag
        if sink is out or buffers is not None:
            total += int(count) if count.isdigit() else 0
    if error is None and after is not None:
        try:
            total += await after()
        except PgError as exc:
            error = exc
    if error is not None:
        if not txn.in_block:
            await dispatcher.runner.end_transaction(commit=False)
        raise error
    if buffers is not None:
        _emit_in_order(out, buffers, order or [])
    for raw in hold_rows or ():
        out.emit_row(raw)
    if not request.simple and not block:
        # A fragment's extended-protocol cycle on its node (Execute + Flush) ends with the
        # client's Sync, which ends its implicit transaction outside a block: without this,
        # an autocommit write stayed uncommitted until the connection's next use, and was
        # lost if the client left; a read kept its locks (AccessShareLock on every shard) on
        # the idle session's connections, so another session's ALTER TABLE of the table
        # waited until that session ran its next statement.
        for group, conn in zip(groups, conns):
            dispatcher.runner.pending_sync.setdefault(group, conn)
    out.finish(f"{tag_word} {total}".strip())
    if commit and block and not txn.in_block:
        await txn.commit()


async def _with_unused_param_types(dispatcher: Dispatcher, request: ExecRequest,
                                   sqls: Iterable[str]) -> ExecRequest:
    """`request` with every parameter's type resolved when a node's statement leaves out a
    parameter the client sent untyped: the finish of an exchange whose filter on `$1` ran in
    the move (`WHERE f.grp = $1` broadcast f) no longer names `$1`, and PostgreSQL refuses an
    unused parameter of unspecified type (42P18 "could not determine data type of parameter
    $1", every psycopg str parameter). The types are the catalog server's answer for the
    client's statement: what the whole statement makes of them."""
    count = len(request.params)
    oids = list(request.param_oids) + [0] * (count - len(request.param_oids))
    if not count or all(oids):
        return request
    from gridpg.sql.parse import tokens

    for sql in sqls:
        used = {int(sql[t.start + 1 : t.end + 1]) for t in tokens(sql) if t.name == "PARAM"}
        if any(not oids[i] and i + 1 not in used for i in range(count)):
            described, _ = await dispatcher.describe(request.sql, request.param_oids)
            return dataclasses.replace(request, param_oids=list(described))
    return request


async def _lock_on_first_copy(dispatcher: Dispatcher, request: ExecRequest, conn: BackendConnection,
                              sql: str) -> None:
    """Lock, on the first node of a REPLICATION table, the rows a write to every copy will
    write (planner/writes.first_copy_lock, executor/first_copy.py), before the write
    starts on any node. The query takes the statement's parameters; where one it leaves
    out has a type the node cannot know, the rows are not locked first."""
    if request.simple:
        relay.start_simple(conn, sql)
    else:
        oids = await _lock_param_oids(dispatcher, request, sql)
        if oids is None:
            return
        relay.start_extended(conn, sql, oids, request.params, request.param_formats, [], 0)
    quiet = _RowSink(dispatcher, request)
    quiet.emit_row = lambda raw: None  # type: ignore[method-assign]
    quiet.described = True
    try:
        await _collect(conn, request.simple, quiet)
    except PgError:
        if not dispatcher.runner.txn.in_block:
            await dispatcher.runner.end_transaction(commit=False)
        raise


async def _lock_param_oids(dispatcher: Dispatcher, request: ExecRequest, sql: str) -> list[int] | None:
    """Parameter types for a query that uses only some of the statement's parameters: the
    client's, else the catalog server's where the query leaves out one the client left
    untyped (a datanode cannot infer the type of a parameter its statement does not use);
    None where that is still unknown to the datanode (a user type)."""
    from gridpg.sql.parse import tokens

    count = len(request.params)
    oids = list(request.param_oids) + [0] * (count - len(request.param_oids))
    used = {int(sql[t.start + 1:t.end + 1]) for t in tokens(sql) if t.name == "PARAM"}
    unused = [n for n in range(1, count + 1) if n not in used]
    if all(oids[n - 1] for n in unused):
        return oids
    described, _ = await dispatcher.describe(request.sql, request.param_oids)
    oids = [o or (described[i] if i < len(described) else 0) for i, o in enumerate(oids)]
    node_oids = relay.node_param_oids(oids)
    return oids if all(node_oids[n - 1] for n in unused) else None


async def start_fenced(dispatcher: Dispatcher, conns: list[BackendConnection],
                       start: Callable[[], None], writes: bool) -> None:
    """Send one statement to each node (`start`); when its snapshots must be cluster-wide,
    under the GTM's snapshot fence, held until every node has taken its snapshot (a write:
    until its answer, since PostgreSQL takes a write's snapshot at Execute, or until it
    waits for a row lock, which it does only after taking it: txn/fence.py). A statement
    that cannot be fenced is cancelled on its nodes and fails with 40001. A cancel request
    that came between two steps of a plan (when no node was running anything for it, so
    the nodes ignored it) or a statement_timeout that passed stops the plan here."""
    dispatcher.runner.check_interrupts()
    txn = dispatcher.runner.txn
    if not txn.needs_statement_fence(len(conns)):
        start()
        return
    assert txn.consistency is not None
    started = [Started(c.node, functools.partial(c.wait_started, writes),
                       c.waits_for_a_row_lock if writes else None) for c in conns]
    try:
        await txn.consistency.fenced(start, started)
    except PgError:
        await abandon(conns)
        raise


class _RowSink:
    """Writes DataRows to the client; sends RowDescription first in the simple protocol."""

    def __init__(self, dispatcher: Dispatcher, request: ExecRequest) -> None:
        self.dispatcher = dispatcher
        self.request = request
        self.described = not request.simple
        self.rows: list[bytes] = []
        self.row_description: bytes | None = None

    def emit_description(self, raw: bytes) -> None:
        if not self.described:
            self.described = True
            self.dispatcher.session.send(raw)

    async def describe_now(self) -> None:
        _, row_desc = await self.dispatcher.describe(self.request.sql, self.request.param_oids)
        self.described = True
        if row_desc is not None:
            self.dispatcher.session.send(row_desc)

    buffer: list[bytes] | None = None

    def emit_row(self, raw: bytes) -> None:
        if self.buffer is not None:
            self.buffer.append(raw)
        else:
            self.dispatcher.session.send(raw)

    def emit_notice(self, raw: bytes) -> None:
        """A node's NoticeResponse (a RAISE NOTICE/WARNING of a function the fragment
        calls), to the client at once as PostgreSQL sends it while the statement runs:
        rows may be buffered, notices never are."""
        self.dispatcher.session.send(raw)

    def finish(self, tag: str) -> None:
        if self.buffer is None:
            self.dispatcher.session.send(codec.build_command_complete(tag))
            return
        cursor = BufferedRows(self.buffer, tag)
        self.request.portal.cursor = cursor
        cursor.serve(self.dispatcher.session.send, self.request.max_rows)


class _GroupBuffer(_RowSink):
    """One node's rows, kept to be put back in the client's order."""

    def __init__(self, parent: _RowSink) -> None:
        self.parent = parent
        self.kept: list[bytes] = []

    def emit_description(self, raw: bytes) -> None:
        self.parent.emit_description(raw)

    def emit_row(self, raw: bytes) -> None:
        self.kept.append(raw)

    def emit_notice(self, raw: bytes) -> None:
        self.parent.emit_notice(raw)


def in_sent_order(groups: list[str]) -> list[tuple[str, int]]:
    """`scatter`'s `order` for rows each node returns in the order it was sent them:
    each row's node and its place among that node's rows."""
    seen: dict[str, int] = {}
    places = []
    for group in groups:
        places.append((group, seen.get(group, 0)))
        seen[group] = places[-1][1] + 1
    return places


def _emit_in_order(out: _RowSink, buffers: dict[str, _GroupBuffer], order: list[tuple[str, int]]) -> None:
    """Each node returned its rows in a known order; picked by `order` they come back in
    the client's order. When a node returned fewer (ON CONFLICT DO NOTHING skipped some)
    which rows went is unknown: each node's rows, in node order."""
    sent = {g: sum(1 for group, _ in order if group == g) for g in buffers}
    if all(len(b.kept) == sent[g] for g, b in buffers.items()):
        for group, place in order:
            out.emit_row(buffers[group].kept[place])
        return
    for buffer in buffers.values():
        for raw in buffer.kept:
            out.emit_row(raw)


class BufferedRows:
    """A multi-node portal's rows, handed out `max_rows` at a time (PortalSuspended between)."""

    def __init__(self, rows: list[bytes], tag: str) -> None:
        self.rows = rows
        self.tag = tag
        self.position = 0

    def serve(self, send: Any, max_rows: int) -> None:
        end = len(self.rows) if max_rows <= 0 else min(len(self.rows), self.position + max_rows)
        for raw in self.rows[self.position : end]:
            send(raw)
        served, self.position = end - self.position, end
        if self.position < len(self.rows) or (max_rows > 0 and served == max_rows):
            # (PostgreSQL stops at the limit without looking for a next row: suspended
            # also when none is left, the next Execute then completes with none)
            send(codec.PORTAL_SUSPENDED)
        elif self.tag.startswith("SELECT "):
            # a query's portal reports the rows of this Execute, as PostgreSQL's does
            # (`SELECT 3` for the last 3 of 11; `SELECT 0` once it is done), not all of them
            send(codec.build_command_complete(f"SELECT {served}"))
        else:  # (a statement's RETURNING rows: its own tag, as PostgreSQL keeps it)
            send(codec.build_command_complete(self.tag))


PIECE = 1000  # rows asked of a node at least, per Execute of a multi-node portal


class NodePortals:
    """A multi-node portal executed in pieces: one portal per node, bound together under the
    snapshot fence (a SELECT's snapshot is taken at Bind), executed one node after the
    other for the rows each client Execute asks, so no node's rows are held here."""

    def __init__(self, groups: list[str], conns: list[BackendConnection], portal: str,
                 merge: SortedMerge | None = None, binary: list[bool] | None = None) -> None:
        self.groups = groups
        self.conns = conns
        self.portal = portal
        self.at = 0  # the node being read
        self.pending = False  # an Execute sent to it whose answer is unread
        self.merge = merge  # ORDER BY: every node's ordered rows merged (executor/cursor_merge.py)
        self.binary = binary or []
        self.spare: collections.deque[bytes] = collections.deque()
        self.node_done = False

    @classmethod
    async def start_merged(cls, dispatcher: Dispatcher, request: ExecRequest, plan: DistributedPlan) -> bool:
        """A sorted merge's portal read from the nodes' ordered portals (True), when its
        catalog step only orders and the coordinator can compare its keys; else False,
        nothing sent."""
        from gridpg.executor import cursor_merge, stream_cursor
        from gridpg.planner.plan import MergePlan
        from gridpg.sql import parse as sqlparse

        assert request.portal is not None
        if not isinstance(plan, MergePlan) or not stream_cursor.merges_only(plan):
            return False
        _, row_desc = await dispatcher.describe(request.sql, request.param_oids)
        if row_desc is None or not stream_cursor.plain_columns(dispatcher, row_desc):
            return False
        groups = list(plan.groups)
        merge = await cursor_merge.sorted_merge(dispatcher, request, request.sql, sqlparse.parse_tree(request.sql),
                                                row_desc, len(groups))
        if merge is None:
            return False
        txn = dispatcher.runner.txn
        conns = [await txn.connection(g, wants_block=False) for g in groups]
        request = await _with_unused_param_types(dispatcher, request, [plan.fragments[0].sql])
        name = relay.portal_name(request.portal.name)

        def start() -> None:
            for conn in conns:
                relay.start_extended(conn, plan.fragments[0].sql, request.param_oids, request.params,
                                     request.param_formats, request.result_formats, 0, name, execute=False)

        await start_fenced(dispatcher, conns, start, writes=False)
        for group, conn in zip(groups, conns):
            dispatcher.runner.pending_sync.setdefault(group, conn)
        request.portal.node_portals.extend(zip(groups, conns))  # (closed with the client's)
        width = len(codec.parse_row_description(row_desc[5:]))
        cursor = cls(groups, conns, name, merge, cursor_merge.binary_columns(list(request.result_formats), width))
        request.portal.cursor = cursor
        await cursor.serve(dispatcher, request.portal, request.max_rows)
        return True

    @classmethod
    async def start(cls, dispatcher: Dispatcher, request: ExecRequest, groups: list[str],
                    conns: list[BackendConnection], sql_by_group: dict[str, str]) -> None:
        """Bind the portal on every node (the first one executed at once), serve the first piece."""
        assert request.portal is not None
        request = await _with_unused_param_types(dispatcher, request, sql_by_group.values())
        name = relay.portal_name(request.portal.name)

        def start() -> None:
            for index, (group, conn) in enumerate(zip(groups, conns)):
                relay.start_extended(conn, sql_by_group[group], request.param_oids, request.params,
                                     request.param_formats, request.result_formats, request.max_rows,
                                     name, execute=index == 0)

        await start_fenced(dispatcher, conns, start, writes=False)
        for group, conn in zip(groups, conns):
            dispatcher.runner.pending_sync.setdefault(group, conn)
        request.portal.node_portals.extend(zip(groups, conns))  # (closed with the client's)
        cursor = cls(groups, conns, name)
        cursor.pending = True
        request.portal.cursor = cursor
        await cursor.serve(dispatcher, request.portal, request.max_rows)

    async def serve(self, dispatcher: Dispatcher, portal: Any, max_rows: int) -> None:
        """Up to `max_rows` rows (0: all the rest) to the client, node after node; then
        PortalSuspended at the limit, else the query's CommandComplete for this piece."""
        send = dispatcher.session.send
        served = 0

        def rows_only(raw: bytes) -> None:
            if raw[0] not in (0x43, 0x73, 0x49):
                send(raw)

        try:
            if self.merge is not None:
                served = await self._serve_merged(dispatcher, max_rows, send)
            while self.merge is None and self.at < len(self.conns) and (max_rows <= 0 or served < max_rows):
                if self.spare:  # rows a node gave beyond an earlier Execute's limit
                    take = len(self.spare) if max_rows <= 0 else min(len(self.spare), max_rows - served)
                    for _ in range(take):
                        send(self.spare.popleft())
                    served += take
                    continue
                if self.node_done:
                    self.at += 1
                    self.node_done = False
                    continue
                conn = self.conns[self.at]
                emit = rows_only
                if not self.pending:
                    # a piece of at least PIECE rows: fewer round trips for small limits,
                    # the rest kept for the next Execute
                    dispatcher.runner.check_interrupts()
                    asked = 0 if max_rows <= 0 else max(PIECE, max_rows - served)
                    conn.send(codec.build_execute(self.portal, asked) + codec.FLUSH)
                    conn.in_cycle = True
                    dispatcher.runner.pending_sync.setdefault(self.groups[self.at], conn)
                    emit = self._keep_rows(send)
                self.pending = False
                result = await relay.finish_extended(conn, emit)
                if result.error is not None:
                    raise result.error
                if emit is rows_only:
                    served += result.rows
                self.node_done = not result.suspended  # this node's rows are all read
        except PgError:
            portal.cursor = None
            raise
        if max_rows > 0 and served == max_rows:
            # (PostgreSQL stops at the limit without looking for a next row: suspended
            # also when none is left, the next Execute then completes with none)
            send(codec.PORTAL_SUSPENDED)
            return
        portal.cursor = None
        send(codec.build_command_complete(f"SELECT {served}"))

    def _keep_rows(self, send: Callable[[bytes], None]) -> Callable[[bytes], None]:
        """The node's DataRows into `spare` (served from there), its notices to the client."""
        def keep(raw: bytes) -> None:
            if raw[0] == 0x44:
                self.spare.append(raw)
            elif raw[0] not in (0x43, 0x73, 0x49):
                send(raw)
        return keep

    async def _serve_merged(self, dispatcher: Dispatcher, max_rows: int, send: Callable[[bytes], None]) -> int:
        assert self.merge is not None

        async def fetch(index: int, size: int) -> tuple[list[bytes], bool]:
            conn = self.conns[index]
            dispatcher.runner.check_interrupts()
            conn.send(codec.build_execute(self.portal, size) + codec.FLUSH)
            conn.in_cycle = True
            dispatcher.runner.pending_sync.setdefault(self.groups[index], conn)
            rows: list[bytes] = []
            result = await relay.finish_extended(conn, lambda raw: rows.append(raw) if raw[0] == 0x44 else None)
            if result.error is not None:
                raise result.error
            return rows, not result.suspended

        return await self.merge.advance(len(self.conns), fetch, self.binary, max_rows if max_rows > 0 else None,
                                        False, send)


async def _collect(conn: BackendConnection, simple: bool, out: _RowSink, skip: int = 0) -> tuple[str, int]:
    """Relay one node's rows; return its CommandComplete tag. Raises the node's error.
    `skip`: the CommandCompletes of statements sent before the fragment (relay.give_instant)."""
    tag = ""
    rows = 0
    error: PgError | None = None
    while True:
        batch = await conn.recv_batch()
        for index, (kind, raw) in enumerate(batch):
            if skip and kind == 0x43:
                skip -= 1
            elif kind == 0x44:
                out.emit_row(raw)
                rows += 1
            elif kind == 0x54:
                out.emit_description(conn.client_row_description(raw))
            elif kind == 0x4E:
                out.emit_notice(raw)
            elif kind == 0x43:
                tag = raw[5:-1].decode()
                if not simple:
                    conn.unread(batch[index + 1 :])
                    return tag, rows
            elif kind == 0x45:
                error = conn.error(codec.parse_error_fields(raw[5:]))
                if not simple:
                    conn.note_cycle_error()
                    conn.unread(batch[index + 1 :])
                    raise error
            elif kind == 0x5A:
                conn.txn_status = raw[5:6]
                if error is not None:
                    raise error
                return tag, rows
            elif kind == 0x49 and not simple:
                conn.unread(batch[index + 1 :])
                return tag, rows


# -- moving rows into catalog temp tables ----------------------------------------------


async def copy_rows_to_catalog(
    dispatcher: Dispatcher, sources: list[tuple[str, str]], catalog: BackendConnection, temp: str,
    savepoint: str | None = None,
) -> list[int]:
    """COPY (sql) TO STDOUT on each (group, sql) into `temp` on the catalog server; the
    rows copied from each, whose rows lie in `temp` one source after the other.
    `savepoint`: set on each source first (inside the transaction's block)."""
    txn = dispatcher.runner.txn
    conns = [await txn.connection(g, wants_block=False) for g, _ in sources]
    for conn in [*conns, catalog]:
        await conn.settle()
    if savepoint is not None:
        for conn in conns:
            await conn.simple_query(f"SAVEPOINT {savepoint}")

    from gridpg.executor.exchange import (
        exact_floats,
        exact_select,
        low_float_digits,
        session_floats,
    )

    lossy = low_float_digits(dispatcher.runner)
    selects = [await exact_select(conn, sql, lossy) for conn, (_, sql) in zip(conns, sources, strict=True)]
    lossy = lossy if any(switch for _, switch in selects) else None
    exact_floats(conns, lossy)

    def start() -> None:
        for conn, (sql, _) in zip(conns, selects, strict=True):
            conn.send(codec.build_query(f"COPY ({sql}) TO STDOUT"))

    # COPY answers CopyOutResponse once its query's snapshot is taken (also for the
    # DELETE ... RETURNING of moved rows), before it reads a row.
    await start_fenced(dispatcher, conns, start, writes=False)
    error: PgError | None = None
    started = time.perf_counter()
    rows = nbytes = 0
    counts = [0] * len(conns)
    read: list[BackendConnection] = []  # the nodes whose answer was read to its end
    copying = False
    try:
        catalog.send(codec.build_query(f"COPY {temp} FROM STDIN"))
        await catalog.expect_copy_in()
        copying = True
        for index, conn in enumerate(conns):
            while True:
                done = False
                for kind, raw in await conn.recv_batch():
                    if kind == 0x64:
                        catalog.send(raw)
                        rows += 1
                        counts[index] += 1
                        nbytes += len(raw)
                    elif kind == 0x45:
                        error = error or conn.error(codec.parse_error_fields(raw[5:]))
                    elif kind == 0x4E:  # the user's functions' notices, as PostgreSQL sends them
                        dispatcher.session.send(raw)
                    elif kind == 0x5A:
                        conn.txn_status = raw[5:6]
                        done = True
                if done:
                    break
            read.append(conn)
    except BaseException:
        # (the catalog's COPY refused, say by the session's statement_timeout, or a node
        # lost): what the other nodes still send would be their next statement's answer
        for conn in conns:
            if conn not in read:
                await conn.abandon_answer()
        session_floats([c for c in conns if not c.is_closed], lossy)  # (not left at 3 for the next user)
        if copying:
            await _fail_copy_in(catalog)
        raise
    session_floats(conns, lossy)
    if error is not None:
        await _fail_copy_in(catalog)
        raise error
    catalog.send(codec.COPY_DONE)
    await catalog.read_results()
    from gridpg.executor.exchange import record_stage

    record_stage(f"rows into {temp}", ", ".join(g for g, _ in sources), catalog.node, rows, nbytes, started)
    return counts


async def _fail_copy_in(catalog: BackendConnection) -> None:
    """End a COPY FROM STDIN the coordinator feeds, with nothing copied."""
    if catalog.is_closed:
        return
    catalog.send(codec.message(b"f", codec.cstr("aborted by the coordinator")))
    try:
        await catalog.read_results()
    except PgError:
        pass


async def inline_params(dispatcher: Dispatcher, request: ExecRequest, sql: str) -> str:
    """Replace $n by typed literals (multi-step plans cannot bind parameters)."""
    if request.simple or not request.params or "$" not in sql:
        return sql
    from gridpg.sql.parse import param_spans

    oids, _ = await dispatcher.describe(request.sql, request.param_oids)
    type_names = await dispatcher.coord.type_names(oids, dispatcher=dispatcher)
    texts = await params_as_text(dispatcher, request, oids)
    replacements = []
    for start, end, index in param_spans(sql):
        if index >= len(texts):
            continue
        literal = quote_literal(texts[index])
        if index < len(type_names) and type_names[index]:
            literal = f"CAST({literal} AS {type_names[index]})"
        replacements.append((start, end, literal))
    return splice(sql, replacements)


async def params_as_text(dispatcher: Dispatcher, request: ExecRequest, oids: list[int]) -> list[str | None]:
    """Every bound parameter in PostgreSQL's text form; binary ones the catalog server
    converts (one round trip), so every type works exactly as PostgreSQL reads it."""
    formats = request.param_formats
    count = len(request.params)
    fmt = [formats[i] if len(formats) > 1 else (formats[0] if formats else 0) for i in range(count)]
    out: list[str | None] = [
        None if p is None else (p.decode() if f == 0 else None) for p, f in zip(request.params, fmt)
    ]
    binary = [i for i in range(count) if fmt[i] == 1 and request.params[i] is not None]
    if not binary:
        return out
    select = "SELECT " + ", ".join(f"${n + 1}::text" for n in range(len(binary)))
    types = [oids[i] if i < len(oids) else 0 for i in binary]
    conn = await dispatcher.runner.txn.connection(dispatcher.coord.catalog_node, wants_block=False)
    await conn.settle()
    conn.send(
        codec.build_parse("", select, types)
        + codec.build_bind("", "", [1], [request.params[i] for i in binary], [0])
        + codec.build_execute("") + codec.SYNC
    )
    row: list[bytes | None] = []
    error: PgError | None = None
    while True:
        kind, payload = await conn.recv()
        if kind == 0x44:
            row = codec.parse_data_row(payload)
        elif kind == 0x45:
            error = PgError.from_fields(codec.parse_error_fields(payload))
        elif kind == 0x5A:
            conn.txn_status = payload[:1]
            break
    if error is not None:
        raise error
    for i, value in zip(binary, row):
        out[i] = None if value is None else value.decode()
    return out


# -- two-phase aggregation -------------------------------------------------------------


class RecordOutputError(Exception):
    """The partial rows have a column of an anonymous record type (a function returning
    `record`, which the pure planner cannot see) or of another pseudo-type (cstring_in(),
    a function returning void): no table can hold them."""


async def two_phase(dispatcher: Dispatcher, request: ExecRequest, plan: DistributedPlan) -> None:
    txn = dispatcher.runner.txn
    catalog = await txn.connection(dispatcher.coord.catalog_node, wants_block=False)
    if (plan.partial_temp or "").startswith("pg_temp.") and is_block_catalog(dispatcher, catalog):
        plan = await _partial_out_of_pg_temp(dispatcher, plan)  # the block ran DDL: no temp table
    temp = plan.partial_temp or "pg_temp.gp_agg"
    partial = await inline_params(dispatcher, request, plan.fragments[0].sql)
    final = await inline_params(dispatcher, request, plan.final_sql or "")  # LIMIT $n with a row lock
    try:
        await create_partial_temp(dispatcher, catalog, temp, partial, plan.fragments[0].group,
                                  on_datanode=dispatcher.runner.private_snapshot is not None
                                  and dispatcher.runner.side_catalog_active)
    except PgError as exc:
        if exc.sqlstate == "42P16" and "pseudo-type" in str(exc):
            # (a merge's record column; a partial min()/max() of a composite column: the
            # record aggregates answer `record`; a function answering cstring or void)
            raise RecordOutputError() from exc
        raise
    keep = getattr(plan, "lock_keep_sql", None) if dispatcher.runner.txn.in_block else None
    keep = keep and await inline_params(dispatcher, request, keep)
    in_turn = getattr(plan, "lock_rows_in_turn", None)
    try:
        if in_turn is not None:
            await _lock_rows_in_turn(dispatcher, catalog, plan.groups, partial, temp, in_turn)
        elif getattr(plan, "lock_nodes_in_order", False):
            await _lock_nodes_in_order(dispatcher, request, catalog, plan, partial, temp, keep)
        else:
            counts = await copy_rows_to_catalog(dispatcher, [(f.group, partial) for f in plan.fragments], catalog,
                                                temp, savepoint=LOCK_SAVEPOINT if keep else None)
            if keep:
                await _give_back_locks(dispatcher, catalog, plan.groups, counts, temp, keep)
        await _run_final(dispatcher, request, final)
    finally:
        await _drop_temp(catalog, [temp])


LOCK_SAVEPOINT = "gridpg_merge_locks"


async def _partial_out_of_pg_temp(dispatcher: Dispatcher, plan: DistributedPlan) -> DistributedPlan:
    """The plan with its partial rows' table in the shard schema under a name unique on
    the server: it runs on the block's own catalog connection (executor/scratch.py
    `_ran_ddl`), whose PREPARE must not see a temp table (catalog_scratch.py)."""
    import dataclasses

    from gridpg.executor.catalog_scratch import ensure_scratch_schema
    from gridpg.executor.run import scratch_name

    await ensure_scratch_schema(dispatcher)
    old = str(plan.partial_temp)
    new = f"{SCRATCH_SCHEMA}.{scratch_name(dispatcher, 'merge', shared=True)}"
    pattern = re.compile(rf"{re.escape(old)}(?![\w$])")

    def moved(text: str | None) -> str | None:
        return None if text is None else pattern.sub(new, text)

    changes: dict[str, Any] = {"partial_temp": new, "final_sql": moved(plan.final_sql)}
    if getattr(plan, "lock_keep_sql", None) is not None:
        changes["lock_keep_sql"] = moved(plan.lock_keep_sql)  # type: ignore[attr-defined]
    bound = getattr(plan, "lock_bound", None)
    if bound is not None:
        changes["lock_bound"] = dataclasses.replace(bound, bounded_sql=moved(bound.bounded_sql),
                                                    keys_sql=moved(bound.keys_sql))
    return dataclasses.replace(plan, **changes)


async def _lock_rows_in_turn(dispatcher: Dispatcher, catalog: BackendConnection, groups: Sequence[str],
                             partial: str, temp: str, wanted: int) -> None:
    """SELECT ... FOR UPDATE/SHARE ... LIMIT without ORDER BY, whose locks wait: the nodes
    are read one after the other, each for the rows still wanted (`partial` ends with its
    locking clause, which PostgreSQL accepts before a LIMIT), so that, as in PostgreSQL,
    no row is locked (or waited for) that the answer does not return."""
    for group in groups:
        if wanted <= 0:
            return
        counts = await copy_rows_to_catalog(dispatcher, [(group, f"{partial} LIMIT {int(wanted)}")], catalog, temp)
        wanted -= counts[0]


async def _lock_nodes_in_order(dispatcher: Dispatcher, request: ExecRequest, catalog: BackendConnection,
                               plan: DistributedPlan, partial: str, temp: str, keep: str | None) -> None:
    """SELECT ... ORDER BY ... LIMIT ... FOR UPDATE/SHARE whose locks wait: each node runs
    its sorted, limited, locking piece in turn, in the groups' sorted order (the same for
    every session on every coordinator: two such statements queue on the first node they
    share, where run at once each could hold one node's first row and wait for the
    other's, a deadlock PostgreSQL's one scan never makes). A node waits, as PostgreSQL
    does, for a row another transaction holds, and re-checks the WHERE clause of a row
    that transaction changed, moving on to its next row. Once the nodes read so far gave
    LIMIT+OFFSET rows, a later node locks (and waits for) only its rows that sort before
    the last of them (`MergePlan.lock_bound`): the others could not be in the answer.
    Inside a transaction block each piece runs in a savepoint, and the nodes none of whose
    rows the answer takes give their locks back (`_give_back_locks`); outside one, the
    statement's end does."""
    order = sorted(plan.groups)
    bound = getattr(plan, "lock_bound", None)
    counts: list[int] = []
    for group in order:
        piece = partial
        if bound is not None and counts:
            piece = await _bounded_piece(dispatcher, request, catalog, bound) or partial
        counts += await copy_rows_to_catalog(dispatcher, [(group, piece)], catalog, temp,
                                             savepoint=LOCK_SAVEPOINT if keep else None)
    if keep:
        await _give_back_locks(dispatcher, catalog, order, counts, temp, keep)


async def _bounded_piece(dispatcher: Dispatcher, request: ExecRequest, catalog: BackendConnection,
                         bound: LockBound) -> str | None:
    """The node piece locking only rows that sort before the last row the answer can
    take so far; None while the nodes read so far gave fewer rows than it takes."""
    from gridpg.planner.merge import BOUND_MARKER, lock_bound_predicate
    from gridpg.sql.parse import tokens

    rows = await catalog.query(await inline_params(dispatcher, request, bound.keys_sql))
    if not rows:
        return None
    row = rows[0]
    values = [(str(row[i]), row[i + 1] in ("t", True)) for i in range(0, len(row), 2)]
    if any(text.endswith(("::real", "::double precision")) for text, _ in values):
        return None  # a float's text may be rounded (extra_float_digits): no bound
    predicate = lock_bound_predicate(bound.keys, values)
    sql = await inline_params(dispatcher, request, bound.bounded_sql)
    places = [(t.start, t.end + 1) for t in tokens(sql) if sql[t.start : t.end + 1] == BOUND_MARKER]
    if len(places) != 1:
        return None
    return splice(sql, [(places[0][0], places[0][1], f"({predicate})")])


async def _give_back_locks(dispatcher: Dispatcher, catalog: BackendConnection, groups: Sequence[str],
                           counts: list[int], temp: str, keep: str) -> None:
    """SELECT ... FOR UPDATE/SHARE ... LIMIT over several nodes: each node locked its own
    first LIMIT rows, inside a savepoint. Where none of a node's rows is among those the
    answer takes (`keep`: the merged rows' places in `temp`, which holds each node's rows
    one node after the other), the savepoint is rolled back: its locks are given back
    before the statement ends, so the transaction holds PostgreSQL's locks (all of them
    with LIMIT 1, the job queue). A node some of whose rows are taken keeps all it locked."""
    rows = await catalog.query(
        f"SELECT n.ord FROM (SELECT ctid AS c, row_number() OVER (ORDER BY ctid) AS ord FROM {temp}) AS n "
        f"JOIN ({keep}) AS k ON n.c = k.gp_lock_ctid")
    taken = sorted(int(r[0]) for r in rows if r[0] is not None)
    txn = dispatcher.runner.txn
    start = 0
    for group, count in zip(groups, counts):
        conn = await txn.connection(group, wants_block=False)
        await conn.settle()
        if not any(start < place <= start + count for place in taken):
            await conn.simple_query(f"ROLLBACK TO SAVEPOINT {LOCK_SAVEPOINT}")
        await conn.simple_query(f"RELEASE SAVEPOINT {LOCK_SAVEPOINT}")
        start += count


async def create_partial_temp(dispatcher: Dispatcher, catalog: BackendConnection, temp: str, partial: str,
                              group: str, on_datanode: bool = False) -> None:
    """The catalog temp table that receives the partial rows, shaped like `partial`. When
    the partial query reads scratch tables (only the datanodes have them), or `on_datanode`
    (the catalog connection is a side one, which may not see the transaction's tables), its
    columns are described on the datanode, inside the statement's transaction. So they are
    when `catalog` is not the block's own catalog connection and that one has run DDL: it
    may hold a lock on the table (ALTER TABLE earlier in the block) that `catalog` would
    wait for, forever, and `catalog` would not see the new columns."""
    on_datanode = on_datanode or _catalog_locked_elsewhere(dispatcher, catalog)
    # (a temp outside pg_temp: a shard-schema table, executor/catalog_scratch.py)
    kind = "TEMP" if temp.startswith("pg_temp.") else "UNLOGGED"
    if f"{SCRATCH_SCHEMA}." not in partial and not on_datanode:
        create = f"CREATE {kind} TABLE {temp} AS {partial} WITH NO DATA"
        if catalog.txn_status == b"I":
            await catalog.simple_query(create)
            return
        # Inside a block (the client's own connection once it ran DDL, or a side one): a
        # refusal here (a record column, answered by RecordOutputError's other way on the
        # same connection) must not abort it (25P02 on the next statement). One round trip:
        # a failing CREATE skips the RELEASE after it and leaves the savepoint to roll back to.
        try:
            await catalog.simple_query(f"SAVEPOINT {_PARTIAL_SAVEPOINT}; {create}; "
                                       f"RELEASE SAVEPOINT {_PARTIAL_SAVEPOINT}")
        except PgError:
            await catalog.simple_query(f"ROLLBACK TO SAVEPOINT {_PARTIAL_SAVEPOINT}; "
                                       f"RELEASE SAVEPOINT {_PARTIAL_SAVEPOINT}")
            raise
        return
    from gridpg.executor.dml import _query_columns

    conn = await dispatcher.runner.txn.connection(group, wants_block=True)
    await conn.settle()
    columns = await _query_columns(conn, partial, {})
    await catalog.simple_query(
        f"CREATE {kind} TABLE {temp} ({', '.join(f'{quote_ident(n)} {t}' for n, t in columns)})")


_PARTIAL_SAVEPOINT = "gridpg_partial_table"


def _catalog_locked_elsewhere(dispatcher: Dispatcher, catalog: BackendConnection) -> bool:
    """Whether `catalog` is a side or staging connection while the block's own catalog
    connection has written (DDL)."""
    if dispatcher.runner.catalog_aside:  # inside scratch.side_catalog
        return True
    own = dispatcher.runner.txn.participants.get(dispatcher.coord.catalog_node)
    return own is not None and own.holds_table_locks and own.conn is not catalog


async def _run_final(dispatcher: Dispatcher, request: ExecRequest, final_sql: str) -> None:
    """The last step on the catalog server, relayed; its extended cycle is closed at once."""
    from dataclasses import replace

    if request.simple:
        mark = len(dispatcher.session.out)
        await dispatcher.run_on_node(dispatcher.coord.catalog_node, request, writes=False, sql=final_sql)
        await _name_client_relations(dispatcher, request.client_sql or request.sql, mark)
        return
    final_request = replace(request, params=[], param_formats=[], param_oids=[])
    await run_synced_in_pieces(dispatcher, dispatcher.coord.catalog_node, final_request, final_sql)


async def _name_client_relations(dispatcher: Dispatcher, sql: str, mark: int) -> None:
    """The final query's RowDescription (at `mark` in the session's output) named the
    gathered copies on the catalog server, dropped right after: each column gets the table
    OID and column number PostgreSQL names for the client's query, from its description on
    the catalog server (cached per text), as the extended protocol's Describe answers
    (pgjdbc's ResultSetMetaData and updatable result sets read them in
    preferQueryMode=simple). Only for a SELECT naming none of the session's temp relations,
    so that the description cannot fail in the transaction."""
    from gridpg.sql import parse as sqlparse

    out = dispatcher.session.out
    if len(out) <= mark or out[mark][:1] != b"T":
        return
    if f"{SCRATCH_SCHEMA}." in sql:
        # a step's text over scratch tables (a subplan's, the datanodes' only): described on
        # the catalog server, it failed there and aborted the transaction (25P02 on the
        # client's next statement: 30 nested IN subqueries)
        return
    try:
        if sqlparse.node_type(sqlparse.parse_tree(sql)) != "SelectStmt" or _reads_session_temps(dispatcher, sql):
            return
        described = (await dispatcher.describe(sql, []))[1]
    except PgError:
        return
    if described is None or len(out) <= mark or out[mark][:1] != b"T":
        return
    sent = codec.parse_row_description(out[mark][5:])
    wanted = codec.parse_row_description(described[5:])
    if len(sent) != len(wanted):
        return
    out[mark] = codec.build_row_description([
        dataclasses.replace(column, table_oid=want.table_oid, attnum=want.attnum)
        for column, want in zip(sent, wanted)])


async def run_synced_in_pieces(dispatcher: Dispatcher, node: str, request: ExecRequest, sql: str) -> None:
    """An extended-protocol statement run whole on `node` and Synced there at once
    (`Dispatcher.run_on_node_synced`), as the client's Execute asked for it: with a row
    limit, the rows wait in the portal and are handed out max_rows at a time."""
    if not (request.max_rows and request.portal is not None):
        await dispatcher.run_on_node_synced(node, request, sql)
        return
    rows: list[bytes] = []
    tag = [""]

    def collect(raw: bytes) -> None:
        if raw[0] == 0x44:
            rows.append(raw)
        elif raw[0] == 0x43:
            tag[0] = raw[5:-1].decode()
        else:
            dispatcher.session.send(raw)

    await dispatcher.run_on_node_synced(node, request, sql, collect)
    cursor = BufferedRows(rows, tag[0])
    request.portal.cursor = cursor
    cursor.serve(dispatcher.session.send, request.max_rows)


async def _drop_temp(catalog: BackendConnection, temps: list[str]) -> None:
    if catalog.is_closed:
        return
    try:
        if catalog.txn_status == b"E":
            return  # the block is aborted; the temp tables go with its rollback or connection
        await catalog.simple_query("; ".join(f"DROP TABLE IF EXISTS {t}" for t in temps))
    except PgError:
        pass


# -- broadcast -------------------------------------------------------------------------


async def broadcast_write(dispatcher: Dispatcher, request: ExecRequest, plan: DistributedPlan) -> None:
    """Copy the tables a write reads to every node of its target, then run it there.

    Each copy holds the columns the statement names (every column where it reads whole
    rows: `*`, `o.*`, a row variable), read as the session's role: as in PostgreSQL, a role
    with SELECT on some columns of a table may join it on those (a copy made LIKE the
    table needed SELECT on all of it: 42501)."""
    from gridpg.executor.exchange import needs_of

    txn = dispatcher.runner.txn
    groups = list(plan.groups)
    scratch = [f"{SCRATCH_SCHEMA}.{t.temp}" for t in plan.gather]
    needs = await needs_of(dispatcher, request.sql, plan.gather)
    async with dispatcher.runner.statement_transaction():  # scratch tables live and die in it
        for group in groups:
            dest = await txn.connection(group, wants_block=True)
            txn.mark_written(group)
            for table, name in zip(plan.gather, scratch):
                qualified = quote_qualified(table.schema, table.name)
                need, columns = needs[(table.schema, table.name)]
                select = need.select_sql(table.schema, table.name, columns, filtered=False)
                if group in table.groups or await _holds_table(dest, qualified):
                    await dest.simple_query(f"CREATE UNLOGGED TABLE {name} AS {select} WITH NO DATA")
                else:  # a table placed TO NODE others only: typed as the catalog server has it
                    from gridpg.executor.exchange import _described_columns

                    columns = await _described_columns(dispatcher, select)
                    await dest.simple_query(f"CREATE UNLOGGED TABLE {name} ({columns})")
                remote = [g for g in table.groups if g != group]
                if group in table.groups:
                    await dest.simple_query(f"INSERT INTO {name} {select}")
                if remote:
                    await copy_rows_to_catalog(dispatcher, [(g, select) for g in remote], dest, name)
        check = getattr(plan, "row_check", None)
        if check:
            await _ensure_one_match_per_row(dispatcher, request, groups[0], check)
        relay_groups = {groups[0]} if plan.replicated else None
        await scatter(dispatcher, request, plan, relay_groups, commit=False)
        for group in groups:
            await txn.participants[group].conn.simple_query(
                "; ".join(f"DROP TABLE {name}" for name in scratch))


async def _holds_table(conn: BackendConnection, qualified: str) -> bool:
    rows = await conn.query(f"SELECT pg_catalog.to_regclass({quote_literal(qualified)}) IS NOT NULL")
    return rows[0][0] == "t"


async def _ensure_one_match_per_row(dispatcher: Dispatcher, request: ExecRequest, group: str, check: str) -> None:
    """Refuse (0A000) an UPDATE of a REPLICATION table whose FROM joins a target row more
    than once: PostgreSQL keeps whichever joined row comes first, and each node's copies of
    the tables read come in another order, so each replica would keep another value."""
    conn = dispatcher.runner.txn.participants[group].conn
    if await conn.query(await inline_params(dispatcher, request, check)):
        raise PgError(FEATURE_NOT_SUPPORTED,
                      "UPDATE of a REPLICATION table whose FROM list joins a row more than once is not "
                      "supported by gridpg: each node would keep another of the joined values and the "
                      "replicas would differ",
                      hint="Join each row to one row of the FROM list (aggregate it, or add a condition).")


# -- rows that change node ------------------------------------------------------------


async def move_rows(dispatcher: Dispatcher, request: ExecRequest, plan: DistributedPlan) -> None:
    """UPDATE of the distribution column: DELETE ... RETURNING on the nodes, UPDATE in a
    catalog temp table (so SET and RETURNING keep PostgreSQL's semantics), re-insert routed.

    A parent with inheritance children moves the rows of each member of its tree (each
    table under `ONLY`, into a copy of its own): the copies inherit from one another as
    the members do, so the one UPDATE of the parent's copy reaches the children's rows
    with PostgreSQL's semantics (the parent's columns in RETURNING, one row count), and
    each member's rows go back into that member.

    In server-side code (the loopback) the caller's catalog connection is busy running the
    code: the copies are made in a block of a side connection, rolled back after the
    statement (the catalog server's own tables hold no rows; the moves themselves are the
    datanodes', in the caller's transaction). Refused after DDL in the caller's block,
    which that connection does not see (the table, or its columns, as the block left them)."""
    if getattr(dispatcher.runner, "is_loopback", False):
        from gridpg.executor.scratch import side_catalog

        if dispatcher.runner.private_snapshot is not None:
            raise PgError(FEATURE_NOT_SUPPORTED, f'gridpg cannot update the distribution column of "{plan.gather[0].name}" '
                          "inside server-side code after DDL in the same transaction block: the moved rows are kept "
                          "on a catalog connection that does not see the block's schema changes",
                          hint="Commit the DDL first, or update the distribution column in a statement of its own.")

        async with side_catalog(dispatcher):
            await _move_rows(dispatcher, request, plan)
        return
    await _move_rows(dispatcher, request, plan)


async def _move_rows(dispatcher: Dispatcher, request: ExecRequest, plan: DistributedPlan) -> None:
    txn = dispatcher.runner.txn
    table_ref = plan.gather[0]
    snapshot = dispatcher.runner.snapshot()
    table = snapshot.table(table_ref.schema, table_ref.name)
    assert table is not None
    qualified = f"{quote_ident(table.schema)}.{quote_ident(table.name)}"
    catalog = await txn.connection(dispatcher.coord.catalog_node, wants_block=False)
    await _ensure_no_row_security(catalog, table.name, qualified)
    tree = await _inheritance_tree(catalog, qualified)
    if len(tree) > 1 and not _updates_descendants(request.sql):
        tree = tree[:1]
    members = []
    for index, (schema, name, parents) in enumerate(tree):
        member = snapshot.table(schema, name) if index else table
        if member is None:
            raise PgError(FEATURE_NOT_SUPPORTED, f'cannot update the distribution column of "{table.name}": its '
                          f'inheritance child "{name}" is not a distributed table')
        member_qualified = f"{quote_ident(schema)}.{quote_ident(name)}"
        if index:
            await _ensure_no_row_security(catalog, name, member_qualified)
            await _ensure_no_child_triggers(catalog, table.name, name, member_qualified)
        columns = await dispatcher.coord.table_columns(dispatcher.runner, member)
        _check_identity_set(request.sql, columns)
        suffix = f"_{index}" if index else ""
        members.append(_MovedMember(member, member_qualified, f"{table_ref.temp}{suffix}", parents, columns,
                                    await _generated_columns(catalog, member_qualified),
                                    await _acting_keys(catalog, member_qualified)))
    retarget = len(tree) > 1 or await has_inheritance_children(catalog, qualified)
    temps: list[str] = []
    try:
        for member in members:
            # the copy: in a block an unlogged table, so that DDL in the block can still PREPARE;
            # generated columns computed again by the UPDATE in the copy (its RETURNING shows
            # them), and by the datanodes when the rows go back
            create, temp = await scratch_table(dispatcher, member.temp)
            await catalog.simple_query(f"{create} (LIKE {member.qualified} INCLUDING DEFAULTS"
                                       f"{' INCLUDING GENERATED' if member.generated else ''})")
            temps.append(temp)
            await _relax_unvalidated_not_nulls(catalog, member.qualified, temp)
            for parent in member.parents:
                await catalog.simple_query(f"ALTER TABLE {temp} INHERIT {temps[parent]}")
        held = await _move_through_copy(dispatcher, request, plan, catalog, members, temps, retarget)
    finally:  # a refused DELETE, a duplicate key: the copies must not outlive the statement on
        await _drop_temp(catalog, temps[::-1])  # a catalog connection the pool gives another session
    for raw in held:
        dispatcher.session.send(raw)


@dataclasses.dataclass(frozen=True)
class _MovedMember:
    """A table whose rows an UPDATE of the distribution column moves, and its copy."""

    table: Any
    qualified: str
    temp: str  # the copy's scratch name
    parents: tuple[int, ...]  # its parents' places among the members (the copies inherit alike)
    columns: list[Any]
    generated: set[str]
    acting_keys: list[_ActingKey]  # foreign keys referencing it with actions


async def _inheritance_tree(catalog: BackendConnection, qualified: str) -> list[tuple[str, str, tuple[int, ...]]]:
    """The table and its inheritance descendants (not partitions: PostgreSQL routes rows
    into those), parents before children: (schema, name, places of its parents in the list)."""
    rows = await catalog.query(
        "WITH RECURSIVE tree(relid, depth) AS (SELECT pg_catalog.to_regclass(" + quote_literal(qualified) + ")"
        "::pg_catalog.oid, 0 UNION ALL SELECT i.inhrelid, t.depth + 1 FROM pg_catalog.pg_inherits i "
        "JOIN tree t ON i.inhparent = t.relid JOIN pg_catalog.pg_class k ON k.oid = i.inhrelid "
        "WHERE NOT k.relispartition AND t.depth < 100) "
        "SELECT t.relid, n.nspname, c.relname, pg_catalog.array_to_string(ARRAY(SELECT i.inhparent "
        "FROM pg_catalog.pg_inherits i WHERE i.inhrelid = t.relid AND i.inhparent IN (SELECT relid FROM tree) "
        "ORDER BY i.inhseqno), ',') FROM (SELECT relid, pg_catalog.max(depth) AS depth FROM tree GROUP BY relid) t "
        "JOIN pg_catalog.pg_class c ON c.oid = t.relid JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
        "ORDER BY t.depth, t.relid")
    # ordered by the longest path from the table: every parent comes before its children
    order = [r[0] for r in rows]
    return [(r[1] or "", r[2] or "", tuple(order.index(p) for p in (r[3] or "").split(",") if p)) for r in rows]


async def _ensure_no_child_triggers(catalog: BackendConnection, name: str, child: str, qualified: str) -> None:
    """An inheritance child's rows move as DELETE and INSERT on the datanodes, where its
    own triggers would fire for them (PostgreSQL's UPDATE through the parent fires the
    child's UPDATE row triggers, and no statement trigger of the child): refused."""
    rows = await catalog.query(
        "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_trigger WHERE tgrelid = pg_catalog.to_regclass("
        f"{quote_literal(qualified)}) AND NOT tgisinternal)")
    if rows and rows[0][0] == "t":
        raise PgError(FEATURE_NOT_SUPPORTED, f'cannot update the distribution column of "{name}": its inheritance '
                      f'child "{child}" has triggers, and its rows move between datanodes as DELETE and INSERT',
                      hint="update the distribution column of the child's rows in a statement of its own")


def _updates_descendants(sql: str) -> bool:
    """The UPDATE names its table without ONLY."""
    from gridpg.sql import parse as sqlparse

    relation = sqlparse.parse_tree(sql).get("UpdateStmt", {}).get("relation", {})
    return bool(relation.get("inh", False))


async def has_inheritance_children(catalog: BackendConnection, qualified: str) -> bool:
    """Whether the table `qualified` has inheritance children (partitions do not count)."""
    rows = await catalog.query(
        "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_inherits i JOIN pg_catalog.pg_class c ON c.oid = i.inhrelid "
        f"WHERE i.inhparent = pg_catalog.to_regclass({quote_literal(qualified)}) AND NOT c.relispartition)")
    return bool(rows and rows[0][0] == "t")


async def _relax_unvalidated_not_nulls(catalog: BackendConnection, qualified: str, scratch: str) -> None:
    """LIKE makes a NOT VALID not-null constraint (PostgreSQL 18) a valid one in the copy,
    which the moved rows still NULL there fail (23502, where PostgreSQL updates them): the
    copy drops it; the rows going back meet the table's own constraint."""
    rows = await catalog.query(
        "SELECT a.attname FROM pg_catalog.pg_constraint c JOIN pg_catalog.pg_attribute a "
        "ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1] WHERE c.conrelid = "
        f"pg_catalog.to_regclass({quote_literal(qualified)}) AND c.contype = 'n' AND NOT c.convalidated")
    if rows:
        await catalog.simple_query(f"ALTER TABLE {scratch} "
                                   + ", ".join(f"ALTER COLUMN {quote_ident(r[0] or '')} DROP NOT NULL" for r in rows))


async def _move_through_copy(dispatcher: Dispatcher, request: ExecRequest, plan: DistributedPlan,
                             catalog: BackendConnection, members: list[_MovedMember], temps: list[str],
                             retarget: bool) -> list[bytes]:
    """`move_rows` once the copies exist: each member's moved rows deleted into its copy
    (`retarget`: the nodes' DELETE names the member under ONLY), the first copy updated
    (its inheritance reaching the others), each copy's rows copied back routed into its
    member; the UPDATE's answer, held until they are back."""
    txn = dispatcher.runner.txn
    table_ref = plan.gather[0]
    async with dispatcher.runner.statement_transaction():
        for f in plan.fragments:
            await txn.connection(f.group, wants_block=True)
            txn.mark_written(f.group)
        # the catalog server's block opened now, before the copies of the tables the UPDATE
        # reads are made: made outside it, a failure later rolled back their DROP, not
        # their CREATE, and a shard-schema copy stayed behind
        await txn.connection(dispatcher.coord.catalog_node, wants_block=True)
        copies: list[str] = []  # of the other tables the UPDATE reads
        try:
            # gathered before the moved rows leave the nodes: a SET sub-select over the
            # target's own tree reads them as they were (the statement's snapshot)
            final_sql = await _gather_replicated_from(dispatcher, request, catalog, plan, copies)
            for member, temp in zip(members, temps, strict=True):
                await _delete_into_copy(dispatcher, request, plan, catalog, member, temp, retarget)
            written = f"UPDATE pg_temp.{table_ref.temp} "  # planner/writes.move_rows
            assert final_sql.startswith(written), final_sql
            final = await inline_params(dispatcher, request, f"UPDATE {temps[0]} {final_sql[len(written):]}")
            final = await _member_tableoids(catalog, final, members, temps)
            # The UPDATE's answer (RETURNING rows, "UPDATE n") goes to the client only once
            # the rows are back in the table: a re-insert that fails (a duplicate key) must
            # not leave the client a success before the error.
            joined = _joins_a_from(final)
            copied = int((await catalog.query(f"SELECT pg_catalog.count(*) FROM {temps[0]}"))[0][0]) if joined else 0
            session = dispatcher.session
            send = session.send
            held: list[bytes] = []
            session.send = held.append
            try:
                await _run_final(dispatcher, request, final)
            finally:
                session.send = send
        finally:
            if copies:
                await _drop_temp(catalog, copies)
        if joined:
            _ensure_every_row_joined_again(held, copied)
        for member, temp in zip(members, temps, strict=True):
            await _copy_back(dispatcher, catalog, member, temp)
    return held


async def _member_tableoids(catalog: BackendConnection, final: str, members: list[_MovedMember],
                            temps: list[str]) -> str:
    """The copy's UPDATE with each `tableoid` mapping (planner/tableoid.py, made for the
    datanodes' shards) made to map a copy to its member instead: the catalog server's OID
    of the member table, as a client reads it (`RETURNING tableoid::regclass` names the
    member the row stays in, as in PostgreSQL, not the scratch copy). A partitioned member
    is refused (0A000): its rows land in the partition their new values choose, which its
    plain copy does not know."""
    from gridpg.planner import tableoid

    spans = tableoid.mapping_spans(final)
    if not spans:
        return final
    listed = ", ".join(f"{quote_literal(m.qualified)}::pg_catalog.regclass" for m in members)
    rows = await catalog.query("SELECT pg_catalog.count(*) FROM pg_catalog.pg_class c "
                               f"WHERE c.oid IN ({listed}) AND c.relkind = 'p'")
    if rows and rows[0][0] != "0":
        raise PgError(FEATURE_NOT_SUPPORTED, "tableoid of a partitioned table's rows is not available when gridpg "
                      "runs the statement by moving rows between nodes",
                      hint="read tableoid in a query of its own after the UPDATE")
    replacements = []
    for start, end, qualifier in spans:
        ref = f"{quote_ident(qualifier)}.tableoid" if qualifier else "tableoid"
        arms = " ".join(f"WHEN {quote_literal(temp)}::pg_catalog.regclass::pg_catalog.oid THEN "
                        f"{quote_literal(member.qualified)}::pg_catalog.regclass::pg_catalog.oid"
                        for member, temp in zip(members, temps, strict=True))
        replacements.append((start, end, f"(SELECT CASE {ref} {arms} ELSE {ref} END AS tableoid)"))
    return splice(final, replacements) if replacements else final


async def _delete_into_copy(dispatcher: Dispatcher, request: ExecRequest, plan: DistributedPlan,
                            catalog: BackendConnection, member: _MovedMember, temp: str, retarget: bool) -> None:
    """A member's moved rows deleted on the nodes into its copy `temp` (`retarget`: the
    nodes' DELETE names the member under ONLY)."""
    from gridpg.sql.retarget import retarget_delete

    names = [c.name for c in member.columns if c.name not in member.generated]
    sources = []
    for f in plan.fragments:
        delete = await inline_params(dispatcher, request, f.sql)
        if retarget:
            delete = retarget_delete(delete, member.table.schema, member.table.name)
        sources.append((f.group, delete))
    await _ensure_moved_rows_unreferenced(dispatcher, member.table.name, member.acting_keys, sources)
    if member.generated:
        await _copy_without_generated(dispatcher, sources, catalog, member.temp, temp, member.qualified, names)
    else:
        await copy_rows_to_catalog(dispatcher, sources, catalog, temp)


async def _gather_replicated_from(dispatcher: Dispatcher, request: ExecRequest, catalog: BackendConnection,
                                  plan: DistributedPlan, temps: list[str]) -> str:
    """The copy's UPDATE, once the REPLICATION tables its FROM or WHERE reads are copied to
    the catalog server (planner/writes.move_rows: `plan.gather` after the target's), whole;
    the copies appended to `temps`, which the caller drops. In a block that ran DDL they
    are shard-schema tables, as the coordinator finish's copies are."""
    from gridpg.executor.exchange import gather_to_catalog

    gathered, final_sql, schema = plan.gather[1:], plan.final_sql or "", "pg_temp"
    if not gathered:
        return final_sql
    if is_block_catalog(dispatcher, catalog):
        (gathered, final_sql), schema = await gather_out_of_pg_temp(dispatcher, gathered, final_sql), SCRATCH_SCHEMA
    for table in gathered:
        whole = f"SELECT * FROM {quote_ident(table.schema)}.{quote_ident(table.name)}"
        await gather_to_catalog(dispatcher, request, whole, (table,), catalog, temps, None, schema)
    return final_sql


async def _copy_back(dispatcher: Dispatcher, catalog: BackendConnection, member: _MovedMember, temp: str) -> None:
    """A copy's rows (this table's only: COPY TO reads no children) routed into its member."""
    from gridpg.executor.dml import CopyRouter, _copy_routed

    columns = [c for c in member.columns if c.name not in member.generated]
    names = [c.name for c in columns]
    listed = ", ".join(quote_ident(n) for n in names)
    chunks = await catalog.copy_out_canonical(f"COPY {temp} ({listed}) TO STDOUT")
    copy_sql = f"COPY {member.qualified} ({listed}) FROM STDIN"
    router = CopyRouter(dispatcher, member.table, names, "text", "\t", columns)

    async def source():  # type: ignore[no-untyped-def]
        for chunk in chunks:
            yield chunk

    await _copy_routed(dispatcher, member.table, copy_sql, router, source(), commit=False)


def _joins_a_from(final_sql: str) -> bool:
    """The copy's UPDATE has a FROM (planner/writes.move_rows: a FROM of constants)."""
    from gridpg.sql import parse as sqlparse

    return bool(sqlparse.parse_tree(final_sql).get("UpdateStmt", {}).get("fromClause"))


def _ensure_every_row_joined_again(held: list[bytes], copied: int) -> None:
    """The nodes deleted the rows the FROM joined; the copy's UPDATE joins it again and
    must update every copied row: one it missed would go back unchanged, silently."""
    reader = codec.FrameReader()
    reader.feed(b"".join(held))
    while (frame := reader.next_frame()) is not None:  # the messages relayed
        kind, body = frame
        if kind != 0x43:  # CommandComplete
            continue
        tag = body.rstrip(b"\x00").decode(errors="replace")
        if tag.startswith("UPDATE ") and int(tag.split()[-1]) != copied:
            raise PgError(FEATURE_NOT_SUPPORTED, "UPDATE of the distribution column: the FROM and WHERE "
                          "matched other rows on the coordinator than on the datanodes",
                          hint="update the distribution column without FROM, naming the rows in WHERE")


async def _generated_columns(catalog: BackendConnection, qualified: str) -> set[str]:
    rows = await catalog.query(
        "SELECT a.attname FROM pg_catalog.pg_attribute a WHERE a.attrelid = pg_catalog.to_regclass("
        f"{quote_literal(qualified)}) AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated <> ''")
    return {r[0] for r in rows}


async def _copy_without_generated(dispatcher: Dispatcher, sources: list[tuple[str, str]],
                                  catalog: BackendConnection, name: str, into: str, qualified: str,
                                  names: list[str]) -> None:
    """The deleted rows (every column, as RETURNING gives them) into the copy `into` (made
    for scratch `name`), whose generated columns take no value: through a plain staging table."""
    create, staging = await scratch_table(dispatcher, f"{name}_rows")
    await catalog.simple_query(f"{create} (LIKE {qualified})")
    await copy_rows_to_catalog(dispatcher, sources, catalog, staging)
    listed = ", ".join(quote_ident(n) for n in names)
    await catalog.simple_query(f"INSERT INTO {into} ({listed}) SELECT {listed} "
                               f"FROM {staging}; DROP TABLE {staging}")


def _check_identity_set(sql: str, columns: list[Any]) -> None:
    """SET of an identity column when rows move (the copy they are updated in has no
    identity): GENERATED ALWAYS takes only DEFAULT (PostgreSQL's 428C9); DEFAULT, whose
    value must come from the cluster-wide sequence per row, is refused (0A000)."""
    from gridpg.sql.parse import parse_tree

    identity = {c.name: c.identity for c in columns if c.identity}
    if not identity:
        return
    for target in parse_tree(sql).get("UpdateStmt", {}).get("targetList", []):
        res = target.get("ResTarget", {})
        kind = identity.get(res.get("name"))
        if not kind:
            continue
        if "SetToDefault" in (res.get("val") or {}):
            raise PgError(FEATURE_NOT_SUPPORTED, f'UPDATE ... SET "{res["name"]}" = DEFAULT of an identity '
                          "distribution column is not supported by gridpg (the rows move between datanodes)")
        if kind == "a":
            raise PgError("428C9", f'column "{res["name"]}" can only be updated to DEFAULT',
                          detail=f'Column "{res["name"]}" is an identity column defined as GENERATED ALWAYS.')


async def _ensure_no_row_security(catalog: BackendConnection, name: str, qualified: str) -> None:
    """Rows move as DELETE and COPY: under row-level security PostgreSQL's UPDATE picks its
    rows by the UPDATE (and SELECT) policies and checks the new rows by their WITH CHECK,
    where a DELETE applies the DELETE policies and COPY FROM is refused outright. Refused
    before anything is deleted (it failed after the DELETE with PostgreSQL's "COPY FROM not
    supported with row-level security", which named no statement of the client's)."""
    # under row_security = off the nodes' DELETE gives PostgreSQL's own 42501
    rows = await catalog.query("SELECT pg_catalog.current_setting('row_security')::pg_catalog.bool AND "
                               f"pg_catalog.row_security_active(pg_catalog.to_regclass({quote_literal(qualified)}))")
    if rows and rows[0][0] == "t":
        raise PgError(FEATURE_NOT_SUPPORTED, f'UPDATE of the distribution column of "{name}" under row-level '
                      "security is not supported by gridpg: the rows would move between datanodes without "
                      "the table's UPDATE policies",
                      hint="Update the distribution column as the table's owner (without FORCE ROW LEVEL "
                      "SECURITY) or a role that bypasses row security, or leave it unchanged.")


@dataclasses.dataclass(frozen=True)
class _ActingKey:
    """A foreign key referencing a table whose rows move, with an ON DELETE or ON UPDATE
    action (CASCADE, SET NULL, SET DEFAULT)."""

    name: str
    referencing: str  # the referencing table as regclass text (for the message)
    qualified: str  # the referencing table, quoted
    columns: tuple[tuple[str, str], ...]  # (referencing column, referenced column)


async def _acting_keys(catalog: BackendConnection, qualified: str) -> list[_ActingKey]:
    rows = await catalog.query(
        "SELECT c.conname, c.conrelid::pg_catalog.regclass::text, pg_catalog.format('%I.%I', n.nspname, r.relname), "
        "pg_catalog.array_to_string(ARRAY(SELECT pg_catalog.quote_ident(a.attname) || ' ' || "
        "pg_catalog.quote_ident(f.attname) FROM pg_catalog.generate_subscripts(c.conkey, 1) k "
        "JOIN pg_catalog.pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[k] "
        "JOIN pg_catalog.pg_attribute f ON f.attrelid = c.confrelid AND f.attnum = c.confkey[k] ORDER BY k), ',') "
        "FROM pg_catalog.pg_constraint c JOIN pg_catalog.pg_class r ON r.oid = c.conrelid "
        "JOIN pg_catalog.pg_namespace n ON n.oid = r.relnamespace "
        f"WHERE c.contype = 'f' AND c.conparentid = 0 AND c.confrelid = pg_catalog.to_regclass({quote_literal(qualified)}) "
        "AND (c.confdeltype IN ('c', 'n', 'd') OR c.confupdtype IN ('c', 'n', 'd')) "
        "ORDER BY c.conrelid::pg_catalog.regclass::text, c.conname")
    return [_ActingKey(r[0] or "", r[1] or "", r[2] or "",
                       tuple(tuple(pair.split(" ", 1)) for pair in (r[3] or "").split(",") if pair))  # type: ignore[misc]
            for r in rows]


async def _ensure_moved_rows_unreferenced(dispatcher: Dispatcher, name: str, keys: list[_ActingKey],
                                          sources: list[tuple[str, str]]) -> None:
    """Rows move as DELETE and INSERT: a foreign key referencing the table whose ON DELETE
    action is CASCADE / SET NULL / SET DEFAULT would delete or clear the referencing rows
    (PostgreSQL's UPDATE runs the ON UPDATE action, or fails), and an ON UPDATE action
    cannot be run on rows that move: refused when a row about to move is referenced by
    such a key. Rows nothing references move as in PostgreSQL (neither action has anything
    to do; foreign_key.sql refused `UPDATE pktable SET ptest1 = 1 WHERE ptest2 = 3` of rows
    no row referenced). The rows are locked first (FOR UPDATE, as the DELETE would), so no
    referencing row can come between the check and the move. A key that holds under the
    table's distribution has its referencing rows on the referenced row's datanode, so each
    node checks its own. NO ACTION and RESTRICT keys fail the DELETE when rows reference
    the moved ones, as PostgreSQL's UPDATE does (23503)."""
    from gridpg.sql.retarget import referenced_rows_check

    if not keys:
        return
    txn = dispatcher.runner.txn
    for group, delete in sources:
        conditions = []
        for key in keys:
            alias_cols = " AND ".join(f"gp_referencing.{mine} = {{alias}}.{theirs}" for mine, theirs in key.columns)
            conditions.append((key, f"EXISTS (SELECT FROM {key.qualified} gp_referencing WHERE {alias_cols})"))
        check = referenced_rows_check(delete, [c for _, c in conditions])
        conn = await txn.connection(group, wants_block=True)
        rows = await conn.query(check)
        hit = next((key for (key, _), flag in zip(conditions, (rows[0] if rows else ()), strict=False)
                    if flag == "t"), None)
        if hit is not None:
            raise PgError(FEATURE_NOT_SUPPORTED, f'cannot update the distribution column of "{name}": foreign key '
                          f'"{hit.name}" of {hit.referencing} references rows it moves with a referential action, '
                          "and rows that move between datanodes are deleted and inserted again",
                          hint="update the referencing rows and the referenced ones in separate statements")


# -- coordinator finish ----------------------------------------------------------------


async def coordinator_finish(dispatcher: Dispatcher, request: ExecRequest, plan: DistributedPlan) -> None:
    from gridpg.executor.exchange import gather_to_catalog
    from gridpg.planner.finish import expand_stars, typed_attribute_rows

    txn = dispatcher.runner.txn
    catalog = await txn.connection(dispatcher.coord.catalog_node, wants_block=False)
    temps: list[str] = []
    shapes: dict[str, list[str]] = {}
    gather, final_sql, schema = plan.gather, plan.final_sql or "", "pg_temp"
    if is_block_catalog(dispatcher, catalog):  # the block ran DDL: its PREPARE must not see temp tables
        (gather, final_sql), schema = await gather_out_of_pg_temp(dispatcher, gather, final_sql), SCRATCH_SCHEMA
    try:
        await gather_to_catalog(dispatcher, request, request.sql, gather, catalog, temps, shapes, schema)
        final = expand_stars(typed_attribute_rows(final_sql, gather, shapes),
                             {t.temp: shapes[t.temp] for t in gather if t.tableoid})
        if not request.simple and request.params:
            final = await inline_params(dispatcher, request, final)
        await _run_final(dispatcher, request, final)
    finally:
        await _drop_temp(catalog, temps)


async def _finish_instead(dispatcher: Dispatcher, request: ExecRequest) -> None:
    """A sorted merge whose rows no scratch table can hold (RecordOutputError): the tables
    gathered and the whole query finished on the catalog server. Nothing was sent yet."""
    sql = await inline_params(dispatcher, request, request.sql) if request.params else request.sql
    async with writable_catalog(dispatcher):
        catalog = await dispatcher.runner.txn.connection(dispatcher.coord.catalog_node, wants_block=False)
        prepared = await prepare_query_on_catalog(dispatcher, sql, catalog)
        final, temps = prepared if prepared is not None else (sql, [])
        try:
            await _run_final(dispatcher, request, final)
        finally:
            await _drop_temp(catalog, temps)


def inline_views(dispatcher: Dispatcher, sql: str) -> str:
    """`sql` with the views over distributed tables replaced by their definitions (nested
    views too): the catalog server holds those tables empty, so it cannot answer for them."""
    from gridpg.executor.run import catalog_view, session_view
    from gridpg.planner import core
    from gridpg.sql.parse import parse_tree

    catalog, session = catalog_view(dispatcher), session_view(dispatcher)
    for _ in range(16):  # views of views; PostgreSQL refuses cycles
        inlined = core.inline_views(sql, parse_tree(sql), catalog, session)
        if inlined is None:
            return sql
        sql = inlined
    return sql


async def prepare_query_on_catalog(dispatcher: Dispatcher, sql: str,
                                   catalog: BackendConnection | None = None) -> tuple[str, list[str]] | None:
    """Gather the distributed tables of a query into catalog temp tables; (final SQL, temps).

    None when the query touches no distributed table.
    """
    from gridpg.executor.run import bind, catalog_view, search_path
    from gridpg.planner import analyze, tableoid
    from gridpg.planner.finish import coordinator_finish
    from gridpg.planner.pushdown import Resolved
    from gridpg.sql.parse import parse_tree

    sql = inline_views(dispatcher, sql)
    tree = parse_tree(sql)
    mapped = tableoid.rewrite(sql, tree)  # each row's table read from its gathered copy
    if mapped is not None:
        sql, tree = mapped, parse_tree(mapped)
    refs = analyze.relations(tree)
    catalog_facts, path = catalog_view(dispatcher), search_path(dispatcher)
    resolved = [Resolved(r, catalog_facts.resolve(r, path)) for r in refs]
    if not any(r.table is not None for r in resolved):
        return None
    plan = bind(dispatcher, coordinator_finish(sql, resolved, ()))
    if catalog is None:
        catalog = await dispatcher.runner.txn.connection(dispatcher.coord.catalog_node, wants_block=False)
    from gridpg.executor.exchange import gather_to_catalog
    from gridpg.planner.finish import expand_stars, typed_attribute_rows

    temps: list[str] = []
    shapes: dict[str, list[str]] = {}
    gather, final_sql, schema = plan.gather, plan.final_sql or "", "pg_temp"
    if is_block_catalog(dispatcher, catalog):  # the block ran DDL: its PREPARE must not see temp tables
        (gather, final_sql), schema = await gather_out_of_pg_temp(dispatcher, gather, final_sql), SCRATCH_SCHEMA
    try:
        await gather_to_catalog(dispatcher, None, sql, gather, catalog, temps, shapes, schema)
        final = expand_stars(typed_attribute_rows(final_sql, gather, shapes),
                             {t.temp: shapes[t.temp] for t in gather if t.tableoid})
    except BaseException:
        await _drop_temp(catalog, temps)
        raise
    return final, temps


async def query_into_temp(dispatcher: Dispatcher, sql: str, catalog: BackendConnection, table: str,
                          temps: list[str]) -> None:
    """The rows of `sql` (it may read distributed tables: gathered first) into the new temp
    table `table` on `catalog`; each temp table made goes to `temps`, for the caller to drop."""
    prepared = await prepare_query_on_catalog(dispatcher, sql, catalog)
    final, gathered = prepared if prepared is not None else (sql, [])
    temps += gathered
    await catalog.simple_query(f"CREATE TEMP TABLE {table} AS {final}")
    temps.append(table)


def _reads_session_temps(dispatcher: Dispatcher, sql: str) -> bool:
    """Whether `sql` names one of the session's temp relations (or cannot be read)."""
    from gridpg.executor.run import search_path
    from gridpg.planner import analyze, tempnames
    from gridpg.sql.parse import parse_tree

    try:
        refs = analyze.relations(parse_tree(sql))
    except PgError:
        return True
    path = list(search_path(dispatcher))
    return any(tempnames.shadows(path, r.schema, r.name) or tempnames.is_temp_schema(r.schema) for r in refs)


async def _session_catalog_for(dispatcher: Dispatcher, sql: str) -> BackendConnection | None:
    """The session's own catalog connection where `sql`'s rows must be computed there:
    after DDL in the block (what it made is seen there only), or when `sql` reads the
    session's temp tables (they exist there only); None: a side connection of its own."""
    own = await block_catalog_after_ddl(dispatcher)
    if own is not None:
        return own
    if dispatcher.runner.temps.names and _reads_session_temps(dispatcher, sql):
        return await dispatcher.runner.txn.connection(dispatcher.coord.catalog_node, wants_block=False)
    return None


async def copy_query_to_catalog_final(dispatcher: Dispatcher, sql: str,
                                      assign: Sequence[tuple[str, int, int]] = ()) -> list[bytes]:
    """Run a SELECT through the coordinator and return its rows as COPY text chunks;
    `assign`: the (name, type oid, typmod) of the columns the rows go into (INSERT ... SELECT),
    whose assignment casts PostgreSQL applies to them (copy_assigned)."""
    # A connection of its own for the temp tables: the transaction's catalog connection may
    # be a 2PC participant (CREATE TABLE AS), and PREPARE refuses temp objects.
    coord = dispatcher.coord
    catalog = await _session_catalog_for(dispatcher, sql)
    if catalog is not None:
        prepared = await prepare_query_on_catalog(dispatcher, sql, catalog)
        final, temps = prepared if prepared is not None else (sql, [])
        try:
            return await copy_assigned(catalog, final, assign)
        finally:
            await _drop_temp(catalog, temps)
    staging = await coord.internal_acquire(coord.catalog_node, dispatcher.runner.txn.accepts)
    try:
        await dispatcher.runner._setup_connection(staging)
        prepared = await prepare_query_on_catalog(dispatcher, sql, staging)
        final, temps = prepared if prepared is not None else (sql, [])
        try:
            return await copy_assigned(staging, final, assign)
        finally:
            await _drop_temp(staging, temps)
    finally:
        coord.pools.pool(coord.catalog_node).release(staging)


@contextlib.asynccontextmanager
async def stream_query_from_catalog(dispatcher: Dispatcher, sql: str,
                                    assign: Sequence[tuple[str, int, int]] = ()
                                    ) -> AsyncIterator[AsyncIterator[bytes]]:
    """`copy_query_to_catalog_final`'s rows as a stream of COPY text batches, for a result
    of any size (INSERT ... SELECT from generate_series or a catalog table: millions of
    rows). The catalog connection it reads is the statement's side connection while it
    runs: a cancel request reaches it (`Coordinator.cancel_session`)."""
    coord = dispatcher.coord
    runner = dispatcher.runner
    catalog = await _session_catalog_for(dispatcher, sql)
    if catalog is not None:
        prepared = await prepare_query_on_catalog(dispatcher, sql, catalog)
        final, temps = prepared if prepared is not None else (sql, [])
        try:
            async with stream_assigned(catalog, final, assign) as stream:
                yield stream
        finally:
            await _drop_temp(catalog, temps)
        return
    staging = await coord.internal_acquire(coord.catalog_node, runner.txn.accepts)
    runner.side_connections.add(staging)
    try:
        await runner._setup_connection(staging)
        prepared = await prepare_query_on_catalog(dispatcher, sql, staging)
        final, temps = prepared if prepared is not None else (sql, [])
        try:
            async with stream_assigned(staging, final, assign) as stream:
                yield stream
        finally:
            await _drop_temp(staging, temps)
    finally:
        runner.side_connections.discard(staging)
        coord.pools.pool(coord.catalog_node).release(staging)


# -- EXPLAIN ---------------------------------------------------------------------------


async def _ensure_catalog_plans(dispatcher: Dispatcher, request: ExecRequest) -> None:
    """EXPLAIN over distributed tables: PostgreSQL's parser and planner check what gridpg's
    plan does not (a relation the statement names that does not exist, where a coordinator
    finish would only have met it at execution; an ON CONFLICT target without a matching
    unique index, 42P10), so the catalog server (same tables and indexes, empty) plans the
    statement first; EXPLAIN without ANALYZE runs nothing."""
    conn = await dispatcher.runner.txn.connection(dispatcher.coord.catalog_node, wants_block=False)
    await conn.query("EXPLAIN (COSTS OFF) " + await inline_params(dispatcher, request, request.sql))


async def _explained_into_exists(dispatcher: Dispatcher, request: ExecRequest, inner_tree: dict[str, Any],
                                 body: dict[str, Any]) -> bool:
    """EXPLAIN ANALYZE CREATE TABLE AS / MATERIALIZED VIEW of a relation that exists ends as
    PostgreSQL ends it, before gridpg's refusal of the statement: 42P07, or with IF NOT
    EXISTS a NOTICE and an empty plan (matview.sql:304-313). True when answered."""
    create = inner_tree.get("CreateTableAsStmt")
    if not isinstance(create, dict):
        return False
    rel = (create.get("into") or {}).get("rel") or {}
    name = rel.get("relname")
    if not name or rel.get("relpersistence") == "t":
        return False  # (a temp name is looked up in the session's own schema)
    # (where CREATE would make it: the named schema, else the first of the search_path)
    schema = quote_literal(rel["schemaname"]) if rel.get("schemaname") else "pg_catalog.current_schema()"
    conn = await dispatcher.runner.txn.connection(dispatcher.coord.catalog_node, wants_block=False)
    rows = await conn.query(
        "SELECT EXISTS (SELECT FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = "
        f"c.relnamespace WHERE c.relname = {quote_literal(name)} AND n.nspname = {schema})")
    if not rows or rows[0][0] != "t":
        return False
    if not create.get("if_not_exists"):
        raise PgError("42P07", f'relation "{name}" already exists')
    dispatcher.session.say(f'relation "{name}" already exists, skipping', sqlstate="42P07")
    _send_explain(dispatcher, request, [], [], _explain_format(body))
    return True


def _planned_as_run(dispatcher: Dispatcher, request: ExecRequest, kind: str) -> DistributedPlan | None:
    """The multi-node plan the coordinator's planner gives the explained query when run
    (views over distributed tables inlined for planning, and sent as written where they
    can be), or None when it would run otherwise."""
    from gridpg.executor.run import catalog_view, session_view

    planner = dispatcher.coord.planner
    if planner is None or kind not in ("SelectStmt", "UpdateStmt", "DeleteStmt"):
        return None
    try:
        plan = planner.plan(request.sql, catalog_view(dispatcher), session_view(dispatcher), request.bound())
    except PgError:
        return None
    return plan if isinstance(plan, DistributedPlan) else None


def _ensure_explained_target(dispatcher: Dispatcher, tree: dict[str, Any], kind: str,
                             refs: list[Any], resolved: list[Any]) -> None:
    """An explained UPDATE/DELETE/MERGE whose target is not a distributed table but which
    reads one (`EXPLAIN UPDATE view SET ... FROM t`): the planner below plans writes of
    distributed tables only (its target assertion closed the client's connection). The
    statement's own refusal when it has one (a write through a view that gridpg refuses),
    else 0A000."""
    from gridpg.executor.run import catalog_view, session_view
    from gridpg.planner import analyze
    from gridpg.planner.core import write_through_view

    if kind not in ("UpdateStmt", "DeleteStmt", "MergeStmt"):
        return
    location = analyze._dml_target(tree)
    target = next((r for r in resolved if r.ref.location == location), None)
    if target is not None and target.table is not None:
        return
    write_through_view(tree, kind, refs, catalog_view(dispatcher), session_view(dispatcher))
    raise PgError(FEATURE_NOT_SUPPORTED, f"EXPLAIN of this {kind.removesuffix('Stmt').upper()} is not "
                  "supported by gridpg: its target is not a distributed table but it reads one")


async def explain(dispatcher: Dispatcher, request: ExecRequest, tree: dict[str, Any]) -> bool:
    from dataclasses import replace

    from gridpg.executor.run import catalog_view, search_path
    from gridpg.executor.run import session_view as search_path_view
    from gridpg.planner import analyze, explain_options
    from gridpg.planner.pushdown import Resolved
    from gridpg.planner.query import plan_query
    from gridpg.sql import parse as sqlparse

    body = tree["ExplainStmt"]
    inner_sql = _inner_statement_text(request.sql, has_option_list=bool(body.get("options")))
    # the statement's own parse: its locations are offsets into inner_sql, not the EXPLAIN
    inner_tree = sqlparse.parse_tree(inner_sql)
    kind = sqlparse.node_type(inner_tree)
    catalog_facts, path = catalog_view(dispatcher), search_path(dispatcher)
    refs = analyze.relations(inner_tree)
    resolved = [Resolved(r, catalog_facts.resolve(r, path)) for r in refs]
    options = [o.get("DefElem", {}).get("defname", "") for o in body.get("options", []) or []]
    explain_options.ensure_valid(body.get("options"))
    creates = kind == "CreateTableAsStmt" or kind == "SelectStmt" and analyze.has_node(inner_tree, "intoClause")
    if creates and "analyze" in options and await _explained_into_exists(dispatcher, request, inner_tree, body):
        return True
    if creates and "analyze" in options:
        # it would create the table or view on this coordinator's catalog server alone (a
        # SELECT ... INTO is a CREATE TABLE AS; its INTO may sit on a set operation's branch)
        raise PgError(FEATURE_NOT_SUPPORTED, "EXPLAIN ANALYZE of CREATE TABLE AS / SELECT INTO / CREATE "
                      "MATERIALIZED VIEW is not supported by gridpg", hint="run the statement, and EXPLAIN ANALYZE its query")
    if kind == "CreateTableAsStmt" and any(r.table is not None for r in resolved):
        # EXPLAIN CREATE TABLE AS / MATERIALIZED VIEW: PostgreSQL shows its query's plan
        from pglast.stream import RawStream

        from gridpg.sql.parse import parse_sql

        query = str(RawStream()(parse_sql(inner_sql)[0].stmt.query))
        text = request.sql[: len(request.sql) - len(inner_sql)] + query
        return await explain(dispatcher, replace(request, sql=text), sqlparse.parse_tree(text))
    if "analyze" in options and not any(r.table is not None for r in resolved):
        from gridpg.executor.run import session_view
        from gridpg.planner.core import write_through_view

        try:
            through = write_through_view(inner_tree, kind, refs, catalog_facts, session_view(dispatcher))
        except PgError:
            through = True
        if through is not None:  # it would write the catalog server's empty copy
            raise PgError(FEATURE_NOT_SUPPORTED, "EXPLAIN ANALYZE of a write through a view over "
                          "distributed tables is not supported by gridpg")
    inner_request = replace(request, sql=inner_sql)
    if kind in ("InsertStmt", "UpdateStmt", "DeleteStmt") and dispatcher.coord.planner is not None:
        ruled = dispatcher.coord.planner.rules_plan(inner_sql, catalog_facts, search_path_view(dispatcher))
        if ruled is not None:  # the statements the table's rules make (planner/rules.py)
            if "analyze" in options:
                raise PgError(FEATURE_NOT_SUPPORTED, "EXPLAIN ANALYZE of a write of a table whose rules "
                              "write is not supported by gridpg")
            _send_explain(dispatcher, request, ruled.describe(), [], _explain_format(body))
            return True
    planned = _planned_as_run(dispatcher, inner_request, kind)
    if not any(r.table is not None for r in resolved) and planned is None:
        return False
    await _ensure_catalog_plans(dispatcher, inner_request)
    if kind == "InsertStmt":
        from gridpg.executor.dml import explain_insert_select

        lines = await explain_insert_select(dispatcher, inner_request, inner_tree) or \
            ["Distributed plan: insert routed by the distribution column"]
        plan = None
    else:
        if kind == "MergeStmt" and planned is None and resolved and resolved[0].table is not None:
            planned = _merge_plan_to_explain(inner_sql, inner_tree, resolved, options)
            if not isinstance(planned, DistributedPlan):
                _send_explain(dispatcher, request, planned.describe(), [], _explain_format(body))
                return True
        if planned is None:
            _ensure_explained_target(dispatcher, inner_tree, kind, refs, resolved)
        plan = planned or plan_query(inner_request.sql, inner_tree, kind, resolved, catalog_facts.snapshot,
                                     inner_request.bound())
        lines = plan.describe()
        verbose = plan.describe_reasons()
        if plan.strategy is Strategy.COORDINATOR_FINISH:
            lines, plan, why = await _explain_finish(dispatcher, inner_request, plan, lines)
            verbose += why
        if "verbose" in options:
            lines += verbose
    if plan is None and "analyze" in options and kind == "SelectStmt":
        lines += await _analyze_stages(dispatcher, inner_request)
    prefix = request.sql[: len(request.sql) - len(inner_sql)]
    if plan is not None and plan.strategy is Strategy.MOVE_ROWS and "analyze" in options:
        raise PgError(FEATURE_NOT_SUPPORTED, "EXPLAIN ANALYZE of an UPDATE of the distribution column "
                      "is not supported by gridpg (it would delete the rows without moving them)")
    if "analyze" in options and (kind == "InsertStmt" and len([r for r in resolved if r.table]) > 1
                                 or plan is not None and plan.strategy is Strategy.LOCKING_SUBPLANS) \
            and analyze.has_node(inner_tree, "lockingClause"):
        # its locking SELECTs run first (subplans.run_locking, locked_insert.py): run here,
        # the write would not run, nor would its rows be locked
        raise PgError(FEATURE_NOT_SUPPORTED, "EXPLAIN ANALYZE of a write whose sub-selects lock rows "
                      "(FOR UPDATE/SHARE) over distributed tables is not supported by gridpg",
                      hint="EXPLAIN it without ANALYZE, or run it")
    if "analyze" in options and kind in _WRITE_KINDS and (plan is None or any(s.shared for s in plan.scratch)):
        # no node runs this write's plan under ANALYZE (its steps need rows first): it runs
        # as it would without EXPLAIN, so its rows change as PostgreSQL's EXPLAIN ANALYZE
        # changes them (shown, before, as a plan that did nothing)
        lines.append(f"  Executed: {await _run_for_analyze(dispatcher, inner_request)}")
    node_plans: list[tuple[str, list[str]]] = []
    if plan is not None and any(s.shared for s in plan.scratch):
        lines.append("  (no node plans: the remote SQL reads scratch tables made at execution)")
    elif plan is not None and plan.fragments:
        analyze_all = "analyze" in options
        for fragment in plan.fragments if analyze_all else plan.fragments[:1]:
            conn = await dispatcher.runner.txn.connection(fragment.group, wants_block=analyze_all and plan.writes)
            if analyze_all and plan.writes:
                dispatcher.runner.txn.mark_written(fragment.group)
            results = await conn.simple_query(await inline_params(dispatcher, request, prefix + fragment.sql))
            node_plans.append((fragment.group, [row[0] or "" for row in results[-1].rows]))
    if kind == "InsertStmt" and not node_plans and _explain_format(body) == "json":
        node_plans.append(await _catalog_insert_plan(dispatcher, inner_request, "verbose" in options))
    _send_explain(dispatcher, request, lines, node_plans, _explain_format(body))
    return True


async def _catalog_insert_plan(dispatcher: Dispatcher, request: ExecRequest, verbose: bool) -> tuple[str, list[str]]:
    """The JSON document of an INSERT no node plans here (its rows routed, or moved by an
    exchange): the catalog server's plan of the same statement over the same definitions
    (planned there already by `_ensure_catalog_plans`, so it cannot fail), so that the
    answer has PostgreSQL's "Plan" (clients read `[0]["Plan"]["Operation"]`: asyncpg's
    `PreparedStatement.explain()` users got a KeyError)."""
    conn = await dispatcher.runner.txn.connection(dispatcher.coord.catalog_node, wants_block=False)
    options = "FORMAT JSON, VERBOSE" if verbose else "FORMAT JSON"
    rows = await conn.query(f"EXPLAIN ({options}) " + await inline_params(dispatcher, request, request.sql))
    return dispatcher.coord.catalog_node, [row[0] or "" for row in rows]


_WRITE_KINDS = ("InsertStmt", "UpdateStmt", "DeleteStmt", "MergeStmt")


async def _run_for_analyze(dispatcher: Dispatcher, request: ExecRequest) -> str:
    """Run the write of an EXPLAIN ANALYZE; its command tag (its rows are not sent, its
    notices are)."""
    from gridpg.executor import prepared
    from gridpg.executor.run import run_statement

    session = dispatcher.session
    saved, session.out = session.out, []
    try:
        await run_statement(dispatcher, request)
        await prepared.finish_cycles(dispatcher)
        captured = b"".join(session.out)
    finally:
        session.out = saved
    tag = ""
    for kind, payload, message in codec.backend_messages(captured):
        if kind == 0x43:
            tag = payload.rstrip(b"\0").decode()
        elif kind == 0x4E:
            session.send(message)
    return tag


def _merge_plan_to_explain(sql: str, tree: dict[str, Any], resolved: list[Any], options: list[str]) -> Any:
    """A MERGE's plan for EXPLAIN: run whole on the nodes (their plans shown), or on the node
    of its values or over staged source rows (its steps only: they need the rows first,
    and EXPLAIN ANALYZE of those is refused rather than run half-way)."""
    from gridpg.planner.writes import merge_statement

    plan = merge_statement(sql, tree["MergeStmt"], resolved)
    if not isinstance(plan, DistributedPlan) and "analyze" in options:
        raise PgError(FEATURE_NOT_SUPPORTED, "EXPLAIN ANALYZE of a MERGE whose source rows must first be "
                      "placed on the target's nodes is not supported by gridpg")
    return plan


def _explain_format(body: dict[str, Any]) -> str:
    for option in body.get("options", []) or []:
        elem = option.get("DefElem", {})
        if elem.get("defname") == "format":
            return str(elem.get("arg", {}).get("String", {}).get("sval", "text")).lower()
    return "text"


def _send_explain(dispatcher: Dispatcher, request: ExecRequest, lines: list[str],
                  node_plans: list[tuple[str, list[str]]], output_format: str) -> None:
    """The plan as rows of text; with FORMAT JSON one row holding one JSON document, as
    PostgreSQL answers (clients parse it): the first node's document with the distributed
    plan's lines under "Distributed Plan" (and, when several nodes ran it, each node's plan
    under "Node Plans")."""
    import json

    send = dispatcher.session.send
    if output_format == "json":
        nodes = {group: json.loads("\n".join(text)) for group, text in node_plans}
        first = next(iter(nodes.values()), [{}])
        document = [{**first[0], "Distributed Plan": [line.strip() for line in lines]}]
        if len(nodes) > 1:  # EXPLAIN ANALYZE: every node ran it
            document[0]["Node Plans"] = {group: doc[0] for group, doc in nodes.items()}
        if request.simple:
            send(codec.build_row_description([codec.Column("QUERY PLAN", type_oid=114)]))
        send(codec.build_data_row([json.dumps(document, indent=2).encode()]))
        send(codec.build_command_complete("EXPLAIN"))
        return
    for group, text in node_plans:
        lines.append(f"  Plan on {group}:")
        lines += ["    " + line for line in text]
    if request.simple:
        send(codec.build_row_description([codec.Column("QUERY PLAN", type_oid=25)]))
    for line in lines:
        send(codec.build_data_row([line.encode()]))
    send(codec.build_command_complete("EXPLAIN"))


async def _explain_finish(dispatcher: Dispatcher, request: ExecRequest, plan: DistributedPlan,
                          lines: list[str]) -> tuple[list[str], DistributedPlan | None, list[str]]:
    """EXPLAIN of what the coordinator finish would do: an exchange when one applies (the
    nodes' plans only when nothing moves: they read scratch tables), else what is gathered
    with which filter; and, for VERBOSE, why no exchange applies."""
    from gridpg.executor import exchange, subplans

    request = _inlined(request, plan)
    recursive = await subplans.plan_recursive(dispatcher, request.sql)
    if isinstance(recursive, subplans.Recursive):
        try:
            return await _explain_recursive(dispatcher, request, recursive), None, []
        except subplans.SubplanValueFailed as failed:  # as _exchange_or_finish runs it
            if dispatcher.runner.txn.in_block and getattr(dispatcher.runner, "is_loopback", False):
                raise failed.error from None
    staged = await exchange.plan_exchange(dispatcher, request, request.sql)
    if isinstance(staged, exchange.StagedPlan):
        return staged.describe(), (None if staged.exchange.moves else staged.finish), []
    lines = [x for x in lines if not x.startswith("  Gather ")]
    lines[1:1] = await exchange.explain_gather(dispatcher, request.sql, plan.gather)
    return lines, plan, [f"  Not exchange: {staged}"]


async def _analyze_stages(dispatcher: Dispatcher, request: ExecRequest) -> list[str]:
    """EXPLAIN ANALYZE of a multi-stage plan: run the statement (its rows discarded) and
    report what each stage moved: rows, bytes and time per source and destination node."""
    from gridpg.executor import exchange, subplans

    sql = await inline_params(dispatcher, request, request.sql)
    stats: list[exchange.StageStat] = []
    token = exchange.STAGE_STATS.set(stats)
    started = time.perf_counter()
    try:
        _, rows = await subplans.capture(dispatcher, sql)
    finally:
        exchange.STAGE_STATS.reset(token)
    lines = [stat.describe() for stat in stats]
    moved = sum(s.nbytes for s in stats)
    lines.append(f"  Execution: {len(rows)} rows returned, {moved} bytes moved between servers, "
                 f"{(time.perf_counter() - started) * 1000:.1f} ms")
    return lines


async def _explain_recursive(dispatcher: Dispatcher, request: ExecRequest, recursive: Any) -> list[str]:
    """EXPLAIN of subplans and the statement over their results. As Citus does, the
    subplans run (they are queries; their scratch tables live in the statement's
    transaction and are dropped after), so the rest is planned over their real results."""
    from dataclasses import replace

    from gridpg.executor import subplans
    from gridpg.executor.run import catalog_view, search_path
    from gridpg.planner import analyze
    from gridpg.planner.pushdown import Resolved
    from gridpg.planner.query import plan_query
    from gridpg.sql import parse as sqlparse

    async def then(sql: str) -> list[str]:
        tree = sqlparse.parse_tree(sql)
        catalog, path = catalog_view(dispatcher), search_path(dispatcher)
        resolved = [Resolved(r, catalog.resolve(r, path)) for r in analyze.relations(tree)]
        if not any(r.table is not None for r in resolved):
            # the subplans' values replaced every distributed table: the rest runs as any
            # statement without one does, on the catalog server (as run_recursive runs it)
            return [f"Distributed plan: {Strategy.CATALOG.value}"]
        outer = replace(request, sql=sql)
        plan = plan_query(sql, tree, sqlparse.node_type(tree), resolved, catalog.snapshot, outer.bound())
        lines = plan.describe()
        if plan.strategy is Strategy.COORDINATOR_FINISH:
            lines, _, why = await _explain_finish(dispatcher, outer, plan, lines)
            lines += why
        return lines

    lines = await subplans.with_subplans(dispatcher, request, recursive, then, lazy=True)
    head = lines[0].removeprefix("Distributed plan: ")
    return recursive.describe(head) + lines[1:]


def _inner_statement_text(sql: str, has_option_list: bool) -> str:
    """The explained statement's text: what follows EXPLAIN and its options.

    A parenthesis right after EXPLAIN opens the option list only when the statement has
    options; otherwise it opens the query itself (Django's `EXPLAIN (SELECT ...) UNION
    (SELECT ...)`), whose text starts there.
    """
    from gridpg.sql.parse import closing_paren, tokens

    # (comments are tokens of their own: `/* why */ EXPLAIN ...`, as psql sends it, took
    # the comment for EXPLAIN and explained "EXPLAIN ..." again, 42601)
    toks = [t for t in tokens(sql) if t.name not in ("C_COMMENT", "SQL_COMMENT")]
    index = 1
    if index < len(toks) and toks[index].name == "ASCII_40":
        if not has_option_list:
            return sql[toks[index].start :]
        close = closing_paren(toks, index)
        if close is not None:
            index = close + 1
    else:
        while index < len(toks) and sql[toks[index].start : toks[index].end + 1].lower() in (
            "analyze", "analyse", "verbose"
        ):
            index += 1
    return sql[toks[index].start :]


# -- XL cluster commands ---------------------------------------------------------------


async def run_xl_command(dispatcher: Dispatcher, request: ExecRequest, command: XlCommand) -> None:
    if command.kind == "execute_direct":
        if not dispatcher.session.info.is_superuser:
            raise PgError(INSUFFICIENT_PRIVILEGE, "must be superuser to use EXECUTE DIRECT")
        if len(command.nodes) != 1:
            raise PgError(FEATURE_NOT_SUPPORTED, "EXECUTE DIRECT takes exactly one node")
        node = command.nodes[0]
        coord = dispatcher.coord
        known = set(coord.datanode_addresses) | {coord.catalog_node}
        if node not in known:
            raise PgError(UNDEFINED_OBJECT, f'node "{node}" does not exist')
        from dataclasses import replace

        await dispatcher.run_on_node(node, replace(request, sql=command.sql), writes=True, sql=command.sql)
        return
    if command.kind in ("create_node", "alter_node", "drop_node", "create_node_group", "drop_node_group"):
        from gridpg.commands.nodes import run_node_command

        await run_node_command(dispatcher, command)
        return
    if command.kind in ("pause", "unpause", "barrier"):
        from gridpg.commands.cluster_ops import run_cluster_command

        await run_cluster_command(dispatcher, command)
        return
    if command.kind == "clean_connection":
        dispatcher.coord.pools.close_idle()
        dispatcher.session.send(codec.build_command_complete("CLEAN CONNECTION"))
        return
    raise PgError(FEATURE_NOT_SUPPORTED, f"{command.kind.replace('_', ' ').upper()} is not supported by gridpg yet")




async def copy_assigned(conn: BackendConnection, final: str,
                        assign: Sequence[tuple[str, int, int]]) -> list[bytes]:
    """`final`'s rows as COPY text, each column first converted to the type in `assign` as
    INSERT converts it (assignment casts: a float8 1.5 stored in an integer column is 2,
    a text where an integer is due is PostgreSQL's 42804): without it the rows were routed
    and copied as the source type's text ('1.5' is no integer). Rows pass through a temp
    table of the target types when a type differs."""
    copy_sql, temp = await _assigned_copy(conn, final, assign)
    try:
        return await conn.copy_out_canonical(copy_sql)
    finally:
        if temp is not None:
            await _drop_temp(conn, [temp])


@contextlib.asynccontextmanager
async def stream_assigned(conn: BackendConnection, final: str,
                          assign: Sequence[tuple[str, int, int]]) -> AsyncIterator[AsyncIterator[bytes]]:
    """`copy_assigned`'s rows as they come, batch by batch (`copy_out_stream`): memory
    bounded by one batch whatever the row count."""
    copy_sql, temp = await _assigned_copy(conn, final, assign)
    try:
        async with conn.canonical_output():
            stream = conn.copy_out_stream(copy_sql)
            try:
                yield stream
            finally:
                await stream.aclose()  # type: ignore[attr-defined]
    finally:
        if temp is not None:
            await _drop_temp(conn, [temp])


async def _assigned_copy(conn: BackendConnection, final: str,
                         assign: Sequence[tuple[str, int, int]]) -> tuple[str, str | None]:
    """The COPY TO STDOUT giving `final`'s rows as `assign`'s types, and the temp table it
    reads (filled here) when a type differs."""
    from gridpg.executor.dml import _query_columns

    whole = f"COPY ({final}) TO STDOUT"
    if not assign:
        return whole, None
    source = [t for _, t in await _query_columns(conn, final, {})]
    if not source or len(source) > len(assign):
        return whole, None
    pairs = ", ".join(f"({oid}, {mod}, {i})" for i, (_, oid, mod) in enumerate(assign[: len(source)]))
    # a type the transaction created is not visible on this connection (outside it): that
    # column is left as its source type, and the datanode's COPY input makes it the
    # target type (a migration's CREATE TYPE ... AS ENUM, CREATE TABLE, INSERT ... SELECT
    # failed with 42601 at "???")
    rows = await conn.query("SELECT pg_catalog.format_type(o::pg_catalog.oid, m), EXISTS (SELECT FROM "
                            "pg_catalog.pg_type t WHERE t.oid = o::pg_catalog.oid) FROM "
                            f"(VALUES {pairs}) v(o, m, i) ORDER BY i")
    targets = [(r[0] or "") if r[1] == "t" else s for r, s in zip(rows, source, strict=False)]
    if targets == source:
        return whole, None
    temp = "pg_temp.gp_assign"  # its columns named as the target's: PostgreSQL's messages name them
    columns = ", ".join(f"{quote_ident(a[0])} {t}" for a, t in zip(assign, targets, strict=False))
    await conn.simple_query(f"DROP TABLE IF EXISTS {temp}; CREATE TEMP TABLE {temp} ({columns})")
    try:
        await conn.simple_query(f"INSERT INTO {temp} {final}")
    except BaseException:
        await _drop_temp(conn, [temp])
        raise
    return f"COPY {temp} TO STDOUT", temp

