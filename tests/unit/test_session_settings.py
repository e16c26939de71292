"""The session-state model: PostgreSQL's SET/RESET rules, undo, and connection tags."""

from __future__ import annotations

from gridpg.frontend.session_settings import (
    NEUTRAL,
    RESET_TO_NEUTRAL,
    SessionSettings,
    carries_timer,
    statements_for,
    timeout_ms,
)

SU = "postgres"


def _state(login: str = SU, **startup: str) -> SessionSettings:
    return SessionSettings(login=login, startup=dict(startup))


def test_fresh_superuser_session_is_neutral() -> None:
    assert _state(client_encoding="UTF8").tag(SU) == NEUTRAL
    assert _state("app").tag(SU) != NEUTRAL


def test_rollback_undoes_and_commit_keeps() -> None:
    s = _state()
    s.set_value("work_mem", "6MB", in_block=True)
    s.set_role("app", in_block=True)
    assert s.changed_in_transaction
    s.rollback()
    assert s.values == {} and s.role is None and s.tag(SU) == NEUTRAL
    s.set_value("work_mem", "7MB", in_block=True)
    s.commit()
    assert s.values == {"work_mem": "7MB"} and not s.changed_in_transaction


def test_savepoints() -> None:
    s = _state()
    s.set_value("a", "1", in_block=True)
    s.savepoint("s1")
    s.set_value("a", "2", in_block=True)
    s.savepoint("s2")
    s.set_role("r", in_block=True)
    s.rollback_to("s2")
    assert s.role is None and s.values["a"] == "2"
    s.rollback_to("s1")
    assert s.values["a"] == "1"
    s.release("s1")
    s.rollback_to("s1")  # gone: nothing happens
    assert s.values["a"] == "1"
    s.rollback()
    assert s.values == {}


def test_reset_rules() -> None:
    s = _state(search_path="x", client_encoding="UTF8")
    s.set_value("search_path", "y", in_block=False)
    s.set_role("app", in_block=False)
    s.reset_value("search_path", in_block=False)
    assert s.values["search_path"] == "x"  # back to the startup value
    s.set_value("work_mem", "1MB", in_block=False)
    s.reset_all(in_block=False)
    assert s.values == {"search_path": "x", "client_encoding": "UTF8"}
    assert s.role == "app"  # RESET ALL leaves the role
    s.set_session_authorization("other", in_block=False)
    assert (s.session_user, s.role) == ("other", None)  # and authorization resets the role
    s.set_session_authorization(None, in_block=False)
    assert s.session_user == SU
    s.set_role("app", in_block=False)
    s.discard_all()
    assert s.role is None and s.values == {"search_path": "x", "client_encoding": "UTF8"}


def test_tag_at_transaction_start() -> None:
    s = _state()
    s.set_value("work_mem", "6MB", in_block=True)
    assert s.tag(SU, at_transaction_start=True) == NEUTRAL
    assert s.tag(SU) != NEUTRAL


def test_tags_are_the_state_not_the_session() -> None:
    """Sessions in the same state share connections as set up; any difference (login,
    role, a setting) tells them apart."""
    a = SessionSettings(login="app", startup={"application_name": "pgbench"})
    b = SessionSettings(login="app", startup={"application_name": "pgbench"})
    assert a.tag(SU) == b.tag(SU) != NEUTRAL
    assert statements_for(a.tag(SU), b.tag(SU), SU) == []
    b.set_value("work_mem", "8MB", in_block=False)
    assert a.tag(SU) != b.tag(SU)
    c = SessionSettings(login="other", startup={"application_name": "pgbench"})
    assert c.tag(SU) != a.tag(SU)
    a.set_role("r", in_block=False)
    d = SessionSettings(login="app", startup={"application_name": "pgbench"})
    assert a.tag(SU) != d.tag(SU)


def test_statements_for() -> None:
    s = _state("app")
    s.set_role("r", in_block=False)
    s.set_value("search_path", "a, b", in_block=False)
    wanted = s.tag(SU)
    assert statements_for(wanted, wanted, SU) == []
    from_neutral = statements_for(NEUTRAL, wanted, SU)
    assert from_neutral == ["SELECT pg_catalog.set_config('search_path', 'a, b', false)",
                            'SET SESSION AUTHORIZATION app', 'SET ROLE r']
    assert statements_for(None, wanted, SU) == [RESET_TO_NEUTRAL, *from_neutral]
    assert statements_for(wanted, NEUTRAL, SU) == [RESET_TO_NEUTRAL]
    odd = _state('we"ird')
    assert statements_for(NEUTRAL, odd.tag(SU), SU) == ['SET SESSION AUTHORIZATION "we""ird"']


def test_timers_are_set_last() -> None:
    """A statement after `statement_timeout = '1ms'` in the setup would run under it."""
    s = _state("app")
    s.set_value("statement_timeout", "1ms", in_block=False)
    s.set_value("application_name", "x", in_block=False)
    s.set_role("r", in_block=False)
    setup = statements_for(NEUTRAL, s.tag(SU), SU)
    assert setup[-1] == "SELECT pg_catalog.set_config('statement_timeout', '1ms', false)"
    assert setup.index("SET ROLE r") < len(setup) - 1
    assert carries_timer(s.tag(SU))
    s.set_value("statement_timeout", "0", in_block=False)
    assert not carries_timer(s.tag(SU)) and not carries_timer(NEUTRAL) and not carries_timer(None)


def test_timeout_values_in_milliseconds() -> None:
    assert [timeout_ms(v) for v in ("150ms", "2s", "1min", "1000", "0", None, "", "1.5s", "10 ms", "1h")] == \
        [150, 2000, 60000, 1000, 0, 0, 0, 1500, 10, 3600000]
    assert timeout_ms("soon") == 0  # unreadable: no coordinator-side limit (the nodes keep theirs)


def test_cached_tag_follows_every_change() -> None:
    """The tag is computed once per change: each kind of change (and its undo) shows."""
    s = _state("app", application_name="x")
    first = s.tag(SU)
    assert s.tag(SU) is first
    s.set_value("work_mem", "6MB", in_block=False)
    assert s.tag(SU) != first
    s.reset_value("work_mem", in_block=False)
    assert s.tag(SU) == first
    s.set_role("r", in_block=True)
    assert s.tag(SU) != first and s.tag(SU, at_transaction_start=True) == first
    s.rollback()
    assert s.tag(SU) == first
    s.set_session_authorization("other", in_block=False)
    assert s.tag(SU)[0] == "other"
    s.discard_all()
    assert s.tag(SU) == first
    s.savepoint("a")
    s.set_value("search_path", "p", in_block=True)
    s.rollback_to("a")
    assert s.tag(SU) == first
    su = _state()
    assert su.tag(SU) == NEUTRAL and su.tag("someone_else") != NEUTRAL  # per superuser name
