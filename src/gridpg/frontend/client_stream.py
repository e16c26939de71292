"""The client's socket as an asyncio Protocol: what a Session reads and writes through.

Bytes from the client go straight into the session's FrameReader in `data_received` (no
StreamReader copy, no read coroutine per message); the session's task waits in
`wait_data` only when it has nothing buffered to work on. While that task is parked, the
session may answer a routed prepared cycle from `data_received` itself, without waking
it (`Session.pump`, frontend/fast_cycle.py). Writes go to the transport at once; `drain`
waits only while the transport's buffer is above its high-water mark (a slow client).

This module owns the transport and flow control; it knows nothing of the protocol's
messages beyond handing bytes to the session.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gridpg.frontend.placement import WorkerPlacement
    from gridpg.frontend.session import Session

# Client bytes buffered and not yet read by the session above which the socket is no longer
# read (COPY FROM STDIN faster than the nodes take it); reading resumes below half of it.
# Kept small: FrameReader moves the unread rest of its buffer down as messages are taken,
# so with 4 MB buffered COPY FROM STDIN ran at less than half its speed (1.4 -> 0.6 M rows/s).
# Reading is paused only while a whole message is buffered for the session to take: a
# single message longer than the mark (a pasted dump sent as one Query, a large Bind) is
# read to its end, else neither side could go on.
_READ_HIGH_WATER = 256 << 10


class ClientStream(asyncio.Protocol):
    """One client connection: the transport, flow control, and the session's wake-ups."""

    def __init__(self, make_session: Callable[[ClientStream], Session],
                 run_session: Callable[[Session], Any], placement: WorkerPlacement | None = None,
                 adopted: bool = False) -> None:
        self._make_session = make_session
        self._run_session = run_session
        # (a connection the port's listener accepted: counted in the worker's share, and
        # handed to a less loaded sibling unless a sibling handed it here: frontend/placement.py)
        self._placement = placement
        self._adopted = adopted
        self._counted = False
        self.transport: asyncio.Transport | None = None
        self.session: Session | None = None
        self.eof = False
        self._waiter: asyncio.Future[None] | None = None  # the session's task, parked in wait_data
        self._loop = asyncio.get_running_loop()  # (3.11's get_running_loop() costs a getpid call)
        self._drain_waiter: asyncio.Future[None] | None = None
        self._write_paused = False
        self._read_paused = False
        self._tls_handshake = False

    # -- asyncio.Protocol ----------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        if self._tls_handshake:  # start_tls hands the protocol its new transport
            return
        placement = self._placement
        if placement is not None:
            if not self._adopted and placement.hand_off(transport):
                return  # a sibling worker serves it; nothing was read here
            placement.opened()
            self._counted = True
        self.transport = transport  # type: ignore[assignment]
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            try:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except OSError:
                pass
        self.session = self._make_session(self)
        asyncio.ensure_future(self._run_session(self.session))

    def data_received(self, data: bytes) -> None:
        session = self.session
        if session is None:
            return
        frames = session.frames
        if frames.feed(data) > _READ_HIGH_WATER and not self._read_paused and frames.has_frame() \
                and self.transport is not None:
            self._read_paused = True
            self.transport.pause_reading()
        waiter = self._waiter
        if waiter is not None and not waiter.done():  # (is_parked, without its call)
            session.pump()

    def eof_received(self) -> bool | None:
        self._client_gone()
        return None  # the transport closes itself

    def connection_lost(self, exc: Exception | None) -> None:
        if self._counted:
            self._counted = False
            assert self._placement is not None
            self._placement.closed()
        self._client_gone()
        self._wake_drain()

    def _client_gone(self) -> None:
        """The end of the client's stream: a parked session reads it and closes; a session
        running a statement has it cancelled on the nodes (Session.client_gone), else the
        nodes would run it to its end for nobody, its locks and transaction held."""
        first, self.eof = not self.eof, True
        if self.session is None:
            return
        if self.is_parked:
            self.session.pump()
        elif first:
            self.session.client_gone()

    def pause_writing(self) -> None:
        self._write_paused = True

    def resume_writing(self) -> None:
        self._write_paused = False
        self._wake_drain()

    # -- what the session's task awaits ------------------------------------------------

    @property
    def is_parked(self) -> bool:
        """The session's task waits for client bytes (data_received may work for it)."""
        return self._waiter is not None and not self._waiter.done()

    def wake(self) -> None:
        """Let the parked task go on (bytes it must handle, the end of the stream, ...)."""
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def wait_data(self) -> None:
        """Until `wake` (more bytes, end of stream, or work the callback handed back)."""
        frames = self.session.frames if self.session is not None else None
        if self._read_paused and frames is not None and self.transport is not None and \
                (frames.buffered() < _READ_HIGH_WATER // 2 or not frames.has_frame()):
            self._read_paused = False
            self.transport.resume_reading()
        waiter = self._loop.create_future()
        self._waiter = waiter
        try:
            await waiter
        finally:
            self._waiter = None

    async def read(self, limit: int = 262144) -> bytes:
        """StreamReader-like: buffered bytes taken out of the session's frames (a handed-over
        loopback connection is piped on as bytes); b"" at the end of the stream."""
        session = self.session
        assert session is not None
        while not session.frames.buffered():
            if self.eof:
                return b""
            await self.wait_data()
        return session.frames.take_buffered()

    # -- writing -----------------------------------------------------------------------

    def write(self, data: bytes) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(data)

    def write_and_check(self, data: bytes) -> bool:
        """`write`, then `needs_drain`, in one call (a statement's answer from callbacks)."""
        transport = self.transport
        if transport is None or transport.is_closing():
            return True
        transport.write(data)
        return self._write_paused or transport.is_closing()

    @property
    def needs_drain(self) -> bool:
        return self._write_paused or self.transport is None or self.transport.is_closing()

    async def drain(self) -> None:
        """Wait while the transport holds more than its high-water mark."""
        transport = self.transport
        if transport is None or transport.is_closing():
            await asyncio.sleep(0)  # as StreamWriter.drain: let connection_lost run
            raise ConnectionResetError("connection lost")
        while self._write_paused and not self.eof:
            waiter = asyncio.get_running_loop().create_future()
            self._drain_waiter = waiter
            try:
                await waiter
            finally:
                self._drain_waiter = None
        if transport.is_closing():
            raise ConnectionResetError("connection lost")

    def _wake_drain(self) -> None:
        waiter = self._drain_waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return self.transport.get_extra_info(name, default) if self.transport is not None else default

    async def start_tls(self, context: Any) -> None:
        """Switch the connection to TLS (after the SSLRequest's 'S')."""
        assert self.transport is not None
        self._tls_handshake = True
        try:
            transport = await asyncio.get_running_loop().start_tls(
                self.transport, self, context, server_side=True)
        finally:
            self._tls_handshake = False
        assert transport is not None
        self.transport = transport  # type: ignore[assignment]
