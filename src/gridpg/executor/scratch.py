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
transaction's statement that joins them with distributed tables fails (42P01), never silently.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

from gridpg.sql.quote import quote_literal
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
async def writable_catalog(dispatcher: Dispatcher) -> AsyncIterator[bool]:
    """Inside, the transaction's catalog participant is a writable side connection when
    the transaction is read-only; yields whether it is."""
    runner = dispatcher.runner
    txn = runner.txn
    node = dispatcher.coord.catalog_node
    if not (txn.in_block or _read_only_by_default(runner.settings)):
        yield False
        return
    conn = await txn.connection(node, wants_block=False)
    rows = await conn.query("SELECT pg_catalog.current_setting('transaction_read_only')")
    if not rows or rows[0][0] != "on":
        yield False
        return
    pool = dispatcher.coord.pools.pool(node)
    side = await pool.acquire()
    clean = False
    try:
        await runner._setup_connection(side)
        # the session's settings as they are now, those made inside this block included
        # (search_path, DateStyle, ...: the final query's names and output depend on them)
        settings = [f"SELECT pg_catalog.set_config({quote_literal(name)}, {quote_literal(value)}, true)"
                    for name, value in runner.settings.items() if name.lower() not in _NOT_COPIED]
        await side.simple_query("; ".join(["BEGIN ISOLATION LEVEL READ COMMITTED READ WRITE", *settings]))
        saved = txn.participants[node]
        txn.participants[node] = Participant(side)
        try:
            yield True
        finally:
            txn.participants[node] = saved
        await side.simple_query("ROLLBACK")
        clean = True
    finally:
        if clean:
            pool.release(side)
        else:
            pool.discard(side)


def _read_only_by_default(settings: dict[str, str]) -> bool:
    return any(key.lower() == "default_transaction_read_only" and str(value).strip("'").lower() in _TRUE
               for key, value in settings.items())
