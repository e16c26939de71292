"""TRUNCATE between tests: its latency and the next statement's, on two coordinators.

    python bench/truncate_latency.py DSN_A DSN_B [--rounds 20]

Test suites and ORMs (Django's flush, Rails' and pytest fixtures' cleaners) empty their
tables between tests with TRUNCATE. Each round fills a HASH table `t` (serial key) and a
replicated table with a few rows, then times, from the client (psycopg, autocommit):

- `TRUNCATE t, r` on coordinator A;
- the next statement on A (`INSERT ... RETURNING id`, which also reads the sequence);
- the next statement on B (`SELECT count(*) FROM t`), a session opened before;

once for a plain TRUNCATE and once for `TRUNCATE ... RESTART IDENTITY CASCADE` (and once
with `SELECT 1` in its place: the next statements' cost without a TRUNCATE). The
metadata epoch (each bump makes every coordinator worker reload its catalog) is read
before and after from `gridpg.coordinator_state`. Prints medians; records nothing (copy
the lines into bench/RESULTS.md with the command).
"""

from __future__ import annotations

import argparse
import statistics
import time

import psycopg


def epoch(conn: psycopg.Connection) -> int:
    return int(conn.execute("SELECT max(epoch) FROM gridpg.coordinator_state").fetchone()[0])


def timed(conn: psycopg.Connection, sql: str) -> float:
    start = time.perf_counter()
    conn.execute(sql)
    return (time.perf_counter() - start) * 1000


def run(a: psycopg.Connection, b: psycopg.Connection, rounds: int, truncate: str) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {"truncate": [], "next_same": [], "next_other": []}
    for _ in range(rounds):
        a.execute("INSERT INTO gp_trunc.t (v) SELECT 'x' FROM generate_series(1, 20)")
        a.execute("INSERT INTO gp_trunc.r SELECT g FROM generate_series(1, 5) g ON CONFLICT DO NOTHING")
        b.execute("SELECT count(*) FROM gp_trunc.t")
        out["truncate"].append(timed(a, truncate))
        out["next_same"].append(timed(a, "INSERT INTO gp_trunc.t (v) VALUES ('y') RETURNING id"))
        out["next_other"].append(timed(b, "SELECT count(*) FROM gp_trunc.t"))
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("dsn_a")
    ap.add_argument("dsn_b")
    ap.add_argument("--rounds", type=int, default=20)
    args = ap.parse_args()
    a = psycopg.connect(args.dsn_a, autocommit=True)
    b = psycopg.connect(args.dsn_b, autocommit=True)
    a.execute("DROP SCHEMA IF EXISTS gp_trunc CASCADE")
    a.execute("CREATE SCHEMA gp_trunc")
    a.execute("CREATE TABLE gp_trunc.t (id serial PRIMARY KEY, v text)")
    a.execute("CREATE TABLE gp_trunc.r (k int PRIMARY KEY) DISTRIBUTE BY REPLICATION")
    for label, sql in (("none", "SELECT 1"), ("plain", "TRUNCATE gp_trunc.t, gp_trunc.r"),
                       ("restart", "TRUNCATE gp_trunc.t, gp_trunc.r RESTART IDENTITY CASCADE")):
        before = epoch(a)
        figures = run(a, b, args.rounds, sql)
        bumps = epoch(a) - before
        medians = "  ".join(f"{k} {statistics.median(v):.1f} ms" for k, v in figures.items())
        print(f"{label:8} {medians}  epoch bumps {bumps} in {args.rounds} rounds")
    a.execute("DROP SCHEMA gp_trunc CASCADE")


if __name__ == "__main__":
    main()
