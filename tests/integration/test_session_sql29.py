"""Session-level SQL that h-session29's scripts (diffed against plain PostgreSQL 18) found
answered wrongly without an error: advisory locks that DISCARD ALL left held, and
session-level advisory locks taken in statements over tables, which stayed on pooled
datanode connections (now refused, 0A000). What now agrees with PostgreSQL is in the
oracle corpus file tests/oracle/corpus/99_session29.sql."""

from __future__ import annotations

import psycopg
import pytest

from gridpg.cluster.control import Cluster


def test_discard_all_releases_the_sessions_advisory_locks(gridpg_cluster: Cluster, schema: str) -> None:
    """PostgreSQL's DISCARD ALL runs pg_advisory_unlock_all(); gridpg's kept the locks on
    the lock node's pinned connection: a connection pool's reset (DISCARD ALL) left them
    held for good, and other sessions' pg_try_advisory_lock failed."""
    key = 6479889574913458529
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as one, \
            psycopg.connect(gridpg_cluster.dsn(1), autocommit=True) as two:
        assert one.execute("SELECT pg_advisory_lock(%s), pg_advisory_lock_shared(%s)", (key, key + 1)).fetchone() == ("", "")
        assert two.execute("SELECT pg_try_advisory_lock(%s)", (key,)).fetchone() == (False,)
        one.execute("DISCARD ALL")
        assert one.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' "
                           "AND pid = pg_backend_pid()").fetchone() == (0,)
        assert two.execute("SELECT pg_try_advisory_lock(%s)", (key,)).fetchone() == (True,)
        assert two.execute("SELECT pg_advisory_unlock(%s)", (key,)).fetchone() == (True,)
        # the session goes on taking locks after it
        assert one.execute("SELECT pg_try_advisory_lock(%s)", (key,)).fetchone() == (True,)
        assert two.execute("SELECT pg_try_advisory_lock(%s)", (key,)).fetchone() == (False,)
        assert one.execute("SELECT pg_advisory_unlock(%s)", (key,)).fetchone() == (True,)


@pytest.mark.parametrize("sql", [
    "SELECT pg_try_advisory_lock(k) FROM adv29 WHERE id = 1",
    "SELECT count(*) FILTER (WHERE pg_try_advisory_lock(k)) FROM adv29",
    "WITH j AS (SELECT id FROM adv29 ORDER BY id LIMIT 3) SELECT id FROM j WHERE pg_try_advisory_lock(id)",
    "SELECT pg_advisory_unlock(k) FROM adv29 WHERE id = 1",
    "UPDATE adv29 SET k = k WHERE pg_catalog.pg_try_advisory_lock_shared(id) RETURNING id",
    "SELECT count(*) FROM adv29 WHERE pg_try_advisory_xact_lock(k)",
    "SELECT pg_advisory_xact_lock(k) FROM adv29 WHERE id = 7",
])
def test_advisory_locks_over_tables_are_refused(gridpg_cluster: Cluster, schema: str, sql: str) -> None:
    """The rows' nodes took the lock on pooled connections: a session-level one outlived
    the statement there, the owner's pg_advisory_unlock (on the lock node) answered false,
    and another session's statement over the same rows found every key locked, for good (a
    job queue stuck); a transaction-level one was taken in the row's node's lock space, so
    the same key locked by a statement alone (on the lock node) or through a row of the
    other node did not conflict with it."""
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute(f"SET search_path TO {schema}")
        conn.execute("CREATE TABLE IF NOT EXISTS adv29 (id int PRIMARY KEY, k int) DISTRIBUTE BY HASH (id)")
        conn.execute("INSERT INTO adv29 SELECT i, i + 880000 FROM generate_series(1, 50) i ON CONFLICT DO NOTHING")
        with pytest.raises(psycopg.errors.FeatureNotSupported):
            conn.execute(sql)
        assert conn.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' "
                            "AND pid = pg_backend_pid()").fetchone() == (0,)
        # the lock functions alone still run, and statements over tables naming them in text
        with conn.transaction():
            assert conn.execute("SELECT pg_try_advisory_xact_lock(880002)").fetchone() == (True,)
        assert conn.execute("SELECT count(*) FROM adv29 WHERE 'pg_advisory_lock(1)' <> ''").fetchone() == (50,)
        assert conn.execute("SELECT pg_try_advisory_lock(880001), pg_advisory_unlock(880001)").fetchone() == (True, True)


