"""The consistency fence (DESIGN section 6), coordinator side.

A multi-node statement establishes its snapshot on every node while holding the GTM's
*snapshot* fence; a REPEATABLE READ transaction takes its one snapshot on every datanode
the same way (txn/snapshot.py); a 2PC transaction sends its COMMIT PREPARED messages while
holding the *commit* fence; the two modes exclude each other. So every fenced snapshot
sees a distributed transaction on all of its nodes or on none.

No snapshot is ever taken without the fence in `cluster` consistency: when the fence
cannot be had or held, the statement fails with 40001 (serialization failure) saying what
it waited for. Waits are bounded so that no cycle through the fence can hang:

* acquiring the fence waits for COMMIT PREPARED rounds in flight; these wait on no lock a
  reader holds (PostgreSQL's COMMIT PREPARED takes no heavyweight lock), so they end;
  the wait is bounded (twice the fence timeout) anyway, in case the GTM or a node stalls;
* holding it: a node may be slow to take its snapshot because its statement waits on a
  lock, possibly held by a prepared transaction whose COMMIT PREPARED waits for this very
  fence. While nobody waits for the commit fence, holding it harms nobody and the hold
  goes on (a long multi-node write keeps its guarantee); once a commit waits and the hold
  has lasted the fence timeout, the statement is cancelled on its nodes and fails 40001.

A worker's commit rounds share commit tokens (`CommitFenceShare`): one GTM round trip
and one release for the rounds that start together, never a round without a granted token;
while the GTM says no snapshot waits (`fence_watch`), a busy worker keeps its token from one
commit to the next.

This module must not decide *whether* a statement is fenced: callers do (the session's
`gridpg.consistency`, the number of nodes, an already established transaction snapshot).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from gridpg import metrics
from gridpg.errors import FEATURE_NOT_SUPPORTED, SERIALIZATION_FAILURE, PgError
from gridpg.gtm.client import GtmClient
from gridpg.gtm.protocol import GtmError, GtmUnavailable

log = logging.getLogger("gridpg.fence")

DEFAULT_TIMEOUT = 5.0  # seconds: gridpg.fence_timeout's default
HINT = ("retry the transaction; SET gridpg.consistency = node reads each node's own snapshot "
        "without the fence")


@dataclass(frozen=True)
class Started:
    """One node's statement: its name and a wait that ends once its snapshot is taken.
    `blocked`, for a write, asks the node whether the statement now waits for a row lock:
    then its snapshot is taken, though its answer may be far away."""

    node: str
    wait: Callable[[], Awaitable[None]]
    blocked: Callable[[], Awaitable[bool]] | None = None


async def with_commit_fence(gtm: GtmClient, body: Callable[[], Awaitable[None]],
                            token: int | None = None) -> None:
    """Run `body` (the COMMIT PREPARED round) under the commit fence: the one `token`
    names (taken with the decision's log, `txn_log_commit_fenced`), else taken here."""
    if token is None:
        started = time.perf_counter()
        token = await gtm.fence_acquire("commit")
        metrics.COMMIT_FENCE_WAIT.observe(time.perf_counter() - started)
    try:
        await body()
    finally:
        _release(gtm, token)


# How long after its grant a worker's commit-fence token takes in further COMMIT PREPARED
# rounds (`CommitFenceShare`). A snapshot waiting for the fence then waits at most this
# longer than for the rounds already under it (the GTM's grant is phase-fair).
JOIN_WINDOW = 0.005
# How long a token may be joined while the worker watches the GTM for snapshot requests
# (`GtmClient.fence_watch`): given back at once when one waits, so a snapshot waits for
# the rounds under it, not for this window.
WATCHED_WINDOW = 0.1
WATCH_WAIT = 1.0  # seconds one watch request waits at the GTM before it is renewed
# While a commit waits for the snapshot fence, how often a held write is asked whether it
# waits for a row lock (`hold_until_started`).
PROBE_INTERVAL = 0.1


@dataclass(eq=False)
class _Lease:
    """One commit-fence token of the worker and the rounds under it."""

    granted: asyncio.Future[int] = field(init=False)  # the GTM's token, once granted
    holders: int = 0
    lingering: asyncio.TimerHandle | None = None  # no round under it: its release, set for later
    watched: bool = False  # granted while the worker watched the GTM on its link
    revoked: bool = False  # a snapshot waits: joined no more
    granted_at: float = 0.0
    link: object | None = None  # the GTM connection it was granted on


@dataclass(eq=False)
class FenceClaim:
    """One round's share of a lease (`CommitFenceShare.claim`)."""

    lease: _Lease
    active: bool = True

    @property
    def is_granted(self) -> bool:
        """Held, and its token granted (a round may run under it now, without waiting)."""
        granted = self.lease.granted
        return self.active and granted.done() and not granted.cancelled() and granted.exception() is None


class CommitFenceShare:
    """A worker's COMMIT PREPARED rounds under shared commit-fence tokens: the GTM-proxy
    idea of DESIGN section 6 (many sessions, one GTM round trip). A round joins the token
    being acquired, or one granted less than `window` ago on the GTM connection still
    open; else it asks the GTM for a new one. A token is released when its last round ends,
    or, while it could still be joined, `linger` later at most (never after the window):
    the next round of a busy worker then joins it instead of asking the GTM again. While
    it holds a token the worker watches the GTM (`fence_watch`); a token granted under the
    watch may be joined for `watched_window` instead, until a snapshot request waits:
    then it is joined no more and goes back once its rounds ended, so a snapshot waits
    for those rounds only, not for a window. The guarantee is the unshared one: every
    round runs while a granted commit token is held, so no snapshot fence is granted
    meanwhile. What is not shared: a token that came with the decision's log
    (`txn_log_commit_fenced`), the snapshot fence."""

    def __init__(self, gtm: GtmClient, window: float = JOIN_WINDOW, linger: float = JOIN_WINDOW,
                 watched_window: float = WATCHED_WINDOW) -> None:
        self.gtm = gtm
        self.window = window
        self.linger = linger
        self.watched_window = watched_window
        self._open: _Lease | None = None  # the lease new rounds may join
        self._watch: asyncio.Future[None] | None = None
        self._watch_link: object | None = None  # the GTM connection the running watch is on
        self._watch_refused = False  # the GTM has no fence_watch: short windows only

    def claim(self) -> FenceClaim:
        """A share of a commit token, asked for now (joined or requested, not awaited):
        for a round whose COMMIT PREPARED is still to come. Ends with `run` or `drop`."""
        return FenceClaim(self._join())

    async def run(self, body: Callable[[], Awaitable[None]], claim: FenceClaim | None = None) -> None:
        """Run `body` under a commit token: the one `claim` holds, else one shared or taken
        here. The share is given back after `body`, however it ends."""
        started = time.perf_counter()
        if claim is None or not claim.active:
            claim = self.claim()
        try:
            await asyncio.shield(claim.lease.granted)
            # (the wait of the round itself: a claim asked for early waited beside its PREPAREs)
            metrics.COMMIT_FENCE_WAIT.observe(time.perf_counter() - started)
            await body()
        finally:
            self.drop(claim)

    def drop(self, claim: FenceClaim) -> None:
        """Give back a claim's share (once: later calls do nothing)."""
        if not claim.active:
            return
        claim.active = False
        lease = claim.lease
        lease.holders -= 1
        if lease.holders == 0:
            self._end(lease)

    def _join(self) -> _Lease:
        lease = self._open
        if lease is None or not self._is_joinable(lease):
            lease = _Lease()
            lease.granted = asyncio.ensure_future(self._acquire(lease))
            self._open = lease
        elif lease.lingering is not None:
            lease.lingering.cancel()
            lease.lingering = None
        lease.holders += 1
        return lease

    def _is_joinable(self, lease: _Lease) -> bool:
        if not lease.granted.done():
            return True  # asked for, not yet granted: wait for it together
        if lease.granted.cancelled() or lease.granted.exception() is not None or lease.revoked:
            return False
        # A token of a dropped GTM connection was released there: never joined.
        return lease.link is not None and lease.link is self.gtm.open_link() \
            and time.perf_counter() - lease.granted_at < self._window(lease)

    def _window(self, lease: _Lease) -> float:
        return self.watched_window if lease.watched else self.window

    async def _acquire(self, lease: _Lease) -> int:
        link = self.gtm.open_link()
        if link is not None:
            self._start_watch(link)
        token = await self.gtm.fence_acquire("commit")
        lease.granted_at = time.perf_counter()
        # Joinable only when granted on the link still open (not on one connected meanwhile).
        lease.link = link if link is not None and link is self.gtm.open_link() else None
        lease.watched = lease.link is not None and self._watch_link is lease.link
        return token

    def _start_watch(self, link: object) -> None:
        if self._watch_refused or (self._watch is not None and not self._watch.done()):
            return
        self._watch_link = link
        self._watch = asyncio.ensure_future(self._watch_gtm(link))

    async def _watch_gtm(self, link: object) -> None:
        """Watch the GTM while this worker holds commit tokens; on a snapshot request
        waiting, give the open one back (as soon as its rounds end) and stop: the next
        token is asked for behind that snapshot, and watched again."""
        try:
            while self._open is not None and self.gtm.open_link() is link:
                if await self.gtm.fence_watch(WATCH_WAIT):
                    break
        except GtmError as exc:
            # An older GTM has no such operation: short windows from now on. Any other
            # refusal only ends this watch; the next token asks again.
            self._watch_refused = exc.code == FEATURE_NOT_SUPPORTED
        except (GtmUnavailable, OSError):
            pass
        finally:
            self._watch_link = None
            self._revoke()

    def _revoke(self) -> None:
        """The open token is joined no more; with no round under it, it goes back now."""
        lease = self._open
        if lease is None or not lease.watched:
            return
        lease.revoked = True
        if lease.holders == 0 and lease.lingering is not None:
            lease.lingering.cancel()
            lease.lingering = None
            self._release_lease(lease)

    def _end(self, lease: _Lease) -> None:
        """The lease's last round ended: its token goes back (once granted, if still
        asked for: every round waiting for it was cancelled); a granted token that may
        still be joined lingers until the window's end, `linger` at most."""
        if self._open is lease and lease.granted.done() and self._is_joinable(lease):
            # (a watched token is kept to its window's end: a snapshot request ends it sooner)
            delay = lease.granted_at + self._window(lease) - time.perf_counter()
            if not lease.watched:
                delay = min(self.linger, delay)
            if delay > 0:
                lease.lingering = asyncio.get_running_loop().call_later(delay, self._expire, lease)
                return
        self._release_lease(lease)

    def _expire(self, lease: _Lease) -> None:
        lease.lingering = None
        if lease.holders == 0:
            self._release_lease(lease)

    def _release_lease(self, lease: _Lease) -> None:
        if self._open is lease:
            self._open = None
        granted = lease.granted

        def release(done: asyncio.Future[int]) -> None:
            if not done.cancelled() and done.exception() is None:
                _release(self.gtm, done.result())

        if granted.done():
            release(granted)
        else:
            granted.add_done_callback(release)


async def acquire_snapshot(gtm: GtmClient, timeout: float) -> int:
    """The snapshot fence's token; 40001 when it cannot be had within 2 x `timeout`."""
    limit = 2 * timeout
    started = time.perf_counter()
    try:
        async with asyncio.timeout(limit):
            token = await gtm.fence_acquire("snapshot")
        metrics.SNAPSHOT_FENCE_WAIT.observe(time.perf_counter() - started)
        return token
    except TimeoutError:
        metrics.FENCE_FAILURES.labels("acquire-timeout").inc()
        raise PgError(
            SERIALIZATION_FAILURE,
            f"could not establish a cluster-wide snapshot: waited {limit * 1000:.0f} ms for the "
            "GTM's snapshot fence while 2PC commits held it", hint=HINT) from None
    except (GtmUnavailable, GtmError, OSError) as exc:
        raise PgError(
            SERIALIZATION_FAILURE,
            f"could not establish a cluster-wide snapshot: the GTM's snapshot fence is "
            f"unavailable ({exc})", hint=HINT) from None


async def hold_until_started(gtm: GtmClient, token: int, started: Sequence[Started],
                             timeout: float) -> None:
    """Hold the snapshot fence until every node's statement has taken its snapshot, then
    release it. Raises 40001 (the fence released) when, after `timeout`, some node has not
    and a 2PC commit is waiting for the fence; the caller then abandons the statement.

    A write's snapshot is known taken at its first answer, or once it waits for a row lock
    (`Started.blocked`): PostgreSQL waits for one only while the statement reads its rows,
    after it took its snapshot. So while a commit waits for the fence, the writes still
    running are asked every `PROBE_INTERVAL`; one blocked on a row lock, perhaps held by
    that very commit's prepared transaction, no longer holds the fence (it held it until
    the 40001 before: writers contending for a row of a replicated table, each write on
    every node, failed where PostgreSQL queues them)."""
    tasks = {asyncio.ensure_future(s.wait()): s for s in started}
    deadline = time.perf_counter() + timeout
    try:
        while tasks:
            probing = any(s.blocked is not None for s in tasks.values())
            left = max(deadline - time.perf_counter(), 0.0)
            done, _ = await asyncio.wait(tasks, timeout=min(PROBE_INTERVAL, left) if probing else left)
            for task in done:
                del tasks[task]
            if not tasks:
                return
            waits = None
            if probing:
                waits = await _commit_waits(gtm)
                if waits:
                    await _drop_blocked(tasks)
                    if not tasks:
                        return
            if time.perf_counter() < deadline:
                continue
            if waits if waits is not None else await _commit_waits(gtm):
                metrics.FENCE_FAILURES.labels("hold-timeout").inc()
                late = ", ".join(sorted(s.node for s in tasks.values()))
                raise PgError(
                    SERIALIZATION_FAILURE,
                    f"could not establish a cluster-wide snapshot: node {late} did not take its "
                    f"snapshot within {timeout * 1000:.0f} ms while a 2PC commit waited for the "
                    "snapshot fence (the statement may wait on a lock that transaction holds)",
                    hint=HINT)
            deadline = time.perf_counter() + timeout
    finally:
        for task in tasks:
            task.cancel()
        _release(gtm, token)


async def _drop_blocked(tasks: dict[asyncio.Future[None], Started]) -> None:
    """Leave out the statements that wait for a row lock: their snapshots are taken."""
    pending = [(task, s) for task, s in tasks.items() if s.blocked is not None]
    answers = await asyncio.gather(*(s.blocked() for _, s in pending if s.blocked is not None))
    for (task, _), blocked in zip(pending, answers):
        if blocked:
            task.cancel()
            del tasks[task]


async def run_fenced(gtm: GtmClient, timeout: float, start: Callable[[], None],
                     started: Sequence[Started]) -> None:
    """Acquire the snapshot fence, `start` the statements (send them), hold the fence until
    each has taken its snapshot."""
    token = await acquire_snapshot(gtm, timeout)
    try:
        start()
    except BaseException:
        _release(gtm, token)
        raise
    await hold_until_started(gtm, token, started, timeout)


async def _commit_waits(gtm: GtmClient) -> bool:
    """Whether a COMMIT PREPARED round waits for the fence (an unreachable GTM counts as
    yes: the hold can no longer be vouched for)."""
    try:
        stats = await gtm.stats()
    except (GtmUnavailable, GtmError, OSError):
        return True
    fence = stats.get("fence") or {}
    return bool((fence.get("waiting") or {}).get("commit"))


def _release(gtm: GtmClient, token: int) -> None:
    if gtm.fence_release_now(token):
        return

    async def release() -> None:
        try:
            await gtm.fence_release(token)
        except (GtmUnavailable, GtmError, OSError):
            pass  # the GTM releases the tokens of a dropped connection itself

    asyncio.ensure_future(release())
