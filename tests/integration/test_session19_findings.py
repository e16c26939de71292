"""Findings of the 2026-12-06 afternoon session's regression replay (lead)."""

from __future__ import annotations

import psycopg
import pytest

from gridpg.cluster.control import Cluster
from tests.conftest import catalog_dsns


def test_an_inheritance_tree_that_lost_its_distribution_column_is_round_robin(gridpg_cluster: Cluster,
                                                                              schema: str) -> None:
    """alter_table.sql:1184: dropping the column gridpg distributed an inheritance tree by
    (plain tables on the datanodes, which take the DROP) left the metadata naming it: every
    later DROP ... CASCADE in the database was refused for that table (0A000:
    alter_table.sql:1229, 1961, 2096, 2470). The members that lost it are ROUNDROBIN now, their
    rows where they were; a child's own column of that name keeps it (alter_table.sql:1218)."""
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute(f"SET search_path TO {schema}")
        conn.execute("CREATE TABLE dropcol (a int, b int)")
        conn.execute("CREATE TABLE dropcol_child (c int) INHERITS (dropcol)")
        conn.execute("CREATE TABLE p1 (f1 int, f2 int)")
        conn.execute("CREATE TABLE c1 (f1 int NOT NULL) INHERITS (p1)")
        conn.execute("INSERT INTO dropcol VALUES (1, 10), (2, 20)")
        conn.execute("INSERT INTO dropcol_child VALUES (3, 30, 300)")
        conn.execute("ALTER TABLE dropcol DROP COLUMN a")
        conn.execute("ALTER TABLE p1 DROP COLUMN f1")
        methods = conn.execute("SELECT table_name, method, dist_column FROM gridpg.dist_table "
                               "WHERE schema_name = %s ORDER BY 1", [schema]).fetchall()
        assert methods == [("c1", "hash", "f1"), ("dropcol", "roundrobin", None),
                           ("dropcol_child", "roundrobin", None), ("p1", "roundrobin", None)]
        conn.execute("INSERT INTO dropcol VALUES (40)")
        assert conn.execute("SELECT b FROM dropcol ORDER BY b").fetchall() == [(10,), (20,), (30,), (40,)]


def test_a_table_out_of_step_already_stops_no_other_drop_cascade(gridpg_cluster: Cluster, schema: str) -> None:
    """A table whose metadata names a column it no longer has (however that came about) is
    not the doing of a later DROP ... CASCADE, which was refused for it whatever it
    dropped: the check is for the columns the DROP itself takes."""
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute(f"SET search_path TO {schema}")
        conn.execute("CREATE TABLE stale (a int, b int) DISTRIBUTE BY HASH (a)")
        for dsn in catalog_dsns(gridpg_cluster).values():  # (the column gone behind gridpg's back)
            with psycopg.connect(dsn, autocommit=True) as catalog:
                catalog.execute(f"ALTER TABLE {schema}.stale DROP COLUMN a")
        conn.execute(f"CREATE SCHEMA {schema}_x")
        conn.execute(f"CREATE TABLE {schema}_x.t (k int, v text)")
        conn.execute(f"DROP SCHEMA {schema}_x CASCADE")
        conn.execute("CREATE DOMAIN dd AS integer")
        conn.execute("CREATE TABLE keyed (k dd, v text) DISTRIBUTE BY HASH (k)")
        with pytest.raises(psycopg.errors.FeatureNotSupported):
            conn.execute("DROP DOMAIN dd CASCADE")  # (the column of this DROP's own: still refused)
        conn.execute("DROP TABLE keyed")
        conn.execute("DROP DOMAIN dd CASCADE")


