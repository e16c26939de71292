"""MERGE's INSERT actions run on the datanodes, on every MERGE path (colocated, one node,
staged): a column they leave to a sequence default would be filled from the datanode's
own copy of the sequence, values PostgreSQL never gives and the same on every node
(duplicate ids without an error, Citus's merge.sql:1647). Such a MERGE is refused (0A000);
the coordinator fills these columns from the GTM for INSERT itself."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from gridpg.errors import FEATURE_NOT_SUPPORTED, PgError
from gridpg.planner import analyze
from gridpg.sql.parse import parse_tree

if TYPE_CHECKING:
    from gridpg.executor.dispatch import Dispatcher


async def ensure_defaults_on_nodes(dispatcher: Dispatcher, sql: str) -> None:
    """Refuse a MERGE into a distributed table whose INSERT leaves a sequence-filled
    column to its default (module doc); anything else passes."""
    from gridpg.executor.run import catalog_view, search_path

    body = parse_tree(sql).get("MergeStmt")
    if not isinstance(body, dict) or not any(
            (c.get("MergeWhenClause") or {}).get("commandType") == "CMD_INSERT"
            for c in body.get("mergeWhenClauses") or []):
        return
    relation = body.get("relation") or {}
    ref = analyze.RelRef(relation.get("schemaname"), str(relation.get("relname", "")), -1, None)
    target = catalog_view(dispatcher).resolve(ref, search_path(dispatcher))
    if target is None:
        return
    columns = await dispatcher.coord.table_columns(dispatcher.runner, target)
    by_sequence = {c.name for c in columns if c.sequence or _calls_sequence(c.default)}
    if not by_sequence:
        return
    for left in sorted(_defaulted_columns(body, [c.name for c in columns]) & by_sequence):
        raise PgError(FEATURE_NOT_SUPPORTED, f'gridpg cannot run this MERGE: its INSERT leaves column "{left}" '
                      "to its sequence default, which the datanodes cannot draw from the cluster's sequence",
                      hint=f'give "{left}" a value, e.g. nextval() of its sequence in a statement of its own')


def _calls_sequence(default: str | None) -> bool:
    text = (default or "").lower()
    return any(f in text for f in ("nextval(", "currval(", "lastval("))


def _defaulted_columns(body: dict[str, Any], columns: Sequence[str]) -> set[str]:
    """Target columns an INSERT action of the MERGE leaves to their defaults."""
    out: set[str] = set()
    for clause in body.get("mergeWhenClauses") or []:
        when = clause.get("MergeWhenClause") or {}
        if when.get("commandType") != "CMD_INSERT":
            continue
        names = [(t.get("ResTarget") or {}).get("name") for t in when.get("targetList") or []]
        values = when.get("values") or []
        given = names or list(columns[:len(values)])
        out.update(c for c in columns if c not in given)
        out.update(n for n, v in zip(given, values) if "SetToDefault" in v)
    return out
