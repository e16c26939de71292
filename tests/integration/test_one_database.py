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


@pytest.mark.parametrize("sql", ["CREATE DATABASE gp_second", "DROP DATABASE IF EXISTS gp_second",
                                 "ALTER DATABASE gp_second RENAME TO gp_third"])
def test_database_ddl_is_refused(gridpg_cluster: Cluster, sql: str) -> None:
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        with pytest.raises(psycopg.errors.FeatureNotSupported):
            conn.execute(sql)
        conn.execute("ALTER DATABASE postgres SET work_mem = '8MB'")  # settings still work
        conn.execute("ALTER DATABASE postgres RESET work_mem")
        assert conn.execute("SELECT count(*) FROM pg_database WHERE datname LIKE 'gp\\_%'").fetchone() == (0,)
