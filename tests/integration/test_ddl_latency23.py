"""After any DDL the incremental catalog reload gives exactly what a full one gives (h-ddl23).

A reload reads each datanode's relations again only where they changed since the last read
(catalog/relation_oids.NodeRelations: row versions at or after the last read's snapshot
xmin, and the OIDs for what was dropped), and decodes again only the shards of the tables
whose shards changed (catalog/store.ShardPieces). Here a varied sequence of DDL runs
through a coordinator (tables of each placement, ADD/DROP/RENAME COLUMN, ALTER TYPE, a
block rolled back, RENAME and SET SCHEMA, a schema renamed, CREATE TYPE, an extension, a
table rebuilt with fewer columns on the nodes than on the catalog server, DROP): after each
statement, maps kept incrementally since the start equal a full read's (and the maps the
code before built, row by row), the snapshot with reused shards equals a fresh load, and
each coordinator's own maps name the catalog server's relation and column in every
RowDescription column of each table.
"""

from __future__ import annotations

import asyncio

import psycopg
import pytest

from gridpg.catalog import relation_oids, store
from gridpg.cluster.control import Cluster
from gridpg.cluster.pgserver import SUPERUSER
from gridpg.datanode.connection import BackendConnection, NodeAddress


def _addresses(cluster: Cluster) -> tuple[NodeAddress, dict[str, NodeAddress]]:
    password = cluster.password()
    catalog = cluster.topology.coordinators[0].catalog
    nodes = {g.name: NodeAddress(g.name, g.primary.host, g.primary.port, SUPERUSER, password)
             for g in cluster.topology.groups}
    return NodeAddress(catalog.name, catalog.host, catalog.port, SUPERUSER, password), nodes


class Reader:
    """Incremental state kept across the DDL, as a coordinator keeps it."""

    def __init__(self, cluster: Cluster) -> None:
        self.catalog, self.nodes = _addresses(cluster)
        self.known = {name: relation_oids.NodeRelations() for name in self.nodes}
        self.pieces = store.ShardPieces()
        self.partial_reads = 0

    async def check(self) -> None:
        catalog = await BackendConnection.connect(self.catalog)
        try:
            catalog_rows = await catalog.query(relation_oids.RELATION_COLUMNS_SQL)
            kept = await store.load_snapshot(catalog, 1, self.pieces)
            fresh = await store.load_snapshot(catalog, 1)
        finally:
            catalog.close()
        assert kept == fresh
        assert [t.key for t in kept.tables] == [t.key for t in fresh.tables]
        wanted = relation_oids.catalog_columns(catalog_rows)
        for name, address in self.nodes.items():
            node = await BackendConnection.connect(address)
            try:
                known = self.known[name]
                at = (address.host, str(address.port))
                full = known.is_full_read_due()
                _, mark, _, groups, _ = await node.simple_query(known.read_sql(full))
                assert known.apply(full, at, mark.rows[0], groups.rows)
                self.partial_reads += not full
                once = relation_oids.NodeRelations()
                _, mark, _, groups, _ = await node.simple_query(once.read_sql(True))
                assert once.apply(True, at, mark.rows[0], groups.rows)
                row_by_row = relation_oids.build_column_map(
                    catalog_rows, await node.query(relation_oids.RELATION_COLUMNS_SQL))
            finally:
                node.close()
            assert known.relations == once.relations, name
            assert known.column_map(wanted) == once.column_map(wanted) == row_by_row, name


def _described(cluster: Cluster, coordinator: int, schema: str) -> list[tuple[str, list[tuple[int, int]]]]:
    """Each table's RowDescription (table OID, column number) through a coordinator, and
    what the catalog server says they are."""
    out = []
    with psycopg.connect(cluster.dsn(coordinator), autocommit=True) as conn:
        tables = conn.execute(
            "SELECT c.oid, quote_ident(n.nspname) || '.' || quote_ident(c.relname) FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname LIKE %s AND c.relkind = 'r' "
            "ORDER BY 2", (schema + "%",)).fetchall()
        for oid, name in tables:
            cur = conn.execute(f"SELECT * FROM {name} LIMIT 0")
            result = cur.pgresult
            assert result is not None
            got = [(result.ftable(i), result.ftablecol(i)) for i in range(result.nfields)]
            expected = conn.execute(
                "SELECT attnum FROM pg_attribute WHERE attrelid = %s AND attnum > 0 AND NOT attisdropped "
                "ORDER BY attnum", (oid,)).fetchall()
            assert got == [(oid, n) for (n,) in expected], (coordinator, name)
            out.append((name, got))
    return out


