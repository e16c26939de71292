"""Which shard groups move where: the pure planning half of `gridpg rebalance` and drain.

A *shard group* is shard r of one colocation: shard r of every table colocated together,
which must always live in the same datanode group (joins on the distribution column stay
node-local), so it moves as one unit. Its cost is the rows it holds (bytes when no table
has rows, else one per shard group, so empty tables spread too).

The plan: first every shard group on a drained group goes to the least loaded remaining
group; then, greedily, a shard group moves from a loaded group to the least loaded one
while that narrows the gap between them, choosing the one that leaves the two closest;
when no single move can (every shard group is bigger than the gap) and the loads are more
than 2% apart, a bigger shard group of the heaviest group is exchanged for a smaller one
of the lightest.
No I/O here: the caller measures and moves (cluster/rebalance.py).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

TOLERANCE = 0.01  # stop once the spread of loads is within 1% of the largest
SWAP_TOLERANCE = 0.02  # exchanges (two moves each) only while the spread is beyond 2%


@dataclass(frozen=True)
class ShardGroup:
    """Shard `remainder` of colocation `colocation`, where it is and what it holds."""

    colocation: int
    remainder: int
    group: str
    rows: int
    bytes: int
    tables: tuple[str, ...] = ()  # schema.table of each member, for display


@dataclass(frozen=True)
class Move:
    unit: ShardGroup
    source: str
    target: str

    @property
    def label(self) -> str:
        return f"colocation {self.unit.colocation} shard {self.unit.remainder}"


class PlanError(Exception):
    """The wanted placement is impossible (e.g. every group drained)."""


def plan_moves(units: Sequence[ShardGroup], groups: Iterable[str], drain: Iterable[str] = ()) -> list[Move]:
    """The moves that empty `drain` and even out the load over the other `groups`."""
    drained = set(drain)
    targets = sorted(g for g in dict.fromkeys(groups) if g not in drained)
    if not targets:
        raise PlanError("no datanode group would be left to hold the shards")
    weigh = _cost_function(units)
    where = {_key(u): u.group for u in units}
    load = {g: 0 for g in targets}
    for unit in units:
        if unit.group in load:
            load[unit.group] += weigh(unit)
    moves: list[Move] = []
    for unit in sorted(units, key=lambda u: (-weigh(u), u.colocation, u.remainder)):
        if unit.group in drained or unit.group not in load:
            target = min(targets, key=lambda g: (load[g], g))
            moves.append(Move(unit, unit.group, target))
            where[_key(unit)] = target
            load[target] += weigh(unit)
    for _ in range(len(units) * 2):
        step = _best_balancing_move(units, where, load, weigh)
        if step is None:
            step = _best_swap(units, where, load, weigh)
        if not step:
            break
        for move in step:
            moves.append(move)
            where[_key(move.unit)] = move.target
            load[move.source] -= weigh(move.unit)
            load[move.target] += weigh(move.unit)
    return _merge(moves)


def spread(loads: Iterable[int]) -> float:
    """(max - min) / max of the loads: 0 is perfectly even."""
    values = list(loads)
    top = max(values, default=0)
    return 0.0 if top <= 0 else (top - min(values)) / top


def _key(unit: ShardGroup) -> tuple[int, int]:
    return (unit.colocation, unit.remainder)


def _cost_function(units: Sequence[ShardGroup]):  # type: ignore[no-untyped-def]
    if any(u.rows > 0 for u in units):
        return lambda u: u.rows
    if any(u.bytes > 0 for u in units):
        return lambda u: u.bytes
    return lambda u: 1


def _best_balancing_move(units: Sequence[ShardGroup], where: dict[tuple[int, int], str],
                         load: dict[str, int], weigh) -> list[Move] | None:  # type: ignore[no-untyped-def]
    if spread(load.values()) <= TOLERANCE:
        return None
    lightest = min(load, key=lambda g: (load[g], g))
    for heavy in sorted(load, key=lambda g: (-load[g], g)):
        gap = load[heavy] - load[lightest]
        if heavy == lightest or gap <= 0:
            continue
        candidates = [u for u in units if where[_key(u)] == heavy and 0 < weigh(u) < gap]
        if candidates:
            best = min(candidates, key=lambda u: (abs(gap - 2 * weigh(u)), u.colocation, u.remainder))
            return [Move(best, heavy, lightest)]
    return None


def _best_swap(units: Sequence[ShardGroup], where: dict[tuple[int, int], str],
               load: dict[str, int], weigh) -> list[Move] | None:  # type: ignore[no-untyped-def]
    """When no single move narrows the gap between the heaviest and the lightest group
    (every shard group is bigger than the gap), exchange a bigger one for a smaller one."""
    if spread(load.values()) <= SWAP_TOLERANCE:
        return None
    heavy = max(load, key=lambda g: (load[g], g))
    light = min(load, key=lambda g: (load[g], g))
    gap = load[heavy] - load[light]
    big = [u for u in units if where[_key(u)] == heavy]
    small = [u for u in units if where[_key(u)] == light]
    best: tuple[int, ShardGroup, ShardGroup] | None = None
    for a in big:
        for b in small:
            delta = weigh(a) - weigh(b)
            if 0 < delta < gap:
                score = abs(gap - 2 * delta)
                if best is None or score < best[0]:
                    best = (score, a, b)
    if best is None:
        return None
    return [Move(best[1], heavy, light), Move(best[2], light, heavy)]


def _merge(moves: list[Move]) -> list[Move]:
    """One move per shard group: from where it is now to where it ends."""
    first: dict[tuple[int, int], Move] = {}
    last: dict[tuple[int, int], str] = {}
    for move in moves:
        first.setdefault(_key(move.unit), move)
        last[_key(move.unit)] = move.target
    out = []
    for key, move in first.items():
        if last[key] != move.unit.group:
            out.append(Move(move.unit, move.unit.group, last[key]))
    return out
