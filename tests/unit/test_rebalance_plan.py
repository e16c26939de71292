"""The rebalance planner (pure): which shard groups move where."""

from __future__ import annotations

import random

import pytest

from gridpg.cluster.rebalance_plan import PlanError, ShardGroup, plan_moves, spread


def units(rows_by_group: dict[str, list[int]], colocation: int = 1) -> list[ShardGroup]:
    out, remainder = [], 0
    for group, rows in rows_by_group.items():
        for count in rows:
            out.append(ShardGroup(colocation, remainder, group, count, count * 100))
            remainder += 1
    return out


def loads(all_units: list[ShardGroup], moves, groups) -> dict[str, int]:  # type: ignore[no-untyped-def]
    where = {(u.colocation, u.remainder): u.group for u in all_units}
    for move in moves:
        assert where[(move.unit.colocation, move.unit.remainder)] == move.source
        where[(move.unit.colocation, move.unit.remainder)] = move.target
    out = {g: 0 for g in groups}
    for u in all_units:
        out[where[(u.colocation, u.remainder)]] += u.rows
    return out


def test_a_new_empty_group_gets_a_third_of_the_rows() -> None:
    rng = random.Random(7)
    shards = units({"dn1": [rng.randint(150, 250) for _ in range(16)],
                    "dn2": [rng.randint(150, 250) for _ in range(16)]})
    moves = plan_moves(shards, ["dn1", "dn2", "dn3"])
    result = loads(shards, moves, ["dn1", "dn2", "dn3"])
    assert spread(result.values()) <= 0.05, result
    assert sum(m.target != "dn3" for m in moves) <= 2  # at most one exchange between the old groups
    assert len({(m.unit.colocation, m.unit.remainder) for m in moves}) == len(moves)


def test_balanced_groups_move_nothing() -> None:
    shards = units({"dn1": [100] * 8, "dn2": [100] * 8})
    assert plan_moves(shards, ["dn1", "dn2"]) == []


def test_drain_moves_everything_off_and_balances_the_rest() -> None:
    shards = units({"dn1": [100] * 6, "dn2": [100] * 6, "dn3": [100] * 6})
    moves = plan_moves(shards, ["dn1", "dn2", "dn3"], drain=["dn1"])
    result = loads(shards, moves, ["dn1", "dn2", "dn3"])
    assert result["dn1"] == 0 and result["dn2"] == result["dn3"] == 900


def test_empty_tables_spread_by_shard_count() -> None:
    shards = units({"dn1": [0] * 12, "dn2": [0] * 12})
    moves = plan_moves(shards, ["dn1", "dn2", "dn3"])
    assert len(moves) == 8 and {m.target for m in moves} == {"dn3"}


def test_draining_every_group_is_refused() -> None:
    with pytest.raises(PlanError):
        plan_moves(units({"dn1": [1]}), ["dn1"], drain=["dn1"])


def test_spread() -> None:
    assert spread([10, 10]) == 0.0
    assert spread([10, 5]) == 0.5
    assert spread([]) == 0.0


def test_a_swap_evens_out_groups_that_no_single_move_can() -> None:
    shards = units({"dn1": [300, 300, 300], "dn2": [200, 200, 200]})  # gap 300: each shard >= 200
    moves = plan_moves(shards, ["dn1", "dn2"])
    result = loads(shards, moves, ["dn1", "dn2"])
    assert result == {"dn1": 800, "dn2": 700}, result
    assert len(moves) == 2


def test_drain_of_big_uneven_shards_stays_within_a_few_percent() -> None:
    rng = random.Random(3)
    shards = units({g: [rng.randint(1800, 2600) for _ in range(8)] for g in ("dn1", "dn2", "dn3", "dn4")})
    moves = plan_moves(shards, ["dn1", "dn2", "dn3", "dn4"], drain=["dn1"])
    result = loads(shards, moves, ["dn1", "dn2", "dn3", "dn4"])
    assert result["dn1"] == 0
    assert spread([result[g] for g in ("dn2", "dn3", "dn4")]) <= 0.03, result
