"""GTM state that coordinates the cluster's own processes: leases, pause, deadlock victims,
in-doubt resolution and barriers (DESIGN sections 1, 6).

- **Leases** (``lease_acquire``): a named lock with an expiry, held by one holder at a time;
  the monitor's leadership. Expiries live in memory; the holder is written durably when
  it changes or releases the lease. After a GTM start, a lease whose last holder never
  released it is granted to nobody for ``LEASE_MAX_TTL_S`` seconds, so a holder granted it
  by the previous incarnation has seen it expire first. Every change of holder raises the
  ``term``.
- **Pause** (``pause`` / ``unpause`` / ``pause_watch`` / ``pause_ack``): PAUSE CLUSTER.
  Coordinator workers watch the pause state (a bounded long poll), stop starting new
  transactions when it is paused and acknowledge once their running ones are done;
  ``pause`` returns ``drained`` when every watcher acknowledged. The pause belongs to the
  GTM connection that asked; it ends with ``unpause`` or when that connection drops.
- **Deadlock victims**: the monitor records the transaction it cancels (with the cycle);
  the victim's coordinator asks when it sees the cancel, to report 40P01 instead of 57014.
- **In-doubt resolution** (``txn_resolve``): the decision for a prepared transaction found
  by recovery: committed if the commit was logged, else an abort is recorded durably
  (a tombstone) so that a late ``txn_log_commit`` of the same GID is refused.
- **Barriers**: CREATE BARRIER's record (name, time, restore points per node, and the
  detail a restore needs: each node's WAL file of the point, the 2PC decisions then).
- **Activity** (``activity_collect``): a coordinator asks every watching coordinator worker
  for its client sessions (gridpg_stat_activity); the request rides on the workers'
  ``pause_watch`` long poll, each answers with ``activity_report``.

The pure state (``LeaseTable``, ``PauseState``) has no I/O; ``CoordinationOps`` is the
part of the GTM service that answers these operations.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from gridpg.gtm.protocol import INVALID_PARAMETER_VALUE, GtmError, Message

if TYPE_CHECKING:
    from gridpg.gtm.server import GroupCommitter
    from gridpg.gtm.storage import Storage

LEASE_MAX_TTL_S = 5.0
VICTIM_KEEP_S = 600.0
TOMBSTONE_KEEP_US = 24 * 3600 * 1_000_000
MAX_WAIT_MS = 20_000
OBJECT_NOT_IN_PREREQUISITE_STATE = "55000"
TRANSACTION_ROLLBACK = "40000"
DUPLICATE_OBJECT = "42710"


# ---------------------------------------------------------------------------------------
# Leases (pure)
# ---------------------------------------------------------------------------------------


@dataclass(slots=True)
class Lease:
    holder: str
    expires: float
    term: int


class LeaseTable:
    """Named leases over a monotonic clock given by the caller; no waiting, no I/O."""

    def __init__(self, started: float, unreleased: set[str] | None = None) -> None:
        self._started = started
        self._unreleased = set(unreleased or ())  # may still be held from before the start
        self._leases: dict[str, Lease] = {}
        self._terms: dict[str, int] = {}

    def acquire(self, name: str, holder: str, ttl: float, now: float) -> tuple[bool, Lease | None]:
        """Grant or renew ``name`` for ``holder`` until ``now + ttl``; (granted, lease)."""
        ttl = min(max(ttl, 0.1), LEASE_MAX_TTL_S)
        lease = self._leases.get(name)
        if lease is not None and lease.expires > now and lease.holder != holder:
            return False, lease
        if lease is None and name in self._unreleased and now - self._started < LEASE_MAX_TTL_S:
            return False, None  # a lease of the previous GTM may still be running
        if lease is None or lease.holder != holder or lease.expires <= now:
            term = self._terms.get(name, 0) + 1
            self._terms[name] = term
            lease = Lease(holder, now + ttl, term)
        else:
            lease.expires = now + ttl
        self._leases[name] = lease
        return True, lease

    def release(self, name: str, holder: str) -> bool:
        lease = self._leases.get(name)
        if lease is None or lease.holder != holder:
            return False
        lease.expires = 0.0
        return True

    def get(self, name: str, now: float) -> Lease | None:
        lease = self._leases.get(name)
        return lease if lease is not None and lease.expires > now else None


# ---------------------------------------------------------------------------------------
# Pause (pure)
# ---------------------------------------------------------------------------------------


@dataclass(slots=True)
class PauseState:
    """Who paused the cluster, which watchers there are and what each acknowledged."""

    version: int = 0
    holder: int | None = None
    watchers: set[int] = field(default_factory=set)
    acks: dict[int, int] = field(default_factory=dict)
    # A *shard hold* (an online move's switch) instead of a pause: only statements that
    # touch these shards wait; plain JSON-able data the GTM passes on unread.
    scope: Any = None

    @property
    def paused(self) -> bool:
        return self.holder is not None

    def pause(self, conn: int, scope: Any = None) -> bool:
        """Start a pause (a shard hold when ``scope`` is given) for ``conn``; False if
        someone else holds one, or ``conn`` holds one of another scope. Idempotent."""
        if self.holder is not None:
            return self.holder == conn and self.scope == scope
        self.holder = conn
        self.scope = scope
        self.version += 1
        return True

    def unpause(self) -> bool:
        if self.holder is None:
            return False
        self.holder = None
        self.scope = None
        self.version += 1
        return True

    def ack(self, conn: int, version: int) -> None:
        self.watchers.add(conn)
        self.acks[conn] = version

    def is_drained(self) -> bool:
        """Every watcher acknowledged the current pause."""
        return self.paused and all(self.acks.get(w) == self.version for w in self.watchers)

    def forget(self, conn: int) -> bool:
        """A connection dropped; True if that ended the pause."""
        self.watchers.discard(conn)
        self.acks.pop(conn, None)
        if self.holder == conn:
            return self.unpause()
        return False


# ---------------------------------------------------------------------------------------
# The operations
# ---------------------------------------------------------------------------------------


class CoordinationOps:
    """Mixed into the GTM service: the ``op_`` handlers of this module's state."""

    storage: Storage
    committer: GroupCommitter
    _decisions: dict[str, Any]

    _activity: dict[int, ActivityRequest]

    def init_coordination(self) -> None:
        self.leases = LeaseTable(time.monotonic(), self.storage.load_unreleased_leases())
        self.pause_state = PauseState()
        self._pause_changed = asyncio.Event()
        self._victims: dict[str, tuple[str, float]] = {}
        self._tombstones: dict[str, int] = self.storage.load_tombstones()
        self._last_purge = 0.0
        self._activity = {}
        self._activity_ids = 0

    def forget_coordination(self, conn_id: int) -> None:
        if self.pause_state.forget(conn_id):
            self._signal_pause()
        else:
            self._pause_changed.set()  # a watcher fewer: a pause may be drained now
            self._pause_changed = asyncio.Event()

    # -- leases -----------------------------------------------------------------------------

    async def op_lease_acquire(self, conn_id: int, fields: Message) -> Message:
        name, holder = _text(fields, "name"), _text(fields, "holder")
        ttl = _number(fields, "ttl_ms", 3000) / 1000.0
        before = self.leases.get(name, time.monotonic())
        granted, lease = self.leases.acquire(name, holder, ttl, time.monotonic())
        if granted and (before is None or before.holder != holder):
            self.storage.save_lease(name, holder, released=False)  # before the holder acts
            await self.committer.sync()
        return _lease_answer(granted, lease)

    async def op_lease_release(self, conn_id: int, fields: Message) -> Message:
        name, holder = _text(fields, "name"), _text(fields, "holder")
        released = self.leases.release(name, holder)
        if released:
            self.storage.save_lease(name, holder, released=True)
            await self.committer.sync()
        return {"released": released}

    async def op_lease_get(self, conn_id: int, fields: Message) -> Message:
        return _lease_answer(False, self.leases.get(_text(fields, "name"), time.monotonic()))

    # -- deadlock victims -------------------------------------------------------------------

    async def op_deadlock_victim_add(self, conn_id: int, fields: Message) -> Message:
        key, detail = _text(fields, "txn"), _text(fields, "detail")
        now = time.monotonic()
        self._victims = {k: v for k, v in self._victims.items() if v[1] > now}
        self._victims[key] = (detail, now + VICTIM_KEEP_S)
        return {}

    async def op_deadlock_victim_get(self, conn_id: int, fields: Message) -> Message:
        entry = self._victims.get(_text(fields, "txn"))
        if entry is None or entry[1] <= time.monotonic():
            return {"detail": None}
        return {"detail": entry[0]}

    # -- in-doubt resolution ----------------------------------------------------------------

    async def op_txn_resolve(self, conn_id: int, fields: Message) -> Message:
        """Committed if the decision was logged; else record the abort for good."""
        gid = _text(fields, "gid")
        if gid in self._decisions:
            await self.committer.sync()
            return {"committed": True}
        if gid not in self._tombstones:
            now = time.time_ns() // 1000
            self._tombstones[gid] = now
            self.storage.save_tombstone(gid, now)
            self._purge_tombstones(now)
        await self.committer.sync()
        return {"committed": False}

    def ensure_not_aborted(self, gid: str) -> None:
        """``txn_log_commit`` of a transaction recovery already rolled back is refused."""
        if gid in self._tombstones:
            raise GtmError(TRANSACTION_ROLLBACK,
                           f"transaction {gid} was rolled back by in-doubt recovery")

    def _purge_tombstones(self, now_us: int) -> None:
        if time.monotonic() - self._last_purge < 60:
            return
        self._last_purge = time.monotonic()
        for gid in [g for g, ts in self._tombstones.items() if now_us - ts > TOMBSTONE_KEEP_US]:
            del self._tombstones[gid]
            self.storage.delete_tombstone(gid)

    # -- pause ------------------------------------------------------------------------------

    async def op_pause(self, conn_id: int, fields: Message) -> Message:
        """Pause (or keep pausing) for this connection; wait up to wait_ms for the drain."""
        if not self.pause_state.pause(conn_id, fields.get("scope")):
            raise GtmError(OBJECT_NOT_IN_PREREQUISITE_STATE, "the cluster is already paused "
                           "(or shards are held for a move)")
        self._signal_pause()
        deadline = time.monotonic() + wait_seconds(fields)
        while not self.pause_state.is_drained() and self.pause_state.holder == conn_id:
            if not await self._wait_change(deadline):
                break
        return self._pause_answer()

    async def op_unpause(self, conn_id: int, fields: Message) -> Message:
        holder = self.pause_state.holder
        if holder is None:
            raise GtmError(OBJECT_NOT_IN_PREREQUISITE_STATE, "the cluster is not paused")
        if holder != conn_id and not fields.get("force"):
            raise GtmError(OBJECT_NOT_IN_PREREQUISITE_STATE,
                           "the cluster was paused by another session")
        self.pause_state.unpause()
        self._signal_pause()
        return self._pause_answer()

    async def op_pause_watch(self, conn_id: int, fields: Message) -> Message:
        """Register as a watcher; answer when the version differs from ``version`` or an
        activity request waits for this watcher (bounded)."""
        self.pause_state.watchers.add(conn_id)
        known = fields.get("version")
        deadline = time.monotonic() + wait_seconds(fields)
        while known == self.pause_state.version and not self._requests_for(conn_id):
            if not await self._wait_change(deadline):
                break
        requests = self._requests_for(conn_id)
        signals = {str(rid): self._activity[rid].signals for rid in requests if self._activity[rid].signals}
        answer = {**self._pause_answer(), "activity_requests": requests}
        if signals:
            answer["activity_signals"] = signals
        return answer

    # -- activity ---------------------------------------------------------------------------

    async def op_activity_collect(self, conn_id: int, fields: Message) -> Message:
        """Every watcher's report, gathered within wait_ms (the missing ones are named)."""
        self._activity_ids += 1
        rid = self._activity_ids
        signals = fields.get("signals")
        request = ActivityRequest(set(self.pause_state.watchers),
                                  signals=signals if isinstance(signals, list) else [])
        self._activity[rid] = request
        self._signal_pause()
        deadline = time.monotonic() + wait_seconds(fields)
        try:
            while request.waiting & self.pause_state.watchers:
                if not await self._wait_change(deadline):
                    break
        finally:
            del self._activity[rid]
        return {"rows": request.rows, "missing": len(request.waiting & self.pause_state.watchers)}

    async def op_activity_report(self, conn_id: int, fields: Message) -> Message:
        request = self._activity.get(int(_number(fields, "request", -1)))
        rows = fields.get("rows")
        if request is not None and conn_id in request.waiting and isinstance(rows, list):
            request.rows.extend(rows)
            request.waiting.discard(conn_id)
            self._signal_pause()
        return {}

    def _requests_for(self, conn_id: int) -> list[int]:
        return [rid for rid, req in self._activity.items() if conn_id in req.waiting]

    async def op_pause_ack(self, conn_id: int, fields: Message) -> Message:
        self.pause_state.ack(conn_id, int(_number(fields, "version", -1)))
        self._pause_changed.set()
        self._pause_changed = asyncio.Event()
        return {}

    def _pause_answer(self) -> Message:
        state = self.pause_state
        return {"version": state.version, "paused": state.paused, "drained": state.is_drained(),
                "scope": state.scope}

    def _signal_pause(self) -> None:
        self._pause_changed.set()
        self._pause_changed = asyncio.Event()

    async def _wait_change(self, deadline: float) -> bool:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False
        try:
            # (not wait_for: Python 3.11's returned a wake-up that came with a cancellation
            # and dropped the cancellation, and the long poll waited again: a stopping GTM
            # waited out its watchers' wait_ms)
            async with asyncio.timeout(remaining):
                await self._pause_changed.wait()
        except TimeoutError:
            return False
        return True

    # -- barriers ---------------------------------------------------------------------------

    async def op_barrier_record(self, conn_id: int, fields: Message) -> Message:
        name = _text(fields, "name")
        points = fields.get("points")
        if not isinstance(points, dict):
            raise GtmError(INVALID_PARAMETER_VALUE, "field 'points' must be an object")
        if self.storage.has_barrier(name):
            raise GtmError(DUPLICATE_OBJECT, f'barrier "{name}" already exists')
        detail = fields.get("detail") or {}
        if not isinstance(detail, dict):
            raise GtmError(INVALID_PARAMETER_VALUE, "field 'detail' must be an object")
        self.storage.save_barrier(name, time.time_ns() // 1000, points, detail)
        await self.committer.sync()
        return {}

    async def op_barrier_list(self, conn_id: int, fields: Message) -> Message:
        await self.committer.sync()
        return {"barriers": self.storage.load_barriers()}


@dataclass(slots=True)
class ActivityRequest:
    waiting: set[int]
    rows: list[Any] = field(default_factory=list)
    signals: list[Any] = field(default_factory=list)  # [kind, pid]: pg_terminate/cancel_backend


def _lease_answer(granted: bool, lease: Lease | None) -> Message:
    if lease is None:
        return {"granted": granted, "holder": None, "term": None}
    return {"granted": granted, "holder": lease.holder, "term": lease.term,
            "expires_in_ms": int(max(0.0, lease.expires - time.monotonic()) * 1000)}


def _text(fields: Message, key: str) -> str:
    value = fields.get(key)
    if not isinstance(value, str) or not value:
        raise GtmError(INVALID_PARAMETER_VALUE, f"field {key!r} must be a non-empty string")
    return value


def _number(fields: Message, key: str, default: float) -> float:
    value = fields.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise GtmError(INVALID_PARAMETER_VALUE, f"field {key!r} must be a number")
    return float(value)


def wait_seconds(fields: Message) -> float:
    """A long poll's `wait_ms`, checked and bounded (MAX_WAIT_MS), in seconds."""
    return min(max(_number(fields, "wait_ms", 0), 0.0), MAX_WAIT_MS) / 1000.0
