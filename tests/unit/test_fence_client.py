"""The coordinator side of the consistency fence (txn/fence.py) and the session's
consistency settings (txn/snapshot.py), against a fake GTM: no servers."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from gridpg.errors import PgError
from gridpg.gtm.protocol import GtmError, GtmUnavailable
from gridpg.sql.parse import set_statement, transaction_control
from gridpg.txn import fence, snapshot
from gridpg.txn.transaction import DistributedTransaction


class FakeGtm:
    """Grants the fence after `grant_after` seconds; reports `commit_waiting` in stats."""

    def __init__(self, grant_after: float = 0.0, commit_waiting: int = 0, down: bool = False) -> None:
        self.grant_after = grant_after
        self.commit_waiting = commit_waiting
        self.down = down
        self.released: list[int] = []
        self.stats_calls = 0

    async def fence_acquire(self, mode: str) -> int:
        if self.down:
            raise GtmUnavailable("GTM is down")
        await asyncio.sleep(self.grant_after)
        return 7

    def fence_release_now(self, token: int) -> bool:
        return False  # no link: the release is sent by a task, awaiting the reply

    async def fence_release(self, token: int) -> None:
        self.released.append(token)

    async def stats(self) -> dict[str, Any]:
        self.stats_calls += 1
        if self.down:
            raise GtmUnavailable("GTM is down")
        return {"fence": {"waiting": {"commit": self.commit_waiting, "snapshot": 0}}}


def _after(seconds: float) -> fence.Started:
    async def wait() -> None:
        await asyncio.sleep(seconds)

    return fence.Started("dn1", wait)


async def _settle() -> None:
    await asyncio.sleep(0.01)  # the release is sent in the background


def test_hold_releases_once_every_node_started() -> None:
    async def main() -> FakeGtm:
        gtm = FakeGtm()
        sent: list[str] = []
        await fence.run_fenced(gtm, 1.0, lambda: sent.append("x"), [_after(0.01), _after(0.02)])  # type: ignore[arg-type]
        await _settle()
        assert sent == ["x"]
        return gtm

    assert asyncio.run(main()).released == [7]


def test_a_slow_node_keeps_the_fence_while_no_commit_waits() -> None:
    async def main() -> FakeGtm:
        gtm = FakeGtm(commit_waiting=0)
        await fence.run_fenced(gtm, 0.05, lambda: None, [_after(0.2)])  # type: ignore[arg-type]
        await _settle()
        return gtm

    gtm = asyncio.run(main())
    assert gtm.released == [7] and gtm.stats_calls >= 2


def test_a_slow_node_fails_40001_once_a_commit_waits() -> None:
    async def main() -> tuple[FakeGtm, PgError]:
        gtm = FakeGtm(commit_waiting=1)
        with pytest.raises(PgError) as caught:
            await fence.run_fenced(gtm, 0.05, lambda: None, [_after(5.0)])  # type: ignore[arg-type]
        await _settle()
        return gtm, caught.value

    gtm, error = asyncio.run(main())
    assert error.sqlstate == "40001"
    assert "node dn1 did not take its snapshot within 50 ms" in error.message
    assert gtm.released == [7]


def test_acquiring_is_bounded_and_an_unreachable_gtm_is_no_licence_to_read() -> None:
    async def acquire(gtm: FakeGtm) -> PgError:
        with pytest.raises(PgError) as caught:
            await fence.acquire_snapshot(gtm, 0.05)  # type: ignore[arg-type]
        return caught.value

    slow = asyncio.run(acquire(FakeGtm(grant_after=1.0)))
    assert slow.sqlstate == "40001" and "waited 100 ms for the GTM's snapshot fence" in slow.message
    down = asyncio.run(acquire(FakeGtm(down=True)))
    assert down.sqlstate == "40001" and "unavailable" in down.message


def test_start_failing_releases_the_fence() -> None:
    async def main() -> FakeGtm:
        gtm = FakeGtm()

        def start() -> None:
            raise PgError("08006", "connection to node dn1 was lost")

        with pytest.raises(PgError):
            await fence.run_fenced(gtm, 1.0, start, [])  # type: ignore[arg-type]
        await _settle()
        return gtm

    assert asyncio.run(main()).released == [7]


def test_settings_are_checked_and_read() -> None:
    with pytest.raises(PgError) as caught:
        snapshot.check_setting("gridpg.consistency", "strong")
    assert caught.value.sqlstate == "22023"
    snapshot.check_setting("gridpg.consistency", "NODE")
    assert snapshot.parse_timeout("250") == 0.25
    assert snapshot.parse_timeout("2s") == 2.0
    for bad in ("0", "-5", "soon", "1h"):
        with pytest.raises(PgError):
            snapshot.parse_timeout(bad)
    values: dict[str, str] = {}
    policy = snapshot.SessionConsistency(FakeGtm(), lambda: values, lambda: ["dn1", "dn2"])  # type: ignore[arg-type]
    assert policy.is_cluster and policy.timeout == fence.DEFAULT_TIMEOUT
    values.update({"gridpg.consistency": "node", "gridpg.fence_timeout": "1500"})
    assert not policy.is_cluster and policy.timeout == 1.5
    policy.local["gridpg.consistency"] = "cluster"
    assert policy.is_cluster
    assert not snapshot.SessionConsistency(None, dict, list).is_cluster


def test_isolation_is_read_from_every_place_it_is_set() -> None:
    assert snapshot.isolation_from_begin("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY") == "repeatable read"
    assert snapshot.isolation_from_begin("BEGIN READ ONLY") is None
    # Of several levels PostgreSQL runs the last (the first was taken: serializable unrefused).
    assert snapshot.isolation_from_begin(
        "BEGIN ISOLATION LEVEL REPEATABLE READ, ISOLATION LEVEL SERIALIZABLE") == "serializable"
    twice = transaction_control("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, ISOLATION LEVEL SERIALIZABLE")
    assert twice is not None and snapshot.normalize_isolation(twice.isolation) == "serializable"
    control = transaction_control("/* x */ set transaction isolation level serializable")
    assert control is not None and snapshot.normalize_isolation(control.isolation) == "serializable"
    setting = set_statement("SET LOCAL gridpg.fence_timeout = 300")
    assert setting is not None and setting.value == "300" and setting.is_local
    values = {"default_transaction_isolation": "repeatable read"}
    txn = DistributedTransaction(None, None, "coord1", None)  # type: ignore[arg-type]
    txn.consistency = snapshot.SessionConsistency(FakeGtm(), lambda: values, lambda: ["dn1", "dn2"])  # type: ignore[arg-type]
    txn.begin()
    assert txn.effective_isolation == "repeatable read" and not txn.serializable
    assert txn._wants_cluster_snapshot("dn1")
    txn.note_isolation("SERIALIZABLE")
    assert txn.serializable and not txn._wants_cluster_snapshot("dn1")
    txn.begin("BEGIN ISOLATION LEVEL READ COMMITTED")
    assert txn.effective_isolation == "read committed"
    assert txn.needs_statement_fence(2) and not txn.needs_statement_fence(1)
    txn.cluster_snapshot = True  # a fenced transaction snapshot: statements need no fence
    assert not txn.needs_statement_fence(2)


def test_no_node_to_wait_for_releases_at_once() -> None:
    async def main() -> FakeGtm:
        gtm = FakeGtm()
        await fence.run_fenced(gtm, 1.0, lambda: None, [])  # type: ignore[arg-type]
        await _settle()
        return gtm

    assert asyncio.run(main()).released == [7]


def test_and_chain_keeps_the_isolation_level() -> None:
    txn = DistributedTransaction(None, None, "coord1", None)  # type: ignore[arg-type]
    txn.begin("BEGIN READ ONLY")
    txn.note_isolation("repeatable read")
    assert txn.chain_begin_sql() == "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY"
    txn.begin("BEGIN ISOLATION LEVEL SERIALIZABLE")
    assert txn.chain_begin_sql() == "BEGIN ISOLATION LEVEL SERIALIZABLE"
    txn.begin()
    assert txn.chain_begin_sql() == "BEGIN"


class CountingGtm(FakeGtm):
    """A fake GTM that counts commit-fence grants, hands out distinct tokens and keeps
    one link until `drop_link`."""

    def __init__(self, grant_after: float = 0.0, down: bool = False) -> None:
        super().__init__(grant_after=grant_after, down=down)
        self.acquired: list[int] = []
        self.link: object | None = object()

    async def fence_acquire(self, mode: str) -> int:
        await super().fence_acquire(mode)
        token = len(self.acquired) + 1
        self.acquired.append(token)
        return token

    def open_link(self) -> object | None:
        return self.link

    def drop_link(self) -> None:
        self.link = object()  # a new connection: the old one's tokens are void

    async def fence_watch(self, wait: float) -> bool:
        raise GtmError("0A000", "unknown GTM operation 'fence_watch'")  # as an older GTM


class WatchingGtm(CountingGtm):
    """A fake GTM that answers `fence_watch` once `snapshot_waits` is set."""

    def __init__(self) -> None:
        super().__init__()
        self.snapshot_waits = asyncio.Event()
        self.watches = 0

    async def fence_watch(self, wait: float) -> bool:
        self.watches += 1
        try:
            await asyncio.wait_for(self.snapshot_waits.wait(), wait)
        except TimeoutError:
            return False
        return True


def _round(log: list[str], name: str, seconds: float) -> Any:
    async def body() -> None:
        log.append(f"{name} start")
        await asyncio.sleep(seconds)
        log.append(f"{name} end")
    return body


def test_commit_rounds_at_once_share_one_token_released_after_the_last() -> None:
    async def main() -> tuple[CountingGtm, list[int]]:
        gtm = CountingGtm(grant_after=0.01)
        share = fence.CommitFenceShare(gtm, window=1.0)  # type: ignore[arg-type]
        log: list[str] = []
        released_while_running: list[int] = []

        async def watch() -> None:
            await asyncio.sleep(0.03)  # the first round is over, the second not
            released_while_running.extend(gtm.released)

        await asyncio.gather(share.run(_round(log, "a", 0.02)), share.run(_round(log, "b", 0.05)), watch())
        await _settle()
        return gtm, released_while_running

    gtm, early = asyncio.run(main())
    assert gtm.acquired == [1]  # one GTM round trip for both rounds
    assert early == []  # held while a round still runs under it
    assert gtm.released == [1]


def test_a_round_after_the_window_takes_its_own_token() -> None:
    async def main() -> CountingGtm:
        gtm = CountingGtm()
        share = fence.CommitFenceShare(gtm, window=0.01)  # type: ignore[arg-type]
        log: list[str] = []
        first = asyncio.ensure_future(share.run(_round(log, "a", 0.1)))
        await asyncio.sleep(0.03)  # the first token is held, granted 30 ms ago
        await share.run(_round(log, "b", 0.0))
        await first
        await _settle()
        return gtm

    gtm = asyncio.run(main())
    assert gtm.acquired == [1, 2]
    assert sorted(gtm.released) == [1, 2]


def test_a_token_of_a_dropped_gtm_connection_is_never_joined() -> None:
    async def main() -> CountingGtm:
        gtm = CountingGtm()
        share = fence.CommitFenceShare(gtm, window=10.0)  # type: ignore[arg-type]
        log: list[str] = []
        first = asyncio.ensure_future(share.run(_round(log, "a", 0.05)))
        await asyncio.sleep(0.01)
        gtm.drop_link()
        await share.run(_round(log, "b", 0.0))
        await first
        await _settle()
        return gtm

    assert asyncio.run(main()).acquired == [1, 2]


def test_a_failed_acquire_fails_every_round_waiting_for_it_and_is_not_reused() -> None:
    async def main() -> tuple[list[BaseException | None], CountingGtm, list[str]]:
        gtm = CountingGtm(down=True)
        share = fence.CommitFenceShare(gtm, window=10.0)  # type: ignore[arg-type]
        log: list[str] = []
        results = await asyncio.gather(share.run(_round(log, "a", 0.0)), share.run(_round(log, "b", 0.0)),
                                       return_exceptions=True)
        gtm.down = False
        await share.run(_round(log, "c", 0.0))
        await _settle()
        return list(results), gtm, log

    results, gtm, log = asyncio.run(main())
    assert all(isinstance(r, GtmUnavailable) for r in results)
    assert log == ["c start", "c end"]  # no round ran without the fence
    assert gtm.acquired == [1] and gtm.released == [1]


def test_a_token_granted_after_every_waiting_round_was_cancelled_is_released() -> None:
    async def main() -> CountingGtm:
        gtm = CountingGtm(grant_after=0.05)
        share = fence.CommitFenceShare(gtm)  # type: ignore[arg-type]
        log: list[str] = []
        waiting = asyncio.ensure_future(share.run(_round(log, "a", 0.0)))
        await asyncio.sleep(0.01)
        waiting.cancel()
        await asyncio.gather(waiting, return_exceptions=True)
        await asyncio.sleep(0.06)
        await _settle()
        assert log == []
        return gtm

    gtm = asyncio.run(main())
    assert gtm.acquired == [1] and gtm.released == [1]


def test_a_token_granted_while_the_gtm_link_changed_is_never_joined() -> None:
    class Reconnecting(CountingGtm):
        async def fence_acquire(self, mode: str) -> int:
            token = await super().fence_acquire(mode)
            if token == 1:
                self.drop_link()  # the reply came on a link since replaced
            return token

    async def main() -> Reconnecting:
        gtm = Reconnecting()
        share = fence.CommitFenceShare(gtm, window=10.0)  # type: ignore[arg-type]
        log: list[str] = []
        first = asyncio.ensure_future(share.run(_round(log, "a", 0.05)))
        await asyncio.sleep(0.01)
        await share.run(_round(log, "b", 0.0))
        await first
        return gtm

    assert asyncio.run(main()).acquired == [1, 2]


def test_a_round_right_after_the_last_one_ended_joins_the_lingering_token() -> None:
    """A busy worker's next commit within the window takes no GTM round trip: the token
    lingers after its last round, and goes back by the window's end at the latest."""
    async def main() -> tuple[CountingGtm, list[int], list[int]]:
        gtm = CountingGtm()
        share = fence.CommitFenceShare(gtm, window=0.05, linger=0.05)  # type: ignore[arg-type]
        log: list[str] = []
        await share.run(_round(log, "a", 0.0))
        await asyncio.sleep(0.005)
        lingering = list(gtm.released)
        await share.run(_round(log, "b", 0.0))  # joins the token still held
        await asyncio.sleep(0.06)  # past the window: released
        released = list(gtm.released)
        await share.run(_round(log, "c", 0.0))  # a new token
        await asyncio.sleep(0.06)
        return gtm, lingering, released

    gtm, lingering, released = asyncio.run(main())
    assert lingering == []  # held between the rounds
    assert released == [1]
    assert gtm.acquired == [1, 2] and gtm.released == [1, 2]


