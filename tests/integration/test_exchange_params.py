"""Bound parameters of a statement run as an exchange plus a finish.

A filter on a parameter that the planner puts into a move (`Broadcast f WHERE grp = $1`)
leaves the finish statement without `$1`. psycopg sends a Python str untyped (OID 0), and
PostgreSQL refuses an unused parameter of unspecified type: every such query failed with
42P18 "could not determine data type of parameter $1" while PostgreSQL answers it.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

psycopg = pytest.importorskip("psycopg")

SCHEMA = "t_exchange_params"
JOIN = "SELECT f.id, d.id FROM f JOIN dm d ON d.k = f.k WHERE f.grp = %s"


@pytest.fixture(scope="module")
def params_schema(gridpg_cluster) -> Iterator[str]:  # type: ignore[no-untyped-def]
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")
        conn.execute(f"CREATE SCHEMA {SCHEMA}")
        conn.execute(f"SET search_path = {SCHEMA}")
        conn.execute("CREATE TABLE f (id int NOT NULL, cust int, k int, grp text) DISTRIBUTE BY HASH (cust)")
        conn.execute("CREATE TABLE dm (id bigint NOT NULL, k bigint, name text) DISTRIBUTE BY MODULO (id)")
        conn.execute("INSERT INTO f SELECT g, g % 17, g % 23, chr(97 + g % 5) FROM generate_series(1, 400) g")
        conn.execute("INSERT INTO dm SELECT g, g % 25, 'n' || g FROM generate_series(1, 60) g")
        conn.execute("ANALYZE f")
        conn.execute("ANALYZE dm")
    yield SCHEMA
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")


def _expected(grp: str | None) -> list[tuple[int, int]]:
    f = [(g, g % 23, chr(97 + g % 5)) for g in range(1, 401)]
    dm = [(g, g % 25) for g in range(1, 61)]
    return sorted((fid, did) for fid, fk, fg in f if fg == grp for did, dk in dm if dk == fk)


@pytest.mark.parametrize("prepare", [False, True])
def test_untyped_parameter_used_only_by_the_move(gridpg_cluster, params_schema, prepare) -> None:  # type: ignore[no-untyped-def]
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute(f"SET search_path = {params_schema}")
        plan = "\n".join(r[0] for r in conn.execute("EXPLAIN " + JOIN.replace("%s", "'zz'")).fetchall())
        assert "Broadcast" in plan and "grp = 'zz'" in plan, plan  # the shape this test is about
        for grp in ["zz", None, "a", "zz", "b"]:
            got = sorted(conn.execute(JOIN, (grp,), prepare=prepare).fetchall())
            assert got == _expected(grp), grp
