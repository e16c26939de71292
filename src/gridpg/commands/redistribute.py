"""Citus-style `create_distributed_table(table, column, colocate_with, shard_count)` and
`create_reference_table(table)`: (re)distribute an existing table, moving its rows.

The table's definition is read back from the catalog server (columns, defaults, NOT NULL,
primary/unique/check constraints, indexes), its rows are gathered into a catalog temp
table, the old placement is dropped on the datanodes and the new one created, and the
rows are routed back; metadata changes with it. One distributed transaction: all or none.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from gridpg.catalog import store
from gridpg.catalog.model import is_colocated
from gridpg.errors import INVALID_PARAMETER_VALUE, UNDEFINED_TABLE, PgError
from gridpg.pgwire import codec
from gridpg.sql.quote import quote_ident, quote_literal, quote_qualified
from gridpg.sql.xl import DistributionSpec

if TYPE_CHECKING:
    from gridpg.datanode.connection import BackendConnection
    from gridpg.executor.dispatch import Dispatcher, ExecRequest

# Citus's signatures: (argument, default) in order; "" marks a required argument.
SIGNATURES: dict[str, tuple[tuple[str, str | None], ...]] = {
    "create_distributed_table": (("table_name", ""), ("distribution_column", ""),
                                 ("distribution_type", "hash"), ("colocate_with", "default"),
                                 ("shard_count", None)),
    "create_reference_table": (("table_name", ""),),
    "undistribute_table": (("table_name", ""), ("cascade_via_foreign_keys", "false")),
    "alter_distributed_table": (("table_name", ""), ("distribution_column", None), ("shard_count", None),
                                ("colocate_with", None), ("cascade_to_colocated", None)),
}
FUNCTIONS = tuple(SIGNATURES)
_TRUE = ("true", "t", "on", "1", "yes", "y")


def bind_arguments(name: str, positional: list[str | None], named: dict[str, str | None]) -> dict[str, str | None]:
    """Citus's argument rules: positional first, then by name, defaults for the rest;
    colocate_with's 'default' and 'none' in any case."""
    signature = SIGNATURES[name]
    if len(positional) > len(signature):
        raise PgError("42883", f"function {name} with {len(positional)} arguments does not exist")
    out: dict[str, str | None] = {}
    for (arg, _), value in zip(signature, positional, strict=False):
        out[arg] = value
    known = {arg for arg, _ in signature}
    for arg, value in named.items():
        if arg not in known:
            raise PgError("42883", f'function {name} has no argument "{arg}"')
        if arg in out:
            raise PgError("42601", f'argument "{arg}" of {name} given twice')
        out[arg] = value
    for arg, default in signature:
        if arg not in out:
            if default == "":
                raise PgError("42883", f'{name}() needs its argument "{arg}"')
            out[arg] = default
    colocate = out.get("colocate_with")
    if colocate is not None and colocate.lower() in ("default", "none"):
        out["colocate_with"] = colocate.lower()  # Citus compares these words without case
    return out


async def run(dispatcher: Dispatcher, request: ExecRequest, calls: list[tuple[str, list[Any]]]) -> None:
    """The calls of one SELECT's target list, in order, in one transaction (each later call
    plans with the metadata the earlier ones changed); one row of void columns."""
    from gridpg.commands.ddl import DdlRunner

    runner = dispatcher.runner
    try:
        for i, (name, args) in enumerate(calls):
            ddl = DdlRunner(dispatcher)  # one per call: a runner keeps what its call decided
            positional, named = _argument_texts(name, args, request)
            bound = bind_arguments(name, positional, named)
            schema, table = await _resolve(ddl, dispatcher, bound["table_name"] or "")
            colocated = await _colocated_to_cascade(ddl, dispatcher, name, bound, schema, table)
            if name == "create_distributed_table" and bound["distribution_column"] is None:
                spec, shard_count, colocate = await _single_shard(ddl, dispatcher, bound), None, None
            else:
                spec, shard_count, colocate = _target(name, bound, dispatcher, schema, table)
            await _ensure_distributable(await ddl.conn(dispatcher.coord.catalog_node), quote_qualified(schema, table))
            await redistribute(dispatcher, ddl, quote_qualified(schema, table), spec, shard_count, colocate)
            for other in colocated:  # each then placed as the altered table is
                await runner.load_private_snapshot()
                ddl = DdlRunner(dispatcher)
                await redistribute(dispatcher, ddl, other, DistributionSpec("hash", colocated[other]), None,
                                   quote_qualified(schema, table))
            if i < len(calls) - 1:
                await runner.load_private_snapshot()
    except BaseException:
        if not runner.txn.in_block:  # the statement's own transaction ends with it
            runner.private_snapshot = None
        raise
    session = dispatcher.session
    if request.simple:
        session.send(codec.build_row_description([codec.Column(name, type_oid=2278) for name, _ in calls]))
    session.send(codec.build_data_row([b""] * len(calls)))
    await ddl.finish("SELECT 1")


async def _colocated_to_cascade(ddl: Any, dispatcher: Dispatcher, name: str, bound: dict[str, str | None],
                                schema: str, table: str) -> dict[str, str]:
    """alter_distributed_table(..., cascade_to_colocated => true): the other tables
    colocated with the table (qualified name -> distribution column), which follow it to
    its new shard count or colocation (Citus's rules for the arguments); partitions follow
    their parents by themselves."""
    if name != "alter_distributed_table" or str(bound["cascade_to_colocated"]).lower() not in _TRUE:
        return {}
    if bound["distribution_column"]:
        raise PgError(INVALID_PARAMETER_VALUE, "distribution_column cannot be cascaded to colocated tables")
    if not bound["shard_count"] and not bound["colocate_with"]:
        raise PgError(INVALID_PARAMETER_VALUE, "shard_count or colocate_with is necessary for cascading "
                      "to colocated tables")
    if (bound["colocate_with"] or "").lower() == "none":
        raise PgError(INVALID_PARAMETER_VALUE, "colocate_with := 'none' cannot be cascaded to colocated tables")
    bound["cascade_to_colocated"] = "false"
    snapshot = dispatcher.runner.snapshot()
    current = snapshot.table(schema, table)
    if current is None or current.method != "hash":
        return {}
    others = {quote_qualified(t.schema, t.name): t.column or "" for t in snapshot.tables
              if t.key != current.key and t.method == "hash" and is_colocated(current, t)}
    if not others:
        return {}
    catalog = await ddl.conn(dispatcher.coord.catalog_node)
    names = ", ".join(quote_literal(q) for q in others)
    rows = await catalog.query(
        f"SELECT n FROM pg_catalog.unnest(ARRAY[{names}]::text[]) AS n JOIN pg_catalog.pg_class c "
        "ON c.oid = pg_catalog.to_regclass(n) WHERE NOT c.relispartition ORDER BY n")
    return {r[0]: others[r[0]] for r in rows if r[0] is not None}


def _argument_texts(name: str, args: list[Any], request: ExecRequest) -> tuple[list[str | None], dict[str, str | None]]:
    from gridpg.planner.analyze import value_of
    from gridpg.planner.context import UNKNOWN, value_text

    def text_of(node: Any) -> str | None:
        value = value_of(node)
        text = value_text(value, request.bound()) if value is not None else UNKNOWN
        if text is UNKNOWN:
            raise PgError(INVALID_PARAMETER_VALUE, f"{name}() takes constant or parameter arguments")
        return text  # type: ignore[return-value]

    positional: list[str | None] = []
    named: dict[str, str | None] = {}
    for arg in args:
        if "NamedArgExpr" in arg:
            named[arg["NamedArgExpr"]["name"]] = text_of(arg["NamedArgExpr"]["arg"])
        else:
            positional.append(text_of(arg))
    return positional, named


async def _resolve(ddl: Any, dispatcher: Dispatcher, table_name: str) -> tuple[str, str]:
    """(schema, table) of a regclass argument, through the session's search_path."""
    catalog = await ddl.conn(dispatcher.coord.catalog_node)
    rows = await catalog.query(
        "SELECT n.nspname, c.relname, c.relkind FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n "
        f"ON n.oid = c.relnamespace WHERE c.oid = pg_catalog.to_regclass({quote_literal(table_name)})"
    )
    if not rows:
        raise PgError(UNDEFINED_TABLE, f'relation "{table_name}" does not exist')
    if rows[0][2] not in ("r", "p"):
        raise PgError("42809", f'"{table_name}" is not a table')
    return rows[0][0] or "", rows[0][1] or ""


