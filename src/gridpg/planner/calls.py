"""Function calls gridpg answers itself: `create_distributed_table()` and
`create_reference_table()` (commands/redistribute.py runs them) and `nextval()`,
`currval()`, `setval()` answered from the GTM (commands/sequences.py). Recognised here,
from the parse tree. Pure."""

from __future__ import annotations

from typing import Any

from gridpg.sql.parse import tokens
from gridpg.sql.quote import quote_ident

DISTRIBUTION_FUNCTIONS = ("create_distributed_table", "create_reference_table")
SEQUENCE_FUNCTIONS = ("nextval", "currval", "setval")


def function_call(tree: dict[str, Any]) -> tuple[str, list[Any]] | None:
    """(name, argument nodes) when the statement is `SELECT create_..._table(...)`."""
    body = tree.get("SelectStmt")
    if body is None or body.get("fromClause") or len(body.get("targetList", [])) != 1:
        return None
    call = body["targetList"][0]["ResTarget"].get("val", {}).get("FuncCall")
    if call is None:
        return None
    names = [n["String"]["sval"] for n in call["funcname"] if "String" in n]
    if names[-1] not in DISTRIBUTION_FUNCTIONS:
        return None
    return names[-1], call.get("args", [])


def describe_stand_in(name: str, sql: str) -> str:
    """What Describe answers for these calls (the functions exist only in the coordinator)."""
    params = sorted({sql[t.start : t.end + 1] for t in tokens(sql) if t.name == "PARAM"})
    source = ", ".join(f"{p}::text" for p in params) or "1"
    return f"SELECT CAST(NULL AS void) AS {quote_ident(name)} FROM (SELECT {source}) s"


def sequence_call(tree: dict[str, Any]) -> tuple[str, str, list[Any]] | None:
    """(function, output column name, arguments) for `SELECT nextval(...) [AS x]`."""
    body = tree.get("SelectStmt")
    if body is None or len(body.get("targetList", [])) != 1:
        return None
    if any(body.get(k) for k in ("fromClause", "whereClause", "groupClause", "havingClause",
                                 "sortClause", "limitCount", "withClause", "valuesLists")):
        return None
    target = body["targetList"][0]["ResTarget"]
    call = target.get("val", {}).get("FuncCall")
    if call is None or call.get("over") or call.get("agg_distinct"):
        return None
    names = [n["String"]["sval"] for n in call["funcname"] if "String" in n]
    if names[-1] not in SEQUENCE_FUNCTIONS or (len(names) == 2 and names[0] != "pg_catalog"):
        return None
    return names[-1], target.get("name") or names[-1], call.get("args", [])
