"""Row security policies of distributed tables: what their expressions may read.

A policy's USING / WITH CHECK expression runs where the rows are: on each datanode, for
that node's shards. A sub-select in it over another distributed table (`owner IN (SELECT
id FROM users WHERE team = ...)`, the usual multi-tenant policy), or over the policy's own
table, or a function it calls that reads one, reads only the part of that table the node
holds: rows the policy grants were hidden and writes the policy allows were skipped, with
no error (found by the lead's probe: 42 of 100 rows). CREATE POLICY and ALTER POLICY on a
distributed table whose expressions read a table that is not REPLICATION (every node holds
all its rows) are refused by the planner (`planner/utility._ensure_policy_reads_whole_tables`);
those calling code that reaches one (a SQL or PL/pgSQL function reading a HASH table: the
routine guard's verdict) are refused here (0A000), before anything runs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gridpg.errors import FEATURE_NOT_SUPPORTED, PgError
from gridpg.planner import analyze

if TYPE_CHECKING:
    from gridpg.executor.dispatch import Dispatcher

KINDS = frozenset({"CreatePolicyStmt", "AlterPolicyStmt"})


async def ensure_reads_whole_tables(dispatcher: Dispatcher, sql: str) -> None:
    """Refuse (0A000) a policy whose expressions read part of a distributed table (module doc)."""
    from pglast.stream import RawStream

    from gridpg.executor.routines import LoopbackCall
    from gridpg.executor.run import catalog_view, search_path
    from gridpg.sql.parse import parse_sql

    stmt = parse_sql(sql)[0].stmt
    if stmt.qual is None and stmt.with_check is None:
        return
    path = search_path(dispatcher)
    own = analyze.RelRef(stmt.table.schemaname, stmt.table.relname, 0, None)
    if catalog_view(dispatcher).resolve(own, path) is None:
        return  # (a temporary table's policy runs on the catalog server with the session)
    name = str(stmt.policy_name or "")
    # (a sub-select over such a table is refused by the planner already:
    # planner/utility._ensure_policy_reads_whole_tables; here, the code the policy calls)
    for expr in (stmt.qual, stmt.with_check):
        if expr is None:
            continue
        verdict: Any
        try:
            verdict = await dispatcher.coord.routine_guard.check(dispatcher, f"SELECT {RawStream()(expr)}",
                                                                 list(path))
        except PgError as exc:
            raise _refusal(name, f"it calls code that reads distributed tables ({exc.message})") from None
        if isinstance(verdict, LoopbackCall):
            raise _refusal(name, "it calls code that reads distributed tables")


def _refusal(policy: str, why: str) -> PgError:
    return PgError(FEATURE_NOT_SUPPORTED,
                   f'row security policy "{policy}" on a distributed table is not supported by gridpg: {why}, so '
                   "the policy would hide rows it grants without an error",
                   hint="Make the tables the policy reads REPLICATION tables (DISTRIBUTE BY REPLICATION), or "
                   "keep what it compares in the policy's own table.")
