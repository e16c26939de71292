"""2PC decided by one writer's commit with a marker row (txn/marker.py), with fake nodes:
the GID's form, which writer decides, the order of the rounds, what each failure leaves,
and recovery's use of the marker (txn/recovery.py). The marker's key race itself runs on
real servers in tests/faults/test_commit_marker.py."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from gridpg.datanode.connection import QueryResult
from gridpg.errors import CONNECTION_FAILURE, PgError
from gridpg.txn import marker, recovery
from gridpg.txn.transaction import CommitLog, DistributedTransaction, Participant, TxnState
from tests.unit.test_txn_commit import ReadsCommands


class FakeConn(ReadsCommands):
    """A node's connection: answers each simple Query (`refuse` maps a statement prefix to
    the error it gets; `lose` loses the connection on it); `rows` answers SELECTs."""

    def __init__(self, node: str, refuse: dict[str, PgError] | None = None, lose: str | None = None) -> None:
        self.node = node
        self.refuse = refuse or {}
        self.lose = lose
        self.sent: list[str] = []
        self.txn_status = b"T"
        self.is_closed = False
        self.is_clean = True
        self.session_state: object = None
        self.rows: list[tuple[str | None, ...]] = []

    in_cycle = False
    is_quiet = True

    def send(self, data: bytes, ready_owed: int = -1) -> None:
        if self.is_closed:
            raise PgError(CONNECTION_FAILURE, f"connection to node {self.node} was lost")
        self.sent.append(data[5:-1].decode())

    async def read_results(self) -> list[Any]:
        return await self._answer(self.sent[-1])

    async def simple_query(self, sql: str) -> list[Any]:
        self.sent.append(sql)
        return await self._answer(sql)

    async def query(self, sql: str) -> list[tuple[str | None, ...]]:
        return (await self.simple_query(sql))[-1].rows

    async def settle(self) -> None: ...

    async def _answer(self, sql: str) -> list[Any]:
        if self.lose and sql.startswith(self.lose):
            self.is_closed = True
            raise PgError(CONNECTION_FAILURE, f"connection to node {self.node} was lost")
        for prefix, error in self.refuse.items():
            if sql.startswith(prefix):
                self.txn_status = b"E" if self.txn_status != b"I" else b"I"
                raise error
        if sql.startswith(("COMMIT", "ROLLBACK")) or sql.endswith("; COMMIT"):
            self.txn_status = b"I"
        return [QueryResult(rows=list(self.rows))]


class FakeLog(CommitLog):
    def __init__(self, fence_fails: bool = False) -> None:
        self.logged: list[str] = []
        self.forgotten: list[str] = []
        self.fenced = 0
        self.fence_fails = fence_fails

    async def next_gxid(self) -> int:
        return 7

    async def log_commit(self, gid: str, nodes: list[str]) -> None:
        self.logged.append(gid)

    async def forget(self, gid: str) -> None:
        self.forgotten.append(gid)

    async def commit_fenced(self, body: Callable[[], Awaitable[None]], held: object = None) -> None:
        from gridpg.gtm.protocol import GtmUnavailable

        if self.fence_fails:
            raise GtmUnavailable("the GTM is not answering")
        self.fenced += 1
        await body()


class FakePools:
    def __init__(self) -> None:
        self.fresh: list[FakeConn] = []

    def pool(self, node: str) -> Any:
        pools = self

        class Pool:
            async def acquire(self) -> FakeConn:
                conn = FakeConn(node)
                conn.txn_status = b"I"
                pools.fresh.append(conn)
                return conn

            def release(self, conn: Any) -> None: ...
            def discard(self, conn: Any) -> None: ...
        return Pool()


def keeper(ready: list[str], outcome: str = marker.COMMITTED) -> marker.MarkerKeeper:
    """A keeper whose nodes' tables get made on the first ask (every node in `ready` is
    asked once here); `decide` finds `outcome`."""
    made: list[FakeConn] = []

    async def acquire(node: str) -> Any:
        conn = FakeConn(node)
        conn.txn_status = b"I"
        conn.rows = [(outcome,)]
        made.append(conn)
        return conn

    keep = marker.MarkerKeeper(acquire, lambda _n, _c: None)
    keep.made = made  # type: ignore[attr-defined]
    return keep


async def ready_keeper(nodes: list[str], outcome: str = marker.COMMITTED) -> marker.MarkerKeeper:
    keep = keeper(nodes, outcome)
    for node in nodes:
        assert not keep.is_ready(node)  # the first ask makes the table, in the background
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    assert all(keep.is_ready(n) for n in nodes)
    return keep


def build_txn(log: FakeLog, conns: dict[str, FakeConn], order: list[str],
              keep: marker.MarkerKeeper | None, pools: FakePools | None = None) -> DistributedTransaction:
    async def setup(_conn: Any) -> None: ...

    txn = DistributedTransaction(pools or FakePools(), log, "coord_1", setup)  # type: ignore[arg-type]
    txn.state = TxnState.IN_BLOCK
    txn.gxid = 7
    txn.markers = keep
    txn.participants = {n: Participant(c) for n, c in conns.items()}  # type: ignore[arg-type]
    for node in order:
        txn.mark_written(node)
    return txn


GID = marker.build_gid(7, "coord_1", "dn_2")


# -- the GID ---------------------------------------------------------------------------


@pytest.mark.parametrize("decider, coordinator", [
    ("dn2", "coord1"), ("dn_2", "coord_1"), ("a_1_b", "c_2_d"), ("x", "_"), ('"we ird"', "c"),
])
def test_gid_names_its_decider_and_coordinator(decider: str, coordinator: str) -> None:
    gid = marker.build_gid(41, coordinator, decider)
    assert marker.parse_gid(gid) == marker.MarkerGid(41, decider, coordinator)
    assert recovery.parse_gid(gid) == (41, coordinator)
    assert recovery.GID.match(gid) is None  # never mistaken for a GTM-decided one


@pytest.mark.parametrize("gid", [
    "gridpg_7_coord1", "gridpgm_7_9_dn2_coord1", "gridpgm_7_3_dn2coord1", "gridpgm_x_3_dn2_c",
    "gridpg-u:gridpgm_7_3_dn2_c", None, "",
])
def test_other_names_are_not_marker_gids(gid: str | None) -> None:
    assert marker.parse_gid(gid) is None


def test_gtm_gids_still_parse() -> None:
    assert recovery.parse_gid("gridpg_12_coord_1") == (12, "coord_1")


def test_marker_conflict_is_recognised_by_constraint_name() -> None:
    conflict = PgError("23505", 'duplicate key value violates unique constraint "commit_marker_pkey"',
                       fields={"C": "23505", "n": "commit_marker_pkey"})
    other = PgError("23505", 'duplicate key value violates unique constraint "t_pkey"',
                    fields={"C": "23505", "n": "t_pkey"})
    assert marker.is_marker_conflict(conflict) and not marker.is_marker_conflict(other)


# -- which writer decides --------------------------------------------------------------


def test_the_writer_locking_rows_last_decides_and_does_not_prepare() -> None:
    async def scenario() -> tuple[FakeLog, dict[str, FakeConn], marker.MarkerKeeper]:
        keep = await ready_keeper(["dn_1", "dn_2", "dn_3"])
        conns = {n: FakeConn(n) for n in ("dn_3", "dn_1", "dn_2")}  # joined in this order
        log = FakeLog()
        txn = build_txn(log, conns, ["dn_1", "dn_3", "dn_2"], keep)
        txn.mark_written("dn_1", locks_rows=False)  # an INSERT last: locks nothing there
        await txn.commit()
        return log, conns, keep

    log, conns, keep = asyncio.run(scenario())
    gid = marker.build_gid(7, "coord_1", "dn_2")
    assert log.logged == [] and log.fenced == 1  # no GTM decision; the fence still taken
    assert conns["dn_2"].sent == ["SET CONSTRAINTS ALL IMMEDIATE",  # its deferred checks, before the fence
                                  f"INSERT INTO gridpg.commit_marker (gid) VALUES ('{gid}'); COMMIT"]
    for node in ("dn_1", "dn_3"):
        assert conns[node].sent == [f"PREPARE TRANSACTION '{gid}'", f"COMMIT PREPARED '{gid}'"]
    assert keep.pending == 1  # the marker goes once every node committed


def test_without_deferrable_constraints_the_decider_gets_no_set_constraints() -> None:
    """No DEFERRABLE constraint or trigger in the catalog: no check waits for COMMIT, so
    the decider's PREPARE-round message is left out (one round trip less per 2PC)."""
    async def scenario() -> dict[str, FakeConn]:
        keep = await ready_keeper(["dn_1", "dn_2"])
        conns = {n: FakeConn(n) for n in ("dn_1", "dn_2")}
        txn = build_txn(FakeLog(), conns, ["dn_1", "dn_2"], keep)
        txn.deferrable = lambda: False
        await txn.commit()
        return conns

    conns = asyncio.run(scenario())
    gid = marker.build_gid(7, "coord_1", "dn_2")
    assert conns["dn_2"].sent == [f"INSERT INTO gridpg.commit_marker (gid) VALUES ('{gid}'); COMMIT"]
    assert conns["dn_1"].sent == [f"PREPARE TRANSACTION '{gid}'", f"COMMIT PREPARED '{gid}'"]


