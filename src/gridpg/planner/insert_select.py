"""INSERT ... SELECT whose SELECT runs on the datanodes without combining: where its rows
are made and where they go. Pure.

* **local**: each node inserts the rows its SELECT fragment makes, none moves. That holds
  when the value the SELECT gives the target's distribution column is the distribution
  column of a table colocated with the target (same colocation group, so the same
  partition on the same node), or when the target is ROUNDROBIN (any node will do).
* **repartition** (XL's "Distribute results by H(col)"): each node stages the rows its
  fragment makes, typed as the target's columns; they are split on that node by the
  target's partition hash (`planner.broadcast.remainder_sql`) and pumped as COPY bytes to
  the node of their partition (or to every node of a REPLICATION target); each node then
  inserts what it received. Rows never pass through the coordinator.

Anything else (the SELECT needs combining on the coordinator, sequences fill columns,
unknown output width) is left to the caller's general path. No I/O here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from pglast import ast
from pglast.enums import JoinType

from gridpg.catalog.model import CatalogSnapshot, DistTable
from gridpg.planner.broadcast import REPARTITION_TYPES
from gridpg.planner.plan import DistributedPlan, Fragment, Strategy
from gridpg.sql.parse import parse_sql


@dataclass(frozen=True)
class InsertSelectRoute:
    """`local`: `fragments` are INSERT ... SELECT statements, one per node. `repartition`:
    `fragments` are the SELECT each node runs; `key` the target column rows are split by
    (None: every row to every node of a REPLICATION target)."""

    kind: str
    fragments: tuple[Fragment, ...]
    key: str | None = None
    final_sql: str | None = None  # "combine": the SELECT's last step on the catalog server
    partial_temp: str | None = None  # where that step reads the nodes' partial rows

    def describe(self) -> list[str]:
        groups = ", ".join(dict.fromkeys(f.group for f in self.fragments))
        if self.kind == "local":
            return [f"  INSERT ... SELECT on each node ({groups}): its rows stay where they are made",
                    f"  Remote SQL: {self.fragments[0].sql}"]
        how = f"by hash({self.key})" if self.key else "to every node"
        if self.kind == "combine":
            return [(f"  Partial SELECT on {groups}, combined on the catalog server, its rows distributed {how} "
                     "as COPY data to the target's nodes, then inserted"),
                    f"  Remote SQL: {self.fragments[0].sql}", f"  Final SQL on the catalog server: {self.final_sql}"]
        return [f"  SELECT on {groups}, rows staged there and distributed {how} as COPY data, then inserted",
                f"  Remote SQL: {self.fragments[0].sql}"]


def route_insert_select(select_plan: DistributedPlan, select_sql: str, target: DistTable, cols: Sequence[str],
                        types: Mapping[str, int], snapshot: CatalogSnapshot, refs: Mapping[int, DistTable],
                        insert_head: str, tail: str) -> InsertSelectRoute | str:
    """How to run `insert_head <select> tail` when the SELECT's own plan is `select_plan`;
    `cols` are the target columns the SELECT fills, in order; `refs` the SELECT's
    distributed tables by location; `types` the target's column type OIDs."""
    if select_plan.strategy in (Strategy.TWO_PHASE, Strategy.MERGE) and not select_plan.writes:
        key = _split_key(target, cols, types)
        if isinstance(key, str) and target.method != "replication":
            return key
        return InsertSelectRoute("combine", select_plan.fragments, None if isinstance(key, str) else key[0],
                                 select_plan.final_sql, select_plan.partial_temp)
    if select_plan.strategy not in (Strategy.PUSHDOWN, Strategy.ROUTER) or select_plan.writes:
        return f"the SELECT is not run node by node ({select_plan.strategy})"
    sources = {f.group for f in select_plan.fragments}
    if target.method == "roundrobin" and sources <= set(target.groups) or \
            _keeps_partition(select_sql, target, cols, snapshot, refs) and sources <= set(target.groups):
        return InsertSelectRoute("local", tuple(Fragment(f.group, f"{insert_head} {f.sql} {tail}".rstrip())
                                                for f in select_plan.fragments))
    if target.method == "replication":
        return InsertSelectRoute("repartition", select_plan.fragments)
    key = _split_key(target, cols, types)
    if isinstance(key, str):
        return key
    return InsertSelectRoute("repartition", select_plan.fragments, key[0])


def _split_key(target: DistTable, cols: Sequence[str], types: Mapping[str, int]) -> tuple[str] | str:
    """The column rows are split by on their way to the target, or why they cannot be."""
    if target.method != "hash" or target.column not in cols or types.get(target.column or "") not in REPARTITION_TYPES:
        return "the target's distribution type cannot be split on the datanodes"
    if not target.shard_count:
        return "the target has no shards"
    return (target.column or "",)


def _keeps_partition(select_sql: str, target: DistTable, cols: Sequence[str], snapshot: CatalogSnapshot,
                     refs: Mapping[int, DistTable]) -> bool:
    """Whether the SELECT gives the target's distribution column the distribution column of
    a top-level FROM table colocated with the target."""
    if target.method != "hash" or target.column not in cols:
        return False
    stmt = parse_sql(select_sql)[0].stmt
    if not isinstance(stmt, ast.SelectStmt) or not stmt.targetList:
        return False
    index = list(cols).index(target.column)
    if index >= len(stmt.targetList) or not isinstance(stmt.targetList[index].val, ast.ColumnRef):
        return False
    fields = stmt.targetList[index].val.fields
    if not all(isinstance(f, ast.String) for f in fields):
        return False
    names = [f.sval for f in fields]
    if any(j.jointype != JoinType.JOIN_INNER for j in _joins(stmt.fromClause or ())):
        return False  # a NULL-extended row's key would not be the source's partition
    tables = []
    for ref in _top_level_tables(stmt.fromClause or ()):
        table = refs.get(ref.location)
        exposed = ref.alias.aliasname if ref.alias is not None else ref.relname
        if table is None or (len(names) >= 2 and names[-2] != exposed):
            continue
        if ref.alias is not None and ref.alias.colnames:
            continue
        if table.column == names[-1]:
            tables.append(table)
    return len(tables) == 1 and tables[0].method == "hash" and snapshot.colocated(target, tables[0])


def _top_level_tables(items: Sequence[object]) -> list[ast.RangeVar]:
    out = []
    stack = list(items)
    while stack:
        item = stack.pop()
        if isinstance(item, ast.RangeVar):
            out.append(item)
        elif isinstance(item, ast.JoinExpr):
            stack += [item.larg, item.rarg]
    return out


def _joins(items: Sequence[object]) -> list[ast.JoinExpr]:
    out = []
    stack = list(items)
    while stack:
        item = stack.pop()
        if isinstance(item, ast.JoinExpr):
            out.append(item)
            stack += [item.larg, item.rarg]
    return out
