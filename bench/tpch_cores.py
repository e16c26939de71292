"""TPC-H per query: gridpg (2 datanodes) against plain PostgreSQL with and without its
parallel workers (opt-in, not in CI): how gridpg compares with one PostgreSQL per core.

    python bench/tpch_cores.py --gridpg-dsn DSN --plain-dsn DSN --scale 1 [--queries 1,8] [--runs 3]

Runs against a cluster and a plain PostgreSQL kept by `bench/tpch.py --keep` (loaded at
--scale). Per query, interleaved so that other load on the machine falls on all three
alike, best of --runs: plain PostgreSQL as configured (parallel query on: up to 2 workers
per Gather, i.e. up to 3 processes on the machine's cores), plain PostgreSQL with
`max_parallel_workers_per_gather = 0` (one process: one core), and gridpg (2 datanode
groups, each running its part in its own backend, parallel query as configured). Prints a
markdown table and the totals.
"""

from __future__ import annotations

import argparse
import sys
import urllib.parse
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: F401 - puts this checkout's src/ first on the path
import tpch


def with_option(dsn: str, option: str) -> str:
    sep = "&" if "?" in dsn else "?"
    return f"{dsn}{sep}options={urllib.parse.quote(option)}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--gridpg-dsn", required=True)
    parser.add_argument("--plain-dsn", required=True)
    parser.add_argument("--scale", type=float, required=True)
    parser.add_argument("--queries", default="")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--timeout", type=float, default=120.0)
    args = parser.parse_args()
    numbers = [int(q) for q in args.queries.split(",") if q.strip()] or list(range(1, 23))
    serial = with_option(args.plain_dsn, "-c max_parallel_workers_per_gather=0")
    systems = {"plain": args.plain_dsn, "plain 1 core": serial, "gridpg": args.gridpg_dsn}
    totals = dict.fromkeys(systems, 0.0)
    print(f"load at start: {common.loadavg()}")
    print("| query | plain s | plain 1 core s | gridpg s | gridpg / plain | gridpg / plain 1 core |")
    print("|---|---|---|---|---|---|")
    for number in numbers:
        sql = tpch.query_text(number, args.scale)
        best: dict[str, float] = {}
        for _ in range(args.runs):
            for name, dsn in systems.items():
                outcome = tpch.timed(dsn, sql, args.timeout, runs=1)
                if outcome.seconds is not None:
                    best[name] = min(best.get(name, outcome.seconds), outcome.seconds)
        if len(best) < len(systems):
            print(f"| q{number:02d} | failed: {sorted(set(systems) - set(best))} | | | | |")
            continue
        for name in systems:
            totals[name] += best[name]
        p, s, g = best["plain"], best["plain 1 core"], best["gridpg"]
        print(f"| q{number:02d} | {p:.3f} | {s:.3f} | {g:.3f} | {g / p:.2f}x | {g / s:.2f}x |", flush=True)
    p, s, g = totals["plain"], totals["plain 1 core"], totals["gridpg"]
    print(f"| total | {p:.2f} | {s:.2f} | {g:.2f} | {g / p:.2f}x | {g / s:.2f}x |")
    print(f"load at end: {common.loadavg()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
