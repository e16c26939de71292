"""SET, RESET, SET ROLE, SET SESSION AUTHORIZATION, DISCARD for one session, and the
setup of every backend connection the session takes.

The model is `frontend.session_settings.SessionSettings`; this module runs it:

* each SET is validated by PostgreSQL on the session's catalog-server connection (names,
  values, role membership), then recorded and sent to every node the session holds;
  inside a transaction block it is also kept in the block's replay list
  (`DistributedTransaction.local_settings`), so a node that joins later gets it inside its
  own block and undoes it with everyone else on ROLLBACK;
* SET SESSION AUTHORIZATION is checked here against the *client's* login (the backend
  connections are the cluster superuser's, so PostgreSQL's own check would allow anyone),
  and RESET SESSION AUTHORIZATION returns to the client's login, not to the superuser;
* a backend connection is brought to the session's state from its tag with
  `session_settings.statements_for`; a transaction that changed settings leaves its
  connections in a state the pool cannot vouch for, so they are closed, not pooled.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from gridpg.errors import NO_ACTIVE_SQL_TRANSACTION, PgError
from gridpg.executor import advisory
from gridpg.frontend.session_settings import (
    NEUTRAL,
    carries_timer,
    check_client_encoding,
    statements_for,
)
from gridpg.pgwire import codec
from gridpg.sql import parse as sqlparse
from gridpg.sql import xact_time
from gridpg.sql.quote import quote_ident, quote_literal, set_config_sql
from gridpg.txn.snapshot import CONSISTENCY, FENCE_TIMEOUT, check_setting

if TYPE_CHECKING:
    from gridpg.datanode.connection import BackendConnection
    from gridpg.executor.dispatch import ExecRequest
    from gridpg.frontend.statements import StatementRunner

INSUFFICIENT_PRIVILEGE = "42501"
CANT_CHANGE_RUNTIME_PARAM = "55P02"
CHARACTERISTICS = ("default_transaction_isolation", "default_transaction_read_only",
                   "default_transaction_deferrable")


async def setup_connection(runner: StatementRunner, conn: BackendConnection) -> None:
    """Bring a backend connection to the session's state (as at the start of its open
    transaction: what changed since is replayed inside the node's block)."""
    superuser = conn.address.user
    wanted = runner.state.tag(superuser, at_transaction_start=runner.txn.in_block)
    statements = statements_for(conn.session_state, wanted, superuser)
    if statements:
        conn.session_state = None  # unknown until every statement succeeded
        await conn.simple_query("; ".join(statements))
    tag_connection(conn, wanted)
    # (the block's SET LOCALs are replayed on it too: every name the session has set)
    mark_placeholders(conn, runner.state.placeholders)


def tag_connection(conn: BackendConnection, tag: tuple[object, ...]) -> None:
    """The connection carries session state `tag` now."""
    conn.session_state = tag
    conn.timer_set = carries_timer(tag)
    if tag and tag != NEUTRAL:
        mark_placeholders(conn, {str(k).lower() for k, _ in tag[2] if "." in str(k)})  # type: ignore[attr-defined]


def mark_placeholders(conn: BackendConnection, names: set[str]) -> None:
    """Custom settings that may have been set on the connection's backend: PostgreSQL keeps
    them as placeholders until it ends (`SessionSettings.accepts`)."""
    if names and not names <= conn.placeholders:
        conn.placeholders = conn.placeholders | frozenset(names)


async def run_set(runner: StatementRunner, setting: sqlparse.SetStatement, request: ExecRequest) -> None:
    """One SET/RESET statement of the client."""
    reported, _ = await _apply(runner, setting, _node_statements(runner, setting, request.sql))
    _done(runner, setting, reported)


