"""NodePool: an idle connection already set up for the session is taken first."""

from __future__ import annotations

import asyncio

from gridpg.datanode.connection import NodeAddress
from gridpg.datanode.pool import NodePool

ADDRESS = NodeAddress("dn1", "127.0.0.1", 1, "u", "p")


class _Conn:
    def __init__(self, settings: object, closed: bool = False, address: NodeAddress = ADDRESS,
                 timer_set: bool = False) -> None:
        self.address = address
        self.session_state = settings
        self.is_closed = closed
        self.txn_status = b"I"
        self.is_clean = True
        self.timer_set = timer_set
        self.cancel_sent = False

    def close(self) -> None:
        self.is_closed = True


def _pool(*conns: _Conn) -> NodePool:
    pool = NodePool(ADDRESS, max_size=8)
    for conn in conns:
        pool._open += 1
        pool.release(conn)  # type: ignore[arg-type]
    return pool


def test_prefers_a_connection_with_the_sessions_settings() -> None:
    alice, bob = ("alice",), ("bob",)
    a, b1, b2 = _Conn(alice), _Conn(bob), _Conn(bob)
    pool = _pool(a, b1, b2)
    assert pool.take_idle(alice) is a
    assert pool.take_idle(alice) is b2  # none left for alice: the most recent one
    assert pool.take_idle(alice) is b1
    assert pool.take_idle(alice) is None


def test_a_connection_with_a_timer_serves_only_its_own_state() -> None:
    """A connection whose state set statement_timeout (or another timer) is handed to a
    session in that same state, never reset for another one: the RESET would run under the
    old timer and could be cancelled by it, failing a session that never set one (57014
    seen in tests/integration/cancel_mix.py under load). It is closed instead."""
    timed, plain = ("timed",), ("plain",)
    a = _Conn(timed, timer_set=True)
    b = _Conn(timed, timer_set=True)
    pool = _pool(a, b)
    assert pool.take_idle(timed) is b  # its own state: taken as it is
    assert pool.take_idle(plain) is None  # another state: not reset but closed
    assert a.is_closed and pool._open == 1
    c = _Conn(timed, timer_set=True)
    pool._open += 1
    pool.release(c)  # type: ignore[arg-type]
    assert pool.take_idle() is None  # the coordinator's own queries (neutral) neither
    assert c.is_closed


def test_a_connection_a_cancel_was_sent_for_is_closed_not_pooled() -> None:
    conn = _Conn(())
    conn.cancel_sent = True
    pool = _pool(conn)
    assert conn.is_closed and pool.take_idle() is None


def test_skips_closed_connections() -> None:
    alice = ("alice",)
    good, dead = _Conn(()), _Conn(alice, closed=True)
    pool = _pool(good, dead)
    assert pool.take_idle(alice) is good
    assert pool._open == 1


def test_acquire_uses_the_preference() -> None:
    alice, bob = ("alice",), ("bob",)
    a, b = _Conn(alice), _Conn(bob)
    pool = _pool(a, b)
    assert asyncio.run(pool.acquire(alice)) is a


def test_a_connection_to_another_server_is_closed_not_pooled() -> None:
    """Taken before the group's address switched (failover, a read-only coordinator going
    back to its standby), given back after: it must not serve the new address's sessions."""
    old_primary = NodeAddress("dn1", "127.0.0.1", 2, "u", "p")
    stale, same = _Conn(("s",), address=old_primary), _Conn(("s",), address=NodeAddress("dn1", "127.0.0.1", 1, "u", "p"))
    pool = _pool(stale, same)
    assert stale.is_closed and not same.is_closed
    assert pool.take_idle(("s",)) is same
    assert pool.take_idle(("s",)) is None
