"""A MERGE whose INSERT leaves a serial column to its default is refused (0A000) on every
MERGE path: the datanodes would fill it from their own copies of the sequence (duplicate
ids without an error: 20 rows, 12 distinct ids, before). Given explicitly, it runs."""

from __future__ import annotations

import psycopg
import pytest

from gridpg.cluster.control import Cluster


def test_merge_insert_leaving_a_serial_column_is_refused(gridpg_cluster: Cluster, schema: str) -> None:
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute(f"SET search_path TO {schema}")
        conn.execute("CREATE TABLE tgt (k int PRIMARY KEY, id serial, v text)")
        conn.execute("CREATE TABLE src (k int, v text) DISTRIBUTE BY REPLICATION")
        conn.execute("CREATE TABLE co (k int PRIMARY KEY, v text)")
        conn.execute("INSERT INTO src SELECT g, 'v' || g FROM generate_series(1, 20) g")
        conn.execute("INSERT INTO co SELECT g, 'v' || g FROM generate_series(1, 20) g")
        for source in ("src", "co", "(SELECT k, v FROM src)"):
            with pytest.raises(psycopg.errors.FeatureNotSupported):
                conn.execute(f"MERGE INTO tgt t USING {source} s ON t.k = s.k "
                             "WHEN NOT MATCHED THEN INSERT (k, v) VALUES (s.k, s.v)")
        with pytest.raises(psycopg.errors.FeatureNotSupported):
            conn.execute("MERGE INTO tgt t USING src s ON t.k = s.k "
                         "WHEN NOT MATCHED THEN INSERT VALUES (s.k, DEFAULT, s.v)")
        assert conn.execute("SELECT count(*) FROM tgt").fetchone() == (0,)
        conn.execute("MERGE INTO tgt t USING src s ON t.k = s.k "
                     "WHEN NOT MATCHED THEN INSERT (k, id, v) VALUES (s.k, s.k + 100, s.v)")
        assert conn.execute("SELECT count(*), count(DISTINCT id) FROM tgt").fetchone() == (20, 20)
