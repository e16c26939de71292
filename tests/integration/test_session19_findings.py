"""Findings of the 2026-12-06 afternoon session's regression replay (lead)."""

from __future__ import annotations

import psycopg
import pytest

from gridpg.cluster.control import Cluster


def test_a_table_out_of_step_already_stops_no_other_drop_cascade(gridpg_cluster: Cluster, schema: str) -> None:
    """alter_table.sql:1184 leaves an inheritance parent without the column gridpg
    distributed it by; every later DROP ... CASCADE in the database, whatever it dropped,
    was refused (0A000 naming that table: alter_table.sql:1229, 1961, 2096, 2470). The
    check is for the columns the DROP itself takes."""
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute(f"SET search_path TO {schema}")
        conn.execute("CREATE TABLE dropcol (a int, b int)")
        conn.execute("CREATE TABLE dropcol_child (c int) INHERITS (dropcol)")
        conn.execute("ALTER TABLE dropcol DROP COLUMN a")
        conn.execute(f"CREATE SCHEMA {schema}_x")
        conn.execute(f"CREATE TABLE {schema}_x.t (k int, v text)")
        conn.execute(f"DROP SCHEMA {schema}_x CASCADE")
        conn.execute("CREATE DOMAIN dd AS integer")
        conn.execute("CREATE TABLE keyed (k dd, v text) DISTRIBUTE BY HASH (k)")
        with pytest.raises(psycopg.errors.FeatureNotSupported):
            conn.execute("DROP DOMAIN dd CASCADE")  # (the column of this DROP's own: still refused)
        conn.execute("DROP TABLE keyed")
        conn.execute("DROP DOMAIN dd CASCADE")
        conn.execute("DROP TABLE dropcol CASCADE")


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
