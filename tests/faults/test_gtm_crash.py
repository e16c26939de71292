"""Fault tests: the GTM as a real process, killed with SIGKILL under load and restarted.

What must hold across crashes: no GXID, sequence value or timestamp is ever handed out
twice; each client sees its values strictly increase; every acknowledged 2PC decision and
epoch bump survives.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import random
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from gridpg.gtm.client import GtmClient, gtm_call_sync
from gridpg.gtm.protocol import GtmError, GtmUnavailable

HOST = "127.0.0.1"
CLIENTS = 4
ROUNDS_PER_CLIENT = 300
KILLS = 2
TEST_DEADLINE_S = 18.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


class GtmProcess:
    """A GTM subprocess on a fixed directory and port that can be killed and restarted."""

    def __init__(self, base: Path) -> None:
        self.data_dir = base / "gtm"
        self.log_path = base / "gtm.log"
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.kills = 0

    def start(self) -> None:
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "gridpg.gtm.server",
                    "--dir",
                    str(self.data_dir),
                    "--host",
                    HOST,
                    "--port",
                    str(self.port),
                ],
                stdout=subprocess.DEVNULL,
                stderr=log,
            )
        self._wait_ready(deadline=time.monotonic() + 10)

    def kill9(self) -> None:
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=5)
        self.kills += 1

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=5)

    def _wait_ready(self, deadline: float) -> None:
        assert self.proc is not None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"GTM exited with {self.proc.returncode}: {self.log_path.read_text()}")
            try:
                gtm_call_sync(HOST, self.port, "ping", timeout=0.5)
                return
            except GtmUnavailable:
                time.sleep(0.02)
        pytest.fail(f"GTM did not start: {self.log_path.read_text()}")


@pytest.fixture
def gtm(tmp_path: Path) -> Iterator[GtmProcess]:
    process = GtmProcess(tmp_path)
    try:
        yield process
    finally:
        process.stop()


@dataclass
class ClientLog:
    """Everything one client was told by the GTM."""

    gxids: list[int] = field(default_factory=list)
    seq_values: list[int] = field(default_factory=list)
    timestamps: list[int] = field(default_factory=list)
    decisions: list[str] = field(default_factory=list)
    epochs: list[int] = field(default_factory=list)
    unavailable: int = 0
    ops_after_last_kill: int = 0


async def _one_round(gtm: GtmClient, log: ClientLog, number: int, rng: random.Random) -> None:
    count = rng.randint(1, 3)
    first = await gtm.next_gxid(count=count)
    log.gxids.extend(range(first, first + count))
    log.seq_values.extend((await gtm.seq_next("s", count=rng.randint(1, 5))).values())
    log.timestamps.append(await gtm.timestamp())
    if number % 10 == 0:
        gid = f"gx:{first}:c{id(log)}"
        await gtm.txn_log_commit(gid, ["dn1", "dn2"])
        log.decisions.append(gid)
    if number % 25 == 0:
        log.epochs.append(await gtm.epoch_bump())


async def _client(
    port: int, log: ClientLog, seed: int, deadline: float, gtm_proc: GtmProcess
) -> None:
    rng = random.Random(seed)
    gtm = GtmClient(HOST, port, timeout=1.0, request_timeout=3.0)
    done = 0
    try:
        while done < ROUNDS_PER_CLIENT and time.monotonic() < deadline:
            try:
                await _one_round(gtm, log, done, rng)
            except GtmUnavailable:
                log.unavailable += 1
                await asyncio.sleep(0.02)
                continue
            done += 1
            if gtm_proc.kills == KILLS:
                log.ops_after_last_kill += 1
    finally:
        await gtm.close()


async def _killer(gtm_proc: GtmProcess, logs: list[ClientLog], deadline: float) -> None:
    """SIGKILL the GTM after each stretch of progress, then restart it on the same dir."""
    for kill in range(1, KILLS + 1):
        target = kill * CLIENTS * ROUNDS_PER_CLIENT // (KILLS + 1)
        while sum(len(log.timestamps) for log in logs) < target:
            if time.monotonic() > deadline:
                return
            await asyncio.sleep(0.005)
        gtm_proc.kill9()
        await asyncio.sleep(0.1)  # clients hit a dead GTM and must reconnect
        await asyncio.to_thread(gtm_proc.start)


def _assert_unique_and_increasing(per_client: list[list[int]], what: str) -> None:
    for values in per_client:
        assert all(a < b for a, b in itertools.pairwise(values)), f"{what} not increasing"
    everything = [v for values in per_client for v in values]
    assert len(everything) == len(set(everything)), f"{what} handed out twice"


def test_kill9_under_load_never_repeats_values(gtm: GtmProcess) -> None:
    gtm.start()
    gtm_call_sync(HOST, gtm.port, "seq_create", name="s")
    logs = [ClientLog() for _ in range(CLIENTS)]
    deadline = time.monotonic() + TEST_DEADLINE_S

    async def workload() -> None:
        clients = [_client(gtm.port, log, i, deadline, gtm) for i, log in enumerate(logs)]
        await asyncio.gather(_killer(gtm, logs, deadline), *clients)

    asyncio.run(workload())

    assert gtm.kills == KILLS
    assert sum(log.unavailable for log in logs) > 0, "the kills never hit a client"
    assert all(log.ops_after_last_kill > 0 for log in logs), "no progress after restart"
    _assert_unique_and_increasing([log.gxids for log in logs], "GXID")
    _assert_unique_and_increasing([log.seq_values for log in logs], "sequence value")
    _assert_unique_and_increasing([log.timestamps for log in logs], "timestamp")
    _assert_unique_and_increasing([log.epochs for log in logs], "epoch")
    logged = {d["gid"] for d in gtm_call_sync(HOST, gtm.port, "txn_decisions")["decisions"]}
    assert {gid for log in logs for gid in log.decisions} <= logged
    epoch = gtm_call_sync(HOST, gtm.port, "epoch_get")["epoch"]
    assert epoch >= max(e for log in logs for e in log.epochs)


def test_sigterm_stops_cleanly(gtm: GtmProcess) -> None:
    gtm.start()
    pid_file = gtm.data_dir / "gtm.pid"
    assert gtm.proc is not None
    assert int(pid_file.read_text()) == gtm.proc.pid
    gxid = gtm_call_sync(HOST, gtm.port, "next_gxid")["gxid"]
    os.kill(gtm.proc.pid, signal.SIGTERM)
    assert gtm.proc.wait(timeout=5) == 0
    assert not pid_file.exists()
    assert "GTM stopped" in gtm.log_path.read_text()
    gtm.start()
    assert gtm_call_sync(HOST, gtm.port, "next_gxid")["gxid"] > gxid


def test_second_process_on_same_dir_refuses(gtm: GtmProcess) -> None:
    gtm.start()
    assert gtm.proc is not None
    intruder = subprocess.run(
        [
            sys.executable,
            "-m",
            "gridpg.gtm.server",
            "--dir",
            str(gtm.data_dir),
            "--port",
            str(free_port()),
        ],
        capture_output=True,
        check=False,
        timeout=10,
    )
    assert intruder.returncode == 1
    assert b"in use by another GTM" in intruder.stderr
    assert int((gtm.data_dir / "gtm.pid").read_text()) == gtm.proc.pid
    with pytest.raises(GtmError):
        gtm_call_sync(HOST, gtm.port, "seq_next", name="missing")
