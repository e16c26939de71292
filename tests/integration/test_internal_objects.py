"""gridpg's own objects on the catalog servers are kept from a client's DDL
(commands/internal_objects.py). Before, `DROP EXTENSION postgres_fdw CASCADE` ran and every
later call of server-side code over distributed tables failed until a restart, and
`DROP SCHEMA gridpg CASCADE` dropped the cluster's metadata on the session's catalog server."""

from __future__ import annotations

import psycopg
import pytest

from gridpg.cluster.control import Cluster

REFUSED = [
    ("DROP EXTENSION postgres_fdw CASCADE", psycopg.errors.DependentObjectsStillExist),
    ("DROP SCHEMA gridpg CASCADE", psycopg.errors.DependentObjectsStillExist),
    ("DROP SCHEMA gridpg_shards CASCADE", psycopg.errors.DependentObjectsStillExist),
    ("DROP SERVER gridpg_loopback CASCADE", psycopg.errors.DependentObjectsStillExist),
    ("DROP USER MAPPING FOR public SERVER gridpg_loopback", psycopg.errors.DependentObjectsStillExist),
    ("DROP EVENT TRIGGER gridpg_loopback_ddl", psycopg.errors.DependentObjectsStillExist),
    ("DROP TABLE gridpg.commit_marker", psycopg.errors.DependentObjectsStillExist),
    ("DROP FUNCTION gridpg.loopback_path()", psycopg.errors.DependentObjectsStillExist),
    ("TRUNCATE gridpg.dist_table", psycopg.errors.InsufficientPrivilege),
    ("ALTER TABLE gridpg.dist_table DROP COLUMN method", psycopg.errors.InsufficientPrivilege),
    ("ALTER SCHEMA gridpg RENAME TO gridpg_old", psycopg.errors.InsufficientPrivilege),
    ("ALTER SERVER gridpg_loopback OPTIONS (SET port '1')", psycopg.errors.InsufficientPrivilege),
    ("ALTER EVENT TRIGGER gridpg_loopback_ddl DISABLE", psycopg.errors.InsufficientPrivilege),
]


@pytest.mark.parametrize(("sql", "error"), REFUSED, ids=[s for s, _ in REFUSED])
def test_gridpg_objects_are_kept(gridpg_cluster: Cluster, schema: str, sql: str, error: type) -> None:
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        with pytest.raises(error):
            conn.execute(sql)
        # the cluster's machinery still works: metadata, and code reaching distributed tables
        conn.execute(f"SET search_path TO {schema}")
        conn.execute("CREATE TABLE kept (k int PRIMARY KEY, v int) DISTRIBUTE BY HASH (k)")
        conn.execute("INSERT INTO kept SELECT g, g FROM generate_series(1, 10) g")
        conn.execute("CREATE FUNCTION kept_sum() RETURNS bigint LANGUAGE plpgsql AS "
                     "$$ BEGIN RETURN (SELECT sum(v) FROM kept); END $$")
        assert conn.execute("SELECT kept_sum()").fetchone() == (55,)
        assert conn.execute("SELECT method FROM gridpg.dist_table WHERE schema_name = %s AND table_name = 'kept'",
                            [schema]).fetchone() == ("hash",)
        conn.execute("DROP TABLE kept; DROP FUNCTION kept_sum()")


def test_a_users_own_foreign_servers_and_schemas_are_theirs(gridpg_cluster: Cluster, schema: str) -> None:
    """What is not gridpg's stays the user's to drop, the extension used by both included in
    IF NOT EXISTS form."""
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS postgres_fdw")
        conn.execute(f"CREATE SERVER {schema}_srv FOREIGN DATA WRAPPER postgres_fdw OPTIONS (host '127.0.0.1')")
        conn.execute(f"CREATE USER MAPPING FOR CURRENT_USER SERVER {schema}_srv")
        conn.execute(f"DROP SERVER {schema}_srv CASCADE")
        conn.execute(f"CREATE SCHEMA {schema}_gridpg_like")
        conn.execute(f"DROP SCHEMA {schema}_gridpg_like")
