"""The `gridpg` command as a user runs it: up, status, down, logs, faults, --foreground.

Every check drives `python -m gridpg` as a subprocess on a cluster of its own in a temp
directory, on ports outside the ephemeral range, and stops it in teardown. One cluster is
shared by the tests of this module, which run in file order; each leaves it running.
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

from gridpg.cluster.pgserver import find_pg_bin

HOST = "127.0.0.1"
CMD_TIMEOUT = 120.0  # any one gridpg command
MEMBERS = {"gtm", "coord1", "coord2", "monitor", "catalog1", "catalog2", "dn1", "dn2"}

pytestmark = pytest.mark.timeout(240)


# -- helpers ------------------------------------------------------------------------------


def _port_free(port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((HOST, port))
        except OSError:
            return False
    return True


def free_base_port() -> int:
    """A coordinator port whose neighbours (coordinators) and +100.. (internal) are free.

    Below the ephemeral range, so no client socket takes one while a cluster is down.
    """
    rng = random.Random(os.getpid() ^ time.monotonic_ns())
    for _ in range(200):
        base = rng.randrange(12000, 30000, 10)
        if all(_port_free(p) for p in [*range(base, base + 4), *range(base + 100, base + 108)]):
            return base
    raise RuntimeError("no free port range found")


def gridpg(*args: str, timeout: float = CMD_TIMEOUT) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, "-m", "gridpg", *args], check=False, capture_output=True, text=True,
        timeout=timeout, stdin=subprocess.DEVNULL,
        env=dict(os.environ, COLUMNS="200"),
    )
    assert "Traceback" not in result.stderr, result.stderr
    assert "Traceback" not in result.stdout, result.stdout
    return result


def show(result: subprocess.CompletedProcess[str]) -> str:
    return f"exit {result.returncode}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}"


def parse_dsn_all(stdout: str) -> str:
    match = re.search(r'any coordinator:\s+psql "([^"]+)"', stdout)
    assert match, f"no multi-host DSN printed:\n{stdout}"
    return match.group(1)


def parse_dsn(stdout: str) -> str:
    match = re.search(r'psql "([^"]+)"', stdout)
    assert match, f"no DSN printed:\n{stdout}"
    return match.group(1)


def psql_select_1(dsn: str) -> subprocess.CompletedProcess[str]:
    psql = find_pg_bin() / "psql"
    return subprocess.run(
        [str(psql), dsn, "-XAt", "-c", "select 1"], check=False, capture_output=True, text=True,
        timeout=30, stdin=subprocess.DEVNULL, env=dict(os.environ, PGCONNECT_TIMEOUT="10"),
    )


def connect(dsn: str) -> psycopg.Connection:
    return psycopg.connect(dsn, autocommit=True, connect_timeout=10)


def wait_for(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def alive(pid: int) -> bool:
    """Some thread of the process has not exited (a zombie has; only its reaping is
    pending). Every thread counts: after a kill -9 the main thread is a zombie at once
    while the others still exit, and the process's sockets close with the last of them;
    a client connecting meanwhile is queued on the dying listener and then reset."""
    try:
        threads = [p / "stat" for p in Path(f"/proc/{pid}/task").iterdir()]
    except OSError:
        return False
    for stat in threads:
        try:
            if stat.read_text().rsplit(")", 1)[-1].split()[0] != "Z":
                return True
        except (OSError, IndexError):
            continue  # the thread is gone
    return False


def processes_naming(directory: Path) -> list[str]:
    """Live processes whose command line contains `directory`."""
    needle = str(directory).encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if needle in cmdline and alive(int(entry.name)):
            text = cmdline.replace(b"\0", b" ").decode(errors="replace")
            found.append(f"{entry.name}: {text}")
    return found


def postgres_processes_naming(directory: Path) -> list[str]:
    return [p for p in processes_naming(directory) if "postgres" in p]


@dataclass
class Box:
    """A cluster directory driven through the CLI."""

    dir: Path
    port: int
    dsn: str = ""

    def up(self, *extra: str) -> subprocess.CompletedProcess[str]:
        return gridpg("up", "--dir", str(self.dir), *extra)

    def down(self) -> subprocess.CompletedProcess[str]:
        return gridpg("down", "--dir", str(self.dir))

    def status(self) -> list[dict[str, object]]:
        result = gridpg("status", "--dir", str(self.dir), "--json")
        rows = json.loads(result.stdout)
        assert isinstance(rows, list)
        return rows

    def states(self) -> dict[str, str]:
        return {str(r["name"]): str(r["state"]) for r in self.status()}

    def pids(self) -> dict[str, int]:
        return {str(r["name"]): int(r["pid"]) for r in self.status() if r["pid"] is not None}  # type: ignore[call-overload]

    def all_running(self) -> bool:
        return set(self.states().values()) == {"running"}

    def all_stopped(self) -> bool:
        return set(self.states().values()) == {"stopped"}

    def ensure_up(self) -> None:
        if not self.all_running():
            result = self.up()
            assert result.returncode == 0, show(result)
        assert self.all_running(), self.status()

    def count(self, table: str = "t") -> int:
        with connect(self.dsn) as conn:
            row = conn.execute(f"SELECT count(*), coalesce(sum(a), 0) FROM {table}").fetchone()
        assert row is not None
        return int(row[0]) * 1_000_000 + int(row[1])


EXPECTED_ROWS = 100 * 1_000_000 + sum(range(1, 101))  # count and sum of t after setup


@pytest.fixture(scope="module")
def workdir() -> Iterator[Path]:
    """Not under pytest's basetemp: each new pytest session chmods `pytest-of-<user>` back
    to 0700, and the servers, run as another user when we are root, must reach their data."""
    path = Path(tempfile.mkdtemp(prefix="gridpg-cli-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture()
def tmp_dir(workdir: Path, request: pytest.FixtureRequest) -> Path:
    path = workdir / request.node.name[:60]
    path.mkdir()
    return path


@pytest.fixture(scope="module")
def box(workdir: Path) -> Iterator[Box]:
    cluster = Box(workdir / "cluster", free_base_port())
    first = None
    try:
        first = gridpg("up", "--dir", str(cluster.dir), "--port", str(cluster.port))
        assert first.returncode == 0, show(first)
        cluster.dsn = parse_dsn(first.stdout)
        cluster.first_up = first  # type: ignore[attr-defined]
        yield cluster
    finally:
        result = gridpg("down", "--dir", str(cluster.dir))
        assert result.returncode == 0, show(result)
        assert not processes_naming(cluster.dir)


@pytest.fixture()
def running(box: Box) -> Box:
    """The shared cluster, brought back up if an earlier test failed half way."""
    box.ensure_up()
    return box


def create_t(dsn: str) -> None:
    with connect(dsn) as conn:
        conn.execute("CREATE TABLE t (a int) DISTRIBUTE BY HASH(a)")
        with conn.cursor() as cur:
            cur.executemany("INSERT INTO t VALUES (%s)", [(i,) for i in range(1, 101)])


@pytest.fixture()
def with_t(running: Box) -> Box:
    """The shared cluster holding table t (made by the down/up test, or here if run alone)."""
    with connect(running.dsn) as conn:
        row = conn.execute("SELECT to_regclass('t') IS NOT NULL").fetchone()
    if not (row and row[0]):
        create_t(running.dsn)
    return running


# -- up / status / down -------------------------------------------------------------------


def test_up_prints_a_dsn_the_coordinator_answers(running: Box) -> None:
    first = running.first_up  # type: ignore[attr-defined]
    assert f":{running.port}/" in running.dsn
    assert "is up" in first.stderr, show(first)
    answer = psql_select_1(running.dsn)
    assert answer.returncode == 0, answer.stderr
    assert answer.stdout.strip() == "1"
    hosts = parse_dsn_all(running.first_up.stdout).split("@", 1)[1].split("/", 1)[0]  # type: ignore[attr-defined]
    assert len(hosts.split(",")) == 2 and hosts.startswith(f"127.0.0.1:{running.port},"), hosts


def test_status_shows_every_member_running(running: Box) -> None:
    rows = running.status()
    assert {r["name"] for r in rows} == MEMBERS
    for row in rows:
        assert row["state"] == "running", row
        assert isinstance(row["pid"], int) and alive(row["pid"]), row
        if row["kind"] != "monitor":
            assert str(row["address"]).startswith(f"{HOST}:"), row
    kinds = {str(r["name"]): r["kind"] for r in rows}
    assert kinds["coord1"] == "coordinator" and kinds["dn1"] == "datanode"
    assert kinds["catalog1"] == "catalog" and kinds["gtm"] == "gtm"
    assert kinds["monitor"] == "monitor"
    coord1 = next(r for r in rows if r["name"] == "coord1")
    assert coord1["address"] == f"{HOST}:{running.port}"

    table = gridpg("status", "--dir", str(running.dir))
    assert table.returncode == 0, show(table)
    for name in MEMBERS:
        line = next((ln for ln in table.stdout.splitlines() if f" {name} " in ln), None)
        assert line is not None and "running" in line, show(table)


def test_status_shards_shows_each_group_part(with_t: Box) -> None:
    with connect(with_t.dsn) as conn:
        conn.execute("ANALYZE t")  # row estimates come from the datanodes' statistics
    result = gridpg("status", "--dir", str(with_t.dir), "--shards", "--json")
    assert result.returncode == 0, show(result)
    parts = [u for u in json.loads(result.stdout) if u["table"] == "public.t"]
    assert sorted(u["group"] for u in parts) == ["dn1", "dn2"]
    assert sum(u["shards"] for u in parts) == 32  # the default shard count, spread over both
    assert sum(u["rows"] for u in parts) == 100 and all(u["bytes"] > 0 for u in parts)
    table = gridpg("status", "--dir", str(with_t.dir), "--shards")
    assert "all tables" in table.stdout and "public.t" in table.stdout, show(table)


def test_second_up_says_already_running_and_changes_nothing(running: Box) -> None:
    before = running.pids()
    again = running.up()
    assert again.returncode == 0, show(again)
    assert "already running" in again.stdout + again.stderr, show(again)
    assert parse_dsn(again.stdout) == running.dsn
    assert running.pids() == before


def test_create_table_then_down_and_up_keeps_the_data(running: Box) -> None:
    with connect(running.dsn) as conn:
        conn.execute("DROP TABLE IF EXISTS t")
    create_t(running.dsn)
    assert running.count() == EXPECTED_ROWS

    pids = running.pids()
    assert set(pids) == MEMBERS
    down = running.down()
    assert down.returncode == 0, show(down)
    for name in MEMBERS:
        assert name in down.stderr, show(down)
    still = {name: pid for name, pid in pids.items() if alive(pid)}
    assert not still, f"still alive after down: {still}"
    assert not processes_naming(running.dir)
    assert not postgres_processes_naming(running.dir)
    assert running.all_stopped(), running.status()

    again = running.down()
    assert again.returncode == 0 and "nothing was running" in again.stderr, show(again)

    up = running.up()
    assert up.returncode == 0, show(up)
    assert parse_dsn(up.stdout) == running.dsn
    assert running.all_running()
    assert running.count() == EXPECTED_ROWS


# -- logs ---------------------------------------------------------------------------------


def test_logs_of_a_member(running: Box) -> None:
    result = gridpg("logs", "coord1", "--dir", str(running.dir))
    assert result.returncode == 0, show(result)
    lines = [ln for ln in result.stdout.splitlines() if ln.strip()]
    assert lines[0] == "==> coord1.log <=="
    assert len(lines) > 1 and "coord1" in result.stdout, show(result)

    dn1 = gridpg("logs", "dn1", "--dir", str(running.dir), "-n", "3")
    assert dn1.returncode == 0, show(dn1)
    assert 1 < len(dn1.stdout.strip().splitlines()) <= 4, show(dn1)


def test_logs_of_an_unknown_member_is_a_clear_error(running: Box) -> None:
    result = gridpg("logs", "nosuch", "--dir", str(running.dir))
    assert result.returncode != 0, show(result)
    assert "nosuch" in result.stderr and result.stderr.startswith("gridpg:"), show(result)
    assert result.stdout == ""


# -- faults -------------------------------------------------------------------------------


def test_killed_members_show_stopped_and_up_restarts_them(with_t: Box) -> None:
    running = with_t
    pids = running.pids()
    os.kill(pids["dn1"], signal.SIGKILL)
    os.kill(pids["coord1"], signal.SIGKILL)
    wait_for(lambda: not alive(pids["dn1"]) and not alive(pids["coord1"]), 10, "kill -9")
    # the one connection string naming every coordinator still reaches the cluster, also
    # while coord1's worker process (told by the kernel that its main process died) stops:
    # a client it had accepted hears 57P03 and libpq goes on to coord2, never a FATAL
    any_coordinator = parse_dsn_all(running.first_up.stdout)  # type: ignore[attr-defined]
    for _ in range(8):
        answer = psql_select_1(any_coordinator)
        assert answer.returncode == 0 and answer.stdout.strip() == "1", answer.stderr

    states = running.states()
    assert states["dn1"] == "stopped" and states["coord1"] == "stopped", states
    assert {s for n, s in states.items() if n not in ("dn1", "coord1")} == {"running"}, states
    table = gridpg("status", "--dir", str(running.dir))
    assert table.returncode != 0, show(table)  # not every member runs

    up = running.up()  # at once: the dead postmaster may still be an unreaped zombie
    assert up.returncode == 0, show(up)
    after = running.pids()
    assert running.all_running(), running.status()
    assert after["dn1"] != pids["dn1"] and after["coord1"] != pids["coord1"]
    unchanged = {n: p for n, p in pids.items() if n not in ("dn1", "coord1")}
    assert {n: after[n] for n in unchanged} == unchanged
    assert running.count() == EXPECTED_ROWS
    answer = psql_select_1(running.dsn)
    assert answer.returncode == 0, answer.stderr


def _start_authenticating(port: int) -> socket.socket:
    """A client half way through connecting: startup packet sent, the server's SCRAM
    challenge (AuthenticationSASL) read, no answer given yet."""
    sock = socket.create_connection((HOST, port), timeout=15)
    body = (196608).to_bytes(4, "big") + b"user\0postgres\0database\0postgres\0\0"
    sock.sendall((len(body) + 4).to_bytes(4, "big") + body)
    kind, payload = _read_message(sock)
    assert kind == b"R" and payload[:4] == (10).to_bytes(4, "big"), (kind, payload)
    return sock


def _read_message(sock: socket.socket) -> tuple[bytes, bytes]:
    def exactly(n: int) -> bytes:
        data = b""
        while len(data) < n:
            chunk = sock.recv(n - len(data))
            assert chunk, "the server closed the connection without a message"
            data += chunk
        return data

    head = exactly(5)
    return head[:1], exactly(int.from_bytes(head[1:], "big") - 4)


def test_a_stopping_coordinator_sends_clients_still_connecting_to_another(running: Box) -> None:
    """A coordinator that stops (SIGTERM: `gridpg down`, or a worker whose main process
    died) answers every client still connecting "the database system is shutting down"
    (57P03), as PostgreSQL does: libpq then tries the next host of its connection string,
    where after any other FATAL (57P01, what it sent before) it gives up."""
    clients = [_start_authenticating(running.port) for _ in range(6)]  # on both workers
    try:
        os.kill(running.pids()["coord1"], signal.SIGTERM)
        for sock in clients:
            kind, payload = _read_message(sock)
            fields = {f[:1]: f[1:] for f in payload.split(b"\0") if f}
            assert kind == b"E" and fields[b"C"] == b"57P03", (kind, payload)
    finally:
        for sock in clients:
            sock.close()
    wait_for(lambda: running.states()["coord1"] == "stopped", 30, "coord1 to stop")
    answer = psql_select_1(parse_dsn_all(running.first_up.stdout))  # type: ignore[attr-defined]
    assert answer.returncode == 0 and answer.stdout.strip() == "1", answer.stderr
    up = running.up()
    assert up.returncode == 0, show(up)
    assert running.all_running(), running.status()


def _write_postmaster_pid(data_dir: Path, pid: int) -> None:
    """A postmaster.pid like PostgreSQL's, naming `pid` (the file is gone after a clean stop)."""
    path = data_dir / "postmaster.pid"
    path.write_text(f"{pid}\n{data_dir}\n{int(time.time())}\n5432\n/tmp\n127.0.0.1\n  0 0\nready   \n")


