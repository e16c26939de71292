"""A routed statement's text for one shard: the pinned table's reference replaced by the shard.

On a datanode a HASH table is a partitioned parent over its shards (`gridpg_shards."s.t_r"`);
a statement naming the parent is planned there against every local partition and pruned,
which costs PostgreSQL about as much again as the statement itself (issue 11, "Speed").
The coordinator knows the pinning value's shard, so a statement it routes whole to one node
can name that shard instead: this module writes that text, once per plan and shard.

Pure: the decision whether the shard gives PostgreSQL's answer for the session's role
(privileges, row security, triggers, column layout on the datanodes) is the executor's
(executor/shard_route.py); this module only refuses texts whose meaning would change with
the relation named in them:

* the table referenced more than once, through `ONLY`, or not as a plain table reference;
* a whole-row reference (`t`, `f(t.*)`, `ROW(t.*)`: the shard's row type, not the
  table's), a column qualified with its schema (`s.t.c`), or `tableoid`;
* an UPDATE that assigns the distribution column (through the parent PostgreSQL moves the
  row to its new partition; through the shard it would refuse the row).

The table keeps its name in the statement as the shard's alias, so every column reference
and `FOR UPDATE OF t` read as before. Identifiers are quoted, the rest of the text kept.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from gridpg.catalog.model import DistTable
from gridpg.catalog.model import shard_table_name
from gridpg.planner import analyze
from gridpg.planner.plan import SCRATCH_SCHEMA as SHARD_SCHEMA
from gridpg.planner.pushdown import Resolved
from gridpg.planner.text import quote, relation_span, splice
from gridpg.planner.writes import updates_column
from gridpg.sql import parse as sqlparse

_KINDS = ("SelectStmt", "UpdateStmt", "DeleteStmt")


@dataclass(frozen=True)
class ShardText:
    """A statement with one table reference to be replaced by a shard: `text(r)`."""

    sql: str
    start: int
    end: int
    alias: str  # " AS name" when the reference has no alias of its own, else ""
    schema: str
    table: str
    kind: str  # SelectStmt, UpdateStmt or DeleteStmt
    locks: bool  # FOR UPDATE/SHARE: the role needs more than SELECT on the table

    def text(self, remainder: int) -> str:
        shard = f"{quote(SHARD_SCHEMA)}.{quote(shard_table_name(self.schema, self.table, remainder))}"
        return splice(self.sql, [(self.start, self.end, shard + self.alias)])


def shard_text(sql: str, tree: dict[str, Any], kind: str, resolved: Sequence[Resolved],
               table: DistTable) -> ShardText | str:
    """The statement with `table`'s reference ready to name a shard, or why it may not."""
    if kind not in _KINDS:
        return "not a SELECT, UPDATE or DELETE"
    if table.method != "hash" or not table.shard_count or table.column is None:
        return "not a HASH table"
    if "tableoid" in sql.lower():
        return "reads tableoid"
    refs = [r.ref for r in resolved if r.table is not None and r.table.key == table.key]
    if len(refs) != 1:
        return "the table is referenced more than once"
    ref = refs[0]
    body = tree[kind]
    if kind == "UpdateStmt" and updates_column(body, table.column):
        return "updates the distribution column"
    names = {ref.alias or ref.name}
    reason = _column_refs_reason(tree, names)
    if reason is not None:
        return reason
    start, end = relation_span(sql, sqlparse.tokens(sql), ref)
    alias = "" if ref.alias else f" AS {quote(ref.name)}"
    locks = kind == "SelectStmt" and any("lockingClause" in n for n in analyze._walk(tree) if isinstance(n, dict))
    return ShardText(sql, start, end, alias, table.schema, table.name, kind, locks)


def _column_refs_reason(tree: Any, names: set[str]) -> str | None:
    """Why a column reference would read differently from the shard, or None."""
    stars_allowed = {id(node["val"]) for node in _res_targets(tree)}
    for node in analyze._walk(tree):
        if not isinstance(node, dict) or "ColumnRef" not in node:
            continue
        fields = node["ColumnRef"].get("fields", [])
        strings = [f["String"]["sval"] for f in fields if isinstance(f, dict) and "String" in f]
        star = any(isinstance(f, dict) and "A_Star" in f for f in fields)
        if len(fields) >= 3:
            return "a column qualified with its schema"
        if len(fields) == 1 and not star and strings and strings[0] in names:
            return "a whole-row reference"
        if star and len(fields) == 2 and strings and strings[0] in names and id(node) not in stars_allowed:
            return "a whole-row reference"
        if star and len(fields) == 1 and id(node) not in stars_allowed:
            return "a whole-row reference"
    return None


def _res_targets(tree: Any) -> list[dict[str, Any]]:
    """Every target list entry (SELECT list, RETURNING) whose value is a plain column ref."""
    out = []
    for node in analyze._walk(tree):
        if isinstance(node, dict) and "ResTarget" in node:
            res = node["ResTarget"]
            if isinstance(res.get("val"), dict) and "ColumnRef" in res["val"] and "name" not in res:
                out.append(res)
    return out
