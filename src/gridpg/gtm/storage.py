"""Durable GTM state in SQLite, and the arithmetic of global sequences.

Owns the file ``DIR/gtm.db`` (WAL mode, ``synchronous=FULL``) and an exclusive lock on
``DIR/gtm.lock`` so that two GTMs can never hand out numbers from the same directory.
Writes open a transaction that stays open until ``commit()``: the server batches the
writes of many requests into one commit (group commit) and replies only after it.

What is stored: high-water marks (GXIDs, timestamps), the metadata epoch, sequences, the
2PC commit decision log, the aborts recorded by in-doubt recovery, CREATE BARRIER's
records, and each lease's last holder (written when the holder changes or releases). Everything here is synchronous and never touches asyncio;
the sequence rules (``SequenceDef``, ``next_range``) are pure functions of their inputs.

Replication (gtm/replication.py): every write is also kept, as its SQL text and
parameters, in the batch of the open transaction; ``commit()`` returns that batch and
raises the log position ``repl_lsn`` by one, so a standby that applies the batches in
order (``apply_batch``) holds the same rows. ``dump_state``/``load_state`` copy the whole
replicated state at once (a standby catching up). The keys of ``LOCAL_META`` (the GTM's
own role, term and log position) are never replicated.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import sqlite3
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from gridpg.gtm.protocol import (
    DUPLICATE_TABLE,
    INVALID_PARAMETER_VALUE,
    NUMERIC_VALUE_OUT_OF_RANGE,
    SEQUENCE_GENERATOR_LIMIT_EXCEEDED,
    GtmError,
)

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1
SCHEMA_VERSION = 1
LOCAL_META = ("repl_lsn", "role", "term")
REPLICATED_TABLES = ("meta", "sequence", "commit_decision", "abort_decision", "lease", "barrier",
                     "barrier_detail")
Statement = tuple[str, list[Any]]

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL)",
    """CREATE TABLE IF NOT EXISTS sequence (
        name TEXT PRIMARY KEY, last_value INTEGER NOT NULL, is_called INTEGER NOT NULL,
        start INTEGER NOT NULL, increment INTEGER NOT NULL, minvalue INTEGER NOT NULL,
        maxvalue INTEGER NOT NULL, cycle INTEGER NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS commit_decision (
        gid TEXT PRIMARY KEY, nodes TEXT NOT NULL, ts INTEGER NOT NULL)""",
    "CREATE TABLE IF NOT EXISTS abort_decision (gid TEXT PRIMARY KEY, ts INTEGER NOT NULL)",
    """CREATE TABLE IF NOT EXISTS lease (
        name TEXT PRIMARY KEY, holder TEXT NOT NULL, released INTEGER NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS barrier (
        name TEXT PRIMARY KEY, ts INTEGER NOT NULL, points TEXT NOT NULL)""",
    # What a restore to the barrier needs besides the LSNs: WAL file names, the decisions.
    "CREATE TABLE IF NOT EXISTS barrier_detail (name TEXT PRIMARY KEY, detail TEXT NOT NULL)",
)


# Values a sequence's stored state runs ahead of the values handed out (PostgreSQL's
# SEQ_LOG_VALS): a crash skips at most these, a clean stop none.
SEQ_LOG_AHEAD = 32


class StorageLocked(RuntimeError):
    """Another process already serves this GTM directory."""


@dataclass(slots=True)
class SequenceDef:
    """One global sequence: its definition and its current position (PostgreSQL rules)."""

    name: str
    last_value: int
    is_called: bool
    start: int
    increment: int
    minvalue: int
    maxvalue: int
    cycle: bool

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class Decision:
    """A durable 2PC commit decision: the GID, the nodes it prepared on, when it was logged."""

    gid: str
    nodes: list[str]
    ts: int

    def to_dict(self) -> dict[str, Any]:
        return {"gid": self.gid, "nodes": list(self.nodes), "ts": self.ts}


def build_sequence(
    name: str,
    start: int | None,
    increment: int,
    minvalue: int | None,
    maxvalue: int | None,
    cycle: bool,
) -> SequenceDef:
    """Create a sequence with PostgreSQL's defaults and checks (``CREATE SEQUENCE``)."""
    if increment == 0:
        raise GtmError(INVALID_PARAMETER_VALUE, "INCREMENT must not be zero")
    ascending = increment > 0
    low = minvalue if minvalue is not None else (1 if ascending else INT64_MIN)
    high = maxvalue if maxvalue is not None else (INT64_MAX if ascending else -1)
    for label, value in (("INCREMENT", increment), ("MINVALUE", low), ("MAXVALUE", high)):
        if not INT64_MIN <= value <= INT64_MAX:
            raise GtmError(NUMERIC_VALUE_OUT_OF_RANGE, f"{label} {value} is out of range")
    if low >= high:
        raise GtmError(
            INVALID_PARAMETER_VALUE, f"MINVALUE ({low}) must be less than MAXVALUE ({high})"
        )
    first = start if start is not None else (low if ascending else high)
    if not low <= first <= high:
        raise GtmError(
            INVALID_PARAMETER_VALUE, f"START value ({first}) must lie within [{low}, {high}]"
        )
    return SequenceDef(name, first, False, first, increment, low, high, cycle)


def next_range(seq: SequenceDef, count: int) -> tuple[int, int]:
    """Return ``(first, last)`` of up to ``count`` values and advance ``seq`` past them.

    Like PostgreSQL's cached ``nextval``: the range stops early at the bound; only when
    not even one value is left does it wrap (``cycle``) or raise 2200H.
    """
    first = seq.last_value + seq.increment if seq.is_called else seq.last_value
    if not seq.minvalue <= first <= seq.maxvalue:
        first = _wrap_or_raise(seq)
    if seq.increment > 0:
        room = (seq.maxvalue - first) // seq.increment + 1
    else:
        room = (first - seq.minvalue) // -seq.increment + 1
    last = first + (min(count, room) - 1) * seq.increment
    seq.last_value, seq.is_called = last, True
    return first, last


def advance_quietly(seq: SequenceDef, count: int) -> int:
    """Advance ``seq`` by up to ``count`` values as PostgreSQL's write-ahead of a sequence
    does (stopping at a bound rather than raising); return how many it advanced."""
    try:
        first, last = next_range(seq, count)
    except GtmError:
        return 0
    return (last - first) // seq.increment + 1


def set_value(seq: SequenceDef, value: int, is_called: bool) -> None:
    """Apply ``setval(seq, value, is_called)``."""
    if not seq.minvalue <= value <= seq.maxvalue:
        raise GtmError(
            NUMERIC_VALUE_OUT_OF_RANGE,
            f'setval: value {value} is out of bounds for sequence "{seq.name}" '
            f"({seq.minvalue}..{seq.maxvalue})",
        )
    seq.last_value, seq.is_called = value, is_called


def _wrap_or_raise(seq: SequenceDef) -> int:
    ascending = seq.increment > 0
    if seq.cycle:
        return seq.minvalue if ascending else seq.maxvalue
    bound, word = (seq.maxvalue, "maximum") if ascending else (seq.minvalue, "minimum")
    raise GtmError(
        SEQUENCE_GENERATOR_LIMIT_EXCEEDED,
        f'nextval: reached {word} value of sequence "{seq.name}" ({bound})',
    )


class Storage:
    """The GTM's SQLite database. Writes accumulate in one open transaction until commit."""

    def __init__(self, data_dir: Path) -> None:
        data_dir.mkdir(parents=True, exist_ok=True)
        self._lock_fd = _lock_directory(data_dir / "gtm.lock")
        self._path = data_dir / "gtm.db"
        self._db = sqlite3.connect(self._path, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._in_txn = False
        self._batch: list[Statement] = []
        self._create_schema()
        self.lsn = self.load_meta("repl_lsn", 0)

    # -- transaction control ------------------------------------------------------------

    @property
    def has_pending_writes(self) -> bool:
        return self._in_txn

    def commit(self) -> list[Statement]:
        """Make every write since the last commit durable (fsync of the WAL); return the
        batch of statements it made (empty when there was nothing to commit)."""
        if not self._in_txn:
            return []
        batch, self._batch = self._batch, []
        self._set_local("repl_lsn", self.lsn + 1)
        self._db.execute("COMMIT")
        self._in_txn = False
        self.lsn += 1
        return batch

    # -- replication (standby side and catch-up) ---------------------------------------------

    def apply_batch(self, lsn: int, batch: list[Statement]) -> None:
        """Apply a primary's batch as one durable transaction, ending at position ``lsn``."""
        if self._in_txn:
            raise RuntimeError("a standby GTM has no writes of its own")
        with self._replicated_write(lsn):
            for sql, params in batch:
                self._db.execute(sql, tuple(params))

    def dump_state(self) -> tuple[int, dict[str, list[list[Any]]]]:
        """The committed replicated rows and their position, read apart from the open
        transaction (a separate read connection sees only committed rows)."""
        reader = sqlite3.connect(self._path, isolation_level=None)
        try:
            reader.execute("BEGIN")
            lsn_row = reader.execute("SELECT value FROM meta WHERE key = 'repl_lsn'").fetchone()
            tables = {t: [list(r) for r in reader.execute(f"SELECT * FROM {t}")]
                      for t in REPLICATED_TABLES}
            reader.execute("COMMIT")
        finally:
            reader.close()
        tables["meta"] = [r for r in tables["meta"] if r[0] not in LOCAL_META]
        return (0 if lsn_row is None else int(lsn_row[0])), tables

    def load_state(self, lsn: int, tables: dict[str, list[list[Any]]]) -> None:
        """Replace every replicated row by ``tables`` (a primary's dump) at ``lsn``."""
        local = ", ".join(f"'{key}'" for key in LOCAL_META)
        with self._replicated_write(lsn):
            for table in REPLICATED_TABLES:
                where = f" WHERE key NOT IN ({local})" if table == "meta" else ""
                self._db.execute(f"DELETE FROM {table}{where}")
                for row in tables.get(table, []):
                    marks = ", ".join("?" * len(row))
                    self._db.execute(f"INSERT OR REPLACE INTO {table} VALUES ({marks})", row)

    @contextlib.contextmanager
    def _replicated_write(self, lsn: int) -> Iterator[None]:
        """One durable transaction of replicated rows that ends at log position ``lsn``."""
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield
            self._set_local("repl_lsn", lsn)
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self.lsn = lsn

    def save_local(self, key: str, value: int | str) -> None:
        """Durably set this GTM's own role or term (never replicated), at once."""
        if self._in_txn:
            raise RuntimeError("role and term change outside a write transaction")
        self._set_local(key, value)

    def load_local(self, key: str) -> Any:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else row[0]

    def _set_local(self, key: str, value: int | str) -> None:
        self._db.execute(
            "INSERT INTO meta (key, value) VALUES (?, ?)"
            " ON CONFLICT (key) DO UPDATE SET value = excluded.value", (key, value))

    def close(self) -> None:
        """Close the database without committing pending writes, then drop the lock."""
        try:
            self._db.close()
        finally:
            os.close(self._lock_fd)

    # -- loading ---------------------------------------------------------------------------

    def load_meta(self, key: str, default: int) -> int:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return default if row is None else int(row[0])

    def load_sequences(self) -> dict[str, SequenceDef]:
        rows = self._db.execute(
            "SELECT name, last_value, is_called, start, increment, minvalue, maxvalue, cycle"
            " FROM sequence"
        ).fetchall()
        return {
            r[0]: SequenceDef(r[0], r[1], bool(r[2]), r[3], r[4], r[5], r[6], bool(r[7]))
            for r in rows
        }

    def load_decisions(self) -> dict[str, Decision]:
        rows = self._db.execute("SELECT gid, nodes, ts FROM commit_decision").fetchall()
        return {r[0]: Decision(r[0], json.loads(r[1]), r[2]) for r in rows}

    # -- writing (each joins the open transaction) ------------------------------------------

    def save_meta(self, key: str, value: int) -> None:
        self._write(
            "INSERT INTO meta (key, value) VALUES (?, ?)"
            " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (key, value),
        )

    def save_sequence(self, seq: SequenceDef) -> None:
        self._write(
            "INSERT OR REPLACE INTO sequence"
            " (name, last_value, is_called, start, increment, minvalue, maxvalue, cycle)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                seq.name,
                seq.last_value,
                int(seq.is_called),
                seq.start,
                seq.increment,
                seq.minvalue,
                seq.maxvalue,
                int(seq.cycle),
            ),
        )

    def delete_sequence(self, name: str) -> None:
        self._write("DELETE FROM sequence WHERE name = ?", (name,))

    def rename_sequence(self, name: str, new_name: str) -> None:
        try:
            self._write("UPDATE sequence SET name = ? WHERE name = ?", (new_name, name))
        except sqlite3.IntegrityError:
            raise GtmError(DUPLICATE_TABLE, f'relation "{new_name}" already exists') from None

    def save_decision(self, decision: Decision) -> None:
        self._write(
            "INSERT OR REPLACE INTO commit_decision (gid, nodes, ts) VALUES (?, ?, ?)",
            (decision.gid, json.dumps(decision.nodes), decision.ts),
        )

    def delete_decision(self, gid: str) -> None:
        self._write("DELETE FROM commit_decision WHERE gid = ?", (gid,))

    def load_tombstones(self) -> dict[str, int]:
        return dict(self._db.execute("SELECT gid, ts FROM abort_decision").fetchall())

    def save_tombstone(self, gid: str, ts: int) -> None:
        self._write("INSERT OR REPLACE INTO abort_decision (gid, ts) VALUES (?, ?)", (gid, ts))

    def delete_tombstone(self, gid: str) -> None:
        self._write("DELETE FROM abort_decision WHERE gid = ?", (gid,))

    def load_unreleased_leases(self) -> set[str]:
        """Leases whose last holder never released them (it may still be acting)."""
        return {r[0] for r in self._db.execute("SELECT name FROM lease WHERE released = 0")}

    def save_lease(self, name: str, holder: str, released: bool) -> None:
        self._write("INSERT OR REPLACE INTO lease (name, holder, released) VALUES (?, ?, ?)",
                    (name, holder, int(released)))

    def has_barrier(self, name: str) -> bool:
        return self._db.execute("SELECT 1 FROM barrier WHERE name = ?", (name,)).fetchone() is not None

    def save_barrier(self, name: str, ts: int, points: dict[str, Any],
                     detail: dict[str, Any] | None = None) -> None:
        self._write("INSERT INTO barrier (name, ts, points) VALUES (?, ?, ?)",
                    (name, ts, json.dumps(points)))
        if detail:
            self._write("INSERT OR REPLACE INTO barrier_detail (name, detail) VALUES (?, ?)",
                        (name, json.dumps(detail)))

    def load_barriers(self) -> list[dict[str, Any]]:
        rows = self._db.execute(
            "SELECT b.name, b.ts, b.points, d.detail FROM barrier b"
            " LEFT JOIN barrier_detail d ON d.name = b.name ORDER BY b.ts, b.name").fetchall()
        return [{"name": r[0], "ts": r[1], "points": json.loads(r[2]),
                 "detail": json.loads(r[3]) if r[3] else {}} for r in rows]

    # -- helpers -----------------------------------------------------------------------------

    def _write(self, sql: str, params: tuple[Any, ...]) -> None:
        if not self._in_txn:
            self._db.execute("BEGIN IMMEDIATE")
            self._in_txn = True
        self._db.execute(sql, params)
        self._batch.append((sql, list(params)))

    def _create_schema(self) -> None:
        for statement in _SCHEMA:
            self._db.execute(statement)
        self._db.execute(
            "INSERT OR IGNORE INTO meta (key, value) VALUES ('schema_version', ?)",
            (SCHEMA_VERSION,),
        )


def _lock_directory(path: Path) -> int:
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise StorageLocked(f"{path.parent} is in use by another GTM") from None
    return fd
