"""The GTM (Global Transaction Manager): one asyncio service every coordinator talks to.

It hands out GXIDs, cluster timestamps and global sequence ranges, keeps the metadata
epoch and the durable 2PC commit decision log, and runs the commit/snapshot consistency
fence (docs: DESIGN.md sections 1, 5, 6). State lives in SQLite (``storage``); the wire
format is length-prefixed JSON (``protocol``); ``server`` is the process
(``python -m gridpg.gtm.server --dir DIR --host H --port P [--peer H:P]``) and ``client``
the library coordinators and the monitor use. With ``--peer`` two GTMs form a primary /
standby pair: ``node`` (roles, terms, promotion) and ``replication`` (the synchronous
stream and its fencing rules).
"""

from typing import Any

from gridpg.gtm.client import GtmClient, SeqRange, gtm_call_sync
from gridpg.gtm.protocol import GtmError, GtmUnavailable, ProtocolError

_SERVER_NAMES = ("FenceMode", "FenceState", "main", "serve")


def __getattr__(name: str) -> Any:
    # The server is imported lazily so `python -m gridpg.gtm.server` runs it only once.
    if name in _SERVER_NAMES:
        from gridpg.gtm import server

        return getattr(server, name)
    raise AttributeError(name)


__all__ = [
    "FenceMode",
    "FenceState",
    "GtmClient",
    "GtmError",
    "GtmUnavailable",
    "ProtocolError",
    "SeqRange",
    "gtm_call_sync",
    "main",
    "serve",
]
