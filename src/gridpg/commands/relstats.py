"""`pg_class.relpages` and `reltuples` of distributed tables and their indexes on the
catalog servers: the cluster's, summed from the datanodes, as Postgres-XL's coordinator
records its datanodes' statistics.

The catalog server holds a distributed table empty, so whatever PostgreSQL there computes
for it is the empty copy's: its ANALYZE and VACUUM set 0 pages and 0 tuples, its CREATE
INDEX, REINDEX and CLUSTER count the empty heap (0 tuples, where PostgreSQL counts the
table's rows). After each of these statements the coordinator reads, on every datanode
group holding a table, its leaves' numbers as PostgreSQL left them (a HASH table's parent
is partitioned there, its shards are the leaves), sums them over the groups (one copy of a
REPLICATION table) and writes them into `pg_class` on every catalog server.

Two ways to write, as the statement ran:
- `publish_after_maintenance`: VACUUM, ANALYZE and REINDEX outside a transaction block ran
  node by node and committed; the numbers are read and written on connections of their own.
- `publish_in_transaction`: CREATE INDEX, REINDEX and CLUSTER inside the session's
  distributed transaction (CLUSTER's new numbers are transactional: only the transaction's
  own connections see them); they are written in it, on every catalog server, and commit
  or roll back with the statement.

A partitioned table keeps relpages 0 (no storage), as in PostgreSQL; reltuples stays -1
("never counted") while no leaf was counted.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from gridpg.errors import PgError
from gridpg.sql.quote import quote_ident, quote_literal

if TYPE_CHECKING:
    from gridpg.catalog.model import CatalogSnapshot, DistTable
    from gridpg.commands.ddl import DdlRunner
    from gridpg.datanode.connection import BackendConnection
    from gridpg.executor.dispatch import Dispatcher
    from gridpg.frontend.coordinator import Coordinator

Key = tuple[str, str]
log = logging.getLogger("gridpg.relstats")

# Statements after which PostgreSQL has counted a table's rows (besides VACUUM/ANALYZE).
REBUILDING = frozenset({"IndexStmt", "ReindexStmt", "ClusterStmt"})

# Per distributed table on a datanode, for the table itself (index "") and each of its
# indexes: the leaves' relpages and reltuples summed, and whether any leaf was counted.
_RELSTATS_SQL = """SELECT tn.nspname, t.relname, CASE WHEN r.oid = t.oid THEN '' ELSE r.relname END,
  coalesce(sum(lc.relpages), 0), coalesce(sum(greatest(lc.reltuples, 0)), 0), bool_or(lc.reltuples >= 0)
FROM pg_catalog.pg_class t JOIN pg_catalog.pg_namespace tn ON tn.oid = t.relnamespace
CROSS JOIN LATERAL (SELECT t.oid UNION ALL
  SELECT i.indexrelid FROM pg_catalog.pg_index i WHERE i.indrelid = t.oid) AS rr(oid)
JOIN pg_catalog.pg_class r ON r.oid = rr.oid
CROSS JOIN LATERAL (SELECT p.relid FROM pg_catalog.pg_partition_tree(r.oid) p WHERE p.isleaf
  UNION ALL SELECT r.oid WHERE NOT (r.relkind IN ('p', 'I') OR r.relispartition)) AS l(r)
