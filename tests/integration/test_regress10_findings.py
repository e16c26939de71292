"""What the tenth regression-replay pass (h-regress10, PostgreSQL 18's files) found that
the oracle corpus cannot hold (gridpg refuses where PostgreSQL succeeds, on purpose):
each test fails on the code before it."""

from __future__ import annotations

import psycopg
import pytest

from gridpg.cluster.control import Cluster


def test_dropping_the_distribution_column_of_an_empty_partitioned_table_is_refused(
        gridpg_cluster: Cluster, schema: str) -> None:
    """create_table.sql:749: `ALTER TABLE parent DROP COLUMN c` of the column a
    partitioned parent with no partitions yet is distributed by succeeded (the datanodes'
    parent is not partitioned by it), and then every partition made failed (42703 "column
    named in partition key does not exist") and its rows had nowhere to go (23514). Now
    refused as the datanodes refuse it where the shards are partitioned by it (42P16);
    the table stays usable."""
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute(f"SET search_path TO {schema}")
        conn.execute("CREATE TABLE r10_pcd (u int, id int, b int) PARTITION BY RANGE (id)")
        # (distributed by default by its first column, u)
        with pytest.raises(psycopg.errors.InvalidTableDefinition):
            conn.execute("ALTER TABLE r10_pcd DROP COLUMN u")
        conn.execute("ALTER TABLE r10_pcd DROP COLUMN b")  # any other column goes
        conn.execute("CREATE TABLE r10_pcd_1 PARTITION OF r10_pcd FOR VALUES FROM (1) TO (10)")
        conn.execute("INSERT INTO r10_pcd VALUES (7, 1), (8, 2)")
        assert conn.execute("SELECT u, id FROM r10_pcd ORDER BY u").fetchall() == [(7, 1), (8, 2)]
        with pytest.raises(psycopg.errors.InvalidTableDefinition):
            conn.execute("ALTER TABLE r10_pcd DROP COLUMN u")
