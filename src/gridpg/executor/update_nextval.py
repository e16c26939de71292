"""`UPDATE t SET col = nextval('s')` on a distributed table: each row a value of its own.

PostgreSQL calls nextval once per updated row. A datanode calling it would take values
from its own copy of the sequence, not the cluster's (the GTM's), so such an UPDATE was
refused (0A000). Here, inside the statement's transaction, on each datanode of the table:

1. the rows the UPDATE would change are read and locked: `SELECT tableoid, ctid FROM t
   WHERE <its WHERE> FOR UPDATE` (ctid names a row within one partition of one node; the
   lock keeps it there until the transaction ends);
2. the GTM gives one value per row and nextval item, row by row (node by node, in the
   order the rows were read: PostgreSQL's order of rows is its scan order, not promised);
3. `UPDATE t SET col = gp_v.v1, <the other SET items as written> FROM (SELECT unnest(oids),
   unnest(ctids), unnest(values)) AS gp_v WHERE t.tableoid = gp_v.o AND t.ctid = gp_v.c
   [RETURNING ...]`: exactly the locked rows, each with its value.

The answers are merged into one: RowDescription once, every node's rows, one command tag
with the total. Served: `col = nextval('name')` as whole SET items of an UPDATE of one hash
or modulo table without FROM, WITH, WHERE CURRENT OF or other relations in its WHERE, not
setting the distribution column, no other sequence call, and no user code the routine guard
would have to run elsewhere (the caller checks). Anything else keeps the refusal.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from gridpg.catalog.model import DistTable
from gridpg.executor.insert_nextval import _nextval_name
from gridpg.pgwire import codec
from gridpg.planner import analyze
from gridpg.planner.calls import sequence_calls
from gridpg.sql import parse as sqlparse
from gridpg.sql.quote import quote_literal

if TYPE_CHECKING:
    from gridpg.executor.dispatch import Dispatcher, ExecRequest


@dataclass(frozen=True)
class UpdateNextval:
    """A served UPDATE: its table and, per SET item position, the sequence it calls."""

    table: DistTable
    items: dict[int, str]


def served(sql: str, resolve: Any) -> UpdateNextval | None:
    """The UPDATE when this module serves it (module doc), else None. `resolve`: a RelRef
    to its DistTable (None: not distributed)."""
    try:
        tree = sqlparse.parse_tree(sql)
    except Exception:  # (the statement's own path reports its syntax)
        return None
    body = tree.get("UpdateStmt")
    if not isinstance(body, dict) or body.get("fromClause") or body.get("withClause"):
        return None
    where = body.get("whereClause")
    if analyze.has_node(where, "CurrentOfExpr") or analyze.has_node(where, "SubLink"):
        return None
    relation = body.get("relation") or {}
    refs = analyze.relations(tree)
    if len(refs) != 1:
        return None
    table = resolve(refs[0])
    if table is None or table.method == "replication" or not relation.get("inh", True):
        return None
    items: dict[int, str] = {}
    for position, target in enumerate(body.get("targetList") or []):
        res = target.get("ResTarget") or {}
        if res.get("name") == table.column:
            return None  # (the row may move between datanodes: the planner's path)
        name = _nextval_name(res.get("val") or {})
        if name is not None and not res.get("indirection"):
            items[position] = name
    if not items or len(sequence_calls(body)) != len(items):
        return None
    return UpdateNextval(table, items)


async def run(dispatcher: Dispatcher, request: ExecRequest, update: UpdateNextval) -> None:
    """Lock the rows on every node of the table, take their values from the GTM, update
    them by (tableoid, ctid), and answer the client once (module doc)."""
    from gridpg.commands.sequences import next_values, qualified_name

    runner = dispatcher.runner
    txn = runner.txn
    lock_sql, alias = _locking_select(request.sql)
    captured: list[bytes] = []
    async with runner.statement_transaction():
        found: list[tuple[str, list[tuple[str, str]]]] = []
        for group in update.table.groups:
            conn = await txn.connection(group, wants_block=True)
            await conn.settle()
            rows = await conn.query(lock_sql)
            found.append((group, [(r[0] or "", r[1] or "") for r in rows]))
        total = sum(len(rows) for _, rows in found)
        taken: dict[int, list[int]] = {}
        for position in sorted(update.items):  # left to right, as PostgreSQL calls them
            qualified = await qualified_name(dispatcher, update.items[position], "nextval")
            taken[position] = await next_values(dispatcher, qualified, total) if total else []
        start = 0
        for group, rows in found:
            if not rows and (total or group != found[0][0]):
                continue  # (no row anywhere: the first node answers, RETURNING's columns)
            values = {p: v[start:start + len(rows)] for p, v in taken.items()}
            start += len(rows)
            txn.mark_written(group)
            sql = _update_by_ctid(request.sql, alias, rows, values)
            session = dispatcher.session
            saved, session.out = session.out, []
            try:
                await dispatcher.run_on_node(group, request, writes=True, sql=sql)
                captured.extend(session.out)
            finally:
                session.out = saved
        for message in _merged(captured, total, request.simple):
            dispatcher.session.send(message)


def _locking_select(sql: str) -> tuple[str, str]:
    """The SELECT that reads and locks the UPDATE's rows; the name its table goes by."""
    import pglast
    from pglast.stream import RawStream

    stmt = pglast.parse_sql(sql)[0].stmt
    relation = str(RawStream()(stmt.relation))
    alias = stmt.relation.alias.aliasname if stmt.relation.alias else stmt.relation.relname
    where = f" WHERE {RawStream()(stmt.whereClause)}" if stmt.whereClause is not None else ""
    from gridpg.sql.quote import quote_ident

    name = quote_ident(alias)
    return f"SELECT {name}.tableoid::oid, {name}.ctid FROM {relation}{where} FOR UPDATE OF {name}", name


