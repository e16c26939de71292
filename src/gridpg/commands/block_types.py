"""Type OIDs of types a transaction block created, mapped before the block commits.

A datanode's RowDescription names types by the node's OIDs; the coordinator rewrites them
to the catalog server's (the node's `type_map`, read after every catalog epoch by
`Coordinator.ensure_node_maps`). A type created in the open block (CREATE TYPE, a table's
row type) is in no map until the block commits and the epoch moves: `SELECT col FROM t`
in that block described the column with the datanode's OID, which names nothing (or
another type) for the client (psycopg returned a registered composite as a string).

After DDL in a block, the types the block created on each datanode it holds are read on
the block's own connection there (uncommitted, visible to it alone), matched by schema
and name with the block's catalog connection, and added to the node's map. The OIDs are
the block's own: no other transaction's rows carry them, and if the block rolls back
they name nothing anywhere; the next epoch's reload rebuilds the map.

Relations likewise (`map_block_relations`, h-silent28): a RowDescription relayed from a
datanode names a column's table by the node's OID (a shard's), which the node's column
map turns into the catalog server's; a table created in the open block was in no map, so
psycopg's `pgresult.ftable()` (pgjdbc's getTableName) read 0 for its columns until the
block committed, where PostgreSQL gives the table's OID.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

from gridpg.catalog import relation_oids
from gridpg.errors import PgError
from gridpg.sql.quote import quote_literal

if TYPE_CHECKING:
    from gridpg.frontend.coordinator import Coordinator
    from gridpg.txn.transaction import DistributedTransaction, Participant

# Types whose row was written by this transaction or a later one (a subtransaction's xid
# is above its top transaction's): the types the nodes' maps hold, of this block.
_BLOCK_TYPES_SQL = relation_oids.TYPE_OIDS_SQL + """
  AND t.xmin::text::int8 >= pg_catalog.txid_current() % 4294967296"""


async def _datanodes_of(coord: Coordinator, txn: DistributedTransaction) -> AsyncIterator[tuple[str, Participant]]:
    """The block's datanode participants (node, participant), each node's maps read first
    (a later read would drop what is added to them)."""
    for node, part in list(txn.participants.items()):
        if node in coord.datanode_addresses:
            await txn.pools.ensure_maps(node)
            yield node, part


async def map_block_types(coord: Coordinator, txn: DistributedTransaction) -> None:
    """Add the types this block created on its datanodes to those nodes' type maps."""
    catalog = txn.participants.get(coord.catalog_node)
    if catalog is None:
        return
    async for node, part in _datanodes_of(coord, txn):
        type_map = part.conn.type_map
        try:
            rows = await part.conn.query(_BLOCK_TYPES_SQL)
            created = [(int(str(oid)), str(schema), str(name)) for oid, schema, name in rows
                       if int(str(oid)) not in type_map]
            if not created:
                continue
            names = ", ".join(f"({quote_literal(s)}, {quote_literal(n)})" for _, s, n in created)
            found = await catalog.conn.query(
                "SELECT n.nspname, t.typname, t.oid FROM pg_catalog.pg_type t "
                "JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace "
                f"WHERE (n.nspname, t.typname) IN (VALUES {names})")
        except PgError:
            return  # (the maps stay as they were: the block's next statement reports its state)
        by_name = {(str(s), str(n)): int(str(o)) for s, n, o in found}
        for oid, schema, name in created:
            mapped = by_name.get((schema, name))
            if mapped is not None and mapped != oid:
                type_map[oid] = mapped
                txn.block_types.setdefault(node, {})[oid] = mapped


async def map_block_relations(coord: Coordinator, txn: DistributedTransaction) -> None:
    """Add the relations this block created or changed on its datanodes (a table's shards
    by their parent) to those nodes' column maps, as the catalog server names them in the
    block (module docstring)."""
    catalog = txn.participants.get(coord.catalog_node)
    if catalog is None:
        return
    async for node, part in _datanodes_of(coord, txn):
        try:
            xid = (await part.conn.query("SELECT (pg_catalog.txid_current() % 4294967296)::text"))[0][0]
            groups = await part.conn.query(relation_oids.node_relation_groups_sql(int(str(xid))))
            if not groups:
                continue
            names = ", ".join(f"({quote_literal(str(s))}, {quote_literal(str(n))})" for _, s, n, _ in groups)
            found = await catalog.conn.query(
                f"{relation_oids.RELATION_COLUMNS_SQL}\n  AND (n.nspname, c.relname) IN (VALUES {names})")
        except PgError:
            return  # (the maps stay as they were: the block's next statement reports its state)
        mapped = relation_oids.build_grouped_column_map(relation_oids.catalog_columns(found), groups)
        txn.pools.column_maps.setdefault(node, {}).update(mapped)
        txn.block_relations.setdefault(node, {}).update(mapped)
