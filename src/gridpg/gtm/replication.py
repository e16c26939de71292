"""GTM standby replication: the primary's sender (``Replicator``) and the standby's state
(``StandbyState``), with the timing rules that keep two GTMs from acting at once.

How it works. The primary pushes to its peer over the ordinary GTM protocol:
``repl_hello`` (its term), then a full copy of its committed state
(``repl_snapshot_begin`` / ``_rows`` / ``_end``), then every committed batch of writes in
order (``repl_apply``) and a heartbeat (``repl_ping``) when idle. The group committer
replies to clients only after the standby confirmed the batch (``Replicator.replicate``),
so every GXID block, sequence range and 2PC decision a client holds is on both GTMs.

Fencing, by term and by time (clocks must run at about the same rate, as for the
monitor's lease):

- Each GTM keeps a durable term. A standby refuses every message of a lower term; the
  sender of a refused message steps down (``on_stale_term``). A promoted standby raises
  the term, so its old primary can never again get a batch confirmed.
- *Primacy lease*: a primary with a standby in sync acts only within ``PRIMACY_LEASE`` of
  the send time of its last confirmed message. A standby accepts promotion only when its
  last message from the primary is older than ``PRIMACY_LEASE`` plus a margin (so the old
  primary has stopped acting by its own clock) and younger than ``STALE_AFTER`` (so it
  still holds everything: a primary goes on alone only after ``detach``, which it accepts
  only once its standby has been silent longer than that, or refused connections).
- A standby is *in sync* only while the primary says so (``sync`` in every message: the
  primary waits for it and it holds everything acknowledged before, including what a
  primary acting alone acknowledged while it caught up) and a snapshot or batch of
  the current term reached it in this process's lifetime: a restarted standby, or one
  still catching up with a primary that acts alone, is never promoted.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from gridpg.gtm.client import GtmClient
from gridpg.gtm.protocol import GtmError, GtmUnavailable, Message
from gridpg.gtm.storage import Storage

log = logging.getLogger("gridpg.gtm.replication")

PRIMACY_LEASE = 3.0  # a primary with a standby acts this long after its last confirmed send
PROMOTE_MARGIN = 0.5  # more silence the standby waits for before it accepts promotion
STALE_AFTER = 8.0  # a standby silent longer than this is no longer promotable
HEARTBEAT = 0.5
REPL_TIMEOUT = 2.0
RETRY = 0.2
SNAPSHOT_CHUNK = 500


class LinkState(StrEnum):
    CONNECTING = "connecting"
    CATCHING_UP = "catching-up"
    STREAMING = "streaming"


class StaleTerm(Exception):
    """The peer follows a higher term: this GTM is no longer the primary."""

    def __init__(self, term: int) -> None:
        super().__init__(f"the peer GTM is at term {term}")
        self.term = term


@dataclass
class _Batch:
    lsn: int
    statements: list[Any]


class Replicator:
    """The primary's link to its standby: catch-up, streaming, heartbeats, the lease."""

    def __init__(self, storage: Storage, peer: tuple[str, int], term: int, standalone: bool) -> None:
        self.storage = storage
        self.peer = peer
        self.term = term
        self.standalone = standalone  # acts without confirmations (promoted, or detached)
        self.state = LinkState.CONNECTING
        self.acked_lsn = 0
        self.lease_until = 0.0
        self.last_ack = time.monotonic()
        self.peer_refused = False  # the last connection attempt was refused: no process there
        self.stale_term: int | None = None
        self._catchup_to = 0  # the standby is in sync once it has this position
        self._queue: list[_Batch] = []
        self._changed = asyncio.Event()

    # -- asked by the node ------------------------------------------------------------------

    def may_act(self, now: float) -> bool:
        return self.stale_term is None and (self.standalone or now < self.lease_until)

    def silent_for(self) -> float:
        return time.monotonic() - self.last_ack

    def detach(self) -> None:
        """Go on without the standby: nothing waits for it until it has caught up again."""
        self.standalone = True
        self._signal()

    async def replicate(self, lsn: int, statements: list[Any]) -> None:
        """Hand over a committed batch; return once the standby has it (at once when
        standalone). While the link is down the batch reaches it in the next snapshot."""
        if self.state is not LinkState.CONNECTING:
            self._queue.append(_Batch(lsn, statements))
            self._signal()
        while not (self.standalone or self.acked_lsn >= lsn):
            if self.stale_term is not None:
                raise StaleTerm(self.stale_term)
            await self._wait()

    def describe(self) -> Message:
        return {"peer": f"{self.peer[0]}:{self.peer[1]}", "link": self.state.value,
                "standalone": self.standalone, "acked_lsn": self.acked_lsn,
                "silent_s": round(self.silent_for(), 3)}

    # -- the sender -------------------------------------------------------------------------

    async def run(self) -> None:
        """Keep the standby in step until this GTM learns it was superseded."""
        while self.stale_term is None:
            try:
                await self._connect_and_stream()
            except StaleTerm as exc:
                self.stale_term = exc.term
                self._signal()
                return
            except (GtmUnavailable, GtmError, OSError) as exc:
                self.peer_refused = isinstance(exc, GtmUnavailable) and "ConnectionRefused" in str(exc)
                if self.state is not LinkState.CONNECTING:
                    log.warning("GTM standby link lost: %s", exc)
            self.state = LinkState.CONNECTING
            self._queue.clear()
            await asyncio.sleep(RETRY)

    async def _connect_and_stream(self) -> None:
        client = GtmClient(*self.peer, timeout=1.0, request_timeout=REPL_TIMEOUT)
        try:
            self.state = LinkState.CATCHING_UP  # batches queue from here on
            await self._send(client, "repl_hello", lsn=self.storage.lsn)
            self.peer_refused = False
            await self._send_snapshot(client)
            self.state = LinkState.STREAMING
            log.info("GTM standby %s:%s caught up at position %d", *self.peer, self.acked_lsn)
            await self._stream(client)
        finally:
            await client.close()

    async def _send_snapshot(self, client: GtmClient) -> None:
        sent = time.monotonic()
        lsn, tables = self.storage.dump_state()
        await self._send(client, "repl_snapshot_begin")
        for table, rows in tables.items():
            for start in range(0, len(rows), SNAPSHOT_CHUNK):
                await self._send(client, "repl_snapshot_rows", table=table,
                                 rows=rows[start:start + SNAPSHOT_CHUNK])
        self._attach()
        await self._send(client, "repl_snapshot_end", lsn=lsn, sync=self._is_sync(lsn))
        self._queue = [b for b in self._queue if b.lsn > lsn]
        self._confirmed(lsn, sent)

    async def _stream(self, client: GtmClient) -> None:
        while True:
            self._attach()  # after a detach while the link stayed up
            if not self._queue:
                await self._wait(HEARTBEAT)
            sent = time.monotonic()
            if self._queue:
                batch = self._queue[0]
                await self._send(client, "repl_apply", prev=self.acked_lsn, lsn=batch.lsn,
                                 batch=batch.statements, sync=self._is_sync(batch.lsn))
                self._queue.pop(0)
                self._confirmed(batch.lsn, sent)
            else:
                await self._send(client, "repl_ping", lsn=self.acked_lsn,
                                 sync=self._is_sync(self.acked_lsn))
                self._confirmed(self.acked_lsn, sent)

    def _attach(self) -> None:
        """A standalone primary whose standby is reached again: from now on commits wait
        for it; it is in sync once it holds what was acknowledged alone (still queued)."""
        if self.standalone and self.stale_term is None:
            self.standalone = False
            self._catchup_to = self.storage.lsn
            log.info("GTM standby %s:%s attached: commits wait for it again", *self.peer)

    def _is_sync(self, lsn: int) -> bool:
        """Whether a standby at `lsn` holds everything this primary acknowledged."""
        return not self.standalone and lsn >= self._catchup_to

    async def _send(self, client: GtmClient, op: str, **fields: Any) -> Message:
        answer = await client.call(op, term=self.term, **fields)
        if not answer.get("accepted", False):
            peer_term = int(answer.get("term") or 0)
            if peer_term >= self.term and answer.get("role") == "primary" or peer_term > self.term:
                raise StaleTerm(peer_term)
            raise GtmError("55000", f"GTM standby refused {op}: {answer.get('reason')}")
        return answer

    def _confirmed(self, lsn: int, sent: float) -> None:
        self.acked_lsn = max(self.acked_lsn, lsn)
        self.lease_until = sent + PRIMACY_LEASE
        self.last_ack = time.monotonic()
        self._signal()

    def _signal(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    async def _wait(self, timeout: float | None = None) -> None:
        try:
            async with asyncio.timeout(timeout):  # (wait_for of 3.11 may drop a cancellation)
                await self._changed.wait()
        except TimeoutError:
            pass


@dataclass
class StandbyState:
    """What a standby knows of its primary's stream (in memory: a restart forgets it)."""

    in_sync: bool = False
    last_contact: float = 0.0
    snapshot: dict[str, list[list[Any]]] | None = None
    applied: int = field(default=0)

    def contact_age(self) -> float:
        return float("inf") if self.last_contact == 0.0 else time.monotonic() - self.last_contact

    def promotion_refusal(self) -> str | None:
        """Why this standby must not be promoted now, or None when it may."""
        age = self.contact_age()
        if not self.in_sync:
            return "it has not caught up with the primary since it started"
        if age < PRIMACY_LEASE + PROMOTE_MARGIN:
            return f"the primary confirmed it {age:.1f} s ago and may still act"
        if age > STALE_AFTER:
            return f"it heard nothing from the primary for {age:.1f} s and may be behind"
        return None
