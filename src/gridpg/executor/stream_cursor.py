"""Cursors over distributed tables that stream: declared on the datanodes, fetched on demand.

`DECLARE c CURSOR FOR query` whose plan reads only datanodes, without a step on the
coordinator (the router's one node, or the pushdown's concatenation of every node's rows),
is declared on each node of the plan inside the transaction's own blocks, under the
snapshot fence as any read of several nodes; each FETCH / MOVE then asks the nodes for the
rows it needs. Nothing is held in the coordinator but the cursor's place, so the first
rows come as soon as the nodes start their scans and memory stays bounded.

- One node: the node's cursor is declared with the client's options (SCROLL, NO SCROLL)
  and every FETCH / MOVE is sent to it as the client wrote it: PostgreSQL's own semantics,
  backward and absolute moves included.
- Several nodes without ORDER BY (and no LIMIT): each node's rows in turn. With ORDER BY
  (a sorted merge whose catalog step only orders, keys that are output columns of types
  whose order the coordinator can read: executor/cursor_merge.py), the nodes' ordered
  rows merged here, a batch per node buffered. Both forward only. FETCH/MOVE FORWARD n, ALL, NEXT, RELATIVE n > 0 and ABSOLUTE n beyond the current
  row are served; a move backward is 55000 "cursor can only scan forward", as PostgreSQL
  answers for a cursor its plan cannot scan backward (SCROLL cursors, which promise it,
  keep the materialized path: executor/prepared.py).
- The catalog server holds a stand-in cursor of the same name and columns that returns no
  rows (`SELECT NULL::type AS name ... WHERE false`): Describe of the portal or of a FETCH,
  `pg_cursors`, CLOSE, and its end with the transaction or a ROLLBACK TO are PostgreSQL's
  own there. CLOSE and CLOSE ALL close the nodes' cursors first; a transaction's end
  closes them with the nodes' blocks.

Not streamed (the materialized path): WITH HOLD, BINARY, FOR UPDATE/SHARE, SCROLL over
several nodes, LIMIT / DISTINCT / aggregates over several nodes (a coordinator step), an
ORDER BY cursor_merge cannot read,
columns of OID-carrying or user types, queries that call the user's code or read temp
tables, and the loopback's sessions.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from gridpg.errors import OBJECT_NOT_IN_PREREQUISITE_STATE, PgError
from gridpg.executor import relay
from gridpg.executor.cursor_merge import SortedMerge, binary_columns, sorted_merge
from gridpg.pgwire import codec
from gridpg.planner import plan as plans
from gridpg.planner import prepared as reading
from gridpg.sql import parse as sqlparse
from gridpg.sql.quote import quote_ident

if TYPE_CHECKING:
    from gridpg.datanode.connection import BackendConnection
    from gridpg.executor.dispatch import Dispatcher, ExecRequest

FETCH_ALL = 9223372036854775807  # the parser's count for ALL
_MAYBE = re.compile(r"\s*(fetch|move|close)\b", re.IGNORECASE)
_ids = itertools.count(1)

CURSOR_OPT_BINARY = 0x0001
CURSOR_OPT_SCROLL = 0x0002
CURSOR_OPT_NO_SCROLL = 0x0004
CURSOR_OPT_HOLD = 0x0020
MARKER = "gp_stream_cursor"  # in the stand-in's text (prepared.with_session_cursors)


@dataclass
class StreamCursor:
    """A client cursor whose rows stay on the datanodes until fetched."""

    name: str
    node_name: str  # the cursor's name on every node
    conns: list[BackendConnection]
    row_description: bytes  # the query's columns (text), as the catalog server describes them
    at: int = 0  # the node being read (several nodes)
    position: int = 0  # PostgreSQL's portalPos: rows moved past (several nodes)
    at_end: bool = False
    closed_nodes: set[int] = field(default_factory=set)
    merge: SortedMerge | None = None  # ORDER BY over several nodes: their rows merged here

    @property
    def one_node(self) -> bool:
        return len(self.conns) == 1


# -- DECLARE -------------------------------------------------------------------------------


async def declare_if_streamable(dispatcher: Dispatcher, request: ExecRequest, body: dict[str, Any]) -> bool:
    """Declare the cursor on the datanodes (True), or leave it to the materialized path
    (False, nothing sent) when its plan or options need the coordinator."""
    runner = dispatcher.runner
    options = int(body.get("options", 0))
    if (runner.is_loopback or not runner.txn.in_block or not hasattr(runner, "stream_cursors")
            or options & (CURSOR_OPT_HOLD | CURSOR_OPT_BINARY) or runner.temps.names):
        return False
    from gridpg.executor.prepared import cursor_query_start

    query = request.sql[cursor_query_start(request.sql):]
    plan = await _streamable_plan(dispatcher, request, query)
    if plan is None or (len(plan.groups) > 1 and options & CURSOR_OPT_SCROLL):
        return False
    _, row_desc = await dispatcher.describe(query, request.param_oids)
    if row_desc is None or not plain_columns(dispatcher, row_desc):
        return False
    merge = None
    if isinstance(plan, plans.MergePlan):
        merge = await sorted_merge(dispatcher, request, query, body["query"], row_desc, len(plan.groups))
        if merge is None:
            return False
    name = body["portalname"]
    cursor = StreamCursor(name, f"gp_sc_{next(_ids)}", [], row_desc, merge=merge)
    await _declare_on_nodes(dispatcher, request, plan, cursor, options)
    # the stand-in scrolls as the cursor does (pg_cursors.is_scrollable): over several
    # nodes forward only; over one, as the node's plan allows when the client said neither
    scrolls = len(plan.groups) == 1 and (
        bool(options & CURSOR_OPT_SCROLL) or not options & CURSOR_OPT_NO_SCROLL and await _scrolls(cursor))
    await _declare_stand_in(dispatcher, name, row_desc, "SCROLL " if scrolls else "NO SCROLL ")
    runner.stream_cursors[name] = cursor
    whole = getattr(runner, "query_text", None) if request.simple else None
    runner.cursor_texts[name] = whole or request.sql
    return True


async def _streamable_plan(dispatcher: Dispatcher, request: ExecRequest,
                           query: str) -> plans.DistributedPlan | None:
    """The query's plan when it is one the nodes answer alone: a read routed to one node,
    or the same read on every node with the rows concatenated."""
    from gridpg.executor.run import catalog_view, session_view

    lowered = query.lower()
    if any(word in lowered for word in ("only", "advisory", "nextval", "pg_temp")):
        return None  # (rewritten before planning on the statement path)
    if await dispatcher.coord.routine_guard.may_call_user_code(dispatcher, query):
        return None
    planner = dispatcher.coord.planner
    if planner is None:
        return None
    try:
        plan = planner.plan(query, catalog_view(dispatcher), session_view(dispatcher),
                            request.bound(), request.simple)
    except PgError:
        return None  # (the materialized path reports it as before)
    if isinstance(plan, plans.MergePlan) and plan.fragments and merges_only(plan):
        return plan
    if not isinstance(plan, (plans.RouterPlan, plans.PushdownPlan)) or not plan.fragments:
        return None
    if (plan.writes or plan.final_sql or plan.gather or plan.scratch or plan.replicated
            or plan.through_view is not None or plan.view_sql is not None or plan.first_copy_lock):
        return None
    if isinstance(plan, plans.PushdownPlan) and len(plan.fragments) != len(plan.groups):
        return None
    return plan


_ORDER_ONLY = re.compile(r"SELECT \* FROM pg_temp\.\S+ AS \S+ ORDER BY [^;]*")


def merges_only(plan: plans.MergePlan) -> bool:
    """A sorted merge whose catalog step only orders the nodes' rows: all their columns,
    no LIMIT/OFFSET (the query's own were checked by `sorted_merge`), no DISTINCT, no row
    locks, the same statement on every node."""
    return (not plan.writes and not plan.gather and plan.view_sql is None and plan.final_sql is not None
            and _ORDER_ONLY.fullmatch(plan.final_sql) is not None and plan.lock_keep_sql is None
            and len({f.sql for f in plan.fragments}) == 1 and len(plan.fragments) == len(plan.groups))


def plain_columns(dispatcher: Dispatcher, row_desc: bytes) -> bool:
    """Columns whose values read the same from a datanode as from the catalog server: no
    user types (their OIDs differ) and none of the types whose values carry OIDs."""
    carrying = getattr(dispatcher.coord, "oid_carrying_types", None) or ()
    for column in codec.parse_row_description(row_desc[5:]):
        if column.type_oid >= reading.FIRST_NORMAL_OID or column.type_oid in carrying:
            return False
        if column.type_oid in (26, 2205, 2206, 2202, 2203, 2204, 3734, 3769, 4089, 4096, 4191):
            return False  # oid and the reg* types: a datanode's OIDs
    return True


async def _declare_stand_in(dispatcher: Dispatcher, name: str, row_desc: bytes, scroll: str) -> None:
    """The cursor's name and columns on the session's catalog connection, with no rows."""
    catalog = await dispatcher.runner.txn.connection(dispatcher.coord.catalog_node, wants_block=True)
    columns = codec.parse_row_description(row_desc[5:])
    if columns:
        pairs = ", ".join(f"({c.type_oid}, {c.type_mod})" for c in columns)
        await catalog.settle()
        types = await catalog.query(f"SELECT pg_catalog.format_type(o, m) FROM (VALUES {pairs}) AS v(o, m)")
        select = ", ".join(f"NULL::{t} AS {quote_ident(c.name)}" for (t,), c in zip(types, columns))
    else:
        select = ""
    await catalog.settle()
    await catalog.simple_query(
        f"DECLARE {quote_ident(name)} {scroll}CURSOR FOR SELECT {select} /* {MARKER} */ WHERE false")


async def _declare_on_nodes(dispatcher: Dispatcher, request: ExecRequest, plan: plans.DistributedPlan,
                            cursor: StreamCursor, options: int) -> None:
    """DECLARE on every node of the plan, its snapshots taken under the fence."""
    from gridpg.executor.multi import _collect, _RowSink, start_fenced

    txn = dispatcher.runner.txn
    groups = list(plan.groups)
    conns = [await txn.connection(g, wants_block=True) for g in groups]
    for conn in conns:
        await conn.settle()
    scroll = ""
    if len(groups) == 1 and options & CURSOR_OPT_SCROLL:
        scroll = "SCROLL "
    elif len(groups) > 1 or options & CURSOR_OPT_NO_SCROLL:
        scroll = "NO SCROLL "
    sql_by_group = {f.group: f.sql for f in plan.fragments}

    def start() -> None:
        for group, conn in zip(groups, conns):
            text = f"DECLARE {cursor.node_name} {scroll}CURSOR FOR {sql_by_group[group]}"
            if request.simple or not request.params:
                relay.start_simple(conn, text)
            else:
                _start_unnamed(conn, text, relay.node_param_oids(request.param_oids, conn.type_map),
                               request.params, request.param_formats, [])

    await start_fenced(dispatcher, conns, start, writes=False)
    quiet = _RowSink(dispatcher, request)
    quiet.described = True
    error: PgError | None = None
    for conn in conns:
        try:
            await _collect(conn, True, quiet)
        except PgError as exc:
            error = error or exc
    if error is not None:
        raise error
    cursor.conns = conns


async def _scrolls(cursor: StreamCursor) -> bool:
    """Whether the one node's cursor can move backward (its plan decided, as PostgreSQL's)."""
    conn = cursor.conns[0]
    await conn.settle()
    rows = await conn.query("SELECT is_scrollable FROM pg_catalog.pg_cursors "
                            f"WHERE name = '{cursor.node_name}'")
    return bool(rows) and rows[0][0] == "t"


# -- FETCH / MOVE / CLOSE ----------------------------------------------------------------


async def run_if_streamed(runner: Any, request: ExecRequest) -> bool:
    """Serve a FETCH or MOVE of a streaming cursor (True); close the nodes' cursors of a
    CLOSE naming one (or CLOSE ALL) and leave the statement to the catalog server, where
    the stand-in is closed (False); any other statement: False."""
    cursors: dict[str, StreamCursor] = getattr(runner, "stream_cursors", {})
    if not cursors or not _MAYBE.match(request.sql):
        return False
    try:
        tree = sqlparse.parse_tree(request.sql)
    except PgError:
        return False
    kind = sqlparse.node_type(tree)
    if kind == "ClosePortalStmt":
        name = tree[kind].get("portalname")
        for closing in ([cursors.get(name)] if name else list(cursors.values())):
            if closing is not None:
                await close_on_nodes(closing)
                del cursors[closing.name]
        return False
    if kind != "FetchStmt":
        return False
    fetch = tree[kind]
    cursor = cursors.get(fetch.get("portalname", ""))
    if cursor is None:
        return False
    await _fetch(runner, request, cursor, fetch)
    return True


def description_of(runner: Any, sql: str) -> bytes | None:
    """The RowDescription of `FETCH ... FROM c` for a streaming cursor c (NoData for a
    MOVE), or None when the statement names no such cursor."""
    cursors: dict[str, StreamCursor] = getattr(runner, "stream_cursors", {})
    if not cursors or not _MAYBE.match(sql):
        return None
    try:
        tree = sqlparse.parse_tree(sql)
    except PgError:
        return None
    fetch = tree.get("FetchStmt")
    if fetch is None or fetch.get("portalname") not in cursors:
        return None
    return codec.NO_DATA if fetch.get("ismove") else cursors[fetch["portalname"]].row_description


async def _fetch(runner: Any, request: ExecRequest, cursor: StreamCursor, fetch: dict[str, Any]) -> None:
    session = runner.session
    moving = bool(fetch.get("ismove"))
    formats = list(request.result_formats) if not request.simple else []
    if request.simple and not moving:
        session.send(cursor.row_description)
    emit = (lambda raw: None) if moving else session.send
    direction = fetch.get("direction", "FETCH_FORWARD")
    count = int(fetch.get("howMany", 0))
    word = "MOVE" if moving else "FETCH"
    if cursor.one_node:
        text = f"{word} {_direction_text(direction, count)} FROM {cursor.node_name}"
        rows = await _node_fetch(cursor.conns[0], text, formats, emit, (cursor.node_name, cursor.name))
    else:
        rows = await _forward_fetch(cursor, direction, count, moving, formats, emit)
    session.send(codec.build_command_complete(f"{word} {rows}"))


def _direction_text(direction: str, count: int) -> str:
    if direction == "FETCH_FORWARD":
        return "FORWARD ALL" if count == FETCH_ALL else f"FORWARD {count}"
    if direction == "FETCH_BACKWARD":
        return "BACKWARD ALL" if count == FETCH_ALL else f"BACKWARD {count}"
    if direction == "FETCH_ABSOLUTE":
        return f"ABSOLUTE {count}"
    return f"RELATIVE {count}"


async def _forward_fetch(cursor: StreamCursor, direction: str, count: int, moving: bool,
                         formats: list[int], emit: Any) -> int:
    """FETCH/MOVE over several nodes' cursors read one after the other, forward only, with
    PostgreSQL's counting (DoPortalRunFetch) of what a forward-only cursor can do."""
    if direction in ("FETCH_FORWARD", "FETCH_BACKWARD") and count < 0 and count != -FETCH_ALL:
        direction, count = ("FETCH_BACKWARD" if direction == "FETCH_FORWARD" else "FETCH_FORWARD"), -count
    if count == 0 and direction != "FETCH_ABSOLUTE":  # the current row again
        on_row = cursor.position > 0 and not cursor.at_end
        if moving or not on_row:
            return 1 if moving and on_row else 0
        raise _backward()
    if direction == "FETCH_FORWARD":
        return await _advance(cursor, None if count == FETCH_ALL else count, moving, formats, emit)
    if direction == "FETCH_RELATIVE" and count > 0:
        await _advance(cursor, count - 1, True, formats, emit)
        return await _advance(cursor, 1, moving, formats, emit)
    if direction == "FETCH_ABSOLUTE":
        if count == 0 and cursor.position == 0 and not cursor.at_end:
            return 0  # (a rewind of a cursor still at its start)
        past = cursor.position + (1 if cursor.at_end else 0)
        if count > past and (cursor.position == 0 or count - 1 > cursor.position // 2):
            await _advance(cursor, count - cursor.position - 1, True, formats, emit)
            return await _advance(cursor, 1, moving, formats, emit)
    raise _backward()


def _backward() -> PgError:
    return PgError(OBJECT_NOT_IN_PREREQUISITE_STATE, "cursor can only scan forward",
                   hint="Declare it with SCROLL option to enable backward scan.")


async def _advance(cursor: StreamCursor, wanted: int | None, moving: bool, formats: list[int], emit: Any) -> int:
    """Up to `wanted` rows forward (None: all), node after node (or merged); rows fetched or moved."""
    if cursor.merge is not None:
        cursor.merge.ensure_formats(formats)
        binary = binary_columns(formats, len(codec.parse_row_description(cursor.row_description[5:])))

        async def fetch(index: int, size: int) -> tuple[list[bytes], bool]:
            rows: list[bytes] = []
            got = await _node_fetch(cursor.conns[index], f"FETCH FORWARD {size} FROM {cursor.node_name}",
                                    formats, rows.append, (cursor.node_name, cursor.name))
            return [raw for raw in rows if raw[0] == 0x44], got < size

        done = await cursor.merge.advance(len(cursor.conns), fetch, binary, wanted, moving, emit)
        cursor.position += done
        cursor.at_end = (wanted is None or done < wanted) or cursor.at_end
        return done
    word = "MOVE" if moving else "FETCH"
    done = 0
    while (wanted is None or done < wanted) and cursor.at < len(cursor.conns):
        asked = None if wanted is None else wanted - done
        how = "ALL" if asked is None else str(asked)
        got = await _node_fetch(cursor.conns[cursor.at], f"{word} FORWARD {how} FROM {cursor.node_name}",
                                formats, emit, (cursor.node_name, cursor.name))
        done += got
        if asked is None or got < asked:
            cursor.at += 1  # this node's rows are all read
    cursor.position += done
    if (wanted is None or done < wanted) and cursor.at >= len(cursor.conns):
        cursor.at_end = True
    return done


async def _node_fetch(conn: BackendConnection, text: str, formats: list[int], emit: Any,
                      names: tuple[str, str] | None = None) -> int:
    """Run a node's FETCH/MOVE, its rows to `emit`; the count of its tag. Binary result
    formats go by the extended protocol (a FETCH's rows come in its Bind's formats)."""
    await conn.settle()

    def relayed(raw: bytes) -> None:
        if raw[0] not in (0x43, 0x49, 0x73):  # the tag is the client cursor's own
            emit(raw)

    if any(formats):
        _start_unnamed(conn, text, [], [], [], formats)
        result = await relay.finish_extended(conn, relayed, through_ready=True)
        if not result.synced:
            await _read_ready(conn)
    else:
        relay.start_simple(conn, text)
        result = await relay.finish_simple(conn, relayed, send_row_description=False)
    if result.error is not None:
        raise _named_as_client(result.error, names)
    tail = result.tag.rpartition(" ")[2]
    return int(tail) if tail.isdigit() else 0


def _start_unnamed(conn: BackendConnection, text: str, param_oids: list[int], params: list[bytes | None],
                   param_formats: list[int], result_formats: list[int]) -> None:
    """Parse/Bind/Execute/Sync of the unnamed statement (a node cursor's name is new each
    time: a named statement would stay prepared on the node for nothing)."""
    conn.send(codec.build_parse("", text, param_oids)
              + codec.build_bind("", "", param_formats, params, result_formats)
              + codec.build_execute("", 0) + codec.SYNC)


def _named_as_client(error: PgError, names: tuple[str, str] | None) -> PgError:
    """A node's error about its cursor (`portal "gp_sc_3" cannot be run` after a failed
    FETCH inside a rolled-back savepoint) names the client's cursor instead."""
    if names is None:
        return error
    node_name, client = names
    quoted = f'"{node_name}"'
    error.message = error.message.replace(quoted, f'"{client}"')
    if error.fields is not None and "M" in error.fields:
        error.fields["M"] = error.fields["M"].replace(quoted, f'"{client}"')
    return error


async def _read_ready(conn: BackendConnection) -> None:
    while True:
        kind, raw = await conn.recv_raw()
        if kind == 0x5A:
            conn.txn_status = raw[5:6]
            conn.cycle_parsed.clear()
            conn.in_cycle = False
            return


async def close_on_nodes(cursor: StreamCursor) -> None:
    """CLOSE the cursor on every node that still has it (its block goes on)."""
    for index, conn in enumerate(cursor.conns):
        if index in cursor.closed_nodes or conn.is_closed or conn.txn_status != b"T":
            continue  # (a failed block or a lost connection holds no cursor any more)
        cursor.closed_nodes.add(index)
        await conn.settle()
        relay.start_simple(conn, f"CLOSE {cursor.node_name}")
        result = await relay.finish_simple(conn, lambda raw: None)
        if result.error is not None:
            raise result.error


async def forget_rolled_back(runner: Any) -> None:
    """After ROLLBACK TO SAVEPOINT: the cursors declared since are gone on every server
    (PostgreSQL's and the nodes' own rollback): forget them too."""
    cursors: dict[str, StreamCursor] = getattr(runner, "stream_cursors", {})
    if not cursors:
        return
    catalog = runner.txn.participants.get(runner.coord.catalog_node)
    if catalog is None:
        cursors.clear()
        return
    await catalog.conn.settle()
    names = {row[0] for row in await catalog.conn.query("SELECT name FROM pg_catalog.pg_cursors")}
    for name in [n for n in cursors if n not in names]:
        del cursors[name]
