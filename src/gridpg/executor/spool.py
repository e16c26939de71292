"""Exchanges whose nodes work at once: every source reads once, every destination loads once.

A transaction has one session per datanode, and a session runs one statement at a time: a
direct pump (`exchange.pump`) ties a source's session to a destination's for its whole
run, so on two nodes the pumps and local copies of an exchange run one after another, and
a broadcast source scans its table twice (once for the others, once for itself).

Here an exchange runs in two phases over those same sessions (so it still reads the
transaction's own writes and fills scratch tables created inside it):

1. every source node, all at once, runs its flows' `COPY (select) TO STDOUT`; the
   CopyData messages are kept unchanged, as bytes, in a spool per flow (memory up to
   SPOOL_MEMORY, a temporary file beyond: bounded memory whatever the size);
2. every destination node, all at once, runs its local `INSERT INTO scratch select` (rows
   that need not leave the node) and one `COPY scratch FROM STDIN` fed with the spools
   meant for it, with backpressure.

Rows are never parsed or split in Python; an error on any node is raised after every node
has stopped (each session is left at a statement boundary), and the statement's
transaction then removes the scratch tables with everything else.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from collections.abc import Awaitable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import IO

from gridpg.datanode.connection import BackendConnection
from gridpg.errors import CONNECTION_FAILURE, PgError
from gridpg.pgwire import codec

SPOOL_MEMORY = 32 << 20  # bytes of one flow held in memory before it spills to a temporary file
CHUNK = 1 << 20  # bytes written to a destination at a time
HIGH_WATER = 8 << 20  # bytes queued towards a destination before the spool waits
LOW_WATER = 1 << 20


@dataclass(frozen=True)
class Flow:
    """The rows `select` returns on `source`, for every node of `dests`."""

    source: str
    select: str
    dests: tuple[str, ...]


@dataclass(frozen=True)
class Target:
    """One scratch table an exchange fills (already created on every destination): the
    flows into it, the SELECT each node runs into it locally (`local[node]`), and the
    condition over its columns a destination keeps rows by as they load (`keep[node]`,
    its `COPY ... FROM STDIN WHERE`)."""

    scratch: str
    flows: tuple[Flow, ...]
    local: Mapping[str, str] = field(default_factory=dict)
    keep: Mapping[str, str] = field(default_factory=dict)


@dataclass
class _Spooled:
    target: int
    flow: Flow
    data: IO[bytes]
    rows: int = 0
    nbytes: int = 0
    seconds: float = 0.0


Stat = tuple[str, str, str, int, int, float]


async def run_exchange(conns: Mapping[str, BackendConnection], flows: Sequence[Flow],
                       local: Mapping[str, str], scratch: str,
                       keep: Mapping[str, str] | None = None) -> list[Stat]:
    """One target's exchange (see run_targets)."""
    return await run_targets(conns, [Target(scratch, tuple(flows), local, keep or {})])


async def run_targets(conns: Mapping[str, BackendConnection], targets: Sequence[Target],
                      lossy_floats: str | None = None) -> list[Stat]:
    """Fill every target's scratch table: first every source runs all its flows (of all
    targets), all sources at once; then every destination loads all its targets, all
    destinations at once. `conns` holds the session of every node involved. Returns what
    moved, per flow and local copy: (what, source, destinations, rows, bytes, seconds),
    for EXPLAIN ANALYZE. `lossy_floats`: the session's extra_float_digits when below 1
    (the sources then write floats exactly, and get the session's value back)."""
    by_source: dict[str, list[tuple[int, Flow]]] = {}
    for n, target in enumerate(targets):
        for flow in target.flows:
            by_source.setdefault(flow.source, []).append((n, flow))
    spools: list[_Spooled] = []
    done: list[Stat] = []
    try:
        await _all([_read_source(conns[src], mine, spools, lossy_floats) for src, mine in by_source.items()])
        dests = list(dict.fromkeys(d for t in targets for d in [*t.local, *(d for f in t.flows for d in f.dests)]))
        await _all([_load_all(conns[d], d, targets, [s for s in spools if d in s.flow.dests], done) for d in dests])
    finally:
        for spool in spools:
            spool.data.close()
    stats = [(f"rows into {targets[s.target].scratch}", s.flow.source, ", ".join(s.flow.dests), s.rows, s.nbytes,
              s.seconds) for s in spools]
    return stats + done


