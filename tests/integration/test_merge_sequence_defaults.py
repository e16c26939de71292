"""A MERGE whose INSERT leaves a serial or identity column to its default takes the
cluster's sequence values on every MERGE path (executor/merge_defaults.py): the source a
replicated table, a colocated distributed table (planned as a pushdown), a subquery. The
datanodes would fill it from their own copies of the sequence (duplicate ids without an
error: 20 rows, 12 distinct ids, before the refusal that came first); then it was refused
(0A000). A default that is an expression around nextval() stays refused and changes
nothing."""

from __future__ import annotations

import psycopg
import pytest

from gridpg.cluster.control import Cluster


def test_merge_insert_leaving_a_serial_column_takes_cluster_values(gridpg_cluster: Cluster, schema: str) -> None:
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute(f"SET search_path TO {schema}")
        conn.execute("CREATE TABLE tgt (k int PRIMARY KEY, id serial, v text)")
        conn.execute("CREATE TABLE src (k int, v text) DISTRIBUTE BY REPLICATION")
        conn.execute("CREATE TABLE co (k int PRIMARY KEY, v text)")
        conn.execute("INSERT INTO src SELECT g, 'v' || g FROM generate_series(1, 20) g")
        conn.execute("INSERT INTO co SELECT g, 'w' || g FROM generate_series(11, 30) g")
        merged = 0
        for source in ("src", "co", "(SELECT k + 20 AS k, v FROM src)"):
            cur = conn.execute(f"MERGE INTO tgt t USING {source} s ON t.k = s.k WHEN MATCHED THEN "
                               "UPDATE SET v = s.v WHEN NOT MATCHED THEN INSERT (k, v) VALUES (s.k, s.v)")
            merged += cur.rowcount
        assert merged == 60
        conn.execute("MERGE INTO tgt t USING src s ON t.k = s.k + 100 "
                     "WHEN NOT MATCHED THEN INSERT VALUES (s.k + 100, DEFAULT, s.v)")
        assert conn.execute("SELECT count(*), count(DISTINCT id), count(id) FROM tgt").fetchone() == (60, 60, 60)
        # the next value the cluster gives is above every value MERGE took
        conn.execute("INSERT INTO tgt (k, v) VALUES (1000, 'after')")
        assert conn.execute("SELECT id = (SELECT max(id) FROM tgt) FROM tgt WHERE k = 1000").fetchone() == (True,)

        conn.execute("CREATE SEQUENCE codes")
        conn.execute("CREATE TABLE coded (k int PRIMARY KEY, code text DEFAULT 'C' || nextval('codes'))")
        with pytest.raises(psycopg.errors.FeatureNotSupported):
            conn.execute("MERGE INTO coded t USING src s ON t.k = s.k WHEN NOT MATCHED THEN INSERT (k) VALUES (s.k)")
        assert conn.execute("SELECT count(*) FROM coded").fetchone() == (0,)
