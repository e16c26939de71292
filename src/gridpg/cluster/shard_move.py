"""One online copy between two datanode groups: a shard group's move, or reference tables
copied to a new group. The datanode-side steps, each safe to run again:

  prepare   the tables on the target (parents by pg_dump of the source, shard copies
            `LIKE` their parent with the partition constraint as a CHECK, so ATTACH needs
            no scan), a marker table on both sides, replica identity FULL on source
            tables without a key (logical replication must see which row an UPDATE hit)
  copy      PUBLICATION on the source, SUBSCRIPTION on the target (initial copy, then
            streaming); wait until every table is synchronised and a marker written on the
            source has been applied on the target
  switch    `gridpg_switch_placement()` through a coordinator (commands/placement.py):
            a hold of only the statements touching the shard group, marker catch-up,
            subscription disabled, ATTACH on the target, the source shards emptied,
            metadata, in one 2PC; retried while it reports 55P03 (statements or
            transactions writing the shards ran long)
  cleanup   drop subscription, publication, slot, marker; the emptied source shards
            detached CONCURRENTLY and dropped
  rollback  (resume of a move that did not switch) undo prepare and copy on both sides

The copy is described by `CopySpec`, plain JSON-able data, so the rebalancer can record it
and a later run can finish or roll it back. Talks to servers through BackendConnection
and runs pg_dump as a subprocess; decides nothing about *what* to move.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from gridpg.datanode.connection import BackendConnection, NodeAddress
from gridpg.errors import PgError
from gridpg.sql.quote import quote_ident, quote_literal, quote_qualified

SHARD_SCHEMA = "gridpg_shards"
SWITCH_ATTEMPTS = 40
SYNC_TIMEOUT = 3600.0
CATCH_UP_TIMEOUT = 120.0
# No TRUNCATE: a truncated source must never empty the copy (the switch itself empties
# the source with DELETE after disabling the subscription: commands/placement.py).
PUBLISHED = "insert, update, delete"

Progress = Callable[[int, int], None]  # (bytes copied, bytes to copy)


class MoveError(Exception):
    """A copy step failed; the message says which and what state it left."""


@dataclass
class CopySpec:
    """What one copy moves. `kind` "move": shard `remainder` of colocation `colocation`
    (`tables` its members); "reference": the reference tables `tables`."""

    kind: str
    name: str  # publication, subscription, slot; `name`_marker is the marker table
    source: str
    target: str
    tables: list[list[str]]  # [schema, table]
    colocation: int = 0
    remainder: int = 0
    modulus: int = 0
    columns: dict[str, str] = field(default_factory=dict)  # schema.table -> distribution column
    identities: dict[str, str] = field(default_factory=dict)  # relation -> relreplident before
    fresh: list[list[str]] = field(default_factory=list)  # tables (re)created on the target
    step: str = "copying"  # copying | switched

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @staticmethod
    def from_json(text: str) -> CopySpec:
        return CopySpec(**json.loads(text))

    @property
    def marker(self) -> str:
        return f"{self.name}_marker"

    def relations(self) -> list[str]:
        """The published relations: shard tables (move) or the tables themselves."""
        from gridpg.commands.ddl import shard_table_name

        if self.kind == "reference":
            return [quote_qualified(s, t) for s, t in self.tables]
        return [quote_qualified(SHARD_SCHEMA, shard_table_name(s, t, self.remainder)) for s, t in self.tables]


@dataclass
class Endpoints:
    """Where the source and target primaries listen, and how to run pg_dump."""

    source: NodeAddress
    target: NodeAddress
    pg_bin: Path


async def connect(address: NodeAddress) -> BackendConnection:
    return await BackendConnection.connect(address, timeout=10)


async def run_sql(address: NodeAddress, sql: str) -> list[tuple[str | None, ...]]:
    conn = await connect(address)
    try:
        return await conn.query(sql)
    finally:
        conn.close()


# -- prepare -------------------------------------------------------------------------------


async def prepare(spec: CopySpec, ends: Endpoints) -> None:
    """Tables on the target, marker tables, replica identities on the source.

    `spec.fresh` are the tables the target group does not hold yet (not in their metadata
    groups): whatever a crashed earlier attempt left of them there is dropped and they are
    created again from the source's definition, so the target never keeps a stale shape."""
    if spec.fresh:
        drops = [f"DROP TABLE IF EXISTS {quote_qualified(*t)} CASCADE" for t in spec.fresh]
        await run_sql(ends.target, ";\n".join(drops))
        await run_sql(ends.target, dump_definitions(ends.source, [(s, t) for s, t in spec.fresh], ends.pg_bin))
    if spec.kind == "move":
        await _create_shard_copies(spec, ends.target)
    marker = f"CREATE TABLE IF NOT EXISTS {quote_qualified(SHARD_SCHEMA, spec.marker)} (v bigint PRIMARY KEY)"
    await run_sql(ends.source, marker)
    await run_sql(ends.target, marker)
    await _ensure_identities(spec, ends)


