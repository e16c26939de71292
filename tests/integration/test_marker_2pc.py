"""2PC commits decided by one writer's commit marker (txn/marker.py), on real servers: the
marker is written on the decider and deleted afterwards, a refusal on the decider commits
nothing, and concurrent transfers keep the bank's sum. The faults are in
tests/faults/test_commit_marker.py."""

from __future__ import annotations

import threading
import time

import psycopg
import pytest

from gridpg.cluster.control import Cluster
from tests.cluster_fixtures import prepared_on, query, session


def _ids_by_node(datanodes: dict[str, str], table: str) -> dict[str, int]:
    return {name: int(str(query(dsn, f"SELECT min(id) FROM {table}")[0][0])) for name, dsn in datanodes.items()}


def _markers_written(dsn: str) -> int:
    rows = query(dsn, "SELECT n_tup_ins FROM pg_stat_user_tables WHERE relid = 'gridpg.commit_marker'::regclass")
    return int(str(rows[0][0])) if rows else 0


def test_the_node_first_written_last_decides_and_its_marker_goes(
        gridpg_cluster: Cluster, schema: str, datanodes: dict[str, str]) -> None:
    first, last = sorted(datanodes)
    with session(gridpg_cluster.dsn(), schema) as conn:
        conn.execute("CREATE TABLE acct (id int PRIMARY KEY, v int) DISTRIBUTE BY HASH (id)")
        conn.execute("INSERT INTO acct SELECT g, 0 FROM generate_series(1, 40) g")
        ids = _ids_by_node(datanodes, f"{schema}.acct")
        before = {n: _markers_written(d) for n, d in datanodes.items()}
        deadline = time.monotonic() + 20
        done = 0
        while True:
            done += 1
            with conn.transaction():
                conn.execute("UPDATE acct SET v = v + 1 WHERE id = %s", (ids[first],))
                conn.execute("UPDATE acct SET v = v + 1 WHERE id = %s", (ids[last],))
            if _markers_written(datanodes[last]) > before[last]:
                break
            assert time.monotonic() < deadline, "no marker was ever written on the decider"
            time.sleep(0.3)
        assert _markers_written(datanodes[first]) == before[first]  # it prepared instead
        total = conn.execute("SELECT sum(v) FROM acct").fetchone()
    assert total == (2 * done,)
    deadline = time.monotonic() + 10
    while query(datanodes[last], "SELECT count(*) FROM gridpg.commit_marker")[0][0] != 0:
        assert time.monotonic() < deadline, "the markers were not deleted"
        time.sleep(0.2)
    assert prepared_on(datanodes) == []


def test_a_refusal_at_the_deciders_commit_commits_nothing(
        gridpg_cluster: Cluster, schema: str, datanodes: dict[str, str]) -> None:
    first, last = sorted(datanodes)
    with session(gridpg_cluster.dsn(), schema) as conn:
        conn.execute("CREATE TABLE r (id int PRIMARY KEY, v int) DISTRIBUTE BY HASH (id)")
        conn.execute("INSERT INTO r SELECT g, 0 FROM generate_series(1, 40) g")
        for _ in range(3):  # every worker knows both marker tables by now
            conn.execute("UPDATE r SET v = v")
    ids = _ids_by_node(datanodes, f"{schema}.r")
    query(datanodes[last], f"CREATE FUNCTION {schema}.refuse() RETURNS trigger LANGUAGE plpgsql AS "
                           "$$ BEGIN RAISE EXCEPTION 'refused at commit' USING ERRCODE = 'P0001'; END $$")
    query(datanodes[last], f"CREATE CONSTRAINT TRIGGER refuse AFTER UPDATE ON {schema}.r DEFERRABLE "
                           f"INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION {schema}.refuse()")
    with session(gridpg_cluster.dsn(), schema) as conn:
        for _ in range(3):
            with pytest.raises(psycopg.Error) as info:
                with conn.transaction():
                    conn.execute("UPDATE r SET v = 1 WHERE id = %s", (ids[first],))
                    conn.execute("UPDATE r SET v = 1 WHERE id = %s", (ids[last],))
            assert info.value.sqlstate == "P0001"
        assert conn.execute("SELECT sum(v) FROM r").fetchone() == (0,)
    assert prepared_on(datanodes) == []


