"""The two-phase exchange (executor/spool.py) over fake datanode sessions: every source
read once, every destination fed every byte meant for it, in order, also when several
destinations read the same spool at once and pause for backpressure in between."""

from __future__ import annotations

import asyncio
import struct

import pytest

from gridpg.errors import PgError
from gridpg.executor import spool
from gridpg.pgwire import codec


def copy_data(payload: bytes) -> bytes:
    return b"d" + struct.pack("!I", len(payload) + 4) + payload


class FakeConn:
    """A datanode session: a source answers `COPY (...) TO STDOUT` with its rows; a
    destination records what it is sent. write_buffer_size() claims a full buffer on two
    calls of three, so a destination's feeder waits (yields) between chunks."""

    def __init__(self, node: str, rows: list[bytes] | None = None, fail: bool = False) -> None:
        self.node = node
        self.rows = rows or []
        self.fail = fail
        self.sent: list[bytes] = []
        self.queries: list[str] = []
        self.txn_status = b"T"
        self._calls = 0
        self._batches: list[list[tuple[int, bytes]]] = []

    async def settle(self) -> None:
        return None

    def error(self, fields: dict[str, str]) -> PgError:
        return PgError.from_fields(fields, self.node)

    def send(self, data: bytes) -> None:
        if data.startswith(b"Q"):
            sql = data[5:-1].decode()
            self.queries.append(sql)
            if sql.startswith("COPY (") and sql.endswith("TO STDOUT"):
                frames = [(0x64, copy_data(r)) for r in self.rows]
                if self.fail:
                    frames.append((0x45, b"E\x00\x00\x00\x10SERROR\x00C22012\x00\x00"))
                frames += [(0x43, b"C"), (0x5A, b"Z\x00\x00\x00\x05T")]
                self._batches = [frames[i:i + 3] for i in range(0, len(frames), 3)]
            return
        self.sent.append(data)

    async def recv_batch(self) -> list[tuple[int, bytes]]:
        await asyncio.sleep(0)
        return self._batches.pop(0)

    async def expect_copy_in(self) -> None:
        return None

    async def read_results(self) -> list[object]:
        return []

    async def simple_query(self, sql: str) -> list[object]:
        self.queries.append(sql)
        return []

    def write_buffer_size(self) -> int:
        self._calls += 1  # full on two calls of three: the feeder waits (sleeps) once per chunk
        return spool.HIGH_WATER + 1 if self._calls % 3 else 0


def received(conn: FakeConn) -> bytes:
    body = b"".join(conn.sent)
    assert body.endswith(codec.COPY_DONE)
    return body[: -len(codec.COPY_DONE)]