@pytest.mark.parametrize("accounts, tellers, branches", [
    ("dn_1", "dn_2", "dn_1"), ("dn_1", "dn_1", "dn_2"), ("dn_1", "dn_2", "dn_2"), ("dn_2", "dn_1", "dn_2"),
])
def test_tpcb_the_branch_rows_node_decides(accounts: str, tellers: str, branches: str) -> None:
    """TPC-B's order: UPDATE accounts, UPDATE tellers, UPDATE branches, INSERT history (on
    the tellers' node): the node of the branch row, the last row lock, decides."""
    async def scenario() -> str:
        keep = await ready_keeper(["dn_1", "dn_2"])
        conns = {n: FakeConn(n) for n in ("dn_1", "dn_2")}
        txn = build_txn(FakeLog(), conns, [], keep)
        for node in (accounts, tellers, branches):
            txn.mark_written(node)
        txn.mark_written(tellers, locks_rows=False)
        await txn.commit()
        return next(n for n, c in conns.items() if any(s.startswith("INSERT INTO gridpg.commit_marker") for s in c.sent))

    assert asyncio.run(scenario()) == branches


def test_with_inserts_only_the_node_first_written_last_decides() -> None:
    async def scenario() -> dict[str, FakeConn]:
        keep = await ready_keeper(["dn_1", "dn_2"])
        conns = {n: FakeConn(n) for n in ("dn_1", "dn_2")}
        txn = build_txn(FakeLog(), conns, [], keep)
        for node in ("dn_2", "dn_1", "dn_2"):
            txn.mark_written(node, locks_rows=False)
        await txn.commit()
        return conns

    conns = asyncio.run(scenario())
    assert conns["dn_1"].sent[1].startswith("INSERT INTO gridpg.commit_marker")


