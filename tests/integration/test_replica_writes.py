"""Writes to a REPLICATION table leave every replica equal (planner/replicas.py): volatile
calls in INSERT ... VALUES and volatile column defaults are evaluated once by the
coordinator, and writes each node would compute for itself (random(), clock_timestamp(),
an unordered LIMIT, string_agg without ORDER BY, a gen_random_uuid() default left to an
INSERT ... SELECT, a user's VOLATILE function called in the write or by a default) are refused with 0A000 instead of storing different rows per node.
The replicas are read on each datanode directly."""

from __future__ import annotations

import psycopg
import pytest

from gridpg.cluster.control import Cluster
from tests.cluster_fixtures import create_in_schema

SETUP = [
    "CREATE TABLE {s}.src (id int PRIMARY KEY, v int) DISTRIBUTE BY HASH (id)",
    "INSERT INTO {s}.src SELECT g, g FROM generate_series(1, 40) g",
    ("CREATE TABLE {s}.ref (id int PRIMARY KEY, v float8, ts timestamptz, note text, "
     "u uuid DEFAULT gen_random_uuid(), made timestamptz DEFAULT clock_timestamp()) "
     "DISTRIBUTE BY REPLICATION"),
    "INSERT INTO {s}.ref (id, v, note, u, made) SELECT id, 0, 'a', NULL, NULL FROM {s}.src",
    # a user's function is VOLATILE unless declared otherwise
    "CREATE FUNCTION {s}.jitter() RETURNS float8 LANGUAGE sql AS 'SELECT random()'",
    "CREATE FUNCTION {s}.twice(x float8) RETURNS float8 LANGUAGE sql IMMUTABLE AS 'SELECT x * 2'",
    ("CREATE TABLE {s}.ref2 (id int PRIMARY KEY, v float8, w float8 DEFAULT {s}.jitter()) "
     "DISTRIBUTE BY REPLICATION"),
]


@pytest.fixture()
def tables(gridpg_cluster: Cluster, schema: str) -> str:
    return create_in_schema(gridpg_cluster, schema, SETUP)


def _replicas(datanodes: dict[str, str], schema: str) -> list[list[tuple[object, ...]]]:
    out = []
    for dsn in datanodes.values():
        with psycopg.connect(dsn, autocommit=True) as conn:
            out.append(conn.execute(f"SELECT * FROM {schema}.ref ORDER BY id").fetchall()
                       + conn.execute(f"SELECT * FROM {schema}.ref2 ORDER BY id").fetchall())
    return out


def test_volatile_values_and_defaults_are_evaluated_once(gridpg_cluster: Cluster, tables: str,
                                                         datanodes: dict[str, str]) -> None:
    s = tables
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute(f"INSERT INTO {s}.ref (id, v, ts, note) VALUES (100, random(), clock_timestamp(), "
                     "gen_random_uuid()::text), (101, random(), now(), md5(random()::text))")
        conn.execute(f"INSERT INTO {s}.ref (id, v) VALUES (102, 1)")  # u and made by default
        conn.execute(f"INSERT INTO {s}.ref (id, v, u) VALUES (%s, %s, DEFAULT)", (103, 2))
        rows = conn.execute(f"SELECT count(*), count(DISTINCT u) FROM {s}.ref WHERE id >= 100").fetchone()
        assert rows == (4, 4)  # 100 and 101 take their u from the default as well
    first, *others = _replicas(datanodes, s)
    assert len(first) == 44 and all(other == first for other in others)


def test_volatile_set_items_computed_once(gridpg_cluster: Cluster, tables: str, datanodes: dict[str, str]) -> None:
    """A SET item calling a volatile built-in is computed once per row, on the first
    replica, and every replica takes its values (executor/update_volatile.py)."""
    s = tables
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        assert conn.execute(f"UPDATE {s}.ref SET v = random() WHERE id <= 3").rowcount == 3
        assert conn.execute(f"UPDATE {s}.ref SET ts = clock_timestamp() WHERE id = 1").rowcount == 1
    first, *others = _replicas(datanodes, s)
    assert len(first) == 40 and all(other == first for other in others)


