"""ALTER TABLE ... ALTER COLUMN <distribution column> TYPE ... [USING ...] of a HASH table.

On every datanode a HASH table is partitioned by its distribution column, and PostgreSQL
refuses to change the type of a partition key column (42P16). gridpg rebuilds the table
instead (commands/redistribute.py, the mover of alter_distributed_table), in the
statement's distributed transaction, so it is all or nothing on every node:

1. the statement runs on every catalog server: PostgreSQL's own checks (a cast exists,
   no view or rule uses the column, keys and foreign keys can be rebuilt) with its errors;
2. each datanode copies its rows into a scratch table and runs the statement's ALTER
   COLUMN ... TYPE subcommands on it: PostgreSQL's own cast and USING semantics, and its
   errors (22P02 for text '12a' to integer) before anything is dropped;
3. the table is created again from the catalog's new definition, with the new
   distribution type (and the colocation group of that type) in the metadata;
4. the rows go back: each datanode re-inserts its own when no row can change shard (the
   old and new type hash alike: one PostgreSQL hash opfamily, no USING that changes
   values, a deterministic collation, the same shard placement), else they are gathered
   and routed by their new hash.

It must not change a column's values other than as PostgreSQL's ALTER TABLE would.
"""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING, Any

from gridpg.catalog.model import DistTable
from gridpg.commands import retype_tree
from gridpg.commands.ddl import as_cluster_owner
from gridpg.errors import FEATURE_NOT_SUPPORTED, INVALID_TABLE_DEFINITION, PgError
from gridpg.planner.hashing import canonical_type_name, is_hashable_type
from gridpg.sql.quote import quote_literal, quote_qualified
from gridpg.sql.xl import DistributionSpec

if TYPE_CHECKING:
    from gridpg.commands.ddl import DdlRunner
    from gridpg.executor.dispatch import ExecRequest

SCRATCH_SCHEMA = "gridpg_shards"
# Subcommands that may come with the type change: they change the catalog's definition
# only, which the rebuilt table takes (Django writes the type change alone). DROP IDENTITY
# too: the rows keep their values, the GTM's sequence goes (commands/sequences.py).
_DEFINITION_ONLY = {"AT_ColumnDefault", "AT_SetNotNull", "AT_DropNotNull", "AT_DropIdentity"}
# PostgreSQL's hash opfamilies whose members hash equal values alike (integer_ops,
# text_ops). `name` is left out as a target: the cast to it truncates at 63 bytes.
_HASH_FAMILY = {"int2": "integer", "int4": "integer", "int8": "integer",
                "text": "text", "varchar": "text", "name": "text"}


def retyped_table(tree: dict[str, Any], tables: tuple[DistTable, ...] | list[DistTable]) -> DistTable | None:
    """The HASH table whose distribution column the ALTER TABLE changes the type of; None
    for any other statement."""
    body = tree.get("AlterTableStmt")
    if not isinstance(body, dict) or len(tables) != 1 or tables[0].method != "hash" or not tables[0].column:
        return None
    column = tables[0].column
    for cmd in _commands(body):
        if cmd.get("subtype") == "AT_AlterColumnType" and cmd.get("name") == column:
            return tables[0]
    return None


def ensure_supported_commands(body: dict[str, Any], column: str) -> None:
    """The type change of a distribution column may come with other type changes and the
    definition-only subcommands; anything else is refused (0A000), before anything runs."""
    for cmd in _commands(body):
        subtype = cmd.get("subtype")
        if subtype != "AT_AlterColumnType" and subtype not in _DEFINITION_ONLY:
            raise PgError(FEATURE_NOT_SUPPORTED,
                          f'changing the type of distribution column "{column}" cannot be combined '
                          "with other ALTER TABLE subcommands in gridpg",
                          hint="run the other subcommands as a statement of their own")


def keeps_values(body: dict[str, Any], column: str, old_type: str) -> bool:
    """Whether the subcommand changing `column` (of `old_type`) keeps every value as it is
    (no USING, or a USING that is the column itself, cast within its type's hash family,
    without type modifiers or collation)."""
    for cmd in _commands(body):
        if cmd.get("subtype") != "AT_AlterColumnType" or cmd.get("name") != column:
            continue
        definition = (cmd.get("def") or {}).get("ColumnDef") or {}
        if definition.get("collClause"):
            return False
        using = definition.get("raw_default")
        family = _HASH_FAMILY.get(canonical_type_name(old_type))
        return using is None or (family is not None and _is_column_cast(using, column, family))
    return False


