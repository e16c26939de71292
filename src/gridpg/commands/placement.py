"""`SELECT gridpg_switch_placement(change)`: the switch step of an online shard move.

The rebalancer (cluster/rebalance.py) copies a shard group to its new datanode group and
keeps it current with logical replication; this function does the short part that must
not race with writes, inside a coordinator:

- a *move* holds only the statements that touch the moving shard group (a scoped pause,
  a "shard hold": `_run_move` says how), so every other transaction runs untouched;
- adding reference tables to a group and releasing a drained group still pause the
  whole cluster, bounded: new transactions wait at the gate and the running ones finish
  within `PAUSE_BUDGET`, else the pause is released and the call fails with 55P03;
then, in both cases, one 2PC over the datanodes concerned and every catalog server, the
metadata epoch bumped and every coordinator reloaded (metadata_changed) before the hold
or pause ends (no statement plans with the old placement after it), and the groups'
streaming standbys (which read-only coordinators read) given a bounded wait to replay it.

The change is a JSON document (built by cluster/rebalance.py), one of:
  {"kind": "move", "colocation": c, "remainder": r, "source": g1, "target": g2, "marker": m,
   "subscription": name of the move's subscription on g2}
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
from gridpg.commands import shard_indexes
from gridpg.errors import (
    FEATURE_NOT_SUPPORTED,
    INSUFFICIENT_PRIVILEGE,
    INVALID_PARAMETER_VALUE,
    UNDEFINED_OBJECT,
    PgError,
)
from gridpg.pgwire import codec
from gridpg.sql.quote import quote_ident, quote_literal, quote_qualified

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
         statements touching the shard group, and has none of them in flight and no open
         transaction that wrote it, within `PAUSE_BUDGET`, else 55P03;
      2. catch-up: a marker written on the source is applied on the target, then the
         subscription is disabled and its apply worker gone (nothing more arrives);
      3. one 2PC: the copies counted and ATTACHed on the target (SHARE UPDATE EXCLUSIVE on
         its parent: readers and writers of the other shards go on), the source shards
         emptied by DELETE (ROW EXCLUSIVE; not replicated: the subscription is off), each
         count equal to its copy's or the switch fails, the placement switched on every
         catalog server; every coordinator has reloaded before the hold ends.
    The source parent is never locked as a whole (a DETACH takes ACCESS EXCLUSIVE on it and
    waits for every transaction that touched any shard of the table there, which datanode
    sessions' generic plans lock all of); the rebalancer's cleanup detaches the emptied
    shards CONCURRENTLY."""
    session, gate = dispatcher.session, dispatcher.coord.pause_gate
    snapshot = dispatcher.runner.snapshot()
    group_sql, metadata, scope = _move(snapshot, change)
    source, target = str(change["source"]), str(change["target"])
    subscription, marker = change.get("subscription"), change.get("marker")
    if not isinstance(subscription, str) or not marker:
        raise PgError(INVALID_PARAMETER_VALUE, f"{FUNCTION}(): a move needs its subscription and marker")
    await _set_subscription(dispatcher, target, subscription, enabled=True)
    if not await gate.hold_within(session, scope, PAUSE_BUDGET):
        raise PgError(LOCK_NOT_AVAILABLE, f"could not hold shard {change['remainder']} of colocation "
                      f"{change['colocation']} quickly enough for the switch",
                      hint="statements or transactions writing it ran long; the rebalancer retries")
    switched = False
    try:
        await _wait_caught_up(dispatcher, source, target, marker)
        await _set_subscription(dispatcher, target, subscription, enabled=False)
        from gridpg.commands.ddl import DdlRunner

        ddl = DdlRunner(dispatcher)
        await _empty_and_attach(ddl, source, target, group_sql, scope["relations"])
        await _apply(dispatcher, request, ddl, {}, metadata)
        switched = True
        await _wait_standbys_replayed(dispatcher, [source, target])
    finally:
        try:
            if not switched:
                await _set_subscription(dispatcher, target, subscription, enabled=True)
        finally:
            await gate.unpause(session)


