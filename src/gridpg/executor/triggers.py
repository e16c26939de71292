"""Triggers the coordinator fires: a write whose table's triggers reach other distributed tables.

A row trigger that only changes its own row (or writes colocated tables pinned to the
row's key) fires on the datanode that holds the row. Others, such as an audit trigger
writing a table distributed by its own id, a replicated table, a counter keyed
differently, and every statement-level trigger, cannot: the datanode holds the wrong
rows, and a statement trigger would fire once per datanode. For a statement writing such
a table (`TriggerFiring`, decided by executor/routines.py), the coordinator:

1. fires the BEFORE STATEMENT triggers once, on its catalog server;
2. runs the statement on the datanodes with `RETURNING WITH (OLD AS gp_old, NEW AS
   gp_new)` added (PostgreSQL 18), and `gridpg.skip_triggers` set locally on those
   nodes to the guard tokens of the triggers it fires itself (planner/triggers.py), so
   they do not fire there; BEFORE ROW triggers still fire on the datanodes and change
   the stored row, unless they reach other distributed tables: then they fire here on
   each new row of an INSERT (`_fire_before_rows`), and an UPDATE or DELETE runs row by
   row (executor/row_writes.py);
3. fires the AFTER ROW triggers for each returned row (NEW/OLD as stored, WHEN checked,
   in name order), then the AFTER STATEMENT triggers, on the catalog server;
4. sends the client the statement's own RETURNING columns and command tag.

Steps 1 and 3 call the *twin* of each trigger function (its body as an ordinary PL/pgSQL
function taking the trigger's variables) on the session's catalog connection with the
loopback armed (executor/loopback.py): the body's statements on distributed tables are
planned and run by gridpg inside the caller's distributed transaction. All of it runs in
one transaction (the client's block, or one for this statement): a trigger's error fails
the statement everywhere, a rollback undoes every write of it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import re
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pglast import ast

from gridpg.catalog.model import DistTable
from gridpg.errors import FEATURE_NOT_SUPPORTED, PgError
from gridpg.executor.loopback import (
    SHADOW_PREFIX,
    TOUCHED_SQL,
    as_login,
    calls_path,
    check_untouched,
    with_schema_names,
)
from gridpg.executor.twins import path_elements, redirect_names, refuse_missed_names, upsert_columns
from gridpg.pgwire import codec
from gridpg.planner import analyze
from gridpg.planner import triggers as tg
from gridpg.planner.routines import qualified_relations
from gridpg.sql import parse as sqlparse
from gridpg.sql import plpgsql_dynamic, plpgsql_upsert, trigger_relation, xact_time
from gridpg.sql.quote import quote_ident, quote_literal

if TYPE_CHECKING:
    from gridpg.datanode.connection import BackendConnection
    from gridpg.executor.dispatch import Dispatcher, ExecRequest
    from gridpg.executor.dml import TableColumn
    from gridpg.frontend.coordinator import Coordinator

# Writes made by triggers fired here whose own triggers are fired here too, each level on
# a catalog connection of its own: deeper is refused as PostgreSQL refuses runaway recursion
MAX_FIRING_DEPTH = 16

TRIGGERS_SQL = """
SELECT t.tgname, t.tgfoid::oid, t.tgtype, t.tgenabled, pg_catalog.pg_get_triggerdef(t.oid),
       pg_catalog.array_to_json(ARRAY(SELECT a.attname FROM pg_catalog.pg_attribute a
         WHERE a.attrelid = t.tgrelid AND a.attnum = ANY (t.tgattr) ORDER BY a.attnum))::text,
       t.tgnargs, pg_catalog.encode(t.tgargs, 'hex'),
       t.tgconstraint <> 0, c.oid, t.tgnewtable, t.tgoldtable
FROM pg_catalog.pg_trigger t
JOIN pg_catalog.pg_class c ON c.oid = t.tgrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = {schema} AND c.relname = {table} AND NOT t.tgisinternal
ORDER BY t.tgname"""

_PARTITION_COLUMNS_SQL = """
SELECT DISTINCT coalesce(a.attname, '*')
FROM pg_catalog.pg_partition_tree({relid}::oid) t
JOIN pg_catalog.pg_partitioned_table p ON p.partrelid = t.relid
CROSS JOIN LATERAL pg_catalog.unnest(p.partattrs::pg_catalog.int2[]) k(attnum)
LEFT JOIN pg_catalog.pg_attribute a ON a.attrelid = t.relid AND a.attnum = k.attnum AND k.attnum > 0"""

_FUNCTIONS_SQL = """
SELECT p.oid, p.prosrc, l.lanname,
       coalesce(pg_catalog.array_to_string(ARRAY(SELECT s FROM unnest(p.proconfig) s
                                                 WHERE s NOT LIKE 'search_path=%'), ','), ''),
       p.prosecdef, (SELECT substr(s, 13) FROM unnest(p.proconfig) s WHERE s LIKE 'search_path=%'),
       pg_catalog.quote_ident(p.proname) || '(' || pg_catalog.array_to_string(ARRAY(
         SELECT pg_catalog.format_type(a.t, NULL) FROM unnest(p.proargtypes::oid[]) WITH ORDINALITY AS a(t, n)
         ORDER BY a.n), ',') || ')'
FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_language l ON l.oid = p.prolang
WHERE p.oid IN ({oids})"""

_SCHEMAS_SQL = "SELECT nspname, oid FROM pg_catalog.pg_namespace"

_NODE_TRIGGERS_SQL = """
SELECT t.tgname, pg_catalog.pg_get_triggerdef(t.oid) FROM pg_catalog.pg_trigger t
WHERE t.tgrelid = pg_catalog.to_regclass({qualified}) AND NOT t.tgisinternal"""


@dataclass(frozen=True)
class TableTriggers:
    """The user triggers of one table on the catalog server, by name order."""

    relid: int
    triggers: tuple[tg.Trigger, ...]
    # the columns of the partition keys of a partitioned table and of its partitioned
    # partitions ("*": a key expression, any column may be in it); empty for other tables
    partition_columns: frozenset[str] = frozenset()

    def moves_partitions(self, tree: dict) -> bool:
        """An UPDATE that may move rows between partitions: PostgreSQL deletes each moved
        row from its partition and inserts it into another, firing their DELETE and INSERT
        row triggers (not UPDATE ones) there (h-probe28)."""
        from gridpg.planner.writes import updates_column

        body = tree.get("UpdateStmt")
        if not isinstance(body, dict) or not self.partition_columns:
            return False
        if "*" in self.partition_columns:
            return True
        return any(updates_column(body, column) for column in self.partition_columns)


@dataclass(frozen=True)
class TriggerFiring:
    """The verdict for a write the coordinator runs with its table's triggers (module doc)."""

    table: DistTable
    event: str  # INSERT, UPDATE, DELETE, TRUNCATE (INSERT for an upsert), MERGE
    relid: int
    # (event, trigger) in PostgreSQL's firing order; an INSERT ... ON CONFLICT DO UPDATE
    # fires INSERT and UPDATE ones (statement level: BEFORE INSERT, BEFORE UPDATE, ...,
    # AFTER UPDATE, AFTER INSERT; row level: INSERT for an inserted row, UPDATE for an
    # updated one)
    before_statement: tuple[tuple[str, tg.Trigger], ...]
    after_row: tuple[tuple[str, tg.Trigger], ...]
    after_statement: tuple[tuple[str, tg.Trigger], ...]
    shadows: tuple[tuple[str, str], ...]  # tables the trigger functions reach (loopback)
    # also kept off the datanodes, not fired: an UPDATE moving rows fires no DELETE/INSERT
    # row triggers in PostgreSQL, though the datanodes delete and insert them
    kept_off: tuple[tg.Trigger, ...] = ()
    # the owner the trigger functions run as (all SECURITY DEFINER of one owner), on the
    # catalog connection and, through the loopback, on the datanodes
    role: str | None = None
    # BEFORE ROW INSERT triggers whose functions reach other distributed tables: fired here
    # on each new row before the rows go to the datanodes (`_fire_before_rows`)
    before_row: tuple[tuple[str, tg.Trigger], ...] = ()
    # COPY ... FROM STDIN: its rows are read first and run as an INSERT (`_copy_as_insert`)
    copy: bool = False
    # UPDATE or DELETE run row by row by the coordinator (executor/row_writes.py): its
    # BEFORE ROW triggers (in `before_row`) or its SET or WHERE reach distributed tables
    rows_here: bool = False
    # ... and its WHERE calls user routines: evaluated on the coordinator, not the datanodes
    where_here: bool = False
    # ... and its SET or WHERE calls VOLATILE routines: evaluated row by row, after the
    # triggers of the earlier rows (else for every row first, in the statement's snapshot)
    volatile_code: bool = False
    # the functions fired here run dynamic SQL: its text finds the shadows of the session's
    # schemas (all in `shadows`) by the armed search path; a firing whose SQL reached a
    # catalog server's copy of a distributed table (a name with its schema) fails
    dynamic: bool = False

    @property
    def fired_here(self) -> tuple[tg.Trigger, ...]:
        return tuple(t for _, t in (*self.before_statement, *self.before_row, *self.after_row,
                                    *self.after_statement))

    def row_event(self, old: str | None, new: str | None = "") -> str:
        """The event of one returned row (an upsert's row without OLD was inserted; a
        MERGE's row without OLD was inserted, one without NEW deleted)."""
        if self.event == "INSERT" and old is not None:
            return "UPDATE"
        if self.event == "MERGE":
            return "INSERT" if old is None else "DELETE" if new is None else "UPDATE"
        return self.event


