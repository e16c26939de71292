"""Every OLTP workload of issue 11, on gridpg and on one plain PostgreSQL, in the same run.

    python -m bench [--quick] [--time T] [--scale S] [--rounds R] [--workloads a,b,...] [--workers N]
                    [--rows N] [--idle N] [--no-record] [--no-plots] [--keep]

Starts a fresh gridpg cluster (default topology: GTM, 2 coordinators, 2 datanode groups)
and one plain PostgreSQL from the same binaries with the datanodes' settings (bench/common.py),
then runs, gridpg right after plain for each workload (the throughput workloads R times
each, default 3, alternated plain, gridpg, gridpg, plain, ...: the ratio of the mean tps):

  init             pgbench -i -s S                              (time; reported, no target)
  select-prepared  pgbench -S -M prepared -c 8 -j 2 -T T        ratio >= 0.40
  proxy-floor      select-prepared through a proxy that only forwards bytes (reference:
                   bench/forward_proxy.py, 2 uvloop processes in front of plain; no target)
  select-simple    pgbench -S -M simple -c 8 -j 2 -T T          ratio >= 0.35
  latency          pgbench -S -M prepared -c 1 -T T -l          added p50 <= 150 us, p99 <= 1 ms
  tpcb-prepared    pgbench -M prepared -c 8 -j 2 -T T           ratio >= 0.30 (bank invariant checked)
  simple-update    pgbench -b simple-update -M prepared ...     ratio >= 0.45 (pgbench_history by aid)
  copy             COPY FROM STDIN of N rows (psycopg)          ratio >= 0.50 (count and sum checked)
  idle             N idle client connections to coord1          RSS < 300 MB, datanode backends bounded

and writes a dated section to bench/RESULTS.md (figures, ratios against the targets, the
machine, the load average, every command) and PNG plots into bench/plots/. A workload that
fails (pgbench error, broken invariant, wrong row count) is recorded as a failure with the
coordinator log's tail, never as a figure; the exit status is then 1. `--quick` (10 s per
pgbench run) finishes in a few minutes.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as _dt
import os
import re
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common
import copy_bench
import pgbench_bench
from common import HOST, Env, Target, fenced, log

PLOTS = common.BENCH_DIR / "plots"
ORDER = ("init", "select-prepared", "proxy-floor", "select-simple", "latency", "tpcb-prepared", "simple-update",
         "copy", "idle")
RATIO_TARGETS = {"select-prepared": 0.40, "select-simple": 0.35, "tpcb-prepared": 0.30,
                 "simple-update": 0.45, "copy": 0.50}
LATENCY_P50_US, LATENCY_P99_US = 150.0, 1000.0
IDLE_RSS_MB = 300.0


@dataclass
class Outcome:
    """One workload's figures on both systems, or why it failed."""

    workload: str
    commands: list[str] = field(default_factory=list)
    plain: float | None = None
    gridpg: float | None = None
    unit: str = ""
    ratio: float | None = None
    target: str = ""
    passed: bool | None = None  # None: no target (init) or no figure
    notes: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    log_tail: str = ""
    samples: dict[str, list[float]] = field(default_factory=dict)  # latency samples (us)


def main() -> int:
    args = parse_args()
    info = common.machine_info()
    cmdline = "python -m bench " + " ".join(sys.argv[1:])
    outcomes: list[Outcome] = []
    setup_error = ""
    settings = ""
    # 2,000 idle clients over the workers of one coordinator: above the default per-worker cap.
    os.environ.setdefault("GRIDPG_MAX_CONNECTIONS", str(max(1000, args.idle * 2)))
    t0 = time.monotonic()
    try:
        with common.environment(keep=args.keep, workers=args.workers) as env:
            settings = common.settings_summary(env)
            for name in args.workloads:
                outcomes.append(run_workload(name, env, args))
    except Exception as exc:  # noqa: BLE001 - a setup failure is a result to record
        setup_error = f"{type(exc).__name__}: {exc}\n{traceback.format_exc()}"
        log("setup failed: " + setup_error)
    elapsed = time.monotonic() - t0
    table = markdown_table(outcomes)
    print(table)
    for o in outcomes:
        for note in o.notes:
            print(f"  {o.workload}: {note}")
    plots = [] if args.no_plots else make_plots(outcomes, info)
    if not args.no_record:
        body = report(cmdline, info, settings, outcomes, table, plots, setup_error, elapsed, args)
        common.append_results("python -m bench" + (" --quick" if args.quick else ""), body)
    failed = bool(setup_error) or any(o.errors for o in outcomes)
    return 1 if failed else 0


