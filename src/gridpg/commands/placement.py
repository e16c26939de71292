"""`SELECT gridpg_switch_placement(change)`: the switch step of an online shard move.

The rebalancer (cluster/rebalance.py) copies a shard group to its new datanode group and
keeps it current with logical replication; this function does the short part that must
not race with writes, inside the coordinator that owns the pause gate:

  1. PAUSE CLUSTER, bounded: new transactions wait at the gate and the running ones
     finish; if they do not finish within `PAUSE_BUDGET` the pause is released and the
     call fails with 55P03 (the caller retries later), so no client waits long;
  2. catch-up: a marker row written on the source must have been applied on the target
     (logical replication applies in commit order, so everything before it is there);
  3. one distributed transaction (2PC): ATTACH the copies on the target, DETACH the
     originals on the source, switch the placement on every catalog server;
  4. the metadata epoch is bumped and every coordinator has reloaded (metadata_changed)
     before the pause is released: no transaction plans with the old placement after it;
     the groups' streaming standbys (which read-only coordinators read) get a bounded
     wait to replay the switch.

A stale coordinator that still routed to the source would meet a detached shard there
and fail loudly ("no partition of relation found"), never write where no one reads.

The change is a JSON document (built by cluster/rebalance.py), one of:
  {"kind": "move", "colocation": c, "remainder": r, "source": g1, "target": g2, "marker": m}
  {"kind": "add_reference", "tables": [[schema, table], ...], "source": g1, "target": g2,
   "marker": m}
  {"kind": "release_group", "group": g}
`marker` is {"table": name in gridpg_shards, "value": n}. Superuser only.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import TYPE_CHECKING, Any

from gridpg.catalog import store
from gridpg.catalog.model import CatalogSnapshot, DistTable
from gridpg.errors import (
    FEATURE_NOT_SUPPORTED,
    INSUFFICIENT_PRIVILEGE,
    INVALID_PARAMETER_VALUE,
    UNDEFINED_OBJECT,
    PgError,
)
from gridpg.pgwire import codec
from gridpg.sql.quote import quote_literal, quote_qualified

if TYPE_CHECKING:
    from gridpg.commands.ddl import DdlRunner
    from gridpg.executor.dispatch import Dispatcher, ExecRequest

log = logging.getLogger("gridpg.placement")

FUNCTION = "gridpg_switch_placement"
PAUSE_BUDGET = 0.5  # seconds the running transactions get to finish before we give up
CATCH_UP_BUDGET = 0.5  # seconds the target gets to apply the marker while paused
STANDBY_BUDGET = 0.5  # seconds the groups' standbys get to replay the switch while paused
LOCK_NOT_AVAILABLE = "55P03"
NOT_IN_PREREQUISITE_STATE = "55000"
SHARD_SCHEMA = "gridpg_shards"
MOVED_AWAY = "gridpg_moved_away"  # CHECK (false) on a source shard emptied by its switch
_REQUIRED = {
    "move": ("colocation", "remainder", "source", "target"),
    "add_reference": ("tables", "source", "target"),
    "release_group": ("group",),
}


async def run(dispatcher: Dispatcher, request: ExecRequest, args: list[Any]) -> None:
    """Parse the change, switch it (a move under a shard hold, the others under a bounded
    pause), answer one row ('switched')."""
    if not dispatcher.session.info.is_superuser:
        raise PgError(INSUFFICIENT_PRIVILEGE, f"must be superuser to call {FUNCTION}()")
    change = _parse_change(args, request)
    if change["kind"] == "move":
        await _run_move(dispatcher, request, change)
        return
    gate = dispatcher.coord.pause_gate
    session = dispatcher.session
    if not await gate.pause_within(session, PAUSE_BUDGET, dispatcher.runner.in_block()):
        raise PgError(LOCK_NOT_AVAILABLE, "could not pause the cluster quickly enough for the switch",
                      hint="transactions ran long; the rebalancer retries")
    try:
        if change.get("marker"):
            await _wait_caught_up(dispatcher, change["source"], change["target"], change["marker"])
        await _switch(dispatcher, request, change)
        groups = [change["group"]] if change["kind"] == "release_group" else [change["source"], change["target"]]
        await _wait_standbys_replayed(dispatcher, [str(g) for g in groups])
    finally:
        await gate.unpause(session)


async def _run_move(dispatcher: Dispatcher, request: ExecRequest, change: dict[str, Any]) -> None:
    """A shard group's switch holding only the statements that touch it:

      1. the hold (GTM scope, executor/shard_hold.py): every coordinator worker holds new
         statements touching the shard group and has none of them in flight, within
         `PAUSE_BUDGET`, else 55P03;
      2. in the switch's own 2PC block on the source: `LOCK` of the shard tables, ACCESS
         EXCLUSIVE, `lock_timeout` `PAUSE_BUDGET`: it waits for exactly the transactions
         that read or wrote them before the hold (PostgreSQL's locks, not the coordinators'
         bookkeeping), else 55P03; from here on nothing writes them on the source;
      3. catch-up: a marker written on the source after the lock is applied on the target;
      4. the same 2PC: ATTACH on the target (SHARE UPDATE EXCLUSIVE on its parent: readers
         and writers of the other shards go on), the source shards emptied (TRUNCATE, not
         published) and closed to writes (`CHECK (false)`), the placement switched on every
         catalog server; every coordinator reloads before the hold ends.
    The source parent is never locked as a whole (a DETACH would take ACCESS EXCLUSIVE on it
    and queue every reader of the table's other shards behind the oldest open transaction);
    the emptied shards are detached CONCURRENTLY by the rebalancer's cleanup."""
    session, gate = dispatcher.session, dispatcher.coord.pause_gate
    group_sql, metadata, scope = _move(dispatcher.runner.snapshot(), change)
    if not await gate.hold_within(session, scope, PAUSE_BUDGET):
        raise PgError(LOCK_NOT_AVAILABLE, f"could not hold shard {change['remainder']} of colocation "
                      f"{change['colocation']} quickly enough for the switch",
                      hint="statements touching it ran long; the rebalancer retries")
    try:
        from gridpg.commands.ddl import DdlRunner

        ddl = DdlRunner(dispatcher)
        timeout = f"SET LOCAL lock_timeout = {int(PAUSE_BUDGET * 1000)}"
        await (await ddl.conn(str(change["source"]))).simple_query(
            f"{timeout}; LOCK TABLE {', '.join(scope['relations'])} IN ACCESS EXCLUSIVE MODE")
        await (await ddl.conn(str(change["target"]))).simple_query(timeout)
        if change.get("marker"):
            await _wait_caught_up(dispatcher, change["source"], change["target"], change["marker"])
        await _apply(dispatcher, request, ddl, group_sql, metadata)
        await _wait_standbys_replayed(dispatcher, [str(change["source"]), str(change["target"])])
    finally:
        await gate.unpause(session)


def _parse_change(args: list[Any], request: ExecRequest) -> dict[str, Any]:
    from gridpg.planner.analyze import value_of
    from gridpg.planner.context import UNKNOWN, value_text

    value = value_of(args[0]) if len(args) == 1 else None
    text = value_text(value, request.bound()) if value is not None else UNKNOWN
    if not isinstance(text, str):
        raise PgError(INVALID_PARAMETER_VALUE, f"{FUNCTION}() takes one text argument (a JSON document)")
    try:
        change = json.loads(text)
    except ValueError:
        raise PgError(INVALID_PARAMETER_VALUE, f"{FUNCTION}(): the argument is not JSON") from None
    if not isinstance(change, dict) or change.get("kind") not in _REQUIRED:
        raise PgError(INVALID_PARAMETER_VALUE, f"{FUNCTION}(): unknown change kind")
    missing = [key for key in _REQUIRED[change["kind"]] if key not in change]
    if missing:
        raise PgError(INVALID_PARAMETER_VALUE, f"{FUNCTION}(): a {change['kind']} change needs {', '.join(missing)}")
    return change


async def _wait_caught_up(dispatcher: Dispatcher, source: str, target: str, marker: dict[str, Any]) -> None:
    """Write the marker on the source and wait until the target has applied it."""
    coord = dispatcher.coord
    table = quote_qualified(SHARD_SCHEMA, str(marker["table"]))
    value = int(marker["value"])
    src = await coord.internal_acquire(source)
    try:
        await src.simple_query(f"INSERT INTO {table} (v) VALUES ({value})")
    finally:
        coord.pools.pool(source).release(src)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + CATCH_UP_BUDGET
    dst = await coord.internal_acquire(target)
    try:
        while True:
            rows = await dst.query(f"SELECT count(*) FROM {table} WHERE v = {value}")
            if rows and rows[0][0] != "0":
                return
            if loop.time() > deadline:
                raise PgError(LOCK_NOT_AVAILABLE, f"the copy on {target} did not catch up with {source} "
                              "quickly enough for the switch", hint="the rebalancer retries")
            await asyncio.sleep(0.003)
    finally:
        coord.pools.pool(target).release(dst)


async def _wait_standbys_replayed(dispatcher: Dispatcher, groups: list[str]) -> None:
    """Until the streaming standbys of `groups` have replayed the switch (bounded): the
    read-only coordinators read them, and must not find the shard on neither side."""
    coord = dispatcher.coord
    loop = asyncio.get_running_loop()
    deadline = loop.time() + STANDBY_BUDGET
    for group in groups:
        conn = await coord.internal_acquire(group)
        try:
            lsn = (await conn.query("SELECT pg_catalog.pg_current_wal_lsn()::text"))[0][0]
            sql = ("SELECT count(*) FROM pg_catalog.pg_stat_replication WHERE application_name NOT LIKE "
                   f"'gridpg\\_move\\_%' AND (replay_lsn IS NULL OR replay_lsn < {quote_literal(lsn)}::pg_lsn)")
            while (await conn.query(sql))[0][0] != "0" and loop.time() < deadline:
                await asyncio.sleep(0.005)
        finally:
            coord.pools.pool(group).release(conn)
    if loop.time() >= deadline:
        log.warning("standbys of %s had not replayed the shard switch after %.1f s", ", ".join(groups),
                    STANDBY_BUDGET)


async def _switch(dispatcher: Dispatcher, request: ExecRequest, change: dict[str, Any]) -> None:
    """Datanode DDL and metadata in one 2PC; committed, the epoch bumped and every
    coordinator reloaded when this returns (DdlRunner.finish)."""
    from gridpg.commands.ddl import DdlRunner

    ddl = DdlRunner(dispatcher)
    snapshot = dispatcher.runner.snapshot()
    if change["kind"] == "add_reference":
        group_sql, metadata = _add_reference(snapshot, change)
    else:
        group_sql, metadata = _release_group(snapshot, str(change["group"]))
    await _apply(dispatcher, request, ddl, group_sql, metadata)


async def _apply(dispatcher: Dispatcher, request: ExecRequest, ddl: DdlRunner,
                 group_sql: dict[str, list[str]], metadata: list[str]) -> None:
    from gridpg.commands.ddl import as_cluster_owner

    for group, statements in group_sql.items():
        if statements:
            await (await ddl.conn(group)).simple_query(";\n".join(statements))
    sql = as_cluster_owner("\n".join(metadata))
    for node in ddl.catalog_nodes():
        await (await ddl.conn(node)).simple_query(sql)
    send = dispatcher.session.send
    if request.simple:
        send(codec.build_row_description([codec.Column(FUNCTION, type_oid=25)]))
    send(codec.build_data_row([b"switched"]))
    await ddl.finish("SELECT 1")


def _move(snapshot: CatalogSnapshot, change: dict[str, Any]) -> tuple[dict[str, list[str]], list[str], dict[str, Any]]:
    """The target's ATTACHes, the source's emptying, the metadata, and the hold's scope."""
    from gridpg.commands.ddl import shard_table_name
    from gridpg.executor.shard_hold import build_scope

    colocation, remainder = int(change["colocation"]), int(change["remainder"])
    source, target = str(change["source"]), str(change["target"])
    _ensure_groups(snapshot, source, target)
    tables = [t for t in snapshot.tables_in_colocation(colocation) if t.method == "hash"]
    if not tables:
        raise PgError(UNDEFINED_OBJECT, f"colocation {colocation} has no tables")
    attach, empty, shards, metadata = [], [], [], []
    for table in tables:
        where = snapshot.shard_group(table.schema, table.name, remainder)
        if where != source:
            raise PgError(NOT_IN_PREREQUISITE_STATE, f"shard {remainder} of {table.schema}.{table.name} "
                          f"is on {where}, not on {source}", hint="the placement changed; plan again")
        parent = quote_qualified(table.schema, table.name)
        shard = quote_qualified(SHARD_SCHEMA, shard_table_name(table.schema, table.name, remainder))
        attach.append(f"ALTER TABLE {parent} ATTACH PARTITION {shard} FOR VALUES WITH "
                      f"(MODULUS {int(table.shard_count or 0)}, REMAINDER {remainder})")
        shards.append(shard)
        empty.append(f"ALTER TABLE {shard} ADD CONSTRAINT {MOVED_AWAY} CHECK (false) NOT VALID")
        metadata.append(store.sql_move_shard(table.schema, table.name, remainder, target))
        if target not in table.groups:
            metadata.append(_sql_set_groups(table, sorted({*table.groups, target})))
    empty.insert(0, f"TRUNCATE {', '.join(shards)}")
    scope = build_scope([(t.schema, t.name) for t in tables], colocation, remainder, source, target, shards)
    return {target: attach, source: empty}, metadata, scope


def _add_reference(snapshot: CatalogSnapshot, change: dict[str, Any]) -> tuple[dict[str, list[str]], list[str]]:
    source, target = str(change["source"]), str(change["target"])
    _ensure_groups(snapshot, source, target)
    metadata = []
    for schema, name in change["tables"]:
        table = snapshot.table(str(schema), str(name))
        if table is None or table.method != "replication":
            raise PgError(UNDEFINED_OBJECT, f"{schema}.{name} is not a reference (REPLICATION) table")
        if source not in table.groups:
            raise PgError(NOT_IN_PREREQUISITE_STATE, f"{schema}.{name} is not on {source}")
        if target not in table.groups:
            metadata.append(_sql_set_groups(table, sorted({*table.groups, target})))
    return {}, metadata


def _release_group(snapshot: CatalogSnapshot, group: str) -> tuple[dict[str, list[str]], list[str]]:
    """Take an emptied group out of every table's groups and drop what is left there."""
    _ensure_groups(snapshot, group)
    drops, metadata = [], []
    for table in snapshot.tables:
        if group not in table.groups:
            continue
        rest = [g for g in table.groups if g != group]
        if table.method in ("modulo", "roundrobin"):
            raise PgError(FEATURE_NOT_SUPPORTED, f"{table.schema}.{table.name} is distributed by "
                          f"{table.method.upper()} over {group}; its rows cannot be moved shard by shard",
                          hint="redistribute it (alter_distributed_table) before draining")
        if table.method == "hash" and any(s.group == group for s in snapshot.shards_of(*table.key)):
            raise PgError(NOT_IN_PREREQUISITE_STATE, f"{group} still holds shards of {table.schema}.{table.name}")
        if not rest:
            raise PgError(NOT_IN_PREREQUISITE_STATE, f"{table.schema}.{table.name} lives only on {group}")
        drops.append(f"DROP TABLE IF EXISTS {quote_qualified(table.schema, table.name)} CASCADE")
        metadata.append(_sql_set_groups(table, rest))
    return {group: drops}, metadata


def _ensure_groups(snapshot: CatalogSnapshot, *groups: str) -> None:
    known = {g.name for g in snapshot.datanode_groups()}
    for group in groups:
        if group not in known:
            raise PgError(UNDEFINED_OBJECT, f'datanode group "{group}" does not exist')


def _sql_set_groups(table: DistTable, groups: list[str]) -> str:
    array = "ARRAY[" + ", ".join(quote_literal(g) for g in groups) + "]::text[]"
    return (f"UPDATE gridpg.dist_table SET groups = {array} WHERE schema_name = "
            f"{quote_literal(table.schema)} AND table_name = {quote_literal(table.name)};")

