"""`gridpg dump` / `gridpg restore`: rows and distribution survive a round trip; `--plain`
restores into plain PostgreSQL with no error and without gridpg's metadata."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from gridpg.cluster.control import Cluster
from gridpg.cluster.dump import Distribution, add_distribution
from gridpg.cluster.pgserver import find_pg_bin
from tests.conftest import catalog_dsns, database_on

ODD = '"Odd ""Name"""'  # a table name with a space and double quotes

TABLES = [
    'CREATE TABLE {s}.acc (id int PRIMARY KEY, owner text, bal numeric) DISTRIBUTE BY HASH (id)',
    "CREATE TABLE {s}." + ODD + ' ("Key Col" text, v int) DISTRIBUTE BY HASH ("Key Col")',
    "CREATE TABLE {s}.cty (code text PRIMARY KEY, name text) DISTRIBUTE BY REPLICATION",
    "CREATE TABLE {s}.rr (a int, b text) DISTRIBUTE BY ROUNDROBIN",
    "CREATE TABLE {s}.md (k int, v text) DISTRIBUTE BY MODULO (k)",
    "CREATE TABLE {s}.one (k int, v text) DISTRIBUTE BY HASH (k) TO NODE (dn2)",
    "CREATE TABLE {s}.few (k bigint, v text)",
    "SELECT create_distributed_table('{s}.few', 'k', shard_count => 8)",
]
FILL = [
    "INSERT INTO {s}.acc SELECT g, 'o' || g, g * 10 FROM generate_series(1, 200) g",
    "INSERT INTO {s}." + ODD + " SELECT 'k' || g, g FROM generate_series(1, 50) g",
    "INSERT INTO {s}.cty VALUES ('de', 'Germany'), ('fr', E'Fran\\tce')",
    "INSERT INTO {s}.rr SELECT g, repeat('x', g % 7) FROM generate_series(1, 30) g",
    "INSERT INTO {s}.md SELECT g, NULL FROM generate_series(1, 30) g",
    "INSERT INTO {s}.one SELECT g, 'v' FROM generate_series(1, 30) g",
    "INSERT INTO {s}.few SELECT g, 'f' FROM generate_series(1, 40) g",
    # a function reaching a distributed table through the loopback: its shadow schema and
    # foreign table must stay out of every dump (their grants were dumped once)
    "CREATE FUNCTION {s}.acc_total() RETURNS numeric LANGUAGE plpgsql AS $$ BEGIN RETURN (SELECT sum(bal) FROM acc); END $$",
    "SET search_path = {s}",
    "SELECT {s}.acc_total()",
    "RESET search_path",
]
CONTENT = [
    "SELECT count(*), sum(id), sum(bal) FROM {s}.acc",
    'SELECT count(*), sum(v), min("Key Col") FROM {s}.' + ODD,
    "SELECT string_agg(code || name, ',' ORDER BY code) FROM {s}.cty",
    "SELECT count(*), sum(a), sum(length(b)) FROM {s}.rr",
    "SELECT count(*), sum(k) FROM {s}.md",
    "SELECT count(*), sum(k) FROM {s}.one",
    "SELECT count(*), sum(k) FROM {s}.few",
]
METADATA = ("SELECT table_name, method, dist_column, shard_count, groups FROM gridpg.dist_table "
            "WHERE schema_name = %s ORDER BY table_name")


def gridpg(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "gridpg", *args], capture_output=True, text=True,
                          timeout=120, check=False)


def snapshot(dsn: str, schema: str, metadata: bool) -> tuple[list[object], list[object]]:
    with psycopg.connect(dsn, autocommit=True) as conn:
        rows = [conn.execute(q.format(s=schema)).fetchone() for q in CONTENT]
        meta = conn.execute(METADATA, (schema,)).fetchall() if metadata else []
    return rows, meta


@pytest.fixture()
def filled(gridpg_cluster: Cluster, schema: str) -> str:
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        for statement in TABLES + FILL:
            conn.execute(statement.format(s=schema))
    return schema


def test_round_trip_keeps_rows_and_distribution(gridpg_cluster: Cluster, filled: str, tmp_path: Path) -> None:
    dsn = gridpg_cluster.dsn(0)
    before = snapshot(dsn, filled, metadata=True)
    assert {row[1] for row in before[1]} == {"hash", "replication", "roundrobin", "modulo"}
    script = tmp_path / "dump.sql"
    done = gridpg("dump", "--dir", str(gridpg_cluster.dir), "-f", str(script), "--", f"--schema={filled}")
    assert done.returncode == 0, done.stderr
    text = script.read_text()
    assert "gridpg.dist_table" not in text and "DISTRIBUTE BY HASH (id)" in text
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA "{filled}" CASCADE')
    restored = gridpg("restore", "--dir", str(gridpg_cluster.dir), str(script))
    assert restored.returncode == 0, restored.stderr
    assert snapshot(dsn, filled, metadata=True) == before
    # from the other coordinator too
    assert snapshot(gridpg_cluster.dsn(1), filled, metadata=True) == before