def parse_args() -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="python -m bench", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="10 s per pgbench run (default 30 s)")
    ap.add_argument("--time", type=int, default=None, help="seconds per pgbench run")
    ap.add_argument("--scale", type=int, default=10)
    ap.add_argument("--rounds", type=int, default=3,
                    help="pgbench runs per system for each throughput workload, alternated "
                         "(plain, gridpg, gridpg, plain, ...); the ratio is of the mean tps")
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--rows", type=int, default=1_000_000, help="rows for the COPY workload")
    ap.add_argument("--idle", type=int, default=2000, help="idle client connections")
    ap.add_argument("--workers", type=int, default=0,
                    help="coordinator worker processes (gridpg.toml `workers`; 0 = automatic)")
    ap.add_argument("--workloads", default=",".join(ORDER),
                    help=f"comma list among {','.join(ORDER)} (init runs first when needed)")
    ap.add_argument("--no-record", action="store_true", help="do not append to bench/RESULTS.md")
    ap.add_argument("--no-plots", action="store_true")
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = ap.parse_args()
    args.time = args.time or (10 if args.quick else 30)
    chosen = [w.strip() for w in args.workloads.split(",") if w.strip()]
    unknown = [w for w in chosen if w not in ORDER]
    if unknown:
        ap.error(f"unknown workloads {unknown}; choose among {', '.join(ORDER)}")
    needs_init = any(w not in ("copy", "idle") for w in chosen)
    if needs_init and "init" not in chosen:
        chosen.insert(0, "init")
    args.workloads = [w for w in ORDER if w in chosen]
    return args


# -- workloads -----------------------------------------------------------------------


def run_workload(name: str, env: Env, args: argparse.Namespace) -> Outcome:
    log(f"== {name}")
    outcome = Outcome(name)
    try:
        RUNNERS[name](env, args, outcome)
    except Exception as exc:  # noqa: BLE001 - recorded as this workload's failure
        outcome.errors.append(f"{type(exc).__name__}: {exc}")
        outcome.notes.append(fenced(traceback.format_exc(), 2000))
    if outcome.errors and not outcome.log_tail:
        outcome.log_tail = env.coord_log_tail(40)
    if outcome.errors:
        outcome.passed = None
        log(f"   FAILED: {outcome.errors[:2]}")
    else:
        log(f"   plain={fmt(outcome.plain)} gridpg={fmt(outcome.gridpg)} {outcome.unit} "
            f"ratio={fmt(outcome.ratio, 3)} target {outcome.target}: {verdict(outcome)}")
    return outcome


def pgbench(env: Env, target: Target, args: list[str], timeout: float,
            outcome: Outcome, label: str) -> pgbench_bench.Run:
    """One pgbench run; failures land in the outcome's errors."""
    run = pgbench_bench.Run(target.name, label, "-", pgbench_bench.shown_command(target, args))
    outcome.commands.append(run.command)
    rc, out, secs = pgbench_bench.run_pgbench(env, target, args, timeout)
    run.returncode, run.seconds, run.client_output = rc, secs, out
    pgbench_bench.parse(run, out)
    aborted = re.search(r"\baborted\b", out, re.IGNORECASE) is not None
    run.ok = rc == 0 and not aborted and not run.failed_tx
    if not run.ok:
        lines = pgbench_bench.error_lines(out) or [f"pgbench exited with {rc}"]
        outcome.errors.append(f"{target.name}: " + " / ".join(lines[:3]))
        if target.name == "gridpg":
            outcome.log_tail = env.coord_log_tail(40)
    return run


