"""bench/regress_replay.py: a statement that times out on one side must not leave the two
sides reading different things afterwards.

Citus's with_basics.sql runs `SET search_path TO 'with_basics'` and then reads
`users_table`. When a recursive CTE (446) hit the replay's timeout on one side only, that
side alone got a new session, on the default search_path: it read public.users_table
(101 rows plus the 6 with_prepare.sql inserts: per user 8, 19, 18, 24, 27, 11) while the
other read with_basics.users_table (7, 18, 17, 23, 26, 10), and :458 "differed"
(21,343,697 against 14,141,618 rows in the recursive CTE, exactly those tables' counts).
The servers here are fakes: what is tested is the replay's own session handling.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

import regress_replay
from psycopg.pq import TransactionStatus
from replay_compare import TIMEOUT_STATE, Outcome


@dataclass
class FakeSession:
    """A server session that knows its search_path, whether it is in a block, and which
    side it belongs to; `slow` statements time out on the side named in `times_out`."""

    side: str
    path: str = "public"
    block_path: str | None = None
    temp_tables: set[str] = field(default_factory=set)
    broken: bool = False
    closed: bool = False

    @property
    def info(self) -> SimpleNamespace:
        status = TransactionStatus.INTRANS if self.block_path is not None else TransactionStatus.IDLE
        return SimpleNamespace(transaction_status=status)

    def close(self) -> None:
        self.closed = True


def fake_run(times_out: str):
    def run(conn: FakeSession, sql: str, data: str | None, timeout: float) -> Outcome:
        words = sql.rstrip(";").split()
        head = words[0].lower()
        if head == "slow":
            if conn.side == times_out:
                return Outcome(False, TIMEOUT_STATE, "no answer")
            return Outcome(True, status="SELECT 0", has_rows=True)
        if head == "begin":
            conn.block_path = conn.path
        elif head == "commit":
            conn.block_path = None
        elif head == "set":
            conn.path = words[-1].strip("'")
        elif head == "create":
            conn.temp_tables.add(words[-1])
        elif head == "tables":
            return Outcome(True, status="SELECT 1", columns=("t",), types=(25,), rows=[(",".join(sorted(conn.temp_tables)),)],
                           has_rows=True)
        elif head == "path":
            return Outcome(True, status="SELECT 1", columns=("p",), types=(25,), rows=[(conn.path,)], has_rows=True)
        return Outcome(True, status=head.upper())
    return run


def replay(monkeypatch: pytest.MonkeyPatch, text: str, times_out: str) -> regress_replay.FileResult:
    monkeypatch.setattr(regress_replay, "connect", lambda dsn: FakeSession(dsn))
    monkeypatch.setattr(regress_replay, "run", fake_run(times_out))
    plain, grid = regress_replay.Side("plain", "plain"), regress_replay.Side("gridpg", "gridpg")
    r = regress_replay.Replay(plain, grid, Path("/nonexistent"), 10.0, float("inf"))
    res = r.replay_file("f", text)
    res.sessions = (plain.conn, grid.conn)  # type: ignore[attr-defined]
    return res


@pytest.mark.parametrize("times_out", ["plain", "gridpg"])
def test_a_timeout_on_one_side_keeps_both_sessions_settings(monkeypatch: pytest.MonkeyPatch, times_out: str) -> None:
    res = replay(monkeypatch, "SET search_path TO 'with_basics';\nslow;\npath;\n", times_out)
    assert [d[0] for d in res.differences] == [2], [(d[0], d[2].brief(), d[3].brief()) for d in res.differences]


def test_both_sides_get_a_new_session_after_a_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    """What a session cannot carry over (temp tables, prepared statements, a block) is gone
    on both sides, not only on the side that timed out."""
    res = replay(monkeypatch, "create temp t;\nslow;\ntables;\n", "gridpg")
    assert [d[0] for d in res.differences] == [2]


def test_a_set_inside_a_block_is_not_run_again(monkeypatch: pytest.MonkeyPatch) -> None:
    """Inside a block a SET lasts only if the block commits: it is not carried over."""
    res = replay(monkeypatch, "BEGIN;\nSET search_path TO 'inner';\nslow;\npath;\n", "plain")
    assert [d[0] for d in res.differences] == [3]
    assert [s.path for s in res.sessions] == ["public", "public"]  # type: ignore[attr-defined]


def test_session_settings_are_recognised() -> None:
    setting = regress_replay.is_session_setting
    assert setting("SET search_path TO x;") and setting("-- c\nRESET ALL;") and setting("set time zone 1")
    assert setting('SET SESSION AUTHORIZATION "u"')
    assert not setting("SET LOCAL work_mem = '1MB'") and not setting("SET TRANSACTION READ ONLY")
    assert not setting("set constraints all deferred") and not setting("SELECT 1") and not setting("SETOF")


class SlowReader:
    """A connection whose answer comes whole, but only after `delay` seconds of reading."""

    closed = broken = False

    def __init__(self, delay: float) -> None:
        self.delay = delay

    def cursor(self) -> SlowReader:
        return self

    def execute(self, sql: str, prepare: object = None) -> None:
        import time

        time.sleep(self.delay)

    description = None
    statusmessage = "SELECT 21343697"

    def nextset(self) -> bool:
        return False

    def cancel_safe(self, timeout: float) -> None:
        pass  # the server is done: the cancel changes nothing

    def fileno(self) -> int:
        raise OSError("no socket")


def test_an_answer_read_whole_after_the_cut_is_a_timeout() -> None:
    """with_basics.sql:470 on PostgreSQL: 21 million rows, read past the socket's cut at
    twice the timeout; counted as an answer, its side's next statement (484) failed on the
    dead connection while the other side's succeeded."""
    import replay_compare

    assert replay_compare.run(SlowReader(0.0), "SELECT 1", None, 0.1).ok  # type: ignore[arg-type]
    out = replay_compare.run(SlowReader(0.35), "SELECT 1", None, 0.1)  # type: ignore[arg-type]
    assert out.sqlstate == TIMEOUT_STATE, out
