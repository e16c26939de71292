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
