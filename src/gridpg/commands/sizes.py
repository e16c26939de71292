"""Size functions over distributed tables, the I/O part: the cluster's sizes gathered from
the datanodes and put in the statement (planner/sizes.py says what a call becomes).

The catalog server holds a distributed table empty, so PostgreSQL's `pg_relation_size`
there would answer the empty copy's size. Before such a statement runs, every datanode
group holding a distributed table reports, on the session's own transaction connection
(so a table created or filled in the open transaction counts), the storage of each user
relation's leaves: a HASH table's parent is partitioned on the datanode, its shards are the
leaves. The coordinator sums them over the table's groups (one group for a REPLICATION
table), finds the catalog server's OIDs of the tables, indexes, TOAST tables and TOAST
indexes, and rewrites the statement:

- a statement over no distributed table (catalog queries: `SELECT relname,
  pg_total_relation_size(oid) FROM pg_class ...`) runs on the catalog server with each call
  looking its argument up per row (planner/sizes.rewrite);
- a statement over distributed tables runs (partly) on the datanodes, where the catalog
  server's OIDs mean nothing: each call whose arguments are constants is evaluated once on
  the catalog server and spliced in as a literal; a call whose argument varies per row is
  refused (0A000), never answered with a datanode's or the empty copy's size.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from typing import TYPE_CHECKING

from gridpg.errors import FEATURE_NOT_SUPPORTED, PgError
from gridpg.planner import sizes as plan_sizes
from gridpg.sql.quote import quote_literal

if TYPE_CHECKING:
    from gridpg.catalog.model import CatalogSnapshot
    from gridpg.executor.dispatch import Dispatcher

_FORK_SUMS = ", ".join(f"sum(pg_catalog.pg_relation_size(l.r, '{f}'))" for f in plan_sizes.FORKS)
_TOAST_SUMS = ", ".join(
    f"sum(coalesce(pg_catalog.pg_relation_size(NULLIF(lc.reltoastrelid, 0), '{f}'), 0))"
    for f in plan_sizes.FORKS)
_TOAST_INDEX_SUMS = ", ".join(
    f"sum(coalesce(pg_catalog.pg_relation_size(ti.indexrelid, '{f}'), 0))" for f in plan_sizes.FORKS)

# Per user relation on a datanode (a table or an index, named as on the catalog server):
# its leaves' forks, its leaves' pg_table_size/pg_indexes_size/pg_total_relation_size, the
# forks of the leaves' TOAST tables and of their TOAST indexes.
_DATANODE_SQL = f"""SELECT n.nspname, c.relname, tn.nspname, t.relname, {_FORK_SUMS},
  sum(pg_catalog.pg_table_size(l.r)), sum(pg_catalog.pg_indexes_size(l.r)),
  sum(pg_catalog.pg_total_relation_size(l.r)), {_TOAST_SUMS}, {_TOAST_INDEX_SUMS}
FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_catalog.pg_index ix ON ix.indexrelid = c.oid
JOIN pg_catalog.pg_class t ON t.oid = coalesce(ix.indrelid, c.oid)
JOIN pg_catalog.pg_namespace tn ON tn.oid = t.relnamespace
CROSS JOIN LATERAL (SELECT p.relid FROM pg_catalog.pg_partition_tree(c.oid) p WHERE p.isleaf
  UNION ALL SELECT c.oid WHERE NOT (c.relkind IN ('p', 'I') OR c.relispartition)) AS l(r)
JOIN pg_catalog.pg_class lc ON lc.oid = l.r
LEFT JOIN pg_catalog.pg_index ti ON lc.reltoastrelid <> 0 AND ti.indrelid = lc.reltoastrelid
WHERE c.relkind IN ('r', 'p', 'i', 'I', 'm') AND (tn.nspname, t.relname) IN ({{tables}})
GROUP BY 1, 2, 3, 4"""

# The catalog server's relations of those names: plain tables, matviews and indexes only
# (a partitioned table or index answers PostgreSQL's 0 from the catalog server itself).
_CATALOG_SQL = """SELECT c.oid, n.nspname, c.relname, c.reltoastrelid,
  (SELECT min(i.indexrelid) FROM pg_catalog.pg_index i WHERE i.indrelid = c.reltoastrelid)
FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'm', 'i') AND (n.nspname, c.relname) IN ({names})"""

Key = tuple[str, str]


async def rewrite(dispatcher: Dispatcher, sql: str, over_distributed: bool) -> str:
    """`sql` with its size-function calls answering the cluster's sizes."""
    calls = plan_sizes.find_calls(sql)
    if not calls:
        return sql
    if over_distributed and not all(c.constant for c in calls):
        varying = next(c for c in calls if not c.constant)
        raise PgError(FEATURE_NOT_SUPPORTED,
                      f"{varying.name}() of an argument that varies per row is not supported in a "
                      "statement over distributed tables",
                      detail="The catalog server holds distributed tables empty; their sizes are the "
                             "datanodes'.",
                      hint=f"Call {varying.name}() in a statement of its own, e.g. over pg_class.")
    sizes = await gather(dispatcher)
    if any(plan_sizes.FUNCTIONS[c.name][0] == "database" for c in calls):
        sizes[plan_sizes.DATABASE_KEY] = {"database": await _datanode_databases(dispatcher)}
    if any(plan_sizes.FUNCTIONS[c.name][0] == "tablespace" for c in calls):
        for oid, measures in (await _datanode_tablespaces(dispatcher)).items():
            sizes.setdefault(oid, {}).update(measures)
    if not over_distributed:
        return plan_sizes.rewrite(sql, calls, sizes)
    rows = await _catalog_query(dispatcher, plan_sizes.lookup_select(calls, sizes))
    return plan_sizes.with_values(sql, calls, list(rows[0]))


def ensure_not_in_stored_code(sql: str) -> None:
    """Refuse a function, procedure, DO block, rule or policy calling a size function: its
    statements run on the catalog server, which would measure its empty copies of the
    distributed tables and answer 0 (or the empty TOAST table's size) without an error."""
    name = plan_sizes.stored_call(sql)
    if name is not None:
        raise PgError(FEATURE_NOT_SUPPORTED,
                      f"{name}() inside a function, procedure, DO block, rule or policy is not supported by gridpg",
                      detail="Such code runs on the catalog server, which holds distributed tables empty.",
                      hint=f"Call {name}() in a statement of its own or in a view; both answer the cluster's sizes.")


async def gather(dispatcher: Dispatcher) -> dict[int, dict[str, int]]:
    """The cluster's sizes keyed by the catalog server's OID of each relation."""
    snapshot = dispatcher.runner.snapshot()
    tables = [t for t in snapshot.tables if t.groups]
    if not tables:
        return {}
    by_relation = await _datanode_sizes(dispatcher, snapshot)
    if not by_relation:
        return {}
    names = ", ".join(f"({quote_literal(s)}, {quote_literal(n)})" for s, n in sorted(by_relation))
    rows = await _catalog_query(dispatcher, _CATALOG_SQL.format(names=names))
    out: dict[int, dict[str, int]] = {}
    for oid, schema, name, toast, toast_index in rows:
        sums = by_relation.get((str(schema), str(name)))
        if sums is None or oid is None:
            continue
        out[int(oid)] = _relation_measures(sums)
        if toast not in (None, "0"):
            out[int(toast)] = _toast_measures(sums[7:11], sums[11:15])
        if toast_index is not None:
            out[int(toast_index)] = _toast_measures(sums[11:15], [0, 0, 0, 0], index=True)
    return out


