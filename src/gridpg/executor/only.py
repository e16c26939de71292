"""`ONLY t` over a table whose rows live in shard partitions on the datanodes.

A HASH table is a hash-partitioned table on each datanode, its rows in the shard
partitions. `SELECT/UPDATE/DELETE/TRUNCATE ... ONLY t` means "t without its inheritance
children", but on a datanode it reads the partitioned parent alone, which holds no rows:
the statement silently saw and changed nothing. `ALTER TABLE ONLY t ADD PRIMARY KEY` (how
pg_dump writes every key) made an invalid index on the parent alone: the key was silently
not enforced; `ALTER TABLE ONLY t ADD CHECK/FOREIGN KEY` failed. When the user's table has no children of
its own (as the catalog server, which holds the user's definitions, says) ONLY changes
nothing in PostgreSQL's answer, so the keyword is dropped before planning. A table with
inheritance children is a plain table on the datanodes (see the partitioned tables
section of docs/architecture.md) and keeps its ONLY; so does a partitioned table, whose
ONLY reads no rows in PostgreSQL too.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from gridpg.errors import PgError
from gridpg.planner import analyze
from gridpg.planner.context import resolve
from gridpg.sql import parse as sqlparse
from gridpg.sql.quote import quote_literal, quote_qualified

if TYPE_CHECKING:
    from gridpg.executor.dispatch import Dispatcher

_KINDS = ("SelectStmt", "InsertStmt", "UpdateStmt", "DeleteStmt", "TruncateStmt", "MergeStmt", "ExplainStmt",
          "CopyStmt", "DeclareCursorStmt", "CreateTableAsStmt", "AlterTableStmt", "IndexStmt")


async def drop_only_over_shards(dispatcher: Dispatcher, sql: str, search_path: tuple[str, ...]) -> str:
    """`sql` without the ONLY of distributed HASH tables that have no children."""
    if "only" not in sql.lower():
        return sql
    try:
        tree = sqlparse.parse_tree(sql)
    except PgError:
        return sql
    if sqlparse.node_type(tree) not in _KINDS:
        return sql
    snapshot = dispatcher.runner.snapshot()
    candidates = []
    body = tree[sqlparse.node_type(tree)]
    bare = [body["relation"]] if isinstance(body.get("relation"), dict) else []  # a DML target
    wrapped = [n["RangeVar"] for n in analyze._walk(tree) if isinstance(n, dict) and "RangeVar" in n]
    for var in bare + wrapped:
        if var.get("inh"):
            continue
        ref = analyze.RelRef(var.get("schemaname"), var["relname"], var.get("location", -1), None)
        table = resolve(snapshot, ref, search_path)
        if table is not None and table.method == "hash":
            candidates.append((ref.location, quote_qualified(table.schema, table.name)))
    if not candidates:
        return sql
    childless = await _childless(dispatcher, sorted({name for _, name in candidates}))
    locations = [loc for loc, name in candidates if name in childless]
    return _without_only(sql, locations) if locations else sql


async def _childless(dispatcher: Dispatcher, names: list[str]) -> set[str]:
    """Those of `names` that are plain tables with no inheritance children."""
    conn = await dispatcher.runner.txn.connection(dispatcher.coord.catalog_node, wants_block=False)
    listed = ", ".join(f"({quote_literal(n)})" for n in names)
    rows = await conn.query(
        f"SELECT v.n FROM (VALUES {listed}) AS v(n) JOIN pg_catalog.pg_class c "
        "ON c.oid = pg_catalog.to_regclass(v.n) WHERE c.relkind = 'r' AND NOT EXISTS "
        "(SELECT 1 FROM pg_catalog.pg_inherits i WHERE i.inhparent = c.oid)")
    return {r[0] for r in rows if r[0]}


def _without_only(sql: str, locations: list[int]) -> str:
    """Blank the ONLY before each relation at `locations` (and ONLY's parentheses)."""
    toks = [t for t in sqlparse.tokens(sql) if t.name not in ("C_COMMENT", "SQL_COMMENT")]
    out = list(sql)
    for index, tok in enumerate(toks):
        if tok.start not in locations:
            continue
        before = index - 1
        paren = before >= 0 and sql[toks[before].start] == "("
        keyword = before - 1 if paren else before
        if keyword < 0 or toks[keyword].name != "ONLY":
            continue
        for position in range(toks[keyword].start, toks[keyword].end + 1):
            out[position] = " "
        if paren:
            out[toks[before].start] = " "
            depth = 0
            for later in toks[index:]:
                if sql[later.start] == "(":
                    depth += 1
                elif sql[later.start] == ")":
                    if depth == 0:
                        out[later.start] = " "
                        break
                    depth -= 1
    return "".join(out)
