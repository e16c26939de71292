"""The GTM's pure coordination state: leases and the pause (gtm/coordination.py)."""

from __future__ import annotations

from gridpg.gtm.coordination import LEASE_MAX_TTL_S, LeaseTable, PauseState


def test_lease_is_exclusive_until_it_expires() -> None:
    table = LeaseTable(started=0.0)
    t0 = 1.0
    granted, lease = table.acquire("monitor", "m1", 3.0, t0)
    assert granted and lease is not None and lease.term == 1
    assert table.acquire("monitor", "m2", 3.0, t0 + 1)[0] is False
    granted, lease = table.acquire("monitor", "m1", 3.0, t0 + 2)  # renewal keeps the term
    assert granted and lease is not None and lease.term == 1
    assert table.acquire("monitor", "m2", 3.0, t0 + 4.9)[0] is False
    granted, lease = table.acquire("monitor", "m2", 3.0, t0 + 5.1)  # expired: taken over
    assert granted and lease is not None and lease.term == 2 and lease.holder == "m2"
    assert table.acquire("monitor", "m1", 3.0, t0 + 6)[0] is False


def test_no_unreleased_lease_right_after_a_gtm_start() -> None:
    table = LeaseTable(started=100.0, unreleased={"monitor"})
    assert table.acquire("monitor", "m1", 3.0, 100.0 + LEASE_MAX_TTL_S - 0.1) == (False, None)
    assert table.acquire("other", "m1", 3.0, 100.1)[0] is True  # released before: at once
    assert table.acquire("monitor", "m1", 3.0, 100.0 + LEASE_MAX_TTL_S + 0.1)[0] is True


def test_released_lease_is_free_at_once_and_ttl_is_capped() -> None:
    table = LeaseTable(started=-100.0)
    _, lease = table.acquire("monitor", "m1", 1000.0, 0.0)
    assert lease is not None and lease.expires == LEASE_MAX_TTL_S
    assert not table.release("monitor", "m2")
    assert table.release("monitor", "m1")
    assert table.get("monitor", 0.1) is None
    assert table.acquire("monitor", "m2", 3.0, 0.1)[0] is True


def test_pause_drains_when_every_watcher_acknowledged() -> None:
    state = PauseState()
    state.watchers.update({1, 2, 3})
    assert state.pause(1) and state.paused and state.version == 1
    assert not state.pause(2)  # held by another connection
    assert state.pause(1)  # idempotent for the holder
    assert not state.is_drained()
    state.ack(1, 1)
    state.ack(2, 1)
    state.ack(3, 0)  # an old version does not count
    assert not state.is_drained()
    state.ack(3, 1)
    assert state.is_drained()
    assert state.unpause() and not state.paused and state.version == 2
    assert not state.unpause()


def test_pause_ends_when_its_holder_disconnects_and_a_gone_watcher_does_not_block() -> None:
    state = PauseState()
    state.watchers.update({1, 2})
    state.pause(1)
    state.ack(1, state.version)
    assert not state.is_drained()
    assert state.forget(2) is False  # watcher 2 gone: nothing left to wait for
    assert state.is_drained()
    assert state.forget(1) is True and not state.paused
