"""CLUSTER, ALTER TABLE ... CLUSTER ON / SET WITHOUT CLUSTER, REINDEX and ALTER INDEX ...
SET/RESET (storage options) of a HASH table or its index, as the datanodes get them: shard
by shard. Pure: text in, text out.

On a datanode a HASH table is partitioned (its shards are the leaves). PostgreSQL refuses
to mark an index of a partitioned table clustered (0A000) and runs CLUSTER and REINDEX of
a partitioned table or index only outside a transaction block (25001), where the user's
table, a plain one, allows them anywhere. So the datanodes do it leaf by leaf, inside the
statement's distributed transaction: every shard marked clustered on its own part of the
index (a bare CLUSTER on the datanode then finds them, as PostgreSQL's finds the user's
table) and clustered with it; every shard (or shard index) reindexed. The catalog server
runs the statement as written: its errors and `pg_index.indisclustered` are PostgreSQL's
own.

The leaves are read on the datanode from `pg_partition_tree` of the table or its index
(its shards' indexes are that index's partitions); their names go through `format('%s'/'%I')`
of regclass and name values there, never pasted.
"""

from __future__ import annotations

from typing import Any

from gridpg.sql.quote import quote_literal, quote_qualified

_CLUSTER_COMMANDS = frozenset({"AT_ClusterOn", "AT_DropCluster"})
_RELOPTION_COMMANDS = frozenset({"AT_SetRelOptions", "AT_ResetRelOptions"})

# Each leaf of an index on the datanode: its table (regclass) and its own name.
_LEAVES_OF_INDEX = (
    "SELECT i.indrelid::pg_catalog.regclass AS tab, c.relname AS idx, i.indexrelid::pg_catalog.regclass AS leaf "
    "FROM pg_catalog.pg_partition_tree(pg_catalog.to_regclass({index})) p "
    "JOIN pg_catalog.pg_index i ON i.indexrelid = p.relid "
    "JOIN pg_catalog.pg_class c ON c.oid = i.indexrelid WHERE p.isleaf ORDER BY 1")
_LEAVES_OF_TABLE = (
    "SELECT p.relid::pg_catalog.regclass AS tab FROM pg_catalog.pg_partition_tree(pg_catalog.to_regclass({table})) p "
    "WHERE p.isleaf ORDER BY 1")


def cluster_leaves(schema: str, index: str) -> str:
    """`CLUSTER table USING index` as a datanode runs it for a HASH table: each shard
    marked clustered on its part of `index` and clustered, in the table's name order.
    `index` is in the table's schema, as CLUSTER ... USING names it."""
    qualified = quote_literal(quote_qualified(schema, index))
    return _do_block(
        f"IF pg_catalog.to_regclass({qualified}) IS NULL THEN "
        f"RAISE EXCEPTION 'index % is missing on this datanode', {qualified} USING ERRCODE = 'XX000'; END IF; "
        f"FOR r IN {_LEAVES_OF_INDEX.format(index=qualified)} LOOP "
        "EXECUTE pg_catalog.format('CLUSTER %s USING %I', r.tab, r.idx); END LOOP;")


def mark_leaves(schema: str, table: str, index: str | None) -> str:
    """`ALTER TABLE table CLUSTER ON index` (or, `index` None, `SET WITHOUT CLUSTER`) for
    the shards of a HASH table on a datanode."""
    if index is None:
        leaves = _LEAVES_OF_TABLE.format(table=quote_literal(quote_qualified(schema, table)))
        return _do_block(f"FOR r IN {leaves} LOOP "
                         "EXECUTE pg_catalog.format('ALTER TABLE %s SET WITHOUT CLUSTER', r.tab); END LOOP;")
    leaves = _LEAVES_OF_INDEX.format(index=quote_literal(quote_qualified(schema, index)))
    return _do_block(f"FOR r IN {leaves} LOOP "
                     "EXECUTE pg_catalog.format('ALTER TABLE %s CLUSTER ON %I', r.tab, r.idx); END LOOP;")


