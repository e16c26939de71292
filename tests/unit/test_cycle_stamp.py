"""The routed cycle's validity stamp (StatementRunner.cycle_route): every input it stands
for, changed, makes the next Execute check again and go message by message while the
change holds; a run of random changes never leaves a stamp that the full checks refuse.

A coordinator and a session's runner are built without servers; the events are the ones
the product calls (SessionSettings changes, SessionTemps, DistributedTransaction.pin,
SessionNotify, the pause gate's `_apply`, the catalog check's timer, install_snapshot).
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import pytest

from gridpg.datanode.connection import NodeAddress
from gridpg.executor.routed import NOT_ROUTED, RoutedStatement
from gridpg.executor.shard_hold import build_scope
from gridpg.frontend import statements
from gridpg.frontend.coordinator import Coordinator, CoordinatorSettings
from gridpg.frontend.session import PreparedStatement
from gridpg.frontend.statements import StatementRunner
from gridpg.gtm.client import GtmClient
from gridpg.pgwire import codec


def _route() -> RoutedStatement:
    return RoutedStatement(
        snapshot=object(), settings_generation=0, sql="SELECT 1", name="gp_x",  # type: ignore[arg-type]
        parse=b"", bind_head=b"\0" + codec.cstr("gp_x"), writes=False, fixed_group="dn1",
        pins=(), allowed=None,
    )


class Rig:
    """A coordinator, one session's runner and one prepared statement planned for now."""

    def __init__(self) -> None:
        address = NodeAddress("catalog1", "127.0.0.1", 1, "u", "p")
        dn = NodeAddress("dn1", "127.0.0.1", 2, "u", "p")
        self.coord = Coordinator("coord1", address, [dn], [], GtmClient("127.0.0.1", 3), CoordinatorSettings())
        self.coord.planner = object()  # type: ignore[assignment]
        self.coord.install_snapshot(object())  # type: ignore[arg-type]
        self.coord._epoch_due = False  # (as a finished catalog check leaves it)
        self.coord.invalidate_cycles()
        session = SimpleNamespace(info=SimpleNamespace(user="alice"))
        self.runner = StatementRunner(self.coord, session)  # type: ignore[arg-type]
        self.route = _route()
        self.statement = PreparedStatement("s", "SELECT 1", [])
        self.replan()

    def replan(self) -> None:
        """What `StatementRunner._routed` does when the key moved: a plan for the new key."""
        runner = self.runner
        self.statement.cycle_stamp = 0
        self.statement.routed = self.route
        self.statement.routed_key = (self.coord.snapshot, runner.state.generation, runner.temps.names)

    def routed(self) -> RoutedStatement | None:
        return self.runner.cycle_route(self.statement)

    def allowed(self) -> bool:
        return self.runner._cycle_allowed(self.statement)

    def pause(self, paused: bool, scope: Any = None) -> None:
        gate = self.coord.pause_gate
        gate._apply((gate.version or 0) + 1, paused, lambda: [], scope)


def _hold_scope() -> dict[str, Any]:
    return build_scope([("public", "t")], 1, 3, "dn1", "dn2", ["t"])


@pytest.fixture()
def rig() -> Any:
    loop = asyncio.new_event_loop()  # (the pause gate starts its drain watcher as a task)
    asyncio.set_event_loop(loop)
    try:
        yield Rig()
    finally:
        for task in asyncio.all_tasks(loop):
            task.cancel()
        loop.run_until_complete(asyncio.sleep(0))
        loop.close()
        asyncio.set_event_loop(None)


def test_a_planned_statement_is_stamped_once(rig: Rig) -> None:
    assert rig.routed() is rig.route
    assert rig.statement.cycle_stamp == rig.runner.cycle_stamp
    stamp = rig.runner.cycle_stamp
    for _ in range(3):
        assert rig.routed() is rig.route
    assert rig.runner.cycle_stamp == stamp  # nothing changed: no new stamp


SESSION_CHANGES: dict[str, Callable[[Rig], None]] = {
    "SET": lambda r: r.runner.state.set_value("search_path", "other", in_block=False),
    "RESET": lambda r: r.runner.state.reset_value("search_path", in_block=False),
    "RESET ALL": lambda r: r.runner.state.reset_all(in_block=False),
    "SET ROLE": lambda r: r.runner.state.set_role("bob", in_block=False),
    "SET SESSION AUTHORIZATION": lambda r: r.runner.state.set_session_authorization("bob", in_block=False),
    "DISCARD ALL": lambda r: r.runner.state.discard_all(),
    "temp relation names": lambda r: r.runner.temps.set_names(frozenset({"t"})),
}


@pytest.mark.parametrize("change", SESSION_CHANGES)
def test_a_change_of_settings_role_or_temp_names_replans(rig: Rig, change: str) -> None:
    assert rig.routed() is rig.route
    SESSION_CHANGES[change](rig)
    assert rig.routed() is None  # the plan was made for the old settings: message by message
    rig.replan()  # (the task's path plans it again)
    assert rig.routed() is rig.route


def test_a_settings_rollback_replans(rig: Rig) -> None:
    state = rig.runner.state
    state.set_value("search_path", "other", in_block=True)
    rig.replan()
    assert rig.routed() is rig.route
    state.rollback()  # the block's SET undone
    assert rig.routed() is None


@pytest.mark.parametrize("event", ["pinned temp tables", "private catalog", "LISTEN in the block", "NOTIFY"])
def test_session_states_that_stop_routed_cycles(rig: Rig, event: str) -> None:
    assert rig.routed() is rig.route
    runner = rig.runner
    if event == "pinned temp tables":
        runner.txn.pin(rig.coord.catalog_node)
    elif event == "private catalog":
        runner.private_snapshot = object()  # type: ignore[assignment]
    elif event == "LISTEN in the block":
        asyncio.get_event_loop().run_until_complete(runner.notify._act("listen", "ch", now=False))
    else:
        asyncio.get_event_loop().run_until_complete(runner.notify.notify_all([("ch", "x")], now=False))
    assert rig.routed() is None
    if event == "private catalog":
        runner.private_snapshot = None  # the block ended
        assert rig.routed() is rig.route


