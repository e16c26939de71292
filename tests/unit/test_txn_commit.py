"""Two-phase commit bookkeeping (txn/transaction.py) with fake nodes: no server.

The decision logged in the GTM is what recovery commits from; it may be forgotten only
once every node confirmed COMMIT PREPARED (a kill -9 + failover test found it forgotten
while a failed-over node still held the transaction prepared, which recovery then rolled
back: half a transaction committed)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from gridpg.errors import CONNECTION_FAILURE, PgError
from gridpg.txn.transaction import CommitLog, DistributedTransaction, Participant, TxnState


class ReadsCommands:
    """`BackendConnection.send_command` / `read_command` of a fake whose `send` and
    `read_results` answer each Query: the answer is the expected one unless it raises."""

    command_answer = None

    def send_command(self, data: bytes, expected: bytes) -> None:
        self.send(data)  # type: ignore[attr-defined]

    async def read_command(self, expected: bytes) -> bool:
        await self.read_results()  # type: ignore[attr-defined]
        return True


class FakeConn(ReadsCommands):
    def __init__(self, node: str, fail_on: str | None = None) -> None:
        self.node = node
        self.fail_on = fail_on
        self.sent: list[str] = []
        self.txn_status = b"T"
        self.is_closed = False
        self.is_clean = True

    in_cycle = False

    def send(self, data: bytes, ready_owed: int = -1) -> None:
        if self.is_closed:
            raise PgError(CONNECTION_FAILURE, f"connection to node {self.node} was lost")
        self.sent.append(data[5:-1].decode())  # a simple Query's text
        self.unanswered = True

    async def read_results(self) -> list[Any]:
        self.unanswered = False
        return await self._answer(self.sent[-1])

    async def simple_query(self, sql: str) -> list[Any]:
        self.sent.append(sql)
        return await self._answer(sql)

    async def _answer(self, sql: str) -> list[Any]:
        if self.fail_on and sql.startswith(self.fail_on):
            self.is_closed = True
            raise PgError(CONNECTION_FAILURE, f"connection to node {self.node} was lost")
        if sql.startswith(("COMMIT", "ROLLBACK")):
            self.txn_status = b"I"
        return []


class FakeLog(CommitLog):
    def __init__(self) -> None:
        self.logged: list[str] = []
        self.forgotten: list[str] = []

    async def next_gxid(self) -> int:
        return 7

    async def log_commit(self, gid: str, nodes: list[str]) -> None:
        self.logged.append(gid)

    async def forget(self, gid: str) -> None:
        self.forgotten.append(gid)

    async def commit_fenced(self, body: Callable[[], Awaitable[None]], held: object = None) -> None:
        await body()


class FakePools:
    """The pools after a failover: a fresh connection to the node's new primary works."""

    def __init__(self) -> None:
        self.fresh: list[FakeConn] = []

    def pool(self, node: str) -> Any:
        pools = self

        class Pool:
            async def acquire(self) -> FakeConn:
                conn = FakeConn(node)
                pools.fresh.append(conn)
                return conn

            def release(self, conn: Any) -> None: ...
            def discard(self, conn: Any) -> None: ...
        return Pool()


async def commit_with(fail_on: str | None) -> tuple[FakeLog, dict[str, FakeConn]]:
    log = FakeLog()

    async def setup(_conn: Any) -> None: ...

    txn = DistributedTransaction(FakePools(), log, "coord1", setup)  # type: ignore[arg-type]
    txn.state = TxnState.IN_BLOCK
    conns = {"dn1": FakeConn("dn1"), "dn2": FakeConn("dn2", fail_on)}
    txn.participants = {n: Participant(c, wrote=True) for n, c in conns.items()}  # type: ignore[arg-type]
    try:
        await txn.commit()
    except PgError:
        pass
    await asyncio.sleep(0)  # let a scheduled forget run
    return log, conns


def test_decision_forgotten_once_every_node_confirmed() -> None:
    log, conns = asyncio.run(commit_with(None))
    assert log.logged == ["gridpg_7_coord1"] and log.forgotten == ["gridpg_7_coord1"]
    assert all("COMMIT PREPARED 'gridpg_7_coord1'" in c.sent for c in conns.values())


def test_decision_kept_when_a_node_did_not_confirm_commit_prepared() -> None:
    log, conns = asyncio.run(commit_with("COMMIT PREPARED"))
    assert log.logged == ["gridpg_7_coord1"]
    assert log.forgotten == []  # recovery must find it to commit dn2's prepared part
    assert "COMMIT PREPARED 'gridpg_7_coord1'" in conns["dn1"].sent


