"""The client's own two-phase commit: PREPARE TRANSACTION, COMMIT/ROLLBACK PREPARED, and the
`pg_prepared_xacts` the client sees (what XA transaction managers such as JTA use).

* PREPARE TRANSACTION 'gid' prepares the session's transaction on every node it holds (the
  coordinator's catalog server always among them, so an empty transaction is prepared too)
  under the node identifier `gridpg-u:<gid>`, all or none; then the GTM logs
  `gridpg-prepared:<gid>` with the nodes: the mark that the PREPARE completed.
* COMMIT PREPARED 'gid', from any coordinator, finds the nodes that hold it, logs the
  decision (`gridpg-commit:<gid>`) in the GTM, commits each under the commit fence and
  forgets both marks; a COMMIT PREPARED interrupted by a crash is finished by repeating it,
  and a ROLLBACK PREPARED after a logged decision is refused. ROLLBACK PREPARED rolls back
  every node that holds it (also what an interrupted PREPARE left behind).
* Node identifiers never look like gridpg's own (`gridpg_<gxid>_<coordinator>`), so the
  restart-time recovery of `txn.recovery` leaves them prepared.
* A statement that reads `pg_prepared_xacts` reads, in its place, the completed prepared
  transactions of the whole cluster, each once, under the client's identifier.

Not guaranteed: two sessions preparing the same identifier at the same moment through
different coordinators may both succeed (the identifier is checked cluster-wide first).
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from gridpg.errors import PgError
from gridpg.planner.text import splice
from gridpg.sql import parse as sqlparse
from gridpg.sql.quote import quote_literal

if TYPE_CHECKING:
    from gridpg.datanode.connection import BackendConnection
    from gridpg.frontend.coordinator import Coordinator
    from gridpg.frontend.statements import StatementRunner

NODE_PREFIX = "gridpg-u:"
PREPARED_MARK = "gridpg-prepared:"
COMMIT_MARK = "gridpg-commit:"
MAX_GID = 200 - 1  # PostgreSQL's GIDSIZE, terminator included


def node_gid(gid: str) -> str:
    """The identifier on the nodes (raises 22023 when PostgreSQL's limit is passed)."""
    full = NODE_PREFIX + gid
    if len(full.encode()) > MAX_GID:
        raise PgError("22023", f'transaction identifier "{gid}" is too long')
    return full


async def prepare(runner: StatementRunner, gid: str) -> None:
    """PREPARE TRANSACTION inside a block (the block ends either way)."""
    txn = runner.txn
    if runner.ddl_in_block or runner.sequence_ddl:
        await runner.end_transaction(commit=False)
        raise PgError("0A000", "PREPARE TRANSACTION after DDL is not supported by gridpg")
    target = node_gid(gid)
    if gid in {row[1] for row in await cluster_prepared(runner.coord, complete_only=False)}:
        await runner.end_transaction(commit=False)
        raise PgError("42710", f'transaction identifier "{gid}" is already in use')
    catalog = await txn.connection(runner.coord.catalog_node, wants_block=True)
    if (getattr(runner, "cursor_texts", None) and runner.coord.catalog_node not in txn.pinned
            and await _holds_only_cursor_rows(catalog)):
        # PostgreSQL drops the block's cursors at PREPARE; gridpg's cursors over distributed
        # tables read temp tables on the catalog server, which forbid PREPARE there. The
        # catalog server's block held nothing else (read locks on its empty copies, which the
        # datanodes' own locks stand for): an empty block is prepared in its place. The
        # rollback may undo the block's SETs there: the connection is not pooled as it is.
        await catalog.simple_query("ROLLBACK")
        await catalog.simple_query("BEGIN")
        txn.taint()
    if runner.state.changed_in_transaction:
        txn.taint()
    try:
        nodes = await txn.prepare_user(target)
    except BaseException:
        runner.state.rollback()
        raise
    runner.state.commit()  # PostgreSQL keeps a prepared transaction's SETs, as at COMMIT
    await runner.coord.gtm.txn_log_commit(PREPARED_MARK + gid, nodes)


# What the catalog server's block may hold for its cursors' rows to be dropped instead of
# prepared, read from the block's own locks (a pooled connection may carry what earlier
# transactions left in its session: temp relations, WITH HOLD cursors; they are not the
# block's and the rollback does not touch them): no lock but read locks on relations that
# are not temp (a FOR UPDATE's RowShareLock on the catalog's empty copy among them), any
# lock on gridpg's cursor tables and on temp TOAST relations (a temp relation's TOAST is
# reached only through the relation, whose own lock decides), read locks on other objects,
# the lock on the backend's temp schema its first temp table takes when an earlier backend
# of the same number left that schema (PostgreSQL's InitTempTableNamespace empties it under
# AccessExclusiveLock: in a long-running cluster, nearly always); and no WITH HOLD cursor
# declared in the block (PostgreSQL's own refusal then).
# (The session's locks are the block's but for advisory ones, which refuse as they are:
# pg_locks does not tell a session-level one from the block's.)
_ONLY_CURSOR_ROWS = r"""SELECT NOT EXISTS (
    SELECT 1 FROM pg_catalog.pg_locks l LEFT JOIN pg_catalog.pg_class c ON c.oid = l.relation
    LEFT JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
    WHERE l.pid = pg_catalog.pg_backend_pid() AND l.locktype NOT IN ('virtualxid', 'transactionid')
      AND NOT (l.locktype = 'relation' AND c.relnamespace = pg_catalog.pg_my_temp_schema()
               AND c.relname LIKE 'gp\_cursor\_%')
      AND NOT (l.locktype = 'relation' AND n.nspname LIKE 'pg\_toast\_temp\_%')
      AND NOT (l.locktype IN ('relation', 'object') AND l.mode IN ('AccessShareLock', 'RowShareLock')
               AND c.relnamespace IS DISTINCT FROM pg_catalog.pg_my_temp_schema())
      AND NOT (l.locktype = 'object' AND l.classid = 'pg_catalog.pg_namespace'::pg_catalog.regclass
               AND EXISTS (SELECT 1 FROM pg_catalog.pg_namespace t WHERE t.oid = l.objid
                           AND (t.oid = pg_catalog.pg_my_temp_schema() OR t.nspname LIKE 'pg\_toast\_temp\_%'))))
  AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_cursors
                  WHERE is_holdable AND creation_time >= pg_catalog.transaction_timestamp())"""


async def _holds_only_cursor_rows(catalog: BackendConnection) -> bool:
    results = await catalog.simple_query(_ONLY_CURSOR_ROWS)
    rows = next((r.rows for r in results if r.rows), [])
    return bool(rows) and rows[0][0] == "t"


async def finish(runner: StatementRunner, gid: str, commit: bool) -> None:
    """COMMIT PREPARED / ROLLBACK PREPARED, from any coordinator, outside a block."""
    word = "COMMIT PREPARED" if commit else "ROLLBACK PREPARED"
    if runner.txn.in_block:
        raise PgError("25001", f"{word} cannot run inside a transaction block")
    coord = runner.coord
    holders = {node: owner for node, g, owner in await _holders(coord) if g == gid}
    marks = {str(d.get("gid", "")) for d in await coord.gtm.txn_decisions()}
    if not holders or (commit and PREPARED_MARK + gid not in marks):
        await _forget_if_done(coord, gid, marks, holders)
        raise PgError("42704", f'prepared transaction with identifier "{gid}" does not exist')
    info = runner.session.info
    if not info.is_superuser and any(owner != runner.state.session_user for owner in holders.values()):
        raise PgError("42501", "permission denied to finish prepared transaction",
                      hint="Must be superuser or the user that prepared the transaction.")
    if not commit and COMMIT_MARK + gid in marks:
        raise PgError("55000", f'prepared transaction "{gid}" is being committed',
                      hint="COMMIT PREPARED completes it")
    target = node_gid(gid)
    if commit:
        await coord.gtm.txn_log_commit(COMMIT_MARK + gid, sorted(holders))
        await coord.commit_log.commit_fenced(lambda: _on_nodes(coord, list(holders), f"COMMIT PREPARED {quote_literal(target)}"))
    else:
        await _on_nodes(coord, list(holders), f"ROLLBACK PREPARED {quote_literal(target)}")
    for mark in (COMMIT_MARK + gid, PREPARED_MARK + gid):
        if mark in marks or commit:
            await coord.gtm.txn_forget(mark)


async def _forget_if_done(coord: Coordinator, gid: str, marks: set[str], holders: dict[str, str]) -> None:
    if not holders:
        for mark in (COMMIT_MARK + gid, PREPARED_MARK + gid):
            if mark in marks:
                await coord.gtm.txn_forget(mark)


def _all_nodes(coord: Coordinator) -> list[str]:
    return [coord.catalog_node, *(a.name for a in coord.other_catalogs), *coord.datanode_addresses]


async def _on_nodes(coord: Coordinator, nodes: list[str], sql: str) -> None:
    async def one(node: str) -> None:
        conn = await coord.internal_acquire(node)
        try:
            await conn.simple_query(sql)
        finally:
            coord.pools.pool(node).release(conn)

    results = await asyncio.gather(*(one(n) for n in nodes), return_exceptions=True)
    errors = [r for r in results if isinstance(r, BaseException)]
    if errors:
        raise errors[0]


async def _holders(coord: Coordinator) -> list[tuple[str, str, str]]:
    """(node, client's identifier, owner) of every user-prepared transaction on every node."""
    rows = await _gather(coord, "SELECT gid, owner::text FROM pg_catalog.pg_prepared_xacts "
                                f"WHERE gid LIKE {quote_literal(NODE_PREFIX + '%')}")
    return [(node, str(r[0])[len(NODE_PREFIX):], str(r[1])) for node, r in rows]


async def _gather(coord: Coordinator, sql: str) -> list[tuple[str, tuple[str | None, ...]]]:
    async def one(node: str) -> list[tuple[str, tuple[str | None, ...]]]:
        conn = await coord.internal_acquire(node)
        try:
            return [(node, row) for row in await conn.query(sql)]
        finally:
            coord.pools.pool(node).release(conn)

    out: list[tuple[str, tuple[str | None, ...]]] = []
    for part in await asyncio.gather(*(one(n) for n in _all_nodes(coord))):
        out += part
    return out


async def cluster_prepared(coord: Coordinator, complete_only: bool = True) -> list[tuple[str | None, ...]]:
    """(transaction, gid, prepared, owner, database) of each client-prepared transaction,
    once, the earliest node's values."""
    rows = await _gather(coord, "SELECT transaction::text, gid, prepared::text, owner::text, database::text "
                                "FROM pg_catalog.pg_prepared_xacts "
                                f"WHERE gid LIKE {quote_literal(NODE_PREFIX + '%')} ORDER BY prepared")
    marks = {str(d.get("gid", "")) for d in await coord.gtm.txn_decisions()} if complete_only else set()
    seen: dict[str, tuple[str | None, ...]] = {}
    for _, (xid, gid, prepared, owner, database) in rows:
        name = str(gid)[len(NODE_PREFIX):]
        if name not in seen and (not complete_only or PREPARED_MARK + name in marks):
            seen[name] = (xid, name, prepared, owner, database)
    return list(seen.values())


def reads_prepared_view(sql: str) -> bool:
    return "pg_prepared_xacts" in sql.lower()


async def rewrite_view(coord: Coordinator, sql: str) -> str:
    """`sql` with each reference to pg_prepared_xacts replaced by the cluster's list."""
    from gridpg.planner import analyze

    try:
        tree = sqlparse.parse_tree(sql)
    except PgError:
        return sql
    refs = [n["RangeVar"] for n in analyze._walk(tree) if isinstance(n, dict) and "RangeVar" in n
            and n["RangeVar"].get("relname") == "pg_prepared_xacts"
            and n["RangeVar"].get("schemaname") in (None, "pg_catalog")]
    if not refs:
        return sql
    subquery = _values_subquery(await cluster_prepared(coord))
    toks = sqlparse.tokens(sql)
    replacements = []
    for ref in refs:
        start = int(ref.get("location", 0))
        name_tok = next(t for t in toks if t.start >= start and sql[t.start : t.end + 1].lower() == "pg_prepared_xacts")
        text = subquery if ref.get("alias") else f"{subquery} AS pg_prepared_xacts"
        replacements.append((start, name_tok.end + 1, text))
    return splice(sql, replacements)


def _values_subquery(rows: list[tuple[str | None, ...]]) -> str:
    columns = "v.transaction::xid AS transaction, v.gid::text AS gid, v.prepared::timestamptz AS prepared, " \
              "v.owner::name AS owner, v.database::name AS database"
    if not rows:
        return ("(SELECT NULL::xid AS transaction, NULL::text AS gid, NULL::timestamptz AS prepared, "
                "NULL::name AS owner, NULL::name AS database WHERE false)")
    values = ", ".join("(" + ", ".join(quote_literal(str(v)) if v is not None else "NULL" for v in row) + ")"
                       for row in rows)
    return f"(SELECT {columns} FROM (VALUES {values}) AS v(transaction, gid, prepared, owner, database))"