def _target(name: str, bound: dict[str, str | None], dispatcher: Dispatcher, schema: str,
            table_name: str) -> tuple[DistributionSpec, int | None, str | None]:
    """The distribution asked for: (spec, shard count, colocate_with)."""
    if name == "create_reference_table":
        return DistributionSpec("replication"), None, None
    if name == "undistribute_table":
        if str(bound["cascade_via_foreign_keys"]).lower() in _TRUE:
            raise PgError("0A000", "undistribute_table(cascade_via_foreign_keys => true) is not supported by gridpg")
        # gridpg has no coordinator-local tables: the table is kept whole on one datanode group.
        first = dispatcher.runner.snapshot().datanode_groups()[0].name
        return DistributionSpec("roundrobin", nodes=(first,)), None, None
    if name == "alter_distributed_table":
        return _altered(bound, dispatcher.runner.snapshot().table(schema, table_name), table_name)
    kind = str(bound["distribution_type"] or "hash").lower()
    if kind in ("append", "range"):
        raise PgError("0A000", f"distribution type {kind} is not supported by gridpg", hint="use hash")
    if kind != "hash":
        raise PgError("22P02", f'invalid input value for enum citus.distribution_type: "{kind}"')
    if not bound["distribution_column"]:
        raise PgError(INVALID_PARAMETER_VALUE, "create_distributed_table() needs a distribution column")
    colocate = bound["colocate_with"]
    if bound["shard_count"] is not None and str(colocate).lower() not in ("default", "none"):
        raise PgError(INVALID_PARAMETER_VALUE, "Cannot use colocate_with with a table and shard_count at the same time")
    return DistributionSpec("hash", bound["distribution_column"]), _count(bound["shard_count"]), colocate


async def _single_shard(ddl: Any, dispatcher: Dispatcher, bound: dict[str, str | None]) -> DistributionSpec:
    """Citus 12's `create_distributed_table(t, NULL)`: a single-shard table, all its rows on
    one group (gridpg: ROUNDROBIN on one group, as undistribute_table keeps a table);
    `colocate_with` another single-shard table puts it on that table's group."""
    groups = [g.name for g in dispatcher.runner.snapshot().datanode_groups()]
    colocate = str(bound["colocate_with"] or "default")
    if str(bound["distribution_type"] or "hash").lower() != "hash" or bound["shard_count"] is not None:
        raise PgError(INVALID_PARAMETER_VALUE, "distribution_type and shard_count cannot be given for a "
                      "single-shard table (a NULL distribution column)")
    if colocate.lower() in ("default", "none"):
        return DistributionSpec("roundrobin", nodes=(groups[0],))
    schema, name = await _resolve(ddl, dispatcher, colocate)
    other = dispatcher.runner.snapshot().table(schema, name)
    if other is None or other.method != "roundrobin" or len(other.groups) != 1:
        raise PgError(INVALID_PARAMETER_VALUE, f'cannot colocate with "{colocate}": it is not a single-shard '
                      "table", hint="colocate a single-shard table with another single-shard table")
    return DistributionSpec("roundrobin", nodes=(other.groups[0],))


def _altered(bound: dict[str, str | None], current: Any,
             table_name: str) -> tuple[DistributionSpec, int | None, str | None]:
    """alter_distributed_table: what is not given stays as the table has it now."""
    if current is None or current.method != "hash":
        raise PgError(INVALID_PARAMETER_VALUE, f'table "{table_name}" is not a hash-distributed table',
                      hint="use create_distributed_table()")
    column = bound["distribution_column"] or current.column
    count = _count(bound["shard_count"]) or current.shard_count
    colocate = bound["colocate_with"] or ("default" if bound["distribution_column"] or bound["shard_count"] else None)
    return DistributionSpec("hash", column), count, colocate


def _count(text: str | None) -> int | None:
    if text is None:
        return None
    try:
        value = int(text)
    except ValueError:
        raise PgError("22P02", f'invalid input syntax for type integer: "{text}"') from None
    if value < 1:
        raise PgError(INVALID_PARAMETER_VALUE, "shard_count must be at least 1")
    return value


@dataclass(frozen=True)
class Conversion:
    """What commands/retype.py asks of a move: each datanode's rows copied into `scratch` (a
    table in the shard schema) and converted there by `ALTER TABLE scratch <alter_tail>`
    before the table is dropped; put back `in_place` (each datanode its own rows: none
    changes shard) when the new placement is the old one, else gathered and routed."""

    scratch: str
    alter_tail: str
    in_place: bool


async def redistribute(dispatcher: Dispatcher, ddl: Any, table_name: str, spec: DistributionSpec,
                        shard_count: int | None, colocate: str | None, by_default: bool = False,
                        convert: Conversion | None = None) -> None:
    """Move the table to the placement `spec` (recorded as gridpg's own choice when
    `by_default`), with its rows, indexes and foreign keys, in the session's transaction;
    its rows converted on the way as `convert` says."""
    catalog = await ddl.conn(dispatcher.coord.catalog_node)
    schema, name = await _resolve(ddl, dispatcher, table_name)
    qualified = quote_qualified(schema, name)
    # The metadata as the catalog has it now (the coordinator's cached snapshot may not yet
    # hold a table created a moment ago: its rows would be taken from the empty catalog copy).
    await dispatcher.runner.load_private_snapshot()
    old = dispatcher.runner.snapshot().table(schema, name)
    create_sql, extra_sql, before_sql, foreign_sql = await _definition(catalog, qualified)
    tree = await _partition_tree(catalog, qualified)
    if tree.partition_by:
        create_sql += f" PARTITION BY {tree.partition_by}"
    space, index_spaces = await _tablespaces(catalog, qualified)
    create_sql += f" TABLESPACE {quote_ident(space)}" if space else ""
    extra_sql = "; ".join(s for s in (extra_sql, *index_spaces) if s)
    # triggers last, once the rows are in place (COPY would fire them for every moved row)
    triggers = await _triggers(catalog, qualified)
    # 1. the rows, into a temp table on a catalog connection outside the 2PC transaction
    #    (PostgreSQL refuses PREPARE TRANSACTION after touching temp tables)
    pool = dispatcher.coord.pools.pool(dispatcher.coord.catalog_node)
    staging = await dispatcher.coord.internal_acquire(dispatcher.coord.catalog_node)
    # a colocation group the statement's own new table is to write: the move must not
    # take it for its own (CREATE TABLE of the cluster's first table keyed by a type, whose
    # foreign key made its parent replicated, lost its group and failed with 23503 on
    # gridpg.dist_table's colocation_id)
    pending = getattr(ddl, "_new_colocation", None)
    ddl._new_colocation = None
    try:
        await _move(dispatcher, ddl, catalog, staging, schema, name, qualified, old, spec,
                    (shard_count, colocate, by_default), (create_sql, extra_sql, before_sql, foreign_sql), tree,
                    convert)
        moved = dispatcher.runner.snapshot().table(schema, name)
        for group in moved.groups if moved is not None and triggers else ():
            await (await ddl.conn(group)).simple_query("; ".join(triggers))
    finally:
        written = _moved_colocation(dispatcher, schema, name)
        ddl._new_colocation = pending if pending is None or pending.id != written else None
        try:
            await staging.simple_query("DROP TABLE IF EXISTS pg_temp.gp_redistribute")
        except PgError:
            staging.broken = True
        pool.release(staging)


def _diverges(dispatcher: Dispatcher, default: str | None) -> bool:
    """Whether a column default gives each server that evaluates it values of its own (a
    sequence's is the GTM's business: refused before a table with rows gets one)."""
    from gridpg.planner import replicas

    lowered = (default or "").lower()
    if any(call in lowered for call in ("nextval(", "currval(", "lastval(")):
        return False
    return replicas.diverging_default(default, dispatcher.runner.snapshot().volatile_functions)