def test_a_lingering_token_goes_back_by_the_end_of_its_window() -> None:
    async def main() -> tuple[list[int], list[int]]:
        gtm = CountingGtm()
        share = fence.CommitFenceShare(gtm, window=0.02, linger=10.0)  # type: ignore[arg-type]
        await share.run(_round([], "a", 0.0))
        await asyncio.sleep(0.005)
        early = list(gtm.released)
        await asyncio.sleep(0.03)
        return early, list(gtm.released)

    early, late = asyncio.run(main())
    assert early == [] and late == [1]


def test_a_watched_token_is_kept_between_rounds_until_a_snapshot_waits() -> None:
    """While the worker watches the GTM, its token outlives the short window; once a
    snapshot request waits, it is joined no more and goes back (no round under it)."""
    async def main() -> tuple[WatchingGtm, list[int], list[int]]:
        gtm = WatchingGtm()
        share = fence.CommitFenceShare(gtm, window=0.01, watched_window=10.0)  # type: ignore[arg-type]
        log: list[str] = []
        await share.run(_round(log, "a", 0.0))
        await asyncio.sleep(0.03)  # past the short window
        await share.run(_round(log, "b", 0.0))  # joins: watched, nobody waits
        kept = list(gtm.released)
        gtm.snapshot_waits.set()
        await _settle()
        released = list(gtm.released)
        await share.run(_round(log, "c", 0.0))  # a new token, behind that snapshot
        return gtm, kept, released

    gtm, kept, released = asyncio.run(main())
    assert kept == [] and released == [1]
    assert gtm.acquired == [1, 2] and gtm.watches >= 1


