"""Integration tests of the GTM: a real server in-process on a free port, the real client."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
from collections.abc import AsyncIterator, Coroutine
from pathlib import Path
from typing import Any

import pytest

from gridpg.gtm import server
from gridpg.gtm.client import GtmClient, gtm_call_sync
from gridpg.gtm.protocol import (
    MAX_FRAME,
    FrameDecoder,
    GtmError,
    GtmUnavailable,
    build_request,
    encode_frame,
)
from gridpg.gtm.server import FIRST_GXID, serve
from gridpg.gtm.storage import StorageLocked

HOST = "127.0.0.1"


def run(coro: Coroutine[Any, Any, None], timeout: float = 15.0) -> None:
    asyncio.run(asyncio.wait_for(coro, timeout))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


@contextlib.asynccontextmanager
async def running_gtm(data_dir: Path, port: int | None = None) -> AsyncIterator[int]:
    """Serve a GTM in this event loop for the body of the block; yield its port."""
    port = port or free_port()
    ready = asyncio.Event()
    task = asyncio.create_task(serve(data_dir, HOST, port, ready))
    ready_wait = asyncio.create_task(ready.wait())
    await asyncio.wait({task, ready_wait}, return_when=asyncio.FIRST_COMPLETED)
    ready_wait.cancel()
    if task.done():
        task.result()  # raises the startup error
    try:
        yield port
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


@contextlib.asynccontextmanager
async def gtm_client(data_dir: Path) -> AsyncIterator[GtmClient]:
    async with running_gtm(data_dir) as port:
        client = await GtmClient.connect(HOST, port)
        try:
            yield client
        finally:
            await client.close()


async def expect_error(code: str, call: Coroutine[Any, Any, Any]) -> GtmError:
    with pytest.raises(GtmError) as info:
        await call
    assert info.value.code == code, info.value
    return info.value


# -- ids, time, epoch -------------------------------------------------------------------------


def test_ping_gxid_timestamp_stats(tmp_path: Path) -> None:
    async def body() -> None:
        async with gtm_client(tmp_path) as gtm:
            await gtm.ping()
            assert await gtm.next_gxid() == FIRST_GXID
            assert await gtm.next_gxid(count=10) == FIRST_GXID + 1
            assert await gtm.next_gxid() == FIRST_GXID + 11
            stamps = [await gtm.timestamp() for _ in range(50)]
            assert stamps == sorted(set(stamps))
            stats = await gtm.stats()
            assert stats["requests"] >= 54 and stats["by_op"]["next_gxid"] == 3
            assert stats["connections"] == 1 and stats["epoch"] == 1
            await expect_error("22023", gtm.next_gxid(count=0))
            await expect_error("0A000", gtm.call("no_such_op"))

    run(body())


def test_epoch_bump_is_durable_and_piggybacked(tmp_path: Path) -> None:
    async def body() -> None:
        async with gtm_client(tmp_path) as gtm:
            assert await gtm.epoch_get() == 1
            assert await gtm.epoch_bump() == 2
            assert await gtm.epoch_bump() == 3
            await gtm.next_gxid()
            assert gtm.epoch == 3
        async with gtm_client(tmp_path) as gtm:
            assert await gtm.epoch_get() == 3

    run(body())


def test_state_survives_restart(tmp_path: Path) -> None:
    async def body() -> None:
        async with gtm_client(tmp_path) as gtm:
            last_gxid = await gtm.next_gxid(count=5) + 4
            last_ts = await gtm.timestamp()
            await gtm.seq_create("s")
            await gtm.seq_next("s", count=3)
            await gtm.txn_log_commit("gx:1001:c1", ["dn1", "dn2"])
        async with gtm_client(tmp_path) as gtm:
            assert await gtm.next_gxid() > last_gxid
            assert await gtm.timestamp() > last_ts
            assert (await gtm.seq_next("s")).first == 4
            assert await gtm.txn_is_committed("gx:1001:c1")

    run(body())


def test_timestamps_increase_when_the_clock_goes_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def body() -> None:
        async with gtm_client(tmp_path) as gtm:
            before = [await gtm.timestamp() for _ in range(3)]
        monkeypatch.setattr(server, "_now_us", lambda: before[0] - 3_600_000_000)
        async with gtm_client(tmp_path) as gtm:
            after = [await gtm.timestamp() for _ in range(3)]
        assert before + after == sorted(set(before + after))

    run(body())


def test_second_server_on_same_dir_is_refused(tmp_path: Path) -> None:
    async def body() -> None:
        async with running_gtm(tmp_path):
            with pytest.raises(StorageLocked):
                async with running_gtm(tmp_path):
                    pass

    run(body())


# -- sequences --------------------------------------------------------------------------------


def test_sequence_lifecycle(tmp_path: Path) -> None:
    async def body() -> None:
        async with gtm_client(tmp_path) as gtm:
            assert await gtm.seq_create("a", start=10, increment=5)
            await expect_error("42P07", gtm.seq_create("a"))
            assert not await gtm.seq_create("a", if_not_exists=True)
            assert tuple(await gtm.seq_next("a", count=3)) == (10, 20, 5)
            state = await gtm.seq_currval_state("a")
            assert (state["last_value"], state["is_called"]) == (20, True)
            await gtm.seq_rename("a", "b")
            await expect_error("42P01", gtm.seq_next("a"))
            assert (await gtm.seq_next("b")).first == 25
            await gtm.seq_create("c")
            await expect_error("42P07", gtm.seq_rename("b", "c"))
            assert [s["name"] for s in await gtm.seq_list()] == ["b", "c"]
            assert await gtm.seq_drop("b")
            assert not await gtm.seq_drop("b", if_exists=True)
            await expect_error("42P01", gtm.seq_drop("b"))
            await expect_error("42P01", gtm.seq_currval_state("b"))
            await expect_error("22023", gtm.seq_create("z", increment=0))
            await expect_error("22023", gtm.call("seq_next", name="c", count="3"))

    run(body())


def test_sequence_negative_increment(tmp_path: Path) -> None:
    async def body() -> None:
        async with gtm_client(tmp_path) as gtm:
            await gtm.seq_create("down", increment=-3, minvalue=-10, maxvalue=-1)
            taken = await gtm.seq_next("down", count=3)
            assert tuple(taken) == (-1, -7, -3)
            assert list(taken.values()) == [-1, -4, -7]
            assert tuple(await gtm.seq_next("down", count=5)) == (-10, -10, -3)
            err = await expect_error("2200H", gtm.seq_next("down"))
            assert "minimum" in err.message

    run(body())


def test_sequence_maxvalue_without_cycle(tmp_path: Path) -> None:
    async def body() -> None:
        async with gtm_client(tmp_path) as gtm:
            await gtm.seq_create("s", maxvalue=3)
            assert tuple(await gtm.seq_next("s", count=2)) == (1, 2, 1)
            assert tuple(await gtm.seq_next("s", count=2)) == (3, 3, 1)  # cut at the bound
            err = await expect_error("2200H", gtm.seq_next("s"))
            assert "maximum" in err.message
            await expect_error("2200H", gtm.seq_next("s"))

    run(body())


def test_sequence_state_is_stored_ahead_and_exact_after_a_clean_stop(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PostgreSQL's write-ahead of sequences: most nextvals cost no commit; after a stop
    without the final save (as after a crash) the values continue after the stored state,
    a gap of at most SEQ_LOG_AHEAD and never a repeat; after a clean stop, no gap."""

    async def body() -> None:
        async with gtm_client(tmp_path) as gtm:
            await gtm.seq_create("s")
            await gtm.seq_create("m", maxvalue=5)
            assert [(await gtm.seq_next("s")).first for _ in range(3)] == [1, 2, 3]
            commits = (await gtm.call("stats"))["group_commits"]
            assert [(await gtm.seq_next("s")).first for _ in range(10)] == list(range(4, 14))
            assert (await gtm.call("stats"))["group_commits"] == commits  # covered by the stored state
            assert tuple(await gtm.seq_next("m", count=2)) == (1, 2, 1)
        async with gtm_client(tmp_path) as gtm:  # a clean stop stored the exact positions
            assert (await gtm.seq_next("s")).first == 14
            assert (await gtm.seq_next("m")).first == 3

        async def no_save(self: Any) -> None:
            return None

        monkeypatch.setattr(server.GtmService, "save_exact_sequences", no_save)
        async with gtm_client(tmp_path) as gtm:
            assert (await gtm.seq_next("s")).first == 15
        async with gtm_client(tmp_path) as gtm:  # stored 32 ahead when 15 was taken
            assert (await gtm.seq_next("s")).first == 15 + server.SEQ_LOG_AHEAD + 1
            assert (await gtm.seq_next("m")).first == 4  # the stored state stopped at MAXVALUE 5
            assert (await gtm.seq_next("m")).first == 5
            await expect_error("2200H", gtm.seq_next("m"))

    run(body())


