"""DDL latency: CREATE/ALTER/DROP through a coordinator against plain PostgreSQL.

    python bench/ddl_latency.py [--tables 200] [--rounds 15] [--gridpg DSN --plain DSN]
        [--coordinators N] [--json] [--no-record] [--keep-filler]

Every DDL through gridpg commits on every catalog server and datanode, bumps the metadata
epoch and waits until every coordinator process has reloaded its catalog; its cost grows
with the relations the cluster holds. So first `--tables` filler tables are made in schema
`gp_ddl_fill` on both systems (two in three HASH by default distribution, one in three
`DISTRIBUTE BY REPLICATION`, each with a primary key; kept between runs against running
servers, so a second run starts at once). Then `--rounds` rounds, plain PostgreSQL and
gridpg alternately (both see the same machine state), each timing one statement at a time
from the client (psycopg, autocommit):

- per table kind (`hash`: gridpg's default distribution, `replication`):
  `CREATE TABLE (i int PRIMARY KEY, v text)`, `ALTER TABLE ADD COLUMN`, `CREATE INDEX`,
  `DROP TABLE`;
- `CREATE VIEW` / `DROP VIEW` over a filler table (no table of its own);
- `block`: `BEGIN; CREATE TABLE; ALTER TABLE; CREATE INDEX; COMMIT` timed whole.

Plain PostgreSQL gets the same statements without the DISTRIBUTE BY clause. Prints the
median and 90th percentile per statement and the ratio of the medians; appends a section
to bench/RESULTS.md unless `--no-record`. Without both DSNs a fresh cluster and plain
PostgreSQL are started (bench/common.environment; GRIDPG_BENCH_PORTS=P pins their ports)
and stopped at the end.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import append_results, command_line, environment, log, machine_info, machine_markdown

FILL = "gp_ddl_fill"
WORK = "gp_ddl_bench"
KINDS = {"hash": "", "replication": " DISTRIBUTE BY REPLICATION"}


def filler_statements(tables: int, gridpg: bool) -> list[str]:
    out = []
    for i in range(tables):
        spread = " DISTRIBUTE BY REPLICATION" if gridpg and i % 3 == 2 else ""
        out.append(f"CREATE TABLE IF NOT EXISTS {FILL}.f{i} (id int PRIMARY KEY, a int, b text, c timestamptz){spread}")
    return out


def ensure_filler(conn: psycopg.Connection, tables: int, gridpg: bool) -> float:
    """Make the filler tables that are missing; seconds it took."""
    conn.execute(f"CREATE SCHEMA IF NOT EXISTS {FILL}")
    conn.execute(f"CREATE SCHEMA IF NOT EXISTS {WORK}")
    have = {r[0] for r in conn.execute(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = %s AND c.relkind IN ('r', 'p')", (FILL,))}
    started = time.perf_counter()
    for i, sql in enumerate(filler_statements(tables, gridpg)):
        if f"f{i}" not in have:
            conn.execute(sql)
    return time.perf_counter() - started


def round_statements(r: int, gridpg: bool) -> list[tuple[str, list[str]]]:
    """(label, statements timed together) of one round."""
    out: list[tuple[str, list[str]]] = []
    for kind, clause in KINDS.items():
        t = f"{WORK}.{kind[0]}{r}"
        out += [
            (f"{kind}: CREATE TABLE", [f"CREATE TABLE {t} (i int PRIMARY KEY, v text){clause if gridpg else ''}"]),
            (f"{kind}: ALTER TABLE ADD COLUMN", [f"ALTER TABLE {t} ADD COLUMN w int"]),
            (f"{kind}: CREATE INDEX", [f"CREATE INDEX {kind[0]}{r}_v ON {t} (v)"]),
            (f"{kind}: DROP TABLE", [f"DROP TABLE {t}"]),
        ]
    out += [
        ("CREATE VIEW", [f"CREATE VIEW {WORK}.v{r} AS SELECT id, b FROM {FILL}.f0 WHERE a > 0"]),
        ("DROP VIEW", [f"DROP VIEW {WORK}.v{r}"]),
        ("block: BEGIN; CREATE TABLE; ALTER; CREATE INDEX; COMMIT",
         ["BEGIN", f"CREATE TABLE {WORK}.k{r} (i int PRIMARY KEY, v text)", f"ALTER TABLE {WORK}.k{r} ADD COLUMN w int",
          f"CREATE INDEX k{r}_v ON {WORK}.k{r} (v)", "COMMIT"]),
        ("(untimed cleanup)", [f"DROP TABLE {WORK}.k{r}"]),
    ]
    return out


def run_round(conn: psycopg.Connection, r: int, gridpg: bool, times: dict[str, list[float]]) -> None:
    for label, statements in round_statements(r, gridpg):
        started = time.perf_counter()
        for sql in statements:
            conn.execute(sql)
        elapsed = time.perf_counter() - started
        if not label.startswith("("):
            times.setdefault(label, []).append(elapsed * 1000)


def measure(grid_dsn: str, plain_dsn: str, tables: int, rounds: int) -> dict[str, object]:
    grid = psycopg.connect(grid_dsn, autocommit=True)
    plain = psycopg.connect(plain_dsn, autocommit=True)
    try:
        for conn in (grid, plain):
            conn.execute(f"DROP SCHEMA IF EXISTS {WORK} CASCADE")
        log(f"filler: {tables} tables in {FILL} (made where missing)")
        fill = {"plain": ensure_filler(plain, tables, False), "gridpg": ensure_filler(grid, tables, True)}
        counts = {name: int(conn.execute(
            "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')").fetchone()[0])
            for name, conn in (("plain", plain), ("gridpg", grid))}
        times: dict[str, dict[str, list[float]]] = {"plain": {}, "gridpg": {}}
        started = {"plain": 0.0, "gridpg": 0.0}
        for r in range(rounds):
            for name, conn in (("plain", plain), ("gridpg", grid)):
                t0 = time.perf_counter()
                run_round(conn, r, name == "gridpg", times[name])
                started[name] += time.perf_counter() - t0
        for conn in (grid, plain):
            conn.execute(f"DROP SCHEMA IF EXISTS {WORK} CASCADE")
        return {"tables": tables, "rounds": rounds, "relations": counts, "filler_seconds": fill,
                "round_seconds": started, "times": times}
    finally:
        grid.close()
        plain.close()


def summarize(result: dict[str, object]) -> str:
    times = result["times"]  # type: ignore[index]
    lines = ["| statement | plain median ms | plain p90 | gridpg median ms | gridpg p90 | ratio |",
             "|---|---:|---:|---:|---:|---:|"]
    for label in times["gridpg"]:  # type: ignore[index]
        p, g = times["plain"][label], times["gridpg"][label]  # type: ignore[index]
        pm, gm = statistics.median(p), statistics.median(g)
        lines.append(f"| {label} | {pm:.2f} | {_p90(p):.2f} | {gm:.1f} | {_p90(g):.1f} | {gm / pm:.0f}x |")
    rounds = result["rounds"]
    secs = result["round_seconds"]  # type: ignore[index]
    statements = sum(len(s) for label, s in round_statements(0, True)) * int(rounds)  # type: ignore[arg-type]
    lines.append("")
    lines.append(f"- {rounds} rounds of {statements // int(rounds)} statements each: plain {secs['plain']:.2f} s, "  # type: ignore[arg-type]
                 f"gridpg {secs['gridpg']:.2f} s")
    rel = result["relations"]  # type: ignore[index]
    fill = result["filler_seconds"]  # type: ignore[index]
    lines.append(f"- relations in pg_class outside the system schemas (coord1's catalog server / plain): "
                 f"{rel['gridpg']} / {rel['plain']}; filler made in this run: gridpg {fill['gridpg']:.1f} s, "  # type: ignore[index]
                 f"plain {fill['plain']:.1f} s")
    return "\n".join(lines)


def _p90(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tables", type=int, default=200, help="filler tables (each with a primary key)")
    ap.add_argument("--rounds", type=int, default=15)
    ap.add_argument("--gridpg", help="a running gridpg's DSN (else a cluster is started)")
    ap.add_argument("--plain", help="a running plain PostgreSQL's DSN (with --gridpg)")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--no-record", action="store_true", help="do not append to bench/RESULTS.md")
    args = ap.parse_args()
    info = machine_info()
    if args.gridpg and args.plain:
        result = measure(args.gridpg, args.plain, args.tables, args.rounds)
    else:
        with environment() as env:
            result = measure(env.gridpg_dsn(0), env.plain_dsn, args.tables, args.rounds)
    table = summarize(result)
    print(json.dumps(result, indent=1) if args.json else table)
    if not args.no_record:
        append_results("DDL latency, gridpg vs plain PostgreSQL",
                       f"- command: `{command_line()}`\n{machine_markdown(info)}\n{table}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
