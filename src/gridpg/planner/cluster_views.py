"""The cluster views gridpg_stat_activity and gridpg_lock_waits, planner side: which
statements name them, and the statement with their rows put in place of the names
(commands/activity.py gathers the rows and runs it). Pure: no I/O.

An unqualified reference to a view becomes a `VALUES` subquery with the view's columns and
types, so the rest of the statement (filters, joins, ORDER BY) runs on the catalog server
unchanged; with no rows, a typed empty SELECT (also what Describe sees).
"""

from __future__ import annotations

from typing import Any

from gridpg.planner.analyze import RelRef
from gridpg.sql.quote import quote_literal

VIEWS: dict[str, tuple[tuple[str, str], ...]] = {
    "gridpg_stat_activity": (
        ("coordinator", "text"), ("gxid", "bigint"), ("node", "text"), ("pid", "integer"),
        ("kind", "text"), ("usename", "text"), ("application_name", "text"),
        ("client_addr", "text"), ("state", "text"), ("wait_event_type", "text"),
        ("wait_event", "text"), ("xact_start", "timestamptz"), ("query_start", "timestamptz"),
        ("query", "text"),
    ),
    "gridpg_lock_waits": (
        ("node", "text"), ("waiting_gxid", "bigint"), ("waiting_coordinator", "text"),
        ("waiting_pid", "integer"), ("waiting_query", "text"), ("blocking_gxid", "bigint"),
        ("blocking_coordinator", "text"), ("blocking_pid", "integer"),
        ("blocking_query", "text"), ("lock", "text"), ("waiting_since", "timestamptz"),
    ),
}


def view_refs(refs: list[RelRef]) -> list[RelRef]:
    """The references to cluster views among a statement's relations (unqualified names)."""
    return [r for r in refs if r.schema is None and r.name in VIEWS]


def describe_stand_in(sql: str, refs: list[RelRef]) -> str:
    """The statement with empty views in place, for Describe."""
    return rewrite(sql, refs, {r.name: [] for r in refs})


# -- putting rows in place -----------------------------------------------------------------


def rewrite(sql: str, refs: list[RelRef], rows: dict[str, list[list[Any]]]) -> str:
    """`sql` with each view reference replaced by a subquery of its rows (pure)."""
    pieces = []
    pos = 0
    for ref in sorted(refs, key=lambda r: r.location):
        start = ref.location
        end = _name_end(sql, start, ref.name)
        pieces.append(sql[pos:start])
        subquery = f"({values_subquery(ref.name, rows[ref.name])})"
        pieces.append(subquery if ref.alias else f"{subquery} AS {ref.name}")
        pos = end
    pieces.append(sql[pos:])
    return "".join(pieces)


def _name_end(sql: str, start: int, name: str) -> int:
    if sql[start:start + 1] == '"':
        return sql.index('"', start + 1) + 1
    return start + len(name)


def values_subquery(view: str, rows: list[list[Any]]) -> str:
    """SELECT ... FROM (VALUES ...) with the view's column names and types."""
    columns = VIEWS[view]
    select = ", ".join(f"v.c{i}::{typ} AS {col}" for i, (col, typ) in enumerate(columns))
    if not rows:
        nulls = ", ".join(f"NULL::{typ} AS {col}" for col, typ in columns)
        return f"SELECT {nulls} WHERE false"
    return f"SELECT {select} FROM {values_table(rows, len(columns))}"


def values_table(rows: list[list[Any]] | list[tuple[Any, ...]], width: int) -> str:
    """`(VALUES ...) AS v(c0, c1, ...)`: the rows' values as text literals (NULL as a
    text NULL), for the caller's casts to the columns' types."""
    names = ", ".join(f"c{i}" for i in range(width))
    values = ", ".join("(" + ", ".join(_literal(v) for v in row) + ")" for row in rows)
    return f"(VALUES {values}) AS v({names})"


def _literal(value: Any) -> str:
    if value is None:
        return "NULL::pg_catalog.text"
    return quote_literal(str(value)) + "::pg_catalog.text"
