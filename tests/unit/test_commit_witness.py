"""CommitWitness (txn/durable.py): a decision is forgotten only once every server that ran
its COMMIT PREPARED asynchronously has witnessed it; never when the GID is found prepared
again, nor when the server cannot be witnessed."""

from __future__ import annotations

import asyncio

import pytest

from gridpg.datanode.connection import NodeAddress, QueryResult
from gridpg.datanode.pool import PoolSet
from gridpg.errors import PgError
from gridpg.txn import durable
from gridpg.txn.durable import CommitWitness

A = NodeAddress("dn1", "127.0.0.1", 1, "u", "p")
B = NodeAddress("dn2", "127.0.0.1", 2, "u", "p")


class FakeConn:
    def __init__(self, server: FakeServer) -> None:
        self.server = server
        self.is_closed = False

    async def simple_query(self, sql: str) -> list[QueryResult]:
        self.server.queries.append(sql)
        if self.server.fails:
            raise PgError("08006", "connection lost")
        return [QueryResult(), QueryResult(rows=[(g,) for g in self.server.prepared])]

    def close(self) -> None:
        self.is_closed = True


class FakeServer:
    def __init__(self) -> None:
        self.queries: list[str] = []
        self.prepared: list[str] = []
        self.fails = False


@pytest.fixture(autouse=True)
def quick(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(durable, "WITNESS_DELAY", 0.001)
    monkeypatch.setattr(durable, "RETRY_SECONDS", 0.001)


def _witness(servers: dict[NodeAddress, FakeServer], forgotten: list[str]) -> CommitWitness:
    pools = PoolSet()
    for address in servers:
        pools.set_node(address)

    async def connect(address: NodeAddress) -> FakeConn:
        return FakeConn(servers[address])

    return CommitWitness(pools, forgotten.append, connect)  # type: ignore[arg-type]


async def _settle() -> None:
    for _ in range(20):
        await asyncio.sleep(0.005)


def test_forgotten_once_every_server_witnessed() -> None:
    servers = {A: FakeServer(), B: FakeServer()}
    forgotten: list[str] = []

    async def run() -> None:
        witness = _witness(servers, forgotten)
        servers[B].fails = True
        witness.hold("g1", [A, B])
        witness.hold("g2", [A])
        await _settle()
        assert forgotten == ["g2"]  # g1 still waits for B
        servers[B].fails = False
        await _settle()
        assert forgotten == ["g2", "g1"] and witness.waiting == 0

    asyncio.run(run())
    # one witness covered both GIDs on A, and it writes WAL in the same transaction
    assert len(servers[A].queries) == 1
    assert "pg_logical_emit_message(true" in servers[A].queries[0]
    assert "'g1'" in servers[A].queries[0] and "'g2'" in servers[A].queries[0]


def test_a_gid_prepared_again_keeps_its_decision() -> None:
    servers = {A: FakeServer()}
    servers[A].prepared = ["g1"]
    forgotten: list[str] = []

    async def run() -> None:
        witness = _witness(servers, forgotten)
        witness.hold("g1", [A])
        witness.hold("g2", [A])
        await _settle()
        assert witness.waiting == 0

    asyncio.run(run())
    assert forgotten == ["g2"]


def test_a_server_no_longer_the_nodes_keeps_its_decisions() -> None:
    servers = {A: FakeServer()}
    servers[A].fails = True
    forgotten: list[str] = []

    async def run() -> None:
        witness = _witness(servers, forgotten)
        witness.hold("g1", [A])
        await _settle()
        assert witness.waiting == 1  # retried while A serves dn1
        witness._pools.set_node(NodeAddress("dn1", "127.0.0.1", 9, "u", "p"))  # a failover
        await _settle()
        assert witness.waiting == 0

    asyncio.run(run())
    assert forgotten == []


def test_async_only_where_the_session_leaves_synchronous_commit_to_the_node() -> None:
    assert durable.session_setting(()) is None
    assert durable.session_setting(("alice", None, (("work_mem", "4MB"),))) is None
    assert durable.session_setting(("alice", None, (("Synchronous_Commit", "remote_apply"),))) == "remote_apply"
    request = durable.async_commit_request(b"Q...")
    assert request.startswith(b"Q") and b"synchronous_commit = off" in request
    assert request.endswith(b"RESET synchronous_commit\x00")