def test_unconfirmed_commit_is_finished_on_the_new_primary_then_forgotten() -> None:
    async def scenario() -> tuple[FakeLog, FakePools]:
        log = FakeLog()
        pools = FakePools()

        async def setup(_conn: Any) -> None: ...

        txn = DistributedTransaction(pools, log, "coord1", setup)  # type: ignore[arg-type]
        txn.state = TxnState.IN_BLOCK
        conns = {"dn1": FakeConn("dn1"), "dn2": FakeConn("dn2", "COMMIT PREPARED")}
        txn.participants = {n: Participant(c, wrote=True) for n, c in conns.items()}  # type: ignore[arg-type]
        await txn.commit()
        deadline = asyncio.get_running_loop().time() + 5
        while not log.forgotten and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.1)
        return log, pools

    log, pools = asyncio.run(scenario())
    assert [c.sent for c in pools.fresh] == [["COMMIT PREPARED 'gridpg_7_coord1'"]]
    assert log.forgotten == ["gridpg_7_coord1"]


def test_failed_prepare_rolls_back_and_logs_nothing() -> None:
    log, conns = asyncio.run(commit_with("PREPARE TRANSACTION"))
    assert log.logged == [] and log.forgotten == []
    assert "ROLLBACK PREPARED 'gridpg_7_coord1'" in conns["dn1"].sent


def test_refused_decision_rolls_back_and_commits_nothing() -> None:
    class RefusingLog(FakeLog):
        async def log_commit(self, gid: str, nodes: list[str]) -> None:
            from gridpg.gtm.protocol import GtmError

            raise GtmError("40001", f"{gid} was rolled back by recovery")

    async def scenario() -> dict[str, FakeConn]:
        async def setup(_conn: Any) -> None: ...

        txn = DistributedTransaction(FakePools(), RefusingLog(), "coord1", setup)  # type: ignore[arg-type]
        txn.state = TxnState.IN_BLOCK
        conns = {"dn1": FakeConn("dn1"), "dn2": FakeConn("dn2")}
        txn.participants = {n: Participant(c, wrote=True) for n, c in conns.items()}  # type: ignore[arg-type]
        try:
            await txn.commit()
        except PgError as exc:
            assert exc.sqlstate == "40001"
        else:
            raise AssertionError("a refused decision must fail the commit")
        return conns

    for conn in asyncio.run(scenario()).values():
        assert "ROLLBACK PREPARED 'gridpg_7_coord1'" in conn.sent
        assert not any(s.startswith("COMMIT PREPARED") for s in conn.sent)


def test_prepare_lost_with_its_connection_is_rolled_back_on_the_new_primary() -> None:
    """A PREPARE whose connection broke (the primary killed) may have reached the standby
    that a failover promotes: the coordinator rolls it back there at once, so its locks
    do not block the group's writers until recovery finds it in doubt (seen: every
    pgbench transaction waiting on the branch row such an orphan held)."""
    async def scenario() -> tuple[FakeLog, FakePools, dict[str, FakeConn]]:
        log = FakeLog()
        pools = FakePools()

        async def setup(_conn: Any) -> None: ...

        txn = DistributedTransaction(pools, log, "coord1", setup)  # type: ignore[arg-type]
        txn.state = TxnState.IN_BLOCK
        conns = {"dn1": FakeConn("dn1"), "dn2": FakeConn("dn2", "PREPARE TRANSACTION")}
        txn.participants = {n: Participant(c, wrote=True) for n, c in conns.items()}  # type: ignore[arg-type]
        try:
            await txn.commit()
        except PgError as exc:
            assert exc.sqlstate == CONNECTION_FAILURE
        else:
            raise AssertionError("a lost PREPARE must fail the commit")
        deadline = asyncio.get_running_loop().time() + 5
        while not pools.fresh and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.1)
        await asyncio.sleep(0)
        return log, pools, conns

    log, pools, conns = asyncio.run(scenario())
    assert log.logged == [] and log.forgotten == []
    assert "ROLLBACK PREPARED 'gridpg_7_coord1'" in conns["dn1"].sent
    assert [(c.node, c.sent) for c in pools.fresh] == [("dn2", ["ROLLBACK PREPARED 'gridpg_7_coord1'"])]


def test_prepare_refused_by_the_node_needs_no_background_rollback() -> None:
    """A PREPARE the node refused (an error, the connection intact) prepared nothing."""
    class Refusing(FakeConn):
        async def simple_query(self, sql: str) -> list[Any]:
            self.sent.append(sql)
            if sql.startswith("PREPARE"):
                raise PgError("40001", "could not serialize access")
            return []

    async def scenario() -> FakePools:
        pools = FakePools()

        async def setup(_conn: Any) -> None: ...

        txn = DistributedTransaction(pools, FakeLog(), "coord1", setup)  # type: ignore[arg-type]
        txn.state = TxnState.IN_BLOCK
        conns = {"dn1": FakeConn("dn1"), "dn2": Refusing("dn2")}
        txn.participants = {n: Participant(c, wrote=True) for n, c in conns.items()}  # type: ignore[arg-type]
        try:
            await txn.commit()
        except PgError:
            pass
        await asyncio.sleep(1.5)
        return pools

    assert asyncio.run(scenario()).fresh == []
