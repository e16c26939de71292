"""SQL-level prepared statements, kept by the coordinator per client session.

PostgreSQL keeps `PREPARE`d statements in the session's backend. gridpg's catalog server
backends are pooled and hold distributed tables empty, so a PREPARE sent there would be
lost (or seen by another session) and its EXECUTE would read or write the empty copies.
Here instead:

- `PREPARE name [(types)] AS statement`: checked by the catalog server itself (PostgreSQL
  prepares it under a scratch name, reports its parameter types, and deallocates it at
  once: same errors, same inferred types), then kept in the session's namespace, the one
  the extended protocol's Parse uses (as in PostgreSQL, a name is either kind).
- `EXECUTE name [(args)]`: the arguments are evaluated once on the catalog server by
  PostgreSQL's own EXECUTE of a scratch statement `SELECT $1::text, ...` with the prepared
  parameter types (assignment coercion, error texts as PostgreSQL's), then the prepared
  statement runs through the normal distributed path with them as bound parameters in
  text form: planning per catalog epoch, routing, pushdown, 2PC all apply.
- `EXPLAIN [options] EXECUTE` runs `EXPLAIN [options] statement` with the parameters bound;
  `CREATE TABLE ... AS EXECUTE` runs `CREATE TABLE ... AS statement` with the values as
  typed literals and the statement's column names.
- `DEALLOCATE [PREPARE] name | ALL`; `pg_prepared_statements` lists the session's
  statements (see `with_session_statements`).
- `DECLARE name CURSOR FOR query` over distributed tables: the query runs through the
  coordinator, its rows are loaded into a catalog temp table (dropped at the end of the
  transaction), and the cursor is declared over that table on the session's catalog
  connection, where FETCH / MOVE / CLOSE find it.
"""

from __future__ import annotations

import dataclasses
import itertools
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from gridpg.errors import (
    DUPLICATE_PSTATEMENT,
    FEATURE_NOT_SUPPORTED,
    INVALID_CURSOR_DEFINITION,
    INVALID_SQL_STATEMENT_NAME,
    NO_ACTIVE_SQL_TRANSACTION,
    SYNTAX_ERROR,
    PgError,
    cached_plan_changed,
)
from gridpg.executor import stream_cursor
from gridpg.pgwire import codec
from gridpg.planner import analyze
from gridpg.planner import prepared as reading
from gridpg.planner import stat_activity as plan_activity
from gridpg.planner.plan import SessionStatementPlan
from gridpg.planner.text import relation_span, splice
from gridpg.sql import parse as sqlparse
from gridpg.sql.quote import quote_ident, quote_literal

if TYPE_CHECKING:
    from gridpg.datanode.connection import BackendConnection
    from gridpg.executor.dispatch import Dispatcher, ExecRequest

FIRST_NORMAL_OID = reading.FIRST_NORMAL_OID
_ids = itertools.count(1)


@dataclass
class SqlPreparedStatement:
    """A statement prepared with SQL PREPARE; the session keeps it with those of Parse."""

    name: str
    sql: str  # the statement after AS, with its $n
    param_oids: list[int]
    described: tuple[list[int], bytes | None] | None = None
    text: str = ""  # the whole PREPARE statement (pg_prepared_statements.statement)
    prepare_time: float = dataclasses.field(default_factory=time.time)
    result_oids: list[int] | None = None
    from_sql: bool = True
    # A client may also Bind it by name (libpq's PQexecPrepared after SQL PREPARE, as
    # HammerDB's Pgtcl driver does): what the extended protocol keeps on the Parse'd
    # statement (frontend/session.PreparedStatement) it keeps too, with the same defaults.
    described_for: tuple[object, str] | None = None
    routed: object | None = None
    routed_key: tuple[object, ...] | None = None
    cycle_stamp: int = 0
    controls_transaction: bool | None = None
    portal_descriptions: dict[tuple[int, ...], bytes] = dataclasses.field(default_factory=dict)


async def run(dispatcher: Dispatcher, request: ExecRequest, plan: SessionStatementPlan) -> None:
    """Run a statement about the session's prepared statements or cursors."""
    handlers = {
        "PrepareStmt": _prepare, "ExecuteStmt": _execute, "DeallocateStmt": _deallocate,
        "ExplainStmt": _explain_execute, "CreateTableAsStmt": _create_table_as_execute,
        "DeclareCursorStmt": declare_cursor,
    }
    handler = handlers.get(plan.kind)
    if handler is None:
        raise PgError("XX000", f"gridpg has no executor for session statement {plan.kind}")
    await handler(dispatcher, request, plan.tree[plan.kind])


# -- PREPARE / DEALLOCATE ---------------------------------------------------------------


def _source_text(dispatcher: Dispatcher, request: ExecRequest) -> str:
    """What PostgreSQL keeps as a PREPARE's source text: the whole query string the client
    sent (a simple Query message may hold several statements), else the statement."""
    whole = getattr(dispatcher.runner, "query_text", None) if request.simple else None
    return whole if whole and request.sql.strip() in whole else request.sql


