"""PostgreSQL's name resolution for a session's temporary tables, in the planner's search path. Pure.

A session's temp relations live in its `pg_temp` schema on its own catalog server
connection. For unqualified names PostgreSQL searches `pg_temp` first (or where
`search_path` names it explicitly). The session's temp relation names are carried inside
the search path the planner resolves with, as marker entries at `pg_temp`'s position: the
planner's caches key on the search path, so a plan made before a temp table shadowed a
distributed one is never reused after.
"""

from __future__ import annotations

from collections.abc import Iterable

MARK = "pg_temp\x00"  # not a valid schema name: no snapshot lookup can match it


def with_temp_names(path: list[str], names: Iterable[str]) -> list[str]:
    """`path` with one marker per temp relation at pg_temp's place (first unless listed)."""
    marks = [MARK + n for n in sorted(names)]
    if not marks:
        return [p for p in path if p != "pg_temp"]
    if "pg_temp" in path:
        index = path.index("pg_temp")
        return [*path[:index], *marks, *[p for p in path[index + 1:] if p != "pg_temp"]]
    return [*marks, *path]


def is_temp_schema(schema: str | None) -> bool:
    return schema is not None and (schema == "pg_temp" or schema.startswith("pg_temp_"))


def is_temp_relation(rel: dict[str, object]) -> bool:
    """A RangeVar of CREATE TABLE / CREATE TABLE AS / SELECT INTO that makes a temp table:
    TEMP, or created in `pg_temp` by name (`CREATE TABLE pg_temp.t`), which PostgreSQL makes
    temporary too (the table was distributed, and the DDL failed on the datanodes: 3F000
    schema "pg_temp_6" does not exist)."""
    schema = rel.get("schemaname")
    return rel.get("relpersistence") == "t" or is_temp_schema(schema if isinstance(schema, str) else None)


def shadows(path: list[str] | tuple[str, ...], schema: str | None, name: str) -> bool:
    """True when the reference names a session temp relation (before any schema that could
    hold a distributed table of that name is reached: the caller checks in path order)."""
    if is_temp_schema(schema):
        return True
    return schema is None and MARK + name in path


def temp_names(path: list[str] | tuple[str, ...]) -> set[str]:
    return {p[len(MARK):] for p in path if p.startswith(MARK)}
