"""A data-modifying WITH whose main statement reads the table a WITH entry writes
(h-refuse25): served from the table's rows read before the writes; what that read cannot
stand for is refused with 0A000 and writes nothing: more than BEFORE_IMAGE_ROWS rows (held in
the coordinator), a system column, a whole-row reference. The answers themselves are
compared with PostgreSQL in tests/oracle/corpus/99_refuse25.sql.
"""

from __future__ import annotations

import psycopg
import pytest

from gridpg.planner.modifying_cte import BEFORE_IMAGE_ROWS


@pytest.fixture()
def grid(coordinator_dsn: str, schema: str) -> psycopg.Connection:
    with psycopg.connect(coordinator_dsn, autocommit=True) as conn:
        conn.execute(f'SET search_path TO "{schema}"')
        conn.execute("CREATE TABLE big (id int PRIMARY KEY, v int) DISTRIBUTE BY HASH (id)")
        conn.execute("INSERT INTO big SELECT g, g FROM generate_series(1, %s) g", (BEFORE_IMAGE_ROWS + 5,))
        yield conn


@pytest.mark.parametrize("sql", [
    "WITH d AS (DELETE FROM big WHERE id = 1 RETURNING id) SELECT count(*) FROM big",
    "WITH d AS (DELETE FROM big WHERE id = 1 RETURNING id) SELECT ctid FROM big WHERE id = 2",
    "WITH d AS (DELETE FROM big WHERE id = 1 RETURNING id) SELECT big FROM big WHERE id = 2",
])
def test_what_the_before_image_cannot_stand_for_is_refused(grid: psycopg.Connection, sql: str) -> None:
    with pytest.raises(psycopg.errors.FeatureNotSupported):
        grid.execute(sql)
    assert grid.execute("SELECT count(*) FROM big WHERE id = 1").fetchone() == (1,)  # nothing deleted


def test_a_filtered_read_of_a_big_table_is_served(grid: psycopg.Connection) -> None:
    """The main statement's WHERE filters the rows read before the writes."""
    got = grid.execute("WITH d AS (DELETE FROM big WHERE id = 1 RETURNING id) "
                       "SELECT count(*), sum(v) FROM big WHERE id <= 10").fetchone()
    assert got == (10, 55)
    assert grid.execute("SELECT count(*) FROM big WHERE id <= 10").fetchone() == (9,)
