"""The monitor's high-availability loop for datanode groups.

Once a second (`check_groups`) every group's members are probed; `decide` (pure) turns
what was seen into at most one action per group:

  - the primary has not answered for `grace` seconds and a standby runs: fail over to
    the most advanced standby (`failover.failover(force=True)`);
  - the set of running standbys changed: make the primary wait at commit for exactly
    those (`ANY 1 (...)`), or for none when none runs, so a dead standby never stops the
    group's writes (the non-strict synchronous mode of HA managers such as Patroni) and a
    returning one protects commits again.

The monitor holds the cluster's monitor lease in the GTM, so one monitor acts at a time.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from gridpg.cluster.pgserver import is_accepting
from gridpg.cluster.topology import GroupSpec

DEFAULT_GRACE = 5.0  # seconds a primary may fail to answer before it is failed over


@dataclass
class GroupState:
    """What the loop remembers of one group between probes."""

    primary_down_since: float | None = None
    sync_standbys: tuple[str, ...] | None = None  # as last set on the primary; None: unknown


@dataclass(frozen=True)
class Decision:
    kind: str  # nothing | failover | set_sync
    standbys: tuple[str, ...] = ()


@dataclass
class HaLoop:
    """Per-group state and the probes, so `check_groups` can run once a second."""

    grace: float = DEFAULT_GRACE
    states: dict[str, GroupState] = field(default_factory=dict)


def decide(group: GroupSpec, up: dict[str, bool], state: GroupState, now: float, grace: float) -> Decision:
    """One group's next action from who answered (`up`: member name -> answered)."""
    primary = group.primary.name
    running = tuple(sorted(s.name for s in group.standbys if up.get(s.name)))
    if up.get(primary):
        state.primary_down_since = None
        if running != state.sync_standbys:
            return Decision("set_sync", running)
        return Decision("nothing")
    if state.primary_down_since is None:
        state.primary_down_since = now
    if now - state.primary_down_since >= grace and running:
        return Decision("failover")
    return Decision("nothing")


def check_groups(cluster: object, loop: HaLoop, log: Callable[[str], None],
                 probe: Callable[[str, int], bool] | None = None) -> list[str]:
    """Probe every group once and act; returns what was done (for the monitor's log)."""
    from gridpg.cluster.failover import FailoverError, failover, set_synchronous

    answers = probe or (lambda host, port: is_accepting(host, port, timeout=1.0))
    cluster.reload()  # type: ignore[attr-defined]  # roles may have changed (gridpg failover)
    done: list[str] = []
    for group in cluster.topology.groups:  # type: ignore[attr-defined]
        if not group.standbys:
            continue
        state = loop.states.setdefault(group.name, GroupState())
        up = {m.name: answers(m.host, m.port) for m in group.members}
        decision = decide(group, up, state, time.monotonic(), loop.grace)
        try:
            if decision.kind == "failover":
                result = failover(cluster, group.name, force=True, progress=log)
                done.append(f"{group.name}: failed over from {result.old_primary} to {result.new_primary} "
                            f"({result.old_primary} {result.rejoined})")
                loop.states[group.name] = GroupState()
            elif decision.kind == "set_sync":
                set_synchronous(group.primary, list(decision.standbys), cluster.password())  # type: ignore[attr-defined]
                state.sync_standbys = decision.standbys
                done.append(f"{group.name}: commits wait for {', '.join(decision.standbys) or 'no standby'}")
        except (FailoverError, OSError, Exception) as exc:  # noqa: BLE001 - the loop must go on
            done.append(f"{group.name}: {decision.kind} failed: {exc}")
    return done