async def load_table_triggers(conn: BackendConnection, table: DistTable) -> TableTriggers | None:
    rows = await conn.query(TRIGGERS_SQL.format(schema=quote_literal(table.schema),
                                                table=quote_literal(table.name)))
    out = []
    relid = 0
    for name, foid, tgtype, enabled, definition, columns, nargs, args, constraint, oid, new, old in rows:
        raw = bytes.fromhex(args or "")
        values = tuple(a.decode() for a in raw.split(b"\0")[:int(nargs or 0)])
        out.append(tg.Trigger(name or "", int(foid or 0), int(tgtype or 0), enabled or "O",
                              definition or "", tuple(json.loads(columns or "[]")), values,
                              constraint == "t", new, old))
        relid = int(oid or 0)
    if not out:
        return None
    keys = await conn.query(_PARTITION_COLUMNS_SQL.format(relid=relid))
    return TableTriggers(relid, tuple(out), frozenset(name or "*" for name, in keys))


def target_relation(tree: dict) -> tuple[str | None, str] | None:
    """(schema, name) of the table an INSERT/UPDATE/DELETE/TRUNCATE writes, as written."""
    kind = sqlparse.node_type(tree)
    body = tree.get(kind) or {}
    relation = body.get("relation")
    if kind == "TruncateStmt" and body.get("relations"):
        relation = body["relations"][0].get("RangeVar")
    if not isinstance(relation, dict) or not relation.get("relname"):
        return None
    return relation.get("schemaname"), str(relation["relname"])


def upsert_targets(tree: dict) -> frozenset[str] | None:
    """The SET columns of an INSERT ... ON CONFLICT DO UPDATE (None: not one)."""
    clause = (tree.get("InsertStmt") or {}).get("onConflictClause") or {}
    if clause.get("action") != "ONCONFLICT_UPDATE":
        return None
    return frozenset(str((t.get("ResTarget") or {}).get("name") or "") for t in clause.get("targetList", []))


def merge_events(tree: dict) -> list[tuple[str, frozenset[str] | None]] | None:
    """The trigger events of a top-level MERGE (None: not one): one per kind of action its
    WHEN clauses name, whether rows take it or not, in the order PostgreSQL fires BEFORE
    STATEMENT triggers (INSERT, UPDATE, DELETE; AFTER STATEMENT ones the other way round),
    UPDATE with the SET columns of all its UPDATE actions."""
    body = tree.get("MergeStmt")
    if not isinstance(body, dict):
        return None
    kinds: dict[str, set[str]] = {}
    for clause in body.get("mergeWhenClauses") or []:
        when = clause.get("MergeWhenClause") or {}
        kind = {"CMD_INSERT": "INSERT", "CMD_UPDATE": "UPDATE", "CMD_DELETE": "DELETE"}.get(when.get("commandType"))
        if kind is not None:
            kinds.setdefault(kind, set()).update(
                str((t.get("ResTarget") or {}).get("name") or "") for t in when.get("targetList") or [])
    return [(e, frozenset(kinds[e]) if e == "UPDATE" else None) for e in ("INSERT", "UPDATE", "DELETE") if e in kinds]


def statement_event(tree: dict) -> tuple[str, frozenset[str] | None] | None:
    """The trigger event of a top-level INSERT/UPDATE/DELETE/TRUNCATE (and an UPDATE's SET
    columns), else None."""
    kind = sqlparse.node_type(tree)
    body = tree.get(kind) or {}
    if kind == "InsertStmt":
        return "INSERT", None
    if kind == "UpdateStmt":
        targets = frozenset(str((t.get("ResTarget") or {}).get("name") or "") for t in body.get("targetList", []))
        return "UPDATE", targets
    if kind == "DeleteStmt":
        return "DELETE", None
    if kind == "TruncateStmt":
        return "TRUNCATE", None
    return None


def moves_rows(tree: dict, table: DistTable) -> bool:
    """An UPDATE that sets the distribution column: rows move between datanodes (deleted
    on one, inserted on another: executor/multi.move_rows). An assignment that keeps the
    value (`SET id = id`, `SET id = 1, ... WHERE id = 1`, which ORMs write when they set
    every column) moves nothing and is planned as any UPDATE (planner/writes.updates_column
    decides for both): it was refused with the table's BEFORE ROW UPDATE triggers
    (triggers.sql:486, h-views27)."""
    from gridpg.planner.writes import updates_column

    body = tree.get("UpdateStmt")
    return isinstance(body, dict) and bool(table.column) and table.method in ("hash", "modulo") \
        and updates_column(body, table.column)


def why_not_fired_here(tree: dict, table: DistTable, relevant: list[tg.Trigger]) -> str | None:
    """Why the coordinator cannot fire this statement's triggers itself (None: it can)."""
    kind = sqlparse.node_type(tree)
    body = tree.get(kind) or {}
    if body.get("withClause") and analyze.has_modifying_cte(tree):
        return "the statement has a data-modifying WITH clause"
    returning = body.get("returningClause") or {}
    if returning.get("options"):
        return "the statement names OLD or NEW in RETURNING WITH"
    if upsert_targets(tree) is not None and any(t.transition and t.is_row for t in relevant):
        return "INSERT ... ON CONFLICT DO UPDATE with row triggers that have transition tables"
    if kind == "MergeStmt" and any(t.transition for t in relevant):
        return "MERGE with transition tables"
    if moves_rows(tree, table) and any(t.is_row and t.is_before for t in relevant):
        return ("it has BEFORE ROW UPDATE triggers and the UPDATE sets the distribution column "
                "(rows move between datanodes as DELETE and INSERT)")
    if kind == "TruncateStmt":
        relations = body.get("relations", [])
        if len(relations) != 1 or body.get("restart_seqs") or body.get("behavior") == "DROP_CASCADE" \
                or not (relations[0].get("RangeVar") or {}).get("inh"):
            return "TRUNCATE names several tables, RESTART IDENTITY, CASCADE or ONLY"
    for trigger in relevant:
        if trigger.constraint:
            return f"trigger {trigger.name} is a constraint trigger"
        if trigger.is_instead:
            return f"trigger {trigger.name} is an INSTEAD OF trigger"
    return None


# -- running -----------------------------------------------------------------------------


