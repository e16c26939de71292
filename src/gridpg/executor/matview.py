"""Materialized views over distributed tables: CREATE and REFRESH.

Where the rows live (the Citus way, with XL's replication): the view itself is created as
written on every catalog server, where PostgreSQL keeps its definition, its columns, its
indexes, `pg_matviews`, `relispopulated`, the dependencies on its tables and every check
of REFRESH (ownership, CONCURRENTLY without a unique index or on a view not populated, with
WITH NO DATA); there it runs over the empty copies of the tables, so it holds no rows. The
rows are a REPLICATION table of the same name and columns on every datanode, registered in
the metadata: reads, joins with distributed tables and indexes plan as for any reference
table. REFRESH runs the same statement on the catalog servers (PostgreSQL's checks, the
populated flag), then empties the datanode tables (TRUNCATE; DELETE for CONCURRENTLY, so
readers keep the old rows until commit) and fills them with the view's query
(`pg_get_viewdef`) run through the cluster, all in one distributed transaction.
planner/matview.py refuses writes into one (42809), row locks on one (42809) and reads
of one not populated (55000), as PostgreSQL does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gridpg.catalog.model import DistTable
from gridpg.errors import PgError
from gridpg.pgwire import codec
from gridpg.sql.parse import node_type, tokens
from gridpg.sql.quote import quote_ident, quote_literal, quote_qualified

if TYPE_CHECKING:
    from gridpg.commands.ddl import DdlRunner
    from gridpg.datanode.connection import BackendConnection
    from gridpg.executor.dispatch import Dispatcher, ExecRequest


async def run(dispatcher: Dispatcher, request: ExecRequest, tree: dict[str, Any]) -> None:
    if node_type(tree) == "CreateTableAsStmt":
        await create(dispatcher, request, tree["CreateTableAsStmt"])
    else:
        await refresh(dispatcher, request, tree["RefreshMatViewStmt"])


async def create(dispatcher: Dispatcher, request: ExecRequest, body: dict[str, Any]) -> None:
    from gridpg.commands.ddl import DdlRunner
    from gridpg.executor.dml import _creation_name_taken, fill_table

    into = body["into"]
    rel = into["rel"]
    if body.get("if_not_exists") and await _creation_name_taken(dispatcher, rel):
        dispatcher.session.say(f'relation "{rel["relname"]}" already exists, skipping',
                               sqlstate="42P07")
        dispatcher.session.send(codec.build_command_complete("CREATE MATERIALIZED VIEW"))
        return
    with_data = not into.get("skipData")
    async with dispatcher.runner.statement_transaction():
        ddl = DdlRunner(dispatcher)
        await _on_catalogs(ddl, request.sql)
        own = await ddl.conn(dispatcher.coord.catalog_node)
        schema, name = await _resolved(own, rel)
        columns, definition = await _describe(own, schema, name)
        table = DistTable(schema, name, "replication", None, None, None, None, tuple(ddl.all_groups()))
        create_sql = (f"CREATE TABLE {quote_qualified(schema, name)} ("
                      + ", ".join(f"{quote_ident(c)} {t}" for c, t in columns) + ")")
        for group in table.groups:
            await (await ddl.conn(group)).simple_query(create_sql)
        await ddl._write_metadata(table)
        await _catalog_moved(dispatcher)
        count = await fill_table(dispatcher, table, [c for c, _ in columns], definition) if with_data else 0
    tag = f"SELECT {count}" if with_data else "CREATE MATERIALIZED VIEW"
    dispatcher.session.send(codec.build_command_complete(tag))


async def refresh(dispatcher: Dispatcher, request: ExecRequest, body: dict[str, Any]) -> None:
    from gridpg.commands.ddl import DdlRunner

    concurrent = bool(body.get("concurrent"))
    async with dispatcher.runner.statement_transaction():
        ddl = DdlRunner(dispatcher)
        # PostgreSQL's checks (ownership, the kind of relation) and relispopulated; its
        # CONCURRENTLY form would take a temp table, and a transaction that used one
        # cannot PREPARE: the plain form, after CONCURRENTLY's own checks
        own = await ddl.conn(dispatcher.coord.catalog_node)
        if concurrent:
            await _ensure_concurrent_refresh(own, body)
        await _on_catalogs(ddl, _without_concurrently(request.sql) if concurrent else request.sql)
        schema, name = await _resolved(own, body["relation"])
        table = ddl.snapshot.table(schema, name)
        if table is None and not concurrent:
            raise PgError("XX000", f'materialized view "{name}" has no metadata')
        if table is not None:
            await _refresh_rows(dispatcher, ddl, own, body, table, concurrent)
        # (else a view over no distributed table, whose CONCURRENTLY planner/core.py sends
        # here: its rows are the catalog servers' own, refreshed by the plain form above)
    dispatcher.session.send(codec.build_command_complete("REFRESH MATERIALIZED VIEW"))


async def _refresh_rows(dispatcher: Dispatcher, ddl: DdlRunner, own: BackendConnection, body: dict[str, Any],
                        table: DistTable, concurrent: bool) -> None:
    """The datanodes' rows of a view over distributed tables, emptied and filled again."""
    from gridpg.executor.dml import fill_table

    columns, definition = await _describe(own, table.schema, table.name)
    empty = (f"DELETE FROM {quote_qualified(table.schema, table.name)}" if concurrent
             else f"TRUNCATE {quote_qualified(table.schema, table.name)}")
    for group in table.groups:
        await (await ddl.conn(group)).simple_query(empty)
    if (table.key in ddl.snapshot.unpopulated) != bool(body.get("skipData")):
        await _catalog_moved(dispatcher)  # populated or emptied: planning must know
    if concurrent:
        await _fill_concurrently(dispatcher, table, columns, definition)
    elif not body.get("skipData"):
        await fill_table(dispatcher, table, [c for c, _ in columns], definition)


