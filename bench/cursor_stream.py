"""Time to the first rows and coordinator memory of a server-side cursor over a big table.

A psycopg named cursor (`DECLARE ... CURSOR FOR`, then `FETCH FORWARD itersize`) and a
JDBC-style portal executed with a row limit, over a HASH table of `--rows` rows, through
gridpg and through a plain PostgreSQL in the same run. For each case: seconds to the first
`fetchmany(10)`, seconds to read every row, and the RSS of the gridpg coordinator's
processes before and at the first rows (read from /proc; plain PostgreSQL's backend is not
measured).

    python bench/cursor_stream.py --gridpg-dsn postgresql://...:8400/postgres \
        --plain-dsn postgresql://...:8540/postgres --coordinator-dir /tmp/c --rows 1000000

`--setup` (re)creates and loads the tables first (COPY, 100-byte text per row).
"""

from __future__ import annotations

import argparse
import subprocess
import time
from collections.abc import Callable

import psycopg

QUERIES = {
    "multi-node, unordered": "SELECT * FROM cur_big",
    "multi-node, ORDER BY id": "SELECT * FROM cur_big ORDER BY id",
    "one node (routed)": "SELECT * FROM cur_one WHERE k = 7",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gridpg-dsn", required=True)
    parser.add_argument("--plain-dsn")
    parser.add_argument("--coordinator-dir", help="cluster directory, to find its coordinator's processes")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--itersize", type=int, default=100)
    parser.add_argument("--setup", action="store_true")
    parser.add_argument("--skip", action="append", default=[], help="a case's name to leave out")
    args = parser.parse_args()
    targets = [("gridpg", args.gridpg_dsn)] + ([("plain", args.plain_dsn)] if args.plain_dsn else [])
    if args.setup:
        for name, dsn in targets:
            setup(dsn, args.rows, distributed=name == "gridpg")
    rss = (lambda: coordinator_rss(args.coordinator_dir)) if args.coordinator_dir else (lambda: 0.0)
    for case, query in QUERIES.items():
        if case in args.skip:
            continue
        for name, dsn in targets:
            measure = rss if name == "gridpg" else (lambda: 0.0)
            named = named_cursor(dsn, query, args.itersize, measure)
            limited = row_limited_portal(dsn, query, args.itersize, measure)
            print(f"{case:26} {name:7} named cursor: first rows {named[0]:7.3f} s, all {named[1]:7.2f} s, "
                  f"{named[2]} rows, RSS {named[3]:.0f} -> {named[4]:.0f} MB | "
                  f"row-limited Execute: first rows {limited[0]:7.3f} s, all {limited[1]:7.2f} s, {limited[2]} rows, "
                  f"RSS {limited[3]:.0f} -> {limited[4]:.0f} MB",
                  flush=True)


def setup(dsn: str, rows: int, distributed: bool) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS cur_big, cur_one")
        hashed = " DISTRIBUTE BY HASH (id)" if distributed else ""
        conn.execute(f"CREATE TABLE cur_big (id int, v text){hashed}")
        keyed = " DISTRIBUTE BY HASH (k)" if distributed else ""
        conn.execute(f"CREATE TABLE cur_one (k int, id int, v text){keyed}")
        pad = "x" * 100
        with conn.cursor() as cur, cur.copy("COPY cur_big FROM STDIN") as copy:
            for start in range(1, rows + 1, 10_000):
                copy.write("".join(f"{i}\t{pad}\n" for i in range(start, min(rows, start + 9_999) + 1)))
        with conn.cursor() as cur, cur.copy("COPY cur_one FROM STDIN") as copy:
            for start in range(1, rows // 4 + 1, 10_000):
                copy.write("".join(f"7\t{i}\t{pad}\n" for i in range(start, min(rows // 4, start + 9_999) + 1)))
        conn.execute("ANALYZE cur_big")
        conn.execute("ANALYZE cur_one")


def named_cursor(dsn: str, query: str, itersize: int, rss: Callable[[], float]) -> tuple[float, float, int, float, float]:
    """A psycopg server-side cursor: (first rows s, all rows s, rows, RSS before, RSS at first rows)."""
    with psycopg.connect(dsn) as conn:
        before = rss()
        started = time.monotonic()
        with conn.cursor(name="bench_cursor") as cur:
            cur.itersize = itersize
            cur.execute(query)
            first = cur.fetchmany(10)
            first_at = time.monotonic() - started
            at_first = rss()
            count = len(first) + sum(1 for _ in cur)
        done_at = time.monotonic() - started
        conn.rollback()
    return first_at, done_at, count, before, at_first


def row_limited_portal(dsn: str, query: str, fetch: int, rss: Callable[[], float]) -> tuple[float, float, int, float, float]:
    """A portal executed `fetch` rows at a time (pgJDBC's setFetchSize; asyncpg's cursor
    sends Bind, then Execute with max_rows = prefetch), in a transaction block."""
    import asyncio

    import asyncpg

    async def run() -> tuple[float, float, int, float, float]:
        conn = await asyncpg.connect(dsn)
        try:
            before = rss()
            async with conn.transaction():
                started = time.monotonic()
                cursor = await conn.cursor(query)
                first = await cursor.fetch(10)
                first_at = time.monotonic() - started
                at_first = rss()
                count = len(first)
                while True:
                    more = await cursor.fetch(fetch)
                    if not more:
                        break
                    count += len(more)
                done_at = time.monotonic() - started
        finally:
            await conn.close()
        return first_at, done_at, count, before, at_first

    return asyncio.run(run())


def coordinator_rss(directory: str) -> float:
    """MB of resident memory of the cluster's coordinator processes (the largest one)."""
    found = subprocess.run(["pgrep", "-f", f"gridpg coordinator --dir {directory}"],
                           check=False, capture_output=True, text=True).stdout.split()
    sizes = []
    for pid in found:
        try:
            with open(f"/proc/{pid}/status") as status:
                for line in status:
                    if line.startswith("VmRSS:"):
                        sizes.append(int(line.split()[1]) / 1024)
        except OSError:
            continue
    return max(sizes, default=0.0)


if __name__ == "__main__":
    main()
