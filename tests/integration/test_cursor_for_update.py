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


def test_prepared_transaction_keeps_a_cursors_row_locks(gridpg_cluster: Cluster, schema: str) -> None:
    """xc_for_update.sql: `DECLARE ... FOR UPDATE; FETCH; PREPARE TRANSACTION` failed on the
    catalog server's temp table of the cursor's rows (0A000); PostgreSQL drops the cursor and
    the prepared transaction keeps the row locks until COMMIT PREPARED."""
    dsn = gridpg_cluster.dsn(0)
    with psycopg.connect(dsn, autocommit=True) as setup:
        setup.execute(f"SET search_path TO {schema}")
        setup.execute("CREATE TABLE cfp (val int, val2 int)")
        setup.execute("INSERT INTO cfp VALUES (1, 11), (2, 11)")
    with psycopg.connect(dsn, autocommit=True) as one, psycopg.connect(dsn, autocommit=True) as two:
        for conn in (one, two):
            conn.execute(f"SET search_path TO {schema}")
        one.execute("BEGIN")
        one.execute("SET search_path TO pg_catalog")  # undone by neither the PREPARE nor the cursor
        one.execute(f"DECLARE c1 CURSOR FOR SELECT * FROM {schema}.cfp ORDER BY val FOR UPDATE")
        assert one.execute("FETCH 1 FROM c1").fetchall() == [(1, 11)]
        one.execute(f"INSERT INTO {schema}.cfp VALUES (3, 12), (4, 12)")
        one.execute("PREPARE TRANSACTION 'cfp_locked'")
        try:
            assert one.execute("SHOW search_path").fetchone() == ("pg_catalog",)
            with pytest.raises(psycopg.errors.InvalidCursorName):
                one.execute("FETCH 1 FROM c1")
            assert two.execute("SELECT count(*) FROM cfp").fetchone() == (2,)
            two.execute("SET statement_timeout TO 1000")
            with pytest.raises(psycopg.errors.QueryCanceled):
                two.execute("UPDATE cfp SET val2 = 33 WHERE val = 1")
            assert ("cfp_locked",) in two.execute("SELECT gid FROM pg_prepared_xacts").fetchall()
        finally:
            one.execute("COMMIT PREPARED 'cfp_locked'")
        assert two.execute("UPDATE cfp SET val2 = 33 WHERE val = 1").rowcount == 1
        assert two.execute("SELECT val, val2 FROM cfp ORDER BY val").fetchall() == [(1, 33), (2, 11), (3, 12), (4, 12)]


def test_prepared_transaction_after_a_cursor_on_a_left_temp_schema(
        gridpg_cluster: Cluster, schema: str, catalogs: dict[str, str]) -> None:
    """The full suite's order: the catalog backend's first temp table (the cursor's rows)
    finds the temp schema an earlier backend of its number left, and PostgreSQL empties it
    under an AccessExclusiveLock on the schema inside the block; that lock is not the
    block's doing (the PREPARE was refused with the catalog server's 0A000)."""
    dsn = gridpg_cluster.dsn(0)
    with psycopg.connect(dsn, autocommit=True) as setup:
        setup.execute(f"SET search_path TO {schema}")
        setup.execute("CREATE TABLE cfl (val int, val2 int)")
        setup.execute("INSERT INTO cfl VALUES (1, 11), (2, 11)")
    # every live backend of the catalog servers gets the temp schema an earlier one would
    # have left (the names PostgreSQL gives them: pg_temp_<backend id>)
    for direct_dsn in catalogs.values():
        with psycopg.connect(direct_dsn, autocommit=True) as direct:
            direct.execute("SET allow_system_table_mods = on")
            ids = [r[0] for r in direct.execute("SELECT pg_catalog.pg_stat_get_backend_idset()").fetchall()]
            for backend_id in ids:
                if not direct.execute("SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = %s",
                                      (f"pg_temp_{backend_id}",)).fetchall():
                    direct.execute(f"CREATE SCHEMA pg_temp_{backend_id}")
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"SET search_path TO {schema}")
        conn.execute("BEGIN")
        conn.execute("DECLARE c1 CURSOR FOR SELECT * FROM cfl ORDER BY val FOR UPDATE")
        assert conn.execute("FETCH 1 FROM c1").fetchall() == [(1, 11)]
        conn.execute("UPDATE cfl SET val2 = 12 WHERE val = 2")
        conn.execute("PREPARE TRANSACTION 'cfl_locked'")
        conn.execute("COMMIT PREPARED 'cfl_locked'")
        assert conn.execute("SELECT val, val2 FROM cfl ORDER BY val").fetchall() == [(1, 11), (2, 12)]