_SAVEPOINT = "gridpg_matview_refresh"


async def _fill_concurrently(dispatcher: Dispatcher, table: DistTable, columns: list[tuple[str, str]],
                             definition: str) -> None:
    """The fill of REFRESH ... CONCURRENTLY. PostgreSQL first checks the new rows for
    duplicates without NULLs (21000); here the unique index every such view has refuses
    them first (23505), so on that error the rows are checked for duplicates to give
    PostgreSQL's error (under a savepoint, which the failed fill is rolled back to)."""
    from gridpg.executor.dml import fill_table, query_as_copy

    txn = dispatcher.runner.txn
    await txn.savepoint(_SAVEPOINT)
    try:
        await fill_table(dispatcher, table, [c for c, _ in columns], definition)
    except PgError as exc:
        if exc.sqlstate != "23505":
            raise
        await txn.rollback_to(_SAVEPOINT)
        names = ", ".join(quote_ident(c) for c, _ in columns)
        not_null = " AND ".join(f"{quote_ident(c)} IS NOT NULL" for c, _ in columns)
        duplicates = await query_as_copy(
            dispatcher, f"SELECT 1 FROM ({definition}) AS newdata ({names}) WHERE {not_null} "
                        f"GROUP BY {names} HAVING count(*) > 1 LIMIT 1")
        if any(chunk.strip() for chunk in duplicates):
            raise PgError("21000", f'new data for materialized view "{table.name}" contains duplicate '
                                   "rows without any null columns") from None
        raise
    await txn.release(_SAVEPOINT)


