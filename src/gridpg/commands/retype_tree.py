"""ALTER TABLE ... ALTER COLUMN <distribution column> TYPE of the root of an inheritance
tree over a HASH table (legacy partitioning by inheritance: inherit.sql:230, an `int` key
made `bigint`).

The members of such a tree are plain tables on the datanodes (commands/partitions.py), so
PostgreSQL's own ALTER TABLE runs there as written and changes the column of every member
with its casts and USING; what gridpg adds, in the statement's distributed transaction:

1. the statement on every catalog server first (PostgreSQL's checks and errors);
2. on each datanode: the placement CHECK (`gridpg_placement`, the old type's hash) taken
   off the tree, the ALTER TABLE run, the metadata of every member given the new type and
   its colocation group;
3. the rows whose new value hashes to another node's shards: deleted from their member
   (`ONLY`) into a staging table on a catalog connection outside the 2PC transaction and
   routed into the same member by their new hash (none when the values and their hashes
   stay, the int -> bigint case);
4. the placement CHECK added again with the new type's hash.

Refused (0A000) once PostgreSQL's checks passed, before any row moves, as before: a tree with partitions or with a member
that has user triggers (the moved rows' DELETE and COPY would fire them), a foreign key
referencing a member (its action would run on the moved rows), members not distributed
alike. Must not change a value other than as PostgreSQL's ALTER TABLE does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from gridpg.catalog.model import DistTable
from gridpg.commands import partitions
from gridpg.errors import FEATURE_NOT_SUPPORTED, INVALID_TABLE_DEFINITION, PgError
from gridpg.planner.hashing import canonical_type_name, is_hashable_type
from gridpg.sql.quote import quote_ident, quote_literal, quote_qualified

if TYPE_CHECKING:
    from gridpg.commands.ddl import DdlRunner
    from gridpg.datanode.connection import BackendConnection
    from gridpg.executor.dispatch import ExecRequest

_STAGING = "gp_retype_tree"


async def tree_members(catalog: BackendConnection, qualified: str) -> list[tuple[str, str]] | None:
    """The table and its inheritance descendants, root first, when it is a member of an
    inheritance tree (not a partition tree); None when it is in none."""
    rows = await catalog.query(
        "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_inherits i JOIN pg_catalog.pg_class k ON k.oid = i.inhrelid "
        f"WHERE (i.inhparent = c.oid OR i.inhrelid = c.oid) AND NOT k.relispartition) FROM pg_catalog.pg_class c "
        f"WHERE c.oid = pg_catalog.to_regclass({quote_literal(qualified)})")
    if not rows or rows[0][0] != "t":
        return None
    below = await partitions.inheritance_relatives(catalog, qualified, upward=False)
    root = next((m for m in below if quote_qualified(*m) == qualified), None)
    return [root, *(m for m in below if m != root)] if root else below


async def retype_tree(ddl: DdlRunner, request: ExecRequest, table: DistTable,
                      members: list[tuple[str, str]]) -> None:
    """The type change of the tree's distribution column (see the module's docstring)."""
    from gridpg.commands import retype

    column = table.column or ""
    qualified = quote_qualified(table.schema, table.name)
    catalog = await ddl.conn(ddl.coord.catalog_node)
    await retype.alter_on_catalog_servers(ddl, request.sql)  # before any row moves
    tables = await _ensure_movable(ddl, catalog, table, members, column)
    found = await catalog.query(
        "SELECT t.typname, pg_catalog.format_type(a.atttypid, a.atttypmod), t.typtype, "
        "pg_catalog.format_type(t.typbasetype, -1) FROM pg_catalog.pg_attribute a "
        "JOIN pg_catalog.pg_type t ON t.oid = a.atttypid "
        f"WHERE a.attrelid = pg_catalog.to_regclass({quote_literal(qualified)}) "
        f"AND a.attname = {quote_literal(column)} AND NOT a.attisdropped")
    new_type, formatted, typtype, base = found[0]
    ctype = canonical_type_name((base if typtype == "d" else new_type) or "")
    if typtype not in ("b", "d") or not is_hashable_type(ctype):
        raise PgError(INVALID_TABLE_DEFINITION, f'column "{column}" of type {formatted} cannot be a distribution column',
                      hint="keep a type of the integer, text, numeric, date/time, uuid, bool or bytea kinds")
    if ctype != canonical_type_name(table.column_type or ""):
        for member in tables:
            await retype._ensure_no_colocated_foreign_keys(ddl, catalog, member)
    listed = ", ".join(quote_literal(quote_qualified(*m)) for m in members)
    for group in table.groups:
        conn = await ddl.conn(group)
        await conn.simple_query(_DROP_PLACEMENT.replace("%MEMBERS%", listed))
        await conn.simple_query(_alter_sql(request.sql, table.schema, table.name))
    moved = await _write_metadata(ddl, table, tables, ctype)
    await _move_rows(ddl, catalog, moved, column)
    placement = ddl._placement(moved[0])
    for group in table.groups:
        check = partitions.placement_check_sql(moved[0], [r for r, g in placement.items() if g == group])
        if check:
            await (await ddl.conn(group)).simple_query(check)
    nodes = [*ddl.catalog_nodes(), *table.groups]
    ddl.runner.before_commit.append(lambda: retype._cancel_waiters(ddl, nodes))


async def _ensure_movable(ddl: DdlRunner, catalog: BackendConnection, table: DistTable,
                          members: list[tuple[str, str]], column: str) -> list[DistTable]:
    """The members' metadata, once nothing stands in the way (see the module's docstring)."""
    refusal = f'changing the type of distribution column "{column}" of {quote_qualified(table.schema, table.name)}'
    tables = [ddl.snapshot.table(*m) for m in members]
    if any(t is None or not partitions.same_distribution(t, table) for t in tables):
        raise PgError(FEATURE_NOT_SUPPORTED, f"{refusal}: its inheritance children are not distributed alike")
    regclasses = ", ".join(f"pg_catalog.to_regclass({quote_literal(quote_qualified(*m))})" for m in members)
    rows = await catalog.query(
        f"SELECT (SELECT pg_catalog.count(*) FROM pg_catalog.pg_class c WHERE c.oid IN ({regclasses}) "
        "AND (c.relkind <> 'r' OR c.relispartition)), "
        f"(SELECT pg_catalog.count(*) FROM pg_catalog.pg_trigger g WHERE g.tgrelid IN ({regclasses}) "
        "AND NOT g.tgisinternal), "
        f"(SELECT pg_catalog.count(*) FROM pg_catalog.pg_constraint f WHERE f.confrelid IN ({regclasses}) "
        "AND f.contype = 'f'), "
        f"(SELECT pg_catalog.count(*) FROM pg_catalog.pg_inherits i WHERE i.inhrelid = {regclasses.split(', ')[0]})")
    partitioned, triggers, referenced, parents = (int(v or 0) for v in rows[0])
    why = ("it has partitions" if partitioned else "a member has triggers, which the moved rows would fire"
           if triggers else "foreign keys refer to its members" if referenced else
           "it is not the root of its inheritance tree" if parents else None)
    if why:
        raise PgError(FEATURE_NOT_SUPPORTED, f"{refusal}, a member of an inheritance tree, is not supported by "
                      f"gridpg: {why}",
                      hint="create the tables again with the new type and copy the rows (INSERT ... SELECT)")
    return [t for t in tables if t is not None]


# On a datanode: every `gridpg_placement` CHECK of the tree's members taken off, the
# inherited ones with their parent's (a child's own merged copy stays until its turn).
_DROP_PLACEMENT = """DO $gridpg_retype$
DECLARE r record;
BEGIN
  LOOP
    SELECT c.conrelid::pg_catalog.regclass AS rel INTO r FROM pg_catalog.pg_constraint c
      WHERE c.conname = 'gridpg_placement' AND c.coninhcount = 0
        AND c.conrelid = ANY (ARRAY[%MEMBERS%]::pg_catalog.regclass[]) LIMIT 1;
    EXIT WHEN NOT FOUND;
    EXECUTE pg_catalog.format('ALTER TABLE %s DROP CONSTRAINT gridpg_placement', r.rel);
  END LOOP;