def test_a_failed_block_or_a_pending_sync(rig: Rig) -> None:
    txn = rig.runner.txn
    txn.begin()
    assert rig.routed() is rig.route
    txn.fail()
    assert rig.routed() is None
    txn._reset()  # ROLLBACK
    assert rig.routed() is rig.route
    rig.runner.pending_sync["dn1"] = object()  # type: ignore[assignment]
    assert rig.routed() is None
    del rig.runner.pending_sync["dn1"]
    assert rig.routed() is rig.route


def test_a_new_catalog_snapshot(rig: Rig) -> None:
    assert rig.routed() is rig.route
    rig.coord.install_snapshot(object())  # type: ignore[arg-type]
    assert rig.routed() is None
    rig.replan()
    assert rig.routed() is rig.route


def test_the_catalog_check_coming_due(rig: Rig) -> None:
    assert rig.routed() is rig.route
    rig.coord._mark_epoch_due()  # the one-second timer
    assert rig.routed() is None
    rig.runner.txn.begin()
    assert rig.routed() is rig.route  # inside a block the catalog is not checked (as the task's path)
    rig.runner.txn._reset()
    assert rig.routed() is None
    rig.coord._epoch_due = False  # the check done
    rig.coord.invalidate_cycles()
    assert rig.routed() is rig.route
    rig.coord.expire_epoch_check()  # a shard switch ended
    assert rig.routed() is None


def test_the_pause_gate_and_shard_holds(rig: Rig) -> None:
    assert rig.routed() is rig.route
    rig.pause(True)  # PAUSE CLUSTER seen from the GTM
    assert rig.routed() is None
    rig.runner.txn.begin()
    assert rig.routed() is rig.route  # a block started before the pause goes on
    rig.runner.txn._reset()
    rig.pause(False)
    assert rig.routed() is rig.route
    rig.pause(True, _hold_scope())  # an online move's switch holds a shard
    assert rig.routed() is None
    rig.runner.txn.begin()
    assert rig.routed() is None  # (in a block too: the general path checks the hold)
    rig.runner.txn._reset()
    rig.pause(False)
    assert rig.routed() is None  # (the switch's end asks for a catalog check)
    rig.coord._epoch_due = False
    rig.coord.invalidate_cycles()
    assert rig.routed() is rig.route


def test_a_repeatable_read_snapshot_older_than_a_shard_switch(rig: Rig) -> None:
    txn = rig.runner.txn
    txn.begin()
    txn.moved_since = rig.coord.pause_gate.switches  # the block's first datanode snapshot
    assert rig.routed() is rig.route
    rig.pause(True, _hold_scope())
    rig.pause(False)  # the switch is over: switches moved on
    rig.coord._epoch_due = False
    rig.coord.invalidate_cycles()
    assert rig.routed() is None  # the block's snapshot predates it: the general path checks


def test_not_routed_statements_and_loopbacks(rig: Rig) -> None:
    rig.statement.routed = NOT_ROUTED
    rig.statement.cycle_stamp = 0
    assert rig.routed() is None
    rig.replan()
    rig.runner.is_loopback = True  # (set before a loopback's first statement)
    assert rig.routed() is None


def _check_done(r: Rig) -> None:
    r.coord._epoch_due = False  # (as _check_epoch leaves it)
    r.coord.invalidate_cycles()


def _calm(r: Rig) -> None:
    """Every stopping state undone (the runs below then reach stamped answers often)."""
    r.runner.txn.unpin(r.coord.catalog_node)
    r.runner.private_snapshot = None
    r.pause(False)
    _check_done(r)
    r.runner.txn._reset()
    r.replan()


EVENTS: list[Callable[[Rig], None]] = [
    *SESSION_CHANGES.values(),
    lambda r: r.runner.temps.set_names(frozenset()),
    lambda r: r.runner.txn.pin(r.coord.catalog_node),
    lambda r: r.runner.txn.unpin(r.coord.catalog_node),
    lambda r: setattr(r.runner, "private_snapshot", object()),
    lambda r: setattr(r.runner, "private_snapshot", None),
    lambda r: r.coord.install_snapshot(object()),  # type: ignore[arg-type]
    lambda r: r.coord._mark_epoch_due(),
    lambda r: _check_done(r),
    lambda r: r.pause(True),
    lambda r: r.pause(False),
    lambda r: r.pause(True, _hold_scope()),
    lambda r: r.runner.txn.begin(),
    lambda r: r.runner.txn.fail(),
    lambda r: r.runner.txn._reset(),
    lambda r: r.replan(),
    *[_calm] * 6,
]


def test_random_changes_never_leave_a_stale_stamp(rig: Rig, monkeypatch: pytest.MonkeyPatch) -> None:
    """With CHECK_STAMPS every stamped answer is checked in full (a stale one raises)."""
    monkeypatch.setattr(statements, "CHECK_STAMPS", True)
    rng = random.Random(11)
    taken = 0
    for _ in range(2000):
        rng.choice(EVENTS)(rig)
        route = rig.routed()
        state = rig.runner.txn.state
        allowed = rig.allowed() and not rig.runner.pending_sync and state is not statements.TxnState.FAILED \
            and (state is statements.TxnState.IN_BLOCK or not rig.runner._idle_stopped())
        assert (route is not None) == allowed
        taken += route is not None
    assert taken > 100  # (the run does reach the stamped path)
