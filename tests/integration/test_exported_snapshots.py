"""pg_export_snapshot() and SET TRANSACTION SNAPSHOT across the cluster (txn/exported.py):
what `pg_dump -j` does. Before, every import was refused (0A000) and `pg_dump -j` failed."""

from __future__ import annotations

import shutil
import subprocess

import psycopg
import pytest

from gridpg.cluster.control import Cluster
from gridpg.cluster.pgserver import find_pg_bin


def _rows(conn: psycopg.Connection, schema: str) -> tuple[int, int]:
    row = conn.execute(f"SELECT count(*), coalesce(sum(v), 0) FROM {schema}.snap_t").fetchone()
    assert row is not None
    return int(row[0]), int(row[1])


def test_an_imported_snapshot_sees_what_its_exporter_saw_on_every_node(gridpg_cluster: Cluster,
                                                                       schema: str) -> None:
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as setup:
        setup.execute(f"CREATE TABLE {schema}.snap_t (k int PRIMARY KEY, v int) DISTRIBUTE BY HASH (k)")
        setup.execute(f"INSERT INTO {schema}.snap_t SELECT g, g FROM generate_series(1, 40) g")
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as exporter, \
            psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as writer, \
            psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as importer:
        exporter.execute("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        row = exporter.execute("SELECT pg_catalog.pg_export_snapshot()").fetchone()
        assert row is not None
        token = row[0]
        assert not token.strip("0123456789ABCDEF-")  # (the form clients check)
        seen = _rows(exporter, schema)
        assert seen == (40, 820)
        # rows on every node, committed after the export
        writer.execute(f"INSERT INTO {schema}.snap_t SELECT g, g FROM generate_series(41, 60) g")
        writer.execute(f"UPDATE {schema}.snap_t SET v = v + 1000 WHERE k <= 10")
        importer.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
        importer.execute(f"SET TRANSACTION SNAPSHOT '{token}'")
        assert _rows(importer, schema) == seen
        assert importer.execute(f"SELECT count(*) FROM {schema}.snap_t WHERE v > 1000").fetchone() == (0,)
        importer.execute("ROLLBACK")
        assert _rows(writer, schema) == (60, 820 + 1010 + 10 * 1000)
        # in a block that already read: PostgreSQL's 25001
        importer.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
        importer.execute(f"SELECT count(*) FROM {schema}.snap_t")
        with pytest.raises(psycopg.errors.ActiveSqlTransaction):
            importer.execute(f"SET TRANSACTION SNAPSHOT '{token}'")
        importer.execute("ROLLBACK")
        # under READ COMMITTED: 0A000, as PostgreSQL
        importer.execute("BEGIN")
        with pytest.raises(psycopg.errors.FeatureNotSupported):
            importer.execute(f"SET TRANSACTION SNAPSHOT '{token}'")
        importer.execute("ROLLBACK")
        exporter.execute("ROLLBACK")
        # the exporter ended: its snapshot is gone (42704 at the SET, as PostgreSQL)
        importer.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
        with pytest.raises(psycopg.errors.UndefinedObject):
            importer.execute(f"SET TRANSACTION SNAPSHOT '{token}'")
        importer.execute("ROLLBACK")
        # not an identifier gridpg exported (a plain server's form): 42704; malformed: 22023
        importer.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
        with pytest.raises(psycopg.errors.UndefinedObject):
            importer.execute("SET TRANSACTION SNAPSHOT '00000003-0000001B-1'")
        importer.execute("ROLLBACK")
        importer.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
        with pytest.raises(psycopg.errors.InvalidParameterValue):
            importer.execute("SET TRANSACTION SNAPSHOT 'not-a-snapshot'")
        importer.execute("ROLLBACK")
        # exporting outside a REPEATABLE READ block: refused, with what to do
        with pytest.raises(psycopg.errors.FeatureNotSupported):
            importer.execute("SELECT pg_export_snapshot()")
        importer.execute("ROLLBACK")


def test_parallel_pg_dump(gridpg_cluster: Cluster, schema: str, tmp_path) -> None:
    """`pg_dump -Fd -j 2`: its workers import the leader's snapshot."""
    pg_dump = find_pg_bin() / "pg_dump"
    pg_restore = find_pg_bin() / "pg_restore"
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute(f"CREATE TABLE {schema}.big (k int PRIMARY KEY, v text) DISTRIBUTE BY HASH (k)")
        conn.execute(f"CREATE TABLE {schema}.small (k int PRIMARY KEY, v text) DISTRIBUTE BY REPLICATION")
        conn.execute(f"INSERT INTO {schema}.big SELECT g, 'b' || g FROM generate_series(1, 500) g")
        conn.execute(f"INSERT INTO {schema}.small SELECT g, 's' || g FROM generate_series(1, 7) g")
    out = tmp_path / "dump"
    done = subprocess.run([str(pg_dump), "-d", gridpg_cluster.dsn(0), "-Fd", "-j", "2", "-n", schema,
                           "-f", str(out)], capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    script = subprocess.run([str(pg_restore), "-f", "-", "--data-only", str(out)],
                            capture_output=True, text=True, timeout=120, check=True).stdout
    big = script.split(f"COPY {schema}.big ")[1].split("\\.")[0].strip().splitlines()[1:]
    assert sorted(int(line.split("\t")[0]) for line in big) == list(range(1, 501))
    small = script.split(f"COPY {schema}.small ")[1].split("\\.")[0].strip().splitlines()[1:]
    assert len(small) == 7
    shutil.rmtree(out)
