"""Prometheus metrics of a coordinator: what it runs, how long it takes, how it commits.

The metric objects are module globals so any layer can count without wiring. A
coordinator's worker processes (forked after bootstrap) share one directory of
prometheus_client's multiprocess files (`PROMETHEUS_MULTIPROC_DIR`, set by `prepare`
before this module is imported); worker 0 serves them all on the coordinator's metrics
port (`serve`). Counting is an in-memory add to a mapped file: no I/O on the hot path.
The coordinator's entry sets the directory before anything imports prometheus_client,
which picks its multiprocess mode at import.
"""

from __future__ import annotations

import os
from bisect import bisect_left
from typing import Any

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    multiprocess,
    start_http_server,
)

_LATENCY_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                    0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

STATEMENTS = Counter("gridpg_statements", "Statements run, by plan strategy", ["strategy"])
STATEMENT_SECONDS = Histogram("gridpg_statement_seconds", "Time to run a statement, by plan strategy",
                              ["strategy"], buckets=_LATENCY_BUCKETS)
STATEMENT_ERRORS = Counter("gridpg_statement_errors", "Statements that failed, by SQLSTATE class",
                           ["sqlstate_class"])
COMMITS = Counter("gridpg_commits", "Distributed transactions ended, by outcome", ["outcome"])
POOL_CONNECTIONS = Gauge("gridpg_pool_connections", "Backend connections held in the pools",
                         ["node", "state"], multiprocess_mode="livesum")
FENCE_WAIT_SECONDS = Histogram("gridpg_fence_wait_seconds", "Time waited for the GTM fence, by kind",
                               ["kind"], buckets=_LATENCY_BUCKETS)
FENCE_FAILURES = Counter("gridpg_fence_failures", "Statements failed with 40001 by the snapshot fence",
                         ["reason"])
SHARD_HOLD_WAIT_SECONDS = Histogram("gridpg_shard_hold_wait_seconds", "Time statements waited for an "
                                    "online move's switch, by outcome", ["outcome"], buckets=_LATENCY_BUCKETS)
FAST_CYCLES = Counter("gridpg_fast_cycles", "Routed statements run from callbacks (frontend/fast_cycle.py), "
                      "by who relayed the answer: the callback, or the session's task (an error, a "
                      "notice, a lost node)", ["relayed_by"])
PRIMARY_CHANGES = Counter("gridpg_primary_changes", "Datanode group primaries switched (failovers seen)",
                          ["group"])


class Tally:
    """Observations of one label counted in process memory and added to the shared
    metric files by `flush` (the coordinator's once-a-second report): each add to a
    multiprocess file takes a lock, asks the kernel for the pid and writes the mapped
    file, about 5 us for a counter and a histogram observation (more under load), against
    about 60 us for all of a fast-path statement. The metrics lag by at most the report's
    interval. By default a statement of strategy `label` (STATEMENTS and its seconds);
    `counter` None counts nothing beside the histogram."""

    def __init__(self, label: str, counter: Any = STATEMENTS, histogram: Any = STATEMENT_SECONDS) -> None:
        self.label = label
        self.counter = counter
        self.histogram = histogram
        self.count = 0
        self.total = 0.0
        self.buckets = [0] * (len(_LATENCY_BUCKETS) + 1)  # the last one is +Inf

    def observe(self, seconds: float) -> None:
        self.count += 1
        self.total += seconds
        self.buckets[bisect_left(_LATENCY_BUCKETS, seconds)] += 1  # first bound >= seconds

    def flush(self, counter: Any = None, histogram: Any = None) -> None:
        """Add what was counted since the last flush (to the given metrics, for tests)."""
        if not self.count:
            return
        count, total, buckets = self.count, self.total, self.buckets
        self.count, self.total, self.buckets = 0, 0.0, [0] * len(buckets)
        counter = counter or self.counter
        if counter is not None:
            counter.labels(self.label).inc(count)
        add_observations((histogram or self.histogram).labels(self.label), total, buckets)


def add_observations(child: Any, total: float, buckets: list[int]) -> None:
    """What `observe` does for each of many values, given their sum and count per bucket
    (prometheus_client has no bulk observe: its Histogram keeps `_sum` and one
    non-cumulative value per bucket; tests/unit/test_metrics_tally.py checks the output
    equals one observe per value)."""
    child._sum.inc(total)
    for index, count in enumerate(buckets):
        if count:
            child._buckets[index].inc(count)


class Counts:
    """Increments of a labelled counter kept in process memory and added to the shared
    files by `flush` (as Tally: a commit counted in the mapped file cost ~5 us of a
    single-node transaction's few hundred)."""

    def __init__(self, counter: Any) -> None:
        self.counter = counter
        self.pending: dict[str, int] = {}

    def inc(self, label: str) -> None:
        self.pending[label] = self.pending.get(label, 0) + 1

    def flush(self) -> None:
        pending, self.pending = self.pending, {}
        for label, count in pending.items():
            self.counter.labels(label).inc(count)


_STRATEGY_TALLIES: dict[str, Tally] = {}


def strategy_tally(strategy: str) -> Tally:
    """The tally of the statements of one plan strategy (executor/run.py)."""
    tally = _STRATEGY_TALLIES.get(strategy)
    if tally is None:
        tally = _STRATEGY_TALLIES[strategy] = Tally(strategy)
    return tally


ROUTER = strategy_tally("router")  # the fast paths (frontend/statements.py)
COMMIT_FENCE_WAIT = Tally("commit", None, FENCE_WAIT_SECONDS)  # every 2PC commit round (txn/fence.py)
SNAPSHOT_FENCE_WAIT = Tally("snapshot", None, FENCE_WAIT_SECONDS)  # every fenced snapshot
COMMIT_COUNTS = Counts(COMMITS)  # DistributedTransaction.commit's outcomes
FAST_CYCLE_COUNTS = Counts(FAST_CYCLES)  # "callback" or "task"


def flush_tallies() -> None:
    for tally in list(_STRATEGY_TALLIES.values()):
        tally.flush()
    COMMIT_FENCE_WAIT.flush()
    SNAPSHOT_FENCE_WAIT.flush()
    COMMIT_COUNTS.flush()
    FAST_CYCLE_COUNTS.flush()


def serve(host: str, port: int) -> None:
    """Expose every worker's metrics (a thread of the calling process)."""
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    start_http_server(port, addr=host, registry=registry)


def worker_exited(pid: int) -> None:
    """A worker's live gauges stop counting when it exits."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.mark_process_dead(pid)
