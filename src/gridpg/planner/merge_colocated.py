"""MERGE whose source is colocated with its target: the statement runs whole on every node. Pure.

Citus's rule: a MERGE into a hash (or modulo) table whose source reads one table colocated
with the target, joined in its ON condition on both distribution columns, touches on each
node only that node's rows of both: every source row meets exactly the target rows it
would meet in one server. The source may be the table itself, a subquery, or a CTE
(`WITH m AS MATERIALIZED (...)`) that reads that table row by row: a plain SELECT of it
with its distribution column passed through (no grouping, DISTINCT, LIMIT, windows,
function calls that might aggregate, subqueries). An UPDATE action must not set the
target's distribution column (the row would move); an INSERT action must give it the
source's joined column (the new row then belongs on the node of its source row). Anything
else is left to the other MERGE plans (and refused there).
"""

from __future__ import annotations

from typing import Any

from gridpg.catalog.model import DistTable, is_colocated
from gridpg.planner import analyze
from gridpg.planner.node_local import key_columns, not_node_local, output_keys
from gridpg.planner.plan import Fragment, PushdownPlan
from gridpg.planner.pushdown import Resolved


def colocated_merge(sql: str, body: dict[str, Any], resolved: list[Resolved]) -> PushdownPlan | None:
    """The plan running the MERGE on every node of its target, or None."""
    target = resolved[0].table if resolved else None
    if target is None or target.method not in ("hash", "modulo") or not target.column:
        return None
    if analyze.has_node(body, "SubLink"):
        return None
    ctes = {c["CommonTableExpr"]["ctename"]: c["CommonTableExpr"]
            for c in body.get("withClause", {}).get("ctes", []) if "CommonTableExpr" in c}
    if any(r.table is None and r.ref.name not in ctes for r in resolved):
        return None  # a view, a catalog relation, ...
    tables = [r.table for r in resolved[1:] if r.table is not None]
    if len(tables) != 1 or not is_colocated(target, tables[0]):
        return None
    source = _source(body.get("sourceRelation", {}), ctes, tables[0])
    if source is None:
        return None
    alias, keys = source
    target_names = {resolved[0].ref.alias or resolved[0].ref.name}
    joined = _joined_key(body, target_names, target.column, alias, keys)
    if joined is None or not _actions_keep_rows_home(body, target.column, alias, joined):
        return None
    return PushdownPlan(tuple(Fragment(g, sql) for g in target.groups), writes=True)


def _source(node: dict[str, Any], ctes: dict[str, Any], table: DistTable) -> tuple[str, set[str]] | None:
    """(the source's name in the statement, its output columns that pass the colocated
    table's distribution column through)."""
    if "RangeVar" in node:
        var = node["RangeVar"]
        alias = var.get("alias", {}).get("aliasname") or var["relname"]
        if var.get("schemaname") is None and var["relname"] in ctes:
            cte = ctes[var["relname"]]
            if cte.get("aliascolnames"):
                return None
            keys = _passthrough_keys(cte.get("ctequery", {}), table)
            return None if keys is None else (alias, keys)
        return alias, {table.column or ""}
    if "RangeSubselect" in node:
        sub = node["RangeSubselect"]
        alias = sub.get("alias", {}).get("aliasname")
        if not alias or sub.get("alias", {}).get("colnames") or sub.get("lateral"):
            return None
        keys = _passthrough_keys(sub.get("subquery", {}), table)
        return None if keys is None else (alias, keys)
    return None


def _passthrough_keys(query: dict[str, Any], table: DistTable) -> set[str] | None:
    """Output names of a row-by-row SELECT of `table` that are its distribution column: a
    node-local sub-select (planner/node_local.py) of that one table, no locks, no INTO."""
    select = query.get("SelectStmt")
    if not isinstance(select, dict) or not_node_local(select) is not None:
        return None
    if select.get("lockingClause") or select.get("intoClause") or select.get("windowClause"):
        return None
    from_items = select.get("fromClause", [])
    if len(from_items) != 1 or "RangeVar" not in from_items[0]:
        return None
    if any(analyze.has_node(t, "FuncCall") for t in select.get("targetList", [])):
        return None  # it might be an aggregate (over each node's rows only)
    var = from_items[0]["RangeVar"]
    if (var.get("alias") or {}).get("colnames"):
        return None
    name = (var.get("alias") or {}).get("aliasname") or var["relname"]
    return output_keys(select, key_columns([(name, table.column or "")]))


def _joined_key(body: dict[str, Any], target_names: set[str], column: str, alias: str,
                keys: set[str]) -> str | None:
    """The source column the ON condition equates with the target's distribution column."""
    for left, right in analyze.equi_join_pairs({"whereClause": body.get("joinCondition")}):
        for a, b in ((left, right), (right, left)):
            if len(a) == 2 and a[0] in target_names and a[1] == column \
                    and len(b) == 2 and b[0] == alias and b[1] in keys:
                return b[1]
    return None


def _actions_keep_rows_home(body: dict[str, Any], column: str, alias: str, key: str) -> bool:
    """No UPDATE sets the distribution column; every INSERT gives it the joined source key."""
    for clause in body.get("mergeWhenClauses", []):
        when = clause.get("MergeWhenClause", {})
        kind = when.get("commandType")
        items = [t.get("ResTarget", {}) for t in when.get("targetList", [])]
        if kind == "CMD_UPDATE" and any(i.get("name") == column for i in items):
            return False
        if kind == "CMD_INSERT":
            values = when.get("values", [])
            at = next((n for n, i in enumerate(items) if i.get("name") == column), None)
            if at is None or at >= len(values):
                return False  # no column list, or the default: a value of its own
            fields = values[at].get("ColumnRef", {}).get("fields", [])
            if [f.get("String", {}).get("sval") for f in fields] != [alias, key]:
                return False
    return True
