"""bench/forward_proxy.py, the benchmark's byte-forwarding floor: bytes go through unread,
both ways, from a TCP client to a Unix-socket server."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_the_proxy_forwards_bytes_both_ways(tmp_path: Path) -> None:
    path = str(tmp_path / "server.sock")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(1)

    def serve_one() -> None:  # answers each read upper-cased, until the client goes
        conn, _ = listener.accept()
        with conn:
            while data := conn.recv(65536):
                conn.sendall(data.upper())

    threading.Thread(target=serve_one, daemon=True).start()
    port = _free_port()
    proxy = subprocess.Popen([sys.executable, str(BENCH / "forward_proxy.py"), "--port", str(port),
                              "--unix", path, "--processes", "1"])
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                client = socket.create_connection(("127.0.0.1", port), timeout=5)
                break
            except OSError:
                assert proxy.poll() is None and time.monotonic() < deadline, "the proxy did not start"
                time.sleep(0.05)
        with client:
            client.sendall(b"hello, ")  # (sent at once: held until the server side is up)
            client.sendall(b"world")
            received = b""
            while len(received) < 12:
                chunk = client.recv(65536)
                assert chunk, "the proxy closed the connection"
                received += chunk
        assert received == b"HELLO, WORLD"
    finally:
        proxy.terminate()
        assert proxy.wait(10) is not None
        listener.close()
