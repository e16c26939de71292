"""The GTM server: an asyncio TCP service over ``protocol`` and ``storage``.

Owns the live GTM state (GXID and timestamp high-water marks, sequences, the metadata
epoch, the 2PC decision log, the commit/snapshot fence), the request dispatch, group
commit, and the process entry point (``python -m gridpg.gtm.server --dir D --port P``).

Rules it keeps: a reply that promises something durable (a GXID, a timestamp, a sequence
value, a logged decision, an epoch) is sent only after the SQLite commit that covers it;
reads of durable state wait for any commit in progress, so nothing uncommitted is ever
shown. It must not talk to datanodes or coordinators; it only answers.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import logging
import os
import signal
import sys
import time
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass, field, replace
from enum import StrEnum
from pathlib import Path
from typing import Any

from gridpg.gtm.coordination import CoordinationOps, wait_seconds
from gridpg.gtm.node import GtmNode
from gridpg.gtm.protocol import (
    DUPLICATE_TABLE,
    FEATURE_NOT_SUPPORTED,
    HEADER_SIZE,
    INTERNAL_ERROR,
    INVALID_PARAMETER_VALUE,
    IO_ERROR,
    UNDEFINED_TABLE,
    GtmError,
    Message,
    ProtocolError,
    Request,
    build_error,
    build_response,
    decode_length,
    decode_payload,
    encode_frame,
    parse_request,
)
from gridpg.gtm.storage import (
    SEQ_LOG_AHEAD,
    Decision,
    SequenceDef,
    Storage,
    StorageLocked,
    advance_quietly,
    build_sequence,
    next_range,
    set_value,
)

log = logging.getLogger("gridpg.gtm")

FIRST_GXID = 1000
GXID_BLOCK = 10_000
TIMESTAMP_BLOCK_US = 1_000_000
MAX_COUNT = 1_000_000
MAX_IN_FLIGHT_PER_CONNECTION = 4096


# ---------------------------------------------------------------------------------------
# The consistency fence (pure)
# ---------------------------------------------------------------------------------------


class FenceMode(StrEnum):
    """The two shared fence modes; holders of one exclude holders of the other."""

    COMMIT = "commit"
    SNAPSHOT = "snapshot"

    @property
    def other(self) -> FenceMode:
        return FenceMode.SNAPSHOT if self is FenceMode.COMMIT else FenceMode.COMMIT


@dataclass(slots=True)
class _Ticket:
    mode: FenceMode
    owner: Hashable
    granted: bool = False


class FenceState:
    """Phase-fair grant logic of the commit/snapshot fence; no I/O, no waiting.

    Any number of holders of one mode at once, never both modes. While the other mode
    waits, new requests for the current mode queue too; when the current holders are
    gone, every waiter of the other mode is granted at once (a phase). Methods that free
    the fence return the tokens they granted so the caller can wake them.
    """

    def __init__(self) -> None:
        self._tickets: dict[int, _Ticket] = {}
        self._holders: dict[FenceMode, set[int]] = {m: set() for m in FenceMode}
        self._waiting: dict[FenceMode, list[int]] = {m: [] for m in FenceMode}
        self._last_phase: FenceMode | None = None
        self._tokens = itertools.count(1)

    def acquire(self, mode: FenceMode, owner: Hashable) -> tuple[int, bool]:
        """Ask for the fence in ``mode``; return the token and whether it is granted now."""
        token = next(self._tokens)
        self._tickets[token] = _Ticket(mode, owner)
        if self._should_admit(mode):
            self._grant(token)
        else:
            self._waiting[mode].append(token)
        return token, self._tickets[token].granted

    def release(self, token: int) -> list[int]:
        """Give back a held token or withdraw a waiting one; return tokens granted."""
        ticket = self._tickets.pop(token, None)
        if ticket is None:
            raise KeyError(token)
        if ticket.granted:
            self._holders[ticket.mode].discard(token)
        else:
            self._waiting[ticket.mode].remove(token)
        return self._advance()

    def release_owner(self, owner: Hashable) -> list[int]:
        """Release every token held or awaited by ``owner`` (its connection dropped)."""
        granted: list[int] = []
        for token in [t for t, ticket in self._tickets.items() if ticket.owner == owner]:
            granted.extend(self.release(token))
        return [t for t in granted if t in self._tickets]

    def owner_of(self, token: int) -> Hashable | None:
        ticket = self._tickets.get(token)
        return None if ticket is None else ticket.owner

    def is_granted(self, token: int) -> bool:
        ticket = self._tickets.get(token)
        return ticket is not None and ticket.granted

    @property
    def mode(self) -> FenceMode | None:
        """The mode currently held, or None when the fence is free."""
        for mode in FenceMode:
            if self._holders[mode]:
                return mode
        return None

    def holders(self, mode: FenceMode) -> int:
        return len(self._holders[mode])

    def waiting(self, mode: FenceMode) -> int:
        return len(self._waiting[mode])

    def _should_admit(self, mode: FenceMode) -> bool:
        if self._waiting[mode.other] or self._holders[mode.other]:
            return False
        return not self._waiting[mode]

    def _advance(self) -> list[int]:
        current = self.mode
        if current is None:
            next_mode = self._pick_next_phase()
            return [] if next_mode is None else self._grant_all_waiting(next_mode)
        if not self._waiting[current.other]:
            return self._grant_all_waiting(current)
        return []

    def _pick_next_phase(self) -> FenceMode | None:
        candidates = [m for m in FenceMode if self._waiting[m]]
        if len(candidates) == 2 and self._last_phase is not None:
            return self._last_phase.other
        return candidates[0] if candidates else None

    def _grant_all_waiting(self, mode: FenceMode) -> list[int]:
        tokens, self._waiting[mode] = self._waiting[mode], []
        for token in tokens:
            self._grant(token)
        return tokens

    def _grant(self, token: int) -> None:
        ticket = self._tickets[token]
        ticket.granted = True
        if not any(self._holders.values()):
            self._last_phase = ticket.mode
        self._holders[ticket.mode].add(token)


# ---------------------------------------------------------------------------------------
# Durability: group commit and high-water marks
# ---------------------------------------------------------------------------------------


Replicate = Callable[[int, list[Any]], Awaitable[None]]


class GroupCommitter:
    """Commits the writes of every request of a loop tick with one SQLite commit, then,
    when a standby GTM follows, waits until it has them too (``replicate``)."""

    def __init__(self, storage: Storage, on_failure: Callable[[BaseException], None]) -> None:
        self._storage = storage
        self._on_failure = on_failure
        self._waiters: list[asyncio.Future[None]] = []
        self._wakeup = asyncio.Event()
        self.commits = 0
        self.synced_requests = 0
        self.replicate: Replicate | None = None
        self._in_flight: asyncio.Future[None] | None = None  # the flush under way

    async def sync(self) -> None:
        """Return once every write made so far is durable (and on the standby, if one
        follows): also the writes of a flush still waiting for the standby."""
        if not self._storage.has_pending_writes:
            if self._in_flight is not None and not self._in_flight.done():
                await asyncio.shield(self._in_flight)
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        self._wakeup.set()
        await waiter

    async def run(self) -> None:
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            await asyncio.sleep(0)  # let the requests of this tick join the batch
            await self._flush()

    async def _flush(self) -> None:
        waiters, self._waiters = self._waiters, []
        in_flight = self._in_flight = asyncio.get_running_loop().create_future()
        waiters.append(in_flight)
        try:
            batch = self._storage.commit()
            if batch and self.replicate is not None:
                await self.replicate(self._storage.lsn, batch)
        except Exception as exc:  # noqa: BLE001 -- disk full, I/O error: stop rather than lie
            log.critical("GTM commit failed, stopping: %s", exc)
            for waiter in waiters:
                if not waiter.done():
                    waiter.set_exception(GtmError(IO_ERROR, f"GTM commit failed: {exc}"))
            in_flight.exception()  # retrieved: nobody may be waiting for it
            self._on_failure(exc)
            return
        self.commits += 1
        self.synced_requests += len(waiters) - 1
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)


class HighWaterMark:
    """A durable upper bound on values handed out, raised a block at a time.

    Every value handed out is below the stored mark, so after a crash the server starts
    at the mark and never repeats a value; only raising the mark costs a commit.
    """

    def __init__(self, key: str, storage: Storage, committer: GroupCommitter, block: int) -> None:
        self._key = key
        self._storage = storage
        self._committer = committer
        self._block = block
        self.stored = storage.load_meta(key, 0)
        self._reserved = self.stored
        self._durable = self.stored

    async def cover(self, value: int) -> None:
        """Return once ``value`` lies durably below the mark."""
        if value >= self._reserved:
            self._reserved = value + 1 + self._block
            self._storage.save_meta(self._key, self._reserved)
        if value >= self._durable:
            target = self._reserved
            await self._committer.sync()
            self._durable = max(self._durable, target)


# ---------------------------------------------------------------------------------------
# The service: one handler per op
# ---------------------------------------------------------------------------------------

Handler = Callable[[int, Message], Awaitable[Message]]


@dataclass(slots=True)
class ServiceStats:
    requests: int = 0
    errors: int = 0
    connections: int = 0
    by_op: dict[str, int] = field(default_factory=dict)
    started: float = field(default_factory=time.time)


class GtmService(CoordinationOps):
    """The GTM's state and its operations, independent of sockets."""

    def __init__(self, storage: Storage, on_failure: Callable[[BaseException], None]) -> None:
        self.storage = storage
        self.committer = GroupCommitter(storage, on_failure)
        self.fence = FenceState()
        self.stats = ServiceStats()
        self._gxid_mark = HighWaterMark("gxid_hwm", storage, self.committer, GXID_BLOCK)
        self._ts_mark = HighWaterMark("ts_hwm", storage, self.committer, TIMESTAMP_BLOCK_US)
        self._next_gxid = max(FIRST_GXID, self._gxid_mark.stored)
        self._last_ts = self._ts_mark.stored
        self._epoch = storage.load_meta("epoch", 1)
        self._durable_epoch = self._epoch
        self._sequences = storage.load_sequences()
        self._seq_logged: dict[str, int] = {}  # values the stored state is ahead of memory
        self._decisions = storage.load_decisions()
        self._fence_waiters: dict[int, asyncio.Future[None]] = {}
        self._snapshot_watchers: set[asyncio.Future[None]] = set()  # op_fence_watch's waits
        self.fence_open_at = 0.0  # a promoted GTM waits before its first grant (gtm/node.py)
        self.init_coordination()
        self._ops: dict[str, Handler] = {
            name.removeprefix("op_"): getattr(self, name)
            for name in dir(self)
            if name.startswith("op_")
        }

    async def handle(self, conn_id: int, request: Request) -> Message:
        """Run one request; return its result fields or raise ``GtmError``."""
        handler = self._ops.get(request.op)
        self.stats.requests += 1
        self.stats.by_op[request.op] = self.stats.by_op.get(request.op, 0) + 1
        if handler is None:
            raise GtmError(FEATURE_NOT_SUPPORTED, f"unknown GTM operation {request.op!r}")
        return await handler(conn_id, request.fields)

    def forget_connection(self, conn_id: int) -> None:
        """Release every fence token a dropped connection held or awaited (and its pause)."""
        self._wake(self.fence.release_owner(conn_id))
        self.forget_coordination(conn_id)

    # -- ids and time -----------------------------------------------------------------------

    async def op_ping(self, conn_id: int, fields: Message) -> Message:
        return {}

    async def op_next_gxid(self, conn_id: int, fields: Message) -> Message:
        count = _count(fields)
        first = self._next_gxid
        self._next_gxid += count
        await self._gxid_mark.cover(first + count - 1)
        return {"gxid": first, "epoch": self._durable_epoch}

    async def op_timestamp(self, conn_id: int, fields: Message) -> Message:
        ts = max(_now_us(), self._last_ts + 1)
        self._last_ts = ts
        await self._ts_mark.cover(ts)
        return {"ts": ts, "epoch": self._durable_epoch}

    # -- sequences --------------------------------------------------------------------------

    async def op_seq_create(self, conn_id: int, fields: Message) -> Message:
        name = _str(fields, "name")
        if name in self._sequences:
            if _bool(fields, "if_not_exists", False):
                return {"created": False}
            raise GtmError(DUPLICATE_TABLE, f'relation "{name}" already exists')
        seq = build_sequence(
            name,
            _opt_int(fields, "start"),
            _int(fields, "increment", 1),
            _opt_int(fields, "minvalue"),
            _opt_int(fields, "maxvalue"),
            _bool(fields, "cycle", False),
        )
        self._sequences[name] = seq
        self._save_sequence(seq)
        await self.committer.sync()
        return {"created": True}

    async def op_seq_next(self, conn_id: int, fields: Message) -> Message:
        """Values as PostgreSQL's nextval hands them out, with its write-ahead: the stored
        state runs SEQ_LOG_AHEAD values ahead, so most calls cost no commit; after a crash
        the sequence continues after the stored state (a gap, never a repeat)."""
        name = _str(fields, "name")
        seq = self._sequence(name)
        first, last = next_range(seq, _count(fields))
        taken = (last - first) // seq.increment + 1
        logged = self._seq_logged.get(name, 0)
        if taken <= logged:
            self._seq_logged[name] = logged - taken
        else:
            ahead = replace(seq)
            self._seq_logged[name] = advance_quietly(ahead, SEQ_LOG_AHEAD)
            self.storage.save_sequence(ahead)
        await self.committer.sync()  # the stored state covering these values is durable
        return {"first": first, "last": last, "increment": seq.increment}

    def _save_sequence(self, seq: SequenceDef) -> None:
        """Store the exact state (no values ahead)."""
        self._seq_logged.pop(seq.name, None)
        self.storage.save_sequence(seq)

    async def save_exact_sequences(self) -> None:
        """On a clean stop: store each sequence's exact position instead of the state
        ahead of it, so a restart continues without a gap."""
        for name in [n for n, ahead in self._seq_logged.items() if ahead and n in self._sequences]:
            self._save_sequence(self._sequences[name])
        await self.committer.sync()

    async def op_seq_setval(self, conn_id: int, fields: Message) -> Message:
        seq = self._sequence(_str(fields, "name"))
        set_value(seq, _int(fields, "value"), _bool(fields, "is_called", True))
        self._save_sequence(seq)
        await self.committer.sync()
        return {}

    async def op_seq_giveback(self, conn_id: int, fields: Message) -> Message:
        """A coordinator returns the unused tail of its cached range: the sequence steps back
        to `first_unused` only if nobody took a value after that range (compare and set)."""
        seq = self._sequence(_str(fields, "name"))
        if not (seq.is_called and seq.last_value == _int(fields, "last")):
            return {"returned": False}
        first = _int(fields, "first_unused")
        before = first - seq.increment  # the last value handed out, as PostgreSQL keeps it
        if seq.minvalue <= before <= seq.maxvalue:
            seq.last_value, seq.is_called = before, True
        else:
            seq.last_value, seq.is_called = first, False
        self._save_sequence(seq)
        await self.committer.sync()
        return {"returned": True}

    async def op_seq_currval_state(self, conn_id: int, fields: Message) -> Message:
        seq = self._sequence(_str(fields, "name"))
        await self.committer.sync()
        return seq.to_dict()

    async def op_seq_drop(self, conn_id: int, fields: Message) -> Message:
        name = _str(fields, "name")
        if name not in self._sequences:
            if _bool(fields, "if_exists", False):
                return {"dropped": False}
            raise _undefined_sequence(name)
        del self._sequences[name]
        self._seq_logged.pop(name, None)
        self.storage.delete_sequence(name)
        await self.committer.sync()
        return {"dropped": True}

    async def op_seq_rename(self, conn_id: int, fields: Message) -> Message:
        name, new_name = _str(fields, "name"), _str(fields, "new_name")
        seq = self._sequence(name)
        if new_name in self._sequences:
            raise GtmError(DUPLICATE_TABLE, f'relation "{new_name}" already exists')
        self.storage.rename_sequence(name, new_name)
        seq.name = new_name
        self._sequences[new_name] = self._sequences.pop(name)
        if name in self._seq_logged:
            self._seq_logged[new_name] = self._seq_logged.pop(name)
        await self.committer.sync()
        return {}

    async def op_seq_list(self, conn_id: int, fields: Message) -> Message:
        await self.committer.sync()
        return {"sequences": [self._sequences[n].to_dict() for n in sorted(self._sequences)]}

    def _sequence(self, name: str) -> SequenceDef:
        seq = self._sequences.get(name)
        if seq is None:
            raise _undefined_sequence(name)
        return seq

    # -- metadata epoch ---------------------------------------------------------------------

    async def op_epoch_get(self, conn_id: int, fields: Message) -> Message:
        await self.committer.sync()
        return {"epoch": self._epoch}

    async def op_epoch_bump(self, conn_id: int, fields: Message) -> Message:
        self._epoch += 1
        epoch = self._epoch
        self.storage.save_meta("epoch", epoch)
        await self.committer.sync()
        self._durable_epoch = max(self._durable_epoch, epoch)
        return {"epoch": epoch}

    # -- 2PC decision log -------------------------------------------------------------------

    async def op_txn_log_commit(self, conn_id: int, fields: Message) -> Message:
        """Log a 2PC commit decision durably; with `fence: "commit"`, then also take the
        commit fence for its COMMIT PREPARED round (one round trip instead of two). An
        optional `forget` list carries decisions the coordinator is done with (what
        `txn_forget` does, without a request of its own)."""
        gid, nodes = _str(fields, "gid"), _str_list(fields, "nodes")
        fence = None if fields.get("fence") is None else _fence_mode({"mode": fields.get("fence")})
        if fields.get("forget") is not None:
            self._forget_decisions(_str_list(fields, "forget"))
        self.ensure_not_aborted(gid)
        if gid not in self._decisions:  # a retried log call keeps the first decision
            decision = Decision(gid, nodes, _now_us())
            self._decisions[gid] = decision
            self.storage.save_decision(decision)
        await self.committer.sync()
        if fence is None:
            return {}
        started = time.monotonic()
        token = await self._acquire_fence(conn_id, fence)
        return {"token": token, "fence_wait": time.monotonic() - started}

    async def op_txn_forget(self, conn_id: int, fields: Message) -> Message:
        """Forget a decision (`gid`, or each of `gids`) once every node committed. Not
        waited for on disk: the delete goes with the next group commit; lost in a crash,
        the decision is a leftover that in-doubt recovery forgets (no node holds its GID
        prepared), never a wrong outcome."""
        gids = _str_list(fields, "gids") if fields.get("gids") is not None else [_str(fields, "gid")]
        self._forget_decisions(gids)
        return {}

    def _forget_decisions(self, gids: list[str]) -> None:
        for gid in gids:
            if self._decisions.pop(gid, None) is not None:
                self.storage.delete_decision(gid)

    async def op_txn_decisions(self, conn_id: int, fields: Message) -> Message:
        await self.committer.sync()
        ordered = sorted(self._decisions.values(), key=lambda d: (d.ts, d.gid))
        return {"decisions": [d.to_dict() for d in ordered]}

    async def op_txn_is_committed(self, conn_id: int, fields: Message) -> Message:
        gid = _str(fields, "gid")
        await self.committer.sync()
        return {"committed": gid in self._decisions}

    # -- consistency fence ------------------------------------------------------------------

    async def op_fence_acquire(self, conn_id: int, fields: Message) -> Message:
        return {"token": await self._acquire_fence(conn_id, _fence_mode(fields))}

    async def _acquire_fence(self, conn_id: int, mode: FenceMode) -> int:
        delay = self.fence_open_at - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        token, granted = self.fence.acquire(mode, conn_id)
        if not granted:
            if mode is FenceMode.SNAPSHOT:
                for watcher in self._snapshot_watchers:
                    if not watcher.done():
                        watcher.set_result(None)
            waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._fence_waiters[token] = waiter
            try:
                await waiter
            except asyncio.CancelledError:
                self._release_if_known(token)
                raise
        return token

    async def op_fence_watch(self, conn_id: int, fields: Message) -> Message:
        """Answer once a snapshot request waits for the fence (at once if one waits now),
        or after `wait_ms`: a coordinator worker keeps a commit token between its commits
        while nobody waits for the snapshot fence, and gives it back on this answer."""
        if not self.fence.waiting(FenceMode.SNAPSHOT):
            watcher: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._snapshot_watchers.add(watcher)
            try:
                await asyncio.wait_for(watcher, wait_seconds(fields))
            except TimeoutError:
                pass
            finally:
                self._snapshot_watchers.discard(watcher)
        return {"snapshot_waiting": self.fence.waiting(FenceMode.SNAPSHOT) > 0}

    async def op_fence_release(self, conn_id: int, fields: Message) -> Message:
        token = _int(fields, "token")
        if self.fence.owner_of(token) != conn_id:
            raise GtmError(INVALID_PARAMETER_VALUE, f"fence token {token} is not held here")
        self._wake(self.fence.release(token))
        return {}

    def _release_if_known(self, token: int) -> None:
        self._fence_waiters.pop(token, None)
        if self.fence.owner_of(token) is not None:
            self._wake(self.fence.release(token))

    def _wake(self, tokens: list[int]) -> None:
        for token in tokens:
            waiter = self._fence_waiters.pop(token, None)
            if waiter is not None and not waiter.done():
                waiter.set_result(None)

    # -- monitoring -------------------------------------------------------------------------

    async def op_stats(self, conn_id: int, fields: Message) -> Message:
        stats = self.stats
        return {
            "requests": stats.requests,
            "errors": stats.errors,
            "connections": stats.connections,
            "by_op": dict(stats.by_op),
            "uptime_s": round(time.time() - stats.started, 3),
            "epoch": self._durable_epoch,
            "next_gxid": self._next_gxid,
            "sequences": len(self._sequences),
            "decisions": len(self._decisions),
            "group_commits": self.committer.commits,
            "group_commit_requests": self.committer.synced_requests,
            "fence": {
                "mode": None if self.fence.mode is None else self.fence.mode.value,
                "holders": {m.value: self.fence.holders(m) for m in FenceMode},
                "waiting": {m.value: self.fence.waiting(m) for m in FenceMode},
            },
        }


