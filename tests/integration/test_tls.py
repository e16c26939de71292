"""TLS: a coordinator with server.crt/server.key answers SSLRequest with 'S' and serves TLS."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest

from gridpg.cluster.control import Cluster
from gridpg.cluster.pgserver import is_accepting


def test_tls_when_a_certificate_is_configured(gridpg_cluster: Cluster,
                                              tmp_path_factory: pytest.TempPathFactory) -> None:
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make a test certificate")
    certs = tmp_path_factory.mktemp("certs")
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",
         "/CN=127.0.0.1", "-keyout", str(certs / "server.key"), "-out", str(certs / "server.crt")],
        check=True, capture_output=True,
    )
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    script = Path(__file__).with_name("counting_coordinator.py")
    proc = subprocess.Popen([sys.executable, str(script), str(gridpg_cluster.dir), str(port),
                             str(certs / "count"), str(certs)])
    try:
        deadline = time.monotonic() + 30
        while not is_accepting("127.0.0.1", port) and time.monotonic() < deadline:
            assert proc.poll() is None
            time.sleep(0.05)
        base = f"postgresql://postgres:{gridpg_cluster.password()}@127.0.0.1:{port}/postgres"
        with psycopg.connect(base + "?sslmode=require", autocommit=True) as conn:
            assert conn.pgconn.ssl_in_use
            assert conn.execute("SELECT 1").fetchone() == (1,)
        with psycopg.connect(base + "?sslmode=disable", autocommit=True) as conn:
            assert not conn.pgconn.ssl_in_use
    finally:
        proc.terminate()
        proc.wait(10)
    # The session cluster's coordinators have no certificate: they refuse TLS ('N').
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(gridpg_cluster.dsn() + "?sslmode=require")


def test_connection_limit(gridpg_cluster: Cluster, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Beyond max connections a client gets SQLSTATE 53300; the others carry on."""
    import os

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    directory = tmp_path_factory.mktemp("limit")
    script = Path(__file__).with_name("counting_coordinator.py")
    env = dict(os.environ, GRIDPG_MAX_CONNECTIONS="3")
    proc = subprocess.Popen([sys.executable, str(script), str(gridpg_cluster.dir), str(port),
                             str(directory / "count")], env=env)
    try:
        deadline = time.monotonic() + 30
        while not is_accepting("127.0.0.1", port) and time.monotonic() < deadline:
            time.sleep(0.05)
        dsn = f"postgresql://postgres:{gridpg_cluster.password()}@127.0.0.1:{port}/postgres"
        held = [psycopg.connect(dsn, autocommit=True) for _ in range(3)]
        with pytest.raises(psycopg.OperationalError) as info:
            psycopg.connect(dsn)
        assert "too many clients" in str(info.value)
        assert all(c.execute("SELECT 1").fetchone() == (1,) for c in held)
        held.pop().close()
        time.sleep(0.2)
        with psycopg.connect(dsn) as again:
            assert again.execute("SELECT 2").fetchone() == (2,)
        for c in held:
            c.close()
    finally:
        proc.terminate()
        proc.wait(10)
