"""BackendConnection.read_results over a connection's frame queue: the answers it makes of
buffered messages (read without a coroutine per message) and of messages still to come."""

from __future__ import annotations

import asyncio
import itertools

import pytest

from gridpg.datanode.connection import BackendConnection, NodeAddress, QueryResult, _Protocol
from gridpg.errors import PgError
from gridpg.pgwire import codec

ADDRESS = NodeAddress("dn1", "127.0.0.1", 1, "u", "p")


class _Transport:
    def write(self, data: bytes) -> None:
        pass

    def is_closing(self) -> bool:
        return False


def _answer() -> tuple[bytes, list[QueryResult]]:
    column = codec.Column("v", 0, 0, 25, -1, -1, 0)
    data = b"".join((
        codec.build_command_complete("BEGIN"),
        codec.build_row_description([column]),
        codec.build_data_row([b"a"]),
        codec.build_data_row([None]),
        codec.build_command_complete("SELECT 2"),
        codec.EMPTY_QUERY,
        codec.build_command_complete("PREPARE TRANSACTION"),
        codec.build_ready(b"T"),
    ))
    expected = [QueryResult(tag="BEGIN"), QueryResult([column], [("a",), (None,)], "SELECT 2"), QueryResult(),
                QueryResult(tag="PREPARE TRANSACTION")]
    return data, expected


async def _read(pieces: list[bytes]) -> tuple[list[QueryResult], bytes]:
    proto = _Protocol()
    proto.connection_made(_Transport())  # type: ignore[arg-type]
    conn = BackendConnection(ADDRESS, proto)
    proto.data_received(pieces[0])
    loop = asyncio.get_running_loop()
    for delay, piece in enumerate(pieces[1:], 1):
        loop.call_later(0.01 * delay, proto.data_received, piece)
    results = await conn.read_results()
    return results, conn.txn_status


def test_buffered_answer() -> None:
    data, expected = _answer()
    assert asyncio.run(_read([data])) == (expected, b"T")


def test_answer_in_pieces() -> None:
    data, expected = _answer()
    cuts = [0, 3, 17, 40, len(data) - 6, len(data) - 2, len(data)]
    assert asyncio.run(_read([data[a:b] for a, b in itertools.pairwise(cuts)])) == (expected, b"T")


def test_error_raised_at_ready() -> None:
    error = codec.build_error_fields(b"E", {"S": "ERROR", "V": "ERROR", "C": "42P01", "M": "nope"})
    with pytest.raises(PgError) as raised:
        asyncio.run(_read([codec.build_command_complete("BEGIN") + error + codec.build_ready(b"E")]))
    assert raised.value.sqlstate == "42P01"