def _moved_colocation(dispatcher: Dispatcher, schema: str, name: str) -> int | None:
    """The colocation group of the table as moved (None when not hash or not moved)."""
    table = dispatcher.runner.snapshot().table(schema, name)
    return table.colocation_id if table is not None else None


async def _move(dispatcher: Dispatcher, ddl: Any, catalog: BackendConnection, staging: BackendConnection,
                schema: str, name: str, qualified: str, old: Any, spec: DistributionSpec,
                options: tuple[int | None, str | None, bool], definition: tuple[str, str, str, list[str]],
                tree: PartitionTree, convert: Conversion | None = None) -> None:
    shard_count, colocate, by_default = options
    create_sql, extra_sql, before_sql, foreign_sql = definition
    temp = "gp_redistribute"
    columns = (await ddl._inspect(catalog, {"schemaname": schema, "relname": name}))[2]
    filled: list[Any] = []
    if old is not None:
        # the catalog's definition may have a column the datanodes' table lacks (an ALTER
        # TABLE ... ADD COLUMN ... UNIQUE that made the table replicated): the rows carry
        # the columns both have, the new one takes its default where they land, as the
        # ALTER TABLE fills it in PostgreSQL; a dropped one is left behind. A volatile
        # default (random(), gen_random_uuid()) is computed once, in the staging table: on
        # each replica it would give the rows values of its own
        on_nodes = await _column_names(await ddl.conn(old.groups[0]), qualified)
        filled = [c for c in columns if c.name not in on_nodes and _diverges(dispatcher, c.default)]
        columns = [c for c in columns if c.name in on_nodes]
    copied = {c.name for c in columns} | {c.name for c in filled}
    # the column types spelled out: the staging connection cannot see a table created in
    # this (uncommitted) transaction, so no LIKE
    # (the type names as the session's search_path spells them)
    path = (await catalog.query("SELECT pg_catalog.current_setting('search_path')"))[0][0] or ""
    staged = await _staging_types(catalog, staging, qualified)
    await staging.simple_query(
        f"BEGIN; SELECT pg_catalog.set_config('search_path', {quote_literal(path)}, true); "
        f"CREATE TEMP TABLE {temp} ({', '.join(f'{quote_ident(c.name)} {staged.get(c.name, c.formatted)}' for c in columns)}); COMMIT")
    incoming: dict[str, list[tuple[str, str, str]]] = {}
    views: dict[str, list[str]] = {}
    from gridpg.commands import ddl as ddl_module

    if old is not None:
        from gridpg.executor.multi import copy_rows_to_catalog

        groups = old.groups[:1] if old.method == "replication" else old.groups
        for group in groups:
            await ddl.conn(group)
        listed = ", ".join(quote_ident(c.name) for c in columns)
        old_placement = _placement_of(dispatcher, old)
        if convert is not None:  # converted where they are; gathered (or not) once placed
            await _convert_on_nodes(ddl, groups, convert, listed, qualified)
        else:
            await copy_rows_to_catalog(dispatcher, [(g, f"SELECT {listed} FROM {qualified}") for g in groups],
                                       staging, f"pg_temp.{temp}")
        for column in filled:  # (the default as PostgreSQL prints it, under the session's search_path)
            await staging.simple_query(
                f"BEGIN; SELECT pg_catalog.set_config('search_path', {quote_literal(path)}, true); "
                f"ALTER TABLE pg_temp.{temp} ADD COLUMN {quote_ident(column.name)} "
                f"{staged.get(column.name, column.formatted)} DEFAULT {column.default}; COMMIT")
        for group in old.groups:
            conn = await ddl.conn(group)
            incoming[group] = await _drop_incoming_foreign_keys(conn, qualified)
            views[group] = await _drop_dependents(conn, qualified)
            await conn.simple_query(f"DROP TABLE {qualified}")  # its partitions with it
        forget = [store.sql_delete_dist_table(schema, name)]
        forget += [store.sql_delete_dist_table(m.schema, m.name) for m in tree.members]
        await ddl.on_catalog_servers(ddl_module.as_cluster_owner("\n".join(forget)))
    else:
        only = "" if tree.partition_by else "ONLY "  # a partitioned table's rows are its partitions'
        await staging.simple_query(f"INSERT INTO pg_temp.{temp} SELECT * FROM {only}{qualified}")
        await catalog.simple_query(f"TRUNCATE {only}{qualified}")
    # generated columns are computed again where the rows land (COPY refuses them)
    generated = await catalog.query("SELECT attname FROM pg_catalog.pg_attribute WHERE attrelid = "
                                    f"pg_catalog.to_regclass({quote_literal(qualified)}) AND attgenerated <> '' "
                                    "AND NOT attisdropped")
    for row in generated:
        if row[0] in copied:
            await staging.simple_query(f"ALTER TABLE pg_temp.{temp} DROP COLUMN {quote_ident(row[0] or '')}")
    skipped = {row[0] for row in generated}
    await dispatcher.runner.load_private_snapshot()
    # 2. the new placement and metadata, as CREATE TABLE would make them
    columns, keys, fks = (await ddl._inspect(catalog, {"schemaname": schema, "relname": name}))[2:]
    table = ddl._decide(schema, name, columns, keys, fks, spec, shard_count, colocate)
    if by_default:
        import dataclasses

        table = dataclasses.replace(table, by_default=True)
    from gridpg.commands.ddl import datanode_create_statements

    for group, sql in datanode_create_statements(create_sql, table, ddl._placement(table)).items():
        conn = await ddl.conn(group)
        if before_sql:
            await conn.simple_query(before_sql)
        await conn.simple_query(sql)
        if extra_sql:
            await conn.simple_query(extra_sql)
    if tree.partition_by:
        from gridpg.commands import partitions

        partitions.ensure_keys_hold(table, keys)
    await ddl._write_metadata(table)
    await dispatcher.runner.load_private_snapshot()
    await _create_partitions(dispatcher, ddl, tree)
    await _ensure_foreign_keys_still_hold(ddl, catalog, table, fks)
    # 3. the rows, routed to their new nodes; then the foreign keys that refer to the table
    names = [c.name for c in columns if c.name in copied and c.name not in skipped]
    if convert is not None and old is not None:
        await _place_converted(dispatcher, ddl, staging, temp, table, qualified, names, convert,
                               old.groups, old_placement)
    else:
        await _route_rows(dispatcher, ddl, staging, temp, table, qualified, names)
    # its own foreign keys after its rows, checked at once as pg_restore does: made before,
    # a DEFERRABLE INITIALLY DEFERRED one (Django's) queued a check per row, and the next
    # ALTER TABLE of the table in the transaction failed (55006 "pending trigger events")
    for group in table.groups if foreign_sql else ():
        await (await ddl.conn(group)).simple_query(
            "; ".join(f"ALTER TABLE {qualified} ADD {constraint}" for constraint in foreign_sql))
    for group, keys_of_group in incoming.items():
        if group in table.groups:
            conn = await ddl.conn(group)
            for child, constraint, key_sql in keys_of_group:
                await conn.simple_query(f"ALTER TABLE {child} ADD CONSTRAINT {quote_ident(constraint)} {key_sql}")
    for group, statements in views.items():
        if group in table.groups and statements:
            await (await ddl.conn(group)).simple_query("; ".join(statements))


@dataclass(frozen=True)
class Partition:
    """A partition below the table being moved, as the catalog server has it."""

    schema: str
    name: str
    parent_schema: str
    parent_name: str
    bound: str  # FOR VALUES ... / DEFAULT
    partition_by: str | None  # its own PARTITION BY, for a sub-partitioned member
    local: tuple[str, ...]  # what it carries of its own: indexes, constraints, triggers, owner, grants


@dataclass(frozen=True)
class PartitionTree:
    """The moved table's declarative partitioning: its PARTITION BY (None for a plain
    table) and its partitions, parents before children."""

    partition_by: str | None
    members: tuple[Partition, ...]


