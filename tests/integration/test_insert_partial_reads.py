"""An INSERT whose ON CONFLICT DO UPDATE reads a distributed table in a sub-select is
refused with 0A000 (executor/dml.ensure_no_partial_reads): it runs on the node of each
inserted row, where the sub-select counted that node's share only and the INSERT stored
it as the table's (silently). One whose RETURNING list alone does runs as a
data-modifying WITH (executor/returning_reads.py, h-returning28): the whole table's
answer, read before the write. A sub-select over a REPLICATION table, complete on every
node, still runs as written."""

from __future__ import annotations

import psycopg
import pytest

from gridpg.cluster.control import Cluster
from tests.cluster_fixtures import create_in_schema

SETUP = [
    "CREATE TABLE {s}.t (id int PRIMARY KEY, v int) DISTRIBUTE BY HASH (id)",
    "CREATE TABLE {s}.src (k int PRIMARY KEY, v int) DISTRIBUTE BY HASH (k)",
    "CREATE TABLE {s}.ref (id int PRIMARY KEY, v int) DISTRIBUTE BY REPLICATION",
    "INSERT INTO {s}.t SELECT g, g FROM generate_series(1, 20) g",
    "INSERT INTO {s}.src SELECT g, g * 2 FROM generate_series(1, 20) g",
    "INSERT INTO {s}.ref SELECT g, g FROM generate_series(1, 5) g",
]


@pytest.fixture()
def tables(gridpg_cluster: Cluster, schema: str) -> str:
    return create_in_schema(gridpg_cluster, schema, SETUP)


@pytest.mark.parametrize(("sql", "answer"), [
    ("INSERT INTO {s}.t VALUES (100, 1) RETURNING id, (SELECT count(*) FROM {s}.t)", [(100, 20)]),
    ("INSERT INTO {s}.t VALUES (101, 1), (102, 2) RETURNING (SELECT count(*) FROM {s}.src)", [(20,), (20,)]),
    ("INSERT INTO {s}.t SELECT k + 200, v FROM {s}.src WHERE k < 3 RETURNING (SELECT max(v) FROM {s}.src)",
     [(40,), (40,)]),
    ("INSERT INTO {s}.ref VALUES (10, 10) RETURNING (SELECT count(*) FROM {s}.src)", [(20,)]),
])
def test_returning_sub_selects_read_the_whole_table(gridpg_cluster: Cluster, tables: str, sql: str,
                                                    answer: list[tuple[int, ...]]) -> None:
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        cur = conn.execute(sql.format(s=tables))
        assert cur.fetchall() == answer
        assert cur.statusmessage == f"INSERT 0 {len(answer)}"


@pytest.mark.parametrize("sql", [
    "INSERT INTO {s}.t VALUES (1, 1) ON CONFLICT (id) DO UPDATE SET v = (SELECT count(*) FROM {s}.src)",
    ("INSERT INTO {s}.t VALUES (2, 1) ON CONFLICT (id) DO UPDATE SET v = 5 "
     "WHERE (SELECT count(*) FROM {s}.src) > 15"),
    ("INSERT INTO {s}.t SELECT k, v FROM {s}.src WHERE k < 3 ON CONFLICT (id) "
     "DO UPDATE SET v = (SELECT max(v) FROM {s}.src)"),
])
def test_node_local_sub_selects_are_refused(gridpg_cluster: Cluster, tables: str, sql: str) -> None:
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        with pytest.raises(psycopg.errors.FeatureNotSupported, match="sub-select over distributed table"):
            conn.execute(sql.format(s=tables))
        assert conn.execute(f"SELECT count(*), sum(v) FROM {tables}.t").fetchone() == (20, 210)
        assert conn.execute(f"SELECT count(*) FROM {tables}.ref").fetchone() == (5,)


def test_reference_and_plain_returning_still_run(gridpg_cluster: Cluster, tables: str) -> None:
    s = tables
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        rows = conn.execute(f"INSERT INTO {s}.t VALUES (300, 3), (301, 4) "
                            f"RETURNING id, (SELECT count(*) FROM {s}.ref)").fetchall()
        assert sorted(rows) == [(300, 5), (301, 5)]
        row = conn.execute(f"INSERT INTO {s}.t VALUES (1, 0) ON CONFLICT (id) DO UPDATE "
                           f"SET v = (SELECT max(v) FROM {s}.ref) RETURNING v").fetchone()
        assert row == (5,)


def test_returning_sub_selects_beside_triggers_are_refused(gridpg_cluster: Cluster, tables: str) -> None:
    """What the target's triggers write is stored before the RETURNING list is read (as
    a data-modifying WITH's later part), where PostgreSQL's sub-select sees the tables as
    before the statement: refused, also for triggers the coordinator fires itself."""
    s = tables
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute(f"CREATE FUNCTION {s}.note() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                     f"INSERT INTO {s}.src VALUES (NEW.id + 1000, 0); RETURN NEW; END $$")
        conn.execute(f"CREATE TRIGGER t_note AFTER INSERT ON {s}.t FOR EACH ROW EXECUTE FUNCTION {s}.note()")
        for sql in (f"INSERT INTO {s}.t VALUES (500, 1) RETURNING (SELECT count(*) FROM {s}.src)",
                    f"INSERT INTO {s}.t VALUES (501, 1) ON CONFLICT DO NOTHING RETURNING id, "
                    f"(SELECT max(k) FROM {s}.src)"):
            with pytest.raises(psycopg.errors.FeatureNotSupported, match="which has triggers or rules"):
                conn.execute(sql)
        # (the same as a data-modifying WITH: its main statement ran after the INSERT and
        # its triggers, and counted their row, 21 where PostgreSQL says 20)
        with pytest.raises(psycopg.errors.FeatureNotSupported, match="which has triggers or rules"):
            conn.execute(f"WITH w AS (INSERT INTO {s}.t VALUES (503, 1) RETURNING *) "
                         f"SELECT id, (SELECT count(*) FROM {s}.src) FROM w")
        assert conn.execute(f"SELECT count(*) FROM {s}.src").fetchone() == (20,)
        assert conn.execute(f"INSERT INTO {s}.t VALUES (502, 1) RETURNING id").fetchall() == [(502,)]
        assert conn.execute(f"SELECT count(*) FROM {s}.src").fetchone() == (21,)


def test_row_by_row_returning_sub_selects_are_refused(gridpg_cluster: Cluster, tables: str) -> None:
    """An UPDATE or DELETE whose BEFORE ROW triggers reach other distributed tables runs
    row by row on the rows' nodes (executor/row_writes.py): a RETURNING sub-select there
    counted one node's share (16 of 20), silently, until h-returning28; refused now."""
    s = tables
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute(f"CREATE FUNCTION {s}.mark() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                     f"INSERT INTO {s}.src VALUES (OLD.id + 2000, 0); RETURN NEW; END $$")
        conn.execute(f"CREATE TRIGGER t_mark BEFORE UPDATE ON {s}.t FOR EACH ROW EXECUTE FUNCTION {s}.mark()")
        with pytest.raises(psycopg.errors.FeatureNotSupported, match="one by one"):
            conn.execute(f"UPDATE {s}.t SET v = v + 1 WHERE id = 3 RETURNING id, (SELECT count(*) FROM {s}.src)")
        assert conn.execute(f"UPDATE {s}.t SET v = v + 1 WHERE id = 3 RETURNING id, v").fetchall() == [(3, 4)]
        assert conn.execute(f"SELECT count(*) FROM {s}.src").fetchone() == (21,)
