"""A proxy that only forwards bytes: the floor a Python coordinator's OLTP ratio is held to.

    python bench/forward_proxy.py --port 27000 --unix /path/.s.PGSQL.26000 [--processes 2]

Listens on 127.0.0.1:PORT with `--processes` processes sharing the port (SO_REUSEPORT, as
the coordinator's workers do) on uvloop (the coordinator's loop), and pipes every client
connection's bytes, unread, to a PostgreSQL server's Unix socket (as the coordinator reaches
its local datanodes) and back. No message is parsed, nothing is routed or pooled: one
server connection per client connection. `python -m bench` runs pgbench through it beside
plain PostgreSQL (workload `proxy-floor`): what a Python proxy costs for the kernel's and
the event loop's work alone, measured in the same run as gridpg, so a ratio of gridpg's
reads how much of the gap is the coordinator's own work. SIGTERM to the first process
stops them all.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import socket


class _ServerSide(asyncio.Protocol):
    """The connection to the server: its bytes go to the client as they come."""

    def __init__(self, client: _ClientSide) -> None:
        self.client = client
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        assert self.client.transport is not None
        self.client.transport.write(data)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.client.transport is not None:
            self.client.transport.close()


class _ClientSide(asyncio.Protocol):
    """A client's connection: its bytes go to the server (held until that connection is up)."""

    def __init__(self, unix_path: str) -> None:
        self.unix_path = unix_path
        self.transport: asyncio.Transport | None = None
        self.server: _ServerSide | None = None
        self.early: list[bytes] = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        asyncio.ensure_future(self._connect())

    async def _connect(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            _, server = await loop.create_unix_connection(lambda: _ServerSide(self), self.unix_path)
        except OSError:
            if self.transport is not None:
                self.transport.close()
            return
        assert server.transport is not None
        for data in self.early:
            server.transport.write(data)
        self.early = []
        self.server = server

    def data_received(self, data: bytes) -> None:
        server = self.server
        if server is None or server.transport is None:
            self.early.append(data)
        else:
            server.transport.write(data)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.server is not None and self.server.transport is not None:
            self.server.transport.close()


async def serve(port: int, unix_path: str) -> None:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind(("127.0.0.1", port))
    sock.listen(256)
    loop = asyncio.get_running_loop()
    stop = loop.create_future()
    loop.add_signal_handler(signal.SIGTERM, lambda: stop.done() or stop.set_result(None))
    server = await loop.create_server(lambda: _ClientSide(unix_path), sock=sock)
    parent = os.getppid()
    while not stop.done():  # a forked process also ends when the first one is gone
        await asyncio.wait([stop], timeout=1.0)
        if os.getppid() != parent:
            break
    server.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--unix", required=True, help="the server's Unix socket file")
    ap.add_argument("--processes", type=int, default=2)
    args = ap.parse_args()
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    children = []
    for _ in range(max(1, args.processes) - 1):
        pid = os.fork()
        if pid == 0:
            asyncio.run(serve(args.port, args.unix))
            os._exit(0)
        children.append(pid)
    try:
        asyncio.run(serve(args.port, args.unix))
    finally:
        for pid in children:
            try:
                os.kill(pid, signal.SIGTERM)
                os.waitpid(pid, 0)
            except (ProcessLookupError, ChildProcessError):
                pass


if __name__ == "__main__":
    main()
