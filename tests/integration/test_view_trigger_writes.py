"""COPY FROM and INSERT into a relation the catalog server holds (a view with an INSTEAD OF
trigger, as in copy2.sql) whose trigger writes a distributed table: the write runs on the
catalog server with the loopback armed (executor/routines.py `_LOCAL_WRITE_KINDS`), so the
trigger's INSERT reaches the cluster's table inside the caller's transaction. Both were
refused (0A000) before. Answers equal plain PostgreSQL's, from both coordinators, in
blocks that commit and roll back."""

from __future__ import annotations

import psycopg

from gridpg.cluster.control import Cluster
from tests.conftest import same_answers_as_plain

# (coordinator, statement, rows for COPY FROM STDIN or None)
SCRIPT: list[tuple[int, str, list[str] | None]] = [
    (0, "CREATE TABLE io_tbl (id serial, name text) @DIST", None),
    (0, "CREATE VIEW io_view AS SELECT ''::text AS str", None),
    (0, ("CREATE FUNCTION io_fun() RETURNS trigger LANGUAGE plpgsql AS "
         "$$ BEGIN INSERT INTO io_tbl (name) VALUES (NEW.str); RETURN NULL; END $$"), None),
    (0, "CREATE TRIGGER io_trig INSTEAD OF INSERT ON io_view FOR EACH ROW EXECUTE FUNCTION io_fun()", None),
    (0, "COPY io_view FROM STDIN", ["test1", "test2"]),
    (0, "/* app */ insert into io_view values ('via insert')", None),
    (1, "COPY io_view FROM STDIN", ["other coordinator"]),
    (1, "BEGIN", None),
    (1, "COPY io_view FROM STDIN", ["rolled back"]),
    (1, "SELECT count(*) FROM io_tbl", None),
    (1, "ROLLBACK", None),
    (0, "BEGIN", None),
    (0, "INSERT INTO io_view VALUES ('committed')", None),
    (0, "COMMIT", None),
    (1, "SELECT name FROM io_tbl ORDER BY name", None),
    (0, "SELECT count(DISTINCT id) FROM io_tbl", None),
]


def _run(dsns: tuple[str, str], schema: str, gridpg: bool) -> list[object]:
    out: list[object] = []
    with psycopg.connect(dsns[0], autocommit=True) as first, psycopg.connect(dsns[1], autocommit=True) as second:
        first.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
        for conn in (first, second):
            conn.execute(f"SET search_path TO {schema}")
        for node, sql, rows in SCRIPT:
            sql = sql.replace("@DIST", "DISTRIBUTE BY HASH (id)" if gridpg else "")
            cur = (first, second)[node].cursor()
            if rows is None:
                cur.execute(sql)
            else:
                with cur.copy(sql) as copy:
                    for row in rows:
                        copy.write_row((row,))
            out.append(cur.fetchall() if cur.description else cur.statusmessage)
    return out


def test_copy_and_insert_into_a_view_whose_trigger_writes_a_distributed_table(
        gridpg_cluster: Cluster, plain_pg: str, schema: str) -> None:
    grid = same_answers_as_plain(_run, [s[1] for s in SCRIPT], gridpg_cluster, plain_pg, schema)
    assert grid[4] == "COPY 2" and grid[-2] == [("committed",), ("other coordinator",), ("test1",),
                                                 ("test2",), ("via insert",)]
