"""`UPDATE t SET col = random() ...` on a REPLICATION table: each row's values computed once.

A REPLICATION table holds every row on each of its groups, and an UPDATE of it runs on each
(planner/replicas.py): a volatile call in its SET list (`random()`, `gen_random_uuid()`,
`clock_timestamp()`, ...) would give each replica values of its own, so the planner
refuses it (0A000). Backfilling a new column (`UPDATE users SET token =
gen_random_uuid()`) or scrambling test data are ordinary statements, so here, inside the
statement's transaction:

1. on the table's first group (the leader) the rows the UPDATE would change are read and
   locked, with their text and the values of the SET items, each evaluated once per row as
   PostgreSQL's UPDATE would: `SELECT tableoid, ctid, t::text, pg_typeof(v)::text, v, ...
   FROM (SELECT ..., (<item>) AS v FROM t WHERE <its WHERE> FOR UPDATE OF t) AS s`;
2. on every other replica the same rows are read and locked and paired with the leader's by
   their text (executor/update_nextval.py's pairing: a row missing on a replica is 40001);
3. every replica, the leader too, runs `UPDATE t SET col = gp_v.v1, ... FROM (SELECT
   unnest(tableoids), unnest(ctids), unnest('{values}'::text[])::<type>) AS gp_v WHERE
   t.tableoid = gp_v.gp_o AND t.ctid = gp_v.gp_c [RETURNING ...]`: the locked rows, each
   with the leader's values, typed as the items were (the assignment to the column casts
   them as the client's UPDATE would have).

The client gets the leader's answer. Served: an UPDATE of one REPLICATION table on two or
more groups, without FROM, WITH, sub-selects, WHERE CURRENT OF or parameters, whose SET
items are whole columns (no `SET a.b`, `SET a[1]`, `SET (a, b) = ...`, `DEFAULT`), call
no sequence function, and compute something only with built-in volatile functions
(planner/replicas.VOLATILE_BUILTINS) in the SET list: a VOLATILE function of the user's may
act beyond the row, and a WHERE or RETURNING that each replica computes differently
stays refused, as the planner refuses it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from gridpg.catalog.model import DistTable
from gridpg.executor.update_nextval import _merged, _paired, one_table_update, update_locked_rows
from gridpg.planner import analyze, replicas
from gridpg.planner.calls import sequence_calls
from gridpg.sql.quote import quote_literal

if TYPE_CHECKING:
    from gridpg.executor.dispatch import Dispatcher, ExecRequest

_MENTIONS = re.compile(r"\b(" + "|".join(sorted(replicas.VOLATILE_BUILTINS)) + r")\s*\(", re.IGNORECASE)


def mentions(sql: str) -> bool:
    """A cheap first look: an UPDATE calling a volatile built-in."""
    return "update" in sql.lower() and _MENTIONS.search(sql) is not None


@dataclass(frozen=True)
class UpdateVolatile:
    """A served UPDATE: its table and the positions of the SET items computed on the leader
    (those calling a volatile built-in; the others run on each replica as written)."""

    table: DistTable
    items: tuple[int, ...]


def served(sql: str, resolve: Any, user_volatile: frozenset[str] = frozenset()) -> UpdateVolatile | None:
    """The UPDATE when this module serves it (module doc), else None. `resolve`: a RelRef to
    its DistTable (None: not distributed)."""
    found = one_table_update(sql, resolve)
    if found is None:
        return None
    body, table = found
    if analyze.has_node(body, "SubLink") or analyze.has_node(body, "CurrentOfExpr") or sequence_calls(body):
        return None
    if table.method != "replication" or len(table.groups) < 2:
        return None
    items = []
    for position, target in enumerate(body.get("targetList") or []):
        res = target.get("ResTarget") or {}
        value = res.get("val") or {}
        if res.get("indirection") or "MultiAssignRef" in value or "SetToDefault" in value:
            return None
        if replicas.replica_divergence(value) is not None:
            items.append(position)
    if not items:
        return None
    # what stays as written runs on every replica: it must come out the same on each (and
    # a VOLATILE function of the user's is not evaluated here, anywhere)
    rest = {k: v for k, v in body.items() if k != "targetList"}
    rest["targetList"] = [t for i, t in enumerate(body.get("targetList") or []) if i not in items]
    if replicas.replica_divergence(rest, user_volatile) is not None \
            or any(replicas.replica_divergence(body["targetList"][i], user_volatile)
                   != replicas.replica_divergence(body["targetList"][i]) for i in items):
        return None
    return UpdateVolatile(table, tuple(items))


async def run(dispatcher: Dispatcher, request: ExecRequest, update: UpdateVolatile) -> None:
    """Lock the rows on every replica, compute the SET items on the leader, update each
    replica's rows by (tableoid, ctid) with the leader's values, answer once (module doc)."""
    runner = dispatcher.runner
    txn = runner.txn
    leader, *others = update.table.groups
    lock_sql, alias = _locking_select(request.sql, update.items)
    plain_lock, _ = _locking_select(request.sql, ())
    captured: list[bytes] = []
    async with runner.statement_transaction():
        conn = await txn.connection(leader, wants_block=True)
        await conn.settle()
        rows = await conn.query(lock_sql)
        texts = [r[2] or "" for r in rows]
        found: list[tuple[str, list[tuple[str, str]]]] = [(leader, [(r[0] or "", r[1] or "") for r in rows])]
        # (no row: the items stay as written, for no row; a row's value has its item's type)
        values = {position: (str(rows[0][3 + 2 * index]), [r[4 + 2 * index] for r in rows])
                  for index, position in enumerate(update.items)} if rows else {}
        for replica in others:
            other = await txn.connection(replica, wants_block=True)
            await other.settle()
            found.append((replica, _paired(texts, await other.query(plain_lock), update.table, replica)))
        for group, located in found:
            txn.mark_written(group)
            sql = _update_by_ctid(request.sql, alias, located, values)
            session = dispatcher.session
            saved, session.out = session.out, []
            try:
                await dispatcher.run_on_node(group, request, writes=True, sql=sql)
                if group == leader:
                    captured.extend(session.out)
            finally:
                session.out = saved
        for message in _merged(captured, len(rows), request.simple):
            dispatcher.session.send(message)


def _locking_select(sql: str, items: tuple[int, ...]) -> tuple[str, str]:
    """The SELECT that reads and locks the UPDATE's rows with each row's text and, for each
    SET item at `items`, its value's type and value (as text); the name its table goes by."""
    import pglast
    from pglast.stream import RawStream

    from gridpg.sql.quote import quote_ident

    stmt = pglast.parse_sql(sql)[0].stmt
    relation = str(RawStream()(stmt.relation))
    alias = stmt.relation.alias.aliasname if stmt.relation.alias else stmt.relation.relname
    where = f" WHERE {RawStream()(stmt.whereClause)}" if stmt.whereClause is not None else ""
    name = quote_ident(alias)
    computed = "".join(f", ({RawStream()(stmt.targetList[p].val)}) AS gp_v{p}" for p in items)
    outer = "".join(f", pg_catalog.pg_typeof(gp_s.gp_v{p})::text, gp_s.gp_v{p}::text" for p in items)
    inner = (f"SELECT {name}.tableoid::oid AS gp_o, {name}.ctid AS gp_c, {name}::text AS gp_t{computed} "
             f"FROM {relation}{where} FOR UPDATE OF {name}")
    return f"SELECT gp_s.gp_o, gp_s.gp_c, gp_s.gp_t{outer} FROM ({inner}) AS gp_s", name


def _array_literal(values: list[str | None]) -> str:
    """An array literal of the values' texts (NULL unquoted), for `'...'::type[]`."""
    def element(value: str | None) -> str:
        if value is None:
            return "NULL"
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'

    return "{" + ",".join(element(v) for v in values) + "}"


def _update_by_ctid(sql: str, alias: str, rows: list[tuple[str, str]],
                    values: dict[int, tuple[str, list[str | None]]]) -> str:
    """The client's UPDATE on one replica: its computed items read from `gp_v`, its WHERE
    replaced by the locked rows' (tableoid, ctid)."""
    # (each value's text cast to its item's type: an array, a composite or a domain too)
    columns = [f"pg_catalog.unnest({quote_literal(_array_literal(taken))}::text[])::{kind} AS gp_v{position}"
               for position, (kind, taken) in sorted(values.items())]
    return update_locked_rows(sql, alias, rows, columns, values)
