"""Differences the sixteenth replay of Citus's regression files (h-citus16, 2026-12-06)
showed: DROP OWNED BY left the dropped distributed tables in gridpg's metadata
(drop_partitioned_table.sql:134), create_distributed_table lost the table's extended
statistics on the datanodes (pg13_propagate_statistics.sql:22, propagate_statistics.sql:86),
and CREATE AGGREGATE / STATISTICS in pg_temp ran everywhere (distributed_functions.sql:72,
propagate_statistics.sql:17)."""

from __future__ import annotations

import uuid

import psycopg
import pytest

from gridpg.cluster.control import Cluster


@pytest.fixture()
def conn(gridpg_cluster: Cluster, schema: str):  # type: ignore[no-untyped-def]
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as c:
        c.execute(f"SET search_path TO {schema}, public")
        yield c


def test_drop_owned_forgets_the_roles_distributed_tables(conn: psycopg.Connection, schema: str) -> None:
    role = f"c16_owner_{uuid.uuid4().hex[:8]}"
    conn.execute(f"CREATE ROLE {role}")
    try:
        conn.execute(f"GRANT ALL ON SCHEMA {schema} TO {role}")
        conn.execute(f"SET ROLE {role}")
        conn.execute("CREATE TABLE parent (x text, t timestamptz) PARTITION BY RANGE (t)")
        conn.execute("CREATE TABLE owned (id serial, v text)")
        conn.execute("RESET ROLE")
        conn.execute("CREATE TABLE child1 (x text, t timestamptz)")
        conn.execute("ALTER TABLE parent ATTACH PARTITION child1 FOR VALUES FROM ('2021-05-31') TO ('2021-06-01')")
        conn.execute("SELECT create_distributed_table('parent', 'x')")
        conn.execute("SELECT create_distributed_table('owned', 'v')")
        conn.execute("INSERT INTO parent VALUES ('a', '2021-05-31 10:00')")
        conn.execute("INSERT INTO owned (v) VALUES ('a'), ('b')")
        conn.execute(f"DROP OWNED BY {role}")
        with pytest.raises(psycopg.errors.UndefinedTable):
            conn.execute("SELECT * FROM parent")
        # the same names again: 23505 on gridpg.dist_table before
        conn.execute("CREATE TABLE parent (x text, t timestamptz) PARTITION BY RANGE (t)")
        conn.execute("CREATE TABLE child1 (x text, t timestamptz)")
        conn.execute("ALTER TABLE parent ATTACH PARTITION child1 FOR VALUES FROM ('2021-05-31') TO ('2021-06-01')")
        conn.execute("CREATE TABLE owned (id serial, v text)")
        conn.execute("INSERT INTO parent VALUES ('b', '2021-05-31 11:00')")
        conn.execute("INSERT INTO owned (v) VALUES ('c')")
        assert conn.execute("SELECT x FROM parent").fetchall() == [("b",)]
        assert conn.execute("SELECT id, v FROM owned").fetchall() == [(1, "c")]
    finally:
        conn.execute("RESET ROLE")
        conn.execute(f"DROP OWNED BY {role}")
        conn.execute(f"DROP ROLE {role}")


def test_create_distributed_table_keeps_extended_statistics(conn: psycopg.Connection, schema: str) -> None:
    conn.execute("CREATE TABLE t1 (a int, b int)")
    conn.execute("CREATE STATISTICS s1 ON a, b FROM t1")
    conn.execute("CREATE STATISTICS s2 (dependencies) ON a, b FROM t1")
    conn.execute("ALTER STATISTICS s2 SET STATISTICS 3")
    conn.execute("CREATE SCHEMA IF NOT EXISTS c16_other")
    try:
        conn.execute("CREATE STATISTICS c16_other.\"neW'Stat\" ON a, b FROM t1")
        conn.execute("SELECT create_distributed_table('t1', 'b')")
        # each of these reached the datanodes, which had no such object (42704)
        conn.execute("ALTER STATISTICS s1 SET STATISTICS 46")
        conn.execute("ALTER STATISTICS s2 RENAME TO s3")
        conn.execute("ALTER STATISTICS c16_other.\"neW'Stat\" OWNER TO pg_monitor")
        conn.execute("ANALYZE t1")
        rows = conn.execute(
            "SELECT stxname, stxstattarget FROM pg_statistic_ext WHERE stxrelid = 't1'::regclass "
            "ORDER BY 1").fetchall()
        assert rows == [("neW'Stat", None), ("s1", 46), ("s3", 3)]
        conn.execute("SELECT alter_distributed_table('t1', distribution_column => 'a')")
        conn.execute("DROP STATISTICS s1, s3, c16_other.\"neW'Stat\"")
        assert conn.execute("SELECT count(*) FROM pg_statistic_ext WHERE stxrelid = 't1'::regclass").fetchone() \
            == (0,)
    finally:
        conn.execute("DROP SCHEMA c16_other CASCADE")


