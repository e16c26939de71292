"""UPDATE and DELETE run row by row by the coordinator, for code the datanodes cannot run.

A BEFORE ROW trigger whose function reads or writes other distributed tables (an audit
trigger, a stock check), or a SET or WHERE calling a function that reads them
(`UPDATE orders SET qty = stock_of(item)`), cannot run on the datanode holding the row.
For such a statement (`TriggerFiring.rows_here`, decided by executor/routines.py) the
coordinator does what PostgreSQL's executor does, one row at a time:

1. reads the target rows on each datanode with their shard and ctid, locked as
   PostgreSQL's UPDATE (FOR NO KEY UPDATE) or DELETE (FOR UPDATE) locks them, the WHERE
   applied there when it calls no user routine (else every row is read and the WHERE is
   evaluated in step 2, the row locked once it qualifies, and refused with 40001 if it
   changed meanwhile: PostgreSQL would read it again);
2. on the catalog connection with the loopback armed (so what the code does to
   distributed tables runs through gridpg inside the caller's distributed transaction):
   runs the client's statement on a temp copy of the rows (its SET gives the NEW rows with
   PostgreSQL's own assignment rules and defaults, its WHERE decides which qualify), for
   all rows first when the statement's code is STABLE or IMMUTABLE (PostgreSQL evaluates
   it in the statement's snapshot, blind to what the triggers of earlier rows do), else
   one row at a time before that row's triggers (VOLATILE code sees their changes); then,
   per row, fires the BEFORE ROW triggers through their twins
   (planner/triggers.before_row_sql), which return the row to store or NULL (skip);
3. stores that row by ctid in the row's own shard on its datanode, the triggers kept off
   there (the guard tokens), before the next row is read, so a later row's code sees the
   earlier rows changed as in PostgreSQL; a row that code of the statement changed or
   deleted meanwhile is refused with 27000 as PostgreSQL refuses it.

The changed (old, new) rows go back to executor/triggers.run, which fires the AFTER ROW
and statement triggers. A trigger that changes the distribution column (or an
identity column gridpg cannot set) is refused: the row would have to move.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from gridpg.errors import FEATURE_NOT_SUPPORTED, PgError
from gridpg.pgwire import codec
from gridpg.planner import triggers as tg
from gridpg.sql.quote import quote_ident, quote_literal

if TYPE_CHECKING:
    from gridpg.catalog.model import DistTable
    from gridpg.datanode.connection import BackendConnection
    from gridpg.executor.dispatch import Dispatcher, ExecRequest
    from gridpg.executor.triggers import TriggerFiring

_ROWS = "gp_write_rows"
_COLUMNS_SQL = """
SELECT attname, attidentity, attgenerated FROM pg_catalog.pg_attribute
WHERE attrelid = {qualified}::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum"""
_LEAF_SQL = """
SELECT n.nspname, c.relname FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = {oid}"""


class _Statement:
    """The client's UPDATE or DELETE, read once: its target's name for the rows, the
    WHERE and RETURNING texts, and the statement aimed at the temp copy of one row."""

    def __init__(self, sql: str, firing: TriggerFiring) -> None:
        import pglast
        from pglast import ast
        from pglast.stream import RawStream

        stmt = pglast.parse_sql(sql)[0].stmt
        self.alias = stmt.relation.alias.aliasname if stmt.relation.alias else None
        self.ref = quote_ident(self.alias or stmt.relation.relname)
        self.where = str(RawStream()(stmt.whereClause)) if stmt.whereClause is not None else None
        self.returning = ""
        if stmt.returningClause is not None:
            items = stmt.returningClause.exprs or ()
            self.returning = ", ".join(str(RawStream()(item)) for item in items)
        stmt.returningClause = None
        stmt.whereClause = None
        stmt.relation = ast.RangeVar(relname=_ROWS, schemaname="pg_temp", inh=True, relpersistence="p",
                                     alias=ast.Alias(aliasname=self.alias or stmt.relation.relname))
        self.on_copy = str(RawStream()(stmt))  # (an UPDATE: its SET; a DELETE: nothing)
        # (FROM / USING without a WHERE joins too: evaluated here all the same)
        joined = bool(getattr(stmt, "fromClause", None) or getattr(stmt, "usingClause", None))
        self.where_here = firing.where_here and (self.where is not None or joined)
        # (an UPDATE's SET targets other than DEFAULT: the temp copy's generated columns
        # are plain ones, which would take any value)
        self.set_targets = {target.name for target in getattr(stmt, "targetList", None) or ()
                            if not isinstance(target.val, ast.SetToDefault)}

    def refuse_generated_targets(self, generated: tuple[str, ...]) -> None:
        """PostgreSQL's refusal of an UPDATE that sets a generated column to a value."""
        for name in generated:
            if name in self.set_targets:
                raise PgError("428C9", f"column \"{name}\" can only be updated to DEFAULT",
                              detail=f"Column \"{name}\" is a generated column.")