async def _ensure_distributable(conn: BackendConnection, qualified: str) -> None:
    """What a user may not distribute by itself: a partition, a member of an inheritance
    tree (their layout on the datanodes follows their parents')."""
    regclass = f"pg_catalog.to_regclass({quote_literal(qualified)})"
    head = await conn.query(
        "SELECT c.relispartition, CASE WHEN c.relkind = 'p' THEN pg_catalog.pg_get_partkeydef(c.oid) END, "
        "EXISTS (SELECT 1 FROM pg_catalog.pg_inherits i JOIN pg_catalog.pg_class k ON k.oid = i.inhrelid "
        "WHERE (i.inhparent = c.oid OR i.inhrelid = c.oid) AND NOT k.relispartition) "
        f"FROM pg_catalog.pg_class c WHERE c.oid = {regclass}")
    is_partition, _, inherits = head[0]
    if is_partition == "t":
        raise PgError("0A000", f"cannot distribute {qualified}: it is a partition",
                      hint="distribute its partitioned parent; every partition takes the parent's distribution")
    if inherits == "t":
        raise PgError("0A000", f"cannot distribute {qualified}: it is a member of an inheritance tree",
                      hint="distribute the tables before the children are created (INHERITS takes the parent's distribution)")


async def _partition_tree(conn: BackendConnection, qualified: str) -> PartitionTree:
    """The partition tree under `qualified` (its PARTITION BY None for a plain table)."""
    regclass = f"pg_catalog.to_regclass({quote_literal(qualified)})"
    head = await conn.query("SELECT CASE WHEN relkind = 'p' THEN pg_catalog.pg_get_partkeydef(oid) END "
                            f"FROM pg_catalog.pg_class WHERE oid = {regclass}")
    partition_by = head[0][0]
    if partition_by is None:
        return PartitionTree(None, ())
    rows = await conn.query(
        "SELECT n.nspname, c.relname, pn.nspname, p.relname, pg_catalog.pg_get_expr(c.relpartbound, c.oid), "
        "CASE WHEN c.relkind = 'p' THEN pg_catalog.pg_get_partkeydef(c.oid) END "
        f"FROM pg_catalog.pg_partition_tree({regclass}) t JOIN pg_catalog.pg_class c ON c.oid = t.relid "
        "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
        "JOIN pg_catalog.pg_class p ON p.oid = t.parentrelid JOIN pg_catalog.pg_namespace pn ON pn.oid = p.relnamespace "
        "WHERE t.level > 0 AND c.relkind IN ('r', 'p') ORDER BY t.level, c.oid")
    members = []
    for schema, name, parent_schema, parent_name, bound, sub in rows:
        member = quote_qualified(schema or "", name or "")
        local = [*await _partition_own(conn, member), *await _kept_on_nodes(conn, member)]
        members.append(Partition(schema or "", name or "", parent_schema or "", parent_name or "", bound or "",
                                 sub, tuple(local)))
    return PartitionTree(partition_by, tuple(members))


async def _partition_own(conn: BackendConnection, member: str) -> list[str]:
    """A partition's indexes, constraints and triggers of its own (not cloned from its parent)."""
    regclass = f"pg_catalog.to_regclass({quote_literal(member)})"
    rows = await conn.query(
        "SELECT pg_catalog.pg_get_indexdef(i.indexrelid) FROM pg_catalog.pg_index i "
        f"WHERE i.indrelid = {regclass} AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_inherits h "
        "WHERE h.inhrelid = i.indexrelid) AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_constraint c "
        "WHERE c.conindid = i.indexrelid AND c.conrelid = i.indrelid) "
        f"UNION ALL SELECT 'ALTER TABLE ' || {quote_literal(member)} || ' ADD CONSTRAINT ' || quote_ident(conname) "
        "|| ' ' || pg_catalog.pg_get_constraintdef(oid) FROM pg_catalog.pg_constraint "
        f"WHERE conrelid = {regclass} AND conparentid = 0 AND coninhcount = 0 AND contype IN ('p', 'u', 'c', 'x') "
        "UNION ALL SELECT pg_catalog.pg_get_triggerdef(oid) FROM pg_catalog.pg_trigger "
        f"WHERE tgrelid = {regclass} AND NOT tgisinternal AND tgparentid = 0")
    return [r[0] or "" for r in rows]


async def _create_partitions(dispatcher: Dispatcher, ddl: Any, tree: PartitionTree) -> None:
    """The moved table's partitions again, under the same bounds, each taking its parent's
    new distribution (as `CREATE TABLE ... PARTITION OF` a distributed table does)."""
    from gridpg.commands import partitions
    from gridpg.commands.ddl import datanode_create_statements

    ddl._new_colocation = None  # the parent wrote it
    for member in tree.members:
        qualified = quote_qualified(member.schema, member.name)
        parent = quote_qualified(member.parent_schema, member.parent_name)
        sql = f"CREATE TABLE {qualified} PARTITION OF {parent} {member.bound}"
        if member.partition_by:
            sql += f" PARTITION BY {member.partition_by}"
        parents = [partitions.Parent(member.parent_schema, member.parent_name, True)]
        table = partitions.inherited_table(dispatcher.runner.snapshot(), member.schema, member.name, parents, None)
        for group, text in datanode_create_statements(sql, table, ddl._placement(table), parents).items():
            conn = await ddl.conn(group)
            await conn.simple_query(text)
            if member.local:
                await conn.simple_query("; ".join(member.local))
        await ddl._write_metadata(table)
        await dispatcher.runner.load_private_snapshot()


async def _ensure_foreign_keys_still_hold(ddl: Any, catalog: BackendConnection, table: Any, fks: list[Any]) -> None:
    """The table's own foreign keys, and those of other tables that refer to it, must hold
    under its new placement (each datanode checks them alone): else 0A000, and the
    transaction undoes the move."""
    from gridpg.commands.default_placement import foreign_key_holds

    ddl._ensure_foreign_keys_hold(table, fks)
    rows = await catalog.query(
        "SELECT n.nspname, r.relname, c.oid FROM pg_catalog.pg_constraint c "
        "JOIN pg_catalog.pg_class r ON r.oid = c.conrelid JOIN pg_catalog.pg_namespace n ON n.oid = r.relnamespace "
        f"WHERE c.contype = 'f' AND c.conparentid = 0 AND c.conrelid <> c.confrelid AND c.confrelid = "
        f"pg_catalog.to_regclass({quote_literal(quote_qualified(table.schema, table.name))})")
    for child_schema, child_name, _ in rows:
        child = ddl.snapshot.table(child_schema or "", child_name or "")
        if child is None:
            continue
        for fk in (await ddl._inspect(catalog, {"schemaname": child_schema, "relname": child_name}))[4]:
            if fk[1:3] == table.key and not foreign_key_holds(ddl.snapshot, child, fk):
                raise PgError("0A000", f'cannot move "{table.name}": the foreign key of "{child_name}" '
                              "that refers to it would no longer hold (the rows it refers to could "
                              "live on another node)",
                              hint="distribute both tables by the referencing/referenced columns "
                              "(colocated), or keep the referenced table a reference table")


_DEPENDENT_VIEWS = """
WITH RECURSIVE dep(oid, depth) AS (
    SELECT r.ev_class, 1 FROM pg_catalog.pg_depend d JOIN pg_catalog.pg_rewrite r ON r.oid = d.objid
    WHERE d.classid = 'pg_catalog.pg_rewrite'::pg_catalog.regclass AND d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass
      AND d.refobjid = pg_catalog.to_regclass({table}) AND r.ev_class <> d.refobjid
    UNION
    SELECT r.ev_class, dep.depth + 1 FROM dep JOIN pg_catalog.pg_depend d ON d.refobjid = dep.oid
      AND d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.classid = 'pg_catalog.pg_rewrite'::pg_catalog.regclass
    JOIN pg_catalog.pg_rewrite r ON r.oid = d.objid WHERE r.ev_class <> dep.oid AND dep.depth < 50
)
SELECT c.oid, pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(c.relname), c.relkind,
       pg_catalog.array_to_string(c.reloptions, ', '), pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(c.relowner)),
       (SELECT pg_catalog.string_agg('GRANT ' || a.privilege_type || ' ON ' || pg_catalog.quote_ident(n.nspname) || '.'
               || pg_catalog.quote_ident(c.relname) || ' TO ' || CASE WHEN a.grantee = 0 THEN 'PUBLIC'
               ELSE pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(a.grantee)) END
               || CASE WHEN a.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END, '; ')
        FROM pg_catalog.aclexplode(c.relacl) a WHERE a.grantee <> c.relowner),
       (SELECT count(*) FROM pg_catalog.pg_trigger t WHERE t.tgrelid = c.oid)
     + (SELECT count(*) FROM pg_catalog.pg_rewrite w WHERE w.ev_class = c.oid AND w.rulename <> '_RETURN'),
       max(dep.depth)
FROM dep JOIN pg_catalog.pg_class c ON c.oid = dep.oid JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
GROUP BY c.oid, n.nspname, c.relname, c.relkind, c.reloptions, c.relowner, c.relacl
ORDER BY max(dep.depth), c.oid
"""