def test_aggregates_and_statistics_made_in_pg_temp(conn: psycopg.Connection) -> None:
    conn.execute("CREATE FUNCTION c16_add(int, int) RETURNS int LANGUAGE sql AS 'SELECT $1 + $2'")
    # 0A000 "cannot PREPARE a transaction that has operated on temporary objects" before
    conn.execute("CREATE AGGREGATE pg_temp.c16_sum(int) (sfunc = c16_add, stype = int, initcond = '0')")
    assert conn.execute("SELECT pg_temp.c16_sum(x) FROM generate_series(1, 4) x").fetchone() == (10,)
    conn.execute("CREATE TABLE t2 (a int, b int)")
    conn.execute("CREATE STATISTICS pg_temp.c16_s (dependencies) ON a, b FROM t2")
    conn.execute("ALTER STATISTICS pg_temp.c16_s SET STATISTICS 50")
    conn.execute("DROP STATISTICS pg_temp.c16_s")
    conn.execute("DROP AGGREGATE pg_temp.c16_sum(int)")
    with pytest.raises(psycopg.errors.UndefinedFunction):
        conn.execute("SELECT pg_temp.c16_sum(1)")


def test_create_distributed_table_rebuilds_views_in_a_cycle_and_of_an_extension(
        conn: psycopg.Connection, schema: str) -> None:
    """view_propagation.sql:344/475: the datanode's "cannot drop view" reached the client as
    25P02 (the search_path put back in the aborted block), and the move failed."""
    conn.execute("CREATE TABLE employees (employee_id int, manager_id int, full_name text)")
    conn.execute("INSERT INTO employees VALUES (1, 1, 'a'), (2, 1, 'b')")
    conn.execute("CREATE VIEW v_test_1 AS SELECT * FROM employees")
    conn.execute("CREATE VIEW v_test_2 AS SELECT * FROM employees")
    conn.execute("CREATE OR REPLACE VIEW v_test_1 AS SELECT employees.* FROM employees "
                 "JOIN v_test_2 USING (employee_id)")
    conn.execute("CREATE OR REPLACE VIEW v_test_2 AS SELECT employees.* FROM employees "
                 "JOIN v_test_1 USING (employee_id)")
    conn.execute("CREATE VIEW v_named AS SELECT full_name COLLATE \"C\" AS name FROM employees")
    conn.execute("SELECT create_distributed_table('employees', 'employee_id')")
    assert conn.execute("SELECT name FROM v_named ORDER BY 1").fetchall() == [("a",), ("b",)]
    cycle = conn.execute("SELECT count(*) FROM pg_views WHERE schemaname = %s AND viewname LIKE 'v_test_%%'",
                         (schema,)).fetchone()
    assert cycle == (2,)
    conn.execute("CREATE EXTENSION IF NOT EXISTS seg")
    conn.execute("CREATE TABLE owned_by_ext (id int)")
    conn.execute("CREATE VIEW ext_view AS SELECT * FROM owned_by_ext")
    try:
        conn.execute("ALTER EXTENSION seg ADD VIEW ext_view")
        conn.execute("SELECT create_distributed_table('owned_by_ext', 'id')")
        conn.execute("INSERT INTO owned_by_ext VALUES (1), (2)")
        assert conn.execute("SELECT count(*) FROM ext_view").fetchone() == (2,)
        member = conn.execute("SELECT count(*) FROM pg_depend WHERE objid = 'ext_view'::regclass "
                              "AND deptype = 'e'").fetchone()
        assert member == (1,)
        conn.execute("ALTER EXTENSION seg DROP VIEW ext_view")
    finally:
        conn.execute("DROP EXTENSION seg")


