"""MERGE ... INSERT leaving the distribution column to its default (lead, 2026-12-07): a
sequence's default (serial, identity) is served, each inserted row on the node of the
value the GTM gave it (tests/oracle/corpus/99_merge_unmatched28.sql compares the answers
with PostgreSQL); any other default stays refused with 0A000, nothing written, keyed ON or
not: the value would be computed where the source row is, not where the row belongs."""

from __future__ import annotations

import psycopg

from gridpg.cluster.control import Cluster
from tests.conftest import answer


def test_a_default_that_is_not_a_sequence_is_refused(gridpg_cluster: Cluster, schema: str) -> None:
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute(f"SET search_path TO {schema}")
        conn.execute("CREATE TABLE kd (k int DEFAULT 7, v text) DISTRIBUTE BY HASH (k)")
        conn.execute("INSERT INTO kd VALUES (1, 'a'), (2, 'b')")
        for on in ("kd.v = s.v", "kd.k = s.n"):
            sql = (f"MERGE INTO kd USING (VALUES (1, 'a'), (3, 'c')) AS s(n, v) ON {on} "
                   "WHEN NOT MATCHED THEN INSERT (v) VALUES (s.v)")
            assert answer(conn, sql) == "0A000", on
        assert answer(conn, "SELECT k, v FROM kd ORDER BY k") == [(1, "a"), (2, "b")]


def test_serial_keys_of_merged_rows_are_unique_and_placed(gridpg_cluster: Cluster, schema: str) -> None:
    """Each row the MERGE inserted is found by its key (a routed read reaches only the node
    of that key: a row stored elsewhere would not be found)."""
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute(f"SET search_path TO {schema}")
        conn.execute("CREATE TABLE ks (id bigserial PRIMARY KEY, email text) DISTRIBUTE BY HASH (id)")
        conn.execute("INSERT INTO ks (email) SELECT 'e' || g FROM generate_series(1, 5) g")
        conn.execute("MERGE INTO ks USING (SELECT 'n' || g AS email FROM generate_series(1, 20) g) s "
                     "ON ks.email = s.email WHEN NOT MATCHED THEN INSERT (email) VALUES (s.email)")
        ids = [i for i, in conn.execute("SELECT id FROM ks WHERE email LIKE 'n%'").fetchall()]
        assert len(ids) == len(set(ids)) == 20
        for i in ids:
            assert conn.execute("SELECT count(*) FROM ks WHERE id = %s", (i,)).fetchone() == (1,)
