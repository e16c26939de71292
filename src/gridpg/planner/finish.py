"""Strategy 4, the coordinator finish: what no other strategy handles. Each distributed
table is gathered into a catalog temp table (a scratch placeholder) and the statement,
its table references pointed at those, runs on the catalog server. Always correct; slow
for big tables."""

from __future__ import annotations

from typing import Any

from gridpg.errors import PgError
from gridpg.planner import analyze
from gridpg.planner.plan import CoordinatorFinishPlan, GatherTable, NotApplicable, ScratchNames
from gridpg.planner.pushdown import Resolved
from gridpg.planner.text import quote, relation_span, splice
from gridpg.sql import parse as sqlparse


def coordinator_finish(sql: str, resolved: list[Resolved], reasons: tuple[NotApplicable, ...],
                       scratch: ScratchNames | None = None) -> CoordinatorFinishPlan:
    scratch = scratch or ScratchNames(sql)
    temps: dict[tuple[str, str], GatherTable] = {}
    replacements: list[tuple[int, int, str]] = []
    tokens = sqlparse.tokens(sql)
    for r in resolved:
        if r.table is None:
            continue
        key = (r.table.schema, r.table.name)
        if key not in temps:
            temp = scratch.new("gather")
            groups = r.table.groups[:1] if r.table.method == "replication" else r.table.groups
            temps[key] = GatherTable(r.table.schema, r.table.name, temp, tuple(groups))
        start, end = relation_span(sql, tokens, r.ref)
        alias = "" if r.ref.alias else f" AS {quote(r.ref.name)}"
        replacements.append((start, end, f"pg_temp.{temps[key].temp}{alias}"))
    replacements += _schema_qualified_columns(sql, tokens, set(temps))
    final = splice(sql, replacements)
    return CoordinatorFinishPlan((), False, final, tuple(temps.values()), reasons=reasons,
                                 scratch=tuple(scratch.made))


def _schema_qualified_columns(sql: str, tokens: list[Any],
                              tables: set[tuple[str, str]]) -> list[tuple[int, int, str]]:
    """`schema.table.column` references to gathered tables lose the schema (the temp table
    keeps the table's name as its alias)."""
    if not tables:
        return []
    out = []
    try:
        tree = sqlparse.parse_tree(sql)
    except PgError:
        return []
    starts = {tok.start: i for i, tok in enumerate(tokens)}
    for node in analyze._walk(tree):
        if not isinstance(node, dict) or "ColumnRef" not in node:
            continue
        names = [f.get("String", {}).get("sval") for f in node["ColumnRef"]["fields"]]
        if len(names) != 3 or (names[0], names[1]) not in tables:
            continue
        index = starts.get(node["ColumnRef"]["location"])
        if index is None or index + 2 >= len(tokens):
            continue
        out.append((tokens[index].start, tokens[index + 2].start, ""))  # drop "schema."
    return out