async def _prepare(dispatcher: Dispatcher, request: ExecRequest, body: dict[str, Any]) -> None:
    name = body["name"]
    statements = dispatcher.session.statements
    sql = request.sql
    name_start, name_end, body_start = reading.prepared_body(sql)
    scratch = f"gp_sqlprep_{next(_ids)}"
    renamed = sql[:name_start] + scratch + sql[name_end:]
    check = ("SELECT parameter_types::pg_catalog.oid[]::pg_catalog.text, "
             "result_types::pg_catalog.oid[]::pg_catalog.text "
             f"FROM pg_catalog.pg_prepared_statements WHERE name = {quote_literal(scratch)}")
    conn = await _catalog(dispatcher)
    try:
        results = await conn.simple_query(f"{renamed}\n;\n{check};\nDEALLOCATE {scratch}")
    except PgError as exc:
        raise _shifted(exc, name_start + len(scratch), len(scratch) - (name_end - name_start)) from None
    params_text, results_text = results[1].rows[0]
    if name in statements:  # PostgreSQL checks the name after the statement
        raise PgError(DUPLICATE_PSTATEMENT, f'prepared statement "{name}" already exists')
    statement = SqlPreparedStatement(
        name, sql[body_start:].rstrip().rstrip(";"), _oid_array(params_text) or [], text=_source_text(dispatcher, request),
        result_oids=_oid_array(results_text),
    )
    await _describe_statement(dispatcher, statement)  # its result type, kept to compare
    statements[name] = statement
    dispatcher.session.send(codec.build_command_complete("PREPARE"))


async def _deallocate(dispatcher: Dispatcher, request: ExecRequest, body: dict[str, Any]) -> None:
    statements = dispatcher.session.statements
    if body.get("isall"):
        statements.clear()
        dispatcher.session.send(codec.build_command_complete("DEALLOCATE ALL"))
        return
    name = body.get("name") or ""
    if name not in statements:
        raise PgError(INVALID_SQL_STATEMENT_NAME, f'prepared statement "{name}" does not exist')
    del statements[name]
    dispatcher.session.send(codec.build_command_complete("DEALLOCATE"))


# -- EXECUTE ------------------------------------------------------------------------------


async def _execute(dispatcher: Dispatcher, request: ExecRequest, body: dict[str, Any]) -> None:
    portal = request.portal
    if not request.simple and portal is not None and portal.cursor is not None:
        # A later Execute of a suspended portal: the same statement and values go on.
        inner = getattr(portal, "gridpg_inner", None)
        if inner is not None:
            await dispatcher.run(dataclasses.replace(inner, max_rows=request.max_rows))
            return
    statement, values, oids = await _bind(dispatcher, request.sql, "ExecuteStmt", body)
    await _ensure_same_result_type(dispatcher, statement)
    served = await _served(dispatcher, statement.sql)
    signals = None
    if not dispatcher.runner.is_loopback and plan_activity.mentions(served):
        # pg_stat_activity, pg_locks and the signal functions: the cluster's sessions now
        from gridpg.commands import stat_activity

        served, signals = await stat_activity.rewrite(dispatcher.runner, served)
    inner = _inner_request(request, served, values, oids)
    bare = _bare_output_params(inner.sql)
    if any(o >= FIRST_NORMAL_OID for o in oids) and bare is not None:
        # A parameter of the user's own type (a composite, an enum) has another OID on
        # each datanode, and left to infer it is `record` or nothing (0A000, 42P18): the
        # values go as literals of the type the statement was prepared with.
        text = reading.inline_params(inner.sql, values, await dispatcher.coord.type_names(oids, dispatcher=dispatcher), bare)
        inner = dataclasses.replace(inner, sql=text, params=[], param_formats=[], param_oids=[],
                                    decode_oids=[])
    if portal is not None and not request.simple:
        portal.gridpg_inner = inner
    if signals is None:
        await _run_inner(dispatcher, request, inner)
        return
    from gridpg.commands import stat_activity

    await stat_activity.run_signalling(dispatcher.runner, signals, lambda: _run_inner(dispatcher, request, inner))


def _bare_output_params(sql: str) -> set[int] | None:
    """Offsets of the `$n` that are output columns without a name of their own (PostgreSQL
    names them `?column?`, which a typed literal in their place would change); None when
    offsets cannot be trusted (text that is not ASCII: the parser counts bytes)."""
    if not sql.isascii():
        return None
    out: set[int] = set()
    for node in analyze._walk(sqlparse.parse_tree(sql)):
        target = node.get("ResTarget") if isinstance(node, dict) else None
        if target is not None and not target.get("name") and "ParamRef" in (target.get("val") or {}):
            out.add(target["val"]["ParamRef"].get("location", -1))
    return out


async def _ensure_same_result_type(dispatcher: Dispatcher, statement: Any) -> None:
    """PostgreSQL's check when a DDL changed what a prepared statement returns: the columns
    now (described again at each catalog epoch) must be those it was prepared with."""
    _, before = await _describe_statement(dispatcher, statement)
    try:
        _, now = await dispatcher.describe(statement.sql, statement.param_oids)
    except PgError as exc:
        _point_into_prepare(exc, statement)
        raise
    if _row_type(before) != _row_type(now):
        raise cached_plan_changed()


