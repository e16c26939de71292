"""Values a datanode computes differently from the client's server must never reach the
client silently (issue 12). OIDs: writes that would store or compare a datanode's OID as
the catalog's number are refused (0A000); names are stored, parameters read by value
(planner/catalog_oids.py). The answers by name are compared with plain PostgreSQL in
tests/oracle/corpus/99_datanode_oids.sql."""

from __future__ import annotations

import psycopg
import pytest

from gridpg.cluster.control import Cluster


def test_writes_that_would_use_a_datanodes_oid_are_refused(gridpg_cluster: Cluster, schema: str) -> None:
    s = schema
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute(f"SET search_path = {s}")
        conn.execute("CREATE TABLE dno (id int PRIMARY KEY, r regclass, o oid)")
        catalog_oid = conn.execute("SELECT 'dno'::regclass::oid").fetchone()[0]
        for sql in ("INSERT INTO dno (id, o) VALUES (1, 'dno'::regclass)",   # would store the node's number
                    f"INSERT INTO dno (id, r) VALUES (2, {catalog_oid})",     # the catalog's number read there
                    f"INSERT INTO dno (id, r) VALUES (2, '{catalog_oid}')",
                    "UPDATE dno SET o = to_regclass('dno') WHERE id = 1",
                    "DELETE FROM dno WHERE r::oid = o",
                    "INSERT INTO dno (id, o) SELECT id + 10, r FROM dno"):
            with pytest.raises(psycopg.errors.FeatureNotSupported):
                conn.execute(sql)
        conn.execute("INSERT INTO dno (id, r, o) VALUES (1, 'dno', %s)", (catalog_oid,))
        conn.execute("INSERT INTO dno (id, r) VALUES (%s, %s)", (2, "dno"))      # a parameter by value
        with pytest.raises(psycopg.errors.FeatureNotSupported):
            conn.execute("INSERT INTO dno (id, r) VALUES (%s, %s)", (3, str(catalog_oid)))
        conn.execute("UPDATE dno SET r = 'dno'::regclass WHERE r = 'dno'::regclass AND id = 2")
        assert conn.execute("SELECT count(*) FROM dno WHERE o = 'dno'::regclass").fetchone() == (1,)
        assert conn.execute("SELECT id, r::oid = o FROM dno ORDER BY id").fetchall() == [(1, True), (2, None)]
        assert conn.execute("SELECT r::oid FROM dno WHERE id = %s", (2,)).fetchone() == (catalog_oid,)
        # the same from the other coordinator, whose catalog server numbers its own
        with psycopg.connect(gridpg_cluster.dsn(1), autocommit=True) as other:
            other.execute(f"SET search_path = {s}")
            mine = other.execute("SELECT 'dno'::regclass::oid").fetchone()[0]
            assert other.execute("SELECT r::oid FROM dno WHERE id = 2").fetchone() == (mine,)