async def run(dispatcher: Dispatcher, request: ExecRequest, firing: TriggerFiring) -> None:
    """Run the write with the coordinator firing the table's triggers (module doc)."""
    from gridpg.executor import loopback, returning_reads, row_writes

    if returning_reads.has_returning_sub_select(request.sql):
        # (what the triggers write would be seen by the RETURNING sub-selects; and sent to
        # the datanodes, they would read one node's rows)
        raise returning_reads.refusal(firing.table)
    if firing.rows_here and returning_reads.has_returning_sub_select(request.sql, _ROW_BY_ROW_KINDS):
        # (the rows written one by one on their nodes: each sub-select read one node's rows,
        # `count(*)` of one node's share returned as the table's, h-returning28)
        raise returning_reads.refusal(firing.table, firing.event, "on", "would read the rows of the node "
                                      "where gridpg writes each row, one by one, for the BEFORE ROW triggers")
    runner = dispatcher.runner
    _ensure_runnable(dispatcher, request)
    firing = _for_replication_role(firing, getattr(runner, "settings", {}))
    coord = dispatcher.coord
    await loopback.ensure_shadows_for(runner, list(firing.shadows))  # (before twins whose path names them)
    # (after DDL in the block, what it made is seen in the block alone)
    twins = await ensure_twins(coord, firing, None if runner.private_snapshot is None else runner)
    await runner.sync_pending()
    caller = getattr(runner, "caller", runner)
    if caller.firing_depth >= MAX_FIRING_DEPTH:
        raise PgError("54001", "stack depth limit exceeded",
                      detail=f"gridpg fires triggers of writes made by triggers up to {MAX_FIRING_DEPTH} levels deep")
    caller.firing_depth += 1
    try:
        async with runner.statement_transaction(), _catalog_for_firing(dispatcher) as catalog, \
                _own_context(coord):
            if firing.copy:
                request = await _copy_as_insert(dispatcher, catalog, firing, request)
            tokens = await _node_tokens(dispatcher, firing)
            await _fire(dispatcher, catalog, firing, twins, firing.before_statement, "BEFORE", "STATEMENT",
                        [(None, None)])
            if firing.before_row and not firing.rows_here:
                request = await _fire_before_rows(dispatcher, catalog, firing, twins, request)
            if firing.rows_here:
                rows, output = await row_writes.run(dispatcher, catalog, firing, twins, request, tokens)
                row_leaves = None
            elif firing.event == "TRUNCATE":
                rows, output = [], await _truncate_on_datanodes(dispatcher, request, firing, tokens)
                row_leaves = None
            else:
                leaves = await _leaf_partitions(catalog, firing) if firing.after_row else None
                rows, output, row_leaves = await _run_on_datanodes(dispatcher, request, firing, tokens, leaves)
            if _upsert_transitions(firing):
                if firing.after_row:
                    await _fire(dispatcher, catalog, firing, twins, firing.after_row, "AFTER", "ROW", rows,
                                row_leaves)
                await _fire_upsert_statements(dispatcher, catalog, firing, twins, rows)
            else:
                transition = await _load_transition_tables(catalog, firing, rows)
                if firing.after_row:
                    await _fire(dispatcher, catalog, firing, twins, firing.after_row, "AFTER", "ROW", rows,
                                row_leaves)
                await _fire(dispatcher, catalog, firing, twins, firing.after_statement, "AFTER", "STATEMENT",
                            [(None, None)])
                await _drop_transition_tables(catalog, transition)
    finally:
        caller.firing_depth -= 1
    for message in output:
        if firing.copy and message[0] == 0x43:  # (COPY's tag for the INSERT's)
            message = codec.build_command_complete("COPY " + message[5:-1].decode().rsplit(" ", 1)[-1])
        dispatcher.session.send(message)


_ROW_BY_ROW_KINDS = (ast.UpdateStmt, ast.DeleteStmt)
_TWIN_IN_CONTEXT = re.compile(rf"{tg.TWIN_SCHEMA}\.(f\d+_[0-9a-f]{{16}})\([^)]*\)")


@contextlib.asynccontextmanager
async def _own_context(coord: Coordinator) -> AsyncIterator[None]:
    """An error raised in a trigger function names it in its CONTEXT as PostgreSQL does
    (`PL/pgSQL function check_stock() line 5 at RAISE`), not its twin."""
    try:
        yield
    except PgError as error:
        with_schema_names(coord, error)
        titles: dict[str, str] = coord.__dict__.get("trigger_twin_titles", {})
        context = (error.fields or {}).get("W")
        if context and error.fields is not None:
            error.fields = {**error.fields, "W": _TWIN_IN_CONTEXT.sub(
                lambda m: titles.get(m.group(1), m.group(0)), context)}
        raise


def _for_replication_role(firing: TriggerFiring, settings: dict[str, str]) -> TriggerFiring:
    """The triggers PostgreSQL fires under the session's `session_replication_role`:
    ENABLE ALWAYS ones always; plain enabled ones in the origin and local roles; ENABLE
    REPLICA ones in the replica role only (the datanodes, which carry the setting, choose
    alike for the triggers the coordinator does not fire)."""
    role = next((str(v) for k, v in settings.items() if k.lower() == "session_replication_role"), "origin")
    states = ("A", "R") if role.strip().strip("'").lower() == "replica" else ("A", "O")

    def kept(pairs: tuple[tuple[str, tg.Trigger], ...]) -> tuple[tuple[str, tg.Trigger], ...]:
        return tuple(p for p in pairs if p[1].enabled in states)

    return dataclasses.replace(firing, before_statement=kept(firing.before_statement),
                               before_row=kept(firing.before_row),
                               after_row=kept(firing.after_row), after_statement=kept(firing.after_statement))


@contextlib.asynccontextmanager
async def _catalog_for_firing(dispatcher: Dispatcher) -> AsyncIterator[BackendConnection]:
    """The catalog connection the triggers' twins run on: the session's own, in its block.
    For a write made by server-side code (a loopback's statement: a trigger's function, a
    function or DO block of the client's), the session's catalog connection is busy running
    that code, so the twins run on a connection of their own, in a block of its own, armed
    for the same caller: what they do to distributed tables goes through the loopback into
    the caller's distributed transaction like the outer code's; what the block holds itself
    (the loopback's local settings, transition tables) ends with the firing."""
    runner = dispatcher.runner
    coord = dispatcher.coord
    if not getattr(runner, "is_loopback", False):
        yield await runner.txn.connection(coord.catalog_node, wants_block=True)
        return
    pool = coord.pools.pool(coord.catalog_node)
    conn = await pool.acquire()
    pool.detach(conn)  # never pooled again
    try:
        await runner.txn.session_setup(conn)
        await conn.simple_query("BEGIN")
        role = getattr(runner.caller, "loopback_role", None)
        if role is not None:  # SECURITY DEFINER code made the write: its triggers run as its owner
            await conn.simple_query(f"SET LOCAL SESSION AUTHORIZATION {quote_ident(role)}")
        yield conn
        await conn.settle()
        await conn.simple_query("COMMIT")
    finally:
        conn.close()


def _ensure_runnable(dispatcher: Dispatcher, request: ExecRequest) -> None:
    runner = dispatcher.runner
    # After DDL in the block the twins run on the session's catalog connection, which sees
    # it, and that server then decides the 2PC (`arm_loopback`); a write of server-side
    # code fires them on a connection of its own, which does not see it.
    if runner.private_snapshot is not None and (
            getattr(runner, "is_loopback", False) or not runner.txn.may_decide(dispatcher.coord.catalog_node)):
        raise PgError(FEATURE_NOT_SUPPORTED, "gridpg cannot fire triggers that reach other distributed "
                      "tables in a transaction that changed the schema", hint="Commit the schema change first.")
    if request.max_rows:
        raise PgError(FEATURE_NOT_SUPPORTED, "gridpg cannot fetch the result of a write whose triggers "
                      "it fires itself in pieces (Execute with a row limit)")


