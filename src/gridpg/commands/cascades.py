"""A DROP ... CASCADE that would take a distribution column with it is refused.

PostgreSQL's `DROP DOMAIN d CASCADE` (likewise DROP TYPE, COLLATION, EXTENSION, SCHEMA,
FUNCTION, DROP OWNED ... CASCADE) drops the columns that depend on the object and keeps
their tables. On the datanodes a HASH table's distribution column is the partition key of
its shards, and PostgreSQL drops a partitioned table whose key column goes: the catalog
servers kept the table (without the column) while every datanode dropped it with all its
rows, and the statement was acknowledged. A MODULO table lost the column its metadata
still routes by. The check runs after the catalog servers ran the statement, in its
transaction, before any datanode does; the error rolls everything back.

`ALTER TABLE ... DROP COLUMN` of a distribution column has its own rules
(commands/default_placement.fit_dropped_distribution_column, commands/retype); where the
datanodes took it (members of an inheritance tree, plain tables there),
`spread_tables_that_lost_their_column` records what is left.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gridpg.errors import FEATURE_NOT_SUPPORTED, PgError
from gridpg.sql.quote import quote_ident, quote_literal, quote_qualified

if TYPE_CHECKING:
    from gridpg.commands.ddl import DdlRunner

_CASCADE = "DROP_CASCADE"


def is_cascading_drop(kind: str, tree: dict[str, Any]) -> bool:
    """DROP ... CASCADE or DROP OWNED ... CASCADE: the statements that may drop columns of
    tables they do not name."""
    body = tree.get(kind)
    return kind in ("DropStmt", "DropOwnedStmt") and isinstance(body, dict) and body.get("behavior") == _CASCADE


async def missing_distribution_columns(ddl: DdlRunner) -> list[tuple[str, str, str]]:
    """The HASH and MODULO tables on the catalog server that have no column of their
    distribution column's name, as (schema, table, column), in order."""
    tables = [t for t in ddl.snapshot.tables if t.method in ("hash", "modulo") and t.column]
    if not tables:
        return []
    # (found by name in the catalogs, not by to_regclass: the DROP runs as the client's role,
    # and to_regclass of a table in a schema it may not use failed every DROP ... CASCADE
    # with "permission denied for schema")
    rows = ", ".join(f"({quote_literal(t.schema)}, {quote_literal(t.name)}, {quote_literal(t.column or '')})"
                     for t in tables)
    conn = await ddl.conn(ddl.coord.catalog_node)
    lost = await conn.query(
        "SELECT v.s, v.t, v.col FROM (VALUES " + rows + ") v(s, t, col) "
        "JOIN pg_catalog.pg_namespace n ON n.nspname = v.s JOIN pg_catalog.pg_class c "
        "ON c.relnamespace = n.oid AND c.relname = v.t WHERE NOT EXISTS (SELECT FROM pg_catalog.pg_attribute a "
        "WHERE a.attrelid = c.oid AND a.attname = v.col AND NOT a.attisdropped) ORDER BY 1, 2")
    return [(row[0] or "", row[1] or "", row[2] or "") for row in lost]


async def ensure_distribution_columns_kept(ddl: DdlRunner, missing_before: list[tuple[str, str, str]]) -> None:
    """Raise 0A000 when a HASH or MODULO table still on the catalog server lost its
    distribution column (run after the statement ran there). A table that had no such
    column before the statement (`missing_before`: its metadata out of step with its
    definition already) is not this statement's doing, and stops no DROP."""
    before = set(missing_before)
    lost = [found for found in await missing_distribution_columns(ddl) if found not in before]
    if not lost:
        return
    relation, column = quote_qualified(lost[0][0], lost[0][1]), lost[0][2]
    raise PgError(
        FEATURE_NOT_SUPPORTED,
        f'this DROP ... CASCADE would drop column "{column}" of table {relation}, its distribution column',
        hint=f"drop the column first (ALTER TABLE {relation} DROP COLUMN {quote_ident(column)}) or distribute the "
             "table by another column (alter_distributed_table), then drop again")


def drops_columns(kind: str, tree: dict[str, Any]) -> bool:
    """ALTER TABLE ... DROP COLUMN (among other subcommands or not)."""
    body = tree.get(kind)
    return kind == "AlterTableStmt" and isinstance(body, dict) and any(
        isinstance(c, dict) and (c.get("AlterTableCmd") or {}).get("subtype") == "AT_DropColumn"
        for c in body.get("cmds") or [])


async def spread_tables_that_lost_their_column(ddl: DdlRunner, missing_before: list[tuple[str, str, str]]) -> None:
    """After an ALTER TABLE ... DROP COLUMN ran on the catalog servers and the datanodes:
    each HASH or MODULO table it left without its distribution column (an inheritance
    parent's column, dropped with it from the children that inherited it; the datanodes
    run it on plain tables, whose placement CHECK went with the column) becomes a
    ROUNDROBIN table, its rows where they are. Its metadata named the column still: every
    later DROP ... CASCADE in the database was refused for it (alter_table.sql:1184)."""
    from gridpg.catalog import store
    from gridpg.commands.ddl import as_cluster_owner

    before = set(missing_before)
    lost = [found for found in await missing_distribution_columns(ddl) if found not in before]
    if not lost:
        return
    sql = as_cluster_owner("\n".join(store.sql_spread_round_robin(schema, name) for schema, name, _ in lost))
    for node in ddl.catalog_nodes():
        await (await ddl.conn(node)).simple_query(sql)
    for _schema, name, column in lost:
        ddl.dispatcher.session.say(f'table "{name}" is now distributed by roundrobin: its distribution column '
                                   f'"{column}" was dropped')
