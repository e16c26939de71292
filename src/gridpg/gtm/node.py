"""One GTM process's role: primary or standby, its term, and the dispatch of requests.

A GTM started with ``--peer`` is one of a pair. Its role and term are durable in its own
storage (``storage.LOCAL_META``); the first start takes the role given on the command
line. The primary runs the ``GtmService`` and a ``Replicator`` towards the peer; the
standby applies what the primary sends (``StandbyState``) and answers nothing else but
``gtm_role`` and ``gtm_promote``. See gtm/replication.py for the fencing rules.

- A primary acts (answers service requests) only while ``Replicator.may_act``; when it
  stops acting it closes its client connections (their fence tokens and pauses go with
  them), so coordinators look for the acting GTM among their addresses.
- ``gtm_promote`` (the monitor, or ``gridpg gtm promote``): a standby in sync whose
  primary has been silent long enough becomes primary at term + 1, standalone until its
  peer (the old primary, once back) has caught up as its standby.
- ``gtm_detach``: a primary whose standby is gone goes on alone.
- A primary that meets a higher term (the peer's hello or refusal) becomes a standby.

It must not talk to coordinators or datanodes; its only outgoing link is to its peer.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

from gridpg.gtm.protocol import INVALID_PARAMETER_VALUE, NOT_PRIMARY, GtmError, Message, Request
from gridpg.gtm.replication import STALE_AFTER, Replicator, StaleTerm, StandbyState
from gridpg.gtm.storage import Storage

log = logging.getLogger("gridpg.gtm")

PRIMARY, STANDBY = "primary", "standby"
ALWAYS_OPS = frozenset({"gtm_role", "gtm_promote", "gtm_detach", "stats"})
FENCE_GRACE = 1.0  # a promoted GTM grants the fence only after this: old commit rounds end
WATCH_EVERY = 0.1


class GtmNode:
    """The role-aware front of a GTM process (what ``GtmConnection`` talks to)."""

    def __init__(self, storage: Storage, on_failure: Callable[[BaseException], None],
                 peer: tuple[str, int] | None, initial_role: str) -> None:
        from gridpg.gtm.server import ServiceStats

        self.storage = storage
        self.on_failure = on_failure
        self.peer = peer
        self.stats = ServiceStats()
        self.role = str(storage.load_local("role") or (initial_role if peer else PRIMARY))
        self.term = int(storage.load_local("term") or (1 if self.role == PRIMARY else 0))
        storage.save_local("role", self.role)
        storage.save_local("term", self.term)
        self.standby = StandbyState()
        self.service: Any = None
        self.replicator: Replicator | None = None
        self._watch_task: asyncio.Future[None] | None = None
        self._primary_tasks: list[asyncio.Future[Any]] = []
        self._close_clients: Callable[[int | None], None] = lambda _keep: None
        self._acting = False

    # -- lifecycle --------------------------------------------------------------------------

    def start(self, close_clients: Callable[[int | None], None]) -> None:
        self._close_clients = close_clients
        if self.role == PRIMARY:
            self._become_primary(standalone=self.peer is None, fence_grace=0.0)
        self._watch_task = asyncio.ensure_future(self._watch())

    async def stop(self) -> None:
        tasks = [*self._primary_tasks, *([self._watch_task] if self._watch_task else [])]
        self._stop_primary()
        if self._watch_task is not None:
            self._watch_task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def is_acting(self) -> bool:
        if self.role != PRIMARY or self.service is None:
            return False
        return self.replicator is None or self.replicator.may_act(time.monotonic())

    # -- requests ---------------------------------------------------------------------------

    async def handle(self, conn_id: int, request: Request) -> Message:
        op = request.op
        if op.startswith("repl_"):
            return self._replication(conn_id, op, request.fields)
        if op in ALWAYS_OPS:
            return await getattr(self, "op_" + op)(conn_id, request.fields)
        if not self.is_acting():
            self.stats.requests += 1
            where = "a standby" if self.role == STANDBY else "a primary without its standby's confirmation"
            raise GtmError(NOT_PRIMARY, f"this GTM is {where} (term {self.term}); try the other GTM")
        return await self.service.handle(conn_id, request)

    def forget_connection(self, conn_id: int) -> None:
        if self.service is not None:
            self.service.forget_connection(conn_id)

    async def op_gtm_role(self, conn_id: int, fields: Message) -> Message:
        answer: Message = {"role": self.role, "term": self.term, "acting": self.is_acting(),
                           "lsn": self.storage.lsn}
        if self.role == STANDBY:
            age = self.standby.contact_age()
            answer |= {"in_sync": self.standby.in_sync,
                       "contact_age_s": None if age == float("inf") else round(age, 3),
                       "promotable": self.standby.promotion_refusal() is None}
        elif self.replicator is not None:
            answer |= self.replicator.describe()
        return answer

    async def op_stats(self, conn_id: int, fields: Message) -> Message:
        if self.service is None:
            return {"role": self.role, "term": self.term, "lsn": self.storage.lsn}
        return {**await self.service.op_stats(conn_id, fields), "role": self.role, "term": self.term}

    async def op_gtm_promote(self, conn_id: int, fields: Message) -> Message:
        """Become primary at ``term`` + 1, if this is the in-sync standby of ``term``."""
        expected = _int(fields, "term")
        if self.role == PRIMARY and self.term == expected + 1:
            return {"promoted": True, "term": self.term}  # a second monitor asked again
        if self.role != STANDBY or self.term != expected:
            return {"promoted": False, "term": self.term,
                    "reason": f"this GTM is the {self.role} of term {self.term}"}
        refusal = self.standby.promotion_refusal()
        if refusal is not None and not fields.get("force"):
            return {"promoted": False, "term": self.term, "reason": refusal}
        self.term += 1
        self.storage.save_local("term", self.term)
        self.storage.save_local("role", PRIMARY)
        self.role = PRIMARY
        self._become_primary(standalone=True, fence_grace=FENCE_GRACE)
        log.warning("GTM promoted to primary at term %d (position %d)", self.term, self.storage.lsn)
        return {"promoted": True, "term": self.term}

    async def op_gtm_detach(self, conn_id: int, fields: Message) -> Message:
        """Go on without the standby (the monitor checked it was not promoted)."""
        if self.role != PRIMARY or self.term != _int(fields, "term") or self.replicator is None:
            return {"detached": False, "reason": f"this GTM is the {self.role} of term {self.term}"}
        rep = self.replicator
        if rep.standalone:
            return {"detached": True}
        if not (rep.peer_refused or rep.silent_for() > STALE_AFTER + 1.0 or fields.get("force")):
            return {"detached": False,
                    "reason": f"the standby confirmed {rep.silent_for():.1f} s ago and may be promotable"}
        rep.detach()
        log.warning("GTM standby detached: the primary goes on alone (term %d)", self.term)
        return {"detached": True}

    # -- the standby's side of replication ---------------------------------------------------

    def _replication(self, conn_id: int, op: str, fields: Message) -> Message:
        term = _int(fields, "term")
        if term < self.term or (term == self.term and self.role == PRIMARY):
            return {"accepted": False, "term": self.term, "role": self.role,
                    "reason": f"this GTM is at term {self.term}"}
        if op == "repl_hello":
            self._follow(term, keep=conn_id)
        elif term != self.term or self.role != STANDBY:
            return {"accepted": False, "term": self.term, "role": self.role, "reason": "hello first"}
        state = self.standby
        if op == "repl_snapshot_begin":
            state.snapshot, state.in_sync = {}, False
        elif op == "repl_snapshot_rows":
            if state.snapshot is None:
                return {"accepted": False, "term": self.term, "reason": "no snapshot begun"}
            state.snapshot.setdefault(str(fields.get("table")), []).extend(fields.get("rows") or [])
        elif op == "repl_snapshot_end":
            self.storage.load_state(_int(fields, "lsn"), state.snapshot or {})
            state.snapshot, state.in_sync = None, fields.get("sync") is True
        elif op == "repl_apply":
            if _int(fields, "prev") != self.storage.lsn:
                state.in_sync = False
                return {"accepted": False, "term": self.term, "reason": "position gap"}
            self.storage.apply_batch(_int(fields, "lsn"), list(fields.get("batch") or []))
            state.in_sync = fields.get("sync") is True
        elif op == "repl_ping":
            state.in_sync = fields.get("sync") is True and _int(fields, "lsn") == self.storage.lsn
        state.last_contact = time.monotonic()
        return {"accepted": True, "term": self.term, "lsn": self.storage.lsn}

    def _follow(self, term: int, keep: int | None = None) -> None:
        """A primary of `term` speaks: follow it (stepping down if this GTM was primary);
        every client connection but `keep` (the new primary's own) is closed."""
        if self.role == PRIMARY:
            log.warning("a GTM of term %d is primary: stepping down from term %d", term, self.term)
            self._stop_primary()
            self._close_clients(keep)
        if term != self.term or self.role != STANDBY:
            self.term, self.role = term, STANDBY
            self.storage.save_local("term", term)
            self.storage.save_local("role", STANDBY)
        self.standby = StandbyState()

    # -- the primary ------------------------------------------------------------------------

    def _become_primary(self, standalone: bool, fence_grace: float) -> None:
        from gridpg.gtm.server import GtmService

        self.service = GtmService(self.storage, self.on_failure)
        self.service.stats = self.stats
        self.service.fence_open_at = time.monotonic() + fence_grace
        self._primary_tasks.append(asyncio.ensure_future(self.service.committer.run()))
        if self.peer is not None:
            self.replicator = Replicator(self.storage, self.peer, self.term, standalone)
            self.service.committer.replicate = self._replicate
            self._primary_tasks.append(asyncio.ensure_future(self.replicator.run()))
        self._acting = self.is_acting()

    async def _replicate(self, lsn: int, batch: list[Any]) -> None:
        assert self.replicator is not None
        try:
            await self.replicator.replicate(lsn, batch)
        except StaleTerm as exc:
            self._step_down(exc.term)
            raise asyncio.CancelledError from None  # never confirm; the committer ends

    def _stop_primary(self) -> None:
        if self.service is None:
            return
        current = asyncio.current_task()
        for task in self._primary_tasks:
            if task is not current:
                task.cancel()
        self._primary_tasks = []
        self.service, self.replicator = None, None

    def _step_down(self, term: int) -> None:
        if self.role != PRIMARY:
            return
        log.warning("the peer GTM is at term %d: stepping down from term %d", term, self.term)
        self._follow(term)

    async def _watch(self) -> None:
        """Close client connections when this primary stops acting; step down when the
        replicator met a higher term."""
        while True:
            await asyncio.sleep(WATCH_EVERY)
            rep = self.replicator
            if rep is not None and rep.stale_term is not None:
                self._step_down(rep.stale_term)
            acting = self.is_acting()
            if self._acting and not acting:
                log.warning("GTM stops acting: its standby has not confirmed for %.1f s",
                            rep.silent_for() if rep is not None else 0.0)
                self._close_clients(None)
            elif acting and not self._acting:
                log.info("GTM acts as primary (term %d)", self.term)
            self._acting = acting


def _int(fields: Message, key: str) -> int:
    value = fields.get(key)
    if not isinstance(value, int) or isinstance(value, bool):
        raise GtmError(INVALID_PARAMETER_VALUE, f"field {key!r} must be an integer")
    return value

