"""A client's prepared COMMIT of a block that wrote two nodes runs its whole two-phase commit
from the nodes' callbacks (txn/transaction.py `CallbackCommit`, frontend/fast_cycle.py
`TwoPhaseCycle`): the PREPARE, the decider's commit with its marker and COMMIT PREPARED,
with the session's task asleep. Checked here: such commits are answered by the callbacks
and commit both nodes (no prepared transaction or marker left); a PREPARE refused on the
other writer hands the commit to the task, which rolls everything back and reports
PostgreSQL's error, as before."""

from __future__ import annotations

import time

import psycopg
import pytest

from gridpg.cluster.control import Cluster
from tests.cluster_fixtures import prepared_on, query
from tests.integration.test_metrics import scrape

_BY_CALLBACK = 'gridpg_fast_cycles_total{relayed_by="callback"}'
_BY_TASK = 'gridpg_fast_cycles_total{relayed_by="task"}'


def _ids_by_node(datanodes: dict[str, str], table: str) -> dict[str, int]:
    return {name: int(str(query(dsn, f"SELECT min(id) FROM {table}")[0][0])) for name, dsn in datanodes.items()}


@pytest.fixture()
def conn(gridpg_cluster: Cluster, schema: str) -> psycopg.Connection:
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as c:
        c.execute(f'SET search_path = "{schema}"')
        c.execute("CREATE TABLE cc (id int PRIMARY KEY, v int) DISTRIBUTE BY HASH (id)")
        c.execute("INSERT INTO cc SELECT g, 0 FROM generate_series(1, 40) g")
        yield c


def _transfer(conn: psycopg.Connection, first: int, last: int) -> None:
    """One block over two nodes, every message prepared (as pgbench -M prepared sends it)."""
    conn.execute("BEGIN", prepare=True)
    conn.execute("UPDATE cc SET v = v - 1 WHERE id = %s", (first,), prepare=True)
    conn.execute("UPDATE cc SET v = v + 1 WHERE id = %s", (last,), prepare=True)
    conn.execute("COMMIT", prepare=True)


def _grown(cluster: Cluster, before: dict[str, float], name: str, at_least: float) -> float:
    deadline = time.monotonic() + 5  # (the counters reach the scrape within a second)
    while True:
        grown = scrape(cluster).get(name, 0.0) - before.get(name, 0.0)
        if grown >= at_least or time.monotonic() > deadline:
            return grown
        time.sleep(0.2)


def test_two_node_commits_run_from_callbacks(gridpg_cluster: Cluster, schema: str,
                                             datanodes: dict[str, str], conn: psycopg.Connection) -> None:
    first, last = sorted(datanodes)
    ids = _ids_by_node(datanodes, f"{schema}.cc")
    for _ in range(5):  # statements planned and prepared, the worker's commit fence taken
        _transfer(conn, ids[first], ids[last])
    time.sleep(1.2)
    before = scrape(gridpg_cluster)
    rounds = 30
    for _ in range(rounds):
        _transfer(conn, ids[first], ids[last])
    # 4 messages per block answered from callbacks, the COMMIT too: before, every COMMIT
    # went to the task (3 and 1 per block). A COMMIT whose worker asks the GTM for a new
    # commit-fence token (the last one's window passed) waits for it in the task.
    assert _grown(gridpg_cluster, before, _BY_CALLBACK, 4 * rounds) >= 4 * rounds - 10
    assert _grown(gridpg_cluster, before, _BY_TASK, 0) <= 10
    values = dict(conn.execute("SELECT id, v FROM cc WHERE id IN (%s, %s)", (ids[first], ids[last])).fetchall())
    assert values == {ids[first]: -(rounds + 5), ids[last]: rounds + 5}
    assert prepared_on(datanodes) == []
    deadline = time.monotonic() + 10
    while any(query(dsn, "SELECT count(*) FROM gridpg.commit_marker")[0][0] for dsn in datanodes.values()):
        assert time.monotonic() < deadline, "the decider's markers were not deleted"
        time.sleep(0.2)


def test_a_refused_prepare_is_rolled_back_by_the_task(gridpg_cluster: Cluster, schema: str,
                                                      datanodes: dict[str, str], conn: psycopg.Connection) -> None:
    first, last = sorted(datanodes)
    ids = _ids_by_node(datanodes, f"{schema}.cc")
    for _ in range(3):
        _transfer(conn, ids[first], ids[last])
    # the writer that prepares (the one written first: the last one decides) refuses at PREPARE
    query(datanodes[first], f"CREATE FUNCTION {schema}.refuse() RETURNS trigger LANGUAGE plpgsql AS "
                            "$$ BEGIN RAISE EXCEPTION 'refused at prepare' USING ERRCODE = 'P0001'; END $$")
    query(datanodes[first], f"CREATE CONSTRAINT TRIGGER refuse AFTER UPDATE ON {schema}.cc DEFERRABLE "
                            f"INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION {schema}.refuse()")
    for _ in range(3):
        with pytest.raises(psycopg.Error) as info:
            _transfer(conn, ids[first], ids[last])
        assert info.value.sqlstate == "P0001"
        assert conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
    values = dict(conn.execute("SELECT id, v FROM cc WHERE id IN (%s, %s)", (ids[first], ids[last])).fetchall())
    assert values == {ids[first]: -3, ids[last]: 3}
    assert prepared_on(datanodes) == []
