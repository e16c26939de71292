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
PRIMARY_CHANGES = Counter("gridpg_primary_changes", "Datanode group primaries switched (failovers seen)",
                          ["group"])


def serve(host: str, port: int) -> None:
    """Expose every worker's metrics (a thread of the calling process)."""
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    start_http_server(port, addr=host, registry=registry)


def worker_exited(pid: int) -> None:
    """A worker's live gauges stop counting when it exits."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.mark_process_dead(pid)