def test_sequence_cycle_wraps(tmp_path: Path) -> None:
    async def body() -> None:
        async with gtm_client(tmp_path) as gtm:
            await gtm.seq_create("c", start=2, minvalue=1, maxvalue=3, cycle=True)
            values = [(await gtm.seq_next("c")).first for _ in range(6)]
            assert values == [2, 3, 1, 2, 3, 1]
            await gtm.seq_create("d", increment=-1, minvalue=1, maxvalue=2, cycle=True)
            assert [(await gtm.seq_next("d")).first for _ in range(4)] == [2, 1, 2, 1]

    run(body())


def test_sequence_setval_then_next(tmp_path: Path) -> None:
    async def body() -> None:
        async with gtm_client(tmp_path) as gtm:
            await gtm.seq_create("s")
            await gtm.seq_setval("s", 100)
            assert (await gtm.seq_next("s")).first == 101
            await gtm.seq_setval("s", 100, is_called=False)
            state = await gtm.seq_currval_state("s")
            assert (state["last_value"], state["is_called"]) == (100, False)
            assert tuple(await gtm.seq_next("s", count=2)) == (100, 101, 1)
            await expect_error("22003", gtm.seq_setval("s", 0))

    run(body())


def test_concurrent_seq_next_is_unique_and_group_committed(tmp_path: Path) -> None:
    async def body() -> None:
        async with gtm_client(tmp_path) as gtm:
            await gtm.seq_create("s")
            ranges = await asyncio.gather(*(gtm.seq_next("s", count=2) for _ in range(200)))
            values = [v for r in ranges for v in r.values()]
            assert sorted(values) == list(range(1, 401))
            stats = await gtm.stats()
            assert stats["group_commits"] < 100, stats  # 200 durable replies, fewer commits

    run(body())