def run_init(env: Env, args: argparse.Namespace, outcome: Outcome) -> None:
    outcome.unit, outcome.target = "s", "(none)"
    times = {}
    for target in (env.target("plain"), env.target("gridpg")):
        run = pgbench(env, target, ["-i", "-s", str(args.scale), "-q"], 300, outcome, "init")
        times[target.name] = run.seconds
        count = pgbench_bench.count_accounts(target)
        if count != 100000 * args.scale:
            outcome.errors.append(f"{target.name}: pgbench_accounts has {count} rows after init")
        if run.detail:
            outcome.notes.append(f"{target.name}: {run.detail}")
    outcome.plain, outcome.gridpg = times["plain"], times["gridpg"]
    outcome.ratio = outcome.plain / outcome.gridpg if outcome.gridpg else None


def tps_workload(script: list[str], label: str):  # type: ignore[no-untyped-def]
    def run(env: Env, args: argparse.Namespace, outcome: Outcome) -> None:
        """`args.rounds` runs on each system, in the order plain, gridpg, gridpg, plain, ...
        (a drift of the machine's speed through the workload weighs on both alike); the
        ratio is gridpg's mean tps over plain's, each round's ratio noted."""
        outcome.unit = "tps"
        bargs = [*script, "-c", str(args.clients), "-j", str(args.jobs), "-T", str(args.time), "-n"]
        if label == "simple-update":
            prepare_history_by_aid(env)
        before = {t: balance(env.target(t)) for t in ("plain", "gridpg")} if label == "simple-update" else {}
        committed = {"plain": 0, "gridpg": 0}
        figures: dict[str, list[float]] = {"plain": [], "gridpg": []}
        order = ("plain", "gridpg")
        for round_ in range(args.rounds):
            for name in order if round_ % 2 == 0 else order[::-1]:
                target = env.target(name)
                result = pgbench(env, target, bargs, args.time + 120, outcome, label)
                if result.tps is not None:
                    figures[name].append(result.tps)
                committed[name] += result.transactions or 0
                if label == "tpcb-prepared":
                    check = pgbench_bench.check_invariant(target)
                    outcome.notes.append(f"{target.name}: bank invariant "
                                         f"{'holds' if check.get('ok') else 'VIOLATED'}: {check}")
                    if not check.get("ok"):
                        outcome.errors.append(f"{target.name}: bank invariant violated: {check}")
                if label == "simple-update":
                    check_simple_update(target, before[target.name], committed[target.name], outcome)
        if len(figures["plain"]) == len(figures["gridpg"]) > 1:
            outcome.notes.append("ratio of each round (plain and gridpg back to back): " + ", ".join(
                f"{g / p:.3f}" for p, g in zip(figures["plain"], figures["gridpg"], strict=True) if p))
        set_ratio(outcome, _mean(figures["plain"]), _mean(figures["gridpg"]), RATIO_TARGETS[label])
    return run


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def run_proxy_floor(env: Env, args: argparse.Namespace, outcome: Outcome) -> None:
    """select-prepared's pgbench through a proxy that only forwards bytes to plain
    PostgreSQL's Unix socket (bench/forward_proxy.py, as many processes as the coordinator
    has workers): the kernel's and the event loop's share of a Python coordinator, the floor
    its ratio is held to, measured in this run. The proxy's CPU per transaction is noted."""
    import subprocess

    outcome.unit = "tps ('gridpg' column: the forwarding proxy)"
    outcome.target = "(reference, no target)"
    bargs = ["-S", "-M", "prepared", "-c", str(args.clients), "-j", str(args.jobs), "-T", str(args.time), "-n"]
    plain = pgbench(env, env.target("plain"), bargs, args.time + 120, outcome, "proxy-floor")
    port = common.free_base(27000)
    socket_file = Path(env.plain.socket_dir) / f".s.PGSQL.{env.plain.port}"
    processes = args.workers or 2
    command = [sys.executable, str(common.BENCH_DIR / "forward_proxy.py"), "--port", str(port),
               "--unix", str(socket_file), "--processes", str(processes)]
    outcome.commands.append(" ".join(["python", "bench/forward_proxy.py", *command[2:]]))
    proxy = subprocess.Popen(command)
    try:
        deadline = time.monotonic() + 10
        while not _accepts(port):
            if proxy.poll() is not None or time.monotonic() > deadline:
                outcome.errors.append(f"the forwarding proxy did not start (exit {proxy.poll()})")
                return
            time.sleep(0.05)
        through = Target("proxy", HOST, port, env.plain_password,
                         f"postgresql://{common.SUPERUSER}:{env.plain_password}@{HOST}:{port}/postgres")
        before = _tree_cpu(proxy.pid)
        run = pgbench(env, through, bargs, args.time + 120, outcome, "proxy-floor")
        cpu = _tree_cpu(proxy.pid) - before
    finally:
        proxy.terminate()
        try:
            proxy.wait(10)
        except subprocess.TimeoutExpired:
            proxy.kill()
    outcome.plain, outcome.gridpg = plain.tps, run.tps
    if plain.tps and run.tps and not outcome.errors:
        outcome.ratio = run.tps / plain.tps
        outcome.notes.append(f"the proxy ({processes} processes) used {cpu:.2f} s CPU: "
                             f"{cpu / (run.tps * args.time) * 1e6:.1f} us per transaction")