async def _node_tokens(dispatcher: Dispatcher, firing: TriggerFiring) -> list[str]:
    """The guard tokens of the triggers fired here, the same on every node of the table
    (read per catalog epoch); a trigger without its guard on a node is refused."""
    coord = dispatcher.coord
    epoch = coord.snapshot.epoch if coord.snapshot is not None else 0
    # (a block that changed the schema reads its own triggers, uncached)
    cache: dict = coord.__dict__.setdefault("trigger_tokens", {}) \
        if dispatcher.runner.private_snapshot is None else {}
    qualified = f"{quote_ident(firing.table.schema)}.{quote_ident(firing.table.name)}"
    tokens: list[str] = []
    for group in firing.table.groups:
        key = (epoch, group, firing.table.schema, firing.table.name)
        found = cache.get(key)
        if found is None:
            conn = await dispatcher.runner.txn.connection(group, wants_block=True)
            rows = await conn.query(_NODE_TRIGGERS_SQL.format(qualified=quote_literal(qualified)))
            found = {name: tg.token_of(definition or "") for name, definition in rows}
            if len(cache) > 5000:
                cache.clear()
            cache[key] = found
        for trigger in (*firing.fired_here, *firing.kept_off):
            token = found.get(trigger.name)
            if token is None:
                raise PgError(FEATURE_NOT_SUPPORTED,
                              f"gridpg cannot fire trigger {trigger.name} of {firing.table.schema}."
                              f"{firing.table.name} on the coordinator: datanode {group} has it without "
                              "gridpg's guard (created by an older gridpg)",
                              hint="Drop the trigger and create it again (CREATE OR REPLACE TRIGGER).")
            tokens.append(token)
    return sorted(set(tokens))


_LEAVES_SQL = """
SELECT c.oid, n.nspname, c.relname, c.oid::pg_catalog.regclass::text
FROM pg_catalog.pg_partition_tree({relid}::oid) t JOIN pg_catalog.pg_class c ON c.oid = t.relid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE t.isleaf AND t.level > 0"""


async def _leaf_partitions(conn: BackendConnection, firing: TriggerFiring) -> dict[str, tuple[int, str, str]] | None:
    """For a write through a partitioned table: its leaf partitions by the name
    `tableoid::regclass` gives them under the session's path, each (oid, schema, name) on
    the catalog server; None for any other table. PostgreSQL fires a partitioned table's
    row triggers as the partition's (cloned there): TG_TABLE_NAME, TG_RELID and
    TG_TABLE_SCHEMA name the partition that holds the row (h-trig24: the audit trigger
    recorded the parent's name; a MERGE's actions too, h-probe28)."""
    if not firing.relid or firing.event not in ("INSERT", "UPDATE", "DELETE", "MERGE"):
        return None
    if firing.kept_off and firing.event == "UPDATE":
        return None  # (rows moving between nodes: no tableoid to read; the parent's names)
    await conn.settle()
    rows = await conn.query(_LEAVES_SQL.format(relid=int(firing.relid)))
    if not rows:
        return None
    return {text or "": (int(oid or 0), schema or "", name or "") for oid, schema, name, text in rows}


_LEAF_CONSTRAINTS_SQL = """
SELECT c.oid, n.nspname, c.relname, pg_catalog.pg_get_partition_constraintdef(c.oid)
FROM pg_catalog.pg_partition_tree({relid}::oid) t JOIN pg_catalog.pg_class c ON c.oid = t.relid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE t.isleaf AND t.level > 0"""


async def row_partition_firings(conn: BackendConnection, firing: TriggerFiring, qualified: str,
                                firings: list[tg.Firing], rows: list[str]) -> list[list[tg.Firing]]:
    """The BEFORE ROW `firings` for each of `rows` (the table's rows as text: a new row of
    an INSERT, the old row of an UPDATE or DELETE) as PostgreSQL fires them on a
    partitioned table: cloned on the partition that holds the row, so TG_TABLE_NAME,
    TG_RELID and TG_TABLE_SCHEMA name that partition (h-probe28: the coordinator named the
    parent). The partition is the leaf whose partition constraint the row meets, decided
    on the catalog server, whose empty partitions carry the bounds."""
    if not firings or not rows or not firing.relid:
        return [firings] * len(rows)
    await conn.settle()
    leaves = await conn.query(_LEAF_CONSTRAINTS_SQL.format(relid=int(firing.relid)))
    if not leaves:
        return [firings] * len(rows)
    cases = " ".join(f"WHEN {condition or 'true'} THEN {n}" for n, (_, _, _, condition) in enumerate(leaves))
    values = ", ".join(quote_literal(row) for row in rows)
    found = await conn.query(f"SELECT CASE {cases} END FROM pg_catalog.unnest(ARRAY[{values}]::{qualified}[]) "
                             "WITH ORDINALITY AS gp_rows ORDER BY gp_rows.ordinality")
    out = []
    for (index,) in found:
        if index is None:
            out.append(firings)  # (no partition takes it: PostgreSQL's error comes on storing)
            continue
        oid, schema, name, _ = leaves[int(index)]
        out.append([dataclasses.replace(f, relid=int(oid or 0), schema=schema or "", table=name or "")
                    for f in firings])
    return out


async def _run_on_datanodes(dispatcher: Dispatcher, request: ExecRequest, firing: TriggerFiring,
                            tokens: list[str], leaves: dict[str, tuple[int, str, str]] | None = None,
                            ) -> tuple[list[tuple[str | None, str | None]], list[bytes],
                                       list[tuple[int, str, str]] | None]:
    """The write on the datanodes, the triggers fired here kept off them; the (old, new)
    rows it changed, what the client is to receive, and (`leaves`: the partitions of a
    partitioned table, `_leaf_partitions`) the partition of each row."""
    from gridpg.executor import prepared
    from gridpg.executor.run import run_statement

    runner = dispatcher.runner
    nodes = []
    for group in firing.table.groups:
        conn = await runner.txn.connection(group, wants_block=True)
        await conn.settle()
        nodes.append(conn)
    await _set_skip(nodes, tg.skip_value(tokens))
    sql, user_columns = with_returning(request.sql, firing.event, leaf=leaves is not None)
    extra = 3 if leaves is not None else 2
    formats = list(request.result_formats)
    if len(formats) > 1:
        formats += [0] * extra
    session = dispatcher.session
    saved, session.out = session.out, []
    try:
        await run_statement(dispatcher, dataclasses.replace(request, sql=sql, result_formats=formats))
        await prepared.finish_cycles(dispatcher)
        captured = session.out
    finally:
        session.out = saved
    for conn in nodes:
        await conn.settle()
    await _set_skip(nodes, "")
    if leaves is None:
        return (*_split_output(captured, user_columns, request.simple), None)
    found: list[str | None] = []
    rows, out = _split_output(captured, user_columns, request.simple, found)
    row_leaves = []
    for text in found:
        leaf = leaves.get(text or "")
        if leaf is None:
            raise PgError(FEATURE_NOT_SUPPORTED, f"gridpg cannot tell which partition of {firing.table.schema}."
                          f"{firing.table.name} holds a row it wrote ({text}), to fire its triggers as that "
                          "partition's")
        row_leaves.append(leaf)
    return rows, out, row_leaves


async def _truncate_on_datanodes(dispatcher: Dispatcher, request: ExecRequest, firing: TriggerFiring,
                                 tokens: list[str]) -> list[bytes]:
    """TRUNCATE on the table's datanodes only: the catalog servers' copies are empty, and
    their TRUNCATE triggers would run the functions there (the coordinator fires them)."""
    txn = dispatcher.runner.txn
    for group in firing.table.groups:
        conn = await txn.connection(group, wants_block=True)
        txn.mark_written(group)
        await conn.settle()
        await _set_skip([conn], tg.skip_value(tokens))
        await conn.simple_query(request.sql)
        await _set_skip([conn], "")
    return [codec.build_command_complete("TRUNCATE TABLE")]


async def _set_skip(nodes: list[BackendConnection], value: str) -> None:
    for conn in nodes:
        await conn.query(f"SELECT pg_catalog.set_config({quote_literal(tg.SKIP_SETTING)}, "
                         f"{quote_literal(value)}, true)")


