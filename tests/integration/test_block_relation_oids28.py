"""A RowDescription's table OID and column number for a table created (or altered) in the
open block are the catalog server's, as for committed tables (h-silent28,
commands/block_types.map_block_relations): before, a result relayed from the datanodes
named such a table 0 until COMMIT. Compared with plain PostgreSQL through what clients
read back: the table and column that `ftable`/`ftablecol` name, in the simple and the
extended protocol, for a HASH and a REPLICATION table, routed, scattered, merged and
joined with a committed table."""

from __future__ import annotations

import psycopg

from gridpg.cluster.control import Cluster

_SETUP = [
    "CREATE TABLE {s}.done28 (id int PRIMARY KEY, z text)",
    "INSERT INTO {s}.done28 VALUES (1, 'p'), (2, 'q')",
]
_BLOCK = [
    "CREATE TABLE {s}.hash28 (id int PRIMARY KEY, a text, b int)",
    "CREATE TABLE {s}.rep28 (id int, r text){rep}",
    "INSERT INTO {s}.hash28 VALUES (1, 'x', 10), (2, 'y', 20)",
    "INSERT INTO {s}.rep28 VALUES (1, 'r')",
    "ALTER TABLE {s}.hash28 DROP COLUMN a",
    "ALTER TABLE {s}.hash28 ADD COLUMN c text",
]
_QUERIES = [
    "SELECT * FROM {s}.hash28",
    "SELECT * FROM {s}.hash28 WHERE id = 1",
    "SELECT c, id FROM {s}.hash28 ORDER BY id",
    "SELECT * FROM {s}.rep28",
    "SELECT h.id, d.z, h.b FROM {s}.hash28 h JOIN {s}.done28 d ON d.id = h.id ORDER BY h.id",
]


def _named(conn: psycopg.Connection, result: psycopg.pq.abc.PGresult) -> list[tuple[str | None, str | None]]:
    """Each column's table and column as the server's catalog names them (None: none)."""
    out = []
    for i in range(result.nfields):
        row = conn.execute(
            "SELECT c.relname, a.attname FROM pg_catalog.pg_class c LEFT JOIN pg_catalog.pg_attribute a "
            "ON a.attrelid = c.oid AND a.attnum = %s WHERE c.oid = %s",
            (result.ftablecol(i), result.ftable(i))).fetchone()
        out.append((row[0], row[1]) if row else (None, None))
    return out


def _described(dsn: str, schema: str, rep: str) -> list[list[tuple[str | None, str | None]]]:
    with psycopg.connect(dsn) as conn:
        for sql in _SETUP:
            conn.execute(sql.format(s=schema))
        conn.commit()
        for sql in _BLOCK:
            conn.execute(sql.format(s=schema, rep=rep))
        out = []
        for sql in _QUERIES:
            text = sql.format(s=schema)
            simple = conn.pgconn.exec_(text.encode())
            out.append(_named(conn, simple))
            for _ in range(2):  # (the second: the prepared statement's fast path)
                cur = conn.execute(text, prepare=True)
                assert cur.pgresult is not None
                out.append(_named(conn, cur.pgresult))
        conn.rollback()
        return out


def test_block_created_tables_described_as_postgresql(gridpg_cluster: Cluster, plain_pg: str, schema: str) -> None:
    with psycopg.connect(plain_pg, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        conn.execute(f'CREATE SCHEMA "{schema}"')
    want = _described(plain_pg, schema, "")
    got = _described(gridpg_cluster.dsn(0), schema, " DISTRIBUTE BY REPLICATION")
    assert got == want
    assert ("hash28", "c") in want[0] and ("rep28", "r") in want[9]  # (a test that can fail)