async def _ensure_concurrent_refresh(conn: BackendConnection, body: dict[str, Any]) -> None:
    """REFRESH ... CONCURRENTLY's checks, in PostgreSQL's order and with its errors: the
    view populated, not WITH NO DATA, a usable unique index (btree, immediate, valid, no
    WHERE, on plain columns only)."""
    schema, name = await _resolved(conn, body["relation"])
    regclass = f"pg_catalog.to_regclass({quote_literal(quote_qualified(schema, name))})"
    rows = await conn.query(
        f"SELECT c.relkind, c.relispopulated, EXISTS (SELECT 1 FROM pg_catalog.pg_index i "
        "JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid JOIN pg_catalog.pg_am am ON am.oid = ic.relam "
        "WHERE i.indrelid = c.oid AND i.indisunique AND i.indimmediate AND i.indisvalid "
        "AND am.amname = 'btree' AND i.indpred IS NULL AND i.indnkeyatts > 0 "
        "AND NOT (0 = ANY (i.indkey::int2[]))) "
        f"FROM pg_catalog.pg_class c WHERE c.oid = {regclass}")
    if not rows or rows[0][0] != "m":
        return  # the statement itself fails on the catalog server with PostgreSQL's error
    if rows[0][1] != "t":
        raise PgError("0A000", "CONCURRENTLY cannot be used when the materialized view is not populated")
    if body.get("skipData"):
        raise PgError("42601", "CONCURRENTLY and WITH NO DATA options cannot be used together")
    if rows[0][2] != "t":
        raise PgError("55000", f'cannot refresh materialized view "{quote_qualified(schema, name)}" concurrently',
                      hint="Create a unique index with no WHERE clause on one or more columns "
                           "of the materialized view.")


def _without_concurrently(sql: str) -> str:
    """The statement without its CONCURRENTLY (by the scanner's tokens)."""
    for token in tokens(sql):
        if token.name == "CONCURRENTLY":
            return sql[:token.start] + sql[token.end + 1:]
    return sql


async def _on_catalogs(ddl: DdlRunner, sql: str) -> None:
    """The statement as written on every catalog server (the coordinator's own first-named
    order, so two coordinators queue); its notices reach the client once."""
    await ddl.on_catalog_servers(sql, relay_notices=True)


async def _catalog_moved(dispatcher: Dispatcher) -> None:
    """The transaction's own view of the catalog (the new table, the populated flag);
    every coordinator reloads when it commits."""
    dispatcher.runner.ddl_in_block = True
    dispatcher.runner.ddl_in_block_quiet = False
    await dispatcher.runner.load_private_snapshot()


async def _resolved(conn: BackendConnection, rel: dict[str, Any]) -> tuple[str, str]:
    qualified = quote_qualified(rel.get("schemaname"), rel["relname"])
    rows = await conn.query(
        "SELECT n.nspname, c.relname FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n "
        f"ON n.oid = c.relnamespace WHERE c.oid = pg_catalog.to_regclass({quote_literal(qualified)})")
    if not rows:
        raise PgError("42P01", f'relation "{rel["relname"]}" does not exist')
    return rows[0][0] or "", rows[0][1] or ""


async def _describe(conn: BackendConnection, schema: str, name: str) -> tuple[list[tuple[str, str]], str]:
    """The view's columns (name, type with its modifier and a collation other than the
    type's) and its query, as PostgreSQL keeps them."""
    regclass = f"pg_catalog.to_regclass({quote_literal(quote_qualified(schema, name))})"
    rows = await conn.query(
        "SELECT a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod) || CASE WHEN "
        "a.attcollation <> t.typcollation THEN ' COLLATE ' || pg_catalog.quote_ident(cn.nspname) "
        "|| '.' || pg_catalog.quote_ident(co.collname) ELSE '' END "
        "FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_type t ON t.oid = a.atttypid "
        "LEFT JOIN pg_catalog.pg_collation co ON co.oid = a.attcollation "
        "LEFT JOIN pg_catalog.pg_namespace cn ON cn.oid = co.collnamespace "
        f"WHERE a.attrelid = {regclass} AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum")
    columns = [(r[0] or "", r[1] or "") for r in rows]
    definition = await conn.query(f"SELECT pg_catalog.pg_get_viewdef({regclass})")
    return columns, (definition[0][0] or "").strip().rstrip(";")
