"""A DROP ... CASCADE that would take a distribution column with it is refused.

PostgreSQL's `DROP DOMAIN d CASCADE` (likewise DROP TYPE, COLLATION, EXTENSION, SCHEMA,
FUNCTION, DROP OWNED ... CASCADE) drops the columns that depend on the object and keeps
their tables. On the datanodes a HASH table's distribution column is the partition key of
its shards, and PostgreSQL drops a partitioned table whose key column goes: the catalog
servers kept the table (without the column) while every datanode dropped it with all its
rows, and the statement was acknowledged. A MODULO table lost the column its metadata
still routes by. The check runs after the catalog servers ran the statement, in its
transaction, before any datanode does; the error rolls everything back.

Only the check; `ALTER TABLE ... DROP COLUMN` of a distribution column has its own rules
(commands/default_placement.fit_dropped_distribution_column, commands/retype).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gridpg.errors import FEATURE_NOT_SUPPORTED, PgError
from gridpg.sql.quote import quote_ident, quote_literal, quote_qualified

if TYPE_CHECKING:
    from gridpg.catalog.model import DistTable
    from gridpg.commands.ddl import DdlRunner

_CASCADE = "DROP_CASCADE"


def is_cascading_drop(kind: str, tree: dict[str, Any]) -> bool:
    """DROP ... CASCADE or DROP OWNED ... CASCADE: the statements that may drop columns of
    tables they do not name."""
    body = tree.get(kind)
    return kind in ("DropStmt", "DropOwnedStmt") and isinstance(body, dict) and body.get("behavior") == _CASCADE


async def ensure_distribution_columns_kept(ddl: DdlRunner, missing_before: list[DistTable]) -> None:
    """Raise 0A000 when a HASH or MODULO table still on the catalog server lost its
    distribution column (run after the statement ran there). A table that had no such
    column before the statement (`missing_before`: its metadata out of step with its
    definition already) is not this statement's doing, and stops no DROP (one such table
    failed every later DROP ... CASCADE in the database)."""
    before = {t.key for t in missing_before}
    lost = [t for t in await lost_distribution_columns(ddl) if t.key not in before]
    if not lost:
        return
    relation, column = quote_qualified(lost[0].schema, lost[0].name), lost[0].column or ""
    raise PgError(
        FEATURE_NOT_SUPPORTED,
        f'this DROP ... CASCADE would drop column "{column}" of table {relation}, its distribution column',
        hint=f"drop the column first (ALTER TABLE {relation} DROP COLUMN {quote_ident(column)}) or distribute the "
             "table by another column (alter_distributed_table), then drop again")


def drops_columns(tree: dict[str, Any]) -> bool:
    """ALTER TABLE ... DROP COLUMN (among its subcommands)."""
    body = tree.get("AlterTableStmt")
    return isinstance(body, dict) and any((c.get("AlterTableCmd") or {}).get("subtype") == "AT_DropColumn"
                                          for c in body.get("cmds") or [])


async def fit_inheritance_members_without_column(ddl: DdlRunner) -> None:
    """After an ALTER TABLE ran on the catalog servers: members of an inheritance tree that
    lost their distribution column (`ALTER TABLE parent DROP COLUMN k` drops it from the
    children that do not define it themselves). Their datanode copies are plain tables,
    where the column goes as in PostgreSQL, but the metadata kept naming it: every later
    DROP ... CASCADE of any table failed (0A000, `ensure_distribution_columns_kept`,
    alter_table.sql:1224 then inherit.sql and foreign_key.sql, h-inherit19), and rows were
    routed by a column that no longer exists. A member gridpg placed itself without unique
    keys becomes ROUNDROBIN (its rows may stay where they are; reads go to every node);
    one the user distributed, or one with unique keys (which ROUNDROBIN cannot hold), is
    refused (0A000), the statement rolled back."""
    from gridpg.catalog.model import DistTable
    from gridpg.commands import default_placement

    lost = await lost_distribution_columns(ddl, members_only=True)
    for table in lost:
        relation = quote_qualified(table.schema, table.name)
        placed = table.by_default or await _placed_by_ancestors(ddl, table)
        if not placed or any(await default_placement.unique_keys(ddl, table.schema, table.name)):
            raise PgError(FEATURE_NOT_SUPPORTED,
                          f'cannot drop column "{table.column}" of {relation}, its distribution column',
                          detail="It is a member of an inheritance tree"
                          + ("" if placed else " distributed by that column by the user")
                          + ("; its unique keys would not hold without it" if placed else "") + ".",
                          hint="distribute the tree by another column first, or keep the column")
        roundrobin = DistTable(table.schema, table.name, "roundrobin", None, None, None, None, table.groups,
                               by_default=True)
        await ddl.replace_metadata(table.schema, table.name, roundrobin)
    if lost:
        await ddl.runner.load_private_snapshot()


async def _placed_by_ancestors(ddl: DdlRunner, table: DistTable) -> bool:
    """Whether an inheritance ancestor of the table has the placement gridpg chose (a child
    takes its parents' placement: then gridpg chose the child's too)."""
    from gridpg.commands.partitions import inheritance_relatives

    conn = await ddl.conn(ddl.coord.catalog_node)
    for schema, name in await inheritance_relatives(conn, quote_qualified(table.schema, table.name), upward=True):
        found = ddl.snapshot.table(schema, name)
        if found is not None and found.by_default:
            return True
    return False


async def lost_distribution_columns(ddl: DdlRunner, members_only: bool = False) -> list[DistTable]:
    """HASH and MODULO tables on the catalog server without their distribution column
    (`members_only`: those in an inheritance tree), in name order."""
    tables = [t for t in ddl.snapshot.tables if t.method in ("hash", "modulo") and t.column]
    if not tables:
        return []
    # (found by name in the catalogs, not by to_regclass: the DROP runs as the client's role,
    # and to_regclass of a table in a schema it may not use failed every DROP ... CASCADE
    # with "permission denied for schema")
    rows = ", ".join(f"({quote_literal(t.schema)}, {quote_literal(t.name)}, {quote_literal(t.column or '')})"
                     for t in tables)
    member = (" AND EXISTS (SELECT FROM pg_catalog.pg_inherits i JOIN pg_catalog.pg_class k ON k.oid = i.inhrelid "
              "WHERE (i.inhrelid = c.oid OR i.inhparent = c.oid) AND NOT k.relispartition)") if members_only else ""
    conn = await ddl.conn(ddl.coord.catalog_node)
    lost = await conn.query(
        "SELECT v.s, v.t FROM (VALUES " + rows + ") v(s, t, col) "
        "JOIN pg_catalog.pg_namespace n ON n.nspname = v.s JOIN pg_catalog.pg_class c "
        "ON c.relnamespace = n.oid AND c.relname = v.t WHERE NOT EXISTS (SELECT FROM pg_catalog.pg_attribute a "
        "WHERE a.attrelid = c.oid AND a.attname = v.col AND NOT a.attisdropped)" + member + " ORDER BY 1, 2")
    by_key = {t.key: t for t in tables}
    return [by_key[(r[0] or "", r[1] or "")] for r in lost]