def hashes_alike(old_type: str, new_type: str, new_typmod: int) -> bool:
    """Whether a value of `old_type` keeps its partition hash as the same value of
    `new_type` (PostgreSQL's hash opfamilies promise equal hashes across their members; a
    type modifier taken away never changes a value)."""
    old, new = canonical_type_name(old_type), canonical_type_name(new_type)
    if old == new:
        return new_typmod == -1
    family = _HASH_FAMILY.get(old)
    return family is not None and new != "name" and _HASH_FAMILY.get(new) == family and new_typmod == -1


def explain_dropped_distribution_column(error: PgError, tree: dict[str, Any],
                                        tables: tuple[DistTable, ...] | list[DistTable]) -> None:
    """A datanode's 42P16 for DROP COLUMN of a HASH table's distribution column ("part of
    the partition key", a partitioning the user never asked for) given a hint that says
    what the column is and what to do; refused as in Citus and Postgres-XL."""
    body = tree.get("AlterTableStmt")
    if error.sqlstate != "42P16" or not isinstance(body, dict) or len(tables) != 1 or tables[0].method != "hash":
        return
    table = tables[0]
    if not any(c.get("subtype") == "AT_DropColumn" and c.get("name") == table.column for c in _commands(body)):
        return
    hint = (f'"{table.column}" is the distribution column of "{table.name}": distribute the table by another '
            f"column first (SELECT alter_distributed_table({quote_literal(table.name)}, "
            "distribution_column => 'other column')), or make it a reference table")
    error.hint = hint
    if error.fields is not None:
        error.fields = {**error.fields, "H": hint}


async def run(ddl: DdlRunner, request: ExecRequest, table: DistTable, tree: dict[str, Any]) -> None:
    """The statement, with the rebuild, in the session's transaction; tag ALTER TABLE."""
    runner = ddl.runner
    try:
        await _retype(ddl, request, table, tree)
    except BaseException:
        if not runner.txn.in_block:  # the statement's own transaction ends with it
            runner.private_snapshot = None
            runner.before_commit.clear()
        raise
    await ddl.finish("ALTER TABLE")


async def _retype(ddl: DdlRunner, request: ExecRequest, table: DistTable, tree: dict[str, Any]) -> None:
    from gridpg.commands.redistribute import Conversion, redistribute

    body = tree["AlterTableStmt"]
    column = table.column or ""
    ensure_supported_commands(body, column)
    qualified = quote_qualified(table.schema, table.name)
    catalog = await ddl.conn(ddl.coord.catalog_node)
    members = await retype_tree.tree_members(catalog, qualified)
    if members is not None:  # plain tables on the datanodes: commands/retype_tree.py
        await retype_tree.retype_tree(ddl, request, table, members)
        return
    old_deterministic = await _deterministic_collation(catalog, qualified, column)
    await alter_on_catalog_servers(ddl, request.sql)
    found = await catalog.query(
        "SELECT t.typname, a.atttypmod, pg_catalog.format_type(a.atttypid, a.atttypmod), t.typtype "
        "FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_type t ON t.oid = a.atttypid "
        f"WHERE a.attrelid = pg_catalog.to_regclass({quote_literal(qualified)}) "
        f"AND a.attname = {quote_literal(column)} AND NOT a.attisdropped")
    new_type, new_typmod, formatted, typtype = found[0]
    base = await _base_type(catalog, qualified, column) if typtype == "d" else new_type or ""
    if not is_hashable_type(canonical_type_name(base)):
        raise PgError(INVALID_TABLE_DEFINITION,
                      f'column "{column}" of type {formatted} cannot be a distribution column',
                      hint="distribute the table by another column first (alter_distributed_table), "
                      "or keep a type of the integer, text, numeric, date/time, uuid, bool or bytea kinds")
    if canonical_type_name(base) != canonical_type_name(table.column_type or ""):
        await _ensure_no_colocated_foreign_keys(ddl, catalog, table)
    in_place = (typtype == "b" and keeps_values(body, column, table.column_type or "") and old_deterministic
                and await _deterministic_collation(catalog, qualified, column)
                and hashes_alike(table.column_type or "", new_type or "", int(new_typmod or -1)))
    scratch = f"{SCRATCH_SCHEMA}.gp_retype_{secrets.token_hex(6)}"
    conversion = Conversion(scratch, _alter_tail(request.sql), in_place)
    old_placement = _placement(ddl, table)
    await redistribute(ddl.dispatcher, ddl, qualified, DistributionSpec("hash", column), table.shard_count,
                       None, by_default=table.by_default, convert=conversion)
    moved = ddl.snapshot.table(table.schema, table.name)
    if not in_place or moved is None or _placement(ddl, moved) != old_placement:
        nodes = [*ddl.catalog_nodes(), *sorted(set(table.groups) | set(moved.groups if moved is not None else ()))]
        ddl.runner.before_commit.append(lambda: _cancel_waiters(ddl, nodes))


