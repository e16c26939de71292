"""The workers' shared catalog reload (frontend/reload_share.py): one published per epoch,
taken only for exactly that epoch, never half-written, and the lock held by one process
at a time (and let go when it dies)."""

from __future__ import annotations

import asyncio
import os
import time

from gridpg.catalog import store
from gridpg.frontend import reload_share
from gridpg.frontend.reload_share import ReloadShare, SharedReload


def _reload(epoch: int) -> SharedReload:
    doc = '{"nodes": [], "datanode_groups": [], "node_groups": [], "colocations": [], "tables": []}'
    rows = [(0, None, None, doc), (1, "s", "t", '[[0, "dn1", null]]')]
    return SharedReload(epoch, rows, {("s", "v"): "SELECT 1"}, {}, frozenset({16400}))


def test_taken_for_its_epoch_only() -> None:
    share = ReloadShare()

    async def run() -> None:
        async with share.turn() as held:
            assert held
            assert share.take(7) is None  # nothing published yet
            share.publish(_reload(7))
            got = share.take(7)
            assert got == _reload(7)
            assert store.snapshot_from_rows(7, got.snapshot_rows).shards_of("s", "t")[0].group == "dn1"
            assert share.take(6) is None and share.take(8) is None
            share.publish(_reload(9))
            assert share.take(7) is None and share.take(9) == _reload(9)

    asyncio.run(run())


def test_a_write_cut_short_is_not_taken() -> None:
    share = ReloadShare()
    share.publish(_reload(3))
    fd = share._fd
    os.ftruncate(fd, os.fstat(fd).st_size // 2)  # the body cut, the epoch still there
    assert share.take(3) is None


def test_one_worker_at_a_time(monkeypatch: object) -> None:
    """A forked sibling holding the lock keeps this process out until it exits (the kernel
    lets a dead holder's lock go); past LOCK_WAIT the waiter goes on without it."""
    share = ReloadShare()
    ready_r, ready_w = os.pipe()
    pid = os.fork()
    if pid == 0:  # the sibling: takes its turn, holds it a while, dies holding it
        async def hold() -> None:
            async with share.turn() as held:
                os.write(ready_w, b"1" if held else b"0")
                await asyncio.sleep(0.5)
                os._exit(0)
        asyncio.run(hold())
        os._exit(1)
    assert os.read(ready_r, 1) == b"1"
    monkeypatch.setattr(reload_share, "LOCK_WAIT", 0.1)  # type: ignore[attr-defined]

    async def turn() -> bool:
        async with share.turn() as held:
            return held

    assert asyncio.run(turn()) is False  # the sibling holds it
    monkeypatch.setattr(reload_share, "LOCK_WAIT", 5.0)  # type: ignore[attr-defined]
    started = time.monotonic()
    assert asyncio.run(turn()) is True  # once it died
    assert time.monotonic() - started < 4.0
    os.waitpid(pid, 0)


def test_a_reload_that_does_not_pickle_is_not_published() -> None:
    share = ReloadShare()
    share.publish(_reload(4))
    odd = _reload(5)
    odd.table_rules = {("s", "t"): lambda: None}  # (nothing of a reload's is, today)
    share.publish(odd)  # no error: the siblings read on their own
    assert share.take(5) is None and share.take(4) is None
