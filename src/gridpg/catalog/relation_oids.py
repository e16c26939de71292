"""Relation OIDs in the RowDescriptions a datanode sends: the node's -> the catalog server's.

A RowDescription names each column's table by OID and column number. A datanode's answer
names its own relations (a shard of `gridpg_shards`, or its copy of a replicated table),
whose OIDs mean nothing on the catalog server, where clients look them up: pgjdbc's
`ResultSetMetaData.getTableName`/`isNullable`/`isAutoIncrement` and its updatable result
sets read `pg_class`/`pg_attribute` by them. Relayed through the simple protocol, they
found nothing, or a catalog relation that happened to have the node's OID. Here each
node's relations are matched to the catalog server's by schema and name (a shard by its
parent table), the column numbers by column name; a node OID of a user relation that
matches none (a scratch table) becomes 0, as PostgreSQL says of a computed column.

Owns: the SQL that lists relations and their columns (and the types the nodes' type maps
match the same way, TYPE_OIDS_SQL), and building the map from its rows.
Must not: do I/O (the coordinator runs the SQL at each catalog reload).
"""

from __future__ import annotations

import json
from collections.abc import Iterable

# Types clients may look up by OID: user and extension types (enums, domains, composites,
# base types, their arrays), not the row types of tables and views (nor their arrays).
TYPE_OIDS_SQL = """SELECT t.oid, n.nspname, t.typname FROM pg_catalog.pg_type t
JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
LEFT JOIN pg_catalog.pg_type e ON e.oid = t.typelem AND e.typarray = t.oid
WHERE t.oid >= 16384 AND n.nspname NOT LIKE 'pg\\_t%' AND n.nspname <> 'gridpg_shards'
  AND coalesce((SELECT c.relkind FROM pg_catalog.pg_class c
                WHERE c.oid = coalesce(nullif(t.typrelid, 0), e.typrelid)), 'c') = 'c'"""

# (oid, schema, name, parent schema, parent name, column names by number, dropped null)
RELATION_COLUMNS_SQL = """SELECT c.oid, n.nspname, c.relname, pn.nspname, p.relname,
  (SELECT pg_catalog.json_agg(CASE WHEN a.attisdropped THEN NULL ELSE a.attname END ORDER BY a.attnum)
   FROM pg_catalog.pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0)
FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_catalog.pg_inherits i ON i.inhrelid = c.oid AND n.nspname = 'gridpg_shards'
LEFT JOIN pg_catalog.pg_class p ON p.oid = i.inhparent
LEFT JOIN pg_catalog.pg_namespace pn ON pn.oid = p.relnamespace
WHERE c.oid >= 16384 AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
  AND n.nspname NOT LIKE 'pg\\_%' AND n.nspname NOT IN ('information_schema', 'gridpg')"""

Row = tuple[str | None, ...]
# node relation OID -> (catalog relation OID, node column number -> catalog's; None: the same)
ColumnMap = dict[int, tuple[int, dict[int, int] | None]]


def build_column_map(catalog_rows: Iterable[Row], node_rows: Iterable[Row]) -> ColumnMap:
    """The node's relations (RELATION_COLUMNS_SQL's rows on the node) by the catalog's."""
    wanted: dict[tuple[str, str], tuple[int, list[str | None]]] = {}
    for oid, schema, name, _ps, _pn, columns in catalog_rows:
        if oid is not None and schema is not None and name is not None:
            wanted[(schema, name)] = (int(oid), _names(columns))
    out: ColumnMap = {}
    for oid, schema, name, parent_schema, parent_name, columns in node_rows:
        if oid is None or schema is None or name is None:
            continue
        key = (parent_schema, parent_name) if parent_schema is not None and parent_name is not None else (schema, name)
        found = wanted.get(key)  # type: ignore[arg-type]
        if found is None:
            continue
        catalog_oid, catalog_names = found
        node_names = _names(columns)
        if node_names == catalog_names:
            out[int(oid)] = (catalog_oid, None)
            continue
        numbers = {n: i for i, n in enumerate(catalog_names, 1) if n is not None}
        out[int(oid)] = (catalog_oid, {i: numbers.get(n, 0) for i, n in enumerate(node_names, 1) if n is not None})
    return out


def _names(columns: str | None) -> list[str | None]:
    return list(json.loads(columns)) if columns else []
