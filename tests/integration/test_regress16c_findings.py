"""What the replay of PostgreSQL 18's privileges.sql and its neighbours found (h-regress16c).

GRANT and REVOKE run by server-side code (a DO block, a function's EXECUTE) stayed on the
session's catalog server: the event trigger's check of gridpg's own objects answered NULL
for a command with no schema or identity, so the statement was never captured and run as
distributed DDL. A REVOKE in a DO block left the datanodes granting: the role still read
the rows, silently; a GRANT left it refused (42501).

Statements on roles and databases (CREATE/ALTER/DROP ROLE, GRANT of a role, ALTER DATABASE)
fire no DDL event: run by code they changed one catalog server (`DO $$ BEGIN ALTER ROLE r
NOLOGIN; END $$` and r still logged in through the other coordinator). Refused (0A000).
"""

from __future__ import annotations

import psycopg
import pytest

from gridpg.cluster.control import Cluster


def _privileges(dsns: dict[str, str], sql: str) -> set[bool]:
    out = set()
    for dsn in dsns.values():
        with psycopg.connect(dsn, autocommit=True) as conn:
            out.add(conn.execute(sql).fetchone()[0])
    return out


def test_grant_and_revoke_in_code_reach_every_node(gridpg_cluster: Cluster, schema: str,
                                                    catalogs: dict[str, str], datanodes: dict[str, str]) -> None:
    role = f"r16c_{schema}"[:60]
    table = f'"{schema}".t'
    check = f"SELECT pg_catalog.has_table_privilege('{role}', '{table}', 'SELECT')"
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute(f'DROP ROLE IF EXISTS "{role}"')
        conn.execute(f'CREATE ROLE "{role}"')
        conn.execute(f'GRANT USAGE ON SCHEMA "{schema}" TO "{role}"')
        conn.execute(f"CREATE TABLE {table} (a int PRIMARY KEY)")
        conn.execute(f"INSERT INTO {table} VALUES (1), (2)")
        conn.execute(f"""DO $$BEGIN GRANT SELECT ON {table} TO "{role}"; END$$""")
        assert _privileges({**catalogs, **datanodes}, check) == {True}
        conn.execute(f'SET ROLE "{role}"')
        assert conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0] == 2
        conn.execute("RESET ROLE")
        conn.execute(f"""DO $$BEGIN EXECUTE format('REVOKE SELECT ON %s FROM %I', '{table}', '{role}'); END$$""")
        assert _privileges({**catalogs, **datanodes}, check) == {False}
        conn.execute(f'SET ROLE "{role}"')
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute(f"SELECT count(*) FROM {table}")
        conn.execute("RESET ROLE")
        conn.execute(f"DROP TABLE {table}")
        conn.execute(f'REVOKE USAGE ON SCHEMA "{schema}" FROM "{role}"')
        conn.execute(f'DROP ROLE "{role}"')


def test_role_and_database_changes_in_code_are_refused(gridpg_cluster: Cluster, schema: str,
                                                       catalogs: dict[str, str]) -> None:
    role = f"r16c_l_{schema}"[:60]
    check = f"SELECT rolcanlogin FROM pg_catalog.pg_roles WHERE rolname = '{role}'"
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute(f'DROP ROLE IF EXISTS "{role}"')
        conn.execute(f'CREATE ROLE "{role}" LOGIN')
        with pytest.raises(psycopg.errors.FeatureNotSupported, match="ALTER ROLE"):
            conn.execute(f"""DO $$BEGIN ALTER ROLE "{role}" NOLOGIN; END$$""")
        conn.execute(f'CREATE FUNCTION "{schema}".mk() RETURNS int LANGUAGE plpgsql AS '
                     f"""$$BEGIN CREATE ROLE "{role}_2"; RETURN 1; END$$""")
        with pytest.raises(psycopg.errors.FeatureNotSupported, match="CREATE ROLE"):
            conn.execute(f'SELECT "{schema}".mk()')
        with pytest.raises(psycopg.errors.FeatureNotSupported, match="ALTER DATABASE"):
            conn.execute("""DO $$BEGIN ALTER DATABASE postgres SET work_mem = '5MB'; END$$""")
        assert _privileges(catalogs, check) == {True}
        assert _privileges(catalogs, f"SELECT count(*) = 0 FROM pg_catalog.pg_roles WHERE rolname = '{role}_2'") == {True}
        conn.execute(f'DROP ROLE "{role}"')
