"""Rows of a REPLICATION (reference) table are written on every node and locked on one,
its first: a statement that a distributed table of it pins to another node must not write
or lock the reference table's rows there alone. Before, `DELETE FROM ref USING dist WHERE
dist.id = 10 AND ...` deleted the row on the pinned node's replica only (DELETE 1; a read
served by the other node still saw it), and `SELECT ... FROM ref JOIN dist ... WHERE
dist.id = 10 FOR UPDATE` locked the reference row where no other locker looks (two
sessions both held it)."""

from __future__ import annotations

import psycopg
import pytest
from psycopg import errors

from gridpg.cluster.control import Cluster

JOIN = "SELECT ref.x FROM {s}.ref ref JOIN {s}.dist dist ON dist.r = ref.x WHERE dist.id = %s"


@pytest.fixture()
def tables(gridpg_cluster: Cluster, schema: str) -> dict[str, int]:
    """ref (replicated) and dist (by id); the dist ids whose rows are on the reference
    table's first node and on another, by the plans' nodes."""
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute(f"CREATE TABLE {schema}.ref (x int PRIMARY KEY, u text) DISTRIBUTE BY REPLICATION")
        conn.execute(f"CREATE TABLE {schema}.dist (id int PRIMARY KEY, r int)")
        conn.execute(f"INSERT INTO {schema}.ref SELECT g, 'r' || g FROM generate_series(1, 20) g")
        conn.execute(f"INSERT INTO {schema}.dist SELECT g, g FROM generate_series(1, 20) g")
        first = min(conn.execute("SELECT node_name FROM pgxc_node WHERE node_type = 'D'").fetchall())[0]
        found: dict[str, int] = {}
        for key in range(1, 21):
            plan = "\n".join(r[0] for r in conn.execute(
                f"EXPLAIN SELECT * FROM {schema}.dist WHERE id = {key}"))
            found.setdefault("first" if f"Nodes: {first}" in plan else "other", key)
    assert set(found) == {"first", "other"}
    return found


def test_a_write_pinned_by_a_distributed_table_writes_every_replica(
        gridpg_cluster: Cluster, schema: str, tables: dict[str, int]) -> None:
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        for key in tables.values():
            deleted = conn.execute(f"DELETE FROM {schema}.ref USING {schema}.dist WHERE dist.r = ref.x "
                                   f"AND dist.id = {key} RETURNING ref.x").fetchall()
            assert deleted == [(key,)]
            conn.execute(f"UPDATE {schema}.ref SET u = 'upd' FROM {schema}.dist WHERE dist.r = ref.x "
                         f"AND dist.id = {key + 1}")
        # every replica agrees: read through each node by joining a row pinned there
        for key in tables.values():
            for gone in tables.values():
                rows = conn.execute(f"SELECT count(*) FROM {schema}.ref JOIN {schema}.dist ON true "
                                    f"WHERE dist.id = {key} AND ref.x = {gone}").fetchone()
                assert rows == (0,)
            upd = conn.execute(f"SELECT ref.u FROM {schema}.ref JOIN {schema}.dist ON true "
                               f"WHERE dist.id = {key} AND ref.x = {key + 1}").fetchone()
            assert upd == ("upd",)


def test_locks_on_reference_rows_are_taken_on_the_first_node_or_refused(
        gridpg_cluster: Cluster, schema: str, tables: dict[str, int]) -> None:
    a, b = psycopg.connect(gridpg_cluster.dsn(0)), psycopg.connect(gridpg_cluster.dsn(1))
    try:
        for conn in (a, b):
            conn.execute("SET lock_timeout = '1s'")
            conn.commit()
        key = tables["first"]
        assert a.execute(JOIN.format(s=schema) + " FOR UPDATE", (key,)).fetchall() == [(key,)]
        with pytest.raises(errors.LockNotAvailable):  # the same reference row: b waits, then 55P03
            b.execute(f"SELECT x FROM {schema}.ref WHERE x = %s FOR UPDATE", (key,))
        a.rollback()
        b.rollback()
        other = tables["other"]
        for sql in (JOIN.format(s=schema) + " FOR UPDATE", JOIN.format(s=schema) + " FOR SHARE OF ref"):
            with pytest.raises(errors.FeatureNotSupported):
                a.execute(sql, (other,))
            a.rollback()
        # locking only the distributed table's rows is fine wherever they are
        assert a.execute(JOIN.format(s=schema) + " FOR UPDATE OF dist", (other,)).fetchall() == [(other,)]
        assert b.execute(f"SELECT x FROM {schema}.ref WHERE x = %s FOR UPDATE", (other,)).fetchall() == [(other,)]
    finally:
        a.close()
        b.close()
