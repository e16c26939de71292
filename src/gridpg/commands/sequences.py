"""Cluster-wide sequences: nextval, currval, setval and lastval as PostgreSQL answers them.

Every value comes from the GTM, so every coordinator hands out distinct values; serial and
identity columns of distributed tables take theirs from the same GTM sequences. The GTM
sequence copies the catalog sequence's definition (START, INCREMENT, MINVALUE, MAXVALUE,
CYCLE) and position when first used (`Coordinator.sequence_values`). The session keeps
currval() per sequence and the sequence lastval() reads, as a PostgreSQL backend does.

Where the calls may be:

* a SELECT without FROM (`SELECT nextval('s')`, `SELECT nextval('s'), currval('s')`,
  `SELECT setval('s', 10, false)`): each call is evaluated here in PostgreSQL's order and
  replaced by its value; the one-call form is answered directly, the others run on the
  catalog server with the values spliced in;
* a SELECT whose every output column is a sequence call over aggregates, without GROUP BY
  (Django's sequence reset: `SELECT setval(pg_get_serial_sequence('"t"','id'),
  coalesce(max("id"), 1), max("id") IS NOT null) FROM "t"`): one row, so one call each; the
  arguments are computed by the cluster first (`run_one_row_of_calls`);
* INSERT ... VALUES into a distributed table (`executor.values`);
* a SELECT with a FROM calling nextval per row, over no distributed table or over
  distributed tables named without their schema (`run_per_row_nextval`: on the catalog
  server, the tables read through the loopback's shadows, each call the GTM's);
* anywhere else in a query (a FROM clause, UPDATE SET, INSERT ... SELECT), PostgreSQL would
  call the function once per row on whichever server runs it: refused with 0A000 rather
  than served from a server's own copy of the sequence.

DDL keeps the GTM in step (`before_statement` / `SequenceDdl.apply`, after commit): DROP
drops the GTM sequence, CREATE (also of serial columns) clears a stale one of the same
name, ALTER SEQUENCE re-creates it with the new definition at its GTM position (or at the
RESTART position), RENAME and SET SCHEMA rename it. A coordinator worker takes CACHE values
at a time (`Coordinator.sequence_values`), as a PostgreSQL backend does: with the default
CACHE 1, values follow call order across all coordinators. Temp sequences and sequences
created in the open transaction are the catalog server's until COMMIT (`served_by_catalog`);
reads of positions on the catalog server first take the GTM's (`sync_state_reads`).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from gridpg.commands import sequence_ranges
from gridpg.errors import FEATURE_NOT_SUPPORTED, PgError
from gridpg.pgwire import codec
from gridpg.planner import analyze
from gridpg.planner.calls import SEQUENCE_FUNCTIONS as FUNCTIONS
from gridpg.planner.calls import (
    may_call_sequence,
    mentions_sequence_call,
    sequence_call,
    sequence_calls,
    without_from,
)
from gridpg.sql import parse as sqlparse
from gridpg.sql.quote import quote_ident, quote_literal

if TYPE_CHECKING:
    from gridpg.executor.dispatch import Dispatcher, ExecRequest
    from gridpg.executor.dml import TableColumn

__all__ = ["FUNCTIONS", "sequence_call", "sequence_calls"]
NOT_SUPPORTED_HINT = "call SELECT nextval(...) first and use its value, or use a serial/identity column"


# -- where the calls are -----------------------------------------------------------------


def ensure_supported(sql: str, distributed: Callable[[dict[str, Any]], bool] | None = None) -> None:
    """Refuse a query that would call a sequence function per row on some server's own copy
    of the sequence (see the module docstring for the places that are served). `distributed`
    tells whether an INSERT's target (its RangeVar) is a distributed table: there
    `nextval` items of an INSERT ... SELECT's select list are served
    (executor/insert_nextval.py)."""
    lowered = sql.lower()
    if not may_call_sequence(lowered):  # nextval currval setval lastval
        return
    try:
        tree = sqlparse.parse_tree(sql)
    except PgError:
        return
    kind = sqlparse.node_type(tree)
    if kind not in ("SelectStmt", "InsertStmt", "UpdateStmt", "DeleteStmt", "MergeStmt"):
        return
    body = tree[kind]
    if kind == "SelectStmt" and (without_from(body) or _one_row_of_calls(body)):
        return
    if kind == "InsertStmt":
        select = (body.get("selectStmt") or {}).get("SelectStmt") or {}
        if select.get("valuesLists") and not sequence_calls(
                [body.get("returningList"), body.get("returningClause"), body.get("onConflictClause"),
                 body.get("withClause")]):
            return
        from gridpg.executor.insert_nextval import nextval_items

        if distributed is not None and nextval_items(body) is not None and distributed(body["relation"]):
            return
    calls = sequence_calls(body)
    if calls:
        raise PgError(FEATURE_NOT_SUPPORTED, f"{calls[0][1]}() in this kind of statement is not "
                      "supported by gridpg: sequences are cluster-wide and evaluated by the "
                      "coordinator", hint=NOT_SUPPORTED_HINT)


async def ensure_served(dispatcher: Dispatcher, sql: str,
                        distributed: Callable[[dict[str, Any]], bool] | None = None) -> None:
    """`ensure_supported`, except for a statement that runs whole on the catalog server with
    the loopback armed (the routine guard's LoopbackCall: it calls code, or writes a table
    whose triggers, that reach distributed tables): there every `nextval(...)` it makes,
    whatever its argument, is `gridpg_lb_calls.nextval` (first on the armed path) and takes
    the GTM's value, as the code's own calls do. pgqueuer's enqueue, `WITH input AS
    MATERIALIZED (SELECT nextval((SELECT pg_get_serial_sequence('pgqueuer', 'id'))) ... FROM
    UNNEST($1, ...)), inserted AS (INSERT INTO pgqueuer ... RETURNING ...) ...` into a table
    with a statement-level trigger, was refused (0A000)."""
    try:
        ensure_supported(sql, distributed)
    except PgError as refusal:
        if refusal.sqlstate != FEATURE_NOT_SUPPORTED or getattr(dispatcher.runner, "is_loopback", False):
            raise
        from gridpg.executor.routines import LoopbackCall
        from gridpg.executor.run import search_path

        try:
            verdict = await dispatcher.coord.routine_guard.check(dispatcher, sql, list(search_path(dispatcher)))
        except PgError:
            raise refusal from None
        if not isinstance(verdict, LoopbackCall) and not (verdict is None and frozen_nextval(sql, distributed)):
            raise


def frozen_nextval(sql: str, distributed: Callable[[dict[str, Any]], bool] | None) -> bool:
    """A data-modifying WITH over distributed tables whose only sequence calls are nextval()
    in SELECT entries the steps evaluate once, before any part writes (planner/
    modifying_cte.py freezes an entry calling a volatile function): pgqueuer's enqueue,
    `WITH input AS MATERIALIZED (SELECT nextval(...) AS id, ... FROM UNNEST(...)),
    inserted AS (INSERT ...) ...`. Such an entry is read on the catalog server with the
    loopback armed (executor/modifying_cte.py), each call the GTM's."""
    from gridpg.planner.modifying_cte import plan_steps

    if distributed is None:
        return False
    tree = sqlparse.parse_tree(sql)
    kind = sqlparse.node_type(tree)
    body = tree.get(kind) or {}
    ctes = [c.get("CommonTableExpr") or {} for c in (body.get("withClause") or {}).get("ctes", [])]
    writes = [(c.get("ctequery") or {}).get(k) for c in ctes for k in ("InsertStmt", "UpdateStmt", "DeleteStmt")]
    if kind != "SelectStmt" and kind in ("InsertStmt", "UpdateStmt", "DeleteStmt"):
        writes.append(body)
    if not any(w and w.get("relation") and distributed(w["relation"]) for w in writes):
        return False
    try:
        frozen = {step.name for step in plan_steps(sql).steps if step.frozen_after is not None}
    except PgError:
        return False
    rest = {k: v for k, v in body.items() if k != "withClause"}
    if sequence_calls(rest):
        return False
    for cte in ctes:
        calls = sequence_calls(cte.get("ctequery"))
        if calls and (cte.get("ctename") not in frozen or any(function != "nextval" for _, function, _ in calls)):
            return False
    return True


async def inline_session_values(dispatcher: Dispatcher, sql: str) -> str:
    """`sql` with its currval('s') and lastval() calls replaced by the session's values,
    when it calls no other sequence function: within one statement they are constants
    (`UPDATE rental SET return_date = now() WHERE rental_id = currval('rental_rental_id_seq')`,
    how an application finishes what its INSERT began), so the datanodes need not evaluate
    them per row on their own copies of the sequence (refused, 0A000, before)."""
    lowered = sql.lower()
    if "currval" not in lowered and "lastval" not in lowered:
        return sql
    try:
        tree = sqlparse.parse_tree(sql)
    except PgError:
        return sql
    kind = sqlparse.node_type(tree)
    if kind not in ("SelectStmt", "InsertStmt", "UpdateStmt", "DeleteStmt", "MergeStmt"):
        return sql
    if kind == "SelectStmt" and (without_from(tree[kind]) or _one_row_of_calls(tree[kind])):
        return sql  # served in call order by `run` (a function called before currval may draw)
    calls = sorted(sequence_calls(tree[kind]), key=lambda c: c[0])
    if not calls or any(function not in ("currval", "lastval") for _, function, _ in calls):
        return sql
    if await dispatcher.coord.routine_guard.may_draw_from_sequences(dispatcher, sql):
        return sql  # a function of the user's may draw from the sequence first: left as refused
    spans = call_spans(sql, [location for location, _, _ in calls])
    if any(a[1] > b[0] for a, b in itertools.pairwise(spans)):
        return sql
    named = _bare_targets(tree[kind])
    out, pos = [], 0
    for (location, function, args), (start, end) in zip(calls, spans, strict=True):
        texts = [] if function == "lastval" else [literal_name(args)]
        if texts and texts[0] is None:
            return sql  # a computed name: left to ensure_supported
        alias = f" AS {function}" if location in named else ""  # the column keeps its name
        out += [sql[pos:start], f"({await call_value(dispatcher, function, texts)}::pg_catalog.int8){alias}"]
        pos = end
    out.append(sql[pos:])
    return "".join(out)


async def inline_values_nextval(dispatcher: Dispatcher, sql: str) -> str:
    """`sql` with the `nextval('s')` items of a VALUES list in its FROM clause replaced by
    the GTM's values, row by row and left to right, as PostgreSQL's Values Scan calls them:
    SQLAlchemy's insertmanyvalues for a column with a Sequence, `INSERT INTO t (id, data)
    SELECT p0::INTEGER, p1::VARCHAR FROM (VALUES (nextval('s'), $1, 0), (nextval('s'),
    $2, 1)) AS imp_sen(p0, p1, sen_counter) ORDER BY sen_counter RETURNING t.id`
    (refused, 0A000, before). Served when the VALUES list is the whole FROM clause of a
    SELECT or of an INSERT's SELECT (scanned once, every row evaluated once: also with a
    WHERE), each call is a whole item, and nothing else calls a sequence function but
    `nextval` items of the select list under an ORDER BY (PostgreSQL evaluates those after
    the sort, so after the VALUES; executor/insert_nextval.py serves them); no LIMIT
    without ORDER BY (the scan would stop early)."""
    if "nextval" not in sql.lower() or "values" not in sql.lower():
        return sql
    try:
        tree = sqlparse.parse_tree(sql)
    except PgError:
        return sql
    select = _select_over_values(tree)
    if select is None:
        return sql
    values = select["fromClause"][0]["RangeSubselect"]["subquery"]["SelectStmt"]
    items = [_whole_nextval(item) for row in values["valuesLists"] for item in row["List"]["items"]]
    calls = [c for c in items if c is not None]
    inside = {location for location, _ in calls}
    outside = [c for c in sequence_calls(tree) if c[0] not in inside]
    if not calls or len(calls) != len(sequence_calls(values)):
        return sql  # a call nested in a VALUES item (coalesce, CASE): left to ensure_supported
    if outside and not (select.get("sortClause") and _only_nextval_items(select, outside)):
        return sql
    if (select.get("limitCount") or select.get("limitOffset")) and not select.get("sortClause"):
        return sql
    if await dispatcher.coord.routine_guard.may_draw_from_sequences(dispatcher, sql):
        return sql
    spans = call_spans(sql, [location for location, _ in calls])
    names = [await qualified_name(dispatcher, name, "nextval") for _, name in calls]
    values_of: dict[str, list[int]] = {}
    for name in sorted(set(names), key=lambda n: max(i for i, m in enumerate(names) if m == n)):
        values_of[name] = await next_values(dispatcher, name, names.count(name))  # the last call's last: lastval()
    pieces = [(start, end, f"({values_of[name].pop(0)}::pg_catalog.int8)")
              for (start, end), name in zip(spans, names, strict=True)]
    from gridpg.planner.text import splice

    return splice(sql, pieces)


def _select_over_values(tree: dict[str, Any]) -> dict[str, Any] | None:
    """The SELECT (top-level or an INSERT's) whose whole FROM clause is one VALUES list."""
    if "InsertStmt" in tree:
        select = (tree["InsertStmt"].get("selectStmt") or {}).get("SelectStmt")
    else:
        select = tree.get("SelectStmt")
    if not select or select.get("op", "SETOP_NONE") != "SETOP_NONE" or len(select.get("fromClause") or []) != 1:
        return None
    sub = select["fromClause"][0].get("RangeSubselect")
    inner = ((sub or {}).get("subquery") or {}).get("SelectStmt") or {}
    if not sub or sub.get("lateral") or not inner.get("valuesLists"):
        return None
    return select  # type: ignore[no-any-return]


def _whole_nextval(item: dict[str, Any]) -> tuple[int, str] | None:
    """(location, sequence name) of a VALUES item that is `nextval('literal')` (cast or not)."""
    if "TypeCast" in item:
        item = item["TypeCast"].get("arg", {})
    call = item.get("FuncCall")
    if not isinstance(call, dict) or call.get("over") or call.get("agg_star"):
        return None
    names = [n["String"]["sval"] for n in call.get("funcname", []) if "String" in n]
    if names[-1:] != ["nextval"] or (len(names) == 2 and names[0] != "pg_catalog") or len(names) > 2:
        return None
    args = call.get("args") or []
    name = literal_name(args) if len(args) == 1 else None
    return None if name is None else (int(call.get("location", 0)), name)


def _only_nextval_items(select: dict[str, Any], calls: list[tuple[int, str, list[Any]]]) -> bool:
    """Whether every one of `calls` is a whole `nextval('literal')` item of the select list."""
    whole = {c[0] for c in (_whole_nextval(t.get("ResTarget", {}).get("val", {}))
                            for t in select.get("targetList") or []) if c is not None}
    return all(location in whole for location, _, _ in calls)


def per_row_nextval(sql: str) -> bool:
    """`SELECT nextval('s') FROM generate_series(1, 5)`: a SELECT with a FROM that calls
    nextval of named sequences, per row, and no other sequence function (their order
    against the nextval calls would matter)."""
    lowered = sql.lower()
    if "nextval" not in lowered or "from" not in lowered:
        return False
    try:
        tree = sqlparse.parse_tree(sql)
    except PgError:
        return False
    body = tree.get("SelectStmt")
    if body is None or without_from(body) or _one_row_of_calls(body) or body.get("intoClause"):
        return False
    calls = sequence_calls(body)
    return bool(calls) and all(function == "nextval" and len(args) == 1 and literal_name(args) is not None
                               for _, function, args in calls)


async def run_per_row_nextval(dispatcher: Dispatcher, request: ExecRequest,
                              tables: list[tuple[str, str]] | None = None) -> None:
    """Run a `per_row_nextval` statement on the catalog server, each call made
    `gridpg_lb_calls.nextval('schema.name')` (loopback.nextval_call): its executor calls it
    where and as often as PostgreSQL calls nextval (`SELECT id, nextval('s') FROM t ORDER
    BY id LIMIT 3`: after the sort, for the three rows returned), and each call takes the
    GTM's next value through the loopback (recorded for currval()/lastval()). `tables`:
    the distributed tables it reads, each named without its schema, read through their
    shadows. The caller has made sure no user routine is called (it would run there
    unguarded)."""
    from gridpg.executor import loopback
    from gridpg.planner.text import splice

    sql = request.sql
    body = sqlparse.parse_tree(sql)["SelectStmt"]
    calls = sorted(sequence_calls(body), key=lambda c: c[0])
    spans = call_spans(sql, [location for location, _, _ in calls])
    if any(a[1] > b[0] for a, b in itertools.pairwise(spans)):
        raise PgError(FEATURE_NOT_SUPPORTED, "nested nextval() calls are not supported by gridpg",
                      hint=NOT_SUPPORTED_HINT)
    named = _bare_targets(body)
    pieces = []
    for (location, _, args), span in zip(calls, spans, strict=True):
        if literal_name(args) is None:
            continue  # a computed name (frozen_nextval): armed, nextval is gridpg_lb_calls.nextval
        name = await qualified_name(dispatcher, str(literal_name(args)), "nextval")
        if served_by_catalog(dispatcher, name):
            continue  # the catalog server's own sequence: its nextval is the answer
        alias = " AS nextval" if location in named else ""  # the column keeps its name
        pieces.append((*span, f"{loopback.nextval_call(name)}{alias}"))
    await loopback.run_call(dispatcher, request, splice(sql, pieces), list(tables or ()))


def _bare_targets(node: Any) -> set[int]:
    """Locations of the function calls that are whole, unnamed output columns."""
    found: set[int] = set()
    for item in analyze._walk(node):
        target = item.get("ResTarget") if isinstance(item, dict) else None
        call = target.get("val", {}).get("FuncCall") if isinstance(target, dict) else None
        if call is not None and "name" not in target and "location" in call:  # type: ignore[operator]
            found.add(int(call["location"]))
    return found


def literal_name(args: list[Any]) -> str | None:
    """The sequence's name when the call's first argument is a string constant."""
    arg = args[0] if args else {}
    if "TypeCast" in arg:
        arg = arg["TypeCast"].get("arg", {})
    const = arg.get("A_Const", {})
    return str(const["sval"]["sval"]) if "sval" in const else None


# -- reads of a sequence's position ---------------------------------------------------------

# Catalog views and functions that show a sequence's position (all sequences).
_STATE_READERS = ("pg_sequences", "pg_sequence_last_value", "pg_get_sequence_data")
_SYSTEM_SCHEMAS = ("pg_catalog", "information_schema", "gridpg")


async def sync_state_reads(dispatcher: Dispatcher, sql: str) -> None:
    """Before a statement that reads sequence positions on the catalog server (`SELECT *
    FROM s`, pg_sequences.last_value, pg_sequence_last_value(), pg_get_sequence_data()):
    the catalog sequences take the GTM's positions, so the read shows what PostgreSQL's
    would (the last value handed out to any coordinator's cache, as with CACHE)."""
    lowered = sql.lower()
    if any(word in lowered for word in _STATE_READERS):
        await _sync_positions(dispatcher, None)
        return
    if "select" not in lowered and "table" not in lowered:
        return
    try:
        tree = sqlparse.parse_tree(sql)
    except PgError:
        return
    if sqlparse.node_type(tree) != "SelectStmt":
        return
    from gridpg.executor.run import catalog_view, session_view
    from gridpg.planner.core import view_definition

    catalog, path = catalog_view(dispatcher), session_view(dispatcher).search_path
    refs = [r for r in analyze.relations(tree)  # (names that resolve to a table or view: not sequences)
            if r.schema not in _SYSTEM_SCHEMAS and not (r.schema is None and r.name.startswith("pg_"))
            and catalog.resolve(r, path) is None and view_definition(r, catalog, path) is None]
    if refs:
        texts = [".".join(quote_ident(p) for p in (r.schema, r.name) if p) for r in refs]
        found = await _catalog_rows(dispatcher, _SEQUENCES_NAMED_SQL.format(
            ", ".join(f"pg_catalog.to_regclass({quote_literal(t)})" for t in texts)))
        wanted = [str(r[0]) for r in found if not served_by_catalog(dispatcher, str(r[0]))]
        if wanted:
            await _sync_positions(dispatcher, wanted)


async def inline_last_values(dispatcher: Dispatcher, sql: str) -> str:
    """`sql`, a statement over distributed tables, with each pg_sequence_last_value() call
    replaced by its value on the catalog server (after `sync_state_reads`: the GTM's
    position). A datanode's copy of the sequence is never used (its NULL was answered for
    a sequence the cluster had drawn from). A call whose argument varies per row is refused."""
    from gridpg.planner import sizes as plan_sizes

    calls = plan_sizes.find_calls(sql, ("pg_sequence_last_value",))
    if not calls:
        return sql
    tree = sqlparse.parse_tree(sql)
    kind = sqlparse.node_type(tree)
    if kind not in _RUN_NOW or (tree[kind].get("objtype") == "OBJECT_MATVIEW"):
        raise PgError(FEATURE_NOT_SUPPORTED,
                      "pg_sequence_last_value() in a view, rule or prepared statement over distributed "
                      "tables is not supported by gridpg",
                      detail="Its value would be the one of the moment it was defined, or the datanodes' "
                             "copies of the sequence, which do not hold its position.",
                      hint="Call pg_sequence_last_value() in the statement that needs it.")
    if not all(call.constant for call in calls):
        raise PgError(FEATURE_NOT_SUPPORTED,
                      "pg_sequence_last_value() of an argument that varies per row is not supported "
                      "in a statement over distributed tables",
                      detail="Sequences are cluster-wide; the datanodes' copies do not hold their positions.",
                      hint="Call pg_sequence_last_value() in a statement of its own.")
    conn = await dispatcher.runner.txn.connection(dispatcher.coord.catalog_node, wants_block=False)
    await conn.settle()
    rows = await conn.query("SELECT " + ", ".join(sql[call.start:call.end] for call in calls))
    return plan_sizes.with_values(sql, calls, list(rows[0]))


# Statements that run their query now (their pg_sequence_last_value() calls answered once)
_RUN_NOW = frozenset({"SelectStmt", "InsertStmt", "UpdateStmt", "DeleteStmt", "MergeStmt", "DeclareCursorStmt",
                      "ExplainStmt", "CreateTableAsStmt", "CopyStmt"})


_SEQUENCES_NAMED_SQL = (
    "SELECT pg_catalog.format('%I.%I', n.nspname, c.relname) FROM pg_catalog.pg_class c "
    "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind = 'S' AND c.oid IN ({})")


async def _sync_positions(dispatcher: Dispatcher, names: list[str] | None) -> None:
    """The GTM positions of these sequences (None: every GTM sequence) written into this
    coordinator's catalog sequences where they differ (setval outside any transaction, as
    sequence positions are; then nextval when called, so log_cnt is PostgreSQL's too)."""
    from gridpg.gtm.protocol import GtmError

    gtm = dispatcher.coord.gtm
    if names is None:
        states = list(await gtm.seq_list())
    else:
        states = []
        for name in names:
            try:
                states.append(await gtm.seq_currval_state(name))
            except GtmError:
                continue  # never used through the GTM: the catalog's position is the sequence's
    coord = dispatcher.coord
    conn = await coord.internal_acquire(coord.catalog_node)
    try:
        for state in states:
            await _sync_one(conn, str(state["name"]), int(state["last_value"]), bool(state["is_called"]))
    finally:
        coord.pools.pool(coord.catalog_node).release(conn)


async def _sync_one(conn: Any, name: str, last: int, called: bool) -> None:
    regclass = f"pg_catalog.to_regclass({quote_literal(name)})"
    rows = await conn.query(f"SELECT s.seqcache FROM pg_catalog.pg_sequence s WHERE s.seqrelid = {regclass}")
    if not rows:
        return  # not (yet, or any more) in this catalog
    here = await conn.query(f"SELECT last_value, is_called FROM {name}")
    if here and int(str(here[0][0])) == last and (here[0][1] == "t") == called:
        return
    if called and int(str(rows[0][0])) == 1:  # nextval leaves log_cnt as PostgreSQL's would
        await conn.query(f"SELECT pg_catalog.setval({regclass}, {last}, false), pg_catalog.nextval({regclass})")
    else:  # (with a CACHE, nextval here would run ahead by the cache)
        await conn.query(f"SELECT pg_catalog.setval({regclass}, {last}, {'true' if called else 'false'})")


# Aggregates whose presence (without GROUP BY) makes a SELECT return one row: the built-in
# ones an ORM writes around a sequence call (Django's sequence reset: max, coalesce).
_AGGREGATES = frozenset({"max", "min", "count", "sum", "avg", "bool_and", "bool_or", "every",
                         "array_agg", "string_agg", "bit_and", "bit_or"})


def is_one_row_of_calls(sql: str) -> bool:
    """`SELECT setval('s', coalesce(max(id), 1), max(id) IS NOT null) FROM t` (Django's
    sequence reset after loaddata and in tests): every output column a sequence call over
    aggregates, no GROUP BY, so PostgreSQL calls each function once."""
    lowered = sql.lower()
    if not may_call_sequence(lowered) or "from" not in lowered:
        return False
    try:
        tree = sqlparse.parse_tree(sql)
    except PgError:
        return False
    body = tree.get("SelectStmt")
    return body is not None and _one_row_of_calls(body)


def _one_row_of_calls(body: dict[str, Any]) -> bool:
    targets = body.get("targetList") or []
    if not body.get("fromClause") or body.get("groupClause") or body.get("distinctClause") \
            or body.get("op", "SETOP_NONE") != "SETOP_NONE" or not targets:
        return False
    if sequence_calls([body.get(k) for k in ("fromClause", "whereClause", "havingClause", "sortClause",
                                             "withClause", "limitCount", "limitOffset")]):
        return False
    calls = [t.get("ResTarget", {}).get("val", {}).get("FuncCall") for t in targets]
    if any(c is None or not sequence_calls([{"FuncCall": {**c, "args": []}}]) for c in calls):
        return False
    return any(_is_aggregate(node) for node in analyze._walk(targets))


def _is_aggregate(node: Any) -> bool:
    call = node.get("FuncCall") if isinstance(node, dict) else None
    if call is None or call.get("over"):
        return False
    names = [n["String"]["sval"] for n in call.get("funcname", []) if "String" in n]
    return bool(names) and names[-1] in _AGGREGATES and (len(names) == 1 or names[0] == "pg_catalog")


async def run_one_row_of_calls(dispatcher: Dispatcher, request: ExecRequest) -> None:
    """The calls' arguments computed by the cluster (one row, aggregates over distributed
    tables combined as any query), then each call made on the GTM's sequence, in order."""
    from gridpg.executor.prepared import _capture
    from gridpg.planner.text import splice

    sql = request.sql
    body = sqlparse.parse_tree(sql)["SelectStmt"]
    calls = sorted(sequence_calls(body.get("targetList")), key=lambda c: c[0])
    spans = call_spans(sql, [c[0] for c in calls])
    columns, replacements, widths = [], [], []
    for target, (_, function, args), (start, end) in zip(body["targetList"], calls, spans, strict=True):
        opening = next(t for t in sqlparse.tokens(sql) if t.start >= start and t.name == "ASCII_40")
        inner = sql[opening.end + 1 : end - 1]  # (the token: not a "(" in a comment before it)
        parts = split_arguments(inner)
        if len(parts) != len(args):
            raise PgError(FEATURE_NOT_SUPPORTED, "sequence function arguments gridpg cannot read",
                          hint=NOT_SUPPORTED_HINT)
        replacements.append((start, end, ", ".join(f"(({p}))::text" for p in parts) or "NULL::text"))
        widths.append(len(parts))
        columns.append(target["ResTarget"].get("name") or function)
    _, rows = await _capture(dispatcher, request, splice(sql, replacements))
    out: list[list[int | None]] = []
    for raw in rows:
        fields = [None if f is None else f.decode() for f in codec.parse_data_row(raw[5:])]
        values: list[int | None] = []
        pos = 0
        for (_, function, _args), width in zip(calls, widths, strict=True):
            texts = fields[pos:pos + width] if width else []
            pos += max(width, 1)
            # STRICT functions: a NULL argument gives NULL, and nothing is called
            values.append(None if None in texts else await call_value(dispatcher, function, texts))
        out.append(values)
    _send_bigints(dispatcher, request, columns, out)


def _send_bigints(dispatcher: Dispatcher, request: ExecRequest, columns: list[str],
                  rows: list[list[int | None]]) -> None:
    send = dispatcher.session.send
    if request.simple:
        send(codec.build_row_description([codec.Column(c, type_oid=20, type_size=8) for c in columns]))
    binary = bool(request.result_formats) and request.result_formats[0] == 1
    for row in rows:
        send(codec.build_data_row([None if v is None else v.to_bytes(8, "big", signed=True) if binary
                                   else str(v).encode() for v in row]))
    send(codec.build_command_complete(f"SELECT {len(rows)}"))


# -- evaluating the calls -------------------------------------------------------------------


def gtm_name(dispatcher: Dispatcher, name: str) -> str:
    """The name the GTM holds a sequence under: a sequence renamed in the open block keeps
    its old name there until COMMIT (SequenceDdl.apply renames it then; after a ROLLBACK
    the old name is right again), so its values continue instead of starting over."""
    return dispatcher.runner.renamed_sequences.get(name, name)


async def track_renames(dispatcher: Dispatcher, ddl: SequenceDdl) -> None:
    """After a RENAME / SET SCHEMA of a sequence in a block: its new name (read in the
    block) maps to the name the GTM holds it under."""
    renamed = dispatcher.runner.renamed_sequences
    local = dispatcher.runner.local_sequences
    for old, oid in list(ddl.rename):
        new = await _name_of_oid(dispatcher, oid)
        if new and new != old and old in local:
            # made in this block: the catalog server's until COMMIT under its new name too
            # (it went to the GTM, which copied a position the block's values had not
            # reached: nextval repeated them, SQLAlchemy's test_renamed_sequence_reflection)
            local.discard(old)
            local.add(new)
            ddl.rename.remove((old, oid))
        elif new and new != old:
            renamed[new] = renamed.pop(old, old)


def served_by_catalog(dispatcher: Dispatcher, name: str) -> bool:
    """A temp sequence (the session's own) or one created in the open transaction (nobody
    else sees it yet): the catalog server's own sequence, in the session's transaction, is
    PostgreSQL's answer; the GTM takes over from its position after COMMIT."""
    return name.startswith(("pg_temp", '"pg_temp')) or name in dispatcher.runner.local_sequences


async def _catalog_call(dispatcher: Dispatcher, sql: str) -> list[tuple[str | None, ...]]:
    runner = dispatcher.runner
    conn = await runner.txn.connection(dispatcher.coord.catalog_node, wants_block=runner.txn.in_block)
    return await conn.query(sql)


async def _catalog_session_value(dispatcher: Dispatcher, sql: str) -> int | None:
    """A session value (lastval()) of the session's catalog connection, None where it has
    none (55000 there)."""
    try:
        rows = await _catalog_call(dispatcher, sql)
    except PgError as exc:
        if exc.sqlstate == "55000":
            return None
        raise
    return int(str(rows[0][0])) if rows and rows[0][0] is not None else None


def ensure_writable(dispatcher: Dispatcher, function: str, name: str) -> None:
    """nextval/setval change a sequence: refused in a read-only transaction (not for the
    session's temp sequences), as PostgreSQL does."""
    from gridpg.executor.exchange import is_read_only

    if not name.startswith(("pg_temp", '"pg_temp')) and is_read_only(dispatcher):
        raise PgError("25006", f"cannot execute {function}() in a read-only transaction")


async def next_values(dispatcher: Dispatcher, name: str, count: int) -> list[int]:
    """`count` values of a sequence (qualified name), recorded for currval() and lastval()."""
    from gridpg.gtm.protocol import GtmError

    ensure_writable(dispatcher, "nextval", name)
    caller = getattr(dispatcher.runner, "caller", dispatcher.runner)  # a loopback's: its caller's
    if name in getattr(caller, "altered_sequences", ()) and not served_by_catalog(dispatcher, name):
        raise PgError(FEATURE_NOT_SUPPORTED,
                      f"gridpg cannot hand out values of sequence {name} in the transaction that "
                      "altered it: the change reaches the cluster's sequence at COMMIT",
                      hint="Commit the ALTER SEQUENCE first, or RESTART the sequence in it.")
    try:
        if served_by_catalog(dispatcher, name):
            rows = await _catalog_call(dispatcher, f"SELECT pg_catalog.nextval({quote_literal(name)}) "
                                       f"FROM pg_catalog.generate_series(1, {int(count)})")
            values = [int(str(r[0])) for r in rows]
        else:
            values = await dispatcher.coord.sequence_values(gtm_name(dispatcher, name), count)
    except GtmError as exc:  # (the GTM names the sequence qualified; PostgreSQL does not)
        raise PgError(exc.code, exc.message.replace(f'"{gtm_name(dispatcher, name)}"', f'"{_bare(name)}"')) from None
    if values:
        runner = getattr(dispatcher.runner, "caller", dispatcher.runner)  # a loopback's: its caller's
        runner.sequence_values[name] = values[-1]
        runner.last_sequence = name
    return values


async def call_value(dispatcher: Dispatcher, function: str, texts: list[str | None]) -> int:
    """The value of one call, arguments given as text (the sequence's name first)."""
    runner = dispatcher.runner
    if function == "lastval":
        last = runner.last_sequence
        if (last is None or served_by_catalog(dispatcher, last)) and getattr(getattr(runner, "temps", None), "pinned", False):
            value = await _catalog_session_value(dispatcher, "SELECT pg_catalog.lastval()")
            if value is not None:
                return value
        if last is None or last not in runner.sequence_values:
            raise PgError("55000", "lastval is not yet defined in this session")
        value = runner.sequence_values[last]
        try:  # PostgreSQL checks the session's role on the sequence at every lastval()
            await qualified_name(dispatcher, last, "lastval")
        except PgError as exc:
            if exc.sqlstate == "42P01":  # dropped meanwhile
                raise PgError("55000", "lastval is not yet defined in this session") from None
            raise
        return value
    if not texts or texts[0] is None:
        raise PgError("22004", f"{function}() needs a sequence name")
    name = await qualified_name(dispatcher, str(texts[0]), function)
    if function == "nextval":
        return (await next_values(dispatcher, name, 1))[0]
    if function == "currval":
        if served_by_catalog(dispatcher, name):
            # the catalog server's own sequence, whose nextval() may also have been called
            # there without gridpg (a temp table's DEFAULT nextval('temp_seq'), code): its
            # currval is PostgreSQL's answer (the session's note of values gridpg handed
            # out missed those: `currval` gave an older value)
            rows = await _catalog_call(dispatcher, f"SELECT pg_catalog.currval({quote_literal(name)})")
            return int(str(rows[0][0]))
        if name not in runner.sequence_values:
            raise PgError("55000", f'currval of sequence "{_bare(name)}" is not yet defined in this session')
        return runner.sequence_values[name]
    return await _setval(dispatcher, name, texts)


async def loopback_call(dispatcher: Dispatcher, function: str, name: str,
                        arg: str) -> tuple[int | None, str]:
    """A sequence call of code the catalog server runs with the loopback armed (the
    `gridpg_lb_calls` functions, executor/loopback.py `SEQUENCE_CALLS`; the sequence named
    and its privilege checked there): (value, answer) for the caller's session. nextval and
    setval reach the GTM's sequence; currval and lastval read what the session recorded
    (value None: not yet defined; lastval's answer names its sequence); a sequence the
    catalog server serves (temp, or created in the open transaction) is answered 'local':
    the caller's catalog connection is busy running the code, so the call is made there by
    pg_catalog's function, whose value comes back as `note_nextval` / `note_setval`."""
    runner = getattr(dispatcher.runner, "caller", dispatcher.runner)
    value, answer = await _loopback_call(dispatcher, runner, function, name, arg)
    if runner.sequence_echo is not None:  # (code_ddl: its capture run takes these values again)
        runner.sequence_echo.record(function, name, arg, value, answer)
    return value, answer


async def _loopback_call(dispatcher: Dispatcher, runner: Any, function: str, name: str,
                         arg: str) -> tuple[int | None, str]:
    if function == "lastval":
        last = runner.last_sequence
        return (runner.sequence_values.get(last) if last else None), last or ""
    if function == "currval":
        if name.startswith(("pg_temp", '"pg_temp')) or name in runner.local_sequences:
            return None, "local"  # the catalog server's own currval (its DEFAULTs call nextval there too)
        return runner.sequence_values.get(name), ""
    if function in ("note_nextval", "note_setval"):
        runner.sequence_values[name] = int(arg)
        if function == "note_nextval":
            runner.last_sequence = name
        return int(arg), ""
    if name.startswith(("pg_temp", '"pg_temp')) or name in runner.local_sequences:
        return None, "local"
    if function == "nextval":
        return (await next_values(dispatcher, name, 1))[0], ""
    if function == "setval":
        value, called = arg.split(",")
        return await _setval(dispatcher, name, [name, value, called]), ""
    raise PgError(FEATURE_NOT_SUPPORTED, f"gridpg.sequence_call has no function {function}")


async def _setval(dispatcher: Dispatcher, name: str, texts: list[str | None]) -> int:
    from gridpg.gtm.protocol import GtmError

    if len(texts) < 2 or texts[1] is None:
        raise PgError("22004", "setval() needs a value")
    ensure_writable(dispatcher, "setval", name)
    value = int(str(texts[1]))
    is_called = len(texts) < 3 or str(texts[2]).lower() in ("true", "t", "on", "1", "yes", "y")
    if served_by_catalog(dispatcher, name):
        await _catalog_call(dispatcher, f"SELECT pg_catalog.setval({quote_literal(name)}, {value}, "
                            f"{'true' if is_called else 'false'})")
        if is_called:
            dispatcher.runner.sequence_values[name] = value
        return value
    coord = dispatcher.coord
    held = gtm_name(dispatcher, name)
    try:
        if held == name:  # (renamed in the block: its catalog copy is locked by the RENAME)
            await coord.ensure_sequence(held)
        await coord.gtm.seq_setval(held, value, is_called)
    except GtmError as exc:
        raise PgError(exc.code, exc.message.replace(f'"{held}"', f'"{_bare(name)}"')) from None
    coord.forget_sequences([held])
    if not await _none_cached(coord):  # every coordinator drops its cached ranges
        await coord.metadata_changed()
    if is_called:
        dispatcher.runner.sequence_values[name] = value
    return value


# What each sequence function needs, as PostgreSQL checks it (any one of them).
_PRIVILEGES = {"nextval": ("USAGE", "UPDATE"), "currval": ("USAGE", "SELECT"),
               "lastval": ("USAGE", "SELECT"), "setval": ("UPDATE",)}


async def qualified_name(dispatcher: Dispatcher, name: str, function: str = "") -> str:
    """The sequence as `schema.name` (quoted like pg_get_serial_sequence), via the catalog;
    with `function`, after PostgreSQL's privilege check for it, made on the session's catalog
    connection (its role): the GTM knows no roles."""
    wanted = _PRIVILEGES.get(function, ())
    checks = ", ".join(f"pg_catalog.has_sequence_privilege(c.oid, {quote_literal(p)})" for p in wanted)
    conn = await dispatcher.runner.txn.connection(dispatcher.coord.catalog_node, wants_block=False)
    rows = await conn.query(
        "SELECT pg_catalog.format('%I.%I', n.nspname, c.relname), c.relkind"
        + (f", {checks}" if checks else "") + " FROM pg_catalog.pg_class c "
        "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
        f"WHERE c.oid = pg_catalog.to_regclass({quote_literal(name)})")
    if not rows:
        raise PgError("42P01", f'relation "{name}" does not exist')
    if rows[0][1] != "S":
        raise PgError("42809", f'"{_bare(name)}" is not a sequence')
    if wanted and not any(flag == "t" for flag in rows[0][2:]):
        raise PgError("42501", f"permission denied for sequence {_bare(name)}")
    return str(rows[0][0])


def _bare(name: str) -> str:
    """The relation's own name of a qualified one, as PostgreSQL's messages print it
    (`"My.Schema"."Odd.Seq"` -> `Odd.Seq`): the last part outside double quotes."""
    part, quoted, i = "", False, 0
    while i < len(name):
        ch = name[i]
        if ch == '"':
            if quoted and name[i + 1:i + 2] == '"':
                part += '"'
                i += 1
            else:
                quoted = not quoted
        elif ch == "." and not quoted:
            part = ""
        else:
            part += ch
        i += 1
    return part


async def run(dispatcher: Dispatcher, request: ExecRequest, function: str, column: str,
              args: list[Any]) -> None:
    """Answer a SELECT without FROM that calls sequence functions."""
    if function == "*":
        await _run_rewritten(dispatcher, request, args[0])
        return
    texts = [_constant_text(arg, request, function) for arg in args]
    result = await call_value(dispatcher, function, texts)
    send = dispatcher.session.send
    if request.simple:
        send(codec.build_row_description([codec.Column(column, type_oid=20, type_size=8)]))
    binary = bool(request.result_formats) and request.result_formats[0] == 1
    send(codec.build_data_row([result.to_bytes(8, "big", signed=True) if binary else str(result).encode()]))
    send(codec.build_command_complete("SELECT 1"))


def _constant_text(arg: Any, request: ExecRequest, function: str) -> str | None:
    from gridpg.planner.context import UNKNOWN, value_text

    value = analyze.value_of(arg)
    text = value_text(value, request.bound()) if value is not None else UNKNOWN
    if text is UNKNOWN:
        raise PgError(FEATURE_NOT_SUPPORTED, f"{function}() through gridpg takes constant or parameter arguments")
    return text  # type: ignore[return-value]


async def _run_rewritten(dispatcher: Dispatcher, request: ExecRequest, tree: dict[str, Any]) -> None:
    """Each call replaced by its value (left to right), the statement run on the catalog."""
    from gridpg.executor.multi import inline_params

    sql = request.sql
    calls = sorted(sequence_calls(tree), key=lambda c: c[0])
    spans = call_spans(sql, [c[0] for c in calls])
    if any(a[1] > b[0] for a, b in itertools.pairwise(spans)):
        raise PgError(FEATURE_NOT_SUPPORTED, "a sequence function inside another is not supported by gridpg",
                      hint=NOT_SUPPORTED_HINT)
    unnamed = {t["ResTarget"]["val"]["FuncCall"]["location"] for t in tree["SelectStmt"]["targetList"]
               if "FuncCall" in t["ResTarget"].get("val", {}) and not t["ResTarget"].get("name")}
    replacements = []
    for (location, function, args), (start, end) in zip(calls, spans, strict=True):
        texts = await _argument_texts(dispatcher, request, sql[start:end], args, inline_params)
        value = await call_value(dispatcher, function, texts)
        text = f"CAST({value} AS bigint)"
        if location in unnamed:
            text += f" AS {quote_ident(function)}"
        replacements.append((start, end, text))
    from gridpg.planner.text import splice

    # Parameters become literals: the calls that used some of them are gone.
    rewritten = await inline_params(dispatcher, request, splice(sql, replacements))
    if not request.simple:
        request = replace(request, params=[], param_formats=[], param_oids=[], decode_oids=[])
    await dispatcher.run_on_node(dispatcher.coord.catalog_node, replace(request, sql=rewritten),
                                 writes=False, sql=rewritten)


async def _argument_texts(dispatcher: Dispatcher, request: ExecRequest, call_sql: str, args: list[Any],
                          inline_params: Any) -> list[str | None]:
    """The arguments' values as text: constants directly, expressions by the catalog server."""
    from gridpg.planner.context import UNKNOWN, value_text

    texts: list[Any] = []
    for arg in args:
        value = analyze.value_of(arg)
        texts.append(value_text(value, request.bound()) if value is not None else UNKNOWN)
    if all(t is not UNKNOWN for t in texts):
        return texts
    opening = next(t for t in sqlparse.tokens(call_sql) if t.name == "ASCII_40")
    inner = call_sql[opening.end + 1 : call_sql.rindex(")")]
    query = await inline_params(dispatcher, request, _argument_query(inner, len(args)))
    if _reads_tables(query):
        # `setval('s', (SELECT max(id) FROM t))`: the catalog server's copy of t is empty
        # (max NULL; coalesce(..., 1) set the sequence back to 1), so through the cluster
        from gridpg.executor.subplans import capture

        _, captured = await capture(dispatcher, query)
        return [None if v is None else v.decode() for v in captured[0]] if captured else [None] * len(args)
    conn = await dispatcher.runner.txn.connection(dispatcher.coord.catalog_node, wants_block=False)
    rows = await conn.query(query)
    return list(rows[0]) if rows else [None] * len(args)


def _reads_tables(query: str) -> bool:
    try:
        tree = sqlparse.parse_tree(query)
    except PgError:
        return False
    return any(isinstance(n, dict) and "RangeVar" in n for n in analyze._walk(tree))


def _argument_query(inner: str, count: int) -> str:
    """SELECT each argument as text (arguments split at top-level commas by the scanner)."""
    parts = split_arguments(inner)
    if len(parts) != count:
        raise PgError(FEATURE_NOT_SUPPORTED, "sequence function arguments gridpg cannot read",
                      hint=NOT_SUPPORTED_HINT)
    return "SELECT " + ", ".join(f"(({p}))::text" for p in parts)


def split_arguments(inner: str) -> list[str]:
    """A call's arguments as written, each from its first token to its last (a `--`
    comment after an argument is left out: it would swallow what the text is joined to)."""
    parts: list[str] = []
    depth, start, end = 0, -1, -1
    for tok in sqlparse.tokens(inner):
        text = inner[tok.start : tok.end + 1]
        if text == "," and depth == 0:
            if start >= 0:
                parts.append(inner[start:end])
            start = -1
            continue
        if text in ("(", "["):
            depth += 1
        elif text in (")", "]"):
            depth -= 1
        if start < 0:
            start = tok.start
        end = tok.end + 1
    if start >= 0:
        parts.append(inner[start:end])
    return parts


def call_spans(sql: str, starts: list[int]) -> list[tuple[int, int]]:
    """(start, end) of the call that begins at each offset: up to its closing parenthesis."""
    toks = sqlparse.tokens(sql)
    spans = []
    for start in starts:
        first = next((i for i, tok in enumerate(toks) if tok.start >= start), len(toks))
        close = sqlparse.closing_paren(toks, first)
        if close is not None:
            spans.append((start, toks[close].end + 1))
    return spans



# -- DDL ------------------------------------------------------------------------------------


@dataclass
class SequenceDdl:
    """What the GTM must do once a sequence DDL statement commits."""

    drop: list[str] = field(default_factory=list)  # GTM sequences to drop (also stale ones)
    realter: list[tuple[str, bool]] = field(default_factory=list)  # (name, restarted)
    rename: list[tuple[str, int]] = field(default_factory=list)  # (old name, catalog oid)
    created_by: list[str] = field(default_factory=list)  # tables whose new sequences to clear
    created: list[str] = field(default_factory=list)  # the sequence a CREATE SEQUENCE makes
    dropped: list[str] = field(default_factory=list)  # sequences a DROP drops
    # TRUNCATE ... RESTART IDENTITY in a block: served by the catalog server until COMMIT
    # (its sequence restarts and rolls back with the transaction), then the GTM's from there
    restarted: list[str] = field(default_factory=list)

    async def created_names(self, dispatcher: Dispatcher) -> list[str]:
        """The sequences this statement created (read in the session's transaction)."""
        names = list(self.created)
        for table in self.created_by:
            names += await _owned_sequences(dispatcher, table)
        return names

    async def apply(self, dispatcher: Dispatcher) -> None:
        coord = dispatcher.coord
        gtm = coord.gtm
        runner = dispatcher.runner
        for name in self.dropped:  # currval/lastval of a dropped sequence are undefined again
            runner.sequence_values.pop(name, None)
            if runner.last_sequence == name:
                runner.last_sequence = None
        touched = list(self.drop)
        for table in self.created_by:
            touched += await _owned_sequences(dispatcher, table)
        for name in touched:
            await gtm.seq_drop(name, if_exists=True)
        for name, restarted in self.realter:
            await _realter(dispatcher, name, restarted)
            touched.append(name)
        for name in self.restarted:
            await _continue_from_catalog(dispatcher, name)
            touched.append(name)
        for old, oid in self.rename:
            new = await _name_of_oid(dispatcher, oid)
            if new and new != old and await _gtm_has(dispatcher, old):
                await gtm.seq_drop(new, if_exists=True)
                await gtm.seq_rename(old, new)
            touched += [old, new or old]
        coord.forget_sequences(touched)
        if touched and not await self._restarts_only_uncached(coord):
            await coord.metadata_changed()

    async def _restarts_only_uncached(self, coord: Any) -> bool:
        """Whether this is a TRUNCATE ... RESTART IDENTITY's restart alone while no
        coordinator holds a cached range of any sequence (`sequence_ranges`): no reload."""
        if not self.restarted or self.drop or self.created_by or self.realter or self.rename:
            return False
        return await _none_cached(coord)


async def _none_cached(coord: Any) -> bool:
    """Whether no coordinator can hold a cached range of any sequence (`sequence_ranges`):
    a restart or setval then needs no reload anywhere (Django's fixtures setval after each
    load; each reloaded every coordinator)."""
    rows = await coord.internal_query(coord.catalog_node, sequence_ranges.NONE_CACHED_SQL)
    return bool(rows) and rows[0][0] == "t"


async def before_statement(dispatcher: Dispatcher, sql: str) -> SequenceDdl | None:
    """For sequence DDL (and CREATE TABLE, whose serial columns make sequences): what the
    GTM must do after it commits, with the names read before it runs."""
    start = sqlparse.statement_start(sql)
    if not sql[start : start + 6].lower().startswith(("create", "alter", "drop")):
        return None
    from gridpg.frontend.temps import creates_temp
    from gridpg.sql.xl import extract_distribution, parse_xl_command

    if parse_xl_command(sql) is not None:
        return None
    tree = sqlparse.parse_tree(extract_distribution(sql)[0])
    kind = sqlparse.node_type(tree)
    body = tree.get(kind, {})
    ddl = SequenceDdl()
    if kind == "CreateSeqStmt" and creates_temp(sql):
        return None  # the session's own, on its catalog server: the GTM has no part in it
    if kind == "CreateSeqStmt" and not body.get("if_not_exists"):
        ddl.drop.append(await _name_after(dispatcher, body["sequence"]))
        ddl.created.append(ddl.drop[-1])
    elif kind == "CreateStmt" and not body.get("if_not_exists"):
        ddl.created_by.append(_range_text(body["relation"]))
    elif kind == "AlterSeqStmt":
        name = await _existing(dispatcher, _range_text(body["sequence"]))
        if name:
            restart = any(o.get("DefElem", {}).get("defname") == "restart" for o in body.get("options", []))
            ddl.realter.append((name, restart))
    elif kind == "AlterTableStmt" and body.get("objtype") == "OBJECT_TABLE":
        cmds = [c.get("AlterTableCmd", {}) for c in body.get("cmds", [])]
        added = {((c.get("def") or {}).get("ColumnDef") or {}).get("colname") for c in cmds
                 if c.get("subtype") == "AT_AddColumn"}
        if any(_fills_from_sequence(c) or (c.get("subtype") == "AT_AddIdentity" and c.get("name") in added)
               for c in cmds) and not await _filled_by_the_cluster(dispatcher, body["relation"], cmds, added):
            await _ensure_no_rows(dispatcher, body["relation"])
        for cmd in (c for c in cmds if c.get("subtype") == "AT_SetIdentity"):
            name = await _column_sequence(dispatcher, _range_text(body["relation"]), str(cmd.get("name")))
            options = (cmd.get("def") or {}).get("List", {}).get("items", [])
            if name:
                ddl.realter.append((name, any(o.get("DefElem", {}).get("defname") == "restart" for o in options)))
        for cmd in (c for c in cmds if c.get("subtype") == "AT_AlterColumnType"):
            # an identity column's sequence takes the column's new type, and that type's
            # bounds where it had the old type's (PostgreSQL's ALTER TYPE does it): the GTM's
            # follows (Django's int -> bigint migration of an identity key stopped at 2**31 - 1)
            name = await _identity_sequence(dispatcher, _range_text(body["relation"]), str(cmd.get("name")))
            if name:
                ddl.realter.append((name, False))
        for cmd in (c for c in cmds if c.get("subtype") == "AT_DropIdentity"):
            # its sequence is dropped: the GTM's goes too (a new identity of the same name
            # would otherwise continue from the old values)
            name = await _column_sequence(dispatcher, _range_text(body["relation"]), str(cmd.get("name")))
            if name:
                ddl.drop.append(name)
        if not ddl.realter and not ddl.drop:
            return None
    elif kind == "DropStmt" and body.get("removeType") in ("OBJECT_SEQUENCE", "OBJECT_SCHEMA"):
        ddl.drop += await _dropped(dispatcher, body)
        ddl.dropped = list(ddl.drop)
    elif kind in ("RenameStmt", "AlterObjectSchemaStmt") and body.get("relation") and \
            (body.get("renameType") or body.get("objectType")) in ("OBJECT_SEQUENCE", "OBJECT_TABLE"):
        # (ALTER TABLE also renames a sequence, as PostgreSQL allows)
        oid = await _oid(dispatcher, _range_text(body["relation"]))
        old = await _name_of_oid(dispatcher, oid) if oid else None
        if old:
            ddl.rename.append((old, oid))
        elif oid and kind == "AlterObjectSchemaStmt":
            # a table's serial and identity sequences move to the new schema with it: the
            # GTM's follow (under the old name, a new one started again from 1, silently
            # giving the same ids twice)
            for seq_oid in await _owned_sequence_oids(dispatcher, oid):
                name = await _name_of_oid(dispatcher, seq_oid)
                if name:
                    ddl.rename.append((name, seq_oid))
        if not ddl.rename:
            return None
    else:
        return None
    # Before the DDL (whose commit drops every coordinator's cached ranges): this
    # coordinator's unused values go back, so the sequence continues where it stopped.
    await dispatcher.coord.give_back_sequences([n for n, _ in ddl.realter] + [n for n, _ in ddl.rename])
    return ddl


def _fills_from_sequence(cmd: dict[str, Any]) -> bool:
    """ADD COLUMN of a serial or identity column, or one whose default calls a sequence
    function (served or not by commands/sequence_fill.py); ALTER COLUMN ... TYPE ... USING
    a sequence call (never served: each datanode would call it on its own copy)."""
    from gridpg.commands.sequence_fill import added_columns

    if cmd.get("subtype") == "AT_AlterColumnType":
        using = ((cmd.get("def") or {}).get("ColumnDef") or {}).get("raw_default")
        return bool(using) and bool(sequence_calls(using))

    columns, served = added_columns([cmd])
    return bool(columns) or not served


async def _filled_by_the_cluster(dispatcher: Dispatcher, rangevar: dict[str, Any], cmds: list[dict[str, Any]],
                                 added: set[Any]) -> bool:
    """Whether commands/sequence_fill.py gives the added columns the cluster's values: serial,
    identity or `DEFAULT nextval('s')` columns of a HASH or modulo table (not an identity
    added to a column the statement adds, nor a nextval() inside an expression)."""
    from gridpg.commands.sequence_fill import added_columns
    from gridpg.executor.run import catalog_view, session_view

    if any(c.get("subtype") == "AT_AddIdentity" and c.get("name") in added for c in cmds):
        return False
    columns, served = added_columns(cmds)
    if not columns or not served:
        return False
    ref = analyze.RelRef(rangevar.get("schemaname"), rangevar["relname"], 0, None)
    table = catalog_view(dispatcher).resolve(ref, session_view(dispatcher).search_path)
    return table is not None and table.method in ("hash", "modulo")


async def _ensure_no_rows(dispatcher: Dispatcher, rangevar: dict[str, Any]) -> None:
    """A column filled from a sequence, added to a distributed table that has rows, would be
    filled by each datanode from its own copy of the sequence (the same values on several
    nodes, none of them the GTM's): refused then (0A000), as never silent."""
    from gridpg.executor.run import catalog_view, session_view

    ref = analyze.RelRef(rangevar.get("schemaname"), rangevar["relname"], 0, None)
    table = catalog_view(dispatcher).resolve(ref, session_view(dispatcher).search_path)
    if table is None:
        return
    for group in table.groups:
        conn = await dispatcher.runner.txn.connection(group, wants_block=False)
        rows = await conn.query(f"SELECT EXISTS (SELECT 1 FROM {quote_ident(table.schema)}.{quote_ident(table.name)})")
        if rows and rows[0][0] == "t":
            raise PgError(FEATURE_NOT_SUPPORTED, f'filling a column from a sequence (serial, identity, '
                          f'nextval()) in distributed table "{table.name}", which has rows, is not supported '
                          "by gridpg: each datanode would fill it from its own copy of the sequence",
                          hint="add it while the table is empty, or create a new table with the column "
                          "and copy the rows with INSERT ... SELECT")


async def _column_sequence(dispatcher: Dispatcher, table: str, column: str) -> str | None:
    rows = await _catalog_rows(  # (no error for a column the statement itself adds)
        dispatcher, f"SELECT pg_catalog.pg_get_serial_sequence({quote_literal(table)}, a.attname) "
        f"FROM pg_catalog.pg_attribute a WHERE a.attrelid = pg_catalog.to_regclass({quote_literal(table)}) "
        f"AND a.attname = {quote_literal(column)} AND NOT a.attisdropped")
    return str(rows[0][0]) if rows and rows[0][0] else None


async def _identity_sequence(dispatcher: Dispatcher, table: str, column: str) -> str | None:
    rows = await _catalog_rows(
        dispatcher, f"SELECT pg_catalog.pg_get_serial_sequence({quote_literal(table)}, a.attname) "
        f"FROM pg_catalog.pg_attribute a WHERE a.attrelid = pg_catalog.to_regclass({quote_literal(table)}) "
        f"AND a.attname = {quote_literal(column)} AND NOT a.attisdropped AND a.attidentity <> ''")
    return str(rows[0][0]) if rows and rows[0][0] else None


def _range_text(rangevar: dict[str, Any]) -> str:
    parts = [rangevar.get("schemaname"), rangevar.get("relname")]
    return ".".join(quote_ident(p) for p in parts if p)


async def _catalog_rows(dispatcher: Dispatcher, sql: str) -> list[tuple[str | None, ...]]:
    conn = await dispatcher.runner.txn.connection(dispatcher.coord.catalog_node, wants_block=False)
    return await conn.query(sql)


async def _existing(dispatcher: Dispatcher, name: str) -> str | None:
    oid = await _oid(dispatcher, name)
    return await _name_of_oid(dispatcher, oid) if oid else None


async def _oid(dispatcher: Dispatcher, name: str) -> int:
    rows = await _catalog_rows(dispatcher, f"SELECT pg_catalog.to_regclass({quote_literal(name)})::oid")
    return int(rows[0][0]) if rows and rows[0][0] else 0


async def _owned_sequence_oids(dispatcher: Dispatcher, table_oid: int) -> list[int]:
    """The sequences a table's serial (auto) and identity (internal) columns own."""
    rows = await _catalog_rows(
        dispatcher, "SELECT d.objid FROM pg_catalog.pg_depend d JOIN pg_catalog.pg_class s ON s.oid = d.objid "
        "AND s.relkind = 'S' WHERE d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass "
        "AND d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass "
        f"AND d.refobjid = {int(table_oid)} AND d.deptype IN ('a', 'i') ORDER BY d.objid")
    return [int(r[0]) for r in rows if r[0]]


async def _name_of_oid(dispatcher: Dispatcher, oid: int) -> str | None:
    rows = await _catalog_rows(
        dispatcher, "SELECT pg_catalog.format('%I.%I', n.nspname, c.relname) FROM pg_catalog.pg_class c "
        f"JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = {int(oid)} AND c.relkind = 'S'")
    return str(rows[0][0]) if rows else None


async def _name_after(dispatcher: Dispatcher, rangevar: dict[str, Any]) -> str:
    """The qualified name a CREATE SEQUENCE will give (first schema of the search path)."""
    if rangevar.get("schemaname"):
        return f"{quote_ident(rangevar['schemaname'])}.{quote_ident(rangevar['relname'])}"
    rows = await _catalog_rows(dispatcher, "SELECT pg_catalog.current_schema()")
    schema = rows[0][0] if rows and rows[0][0] else "public"
    return f"{quote_ident(schema)}.{quote_ident(rangevar['relname'])}"


async def _dropped(dispatcher: Dispatcher, body: dict[str, Any]) -> list[str]:
    """Sequences a DROP SEQUENCE / DROP SCHEMA will drop (read before it runs)."""
    out = []
    for obj in body.get("objects", []):
        if body["removeType"] == "OBJECT_SCHEMA":
            schema = obj.get("String", {}).get("sval", "")
            rows = await _catalog_rows(
                dispatcher, "SELECT pg_catalog.format('%I.%I', n.nspname, c.relname) FROM pg_catalog.pg_class c "
                "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
                f"WHERE n.nspname = {quote_literal(schema)} AND c.relkind = 'S'")
            out += [str(r[0]) for r in rows]
            continue
        names = [n["String"]["sval"] for n in obj.get("List", {}).get("items", []) if "String" in n]
        name = await _existing(dispatcher, ".".join(quote_ident(n) for n in names))
        if name:
            out.append(name)
    return out


async def _owned_sequences(dispatcher: Dispatcher, table: str) -> list[str]:
    rows = await _catalog_rows(
        dispatcher, "SELECT pg_catalog.format('%I.%I', n.nspname, c.relname) FROM pg_catalog.pg_depend d "
        "JOIN pg_catalog.pg_class c ON c.oid = d.objid AND c.relkind = 'S' "
        "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
        f"WHERE d.refobjid = pg_catalog.to_regclass({quote_literal(table)}) AND d.classid = 'pg_class'::regclass")
    return [str(r[0]) for r in rows]


async def _gtm_has(dispatcher: Dispatcher, name: str) -> bool:
    from gridpg.gtm.protocol import GtmError

    try:
        await dispatcher.coord.gtm.seq_currval_state(name)
    except GtmError:
        return False
    return True


async def _continue_from_catalog(dispatcher: Dispatcher, name: str) -> None:
    """After COMMIT: the GTM sequence takes the position this coordinator's catalog sequence
    reached in the transaction (the other catalogs only restarted it)."""
    coord = dispatcher.coord
    conn = await coord.internal_acquire(coord.catalog_node)
    try:
        rows = await conn.query(f"SELECT last_value, is_called FROM {name}")
    finally:
        coord.pools.pool(coord.catalog_node).release(conn)
    if rows:
        await coord.ensure_sequence(name)
        await coord.gtm.seq_setval(name, int(rows[0][0] or 0), rows[0][1] == "t")


async def _realter(dispatcher: Dispatcher, name: str, restarted: bool) -> None:
    """ALTER SEQUENCE: the GTM sequence takes the new definition; its position stays
    (PostgreSQL's rule) unless the statement restarted it, then the catalog's counts."""
    from gridpg.gtm.protocol import GtmError

    gtm = dispatcher.coord.gtm
    try:
        state = await gtm.seq_currval_state(name)
    except GtmError:
        return  # never used: created from the catalog's definition when first used
    await gtm.seq_drop(name, if_exists=True)
    if restarted:
        return
    await dispatcher.coord.ensure_sequence(name)
    await gtm.seq_setval(name, int(state["last_value"]), bool(state["is_called"]))


def _identity_default(table: str, column: TableColumn) -> str | None:
    """The expression DEFAULT stands for in `SET col = DEFAULT` of an identity column:
    its sequence's nextval(). A GENERATED ALWAYS column takes no other value in an UPDATE
    (a datanode refuses the GTM's value with 428C9), so that is refused here (0A000)."""
    if not column.sequence:
        return None
    if column.identity == "a":
        raise PgError(FEATURE_NOT_SUPPORTED,
                      f'gridpg cannot set GENERATED ALWAYS identity column "{column.name}" of distributed '
                      f'table "{table}" to DEFAULT in an UPDATE: each datanode would take the next value '
                      "from its own copy of the sequence",
                      hint="ALTER the column to GENERATED BY DEFAULT: its DEFAULT then takes the cluster's value.")
    return f"nextval({quote_literal(column.sequence)}::regclass)"


async def inline_sequence_defaults(dispatcher: Dispatcher, sql: str) -> str:
    """`sql` with each `col = DEFAULT` of an UPDATE, an ON CONFLICT DO UPDATE or a MERGE's
    UPDATE action on a distributed table spelled out as the column's default, when that
    default calls a sequence function (`n bigint DEFAULT nextval('s')`, `code DEFAULT 'C'
    || nextval('s')`, an identity column's sequence).
    A datanode evaluating DEFAULT would take its own copy's value, not the GTM's: the
    values repeated those the cluster had handed out, silently. Spelled out, the call is
    served as written (`executor/update_nextval.py` takes `SET n = nextval('s')`) or
    refused (0A000, `ensure_supported`) like any other sequence call there."""
    if "default" not in sql.lower():
        return sql
    try:
        tree = sqlparse.parse_tree(sql)
    except PgError:
        return sql
    kind = sqlparse.node_type(tree)
    body = tree.get(kind) or {}
    if kind == "UpdateStmt":
        items = body.get("targetList") or []
    elif kind == "InsertStmt":
        items = ((body.get("onConflictClause") or {}).get("targetList")) or []
    elif kind == "MergeStmt":
        items = [item for clause in body.get("mergeWhenClauses") or []
                 if (clause.get("MergeWhenClause") or {}).get("commandType") == "CMD_UPDATE"
                 for item in clause["MergeWhenClause"].get("targetList") or []]
    else:
        return sql
    defaults = [(t["ResTarget"]["name"], t["ResTarget"]["val"]["SetToDefault"]["location"]) for t in items
                if "SetToDefault" in (t.get("ResTarget", {}).get("val") or {}) and t["ResTarget"].get("name")]
    if not defaults:
        return sql
    from gridpg.executor.run import catalog_view, search_path
    from gridpg.planner.analyze import RelRef

    relation = body["relation"]
    ref = RelRef(relation.get("schemaname"), relation["relname"], 0, None)
    table = catalog_view(dispatcher).resolve(ref, search_path(dispatcher))
    if table is None:
        return sql
    columns = {c.name: c for c in await dispatcher.coord.table_columns(dispatcher.runner, table)}
    out, pos = [], 0
    for name, location in sorted(defaults, key=lambda d: d[1]):
        column = columns.get(name)
        if column is not None and column.identity and name == table.column:
            continue  # the row would move: refused where distribution columns are set
        default = _identity_default(table.name, column) if column is not None and column.identity \
            else column.default if column is not None else None
        if not mentions_sequence_call(default):
            continue
        if sql[location:location + 7].upper() != "DEFAULT":
            return sql  # (not where the parser said: left as it is)
        out += [sql[pos:location], f"({default})"]
        pos = location + 7
    out.append(sql[pos:])
    return "".join(out)
