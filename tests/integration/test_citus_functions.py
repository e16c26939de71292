"""Citus's functions and views for users who migrate: create_distributed_table (all its
arguments, positional and named), create_reference_table, alter_distributed_table,
undistribute_table, names resolved through search_path, and citus_tables / citus_shards."""

from __future__ import annotations

import psycopg
import pytest

from gridpg.cluster.control import Cluster


@pytest.fixture()
def conn(gridpg_cluster: Cluster, schema: str):  # type: ignore[no-untyped-def]
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as c:
        c.execute(f"SET search_path TO {schema}, public")
        yield c


def _layout(conn: psycopg.Connection, table: str) -> tuple[object, ...]:
    return conn.execute(
        "SELECT citus_table_type, distribution_column, shard_count FROM citus_tables "
        "WHERE table_name = %s::regclass", (table,)).fetchone()


def _rows(conn: psycopg.Connection, table: str) -> list[tuple[object, ...]]:
    return conn.execute(f"SELECT * FROM {table} ORDER BY 1").fetchall()


def test_functions_resolve_through_search_path_and_keep_rows(conn: psycopg.Connection, schema: str) -> None:
    conn.execute("CREATE TABLE items (id int, tag text)")
    conn.execute("INSERT INTO items SELECT g, 't' || g FROM generate_series(1, 50) g")
    conn.execute("CREATE TABLE refs (code text PRIMARY KEY)")
    conn.execute("INSERT INTO refs VALUES ('a'), ('b')")
    before = _rows(conn, "items")
    conn.execute("SELECT create_distributed_table('items', 'id', 'hash', 'none', 4)")
    assert _layout(conn, "items") == ("distributed", "id", 4)
    conn.execute("SELECT create_reference_table('refs')")
    assert _layout(conn, "refs") == ("reference", "<none>", 1)
    conn.execute("CREATE TABLE more (id int, v int)")
    conn.execute("SELECT create_distributed_table(table_name => 'more', distribution_column => 'id', "
                 "colocate_with => 'items')")
    assert _layout(conn, "more") == ("distributed", "id", 4)
    colocations = conn.execute("SELECT count(DISTINCT colocation_id) FROM citus_tables "
                               "WHERE table_name IN ('items'::regclass, 'more'::regclass)").fetchone()
    assert colocations == (1,)
    conn.execute("SELECT alter_distributed_table('items', shard_count => 6)")
    assert _layout(conn, "items") == ("distributed", "id", 6)
    conn.execute("SELECT alter_distributed_table('items', distribution_column => 'tag')")
    assert _layout(conn, "items") == ("distributed", "tag", 6)
    conn.execute("SELECT undistribute_table('items')")
    assert _rows(conn, "items") == before
    assert conn.execute(f"SELECT create_distributed_table('{schema}.items', 'id')").fetchone() == ("",)
    assert _rows(conn, "items") == before and _rows(conn, "refs") == [("a",), ("b",)]


def test_citus_shards_and_sizes(conn: psycopg.Connection) -> None:
    conn.execute("CREATE TABLE big (id int, pad text) DISTRIBUTE BY HASH (id)")
    conn.execute("INSERT INTO big SELECT g, repeat('x', 200) FROM generate_series(1, 2000) g")
    conn.execute("CREATE TABLE r (id int) DISTRIBUTE BY REPLICATION")
    shards = conn.execute("SELECT count(*), count(DISTINCT shardid), bool_and(shard_size >= 0), "
                          "sum(shard_size) > 400000 FROM citus_shards WHERE table_name = 'big'::regclass").fetchone()
    assert shards == (32, 32, True, True)
    placements = conn.execute("SELECT count(*), count(DISTINCT shardid), count(DISTINCT nodeport) "
                              "FROM citus_shards s WHERE s.table_name = 'r'::regclass").fetchone()
    assert placements[0] == placements[2] and placements[1] == 1
    size = conn.execute("SELECT table_size FROM citus_tables WHERE table_name = 'big'::regclass").fetchone()[0]
    assert size.endswith(("kB", "MB"))