_ROW_TYPE_FUNCTIONS = """
SELECT DISTINCT p.oid, p.oid::pg_catalog.regprocedure::text, p.prokind,
       pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(p.proowner)), p.proacl IS NOT NULL,
       (SELECT pg_catalog.string_agg('GRANT EXECUTE ON ROUTINE ' || p.oid::pg_catalog.regprocedure::text || ' TO '
               || CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(a.grantee)) END
               || CASE WHEN a.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END, '; ')
        FROM pg_catalog.aclexplode(p.proacl) a WHERE a.grantee <> p.proowner)
FROM pg_catalog.pg_depend d JOIN pg_catalog.pg_proc p ON p.oid = d.objid
WHERE d.classid = 'pg_catalog.pg_proc'::pg_catalog.regclass AND d.refclassid = 'pg_catalog.pg_type'::pg_catalog.regclass
  AND d.refobjid = (SELECT reltype FROM pg_catalog.pg_class WHERE oid = pg_catalog.to_regclass({table}))
ORDER BY p.oid
"""


async def _drop_dependents(conn: BackendConnection, qualified: str) -> list[str]:
    """What DROP TABLE would refuse to drop on one datanode (2BP01) that gridpg can create
    again: the views over the table, and views over those, then the functions whose
    arguments or result are its row type (pagila's `rewards_report() RETURNS SETOF
    customer`). Dropped; returned as the statements that create them again (definitions read
    with an empty search_path, so every name in them is qualified), functions first."""
    async with _qualified_names(conn):
        views = await _drop_dependent_views(conn, qualified)
        functions = await _drop_row_type_functions(conn, qualified)
    return functions + views


@contextlib.asynccontextmanager
async def _qualified_names(conn: BackendConnection) -> AsyncIterator[None]:
    """Inside, the connection's search_path is empty (in its block), then put back. Not
    after an error: the block is aborted, and putting it back failed with 25P02, which
    reached the client in place of the datanode's own error (view_propagation.sql:344, a
    view the extension seg owns: "cannot drop view ... because extension seg requires it")."""
    path = (await conn.query("SELECT pg_catalog.current_setting('search_path')"))[0][0] or ""
    await conn.query("SELECT pg_catalog.set_config('search_path', '', true)")
    yield
    await conn.query(f"SELECT pg_catalog.set_config('search_path', {quote_literal(path)}, true)")


async def _drop_row_type_functions(conn: BackendConnection, qualified: str) -> list[str]:
    functions: list[str] = []
    rows = await conn.query(_ROW_TYPE_FUNCTIONS.format(table=quote_literal(qualified)))
    for oid, signature, kind, owner, has_acl, grants in rows:
        if kind not in ("f", "p"):
            raise PgError("0A000", f"cannot move the table: {signature} uses its row type and is an "
                          "aggregate or window function, which gridpg does not rebuild",
                          hint="drop it, change the table, and create it again")
        definition = (await conn.query(f"SELECT pg_catalog.pg_get_functiondef({int(oid or 0)}::pg_catalog.oid)"))[0][0]
        functions += [definition or "", f"ALTER ROUTINE {signature} OWNER TO {owner}"]
        if has_acl == "t":
            functions.append(f"REVOKE ALL ON ROUTINE {signature} FROM PUBLIC")
            functions += [grants] if grants else []
    for row in rows:
        await conn.simple_query(f"DROP ROUTINE {row[1]}")
    return functions


async def _drop_dependent_views(conn: BackendConnection, qualified: str) -> list[str]:
    """The views over the table, and views over those (pg_dump's scripts create views before
    they add the keys that make a default-placed table replicated): dropped, deepest first,
    returned as the statements that create them again (options, owner, grants). A view with
    triggers or rules of its own, or a materialized view, is not rebuilt: 0A000."""
    rows = await conn.query(_DEPENDENT_VIEWS.format(table=quote_literal(qualified)))
    # views that depend on each other (CREATE OR REPLACE VIEW made a cycle; the walk stops
    # at depth 50): each made first as a stand-in with its columns, then replaced, as
    # pg_dump does, and all dropped in one statement (one by one failed with 2BP01)
    cyclic = any(int(r[7] or 0) >= 50 for r in rows)
    statements: list[str] = []
    for oid, name, _, _, _, _, _, _ in rows if cyclic else ():
        columns = await conn.query(_VIEW_COLUMNS.format(oid=int(oid or 0)))
        statements.append(f"CREATE VIEW {name} AS SELECT {', '.join(str(c[0]) for c in columns)}")
    for oid, name, kind, options, owner, grants, extras, _ in rows:
        if kind != "v" or int(extras or 0):
            raise PgError("0A000", f"cannot move the table: {name} depends on it and has triggers or rules "
                          "of its own, or is a materialized view, which gridpg does not rebuild",
                          hint="drop it, change the table, and create it again")
        definition = (await conn.query(f"SELECT pg_catalog.pg_get_viewdef({int(oid or 0)}::pg_catalog.oid)"))[0][0]
        with_options = f" WITH ({options})" if options else ""
        create = "CREATE OR REPLACE VIEW" if cyclic else "CREATE VIEW"
        statements += [f"{create} {name}{with_options} AS {(definition or '').rstrip().rstrip(';')}",
                       f"ALTER VIEW {name} OWNER TO {owner}"] + ([grants] if grants else [])
        # a member of an extension (ALTER EXTENSION ... ADD VIEW): DROP VIEW refused it (2BP01)
        for extension in await conn.query(_VIEW_EXTENSIONS.format(oid=int(oid or 0))):
            await conn.simple_query(f"ALTER EXTENSION {extension[0]} DROP VIEW {name}")
            statements.append(f"ALTER EXTENSION {extension[0]} ADD VIEW {name}")
    if cyclic and rows:
        await conn.simple_query(f"DROP VIEW {', '.join(str(r[1]) for r in rows)}")
    for row in reversed(rows) if not cyclic else ():
        await conn.simple_query(f"DROP VIEW {row[1]}")
    return statements


_VIEW_COLUMNS = """SELECT 'NULL::' || pg_catalog.format_type(a.atttypid, a.atttypmod)
  || CASE WHEN a.attcollation <> t.typcollation THEN ' COLLATE ' || pg_catalog.quote_ident(cn.nspname) || '.'
          || pg_catalog.quote_ident(co.collname) ELSE '' END || ' AS ' || pg_catalog.quote_ident(a.attname)
FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_type t ON t.oid = a.atttypid
LEFT JOIN pg_catalog.pg_collation co ON co.oid = a.attcollation
LEFT JOIN pg_catalog.pg_namespace cn ON cn.oid = co.collnamespace
WHERE a.attrelid = {oid}::pg_catalog.oid AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum"""


_VIEW_EXTENSIONS = """SELECT pg_catalog.quote_ident(e.extname) FROM pg_catalog.pg_depend d
JOIN pg_catalog.pg_extension e ON e.oid = d.refobjid
WHERE d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.objid = {oid}::pg_catalog.oid
  AND d.refclassid = 'pg_catalog.pg_extension'::pg_catalog.regclass AND d.deptype = 'e'"""