async def run(dispatcher: Dispatcher, catalog: BackendConnection, firing: TriggerFiring,
              twins: dict[str, str], request: ExecRequest,
              tokens: list[str]) -> tuple[list[tuple[str | None, str | None]], list[bytes]]:
    """The statement applied row by row (module doc): the (old, new) rows it changed and
    what the client is to receive."""
    from gridpg.executor import multi
    from gridpg.executor import triggers as firing_mod

    sql = await multi.inline_params(dispatcher, request, request.sql)  # (typed literals)
    statement = _Statement(sql, firing)
    if statement.returning and any(request.result_formats):
        raise PgError(FEATURE_NOT_SUPPORTED, "gridpg runs this statement row by row on the coordinator "
                      "and returns its RETURNING rows in text format only")
    table = firing.table
    qualified = f"{quote_ident(table.schema)}.{quote_ident(table.name)}"
    columns, fixed, generated = await _columns(catalog, qualified, table.column)
    statement.refuse_generated_targets(generated)
    runner = dispatcher.runner
    caller = getattr(runner, "caller", runner)
    nodes = {group: await runner.txn.connection(group, wants_block=True) for group in table.groups}
    # A REPLICATION table: the rows are read, changed and fired on its first group (the
    # leader), and each stored row is copied to the other replicas as it is
    replicas = list(table.groups[1:]) if table.method == "replication" else []
    readers = {table.groups[0]: nodes[table.groups[0]]} if replicas else nodes
    candidates = await _read_candidates(readers, statement, firing.event, qualified, columns)
    firings = [tg.Firing(t, twins[t.name], firing.relid, table.schema, table.name) for _, t in firing.before_row]
    writer = _Writer(statement, firing.event, qualified, columns, fixed + generated, tg.skip_value(tokens))
    original = await firing_mod.arm_loopback(dispatcher, catalog)
    caller.loopback_calls += 1
    try:
        await _load_copies(catalog, table, qualified, [row[3] for row in candidates])
        made = None if firing.volatile_code else \
            await _new_rows(catalog, statement, firing.event, qualified, columns)
        by_row = await firing_mod.row_partition_firings(catalog, firing, qualified, firings,
                                                        [row[3] for row in candidates])
        for n, (group, leaf_oid, ctid, old) in enumerate(candidates, 1):
            new = made.get(n) if made is not None else \
                await _new_row(catalog, statement, firing.event, qualified, columns, n)
            if new is None:
                continue  # (the WHERE, evaluated here, does not take it)
            if statement.where_here:
                await _lock(nodes[group], statement, firing.event, qualified, columns, leaf_oid, ctid, old)
            stored = await _fire(dispatcher, catalog, by_row[n - 1], firing.event, qualified, new, old, fixed)
            if stored is not None:
                runner.txn.mark_written(group)
                await writer.store(nodes[group], group, leaf_oid, ctid, stored)
                for replica in replicas:
                    runner.txn.mark_written(replica)
                    await writer.store_copy(nodes[replica], replica, old, stored)
        if statement.returning and request.simple:
            writer.output.insert(0, writer.description or await _description(nodes, statement, qualified))
    finally:
        caller.loopback_calls -= 1
    await catalog.settle()
    if catalog.txn_status != b"E":
        await catalog.simple_query(f"DROP TABLE IF EXISTS pg_temp.{_ROWS}")
        await firing_mod.disarm_loopback(catalog, original)
    writer.output.append(codec.build_command_complete(f"{firing.event} {len(writer.changed)}"))
    return writer.changed, writer.output


async def _read_candidates(nodes: dict[str, BackendConnection], statement: _Statement, event: str,
                           qualified: str, columns: list[str]) -> list[tuple[str, str, str, str]]:
    """(node, shard oid, ctid, row as text) of the target rows on every datanode."""
    out: list[tuple[str, str, str, str]] = []
    sql = _read_sql(statement, event, qualified, columns)
    for group, conn in nodes.items():
        await conn.settle()
        out += [(group, oid or "", ctid or "", row or "") for oid, ctid, row in await conn.query(sql)]
    return out


