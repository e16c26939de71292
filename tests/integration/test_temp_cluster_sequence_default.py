"""A temp table whose DEFAULT calls nextval() of a cluster sequence (the GTM's): the
catalog server ran the INSERT on the session's connection and took the value from its own
copy of the sequence, handing out values the cluster had handed out already (1, 2 after
the client's nextval() gave 1), silently. Such a write is refused (0A000) until gridpg
fills the column from the GTM; a value given, or the temp table's own serial, works."""

from __future__ import annotations

import psycopg
import pytest

from gridpg.cluster.control import Cluster


def test_temp_default_of_a_cluster_sequence_is_refused(gridpg_cluster: Cluster, schema: str) -> None:
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        conn.execute(f'CREATE SCHEMA "{schema}"')
        conn.execute(f'SET search_path = "{schema}"')
        conn.execute("CREATE SEQUENCE numbers")
        assert conn.execute("SELECT nextval('numbers')").fetchone() == (1,)
        conn.execute("CREATE TEMP TABLE drafts (no int DEFAULT nextval('numbers'), note text)")
        for sql in ("INSERT INTO drafts (note) VALUES ('a')", "INSERT INTO drafts DEFAULT VALUES",
                    "INSERT INTO drafts VALUES (DEFAULT, 'b')", "UPDATE drafts SET no = DEFAULT"):
            with pytest.raises(psycopg.errors.FeatureNotSupported):
                conn.execute(sql)
        with pytest.raises(psycopg.errors.FeatureNotSupported), conn.cursor().copy(
                "COPY drafts (note) FROM STDIN") as copy:
            copy.write("c\n")
        conn.execute("INSERT INTO drafts VALUES (7, 'given')")
        with conn.cursor().copy("COPY drafts FROM STDIN") as copy:
            copy.write("8\tcopied\n")
        conn.execute("CREATE TEMP TABLE own (no serial, note text)")
        conn.execute("INSERT INTO own (note) VALUES ('x')")
        assert conn.execute("SELECT array_agg(no ORDER BY no) FROM drafts").fetchone() == ([7, 8],)
        assert conn.execute("SELECT nextval('numbers')").fetchone() == (2,)
        # What the INSERTs learnt of a temp table's defaults is forgotten when they change
        # (SessionTemps.memo): the DEFAULT given to `own` later, or taken back by ROLLBACK.
        conn.execute("ALTER TABLE own ALTER COLUMN no SET DEFAULT nextval('numbers')")
        with pytest.raises(psycopg.errors.FeatureNotSupported):
            conn.execute("INSERT INTO own (note) VALUES ('y')")
        conn.execute("ALTER TABLE own ALTER COLUMN no SET DEFAULT 100")
        conn.execute("INSERT INTO own (note) VALUES ('z')")
        conn.execute("BEGIN")
        conn.execute("ALTER TABLE own ALTER COLUMN no SET DEFAULT nextval('numbers')")
        conn.execute("ROLLBACK")
        conn.execute("INSERT INTO own (note) VALUES ('w')")
        assert conn.execute("SELECT array_agg(no ORDER BY note) FROM own").fetchone() == ([100, 1, 100],)
        conn.execute("DISCARD TEMP")
        conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
