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


@pytest.fixture()
def fast_table(gridpg_cluster: Cluster, schema: str) -> str:
    """A table whose prepared statements take the routed fast path (no time defaults)."""
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute(f"CREATE TABLE {schema}.tf (id int PRIMARY KEY, at timestamptz, d date) "
                     f"DISTRIBUTE BY HASH (id)")
        conn.execute(f"INSERT INTO {schema}.tf (id) SELECT g FROM generate_series(1001, 1040) g")
    return schema


def _stored(datanodes: dict[str, str], schema: str, ids: list[int]) -> dict[str, set[object]]:
    out: dict[str, set[object]] = {}
    for name, dsn in datanodes.items():
        with psycopg.connect(dsn, autocommit=True) as conn:
            out[name] = {r[0] for r in conn.execute(f"SELECT at FROM {schema}.tf WHERE id = ANY(%s)", (ids,))}
    return out


def test_routed_time_statements_stay_on_the_fast_path_with_one_instant(
        gridpg_cluster: Cluster, fast_table: str, datanodes: dict[str, str]) -> None:
    """Prepared INSERT/UPDATE/SELECT with CURRENT_TIMESTAMP, now(), current_date in blocks
    reaching both datanodes: every row holds the block's now(), and the statements ran on
    the routed fast path (relayed from callbacks: planned once, their text fixed)."""
    from tests.integration.test_fast_cycle import _counted
    from tests.integration.test_metrics import scrape

    s = fast_table
    insert = f"INSERT INTO {s}.tf (id, at, d) VALUES (%s, CURRENT_TIMESTAMP, current_date)"
    update = f"UPDATE {s}.tf SET at = now() WHERE id = %s"
    select = f"SELECT now() = at, d = current_date FROM {s}.tf WHERE id = %s"
    with psycopg.connect(gridpg_cluster.dsn(0)) as conn:
        conn.execute(insert, (1, ), prepare=True)  # planned, prepared on the nodes
        conn.rollback()
        before = scrape(gridpg_cluster)
        reached: set[str] = set()
        for block in range(3):
            ids = list(range(100 * block + 1, 100 * block + 11))
            for i in ids:
                conn.execute(insert, (i,), prepare=True)
                conn.execute(update, (1001 + i % 40,), prepare=True)
            assert {tuple(conn.execute(select, (i,), prepare=True).fetchone()) for i in ids} == {(True, True)}
            now = conn.execute("SELECT now()").fetchone()[0]
            conn.commit()
            stored = _stored(datanodes, s, ids)
            assert set().union(*stored.values()) == {now}, (block, stored)
            reached |= {n for n, v in stored.items() if v}
        assert reached == set(datanodes)
        assert _counted(gridpg_cluster, before, "callback", 60) >= 60
    updated = _stored(datanodes, s, list(range(1001, 1041)))
    assert len(set().union(*updated.values())) <= 3  # one instant per block


def test_routed_time_statements_outside_a_block_and_after_reset_all(
        gridpg_cluster: Cluster, fast_table: str) -> None:
    """Outside a block each prepared statement is its own transaction with its own now()
    (on the other coordinator too); RESET ALL inside a block removes the nodes' setting of
    the instant, and the block's statements still agree with its now(); SET of the
    setting itself is refused."""
    s = fast_table
    select = f"SELECT now() FROM {s}.tf WHERE id = %s"
    with psycopg.connect(gridpg_cluster.dsn(1), autocommit=True) as conn:
        values = [conn.execute(select, (1001 + i,), prepare=True).fetchone()[0] for i in range(8)]
        assert values == sorted(values) and len(set(values)) == 8
        conn.execute("BEGIN")
        conn.execute(f"UPDATE {s}.tf SET at = now() WHERE id = %s", (1001,), prepare=True)
        conn.execute("RESET ALL")
        for i in range(1002, 1012):
            conn.execute(f"UPDATE {s}.tf SET at = now() WHERE id = %s", (i,), prepare=True)
        row = conn.execute(f"SELECT count(DISTINCT at), min(at) = now() FROM {s}.tf "
                           "WHERE id BETWEEN 1001 AND 1011").fetchone()
        conn.execute("COMMIT")
        assert row == (1, True)
        with pytest.raises(psycopg.errors.CantChangeRuntimeParam):
            conn.execute("SET gridpg.xact_now = '2000-01-01 00:00:00+00'")
        with pytest.raises(psycopg.errors.CantChangeRuntimeParam):
            conn.execute("SELECT set_config('gridpg.xact_now', '2000-01-01', false)")


def test_the_catalog_servers_start_and_savepoints(gridpg_cluster: Cluster, fast_table: str,
                                                  datanodes: dict[str, str]) -> None:
    """A block that reached the catalog server first takes its start as now(): datanodes
    joined before that was read, and those after, store it; a savepoint rolled back keeps
    the nodes' instant."""
    s = fast_table
    insert = f"INSERT INTO {s}.tf (id, at) VALUES (%s, now())"
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute("BEGIN")
        conn.execute("SELECT count(*) FROM pg_catalog.pg_class").fetchone()  # the catalog server
        conn.execute(f"SELECT at FROM {s}.tf WHERE id = %s", (1001,), prepare=True)  # a datanode
        conn.execute("SAVEPOINT a")
        for i in range(501, 506):
            conn.execute(insert, (i,), prepare=True)
        conn.execute("ROLLBACK TO SAVEPOINT a")
        for i in range(506, 521):
            conn.execute(insert, (i,), prepare=True)
        now = conn.execute("SELECT now()").fetchone()[0]  # answered by the catalog server
        conn.execute("COMMIT")
    stored = _stored(datanodes, s, list(range(501, 521)))
    assert all(stored.values()) and set().union(*stored.values()) == {now}, stored
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        assert conn.execute(f"SELECT count(*) FROM {s}.tf WHERE id BETWEEN 501 AND 520").fetchone() == (15,)