# -- 2PC decision log -------------------------------------------------------------------------


def test_commit_decision_log(tmp_path: Path) -> None:
    async def body() -> None:
        async with gtm_client(tmp_path) as gtm:
            assert not await gtm.txn_is_committed("g1")
            await gtm.txn_log_commit("g1", ["dn1", "dn2"])
            await gtm.txn_log_commit("g1", ["dn1", "dn2"])  # a retry is harmless
            await gtm.txn_log_commit("g2", ["dn3"])
            assert await gtm.txn_is_committed("g1")
            decisions = await gtm.txn_decisions()
            assert [(d["gid"], d["nodes"]) for d in decisions] == [
                ("g1", ["dn1", "dn2"]),
                ("g2", ["dn3"]),
            ]
            assert all(isinstance(d["ts"], int) for d in decisions)
            await gtm.txn_forget("g1")
            await gtm.txn_forget("g1")
            assert not await gtm.txn_is_committed("g1")
            assert [d["gid"] for d in await gtm.txn_decisions()] == ["g2"]
            await expect_error("22023", gtm.call("txn_log_commit", gid="g3", nodes="dn1"))

    run(body())


def test_forgets_travel_with_a_decision_or_together(tmp_path: Path) -> None:
    """The coordinator's forgets go with its next decision (`forget` of txn_log_commit) or
    several in one txn_forget (`gids`); unknown GIDs are ignored, malformed lists refused."""
    async def body() -> None:
        async with gtm_client(tmp_path) as gtm:
            for gid in ("a1", "a2", "a3"):
                await gtm.txn_log_commit(gid, ["dn1", "dn2"])
            token, _ = await gtm.txn_log_commit_fenced("a4", ["dn1", "dn2"], forget=["a1", "a2", "zz"])
            await gtm.fence_release(token)
            assert [d["gid"] for d in await gtm.txn_decisions()] == ["a3", "a4"]
            await gtm.txn_log_commit("a5", ["dn1"], forget=["a3"])
            await gtm.txn_forget_many(["a4", "a5", "a4"])
            assert await gtm.txn_decisions() == []
            await expect_error("22023", gtm.call("txn_forget", gids="a1"))
            await expect_error("22023", gtm.call("txn_log_commit", gid="a6", nodes=["dn1"], forget=[1]))
            assert not await gtm.txn_is_committed("a6")  # a refused request logs nothing

    run(body())


