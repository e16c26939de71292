"""A dump written by plain PostgreSQL's pg_dump, restored into gridpg through a coordinator
with psql (h-dump19): every statement of it runs, and the restored tables and views answer
as the same dump restored into plain PostgreSQL.

The schema is built on the plain server, dumped there (plain format), and the text is run
on both sides, so the comparison is between two restores of one dump.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import psycopg
import pytest

from gridpg.cluster.control import Cluster
from gridpg.cluster.pgserver import find_pg_bin
from tests.conftest import database_on, datanode_dsns

# An inheritance parent read with and without ONLY next to a bigger table on another
# distribution: the view's join has no equality, so gridpg broadcasts the parent's rows
# to the bigger table's nodes (create_view.sql's `street` over `road`, `ihighway`, `real_city`).
SCHEMA = [
    "CREATE TABLE {s}.road (name text, path text)",
    "CREATE TABLE {s}.highway (lanes int) INHERITS ({s}.road)",
    "CREATE TABLE {s}.city (pop int, cname text, lo text, hi text, pad text)",
    "INSERT INTO {s}.road SELECT 'r' || g, chr(97 + g % 26) FROM generate_series(1, 200) g",
    "INSERT INTO {s}.highway SELECT 'h' || g, chr(97 + g % 26), 4 FROM generate_series(1, 300) g",
    ("INSERT INTO {s}.city SELECT g, 'c' || g, chr(97 + g % 20), chr(100 + g % 20), repeat('p', 200) "
     "FROM generate_series(1, 3000) g"),
    ("CREATE VIEW {s}.street AS SELECT r.name, r.path, c.cname FROM ONLY {s}.road r, {s}.city c "
     "WHERE r.path BETWEEN c.lo AND c.hi"),
    ("CREATE VIEW {s}.every_street AS SELECT r.name, r.path, c.cname FROM {s}.road r, {s}.city c "
     "WHERE r.path BETWEEN c.lo AND c.hi"),
]
ANSWERS = [
    "SELECT count(*), md5(string_agg(t::text, ',' ORDER BY t::text)) FROM {s}.street t",
    "SELECT count(*), md5(string_agg(t::text, ',' ORDER BY t::text)) FROM {s}.every_street t",
    ("SELECT count(*) FROM ONLY {s}.road r, {s}.city c, {s}.road r2 "
     "WHERE r.path BETWEEN c.lo AND c.hi AND r2.name = r.name"),
]


def pg_dump(dsn: str, *args: str) -> str:
    done = subprocess.run([str(Path(find_pg_bin()) / "pg_dump"), "-d", dsn, *args], capture_output=True,
                          text=True, timeout=120, check=True)
    return done.stdout


def psql_script(dsn: str, text: str, tmp_path: Path) -> list[str]:
    """Run a script as `psql -f` does, going on after errors; the errors psql printed."""
    script = tmp_path / "dump.sql"
    script.write_text(text)
    done = subprocess.run([str(Path(find_pg_bin()) / "psql"), "-X", "-q", "-v", "ON_ERROR_STOP=0", "-d", dsn,
                           "-f", str(script)], capture_output=True, text=True, timeout=300, check=False)
    return [line for line in done.stderr.splitlines() if "ERROR" in line]


@pytest.fixture()
def dumped(plain_pg: str, schema: str) -> tuple[str, str]:
    """(the plain database holding the schema, its pg_dump)."""
    source = database_on(plain_pg, "dump19_source")
    with psycopg.connect(source, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
        for statement in SCHEMA:
            conn.execute(statement.format(s=f'"{schema}"'))
    return source, pg_dump(source, f"--schema={schema}")


def answers(dsn: str, schema: str) -> list[object]:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'ANALYZE "{schema}".road')
        conn.execute(f'ANALYZE "{schema}".city')
        return [conn.execute(q.format(s=f'"{schema}"')).fetchone() for q in ANSWERS]


def test_a_view_over_only_a_parent_answers_as_plain_postgresql(
        gridpg_cluster: Cluster, plain_pg: str, schema: str, dumped: tuple[str, str], tmp_path: Path) -> None:
    source, text = dumped
    restored = database_on(plain_pg, "dump19_restored")
    assert psql_script(restored, text, tmp_path) == []
    dsn = gridpg_cluster.dsn(0)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA "{schema}" CASCADE')  # the dump creates it
    assert psql_script(dsn, text, tmp_path) == []
    expected = answers(restored, schema)
    assert expected == answers(source, schema)
    assert expected[0][0] < expected[1][0]  # the children's rows count only without ONLY
    for coordinator in (0, 1):
        assert answers(gridpg_cluster.dsn(coordinator), schema) == expected
    with psycopg.connect(dsn, autocommit=True) as conn:  # the path the answers took
        plan = "\n".join(r[0] for r in conn.execute(f'EXPLAIN SELECT * FROM "{schema}".street'))
    assert "Broadcast ONLY" in plan


def test_restoring_pg_dumpall_globals_keeps_the_cluster_reachable(
        gridpg_cluster: Cluster, plain_pg: str, schema: str, tmp_path: Path) -> None:
    """pg_dumpall's globals set the bootstrap superuser's password (`ALTER ROLE postgres
    WITH SUPERUSER ... PASSWORD 'SCRAM-SHA-256$...'`): gridpg's own role for reaching its
    servers. That line is refused; the rest of the file runs and the cluster stays reachable."""
    globals_sql = subprocess.run([str(Path(find_pg_bin()) / "pg_dumpall"), "-d", plain_pg, "--roles-only"],
                                 capture_output=True, text=True, timeout=120, check=True).stdout
    globals_sql += "CREATE ROLE dump19_reader;\nALTER ROLE dump19_reader WITH LOGIN PASSWORD 'r19';\n"
    assert "ALTER ROLE postgres WITH SUPERUSER" in globals_sql
    errors = psql_script(gridpg_cluster.dsn(0), globals_sql, tmp_path)
    assert len(errors) == 2, errors
    assert 'role "postgres" already exists' in errors[0]  # as on plain PostgreSQL
    assert 'cannot change the password of role "postgres"' in errors[1]
    for dsn in datanode_dsns(gridpg_cluster).values():  # gridpg's own login still works
        with psycopg.connect(dsn, autocommit=True) as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)
    with psycopg.connect(gridpg_cluster.dsn(1), autocommit=True) as conn:  # DDL and writes reach every node
        conn.execute(f'CREATE TABLE "{schema}".after_globals (k int, v text)')
        conn.execute(f"INSERT INTO \"{schema}\".after_globals SELECT g, 'v' FROM generate_series(1, 50) g")
        assert conn.execute(f'SELECT count(*) FROM "{schema}".after_globals').fetchone() == (50,)
        for statement in ("ALTER USER postgres PASSWORD 'x'", "ALTER ROLE CURRENT_USER NOLOGIN",
                          "ALTER ROLE postgres RENAME TO gridpg_admin"):
            with pytest.raises(psycopg.errors.FeatureNotSupported):
                conn.execute(statement)
        conn.execute("ALTER ROLE postgres SET work_mem = '8MB'")  # what does not lock gridpg out runs
        conn.execute("ALTER ROLE postgres RESET work_mem")
        conn.execute("DROP ROLE dump19_reader")


# Tables whose CHECK or generated column needs the datanode's table itself, not a HASH
# table's shards (generated_stored.sql's gtest20c and gtest_tableoid, as pg_dump writes them)
WHOLE_ROW = [
    ("CREATE TABLE {s}.checked (a int, b int GENERATED ALWAYS AS (a * 2) STORED, "
     "CONSTRAINT whole_row_check CHECK (checked.* IS NOT NULL))"),
    "CREATE TABLE {s}.bare_name (a int, b text, CHECK (bare_name IS NOT NULL))",
    ("CREATE TABLE {s}.own_oid (a int PRIMARY KEY, b bool GENERATED ALWAYS AS "
     "(tableoid = '{s}.own_oid'::regclass::oid) STORED, c regclass GENERATED ALWAYS AS (tableoid) STORED)"),
    "INSERT INTO {s}.checked SELECT g FROM generate_series(1, 20) g",
    "INSERT INTO {s}.bare_name SELECT g, 'b' || g FROM generate_series(1, 20) g",
    "INSERT INTO {s}.own_oid SELECT g FROM generate_series(1, 20) g",
]
WHOLE_ROW_ANSWERS = [
    "SELECT count(*), md5(string_agg(t::text, ',' ORDER BY t::text)) FROM {s}.checked t",
    "SELECT count(*), md5(string_agg(t::text, ',' ORDER BY t::text)) FROM {s}.bare_name t",
    "SELECT count(*), md5(string_agg(t::text, ',' ORDER BY t::text)) FROM {s}.own_oid t",
]
WHOLE_ROW_REFUSED = [  # the checks still hold after the restore
    "INSERT INTO {s}.checked VALUES (NULL)",
    "INSERT INTO {s}.bare_name VALUES (1, NULL)",
]


def test_whole_row_and_tableoid_checks_restore(
        gridpg_cluster: Cluster, plain_pg: str, schema: str, tmp_path: Path) -> None:
    source = database_on(plain_pg, "dump19_whole_row")
    with psycopg.connect(source, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
        for statement in WHOLE_ROW:
            conn.execute(statement.format(s=f'"{schema}"'))
        expected = [conn.execute(q.format(s=f'"{schema}"')).fetchone() for q in WHOLE_ROW_ANSWERS]
    text = pg_dump(source, f"--schema={schema}")
    assert "whole_row_check CHECK" in text and "GENERATED ALWAYS AS (tableoid)" in text
    dsn = gridpg_cluster.dsn(0)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
    assert psql_script(dsn, text, tmp_path) == []
    with psycopg.connect(gridpg_cluster.dsn(1), autocommit=True) as conn:
        assert [conn.execute(q.format(s=f'"{schema}"')).fetchone() for q in WHOLE_ROW_ANSWERS] == expected
        for statement in WHOLE_ROW_REFUSED:
            with pytest.raises(psycopg.errors.CheckViolation):
                conn.execute(statement.format(s=f'"{schema}"'))
        assert conn.execute(f"""INSERT INTO "{schema}".own_oid VALUES (21) RETURNING b, c::text""").fetchone() \
            == (True, f'"{schema}".own_oid' if schema != schema.lower() else f"{schema}.own_oid")
