"""Column aliases on a distributed table (`FROM orders AS o(order_no, cust)`), made a
subquery before planning. Pure.

A column alias list renames the table's columns by position: in `a AS x(k, id)` (a's
columns `id, ref`), `x.k` is a.id and `x.id` is a.ref. The strategies match column
references to a table's distribution column by name (the router's `x.id = 3`, a
colocated join's `x.id = b.id`, a grouping by it); with the list those names point at
other columns, so `WHERE x.id = 3` was routed by a value of `ref` (0 rows) and
`JOIN b ON b.id = x.id` ran node-locally as if colocated (rows missed), silently. The
planner does not know the columns' positions, so each such reference is written
`(SELECT * FROM a) AS x(k, id)`, which PostgreSQL reads alike and whose output names the
strategies already resolve through the subquery. Where that form would read otherwise
(ONLY, TABLESAMPLE, row locks, system columns of the alias) the statement is refused.
"""

from __future__ import annotations

import re
from typing import Any

from gridpg.errors import FEATURE_NOT_SUPPORTED, PgError
from gridpg.planner import analyze
from gridpg.planner.pushdown import Resolved
from gridpg.planner.text import splice
from gridpg.sql import parse as sqlparse
from gridpg.sql.quote import quote_ident

_SYSTEM_COLUMNS = re.compile(r"\b(ctid|tableoid|xmin|xmax|cmin|cmax)\b", re.IGNORECASE)


def rewrite(sql: str, tree: dict[str, Any], resolved: list[Resolved]) -> str | None:
    """`sql` with each aliased-columns reference to a distributed table made a subquery,
    or None when there is none. Raises 0A000 where the subquery would not read alike."""
    distributed = {r.ref.location for r in resolved if r.table is not None and r.table.column is not None}
    if not distributed:
        return None
    found: list[dict[str, Any]] = []
    _visit(tree, found, distributed, in_sample=False)
    if not found:
        return None
    if _SYSTEM_COLUMNS.search(sql) or analyze.has_node(tree, "lockingClause"):
        raise PgError(FEATURE_NOT_SUPPORTED, "column aliases on a distributed table together with row "
                      "locks or system columns are not supported by gridpg",
                      hint="Alias the columns in a subquery instead: (SELECT ... FROM t) AS x(a, b).")
    _ensure_no_whole_row(tree, found)
    tokens = sqlparse.tokens(sql)
    replacements = []
    for rv in found:
        end = _alias_end(sql, tokens, rv["location"])
        if end is None:
            return None
        name = quote_ident(rv["relname"])
        if rv.get("schemaname"):
            name = f"{quote_ident(rv['schemaname'])}.{name}"
        alias = rv["alias"]
        columns = ", ".join(quote_ident(c["String"]["sval"]) for c in alias["colnames"])
        replacements.append((rv["location"], end,
                             f"(SELECT * FROM {name}) AS {quote_ident(alias['aliasname'])}({columns})"))
    return splice(sql, replacements)


def _ensure_no_whole_row(tree: Any, found: list[dict[str, Any]]) -> None:
    """A whole-row reference to the alias (`row_to_json(x)`, `f(x.*)`) is of the table's
    own row type in PostgreSQL, its fields named as the table's columns; through the
    subquery it would be a record named by the alias list (`{"k": ...}` for `{"id":
    ...}`, rowtypes.sql). Refused (0A000) rather than answered with other names."""
    aliases = {rv["alias"]["aliasname"] for rv in found
               if rv["alias"]["aliasname"] not in {c["String"]["sval"] for c in rv["alias"]["colnames"]}}
    if aliases and _whole_row_of(tree, aliases, expanding=False):
        raise PgError(FEATURE_NOT_SUPPORTED, "a whole-row reference to a distributed table with column "
                      "aliases is not supported by gridpg",
                      hint="Name the columns (ROW(x.a, x.b)), or alias them in a subquery: (SELECT ... FROM t) AS x(a, b).")


def _whole_row_of(node: Any, aliases: set[str], expanding: bool) -> bool:
    """Whether `node` holds `alias` alone or `alias.*` other than as a select-list item
    (which expands to the columns, named by the alias list as in PostgreSQL)."""
    if isinstance(node, list):
        return any(_whole_row_of(item, aliases, expanding) for item in node)
    if not isinstance(node, dict):
        return False
    ref = node.get("ColumnRef")
    if isinstance(ref, dict):
        fields = ref.get("fields") or []
        first = (fields[0].get("String") or {}).get("sval") if fields else None
        return first in aliases and (len(fields) == 1 or (len(fields) == 2 and "A_Star" in fields[1]
                                                           and not expanding))
    target = node.get("ResTarget")
    if isinstance(target, dict):
        return _whole_row_of(target.get("val"), aliases, expanding=True) \
            or _whole_row_of(target.get("indirection"), aliases, expanding=False)
    return any(_whole_row_of(value, aliases, expanding=False) for value in node.values())


def _visit(node: Any, found: list[dict[str, Any]], distributed: set[int], in_sample: bool) -> None:
    if isinstance(node, list):
        for item in node:
            _visit(item, found, distributed, in_sample)
        return
    if not isinstance(node, dict):
        return
    rv = node.get("RangeVar")
    if isinstance(rv, dict):
        if (rv.get("alias") or {}).get("colnames") and rv.get("location", -1) in distributed:
            if in_sample or rv.get("inh") is not True:  # ONLY: `inh` left out (false)
                raise PgError(FEATURE_NOT_SUPPORTED, "column aliases on a distributed table with ONLY or "
                              "TABLESAMPLE are not supported by gridpg",
                              hint="Alias the columns in a subquery instead: (SELECT ... FROM t) AS x(a, b).")
            found.append(rv)
        return
    for key, value in node.items():
        _visit(value, found, distributed, in_sample or key == "RangeTableSample")


def _alias_end(sql: str, tokens: list[Any], location: int) -> int | None:
    """The offset just past the `)` closing the alias's column list of the relation at
    `location` (the first parenthesis after it: a relation name and an alias hold none)."""
    opened = False
    for token in tokens:
        if token.start < location:
            continue
        text = sql[token.start:token.end + 1]  # the scanner's end is inclusive
        if not opened:
            opened = text == "("
        elif text == ")":
            return int(token.end) + 1
    return None
