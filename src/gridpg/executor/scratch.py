"""A writable catalog connection for a statement's scratch tables in a read-only transaction.

Two-phase aggregation and the coordinator finish keep their intermediate rows in temp
tables on the catalog server, inside the client's transaction. PostgreSQL refuses CREATE
TABLE in a READ ONLY transaction (`BEGIN READ ONLY`, `SET TRANSACTION READ ONLY`,
`default_transaction_read_only`, what drivers send for a read-only transaction), so those
plans failed there with 25006. A read-only transaction has no uncommitted changes on the
catalog server to see, so the statement's catalog part runs instead on a side connection of
the pool, brought to the session's settings, in a READ WRITE block that is rolled back at
the end (the temp tables go with it). The datanodes' reads stay in the client's transaction
and snapshot. The session's own temp tables are not on the side connection: a read-only
transaction's SELECT that joins them with distributed tables copies them there first, and a
write of a temp table reading distributed tables reads them through the loopback instead
(executor/temp_query.py).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

from gridpg.sql import parse as sqlparse
from gridpg.sql.quote import quote_literal, set_config_sql
from gridpg.txn.transaction import Participant

if TYPE_CHECKING:
    from gridpg.executor.dispatch import Dispatcher

_TRUE = ("on", "true", "yes", "1", "t", "y")
# not carried to the side connection: its own READ WRITE block, and the identity, which
# the session's setup has already given it
_NOT_COPIED = {"default_transaction_read_only", "transaction_read_only", "transaction_isolation",
               "default_transaction_isolation", "transaction_deferrable", "session_authorization",
               "client_encoding"}


@contextlib.asynccontextmanager
async def writable_catalog(dispatcher: Dispatcher, scratch_only: bool = False) -> AsyncIterator[bool]:
    """Inside, the transaction's catalog participant is a side connection when the
    transaction is read-only, or a block whose catalog part may yet be prepared; yields
    whether the transaction is read-only (then the datanodes take no scratch tables).
    `scratch_only`: the catalog part reads nothing but its scratch tables (two-phase
    aggregation, the sorted merge), so it may go aside in any writable block."""
    runner = dispatcher.runner
    if not (runner.txn.in_block or _read_only_by_default(runner.settings)):
        yield False
        return
    if getattr(runner, "side_catalog_active", False):  # a nested statement: already aside
        yield runner.side_catalog_read_only
        return
    need = await _needs_side(dispatcher, scratch_only)
    if need is None:
        yield False
        return
    runner.side_catalog_active, runner.side_catalog_read_only = True, need
    try:
        async with side_catalog(dispatcher):
            yield need
    finally:
        runner.side_catalog_active = False


async def _needs_side(dispatcher: Dispatcher, scratch_only: bool) -> bool | None:
    """A read-only transaction cannot create scratch tables. In a writable block, scratch
    temp tables on the transaction's own catalog connection would make its PREPARE fail
    ("cannot PREPARE a transaction that has operated on temporary objects") if the block
    later runs DDL, which needs the 2PC: a side connection keeps them out, unless the
    statement may need what only the transaction's connection sees (the session's temp
    tables, objects created in this transaction). True: aside because read-only; False:
    aside for the 2PC; None: not aside."""
    runner = dispatcher.runner
    conn = await runner.txn.connection(dispatcher.coord.catalog_node, wants_block=False)
    if await conn.read_only():
        return True
    if runner.txn.in_block and scratch_only and _ran_ddl(dispatcher):
        return None  # a side connection would not see the block's new types (multi.two_phase)
    if runner.txn.in_block and (scratch_only or (runner.private_snapshot is None and not runner.temps.names)):
        return False
    return None


def _ran_ddl(dispatcher: Dispatcher) -> bool:
    """Whether the block's own catalog connection has written (DDL): the partial rows of a
    sorted merge or a two-phase aggregation may have a type it created, which a side
    connection cannot see (42704 "type ... does not exist": `CREATE TYPE mood AS ENUM ...;
    CREATE TABLE t (m mood); ... SELECT * FROM t ORDER BY k` in one block, SQLAlchemy's
    tests and migrations). Their table then goes to the shard schema on that connection."""
    own = dispatcher.runner.txn.participants.get(dispatcher.coord.catalog_node)
    return own is not None and own.wrote


def _changed_settings(items: list[tuple[str, str | None]]) -> list[str]:
    """SET LOCAL of the session's settings on a side connection, only of those its setup
    left otherwise: the setup applied the session's settings as the superuser, before its
    SESSION AUTHORIZATION; set again there as a plain role, a superuser-only one (lc_messages
    from the startup packet) failed with 42501 ("permission denied to set parameter")."""
    plain = [(n, v) for n, v in items if v is not None]
    out = [set_config_sql(n, v, True) for n, v in items if v is None]
    if plain:
        rows = ", ".join(f"({quote_literal(n)}, {quote_literal(v)})" for n, v in plain)
        out.append(f"SELECT pg_catalog.set_config(s.n, s.v, true) FROM (VALUES {rows}) AS s(n, v) "
                   "WHERE pg_catalog.current_setting(s.n, true) IS DISTINCT FROM s.v")
    return out


@contextlib.asynccontextmanager
async def side_catalog(dispatcher: Dispatcher) -> AsyncIterator[None]:
    """Inside, the transaction's catalog participant is a side connection of the pool,
    brought to the session's settings, in a READ WRITE block rolled back at the end (the
    scratch tables go with it); the datanodes stay in the client's transaction."""
    runner = dispatcher.runner
    txn = runner.txn
    node = dispatcher.coord.catalog_node
    await txn.connection(node, wants_block=False)
    pool = dispatcher.coord.pools.pool(node)
    side = await pool.acquire()
    while not txn.accepts(side):  # (another session's custom settings on it)
        pool.discard(side)
        side = await pool.acquire()
    clean = False
    try:
        await runner._setup_connection(side)
        # the session's settings as they are now, those made inside this block included
        # (search_path, DateStyle, ...: the final query's names and output depend on them),
        # then the block's SET LOCALs (current_setting() in the final query reads them)
        settings = _changed_settings([(name, value) for name, value in runner.settings.items()
                                      if name.lower() not in _NOT_COPIED])
        local = [sql for sql in txn.local_settings if _setting_name(sql) not in _NOT_COPIED | {""}]
        await side.simple_query("; ".join(["BEGIN ISOLATION LEVEL READ COMMITTED READ WRITE", *settings, *local]))
        saved = txn.participants[node]
        txn.participants[node] = Participant(side, aside=True)
        runner.catalog_aside = saved.holds_table_locks  # the block's own connection may hold DDL locks
        try:
            yield
            if runner.pending_sync.get(node) is side:
                # the statement's last part ran here through the extended protocol and owes
                # its Sync: settle it now, or the side connection goes back unclean (closed)
                # while the client's Sync still expects it ("connection ... was lost")
                await runner.sync_pending()
        finally:
            txn.participants[node] = saved
            runner.catalog_aside = False
        await side.simple_query("ROLLBACK")
        clean = True
    finally:
        if clean:
            pool.release(side)
        else:
            pool.discard(side)


def _setting_name(sql: str) -> str:
    """The setting a statement of the block's SET LOCAL list changes (SET LOCAL or
    set_config(..., true)), lower case; "" for others (SET TRANSACTION ...)."""
    setting = sqlparse.set_statement(sql)
    if setting is not None:
        return setting.name
    use = sqlparse.set_config_use(sql)
    calls = use.calls if use is not None and use.alone else []
    kind, name = calls[0].args[0] if calls else ("", "")
    return str(name).lower() if kind == "const" else ""


def _read_only_by_default(settings: dict[str, str]) -> bool:
    return any(key.lower() == "default_transaction_read_only" and str(value).strip("'").lower() in _TRUE
               for key, value in settings.items())