def _point_into_prepare(error: PgError, statement: Any) -> None:
    """A statement prepared earlier that no longer plans: PostgreSQL's cursor position
    points into the PREPARE's source text (where the statement was written), not into
    the EXECUTE; none when it cannot be placed there."""
    from gridpg.sql.positions import client_position

    fields = error.fields
    if not fields or "P" not in fields:
        return
    inner = client_position(fields["P"], error.text, statement.sql)
    start = statement.text.find(statement.sql) if statement.text else -1
    if inner is None or not inner.isdigit() or start < 0:
        del fields["P"]
    else:
        fields["P"] = str(start + int(inner))
    error.text = None  # (kept as is: the client's text is not where it points)


def _row_type(row_desc: bytes | None) -> list[tuple[str, int, int]] | None:
    if row_desc is None:
        return None
    return [(c.name, c.type_oid, c.type_mod) for c in codec.parse_row_description(row_desc[5:])]


async def _explain_execute(dispatcher: Dispatcher, request: ExecRequest, body: dict[str, Any]) -> None:
    """EXPLAIN [options] EXECUTE name(args): the EXPLAIN of the statement, bound."""
    span = reading.execute_span(request.sql, "ExplainStmt")
    if "CreateTableAsStmt" in body["query"]:
        bound = await _explain_create_table_as_execute(dispatcher, request, body)
        if bound is None:
            return
        statement, values, oids = bound  # the EXPLAIN of the statement itself, from its CREATE on
        span = dataclasses.replace(span, start=reading.explained_start(request.sql))
    else:
        statement, values, oids = await _bind(dispatcher, request.sql, "ExplainStmt", body["query"]["ExecuteStmt"])
    text = request.sql[: span.start] + await _served(dispatcher, statement.sql)
    await _run_inner(dispatcher, request, _inner_request(request, text, values, oids))


async def _explain_create_table_as_execute(dispatcher: Dispatcher, request: ExecRequest,
                                           explain: dict[str, Any]) -> tuple[Any, list[str | None], list[int]] | None:
    """EXPLAIN [options] CREATE TABLE ... AS EXECUTE name(args) of a SELECT: the EXPLAIN of
    `CREATE TABLE ... AS statement`, its values typed literals (the statement CREATE TABLE
    ... AS EXECUTE runs), planned as any EXPLAIN of CREATE TABLE AS: the query's plan,
    ANALYZE refused (0A000). Sent whole to the catalog server, it failed with 26000 there
    (the session's statements are the coordinator's, write_parallel.sql:39). Another
    statement PostgreSQL explains as EXPLAIN EXECUTE does (ANALYZE runs it, and no table
    is made): it is returned bound for the caller to do so; None when done."""
    body = explain["query"]["CreateTableAsStmt"]
    statement, values, oids = await _bind(dispatcher, request.sql, "CreateTableAsStmt", body["query"]["ExecuteStmt"])
    if sqlparse.node_type(sqlparse.parse_tree(statement.sql)) != "SelectStmt":
        return statement, values, oids
    span = reading.execute_span(request.sql, "CreateTableAsStmt")
    names = await dispatcher.coord.type_names(oids, dispatcher=dispatcher)
    query = reading.inline_params(await _served(dispatcher, statement.sql), values, names)
    await dispatcher.run(dataclasses.replace(request, sql=request.sql[: span.start] + query + request.sql[span.end :],
                                             params=[], param_formats=[], param_oids=[], decode_oids=[]))
    return None


async def _served(dispatcher: Dispatcher, sql: str) -> str:
    """The prepared statement's text with the calls the client's own statement would have
    served served the same way: currval()/lastval() as the session's values, a sequence
    call PostgreSQL evaluates per row over distributed tables refused (0A000), size
    functions answering the cluster's sizes now. The statement runs on the executor
    directly, where the datanodes' copies of the sequences answered such calls (values the
    GTM hands out again, another session's lastval), and the sizes were the PREPARE's."""
    from gridpg.commands import index_upkeep, sequences, sizes
    from gridpg.planner import sizes as plan_sizes
    from gridpg.planner.calls import mentions_sequence_call

    if mentions_sequence_call(sql):
        sql = await sequences.inline_session_values(dispatcher, sql)
        await sequences.ensure_served(dispatcher, sql, dispatcher.runner._is_distributed)
    if plan_sizes.mentions(sql):
        sql = await sizes.rewrite(dispatcher, sql, _reads_distributed(dispatcher, sqlparse.parse_tree(sql)))
    if index_upkeep.mentions(sql):  # on the shards' indexes, at each EXECUTE
        sql = await index_upkeep.rewrite(dispatcher, sql)
    return sql


async def _create_table_as_execute(dispatcher: Dispatcher, request: ExecRequest,
                                   body: dict[str, Any]) -> None:
    """CREATE TABLE ... AS EXECUTE name(args): CREATE TABLE ... AS statement, its values as
    typed literals and its column names kept (a literal would rename a bare `$1` column)."""
    statement, values, oids = await _bind(dispatcher, request.sql, "CreateTableAsStmt",
                                          body["query"]["ExecuteStmt"])
    tree = sqlparse.parse_tree(statement.sql)
    if sqlparse.node_type(tree) != "SelectStmt":
        raise PgError("42809", "prepared statement is not a SELECT")
    span = reading.execute_span(request.sql, "CreateTableAsStmt")
    names = await dispatcher.coord.type_names(oids, dispatcher=dispatcher)
    query = reading.inline_params(await _served(dispatcher, statement.sql), values, names)
    text = request.sql[: span.start] + query + request.sql[span.end :]
    if not body["into"].get("colNames"):
        text = await _with_column_names(dispatcher, text, body, statement)
    out = dispatcher.session.out
    start = len(out)
    await dispatcher.run(dataclasses.replace(request, sql=text, params=[], param_formats=[],
                                             param_oids=[], decode_oids=[]))
    if body.get("into", {}).get("skipData"):
        _retag_no_data(out, start)


