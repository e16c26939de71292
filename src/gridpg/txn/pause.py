"""PAUSE CLUSTER / UNPAUSE CLUSTER, coordinator side (Postgres-XL's semantics).

The pause lives in the GTM (gtm/coordination.py). Every coordinator worker watches it
with a bounded long poll (`pause_watch`), so a transaction start costs nothing more than
reading a local flag. When the cluster is paused, new transactions of this worker wait at
the gate (no error, only a wait); once the transactions already running here are done,
the worker acknowledges (`pause_ack`). `PAUSE CLUSTER` returns when every worker of every
coordinator has acknowledged. The pausing session works alone; `UNPAUSE CLUSTER`, the
pausing session's disconnect, or its coordinator's loss (its GTM connection drops)
releases everyone.

A session counts as running a transaction while it is inside a block, has an
extended-protocol cycle open or runs a statement (`Session.is_busy`).

A *shard hold* (an online move's switch, commands/placement.py) is a pause with a scope:
the gate stays open, `hold` names the shards, and only statements that touch them wait
(`wait_hold_released`, bounded; executor/shard_hold.py classifies them). The worker
acknowledges once none of its statements that may touch them is in flight
(`Session.runner.in_flight_touches`); transactions that already hold locks on the shards
are waited for on the datanode by the switch itself. A hold this worker has seen for
longer than `HOLD_LIFETIME` is ignored: the switch bounds every step far below that, so
only a stuck switching coordinator leaves one behind (its datanode lock still guards the
rows).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable
from typing import Any

from gridpg.errors import ACTIVE_SQL_TRANSACTION, PgError
from gridpg.executor.shard_hold import ShardHold
from gridpg.gtm.client import GtmClient
from gridpg.gtm.protocol import GtmError, GtmUnavailable

log = logging.getLogger("gridpg.pause")

WATCH_WAIT = 10.0
PAUSE_WAIT = 5.0
DRAIN_POLL = 0.01
HOLD_LIFETIME = 30.0
LOCK_NOT_AVAILABLE = "55P03"


class PauseGate:
    """One worker's view of the cluster pause and the gate new transactions pass."""

    def __init__(self, gtm: GtmClient) -> None:
        self.gtm = gtm
        self.version: int | None = None
        self.paused = False
        self.pauser: Any = None  # the local session that paused the cluster, if any
        self._open = asyncio.Event()
        self._open.set()
        self._task: asyncio.Future[None] | None = None
        self._drain: asyncio.Future[None] | None = None
        self._activity: Callable[[], list[Any]] | None = None
        self._signal: Callable[[list[Any]], None] | None = None
        self.hold: ShardHold | None = None  # the shards an online move's switch holds
        self._hold_over = asyncio.Event()
        self._hold_over.set()
        self.switches = 0  # holds seen to end: a transaction snapshot older than one is checked
        self.ended_holds: list[tuple[int, ShardHold]] = []  # (switches after it, hold), the latest
        self.on_hold_end: Callable[[], None] | None = None
        self.on_change: Callable[[], None] | None = None  # paused, hold or switches changed

    def start(self, sessions: Callable[[], Iterable[Any]],
              activity: Callable[[], list[Any]] | None = None,
              signal: Callable[[list[Any]], None] | None = None) -> None:
        """Watch the GTM; `activity` answers the GTM's requests for this worker's sessions,
        after `signal` carried out the signals a request holds ([kind, pid] pairs)."""
        self._activity = activity
        self._signal = signal
        self._task = asyncio.ensure_future(self._watch(sessions))

    def stop(self) -> None:
        for task in (self._task, self._drain):
            if task is not None:
                task.cancel()

    # -- the gate ------------------------------------------------------------------------

    def is_closed_for(self, session: Any) -> bool:
        return self.paused and session is not self.pauser

    async def wait_open(self, session: Any) -> None:
        """Return when `session` may start a transaction (at once unless paused)."""
        while self.is_closed_for(session):
            await self._open.wait()

    def current_hold(self) -> ShardHold | None:
        hold = self.hold
        if hold is not None and time.monotonic() - hold.seen > HOLD_LIFETIME:
            return None
        return hold

    async def wait_hold_released(self, seconds: float) -> None:
        """Wait until the shard hold ends; 55P03 after `seconds`."""
        hold = self.hold
        if hold is None:
            return
        remaining = min(seconds, HOLD_LIFETIME - (time.monotonic() - hold.seen))
        try:
            if remaining > 0:
                # (not wait_for: Python 3.11's drops a cancellation that comes with the
                # release, and the cancelled statement would run: gtm/coordination.py)
                async with asyncio.timeout(remaining):
                    await self._hold_over.wait()
                return
        except TimeoutError:
            pass
        raise PgError(LOCK_NOT_AVAILABLE, f"shard {hold.remainder} of colocation {hold.colocation} is being "
                      f"moved from {hold.source} to {hold.target}; the statement waited "
                      f"{seconds:.1f} s for the switch", hint="retry the statement")

    async def hold_within(self, session: Any, scope: dict[str, Any], seconds: float) -> bool:
        """Hold the shards `scope` names: True once every coordinator worker has seen the
        hold and has no statement in flight that may touch them; False, with the hold
        released, when that took longer than `seconds` (or a pause held the cluster)."""
        return await self._drain_within(session, seconds, scope, "shard hold")

    # -- PAUSE / UNPAUSE -----------------------------------------------------------------

    async def pause(self, session: Any, in_block: bool) -> None:
        """PAUSE CLUSTER for `session`: returns once no other transaction runs anywhere."""
        if in_block:
            raise PgError(ACTIVE_SQL_TRANSACTION, "PAUSE CLUSTER cannot run inside a transaction block")
        await self.wait_open(session)
        previous, self.pauser = self.pauser, session
        try:
            while True:
                answer = await self.gtm.pause(PAUSE_WAIT)
                if answer.get("drained"):
                    return
        except GtmError as exc:
            self.pauser = previous
            raise PgError(exc.code, exc.message) from None
        except (GtmUnavailable, OSError) as exc:
            self.pauser = previous
            raise PgError("08006", f"PAUSE CLUSTER: the GTM cannot be reached: {exc}") from None

    async def pause_within(self, session: Any, seconds: float, in_block: bool) -> bool:
        """A pause that must drain within `seconds` (an online shard move's switch): True
        once no other transaction runs; False, with the pause released, when the running
        ones did not finish in time (or another pause held the cluster). Callers release a
        True pause with `unpause`."""
        if in_block:
            raise PgError(ACTIVE_SQL_TRANSACTION, "a cluster pause cannot start inside a transaction block")
        return await self._drain_within(session, seconds, None, "cluster pause")

    async def _drain_within(self, session: Any, seconds: float, scope: dict[str, Any] | None,
                            what: str) -> bool:
        """A pause (or, with `scope`, a hold) that must drain within `seconds`; False, with
        it released, when it did not. A hold finding the cluster held by someone else is
        False too (try later); a pause gets that error."""
        try:
            await asyncio.wait_for(self.wait_open(session), seconds)
        except TimeoutError:
            return False
        previous, self.pauser = self.pauser, session
        try:
            answer = await self.gtm.pause(seconds, scope)
            if answer.get("drained"):
                return True
            await self.gtm.unpause()
        except GtmError as exc:
            self.pauser = previous
            if scope is not None and exc.code == "55000":  # paused (or held) by someone else
                return False
            raise PgError(exc.code, exc.message) from None
        except (GtmUnavailable, OSError) as exc:
            self.pauser = previous
            raise PgError("08006", f"{what}: the GTM cannot be reached: {exc}") from None
        self.pauser = previous
        return False

    async def unpause(self, session: Any) -> None:
        """UNPAUSE CLUSTER: from the pausing session, or any superuser's (force)."""
        try:
            await self.gtm.unpause(force=session is not self.pauser)
        except GtmError as exc:
            raise PgError(exc.code, exc.message) from None
        except (GtmUnavailable, OSError) as exc:
            raise PgError("08006", f"UNPAUSE CLUSTER: the GTM cannot be reached: {exc}") from None
        if session is self.pauser:
            self.pauser = None

    def session_closed(self, session: Any) -> None:
        """The pausing session went away: the pause ends with it."""
        if session is not self.pauser or session is None:
            return
        self.pauser = None

        async def release() -> None:
            try:
                await self.gtm.unpause()
            except (GtmError, GtmUnavailable, OSError):
                pass  # not paused any more, or the GTM drops the pause with our connection

        asyncio.ensure_future(release())

    # -- watching the GTM ----------------------------------------------------------------

    async def _watch(self, sessions: Callable[[], Iterable[Any]]) -> None:
        while True:
            try:
                answer = await self.gtm.pause_watch(self.version, WATCH_WAIT)
            except asyncio.CancelledError:
                raise
            except (GtmError, GtmUnavailable, OSError) as exc:
                log.debug("pause watch: %s", exc)
                await asyncio.sleep(0.5)
                continue
            if answer["version"] != self.version:
                self._apply(int(answer["version"]), bool(answer["paused"]), sessions, answer.get("scope"))
            signals = answer.get("activity_signals") or {}
            for request in answer.get("activity_requests") or []:
                if self._signal is not None and signals.get(str(request)):
                    self._signal(signals[str(request)])
                await self._report_activity(int(request))

    async def _report_activity(self, request: int) -> None:
        rows = self._activity() if self._activity is not None else []
        try:
            await self.gtm.activity_report(request, rows)
        except (GtmError, GtmUnavailable, OSError) as exc:
            log.debug("activity report: %s", exc)

    def _apply(self, version: int, paused: bool, sessions: Callable[[], Iterable[Any]],
               scope: Any = None) -> None:
        try:
            self._apply_state(version, paused, sessions, scope)
        finally:
            if self.on_change is not None:
                self.on_change()

    def _apply_state(self, version: int, paused: bool, sessions: Callable[[], Iterable[Any]],
                     scope: Any) -> None:
        self.version = version
        if self._drain is not None:
            self._drain.cancel()
            self._drain = None
        hold = ShardHold.from_scope(scope) if paused else None
        if hold is not None:
            self.paused, self.hold = False, hold
            self._hold_over.clear()
            self._open.set()
            self._drain = asyncio.ensure_future(self._acknowledge_hold(version, hold, sessions))
            return
        if self.hold is not None:
            self.switches += 1
            self.ended_holds = [*self.ended_holds[-31:], (self.switches, self.hold)]
            self.hold = None
            if self.on_hold_end is not None:
                self.on_hold_end()
            self._hold_over.set()
        self.paused = paused
        if paused:
            self._open.clear()
            self._drain = asyncio.ensure_future(self._acknowledge_when_drained(version, sessions))
        else:
            self.pauser = None
            self._open.set()

    async def _acknowledge_when_drained(self, version: int, sessions: Callable[[], Iterable[Any]]) -> None:
        while any(s is not self.pauser and s.is_busy for s in sessions()):
            await asyncio.sleep(DRAIN_POLL)
        await self._ack(version)

    async def _acknowledge_hold(self, version: int, hold: ShardHold,
                                sessions: Callable[[], Iterable[Any]]) -> None:
        """Acknowledge a shard hold once no statement that may touch its shards is in
        flight here (those that start now are held, or already hold the shards' locks)."""
        while any(s is not self.pauser and getattr(s, "runner", None) is not None
                  and s.runner.in_flight_touches(hold) for s in sessions()):
            await asyncio.sleep(DRAIN_POLL)
        await self._ack(version)

    async def _ack(self, version: int) -> None:
        while True:
            try:
                await self.gtm.pause_ack(version)
                return
            except (GtmError, GtmUnavailable, OSError):
                await asyncio.sleep(0.5)