# -- the fence --------------------------------------------------------------------------------


async def _is_blocked(task: asyncio.Task[Any]) -> bool:
    await asyncio.sleep(0.1)
    return not task.done()


def test_fence_modes_over_the_wire(tmp_path: Path) -> None:
    async def body() -> None:
        async with running_gtm(tmp_path) as port:
            a = await GtmClient.connect(HOST, port)
            b = await GtmClient.connect(HOST, port)
            c1 = await a.fence_acquire("commit")
            c2 = await b.fence_acquire("commit")  # shared within a mode
            snapshot = asyncio.create_task(b.fence_acquire("snapshot"))
            assert await _is_blocked(snapshot)
            late_commit = asyncio.create_task(a.fence_acquire("commit"))
            assert await _is_blocked(late_commit)  # phase-fair: snapshot is waiting
            await a.fence_release(c1)
            assert await _is_blocked(snapshot)
            await b.fence_release(c2)
            s1 = await snapshot
            assert await _is_blocked(late_commit)
            stats = await a.stats()
            assert stats["fence"]["holders"] == {"commit": 0, "snapshot": 1}
            await b.fence_release(s1)
            await a.fence_release(await asyncio.wait_for(late_commit, 2))
            await expect_error("22023", b.fence_release(s1))
            await expect_error("22023", a.fence_acquire("exclusive"))
            await a.close()
            await b.close()

    run(body())


def test_fence_watch_answers_when_a_snapshot_waits(tmp_path: Path) -> None:
    async def body() -> None:
        async with running_gtm(tmp_path) as port:
            a = await GtmClient.connect(HOST, port)
            b = await GtmClient.connect(HOST, port)
            assert await a.fence_watch(0.05) is False  # nobody waits: answered after the wait
            token = await a.fence_acquire("commit")
            watch = asyncio.create_task(a.fence_watch(10.0))
            assert await _is_blocked(watch)
            snapshot = asyncio.create_task(b.fence_acquire("snapshot"))
            assert await asyncio.wait_for(watch, 2) is True  # the commit holder is told
            assert await a.fence_watch(10.0) is True  # one still waits: at once
            await a.fence_release(token)
            await b.fence_release(await asyncio.wait_for(snapshot, 2))
            await a.close()
            await b.close()

    run(body())


def test_fence_released_when_connection_drops(tmp_path: Path) -> None:
    async def body() -> None:
        async with running_gtm(tmp_path) as port:
            holder = await GtmClient.connect(HOST, port)
            other = await GtmClient.connect(HOST, port)
            await holder.fence_acquire("snapshot")
            await holder.fence_acquire("snapshot")
            waiting = asyncio.create_task(other.fence_acquire("commit"))
            assert await _is_blocked(waiting)
            await holder.close()
            token = await asyncio.wait_for(waiting, 5)
            async with other.fence("commit") as second:
                assert second != token
            await other.close()

    run(body())


def test_cancelled_fence_acquire_gives_the_token_back(tmp_path: Path) -> None:
    async def body() -> None:
        async with running_gtm(tmp_path) as port:
            a = await GtmClient.connect(HOST, port)
            b = await GtmClient.connect(HOST, port)
            token = await a.fence_acquire("commit")
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(b.fence_acquire("snapshot"), 0.2)
            await a.fence_release(token)  # grants b's abandoned request...
            for _ in range(50):  # ...which b's client releases by itself
                if (await a.stats())["fence"]["mode"] is None:
                    break
                await asyncio.sleep(0.02)
            assert (await a.stats())["fence"]["mode"] is None
            await asyncio.wait_for(a.fence_acquire("commit"), 2)
            await a.close()
            await b.close()

    run(body())


# -- pipelining, reconnects, protocol violations ------------------------------------------------


def test_pipelined_calls_share_one_connection(tmp_path: Path) -> None:
    async def body() -> None:
        async with gtm_client(tmp_path) as gtm:
            gxids = await asyncio.gather(*(gtm.next_gxid() for _ in range(500)))
            assert len(set(gxids)) == 500
            assert (await gtm.stats())["connections"] == 1

    run(body())