def test_concurrent_transfers_keep_the_sum(gridpg_cluster: Cluster, schema: str,
                                           datanodes: dict[str, str]) -> None:
    with session(gridpg_cluster.dsn(), schema) as conn:
        conn.execute("CREATE TABLE bank (id int PRIMARY KEY, v int) DISTRIBUTE BY HASH (id)")
        conn.execute("INSERT INTO bank SELECT g, 100 FROM generate_series(1, 8) g")
    errors: list[BaseException] = []

    def transfer(worker: int) -> None:
        try:
            with session(gridpg_cluster.dsn(worker % 2), schema) as conn:
                for step in range(25):
                    src, dst = 1 + (worker + step) % 8, 1 + (worker * 3 + step * 5 + 1) % 8
                    if src == dst:
                        continue
                    try:
                        with conn.transaction():
                            conn.execute("UPDATE bank SET v = v - 1 WHERE id = %s", (src,))
                            conn.execute("UPDATE bank SET v = v + 1 WHERE id = %s", (dst,))
                    except psycopg.errors.DeadlockDetected:
                        pass  # the monitor broke a cycle across nodes: rolled back whole
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=transfer, args=(w,)) for w in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    with psycopg.connect(gridpg_cluster.dsn(), autocommit=True) as conn:
        assert conn.execute(f"SELECT sum(v) FROM {schema}.bank").fetchone() == (800,)
    assert prepared_on(datanodes) == []


def test_a_block_with_temp_tables_and_ddl_is_decided_by_its_catalog_connection(
        gridpg_cluster: Cluster, schema: str, datanodes: dict[str, str], catalogs: dict[str, str]) -> None:
    """PostgreSQL refuses to PREPARE a transaction that touched temporary objects: the
    session's catalog connection, which holds its temp tables, commits in one phase with
    its marker while the other catalog servers and the datanodes prepare. Before, such a
    block failed at COMMIT (0A000) and its DDL and rows were lost."""
    first_catalog = sorted(catalogs)[0]
    with session(gridpg_cluster.dsn(), schema) as conn:
        conn.execute("CREATE TABLE src (id int PRIMARY KEY, v int) DISTRIBUTE BY HASH (id)")
        conn.execute("INSERT INTO src SELECT g, g FROM generate_series(1, 30) g")
        conn.execute("CREATE TEMP TABLE staging AS SELECT id FROM src WHERE id % 3 = 0")
        before = _markers_written(catalogs[first_catalog]) if query(
            catalogs[first_catalog], "SELECT to_regclass('gridpg.commit_marker') IS NOT NULL")[0][0] else 0
        with conn.transaction():
            conn.execute("CREATE TABLE picked AS SELECT s.* FROM src s JOIN staging USING (id)")
            conn.execute("UPDATE src SET v = -v WHERE id IN (SELECT id FROM staging)")
        assert conn.execute("SELECT count(*), sum(v) FROM picked").fetchone() == (10, 165)
        assert conn.execute("SELECT count(*) FROM src WHERE v < 0").fetchone() == (10,)
        deadline = time.monotonic() + 10  # (the statistics reach the view within a second)
        while _markers_written(catalogs[first_catalog]) == before:  # it decided
            assert time.monotonic() < deadline, "no marker was written on the catalog server"
            time.sleep(0.2)
        with conn.transaction(force_rollback=True):  # nothing of it stays, temp rows included
            conn.execute("INSERT INTO staging VALUES (1000)")
            conn.execute("CREATE TABLE dropped_again (id int)")
            conn.execute("UPDATE src SET v = 0")
        assert conn.execute("SELECT count(*) FROM staging").fetchone() == (10,)
    with session(gridpg_cluster.dsn(1), schema) as other:
        assert other.execute("SELECT count(*) FROM picked").fetchone() == (10,)
        assert other.execute("SELECT to_regclass('dropped_again') IS NULL, count(*) FILTER (WHERE v = 0) "
                             "FROM src").fetchone() == (True, 0)
    assert prepared_on({**datanodes, **catalogs}) == []
