"""Cluster-wide snapshots: what a session asks for, and how a REPEATABLE READ transaction
takes one snapshot on every datanode.

`gridpg.consistency` (a session setting, also `SET LOCAL` and the startup option
`-c gridpg.consistency=...`): `cluster` (the default) fences every snapshot that spans nodes;
`node` takes each node's own snapshot and commits without the commit fence (a reader in
`cluster` mode may then see such a transaction on one node and not yet on another).
`gridpg.fence_timeout` (milliseconds, default 5000) bounds fence waits (txn/fence.py).

A REPEATABLE READ transaction in `cluster` mode takes its snapshot when it first reaches a
datanode: it opens its block on *every* datanode group of the cluster (connections taken
and set up first, outside the fence), then, holding the snapshot fence, sends `SELECT 1`
on each and waits for the answers. `SELECT 1` fixes PostgreSQL's transaction snapshot and
takes no lock, so it cannot wait on a lock held by a transaction that waits to commit.
Every later statement of the transaction, on any node, reads that one snapshot.

This module holds no I/O of its own beyond the fence calls; reading settings is pure.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from gridpg.errors import INVALID_PARAMETER_VALUE, PgError
from gridpg.txn import fence

if TYPE_CHECKING:
    from gridpg.datanode.connection import BackendConnection
    from gridpg.gtm.client import GtmClient

CONSISTENCY = "gridpg.consistency"
FENCE_TIMEOUT = "gridpg.fence_timeout"
CLUSTER = "cluster"
NODE = "node"
READ_COMMITTED = "read committed"
REPEATABLE_READ = "repeatable read"
SERIALIZABLE = "serializable"
_LEVEL = re.compile(r"ISOLATION\s+LEVEL\s+(SERIALIZABLE|REPEATABLE\s+READ|READ\s+COMMITTED|READ\s+UNCOMMITTED)",
                    re.IGNORECASE)
_TIMEOUT = re.compile(r"^\s*(\d+)\s*(ms|s|min)?\s*$", re.IGNORECASE)


def normalize_isolation(level: str | None) -> str | None:
    """PostgreSQL's spelling of an isolation level (lower case, one space)."""
    return None if level is None else " ".join(level.lower().replace("_", " ").split())


def isolation_from_begin(begin_sql: str) -> str | None:
    """The level a BEGIN statement names (gridpg's own normalized BEGIN text), or None;
    of several, the last, which PostgreSQL runs (the first was taken: a BEGIN naming
    REPEATABLE READ then SERIALIZABLE ran serializable on each node unrefused)."""
    levels = _LEVEL.findall(begin_sql)
    return normalize_isolation(levels[-1]) if levels else None


def check_setting(name: str, value: str | None) -> None:
    """Refuse a bad value for gridpg's own settings (PostgreSQL accepts any placeholder)."""
    if name == CONSISTENCY and value is not None and value.strip().lower() not in (CLUSTER, NODE):
        raise PgError(INVALID_PARAMETER_VALUE,
                      f'invalid value for parameter "{CONSISTENCY}": "{value}"',
                      hint="Available values: cluster, node.")
    if name == FENCE_TIMEOUT and value is not None:
        parse_timeout(value)


def parse_timeout(value: str) -> float:
    """`gridpg.fence_timeout` in seconds: an integer of milliseconds (or with ms, s, min)."""
    match = _TIMEOUT.match(value)
    if match is None or int(match.group(1)) <= 0:
        raise PgError(INVALID_PARAMETER_VALUE,
                      f'invalid value for parameter "{FENCE_TIMEOUT}": "{value}"',
                      hint="A positive number of milliseconds (units ms, s, min accepted).")
    scale = {"ms": 0.001, "s": 1.0, "min": 60.0}[(match.group(2) or "ms").lower()]
    return int(match.group(1)) * scale


class SessionConsistency:
    """One session's consistency policy, read from its settings at each use."""

    def __init__(self, gtm: GtmClient | None, settings: Callable[[], dict[str, str]],
                 datanodes: Callable[[], list[str]]) -> None:
        self.gtm = gtm
        self.settings = settings
        self.datanodes = datanodes
        self.local: dict[str, str] = {}  # SET LOCAL values of the open transaction

    def value(self, name: str, default: str) -> str:
        return self.local.get(name) or self.settings().get(name) or default

    @property
    def is_cluster(self) -> bool:
        """Snapshots spanning nodes are fenced (no fence at all without a GTM client)."""
        return self.gtm is not None and self.value(CONSISTENCY, CLUSTER).strip().lower() != NODE

    @property
    def timeout(self) -> float:
        raw = self.value(FENCE_TIMEOUT, "")
        return parse_timeout(raw) if raw else fence.DEFAULT_TIMEOUT

    @property
    def default_isolation(self) -> str:
        level = normalize_isolation(self.settings().get("default_transaction_isolation"))
        return level or READ_COMMITTED

    async def fenced(self, start: Callable[[], None], started: Sequence[fence.Started]) -> None:
        """Send the statements (`start`) under the snapshot fence and hold it until each
        node took its snapshot; 40001 when that cannot be had (txn/fence.py)."""
        assert self.gtm is not None
        await fence.run_fenced(self.gtm, self.timeout, start, started)


async def abandon(conns: Sequence[BackendConnection]) -> None:
    """A statement that could not be fenced: cancel it on its nodes and close their
    connections (what they still owe is never read; their node blocks roll back)."""
    await asyncio.gather(*(c.send_cancel() for c in conns if not c.is_closed), return_exceptions=True)
    for conn in conns:
        conn.close()
