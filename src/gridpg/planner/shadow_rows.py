"""Whole rows of shadows typed as their tables' rows, where a statement runs armed. Pure.

A SELECT that reads distributed tables itself and calls code reaching them runs whole on
the catalog server with the loopback armed (executor/routines.py): its table names reach
the tables' shadows, postgres_fdw foreign tables whose row type is not the table's. A
whole-row value of such a reference passed to a function of the table's row type, in
either spelling, `hobbies(p)` or attribute notation `p.hobbies` (misc.sql:196), then
found no function (42883, 42703). Each such use is written `(ROW(p.*)::schema.table)`:
the shadow has the table's columns, in its order, so the cast keeps every value.

`h.*` as a value (`f(h.*)`, not in a select list or ROW()) is a whole row too.
Only uses are rewritten, never FROM: postgres_fdw still gets the statement's filters.
This module must not do I/O: the caller passes each alias's table and column names.
"""

from __future__ import annotations

from collections.abc import Mapping
from collections.abc import Set as AbstractSet
from typing import Any

from pglast import ast

from gridpg.planner.text import splice
from gridpg.sql import parse as sqlparse
from gridpg.sql.quote import quote_ident, quote_qualified


def typed_whole_rows(sql: str, tables: Mapping[str, tuple[str, str]], columns: Mapping[str, AbstractSet[str]]) -> str:
    """`sql` with the whole-row uses of the references `tables` names (exposed name ->
    (schema, table)) cast to the table's row type; `columns`: each exposed name's columns.
    A one-name reference is a whole row only when no table of the statement has a column
    of that name (PostgreSQL prefers the column)."""
    if not tables:
        return sql
    stmt = sqlparse.parse_sql(sql)[0].stmt
    every_column = set().union(*columns.values()) if columns else set()
    unnamed = {id(t.val) for t in sqlparse.ast_nodes(stmt, ast.ResTarget) if t.name is None and isinstance(t.val, ast.ColumnRef)}
    # `h.*` expands to columns in a select list and in ROW(...): a whole row elsewhere
    expanded = {id(t.val) for t in sqlparse.ast_nodes(stmt, ast.ResTarget)} | {
        id(a) for r in sqlparse.ast_nodes(stmt, ast.RowExpr) for a in r.args or ()}
    tokens = sqlparse.tokens(sql)
    replacements = []
    for ref in sqlparse.ast_nodes(stmt, ast.ColumnRef):
        fields = ref.fields or ()
        if not fields or not isinstance(fields[0], ast.String) or fields[0].sval not in tables or ref.location is None:
            continue
        name = fields[0].sval
        row = f"(ROW({quote_ident(name)}.*)::{quote_qualified(*tables[name])})"
        if len(fields) == 2 and isinstance(fields[1], ast.A_Star):
            if id(ref) not in expanded:
                replacements.append((ref.location, _token_end(tokens, ref.location, 2), row))
            continue
        if not all(isinstance(f, ast.String) for f in fields):
            continue
        if len(fields) == 1 and name not in every_column:
            end = _token_end(tokens, ref.location, 0)
            label = f" AS {quote_ident(name)}" if id(ref) in unnamed else ""
            replacements.append((ref.location, end, row + label))
        elif len(fields) == 2 and fields[1].sval not in columns.get(name, set()):
            end = _token_end(tokens, ref.location, 0)  # the qualifier only: `.hobbies` stays
            replacements.append((ref.location, end, row))
    replacements += _table_type_names(stmt, tokens, tables)
    return splice(sql, replacements) if replacements else sql


def _table_type_names(stmt: Any, tokens: list[Any], tables: Mapping[str, tuple[str, str]]) -> list[tuple[int, int, str]]:
    """A type named by a distributed table's bare name (`CAST(h.* AS person)`) would find
    the shadow's type first on the armed path: it is written with the table's schema."""
    by_name: dict[str, set[tuple[str, str]]] = {}
    for schema, name in tables.values():
        by_name.setdefault(name, set()).add((schema, name))
    out = []
    for node in sqlparse.ast_nodes(stmt, ast.TypeName):
        names = node.names or ()
        if len(names) != 1 or not isinstance(names[0], ast.String) or node.location is None:
            continue
        found = by_name.get(names[0].sval, set())
        if len(found) == 1:
            out.append((node.location, _token_end(tokens, node.location, 0), quote_qualified(*next(iter(found)))))
    return out


def _token_end(tokens: list[Any], location: int, skip: int) -> int:
    """The end offset of the token starting at `location` (or `skip` tokens later)."""
    for i, tok in enumerate(tokens):
        if tok.start == location:
            return int(tokens[i + skip].end) + 1
    raise ValueError(f"no token at {location}")
