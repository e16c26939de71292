"""The read-only coordinator's standby lag measure (frontend/standby_watch.py), no server."""

from __future__ import annotations

import math

from gridpg.frontend.standby_watch import LagTracker, parse_lsn


def test_parse_lsn() -> None:
    assert parse_lsn("0/0") == 0
    assert parse_lsn("1/A") == (1 << 32) + 10
    assert parse_lsn("16/B374D848") > parse_lsn("16/B374D847")


def test_an_idle_group_has_no_lag() -> None:
    tracker = LagTracker(window=10)
    for second in range(30):  # the primary writes nothing for 30 s
        tracker.observe_primary(float(second), 500)
    assert tracker.lag(30.0, 500) == 0.0


def test_lag_is_the_age_of_the_oldest_position_not_replayed() -> None:
    tracker = LagTracker(window=10)
    tracker.observe_primary(0.0, 100)
    tracker.observe_primary(1.0, 200)
    tracker.observe_primary(2.0, 300)
    assert tracker.lag(2.5, 300) == 0.0
    assert tracker.lag(2.5, 250) == 0.5  # has not replayed what the primary had at t=2
    assert tracker.lag(2.5, 150) == 1.5
    assert tracker.lag(2.5, 50) == 2.5


def test_a_standby_behind_the_whole_window_lags_at_least_the_window() -> None:
    tracker = LagTracker(window=4)
    for second in range(20):
        tracker.observe_primary(float(second), 1000 + second)
    assert tracker.lag(19.0, 10) >= 4  # older samples are dropped; still beyond any bound


def test_a_standby_that_cannot_be_asked_lags_without_bound() -> None:
    assert math.isinf(LagTracker(window=10).lag(0.0, None))
