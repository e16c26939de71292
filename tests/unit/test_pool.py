"""NodePool: an idle connection already set up for the session is taken first."""

from __future__ import annotations

import asyncio

from gridpg.datanode.connection import NodeAddress
from gridpg.datanode.pool import NodePool

ADDRESS = NodeAddress("dn1", "127.0.0.1", 1, "u", "p")


class _Conn:
    def __init__(self, settings: object, closed: bool = False, address: NodeAddress = ADDRESS) -> None:
        self.address = address
        self.session_state = settings
        self.is_closed = closed
        self.txn_status = b"I"
        self.is_clean = True

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