def with_returning(sql: str, event: str, leaf: bool = False) -> tuple[str, int | None]:
    """The statement with the changed rows' old and new values returned last (`leaf`: and
    then the partition holding each row, `tableoid::regclass` as text); and how many
    RETURNING columns the client asked for itself (None: no RETURNING)."""
    if event == "TRUNCATE":
        return sql, None
    tree = sqlparse.parse_tree(sql)
    kind = sqlparse.node_type(tree)
    returning = (tree[kind].get("returningClause") or {}).get("exprs")
    toks = [t for t in sqlparse.tokens(sql) if t.name not in ("C_COMMENT", "SQL_COMMENT")]
    while toks and toks[-1].name == "ASCII_59":
        toks.pop()
    extra = "gp_old::text AS gp_old, gp_new::text AS gp_new"
    if leaf:
        extra += ", tableoid::pg_catalog.regclass::text AS gp_leaf"
    end = toks[-1].end + 1
    if not returning:
        return f"{sql[:end]} RETURNING WITH (OLD AS gp_old, NEW AS gp_new) {extra}", None
    if _names_old_or_new(returning):  # the client's own RETURNING old.x / new.x keeps them
        more = ", tableoid::pg_catalog.regclass::text AS gp_leaf" if leaf else ""
        return f"{sql[:end]}, old::text AS gp_old, new::text AS gp_new{more}", len(returning)
    keyword = next(t for t in toks if t.name == "RETURNING")
    text = (f"{sql[:keyword.end + 1]} WITH (OLD AS gp_old, NEW AS gp_new) {sql[keyword.end + 1:end]}, "
            f"{extra}")
    return text, len(returning)


def _names_old_or_new(node: object) -> bool:
    if isinstance(node, dict):
        ref = node.get("ColumnRef")
        if isinstance(ref, dict):
            first = (ref.get("fields") or [{}])[0].get("String", {}).get("sval", "")
            if first in ("old", "new"):
                return True
        return any(_names_old_or_new(v) for v in node.values())
    if isinstance(node, list):
        return any(_names_old_or_new(v) for v in node)
    return False


def _split_output(captured: list[bytes], user_columns: int | None, simple: bool,
                  leaves: list[str | None] | None = None,
                  ) -> tuple[list[tuple[str | None, str | None]], list[bytes]]:
    """The (old, new) rows and the client's messages; `leaves`: gets each row's partition
    (a third added column)."""
    rows: list[tuple[str | None, str | None]] = []
    out: list[bytes] = []
    added = 2 if leaves is None else 3
    for message in captured:
        kind = message[:1]
        if kind == b"T":
            columns = codec.parse_row_description(message[5:])
            if user_columns:
                out.append(codec.build_row_description(columns[:-added]))
        elif kind == b"D":
            values = codec.parse_data_row(message[5:])
            old, new = values[-added], values[-added + 1]
            rows.append((old.decode() if old is not None else None, new.decode() if new is not None else None))
            if leaves is not None:
                leaf = values[-1]
                leaves.append(leaf.decode() if leaf is not None else None)
            if user_columns:
                out.append(codec.build_data_row(values[:-added]))
        else:
            out.append(message)
    return rows, out


# -- COPY FROM STDIN -------------------------------------------------------------------


_COPY_ROWS = "gp_copy_rows"


async def _copy_as_insert(dispatcher: Dispatcher, conn: BackendConnection, firing: TriggerFiring,
                          request: ExecRequest) -> ExecRequest:
    """COPY ... FROM STDIN into a table whose triggers the coordinator fires: the client's
    data goes, as it is, into a temp table shaped like the table on the catalog connection
    (PostgreSQL's own COPY reads every format and option, and its WHERE), and the rows come
    back as an INSERT of typed literals, which then runs like any INSERT firing those
    triggers (RETURNING gives the rows the triggers need; the tag becomes COPY's)."""
    import pglast
    from pglast import ast
    from pglast.stream import RawStream

    from gridpg.executor import relay

    table = firing.table
    qualified = f"{quote_ident(table.schema)}.{quote_ident(table.name)}"
    stmt = pglast.parse_sql(request.sql)[0].stmt
    if stmt.filename is not None or stmt.is_program or stmt.query is not None:
        raise PgError(FEATURE_NOT_SUPPORTED, f"gridpg fires the triggers of {table.schema}.{table.name} "
                      "for COPY ... FROM STDIN only, not from a file or program")
    columns = [c.sval for c in stmt.attlist] if stmt.attlist else [
        name or "" for name, in await conn.query(
            "SELECT attname FROM pg_catalog.pg_attribute WHERE attrelid = "
            f"{quote_literal(qualified)}::regclass AND attnum > 0 AND NOT attisdropped "
            "AND attgenerated = '' ORDER BY attnum")]
    temp = f"pg_temp.{_COPY_ROWS}"
    await conn.settle()
    await conn.simple_query(f"CREATE TEMP TABLE {_COPY_ROWS} ON COMMIT DROP AS SELECT "
                            f"{', '.join(quote_ident(c) for c in columns)} FROM {qualified} WITH NO DATA")
    stmt.relation = ast.RangeVar(relname=_COPY_ROWS, schemaname="pg_temp", inh=True, relpersistence="p")
    stmt.attlist = tuple(ast.String(sval=c) for c in columns)
    conn.send(codec.build_query(str(RawStream()(stmt))))
    started = await relay.finish_simple(conn, lambda _: None)
    if not started.copy_in:
        raise started.error or PgError("XX000", "the catalog server did not start the COPY")
    await dispatcher.relay_copy_in(conn, started, emit=lambda _: None)
    types = await conn.query(f"SELECT pg_catalog.format_type(atttypid, atttypmod) FROM pg_catalog.pg_attribute "
                             f"WHERE attrelid = {quote_literal(temp)}::regclass AND attnum > 0 ORDER BY attnum")
    rows = await conn.query(f"SELECT {', '.join(quote_ident(c) + '::text' for c in columns)} FROM {temp}")
    await conn.simple_query(f"DROP TABLE {temp}")
    names = ", ".join(quote_ident(c) for c in columns)
    if not rows:
        sql = f"INSERT INTO {qualified} ({names}) SELECT {names} FROM {qualified} WHERE false"
    else:
        values = ", ".join("(" + ", ".join("NULL" if v is None else f"{quote_literal(v)}::{t}"
                                           for v, (t,) in zip(row, types)) + ")" for row in rows)
        sql = f"INSERT INTO {qualified} ({names}) VALUES {values}"
    return dataclasses.replace(request, sql=sql)


# -- BEFORE ROW INSERT triggers fired here -----------------------------------------------


async def _fire_before_rows(dispatcher: Dispatcher, conn: BackendConnection, firing: TriggerFiring,
                            twins: dict[str, str], request: ExecRequest) -> ExecRequest:
    """The INSERT with its rows as its BEFORE ROW triggers return them. PostgreSQL makes
    each new row (the statement's values, the defaults of the columns it leaves out), fires
    the BEFORE ROW triggers on it in name order, and stores what the last one returns
    (nothing when one returns NULL). Here: (1) the statement's own rows are made on the
    catalog connection with the loopback armed, by the statement itself aimed at a temp
    table shaped like the table's shadow (its defaults: those the loopback gives, sequences
    from the GTM), with no constraints (a trigger may fill a NOT NULL column); (2) each row
    goes through the triggers' twins, one round trip per row; (3) the statement becomes an
    INSERT of the resulting rows, run on the datanodes with the triggers kept off there
    (its RETURNING, AFTER triggers and constraints are the stored rows'). The guard admits
    only statements whose rows need no table and call no user routine or sequence, and
    triggers that do not read or write their own table (executor/routines.py)."""
    table = firing.table
    qualified = f"{quote_ident(table.schema)}.{quote_ident(table.name)}"
    runner = getattr(dispatcher.runner, "caller", dispatcher.runner)
    if firing.role is not None:
        raise PgError(FEATURE_NOT_SUPPORTED, "gridpg cannot fire SECURITY DEFINER BEFORE ROW triggers "
                      "that reach other distributed tables")
    columns = await dispatcher.coord.table_columns(dispatcher.runner, table)  # (cached per epoch)
    refuse_generated_values(request.sql, columns)
    if request.params and not request.simple and "InsertStmt" in (tree := sqlparse.parse_tree(request.sql)) \
            and tree["InsertStmt"].get("onConflictClause"):
        # (a parameter of ON CONFLICT only: unused by the rows made here, its type unknown)
        from gridpg.executor.multi import inline_params

        request = dataclasses.replace(request, sql=await inline_params(dispatcher, request, request.sql),
                                      params=[], param_formats=[], param_oids=[], decode_oids=[])
    original = await arm_loopback(dispatcher, conn)
    runner.loopback_calls += 1
    try:
        rows = await _new_rows(conn, request, table, columns)
        firings = [tg.Firing(t, twins[t.name], firing.relid, table.schema, table.name) for _, t in firing.before_row]
        kept: list[str] = []
        by_row = await row_partition_firings(conn, firing, qualified, firings, rows)
        for row, row_firings in zip(rows, by_row):
            conn.notices.clear()
            try:
                result = await conn.query(tg.before_row_sql(row_firings, qualified, row))
            finally:
                for notice in conn.notices:
                    dispatcher.session.send(notice)
                conn.notices.clear()
            if result and result[0][0] is not None:
                kept.append(result[0][0])
    finally:
        runner.loopback_calls -= 1
    await disarm_loopback(conn, original)
    # (a table with stored generated columns: the others only; the datanodes compute those
    # after the triggers, as PostgreSQL does)
    stored = [c.name for c in columns if not c.generated] if any(c.generated for c in columns) else None
    return dataclasses.replace(request, sql=stored_rows_insert(request.sql, qualified, kept, stored),
                               params=[], param_formats=[], param_oids=[], decode_oids=[])