def test_a_revoked_token_still_covers_the_rounds_under_it() -> None:
    async def main() -> tuple[WatchingGtm, list[int], list[str]]:
        gtm = WatchingGtm()
        share = fence.CommitFenceShare(gtm, window=0.01, watched_window=10.0)  # type: ignore[arg-type]
        log: list[str] = []
        running = asyncio.ensure_future(share.run(_round(log, "a", 0.05)))
        await asyncio.sleep(0.01)
        gtm.snapshot_waits.set()
        await asyncio.sleep(0.01)
        during = list(gtm.released)
        await running
        await _settle()
        return gtm, during, log

    gtm, during, log = asyncio.run(main())
    assert during == []  # held while its round runs
    assert gtm.released == [1] and log == ["a start", "a end"]


def test_only_an_unknown_operation_stops_the_watch_for_good() -> None:
    class Refusing(WatchingGtm):
        def __init__(self, code: str) -> None:
            super().__init__()
            self.code = code

        async def fence_watch(self, wait: float) -> bool:
            self.watches += 1
            raise GtmError(self.code, "no")

    async def main(code: str) -> int:
        gtm = Refusing(code)
        share = fence.CommitFenceShare(gtm, window=0.001)  # type: ignore[arg-type]
        for _ in range(3):
            await share.run(_round([], "a", 0.0))
            await asyncio.sleep(0.01)
        return gtm.watches

    assert asyncio.run(main("0A000")) == 1  # an older GTM: asked once
    assert asyncio.run(main("XX000")) == 3  # any other refusal: asked again with the next token