@pytest.mark.parametrize("sql", [
    "DELETE FROM {s}.ref WHERE id IN (SELECT id FROM {s}.src LIMIT 3)",
    "DELETE FROM {s}.ref WHERE v < random()",
    "INSERT INTO {s}.ref (id, v) SELECT id + 1000, v FROM {s}.src",
    ("MERGE INTO {s}.ref r USING {s}.ref q ON r.id = q.id + 1 "
     "WHEN MATCHED THEN UPDATE SET v = random()"),
    "UPDATE {s}.ref SET u = DEFAULT WHERE id = 1",
    "INSERT INTO {s}.ref (id, v) VALUES (1, 1) ON CONFLICT (id) DO UPDATE SET made = DEFAULT",
    "INSERT INTO {s}.ref (id, v) VALUES (1, 1) ON CONFLICT (id) DO UPDATE SET v = random()",
    ("MERGE INTO {s}.ref r USING (SELECT 500 AS id) q ON r.id = q.id "
     "WHEN NOT MATCHED THEN INSERT (id, v, u, made) VALUES (q.id, 1, NULL, DEFAULT)"),
    "MERGE INTO {s}.ref r USING (SELECT 501 AS id) q ON r.id = q.id WHEN NOT MATCHED THEN INSERT (id) VALUES (q.id)",
    "UPDATE {s}.ref SET v = src.v FROM {s}.src WHERE src.v % 10 = ref.id % 10",  # a row joined 4 times
    "UPDATE {s}.ref SET v = {s}.jitter() WHERE id = 1",
    "UPDATE {s}.ref SET v = twice(jitter()) WHERE id = 1",  # (search_path names the schema)
    "DELETE FROM {s}.ref WHERE v > jitter()",
    "INSERT INTO {s}.ref (id, v) VALUES (1, 1) ON CONFLICT (id) DO UPDATE SET v = {s}.jitter()",
    "INSERT INTO {s}.ref2 (id, v) SELECT id, v FROM {s}.src",  # w left to jitter()
    "INSERT INTO {s}.ref2 SELECT id, v FROM {s}.src",  # likewise, without a column list
])
def test_writes_each_node_would_compute_are_refused(gridpg_cluster: Cluster, tables: str,
                                                    datanodes: dict[str, str], sql: str) -> None:
    s = tables
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute(f"SET search_path = {s}, public")
        with pytest.raises(psycopg.errors.FeatureNotSupported, match="REPLICATION table"):
            conn.execute(sql.format(s=s))
    first, *others = _replicas(datanodes, s)
    assert len(first) == 40 and all(other == first for other in others)


@pytest.mark.parametrize("sql", [
    "UPDATE {s}.ref SET note = (SELECT string_agg(id::text, ',') FROM {s}.src) WHERE id = 4",
    "UPDATE {s}.ref SET v = (SELECT v FROM {s}.src LIMIT 1) WHERE id = 5",
])
def test_order_dependent_sub_selects_run_once(gridpg_cluster: Cluster, tables: str,
                                              datanodes: dict[str, str], sql: str) -> None:
    """An uncorrelated sub-select whose value depends on the order rows come in (refused
    before: each replica would compute its own) runs first, once, as PostgreSQL runs it
    (planner/subplans.split_write_scalars, h-merge24): every replica gets its value."""
    s = tables
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute(f"SET search_path = {s}, public")
        assert conn.execute(sql.format(s=s)).rowcount == 1
    first, *others = _replicas(datanodes, s)
    assert len(first) == 40 and all(other == first for other in others)


