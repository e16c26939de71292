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

`LagTracker` is pure; `StandbyWatch.run` is the loop (one connection per member, reopened
when lost; a member that cannot be asked counts as lagging without bound).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from gridpg.datanode.connection import BackendConnection, NodeAddress

log = logging.getLogger(__name__)

INTERVAL = 0.25  # seconds between two measurements


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


class StandbyWatch:
    """Measures each standby's lag and reports the set of standbys beyond the bound."""

    def __init__(self, max_lag: float, members: Callable[[], list[GroupMembers]],
                 changed: Callable[[frozenset[str]], None]) -> None:
        self.max_lag = max_lag
        self.members = members
        self.changed = changed
        self.lagging: frozenset[str] = frozenset()
        self._trackers: dict[str, LagTracker] = {}
        self._conns: dict[str, BackendConnection] = {}

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            try:
                await self.tick(loop.time())
            except asyncio.CancelledError:
                raise
            except Exception:  # a bug here must not stop the coordinator
                log.warning("standby lag watch failed", exc_info=True)
            await asyncio.sleep(INTERVAL)

    async def tick(self, now: float) -> None:
        lagging = set()
        for group in self.members():
            tracker = self._trackers.setdefault(
                group.primary.name, LagTracker(window=max(4 * self.max_lag, 10.0)))
            position = await self._ask(group.primary, "SELECT pg_catalog.pg_current_wal_lsn()")
            if position is not None:
                tracker.observe_primary(now, position)
            for standby in group.standbys:
                replayed = await self._ask(standby, "SELECT pg_catalog.pg_last_wal_replay_lsn()")
                if tracker.lag(now, replayed) > self.max_lag:
                    lagging.add(standby.name)
        if frozenset(lagging) != self.lagging:
            log.info("standbys beyond the lag bound of %.1f s: %s", self.max_lag, sorted(lagging) or "none")
            self.lagging = frozenset(lagging)
            self.changed(self.lagging)

    async def _ask(self, address: NodeAddress, sql: str) -> int | None:
        conn = self._conns.get(address.name)
        try:
            if conn is None or conn.address != address:
                if conn is not None:
                    conn.close()
                conn = await asyncio.wait_for(BackendConnection.connect(address), timeout=2.0)
                self._conns[address.name] = conn
            rows = await asyncio.wait_for(conn.query(sql), timeout=2.0)
        except Exception as exc:  # noqa: BLE001 - any failure (refused, timeout...): unknown
            log.debug("standby watch: %s did not answer: %s", address.name, exc)
            dropped = self._conns.pop(address.name, None)
            if dropped is not None:
                with contextlib.suppress(Exception):
                    dropped.close()
            return None
        value = rows[0][0] if rows else None
        return parse_lsn(value) if value else None

    def close(self) -> None:
        for conn in self._conns.values():
            with contextlib.suppress(Exception):
                conn.close()
        self._conns.clear()