def refuse_generated_values(sql: str, columns: list[TableColumn]) -> None:
    """PostgreSQL's refusal (428C9) of an INSERT that gives a generated column, or an
    identity column GENERATED ALWAYS without OVERRIDING SYSTEM VALUE, a value other than
    DEFAULT: the rows made here go through a temp copy where those are plain columns, which
    would take the value silently."""
    import pglast
    from pglast import ast
    from pglast.enums import OverridingKind

    stmt = pglast.parse_sql(sql)[0].stmt
    if not any(c.generated or c.identity == "a" for c in columns):
        return  # (OVERRIDING USER VALUE is refused before: routines' `_before_rows_here`)
    by_name = {c.name: c for c in columns}
    targets = [t.name for t in stmt.cols] if stmt.cols else [c.name for c in columns]
    overriding = stmt.override == OverridingKind.OVERRIDING_SYSTEM_VALUE
    positions = [(i, by_name[name]) for i, name in enumerate(targets) if name in by_name
                 and (by_name[name].generated or (by_name[name].identity == "a" and not overriding))]
    source = stmt.selectStmt
    if not positions or source is None:
        return  # (DEFAULT VALUES)
    rows = source.valuesLists if source.valuesLists else None
    for i, column in positions:
        if rows is None or any(i < len(row) and not isinstance(row[i], ast.SetToDefault) for row in rows):
            if column.generated:
                raise PgError("428C9", f'cannot insert a non-DEFAULT value into column "{column.name}"',
                              detail=f'Column "{column.name}" is a generated column.')
            raise PgError("428C9", f'cannot insert a non-DEFAULT value into column "{column.name}"',
                          detail=f'Column "{column.name}" is an identity column defined as GENERATED ALWAYS.',
                          hint="Use OVERRIDING SYSTEM VALUE to override.")


_NEW_ROWS = "gp_new_rows"


async def _new_rows(conn: BackendConnection, request: ExecRequest, table: DistTable,
                    columns: list[TableColumn]) -> list[str]:
    """The statement's new rows before any trigger, as text of the table's row type, as
    PostgreSQL's BEFORE ROW triggers see them: generated columns NULL (the shadow's
    stand-in default for a virtual one raises: dropped here), an identity column GENERATED
    ALWAYS its sequence's next value from the GTM (the shadow makes it a generated column,
    which LIKE leaves a plain one without default)."""
    from gridpg.executor.loopback import nextval_call

    from gridpg.executor import relay
    from gridpg.executor.loopback import SHADOW_PREFIX

    found = await conn.query(f"SELECT oid FROM pg_catalog.pg_namespace WHERE nspname = {quote_literal(table.schema)}")
    shadow = f"{quote_ident(SHADOW_PREFIX + (found[0][0] or ''))}.{quote_ident(table.name)}"
    temp = f"pg_temp.{_NEW_ROWS}"
    await conn.simple_query(f"CREATE TEMP TABLE {_NEW_ROWS} (LIKE {shadow} INCLUDING DEFAULTS) ON COMMIT DROP")
    not_null = await conn.query(f"SELECT attname FROM pg_catalog.pg_attribute WHERE attrelid = "
                                f"{quote_literal(temp)}::regclass AND attnum > 0 AND attnotnull")
    changes = [f"ALTER COLUMN {quote_ident(name or '')} DROP NOT NULL" for name, in not_null]
    changes += [f"ALTER COLUMN {quote_ident(c.name)} DROP DEFAULT" for c in columns if c.generated]
    # (the default is coerced to the column's type, as any column default)
    changes += [f"ALTER COLUMN {quote_ident(c.name)} SET DEFAULT {nextval_call(c.sequence)}"
                for c in columns if c.identity == "a" and c.sequence]
    if changes:
        await conn.simple_query(f"ALTER TABLE {temp} " + ", ".join(changes))
    sql = new_rows_insert(request.sql, _NEW_ROWS)
    try:
        if request.params and not request.simple:
            relay.start_extended(conn, sql, request.param_oids, request.params, request.param_formats,
                                 [], 0, sync=True)
            result = await relay.finish_extended(conn, lambda _: None, through_ready=True)
            await conn.settle()
            if result.error is not None:
                raise result.error
        else:
            await conn.simple_query(sql)
        # (`r.*`: the whole row even when the table has a column named r, which `r` alone
        # would read: the row came back NULL, "malformed record literal")
        rows = await conn.query(f"SELECT (r.*)::text FROM {temp} AS r")
    finally:
        await conn.settle()
        if conn.txn_status != b"E":
            await conn.simple_query(f"DROP TABLE IF EXISTS {temp}")
    return [r[0] or "" for r in rows]


def new_rows_insert(sql: str, temp: str) -> str:
    """The client's INSERT aimed at the temp table `temp` (alias kept), without RETURNING."""
    import pglast
    from pglast import ast
    from pglast.stream import RawStream

    stmt = pglast.parse_sql(sql)[0].stmt
    relation = stmt.relation
    stmt.relation = ast.RangeVar(relname=temp, schemaname="pg_temp", inh=True, relpersistence="p",
                                 alias=relation.alias)
    stmt.returningClause = None
    stmt.onConflictClause = None  # (the temp table has no constraints; the stored rows keep it)
    return str(RawStream()(stmt))


def stored_rows_insert(sql: str, qualified: str, rows: list[str], columns: list[str] | None = None) -> str:
    """An INSERT of `rows` (text of the table's row type) in their order, with the client's
    alias and RETURNING: what the datanodes store once the BEFORE ROW triggers ran. With
    `columns`, only those are given (the others, generated, are computed where stored)."""
    import pglast
    from pglast.stream import RawStream

    stmt = pglast.parse_sql(sql)[0].stmt
    alias = f" AS {quote_ident(stmt.relation.alias.aliasname)}" if stmt.relation.alias else ""
    returning = ""  # (and ON CONFLICT before it)
    if stmt.returningClause is not None or stmt.onConflictClause is not None:
        # (the deparsed text with them, less the text without)
        whole = str(RawStream()(stmt))
        stmt.returningClause = stmt.onConflictClause = None
        returning = whole[len(str(RawStream()(stmt))):]
    array = "ARRAY[" + ", ".join(quote_literal(r) for r in rows) + "]::text[]"
    names = values = ""
    if columns is None:
        values = f"(gp_row.r::{qualified}).*"
    else:
        names = " (" + ", ".join(quote_ident(c) for c in columns) + ")"
        values = ", ".join(f"(gp_row.r::{qualified}).{quote_ident(c)}" for c in columns)
    return (f"INSERT INTO {qualified}{alias}{names} OVERRIDING SYSTEM VALUE SELECT {values} "
            f"FROM pg_catalog.unnest({array}) WITH ORDINALITY AS gp_row(r, n) ORDER BY gp_row.n{returning}")


