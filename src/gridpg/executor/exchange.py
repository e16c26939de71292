"""Moving table pieces for multi-step plans: gathering to the catalog server, exchanges.

The coordinator finish copies, for each distributed table a statement reads, only what the
statement can use (`planner.gather.table_needs`: its columns, and rows filtered by the
conjuncts that hold for every reference) from each node into a catalog temp table, as raw
COPY text over the transaction's own datanode connections, then ANALYZEs (and indexes for
correlated lookups) the temp table so the catalog server plans the final statement well.

Before that, an exchange is tried (`planner.broadcast` decides, from the datanodes' row
estimates read here): tables are broadcast or repartitioned into unlogged scratch tables
on the anchor's nodes by COPY byte pumps between datanode connections, inside the
statement's transaction, and the statement is finished there by pushdown, merge or
two-phase aggregation. Nothing here decides what is correct to run where; it must not
move rows through Python one by one.
"""

from __future__ import annotations

import asyncio
import contextvars
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from gridpg.datanode.connection import BackendConnection
from gridpg.errors import CONNECTION_FAILURE, PgError
from gridpg.executor import estimates
from gridpg.executor.spool import Flow, Target, run_targets
from gridpg.executor.spool import _all as spool_all
from gridpg.pgwire import codec
from gridpg.planner import analyze, tableoid
from gridpg.planner.broadcast import (
    SCRATCH_SCHEMA,
    BroadcastPlan,
    Move,
    key_filter_probes,
    merge_over_final_groups,
    plan_broadcast,
    remainder_sql,
    semi_join_tables,
    with_replicated_semi_joins,
)
from gridpg.planner.estimates import probe_requests, table_estimates, table_requests
from gridpg.planner.gather import Needs, TableKey, correlation_keys, kept_primary_keys, table_needs
from gridpg.planner.plan import DistributedPlan, Fragment, GatherTable, Strategy
from gridpg.sql.parse import parse_tree
from gridpg.sql.quote import quote_ident, quote_literal, quote_qualified

if TYPE_CHECKING:
    from gridpg.executor.dispatch import Dispatcher, ExecRequest


async def needs_of(dispatcher: Dispatcher, sql: str,
                   tables: Sequence[GatherTable]) -> dict[TableKey, tuple[Needs, list[str]]]:
    """Per gathered table: what `sql` needs of it, and all its columns."""
    snapshot = dispatcher.runner.snapshot()
    refs: dict[int, TableKey] = {loc: t.key for loc, t in _resolved_refs(dispatcher, sql).items()}
    columns: dict[TableKey, list[str]] = {}
    for gathered in tables:
        table = snapshot.table(gathered.schema, gathered.name)
        if table is not None:
            columns[table.key] = [c.name for c in await dispatcher.coord.table_columns(dispatcher.runner, table)]
    needs = table_needs(sql, refs, columns, unfiltered={key: frozenset(snapshot.reg_columns_of(*key)) for key in columns})
    every = Needs(None, None)
    return {(t.schema, t.name): (needs.get((t.schema, t.name), every), columns.get((t.schema, t.name), []))
            for t in tables}


async def gather_to_catalog(dispatcher: Dispatcher, request: ExecRequest | None, sql: str,
                            tables: Sequence[GatherTable], catalog: BackendConnection,
                            temps: list[str], shapes: dict[str, list[str]] | None = None,
                            schema: str = "pg_temp") -> None:
    """Copy what `sql` needs of each table into its catalog temp table (`pg_temp.<temp>`,
    or an unlogged table of `schema`: executor/catalog_scratch.py), appended to `temps` as
    soon as it exists, so the caller drops it whatever happens; `shapes` gets the table's
    columns each copy holds, by temp name."""
    from gridpg.executor.multi import copy_rows_to_catalog, create_partial_temp, inline_params

    needs = await needs_of(dispatcher, sql, tables)
    lookups = await _correlation_keys(dispatcher, sql)
    keys = kept_primary_keys(sql, await _primary_keys(dispatcher, tables), {k: n for k, (n, _) in needs.items()})
    for table in tables:
        need, columns = needs[(table.schema, table.name)]
        computed = [(tableoid.GATHERED_COLUMN, tableoid.gathered_mapping())] if table.tableoid else []
        if shapes is not None:
            shapes[table.temp] = list(need.columns if need.columns is not None else columns)
        select = need.select_sql(table.schema, table.name, columns, computed=computed, only=table.only)
        if request is not None and "$" in select:
            select = await inline_params(dispatcher, request, select)
        shape = need.select_sql(table.schema, table.name, columns, filtered=False, computed=computed)
        # a subplan's scratch table exists only on the datanodes: shaped there
        await create_partial_temp(dispatcher, catalog, f"{schema}.{quote_ident(table.temp)}", shape, table.groups[0])
        temps.append(f"{schema}.{quote_ident(table.temp)}")
        await copy_rows_to_catalog(dispatcher, [(g, select) for g in table.groups], catalog, temps[-1])
        key = (table.schema, table.name)
        await catalog.simple_query(_index_and_analyze(temps[-1], lookups.get(key, []), keys.get(key, ())))