class _Writer:
    """Stores rows by ctid in their shards and keeps what the client and the AFTER
    triggers are to receive."""

    def __init__(self, statement: _Statement, event: str, qualified: str, columns: list[str],
                 unset: tuple[str, ...], skip: str) -> None:
        self.statement = statement
        self.event = event
        self.qualified = qualified
        self.columns = columns
        self.unset = unset  # (the columns a stored row leaves alone: `_set_list`)
        self.skip = skip
        self.leaves: dict[tuple[str, str], str] = {}
        self.changed: list[tuple[str | None, str | None]] = []
        self.output: list[bytes] = []  # the RETURNING rows
        self.description: bytes | None = None

    async def store(self, conn: BackendConnection, group: str, leaf_oid: str, ctid: str, stored: str) -> None:
        leaf = self.leaves.get((group, leaf_oid))
        if leaf is None:
            leaf = self.leaves[(group, leaf_oid)] = await _leaf(conn, leaf_oid)
        # (the triggers kept off for this one write only: the code fired here may write the
        # table through the loopback, on these same connections, and its writes fire their
        # triggers as any write does)
        apply = _apply_sql(self.statement, self.event, leaf, self.qualified, self.columns, self.unset, ctid, stored)
        result = (await conn.simple_query(f"{_skip_sql(self.skip)}; {apply}; {_skip_sql('')}"))[-2]
        if not result.rows:
            raise PgError("27000", f"tuple to be {'updated' if self.event == 'UPDATE' else 'deleted'} "
                          "was already modified by an operation triggered by the current command",
                          hint="Consider using an AFTER trigger instead of a BEFORE trigger to propagate "
                               "changes to other rows.")
        values = result.rows[0]
        self.changed.append((values[0], values[1]))
        if self.statement.returning:
            if self.description is None:
                self.description = codec.build_row_description(result.columns[2:])
            self.output.append(codec.build_data_row([None if v is None else v.encode() for v in values[2:]]))


    async def store_copy(self, conn: BackendConnection, group: str, old: str, stored: str) -> None:
        """Store a row on another replica of a REPLICATION table as `store` stored it on the
        leader: the replica's row equal to the leader's old row (its text; any one of
        duplicates, which are alike), found by value rather than ctid (each replica has its
        own). A row not found there changed since the leader's was read (or the replicas
        differ): refused, never skipped."""
        ref = quote_ident(self.statement.alias) if self.statement.alias else self.statement.ref
        found = (f"{ref}.ctid = (SELECT r.ctid FROM ONLY {self.qualified} AS r WHERE "
                 f"{_row('r', self.qualified, self.columns)}::text = {quote_literal(old)} LIMIT 1)")
        if self.event == "DELETE":
            apply = f"DELETE FROM ONLY {self.qualified} AS {ref} WHERE {found} RETURNING 1"
        else:
            sets = _set_list(ref, self.qualified, self.columns, self.unset, stored)
            apply = f"UPDATE ONLY {self.qualified} AS {ref} SET {sets} WHERE {found} RETURNING 1"
        result = (await conn.simple_query(f"{_skip_sql(self.skip)}; {apply}; {_skip_sql('')}"))[-2]
        if not result.rows:
            raise PgError("40001", "could not serialize access due to concurrent update",
                          detail=f"gridpg wrote the row on one replica of {self.qualified} and did not find "
                                 f"it unchanged on {group}")


def _skip_sql(value: str) -> str:
    return f"SELECT pg_catalog.set_config({quote_literal(tg.SKIP_SETTING)}, {quote_literal(value)}, true)"


async def _columns(conn: BackendConnection, qualified: str,
                   distribution: str | None) -> tuple[list[str], tuple[str, ...], tuple[str, ...]]:
    """The table's columns; those a trigger must leave as they are (the distribution
    column: the row would move; identity columns GENERATED ALWAYS: they cannot be set); and
    the stored generated ones, which a stored row does not set: the datanode computes them
    from the row's other columns, after the BEFORE ROW triggers, as PostgreSQL does."""
    rows = await conn.query(_COLUMNS_SQL.format(qualified=quote_literal(qualified)))
    columns = [name or "" for name, _, _ in rows]
    fixed = tuple(name or "" for name, identity, _ in rows if identity == "a" or name == distribution)
    generated = tuple(name or "" for name, _, kind in rows if kind)
    return columns, fixed, generated


