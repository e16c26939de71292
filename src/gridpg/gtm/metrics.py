"""Prometheus metrics of a GTM process, read from its live state at each scrape.

The GTM counts its requests by operation already (`ServiceStats`); a collector turns
that, its role and term, its connections and its snapshot/commit fence queue into
metric families when Prometheus asks, so the hot path does no extra work. Served on
the GTM's `metrics_port` (topology), shown by `gridpg status`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily


class GtmCollector:
    """Metric families of one GTM node (gtm/node.py), read when scraped."""

    def __init__(self, node: Any) -> None:
        self.node = node

    def collect(self) -> Iterator[Any]:
        stats = self.node.stats
        requests = CounterMetricFamily("gridpg_gtm_requests", "GTM requests served, by operation", labels=["op"])
        for op, count in sorted(dict(stats.by_op).items()):
            requests.add_metric([op], count)
        yield requests
        yield CounterMetricFamily("gridpg_gtm_errors", "GTM requests that failed", value=stats.errors)
        yield GaugeMetricFamily("gridpg_gtm_connections", "Open client connections", value=stats.connections)
        yield GaugeMetricFamily("gridpg_gtm_primary", "1 while this GTM acts as the primary",
                                value=1 if getattr(self.node, "role", "primary") == "primary" else 0)
        yield GaugeMetricFamily("gridpg_gtm_term", "The GTM pair's term this GTM knows",
                                value=int(getattr(self.node, "term", 0) or 0))
        waiting = self._fence_waiting()
        fence = GaugeMetricFamily("gridpg_gtm_fence_waiting", "Requests waiting for the fence, by kind",
                                  labels=["kind"])
        for kind in ("snapshot", "commit"):
            fence.add_metric([kind], waiting.get(kind, 0))
        yield fence

    def _fence_waiting(self) -> dict[str, int]:
        service = getattr(self.node, "service", None)
        fence = getattr(service, "fence", None)
        if fence is None:
            return {}
        from gridpg.gtm.server import FenceMode

        try:
            return {mode.value: int(fence.waiting(mode)) for mode in FenceMode}
        except Exception:  # noqa: BLE001 - a scrape must not disturb the GTM
            return {}


def serve(node: Any, host: str, port: int) -> None:
    """Serve the node's metrics on host:port (a thread of the GTM process)."""
    registry = CollectorRegistry()
    registry.register(GtmCollector(node))
    start_http_server(port, addr=host, registry=registry)
