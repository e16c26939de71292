"""Where PostgreSQL refuses `SELECT ... INTO` inside another statement, checked before gridpg
plans it. Pure.

PostgreSQL's parse analysis refuses `INSERT INTO t SELECT 1 INTO f` and `DECLARE c CURSOR
FOR SELECT 1 INTO t` (42601, "SELECT ... INTO is not allowed here") and `COPY (SELECT 1
INTO t) TO ...` (0A000) before anything runs. gridpg's paths ran such statements half-way
first and failed elsewhere with other codes: an INSERT ... SELECT gathered through `COPY
(...) TO STDOUT` got COPY's 0A000, a DECLARE outside a block 25P01, a COPY to a server file
gridpg's 42501.
"""

from __future__ import annotations

from typing import Any

from gridpg.errors import FEATURE_NOT_SUPPORTED, SYNTAX_ERROR, PgError


def ensure_into_allowed(tree: dict[str, Any]) -> None:
    """PostgreSQL's error for a SELECT ... INTO where the statement does not allow one."""
    kind = next(iter(tree), "")
    body = tree.get(kind) or {}
    if kind == "InsertStmt":
        inner = body.get("selectStmt")
    elif kind == "DeclareCursorStmt":
        inner = body.get("query")
    elif kind == "CopyStmt":
        if _has_into((body.get("query") or {}).get("SelectStmt")):
            raise PgError(FEATURE_NOT_SUPPORTED, "COPY (SELECT INTO) is not supported")
        return
    else:
        return
    if _has_into((inner or {}).get("SelectStmt")):
        raise PgError(SYNTAX_ERROR, "SELECT ... INTO is not allowed here")


def _has_into(select: dict[str, Any] | None) -> bool:
    """An INTO clause on the SELECT or on the first leaf of its set operation (where the
    grammar puts it)."""
    while select:
        if select.get("intoClause"):
            return True
        select = select.get("larg")
    return False