def _row(prefix: str, qualified: str, columns: list[str]) -> str:
    return f"ROW({', '.join(f'{prefix}.{quote_ident(c)}' for c in columns)})::{qualified}"


def _read_sql(statement: _Statement, event: str, qualified: str, columns: list[str]) -> str:
    """The target rows on one datanode: (shard oid, ctid, row as text), locked when the
    WHERE is applied here."""
    ref = statement.ref
    alias = f" AS {quote_ident(statement.alias)}" if statement.alias else ""
    sql = (f"SELECT {ref}.tableoid::oid::text, {ref}.ctid::text, {_row(ref, qualified, columns)}::text "
           f"FROM {qualified}{alias}")
    if statement.where_here:
        return sql
    if statement.where is not None:
        sql += f" WHERE {statement.where}"
    return sql + f" FOR {'UPDATE' if event == 'DELETE' else 'NO KEY UPDATE'} OF {ref}"


async def _load_copies(conn: BackendConnection, table: DistTable, qualified: str, rows: list[str]) -> None:
    """The temp table the statement runs on, one row at a time: shaped like the table's
    shadow (its defaults: the loopback's, sequences from the GTM), no NOT NULL, each row
    numbered (`gp_n`) in the order read."""
    from gridpg.executor.loopback import SHADOW_PREFIX

    found = await conn.query(f"SELECT oid FROM pg_catalog.pg_namespace WHERE nspname = {quote_literal(table.schema)}")
    shadow = f"{quote_ident(SHADOW_PREFIX + (found[0][0] or ''))}.{quote_ident(table.name)}"
    temp = f"pg_temp.{_ROWS}"
    await conn.simple_query(f"CREATE TEMP TABLE {_ROWS} (LIKE {shadow} INCLUDING DEFAULTS) ON COMMIT DROP")
    not_null = await conn.query(f"SELECT attname FROM pg_catalog.pg_attribute WHERE attrelid = "
                                f"{quote_literal(temp)}::regclass AND attnum > 0 AND attnotnull")
    changes = [f"ALTER COLUMN {quote_ident(name or '')} DROP NOT NULL" for name, in not_null]
    await conn.simple_query(f"ALTER TABLE {temp} " + ", ".join([*changes, "ADD COLUMN gp_n bigint"]))
    for start in range(0, len(rows), 500):
        array = "ARRAY[" + ", ".join(quote_literal(r) for r in rows[start:start + 500]) + "]::text[]"
        await conn.simple_query(f"INSERT INTO {temp} SELECT (g.r::{qualified}).*, g.n + {start} "
                                f"FROM pg_catalog.unnest({array}) WITH ORDINALITY AS g(r, n)")


async def _new_row(conn: BackendConnection, statement: _Statement, event: str, qualified: str,
                   columns: list[str], n: int) -> str | None:
    """Row `n` as the client's statement makes it (UPDATE: its SET applied; DELETE: as it
    is), or None when the WHERE evaluated here does not take it."""
    ref = quote_ident(statement.alias) if statement.alias else statement.ref
    where = f" WHERE {ref}.gp_n = {n}" + (f" AND ({statement.where})" if statement.where_here and statement.where
                                           else "")
    if event == "DELETE" and not statement.where_here:
        rows = await conn.query(f"SELECT {_row('r', qualified, columns)}::text FROM pg_temp.{_ROWS} AS r "
                                f"WHERE r.gp_n = {n}")
    else:
        rows = await conn.query(f"{statement.on_copy}{where} RETURNING {_row(ref, qualified, columns)}::text")
    return rows[0][0] if rows else None


async def _new_rows(conn: BackendConnection, statement: _Statement, event: str, qualified: str,
                    columns: list[str]) -> dict[int, str]:
    """Every row as the client's statement makes it, by number, those its WHERE evaluated
    here does not take left out: all evaluated before any trigger fires, as PostgreSQL
    evaluates STABLE and IMMUTABLE code in the statement's snapshot."""
    ref = quote_ident(statement.alias) if statement.alias else statement.ref
    if event == "DELETE" and not statement.where_here:
        sql = f"SELECT r.gp_n, {_row('r', qualified, columns)}::text FROM pg_temp.{_ROWS} AS r"
    else:
        where = f" WHERE {statement.where}" if statement.where_here and statement.where else ""
        sql = f"{statement.on_copy}{where} RETURNING {ref}.gp_n, {_row(ref, qualified, columns)}::text"
    return {int(n or 0): row or "" for n, row in await conn.query(sql)}


