"""Cluster activity views answered by the coordinator: `gridpg_stat_activity` and
`gridpg_lock_waits` (as Citus's citus_stat_activity and citus_lock_waits).

- gridpg_stat_activity: one row per client session of every coordinator worker (kind
  `client`; gathered through the GTM, which asks every watching worker, see
  gtm/coordination.py) and one per node backend working for a distributed transaction
  (kind `backend`: a backend labeled `gridpg:<gxid>:<coordinator>` on a datanode or
  catalog server), with GXID, coordinator, state, wait event and query.
- gridpg_lock_waits: every lock wait of every node between backends, with the
  distributed transaction (GXID, coordinator) on each side when there is one.

A statement that names one of them (unqualified) is answered by gathering the rows and
putting them in place of the name as a `VALUES` subquery (planner/cluster_views.py); the
rest of the statement runs on the catalog server unchanged, so WHERE, joins and ORDER BY
work as on any view.
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Any

from gridpg.datanode.connection import BackendConnection, NodeAddress
from gridpg.errors import PgError
from gridpg.executor.advisory import lock_node
from gridpg.planner.cluster_views import VIEWS, rewrite
from gridpg.sql import parse as sqlparse
from gridpg.txn.deadlock import txn_ref

if TYPE_CHECKING:
    from gridpg.executor.dispatch import Dispatcher, ExecRequest
    from gridpg.frontend.coordinator import Coordinator
    from gridpg.planner.analyze import RelRef

__all__ = ["VIEWS", "gather", "run", "session_rows"]

QUERY_LIMIT = 1000
ACTIVITY_WAIT = 2.0

_BACKENDS = """
SELECT pid, usename, application_name, client_addr::text, state, wait_event_type, wait_event,
       extract(epoch FROM xact_start)::float8, extract(epoch FROM query_start)::float8,
       left(query, 1000)
FROM pg_catalog.pg_stat_activity WHERE application_name LIKE 'gridpg:%'
"""
_LOCK_WAITS = """
SELECT w.pid, w.application_name, left(w.query, 1000), b.pid, b.application_name,
       left(b.query, 1000),
       (SELECT l.mode || ' on ' || l.locktype || coalesce(' ' || l.relation::regclass::text,
               ' ' || l.transactionid::text, '')
          FROM pg_catalog.pg_locks l WHERE l.pid = w.pid AND NOT l.granted LIMIT 1),
       extract(epoch FROM w.state_change)::float8
FROM pg_catalog.pg_stat_activity w
CROSS JOIN LATERAL pg_catalog.unnest(pg_catalog.pg_blocking_pids(w.pid)) AS h(pid)
JOIN pg_catalog.pg_stat_activity b ON b.pid = h.pid
WHERE w.wait_event_type = 'Lock'
"""


async def run(dispatcher: Dispatcher, request: ExecRequest, refs: list[RelRef]) -> None:
    """Gather the views' rows, put them in place, run the statement on the catalog server."""
    rows = {}
    missing = 0
    for name in {r.name for r in refs}:
        rows[name], absent = await gather(dispatcher.coord, name)
        missing += absent
    if missing:
        dispatcher.session.say(
            f"{missing} coordinator worker(s) did not answer in {ACTIVITY_WAIT:.0f} s; "
            "their sessions are missing", "WARNING")
    sql = rewrite(request.sql, refs, rows)
    await dispatcher.run_on_node(dispatcher.coord.catalog_node, request, writes=False, sql=sql)


# -- gathering -----------------------------------------------------------------------------


async def gather(coord: Coordinator, view: str) -> tuple[list[list[Any]], int]:
    """The view's rows, and how many coordinator workers did not answer in time."""
    nodes = [*coord.datanode_addresses.values(), coord.catalog_address, *coord.other_catalogs]
    if view == "gridpg_lock_waits":
        return [row for rows in await each_node(nodes, _LOCK_WAITS, _lock_wait_rows) for row in rows], 0
    sessions, missing = await client_sessions(coord)
    sessions = [row[: len(VIEWS[view])] for row in sessions]  # (pg_stat_activity's fields after)
    backends = [row for rows in await each_node(nodes, _BACKENDS, _backend_rows) for row in rows]
    return sessions + backends, missing


async def client_sessions(coord: Coordinator) -> tuple[list[list[Any]], int]:
    """Every coordinator worker's client sessions, through the GTM."""
    from gridpg.gtm.protocol import GtmError, GtmUnavailable

    try:
        answer = await coord.gtm.activity_collect(ACTIVITY_WAIT)
    except (GtmError, GtmUnavailable, OSError) as exc:
        raise PgError("08006", f"gridpg_stat_activity: the GTM cannot be reached: {exc}") from None
    rows = [list(row) for row in answer.get("rows", []) if isinstance(row, list)]
    return rows, int(answer.get("missing", 0))


