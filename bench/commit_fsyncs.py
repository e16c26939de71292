"""Durable steps of a 2PC commit: WAL fsyncs per transaction on the datanodes and latency,
with the commit marker (txn/marker.py) and with the GTM's decision, alternated.

    python bench/commit_fsyncs.py [--transactions N] [--rounds R] [--port P]

Starts a small cluster (GTM, 1 coordinator, 2 datanode groups, no standbys) in a temporary
directory, restarted for each mode with GRIDPG_COMMIT_MARKERS=on|off; one client runs N
transactions `UPDATE fs ... WHERE id = 1; UPDATE fs ... WHERE id = 3` (id 1 on dn1, id 3
on dn2: every one a 2PC commit). WAL fsyncs are pg_stat_io's (object wal, every backend
type) summed over both datanodes, before and after. The GTM's own fsync (its decision's
SQLite commit, GTM path only) is not in these counts. Prints one line per mode and round,
with the load average: latency on a shared machine is only comparable within a round.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path

import psycopg

SRC = str(Path(__file__).resolve().parent.parent / "src")
TWO_NODES = ("UPDATE fs SET v = v + 1 WHERE id = 1", "UPDATE fs SET v = v + 1 WHERE id = 3")


def gridpg(directory: Path, *args: str, env: dict[str, str] | None = None) -> None:
    subprocess.run([sys.executable, "-m", "gridpg", *args, "--dir", str(directory)],
                   env={**os.environ, "PYTHONPATH": SRC, **(env or {})}, check=True, capture_output=True)


def wal_fsyncs(dsns: list[str]) -> int:
    total = 0
    for dsn in dsns:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute("SELECT pg_stat_force_next_flush()")
            row = conn.execute("SELECT coalesce(sum(fsyncs), 0) FROM pg_stat_io WHERE object = 'wal'").fetchone()
            total += int(row[0]) if row else 0
    return total


def measure(directory: Path, mode: str, transactions: int) -> str:
    gridpg(directory, "down")
    gridpg(directory, "up", env={"GRIDPG_COMMIT_MARKERS": mode})
    topology = tomllib.loads((directory / "gridpg.toml").read_text())
    password = (directory / "superuser.password").read_text().strip()
    base = f"host=127.0.0.1 user=postgres password={password} dbname=postgres"
    datanodes = [f"{base} port={m['port']}" for g in topology["group"] for m in g["member"] if m["role"] == "primary"]
    with psycopg.connect(f"{base} port={topology['coordinator'][0]['port']}", autocommit=True) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS fs (id int PRIMARY KEY, v int) DISTRIBUTE BY HASH (id)")
        conn.execute("INSERT INTO fs SELECT g, 0 FROM generate_series(1, 20) g ON CONFLICT DO NOTHING")
        for _ in range(5):  # the coordinator makes sure of the marker tables meanwhile
            with conn.transaction():
                for sql in TWO_NODES:
                    conn.execute(sql)
        time.sleep(1.5)
        before, latencies = wal_fsyncs(datanodes), []
        for _ in range(transactions):
            started = time.perf_counter()
            with conn.transaction():
                for sql in TWO_NODES:
                    conn.execute(sql)
            latencies.append(time.perf_counter() - started)
        time.sleep(1.5)  # the markers' batched deletes are counted too
        after = wal_fsyncs(datanodes)
    load = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    return (f"markers={mode}: {(after - before) / transactions:.2f} WAL fsyncs per transaction on the "
            f"datanodes; latency p50 {statistics.median(latencies) * 1000:.2f} ms, mean "
            f"{statistics.mean(latencies) * 1000:.2f} ms (N={transactions}, load {load})")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--transactions", type=int, default=200)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--port", type=int, default=26431, help="the coordinator's port")
    args = ap.parse_args()
    directory = Path(tempfile.mkdtemp(prefix="gridpg-fsyncs-")) / "cluster"
    try:
        gridpg(directory, "up", "--coordinators", "1", "--port", str(args.port))
        for _ in range(args.rounds):
            for mode in ("off", "on"):
                print(measure(directory, mode, args.transactions), flush=True)
    finally:
        gridpg(directory, "down")
        shutil.rmtree(directory.parent, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