async def _all(steps: Sequence[Awaitable[None]]) -> None:
    """Run `steps` at once; when any fails, wait for all, then raise the first error."""
    results = await asyncio.gather(*steps, return_exceptions=True)
    errors = [r for r in results if isinstance(r, BaseException)]
    if errors:
        raise next((e for e in errors if isinstance(e, PgError)), errors[0])


async def _read_source(conn: BackendConnection, flows: Sequence[tuple[int, Flow]], out: list[_Spooled],
                       lossy_floats: str | None) -> None:
    from gridpg.executor.exchange import exact_floats, exact_select, session_floats

    await conn.settle()
    selects = [await exact_select(conn, flow.select, lossy_floats) for _, flow in flows]
    lossy_floats = lossy_floats if any(switch for _, switch in selects) else None
    exact_floats([conn], lossy_floats)
    for (target, flow), (select, _) in zip(flows, selects, strict=True):
        data = tempfile.SpooledTemporaryFile(max_size=SPOOL_MEMORY)  # noqa: SIM115 - closed by run_targets
        spool = _Spooled(target, flow, data)
        out.append(spool)
        await _copy_out(conn, spool, select)
    session_floats([conn], lossy_floats)


async def _copy_out(conn: BackendConnection, spool: _Spooled, select: str) -> None:
    """`COPY (select) TO STDOUT` on the source (its flow's, floats made exact text where
    needed), its CopyData messages into the spool."""
    started = time.perf_counter()
    await conn.settle()
    conn.send(codec.build_query(f"COPY ({select}) TO STDOUT"))
    error: PgError | None = None
    while True:
        batch = await conn.recv_batch()
        data = [raw for kind, raw in batch if kind == 0x64]
        if data and error is None:
            chunk = b"".join(data)
            spool.data.write(chunk)
            spool.rows += len(data)
            spool.nbytes += len(chunk)
        for kind, raw in batch:
            if kind == 0x45:
                error = error or conn.error(codec.parse_error_fields(raw[5:]))
            elif kind == 0x5A:
                conn.txn_status = raw[5:6]
                spool.seconds = time.perf_counter() - started
                if error is not None:
                    raise error
                return


async def _load_all(conn: BackendConnection, node: str, targets: Sequence[Target], spools: Sequence[_Spooled],
                    done: list[Stat]) -> None:
    """Every target's rows for `node`, one target after another (one session)."""
    for n, target in enumerate(targets):
        await _load(conn, target.scratch, target.local.get(node), [s for s in spools if s.target == n], done,
                    target.keep.get(node))


async def _load(conn: BackendConnection, scratch: str, local: str | None, spools: Sequence[_Spooled],
                done: list[Stat], keep: str | None = None) -> None:
    """The node's own rows, then every spool meant for it, into its scratch table."""
    await conn.settle()
    if local is not None:
        started = time.perf_counter()
        results = await conn.simple_query(f"INSERT INTO {scratch} {local}")
        count = (results[-1].tag if results else "").rsplit(" ", 1)[-1]
        done.append((f"rows into {scratch} (local)", conn.node, conn.node,
                     int(count) if count.isdigit() else 0, 0, time.perf_counter() - started))
    if not any(s.nbytes for s in spools):
        return
    conn.send(codec.build_query(f"COPY {scratch} FROM STDIN" + (f" WHERE {keep}" if keep else "")))
    await conn.expect_copy_in()
    try:
        for spool in spools:
            offset = 0  # its own: other destinations read the same spool meanwhile
            for _ in range(spool.nbytes // CHUNK + 2):  # bounded: the spool's size in chunks
                spool.data.seek(offset)  # seek and read with no await between them
                chunk = spool.data.read(CHUNK)
                if not chunk:
                    break
                offset += len(chunk)
                conn.send(chunk)
                await _room(conn)
    except BaseException:
        conn.send(codec.message(b"f", codec.cstr("aborted by the coordinator")))
        await _results(conn)
        raise
    conn.send(codec.COPY_DONE)
    await conn.read_results()


async def _results(conn: BackendConnection) -> None:
    try:
        await conn.read_results()
    except PgError:
        pass  # the CopyFail's own error: the cause is raised by the caller


async def _room(conn: BackendConnection) -> None:
    """Wait while more than HIGH_WATER bytes are queued towards the node (until LOW_WATER)."""
    if conn.write_buffer_size() <= HIGH_WATER:
        return
    for _ in range(100000):  # bounded: 100 s of a node that does not read
        if conn.write_buffer_size() <= LOW_WATER:
            return
        await asyncio.sleep(0.001)
    raise PgError(CONNECTION_FAILURE, f"datanode {conn.node} stopped reading the rows of an exchange")
