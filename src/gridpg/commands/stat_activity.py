"""pg_stat_activity as the cluster's client sessions, and pg_terminate_backend /
pg_cancel_backend of them (planner/stat_activity.py puts them in the statement).

A statement that reads pg_stat_activity or calls a signal function gathers every
coordinator worker's sessions (through the GTM, as gridpg_stat_activity does) and runs on
the catalog server with them in place. `gridpg.signal_backend` checks each call there as
PostgreSQL's pg_signal_backend does (a pid that is no session: WARNING and false; the
caller's rights: 42501) and names the session in a notice carrying a token made for this
statement, which `Session.send` keeps from the client. Once the statement has run, the
coordinator checks the caller's rights again (code the statement calls could read the
token and name any session: `_allowed`), and each named session is signalled where it
lives: this worker's at once, another worker's or
coordinator's through the GTM (`activity_collect` with signals: the worker that holds the
pid carries it out). Terminating a session is what a coordinator's fast shutdown does to
it (57P01 to its client, its transaction rolled back); cancelling is its client's
CancelRequest. The session's own pid: its statement fails as PostgreSQL's does (57014 for
a cancel; 57P01 and the connection closed for a terminate).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from gridpg.errors import PgError, fatal
from gridpg.executor.advisory import lock_node
from gridpg.pgwire import codec
from gridpg.planner import stat_activity as plan
from gridpg.sql.quote import quote_literal

if TYPE_CHECKING:
    from gridpg.frontend.coordinator import Coordinator
    from gridpg.frontend.statements import StatementRunner

ACTIVITY_WAIT = 2.0

# The catalog servers' half: PostgreSQL's checks of pg_signal_backend (signalfuncs.c), in
# the caller's transaction and role, then the notice naming the session; the functions a
# statement calls are named as PostgreSQL's (a call's column is named after its function),
# and pg_blocking_pids looks a session up in the sessions' waits.
SIGNAL_FUNCTION = """
CREATE OR REPLACE FUNCTION gridpg.signal_backend(kind text, target int4, timeout int8, token text,
                                                 pids int4[], users text[])
RETURNS boolean LANGUAGE plpgsql VOLATILE AS $gp$
DECLARE
  i int;
  owner text;
  what text := CASE kind WHEN 'cancel' THEN 'cancel query' ELSE 'terminate process' END;
  shown text;
BEGIN
  IF target IS NULL OR timeout IS NULL THEN
    RETURN NULL;
  END IF;
  IF timeout < 0 THEN
    RAISE EXCEPTION '"timeout" must not be negative' USING ERRCODE = '22003';
  END IF;
  i := pg_catalog.array_position(pids, target);
  IF i IS NULL THEN
    RAISE WARNING 'PID % is not a PostgreSQL backend process', target;
    RETURN false;
  END IF;
  owner := users[i];
  IF EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = owner AND rolsuper)
     AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = current_user AND rolsuper) THEN
    RAISE EXCEPTION 'permission denied to %', what USING ERRCODE = '42501',
      DETAIL = CASE kind WHEN 'cancel'
        THEN 'Only roles with the SUPERUSER attribute may cancel queries of roles with the SUPERUSER attribute.'
        ELSE 'Only roles with the SUPERUSER attribute may terminate processes of roles with the SUPERUSER attribute.' END;
  END IF;
  IF NOT (EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = owner)
          AND pg_catalog.pg_has_role(current_user, owner, 'USAGE'))
     AND NOT pg_catalog.pg_has_role(current_user, 'pg_signal_backend', 'USAGE') THEN
    RAISE EXCEPTION 'permission denied to %', what USING ERRCODE = '42501',
      DETAIL = CASE kind WHEN 'cancel'
        THEN 'Only roles with privileges of the role whose query is being canceled or with privileges of the "pg_signal_backend" role may cancel this query.'
        ELSE 'Only roles with privileges of the role whose process is being terminated or with privileges of the "pg_signal_backend" role may terminate this process.' END;
  END IF;
  shown := pg_catalog.current_setting('client_min_messages');
  PERFORM pg_catalog.set_config('client_min_messages', 'notice', true);
  RAISE NOTICE '%', token || kind || ':' || target;
  PERFORM pg_catalog.set_config('client_min_messages', shown, true);
  RETURN true;
