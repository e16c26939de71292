"""Materialized views over distributed tables, as the planner sees them: their rows are a
REPLICATION table on the datanodes (executor/matview.py), so reads plan as over any
reference table; what PostgreSQL refuses on a materialized view is refused here with
PostgreSQL's error, since the datanodes' plain table would accept it. Pure."""

from __future__ import annotations

from typing import Any

from gridpg.catalog.model import CatalogSnapshot
from gridpg.errors import PgError
from gridpg.planner.pushdown import Resolved

FEATURE_NOT_SUPPORTED = "0A000"
WRONG_OBJECT_TYPE = "42809"
OBJECT_NOT_IN_PREREQUISITE_STATE = "55000"
_WRITES = {"InsertStmt", "UpdateStmt", "DeleteStmt", "MergeStmt"}


def ensure_readable(tree: dict[str, Any], kind: str, resolved: list[Resolved],
                    snapshot: CatalogSnapshot) -> None:
    """A statement over distributed materialized views: 42809 for a write into one (0A000
    for a MERGE, as PostgreSQL says) or a row lock on one, 55000 for a read of one not populated (WITH NO DATA)."""
    if not snapshot.matviews:
        return
    views = [r.table for r in resolved if r.table is not None and snapshot.is_matview(r.table)]
    if not views:
        return
    target = resolved[0].table if kind in _WRITES and resolved else None
    if target is not None and snapshot.is_matview(target):
        if kind == "MergeStmt":  # PostgreSQL's parser refuses MERGE on any such relation kind
            raise PgError(FEATURE_NOT_SUPPORTED, f'cannot execute MERGE on relation "{target.name}"',
                          detail="This operation is not supported for materialized views.")
        raise PgError(WRONG_OBJECT_TYPE, f'cannot change materialized view "{target.name}"')
    names = [t.name for t in views] + [r.ref.alias for r in resolved if r.ref.alias and r.table is not None
                                       and snapshot.is_matview(r.table)]
    locked = _locked_matview(tree, names)
    if locked is not None:
        raise PgError(WRONG_OBJECT_TYPE, f'cannot lock rows in materialized view "{locked}"')
    for table in views:
        if table.key in snapshot.unpopulated:
            raise PgError(OBJECT_NOT_IN_PREREQUISITE_STATE,
                          f'materialized view "{table.name}" has not been populated',
                          hint="Use the REFRESH MATERIALIZED VIEW command.")


def _locked_matview(node: Any, names: list[str]) -> str | None:
    """The view a FOR UPDATE/SHARE clause locks: every one when it names no relation, else
    those it names (by name or alias)."""
    if isinstance(node, list):
        return next((found for item in node if (found := _locked_matview(item, names))), None)
    if not isinstance(node, dict):
        return None
    clause = node.get("LockingClause")
    if clause is not None:
        named = [r.get("RangeVar", {}).get("relname") for r in clause.get("lockedRels") or []]
        if not named:
            return names[0]
        return next((n for n in named if n in names), None)
    return next((found for value in node.values() if (found := _locked_matview(value, names))), None)