def _placement(ddl: DdlRunner, table: DistTable) -> dict[int, str]:
    snapshot = ddl.snapshot
    return {r: snapshot.shard_group(table.schema, table.name, r) for r in range(table.shard_count or 0)}


# Statements of other sessions waiting for a relation this transaction holds exclusively
# (the table, its shards, its views) on a server: cancelled, as the superuser the
# connection logged in as (any session's role may run the change).
_CANCEL_WAITERS = as_cluster_owner(
    "SELECT pg_catalog.count(pg_catalog.pg_cancel_backend(w.pid)) FROM pg_catalog.pg_locks w "
    "WHERE NOT w.granted AND w.locktype = 'relation' AND w.pid <> pg_catalog.pg_backend_pid() "
    "AND w.relation IN (SELECT h.relation FROM pg_catalog.pg_locks h WHERE h.pid = pg_catalog.pg_backend_pid() "
    "AND h.granted AND h.locktype = 'relation' AND h.mode = 'AccessExclusiveLock')")


async def _cancel_waiters(ddl: DdlRunner, nodes: list[str]) -> None:
    """Just before a change that moved rows commits: statements of other sessions that
    wait for the table on its datanodes were routed by the old hash (a point read, UPDATE
    or DELETE would look on a node or shard the row left, and find nothing), and those
    waiting on a catalog server (a statement form described there for the first time) are
    planned with the metadata their coordinator holds, which may still be the old one:
    all are cancelled (57014, loud) instead of running against the rebuilt table. A change
    that kept every row in place lets them run (they find their rows)."""
    for node in nodes:
        await (await ddl.conn(node)).simple_query(_CANCEL_WAITERS)


async def _ensure_no_colocated_foreign_keys(ddl: DdlRunner, catalog: Any, table: DistTable) -> None:
    """A foreign key between the table and another HASH table holds on each datanode because
    the two are colocated; the new type puts the table in the colocation group of that
    type, away from the other: refused (0A000) before any row moves, with the way round."""
    rows = await catalog.query(
        "SELECT c.conname, pn.nspname, p.relname, fn.nspname, f.relname FROM pg_catalog.pg_constraint c "
        "JOIN pg_catalog.pg_class p ON p.oid = c.conrelid JOIN pg_catalog.pg_namespace pn ON pn.oid = p.relnamespace "
        "JOIN pg_catalog.pg_class f ON f.oid = c.confrelid JOIN pg_catalog.pg_namespace fn ON fn.oid = f.relnamespace "
        "WHERE c.contype = 'f' AND c.conparentid = 0 AND c.conrelid <> c.confrelid AND "
        f"pg_catalog.to_regclass({quote_literal(quote_qualified(table.schema, table.name))}) IN (c.conrelid, c.confrelid) "
        "ORDER BY c.oid")
    for name, child_schema, child, parent_schema, parent in rows:
        other = (parent_schema, parent) if (child_schema, child) == table.key else (child_schema, child)
        found = ddl.snapshot.table(other[0] or "", other[1] or "")
        if found is None or found.method != "hash":
            continue
        raise PgError(FEATURE_NOT_SUPPORTED,
                      f'cannot change the type of distribution column "{table.column}" of "{table.name}": '
                      f'foreign key "{name}" of "{child}" refers to "{parent}", and the two tables would no '
                      "longer be colocated",
                      detail="gridpg colocates hash-distributed tables by the type of their distribution column",
                      hint="drop the foreign key, change the type of both columns, then add the key again "
                      "(as Django's migrations do)")


