"""Client connections spread evenly over a coordinator's workers.

A coordinator's workers share its port (SO_REUSEPORT): the kernel picks the worker of each
new connection by a hash of its addresses, so a handful of clients often land unevenly (8
pgbench clients on 2 workers: 6 and 2, or 7 and 1, one time in four). A worker then runs
most sessions' Python while the other idles, and the sessions on the busy one wait for it.

So each worker counts its client connections in a shared mapping (`SessionCounts`, made
before the fork, every slot written by one worker only, with the connections handed to
each and not yet taken in), and a worker that
accepts a connection while it holds more than the least loaded sibling hands the socket to
that sibling before reading a byte from it (`WorkerPlacement.hand_off`): the file
descriptor goes over a Unix datagram socket (SCM_RIGHTS) and the sibling serves it as if it
had accepted it (`loop.connect_accepted_socket`). A connection handed over is never handed
on; one the sibling cannot take (its socket gone, its queue full) stays where it landed.
As Odyssey spreads its clients over its workers, and PgBouncer's so_reuseport leaves it to
the kernel.
"""

from __future__ import annotations

import array
import asyncio
import contextlib
import functools
import logging
import mmap
import os
import socket
import struct
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)

_SLOT = struct.Struct("<q")


class SessionCounts:
    """The workers' shared bookkeeping, in an anonymous shared mapping (MAP_SHARED,
    inherited across fork), every slot written by one worker only:
    - `count[i]`: worker i's client connections (written by i);
    - `handed[s][t]`: connections worker s has handed to worker t (written by s);
    - `taken[t][s]`: those worker t has taken in, counted or gone (written by t).
    A sibling's load is its count plus what was handed to it and not yet taken, so a
    burst of connections is spread before the sibling has run, and nothing is guessed
    from a count that did not move. A reader may see a slot a moment old, which only
    makes a placement a little less even."""

    def __init__(self, workers: int) -> None:
        self.workers = n = max(workers, 1)
        self._map = mmap.mmap(-1, _SLOT.size * (n + 2 * n * n))

    def _get(self, slot: int) -> int:
        return _SLOT.unpack_from(self._map, slot * _SLOT.size)[0]

    def _add(self, slot: int, delta: int) -> None:
        offset = slot * _SLOT.size
        _SLOT.pack_into(self._map, offset, _SLOT.unpack_from(self._map, offset)[0] + delta)

    def get(self, worker: int) -> int:
        return self._get(worker)

    def add(self, worker: int, delta: int) -> None:
        self._add(worker, delta)

    def handed_to(self, sender: int, target: int) -> None:
        self._add(self.workers + sender * self.workers + target, 1)

    def taken_from(self, target: int, sender: int) -> None:
        self._add(self.workers + self.workers * self.workers + target * self.workers + sender, 1)

    def load(self, worker: int) -> int:
        """The worker's connections, with those on their way to it."""
        n = self.workers
        in_flight = sum(self._get(n + sender * n + worker) - self._get(n + n * n + worker * n + sender)
                        for sender in range(n) if sender != worker)
        return self._get(worker) + in_flight


class WorkerPlacement:
    """One worker's side of the placement: its count, the hand-over of a connection it
    should not keep, and the socket its siblings hand theirs to."""

    def __init__(self, counts: SessionCounts, worker: int, socket_path: Callable[[int], str]) -> None:
        self.counts = counts
        self.worker = worker
        self.socket_path = socket_path
        self._out: socket.socket | None = None
        self._in: socket.socket | None = None
        self.handed = 0  # (for tests and the log)

    def opened(self) -> None:
        self.counts.add(self.worker, 1)

    def closed(self) -> None:
        self.counts.add(self.worker, -1)

    def _target(self) -> int | None:
        """The sibling to hand a new connection to (None: keep it): the least loaded one,
        if it holds fewer than this worker."""
        best, best_load = None, self.counts.load(self.worker)
        for other in range(self.counts.workers):
            if other != self.worker and (load := self.counts.load(other)) < best_load:
                best, best_load = other, load
        return best

    def hand_off(self, transport: asyncio.BaseTransport) -> bool:
        """Hand a just-accepted connection to the least loaded sibling when this worker
        holds more (True: handed, the caller drops its transport unread); False: keep it."""
        target = self._target()
        if target is None:
            return False
        sock = transport.get_extra_info("socket")
        if sock is None:
            return False
        try:
            if self._out is None:
                self._out = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
                self._out.setblocking(False)
            # (sendmsg: socket.send_fds drops its address argument)
            self._out.sendmsg([bytes([self.worker])], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", [sock.fileno()]))],
                              0, self.socket_path(target))
        except OSError:  # the sibling is gone or its queue is full: served here
            return False
        self.counts.handed_to(self.worker, target)
        self.handed += 1
        transport.abort()  # (our descriptor only: the socket lives on in the message)
        return True

    def serve(self, protocol_factory: Callable[[], asyncio.Protocol]) -> None:
        """Take the connections siblings hand this worker, as accepted ones."""
        path = self.socket_path(self.worker)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        sock.bind(path)
        sock.setblocking(False)
        self._in = sock
        loop = asyncio.get_running_loop()

        def on_readable() -> None:
            while True:
                try:
                    sender, fds, _, _ = socket.recv_fds(sock, 16, 8)
                except (BlockingIOError, InterruptedError):
                    return
                except OSError as exc:
                    log.warning("taking a connection from a sibling worker failed: %s", exc)
                    return
                taken = functools.partial(self.counts.taken_from, self.worker, sender[0]) if sender else None
                for fd in fds:
                    client = socket.socket(fileno=fd)
                    asyncio.ensure_future(_adopt(loop, protocol_factory, client, taken))

        loop.add_reader(sock.fileno(), on_readable)

    def close(self) -> None:
        if self._in is not None:
            with contextlib.suppress(Exception):
                asyncio.get_running_loop().remove_reader(self._in.fileno())
            self._in.close()
            self._in = None
        if self._out is not None:
            self._out.close()
            self._out = None


async def _adopt(loop: asyncio.AbstractEventLoop, protocol_factory: Callable[[], Any], client: socket.socket,
                 taken: Callable[[], None] | None) -> None:
    try:
        await loop.connect_accepted_socket(protocol_factory, client)  # (counted by its connection_made)
    except OSError as exc:  # (the client left meanwhile)
        log.info("a connection handed over by a sibling worker was gone: %s", exc)
        client.close()
    finally:
        if taken is not None:
            taken()