@pytest.mark.parametrize(
    ("sql", "sqlstate"),
    [
        ("SELECT create_distributed_table('t0', 'id', 'range')", "0A000"),
        ("SELECT create_distributed_table('t0', 'id', 'sideways')", "22P02"),
        ("SELECT create_distributed_table('t0', 'id', colocate_with => 'refs', shard_count => 4)", "22023"),
        ("SELECT create_distributed_table('t0', 'id', nonsense => 1)", "42883"),
        ("SELECT create_distributed_table('missing', 'id')", "42P01"),
        ("SELECT create_distributed_table('t0', 'nope')", "42703"),
        ("SELECT create_distributed_table('t0', 'id', shard_count => 'x')", "22P02"),
        ("SELECT undistribute_table('t0', cascade_via_foreign_keys => true)", "0A000"),
    ],
)
def test_errors_have_sqlstates_and_keep_rows(conn: psycopg.Connection, sql: str, sqlstate: str) -> None:
    conn.execute("CREATE TABLE t0 (id int, v text)")
    conn.execute("INSERT INTO t0 VALUES (1, 'a'), (2, 'b')")
    with pytest.raises(psycopg.Error) as info:
        conn.execute(sql)
    assert info.value.sqlstate == sqlstate
    assert _rows(conn, "t0") == [(1, "a"), (2, "b")]


