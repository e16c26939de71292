"""TPC-H on gridpg against one plain PostgreSQL from the same binaries (opt-in, not in CI).

    pip install '.[bench]'        # tpchgen-cli, psycopg
    python bench/tpch.py [--scale 0.1] [--timeout 120] [--queries 1,3,17] [--keep] [--no-record]

Data comes from `tpchgen-cli` (pipe-separated .tbl files) at --scale. A fresh gridpg cluster
(2 coordinators, 2 datanode groups, started with `gridpg.cluster.control.Cluster`) gets the
tables distributed as users would: lineitem/orders by orderkey, customer by custkey,
part/partsupp by partkey, supplier by suppkey, nation/region replicated. A plain
PostgreSQL (same binaries, the datanodes' settings) gets the same tables, rows and indexes
(primary keys, and the foreign-key indexes in INDEXES). Both are ANALYZEd. The 22 queries (`bench/tpch_queries/qNN.sql`, validation substitution
parameters; Q15's view written as a CTE; ORDER BYs completed with a key where the
specification leaves ties, so the rows compare in order) run on both; each query's rows
must be equal (in order when it has ORDER BY, else as multisets; numbers within 1e-9
relative). Recorded in bench/RESULTS.md: per query the times, the ratio, the gridpg
plan (EXPLAIN's strategy and what moves, `strategy_summary`) and whether the rows agree; totals; machine and load.

A query that runs longer than --timeout seconds is cancelled (then, if it does not stop
within a grace period, its connection is closed) and recorded as a timeout.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import threading
import time
import traceback
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402
from common import Env, fenced, log  # noqa: E402

QUERIES = Path(__file__).resolve().parent / "tpch_queries"

# (table, columns DDL, distribution clause); column order = the .tbl field order.
TABLES = [
    ("region", "r_regionkey int PRIMARY KEY, r_name char(25) NOT NULL, r_comment varchar(152)",
     "REPLICATION"),
    ("nation", "n_nationkey int PRIMARY KEY, n_name char(25) NOT NULL, n_regionkey int NOT NULL, "
     "n_comment varchar(152)", "REPLICATION"),
    ("part", "p_partkey int PRIMARY KEY, p_name varchar(55) NOT NULL, p_mfgr char(25) NOT NULL, "
     "p_brand char(10) NOT NULL, p_type varchar(25) NOT NULL, p_size int NOT NULL, "
     "p_container char(10) NOT NULL, p_retailprice numeric(15,2) NOT NULL, "
     "p_comment varchar(23) NOT NULL", "HASH (p_partkey)"),
    ("supplier", "s_suppkey int PRIMARY KEY, s_name char(25) NOT NULL, "
     "s_address varchar(40) NOT NULL, s_nationkey int NOT NULL, s_phone char(15) NOT NULL, "
     "s_acctbal numeric(15,2) NOT NULL, s_comment varchar(101) NOT NULL", "HASH (s_suppkey)"),
    ("partsupp", "ps_partkey int NOT NULL, ps_suppkey int NOT NULL, ps_availqty int NOT NULL, "
     "ps_supplycost numeric(15,2) NOT NULL, ps_comment varchar(199) NOT NULL, "
     "PRIMARY KEY (ps_partkey, ps_suppkey)", "HASH (ps_partkey)"),
    ("customer", "c_custkey int PRIMARY KEY, c_name varchar(25) NOT NULL, "
     "c_address varchar(40) NOT NULL, c_nationkey int NOT NULL, c_phone char(15) NOT NULL, "
     "c_acctbal numeric(15,2) NOT NULL, c_mktsegment char(10) NOT NULL, "
     "c_comment varchar(117) NOT NULL", "HASH (c_custkey)"),
    ("orders", "o_orderkey int PRIMARY KEY, o_custkey int NOT NULL, o_orderstatus char(1) NOT NULL, "
     "o_totalprice numeric(15,2) NOT NULL, o_orderdate date NOT NULL, "
     "o_orderpriority char(15) NOT NULL, o_clerk char(15) NOT NULL, "
     "o_shippriority int NOT NULL, o_comment varchar(79) NOT NULL", "HASH (o_orderkey)"),
    ("lineitem", "l_orderkey int NOT NULL, l_partkey int NOT NULL, l_suppkey int NOT NULL, "
     "l_linenumber int NOT NULL, l_quantity numeric(15,2) NOT NULL, "
     "l_extendedprice numeric(15,2) NOT NULL, l_discount numeric(15,2) NOT NULL, "
     "l_tax numeric(15,2) NOT NULL, l_returnflag char(1) NOT NULL, l_linestatus char(1) NOT NULL, "
     "l_shipdate date NOT NULL, l_commitdate date NOT NULL, l_receiptdate date NOT NULL, "
     "l_shipinstruct char(25) NOT NULL, l_shipmode char(10) NOT NULL, "
     "l_comment varchar(44) NOT NULL, PRIMARY KEY (l_orderkey, l_linenumber)", "HASH (l_orderkey)"),
]

# Indexes on foreign-key columns, as TPC-H allows and PostgreSQL kits create them (both systems).
INDEXES = [
    "CREATE INDEX ON lineitem (l_partkey, l_suppkey)",
    "CREATE INDEX ON orders (o_custkey)",
    "CREATE INDEX ON partsupp (ps_suppkey)",
    "CREATE INDEX ON customer (c_nationkey)",
    "CREATE INDEX ON supplier (s_nationkey)",
    "CREATE INDEX ON nation (n_regionkey)",
]

REL_TOL = Decimal("1e-9")


@dataclass
class Outcome:
    """One query on one system: seconds (best of the runs), rows, or what went wrong."""

    seconds: float | None = None
    rows: list[tuple[Any, ...]] | None = None
    error: str | None = None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=0.1)
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds per query")
    parser.add_argument("--queries", default="", help="comma-separated numbers (default: all 22)")
    parser.add_argument("--keep", action="store_true", help="keep the cluster directory")
    parser.add_argument("--no-record", action="store_true", help="do not append to RESULTS.md")
    args = parser.parse_args()
    numbers = [int(q) for q in args.queries.split(",") if q.strip()] or list(range(1, 23))
    info = common.machine_info()
    data_dir = generate(args.scale)
    with common.environment(keep=args.keep) as env:
        try:
            load_both(env, data_dir)
            results = run_queries(env, numbers, args.scale, args.timeout)
        except Exception:  # noqa: BLE001 - a failed run is recorded as a failure
            text = traceback.format_exc()
            log(text)
            if not args.no_record:
                common.append_results(f"TPC-H scale {args.scale}: FAILED", fenced(text)
                                      + "\n\ncoordinator log tail:\n" + fenced(env.coord_log_tail()))
            return 1
    body = report(results, args, info)
    plot = plot_tpch(results, args.scale, info)
    if plot is not None:
        rel = plot.relative_to(common.BENCH_DIR)
        body += f"\n\nPlot: [{rel}]({rel})"
    print(body)
    if not args.no_record:
        common.append_results(f"TPC-H scale {args.scale}, gridpg vs plain PostgreSQL", body)
    agree = all(r[3] == "yes" for r in results)
    return 0 if agree else 2


# -- data ------------------------------------------------------------------------------


def generate(scale: float) -> Path:
    out = Path(f"/tmp/gridpg-tpch-sf{scale:g}")
    if all((out / f"{t}.tbl").exists() for t, _, _ in TABLES):
        log(f"reusing TPC-H data in {out}")
        return out
    t0 = time.monotonic()
    subprocess.run(["tpchgen-cli", "-s", f"{scale:g}", f"--output-dir={out}"], check=True)
    log(f"tpchgen-cli scale {scale:g} in {time.monotonic() - t0:.1f} s")
    return out


def load_both(env: Env, data_dir: Path) -> None:
    for target, distributed in ((env.plain_dsn, False), (env.gridpg_dsn(0), True)):
        t0 = time.monotonic()
        load(target, data_dir, distributed)
        log(f"loaded {'gridpg' if distributed else 'plain'} in {time.monotonic() - t0:.1f} s")


def load(dsn: str, data_dir: Path, distributed: bool) -> None:
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as conn:
        for name, columns, dist in TABLES:
            ddl = f"CREATE TABLE {name} ({columns})"
            conn.execute(ddl + (f" DISTRIBUTE BY {dist}" if distributed else ""))
        for name, _, _ in TABLES:
            data = (data_dir / f"{name}.tbl").read_bytes().replace(b"|\n", b"\n")
            with conn.cursor() as cur, cur.copy(f"COPY {name} FROM STDIN (DELIMITER '|')") as copy:
                for start in range(0, len(data), 1 << 20):
                    copy.write(data[start : start + (1 << 20)])
        for ddl in INDEXES:
            conn.execute(ddl)
        for name, _, _ in TABLES:
            conn.execute(f"ANALYZE {name}")


# -- queries ---------------------------------------------------------------------------


def query_text(number: int, scale: float) -> str:
    text = (QUERIES / f"q{number:02d}.sql").read_text()
    return text.replace("%FRACTION%", repr(0.0001 / scale))


def run_queries(env: Env, numbers: list[int], scale: float,
                timeout: float) -> list[tuple[int, Outcome, Outcome, str, str]]:
    out = []
    for number in numbers:
        sql = query_text(number, scale)
        plain = timed(env.plain_dsn, sql, timeout, runs=2)
        grid = timed(env.gridpg_dsn(0), sql, timeout, runs=1)
        if grid.seconds is not None and grid.seconds < 5:
            again = timed(env.gridpg_dsn(0), sql, timeout, runs=1)
            if again.seconds is not None:
                grid.seconds = min(grid.seconds, again.seconds)
        agree = compare(plain, grid, has_order_by(sql))
        strategy = explain_strategy(env.gridpg_dsn(0), sql, timeout)
        log(f"q{number:02d}: plain {fmt(plain)}  gridpg {fmt(grid)}  equal={agree}  {strategy}")
        out.append((number, plain, grid, agree, strategy))
    return out


def timed(dsn: str, sql: str, timeout: float, runs: int) -> Outcome:
    import psycopg

    best = Outcome()
    for _ in range(runs):
        with psycopg.connect(dsn, autocommit=True) as conn:
            outcome = run_with_timeout(conn, sql, timeout)
        if outcome.error is not None:
            return outcome
        if best.seconds is None or (outcome.seconds or 0) < best.seconds:
            best = outcome
    return best


def run_with_timeout(conn: Any, sql: str, timeout: float) -> Outcome:
    """Run `sql`; cancel it after `timeout` s, close the connection if it still runs 15 s later."""
    fired: list[str] = []

    def cancel() -> None:
        fired.append("cancel")
        conn.cancel()

    def close() -> None:
        fired.append("close")
        conn.pgconn.finish()

    timers = [threading.Timer(timeout, cancel), threading.Timer(timeout + 15, close)]
    for timer in timers:
        timer.daemon = True
        timer.start()
    t0 = time.monotonic()
    try:
        rows = conn.execute(sql).fetchall()
        return Outcome(time.monotonic() - t0, [tuple(r) for r in rows])
    except Exception as exc:  # noqa: BLE001 - recorded
        if fired:
            return Outcome(error=f"timeout after {timeout:g} s")
        return Outcome(error=f"{type(exc).__name__}: {str(exc).strip().splitlines()[0]}")
    finally:
        for timer in timers:
            timer.cancel()


def explain_strategy(dsn: str, sql: str, timeout: float) -> str:
    """The gridpg plan the query runs, summed up from its EXPLAIN (`strategy_summary`)."""
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as conn:
        outcome = run_with_timeout(conn, "EXPLAIN " + without_comments(sql), timeout)
    if outcome.error:
        return f"EXPLAIN failed: {outcome.error}"
    return strategy_summary([str(r[0]) for r in outcome.rows or []]) or "?"


def without_comments(sql: str) -> str:
    return "\n".join(line for line in sql.splitlines() if not line.startswith("--"))


def strategy_summary(lines: list[str]) -> str:
    """EXPLAIN's first line without its prefix, then what moves: `[broadcast part,
    customer; repartition orders; 2 subplans; key filter lineitem.l_partkey]`. A plan
    that takes the coordinator finish anywhere says COORDINATOR FINISH."""
    if not lines:
        return ""
    head = lines[0].removeprefix("Distributed plan: ")
    moves: dict[str, list[str]] = {"broadcast": [], "repartition": [], "key filter": []}
    subplans = 0
    for line in lines[1:]:
        words = line.strip().replace("DISTINCT ", "").split()
        if line.startswith(("  Broadcast ", "  Repartition ")) and len(words) > 1:
            moves[words[0].lower()].append(words[1].removeprefix("public."))
        elif line.startswith("  Key filter: ") and len(words) > 2:
            moves["key filter"].append(words[2])
        elif line.startswith("  Subplan "):
            subplans += 1
    parts = [f"{kind} {', '.join(dict.fromkeys(names))}" for kind, names in moves.items() if names]
    if subplans:
        parts.insert(0, f"{subplans} subplan{'s' if subplans > 1 else ''}")
    if any("coordinator-finish" in line for line in lines):
        parts.insert(0, "COORDINATOR FINISH")
    return head + (f" [{'; '.join(parts)}]" if parts else "")


def has_order_by(sql: str) -> bool:
    body = without_comments(sql)
    depth = 0
    last = -1
    for match in re.finditer(r"\(|\)|\border\s+by\b", body, re.IGNORECASE):
        token = match.group()
        depth += {"(": 1, ")": -1}.get(token, 0)
        if token not in "()" and depth == 0:
            last = match.start()
    return last >= 0


def compare(plain: Outcome, grid: Outcome, ordered: bool) -> str:
    if plain.error or plain.rows is None:
        return "n/a (plain failed)"
    if grid.error or grid.rows is None:
        return "no (timeout)" if grid.error and grid.error.startswith("timeout") else "no (error)"
    if len(plain.rows) != len(grid.rows):
        return "no"
    left, right = plain.rows, grid.rows
    if not ordered:
        left, right = sorted(left, key=repr), sorted(right, key=repr)
    return "yes" if all(rows_equal(a, b) for a, b in zip(left, right)) else "no"


def rows_equal(a: tuple[Any, ...], b: tuple[Any, ...]) -> bool:
    if len(a) != len(b):
        return False
    for x, y in zip(a, b):
        if isinstance(x, (Decimal, float)) and isinstance(y, (Decimal, float)):
            dx, dy = Decimal(str(x)), Decimal(str(y))
            if abs(dx - dy) > REL_TOL * max(Decimal(1), abs(dx)):
                return False
        elif x != y:
            return False
    return True


# -- report ----------------------------------------------------------------------------


def fmt(outcome: Outcome) -> str:
    return f"{outcome.seconds:.3f} s" if outcome.seconds is not None else f"[{outcome.error}]"


def report(results: list[tuple[int, Outcome, Outcome, str, str]], args: argparse.Namespace,
           info: dict[str, str]) -> str:
    lines = [
        f"- command: `{common.command_line()}`",
        common.machine_markdown(info).rstrip(),
        "- gridpg: 2 coordinators, 2 datanode groups; lineitem/orders by orderkey, customer by "
        "custkey, part/partsupp by partkey, supplier by suppkey, nation/region replicated",
        "- times: plain best of 2 runs; gridpg one run (best of 2 when under 5 s); "
        f"timeout {args.timeout:g} s per query",
        "",
        "| query | plain s | gridpg s | ratio | rows equal | gridpg plan (EXPLAIN: strategy [what moves]) |",
        "|---|---|---|---|---|---|",
    ]
    total_plain = total_grid = 0.0
    complete = True
    for number, plain, grid, agree, strategy in results:
        ratio = "-"
        if plain.seconds is not None and grid.seconds is not None:
            ratio = f"{grid.seconds / max(plain.seconds, 1e-6):.1f}x"
            total_plain += plain.seconds
            total_grid += grid.seconds
        else:
            complete = False
        lines.append(f"| q{number:02d} | {fmt(plain)} | {fmt(grid)} | {ratio} | {agree} | "
                     f"{strategy.replace('|', '/')} |")
    equal = sum(1 for r in results if r[3] == "yes")
    note = "" if complete else " (queries that failed or timed out are left out of both totals)"
    lines += [
        "",
        f"Total: plain {total_plain:.2f} s, gridpg {total_grid:.2f} s, "
        f"ratio {total_grid / max(total_plain, 1e-6):.1f}x{note}; "
        f"rows equal on {equal} of {len(results)} queries.",
    ]
    return "\n".join(lines)


def plot_tpch(results: list[tuple[int, Outcome, Outcome, str, str]], scale: float,
              info: dict[str, str], out: Path | None = None) -> Path | None:
    """bench/plots/tpch_sf<scale>.png: per query the seconds of both systems (log scale),
    and gridpg's ratio against the issue's 3x line (and 1x). None without matplotlib."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        log("matplotlib is not installed: no plot")
        return None
    timed = [(n, p.seconds, g.seconds) for n, p, g, _, _ in results if p.seconds and g.seconds]
    if not timed:
        return None
    names = [f"q{n:02d}" for n, _, _ in timed]
    xs = range(len(timed))
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(11, 7.5), sharex=True)
    top.bar([x - 0.2 for x in xs], [p for _, p, _ in timed], width=0.4, label="plain PostgreSQL", color="#4a7ebb")
    top.bar([x + 0.2 for x in xs], [g for _, _, g in timed], width=0.4, label="gridpg (2 datanodes)", color="#e07b39")
    top.set_yscale("log")
    top.set_ylabel("seconds (log scale)")
    top.legend(fontsize=8)
    top.grid(axis="y", alpha=0.3, which="both")
    ratios = [g / p for _, p, g in timed]
    colors = ["#d9534f" if r > 3 else "#f0ad4e" if r > 2 else "#2e8b57" for r in ratios]
    bottom.bar(list(xs), ratios, color=colors, width=0.6)
    for x, r in zip(xs, ratios):
        bottom.text(x, r + 0.05, f"{r:.1f}", ha="center", fontsize=7)
    bottom.axhline(3.0, color="#8b0000", linestyle="--", label="limit: 3x")
    bottom.axhline(1.0, color="black", linewidth=0.8, label="as fast as plain")
    bottom.set_ylabel("gridpg / plain")
    bottom.set_xticks(list(xs), names, rotation=45, fontsize=8)
    bottom.legend(fontsize=8, loc="upper left")
    bottom.grid(axis="y", alpha=0.3)
    plain_total, grid_total = sum(p for _, p, _ in timed), sum(g for _, _, g in timed)
    stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    fig.suptitle(f"TPC-H SF{scale:g}: gridpg vs plain PostgreSQL, total {grid_total:.1f} s vs {plain_total:.1f} s "
                 f"= {grid_total / plain_total:.2f}x\n{stamp}, nproc {info.get('nproc', '?')}, "
                 f"load {info.get('load_start', '?')} -> {common.loadavg()}", fontsize=10)
    fig.tight_layout()
    path = out or common.BENCH_DIR / "plots" / f"tpch_sf{scale:g}.png"
    path.parent.mkdir(exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


if __name__ == "__main__":
    sys.exit(main())