async def _drop_incoming_foreign_keys(conn: BackendConnection, qualified: str) -> list[tuple[str, str, str]]:
    """Other tables' foreign keys to the table on one datanode (DROP TABLE would refuse):
    dropped, returned as (child, name, definition) to be added again."""
    rows = await conn.query(
        "SELECT pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(r.relname), c.conname, "
        "pg_catalog.pg_get_constraintdef(c.oid) FROM pg_catalog.pg_constraint c "
        "JOIN pg_catalog.pg_class r ON r.oid = c.conrelid JOIN pg_catalog.pg_namespace n ON n.oid = r.relnamespace "
        "WHERE c.contype = 'f' AND c.conparentid = 0 "
        f"AND c.confrelid = pg_catalog.to_regclass({quote_literal(qualified)}) "
        f"AND c.conrelid <> c.confrelid ORDER BY c.oid")
    keys = [(r[0] or "", r[1] or "", r[2] or "") for r in rows]
    for child, constraint, _ in keys:
        await conn.simple_query(f"ALTER TABLE {child} DROP CONSTRAINT {quote_ident(constraint)}")
    return keys


def _placement_of(dispatcher: Dispatcher, table: Any) -> dict[int, str]:
    """remainder -> group of a HASH table as the metadata has it now ({} for the others)."""
    if table.method != "hash" or not table.shard_count:
        return {}
    snapshot = dispatcher.runner.snapshot()
    return {r: snapshot.shard_group(table.schema, table.name, r) for r in range(table.shard_count)}


async def _convert_on_nodes(ddl: Any, groups: list[str], convert: Conversion, listed: str, qualified: str) -> None:
    """Each datanode's rows into the scratch table, converted there by PostgreSQL's own ALTER
    TABLE (its casts, USING and errors: a failing cast ends the statement before anything is
    dropped)."""
    for group in groups:
        await (await ddl.conn(group)).simple_query(
            f"CREATE UNLOGGED TABLE {convert.scratch} AS SELECT {listed} FROM {qualified}; "
            f"ALTER TABLE {convert.scratch} {convert.alter_tail}")


async def _place_converted(dispatcher: Dispatcher, ddl: Any, staging: BackendConnection, temp: str, table: Any,
                           qualified: str, names: list[str], convert: Conversion, old_groups: tuple[str, ...],
                           old_placement: dict[int, str]) -> None:
    """The converted rows into the rebuilt table: each datanode inserts its own when no row
    can change shard and every shard stayed where it was (a row that would belong elsewhere
    finds no partition there: 23514, never a misplaced row), else gathered into the staging
    table and routed by their new hash. The scratch tables go with it."""
    from gridpg.executor.multi import copy_rows_to_catalog

    listed = ", ".join(quote_ident(n) for n in names)
    if convert.in_place and old_placement and _placement_of(dispatcher, table) == old_placement:
        for group in old_groups:
            await (await ddl.conn(group)).simple_query(
                f"INSERT INTO {qualified}{_column_list(names)} OVERRIDING SYSTEM VALUE SELECT {listed} "
                f"FROM {convert.scratch}; "
                f"DROP TABLE {convert.scratch}")
        return
    await copy_rows_to_catalog(dispatcher, [(g, f"SELECT {listed} FROM {convert.scratch}") for g in old_groups],
                               staging, f"pg_temp.{temp}")
    for group in old_groups:
        await (await ddl.conn(group)).simple_query(f"DROP TABLE {convert.scratch}")
    await _route_rows(dispatcher, ddl, staging, temp, table, qualified, names)


async def _route_rows(dispatcher: Dispatcher, ddl: Any, staging: BackendConnection, temp: str, table: Any,
                      qualified: str, names: list[str]) -> None:
    from gridpg.executor.dml import CopyRouter, _copy_routed

    if await _pump_rows(dispatcher, ddl, staging, f"pg_temp.{temp}", table, qualified, names):
        return
    chunks = await staging.copy_out(f"COPY pg_temp.{temp} TO STDOUT")
    router = CopyRouter(dispatcher, table, names, "text", "\t", None)

    async def source():  # type: ignore[no-untyped-def]
        for chunk in chunks:
            yield chunk

    copy_sql = f"COPY {qualified}{_column_list(names)} FROM STDIN"
    await _copy_routed(dispatcher, table, copy_sql, router, source(), commit=False)


async def _pump_rows(dispatcher: Dispatcher, ddl: Any, staging: BackendConnection, temp: str, table: Any,
                     qualified: str, names: list[str]) -> bool:
    """The staged rows straight to their nodes as COPY bytes, split on the catalog server by
    PostgreSQL's partition hash (HASH) or copied whole (REPLICATION); False for the other
    methods, which the coordinator routes."""
    from gridpg.executor.exchange import pump
    from gridpg.planner.broadcast import REPARTITION_TYPES, remainder_sql

    parts = {g: f"SELECT * FROM {temp}" for g in table.groups}
    if table.method == "hash":
        found = await staging.query("SELECT atttypid FROM pg_catalog.pg_attribute WHERE attrelid = "
                                    f"{quote_literal(temp)}::regclass AND attname = {quote_literal(table.column)}")
        type_oid = int(found[0][0] or 0) if found else 0
        if type_oid not in REPARTITION_TYPES or not table.shard_count:
            return False
        snapshot = dispatcher.runner.snapshot()
        mine: dict[str, list[int]] = {g: [] for g in table.groups}
        for remainder in range(table.shard_count):
            mine[snapshot.shard_group(table.schema, table.name, remainder)].append(remainder)
        split = remainder_sql(quote_ident(table.column), type_oid, table.shard_count)
        parts = {g: f"{parts[g]} WHERE {split} IN ({', '.join(map(str, r))})" for g, r in mine.items() if r}
    elif table.method != "replication":
        return False
    into = f"{qualified}{_column_list(names)}"
    for group, part in parts.items():
        await pump(staging, [await ddl.conn(group)], part, into)
    return True


def _column_list(names: list[str]) -> str:
    """` (a, b)` after a table's name in COPY or INSERT; nothing for a table without
    columns (its last one dropped), where `()` is a syntax error and the rows are empty."""
    return f" ({', '.join(quote_ident(n) for n in names)})" if names else ""


@contextlib.asynccontextmanager
async def catalog_staging(dispatcher: Dispatcher, table: str) -> AsyncIterator[BackendConnection]:
    """A catalog connection outside the statement's 2PC transaction, for the staging temp
    table `table` (PREPARE refuses temp objects); at the end the table is dropped and the
    connection given back (closed if the drop fails)."""
    coord = dispatcher.coord
    pool = coord.pools.pool(coord.catalog_node)
    staging = await coord.internal_acquire(coord.catalog_node)
    try:
        yield staging
    finally:
        try:
            await staging.simple_query(f"DROP TABLE IF EXISTS pg_temp.{table}")
        except PgError:
            staging.broken = True
        pool.release(staging)


async def _staging_types(catalog: BackendConnection, staging: BackendConnection, qualified: str) -> dict[str, str]:
    """The column types the staging table takes where the staging connection, outside the
    transaction, cannot see a column's type: one the transaction created (a migration's
    CREATE TYPE ... AS ENUM before its CREATE TABLE: the staging table failed, 42704). Such
    a column is staged as its domain's base type when that is visible (a hash distribution
    column keeps its hash), else as text: the rows travel as COPY text both ways, so their
    text form is all the staging table has to keep."""
    rows = await catalog.query(
        "SELECT a.attname, a.atttypid, t.typbasetype, pg_catalog.format_type(t.typbasetype, t.typtypmod) "
        "FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_type t ON t.oid = a.atttypid "
        f"WHERE a.attrelid = pg_catalog.to_regclass({quote_literal(qualified)}) AND a.attnum > 0 "
        "AND NOT a.attisdropped")
    oids = {int(r[1] or 0) for r in rows} | {int(r[2] or 0) for r in rows}
    if not oids:  # a table whose last column was dropped
        return {}
    seen = await staging.query(f"SELECT oid FROM pg_catalog.pg_type WHERE oid IN ({', '.join(map(str, oids))})")
    visible = {int(r[0] or 0) for r in seen}
    staged: dict[str, str] = {}
    for name, type_oid, base_oid, base in rows:
        if int(type_oid or 0) not in visible:
            staged[name or ""] = base if int(base_oid or 0) in visible and base else "text"
    return staged


