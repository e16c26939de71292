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
   unnest(ctids), unnest(values)) AS gp_v WHERE t.tableoid = gp_v.gp_o AND t.ctid = gp_v.gp_c
   [RETURNING ...]`: exactly the locked rows, each with its value.

The answers are merged into one: RowDescription once, every node's rows, one command tag
with the total. Served: `col = nextval('name')` as whole SET items of an UPDATE of one
hash, modulo or replicated table without FROM, WITH, WHERE CURRENT OF or other relations in
its WHERE, not setting the distribution column, no other sequence call, and no user code
the routine guard would have to run elsewhere (the caller checks). Anything else keeps
the refusal.

A REPLICATION table holds every row on each of its groups, each replica with its own
ctids: the rows are read and locked on the first group (the leader) with their text, and
on every other replica too; each leader row is paired with a replica row of the same text
(duplicates are alike, any one of them serves) and given the same values there, so the
replicas stay equal. A row the leader has and a replica has not (they differ, or it changed
between the reads) is refused (40001), never skipped. The client gets the leader's answer.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from gridpg.catalog.model import DistTable
from gridpg.errors import PgError
from gridpg.executor.insert_nextval import _nextval_name
from gridpg.pgwire import codec
from gridpg.planner import analyze, replicas
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


def served(sql: str, resolve: Any, user_volatile: frozenset[str] = frozenset()) -> UpdateNextval | None:
    """The UPDATE when this module serves it (module doc), else None. `resolve`: a RelRef
    to its DistTable (None: not distributed). Of a REPLICATION table, the rest of the
    UPDATE runs on each replica: what would come out different there (a volatile call in
    its SET or WHERE: planner/replicas.py, `user_volatile` its user functions) is refused
    (0A000) as the planner refuses it."""
    found = one_table_update(sql, resolve)
    if found is None:
        return None
    body, table = found
    where = body.get("whereClause")
    if analyze.has_node(where, "CurrentOfExpr") or analyze.has_node(where, "SubLink"):
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
    checked = {k: v for k, v in body.items() if k not in ("returningClause", "returningList")}
    checked["targetList"] = [t for i, t in enumerate(body.get("targetList") or []) if i not in items]
    replicas.ensure_same_on_every_replica(checked, table, "UPDATE", user_volatile)
    return UpdateNextval(table, items)


def one_table_update(sql: str, resolve: Any) -> tuple[dict[str, Any], DistTable] | None:
    """(the UPDATE's parse tree body, its distributed table) of an UPDATE of one
    distributed table (not ONLY), without FROM or WITH; else None (also for text that does
    not parse: the statement's own path reports its syntax)."""
    try:
        tree = sqlparse.parse_tree(sql)
    except Exception:  # noqa: BLE001 - the statement's own path reports its syntax
        return None
    body = tree.get("UpdateStmt")
    if not isinstance(body, dict) or body.get("fromClause") or body.get("withClause"):
        return None
    refs = analyze.relations(tree)
    if len(refs) != 1:
        return None
    table = resolve(refs[0])
    if table is None or not (body.get("relation") or {}).get("inh", True):
        return None
    return body, table


async def run(dispatcher: Dispatcher, request: ExecRequest, update: UpdateNextval) -> None:
    """Lock the rows on every node of the table, take their values from the GTM, update
    them by (tableoid, ctid), and answer the client once (module doc)."""
    from gridpg.commands.sequences import next_values, qualified_name

    runner = dispatcher.runner
    txn = runner.txn
    groups = list(update.table.groups)
    replicas = groups[1:] if update.table.method == "replication" else []
    lock_sql, alias = _locking_select(request.sql, with_text=bool(replicas))
    captured: list[bytes] = []
    async with runner.statement_transaction():
        found: list[tuple[str, list[tuple[str, str]]]] = []
        texts: list[str] = []
        for group in groups[:1] if replicas else groups:
            conn = await txn.connection(group, wants_block=True)
            await conn.settle()
            rows = await conn.query(lock_sql)
            found.append((group, [(r[0] or "", r[1] or "") for r in rows]))
            texts = [r[2] or "" for r in rows] if replicas else texts
        for replica in replicas:
            conn = await txn.connection(replica, wants_block=True)
            await conn.settle()
            found.append((replica, _paired(texts, await conn.query(lock_sql), update.table, replica)))
        total = len(found[0][1]) if replicas else sum(len(rows) for _, rows in found)
        taken: dict[int, list[int]] = {}
        for position in sorted(update.items):  # left to right, as PostgreSQL calls them
            qualified = await qualified_name(dispatcher, update.items[position], "nextval")
            taken[position] = await next_values(dispatcher, qualified, total) if total else []
        start = 0
        for group, rows in found:
            if not rows and (total or group != found[0][0]):
                continue  # (no row anywhere: the first node answers, RETURNING's columns)
            values = {p: v[start:start + len(rows)] for p, v in taken.items()}
            start += 0 if replicas else len(rows)  # (each replica takes the leader's values)
            txn.mark_written(group)
            sql = _update_by_ctid(request.sql, alias, rows, values)
            session = dispatcher.session
            saved, session.out = session.out, []
            try:
                await dispatcher.run_on_node(group, request, writes=True, sql=sql)
                if group == found[0][0] or not replicas:
                    captured.extend(session.out)
            finally:
                session.out = saved
        for message in _merged(captured, total, request.simple):
            dispatcher.session.send(message)


def _paired(texts: list[str], rows: list[tuple[str | None, ...]], table: DistTable,
            replica: str) -> list[tuple[str, str]]:
    """The replica's (tableoid, ctid) for each leader row, in the leader's order: a row of
    the same text (module doc), each replica row used once."""
    spare: dict[str, list[tuple[str, str]]] = {}
    for row in rows:
        spare.setdefault(row[2] or "", []).append((row[0] or "", row[1] or ""))
    paired = []
    for text in texts:
        if not spare.get(text):
            raise PgError("40001", "could not serialize access due to concurrent update",
                          detail=f"gridpg read a row of {table.schema}.{table.name} on one replica and did "
                                 f"not find it unchanged on {replica}")
        paired.append(spare[text].pop())
    if any(spare.values()):
        raise PgError("40001", "could not serialize access due to concurrent update",
                      detail=f"the replicas of {table.schema}.{table.name} hold different rows ({replica})")
    return paired


def _locking_select(sql: str, with_text: bool = False) -> tuple[str, str]:
    """The SELECT that reads and locks the UPDATE's rows (with each row's text, for the
    replicas of a REPLICATION table); the name its table goes by."""
    import pglast
    from pglast.stream import RawStream

    stmt = pglast.parse_sql(sql)[0].stmt
    relation = str(RawStream()(stmt.relation))
    alias = stmt.relation.alias.aliasname if stmt.relation.alias else stmt.relation.relname
    where = f" WHERE {RawStream()(stmt.whereClause)}" if stmt.whereClause is not None else ""
    from gridpg.sql.quote import quote_ident

    name = quote_ident(alias)
    text = f", {name}::text" if with_text else ""
    return f"SELECT {name}.tableoid::oid, {name}.ctid{text} FROM {relation}{where} FOR UPDATE OF {name}", name


def _update_by_ctid(sql: str, alias: str, rows: list[tuple[str, str]], values: dict[int, list[int]]) -> str:
    """The client's UPDATE on one node: its nextval items read from `gp_v`, its WHERE
    replaced by the locked rows' (tableoid, ctid)."""
    columns = [f"pg_catalog.unnest({quote_literal('{' + ','.join(str(v) for v in taken) + '}')}::int8[]) "
               f"AS gp_v{position}" for position, taken in sorted(values.items())]
    return update_locked_rows(sql, alias, rows, columns, values)


def update_locked_rows(sql: str, alias: str, rows: list[tuple[str, str]], columns: list[str],
                       items: Iterable[int]) -> str:
    """The client's UPDATE `sql` limited to the locked rows `rows` ((tableoid, ctid) of the
    table, named `alias`): `FROM (SELECT <their tableoids and ctids>, <columns>) AS gp_v`,
    the SET items at positions `items` reading `gp_v.gp_v<position>` (a column of
    `columns`), its WHERE replaced; its RETURNING * still the table's columns only."""
    import pglast
    from pglast import ast
    from pglast.stream import RawStream

    stmt = pglast.parse_sql(sql)[0].stmt
    located = [f"pg_catalog.unnest({quote_literal('{' + ','.join(o for o, _ in rows) + '}')}::oid[]) AS gp_o",
               f"pg_catalog.unnest({quote_literal('{' + ','.join(chr(34) + c + chr(34) for _, c in rows) + '}')}::tid[]) AS gp_c"]
    template = pglast.parse_sql(
        f"UPDATE gp_x SET gp_y = 0 FROM (SELECT {', '.join([*located, *columns])}) AS gp_v "
        f"WHERE {alias}.tableoid = gp_v.gp_o AND {alias}.ctid = gp_v.gp_c")[0].stmt
    targets = list(stmt.targetList)
    for position in items:
        targets[position].val = ast.ColumnRef(fields=(ast.String(sval="gp_v"), ast.String(sval=f"gp_v{position}")))
    stmt.targetList = tuple(targets)
    # RETURNING * means the table's columns, not gp_v's too (the FROM item is gridpg's)
    for target in stmt.returningClause.exprs if stmt.returningClause is not None else ():
        ref = target.val
        if isinstance(ref, ast.ColumnRef) and len(ref.fields) == 1 and isinstance(ref.fields[0], ast.A_Star):
            own = stmt.relation.alias.aliasname if stmt.relation.alias else stmt.relation.relname
            target.val = ast.ColumnRef(fields=(ast.String(sval=own), ast.A_Star()))
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