async def _exists(address: NodeAddress, qualified: str) -> bool:
    rows = await run_sql(address, f"SELECT pg_catalog.to_regclass({quote_literal(qualified)}) IS NOT NULL")
    return rows[0][0] == "t"


def dump_definitions(address: NodeAddress, tables: list[tuple[str, str]], pg_bin: Path) -> str:
    """The schema-only dump of `tables` from `address` (pg_dump orders foreign keys after
    every table), without psql meta-commands, ready for a simple query."""
    args = [str(pg_bin / "pg_dump"), "-h", address.host, "-p", str(address.port), "-U", address.user,
            "-d", address.database, "--schema-only", "--no-publications", "--no-subscriptions"]
    for schema, table in tables:
        args += ["-t", f"{quote_ident(schema)}.{quote_ident(table)}"]
    return _run_dump(args, address)


def dump_non_tables(address: NodeAddress, pg_bin: Path) -> str:
    """Schemas, types, functions, extensions... of `address`: everything but relations."""
    args = [str(pg_bin / "pg_dump"), "-h", address.host, "-p", str(address.port), "-U", address.user,
            "-d", address.database, "--schema-only", "--no-publications", "--no-subscriptions",
            "-T", "*.*", "-N", SHARD_SCHEMA, "-N", "gridpg"]
    return _run_dump(args, address)


def dump_roles(address: NodeAddress, pg_bin: Path) -> list[str]:
    """CREATE/ALTER ROLE statements of `address`, one per line (pg_dumpall --roles-only)."""
    args = [str(pg_bin / "pg_dumpall"), "-h", address.host, "-p", str(address.port), "-U", address.user,
            "--roles-only"]
    text = _run_dump(args, address)
    return [line for line in text.splitlines() if line.startswith(("CREATE ROLE", "ALTER ROLE"))]


def _run_dump(args: list[str], address: NodeAddress) -> str:
    env = {**os.environ, "PGPASSWORD": address.password or "", "PGCONNECT_TIMEOUT": "10"}
    done = subprocess.run(args, capture_output=True, text=True, env=env, timeout=600, check=False)
    if done.returncode != 0:
        raise MoveError(f"{Path(args[0]).name} of {address.name} failed: {done.stderr.strip()[-500:]}")
    return "\n".join(line for line in done.stdout.splitlines() if not line.startswith("\\"))


async def _create_shard_copies(spec: CopySpec, target: NodeAddress) -> None:
    """Each shard as a plain table shaped like its parent, with the partition constraint as
    a CHECK (so the ATTACH at the switch needs no scan); skipped when already there."""
    from gridpg.commands.ddl import shard_table_name

    conn = await connect(target)
    try:
        for schema, table in spec.tables:
            shard = quote_qualified(SHARD_SCHEMA, shard_table_name(schema, table, spec.remainder))
            parent = quote_qualified(schema, table)
            column = quote_ident(spec.columns[f"{schema}.{table}"])
            # in the parent's tablespace, where a shard made as its partition would be (LIKE
            # copies none: a moved shard of a table in a tablespace landed in pg_default)
            space = await conn.query("SELECT pg_catalog.quote_ident(t.spcname) FROM pg_catalog.pg_class c "
                                     "JOIN pg_catalog.pg_tablespace t ON t.oid = c.reltablespace "
                                     f"WHERE c.oid = {quote_literal(parent)}::regclass")
            await conn.simple_query(
                f"CREATE TABLE IF NOT EXISTS {shard} (LIKE {parent} INCLUDING ALL EXCLUDING IDENTITY, "
                f"CONSTRAINT gridpg_move_check CHECK (pg_catalog.satisfies_hash_partition("
                f"{quote_literal(parent)}::regclass::oid, {spec.modulus}, {spec.remainder}, {column})))"
                + (f" TABLESPACE {space[0][0]}" if space else "")
            )
    finally:
        conn.close()


