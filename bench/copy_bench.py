"""COPY FROM STDIN rate into a HASH-distributed table through a coordinator vs plain PostgreSQL.

    python bench/copy_bench.py [--rows 1000000] [--repeat 2] [--chunk 262144] [--json] [--no-record]

Rows are (int, text, numeric), generated before timing as COPY text bytes; both targets
receive the same bytes through psycopg's `cursor.copy()` in chunks of --chunk bytes. The
time covers COPY + COMMIT. Afterwards count(*) and sum(id) are checked on both, and the
per-datanode row counts of the gridpg table are read directly from the datanodes.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common
from common import Env, fenced, log

TABLE = "copy_bench"


def make_data(rows: int, chunk: int) -> list[bytes]:
    t0 = time.monotonic()
    lines = [
        f"{i}\tname-{i:08d}-{(i * 7919) % 100003}\t{(i * 31) % 1000003}.{i % 100:02d}\n"
        for i in range(1, rows + 1)
    ]
    data = "".join(lines).encode()
    chunks = [data[i : i + chunk] for i in range(0, len(data), chunk)]
    log(f"generated {rows:,} rows, {len(data) / 1e6:.1f} MB in {time.monotonic() - t0:.1f} s")
    return chunks


def create_table(dsn: str, distributed: bool) -> None:
    import psycopg

    ddl = f"CREATE TABLE {TABLE} (id int, name text, amount numeric)"
    if distributed:
        ddl += " DISTRIBUTE BY HASH (id)"
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"DROP TABLE IF EXISTS {TABLE}")
        conn.execute(ddl)


def copy_once(dsn: str, chunks: list[bytes]) -> float:
    import psycopg

    with psycopg.connect(dsn) as conn:
        conn.execute(f"TRUNCATE {TABLE}")
        conn.commit()
        t0 = time.monotonic()
        with conn.cursor() as cur, cur.copy(f"COPY {TABLE} (id, name, amount) FROM STDIN") as copy:
            for c in chunks:
                copy.write(c)
        conn.commit()
        return time.monotonic() - t0


def verify(dsn: str, rows: int) -> tuple[bool, str]:
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as conn:
        row = conn.execute(f"SELECT count(*), sum(id), sum(amount) FROM {TABLE}").fetchone()
    assert row is not None
    count, total, amount = int(row[0]), int(row[1] or 0), row[2]
    expected = rows * (rows + 1) // 2
    ok = count == rows and total == expected
    return (
        ok,
        f"count={count} (expected {rows}), sum(id)={total} (expected {expected}), sum(amount)={amount}",
    )


def per_datanode(env: Env) -> dict[str, int | str]:
    import psycopg

    out: dict[str, int | str] = {}
    password = env.cluster.password()
    for g in env.cluster.topology.groups:
        dsn = f"postgresql://postgres:{password}@{g.primary.host}:{g.primary.port}/postgres"
        try:
            with psycopg.connect(dsn, autocommit=True, connect_timeout=10) as conn:
                row = conn.execute(f"SELECT count(*) FROM {TABLE}").fetchone()
                out[g.name] = int(row[0]) if row else -1
        except Exception as exc:  # noqa: BLE001
            out[g.name] = f"{type(exc).__name__}: {exc}"
    return out


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--chunk", type=int, default=256 * 1024)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--no-record", action="store_true")
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args()

    info = common.machine_info()
    cmdline = common.command_line()
    chunks = make_data(args.rows, args.chunk)
    results: dict[str, list[float]] = {"plain": [], "gridpg": []}
    checks: dict[str, str] = {}
    failures: list[dict[str, str]] = []
    placement: dict[str, int | str] = {}
    try:
        with common.environment(keep=args.keep) as env:
            for name in ("plain", "gridpg"):
                target = env.target(name)
                try:
                    create_table(target.dsn, distributed=name == "gridpg")
                    for i in range(args.repeat):
                        secs = copy_once(target.dsn, chunks)
                        results[name].append(secs)
                        log(
                            f"{name}: COPY {args.rows:,} rows in {secs:.2f} s = {args.rows / secs:,.0f} rows/s (run {i + 1})"
                        )
                    ok, detail = verify(target.dsn, args.rows)
                    checks[name] = ("ok: " if ok else "MISMATCH: ") + detail
                    log(f"{name}: check {checks[name]}")
                    if not ok:
                        raise RuntimeError(f"data check failed: {detail}")
                    if name == "gridpg":
                        placement = per_datanode(env)
                        log(f"gridpg rows per datanode: {placement}")
                except Exception as exc:  # noqa: BLE001 - recorded as a failed run
                    results[name] = []
                    failures.append(
                        {
                            "target": name,
                            "error": f"{type(exc).__name__}: {exc}",
                            "traceback": traceback.format_exc(),
                            "log": env.coord_log_tail(40)
                            if name == "gridpg"
                            else common.tail(env.plain.log_file, 40),
                        }
                    )
                    log(f"{name}: FAILED: {type(exc).__name__}: {exc}")
    except Exception as exc:  # noqa: BLE001
        failures.append(
            {
                "target": "setup",
                "error": f"{type(exc).__name__}: {exc}",
                "traceback": traceback.format_exc(),
                "log": "",
            }
        )

    def best(name: str) -> float | None:
        return args.rows / min(results[name]) if results[name] else None

    p, g = best("plain"), best("gridpg")
    rows = ["| target | COPY times (s) | best rows/s | gridpg/plain |", "|---|---|---:|---:|"]
    for name, rate in (("plain", p), ("gridpg", g)):
        times = ", ".join(f"{t:.2f}" for t in results[name]) or "FAILED"
        ratio = f"{g / p:.3f}" if name == "gridpg" and p and g else "-"
        rows.append(f"| {name} | {times} | {f'{rate:,.0f}' if rate else 'FAILED'} | {ratio} |")
    table = "\n".join(rows)
    if args.json:
        print(
            json.dumps(
                {
                    "command": cmdline,
                    "machine": info,
                    "rows": args.rows,
                    "times": results,
                    "rows_per_s": {"plain": p, "gridpg": g},
                    "checks": checks,
                    "placement": placement,
                    "failures": failures,
                },
                indent=2,
            )
        )
    else:
        print(table)
        for name, c in checks.items():
            print(f"{name}: {c}")
        for f in failures:
            print(f"FAILED {f['target']}: {f['error']}")
    if not args.no_record:
        body = [
            f"- command: `{cmdline}`",
            common.machine_markdown(info).rstrip(),
            (
                f"- {args.rows:,} rows of (int, text, numeric), "
                f"{sum(len(c) for c in chunks) / 1e6:.1f} MB of COPY text, psycopg `cursor.copy()` "
                f"in {args.chunk // 1024} KiB writes; time = COPY + COMMIT; "
                "gridpg table `DISTRIBUTE BY HASH (id)` (32 shards), via coord1"
            ),
            "",
            table,
            "",
        ]
        body += [f"- check {name}: {c}" for name, c in checks.items()]
        if placement:
            body.append(f"- gridpg rows per datanode (read directly): {placement}")
        if failures:
            body += ["", "### Failed runs (not results)"]
            for f in failures:
                body += ["", f"**{f['target']}**: {f['error']}", "", fenced(f["traceback"], 3000)]
                if f["log"]:
                    body += ["", "Last 40 lines of the server log:", fenced(f["log"])]
        common.append_results(f"COPY FROM STDIN, {args.rows:,} rows", "\n".join(body))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
