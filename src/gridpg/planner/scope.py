"""Which FROM-clause names a qualified column reference may use: PostgreSQL's rule that an
aliased join hides the tables inside it. Pure.

`SELECT * FROM (a JOIN b USING (k)) AS x WHERE a.col = 1` is refused by PostgreSQL
(42P01, "invalid reference to FROM-clause entry for table "a""): outside the join only
`x` names it. The strategies that rewrite a statement (broadcast, coordinator finish)
replace or move the tables and would answer it, so the planner checks the rule first.

Only this one case is decided here: a qualified reference whose first name is hidden at
its own level and at every enclosing level (PostgreSQL's own error). A name found nowhere
is left alone (a composite column's field, or an error the node or the catalog server
reports itself).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from gridpg.errors import UNDEFINED_TABLE, PgError

Tree = dict[str, Any]
# the clauses of a query level that see its FROM list (the FROM list's own ON clauses see
# only their join's inputs and are not checked)
_LEVEL_CLAUSES = ("targetList", "whereClause", "groupClause", "havingClause", "sortClause",
                  "windowClause", "distinctClause", "returningList", "returningClause")


@dataclass
class _Level:
    visible: set[str] = field(default_factory=set)
    hidden: set[str] = field(default_factory=set)


def ensure_references_visible(tree: Any) -> None:
    """Raise PostgreSQL's 42P01 for a column qualified by a table an aliased join hides."""
    _walk(tree, [])


def _walk(node: Any, stack: list[_Level]) -> None:
    if isinstance(node, list):
        for item in node:
            _walk(item, stack)
        return
    if not isinstance(node, dict):
        return
    for kind in ("SelectStmt", "UpdateStmt", "DeleteStmt"):
        if kind in node:
            _query_level(node[kind], stack)
            return
    if "ColumnRef" in node:
        _check_ref(node["ColumnRef"], stack)
        return
    for value in node.values():
        _walk(value, stack)


def _query_level(body: Tree, stack: list[_Level]) -> None:
    """One SELECT/UPDATE/DELETE: its FROM names, then its clauses and subqueries."""
    _walk(body.get("withClause"), stack)
    for side in ("larg", "rarg"):  # UNION/INTERSECT/EXCEPT: each arm is a level of its own
        if body.get(side):
            _query_level(body[side], stack)
    level = _Level()
    items = list(body.get("fromClause") or []) + list(body.get("usingClause") or [])
    if body.get("relation"):
        items.append(body["relation"])
    for item in items:
        _from_item(item, level, stack)
    inner = [*stack, level]
    for clause in _LEVEL_CLAUSES:
        _walk(body.get(clause), inner)
    _walk(body.get("valuesLists"), inner)


def _from_item(item: Any, level: _Level, stack: list[_Level], hidden: bool = False) -> None:
    """Record the names a FROM item makes visible (or hidden, inside an aliased join)."""
    names = level.hidden if hidden else level.visible
    if not isinstance(item, dict):
        return
    if "RangeVar" in item:
        rv = item["RangeVar"]
        names.add((rv.get("alias") or {}).get("aliasname") or rv["relname"])
    elif "JoinExpr" in item:
        join = item["JoinExpr"]
        alias = (join.get("alias") or {}).get("aliasname")
        if alias:
            names.add(alias)
        for side in ("larg", "rarg"):
            _from_item(join.get(side), level, stack, hidden or bool(alias))
    elif "RangeSubselect" in item:
        sub = item["RangeSubselect"]
        lateral = sub.get("lateral", False)
        _walk(sub.get("subquery"), [*stack, level] if lateral else stack)
        alias = (sub.get("alias") or {}).get("aliasname")
        if alias:
            names.add(alias)
    elif "RangeFunction" in item:
        func = item["RangeFunction"]
        alias = (func.get("alias") or {}).get("aliasname")
        names.update([alias] if alias else _function_names(func))
    else:  # TABLESAMPLE, XMLTABLE, JSON_TABLE: their alias
        for value in item.values():
            alias = (value.get("alias") or {}).get("aliasname") if isinstance(value, dict) else None
            if alias:
                names.add(alias)
            if isinstance(value, dict) and "relation" in value:
                _from_item(value["relation"], level, stack, hidden)


def _function_names(func: Tree) -> list[str]:
    """The names an unaliased function in FROM is known by (its function's name)."""
    out = []
    for entry in func.get("functions") or []:
        for call in entry.get("List", {}).get("items", []):
            name = call.get("FuncCall", {}).get("funcname") if isinstance(call, dict) else None
            if name and "String" in name[-1]:
                out.append(name[-1]["String"]["sval"])
    return out


def _check_ref(ref: Tree, stack: list[_Level]) -> None:
    fields = ref.get("fields") or []
    if len(fields) < 2 or "String" not in fields[0]:
        return
    # schema.table.column: the table is the second name
    names = [f["String"]["sval"] for f in fields if "String" in f]
    table = names[1] if len(names) >= 3 else names[0]
    if any(table in level.visible for level in stack):
        return
    if any(table in level.hidden for level in stack):
        raise PgError(UNDEFINED_TABLE, f'invalid reference to FROM-clause entry for table "{table}"',
                      hint=f'There is an entry for table "{table}", but it cannot be referenced from '
                           "this part of the query.")