async def run_set_config(runner: StatementRunner, calls: list[sqlparse.SetConfigCall],
                         request: ExecRequest) -> None:
    """`SELECT set_config(name, value, is_local)[, ...]`: each call is a SET (or SET LOCAL;
    a NULL value resets) kept for the session's every node like one; the row holds what
    PostgreSQL returns, the setting's new value."""
    catalog = await runner.txn.connection(runner.coord.catalog_node, wants_block=False)
    values: list[str | None] = []
    reported: dict[str, str] = {}
    for call in calls:
        name, value, local = await _set_config_arguments(catalog, call, request)
        setting = sqlparse.SetStatement(name.lower(), value is None, local, value, "SELECT")
        more, returned = await _apply(runner, setting, [set_config_sql(name, value, local)])
        reported.update(more)
        values.append(returned)
    send = runner.session.send
    if request.simple:
        send(codec.build_row_description([codec.Column(call.column) for call in calls]))
    send(codec.build_data_row([v.encode() if v is not None else None for v in values]))
    send(codec.build_command_complete("SELECT 1"))
    for name, value in reported.items():
        send(codec.build_parameter_status(name, value))
    if not runner.txn.in_block:
        runner.txn.release_if_idle()


async def adopt_set_config(runner: StatementRunner, calls: list[sqlparse.SetConfigCall],
                           request: ExecRequest) -> None:
    """After a statement that called set_config() among other things ran (on one backend
    connection, closed afterwards): its calls with constant or parameter arguments become
    the session's settings, as if SET. The statement already answered the client."""
    for call in calls:
        name, value, local = await _set_config_arguments(None, call, request)
        setting = sqlparse.SetStatement(name.lower(), value is None, local, value, "SELECT")
        await _apply(runner, setting, [set_config_sql(name, value, local)])


# What server-side code may set that the session does not take over: gridpg's own and the
# remote block's settings, identity (a function's SET ROLE ends with it), the encoding
_NOT_ADOPTED = frozenset(("application_name", "role", "session_authorization", "is_superuser",
                          "check_function_bodies", "client_encoding", "transaction_isolation",
                          "transaction_read_only", "transaction_deferrable"))
_SESSION_VALUES_SQL = ("SELECT name, pg_catalog.current_setting(name) FROM pg_catalog.pg_settings "
                       "WHERE source = 'session'")


async def adopt_code_settings(runner: StatementRunner,
                              changes: frozenset[tuple[str | None, bool | None]]) -> None:
    """Server-side code the statement ran (a function, procedure or DO block calling
    set_config() or running SET) changed settings on the one server connection that ran
    it, the catalog server's: its later statements on other connections, and the routing
    of the session's next ones (search_path), would not see them, silently (a tenant's
    `SELECT set_tenant('a')` then `... WHERE tenant = current_setting('app.tenant')`).
    The session takes over what that connection now holds, as if SET, on every node.

    Which of them the code made LOCAL is not visible there: outside a block whatever
    remains is the session's; inside one, code that says is_local (or SET LOCAL) for each
    of its changes makes them LOCAL, code that says session-level keeps them, and code
    that does not say (an expression) is taken as LOCAL (gone at COMMIT, where PostgreSQL
    keeps a session-level one)."""
    in_block = runner.txn.in_block
    locals_ = {local for _, local in changes}
    if not in_block and locals_ == {True}:
        return  # (gone with the statement's own transaction)
    part = runner.txn.participants.get(runner.coord.catalog_node)
    if part is None or part.conn.is_closed or part.conn.txn_status == b"E":
        return
    local = in_block and locals_ != {False}
    rows = list(await part.conn.query(_SESSION_VALUES_SQL))
    named = sorted({name for name, _ in changes if name and "." in name})  # (placeholders: not in pg_settings)
    if named:
        listed = ", ".join(quote_literal(n) for n in named)
        rows += await part.conn.query(f"SELECT n, pg_catalog.current_setting(n, true) "
                                      f"FROM pg_catalog.unnest(ARRAY[{listed}]::text[]) AS n")
    effective = runner.state.effective
    for name, value in rows:
        if name is None or value is None or name in _NOT_ADOPTED or name.startswith("gridpg."):
            continue
        if effective.get(name) == value or effective.get(name.lower()) == value:
            continue
        setting = sqlparse.SetStatement(name.lower(), False, local, value, "SELECT")
        await _apply(runner, setting, [set_config_sql(name, value, local)])


