"""DECLARE ... CURSOR FOR SELECT ... FOR UPDATE/SHARE over distributed tables (Postgres-XL's
xc_for_update.sql): the rows the cursor returns stay locked on their datanodes until the
block ends (gridpg locks them at DECLARE; PostgreSQL when FETCH reaches them)."""

from __future__ import annotations

import psycopg
import pytest

from gridpg.cluster.control import Cluster


def test_cursor_for_update_keeps_its_rows_locked_until_the_block_ends(gridpg_cluster: Cluster, schema: str) -> None:
    dsn = gridpg_cluster.dsn(0)
    with psycopg.connect(dsn, autocommit=True) as setup:
        setup.execute(f"SET search_path TO {schema}")
        setup.execute("CREATE TABLE cfu (val int, val2 int)")
        setup.execute("INSERT INTO cfu SELECT g, 10 * g FROM generate_series(1, 8) g")
    with psycopg.connect(dsn) as one, psycopg.connect(dsn, autocommit=True) as two:
        for conn in (one, two):
            conn.execute(f"SET search_path TO {schema}")
        one.commit()
        one.execute("DECLARE c1 CURSOR FOR SELECT * FROM cfu WHERE val <= 2 ORDER BY val FOR UPDATE")
        assert one.execute("FETCH 1 FROM c1").fetchall() == [(1, 10)]
        with pytest.raises(psycopg.errors.LockNotAvailable):
            two.execute("SELECT val FROM cfu WHERE val = 1 FOR UPDATE NOWAIT")
        two.execute("SET statement_timeout TO 1000")
        with pytest.raises(psycopg.errors.QueryCanceled):
            two.execute("UPDATE cfu SET val2 = 0 WHERE val = 1")
        # a row the cursor does not return is not locked
        assert two.execute("UPDATE cfu SET val2 = 0 WHERE val = 5").rowcount == 1
        assert one.execute("FETCH ALL FROM c1").fetchall() == [(2, 20)]
        one.execute("UPDATE cfu SET val2 = -1 WHERE val = 1")
        one.commit()
        assert two.execute("UPDATE cfu SET val2 = val2 + 1 WHERE val <= 2").rowcount == 2
        assert two.execute("SELECT val, val2 FROM cfu WHERE val <= 2 ORDER BY val").fetchall() == [(1, 0), (2, 21)]