def _accepts(port: int) -> bool:
    import socket

    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((HOST, port)) == 0


def _tree_cpu(pid: int) -> float:
    """user + system CPU seconds of a process and its children, from /proc."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for member in process_tree(pid):
        try:
            fields = Path(f"/proc/{member}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / ticks
    return total


def set_ratio(outcome: Outcome, plain: float | None, gridpg: float | None, target: float) -> None:
    outcome.plain, outcome.gridpg = plain, gridpg
    outcome.target = f">= {target:.2f}"
    if plain and gridpg and not outcome.errors:
        outcome.ratio = gridpg / plain
        outcome.passed = outcome.ratio >= target


def prepare_history_by_aid(env: Env) -> None:
    """simple-update's single-node transactions: pgbench_history distributed by aid."""
    import psycopg

    with psycopg.connect(env.target("gridpg").dsn, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS pgbench_history")
        conn.execute("CREATE TABLE pgbench_history (tid int, bid int, aid int, delta int, "
                     "mtime timestamp, filler char(22)) DISTRIBUTE BY HASH (aid)")
    with psycopg.connect(env.target("plain").dsn, autocommit=True) as conn:
        conn.execute("TRUNCATE pgbench_history")


def balance(target: Target) -> int:
    import psycopg

    with psycopg.connect(target.dsn, autocommit=True) as conn:
        row = conn.execute("SELECT sum(abalance) FROM pgbench_accounts").fetchone()
    return int(row[0]) if row and row[0] is not None else 0


def check_simple_update(target: Target, before: int, transactions: int, outcome: Outcome) -> None:
    """Every committed transaction so far (`transactions`, over the workload's runs) left
    one history row and moved abalance by its delta."""
    import psycopg

    with psycopg.connect(target.dsn, autocommit=True) as conn:
        row = conn.execute("SELECT count(*), coalesce(sum(delta), 0) FROM pgbench_history").fetchone()
    assert row is not None
    rows, delta = int(row[0]), int(row[1])
    moved = balance(target) - before
    ok = moved == delta and (not transactions or rows == transactions)
    outcome.notes.append(f"{target.name}: {rows} history rows for {transactions} transactions, "
                         f"sum(delta)={delta}, abalance moved {moved}: {'ok' if ok else 'MISMATCH'}")
    if not ok:
        outcome.errors.append(f"{target.name}: simple-update check failed (rows={rows}, "
                              f"transactions={transactions}, delta={delta}, moved={moved})")


def run_latency(env: Env, args: argparse.Namespace, outcome: Outcome) -> None:
    """One client, routed point SELECTs: per-transaction latencies from pgbench's log."""
    outcome.unit = "us (p50)"
    outcome.target = f"added p50 <= {LATENCY_P50_US:.0f} us, p99 <= {LATENCY_P99_US:.0f} us"
    with tempfile.TemporaryDirectory(prefix="gridpg-latency-") as tmp:
        for target in (env.target("plain"), env.target("gridpg")):
            prefix = Path(tmp) / target.name
            bargs = ["-S", "-M", "prepared", "-c", "1", "-j", "1", "-T", str(args.time), "-n",
                     "-l", f"--log-prefix={prefix}"]
            pgbench(env, target, bargs, args.time + 120, outcome, "latency")
            samples: list[float] = []
            for path in Path(tmp).glob(f"{target.name}.*"):
                for line in path.read_text().splitlines():
                    parts = line.split()
                    if len(parts) >= 3:
                        samples.append(float(parts[2]))
            if not samples and not outcome.errors:
                outcome.errors.append(f"{target.name}: pgbench wrote no per-transaction log")
            outcome.samples[target.name] = samples
    plain, grid = outcome.samples.get("plain"), outcome.samples.get("gridpg")
    if not plain or not grid or outcome.errors:
        return
    p50 = {n: percentile(s, 50) for n, s in outcome.samples.items()}
    p99 = {n: percentile(s, 99) for n, s in outcome.samples.items()}
    outcome.plain, outcome.gridpg = p50["plain"], p50["gridpg"]
    added50, added99 = p50["gridpg"] - p50["plain"], p99["gridpg"] - p99["plain"]
    outcome.ratio = outcome.plain / outcome.gridpg
    outcome.passed = added50 <= LATENCY_P50_US and added99 <= LATENCY_P99_US
    outcome.notes.append(
        f"p50 plain {p50['plain']:.0f} us, gridpg {p50['gridpg']:.0f} us: added {added50:.0f} us; "
        f"p99 plain {p99['plain']:.0f} us, gridpg {p99['gridpg']:.0f} us: added {added99:.0f} us "
        f"({len(plain)} and {len(grid)} transactions)")


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * (len(ordered) - 1))))
    return ordered[index]


