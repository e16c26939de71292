"""A DML statement's target relation replaced by another (pure: parse, change, deparse).

Used where one statement over an inheritance parent runs as one statement per member of
the tree (executor/multi.move_rows): the same WHERE, USING and RETURNING on `ONLY member`,
under the alias the statement's own references use. Must not do I/O.
"""

from __future__ import annotations

from pglast import ast, parse_sql
from pglast.stream import RawStream


def retarget_delete(sql: str, schema: str, name: str) -> str:
    """`DELETE FROM [ONLY] t [AS a] ...` as `DELETE FROM ONLY schema.name AS a ...`: the
    alias is the one written, else the table's name as written (so `t.col` in WHERE and
    `t.*` in RETURNING still resolve)."""
    stmt = parse_sql(sql)[0].stmt
    assert isinstance(stmt, ast.DeleteStmt), sql
    relation = stmt.relation
    alias = relation.alias.aliasname if relation.alias is not None else relation.relname
    stmt.relation = ast.RangeVar(schemaname=schema, relname=name, inh=False, relpersistence="p",
                                 alias=ast.Alias(aliasname=alias))
    return str(RawStream()(stmt))