async def _correlation_keys(dispatcher: Dispatcher, sql: str) -> dict[TableKey, list[tuple[str, ...]]]:
    refs = _resolved_refs(dispatcher, sql)
    tables = {t.key: t for t in refs.values()}
    columns = {k: [c.name for c in await dispatcher.coord.table_columns(dispatcher.runner, t)]
               for k, t in tables.items()}
    return correlation_keys(sql, {loc: t.key for loc, t in refs.items()}, columns)


async def _primary_keys(dispatcher: Dispatcher, tables: Sequence[Any]) -> dict[TableKey, list[str]]:
    """Each table's primary key columns (none: an empty list), from the cached column lists."""
    snapshot = dispatcher.runner.snapshot()
    out = {}
    for table in tables:
        found = snapshot.table(table.schema, table.name) if isinstance(table, GatherTable) else table
        if found is not None:
            described = await dispatcher.coord.table_columns(dispatcher.runner, found)
            out[found.key] = [c.name for c in described if c.primary_key]
    return out


def _index_and_analyze(table: str, keys: Sequence[tuple[str, ...]], primary_key: Sequence[str] = ()) -> str:
    """The copied table's primary key where the statement relies on it (planner/gather.
    kept_primary_keys), indexes for the lookups of correlated subqueries, then statistics."""
    sql = [f"ALTER TABLE {table} ADD PRIMARY KEY ({', '.join(quote_ident(c) for c in primary_key)})"] \
        if primary_key else []
    sql += [f"CREATE INDEX ON {table} ({', '.join(quote_ident(c) for c in key)})" for key in dict.fromkeys(keys)]
    return "; ".join([*sql, f"ANALYZE {table}"])


async def explain_gather(dispatcher: Dispatcher, sql: str, tables: Sequence[GatherTable]) -> list[str]:
    """EXPLAIN lines: per gathered table, the SQL each node runs for it."""
    needs = await needs_of(dispatcher, sql, tables)
    lines = []
    for table in tables:
        need, columns = needs[(table.schema, table.name)]
        lines.append(f"  Gather from {', '.join(table.groups)} into {table.temp} (analyzed): "
                     f"{need.select_sql(table.schema, table.name, columns, only=table.only)}")
    return lines


# -- the broadcast exchange ------------------------------------------------------------------

PUMP_HIGH_WATER = 8 << 20  # bytes queued towards a destination before the source is paused
PUMP_LOW_WATER = 1 << 20


@dataclass(frozen=True)
class StagedPlan:
    """A broadcast exchange and the strategy that finishes the statement on its nodes."""

    exchange: BroadcastPlan
    finish: DistributedPlan

    def describe(self) -> list[str]:
        kinds = sorted({"broadcast" if m.key is None else "repartition" for m in self.exchange.moves})
        what = f" ({', '.join(kinds)})" if kinds else " (nothing moves)"
        lines = [f"Distributed plan: exchange{what}, then {self.finish.strategy}"]
        lines += self.exchange.describe()
        lines += self.finish.describe()[1:]
        return lines


async def plan_exchange(dispatcher: Dispatcher, request: ExecRequest, sql: str) -> StagedPlan | str:
    """The staged plan for a statement the coordinator finish would run, or why there is none."""
    from gridpg.catalog.model import DistTable
    from gridpg.executor.run import scratch_name as fresh_name

    if is_read_only(dispatcher):
        return "a read-only transaction or coordinator cannot create scratch tables on the datanodes"
    snapshot = dispatcher.runner.snapshot()
    refs = _resolved_refs(dispatcher, sql)
    tables = {t.key: t for t in refs.values()}
    described = {k: await dispatcher.coord.table_columns(dispatcher.runner, t) for k, t in tables.items()}
    columns = {k: [c.name for c in cols] for k, cols in described.items()}
    types = {k: {c.name: c.type_oid for c in cols} for k, cols in described.items()}
    for key, table in tables.items():
        if table.schema == SCRATCH_SCHEMA and not columns[key]:
            columns[key] = await _scratch_columns(dispatcher, table)
    every = {g for t in tables.values() for g in t.groups}
    complete = frozenset(k for k, t in tables.items() if t.method == "replication" and every <= set(t.groups))
    needs = table_needs(sql, {loc: t.key for loc, t in refs.items()}, columns, complete)
    needs = with_replicated_semi_joins(sql, refs, columns, needs, complete, snapshot.aggregates)
    # the planner names the estimates it decides with; they are read here and handed back
    probes = probe_requests(tables, key_filter_probes(sql, refs, columns, types, snapshot.aggregates))
    semi = semi_join_tables(sql, refs)
    answers = await estimates.gather(dispatcher, request, table_requests(tables, needs, columns, semi) + probes)

    def scratch_name(_: DistTable) -> str:
        return fresh_name(dispatcher, "bc")

    exchange = plan_broadcast(sql, refs, columns, needs, table_estimates(tables, answers, columns), snapshot.colocated,
                              scratch_name, types, snapshot.aggregates)
    if isinstance(exchange, str):
        return exchange
    finish = _finish_strategy(dispatcher, exchange)
    if isinstance(finish, str):
        return finish
    return StagedPlan(exchange, finish)


