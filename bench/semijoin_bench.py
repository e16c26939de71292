"""Semi-joins, anti-joins and joins on no distribution column: gridpg against one plain
PostgreSQL from the same binaries (opt-in, not in CI).

    python bench/semijoin_bench.py [--rows 200000] [--runs 2] [--no-record] [--keep]
    python bench/semijoin_bench.py --gridpg-dsn DSN --plain-dsn DSN [--load]   # servers already up

Two tables of --rows rows each, hashed by their ids (`sj_sales` by sale_id, `sj_returns`
by ret_id), related by `shop`, a column neither is distributed by (NULLs on both sides,
keys on one side only). Each statement runs on both systems (best of --runs); the rows
must be equal (as multisets, in order where the statement orders them completely). With
DSNs given, the tables are made only with --load (so a cluster restarted on other code
is measured on the same data). gridpg's plan is recorded from EXPLAIN's first lines.
"""

from __future__ import annotations

import argparse
import sys
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common
from common import log

STATEMENTS = [
    ("exists", ("SELECT count(*), sum(s.amount) FROM sj_sales s "
               "WHERE EXISTS (SELECT 1 FROM sj_returns r WHERE r.shop = s.shop)")),
    ("not exists", ("SELECT count(*), sum(s.amount) FROM sj_sales s "
                   "WHERE NOT EXISTS (SELECT 1 FROM sj_returns r WHERE r.shop = s.shop)")),
    ("in", "SELECT count(*), sum(amount) FROM sj_sales WHERE shop IN (SELECT shop FROM sj_returns)"),
    ("exists, filtered", ("SELECT count(*) FROM sj_sales s WHERE s.amount % 3 = 0 AND "
                         "EXISTS (SELECT 1 FROM sj_returns r WHERE r.shop = s.shop AND r.reason <> 'damaged')")),
    ("join", "SELECT count(*), sum(s.amount + r.cost) FROM sj_sales s JOIN sj_returns r ON r.shop = s.shop"),
    ("exists, grouped by key", ("SELECT s.shop, count(*) FROM sj_sales s WHERE EXISTS "
                               "(SELECT 1 FROM sj_returns r WHERE r.shop = s.shop) GROUP BY s.shop "
                               "ORDER BY 2 DESC, 1 LIMIT 10")),
    ("exists, unique keys", ("SELECT count(*), sum(s.amount) FROM sj_sales s "
                            "WHERE EXISTS (SELECT 1 FROM sj_returns r WHERE r.ref = s.ref)")),
    ("not exists, unique keys", ("SELECT count(*), sum(s.amount) FROM sj_sales s "
                                "WHERE NOT EXISTS (SELECT 1 FROM sj_returns r WHERE r.ref = s.ref)")),
    ("in, unique keys", "SELECT count(*) FROM sj_sales WHERE ref IN (SELECT ref FROM sj_returns WHERE cost < 400)"),
    ("join, unique keys", "SELECT count(*), sum(s.amount + r.cost) FROM sj_sales s JOIN sj_returns r ON r.ref = s.ref"),
    ("not in (NULLs in the subquery)", "SELECT count(*) FROM sj_sales WHERE shop NOT IN (SELECT shop FROM sj_returns)"),
    ("not in (no NULLs)", ("SELECT count(*), sum(amount) FROM sj_sales "
                          "WHERE shop NOT IN (SELECT shop FROM sj_returns WHERE shop IS NOT NULL)")),
]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=200000)
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--gridpg-dsn")
    parser.add_argument("--plain-dsn")
    parser.add_argument("--load", action="store_true", help="with DSNs: (re)make the tables first")
    parser.add_argument("--label", default="", help="a word for the recorded section (before/after)")
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--no-record", action="store_true")
    args = parser.parse_args()
    info = common.machine_info()
    if args.gridpg_dsn and args.plain_dsn:
        if args.load:
            load(args.plain_dsn, args.rows, False)
            load(args.gridpg_dsn, args.rows, True)
        results = measure(args.gridpg_dsn, args.plain_dsn, args.runs)
    else:
        with common.environment(keep=args.keep) as env:
            load(env.plain_dsn, args.rows, False)
            load(env.gridpg_dsn(0), args.rows, True)
            results = measure(env.gridpg_dsn(0), env.plain_dsn, args.runs)
    info["load_end"] = common.loadavg()
    body = report(results, args, info)
    print(body)
    if not args.no_record:
        common.append_results(f"Semi-joins on no distribution column {args.label}".strip(), body)
    return 0 if all(r[3] for r in results) else 2


