"""INSERT ... SELECT of a SELECT with no columns (`INSERT INTO t SELECT FROM
generate_series(1, 3)`): as many rows of the table's defaults as the SELECT returns.

PostgreSQL fills every column of such a row with its default. Sent down as an INSERT ...
SELECT, the SELECT's rows (empty lines in COPY text) were read as rows of the table's
first column (22P02 on an integer column, an empty string stored in a text one). The rows
are counted first, through the coordinator like any query, and the INSERT runs as
`INSERT INTO t (first column) VALUES (DEFAULT), ...` with that many rows: each default
(a serial's value from the GTM, now() pinned to the statement's instant) is then given
as for any VALUES row, and ON CONFLICT and RETURNING go with it unchanged.

A WITH of the INSERT that writes is refused (0A000): counted apart from the INSERT, it
would run twice. So is a count above `MAX_ROWS`, which would be spelled as one VALUES.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

from pglast import ast
from pglast.stream import RawStream

from gridpg.errors import FEATURE_NOT_SUPPORTED, PgError
from gridpg.pgwire import codec
from gridpg.sql.parse import ast_nodes, parse_sql

if TYPE_CHECKING:
    from gridpg.executor.dispatch import Dispatcher, ExecRequest
    from gridpg.executor.dml import TableColumn

MAX_ROWS = 100_000


def has_no_columns(body: dict[str, Any]) -> bool:
    """An INSERT without a column list whose SELECT (its leftmost branch) lists no columns."""
    select = (body.get("selectStmt") or {}).get("SelectStmt")
    if select is None or body.get("cols"):
        return False
    while select.get("larg"):
        select = select["larg"]
    return not select.get("targetList") and not select.get("valuesLists")


async def spelled_as_defaults(dispatcher: Dispatcher, request: ExecRequest,
                              columns: list[TableColumn]) -> ExecRequest:
    """The request as `INSERT INTO t (c) VALUES (DEFAULT), ...`, one row per row of its
    SELECT; its parameters inlined (the SELECT that used them is gone)."""
    from gridpg.executor.multi import inline_params
    from gridpg.executor.prepared import _capture

    sql = await inline_params(dispatcher, request, request.sql)
    stmt = parse_sql(sql)[0].stmt
    writing = (ast.InsertStmt, ast.UpdateStmt, ast.DeleteStmt, ast.MergeStmt)
    if stmt.withClause is not None and any(True for kind in writing for _ in ast_nodes(stmt.withClause, kind)):
        raise PgError(FEATURE_NOT_SUPPORTED, "gridpg cannot run INSERT ... SELECT of no columns with a WITH "
                      "entry that writes", hint="List the columns the SELECT fills, or run the write first.")
    settable = [c.name for c in columns if not c.generated]
    if not settable:
        raise PgError(FEATURE_NOT_SUPPORTED, "gridpg cannot run INSERT ... SELECT of no columns into a table "
                      "without a column it can give its default")
    counting = ast.SelectStmt(
        targetList=(ast.ResTarget(val=ast.FuncCall(funcname=(ast.String(sval="count"),), agg_star=True)),),
        fromClause=(ast.RangeSubselect(subquery=stmt.selectStmt, alias=ast.Alias(aliasname="gp_rows")),),
        withClause=stmt.withClause)
    plain = dataclasses.replace(request, simple=True, params=[], param_formats=[], param_oids=[],
                                decode_oids=[], portal=None, max_rows=0)
    _, rows = await _capture(dispatcher, plain, RawStream()(counting))
    count = int(codec.parse_data_row(rows[0][5:])[0] or b"0")
    if count > MAX_ROWS:
        raise PgError(FEATURE_NOT_SUPPORTED, f"gridpg cannot run INSERT ... SELECT of no columns for more than "
                      f"{MAX_ROWS} rows", hint="List a column the SELECT fills with DEFAULT values instead.")
    stmt.withClause = None
    stmt.cols = (ast.ResTarget(name=settable[0]),)
    if count == 0:  # (no VALUES row: a SELECT that returns none, the column's type kept)
        stmt.selectStmt = ast.SelectStmt(targetList=(ast.ResTarget(val=ast.A_Const(isnull=True)),),
                                         whereClause=ast.A_Const(val=ast.Boolean(boolval=False)))
    else:
        stmt.selectStmt = ast.SelectStmt(valuesLists=tuple((ast.SetToDefault(),) for _ in range(count)))
    return dataclasses.replace(plain, sql=RawStream()(stmt), simple=request.simple,
                               result_formats=request.result_formats, portal=request.portal,
                               max_rows=request.max_rows, client_sql=request.client_sql or request.sql)
