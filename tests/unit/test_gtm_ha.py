"""The monitor's GTM pair decisions (cluster/gtm_ha.decide), without processes."""

from __future__ import annotations

from gridpg.cluster.gtm_ha import DETECT_AFTER, GtmView, decide
from gridpg.gtm.replication import StandbyState


def primary(name: str = "gtm", term: int = 1, **extra: object) -> GtmView:
    answer = {"role": "primary", "term": term, "acting": True, "standalone": False,
              "link": "streaming", "silent_s": 0.1, **extra}
    return GtmView(name, answer)


def standby(name: str = "gtm2", term: int = 1, in_sync: bool = True) -> GtmView:
    return GtmView(name, {"role": "standby", "term": term, "in_sync": in_sync})


def gone(name: str, refused: bool = True) -> GtmView:
    return GtmView(name, None, refused=refused)


def test_healthy_pair_needs_nothing() -> None:
    assert decide([primary(), standby()], 0.0, 1, "gtm").kind == "none"


def test_silent_primary_promotes_the_in_sync_standby_after_detection() -> None:
    views = [gone("gtm"), standby()]
    assert decide(views, DETECT_AFTER / 2, 1, "gtm").kind == "none"
    action = decide(views, DETECT_AFTER, 1, "gtm")
    assert (action.kind, action.target, action.term) == ("promote", "gtm2", 1)


def test_a_standby_not_in_sync_is_never_promoted() -> None:
    assert decide([gone("gtm"), standby(in_sync=False)], 60.0, 1, "gtm").kind == "none"


def test_primary_waiting_for_a_dead_standby_is_detached() -> None:
    waiting = primary(acting=False, link="connecting", silent_s=4.0)
    action = decide([waiting, gone("gtm2")], 0.0, 1, "gtm")
    assert (action.kind, action.target, action.term) == ("detach", "gtm", 1)


def test_no_detach_when_the_topology_records_a_later_promotion() -> None:
    """The standby may have been promoted (term 2) and died after handing out values."""
    waiting = primary(acting=False, link="connecting", silent_s=30.0)
    action = decide([waiting, gone("gtm2")], 0.0, 2, "gtm2")
    assert action.kind == "none" and "term 2" in action.reason


def test_no_detach_while_a_hung_standby_may_still_be_promotable() -> None:
    waiting = primary(acting=False, link="connecting", silent_s=3.0)
    assert decide([waiting, gone("gtm2", refused=False)], 0.0, 1, "gtm").kind == "none"
    waiting = primary(acting=False, link="connecting", silent_s=12.0)
    assert decide([waiting, gone("gtm2", refused=False)], 0.0, 1, "gtm").kind == "detach"


def test_agreement_is_recorded_in_the_topology() -> None:
    action = decide([primary("gtm", 1), standby("gtm2", 1)], 0.0, 2, "gtm2")
    assert (action.kind, action.target, action.term) == ("record", "gtm", 1)


def test_promotion_window_of_a_standby() -> None:
    """Promotable only once the primary's lease surely ran out, and before it went stale."""
    import time

    state = StandbyState(in_sync=True, last_contact=time.monotonic())
    assert "may still act" in (state.promotion_refusal() or "")
    state.last_contact = time.monotonic() - 5.0
    assert state.promotion_refusal() is None
    state.last_contact = time.monotonic() - 60.0
    assert "may be behind" in (state.promotion_refusal() or "")
    assert "caught up" in (StandbyState().promotion_refusal() or "")
