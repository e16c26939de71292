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

A node lists its relations grouped (`node_relation_groups_sql`): the relations that map to one
catalog relation with the same column names (a table's shards, mostly) come as one row with
their OIDs. And a node is read again only where it changed (`NodeRelations`): a reload
after DDL reads the relations whose pg_class, pg_namespace, pg_inherits or pg_attribute
rows were written by a transaction that had not ended when the last read's snapshot was
taken (at or after its xmin), and the list of OIDs (for the relations dropped since).

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

_RELATIONS = """FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_catalog.pg_inherits i ON i.inhrelid = c.oid AND n.nspname = 'gridpg_shards'
LEFT JOIN pg_catalog.pg_class p ON p.oid = i.inhparent
LEFT JOIN pg_catalog.pg_namespace pn ON pn.oid = p.relnamespace
WHERE c.oid >= 16384 AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
  AND n.nspname NOT LIKE 'pg\\_%' AND n.nspname NOT IN ('information_schema', 'gridpg')"""
_COLUMNS = """(SELECT pg_catalog.json_agg(CASE WHEN a.attisdropped THEN NULL ELSE a.attname END ORDER BY a.attnum)
   FROM pg_catalog.pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0)"""

# (oid, schema, name, parent schema, parent name, column names by number, dropped null)
RELATION_COLUMNS_SQL = f"""SELECT c.oid, n.nspname, c.relname, pn.nspname, p.relname,
  {_COLUMNS}
{_RELATIONS}"""



def node_relation_groups_sql(changed_since: int | None = None) -> str:
    """(OIDs, schema, name, column names): a node's relations by the catalog relation they
    match (a shard's parent, else the relation itself) and their column names, one row for
    all alike; with `changed_since`, only the relations changed since that xid (`_changed`)."""
    where = "" if changed_since is None else _changed(changed_since)
    return f"""SELECT pg_catalog.array_agg(r.oid ORDER BY r.oid), r.schema, r.name, r.columns
FROM (SELECT c.oid, CASE WHEN p.oid IS NULL THEN n.nspname ELSE pn.nspname END AS schema,
        CASE WHEN p.oid IS NULL THEN c.relname ELSE p.relname END AS name, {_COLUMNS}::text AS columns
      {_RELATIONS}{where}) r
GROUP BY r.schema, r.name, r.columns"""


def _changed(horizon: int) -> str:
    """The relations with a row version (of pg_class, pg_namespace, pg_inherits, their
    parent's, pg_attribute) written at or after the xid `horizon`: age() compares in the
    xid's circular order, frozen and bootstrap xids the oldest."""
    def changed(xmin: str) -> str:
        return f"pg_catalog.age({xmin}) <= pg_catalog.age('{int(horizon)}'::pg_catalog.xid)"

    return (f"\n  AND (c.oid IN (SELECT a.attrelid FROM pg_catalog.pg_attribute a WHERE {changed('a.xmin')})"
            f" OR {changed('c.xmin')} OR {changed('n.xmin')} OR {changed('i.xmin')} OR {changed('p.xmin')}"
            f" OR {changed('pn.xmin')})")


# One read of a node, in one REPEATABLE READ block (one snapshot): who the node is, the
# snapshot's xmin (32 bits: the horizon the next read compares row versions' xmin with) and
# every relation's OID; the node's types; its relations (those changed since the horizon).
_MARK_SQL = f"""SELECT (SELECT system_identifier FROM pg_catalog.pg_control_system())::text || '/'
  || pg_catalog.pg_postmaster_start_time()::text,
  (pg_catalog.pg_snapshot_xmin(pg_catalog.pg_current_snapshot())::text::int8 % 4294967296)::text,
  (SELECT pg_catalog.array_agg(c.oid) {_RELATIONS})"""
FULL_READ_EVERY = 64  # reads: a full one now and then, whatever the marks say


Row = tuple[str | None, ...]
# node relation OID -> (catalog relation OID, node column number -> catalog's; None: the same)
ColumnMap = dict[int, tuple[int, dict[int, int] | None]]


def build_column_map(catalog_rows: Iterable[Row], node_rows: Iterable[Row]) -> ColumnMap:
    """The node's relations (RELATION_COLUMNS_SQL's rows on the node) by the catalog's."""
    wanted = catalog_columns(catalog_rows)
    out: ColumnMap = {}
    for oid, schema, name, parent_schema, parent_name, columns in node_rows:
        if oid is None or schema is None or name is None:
            continue
        key = (parent_schema, parent_name) if parent_schema is not None and parent_name is not None else (schema, name)
        entry = _entry(wanted.get(key), columns)  # type: ignore[arg-type]
        if entry is not None:
            out[int(oid)] = entry
    return out


def build_grouped_column_map(wanted: CatalogColumns, node_groups: Iterable[Row]) -> ColumnMap:
    """The same map from node_relation_groups_sql's rows on the node (`wanted`: the
    catalog's `catalog_columns`, built once for every node)."""
    out: ColumnMap = {}
    for oids, schema, name, columns in node_groups:
        if oids is None or schema is None or name is None:
            continue
        entry = _entry(wanted.get((schema, name)), columns)
        if entry is not None:
            out.update(dict.fromkeys(_oids(oids), entry))
    return out


# the catalog's relations: (schema, name) -> (OID, column names by number, dropped None)
CatalogColumns = dict[tuple[str, str], tuple[int, list[str | None]]]


def catalog_columns(catalog_rows: Iterable[Row]) -> CatalogColumns:
    """RELATION_COLUMNS_SQL's rows on the catalog server, by schema and name."""
    wanted: CatalogColumns = {}
    for oid, schema, name, _ps, _pn, columns in catalog_rows:
        if oid is not None and schema is not None and name is not None:
            wanted[(schema, name)] = (int(oid), _names(columns))
    return wanted


def _entry(found: tuple[int, list[str | None]] | None, columns: str | None) -> tuple[int, dict[int, int] | None] | None:
    """A node relation's entry: the catalog relation `found` and, where the column numbers
    differ (dropped columns on one side only), the node's number -> the catalog's."""
    if found is None:
        return None
    catalog_oid, catalog_names = found
    node_names = _names(columns)
    if node_names == catalog_names:
        return (catalog_oid, None)
    numbers = {n: i for i, n in enumerate(catalog_names, 1) if n is not None}
    return (catalog_oid, {i: numbers.get(n, 0) for i, n in enumerate(node_names, 1) if n is not None})


def _names(columns: str | None) -> list[str | None]:
    return list(json.loads(columns)) if columns else []


class NodeRelations:
    """One node's relations as the reads so far left them: OID -> the schema and name of
    the catalog relation it matches (a shard's parent) and its column names (JSON text).

    `read_sql` reads what changed since the last read (everything at the first, after
    FULL_READ_EVERY reads, and when the node is another server or restarted or its
    snapshot went back: `apply` answers False, and the caller reads again in full)."""

    def __init__(self) -> None:
        self.identity: tuple[str, ...] | None = None
        self.horizon: int | None = None  # xmin of the last read's snapshot (32 bits)
        self.relations: dict[int, tuple[str, str, str | None]] = {}
        self.reads = 0

    def is_full_read_due(self) -> bool:
        return self.horizon is None or self.reads % FULL_READ_EVERY == 0

    def read_sql(self, full: bool) -> str:
        """One simple-query text, results [BEGIN, mark, TYPE_OIDS_SQL's, groups, COMMIT]:
        every relation (`full`), or those changed since the last read's horizon."""
        groups = node_relation_groups_sql(None if full else self.horizon)
        return (f"BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY; {_MARK_SQL}; {TYPE_OIDS_SQL}; "
                f"{groups}; COMMIT")

    def apply(self, full: bool, address: tuple[str, ...], mark: Row, groups: Iterable[Row]) -> bool:
        """Take in a read of `read_sql(full)`; False: a partial read that cannot be trusted
        (another server, a restart, a snapshot older than the last one): read in full."""
        identity = (*address, str(mark[0]))
        horizon = int(mark[1] or 0)
        if not full and (identity != self.identity or self.horizon is None
                         or (horizon - self.horizon) % 4294967296 >= 2147483648):
            return False
        if full:
            self.relations = {}
        else:
            present = set(_oids(mark[2]))
            for oid in [o for o in self.relations if o not in present]:
                del self.relations[oid]
        for oids, schema, name, columns in groups:
            if oids is not None and schema is not None and name is not None:
                self.relations.update(dict.fromkeys(_oids(oids), (schema, name, columns)))
        self.identity, self.horizon = identity, horizon
        self.reads += 1
        return True

    def column_map(self, wanted: CatalogColumns) -> ColumnMap:
        """The node's column map against the catalog's relations (`catalog_columns`)."""
        alike: dict[tuple[str, str, str | None], list[int]] = {}
        for oid, key in self.relations.items():
            alike.setdefault(key, []).append(oid)
        out: ColumnMap = {}
        for (schema, name, columns), oids in alike.items():
            entry = _entry(wanted.get((schema, name)), columns)
            if entry is not None:
                out.update(dict.fromkeys(oids, entry))
        return out


def _oids(text: str | None) -> list[int]:
    """The OIDs of an `oid[]` in text form."""
    inner = (text or "").strip("{}")
    return [int(o) for o in inner.split(",")] if inner else []
