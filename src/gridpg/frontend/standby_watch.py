"""Which standbys a read-only coordinator may read from: those within the lag bound.

A read-only coordinator serves each datanode group from one of its streaming standbys.
A standby that falls behind (replay paused, a slow disk, a broken link) or stops answering
would serve stale reads without any sign; so the coordinator measures each standby's
replay lag in *seconds* and reads from the group's primary while the lag exceeds
`max_standby_lag` (a coordinator setting in the topology), going back to the standby once
it has caught up.

The lag is measured, not read from `pg_last_xact_replay_timestamp()` (which grows while a
primary is idle): every tick records the primary's WAL position with the time it was
seen; a standby's lag is the age of the oldest recorded position it has not replayed yet.
An idle group therefore has no lag, and a standby that replays nothing while the primary
writes lags by exactly the time since the first write it has not seen.

One verdict per coordinator, not per worker process: the workers of a coordinator share
its port, so a client's successive sessions land on different workers. Each worker once ran
its own watch, with its own tick phase, and for up to a tick one worker read a lagging
standby that its sibling had already left: a client saw its rows, then (next session) not.
Now only worker 0 measures; it publishes the lagging set in `StandbyVerdict`, a mapping
shared by all workers (made before they fork), and every worker applies the current
verdict before each statement. A verdict the watch has not confirmed for
`max_standby_lag + STALE_SLACK` seconds (worker 0 stalled, the watch broken) is not
trusted: every group is read from its primary until the watch reports again.

`LagTracker` is pure; `StandbyWatch.run` is the loop (one connection per member, reopened
when lost; a member that cannot be asked counts as lagging without bound, except a
primary that cannot be asked: its standbys are then measured against the last position
it was seen at, so reads go on from them through the primary's outage).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import mmap
import struct
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from gridpg.datanode.connection import BackendConnection, NodeAddress

log = logging.getLogger(__name__)

INTERVAL = 0.25  # seconds between two measurements
ASK_TIMEOUT = 2.0  # seconds for one member's answer (connecting included)
STALE_SLACK = 2 * ASK_TIMEOUT + 1.0  # a tick (primaries, then standbys) plus scheduling: beyond, stuck


def parse_lsn(text: str) -> int:
    """PostgreSQL's `X/Y` WAL position as one integer."""
    high, _, low = text.partition("/")
    return (int(high, 16) << 32) | int(low, 16)


@dataclass
class LagTracker:
    """The primary's WAL positions over a window, to age a standby's replay position."""

    window: float
    samples: deque[tuple[float, int]] = field(default_factory=deque)

    def observe_primary(self, now: float, lsn: int) -> None:
        if not self.samples or lsn > self.samples[-1][1]:
            self.samples.append((now, lsn))
        while len(self.samples) > 1 and self.samples[0][0] < now - self.window:
            self.samples.popleft()

    def lag(self, now: float, replayed: int | None) -> float:
        """Seconds since the primary was at a position the standby has not replayed
        (0 when it has replayed everything seen; infinite when it cannot be asked)."""
        if replayed is None:
            return math.inf
        for seen, lsn in self.samples:
            if lsn > replayed:
                return now - seen
        return 0.0


@dataclass
class GroupMembers:
    """One datanode group as the watch sees it: the primary and the standbys' addresses."""

    primary: NodeAddress
    standbys: list[NodeAddress]


@dataclass(frozen=True)
class Verdict:
    """Which standbys not to read from; untrusted (the watch silent): none of them."""

    lagging: frozenset[str] = frozenset()
    trusted: bool = False

    def is_lagging(self, standby: str) -> bool:
        return not self.trusted or standby in self.lagging