def session_rows(coord: Coordinator) -> list[list[Any]]:
    """This worker's client sessions as gridpg_stat_activity rows, each followed by its
    pg_stat_activity fields (commands/stat_activity.py; None for a loopback connection,
    server-side code's own way back, which is no client's backend)."""
    rows = []
    for session in list(coord.sessions.values()):
        runner = session.runner
        if runner is None:
            continue
        gxid = runner.txn.gxid
        waiting = runner.waiting_for_pause
        application = runner.settings.get("application_name", session.info.application_name)
        state, query_start = runner.state_name, _ts(runner.query_start)
        wait_type, wait_event = ("gridpg", "PauseCluster") if waiting else (None, None)
        rows.append([
            coord.name, gxid, coord.name, session.info.backend_pid, "client", session.info.user,
            application, session.client_addr, state, wait_type, wait_event, _ts(runner.xact_start),
            query_start, runner.last_query[:QUERY_LIMIT],
            None if runner.is_loopback else _pg_stat_activity_fields(session, runner, application, state,
                                                                      query_start, waiting),
        ])
    return rows


def _pg_stat_activity_fields(session: Any, runner: Any, application: str, state: str, query_start: str | None,
                             waiting: bool) -> dict[str, Any]:
    """The session's pg_stat_activity values (planner/stat_activity.SESSION_FIELDS), from
    what its gridpg_stat_activity row read (`session_rows`)."""
    query = runner.last_query[:QUERY_LIMIT]
    xact_start = _ts(runner.xact_start) if runner.txn.in_block or state == "active" else None
    wait_type, wait_event = ("gridpg", "PauseCluster") if waiting else \
        (None, None) if state == "active" else ("Client", "ClientRead")
    query_id = None
    settings = runner.settings
    if str(settings.get("track_activities", "on")).lower() in ("off", "false", "no", "0"):
        # (PostgreSQL's STATE_DISABLED: nothing of the statement is kept)
        state, query, query_start, xact_start, wait_type, wait_event = "disabled", "", None, None, None, None
    elif query and str(settings.get("compute_query_id", "auto")).lower() in ("on", "true", "yes", "1", "regress"):
        query_id = _query_id(query)
    peer = session.stream.get_extra_info("peername")
    # its connections' backends on the nodes: pg_locks' advisory rows, the nodes' lock waits
    held = [part.conn for part in runner.txn.participants.values()]
    held += [conn for conn in runner.txn.pinned.values() if conn is not None]
    held += list(runner.side_connections)
    if session.cycle is not None:
        held.append(session.cycle.conn)
    node_pids = sorted({(conn.node, conn.backend_pid) for conn in held if conn.backend_pid})
    node = lock_node(runner.snapshot())
    lock_pids = [pid for name, pid in node_pids if name == node]
    return {"datname": session.info.database, "pid": session.info.backend_pid, "usename": session.info.user,
            "application_name": application, "client_addr": session.client_addr,
            "client_port": peer[1] if isinstance(peer, tuple) and len(peer) > 1 else -1,
            "backend_start": _ts(session.backend_start), "xact_start": xact_start, "query_start": query_start,
            "state_change": query_start or _ts(session.backend_start), "wait_event_type": wait_type,
            "wait_event": wait_event, "state": state, "query_id": query_id, "query": query,
            "lock_node_pids": lock_pids, "node_pids": [list(pair) for pair in node_pids]}


def _query_id(query: str) -> int | None:
    """A query identifier: the statement's fingerprint (constants aside, as PostgreSQL's
    jumble leaves them aside), as a signed 64-bit number."""
    try:
        value = int(sqlparse.fingerprint(query), 16)
    except Exception:  # noqa: BLE001 - a text that does not parse has none
        return None
    return value - (1 << 64) if value >= 1 << 63 else value


async def each_node(nodes: list[NodeAddress], sql: str, reader: Any) -> list[list[list[Any]]]:
    """`reader(node, rows of sql)` for every node at once; a node that fails is an error."""
    async def one(address: NodeAddress) -> list[list[Any]]:
        conn = await BackendConnection.connect(address, params={"application_name": "gridpg activity"},
                                               timeout=3)
        try:
            return reader(address.name, await conn.query(sql))  # type: ignore[no-any-return]
        finally:
            conn.close()

    results = await asyncio.gather(*(one(a) for a in nodes), return_exceptions=True)
    for address, result in zip(nodes, results):
        if isinstance(result, BaseException):
            message = result.message if isinstance(result, PgError) else str(result)
            raise PgError("08006", f"node {address.name} did not answer: {message}")
    return results  # type: ignore[return-value]


def _backend_rows(node: str, rows: list[tuple[str | None, ...]]) -> list[list[Any]]:
    out = []
    for pid, user, app, addr, state, wtype, wevent, xact, qstart, query in rows:
        ref = txn_ref(node, int(pid or 0), app)
        out.append([ref.coordinator, ref.gxid, node, pid, "backend", user, app, addr, state,
                    wtype, wevent, _ts(xact), _ts(qstart), query])
    return out


def _lock_wait_rows(node: str, rows: list[tuple[str | None, ...]]) -> list[list[Any]]:
    out = []
    for wpid, wapp, wquery, bpid, bapp, bquery, lock, since in rows:
        waiter, holder = txn_ref(node, int(wpid or 0), wapp), txn_ref(node, int(bpid or 0), bapp)
        out.append([node, waiter.gxid, waiter.coordinator, wpid, wquery, holder.gxid,
                    holder.coordinator, bpid, bquery, lock, _ts(since)])
    return out


def _ts(epoch: Any) -> str | None:
    """An epoch in seconds as a timestamptz literal PostgreSQL reads."""
    if epoch in (None, ""):
        return None
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(float(epoch))) + \
        f".{int((float(epoch) % 1) * 1_000_000):06d}+00"
