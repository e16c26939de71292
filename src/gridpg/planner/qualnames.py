"""Column references qualified by schema and table (`s.t.col`, `s.t.*`), as SQLAlchemy
writes them for every table with a schema, made `t.col` before planning. Pure.

Strategies that do not send the statement whole to the nodes replace a relation by a
scratch or gathered copy under the relation's own name (`gridpg_shards.gp_x AS t`); a
reference `s.t.col` then names no FROM item ("invalid reference to FROM-clause entry"). For
a FROM item `s.t` without an alias, PostgreSQL resolves `t.col` to the same column (two
unaliased FROM items named `t` are an error of their own), so the schema qualifier is
dropped where the reference names such an item.
"""

from __future__ import annotations

from typing import Any

from gridpg.planner import analyze
from gridpg.sql import parse as sqlparse


def rewrite(sql: str, tree: dict[str, Any]) -> str | None:
    """`sql` without the schema of `schema.table.column` references to unaliased FROM
    items, or None when it has none."""
    qualified = {(r.schema, r.name) for r in analyze.relations(tree) if r.schema and not r.alias}
    if not qualified:
        return None
    starts = sorted({location for location, names in _three_part_refs(tree) if names in qualified})
    if not starts:
        return None
    tokens = sqlparse.tokens(sql)
    cuts = []
    for index, token in enumerate(tokens[:-2]):
        if token.start in starts and sql[tokens[index + 1].start] == ".":
            cuts.append((token.start, tokens[index + 2].start))
    out, pos = [], 0
    for start, end in cuts:
        out.append(sql[pos:start])
        pos = end
    out.append(sql[pos:])
    return "".join(out)


def _three_part_refs(node: Any) -> list[tuple[int, tuple[str, str]]]:
    """(location, (schema, table)) of every ColumnRef of three parts in the tree."""
    out: list[tuple[int, tuple[str, str]]] = []
    for item in analyze._walk(node):
        if not isinstance(item, dict) or "ColumnRef" not in item:
            continue
        ref = item["ColumnRef"]
        fields = ref.get("fields") or []
        if len(fields) != 3 or ref.get("location", -1) < 0:
            continue
        names = [f.get("String", {}).get("sval") for f in fields[:2]]
        if all(isinstance(n, str) for n in names):
            out.append((ref["location"], (names[0], names[1])))
    return out