# -- firing on the catalog server --------------------------------------------------------


def _upsert_transitions(firing: TriggerFiring) -> bool:
    """An INSERT ... ON CONFLICT DO UPDATE whose AFTER STATEMENT triggers name transition
    tables (row-level ones with them stay refused: `why_not_fired_here`)."""
    return firing.event == "INSERT" and any(event == "UPDATE" for event, _ in firing.after_statement) \
        and any(t.transition for _, t in firing.after_statement)


async def _fire_upsert_statements(dispatcher: Dispatcher, conn: BackendConnection, firing: TriggerFiring,
                                  twins: dict[str, str], rows: list[tuple[str | None, str | None]]) -> None:
    """The AFTER STATEMENT triggers of an INSERT ... ON CONFLICT DO UPDATE, one by one in
    PostgreSQL's order, each seeing in its transition tables the rows of its own event: an
    INSERT trigger's NEW TABLE the inserted rows (returned without OLD), an UPDATE
    trigger's OLD and NEW TABLE the updated ones, as PostgreSQL keeps one transition
    capture per event (the two triggers of triggers.sql:2234 both name theirs new_table,
    so the tables are made again for each trigger)."""
    for pair in firing.after_statement:
        event, trigger = pair
        kept = [r for r in rows if (r[0] is None) == (event == "INSERT")]
        transition = await _load_transition_tables(conn, firing, kept, (pair,)) if trigger.transition else []
        await _fire(dispatcher, conn, firing, twins, (pair,), "AFTER", "STATEMENT", [(None, None)])
        await _drop_transition_tables(conn, transition)


async def _load_transition_tables(conn: BackendConnection, firing: TriggerFiring,
                                  rows: list[tuple[str | None, str | None]],
                                  pairs: tuple[tuple[str, tg.Trigger], ...] | None = None) -> list[str]:
    """The transition tables the AFTER triggers name (REFERENCING OLD/NEW TABLE AS ...),
    as temp tables of those names on the catalog connection, holding the statement's old
    or new rows (PostgreSQL's are ephemeral relations the function finds by name);
    `pairs`: those of these triggers only."""
    wanted: dict[str, int] = {}
    for _, trigger in (pairs if pairs is not None else (*firing.after_row, *firing.after_statement)):
        if trigger.new_table:
            wanted[trigger.new_table] = 1
        if trigger.old_table:
            wanted[trigger.old_table] = 0
    if not wanted:
        return []
    table = firing.table
    qualified = f"{quote_ident(table.schema)}.{quote_ident(table.name)}"
    await conn.settle()
    for name, side in wanted.items():
        values = [r[side] for r in rows if r[side] is not None]
        array = "ARRAY[" + ", ".join(quote_literal(v) for v in values) + "]::text[]"
        await conn.simple_query(
            f"CREATE TEMP TABLE {quote_ident(name)} (LIKE {qualified}) ON COMMIT DROP; "
            f"INSERT INTO pg_temp.{quote_ident(name)} SELECT (r::{qualified}).* FROM pg_catalog.unnest({array}) AS r")
    return list(wanted)


async def _drop_transition_tables(conn: BackendConnection, names: list[str]) -> None:
    if not names:
        return
    await conn.settle()
    await conn.simple_query("; ".join(f"DROP TABLE pg_temp.{quote_ident(n)}" for n in names))


async def _fire(dispatcher: Dispatcher, conn: BackendConnection, firing: TriggerFiring, twins: dict[str, str],
                triggers: tuple[tuple[str, tg.Trigger], ...], timing: str, level: str,
                rows: list[tuple[str | None, str | None]],
                row_leaves: list[tuple[int, str, str]] | None = None) -> None:
    """Fire `triggers` for each row in order (statement level: once each, no row),
    through their twins on the catalog connection `conn` with the loopback armed."""
    if not triggers or not rows:
        return
    runner = getattr(dispatcher.runner, "caller", dispatcher.runner)  # whose transaction it is
    table = firing.table
    firings = [(e, tg.Firing(t, twins[t.name], firing.relid, table.schema, table.name)) for e, t in triggers]
    if firing.role is None:
        await _fire_armed(dispatcher, conn, firing, firings, timing, level, rows, row_leaves)
        return
    # SECURITY DEFINER functions of one owner: their bodies run as the owner on the catalog
    # connection (set before arming: `$user` in the path is the owner's, as in PostgreSQL)
    # and their statements on the datanodes (the loopback's role); the twin itself is not
    # SECURITY DEFINER, so that nobody gains the owner's rights by calling it directly
    from gridpg.executor.loopback import restore_role

    if runner.loopback_role is not None or runner is not dispatcher.runner:
        raise PgError(FEATURE_NOT_SUPPORTED, "gridpg cannot fire SECURITY DEFINER trigger functions "
                      "for a write made by other server-side code")
    await conn.settle()
    await conn.simple_query(f"SET LOCAL SESSION AUTHORIZATION {quote_ident(firing.role)}")
    runner.loopback_role = firing.role
    runner.loopback_switched = set()
    try:
        await _fire_armed(dispatcher, conn, firing, firings, timing, level, rows, row_leaves)
        state = runner.state  # (after an error the rollback puts them back)
        await conn.simple_query(f"SET LOCAL SESSION AUTHORIZATION {quote_ident(state.session_user)}; "
                                f"SET LOCAL ROLE {'NONE' if state.role is None else quote_ident(str(state.role))}")
        await restore_role(runner)
    finally:
        runner.loopback_role = None


async def _fire_armed(dispatcher: Dispatcher, conn: BackendConnection, firing: TriggerFiring,
                      firings: list[tuple[str, tg.Firing]], timing: str, level: str,
                      rows: list[tuple[str | None, str | None]],
                      row_leaves: list[tuple[int, str, str]] | None = None) -> None:
    runner = getattr(dispatcher.runner, "caller", dispatcher.runner)  # whose transaction it is
    table = firing.table
    qualified = f"{quote_ident(table.schema)}.{quote_ident(table.name)}"
    original = await arm_loopback(dispatcher, conn)
    touched = dict(await conn.query(TOUCHED_SQL)) if firing.dynamic else {}
    runner.loopback_calls += 1
    try:
        batch: list[str] = []
        leaves = row_leaves if level == "ROW" and row_leaves is not None and len(row_leaves) == len(rows) else None
        for n, (old, new) in enumerate(rows):
            if level == "STATEMENT":
                batch.extend(tg.fire_sql([f], e, timing, level, qualified, None, None) for e, f in firings)
            else:
                event = firing.row_event(old, new)
                chosen = [f for e, f in firings if e == event]
                if leaves is not None:  # (the partition's TG_TABLE_NAME, TG_RELID, TG_TABLE_SCHEMA)
                    oid, schema, name = leaves[n]
                    chosen = [dataclasses.replace(f, relid=oid, schema=schema, table=name) for f in chosen]
                if chosen:
                    batch.append(tg.fire_sql(chosen, event, timing, level, qualified, new, old))
            if len(batch) >= 50:
                await _run_batch(dispatcher, conn, batch)
                batch = []
        if batch:
            await _run_batch(dispatcher, conn, batch)
    finally:
        runner.loopback_calls -= 1
    if firing.dynamic:
        await conn.settle()
        check_untouched(touched, dict(await conn.query(TOUCHED_SQL)))
    await disarm_loopback(conn, original)


async def _run_batch(dispatcher: Dispatcher, conn: BackendConnection, batch: list[str]) -> None:
    conn.notices.clear()
    try:
        await conn.simple_query("; ".join(batch))
    finally:
        for notice in conn.notices:
            dispatcher.session.send(notice)
        conn.notices.clear()


