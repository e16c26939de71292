"""A datanode's type and relation maps are read when a statement first takes one of the
node's connections after a catalog reload, not in the reload (h-ddl26,
`Coordinator.ensure_node_maps`): DDL on one coordinator, then a statement on the other,
also inside a block opened before the DDL (its datanode connections held), must describe
its rows with the catalog server's relation, column numbers and type OIDs: through the
extended protocol, the prepared fast path (a routed cycle) and the simple protocol's
routed fast path."""

from __future__ import annotations

import psycopg

from gridpg.cluster.control import Cluster


def _want(conn: psycopg.Connection, table: str) -> tuple[int, list[tuple[str, int, int]]]:
    oid = conn.execute("SELECT %s::regclass::oid", (table,)).fetchone()[0]
    rows = conn.execute(
        "SELECT attname, attnum, atttypid FROM pg_attribute WHERE attrelid = %s AND attnum > 0 "
        "AND NOT attisdropped ORDER BY attnum", (oid,)).fetchall()
    return oid, [tuple(r) for r in rows]


def _described(result: psycopg.pq.abc.PGresult, names: list[str]) -> tuple[set[int], list[tuple[str, int, int]]]:
    return ({result.ftable(i) for i in range(result.nfields)},
            [(names[i], result.ftablecol(i), result.ftype(i)) for i in range(result.nfields)])


def _check_all_paths(conn: psycopg.Connection, table: str, want: tuple[int, list[tuple[str, int, int]]]) -> None:
    oid, columns = want
    names = [c[0] for c in columns]
    for _ in range(2):  # (the second: the prepared statement's fast path)
        cur = conn.execute(f"SELECT * FROM {table} WHERE id = %s", (1,), prepare=True)
        assert cur.pgresult is not None
        assert _described(cur.pgresult, names) == ({oid}, columns)
    simple = conn.pgconn.exec_(f"SELECT * FROM {table} WHERE id = 1".encode())
    assert _described(simple, names) == ({oid}, columns)
    many = conn.execute(f"SELECT * FROM {table}")
    assert many.pgresult is not None
    assert _described(many.pgresult, names) == ({oid}, columns)


def test_statements_after_ddl_elsewhere_describe_with_new_maps(gridpg_cluster: Cluster, schema: str) -> None:
    t, u, held = f"{schema}.t", f"{schema}.u", f"{schema}.held"
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as ddl, \
            psycopg.connect(gridpg_cluster.dsn(1), autocommit=True) as other, \
            psycopg.connect(gridpg_cluster.dsn(1)) as block:
        ddl.execute(f"CREATE TABLE {t} (id int PRIMARY KEY, a text)")
        ddl.execute(f"INSERT INTO {t} VALUES (1, 'x'), (2, 'y')")
        ddl.execute(f"CREATE TABLE {held} (id int PRIMARY KEY)")
        # the block holds both datanodes now (not `t`'s lock, which the DDL below waits for)
        block.execute(f"SELECT * FROM {held}").fetchall()
        ddl.execute(f"CREATE TYPE {schema}.mood AS ENUM ('low', 'high')")
        ddl.execute(f"ALTER TABLE {t} ADD COLUMN m {schema}.mood")
        ddl.execute(f"CREATE TABLE {u} (id int PRIMARY KEY, m {schema}.mood, b int)")
        ddl.execute(f"INSERT INTO {u} VALUES (1, 'high', 3)")
        ddl.execute(f"ALTER TABLE {u} RENAME COLUMN b TO b2")
        # What coordinator 1's catalog server says (each coordinator's catalog server has its
        # own OIDs: they match coordinator 0's only while every object was made on both)
        with psycopg.connect(gridpg_cluster.dsn(1), autocommit=True) as catalog:
            wants = {t: _want(catalog, t), u: _want(catalog, u)}
        for conn in (block, other):
            _check_all_paths(conn, t, wants[t])
            _check_all_paths(conn, u, wants[u])
        assert block.execute(f"SELECT m FROM {u}").fetchall() == [("high",)]
        block.rollback()
