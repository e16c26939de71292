"""The one criterion of node-local sub-selects: a CTE body or a sub-select of FROM/USING
whose rows each datanode can produce from its own rows alone, so that the statement around
it may run on every node with the sub-select inside. Pure.

Citus's rule (`SafeToPushdownUnionSubquery`, `DeferErrorIfCannotPushdownSubquery` in its
`query_pushdown_planning.c`) and Postgres-XL's (a subquery is shippable only when its
result does not depend on rows of other nodes): a sub-select is node-local when nothing in
it looks at rows of more than one distribution value at once. So, at its own level:

- no LIMIT, OFFSET or FETCH FIRST (WITH TIES too): they pick rows out of the whole result;
- no aggregate, HAVING or GROUP BY unless the GROUP BY holds a distribution column (each
  group then lives on one node);
- no DISTINCT unless its list (the target list for plain DISTINCT) holds a distribution
  column, likewise DISTINCT ON;
- no window function unless its PARTITION BY holds a distribution column;
- no set operation, WITH, VALUES, sub-select, SubLink or function in FROM of its own
  (nested levels are not followed: such a sub-select is planned another way);
- no GROUPING SETS.

Volatile functions are per row inside a node-local sub-select (each row is on one node and
evaluated there once), as in PostgreSQL. They matter where a sub-select runs whole on every
node (a statement broadcast over copies, an uncorrelated SubLink): each node would draw its
own value. `volatile_subselect` finds those for its callers to refuse.

`keys` are the column references (qualified and unqualified) that name a distribution
column of the sub-select's distributed tables (`key_columns`): without them, the rules
above refuse every GROUP BY, DISTINCT and window."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from gridpg.catalog.model import BUILTIN_AGGREGATES
from gridpg.planner import analyze

Key = tuple[str, ...]

# Built-in functions whose every call may give another value (PostgreSQL's provolatile 'v'
# among those a query calls for a value); user functions are not known to the planner.
VOLATILE_BUILTINS = frozenset({
    "random", "random_normal", "setseed", "gen_random_uuid", "uuidv4", "uuidv7",
    "clock_timestamp", "timeofday", "nextval", "setval",
})


def not_node_local(sub: dict[str, Any], aggregates: frozenset[str] = BUILTIN_AGGREGATES,
                   keys: frozenset[Key] = frozenset()) -> str | None:
    """Why the SELECT body `sub` is not node-local, or None when it is."""
    if sub.get("op", "SETOP_NONE") != "SETOP_NONE":
        return "a set operation"
    if sub.get("withClause"):
        return "a WITH clause of its own"
    if sub.get("valuesLists"):
        return "VALUES"
    if sub.get("limitCount") or sub.get("limitOffset"):
        return "LIMIT/OFFSET/FETCH pick rows of the whole result"
    if analyze.has_node(sub, "SubLink", "RangeSubselect", "RangeFunction", "RangeTableFunc", "JsonTable"):
        return "a sub-select or function of its own"
    if analyze.has_node(sub, "GroupingSet", "GroupingFunc") or sub.get("groupDistinct"):
        return "GROUPING SETS"
    grouped = _holds_key(sub.get("groupClause"), keys)
    if sub.get("groupClause") and not grouped:
        return "GROUP BY without a distribution column"
    if (sub.get("havingClause") or has_aggregate(sub, aggregates)) and not grouped:
        return "aggregates over the rows of every node"
    distinct = sub.get("distinctClause")
    if distinct is not None:
        listed = [t.get("ResTarget", {}).get("val") for t in sub.get("targetList", [])] \
            if distinct == [{}] else distinct
        if not _holds_key(listed, keys):
            return "DISTINCT without a distribution column"
    windows = {w["WindowDef"].get("name"): w["WindowDef"] for w in sub.get("windowClause") or []
               if "WindowDef" in w}
    for node in analyze._walk(sub.get("targetList")):
        over = _window_of(node)
        if over is not None and not _holds_key(_partition_of(over, windows), keys):
            return "a window function not partitioned by a distribution column"
    return None


def _window_of(node: Any) -> dict[str, Any] | None:
    """The OVER clause of a window call: a function's, or JSON_ARRAYAGG's / JSON_OBJECTAGG's
    (parse nodes of their own, the clause in their constructor)."""
    if not isinstance(node, dict):
        return None
    if "FuncCall" in node:
        return node["FuncCall"].get("over")
    for kind in ("JsonArrayAgg", "JsonObjectAgg"):
        if kind in node:
            return (node[kind].get("constructor") or {}).get("over")
    return None


def _partition_of(over: dict[str, Any], windows: dict[str | None, dict[str, Any]]) -> list[Any]:
    """The PARTITION BY of an OVER clause, through a named window it refers to."""
    seen = 0
    while not over.get("partitionClause") and (over.get("refname") or over.get("name")) and seen < 10:
        named = windows.get(over.get("refname") or over.get("name"))
        if named is None or named is over:
            break
        over, seen = named, seen + 1
    return over.get("partitionClause") or []


def _holds_key(exprs: Iterable[Any] | None, keys: frozenset[Key]) -> bool:
    for expr in exprs or ():
        ref = analyze.column_ref(expr) if isinstance(expr, dict) else None
        if ref is not None and ref[-2:] in keys:
            return True
    return False


def key_columns(tables: Iterable[tuple[str, str]]) -> frozenset[Key]:
    """The references naming a distribution column, from (name in FROM, column) pairs."""
    out: set[Key] = set()
    for name, column in tables:
        out.add((name, column))
        out.add((column,))
    return frozenset(out)


def output_keys(sub: dict[str, Any], keys: frozenset[Key], colnames: list[str] | None = None) -> set[str]:
    """The output names of `sub` that pass a distribution column through unchanged (a bare
    column reference or a star), renamed by `colnames` (a CTE's or an alias's column list)."""
    out: set[str] = set()
    position = 0
    for item in sub.get("targetList") or []:
        target = item.get("ResTarget", {})
        fields = target.get("val", {}).get("ColumnRef", {}).get("fields", [])
        if fields and "A_Star" in fields[-1]:
            if colnames:
                return out  # the positions after a star are not known here
            owner = [f.get("String", {}).get("sval") for f in fields[:-1]]
            out |= {k[-1] for k in keys if len(k) == 2 and (not owner or owner[-1] == k[0])}
            continue
        ref = analyze.column_ref(target.get("val", {}))
        if ref is not None and ref[-2:] in keys:
            name = target.get("name") or ref[-1]
            out.add(colnames[position] if colnames and position < len(colnames) else name)
        position += 1
    return out


def volatile_subselect(tree: Any) -> bool:
    """A call of a volatile built-in inside a sub-select (SubLink, sub-select of FROM, CTE
    body) of `tree`: evaluated once in PostgreSQL, once per node when run on every node."""
    for node in analyze._walk(tree):
        if not isinstance(node, dict):
            continue
        inner = (node.get("SubLink", {}).get("subselect") if "SubLink" in node
                 else node.get("RangeSubselect", {}).get("subquery") if "RangeSubselect" in node
                 else node.get("CommonTableExpr", {}).get("ctequery") if "CommonTableExpr" in node
                 else None)
        if inner is not None and calls_volatile(inner):
            return True
    return False


def calls_volatile(tree: Any) -> bool:
    for node in analyze._walk(tree):
        if isinstance(node, dict) and "FuncCall" in node:
            names = [n["String"]["sval"] for n in node["FuncCall"]["funcname"] if "String" in n]
            if names and names[-1].lower() in VOLATILE_BUILTINS and names[0] in ("pg_catalog", names[-1]):
                return True
    return False


def has_aggregate(body: dict[str, Any], aggregates: frozenset[str] = BUILTIN_AGGREGATES) -> bool:
    """An aggregate call (not a window) in the target list, HAVING or ORDER BY; `aggregates`
    names every aggregate function of the catalog (user-defined ones included)."""
    for node in analyze._walk([body.get("targetList"), body.get("havingClause"), body.get("sortClause")]):
        if isinstance(node, dict) and ("JsonArrayAgg" in node or "JsonObjectAgg" in node):
            return True  # JSON_ARRAYAGG / JSON_OBJECTAGG (also as windows) see every row
        if isinstance(node, dict) and "FuncCall" in node and "over" not in node["FuncCall"]:
            call = node["FuncCall"]
            names = [n["String"]["sval"] for n in call["funcname"] if "String" in n]
            if call.get("agg_star") or call.get("agg_distinct") or call.get("agg_within_group") \
                    or call.get("agg_order") or call.get("agg_filter"):
                return True
            if names and names[-1].lower() in aggregates:
                return True
    return False