async def _ensure_identities(spec: CopySpec, ends: Endpoints) -> None:
    """REPLICA IDENTITY FULL on source relations without a key (and on their copies), the
    previous setting recorded so cleanup puts it back."""
    for relation in spec.relations():
        rows = await run_sql(ends.source, "SELECT c.relreplident, EXISTS (SELECT 1 FROM pg_catalog.pg_index i "
                             "WHERE i.indrelid = c.oid AND (i.indisprimary OR i.indisreplident)) FROM pg_catalog.pg_class c "
                             f"WHERE c.oid = {quote_literal(relation)}::regclass")
        ident, keyed = rows[0][0] or "d", rows[0][1] == "t"
        spec.identities.setdefault(relation, ident)
        if not keyed and ident not in ("f",):
            await run_sql(ends.source, f"ALTER TABLE {relation} REPLICA IDENTITY FULL")
        if not keyed:
            await run_sql(ends.target, f"ALTER TABLE {relation} REPLICA IDENTITY FULL")


# -- copy --------------------------------------------------------------------------------


async def start_copy(spec: CopySpec, ends: Endpoints) -> None:
    """PUBLICATION on the source, SUBSCRIPTION (initial copy + streaming) on the target."""
    name = quote_ident(spec.name)
    published = await run_sql(ends.source, f"SELECT count(*) FROM pg_catalog.pg_publication WHERE pubname = {quote_literal(spec.name)}")
    if published[0][0] == "0":
        relations = [*spec.relations(), quote_qualified(SHARD_SCHEMA, spec.marker)]
        await run_sql(ends.source, f"CREATE PUBLICATION {name} FOR TABLE {', '.join(relations)} "
                      f"WITH (publish = {quote_literal(PUBLISHED)})")
    else:  # made by an earlier version: the switch's TRUNCATE of the source must not travel
        await run_sql(ends.source, f"ALTER PUBLICATION {name} SET (publish = {quote_literal(PUBLISHED)})")
    subscribed = await run_sql(ends.target, f"SELECT count(*) FROM pg_catalog.pg_subscription WHERE subname = {quote_literal(spec.name)}")
    if subscribed[0][0] == "0":
        src = ends.source
        conninfo = " ".join(f"{k}={_conninfo_value(str(v))}" for k, v in (
            ("host", src.host), ("port", src.port), ("user", src.user), ("password", src.password or ""),
            ("dbname", src.database)))
        await run_sql(ends.target, f"CREATE SUBSCRIPTION {name} CONNECTION {quote_literal(conninfo)} "
                      f"PUBLICATION {name} WITH (copy_data = true, slot_name = {quote_literal(spec.name)})")