def test_inserts_take_no_row_lock() -> None:
    from gridpg.txn.transaction import is_insert

    assert is_insert("INSERT INTO h VALUES ($1, $2)") and is_insert("  insert into h select 1")
    assert not is_insert("INSERT INTO h VALUES (1) ON CONFLICT (id) DO UPDATE SET v = 2")
    assert not is_insert("UPDATE t SET v = 1") and not is_insert("WITH x AS (DELETE FROM t) INSERT INTO h SELECT 1")


def test_readers_commit_in_the_prepare_round() -> None:
    async def scenario() -> dict[str, FakeConn]:
        keep = await ready_keeper(["dn_1", "dn_2"])
        conns = {n: FakeConn(n) for n in ("dn_1", "dn_2", "dn_3")}
        txn = build_txn(FakeLog(), conns, ["dn_1", "dn_2"], keep)
        await txn.commit()
        return conns

    conns = asyncio.run(scenario())
    assert conns["dn_3"].sent == ["COMMIT"]
    assert conns["dn_2"].sent[1].startswith("INSERT INTO gridpg.commit_marker")


def test_no_ready_table_means_the_gtm_decides() -> None:
    async def scenario() -> tuple[FakeLog, marker.MarkerKeeper]:
        keep = keeper([])
        conns = {n: FakeConn(n) for n in ("dn_1", "dn_2")}
        log = FakeLog()
        await build_txn(log, conns, ["dn_1", "dn_2"], keep).commit()
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        return log, keep

    log, keep = asyncio.run(scenario())
    assert log.logged == ["gridpg_7_coord_1"]
    assert keep.is_ready("dn_1") and keep.is_ready("dn_2")  # made for the next transaction


