"""What psycopg2's own test suite (2.9.10's tests/, run against a coordinator and against
plain PostgreSQL) found, each compared with PostgreSQL:

* a session started with `options=-c standard_conforming_strings=off` was told `on` in the
  login's ParameterStatus; psycopg2 quotes literals itself from that report, so a value
  with a backslash was sent unescaped and read back changed (silently);
* a failed statement in a block left the nodes' blocks open until the client's ROLLBACK,
  with their locks: PostgreSQL releases them at the error. A CREATE TABLE refused on the
  datanodes after the catalog server had made the table kept its name locked, and another
  session's CREATE TABLE of that name waited (the suite hung);
* CREATE TEMP TABLE did not relay the catalog server's notices (psycopg2's test_notices).
"""

from __future__ import annotations

import time

import psycopg
import psycopg2

from gridpg.cluster.control import Cluster


def _roundtrip_backslashes(dsn: str, schema: str) -> list[str]:
    conn = psycopg2.connect(dsn, options="-c standard_conforming_strings=off")
    try:
        conn.autocommit = True
        cur = conn.cursor()
        assert conn.get_parameter_status("standard_conforming_strings") == "off"
        cur.execute(f'CREATE TABLE "{schema}".scs (id int PRIMARY KEY, s text)')
        for i, value in enumerate(["a\\b", "c\\\\d", "e'f", "\\x41"]):
            cur.execute(f'INSERT INTO "{schema}".scs VALUES (%s, %s)', (i, value))
        cur.execute(f'SELECT s FROM "{schema}".scs ORDER BY id')
        return [row[0] for row in cur.fetchall()]
    finally:
        conn.close()


def test_standard_conforming_strings_off_at_login(gridpg_cluster: Cluster, plain_pg: str, schema: str) -> None:
    with psycopg.connect(plain_pg, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        conn.execute(f'CREATE SCHEMA "{schema}"')
    expected = _roundtrip_backslashes(plain_pg, schema)
    assert expected == ["a\\b", "c\\\\d", "e'f", "\\x41"]
    assert _roundtrip_backslashes(gridpg_cluster.dsn(0), schema) == expected


def test_failed_block_releases_its_locks_at_the_error(gridpg_cluster: Cluster, schema: str) -> None:
    dsn = gridpg_cluster.dsn(0)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'CREATE TABLE "{schema}".held (id int PRIMARY KEY, v int)')
        conn.execute(f'INSERT INTO "{schema}".held SELECT g, 0 FROM generate_series(1, 10) g')
    failed = psycopg.connect(dsn)
    try:
        failed.execute(f'UPDATE "{schema}".held SET v = 1 WHERE id IN (3, 4)')  # row locks on both nodes
        try:
            failed.execute("SELECT 1 / 0")
        except psycopg.errors.DivisionByZero:
            pass
        # the failed block is left open, as a client that has not rolled back yet
        with psycopg.connect(dsn, autocommit=True) as other:
            other.execute("SET lock_timeout = '5s'")
            started = time.monotonic()
            assert other.execute(f'UPDATE "{schema}".held SET v = 2 WHERE id IN (3, 4)').rowcount == 2
            assert time.monotonic() - started < 4
        failed.rollback()
        assert failed.execute(f'SELECT sum(v) FROM "{schema}".held').fetchone() == (4,)
    finally:
        failed.close()


def test_temp_table_notices(gridpg_cluster: Cluster, plain_pg: str) -> None:
    def notices(dsn: str) -> list[str]:
        conn = psycopg2.connect(dsn)
        try:
            conn.autocommit = True
            cur = conn.cursor()
            cur.execute("CREATE TEMP TABLE chatty26 (id int)")
            cur.execute("CREATE TEMP TABLE IF NOT EXISTS chatty26 (id int)")
            cur.execute("SET client_min_messages = debug1")
            cur.execute("CREATE TEMP TABLE chatty26b (id serial PRIMARY KEY)")
            return [n.strip() for n in conn.notices]
        finally:
            conn.close()

    expected = notices(plain_pg)
    assert any("already exists, skipping" in n for n in expected)
    assert any("implicit sequence" in n for n in expected)
    assert notices(gridpg_cluster.dsn(0)) == expected
