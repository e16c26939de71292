"""A stopping coordinator's listener (frontend/coordinator.py close_listener): connections
the kernel completed before the stop are accepted and answered, never reset. No server
but an in-process asyncio listener on 127.0.0.1."""

from __future__ import annotations

import asyncio
import socket

from gridpg.frontend.coordinator import (
    accept_queue_length,
    answer_connecting,
    close_listener,
    refuse_new_connections,
)


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


async def _late_startup_packet(wait: bool) -> bytes:
    """A client accepted just before the listener closed sends its startup packet late;
    then the worker exits (every connection closed). What the client reads."""
    connecting: set[asyncio.StreamWriter] = set()
    writers: list[asyncio.StreamWriter] = []

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connecting.add(writer)
        writers.append(writer)
        try:
            await reader.readexactly(8)  # the startup packet, then "shutting down"
            writer.write(b"57P03")
            await writer.drain()
        finally:
            connecting.discard(writer)

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    client = socket.create_connection(("127.0.0.1", port), timeout=5)
    await asyncio.sleep(0.05)  # accepted by the loop, nothing sent yet
    await close_listener(server)
    loop = asyncio.get_running_loop()
    loop.call_later(0.3, client.sendall, bytes(8))  # its process gets the CPU late
    if wait:
        await answer_connecting(lambda: bool(connecting))
    for writer in writers:  # the worker's exit
        writer.transport.abort()
    await asyncio.sleep(0.4)
    try:
        return client.recv(16)
    except ConnectionResetError:
        return b"reset"
    finally:
        client.close()


def test_a_client_accepted_before_the_close_is_answered_before_the_exit() -> None:
    assert asyncio.run(_late_startup_packet(wait=True)) == b"57P03"


def test_exiting_at_once_closes_it_unanswered() -> None:
    """Why the worker waits (answer_connecting): libpq gives up on a closed connection."""
    assert asyncio.run(_late_startup_packet(wait=False)) in (b"", b"reset")


def test_a_silent_client_delays_the_exit_by_the_bound_only() -> None:
    async def run() -> float:
        loop = asyncio.get_running_loop()
        started = loop.time()
        await answer_connecting(lambda: True, bound=0.2)
        return loop.time() - started

    assert 0.2 <= asyncio.run(run()) < 1.0


def test_a_stopping_listener_completes_no_new_connection_and_keeps_the_queued_ones() -> None:
    """refuse_new_connections: a connection queued before is still accepted and answered;
    a new one is not completed (its SYN dropped: the client's connect times out here,
    libpq's would be refused once the listener is closed a moment later)."""
    async def run() -> tuple[bytes, str]:
        async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            writer.write(b"57P03")
            await writer.drain()
            writer.close()

        server = await asyncio.start_server(answer, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        queued = socket.create_connection(("127.0.0.1", port), timeout=5)
        refuse_new_connections(server)
        try:
            late = socket.create_connection(("127.0.0.1", port), timeout=0.3)
            late.close()
            outcome = "connected"
        except TimeoutError:
            outcome = "not completed"
        await asyncio.sleep(0.1)
        heard = queued.recv(16)
        queued.close()
        server.close()
        return heard, outcome

    assert asyncio.run(run()) == (b"57P03", "not completed")