@pytest.mark.parametrize("how", ["session", "local", "catalog", "disabled"])
def test_cases_the_marker_cannot_cover_keep_the_gtm_decision(how: str) -> None:
    async def scenario() -> FakeLog:
        keep = await ready_keeper(["dn_1", "dn_2"])
        conns = {n: FakeConn(n) for n in ("dn_1", "dn_2")}
        log = FakeLog()
        txn = build_txn(log, conns, ["dn_1", "dn_2"], keep)
        if how == "session":  # a session's own synchronous_commit on both writers
            for conn in conns.values():
                conn.session_state = ("u", "u", (("synchronous_commit", "off"),))
        elif how == "local":
            txn.local_settings.append("SET LOCAL synchronous_commit = local")
        elif how == "catalog":
            txn.local_nodes = {"dn_1", "dn_2"}
        else:
            keep.enabled = False
        await txn.commit()
        return log

    assert asyncio.run(scenario()).logged == ["gridpg_7_coord_1"]


def test_a_writer_with_its_own_synchronous_commit_is_passed_over() -> None:
    async def scenario() -> dict[str, FakeConn]:
        keep = await ready_keeper(["dn_1", "dn_2"])
        conns = {n: FakeConn(n) for n in ("dn_1", "dn_2")}
        conns["dn_2"].session_state = ("u", "u", (("synchronous_commit", "off"),))
        await build_txn(FakeLog(), conns, ["dn_1", "dn_2"], keep).commit()
        return conns

    conns = asyncio.run(scenario())
    assert conns["dn_1"].sent[1].startswith("INSERT INTO gridpg.commit_marker")
    assert conns["dn_2"].sent[0].startswith("PREPARE TRANSACTION 'gridpgm_7_4_dn_1_coord_1'")


# -- failures --------------------------------------------------------------------------


def run_commit(conns: dict[str, FakeConn], log: FakeLog | None = None,
               pools: FakePools | None = None, outcome: str = marker.COMMITTED,
               wait: float = 0.0) -> tuple[PgError | None, FakeLog, marker.MarkerKeeper]:
    async def scenario() -> tuple[PgError | None, FakeLog, marker.MarkerKeeper]:
        keep = await ready_keeper(list(conns), outcome)
        used = log or FakeLog()
        txn = build_txn(used, conns, list(conns), keep, pools)
        error = None
        try:
            await txn.commit()
        except PgError as exc:
            error = exc
        await asyncio.sleep(wait)
        return error, used, keep

    return asyncio.run(scenario())


def test_a_refused_decider_commit_rolls_the_others_back() -> None:
    refusal = PgError("23514", "deferred check failed", fields={"C": "23514"})
    conns = {"dn_1": FakeConn("dn_1"), "dn_2": FakeConn("dn_2", refuse={"INSERT INTO gridpg.commit_marker": refusal})}
    error, log, keep = run_commit(conns)
    assert error is refusal
    assert conns["dn_1"].sent == [f"PREPARE TRANSACTION '{GID}'", f"ROLLBACK PREPARED '{GID}'"]
    assert conns["dn_2"].sent[-1] == "ROLLBACK"  # its failed block ended
    assert log.logged == [] and keep.pending == 0


def test_recoverys_marker_first_is_reported_as_a_rollback() -> None:
    conflict = PgError("23505", 'duplicate key value violates unique constraint "commit_marker_pkey"',
                       fields={"C": "23505", "n": "commit_marker_pkey"})
    conns = {"dn_1": FakeConn("dn_1"), "dn_2": FakeConn("dn_2", refuse={"INSERT INTO gridpg.commit_marker": conflict})}
    error, _, _ = run_commit(conns)
    assert error is not None and error.sqlstate == "40000" and "in-doubt recovery" in error.message
    assert conns["dn_1"].sent[-1] == f"ROLLBACK PREPARED '{GID}'"


def test_a_deferred_check_refused_on_the_decider_rolls_the_others_back_before_the_fence() -> None:
    refusal = PgError("23503", "insert or update violates foreign key constraint", fields={"C": "23503"})
    conns = {"dn_1": FakeConn("dn_1"), "dn_2": FakeConn("dn_2", refuse={"SET CONSTRAINTS": refusal})}
    log = FakeLog()
    error, _, _ = run_commit(conns, log)
    assert error is refusal and log.fenced == 0
    assert conns["dn_1"].sent == [f"PREPARE TRANSACTION '{GID}'", f"ROLLBACK PREPARED '{GID}'"]
    assert conns["dn_2"].sent == ["SET CONSTRAINTS ALL IMMEDIATE", "ROLLBACK"]