async def _scratch_columns(dispatcher: Dispatcher, table: Any) -> list[str]:
    """A subplan's scratch table exists only on the datanodes (in the statement's block):
    its columns are read there."""
    conn = await dispatcher.runner.txn.connection(table.groups[0], wants_block=True)
    await conn.settle()
    rows = await conn.query("SELECT attname FROM pg_catalog.pg_attribute WHERE attrelid = "
                            f"{quote_literal(quote_qualified(table.schema, table.name))}::pg_catalog.regclass "
                            "AND attnum > 0 AND NOT attisdropped ORDER BY attnum")
    return [r[0] for r in rows if r[0] is not None]


def is_read_only(dispatcher: Dispatcher) -> bool:
    """The session's transaction is read-only (BEGIN READ ONLY, SET TRANSACTION, defaults)."""
    runner = dispatcher.runner
    txn = runner.txn
    if getattr(dispatcher.coord, "read_only", False):
        return True  # a read-only coordinator reads the groups from standbys
    for key, value in runner.settings.items():
        if key.lower() in ("default_transaction_read_only", "transaction_read_only") \
                and str(value).strip("'\" ").lower() in ("on", "true", "yes", "1"):
            return True
    texts = [txn.begin_sql, *txn.local_settings]
    return txn.read_only or any("read only" in t.lower() or "read_only" in t.lower() for t in texts)


def _resolved_refs(dispatcher: Dispatcher, sql: str) -> dict[int, Any]:
    """{text location: distributed table} for every table reference of `sql`."""
    from gridpg.executor.run import catalog_view, search_path

    catalog, path = catalog_view(dispatcher), search_path(dispatcher)
    out = {}
    for ref in analyze.relations(parse_tree(sql)):
        table = catalog.resolve(ref, path)
        if table is not None:
            out[ref.location] = table
    return out


def _finish_strategy(dispatcher: Dispatcher, exchange: BroadcastPlan) -> DistributedPlan | str:
    """Concatenate, merge or two-phase-aggregate the statement over the scratch copies."""
    from gridpg.executor.run import bind, scratch_name
    from gridpg.planner import twophase
    from gridpg.planner.merge import sorted_merge
    from gridpg.planner.node_local import volatile_subselect
    from gridpg.planner.plan import MergePlan, PushdownPlan, ScratchNames, TwoPhasePlan
    from gridpg.planner.pushdown import Resolved, needs_combine

    tree = parse_tree(exchange.sql)
    body = tree.get("SelectStmt", {})
    if analyze.has_node(tree, "SetToDefault") or "nextval" in exchange.sql.lower() or volatile_subselect(tree):
        return "volatile functions must run once"
    fragments = tuple(Fragment(g, exchange.sql) for g in exchange.groups)
    aggregates = dispatcher.runner.snapshot().aggregates
    wrapped = merge_over_final_groups(exchange.sql) if exchange.groups_final else None
    if wrapped is not None:  # each node's groups are final: merge their sorted, limited rows
        wrapped_tree = parse_tree(wrapped)
        # its FROM is the grouped statement over the copies, whose subqueries are complete on
        # every node (a key filter's key list, IN lists over copies): only the outer list,
        # ORDER BY and LIMIT are the merge's to check
        outer = {k: v for k, v in wrapped_tree.get("SelectStmt", {}).items() if k not in ("whereClause", "fromClause")}
        merge = sorted_merge(wrapped, outer, [Resolved(r, None) for r in analyze.relations(wrapped_tree)],
                             list(exchange.groups), ScratchNames(wrapped), aggregates)
        if isinstance(merge, MergePlan):
            return bind(dispatcher, merge)
    why = needs_combine(body, aggregates)
    if why in (None, "subqueries"):
        return PushdownPlan(fragments)
    # the sorted merge, when subqueries (complete on every node) stand only in WHERE
    outside_where = {k: v for k, v in body.items() if k != "whereClause"}
    if not analyze.has_node(outside_where, "SubLink"):
        # (the tables of its FROM: `SELECT * ... WHERE v IN (SELECT ... FROM <scratch>)` reads
        # one table's columns, though the WHERE names another; counted whole, the `*` was
        # taken for several tables' and the statement gathered whole to the coordinator)
        resolved = [Resolved(r, None) for r in analyze.relations({"SelectStmt": outside_where})]
        merge = sorted_merge(exchange.sql, outside_where, resolved, list(exchange.groups),
                             ScratchNames(exchange.sql), aggregates)
        if isinstance(merge, MergePlan):
            return bind(dispatcher, merge)
    temp = f"pg_temp.{scratch_name(dispatcher, 'agg', shared=False)}"
    # (the copies' columns are their tables': any distributed table's, by name)
    snapshot = dispatcher.runner.snapshot()
    foreign = frozenset(column for _, _, column in snapshot.foreign_type_columns)
    split = twophase.build_two_phase(exchange.sql, temp, complete_subqueries=True, final_from=exchange.grouped,
                                     foreign_type_columns=foreign,
                                     shadowed_aggregates=snapshot.shadowed_aggregates)
    if isinstance(split, twophase.NotApplicable):
        return f"two-phase over the exchange: {split.reason}"
    return TwoPhasePlan(tuple(Fragment(g, split.partial_sql) for g in exchange.groups),
                        final_sql=split.final_sql, partial_temp=temp)


