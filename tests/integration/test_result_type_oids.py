"""Results name user and extension types by the catalog server's OIDs, whichever path
answered them (frontend/coordinator._load_type_maps, `_Protocol.type_map`).

A datanode has its own OIDs for types that are not PostgreSQL's (enums, domains,
composites, extension types such as hstore or pgvector's vector); clients look types up
through the coordinator, so by the catalog server's OIDs (psycopg's EnumInfo,
register_hstore, pgvector's register_vector). Before, a RowDescription relayed from a
datanode (a routed or pushed-down read, RETURNING, the simple protocol's fast path) carried
the datanode's OID: a driver decoding by OID gave a `str` for a routed read and an Enum
for a sorted merge of the same column."""

from __future__ import annotations

import enum

import psycopg
from psycopg.types import TypeInfo
from psycopg.types.enum import EnumInfo, register_enum
from psycopg.types.hstore import register_hstore

from gridpg.cluster.control import Cluster
from tests.cluster_fixtures import create_in_schema

SETUP = [
    "CREATE EXTENSION IF NOT EXISTS hstore SCHEMA public",
    "CREATE TYPE {s}.mood AS ENUM ('sad', 'ok', 'happy')",
    ("CREATE TABLE {s}.moods (id int PRIMARY KEY, m {s}.mood, ms {s}.mood[], h public.hstore) "
     "DISTRIBUTE BY HASH (id)"),
    "INSERT INTO {s}.moods SELECT g, 'ok', '{{sad,happy}}', 'a=>1' FROM generate_series(1, 6) g",
]


class Mood(enum.Enum):
    sad = "sad"
    ok = "ok"
    happy = "happy"


def _decoding(conn: psycopg.Connection, s: str) -> None:
    register_enum(EnumInfo.fetch(conn, f"{s}.mood"), conn, Mood)
    info = TypeInfo.fetch(conn, "hstore")
    assert info is not None
    register_hstore(info, conn)


def test_every_path_names_types_by_the_catalog_servers_oids(gridpg_cluster: Cluster, schema: str) -> None:
    s = create_in_schema(gridpg_cluster, schema, SETUP)
    for coordinator in (0, 1):
        with psycopg.connect(gridpg_cluster.dsn(coordinator), autocommit=True) as conn:
            _decoding(conn, s)
            want = (Mood.ok, [Mood.sad, Mood.happy], {"a": "1"})
            for _ in range(3):  # the simple protocol's fast path answers the repeats
                with psycopg.ClientCursor(conn) as cur:  # simple protocol (psycopg2's, Django's)
                    assert cur.execute(f"SELECT m, ms, h FROM {s}.moods WHERE id = 1").fetchone() == want
                    assert cur.execute(f"SELECT m, ms, h FROM {s}.moods WHERE id = %s", (2,)).fetchone() == want
                    assert cur.execute(f"SELECT m, ms, h FROM {s}.moods").fetchall() == [want] * 6
                    assert cur.execute(f"SELECT m, ms, h FROM {s}.moods ORDER BY id").fetchall() == [want] * 6
                assert conn.execute(f"SELECT m, ms, h FROM {s}.moods WHERE id = %s", (3,)).fetchone() == want
                assert conn.execute(f"SELECT m, ms, h FROM {s}.moods").fetchall() == [want] * 6
            with conn.transaction():
                assert conn.execute(f"SELECT m FROM {s}.moods WHERE id = 5").fetchone() == (Mood.ok,)
                assert conn.execute(f"SELECT m FROM {s}.moods WHERE id = 6 FOR UPDATE").fetchone() == (Mood.ok,)
    with psycopg.connect(gridpg_cluster.dsn(1), autocommit=True) as conn:
        _decoding(conn, s)
        cur = psycopg.ClientCursor(conn)
        cur.execute(f"UPDATE {s}.moods SET m = 'happy' WHERE id = 4 RETURNING m")
        assert cur.fetchone() == (Mood.happy,)
        cur.execute(f"INSERT INTO {s}.moods VALUES (10, 'sad') RETURNING m, h")
        assert cur.fetchone() == (Mood.sad, None)


def test_a_type_made_after_the_sessions_started_is_mapped(gridpg_cluster: Cluster, schema: str) -> None:
    s = create_in_schema(gridpg_cluster, schema, ["CREATE TABLE {s}.later (id int PRIMARY KEY) DISTRIBUTE BY HASH (id)"])
    with psycopg.connect(gridpg_cluster.dsn(1), autocommit=True) as reader, \
            psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as writer:
        reader.execute(f"SELECT * FROM {s}.later").fetchall()
        writer.execute(f"CREATE TYPE {s}.size AS ENUM ('s', 'm', 'l')")
        writer.execute(f"ALTER TABLE {s}.later ADD COLUMN z {s}.size DEFAULT 'm'")
        writer.execute(f"INSERT INTO {s}.later VALUES (1)")
        oid = reader.execute(f"SELECT '{s}.size'::regtype::oid").fetchone()[0]
        with psycopg.ClientCursor(reader) as cur:
            cur.execute(f"SELECT z FROM {s}.later WHERE id = 1")
            assert cur.description[0].type_code == oid
