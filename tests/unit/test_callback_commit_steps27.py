"""CallbackCommit (txn/transaction.py): a two-phase commit driven from the nodes' answers as
they arrive, over real BackendConnections fed by hand (no server). The usual answers run
every step there; an error at the decider's commit or a notice at COMMIT PREPARED hands the
commit to the task at the step reached, which ends it as the task's path always did; a
stopped commit (its session gone) sends nothing more."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from gridpg.datanode.connection import BackendConnection, NodeAddress, _Protocol
from gridpg.errors import PgError
from gridpg.pgwire import codec
from gridpg.txn import marker
from gridpg.txn.transaction import CommitLog, DistributedTransaction, Participant, RemoteState, TxnState
from tests.unit.test_command_answer27 import STATUS, _Transport
from tests.unit.test_txn_marker import ready_keeper

READY_IDLE = codec.build_ready(b"I")


class _Pools:
    def __init__(self) -> None:
        self.released: list[BackendConnection] = []

    def pool(self, node: str) -> Any:
        pools = self

        class Pool:
            def release(self, conn: BackendConnection) -> None:
                pools.released.append(conn)

            def discard(self, conn: BackendConnection) -> None: ...
        return Pool()


class _Log(CommitLog):
    async def next_gxid(self) -> int:
        return 7


def _conn(node: str) -> tuple[BackendConnection, _Protocol, _Transport]:
    proto = _Protocol()
    transport = _Transport()
    proto.connection_made(transport)  # type: ignore[arg-type]
    conn = BackendConnection(NodeAddress(node, "127.0.0.1", 1, "u", "p"), proto)
    conn.txn_status = b"T"
    return conn, proto, transport


def _texts(transport: _Transport) -> list[str]:
    return [data[5:-1].decode() for data in transport.written]


async def _started() -> tuple[DistributedTransaction, dict[str, Any], list[str]]:
    """A block that wrote dn1 then dn2 (dn2, written last, decides), its PREPARE round
    written as a client's prepared COMMIT writes it, then handed to a CallbackCommit."""
    keep = await ready_keeper(["dn1", "dn2"])
    txn = DistributedTransaction(_Pools(), _Log(), "coord1", lambda _c: asyncio.sleep(0))  # type: ignore[arg-type]
    txn.state, txn.gxid, txn.markers = TxnState.IN_BLOCK, 7, keep
    txn.deferrable = lambda: False  # (no DEFERRABLE constraint or trigger in the catalog)
    nodes = {n: _conn(n) for n in ("dn1", "dn2")}
    txn.participants = {n: Participant(c) for n, (c, _, _) in nodes.items()}  # type: ignore[arg-type]
    for node in ("dn1", "dn2"):
        txn.mark_written(node)
    events: list[str] = []
    assert txn.two_phase_commit_now() is not None
    driven = txn.commit_from_callbacks(lambda: events.append("done"), lambda: events.append("task"))
    assert driven is not None
    return txn, nodes, events


def test_every_step_from_the_answers() -> None:
    async def run() -> None:
        txn, nodes, events = await _started()
        (dn1, p1, t1), (dn2, p2, t2) = nodes["dn1"], nodes["dn2"]
        gid = marker.build_gid(7, "coord1", "dn2")
        assert _texts(t1) == [f"PREPARE TRANSACTION '{gid}'"] and t2.written == []
        p1.data_received(codec.build_command_complete("PREPARE TRANSACTION") + STATUS + READY_IDLE)
        assert txn.participants["dn1"].state is RemoteState.PREPARED
        assert _texts(t2) == [f"INSERT INTO gridpg.commit_marker (gid) VALUES ('{gid}'); COMMIT"]
        p2.data_received(marker.DECIDED[:9])  # (in pieces)
        p2.data_received(marker.DECIDED[9:] + STATUS + READY_IDLE)
        assert _texts(t1)[-1] == f"COMMIT PREPARED '{gid}'" and events == []
        p1.data_received(codec.build_command_complete("COMMIT PREPARED") + READY_IDLE)
        assert events == ["done"]
        assert txn.state is TxnState.IDLE and txn.participants == {}
        assert dn1.is_clean and dn2.is_clean and dn1.txn_status == dn2.txn_status == b"I"

    asyncio.run(run())


def test_decider_refusal_goes_to_the_task_which_rolls_back() -> None:
    async def run() -> None:
        txn, nodes, events = await _started()
        (_, p1, t1), (_, p2, _) = nodes["dn1"], nodes["dn2"]
        gid = marker.build_gid(7, "coord1", "dn2")
        p1.data_received(codec.build_command_complete("PREPARE TRANSACTION") + READY_IDLE)
        error = codec.build_error_fields(b"E", {"S": "ERROR", "V": "ERROR", "C": "P0001", "M": "refused"})
        p2.data_received(error + codec.build_ready(b"E"))
        assert events == ["task"]
        loop = asyncio.get_running_loop()
        loop.call_later(0.01, p1.data_received, codec.build_command_complete("ROLLBACK PREPARED") + READY_IDLE)
        loop.call_later(0.02, p2.data_received, codec.build_command_complete("ROLLBACK") + READY_IDLE)
        with pytest.raises(PgError) as raised:
            await txn.finish_two_phase_commit()
        assert raised.value.sqlstate == "P0001"
        assert _texts(t1)[-1] == f"ROLLBACK PREPARED '{gid}'"  # nothing committed anywhere

    asyncio.run(run())


def test_unusual_commit_prepared_answer_is_read_by_the_task() -> None:
    async def run() -> None:
        txn, nodes, events = await _started()
        (dn1, p1, _), (_, p2, _) = nodes["dn1"], nodes["dn2"]
        p1.data_received(codec.build_command_complete("PREPARE TRANSACTION") + READY_IDLE)
        p2.data_received(marker.DECIDED + READY_IDLE)
        notice = codec.build_error_fields(b"N", {"S": "WARNING", "V": "WARNING", "C": "01000", "M": "hm"})
        p1.data_received(notice + codec.build_command_complete("COMMIT PREPARED") + READY_IDLE)
        assert events == ["task"]
        await txn.finish_two_phase_commit()  # reads the answer handed back: committed
        assert txn.state is TxnState.IDLE and dn1.txn_status == b"I"

    asyncio.run(run())


def test_stopped_commit_sends_nothing_more() -> None:
    async def run() -> None:
        txn, nodes, events = await _started()
        (_, p1, _), (_, _, t2) = nodes["dn1"], nodes["dn2"]
        assert txn._from_callbacks is not None
        txn._from_callbacks.stop()  # (the session's task cancelled: TwoPhaseCycle.abandon)
        p1.data_received(codec.build_command_complete("PREPARE TRANSACTION") + READY_IDLE)
        assert t2.written == [] and events == []  # no decision sent: recovery rolls it back

    asyncio.run(run())
