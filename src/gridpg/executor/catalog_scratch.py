"""Scratch tables on the coordinator's catalog server that a two-phase commit may follow.

PostgreSQL refuses to PREPARE a transaction that touched temporary objects ("cannot
PREPARE a transaction that has operated on temporary objects", 0A000), even ones it
created and dropped again. A statement whose catalog part needs a table inside the
client's block (rows that change node are updated in a copy there) therefore makes the
block's COMMIT fail as soon as the block also runs DDL, which prepares the catalog part:
Alembic updates `alembic_version`'s key in every migration's transaction. Inside a block
such a table is an unlogged table in the shard schema instead, created and dropped in the
block (as the datanodes' scratch tables are), under a name unique on the server; outside
a block it stays a temp table, which nothing can leave behind.

The same holds for the tables a coordinator finish gathers its rows into, when the block
has run DDL (its catalog part cannot go to a side connection, which would not see the
DDL): they become shard-schema tables too (`gather_out_of_pg_temp`).

This module owns the schema's creation on the catalog server (once per process, as the
superuser, by the same statements that prepare a datanode) and the tables' spelling; it
must not decide when a statement needs a copy.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from gridpg.commands.ddl import SHARD_SCHEMA, SHARD_SCHEMA_SETUP
from gridpg.errors import PgError
from gridpg.sql.quote import quote_ident

if TYPE_CHECKING:
    from gridpg.datanode.connection import BackendConnection
    from gridpg.executor.dispatch import Dispatcher
    from gridpg.planner.plan import GatherTable

_READY: set[str] = set()  # catalog nodes whose shard schema this process has seen


async def scratch_table(dispatcher: Dispatcher, name: str) -> tuple[str, str]:
    """(CREATE TABLE prefix, qualified name) of the catalog copy `name`: a temp table
    outside a transaction block, an unlogged shard-schema table inside one."""
    if not dispatcher.runner.txn.in_block:
        return f"CREATE TEMP TABLE {quote_ident(name)}", f"pg_temp.{quote_ident(name)}"
    await ensure_scratch_schema(dispatcher)
    qualified = f"{SHARD_SCHEMA}.{quote_ident(name)}"
    return f"CREATE UNLOGGED TABLE {qualified}", qualified


def is_block_catalog(dispatcher: Dispatcher, catalog: BackendConnection) -> bool:
    """Whether `catalog` is the client block's own catalog connection (not a side one,
    which is rolled back at the statement's end): its temp tables would fail the block's
    PREPARE."""
    runner = dispatcher.runner
    if not runner.txn.in_block or getattr(runner, "side_catalog_active", False):
        return False
    part = runner.txn.participants.get(dispatcher.coord.catalog_node)
    return part is not None and part.conn is catalog


async def block_catalog_after_ddl(dispatcher: Dispatcher) -> BackendConnection | None:
    """The client block's own catalog connection when the block ran DDL there, settled;
    None otherwise. What that DDL made (a type, its range constructor, a function, a
    column) exists only in the block: work a statement would do on a side connection of its
    own (evaluating VALUES rows, the rows of a table-less INSERT ... SELECT) must be done
    here instead, or it fails (42704, 42883) where PostgreSQL succeeds. That work may use
    temp tables, which forbid PREPARE TRANSACTION on this server: it decides the 2PC
    instead, committing in one phase last (txn/transaction.py `touch_temp`)."""
    runner = dispatcher.runner
    own = runner.txn.participants.get(dispatcher.coord.catalog_node)
    if not runner.txn.in_block or own is None or not own.holds_table_locks \
            or getattr(runner, "side_catalog_active", False):
        return None
    runner.txn.touch_temp(dispatcher.coord.catalog_node)
    await own.conn.settle()
    return own.conn


async def gather_out_of_pg_temp(dispatcher: Dispatcher, gather: Sequence[GatherTable],
                                final_sql: str) -> tuple[tuple[GatherTable, ...], str]:
    """A coordinator finish's copies as shard-schema tables: each gathered table renamed
    to a name unique on the server, and the final statement's `pg_temp.<copy>` with it."""
    from gridpg.executor.run import scratch_name

    await ensure_scratch_schema(dispatcher)
    renamed = []
    for table in gather:
        name = scratch_name(dispatcher, "gather", shared=True)
        final_sql = re.sub(rf"\bpg_temp\.{re.escape(table.temp)}(?![\w$])", f"{SHARD_SCHEMA}.{name}", final_sql)
        renamed.append(dataclasses.replace(table, temp=name))
    return tuple(renamed), final_sql


async def ensure_scratch_schema(dispatcher: Dispatcher) -> None:
    """The shard schema on the coordinator's catalog server, open to every role."""
    coord = dispatcher.coord
    node = coord.catalog_node
    if node in _READY:
        return
    conn = await coord.internal_acquire(node)
    try:
        await conn.simple_query("; ".join(SHARD_SCHEMA_SETUP))
    except PgError as exc:
        if exc.sqlstate not in ("23505", "42P06"):  # not another session making it meanwhile
            raise
        await conn.simple_query(SHARD_SCHEMA_SETUP[1])
    finally:
        coord.pools.pool(node).release(conn)
    _READY.add(node)
