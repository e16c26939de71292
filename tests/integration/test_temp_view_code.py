"""User code beside the session's temporary views over distributed tables
(executor/routines.py, `_code_may_read`): code that may read such a view is refused with
0A000 (on the catalog server the view reads the empty copies of its tables); code that
cannot read it runs (the oracle file 97_temp_views.sql compares those answers with
PostgreSQL's)."""

from __future__ import annotations

import psycopg
import pytest

from gridpg.cluster.control import Cluster


def test_code_reading_a_temp_view_is_refused_and_other_code_runs(gridpg_cluster: Cluster, schema: str) -> None:
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute(f"SET search_path TO {schema}")
        conn.execute("CREATE TABLE tvc_t (id int PRIMARY KEY, v int)")
        conn.execute("INSERT INTO tvc_t SELECT g, g FROM generate_series(1, 20) g")
        conn.execute("CREATE TEMP VIEW tvc_big AS SELECT * FROM tvc_t WHERE v > 10")
        conn.execute("CREATE FUNCTION tvc_plus1(i int) RETURNS int LANGUAGE sql IMMUTABLE AS $$ SELECT i + 1 $$")
        conn.execute("CREATE FUNCTION tvc_reads() RETURNS bigint LANGUAGE sql AS $$ SELECT count(*) FROM tvc_big $$")
        conn.execute("CREATE FUNCTION tvc_temp() RETURNS bigint LANGUAGE plpgsql AS "
                     "$$ BEGIN RETURN (SELECT count(*) FROM pg_temp.tvc_big); END $$")
        conn.execute("CREATE FUNCTION tvc_dyn() RETURNS bigint LANGUAGE plpgsql AS $$ DECLARE n bigint; "
                     "BEGIN EXECUTE 'SELECT count(*) FROM ' || 'tvc_big' INTO n; RETURN n; END $$")
        conn.execute("CREATE FUNCTION tvc_count() RETURNS bigint LANGUAGE sql AS $$ SELECT count(*) FROM tvc_t $$")
        assert conn.execute("SELECT tvc_count()").fetchone() == (20,)
        conn.execute("CREATE FUNCTION tvc_outer() RETURNS bigint LANGUAGE sql AS $$ SELECT tvc_reads() $$")
        assert conn.execute("SELECT tvc_plus1(1)").fetchone() == (2,)
        assert conn.execute("SELECT sum(tvc_plus1(v)) FROM tvc_big").fetchone() == (sum(range(12, 22)),)
        for call in ("SELECT tvc_reads()", "SELECT tvc_temp()", "SELECT tvc_dyn()", "SELECT tvc_outer()",
                     "DO $$ BEGIN PERFORM count(*) FROM tvc_big; END $$",
                     # the statement reads the view itself, and its code runs on the catalog server
                     "SELECT v, tvc_count() FROM tvc_big ORDER BY v LIMIT 1"):
            with pytest.raises(psycopg.Error) as err:
                conn.execute(call)
            assert err.value.sqlstate == "0A000", call
            assert "temporary views over distributed tables (tvc_big)" in str(err.value), call
        conn.execute("DROP VIEW tvc_big")
        assert conn.execute("SELECT tvc_plus1(2)").fetchone() == (3,)
