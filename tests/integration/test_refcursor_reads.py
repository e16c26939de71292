"""A refcursor that server-side code opened over distributed tables and the client
fetches later (executor/run.py `_catalog`, frontend/loopback.py): postgres_fdw declares
its remote cursor at the first fetch, so a first FETCH after the transaction wrote rows
would see them where PostgreSQL's cursor reads as of its OPEN: refused (0A000), never
answered with the later rows. The answers that agree are in the oracle file
89_refcursors.sql."""

from __future__ import annotations

import psycopg
import pytest

from gridpg.cluster.control import Cluster


def test_first_fetch_after_a_write_is_refused(gridpg_cluster: Cluster, schema: str) -> None:
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute(f"SET search_path TO {schema}")
        conn.execute("CREATE TABLE rcr (id int PRIMARY KEY, v text)")
        conn.execute("INSERT INTO rcr SELECT g, 'v' || g FROM generate_series(1, 5) g")
        conn.execute("CREATE FUNCTION rcr_open(c refcursor) RETURNS refcursor LANGUAGE plpgsql AS "
                     "$$ BEGIN OPEN c FOR SELECT id, v FROM rcr ORDER BY id; RETURN c; END $$")
        with conn.transaction():
            conn.execute("SELECT rcr_open('c1')")
            assert conn.execute("FETCH ALL FROM c1").fetchall() == [(i, f"v{i}") for i in range(1, 6)]
        with pytest.raises(psycopg.Error) as err:
            with conn.transaction():
                conn.execute("SELECT rcr_open('c2')")
                conn.execute("UPDATE rcr SET v = 'changed' WHERE id = 1")
                conn.execute("FETCH ALL FROM c2")
        assert err.value.sqlstate == "0A000"
        assert "after this transaction wrote rows" in str(err.value)
        assert conn.execute("SELECT v FROM rcr WHERE id = 1").fetchone() == ("v1",)
