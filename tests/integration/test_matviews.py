"""Materialized views over distributed tables (executor/matview.py): created on one
coordinator, read and refreshed from the other; the rows are on every datanode (read
there directly); the extended protocol gets PostgreSQL's errors; a REFRESH that fails on a
datanode leaves the old rows everywhere."""

from __future__ import annotations

import psycopg
import pytest

from gridpg.cluster.control import Cluster


@pytest.fixture()
def sales(gridpg_cluster: Cluster, schema: str) -> str:
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute(f"CREATE TABLE {schema}.s (id int PRIMARY KEY, k text, v int) DISTRIBUTE BY HASH (id)")
        conn.execute(f"INSERT INTO {schema}.s SELECT g, 'k' || (g % 4), g FROM generate_series(1, 40) g")
    return schema


def _rows_on_datanodes(datanodes: dict[str, str], schema: str, name: str) -> dict[str, list[tuple[object, ...]]]:
    out = {}
    for node, dsn in datanodes.items():
        with psycopg.connect(dsn, autocommit=True) as conn:
            out[node] = conn.execute(f'SELECT * FROM {schema}."{name}" ORDER BY 1').fetchall()
    return out


def test_created_on_one_coordinator_refreshed_on_the_other(gridpg_cluster: Cluster, sales: str,
                                                         datanodes: dict[str, str]) -> None:
    s = sales
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as first, \
            psycopg.connect(gridpg_cluster.dsn(1), autocommit=True) as second:
        first.execute(f'CREATE MATERIALIZED VIEW {s}."Per K" AS SELECT k, sum(v) AS total FROM {s}.s GROUP BY k')
        expected = [("k0", 220), ("k1", 190), ("k2", 200), ("k3", 210)]
        assert second.execute(f'SELECT k, total FROM {s}."Per K" ORDER BY k').fetchall() == expected
        assert set(map(tuple, _rows_on_datanodes(datanodes, s, "Per K").values())) == {tuple(expected)}
        second.execute(f"INSERT INTO {s}.s VALUES (100, 'k0', 1000)")
        second.execute(f'REFRESH MATERIALIZED VIEW {s}."Per K"')
        assert first.execute(f"SELECT total FROM {s}.\"Per K\" WHERE k = 'k0'").fetchone() == (1220,)
        rows = _rows_on_datanodes(datanodes, s, "Per K")
        assert all(r[0] == ("k0", 1220) for r in rows.values()), rows
        # the extended protocol: the same errors as PostgreSQL
        second.execute(f'REFRESH MATERIALIZED VIEW {s}."Per K" WITH NO DATA')
        with pytest.raises(psycopg.errors.ObjectNotInPrerequisiteState):
            first.execute(f'SELECT * FROM {s}."Per K" WHERE k = %s', ("k0",))
        with pytest.raises(psycopg.errors.WrongObjectType):
            first.execute(f'INSERT INTO {s}."Per K" VALUES (%s, 1)', ("k9",))
        first.execute(f'REFRESH MATERIALIZED VIEW {s}."Per K"')
        assert second.execute(f'SELECT count(*) FROM {s}."Per K"').fetchone() == (4,)
        second.execute(f'DROP MATERIALIZED VIEW {s}."Per K"')
        for dsn in datanodes.values():
            with psycopg.connect(dsn, autocommit=True) as conn:
                assert conn.execute(f"SELECT to_regclass('{s}.\"Per K\"')").fetchone() == (None,)
        with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
            assert conn.execute("SELECT count(*) FROM gridpg.dist_table WHERE table_name = 'Per K'").fetchone() == (0,)


def test_a_failed_refresh_keeps_the_old_rows(gridpg_cluster: Cluster, sales: str,
                                             datanodes: dict[str, str]) -> None:
    s = sales
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute(f"CREATE MATERIALIZED VIEW {s}.ratio AS SELECT id, 100 / v AS r FROM {s}.s WHERE id <= 10")
        before = conn.execute(f"SELECT count(*), sum(r) FROM {s}.ratio").fetchone()
        conn.execute(f"INSERT INTO {s}.s VALUES (0, 'k0', 0)")
        with pytest.raises(psycopg.errors.DivisionByZero):
            conn.execute(f"REFRESH MATERIALIZED VIEW {s}.ratio")
        assert conn.execute(f"SELECT count(*), sum(r) FROM {s}.ratio").fetchone() == before
        rows = _rows_on_datanodes(datanodes, s, "ratio")
        assert all(len(r) == before[0] for r in rows.values()), rows
        # CONCURRENTLY without a unique index: PostgreSQL's error, nothing changed
        with pytest.raises(psycopg.errors.ObjectNotInPrerequisiteState):
            conn.execute(f"REFRESH MATERIALIZED VIEW CONCURRENTLY {s}.ratio")
        conn.execute(f"DELETE FROM {s}.s WHERE id = 0")
        conn.execute(f"CREATE UNIQUE INDEX ON {s}.ratio (id)")
        conn.execute(f"UPDATE {s}.s SET v = 1 WHERE id = 3")
        conn.execute(f"REFRESH MATERIALIZED VIEW CONCURRENTLY {s}.ratio")
        assert conn.execute(f"SELECT r FROM {s}.ratio WHERE id = 3").fetchone() == (100,)
        assert conn.execute("SELECT ispopulated, hasindexes FROM pg_matviews WHERE schemaname = %s",
                            (s,)).fetchone() == (True, True)


def test_explain_of_a_creation(gridpg_cluster: Cluster, sales: str) -> None:
    """EXPLAIN shows the query's plan; EXPLAIN ANALYZE, which would create the view on one
    catalog server alone (a later REFRESH failed with 42P01), is refused."""
    s = sales
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        lines = [r[0] for r in conn.execute(
            f"EXPLAIN (COSTS OFF) CREATE MATERIALIZED VIEW {s}.e AS SELECT k, count(*) FROM {s}.s GROUP BY k")]
        assert any("Distributed plan" in line for line in lines), lines
        for query in (f"SELECT k FROM {s}.s", "SELECT generate_series(1, 3) AS a"):
            with pytest.raises(psycopg.errors.FeatureNotSupported):
                conn.execute(f"EXPLAIN (ANALYZE) CREATE MATERIALIZED VIEW {s}.e AS {query}")
        assert conn.execute("SELECT count(*) FROM pg_matviews WHERE schemaname = %s", (s,)).fetchone() == (0,)