_CREATE_TABLE_AS_DONE = codec.build_command_complete("CREATE TABLE AS")


def _retag_no_data(out: list[bytes], start: int) -> None:
    """PostgreSQL answers `CREATE TABLE ... AS EXECUTE ... WITH NO DATA` as the EXECUTE it
    is, `SELECT 0`, where `CREATE TABLE ... AS query WITH NO DATA` (what gridpg runs) says
    `CREATE TABLE AS`: the tag the client gets is PostgreSQL's (a driver reads a row
    count from it)."""
    for i in range(start if start <= len(out) else 0, len(out)):  # (0: flushed meanwhile)
        if out[i] == _CREATE_TABLE_AS_DONE:
            out[i] = codec.build_command_complete("SELECT 0")


def _reads_distributed(dispatcher: Dispatcher, tree: dict[str, Any]) -> bool:
    from gridpg.executor.run import catalog_view, session_view
    from gridpg.planner.core import touches_distributed

    return touches_distributed(tree, catalog_view(dispatcher), session_view(dispatcher))


async def _with_column_names(dispatcher: Dispatcher, text: str, body: dict[str, Any],
                             statement: Any) -> str:
    _, row_desc = await _describe_statement(dispatcher, statement)
    if row_desc is None:
        return text
    columns = [c.name for c in codec.parse_row_description(row_desc[5:])]
    rel = body["into"]["rel"]
    ref = analyze.RelRef(rel.get("schemaname"), rel["relname"], rel["location"], None)
    _, end = relation_span(text, sqlparse.tokens(text), ref)
    return splice(text, [(end, end, " (" + ", ".join(quote_ident(c) for c in columns) + ")")])


async def _bind(dispatcher: Dispatcher, sql: str, kind: str,
                body: dict[str, Any]) -> tuple[Any, list[str | None], list[int]]:
    """The prepared statement, its argument values (evaluated once) and parameter types."""
    name = body["name"]
    statement = dispatcher.session.statements.get(name)
    if statement is None:
        raise PgError(INVALID_SQL_STATEMENT_NAME, f'prepared statement "{name}" does not exist')
    args = body.get("params") or []
    oids = await parameter_types(dispatcher, statement)
    if not oids:
        return statement, [], oids  # PostgreSQL ignores arguments given to a statement without parameters
    if len(args) != len(oids):
        raise PgError(SYNTAX_ERROR, f'wrong number of parameters for prepared statement "{name}"',
                      detail=f"Expected {len(oids)} parameters but got {len(args)}.")
    if not args:
        return statement, [], oids
    constants = reading.constant_values(args, oids)
    if constants is not None:
        return statement, constants, oids
    span = reading.execute_span(sql, kind)
    return statement, await _evaluate(dispatcher, span, oids), oids


async def parameter_types(dispatcher: Dispatcher, statement: Any) -> list[int]:
    """A prepared statement's parameter types (inferred ones described once)."""
    oids = list(statement.param_oids)
    if 0 in oids or statement.described is not None:
        return list((await _describe_statement(dispatcher, statement))[0])
    return oids


async def _describe_statement(dispatcher: Dispatcher, statement: Any) -> tuple[list[int], bytes | None]:
    if statement.described is None:
        statement.described = await dispatcher.describe(statement.sql, statement.param_oids)
    return statement.described  # type: ignore[no-any-return]


async def _evaluate(dispatcher: Dispatcher, span: reading.ExecuteSpan, oids: list[int]) -> list[str | None]:
    """The arguments' values in text form: PostgreSQL's own EXECUTE of a scratch statement
    that returns its parameters as text, on the session's catalog connection."""
    scratch = f"gp_sqlargs_{next(_ids)}"
    select = "SELECT " + ", ".join(f"${n}::pg_catalog.text" for n in range(1, len(oids) + 1))
    # (pg_backend_pid() and the like: the client connection's, as in the statement itself)
    execute = dispatcher.runner.pin_connection_values(f"EXECUTE {scratch}({span.args})")
    conn = await _catalog(dispatcher)
    await conn.settle()
    conn.send(codec.build_parse(scratch, select, oids) + codec.build_parse("", execute, [])
              + codec.build_bind("", "", [], [], [0]) + codec.build_execute("", 0)
              + codec.build_close("S", scratch) + codec.SYNC)
    row, error = await _read_until_ready(conn)
    if error is not None:
        # The node skipped the Close after the error: close the scratch statement now.
        conn.send(codec.build_close("S", scratch) + codec.SYNC)
        await _read_until_ready(conn)
        raise _shifted(error, 0, len(f"EXECUTE {scratch}(") - span.args_start)
    return [None if value is None else value.decode() for value in row]


