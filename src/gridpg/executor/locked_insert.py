"""INSERT ... SELECT ... FOR UPDATE/SHARE over distributed tables: the locking SELECT first.

The general INSERT ... SELECT path reads the SELECT's tables through gathered copies (on
the catalog server) or runs it on each node: a locking clause there would lock a copy's
rows, or each node's own LIMIT of rows, silently. Here the SELECT (with the INSERT's WITH)
runs first as a statement of its own, planned like any other (a router, pushdown or
sorted-merge plan locks the rows where they live; what cannot lock them so is refused),
inside the statement's transaction, so its locks last until that transaction ends. Its
rows then replace it in the INSERT as typed constants (`SELECT * FROM (VALUES (CAST(...
AS type), ...), ...)`), in its order, so PostgreSQL's assignment casts, ON CONFLICT and
RETURNING apply to them as to the SELECT's own rows.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from pglast import ast
from pglast.stream import RawStream

from gridpg.errors import FEATURE_NOT_SUPPORTED, INTERNAL_ERROR, PgError
from gridpg.planner.gather import _nodes
from gridpg.sql.parse import parse_sql

if TYPE_CHECKING:
    from gridpg.executor.dispatch import Dispatcher, ExecRequest


def locks_rows(node: object) -> bool:
    """Whether a FOR UPDATE/SHARE clause is anywhere under `node` (a pglast tree)."""
    return any(s.lockingClause for s in _nodes(node, ast.SelectStmt))


def ensure_no_copied_locks(dispatcher: Dispatcher, query: ast.Node, statement: str) -> None:
    """0A000 for a query whose FOR UPDATE/SHARE would lock gathered copies of distributed
    tables' rows (COPY (query) TO and CREATE TABLE AS read them so), not the rows."""
    from gridpg.executor.run import catalog_view, search_path
    from gridpg.planner import analyze
    from gridpg.sql import parse as sqlparse

    if not locks_rows(query):
        return
    catalog, path = catalog_view(dispatcher), search_path(dispatcher)
    tree = sqlparse.parse_tree(str(RawStream()(query)))
    if any(catalog.resolve(r, path) is not None for r in analyze.relations(tree)):
        raise PgError(FEATURE_NOT_SUPPORTED, f"FOR UPDATE/SHARE in {statement} over distributed tables is not "
                      "supported by gridpg: it would lock copies of the rows",
                      hint="lock the rows with a SELECT ... FOR UPDATE of its own in the same transaction first")


async def insert_locked(dispatcher: Dispatcher, request: ExecRequest) -> None:
    """Run an INSERT ... SELECT whose SELECT locks rows (see the module docstring)."""
    from gridpg.executor.dml import insert_select_text
    from gridpg.executor.multi import inline_params
    from gridpg.executor.run import run_statement
    from gridpg.executor.subplans import capture

    stmt = parse_sql(request.sql)[0].stmt
    assert isinstance(stmt, ast.InsertStmt) and stmt.selectStmt is not None
    select_sql = insert_select_text(stmt)
    stmt.withClause = None
    stmt.selectStmt = None
    if locks_rows(stmt):
        raise PgError(FEATURE_NOT_SUPPORTED, "gridpg cannot run FOR UPDATE/SHARE in the RETURNING or ON CONFLICT "
                      "of an INSERT over distributed tables: it would lock copies of the rows")
    select_sql = await inline_params(dispatcher, request, select_sql)
    async with dispatcher.runner.statement_transaction():
        columns, rows = await capture(dispatcher, select_sql)
        types = await dispatcher.coord.type_names([c.type_oid for c in columns], dispatcher=dispatcher)
        if not all(types):
            raise PgError(INTERNAL_ERROR, "unknown type of a locking SELECT's column")
        stmt.selectStmt = parse_sql(constant_rows(rows, types))[0].stmt
        # the parameters' values in the text: one only the SELECT used would be left
        # without a type in what remains (42P18)
        text = await inline_params(dispatcher, request, str(RawStream()(stmt)))
        await run_statement(dispatcher, dataclasses.replace(request, sql=text, params=[], param_oids=[],
                                                            param_formats=[]))


def constant_rows(rows: list[list[bytes | None]], types: list[str]) -> str:
    """A SELECT of these rows (text values of these types), in their order; none: a
    SELECT of typed NULLs that returns no row."""
    from gridpg.executor.subplans import typed_literal

    if not rows:
        return f"SELECT {', '.join(typed_literal(None, t) for t in types)} WHERE false"
    values = ", ".join("(" + ", ".join(typed_literal(v, t) for v, t in zip(row, types)) + ")" for row in rows)
    return f"SELECT * FROM (VALUES {values}) AS gp_locked"