def test_prepared_transaction_after_a_cursor_beside_a_temp_table_is_refused(
        gridpg_cluster: Cluster, schema: str) -> None:
    """PREPARE TRANSACTION after a cursor over distributed tables: the catalog server's
    block holds the cursor's temp rows, PostgreSQL's own 0A000 there, and nothing stays
    prepared."""
    dsn = gridpg_cluster.dsn(0)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"SET search_path TO {schema}")
        conn.execute("CREATE TABLE cft (val int)")
        conn.execute("INSERT INTO cft VALUES (1), (2)")
        conn.execute("CREATE TEMP TABLE cft_tmp (a int)")
        conn.execute("BEGIN")
        conn.execute("INSERT INTO cft_tmp VALUES (1)")
        conn.execute("DECLARE c1 CURSOR FOR SELECT * FROM cft ORDER BY val FOR SHARE")
        with pytest.raises(psycopg.errors.FeatureNotSupported):
            conn.execute("PREPARE TRANSACTION 'cft_temp'")
        assert conn.execute("SELECT count(*) FROM pg_prepared_xacts WHERE gid = 'cft_temp'").fetchone() == (0,)
        assert conn.execute("UPDATE cft SET val = val + 10").rowcount == 2


def test_select_over_a_locking_cte_locks_the_ctes_rows(gridpg_cluster: Cluster, schema: str) -> None:
    """xc_for_update.sql:37-41: `WITH q AS (SELECT ... FOR UPDATE) SELECT ... FROM q` over
    several nodes was refused (0A000); the CTE now runs first as a locking SELECT of its own
    (its rows locked where they live), as an UPDATE's locking sub-selects do."""
    dsn = gridpg_cluster.dsn(0)
    with psycopg.connect(dsn, autocommit=True) as setup:
        setup.execute(f"SET search_path TO {schema}")
        setup.execute("CREATE TABLE jq2 (id int PRIMARY KEY, status text)")
        setup.execute("INSERT INTO jq2 SELECT g, 'queued' FROM generate_series(1, 10) g")
    take = ("WITH j AS (SELECT * FROM jq2 WHERE status = 'queued' ORDER BY id LIMIT 3 FOR UPDATE SKIP LOCKED) "
            "SELECT id FROM j ORDER BY id")
    with psycopg.connect(dsn) as one, psycopg.connect(dsn) as two:
        for conn in (one, two):
            conn.execute(f"SET search_path TO {schema}")
            conn.commit()
        first = one.execute(take).fetchall()
        second = two.execute(take).fetchall()
        assert first == [(1,), (2,), (3,)] and len(second) == 3 and not set(first) & set(second)
        with pytest.raises(psycopg.errors.LockNotAvailable):
            two.execute("SELECT id FROM jq2 WHERE id = 2 FOR UPDATE NOWAIT")
        two.rollback()
        # the outer FOR UPDATE over CTE references alone locks nothing, as in PostgreSQL
        one.rollback()
        rows = one.execute("WITH q AS (SELECT * FROM jq2 WHERE id <= 2) SELECT id FROM q ORDER BY id FOR UPDATE")
        assert rows.fetchall() == [(1,), (2,)]
        assert two.execute("SELECT id FROM jq2 WHERE id = 1 FOR UPDATE NOWAIT").fetchall() == [(1,)]
        two.rollback()
        one.rollback()
