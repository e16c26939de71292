"""Wakes a DDL that waits for the other coordinators' reloads (h-ddl26).

After committed DDL the coordinator waits until every other coordinator process reports
the new epoch loaded in `gridpg.coordinator_state` on its catalog server
(`Coordinator.metadata_changed`); it polled those tables every 10 ms, a query on every
catalog server per poll and half a poll of delay on average. Now each worker notifies
ACK_CHANNEL in the transaction that writes its row, and the waiter listens on every
catalog server on a connection of its own (opened at its first wait, kept): it looks again
when a notification arrives, and at most RECHECK after its last look whatever arrives (a
listener lost or not yet listening, a notification missed), until its deadline.

Why no wakeup is lost: the waiter takes `wakeup()` before the query that looks; an
acknowledgement committed after that query's snapshot notifies after the query started,
so it sets that event (or a later one, after which the waiter looks again anyway).

Owns: the listening connections and the wakeup. Must not: decide what is waited for, nor
relay anything to users (the channel is internal: notify_hub.INTERNAL_CHANNELS).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from gridpg.datanode.connection import BackendConnection, NodeAddress

log = logging.getLogger("gridpg.coordinator")

ACK_CHANNEL = "gridpg_epoch_loaded"
RECHECK = 0.05  # seconds a waiter waits for a notification before it looks again anyway
RECONNECT_PAUSE = 0.5  # seconds between a lost listener's attempts to connect again


class EpochAcks:
    """One worker's listeners on the catalog servers' ACK_CHANNEL, and the event the next
    notification sets."""

    def __init__(self) -> None:
        self._wakeup = asyncio.Event()
        self._listeners: dict[tuple[str, str, int], asyncio.Future[None]] = {}

    def wakeup(self) -> asyncio.Event:
        """The event the next notification sets: taken before the look it may follow."""
        return self._wakeup

    def listen(self, catalogs: list[NodeAddress]) -> None:
        """A listener on each of `catalogs` (started once, reconnecting when lost)."""
        for address in catalogs:
            key = (address.name, address.host, address.port)
            task = self._listeners.get(key)
            if task is None or task.done():
                self._listeners[key] = asyncio.ensure_future(self._listen(address))

    async def until_notified(self, event: asyncio.Event, timeout: float) -> None:
        """Until `event` is set or `timeout` seconds passed."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), timeout)

    def close(self) -> None:
        for task in self._listeners.values():
            task.cancel()
        self._listeners.clear()

    async def _listen(self, address: NodeAddress) -> None:
        while True:
            conn: BackendConnection | None = None
            try:
                conn = await BackendConnection.connect(address)
                await conn.simple_query(f"LISTEN {ACK_CHANNEL}")
                self._notify()  # (acknowledgements sent before it listened: look again)
                while True:
                    kind, _ = await conn.recv()
                    if kind == 0x41:  # NotificationResponse
                        self._notify()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # (waiters look again every RECHECK meanwhile)
                log.debug("epoch acknowledgement listener on %s lost: %s", address.name, exc)
            finally:
                if conn is not None:
                    conn.close()
            await asyncio.sleep(RECONNECT_PAUSE)

    def _notify(self) -> None:
        event, self._wakeup = self._wakeup, asyncio.Event()
        event.set()
