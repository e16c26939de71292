"""The tables a staged MERGE's sub-selects read outside its source, copied whole onto the
target's nodes (the plan: planner/merge_staged.py `MergeStagedPlan.sublinks`).

Each node runs the MERGE over its own target rows; a sub-select in its ON condition, WHEN
conditions, UPDATE SET, INSERT VALUES or RETURNING (`WHEN MATCHED AND t.x > (SELECT avg(x)
FROM o WHERE o.k = t.k)`) would read there only that node's rows of a distributed table.
Uncorrelated scalar ones run first, once, as PostgreSQL runs them (executor/run.py
`_run_with_scalars_first`); what remains reads, on every node, a copy of each such table:
its rows gathered as the statement's source is (filters none: a correlated sub-select
may want any row), pumped into an unlogged scratch table in `gridpg_shards` on each target
node inside the statement's transaction (dropped after, or rolled back with it), and the
sub-select pointed at it under the table's own name. A REPLICATION table on every target
node is read in place. Read before the MERGE, the copy holds what PostgreSQL's sub-select
sees: the rows as the statement began (the target's too). An entry of the MERGE's own
WITH, which the nodes lack, is copied as its rows. A relation that is no distributed table
(a catalog) is refused, 0A000, as before.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pglast import ast
from pglast.stream import RawStream

from gridpg.errors import FEATURE_NOT_SUPPORTED, PgError
from gridpg.planner import analyze
from gridpg.planner.gather import _nodes
from gridpg.planner.plan import SCRATCH_SCHEMA
from gridpg.sql.parse import parse_sql
from gridpg.sql.quote import quote_ident, quote_qualified

if TYPE_CHECKING:
    from gridpg.catalog.model import DistTable
    from gridpg.executor.dispatch import Dispatcher


def _refused(why: str) -> PgError:
    return PgError(FEATURE_NOT_SUPPORTED, "MERGE into a distributed table with subqueries outside its source "
                   f"is not supported by gridpg here: {why}", hint="compute those values in the source subquery")


async def with_copies(dispatcher: Dispatcher, target: DistTable, node_sql: str,
                      with_text: str = "") -> tuple[str, list[str]]:
    """The node statement with its sub-selects outside the source reading copies, and the
    copies made on the target's nodes (for the caller to drop). `with_text`: the MERGE's
    own WITH clause (the nodes' statement has none): an entry a sub-select reads is copied
    as its rows."""
    from gridpg.executor.run import catalog_view, search_path

    stmt = parse_sql(node_sql)[0].stmt
    assert isinstance(stmt, ast.MergeStmt)
    links = [link for part in (stmt.joinCondition, stmt.mergeWhenClauses, stmt.returningClause)
             for link in _nodes(part, ast.SubLink)]
    own_ctes = {str(c.ctename) for link in links for c in _nodes(link, ast.CommonTableExpr)}
    entries = {str(c.ctename) for c in _nodes(parse_sql(f"{with_text} SELECT 1")[0].stmt.withClause,
                                               ast.CommonTableExpr)} if with_text.strip() else set()
    view = catalog_view(dispatcher)
    path = search_path(dispatcher)
    wanted: dict[tuple[str, str], tuple[str, list[ast.RangeVar]]] = {}
    for link in links:
        if any(len(ref.fields) > 2 for ref in _nodes(link, ast.ColumnRef)):
            raise _refused("a column named with its schema")
        for var in _nodes(link, ast.RangeVar):
            if var.schemaname is None and str(var.relname) in own_ctes:
                continue
            if var.schemaname is None and str(var.relname) in entries:  # (its rows as the source sees them)
                select = f"{with_text}\nSELECT * FROM {quote_ident(str(var.relname))}"
                wanted.setdefault(("", str(var.relname)), (select, []))[1].append(var)
                continue
            table = view.resolve(analyze.RelRef(var.schemaname, str(var.relname), 0, None), path)
            if table is None:
                raise _refused(f'"{var.relname}" is not a distributed table')
            if table.method == "replication" and set(target.groups) <= set(table.groups):
                continue  # every node holds its rows
            select = f"SELECT * FROM {quote_qualified(table.schema, table.name)}"
            wanted.setdefault(table.key, (select, []))[1].append(var)
    if not wanted:
        return node_sql, []
    made: list[str] = []
    for select, uses in wanted.values():
        copy = await _copy(dispatcher, target, select, made)
        for var in uses:
            if var.alias is None:
                var.alias = ast.Alias(aliasname=str(var.relname))
            var.schemaname, var.relname, var.catalogname = SCRATCH_SCHEMA, copy, None
    return str(RawStream()(stmt)), made


async def _copy(dispatcher: Dispatcher, target: DistTable, select: str, made: list[str]) -> str:
    """The rows of `select` (a whole table, or an entry of the MERGE's WITH) in a copy on each
    of the target's nodes; its bare name."""
    from gridpg.executor.exchange import _ensure_blocks, low_float_digits, pump
    from gridpg.executor.merge_staged import _columns
    from gridpg.executor.multi import _drop_temp, query_into_temp
    from gridpg.executor.run import scratch_name
    from gridpg.executor.scratch import writable_catalog

    txn = dispatcher.runner.txn
    name = scratch_name(dispatcher, "msub")
    qualified = f"{SCRATCH_SCHEMA}.{quote_ident(name)}"
    async with writable_catalog(dispatcher):
        catalog = await txn.connection(dispatcher.coord.catalog_node, wants_block=False)
        await catalog.settle()
        rows = f"pg_temp.{quote_ident(scratch_name(dispatcher, 'msubrows', shared=False))}"
        temps: list[str] = []
        try:
            await query_into_temp(dispatcher, select, catalog, rows, temps)
            shape = ", ".join(f"{quote_ident(c)} {t}" for c, t in await _columns(catalog, rows))
            await _ensure_blocks(dispatcher, list(target.groups))
            dests = []
            for group in target.groups:
                conn = await txn.connection(group, wants_block=True)
                txn.mark_written(group)
                await conn.settle()
                await conn.simple_query(f"CREATE UNLOGGED TABLE {qualified} ({shape})")
                dests.append(conn)
            made.append(qualified)
            await pump(catalog, dests, f"SELECT * FROM {rows}", qualified, low_float_digits(dispatcher.runner))
        finally:
            await _drop_temp(catalog, temps)
    return name
