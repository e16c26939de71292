"""INSERT ... SELECT on the datanodes (planner/insert_select.py decides): each node inserts
its own rows, or the rows are staged where they are made, split by the target's partition
hash on that node and pumped as raw COPY bytes to the node of their partition, then
inserted there. All inside the statement's transaction: the staging tables are dropped at
the end and vanish with it on error or cancel. Rows never pass through the coordinator.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from pglast import ast

from gridpg.catalog.model import DistTable
from gridpg.executor.dml import _query_columns
from gridpg.executor.scratch import side_catalog
from gridpg.planner import tableoid
from gridpg.planner.broadcast import remainder_sql
from gridpg.planner.insert_select import InsertSelectRoute, route_insert_select
from gridpg.planner.plan import SCRATCH_SCHEMA, DistributedPlan, Fragment, PushdownPlan
from gridpg.sql.parse import parse_tree
from gridpg.sql.quote import quote_ident, quote_qualified

if TYPE_CHECKING:
    from gridpg.executor.dispatch import Dispatcher, ExecRequest
    from gridpg.executor.dml import TableColumn


async def plan_route(dispatcher: Dispatcher, stmt: Any, target: DistTable, columns: Sequence[TableColumn],
                     select_sql: str, head_for: Callable[[list[str]], str],
                     tail: str) -> tuple[InsertSelectRoute, list[str]] | str:
    """The datanode route of an INSERT ... SELECT and the target columns it fills, or why
    the general path (rows through the coordinator) must take it."""
    from gridpg.executor.exchange import _resolved_refs, is_read_only
    from gridpg.executor.run import bind, catalog_view, session_view

    select = stmt.selectStmt
    if stmt.withClause is not None or not isinstance(select, ast.SelectStmt) or select.valuesLists:
        return "WITH, VALUES or a set operation feeds the INSERT"
    if is_read_only(dispatcher):
        return "read-only"
    if getattr(stmt, "returningClause", None) is not None or getattr(stmt, "returningList", None):
        return "RETURNING gives the rows back in the SELECT's order: the coordinator path keeps it"
    if any(not ref.inh for ref in select_refs(select)):
        return "ONLY: on a datanode the parent of the shards holds no rows itself"
    if "tableoid" in select_sql.lower() and tableoid.rewrite(select_sql, parse_tree(select_sql)) is not None:
        return "the SELECT reads tableoid: the coordinator path gives the catalog server's OIDs"
    if stmt.cols:
        cols = [c.name for c in stmt.cols]
    elif any(isinstance(t.val, ast.ColumnRef) and isinstance(t.val.fields[-1], ast.A_Star)
             for t in select.targetList or ()):
        return "the SELECT's width is not known (*)"
    else:
        cols = [c.name for c in columns][: len(select.targetList or ())]
    if any(c.sequence and c.name not in cols for c in columns):
        return "sequence values fill columns the SELECT does not"
    planner = dispatcher.coord.planner
    assert planner is not None
    plan = planner.plan(select_sql, catalog_view(dispatcher), session_view(dispatcher))
    if not isinstance(plan, DistributedPlan):
        return "the SELECT reads no distributed table"
    plan = bind(dispatcher, plan)
    types = {c.name: c.type_oid for c in columns}
    refs = _resolved_refs(dispatcher, select_sql)
    route = route_insert_select(plan, select_sql, target, cols, types, dispatcher.runner.snapshot(),
                                refs, head_for(cols), tail)
    if isinstance(route, str):
        return route
    return route, cols


async def run_route(dispatcher: Dispatcher, request: ExecRequest, target: DistTable, route: InsertSelectRoute,
                    cols: Sequence[str], columns: Sequence[TableColumn], head: str, tail: str) -> None:
    from gridpg.executor.multi import scatter

    bare = dataclasses.replace(request, params=[], param_formats=[], param_oids=[])
    relay = {target.groups[0]} if target.method == "replication" else None
    if route.kind == "local":
        await scatter(dispatcher, bare, PushdownPlan(route.fragments, True), relay)
        return
    if route.kind == "combine":
        await _run_combined(dispatcher, target, route, cols, columns, head, tail, bare)
        return
    async with dispatcher.runner.statement_transaction():  # staging tables live and die in it
        stage, source = await _stage(dispatcher, target, route, cols)
        await _distribute(dispatcher, target, route, columns, source, stage)
        node_sql = f"{head} SELECT * FROM {stage} {tail}".rstrip()
        await scatter(dispatcher, bare, PushdownPlan(tuple(Fragment(g, node_sql) for g in target.groups), True),
                      relay, commit=False)
        txn = dispatcher.runner.txn
        for group in dict.fromkeys([*target.groups, *(f.group for f in route.fragments)]):
            conn = await txn.connection(group, wants_block=True)
            await conn.settle()
            drops = [t for t, where in ((stage, target.groups), (source, [f.group for f in route.fragments]))
                     if group in where]
            await conn.simple_query(f"DROP TABLE {', '.join(drops)}")


async def _run_combined(dispatcher: Dispatcher, target: DistTable, route: InsertSelectRoute, cols: Sequence[str],
                        columns: Sequence[TableColumn], head: str, tail: str, bare: ExecRequest) -> None:
    """A SELECT combined on the catalog server (two-phase, merge): its rows into a catalog
    temp table typed as the target's columns, split there by the target's partition hash
    and pumped as COPY bytes to the stage of each target node, inserted there."""
    txn = dispatcher.runner.txn
    node = dispatcher.coord.catalog_node
    own = await txn.connection(node, wants_block=False)
    quoted = ", ".join(quote_ident(c) for c in cols)
    shape = f"SELECT {quoted} FROM {quote_qualified(target.schema, target.name)}"
    written = txn.participants[node].wrote
    async with contextlib.AsyncExitStack() as stack:
        if written:
            # The catalog part will be prepared (CREATE TABLE AS, DDL earlier in the block):
            # scratch temp tables there would make PREPARE fail, so they go to a side
            # connection, typed from what this transaction sees.
            typed = await _query_columns(own, shape, {})
            await stack.enter_async_context(side_catalog(dispatcher))
        catalog = await txn.connection(node, wants_block=False)
        await _combine_on(dispatcher, catalog, target, route, cols, columns, head, tail, bare,
                          typed if written else None, shape)


async def _combine_on(dispatcher: Dispatcher, catalog: Any, target: DistTable, route: InsertSelectRoute,
                      cols: Sequence[str], columns: Sequence[TableColumn], head: str, tail: str,
                      bare: ExecRequest, typed: list[tuple[str, str]] | None, shape: str) -> None:
    from gridpg.executor.exchange import _ensure_blocks, low_float_digits, pump
    from gridpg.executor.multi import _drop_temp, copy_rows_to_catalog, create_partial_temp, scatter
    from gridpg.executor.run import scratch_name

    txn = dispatcher.runner.txn
    partial = route.partial_temp or ""
    rows = f"pg_temp.{quote_ident(scratch_name(dispatcher, 'rows', shared=False))}"
    quoted = ", ".join(quote_ident(c) for c in cols)
    temps: list[str] = []
    try:
        await create_partial_temp(dispatcher, catalog, partial, route.fragments[0].sql, route.fragments[0].group,
                                  on_datanode=typed is not None)
        temps.append(partial)
        await copy_rows_to_catalog(dispatcher, [(f.group, f.sql) for f in route.fragments], catalog, partial)
        if typed is None:
            await catalog.simple_query(f"CREATE TEMP TABLE {rows} AS {shape} WITH NO DATA")
        else:
            await catalog.simple_query(
                f"CREATE TEMP TABLE {rows} ({', '.join(f'{quote_ident(n)} {t}' for n, t in typed)})")
        temps.append(rows)
        await catalog.simple_query(f"INSERT INTO {rows}{f' ({quoted})' if quoted else ''} {route.final_sql}")
        async with dispatcher.runner.statement_transaction():
            await _ensure_blocks(dispatcher, target.groups)
            stage = f"{SCRATCH_SCHEMA}.{quote_ident(scratch_name(dispatcher, 'stage'))}"
            for group in target.groups:
                conn = await txn.connection(group, wants_block=True)
                txn.mark_written(group)
                await conn.settle()
                await conn.simple_query(f"CREATE UNLOGGED TABLE {stage} AS {shape} WITH NO DATA")
            for dest, part in _parts(dispatcher, target, route.key, columns, rows).items():
                await pump(catalog, [await txn.connection(dest, wants_block=True)], part, stage,
                           low_float_digits(dispatcher.runner))
            node_sql = f"{head} SELECT * FROM {stage} {tail}".rstrip()
            relay = {target.groups[0]} if target.method == "replication" else None
            await scatter(dispatcher, bare, PushdownPlan(tuple(Fragment(g, node_sql) for g in target.groups), True),
                          relay, commit=False)
            for group in target.groups:
                conn = await txn.connection(group, wants_block=True)
                await conn.settle()
                await conn.simple_query(f"DROP TABLE {stage}")
    finally:
        await _drop_temp(catalog, temps)


def _parts(dispatcher: Dispatcher, target: DistTable, key: str | None, columns: Sequence[TableColumn],
           table: str) -> dict[str, str]:
    """Per target node, the SELECT of `table`'s rows that belong there."""
    parts = {g: f"SELECT * FROM {table}" for g in target.groups}
    if key is None:
        return parts
    assert target.shard_count
    snapshot = dispatcher.runner.snapshot()
    mine: dict[str, list[int]] = {g: [] for g in target.groups}
    for remainder in range(target.shard_count):
        mine[snapshot.shard_group(target.schema, target.name, remainder)].append(remainder)
    type_oid = next(c.type_oid for c in columns if c.name == key)
    split = remainder_sql(quote_ident(key), type_oid, target.shard_count)
    return {g: f"{parts[g]} WHERE {split} IN ({', '.join(map(str, r))})" for g, r in mine.items() if r}