def test_plain_dump_restores_into_plain_postgresql(gridpg_cluster: Cluster, filled: str, plain_pg: str,
                                                  tmp_path: Path) -> None:
    expected = snapshot(gridpg_cluster.dsn(0), filled, metadata=False)
    script = tmp_path / "plain.sql"
    done = gridpg("dump", "--dir", str(gridpg_cluster.dir), "--plain", "-f", str(script))
    assert done.returncode == 0, done.stderr
    assert "DISTRIBUTE BY" not in script.read_text() and "CREATE SCHEMA gridpg" not in script.read_text()
    target = database_on(plain_pg, "dump_target")
    psql = find_pg_bin() / "psql"
    result = subprocess.run([str(psql), "-Xq", "-v", "ON_ERROR_STOP=1", "-f", str(script), target],
                            capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    assert snapshot(target, filled, metadata=False) == expected
    with psycopg.connect(target) as conn:
        assert conn.execute("SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'gridpg%'").fetchone() == (0,)


def test_clause_added_to_each_create_table_form() -> None:
    every = ("dn1", "dn2")
    tables = {
        "public.t": Distribution("public.t", "hash", "id", "id", 32, every, every),
        'public."P"': Distribution('public."P"', "modulo", '"K"', "K", 0, ("dn1",), every),
        "public.r": Distribution("public.r", "replication", "", "", 0, every, every),
        "public.h": Distribution("public.h", "hash", "k", "k", 8, every, every),
    }
    dump = (
        "CREATE TABLE public.t (\n    id integer NOT NULL,\n    v text DEFAULT 'a;'::text\n);\n\n"
        'CREATE TABLE public."P" (\n    "K" integer\n)\nPARTITION BY RANGE ("K");\n\n'
        "CREATE UNLOGGED TABLE public.r (\n)\nINHERITS (public.t);\n"
        "CREATE TABLE public.h (\n    k integer\n);\n"
        "CREATE TABLE public.other (\n    x integer\n);\n"
        "COPY public.t (id, v) FROM stdin;\n1\t);\n\\.\n"
    )
    out = add_distribution(dump, tables)
    assert ") DISTRIBUTE BY HASH (id);\n" in out
    assert 'PARTITION BY RANGE ("K") DISTRIBUTE BY MODULO ("K") TO NODE (dn1);' in out
    assert "INHERITS (public.t) DISTRIBUTE BY REPLICATION;" in out
    assert "SELECT create_distributed_table('public.h', 'k', shard_count => 8);" in out
    assert "CREATE TABLE public.other (\n    x integer\n);\n" in out
    assert "1\t);\n" in out  # rows are never touched


EXTRA = [
    "CREATE SEQUENCE {s}.seq START 100",
    "CREATE TABLE {s}.ser (id serial PRIMARY KEY, v text) DISTRIBUTE BY HASH (id)",
    "INSERT INTO {s}.ser (v) SELECT 'v' || g FROM generate_series(1, 5) g",
    "SELECT nextval('{s}.seq')",
    "SELECT nextval('{s}.seq')",
    "SELECT nextval('{s}.seq')",
    "CREATE VIEW {s}.rich AS SELECT id, bal FROM {s}.acc WHERE bal > 1000",
    # a materialized view over a distributed table: pg_dump writes it WITH NO DATA, its
    # index, then REFRESH (run through the cluster on restore)
    "CREATE MATERIALIZED VIEW {s}.mv_rich AS SELECT owner, bal FROM {s}.acc WHERE bal > 1500",
    "CREATE UNIQUE INDEX mv_rich_owner ON {s}.mv_rich (owner)",
    # server-side code reading a distributed table: the loopback (extension, server, user
    # mapping, shadow schema, event triggers) exists on the catalog server from here on
    "CREATE FUNCTION {s}.total() RETURNS numeric LANGUAGE plpgsql AS $$ BEGIN RETURN (SELECT sum(bal) FROM acc); END $$",
    "SET search_path = {s}",
    "SELECT total()",
    "RESET search_path",
]
EXTRA_CONTENT = [
    "SELECT count(*), sum(bal) FROM {s}.rich",
    "SELECT count(*), sum(bal), min(owner) FROM {s}.mv_rich",
    "SELECT count(*) FROM {s}.mv_rich m JOIN {s}.acc a USING (owner) WHERE a.id > 190",
    "SELECT count(*), sum(id), string_agg(v, ',' ORDER BY id) FROM {s}.ser",
]


def raw_pg_dump(cluster: Cluster, *args: str, app: str | None = None) -> str:
    """pg_dump as a user runs it through a coordinator: no gridpg options (`app`: under
    that PGAPPNAME)."""
    env = {**os.environ, **({"PGAPPNAME": app} if app else {})}
    result = subprocess.run([str(find_pg_bin() / "pg_dump"), "--no-password", *args, cluster.dsn(1)],
                            capture_output=True, text=True, timeout=120, check=False, env=env)
    assert result.returncode == 0, result.stderr
    assert "warning" not in result.stderr.lower(), result.stderr
    return result.stdout


def run_script(dsn: str, text: str, tmp_path: Path) -> None:
    script = tmp_path / "raw.sql"
    script.write_text(text)
    result = subprocess.run([str(find_pg_bin() / "psql"), "-Xq", "-v", "ON_ERROR_STOP=1", "-f", str(script), dsn],
                            capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr


def next_values(dsn: str, schema: str) -> tuple[int, int]:
    with psycopg.connect(dsn, autocommit=True) as conn:
        return (conn.execute(f"SELECT nextval('{schema}.seq')").fetchone()[0],
                conn.execute(f"INSERT INTO {schema}.ser (v) VALUES ('new') RETURNING id").fetchone()[0])


def test_raw_pg_dump_through_a_coordinator_holds_only_the_users_database(
        gridpg_cluster: Cluster, filled: str, plain_pg: str, tmp_path: Path) -> None:
    """A plain `pg_dump` through a coordinator: nothing of gridpg's (metadata schema,
    shard schema, loopback extension, server and shadows), sequences at the GTM's
    positions, and it restores into plain PostgreSQL with the same contents."""
    dsn = gridpg_cluster.dsn(0)
    with psycopg.connect(dsn, autocommit=True) as conn:
        for statement in EXTRA:
            conn.execute(statement.format(s=filled))
    queries = CONTENT + EXTRA_CONTENT
    with psycopg.connect(dsn, autocommit=True) as conn:
        expected = [conn.execute(q.format(s=filled)).fetchone() for q in queries]
    # (the loopback's server and event triggers are there, on the catalog server: a
    # client's pg_foreign_server and pg_event_trigger hide them since h-regress17a/b)
    with psycopg.connect(catalog_dsns(gridpg_cluster)[gridpg_cluster.topology.coordinators[0].catalog.name],
                         autocommit=True) as conn:
        assert conn.execute("SELECT count(*) FROM pg_foreign_server").fetchone() == (1,)
        assert conn.execute("SELECT count(*) FROM pg_event_trigger").fetchone()[0] >= 1
    text = raw_pg_dump(gridpg_cluster)
    for internal in ("gridpg", "postgres_fdw", "SERVER", "USER MAPPING", "EVENT TRIGGER", "DISTRIBUTE BY"):
        assert internal not in text, [line for line in text.splitlines() if internal in line][:5]
    renamed = raw_pg_dump(gridpg_cluster, app="nightly_backup")  # PGAPPNAME set: the same view
    for internal in ("gridpg", "postgres_fdw", "USER MAPPING"):
        assert internal not in renamed, [line for line in renamed.splitlines() if internal in line][:5]
    assert f"CREATE VIEW {filled}.rich" in text and f"CREATE SEQUENCE {filled}.seq" in text
    assert f"CREATE MATERIALIZED VIEW {filled}.mv_rich" in text and f"REFRESH MATERIALIZED VIEW {filled}.mv_rich" in text
    target = database_on(plain_pg, "raw_dump_target")
    run_script(target, text, tmp_path)
    with psycopg.connect(target, autocommit=True) as conn:
        assert [conn.execute(q.format(s=filled)).fetchone() for q in queries] == expected
        assert conn.execute("SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'gridpg%'").fetchone() == (0,)
        assert conn.execute("SELECT count(*) FROM pg_extension WHERE extname = 'postgres_fdw'").fetchone() == (0,)
    # the sequences continue after every value drawn through gridpg (the GTM's), not from
    # the catalog server's untouched copies
    drawn = next_values(dsn, filled)
    restored = next_values(target, filled)
    assert restored[0] > 102 and restored[1] > 5, (drawn, restored)


def test_raw_pg_dump_of_a_schema_restores_into_gridpg(gridpg_cluster: Cluster, filled: str, tmp_path: Path) -> None:
    dsn = gridpg_cluster.dsn(0)
    with psycopg.connect(dsn, autocommit=True) as conn:
        for statement in EXTRA:
            conn.execute(statement.format(s=filled))
    queries = CONTENT + EXTRA_CONTENT
    with psycopg.connect(dsn, autocommit=True) as conn:
        expected = [conn.execute(q.format(s=filled)).fetchone() for q in queries]
    text = raw_pg_dump(gridpg_cluster, f"--schema={filled}")
    assert "gridpg" not in text
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA "{filled}" CASCADE')
    run_script(dsn, text, tmp_path)
    for coordinator in (0, 1):
        with psycopg.connect(gridpg_cluster.dsn(coordinator), autocommit=True) as conn:
            assert [conn.execute(q.format(s=filled)).fetchone() for q in queries] == expected
    assert next_values(dsn, filled)[0] > 102
