"""Citus-style `create_distributed_table(table, column, colocate_with, shard_count)` and
`create_reference_table(table)`: (re)distribute an existing table, moving its rows.

The table's definition is read back from the catalog server (columns, defaults, NOT NULL,
primary/unique/check constraints, indexes), its rows are gathered into a catalog temp
table, the old placement is dropped on the datanodes and the new one created, and the
rows are routed back; metadata changes with it. One distributed transaction: all or none.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gridpg.catalog import store
from gridpg.errors import INVALID_PARAMETER_VALUE, UNDEFINED_TABLE, PgError
from gridpg.pgwire import codec
from gridpg.sql.quote import quote_ident, quote_literal, quote_qualified
from gridpg.sql.xl import DistributionSpec

if TYPE_CHECKING:
    from gridpg.datanode.connection import BackendConnection
    from gridpg.executor.dispatch import Dispatcher, ExecRequest


async def run(dispatcher: Dispatcher, request: ExecRequest, name: str, args: list[Any]) -> None:
    from gridpg.commands.ddl import DdlRunner
    from gridpg.planner.analyze import value_of
    from gridpg.planner.context import UNKNOWN, value_text

    def text_of(node: Any) -> str | None:
        value = value_of(node)
        text = value_text(value, request.bound()) if value is not None else UNKNOWN
        if text is UNKNOWN:
            raise PgError(INVALID_PARAMETER_VALUE, f"{name}() takes constant or parameter arguments")
        return text  # type: ignore[return-value]

    values = []
    named: dict[str, str | None] = {}
    for arg in args:
        if "NamedArgExpr" in arg:
            named[arg["NamedArgExpr"]["name"]] = text_of(arg["NamedArgExpr"]["arg"])
            continue
        values.append(text_of(arg))
    if not values:
        raise PgError(INVALID_PARAMETER_VALUE, f"{name}() needs a table name")
    table_name = values[0] or ""
    if name == "create_reference_table":
        spec = DistributionSpec("replication")
        shard_count = None
        colocate = None
    else:
        column = values[1] if len(values) > 1 else named.get("distribution_column")
        if not column:
            raise PgError(INVALID_PARAMETER_VALUE, "create_distributed_table() needs a distribution column")
        spec = DistributionSpec("hash", column)
        colocate = values[2] if len(values) > 2 else named.get("colocate_with", "default")
        count = values[3] if len(values) > 3 else named.get("shard_count")
        shard_count = int(count) if count else None
    ddl = DdlRunner(dispatcher)
    await _redistribute(dispatcher, ddl, table_name, spec, shard_count, colocate)
    session = dispatcher.session
    if request.simple:
        session.send(codec.build_row_description([codec.Column(name, type_oid=2278)]))
    session.send(codec.build_data_row([b""]))
    await ddl.finish("SELECT 1")


async def _redistribute(dispatcher: Dispatcher, ddl: Any, table_name: str, spec: DistributionSpec,
                        shard_count: int | None, colocate: str | None) -> None:
    catalog = await ddl.conn(dispatcher.coord.catalog_node)
    rows = await catalog.query(
        "SELECT n.nspname, c.relname FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n "
        f"ON n.oid = c.relnamespace WHERE c.oid = pg_catalog.to_regclass({quote_literal(table_name)})"
    )
    if not rows:
        raise PgError(UNDEFINED_TABLE, f'relation "{table_name}" does not exist')
    schema, name = rows[0][0] or "", rows[0][1] or ""
    qualified = quote_qualified(schema, name)
    snapshot = dispatcher.runner.snapshot()
    old = snapshot.table(schema, name)
    create_sql, extra_sql = await _definition(catalog, qualified)
    # 1. the rows, into a temp table on a catalog connection outside the 2PC transaction
    #    (PostgreSQL refuses PREPARE TRANSACTION after touching temp tables)
    pool = dispatcher.coord.pools.pool(dispatcher.coord.catalog_node)
    staging = await dispatcher.coord.internal_acquire(dispatcher.coord.catalog_node)
    try:
        await _move(dispatcher, ddl, catalog, staging, schema, name, qualified, old, spec,
                    shard_count, colocate, create_sql, extra_sql)
    finally:
        try:
            await staging.simple_query("DROP TABLE IF EXISTS pg_temp.gp_redistribute")
        except PgError:
            staging.broken = True
        pool.release(staging)


async def _move(dispatcher: Dispatcher, ddl: Any, catalog: BackendConnection, staging: BackendConnection,
                schema: str, name: str, qualified: str, old: Any, spec: DistributionSpec,
                shard_count: int | None, colocate: str | None, create_sql: str, extra_sql: str) -> None:
    temp = "gp_redistribute"
    await staging.simple_query(f"CREATE TEMP TABLE {temp} (LIKE {qualified})")
    if old is not None:
        from gridpg.executor.multi import copy_rows_to_catalog

        groups = old.groups[:1] if old.method == "replication" else old.groups
        for group in groups:
            await ddl.conn(group)
        await copy_rows_to_catalog(dispatcher, [(g, f"SELECT * FROM {qualified}") for g in groups],
                                   staging, f"pg_temp.{temp}")
        for group in old.groups:
            await (await ddl.conn(group)).simple_query(f"DROP TABLE {qualified}")
        for node in ddl.catalog_nodes():
            await (await ddl.conn(node)).simple_query(store.sql_delete_dist_table(schema, name))
    else:
        await staging.simple_query(f"INSERT INTO pg_temp.{temp} SELECT * FROM ONLY {qualified}")
        await catalog.simple_query(f"TRUNCATE ONLY {qualified}")
    await dispatcher.runner.load_private_snapshot()
    # 2. the new placement and metadata, as CREATE TABLE would make them
    columns, keys, fks = (await ddl._inspect(catalog, {"schemaname": schema, "relname": name}))[2:]
    table = ddl._decide(schema, name, columns, keys, fks, spec, shard_count, colocate)
    from gridpg.commands.ddl import datanode_create_statements

    for group, sql in datanode_create_statements(create_sql, table, ddl._placement(table)).items():
        conn = await ddl.conn(group)
        await conn.simple_query(sql)
        if extra_sql:
            await conn.simple_query(extra_sql)
    await ddl._write_metadata(table)
    await dispatcher.runner.load_private_snapshot()
    # 3. the rows, routed to their new nodes
    from gridpg.executor.dml import CopyRouter, _copy_routed

    chunks = await staging.copy_out(f"COPY pg_temp.{temp} TO STDOUT")
    names = [c.name for c in columns]
    router = CopyRouter(dispatcher, table, names, "text", "\t", None)

    async def source():  # type: ignore[no-untyped-def]
        for chunk in chunks:
            yield chunk

    copy_sql = f"COPY {qualified} ({', '.join(quote_ident(n) for n in names)}) FROM STDIN"
    await _copy_routed(dispatcher, table, copy_sql, router, source(), commit=False)


async def _definition(conn: BackendConnection, qualified: str) -> tuple[str, str]:
    """CREATE TABLE text (columns, defaults, constraints) and the indexes, from the catalog."""
    regclass = f"pg_catalog.to_regclass({quote_literal(qualified)})"
    columns = await conn.query(
        "SELECT quote_ident(a.attname) || ' ' || pg_catalog.format_type(a.atttypid, a.atttypmod) "
        "|| CASE WHEN a.attnotnull THEN ' NOT NULL' ELSE '' END "
        "|| coalesce(' DEFAULT ' || pg_catalog.pg_get_expr(d.adbin, d.adrelid), '') "
        "FROM pg_catalog.pg_attribute a LEFT JOIN pg_catalog.pg_attrdef d ON d.adrelid = a.attrelid "
        f"AND d.adnum = a.attnum WHERE a.attrelid = {regclass} AND a.attnum > 0 AND NOT a.attisdropped "
        "ORDER BY a.attnum"
    )
    constraints = await conn.query(
        "SELECT 'CONSTRAINT ' || quote_ident(conname) || ' ' || pg_catalog.pg_get_constraintdef(oid) "
        f"FROM pg_catalog.pg_constraint WHERE conrelid = {regclass} AND contype IN ('p', 'u', 'c') ORDER BY oid"
    )
    indexes = await conn.query(
        "SELECT pg_catalog.pg_get_indexdef(i.indexrelid) FROM pg_catalog.pg_index i "
        f"WHERE i.indrelid = {regclass} AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_constraint c "
        "WHERE c.conindid = i.indexrelid)"
    )
    parts = [r[0] or "" for r in columns] + [r[0] or "" for r in constraints]
    create = f"CREATE TABLE {qualified} ({', '.join(parts)})"
    extra = "; ".join(r[0] or "" for r in indexes)
    return create, extra
