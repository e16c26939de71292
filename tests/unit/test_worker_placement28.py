"""Client connections spread over a coordinator's workers (frontend/placement.py): the
choice of the sibling by the shared counts (with the connections handed on in the same
turn), and a real TCP connection handed over a Unix datagram socket, served by the
sibling with the client's bytes intact."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

from gridpg.frontend.placement import SessionCounts, WorkerPlacement


def _placement(counts: SessionCounts, worker: int, tmp_path: Path) -> WorkerPlacement:
    return WorkerPlacement(counts, worker, lambda i: str(tmp_path / f"w{i}.clients"))


def test_a_worker_keeps_its_share_and_hands_on_the_rest(tmp_path: Path) -> None:
    counts = SessionCounts(3)
    w0 = _placement(counts, 0, tmp_path)
    assert w0._target() is None  # all equal: kept
    counts.add(0, 2)
    counts.add(2, 1)
    assert w0._target() == 1  # the least loaded sibling
    counts.handed_to(0, 1)  # handed there; not taken in yet
    assert counts.load(1) == 1
    assert w0._target() == 1  # 2 vs 1 (one on its way) and 1: the first of the least loaded
    counts.handed_to(0, 1)
    assert w0._target() == 2  # 2 vs 2 and 1
    counts.add(1, 2)  # the sibling took both in
    counts.taken_from(1, 0)
    counts.taken_from(1, 0)
    assert counts.load(1) == 2 and w0._target() == 2
    counts.add(2, 1)
    assert w0._target() is None
    counts.add(0, -1)
    assert counts.get(0) == 1 and counts.get(1) == 2 and counts.get(2) == 2


def test_a_sibling_whose_count_did_not_move_is_not_overcounted(tmp_path: Path) -> None:
    """A sibling takes in a connection while one of its own closes: its count is where it
    was, and the connection handed to it must not be counted on top of it again."""
    counts = SessionCounts(2)
    w0 = _placement(counts, 0, tmp_path)
    counts.add(0, 3)
    counts.add(1, 2)
    assert w0._target() == 1
    counts.handed_to(0, 1)
    counts.add(1, 1)  # taken in ...
    counts.taken_from(1, 0)
    counts.add(1, -1)  # ... while one of its own closed: 3 and 2 again
    assert counts.load(1) == 2 and w0._target() == 1


class _Recorder(asyncio.Protocol):
    def __init__(self, got: asyncio.Queue[bytes]) -> None:
        self.got = got
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.got.put_nowait(data)
        assert self.transport is not None
        self.transport.write(b"pong:" + data)


class _Accepted:
    """A just-accepted connection's transport, as `hand_off` sees it."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.aborted = False

    def get_extra_info(self, name: str) -> socket.socket | None:
        return self.sock if name == "socket" else None

    def abort(self) -> None:
        self.aborted = True
        self.sock.close()


def test_a_connection_handed_over_is_served_by_the_sibling(tmp_path: Path) -> None:
    async def run() -> None:
        counts = SessionCounts(2)
        sender, receiver = _placement(counts, 0, tmp_path), _placement(counts, 1, tmp_path)
        got: asyncio.Queue[bytes] = asyncio.Queue()
        def counted() -> _Recorder:
            receiver.opened()  # (as a ClientStream's connection_made)
            return _Recorder(got)

        receiver.serve(counted)
        listener = socket.create_server(("127.0.0.1", 0))
        client = socket.create_connection(listener.getsockname())
        accepted, _ = listener.accept()
        counts.add(0, 1)  # the sender holds one already: the new one goes to the sibling
        transport = _Accepted(accepted)
        assert sender.hand_off(transport)  # type: ignore[arg-type]
        assert transport.aborted and sender.handed == 1
        client.sendall(b"startup")  # sent after the sender closed its descriptor
        assert await asyncio.wait_for(got.get(), 5) == b"startup"
        loop = asyncio.get_running_loop()
        client.setblocking(False)
        assert await asyncio.wait_for(loop.sock_recv(client, 100), 5) == b"pong:startup"
        assert not sender.hand_off(_Accepted(accepted))  # type: ignore[arg-type]  (now even: kept)
        client.close()
        listener.close()
        sender.close()
        receiver.close()

    asyncio.run(run())


def test_a_sibling_that_is_gone_leaves_the_connection_here(tmp_path: Path) -> None:
    counts = SessionCounts(2)
    counts.add(0, 3)
    sender = _placement(counts, 0, tmp_path)  # worker 1 never bound its socket
    listener = socket.create_server(("127.0.0.1", 0))
    client = socket.create_connection(listener.getsockname())
    accepted, _ = listener.accept()
    transport = _Accepted(accepted)
    assert not sender.hand_off(transport)  # type: ignore[arg-type]
    assert not transport.aborted
    for s in (accepted, client, listener):
        s.close()
    sender.close()
