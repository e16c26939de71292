"""Answers a coordinator computes once per catalog epoch and key, by asking a node.

A role's rights on a table (executor/shard_route.py, executor/first_copy.py) hold until
DDL changes them, and DDL (GRANT and REVOKE included) bumps the catalog epoch: so each is
asked once per epoch, concurrent askers of one key share the one question, and a question
that fails is answered with the caller's safe default (asked again next epoch).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

from gridpg.errors import PgError

V = TypeVar("V")

LIMIT = 10000  # keys kept per epoch (then forgotten at once: asked again)


class EpochVerdicts(Generic[V]):
    """The verdicts of one catalog epoch, by key."""

    def __init__(self, unknown: V) -> None:
        self.unknown = unknown  # the answer when the question fails
        self._epoch = -1
        self._verdicts: dict[Hashable, asyncio.Future[V]] = {}

    async def get(self, epoch: int, key: Hashable, load: Callable[[], Awaitable[V]]) -> V:
        if epoch != self._epoch:
            self._epoch = epoch
            self._verdicts.clear()
        found = self._verdicts.get(key)
        if found is None:
            if len(self._verdicts) > LIMIT:
                self._verdicts.clear()
            found = asyncio.get_running_loop().create_future()
            self._verdicts[key] = found
            try:
                found.set_result(await load())
            except BaseException as exc:
                found.set_result(self.unknown)
                if not isinstance(exc, (PgError, OSError)):
                    raise
        return await asyncio.shield(found)