async def _lock(conn: BackendConnection, statement: _Statement, event: str, qualified: str,
                columns: list[str], leaf_oid: str, ctid: str, old: str) -> None:
    """Lock a row the WHERE took on the coordinator, as PostgreSQL's UPDATE or DELETE locks
    it; if it changed since it was read, PostgreSQL would evaluate it again: refused."""
    leaf = await _leaf(conn, leaf_oid)
    rows = await conn.query(f"SELECT {_row('r', qualified, columns)}::text FROM ONLY {leaf} AS r "
                            f"WHERE r.ctid = {quote_literal(ctid)}::tid "
                            f"FOR {'UPDATE' if event == 'DELETE' else 'NO KEY UPDATE'}")
    if not rows or rows[0][0] != old:
        raise PgError("40001", "could not serialize access due to concurrent update",
                      detail="gridpg evaluated the statement's WHERE on the coordinator and a row it took "
                             "changed before it could be locked")


async def _fire(dispatcher: Dispatcher, conn: BackendConnection, firings: list[tg.Firing], event: str,
                qualified: str, new: str, old: str, fixed: tuple[str, ...]) -> str | None:
    """The row to store after the BEFORE ROW triggers (None: one skipped it)."""
    if not firings and (event == "DELETE" or not fixed):
        return new
    checked = fixed if event == "UPDATE" else ()
    conn.notices.clear()
    try:
        result = await conn.query(tg.before_row_sql(firings, qualified, new, event, old, checked))
    finally:
        for notice in conn.notices:
            dispatcher.session.send(notice)
        conn.notices.clear()
    stored = result[0][0] if result else None
    kept = result[0][1] if result and checked else "t"
    if stored is not None and event == "UPDATE" and kept != "t":
        raise PgError(FEATURE_NOT_SUPPORTED, f"gridpg cannot update a row of {qualified} whose distribution "
                      "column or identity column the statement or a BEFORE ROW trigger changes here "
                      "(the row would move to another datanode)")
    return stored


async def _leaf(conn: BackendConnection, oid: str) -> str:
    found = await conn.query(_LEAF_SQL.format(oid=int(oid)))
    if not found:
        raise PgError("XX000", f"gridpg lost the shard (oid {oid}) of a row it read")
    return f"{quote_ident(found[0][0] or '')}.{quote_ident(found[0][1] or '')}"


def _apply_sql(statement: _Statement, event: str, leaf: str, qualified: str, columns: list[str],
               fixed: tuple[str, ...], ctid: str, stored: str) -> str:
    """Store one row by ctid in its shard: (old, new) rows as text, then the client's
    RETURNING."""
    ref = quote_ident(statement.alias) if statement.alias else statement.ref
    target = f"{leaf} AS {ref}"
    where = f" WHERE {ref}.ctid = {quote_literal(ctid)}::tid"
    extra = f", {statement.returning}" if statement.returning else ""
    if event == "DELETE":
        return (f"DELETE FROM ONLY {target}{where} RETURNING {_row(ref, qualified, columns)}::text, "
                f"NULL::text{extra}")
    sets = _set_list(ref, qualified, columns, fixed, stored)
    return (f"UPDATE ONLY {target} SET {sets}{where} RETURNING {_row('old', qualified, columns)}::text, "
            f"{_row('new', qualified, columns)}::text{extra}")


def _set_list(ref: str, qualified: str, columns: list[str], unset: tuple[str, ...], stored: str) -> str:
    """An UPDATE's SET giving the row `stored` (its text) to every column but the `unset`
    ones (fixed ones keep their value, checked; generated ones are computed again); with
    none to set, a column set to itself."""
    value = f"{quote_literal(stored)}::{qualified}"
    sets = ", ".join(f"{quote_ident(c)} = ({value}).{quote_ident(c)}" for c in columns if c not in unset)
    return sets or f"{quote_ident(columns[0])} = {ref}.{quote_ident(columns[0])}"


async def _description(nodes: dict[str, BackendConnection], statement: _Statement, qualified: str) -> bytes:
    """The RowDescription of the client's RETURNING when no row was changed (PostgreSQL
    sends it all the same): the statement's shape on a datanode, matching no row."""
    conn = next(iter(nodes.values()))
    ref = quote_ident(statement.alias) if statement.alias else statement.ref
    result = (await conn.simple_query(f"SELECT {statement.returning} FROM {qualified} AS {ref} WHERE false"))[-1]
    return codec.build_row_description(result.columns)