def _update_by_ctid(sql: str, alias: str, rows: list[tuple[str, str]], values: dict[int, list[int]]) -> str:
    """The client's UPDATE on one node: its nextval items read from `gp_v`, its WHERE
    replaced by the locked rows' (tableoid, ctid)."""
    import pglast
    from pglast import ast
    from pglast.stream import RawStream

    stmt = pglast.parse_sql(sql)[0].stmt
    columns = [f"pg_catalog.unnest({quote_literal('{' + ','.join(o for o, _ in rows) + '}')}::oid[]) AS o",
               f"pg_catalog.unnest({quote_literal('{' + ','.join(chr(34) + c + chr(34) for _, c in rows) + '}')}::tid[]) AS c"]
    for position, taken in sorted(values.items()):
        columns.append(f"pg_catalog.unnest({quote_literal('{' + ','.join(str(v) for v in taken) + '}')}::int8[]) "
                       f"AS v{position}")
    template = pglast.parse_sql(
        f"UPDATE gp_x SET gp_y = 0 FROM (SELECT {', '.join(columns)}) AS gp_v "
        f"WHERE {alias}.tableoid = gp_v.o AND {alias}.ctid = gp_v.c")[0].stmt
    targets = list(stmt.targetList)
    for position in values:
        targets[position].val = ast.ColumnRef(fields=(ast.String(sval="gp_v"), ast.String(sval=f"v{position}")))
    stmt.targetList = tuple(targets)
    stmt.fromClause = template.fromClause
    stmt.whereClause = template.whereClause
    return str(RawStream()(stmt))


def _merged(messages: list[bytes], total: int, simple: bool) -> list[bytes]:
    """Every node's answer as one: the first RowDescription, all rows, one command tag."""
    out: list[bytes] = []
    described = False
    for message in messages:
        kind = message[0]
        if kind == 0x43:  # CommandComplete: one, with the total, at the end
            continue
        if kind == 0x54:
            if described:
                continue
            described = True
        out.append(message)
    out.append(codec.build_command_complete(f"UPDATE {total}"))
    return out
