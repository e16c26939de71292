"""pg_stat_activity as the cluster's client sessions, and pg_terminate_backend /
pg_cancel_backend of them, planner side: which statements name them, and the statement
with the sessions put in place (commands/stat_activity.py gathers them, runs the statement
and carries the signals out). Pure: no I/O.

Through a coordinator, a client's backend is its session: `pg_backend_pid()` is the pid
BackendKeyData gave it (cluster-unique, `Coordinator.register_session`), and the catalog
server's own backends serve every session of the cluster. So a reference to
`pg_stat_activity` (unqualified or `pg_catalog.`) becomes a `VALUES` subquery of every
coordinator's client sessions in the view's own columns and types, and each call of
`pg_terminate_backend(pid [, timeout])` / `pg_cancel_backend(pid)` becomes a call of
`gridpg.pg_terminate_backend` / `gridpg.pg_cancel_backend` (named as PostgreSQL's: a call's
column is named after its function), which check the pid and the caller's rights as PostgreSQL does
on the catalog server (in the statement, row by row) and names the session to signal in a
notice carrying the coordinator's token (`Session.send` keeps it from the client).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from gridpg.errors import PgError
from gridpg.planner.analyze import RelRef, relations
from gridpg.planner.calls import named_calls
from gridpg.planner.cluster_views import values_table
from gridpg.sql.parse import closing_paren, parse_tree, tokens
from gridpg.sql.quote import quote_literal

VIEW = "pg_stat_activity"
LOCKS = "pg_locks"

# PostgreSQL 18's columns of pg_stat_activity, in order.
COLUMNS: tuple[tuple[str, str], ...] = (
    ("datid", "oid"), ("datname", "name"), ("pid", "int4"), ("leader_pid", "int4"),
    ("usesysid", "oid"), ("usename", "name"), ("application_name", "text"), ("client_addr", "inet"),
    ("client_hostname", "text"), ("client_port", "int4"), ("backend_start", "timestamptz"),
    ("xact_start", "timestamptz"), ("query_start", "timestamptz"), ("state_change", "timestamptz"),
    ("wait_event_type", "text"), ("wait_event", "text"), ("state", "text"), ("backend_xid", "xid"),
    ("backend_xmin", "xid"), ("query_id", "int8"), ("query", "text"), ("backend_type", "text"),
)

# What a coordinator worker reports for each session (commands/activity.session_rows: the
# gridpg_stat_activity row, then these): the values put in place, by column.
SESSION_FIELDS = ("datname", "pid", "usename", "application_name", "client_addr", "client_port",
                  "backend_start", "xact_start", "query_start", "state_change", "wait_event_type",
                  "wait_event", "state", "query_id", "query")

SIGNALS = {"pg_terminate_backend": "terminate", "pg_cancel_backend": "cancel"}
BLOCKING = "pg_blocking_pids"


@dataclass(frozen=True)
class SignalCall:
    start: int  # the call's first character (its schema or name)
    end: int  # just past its closing parenthesis
    kind: str  # "terminate", "cancel" (a signal) or "blocking" (pg_blocking_pids)
    pid: str | None  # the pid argument's text (None: arguments not understood)
    timeout: str  # the timeout argument's text ("0" when not given)


def mentions(sql: str) -> bool:
    """A cheap test before parsing."""
    lowered = sql.lower()
    return VIEW in lowered or "_backend" in lowered or LOCKS in lowered or BLOCKING in lowered


def find(sql: str) -> tuple[list[RelRef], list[SignalCall]]:
    """The statement's references to pg_stat_activity and pg_locks, and its signal and
    pg_blocking_pids calls."""
    try:
        tree = parse_tree(sql)
    except PgError:  # (the statement's own run reports it)
        return [], []
    kind = next(iter(tree), "")
    if kind in _KEEPS_TEXT or (kind == "CreateTableAsStmt" and tree[kind].get("objtype") == "OBJECT_MATVIEW"):
        return [], []  # (today's sessions would be frozen into it)
    refs = [r for r in relations(tree) if r.name in (VIEW, LOCKS) and r.schema in (None, "pg_catalog")]
    return refs, _signal_calls(sql, tree)


# Statements that keep their text to run later (a view, a rule, a routine's body, a
# materialized view's query, a PREPAREd statement: planned at each EXECUTE): left as they
# are, they read the catalog server's views when they run.
_KEEPS_TEXT = frozenset({"ViewStmt", "CreateFunctionStmt", "RuleStmt", "CreateTrigStmt", "CreatePolicyStmt",
                         "DoStmt", "PrepareStmt"})


def _signal_calls(sql: str, tree: Any) -> list[SignalCall]:
    found = named_calls(tree, (*SIGNALS, BLOCKING))
    if not found:
        return []
    toks = tokens(sql)  # (character offsets, as the tree's)
    out = []
    for start, name, _args in sorted(found):
        first = next((i for i, tok in enumerate(toks) if tok.start >= start), len(toks))
        close = closing_paren(toks, first)
        if close is None:
            continue
        open_at = next(i for i in range(first, close) if toks[i].name == "ASCII_40")
        inner = sql[toks[open_at].end + 1 : toks[close].start]
        if name == BLOCKING:
            parts = _split_top(inner)
            pid = parts[0] if len(parts) == 1 and _NAMED.match(parts[0]) is None else None
            out.append(SignalCall(start, toks[close].end + 1, "blocking", pid, "0"))
            continue
        pid, timeout = _arguments(inner, SIGNALS[name])
        out.append(SignalCall(start, toks[close].end + 1, SIGNALS[name], pid, timeout))
    return out


_NAMED = re.compile(r'^\s*"?(pid|timeout)"?\s*(=>|:=)\s*(.*)$', re.DOTALL | re.IGNORECASE)


def _arguments(inner: str, kind: str) -> tuple[str | None, str]:
    """The pid and timeout arguments' texts (positional or named, as PostgreSQL takes them);
    pid None: arguments PostgreSQL would not take either (the caller refuses the call)."""
    parts = _split_top(inner)
    pid, timeout = None, None
    for i, part in enumerate(parts):
        named = _NAMED.match(part)
        if named is not None:
            if named.group(1).lower() == "pid":
                pid = named.group(3)
            else:
                timeout = named.group(3)
        elif i == 0:
            pid = part
        elif i == 1:
            timeout = part
    if (kind == "cancel" and timeout is not None) or len(parts) > 2:
        pid = None
    return pid, timeout if timeout is not None else "0"


def _split_top(inner: str) -> list[str]:
    """`inner` split at its top-level commas (the scanner's tokens: quotes and comments)."""
    if not inner.strip():
        return []
    parts, depth, start = [], 0, 0
    for tok in tokens(inner):
        if tok.name in ("ASCII_40", "ASCII_91"):
            depth += 1
        elif tok.name in ("ASCII_41", "ASCII_93"):
            depth -= 1
        elif tok.name == "ASCII_44" and depth == 0:
            parts.append(inner[start : tok.start])
            start = tok.end + 1
    parts.append(inner[start:])
    return [p.strip() for p in parts]


# -- putting them in place ----------------------------------------------------------------


def rewrite(sql: str, refs: list[RelRef], calls: list[SignalCall], sessions: list[dict[str, Any]],
            token: str, advisory: list[tuple[Any, ...]] = (), catalog_owners: dict[int, int] | None = None) -> str:
    """`sql` with each pg_stat_activity reference replaced by a subquery of `sessions`,
    each pg_locks reference by the catalog server's locks (those of a session's backend
    there with the session's pid: `catalog_owners`, backend pid -> session pid) with the
    sessions' `advisory` locks (the lock node's rows, pids the sessions'), each signal call by gridpg's
    function of its name over the sessions, and each pg_blocking_pids call by gridpg's over
    the sessions' `blocked_by` (pure)."""
    edits: list[tuple[int, int, str]] = []
    if refs:
        toks = tokens(sql)
        for ref in refs:
            first = next(i for i, tok in enumerate(toks) if tok.start >= ref.location)
            last = first + (2 if ref.schema is not None else 0)  # schema . name
            body = values_subquery(sessions) if ref.name == VIEW else locks_subquery(advisory, catalog_owners)
            subquery = f"({body})"
            edits.append((ref.location, toks[last].end + 1, subquery if ref.alias else f"{subquery} AS {ref.name}"))
    if calls:
        pids = "ARRAY[" + ", ".join(str(int(s["pid"])) for s in sessions) + "]::pg_catalog.int4[]"
        users = "ARRAY[" + ", ".join(quote_literal(str(s["usename"])) for s in sessions) + "]::pg_catalog.text[]"
        for call in calls:
            if call.kind == "blocking":
                edits.append((call.start, call.end, blocking_lookup(str(call.pid), sessions)))
                continue
            timeout = f"({call.timeout}), " if call.kind == "terminate" else ""
            text = f"gridpg.pg_{call.kind}_backend(({call.pid}), {timeout}{quote_literal(token)}, {pids}, {users})"
            edits.append((call.start, call.end, text))
    pieces, pos = [], 0
    for start, end, text in sorted(edits):
        if start < pos:
            continue  # (a call inside a replaced reference's span: none can be)
        pieces += [sql[pos:start], text]
        pos = end
    pieces.append(sql[pos:])
    return "".join(pieces)


def blocking_lookup(pid: str, sessions: list[dict[str, Any]]) -> str:
    """pg_blocking_pids(pid) over the sessions: the sessions whose transactions hold what
    the session waits for on any node (NULL for NULL, an empty array for any other pid)."""
    blocked = [(int(s["pid"]), s.get("blocked_by") or []) for s in sessions if s.get("blocked_by")]
    pids = ", ".join(str(p) for p, _ in blocked)
    blockers = ", ".join(quote_literal("{" + ",".join(str(int(b)) for b in by) + "}") for _, by in blocked)
    return (f"gridpg.pg_blocking_pids(({pid}), ARRAY[{pids}]::pg_catalog.int4[], "
            f"ARRAY[{blockers}]::pg_catalog.text[])")


def values_subquery(sessions: list[dict[str, Any]]) -> str:
    """SELECT ... with pg_stat_activity's columns over the sessions' values, and the catalog
    server's own processes that are no client's backend (checkpointer, walwriter,
    autovacuum, ...: the server's, as PostgreSQL lists them). As PostgreSQL shows them: a
    session of a role the reader has no privileges of (nor of pg_read_all_stats) shows its
    database, pid, role, application and type only, and `<insufficient privilege>` for its
    query."""
    servers = ("SELECT * FROM pg_catalog.pg_stat_activity "
               "WHERE backend_type IS DISTINCT FROM 'client backend'")
    if not sessions:
        return servers
    sessions_rows = [[s.get(f) for f in SESSION_FIELDS] for s in sessions]
    given = {name: i for i, name in enumerate(SESSION_FIELDS)}
    public = ("datname", "pid", "usename", "application_name")
    computed = {"datid": "d.oid", "usesysid": "r.oid", "backend_type": "'client backend'::pg_catalog.text",
                "query": f"CASE WHEN s.seen THEN v.c{given['query']} ELSE '<insufficient privilege>' END::pg_catalog.text"}
    computed |= {col: f"CASE WHEN s.seen THEN v.c{given[col]}::pg_catalog.{typ} END"
                 for col, typ in COLUMNS if col in given and col not in public and col not in computed}
    return (f"SELECT {_select_list(COLUMNS, given, computed)} FROM {values_table(sessions_rows, len(SESSION_FIELDS))} "
            f"LEFT JOIN pg_catalog.pg_database d ON d.datname = v.c{given['datname']} "
            f"LEFT JOIN pg_catalog.pg_roles r ON r.rolname = v.c{given['usename']} "
            "CROSS JOIN LATERAL (SELECT coalesce(CASE WHEN r.oid IS NOT NULL THEN "
            "pg_catalog.pg_has_role(r.oid, 'USAGE') END, false) "
            f"OR pg_catalog.pg_has_role('pg_read_all_stats', 'USAGE') AS seen) AS s UNION ALL {servers}")


# PostgreSQL 18's columns of pg_locks, in order.
LOCK_COLUMNS: tuple[tuple[str, str], ...] = (
    ("locktype", "text"), ("database", "oid"), ("relation", "oid"), ("page", "int4"), ("tuple", "int2"),
    ("virtualxid", "text"), ("transactionid", "xid"), ("classid", "oid"), ("objid", "oid"), ("objsubid", "int2"),
    ("virtualtransaction", "text"), ("pid", "int4"), ("mode", "text"), ("granted", "bool"), ("fastpath", "bool"),
    ("waitstart", "timestamptz"),
)
# What the lock node's advisory rows carry (commands/stat_activity.ADVISORY_SQL), by column.
ADVISORY_FIELDS = ("classid", "objid", "objsubid", "virtualtransaction", "pid", "mode", "granted", "fastpath",
                   "waitstart")


def locks_subquery(advisory: list[tuple[Any, ...]], catalog_owners: dict[int, int] | None = None) -> str:
    """pg_locks: the catalog server's own locks but advisory ones, a session's backend's
    with the session's pid (`catalog_owners`: what a session's DDL or a lock it takes holds
    there, as `WHERE pid = pg_backend_pid()` looks for it), and the sessions' advisory
    locks, which live on the lock node (executor/advisory.py), in the session's database
    and with the session's pid."""
    own = "SELECT * FROM pg_catalog.pg_locks WHERE locktype IS DISTINCT FROM 'advisory'"
    if catalog_owners:
        pairs = sorted(catalog_owners.items())
        columns = ", ".join("COALESCE(v.c1::pg_catalog.int4, l.pid) AS pid" if col == "pid" else f"l.{col}"
                            for col, _typ in LOCK_COLUMNS)
        own = (f"SELECT {columns} FROM pg_catalog.pg_locks l LEFT JOIN {values_table(pairs, 2)} "
               "ON v.c0::pg_catalog.int4 = l.pid WHERE l.locktype IS DISTINCT FROM 'advisory'")
    if not advisory:
        return own
    given = {name: i for i, name in enumerate(ADVISORY_FIELDS)}
    computed = {"locktype": "'advisory'::pg_catalog.text",
                "database": "(SELECT d.oid FROM pg_catalog.pg_database d WHERE d.datname = pg_catalog.current_database())"}
    return (f"{own} UNION ALL SELECT {_select_list(LOCK_COLUMNS, given, computed)} "
            f"FROM {values_table(advisory, len(ADVISORY_FIELDS))}")


def _select_list(columns: tuple[tuple[str, str], ...], given: dict[str, int], computed: dict[str, str]) -> str:
    """A view's columns over `v` (values_table): computed, or the given value cast to the
    column's type, or a typed NULL."""
    out = []
    for col, typ in columns:
        expr = computed.get(col) or (f"v.c{given[col]}::pg_catalog.{typ}" if col in given else f"NULL::pg_catalog.{typ}")
        out.append(f"{expr} AS {col}")
    return ", ".join(out)
