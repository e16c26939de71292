"""The read-only coordinator's standby lag measure (frontend/standby_watch.py), no server."""

from __future__ import annotations

import asyncio
import math
import os
import time
from dataclasses import dataclass

from gridpg.datanode.connection import NodeAddress
from gridpg.frontend.standby_watch import (
    GroupMembers,
    LagTracker,
    StandbyVerdict,
    StandbyWatch,
    Verdict,
    parse_lsn,
)


def test_parse_lsn() -> None:
    assert parse_lsn("0/0") == 0
    assert parse_lsn("1/A") == (1 << 32) + 10
    assert parse_lsn("16/B374D848") > parse_lsn("16/B374D847")


def test_an_idle_group_has_no_lag() -> None:
    tracker = LagTracker(window=10)
    for second in range(30):  # the primary writes nothing for 30 s
        tracker.observe_primary(float(second), 500)
    assert tracker.lag(30.0, 500) == 0.0


def test_lag_is_the_age_of_the_oldest_position_not_replayed() -> None:
    tracker = LagTracker(window=10)
    tracker.observe_primary(0.0, 100)
    tracker.observe_primary(1.0, 200)
    tracker.observe_primary(2.0, 300)
    assert tracker.lag(2.5, 300) == 0.0
    assert tracker.lag(2.5, 250) == 0.5  # has not replayed what the primary had at t=2
    assert tracker.lag(2.5, 150) == 1.5
    assert tracker.lag(2.5, 50) == 2.5


def test_a_standby_behind_the_whole_window_lags_at_least_the_window() -> None:
    tracker = LagTracker(window=4)
    for second in range(20):
        tracker.observe_primary(float(second), 1000 + second)
    assert tracker.lag(19.0, 10) >= 4  # older samples are dropped; still beyond any bound


def test_a_standby_that_cannot_be_asked_lags_without_bound() -> None:
    assert math.isinf(LagTracker(window=10).lag(0.0, None))


# -- one verdict for all the workers of a coordinator --------------------------------------


def test_a_verdict_never_published_is_not_trusted() -> None:
    view = StandbyVerdict().current(100.0, max_age=4.0)
    assert not view.trusted and view.is_lagging("dn1s1")  # every group read from its primary


def test_a_published_verdict_is_trusted_until_it_goes_stale() -> None:
    shared = StandbyVerdict()
    shared.publish(frozenset({"dn1s1"}), now=100.0)
    view = shared.current(101.0, max_age=4.0)
    assert view.trusted and view.is_lagging("dn1s1") and not view.is_lagging("dn2s1")
    stale = shared.current(104.5, max_age=4.0)  # the watch has not confirmed it for 4.5 s
    assert not stale.trusted and stale.is_lagging("dn2s1")
    shared.publish(frozenset(), now=105.0)
    assert shared.current(105.1, max_age=4.0) == Verdict(frozenset(), trusted=True)


def test_the_verdict_is_shared_with_forked_workers() -> None:
    """What worker 0 publishes, a worker forked before is reading at its next transaction
    start, and the other way round (the mapping is shared, not copied on write)."""
    shared = StandbyVerdict()
    shared.publish(frozenset(), now=time.monotonic())
    assert not shared.current(time.monotonic(), 4.0).is_lagging("dn1s1")
    child_reads, parent_writes = os.pipe()
    pid = os.fork()
    if pid == 0:  # the worker: waits for the parent's publish, then reports what it sees
        code = 1
        try:
            os.read(child_reads, 1)
            view = shared.current(time.monotonic(), 4.0)
            code = 0 if view.trusted and view.lagging == {"dn1s1", "dn2s1"} else 3
        finally:
            os._exit(code)
    shared.publish(frozenset({"dn1s1", "dn2s1"}), now=time.monotonic())
    os.write(parent_writes, b"x")
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0


@dataclass
class FakeMembers:
    """Answers the watch's questions: each member's WAL position, or None (no answer)."""

    positions: dict[str, int | None]

    async def ask(self, address: NodeAddress, sql: str) -> int | None:
        assert ("current_wal_lsn" in sql) == (address.name == "dn1")
        return self.positions[address.name]


def watch_of(fake: FakeMembers, max_lag: float = 1.0) -> StandbyWatch:
    primary, standby = NodeAddress("dn1", "h", 1, "u", "p"), NodeAddress("dn1s1", "h", 2, "u", "p")
    watch = StandbyWatch(max_lag, lambda: [GroupMembers(primary, [standby])], StandbyVerdict())
    watch._ask = fake.ask  # type: ignore[method-assign]
    return watch


def test_a_paused_standby_is_published_as_lagging_once_beyond_the_bound() -> None:
    fake = FakeMembers({"dn1": 100, "dn1s1": 100})
    watch = watch_of(fake)
    asyncio.run(watch.tick(0.0))
    fake.positions["dn1"] = 200  # the primary writes; the standby replays nothing
    seen = []
    for now in (0.25, 0.5, 0.75, 1.0, 1.25, 1.5):  # first seen at 0.25: lags 1.25 s at 1.5
        asyncio.run(watch.tick(now))
        seen.append(watch.verdict.current(time.monotonic(), 4.0).is_lagging("dn1s1"))
    assert seen == [False] * 5 + [True]
    fake.positions["dn1s1"] = 200  # resumed and caught up
    asyncio.run(watch.tick(1.75))
    assert not watch.verdict.current(time.monotonic(), 4.0).is_lagging("dn1s1")


def test_a_standby_is_read_through_its_primarys_outage_not_when_it_does_not_answer() -> None:
    fake = FakeMembers({"dn1": 100, "dn1s1": 100})
    watch = watch_of(fake)
    asyncio.run(watch.tick(0.0))
    fake.positions["dn1"] = None  # the primary is down: the standby has all it was seen with
    asyncio.run(watch.tick(5.0))
    assert not watch.verdict.current(time.monotonic(), 4.0).is_lagging("dn1s1")
    fake.positions["dn1s1"] = None
    asyncio.run(watch.tick(5.25))
    assert watch.verdict.current(time.monotonic(), 4.0).is_lagging("dn1s1")