def _inner_request(outer: ExecRequest, sql: str, values: list[str | None], oids: list[int]) -> ExecRequest:
    """The prepared statement as an extended-protocol request with bound text values.
    Types of the user's own (catalog-server OIDs differ on datanodes) are left to infer."""
    from gridpg.executor.dispatch import ExecRequest

    return ExecRequest(
        sql, simple=False, params=[None if v is None else v.encode() for v in values],
        param_formats=[0] if values else [],
        result_formats=[] if outer.simple else list(outer.result_formats),
        param_oids=[o if o < FIRST_NORMAL_OID else 0 for o in oids],
        max_rows=0 if outer.simple else outer.max_rows,
        portal=None if outer.simple else outer.portal, decode_oids=list(oids),
    )


async def _run_inner(dispatcher: Dispatcher, outer: ExecRequest, inner: ExecRequest) -> None:
    """Run the bound statement; for a simple-protocol client, with the RowDescription it
    expects first and the nodes' extended cycles closed before the next statement."""
    if dispatcher.coord.read_only:
        from gridpg.frontend import readonly

        readonly.ensure_read_only(inner.sql)
    if not outer.simple:
        await dispatcher.run(inner)
        return
    _, row_desc = await dispatcher.describe(inner.sql, inner.decode_oids)
    if row_desc is not None:
        dispatcher.session.send(row_desc)
    try:
        await dispatcher.run(inner)
    except PgError:
        await finish_cycles(dispatcher, raise_error=False)
        raise
    await finish_cycles(dispatcher)


async def finish_cycles(dispatcher: Dispatcher, raise_error: bool = True) -> None:
    """Sync the nodes left in an extended-protocol cycle (what the client's Sync does in
    the extended protocol); raise the first error a node reports then."""
    error = await sync_cycles(dispatcher.runner)
    if error is not None and raise_error:
        raise error


async def sync_cycles(runner: Any) -> PgError | None:
    """Send Sync to every node the runner left in a cycle, read to ReadyForQuery, and
    return the first error a node reported (the runner's pending cycles are then over)."""
    error: PgError | None = None
    for node, conn in list(runner.pending_sync.items()):
        try:
            if node not in runner.presynced:
                conn.send(codec.SYNC)
            conn.in_cycle = False
            while True:
                kind, raw = conn.try_recv_raw() or await conn.recv_raw()
                if kind == 0x5A:
                    conn.txn_status = raw[5:6]
                    conn.cycle_parsed.clear()
                    break
                if kind == 0x45 and error is None:
                    error = PgError.from_fields(codec.parse_error_fields(raw[5:]), node)
                    conn.note_cycle_error()
        except PgError as exc:
            error = error or exc
    runner.pending_sync.clear()
    runner.presynced.clear()
    return error


# -- Describe of EXECUTE (extended protocol) -------------------------------------------


async def describe_execute(dispatcher: Dispatcher, sql: str) -> tuple[list[int], bytes | None] | None:
    """Describe of `EXECUTE name(args)`: no parameters, the prepared statement's columns
    (None when the text is not an EXECUTE after all)."""
    try:
        tree = sqlparse.parse_tree(sql)
    except PgError:
        return None
    if sqlparse.node_type(tree) != "ExecuteStmt":
        return None
    statement = dispatcher.session.statements.get(tree["ExecuteStmt"]["name"])
    if statement is None:
        return [], None  # PostgreSQL describes it as NoData; Execute reports the error
    return [], (await _describe_statement(dispatcher, statement))[1]


async def describe_cursor(dispatcher: Dispatcher, name: str) -> bytes | None:
    """Describe of a portal the client did not bind: a cursor its DECLARE made on the
    session's catalog connection (psycopg's server-side cursors describe them so).
    The RowDescription or NoData message; None when the session holds no such cursor."""
    conn = _cursor_connection(dispatcher)
    if conn is None:  # neither in this transaction nor kept for the session (WITH HOLD)
        return None
    return await _cursor_round(conn, codec.build_describe("P", name))


async def close_cursor(dispatcher: Dispatcher, name: str) -> None:
    """Close of a portal the client did not bind: a cursor its DECLARE made, closed as
    SQL CLOSE closes it (PostgreSQL's protocol portals and SQL cursors are one namespace,
    so libpq's PQclosePortal and psycopg close them so). The nodes' cursors of a streaming
    one first; then the catalog server's, by its own Close, which, as PostgreSQL's, is no
    error for a name it does not hold (the CloseComplete is the caller's)."""
    cursors: dict[str, stream_cursor.StreamCursor] = getattr(dispatcher.runner, "stream_cursors", {})
    streaming = cursors.pop(name, None)
    if streaming is not None:
        await stream_cursor.close_on_nodes(streaming)
    conn = _cursor_connection(dispatcher)
    if conn is not None:  # (else no cursor is held there either)
        await _cursor_round(conn, codec.build_close("P", name))


def _cursor_connection(dispatcher: Dispatcher) -> BackendConnection | None:
    """The catalog connection that holds the session's DECLAREd cursors: the transaction's,
    or the one kept for the session (WITH HOLD); None: neither."""
    txn = dispatcher.runner.txn
    participant = txn.participants.get(dispatcher.coord.catalog_node)
    return participant.conn if participant is not None else txn.pinned.get(dispatcher.coord.catalog_node)


