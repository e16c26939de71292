"""Table locks and constraint modes that must reach the datanodes, not only the catalog server.

`LOCK TABLE t` ran on the catalog server alone, which holds distributed tables empty: the
lock was granted and locked nothing where the rows are, so concurrent writers went on (a
silent loss of the mutual exclusion the client asked for). It now also takes the lock on
every datanode of each distributed or replicated table it names, inside the transaction's
blocks there (groups in a fixed order, so two sessions locking the same tables queue rather
than deadlock), without ONLY: a gridpg table's rows are in its shards, the children of the
datanode's table. The catalog server runs the client's statement last, for its checks and
errors, in a savepoint rolled back at once: the lock is not kept on its empty copies,
where the transaction's own work on other catalog connections would wait for it.

`SET CONSTRAINTS` changes when deferred constraints are checked, and those are checked by
the datanodes: it is run on every node of the transaction and on each node that joins it
later (as SET LOCAL is), so `SET CONSTRAINTS ALL IMMEDIATE` fails on a pending violation
as PostgreSQL's does. A constraint trigger of a HASH table cannot be named there: its
clones on the shard partitions (schema gridpg_shards on the datanodes) have no parent
constraint for SET CONSTRAINTS to follow, and PostgreSQL finds named constraints by the
search path, so `SET CONSTRAINTS t_check DEFERRED` left the rows' checks immediate (an
error at the INSERT that PostgreSQL defers to COMMIT, where the transaction may have put
things right). Naming one is refused (0A000); `SET CONSTRAINTS ALL` reaches them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gridpg.errors import FEATURE_NOT_SUPPORTED, NO_ACTIVE_SQL_TRANSACTION, PgError
from gridpg.planner import analyze
from gridpg.sql import parse as sqlparse
from gridpg.sql.quote import quote_literal, quote_qualified

if TYPE_CHECKING:
    from gridpg.datanode.connection import BackendConnection
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
        catalog = await dispatcher.runner.txn.connection(dispatcher.coord.catalog_node, wants_block=True)
        await _ensure_not_sharded_triggers(dispatcher, catalog, tree[kind].get("constraints") or [])
        await dispatcher.runner.txn.set_local(request.sql)
        from gridpg.pgwire import codec

        dispatcher.session.send(codec.build_command_complete("SET CONSTRAINTS"))
        return True
    return False


_CONSTRAINT_TRIGGERS_SQL = """
SELECT k.conname, n.nspname, c.relname FROM pg_catalog.pg_constraint k
JOIN pg_catalog.pg_class c ON c.oid = k.conrelid JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE k.contype = 't' AND k.conname IN ({names})"""


async def _ensure_not_sharded_triggers(dispatcher: Dispatcher, catalog: BackendConnection,
                                       constraints: list[dict[str, Any]]) -> None:
    """Refuse SET CONSTRAINTS naming a constraint trigger of a HASH table (module doc)."""
    from gridpg.executor.run import catalog_view, search_path

    named = [((c.get("RangeVar") or {}).get("schemaname"), str((c.get("RangeVar") or {}).get("relname", "")))
             for c in constraints]
    if not named:
        return  # ALL
    await catalog.settle()
    rows = await catalog.query(_CONSTRAINT_TRIGGERS_SQL.format(names=", ".join(quote_literal(n) for _, n in named)))
    view, path = catalog_view(dispatcher), list(search_path(dispatcher))
    for conname, schema, relname in rows:
        if not any(n == conname and (s == schema if s else schema in path) for s, n in named):
            continue
        table = view.resolve(analyze.RelRef(schema, relname or "", -1, None), path)
        if table is not None and table.method == "hash":
            raise PgError(FEATURE_NOT_SUPPORTED,
                          f"gridpg cannot set the mode of constraint trigger {conname} of {schema}.{relname} "
                          "by name: its copies on the table's shards are not found by it",
                          hint="Use SET CONSTRAINTS ALL DEFERRED (or IMMEDIATE).")


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
        txn.participants[group].locked = True
    await _check_on_catalog(dispatcher, request.sql)
    from gridpg.pgwire import codec

    dispatcher.session.send(codec.build_command_complete("LOCK TABLE"))
    return True


async def _check_on_catalog(dispatcher: Dispatcher, sql: str) -> None:
    """The client's LOCK on the catalog server, for PostgreSQL's checks and errors (names,
    privileges), then given back there: the catalog server's copies hold no rows to
    protect, and a lock kept on them made this transaction's own work on other catalog
    connections wait for it, forever (the loopback describing `INSERT INTO t` for a
    function the client called after `LOCK TABLE t IN EXCLUSIVE MODE`, a side connection's
    scratch table `AS SELECT ... FROM t`)."""
    conn = await dispatcher.runner.txn.connection(dispatcher.coord.catalog_node, wants_block=True)
    await conn.settle()
    await conn.simple_query(f"SAVEPOINT {_CHECK_SAVEPOINT}")
    await conn.simple_query(sql)
    await conn.simple_query(f"ROLLBACK TO SAVEPOINT {_CHECK_SAVEPOINT}; RELEASE SAVEPOINT {_CHECK_SAVEPOINT}")


_CHECK_SAVEPOINT = "gridpg_lock_check"
