"""A stopping coordinator's listener (frontend/coordinator.py close_listener): connections
the kernel completed before the stop are accepted and answered, never reset. No server
but an in-process asyncio listener on 127.0.0.1."""

from __future__ import annotations

import asyncio
import socket

from gridpg.frontend.coordinator import accept_queue_length, close_listener


async def _queued_then_closed(drain: bool) -> list[bytes]:
    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"57P03")  # what a stopping coordinator tells a client still connecting
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    # the loop does not run while these connect: the kernel queues them, as for a worker
    # that had no CPU when its stop began
    clients = [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(3)]
    assert accept_queue_length(server) == 3
    if drain:
        await close_listener(server)
    else:
        server.close()
    await asyncio.sleep(0.2)
    heard = []
    for client in clients:
        try:
            heard.append(client.recv(16))
        except ConnectionResetError:
            heard.append(b"reset")
        client.close()
    return heard


def test_connections_queued_at_the_stop_are_answered() -> None:
    assert asyncio.run(_queued_then_closed(drain=True)) == [b"57P03"] * 3


def test_closing_at_once_resets_them() -> None:
    """Why close_listener waits: closing the listener at once resets what it queued."""
    assert set(asyncio.run(_queued_then_closed(drain=False))) <= {b"reset", b""}


def test_a_listener_without_queued_connections_closes_at_once() -> None:
    async def run() -> float:
        server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
        loop = asyncio.get_running_loop()
        started = loop.time()
        await close_listener(server)
        return loop.time() - started

    assert asyncio.run(run()) < 0.5
