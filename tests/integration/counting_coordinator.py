"""A coordinator process whose row decoder counts its calls (for test_router_relay).

Usage: python counting_coordinator.py CLUSTER_DIR PORT COUNT_FILE [CERT_DIR]. On SIGUSR1 it
writes the number of parse_data_row calls so far to COUNT_FILE. With CERT_DIR (holding
server.crt and server.key) it offers TLS, as a coordinator of a cluster configured for it.
"""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path

from gridpg.cluster.control import Cluster
from gridpg.frontend.coordinator import build_coordinator
from gridpg.pgwire import codec
from gridpg.planner.core import Planner

calls = 0
_original = codec.parse_data_row


def _counting(payload: bytes) -> list[bytes | None]:
    global calls
    calls += 1
    return _original(payload)


codec.parse_data_row = _counting  # type: ignore[assignment]


async def main(directory: str, port: int, count_file: str, cert_dir: str | None) -> None:
    coordinator, _, _, nodes = build_coordinator(Cluster(Path(directory)), "coord1")
    if cert_dir:
        from gridpg.frontend.coordinator import _ssl_context

        coordinator.ssl_context = _ssl_context(Path(cert_dir))
    coordinator.planner = Planner()
    await coordinator.start(nodes)
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGUSR1, lambda: Path(count_file).write_text(str(calls)))
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    server = await coordinator.start_server("127.0.0.1", port)
    async with server:
        await stop.wait()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4] if len(sys.argv) > 4 else None))