def test_a_failed_prepare_never_reaches_the_decider_commit() -> None:
    conns = {"dn_1": FakeConn("dn_1", lose="PREPARE"), "dn_2": FakeConn("dn_2")}
    error, _, _ = run_commit(conns)
    assert error is not None
    assert not any(s.startswith("INSERT") for s in conns["dn_2"].sent)
    assert conns["dn_2"].sent[-1] == "ROLLBACK"


def test_no_commit_fence_decides_nothing() -> None:
    conns = {"dn_1": FakeConn("dn_1"), "dn_2": FakeConn("dn_2")}
    error, _, _ = run_commit(conns, FakeLog(fence_fails=True))
    assert error is not None and error.sqlstate == "08006"
    assert conns["dn_1"].sent == [f"PREPARE TRANSACTION '{GID}'", f"ROLLBACK PREPARED '{GID}'"]
    assert conns["dn_2"].sent == ["SET CONSTRAINTS ALL IMMEDIATE", "ROLLBACK"]


@pytest.mark.parametrize("found, verb", [(marker.COMMITTED, "COMMIT"), (marker.ABORTED, "ROLLBACK")])
def test_a_lost_decider_answer_is_08007_and_the_marker_then_decides(found: str, verb: str) -> None:
    conns = {"dn_1": FakeConn("dn_1"), "dn_2": FakeConn("dn_2", lose="INSERT INTO gridpg.commit_marker")}
    pools = FakePools()
    error, _, keep = run_commit(conns, pools=pools, outcome=found, wait=2.5)
    assert error is not None and error.sqlstate == "08007"
    assert conns["dn_1"].sent == [f"PREPARE TRANSACTION '{GID}'"]  # left prepared, not rolled back
    asked = [c for c in keep.made if any("ON CONFLICT (gid) DO NOTHING" in s for s in c.sent)]  # type: ignore[attr-defined]
    assert len(asked) == 1 and asked[0].node == "dn_2"
    assert [c.sent for c in pools.fresh] == [[f"{verb} PREPARED '{GID}'"]]


def test_an_unconfirmed_commit_prepared_keeps_the_marker() -> None:
    conns = {"dn_1": FakeConn("dn_1", lose="COMMIT PREPARED"), "dn_2": FakeConn("dn_2")}
    error, _, keep = run_commit(conns)
    assert error is None  # committed: the decider's commit decided
    assert keep.pending == 0  # kept until the background COMMIT PREPARED is confirmed


# -- recovery --------------------------------------------------------------------------


class FakeGtm:
    def __init__(self) -> None:
        self.resolved: list[str] = []
        self.forgotten: list[str] = []

    async def txn_decisions(self) -> list[dict[str, object]]:
        return []

    async def txn_resolve(self, gid: str) -> bool:
        self.resolved.append(gid)
        return False

    async def txn_forget(self, gid: str) -> None:
        self.forgotten.append(gid)


class RecoveryNode(FakeConn):
    """A primary for recovery: its prepared GIDs, its markers, its labelled backends."""

    def __init__(self, node: str, prepared: list[str], markers: list[tuple[str, str]],
                 running: list[str] = (), decides: str = marker.ABORTED) -> None:  # type: ignore[assignment]
        super().__init__(node)
        self.txn_status = b"I"
        self.prepared = prepared
        self.markers = markers
        self.running = list(running)
        self.decides = decides

    async def _answer(self, sql: str) -> list[Any]:
        if "pg_is_in_recovery" in sql:
            rows: list[tuple[str | None, ...]] = [("f",)]
        elif "pg_prepared_xacts" in sql:
            rows = [(g, "20") for g in self.prepared]
        elif sql.startswith("SELECT gid, outcome FROM gridpg.commit_marker"):
            rows = list(self.markers)
        elif "to_regclass('gridpg.commit_marker')" in sql:  # (made once markers were written)
            rows = [("t" if self.markers else "f",)]
        elif "pg_stat_activity" in sql:
            rows = [(r,) for r in self.running]
        elif "ON CONFLICT (gid) DO NOTHING" in sql:
            rows = [(self.decides,)]
        else:
            rows = []
            if sql.startswith(("COMMIT PREPARED", "ROLLBACK PREPARED")):
                self.prepared = [g for g in self.prepared if not sql.endswith(f"'{g}'")]
        return [QueryResult(rows=rows)]


