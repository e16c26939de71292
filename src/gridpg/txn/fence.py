"""The consistency fence (DESIGN section 6), coordinator side.

A multi-node read establishes its snapshot on every node while holding the GTM's
*snapshot* fence; a 2PC transaction sends its COMMIT PREPARED messages while holding the
*commit* fence; the two modes exclude each other. So every multi-node snapshot sees a
distributed transaction on all of its nodes or on none.

Safeguards: a snapshot hold is bounded (a node that does not start the statement quickly,
e.g. blocked on a lock held by a transaction waiting to commit, would otherwise deadlock
with the commit fence), and when the GTM cannot be reached reads go on without the fence.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from gridpg.gtm.client import GtmClient
from gridpg.gtm.protocol import GtmError, GtmUnavailable

log = logging.getLogger("gridpg.fence")

SNAPSHOT_HOLD = 0.5  # seconds a snapshot may keep commits waiting


async def with_commit_fence(gtm: GtmClient, body: Callable[[], Awaitable[None]],
                            requested: asyncio.Future[int] | None = None) -> None:
    """Run `body` (the COMMIT PREPARED round) under the commit fence (`requested` ahead by
    request_commit_fence, else asked for now)."""
    token = await (requested if requested is not None else gtm.fence_acquire("commit"))
    try:
        await body()
    finally:
        _release(gtm, token)


def request_commit_fence(gtm: GtmClient) -> asyncio.Future[int]:
    """Ask for the commit fence now, for a COMMIT PREPARED round that follows (the request
    travels with the decision's: one GTM round trip less). Use it or give_back it."""
    return asyncio.ensure_future(gtm.fence_acquire("commit"))


def give_back(gtm: GtmClient, requested: asyncio.Future[int]) -> None:
    """A requested commit fence not used: released as soon as (if ever) it is granted.
    Not cancelled: a grant already on its way would then be lost, holding the fence."""
    def done(future: asyncio.Future[int]) -> None:
        if not future.cancelled() and future.exception() is None:
            _release(gtm, future.result())

    requested.add_done_callback(done)


async def snapshot_fence(gtm: GtmClient) -> int | None:
    """Acquire the snapshot fence; None when the GTM is unreachable (reads go on)."""
    try:
        return await gtm.fence_acquire("snapshot")
    except (GtmUnavailable, GtmError, OSError):
        log.warning("snapshot fence unavailable; reading without it")
        return None


async def release_when_started(gtm: GtmClient, token: int | None,
                               started: list[Callable[[], Awaitable[None]]]) -> None:
    """Release the snapshot fence once every node has started its statement (its first
    answer arrived: the snapshot is taken), or after SNAPSHOT_HOLD at the latest."""
    if token is None:
        return
    try:
        await asyncio.wait_for(asyncio.gather(*(wait() for wait in started)), SNAPSHOT_HOLD)
    except TimeoutError:
        log.info("a node did not start within %.1f s; snapshot fence released", SNAPSHOT_HOLD)
    except Exception:  # noqa: BLE001 - the statement's own reader reports node errors
        pass
    finally:
        _release(gtm, token)


def _release(gtm: GtmClient, token: int) -> None:
    async def release() -> None:
        try:
            await gtm.fence_release(token)
        except (GtmUnavailable, GtmError, OSError):
            pass  # the GTM releases the tokens of a dropped connection itself

    asyncio.ensure_future(release())