async def _set_config_arguments(catalog: BackendConnection | None, call: sqlparse.SetConfigCall,
                                request: ExecRequest) -> tuple[str, str | None, bool]:
    """The name, value and is_local of a call: constants and parameters read here, other
    expressions evaluated by the catalog server (PostgreSQL's semantics)."""
    texts: list[str | None] = []
    for index, (kind, value) in enumerate(call.args):
        if kind == "const":
            texts.append(value)
        elif kind == "param":
            texts.append(_parameter_text(request, value, is_bool=index == 2))
        elif catalog is None or re.search(r"\$[0-9]", value):
            raise PgError("0A000", "set_config() with parameters inside an expression is not supported by gridpg")
        else:
            rows = await catalog.query(f"SELECT ({value})::text")
            texts.append(rows[0][0] if rows else None)
    name, value, local = texts
    if name is None:
        raise PgError("22004", "SET requires parameter name")
    return name, value, (local or "").lower() in ("t", "true", "on", "yes", "y", "1")


def _parameter_text(request: ExecRequest, number: int, is_bool: bool) -> str | None:
    if number < 1 or number > len(request.params):
        raise PgError("42P02", f"there is no parameter ${number}")
    raw = request.params[number - 1]
    if raw is None:
        return None
    formats = request.param_formats
    binary = bool(formats) and formats[0 if len(formats) == 1 else number - 1] == 1
    if binary and is_bool:
        return "true" if raw[:1] == b"\x01" else "false"
    return raw.decode()


def ensure_not_internal(name: str) -> None:
    """gridpg.skip_triggers keeps triggers off the datanodes while the coordinator fires
    them itself (executor/triggers.py): a client must not set it."""
    from gridpg.planner.triggers import SKIP_SETTING

    if name.lower() == SKIP_SETTING:
        raise PgError("42501", f'permission denied to set parameter "{SKIP_SETTING}"')


# SET LOCAL of these is not a value the session's model holds (identity, or several settings)
_NOT_LOCAL_VALUES = frozenset(("role", "session_authorization", "all", "session characteristics"))


async def _apply(runner: StatementRunner, setting: sqlparse.SetStatement,
                 statements: list[str]) -> tuple[dict[str, str], str | None]:
    """Validate on the catalog server, keep in the session's model, send to the session's
    other nodes; the ParameterStatus values to report and the catalog's first column."""
    in_block = runner.txn.in_block
    if setting.name == xact_time.SETTING:
        raise PgError(CANT_CHANGE_RUNTIME_PARAM, f'parameter "{xact_time.SETTING}" cannot be changed',
                      detail="gridpg gives each transaction block's datanodes the block's now() in it.")
    if not setting.reset:
        check_setting(setting.name, setting.value)
        ensure_not_internal(setting.name)
        if setting.name == "client_encoding":
            check_client_encoding(setting.value)
    catalog_node = runner.coord.catalog_node
    catalog = await runner.txn.connection(catalog_node, wants_block=False)
    if not setting.reset:
        await _load_reserving_library(catalog, setting.name)
    rows = await catalog.query("; ".join(statements))
    returned = rows[0][0] if rows and rows[0] else None
    if "." in setting.name:  # (a custom setting: a placeholder on every backend it reaches)
        runner.state.note_placeholder(setting.name)
        for part in runner.txn.participants.values():
            mark_placeholders(part.conn, runner.state.placeholders)
    if setting.is_local and not in_block:  # PostgreSQL: SET LOCAL outside a block does nothing
        if setting.tag != "SELECT":  # (set_config(..., true) says nothing)
            runner.session.say("SET LOCAL can only be used in transaction blocks", "WARNING",
                               NO_ACTIVE_SQL_TRANSACTION)
        return {}, returned
    if not setting.is_local:
        await _record(runner, setting, catalog, in_block)
    elif setting.name not in _NOT_LOCAL_VALUES:
        rows = await catalog.query(f"SELECT pg_catalog.current_setting({quote_literal(setting.name)})")
        runner.state.set_local(setting.name, rows[0][0] or "")
    _note_transaction_setting(runner, setting, in_block)
    others = [n for n in runner.txn.held_nodes() if n != catalog_node]
    for node in others:
        await runner.txn.participants[node].conn.simple_query("; ".join(statements))
    if in_block:
        runner.txn.local_settings.extend(statements)
        if setting.reset and setting.name == "all":
            runner.txn.forget_block_instant()
    else:
        tag_held_connections(runner)
    return await _reported(runner, setting, catalog), returned


