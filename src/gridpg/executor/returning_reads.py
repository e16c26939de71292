"""An INSERT whose RETURNING list reads a distributed table in a sub-select, run as a
data-modifying WITH.

Sent as written, the INSERT would run on the node of each inserted row and its sub-select
(`RETURNING id, (SELECT name FROM users WHERE users.id = orders.user_id)`) would read that
node's share of `users` only. PostgreSQL evaluates a RETURNING list over the rows the
write produced, with the statement's snapshot (other tables, and the written table
itself, as they were before the write), which is what a data-modifying WITH gives too:

    WITH gp_returning AS (INSERT ... RETURNING *)
    SELECT <the RETURNING list> FROM gp_returning AS orders

executor/modifying_cte.py runs that as steps (the INSERT routed as any INSERT, its rows
captured in order, then the SELECT planned over them with the cluster's planner, tables
it reads that were written frozen as they were before). The client is answered as for
the INSERT: same columns, rows in the INSERT's order, and the tag `INSERT 0 n`.

What the wrapper cannot carry is refused (0A000) before anything runs: RETURNING with
OLD/NEW (PostgreSQL 18's `RETURNING old.x` reads the row before an ON CONFLICT update,
which `RETURNING *` does not give), and a target with triggers or rules (what they write
would be stored before the sub-selects run, and seen by them).
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from pglast import ast
from pglast.enums import OnConflictAction
from pglast.stream import RawStream

from gridpg.errors import FEATURE_NOT_SUPPORTED, PgError
from gridpg.pgwire import codec
from gridpg.sql.parse import ast_nodes as nodes_of_kind
from gridpg.sql.parse import parse_sql
from gridpg.sql.quote import quote_literal, quote_qualified

if TYPE_CHECKING:
    from gridpg.catalog.model import DistTable
    from gridpg.executor.dispatch import Dispatcher, ExecRequest

_ENTRY = "gp_returning"


async def run(dispatcher: Dispatcher, request: ExecRequest, target: DistTable) -> None:
    """Run the INSERT as a data-modifying WITH, its tag the INSERT's."""
    wrapped = build_wrapped(request.sql)
    if await _may_write_elsewhere(dispatcher, target, insert_events(parse_sql(request.sql)[0].stmt)):
        raise refusal(target)
    session = dispatcher.session
    out = session.out
    mark = len(out)
    await dispatcher.run(dataclasses.replace(request, sql=wrapped, client_sql=request.client_sql or request.sql))
    if session.out is out:
        _retag(out, mark)


# pg_trigger.tgtype's event bits (TRIGGER_TYPE_INSERT, _DELETE, _UPDATE): an INSERT's
# (with an upsert's UPDATE), UPDATE's, DELETE's and MERGE's
EVENT_BITS = {"InsertStmt": 4 | 16, "UpdateStmt": 16, "DeleteStmt": 8, "MergeStmt": 4 | 8 | 16}


def insert_events(stmt: ast.InsertStmt) -> int:
    """The trigger event bits an INSERT fires: INSERT's, and UPDATE's for an upsert."""
    clause = stmt.onConflictClause
    return 4 | (16 if clause is not None and clause.action == OnConflictAction.ONCONFLICT_UPDATE else 0)


async def _may_write_elsewhere(dispatcher: Dispatcher, target: DistTable, events: int = EVENT_BITS["InsertStmt"],
                               ) -> bool:
    """Whether the target (or a partition of it) has triggers of these `events` or rules:
    what they write would be stored before the RETURNING list is read here, where
    PostgreSQL's sub-select sees the tables as they were before the statement."""
    qualified = quote_literal(quote_qualified(target.schema, target.name))
    conn = await dispatcher.runner.txn.connection(dispatcher.coord.catalog_node, wants_block=False)
    rows = await conn.query(
        # (pg_partition_tree lists nothing for a table that is not partitioned)
        f"SELECT EXISTS (SELECT FROM pg_catalog.pg_trigger WHERE NOT tgisinternal AND tgtype & {int(events)} <> 0 "
        f"AND (tgrelid = "
        f"{qualified}::pg_catalog.regclass OR tgrelid IN "
        f"(SELECT relid FROM pg_catalog.pg_partition_tree({qualified}::pg_catalog.regclass)))) "
        f"OR EXISTS (SELECT FROM pg_catalog.pg_rewrite WHERE rulename <> '_RETURN' AND ev_class = "
        f"{qualified}::pg_catalog.regclass)")
    return rows[0][0] == "t"


