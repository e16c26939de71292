"""What node-postgres's own integration tests (packages/pg/test/integration, run against a
coordinator and against plain PostgreSQL) found, each compared with PostgreSQL:

* a query with `rows: N` sends Execute(N) + Flush and, after each PortalSuspended, another
  Execute of the unnamed portal, with no Sync between: a statement the catalog server
  answers (no distributed table) lost its portal after the first piece (34000), since the
  node-side portal was bound under one name and executed under another;
* a prepared statement's RowDescription was taken from the coordinator's describe cache,
  shared by every session, though the session's temp table (pg_temp comes first in its
  search path) made the answer its own: another session's dropped `test_type(col int)`
  described this one's `test_type(col bigint)` as int4, and node-postgres parsed the bigint
  as a Number, its low digits lost;
* a client that ends a connection while it opens sends Terminate before its startup packet:
  PostgreSQL closes such a connection without an answer (only logged), and so does the
  coordinator now (its ErrorResponse surfaced as an error in the client).
"""

from __future__ import annotations

import socket
import struct

import psycopg

from gridpg.cluster.control import Cluster
from gridpg.pgwire import codec

from tests.integration.test_portal_row_limit_tags import _Wire

FLUSH = codec.message(b"H", b"")


def _execute(limit: int) -> bytes:
    return codec.message(b"E", codec.cstr("") + struct.pack("!i", limit))


def _pieces_over_flush(where: tuple[str, int, str, str], password: str, sql: str) -> list[str]:
    """Parse/Bind/Describe/Execute(3)/Flush, then Execute(3)/Flush after each PortalSuspended,
    Sync at the end, as node-postgres sends a query with `rows: 3`."""
    wire = _Wire(where, password)
    try:
        wire.sock.sendall(codec.build_parse("", sql, []) + codec.build_bind("", "", [], [], [])
                          + codec.message(b"D", b"P" + codec.cstr("")) + _execute(3) + FLUSH)
        out: list[str] = []
        for _ in range(20):
            while True:
                kind, payload = wire.recv()
                if kind == 0x44:
                    out.append("row")
                    continue
                if kind in (0x31, 0x32, 0x54):  # ParseComplete, BindComplete, RowDescription
                    continue
                out.append({0x73: "suspended", 0x43: payload[:-1].decode(errors="replace"),
                            0x45: "error " + codec.parse_error_fields(payload).get("C", "")}.get(kind, chr(kind)))
                break
            if out[-1] != "suspended":
                break
            wire.sock.sendall(_execute(3) + FLUSH)
        wire.sock.sendall(codec.SYNC)
        while wire.recv()[0] != 0x5A:
            pass
        return out
    finally:
        wire.sock.close()


def _where(dsn: str) -> tuple[tuple[str, int, str, str], str]:
    info = psycopg.conninfo.conninfo_to_dict(dsn)
    return (str(info.get("host", "127.0.0.1")), int(info.get("port", 5432)), str(info["user"]),
            str(info.get("dbname", "postgres"))), str(info["password"])


def test_unnamed_portal_executed_in_pieces_over_flush(gridpg_cluster: Cluster, plain_pg: str, schema: str) -> None:
    queries = [
        "SELECT generate_series(1, 10) AS num",  # answered by the catalog server
        f'SELECT id FROM "{schema}".np ORDER BY id',  # every node, merged
        f'SELECT n.id, g FROM "{schema}".np n, generate_series(1, 7) g WHERE n.id = 5',  # one node
    ]
    answers = {}
    for side, dsn in (("plain", plain_pg), ("gridpg", gridpg_cluster.dsn(0))):
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
            conn.execute(f'CREATE SCHEMA "{schema}"')
            conn.execute(f'CREATE TABLE "{schema}".np (id int PRIMARY KEY)')
            conn.execute(f'INSERT INTO "{schema}".np SELECT generate_series(1, 8)')
        where, password = _where(dsn) if side == "plain" else (_where(dsn)[0], gridpg_cluster.password())
        answers[side] = [_pieces_over_flush(where, password, sql) for sql in queries]
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
    assert answers["plain"][0][:4] == ["row", "row", "row", "suspended"] and answers["plain"][0][-1] == "SELECT 1"
    assert answers["gridpg"] == answers["plain"]


def test_temp_table_described_for_its_own_session(gridpg_cluster: Cluster, plain_pg: str) -> None:
    def described(dsn: str) -> list[tuple[str, int, list[tuple[object, ...]]]]:
        out = []
        for type_name, value in (("integer", 5), ("bigint", -9223372036854775808), ("text", "x")):
            with psycopg.connect(dsn, autocommit=True) as conn:  # a new session each time
                conn.execute(f"CREATE TEMP TABLE test_type26 (col {type_name})")
                conn.execute("INSERT INTO test_type26 (col) VALUES (%s)", (value,))
                cur = conn.execute("SELECT col FROM test_type26", prepare=True)
                assert cur.description is not None
                out.append((type_name, cur.description[0].type_code, cur.fetchall()))
        return out

    expected = described(plain_pg)
    assert [oid for _, oid, _ in expected] == [23, 20, 25]
    assert described(gridpg_cluster.dsn(0)) == expected


def test_terminate_before_startup_closes_without_an_answer(gridpg_cluster: Cluster, plain_pg: str) -> None:
    def answer(host: str, port: int) -> bytes:
        with socket.create_connection((host, port), timeout=10) as sock:
            sock.sendall(b"X\x00\x00\x00\x04")  # Terminate, read as a startup packet's length
            received = b""
            while chunk := sock.recv(4096):
                received += chunk
            return received

    plain = psycopg.conninfo.conninfo_to_dict(plain_pg)
    assert answer(str(plain.get("host", "127.0.0.1")), int(plain.get("port", 5432))) == b""
    gridpg = psycopg.conninfo.conninfo_to_dict(gridpg_cluster.dsn(0))
    assert answer(str(gridpg.get("host", "127.0.0.1")), int(gridpg.get("port", 5432))) == b""
    with psycopg.connect(gridpg_cluster.dsn(0), autocommit=True) as conn:  # the coordinator serves on
        assert conn.execute("SELECT 1").fetchone() == (1,)


def test_named_parse_refused_at_parse(gridpg_cluster: Cluster, plain_pg: str) -> None:
    """PostgreSQL analyses a statement at Parse: an unknown type or table is refused before
    any ParseComplete. node-postgres (and pgjdbc) remember a named statement as prepared
    once its ParseComplete came, and then refuse, in the client, to prepare the name again
    with another text."""

    def answers(dsn: str, password: str) -> list[list[str]]:
        where, _ = _where(dsn)
        wire = _Wire(where, password)
        out = []
        try:
            for sql in ("SELECT $1::nonexistent_type_26", "SELECT $1::int FROM nonexistent_table_26",
                        "SELECT $1::int AS n"):
                wire.sock.sendall(codec.build_parse("s26", sql, []) + codec.build_bind("", "s26", [0], [b"1"], [])
                                  + codec.build_execute("") + codec.SYNC)
                seen = []
                while True:
                    kind, payload = wire.recv()
                    if kind == 0x5A:
                        break
                    seen.append("error " + codec.parse_error_fields(payload).get("C", "") if kind == 0x45
                                else chr(kind))
                out.append(seen)
        finally:
            wire.sock.close()
        return out

    expected = answers(plain_pg, _where(plain_pg)[1])
    assert expected == [["error 42704"], ["error 42P01"], ["1", "2", "D", "C"]]
    assert answers(gridpg_cluster.dsn(0), gridpg_cluster.password()) == expected
