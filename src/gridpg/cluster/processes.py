"""Supervision of gridpg's own Python processes (GTM, coordinators, monitor).

Each runs as `python -m gridpg <role> --dir D ...` in its own session, its output in a log
file, its pid in `run/<name>.pid`. A pid file is trusted only when the process behind it
is alive and is ours (its command line names gridpg and the member).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path


def pid_file(cluster_dir: Path, name: str) -> Path:
    return cluster_dir / "run" / f"{name}.pid"


def log_file(cluster_dir: Path, name: str) -> Path:
    return cluster_dir / "log" / f"{name}.log"


def running_pid(cluster_dir: Path, name: str) -> int | None:
    """The pid of member `name` if it runs; removes a stale pid file."""
    path = pid_file(cluster_dir, name)
    try:
        pid = int(path.read_text().strip())
    except (OSError, ValueError):
        return None
    if _is_our_process(pid, name):
        return pid
    path.unlink(missing_ok=True)
    return None


def spawn(cluster_dir: Path, name: str, args: list[str]) -> int:
    """Start `python -m gridpg ARGS` detached; returns its pid."""
    log = log_file(cluster_dir, name)
    log.parent.mkdir(parents=True, exist_ok=True)
    pid_file(cluster_dir, name).parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "gridpg", *args, "--member", name],
            stdout=out, stderr=out, stdin=subprocess.DEVNULL, start_new_session=True,
            cwd=str(cluster_dir),
        )
    pid_file(cluster_dir, name).write_text(f"{proc.pid}\n")
    return proc.pid


def stop(cluster_dir: Path, name: str, timeout: float = 10.0) -> bool:
    """SIGTERM, then SIGKILL after `timeout`; True if a process was stopped."""
    pid = running_pid(cluster_dir, name)
    if pid is None:
        return False
    _signal(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _alive(pid):
            break
        time.sleep(0.05)
    else:
        _signal(pid, signal.SIGKILL)
        while _alive(pid) and time.monotonic() < deadline + 5:
            time.sleep(0.05)
    pid_file(cluster_dir, name).unlink(missing_ok=True)
    return True


def _parent_of(pid: int) -> int:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()
        return int(fields[1])
    except (OSError, ValueError, IndexError):
        return -1


def _signal(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _is_our_process(pid: int, name: str) -> bool:
    if not _alive(pid):
        return False
    if _parent_of(pid) == os.getpid():
        return True  # our child, possibly not yet exec'd into `python -m gridpg ...`
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return b"gridpg" in cmdline and name.encode() in cmdline