# Rows and a sum of their text's hashes: the copy must equal what the source held.
_SUMMARY = "count(*), coalesce(sum(pg_catalog.hashtextextended(t::text, 0)), 0)"


async def _empty_and_attach(ddl: DdlRunner, source: str, target: str, group_sql: dict[str, list[str]],
                            relations: list[str]) -> None:
    """In the switch's 2PC: summarise and ATTACH the copies, DELETE the originals; the rows
    deleted must sum up like the copies (a write that reached the source past the hold
    would differ: the switch then fails rather than lose it)."""
    timeout = f"SET LOCAL lock_timeout = {int(PAUSE_BUDGET * 1000)}"
    dst = await ddl.conn(target)
    await dst.simple_query(timeout)
    copied = [(await dst.query(f"SELECT {_SUMMARY} FROM {r} t"))[0] for r in relations]
    await dst.simple_query(";\n".join(group_sql[target]))
    src = await ddl.conn(source)
    await src.simple_query(timeout)
    for relation, expected in zip(relations, copied, strict=True):
        deleted = (await src.query(f"WITH t AS (DELETE FROM {relation} RETURNING *) SELECT {_SUMMARY} FROM t"))[0]
        if deleted != expected:
            raise PgError(NOT_IN_PREREQUISITE_STATE, f"{relation} differs between {source} ({deleted[0]} rows) "
                          f"and its copy on {target} ({expected[0]} rows); the switch is abandoned",
                          hint="a write reached the source outside the hold; run the rebalance again")


async def _set_subscription(dispatcher: Dispatcher, target: str, name: str, enabled: bool) -> None:
    """ENABLE the move's subscription, or DISABLE it and wait (bounded) until its apply
    worker is gone."""
    coord = dispatcher.coord
    conn = await coord.internal_acquire(target)
    try:
        await conn.simple_query(f"ALTER SUBSCRIPTION {quote_ident(name)} {'ENABLE' if enabled else 'DISABLE'}")
        if enabled:
            return
        loop = asyncio.get_running_loop()
        deadline = loop.time() + CATCH_UP_BUDGET * 4
        sql = ("SELECT count(*) FROM pg_catalog.pg_stat_subscription WHERE pid IS NOT NULL "
               f"AND subname = {quote_literal(name)}")
        while (await conn.query(sql))[0][0] != "0":
            if loop.time() > deadline:
                raise PgError(LOCK_NOT_AVAILABLE, f"the subscription {name} on {target} did not stop in time",
                              hint="the rebalancer retries")
            await asyncio.sleep(0.005)
    finally:
        coord.pools.pool(target).release(conn)


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
    await ddl.on_catalog_servers(sql)
    send = dispatcher.session.send
    if request.simple:
        send(codec.build_row_description([codec.Column(FUNCTION, type_oid=25)]))
    send(codec.build_data_row([b"switched"]))
    await ddl.finish("SELECT 1")


def _move(snapshot: CatalogSnapshot, change: dict[str, Any]) -> tuple[dict[str, list[str]], list[str], dict[str, Any]]:
    """The target's ATTACHes, the metadata, and the hold's scope (with the shard tables)."""
    from gridpg.commands.ddl import shard_table_name
    from gridpg.executor.shard_hold import build_scope

    colocation, remainder = int(change["colocation"]), int(change["remainder"])
    source, target = str(change["source"]), str(change["target"])
    _ensure_groups(snapshot, source, target)
    tables = [t for t in snapshot.tables_in_colocation(colocation) if t.method == "hash"]
    if not tables:
        raise PgError(UNDEFINED_OBJECT, f"colocation {colocation} has no tables")
    attach, shards, metadata = [], [], []
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
        metadata.append(store.sql_move_shard(table.schema, table.name, remainder, target))
        if target not in table.groups:
            metadata.append(_sql_set_groups(table, sorted({*table.groups, target})))
    attach.append(shard_indexes.rename_sql([(t.schema, t.name) for t in tables]))  # the copies' index names
    scope = build_scope([(t.schema, t.name) for t in tables], colocation, remainder, source, target, shards)
    return {target: attach}, metadata, scope


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

