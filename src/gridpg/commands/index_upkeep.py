"""Index maintenance functions of a distributed table's index, run where its rows are.

`brin_summarize_new_values(idx)`, `brin_summarize_range(idx, block)`,
`brin_desummarize_range(idx, block)` and `gin_clean_pending_list(idx)` work on an index's
pages. The catalog server holds a distributed table empty: there they summarized nothing
and answered 0, while the datanodes' indexes (a HASH table's: one per shard) were left as
they were, silently (brin.sql:443, gin.sql:14). A call with constant arguments naming an
index of a distributed table now runs, before the statement, on the catalog server (so
PostgreSQL's checks and errors come first: not a BRIN index, a block out of range, the
index's owner) and then on every leaf index of the table on each of its datanode groups,
on the session's transaction connections; the call in the statement becomes the catalog
server's answer plus the leaves' (one copy of a REPLICATION table counts): the number of
ranges summarized or pending-list pages cleaned over the cluster's physical indexes, not
one PostgreSQL's (a block number names a page of each shard, as the sizes are the
shards'). A call whose argument varies per row is refused (0A000) while distributed
tables exist, and so is code that calls one (a function, DO block, view, ... runs on the
catalog server: refused at CREATE, as the size functions are). No I/O in the parsing; the
rest runs on the statement's connections.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from gridpg.commands.sizes import _catalog_query, _node_query  # (the session's own connections)
from gridpg.errors import FEATURE_NOT_SUPPORTED, PgError
from gridpg.planner import sizes as plan_sizes
from gridpg.planner.text import splice
from gridpg.sql import parse as sqlparse
from gridpg.sql.quote import quote_ident, quote_literal, quote_qualified

if TYPE_CHECKING:
    from gridpg.executor.dispatch import Dispatcher

# function -> the type of its answer (None: void), whether it takes a block number
FUNCTIONS: dict[str, tuple[str | None, bool]] = {
    "brin_summarize_new_values": ("int4", False),
    "brin_summarize_range": ("int4", True),
    "brin_desummarize_range": (None, True),
    "gin_clean_pending_list": ("int8", False),
}

_INDEX_SQL = """SELECT tn.nspname, t.relname, n.nspname, c.relname
FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
JOIN pg_catalog.pg_index i ON i.indexrelid = c.oid
JOIN pg_catalog.pg_class t ON t.oid = i.indrelid JOIN pg_catalog.pg_namespace tn ON tn.oid = t.relnamespace
WHERE c.oid = ({arg})::pg_catalog.regclass"""


# The index's leaves on a datanode: a HASH table's shard indexes, or the index itself
# (pg_partition_tree lists nothing for an index outside a partition tree)
_LEAVES = """SELECT p.relid FROM pg_catalog.pg_partition_tree({index}::pg_catalog.regclass) p WHERE p.isleaf
UNION ALL SELECT c.oid FROM pg_catalog.pg_class c WHERE c.oid = {index}::pg_catalog.regclass
AND NOT (c.relkind = 'I' OR c.relispartition)"""


def mentions(sql: str) -> bool:
    """A cheap test before parsing."""
    lowered = sql.lower()
    return "brin_summarize" in lowered or "brin_desummarize" in lowered or "gin_clean_pending_list" in lowered


def ensure_not_in_stored_code(sql: str) -> None:
    """Refuse a function, procedure, DO block, view, rule, trigger or policy calling one of
    them: its statements run on the catalog server, whose index is the empty copy's (nothing
    summarized on the datanodes, 0 answered, without an error)."""
    tree = sqlparse.parse_tree(sql)
    name = (plan_sizes.called_in_body(sql, FUNCTIONS) if "ViewStmt" in tree
            else plan_sizes.stored_call(sql, FUNCTIONS))
    if name is not None:
        raise PgError(FEATURE_NOT_SUPPORTED,
                      f"{name}() inside a function, procedure, DO block, view, rule or policy is not supported "
                      "by gridpg",
                      detail="Such code runs on the catalog server, which holds distributed tables and their "
                             "indexes empty.",
                      hint=f"Call {name}() in a statement of its own: it then runs on every shard's index.")


async def rewrite(dispatcher: Dispatcher, sql: str) -> str:
    """`sql` with each call on a distributed table's index carried out on the datanodes
    too, and answered with the catalog server's count plus theirs."""
    calls = plan_sizes.find_calls(sql, FUNCTIONS)
    snapshot = dispatcher.runner.snapshot()
    if not calls or not any(t.groups for t in snapshot.tables) or _explains_only(sql):
        return sql
    replacements = []
    for call in calls:
        if not call.constant:
            raise PgError(FEATURE_NOT_SUPPORTED,
                          f"{call.name}() of an argument that varies per row is not supported by gridpg",
                          detail="An index of a distributed table is maintained on the datanodes.",
                          hint=f"Call {call.name}() with the index's name, in a statement of its own.")
        found = await _catalog_query(dispatcher, _INDEX_SQL.format(arg=call.args[0] if call.args else "NULL"))
        table = snapshot.table(str(found[0][0]), str(found[0][1])) if found else None
        if table is None or not table.groups:
            continue  # PostgreSQL's own call and answer (or error) on the catalog server
        answer_type, has_block = FUNCTIONS[call.name]
        # PostgreSQL's checks first, on the catalog server's (empty) index
        own = await _catalog_query(dispatcher, f"SELECT pg_catalog.{call.name}({', '.join(call.args)})"
                                   + (f", ({call.args[1]})::pg_catalog.int8" if has_block else ""))
        block = f", {int(own[0][1] or 0)}" if has_block else ""
        index = quote_qualified(str(found[0][2]), str(found[0][3]))
        leaves = (f"SELECT pg_catalog.{call.name}(l.r{block}) AS v "
                  f"FROM ({_LEAVES.format(index=quote_literal(index))}) AS l(r)")
        node_sql = (f"SELECT pg_catalog.sum(x.v) FROM ({leaves}) x" if answer_type
                    else f"SELECT pg_catalog.count(*) FROM ({leaves}) x")
        answers = await asyncio.gather(*(_node_query(dispatcher, g, node_sql) for g in table.groups))
        if answer_type is None:
            continue  # void: the catalog server's call stays, for its answer's type
        counted = answers[:1] if table.method == "replication" else answers
        total = int(own[0][0] or 0) + sum(int(rows[0][0] or 0) for rows in counted if rows)
        text = f"{total}::pg_catalog.{answer_type}"
        replacements.append((call.start, call.end, f"{text} AS {quote_ident(call.alias)}" if call.alias else text))
    return splice(sql, replacements) if replacements else sql


def _explains_only(sql: str) -> bool:
    """EXPLAIN without ANALYZE: the calls are planned, not run."""
    tree = sqlparse.parse_tree(sql)
    body = tree.get("ExplainStmt")
    if not isinstance(body, dict):
        return False
    for option in body.get("options") or []:
        element = option.get("DefElem") or {}
        if element.get("defname") == "analyze":
            arg = element.get("arg") or {}
            value = str((arg.get("String") or {}).get("sval") or (arg.get("Boolean") or {}).get("boolval", True))
            return value.lower() in ("false", "off", "0")
    return True


