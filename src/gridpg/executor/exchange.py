"""Moving table pieces for multi-step plans: gathering into the catalog server.

The coordinator finish copies, for each distributed table a statement reads, only what the
statement can use (`planner.gather.table_needs`: its columns, and rows filtered by the
conjuncts that hold for every reference) from each node into a catalog temp table, as raw
COPY text over the transaction's own datanode connections, then ANALYZEs the temp table so
the catalog server plans the final statement with real row counts.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from gridpg.datanode.connection import BackendConnection
from gridpg.planner import analyze
from gridpg.planner.gather import Needs, TableKey, table_needs
from gridpg.planner.plan import GatherTable
from gridpg.sql.parse import parse_tree
from gridpg.sql.quote import quote_ident

if TYPE_CHECKING:
    from gridpg.executor.dispatch import Dispatcher, ExecRequest


async def needs_of(dispatcher: Dispatcher, sql: str,
                   tables: Sequence[GatherTable]) -> dict[TableKey, tuple[Needs, list[str]]]:
    """Per gathered table: what `sql` needs of it, and all its columns."""
    from gridpg.planner.service import _search_path

    planner = dispatcher.coord.planner
    assert planner is not None
    snapshot = dispatcher.runner.snapshot()
    search_path = _search_path(dispatcher)
    refs: dict[int, TableKey] = {}
    for ref in analyze.relations(parse_tree(sql)):
        table = planner.resolve(snapshot, ref, search_path)
        if table is not None:
            refs[ref.location] = table.key
    columns: dict[TableKey, list[str]] = {}
    for gathered in tables:
        table = snapshot.table(gathered.schema, gathered.name)
        if table is not None:
            columns[table.key] = [c.name for c in await dispatcher.coord.table_columns(dispatcher.runner, table)]
    needs = table_needs(sql, refs, columns)
    every = Needs(None, None)
    return {(t.schema, t.name): (needs.get((t.schema, t.name), every), columns.get((t.schema, t.name), []))
            for t in tables}


async def gather_to_catalog(dispatcher: Dispatcher, request: ExecRequest | None, sql: str,
                            tables: Sequence[GatherTable], catalog: BackendConnection,
                            temps: list[str]) -> None:
    """Copy what `sql` needs of each table into its catalog temp table (`pg_temp.<temp>`,
    appended to `temps` as soon as it exists, so the caller drops it whatever happens)."""
    from gridpg.executor.multi import copy_rows_to_catalog, inline_params

    needs = await needs_of(dispatcher, sql, tables)
    for table in tables:
        need, columns = needs[(table.schema, table.name)]
        select = need.select_sql(table.schema, table.name, columns)
        if request is not None and "$" in select:
            select = await inline_params(dispatcher, request, select)
        shape = need.select_sql(table.schema, table.name, columns, filtered=False)
        await catalog.simple_query(f"CREATE TEMP TABLE {quote_ident(table.temp)} AS {shape} WITH NO DATA")
        temps.append(f"pg_temp.{quote_ident(table.temp)}")
        await copy_rows_to_catalog(dispatcher, [(g, select) for g in table.groups], catalog, temps[-1])
        await catalog.simple_query(f"ANALYZE {temps[-1]}")


async def explain_gather(dispatcher: Dispatcher, sql: str, tables: Sequence[GatherTable]) -> list[str]:
    """EXPLAIN lines: per gathered table, the SQL each node runs for it."""
    needs = await needs_of(dispatcher, sql, tables)
    lines = []
    for table in tables:
        need, columns = needs[(table.schema, table.name)]
        lines.append(f"  Gather from {', '.join(table.groups)} into {table.temp} (analyzed): "
                     f"{need.select_sql(table.schema, table.name, columns)}")
    return lines

