"""Running a data-modifying WITH as steps (the plan: planner/modifying_cte.py).

Each INSERT/UPDATE/DELETE entry runs as a statement of its own, with the WITH entries
before it, through the coordinator like any statement (so it is routed, pushed down or
moves rows as its own plan says); its RETURNING rows are captured and become a constant
entry `name(cols) AS (VALUES (...), ...)`, typed as the rows were. The statement after the
WITH then runs with those entries and sends its answer to the client. All of it is one
transaction: inside the client's block, else one statement transaction (2PC when needed).
The captured rows are held in the coordinator's memory and sent back as literals.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

from gridpg.errors import FEATURE_NOT_SUPPORTED, PgError
from gridpg.executor.dml import _query_columns
from gridpg.pgwire import codec
from gridpg.planner.calls import mentions_sequence_call
from gridpg.planner.modifying_cte import CteStep
from gridpg.planner.plan import ModifyingCtePlan
from gridpg.sql import parse as sqlparse
from gridpg.sql.quote import quote_ident, quote_literal

if TYPE_CHECKING:
    from gridpg.executor.dispatch import Dispatcher, ExecRequest


async def run(dispatcher: Dispatcher, request: ExecRequest, plan: ModifyingCtePlan) -> None:
    from gridpg.executor.prepared import _capture
    from gridpg.executor.run import ensure_postgres_accepts

    # PostgreSQL analyses the whole statement before running any part: a reference to an
    # entry without RETURNING is its error, and nothing has run
    if any(step.modifying and not _returns(step.statement) for step in plan.steps):
        await ensure_postgres_accepts(dispatcher, request)
    await _ensure_trigger_writes_unread(dispatcher, plan)
    async with dispatcher.runner.statement_transaction():
        frozen = await _frozen_entries(dispatcher, request, plan)
        entries: list[str] = []
        images: list[str] = []  # the written tables as the main statement reads them: its alone
        for step in plan.steps:
            if not step.modifying:
                (images if step.row_cap is not None else entries).append(frozen.get(step.name, step.definition))
                continue
            statement = _with([*entries, *step.own_entries], step.statement)
            if not _returns(step.statement):  # nothing can read it: it only runs, in its turn
                await _capture(dispatcher, _for(request, statement), statement, rows_wanted=False)
                continue
            entries.append(await _captured_entry(dispatcher, request, step, statement))
        main = plan.head + _with([*images, *entries], plan.main) + plan.tail
        await dispatcher.run(_for(request, main))


async def _ensure_trigger_writes_unread(dispatcher: Dispatcher, plan: ModifyingCtePlan) -> None:
    """Refuse (0A000) a statement whose parts write a table with triggers or rules while
    a part or the main statement reads another distributed table: the parts run one after
    the other here, so what the triggers wrote would be read, where PostgreSQL's parts all
    see the tables as before the statement (`WITH w AS (INSERT INTO lines ...) SELECT
    (SELECT count(*) FROM audit) FROM w` gave 17 audit rows for PostgreSQL's 16)."""
    from pglast import ast

    from gridpg.executor.returning_reads import EVENT_BITS, _may_write_elsewhere, insert_events
    from gridpg.executor.run import search_path
    from gridpg.sql.parse import ast_nodes, parse_sql

    snapshot = dispatcher.runner.snapshot()
    path = search_path(dispatcher)

    def resolve(ref: Any) -> Any:
        schemas = [ref.schemaname] if ref.schemaname else path
        return next((t for schema in schemas if (t := snapshot.table(schema, ref.relname)) is not None), None)

    names = {step.name for step in plan.steps}
    statements = [parse_sql(step.statement)[0].stmt for step in plan.steps if step.modifying]
    written = [(resolve(stmt.relation), insert_events(stmt) if isinstance(stmt, ast.InsertStmt)
                else EVENT_BITS.get(type(stmt).__name__, 4 | 8 | 16)) for stmt in statements]
    targets = {t.key for t, _ in written if t is not None}
    texts = [plan.main, *(step.statement or f"WITH {step.definition} SELECT" for step in plan.steps)]
    reads = {t.key for text in texts for ref in ast_nodes([s.stmt for s in parse_sql(text)], ast.RangeVar)
             if (ref.schemaname or ref.relname not in names) and (t := resolve(ref)) is not None}
    if not reads - targets:
        return
    for table, events in written:
        if table is not None and await _may_write_elsewhere(dispatcher, table, events):
            raise PgError(FEATURE_NOT_SUPPORTED, "gridpg cannot run this data-modifying WITH over distributed "
                          f'tables: it writes table "{table.name}", which has triggers or rules, and reads other '
                          "distributed tables, which would show what they write (PostgreSQL's parts see the "
                          "tables as before the statement)", hint="Read the other tables in a statement of its own.")


async def _frozen_entries(dispatcher: Dispatcher, request: ExecRequest, plan: ModifyingCtePlan) -> dict[str, str]:
    """Each frozen SELECT entry's rows, read before any part writes (with the SELECT
    entries it reads, the frozen ones already constants), as a constant entry by name."""
    frozen: dict[str, str] = {}
    definitions = {step.name: step.definition for step in plan.steps if not step.modifying}
    for step in plan.steps:
        if step.frozen_after is None:
            continue
        entries = [frozen.get(name, definitions[name]) for name in step.frozen_after]
        read = f"SELECT * FROM {quote_ident(step.name)}"
        if step.row_cap is not None:
            read += f" LIMIT {step.row_cap + 1}"
        statement = _with([*entries, step.definition], read)
        frozen[step.name] = await _captured_entry(dispatcher, request, step, statement)
    return frozen


async def _captured_entry(dispatcher: Dispatcher, request: ExecRequest, step: CteStep, statement: str) -> str:
    """The rows `statement` returns as the constant entry `step.name(cols) AS (VALUES ...)`."""
    armed = step.frozen_after is not None and mentions_sequence_call(statement)
    return await captured_entry(dispatcher, request, step.name, step.columns, statement, armed, step.row_cap)


async def captured_entry(dispatcher: Dispatcher, request: ExecRequest, name: str, names: tuple[str, ...],
                         statement: str, armed: bool = False, row_cap: int | None = None) -> str:
    """The rows `statement` returns, run through the coordinator, as the constant entry
    `name(cols) AS (VALUES ...)` (also COPY of a write's RETURNING rows, executor/dml.py).
    `row_cap`: more rows than that are refused (0A000: a written table the main statement
    reads, planner/modifying_cte.py `_before_images`)."""
    from gridpg.executor.prepared import _capture

    catalog = await dispatcher.runner.txn.connection(dispatcher.coord.catalog_node, wants_block=False)
    # the columns' types as the catalog server names them (a datanode's type OIDs of the
    # user's own types differ)
    part = _for(request, statement)
    columns = await _query_columns(catalog, statement, {}, part.param_oids)
    if armed:
        rows = await _capture_armed(dispatcher, part)
    else:
        _, rows = await _capture(dispatcher, part, statement)
    if row_cap is not None and len(rows) > row_cap:
        raise PgError(FEATURE_NOT_SUPPORTED, "gridpg cannot run this data-modifying WITH over distributed tables: "
                      f"the main statement reads more than {row_cap} rows of a table a WITH entry writes "
                      "(it must see them as they were before the writes, and they are held in the coordinator)",
                      hint="Read the table in a statement of its own before the write, or filter it in the "
                           "main statement's WHERE.")
    return _constant_entry(name, names, columns, rows)


async def _capture_armed(dispatcher: Dispatcher, part: ExecRequest) -> list[bytes]:
    """The rows of a frozen entry calling nextval() (sequences.frozen_nextval), read on the
    catalog server with the loopback armed, as `SELECT nextval('s') FROM ...` is: each call
    the GTM's next value, the distributed tables it reads through their shadows."""
    from gridpg.commands import sequences

    session = dispatcher.session
    saved, session.out = session.out, []
    try:
        await sequences.run_per_row_nextval(
            dispatcher, dataclasses.replace(part, result_formats=[], max_rows=0, portal=None),
            dispatcher.runner._distributed_tables(part.sql))
        captured = session.out
    finally:
        session.out = saved
    rows = []
    for message in captured:
        if message[0] == 0x44:
            rows.append(message)
        elif message[0] not in (0x54, 0x43, 0x31, 0x32, 0x74, 0x6E, 0x73):
            session.send(message)  # notices
    return rows


def _for(request: ExecRequest, sql: str) -> ExecRequest:
    """The client's request for one part: its parameters stay where they are ($n), and
    those of undeclared type that this part does not use are declared text (PostgreSQL
    cannot infer a type for a parameter nothing refers to) and sent as NULL: a value the
    client bound in binary (asyncpg's uuid, int, timestamp) is no text, and PostgreSQL
    refused the part (22021 "invalid byte sequence for encoding UTF8: 0x00")."""
    if not request.params:
        return dataclasses.replace(request, sql=sql)
    used = {int(sql[t.start + 1:t.end + 1]) for t in sqlparse.tokens(sql) if t.name == "PARAM"}
    oids = list(request.param_oids) + [0] * (len(request.params) - len(request.param_oids))
    unused = {n for n, oid in enumerate(oids, 1) if oid == 0 and n not in used}
    oids = [25 if n in unused else oid for n, oid in enumerate(oids, 1)]
    params = [None if n in unused else value for n, value in enumerate(request.params, 1)]
    return dataclasses.replace(request, sql=sql, param_oids=oids, params=params)


def _returns(statement: str) -> bool:
    """Whether an entry's INSERT/UPDATE/DELETE/MERGE has a RETURNING list."""
    tree = sqlparse.parse_tree(statement)
    body = tree.get(sqlparse.node_type(tree)) or {}
    return bool(body.get("returningList") or (body.get("returningClause") or {}).get("exprs"))


def _with(entries: list[str], statement: str) -> str:
    return f"WITH {', '.join(entries)} {statement}" if entries else statement


def _constant_entry(name: str, names: tuple[str, ...], columns: list[tuple[str, str]],
                    rows: list[bytes]) -> str:
    """`name(cols) AS (VALUES ...)` holding the captured rows, each value cast to its
    column's type (an empty result: a typed row that is filtered out)."""
    labels = list(names) + [n for n, _ in columns[len(names):]]
    types = [t for _, t in columns]
    head = f"{quote_ident(name)}({', '.join(quote_ident(n) for n in labels)})"
    if not rows:
        nulls = ", ".join(f"NULL::{t}" for t in types)
        return f"{head} AS (SELECT {nulls} WHERE false)"
    values = []
    for raw in rows:
        fields = codec.parse_data_row(raw[5:])
        cells = ("NULL" if v is None else quote_literal(v.decode()) for v in fields)
        values.append("(" + ", ".join(f"{cell}::{t}" for cell, t in zip(cells, types, strict=True)) + ")")
    return f"{head} AS (VALUES {', '.join(values)})"