def _dead_pid() -> int:
    proc = subprocess.Popen(["true"])
    proc.wait(timeout=10)
    return proc.pid


def test_up_over_stale_pid_files(with_t: Box) -> None:
    running = with_t
    down = running.down()
    assert down.returncode == 0, show(down)
    assert not processes_naming(running.dir)
    dead = _dead_pid()
    assert not alive(dead)
    unrelated = subprocess.Popen(["sleep", "120"])  # a live pid that is not ours: pids get reused
    try:
        (running.dir / "run" / "coord1.pid").write_text(f"{dead}\n")
        (running.dir / "run" / "coord2.pid").write_text(f"{unrelated.pid}\n")
        _write_postmaster_pid(running.dir / "dn1", dead)
        _write_postmaster_pid(running.dir / "dn2", unrelated.pid)
        states = running.states()
        assert set(states.values()) == {"stopped"}, states

        up = running.up()
        assert up.returncode == 0, show(up)
        assert running.all_running(), running.status()
        pids = running.pids()
        assert dead not in pids.values() and unrelated.pid not in pids.values()
        assert unrelated.poll() is None  # and it was left alone
        assert running.count() == EXPECTED_ROWS
    finally:
        unrelated.kill()
        unrelated.wait(timeout=10)


def test_up_with_the_coordinator_port_taken_fails_naming_it(with_t: Box) -> None:
    running = with_t
    down = running.down()
    assert down.returncode == 0, show(down)
    with socket.socket() as squatter:
        squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # past TIME_WAIT
        squatter.bind((HOST, running.port))
        squatter.listen()
        up = running.up()
        assert up.returncode != 0, show(up)
        assert str(running.port) in up.stderr and "in use" in up.stderr, show(up)
        assert up.stderr.startswith("gridpg:"), show(up)
        assert running.all_stopped(), running.status()
        assert not processes_naming(running.dir)
    up = running.up()
    assert up.returncode == 0, show(up)
    assert running.count() == EXPECTED_ROWS