END
$gp$;
CREATE OR REPLACE FUNCTION gridpg.pg_terminate_backend(target int4, timeout int8, token text, pids int4[],
                                                       users text[])
RETURNS boolean LANGUAGE sql VOLATILE
AS $gp$ SELECT gridpg.signal_backend('terminate', target, timeout, token, pids, users) $gp$;
CREATE OR REPLACE FUNCTION gridpg.pg_cancel_backend(target int4, token text, pids int4[], users text[])
RETURNS boolean LANGUAGE sql VOLATILE
AS $gp$ SELECT gridpg.signal_backend('cancel', target, 0, token, pids, users) $gp$;
CREATE OR REPLACE FUNCTION gridpg.pg_blocking_pids(target int4, pids int4[], blockers text[])
RETURNS int4[] LANGUAGE sql STABLE
AS $gp$ SELECT CASE WHEN target IS NULL THEN NULL ELSE coalesce(
  (SELECT blockers[i]::int4[] FROM pg_catalog.generate_subscripts(pids, 1) AS i WHERE pids[i] = target),
  '{}') END $gp$;
"""


@dataclass
class SignalRequests:
    """The signals one statement asked for (the notices `Session.send` held back)."""

    token: str
    sessions: list[dict[str, Any]] = field(default_factory=list)  # the cluster's, as the statement saw them
    asked: list[tuple[str, int]] = field(default_factory=list)

    def take(self, message: bytes) -> bool:
        """Whether `message` (a NoticeResponse) is one of ours; kept if so."""
        marker = self.token.encode()
        if marker not in message:
            return False
        fields = codec.parse_error_fields(message[5:])
        text = fields.get("M", "")
        if not text.startswith(self.token):
            return False
        kind, _, pid = text[len(self.token):].partition(":")
        if kind in ("terminate", "cancel") and pid.lstrip("-").isdigit():
            self.asked.append((kind, int(pid)))
        return True


async def rewrite(runner: StatementRunner, sql: str) -> tuple[str, SignalRequests | None]:
    """The statement with the cluster's sessions (and their advisory locks) in place, and
    the requests to collect while it runs (None: it calls no signal function)."""
    refs, calls = plan.find(sql)
    if not refs and not calls:
        return sql, None
    if any(call.pid is None for call in calls):
        raise PgError("0A000", "this call of pg_terminate_backend(), pg_cancel_backend() or pg_blocking_pids() "
                      "is not supported by gridpg",
                      hint="Pass the pid, and for pg_terminate_backend a timeout, as arguments.")
    sessions = await cluster_sessions(runner)
    if any(r.name == plan.VIEW for r in refs) or any(c.kind == "blocking" for c in calls):
        await node_waits(runner.coord, sessions)
    advisory: list[tuple[Any, ...]] = []
    owners: dict[int, int] = {}
    if any(r.name == plan.LOCKS for r in refs):
        advisory = await advisory_locks(runner, sessions)
        catalog = runner.coord.catalog_address.name
        owners = {int(pid): int(s["pid"]) for s in sessions for node, pid in (s.get("node_pids") or [])
                  if node == catalog}
    signals = [c for c in calls if c.kind != "blocking"]
    requests = SignalRequests("gridpg-signal-" + os.urandom(12).hex() + ":", sessions=sessions) if signals else None
    return plan.rewrite(sql, refs, calls, sessions, requests.token if requests else "", advisory, owners), requests


# The nodes' client backends waiting, and for what (a session's backends are among them).
WAITS_SQL = """
SELECT pid, wait_event_type, wait_event, pg_catalog.pg_blocking_pids(pid)::text
FROM pg_catalog.pg_stat_activity
WHERE backend_type = 'client backend' AND state = 'active' AND wait_event_type IS NOT NULL
  AND pid <> pg_catalog.pg_backend_pid()