async def run_staged(dispatcher: Dispatcher, request: ExecRequest, staged: StagedPlan) -> None:
    """Broadcast into scratch tables inside the statement's transaction, finish, drop them.

    The scratch tables live only in the transaction: an error or a cancel rolls it back
    (or aborts the client's block), and they are gone with it."""
    if not staged.exchange.moves:
        await _finish(dispatcher, request, staged)
        return
    async with dispatcher.runner.statement_transaction():
        await _ensure_blocks(dispatcher, staged.exchange.groups)
        prepared = []
        for move in staged.exchange.moves:
            dispatcher.runner.check_interrupts()  # (a cancel between steps reaches no node)
            if move.key is None:
                prepared.append(await _broadcast(dispatcher, request, staged.exchange.groups, move))
            else:
                prepared.append(await _repartition(dispatcher, request, staged.exchange, move))
        dispatcher.runner.check_interrupts()
        await _move_all(dispatcher, request, staged.exchange.groups, prepared)
        dispatcher.runner.check_interrupts()
        await _finish(dispatcher, request, staged)
        await _drop_scratch(dispatcher, staged.exchange, prepared)


async def _drop_scratch(dispatcher: Dispatcher, exchange: BroadcastPlan, prepared: Sequence[_Prepared]) -> None:
    """Drop the moves' scratch tables and the key tables, each on the nodes that have it."""
    drops: dict[str, list[str]] = {g: [f"{SCRATCH_SCHEMA}.{quote_ident(m.scratch)}" for m in exchange.moves]
                                   for g in exchange.groups}
    for p in prepared:
        if p.keys is not None:
            for node in p.keys.nodes:
                drops.setdefault(node, []).append(p.keys.target.scratch)
    txn = dispatcher.runner.txn
    for group, names in drops.items():
        conn = await txn.connection(group, wants_block=True)
        await conn.settle()
        await conn.simple_query(f"DROP TABLE {', '.join(names)}")


async def _ensure_blocks(dispatcher: Dispatcher, groups: Sequence[str]) -> None:
    """Every node that receives scratch tables is inside the statement's transaction block
    (a node the session joined before the block began would run them in autocommit)."""
    txn = dispatcher.runner.txn
    for group in groups:
        conn = await txn.connection(group, wants_block=True)
        await conn.settle()
        if conn.txn_status == b"I":
            await conn.simple_query("BEGIN")


async def _finish(dispatcher: Dispatcher, request: ExecRequest, staged: StagedPlan) -> None:
    from gridpg.executor.multi import (
        _drop_temp,
        _run_final,
        copy_rows_to_catalog,
        create_partial_temp,
        inline_params,
        scatter,
    )

    plan = staged.finish
    if plan.strategy is Strategy.PUSHDOWN:
        await scatter(dispatcher, request, plan, commit=False)
        return
    # merge / two-phase: the catalog server makes the partial rows' temp table from the
    # partial query over the real (empty there) tables, which have the scratch copies' types;
    # on a side connection, as two-phase aggregation does (in a block that ran DDL, a temp
    # table on the block's own connection failed its PREPARE at COMMIT: 0A000)
    from gridpg.executor.catalog_scratch import is_block_catalog
    from gridpg.executor.multi import _partial_out_of_pg_temp
    from gridpg.executor.scratch import writable_catalog

    async with writable_catalog(dispatcher, scratch_only=True):
        catalog = await dispatcher.runner.txn.connection(dispatcher.coord.catalog_node, wants_block=False)
        if (plan.partial_temp or "").startswith("pg_temp.") and is_block_catalog(dispatcher, catalog):
            plan = await _partial_out_of_pg_temp(dispatcher, plan)  # the block ran DDL: no temp table
        temp = plan.partial_temp or ""
        partial = await inline_params(dispatcher, request, plan.fragments[0].sql)
        shape = partial
        for move in staged.exchange.moves:
            shape = shape.replace(f"{SCRATCH_SCHEMA}.{quote_ident(move.scratch)}",
                                  quote_qualified(move.table.schema, move.table.name))
        await create_partial_temp(dispatcher, catalog, temp, shape, plan.fragments[0].group)
        try:
            await copy_rows_to_catalog(dispatcher, [(f.group, partial) for f in plan.fragments], catalog, temp)
            await _run_final(dispatcher, request, plan.final_sql or "")
        finally:
            await _drop_temp(catalog, [temp])