async def _deterministic_collation(catalog: Any, qualified: str, column: str) -> bool:
    rows = await catalog.query(
        "SELECT coalesce(co.collisdeterministic, true) FROM pg_catalog.pg_attribute a "
        "LEFT JOIN pg_catalog.pg_collation co ON co.oid = a.attcollation "
        f"WHERE a.attrelid = pg_catalog.to_regclass({quote_literal(qualified)}) "
        f"AND a.attname = {quote_literal(column)} AND NOT a.attisdropped")
    return bool(rows) and rows[0][0] == "t"


async def _base_type(catalog: Any, qualified: str, column: str) -> str:
    """The base type's name of a column whose type is a domain (over domains)."""
    rows = await catalog.query(
        "WITH RECURSIVE d(oid, typname, typtype, typbasetype, depth) AS ("
        "SELECT t.oid, t.typname, t.typtype, t.typbasetype, 0 FROM pg_catalog.pg_attribute a "
        "JOIN pg_catalog.pg_type t ON t.oid = a.atttypid "
        f"WHERE a.attrelid = pg_catalog.to_regclass({quote_literal(qualified)}) "
        f"AND a.attname = {quote_literal(column)} AND NOT a.attisdropped "
        "UNION ALL SELECT b.oid, b.typname, b.typtype, b.typbasetype, d.depth + 1 FROM d "
        "JOIN pg_catalog.pg_type b ON b.oid = d.typbasetype WHERE d.typtype = 'd' AND d.depth < 20) "
        "SELECT typname FROM d WHERE typtype <> 'd'")
    return rows[0][0] or "" if rows else ""


def _alter_tail(sql: str) -> str:
    """The statement's ALTER COLUMN ... TYPE subcommands, as text to follow `ALTER TABLE
    <scratch>` (the deparser quotes every name)."""
    from pglast.stream import RawStream

    from gridpg.sql.parse import parse_sql

    stmt = parse_sql(sql)[0].stmt
    stmt.relation.schemaname, stmt.relation.relname, stmt.missing_ok = None, "gp_retype_target", False
    stmt.relation.inh = True
    stmt.cmds = tuple(c for c in stmt.cmds if c.subtype.name == "AT_AlterColumnType")
    return str(RawStream()(stmt)).split("gp_retype_target", 1)[1]


def _commands(body: dict[str, Any]) -> list[dict[str, Any]]:
    return [c.get("AlterTableCmd") or {} for c in body.get("cmds") or []]


def _is_column_cast(node: Any, column: str, family: str) -> bool:
    """`col`, or `col` cast (once or more) to members of its type's hash `family` without
    type modifiers: `"id"::bigint`, Django's USING."""
    if not isinstance(node, dict):
        return False
    if "ColumnRef" in node:
        fields = node["ColumnRef"].get("fields") or []
        last = fields[-1] if fields else {}
        return len(fields) <= 2 and isinstance(last, dict) and (last.get("String") or {}).get("sval") == column
    cast = node.get("TypeCast")
    if not isinstance(cast, dict):
        return False
    type_name = cast.get("typeName") or {}
    names = [(n.get("String") or {}).get("sval") for n in type_name.get("names") or []]
    if type_name.get("typmods") or type_name.get("arrayBounds") or not names or len(names) > 2:
        return False
    if len(names) == 2 and names[0] != "pg_catalog":
        return False
    target = canonical_type_name(names[-1] or "")
    if _HASH_FAMILY.get(target) != family or target == "name":
        return False
    return _is_column_cast(cast.get("arg"), column, family)


async def alter_on_catalog_servers(ddl: DdlRunner, sql: str) -> None:
    """The ALTER on every catalog server first: PostgreSQL's checks and errors (and the
    coordinator's server's notices, relayed) before any row moves."""
    await ddl.on_catalog_servers(sql, relay_notices=True)