async def _cursor_round(conn: BackendConnection, message: bytes) -> bytes | None:
    """`message` and a Sync on `conn`, read to its ReadyForQuery: the RowDescription or
    NoData it answered, if any."""
    await conn.settle()
    conn.send(message + codec.SYNC)
    answer: bytes | None = None
    while True:
        kind, raw = await conn.recv_raw()
        if kind in (0x54, 0x6E):
            answer = raw
        elif kind == 0x5A:
            conn.txn_status = raw[5:6]
            return answer


# -- pg_prepared_statements --------------------------------------------------------------


async def with_session_statements(dispatcher: Dispatcher, request: ExecRequest) -> ExecRequest:
    """The request with `pg_prepared_statements` read from the session's own statements
    (the catalog server's view lists its pooled backends' statements, not the client's)."""
    sql = request.sql
    try:
        tree = sqlparse.parse_tree(sql)
    except PgError:
        return request
    refs = [r for r in analyze.relations(tree)
            if r.name == "pg_prepared_statements" and r.schema in (None, "pg_catalog")]
    if not refs:
        return request
    rows = await _statement_rows(dispatcher)
    view = "SELECT * FROM pg_catalog.pg_prepared_statements WHERE false"
    if rows:
        view += " UNION ALL VALUES " + ", ".join(rows)
    tokens = sqlparse.tokens(sql)
    replacements = []
    for ref in refs:
        start, end = relation_span(sql, tokens, ref)
        alias = "" if ref.alias else " AS pg_prepared_statements"
        replacements.append((start, end, f"({view}){alias}"))
    return dataclasses.replace(request, sql=splice(sql, replacements))


async def _statement_rows(dispatcher: Dispatcher) -> list[str]:
    out = []
    for name, statement in dispatcher.session.statements.items():
        if not name:
            continue  # the unnamed statement is not listed
        oids, row_desc = await _describe_statement(dispatcher, statement)
        result = getattr(statement, "result_oids", None)
        if result is None and row_desc is not None:
            result = [c.type_oid for c in codec.parse_row_description(row_desc[5:])]
        from_sql = getattr(statement, "from_sql", False)
        when = getattr(statement, "prepare_time", None)
        out.append("(" + ", ".join([
            quote_literal(name), quote_literal(statement.text if from_sql else statement.sql),
            f"pg_catalog.to_timestamp({when!r})" if when is not None else "NULL::timestamptz",
            _regtype_array(oids), _regtype_array(result), "true" if from_sql else "false",
            "0::int8", "0::int8",
        ]) + ")")
    return out


# -- pg_cursors ------------------------------------------------------------------------------


async def with_session_cursors(dispatcher: Dispatcher, request: ExecRequest) -> ExecRequest:
    """The request with `pg_cursors` showing the client's DECLARE text for the cursors gridpg
    declared over gathered rows (the catalog server's cursor runs gridpg's own query over a
    temp table); in the simple protocol gridpg's unnamed portal is not listed (PostgreSQL
    does not list the portal its EXECUTE uses)."""
    sql = request.sql
    try:
        tree = sqlparse.parse_tree(sql)
    except PgError:
        return request
    refs = [r for r in analyze.relations(tree) if r.name == "pg_cursors" and r.schema in (None, "pg_catalog")]
    texts: dict[str, str] = getattr(dispatcher.runner, "cursor_texts", {})
    if not refs or (not texts and not request.simple):
        return request
    join = ""
    statement = "c.statement"
    if texts:
        values = ", ".join(f"({quote_literal(n)}, {quote_literal(t)})" for n, t in texts.items())
        join = f" LEFT JOIN (VALUES {values}) AS m(name, statement) ON m.name = c.name"
        # only where the catalog's cursor is one gridpg declared (a name may be reused)
        statement = ("CASE WHEN c.statement LIKE '%pg\\_temp.gp\\_cursor\\_%' "
                     f"OR c.statement LIKE '%/* {stream_cursor.MARKER} */%' "
                     "THEN COALESCE(m.statement, c.statement) ELSE c.statement END")
    view = (f"SELECT c.name, {statement} AS statement, c.is_holdable, c.is_binary, c.is_scrollable, "
            f"c.creation_time FROM pg_catalog.pg_cursors c{join}"
            + (" WHERE c.name <> ''" if request.simple else ""))
    tokens = sqlparse.tokens(sql)
    replacements = []
    for ref in refs:
        start, end = relation_span(sql, tokens, ref)
        replacements.append((start, end, f"({view})" + ("" if ref.alias else " AS pg_cursors")))
    return dataclasses.replace(request, sql=splice(sql, replacements))


def _regtype_array(oids: list[int] | None) -> str:
    if oids is None:
        return "NULL::pg_catalog.regtype[]"
    return f"'{{{','.join(map(str, oids))}}}'::pg_catalog.oid[]::pg_catalog.regtype[]"


# -- DECLARE CURSOR over distributed tables ---------------------------------------------

CURSOR_OPT_BINARY = 0x0001
CURSOR_OPT_SCROLL = 0x0002
CURSOR_OPT_NO_SCROLL = 0x0004
CURSOR_OPT_INSENSITIVE = 0x0008
CURSOR_OPT_ASENSITIVE = 0x0010
CURSOR_OPT_HOLD = 0x0020