def _now_us() -> int:
    return time.time_ns() // 1000


# ---------------------------------------------------------------------------------------
# Request field parsing
# ---------------------------------------------------------------------------------------

_REQUIRED: Any = object()


def _int(fields: Message, key: str, default: int = _REQUIRED) -> int:
    value = fields.get(key, default)
    if value is _REQUIRED:
        raise GtmError(INVALID_PARAMETER_VALUE, f"missing field {key!r}")
    if not isinstance(value, int) or isinstance(value, bool):
        raise GtmError(INVALID_PARAMETER_VALUE, f"field {key!r} must be an integer")
    return value


def _opt_int(fields: Message, key: str) -> int | None:
    return None if fields.get(key) is None else _int(fields, key)


def _count(fields: Message) -> int:
    count = _int(fields, "count", 1)
    if not 1 <= count <= MAX_COUNT:
        raise GtmError(INVALID_PARAMETER_VALUE, f"count must lie within [1, {MAX_COUNT}]")
    return count


def _str(fields: Message, key: str) -> str:
    value = fields.get(key)
    if not isinstance(value, str) or not value:
        raise GtmError(INVALID_PARAMETER_VALUE, f"field {key!r} must be a non-empty string")
    return value


def _bool(fields: Message, key: str, default: bool) -> bool:
    value = fields.get(key, default)
    if not isinstance(value, bool):
        raise GtmError(INVALID_PARAMETER_VALUE, f"field {key!r} must be a boolean")
    return value