def run_recovery(nodes: dict[str, RecoveryNode]) -> tuple[recovery.RecoveryOutcome, FakeGtm]:
    from gridpg.datanode.connection import NodeAddress

    gtm = FakeGtm()

    async def connect(address: NodeAddress) -> Any:
        return nodes[address.name]

    addresses = [NodeAddress(n, "127.0.0.1", 1, "postgres", "") for n in nodes]
    outcome = asyncio.run(recovery.recover_round(gtm, addresses, lambda _t: True, connect))  # type: ignore[arg-type]
    return outcome, gtm


@pytest.mark.parametrize("decides, verb", [(marker.COMMITTED, "COMMIT"), (marker.ABORTED, "ROLLBACK")])
def test_recovery_asks_the_decider_not_the_gtm(decides: str, verb: str) -> None:
    nodes = {"dn_1": RecoveryNode("dn_1", [GID], []), "dn_2": RecoveryNode("dn_2", [], [], decides=decides)}
    outcome, gtm = run_recovery(nodes)
    assert gtm.resolved == []
    assert any("ON CONFLICT (gid) DO NOTHING" in s for s in nodes["dn_2"].sent)
    assert f"{verb} PREPARED '{GID}'" in nodes["dn_1"].sent
    assert (outcome.committed, outcome.rolled_back) == ((1, 0) if verb == "COMMIT" else (0, 1))


def test_recovery_waits_when_the_decider_is_not_reached() -> None:
    from gridpg.datanode.connection import NodeAddress

    node = RecoveryNode("dn_1", [GID], [])

    async def connect(address: NodeAddress) -> Any:
        if address.name == "dn_2":
            raise OSError("refused")
        return node

    addresses = [NodeAddress(n, "127.0.0.1", 1, "postgres", "") for n in ("dn_1", "dn_2")]
    outcome = asyncio.run(recovery.recover_round(FakeGtm(), addresses, lambda _t: True, connect))  # type: ignore[arg-type]
    assert node.prepared == [GID] and outcome.unreachable == ["dn_2"]


def test_old_markers_go_only_when_nothing_holds_their_gid() -> None:
    prepared = marker.build_gid(8, "coord_1", "dn_2")
    done_commit = marker.build_gid(9, "coord_1", "dn_2")
    done_abort = marker.build_gid(10, "coord_1", "dn_2")
    abort_running = marker.build_gid(11, "coord_1", "dn_2")
    nodes = {
        "dn_1": RecoveryNode("dn_1", [prepared], []),
        "dn_2": RecoveryNode("dn_2", [], [(prepared, "c"), (done_commit, "c"), (done_abort, "a"),
                                          (abort_running, "a")], running=["gridpg:11:coord_1"]),
    }

    async def not_in_doubt() -> recovery.RecoveryOutcome:
        from gridpg.datanode.connection import NodeAddress

        async def connect(address: NodeAddress) -> Any:
            return nodes[address.name]

        addresses = [NodeAddress(n, "127.0.0.1", 1, "postgres", "") for n in nodes]
        return await recovery.recover_round(FakeGtm(), addresses, lambda _t: False, connect)  # type: ignore[arg-type]

    asyncio.run(not_in_doubt())
    deletes = [s for s in nodes["dn_2"].sent if "DELETE FROM gridpg.commit_marker" in s]
    assert len(deletes) == 1
    assert f"'{done_commit}'" in deletes[0] and f"'{done_abort}'" in deletes[0]
    assert f"'{prepared}'" not in deletes[0]  # still prepared on dn_1
    assert f"'{abort_running}'" not in deletes[0]  # its block still runs on dn_2


