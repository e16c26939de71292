"""TRUNCATE of distributed tables run by server-side code (a function's `TRUNCATE t`,
reaching the coordinator through the loopback while the caller's catalog connection is
busy running the function).

Elsewhere TRUNCATE is DDL on every catalog server and every datanode. The caller's catalog
server cannot take it in the caller's transaction (that connection is running the code),
and needs not: its copies of distributed tables are empty. So the datanodes (and the other
catalog servers) truncate, and what PostgreSQL checks on the skipped server before it
truncates, a foreign key from a table the statement does not truncate, is checked here on
another connection to it (0A000 as PostgreSQL says it). TRUNCATE ... RESTART IDENTITY
(the catalog server's sequences serve the block) and CASCADE (the set of tables is the
catalog server's to compute) keep the refusal, as does a relation that is not a
distributed table. Must not: run anything on the caller's busy catalog connection.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gridpg.errors import FEATURE_NOT_SUPPORTED, PgError
from gridpg.sql.parse import parse_tree
from gridpg.sql.quote import quote_literal, quote_qualified

if TYPE_CHECKING:
    from gridpg.commands.ddl import DdlRunner


async def skipped_catalog(ddl: DdlRunner, sql: str) -> str | None:
    """The caller's busy catalog server when this TRUNCATE, run by server-side code, may
    leave it out (its foreign keys checked first); None otherwise (then the statement takes
    the usual path, which refuses it there)."""
    txn = ddl.runner.txn
    busy = getattr(txn, "busy_node", None)
    node = busy() if callable(busy) else None
    if node is None:
        return None
    tables = _distributed_targets(ddl, sql)
    if tables is None:
        return None
    side = await txn.connection(node, wants_block=False)  # a connection of its own (loopback.py)
    await side.settle()
    names = ", ".join(f"pg_catalog.to_regclass({quote_literal(quote_qualified(s, n))})" for s, n in tables)
    rows = await side.query(_REFERENCING_SQL.format(names=names))
    if rows:
        referencing, referenced = rows[0]
        raise PgError(FEATURE_NOT_SUPPORTED, "cannot truncate a table referenced in a foreign key constraint",
                      detail=f'Table "{referencing}" references "{referenced}".',
                      hint=f'Truncate table "{referencing}" at the same time, or use TRUNCATE ... CASCADE.')
    return str(node)


_REFERENCING_SQL = (
    "SELECT c.conrelid::pg_catalog.regclass::pg_catalog.text, c.confrelid::pg_catalog.regclass::pg_catalog.text "
    "FROM pg_catalog.pg_constraint c WHERE c.contype = 'f' "
    "AND c.confrelid = ANY (ARRAY[{names}]) AND c.conrelid <> ALL (ARRAY[{names}]) LIMIT 1")


def _distributed_targets(ddl: DdlRunner, sql: str) -> list[tuple[str, str]] | None:
    """(schema, name) of each table a plain TRUNCATE names, when every one is distributed;
    None for RESTART IDENTITY, CASCADE, or any other relation."""
    from gridpg.executor.run import search_path
    from gridpg.planner.analyze import RelRef
    from gridpg.planner.context import resolve

    body: dict[str, Any] = parse_tree(sql).get("TruncateStmt") or {}
    if not body or body.get("restart_seqs") or body.get("behavior") == "DROP_CASCADE":
        return None
    path = list(search_path(ddl.dispatcher))
    out = []
    for item in body.get("relations", []):
        rel = item.get("RangeVar") or {}
        table = resolve(ddl.snapshot, RelRef(rel.get("schemaname"), str(rel.get("relname", "")), -1, None), path)
        if table is None or not rel.get("inh", True) or ddl.snapshot.is_matview(table):  # (the usual path)
            return None
        out.append((table.schema, table.name))
    return out or None