def test_every_destination_gets_every_spool_whole(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(spool, "CHUNK", 7)  # many chunks per spool, a yield after each
    rows1 = [f"a{i}\t{'x' * (i % 13)}\n".encode() for i in range(200)]
    rows2 = [f"b{i}\t{'y' * (i % 5)}\n".encode() for i in range(150)]
    conns = {"dn1": FakeConn("dn1", rows1), "dn2": FakeConn("dn2", rows2), "dn3": FakeConn("dn3")}
    flows = [spool.Flow("dn1", "SELECT 1", ("dn1", "dn2", "dn3")), spool.Flow("dn2", "SELECT 2", ("dn1", "dn2", "dn3"))]
    stats = asyncio.run(spool.run_exchange(conns, flows, {}, "gridpg_shards.s"))  # type: ignore[arg-type]
    expected = b"".join(copy_data(r) for r in rows1) + b"".join(copy_data(r) for r in rows2)
    for conn in conns.values():
        assert received(conn) == expected, conn.node
    assert sorted((s[1], s[3]) for s in stats) == [("dn1", 200), ("dn2", 150)]
    # each source ran its COPY once
    assert sum(q.startswith("COPY (SELECT 1)") for q in conns["dn1"].queries) == 1


def test_local_rows_stay_on_their_node_and_empty_spools_send_nothing() -> None:
    conns = {"dn1": FakeConn("dn1", []), "dn2": FakeConn("dn2", [b"r\n"])}
    flows = [spool.Flow("dn1", "SELECT 1", ("dn2",)), spool.Flow("dn2", "SELECT 2", ("dn1",))]
    asyncio.run(spool.run_exchange(conns, flows, {"dn1": "SELECT 3", "dn2": "SELECT 4"}, "s"))  # type: ignore[arg-type]
    assert "INSERT INTO s SELECT 3" in conns["dn1"].queries and "INSERT INTO s SELECT 4" in conns["dn2"].queries
    assert received(conns["dn1"]) == copy_data(b"r\n")
    assert conns["dn2"].sent == []  # dn1 had no rows for it: no COPY at all


def test_a_failing_source_raises_after_every_node_stopped() -> None:
    conns = {"dn1": FakeConn("dn1", [b"a\n"] * 10, fail=True), "dn2": FakeConn("dn2", [b"b\n"] * 10)}
    flows = [spool.Flow("dn1", "SELECT 1", ("dn2",)), spool.Flow("dn2", "SELECT 2", ("dn1",))]
    with pytest.raises(PgError) as info:
        asyncio.run(spool.run_exchange(conns, flows, {}, "s"))  # type: ignore[arg-type]
    assert info.value.sqlstate == "22012"
    assert not conns["dn1"]._batches and not conns["dn2"]._batches  # both read to their ReadyForQuery
    assert conns["dn1"].sent == [] and conns["dn2"].sent == []  # nothing loaded anywhere


def test_destinations_keep_their_own_rows_as_they_load() -> None:
    conns = {"dn1": FakeConn("dn1", [b"1\n"]), "dn2": FakeConn("dn2", [b"2\n"])}
    flows = [spool.Flow("dn1", "SELECT 1", ("dn1", "dn2")), spool.Flow("dn2", "SELECT 2", ("dn1", "dn2"))]
    keep = {"dn1": "h(k) IN (0, 2)", "dn2": "h(k) IN (1, 3)"}
    asyncio.run(spool.run_exchange(conns, flows, {}, "s", keep))  # type: ignore[arg-type]
    assert "COPY s FROM STDIN WHERE h(k) IN (0, 2)" in conns["dn1"].queries
    assert "COPY s FROM STDIN WHERE h(k) IN (1, 3)" in conns["dn2"].queries
    assert received(conns["dn1"]) == received(conns["dn2"]) == copy_data(b"1\n") + copy_data(b"2\n")


def test_several_tables_in_one_exchange_each_get_their_own_rows() -> None:
    """All moves of a stage in one exchange: each source reads its flows of every table one
    after another, each destination loads each table with only that table's spools."""
    conns = {"dn1": FakeConn("dn1", [b"x\n"]), "dn2": FakeConn("dn2", [b"y\n"])}
    targets = [spool.Target("s1", (spool.Flow("dn1", "SELECT 1", ("dn1", "dn2")),)),
               spool.Target("s2", (spool.Flow("dn2", "SELECT 2", ("dn1",)),), {"dn2": "SELECT 3"}, {"dn1": "k > 0"})]
    asyncio.run(spool.run_targets(conns, targets))  # type: ignore[arg-type]
    assert [q for q in conns["dn1"].queries if "FROM STDIN" in q] == ["COPY s1 FROM STDIN", "COPY s2 FROM STDIN WHERE k > 0"]
    assert [q for q in conns["dn2"].queries if "FROM STDIN" in q or "INSERT" in q] == ["COPY s1 FROM STDIN", "INSERT INTO s2 SELECT 3"]
    assert b"".join(conns["dn1"].sent) == copy_data(b"x\n") + codec.COPY_DONE + copy_data(b"y\n") + codec.COPY_DONE
