"""Sequences stay unique across coordinators in every form gridpg serves, and the forms
it cannot serve exactly are refused with a SQLSTATE (never served from a copy)."""

from __future__ import annotations

import psycopg
import pytest

from gridpg.cluster.control import Cluster


def _connect(cluster: Cluster, index: int, schema: str) -> psycopg.Connection:
    conn = psycopg.connect(cluster.dsn(index), autocommit=True)
    conn.execute(f"SET search_path TO {schema}")
    return conn


def test_values_unique_across_coordinators_and_forms(gridpg_cluster: Cluster, schema: str) -> None:
    one, two = _connect(gridpg_cluster, 0, schema), _connect(gridpg_cluster, 1, schema)
    with one, two:
        one.execute("CREATE SEQUENCE u INCREMENT BY 3")
        one.execute("CREATE TABLE t (id bigint PRIMARY KEY, v int) DISTRIBUTE BY HASH (id)")
        seen: list[int] = []
        for round_ in range(20):
            a, b = one.execute("SELECT nextval('u'), nextval('u') + 0 AS x").fetchone()
            seen += [a, b]
            seen.append(two.execute("SELECT nextval('u')").fetchone()[0])
            two.execute("INSERT INTO t VALUES (nextval('u'), %s), (nextval('u'), %s)", (round_, round_))
            if round_ == 10:
                one.execute("ALTER SEQUENCE u INCREMENT BY 7")  # coordinator 2 holds a range
        seen += [r[0] for r in one.execute("SELECT id FROM t")]
        assert len(seen) == len(set(seen)) == 20 * 5
        b = two.execute("SELECT nextval('u')").fetchone()[0]
        a = one.execute("SELECT nextval('u')").fetchone()[0]
        assert a != b and (a - b) % 7 == 0  # the new increment holds on both


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT nextval('q') FROM generate_series(1, 3)",
        "SELECT nextval('q'), v FROM t2",
        "UPDATE t2 SET v = nextval('q')",
        "INSERT INTO t2 SELECT nextval('q'), 1",
        "SELECT 1 WHERE nextval('q') > 0",
    ],
)
def test_forms_evaluated_per_row_are_refused(gridpg_cluster: Cluster, schema: str, sql: str) -> None:
    with _connect(gridpg_cluster, 0, schema) as conn:
        conn.execute("CREATE SEQUENCE IF NOT EXISTS q")
        conn.execute("CREATE TABLE IF NOT EXISTS t2 (id bigint, v bigint) DISTRIBUTE BY HASH (id)")
        with pytest.raises(psycopg.errors.FeatureNotSupported):
            conn.execute(sql)
        assert conn.execute("SELECT nextval('q')").fetchone() == (1,)


def test_extended_protocol_parameters_and_binary_results(gridpg_cluster: Cluster, schema: str) -> None:
    import asyncio

    import asyncpg

    with _connect(gridpg_cluster, 0, schema) as conn:
        conn.execute("CREATE SEQUENCE e")
        name = f"{schema}.e"
        assert conn.execute("SELECT nextval(%s), currval(%s) AS c, %s::int + 1", (name, name, 5)).fetchone() == (1, 1, 6)
        assert conn.execute("SELECT setval(%s, %s, %s)", (name, 100, False)).fetchone() == (100,)
        cur = conn.cursor()
        cur.execute("SELECT nextval('e') AS a, lastval()", prepare=True)
        assert cur.fetchone() == (100, 100) and [d.name for d in cur.description] == ["a", "lastval"]

    async def binary() -> tuple[object, ...]:
        client = await asyncpg.connect(gridpg_cluster.dsn(0))
        try:
            row = await client.fetchrow("SELECT nextval($1), currval($1)", name)
            return (tuple(row), await client.fetchval(f"SELECT nextval('{name}')"))
        finally:
            await client.close()

    first, second = asyncio.run(binary())
    assert first[0] == first[1] and second == first[0] + 1