@dataclass(frozen=True)
class _Prepared:
    """One move, ready to run: its scratch table's shape and what fills it; `keys`: the
    semi-join key table its sources read, filled in a round before the moves."""

    move: Move
    shape: str
    target: Target
    keys: _Keys | None = None


@dataclass(frozen=True)
class _Keys:
    """The distinct keys of the filtered anchor rows, pumped from the anchor's nodes into
    a scratch table on each source node of a reduced move (`shape` makes it)."""

    shape: str
    target: Target
    nodes: tuple[str, ...]
    label: str  # for EXPLAIN ANALYZE: "keys of <anchor> for <moved table>"
    anchor_groups: tuple[str, ...] = ()  # the nodes holding the anchor table, which `shape` reads


async def _broadcast(dispatcher: Dispatcher, request: ExecRequest, groups: Sequence[str],
                     move: Move) -> _Prepared:
    """A complete copy of what the statement needs of `move.table` on every node of `groups`."""
    from gridpg.executor.multi import inline_params

    table = move.table
    columns = [c.name for c in await dispatcher.coord.table_columns(dispatcher.runner, table)]
    select = move.select_sql(columns)
    if "$" in select:
        select = await inline_params(dispatcher, request, select)
    shape = move.needs.select_sql(table.schema, table.name, columns, filtered=False)
    scratch = f"{SCRATCH_SCHEMA}.{quote_ident(move.scratch)}"
    if table.method == "replication":
        local = {g: select for g in groups if g in table.groups}
        flows = [Flow(table.groups[0], select, tuple(g for g in groups if g not in table.groups))]
    else:  # every source reads once, for every node, itself included
        local = {}
        flows = [Flow(src, select, tuple(groups)) for src in table.groups]
    return _Prepared(move, shape, Target(scratch, tuple(f for f in flows if f.dests), local))


async def _move_all(dispatcher: Dispatcher, request: ExecRequest, groups: Sequence[str],
                    prepared: Sequence[_Prepared]) -> None:
    """Create every move's scratch table on `groups` (one round trip per node), run all
    the moves as one exchange (every source reads all its flows, then every node loads all
    its tables), then index and analyze them (one round trip per node). Semi-join key
    tables go first, in a round of their own: the moves' sources read them."""
    txn = dispatcher.runner.txn
    keys = [p.keys for p in prepared if p.keys is not None]
    key_nodes = list(dict.fromkeys(n for k in keys for n in k.nodes))
    nodes = list(dict.fromkeys([*groups, *key_nodes, *(f.source for p in prepared for f in p.target.flows),
                                *(f.source for k in keys for f in k.target.flows)]))
    await _ensure_blocks(dispatcher, [n for n in key_nodes if n not in groups])
    conns = {g: await txn.connection(g, wants_block=True) for g in nodes}
    lossy = low_float_digits(dispatcher.runner)
    if keys:
        await _each_own([conns[n] for n in key_nodes], await _key_creates(dispatcher, key_nodes, keys))
        labels = {k.target.scratch: k.label for k in keys}
        for stat in await run_targets(conns, [k.target for k in keys], lossy):
            scratch = stat[0].removeprefix("rows into ")
            record_stage(f"{labels.get(scratch, '')} ({stat[0]})", *stat[1:5], time.perf_counter() - stat[5])
    await _each_own([conns[g] for g in groups], await _scratch_creates(dispatcher, groups, prepared))
    for stat in await run_targets(conns, [p.target for p in prepared], lossy):
        record_stage(*stat[:5], time.perf_counter() - stat[5])
    lookups = await _correlation_keys(dispatcher, request.sql)
    primary = kept_primary_keys(request.sql, await _primary_keys(dispatcher, [p.move.table for p in prepared]),
                                {p.move.table.key: p.move.needs for p in prepared})
    await _each([conns[g] for g in groups], "; ".join(
        _index_and_analyze(p.target.scratch, [*lookups.get(p.move.table.key, []), *((c,) for c in p.move.lookups)],
                           primary.get(p.move.table.key, ()))
        for p in prepared))


async def _key_creates(dispatcher: Dispatcher, nodes: Sequence[str], keys: Sequence[_Keys]) -> dict[str, str]:
    """Each node's CREATEs of the semi-join key tables it receives: shaped by the anchor
    table where the node holds it, else (an anchor placed `TO NODE` other nodes: the
    moved table's source nodes lack it, 42P01) by the key's type as the catalog server
    describes it."""
    typed = {k.target.scratch: await _described_columns(dispatcher, k.shape)
             for k in keys if any(n not in k.anchor_groups for n in k.nodes)}
    return {n: "; ".join(f"CREATE UNLOGGED TABLE {k.target.scratch} AS {k.shape} WITH NO DATA"
                         if n in k.anchor_groups else f"CREATE UNLOGGED TABLE {k.target.scratch} ({typed[k.target.scratch]})"
                         for k in keys if n in k.nodes) for n in nodes}