END $gridpg_retype$"""


def _alter_sql(sql: str, schema: str, name: str) -> str:
    """The statement naming the table schema-qualified (the datanode's search path is not
    the session's), every subcommand kept: the tree's members change with it."""
    from pglast.stream import RawStream

    from gridpg.sql.parse import parse_sql

    stmt = parse_sql(sql)[0].stmt
    stmt.relation.schemaname, stmt.relation.relname = schema, name
    return str(RawStream()(stmt))


async def _write_metadata(ddl: DdlRunner, table: DistTable, tables: list[DistTable], ctype: str) -> list[DistTable]:
    """Every member recorded with the new type, in the colocation group of that type."""

    root = ddl._hash_table(table.schema, table.name, table.column or "", ctype, list(table.groups),
                           table.shard_count, None)
    moved = [DistTable(t.schema, t.name, "hash", t.column, ctype, root.colocation_id, root.shard_count,
                       root.groups, by_default=t.by_default) for t in tables]
    for index, member in enumerate(moved):
        await ddl.replace_metadata(member.schema, member.name, member)
        if index == 0:
            ddl._new_colocation = None  # written with the first member
    await ddl.runner.load_private_snapshot()
    return moved


async def _move_rows(ddl: DdlRunner, catalog: BackendConnection, tables: list[DistTable], column: str) -> None:
    """Each member's rows that now hash to another node's shards, deleted there (ONLY the
    member) into a staging table outside the 2PC transaction and routed back into the
    member by their new hash."""
    from gridpg.commands.redistribute import _route_rows, _staging_types, catalog_staging
    from gridpg.executor.multi import copy_rows_to_catalog
    from gridpg.planner.broadcast import REPARTITION_TYPES, remainder_sql

    dispatcher = ddl.dispatcher
    snapshot = dispatcher.runner.snapshot()
    async with catalog_staging(dispatcher, _STAGING) as staging:
        for table in tables:
            qualified = quote_qualified(table.schema, table.name)
            columns = await catalog.query(
                "SELECT a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod), a.atttypid FROM "
                f"pg_catalog.pg_attribute a WHERE a.attrelid = pg_catalog.to_regclass({quote_literal(qualified)}) "
                "AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = '' ORDER BY a.attnum")
            names = [c[0] or "" for c in columns]
            type_oid, formatted = next((int(c[2] or 0), c[1]) for c in columns if c[0] == column)
            if type_oid not in REPARTITION_TYPES:
                # (the rows are split by PostgreSQL's partition hash computed in SQL)
                raise PgError(FEATURE_NOT_SUPPORTED, f'changing the type of distribution column "{column}" of '
                              f"{qualified}, a member of an inheritance tree, to {formatted} is not supported "
                              "by gridpg", hint="keep an integer or text type")
            staged = await _staging_types(catalog, staging, qualified)
            await staging.simple_query(
                f"DROP TABLE IF EXISTS pg_temp.{_STAGING}; CREATE TEMP TABLE {_STAGING} ("
                + ", ".join(f"{quote_ident(n)} {staged.get(n, t)}" for n, t, _ in columns) + ")")
            split = remainder_sql(quote_ident(column), type_oid, table.shard_count or 1)
            listed = ", ".join(quote_ident(n) for n in names)
            sources = []
            for group in table.groups:
                mine = [r for r in range(table.shard_count or 0) if snapshot.shard_group(*table.key, r) == group]
                keep = f"{split} IN ({', '.join(map(str, mine))})" if mine else "false"
                sources.append((group, f"DELETE FROM ONLY {qualified} WHERE NOT ({keep}) RETURNING {listed}"))
            moved = await copy_rows_to_catalog(dispatcher, sources, staging, f"pg_temp.{_STAGING}")
            if sum(moved):
                await _route_rows(dispatcher, ddl, staging, _STAGING, table, qualified, names)
