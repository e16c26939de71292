"""Strategy 2, pushdown: tables colocated and joined on their distribution columns (or
joined with reference tables), nothing to combine across nodes: the same statement on
every node, rows concatenated. Also the tests later strategies share: what must be
combined (`needs_combine`), aggregates, the statement's own FROM."""

from __future__ import annotations

from dataclasses import dataclass
from collections.abc import Set as AbstractSet
from typing import Any

from gridpg.catalog.model import BUILTIN_AGGREGATES, CatalogSnapshot, DistTable
from gridpg.planner import analyze, tableoid
from gridpg.planner.node_local import has_aggregate, not_node_local
from gridpg.planner.plan import NotApplicable, Strategy

PUSHDOWN = Strategy.PUSHDOWN


@dataclass
class Resolved:
    """A table reference and, when distributed, its metadata."""

    ref: analyze.RelRef
    table: DistTable | None


def pushable_from(body: dict[str, Any], resolved: list[Resolved],
                  snapshot: CatalogSnapshot) -> list[str] | NotApplicable:
    """The groups to run on when every node can answer for its own rows."""
    if body.get("op", "SETOP_NONE") != "SETOP_NONE":
        return NotApplicable(PUSHDOWN, "set operations need rows from every node")
    if body.get("withClause"):
        return NotApplicable(PUSHDOWN, "CTEs are finished on the coordinator")
    nested = row_local_subqueries(body, snapshot.aggregates)
    if nested is None or not all_top_level(body, resolved, set().union(*(locs for _, locs in nested))):
        return NotApplicable(PUSHDOWN, "distributed tables appear in subqueries")
    distributed = [r for r in resolved if r.table is not None and r.table.method != "replication"]
    if not distributed:
        return NotApplicable(PUSHDOWN, "only reference tables")
    if nested:
        return _pushable_with_subqueries(body, resolved, distributed, nested, snapshot)
    if _has_outer_join_with_reference_nullable(body, resolved):
        return NotApplicable(PUSHDOWN, "an outer join whose nullable side is a reference table")
    return _colocated_groups(body, resolved, distributed, snapshot)


def _colocated_groups(body: dict[str, Any], resolved: list[Resolved], distributed: list[Resolved],
                      snapshot: CatalogSnapshot) -> list[str] | NotApplicable:
    first = distributed[0].table
    assert first is not None
    if len(distributed) > 1:
        if any(r.table is not None and r.table.method in ("roundrobin",) for r in distributed):
            return NotApplicable(PUSHDOWN, "ROUNDROBIN tables cannot be joined node-locally")
        if not joined_on_distribution_columns(body, distributed, snapshot):
            return NotApplicable(PUSHDOWN, "the tables are not joined on their distribution columns")
    groups = sorted(set(first.groups))
    for r in resolved:
        if r.table is not None and r.table.method == "replication" and not set(groups) <= set(r.table.groups):
            return NotApplicable(PUSHDOWN, "a reference table is missing on some nodes")
    return groups


def joined_on_distribution_columns(body: dict[str, Any], distributed: list[Resolved],
                                   snapshot: CatalogSnapshot) -> bool:
    tables = [r.table for r in distributed if r.table is not None]
    first = tables[0]
    for t in tables[1:]:
        if not snapshot.colocated(first, t):
            return False
    names = {}
    for r in distributed:
        assert r.table is not None
        names[r.ref.alias or r.ref.name] = r.table.column
    linked = {next(iter(names))}
    pairs = analyze.equi_join_pairs(body)
    changed = True
    while changed:
        changed = False
        for left, right in pairs:
            if len(left) < 2 or len(right) < 2:
                continue
            lt, lc = left[-2], left[-1]
            rt, rc = right[-2], right[-1]
            if names.get(lt) == lc and names.get(rt) == rc:
                if lt in linked and rt not in linked:
                    linked.add(rt)
                    changed = True
                elif rt in linked and lt not in linked:
                    linked.add(lt)
                    changed = True
    return linked == set(names)