def test_sequence_limit_errors_name_the_sequence_as_postgresql_does(gridpg_cluster: Cluster, schema: str) -> None:
    """nextval past MAXVALUE said `sequence "public.sq"` (the GTM's qualified name), and a
    setval out of bounds of `"My.Schema"."Odd.Seq"` said `"Seq"`: PostgreSQL names the
    relation alone, `"sq"` and `"Odd.Seq"`."""
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute(f"SET search_path TO {schema}")
        conn.execute("CREATE SEQUENCE sq29 MAXVALUE 2 START 2")
        conn.execute('CREATE SEQUENCE "Odd.Seq29" MAXVALUE 2 INCREMENT -1 MINVALUE 1 START 1')
        assert conn.execute("SELECT nextval('sq29')").fetchone() == (2,)
        with pytest.raises(psycopg.errors.SequenceGeneratorLimitExceeded,
                           match=r'^nextval: reached maximum value of sequence "sq29" \(2\)$'):
            conn.execute("SELECT nextval('sq29')")
        assert conn.execute("""SELECT nextval('"Odd.Seq29"')""").fetchone() == (1,)
        with pytest.raises(psycopg.errors.SequenceGeneratorLimitExceeded,
                           match=r'^nextval: reached minimum value of sequence "Odd.Seq29" \(1\)$'):
            conn.execute("""SELECT nextval('"Odd.Seq29"')""")
        with pytest.raises(psycopg.errors.NumericValueOutOfRange,
                           match=r'^setval: value 5 is out of bounds for sequence "Odd.Seq29" \(1..2\)$'):
            conn.execute("""SELECT setval('"Odd.Seq29"', 5)""")


def test_copy_default_marker_for_a_sequence_column_is_refused(gridpg_cluster: Cluster, schema: str) -> None:
    """COPY ... (DEFAULT '\\D') let the datanode storing the row fill an identity column from
    its own copy of the sequence: id 1 again beside the cluster's 1..5 (PostgreSQL: 6).
    Refused now (0A000) for defaults a node would give its own value; a constant default
    still comes from the marker."""
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute(f"SET search_path TO {schema}")
        conn.execute("CREATE TABLE cd29 (id int GENERATED BY DEFAULT AS IDENTITY, k int PRIMARY KEY, "
                     "t text DEFAULT 'dflt', ts timestamptz DEFAULT now()) DISTRIBUTE BY HASH (k)")
        conn.execute("INSERT INTO cd29 (k) SELECT g FROM generate_series(1, 5) g")
        for columns, data in [("", "\\D,50,x,2020-01-01\n"), ("(k, t, ts)", "51,x,\\D\n")]:
            with pytest.raises(psycopg.errors.FeatureNotSupported, match="DEFAULT option"):
                with conn.cursor() as cur, cur.copy(f"COPY cd29 {columns} FROM STDIN (FORMAT csv, DEFAULT '\\D')") as cp:
                    cp.write(data)
        with conn.cursor() as cur, cur.copy("COPY cd29 (k, t) FROM STDIN (FORMAT csv, DEFAULT '\\D')") as cp:
            cp.write("60,\\D\n61,own\n")
        assert conn.execute("SELECT k, t FROM cd29 WHERE k >= 50 ORDER BY k").fetchall() == [(60, "dflt"), (61, "own")]
        assert conn.execute("SELECT count(*), count(DISTINCT id) FROM cd29").fetchone() == (7, 7)
