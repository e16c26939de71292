"""ONLY over the loopback's shadows: the remote names that carry it, read back here.

A shadow (executor/loopback.py) is a postgres_fdw foreign table whose remote table is the
distributed table of its name. postgres_fdw never writes ONLY into the statements it
sends, so `SELECT ... FROM ONLY parent` (or `UPDATE ONLY parent`) in server-side code read
and wrote the parent's inheritance children too, silently. The shadow of a table that has
inheritance children is therefore made of two foreign tables on the catalog server:

* the shadow itself, whose remote schema is `ONLY_MARK + schema`: its rows are the
  table's own (`ONLY schema.table`);
* one child of it (`INHERITS`, in the schema `CHILDREN_SCHEMA_PREFIX + schema oid`), whose
  remote schema is `CHILDREN_MARK + schema`: the rows of the table's descendants
  (`schema.table` whose `tableoid` is not the table's).

PostgreSQL on the catalog server expands inheritance itself: `FROM parent` scans both,
`FROM ONLY parent` the shadow alone. The coordinator's side of the loopback
(frontend/loopback.py) reads the markers back with `rewrite` before planning the
statement. Pure: no I/O.
"""

from __future__ import annotations

from typing import Any

from pglast import ast
from pglast.stream import RawStream
from pglast.visitors import Visitor

from gridpg.errors import FEATURE_NOT_SUPPORTED, PgError
from gridpg.sql import parse as sqlparse
from gridpg.sql.quote import quote_literal, quote_qualified

ONLY_MARK = "gridpg_only:"
CHILDREN_MARK = "gridpg_children:"
CHILDREN_SCHEMA_PREFIX = "gridpg_lb_c"


def has_marks(sql: str) -> bool:
    """Whether `sql` names a shadow's marked remote table (cheap, before parsing)."""
    return ONLY_MARK in sql or CHILDREN_MARK in sql


def rewrite(sql: str) -> str:
    """postgres_fdw's statement with the marked names read back: `ONLY schema.t` for the
    shadow's own rows, a sub-select (or, for an UPDATE/DELETE target, a condition) on
    `tableoid` for its children's rows. Text without marks is returned unchanged."""
    if not has_marks(sql):
        return sql
    statements = sqlparse.parse_sql(sql)
    out = []
    for raw in statements:
        stmt = raw.stmt
        if isinstance(stmt, ast.TruncateStmt):
            _truncated(stmt)
        _Marks()(stmt)
        if isinstance(stmt, (ast.UpdateStmt, ast.DeleteStmt)):
            _children_target(stmt)
        _ChildrenScanned()(stmt)
        _Children()(stmt)
        out.append(RawStream()(stmt))
    return "; ".join(out)


def _read_mark(schema: str | None) -> tuple[str, str] | None:
    """(mark, real schema) of a marked schema name, else None."""
    for mark in (ONLY_MARK, CHILDREN_MARK):
        if schema is not None and schema.startswith(mark):
            return mark, schema[len(mark):]
    return None


class _Marks(Visitor):  # type: ignore[misc]
    """The shadow's own rows: `"gridpg_only:s".t` becomes `ONLY s.t` (an INSERT's target
    simply `s.t`: an INSERT writes the table named, never its children)."""

    def visit_RangeVar(self, ancestors: Any, node: ast.RangeVar) -> None:
        marked = _read_mark(node.schemaname)
        if marked is None or marked[0] != ONLY_MARK:
            return
        node.schemaname = marked[1]
        if not isinstance(self.root, (ast.InsertStmt, ast.TruncateStmt)):
            node.inh = False


def _truncated(stmt: ast.TruncateStmt) -> None:
    """postgres_fdw's TRUNCATE, which writes no ONLY: `TRUNCATE parent` lists the children's
    foreign table beside the shadow (PostgreSQL adds it), `TRUNCATE ONLY parent` the shadow
    alone. The shadow's table is truncated with its children in the first case (the
    children's entry dropped), under ONLY in the second."""
    marks = [(r, _read_mark(r.schemaname)) for r in stmt.relations]
    children = {(m[1], r.relname) for r, m in marks if m is not None and m[0] == CHILDREN_MARK}
    own = {(m[1], r.relname) for r, m in marks if m is not None and m[0] == ONLY_MARK}
    if not children <= own:
        raise PgError(FEATURE_NOT_SUPPORTED, "gridpg cannot truncate the inheritance children of a table "
                      "through the loopback without the table itself")
    for relation, marked in marks:
        if marked is not None and marked[0] == ONLY_MARK:
            relation.inh = (marked[1], relation.relname) in children
    stmt.relations = tuple(r for r, m in marks if m is None or m[0] != CHILDREN_MARK)