def load(dsn: str, rows: int, distributed: bool) -> None:
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS sj_sales, sj_returns")
        conn.execute("CREATE TABLE sj_sales (sale_id int PRIMARY KEY, shop int, amount int, region text, ref int)"
                     + (" DISTRIBUTE BY HASH (sale_id)" if distributed else ""))
        conn.execute("CREATE TABLE sj_returns (ret_id int PRIMARY KEY, shop int, cost int, reason text, ref int)"
                     + (" DISTRIBUTE BY HASH (ret_id)" if distributed else ""))
        # shops 0..49,999 sold in; returns for shops 0..79,999 (some never sold in); `ref`
        # nearly unique on both sides, half of the returns' refs a sale's; a NULL shop and
        # ref every 997th sale and every 1,009th return
        conn.execute(f"INSERT INTO sj_sales SELECT i, CASE WHEN i % 997 = 0 THEN NULL ELSE i % 50000 END, "
                     f"i % 1000, 'r' || (i % 7), CASE WHEN i % 997 = 0 THEN NULL ELSE i * 2 END "
                     f"FROM generate_series(1, {rows}) i")
        conn.execute(f"INSERT INTO sj_returns SELECT i, CASE WHEN i % 1009 = 0 THEN NULL ELSE (i * 7) % 80000 END, "
                     f"i % 500, CASE WHEN i % 5 = 0 THEN 'damaged' ELSE 'other' END, "
                     f"CASE WHEN i % 1009 = 0 THEN NULL ELSE i END FROM generate_series(1, {rows}) i")
        conn.execute("ANALYZE sj_sales")
        conn.execute("ANALYZE sj_returns")
    log(f"loaded {'gridpg' if distributed else 'plain'}: {rows} rows per table")


def timed(dsn: str, sql: str, runs: int) -> tuple[float, list[tuple[Any, ...]]]:
    import psycopg

    best = float("inf")
    rows: list[tuple[Any, ...]] = []
    with psycopg.connect(dsn, autocommit=True) as conn:
        for _ in range(runs):
            t0 = time.perf_counter()
            rows = conn.execute(sql).fetchall()
            best = min(best, time.perf_counter() - t0)
    return best, rows


def plan_of(dsn: str, sql: str) -> str:
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as conn:
        lines = [r[0] for r in conn.execute("EXPLAIN " + sql).fetchall()]
    head = lines[0].removeprefix("Distributed plan: ") if lines else ""
    moves = [line.strip().split(" to ")[0] for line in lines[1:]
             if line.startswith(("  Broadcast ", "  Repartition ", "  Partitioned by ", "  Gather from "))]
    return "; ".join([head, *moves])


def normal(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    return [tuple(float(v) if isinstance(v, Decimal) else v for v in row) for row in rows]


def measure(gridpg: str, plain: str, runs: int) -> list[tuple[str, float, float, bool, str]]:
    out = []
    for name, sql in STATEMENTS:
        plain_s, plain_rows = timed(plain, sql, runs)
        grid_s, grid_rows = timed(gridpg, sql, runs)
        ordered = "ORDER BY" in sql
        equal = normal(plain_rows) == normal(grid_rows) if ordered else \
            sorted(map(repr, normal(plain_rows))) == sorted(map(repr, normal(grid_rows)))
        plan = plan_of(gridpg, sql)
        log(f"{name}: plain {plain_s * 1000:.0f} ms, gridpg {grid_s * 1000:.0f} ms, equal={equal}: {plan}")
        out.append((name, plain_s, grid_s, equal, plan))
    return out


def report(results: list[tuple[str, float, float, bool, str]], args: argparse.Namespace, info: dict[str, str]) -> str:
    lines = [f"Command: `{common.command_line()}`", "",
             f"{args.rows} rows per table; best of {args.runs} runs; rows compared with plain PostgreSQL.", "",
             "| statement | plain ms | gridpg ms | ratio | rows equal | gridpg plan |", "|---|---:|---:|---:|---|---|"]
    for name, plain_s, grid_s, equal, plan in results:
        lines.append(f"| {name} | {plain_s * 1000:.0f} | {grid_s * 1000:.0f} | {grid_s / plain_s:.1f}x | "
                     f"{'yes' if equal else 'NO'} | {plan} |")
    lines += ["", common.machine_markdown(info)]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