def test_up_in_a_directory_that_is_not_a_cluster(tmp_dir: Path) -> None:
    junk = tmp_dir / "junk"
    junk.mkdir()
    (junk / "notes.txt").write_text("not a cluster\n")
    (junk / "data.bin").write_bytes(os.urandom(256))
    (junk / "sub").mkdir()
    before = sorted(p.relative_to(junk) for p in junk.rglob("*"))

    up = gridpg("up", "--dir", str(junk), "--port", str(free_base_port()))
    assert up.returncode != 0, show(up)
    assert up.stderr.startswith("gridpg:") and str(junk) in up.stderr, show(up)
    assert "not empty" in up.stderr and "no gridpg cluster" in up.stderr, show(up)
    assert sorted(p.relative_to(junk) for p in junk.rglob("*")) == before
    assert not processes_naming(junk)

    for command in ("status", "down"):
        result = gridpg(command, "--dir", str(junk))
        assert result.returncode != 0, show(result)
        assert "no gridpg cluster" in result.stderr, show(result)


# -- foreground -----------------------------------------------------------------------------


def test_up_foreground_stops_everything_on_ctrl_c(tmp_dir: Path) -> None:
    directory = tmp_dir / "fg"
    port = free_base_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "gridpg", "up", "--foreground", "--dir", str(directory),
         "--port", str(port), "--coordinators", "1", "--datanodes", "1"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True,
        # as from a plain shell: the DSN must reach a pipe while the command still runs
        env={k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"},
    )
    out: list[str] = []
    err: list[str] = []
    readers = [
        threading.Thread(target=lambda s=s, b=b: b.extend(iter(s.readline, "")), daemon=True)
        for s, b in ((proc.stdout, out), (proc.stderr, err))
    ]
    for reader in readers:
        reader.start()
    try:
        wait_for(lambda: any('psql "' in line for line in out) or proc.poll() is not None,
                 CMD_TIMEOUT, "the DSN on stdout")
        assert proc.poll() is None, f"exited {proc.returncode}: {''.join(out)}{''.join(err)}"
        dsn = parse_dsn("".join(out))
        wait_for(lambda: psql_select_1(dsn).returncode == 0, 30, "the DSN to answer")
        box = Box(directory, port, dsn)
        pids = box.pids()
        assert set(pids) == {"gtm", "coord1", "monitor", "catalog1", "dn1"}, box.status()

        proc.send_signal(signal.SIGINT)
        code = proc.wait(timeout=60)
        for reader in readers:
            reader.join(timeout=10)
        assert code == 0, "".join(err)
        assert "Traceback" not in "".join(err), "".join(err)
        assert "cluster stopped" in "".join(err)
        still = {name: pid for name, pid in pids.items() if alive(pid)}
        assert not still, f"still alive after Ctrl-C: {still}"
        assert not processes_naming(directory)
        assert box.all_stopped(), box.status()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
        if (directory / "gridpg.toml").exists():
            gridpg("down", "--dir", str(directory))