async def arm_loopback(dispatcher: Dispatcher, conn: BackendConnection) -> str:
    """The loopback's two local settings on the catalog connection (executor/loopback.py):
    the shadowed search_path and the application name carrying this session's token."""
    coord = dispatcher.coord
    runner = dispatcher.runner
    tag = coord.loopback_tokens.tag(getattr(runner, "caller", runner), conn, coord.worker)
    if not getattr(runner, "is_loopback", False):
        # The session's own catalog block: once the twins reach the cluster there it cannot
        # PREPARE, so it decides the 2PC if it also writes (DDL later in the block;
        # txn/transaction.py `_choose_decider`). Else that DDL's COMMIT failed (0A000).
        runner.txn.loopback_node = coord.catalog_node
    await conn.settle()
    # (and the transaction's instant, which the twins read for now(): the catalog server's
    # own transaction start is not the one the datanodes and the client's now() have)
    instant = runner.txn.time_pins().transaction
    rows = await conn.query(
        "SELECT o, pg_catalog.set_config('search_path', gridpg.loopback_path(), true), "
        f"pg_catalog.set_config('postgres_fdw.application_name', {quote_literal(tag)}, true), "
        f"pg_catalog.set_config({quote_literal(xact_time.SETTING)}, {quote_literal(instant)}, true) "
        "FROM (SELECT pg_catalog.current_setting('search_path') AS o) s")
    return rows[0][0] or ""


async def disarm_loopback(conn: BackendConnection, original: str) -> None:
    """`arm_loopback`'s two settings put back: the search_path it returned, no token."""
    await conn.settle()
    await conn.simple_query(
        f"SELECT pg_catalog.set_config('search_path', {quote_literal(original)}, true), "
        "pg_catalog.set_config('postgres_fdw.application_name', '', true)")


# -- twins -------------------------------------------------------------------------------


async def ensure_twins(coord: Coordinator, firing: TriggerFiring, in_block: Any = None) -> dict[str, str]:
    """The twin function of each trigger fired here, by trigger name; made on this
    coordinator's catalog server when missing (its name carries a digest of the body).
    `in_block`: the runner of a block that changed the schema, whose catalog connection
    alone sees a trigger function it made: read there, and a missing twin made there (as the
    login), committed or rolled back with the block."""
    oids = sorted({t.function_oid for t in firing.fired_here})
    if not oids:
        return {}
    if in_block is not None:
        conn = await in_block.txn.connection(coord.catalog_node, wants_block=True)
        await conn.settle()
        return await _twins_on(coord, firing, conn, oids, in_block)
    conn = await coord.internal_acquire(coord.catalog_node)
    pool = coord.pools.pool(coord.catalog_node)
    try:
        twins = await _twins_on(coord, firing, conn, oids, None)
    except BaseException:
        pool.discard(conn)
        raise
    pool.release(conn)
    return twins


async def _twins_on(coord: Coordinator, firing: TriggerFiring, conn: BackendConnection, oids: list[int],
                    in_block: Any) -> dict[str, str]:
    made: dict = coord.__dict__.setdefault("trigger_twins", {})
    rows = await conn.query(_FUNCTIONS_SQL.format(oids=", ".join(str(o) for o in oids)))
    upserting = any(plpgsql_upsert.may_take_over(row[1] or "") for row in rows)
    # (an internal connection, and twins kept for every session: no search path of theirs)
    targets = await upsert_columns(conn, firing.shadows if upserting else (), path=())
    names: dict[int, str] = {}
    schemas: dict[str, str] | None = None
    titles: dict[str, str] = coord.__dict__.setdefault("trigger_twin_titles", {})
    for oid, source, language, config, secdef, own_path, title in rows:
        if language != "plpgsql" or config or (secdef == "t" and firing.role is None):
            raise PgError(FEATURE_NOT_SUPPORTED,
                          f"gridpg cannot fire trigger function {oid} on the coordinator: only "
                          "PL/pgSQL functions without SET clauses other than search_path")
        path = None
        if own_path is not None:  # its own SET search_path: the shadows before its schemas
            schemas = schemas if schemas is not None else dict(await conn.query(_SCHEMAS_SQL))
            path = shadowed_path(own_path, schemas)
        # (its upserts into distributed tables run by the coordinator: the twin's name
        # carries the rewritten body, which changes when a table becomes distributed,
        # and the path, which names the shadow schemas by oid)
        source = plpgsql_upsert.rewrite_body(tg.twin_sql("f", source or ""), source or "", targets)
        # (dynamic text naming tables with their schema: asks the coordinator for the shadows)
        source = plpgsql_dynamic.wrap_body(tg.twin_sql("f", source), source)
        if firing.shadows:  # (`INSERT INTO app.audit ...`: the shadow of app.audit)
            schemas = schemas if schemas is not None else dict(await conn.query(_SCHEMAS_SQL))
            source = qualified_to_shadows(source, firing.shadows, schemas)
        # (now() and the like: the instant the coordinator gives the whole transaction, as
        # the datanodes' copies of trigger functions read it: h-trig24)
        source = trigger_relation.pin_time_reads(source)
        name = tg.twin_name(int(oid or 0), source, "" if path is None else repr(path))
        names[int(oid or 0)] = name
        titles[name] = title or name
        if name in made:
            continue
        if in_block is None:
            await conn.simple_query(_create_twin_sql(name, source or "", path))
            made[name] = True
        else:  # (not noted as made: the block may roll back)
            await conn.simple_query(as_login(in_block, _create_twin_sql(name, source or "", path, in_block=True)))
    return {t.name: names[t.function_oid] for t in firing.fired_here}


def qualified_to_shadows(source: str, tables: Iterable[tuple[str, str]], schemas: dict[str, str]) -> str:
    """A trigger function's body with each `schema.table` of the distributed tables (and
    views over them) it reaches naming that table's shadow, as a routine's twin does
    (`twins.redirect_names`: PostgreSQL's scanner; strings, quoted names and comments are
    tokens of their own). Its unqualified names find the shadows by the armed search path.
    The body is read again after: a distributed table still named with its schema (a
    spelling the rewriting missed) would be the catalog server's empty copy, so the firing
    is refused instead (0A000)."""
    shadows = {key: f"{SHADOW_PREFIX}{schemas[key[0]]}" for key in tables if key[0] in schemas}
    if not shadows:
        return source
    rewritten = redirect_names(source, shadows)
    refuse_missed_names(qualified_relations(tg.twin_sql("f", rewritten)), shadows)
    return rewritten


def shadowed_path(value: str, schemas: dict[str, str]) -> tuple[str, ...]:
    """A stored search_path value (`tsp, "App X", pg_temp`) with each schema's shadow
    schema just before it and the sequence functions' schema first, as the loopback arms a
    session's path (loopback_path())."""
    out: list[str] = []
    for element in path_elements(value):
        if element in schemas and not element.startswith(("pg_", "$")):
            out.append(f"{SHADOW_PREFIX}{schemas[element]}")
        out.append(element)
    return tuple(calls_path(out))


def _create_twin_sql(name: str, source: str, search_path: tuple[str, ...] | None = None,
                     in_block: bool = False) -> str:
    signature = f"{tg.TWIN_SCHEMA}.{quote_ident(name)}(record, record, text, name, text, text, oid, name, name, name, integer, text[])"
    create = tg.twin_sql(name, source, search_path)
    schema = quote_ident(tg.TWIN_SCHEMA)
    ext = "ALTER EXTENSION postgres_fdw"
    make_schema = quote_literal(f"CREATE SCHEMA {schema}; GRANT USAGE ON SCHEMA {schema} TO PUBLIC; "
                                f"{ext} ADD SCHEMA {schema}")
    add = quote_literal(f"{ext} ADD FUNCTION {signature}")
    tag = "$gp_twin$"
    while tag in create:
        tag = tag[:-1] + "x$"
    body = [
        (f"DO {tag} BEGIN IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = "
         f"{quote_literal(tg.TWIN_SCHEMA)}) THEN EXECUTE {make_schema}; END IF; END {tag}"),
        (f"DO {tag} BEGIN IF pg_catalog.to_regprocedure({quote_literal(signature)}) IS NULL THEN "
         f"EXECUTE {quote_literal(create)}; EXECUTE {add}; END IF; END {tag}"),
    ]
    if in_block:
        return "; ".join(body)
    return "; ".join(["BEGIN", "SET LOCAL lock_timeout = '5s'",
                      "SELECT pg_catalog.pg_advisory_xact_lock(7340212)", *body, "COMMIT"])
