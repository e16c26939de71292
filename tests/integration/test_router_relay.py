"""The router path relays the datanode's DataRow bytes without decoding them.

A coordinator runs in this process (on its own port, against the session cluster) so the
codec's row decoder can be counted while a routed SELECT returns many rows.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator

import psycopg
import pytest

from gridpg.cluster.control import Cluster
from gridpg.frontend.coordinator import build_coordinator
from gridpg.pgwire import codec
from gridpg.planner.service import Planner


@pytest.fixture(scope="module")
def local_coordinator(gridpg_cluster: Cluster) -> Iterator[str]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    stop = asyncio.Event()

    async def serve() -> None:
        coordinator, _, _, nodes = build_coordinator(gridpg_cluster, "coord1")
        coordinator.planner = Planner(coordinator)
        await coordinator.start(nodes)
        server = await asyncio.start_server(coordinator.handle_client, "127.0.0.1", port)
        ready.set()
        async with server:
            await stop.wait()
        coordinator.close()

    thread = threading.Thread(target=loop.run_until_complete, args=(serve(),), daemon=True)
    thread.start()
    assert ready.wait(20)
    password = gridpg_cluster.password()
    yield f"postgresql://postgres:{password}@127.0.0.1:{port}/postgres"
    loop.call_soon_threadsafe(stop.set)
    thread.join(10)


def test_routed_select_does_no_per_row_decoding(
    local_coordinator: str, schema: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with psycopg.connect(local_coordinator, autocommit=True) as conn:
        conn.execute(f"CREATE TABLE {schema}.r (k int, i int, pad text) DISTRIBUTE BY HASH (k)")
        conn.execute(f"INSERT INTO {schema}.r SELECT 7, g, repeat('x', 20) FROM generate_series(1, 500) g")
        calls = {"rows": 0}
        original = codec.parse_data_row

        def counting(payload: bytes) -> list[bytes | None]:
            calls["rows"] += 1
            return original(payload)

        monkeypatch.setattr(codec, "parse_data_row", counting)
        for prepared in (False, True):
            rows = conn.execute(f"SELECT * FROM {schema}.r WHERE k = %s", (7,), prepare=prepared).fetchall()
            assert len(rows) == 500
        assert calls["rows"] == 0
        plan = "\n".join(r[0] for r in conn.execute(f"EXPLAIN SELECT * FROM {schema}.r WHERE k = 7"))
        assert "router" in plan
        # The counter works: a path that does decode (the coordinator's own catalog reads) counts.
        conn.execute(f"CREATE TABLE {schema}.other (a int) DISTRIBUTE BY HASH (a)")
        assert calls["rows"] > 0