def test_create_distributed_table_keeps_publication_membership(conn: psycopg.Connection, schema: str) -> None:
    """publication.sql:102: ALTER PUBLICATION ... DROP TABLE after the move failed with 42704
    on the datanodes, whose new copy of the table had left the publication."""
    name = f"c16_pub_{uuid.uuid4().hex[:8]}"
    conn.execute('CREATE TABLE test (x int PRIMARY KEY, y int)')
    conn.execute('CREATE TABLE "test-pubs" (x int PRIMARY KEY, y int)')
    conn.execute(f'CREATE PUBLICATION {name} FOR TABLE test, "test-pubs" WITH (publish = \'insert, truncate\')')
    try:
        conn.execute("SELECT create_distributed_table('test', 'x', colocate_with := 'none')")
        conn.execute("SELECT create_distributed_table('\"test-pubs\"', 'x')")
        conn.execute(f"ALTER PUBLICATION {name} DROP TABLE test")
        conn.execute(f"ALTER PUBLICATION {name} ADD TABLE test")
        conn.execute(f'ALTER PUBLICATION {name} DROP TABLE "test-pubs"')
        tables = conn.execute("SELECT tablename FROM pg_publication_tables WHERE pubname = %s",
                              (name,)).fetchall()
        assert tables == [("test",)]
    finally:
        conn.execute(f"DROP PUBLICATION {name}")


def test_code_creating_a_role_is_refused(conn: psycopg.Connection, schema: str) -> None:
    """multi_rls_join_distribution_key.sql:12: a DO block's CREATE USER made the role on the
    coordinator's catalog server alone; GRANT ... TO it then failed with 42704 elsewhere."""
    role = f"c16_app_{uuid.uuid4().hex[:8]}"
    conn.execute("CREATE TABLE held (id int)")
    with pytest.raises(psycopg.errors.FeatureNotSupported, match="CREATE ROLE"):
        conn.execute(f"DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{role}') THEN "
                     f"CREATE USER {role}; END IF; END $$")
    assert conn.execute("SELECT count(*) FROM pg_roles WHERE rolname = %s", (role,)).fetchone() == (0,)
    conn.execute(f"CREATE USER {role}")  # as a statement: on every server
    try:
        conn.execute(f"GRANT ALL ON SCHEMA {schema} TO {role}")
        conn.execute(f"GRANT SELECT ON held TO {role}")
    finally:
        conn.execute(f"DROP OWNED BY {role}")
        conn.execute(f"DROP ROLE {role}")


def test_drop_schema_forgets_partitions_in_other_schemas(conn: psycopg.Connection, schema: str) -> None:
    """drop_partitioned_table.sql:212: DROP SCHEMA ... CASCADE of a parent whose partitions
    live in another schema left their metadata: CREATE TABLE of the name failed with 23505."""
    conn.execute("CREATE SCHEMA c16_schema1")
    try:
        conn.execute("CREATE TABLE c16_schema1.parent (x text, t timestamptz) PARTITION BY RANGE (t)")
        conn.execute("CREATE TABLE child1 (x text, t timestamptz)")
        conn.execute("ALTER TABLE c16_schema1.parent ATTACH PARTITION child1 FOR VALUES FROM ('2021-05-31') "
                     "TO ('2021-06-01')")
        conn.execute("SELECT create_distributed_table('c16_schema1.parent', 'x')")
    finally:
        conn.execute("DROP SCHEMA c16_schema1 CASCADE")
    conn.execute("CREATE TABLE child1 (x text, t timestamptz)")
    conn.execute("INSERT INTO child1 VALUES ('a', '2021-05-31 10:00')")
    assert conn.execute("SELECT x FROM child1").fetchall() == [("a",)]
