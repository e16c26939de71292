"""ClientStream.write_and_check: `write` then `needs_drain`, in one call."""

from __future__ import annotations

import asyncio

from gridpg.frontend.client_stream import ClientStream


class _Transport:
    def __init__(self, closing: bool = False) -> None:
        self.closing = closing
        self.written: list[bytes] = []

    def write(self, data: bytes) -> None:
        self.written.append(data)

    def is_closing(self) -> bool:
        return self.closing


async def _stream(transport: _Transport | None, paused: bool = False) -> ClientStream:
    stream = ClientStream(lambda s: None, lambda s: None)  # type: ignore[arg-type, return-value]
    stream.transport = transport  # type: ignore[assignment]
    stream._write_paused = paused
    return stream


def test_write_and_check_is_write_then_needs_drain() -> None:
    for closing in (False, True):
        for paused in (False, True):
            for has_transport in (True, False):
                transport = _Transport(closing) if has_transport else None
                stream = asyncio.run(_stream(transport, paused))
                reference_transport = _Transport(closing) if has_transport else None
                reference = asyncio.run(_stream(reference_transport, paused))
                reference.write(b"answer")
                assert stream.write_and_check(b"answer") == reference.needs_drain
                if transport is not None and reference_transport is not None:
                    assert transport.written == reference_transport.written