async def _stage(dispatcher: Dispatcher, target: DistTable, route: InsertSelectRoute,
                 cols: Sequence[str]) -> tuple[str, str]:
    """Staging tables shaped like the target's columns: `source` on the SELECT's nodes,
    filled by each node's fragment; `stage` on the target's nodes, empty."""
    from gridpg.executor.exchange import _ensure_blocks
    from gridpg.executor.run import scratch_name

    txn = dispatcher.runner.txn
    sources = [f.group for f in route.fragments]
    await _ensure_blocks(dispatcher, list(dict.fromkeys([*target.groups, *sources])))
    quoted = ", ".join(quote_ident(c) for c in cols)
    shape = f"SELECT {quoted} FROM {quote_qualified(target.schema, target.name)}"
    stage = f"{SCRATCH_SCHEMA}.{quote_ident(scratch_name(dispatcher, 'stage'))}"
    source = f"{SCRATCH_SCHEMA}.{quote_ident(scratch_name(dispatcher, 'isrc'))}"
    for group in target.groups:
        conn = await txn.connection(group, wants_block=True)
        txn.mark_written(group)
        await conn.settle()
        await conn.simple_query(f"CREATE UNLOGGED TABLE {stage} AS {shape} WITH NO DATA")
    for fragment in route.fragments:
        conn = await txn.connection(fragment.group, wants_block=True)
        await conn.settle()
        await conn.simple_query(f"CREATE UNLOGGED TABLE {source} AS {shape} WITH NO DATA")
        conn.notices.clear()
        try:
            await conn.simple_query(f"INSERT INTO {source}{f' ({quoted})' if quoted else ''} {fragment.sql}")
        finally:  # the user's SELECT ran here: its functions' notices are the client's
            for notice in conn.notices:
                dispatcher.session.send(notice)
            conn.notices.clear()
    return stage, source


async def _distribute(dispatcher: Dispatcher, target: DistTable, route: InsertSelectRoute,
                      columns: Sequence[TableColumn], source: str, stage: str) -> None:
    """Each source node's rows to the stage of the node of their partition (every node of a
    REPLICATION target): COPY byte pumps between datanodes, a local INSERT where they stay."""
    from gridpg.executor.exchange import local_copy, low_float_digits, pump

    txn = dispatcher.runner.txn
    parts = _parts(dispatcher, target, route.key, columns, source)
    for fragment in route.fragments:
        src = await txn.connection(fragment.group, wants_block=True)
        for dest, part in parts.items():
            if dest == fragment.group:
                await local_copy(src, stage, part)
            else:
                await pump(src, [await txn.connection(dest, wants_block=True)], part, stage,
                           low_float_digits(dispatcher.runner))


def select_refs(select: ast.Node) -> list[ast.RangeVar]:
    from gridpg.planner.gather import _nodes

    return list(_nodes(select, ast.RangeVar))
