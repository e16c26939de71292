"""A session's settings, role and session authorization, kept by PostgreSQL's rules.

The coordinator keeps what a client SETs and gives it to every backend connection the
session uses (connections are pooled and shared by all sessions). This module is the
model, pure (no I/O):

* session-level `SET`/`RESET`/`RESET ALL`, `SET ROLE`, `SET SESSION AUTHORIZATION`,
  `DISCARD ALL`, with PostgreSQL's special cases: RESET ALL leaves the role and the session
  authorization alone, SET SESSION AUTHORIZATION also resets the role, RESET goes back to
  the value the client gave at startup;
* undo: a change made inside a transaction is undone by its ROLLBACK and by a ROLLBACK TO
  SAVEPOINT taken before it, and kept by COMMIT and RELEASE;
* `SET LOCAL` (and `set_config(..., true)`): a value for the rest of the transaction only,
  over the session's (`effective`: what the planner resolves names with, search_path
  first), gone at its end, undone by a ROLLBACK TO taken before it, replaced by a later
  session-level SET of the same name; never part of a connection's tag (the nodes drop it
  at the transaction's end);
* the *state tag* of a backend connection: `NEUTRAL` (the coordinator's own login, no
  settings) or the session's identity and settings, plus the statements that bring a
  connection from one tag to another. The tag is the state itself, not the session:
  sessions with the same login, role and settings (every pgbench client, say) share
  connections with no `RESET`/`SET` round trip, as neutral sessions do; state a statement
  may change unseen (`set_config(`, DO, CALL, ...) makes the connection unknown. A
  connection whose state is not known carries `None` and is closed instead of pooled
  (`datanode.pool`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from gridpg.errors import FEATURE_NOT_SUPPORTED, PgError
from gridpg.sql.quote import quote_ident, set_config_sql

if TYPE_CHECKING:
    from gridpg.datanode.connection import BackendConnection

NEUTRAL: tuple[object, ...] = ()
# What RESET SESSION AUTHORIZATION, RESET ROLE and RESET ALL cannot reach is not a setting
# a client can make (client_encoding is the coordinator's, always UTF8).
_NOT_FORWARDED = frozenset(("client_encoding",))
RESET_TO_NEUTRAL = "RESET ROLE; RESET SESSION AUTHORIZATION; RESET ALL"
# Settings that arm a timer in the backend: each statement gridpg itself runs after them
# on the connection (the next session's RESET, the rest of a setup) runs under it and may
# be cancelled by it. They go last in a setup, and a connection carrying one is never
# reset for another state (datanode.pool closes it instead: `carries_timer`).
TIMERS = frozenset(("statement_timeout", "lock_timeout", "transaction_timeout",
                    "idle_in_transaction_session_timeout"))


@dataclass(frozen=True)
class _State:
    values: tuple[tuple[str, str], ...]
    session_user: str
    role: str | None
    local: tuple[tuple[str, str], ...] = ()


@dataclass
class SessionSettings:
    """What one client session has set, and what its open transaction may undo."""

    login: str
    startup: dict[str, str] = field(default_factory=dict)  # RESET goes back to these
    values: dict[str, str] = field(default_factory=dict)
    local: dict[str, str] = field(default_factory=dict)  # SET LOCAL, until the transaction ends
    session_user: str = ""
    role: str | None = None
    _base: _State | None = None  # at the start of the transaction that changed something
    _savepoints: list[tuple[str, _State]] = field(default_factory=list)
    generation: int = 0  # bumped by every change (plans cached by the fast paths depend on it)
    _tag_cache: tuple[int, str, tuple[object, ...]] | None = None  # (generation, superuser, tag)
    # Called after every change (the session's routed cycles check their plans again).
    on_change: Callable[[], None] | None = field(default=None, repr=False, compare=False)
    # The custom settings (names with a dot) this session ever set: PostgreSQL's
    # placeholders, which outlive RESET and the transaction (`accepts`)
    placeholders: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.values = {k: v for k, v in self.startup.items()}
        self.session_user = self.session_user or self.login
        self.placeholders.update(k.lower() for k in self.startup if "." in k)

    def accepts(self, conn: BackendConnection) -> bool:
        """Whether the session may use a backend connection: every custom setting some
        session defined there is one this session defined too. Before, a session that
        never set `app.actor` read current_setting('app.actor', true) as '' (another
        session's SET left the placeholder on the pooled connection, RESET ALL does not
        remove it), where PostgreSQL answers NULL: `coalesce(current_setting(...), 'system')`
        and row-level security policies over it read another answer."""
        return not conn.placeholders or conn.placeholders <= self.placeholders

    def note_placeholder(self, name: str) -> None:
        if "." in name:
            self.placeholders.add(name.lower())

    # -- changes ---------------------------------------------------------------------------

    def _changed(self) -> None:
        self.generation += 1
        if self.on_change is not None:
            self.on_change()

    @property
    def effective(self) -> dict[str, str]:
        """The values statements see now: the session's, under this transaction's SET LOCAL."""
        return {**self.values, **self.local} if self.local else self.values

    def set_local(self, name: str, value: str) -> None:
        """SET LOCAL name (inside a transaction block): `value` as the server now reports it."""
        self._changed()
        self.note_placeholder(name)
        self.local[name] = value

    def set_value(self, name: str, value: str, in_block: bool) -> None:
        self._changed()
        self._remember(in_block)
        self.note_placeholder(name)
        self.values[name] = value
        self.local.pop(name, None)

    def reset_value(self, name: str, in_block: bool) -> None:
        self._changed()
        self._remember(in_block)
        self.values.pop(name, None)
        self.local.pop(name, None)
        for key, value in self.startup.items():
            if key.lower() == name:
                self.values[key] = value

    def reset_all(self, in_block: bool) -> None:
        """RESET ALL: every setting back to its startup value; role and authorization stay."""
        self._changed()
        self._remember(in_block)
        self.values = dict(self.startup)
        self.local.clear()

    def set_role(self, role: str | None, in_block: bool) -> None:
        self._changed()
        self._remember(in_block)
        self.role = role

    def set_session_authorization(self, user: str | None, in_block: bool) -> None:
        """SET SESSION AUTHORIZATION user (None: back to the login); the role resets too."""
        self._changed()
        self._remember(in_block)
        self.session_user = user or self.login
        self.role = None

    def discard_all(self) -> None:
        """DISCARD ALL (never inside a transaction block)."""
        self._changed()
        self.values = dict(self.startup)
        self.session_user = self.login
        self.role = None

    # -- transactions ----------------------------------------------------------------------

    def savepoint(self, name: str) -> None:
        self._savepoints.append((name, self._state()))

    def rollback_to(self, name: str) -> None:
        for index in range(len(self._savepoints) - 1, -1, -1):
            if self._savepoints[index][0] == name:
                self._restore(self._savepoints[index][1])
                del self._savepoints[index + 1 :]
                return

    def release(self, name: str) -> None:
        for index in range(len(self._savepoints) - 1, -1, -1):
            if self._savepoints[index][0] == name:
                del self._savepoints[index:]
                return

    def commit(self) -> None:
        if self.local:
            self._changed()
            self.local.clear()
        self._base = None
        self._savepoints.clear()

    def rollback(self) -> None:
        if self._base is not None:
            self._restore(self._base)
        self.commit()

    @property
    def changed_in_transaction(self) -> bool:
        return self._base is not None

    # -- backend connections ---------------------------------------------------------------

    def tag(self, superuser: str, at_transaction_start: bool = False) -> tuple[object, ...]:
        """The state a backend connection must have for this session (NEUTRAL if none)."""
        if at_transaction_start and self._base is not None:
            return _tag_of(self._base, superuser)
        cached = self._tag_cache
        if cached is not None and cached[0] == self.generation and cached[1] == superuser:
            return cached[2]  # taken at every transaction's first node: computed once per change
        tag = _tag_of(self._state(), superuser)
        self._tag_cache = (self.generation, superuser, tag)
        return tag

    def _state(self) -> _State:
        return _State(tuple(sorted(self.values.items())), self.session_user, self.role,
                      tuple(sorted(self.local.items())))

    def _restore(self, state: _State) -> None:
        self._changed()
        self.values = dict(state.values)
        self.local = dict(state.local)
        self.session_user = state.session_user
        self.role = state.role

    def _remember(self, in_block: bool) -> None:
        if in_block and self._base is None:
            self._base = self._state()


def _tag_of(state: _State, superuser: str) -> tuple[object, ...]:
    items = tuple((k, v) for k, v in state.values if k.lower() not in _NOT_FORWARDED)
    if state.session_user == superuser and state.role is None and not items:
        return NEUTRAL
    return (state.session_user, state.role, items)


def statements_for(current: tuple[object, ...] | None, wanted: tuple[object, ...],
                   superuser: str) -> list[str]:
    """SQL that takes a connection from state `current` (None: unknown) to `wanted`."""
    if current == wanted:
        return []
    statements = [RESET_TO_NEUTRAL] if current != NEUTRAL else []
    if wanted == NEUTRAL:
        return statements
    session_user, role, items = wanted
    # Settings first, as the superuser: the session may hold values only a superuser sets
    # (lc_messages from the startup packet) and then have changed its role, as PostgreSQL
    # allows; a role's own SETs are always within the superuser's reach. Timers last (any
    # role may set them): a statement after `statement_timeout = '1ms'` in the same setup
    # would run under it and could be cancelled by it (57014 for a statement the client
    # never sent).
    timers = []
    for key, value in items:  # type: ignore[attr-defined]
        (timers if key in TIMERS else statements).append(set_config_sql(key, value))
    if session_user != superuser:
        statements.append(f"SET SESSION AUTHORIZATION {quote_ident(str(session_user))}")
    if role is not None:
        statements.append(f"SET ROLE {quote_ident(str(role))}")
    return statements + timers


_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "min": 60000.0, "h": 3600000.0, "d": 86400000.0}


def check_client_encoding(value: str | None) -> None:
    """gridpg speaks UTF8 to its clients only (it reads their statements and rows, and its
    servers' text is UTF8): another client_encoding, at startup or by SET, is refused
    rather than claimed and not converted (a LATIN1 client's 'café' would be misread)."""
    if value is None or re.sub(r"[^a-z0-9]", "", value.lower()) in ("utf8", "unicode", "default"):
        return
    raise PgError(FEATURE_NOT_SUPPORTED, f"gridpg supports only client_encoding UTF8, not {value}")


_DATE_STYLES = {"iso": "ISO", "sql": "SQL", "postgres": "Postgres", "german": "German"}
_DATE_ORDERS = {"ymd": "YMD", "dmy": "DMY", "euro": "DMY", "european": "DMY",
                "mdy": "MDY", "us": "MDY", "noneuro": "MDY", "noneuropean": "MDY"}


def canonical_datestyle(value: str, current: str = "ISO, MDY") -> str:
    """DateStyle as PostgreSQL shows and reports it (`SQL, DMY`) for a value a client gave
    at startup (`SQL,dmy`, `german`, `euro`), over the `current` one, as check_datestyle
    reads it: clients parse dates by the reported form (psycopg reads the order at a fixed
    offset, so `SQL,DMY` read 02/01/2000 as 1 February). A value it cannot read is kept."""
    style, _, order = current.partition(", ")
    styles: set[str] = set()
    orders: set[str] = set()
    for token in (t.strip().lower() for t in value.split(",")):
        if token in _DATE_STYLES:
            style = _DATE_STYLES[token]
            styles.add(style)
            if token == "german" and not orders:
                order = "DMY"
        elif token in _DATE_ORDERS:
            order = _DATE_ORDERS[token]
            orders.add(order)
        elif token == "default":
            style, order = "ISO", "MDY"
        else:
            return value
    if len(styles) > 1 or len(orders) > 1:
        return value  # (conflicting: PostgreSQL refuses it)
    return f"{style}, {order}"


def timeout_ms(value: str | None) -> float:
    """A timeout setting's value (as current_setting() shows it: `150ms`, `2s`, `1min`,
    a bare number of milliseconds) in milliseconds; 0 when unset, off or unreadable."""
    text = (value or "").strip().strip("'").strip().lower()
    digits = len(text) - len(text.lstrip("0123456789."))
    number, unit = text[:digits], text[digits:].strip() or "ms"
    try:
        return max(float(number) * _UNITS_MS[unit], 0.0)
    except (ValueError, KeyError):
        return 0.0


def carries_timer(tag: tuple[object, ...] | None) -> bool:
    """Whether a connection in state `tag` has a timer set (`TIMERS`, not zero): the
    statements that reset it for another state would run under that timer."""
    if not tag:
        return False
    items = tag[2]
    return any(key in TIMERS and value not in ("0", "") for key, value in items)  # type: ignore[attr-defined]