# Libraries any pooled backend connection may have loaded (a function or trigger ran there),
# each reserving its prefix: PostgreSQL refuses an unknown `plpgsql.x` once plpgsql is loaded
# (42602). A placeholder accepted on a connection without it would fail on the next
# connection the session set up, and every statement after it would fail: so the name is
# checked with the library loaded, as a session that ran any PL/pgSQL has it.
_PRELOADED_PREFIXES = {"plpgsql": "DO $gridpg$BEGIN END$gridpg$"}


async def _load_reserving_library(catalog: BackendConnection, name: str) -> None:
    """Load the library that reserves `name`'s prefix on the validating connection."""
    prefix, dot, _ = name.partition(".")
    load = _PRELOADED_PREFIXES.get(prefix.lower()) if dot else None
    if load is not None:
        await catalog.simple_query(load)


def _note_transaction_setting(runner: StatementRunner, setting: sqlparse.SetStatement,
                              in_block: bool) -> None:
    """What the open transaction must know now: its isolation level (SET
    transaction_isolation) and SET LOCAL of gridpg's own consistency settings."""
    if not in_block:
        return
    if setting.name == "transaction_isolation" and not setting.reset:
        runner.txn.note_isolation(setting.value)
    consistency = runner.txn.consistency
    if consistency is not None and setting.is_local and setting.name in (CONSISTENCY, FENCE_TIMEOUT):
        if setting.reset:
            consistency.local.pop(setting.name, None)
        elif setting.value is not None:
            consistency.local[setting.name] = setting.value


def tag_held_connections(runner: StatementRunner) -> None:
    """Outside a block a SET took effect on every held connection: they now carry exactly
    the session's state."""
    for part in runner.txn.participants.values():
        tag_connection(part.conn, runner.state.tag(part.conn.address.user))


def _node_statements(runner: StatementRunner, setting: sqlparse.SetStatement, sql: str) -> list[str]:
    """What to run on each node for the client's statement (identity and RESET translated)."""
    state = runner.state
    local = "LOCAL " if setting.is_local else ""
    if setting.name == "session_authorization":
        user = state.login if setting.reset else setting.value
        if user is None:
            raise PgError("42601", "SET SESSION AUTHORIZATION takes a role name")
        if user != state.login and not runner.session.info.is_superuser:
            raise PgError(INSUFFICIENT_PRIVILEGE, f'permission denied to set session authorization "{user}"')
        return [f"SET {local}SESSION AUTHORIZATION {quote_ident(user)}"]
    if setting.reset and not setting.is_local and setting.name != "role":
        startup = {k.lower(): v for k, v in state.startup.items()}
        if setting.name == "all":
            return ["RESET ALL", *(set_config_sql(k, v) for k, v in startup.items() if k != "client_encoding")]
        if setting.name in startup:
            return [set_config_sql(setting.name, startup[setting.name])]
    return [sql]


async def _record(runner: StatementRunner, setting: sqlparse.SetStatement,
                  catalog: BackendConnection, in_block: bool) -> None:
    """Keep a session-level change in the session's model."""
    state = runner.state
    name = setting.name
    if name == "session_authorization":
        rows = await catalog.query("SELECT pg_catalog.current_setting('session_authorization')")
        state.set_session_authorization(rows[0][0] if not setting.reset else None, in_block)
    elif name == "role":
        rows = await catalog.query("SELECT pg_catalog.current_setting('role')")
        role = rows[0][0]
        state.set_role(None if setting.reset or role == "none" else role, in_block)
    elif name == "all" and setting.reset:
        state.reset_all(in_block)
    elif name == "session characteristics":
        for key in CHARACTERISTICS:
            rows = await catalog.query(f"SELECT pg_catalog.current_setting({quote_literal(key)})")
            state.set_value(key, rows[0][0] or "", in_block)
    elif setting.reset:
        state.reset_value(name, in_block)
    else:
        rows = await catalog.query(f"SELECT pg_catalog.current_setting({quote_literal(name)})")
        state.set_value(name, rows[0][0] or "", in_block)