def test_several_calls_in_one_select_run_in_order_in_one_transaction(conn: psycopg.Connection) -> None:
    """`SELECT undistribute_table('t'), create_distributed_table('t', 'a')` (as Citus's own
    suites write it): each call in order, one row of void columns, all or nothing; and a
    join in the same block after them (its row estimates were read on a pooled connection,
    which waited for the block's own DDL locks forever)."""
    conn.execute("CREATE TABLE d1 (a int, b int)")
    conn.execute("CREATE TABLE d2 (a int, b text)")
    conn.execute("INSERT INTO d1 SELECT g, g % 7 FROM generate_series(1, 40) g")
    conn.execute("INSERT INTO d2 SELECT g, g::text FROM generate_series(1, 40) g")
    cur = conn.execute("SELECT create_distributed_table('d1', 'b'), "
                       "create_distributed_table('d2', 'a', colocate_with => 'none')")
    assert [d.name for d in cur.description] == ["create_distributed_table"] * 2
    assert cur.fetchall() == [("", "")]
    assert _layout(conn, "d1")[1] == "b"
    conn.execute("SELECT undistribute_table('d1'), create_distributed_table('d1', 'a')")
    assert _layout(conn, "d1") == ("distributed", "a", 32)
    with pytest.raises(psycopg.errors.UndefinedTable):
        conn.execute("SELECT create_reference_table('d1'), create_distributed_table('no_such_t', 'a')")
    assert _layout(conn, "d1") == ("distributed", "a", 32)  # the first call rolled back too
    conn.execute("BEGIN")
    conn.execute("SELECT alter_distributed_table('d1', shard_count := 8), "
                 "alter_distributed_table('d2', shard_count := 8, colocate_with := 'd1')")
    assert conn.execute("SELECT count(*) FROM d1 JOIN d2 ON d1.b = d2.a").fetchone() == (40 - 40 // 7,)
    assert conn.execute("SELECT count(*) FROM d1 JOIN d2 USING (a)").fetchone() == (40,)
    conn.execute("ROLLBACK")  # (its COMMIT would be refused: the join's gathered temp tables, 0A000)
    assert _layout(conn, "d2")[2] == 32
    with conn.transaction():
        conn.execute("SELECT alter_distributed_table('d1', shard_count := 8), "
                     "alter_distributed_table('d2', shard_count := 8, colocate_with := 'd1')")
    assert _layout(conn, "d2") == ("distributed", "a", 8)
    assert conn.execute("SELECT count(*) FROM d1 JOIN d2 USING (a)").fetchone() == (40,)
    assert _rows(conn, "d1") == [(g, g % 7) for g in range(1, 41)]


def test_null_distribution_column_makes_a_single_shard_table(conn: psycopg.Connection) -> None:
    """Citus 12's `create_distributed_table('t', NULL)`: every row on one group, and
    colocate_with another single-shard table puts it on the same group."""
    conn.execute("CREATE TABLE s1 (id int PRIMARY KEY, v text)")
    conn.execute("INSERT INTO s1 SELECT g, 'v' || g FROM generate_series(1, 30) g")
    conn.execute("SELECT create_distributed_table('s1', NULL)")
    conn.execute("CREATE TABLE s2 (id int, s1_id int)")
    conn.execute("SELECT create_distributed_table('s2', null, colocate_with => 's1')")
    conn.execute("INSERT INTO s2 SELECT g, g % 30 + 1 FROM generate_series(1, 60) g")
    nodes = conn.execute("SELECT DISTINCT nodename || ':' || nodeport FROM citus_shards "
                         "WHERE table_name IN ('s1'::regclass, 's2'::regclass)").fetchall()
    assert len(nodes) == 1
    assert conn.execute("SELECT count(*), count(DISTINCT s1.id) FROM s2 JOIN s1 ON s1.id = s2.s1_id").fetchone() == (60, 30)
    conn.execute("CREATE TABLE h (id int)")
    conn.execute("SELECT create_distributed_table('h', 'id')")
    with pytest.raises(psycopg.errors.InvalidParameterValue):
        conn.execute("SELECT create_distributed_table('s2', NULL, colocate_with => 'h')")
    with pytest.raises(psycopg.errors.InvalidParameterValue):
        conn.execute("SELECT create_distributed_table('s2', NULL, shard_count => 4)")
    assert conn.execute("SELECT count(*) FROM s2").fetchone() == (60,)


def test_citus_views_in_the_block_that_moved_the_table(conn: psycopg.Connection, schema: str) -> None:
    """citus_tables / citus_shards read in the block that ran alter_distributed_table answer
    with the block's layout; they hung before (their size query waited, on another
    connection, for the locks the block holds)."""
    conn.execute("CREATE TABLE moved (id int PRIMARY KEY, v int)")
    conn.execute("INSERT INTO moved SELECT g, g FROM generate_series(1, 40) g")
    conn.execute("SET statement_timeout = '20s'")
    with conn.transaction():
        conn.execute("SELECT alter_distributed_table('moved', shard_count => 4)")
        assert conn.execute("SELECT shard_count FROM citus_tables WHERE table_name = 'moved'::regclass"
                            ).fetchone() == (4,)
        assert conn.execute("SELECT count(*) FROM citus_shards WHERE table_name = 'moved'::regclass"
                            ).fetchone() == (4,)
    assert conn.execute("SELECT shard_count FROM citus_tables WHERE table_name = 'moved'::regclass").fetchone() == (4,)
    assert conn.execute("SELECT count(*), sum(v) FROM moved").fetchone() == (40, 820)


def test_alter_distributed_table_cascades_to_colocated_tables(conn: psycopg.Connection) -> None:
    """`cascade_to_colocated => true` (Citus's alter_distributed_table.sql): every table
    colocated with the altered one takes its new shard count and stays colocated with it,
    rows kept, in one transaction; Citus's argument errors (22023) change nothing."""
    conn.execute("CREATE TABLE d (a int, b int)")
    conn.execute("SELECT create_distributed_table('d', 'a', colocate_with => 'none')")
    conn.execute("CREATE TABLE c1 (a int, b int)")
    conn.execute("SELECT create_distributed_table('c1', 'a', colocate_with => 'd')")
    conn.execute("CREATE TABLE c2 (x int, y text)")
    conn.execute("SELECT create_distributed_table('c2', 'x', colocate_with => 'd')")
    conn.execute("CREATE TABLE alone (a int)")
    conn.execute("SELECT create_distributed_table('alone', 'a', colocate_with => 'none')")
    conn.execute("INSERT INTO d SELECT g, g FROM generate_series(1, 20) g")
    conn.execute("INSERT INTO c2 SELECT g, g::text FROM generate_series(1, 30) g")
    before = _rows(conn, "d"), _rows(conn, "c2")
    for sql in ("SELECT alter_distributed_table('d', distribution_column => 'b', cascade_to_colocated => true)",
                "SELECT alter_distributed_table('d', cascade_to_colocated => true)",
                "SELECT alter_distributed_table('d', shard_count => 4, colocate_with => 'none', "
                "cascade_to_colocated => true)"):
        with pytest.raises(psycopg.Error) as info:
            conn.execute(sql)
        assert info.value.sqlstate == "22023", sql
    with conn.transaction():
        conn.execute("SELECT alter_distributed_table('d', shard_count => 6, cascade_to_colocated => true)")
        raise psycopg.Rollback()
    assert _layout(conn, "c2")[2] != 6
    conn.execute("SELECT alter_distributed_table('d', shard_count => 6, cascade_to_colocated => true)")
    assert [_layout(conn, t)[2] for t in ("d", "c1", "c2")] == [6, 6, 6]
    assert _layout(conn, "c2")[1] == "x"
    groups = conn.execute("SELECT count(DISTINCT colocation_id) FROM citus_tables "
                          "WHERE table_name IN ('d'::regclass, 'c1'::regclass, 'c2'::regclass)").fetchone()
    assert groups == (1,)
    assert _layout(conn, "alone")[2] != 6
    assert (_rows(conn, "d"), _rows(conn, "c2")) == before