def _steps(s: str) -> list[list[str]]:
    """DDL, one list per check (a list: statements of one session in order)."""
    return [
        [f"CREATE TABLE {s}.h (id int PRIMARY KEY, a text, b int, c numeric)"],
        [f"CREATE TABLE {s}.r (k int PRIMARY KEY, note text) DISTRIBUTE BY REPLICATION"],
        [f"CREATE TABLE {s}.m (k int, v text) DISTRIBUTE BY MODULO (k)"],
        [f"ALTER TABLE {s}.h ADD COLUMN d date"],
        [f"ALTER TABLE {s}.h DROP COLUMN a"],
        [f"ALTER TABLE {s}.h RENAME COLUMN b TO b2"],
        [f"ALTER TABLE {s}.h ALTER COLUMN b2 TYPE bigint"],
        [f"CREATE INDEX ON {s}.h (c)"],
        ["BEGIN", f"CREATE TABLE {s}.gone (g int)", f"ALTER TABLE {s}.r ADD COLUMN w int",
         f"ALTER TABLE {s}.m RENAME COLUMN v TO v2", "ROLLBACK"],
        ["BEGIN", f"ALTER TABLE {s}.r RENAME COLUMN note TO memo", f"CREATE TABLE {s}.kept (x int)", "COMMIT"],
        [f"ALTER TABLE {s}.r RENAME TO r2"],
        [f"CREATE SCHEMA {s}_b", f"ALTER TABLE {s}.m SET SCHEMA {s}_b"],
        [f"ALTER SCHEMA {s}_b RENAME TO {s}_c"],
        [f"CREATE TYPE {s}.mood AS ENUM ('low', 'high')", f"CREATE TABLE {s}.t (id int, md {s}.mood, z int)"],
        [f"ALTER TABLE {s}.t DROP COLUMN md", f"DROP TYPE {s}.mood"],
        [f"CREATE EXTENSION isn SCHEMA {s}", f"CREATE TABLE {s}.books (id int, code {s}.isbn)"],
        # rebuilt on the datanodes with no dropped column; the catalog server keeps h's
        [f"SELECT create_reference_table('{s}.h')"],
        [f"ALTER TABLE {s}.h ADD COLUMN a text"],
        [f"DROP TABLE {s}.books", "DROP EXTENSION isn"],
        [f"DROP TABLE {s}.t, {s}.kept", f"DROP SCHEMA {s}_c CASCADE"],
    ]


@pytest.mark.timeout(300)
def test_incremental_reload_equals_a_full_one_after_each_ddl(gridpg_cluster: Cluster, schema: str) -> None:
    reader = Reader(gridpg_cluster)
    asyncio.run(reader.check())
    try:
        with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
            for step in _steps(schema):
                for sql in step:
                    conn.execute(sql)
                asyncio.run(reader.check())
                for coordinator in range(len(gridpg_cluster.topology.coordinators)):
                    _described(gridpg_cluster, coordinator, schema)
    finally:
        with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA IF EXISTS {schema}_b CASCADE")
            conn.execute(f"DROP SCHEMA IF EXISTS {schema}_c CASCADE")
    assert reader.partial_reads >= len(_steps(schema)) * len(reader.nodes) - 2  # (a full read may come due)


def test_the_other_coordinator_sees_a_ddl_as_soon_as_it_returns(gridpg_cluster: Cluster, schema: str) -> None:
    """The DDL's coordinator tells the others before its own reload (their reloads and
    its own run at once), and still returns only when they have the new epoch."""
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute(f"CREATE TABLE {schema}.one (i int)")
        conn.execute(f"ALTER TABLE {schema}.one ADD COLUMN j int")
        assert conn.execute(f"SELECT j FROM {schema}.one").fetchall() == []
    with psycopg.connect(gridpg_cluster.dsn(1), autocommit=True) as other:
        assert [c.name for c in other.execute(f"SELECT * FROM {schema}.one").description] == ["i", "j"]
