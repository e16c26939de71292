"""A cluster serves one database: a connection naming another is refused (3D000), and
CREATE / DROP / ALTER ... RENAME DATABASE are refused (0A000). Before, CREATE DATABASE made a
database on one catalog server, and a client connecting to it (a restore into a new
database, Django's test database) reached the cluster's own tables without a word."""

from __future__ import annotations

import psycopg
import pytest

from gridpg.cluster.control import Cluster


def test_another_database_name_is_refused(gridpg_cluster: Cluster) -> None:
    with pytest.raises(psycopg.OperationalError) as failed:
        psycopg.connect(gridpg_cluster.dsn(0, database="not_this_one"), connect_timeout=10)
    assert 'database "not_this_one" does not exist' in str(failed.value)
    with psycopg.connect(gridpg_cluster.dsn(1), autocommit=True) as conn:
        assert conn.execute("SELECT current_database()").fetchone() == ("postgres",)


@pytest.mark.parametrize("sql", ["CREATE DATABASE gp_second", "DROP DATABASE IF EXISTS template1",
                                 "ALTER DATABASE gp_second RENAME TO gp_third"])
def test_database_ddl_is_refused(gridpg_cluster: Cluster, sql: str) -> None:
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        with pytest.raises(psycopg.errors.FeatureNotSupported):
            conn.execute(sql)
        conn.execute("ALTER DATABASE postgres SET work_mem = '8MB'")  # settings still work
        conn.execute("ALTER DATABASE postgres RESET work_mem")
        assert conn.execute("SELECT count(*) FROM pg_database WHERE datname LIKE 'gp\\_%'").fetchone() == (0,)


def test_drop_of_a_missing_database_answers_as_postgresql(gridpg_cluster: Cluster) -> None:
    """drop_if_exists.sql:303 (h-regress16a): a database no server has is no second
    database: PostgreSQL's NOTICE under IF EXISTS, 3D000 without, 25001 in a block (they
    were 0A000 "a cluster serves one database")."""
    notices: list[str] = []
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.add_notice_handler(lambda d: notices.append(str(d.message_primary)))
        cur = conn.execute("DROP DATABASE IF EXISTS gp_nowhere WITH (FORCE)")
        assert cur.statusmessage == "DROP DATABASE"
        assert notices == ['database "gp_nowhere" does not exist, skipping']
        with pytest.raises(psycopg.errors.InvalidCatalogName):
            conn.execute("DROP DATABASE gp_nowhere")
        conn.execute("BEGIN")
        with pytest.raises(psycopg.errors.ActiveSqlTransaction):
            conn.execute("DROP DATABASE IF EXISTS gp_nowhere")
        conn.execute("ROLLBACK")