async def _scratch_creates(dispatcher: Dispatcher, groups: Sequence[str],
                           prepared: Sequence[_Prepared]) -> dict[str, str]:
    """Each node's CREATEs of the moves' scratch tables: shaped by the moved table itself
    where the node holds it, else (a table placed `TO NODE` some nodes only: the shape's
    table does not exist there, 42P01) by the column types the catalog server describes
    for the same shape."""
    typed: dict[str, str] = {}
    for p in prepared:
        if any(g not in p.move.table.groups for g in groups):
            typed[p.target.scratch] = await _described_columns(dispatcher, p.shape)
    return {g: "; ".join(f"CREATE UNLOGGED TABLE {p.target.scratch} AS {p.shape} WITH NO DATA"
                         if g in p.move.table.groups else
                         f"CREATE UNLOGGED TABLE {p.target.scratch} ({typed[p.target.scratch]})"
                         for p in prepared) for g in groups}


async def _described_columns(dispatcher: Dispatcher, query_sql: str) -> str:
    """`name type, ...` of the output columns of `query_sql` as the catalog server describes
    it (it holds every table, empty)."""
    from gridpg.executor.dml import _query_columns

    txn = dispatcher.runner.txn
    node = dispatcher.coord.catalog_node
    held = node in txn.participants
    conn = await txn.connection(node, wants_block=False)
    try:
        await conn.settle()
        columns = await _query_columns(conn, query_sql, {})
    finally:
        txn.release_lookup(node, held)
    return ", ".join(f"{quote_ident(name)} {type_name}" for name, type_name in columns)


async def _each_own(conns: Sequence[BackendConnection], sql: Mapping[str, str]) -> None:
    """Each node's own statement, all nodes at once."""
    async def one(conn: BackendConnection) -> None:
        await conn.settle()
        await conn.simple_query(sql[conn.node])

    await spool_all([one(c) for c in conns])


async def _each(conns: Sequence[BackendConnection], sql: str) -> None:
    """The same statement on every node at once."""
    async def one(conn: BackendConnection) -> None:
        await conn.settle()
        await conn.simple_query(sql)

    await spool_all([one(c) for c in conns])


async def _repartition(dispatcher: Dispatcher, request: ExecRequest, exchange: BroadcastPlan,
                       move: Move) -> _Prepared:
    """The rows of `move.table` each node's anchor partitions join, on that node: split on
    the source nodes by PostgreSQL's partition hash of `move.key` (the anchor's modulus)."""
    anchor = exchange.anchor_table
    assert anchor is not None and move.key is not None and anchor.shard_count
    snapshot = dispatcher.runner.snapshot()
    table = move.table
    described = await dispatcher.coord.table_columns(dispatcher.runner, table)
    columns = [c.name for c in described]
    type_oid = next(c.type_oid for c in described if c.name == move.key)
    remainders: dict[str, list[int]] = {g: [] for g in exchange.groups}
    for remainder in range(anchor.shard_count):
        remainders[snapshot.shard_group(anchor.schema, anchor.name, remainder)].append(remainder)
    from gridpg.executor.multi import inline_params

    shape = move.needs.select_sql(table.schema, table.name, columns, filtered=False)
    scratch = f"{SCRATCH_SCHEMA}.{quote_ident(move.scratch)}"
    if move.reduce_by:
        # Semi-join reduction: only rows whose key some filtered anchor row has. A row whose
        # key belongs to another node's anchor rows joins nothing here (every reference of
        # the move is equated on the key to the anchor's table: planner/broadcast._reduction),
        # so each source reads once and sends the same rows to every node. The keys go from
        # the anchor's nodes to the sources' key tables first (never through the coordinator),
        # read back as one sorted array (`= ANY (ARRAY(SELECT ... ORDER BY k))`: the index on
        # the key is probed, each partition's scan finds the array sorted already, and the
        # node's planner does not estimate a literal list element by element: at SF1's Q22,
        # 19,000 keys took 640 ms per source as a literal, 230 ms so, 55 ms sorted).
        keys = await _reduction_keys(dispatcher, request, anchor, move)
        within = f"{quote_ident(move.key)} = ANY (ARRAY(SELECT k FROM {keys.target.scratch} ORDER BY k))"
        select = await inline_params(dispatcher, request, move.select_sql(columns, within))
        return _Prepared(move, shape, Target(scratch, tuple(Flow(src, select, tuple(exchange.groups))
                                                            for src in table.groups)), keys)
    split = remainder_sql(quote_ident(move.key), type_oid, anchor.shard_count)
    conditions = {g: f"{split} IN ({', '.join(map(str, mine))})" for g, mine in remainders.items() if mine}
    if move.scan_once:
        # Each source reads once and sends its rows to every node, which keeps its own
        # partitions as they load (COPY ... FROM STDIN WHERE): one scan per source instead
        # of one per destination (the planner's choice: planner/broadcast.is_scan_once).
        select = await inline_params(dispatcher, request, move.select_sql(columns))
        flows = tuple(Flow(src, select, tuple(conditions)) for src in table.groups)
        return _Prepared(move, shape, Target(scratch, flows, {}, conditions))
    parts = {g: await inline_params(dispatcher, request, move.select_sql(columns, c)) for g, c in conditions.items()}
    local = {dest: part for dest, part in parts.items() if dest in table.groups}
    flows = tuple(Flow(src, part, (dest,)) for src in table.groups for dest, part in parts.items() if dest != src)
    return _Prepared(move, shape, Target(scratch, flows, local))



