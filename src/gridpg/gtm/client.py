"""GTM client library: a pipelined asyncio client and a one-shot synchronous call.

``GtmClient`` keeps one TCP connection; any number of coroutines may call it at once,
their replies matched by request id. A dropped connection fails the calls in flight with
``GtmUnavailable`` and is reopened by the next call; nothing that may have run is retried
behind the caller's back (only the caller knows whether an op is safe to repeat). The
server saying no raises ``GtmError`` with a SQLSTATE ``code``.

A GTM pair (primary and standby, gtm/node.py): the client is given every address
(``alternates``). Opening a connection tries them in turn, for up to ``failover_wait``
seconds; a request answered ``NOT_PRIMARY`` (refused before it ran) is sent again to the
next address within the same bound. Every reply carries the GTM's term; a reply of a
lower term than one already seen is treated as ``NOT_PRIMARY`` (an old primary).

This module owns the client side of the protocol only; it holds no GTM state beyond the
last metadata epoch the server reported (``GtmClient.epoch``).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Self

from gridpg.gtm.protocol import (
    HEADER_SIZE,
    NOT_PRIMARY,
    FrameDecoder,
    GtmError,
    GtmUnavailable,
    Message,
    ProtocolError,
    build_request,
    decode_length,
    decode_payload,
    encode_frame,
    response_result,
)

__all__ = ["GtmClient", "GtmError", "GtmUnavailable", "SeqRange", "gtm_call_any", "gtm_call_sync"]


class SeqRange(NamedTuple):
    """Values ``first, first+increment, ..., last`` handed out by ``seq_next``."""

    first: int
    last: int
    increment: int

    def values(self) -> range:
        return range(self.first, self.last + (1 if self.increment > 0 else -1), self.increment)


@dataclass(eq=False)
class _Link:
    """One open connection and the requests waiting for its replies."""

    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    pending: dict[int, asyncio.Future[Message]] = field(default_factory=dict)
    abandoned_fences: set[int] = field(default_factory=set)
    closed: bool = False
    reader_task: asyncio.Task[None] | None = None


class GtmClient:
    """Pipelined asyncio client of the GTM; reconnects on the call after a drop."""

    def __init__(
        self, host: str, port: int, timeout: float = 5.0, request_timeout: float | None = 30.0,
        alternates: list[tuple[str, int]] | tuple[tuple[str, int], ...] = (),
        failover_wait: float = 10.0,
    ) -> None:
        self.host = host
        self.port = port
        self.addresses = [(host, port), *[a for a in alternates if a != (host, port)]]
        self.timeout = timeout
        self.request_timeout = request_timeout
        self.failover_wait = failover_wait if len(self.addresses) > 1 else 0.0
        self.term = 0  # the highest GTM term seen in a reply
        self.epoch: int | None = None
        self._link: _Link | None = None
        self._ids = itertools.count(1)
        self._connect_lock = asyncio.Lock()
        self._closed = False

    @classmethod
    async def connect(
        cls, host: str, port: int, timeout: float = 5.0, request_timeout: float | None = 30.0,
        alternates: list[tuple[str, int]] | tuple[tuple[str, int], ...] = (),
    ) -> GtmClient:
        """Open a client; raise ``GtmUnavailable`` if the GTM cannot be reached in time."""
        client = cls(host, port, timeout, request_timeout, alternates)
        await client._ensure_link()
        return client

    async def close(self) -> None:
        self._closed = True
        link, self._link = self._link, None
        if link is not None:
            _drop(link, GtmUnavailable("GTM client closed"))
            if link.reader_task is not None:
                await asyncio.gather(link.reader_task, return_exceptions=True)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    # -- typed operations -------------------------------------------------------------------

    async def ping(self) -> None:
        await self.call("ping")

    async def next_gxid(self, count: int = 1) -> int:
        """Reserve ``count`` consecutive GXIDs; return the first."""
        return int((await self.call("next_gxid", count=count))["gxid"])

    async def timestamp(self) -> int:
        """A cluster timestamp (microseconds since the epoch), strictly increasing."""
        return int((await self.call("timestamp"))["ts"])

    async def seq_create(
        self,
        name: str,
        start: int | None = None,
        increment: int = 1,
        minvalue: int | None = None,
        maxvalue: int | None = None,
        cycle: bool = False,
        if_not_exists: bool = False,
    ) -> bool:
        """Create a global sequence; return False if it existed and ``if_not_exists``."""
        result = await self.call(
            "seq_create",
            name=name,
            start=start,
            increment=increment,
            minvalue=minvalue,
            maxvalue=maxvalue,
            cycle=cycle,
            if_not_exists=if_not_exists,
        )
        return bool(result.get("created", True))

    async def seq_next(self, name: str, count: int = 1) -> SeqRange:
        """Take up to ``count`` values (fewer only at a bound without wrap-around)."""
        result = await self.call("seq_next", name=name, count=count)
        return SeqRange(int(result["first"]), int(result["last"]), int(result["increment"]))

    async def seq_setval(self, name: str, value: int, is_called: bool = True) -> None:
        await self.call("seq_setval", name=name, value=value, is_called=is_called)

    async def seq_giveback(self, name: str, last: int, first_unused: int) -> bool:
        """Return the unused values ``first_unused..last`` of this client's range, if the
        sequence has not moved since (then its next value is ``first_unused``)."""
        result = await self.call("seq_giveback", name=name, last=last, first_unused=first_unused)
        return bool(result.get("returned"))

    async def seq_currval_state(self, name: str) -> Message:
        """The sequence's definition plus ``last_value`` and ``is_called``."""
        return await self.call("seq_currval_state", name=name)

    async def seq_drop(self, name: str, if_exists: bool = False) -> bool:
        result = await self.call("seq_drop", name=name, if_exists=if_exists)
        return bool(result.get("dropped", True))

    async def seq_rename(self, name: str, new_name: str) -> None:
        await self.call("seq_rename", name=name, new_name=new_name)

    async def seq_list(self) -> list[Message]:
        return list((await self.call("seq_list"))["sequences"])

    async def epoch_get(self) -> int:
        return int((await self.call("epoch_get"))["epoch"])

    async def epoch_bump(self) -> int:
        return int((await self.call("epoch_bump"))["epoch"])

    async def txn_log_commit(self, gid: str, nodes: list[str], forget: list[str] | None = None) -> None:
        """Durably log the commit decision of 2PC transaction ``gid`` (and forget the
        decisions in ``forget``, as ``txn_forget`` would)."""
        extra = {"forget": forget} if forget else {}
        await self.call("txn_log_commit", gid=gid, nodes=list(nodes), **extra)

    async def txn_log_commit_fenced(self, gid: str, nodes: list[str],
                                    forget: list[str] | None = None) -> tuple[int, float]:
        """Log the decision, then take the commit fence (one request): the fence's token
        and the seconds the GTM waited for it. If the caller is cancelled while waiting, a
        token granted later is released. ``forget`` as for ``txn_log_commit``."""
        extra = {"forget": forget} if forget else {}
        result = await self.call("txn_log_commit", gid=gid, nodes=list(nodes), fence="commit", **extra)
        return int(result["token"]), float(result.get("fence_wait") or 0.0)

    async def txn_forget(self, gid: str) -> None:
        await self.call("txn_forget", gid=gid)

    async def txn_forget_many(self, gids: list[str]) -> None:
        await self.call("txn_forget", gids=list(gids))

    async def txn_decisions(self) -> list[Message]:
        return list((await self.call("txn_decisions"))["decisions"])

    async def txn_is_committed(self, gid: str) -> bool:
        return bool((await self.call("txn_is_committed", gid=gid))["committed"])

    async def txn_resolve(self, gid: str) -> bool:
        """In-doubt recovery's decision: True if committed, else the abort is recorded."""
        return bool((await self.call("txn_resolve", gid=gid))["committed"])

    # -- cluster coordination (gtm/coordination.py) -----------------------------------------

    async def lease_acquire(self, name: str, holder: str, ttl: float) -> Message:
        """Take or renew lease `name` for `ttl` seconds: {granted, holder, term}."""
        return await self.call("lease_acquire", name=name, holder=holder, ttl_ms=int(ttl * 1000))

    async def lease_release(self, name: str, holder: str) -> None:
        await self.call("lease_release", name=name, holder=holder)

    async def lease_get(self, name: str) -> Message:
        return await self.call("lease_get", name=name)

    async def deadlock_victim_add(self, txn: str, detail: str) -> None:
        await self.call("deadlock_victim_add", txn=txn, detail=detail)

    async def deadlock_victim_get(self, txn: str) -> str | None:
        detail = (await self.call("deadlock_victim_get", txn=txn))["detail"]
        return None if detail is None else str(detail)

    async def pause(self, wait: float, scope: Any = None) -> Message:
        """Pause the cluster for this connection (with `scope`: hold only the shards it
        names); {paused, drained, version, scope} after <= wait s."""
        return await self.call("pause", wait_ms=int(wait * 1000), scope=scope)

    async def unpause(self, force: bool = False) -> Message:
        return await self.call("unpause", force=force)

    async def pause_watch(self, version: int | None, wait: float) -> Message:
        return await self.call("pause_watch", version=version, wait_ms=int(wait * 1000))

    async def pause_ack(self, version: int) -> None:
        await self.call("pause_ack", version=version)

    async def activity_collect(self, wait: float, signals: list[Any] | None = None) -> Message:
        """Every coordinator worker's client sessions: {rows, missing}; `signals`
        ([kind, pid] pairs) are carried out by the workers holding those pids first."""
        if signals:
            return await self.call("activity_collect", wait_ms=int(wait * 1000), signals=signals)
        return await self.call("activity_collect", wait_ms=int(wait * 1000))

    async def activity_report(self, request: int, rows: list[Any]) -> None:
        await self.call("activity_report", request=request, rows=rows)

    async def barrier_record(self, name: str, points: dict[str, str],
                             detail: dict[str, Any] | None = None) -> None:
        await self.call("barrier_record", name=name, points=points, detail=detail or {})

    async def barrier_list(self) -> list[Message]:
        return list((await self.call("barrier_list"))["barriers"])

    async def fence_acquire(self, mode: str) -> int:
        """Wait for the fence in ``mode`` ("commit" or "snapshot"); return its token.

        If the caller is cancelled while waiting, a token granted later is released.
        """
        return int((await self.call("fence_acquire", mode=mode))["token"])

    async def fence_watch(self, wait: float) -> bool:
        """Wait until a snapshot request waits for the fence, `wait` seconds at most;
        whether one does."""
        return bool((await self.call("fence_watch", wait_ms=int(wait * 1000)))["snapshot_waiting"])

    async def fence_release(self, token: int) -> None:
        await self.call("fence_release", token=token)

    def fence_release_now(self, token: int) -> bool:
        """Release the fence without waiting for the GTM's reply (dropped on arrival, as an
        abandoned token's release is): written on the open link, the one the token was
        granted on. False: no open link (a dropped link's tokens the GTM released itself)."""
        link = self._link
        if link is None or link.closed or link.writer.is_closing():
            return False
        link.writer.write(encode_frame(build_request(0, "fence_release", {"token": token})))
        return True

    def open_link(self) -> object | None:
        """The open connection to the GTM, as an opaque value (None: none open). Fence
        tokens granted on one are void once it changed: the GTM released them."""
        link = self._link
        return None if link is None or link.closed else link

    @contextlib.asynccontextmanager
    async def fence(self, mode: str) -> AsyncIterator[int]:
        """Hold the fence in ``mode`` for the body of an ``async with``."""
        token = await self.fence_acquire(mode)
        try:
            yield token
        finally:
            with contextlib.suppress(GtmUnavailable):
                await self.fence_release(token)

    async def stats(self) -> Message:
        return await self.call("stats")

    # -- the generic call -------------------------------------------------------------------

    async def call(self, op: str, **fields: Any) -> Message:
        """Send one request and return its result fields (on the acting GTM of a pair)."""
        deadline = asyncio.get_running_loop().time() + self.failover_wait
        while True:
            link = await self._ensure_link(deadline)
            message = await self._call_once(link, op, fields)
            if not self._is_not_primary(message):
                return self._result(message)
            _drop(link, GtmUnavailable("this GTM is not the primary"))
            self._rotate()
            if asyncio.get_running_loop().time() >= deadline:
                return self._result(message)  # raises NOT_PRIMARY's GtmError
            await asyncio.sleep(0.05)

    async def _call_once(self, link: _Link, op: str, fields: Message) -> Message:
        request_id = next(self._ids)
        waiter: asyncio.Future[Message] = asyncio.get_running_loop().create_future()
        link.pending[request_id] = waiter
        link.writer.write(encode_frame(build_request(request_id, op, fields)))
        try:
            async with asyncio.timeout(self.request_timeout):
                return await waiter
        except TimeoutError:
            _drop(link, GtmUnavailable(f"GTM did not answer {op} in {self.request_timeout}s"))
            raise GtmUnavailable(f"GTM did not answer {op} in time") from None
        except asyncio.CancelledError:
            was_pending = link.pending.pop(request_id, None) is not None
            if was_pending and (op == "fence_acquire" or "fence" in fields):
                link.abandoned_fences.add(request_id)
            raise

    def _is_not_primary(self, message: Message) -> bool:
        term = message.get("gtm_term")
        if isinstance(term, int):
            if term < self.term:
                return True  # an old primary: whatever it says belongs to no lineage
            self.term = term
        error = message.get("error")
        return isinstance(error, dict) and error.get("code") == NOT_PRIMARY

    def _rotate(self) -> None:
        self.addresses.append(self.addresses.pop(0))
        self.host, self.port = self.addresses[0]

    def _result(self, message: Message) -> Message:
        result = response_result(message)
        result.pop("gtm_term", None)
        epoch = result.get("epoch")
        if isinstance(epoch, int):
            self.epoch = epoch
        return result

    async def _ensure_link(self, deadline: float | None = None) -> _Link:
        if self._closed:
            raise GtmUnavailable("GTM client closed")
        link = self._link
        if link is not None and not link.closed:
            return link
        async with self._connect_lock:
            if self._link is None or self._link.closed:
                self._link = await self._open_any(deadline)
            return self._link

    async def _open_any(self, deadline: float | None) -> _Link:
        """Connect to the first address that answers, trying each in turn until
        ``deadline`` (one round when there is none)."""
        loop = asyncio.get_running_loop()
        end = loop.time() + self.failover_wait if deadline is None else deadline
        while True:
            for _ in range(len(self.addresses)):
                try:
                    return await self._open_link()
                except GtmUnavailable:
                    if len(self.addresses) == 1 or loop.time() >= end:
                        raise
                    self._rotate()
            await asyncio.sleep(0.1)

    async def _open_link(self) -> _Link:
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection(self.host, self.port), self.timeout
            )
        except (OSError, TimeoutError) as exc:
            raise GtmUnavailable(
                f"cannot reach GTM at {self.host}:{self.port}: {type(exc).__name__}: {exc}") from None
        link = _Link(reader, writer)
        link.reader_task = asyncio.create_task(_read_replies(link))
        return link