class StandbyVerdict:
    """The watch's verdict, shared by a coordinator's workers through an anonymous shared
    mapping (MAP_SHARED, inherited across fork): worker 0 writes, every worker reads.

    Layout: a sequence number, then the heartbeat (CLOCK_MONOTONIC, the same clock in
    every process of the machine, in microseconds), the payload's length and the payload
    (JSON list of standby names). A seqlock guards it: the writer makes the sequence odd,
    writes the rest, makes it even again (each a store of its own, in that order); a
    reader retries while it is odd or moved during its read, so never takes half a write.
    Published after every tick (the heartbeat); a reader parses the payload once a tick."""

    SIZE = 1 << 16
    _SEQ = struct.Struct("<Q")
    _BODY = struct.Struct("<QI")  # heartbeat (us), payload length

    def __init__(self) -> None:
        self._map = mmap.mmap(-1, self.SIZE)  # MAP_SHARED | MAP_ANONYMOUS
        self._cached: tuple[int, float, frozenset[str]] = (0, 0.0, frozenset())

    def publish(self, lagging: frozenset[str], now: float) -> None:
        """Worker 0, after each tick: the standbys beyond the bound as of `now` (monotonic)."""
        payload = json.dumps(sorted(lagging)).encode()
        start = self._SEQ.size + self._BODY.size
        if start + len(payload) > self.SIZE:
            raise ValueError("too many lagging standbys to publish")
        seq = self._SEQ.unpack_from(self._map, 0)[0]
        self._SEQ.pack_into(self._map, 0, seq + 1)
        self._BODY.pack_into(self._map, self._SEQ.size, int(now * 1e6), len(payload))
        self._map[start:start + len(payload)] = payload
        self._SEQ.pack_into(self._map, 0, seq + 2)

    def current(self, now: float, max_age: float) -> Verdict:
        """The verdict as of `now` (time.monotonic()): untrusted when never published or
        not confirmed within `max_age` seconds."""
        seq, heartbeat, lagging = self._read()
        return Verdict(lagging, trusted=seq > 0 and now - heartbeat <= max_age)

    def _read(self) -> tuple[int, float, frozenset[str]]:
        for _ in range(1000):
            seq = self._SEQ.unpack_from(self._map, 0)[0]
            if seq == self._cached[0]:
                return self._cached
            if seq & 1:
                time.sleep(0)  # a write is under way (microseconds)
                continue
            heartbeat, length = self._BODY.unpack_from(self._map, self._SEQ.size)
            start = self._SEQ.size + self._BODY.size
            payload = bytes(self._map[start:start + length])
            if self._SEQ.unpack_from(self._map, 0)[0] == seq:
                self._cached = (seq, heartbeat / 1e6, frozenset(json.loads(payload)))
                return self._cached
        return 0, 0.0, frozenset()  # a writer stopped mid-write: untrusted


class StandbyWatch:
    """Measures each standby's lag and publishes the set of standbys beyond the bound."""

    def __init__(self, max_lag: float, members: Callable[[], list[GroupMembers]],
                 verdict: StandbyVerdict) -> None:
        self.max_lag = max_lag
        self.members = members
        self.verdict = verdict
        self.lagging: frozenset[str] | None = None
        self._trackers: dict[str, LagTracker] = {}
        self._conns: dict[str, BackendConnection] = {}

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            try:
                await self.tick(loop.time())
            except asyncio.CancelledError:
                raise
            except Exception:  # a bug here must not stop the coordinator (the verdict goes stale)
                log.warning("standby lag watch failed", exc_info=True)
            await asyncio.sleep(INTERVAL)

    async def tick(self, now: float) -> None:
        """One measurement: every primary's position, then every standby's replay
        position (asked after, so a standby that has replayed the primary's position was
        current at `now`), each set asked at once: a tick lasts at most 2 * ASK_TIMEOUT."""
        groups = self.members()
        positions = await asyncio.gather(*(self._ask(g.primary, "SELECT pg_catalog.pg_current_wal_lsn()")
                                           for g in groups))
        standbys = [(g, s) for g in groups for s in g.standbys]
        replays = await asyncio.gather(*(self._ask(s, "SELECT pg_catalog.pg_last_wal_replay_lsn()")
                                         for _, s in standbys))
        for group, position in zip(groups, positions):
            if position is not None:
                self._tracker(group).observe_primary(now, position)
        lagging = frozenset(standby.name for (group, standby), replayed in zip(standbys, replays)
                            if self._tracker(group).lag(now, replayed) > self.max_lag)
        if lagging != self.lagging:
            log.info("standbys beyond the lag bound of %.1f s: %s", self.max_lag, sorted(lagging) or "none")
            self.lagging = lagging
        self.verdict.publish(lagging, time.monotonic())

    def _tracker(self, group: GroupMembers) -> LagTracker:
        return self._trackers.setdefault(group.primary.name, LagTracker(window=max(4 * self.max_lag, 10.0)))

    async def _ask(self, address: NodeAddress, sql: str) -> int | None:
        try:
            rows = await asyncio.wait_for(self._query(address, sql), timeout=ASK_TIMEOUT)
        except Exception as exc:  # noqa: BLE001 - any failure (refused, timeout...): unknown
            log.debug("standby watch: %s did not answer: %s", address.name, exc)
            dropped = self._conns.pop(address.name, None)
            if dropped is not None:
                with contextlib.suppress(Exception):
                    dropped.close()
            return None
        value = rows[0][0] if rows else None
        return parse_lsn(value) if value else None

    async def _query(self, address: NodeAddress, sql: str) -> list[tuple[str | None, ...]]:
        conn = self._conns.get(address.name)
        if conn is None or conn.address != address:
            if conn is not None:
                conn.close()
            conn = await BackendConnection.connect(address)
            self._conns[address.name] = conn
        return await conn.query(sql)

    def close(self) -> None:
        for conn in self._conns.values():
            with contextlib.suppress(Exception):
                conn.close()
        self._conns.clear()