JOIN pg_catalog.pg_class lc ON lc.oid = l.r
WHERE t.relkind IN ('r', 'p', 'm') AND (tn.nspname, t.relname) IN ({tables})
GROUP BY 1, 2, 3"""

Stats = dict[tuple[str, str, str], list[Any]]  # (schema, table, index or "") -> [pages, tuples, counted]


async def publish_after_maintenance(dispatcher: Dispatcher, tree: dict[str, Any]) -> None:
    """After VACUUM/ANALYZE/REINDEX, each node's work committed: read the datanodes and
    write every catalog server on connections of their own (another coordinator's catalog
    server that cannot be reached catches up with its own next ANALYZE)."""
    tables = await maintained_tables(dispatcher, tree)
    if not tables:
        return
    coord = dispatcher.coord
    sql = _relstats_sql(tables)
    groups = sorted({g for t in tables for g in t.groups})
    answers = await asyncio.gather(*(_internal_query(coord, g, sql) for g in groups))
    updates = _updates(_sum_groups(dispatcher.runner.snapshot(), groups, answers))
    if not updates:
        return
    await _internal_query(coord, coord.catalog_node, updates)
    for address in coord.other_catalogs:
        try:
            await _internal_query(coord, address.name, updates)
        except (PgError, OSError) as exc:
            log.warning("could not record relpages/reltuples on catalog server %s: %s", address.name, exc)


async def publish_in_transaction(ddl: DdlRunner, tree: dict[str, Any]) -> None:
    """After CREATE INDEX / REINDEX / CLUSTER ran in the session's transaction: read the
    datanodes on its own connections and write every catalog server in it."""
    from gridpg.commands.ddl import as_cluster_owner

    # (the partitions are looked up on the session's own catalog connection: the statement
    # may hold a lock on them there that another connection's lookup would wait for)
    catalog = await ddl.conn(ddl.coord.catalog_node)
    tables = await maintained_tables(ddl.dispatcher, tree, catalog)
    if not tables:
        return
    sql = _relstats_sql(tables)
    groups = sorted({g for t in tables for g in t.groups})
    answers = [await (await ddl.conn(group)).query(sql) for group in groups]
    updates = _updates(_sum_groups(ddl.snapshot, groups, answers))
    if not updates:
        return
    await ddl.on_catalog_servers(as_cluster_owner(updates))


async def maintained_tables(dispatcher: Dispatcher, tree: dict[str, Any],
                            catalog: BackendConnection | None = None) -> list[DistTable]:
    """The distributed tables a VACUUM, ANALYZE, REINDEX, CLUSTER or CREATE INDEX reaches,
    with their partitions (PostgreSQL's maintenance of a partitioned table reaches them),
    looked up on `catalog` (else a connection of their own)."""
    from gridpg.executor.run import catalog_view, search_path
    from gridpg.planner.analyze import RelRef

    snapshot = dispatcher.runner.snapshot()
    every = [t for t in snapshot.tables if t.groups]
    kind, body = next(iter(tree.items()))
    if kind == "ReindexStmt" and body.get("kind") == "REINDEX_OBJECT_INDEX":
        rels = await _tables_of_index(dispatcher, body["relation"])
    elif kind == "ReindexStmt" and body.get("kind") == "REINDEX_OBJECT_SCHEMA":
        return [t for t in every if t.schema == body.get("name")]
    elif kind == "ReindexStmt" and body.get("kind") != "REINDEX_OBJECT_TABLE":
        return every if body.get("kind") == "REINDEX_OBJECT_DATABASE" else []
    elif kind == "VacuumStmt":
        rels = [r["VacuumRelation"]["relation"] for r in body.get("rels") or []]
        if not rels:
            return every
    elif kind == "ClusterStmt" and not body.get("relation"):
        return every
    else:
        rels = [body["relation"]] if body.get("relation") else []
    view, path = catalog_view(dispatcher), search_path(dispatcher)
    found = [view.resolve(RelRef(r.get("schemaname"), r["relname"], 0, None), path) for r in rels]
    named = [t for t in found if t is not None and t.groups]
    if not named:
        return []
    listed = ", ".join(quote_literal(_qualified(t.key)) for t in named)
    members_sql = (
        "SELECT DISTINCT n.nspname, c.relname FROM unnest(ARRAY[" + listed + "]) AS u(name) "
        "CROSS JOIN LATERAL pg_catalog.pg_partition_tree(pg_catalog.to_regclass(u.name)) p "
        "JOIN pg_catalog.pg_class c ON c.oid = p.relid "
        "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace")
    if catalog is not None:
        rows = await catalog.query(members_sql)
    else:
        rows = await _internal_query(dispatcher.coord, dispatcher.coord.catalog_node, members_sql)
    members = [snapshot.table(str(schema), str(name)) for schema, name in rows]
    out = {t.key: t for t in named}
    out.update((t.key, t) for t in members if t is not None and t.groups)
    return list(out.values())


async def _tables_of_index(dispatcher: Dispatcher, relation: dict[str, Any]) -> list[dict[str, Any]]:
    """REINDEX INDEX: the index's table, looked up on the session's catalog connection
    (its search_path names the index)."""
    name = (quote_ident(relation["schemaname"]) + "." if relation.get("schemaname") else "") \
        + quote_ident(relation["relname"])
    conn = await dispatcher.runner.txn.connection(dispatcher.coord.catalog_node, wants_block=False)
    await conn.settle()
    rows = await conn.query(
        "SELECT n.nspname, c.relname FROM pg_catalog.pg_index i JOIN pg_catalog.pg_class c ON c.oid = i.indrelid "
        "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
        f"WHERE i.indexrelid = pg_catalog.to_regclass({quote_literal(name)})")
    return [{"schemaname": schema, "relname": table} for schema, table in rows]


def _relstats_sql(tables: list[DistTable]) -> str:
    listed = ", ".join(f"({quote_literal(t.schema)}, {quote_literal(t.name)})" for t in tables)
    return _RELSTATS_SQL.format(tables=listed)


def _sum_groups(snapshot: CatalogSnapshot, groups: list[str], answers: list[Any]) -> Stats:
    """Each relation's numbers summed over the groups that hold its table (the first group
    only for a REPLICATION table: every group holds all of it)."""
    stats: Stats = {}
    for group, rows in zip(groups, answers, strict=True):
        for schema, name, index, pages, tuples, counted in rows:
            table = snapshot.table(str(schema), str(name))
            if table is None or group not in table.groups or \
                    (table.method == "replication" and group != table.groups[0]):
                continue
            total = stats.setdefault((str(schema), str(name), str(index or "")), [0, 0.0, False])
            total[0] += int(pages or 0)
            total[1] += float(tuples or 0)
            total[2] = total[2] or counted == "t"
    return stats


def _updates(stats: Stats) -> str:
    """The UPDATEs of pg_class on a catalog server: a table by its name, an index by its
    name among that table's indexes (a relation of the same name elsewhere is left alone;
    a partitioned index keeps PostgreSQL's own numbers, as it has no storage)."""
    out = []
    for (schema, name, index), (pages, tuples, counted) in sorted(stats.items()):
        table = f"pg_catalog.to_regclass({quote_literal(_qualified((schema, name)))})"
        target = table if not index else (
            "(SELECT i.indexrelid FROM pg_catalog.pg_index i WHERE i.indrelid = " + table
            + f" AND i.indexrelid = pg_catalog.to_regclass({quote_literal(_qualified((schema, index)))}))")
        out.append("UPDATE pg_catalog.pg_class SET "
                   f"relpages = CASE WHEN relkind IN ('p', 'I') THEN 0 ELSE {int(pages)} END, "
                   f"reltuples = {float(tuples) if counted else -1.0} WHERE oid = {target}"
                   + (" AND relkind = 'i'" if index else ""))
    return ";\n".join(out)


def _qualified(key: Key) -> str:
    return f"{quote_ident(key[0])}.{quote_ident(key[1])}"


async def _internal_query(coord: Coordinator, node: str, sql: str) -> list[tuple[str | None, ...]]:
    conn = await coord.internal_acquire(node)
    try:
        return await conn.query(sql)
    finally:
        coord.pools.pool(node).release(conn)
