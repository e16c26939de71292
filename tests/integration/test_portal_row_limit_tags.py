"""A portal executed in pieces (Execute with a row limit: pgjdbc's fetchSize, asyncpg's
cursors) ends with the CommandComplete of its last piece. PostgreSQL's tag counts the rows
of that Execute (`SELECT 3` for the last 3 of 11, `SELECT 0` for an Execute of a finished
portal); gridpg's multi-node portals (their rows buffered on the coordinator,
executor/multi.BufferedRows) reported the whole query's count every time, and one whose
rows ran out exactly at the limit completed where PostgreSQL suspends it. An Execute of a
portal that had completed ran its statement again (a routed query's row came twice); an
INSERT's portal inserted again where PostgreSQL refuses (55000). Compared with plain
PostgreSQL at the protocol level, for a sorted merge, a two-phase aggregate, a single-node
portal and an INSERT's."""

from __future__ import annotations

import socket
import struct
from typing import Any

import psycopg
import scramp

from gridpg.cluster.control import Cluster
from gridpg.pgwire import codec

QUERIES = [
    "SELECT id FROM pt ORDER BY id",
    "SELECT g, count(*) FROM pt GROUP BY g ORDER BY g",
    "SELECT id FROM pt WHERE id = 7",
]


class _Wire:
    def __init__(self, where: tuple[str, int, str, str], password: str) -> None:
        host, port, user, dbname = where
        self.sock = socket.create_connection((host, port), timeout=20)
        self.reader = codec.FrameReader(max_message=1 << 24)
        self.sock.sendall(codec.build_startup({"user": user, "database": dbname}))
        client = scramp.ScramClient(["SCRAM-SHA-256"], user, password)
        while True:
            kind, payload = self.recv()
            if kind == 0x52:
                code = struct.unpack("!i", payload[:4])[0]
                if code == codec.AUTH_SASL:
                    first = client.get_client_first().encode()
                    self.sock.sendall(codec.message(b"p", codec.cstr("SCRAM-SHA-256")
                                                    + struct.pack("!i", len(first)) + first))
                elif code == 11:  # SASLContinue
                    client.set_server_first(payload[4:].decode())
                    self.sock.sendall(codec.message(b"p", client.get_client_final().encode()))
            elif kind == 0x45:
                raise ConnectionError(codec.parse_error_fields(payload))
            elif kind == 0x5A:
                return

    def recv(self) -> tuple[int, bytes]:
        while True:
            frame = self.reader.next_frame()
            if frame is not None:
                return frame
            self.reader.feed(self.sock.recv(65536))

    def cycle(self, data: bytes) -> list[str]:
        """Send, read to ReadyForQuery: each DataRow's count, PortalSuspended, tags."""
        self.sock.sendall(data + codec.SYNC)
        out = []
        while True:
            kind, payload = self.recv()
            if kind == 0x44:
                out.append("row")
            elif kind == 0x73:
                out.append("suspended")
            elif kind == 0x43:
                out.append(payload[:-1].decode())
            elif kind == 0x45:
                out.append(codec.parse_error_fields(payload).get("C", ""))
            elif kind == 0x5A:
                return out


def _pieces(dsn: str, password: str, schema: str) -> list[Any]:
    with psycopg.connect(dsn, autocommit=True) as conn:
        info = (conn.info.host, conn.info.port, conn.info.user, conn.info.dbname)
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        conn.execute(f'CREATE SCHEMA "{schema}"')
        conn.execute(f'CREATE TABLE "{schema}".pt (id int PRIMARY KEY, g int)')
        conn.execute(f'INSERT INTO "{schema}".pt SELECT i, i % 4 FROM generate_series(1, 11) i')
    wire = _Wire(info, password)
    out: list[Any] = [wire.cycle(codec.build_parse("", f'SET search_path = "{schema}"', [])
                                 + codec.build_bind("", "", [], [], []) + codec.build_execute(""))]
    out.append(wire.cycle(codec.build_parse("", "BEGIN", []) + codec.build_bind("", "", [], [], [])
                          + codec.build_execute("")))
    for n, sql in enumerate(QUERIES):
        portal = f"C_{n}"
        out.append(wire.cycle(codec.build_parse(f"S_{n}", sql, []) + codec.build_bind(portal, f"S_{n}", [], [], [])
                              + codec.build_execute(portal, 4)))
        for _ in range(4):
            out.append(wire.cycle(codec.build_execute(portal, 4)))
    out.append(wire.cycle(codec.build_parse("I", "INSERT INTO pt VALUES (100, 0)", [])
                          + codec.build_bind("C_I", "I", [], [], []) + codec.build_execute("C_I")))
    out.append(wire.cycle(codec.build_execute("C_I")))  # refused: the block is failed after it
    out.append(wire.cycle(codec.build_parse("", "ROLLBACK", []) + codec.build_bind("", "", [], [], [])
                          + codec.build_execute("")))
    out.append(wire.cycle(codec.build_parse("", "BEGIN", []) + codec.build_bind("", "", [], [], [])
                          + codec.build_execute("")))
    out.append(wire.cycle(codec.build_parse("", "COMMIT", []) + codec.build_bind("", "", [], [], [])
                          + codec.build_execute("")))
    wire.sock.close()
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
    return out


def test_tags_of_a_portal_executed_in_pieces(gridpg_cluster: Cluster, plain_pg: str, schema: str) -> None:
    plain_password = psycopg.conninfo.conninfo_to_dict(plain_pg)["password"]
    expected = _pieces(plain_pg, str(plain_password), schema)
    assert ["row", "row", "row", "SELECT 3"] in expected and ["SELECT 0"] in expected
    assert _pieces(gridpg_cluster.dsn(0), gridpg_cluster.password(), schema) == expected