def test_recovery_leaves_nothing_when_a_node_is_unreached() -> None:
    from gridpg.datanode.connection import NodeAddress

    node = RecoveryNode("dn_2", [], [(marker.build_gid(9, "coord_1", "dn_2"), "c")])

    async def connect(address: NodeAddress) -> Any:
        if address.name == "dn_1":
            raise OSError("refused")
        return node

    addresses = [NodeAddress(n, "127.0.0.1", 1, "postgres", "") for n in ("dn_1", "dn_2")]
    asyncio.run(recovery.recover_round(FakeGtm(), addresses, lambda _t: True, connect))  # type: ignore[arg-type]
    assert not any("DELETE" in s for s in node.sent)


# -- the commit fence asked for beside the PREPAREs ---------------------------------------


class SlowPrepareConn(FakeConn):
    """A node whose PREPARE answers after `delay` seconds."""

    def __init__(self, node: str, delay: float) -> None:
        super().__init__(node)
        self.delay = delay

    async def _answer(self, sql: str) -> list[Any]:
        if sql.startswith("PREPARE"):
            await asyncio.sleep(self.delay)
        return await super()._answer(sql)


class ClaimingLog(FakeLog):
    """A commit log that claims the fence early and records what happens to the claim."""

    def __init__(self) -> None:
        super().__init__()
        self.events: list[str] = []
        self.claims: list[dict[str, bool]] = []

    def claim_commit_fence(self) -> object | None:
        claim = {"active": True}
        self.claims.append(claim)
        self.events.append("claim")
        return claim

    def drop_commit_fence(self, claim: object) -> None:
        assert isinstance(claim, dict)
        if claim["active"]:
            claim["active"] = False
            self.events.append("drop")

    async def commit_fenced(self, body: Callable[[], Awaitable[None]], held: object = None) -> None:
        early = isinstance(held, dict) and held["active"]
        self.events.append("fenced with the claim" if early else "fenced anew")
        if early:
            self.drop_commit_fence(held)
        await super().commit_fenced(body, held)


def _claiming_commit(delay: float) -> tuple[ClaimingLog, dict[str, FakeConn]]:
    async def scenario() -> tuple[ClaimingLog, dict[str, FakeConn]]:
        keep = await ready_keeper(["dn_1", "dn_2"])
        conns: dict[str, FakeConn] = {"dn_1": SlowPrepareConn("dn_1", delay), "dn_2": FakeConn("dn_2")}
        log = ClaimingLog()
        txn = build_txn(log, conns, ["dn_1", "dn_2"], keep)
        await txn.commit()
        return log, conns

    return asyncio.run(scenario())


def test_the_commit_fence_is_claimed_when_the_prepares_are_sent_and_used_by_the_decision() -> None:
    log, conns = _claiming_commit(0.0)
    assert log.events == ["claim", "fenced with the claim", "drop"]
    assert conns["dn_1"].sent == [f"PREPARE TRANSACTION '{GID}'", f"COMMIT PREPARED '{GID}'"]
    assert conns["dn_2"].sent[-1].endswith("; COMMIT")


def test_a_claim_is_given_back_while_a_prepare_takes_long(monkeypatch: pytest.MonkeyPatch) -> None:
    """A PREPARE that waits (on a lock a snapshot-fence waiter may hold) keeps no fence past
    EARLY_FENCE_SECONDS: the claim is given back, and the decision takes the fence anew."""
    from gridpg.txn import transaction

    monkeypatch.setattr(transaction, "EARLY_FENCE_SECONDS", 0.01)
    log, conns = _claiming_commit(0.05)
    assert log.events == ["claim", "drop", "fenced anew"]
    assert conns["dn_1"].sent[-1] == f"COMMIT PREPARED '{GID}'"


def test_a_failed_prepare_gives_the_claim_back() -> None:
    async def scenario() -> tuple[ClaimingLog, dict[str, FakeConn]]:
        keep = await ready_keeper(["dn_1", "dn_2"])
        conns = {"dn_1": FakeConn("dn_1", refuse={"PREPARE": PgError("40001", "could not serialize")}),
                 "dn_2": FakeConn("dn_2")}
        log = ClaimingLog()
        txn = build_txn(log, conns, ["dn_1", "dn_2"], keep)
        with pytest.raises(PgError):
            await txn.commit()
        return log, conns

    log, conns = asyncio.run(scenario())
    assert log.events == ["claim", "drop"] and log.fenced == 0
    assert not any(s.startswith("INSERT INTO gridpg.commit_marker") for s in conns["dn_2"].sent)
