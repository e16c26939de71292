"""Tables distributed by gridpg's default rules give way to the keys added after them.

An ORM's migration (Django, Rails, Alembic, SQLAlchemy's `create_all`) creates each table
with a surrogate primary key `id`, which gridpg's default rules distribute by HASH (id),
and then adds what PostgreSQL checks across rows: unique constraints and unique indexes
on other columns, and foreign keys to other tables' `id`, with ALTER TABLE or CREATE
UNIQUE INDEX, often in the same transaction. A datanode checks a key over its own rows
only, so a unique key without the distribution column, or a foreign key whose rows need
not be on one node, cannot hold under that distribution: PostgreSQL's answer would be
lost (duplicates accepted, a referenced row "missing", an ON DELETE CASCADE that stops at
the node).

For a table whose distribution gridpg chose (`DistTable.by_default`: no DISTRIBUTE BY,
no create_distributed_table), this module changes the distribution instead of refusing:
the table becomes a REPLICATION table (every node holds every row, so every key and
foreign key holds as in PostgreSQL), its rows moved inside the statement's transaction,
and so do the default-distributed tables a replicated table must refer to (a reference
table may refer to reference tables only). A table the user distributed explicitly
keeps its distribution and the key is refused, as before. The user may distribute the
tables afterwards with create_distributed_table (Citus's way: tables are whole until
the user spreads them).

Only the decisions here; moving rows is commands/redistribute.py's.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from gridpg.catalog.model import CatalogSnapshot, DistTable
from gridpg.sql.quote import quote_literal, quote_qualified
from gridpg.sql.xl import DistributionSpec

if TYPE_CHECKING:
    from gridpg.commands.ddl import DdlRunner

ForeignKey = tuple[list[str], str, str, list[str]]  # (child columns, parent schema, parent, parent columns)
_MAX_TABLES = 200  # tables one statement may convert (a bound on the walk over foreign keys)


def foreign_key_holds(snapshot: CatalogSnapshot, table: DistTable, fk: ForeignKey) -> bool:
    """Each datanode checks the key alone: the referenced rows must be on the child's node
    (the parent replicated on all of the child's groups, or both colocated on the key's
    distribution columns). A parent gridpg does not distribute counts as holding (the
    caller's rule decides those)."""
    child_cols, fschema, ftable, parent_cols = fk
    parent = table if (fschema, ftable) == table.key else snapshot.table(fschema, ftable)
    if parent is None:
        return table.method != "replication"
    if parent.method == "replication":
        return set(table.groups) <= set(parent.groups)
    if table.method == "replication" or table.column not in child_cols or parent.column not in parent_cols:
        return False
    if child_cols.index(table.column) != parent_cols.index(parent.column):
        return False
    if table.method == parent.method == "hash":
        return table.colocation_id == parent.colocation_id
    return table.method == parent.method == "modulo" and table.groups == parent.groups


def keys_hold(table: DistTable, keys: list[list[str] | None]) -> bool:
    """Each datanode checks a unique key over its own rows: every key (None: an expression
    index) must hold the distribution column; a REPLICATION table holds all."""
    if table.method == "replication":
        return True
    if table.method not in ("hash", "modulo"):
        return not keys  # ROUNDROBIN: a row may be on any node
    return all(key is not None and table.column in key for key in keys)


def replicated(table: DistTable) -> DistTable:
    """The REPLICATION form of a table that is being created (nothing to move yet)."""
    return DistTable(table.schema, table.name, "replication", None, None, None, None, table.groups,
                     by_default=True)


async def fit_new_table(ddl: DdlRunner, table: DistTable, fks: list[ForeignKey]) -> DistTable:
    """CREATE TABLE: a table distributed by default whose own foreign keys (to itself, or
    as a reference table to others) cannot hold becomes replicated; then every default-
    distributed parent its keys need replicated is converted. Returns the table's
    placement (the caller still checks every key and refuses what remains)."""
    needs_replication = any(fk[1:3] == table.key and not foreign_key_holds(ddl.snapshot, table, fk) for fk in fks)
    if table.by_default and table.method in ("hash", "modulo") and not needs_replication:
        needs_replication = await actions_write_distribution_column(ddl, table)
    if table.by_default and table.method != "replication" and needs_replication:
        table = replicated(table)
    await replicate_parents(ddl, table, fks, set())
    return table


async def fit_dropped_distribution_column(ddl: DdlRunner, tree: dict[str, Any], schema: str, name: str) -> bool:
    """After an `ALTER TABLE ... DROP COLUMN` ran on the catalog servers: when it dropped the
    distribution column gridpg chose for a table (a plain table or a partitioned one without
    partitions, nothing inheriting from it and no parent), the table is rebuilt from the catalog's definition, which no longer has
    the column, under the default rules applied to the columns and keys left (as CREATE
    TABLE would have placed it without the column). On the datanodes that column is the
    partition key of the table's shards, so the statement itself failed there (42P16)
    where PostgreSQL drops the column. True when it was rebuilt: the caller must not run
    the statement on the datanodes. A column the user chose stays refused (hint in
    commands/retype.explain_dropped_distribution_column), as in Citus and Postgres-XL."""
    from gridpg.commands.redistribute import redistribute

    table = ddl.snapshot.table(schema, name)
    body = tree.get("AlterTableStmt")
    if table is None or not table.by_default or table.method not in ("hash", "modulo") or not isinstance(body, dict):
        return False
    commands = [c.get("AlterTableCmd", {}) for c in body.get("cmds") or []]
    if not commands or any(c.get("subtype") != "AT_DropColumn" for c in commands) \
            or all(c.get("name") != table.column for c in commands):
        return False  # other subcommands change rows the rebuild would copy as they were
    conn = await ddl.conn(ddl.coord.catalog_node)
    rows = await conn.query(
        "SELECT (SELECT pg_catalog.count(*) FROM pg_catalog.pg_inherits i WHERE i.inhrelid = c.oid "
        "OR i.inhparent = c.oid), c.relkind, (SELECT pg_catalog.count(*) FROM pg_catalog.pg_attribute a "
        f"WHERE a.attrelid = c.oid AND a.attname = {quote_literal(table.column or '')} AND NOT a.attisdropped) "
        f"FROM pg_catalog.pg_class c WHERE c.oid = {_regclass(schema, name)}")
    # (a partitioned parent with no partitions yet takes the drop on the datanodes, where
    # it is not partitioned by that column, but keeps naming it as its distribution: every
    # later PARTITION OF / ATTACH PARTITION failed, 42703; it is rebuilt alike)
    if not rows or rows[0] not in (("0", "r", "0"), ("0", "p", "0")):
        return False
    await redistribute(ddl.dispatcher, ddl, quote_qualified(schema, name), DistributionSpec(""),
                       table.shard_count, None, by_default=True)
    moved = ddl.dispatcher.runner.snapshot().table(schema, name)
    how = "" if moved is None else (f"by {moved.method} ({moved.column})" if moved.column else moved.method)
    ddl.dispatcher.session.say(
        f'table "{name}" is now distributed {how}: the column gridpg had distributed it by was dropped')
    return True


async def fit_check_needing_unsharded_table(ddl: DdlRunner, tree: dict[str, Any], schema: str, name: str) -> bool:
    """After an `ALTER TABLE ... ADD CHECK` ran on the catalog servers: a CHECK over the
    whole row (`CHECK (t IS NOT NULL)`), which the shards of a HASH or MODULO table cannot
    carry (on the datanodes they are partitions: "cannot convert whole-row table
    reference"), added to a table gridpg placed by default makes it a table without shards,
    as CREATE TABLE places one with such a CHECK (`tableoid.needs_unsharded_table`):
    ROUNDROBIN, REPLICATION when it has a unique key. Rebuilt from the catalog's definition,
    which has the CHECK: each row is checked as it lands (PostgreSQL's 23514 for a row that
    breaks it). Only a plain table (no inheritance, not partitioned, no foreign keys) and
    only when every subcommand adds a validated CHECK (a NOT VALID one must not check the
    rows already there). True when it was rebuilt: the caller must not run the statement
    on the datanodes."""
    from gridpg.commands.redistribute import redistribute
    from gridpg.planner.tableoid import needs_unsharded_table

    table = ddl.snapshot.table(schema, name)
    body = tree.get("AlterTableStmt")
    if table is None or not table.by_default or table.method not in ("hash", "modulo") or not isinstance(body, dict):
        return False
    commands = [c.get("AlterTableCmd", {}) for c in body.get("cmds") or []]
    checks = [(c.get("def") or {}).get("Constraint") for c in commands]
    if not commands or any(c.get("subtype") != "AT_AddConstraint" for c in commands) or any(
            not isinstance(k, dict) or k.get("contype") != "CONSTR_CHECK" or k.get("skip_validation") for k in checks):
        return False
    conn = await ddl.conn(ddl.coord.catalog_node)
    rows = await conn.query(
        "SELECT (SELECT pg_catalog.count(*) FROM pg_catalog.pg_inherits i WHERE i.inhrelid = c.oid "
        "OR i.inhparent = c.oid), c.relkind, (SELECT pg_catalog.json_agg(a.attname) "
        "FROM pg_catalog.pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped)::text "
        f"FROM pg_catalog.pg_class c WHERE c.oid = {_regclass(schema, name)}")
    if not rows or rows[0][:2] != ("0", "r"):
        return False
    columns = json.loads(rows[0][2] or "[]") or []
    if not needs_unsharded_table([{"Constraint": k} for k in checks], name, columns) \
            or await foreign_keys(ddl, schema, name):
        return False
    keys = await unique_keys(ddl, schema, name)
    spec = DistributionSpec("replication") if keys else DistributionSpec("roundrobin")
    await redistribute(ddl.dispatcher, ddl, quote_qualified(schema, name), spec, None, None, by_default=True)
    ddl.dispatcher.session.say(
        f'table "{name}" is now distributed by {spec.method}: the CHECK it was given reads the whole row, '
        "which the shards of its default distribution cannot check")
    return True


async def fit_altered_table(ddl: DdlRunner, schema: str, name: str) -> bool:
    """After an ALTER TABLE or CREATE [UNIQUE] INDEX ran on the catalog servers: when the
    table's unique keys or foreign keys no longer hold and gridpg chose its distribution,
    it is rebuilt as a REPLICATION table from the catalog's definition (which already has
    the change: the caller must not run the statement on the datanodes), and the parents
    its foreign keys need are converted first. True when it was rebuilt. Parents of a
    table that keeps its placement are converted too (an added foreign key)."""
    table = ddl.snapshot.table(schema, name)
    if table is None:
        return False
    fks = await foreign_keys(ddl, schema, name)
    if table.by_default and table.method != "replication":
        keys = await unique_keys(ddl, schema, name)
        self_fk = [fk for fk in fks if fk[1:3] == table.key]
        if not keys_hold(table, keys) or any(not foreign_key_holds(ddl.snapshot, table, fk) for fk in self_fk) \
                or await actions_write_distribution_column(ddl, table):
            return await make_replicated(ddl, table, set())
    await replicate_parents(ddl, table, fks, set())
    return False


async def replicate_parents(ddl: DdlRunner, table: DistTable, fks: list[ForeignKey], seen: set[tuple[str, str]]) -> None:
    """Every default-distributed parent that a foreign key of `table` needs replicated
    (the key does not hold as the parent is placed now) becomes a REPLICATION table."""
    for fk in fks:
        if fk[1:3] == table.key or foreign_key_holds(ddl.snapshot, table, fk):
            continue
        parent = ddl.snapshot.table(fk[1], fk[2])
        if parent is not None and parent.by_default and parent.method != "replication":
            await make_replicated(ddl, parent, seen)


async def make_replicated(ddl: DdlRunner, table: DistTable, seen: set[tuple[str, str]],
                          why: str = "a unique key or foreign key it was given cannot hold under its default "
                                     "distribution (use DISTRIBUTE BY, or create_distributed_table with a column "
                                     "every key includes, to spread its rows)") -> bool:
    """Rebuild a default-distributed table as a REPLICATION table, its parents first (a
    reference table refers to reference tables only), inside the statement's transaction;
    `why` ends the notice the client gets. True when it was rebuilt from the catalog's
    definition; False when it is a member of an inheritance tree, which changes in place
    (commands/tree_replication.py: the statement still runs on the datanodes)."""
    from gridpg.commands.redistribute import redistribute
    from gridpg.errors import PROGRAM_LIMIT_EXCEEDED, PgError

    if table.key in seen:
        return False
    seen.add(table.key)
    if len(seen) > _MAX_TABLES:
        raise PgError(PROGRAM_LIMIT_EXCEEDED, f"more than {_MAX_TABLES} tables would have to be replicated")
    if await _in_inheritance_tree(ddl, table):
        # not rebuilt alone: its children depend on it on the datanodes (the rebuild's DROP
        # failed, 2BP01, inherit.sql:1029), and a tree's members stay placed alike
        from gridpg.commands import tree_replication

        members = await tree_replication.tree_members(ddl, table)
        if members is None:
            raise tree_replication.refusal_for(table)
        for member in members:
            await replicate_parents(ddl, replicated(member), await foreign_keys(ddl, *member.key), seen)
        await tree_replication.replicate_tree(ddl, table, members)
        return False
    await replicate_parents(ddl, replicated(table), await foreign_keys(ddl, *table.key), seen)
    await redistribute(ddl.dispatcher, ddl, quote_qualified(*table.key), DistributionSpec("replication"),
                       None, None, by_default=True)
    ddl.dispatcher.session.say(
        f'table "{table.name}" is now replicated to every datanode: {why}')
    return True


async def _in_inheritance_tree(ddl: DdlRunner, table: DistTable) -> bool:
    conn = await ddl.conn(ddl.coord.catalog_node)
    rows = await conn.query(
        "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_inherits i JOIN pg_catalog.pg_class k ON k.oid = i.inhrelid "
        f"WHERE NOT k.relispartition AND (i.inhrelid = {_regclass(*table.key)} OR i.inhparent = "
        f"{_regclass(*table.key)}))")
    return bool(rows) and rows[0][0] == "t"


async def actions_write_distribution_column(ddl: DdlRunner, table: DistTable) -> bool:
    """Whether a foreign key of the table has an action that writes its referencing
    columns (ON UPDATE CASCADE, ON UPDATE / ON DELETE SET NULL or SET DEFAULT) and they
    hold the table's distribution column. PostgreSQL's action updates the referencing row
    where it is, on its datanode, where its new value belongs to another node's shard: it
    failed with 23514 ("no partition of relation ... found for row", foreign_key.sql:170,
    1755, 2216), and the referenced table's key could not be updated either (its rows would
    move, refused with 0A000). A HASH or MODULO table gridpg placed itself becomes a
    REPLICATION table instead (then so do its parents, `replicate_parents`): the action
    runs on every node, and the referenced key is updated in place."""
    if table.method not in ("hash", "modulo") or table.column is None:
        return False
    conn = await ddl.conn(ddl.coord.catalog_node)
    rows = await conn.query(
        "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_constraint c JOIN pg_catalog.pg_attribute a "
        "ON a.attrelid = c.conrelid AND a.attnum = ANY (c.conkey) "
        f"WHERE c.conrelid = {_regclass(*table.key)} AND c.contype = 'f' AND c.conparentid = 0 "
        f"AND a.attname = {quote_literal(table.column)} "
        "AND (c.confupdtype IN ('c', 'n', 'd') OR c.confdeltype IN ('n', 'd')))")
    return bool(rows) and rows[0][0] == "t"


async def unique_keys(ddl: DdlRunner, schema: str, name: str) -> list[list[str] | None]:
    """The columns of every unique index of the table (constraints' included), None for an
    index on an expression, as the catalog server has them in this transaction. An
    EXCLUDE constraint counts as a key of the columns it compares with `=` (None when
    none): rows it must keep apart share those values, so a node holding all rows of a
    distribution value checks it whole when the distribution column is among them. A column the index compares under another collation
    or a non-default operator class (`hat_name COLLATE "C" bpchar_pattern_ops`) is left
    out: the datanodes' partitioned copy refuses such a key over its partition column
    (0A000 "must include all partitioning columns", rules.sql:1125)."""
    conn = await ddl.conn(ddl.coord.catalog_node)
    rows = await conn.query(
        "SELECT CASE WHEN i.indexprs IS NULL THEN (SELECT pg_catalog.array_agg(a.attname ORDER BY k.ord) "
        "FROM pg_catalog.unnest(i.indkey::int2[]) WITH ORDINALITY k(attnum, ord) JOIN pg_catalog.pg_attribute a "
        "ON a.attrelid = i.indrelid AND a.attnum = k.attnum WHERE k.ord <= i.indnkeyatts "
        "AND i.indcollation[k.ord - 1] IN (0, a.attcollation) AND (SELECT o.opcdefault FROM "
        "pg_catalog.pg_opclass o WHERE o.oid = i.indclass[k.ord - 1]))::text END "
        f"FROM pg_catalog.pg_index i WHERE i.indrelid = {_regclass(schema, name)} AND i.indisunique "
        "UNION ALL SELECT (SELECT pg_catalog.array_agg(a.attname ORDER BY k.ord) "
        "FROM ROWS FROM (pg_catalog.unnest(c.conkey), pg_catalog.unnest(c.conexclop)) WITH ORDINALITY k(attnum, op, ord) "
        "JOIN pg_catalog.pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum "
        "JOIN pg_catalog.pg_operator o ON o.oid = k.op WHERE o.oprname = '=')::text "
        f"FROM pg_catalog.pg_constraint c WHERE c.conrelid = {_regclass(schema, name)} AND c.contype = 'x'")
    from gridpg.commands.ddl import _pg_array

    return [_pg_array(r[0]) if r[0] is not None else None for r in rows]


async def foreign_keys(ddl: DdlRunner, schema: str, name: str) -> list[ForeignKey]:
    conn = await ddl.conn(ddl.coord.catalog_node)
    return (await ddl._inspect(conn, {"schemaname": schema, "relname": name}))[4]


def _regclass(schema: str, name: str) -> str:
    return f"pg_catalog.to_regclass({quote_literal(quote_qualified(schema, name))})"


def altered_relation(tree: dict[str, Any]) -> dict[str, Any] | None:
    """The relation an ALTER TABLE or CREATE INDEX statement changes (its RangeVar)."""
    for kind in ("AlterTableStmt", "IndexStmt"):
        body = tree.get(kind)
        if isinstance(body, dict) and isinstance(body.get("relation"), dict):
            return body["relation"]
    return None