async def _reported(runner: StatementRunner, setting: sqlparse.SetStatement,
                    catalog: BackendConnection) -> dict[str, str]:
    """ParameterStatus values PostgreSQL sends after this SET."""
    from gridpg.frontend.statements import REPORTED

    if setting.is_local:
        return {}
    if setting.name == "session_authorization":
        rows = await catalog.query("SELECT pg_catalog.current_setting('session_authorization'), "
                                   "pg_catalog.current_setting('is_superuser')")
        return {"session_authorization": rows[0][0] or "", "is_superuser": rows[0][1] or ""}
    reported = {k.lower(): k for k in REPORTED}
    names = [n for n in ([setting.name] if setting.name != "all" else list(reported)) if n in reported]
    out = {}
    for name in names:
        if name in ("session_authorization", "is_superuser", "server_version", "server_encoding",
                    "integer_datetimes", "in_hot_standby", "scram_iterations", "client_encoding"):
            continue
        rows = await catalog.query(f"SELECT pg_catalog.current_setting({quote_literal(name)})")
        out[reported[name]] = rows[0][0] or ""
    return out


def _done(runner: StatementRunner, setting: sqlparse.SetStatement, reported: dict[str, str]) -> None:
    send = runner.session.send
    send(codec.build_command_complete(setting.tag))
    for name, value in reported.items():
        send(codec.build_parameter_status(name, value))
        runner.session.reported[name] = value  # (Session.report_changed_settings: said)
    if not runner.txn.in_block:
        runner.txn.release_if_idle()


async def discard_or_deallocate(runner: StatementRunner, sql: str) -> bool:
    """DEALLOCATE [ALL] and DISCARD ALL/SEQUENCES/PLANS concern the client's session, which
    the coordinator keeps: forwarded, they would act on a pooled connection other sessions
    share. True when handled here."""
    start = sqlparse.statement_start(sql)
    word = sql[start : start + 10].lower()
    if not word.startswith(("discard", "deallocate")):
        return False
    tree = sqlparse.parse_tree(sql)
    session = runner.session
    if "DeallocateStmt" in tree:
        name = tree["DeallocateStmt"].get("name")
        if tree["DeallocateStmt"].get("isall") or name is None:
            session.statements.clear()
            session.send(codec.build_command_complete("DEALLOCATE ALL"))
            return True
        if name in session.statements:
            del session.statements[name]
            session.send(codec.build_command_complete("DEALLOCATE"))
            return True
        return False
    target = tree.get("DiscardStmt", {}).get("target", "")
    if target == "DISCARD_ALL":
        if runner.txn.in_block:
            raise PgError("25001", "DISCARD ALL cannot run inside a transaction block")
        session.statements.clear()
        session.portals.clear()
        await runner.temps.discard()
        advisory.release_all(runner)
        runner.state.discard_all()
        _forget_sequences(runner)
        await runner.notify.unlisten_all()
        session.send(codec.build_command_complete("DISCARD ALL"))
        return True
    if target == "DISCARD_SEQUENCES":
        _forget_sequences(runner)
        session.send(codec.build_command_complete("DISCARD SEQUENCES"))
        return True
    if target == "DISCARD_TEMP" and runner.temps.pinned:
        await runner.temps.discard()
        session.send(codec.build_command_complete("DISCARD TEMP"))
        return True
    if target == "DISCARD_PLANS":
        session.send(codec.build_command_complete("DISCARD PLANS"))
        return True
    return False


def _forget_sequences(runner: StatementRunner) -> None:
    runner.sequence_values.clear()
    runner.last_sequence = None
