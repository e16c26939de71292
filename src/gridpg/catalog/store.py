"""Reading and writing the `gridpg` metadata schema on a catalog server.

Owns the SQL that touches the catalog: installing and upgrading the schema
(`ensure_schema`), loading a `CatalogSnapshot` in one statement, and building the SQL
text of every metadata change (`sql_*`), which the coordinator runs inside its own
distributed transaction on every catalog server. Talks to a server only through the
`QueryRunner` protocol, so it depends on no driver. Must not decide *what* to change
(that is `commands/`) nor cache snapshots or epochs (that is the coordinator's cache).

Every user-supplied name reaches SQL through `quote_literal` or `quote_ident`.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterable, Sequence
from importlib import resources
from typing import Any, Protocol

from gridpg.catalog.model import (
    BUILTIN_AGGREGATES,
    CatalogError,
    CatalogSnapshot,
    Colocation,
    DistTable,
    Node,
    NodeGroup,
    Shard,
    build_datanode_groups,
)
from gridpg.catalog.versions import (
    CATALOG_VERSION,
    NOT_INSTALLED,
    Script,
    build_version_graph,
    find_chain,
)
from gridpg.sql.quote import quote_literal as _quote_literal

_LOCK_KEY = "gridpg.catalog.schema"


class QueryRunner(Protocol):
    """One session on a catalog server, speaking the simple-query protocol."""

    async def query(self, sql: str) -> list[tuple[str | None, ...]]:
        """Run `sql` (maybe several statements); the text rows of the last statement."""
        ...


# --- quoting -----------------------------------------------------------------------------


def quote_ident(name: str) -> str:
    """`name` as a double-quoted identifier; exact for any case, quote or character."""
    _ensure_no_nul(name)
    return '"' + name.replace('"', '""') + '"'


def quote_literal(value: str | int | bool | None) -> str:
    """`value` as an SQL literal (the project's one quoting rule, in gridpg.sql.quote)."""
    if isinstance(value, str):
        _ensure_no_nul(value)
    return _quote_literal(value)


def quote_text_array(values: Sequence[str]) -> str:
    """A `text[]` literal holding `values` in order."""
    if not values:
        return "'{}'::text[]"
    return "ARRAY[" + ", ".join(quote_literal(v) for v in values) + "]::text[]"


def _ensure_no_nul(text: str) -> None:
    if "\x00" in text:
        raise CatalogError("a name or value cannot contain the NUL character", "22021")


# --- schema versions ---------------------------------------------------------------------


def packaged_script_names() -> list[str]:
    """The names of the schema scripts shipped in `gridpg/catalog/sql/`."""
    folder = resources.files("gridpg.catalog").joinpath("sql")
    return sorted(entry.name for entry in folder.iterdir() if entry.name.endswith(".sql"))


def read_script(name: str) -> str:
    return resources.files("gridpg.catalog").joinpath("sql", name).read_text("utf-8")


def build_chain_sql(chain: Iterable[Script]) -> str:
    """The scripts of a chain, each followed by the write of the version it produced."""
    parts: list[str] = []
    for script in chain:
        parts.append(f"-- {script.name}\n{read_script(script.name)}")
        parts.append(_sql_record_version(script))
    return "\n".join(parts)


def _sql_record_version(script: Script) -> str:
    if script.is_install:
        return f"INSERT INTO gridpg.catalog_version (version) VALUES ({script.target});"
    return f"UPDATE gridpg.catalog_version SET version = {script.target};"


async def installed_version(runner: QueryRunner) -> int | None:
    """The installed catalog schema version, or None when the schema is absent."""
    rows = await runner.query("SELECT to_regclass('gridpg.catalog_version') IS NOT NULL")
    if rows[0][0] != "t":
        return None
    rows = await runner.query("SELECT version FROM gridpg.catalog_version")
    if len(rows) != 1 or rows[0][0] is None:
        raise CatalogError("gridpg.catalog_version must hold exactly one row", "XX001")
    return int(rows[0][0])


async def ensure_schema(runner: QueryRunner, target: int = CATALOG_VERSION) -> int:
    """Install or upgrade the schema to `target` in one transaction; returns `target`.

    Takes a transaction-level advisory lock first, so two sessions never race to apply
    the same scripts; the version is read under that lock.
    """
    await runner.query("BEGIN")
    try:
        await runner.query(f"SELECT pg_advisory_xact_lock(hashtext({quote_literal(_LOCK_KEY)}))")
        installed = await installed_version(runner)
        graph = build_version_graph(packaged_script_names())
        chain = find_chain(graph, NOT_INSTALLED if installed is None else installed, target)
        if chain:
            await runner.query(build_chain_sql(chain))
        await runner.query("COMMIT")
    except BaseException:
        await _rollback_quietly(runner)
        raise
    return target


async def _rollback_quietly(runner: QueryRunner) -> None:
    """ROLLBACK, keeping the original error if the session is already gone."""
    with contextlib.suppress(Exception):
        await runner.query("ROLLBACK")


# --- loading -----------------------------------------------------------------------------

# One statement, hence one MVCC snapshot; JSON keeps arrays and odd names exact. The first
# row holds everything but the shards; then one row per table with its shards' JSON text
# (`ShardPieces`: a table's text as it was is not decoded again).
_LOAD_SQL = """
SELECT 0, NULL, NULL, json_build_object(
  'nodes', (SELECT coalesce(json_agg(json_build_array(
              name, kind, host, port, datanode_group, role, active) ORDER BY name), '[]')
            FROM gridpg.node),
  'datanode_groups', (SELECT coalesce(json_agg(name ORDER BY name), '[]')
            FROM gridpg.datanode_group),
  'node_groups', (SELECT coalesce(json_agg(json_build_array(
              name, datanode_groups) ORDER BY name), '[]')
            FROM gridpg.node_group),
  'colocations', (SELECT coalesce(json_agg(json_build_array(
              id, shard_count, dist_type) ORDER BY id), '[]')
            FROM gridpg.colocation),
  'tables', (SELECT coalesce(json_agg(json_build_array(
              schema_name, table_name, method, dist_column, column_type, colocation_id,
              shard_count, groups, by_default) ORDER BY schema_name, table_name), '[]')
            FROM gridpg.dist_table),
  'aggregates', (SELECT coalesce(json_agg(DISTINCT lower(proname)), '[]')
            FROM pg_catalog.pg_proc WHERE prokind = 'a'),
  'shadowed_aggregates', (SELECT coalesce(json_agg(DISTINCT p.proname), '[]')
            FROM pg_catalog.pg_proc p WHERE p.proname::pg_catalog.text = ANY (%(builtin_aggregates)s)
            AND p.pronamespace NOT IN ('pg_catalog'::pg_catalog.regnamespace,
                                       'information_schema'::pg_catalog.regnamespace)
            AND NOT EXISTS (SELECT FROM pg_catalog.pg_depend d WHERE d.classid = 'pg_catalog.pg_proc'::pg_catalog.regclass
                            AND d.objid = p.oid AND d.deptype = 'e')),
  'volatile_functions', (SELECT coalesce(json_agg(DISTINCT lower(p.proname)), '[]')
            FROM pg_catalog.pg_proc p WHERE p.provolatile = 'v' AND p.prokind = 'f'
            AND p.pronamespace NOT IN ('pg_catalog'::pg_catalog.regnamespace,
                                       'information_schema'::pg_catalog.regnamespace)),
  'deferrable', (SELECT EXISTS (SELECT FROM pg_catalog.pg_constraint c WHERE c.condeferrable
                AND c.connamespace NOT IN ('pg_catalog'::pg_catalog.regnamespace,
                                           'information_schema'::pg_catalog.regnamespace))
            OR EXISTS (SELECT FROM pg_catalog.pg_trigger t WHERE t.tgdeferrable)),
  'matviews', (SELECT coalesce(json_agg(json_build_array(d.schema_name, d.table_name, c.relispopulated)), '[]')
            FROM gridpg.dist_table d JOIN pg_catalog.pg_namespace n ON n.nspname = d.schema_name
            JOIN pg_catalog.pg_class c ON c.relnamespace = n.oid AND c.relname = d.table_name
            WHERE c.relkind = 'm'),
  'reg_columns', (SELECT coalesce(json_agg(json_build_array(d.schema_name, d.table_name, a.attname,
              (SELECT count(*) FROM pg_catalog.pg_attribute x WHERE x.attrelid = a.attrelid AND x.attnum > 0
                 AND x.attnum <= a.attnum AND NOT x.attisdropped))), '[]')
            FROM gridpg.dist_table d JOIN pg_catalog.pg_namespace n ON n.nspname = d.schema_name
            JOIN pg_catalog.pg_class c ON c.relnamespace = n.oid AND c.relname = d.table_name
            JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
            JOIN pg_catalog.pg_type t0 ON t0.oid = a.atttypid
            JOIN pg_catalog.pg_type t ON t.oid = CASE WHEN t0.typtype = 'd' THEN t0.typbasetype ELSE t0.oid END
            LEFT JOIN pg_catalog.pg_type e ON e.oid = t.typelem AND t.typcategory = 'A'
            WHERE coalesce(e.oid, t.oid)::pg_catalog.regtype::pg_catalog.text IN ('regclass', 'regtype', 'regproc',
                  'regprocedure', 'regoper', 'regoperator', 'regnamespace', 'regrole', 'regcollation',
                  'regconfig', 'regdictionary')),
  'foreign_type_columns', (SELECT coalesce(json_agg(json_build_array(d.schema_name, d.table_name, a.attname)), '[]')
            FROM gridpg.dist_table d JOIN pg_catalog.pg_namespace n ON n.nspname = d.schema_name
            JOIN pg_catalog.pg_class c ON c.relnamespace = n.oid AND c.relname = d.table_name
            JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
            JOIN pg_catalog.pg_type t0 ON t0.oid = a.atttypid
            JOIN pg_catalog.pg_type t ON t.oid = CASE WHEN t0.typtype = 'd' THEN t0.typbasetype ELSE t0.oid END
            WHERE t.typnamespace <> 'pg_catalog'::pg_catalog.regnamespace)
)::text
UNION ALL
SELECT 1, schema_name, table_name,
  json_agg(json_build_array(remainder, datanode_group, size_bytes) ORDER BY remainder)::text
FROM gridpg.shard GROUP BY schema_name, table_name
ORDER BY 1, 2, 3
""".replace("%(builtin_aggregates)s",  # PostgreSQL's aggregate names, a user's function may shadow
            "ARRAY[" + ", ".join(_quote_literal(n) for n in sorted(BUILTIN_AGGREGATES)) + "]::pg_catalog.text[]")


class ShardPieces:
    """The shards of each table as one load decoded them, kept by the caller for the next
    load: a table whose shards' text is as it was gets the same `Shard` values again (a
    reload after DDL decodes the shards of the tables it changed, not of every table)."""

    def __init__(self) -> None:
        self.by_table: dict[tuple[str, str], tuple[Any, tuple[Shard, ...]]] = {}


async def load_snapshot(runner: QueryRunner, epoch: int, pieces: ShardPieces | None = None) -> CatalogSnapshot:
    """All metadata of the catalog server, as the snapshot of `epoch`."""
    return snapshot_from_rows(epoch, await runner.query(_LOAD_SQL), pieces)


# The rows `snapshot_from_rows` builds a snapshot of, for a caller that sends the query in
# a batch of its own (a coordinator's reload, with the views and rules; its workers share
# the rows, each building with its own ShardPieces: frontend/reload_share.py).
SNAPSHOT_SQL = _LOAD_SQL


def snapshot_from_rows(epoch: int, rows: Sequence[Sequence[Any]], pieces: ShardPieces | None = None
                       ) -> CatalogSnapshot:
    """The snapshot of `_LOAD_SQL`'s rows."""
    if not rows or rows[0][3] is None:
        raise CatalogError("the catalog load query returned nothing", "XX000")
    doc = json.loads(rows[0][3])
    doc["shards"] = [[schema, table, text] for _, schema, table, text in rows[1:]]
    return build_snapshot(epoch, doc, pieces)


def build_snapshot(epoch: int, doc: dict[str, Any], pieces: ShardPieces | None = None) -> CatalogSnapshot:
    """A snapshot from a document of `_LOAD_SQL`'s parts (shards: per table, [schema,
    table, [[remainder, group, size], ...] or that list's JSON text])."""
    nodes = tuple(Node(n, k, h, int(p), g, r, bool(a)) for n, k, h, p, g, r, a in doc["nodes"])
    return CatalogSnapshot(
        epoch=epoch,
        nodes=nodes,
        datanode_group_list=tuple(build_datanode_groups(doc["datanode_groups"], nodes)),
        node_groups=tuple(NodeGroup(n, tuple(g)) for n, g in doc["node_groups"]),
        colocations=tuple(Colocation(i, c, t) for i, c, t in doc["colocations"]),
        tables=tuple(_table_from_row(row) for row in doc["tables"]),
        shards=_shards(doc["shards"], pieces or ShardPieces()),
        aggregates=frozenset(doc.get("aggregates") or ()) | BUILTIN_AGGREGATES,
        volatile_functions=frozenset(doc.get("volatile_functions") or ()),
        shadowed_aggregates=frozenset(doc.get("shadowed_aggregates") or ()),
        deferrable=bool(doc.get("deferrable", True)),
        matviews=frozenset((s, n) for s, n, _ in doc.get("matviews") or ()),
        unpopulated=frozenset((s, n) for s, n, p in doc.get("matviews") or () if not p),
        reg_columns=frozenset((s, t, c, int(p)) for s, t, c, p in doc.get("reg_columns") or ()),
        foreign_type_columns=frozenset((s, t, c) for s, t, c in doc.get("foreign_type_columns") or ()),
    )


def _shards(tables: list[list[Any]], pieces: ShardPieces) -> tuple[Shard, ...]:
    before, pieces.by_table = pieces.by_table, {}
    out: list[Shard] = []
    for schema, table, rows in tables:
        known = before.get((schema, table))
        if known is None or known[0] != rows:
            decoded = json.loads(rows) if isinstance(rows, str) else rows
            known = (rows, tuple(Shard(schema, table, r, g, b) for r, g, b in decoded))
        pieces.by_table[(schema, table)] = known
        out.extend(known[1])
    return tuple(out)


def _table_from_row(row: list[Any]) -> DistTable:
    schema, name, method, column, column_type, colocation_id, shard_count, groups, *rest = row
    return DistTable(
        schema, name, method, column, column_type, colocation_id, shard_count, tuple(groups),
        bool(rest and rest[0]),
    )


# --- SQL for metadata changes --------------------------------------------------------------


def sql_insert_datanode_group(name: str) -> str:
    """Create a datanode group (no-op if it exists)."""
    return (
        f"INSERT INTO gridpg.datanode_group (name) VALUES ({quote_literal(name)}) "
        "ON CONFLICT DO NOTHING;"
    )


def sql_delete_datanode_group(name: str) -> str:
    """Drop a datanode group; fails while nodes or shards still reference it."""
    return f"DELETE FROM gridpg.datanode_group WHERE name = {quote_literal(name)};"


def sql_insert_node(node: Node) -> str:
    """Add a node; a datanode's group is created with it when it does not exist yet."""
    values = ", ".join(
        quote_literal(v)
        for v in (node.name, node.kind, node.host, node.port, node.group, node.role, node.active)
    )
    insert = (
        "INSERT INTO gridpg.node (name, kind, host, port, datanode_group, role, active) "
        f"VALUES ({values});"
    )
    if node.group is None:
        return insert
    return sql_insert_datanode_group(node.group) + "\n" + insert


def sql_update_node(
    name: str,
    *,
    host: str | None = None,
    port: int | None = None,
    role: str | None = None,
    active: bool | None = None,
) -> str:
    """Change some attributes of a node; the ones left None are kept."""
    changes = {"host": host, "port": port, "role": role, "active": active}
    assignments = [f"{col} = {quote_literal(v)}" for col, v in changes.items() if v is not None]
    if not assignments:
        raise CatalogError(f"nothing to change on node {name}", "22023")
    return f"UPDATE gridpg.node SET {', '.join(assignments)} WHERE name = {quote_literal(name)};"


def sql_promote_node(name: str) -> str:
    """Make a secondary the primary of its group, demoting the old primary first."""
    node = quote_literal(name)
    return (
        "UPDATE gridpg.node SET role = 'secondary' WHERE role = 'primary' AND name <> "
        f"{node} AND datanode_group = (SELECT datanode_group FROM gridpg.node "
        f"WHERE name = {node});\n"
        f"UPDATE gridpg.node SET role = 'primary' WHERE name = {node};"
    )


def sql_delete_node(name: str) -> str:
    return f"DELETE FROM gridpg.node WHERE name = {quote_literal(name)};"


def sql_insert_node_group(group: NodeGroup) -> str:
    return (
        "INSERT INTO gridpg.node_group (name, datanode_groups) VALUES "
        f"({quote_literal(group.name)}, {quote_text_array(group.datanode_groups)});"
    )


def sql_delete_node_group(name: str) -> str:
    return f"DELETE FROM gridpg.node_group WHERE name = {quote_literal(name)};"


def sql_insert_colocation(colocation: Colocation) -> str:
    values = ", ".join(
        quote_literal(v) for v in (colocation.id, colocation.shard_count, colocation.dist_type)
    )
    return f"INSERT INTO gridpg.colocation (id, shard_count, dist_type) VALUES ({values});"


def sql_delete_colocation(colocation_id: int) -> str:
    return f"DELETE FROM gridpg.colocation WHERE id = {quote_literal(colocation_id)};"


def sql_insert_dist_table(table: DistTable) -> str:
    scalars = (
        table.schema,
        table.name,
        table.method,
        table.column,
        table.column_type,
        table.colocation_id,
        table.shard_count,
    )
    values = ", ".join(quote_literal(v) for v in scalars)
    return (
        "INSERT INTO gridpg.dist_table (schema_name, table_name, method, dist_column, "
        "column_type, colocation_id, shard_count, groups, by_default) "
        f"VALUES ({values}, {quote_text_array(table.groups)}, {quote_literal(table.by_default)});"
    )


def sql_delete_dist_table(schema: str, name: str) -> str:
    """Forget a distributed table; its shards go with it (ON DELETE CASCADE)."""
    return f"DELETE FROM gridpg.dist_table WHERE {_table_match(schema, name)};"


def sql_forget_dropped_tables() -> str:
    """Forget every distributed table the catalog server no longer has: partitions dropped
    with their parent, children dropped by CASCADE (run after the DROP, in its transaction)."""
    return ("DELETE FROM gridpg.dist_table WHERE pg_catalog.to_regclass(pg_catalog.quote_ident(schema_name) "
            "|| '.' || pg_catalog.quote_ident(table_name)) IS NULL;")


def sql_rename_distribution_column(schema: str, name: str, column: str) -> str:
    """ALTER TABLE ... RENAME COLUMN of the distribution column: the metadata names the new one."""
    return f"UPDATE gridpg.dist_table SET dist_column = {quote_literal(column)} WHERE {_table_match(schema, name)};"


def sql_rename_table(schema: str, name: str, new_schema: str, new_name: str) -> str:
    """ALTER TABLE ... RENAME / SET SCHEMA; shards follow (ON UPDATE CASCADE)."""
    return (
        f"UPDATE gridpg.dist_table SET schema_name = {quote_literal(new_schema)}, "
        f"table_name = {quote_literal(new_name)} WHERE {_table_match(schema, name)};"
    )


def sql_insert_shards(shards: Iterable[Shard]) -> str:
    """Insert shards in one statement."""
    rows = [
        "(" + ", ".join(quote_literal(v) for v in _shard_values(shard)) + ")" for shard in shards
    ]
    if not rows:
        raise CatalogError("no shards to insert", "22023")
    return (
        "INSERT INTO gridpg.shard (schema_name, table_name, remainder, datanode_group, "
        "size_bytes) VALUES\n  " + ",\n  ".join(rows) + ";"
    )


def _shard_values(shard: Shard) -> tuple[str | int | None, ...]:
    return (shard.schema, shard.table, shard.remainder, shard.group, shard.size_bytes)


def sql_move_shard(schema: str, table: str, remainder: int, group: str) -> str:
    """Record that shard `remainder` of a table now lives on `group`."""
    return (
        f"UPDATE gridpg.shard SET datanode_group = {quote_literal(group)} "
        f"WHERE {_table_match(schema, table)} AND remainder = {quote_literal(remainder)};"
    )


def _table_match(schema: str, name: str) -> str:
    return f"schema_name = {quote_literal(schema)} AND table_name = {quote_literal(name)}"


def owned_sequence_sql(relation: str, attnum: str) -> str:
    """SQL for the sequence a column owns (serial or identity: what pg_get_serial_sequence
    answers, quoted as it writes it), read from pg_depend by OIDs: no name is looked up, so
    no schema privilege of the session's role is needed (pg_get_serial_sequence('s.t', c)
    fails with 42501 for a role without USAGE on s, aborting the client's block)."""
    return ("(SELECT pg_catalog.quote_ident(sn.nspname) || '.' || pg_catalog.quote_ident(sc.relname) "
            "FROM pg_catalog.pg_depend dp JOIN pg_catalog.pg_class sc ON sc.oid = dp.objid "
            "JOIN pg_catalog.pg_namespace sn ON sn.oid = sc.relnamespace "
            "WHERE dp.classid = 'pg_catalog.pg_class'::pg_catalog.regclass "
            "AND dp.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass "
            f"AND dp.refobjid = {relation} AND dp.refobjsubid = {attnum} "
            "AND dp.deptype IN ('a', 'i') AND sc.relkind = 'S' LIMIT 1)")


def nextval_default_sequence_sql(attrdef: str) -> str:
    """SQL for the sequence a column default is exactly `nextval('s'::regclass)` of (by the
    default's dependency, `schema.name` quoted as pg_get_serial_sequence writes it), else
    NULL; `attrdef` is the pg_attrdef row's alias. Sequences a column uses without owning
    them (pg_dump writes no OWNED BY for such tables) live in the GTM like serial ones."""
    expr = f"pg_catalog.pg_get_expr({attrdef}.adbin, {attrdef}.adrelid)"
    return (f"CASE WHEN {expr} LIKE 'nextval(%::regclass)' AND {expr} NOT LIKE '_%nextval(%' "
            "THEN (SELECT pg_catalog.quote_ident(sn.nspname) || '.' || pg_catalog.quote_ident(sc.relname) "
            "FROM pg_catalog.pg_depend dp JOIN pg_catalog.pg_class sc ON sc.oid = dp.refobjid "
            "JOIN pg_catalog.pg_namespace sn ON sn.oid = sc.relnamespace "
            f"WHERE dp.classid = 'pg_catalog.pg_attrdef'::pg_catalog.regclass AND dp.objid = {attrdef}.oid "
            "AND dp.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass AND sc.relkind = 'S' LIMIT 1) END")


def domain_default_sql(type_oid: str) -> str:
    """SQL for a LATERAL subquery `(typ, expr, sequence)`: the default a column of type
    `type_oid` takes from its domain when it has none of its own (PostgreSQL's
    get_typdefault: the first default down the chain of domains), with the sequence it is
    exactly nextval() of, as `nextval_default_sequence_sql`; no row for other types."""
    expr = "pg_catalog.pg_get_expr(t.typdefaultbin, 0)"
    return (
        "WITH RECURSIVE chain(typ, depth) AS ("
        f"SELECT {type_oid}, 0 UNION ALL SELECT t.typbasetype, c.depth + 1 FROM chain c "
        "JOIN pg_catalog.pg_type t ON t.oid = c.typ "
        "WHERE t.typtype = 'd' AND t.typdefaultbin IS NULL AND c.depth < 64) "
        f"SELECT t.oid AS typ, {expr} AS expr, CASE WHEN {expr} LIKE 'nextval(%::regclass)' "
        f"AND {expr} NOT LIKE '_%nextval(%' "
        "THEN (SELECT pg_catalog.quote_ident(sn.nspname) || '.' || pg_catalog.quote_ident(sc.relname) "
        "FROM pg_catalog.pg_depend dp JOIN pg_catalog.pg_class sc ON sc.oid = dp.refobjid "
        "JOIN pg_catalog.pg_namespace sn ON sn.oid = sc.relnamespace "
        "WHERE dp.classid = 'pg_catalog.pg_type'::pg_catalog.regclass AND dp.objid = t.oid "
        "AND dp.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass AND sc.relkind = 'S' LIMIT 1) END "
        "AS sequence FROM chain c JOIN pg_catalog.pg_type t ON t.oid = c.typ "
        "WHERE t.typtype = 'd' AND t.typdefaultbin IS NOT NULL ORDER BY c.depth LIMIT 1")