def _pushable_with_subqueries(body: dict[str, Any], resolved: list[Resolved], distributed: list[Resolved],
                              nested: list[tuple[dict[str, Any], set[int]]],
                              snapshot: CatalogSnapshot) -> list[str] | NotApplicable:
    """A statement reading a row-local subquery of its FROM (a view inlined, mostly): each
    node answers for its own rows when every sharded table is inside that one subquery,
    colocated and joined there as a statement of its own would need, and the tables outside
    are reference tables (the subquery's distribution column is not followed through it)."""
    holding = [(sub, locs) for sub, locs in nested if any(r.ref.location in locs for r in distributed)]
    if len(holding) != 1 or not all(r.ref.location in holding[0][1] for r in distributed):
        return NotApplicable(PUSHDOWN, "sharded tables inside and outside a subquery in FROM")
    sub, locations = holding[0]
    inner = [r for r in resolved if r.ref.location in locations]
    if _has_outer_join_with_reference_nullable(body, resolved) or _has_outer_join_with_reference_nullable(sub, inner):
        return NotApplicable(PUSHDOWN, "an outer join whose nullable side is a reference table")
    if _outer_joined_subquery(body):
        return NotApplicable(PUSHDOWN, "an outer join around a subquery in FROM")
    return _colocated_groups(sub, resolved, distributed, snapshot)


def row_local_subqueries(body: dict[str, Any], aggregates: frozenset[str] = BUILTIN_AGGREGATES,
                         ) -> list[tuple[dict[str, Any], set[int]]] | None:
    """The subqueries of the statement's own FROM, each with the text locations of its
    tables, when every one is row-local: a plain SELECT over tables (no aggregate, GROUP
    BY, DISTINCT, window, LIMIT, set operation, CTE, VALUES, function or subquery of its
    own), so that each node's rows of it come from that node's rows alone. None: another
    subquery is in FROM. (Functions and VALUES in FROM are the other strategies' matter.)"""
    out = []
    stack: list[Any] = [*(body.get("fromClause") or [])]
    while stack:
        node = stack.pop()
        if "JoinExpr" in node:
            stack += [node["JoinExpr"]["larg"], node["JoinExpr"]["rarg"]]
        elif "RangeSubselect" in node:
            sub = node["RangeSubselect"]["subquery"].get("SelectStmt")
            if sub is None or not _is_row_local(sub, aggregates):
                return None
            out.append((sub, {n["RangeVar"]["location"] for n in analyze._walk(sub)
                              if isinstance(n, dict) and "RangeVar" in n}))
    return out


def _is_row_local(sub: dict[str, Any], aggregates: frozenset[str]) -> bool:
    """Node-local (planner/node_local.py) with no distribution column followed through it,
    and nothing the concatenation of node results would lose (an order, locks, INTO)."""
    if any(sub.get(k) for k in ("sortClause", "lockingClause", "intoClause")):
        return False
    return not_node_local(sub, aggregates) is None and not analyze.has_node(sub, "JsonArrayAgg", "JsonObjectAgg") \
        and not any(isinstance(n, dict) and "FuncCall" in n and any(n["FuncCall"].get(k) for k in (
            "agg_star", "agg_distinct", "agg_within_group", "agg_order", "agg_filter"))
            for n in analyze._walk(sub))


def _outer_joined_subquery(body: dict[str, Any]) -> bool:
    """A subquery in FROM on either side of an outer join (kept simple: refused)."""
    for node in analyze._walk(body.get("fromClause")):
        if isinstance(node, dict) and "JoinExpr" in node and node["JoinExpr"].get("jointype", "JOIN_INNER") \
                != "JOIN_INNER" and analyze.has_node([node["JoinExpr"]["larg"], node["JoinExpr"]["rarg"]],
                                                     "RangeSubselect"):
            return True
    return False


