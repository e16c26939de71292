"""Partitioned and inherited distributed tables, and CREATE INDEX / REINDEX CONCURRENTLY on
distributed tables (issue 12, item 5): the layout on the datanodes, pruning and routing
seen in EXPLAIN, the refusals, and a concurrent index build that fails on one node (the
error says what is left and how to recover, and the recovery works).

Results against plain PostgreSQL are in tests/oracle/corpus/87_partitioned.sql."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest

from gridpg.cluster.control import Cluster


@pytest.fixture()
def conn(gridpg_cluster: Cluster, schema: str) -> Iterator[psycopg.Connection]:
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as c:
        c.execute(f"SET search_path TO {schema}")
        yield c


def _on_each(datanodes: dict[str, str], sql: str) -> dict[str, list[tuple[object, ...]]]:
    out = {}
    for group, dsn in datanodes.items():
        with psycopg.connect(dsn, autocommit=True) as node:
            out[group] = node.execute(sql).fetchall()
    return out


def _explain(conn: psycopg.Connection, sql: str) -> str:
    return "\n".join(r[0] for r in conn.execute(f"EXPLAIN (COSTS OFF) {sql}").fetchall())


def test_partition_tree_on_the_datanodes_prunes_and_routes(
        conn: psycopg.Connection, schema: str, datanodes: dict[str, str], gridpg_cluster: Cluster) -> None:
    conn.execute("CREATE TABLE m (id int, day date, PRIMARY KEY (id, day)) PARTITION BY RANGE (day) "
                 "DISTRIBUTE BY HASH (id)")
    conn.execute("CREATE TABLE m_a PARTITION OF m FOR VALUES FROM ('2024-01-01') TO ('2024-07-01')")
    conn.execute("CREATE TABLE m_b PARTITION OF m FOR VALUES FROM ('2024-07-01') TO ('2025-01-01')")
    conn.execute("INSERT INTO m SELECT g, DATE '2024-01-01' + g FROM generate_series(0, 300) g")
    # the user's tree on every node; each leaf hash-partitioned into that node's shards
    trees = _on_each(datanodes, f"SELECT c.relname, c.relkind, p.partstrat FROM pg_class c JOIN pg_partitioned_table p "
                     f"ON p.partrelid = c.oid WHERE c.relnamespace = '{schema}'::regnamespace ORDER BY 1")
    for rows in trees.values():
        assert rows == [("m", "p", "r"), ("m_a", "p", "h"), ("m_b", "p", "h")]
    counts = _on_each(datanodes, f"SELECT count(*) FROM {schema}.m_a")
    assert sum(r[0][0] for r in counts.values()) == 182 and all(r[0][0] > 0 for r in counts.values())
    pruned = _explain(conn, "SELECT * FROM m WHERE day = '2024-08-01'")
    assert "m_b" in pruned and "m_a" not in pruned  # the datanode's own pruning, shown under the plan
    routed = _explain(conn, "SELECT * FROM m WHERE id = 7")
    assert "router" in routed and "Nodes: dn" in routed and "," not in routed.split("Nodes:")[1].split("\n")[0]
    rows = conn.execute("SELECT count(*) FROM m_b WHERE id = 200").fetchone()
    assert rows == (1,)
    metadata = conn.execute("SELECT table_name, colocation_id FROM gridpg.dist_table WHERE schema_name = %s "
                            "ORDER BY 1", (schema,)).fetchall()
    assert [t for t, _ in metadata] == ["m", "m_a", "m_b"] and len({c for _, c in metadata}) == 1
    with psycopg.connect(gridpg_cluster.dsn(1), autocommit=True) as other:
        assert other.execute(f"SELECT count(*) FROM {schema}.m WHERE day >= '2024-07-01'").fetchone() == (119,)
    with conn.transaction(), pytest.raises(psycopg.errors.ActiveSqlTransaction, match="DETACH CONCURRENTLY"):
        conn.execute("ALTER TABLE m DETACH PARTITION m_b CONCURRENTLY")
    conn.execute("ALTER TABLE m DETACH PARTITION m_b CONCURRENTLY")
    assert conn.execute("SELECT count(*) FROM m").fetchone() == (182,)
    assert conn.execute("SELECT count(*) FROM m_b WHERE id > 100").fetchone() == (119,)
    conn.execute("DROP TABLE m")
    assert conn.execute("SELECT table_name FROM gridpg.dist_table WHERE schema_name = %s",
                        (schema,)).fetchall() == [("m_b",)]


def test_create_distributed_table_moves_the_whole_partition_tree(
        conn: psycopg.Connection, schema: str, datanodes: dict[str, str]) -> None:
    """The Citus time-series flow: partitions made first, then create_distributed_table on
    the parent. Before, the tree was lost on the datanodes: the parent became a plain
    HASH table that took rows no partition bounds (no error), and its partitions were gone."""
    conn.execute("CREATE TABLE ev (tenant int, at date, v int, PRIMARY KEY (tenant, at, v)) PARTITION BY RANGE (at)")
    conn.execute("CREATE TABLE ev_h1 PARTITION OF ev FOR VALUES FROM ('2026-01-01') TO ('2026-07-01')")
    conn.execute("CREATE TABLE ev_h2 PARTITION OF ev FOR VALUES FROM ('2026-07-01') TO ('2027-01-01') "
                 "PARTITION BY LIST (v)")
    conn.execute("CREATE TABLE ev_h2_small PARTITION OF ev_h2 FOR VALUES IN (1, 2, 3)")
    conn.execute("CREATE TABLE ev_h2_rest PARTITION OF ev_h2 DEFAULT")
    conn.execute("CREATE INDEX ev_h1_v ON ev_h1 (v)")  # a partition's own index
    conn.execute("INSERT INTO ev SELECT g % 7, DATE '2026-01-01' + g, g % 5 FROM generate_series(0, 360) g")
    conn.execute("SELECT create_distributed_table('ev', 'tenant', shard_count => 4)")
    with pytest.raises(psycopg.errors.CheckViolation):
        conn.execute("INSERT INTO ev VALUES (1, '2030-01-01', 1)")  # no partition for it, as in PostgreSQL
    assert conn.execute("SELECT count(*), sum(v) FROM ev").fetchone() == (361, sum(g % 5 for g in range(361)))
    assert conn.execute("SELECT count(*) FROM ev_h2_small").fetchone() == (
        sum(1 for g in range(181, 361) if g % 5 in (1, 2, 3)),)
    assert conn.execute("SELECT tableoid::regclass::text FROM ev WHERE tenant = 5 AND at = '2026-12-01'"
                        ).fetchone() == ("ev_h2_rest",)  # 2026-12-01 is g = 334: tenant 5, v 4
    trees = _on_each(datanodes, f"SELECT c.relname FROM pg_class c WHERE c.relnamespace = '{schema}'::regnamespace "
                     "AND c.relkind IN ('p', 'r', 'i', 'I') ORDER BY 1")
    for rows in trees.values():
        names = [r[0] for r in rows]
        assert {"ev", "ev_h1", "ev_h2", "ev_h2_small", "ev_h2_rest", "ev_h1_v"} <= set(names)
    metadata = conn.execute("SELECT table_name, dist_column, colocation_id FROM gridpg.dist_table "
                            "WHERE schema_name = %s ORDER BY 1", (schema,)).fetchall()
    assert [t for t, _, _ in metadata] == ["ev", "ev_h1", "ev_h2", "ev_h2_rest", "ev_h2_small"]
    assert {c for _, c, _ in metadata} == {"tenant"} and len({k for _, _, k in metadata}) == 1
    with pytest.raises(psycopg.errors.FeatureNotSupported, match="is a partition"):
        conn.execute("SELECT create_distributed_table('ev_h1', 'v')")
    conn.execute("DROP TABLE ev_h1")
    assert conn.execute("SELECT count(*) FROM ev").fetchone() == (180,)


def test_refusals_keep_answers_right(conn: psycopg.Connection) -> None:
    with pytest.raises(psycopg.errors.FeatureNotSupported, match="distribution column"):
        conn.execute("CREATE TABLE bad (id int, day date, PRIMARY KEY (day)) PARTITION BY RANGE (day) "
                     "DISTRIBUTE BY HASH (id)")
    conn.execute("CREATE TABLE par (id int, v text) PARTITION BY LIST (v) DISTRIBUTE BY HASH (id)")
    with pytest.raises(psycopg.errors.FeatureNotSupported, match="takes its distribution"):
        conn.execute("CREATE TABLE par_x PARTITION OF par FOR VALUES IN ('x') DISTRIBUTE BY REPLICATION")
    conn.execute("CREATE TABLE base (id int, v text) DISTRIBUTE BY HASH (id)")
    with pytest.raises(psycopg.errors.FeatureNotSupported, match="temporary table"):
        conn.execute("CREATE TEMP TABLE kid () INHERITS (base)")
    conn.execute("CREATE TABLE kid (extra int) INHERITS (base)")
    conn.execute("INSERT INTO kid VALUES (1, 'k', 0)")
    # (h-inherit19: the moved row stays in its child table; this was refused)
    conn.execute("UPDATE base SET id = 2 WHERE id = 1")
    conn.execute("UPDATE kid SET id = 3 WHERE id = 2")
    assert conn.execute("SELECT id, v FROM base").fetchall() == [(3, "k")]
    assert conn.execute("SELECT count(*) FROM ONLY base").fetchone() == (0,)


def test_inheritance_parent_becomes_plain_with_rows_and_indexes(
        conn: psycopg.Connection, schema: str, datanodes: dict[str, str]) -> None:
    conn.execute("CREATE TABLE person (id int PRIMARY KEY, name text)")
    conn.execute("CREATE INDEX person_name ON person (name)")
    conn.execute("INSERT INTO person SELECT g, 'p' || g FROM generate_series(1, 40) g")
    conn.execute("CREATE TABLE emp (salary int) INHERITS (person)")
    conn.execute("INSERT INTO emp VALUES (100, 'boss', 10)")
    kinds = _on_each(datanodes, f"SELECT relkind FROM pg_class WHERE oid = '{schema}.person'::regclass")
    assert all(rows == [("r",)] for rows in kinds.values())
    indexes = _on_each(datanodes, f"SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
                       f"WHERE i.indrelid = '{schema}.person'::regclass ORDER BY 1")
    assert all(rows == [("person_name",), ("person_pkey",)] for rows in indexes.values())
    counts = _on_each(datanodes, f"SELECT count(*) FROM ONLY {schema}.person")
    assert sum(r[0][0] for r in counts.values()) == 40
    assert conn.execute("SELECT count(*) FROM person").fetchone() == (41,)
    assert conn.execute("SELECT name FROM person WHERE id = 100").fetchone() == ("boss",)
    with pytest.raises(psycopg.errors.UniqueViolation):
        conn.execute("INSERT INTO person VALUES (5, 'dup')")
    # a row sent to the wrong node is refused by the node (the placement check)
    group = next(g for g, rows in counts.items() if rows)
    with psycopg.connect(datanodes[group], autocommit=True) as node, pytest.raises(psycopg.errors.CheckViolation):
        for i in range(1000, 1100):  # some of these belong to the other node
            node.execute(f"INSERT INTO {schema}.person VALUES ({i}, 'x')")


def _index_state(datanodes: dict[str, str], schema: str, name: str) -> dict[str, list[tuple[object, ...]]]:
    return _on_each(datanodes, f"SELECT indisvalid FROM pg_index WHERE indexrelid = "
                    f"to_regclass('{schema}.{name}')")


def test_create_index_concurrently_and_a_node_that_fails(
        conn: psycopg.Connection, schema: str, datanodes: dict[str, str], catalogs: dict[str, str]) -> None:
    conn.execute("CREATE TABLE t (id int, v int) DISTRIBUTE BY HASH (id)")
    conn.execute("INSERT INTO t SELECT g, g FROM generate_series(1, 100) g")
    conn.execute("CREATE INDEX CONCURRENTLY t_v ON t (v)")
    assert all(rows == [(True,)] for rows in _index_state(datanodes, schema, "t_v").values())
    leaves = _on_each(datanodes, f"SELECT count(*) FROM pg_index i JOIN pg_inherits h ON h.inhrelid = i.indexrelid "
                      f"WHERE h.inhparent = '{schema}.t_v'::regclass AND i.indisvalid")
    assert sum(r[0][0] for r in leaves.values()) == 32  # one attached, valid index per shard
    conn.execute("CREATE INDEX CONCURRENTLY ON t (id, v)")  # the name the catalog server chose
    assert all(rows == [(True,)] for rows in _index_state(datanodes, schema, "t_id_v_idx").values())
    conn.execute("REINDEX TABLE CONCURRENTLY t")
    conn.execute("REINDEX INDEX CONCURRENTLY t_v")
    with conn.transaction(), pytest.raises(psycopg.errors.ActiveSqlTransaction, match="CREATE INDEX CONCURRENTLY"):
        conn.execute("CREATE INDEX CONCURRENTLY t_w ON t (v)")
    with conn.transaction(), pytest.raises(psycopg.errors.ActiveSqlTransaction, match="REINDEX CONCURRENTLY"):
        conn.execute("REINDEX TABLE CONCURRENTLY t")
    # duplicates of one key live on one node: the unique build fails there only
    conn.execute("INSERT INTO t VALUES (7, -7)")
    with pytest.raises(psycopg.errors.UniqueViolation) as failure:
        conn.execute("CREATE UNIQUE INDEX CONCURRENTLY t_id ON t (id)")
    error = failure.value.diag
    assert "failed on dn" in (error.message_primary or "")
    assert "DROP INDEX CONCURRENTLY IF EXISTS" in (error.message_hint or "")
    assert "catalog" in (error.message_detail or "")
    conn.execute("DROP INDEX CONCURRENTLY IF EXISTS t_id")
    assert all(rows == [] for rows in _index_state(datanodes, schema, "t_id").values())
    for dsn in catalogs.values():
        with psycopg.connect(dsn) as cat:
            assert cat.execute(f"SELECT to_regclass('{schema}.t_id')").fetchone() == (None,)
    unattached = _on_each(datanodes, "SELECT count(*) FROM pg_index i WHERE NOT i.indisvalid AND i.indrelid IN "
                          f"(SELECT inhrelid FROM pg_inherits WHERE inhparent = '{schema}.t'::regclass)")
    assert all(rows == [(0,)] for rows in unattached.values())
    conn.execute("DELETE FROM t WHERE v = -7")
    conn.execute("CREATE UNIQUE INDEX CONCURRENTLY t_id ON t (id)")
    assert all(rows == [(True,)] for rows in _index_state(datanodes, schema, "t_id").values())
    with pytest.raises(psycopg.errors.UniqueViolation):
        conn.execute("INSERT INTO t VALUES (7, 0)")