def run_copy(env: Env, args: argparse.Namespace, outcome: Outcome) -> None:
    outcome.unit = "rows/s"
    chunks = copy_bench.make_data(args.rows, 256 * 1024)
    repeats = 1 if args.quick else 2
    rates = {}
    for name in ("plain", "gridpg"):
        target = env.target(name)
        outcome.commands.append(
            f"{name}: COPY {copy_bench.TABLE} (id, name, amount) FROM STDIN, {args.rows:,} rows "
            f"of COPY text in 256 KiB writes (psycopg), best of {repeats}"
            + (", table DISTRIBUTE BY HASH (id)" if name == "gridpg" else ""))
        copy_bench.create_table(target.dsn, distributed=name == "gridpg")
        best = min(copy_bench.copy_once(target.dsn, chunks) for _ in range(repeats))
        ok, detail = copy_bench.verify(target.dsn, args.rows)
        outcome.notes.append(f"{name}: {detail}")
        if not ok:
            outcome.errors.append(f"{name}: COPY check failed: {detail}")
        rates[name] = args.rows / best
    set_ratio(outcome, rates.get("plain"), rates.get("gridpg"), RATIO_TARGETS["copy"])


def run_idle(env: Env, args: argparse.Namespace, outcome: Outcome) -> None:
    """N idle clients on coord1: its RSS and the datanodes' backends while they stay open."""
    outcome.unit = "MB RSS"
    outcome.target = f"coordinator RSS < {IDLE_RSS_MB:.0f} MB; datanode backends <= pool bound"
    target = env.target("gridpg")
    outcome.commands.append(f"{args.idle} asyncpg connections to {target.host}:{target.port}, "
                            "each authenticated (SCRAM) and idle; 20 of them then run a query")
    pid_file = env.cluster_dir / "run" / "coord1.pid"
    coord_pid = int(pid_file.read_text().split()[0])
    before = rss_mb(coord_pid)
    opened, backends, rss = asyncio.run(hold_idle(env, target, args.idle, coord_pid))
    workers = len(process_tree(coord_pid))  # the main process serves as worker 0
    pool = 32 * workers * len(env.cluster.topology.coordinators)
    outcome.gridpg = rss
    bounded = all(isinstance(n, int) and n <= pool for n in backends.values())
    outcome.passed = opened == args.idle and rss < IDLE_RSS_MB and bounded
    outcome.notes.append(
        f"opened {opened} of {args.idle}; coord1 RSS ({workers} worker processes) "
        f"{before:.0f} MB before, {rss:.0f} MB with the connections open; client backends on "
        f"the datanodes meanwhile: {backends} (pool bound {pool}: 32 per node per worker, "
        f"{len(env.cluster.topology.coordinators)} coordinators)")
    if opened != args.idle:
        outcome.errors.append(f"only {opened} of {args.idle} connections opened")


