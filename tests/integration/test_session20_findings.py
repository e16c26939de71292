"""Findings of the 2026-12-06 evening session (lead)."""

from __future__ import annotations

import time

import psycopg
import pytest

from gridpg.cluster.control import Cluster
from tests.conftest import catalog_dsns, datanode_dsns


def test_the_replication_notice_names_a_key_column_gridpg_cannot_distribute_by(gridpg_cluster: Cluster,
                                                                              schema: str) -> None:
    """A citext primary key made the table replicated with the notice that its keys 'share
    no column': the key has one, of a type gridpg does not hash; the notice says so."""
    notices: list[str] = []
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.add_notice_handler(lambda diag: notices.append(diag.message_primary or ""))
        conn.execute(f"SET search_path TO {schema}")
        # (in the test's schema and dropped after, as a test's objects should be)
        conn.execute(f"CREATE EXTENSION citext SCHEMA {schema}")
        try:
            conn.execute("CREATE TABLE accounts (email citext PRIMARY KEY, n int)")
            assert any("email is of type" in n and "citext, which gridpg cannot distribute by" in n
                       for n in notices), notices
            assert conn.execute("SELECT method FROM gridpg.dist_table WHERE schema_name = %s "
                                "AND table_name = 'accounts'", [schema]).fetchone() == ("replication",)
        finally:
            conn.execute("DROP TABLE IF EXISTS accounts")
            conn.execute("DROP EXTENSION citext")


def test_alter_system_and_reload_reach_every_server(gridpg_cluster: Cluster) -> None:
    """ALTER SYSTEM reached the datanodes but not the other coordinators' catalog servers,
    and pg_reload_conf() reloaded the session's catalog server alone: the datanodes kept
    their old values until a restart. Settings gridpg runs its servers with are refused."""
    servers = {**catalog_dsns(gridpg_cluster), **datanode_dsns(gridpg_cluster)}
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        try:
            conn.execute("ALTER SYSTEM SET work_mem = '7MB'")
            assert conn.execute("SELECT pg_reload_conf()").fetchone() == (True,)
            for name, dsn in servers.items():
                for _ in range(50):  # (a reload is a signal: each server takes it at once, or nearly)
                    with psycopg.connect(dsn, autocommit=True) as server:
                        if server.execute("SHOW work_mem").fetchone() == ("7MB",):
                            break
                    time.sleep(0.1)
                else:
                    raise AssertionError(f"{name} did not take work_mem")
        finally:
            conn.execute("ALTER SYSTEM RESET work_mem")
            conn.execute("SELECT pg_catalog.pg_reload_conf()")
        for sql in ("ALTER SYSTEM SET port = 5999", "ALTER SYSTEM SET max_prepared_transactions = 0",
                    "ALTER SYSTEM SET listen_addresses = '*'", "ALTER SYSTEM RESET ALL"):
            with pytest.raises(psycopg.errors.FeatureNotSupported):
                conn.execute(sql)


def test_pg_stat_reset_resets_every_server(gridpg_cluster: Cluster) -> None:
    """pg_stat_reset() through a coordinator zeroed the catalog server's counters alone;
    pg_stat_user_tables sums the datanodes' (commands/table_stats.py), which stayed."""
    servers = {**catalog_dsns(gridpg_cluster), **datanode_dsns(gridpg_cluster)}
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        started = conn.execute("SELECT clock_timestamp()").fetchone()[0]
        conn.execute("SELECT pg_stat_reset()")
    for name, dsn in servers.items():
        with psycopg.connect(dsn, autocommit=True) as server:
            reset = server.execute("SELECT stats_reset FROM pg_stat_database "
                                   "WHERE datname = current_database()").fetchone()[0]
            assert reset is not None and reset >= started, name


def test_checkpoint_checkpoints_every_server(gridpg_cluster: Cluster) -> None:
    """CHECKPOINT through a coordinator (before a backup, a benchmark) checkpointed the
    session's catalog server alone."""
    servers = {**catalog_dsns(gridpg_cluster), **datanode_dsns(gridpg_cluster)}

    def requested() -> dict[str, int]:
        counts = {}
        for name, dsn in servers.items():
            with psycopg.connect(dsn, autocommit=True) as server:
                counts[name] = server.execute("SELECT num_requested FROM pg_stat_checkpointer").fetchone()[0]
        return counts

    before = requested()
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute("CHECKPOINT")
    after = requested()
    assert all(after[name] > before[name] for name in servers), (before, after)


def test_an_in_subplan_with_order_by_is_merged_not_gathered(gridpg_cluster: Cluster, schema: str) -> None:
    """`SELECT * FROM t WHERE v IN (SELECT ... FROM other) ORDER BY id`: after the subplan the
    `*` was taken for several tables' (the WHERE's scratch table counted as one of the FROM),
    so the merge was refused and the whole of t gathered into the catalog server."""
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute(f"SET search_path TO {schema}")
        conn.execute("CREATE TABLE facts (id int PRIMARY KEY, g int, v int)")
        conn.execute("CREATE TABLE picks (id int PRIMARY KEY, g int)")
        conn.execute("INSERT INTO facts SELECT x, x % 50, x FROM generate_series(1, 2000) x")
        conn.execute("INSERT INTO picks SELECT x, x * 7 FROM generate_series(1, 20) x")
        sql = "SELECT * FROM facts WHERE v IN (SELECT g FROM picks) ORDER BY id"
        plan = "\n".join(r[0] for r in conn.execute(f"EXPLAIN {sql}").fetchall())
        assert "then merge" in plan and "Gather from" not in plan, plan
        rows = conn.execute(sql).fetchall()
        assert rows == [(7 * k, (7 * k) % 50, 7 * k) for k in range(1, 21)]