def test_deterministic_writes_still_run(gridpg_cluster: Cluster, tables: str, datanodes: dict[str, str]) -> None:
    s = tables
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute(f"UPDATE {s}.ref SET note = (SELECT string_agg(id::text, ',' ORDER BY id) "
                     f"FROM {s}.src WHERE id < 4) WHERE id = 4")
        conn.execute(f"UPDATE {s}.ref SET v = (SELECT v FROM {s}.src ORDER BY id DESC LIMIT 1), "
                     "ts = now() WHERE id = 5 RETURNING random()")
        conn.execute(f"INSERT INTO {s}.ref (id, v, u, made) SELECT id + 1000, v, NULL, now() FROM {s}.src")
        conn.execute(f"UPDATE {s}.ref SET v = DEFAULT, ts = now() WHERE id = 6")
        updated = conn.execute(f"WITH x AS (SELECT 1 AS one) UPDATE {s}.ref AS r SET v = src.v + x.one "
                               f"FROM {s}.src, x WHERE src.id = r.id + 1 AND r.id BETWEEN 10 AND 17")
        assert updated.rowcount == 8  # each row joined once: runs
        conn.execute(f"INSERT INTO {s}.ref (id, v) VALUES (7, 1) ON CONFLICT (id) DO UPDATE SET v = DEFAULT")
        conn.execute(f"UPDATE {s}.ref SET v = {s}.twice(v) WHERE id = 8")  # IMMUTABLE: runs
        conn.execute(f"INSERT INTO {s}.ref2 (id, v) VALUES (1, {s}.jitter()), (2, 1)")  # evaluated once
        conn.execute(f"INSERT INTO {s}.ref2 SELECT id, v, 0 FROM {s}.src WHERE id > 2")
        assert conn.execute(f"SELECT note FROM {s}.ref WHERE id = 4").fetchone() == ("1,2,3",)
        assert conn.execute(f"SELECT v FROM {s}.ref WHERE id = 5").fetchone() == (40.0,)
    first, *others = _replicas(datanodes, s)
    assert len(first) == 80 + 40 and all(other == first for other in others)


def test_transaction_time_defaults_are_one_instant_on_every_replica(
        gridpg_cluster: Cluster, tables: str, datanodes: dict[str, str]) -> None:
    """A default reading the transaction's time (now()) is evaluated by each node from its
    own transaction's start where the coordinator does not pin it: a MERGE ... INSERT and a
    COPY leaving such a column out stored another instant on every replica (silently); they
    were refused; the coordinator now pins them (MERGE since h-refuse25, a COPY since
    h-left25), and every replica holds the same rows."""
    s = tables
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute(f"CREATE TABLE {s}.ref3 (id int PRIMARY KEY, note text, made timestamptz DEFAULT now(), "
                     "day date DEFAULT current_date) DISTRIBUTE BY REPLICATION")
        for sql in (f"MERGE INTO {s}.ref3 r USING (SELECT 1 AS id) q ON r.id = q.id "
                    "WHEN NOT MATCHED THEN INSERT (id, day) VALUES (q.id, '2020-01-01')",
                    f"MERGE INTO {s}.ref3 r USING (SELECT 1 AS id) q ON r.id = q.id "
                    "WHEN NOT MATCHED THEN INSERT VALUES (q.id, 'x', DEFAULT, '2020-01-01')"):
            conn.execute(sql)  # pinned since h-refuse25 (merge_defaults.pin_insert_time_defaults)
        # a COPY now gives the instant itself (executor/copy_instant.py, h-left25)
        with conn.cursor().copy(f"COPY {s}.ref3 (id, note) FROM STDIN") as copy:
            copy.write_row((2, "copied"))
        with conn.cursor().copy(f"COPY {s}.ref3 (id, note, made, day) FROM STDIN") as copy:
            copy.write_row((3, "all columns", "2020-01-01 00:00:00+00", "2020-01-01"))
        conn.execute(f"INSERT INTO {s}.ref3 (id, note) VALUES (4, 'values'), (5, 'values')")
        conn.execute(f"INSERT INTO {s}.ref3 (id, note) SELECT id + 10, 'select' FROM {s}.src WHERE id < 5")
        conn.execute(f"UPDATE {s}.ref3 SET made = DEFAULT WHERE id = 3")
        conn.execute(f"MERGE INTO {s}.ref3 r USING (SELECT 4 AS id) q ON r.id = q.id "
                     "WHEN MATCHED THEN UPDATE SET made = DEFAULT")
        conn.execute(f"MERGE INTO {s}.ref3 r USING (SELECT 6 AS id) q ON r.id = q.id "
                     "WHEN NOT MATCHED THEN INSERT VALUES (q.id, 'merged', now(), current_date)")
    replicas = []
    for dsn in datanodes.values():
        with psycopg.connect(dsn, autocommit=True) as conn:
            replicas.append(conn.execute(f"SELECT * FROM {s}.ref3 ORDER BY id").fetchall())
    first, *others = replicas
    assert [r[0] for r in first] == [1, 2, 3, 4, 5, 6, 11, 12, 13, 14]
    assert all(other == first for other in others)