async def _reduction_keys(dispatcher: Dispatcher, request: ExecRequest, anchor: Any, move: Move) -> _Keys:
    """The key table of a reduced move (planner/broadcast._reduction): the distinct keys
    of the anchor rows its filter keeps, from every anchor node into a scratch table on
    every source node of the move. A row equal on the key to an anchor row of node N
    hashes to N's partitions (same type), so the keys also split the rows."""
    from gridpg.executor.multi import inline_params
    from gridpg.executor.run import scratch_name

    assert move.reduce_by is not None
    column = quote_ident(anchor.column)
    source = quote_qualified(anchor.schema, anchor.name)
    select = await inline_params(dispatcher, request, f"SELECT DISTINCT {column} FROM {source} "
                                 f"WHERE ({move.reduce_by}) AND {column} IS NOT NULL")
    scratch = f"{SCRATCH_SCHEMA}.{quote_ident(scratch_name(dispatcher, 'bk'))}"
    nodes = tuple(move.table.groups)
    # each anchor node reads its keys once, for every source node, itself included (a local
    # INSERT ... SELECT as well would scan the filtered anchor twice)
    flows = tuple(Flow(g, select, nodes) for g in anchor.groups)
    return _Keys(f"SELECT {column} AS k FROM {source}", Target(scratch, flows), nodes,
                 f"keys of {anchor.name} for {move.table.name}", tuple(anchor.groups))


@dataclass
class StageStat:
    """What one step of a multi-stage statement moved (EXPLAIN ANALYZE prints these)."""

    what: str
    source: str
    dests: str
    rows: int
    nbytes: int
    seconds: float

    def describe(self) -> str:
        size = f", {self.nbytes} bytes" if self.nbytes else ""
        return f"  Stage: {self.what}, {self.source} -> {self.dests}: {self.rows} rows{size}, {self.seconds * 1000:.1f} ms"


# Set by EXPLAIN ANALYZE around one statement: the pumps and local copies record into it.
STAGE_STATS: contextvars.ContextVar[list[StageStat] | None] = contextvars.ContextVar("gridpg_stage_stats",
                                                                                   default=None)


def record_stage(what: str, source: str, dests: str, rows: int, nbytes: int, started: float) -> None:
    stats = STAGE_STATS.get()
    if stats is not None:
        stats.append(StageStat(what, source, dests, rows, nbytes, time.perf_counter() - started))


async def local_copy(conn: BackendConnection, scratch: str, select: str) -> None:
    """`INSERT INTO scratch select` on the node where the rows already are (recorded)."""
    started = time.perf_counter()
    await conn.settle()
    results = await conn.simple_query(f"INSERT INTO {scratch} {select}")
    tag = results[-1].tag if results else ""
    count = tag.rsplit(" ", 1)[-1]
    record_stage(f"rows into {scratch} (local)", conn.node, conn.node, int(count) if count.isdigit() else 0, 0, started)


def low_float_digits(runner: Any) -> str | None:
    """The session's extra_float_digits when it makes float output lossy (below 1), else
    None. Rows moved as COPY text under it would arrive rounded (aggregates.sql runs with 0)."""
    value = str(runner.settings.get("extra_float_digits", "1")).strip("'\" ")
    try:
        return value if int(value) < 1 else None
    except ValueError:
        return None


# Column types whose COPY text extra_float_digits rounds: float4, float8, their arrays, and
# any user type (a composite or domain may hold a float).
_FLOAT_TEXT_TYPES = frozenset((700, 701, 1021, 1022))


async def exact_select(conn: BackendConnection, select: str, lossy: str | None) -> tuple[str, bool]:
    """`select` as `COPY (...) TO STDOUT` should run on `conn` while the session's
    extra_float_digits is `lossy` (below 1; None: any other value), and whether `conn` must
    first switch to exact floats (`exact_floats`) for it. Moved floats must arrive exactly,
    but the select's own float-to-text conversions (`f::text`, `string_agg(f::text, ',')`)
    keep the session's value, as PostgreSQL evaluates them: the float columns it writes are
    made text by EXACT_TEXT, whose SET clause holds for the call only. A select that cannot
    be read from a subquery (a data-modifying WITH) switches the whole connection instead,
    its conversions then showing every digit. One Describe, only while `lossy`.

    The Describe runs before the statement's snapshot fence, and that is safe: its parse
    analysis takes a snapshot only for itself, except as a REPEATABLE READ block's first
    statement, and such a block took its cluster-wide snapshot when `conn` joined it
    (`Transaction._take_cluster_snapshot`); a READ COMMITTED statement takes its own
    snapshot when it runs, after the fence; a SERIALIZABLE block reaches one node only."""
    if lossy is None:
        return select, False
    from gridpg.commands.ddl import EXACT_TEXT
    from gridpg.executor.dispatch import describe_on
    from gridpg.planner.prepared import FIRST_NORMAL_OID

    _, description = await describe_on(conn, select, [], planned=False)
    columns = codec.parse_row_description(description[5:]) if description else []
    floats = {i for i, c in enumerate(columns) if c.type_oid in _FLOAT_TEXT_TYPES or c.type_oid >= FIRST_NORMAL_OID}
    if not floats:
        return select, False
    if not _readable_as_subquery(select):
        return select, True
    names = [f"c{i}" for i in range(1, len(columns) + 1)]
    items = [f"{EXACT_TEXT}(gp_x.{n})" if i in floats else f"gp_x.{n}" for i, n in enumerate(names)]
    return f"SELECT {', '.join(items)} FROM ({select}) AS gp_x({', '.join(names)})", False


