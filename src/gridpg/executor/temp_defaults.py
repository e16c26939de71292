"""An INSERT into a session's temp table with its transaction-time defaults (`created_at
timestamptz DEFAULT now()`, CURRENT_DATE) given the statement's pinned instant.

Why: a temp table lives on the session's catalog server, which evaluates such a default
with its own transaction start, while the statement's own `now()` was pinned by the
coordinator (sql/xact_time.py) to another instant: `INSERT INTO tt DEFAULT VALUES
RETURNING created_at = now()` was false where PostgreSQL says true. The defaults are
given explicitly (`xact_time.pin_insert_defaults`, as for a distributed table) inside a
block (the block's now() may be the coordinator's clock, read before the catalog server
joined) and outside one when the statement's text holds the pinned instant; a statement
outside a block reading no time is left to the catalog server, whose one transaction then
gives its defaults and its trigger functions one start, as PostgreSQL does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gridpg.errors import PgError
from gridpg.sql import parse as sqlparse
from gridpg.sql import xact_time
from gridpg.sql.quote import quote_ident, quote_literal

if TYPE_CHECKING:
    from gridpg.datanode.connection import BackendConnection
    from gridpg.executor.dispatch import Dispatcher


async def pinned_insert(dispatcher: Dispatcher, catalog: BackendConnection, sql: str) -> str:
    """`sql` (an INSERT into a temp table, run on `catalog`) with its time defaults pinned,
    or `sql` as it is."""
    if not should_pin(dispatcher, sql):
        return sql
    try:
        tree = sqlparse.parse_tree(sql)
    except PgError:
        return sql  # (the catalog server reports it)
    if sqlparse.node_type(tree) != "InsertStmt":
        return sql
    columns = await _columns(catalog, (tree.get("InsertStmt") or {}).get("relation") or {})
    timed = _timed(columns)
    special = xact_time.may_mention_time(sql)
    if not timed and not special:
        return sql
    txn = dispatcher.runner.txn
    await txn.read_block_instant(dispatcher.coord.catalog_node)
    pins = txn.time_pins()
    pinned = {n: xact_time.pin_expression(d, pins) or "" for n, d in timed.items()}
    types = {n: t for n, _, t in columns} if special else None
    return xact_time.pin_insert_defaults(sql, tree, [n for n, _, _ in columns], pinned, pins, types,
                                         returning_ok=True) or sql


def should_pin(dispatcher: Dispatcher, sql: str) -> bool:
    """In a block, or outside one when the text holds the statement's pinned instant."""
    txn = dispatcher.runner.txn
    pins = txn.time_pins()
    return txn.in_block or bool(pins.transaction and pins.transaction in sql)


async def timed_defaults(dispatcher: Dispatcher, relation: dict[str, Any]) -> dict[str, str]:
    """The time defaults (column -> expression) of the temp table a statement's RangeVar
    names (`UPDATE tt SET c = DEFAULT`: executor/update_defaults.py)."""
    catalog = await dispatcher.runner.txn.connection(dispatcher.coord.catalog_node, wants_block=False)
    return _timed(await _columns(catalog, relation))


def _timed(columns: list[tuple[str, Any, int]]) -> dict[str, str]:
    return {n: d for n, d, _ in columns if d and xact_time.mentions_time(d) and "nextval(" not in d.lower()}


async def _columns(catalog: BackendConnection, relation: dict[str, Any]) -> list[tuple[str, Any, int]]:
    """(name, default expression or None, type oid) of the columns of the table a RangeVar
    names, in order; generated columns' expressions are not defaults."""
    name = quote_ident(relation.get("relname", ""))
    if relation.get("schemaname"):
        name = f"{quote_ident(relation['schemaname'])}.{name}"
    rows = await catalog.query(
        "SELECT a.attname, CASE WHEN a.attgenerated = '' THEN pg_catalog.pg_get_expr(d.adbin, d.adrelid) END, "
        "a.atttypid FROM pg_catalog.pg_attribute a LEFT JOIN pg_catalog.pg_attrdef d "
        "ON d.adrelid = a.attrelid AND d.adnum = a.attnum "
        f"WHERE a.attrelid = pg_catalog.to_regclass({quote_literal(name)}) AND a.attnum > 0 "
        "AND NOT a.attisdropped ORDER BY a.attnum")
    return [(r[0], r[1], int(r[2])) for r in rows]
