"""Function calls gridpg answers itself: `create_distributed_table()` and
`create_reference_table()` (commands/redistribute.py runs them), `gridpg_recover_prepared()`
(commands/cluster_ops.py) and `nextval()`, `currval()`, `setval()` answered from the GTM
(commands/sequences.py). Recognised here, from the parse tree. Pure."""

from __future__ import annotations

import re
from collections.abc import Collection
from typing import Any

from gridpg.planner.analyze import _walk, value_of
from gridpg.sql.parse import tokens
from gridpg.sql.quote import quote_ident

DISTRIBUTION_FUNCTIONS = ("create_distributed_table", "create_reference_table", "undistribute_table",
                          "alter_distributed_table")
SEQUENCE_FUNCTIONS = ("nextval", "currval", "setval", "lastval")
# unqualified, no FROM/WHERE; gridpg_switch_placement is a shard move's switch (commands/placement.py)
CLUSTER_FUNCTIONS = ("gridpg_recover_prepared", "gridpg_switch_placement")
_RESULT_TYPES = {"gridpg_recover_prepared": "integer", "gridpg_switch_placement": "text"}


# the name of a call list: `SELECT undistribute_table('t'), create_distributed_table('t', 'a')`
SEVERAL = "*"


def function_call(tree: dict[str, Any]) -> tuple[str, list[Any]] | None:
    """(name, argument nodes) when the statement is `SELECT create_..._table(...)`; for
    several distribution calls in one target list (Citus runs them in order, in one
    transaction), (SEVERAL, [(name, argument nodes), ...])."""
    body = tree.get("SelectStmt")
    targets = (body or {}).get("targetList") or []
    if body is None or body.get("fromClause") or not targets:
        return None
    calls = [t["ResTarget"].get("val", {}).get("FuncCall") for t in targets]
    if any(call is None for call in calls):
        return None
    named = [([n["String"]["sval"] for n in call["funcname"] if "String" in n], call) for call in calls]
    if len(named) == 1 and named[0][0][-1] in CLUSTER_FUNCTIONS and len(named[0][0]) == 1 \
            and not _has_clauses(body):
        return named[0][0][-1], calls[0].get("args", [])
    if not all(_is_distribution_function(names) for names, _ in named):
        return None
    if len(named) == 1:
        return named[0][0][-1], calls[0].get("args", [])
    if _has_clauses(body) or body.get("sortClause") or body.get("limitCount"):
        return None
    return SEVERAL, [(names[-1], call.get("args", [])) for names, call in named]


def _is_distribution_function(names: list[str]) -> bool:
    return names[-1] in DISTRIBUTION_FUNCTIONS and (
        len(names) == 1 or (len(names) == 2 and names[0] in ("citus", "pg_catalog", "public")))


def _has_clauses(body: dict[str, Any]) -> bool:
    return any(body.get(k) for k in ("whereClause", "groupClause", "withClause", "havingClause"))


def describe_stand_in(name: str, sql: str, names: list[str] | None = None) -> str:
    """What Describe answers for these calls (the functions exist only in the coordinator);
    `names`: the functions of a SEVERAL call list, one column each."""
    params = sorted({sql[t.start : t.end + 1] for t in tokens(sql) if t.name == "PARAM"})
    source = ", ".join(f"{p}::text" for p in params) or "1"
    columns = ", ".join(f"CAST(NULL AS {_RESULT_TYPES.get(n, 'void')}) AS {quote_ident(n)}" for n in names or [name])
    return f"SELECT {columns} FROM (SELECT {source}) s"


def sequence_call(tree: dict[str, Any]) -> tuple[str, str, list[Any]] | None:
    """How a SELECT without FROM that calls sequence functions is answered (by
    commands/sequences.py): (function, output column, arguments) for one call as the whole
    target list, else ("*", "", [tree]), each call then replaced by its value; None for
    any other statement."""
    body = tree.get("SelectStmt")
    if body is None or not without_from(body):
        return None
    calls = sequence_calls(body.get("targetList", []))
    if not calls:
        return None
    targets = body.get("targetList", [])
    if len(targets) == 1:
        target = targets[0]["ResTarget"]
        call = target.get("val", {}).get("FuncCall")
        if call is not None and not call.get("over") and not call.get("agg_distinct") \
                and all(value_of(a) is not None for a in call.get("args", [])):
            name = calls[0][1]
            return name, target.get("name") or name, call.get("args", [])
    return "*", "", [tree]


_FROM_KEYS = ("fromClause", "whereClause", "groupClause", "havingClause", "sortClause",
              "limitCount", "withClause", "valuesLists", "larg")


def without_from(body: dict[str, Any]) -> bool:
    """A plain target list: one row, each call evaluated once."""
    return not any(body.get(k) for k in _FROM_KEYS) and body.get("op", "SETOP_NONE") == "SETOP_NONE"


_VAL_CALL = re.compile(r"val\s*(\(|/\*|--)")


def may_call_sequence(lowered: str) -> bool:
    """A cheap test of a statement's text (lower case) before it is parsed: whether it may
    call nextval / currval / setval / lastval, however the name and its parenthesis are
    spaced (`setval\n(`, `setval /* reset */ (`: a blank or a comment there made the
    statement's calls go unserved, to a datanode's own copy of the sequence)."""
    return _VAL_CALL.search(lowered) is not None


def mentions_sequence_call(text: str | None) -> bool:
    """Whether an expression's text (a column default as pg_get_expr prints it) calls a
    sequence function: a cheap test before anything is parsed."""
    lowered = (text or "").lower()
    return any(f"{name}(" in lowered for name in SEQUENCE_FUNCTIONS)


def sequence_calls(tree: Any) -> list[tuple[int, str, list[Any]]]:
    """(location, function, arguments) of every sequence function call in `tree`."""
    return named_calls(tree, SEQUENCE_FUNCTIONS)


def named_calls(tree: Any, functions: Collection[str]) -> list[tuple[int, str, list[Any]]]:
    """(location, function, arguments) of every call in `tree` of one of `functions`,
    written without a schema or with pg_catalog."""
    out = []
    for node in _walk(tree):
        call = node.get("FuncCall") if isinstance(node, dict) else None
        if call is None:
            continue
        names = [n["String"]["sval"] for n in call.get("funcname", []) if "String" in n]
        if names and names[-1] in functions and (len(names) == 1 or names[0] == "pg_catalog"):
            out.append((int(call.get("location", 0)), names[-1], call.get("args", [])))
    return out
