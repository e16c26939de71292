"""Online rebalance, drain and local node add: the orchestration behind `gridpg rebalance`,
`gridpg node drain GROUP` and `gridpg node add` (no address).

Reads the placement from a catalog server, measures every shard group on the datanode
primaries, plans with `rebalance_plan` (pure), then runs the copies of `shard_move` one at
a time: reference tables onto groups that lack them first (the shard groups moved there
may join with them), then the shard moves. The copy in progress is recorded in
`run/rebalance.json` before anything is created and after it switched; a later run reads
it and finishes the copy (the metadata switched) or rolls it back (it did not), then plans
again from what the catalog says. One rebalance per cluster at a time (`run/rebalance.lock`).

What is guaranteed while it runs, and what is not, is written in docs/architecture.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from gridpg.catalog import store
from gridpg.catalog.model import CatalogError, CatalogSnapshot, DistTable
from gridpg.cluster import shard_move
from gridpg.cluster.pgserver import SUPERUSER, find_pg_bin
from gridpg.cluster.rebalance_plan import Move, PlanError, ShardGroup, plan_moves
from gridpg.cluster.shard_move import CopySpec, Endpoints, MoveError
from gridpg.datanode.connection import NodeAddress
from gridpg.errors import PgError
from gridpg.sql.quote import quote_literal, quote_qualified

STATE_FILE = "rebalance.json"
EXACT_COUNT_BYTES = 64 << 20  # shards smaller than this are counted exactly


class RebalanceError(Exception):
    """The rebalance cannot go on; the message says why and what state it left."""


class Reporter(Protocol):
    def note(self, text: str) -> None: ...
    def copy_started(self, spec: CopySpec, total_bytes: int, index: int, count: int) -> None: ...
    def copy_progress(self, done: int, total: int) -> None: ...
    def copy_finished(self, spec: CopySpec, held_seconds: float) -> None: ...


@dataclass
class View:
    """The cluster as the catalog sees it: snapshot and how to reach each member."""

    snapshot: CatalogSnapshot
    password: str
    database: str
    coordinators: list[NodeAddress]
    pg_bin: Path

    catalogs: list[NodeAddress] = field(default_factory=list)

    def primary(self, group: str) -> NodeAddress:
        try:
            node = self.snapshot.primary_of(group)
        except CatalogError as exc:
            raise RebalanceError(str(exc)) from None
        return NodeAddress(group, node.host, node.port, SUPERUSER, self.password, self.database)

    def groups(self) -> list[str]:
        return [g.name for g in self.snapshot.datanode_groups()]


@dataclass
class Plan:
    references: list[CopySpec] = field(default_factory=list)
    moves: list[Move] = field(default_factory=list)
    before: dict[str, int] = field(default_factory=dict)  # rows per group now
    after: dict[str, int] = field(default_factory=dict)  # rows per group once done


# -- reading the cluster ----------------------------------------------------------------------


async def load_view(cluster: Any) -> View:
    """The metadata from the first catalog server that answers."""
    topo = cluster.topology
    password = cluster.password()
    errors = []
    for coord in topo.coordinators:
        spec = coord.catalog
        address = NodeAddress(spec.name, spec.host, spec.port, SUPERUSER, password)
        try:
            rows = await shard_move.run_sql(address, store._LOAD_SQL)
        except (PgError, OSError) as exc:
            errors.append(f"{spec.name}: {exc}")
            continue
        snapshot = store.snapshot_from_rows(0, rows)
        coordinators = [NodeAddress(c.name, c.host, c.port, SUPERUSER, password)
                        for c in topo.coordinators if not c.read_only]
        catalogs = [NodeAddress(c.catalog.name, c.catalog.host, c.catalog.port, SUPERUSER, password)
                    for c in topo.coordinators]
        return View(snapshot, password, address.database, coordinators, find_pg_bin(cluster.pg_bin), catalogs)
    raise RebalanceError(f"no catalog server answered: {'; '.join(errors)}")


async def measure(view: View) -> list[ShardGroup]:
    """Rows and bytes of every shard group, read on the group primaries."""
    from gridpg.commands.ddl import shard_table_name

    snap = view.snapshot
    by_group: dict[str, list[tuple[int, int, str, str]]] = {}
    for table in snap.tables:
        if table.method != "hash" or table.colocation_id is None:
            continue
        for shard in snap.shards_of(*table.key):
            name = quote_qualified(shard_move.SHARD_SCHEMA, shard_table_name(table.schema, table.name, shard.remainder))
            by_group.setdefault(shard.group, []).append((table.colocation_id, shard.remainder, name,
                                                         f"{table.schema}.{table.name}"))
    found = await asyncio.gather(*(_measure_group(view.primary(g), shards) for g, shards in by_group.items()))
    units: dict[tuple[int, int], ShardGroup] = {}
    for group, sizes in zip(by_group, found, strict=True):
        for (colocation, remainder, _, label), (rows, size) in zip(by_group[group], sizes, strict=True):
            key = (colocation, remainder)
            old = units.get(key)
            if old is None:
                units[key] = ShardGroup(colocation, remainder, group, rows, size, (label,))
            else:
                units[key] = ShardGroup(colocation, remainder, group, old.rows + rows, old.bytes + size,
                                        (*old.tables, label))
    return sorted(units.values(), key=lambda u: (u.colocation, u.remainder))


async def _measure_group(address: NodeAddress, shards: list[tuple[int, int, str, str]]) -> list[tuple[int, int]]:
    if not shards:
        return []
    parts = [f"SELECT {i} AS i, pg_catalog.to_regclass({quote_literal(name)}) AS rel"
             for i, (_, _, name, _) in enumerate(shards)]
    rows = await shard_move.run_sql(address, (
        "SELECT s.i, coalesce(c.reltuples, 0)::bigint, coalesce(pg_catalog.pg_total_relation_size(s.rel), 0), "
        "coalesce(pg_catalog.pg_relation_size(s.rel), 0) FROM (" + " UNION ALL ".join(parts) + ") s "
        "LEFT JOIN pg_catalog.pg_class c ON c.oid = s.rel ORDER BY s.i"))
    out = [(max(int(r[1] or 0), 0), int(r[2] or 0)) for r in rows]
    small = [i for i, r in enumerate(rows) if int(r[3] or 0) < EXACT_COUNT_BYTES]
    if small:
        counts = await shard_move.run_sql(address, " UNION ALL ".join(
            f"SELECT {i}, count(*) FROM {shards[i][2]}" for i in small))
        for i, count in counts:
            out[int(i or 0)] = (int(count or 0), out[int(i or 0)][1])
    return out


# -- planning ---------------------------------------------------------------------------------


def reference_copies(view: View, drain: set[str]) -> list[CopySpec]:
    """Reference tables onto every group that lacks them: those tables that are on every
    group but the new ones (a table kept `TO NODE (...)` on a few groups stays there)."""
    groups = [g for g in view.groups() if g not in drain]
    refs = [t for t in view.snapshot.tables if t.method == "replication"]
    out = []
    for target in groups:
        wanted = [t for t in refs if target not in t.groups and _on_every_other_group(t, groups, target, view)]
        if not wanted:
            continue
        sources = [g for g in wanted[0].groups if g not in drain] or list(wanted[0].groups)
        source = sources[0]
        tables = [[t.schema, t.name] for t in wanted if source in t.groups]
        out.append(CopySpec("reference", _copy_name(f"ref_{target}"), source, target, tables, fresh=list(tables)))
    return out


def _on_every_other_group(table: DistTable, groups: list[str], target: str, view: View) -> bool:
    holders = {g for g in groups if g != target and _holds_data(view.snapshot, g)}
    return bool(holders) and holders <= set(table.groups)


def _holds_data(snapshot: CatalogSnapshot, group: str) -> bool:
    return any(group in t.groups for t in snapshot.tables)


def build_plan(view: View, units: list[ShardGroup], drain: set[str]) -> Plan:
    unknown = drain - set(view.groups())
    if unknown:
        raise RebalanceError(f"no datanode group named {min(unknown)!r}")
    try:
        moves = plan_moves(units, view.groups(), drain)
    except PlanError as exc:
        raise RebalanceError(str(exc)) from None
    before = {g: 0 for g in view.groups()}
    for unit in units:
        before[unit.group] = before.get(unit.group, 0) + unit.rows
    after = dict(before)
    for move in moves:
        after[move.source] -= move.unit.rows
        after[move.target] += move.unit.rows
    return Plan(reference_copies(view, drain), moves, before, after)


def _first_member(view: View, move: Move) -> tuple[str, str, int]:
    tables = [t for t in view.snapshot.tables_in_colocation(move.unit.colocation) if t.method == "hash"]
    if not tables:
        raise RebalanceError(f"colocation {move.unit.colocation} has no tables any more; plan again")
    return tables[0].schema, tables[0].name, move.unit.remainder


def move_spec(view: View, move: Move) -> CopySpec:
    snap = view.snapshot
    tables = [t for t in snap.tables_in_colocation(move.unit.colocation) if t.method == "hash"]
    colocation = snap.colocation(move.unit.colocation)
    modulus = colocation.shard_count if colocation else int(tables[0].shard_count or 0)
    return CopySpec(
        "move", _copy_name(f"c{move.unit.colocation}_r{move.unit.remainder}"), move.source, move.target,
        [[t.schema, t.name] for t in tables], move.unit.colocation, move.unit.remainder, modulus,
        columns={f"{t.schema}.{t.name}": t.column or "" for t in tables},
        fresh=[[t.schema, t.name] for t in tables if move.target not in t.groups],
    )


def _copy_name(suffix: str) -> str:
    return f"gridpg_move_{suffix}"[:50]


# -- running ----------------------------------------------------------------------------------


def rebalance(cluster: Any, reporter: Reporter, drain: set[str] | None = None, dry_run: bool = False,
              show_plan: Any = None) -> Plan:
    """Finish or undo an interrupted copy, plan, show the plan, run it."""
    with _exclusive(cluster.run_dir / "rebalance.lock"):
        return asyncio.run(_rebalance(cluster, reporter, drain or set(), dry_run, show_plan))


async def _rebalance(cluster: Any, reporter: Reporter, drain: set[str], dry_run: bool, show_plan: Any) -> Plan:
    if not dry_run:
        await resume(cluster, reporter)
    view = await load_view(cluster)
    plan = build_plan(view, await measure(view), drain)
    if show_plan is not None:
        show_plan(plan)
    if dry_run:
        return plan
    count = len(plan.references) + len(plan.moves)
    for index, spec in enumerate(plan.references):
        await run_copy(cluster, view, spec, 0, reporter, index, count)
    for index, move in enumerate(plan.moves, start=len(plan.references)):
        view = await load_view(cluster)  # each switch changed the groups the next one sees
        if view.snapshot.shard_group(*_first_member(view, move)) != move.source:
            reporter.note(f"colocation {move.unit.colocation} shard {move.unit.remainder} moved meanwhile; skipped")
            continue
        await run_copy(cluster, view, move_spec(view, move), move.unit.bytes, reporter, index, count)
    if drain:
        for group in sorted(drain):
            await _release(view, group, reporter)
    return plan


async def run_copy(cluster: Any, view: View, spec: CopySpec, total: int, reporter: Reporter,
                   index: int = 0, count: int = 1) -> None:
    ends = Endpoints(view.primary(spec.source), view.primary(spec.target), view.pg_bin)
    state = cluster.run_dir / STATE_FILE
    _save_state(state, spec)
    reporter.copy_started(spec, total, index, count)
    try:
        await shard_move.prepare(spec, ends)
        _save_state(state, spec)  # the replica identities to put back are known now
        await shard_move.start_copy(spec, ends)
        await shard_move.wait_synced(spec, ends, reporter.copy_progress, total)
        held = await shard_move.switch(spec, view.coordinators, reporter.note, ends.target)
    except (MoveError, PgError, OSError) as exc:
        raise RebalanceError(f"{_describe(spec)} stopped: {exc}; run `gridpg rebalance` again "
                             "to undo it and go on") from None
    spec.step = "switched"
    _save_state(state, spec)
    try:
        await shard_move.cleanup(spec, ends)
    except (MoveError, PgError, OSError) as exc:
        raise RebalanceError(f"{_describe(spec)} switched, but its cleanup stopped: {exc}; "
                             "run `gridpg rebalance` again to finish it") from None
    state.unlink(missing_ok=True)
    reporter.copy_finished(spec, held)


async def resume(cluster: Any, reporter: Reporter) -> None:
    """A copy recorded by an interrupted run: finished if its metadata switched, else undone."""
    state = cluster.run_dir / STATE_FILE
    if not state.exists():
        return
    spec = CopySpec.from_json(state.read_text())
    view = await load_view(cluster)
    await _wait_no_prepared(view, spec)
    view = await load_view(cluster)  # after in-doubt transactions were resolved
    ends = Endpoints(view.primary(spec.source), view.primary(spec.target), view.pg_bin)
    try:
        if _switched(view.snapshot, spec):
            reporter.note(f"finishing the interrupted {_describe(spec)} (it had switched)")
            await shard_move.cleanup(spec, ends)
        else:
            reporter.note(f"undoing the interrupted {_describe(spec)} (it had not switched)")
            await shard_move.rollback(spec, ends)
    except (MoveError, PgError, OSError) as exc:
        raise RebalanceError(f"the interrupted {_describe(spec)} could not be resolved: {exc}") from None
    state.unlink()


def _switched(snapshot: CatalogSnapshot, spec: CopySpec) -> bool:
    if spec.kind == "move":  # tables dropped since then did not switch
        present = [t for t in spec.tables if snapshot.table(*t) is not None]
        return bool(present) and snapshot.shard_group(*present[0], spec.remainder) == spec.target
    tables = [snapshot.table(s, t) for s, t in spec.tables]
    return all(t is not None and spec.target in t.groups for t in tables)


async def _wait_no_prepared(view: View, spec: CopySpec, timeout: float = 60.0) -> None:
    """In-doubt 2PC of an interrupted switch is resolved (by the coordinators' recovery or
    the monitor) before its outcome is read from the catalog: gridpg's own prepared
    transactions on the two groups and on every catalog server."""
    addresses = [view.primary(spec.source), view.primary(spec.target), *view.catalogs]
    sql = "SELECT count(*) FROM pg_catalog.pg_prepared_xacts WHERE gid LIKE 'gridpg\\_%'"
    deadline = time.monotonic() + timeout
    while True:
        counts = [await shard_move.run_sql(a, sql) for a in addresses]
        if all(c[0][0] == "0" for c in counts):
            return
        if time.monotonic() > deadline:
            raise RebalanceError("prepared transactions are still in doubt on "
                                 f"{spec.source} or {spec.target}; run `gridpg recover`, then rebalance again")
        await asyncio.sleep(0.5)


async def _release(view: View, group: str, reporter: Reporter) -> None:
    """After a drain: the group leaves every table's groups; what is left there is dropped."""
    change = json.dumps({"kind": "release_group", "group": group})
    for _ in range(shard_move.SWITCH_ATTEMPTS):
        for address in view.coordinators:
            try:
                await shard_move.run_sql(address, f"SELECT gridpg_switch_placement({quote_literal(change)})")
                reporter.note(f"{group} holds no data any more; remove it with `gridpg node remove {group}`")
                return
            except PgError as exc:
                if exc.sqlstate != "55P03":
                    raise RebalanceError(f"releasing {group}: {exc.message} (SQLSTATE {exc.sqlstate})") from None
                break
        await asyncio.sleep(0.5)
    raise RebalanceError(f"releasing {group}: the cluster could not be paused briefly")


def _describe(spec: CopySpec) -> str:
    if spec.kind == "move":
        return (f"move of shard {spec.remainder} of colocation {spec.colocation} "
                f"({len(spec.tables)} tables) from {spec.source} to {spec.target}")
    return f"copy of {len(spec.tables)} reference tables from {spec.source} to {spec.target}"


def _save_state(path: Path, spec: CopySpec) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(spec.to_json())
    tmp.replace(path)


@contextlib.contextmanager
def _exclusive(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RebalanceError("another rebalance or drain runs on this cluster") from None
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def copy_references(cluster: Any, reporter: Reporter) -> int:
    """Reference tables onto every group that lacks them (after `gridpg node add`); how many
    copies ran."""
    async def run() -> int:
        await resume(cluster, reporter)
        view = await load_view(cluster)
        copies = reference_copies(view, set())
        for index, spec in enumerate(copies):
            await run_copy(cluster, view, spec, 0, reporter, index, len(copies))
        return len(copies)

    with _exclusive(cluster.run_dir / "rebalance.lock"):
        return asyncio.run(run())
