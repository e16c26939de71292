"""Row security policies of distributed tables: what their expressions may read.

A policy's USING / WITH CHECK expression runs where the rows are: on each datanode, for
that node's shards. A sub-select in it over another distributed table (`owner IN (SELECT
id FROM users WHERE team = ...)`, the usual multi-tenant policy), or over the policy's own
table, or a function it calls that reads one, reads only the part of that table the node
holds: rows the policy grants were hidden and writes the policy allows were skipped, with
no error (found by the lead's probe: 42 of 100 rows). CREATE POLICY and ALTER POLICY on a
distributed table whose expressions read a table that is not REPLICATION (every node holds
all its rows) are refused by the planner (`planner/utility._ensure_policy_reads_whole_tables`)
when the user distributed that table; a table gridpg placed by its default rules becomes a
REPLICATION table instead, inside the statement's transaction (`replicate_tables_read`, the
way `commands/default_placement` gives way to a foreign key: rowsecurity.sql's `uaccount`
lookup made `document`'s policy refused, and every read after it showed no rows). Those
calling code that reaches one (a SQL or PL/pgSQL function reading a HASH table: the
routine guard's verdict) are refused here (0A000), before anything runs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gridpg.errors import FEATURE_NOT_SUPPORTED, PgError
from gridpg.planner import analyze

if TYPE_CHECKING:
    from gridpg.commands.ddl import DdlRunner
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


async def replicate_tables_read(ddl: DdlRunner, sql: str) -> None:
    """Every table a policy's sub-selects read that gridpg distributed by its default rules
    and not by REPLICATION is rebuilt as a REPLICATION table, so each node's policy reads
    all of its rows; a table the user distributed was refused by the planner already."""
    from gridpg.commands import default_placement
    from gridpg.executor.run import catalog_view, search_path
    from gridpg.sql.parse import parse_tree

    tree = parse_tree(sql)
    body = next(iter(tree.values()), None)
    if not isinstance(body, dict):
        return
    view, path = catalog_view(ddl.dispatcher), search_path(ddl.dispatcher)
    relation = body.get("table") or {}
    target = view.resolve(analyze.RelRef(relation.get("schemaname"), relation.get("relname", ""), 0, None), path)
    if target is None:
        return
    seen: set[tuple[str, str]] = set()
    for clause in (body.get("qual"), body.get("with_check")):
        for ref in analyze.relations(clause) if clause else ():
            read = catalog_view(ddl.dispatcher).resolve(ref, path)
            if read is None or read.key in seen or not read.by_default or read.method == "replication":
                continue
            await default_placement.make_replicated(
                ddl, read, seen, why=f'policy "{body.get("policy_name")}" of table "{target.name}" reads it, and '
                "under its default distribution each datanode would read only its own rows of it")


def _refusal(policy: str, why: str) -> PgError:
    return PgError(FEATURE_NOT_SUPPORTED,
                   f'row security policy "{policy}" on a distributed table is not supported by gridpg: {why}, so '
                   "the policy would hide rows it grants without an error",
                   hint="Make the tables the policy reads REPLICATION tables (DISTRIBUTE BY REPLICATION), or "
                   "keep what it compares in the policy's own table.")
