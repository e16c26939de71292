"""A value under a cast, or a parameter of another type than the distribution column's, is
compared as PostgreSQL converts it: the router must not pin the statement by hashing the
value's text as the column's type (it would read or write another shard than the row's
and answer nothing, silently). Twenty keys per case: a wrong shard cannot pass by chance."""

from __future__ import annotations

import datetime

import psycopg
import pytest

from gridpg.cluster.control import Cluster

KEYS = range(1, 21)


@pytest.fixture()
def conn(gridpg_cluster: Cluster, schema: str) -> psycopg.Connection:
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as c:
        c.execute(f'SET search_path = "{schema}"')
        c.execute("SET TimeZone = 'UTC'")
        c.execute("CREATE TABLE by_text (k text, v int) DISTRIBUTE BY HASH (k)")
        c.execute("CREATE TABLE by_num (k numeric, v int) DISTRIBUTE BY HASH (k)")
        c.execute("CREATE TABLE by_ts (k timestamp, v int) DISTRIBUTE BY HASH (k)")
        c.execute("INSERT INTO by_text SELECT 'key' || g, g FROM generate_series(1, 20) g")
        c.execute("INSERT INTO by_num SELECT g, g FROM generate_series(1, 20) g")
        c.execute("INSERT INTO by_ts SELECT timestamp '2020-01-01' + g * interval '1 hour', g "
                  "FROM generate_series(1, 20) g")
        yield c


def test_casts_that_change_the_value_find_the_row(conn: psycopg.Connection) -> None:
    for n in KEYS:
        # bpchar drops trailing blanks: text = bpchar compares 'keyN'
        assert conn.execute(f"SELECT v FROM by_text WHERE k = 'key{n}   '::bpchar").fetchall() == [(n,)]
        assert conn.execute(f"SELECT v FROM by_text WHERE k = 'key{n}zzz'::varchar({len(str(n)) + 3})"
                            ).fetchall() == [(n,)]
        assert conn.execute(f"SELECT v FROM by_num WHERE k = {n}.4::int").fetchall() == [(n,)]
        assert conn.execute(f"SELECT v FROM by_num WHERE k = {n - 1}.96::numeric(4,1)").fetchall() == [(n,)]
        hour = f"2020-01-01 {n:02d}:00"
        assert conn.execute(f"SELECT v FROM by_ts WHERE k = '{hour}:00.4'::timestamp(0)").fetchall() == [(n,)]
        # the same through a prepared statement (extended protocol, the fast path's)
        assert conn.execute("SELECT v FROM by_text WHERE k = %s::bpchar", (f"key{n}  ",),
                            prepare=True).fetchall() == [(n,)]


def test_writes_under_such_casts_reach_the_row(conn: psycopg.Connection) -> None:
    for n in KEYS:
        assert conn.execute(f"UPDATE by_text SET v = v + 100 WHERE k = 'key{n}  '::bpchar RETURNING v"
                            ).fetchall() == [(n + 100,)]
    assert conn.execute("SELECT count(*) FROM by_text WHERE v > 100").fetchone() == (20,)
    for n in KEYS:
        assert conn.execute(f"DELETE FROM by_num WHERE k = {n}.3::int RETURNING v").fetchall() == [(n,)]
    assert conn.execute("SELECT count(*) FROM by_num").fetchone() == (0,)


def test_a_parameter_of_another_type_finds_the_row(conn: psycopg.Connection) -> None:
    plus5 = datetime.timezone(datetime.timedelta(hours=5))
    tokyo = datetime.timezone(datetime.timedelta(hours=9))
    conn.execute("SET TimeZone = 'Asia/Tokyo'")
    for prepare in (False, True):
        for binary in (False, True):
            with conn.cursor(binary=binary) as cur:
                for n in KEYS:
                    # a timestamptz parameter against a timestamp column: the column is read
                    # in the session's time zone, so row n (n:00) is the instant n:00+09,
                    # sent here as (n-4):00+05
                    aware = datetime.datetime(2020, 1, 1, n, tzinfo=tokyo).astimezone(plus5)
                    cur.execute("SELECT v FROM by_ts WHERE k = %s", (aware,), prepare=prepare)
                    assert cur.fetchall() == [(n,)], (prepare, binary, n)
    conn.execute("PREPARE by_bpchar(bpchar) AS SELECT v FROM by_text WHERE k = $1")
    try:
        for n in KEYS:
            assert conn.execute(f"EXECUTE by_bpchar('key{n}  ')").fetchall() == [(n,)]
    finally:
        conn.execute("DEALLOCATE by_bpchar")


def test_casts_that_keep_the_value_still_route(conn: psycopg.Connection) -> None:
    # (the answers; that they stay on one node is planner/router.py's unit test's)
    for n in KEYS:
        assert conn.execute(f"SELECT v FROM by_text WHERE k = 'key{n}'::varchar").fetchall() == [(n,)]
        assert conn.execute(f"SELECT v FROM by_num WHERE k = {n}::int8").fetchall() == [(n,)]
        assert conn.execute("SELECT v FROM by_num WHERE k = %s::numeric", (n,), prepare=True).fetchall() == [(n,)]


def test_inserted_rows_go_to_the_shard_of_the_value_stored(conn: psycopg.Connection) -> None:
    # A timestamptz parameter into a timestamp column is stored in the session's time zone;
    # routed by its own text it reached a node whose shard refused it ("no partition of
    # relation ... found for row"). A bpchar parameter into a text column loses its blanks.
    plus5 = datetime.timezone(datetime.timedelta(hours=5))
    tokyo = datetime.timezone(datetime.timedelta(hours=9))
    conn.execute("SET TimeZone = 'Asia/Tokyo'")
    conn.execute("TRUNCATE by_ts, by_text")
    for prepare in (False, True):
        for n in KEYS:
            aware = datetime.datetime(2020, 1, 1, n, tzinfo=tokyo).astimezone(plus5)
            conn.execute("INSERT INTO by_ts VALUES (%s, %s)", (aware, n), prepare=prepare)
    conn.execute("PREPARE ins_bpchar(bpchar, int) AS INSERT INTO by_text VALUES ($1, $2)")
    try:
        for n in KEYS:
            conn.execute(f"EXECUTE ins_bpchar('key{n}  ', {n})")
            conn.execute(f"INSERT INTO by_text VALUES ('cast{n}  '::char(9), {n})")
    finally:
        conn.execute("DEALLOCATE ins_bpchar")
    for n in KEYS:
        assert conn.execute(f"SELECT v FROM by_ts WHERE k = '2020-01-01 {n:02d}:00'").fetchall() == [(n,), (n,)]
        assert conn.execute(f"SELECT v FROM by_text WHERE k = 'key{n}'").fetchall() == [(n,)]
        assert conn.execute(f"SELECT v FROM by_text WHERE k = 'cast{n}'").fetchall() == [(n,)]