def test_a_materialized_view_in_a_schema_the_role_may_not_use_stops_no_drop(gridpg_cluster: Cluster,
                                                                           schema: str) -> None:
    """Every DROP looks for the materialized views it took with it; it looked each one up
    with to_regclass as the client's role, and one in a schema the role may not use failed
    every DROP of that role's (42501 "permission denied for schema", create_role.sql:157)."""
    role = f"{schema}_low"
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as admin:
        admin.execute(f"CREATE SCHEMA {schema}_hidden")
        admin.execute(f"CREATE TABLE {schema}_hidden.base (k int, v int)")
        admin.execute(f"CREATE MATERIALIZED VIEW {schema}_hidden.mv AS SELECT k FROM {schema}_hidden.base")
        admin.execute(f"CREATE ROLE {role}")
        admin.execute(f"GRANT USAGE, CREATE ON SCHEMA {schema} TO {role}")
        try:
            admin.execute(f"SET ROLE {role}")
            admin.execute(f"CREATE TABLE {schema}.mine (k int)")
            admin.execute(f"DROP TABLE {schema}.mine")
            admin.execute("RESET ROLE")
            admin.execute(f"DROP TABLE {schema}_hidden.base CASCADE")  # (the view goes with it, everywhere)
            assert admin.execute(f"SELECT to_regclass('{schema}_hidden.mv')").fetchone() == (None,)
        finally:
            admin.execute("RESET ROLE")
            admin.execute(f"DROP SCHEMA {schema}_hidden CASCADE")
            admin.execute(f"REVOKE ALL ON SCHEMA {schema} FROM {role}")
            admin.execute(f"DROP ROLE {role}")


@pytest.mark.parametrize("coordinator", [0, 1])
def test_insert_select_of_a_large_object_call_without_from(gridpg_cluster: Cluster, schema: str,
                                                          coordinator: int) -> None:
    """largeobject.sql:36: `INSERT INTO t (loid) SELECT lo_creat(42)` was refused (0A000, a
    large-object call in a statement over a distributed table); a SELECT of one row without
    FROM is a VALUES row, whose large-object calls are computed at their home."""
    with psycopg.connect(gridpg_cluster.dsn(coordinator), autocommit=True) as conn:
        conn.execute(f"SET search_path TO {schema}")
        conn.execute("CREATE TABLE stash (loid oid, fd int)")
        conn.execute("INSERT INTO stash (loid) SELECT lo_from_bytea(0, 'daffodils') -- a comment")
        (loid,) = conn.execute("SELECT loid FROM stash").fetchone()  # type: ignore[misc]
        assert conn.execute("SELECT lo_get(%s)", [loid]).fetchone() == (b"daffodils",)
        with pytest.raises(psycopg.errors.FeatureNotSupported):  # (RETURNING: still refused)
            conn.execute("INSERT INTO stash (loid) SELECT lo_creat(-1) RETURNING loid")
        conn.execute("SELECT lo_unlink(%s)", [loid])


def test_create_table_as_keeps_the_columns_collations(gridpg_cluster: Cluster, schema: str) -> None:
    """CREATE TABLE AS / SELECT INTO give a column the collation of its expression (found by
    h-rest19 beside type_sanity.sql): the column took its type's default, and sorts and
    comparisons over it answered differently, silently."""
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute(f"SET search_path TO {schema}")
        conn.execute('CREATE TABLE src (k int, a text COLLATE "C", b varchar(3))')
        conn.execute("INSERT INTO src VALUES (1, 'a', 'x'), (2, 'B', 'y')")
        conn.execute("CREATE TABLE copy AS SELECT k, a, b, a || 'x' AS c, 'q'::text COLLATE \"C\" AS d FROM src")
        conn.execute("SELECT 'z'::text COLLATE \"C\" AS x, 1 AS y INTO into_copy")
        found = conn.execute(
            "SELECT c.relname, a.attname, a.attcollation::regcollation::text FROM pg_attribute a "
            "JOIN pg_class c ON c.oid = a.attrelid WHERE c.relnamespace = %s::regnamespace "
            "AND c.relname IN ('copy', 'into_copy') AND a.attnum > 0 ORDER BY 1, a.attnum", [schema]).fetchall()
        assert found == [("copy", "k", "-"), ("copy", "a", '"C"'), ("copy", "b", '"default"'), ("copy", "c", '"C"'),
                         ("copy", "d", '"C"'), ("into_copy", "x", '"C"'), ("into_copy", "y", "-")]
        assert conn.execute("SELECT a FROM copy ORDER BY a").fetchall() == [("B",), ("a",)]
