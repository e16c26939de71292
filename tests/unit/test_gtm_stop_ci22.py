"""A GTM long poll that is cancelled (the GTM stops, closing its connections) ends at
once, also when its wake-up comes in the same turn of the loop: another connection's
close wakes every watcher (CoordinationOps.forget_coordination). asyncio.wait_for of
Python 3.11 returned the wake-up then and dropped the cancellation, so the watcher
waited again, up to its wait_ms, and a stopped GTM exited about 10 s late (h-ci22)."""

from __future__ import annotations

import asyncio

import pytest

from gridpg.gtm.coordination import CoordinationOps


class _Storage:
    def load_unreleased_leases(self) -> set[str]:
        return set()

    def load_tombstones(self) -> dict[str, int]:
        return {}


class _Ops(CoordinationOps):
    def __init__(self) -> None:
        self.storage = _Storage()  # type: ignore[assignment]
        self.init_coordination()


@pytest.mark.parametrize("op", ["op_pause_watch", "op_activity_collect"])
def test_a_cancelled_long_poll_ends_though_woken_in_the_same_turn(op: str) -> None:
    async def scenario() -> None:
        ops = _Ops()
        ops.pause_state.watchers.update({1, 2, 3})
        fields = {"version": ops.pause_state.version, "wait_ms": 10_000}
        poll = asyncio.create_task(getattr(ops, op)(1, fields))
        await asyncio.sleep(0.05)
        assert not poll.done()
        ops.forget_coordination(3)  # another connection closed: the watchers wake...
        poll.cancel()  # ...as the GTM cancels this one
        await asyncio.wait({poll}, timeout=2)
        assert poll.cancelled()

    asyncio.run(scenario())