async def _datanode_sizes(dispatcher: Dispatcher, snapshot: CatalogSnapshot) -> dict[Key, list[int]]:
    """Per relation (schema, name): its sizes summed over the groups that count."""
    tables = {t.key: t for t in snapshot.tables if t.groups}
    listed = ", ".join(f"({quote_literal(s)}, {quote_literal(n)})" for s, n in sorted(tables))
    sql = _DATANODE_SQL.format(tables=listed)
    groups = sorted({g for t in tables.values() for g in t.groups})
    answers = await asyncio.gather(*(_node_query(dispatcher, g, sql) for g in groups))
    sums: dict[Key, list[int]] = defaultdict(lambda: [0] * 15)
    for group, rows in zip(groups, answers, strict=True):
        for schema, name, table_schema, table_name, *values in rows:
            table = tables.get((str(table_schema), str(table_name)))
            if table is None or group not in table.groups:
                continue
            if table.method == "replication" and group != table.groups[0]:
                continue  # one copy
            total = sums[(str(schema), str(name))]
            for i, value in enumerate(values):
                total[i] += int(value or 0)
    return dict(sums)


async def _datanode_databases(dispatcher: Dispatcher) -> int:
    """The datanode groups' databases (this session's database on each primary), summed."""
    groups = [g.name for g in dispatcher.runner.snapshot().datanode_groups()]
    sql = "SELECT pg_catalog.pg_database_size(pg_catalog.current_database())"
    answers = await asyncio.gather(*(_node_query(dispatcher, g, sql) for g in groups))
    return sum(int(rows[0][0] or 0) for rows in answers if rows)


async def _datanode_tablespaces(dispatcher: Dispatcher) -> dict[int, dict[str, int]]:
    """The datanode groups' tablespaces (each primary's, by name), summed, keyed by the
    catalog server's OID of the tablespace of that name."""
    groups = [g.name for g in dispatcher.runner.snapshot().datanode_groups()]
    sql = "SELECT spcname, pg_catalog.pg_tablespace_size(oid) FROM pg_catalog.pg_tablespace"
    answers = await asyncio.gather(*(_node_query(dispatcher, g, sql) for g in groups))
    by_name: dict[str, int] = defaultdict(int)
    for rows in answers:
        for name, size in rows:
            by_name[str(name)] += int(size or 0)
    if not by_name:
        return {}
    names = ", ".join(quote_literal(n) for n in sorted(by_name))
    rows = await _catalog_query(dispatcher, "SELECT oid, spcname FROM pg_catalog.pg_tablespace "
                                f"WHERE spcname IN ({names})")
    return {int(oid): {"tablespace": by_name[str(name)], f"tablespace:{name}": by_name[str(name)]}
            for oid, name in rows if oid is not None}


def _relation_measures(sums: list[int]) -> dict[str, int]:
    measures = dict(zip(plan_sizes.FORKS, sums[0:4], strict=True))
    measures.update(table=sums[4], indexes=sums[5], total=sums[6])
    return measures


def _toast_measures(forks: list[int], index_forks: list[int], index: bool = False) -> dict[str, int]:
    """A TOAST table's (or, `index`, a TOAST index's) answers: its forks; pg_table_size is
    its forks, pg_indexes_size its index's, the total both."""
    measures = dict(zip(plan_sizes.FORKS, forks, strict=True))
    own, indexes = sum(forks), sum(index_forks)
    measures.update(table=own, indexes=0 if index else indexes, total=own + (0 if index else indexes))
    return measures


async def _node_query(dispatcher: Dispatcher, group: str, sql: str) -> list[tuple[str | None, ...]]:
    txn = dispatcher.runner.txn
    conn = await txn.connection(group, wants_block=False)
    await conn.settle()
    return await conn.query(sql)


async def _catalog_query(dispatcher: Dispatcher, sql: str) -> list[tuple[str | None, ...]]:
    """On the session's own catalog connection: it sees tables created in its transaction."""
    conn = await dispatcher.runner.txn.connection(dispatcher.coord.catalog_node, wants_block=False)
    await conn.settle()
    return await conn.query(sql)

