"""CLUSTER and REINDEX on the cluster: PostgreSQL's rules for where they may run, the same
work on every datanode, `pg_index.indisclustered` on the catalog servers.

PostgreSQL (cluster.c, indexcmds.c) runs `CLUSTER table [USING index]`, `REINDEX TABLE`
and `REINDEX INDEX` of a plain table in one transaction, inside a block too; a bare
`CLUSTER` (every table with a clustered index), `REINDEX SCHEMA/DATABASE/SYSTEM` and
either statement on a partitioned table or index run a transaction per table, so never
inside a block (25001). The user's relation decides which case applies, as it stands on
the catalog server (the session's connection: its search_path, its block):

- a plain table or its index: the statement runs as DDL in the session's distributed
  transaction, on every catalog server as written (PostgreSQL's errors: no such relation,
  no previously clustered index) and on the table's datanodes; a HASH table's datanodes
  work shard by shard (planner/leafwise.py), CLUSTER with the index the statement names
  or the one the catalog server has marked; other tables run the text as written;
- a bare CLUSTER, a REINDEX of many tables, or a partitioned relation outside a block:
  node by node on autocommit connections, as VACUUM runs (the datanodes' bare CLUSTER
  finds the shards marked);
- a partitioned relation inside a block: on the catalog server in the block, which refuses
  it with PostgreSQL's error in PostgreSQL's order.

After them, the tables' relpages/reltuples are the cluster's (commands/relstats.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gridpg.planner import leafwise
from gridpg.sql.quote import quote_literal, quote_qualified

if TYPE_CHECKING:
    from gridpg.catalog.model import DistTable
    from gridpg.commands.ddl import DdlRunner
    from gridpg.executor.dispatch import ExecRequest

_PARTITIONED = ("p", "I")


async def run_cluster(ddl: DdlRunner, request: ExecRequest, tree: dict[str, Any], groups: list[str]) -> None:
    """Run a CLUSTER statement by PostgreSQL's rules (see the module docstring)."""
    body = tree["ClusterStmt"]
    if not body.get("relation"):
        await ddl.propagate(request, "ClusterStmt", ddl.all_groups(), non_transactional=True)
        return
    found = await _on_catalog(ddl, body["relation"])
    if found is None:  # the catalog server says what is wrong
        await ddl.propagate(request, "ClusterStmt", groups)
        return
    relkind, table, marked = found
    if relkind in _PARTITIONED:
        await ddl.propagate(request, "ClusterStmt", groups, non_transactional=not ddl.runner.txn.in_block)
        return
    index = body.get("indexname") or marked
    group_sql = None
    if table is not None and table.method == "hash" and index:
        text = leafwise.cluster_leaves(table.schema, index)
        group_sql = {group: text for group in table.groups}
    await ddl.propagate(request, "ClusterStmt", list(table.groups) if table else groups, group_sql=group_sql)


async def run_reindex(ddl: DdlRunner, request: ExecRequest, tree: dict[str, Any], groups: list[str]) -> None:
    """Run a (not CONCURRENTLY) REINDEX statement by PostgreSQL's rules."""
    body = tree["ReindexStmt"]
    of_index = body.get("kind") == "REINDEX_OBJECT_INDEX"
    if body.get("kind") not in ("REINDEX_OBJECT_TABLE", "REINDEX_OBJECT_INDEX"):
        await ddl.propagate(request, "ReindexStmt", groups, non_transactional=True)
        return
    found = await _on_catalog(ddl, body["relation"])
    if found is None:
        await ddl.propagate(request, "ReindexStmt", groups)
        return
    relkind, table, _ = found
    if relkind in _PARTITIONED:
        await ddl.propagate(request, "ReindexStmt", groups, non_transactional=not ddl.runner.txn.in_block)
        return
    if table is None and not ddl.runner.txn.in_block and await _is_system_relation(ddl, body["relation"]):
        # Each server's own catalog (reindex_catalog.sql): in the distributed transaction,
        # PREPARE TRANSACTION refuses a mapped catalog (pg_class, shared catalogs: 0A000)
        await ddl.propagate(request, "ReindexStmt", groups, non_transactional=True)
        return
    group_sql = None
    if table is not None and table.method == "hash":
        name = body["relation"]["relname"] if of_index else table.name
        text = leafwise.reindex_leaves(request.sql, table.schema, name, of_index)
        group_sql = {group: text for group in table.groups}
    await ddl.propagate(request, "ReindexStmt", list(table.groups) if table else groups, group_sql=group_sql)


async def _is_system_relation(ddl: DdlRunner, relation: dict[str, Any]) -> bool:
    """Whether the relation (or its index's table) is one of PostgreSQL's own catalogs."""
    conn = await ddl.runner.txn.connection(ddl.coord.catalog_node, wants_block=False)
    name = quote_qualified(relation.get("schemaname"), relation["relname"])
    rows = await conn.query(
        "SELECT n.nspname IN ('pg_catalog', 'pg_toast') FROM pg_catalog.pg_class r "
        "JOIN pg_catalog.pg_namespace n ON n.oid = r.relnamespace "
        f"WHERE r.oid = pg_catalog.to_regclass({quote_literal(name)})")
    return bool(rows) and rows[0][0] == "t"


async def _on_catalog(ddl: DdlRunner, relation: dict[str, Any]) -> tuple[str, DistTable | None, str | None] | None:
    """The relation's relkind on the session's catalog server, its table (the distributed
    table, or the one an index belongs to; None for a table on the catalog servers alone)
    and the name of the table's index marked clustered. None when there is no such relation."""
    conn = await ddl.runner.txn.connection(ddl.coord.catalog_node, wants_block=False)
    await conn.settle()
    name = quote_qualified(relation.get("schemaname"), relation["relname"])
    rows = await conn.query(
        "SELECT r.relkind, tn.nspname, t.relname, (SELECT ic.relname FROM pg_catalog.pg_index i "
        "JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid WHERE i.indrelid = t.oid AND i.indisclustered) "
        "FROM pg_catalog.pg_class r LEFT JOIN pg_catalog.pg_index x ON x.indexrelid = r.oid "
        "JOIN pg_catalog.pg_class t ON t.oid = coalesce(x.indrelid, r.oid) "
        "JOIN pg_catalog.pg_namespace tn ON tn.oid = t.relnamespace "
        f"WHERE r.oid = pg_catalog.to_regclass({quote_literal(name)})")
    if not rows:
        return None
    relkind, schema, table, marked = rows[0]
    return str(relkind), ddl.snapshot.table(str(schema), str(table)), marked
