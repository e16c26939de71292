"""`ctid` as a row identity over distributed tables: refused where it would mislead. Pure.

In PostgreSQL a ctid names at most one row of a table, and applications lean on that:
`DELETE FROM t a USING t b WHERE a.ctid < b.ctid AND a.k = b.k` keeps one row per key,
`DELETE ... WHERE ctid IN (SELECT min(ctid) ... GROUP BY k)` removes duplicates, a data
editor updates `WHERE ctid = $1`. A distributed table's rows live in many shards (each a
partition on its datanode, or a copy of the table on each node), and every shard has its
own `(0,1)`: such a statement compared ctids of unrelated rows and deleted or changed
rows PostgreSQL would keep, silently. On a REPLICATION table each replica may place a row
under another ctid, so a write by ctid could change a different row on each node.

A statement over several shards that uses ctid anywhere but its top-level output (its
SELECT list, RETURNING, ORDER BY) is refused with 0A000, unless its tables are colocated
and joined on their distribution columns with ctid in no sub-select (the USING dedupe on
the key pairs rows of one shard). The output may show a ctid (as is, cast, a part of it)
but not combine the ctids of several shards, even in that join: an aggregate or window
function over it (`count(DISTINCT ctid)`, `min(ctid)`), a comparison in the SELECT list,
SELECT DISTINCT or GROUP BY with a ctid in the SELECT list, ORDER BY ctid with
LIMIT/OFFSET counted each shard's `(0,1)` as one row or kept the first rows of every
shard (40 rows gave `count(DISTINCT ctid)` 4). A statement the router sends to one shard
(`col = const`) never reaches this check, nor does server-side code, whose row-by-row
ctid path has its own handling (frontend/by_ctid.py).
"""

from __future__ import annotations

from typing import Any

from gridpg.catalog.model import CatalogSnapshot
from gridpg.errors import FEATURE_NOT_SUPPORTED, PgError
from gridpg.planner import analyze
from gridpg.planner.pushdown import Resolved, all_top_level, joined_on_distribution_columns

# Top-level parts of a statement that only shape its output.
_OUTPUT_PARTS = ("targetList", "returningList", "returningClause", "sortClause")


def ensure_no_row_identity(sql: str, body: dict[str, Any], kind: str, resolved: list[Resolved],
                           snapshot: CatalogSnapshot) -> None:
    """Refuse (0A000) a statement that identifies rows by ctid over a table whose rows
    live in several shards (or, for a write, several replicas)."""
    if "ctid" not in sql.lower():
        return
    table = next((r.table for r in resolved if r.table is not None and _has_several_row_spaces(r, kind)), None)
    if table is None:
        return
    if not combines_shown_ctids(body, kind) and (
            not uses_ctid(body, kind) or _within_one_shard(body, kind, resolved, snapshot)):
        return
    raise PgError(FEATURE_NOT_SUPPORTED,
                  f'{kind[:-4].upper()} comparing ctid over distributed table "{table.name}" is not supported '
                  "by gridpg: each shard (and each replica) numbers its rows by ctid on its own, so a ctid "
                  "does not name one row of the table",
                  hint="Identify rows by a key (the primary key, or the distribution column with another "
                       "column) instead of ctid.")


def uses_ctid(body: dict[str, Any], kind: str) -> bool:
    """Whether `body` reads ctid outside its own top-level output (a SELECT's ctid column
    list and ORDER BY are only shown; for UPDATE/DELETE the SET list counts)."""
    skip = _OUTPUT_PARTS if kind == "SelectStmt" else ("returningList", "returningClause")
    return _mentions_ctid([value for key, value in body.items() if key not in skip])


def combines_shown_ctids(body: dict[str, Any], kind: str) -> bool:
    """Whether the statement's own output does more with ctid than show it: an output
    item computes with it (aggregate, window function, comparison; a cast or a subscript
    of it only shows it), SELECT DISTINCT or GROUP BY compares the ctids it outputs, or
    ORDER BY ctid with LIMIT/OFFSET picks rows by it."""
    if kind == "SelectStmt":
        grouped = body.get("distinctClause") is not None or body.get("groupClause") is not None
        if grouped and _mentions_ctid(body.get("targetList")):  # GROUP BY 1, an output name
            return True
        limited = body.get("limitCount") is not None or body.get("limitOffset") is not None
        if limited and _mentions_ctid(body.get("sortClause")):
            return True
    parts = [body.get(key) for key in ("targetList", "returningList", "returningClause")]
    for node in analyze._walk(parts):
        if isinstance(node, dict) and isinstance(node.get("ResTarget"), dict) \
                and not _only_shown(node["ResTarget"].get("val")):
            return True
    return False


def _only_shown(value: Any) -> bool:
    """An output item that is ctid itself, cast or subscripted, or does not read ctid."""
    while isinstance(value, dict) and ("TypeCast" in value or "A_Indirection" in value):
        value = (value.get("TypeCast") or value.get("A_Indirection") or {}).get("arg")
    if isinstance(value, dict) and "ColumnRef" in value:
        return True
    return not _mentions_ctid(value)


def _mentions_ctid(tree: Any) -> bool:
    for node in analyze._walk(tree):
        if isinstance(node, dict) and isinstance(node.get("ColumnRef"), dict):
            fields = node["ColumnRef"].get("fields") or []
            last = fields[-1] if fields else {}
            if isinstance(last, dict) and (last.get("String") or {}).get("sval") == "ctid":
                return True
    return False


def _within_one_shard(body: dict[str, Any], kind: str, resolved: list[Resolved],
                      snapshot: CatalogSnapshot) -> bool:
    """Whether every ctid the statement compares comes from rows of one shard: colocated
    tables joined on their distribution columns at the top level, ctid used in no
    sub-select (`a.ctid < b.ctid AND a.id = b.id` pairs rows of one key, hence one shard)."""
    if len(resolved) < 2 or any(r.table is None or r.table.method == "replication" for r in resolved):
        return False
    if not all_top_level(body, resolved) or not joined_on_distribution_columns(body, resolved, snapshot):
        return False
    skip = _OUTPUT_PARTS if kind == "SelectStmt" else ("returningList", "returningClause")
    for node in analyze._walk([value for key, value in body.items() if key not in skip]):
        if isinstance(node, dict) and "SubLink" in node and uses_ctid(node["SubLink"], "SubLink"):
            return False
    return True


def _has_several_row_spaces(r: Resolved, kind: str) -> bool:
    table = r.table
    assert table is not None
    if table.method == "replication":
        return kind != "SelectStmt" and len(table.groups) > 1
    return len(table.groups) > 1 or (table.shard_count or 1) > 1