async def _column_names(conn: BackendConnection, qualified: str) -> set[str]:
    """The names of the table's columns as `conn`'s server has them."""
    rows = await conn.query("SELECT attname FROM pg_catalog.pg_attribute WHERE attrelid = "
                            f"pg_catalog.to_regclass({quote_literal(qualified)}) AND attnum > 0 "
                            "AND NOT attisdropped")
    return {row[0] or "" for row in rows}


async def _definition(conn: BackendConnection, qualified: str) -> tuple[str, str, str, list[str]]:
    """CREATE TABLE text (columns, defaults, constraints but foreign keys); what follows
    it (indexes, the serial sequences' owner); what precedes it (those sequences); its
    foreign keys (`CONSTRAINT name FOREIGN KEY ...`), from the catalog."""
    regclass = f"pg_catalog.to_regclass({quote_literal(qualified)})"
    columns = await conn.query(
        "SELECT quote_ident(a.attname) || ' ' || pg_catalog.format_type(a.atttypid, a.atttypmod) "
        "|| CASE WHEN a.attcollation <> t.typcollation THEN ' COLLATE ' || pg_catalog.quote_ident(cn.nspname) "
        "|| '.' || pg_catalog.quote_ident(co.collname) ELSE '' END "
        "|| CASE WHEN a.attnotnull THEN ' NOT NULL' ELSE '' END "
        "|| CASE a.attgenerated WHEN 's' THEN ' GENERATED ALWAYS AS (' || pg_catalog.pg_get_expr(d.adbin, d.adrelid) "
        "|| ') STORED' WHEN 'v' THEN ' GENERATED ALWAYS AS (' || pg_catalog.pg_get_expr(d.adbin, d.adrelid) || ')' "
        "ELSE coalesce(' DEFAULT ' || pg_catalog.pg_get_expr(d.adbin, d.adrelid), '') END "
        "|| CASE a.attidentity WHEN 'a' THEN ' GENERATED ALWAYS AS IDENTITY' "
        "WHEN 'd' THEN ' GENERATED BY DEFAULT AS IDENTITY' ELSE '' END "
        "FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_type t ON t.oid = a.atttypid "
        "LEFT JOIN pg_catalog.pg_collation co ON co.oid = a.attcollation "
        "LEFT JOIN pg_catalog.pg_namespace cn ON cn.oid = co.collnamespace "
        "LEFT JOIN pg_catalog.pg_attrdef d ON d.adrelid = a.attrelid "
        f"AND d.adnum = a.attnum WHERE a.attrelid = {regclass} AND a.attnum > 0 AND NOT a.attisdropped "
        "ORDER BY a.attnum"
    )
    constraints = await conn.query(
        "SELECT 'CONSTRAINT ' || quote_ident(conname) || ' ' || pg_catalog.pg_get_constraintdef(oid), contype "
        f"FROM pg_catalog.pg_constraint WHERE conrelid = {regclass} AND contype IN ('p', 'u', 'c', 'f', 'x') "
        "AND conparentid = 0 ORDER BY contype = 'f', oid"
    )
    foreign = [r[0] or "" for r in constraints if r[1] == "f"]
    indexes = await conn.query(
        "SELECT pg_catalog.pg_get_indexdef(i.indexrelid) FROM pg_catalog.pg_index i "
        f"WHERE i.indrelid = {regclass} AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_constraint c "
        "WHERE c.conindid = i.indexrelid)"
    )
    # serial columns' sequences: the datanodes' copies went with their DROP TABLE, and the
    # columns' DEFAULT nextval(...) needs them (the coordinator draws the values themselves)
    owned = await conn.query(
        "SELECT pg_catalog.quote_ident(sn.nspname) || '.' || pg_catalog.quote_ident(s.relname), "
        "pg_catalog.quote_ident(a.attname) FROM pg_catalog.pg_depend d "
        "JOIN pg_catalog.pg_class s ON s.oid = d.objid AND s.relkind = 'S' "
        "JOIN pg_catalog.pg_namespace sn ON sn.oid = s.relnamespace "
        "JOIN pg_catalog.pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid "
        f"WHERE d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.refobjid = {regclass} "
        "AND d.deptype = 'a'"
    )
    parts = [r[0] or "" for r in columns] + [r[0] or "" for r in constraints if r[1] != "f"]
    create = f"CREATE TABLE {qualified} ({', '.join(parts)})"
    before = "; ".join(f"CREATE SEQUENCE IF NOT EXISTS {r[0]}" for r in owned)
    after = [f"ALTER SEQUENCE {r[0]} OWNED BY {qualified}.{r[1]}" for r in owned]
    extra = "; ".join([*(r[0] or "" for r in indexes), *after, *await _statistics(conn, regclass),
                       *await _publications(conn, regclass, qualified), *await _kept_on_nodes(conn, qualified)])
    return create, extra, before, foreign


async def _tablespaces(conn: BackendConnection, qualified: str) -> tuple[str | None, list[str]]:
    """The table's tablespace (None: the database's default), and the statements that put
    its indexes (those of its constraints too) and their shards in theirs: the rebuilt
    copy on the datanodes left them all in pg_default while the catalog named another."""
    from gridpg.planner.utility import shards_to_tablespace

    regclass = f"pg_catalog.to_regclass({quote_literal(qualified)})"
    rows = await conn.query(
        "SELECT CASE WHEN c.oid = " + regclass + " THEN '' ELSE pg_catalog.quote_ident(n.nspname) || '.' || "
        "pg_catalog.quote_ident(c.relname) END, t.spcname FROM pg_catalog.pg_class c "
        "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
        "JOIN pg_catalog.pg_tablespace t ON t.oid = c.reltablespace "
        f"WHERE c.oid = {regclass} OR c.oid IN (SELECT indexrelid FROM pg_catalog.pg_index WHERE indrelid = {regclass})")
    space = next((str(r[1]) for r in rows if r[0] == ""), None)
    # (where the index exists: the datanodes' partitioned copy makes one index of a primary
    # key and a unique constraint on the same columns)
    statements = [shards_to_tablespace(str(r[0]), str(r[1]), itself=True) for r in rows if r[0]]
    return space, statements


async def _statistics(conn: BackendConnection, regclass: str) -> list[str]:
    """The table's extended statistics (CREATE STATISTICS made before it was distributed),
    with their targets and owners: the datanodes' copy is where ALTER and DROP STATISTICS
    reach them later (they failed there with 42704) and where the planner uses them.
    Those in a temporary schema stay the session's own."""
    rows = await conn.query(
        "SELECT pg_catalog.pg_get_statisticsobjdef(s.oid), pg_catalog.quote_ident(n.nspname) || '.' || "
        "pg_catalog.quote_ident(s.stxname), CASE WHEN s.stxstattarget >= 0 THEN s.stxstattarget END, "
        "pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(s.stxowner)) FROM pg_catalog.pg_statistic_ext s "
        f"JOIN pg_catalog.pg_namespace n ON n.oid = s.stxnamespace WHERE s.stxrelid = {regclass} "
        "AND n.nspname NOT LIKE 'pg\\_temp\\_%' "
        "ORDER BY s.oid")
    out: list[str] = []
    for definition, name, target, owner in rows:
        out.append(str(definition))
        out += [f"ALTER STATISTICS {name} SET STATISTICS {int(target)}"] if target is not None else []
        out.append(f"ALTER STATISTICS {name} OWNER TO {owner}")
    return out


async def _publications(conn: BackendConnection, regclass: str, qualified: str) -> list[str]:
    """The publications that name the table: a later ALTER PUBLICATION ... DROP / ADD TABLE
    reaches the datanodes' copy, which had left them (42704 "not part of the publication",
    publication.sql:102). Without column lists or row filters: the datanodes' copy of a
    HASH table is partitioned by shard, and PostgreSQL takes neither for a partitioned
    table unless published via its root (22023)."""
    rows = await conn.query(
        "SELECT pg_catalog.quote_ident(p.pubname) FROM pg_catalog.pg_publication_rel r "
        "JOIN pg_catalog.pg_publication p ON p.oid = r.prpubid "
        f"WHERE r.prrelid = {regclass} ORDER BY p.oid")
    return [f"ALTER PUBLICATION {row[0]} ADD TABLE {qualified}" for row in rows]