async def _read_replies(link: _Link) -> None:
    """Resolve waiting calls with the replies of one connection until it drops."""
    reason = "GTM closed the connection"
    try:
        while True:
            length = decode_length(await link.reader.readexactly(HEADER_SIZE))
            message = decode_payload(await link.reader.readexactly(length))
            _deliver(link, message)
    except (asyncio.IncompleteReadError, ConnectionError, OSError) as exc:
        reason = f"connection to GTM lost: {exc or type(exc).__name__}"
    except ProtocolError as exc:
        reason = f"GTM protocol error: {exc}"
    finally:
        _drop(link, GtmUnavailable(reason))


def _deliver(link: _Link, message: Message) -> None:
    request_id = message.get("id")
    if not isinstance(request_id, int):
        error = message.get("error") or {}
        raise ProtocolError(str(error.get("code", "08P01")), str(error.get("message", "")))
    if request_id in link.abandoned_fences:
        link.abandoned_fences.discard(request_id)
        _release_abandoned_token(link, message)
        return
    waiter = link.pending.pop(request_id, None)
    if waiter is not None and not waiter.done():
        waiter.set_result(message)


def _release_abandoned_token(link: _Link, message: Message) -> None:
    token = message.get("token")
    if isinstance(token, int) and not link.writer.is_closing():
        # id 0 is never used by calls, so the reply is dropped on arrival
        link.writer.write(encode_frame(build_request(0, "fence_release", {"token": token})))


