"""CPU time per transaction of each process of a running gridpg cluster under pgbench.

    python bench/cpu_per_txn.py --dir CLUSTER_DIR --port COORD_PORT -- -S -M prepared -c 8 -j 2 -T 10

Runs pgbench (the arguments after `--`) against the coordinator at 127.0.0.1:PORT and reads
user+sys CPU of every process from /proc over the run: the coordinator's workers, each
PostgreSQL server's backends (by the data directory under DIR), the GTM; and pgbench's own
CPU over its whole run. On a shared machine TPS swings with the load; CPU per transaction
is the steadier figure for a before/after comparison (a plain PostgreSQL measured the same
way, `--dir` its parent directory, gives the denominator of a CPU ratio) (bench/RESULTS.md, "OLTP profile of the coordinator").
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import subprocess
import time

HZ = os.sysconf("SC_CLK_TCK")


def _processes() -> dict[int, tuple[str, float, int]]:
    out = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode(errors="replace")
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        out[int(entry)] = (cmd, (int(fields[11]) + int(fields[12])) / HZ, int(fields[1]))
    return out


def _group(pid: int, table: dict[int, tuple[str, float, int]], cluster: str) -> str | None:
    cmd = table[pid][0]
    if f"--dir {cluster} --member " in cmd and " coordinator " in cmd:
        return cmd.split("--member ")[1].split()[0]
    if f"{cluster}/gtm" in cmd:
        return "gtm"
    seen = 0
    while pid in table and seen < 5:
        match = re.search(rf"postgres -D {re.escape(cluster)}/(\S+)", table[pid][0])
        if match:
            return match.group(1)
        pid, seen = table[pid][2], seen + 1
    return None


def _snapshot(cluster: str) -> dict[tuple[str, int], float]:
    table = _processes()
    return {(g, pid): table[pid][1] for pid in table if (g := _group(pid, table, cluster))}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dir", required=True, help="the cluster directory (gridpg up --dir)")
    ap.add_argument("--port", type=int, required=True, help="the coordinator's port")
    ap.add_argument("pgbench", nargs=argparse.REMAINDER, help="pgbench arguments after --")
    args = ap.parse_args()
    cluster = os.path.abspath(args.dir)
    env = dict(os.environ, PGHOST="127.0.0.1", PGPORT=str(args.port), PGUSER="postgres",
               PGDATABASE="postgres")
    bench_args = [a for a in args.pgbench if a != "--"]
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.Popen(["pgbench", *bench_args, "-n"], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    time.sleep(1.0)  # past the connections' start
    first, started = _snapshot(cluster), time.time()
    last, ended = first, started
    while proc.poll() is None:
        last, ended = _snapshot(cluster), time.time()
        time.sleep(0.5)
    output = proc.stdout.read() if proc.stdout else ""
    proc.wait()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    client = after.ru_utime + after.ru_stime - children.ru_utime - children.ru_stime
    found = re.search(r"tps = ([\d.]+)", output)
    if not found:
        raise SystemExit(f"pgbench failed:\n{output}")
    tps = float(found.group(1))
    transactions = tps * (ended - started)
    per: dict[str, float] = {}
    for key, value in last.items():
        per[key[0]] = per.get(key[0], 0.0) + value - first.get(key, value)
    print(f"tps {tps:.0f}; window {ended - started:.1f} s; load {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    for name, seconds in sorted(per.items(), key=lambda item: -item[1]):
        print(f"  {name:10s} {seconds:6.2f} s CPU  {1e6 * seconds / transactions:8.1f} us/transaction")
    total = sum(per.values())
    print(f"  {'total':10s} {total:6.2f} s CPU  {1e6 * total / transactions:8.1f} us/transaction")
    # pgbench's own CPU over its whole run (connections included), per transaction of the run
    run_transactions = float(found2.group(1)) if (found2 := re.search(r"processed: (\d+)", output)) else transactions
    print(f"  {'pgbench':10s} {client:6.2f} s CPU  {1e6 * client / run_transactions:8.1f} us/transaction "
          "(whole run)")


if __name__ == "__main__":
    main()