def _conninfo_value(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


async def wait_synced(spec: CopySpec, ends: Endpoints, progress: Progress, total_bytes: int) -> None:
    """Until every published table is synchronised ('r') and a marker has come through."""
    deadline = time.monotonic() + SYNC_TIMEOUT
    sql = ("SELECT count(*), count(*) FILTER (WHERE sr.srsubstate = 'r') FROM pg_catalog.pg_subscription_rel sr "
           "JOIN pg_catalog.pg_subscription s ON s.oid = sr.srsubid "
           f"WHERE s.subname = {quote_literal(spec.name)}")
    expected = len(spec.tables) + 1
    while time.monotonic() < deadline:
        rows = await run_sql(ends.target, sql)
        total, ready = int(rows[0][0] or 0), int(rows[0][1] or 0)
        progress(await _copied_bytes(spec, ends.target), total_bytes)
        if total == expected and ready == expected:
            break
        await _ensure_no_errors(spec, ends.target)
        await asyncio.sleep(0.2)
    else:
        raise MoveError(f"{spec.name}: the initial copy did not finish in {SYNC_TIMEOUT:.0f} s")
    await catch_up(spec, ends, int(time.time() * 1000), CATCH_UP_TIMEOUT)
    progress(total_bytes, total_bytes)


async def catch_up(spec: CopySpec, ends: Endpoints, value: int, timeout: float) -> float:
    """Write marker `value` on the source, wait until the target applied it; seconds taken."""
    marker = quote_qualified(SHARD_SCHEMA, spec.marker)
    started = time.monotonic()
    await run_sql(ends.source, f"INSERT INTO {marker} (v) VALUES ({int(value)}) ON CONFLICT DO NOTHING")
    conn = await connect(ends.target)
    try:
        while time.monotonic() - started < timeout:
            rows = await conn.query(f"SELECT count(*) FROM {marker} WHERE v = {int(value)}")
            if rows[0][0] != "0":
                return time.monotonic() - started
            await asyncio.sleep(0.01)
    finally:
        conn.close()
    await _ensure_no_errors(spec, ends.target)
    raise MoveError(f"{spec.name}: {ends.target.name} did not catch up with {ends.source.name} in {timeout:.0f} s")


async def _copied_bytes(spec: CopySpec, target: NodeAddress) -> int:
    sizes = " + ".join(f"coalesce(pg_catalog.pg_total_relation_size(pg_catalog.to_regclass({quote_literal(r)})), 0)"
                       for r in spec.relations())
    rows = await run_sql(target, f"SELECT ({sizes})::bigint")
    return int(rows[0][0] or 0)


async def _ensure_no_errors(spec: CopySpec, target: NodeAddress) -> None:
    rows = await run_sql(target, "SELECT apply_error_count + sync_error_count FROM pg_catalog.pg_stat_subscription_stats "
                         f"WHERE subname = {quote_literal(spec.name)}")
    if rows and int(rows[0][0] or 0) > 0:
        raise MoveError(f"{spec.name}: logical replication into {target.name} reports errors; "
                        f"see the log of {target.name}")


# -- switch ------------------------------------------------------------------------------


async def switch(spec: CopySpec, coordinators: list[NodeAddress], log: Callable[[str], None],
                 target: NodeAddress | None = None) -> float:
    """The switch through a coordinator, retried while it cannot hold quickly (unless the
    replication into `target` reports errors: then retrying cannot help); seconds the
    successful attempt took (about how long writes were held)."""
    errors: list[str] = []
    for attempt in range(SWITCH_ATTEMPTS):
        change = _change_document(spec, int(time.time() * 1000) + attempt)
        for address in coordinators:
            try:
                conn = await connect(address)
            except PgError as exc:
                errors.append(f"{address.name}: {exc.message}")
                continue
            started = time.monotonic()
            try:
                await conn.query(f"SELECT gridpg_switch_placement({quote_literal(json.dumps(change))})")
                return time.monotonic() - started
            except PgError as exc:
                if exc.sqlstate != "55P03":
                    raise MoveError(f"switch of {spec.name} failed: {exc.message} (SQLSTATE {exc.sqlstate})") from None
                log(f"switch postponed: {exc.message}")
                if target is not None:
                    await _ensure_no_errors(spec, target)
                break
            finally:
                conn.close()
        else:
            raise MoveError(f"no coordinator answered for the switch: {'; '.join(errors)}")
        await asyncio.sleep(min(0.2 * (attempt + 1), 2.0))
    raise MoveError(f"switch of {spec.name}: the cluster could not be paused briefly in {SWITCH_ATTEMPTS} tries")


def _change_document(spec: CopySpec, marker_value: int) -> dict[str, object]:
    marker = {"table": spec.marker, "value": marker_value}
    if spec.kind == "move":
        return {"kind": "move", "colocation": spec.colocation, "remainder": spec.remainder,
                "source": spec.source, "target": spec.target, "marker": marker, "subscription": spec.name}
    return {"kind": "add_reference", "tables": spec.tables, "source": spec.source,
            "target": spec.target, "marker": marker}


# -- cleanup and rollback -------------------------------------------------------------------


async def cleanup(spec: CopySpec, ends: Endpoints) -> None:
    """After the switch: replication gone, the detached source shards dropped, the copies'
    own settings back (CHECK dropped, replica identity restored) and analyzed."""
    await _drop_replication(spec, ends)
    if spec.kind == "move":
        for relation in spec.relations():
            await _detach_emptied(ends.source, relation)
            await run_sql(ends.source, _drop_if_detached(relation))
            await run_sql(ends.target, f"ALTER TABLE {relation} DROP CONSTRAINT IF EXISTS gridpg_move_check")
    await _restore_identities(spec, ends.target)
    if spec.kind == "reference":
        await _restore_identities(spec, ends.source)
    for relation in spec.relations():
        await run_sql(ends.target, f"ANALYZE {relation}")
    await _drop_markers(spec, ends)


async def rollback(spec: CopySpec, ends: Endpoints) -> None:
    """A copy that never switched: replication gone, the target's copies dropped (only
    while they are not attached: the metadata did not switch), the source as it was.
    Refused when a copy is attached on the target although the catalog did not switch
    (a switch half committed): dropping would lose rows."""
    if spec.kind == "move":
        await _ensure_not_attached(spec, ends.target)
    await _drop_replication(spec, ends)
    if spec.kind == "move":
        for relation in spec.relations():
            await run_sql(ends.target, _drop_if_detached(relation))
    for schema, table in spec.fresh:  # the metadata never listed the target for them
        await run_sql(ends.target, f"DROP TABLE IF EXISTS {quote_qualified(schema, table)} CASCADE")
    await _restore_identities(spec, ends.source)
    await _drop_markers(spec, ends)


async def _ensure_not_attached(spec: CopySpec, target: NodeAddress) -> None:
    for relation in spec.relations():
        rows = await run_sql(target, "SELECT relispartition FROM pg_catalog.pg_class WHERE oid = "
                             f"pg_catalog.to_regclass({quote_literal(relation)})")
        if rows and rows[0][0] == "t":
            raise MoveError(f"{relation} is attached on {target.name} but the catalog did not switch: "
                            "a switch is in doubt; run `gridpg recover`, then rebalance again")


async def _drop_replication(spec: CopySpec, ends: Endpoints) -> None:
    name = quote_literal(spec.name)
    subscribed = await run_sql(ends.target, f"SELECT count(*) FROM pg_catalog.pg_subscription WHERE subname = {name}")
    if subscribed[0][0] != "0":
        await run_sql(ends.target, f"DROP SUBSCRIPTION {quote_ident(spec.name)}")
    await run_sql(ends.source, f"DROP PUBLICATION IF EXISTS {quote_ident(spec.name)}")
    await run_sql(ends.source, "SELECT pg_catalog.pg_drop_replication_slot(slot_name) FROM pg_catalog.pg_replication_slots "
                  f"WHERE slot_name = {name} AND NOT active")


async def _detach_emptied(address: NodeAddress, relation: str) -> None:
    """Detach a source shard its switch emptied (the catalog placed it elsewhere since)
    from its parent CONCURRENTLY: that waits for transactions older than the switch that
    used the parent and blocks none of the other shards' readers and writers (an
    interrupted detach is finished with FINALIZE). Rows found in it afterwards were written
    past the switch: it is kept and the cleanup stops, never dropping them."""
    rows = await run_sql(address, (
        "SELECT i.inhparent::pg_catalog.regclass::text, i.inhdetachpending FROM pg_catalog.pg_inherits i "
        f"WHERE i.inhrelid = pg_catalog.to_regclass({quote_literal(relation)})"))
    if rows:
        parent, pending = rows[0]
        how = "FINALIZE" if pending == "t" else "CONCURRENTLY"
        await run_sql(address, f"ALTER TABLE {parent} DETACH PARTITION {relation} {how}")
    if await _exists(address, relation):
        left = await run_sql(address, f"SELECT count(*) FROM {relation}")
        if left[0][0] != "0":
            raise MoveError(f"{relation} on {address.name} holds {left[0][0]} rows written after its "
                            "shard moved; it is kept (detached): move them by hand, then drop it")


def _drop_if_detached(relation: str) -> str:
    """Drop a shard table only while it is no partition (locked first, so an ATTACH being
    committed elsewhere in a prepared transaction is waited for, then seen)."""
    return (
        "DO $gridpg$ BEGIN "
        f"IF pg_catalog.to_regclass({quote_literal(relation)}) IS NULL THEN RETURN; END IF; "
        f"LOCK TABLE {relation} IN ACCESS EXCLUSIVE MODE; "
        f"IF NOT (SELECT relispartition FROM pg_catalog.pg_class WHERE oid = {quote_literal(relation)}::regclass) "
        f"THEN DROP TABLE {relation}; END IF; END $gridpg$"
    )


async def _restore_identities(spec: CopySpec, address: NodeAddress) -> None:
    words = {"d": "DEFAULT", "f": "FULL", "n": "NOTHING"}
    for relation, ident in spec.identities.items():
        if ident in words and await _exists(address, relation):
            await run_sql(address, f"ALTER TABLE {relation} REPLICA IDENTITY {words[ident]}")


async def _drop_markers(spec: CopySpec, ends: Endpoints) -> None:
    marker = quote_qualified(SHARD_SCHEMA, spec.marker)
    for address in (ends.source, ends.target):
        await run_sql(address, f"DROP TABLE IF EXISTS {marker}")
