"""DDL propagation: every catalog server and every datanode in one distributed transaction.

CREATE TABLE decides the distribution (the DISTRIBUTE BY clause, or XL's default rules),
creates the table on every catalog server as written, on the datanodes as a hash-
partitioned parent with its shards (HASH) or as a plain table (the other methods), and
writes the metadata on every catalog server. Any other DDL runs as written on every
catalog server and on the datanode groups of the tables it names (all groups when it
names none). All of it commits with 2PC, so a failure anywhere leaves no trace anywhere;
then the metadata epoch is bumped in the GTM so every coordinator reloads.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pglast import ast, enums
from pglast.stream import RawStream

from gridpg.catalog import store
from gridpg.catalog.model import (
    CatalogSnapshot,
    Colocation,
    DistTable,
    Shard,
    place_shards,
    shard_table_name,
)
from gridpg.commands import (
    block_types,
    cascades,
    code_truncate,
    default_placement,
    like_temp,
    partitions,
    policies,
    relstats,
    sequence_fill,
    sequence_ranges,
    shard_grants,
    shard_indexes,
)
from gridpg.errors import FEATURE_NOT_SUPPORTED, INVALID_TABLE_DEFINITION, UNDEFINED_OBJECT, PgError
from gridpg.planner import leafwise, tableoid, tempnames
from gridpg.planner.hashing import canonical_type_name, is_hashable_type
from gridpg.sql import trigger_relation
from gridpg.sql.parse import parse_sql, parse_tree
from gridpg.sql.quote import quote_ident, quote_literal, quote_qualified
from gridpg.sql.xl import DistributionSpec

if TYPE_CHECKING:
    from gridpg.datanode.connection import BackendConnection
    from gridpg.executor.dispatch import Dispatcher, ExecRequest

DEFAULT_SHARD_COUNT = 32
SHARD_SCHEMA = "gridpg_shards"
# Every role that may create a table creates its shards (and the scratch tables of its
# queries) in the shard schema, as itself: the schema takes objects from everyone, like
# public did before PostgreSQL 15. A shard's own privileges are its owner's as usual.
# EXACT_TEXT: a value's text with every float digit whatever the session's
# extra_float_digits (its SET clause holds for the call only): moved rows carry their floats
# exactly while the rest of their query keeps the session's value (executor/exchange.py).
EXACT_TEXT = f"{SHARD_SCHEMA}.gp_exact_text"
SHARD_SCHEMA_SETUP = (
    f"CREATE SCHEMA IF NOT EXISTS {SHARD_SCHEMA}",
    f"GRANT USAGE, CREATE ON SCHEMA {SHARD_SCHEMA} TO PUBLIC",
    (f"CREATE OR REPLACE FUNCTION {EXACT_TEXT}(anyelement) RETURNS text LANGUAGE sql STABLE "
     "PARALLEL SAFE SET extra_float_digits = 3 AS 'SELECT $1::pg_catalog.text'"),
)

# Statements that cannot run inside a transaction block: run node by node.
# (CLUSTER and REINDEX are such a statement only for some relations: commands/maintenance.py.)
NON_TRANSACTIONAL = {"VacuumStmt", "CreatedbStmt", "DropdbStmt", "AlterSystemStmt"}


@dataclass
class Column:
    name: str
    type_name: str  # typname of the base type, e.g. int4, text
    formatted: str  # format_type(), e.g. integer, character varying(10)
    default: str | None
    generated: bool = False  # GENERATED ALWAYS AS (...) STORED: no partition key may use it


class DdlRunner:
    """Runs DDL for one session through its distributed transaction."""

    def __init__(self, dispatcher: Dispatcher) -> None:
        self.dispatcher = dispatcher
        self.runner = dispatcher.runner
        self.coord = dispatcher.coord
        # the statement makes nothing a catalog reload reads (`_leaves_catalog_as_is`)
        self.leaves_catalog = False
        # the statement is a TRUNCATE (`restarting`: ... RESTART IDENTITY): it empties tables
        # and changes no definition a coordinator caches (`finish`, `_leaves_catalog_as_is`)
        self.truncating = self.restarting = False

    @property
    def snapshot(self) -> CatalogSnapshot:
        return self.runner.snapshot()

    def catalog_nodes(self) -> list[str]:
        """Every catalog server, in the same order on every coordinator (by name): two
        coordinators' DDL on one object then lock the catalog servers in one order and
        queue instead of deadlocking (each holding its own catalog server and waiting for
        the other's: a cycle the monitor cannot see, catalog backends carry no GXID)."""
        return sorted([self.coord.catalog_node, *(a.name for a in self.coord.other_catalogs)])

    def all_groups(self) -> list[str]:
        return sorted(self.coord.datanode_addresses)

    async def conn(self, node: str) -> BackendConnection:
        """The node's connection for the DDL (its maps not read: DDL relays no rows)."""
        txn = self.runner.txn
        conn = await txn.connection(node, wants_block=True, maps=False)
        txn.mark_written(node)
        return conn

    # -- generic propagation -----------------------------------------------------------

    async def propagate(self, request: ExecRequest, kind: str, groups: list[str],
                        after: list[str] | None = None,
                        group_sql: dict[str, str] | None = None, non_transactional: bool = False) -> None:
        """Run the statement on every catalog server and on `groups` (or each group's own
        text from `group_sql`); then the `after` SQL on the catalog servers. A statement
        PostgreSQL runs outside transaction blocks (or `non_transactional`) goes node by node."""
        if kind in NON_TRANSACTIONAL or non_transactional:
            await self._run_non_transactional(request, groups, kind)
            return
        if kind == "CreateFunctionStmt" and self.runner.temps.pinned:
            await self._create_function_beside_temps(request, groups)
            return
        if kind in policies.KINDS:  # before anything runs: a policy reading part of a table
            await policies.ensure_reads_whole_tables(self.dispatcher, request.sql)
            await policies.replicate_tables_read(self, request.sql)
        tag = ""
        self.leaves_catalog = kind == "CreateSchemaStmt" and not after \
            and not parse_tree(request.sql)[kind].get("schemaElts")
        self.truncating = kind == "TruncateStmt" and not after
        self.restarting = self.truncating and bool(parse_tree(request.sql)[kind].get("restart_seqs"))
        cascading = cascades.is_cascading_drop(kind, parse_tree(request.sql))
        missing_before = await cascades.lost_distribution_columns(self) if cascading else []
        skipped = await code_truncate.skipped_catalog(self, request.sql) if kind == "TruncateStmt" else None
        for node in self.catalog_nodes():
            if node == skipped:  # server-side code's TRUNCATE: its catalog server is running the code
                tag = "TRUNCATE TABLE" if node == self.coord.catalog_node else tag
                continue
            conn = await self.conn(node)
            conn.notices.clear()
            results = await conn.simple_query(request.sql)
            if node == self.coord.catalog_node:
                tag = results[-1].tag if results else ""
                self._relay_notices(conn)
        if kind in ("CreateForeignTableStmt", "AlterTableStmt"):
            await partitions.ensure_no_foreign_members(self, parse_tree(request.sql))
        if kind == "RenameStmt":
            await self._follow_renamed_distribution_column(parse_tree(request.sql))
        if cascading:
            await cascades.ensure_distribution_columns_kept(self, missing_before)
        if kind in ("DropStmt", "DropOwnedStmt") and self.snapshot.matviews:
            await self._drop_vanished_matviews()
        if kind in ("AlterTableStmt", "IndexStmt") and await self._fit_default_placement(request.sql):
            groups = []  # rebuilt from the catalog's definition, which has the change
        elif kind == "AlterTableStmt":
            if cascades.drops_columns(parse_tree(request.sql)):
                await cascades.fit_inheritance_members_without_column(self)
            await self._check_added_foreign_keys(request.sql)
            await self._ensure_replicas_filled_alike(request.sql)
        if kind in ("AlterTableStmt", "IndexStmt") and groups:
            await self._check_added_unique_keys(request.sql)
        if kind == "CreateTrigStmt" and groups and not group_sql:
            group_sql = await self._guarded_trigger(request.sql, groups)
        if kind == "CreateFunctionStmt" and groups and not group_sql:
            on_shards = trigger_relation.for_datanodes(request.sql, parse_tree(request.sql))
            group_sql = {group: on_shards for group in groups} if on_shards is not None else None
        if kind == "AlterTableStmt" and groups and not group_sql:
            pinned = await self._time_defaults_pinned(request.sql)
            if pinned is not None:
                group_sql = {group: shard_grants.with_shards(pinned) or pinned for group in groups}
        if kind == "AlterTableStmt" and groups and not group_sql:
            on_leaves = leafwise.index_options_text(request.sql, parse_tree(request.sql)["AlterTableStmt"]) \
                or await self._constraints_using_index(request.sql)
            group_sql = {group: on_leaves for group in groups} if on_leaves is not None else None
        if kind in ("GrantStmt", "AlterTableStmt") and groups and not group_sql:
            mirrored = shard_grants.with_shards(request.sql)  # the shards keep their table's ACL
            group_sql = {group: mirrored for group in groups} if mirrored is not None else None
        for group in groups:
            conn = await self.conn(group)
            await conn.simple_query(group_sql.get(group, request.sql) if group_sql else request.sql)
            if kind in shard_indexes.RENAMING:
                await conn.simple_query(shard_indexes.rename_sql())
        if skipped is not None:  # no schema changed; the caller's transaction ends the statement's
            from gridpg.pgwire import codec

            self.dispatcher.session.send(codec.build_command_complete(tag))
            return
        if kind == "AlterTableStmt" and groups:  # added columns filled from a sequence: the cluster's values
            await sequence_fill.fill_added_columns(self, request.sql, groups)
        if after:
            await self.on_catalog_servers(as_cluster_owner("\n".join(after)))
        if kind in relstats.REBUILDING and groups:  # the catalog servers counted their empty copies
            await relstats.publish_in_transaction(self, parse_tree(request.sql))
        await self.finish(tag)

    async def _constraints_using_index(self, sql: str) -> str | None:
        """`ALTER TABLE t ADD [CONSTRAINT c] UNIQUE / PRIMARY KEY USING INDEX i` (how a
        unique key is added without a long lock: CREATE UNIQUE INDEX CONCURRENTLY first) as
        the datanodes run it: a HASH table is partitioned there, where PostgreSQL has no
        USING INDEX (0A000), so the index is dropped and the constraint added as the catalog
        server now defines it (the index built again, under the statement's lock). A table
        that is not partitioned on the node takes the statement as written. DROP CONSTRAINT
        subcommands beside them (swapping a key for another: create_index.sql:607) run first,
        as PostgreSQL's ALTER TABLE drops before it adds. None when the statement is not only
        such commands."""
        body = parse_tree(sql).get("AlterTableStmt") or {}
        cmds = [c.get("AlterTableCmd", {}) for c in body.get("cmds") or []]
        adds = [((c.get("def") or {}).get("Constraint") or {}) for c in cmds if c.get("subtype") == "AT_AddConstraint"]
        drops = [c for c in cmds if c.get("subtype") == "AT_DropConstraint"]
        if not adds or len(adds) + len(drops) != len(cmds) or not all(a.get("indexname") for a in adds) \
                or "$gridpg_" in sql:
            return None
        relation = body["relation"]
        table = quote_qualified(relation.get("schemaname"), relation["relname"])
        own = await self.conn(self.coord.catalog_node)
        steps = [(f"IF (SELECT c.relkind FROM pg_catalog.pg_class c WHERE c.oid = pg_catalog.to_regclass("
                  f"{quote_literal(table)})) <> 'p' THEN EXECUTE {quote_literal(sql)}; RETURN; END IF;")]
        if drops:
            stmt = parse_sql(sql)[0].stmt
            stmt.cmds = tuple(c for c in stmt.cmds if c.subtype == enums.AlterTableType.AT_DropConstraint)
            steps.append(f"EXECUTE {quote_literal(RawStream()(stmt))};")
        for add in adds:
            name = add.get("conname") or add["indexname"]
            rows = await own.query(
                "SELECT pg_catalog.pg_get_constraintdef(c.oid) FROM pg_catalog.pg_constraint c WHERE c.conrelid = "
                f"pg_catalog.to_regclass({quote_literal(table)}) AND c.conname = {quote_literal(name)}")
            if not rows or not rows[0][0]:
                return None
            index = quote_qualified(relation.get("schemaname"), add["indexname"])
            steps.append(f"EXECUTE {quote_literal(f'DROP INDEX {index}')};")
            steps.append(f"EXECUTE {quote_literal(f'ALTER TABLE {table} ADD CONSTRAINT {quote_ident(name)} {rows[0][0]}')};")
        return f"DO $gridpg_using_index$ BEGIN {' '.join(steps)} END $gridpg_using_index$"

    async def _time_defaults_pinned(self, sql: str) -> str | None:
        """ALTER TABLE ... ADD COLUMN c ... DEFAULT now() as the datanodes get it: PostgreSQL
        fills the table's rows with the transaction's instant, one value; each datanode's
        own transaction start would give each node's rows another. The added column's
        default is the block's pinned instant (sql/xact_time.py), then set back to the
        client's expression for later rows in the same statement. None when no added
        column's default reads the transaction time (or IF NOT EXISTS: the column may be
        there already, and its default must stay)."""
        from gridpg.sql import xact_time

        if not xact_time.may_mention_time(sql):
            return None
        stmt = parse_sql(sql)[0].stmt
        txn = self.runner.txn
        restore: list[str] = []
        for cmd in stmt.cmds or ():
            column = cmd.def_ if cmd.subtype == enums.AlterTableType.AT_AddColumn else None
            if not isinstance(column, ast.ColumnDef) or cmd.missing_ok:
                continue
            for constraint in column.constraints or ():
                if constraint.contype != enums.ConstrType.CONSTR_DEFAULT or constraint.raw_expr is None:
                    continue
                written = str(RawStream()(constraint.raw_expr))
                if not xact_time.mentions_time(written):
                    continue
                if txn.in_block:
                    await txn.read_block_instant(self.coord.catalog_node)
                pinned = xact_time.pin_expression(written, txn.start_statement())
                if pinned is None:
                    continue
                constraint.raw_expr = parse_sql(f"SELECT {pinned}")[0].stmt.targetList[0].val
                restore.append(f"ALTER COLUMN {quote_ident(column.colname)} SET DEFAULT {written}")
        if not restore:
            return None
        return str(RawStream()(stmt)) + ", " + ", ".join(restore)

    async def _create_function_beside_temps(self, request: ExecRequest, groups: list[str]) -> None:
        """CREATE FUNCTION / PROCEDURE in a session with temp objects: PostgreSQL checks the
        body against them (a SQL function reading a temp table is valid), and a routine that
        depends on one (a temp type in its signature, a BEGIN ATOMIC body over a temp
        table) goes when the session ends. So it is tried first on the session's own
        catalog connection, where its temp objects are, and undone there (a transaction
        that touched temp objects cannot PREPARE); a routine depending on one is then made
        there alone (the session's, as its temp objects), any other everywhere, its body
        not checked again (it names the session's temp objects)."""
        own = self.coord.catalog_node
        temp_dependent = await self._try_beside_temps(request.sql)
        on_shards = trigger_relation.for_datanodes(request.sql, parse_tree(request.sql)) or request.sql
        tag = ""
        for node in [own] if temp_dependent else [own, *(n for n in self.catalog_nodes() if n != own), *groups]:
            conn = await self.conn(node)
            conn.notices.clear()
            text = on_shards if node in groups else request.sql
            results = await conn.simple_query(text if temp_dependent else _unchecked(text))
            if node == own:
                tag = next((r.tag for r in results if r.tag.startswith("CREATE")), "")
                self._relay_notices(conn)
        await self.finish(tag)

    async def _try_beside_temps(self, sql: str) -> bool:
        """Run the CREATE on the session's catalog connection and undo it (a transaction of
        its own, or a savepoint inside the session's block): PostgreSQL's errors for the
        body; whether the routine depends on a temp object."""
        txn = self.runner.txn
        conn = await txn.connection(self.coord.catalog_node, wants_block=False)
        alone = conn.txn_status == b"I"
        start, undo = ("BEGIN", "ROLLBACK") if alone else (
            "SAVEPOINT gridpg_try", "ROLLBACK TO SAVEPOINT gridpg_try; RELEASE SAVEPOINT gridpg_try")
        await conn.simple_query(start)
        try:
            await conn.simple_query(f"{sql}\n;")
            rows = await conn.query(_TEMP_DEPENDENT_SQL.format(name=quote_literal(_created_name(sql))))
        finally:
            await conn.settle()
            await conn.simple_query(undo)
        return bool(rows) and rows[0][0] == "t"

    async def _guarded_trigger(self, sql: str, groups: list[str]) -> dict[str, str] | None:
        """A new trigger as the datanodes get it: the catalog server's definition with a
        guard in front of its WHEN (planner/triggers.py), so that the coordinator can fire
        it itself when its function reaches other distributed tables."""
        from gridpg.planner import triggers as tg
        from gridpg.sql import parse as sqlparse

        body = sqlparse.parse_tree(sql).get("CreateTrigStmt") or {}
        relation = body.get("relation") or {}
        name = relation.get("relname")
        if not name:
            return None
        qualified = (quote_ident(relation["schemaname"]) + "." if relation.get("schemaname") else "") + quote_ident(name)
        conn = await self.conn(self.coord.catalog_node)
        rows = await conn.query(
            "SELECT pg_catalog.pg_get_triggerdef(t.oid) FROM pg_catalog.pg_trigger t WHERE t.tgrelid = "
            f"pg_catalog.to_regclass({quote_literal(qualified)}) AND t.tgname = {quote_literal(body.get('trigname') or '')}")
        if not rows or not rows[0][0]:
            return None
        text = tg.guarded_definition(rows[0][0], tg.new_token(), replace=bool(body.get("replace")))
        if text == rows[0][0]:
            return None  # (an INSTEAD OF trigger goes as the client wrote it)
        return {group: text for group in groups}

    async def _drop_vanished_matviews(self) -> None:
        """Materialized views over distributed tables that a DROP ... CASCADE took with it
        on the catalog servers: their rows' tables on the datanodes go too (the datanodes
        know no dependency between them and the tables they were computed from)."""
        own = await self.conn(self.coord.catalog_node)
        # (by name in the catalogs, in one query: to_regclass runs as the client's role, and a
        # materialized view in a schema it may not use failed every DROP, 42501, create_role.sql:157)
        named = ", ".join(f"({quote_literal(schema)}, {quote_literal(name)})" for schema, name in sorted(self.snapshot.matviews))
        rows = await own.query(
            f"SELECT v.s, v.n FROM (VALUES {named}) v(s, n) WHERE NOT EXISTS (SELECT FROM pg_catalog.pg_class c "
            "JOIN pg_catalog.pg_namespace ns ON ns.oid = c.relnamespace WHERE ns.nspname = v.s AND c.relname = v.n) "
            "ORDER BY 1, 2")
        gone = [table for schema, name in rows if (table := self.snapshot.table(schema or "", name or "")) is not None]
        for group in sorted({g for t in gone for g in t.groups}):
            names = ", ".join(quote_qualified(t.schema, t.name) for t in gone if group in t.groups)
            # CASCADE: the views over it the catalog servers dropped with it exist here too
            await (await self.conn(group)).simple_query(f"DROP TABLE IF EXISTS {names} CASCADE")
        if gone:
            sql = as_cluster_owner(store.sql_forget_dropped_tables())
            await self.on_catalog_servers(sql)

    async def _follow_renamed_distribution_column(self, tree: dict[str, Any]) -> None:
        """`ALTER TABLE t RENAME COLUMN k TO k2` of the distribution column (PostgreSQL
        renames it in t's inheritance children and partitions too): the metadata of each
        such table names the new column. It kept the old name: an INSERT was routed by a
        column the table no longer has (23514 on the datanode), the next DROP ... CASCADE of
        any table failed (0A000), and a child column renamed to the old name afterwards
        (alter_table.sql:1197) would have been taken for the distribution column."""
        body = tree.get("RenameStmt")
        if not isinstance(body, dict) or body.get("renameType") != "OBJECT_COLUMN" \
                or not isinstance(body.get("relation"), dict):
            return
        old, new, relation = body.get("subname"), body.get("newname"), body["relation"]
        own = await self.conn(self.coord.catalog_node)
        members = await partitions.inheritance_relatives(
            own, quote_qualified(relation.get("schemaname"), relation["relname"]), upward=False)
        renamed = [t for s, n in members if (t := self.snapshot.table(s, n)) is not None and t.column == old]
        if not renamed or not new:
            return
        sql = as_cluster_owner("\n".join(store.sql_rename_distribution_column(t.schema, t.name, new) for t in renamed))
        await self.on_catalog_servers(sql)
        await self.runner.load_private_snapshot()

    async def _fit_default_placement(self, sql: str) -> bool:
        """A key the statement added that a default-distributed table cannot hold makes it
        (and the parents its foreign keys need) a REPLICATION table: True when the table
        itself was rebuilt (commands/default_placement.py)."""
        from gridpg.sql.parse import parse_tree

        relation = default_placement.altered_relation(parse_tree(sql))
        if relation is None or relation.get("relpersistence") == "t":
            return False
        own = await self.conn(self.coord.catalog_node)
        rows = await own.query(
            "SELECT n.nspname, c.relname FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n "
            "ON n.oid = c.relnamespace WHERE c.oid = pg_catalog.to_regclass("
            f"{quote_literal(quote_qualified(relation.get('schemaname'), relation['relname']))})")
        if not rows:
            return False
        if await default_placement.fit_dropped_distribution_column(self, parse_tree(sql), rows[0][0] or "",
                                                                   rows[0][1] or ""):
            return True
        if await default_placement.fit_check_needing_unsharded_table(self, parse_tree(sql), rows[0][0] or "",
                                                                     rows[0][1] or ""):
            return True
        return await default_placement.fit_altered_table(self, rows[0][0] or "", rows[0][1] or "")

    async def _altered_table(self, relation: dict[str, Any]) -> DistTable | None:
        """The distributed table an ALTER's RangeVar names, resolved by the catalog server
        with the session's search path; None for any other relation."""
        own = await self.conn(self.coord.catalog_node)
        rows = await own.query(
            "SELECT n.nspname, c.relname FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n "
            "ON n.oid = c.relnamespace WHERE c.oid = pg_catalog.to_regclass("
            f"{quote_literal(quote_qualified(relation.get('schemaname'), relation['relname']))})")
        return self.snapshot.table(rows[0][0] or "", rows[0][1] or "") if rows else None

    async def _check_added_unique_keys(self, sql: str) -> None:
        """A unique key added later (ALTER TABLE ... ADD PRIMARY KEY / UNIQUE, CREATE UNIQUE
        INDEX) to a ROUNDROBIN table on several groups, or to a MODULO table without its
        distribution column: each datanode would check it over its own rows only, and
        duplicates on two nodes went in silently. The same rule as CREATE TABLE's."""
        from gridpg.sql.parse import parse_tree

        relation = default_placement.altered_relation(parse_tree(sql))
        if relation is None or relation.get("relpersistence") == "t":
            return
        table = await self._altered_table(relation)
        if table is not None and table.method == "hash":
            await partitions.ensure_plain_keys_hold(self, table)
            return
        if table is None or table.method not in ("roundrobin", "modulo"):
            return
        keys = await default_placement.unique_keys(self, table.schema, table.name)
        _ensure_keys_fit(table.method, table.column, [k if k is not None else [] for k in keys],
                         len(table.groups))

    async def _ensure_replicas_filled_alike(self, sql: str) -> None:
        """ALTER TABLE filling a REPLICATION table's rows with a volatile value (ADD COLUMN
        ... DEFAULT random(), ALTER ... TYPE ... USING clock_timestamp()): each replica
        would fill its rows with values of its own, and reads answer by whichever replica
        serves them. Refused (0A000) when the table has rows (empty, nothing is filled;
        the INSERTs after are checked as any INSERT is)."""
        from gridpg.planner import replicas

        body = parse_tree(sql).get("AlterTableStmt") or {}
        relation = default_placement.altered_relation({"AlterTableStmt": body})
        column = replicas.diverging_column_fill(body, self.snapshot.volatile_functions)
        if column is None or relation is None or relation.get("relpersistence") == "t":
            return
        table = await self._altered_table(relation)
        if table is None or table.method != "replication" or len(table.groups) < 2:
            return
        conn = await self.runner.txn.connection(table.groups[0], wants_block=True)
        found = await conn.query(f"SELECT EXISTS (SELECT 1 FROM {quote_qualified(table.schema, table.name)})")
        if found and found[0][0] == "t":
            raise PgError(FEATURE_NOT_SUPPORTED,
                          f'filling column "{column}" of REPLICATION table "{table.name}", which has rows, '
                          "with a volatile value is not supported by gridpg: each replica would compute "
                          "its own values and the replicas would differ",
                          hint="Add the column without that default and give the rows their values "
                               "(computed first) before SET DEFAULT for the rows to come.")

    async def _check_added_foreign_keys(self, sql: str) -> None:
        """ALTER TABLE ... ADD FOREIGN KEY / REFERENCES: the same rule as CREATE TABLE's
        (each datanode checks the key alone), read from the catalog after the change."""
        from gridpg.sql.parse import parse_tree

        tree = parse_tree(sql)
        body = tree.get("AlterTableStmt") or {}
        if not _adds_foreign_key(body):
            return
        own = await self.conn(self.coord.catalog_node)
        schema, name, _, _, fk_parents = await self._inspect(own, body["relation"])
        table = self.snapshot.table(schema, name)
        if table is not None:
            self._ensure_foreign_keys_hold(table, fk_parents)

    async def on_catalog_servers(self, sql: str, relay_notices: bool = False) -> None:
        """`sql` on every catalog server, in `catalog_nodes`' order; with `relay_notices`,
        the coordinator's own server's notices reach the client (once, not per server)."""
        for node in self.catalog_nodes():
            conn = await self.conn(node)
            if relay_notices:
                conn.notices.clear()
            await conn.simple_query(sql)
            if relay_notices and node == self.coord.catalog_node:
                self._relay_notices(conn)

    async def replace_metadata(self, schema: str, name: str, table: DistTable) -> None:
        """The metadata of `schema.name` rewritten as `table` (its placement changed)."""
        await self.on_catalog_servers(as_cluster_owner(store.sql_delete_dist_table(schema, name)))
        await self._write_metadata(table)

    def _relay_notices(self, conn: BackendConnection) -> None:
        """The coordinator's own catalog server speaks for the cluster (once, not per node)."""
        for notice in conn.notices:
            relayed = without_internal_objects(notice)
            if relayed is not None:
                self.dispatcher.session.send(relayed)
        conn.notices.clear()

    async def _run_non_transactional(self, request: ExecRequest, groups: list[str], kind: str) -> None:
        if self.runner.txn.in_block:
            tree = parse_tree(request.sql)
            if kind == "VacuumStmt" and not tree["VacuumStmt"].get("is_vacuumcmd"):
                await self._analyze_in_block(request, groups, tree)
                return
            raise PgError("25001", f"{_block_refusal_words(kind, tree)} cannot run inside a transaction block")
        tag = ""
        # ALTER SYSTEM configures servers: every catalog server's too (the other
        # coordinators' sessions read their settings there); VACUUM and the like have
        # nothing to do on the other catalog servers' empty copies
        others = [a.name for a in self.coord.other_catalogs] if kind == "AlterSystemStmt" else []
        for node in [self.coord.catalog_node, *others, *groups]:
            pool = self.coord.pools.pool(node)
            conn = await pool.acquire()
            try:
                await self.runner._setup_connection(conn)
                results = await conn.simple_query(request.sql)
                if node == self.coord.catalog_node and results:
                    tag = results[-1].tag
            finally:
                pool.release(conn)
        if kind in ("VacuumStmt", "ReindexStmt", "ClusterStmt"):  # the cluster's relpages/reltuples on the catalog servers
            await relstats.publish_after_maintenance(self.dispatcher, parse_tree(request.sql))
        from gridpg.pgwire import codec

        self.dispatcher.session.send(codec.build_command_complete(tag))

    async def _analyze_in_block(self, request: ExecRequest, groups: list[str], tree: dict[str, Any]) -> None:
        """ANALYZE alone may run in a transaction block (PostgreSQL allows it): on the
        session's catalog connection (where its temp tables are; not a written participant,
        which would make the commit PREPARE it) and on the datanodes inside the block."""
        from gridpg.pgwire import codec

        txn = self.runner.txn
        catalog = await txn.connection(self.coord.catalog_node, wants_block=True)
        results = await catalog.simple_query(request.sql)
        for group in groups:
            await (await self.conn(group)).simple_query(request.sql)
        # The publication reads the datanodes and writes the catalog servers on connections
        # of their own: after DDL or LOCK TABLE in this block they would wait for the
        # block's own locks (an ALTER TABLE's ACCESS EXCLUSIVE, its pg_class row), for ever
        # (the session hung). Then the cluster's relpages/reltuples wait for the next
        # ANALYZE outside a block.
        if not self.runner.ddl_in_block and not any(p.locked for p in txn.participants.values()):
            await relstats.publish_after_maintenance(self.dispatcher, tree)
        self.dispatcher.session.send(codec.build_command_complete(results[-1].tag if results else "ANALYZE"))

    async def finish(self, tag: str) -> None:
        """Commit now outside a block (2PC everywhere), and tell the cluster the catalog moved."""
        from gridpg.pgwire import codec

        txn = self.runner.txn
        if not txn.in_block:
            # the session's private view (loaded while this statement ran) dies with it;
            # kept, it would hide every later DDL from this session's planning
            self.runner.private_snapshot = None
            hooks, self.runner.before_commit = self.runner.before_commit, []
            for hook in hooks:
                await hook()
            quiet = await self._leaves_catalog_as_is()
            self.leaves_catalog = self.truncating = self.restarting = False  # (this statement's alone)
            await txn.commit()
            if not quiet:
                await self.coord.metadata_changed()
        else:
            # A TRUNCATE in a block stays DDL for the block (its private snapshot, the
            # block's own catalog connection for what would parse its tables elsewhere and
            # wait for its ACCESS EXCLUSIVE lock), but its COMMIT reloads no coordinator
            # while every DDL of the block was one (`_leaves_catalog_as_is`; the restarted
            # sequences: commands/sequences.SequenceDdl.apply)
            quiet = self.truncating and (self.runner.ddl_in_block_quiet or not self.runner.ddl_in_block)
            self.truncating = self.restarting = False
            self.runner.ddl_in_block_quiet = quiet
            self.runner.ddl_in_block = True
            for part in txn.participants.values():  # statements parsed before the DDL: again
                part.conn.forget_prepared()
            await self.runner.load_private_snapshot()
            if tag.startswith("CREATE"):  # (a type, a table's row type: described by the nodes)
                await block_types.map_block_types(self.coord, txn)
            if tag.startswith(("CREATE TABLE", "ALTER TABLE", "SELECT")):  # (its columns; SELECT INTO)
                await block_types.map_block_relations(self.coord, txn)
        self.dispatcher.session.send(codec.build_command_complete(tag))

    async def _leaves_catalog_as_is(self) -> bool:
        """Whether the statement, committed, leaves every coordinator's catalog as it is, so
        no epoch moves and no coordinator reloads (h-ddl25): a bare `CREATE SCHEMA` (no
        elements) makes an empty schema, and nothing a reload reads (the snapshot, views,
        rules, the nodes' type and relation maps) nor any per-epoch answer (routines,
        triggers, rights, shard routes) comes from an empty schema; name lookups through a
        search_path naming it are the servers' own. Unless a user's event trigger is
        enabled: its function, fired by the statement, may have made anything (gridpg's
        own, the loopback's DDL guard, makes nothing for a CREATE SCHEMA).

        A TRUNCATE (h-truncate28) changes no definition: the tables keep their OIDs, columns,
        triggers and placement; their new files are the servers' own business, and so are
        the plans the servers prepared over them (PostgreSQL re-plans them). What a reload
        would drop that a TRUNCATE changes are the coordinators' cached ranges of the
        sequences RESTART IDENTITY restarts: none exist while every sequence has CACHE 1
        (`sequence_ranges`)."""
        if self.truncating:
            # (TRUNCATE fires no event trigger; its ON TRUNCATE triggers' DDL, through the
            # loopback, moves the epoch itself)
            return not self.restarting or await sequence_ranges.is_none_cached(await self.conn(self.coord.catalog_node))
        if not self.leaves_catalog:
            return False
        conn = await self.conn(self.coord.catalog_node)
        rows = await conn.query(
            "SELECT NOT EXISTS (SELECT FROM pg_catalog.pg_event_trigger e JOIN pg_catalog.pg_proc p "
            "ON p.oid = e.evtfoid WHERE e.evtenabled <> 'D' AND p.pronamespace <> 'gridpg'::pg_catalog.regnamespace)")
        return bool(rows) and rows[0][0] == "t"

    # -- CREATE TABLE ------------------------------------------------------------------

    async def create_table(self, sql: str, tree: dict[str, Any], spec: DistributionSpec | None,
                           shard_count: int | None = None, colocate_with: str | None = None) -> None:
        body = tree["CreateStmt"]
        relation = body["relation"]
        if tempnames.is_temp_relation(relation):
            if not body.get("partbound"):  # a temp partition: PostgreSQL's own error first
                await self._ensure_no_distributed_parent(body)
            await self.catalog_only(sql)
            return
        # (looked up before the DDL's block opens: a skipped CREATE left it open on the
        # session's catalog connection, and the session's next DDL after a temp table
        # failed to PREPARE with it: 0A000 "operated on temporary objects")
        looked = await self.runner.txn.connection(self.coord.catalog_node, wants_block=False)
        relation = await in_creation_schema(looked, relation)
        if body.get("if_not_exists") and await self._exists(looked, relation):
            from gridpg.pgwire import codec

            self.dispatcher.session.say(
                f'relation "{relation["relname"]}" already exists, skipping', sqlstate="42P07")
            self.dispatcher.session.send(codec.build_command_complete("CREATE TABLE"))
            return
        if self.runner.temps.names:  # `(LIKE temp_t)`: spelled out, the other servers have no temp_t
            expanded = await like_temp.expand(looked, sql, relation.get("schemaname"), relation["relname"])
            if expanded is not None and expanded.after:
                await self._create_like_temp(expanded, spec, shard_count, colocate_with)
                return
            if expanded is not None:
                sql, tree = expanded.sql, parse_tree(expanded.sql)
                body = tree["CreateStmt"]
        own = await self.conn(self.coord.catalog_node)
        # PostgreSQL's notices ("merging column", an event trigger's), once
        await self.on_catalog_servers(sql, relay_notices=True)
        schema, name, columns, keys, fk_parents = await self._inspect(own, relation)
        parents = await partitions.parents_of(own, schema, name)
        if parents:
            if spec is None:
                await partitions.align_parents(self, schema, name, parents)
            table = partitions.inherited_table(self.snapshot, schema, name, parents, spec)
            if table.method == "hash" and not parents[0].is_partition:
                partitions.ensure_hash_keys_hold(table, await default_placement.unique_keys(self, schema, name))
        else:
            table = self._decide(schema, name, columns, keys, fk_parents, spec, shard_count, colocate_with)
        if body.get("partspec"):
            partitions.ensure_keys_hold(table, keys)
        table = await default_placement.fit_new_table(self, table, fk_parents)
        if table.method == "hash" and table.by_default and not parents and not body.get("partspec") \
                and tableoid.needs_unsharded_table(body.get("tableElts"), name, [c.name for c in columns]):
            table = _unsharded(table, keys)
        if table.method == "hash":
            tableoid.ensure_no_check_reads_tableoid(body.get("tableElts"), name)
        self._ensure_foreign_keys_hold(table, fk_parents)
        await self._convert_inheritance_parents(parents)
        await self._create_on_datanodes(sql, table, columns, parents)
        await self._write_metadata(table)
        await self.finish("CREATE TABLE")

    async def _create_like_temp(self, expanded: like_temp.Expansion, spec: DistributionSpec | None,
                                shard_count: int | None, colocate_with: str | None) -> None:
        """The table LIKE a temp table, then its indexes, statistics and comments that one
        CREATE TABLE cannot carry: one transaction, one CommandComplete."""
        from gridpg.executor.dispatch import ExecRequest
        from gridpg.executor.run import run_statement
        from gridpg.pgwire import codec

        session = self.dispatcher.session
        async with self.runner.statement_transaction():
            kept = len(session.out)
            await self.create_table(expanded.sql, parse_tree(expanded.sql), spec, shard_count, colocate_with)
            for sql in expanded.after:
                await run_statement(self.dispatcher, ExecRequest(sql=sql, simple=True))
            # (their notices stay; their tags are this statement's one)
            session.out[kept:] = [m for m in session.out[kept:] if m[:1] != b"C"]
        session.send(codec.build_command_complete("CREATE TABLE"))

    async def _convert_inheritance_parents(self, parents: list[partitions.Parent]) -> None:
        """HASH parents named by INHERITS become plain tables on their datanodes (PostgreSQL
        refuses inheritance from a partitioned table); a no-op for those already plain."""
        for parent in parents:
            table = self.snapshot.table(parent.schema, parent.name)
            if parent.is_partition or table is None or table.method != "hash":
                continue
            await partitions.convert_to_plain(self, table)

    async def _ensure_no_distributed_parent(self, body: dict[str, Any]) -> None:
        """A temp table lives on the catalog server alone: as a child of a distributed
        table its rows would never be seen through the parent."""
        conn = await self.runner.txn.connection(self.coord.catalog_node, wants_block=False)
        for item in body.get("inhRelations") or []:
            rel = item.get("RangeVar", item)
            qualified = quote_qualified(rel.get("schemaname"), rel["relname"])
            rows = await conn.query(
                "SELECT n.nspname, c.relname FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n "
                f"ON n.oid = c.relnamespace WHERE c.oid = pg_catalog.to_regclass({quote_literal(qualified)})")
            if rows and self.snapshot.table(rows[0][0] or "", rows[0][1] or "") is not None:
                raise PgError(FEATURE_NOT_SUPPORTED, f'a temporary table cannot inherit from distributed '
                              f'table "{rel["relname"]}": its rows would not be seen through the parent',
                              detail="A temporary table lives on this session's catalog server alone, while "
                                     "reads, updates and deletes of the parent run on the datanodes, which "
                                     "never see it (PostgreSQL shows the session its own temporary children "
                                     "through the parent).",
                              hint="Create the child as a permanent table (distributed like any other, dropped "
                                   "when done), or a temporary table LIKE the parent, read beside it with "
                                   "UNION ALL.")

    async def catalog_only(self, sql: str) -> None:
        """Run on the session's own catalog connection alone (the session's temp objects);
        its notices reach the client ("already exists, skipping", the DEBUG lines a
        client_min_messages = debug1 asks for), as they would from PostgreSQL."""
        conn = await self.runner.txn.connection(self.coord.catalog_node, wants_block=False)
        conn.notices.clear()
        results = await conn.simple_query(sql)
        self._relay_notices(conn)
        from gridpg.pgwire import codec

        self.dispatcher.session.send(codec.build_command_complete(results[-1].tag if results else ""))

    async def _exists(self, conn: BackendConnection, relation: dict[str, Any]) -> bool:
        qualified = quote_qualified(relation.get("schemaname"), relation["relname"])
        rows = await conn.query(f"SELECT pg_catalog.to_regclass({quote_literal(qualified)}) IS NOT NULL")
        return bool(rows) and rows[0][0] == "t"

    async def _inspect(self, conn: BackendConnection, relation: dict[str, Any]) -> tuple[
        str, str, list[Column], list[list[str]], list[tuple[list[str], str, str, list[str]]]
    ]:
        qualified = quote_qualified(relation.get("schemaname"), relation["relname"])
        regclass = f"pg_catalog.to_regclass({quote_literal(qualified)})"
        rows = await conn.query(
            "SELECT n.nspname, c.relname FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n "
            f"ON n.oid = c.relnamespace WHERE c.oid = {regclass}"
        )
        schema, name = rows[0][0] or "", rows[0][1] or ""
        col_rows = await conn.query(
            "SELECT a.attname, bt.typname, pg_catalog.format_type(a.atttypid, a.atttypmod), "
            "pg_catalog.pg_get_expr(d.adbin, d.adrelid), a.attgenerated <> '' FROM pg_catalog.pg_attribute a "
            "JOIN pg_catalog.pg_type t ON t.oid = a.atttypid "
            "JOIN pg_catalog.pg_type bt ON bt.oid = CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE t.oid END "
            "LEFT JOIN pg_catalog.pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum "
            f"WHERE a.attrelid = {regclass} AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum"
        )
        columns = [Column(r[0] or "", r[1] or "", r[2] or "", r[3], r[4] == "t") for r in col_rows]
        con_rows = await conn.query(
            "SELECT c.contype, (SELECT pg_catalog.array_agg(a.attname ORDER BY k.ord) FROM "
            "pg_catalog.unnest(c.conkey) WITH ORDINALITY k(attnum, ord) JOIN pg_catalog.pg_attribute a "
            "ON a.attrelid = c.conrelid AND a.attnum = k.attnum)::text, "
            "fn.nspname, fc.relname, (SELECT pg_catalog.array_agg(a.attname ORDER BY k.ord) FROM "
            "pg_catalog.unnest(c.confkey) WITH ORDINALITY k(attnum, ord) JOIN pg_catalog.pg_attribute a "
            "ON a.attrelid = c.confrelid AND a.attnum = k.attnum)::text, "
            # an exclusion constraint's columns compared with `=`: rows that differ there never
            # conflict, so such a column may spread the rows (the others may not)
            "(SELECT pg_catalog.array_agg(a.attname ORDER BY k.ord) FROM "
            "ROWS FROM (pg_catalog.unnest(c.conkey), pg_catalog.unnest(c.conexclop)) WITH ORDINALITY k(attnum, op, ord) "
            "JOIN pg_catalog.pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum "
            "JOIN pg_catalog.pg_operator o ON o.oid = k.op WHERE o.oprname = '=')::text "
            "FROM pg_catalog.pg_constraint c LEFT JOIN pg_catalog.pg_class fc ON fc.oid = c.confrelid "
            "LEFT JOIN pg_catalog.pg_namespace fn ON fn.oid = fc.relnamespace "
            f"WHERE c.conrelid = {regclass} AND c.contype IN ('p', 'u', 'f', 'x') ORDER BY c.contype, c.oid"
        )
        keys: list[list[str]] = []
        fks: list[tuple[list[str], str, str, list[str]]] = []
        for contype, cols, fschema, ftable, fcols, equal_cols in con_rows:
            names = _pg_array(cols)
            if contype == "p":
                keys.insert(0, names)
            elif contype == "u":
                keys.append(names)
            elif contype == "x":
                keys.append(_pg_array(equal_cols) if equal_cols else [])
            elif contype == "f" and fschema and ftable:
                fks.append((names, fschema, ftable, _pg_array(fcols)))
        # unique indexes that back no constraint (`CREATE TABLE t (LIKE s INCLUDING INDEXES)`
        # copies CREATE UNIQUE INDEX's): keys too; one on an expression fits no column
        index_rows = await conn.query(
            "SELECT (SELECT pg_catalog.array_agg(a.attname ORDER BY k.ord) FROM "
            "pg_catalog.unnest(i.indkey) WITH ORDINALITY k(attnum, ord) JOIN pg_catalog.pg_attribute a "
            "ON a.attrelid = i.indrelid AND a.attnum = k.attnum WHERE k.ord <= i.indnkeyatts)::text, "
            "i.indexprs IS NOT NULL FROM pg_catalog.pg_index i "
            f"WHERE i.indrelid = {regclass} AND i.indisunique AND NOT EXISTS (SELECT 1 FROM "
            "pg_catalog.pg_constraint c WHERE c.conindid = i.indexrelid AND c.conrelid = i.indrelid) "
            "ORDER BY i.indexrelid")
        for cols, on_expression in index_rows:
            keys.append([] if on_expression == "t" else _pg_array(cols))
        return schema, name, columns, keys, fks

    def _decide(
        self, schema: str, name: str, columns: list[Column], keys: list[list[str]],
        fks: list[tuple[list[str], str, str, list[str]]], spec: DistributionSpec | None,
        shard_count: int | None, colocate_with: str | None,
    ) -> DistTable:
        table = self._decide_placement(schema, name, columns, keys, fks, spec, shard_count, colocate_with)
        if spec is None or not spec.method:
            table = dataclasses.replace(table, by_default=True)
        return table

    def _decide_placement(
        self, schema: str, name: str, columns: list[Column], keys: list[list[str]],
        fks: list[tuple[list[str], str, str, list[str]]], spec: DistributionSpec | None,
        shard_count: int | None, colocate_with: str | None,
    ) -> DistTable:
        by_name = {c.name: c for c in columns}
        groups = self._target_groups(spec)
        method, column = self._method_and_column(columns, keys, fks, spec, by_name)
        if method in ("hash", "modulo"):
            assert column is not None
            col = by_name.get(column)
            if col is None:
                raise PgError("42703", f'column "{column}" named in DISTRIBUTE BY does not exist')
            ctype = canonical_type_name(col.type_name)
            if not is_hashable_type(ctype):
                raise PgError(
                    INVALID_TABLE_DEFINITION,
                    f'column "{column}" of type {col.formatted} cannot be a distribution column',
                    hint="distribute by a column of an integer, text, numeric, date/time, uuid, "
                    "bool or bytea type, or use ROUNDROBIN or REPLICATION",
                )
            if method == "modulo" and ctype not in ("int2", "int4", "int8"):
                method = self._modulo_by_hash(column, col.formatted)
            if method == "modulo":
                _ensure_keys_fit(method, column, keys, len(groups))
            if method == "hash":
                self._ensure_keys_hold(column, keys)
                return self._hash_table(schema, name, column, ctype, groups, shard_count, colocate_with)
            return DistTable(schema, name, "modulo", column, ctype, None, None, tuple(groups))
        if spec is not None and spec.method:  # a default placement gives way to its keys instead
            _ensure_keys_fit(method, None, keys, len(groups))
        return DistTable(schema, name, method, None, None, None, None, tuple(groups))

    def _modulo_by_hash(self, column: str, formatted: str) -> str:
        """MODULO of a column that is not an integer: Postgres-XL takes the value's hash
        modulo the node count; gridpg's HASH (shards over the groups) is that placement,
        with pruning, colocation and cluster-wide unique keys. Said in a NOTICE."""
        self.dispatcher.session.say(
            f'column "{column}" of type {formatted} is distributed by HASH: gridpg takes MODULO of '
            "integer columns only, and Postgres-XL places other types by their hash as well")
        return "hash"

    def _ensure_foreign_keys_hold(self, table: DistTable,
                                  fks: list[tuple[list[str], str, str, list[str]]]) -> None:
        """A foreign key is checked by each datanode alone, so the referenced row must be on
        the same node: the parent is a reference table on every node of the child, or both
        are colocated and the key maps distribution column to distribution column."""
        for child_cols, fschema, ftable, parent_cols in fks:
            parent = table if (fschema, ftable) == table.key else self.snapshot.table(fschema, ftable)
            if parent is None:
                if table.method != "replication":
                    continue
                raise PgError(FEATURE_NOT_SUPPORTED, f'a reference table cannot refer to "{ftable}", '
                              "which is not distributed")
            if parent.method == "replication":
                if set(table.groups) <= set(parent.groups):
                    continue
                raise PgError(FEATURE_NOT_SUPPORTED, f'reference table "{ftable}" is not on every node '
                              f'of "{table.name}"')
            same_column = (
                table.column in child_cols and parent.column in parent_cols
                and child_cols.index(table.column) == parent_cols.index(parent.column)
            )
            colocated = table.method == parent.method == "hash" and table.colocation_id == parent.colocation_id
            colocated = colocated or (table.method == parent.method == "modulo" and table.groups == parent.groups)
            if not (same_column and colocated):
                raise PgError(
                    FEATURE_NOT_SUPPORTED,
                    f'cannot create a foreign key from "{table.name}" to "{ftable}": rows it refers to '
                    "could live on another node",
                    hint="distribute both tables by the referencing/referenced columns (colocated), "
                    "or make the referenced table a REPLICATION table",
                )

    def _method_and_column(
        self, columns: list[Column], keys: list[list[str]],
        fks: list[tuple[list[str], str, str, list[str]]], spec: DistributionSpec | None,
        by_name: dict[str, Column],
    ) -> tuple[str, str | None]:
        if spec is not None and spec.method:
            return spec.method, spec.column
        # a generated column cannot be a partition key (42P17 on every datanode): the
        # defaults pass it over, so a primary key on one makes the table replicated
        hashable = {c.name for c in columns
                    if is_hashable_type(canonical_type_name(c.type_name)) and not c.generated}
        for child_cols, fschema, ftable, parent_cols in fks:
            parent = self.snapshot.table(fschema, ftable)
            if parent is None:
                continue
            if parent.method == "replication":
                continue
            if parent.column in parent_cols:
                candidate = child_cols[parent_cols.index(parent.column)]
                # Only when the table's own unique keys can hold with it (XL: else fall through).
                if all(candidate in key for key in keys) and not by_name[candidate].generated:
                    return parent.method, candidate
        if keys:
            # each datanode checks uniqueness alone: every unique key must hold the column
            common = set(keys[0]).intersection(*[set(k) for k in keys[1:]]) & hashable
            for col in keys[0]:
                if col in common:
                    return "hash", col
            self._notice_replicated(keys, [c for c in columns if c.name in set(keys[0]).intersection(
                *[set(k) for k in keys[1:]]) and c.name not in hashable])
            return "replication", None
        for col in columns:
            if col.name in hashable:
                return "hash", col.name
        return "roundrobin", None

    @staticmethod
    def _ensure_keys_hold(column: str, keys: list[list[str]]) -> None:
        """Each datanode checks a unique key over its own rows only, so the key must hold
        the distribution column (Citus's rule; PostgreSQL's own for partitioned tables)."""
        for key in keys:
            if column not in key:
                raise PgError(
                    FEATURE_NOT_SUPPORTED,
                    f'unique or exclusion key ({", ".join(key)}) does not include the distribution column "{column}"',
                    detail="each datanode checks uniqueness over its own rows only",
                    hint="add the distribution column to the key, distribute by a column every "
                         "unique key includes, or make the table a reference (REPLICATION) table")

    def _notice_replicated(self, keys: list[list[str]], unhashable: list[Column]) -> None:
        """No DISTRIBUTE BY, and the unique keys share no column a hash could use: the table
        is replicated (every node holds every row, so every key holds); say so, and why
        when the column they share is of a type gridpg cannot distribute by (citext, a
        generated column)."""
        names = "; ".join("(" + ", ".join(key) + ")" if key else "(an exclusion constraint without =)"
                          for key in keys)
        reason = ""
        if unhashable:
            column = unhashable[0]
            reason = (f": {column.name} is a generated column" if column.generated
                      else f": {column.name} is of type {column.formatted}, which gridpg cannot distribute by")
        self.dispatcher.session.say(
            f"the table is replicated to every datanode: its unique keys {names} share no "
            f"column to distribute it by{reason} (use DISTRIBUTE BY, or create_distributed_table "
            "with a column every unique key includes, to spread its rows)")

    def _target_groups(self, spec: DistributionSpec | None) -> list[str]:
        all_groups = self.all_groups()
        if spec is None:
            return all_groups
        if spec.nodes:
            unknown = [n for n in spec.nodes if n not in all_groups]
            if unknown:
                raise PgError(UNDEFINED_OBJECT, f'datanode "{unknown[0]}" does not exist')
            return [g for g in all_groups if g in spec.nodes]
        if spec.group:
            group = next((g for g in self.snapshot.node_groups if g.name == spec.group), None)
            if group is None:
                raise PgError(UNDEFINED_OBJECT, f'node group "{spec.group}" does not exist')
            return [g for g in all_groups if g in group.datanode_groups]
        return all_groups

    def _hash_table(self, schema: str, name: str, column: str, ctype: str, groups: list[str],
                    shard_count: int | None, colocate_with: str | None) -> DistTable:
        snapshot = self.snapshot
        if colocate_with and colocate_with not in ("default", "none"):
            other_schema, _, other_name = colocate_with.rpartition(".")
            other = snapshot.table(other_schema or schema, other_name)
            if other is None or other.method != "hash" or other.colocation_id is None:
                raise PgError(UNDEFINED_OBJECT, f'cannot colocate with "{colocate_with}": not a hash-distributed table')
            if canonical_type_name(other.column_type or "") != ctype:
                raise PgError(INVALID_TABLE_DEFINITION, f'cannot colocate with "{colocate_with}": '
                              "its distribution column has another type")
            return DistTable(schema, name, "hash", column, ctype, other.colocation_id,
                             other.shard_count, other.groups)
        count = shard_count or DEFAULT_SHARD_COUNT
        if count < 1 or count > 4096:
            raise PgError("22023", "shard_count must be between 1 and 4096")
        choice = snapshot.colocation_for(count, ctype, tuple(groups))
        if colocate_with == "none" and not choice.is_new:
            new_id = max((c.id for c in snapshot.colocations), default=0) + 1
            choice = type(choice)(Colocation(new_id, count, ctype), True)
        if choice.is_new:
            self._new_colocation = choice.colocation
        return DistTable(schema, name, "hash", column, ctype, choice.colocation.id, count, tuple(groups))

    async def _create_on_datanodes(self, sql: str, table: DistTable, columns: list[Column],
                                   parents: list[partitions.Parent] | None = None) -> None:
        statements = datanode_create_statements(sql, table, self._placement(table), parents)
        for group, group_sql in statements.items():
            conn = await self.conn(group)
            await conn.simple_query(group_sql)
            if table.method == "hash":
                await conn.simple_query(shard_indexes.rename_sql([(table.schema, table.name)]))

    def _placement(self, table: DistTable) -> dict[int, str]:
        if table.method != "hash" or table.shard_count is None:
            return {}
        existing = self.snapshot.placement_of_colocation(table.colocation_id) if table.colocation_id else {}
        if existing:
            return dict(existing)
        return place_shards(table.shard_count, list(table.groups))

    async def _write_metadata(self, table: DistTable) -> None:
        statements = []
        colocation = getattr(self, "_new_colocation", None)
        if colocation is not None and table.method == "hash":
            statements.append(store.sql_insert_colocation(colocation))
        statements.append(store.sql_insert_dist_table(table))
        if table.method == "hash":
            shards = [Shard(table.schema, table.name, r, g) for r, g in sorted(self._placement(table).items())]
            statements.append(store.sql_insert_shards(shards))
        sql = as_cluster_owner("\n".join(statements))
        await self.on_catalog_servers(sql)


# Whether the routine just made (by name, in this transaction) depends on a temp object.
_TEMP_DEPENDENT_SQL = """
SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_proc p
  JOIN pg_catalog.pg_depend d ON d.classid = 'pg_catalog.pg_proc'::pg_catalog.regclass AND d.objid = p.oid
  CROSS JOIN LATERAL pg_catalog.pg_identify_object(d.refclassid, d.refobjid, 0) o
 WHERE p.proname = {name} AND p.xmin = pg_catalog.pg_current_xact_id()::xid
   AND (o.schema LIKE 'pg\\_temp\\_%' OR p.pronamespace = pg_catalog.pg_my_temp_schema()))"""
_KEEP_CHECK_BODIES = ("SELECT pg_catalog.set_config('gridpg.check_function_bodies', "
                      "pg_catalog.current_setting('check_function_bodies'), true)")
_RESTORE_CHECK_BODIES = ("SELECT pg_catalog.set_config('check_function_bodies', "
                         "pg_catalog.current_setting('gridpg.check_function_bodies'), true)")


def _unchecked(sql: str) -> str:
    """`sql` run with check_function_bodies off, the session's value restored after it."""
    return f"{_KEEP_CHECK_BODIES};\nSET LOCAL check_function_bodies = off;\n{sql}\n;\n{_RESTORE_CHECK_BODIES}"


def _created_name(sql: str) -> str:
    """The name of the routine a CREATE FUNCTION / PROCEDURE makes."""
    from gridpg.sql import parse as sqlparse

    tree = sqlparse.parse_tree(sql)
    names = tree.get("CreateFunctionStmt", {}).get("funcname", [])
    return names[-1].get("String", {}).get("sval", "") if names else ""


def _block_refusal_words(kind: str, tree: dict[str, Any]) -> str:
    """The statement's name in PostgreSQL's "... cannot run inside a transaction block"."""
    if kind == "ReindexStmt":
        return "REINDEX " + str(tree[kind].get("kind", "")).removeprefix("REINDEX_OBJECT_")
    return {"VacuumStmt": "VACUUM", "ClusterStmt": "CLUSTER", "CreatedbStmt": "CREATE DATABASE",
            "DropdbStmt": "DROP DATABASE", "AlterSystemStmt": "ALTER SYSTEM"}.get(kind, kind)


def as_cluster_owner(metadata_sql: str) -> str:
    """`metadata_sql` run as the cluster's superuser (the user our catalog connections log
    in as), then back to the session's user and role, all in the current transaction.

    The DDL it records has already run as the session's role (which PostgreSQL checked);
    the gridpg schema, which holds the cluster's metadata, takes writes from nobody else.
    """
    return (
        "SELECT pg_catalog.set_config('gridpg.ddl_user', session_user, true), "
        "pg_catalog.set_config('gridpg.ddl_role', pg_catalog.current_setting('role'), true);\n"
        "SET LOCAL SESSION AUTHORIZATION DEFAULT;\n"
        f"{metadata_sql.rstrip().rstrip(';')};\n"
        "SELECT pg_catalog.set_config('session_authorization', "
        "pg_catalog.current_setting('gridpg.ddl_user'), true), "
        "pg_catalog.set_config('role', pg_catalog.current_setting('gridpg.ddl_role'), true);"
    )


def datanode_create_statements(sql: str, table: DistTable, placement: dict[int, str],
                               parents: list[partitions.Parent] | None = None) -> dict[str, str]:
    """The CREATE TABLE text for each datanode group of the table.

    A HASH table is `PARTITION BY HASH (column)` with the group's shards as partitions,
    also when it is a partition of a user's partitioned table (a leaf); a table the user
    partitions keeps its own PARTITION BY (its leaves carry the shards), and a member of an
    inheritance tree is a plain table (see commands/partitions.py)."""
    stmt = parse_sql(sql)[0].stmt
    stmt.relation.schemaname = table.schema
    stmt.relation.relname = table.name
    for rangevar, parent in zip(stmt.inhRelations or (), parents or (), strict=False):
        rangevar.schemaname = parent.schema  # resolved on the catalog, not by the node's search_path
    qualified = quote_qualified(table.schema, table.name)
    inherits = bool(parents) and not parents[0].is_partition  # type: ignore[index]
    if table.method != "hash" or stmt.partspec is not None or inherits:
        text = RawStream()(stmt)
        if table.method == "modulo" and not parents:
            n = len(table.groups)
            col = quote_ident(table.column or "")
            return {
                group: f"{text};\nALTER TABLE {qualified} ADD CONSTRAINT gridpg_modulo_placement "
                f"CHECK ((({col} % {n}) + {n}) % {n} = {index})"
                for index, group in enumerate(table.groups)
            }
        return {group: text for group in table.groups}
    options = stmt.options
    stmt.options = None
    unlogged = " UNLOGGED" if stmt.relation.relpersistence == "u" else ""
    stmt.relation.relpersistence = "p"  # a partitioned table has no storage: its shards are unlogged
    stmt.partspec = ast.PartitionSpec(
        strategy="h", partParams=(ast.PartitionElem(name=table.column),)
    )
    from gridpg.planner.utility import DEFAULT_TABLESPACE, without_default_index_tablespace

    shard_space = ""
    if stmt.tablespacename == DEFAULT_TABLESPACE:
        # PostgreSQL refuses it on a partitioned table; the shards are named it, else they
        # took the parent's: default_tablespace, or the tablespace of the user's
        # partitioned table this one is a partition of (the catalog said pg_default)
        stmt.tablespacename = None
        shard_space = f" TABLESPACE {DEFAULT_TABLESPACE}"
    without_default_index_tablespace(stmt)
    _without_no_inherit(stmt)
    parent = RawStream()(stmt)
    with_options = ""
    if options:
        # (pglast prints a lone option without its namespace: `toast.x = 1` became a
        # second `x`, 22023 "specified more than once" or the heap's setting for the TOAST's)
        with_options = " WITH (" + ", ".join(
            (f"{quote_ident(o.defnamespace)}." if o.defnamespace else "") + RawStream()(o) for o in options) + ")"
    if shard_space:  # (a partition took its partitioned table's tablespace: named, it blocked DROP TABLESPACE)
        parent += f";\nALTER TABLE {qualified} SET{shard_space}"
    out: dict[str, list[str]] = {group: [parent] for group in table.groups}
    for remainder, group in sorted(placement.items()):
        shard = quote_qualified(SHARD_SCHEMA, shard_table_name(table.schema, table.name, remainder))
        out[group].append(
            f"CREATE{unlogged} TABLE {shard} PARTITION OF {qualified} FOR VALUES WITH "
            f"(MODULUS {table.shard_count}, REMAINDER {remainder}){with_options}{shard_space}"
        )
    return {group: ";\n".join(parts) for group, parts in out.items()}


def _without_no_inherit(stmt: Any) -> None:
    """CHECK and NOT NULL constraints of a HASH table inherited on the datanodes: PostgreSQL
    refuses NO INHERIT on the partitioned table the shards hang below (42P16, 0A000), and
    the shards, which hold the table's rows, must keep them. The catalog servers keep NO
    INHERIT, which decides what the user's inheritance children take (create_table_like.sql)."""
    for element in stmt.tableElts or ():
        constraints = element.constraints if isinstance(element, ast.ColumnDef) else (element,)
        for constraint in constraints or ():
            if isinstance(constraint, ast.Constraint) and constraint.is_no_inherit:
                constraint.is_no_inherit = False


def _pg_array(text: str | None) -> list[str]:
    if not text or text == "NULL":
        return []
    inner = text[1:-1]
    out, current, quoted, i = [], "", False, 0
    while i < len(inner):
        ch = inner[i]
        if quoted:
            if ch == "\\":
                i += 1
                current += inner[i]
            elif ch == '"':
                quoted = False
            else:
                current += ch
        elif ch == '"':
            quoted = True
        elif ch == ",":
            out.append(current)
            current = ""
        else:
            current += ch
        i += 1
    out.append(current)
    return out


def _adds_foreign_key(node: Any) -> bool:
    """A FOREIGN KEY / REFERENCES constraint anywhere in an ALTER TABLE's commands."""
    if isinstance(node, dict):
        constraint = node.get("Constraint")
        if isinstance(constraint, dict) and constraint.get("contype") == "CONSTR_FOREIGN":
            return True
        return any(_adds_foreign_key(v) for v in node.values())
    if isinstance(node, list):
        return any(_adds_foreign_key(v) for v in node)
    return False


_INTERNAL_SCHEMAS = (" gridpg_lb_", " gridpg_tg.")


def without_internal_objects(notice: bytes) -> bytes | None:
    """A catalog server's NoticeResponse as the client's PostgreSQL would give it: a DROP
    ... CASCADE there also reaches gridpg's own objects (the loopback's shadow foreign
    tables, whose columns use the user's types; the trigger schema), which the client's
    database does not have. Their `drop cascades to` lines are left out and the count
    made again; None when nothing of the user's is left to report. A DEBUG line of an
    event trigger firing is gridpg's own loopback triggers' (executor/code_ddl.py), which
    the client's database does not have either: None."""
    from gridpg.pgwire import codec

    fields = codec.parse_error_fields(notice[5:])
    message = fields.get("M", "")
    if message.startswith("EventTriggerInvoke ") and fields.get("V") == "DEBUG":
        return None
    if not message.startswith("drop cascades to"):
        return notice
    lines = [message] if "D" not in fields else fields["D"].split("\n")
    kept = [line for line in lines if not any(p in line for p in _INTERNAL_SCHEMAS)]
    if len(kept) == len(lines):
        return notice
    if not kept:
        return None
    fields = dict(fields)
    if len(kept) == 1 and not kept[0].startswith("and "):
        fields["M"] = kept[0]
        fields.pop("D", None)
    else:
        fields["M"] = f"drop cascades to {len(kept)} other objects"
        fields["D"] = "\n".join(kept)
    return codec.build_error_fields(b"N", fields)


def _ensure_keys_fit(method: str, column: str | None, keys: list[list[str]], groups: int) -> None:
    """Unique keys each datanode can enforce alone: on a MODULO table they contain the
    distribution column; a ROUNDROBIN table on several groups has none (its rows go to any
    node, so two equal keys would land on two nodes and both stay, as Postgres-XL refuses
    too). A REPLICATION table holds every row on every node: any key holds."""
    if method == "modulo":
        for key in keys:
            if column not in key:
                raise PgError(INVALID_TABLE_DEFINITION,
                              f'a unique constraint of a MODULO table must contain its distribution column "{column}"')
    elif method == "roundrobin" and keys and groups > 1:
        raise PgError(INVALID_TABLE_DEFINITION,
                      "a ROUNDROBIN table cannot have a primary key or unique constraint: each datanode "
                      "would check it over its own rows only",
                      hint="Distribute the table by HASH of a key column, or make it a REPLICATION table.")


async def in_creation_schema(conn: BackendConnection, relation: dict[str, Any]) -> dict[str, Any]:
    """The RangeVar of a table about to be created, with the schema PostgreSQL creates it
    in when it names none: the first schema of the search path that exists
    (`current_schema()`), never a temp table that the name would find (a `CREATE TABLE
    x` beside the session's temp table `x` was looked up as the temp table after it was
    made, and failed on the datanodes: 3F000 schema "pg_temp_7" does not exist)."""
    if relation.get("schemaname"):
        return relation
    rows = await conn.query("SELECT pg_catalog.current_schema()")
    schema = rows[0][0] if rows else None
    return {**relation, "schemaname": schema} if schema else relation


def _unsharded(table: DistTable, keys: list[list[str]]) -> DistTable:
    """The placement by default of a table whose CHECK or generated column needs the
    datanode's table itself, not shards (`tableoid.needs_unsharded_table`): ROUNDROBIN, or
    REPLICATION when it has a unique key (a round-robin table could not hold one)."""
    if keys:
        return default_placement.replicated(table)
    return DistTable(table.schema, table.name, "roundrobin", None, None, None, None, table.groups, by_default=True)
