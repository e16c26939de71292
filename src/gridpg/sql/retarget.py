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


def referenced_rows_check(delete_sql: str, conditions: list[str]) -> str:
    """A SELECT that locks the rows `DELETE FROM t [AS a] [USING ...] WHERE ...` would
    delete (FOR UPDATE, as the DELETE does) and answers, per condition, whether one of
    them meets it; `{alias}` in a condition stands for the deleted table's alias."""
    stmt = parse_sql(delete_sql)[0].stmt
    assert isinstance(stmt, ast.DeleteStmt), delete_sql
    relation = stmt.relation
    alias = relation.alias.aliasname if relation.alias is not None else relation.relname
    if relation.alias is None:
        relation.alias = ast.Alias(aliasname=alias)
    stream = RawStream()
    items = [stream(relation), *(RawStream()(u) for u in stmt.usingClause or ())]
    where = f" WHERE {RawStream()(stmt.whereClause)}" if stmt.whereClause is not None else ""
    quoted = RawStream()(ast.ColumnRef(fields=(ast.String(sval=alias),)))
    answers = ", ".join(f"pg_catalog.bool_or({c.replace('{alias}', quoted)})" for c in conditions)
    return (f"SELECT {answers} FROM (SELECT {quoted}.* FROM {', '.join(items)}{where} "
            f"FOR UPDATE OF {quoted}) AS {quoted}")