def _children_target(stmt: ast.UpdateStmt | ast.DeleteStmt) -> None:
    """An UPDATE or DELETE of the children's foreign table: of `s.t`, the rows whose
    `tableoid` is not t's own."""
    target = stmt.relation
    marked = _read_mark(target.schemaname)
    if marked is None or marked[0] != CHILDREN_MARK:
        return
    target.schemaname = marked[1]
    if _is_by_row_number(stmt.whereClause):
        return  # the row number names the row (frontend/by_ctid.py), read with the condition
    _and_not_own_rows(stmt, target, marked[1])


def _and_not_own_rows(stmt: Any, relation: ast.RangeVar, schema: str) -> None:
    """`stmt`'s WHERE with `relation.tableoid <> 'schema.relation'::regclass` ANDed in."""
    qualifier = relation.alias.aliasname if relation.alias is not None else relation.relname
    condition = _not_own_rows(qualifier, schema, relation.relname)
    stmt.whereClause = condition if stmt.whereClause is None else ast.BoolExpr(
        boolop=0, args=(condition, stmt.whereClause))  # 0: AND_EXPR


def _is_by_row_number(where: Any) -> bool:
    """`WHERE ctid = $1`: postgres_fdw's UPDATE or DELETE of one row it read before."""
    return (isinstance(where, ast.A_Expr) and isinstance(where.lexpr, ast.ColumnRef)
            and isinstance(where.rexpr, ast.ParamRef) and getattr(where.lexpr.fields[-1], "sval", None) == "ctid")


class _ChildrenScanned(Visitor):  # type: ignore[misc]
    """The children's rows scanned alone (the only way postgres_fdw reads them: a scan
    under the inheritance parent's Append, never inside a join it pushes down), the
    `ctid` and `FOR UPDATE` of its row-by-row writes included: `FROM s.t WHERE t.tableoid
    <> 's.t'::regclass AND ...`."""

    def visit_SelectStmt(self, _ancestors: Any, node: ast.SelectStmt) -> None:
        for item in node.fromClause or ():
            marked = _read_mark(getattr(item, "schemaname", None)) if isinstance(item, ast.RangeVar) else None
            if marked is not None and marked[0] == CHILDREN_MARK:
                item.schemaname = marked[1]
                _and_not_own_rows(node, item, marked[1])


class _Children(Visitor):  # type: ignore[misc]
    """The children's rows read: `"gridpg_children:s".t r1` becomes `(SELECT * FROM s.t
    WHERE tableoid <> 's.t'::regclass) r1`."""

    def visit_RangeVar(self, ancestors: Any, node: ast.RangeVar) -> Any:
        marked = _read_mark(node.schemaname)
        if marked is None:
            return None
        if isinstance(self.root, (ast.InsertStmt, ast.TruncateStmt)):
            raise PgError(FEATURE_NOT_SUPPORTED, "gridpg cannot run this statement of server-side code over "
                          f'the inheritance children of "{node.relname}" through the loopback')
        name = quote_qualified(marked[1], node.relname)
        alias = node.alias.aliasname if node.alias is not None else node.relname
        text = (f"SELECT * FROM {name} WHERE {_qualified('tableoid', None)} "
                f"<> {quote_literal(name)}::pg_catalog.regclass")
        query = sqlparse.parse_sql(text)[0].stmt
        return ast.RangeSubselect(lateral=False, subquery=query, alias=ast.Alias(aliasname=alias))


def _not_own_rows(qualifier: str, schema: str, table: str) -> Any:
    """`qualifier.tableoid <> 'schema.table'::regclass` as an expression node."""
    name = quote_qualified(schema, table)
    text = (f"SELECT WHERE {_qualified('tableoid', qualifier)} "
            f"<> {quote_literal(name)}::pg_catalog.regclass")
    return sqlparse.parse_sql(text)[0].stmt.whereClause


def _qualified(column: str, qualifier: str | None) -> str:
    from gridpg.sql.quote import quote_ident

    return column if qualifier is None else f"{quote_ident(qualifier)}.{column}"