def _str_list(fields: Message, key: str) -> list[str]:
    value = fields.get(key)
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise GtmError(INVALID_PARAMETER_VALUE, f"field {key!r} must be a list of strings")
    return list(value)


def _fence_mode(fields: Message) -> FenceMode:
    try:
        return FenceMode(str(fields.get("mode")))
    except ValueError:
        raise GtmError(INVALID_PARAMETER_VALUE, "mode must be 'commit' or 'snapshot'") from None


def _undefined_sequence(name: str) -> GtmError:
    return GtmError(UNDEFINED_TABLE, f'relation "{name}" does not exist')


# ---------------------------------------------------------------------------------------
# Connections
# ---------------------------------------------------------------------------------------


class GtmConnection:
    """One client connection: reads frames, runs requests concurrently, writes replies."""

    def __init__(
        self,
        service: GtmNode,
        conn_id: int,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
    ) -> None:
        self._service = service
        self._conn_id = conn_id
        self._reader = reader
        self._writer = writer
        self._tasks: set[asyncio.Task[None]] = set()
        self._slots = asyncio.Semaphore(MAX_IN_FLIGHT_PER_CONNECTION)

    async def run(self) -> None:
        try:
            await self._read_loop()
        except ProtocolError as exc:
            log.warning("connection %d: protocol violation: %s", self._conn_id, exc)
            self._send(build_error(None, exc))
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            await self._close()

    async def _read_loop(self) -> None:
        while True:
            length = decode_length(await self._reader.readexactly(HEADER_SIZE))
            message = decode_payload(await self._reader.readexactly(length))
            try:
                request = parse_request(message)
            except ProtocolError:
                raise
            except GtmError as exc:
                self._send(build_error(message.get("id"), exc))
                continue
            await self._slots.acquire()
            task = asyncio.create_task(self._run_request(request))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _run_request(self, request: Request) -> None:
        try:
            result = await self._service.handle(self._conn_id, request)
            reply = build_response(request.id, {**result, "gtm_term": self._service.term})
        except GtmError as exc:
            self._service.stats.errors += 1
            reply = build_error(request.id, exc)
        except Exception as exc:  # a bug must not kill the connection's other requests
            log.exception("request %s failed", request.op)
            reply = build_error(request.id, GtmError(INTERNAL_ERROR, f"internal error: {exc}"))
        finally:
            self._slots.release()
        self._send(reply)
        with contextlib.suppress(ConnectionError):
            await self._writer.drain()

    def _send(self, message: Message) -> None:
        if self._writer.is_closing():
            return
        try:
            frame = encode_frame(message)
        except ProtocolError as exc:
            frame = encode_frame(build_error(message.get("id"), exc))
        self._writer.write(frame)

    async def _close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._service.forget_connection(self._conn_id)
        self._writer.close()
        with contextlib.suppress(ConnectionError, OSError):
            await self._writer.wait_closed()


