"""An UPDATE of a partitioned table's partition key with row triggers that write other
distributed tables (h-probe28). PostgreSQL moves such a row by deleting it from its
partition and inserting it into another, firing the partitions' DELETE and INSERT row
triggers and none of the AFTER UPDATE ones. gridpg fired the INSERT / DELETE ones on the
datanodes, where they wrote the audit table node-locally (the datanode's own sequence:
a later write collided on its key), or fired AFTER UPDATE ones for moved rows: now refused
with 0A000, nothing written. Updates that move no row, statement triggers with transition
tables and triggers that stay on the datanodes still run, as PostgreSQL runs them (the
corpus part is tests/oracle/corpus/99_probe28.sql).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from gridpg.cluster.control import Cluster
from tests.conftest import sessions_beside_plain

SETUP = [
    "CREATE TABLE log (id bigserial PRIMARY KEY, what text)",
    "CREATE TABLE ev (id int, day date, kind text, PRIMARY KEY (id, day)) PARTITION BY RANGE (day)",
    "CREATE TABLE ev_2024 PARTITION OF ev FOR VALUES FROM ('2024-01-01') TO ('2025-01-01')",
    "CREATE TABLE ev_2025 PARTITION OF ev FOR VALUES FROM ('2025-01-01') TO ('2026-01-01')",
    "INSERT INTO ev VALUES (1, '2024-03-01', 'a'), (2, '2024-05-05', 'b'), (3, '2025-02-02', 'c')",
    ("CREATE FUNCTION ev_log() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO log (what) "
     "VALUES (TG_TABLE_NAME || ' ' || TG_OP || ' ' || coalesce(NEW.id, OLD.id)); RETURN NULL; END $$"),
]


@pytest.fixture()
def both(gridpg_cluster: Cluster, plain_pg: str,
         schema: str) -> Iterator[tuple[psycopg.Connection[Any], psycopg.Connection[Any]]]:
    settings = ("SET client_min_messages TO warning",)
    with sessions_beside_plain([gridpg_cluster.dsn(0)], plain_pg, schema, SETUP, settings) as ((grid,), plain):
        yield grid, plain


def _rows(conn: psycopg.Connection[Any], sql: str) -> list[tuple[Any, ...]]:
    return conn.execute(sql).fetchall()


@pytest.mark.parametrize("event", ["INSERT", "DELETE", "UPDATE", "INSERT OR UPDATE OR DELETE"])
def test_moving_update_with_writing_row_triggers_is_refused(
        both: tuple[psycopg.Connection[Any], psycopg.Connection[Any]], event: str) -> None:
    grid, plain = both
    for conn in both:
        conn.execute(f"CREATE TRIGGER t AFTER {event} ON ev FOR EACH ROW EXECUTE FUNCTION ev_log()")
    plain.execute("UPDATE ev SET day = '2025-01-02' WHERE id = 1")
    with pytest.raises(psycopg.Error) as caught:
        grid.execute("UPDATE ev SET day = '2025-01-02' WHERE id = 1")
    assert caught.value.sqlstate == "0A000", caught.value
    assert "move rows between its partitions" in str(caught.value)
    assert _rows(grid, "SELECT count(*) FROM log") == [(0,)]  # (nothing written node-locally)
    assert _rows(grid, "SELECT tableoid::regclass::text, day::text FROM ev WHERE id = 1") == [("ev_2024", "2024-03-01")]
    # an UPDATE that moves no row fires as PostgreSQL's (the partition's name), and the
    # audit table's own key stays the cluster's
    for conn in both:
        conn.execute("UPDATE ev SET kind = 'x' WHERE id IN (2, 3)")
        conn.execute("INSERT INTO log (what) VALUES ('client')")
    query = "SELECT what FROM log WHERE what <> 'ev_2025 INSERT 1' AND what NOT LIKE 'ev_2024 DELETE%' ORDER BY what"
    assert _rows(grid, query) == _rows(plain, query)


def test_moving_update_with_statement_and_local_triggers_runs(
        both: tuple[psycopg.Connection[Any], psycopg.Connection[Any]]) -> None:
    answers = []
    for conn in both:
        conn.execute("CREATE FUNCTION up() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.kind := upper(NEW.kind); "
                     "RETURN NEW; END $$")
        conn.execute("CREATE TRIGGER up BEFORE INSERT OR UPDATE ON ev FOR EACH ROW EXECUTE FUNCTION up()")
        conn.execute("CREATE FUNCTION st() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO log (what) "
                     "SELECT TG_OP || ' ' || string_agg(n.id || ':' || o.day || '>' || n.day, ',' ORDER BY n.id) "
                     "FROM o JOIN n USING (id); RETURN NULL; END $$")
        conn.execute("CREATE TRIGGER st AFTER UPDATE ON ev REFERENCING OLD TABLE AS o NEW TABLE AS n "
                     "FOR EACH STATEMENT EXECUTE FUNCTION st()")
        conn.execute("UPDATE ev SET day = day + 300 WHERE id <= 2")
        answers.append((_rows(conn, "SELECT tableoid::regclass::text, id, day::text, kind FROM ev ORDER BY id"),
                        _rows(conn, "SELECT what FROM log ORDER BY id")))
    assert answers[0] == answers[1]
    assert answers[0][0][0][0] == "ev_2024" and answers[0][0][1][0] == "ev_2025"


def test_copy_fires_before_row_triggers_as_the_partitions(
        both: tuple[psycopg.Connection[Any], psycopg.Connection[Any]]) -> None:
    """COPY into a partitioned table whose BEFORE ROW trigger writes another distributed
    table: fired by the coordinator, TG_TABLE_NAME names each row's partition."""
    answers = []
    for conn in both:
        conn.execute("CREATE TRIGGER b BEFORE INSERT ON ev FOR EACH ROW EXECUTE FUNCTION ev_log()")
        conn.execute("CREATE OR REPLACE FUNCTION ev_log() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                     "INSERT INTO log (what) VALUES (TG_TABLE_NAME || ' ' || TG_OP || ' ' || NEW.id); "
                     "RETURN NEW; END $$")
        with conn.cursor().copy("COPY ev FROM STDIN WITH (FORMAT csv)") as copy:
            copy.write("7,2024-07-07,g\n8,2025-08-08,h\n")
        answers.append(_rows(conn, "SELECT what FROM log ORDER BY what"))
    assert answers[0] == answers[1] == [("ev_2024 INSERT 7",), ("ev_2025 INSERT 8",)]


def test_values_lists_of_different_lengths(both: tuple[psycopg.Connection[Any], psycopg.Connection[Any]]) -> None:
    messages = []
    for conn in both:
        with pytest.raises(psycopg.Error) as caught:
            conn.execute("INSERT INTO log (id, what) VALUES (100, 'x'), (101, 'y', 'z')")
        messages.append((caught.value.sqlstate, caught.value.diag.message_primary))
    assert messages[0] == messages[1] == [("42601", "VALUES lists must all be the same length")][0]
