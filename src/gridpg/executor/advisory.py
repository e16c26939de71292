"""Advisory locks that mean the same thing from every coordinator and every statement.

`SELECT pg_advisory_lock(k)` touches no table, so it ran on the coordinator's own catalog
server, in a pooled connection: two sessions on two coordinators both got "the" lock (each
catalog server has its own lock table), and a session-level lock stayed on a connection the
pool then gave to another session, while the owner's `pg_advisory_unlock` ran on another
connection and found nothing to release (migration tools take exactly these locks).

Such statements (advisory lock functions, no relation) now run on one datanode group every
coordinator agrees on (the first by name), and a session-level lock keeps that connection
for the rest of the session, out of the pool (as temp tables keep theirs): the lock lives
as long as PostgreSQL's would, and its unlock reaches it. Transaction-level locks
(`pg_advisory_xact_lock`) go to the same node inside the transaction's block. So does a
table-less statement calling user code that calls them (`SELECT take_job_lock(7)`, the
function on every server: RoutineGuard.code_effects), which took them on the catalog
server's pooled connection before, out of reach of the client's own unlock. A failover of
that group loses the session locks held there (their connection is gone), as a server
restart would.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from gridpg.errors import PgError
from gridpg.planner import analyze
from gridpg.sql import parse as sqlparse

if TYPE_CHECKING:
    from gridpg.catalog.model import CatalogSnapshot
    from gridpg.executor.dispatch import Dispatcher, ExecRequest
    from gridpg.frontend.statements import StatementRunner

_ADVISORY = re.compile(r"\bpg_(try_)?advisory_", re.IGNORECASE)
_SESSION_LEVEL = re.compile(r"\bpg_(try_)?advisory_lock(_shared)?\s*\(", re.IGNORECASE)


# Statement kinds whose relations' rows are read where they live (datanodes, or the catalog
# server for its own tables), each on a connection of that node's pool.
_READS_ROWS = frozenset({"SelectStmt", "InsertStmt", "UpdateStmt", "DeleteStmt", "MergeStmt"})


def mentions(sql: str) -> bool:
    return _ADVISORY.search(sql) is not None


def takes_session_lock(function: str) -> bool:
    """Whether an advisory lock function (by name) takes a lock held until the session ends."""
    return _SESSION_LEVEL.match(f"{function}(") is not None


def lock_node(snapshot: CatalogSnapshot) -> str | None:
    """The datanode group every coordinator takes advisory locks on: the first by name."""
    groups = snapshot.datanode_groups()
    return groups[0].name if groups else None


async def run_if_advisory(dispatcher: Dispatcher, request: ExecRequest, session_level: bool | None = None) -> bool:
    """Run a table-less statement calling advisory lock functions on the lock node (True).
    `session_level`: whether it may take a session-level lock, when its user code calls
    them (RoutineGuard.code_effects; None: read from the statement's text)."""
    try:
        tree = sqlparse.parse_tree(request.sql)
    except PgError:
        return False
    kind = sqlparse.node_type(tree)
    over_tables = kind in _READS_ROWS and bool(analyze.relations(tree))
    if over_tables:
        _refuse_locks_over_tables(tree, session_level)
    if kind != "SelectStmt" or over_tables:
        return False
    node = lock_node(dispatcher.runner.snapshot())
    if node is None:
        return False
    if _SESSION_LEVEL.search(request.sql) if session_level is None else session_level:
        dispatcher.runner.txn.pin(node)  # the lock lives as long as the session
    await dispatcher.run_on_node(node, request, writes=False)
    return True


def release_all(runner: StatementRunner) -> None:
    """DISCARD ALL: the session's advisory locks go, as PostgreSQL's DISCARD ALL runs
    pg_advisory_unlock_all(). They live on the lock node's pinned connection (nothing else
    of the session's is kept there unless its temp tables are, which DISCARD ALL drops the
    same way, temps.discard): closing that connection releases them."""
    node = lock_node(runner.snapshot())
    if node is not None and node in runner.txn.pinned:
        runner.txn.unpin(node)


def _refuse_locks_over_tables(tree: object, session_level: bool | None) -> None:
    """An advisory lock function called in a statement over tables is refused (0A000):
    the rows' nodes would run it, each in its own lock space, not the lock node's where
    every other advisory lock of the cluster is. A session-level lock stayed on the node's
    pooled connection after the statement, held for whichever session got it next and out
    of reach of the owner's pg_advisory_unlock and of its session's end (a job queue's
    `SELECT ... FROM jobs WHERE pg_try_advisory_lock(id)` then saw every job locked, for
    good); a transaction-level one did not exclude the same key taken by a statement
    alone, nor by a row of another node (two sessions both held it). `session_level`:
    given when user code calls the functions (RoutineGuard), None when the statement's
    own calls decide."""
    if session_level is None:
        names = {sqlparse.funcname(call) for call in sqlparse.nodes_of(tree, "FuncCall")}
        called = sorted(name for name in names if _ADVISORY.match(name))
    else:
        called = ["a function calling pg_advisory_*"]
    if called:
        name = called[0] if called[0].startswith("a ") else f"{called[0]}()"
        raise PgError("0A000", f"{name} in a statement over tables is not supported by gridpg",
                      detail="the rows' datanodes would take the lock in their own lock spaces, on "
                             "pooled connections, apart from the cluster's advisory locks",
                      hint="take the lock in a statement of its own, SELECT pg_try_advisory_lock(key) "
                           "(or _xact_lock in the transaction), with the keys read first")
