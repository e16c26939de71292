"""Quoting of identifiers and literals for SQL that gridpg generates.

Every name or value gridpg sends to a datanode or catalog server in generated text goes
through these two functions (or pglast's deparser); nothing is pasted.
"""

from __future__ import annotations

import re

_SAFE_IDENT = re.compile(r"[a-z_][a-z0-9_]*")  # as quote_ident(): `$` is quoted too; fullmatch

# Keywords that must be quoted even when lowercase (reserved or type-like in PostgreSQL).
_RESERVED = frozenset(
    ["all", "analyse", "analyze", "and", "any", "array", "as", "asc", "asymmetric", "authorization", "binary", "both", "case", "cast", "check", "collate", "collation", "column", "concurrently", "constraint", "create", "cross", "current_catalog", "current_date", "current_role", "current_schema", "current_time", "current_timestamp", "current_user", "default", "deferrable", "desc", "distinct", "do", "else", "end", "except", "false", "fetch", "for", "foreign", "freeze", "from", "full", "grant", "group", "having", "ilike", "in", "initially", "inner", "intersect", "into", "is", "isnull", "join", "lateral", "leading", "left", "like", "limit", "localtime", "localtimestamp", "natural", "not", "notnull", "null", "offset", "on", "only", "or", "order", "outer", "overlaps", "placing", "primary", "references", "returning", "right", "select", "session_user", "similar", "some", "symmetric", "system_user", "table", "tablesample", "then", "to", "trailing", "true", "union", "unique", "user", "using", "variadic", "verbose", "when", "where", "window", "with", "between", "bigint", "bit", "boolean", "char", "character", "coalesce", "dec", "decimal", "exists", "extract", "float", "greatest", "grouping", "inout", "int", "integer", "interval", "least", "national", "nchar", "none", "normalize", "nullif", "numeric", "out", "overlay", "position", "precision", "real", "row", "setof", "smallint", "substring", "time", "timestamp", "treat", "trim", "values", "varchar", "xmlattributes", "xmlconcat", "xmlelement", "xmlexists", "xmlforest", "xmlnamespaces", "xmlparse", "xmlpi", "xmlroot", "xmlserialize", "xmltable", "json_array", "json_arrayagg", "json_exists", "json_object", "json_objectagg", "json_query", "json", "json_scalar", "json_serialize", "json_table", "json_value", "merge_action"]
)


def quote_ident(name: str) -> str:
    """An identifier as PostgreSQL's quote_ident() would write it."""
    if _SAFE_IDENT.fullmatch(name) and name not in _RESERVED:
        return name
    return '"' + name.replace('"', '""') + '"'


def quote_qualified(schema: str | None, name: str) -> str:
    if schema:
        return f"{quote_ident(schema)}.{quote_ident(name)}"
    return quote_ident(name)


def quote_literal(value: object) -> str:
    """A literal as PostgreSQL's quote_nullable() would write it (E'' when needed)."""
    if type(value) is str and "'" not in value and "\\" not in value and "\0" not in value:
        return "'" + value + "'"  # (the usual text: nothing to escape)
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    text = str(value)
    if "\0" in text:
        raise ValueError("a string literal cannot contain a NUL byte")
    escaped = text.replace("'", "''")
    if "\\" in escaped:
        return "E'" + escaped.replace("\\", "\\\\") + "'"
    return "'" + escaped + "'"


def set_config_sql(name: str, value: str | None, is_local: bool = False) -> str:
    """`SELECT pg_catalog.set_config(name, value, is_local)` with both quoted (NULL resets)."""
    text = "NULL" if value is None else quote_literal(value)
    return f"SELECT pg_catalog.set_config({quote_literal(name)}, {text}, {'true' if is_local else 'false'})"