def test_client_reconnects_after_restart(tmp_path: Path) -> None:
    async def body() -> None:
        port = free_port()
        async with running_gtm(tmp_path, port):
            gtm = await GtmClient.connect(HOST, port, timeout=1.0)
            first = await gtm.next_gxid()
        with pytest.raises(GtmUnavailable):
            await gtm.next_gxid()
        async with running_gtm(tmp_path, port):
            assert await gtm.next_gxid() > first
        await gtm.close()
        with pytest.raises(GtmUnavailable):
            await gtm.ping()

    run(body())


def test_connect_to_nothing_is_unavailable() -> None:
    async def body() -> None:
        with pytest.raises(GtmUnavailable):
            await GtmClient.connect(HOST, free_port(), timeout=1.0)

    run(body())
    with pytest.raises(GtmUnavailable):
        gtm_call_sync(HOST, free_port(), "ping", timeout=1.0)


def test_sync_helper(tmp_path: Path) -> None:
    async def body() -> None:
        async with running_gtm(tmp_path) as port:
            result = await asyncio.to_thread(gtm_call_sync, HOST, port, "next_gxid", count=3)
            assert result["gxid"] == FIRST_GXID
            with pytest.raises(GtmError) as info:
                await asyncio.to_thread(gtm_call_sync, HOST, port, "seq_next", name="nope")
            assert info.value.code == "42P01"

    run(body())


async def _raw_exchange(port: int, data: bytes) -> tuple[list[dict[str, Any]], bool]:
    """Send raw bytes; return the replies and whether the server closed the connection."""
    reader, writer = await asyncio.open_connection(HOST, port)
    writer.write(data)
    decoder, replies, closed = FrameDecoder(), [], False
    try:
        while True:
            chunk = await asyncio.wait_for(reader.read(65536), 0.5)
            if not chunk:
                closed = True
                break
            replies.extend(decoder.feed(chunk))
    except TimeoutError:
        pass
    writer.close()
    return replies, closed


def test_protocol_violations_close_the_connection(tmp_path: Path) -> None:
    async def body() -> None:
        async with running_gtm(tmp_path) as port:
            replies, closed = await _raw_exchange(port, struct.pack(">I", MAX_FRAME + 1))
            assert closed and replies[0]["error"]["code"] == "54000"
            replies, closed = await _raw_exchange(port, struct.pack(">I", 5) + b"hello")
            assert closed and replies[0]["error"]["code"] == "08P01"
            no_op = encode_frame({"id": 5}) + encode_frame(build_request(6, "ping", {}))
            replies, closed = await _raw_exchange(port, no_op)
            assert not closed
            assert [(r["id"], "error" in r) for r in replies] == [(5, True), (6, False)]
            await GtmClient.connect(HOST, port)  # the server is still fine

    run(body())


def test_bad_request_fields(tmp_path: Path) -> None:
    async def body() -> None:
        async with gtm_client(tmp_path) as gtm:
            await expect_error("22023", gtm.call("seq_create"))
            await expect_error("22023", gtm.call("seq_create", name="s", cycle="yes"))
            await expect_error("22023", gtm.call("fence_release", token=True))

    run(body())


# -- cluster coordination (gtm/coordination.py) -----------------------------------------------


def test_resolve_records_an_abort_that_refuses_a_late_commit(tmp_path: Path) -> None:
    async def body() -> None:
        async with running_gtm(tmp_path) as port:
            gtm = await GtmClient.connect(HOST, port)
            await gtm.txn_log_commit("gridpg_1_c1", ["dn1", "dn2"])
            assert await gtm.txn_resolve("gridpg_1_c1") is True
            assert await gtm.txn_resolve("gridpg_2_c1") is False  # no decision: abort, for good
            await expect_error("40000", gtm.txn_log_commit("gridpg_2_c1", ["dn1"]))
            assert await gtm.txn_is_committed("gridpg_2_c1") is False
            await gtm.close()
        async with running_gtm(tmp_path) as port:  # the abort survives a restart
            gtm = await GtmClient.connect(HOST, port)
            await expect_error("40000", gtm.txn_log_commit("gridpg_2_c1", ["dn1"]))
            assert await gtm.txn_resolve("gridpg_1_c1") is True
            await gtm.close()

    run(body())


