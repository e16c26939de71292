"""Python work per transaction of a coordinator, counted: bytecodes and function calls.

    python bench/py_ops_per_txn.py --dir CLUSTER_DIR [--port 7499] [--mode prepared]
        [--builtin select-only|simple-update|tpcb-like | --script FILE] [--functions 40]

Runs an extra coordinator (coord1's configuration, one process, on `--port`) inside this
process against a running cluster, drives it with one pgbench client (`-b BUILTIN -M MODE`,
`select-only` = `-S` by default; simple-update wants pgbench_history distributed by aid,
as `python -m bench` makes it, for single-node transactions), and
(or `-f FILE`, a custom script, with `--script`) and
counts with `sys.settrace` the bytecodes and Python calls executed per transaction (the
difference of a 300- and a 600-transaction run, so connection setup cancels out). Unlike
CPU time or TPS these counts do not move with the machine's load: on a shared machine they
tell whether a change to the fast path removed work (bench/cpu_per_txn.py then says what
that was worth). `--functions N` lists the N functions with the most bytecodes.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path
from types import FrameType
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from gridpg.cluster.control import Cluster  # noqa: E402
from gridpg.frontend.coordinator import build_coordinator  # noqa: E402
from gridpg.planner.core import Planner  # noqa: E402


class Counter:
    """The trace functions: bytecodes and calls, in all and by function."""

    def __init__(self, by_function: bool) -> None:
        self.by_function = by_function
        self.reset()

    def reset(self) -> None:
        self.opcodes = 0
        self.calls = 0
        self.functions: dict[str, int] = {}

    def on_call(self, frame: FrameType, event: str, arg: Any) -> Any:
        if event == "call":
            self.calls += 1
        frame.f_trace_opcodes = True
        frame.f_trace_lines = False
        return self.on_opcode

    def on_opcode(self, frame: FrameType, event: str, arg: Any) -> Any:
        if event == "opcode":
            self.opcodes += 1
            if self.by_function:
                name = frame.f_code.co_qualname
                self.functions[name] = self.functions.get(name, 0) + 1
        return self.on_opcode


async def measure(directory: str, port: int, mode: str, builtin: str, functions: int,
                  script: str | None = None) -> None:
    cluster = Cluster(Path(directory))
    coordinator, _, _, nodes = build_coordinator(cluster, "coord1")
    coordinator.planner = Planner()
    await coordinator.start(nodes, bootstrap=False)
    await coordinator.start_listener()
    server = await coordinator.start_server("127.0.0.1", port)
    env = dict(os.environ, PGPASSWORD=cluster.password())
    workload = ["-f", script] if script else ["-b", builtin]

    async def pgbench(transactions: int) -> None:
        proc = await asyncio.create_subprocess_exec(
            "pgbench", "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", *workload, "-M", mode, "-c", "1",
            "-t", str(transactions), "-n", "postgres", env=env,
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
        _, err = await proc.communicate()
        if proc.returncode:
            raise SystemExit(f"pgbench failed: {err.decode()}")

    counter = Counter(functions > 0)
    await pgbench(100)  # plans made, connections pooled
    runs = []
    for transactions in (300, 600):
        counter.reset()
        sys.settrace(counter.on_call)
        try:
            await pgbench(transactions)
        finally:
            sys.settrace(None)
        runs.append((transactions, counter.opcodes, counter.calls, dict(counter.functions)))
    server.close()
    (t1, ops1, calls1, by1), (t2, ops2, calls2, by2) = runs
    n = t2 - t1
    print(f"{' '.join(workload)} -M {mode}: {(ops2 - ops1) / n:.0f} bytecodes, {(calls2 - calls1) / n:.1f} Python calls "
          "per transaction")
    per = {name: (count - by1.get(name, 0)) / n for name, count in by2.items()}
    for name, count in sorted(per.items(), key=lambda item: -item[1])[:functions]:
        print(f"  {count:7.1f}  {name}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dir", required=True, help="a running cluster's directory (gridpg up --dir)")
    ap.add_argument("--port", type=int, default=7499, help="a free port for the measured coordinator")
    ap.add_argument("--mode", default="prepared", choices=["prepared", "simple", "extended"])
    ap.add_argument("--builtin", default="select-only", choices=["select-only", "simple-update", "tpcb-like"])
    ap.add_argument("--script", help="a pgbench script file (-f) instead of --builtin")
    ap.add_argument("--functions", type=int, default=0, help="list this many functions by bytecodes")
    args = ap.parse_args()
    try:
        import uvloop

        uvloop.install()  # as the coordinator runs
    except ImportError:
        pass
    asyncio.run(measure(args.dir, args.port, args.mode, args.builtin, args.functions, args.script))
    os._exit(0)  # (the coordinator's background tasks are not stopped one by one)


if __name__ == "__main__":
    main()
