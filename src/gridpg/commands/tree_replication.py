"""An inheritance tree gridpg placed by default, made a REPLICATION tree where a key needs it.

commands/default_placement.py makes a table gridpg placed a REPLICATION table when a key
it is given cannot hold under its HASH placement (a unique key or exclusion constraint
without the distribution column, a foreign key referencing it that the referencing rows'
nodes cannot check). Its rebuild drops and creates the table on the datanodes, which the
members of an inheritance tree cannot take (their children depend on them: 2BP01,
inherit.sql:1029), and every member of a tree must be placed alike (a read of the parent
on a node reads the children there). So the whole tree changes in place instead, in the
statement's distributed transaction: on each datanode the members are plain tables
already; the placement CHECK is taken off, each member's rows from every node are staged
on a catalog connection outside the 2PC transaction and written to every node (each
node's own rows replaced by the whole set), and every member is recorded as REPLICATION.
The statement that needed it then runs on the datanodes as written (its key is checked
there over every row).

Only the root of a tree (no parent), its descendants in no other tree, all placed alike
from a root gridpg placed; no member with user triggers (the rows' DELETE and COPY would
fire them) and no foreign key referencing a member (its actions would run). Anything else
is refused (0A000), as before.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from gridpg.catalog.model import DistTable
from gridpg.commands import partitions
from gridpg.errors import FEATURE_NOT_SUPPORTED, PgError
from gridpg.sql.quote import quote_ident, quote_literal, quote_qualified

if TYPE_CHECKING:
    from gridpg.commands.ddl import DdlRunner
    from gridpg.datanode.connection import BackendConnection

_STAGING = "gp_replicate_tree"


async def tree_members(ddl: DdlRunner, table: DistTable) -> list[DistTable] | None:
    """The tree's members, root (`table`) first, when they may be replicated together
    (see the module's docstring); else None."""
    return await _members(ddl, await ddl.conn(ddl.coord.catalog_node), table)


async def replicate_tree(ddl: DdlRunner, table: DistTable, members: list[DistTable]) -> None:
    """Make the tree whose root is `table` REPLICATION (`members`: from `tree_members`)."""
    catalog = await ddl.conn(ddl.coord.catalog_node)
    listed = ", ".join(quote_literal(quote_qualified(*m.key)) for m in members)
    from gridpg.commands.retype_tree import _DROP_PLACEMENT

    for group in table.groups:
        await (await ddl.conn(group)).simple_query(_DROP_PLACEMENT.replace("%MEMBERS%", listed))
    await _copy_everywhere(ddl, catalog, members)

    for member in members:
        replicated = DistTable(member.schema, member.name, "replication", None, None, None, None, member.groups,
                               by_default=member.by_default)
        await ddl.replace_metadata(member.schema, member.name, replicated)
    await ddl.runner.load_private_snapshot()
    names = ", ".join(f'"{m.name}"' for m in members)
    ddl.dispatcher.session.say(
        f"inheritance tree {names} is now replicated to every datanode: a unique key or foreign key it was given "
        "cannot hold under its default distribution")


async def _members(ddl: DdlRunner, catalog: BackendConnection, table: DistTable) -> list[DistTable] | None:
    """The root and its descendants, when they may be replicated together; else None."""
    qualified = quote_qualified(table.schema, table.name)
    below = await partitions.inheritance_relatives(catalog, qualified, upward=False)
    tables = [ddl.snapshot.table(*m) for m in below]
    if not table.by_default or any(t is None or not partitions.same_distribution(t, table) for t in tables):
        return None
    regclasses = ", ".join(f"pg_catalog.to_regclass({quote_literal(quote_qualified(*m))})" for m in below)
    rows = await catalog.query(
        # a parent of the root or of a descendant outside the tree, partitions, user
        # triggers, foreign keys referencing a member
        f"SELECT (SELECT pg_catalog.count(*) FROM pg_catalog.pg_inherits i WHERE i.inhrelid IN ({regclasses}) "
        f"AND i.inhparent NOT IN ({regclasses})) + (SELECT pg_catalog.count(*) FROM pg_catalog.pg_class c "
        f"WHERE c.oid IN ({regclasses}) AND (c.relkind <> 'r' OR c.relispartition)) + "
        f"(SELECT pg_catalog.count(*) FROM pg_catalog.pg_trigger g WHERE g.tgrelid IN ({regclasses}) "
        "AND NOT g.tgisinternal) + "
        f"(SELECT pg_catalog.count(*) FROM pg_catalog.pg_constraint f WHERE f.confrelid IN ({regclasses}) "
        "AND f.contype = 'f')")
    if not rows or rows[0][0] != "0":
        return None
    root = [t for t in tables if t is not None and t.key == table.key]
    return root + [t for t in tables if t is not None and t.key != table.key]


async def _copy_everywhere(ddl: DdlRunner, catalog: BackendConnection, members: list[DistTable]) -> None:
    """Each member's rows of every node (ONLY the member) written to every node."""
    from gridpg.commands.redistribute import _staging_types, catalog_staging
    from gridpg.executor.exchange import pump
    from gridpg.executor.multi import copy_rows_to_catalog

    dispatcher = ddl.dispatcher
    async with catalog_staging(dispatcher, _STAGING) as staging:
        for table in members:
            qualified = quote_qualified(table.schema, table.name)
            # the datanodes' columns: the statement that needs the key ran on the catalog
            # servers only so far (an ADD COLUMN ... UNIQUE is not on the datanodes yet)
            columns = await (await ddl.conn(table.groups[0])).query(
                "SELECT a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod) FROM pg_catalog.pg_attribute a "
                f"WHERE a.attrelid = pg_catalog.to_regclass({quote_literal(qualified)}) AND a.attnum > 0 "
                "AND NOT a.attisdropped AND a.attgenerated = '' ORDER BY a.attnum")
            if not columns:
                continue  # no column, no row to carry
            staged = await _staging_types(catalog, staging, qualified)
            await staging.simple_query(
                f"DROP TABLE IF EXISTS pg_temp.{_STAGING}; CREATE TEMP TABLE {_STAGING} ("
                + ", ".join(f"{quote_ident(n or '')} {staged.get(n or '', t)}" for n, t in columns) + ")")
            listed = ", ".join(quote_ident(n or "") for n, _ in columns)
            await copy_rows_to_catalog(dispatcher, [(g, f"SELECT {listed} FROM ONLY {qualified}")
                                                    for g in table.groups], staging, f"pg_temp.{_STAGING}")
            conns = [await ddl.conn(g) for g in table.groups]
            for conn in conns:
                await conn.simple_query(f"DELETE FROM ONLY {qualified}")
            await pump(staging, conns, f"SELECT {listed} FROM pg_temp.{_STAGING}", f"{qualified} ({listed})")


def refusal_for(table: DistTable) -> PgError:
    """The error of a key that a tree member cannot hold and whose tree stays as it is."""
    how = f"{table.method.upper()} ({table.column})" if table.column else table.method.upper()
    return PgError(FEATURE_NOT_SUPPORTED,
                   f'a unique key, exclusion constraint or foreign key of "{table.name}" cannot hold under its '
                   f"distribution ({how}), and gridpg does not make this member of an inheritance tree a "
                   "REPLICATION table",
                   detail="Each datanode checks such a key over its own rows only; the tree's members must stay "
                          "placed alike, and only a tree gridpg placed, from its root, without triggers or "
                          "foreign keys referencing it, is replicated whole.",
                   hint="include the distribution column in the key, or create the tree's tables with "
                        "DISTRIBUTE BY REPLICATION")
