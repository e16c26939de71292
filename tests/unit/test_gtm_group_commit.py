"""The GTM's group commit (gtm/server.py GroupCommitter over gtm/storage.py): the fsync of
a batch runs off the event loop, nobody whose write is in the batch hears back before it,
and a committed-then-synced batch survives a reopen."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

from gridpg.gtm.server import GroupCommitter
from gridpg.gtm.storage import Decision, Storage


class _GatedStorage(Storage):
    """A Storage whose WAL fsync waits for the test's go (and counts the syncs)."""

    def __init__(self, data_dir: Path) -> None:
        self.gate = threading.Event()
        self.gate.set()
        self.syncs = 0
        super().__init__(data_dir)

    def sync_wal(self) -> None:
        assert self.gate.wait(10), "the test never opened the gate"
        self.syncs += 1
        super().sync_wal()


def test_the_fsync_runs_off_the_loop_and_gates_the_answer(tmp_path: Path) -> None:
    storage = _GatedStorage(tmp_path / "gtm")
    committer = GroupCommitter(storage, on_failure=lambda exc: None)

    async def scenario() -> None:
        runner = asyncio.ensure_future(committer.run())
        try:
            storage.gate.clear()
            storage.save_decision(Decision("gridpg_1_c", ["dn1", "dn2"], 1))
            waiter = asyncio.ensure_future(committer.sync())
            ticks = 0
            for _ in range(50):  # the loop keeps serving while the fsync waits at the gate
                await asyncio.sleep(0.002)
                ticks += 1
            assert ticks == 50 and not waiter.done()
            # A second write meanwhile goes to the next batch, not the one being synced.
            storage.save_decision(Decision("gridpg_2_c", ["dn1"], 2))
            second = asyncio.ensure_future(committer.sync())
            await asyncio.sleep(0.01)
            assert not second.done() and storage.has_pending_writes
            storage.gate.set()
            await asyncio.wait_for(asyncio.gather(waiter, second), 10)
            assert committer.commits == 2 and not storage.has_pending_writes
        finally:
            runner.cancel()
            committer.close()

    asyncio.run(scenario())
    assert storage.syncs >= 3  # the one at open, one per batch
    storage.close()
    reopened = Storage(tmp_path / "gtm")
    try:
        assert set(reopened.load_decisions()) == {"gridpg_1_c", "gridpg_2_c"}
        assert reopened.lsn == 2
    finally:
        reopened.close()


def test_a_failed_fsync_fails_the_waiters_and_stops(tmp_path: Path) -> None:
    storage = Storage(tmp_path / "gtm")
    failures: list[BaseException] = []
    committer = GroupCommitter(storage, on_failure=failures.append)

    def broken_sync() -> None:
        raise OSError(5, "Input/output error")

    storage.sync_wal = broken_sync  # type: ignore[method-assign]

    async def scenario() -> None:
        runner = asyncio.ensure_future(committer.run())
        try:
            storage.save_decision(Decision("gridpg_3_c", ["dn1", "dn2"], 3))
            try:
                await asyncio.wait_for(committer.sync(), 10)
            except Exception as exc:  # noqa: BLE001 - the GTM's error is what is checked
                assert "GTM commit failed" in str(exc)
            else:
                raise AssertionError("a write whose fsync failed was confirmed")
        finally:
            runner.cancel()
            committer.close()

    asyncio.run(scenario())
    assert len(failures) == 1 and isinstance(failures[0], OSError)
    storage.close()