# PostgreSQL's words for a locking clause's strength (LCS_asString)
_LOCK_STRENGTH = {"LCS_FORKEYSHARE": "FOR KEY SHARE", "LCS_FORSHARE": "FOR SHARE",
                  "LCS_FORNOKEYUPDATE": "FOR NO KEY UPDATE", "LCS_FORUPDATE": "FOR UPDATE"}


async def declare_cursor(dispatcher: Dispatcher, request: ExecRequest, body: dict[str, Any]) -> None:
    """The query's rows, computed by the cluster, in a catalog temp table; the cursor over it.

    WITH HOLD (what Django's `iterator()` declares outside a transaction): the session keeps
    its catalog connection (pinned, as for temp tables), so the cursor, which PostgreSQL
    materializes at commit before the temp table's ON COMMIT DROP, outlives the transaction;
    outside a block the DECLARE runs in a transaction of its own, as in PostgreSQL.

    FOR UPDATE/SHARE: the query runs with its locking clause, in the block, so every row the
    cursor returns is locked on its datanode until the block ends (PostgreSQL locks a row
    when FETCH reaches it: gridpg locks them all at DECLARE, the same rows, sooner); the
    cursor is NO SCROLL, as PostgreSQL makes a cursor with row marks."""
    options = body.get("options", 0)
    hold = bool(options & CURSOR_OPT_HOLD)
    locking = _top_locking_strength(body["query"])
    if locking is not None:
        ensure_lockable_cursor(options, locking)
    txn = dispatcher.runner.txn
    if not txn.in_block and not hold:
        raise PgError(NO_ACTIVE_SQL_TRANSACTION, "DECLARE CURSOR can only be used in transaction blocks")
    async with dispatcher.runner.statement_transaction():
        if locking is not None or not await stream_cursor.declare_if_streamable(dispatcher, request, body):
            await _declare_over_rows(dispatcher, request, forward_only=locking is not None)
    dispatcher.session.send(codec.build_command_complete("DECLARE CURSOR"))


def _top_locking_strength(query: dict[str, Any]) -> str | None:
    """The strength of the query's own FOR UPDATE/SHARE (not a sub-select's), or None: what
    PostgreSQL's parse analysis of DECLARE sees as the query's row marks."""
    select = query.get("SelectStmt") if isinstance(query, dict) else None
    clauses = (select or {}).get("lockingClause") or []
    if not clauses:
        return None
    return _LOCK_STRENGTH.get(clauses[0]["LockingClause"].get("strength", ""), "FOR UPDATE")


def ensure_lockable_cursor(options: int, strength: str) -> None:
    """PostgreSQL's refusals of a cursor with row marks (transformDeclareCursorStmt)."""
    refusals = ((CURSOR_OPT_HOLD, FEATURE_NOT_SUPPORTED, "CURSOR WITH HOLD", "supported", "Holdable"),
                (CURSOR_OPT_SCROLL, FEATURE_NOT_SUPPORTED, "SCROLL CURSOR", "supported", "Scrollable"),
                (CURSOR_OPT_INSENSITIVE, INVALID_CURSOR_DEFINITION, "INSENSITIVE CURSOR", "valid", "Insensitive"))
    for flag, sqlstate, kind, word, which in refusals:
        if options & flag:
            raise PgError(sqlstate, f"DECLARE {kind} ... {strength} is not {word}",
                          detail=f"{which} cursors must be READ ONLY.")


async def _declare_over_rows(dispatcher: Dispatcher, request: ExecRequest, forward_only: bool = False) -> None:
    txn = dispatcher.runner.txn
    sql = request.sql
    query_start = cursor_query_start(sql)
    row_desc, rows = await _capture(dispatcher, request, sql[query_start:])
    columns = codec.parse_row_description(row_desc[5:])
    catalog = await txn.connection(dispatcher.coord.catalog_node, wants_block=True)
    temp = f"gp_cursor_{next(_ids)}"
    if txn.in_block:  # (its PREPARE would fail: that connection decides a 2PC instead)
        txn.touch_temp(dispatcher.coord.catalog_node)
    await _load(catalog, temp, columns, rows)
    select = ", ".join(f"c{i} AS {quote_ident(c.name)}" for i, c in enumerate(columns, 1))
    prefix = _forward_only_prefix(sql) if forward_only else sql[:query_start]
    declare = prefix + f"SELECT {select} FROM pg_temp.{temp} ORDER BY gp_ord"
    await catalog.simple_query(declare)
    # pg_cursors shows the client's text (the whole query string, as PostgreSQL's does)
    whole = getattr(dispatcher.runner, "query_text", None) if request.simple else None
    name = sqlparse.parse_tree(sql).get("DeclareCursorStmt", {}).get("portalname")
    if name and hasattr(dispatcher.runner, "cursor_texts"):
        dispatcher.runner.cursor_texts[name] = whole or sql


