"""pgbench against plain PostgreSQL and against a gridpg coordinator, in the same run.

    python bench/pgbench_bench.py [--scale 10] [--time 30] [--clients 8] [--jobs 2]
                                  [--modes prepared[,simple,extended]] [--scripts select,tpcb]
                                  [--json] [--no-record] [--keep]

For each target (plain, gridpg): `pgbench -i -s S`. Then for each script and protocol mode,
plain first and gridpg right after: `pgbench -S -M <mode> -c C -j J -T T` (select-only) and
the TPC-B default script `pgbench -M <mode> -c C -j J -T T`. After each TPC-B run the bank
invariant is checked on both: sum(abalance) = sum(bbalance) = sum(tbalance) = sum(delta).

Errors are reported, never hidden: a non-zero pgbench exit, "aborted" clients or failed
transactions make the run a failure, with the client output and the last 40 lines of the
coordinator log, in the table and in bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common
from common import Env, Target, fenced, log

MODES = ("prepared", "simple", "extended")
SCRIPTS = ("select", "tpcb", "sum", "rrsum")
# Custom scripts reading several nodes (pgbench_branches is spread over the datanodes):
# "sum" a multi-node READ COMMITTED read (the snapshot fence on every statement), "rrsum" a
# REPEATABLE READ transaction reading one account (routed) and then the branch total (the
# cluster-wide snapshot at its first statement).
CUSTOM = {
    "sum": "\\set aid random(1, 100000 * :scale)\n"
           "SELECT abalance FROM pgbench_accounts WHERE aid = :aid;\n"
           "SELECT sum(bbalance) FROM pgbench_branches;\n",
    "rrsum": "\\set aid random(1, 100000 * :scale)\n"
             "BEGIN ISOLATION LEVEL REPEATABLE READ;\n"
             "SELECT abalance FROM pgbench_accounts WHERE aid = :aid;\n"
             "SELECT sum(bbalance) FROM pgbench_branches;\n"
             "END;\n",
}


def script_args(script: str, workdir: Path) -> list[str]:
    """pgbench's arguments that choose the script (custom ones written to `workdir`)."""
    if script == "select":
        return ["-S"]
    if script in CUSTOM:
        path = workdir / f"{script}.sql"
        path.write_text(CUSTOM[script])
        return ["-f", str(path)]
    return []


@dataclass
class Run:
    target: str
    script: str  # init | select | tpcb
    mode: str
    command: str
    ok: bool = False
    tps: float | None = None
    latency_ms: float | None = None
    transactions: int | None = None
    failed_tx: int | None = None
    seconds: float = 0.0
    returncode: int | None = None
    errors: list[str] = field(default_factory=list)
    client_output: str = ""
    coord_log: str = ""
    invariant: dict[str, object] | None = None
    detail: str = ""