def _drop(link: _Link, exc: GtmUnavailable) -> None:
    if link.closed:
        return
    link.closed = True
    for waiter in link.pending.values():
        if not waiter.done():
            waiter.set_exception(exc)
    link.pending.clear()
    link.writer.close()
    if link.reader_task is not None and link.reader_task is not asyncio.current_task():
        link.reader_task.cancel()


def gtm_call_sync(host: str, port: int, op: str, timeout: float = 5.0, **fields: Any) -> Message:
    """One request over a fresh blocking socket (for the CLI and status checks)."""
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.sendall(encode_frame(build_request(1, op, fields)))
            result = response_result(_receive_one(sock))
    except OSError as exc:
        raise GtmUnavailable(f"cannot reach GTM at {host}:{port}: {type(exc).__name__}: {exc}") from None
    result.pop("gtm_term", None)
    return result


def gtm_call_any(addresses: list[tuple[str, int]], op: str, timeout: float = 5.0,
                 **fields: Any) -> Message:
    """``gtm_call_sync`` on the first of ``addresses`` that acts as the primary."""
    error: Exception = GtmUnavailable("no GTM address given")
    for host, port in addresses:
        try:
            return gtm_call_sync(host, port, op, timeout, **fields)
        except GtmError as exc:
            if exc.code != NOT_PRIMARY:
                raise
            error = exc
        except GtmUnavailable as exc:
            error = exc
    raise error


def _receive_one(sock: socket.socket) -> Message:
    decoder = FrameDecoder()
    while True:
        data = sock.recv(65536)
        if not data:
            raise GtmUnavailable("GTM closed the connection before answering")
        messages = decoder.feed(data)
        if messages:
            return messages[0]
