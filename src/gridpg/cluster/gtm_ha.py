"""GTM pair failover, run by every monitor (`gridpg up --gtm-standby`).

The monitor's lease lives in the GTM, so it cannot gate the GTM's own failover: this loop
runs in every monitor, leader or not, and is safe when two run at once, because every
action is conditional on a term the GTMs check themselves (gtm/node.py):

- **promote**: the primary has not answered for ``DETECT_AFTER`` seconds and the standby
  is in sync: the topology records the standby as primary at term + 1 (written *before*
  the promotion, under the failover lock), then ``gtm_promote(term)``. The standby itself
  refuses while the old primary may still act (its primacy lease) or when it is stale.
- **detach**: the primary waits for a standby that is gone (connection refused, or
  silent past ``STALE_AFTER``): ``gtm_detach(term)``, but only when the topology shows no
  promotion beyond the primary's term (a standby promoted and then lost may have handed
  out values the old primary never saw: then nothing happens and the cluster waits).
- **record**: both GTMs answer and agree on the term: the topology is rewritten to match
  (a promotion written ahead but refused, or a manual one).

`decide` is pure (tests/unit/test_gtm_ha.py); `watch_gtm_pair` does the I/O.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from gridpg.gtm.protocol import GtmError, GtmUnavailable

if TYPE_CHECKING:
    from gridpg.cluster.control import Cluster

log = logging.getLogger("gridpg.monitor.gtm")

DETECT_AFTER = 1.5  # seconds the primary must stay silent before promotion is asked
PROBE_EVERY = 0.5
PROBE_TIMEOUT = 1.0


@dataclass(frozen=True)
class GtmView:
    """One GTM as a probe saw it: its `gtm_role` answer, or why there was none."""

    name: str
    answer: dict[str, Any] | None
    refused: bool = False  # nothing listens: the process is gone

    @property
    def role(self) -> str | None:
        return None if self.answer is None else str(self.answer.get("role"))

    @property
    def term(self) -> int:
        return 0 if self.answer is None else int(self.answer.get("term") or 0)


@dataclass(frozen=True)
class Action:
    kind: str  # none | promote | detach | record
    target: str = ""
    term: int = 0
    reason: str = ""


def decide(views: list[GtmView], primary_silent_for: float, topology_term: int,
           topology_primary: str) -> Action:
    """What to do about the pair now (pure)."""
    primaries = [v for v in views if v.role == "primary"]
    standbys = [v for v in views if v.role == "standby"]
    if primaries:
        primary = max(primaries, key=lambda v: v.term)
        others = [v for v in views if v is not primary]
        return _about_primary(primary, others, topology_term, topology_primary)
    in_sync = [v for v in standbys if v.answer and v.answer.get("in_sync")]
    if in_sync and primary_silent_for >= DETECT_AFTER:
        standby = in_sync[0]
        return Action("promote", standby.name, standby.term, "the primary GTM does not answer")
    return Action("none")


def _about_primary(primary: GtmView, others: list[GtmView], topology_term: int,
                   topology_primary: str) -> Action:
    answer = primary.answer or {}
    peer = others[0] if others else None
    if (peer is not None and peer.role == "standby" and peer.term == primary.term
            and (topology_term, topology_primary) != (primary.term, primary.name)):
        return Action("record", primary.name, primary.term, "both GTMs agree")
    if answer.get("standalone") or answer.get("link") == "streaming":
        return Action("none")  # alone already, or its standby confirms
    peer_gone = peer is None or peer.refused or (peer.answer is None
                                                 and float(answer.get("silent_s") or 0) > 9.0)
    if not peer_gone:
        return Action("none")
    if topology_term > primary.term or (topology_term == primary.term
                                        and topology_primary != primary.name):
        return Action("none", primary.name, primary.term,
                      f"the topology records term {topology_term} for {topology_primary}: "
                      "a promoted GTM may have handed out values; not going on alone")
    return Action("detach", primary.name, primary.term, "the standby GTM is gone")


# -- I/O -----------------------------------------------------------------------------------


async def probe(name: str, host: str, port: int) -> GtmView:
    """`gtm_role` of one GTM, bounded by PROBE_TIMEOUT."""
    from gridpg.gtm.client import gtm_call_sync

    try:
        answer = await asyncio.wait_for(
            asyncio.to_thread(gtm_call_sync, host, port, "gtm_role", PROBE_TIMEOUT), PROBE_TIMEOUT + 0.5)
        return GtmView(name, answer)
    except (GtmUnavailable, GtmError, TimeoutError, OSError) as exc:
        return GtmView(name, None, refused="ConnectionRefused" in str(exc))


async def watch_gtm_pair(cluster: Cluster) -> None:
    """Probe both GTMs every PROBE_EVERY seconds and act on `decide`."""
    silent_since: float | None = None
    last_reason = ""
    while True:
        await asyncio.sleep(PROBE_EVERY)
        try:
            cluster.reload()
            topo = cluster.topology
            views = list(await asyncio.gather(*(probe(g.name, g.host, g.port)
                                                 for g in topo.gtm_members())))
            if any(v.role == "primary" and v.answer and v.answer.get("acting") for v in views):
                silent_since = None
            elif silent_since is None:
                silent_since = time.monotonic()
            silent = 0.0 if silent_since is None else time.monotonic() - silent_since
            action = decide(views, silent, topo.gtm_term, topo.gtm_primary)
            if action.reason and action.reason != last_reason and action.kind == "none":
                log.warning("GTM pair: %s", action.reason)
            last_reason = action.reason
            await _act(cluster, action)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - the watch must survive anything
            log.warning("GTM pair watch failed: %s", exc)


async def _act(cluster: Cluster, action: Action) -> None:
    from gridpg.gtm.client import gtm_call_sync

    if action.kind == "none":
        return
    spec = next(g for g in cluster.topology.gtm_members() if g.name == action.target)
    if action.kind == "record":
        await asyncio.to_thread(record_primary, cluster, action.target, action.term)
    elif action.kind == "promote":
        answer = await asyncio.to_thread(promote, cluster, action.target, action.term)
        if answer.get("promoted"):
            log.warning("GTM %s promoted to primary (term %s): %s", spec.name, answer.get("term"),
                        action.reason)
        else:
            log.info("GTM %s not promoted yet: %s", spec.name, answer.get("reason"))
    elif action.kind == "detach":
        answer = await asyncio.to_thread(gtm_call_sync, spec.host, spec.port, "gtm_detach",
                                         2.0, term=action.term)
        if answer.get("detached"):
            log.warning("GTM %s goes on without its standby: %s", spec.name, action.reason)


def promote(cluster: Cluster, name: str, term: int, force: bool = False) -> dict[str, Any]:
    """Record `name` as primary at term + 1, then ask it to promote itself, under the
    failover lock (so `record_primary` never sees the intent without its outcome)."""
    from gridpg.cluster.failover import _exclusive
    from gridpg.cluster.topology import save
    from gridpg.gtm.client import gtm_call_sync

    with _exclusive(cluster.run_dir / "failover.lock"):
        cluster.reload()
        topo = cluster.topology
        spec = next(g for g in topo.gtm_members() if g.name == name)
        if term + 1 > topo.gtm_term or (term + 1 == topo.gtm_term and topo.gtm_primary != name):
            topo.gtm_term, topo.gtm_primary = term + 1, name
            save(topo, cluster.topology_path)
        return gtm_call_sync(spec.host, spec.port, "gtm_promote", 2.0, term=term, force=force)


def record_primary(cluster: Cluster, name: str, term: int) -> None:
    """Write what both GTMs agree on (primary `name` at `term`) into the topology, after
    checking again, under the failover lock, that the other one is its standby at `term`
    (then no promotion beyond `term` happened, even if one was written ahead)."""
    from gridpg.cluster.failover import _exclusive
    from gridpg.cluster.topology import save
    from gridpg.gtm.client import gtm_call_sync

    with _exclusive(cluster.run_dir / "failover.lock"):
        cluster.reload()
        topo = cluster.topology
        if (term, name) == (topo.gtm_term, topo.gtm_primary):
            return
        other = next((g for g in topo.gtm_members() if g.name != name), None)
        if other is None:
            return
        try:
            answer = gtm_call_sync(other.host, other.port, "gtm_role", PROBE_TIMEOUT)
        except (GtmUnavailable, GtmError):
            return
        if answer.get("role") != "standby" or int(answer.get("term") or 0) != term:
            return
        topo.gtm_term, topo.gtm_primary = term, name
        save(topo, cluster.topology_path)
