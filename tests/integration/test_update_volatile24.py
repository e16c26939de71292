"""UPDATE of a REPLICATION table whose SET calls a volatile built-in (random(),
gen_random_uuid(), clock_timestamp()): each row's value is computed once, on the table's
first group, and every replica takes it (executor/update_volatile.py). The values are
random, so the tests compare what does not depend on them with plain PostgreSQL (counts,
tags, errors) and check that every datanode's copy is the same, row for row."""

from __future__ import annotations

import psycopg
import pytest

from gridpg.cluster.control import Cluster
from tests.conftest import datanode_dsns

SETUP = [
    "CREATE TABLE emp (id int PRIMARY KEY, email text UNIQUE, name text, salary numeric(12,2), "
    "token uuid, score float8, touched timestamptz, tags text[]) DISTRIBUTE BY REPLICATION",
    "INSERT INTO emp SELECT g, 'e' || g, 'n' || g, 1000 * g FROM generate_series(1, 40) g",
]


def _copies(cluster: Cluster, schema: str) -> list[list[tuple[object, ...]]]:
    """Every datanode's rows of the table, in key order."""
    out = []
    for dsn in datanode_dsns(cluster).values():
        with psycopg.connect(dsn, autocommit=True) as conn:
            out.append(conn.execute(f'SELECT e::text FROM "{schema}".emp e ORDER BY id').fetchall())
    return out


@pytest.fixture()
def emp(gridpg_cluster: Cluster, schema: str) -> psycopg.Connection:
    conn = psycopg.connect(gridpg_cluster.dsn(0), autocommit=True)
    conn.execute(f'SET search_path = "{schema}"')
    for sql in SETUP:
        conn.execute(sql)
    yield conn
    conn.close()


def _plain(plain_pg: str, schema: str) -> psycopg.Connection:
    conn = psycopg.connect(plain_pg, autocommit=True)
    conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    conn.execute(f'CREATE SCHEMA "{schema}"')
    conn.execute(f'SET search_path = "{schema}"')
    for sql in SETUP:
        conn.execute(sql.removesuffix(" DISTRIBUTE BY REPLICATION"))
    return conn


STATEMENTS = [
    ("UPDATE emp SET salary = round((random() * 1000000)::numeric, 2)", None),
    ("UPDATE emp SET token = gen_random_uuid(), name = upper(name) WHERE id <= 10", None),
    ("UPDATE emp SET score = random() * salary, touched = clock_timestamp() WHERE id % 2 = 0", None),
    ("UPDATE emp SET tags = ARRAY[md5(random()::text), 'x\"y', NULL] WHERE id > 35", None),
    ("UPDATE emp SET salary = salary + random() WHERE id = 999", None),
    ("UPDATE emp SET salary = random() * 1e20", None),  # numeric overflow: 22003, nothing written
    ("UPDATE emp SET token = gen_random_uuid() WHERE id = %s", (7,)),
    ("UPDATE emp SET score = random() WHERE name = %s", ("n20",)),
]


def test_each_replica_takes_the_leaders_values(emp: psycopg.Connection, gridpg_cluster: Cluster,
                                               plain_pg: str, schema: str) -> None:
    plain = _plain(plain_pg, schema)
    try:
        for sql, params in STATEMENTS:
            got = _outcome(emp, sql, params)
            want = _outcome(plain, sql, params)
            assert got == want, (sql, got, want)
            copies = _copies(gridpg_cluster, schema)
            assert len(copies) == 2 and copies[0] == copies[1], sql
        count = "SELECT count(token), count(DISTINCT token), count(score), count(touched), count(tags) FROM emp"
        assert emp.execute(count).fetchone() == plain.execute(count).fetchone()
        assert emp.execute("SELECT count(DISTINCT salary) > 30 FROM emp").fetchone() == (True,)
    finally:
        plain.execute(f'DROP SCHEMA "{schema}" CASCADE')
        plain.close()


def _outcome(conn: psycopg.Connection, sql: str, params: tuple[object, ...] | None) -> object:
    try:
        cur = conn.execute(sql, params)
        return cur.statusmessage
    except psycopg.Error as exc:
        return exc.sqlstate


def test_returning_rollback_and_a_block(emp: psycopg.Connection, gridpg_cluster: Cluster, schema: str) -> None:
    rows = emp.execute("UPDATE emp SET token = gen_random_uuid() WHERE id IN (3, 4) "
                       "RETURNING id, token IS NOT NULL AS has, *").fetchall()
    assert sorted((r[0], r[1], r[2]) for r in rows) == [(3, True, 3), (4, True, 4)]
    assert len(rows[0]) == 2 + 8  # RETURNING * is the table's columns only
    before = _copies(gridpg_cluster, schema)
    emp.execute("BEGIN")
    emp.execute("UPDATE emp SET salary = random() * 10")
    assert emp.execute("SELECT max(salary) <= 10 FROM emp").fetchone() == (True,)
    emp.execute("ROLLBACK")
    assert _copies(gridpg_cluster, schema) == before
    # in a block with other writes, committed together
    emp.execute("BEGIN")
    emp.execute("INSERT INTO emp (id, email) VALUES (100, 'x@y')")
    emp.execute("UPDATE emp SET score = random() WHERE id >= 40")
    emp.execute("COMMIT")
    copies = _copies(gridpg_cluster, schema)
    assert copies[0] == copies[1]
    assert emp.execute("SELECT count(score) FROM emp WHERE id >= 40").fetchone() == (2,)


def test_prepared_and_simple_protocols(gridpg_cluster: Cluster, emp: psycopg.Connection, schema: str) -> None:
    sql = "UPDATE emp SET score = random() WHERE id BETWEEN %s AND %s"
    for _ in range(3):  # psycopg prepares it server-side from the third run on... and after
        assert emp.execute(sql, (1, 5), prepare=True).statusmessage == "UPDATE 5"
    with psycopg.connect(gridpg_cluster.dsn(1), autocommit=True) as other:
        other.execute(f'SET search_path = "{schema}"')
        cur = psycopg.ClientCursor(other)
        cur.execute("UPDATE emp SET touched = clock_timestamp() WHERE id > 30")
        assert cur.statusmessage == "UPDATE 10"
    copies = _copies(gridpg_cluster, schema)
    assert copies[0] == copies[1]


def test_still_refused_where_it_cannot_be_the_same(emp: psycopg.Connection, gridpg_cluster: Cluster,
                                                   schema: str) -> None:
    """A volatile WHERE or RETURNING, a user's VOLATILE function: each replica would differ
    or the function act beyond the row; refused (0A000) with nothing written."""
    emp.execute("CREATE FUNCTION pick() RETURNS float8 VOLATILE LANGUAGE sql AS 'SELECT 0.5::float8'")
    before = _copies(gridpg_cluster, schema)
    for sql in ("UPDATE emp SET score = 1 WHERE random() < 0.5",
                "UPDATE emp SET score = random() RETURNING random()",
                "UPDATE emp SET score = pick()",
                "UPDATE emp SET score = random() + pick()"):
        with pytest.raises(psycopg.errors.FeatureNotSupported):
            emp.execute(sql)
    assert _copies(gridpg_cluster, schema) == before