def test_lease_over_the_wire(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from gridpg.gtm import coordination

    monkeypatch.setattr(coordination, "LEASE_MAX_TTL_S", 0.3)

    async def body() -> None:
        async with gtm_client(tmp_path) as gtm:  # never held before: granted at once
            held = await gtm.lease_acquire("monitor", "m0", 0.2)
            assert held["granted"]
        async with gtm_client(tmp_path) as gtm:  # m0 never released it: nobody for a while
            assert (await gtm.lease_acquire("monitor", "m1", 0.2))["granted"] is False
            await asyncio.sleep(0.35)
            first = await gtm.lease_acquire("monitor", "m1", 0.2)
            assert first["granted"] and first["holder"] == "m1"
            other = await gtm.lease_acquire("monitor", "m2", 0.2)
            assert not other["granted"] and other["holder"] == "m1"
            await asyncio.sleep(0.25)
            taken = await gtm.lease_acquire("monitor", "m2", 0.2)
            assert taken["granted"] and taken["term"] == first["term"] + 1
            assert (await gtm.lease_get("monitor"))["holder"] == "m2"
            await gtm.lease_release("monitor", "m2")
        async with gtm_client(tmp_path) as gtm:  # released: no wait after the restart
            assert (await gtm.lease_acquire("monitor", "m3", 0.2))["granted"]

    run(body())


def test_pause_waits_for_every_watcher_and_ends_with_its_connection(tmp_path: Path) -> None:
    async def body() -> None:
        async with running_gtm(tmp_path) as port:
            pauser = await GtmClient.connect(HOST, port)
            worker = await GtmClient.connect(HOST, port)
            state = await worker.pause_watch(None, 0)
            assert state["paused"] is False
            watch = asyncio.ensure_future(worker.pause_watch(state["version"], 5))
            answer = await pauser.pause(0.2)
            assert answer["paused"] and not answer["drained"]  # the worker has not acked
            seen = await watch
            assert seen["paused"] and seen["version"] == answer["version"]
            await worker.pause_ack(seen["version"])
            assert (await pauser.pause(0.2))["drained"] is True
            await expect_error("55000", worker.pause(0))
            await expect_error("55000", worker.unpause())
            await pauser.close()  # the pausing connection drops: the pause ends
            for _ in range(50):
                if not (await worker.pause_watch(None, 0))["paused"]:
                    break
                await asyncio.sleep(0.02)
            assert (await worker.pause_watch(None, 0))["paused"] is False
            await expect_error("55000", worker.unpause())
            await worker.close()

    run(body())


def test_log_commit_takes_the_commit_fence_in_the_same_request(tmp_path: Path) -> None:
    """`txn_log_commit_fenced`: the decision is durable and the commit fence is held (a
    snapshot waits); a snapshot already holding the fence delays the token, not the log;
    a cancelled wait gives the token back; a refused GID takes no fence."""
    async def body() -> None:
        async with running_gtm(tmp_path) as port:
            a = await GtmClient.connect(HOST, port)
            b = await GtmClient.connect(HOST, port)
            token, waited = await a.txn_log_commit_fenced("f1", ["dn1", "dn2"])
            assert await a.txn_is_committed("f1") and waited >= 0
            snapshot = asyncio.create_task(b.fence_acquire("snapshot"))
            assert await _is_blocked(snapshot)
            await a.fence_release(token)
            held = await asyncio.wait_for(snapshot, 2)
            pending = asyncio.create_task(a.txn_log_commit_fenced("f2", ["dn1"]))
            for _ in range(50):
                if await b.txn_is_committed("f2"):
                    break
                await asyncio.sleep(0.02)
            assert await b.txn_is_committed("f2") and not pending.done()  # logged, fence waits
            pending.cancel()
            await b.fence_release(held)
            for _ in range(50):  # the late grant is released by a's client
                if (await b.stats())["fence"]["mode"] is None:
                    break
                await asyncio.sleep(0.02)
            assert (await b.stats())["fence"]["mode"] is None
            assert await b.txn_resolve("f3") is False  # recovery rolled f3 back
            await expect_error("40000", a.txn_log_commit_fenced("f3", ["dn1"]))
            assert (await b.stats())["fence"]["mode"] is None
            await expect_error("22023", a.call("txn_log_commit", gid="f4", nodes=["dn1"], fence="x"))
            assert not await a.txn_is_committed("f4")
            await a.close()
            await b.close()

    run(body())
