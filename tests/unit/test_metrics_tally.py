"""metrics.Tally: statements counted in memory and flushed in bulk give exactly what one
prometheus_client observe per statement gives (it writes a histogram's private parts, so
a prometheus_client upgrade that changes them fails here, not silently in production)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

from gridpg import metrics

VALUES = [0.00005, 0.0001, 0.00012, 0.0004, 0.0009, 0.003, 0.003, 0.02, 0.7, 12.0, 45.0, 0.0]


def _metrics() -> tuple[CollectorRegistry, Counter, Histogram]:
    registry = CollectorRegistry()
    counter = Counter("t_statements", "x", ["strategy"], registry=registry)
    histogram = Histogram("t_seconds", "x", ["strategy"], registry=registry,
                          buckets=metrics._LATENCY_BUCKETS)
    return registry, counter, histogram


def _samples(registry: CollectorRegistry) -> list[str]:
    return sorted(line for line in generate_latest(registry).decode().splitlines()
                  if line and not line.startswith("#") and "_created" not in line)


def test_flushed_tally_equals_one_observe_per_value() -> None:
    direct, counter, histogram = _metrics()
    for value in VALUES:
        counter.labels("router").inc()
        histogram.labels("router").observe(value)
    bulk, bulk_counter, bulk_histogram = _metrics()
    tally = metrics.Tally("router")
    for value in VALUES[:5]:
        tally.observe(value)
    tally.flush(bulk_counter, bulk_histogram)
    for value in VALUES[5:]:
        tally.observe(value)
    tally.flush(bulk_counter, bulk_histogram)
    tally.flush(bulk_counter, bulk_histogram)  # nothing new: adds nothing
    assert _samples(bulk) == _samples(direct)
    assert 't_seconds_bucket{le="+Inf",strategy="router"} 12.0' in _samples(bulk)


def test_counts_flush_equals_one_inc_per_event() -> None:
    direct, counter, _ = _metrics()
    batched, later, _ = _metrics()
    counts = metrics.Counts(later)
    for label in ("one-phase", "two-phase", "one-phase", "failed", "one-phase"):
        counter.labels(label).inc()
        counts.inc(label)
    assert _samples(batched) != _samples(direct)  # nothing before the flush
    counts.flush()
    counts.flush()  # a second flush adds nothing
    assert _samples(batched) == _samples(direct)


def test_a_histogram_tally_without_counter_adds_only_observations() -> None:
    direct, _, histogram = _metrics()
    for value in VALUES:
        histogram.labels("commit").observe(value)
    bulk, _, bulk_histogram = _metrics()
    tally = metrics.Tally("commit", None, bulk_histogram)
    for value in VALUES:
        tally.observe(value)
    tally.flush()
    assert _samples(bulk) == _samples(direct)


def test_strategy_tallies_are_one_per_strategy_and_flushed_together() -> None:
    assert metrics.strategy_tally("router") is metrics.ROUTER
    assert metrics.strategy_tally("pushdown") is metrics.strategy_tally("pushdown")
