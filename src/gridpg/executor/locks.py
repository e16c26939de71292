"""Table locks and constraint modes that must reach the datanodes, not only the catalog server.

`LOCK TABLE t` ran on the catalog server alone, which holds distributed tables empty: the
lock was granted and locked nothing where the rows are, so concurrent writers went on (a
silent loss of the mutual exclusion the client asked for). It now also takes the lock on
every datanode of each distributed or replicated table it names, inside the transaction's
blocks there (groups in a fixed order, so two sessions locking the same tables queue rather
than deadlock), without ONLY: a gridpg table's rows are in its shards, the children of the
datanode's table. The catalog server runs the client's statement last, as before (its
checks and its answer).

`SET CONSTRAINTS` changes when deferred constraints are checked, and those are checked by
the datanodes: it is run on every node of the transaction and on each node that joins it
later (as SET LOCAL is), so `SET CONSTRAINTS ALL IMMEDIATE` fails on a pending violation
as PostgreSQL's does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gridpg.errors import NO_ACTIVE_SQL_TRANSACTION, PgError
from gridpg.planner import analyze
from gridpg.sql import parse as sqlparse
from gridpg.sql.quote import quote_qualified

if TYPE_CHECKING:
    from gridpg.executor.dispatch import Dispatcher, ExecRequest

_MODES = {1: "ACCESS SHARE", 2: "ROW SHARE", 3: "ROW EXCLUSIVE", 4: "SHARE UPDATE EXCLUSIVE",
          5: "SHARE", 6: "SHARE ROW EXCLUSIVE", 7: "EXCLUSIVE", 8: "ACCESS EXCLUSIVE"}


async def run_if_lock(dispatcher: Dispatcher, request: ExecRequest) -> bool:
    """Run LOCK TABLE / SET CONSTRAINTS where the rows are (True), or leave it (False)."""
    try:
        tree = sqlparse.parse_tree(request.sql)
    except PgError:
        return False
    kind = sqlparse.node_type(tree)
    if kind == "LockStmt":
        return await _lock(dispatcher, request, tree[kind])
    if kind == "ConstraintsSetStmt" and dispatcher.runner.txn.in_block:
        # the catalog server joins first: it checks the names when no datanode has yet
        await dispatcher.runner.txn.connection(dispatcher.coord.catalog_node, wants_block=True)
        await dispatcher.runner.txn.set_local(request.sql)
        from gridpg.pgwire import codec

        dispatcher.session.send(codec.build_command_complete("SET CONSTRAINTS"))
        return True
    return False


async def _lock(dispatcher: Dispatcher, request: ExecRequest, body: dict[str, Any]) -> bool:
    from gridpg.executor.run import catalog_view, search_path

    catalog, path = catalog_view(dispatcher), search_path(dispatcher)
    tables = []
    for item in body.get("relations") or []:
        rv = item.get("RangeVar") or {}
        ref = analyze.RelRef(rv.get("schemaname"), rv.get("relname", ""), -1, None)
        table = catalog.resolve(ref, path)
        if table is not None and table not in tables:
            tables.append(table)
    if not tables:
        return False
    txn = dispatcher.runner.txn
    if not txn.in_block:
        raise PgError(NO_ACTIVE_SQL_TRANSACTION, "LOCK TABLE can only be used in transaction blocks")
    mode = _MODES.get(int(body.get("mode") or 8), "ACCESS EXCLUSIVE")
    for group in sorted({g for t in tables for g in t.groups}):
        names = ", ".join(quote_qualified(t.schema, t.name) for t in tables if group in t.groups)
        conn = await txn.connection(group, wants_block=True)
        await conn.settle()
        await conn.simple_query(f"LOCK TABLE {names} IN {mode} MODE{' NOWAIT' if body.get('nowait') else ''}")
    await dispatcher.run_on_node(dispatcher.coord.catalog_node, request, writes=False)
    return True