_SEES_WRITES = "would see what they write, where PostgreSQL's sees the tables as before the statement"


def refusal(target: DistTable, what: str = "INSERT", into: str = "into", why: str = _SEES_WRITES) -> PgError:
    """0A000 for a write with RETURNING sub-selects over distributed tables into a table
    whose triggers or rules may write while it runs."""
    return PgError(FEATURE_NOT_SUPPORTED,
                   f'{what} with a sub-select over a distributed table in its RETURNING clause {into} table '
                   f'"{target.name}", which has triggers or rules, is not supported by gridpg: the sub-select '
                   f"{why}", hint="Read the value in a statement of its own first.")


def has_returning_sub_select(sql: str, kinds: tuple[type, ...] = (ast.InsertStmt,)) -> bool:
    """A statement of `kinds` whose RETURNING list holds a sub-select that reads a relation."""
    if "returning" not in sql.lower():
        return False
    stmt = parse_sql(sql)[0].stmt
    if not isinstance(stmt, kinds) or stmt.returningClause is None:
        return False
    return any(True for link in nodes_of_kind(stmt.returningClause.exprs, ast.SubLink)
               for _ in nodes_of_kind(link, ast.RangeVar))


def build_wrapped(sql: str) -> str:
    """`WITH gp_returning AS (INSERT ... RETURNING *) SELECT <list> FROM gp_returning AS
    <target's name or alias>`, the INSERT's own WITH entries first."""
    stmt = parse_sql(sql)[0].stmt
    returning = stmt.returningClause
    if returning.options or any(isinstance(ref.fields[0], ast.String) and ref.fields[0].sval in ("old", "new")
                                for ref in nodes_of_kind(returning.exprs, ast.ColumnRef) if len(ref.fields) > 1):
        raise PgError(FEATURE_NOT_SUPPORTED,
                      "INSERT with RETURNING OLD/NEW and a sub-select over a distributed table is not "
                      "supported by gridpg", hint="Read the value in a statement of its own first.")
    relation = stmt.relation
    alias = relation.alias.aliasname if relation.alias is not None else relation.relname
    outer_with = stmt.withClause
    stmt.withClause = None
    stmt.returningClause = ast.ReturningClause(
        exprs=(ast.ResTarget(val=ast.ColumnRef(fields=(ast.A_Star(),))),))
    entry = ast.CommonTableExpr(ctename=_ENTRY, ctequery=stmt)
    ctes = (*(outer_with.ctes if outer_with is not None else ()), entry)
    select = ast.SelectStmt(
        targetList=returning.exprs,
        fromClause=(ast.RangeVar(relname=_ENTRY, inh=True, relpersistence="p", alias=ast.Alias(aliasname=alias)),),
        withClause=ast.WithClause(ctes=ctes, recursive=bool(outer_with is not None and outer_with.recursive)),
        op=ast.SelectStmt().op, limitOption=ast.SelectStmt().limitOption)
    return RawStream()(select)


def _retag(out: list[bytes], mark: int) -> None:
    """The SELECT's tag after `mark` given as the INSERT's (`INSERT 0 n`)."""
    for index in range(min(mark, len(out)), len(out)):
        message = out[index]
        if message[:1] == b"C" and message[5:12] == b"SELECT ":
            count = message[12:].rstrip(b"\0").decode()
            out[index] = codec.build_command_complete(f"INSERT 0 {count}")
