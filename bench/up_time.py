"""Wall time of `gridpg up` / `down` for the default topology (the CLI, as a user runs it).

    python bench/up_time.py [--repeat 3] [--json] [--no-record] [--limit 15]

Per repeat, in a fresh temporary directory:
  1. `gridpg up --dir D --port P`   first run: initdb of 4 servers + start everything
  2. `gridpg up --dir D --port P`   again, on the running cluster (should be a no-op)
  3. `gridpg down --dir D`
  4. `gridpg up --dir D --port P`   restart of the existing cluster
  then `gridpg down` (always, in finally) and the directory is removed.

"ready" = `up` returned and then `SELECT 1` succeeded on every coordinator; the time to
ready includes that check. The issue requires ready in under --limit seconds (15).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common
from common import fenced, log


def gridpg_cmd() -> list[str]:
    return [sys.executable, "-m", "gridpg"]


def cli_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(common.REPO / "src") + os.pathsep + env.get("PYTHONPATH", "")
    env["COLUMNS"] = "200"
    return env


def cli(args: list[str], timeout: float = 180) -> tuple[int | None, str, float]:
    t0 = time.monotonic()
    try:
        r = subprocess.run(
            [*gridpg_cmd(), *args],
            capture_output=True,
            text=True,
            env=cli_env(),
            timeout=timeout,
            stdin=subprocess.DEVNULL,
            check=False,
        )
        return r.returncode, (r.stdout + r.stderr), time.monotonic() - t0
    except subprocess.TimeoutExpired as exc:
        out = (exc.stdout or b"").decode() if isinstance(exc.stdout, bytes) else (exc.stdout or "")
        return None, out + f"\n[bench] timed out after {timeout} s", time.monotonic() - t0


def all_coordinators_answer(directory: Path) -> str | None:
    """None if SELECT 1 works on every coordinator, else the error."""
    import psycopg

    cluster = common.Cluster(directory)
    for i, _coord in enumerate(cluster.topology.coordinators):
        try:
            with psycopg.connect(cluster.dsn(i), autocommit=True, connect_timeout=10) as conn:
                conn.execute("SELECT 1").fetchone()
        except Exception as exc:  # noqa: BLE001
            return f"coordinator {i + 1}: {type(exc).__name__}: {exc}"
    return None


def one_repeat(n: int, failures: list[dict[str, str]]) -> dict[str, float | None]:
    root = Path(tempfile.mkdtemp(prefix="gridpg-uptime-"))
    directory = root / "cluster"
    port = common.free_base(25000)
    times: dict[str, float | None] = {}
    up_args = ["up", "--dir", str(directory), "--port", str(port)]
    try:
        for step, args in (
            ("first up (init+start)", up_args),
            ("second up (running)", up_args),
            ("down", ["down", "--dir", str(directory)]),
            ("restart up", up_args),
        ):
            log(f"repeat {n}: {step}: gridpg {' '.join(args)}")
            rc, out, secs = cli(args)
            ready = secs
            err = None if rc == 0 else f"exit {rc}"
            if rc == 0 and step != "down":
                t0 = time.monotonic()
                err = all_coordinators_answer(directory)
                ready = secs + (time.monotonic() - t0)
            if err:
                failures.append(
                    {
                        "repeat": str(n),
                        "step": step,
                        "command": "gridpg " + " ".join(args),
                        "error": err,
                        "output": out,
                        "coord_log": common.tail(directory / "log" / "coord1.log", 40),
                    }
                )
                log(f"  FAILED: {err}\n{out}")
                times[step] = None
                break
            times[step] = ready
            log(f"  {ready:.2f} s (command {secs:.2f} s)")
    finally:
        if common.Cluster(directory).exists():
            rc, out, _ = cli(["down", "--dir", str(directory)])
            if rc != 0:
                log(f"final down failed ({rc}): {out}")
        shutil.rmtree(root, ignore_errors=True)
    return times


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--limit", type=float, default=15.0, help="required seconds to ready")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--no-record", action="store_true")
    args = ap.parse_args()

    info = common.machine_info()
    cmdline = common.command_line()
    failures: list[dict[str, str]] = []
    repeats = [one_repeat(i + 1, failures) for i in range(args.repeat)]
    steps = ["first up (init+start)", "second up (running)", "down", "restart up"]

    rows = [
        "| step | " + " | ".join(f"run {i + 1}" for i in range(len(repeats))) + " | median | max |",
        "|---|" + "---:|" * (len(repeats) + 2),
    ]
    verdicts = []
    for step in steps:
        vals = [r.get(step) for r in repeats]
        good = [v for v in vals if v is not None]
        cells = [
            ("FAILED" if step in r else "-") if r.get(step) is None else f"{r[step]:.2f} s"
            for r in repeats
        ]
        med = f"{statistics.median(good):.2f} s" if good else "-"
        mx = f"{max(good):.2f} s" if good else "-"
        rows.append(f"| {step} | " + " | ".join(cells) + f" | {med} | {mx} |")
        if "up" in step and step != "second up (running)":
            ok = bool(good) and len(good) == len(vals) and max(good) < args.limit
            verdicts.append(
                f"- {step}: max {mx} -> {'PASS' if ok else 'FAIL'} (< {args.limit:g} s required)"
            )
    table = "\n".join(rows)

    if args.json:
        print(
            json.dumps(
                {"command": cmdline, "machine": info, "repeats": repeats, "failures": failures},
                indent=2,
            )
        )
    else:
        print(table)
        print("\n".join(verdicts))
    if not args.no_record:
        body = [
            f"- command: `{cmdline}`",
            common.machine_markdown(info).rstrip(),
            (
                "- each step runs the CLI (`python -m gridpg ...`), default topology "
                "(GTM, 2 coordinators + 2 catalog servers, 2 datanodes); an `up` counts as ready "
                "once `SELECT 1` succeeds on both coordinators"
            ),
            "",
            table,
            "",
            *verdicts,
        ]
        if failures:
            body += ["", "### Failed steps (not results)"]
            for f in failures:
                body += [
                    "",
                    f"**repeat {f['repeat']}, {f['step']}**: `{f['command']}`: {f['error']}",
                    "",
                    "Client output:",
                    fenced(f["output"]),
                    "",
                    "Last 40 lines of coord1.log:",
                    fenced(f["coord_log"]),
                ]
        common.append_results(f"gridpg up/down wall time ({args.repeat} repeats)", "\n".join(body))
    return 1 if failures or any("FAIL" in v for v in verdicts) else 0


if __name__ == "__main__":
    sys.exit(main())
