"""Prometheus metrics of a coordinator: every worker's counts on the port `gridpg status`
shows, by plan strategy, commit outcome, SQLSTATE class, with the pools' connections."""

from __future__ import annotations

import re
import time
import urllib.request

import psycopg

from gridpg.cluster.control import Cluster


def scrape(cluster: Cluster) -> dict[str, float]:
    port = cluster.topology.coordinators[0].metrics_port
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as reply:
        text = reply.read().decode()
    values = {}
    for line in text.splitlines():
        match = re.match(r"^(gridpg_[a-z_]+(?:\{[^}]*\})?) ([0-9.e+-]+)$", line)
        if match:
            values[match.group(1)] = float(match.group(2))
    return values


def test_counts_statements_commits_and_errors(gridpg_cluster: Cluster, schema: str) -> None:
    before = scrape(gridpg_cluster)
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute(f"SET search_path = {schema}")
        conn.execute("CREATE TABLE m (id int PRIMARY KEY, v int) DISTRIBUTE BY HASH (id)")
        conn.execute("INSERT INTO m SELECT g, g FROM generate_series(1, 50) g")
        for key in range(5):  # new connections may land on either worker: all are counted
            with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as other:
                other.execute(f"SELECT v FROM {schema}.m WHERE id = %s", (key + 1,), prepare=False)
        conn.execute("SELECT count(*) FROM m")
        with conn.transaction():
            conn.execute("UPDATE m SET v = v + 1 WHERE id IN (1, 2, 3, 4, 5, 6, 7, 8)")
        try:
            conn.execute("SELECT 1 / (v - v) FROM m WHERE id = 1")
        except psycopg.errors.DivisionByZero:
            pass
    after = scrape(gridpg_cluster)

    def grew(name: str) -> float:
        return after.get(name, 0.0) - before.get(name, 0.0)

    # Fast-path statements and commits are flushed once a second, by each worker, the
    # counter before the histogram: a scrape may fall between the two.
    deadline = time.monotonic() + 5
    while (grew('gridpg_statements_total{strategy="router"}') < 5
           or grew('gridpg_statement_seconds_count{strategy="router"}') < 5
           or grew('gridpg_statements_total{strategy="two-phase"}') < 1
           or grew('gridpg_commits_total{outcome="two-phase"}') < 1) and time.monotonic() < deadline:
        time.sleep(0.2)
        after = scrape(gridpg_cluster)

    assert grew('gridpg_statements_total{strategy="router"}') >= 5
    assert grew('gridpg_statements_total{strategy="two-phase"}') >= 1
    assert grew('gridpg_statement_seconds_count{strategy="router"}') >= 5
    assert grew('gridpg_commits_total{outcome="two-phase"}') >= 1
    assert grew('gridpg_statement_errors_total{sqlstate_class="22"}') >= 1
    deadline = time.monotonic() + 5  # pool gauges are reported once a second
    while after.get('gridpg_pool_connections{node="dn1",state="open"}', 0) < 1 and time.monotonic() < deadline:
        time.sleep(0.2)
        after = scrape(gridpg_cluster)
    assert after.get('gridpg_pool_connections{node="dn1",state="open"}', 0) >= 1


def test_gtm_serves_its_metrics_and_coordinators_time_the_fence(gridpg_cluster: Cluster, schema: str) -> None:
    gtm = gridpg_cluster.topology.gtm
    assert gtm.metrics_port, "the default topology gives the GTM a metrics port"
    row = next(r for r in gridpg_cluster.status() if r.kind == "gtm")
    assert row.metrics == f"http://{gtm.host}:{gtm.metrics_port}/metrics"
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute(f"SET search_path = {schema}")
        conn.execute("CREATE TABLE gm (id int PRIMARY KEY, v int) DISTRIBUTE BY HASH (id)")
        conn.execute("INSERT INTO gm SELECT g, g FROM generate_series(1, 20) g")  # 2PC: commit fence
        conn.execute("SELECT count(*) FROM gm")  # multi-node read: snapshot fence
    with urllib.request.urlopen(f"http://{gtm.host}:{gtm.metrics_port}/metrics", timeout=10) as reply:
        text = reply.read().decode()
    assert re.search(r'^gridpg_gtm_requests_total\{op="next_gxid"\} [1-9]', text, re.M), text[:2000]
    assert re.search(r"^gridpg_gtm_primary 1\.0$", text, re.M)
    assert re.search(r'^gridpg_gtm_fence_waiting\{kind="commit"\} 0\.0$', text, re.M)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        values = scrape(gridpg_cluster)
        if values.get('gridpg_fence_wait_seconds_count{kind="snapshot"}', 0) > 0 and \
                values.get('gridpg_fence_wait_seconds_count{kind="commit"}', 0) > 0:
            break
        time.sleep(0.2)
    assert values.get('gridpg_fence_wait_seconds_count{kind="snapshot"}', 0) > 0, values
    assert values.get('gridpg_fence_wait_seconds_count{kind="commit"}', 0) > 0, values