def _forward_only_prefix(sql: str) -> str:
    """`DECLARE name [BINARY] [ASENSITIVE] NO SCROLL CURSOR FOR ` for the client's DECLARE
    (a cursor over a temp table could scroll backward; one with row marks cannot)."""
    body = sqlparse.parse_tree(sql)["DeclareCursorStmt"]
    options = body.get("options", 0)
    words = ["DECLARE", quote_ident(body["portalname"])]
    if options & CURSOR_OPT_BINARY:
        words.append("BINARY")
    if options & CURSOR_OPT_ASENSITIVE:
        words.append("ASENSITIVE")
    return " ".join(words) + " NO SCROLL CURSOR FOR "


def cursor_query_start(sql: str) -> int:
    """Offset of the query after `DECLARE name ... CURSOR [WITH[OUT] HOLD] FOR`."""
    toks = [t for t in sqlparse.tokens(sql) if t.name not in ("C_COMMENT", "SQL_COMMENT")]
    seen_cursor = False
    for i, tok in enumerate(toks[:-1]):
        if i >= 2 and tok.name == "CURSOR":
            seen_cursor = True
        elif seen_cursor and tok.name == "FOR":
            return toks[i + 1].start
    raise PgError(SYNTAX_ERROR, "syntax error in DECLARE CURSOR")


async def _capture(dispatcher: Dispatcher, request: ExecRequest, query: str,
                   rows_wanted: bool = True) -> tuple[bytes, list[bytes]]:
    """Run a cursor's query through the coordinator; its RowDescription and DataRows in
    text. With bound parameters (DECLARE sent through the extended protocol, as psycopg's
    server-side cursors do) the query runs bound, its columns described first. Without
    `rows_wanted`, a statement that returns no rows (no RETURNING) is fine too."""
    session = dispatcher.session
    saved, session.out = session.out, []
    try:
        if request.simple or not request.params:
            await dispatcher.run(dataclasses.replace(request, sql=query, simple=True, params=[],
                                                     param_formats=[], param_oids=[], portal=None))
        else:
            inner = dataclasses.replace(request, sql=query, result_formats=[], max_rows=0, portal=None)
            await _run_inner(dispatcher, dataclasses.replace(request, simple=True), inner)
        captured = session.out
    finally:
        session.out = saved
    row_desc = b""
    rows = []
    for message in captured:
        kind = message[0]
        if kind == 0x54:
            row_desc = message
        elif kind == 0x44:
            rows.append(message)
        elif kind != 0x43:
            session.send(message)  # notices
    if not row_desc and rows_wanted:
        raise PgError(SYNTAX_ERROR, "the cursor's query returns no rows")
    return row_desc, rows


async def _load(catalog: BackendConnection, temp: str, columns: list[codec.Column], rows: list[bytes]) -> None:
    """A temp table (dropped at commit) with an ordinal column and the rows, by COPY."""
    pairs = ", ".join(f"({c.type_oid}, {c.type_mod})" for c in columns)
    names = await catalog.query(
        f"SELECT pg_catalog.format_type(o, m) FROM (VALUES {pairs}) AS v(o, m)")
    defs = ", ".join(f"c{i} {name}" for i, (name,) in enumerate(names, 1))
    await catalog.simple_query(f"CREATE TEMP TABLE {temp} (gp_ord int8, {defs}) ON COMMIT DROP")
    catalog.send(codec.build_query(f"COPY pg_temp.{temp} FROM STDIN"))
    await catalog.expect_copy_in()
    chunk: list[bytes] = []
    for ordinal, raw in enumerate(rows):
        fields = codec.parse_data_row(raw[5:])
        chunk.append(str(ordinal).encode() + b"\t" + b"\t".join(_copy_field(f) for f in fields) + b"\n")
        if len(chunk) >= 1000:
            catalog.send(codec.build_copy_data(b"".join(chunk)))
            chunk.clear()
    if chunk:
        catalog.send(codec.build_copy_data(b"".join(chunk)))
    catalog.send(codec.COPY_DONE)
    await catalog.read_results()


def _copy_field(value: bytes | None) -> bytes:
    if value is None:
        return b"\\N"
    return (value.replace(b"\\", b"\\\\").replace(b"\t", b"\\t")
            .replace(b"\n", b"\\n").replace(b"\r", b"\\r"))


# -- helpers ---------------------------------------------------------------------------


async def _catalog(dispatcher: Dispatcher) -> BackendConnection:
    return await dispatcher.runner.txn.connection(dispatcher.coord.catalog_node, wants_block=False)


async def _read_until_ready(conn: BackendConnection) -> tuple[list[bytes | None], PgError | None]:
    row: list[bytes | None] = []
    error: PgError | None = None
    while True:
        kind, payload = await conn.recv()
        if kind == 0x44:
            row = codec.parse_data_row(payload)
        elif kind == 0x45 and error is None:
            error = PgError.from_fields(codec.parse_error_fields(payload), None)
        elif kind == 0x5A:
            conn.txn_status = payload[:1]
            return row, error


def _shifted(error: PgError, after: int, delta: int) -> PgError:
    """The error with its cursor position moved back to the client's text."""
    fields = error.fields
    if fields and "P" in fields and fields["P"].isdigit() and int(fields["P"]) - 1 >= after:
        fields["P"] = str(max(1, int(fields["P"]) - delta))
    return error


def _oid_array(text: str | None) -> list[int] | None:
    if text is None:
        return None
    inner = text.strip("{}")
    return [int(x) for x in inner.split(",")] if inner else []
