"""A ctid does not name one row of a distributed table (planner/row_ids.py): every shard
(a partition on its datanode) and every replica numbers its rows on its own. Statements
that compare ctids across shards (`WHERE ctid = '(0,1)'`, the dedupe by `a.ctid < b.ctid`
on a column that is not the distribution column, `ctid IN (SELECT min(ctid) ...)`) matched
rows in every shard and deleted rows PostgreSQL keeps, silently; they are refused with
0A000 and change nothing. The dedupe joined on the distribution column, a statement
routed to one shard and ctid in the output still run."""

from __future__ import annotations

import psycopg
import pytest

from gridpg.cluster.control import Cluster
from tests.cluster_fixtures import create_in_schema

SETUP = [
    "CREATE TABLE {s}.t (id int, k int, v int) DISTRIBUTE BY HASH (id)",
    "INSERT INTO {s}.t SELECT g, g % 5, g FROM generate_series(1, 40) g",
    "INSERT INTO {s}.t SELECT id, k, v FROM {s}.t WHERE id <= 10",
    "CREATE TABLE {s}.ref (id int PRIMARY KEY, v int) DISTRIBUTE BY REPLICATION",
    "INSERT INTO {s}.ref SELECT g, g FROM generate_series(1, 5) g",
]


@pytest.fixture()
def tables(gridpg_cluster: Cluster, schema: str) -> str:
    return create_in_schema(gridpg_cluster, schema, SETUP)


@pytest.mark.parametrize("sql", [
    "SELECT count(*) FROM {s}.t WHERE ctid = '(0,1)'",
    "DELETE FROM {s}.t WHERE ctid = '(0,1)'",
    "DELETE FROM {s}.t a USING {s}.t b WHERE a.ctid < b.ctid AND a.k = b.k",
    "DELETE FROM {s}.t WHERE ctid NOT IN (SELECT min(ctid) FROM {s}.t GROUP BY k)",
    "DELETE FROM {s}.t a USING {s}.t b WHERE a.ctid < b.ctid AND a.id = b.id AND a.ctid IN (SELECT ctid FROM {s}.t)",
    "UPDATE {s}.t SET v = 0 WHERE ctid = (SELECT ctid FROM {s}.t ORDER BY id LIMIT 1)",
    "UPDATE {s}.ref SET v = 0 WHERE ctid = '(0,1)'",
    # the SELECT list combining the ctids of several shards (PostgreSQL's manual on system
    # columns): 50 rows gave count(DISTINCT ctid) 4, min/max and ORDER BY ctid LIMIT each
    # shard's first rows, a comparison true in every shard
    "SELECT count(DISTINCT ctid) FROM {s}.t",
    "SELECT count(DISTINCT a.ctid) FROM {s}.t a JOIN {s}.t b ON a.id = b.id",
    "SELECT k, min(ctid), max(ctid) FROM {s}.t GROUP BY k",
    "SELECT DISTINCT ctid FROM {s}.t",
    "SELECT ctid::text AS c, count(*) FROM {s}.t GROUP BY c",
    "SELECT ctid, id FROM {s}.t ORDER BY ctid LIMIT 3",
    "SELECT id, row_number() OVER (ORDER BY ctid) FROM {s}.t",
    "SELECT id, ctid = '(0,1)' FROM {s}.t",
])
def test_ctid_across_shards_is_refused(gridpg_cluster: Cluster, tables: str, sql: str) -> None:
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        with pytest.raises(psycopg.errors.FeatureNotSupported, match="ctid"):
            conn.execute(sql.format(s=tables))
        assert conn.execute(f"SELECT count(*), sum(v) FROM {tables}.t").fetchone() == (50, 875)
        assert conn.execute(f"SELECT count(*), sum(v) FROM {tables}.ref").fetchone() == (5, 15)


def test_ctid_within_one_shard_runs(gridpg_cluster: Cluster, tables: str) -> None:
    s = tables
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        assert len(conn.execute(f"SELECT ctid, * FROM {s}.t ORDER BY ctid").fetchall()) == 50
        shown = conn.execute(f"SELECT ctid::text, (ctid::text::point)[0], id FROM {s}.t").fetchall()
        assert len(shown) == 50
        assert conn.execute(f"SELECT count(DISTINCT ctid) FROM {s}.t WHERE id = 7").fetchone() == (2,)
        assert conn.execute(f"SELECT count(DISTINCT ctid), min(ctid) FROM {s}.ref").fetchone() == (5, "(0,1)")
        assert conn.execute(f"SELECT count(*) FROM {s}.ref WHERE ctid = '(0,1)'").fetchone() == (1,)
        ctid = conn.execute(f"SELECT ctid FROM {s}.t WHERE id = 20").fetchone()[0]
        assert conn.execute(f"UPDATE {s}.t SET v = 0 WHERE id = 20 AND ctid = %s", (ctid,)).rowcount == 1
        deleted = conn.execute(f"DELETE FROM {s}.t a USING {s}.t b WHERE a.ctid < b.ctid AND a.id = b.id")
        assert deleted.rowcount == 10
        assert conn.execute(f"SELECT count(*), count(DISTINCT id) FROM {s}.t").fetchone() == (40, 40)