def run_pgbench(
    env: Env, target: Target, args: list[str], timeout: float
) -> tuple[int | None, str, float]:
    cmd = [str(env.bin_dir / "pgbench"), *args]
    t0 = time.monotonic()
    proc = subprocess.Popen(
        cmd,
        env=target.client_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    try:
        out, _ = proc.communicate(timeout=timeout)
        rc: int | None = proc.returncode
    except subprocess.TimeoutExpired:
        if target.name.startswith("gridpg"):
            snapshot = cluster_activity(env)
            log("pgbench hung; cluster activity:\n" + snapshot)
        else:
            snapshot = ""
        proc.kill()  # our own child, by handle
        out, _ = proc.communicate()
        out += f"\n[bench] pgbench did not finish within {timeout:.0f} s and was killed\n"
        if snapshot:
            out += "[bench] activity on the cluster's servers before the kill:\n" + snapshot + "\n"
        rc = None
    return rc, out, time.monotonic() - t0


def cluster_activity(env: Env) -> str:
    """Non-idle sessions, ungranted locks and prepared transactions on every server."""
    import psycopg

    queries = {
        "activity": "SELECT pid, state, wait_event_type || ':' || coalesce(wait_event, ''), "
        "left(regexp_replace(query, '\\s+', ' ', 'g'), 160) FROM pg_stat_activity "
        "WHERE backend_type = 'client backend' AND pid <> pg_backend_pid() AND state <> 'idle'",
        "waiting lock": "SELECT pid, locktype, relation::regclass::text, mode FROM pg_locks "
        "WHERE NOT granted",
        "prepared": "SELECT gid, prepared FROM pg_prepared_xacts",
    }
    lines = []
    password = env.cluster.password()
    for spec in env.cluster.topology.all_servers():
        dsn = f"postgresql://postgres:{password}@{spec.host}:{spec.port}/postgres"
        try:
            with psycopg.connect(dsn, autocommit=True, connect_timeout=5) as conn:
                for label, q in queries.items():
                    for row in conn.execute(q):
                        lines.append(f"{spec.name} {label}: {row}")
        except Exception as exc:  # noqa: BLE001
            lines.append(f"{spec.name}: {type(exc).__name__}: {exc}")
    return "\n".join(lines) or "(nothing active)"


def shown_command(target: Target, args: list[str]) -> str:
    options = f"PGOPTIONS='{target.options}' " if target.options else ""
    return (f"{options}pgbench -h {target.host} -p {target.port} -U postgres " + " ".join(args)
            + " postgres")


def error_lines(out: str) -> list[str]:
    picked: list[str] = []
    for line in out.splitlines():
        low = line.lower()
        failed = "failed" in low and "number of failed transactions: 0 " not in low
        bad = failed or any(w in low for w in ("aborted", "error", "fatal", "[bench]"))
        if bad and line not in picked:
            picked.append(line)
    return picked[:25]


def parse(run: Run, out: str) -> None:
    if m := re.search(r"^tps = ([\d.]+) \(without initial connection time\)", out, re.MULTILINE):
        run.tps = float(m.group(1))
    if m := re.search(r"^latency average = ([\d.]+) ms", out, re.MULTILINE):
        run.latency_ms = float(m.group(1))
    if m := re.search(r"^number of transactions actually processed: (\d+)", out, re.MULTILINE):
        run.transactions = int(m.group(1))
    if m := re.search(r"^number of failed transactions: (\d+)", out, re.MULTILINE):
        run.failed_tx = int(m.group(1))
    if m := re.search(r"^done in .*$", out, re.MULTILINE):
        run.detail = m.group(0).strip()


def bench_run(
    env: Env, target: Target, script: str, mode: str, args: list[str], timeout: float
) -> Run:
    run = Run(target.name, script, mode, shown_command(target, args))
    log(f"{target.name}: {run.command}")
    rc, out, secs = run_pgbench(env, target, args, timeout)
    run.returncode, run.seconds, run.client_output = rc, secs, out
    parse(run, out)
    aborted = re.search(r"\baborted\b", out, re.IGNORECASE) is not None
    run.ok = (
        rc == 0 and not aborted and not run.failed_tx and (script == "init" or run.tps is not None)
    )
    if not run.ok:
        run.errors = error_lines(out) or [f"pgbench exited with {rc}"]
        if target.name.startswith("gridpg"):
            run.coord_log = env.coord_log_tail(40)
        else:
            run.coord_log = common.tail(env.plain.log_file, 40)
        log(f"  FAILED (exit {rc}): " + "; ".join(run.errors[:3]))
    else:
        log(f"  ok: tps={run.tps} in {secs:.1f} s" if run.tps else f"  ok in {secs:.1f} s")
    return run


def check_invariant(target: Target) -> dict[str, object]:
    import psycopg

    sql = {
        "accounts": "SELECT sum(abalance) FROM pgbench_accounts",
        "branches": "SELECT sum(bbalance) FROM pgbench_branches",
        "tellers": "SELECT sum(tbalance) FROM pgbench_tellers",
        "history": "SELECT coalesce(sum(delta), 0) FROM pgbench_history",
        "history_rows": "SELECT count(*) FROM pgbench_history",
    }
    result: dict[str, object] = {}
    try:
        with psycopg.connect(target.dsn, autocommit=True, connect_timeout=10) as conn:
            for key, q in sql.items():
                row = conn.execute(q).fetchone()
                result[key] = int(row[0]) if row and row[0] is not None else None
    except Exception as exc:  # noqa: BLE001 - reported as the check's outcome
        result["error"] = f"{type(exc).__name__}: {exc}"
        result["ok"] = False
        return result
    sums = [result["accounts"], result["branches"], result["tellers"], result["history"]]
    result["ok"] = None not in sums and len(set(sums)) == 1
    return result


def count_accounts(target: Target) -> int | str:
    import psycopg

    try:
        with psycopg.connect(target.dsn, autocommit=True, connect_timeout=10) as conn:
            row = conn.execute("SELECT count(*) FROM pgbench_accounts").fetchone()
            return int(row[0]) if row else "no row"
    except Exception as exc:  # noqa: BLE001
        return f"{type(exc).__name__}: {exc}"


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--scale", type=int, default=10)
    ap.add_argument("--time", type=int, default=30, help="seconds per pgbench run")
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument(
        "--modes",
        default="prepared",
        help="comma list of protocol modes among prepared,simple,extended",
    )
    ap.add_argument("--scripts", default="select,tpcb", help="comma list among select,tpcb")
    ap.add_argument(
        "--init-timeout", type=int, default=240, help="seconds before pgbench -i counts as hung"
    )
    ap.add_argument(
        "--consistency",
        default="",
        help="comma list among cluster,node: run gridpg once per value of gridpg.consistency "
        "(PGOPTIONS -c gridpg.consistency=V), right after each other",
    )
    ap.add_argument("--json", action="store_true", help="print results as JSON on stdout")
    ap.add_argument("--no-record", action="store_true", help="do not append to bench/RESULTS.md")
    ap.add_argument("--keep", action="store_true", help="keep the temp dir (logs, data)")
    args = ap.parse_args()
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    scripts = [s.strip() for s in args.scripts.split(",") if s.strip()]
    for m in modes:
        if m not in MODES:
            ap.error(f"unknown mode {m!r}; choose among {', '.join(MODES)}")
    for s in scripts:
        if s not in SCRIPTS:
            ap.error(f"unknown script {s!r}; choose among {', '.join(SCRIPTS)}")
    consistencies = [c.strip() for c in args.consistency.split(",") if c.strip()]
    for c in consistencies:
        if c not in ("cluster", "node"):
            ap.error(f"unknown consistency {c!r}; choose among cluster, node")

    info = common.machine_info()
    cmdline = common.command_line()
    runs: list[Run] = []
    notes: list[str] = []
    setup_error = ""
    timeout = args.time + 120
    try:
        with common.environment(keep=args.keep) as env:
            settings = common.settings_summary(env)
            targets = [env.target("plain"), *gridpg_targets(env, consistencies)]
            init_ok = {}
            for target in targets[:2]:
                run = bench_run(
                    env, target, "init", "-", ["-i", "-s", str(args.scale)], args.init_timeout
                )
                if run.ok:
                    n = count_accounts(target)
                    if n != 100000 * args.scale:
                        run.ok = False
                        run.errors = [
                            f"pgbench_accounts has {n} rows after init, expected {100000 * args.scale}"
                        ]
                        run.coord_log = env.coord_log_tail(40) if target.name.startswith("gridpg") else ""
                runs.append(run)
                init_ok[target.name] = run.ok
            for target in targets[2:]:  # the same database, another session setting
                init_ok[target.name] = init_ok[targets[1].name]
            for script in scripts:
                for mode in modes:
                    for target in targets:
                        if not init_ok[target.name]:
                            continue
                        bargs = script_args(script, env.cluster_dir.parent)
                        bargs += [
                            "-M",
                            mode,
                            "-c",
                            str(args.clients),
                            "-j",
                            str(args.jobs),
                            "-T",
                            str(args.time),
                            "-n",
                        ]
                        run = bench_run(env, target, script, mode, bargs, timeout)
                        if script == "tpcb":
                            run.invariant = check_invariant(target)
                            log(f"  invariant on {target.name}: {run.invariant}")
                            if not run.invariant.get("ok"):
                                run.ok = False
                                run.errors.append(f"bank invariant violated: {run.invariant}")
                                if target.name.startswith("gridpg") and not run.coord_log:
                                    run.coord_log = env.coord_log_tail(40)
                        runs.append(run)
    except Exception as exc:  # noqa: BLE001 - a setup failure is a result to record
        setup_error = f"{type(exc).__name__}: {exc}"
        log("setup failed: " + setup_error)
        settings = ""

    table = markdown_table(runs, args) if not consistencies else targets_table(runs, args)
    if args.json:
        print(
            json.dumps(
                {
                    "command": cmdline,
                    "machine": info,
                    "setup_error": setup_error,
                    "runs": [asdict(r) for r in runs],
                },
                indent=2,
            )
        )
    else:
        print(table)
        if setup_error:
            print("\nsetup failed: " + setup_error)
    if not args.no_record:
        common.append_results(
            f"pgbench (scale {args.scale}, {args.time} s, {args.clients} clients)",
            report_body(cmdline, info, settings, runs, table, setup_error, notes),
        )
    failed = setup_error or any(not r.ok for r in runs)
    return 1 if failed else 0


def gridpg_targets(env: Env, consistencies: list[str]) -> list[Target]:
    """The gridpg target, or one per gridpg.consistency value (named gridpg:<value>)."""
    base = env.target("gridpg")
    if not consistencies:
        return [base]
    return [
        replace(base, name=f"gridpg:{c}", options=f"-c gridpg.consistency={c}")
        for c in consistencies
    ]


def targets_table(runs: list[Run], args: argparse.Namespace) -> str:
    """One row per script, mode and target, with the ratio to plain PostgreSQL."""
    rows = [
        "| script | mode | target | TPS | vs plain | latency ms | errors |",
        "|---|---|---|---:|---:|---:|---|",
    ]
    for r in runs:
        plain = next((p for p in runs if p.target == "plain" and p.script == r.script
                      and p.mode == r.mode), None)
        if r.script == "init":
            value = f"{r.seconds:.1f} s" if r.ok else "FAILED"
            ratio = "-"
        else:
            value = fmt(r.tps) if r.ok else "FAILED"
            ratio = (f"{r.tps / plain.tps:.3f}" if plain and plain.ok and plain.tps and r.ok
                     and r.tps else "-")
        errs = " / ".join(e.strip() for e in r.errors[:2])[:200].replace("|", "\\|") or "none"
        lat = fmt(r.latency_ms) if r.ok else "-"
        rows.append(f"| {r.script} | {r.mode} | {r.target} | {value} | {ratio} | {lat} | {errs} |")
    return "\n".join(rows)


def fmt(x: float | None) -> str:
    return "-" if x is None else f"{x:,.1f}"


def markdown_table(runs: list[Run], args: argparse.Namespace) -> str:
    rows = [
        "| script | mode | plain TPS | gridpg TPS | gridpg/plain | plain lat ms | gridpg lat ms | errors |",
        "|---|---|---:|---:|---:|---:|---:|---|",
    ]
    keys: list[tuple[str, str]] = []
    for r in runs:
        if (r.script, r.mode) not in keys:
            keys.append((r.script, r.mode))
    for script, mode in keys:
        by = {r.target: r for r in runs if r.script == script and r.mode == mode}
        p, g = by.get("plain"), by.get("gridpg")
        label = {"init": f"init -s {args.scale}", "select": "select-only (-S)", "tpcb": "TPC-B",
                 "sum": "routed read + multi-node sum", "rrsum": "the same in REPEATABLE READ"}[
            script
        ]
        if script == "init":
            ptxt = f"{p.seconds:.1f} s" if p and p.ok else ("FAILED" if p else "-")
            gtxt = f"{g.seconds:.1f} s" if g and g.ok else ("FAILED" if g else "-")
            ratio = (
                f"{g.seconds / p.seconds:.1f}x slower"
                if p and g and p.ok and g.ok and p.seconds
                else "-"
            )
        else:
            ptxt = fmt(p.tps) if p and p.ok else ("FAILED" if p else "-")
            gtxt = fmt(g.tps) if g and g.ok else ("FAILED" if g else "-")
            ratio = f"{g.tps / p.tps:.3f}" if p and g and p.ok and g.ok and p.tps and g.tps else "-"
        errs = []
        for r in (p, g):
            if r and not r.ok:
                errs.append(f"{r.target}: " + " / ".join(e.strip() for e in r.errors[:2])[:200])
        plat = fmt(p.latency_ms) if p and p.ok else "-"
        glat = fmt(g.latency_ms) if g and g.ok else "-"
        err_txt = "; ".join(errs).replace("|", "\\|") or "none"
        rows.append(
            f"| {label} | {mode} | {ptxt} | {gtxt} | {ratio} | {plat} | {glat} | {err_txt} |"
        )
    return "\n".join(rows)


def report_body(
    cmdline: str,
    info: dict[str, str],
    settings: str,
    runs: list[Run],
    table: str,
    setup_error: str,
    notes: list[str],
) -> str:
    lines = [f"- command: `{cmdline}`", common.machine_markdown(info).rstrip()]
    if settings:
        lines.append(f"- plain PostgreSQL settings = datanode settings: {settings}")
    lines.append(
        "- gridpg: default topology (GTM, 2 coordinators + catalog servers, 2 datanodes); "
        "pgbench connects to coord1"
    )
    lines.append("")
    if setup_error:
        lines.append(f"**FAILED RUN: setup failed**: `{setup_error}`")
        lines.append("")
    lines.append(table)
    inits = [r for r in runs if r.script == "init" and r.detail]
    if inits:
        lines.append("")
        lines += [f"- {r.target} `pgbench -i` breakdown: {r.detail}" for r in inits]
    inv = [r for r in runs if r.invariant is not None]
    if inv:
        lines.append("")
        lines.append(
            "Bank invariant after each TPC-B run (sum abalance = bbalance = tbalance = history delta):"
        )
        lines.append("")
        for r in inv:
            i = r.invariant or {}
            verdict = "holds" if i.get("ok") else "VIOLATED"
            detail = (
                i.get("error")
                or f"accounts={i.get('accounts')} branches={i.get('branches')} "
                f"tellers={i.get('tellers')} history={i.get('history')} "
                f"({i.get('history_rows')} history rows)"
            )
            lines.append(f"- {r.target} after TPC-B -M {r.mode}: {verdict}: {detail}")
    failures = [r for r in runs if not r.ok]
    if failures:
        lines.append("")
        lines.append("### Failed runs (not results)")
        for r in failures:
            lines.append("")
            lines.append(
                f"**{r.target} {r.script} -M {r.mode}**: `{r.command}` exited with {r.returncode}"
            )
            lines.append("")
            lines.append("Client output (errors):")
            lines.append(fenced("\n".join(r.errors)))
            lines.append("")
            lines.append("Client output (last 30 lines):")
            lines.append(fenced("\n".join(r.client_output.splitlines()[-30:])))
            if r.coord_log:
                which = "coord1.log" if r.target == "gridpg" else "plain.log"
                lines.append("")
                lines.append(f"Last 40 lines of {which}:")
                lines.append(fenced(r.coord_log))
    lines += notes
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