async def hold_idle(env: Env, target: Target, count: int, coord_pid: int) -> tuple[int, dict[str, object], float]:
    import asyncpg

    gate = asyncio.Semaphore(64)
    conns: list[object] = []

    async def one() -> None:
        async with gate:
            conns.append(await asyncpg.connect(target.dsn, timeout=60, statement_cache_size=0))

    results = await asyncio.gather(*(one() for _ in range(count)), return_exceptions=True)
    errors = [r for r in results if isinstance(r, BaseException)]
    if errors:
        log(f"   {len(errors)} connections failed, first: {errors[0]!r}")
    try:
        for conn in conns[:20]:
            await conn.fetchval("SELECT 1")  # type: ignore[attr-defined]
        await asyncio.sleep(1.0)
        rss = rss_mb(coord_pid)
        backends = datanode_backends(env)
    finally:
        await asyncio.gather(*(c.close() for c in conns), return_exceptions=True)  # type: ignore[attr-defined]
    return len(conns), backends, rss


def process_tree(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            children.setdefault(ppid, []).append(int(entry))
    out, todo = [], [pid]
    while todo:
        current = todo.pop()
        out.append(current)
        todo.extend(children.get(current, []))
    return out


def rss_mb(pid: int) -> float:
    total = 0
    for member in process_tree(pid):
        try:
            for line in Path(f"/proc/{member}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total / 1024


def datanode_backends(env: Env) -> dict[str, object]:
    import psycopg

    out: dict[str, object] = {}
    password = env.cluster.password()
    for group in env.cluster.topology.groups:
        dsn = f"postgresql://postgres:{password}@{group.primary.host}:{group.primary.port}/postgres"
        try:
            with psycopg.connect(dsn, autocommit=True, connect_timeout=10) as conn:
                row = conn.execute("SELECT count(*) FROM pg_stat_activity WHERE backend_type = "
                                   "'client backend' AND pid <> pg_backend_pid()").fetchone()
                out[group.name] = int(row[0]) if row else -1
        except Exception as exc:  # noqa: BLE001
            out[group.name] = f"{type(exc).__name__}: {exc}"
    return out


RUNNERS = {
    "init": run_init,
    "select-prepared": tps_workload(["-S", "-M", "prepared"], "select-prepared"),
    "proxy-floor": run_proxy_floor,
    "select-simple": tps_workload(["-S", "-M", "simple"], "select-simple"),
    "latency": run_latency,
    "tpcb-prepared": tps_workload(["-M", "prepared"], "tpcb-prepared"),
    "simple-update": tps_workload(["-b", "simple-update", "-M", "prepared"], "simple-update"),
    "copy": run_copy,
    "idle": run_idle,
}


# -- report --------------------------------------------------------------------------


def fmt(x: float | None, digits: int = 1) -> str:
    return "-" if x is None else f"{x:,.{digits}f}"


def verdict(o: Outcome) -> str:
    if o.errors:
        return "FAILED RUN"
    if o.passed is None:
        return "-"
    return "met" if o.passed else "NOT met"


def markdown_table(outcomes: list[Outcome]) -> str:
    rows = ["| workload | plain | gridpg | unit | gridpg/plain | target | result |",
            "|---|---:|---:|---|---:|---|---|"]
    for o in outcomes:
        ratio = fmt(o.ratio, 3) if o.workload not in ("init", "latency", "idle") else "-"
        if o.workload == "init" and o.plain and o.gridpg:
            ratio = f"{o.gridpg / o.plain:.1f}x slower"
        rows.append(f"| {o.workload} | {fmt(o.plain)} | {fmt(o.gridpg)} | {o.unit} | {ratio} | "
                    f"{o.target} | {verdict(o)} |")
    return "\n".join(rows)


def report(cmdline: str, info: dict[str, str], settings: str, outcomes: list[Outcome],
           table: str, plots: list[Path], setup_error: str, elapsed: float,
           args: argparse.Namespace) -> str:
    lines = [f"- command: `{cmdline}` ({elapsed / 60:.1f} min)", common.machine_markdown(info).rstrip()]
    if settings:
        lines.append(f"- plain PostgreSQL settings = datanode settings: {settings}")
    lines.append(f"- gridpg: default topology (GTM, 2 coordinators + catalog servers, 2 datanode "
                 f"groups), clients on coord1; coordinator workers: "
                 f"{args.workers or 'automatic'}; pgbench scale {args.scale}, {args.clients} clients, "
                 f"{args.jobs} threads, {args.time} s per run; throughput workloads: {args.rounds} "
                 f"runs per system in the order plain, gridpg, gridpg, plain, ... (ratio of the mean tps), "
                 f"the others plain first, gridpg right after")
    lines += ["", table, ""]
    if setup_error:
        lines += ["**FAILED RUN: setup failed**", "", fenced(setup_error, 3000), ""]
    for o in outcomes:
        lines.append(f"**{o.workload}**")
        lines += [f"- `{c}`" for c in o.commands]
        lines += [f"- {n}" if not n.startswith("```") else n for n in o.notes]
        for error in o.errors:
            lines.append(f"- FAILED: {error}")
        if o.errors and o.log_tail:
            lines += ["", "Last 40 lines of coord1.log:", fenced(o.log_tail)]
        lines.append("")
    if plots:
        rel = [p.relative_to(common.BENCH_DIR) for p in plots]
        lines.append("Plots: " + ", ".join(f"[{r}]({r})" for r in rel))
    return "\n".join(lines)


def make_plots(outcomes: list[Outcome], info: dict[str, str]) -> list[Path]:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        log("matplotlib is not installed: no plots")
        return []
    PLOTS.mkdir(exist_ok=True)
    stamp = _dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    subtitle = f"{stamp}, nproc {info['nproc']}, load {info['load_start']} -> {common.loadavg()}"
    written = [plot_ratios(plt, outcomes, subtitle)]
    latency = next((o for o in outcomes if o.workload == "latency" and o.samples.get("gridpg")), None)
    if latency is not None:
        written.append(plot_latency(plt, latency, subtitle))
    return [p for p in written if p is not None]


def plot_ratios(plt, outcomes: list[Outcome], subtitle: str) -> Path | None:  # type: ignore[no-untyped-def]
    rated = [o for o in outcomes if o.workload in RATIO_TARGETS]
    if not rated:
        return None
    fig, ax = plt.subplots(figsize=(8, 0.7 * len(rated) + 1.6))
    names = [o.workload for o in rated][::-1]
    values = [(o.ratio or 0.0) for o in rated][::-1]
    targets = [RATIO_TARGETS[o.workload] for o in rated][::-1]
    colors = ["#999999" if o.ratio is None else "#2e8b57" if o.passed else "#d9534f" for o in rated][::-1]
    bars = ax.barh(names, values, color=colors, height=0.55)
    for index, (target, value, bar) in enumerate(zip(targets, values, bars)):
        ax.plot([target, target], [index - 0.38, index + 0.38], color="black", linewidth=2.5)
        ax.text(target, index + 0.42, f"target {target:.2f}", ha="center", fontsize=8)
        label = "failed" if bar.get_facecolor()[:3] == (0.6, 0.6, 0.6) and value == 0 else f"{value:.3f}"
        ax.text(value + 0.01, index, label, va="center", fontsize=9)
    ax.set_xlim(0, max([1.0, *[v + 0.1 for v in values]]))
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    handles = [Patch(color="#2e8b57", label="target met"), Patch(color="#d9534f", label="target not met"),
               Line2D([0], [0], color="black", linewidth=2.5, label="target")]
    floor = next((o.ratio for o in outcomes if o.workload == "proxy-floor" and o.ratio), None)
    if floor is not None and "select-prepared" in names:
        # select-prepared's pgbench through a proxy that only forwards bytes (same run)
        index = names.index("select-prepared")
        ax.plot([floor, floor], [index - 0.38, index + 0.38], color="#555555", linewidth=2, linestyle=":")
        handles.append(Line2D([0], [0], color="#555555", linewidth=2, linestyle=":",
                              label=f"byte-forwarding proxy {floor:.2f}"))
    ax.legend(handles=handles, loc="upper right", fontsize=8, framealpha=0.9)
    ax.set_xlabel("gridpg throughput / plain PostgreSQL throughput (same run; higher is better)")
    ax.set_title(f"gridpg vs plain PostgreSQL: ratio per workload against its target\n{subtitle}",
                 fontsize=10)
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    path = PLOTS / "ratios.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_latency(plt, outcome: Outcome, subtitle: str) -> Path:  # type: ignore[no-untyped-def]
    fig, ax = plt.subplots(figsize=(8, 4.2))
    colors = {"plain": "#4a7ebb", "gridpg": "#e07b39"}
    for name, samples in outcome.samples.items():
        ordered = sorted(samples)
        n = len(ordered)
        ys = [100.0 * (i + 1) / n for i in range(n)]
        ax.plot(ordered, ys, label=f"{name}: p50 {percentile(ordered, 50):.0f} us, "
                f"p99 {percentile(ordered, 99):.0f} us", color=colors.get(name))
    plain = outcome.samples.get("plain") or [0.0]
    ax.axvline(percentile(plain, 50) + LATENCY_P50_US, color="#2e8b57", linestyle="--",
               label=f"target: plain p50 + {LATENCY_P50_US:.0f} us")
    ax.axvline(percentile(plain, 99) + LATENCY_P99_US, color="#8b0000", linestyle=":",
               label=f"target: plain p99 + {LATENCY_P99_US / 1000:.0f} ms")
    ax.set_xscale("log")
    ax.set_xlabel("latency of one routed point SELECT (us, log scale), one client, -M prepared")
    ax.set_ylabel("% of transactions at or below")
    ax.set_title(f"Latency distribution (CDF)\n{subtitle}", fontsize=10)
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    path = PLOTS / "latency.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


if __name__ == "__main__":
    sys.exit(main())
