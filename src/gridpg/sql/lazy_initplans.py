"""Uncorrelated sub-selects kept lazy over the loopback's shadows.

PostgreSQL computes an uncorrelated scalar or ARRAY sub-select (an InitPlan) when a row
first needs its value: over no rows, or rows that an earlier condition already dropped,
never. Over a shadow (executor/loopback.py: a postgres_fdw foreign table reaching a
distributed table through the coordinator), postgres_fdw ships a condition comparing a
column with the sub-select's value to the remote side as a parameter, and computes every
parameter before it opens its remote cursor, rows or not: `SELECT * FROM empty WHERE a <
(SELECT nextval('s'))` drew a value that PostgreSQL never draws (the next nextval() one
higher), and `(SELECT 1/x FROM zero)` there raised 22012 where PostgreSQL answers no row.

`rewrite` wraps each such sub-select of a condition (WHERE, HAVING, JOIN ... ON, MERGE's
ON) as `CASE WHEN pg_catalog.statement_timestamp() IS NOT NULL THEN (SELECT ...) END`:
the same value and type, but a stable function that the planner does not fold and
postgres_fdw does not ship, so the condition stays on the catalog server, where it is
evaluated row by row as PostgreSQL's own executor does, the sub-select when first needed.
A sub-select that is a select list's item without a name is left as it is (its column's
name comes from it). Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from gridpg.errors import PgError
from gridpg.sql import parse as sqlparse

# Where a sub-select's value is compared row by row: a condition postgres_fdw may ship.
_CONDITIONS = ("whereClause", "havingClause", "quals", "joinCondition")
# The sub-selects computed once, as an InitPlan, when uncorrelated (EXISTS gates the whole
# plan, in PostgreSQL too; IN and ALL become joins or per-row subplans, never shipped).
_ONCE = ("EXPR_SUBLINK", "ARRAY_SUBLINK")
_OPEN = "CASE WHEN pg_catalog.statement_timestamp() IS NOT NULL THEN "
_CLOSE = " END"


def rewrite(sql: str) -> str:
    """`sql` with the sub-selects of its conditions kept lazy (module docstring); `sql`
    itself when it has none, or does not parse (PostgreSQL's own error then)."""
    if sql.lower().count("select") < 2:
        return sql
    try:
        tree = sqlparse.parse_tree(sql)
    except PgError:
        return sql
    starts = sorted({loc for loc in _condition_sublinks(tree, False)})
    if not starts:
        return sql
    toks = sqlparse.tokens(sql)
    pieces: list[tuple[int, str]] = []
    for start in starts:
        first = next((i for i, tok in enumerate(toks) if tok.start >= start), len(toks))
        close = sqlparse.closing_paren(toks, first)
        if close is None:
            return sql
        pieces += [(start, _OPEN), (toks[close].end + 1, _CLOSE)]
    out, pos = [], 0
    for at, text in sorted(pieces, key=lambda p: p[0]):
        out += [sql[pos:at], text]
        pos = at
    out.append(sql[pos:])
    return "".join(out)


def _condition_sublinks(node: Any, in_condition: bool) -> Iterator[int]:
    """The locations of the sub-selects computed once that sit in a condition, at any
    depth, but those naming a select list's column."""
    if isinstance(node, list):
        for item in node:
            yield from _condition_sublinks(item, in_condition)
        return
    if not isinstance(node, dict):
        return
    target = node.get("ResTarget")
    if isinstance(target, dict) and not target.get("name") and "SubLink" in (target.get("val") or {}):
        yield from _condition_sublinks(target["val"]["SubLink"], in_condition)  # its inside only
        return
    link = node.get("SubLink")
    if isinstance(link, dict) and in_condition and link.get("subLinkType") in _ONCE \
            and isinstance(link.get("location"), int):
        yield link["location"]
    for key, value in node.items():
        if isinstance(value, (dict, list)):
            yield from _condition_sublinks(value, in_condition or key in _CONDITIONS)
