"""Triggers fired by foreign-key actions (ON DELETE CASCADE, SET NULL, ON UPDATE CASCADE)
run on the datanodes, which carry out the action; the coordinator neither fires nor sees
them. They are checked as the written table's own (`RoutineGuard._cascade_triggers`):
a statement-level trigger so fired (once per datanode, with that node's rows, where
PostgreSQL fires it once) and a row trigger writing a replicated or distributed table
off its row's node are refused (0A000). Before, a multi-node DELETE of the parent fired
the child's statement trigger once per node, and a child's row trigger writing a
replicated table wrote the copy on each row's node alone: the copies diverged, silently."""

from __future__ import annotations

import psycopg
import pytest

from gridpg.cluster.control import Cluster
from tests.cluster_fixtures import create_in_schema

SETUP = [
    "CREATE TABLE {s}.orgs (id int PRIMARY KEY) DISTRIBUTE BY HASH (id)",
    ("CREATE TABLE {s}.members (org_id int NOT NULL REFERENCES {s}.orgs (id) ON DELETE CASCADE, "
     "uid int NOT NULL, PRIMARY KEY (org_id, uid)) DISTRIBUTE BY HASH (org_id)"),
    "CREATE TABLE {s}.log_rep (tag text, n int) DISTRIBUTE BY REPLICATION",
    "CREATE TABLE {s}.log_rr (tag text, n int) DISTRIBUTE BY ROUNDROBIN",
    "INSERT INTO {s}.orgs SELECT g FROM generate_series(1, 8) g",
    "INSERT INTO {s}.members SELECT o, u FROM generate_series(1, 8) o, generate_series(1, 2) u",
]


@pytest.fixture()
def tables(gridpg_cluster: Cluster, schema: str) -> str:
    return create_in_schema(gridpg_cluster, schema, SETUP)


def _refused(gridpg_cluster: Cluster, sql: str) -> str:
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        with pytest.raises(psycopg.Error) as failed:
            conn.execute(sql)
        return failed.value.sqlstate or ""


def _count(gridpg_cluster: Cluster, sql: str) -> int:
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        return int(conn.execute(sql).fetchone()[0])


def test_a_statement_trigger_fired_by_a_cascade_is_refused(gridpg_cluster: Cluster, tables: str) -> None:
    s = tables
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute(f"CREATE FUNCTION {s}.count_gone() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                     f"INSERT INTO {s}.log_rr SELECT 'gone', count(*) FROM old_rows; RETURN NULL; END $$")
        conn.execute(f"CREATE TRIGGER gone AFTER DELETE ON {s}.members REFERENCING OLD TABLE AS old_rows "
                     f"FOR EACH STATEMENT EXECUTE FUNCTION {s}.count_gone()")
    assert _refused(gridpg_cluster, f"DELETE FROM {s}.orgs WHERE id IN (1, 2, 3, 4)") == "0A000"
    assert _count(gridpg_cluster, f"SELECT count(*) FROM {s}.members") == 16
    assert _count(gridpg_cluster, f"SELECT count(*) FROM {s}.log_rr") == 0


def test_a_cascaded_row_trigger_writing_a_replicated_table_is_refused(
        gridpg_cluster: Cluster, tables: str, datanodes: dict[str, str]) -> None:
    s = tables
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute(f"CREATE FUNCTION {s}.note_gone() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                     f"INSERT INTO {s}.log_rep VALUES ('gone', OLD.uid); RETURN OLD; END $$")
        conn.execute(f"CREATE TRIGGER gone BEFORE DELETE ON {s}.members FOR EACH ROW "
                     f"EXECUTE FUNCTION {s}.note_gone()")
    assert _refused(gridpg_cluster, f"DELETE FROM {s}.orgs WHERE id IN (5, 6, 7, 8)") == "0A000"
    copies = []
    for dsn in datanodes.values():
        with psycopg.connect(dsn, autocommit=True) as conn:
            copies.append(conn.execute(f"SELECT count(*) FROM {s}.log_rep").fetchone()[0])
    assert copies == [0] * len(copies)


def test_cascades_whose_triggers_stay_on_the_row_run(gridpg_cluster: Cluster, tables: str) -> None:
    s = tables
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        # fires on INSERT only: a DELETE's cascade does not fire it
        conn.execute(f"CREATE FUNCTION {s}.note_new() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                     f"INSERT INTO {s}.log_rep VALUES ('new', NEW.uid); RETURN NEW; END $$")
        conn.execute(f"CREATE TRIGGER added AFTER INSERT ON {s}.members FOR EACH ROW "
                     f"EXECUTE FUNCTION {s}.note_new()")
        # reads only its own row
        conn.execute(f"CREATE FUNCTION {s}.check_gone() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                     "IF OLD.uid < 0 THEN RAISE EXCEPTION 'negative'; END IF; RETURN OLD; END $$")
        conn.execute(f"CREATE TRIGGER checked BEFORE DELETE ON {s}.members FOR EACH ROW "
                     f"EXECUTE FUNCTION {s}.check_gone()")
        assert conn.execute(f"DELETE FROM {s}.orgs WHERE id IN (1, 2, 3, 4)").rowcount == 4
    assert _count(gridpg_cluster, f"SELECT count(*) FROM {s}.members") == 8
