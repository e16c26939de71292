"""node-postgres's own integration tests against gridpg and plain PostgreSQL (opt-in).

    python bench/node_postgres_suite.py /path/to/node-postgres [--timeout 60] [--no-record]
        [--gridpg-dsn DSN --plain-dsn DSN]

The argument is a node-postgres checkout (github.com/brianc/node-postgres: packages/pg
with its lib/ and test/integration/). Its runtime and test dependencies are installed from
npm into packages/pg/node_modules when missing. Each `test/integration/**/*-tests.js` file
runs as its Makefile runs it (`node FILE`, the server given by PGHOST/PGPORT/PGUSER/
PGPASSWORD/PGDATABASE), once against plain PostgreSQL and once against a coordinator; a
file passes when node exits 0. The findings are the files that pass on plain PostgreSQL
and fail on gridpg. Those files are node-postgres's, not ours: nothing of them is shipped,
and this script is not run in CI (CI has no network to fetch them).

Without --gridpg-dsn it starts a fresh gridpg cluster and one plain PostgreSQL 18 with
bench/common.py (the product's cluster code) and stops them at the end. Writes the result
table (and the failing files' last lines) to bench/RESULTS.md unless --no-record.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common

# What packages/pg's tests require: its dependencies and the devDependencies they load.
NPM_PACKAGES = ("pg-connection-string", "pg-pool", "pg-protocol", "pg-types@2.2.0", "pgpass@1.0.5",
                "async@2.6.4", "bluebird@3.7.2", "co@4.6.0", "pg-copy-streams@0.3.0")


def install(pg_dir: Path) -> None:
    if (pg_dir / "node_modules" / "pg-types").is_dir():
        return
    if shutil.which("npm") is None:
        raise SystemExit("npm is needed to install node-postgres's dependencies")
    common.log(f"npm install in {pg_dir}")
    subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--no-save", "--ignore-scripts",
                    *NPM_PACKAGES], cwd=pg_dir, check=True, timeout=600, capture_output=True)


def run_file(pg_dir: Path, test: Path, dsn: str, timeout: float) -> tuple[bool, str]:
    info = psycopg.conninfo.conninfo_to_dict(dsn)
    env = dict(os.environ, PGHOST=str(info.get("host", "127.0.0.1")), PGPORT=str(info.get("port", 5432)),
               PGUSER=str(info.get("user", "postgres")), PGPASSWORD=str(info.get("password", "")),
               PGDATABASE=str(info.get("dbname", "postgres")))
    try:
        done = subprocess.run(["node", str(test.relative_to(pg_dir))], cwd=pg_dir, env=env,
                              capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired as exc:
        out = (exc.stdout or b"").decode(errors="replace") if isinstance(exc.stdout, bytes) else (exc.stdout or "")
        return False, out + f"\n(no exit within {timeout:g} s)"
    return done.returncode == 0, done.stdout + done.stderr


def last_lines(text: str, count: int = 6) -> str:
    lines = [line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("at ")]
    return "\n".join(lines[-count:])


@contextlib.contextmanager
def servers(args: argparse.Namespace) -> Iterator[tuple[str, str]]:
    if args.gridpg_dsn:
        yield args.gridpg_dsn, args.plain_dsn
        return
    with common.environment() as env:
        yield env.gridpg_dsn(0), env.plain_dsn


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("source", type=Path, help="node-postgres checkout")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds per test file")
    parser.add_argument("--gridpg-dsn", default="", help="a running coordinator (with --plain-dsn)")
    parser.add_argument("--plain-dsn", default="")
    parser.add_argument("--no-record", action="store_true", help="do not append to bench/RESULTS.md")
    args = parser.parse_args()
    pg_dir = args.source / "packages" / "pg"
    if not (pg_dir / "test" / "integration").is_dir():
        raise SystemExit(f"{pg_dir}/test/integration not found: give a node-postgres checkout")
    install(pg_dir)
    tests = sorted((pg_dir / "test" / "integration").rglob("*-tests.js"))
    info = common.machine_info()
    rows, findings = [], []
    with servers(args) as (gridpg_dsn, plain_dsn):
        for test in tests:
            name = str(test.relative_to(pg_dir / "test" / "integration"))
            plain_ok, _ = run_file(pg_dir, test, plain_dsn, args.timeout)
            gridpg_ok, out = run_file(pg_dir, test, gridpg_dsn, args.timeout)
            rows.append((name, plain_ok, gridpg_ok))
            if plain_ok and not gridpg_ok:
                findings.append((name, last_lines(out)))
            common.log(f"{name}: plain {'pass' if plain_ok else 'FAIL'}, gridpg {'pass' if gridpg_ok else 'FAIL'}")
    both = sum(1 for _, p, g in rows if p and g)
    plain_only = len(findings)
    neither = sum(1 for _, p, g in rows if not p and not g)
    gridpg_only = sum(1 for _, p, g in rows if g and not p)
    command = re.sub(r"(://[^:/@]+):[^@/]+@", r"\1:***@", common.command_line())
    counts = (f"{len(rows)} test files: pass on both {both}; plain only (the findings) {plain_only}; "
              f"gridpg only {gridpg_only}; neither {neither}.")
    body = [f"- command: `{command}`", common.machine_markdown(info).rstrip(), "", counts, ""]
    for name, tail in findings:
        body += [f"- `{name}`:", common.fenced(tail, 1500)]
    text = "\n".join(body)
    print(text)
    if not args.no_record:
        common.append_results("node-postgres's integration tests, gridpg against plain PostgreSQL", text)
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main())
