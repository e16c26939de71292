"""Shard holds, without servers: which statements an online move's switch holds, what a
statement inside a block counts as writing, the GTM's scoped pause, the gate's bound."""

from __future__ import annotations

import asyncio
import time

import pytest

from gridpg.errors import PgError
from gridpg.executor.routed import Pin, RoutedStatement
from gridpg.executor.shard_hold import (
    ANY_SHARD,
    ShardHold,
    build_scope,
    statement_touches,
    written_shards,
    wrote_held,
)
from gridpg.gtm.coordination import PauseState
from gridpg.pgwire import codec
from gridpg.planner.context import BoundParams, CatalogView, SessionView
from gridpg.planner.core import Planner
from gridpg.planner.hashing import shard_for_text
from gridpg.txn.pause import PauseGate
from tests.unit.test_plan_golden import VIEWS, snapshot

SNAP = snapshot()
CATALOG = CatalogView(SNAP, VIEWS)
SESSION = SessionView(("public",))
HELD = 1  # shard 1 of colocation 1 (orders, items, bank.accounts)


def _hold() -> ShardHold:
    scope = build_scope([("public", "orders"), ("public", "items"), ("bank", "accounts")], 1, HELD,
                        SNAP.shard_group("public", "orders", HELD), "dn3", ['gridpg_shards."public.orders_1"'])
    hold = ShardHold.from_scope(scope)
    assert hold is not None
    return hold


def _key(shard: int, start: int = 1) -> int:
    return next(k for k in range(start, 10_000) if shard_for_text("integer", str(k), 4) == shard)


def touches(sql: str, *params: str, simple: bool = False) -> bool:
    bound = BoundParams.from_texts(list(params)) if params or not simple else None
    return statement_touches(Planner(), _hold(), sql, CATALOG, SESSION, bound, simple)


def test_statements_pinned_to_other_shards_or_tables_pass() -> None:
    other, held = _key(0), _key(HELD)
    assert not touches("SELECT * FROM orders WHERE id = $1", str(other))
    assert not touches(f"UPDATE orders SET total = 1 WHERE id = {other}", simple=True)
    assert not touches("SELECT * FROM customers")  # colocation 2
    assert not touches("SELECT * FROM nation")
    assert not touches("SELECT 1")
    assert not touches(f"SELECT * FROM orders o JOIN items i ON i.order_id = o.id WHERE o.id = {other} "
                       f"AND i.order_id = {other}", simple=True)
    assert touches("SELECT * FROM orders WHERE id = $1", str(held))
    assert touches(f"/* app */ DELETE FROM items WHERE order_id = {held}", simple=True)
    assert touches("SELECT * FROM orders WHERE id IN ($1, $2)", str(other), str(held))


def test_statements_reaching_every_shard_or_unread_ones_are_held() -> None:
    assert touches("SELECT count(*) FROM orders")
    assert touches("SELECT * FROM big_orders")  # a view over a held table
    assert touches("SELECT * FROM bank.accounts WHERE id > 3")
    assert touches("INSERT INTO items VALUES (1, 2)")  # the general path: every shard of it
    assert touches("COPY orders FROM STDIN")
    assert touches("ALTER TABLE orders ADD COLUMN note text")
    assert touches("EXECUTE some_prepared(1)")
    assert touches("SELECT * FROM orders WHERE id = $1")  # the value is not known
    assert touches("this is not sql")


def test_what_a_statement_in_a_block_counts_as_writing() -> None:
    def writes(sql: str, *params: str) -> set[tuple[int, int]]:
        return written_shards(Planner(), sql, CATALOG, SESSION, BoundParams.from_texts(list(params)), False)

    held, other = _key(HELD), _key(0)
    assert writes("SELECT * FROM orders WHERE id = $1", str(held)) == set()
    assert writes("UPDATE orders SET total = 2 WHERE id = $1", str(other)) == {(1, 0)}
    assert writes("SELECT * FROM orders WHERE id = $1 FOR UPDATE", str(held)) == {(1, HELD)}
    assert writes("DELETE FROM orders") == {(1, -1)}
    assert writes("UPDATE customers SET id = id") == {(2, -1)}
    assert writes("EXECUTE p") == {ANY_SHARD}
    hold = _hold()
    assert wrote_held({(1, HELD)}, hold) and wrote_held({(1, -1)}, hold) and wrote_held({ANY_SHARD}, hold)
    assert not wrote_held({(1, 0), (2, HELD)}, hold) and not wrote_held(set(), hold)


def test_the_fast_paths_note_the_shards_they_write() -> None:
    table = SNAP.table("public", "orders")
    held = _key(HELD)

    class Planner_:
        def group_for_value(self, t: object, text: str | None, snap: object = None) -> str | None:
            raise AssertionError("the shard is hashed once, by the noting path")

    route = RoutedStatement(snapshot=SNAP, settings_generation=0, sql="UPDATE", name="gp_x", parse=b"",
                            bind_head=b"\0" + codec.cstr("gp_x"), writes=True, fixed_group=None,
                            pins=(Pin(table, 0, None, 23),), allowed=None)  # type: ignore[arg-type]
    written: set[tuple[int, int]] = set()
    group = route.group_for(Planner_(), [str(held).encode()], [0], written)  # type: ignore[arg-type]
    assert group == SNAP.shard_group("public", "orders", HELD) and written == {(1, HELD)}
    written.clear()
    literal = RoutedStatement(snapshot=SNAP, settings_generation=0, sql="UPDATE", name="gp_x", parse=b"",
                              bind_head=b"", writes=True, fixed_group=None,
                              pins=(Pin(table, -1, "dn1", 0, 3),), allowed=None)  # type: ignore[arg-type]
    assert literal.group_for_literals(Planner_(), [], written) == "dn1" and written == {(1, 3)}  # type: ignore[arg-type]


def test_the_gtm_keeps_one_pause_or_hold_with_its_scope() -> None:
    state = PauseState()
    scope = {"kind": "shards", "remainder": 1}
    assert state.pause(1, scope) and state.scope == scope and state.version == 1
    assert state.pause(1, scope)  # idempotent
    assert not state.pause(1, None)  # the same holder, another kind of pause
    assert not state.pause(2, scope)
    state.watchers.add(5)
    assert not state.is_drained()
    state.ack(5, state.version)
    assert state.is_drained()
    assert state.forget(1) and state.scope is None and not state.paused  # its connection dropped


def test_unknown_scopes_are_not_holds() -> None:
    assert ShardHold.from_scope(None) is None
    assert ShardHold.from_scope({"kind": "other"}) is None
    assert ShardHold.from_scope({"kind": "shards", "tables": 3}) is None


def test_a_held_statement_fails_with_55p03_after_its_bound() -> None:
    async def run() -> None:
        gate = PauseGate(None)  # type: ignore[arg-type]
        gate._apply(1, True, list, build_scope([("public", "orders")], 1, 1, "dn1", "dn2", []))
        assert gate.hold is not None and not gate.paused and not gate.is_closed_for(object())
        started = time.monotonic()
        with pytest.raises(PgError) as failed:
            await gate.wait_hold_released(0.2)
        assert failed.value.sqlstate == "55P03" and "being moved" in failed.value.message
        assert 0.15 < time.monotonic() - started < 2
        waiter = asyncio.ensure_future(gate.wait_hold_released(5))
        await asyncio.sleep(0.01)
        gate._apply(2, False, list)  # the hold ends: the waiter goes on at once
        await asyncio.wait_for(waiter, 1)
        assert gate.hold is None and gate.switches == 1 and gate.ended_holds[0][0] == 1
        gate.stop()

    asyncio.run(run())