"""


async def node_waits(coord: Coordinator, sessions: list[dict[str, Any]]) -> None:
    """What the sessions wait for on the nodes: an active session's wait event becomes its
    node backend's (a lock, I/O), and `blocked_by` the sessions whose backends hold what it
    waits for (pg_blocking_pids on each node, mapped back to sessions)."""
    from gridpg.commands.activity import each_node

    owners = {(node, int(pid)): s for s in sessions for node, pid in (s.get("node_pids") or [])}
    if not owners:
        return
    nodes = [*coord.datanode_addresses.values(), coord.catalog_address, *coord.other_catalogs]
    wanted = {node for node, _pid in owners}
    nodes = [a for a in nodes if a.name in wanted]
    found = await each_node(nodes, WAITS_SQL, lambda node, rows: [(node, *row) for row in rows])
    for rows in found:
        for node, pid, wait_type, wait_event, blocking in rows:
            session = owners.get((node, int(pid)))
            if session is None:
                continue
            if session.get("state") == "active" and session.get("wait_event_type") is None:
                session["wait_event_type"], session["wait_event"] = wait_type, wait_event
            by = session.setdefault("blocked_by", [])
            for holder in (blocking or "{}").strip("{}").split(","):
                other = owners.get((node, int(holder))) if holder.strip().isdigit() else None
                if other is not None and other is not session and other["pid"] not in by:
                    by.append(other["pid"])


# The lock node's advisory locks in this database (planner/stat_activity.ADVISORY_FIELDS).
ADVISORY_SQL = """
SELECT classid, objid, objsubid, virtualtransaction, pid, mode, granted, fastpath, waitstart
FROM pg_catalog.pg_locks
WHERE locktype = 'advisory'
  AND database = (SELECT oid FROM pg_catalog.pg_database WHERE datname = pg_catalog.current_database())
"""


async def advisory_locks(runner: StatementRunner, sessions: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """The advisory locks the sessions hold (or wait for) on the lock node, each with its
    session's pid; the node's other backends' (none of a client's) left out."""
    from gridpg.commands.activity import each_node

    node = lock_node(runner.snapshot())
    if node is None:
        return []
    owners = {backend: s["pid"] for s in sessions for backend in (s.get("lock_node_pids") or [])}
    if not owners:
        return []
    address = runner.coord.datanode_addresses[node]
    rows = (await each_node([address], ADVISORY_SQL, lambda _node, rows: rows))[0]
    out = []
    for row in rows:
        pid = int(row[4]) if row[4] is not None else None
        if pid in owners:
            out.append((*row[:4], owners[pid], *row[5:]))
    return out


async def cluster_sessions(runner: StatementRunner) -> list[dict[str, Any]]:
    """Every coordinator worker's client sessions (pg_stat_activity's fields), through the
    GTM; a worker that does not answer in time is said (WARNING), as gridpg_stat_activity
    says it: its sessions are missing. Without the GTM, this worker's own, with a WARNING."""
    from gridpg.commands.activity import client_sessions, session_rows

    try:
        rows, missing = await client_sessions(runner.coord)
    except PgError as exc:  # (monitoring goes on while the GTM is away)
        rows, missing = session_rows(runner.coord), 0
        if runner.session is not None:
            runner.session.say(f"only this coordinator worker's sessions are listed: {exc.message}", "WARNING")
    if missing and runner.session is not None:
        runner.session.say(f"{missing} coordinator worker(s) did not answer in {ACTIVITY_WAIT:.0f} s; "
                           "their sessions are missing", "WARNING")
    return [row[-1] for row in rows if row and isinstance(row[-1], dict)]