# ---------------------------------------------------------------------------------------
# Serving
# ---------------------------------------------------------------------------------------


async def serve(data_dir: Path, host: str, port: int, ready: asyncio.Event | None = None,
                peer: tuple[str, int] | None = None, role: str = "primary", metrics_port: int = 0) -> None:
    """Serve the GTM on ``host:port`` with state in ``data_dir`` until cancelled.

    With ``peer`` this GTM is one of a primary/standby pair (gtm/node.py); ``role`` is
    its role on the first start only. Raises ``StorageLocked`` if another GTM serves
    ``data_dir``, and ``RuntimeError`` if a commit fails (the GTM stops rather than hand
    out numbers it could not make durable).
    """
    storage = Storage(data_dir)
    failure: asyncio.Future[BaseException] = asyncio.get_running_loop().create_future()

    def on_failure(exc: BaseException) -> None:
        if not failure.done():
            failure.set_result(exc)

    node = GtmNode(storage, on_failure, peer, role)
    if metrics_port:
        from gridpg.gtm import metrics

        metrics.serve(node, host, metrics_port)
    conn_tasks: dict[int, asyncio.Task[Any]] = {}
    conn_ids = itertools.count(1)

    async def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        conn_id = next(conn_ids)
        conn_tasks[conn_id] = task
        node.stats.connections += 1
        try:
            await GtmConnection(node, conn_id, reader, writer).run()
        except asyncio.CancelledError:
            pass  # shutdown; a cancelled callback task would make asyncio log a traceback
        finally:
            node.stats.connections -= 1
            conn_tasks.pop(conn_id, None)

    def close_clients(keep: int | None) -> None:
        for conn_id, task in list(conn_tasks.items()):
            if conn_id != keep:
                task.cancel()

    server: asyncio.Server | None = None
    try:
        node.start(close_clients)
        server = await asyncio.start_server(on_connect, host, port)
        log.info("GTM listening on %s (data %s, %s of term %d)", _bound_address(server), data_dir,
                 node.role, node.term)
        if ready is not None:
            ready.set()
        exc = await failure
        raise RuntimeError(f"GTM stopped after a failed commit: {exc}")
    finally:
        # (awaiting `failure` when cancelled cancels it: that is a clean stop, not a failure)
        failed = failure.done() and not failure.cancelled()
        await _shutdown(server, set(conn_tasks.values()), node, storage, failed)