def _readable_as_subquery(select: str) -> bool:
    """Whether `select` is a SELECT (or VALUES) whose WITH holds no data-modifying statement
    (PostgreSQL allows those at the top level only)."""
    try:
        tree = parse_tree(select)
    except PgError:
        return False
    stmt = tree.get("SelectStmt")
    if not isinstance(stmt, dict):
        return False
    ctes = (stmt.get("withClause") or {}).get("ctes") or []
    return all("SelectStmt" in (c.get("CommonTableExpr") or {}).get("ctequery", {}) for c in ctes)


def exact_floats(conns: list[BackendConnection], lossy: str | None) -> None:
    """Before COPY ... TO STDOUT: floats written exactly (answer read with the next one)."""
    if lossy is not None:
        for conn in conns:
            conn.send_ahead("SET extra_float_digits = 3")


def session_floats(conns: list[BackendConnection], lossy: str | None) -> None:
    """After it: the session's value again (an aborted block puts it back by itself)."""
    if lossy is not None:
        for conn in conns:
            if conn.txn_status != b"E":
                conn.send_ahead(f"SET extra_float_digits = {quote_literal(lossy)}")


async def pump(source: BackendConnection, dests: list[BackendConnection], select: str,
               scratch: str, lossy_floats: str | None = None) -> None:
    """`COPY (select) TO STDOUT` on the source, its CopyData bytes written unchanged into
    `COPY scratch FROM STDIN` on every destination, with backpressure: the source is not
    read while a destination has more than PUMP_HIGH_WATER bytes queued. `lossy_floats`:
    the session's extra_float_digits when below 1 (floats are then moved exactly)."""
    started = time.perf_counter()
    rows = nbytes = 0
    await source.settle()
    for dest in dests:
        await dest.settle()
        dest.send(codec.build_query(f"COPY {scratch} FROM STDIN"))
        await dest.expect_copy_in()
    select, switch = await exact_select(source, select, lossy_floats)
    lossy_floats = lossy_floats if switch else None
    exact_floats([source], lossy_floats)
    source.send(codec.build_query(f"COPY ({select}) TO STDOUT"))
    error: PgError | None = None
    done = False
    try:
        while not done:
            batch = await source.recv_batch()
            data = b"".join(raw for kind, raw in batch if kind == 0x64)
            rows += sum(1 for kind, _ in batch if kind == 0x64)
            nbytes += len(data)
            for kind, raw in batch:
                if kind == 0x45:
                    error = error or source.error(codec.parse_error_fields(raw[5:]))
                elif kind == 0x5A:
                    source.txn_status = raw[5:6]
                    done = True
            if data and error is None:
                for dest in dests:
                    dest.send(data)
                await _wait_for_room(source, dests)
    except BaseException:
        # (a destination lost or stuck): the rest of the source's COPY is nobody's answer
        await source.abandon_answer()
        session_floats([source] if not source.is_closed else [], lossy_floats)
        for dest in dests:
            if not dest.is_closed:
                dest.close()  # mid-COPY FROM STDIN: it cannot serve another statement
        raise
    session_floats([source], lossy_floats)
    for dest in dests:
        dest.send(codec.COPY_DONE if error is None else codec.message(b"f", codec.cstr("aborted by the coordinator")))
    for dest in dests:
        try:
            await dest.read_results()
        except PgError as exc:
            error = error or exc
    if error is not None:
        raise error
    record_stage(f"rows into {scratch}", source.node, ", ".join(d.node for d in dests), rows, nbytes, started)


async def _wait_for_room(source: BackendConnection, dests: list[BackendConnection]) -> None:
    if max(d.write_buffer_size() for d in dests) <= PUMP_HIGH_WATER:
        return
    source.pause_reading()
    try:
        for _ in range(100000):  # bounded: 100 s of a destination that does not read
            if max(d.write_buffer_size() for d in dests) <= PUMP_LOW_WATER:
                return
            await asyncio.sleep(0.001)
        raise PgError(CONNECTION_FAILURE, "a datanode stopped reading the rows of an exchange")
    finally:
        source.resume_reading()