def alter_cluster_text(clean: str, body: dict[str, Any], schema: str, table: str) -> str | None:
    """The datanodes' text of an ALTER TABLE of a HASH table with CLUSTER ON / SET WITHOUT
    CLUSTER among its commands: the other commands on the table as written, then the
    cluster marks on its shards, in the statement's order (the last one wins, as in
    PostgreSQL). None when it has no such command."""
    cmds = [c.get("AlterTableCmd", {}) for c in body.get("cmds") or []]
    marks = [c for c in cmds if c.get("subtype") in _CLUSTER_COMMANDS]
    if not marks:
        return None
    parts = []
    if len(marks) < len(cmds):
        parts.append(_without_cluster_commands(clean))
    for mark in marks:
        parts.append(mark_leaves(schema, table, mark.get("name") if mark["subtype"] == "AT_ClusterOn" else None))
    return ";\n".join(parts)


def reindex_leaves(clean: str, schema: str, name: str, index: bool) -> str:
    """`REINDEX [(options)] TABLE table` (or, `index`, `REINDEX INDEX index`; `name` is the
    table's or the index's) as a datanode runs it for a HASH table: each shard (or shard
    index) reindexed with the statement's options."""
    from pglast import ast
    from pglast.stream import RawStream

    from gridpg.sql.parse import parse_sql

    stmt = parse_sql(clean)[0].stmt
    stmt.relation = ast.RangeVar(relname="gp_reindex_target", inh=True, relpersistence="p")
    head, tail = str(RawStream()(stmt)).split("gp_reindex_target", 1)
    qualified = quote_literal(quote_qualified(schema, name))
    leaves = _LEAVES_OF_INDEX.format(index=qualified) if index else _LEAVES_OF_TABLE.format(table=qualified)
    return _do_block(f"FOR r IN {leaves} LOOP EXECUTE {quote_literal(head)} || "
                     f"{'r.leaf' if index else 'r.tab'}::text || {quote_literal(tail)}; END LOOP;")


def index_options_text(clean: str, body: dict[str, Any]) -> str | None:
    """The datanodes' text of `ALTER INDEX [IF EXISTS] i SET/RESET (...)`: an index of a
    HASH table is partitioned there, where PostgreSQL refuses storage options (42809), so
    they go to its leaves, the shards' indexes; any other index (or none of that name:
    PostgreSQL's own answer) as written. None for other statements."""
    from pglast.stream import RawStream

    from gridpg.sql.parse import parse_sql

    cmds = {c.get("AlterTableCmd", {}).get("subtype") for c in body.get("cmds") or []}
    if body.get("objtype") != "OBJECT_INDEX" or not cmds or not cmds <= _RELOPTION_COMMANDS:
        return None
    if "$gridpg_leaves$" in clean:
        return None  # (it would end the block's quoting)
    stmt = parse_sql(clean)[0].stmt
    index = quote_literal(quote_qualified(stmt.relation.schemaname, stmt.relation.relname))
    stmt.relation.schemaname, stmt.relation.relname, stmt.missing_ok = None, "gp_reloptions_target", False
    tail = str(RawStream()(stmt)).split("gp_reloptions_target", 1)[1]
    leaves = f"SELECT p.relid FROM pg_catalog.pg_partition_tree(pg_catalog.to_regclass({index})) p WHERE p.isleaf"
    return _do_block(
        f"IF pg_catalog.to_regclass({index}) IS NULL OR (SELECT c.relkind FROM pg_catalog.pg_class c "
        f"WHERE c.oid = pg_catalog.to_regclass({index})) <> 'I' THEN EXECUTE {quote_literal(clean)}; RETURN; "
        f"END IF; FOR r IN {leaves} LOOP EXECUTE 'ALTER INDEX ' || r.relid::pg_catalog.regclass::text || "
        f"{quote_literal(tail)}; END LOOP;")


def _without_cluster_commands(clean: str) -> str:
    from pglast.stream import RawStream

    from gridpg.sql.parse import parse_sql

    stmt = parse_sql(clean)[0].stmt
    stmt.cmds = tuple(c for c in stmt.cmds if c.subtype.name not in _CLUSTER_COMMANDS)
    return str(RawStream()(stmt))


def _do_block(body: str) -> str:
    return f"DO $gridpg_leaves$ DECLARE r record; BEGIN {body} END $gridpg_leaves$"
