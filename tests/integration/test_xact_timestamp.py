"""One transaction timestamp across nodes (sql/xact_time.py): rows written to both
datanodes in one block with now(), CURRENT_TIMESTAMP or a DEFAULT now() column store one
instant, the one the block's own SELECT now() answers (simple and extended protocol,
prepared statements that would otherwise take the routed fast path, either coordinator);
the values stored on each datanode are read there directly."""

from __future__ import annotations

import psycopg
import pytest

from gridpg.cluster.control import Cluster

SETUP = [
    ("CREATE TABLE {s}.tt (id int PRIMARY KEY, created timestamptz, made timestamptz DEFAULT now(), "
    "day date DEFAULT CURRENT_DATE) DISTRIBUTE BY HASH (id)"),
]


@pytest.fixture()
def table(gridpg_cluster: Cluster, schema: str) -> str:
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        for sql in SETUP:
            conn.execute(sql.format(s=schema))
    return schema


def _per_datanode(datanodes: dict[str, str], schema: str, ids: list[int]) -> dict[str, set[object]]:
    """The distinct stored instants (created and made) on each datanode, read there."""
    out: dict[str, set[object]] = {}
    for name, dsn in datanodes.items():
        with psycopg.connect(dsn, autocommit=True) as conn:
            rows = conn.execute(f"SELECT created, made FROM {schema}.tt WHERE id = ANY(%s)", (ids,)).fetchall()
        out[name] = {v for row in rows for v in row}
    return out


def test_a_block_writes_one_instant_on_every_node(gridpg_cluster: Cluster, table: str,
                                                  datanodes: dict[str, str]) -> None:
    ids = list(range(1, 21))
    with psycopg.connect(gridpg_cluster.dsn(0)) as conn:  # a block (psycopg's implicit BEGIN)
        for i in ids[:10]:  # simple literals would take the routed fast path
            conn.execute(f"INSERT INTO {table}.tt (id, created) VALUES ({i}, now())")
        for i in ids[10:]:  # parameters, prepared after 5 executions
            conn.execute(f"INSERT INTO {table}.tt (id, created) VALUES (%s, current_timestamp)", (i,),
                         prepare=True)
        now = conn.execute("SELECT now()").fetchone()[0]
        same = conn.execute(f"SELECT now() = (SELECT max(created) FROM {table}.tt), "
                            f"count(DISTINCT created), count(DISTINCT made) FROM {table}.tt").fetchone()
        assert same == (True, 1, 1)
        conn.commit()
    stored = _per_datanode(datanodes, table, ids)
    assert all(stored.values()) and len(stored) == 2, stored  # rows on both datanodes
    assert set().union(*stored.values()) == {now}


def test_outside_a_block_each_statement_has_its_own_instant(gridpg_cluster: Cluster, table: str) -> None:
    with psycopg.connect(gridpg_cluster.dsn(1), autocommit=True) as conn:
        conn.execute(f"INSERT INTO {table}.tt (id) VALUES (31), (32), (33), (34), (35), (36)")
        conn.execute(f"INSERT INTO {table}.tt (id, created) VALUES (41, now()), (42, now()), (43, now()), (44, now())")
        first = conn.execute(f"SELECT count(DISTINCT made), min(made) FROM {table}.tt WHERE id BETWEEN 31 AND 36").fetchone()
        second = conn.execute(f"SELECT count(DISTINCT created), count(DISTINCT made), min(created) "
                              f"FROM {table}.tt WHERE id BETWEEN 41 AND 44").fetchone()
        assert first[0] == 1 and second[:2] == (1, 1)
        assert first[1] < second[2]  # two statements, two transactions
        # prepared SELECT with now(): the statement's own instant each time, not a cached one
        values = [conn.execute("SELECT now()", prepare=True).fetchone()[0] for _ in range(7)]
        assert len(set(values)) == 7


def test_a_rolled_back_block_and_the_next_one(gridpg_cluster: Cluster, table: str) -> None:
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute("BEGIN")
        conn.execute(f"INSERT INTO {table}.tt (id, created) VALUES (51, now()), (52, now())")
        before = conn.execute("SELECT now()").fetchone()[0]
        conn.execute("ROLLBACK")
        conn.execute("BEGIN")
        conn.execute(f"INSERT INTO {table}.tt (id, created) VALUES (%s, now()), (%s, now())", (53, 54))
        row = conn.execute(f"SELECT count(*) FILTER (WHERE created = now() AND made = now()), "
                           f"count(*), min(created) > %s FROM {table}.tt WHERE id BETWEEN 51 AND 54",
                           (before,)).fetchone()
        conn.execute("COMMIT")
        assert row == (2, 2, True)
