"""A bare `tableoid` a client reads from a distributed table is its coordinator's catalog
server OID of the table (executor/tableoid_oids.py), as `'t'::regclass::oid` and pg_class
say there; it was the datanode's OID of the table, silently."""

from __future__ import annotations

import psycopg
import pytest

from gridpg.cluster.control import Cluster


def test_bare_tableoid_is_the_catalog_servers_oid(gridpg_cluster: Cluster, schema: str,
                                                  datanodes: dict[str, str]) -> None:
    s = schema
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute(f'CREATE TABLE {s}."Events" (id int, day date NOT NULL) PARTITION BY RANGE (day)')
        conn.execute(f"CREATE TABLE {s}.ev_jan PARTITION OF {s}.\"Events\" FOR VALUES FROM ('2026-01-01') TO ('2026-02-01')")
        conn.execute(f"CREATE TABLE {s}.plain (id int PRIMARY KEY, v text)")
        conn.execute(f"INSERT INTO {s}.plain SELECT g, 'v' FROM generate_series(1, 10) g")
        conn.execute(f"INSERT INTO {s}.\"Events\" VALUES (1, '2026-01-05')")
        node_oids = set()
        for dsn in datanodes.values():
            with psycopg.connect(dsn, autocommit=True) as direct:
                node_oids.add(direct.execute(f"SELECT '{s}.plain'::regclass::oid").fetchone()[0])
    for index in (0, 1):
        with psycopg.connect(gridpg_cluster.dsn(index)) as conn:
            plain = conn.execute(f"SELECT '{s}.plain'::regclass::oid").fetchone()[0]
            jan = conn.execute(f"SELECT '{s}.ev_jan'::regclass::oid").fetchone()[0]
            assert conn.execute(f"/* by key */ SELECT tableoid, id FROM {s}.plain WHERE id = 3").fetchone() == (plain, 3)
            assert conn.execute(f"SELECT p.tableoid AS t, tableoid::regclass::text FROM {s}.plain p WHERE id = %s",
                                (4,)).fetchone() == (plain, f"{s}.plain")
            assert conn.execute(f'SELECT tableoid FROM {s}."Events" WHERE id = 1').fetchone() == (jan,)
            assert conn.execute(f"INSERT INTO {s}.plain VALUES (100 + %s, 'x') RETURNING tableoid, id",
                                (index,)).fetchone() == (plain, 100 + index)
            # the client joins what it read with the catalog, as PostgreSQL allows
            oid = conn.execute(f"SELECT tableoid FROM {s}.plain WHERE id = 5").fetchone()[0]
            assert conn.execute("SELECT relname FROM pg_class WHERE oid = %s", (oid,)).fetchone() == ("plain",)
            conn.rollback()
    assert plain not in node_oids or len(node_oids) == 1  # (the datanodes number their relations themselves)


def test_a_tableoid_number_stored_by_insert_select_is_refused(gridpg_cluster: Cluster, schema: str) -> None:
    """Stored, the catalog server's OID would later be compared on the datanodes, which
    number their tables themselves: refused; a name (regclass, text) is stored and found."""
    s = schema
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:
        conn.execute(f"CREATE TABLE {s}.src (a int, b int)")
        conn.execute(f"CREATE TABLE {s}.dst (a int, o oid, r regclass)")
        conn.execute(f"INSERT INTO {s}.src SELECT g, g FROM generate_series(1, 6) g")
        for select in (f"SELECT a, tableoid, NULL FROM {s}.src", f"SELECT a, tableoid::int::oid, NULL FROM {s}.src"):
            with pytest.raises(psycopg.errors.FeatureNotSupported):
                conn.execute(f"INSERT INTO {s}.dst {select}")
        conn.execute(f"INSERT INTO {s}.dst SELECT a, NULL, tableoid::regclass FROM {s}.src")
        assert conn.execute(f"SELECT count(*) FROM {s}.dst WHERE r = '{s}.src'::regclass").fetchone() == (6,)