def top_level_locations(body: dict[str, Any]) -> set[int]:
    """Text locations of the statement's own FROM items that are RangeVars (and of a DML
    target, with its FROM/USING), not of subqueries, CTE bodies or SubLinks. A FROM item
    naming a CTE is among them but is no table: callers compare the locations of the
    statement's tables with these, never their numbers (counting it as a table let a CTE's
    table pass as joined or pinned: `WITH nx AS (SELECT ... FROM t LIMIT 1) ... FROM t, nx
    WHERE t.id = 3` ran the CTE on one node)."""
    found = {body["relation"].get("location", -1)} if "relation" in body else set()
    stack: list[Any] = [*(body.get("fromClause") or []), *(body.get("usingClause") or [])]
    while stack:
        node = stack.pop()
        if "RangeVar" in node:
            found.add(node["RangeVar"].get("location", -1))
        elif "JoinExpr" in node:
            stack.append(node["JoinExpr"]["larg"])
            stack.append(node["JoinExpr"]["rarg"])
    return found


def all_top_level(body: dict[str, Any], resolved: list[Resolved], nested: AbstractSet[int] = frozenset()) -> bool:
    """Every table of the statement is one of its own FROM items (or target), or at one of
    the `nested` locations (tables of subqueries the caller follows)."""
    return {r.ref.location for r in resolved} <= top_level_locations(body) | nested


def needs_combine(body: dict[str, Any], aggregates: frozenset[str] = BUILTIN_AGGREGATES) -> str | None:
    """Why concatenating node results would be wrong, or None."""
    if body.get("groupClause") or has_aggregate(body, aggregates):
        return "aggregates or GROUP BY combine rows across nodes"
    if body.get("havingClause"):
        return "HAVING combines rows across nodes"
    if body.get("sortClause"):
        return "ORDER BY needs a merge"
    if body.get("limitCount") or body.get("limitOffset"):
        return "LIMIT/OFFSET apply to the whole result"
    if body.get("distinctClause") is not None:
        return "DISTINCT applies to the whole result"
    if body.get("windowClause") or any(
        isinstance(n, dict) and "FuncCall" in n and "over" in n["FuncCall"]
        for n in analyze._walk([body.get("targetList"), body.get("sortClause")])
    ):
        return "window functions see the whole result"
    if tableoid.has_user_sublink(body.get("targetList")) or tableoid.has_user_sublink(body.get("whereClause")):
        return "subqueries"
    if analyze.has_node(body.get("targetList"), "SetToDefault") or any(
        "nextval" in str(x) for x in [body.get("targetList")]
    ):
        return "volatile functions"
    return None


def _has_outer_join_with_reference_nullable(body: dict[str, Any], resolved: list[Resolved]) -> bool:
    """An outer join whose preserved side holds no sharded table (only reference tables,
    functions such as generate_series, VALUES) while the other side does: every node would
    keep each preserved row, NULL-extended where its own shard has no match, so the rows
    would come back once per node. Or a table the datanodes do not have at all."""
    sharded = {r.ref.location for r in resolved if r.table is not None and r.table.method != "replication"}
    local = {r.ref.location for r in resolved if r.table is None}
    for node in analyze._walk(body.get("fromClause", [])):
        if not isinstance(node, dict) or "JoinExpr" not in node:
            continue
        join = node["JoinExpr"]
        kind = join["jointype"]
        left = bool(_range_var_locations(join["larg"]) & sharded)
        right = bool(_range_var_locations(join["rarg"]) & sharded)
        if kind == "JOIN_LEFT" and right and not left:
            return True
        if kind == "JOIN_RIGHT" and left and not right:
            return True
        if kind == "JOIN_FULL" and left != right:
            return True
    return bool(local)


def _range_var_locations(node: Any) -> set[int]:
    return {n["RangeVar"]["location"] for n in analyze._walk(node) if isinstance(n, dict) and "RangeVar" in n}
