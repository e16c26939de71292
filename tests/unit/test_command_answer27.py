"""BackendConnection.send_command / read_command: a 2PC round's answer taken straight from
the connection's bytes when it is the expected one, and read as `read_results` reads it
otherwise (an error, a notice, another tag, bytes in pieces, an answer read late)."""

from __future__ import annotations

import asyncio
import itertools

import pytest

from gridpg.datanode.connection import BackendConnection, NodeAddress, _Protocol
from gridpg.errors import PgError
from gridpg.pgwire import codec
from gridpg.txn import transaction

ADDRESS = NodeAddress("dn1", "127.0.0.1", 1, "u", "p")
PREPARED = codec.build_command_complete("PREPARE TRANSACTION")
STATUS = b"S" + (4 + len(b"application_name\0gridpg\0")).to_bytes(4, "big") + b"application_name\0gridpg\0"
NOTICE = codec.build_error_fields(b"N", {"S": "WARNING", "V": "WARNING", "C": "01000", "M": "careful"})
ERROR = codec.build_error_fields(b"E", {"S": "ERROR", "V": "ERROR", "C": "40001", "M": "could not serialize"})


class _Transport:
    def __init__(self) -> None:
        self.written: list[bytes] = []

    def write(self, data: bytes) -> None:
        self.written.append(data)

    def is_closing(self) -> bool:
        return False


def _conn() -> tuple[BackendConnection, _Protocol]:
    proto = _Protocol()
    proto.connection_made(_Transport())  # type: ignore[arg-type]
    return BackendConnection(ADDRESS, proto), proto


async def _command(pieces: list[bytes], expected: bytes = PREPARED, late: bool = False) -> tuple[bool, bytes, int]:
    """Send a command, feed its answer in `pieces` (before the read when `late`), read it."""
    conn, proto = _conn()
    conn.send_command(codec.build_query("PREPARE TRANSACTION 'g'"), expected)
    assert conn.command_answer is not None  # (a quiet connection: the answer is taken as it arrives)
    if late:
        for piece in pieces:
            proto.data_received(piece)
    else:
        loop = asyncio.get_running_loop()
        for delay, piece in enumerate(pieces, 1):
            loop.call_later(0.005 * delay, proto.data_received, piece)
    matched = await conn.read_command(expected)
    assert proto.relay is None and conn.command_answer is None and not proto.frames
    return matched, conn.txn_status, proto.awaiting_ready


@pytest.mark.parametrize("late", [False, True])
@pytest.mark.parametrize("middle", [b"", STATUS, STATUS + STATUS])
def test_expected_answer_taken_whole_or_in_pieces(middle: bytes, late: bool) -> None:
    data = PREPARED + middle + codec.build_ready(b"I")
    for cuts in ([0, len(data)], [0, 3, 17, len(data) - 6, len(data) - 1, len(data)],
                 [0, *range(1, len(data))] + [len(data)]):
        pieces = [data[a:b] for a, b in itertools.pairwise(cuts)]
        assert asyncio.run(_command(pieces, late=late)) == (True, b"I", 0)


@pytest.mark.parametrize("late", [False, True])
def test_error_is_raised_as_read_results_raises_it(late: bool) -> None:
    data = ERROR + STATUS + codec.build_ready(b"I")
    with pytest.raises(PgError) as raised:
        asyncio.run(_command([data[:7], data[7:]], late=late))
    assert raised.value.sqlstate == "40001"


def test_notice_and_other_tag_go_to_the_generic_reader() -> None:
    assert asyncio.run(_command([PREPARED + NOTICE + codec.build_ready(b"I")])) == (True, b"I", 0)
    # PREPARE TRANSACTION of a failed block answers ROLLBACK without an error: not prepared
    assert asyncio.run(_command([codec.build_command_complete("ROLLBACK") + STATUS + codec.build_ready(b"I")])) == (
        False, b"I", 0)


def test_busy_connection_is_read_the_usual_way() -> None:
    async def run() -> bool:
        conn, proto = _conn()
        conn.send(codec.build_query("SELECT 1"))  # an answer still owed: no relay for the next one
        conn.send_command(codec.build_query("PREPARE TRANSACTION 'g'"), PREPARED)
        assert conn.command_answer is None
        proto.data_received(codec.build_command_complete("SELECT 1") + codec.build_ready(b"T"))
        await conn.read_results()
        proto.data_received(PREPARED + codec.build_ready(b"I"))
        return await conn.read_command(PREPARED)

    assert asyncio.run(run())


def test_prepare_answering_rollback_is_a_failed_prepare() -> None:
    async def run() -> BaseException | None:
        conn, proto = _conn()
        query = codec.build_query("PREPARE TRANSACTION 'g'")
        outcomes = transaction._send_round([(conn, query)])
        proto.data_received(codec.build_command_complete("ROLLBACK") + codec.build_ready(b"I"))
        return (await transaction._read_round([(conn, query)], outcomes))[0]

    outcome = asyncio.run(run())
    assert isinstance(outcome, PgError) and outcome.sqlstate == "40000"
