"""Findings of the 2026-12-06 evening session (lead)."""

from __future__ import annotations

import psycopg

from gridpg.cluster.control import Cluster


def test_the_replication_notice_names_a_key_column_gridpg_cannot_distribute_by(gridpg_cluster: Cluster,
                                                                              schema: str) -> None:
    """A citext primary key made the table replicated with the notice that its keys 'share
    no column': the key has one, of a type gridpg does not hash; the notice says so."""
    notices: list[str] = []
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.add_notice_handler(lambda diag: notices.append(diag.message_primary or ""))
        conn.execute(f"SET search_path TO {schema}")
        conn.execute("CREATE EXTENSION IF NOT EXISTS citext SCHEMA public")
        conn.execute("CREATE TABLE accounts (email public.citext PRIMARY KEY, n int)")
        assert any("email is of type" in n and "citext, which gridpg cannot distribute by" in n for n in notices), notices
        assert conn.execute("SELECT method FROM gridpg.dist_table WHERE schema_name = %s "
                            "AND table_name = 'accounts'", [schema]).fetchone() == ("replication",)
