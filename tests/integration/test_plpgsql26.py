"""An UPDATE of the distribution column inside server-side code after DDL in the caller's
block is refused cleanly (h-plpgsql26): the move keeps its rows on a side catalog
connection, which does not see the block's schema changes (an IndexError closed the
session before). What works is proven against PostgreSQL by
tests/oracle/corpus/99_plpgsql26.sql."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest


def test_a_move_in_code_after_ddl_in_the_block_is_refused(gridpg_cluster: Any) -> None:
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute("CREATE SCHEMA IF NOT EXISTS plpgsql26")
        conn.execute("SET search_path TO plpgsql26")
        conn.execute("DROP TABLE IF EXISTS moved_after_ddl")
        conn.execute("BEGIN")
        conn.execute("CREATE TABLE moved_after_ddl (x int, note text) DISTRIBUTE BY HASH (x)")
        conn.execute("INSERT INTO moved_after_ddl VALUES (1, 'n')")
        with pytest.raises(psycopg.errors.FeatureNotSupported, match="after DDL in the same transaction block"):
            conn.execute("DO $$ BEGIN UPDATE moved_after_ddl SET x = x + 1; END $$")
        conn.execute("ROLLBACK")
        # committed first, the same move runs
        conn.execute("CREATE TABLE moved_after_ddl (x int, note text) DISTRIBUTE BY HASH (x)")
        conn.execute("INSERT INTO moved_after_ddl VALUES (1, 'n'), (2, 'm')")
        conn.execute("DO $$ BEGIN UPDATE moved_after_ddl SET x = x + 10; END $$")
        assert conn.execute("SELECT x, note FROM moved_after_ddl ORDER BY x").fetchall() == [(11, "n"), (12, "m")]
        conn.execute("DROP SCHEMA plpgsql26 CASCADE")
