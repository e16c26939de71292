"""Shared benchmark scaffolding: one fresh gridpg cluster and one plain PostgreSQL.

Both are started with gridpg's own cluster code (`Cluster` for gridpg, `PgServer` for the
plain server) in a fresh temporary directory, and both are always stopped at the end (in
`finally`), whatever happens in between. The plain server gets exactly the settings of our
datanodes (`PgServer.base_settings()`, nothing else), so the comparison is like for like.

Also here: machine description, failure capture (client output + the coordinator log
tail), and appending a dated section to bench/RESULTS.md.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import os
import platform
import secrets
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
RESULTS = BENCH_DIR / "RESULTS.md"

# Run from a checkout without installing: make `gridpg` importable from src/, here and in
# the processes the cluster code spawns (`python -m gridpg coordinator ...`), which would
# otherwise import whatever gridpg is installed and measure that instead of this checkout.
if str(REPO / "src") not in sys.path:
    sys.path.insert(0, str(REPO / "src"))
os.environ["PYTHONPATH"] = os.pathsep.join(
    [str(REPO / "src"), *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))])

from gridpg.cluster.control import Cluster
from gridpg.cluster.pgserver import (
    SUPERUSER,
    PgServer,
    find_pg_bin,
    make_reachable,
    run_as_user,
)
from gridpg.cluster.topology import PortAllocator, build_default

HOST = "127.0.0.1"


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def free_base(start: int) -> int:
    """A free port at or above `start` (spread by pid so parallel runs do not collide).

    GRIDPG_BENCH_PORTS=P keeps a run inside the range P..P+149 of a shared machine: the
    cluster at P (its internal servers at P+100..), plain PostgreSQL at P+140.
    """
    pinned = os.environ.get("GRIDPG_BENCH_PORTS")
    if pinned:
        return PortAllocator(HOST, int(pinned) + (140 if start >= 26000 else 0)).take()
    return PortAllocator(HOST, start + (os.getpid() % 40) * 25).take()


# -- machine -------------------------------------------------------------------------


def machine_info() -> dict[str, str]:
    cpu = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    ram = "unknown"
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                kib = int(line.split()[1])
                ram = f"{kib / 1024 / 1024:.1f} GiB"
                break

    def out(*cmd: str) -> str:
        return subprocess.run(list(cmd), capture_output=True, text=True, check=False).stdout.strip()

    nproc = out("nproc") or str(os.cpu_count())
    commit = out("git", "-C", str(REPO), "rev-parse", "--short", "HEAD")
    dirty = out("git", "-C", str(REPO), "status", "--porcelain", "--", "src")
    return {
        "load_start": loadavg(),
        "started": _dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M:%S %Z"),
        "nproc": nproc,
        "ram": ram,
        "cpu": cpu,
        "kernel": platform.release(),
        "python": platform.python_version(),
        "commit": commit + (" (src/ has uncommitted changes)" if dirty else ""),
    }


def loadavg() -> str:
    """1/5/15-minute load averages: other work on the machine skews every number here."""
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "unknown"


def machine_markdown(info: dict[str, str] | None = None) -> str:
    info = info or machine_info()
    return (
        f"- machine: nproc={info['nproc']}, RAM {info['ram']}, CPU `{info['cpu']}`, "
        f"kernel {info['kernel']}, Python {info['python']}\n"
        f"- run started {info['started']}; load average (1/5/15 min) at start: {info['load_start']}; at end: {loadavg()} "
        "(the machine is shared: a load above nproc means other work competed for the CPUs)\n"
        f"- gridpg commit: {info['commit']}\n"
    )


def command_line() -> str:
    """The exact command that ran this benchmark, as one can paste it."""
    argv = [sys.executable if Path(sys.argv[0]).suffix == ".py" else ""]
    rel = os.path.relpath(sys.argv[0], REPO) if Path(sys.argv[0]).exists() else sys.argv[0]
    return " ".join(shlex.quote(a) for a in [*filter(None, argv), rel, *sys.argv[1:]])


def append_results(title: str, body: str) -> None:
    """Append a dated section to bench/RESULTS.md."""
    stamp = _dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    if not RESULTS.exists():
        RESULTS.write_text(
            "# gridpg benchmark results\n\n"
            "Appended by the scripts in bench/ (see bench/README.md). Newest at the bottom.\n"
            "Failed runs are recorded as failures, never as results.\n"
        )
    with RESULTS.open("a") as fh:
        fh.write(f"\n## {stamp}: {title}\n\n{body.rstrip()}\n")
    log(f"appended a section to {RESULTS}")


def tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError as exc:
        return f"(cannot read {path}: {exc})"


def fenced(text: str, limit: int = 6000) -> str:
    text = text.rstrip()
    if len(text) > limit:
        text = "...(truncated)...\n" + text[-limit:]
    return "```\n" + text.replace("```", "'''") + "\n```"


# -- the two systems under test ------------------------------------------------------


@dataclass
class Env:
    """A running gridpg cluster and a running plain PostgreSQL, with what clients need."""

    root: Path
    cluster: Cluster
    plain: PgServer
    plain_password: str
    bin_dir: Path
    failures: list[str] = field(default_factory=list)

    @property
    def cluster_dir(self) -> Path:
        return self.cluster.dir

    def gridpg_dsn(self, coordinator: int = 0) -> str:
        return self.cluster.dsn(coordinator)

    @property
    def plain_dsn(self) -> str:
        return f"postgresql://{SUPERUSER}:{self.plain_password}@{HOST}:{self.plain.port}/postgres"

    def target(self, name: str) -> Target:
        if name == "plain":
            return Target("plain", HOST, self.plain.port, self.plain_password, self.plain_dsn)
        coord = self.cluster.topology.coordinators[0]
        return Target("gridpg", coord.host, coord.port, self.cluster.password(), self.gridpg_dsn(0))

    def coord_log_tail(self, lines: int = 40, coordinator: str = "coord1") -> str:
        return tail(self.cluster_dir / "log" / f"{coordinator}.log", lines)


@dataclass
class Target:
    name: str
    host: str
    port: int
    password: str
    dsn: str
    options: str = ""  # PGOPTIONS for the clients (e.g. -c gridpg.consistency=node)

    def client_env(self) -> dict[str, str]:
        env = dict(os.environ)
        for key in ("PGDATABASE", "PGHOST", "PGPORT", "PGUSER", "PGSERVICE", "PGOPTIONS"):
            env.pop(key, None)
        env.update(
            PGPASSWORD=self.password,
            PGHOST=self.host,
            PGPORT=str(self.port),
            PGUSER=SUPERUSER,
            PGDATABASE="postgres",
            LC_ALL="C.UTF-8",
        )
        if self.options:
            env["PGOPTIONS"] = self.options
        return env


@contextlib.contextmanager
def environment(keep: bool = False, datanodes: int = 2, coordinators: int = 2,
                workers: int = 0) -> Iterator[Env]:
    """Start a fresh gridpg cluster and a plain PostgreSQL; stop (and remove) both at the end.

    `workers` > 0 sets every coordinator's worker processes in the topology file
    (gridpg.toml); 0 leaves gridpg's automatic choice.
    """
    root = Path(tempfile.mkdtemp(prefix="gridpg-bench-"))
    user = run_as_user()
    make_reachable(root, user)
    bin_dir = find_pg_bin()
    cluster = Cluster(root / "cluster")
    plain_dir = root / "plain"
    make_reachable(plain_dir, user)
    plain_password = secrets.token_urlsafe(16)
    password_file = plain_dir / "password"
    password_file.write_text(plain_password + "\n")
    password_file.chmod(0o600)
    plain = PgServer(
        name="plain",
        data_dir=plain_dir / "data",
        host=HOST,
        port=free_base(26000),
        socket_dir=plain_dir / "run",
        log_file=plain_dir / "log" / "plain.log",
        bin_dir=bin_dir,
        password_file=password_file,
    )
    started_cluster = False
    try:
        t0 = time.monotonic()
        log(f"creating gridpg cluster in {cluster.dir} (2 coordinators, {datanodes} datanodes)")
        topo = build_default(datanodes=datanodes, coordinators=coordinators, port=free_base(24000))
        for coord in topo.coordinators:
            coord.workers = workers
        started_cluster = True
        cluster.create(topo, lambda m: log("  gridpg: " + m))
        cluster.up(lambda m: log("  gridpg: " + m))
        log(f"gridpg up in {time.monotonic() - t0:.1f} s: {cluster.dsn(0)}")
        # Same settings as our datanodes: base_settings() only (what Cluster.create gives them).
        # The port is picked now, not before the cluster's start: the machine is shared.
        plain.port = free_base(26000)
        plain.init({})
        plain.start()
        log(f"plain PostgreSQL up on port {plain.port} (settings = PgServer.base_settings())")
        yield Env(root, cluster, plain, plain_password, bin_dir)
    finally:
        log("stopping gridpg cluster and plain PostgreSQL")
        errors = []
        if started_cluster and cluster.exists():
            try:
                cluster.down(lambda m: log("  gridpg: " + m))
            except Exception as exc:  # noqa: BLE001 - report, keep stopping the rest
                errors.append(f"gridpg down failed: {exc}")
        try:
            plain.stop("fast")
        except Exception as exc:  # noqa: BLE001
            errors.append(f"plain stop failed: {exc}")
        for err in errors:
            log(err)
        if keep or errors:
            log(f"kept {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)


def settings_summary(env: Env) -> str:
    s = env.plain.base_settings()
    keys = ("shared_buffers", "max_connections", "wal_level", "max_prepared_transactions")
    return ", ".join(f"{k}={s[k]}" for k in keys) + " (PgServer.base_settings(); fsync on)"
