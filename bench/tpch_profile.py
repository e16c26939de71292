"""Where a TPC-H query's time goes on gridpg, against plain PostgreSQL (opt-in, not in CI).

    python bench/tpch_profile.py --cluster DIR --plain-dsn DSN [--queries 1,22] [--runs 2]

Runs against a cluster kept by `bench/tpch.py --keep` (brought up again with `gridpg up
--dir DIR/cluster`; plain PostgreSQL started from `DIR/plain/data`), so nothing is loaded
again. Per query, best of `--runs` after a warm-up, it prints one JSON line with:

- `wall` / `plain`: the query's time on coordinator 1 and on plain PostgreSQL;
- `busy`: per server (datanodes, catalog server 1) the summed duration of its statements
  inside the query's window, from the servers' logs (`log_min_duration_statement = 0` is
  set here, with `log_line_prefix = '%m [%p] '`); `union`: the time at least one server
  was busy (the node-side critical path); `wall - union`: the coordinator alone;
- `cpu` / `plain_cpu`: CPU seconds each system used for the query: utime+stime of every
  process of the system plus what parents collected from exited children (backends,
  parallel workers), from /proc, before and after. Unlike wall time this does not depend
  on other load on the machine.

Totals follow at the end. The numbers and the reasoning drawn from them are in
bench/RESULTS.md ("where gridpg's time goes").
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import sys
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: F401 - puts this checkout's src/ first on the path

from gridpg.cluster import topology

QUERIES = Path(__file__).resolve().parent / "tpch_queries"
LINE = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}) UTC \[\d+\] LOG:  duration: ([0-9.]+) ms")
TICK = os.sysconf("SC_CLK_TCK")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cluster", type=Path, required=True, help="the kept bench directory (holds cluster/)")
    parser.add_argument("--plain-dsn", required=True)
    parser.add_argument("--queries", default="", help="comma-separated numbers (default: all 22)")
    parser.add_argument("--runs", type=int, default=2)
    args = parser.parse_args()
    numbers = [int(q) for q in args.queries.split(",") if q.strip()] or list(range(1, 23))
    cluster = args.cluster / "cluster"
    grid_dsn = _gridpg_dsn(cluster)
    servers = [p.name for p in sorted(cluster.iterdir()) if p.name.startswith(("dn", "catalog1"))]
    _log_statements(cluster, servers)
    grid_roots = _roots(str(cluster), ("postgres -D", "gridpg coordinator", "gridpg gtm"))
    plain_roots = _roots(str(args.cluster / "plain"), ("postgres -D",))
    totals: dict[str, float] = {}
    for number in numbers:
        record = profile(number, grid_dsn, args.plain_dsn, cluster / "log", servers, grid_roots, plain_roots, args.runs)
        print(json.dumps(record), flush=True)
        for key, value in _flat(record):
            totals[key] = totals.get(key, 0.0) + value
    print(json.dumps({"total": {k: round(v, 3) for k, v in totals.items()}}))
    return 0


def profile(number: int, grid: str, plain: str, logs: Path, servers: list[str], grid_roots: list[int],
            plain_roots: list[int], runs: int) -> dict[str, Any]:
    sql = "\n".join(x for x in (QUERIES / f"q{number:02d}.sql").read_text().splitlines() if not x.startswith("--"))
    sql = sql.replace("%FRACTION%", "0.0001")
    best: dict[str, Any] | None = None
    for dsn in (grid, plain):
        _run(dsn, sql)  # warm-up
    for _ in range(max(runs, 1)):
        cpu0 = _cpu(grid_roots)
        t0, t1 = _run(grid, sql)
        time.sleep(0.3)  # the servers write their log lines
        busy = {s: _intervals(logs / f"{s}.log", t0, t1) for s in servers}
        record = {"q": number, "wall": t1 - t0, "cpu": _cpu(grid_roots) - cpu0,
                  "busy": {s: round(sum(e - b for b, e in v), 4) for s, v in busy.items()},
                  "union": _union(i for v in busy.values() for i in v)}
        if best is None or record["wall"] < best["wall"]:
            best = record
    assert best is not None
    plains = []
    for _ in range(max(runs, 1)):
        cpu0 = _cpu(plain_roots)
        t0, t1 = _run(plain, sql)
        plains.append((t1 - t0, _cpu(plain_roots) - cpu0))
    best["plain"], best["plain_cpu"] = min(plains)
    return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in best.items()}


def _run(dsn: str, sql: str) -> tuple[float, float]:
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("SELECT 1")
        t0 = time.time()
        conn.execute(sql).fetchall()
        return t0, time.time()


def _intervals(path: Path, t0: float, t1: float) -> list[tuple[float, float]]:
    """(start, end) of every statement the server logged inside [t0, t1]."""
    out = []
    with path.open(errors="replace") as log:
        lines = log.readlines()[-50000:]  # bounded: the tail holds the query's window
    for line in lines:
        match = LINE.match(line)
        if not match:
            continue
        stamp = dt.datetime.strptime(match.group(1), "%Y-%m-%d %H:%M:%S.%f").replace(tzinfo=dt.UTC)
        end = stamp.timestamp()
        start = end - float(match.group(2)) / 1000
        if start >= t0 - 0.002 and end <= t1 + 0.002:
            out.append((start, end))
    return out


def _union(intervals: Iterable[tuple[float, float]]) -> float:
    total, current = 0.0, None
    for start, end in sorted(intervals):
        if current is None or start > current[1]:
            total += (current[1] - current[0]) if current else 0.0
            current = [start, end]
        else:
            current[1] = max(current[1], end)
    return total + ((current[1] - current[0]) if current else 0.0)


def _processes() -> dict[int, tuple[int, int, str]]:
    """pid -> (ppid, utime+stime+cutime+cstime in ticks, command line)."""
    out = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            cmd = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        out[int(entry)] = (int(fields[1]), sum(int(x) for x in fields[11:15]), cmd)
    return out


def _roots(directory: str, kinds: tuple[str, ...]) -> list[int]:
    """The top processes of one system: postmasters of data directories under `directory`,
    and gridpg's GTM and coordinators started for it (not the monitor: its probes are not
    the query's work)."""
    procs = _processes()
    found = [pid for pid, (ppid, _, cmd) in procs.items()
             if directory in cmd and any(k in cmd for k in kinds) and not (directory in procs.get(ppid, (0, 0, ""))[2])]
    if not found:
        sys.exit(f"no running processes under {directory}")
    return found