async def run_signalling(runner: StatementRunner, requests: SignalRequests,
                         run: Callable[[], Awaitable[None]]) -> None:
    """Run the statement (`run`) with its signal notices held back, then signal the
    sessions it named; the session's own pid last, as its error: the statement's answer
    not yet written to the client is dropped then, as PostgreSQL's backend sends none."""
    session = runner.session
    assert session is not None
    start = len(session.out)
    session.signal_requests = requests
    try:
        await run()
    finally:
        session.signal_requests = None
    coord = runner.coord
    own = session.info.backend_pid
    elsewhere: list[list[Any]] = []
    own_kind = None
    allowed = await _allowed(runner, {pid for _kind, pid in requests.asked if pid != own}, requests.sessions)
    for kind, pid in dict.fromkeys(requests.asked):
        if pid != own and pid not in allowed:
            continue  # (a notice the statement's own code forged: it names the token, not the right)
        if pid == own:
            own_kind = "terminate" if own_kind == "terminate" or kind == "terminate" else "cancel"
        elif not await signal_local(coord, kind, pid):
            elsewhere.append([kind, pid])
    if elsewhere:
        try:
            await coord.gtm.activity_collect(ACTIVITY_WAIT, signals=elsewhere)
        except Exception as exc:  # noqa: BLE001 - the GTM's errors, as gridpg_stat_activity's
            raise PgError("08006", f"the sessions to signal cannot be reached: the GTM: {exc}") from None
    if own_kind is not None:
        del session.out[start:]
    if own_kind == "terminate":
        raise fatal("57P01", "terminating connection due to administrator command")
    if own_kind == "cancel":
        raise PgError("57014", "canceling statement due to user request")


async def _allowed(runner: StatementRunner, pids: set[int], sessions: list[dict[str, Any]]) -> set[int]:
    """The pids the session's role may signal, checked again by the coordinator: the token
    travels in the statement's text, so code the statement calls could read it
    (current_query()) and name any session in a notice of its own; the catalog server's
    check in gridpg.signal_backend is PostgreSQL's answer, this one is the guard."""
    owners = {int(s["pid"]): str(s["usename"]) for s in sessions if int(s["pid"]) in pids}
    if not owners:
        return set()
    state = runner.state
    caller = quote_literal(state.role or state.session_user)
    listed = ", ".join(str(p) for p in owners)
    names = ", ".join(quote_literal(o) for o in owners.values())
    sql = (f"SELECT t.p FROM unnest(ARRAY[{listed}]::pg_catalog.int4[], ARRAY[{names}]::pg_catalog.text[]) AS t(p, o) "
           f"WHERE (NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles r WHERE r.rolname = t.o AND r.rolsuper) "
           f"OR EXISTS (SELECT 1 FROM pg_catalog.pg_roles r WHERE r.rolname = {caller} AND r.rolsuper)) "
           f"AND ((EXISTS (SELECT 1 FROM pg_catalog.pg_roles r WHERE r.rolname = t.o) "
           f"AND pg_catalog.pg_has_role({caller}, t.o, 'USAGE')) "
           f"OR pg_catalog.pg_has_role({caller}, 'pg_signal_backend', 'USAGE'))")
    coord = runner.coord
    conn = await coord.internal_acquire(coord.catalog_node)
    try:
        rows = await conn.query(sql)
    finally:
        coord.pools.pool(coord.catalog_node).release(conn)
    return {int(row[0]) for row in rows}


async def signal_local(coord: Coordinator, kind: str, pid: int) -> bool:
    """Signal this worker's session `pid`; False: it is not one of this worker's."""
    session = coord.sessions.get(pid)
    if session is None:
        return False
    if kind == "cancel":
        await coord.cancel_session(session)
    elif session.task is not None and not session.task.done():
        session.task.cancel()  # (Session.run: 57P01 to its client, then close)
        # What it runs on the nodes is cancelled too: the task's cleanup rolls its
        # transaction back, which waited for the running statement to end (a terminated
        # `SELECT pg_sleep(10)` got its 57P01 10 s later; PostgreSQL's backend ends at once).
        await coord.cancel_session(session)
    return True


def apply_signals(coord: Coordinator, signals: list[Any]) -> None:
    """The GTM's signals for this worker's sessions (others' pids are not ours: skipped)."""
    for item in signals:
        if isinstance(item, list) and len(item) == 2 and isinstance(item[1], int) and item[1] in coord.sessions:
            asyncio.ensure_future(signal_local(coord, str(item[0]), item[1]))
