"""LISTEN/NOTIFY without servers: the hub's payload header and pids, PostgreSQL's checks,
the pg_notify()/pg_listening_channels() readings, and a session's transaction rules
(frontend/notify.py) over a recording hub."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import pytest

from gridpg.errors import PgError
from gridpg.frontend import notify
from gridpg.frontend.notify import (
    SessionNotify,
    ensure_valid,
    notify_calls,
    with_listening_channels,
)
from gridpg.frontend.notify_hub import (
    HEADER_SIZE,
    cluster_token,
    decode_payload,
    encode_payload,
    reported_pid,
)
from gridpg.pgwire import codec
from gridpg.sql import parse as sqlparse

TOKEN = cluster_token("secret")


def test_payload_header_round_trips_and_foreign_payloads_are_not_read() -> None:
    text = encode_payload(TOKEN, 0xBEEF, 16777217, "it's ☃")
    assert len(text) - len("it's ☃") == HEADER_SIZE
    assert decode_payload(TOKEN, text) == (0xBEEF, 16777217, "it's ☃")
    assert decode_payload(TOKEN, "") is None
    assert decode_payload(TOKEN, "plain payload from a trigger") is None
    other = encode_payload(cluster_token("another cluster"), 1, 2, "x")
    assert decode_payload(TOKEN, other) is None  # server-side code cannot forge the header


def test_reported_pid_is_never_the_receivers_own_unless_it_notified_itself() -> None:
    assert reported_pid(7, 42, 7, 42) == 42  # itself
    assert reported_pid(7, 42, 9, 43) == 42  # another session
    assert reported_pid(7, 42, 9, 42) == 42 ^ 0x40000000  # same number on another worker
    assert reported_pid(None, 42, 9, 42) != 42  # a PostgreSQL backend's pid


@pytest.mark.parametrize(("channel", "payload", "message"), [
    ("", "x", "channel name cannot be empty"),
    (None, "x", "channel name cannot be empty"),
    ("c" * 64, "x", "channel name too long"),
    ("é" * 32, "x", "channel name too long"),  # bytes, as PostgreSQL counts
    ("c", "x" * 8000, "payload string too long"),
    ("c", "x" * (8000 - HEADER_SIZE), "payload string too long"),
])
def test_postgresql_checks(channel: str | None, payload: str, message: str) -> None:
    with pytest.raises(PgError, match=message) as info:
        ensure_valid(channel, payload)
    assert info.value.sqlstate == "22023"


def test_valid_notifications() -> None:
    assert ensure_valid("c" * 63, None) == ("c" * 63, "")
    assert ensure_valid("c", "x" * (7999 - HEADER_SIZE)) == ("c", "x" * (7999 - HEADER_SIZE))


def _select(sql: str) -> list[notify.NotifyCall]:
    return notify_calls(sql, sqlparse.parse_tree(sql)["SelectStmt"])


def test_pg_notify_alone_is_read_and_other_uses_are_refused() -> None:
    calls = _select("SELECT pg_notify('a', 'b'), pg_catalog.pg_notify($1, $2) AS n")
    assert [(c.column, c.args) for c in calls] == [
        ("pg_notify", (("const", "a"), ("const", "b"))), ("n", (("param", 1), ("param", 2)))]
    assert _select("SELECT pg_notify('a', 'x' || 'y')")[0].args[1][0] == "expr"
    for sql in ("SELECT pg_notify('a', relname) FROM pg_class", "SELECT pg_notify('a', 'b') WHERE true",
                "SELECT 1, pg_notify('a', 'b')", "SELECT (SELECT pg_notify('a', 'b'))"):
        with pytest.raises(PgError, match="pg_notify") as info:
            _select(sql)
        assert info.value.sqlstate == "0A000"


def test_listening_channels_become_the_sessions_own() -> None:
    assert with_listening_channels("SELECT pg_listening_channels()", ["a", "it's"]) == \
        "SELECT unnest(ARRAY['a', 'it''s']::text[]) AS pg_listening_channels"
    assert with_listening_channels("select * from pg_catalog.pg_listening_channels ( )", []) == \
        "select * from unnest(ARRAY[]::text[]) AS pg_listening_channels"
    assert with_listening_channels("SELECT c FROM pg_listening_channels() c", ["x"]) == \
        "SELECT c FROM unnest(ARRAY['x']::text[]) c"
    assert with_listening_channels("SELECT 'pg_listening_channels()'", ["x"]) == "SELECT 'pg_listening_channels()'"
    # a comment inside the call is white space (it was refused, 0A000)
    assert with_listening_channels("SELECT pg_listening_channels /* c */ ( -- d\n)", ["x"]) == \
        "SELECT unnest(ARRAY['x']::text[]) AS pg_listening_channels"


class RecordingHub:
    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []
        self.fail_hold = False

    async def hold(self, channels: list[str]) -> None:
        if self.fail_hold:
            raise PgError("08006", "hub down")
        self.calls.append(("hold", list(channels)))

    async def release(self, channels: list[str]) -> None:
        self.calls.append(("release", list(channels)))

    def attach(self, session: object, channel: str) -> None:
        self.calls.append(("attach", channel))

    def detach(self, session: object, channel: str) -> None:
        self.calls.append(("detach", channel))

    async def send(self, pid: int, notifications: list[tuple[str, str]]) -> None:
        self.calls.append(("send", list(notifications)))

    async def sync(self) -> None:
        self.calls.append(("sync", None))


def _session(in_block: bool = True) -> tuple[SessionNotify, RecordingHub, SimpleNamespace]:
    hub = RecordingHub()
    out: list[bytes] = []
    runner = SimpleNamespace(
        coord=SimpleNamespace(notify_hub=hub, read_only=False),
        session=SimpleNamespace(info=SimpleNamespace(backend_pid=5), send=out.append),
        txn=SimpleNamespace(in_block=in_block),
        invalidate_cycles=lambda: None)  # (StatementRunner's routed-cycle stamp)
    return SessionNotify(runner), hub, runner  # type: ignore[arg-type]


def _sent(hub: RecordingHub) -> list[Any]:
    return [payloads for kind, payloads in hub.calls if kind == "send"]


def test_block_notifications_fold_and_go_after_commit_only() -> None:
    async def main() -> None:
        state, hub, _ = _session()
        for channel, payload in [("a", "1"), ("b", "1"), ("a", "1"), ("a", "2")]:
            await state.notify(channel, payload, False)
        assert hub.calls == [] and state.in_transaction
        await state.pre_commit()
        await state.commit()
        assert _sent(hub) == [[("a", "1"), ("b", "1"), ("a", "2")]]
        await state.notify("a", "1", False)
        await state.rollback()
        await state.commit()
        assert len(_sent(hub)) == 1 and not state.in_transaction

    asyncio.run(main())


def test_savepoints_undo_notifications_and_listens_after_them() -> None:
    async def main() -> None:
        state, hub, _ = _session()
        await state.notify("a", "kept", False)
        state.savepoint("s")
        await state.notify("a", "undone", False)
        await state._act("listen", "gone", False)
        state.savepoint("t")
        state.rollback_to("s")
        await state.notify("a", "undone", False)  # no longer a duplicate: the first was undone
        await state._act("listen", "kept", False)
        state.release("s")
        await state.pre_commit()
        await state.commit()
        assert _sent(hub) == [[("a", "kept"), ("a", "undone")]]
        assert list(state.channels) == ["kept"]
        assert ("hold", ["kept"]) in hub.calls

    asyncio.run(main())


def test_listen_unlisten_in_a_block_apply_at_commit_in_order() -> None:
    async def main() -> None:
        state, hub, runner = _session()
        await state._act("listen", "x", False)
        await state._act("unlisten", "x", False)
        await state._act("listen", "y", False)
        assert state.channels == {}
        await state.pre_commit()
        await state.commit()
        assert list(state.channels) == ["y"]
        await state._act("unlisten", None, False)
        await state.pre_commit()
        await state.commit()
        assert state.channels == {} and ("release", ["y"]) in hub.calls
        runner.txn.in_block = False
        await state.notify("me", "p", True)  # a simple Query outside a block: at once
        assert _sent(hub)[-1] == [("me", "p")]

    asyncio.run(main())


def test_a_hub_that_fails_the_listen_fails_the_commit_and_keeps_nothing() -> None:
    async def main() -> None:
        state, hub, _ = _session()
        hub.fail_hold = True
        await state._act("listen", "x", False)
        with pytest.raises(PgError):
            await state.pre_commit()
        await state.rollback()
        assert state.channels == {} and not state.in_transaction

    asyncio.run(main())


def test_own_channel_waits_for_its_echo() -> None:
    async def main() -> None:
        state, hub, _ = _session(in_block=False)
        await state._act("listen", "me", True)
        await state.notify("me", "hi", True)
        assert hub.calls[-2:] == [("send", [("me", "hi")]), ("sync", None)]

    asyncio.run(main())


def test_an_extended_cycle_outside_a_block_commits_at_its_sync() -> None:
    async def main() -> None:
        state, hub, _ = _session(in_block=False)
        await state._act("listen", "p", False)
        await state.notify("p", "1", False)
        assert hub.calls == []
        await state.synced(failed=True)  # a later message failed: none of it happens
        assert hub.calls == [] and state.channels == {}
        await state.notify("p", "2", False)
        await state.synced(failed=False)
        assert _sent(hub) == [[("p", "2")]]

    asyncio.run(main())


def test_a_failing_item_queues_none_of_its_statement() -> None:
    async def main() -> None:
        state, hub, _ = _session(in_block=False)
        with pytest.raises(PgError, match="channel name cannot be empty"):
            await state.notify_all([("ok", "1"), ("", "2")], True)
        assert not state.in_transaction and hub.calls == []
        hub.fail_hold = True
        with pytest.raises(PgError, match="hub down"):
            await state._act("listen", "x", True)  # a LISTEN outside a block that fails
        assert not state.in_transaction and state.channels == {}

    asyncio.run(main())


def test_notification_message() -> None:
    message = codec.build_notification(77, "chan", "pay ☃")
    assert message[:1] == b"A"
    assert codec.parse_notification(message[5:]) == (77, "chan", "pay ☃")