def _cpu(roots: list[int]) -> float:
    """CPU seconds used so far by the trees under `roots` (exited children included)."""
    procs = _processes()
    kids: dict[int, list[int]] = {}
    for pid, (ppid, _, _) in procs.items():
        kids.setdefault(ppid, []).append(pid)
    total, stack, seen = 0, list(roots), set()
    while stack:
        pid = stack.pop()
        if pid in seen or pid not in procs:
            continue
        seen.add(pid)
        total += procs[pid][1]
        stack += kids.get(pid, [])
    return total / TICK


def _gridpg_dsn(cluster: Path) -> str:
    topo = topology.load(cluster / "gridpg.toml")
    coord = topo.coordinators[0]
    return f"postgresql://postgres:{_password(cluster)}@{coord.host}:{coord.port}/postgres"


def _password(cluster: Path) -> str:
    return (cluster / "superuser.password").read_text().strip()


def _log_statements(cluster: Path, servers: list[str]) -> None:
    """Every statement logged with its duration on the servers profiled (reloaded, no restart)."""
    import psycopg

    specs = {s.name: s for s in topology.load(cluster / "gridpg.toml").all_servers()}
    for server in servers:
        spec = specs[server]
        with psycopg.connect(f"postgresql://postgres:{_password(cluster)}@{spec.host}:{spec.port}/postgres",
                             autocommit=True) as conn:
            conn.execute("ALTER SYSTEM SET log_min_duration_statement = 0")
            conn.execute("ALTER SYSTEM SET log_line_prefix = '%m [%p] '")
            conn.execute("SELECT pg_reload_conf()")


def _flat(record: dict[str, Any]) -> Iterable[tuple[str, float]]:
    for key, value in record.items():
        if key == "busy":
            yield from ((f"busy.{k}", v) for k, v in value.items())
        elif key != "q":
            yield key, float(value)


if __name__ == "__main__":
    sys.exit(main())
