"""One catalog reload per metadata epoch, shared by a coordinator's worker processes.

After DDL every worker process of every coordinator reloads the catalog: the snapshot,
views and rules from its catalog server (`Coordinator._reload_catalog`; each worker reads
the datanodes' type and relation maps, and the catalog server's part of them, when a
statement first takes a node's connection after the reload, h-ddl26). The workers of one coordinator read the same servers and
got the same answer; with two workers that was every read twice, and on a 2-core machine
the reads (mostly the datanodes' relation listings) were most of a DDL's time
(bench/RESULTS.md, "DDL latency ... (h-ddl25)"). Now the workers take turns under a lock:
the first to reload an epoch reads and publishes what it installed; a sibling reloading
the same epoch after it installs the published reload instead of reading.

Why that keeps the guarantee: the published reload of epoch E was read after the GTM
reported E, so it holds every change committed before E was bumped: what the sibling's
own read would hold, at least (newer changes bump the epoch again and are reloaded then,
as for a read of its own). A sibling installs only a reload of exactly the epoch it asked
the GTM for; else it reads itself.

Where: an anonymous memory file (memfd) made before the fork, inherited by every worker:
no path another user (or a datanode's `COPY TO`, which writes files as the server's
owner) could replace, since what is in it is unpickled. Its first bytes are the epoch.
The lock is a POSIX record lock on it (`lockf`): held per process, not per inherited
descriptor, and released by the kernel when its holder dies. A worker waits for it at
most `LOCK_WAIT` (a holder whose catalog server hangs), then reads on its own and
publishes nothing.

Owns: the shared file, its lock, and the format of a published reload.
Must not: decide what a reload reads or installs (frontend/coordinator.py does).
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
import pickle
import struct
import tempfile
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any


log = logging.getLogger("gridpg.coordinator")

LOCK_WAIT = 10.0  # seconds a worker waits for a sibling's reload before reading itself
_POLL = 0.002  # seconds between tries of the lock
_EPOCH = struct.Struct("<q")


@dataclass
class SharedReload:
    """What `Coordinator._reload_catalog` installs, as one worker read it for `epoch`."""

    epoch: int
    # the snapshot's rows (store.load_snapshot_rows): its texts, not the built snapshot;
    # each worker builds it with its own ShardPieces (only changed tables' shards decoded),
    # ~1 ms for 200 tables where unpickling the built one took ~7 ms
    snapshot_rows: Sequence[Sequence[Any]]
    views: dict[tuple[str, str], str]
    table_rules: dict[tuple[str, str], Any]
    oid_carrying_types: frozenset[int]  # (OID_CARRYING_TYPES_SQL, read with the snapshot)


class ReloadShare:
    """The workers' shared reload (made in the coordinator's main process, before the fork)."""

    def __init__(self) -> None:
        if hasattr(os, "memfd_create"):
            self._fd = os.memfd_create("gridpg-catalog-reload", os.MFD_CLOEXEC)
        else:  # (not Linux: a temporary file, unlinked at once, has no path either)
            self._file = tempfile.TemporaryFile()  # noqa: SIM115 - open for the process's life
            self._fd = self._file.fileno()

    @contextlib.asynccontextmanager
    async def turn(self) -> AsyncIterator[bool]:
        """This worker's turn to reload: True while it holds the lock (False: not had
        within LOCK_WAIT; the caller reads on its own and must not publish)."""
        held = await self._lock()
        try:
            yield held
        finally:
            if held:
                fcntl.lockf(self._fd, fcntl.LOCK_UN)

    async def _lock(self) -> bool:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + LOCK_WAIT
        while True:
            try:
                fcntl.lockf(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return True
            except OSError:
                if loop.time() >= deadline:
                    return False
                await asyncio.sleep(_POLL)

    def take(self, epoch: int) -> SharedReload | None:
        """The reload a sibling published for `epoch` (call with the lock held), else None."""
        head = os.pread(self._fd, _EPOCH.size, 0)
        if len(head) < _EPOCH.size or _EPOCH.unpack(head)[0] != epoch:
            return None
        size = os.fstat(self._fd).st_size - _EPOCH.size
        try:
            reload = pickle.loads(os.pread(self._fd, size, _EPOCH.size))
        except (pickle.UnpicklingError, EOFError, ValueError, AttributeError, ImportError):
            return None  # (never written whole: its writer died between the two writes)
        return reload if isinstance(reload, SharedReload) and reload.epoch == epoch else None

    def publish(self, reload: SharedReload) -> None:
        """Make `reload` the one siblings take for its epoch (call with the lock held); one
        that cannot be published (a value that does not pickle) leaves the siblings to read
        on their own."""
        try:
            body = pickle.dumps(reload, protocol=pickle.HIGHEST_PROTOCOL)
        except (pickle.PicklingError, TypeError, AttributeError, RecursionError) as exc:
            log.warning("catalog reload of epoch %d not shared with the sibling workers: %s", reload.epoch, exc)
            os.ftruncate(self._fd, 0)
            return
        # (a reader holds the lock, so never sees a write under way; the epoch goes last,
        # so a writer that dies between the writes leaves no epoch anyone asks for)
        os.ftruncate(self._fd, 0)
        os.pwrite(self._fd, body, _EPOCH.size)
        os.pwrite(self._fd, _EPOCH.pack(reload.epoch), 0)