async def _kept_on_nodes(conn: BackendConnection, qualified: str) -> list[str]:
    """What the datanodes' copy of the table carries beside its definition and that a
    rebuild must keep: its owner, privileges (checked there under the session's role) and
    row security with its policies (triggers: `_triggers`). Rules are refused: they are
    not rebuilt (0A000, the move undone)."""
    regclass = f"pg_catalog.to_regclass({quote_literal(qualified)})"
    found = await conn.query(
        "SELECT (SELECT count(*) FROM pg_catalog.pg_rewrite WHERE ev_class = c.oid), "
        "pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(c.relowner)), "
        f"c.relrowsecurity, c.relforcerowsecurity FROM pg_catalog.pg_class c WHERE c.oid = {regclass}")
    if not found:
        return []
    special, owner, rls, force = found[0]
    if int(special or 0):
        raise PgError("0A000", f"cannot move {qualified}: it has rules, which gridpg does not rebuild on the datanodes")
    out = [f"ALTER TABLE {qualified} OWNER TO {owner}"]
    out += [f"ALTER TABLE {qualified} {word} ROW LEVEL SECURITY"
            for flag, word in ((rls, "ENABLE"), (force, "FORCE")) if flag == "t"]
    out += await _policies(conn, regclass, qualified)
    grants = await conn.query(
        "SELECT a.privilege_type, CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE pg_catalog.quote_ident("
        "pg_catalog.pg_get_userbyid(a.grantee)) END, a.is_grantable FROM pg_catalog.pg_class c, "
        f"pg_catalog.aclexplode(c.relacl) a WHERE c.oid = {regclass} AND a.grantee <> c.relowner")
    # column privileges (GRANT SELECT (col) ...): the datanodes check them as well
    column_grants = await conn.query(
        "SELECT a.privilege_type, pg_catalog.quote_ident(t.attname), CASE WHEN a.grantee = 0 THEN 'PUBLIC' "
        "ELSE pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(a.grantee)) END, a.is_grantable "
        "FROM pg_catalog.pg_class c JOIN pg_catalog.pg_attribute t ON t.attrelid = c.oid, "
        f"pg_catalog.aclexplode(t.attacl) a WHERE c.oid = {regclass} AND t.attacl IS NOT NULL "
        "AND NOT t.attisdropped AND a.grantee <> c.relowner ORDER BY t.attnum")
    out += await _storage_settings(conn, qualified)
    return out + [f"GRANT {priv} ON {qualified} TO {grantee}" + (" WITH GRANT OPTION" if grantable == "t" else "")
                  for priv, grantee, grantable in grants] + [
        f"GRANT {priv} ({column}) ON {qualified} TO {grantee}" + (" WITH GRANT OPTION" if grantable == "t" else "")
        for priv, column, grantee, grantable in column_grants]


_POLICY_COMMANDS = {"*": "ALL", "r": "SELECT", "a": "INSERT", "w": "UPDATE", "d": "DELETE"}


async def _policies(conn: BackendConnection, regclass: str, qualified: str) -> list[str]:
    """The table's row security policies as CREATE POLICY statements (a table that a new
    policy reads becomes REPLICATION, commands/policies.py, and may have policies of its
    own). Their expressions are printed with every name schema-qualified (search_path
    pg_catalog for the call, the session's put back after), so they read the same objects
    on the datanodes whatever the search path there."""
    path = await conn.query("SELECT pg_catalog.current_setting('search_path')")
    await conn.query("SELECT pg_catalog.set_config('search_path', 'pg_catalog', true)")
    try:
        rows = await conn.query(
            "SELECT pg_catalog.quote_ident(p.polname), p.polpermissive, p.polcmd, "
            "(SELECT pg_catalog.string_agg(CASE WHEN r = 0 THEN 'PUBLIC' ELSE "
            "pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(r)) END, ', ') FROM pg_catalog.unnest(p.polroles) r), "
            "pg_catalog.pg_get_expr(p.polqual, p.polrelid), pg_catalog.pg_get_expr(p.polwithcheck, p.polrelid) "
            f"FROM pg_catalog.pg_policy p WHERE p.polrelid = {regclass} ORDER BY p.oid")
    finally:
        await conn.query(f"SELECT pg_catalog.set_config('search_path', {quote_literal(path[0][0] or '')}, true)")
    out = []
    for name, permissive, command, roles, qual, check in rows:
        out.append(f"CREATE POLICY {name} ON {qualified} AS {'PERMISSIVE' if permissive == 't' else 'RESTRICTIVE'} "
                   f"FOR {_POLICY_COMMANDS.get(command or '*', 'ALL')} TO {roles or 'PUBLIC'}"
                   + (f" USING ({qual})" if qual is not None else "")
                   + (f" WITH CHECK ({check})" if check is not None else ""))
    return out


_STORAGE = {"p": "PLAIN", "e": "EXTERNAL", "m": "MAIN", "x": "EXTENDED"}
_COMPRESSION = {"p": "pglz", "l": "lz4"}


async def _storage_settings(conn: BackendConnection, qualified: str) -> list[str]:
    """The table's storage options (fillfactor, autovacuum_*, toast.*), set on every leaf
    below it where the rows are (a partitioned table takes none), and its columns'
    statistics targets, storage modes and compression, as the catalog server has them."""
    regclass = f"pg_catalog.to_regclass({quote_literal(qualified)})"
    found = await conn.query(
        "SELECT pg_catalog.array_to_string(c.reloptions, ', '), (SELECT pg_catalog.string_agg('toast.' || o, ', ') "
        "FROM pg_catalog.unnest(t.reloptions) o) FROM pg_catalog.pg_class c "
        f"LEFT JOIN pg_catalog.pg_class t ON t.oid = c.reltoastrelid WHERE c.oid = {regclass}")
    out: list[str] = []
    options = ", ".join(o for o in (found[0] if found else ()) if o)
    if options:
        out.append(
            "DO $gridpg_reloptions$ DECLARE r record; BEGIN FOR r IN SELECT relid FROM pg_catalog.pg_partition_tree("
            f"{quote_literal(qualified)}::pg_catalog.regclass) WHERE isleaf LOOP EXECUTE 'ALTER TABLE ' || "
            f"r.relid::pg_catalog.regclass::text || ' SET (' || {quote_literal(options)} || ')'; END LOOP; "
            "END $gridpg_reloptions$")
    columns = await conn.query(
        "SELECT pg_catalog.quote_ident(a.attname), CASE WHEN a.attstattarget >= 0 THEN a.attstattarget END, "
        "CASE WHEN a.attstorage <> t.typstorage THEN a.attstorage END, a.attcompression "
        "FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_type t ON t.oid = a.atttypid "
        f"WHERE a.attrelid = {regclass} AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum")
    for name, target, storage, compression in columns:
        column = f"ALTER TABLE {qualified} ALTER COLUMN {name}"
        out += [f"{column} SET STATISTICS {int(target)}"] if target is not None else []
        out += [f"{column} SET STORAGE {_STORAGE[storage]}"] if storage in _STORAGE else []
        out += [f"{column} SET COMPRESSION {_COMPRESSION[compression]}"] if compression in _COMPRESSION else []
    return out


async def _triggers(conn: BackendConnection, qualified: str) -> list[str]:
    """The table's own triggers (they fire on the datanodes), as CREATE TRIGGER texts, each
    with the guard that lets the coordinator fire it instead (planner/triggers.py)."""
    from gridpg.planner import triggers as tg

    rows = await conn.query("SELECT pg_catalog.pg_get_triggerdef(oid) FROM pg_catalog.pg_trigger WHERE tgrelid = "
                            f"pg_catalog.to_regclass({quote_literal(qualified)}) AND NOT tgisinternal ORDER BY oid")
    return [tg.guarded_definition(r[0], tg.new_token()) for r in rows if r[0]]
