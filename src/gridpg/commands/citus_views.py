"""Citus's `citus_tables` and `citus_shards` views, for users who migrate from Citus.

A statement that reads `citus_tables` or `citus_shards` (unqualified, or in schema
`citus`/`pg_catalog`) reads, in its place, a subquery over gridpg's metadata
(`gridpg.dist_table`, `gridpg.shard`, `gridpg.node`) joined with the sizes the datanodes
report now, spliced in by the coordinator (the catalog server holds the tables empty).
Columns, names and types are Citus's:

  citus_tables: table_name regclass, citus_table_type text, distribution_column text,
                colocation_id int, table_size text, shard_count int, table_owner name,
                access_method name
  citus_shards: table_name regclass, shardid bigint, shard_name text, citus_table_type text,
                colocation_id int, nodename text, nodeport int, shard_size bigint

Shards of a HASH table are the partitions `gridpg_shards."<schema>.<table>_<remainder>"`.
gridpg's kinds map to Citus's: HASH is 'distributed', REPLICATION 'reference'; XL's
MODULO and ROUNDROBIN tables are 'distributed' too, one shard per datanode group (their
distribution column '<none>' for ROUNDROBIN). A shard id is the table's colocation-free
number `hashtext(schema.table)` shifted left by 16 plus the shard's remainder (or the
group's position; a reference table is one shard placed on every group, as in Citus).
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from gridpg.errors import PgError
from gridpg.planner.text import splice
from gridpg.sql import parse as sqlparse
from gridpg.sql.quote import quote_literal

if TYPE_CHECKING:
    from gridpg.frontend.coordinator import Coordinator

VIEWS = ("citus_tables", "citus_shards")

_SIZES_SQL = (
    "SELECT n.nspname, c.relname, pn.nspname, p.relname, pg_catalog.pg_total_relation_size(c.oid) "
    "FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
    "LEFT JOIN pg_catalog.pg_inherits i ON i.inhrelid = c.oid "
    "LEFT JOIN pg_catalog.pg_class p ON p.oid = i.inhparent "
    "LEFT JOIN pg_catalog.pg_namespace pn ON pn.oid = p.relnamespace "
    "WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema')"
)

_TYPE = "CASE t.method WHEN 'replication' THEN 'reference' ELSE 'distributed' END"

_TABLES = """(SELECT c.oid::regclass AS table_name, {type} AS citus_table_type,
  coalesce(t.dist_column, '<none>') AS distribution_column, coalesce(t.colocation_id, 0) AS colocation_id,
  pg_catalog.pg_size_pretty(coalesce((SELECT sum(s.bytes) FROM {sizes} WHERE (s.schema_name = t.schema_name
     AND s.table_name = t.table_name OR s.parent_schema = t.schema_name AND s.parent = t.table_name
     ) AND (t.method <> 'replication' OR s.grp = t.groups[1])), 0)::bigint) AS table_size,
  (CASE WHEN t.method = 'replication' THEN 1 ELSE coalesce(t.shard_count, cardinality(t.groups)) END)::int
     AS shard_count,
  pg_catalog.pg_get_userbyid(c.relowner) AS table_owner, coalesce(am.amname, 'heap')::name AS access_method
 FROM gridpg.dist_table t
 JOIN pg_catalog.pg_namespace ns ON ns.nspname = t.schema_name
 JOIN pg_catalog.pg_class c ON c.relnamespace = ns.oid AND c.relname = t.table_name
 LEFT JOIN pg_catalog.pg_am am ON am.oid = c.relam)"""

_SHARDS = """(SELECT c.oid::regclass AS table_name,
  ((pg_catalog.hashtext(t.schema_name || '.' || t.table_name)::bigint << 16) + p.num) AS shardid,
  p.shard_name AS shard_name, {type} AS citus_table_type, coalesce(t.colocation_id, 0) AS colocation_id,
  nd.host AS nodename, nd.port AS nodeport,
  (SELECT sum(s.bytes) FROM {sizes} WHERE s.grp = p.grp AND s.schema_name = p.size_schema
     AND s.table_name = p.size_table)::bigint AS shard_size
 FROM gridpg.dist_table t
 JOIN pg_catalog.pg_namespace ns ON ns.nspname = t.schema_name
 JOIN pg_catalog.pg_class c ON c.relnamespace = ns.oid AND c.relname = t.table_name
 CROSS JOIN LATERAL (
   SELECT sh.remainder AS num, sh.datanode_group AS grp, 'gridpg_shards' AS size_schema,
          t.schema_name || '.' || t.table_name || '_' || sh.remainder AS size_table,
          'gridpg_shards.' || pg_catalog.quote_ident(t.schema_name || '.' || t.table_name || '_' || sh.remainder)
             AS shard_name
     FROM gridpg.shard sh WHERE sh.schema_name = t.schema_name AND sh.table_name = t.table_name
   UNION ALL
   SELECT (CASE WHEN t.method = 'replication' THEN 0 ELSE g.i - 1 END)::int, g.grp, t.schema_name, t.table_name,
          pg_catalog.quote_ident(t.schema_name) || '.' || pg_catalog.quote_ident(t.table_name)
     FROM unnest(t.groups) WITH ORDINALITY AS g(grp, i) WHERE t.method <> 'hash') p
 LEFT JOIN gridpg.node nd ON nd.datanode_group = p.grp AND nd.role = 'primary')"""


def reads_views(sql: str) -> bool:
    lowered = sql.lower()
    return "citus_tables" in lowered or "citus_shards" in lowered


async def rewrite(coord: Coordinator, sql: str, txn: Any = None) -> str:
    """`sql` with each reference to a Citus view replaced by the subquery that answers it.
    `txn`: the session's transaction; the nodes already in its block are asked through it
    (another connection would wait for the locks the block holds, e.g. after its
    alter_distributed_table, and see the table as it was)."""
    from gridpg.planner import analyze

    try:
        tree = sqlparse.parse_tree(sql)
    except PgError:
        return sql
    refs = [n["RangeVar"] for n in analyze._walk(tree) if isinstance(n, dict) and "RangeVar" in n
            and n["RangeVar"].get("relname") in VIEWS
            and n["RangeVar"].get("schemaname") in (None, "citus", "pg_catalog")]
    if not refs:
        return sql
    sizes = await _sizes(coord, txn)
    toks = sqlparse.tokens(sql)
    replacements = []
    for ref in refs:
        view = ref["relname"]
        start = int(ref.get("location", 0))
        name_tok = next(t for t in toks if t.start >= start and sql[t.start : t.end + 1].lower() == view)
        body = (_TABLES if view == "citus_tables" else _SHARDS).format(type=_TYPE, sizes=sizes)
        replacements.append((start, name_tok.end + 1, body if ref.get("alias") else f"{body} AS {view}"))
    return splice(sql, replacements)


async def _sizes(coord: Coordinator, txn: Any = None) -> str:
    """A VALUES list of (group, schema, table, parent, bytes) of every table on every datanode."""
    async def one(group: str) -> list[str]:
        if txn is not None and txn.in_block and group in txn.participants:
            rows = await (await txn.connection(group, wants_block=True)).query(_SIZES_SQL)
        else:
            conn = await coord.internal_acquire(group)
            try:
                rows = await conn.query(_SIZES_SQL)
            finally:
                coord.pools.pool(group).release(conn)
        out = []
        for schema, table, parent_schema, parent, size in rows:
            texts = [group, schema, table, parent_schema, parent]
            out.append("(" + ", ".join(quote_literal(str(v)) if v is not None else "NULL" for v in texts)
                       + f", {int(size or 0)})")
        return out

    rows: list[str] = []
    for part in await asyncio.gather(*(one(g) for g in coord.datanode_addresses)):
        rows += part
    values = ", ".join(rows) or "(NULL, NULL, NULL, NULL, NULL, 0)"
    return f"(VALUES {values}) AS s(grp, schema_name, table_name, parent_schema, parent, bytes)"
