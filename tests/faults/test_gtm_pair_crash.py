"""Fault tests of a GTM pair (gtm/node.py, gtm/replication.py) as real processes: the
primary is killed with SIGKILL under load, the standby promoted (as the monitor does:
`gtm_promote` until it accepts), the old primary restarted (it rejoins as the standby),
and the new primary killed in turn.

What must hold: no GXID, sequence value, timestamp or epoch handed out twice, every
value a client holds came from one lineage, every acknowledged 2PC decision is on the
last primary; an old primary that comes back hands out nothing.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from gridpg.gtm.client import GtmClient, gtm_call_sync
from gridpg.gtm.protocol import NOT_PRIMARY, GtmError, GtmUnavailable
from tests.faults.test_gtm_crash import HOST, ClientLog, _one_round, free_port

CLIENTS = 4
KILLS = 2
DEADLINE_S = 60.0


class PairMember:
    """One GTM of a pair, as a subprocess that can be killed and restarted."""

    def __init__(self, base: Path, name: str, role: str) -> None:
        self.name = name
        self.role = role
        self.data_dir = base / name
        self.log_path = base / f"{name}.log"
        self.port = free_port()
        self.peer_port = 0
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "gridpg.gtm.server", "--dir", str(self.data_dir),
                 "--host", HOST, "--port", str(self.port), "--peer", f"{HOST}:{self.peer_port}",
                 "--role", self.role],
                stdout=subprocess.DEVNULL, stderr=log)

    def kill9(self) -> None:
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=5)

    def role_answer(self) -> dict[str, object] | None:
        try:
            return gtm_call_sync(HOST, self.port, "gtm_role", timeout=0.5)
        except (GtmUnavailable, GtmError):
            return None


@pytest.fixture
def pair(tmp_path: Path) -> Iterator[tuple[PairMember, PairMember]]:
    a, b = PairMember(tmp_path, "gtm", "primary"), PairMember(tmp_path, "gtm2", "standby")
    a.peer_port, b.peer_port = b.port, a.port
    try:
        yield a, b
    finally:
        for member in (a, b):
            if member.proc is not None and member.proc.poll() is None:
                member.kill9()


def _wait(predicate: object, what: str, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return
        time.sleep(0.05)
    pytest.fail(f"timed out waiting for {what}")


def _acting(member: PairMember) -> bool:
    answer = member.role_answer()
    return bool(answer and answer.get("acting"))


def _in_sync(member: PairMember) -> bool:
    answer = member.role_answer()
    return bool(answer and answer.get("role") == "standby" and answer.get("in_sync"))


async def _promote(member: PairMember, deadline: float) -> float:
    """What the monitor does: ask until the standby accepts; return when it did."""
    term = int((member.role_answer() or {}).get("term") or 0)
    while time.monotonic() < deadline:
        try:
            answer = gtm_call_sync(HOST, member.port, "gtm_promote", timeout=1.0, term=term)
            if answer.get("promoted"):
                return time.monotonic()
        except (GtmUnavailable, GtmError):
            pass
        await asyncio.sleep(0.2)
    pytest.fail("the standby was never promoted")


def test_pair_kill9_of_each_primary_in_turn(pair: tuple[PairMember, PairMember]) -> None:
    a, b = pair
    a.start()
    b.start()
    _wait(lambda: _acting(a) and _in_sync(b), "the pair to start")
    gtm_call_sync(HOST, a.port, "seq_create", name="s")
    addresses = [(HOST, a.port), (HOST, b.port)]
    logs = [ClientLog() for _ in range(CLIENTS)]
    deadline = time.monotonic() + DEADLINE_S
    kills = {"count": 0}
    resumed: list[float] = []

    async def client(log: ClientLog, seed: int) -> None:
        rng = random.Random(seed)
        gtm = GtmClient(*addresses[0], timeout=1.0, request_timeout=3.0,
                        alternates=addresses[1:], failover_wait=10.0)
        done = 0
        try:
            while time.monotonic() < deadline and (kills["count"] < KILLS or log.ops_after_last_kill < 50):
                try:
                    await _one_round(gtm, log, done, rng)
                except (GtmUnavailable, GtmError) as exc:
                    assert not isinstance(exc, GtmError) or exc.code == NOT_PRIMARY, exc
                    log.unavailable += 1
                    await asyncio.sleep(0.05)
                    continue
                done += 1
                if kills["count"] == KILLS:
                    log.ops_after_last_kill += 1
        finally:
            await gtm.close()

    async def killer() -> None:
        primary, standby = a, b
        for kill in range(1, KILLS + 1):
            while sum(len(log.timestamps) for log in logs) < kill * 150:
                assert time.monotonic() < deadline
                await asyncio.sleep(0.01)
            primary.kill9()
            killed = time.monotonic()
            kills["count"] = kill
            await _promote(standby, deadline)
            before = sum(len(log.timestamps) for log in logs)
            while sum(len(log.timestamps) for log in logs) == before:
                assert time.monotonic() < deadline
                await asyncio.sleep(0.01)
            resumed.append(time.monotonic() - killed)
            primary.start()  # the old primary comes back: it must become the standby
            await asyncio.to_thread(_wait, lambda s=primary: _in_sync(s), "the old primary to rejoin")
            primary, standby = standby, primary

    async def workload() -> None:
        await asyncio.gather(killer(), *(client(log, i) for i, log in enumerate(logs)))

    asyncio.run(workload())
    assert all(took < 10.0 for took in resumed), resumed
    for what in ("gxids", "seq_values", "timestamps", "epochs"):
        per_client = [getattr(log, what) for log in logs]
        for values in per_client:
            bad = [(x, y) for x, y in itertools.pairwise(values) if x >= y]
            assert not bad, f"{what} not increasing: {bad[:5]}"
        everything = [v for values in per_client for v in values]
        assert len(everything) == len(set(everything)), f"{what} handed out twice"
    final = b  # after two kills: a, then b were killed; b was promoted first, then a
    final = a if _acting(a) else b
    logged = {d["gid"] for d in gtm_call_sync(HOST, final.port, "txn_decisions")["decisions"]}
    assert {gid for log in logs for gid in log.decisions} <= logged, "an acknowledged decision was lost"
    print(f"commits resumed {', '.join(f'{t:.1f}' for t in resumed)} s after each kill")


def test_old_primary_that_comes_back_hands_out_nothing(pair: tuple[PairMember, PairMember]) -> None:
    """SIGSTOP the primary (a hang), promote the standby, SIGCONT: the old primary must
    refuse (NOT_PRIMARY) everything it is asked, then follow the new one."""
    a, b = pair
    a.start()
    b.start()
    _wait(lambda: _acting(a) and _in_sync(b), "the pair to start")
    first = gtm_call_sync(HOST, a.port, "next_gxid", count=1)["gxid"]
    assert a.proc is not None
    os.kill(a.proc.pid, signal.SIGSTOP)
    try:
        asyncio.run(_promote(b, time.monotonic() + 20))
        promoted = gtm_call_sync(HOST, b.port, "next_gxid", count=1)["gxid"]
    finally:
        os.kill(a.proc.pid, signal.SIGCONT)
    refusals = 0
    for _ in range(20):  # it may also drop the connection as it stops acting: no value either
        try:
            answer = gtm_call_sync(HOST, a.port, "next_gxid", count=1)
            pytest.fail(f"the old primary handed out {answer}")
        except GtmError as exc:
            assert exc.code == NOT_PRIMARY, exc
            refusals += 1
        except GtmUnavailable:
            pass
        time.sleep(0.05)
    assert refusals > 0
    _wait(lambda: _in_sync(a), "the old primary to follow the new one")
    answer = a.role_answer() or {}
    assert answer.get("role") == "standby" and answer.get("term") == 2
    assert promoted > first