async def _shutdown(
    server: asyncio.Server | None,
    conn_tasks: set[asyncio.Task[Any]],
    node: GtmNode,
    storage: Storage,
    failed: bool,
) -> None:
    if server is not None:
        server.close()
    for task in conn_tasks:
        task.cancel()
    await asyncio.gather(*conn_tasks, return_exceptions=True)
    # Only a GTM without a peer stores at stop: a pair's primary committing what its
    # standby never got would leave the two diverged (a pair's restart skips up to 32
    # values per sequence, as after a crash).
    standalone = node.peer is None
    if not failed and standalone and node.is_acting():
        try:
            await asyncio.wait_for(node.service.save_exact_sequences(), SHUTDOWN_SAVE_S)
        except Exception as exc:  # noqa: BLE001 -- then a restart skips the values stored ahead
            log.warning("could not store the exact sequence positions at stop: %s", exc)
    await node.stop()
    if not failed and standalone and node.role == "primary":
        with contextlib.suppress(Exception):
            storage.commit()
    storage.close()
    log.info("GTM stopped")


SHUTDOWN_SAVE_S = 2.0  # a clean stop waits this long for the exact sequence positions


def _bound_address(server: asyncio.Server) -> str:
    return ", ".join(f"{s.getsockname()[0]}:{s.getsockname()[1]}" for s in server.sockets)


