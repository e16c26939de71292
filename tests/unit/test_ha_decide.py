"""The monitor's HA decisions (cluster/ha.decide): pure, no server."""

from __future__ import annotations

from gridpg.cluster.ha import GroupState, decide
from gridpg.cluster.topology import GroupSpec, ServerSpec


def group() -> GroupSpec:
    return GroupSpec("dn1", [ServerSpec("dn1", "h", 1, "dn1"),
                             ServerSpec("dn1s1", "h", 2, "dn1s1", role="secondary"),
                             ServerSpec("dn1s2", "h", 3, "dn1s2", role="secondary")])


def test_healthy_group_sets_its_synchronous_standbys_once() -> None:
    state = GroupState()
    up = {"dn1": True, "dn1s1": True, "dn1s2": True}
    first = decide(group(), up, state, 0.0, 5.0)
    assert (first.kind, first.standbys) == ("set_sync", ("dn1s1", "dn1s2"))
    state.sync_standbys = first.standbys
    assert decide(group(), up, state, 1.0, 5.0).kind == "nothing"


def test_a_dead_standby_is_dropped_from_the_commit_wait_and_comes_back() -> None:
    state = GroupState(sync_standbys=("dn1s1", "dn1s2"))
    dead = decide(group(), {"dn1": True, "dn1s1": False, "dn1s2": False}, state, 0.0, 5.0)
    assert (dead.kind, dead.standbys) == ("set_sync", ())
    state.sync_standbys = ()
    back = decide(group(), {"dn1": True, "dn1s1": True, "dn1s2": False}, state, 1.0, 5.0)
    assert (back.kind, back.standbys) == ("set_sync", ("dn1s1",))


def test_failover_only_after_the_grace_period_and_with_a_running_standby() -> None:
    state = GroupState(sync_standbys=("dn1s1",))
    down = {"dn1": False, "dn1s1": True, "dn1s2": False}
    assert decide(group(), down, state, 10.0, 5.0).kind == "nothing"
    assert decide(group(), down, state, 14.9, 5.0).kind == "nothing"
    assert decide(group(), down, state, 15.0, 5.0).kind == "failover"
    alone = GroupState()
    nobody = {"dn1": False, "dn1s1": False, "dn1s2": False}
    assert decide(group(), nobody, alone, 0.0, 5.0).kind == "nothing"
    assert decide(group(), nobody, alone, 100.0, 5.0).kind == "nothing"


def test_a_primary_that_answers_again_resets_the_clock() -> None:
    state = GroupState(sync_standbys=("dn1s1", "dn1s2"))
    everyone = {"dn1": True, "dn1s1": True, "dn1s2": True}
    decide(group(), {**everyone, "dn1": False}, state, 0.0, 5.0)
    decide(group(), everyone, state, 3.0, 5.0)
    assert decide(group(), {**everyone, "dn1": False}, state, 6.0, 5.0).kind == "nothing"