def main(argv: list[str] | None = None) -> int:
    """Run the GTM process: ``--dir DIR --host H --port P``; exit 0 on SIGTERM/SIGINT."""
    args = _parse_args(argv)
    logging.basicConfig(
        stream=sys.stderr,
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s gtm[%(process)d] %(levelname)s %(message)s",
    )
    try:
        import uvloop  # the coordinator's loop too: about a third less CPU per request

        uvloop.install()
    except ImportError:
        pass
    try:
        peer = _address(args.peer) if args.peer else None
        return asyncio.run(_run(Path(args.dir), args.host, args.port, peer, args.role, args.metrics_port))
    except StorageLocked as exc:
        log.error("%s", exc)
        return 1
    except (OSError, RuntimeError) as exc:
        log.error("GTM failed: %s", exc)
        return 1


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="gridpg-gtm", description="gridpg GTM server")
    parser.add_argument("--dir", required=True, help="data directory (SQLite state, pid)")
    parser.add_argument("--host", default="127.0.0.1", help="listen address")
    parser.add_argument("--port", type=int, default=6666, help="listen port")
    parser.add_argument("--peer", default=None, help="HOST:PORT of the other GTM of a pair")
    parser.add_argument("--role", default="primary", choices=["primary", "standby"],
                        help="role at the first start of a pair (later: the stored one)")
    parser.add_argument("--metrics-port", type=int, default=0, help="serve Prometheus metrics here (0: none)")
    parser.add_argument("--verbose", action="store_true", help="debug logging")
    return parser.parse_args(argv)


def _address(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit():
        raise SystemExit(f"--peer must be HOST:PORT, not {text!r}")
    return host, int(port)


async def _run(data_dir: Path, host: str, port: int, peer: tuple[str, int] | None = None,
               role: str = "primary", metrics_port: int = 0) -> int:
    loop = asyncio.get_running_loop()
    ready = asyncio.Event()
    serve_task = asyncio.create_task(serve(data_dir, host, port, ready, peer, role, metrics_port))
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, serve_task.cancel)
    pid_file = data_dir / "gtm.pid"
    ready_task = asyncio.create_task(ready.wait())
    try:
        await asyncio.wait({serve_task, ready_task}, return_when=asyncio.FIRST_COMPLETED)
        if ready.is_set():
            pid_file.write_text(f"{os.getpid()}\n")
        await serve_task
    except asyncio.CancelledError:
        log.info("GTM received a stop signal")
    finally:
        ready_task.cancel()
        if ready.is_set():
            pid_file.unlink(missing_ok=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
