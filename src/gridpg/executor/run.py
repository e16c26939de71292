"""Running a statement: gather what planning needs, ask the pure planner, run the plan.

The executor side of planning: it reads the facts the planner is given as data (the
catalog snapshot and view definitions, the session's search_path, the bound parameters),
then runs whatever plan comes back, dispatching on its type. A plan type it does not know
is an error, never a silent fall-through. What needs I/O beside the plan itself lives
here: resetting GTM sequences after DDL, finding the node of a MERGE's rows.
"""

from __future__ import annotations

import dataclasses
import itertools
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from gridpg import metrics
from gridpg.errors import FEATURE_NOT_SUPPORTED, INTERNAL_ERROR, UNDEFINED_TABLE, PgError
from gridpg.executor import large_objects
from gridpg.executor.replica_defaults import ensure_replica_defaults
from gridpg.planner import plan as plans
from gridpg.planner import tempnames
from gridpg.planner.context import CatalogView, SessionView, parse_search_path
from gridpg.planner.router import group_for_value
from gridpg.sql import parse as sqlparse
from gridpg.sql.quote import quote_ident, quote_literal, quote_qualified

if TYPE_CHECKING:
    from gridpg.catalog.model import DistTable
    from gridpg.executor.dispatch import Dispatcher, ExecRequest

_scratch_ids = itertools.count(1)


async def run_statement(dispatcher: Dispatcher, request: ExecRequest) -> None:
    """Plan and run one statement."""
    planner = dispatcher.coord.planner
    assert planner is not None
    catalog, session = catalog_view(dispatcher), session_view(dispatcher)
    text = request.sql.lstrip()
    if text.startswith(("/*", "--")):  # `/* app */ SET CONSTRAINTS ...`: past the comments
        from gridpg.sql.parse import statement_start

        text = request.sql[statement_start(request.sql):]
    head, lowered = text[:4].lower(), request.sql.lower()
    if head == "lock" or (head == "set " and "constraints" in lowered):
        from gridpg.executor.locks import run_if_lock

        if await run_if_lock(dispatcher, request):
            return
    if "advisory" in lowered:
        from gridpg.executor import advisory

        if advisory.mentions(request.sql) and await advisory.run_if_advisory(dispatcher, request):
            return
    elif not dispatcher.runner.is_loopback:
        effects = await dispatcher.coord.routine_guard.code_effects(dispatcher, request.sql, search_path(dispatcher))
        if effects.advisory_locks:  # user code taking advisory locks: where the client's own are
            from gridpg.executor import advisory

            if await advisory.run_if_advisory(dispatcher, request, effects.session_locks):
                return
    if "into" in lowered and (lowered.count("into") > 1 or text[:6].lower() != "insert"):
        # (an INSERT can hold a SELECT ... INTO only with a second INTO: a bulk VALUES list
        # is not parsed once more for it)
        from gridpg.planner.into_checks import ensure_into_allowed
        from gridpg.sql.parse import parse_tree

        try:
            tree = parse_tree(request.sql)
        except PgError:
            tree = {}  # (reported where it is planned)
        ensure_into_allowed(tree)
    if dispatcher.runner.temps.names and large_objects.may_touch(lowered):
        large_objects.ensure_not_beside_temps(dispatcher, request, session)
    if dispatcher.runner.temps.names or "temp" in lowered:
        from gridpg.executor import temp_query

        if await temp_query.run_if_temp(dispatcher, request, planner, catalog, session):
            return
    if "only" in lowered:
        from gridpg.executor.only import drop_only_over_shards

        sql = await drop_only_over_shards(dispatcher, request.sql, session.search_path)
        if sql != request.sql:
            request = dataclasses.replace(request, sql=sql)
    if "default" in lowered and "update" in lowered:
        from gridpg.executor.update_defaults import pin_update_time_defaults

        sql = await pin_update_time_defaults(dispatcher, request.sql)
        if sql != request.sql:
            request = dataclasses.replace(request, sql=sql)
    if "merge" in lowered and "insert" in lowered:
        from gridpg.executor.merge_defaults import pin_insert_time_defaults

        sql = await pin_insert_time_defaults(dispatcher, request.sql)
        if sql != request.sql:
            request = dataclasses.replace(request, sql=sql)
    try:
        plan = planner.plan(request.sql, catalog, session, request.bound(), request.simple)
    except PgError as exc:
        if exc.sqlstate == FEATURE_NOT_SUPPORTED:
            await ensure_postgres_accepts(dispatcher, request)
            if await _run_with_scalars_first(dispatcher, request, lowered):
                return
        raise
    if large_objects.may_touch(lowered) and await large_objects.run_if_large_object(dispatcher, request, plan):
        return
    await execute(dispatcher, request, plan)


async def _run_with_scalars_first(dispatcher: Dispatcher, request: ExecRequest, lowered: str) -> bool:
    """A MERGE or UPDATE refused for its sub-selects (a MERGE's outside its source, an
    UPDATE's giving the distribution column its new value): its uncorrelated scalar
    sub-selects over distributed tables run first, each once, and the write runs with
    their values in place (planner/subplans.split_write_scalars), planned anew: what
    still cannot run is refused then. False: it has none (the refusal stands)."""
    from gridpg.executor import subplans

    if "merge" not in lowered and "update" not in lowered or "select" not in lowered:
        return False
    try:
        kind = sqlparse.node_type(sqlparse.parse_tree(request.sql))
    except PgError:
        return False
    if kind not in ("MergeStmt", "UpdateStmt"):
        return False
    recursive = await subplans.plan_recursive(dispatcher, request.sql, writes=True)
    if isinstance(recursive, str):
        return False
    await subplans.run_recursive(dispatcher, request, recursive)
    return True


# What EXPLAIN (without ANALYZE) takes: it analyses and plans them and runs nothing.
_EXPLAINABLE = frozenset({"SelectStmt", "InsertStmt", "UpdateStmt", "DeleteStmt", "MergeStmt",
                          "DeclareCursorStmt"})
_CHECK_PREFIX = "EXPLAIN (COSTS OFF) "


async def ensure_postgres_accepts(dispatcher: Dispatcher, request: ExecRequest) -> None:
    """PostgreSQL's own error for a statement gridpg is about to refuse (0A000), when it
    has one: a relation or column that does not exist, a name given twice, a view that
    cannot be updated. The catalog server holds every table (empty), view and function,
    so its EXPLAIN analyses the statement as PostgreSQL would, running nothing; the
    client then gets PostgreSQL's SQLSTATE, not gridpg's refusal of the plan."""
    from gridpg.sql import parse as sqlparse

    try:
        kind = sqlparse.node_type(sqlparse.parse_tree(request.sql))
    except PgError:
        return
    if kind in _EXPLAINABLE:
        await _explain_on_catalog(dispatcher, request)


async def _explain_on_catalog(dispatcher: Dispatcher, request: ExecRequest) -> None:
    """EXPLAIN the statement on the catalog server; its error, if any, as the client's."""
    from gridpg.executor.multi import inline_params

    sql = await inline_params(dispatcher, request, request.sql)
    conn = await dispatcher.runner.txn.connection(dispatcher.coord.catalog_node, wants_block=False)
    await conn.settle()  # (an EXECUTE's Describe may have left it in an extended cycle)
    try:
        await conn.query(_CHECK_PREFIX + sql)
    except PgError as exc:
        raise _at_statement_position(exc, shift=len(_CHECK_PREFIX), exact=sql == request.sql) from None


def catalog_view(dispatcher: Dispatcher) -> CatalogView:
    runner = dispatcher.runner
    return CatalogView(runner.snapshot(), runner.views(), runner.private_snapshot is None, runner.rules(),
                       dispatcher.coord.rules_marker)


def session_view(dispatcher: Dispatcher) -> SessionView:
    role = next((str(v) for k, v in dispatcher.runner.settings.items()
                 if k.lower() == "session_replication_role"), "origin")
    return SessionView(search_path(dispatcher), role.strip().strip("'").lower() == "replica")


def search_path(dispatcher: Dispatcher) -> tuple[str, ...]:
    """The session's search_path, with its temp relations' names at pg_temp's place
    (planner/tempnames.py)."""
    raw = None
    for key, value in dispatcher.runner.settings.items():
        if key.lower() == "search_path":
            raw = value
    path = parse_search_path(raw, dispatcher.session.info.user)
    return tuple(tempnames.with_temp_names(list(path), dispatcher.runner.temps.names))


def scratch_name(dispatcher: Dispatcher, kind: str, shared: bool = True) -> str:
    """A fresh scratch table name: unique in the cluster when `shared` (datanode scratch
    tables; temp tables would forbid 2PC), else in the coordinator process."""
    if shared:  # the coordinator's worker processes count alike
        coord = dispatcher.coord
        worker = f"w{coord.worker}_" if getattr(coord, "worker", 0) else ""
        return f"gp_{kind}_{coord.name}_{worker}{next(_scratch_ids)}"
    return f"gp_{kind}_{next(_scratch_ids)}"


def bind(dispatcher: Dispatcher, plan: plans.DistributedPlan) -> plans.DistributedPlan:
    """The plan with fresh scratch names in place of its placeholders."""
    names = {s.placeholder: scratch_name(dispatcher, s.kind, s.shared) for s in plan.scratch}
    return plans.bind_scratch(plan, names)


async def execute(dispatcher: Dispatcher, request: ExecRequest, plan: plans.Plan) -> None:
    """Run a plan of any kind."""
    runner = _RUNNERS.get(type(plan))
    if runner is None:
        raise PgError(INTERNAL_ERROR, f"gridpg has no executor for plan {type(plan).__name__} ({plan.strategy})")
    strategy = plan.strategy.value
    started = time.perf_counter()
    try:
        if isinstance(plan, (plans.MergeStatementPlan, plans.MergeStagedPlan, plans.PushdownPlan)) \
                and "merge" in request.sql.lower():
            plan = await _merge_filling_sequences(dispatcher, request, plan)
            runner = _RUNNERS[type(plan)]
        await runner(dispatcher, request, plan)
    except PgError as exc:
        metrics.STATEMENT_ERRORS.labels(exc.sqlstate[:2]).inc()
        raise
    finally:
        metrics.strategy_tally(strategy).observe(time.perf_counter() - started)


async def _catalog(dispatcher: Dispatcher, request: ExecRequest, plan: Any) -> None:
    runner = dispatcher.runner
    if runner.loopback_token is not None and _fetches(request.sql):
        # FETCH / MOVE of a cursor that code opened with the loopback armed (a function
        # returning a refcursor over distributed tables): postgres_fdw declares its remote
        # cursor at the first fetch, through the loopback, which serves only while the
        # caller waits for the catalog server in an armed call; this FETCH is such a wait
        # (the call had ended: 0A000 "the gridpg loopback's function call has ended")
        runner.loopback_calls += 1
        runner.loopback_fetching = True
        try:
            await dispatcher.run_on_node(dispatcher.coord.catalog_node, request, writes=False, sql=plan.sql)
        finally:
            runner.loopback_calls -= 1
            runner.loopback_fetching = False
        return
    sql = plan.sql
    if runner.temps.pinned and "insert" in request.sql.lower():
        # an INSERT into a temp table: its time defaults at the statement's instant (h-left25)
        from gridpg.executor.temp_defaults import pinned_insert

        conn = await runner.txn.connection(dispatcher.coord.catalog_node, wants_block=False)
        pinned = await pinned_insert(dispatcher, conn, sql or request.sql)
        sql = sql if pinned == (sql or request.sql) else pinned
    await dispatcher.run_on_node(dispatcher.coord.catalog_node, request, writes=False, sql=sql)


def _fetches(sql: str) -> bool:
    try:
        return sqlparse.node_type(sqlparse.parse_tree(sql)) == "FetchStmt"
    except PgError:
        return False


async def _catalog_check(dispatcher: Dispatcher, request: ExecRequest, plan: Any) -> None:
    """PostgreSQL's own error for the statement when it has one, else gridpg's refusal."""
    await _explain_on_catalog(dispatcher, request)
    raise PgError(FEATURE_NOT_SUPPORTED, plan.message)


def _at_statement_position(exc: PgError, shift: int, exact: bool) -> PgError:
    """The catalog server's error about `EXPLAIN ... <statement>` with its cursor position
    in the client's own text (none when parameters were inlined and the text moved)."""
    if exc.fields is None or "P" not in exc.fields:
        return exc
    fields = dict(exc.fields)
    position = int(fields.pop("P")) - shift
    if exact and position > 0:
        fields["P"] = str(position)
    return PgError.from_fields(fields, exc.node)


async def _distributed(dispatcher: Dispatcher, request: ExecRequest, plan: Any) -> None:
    from gridpg.executor import multi

    if plan.sql and plan.sql != request.sql:
        request = dataclasses.replace(request, sql=plan.sql)
    if plan.writes:
        await ensure_replica_defaults(dispatcher, request.sql)
    await multi.execute_plan(dispatcher, request, bind(dispatcher, plan))


async def _xl(dispatcher: Dispatcher, request: ExecRequest, plan: Any) -> None:
    from gridpg.executor import multi

    await multi.run_xl_command(dispatcher, request, plan.command)


async def _function(dispatcher: Dispatcher, request: ExecRequest, plan: Any) -> None:
    from gridpg.commands import cluster_ops, redistribute
    from gridpg.planner.calls import CLUSTER_FUNCTIONS, SEVERAL

    if plan.name == "gridpg_switch_placement":
        from gridpg.commands import placement

        await placement.run(dispatcher, request, list(plan.args))
        return
    if plan.name in CLUSTER_FUNCTIONS:
        await cluster_ops.run(dispatcher, request, plan.name, list(plan.args))
        return
    calls = list(plan.args) if plan.name == SEVERAL else [(plan.name, list(plan.args))]
    await redistribute.run(dispatcher, request, calls)


async def _cluster_view(dispatcher: Dispatcher, request: ExecRequest, plan: Any) -> None:
    from gridpg.commands import activity

    await activity.run(dispatcher, request, list(plan.views))


async def _sequence(dispatcher: Dispatcher, request: ExecRequest, plan: Any) -> None:
    from gridpg.commands import sequences

    await sequences.run(dispatcher, request, plan.function, plan.column, list(plan.args))


async def _insert(dispatcher: Dispatcher, request: ExecRequest, plan: Any) -> None:
    from gridpg.executor import multi

    request = dataclasses.replace(request, sql=plan.sql) if plan.sql != request.sql else request
    if plan.through_view is not None:
        from gridpg.executor.view_insert import insert_through_view

        await insert_through_view(dispatcher, request, plan.tree, plan.through_view, plan.view_table)
        return
    await multi.insert(dispatcher, request, plan.tree, list(plan.resolved))


async def _merge_filling_sequences(dispatcher: Dispatcher, request: ExecRequest, plan: plans.Plan) -> plans.Plan:
    """A MERGE whose INSERT leaves serial or identity columns to their defaults, staged
    with their values from the GTM whatever its plan (executor/merge_defaults.py); any
    other plan as it is."""
    from gridpg.executor.merge_defaults import ensure_view_insert_defaults, sequence_defaults, with_sequence_values
    from gridpg.planner.merge_staged import source_alias, staged_merge
    from gridpg.sql.parse import parse_sql

    if isinstance(plan, plans.MergeStagedPlan) and plan.through_view is not None:
        await ensure_view_insert_defaults(dispatcher, request.sql, plan)
        return plan
    sql = plan.sql if isinstance(plan, plans.MergeStatementPlan) else request.sql
    target, filled, names = await sequence_defaults(dispatcher, sql)
    if target is None:
        return plan
    plan, sql = await _merge_with_insert_columns(dispatcher, plan, sql, target)
    if not filled:
        return plan
    if target.method == "hash" and any(c.name == target.column for c in filled):
        # The distribution column from its sequence: each source row's value is drawn from
        # the GTM and named in the INSERT, so that the staged plan moves each inserted row
        # to the node of its value (executor/merge_moves.py), as any other value it is given
        stmt = parse_sql(sql)[0].stmt
        sql = with_sequence_values(sql, source_alias(stmt.sourceRelation), filled, names, None)
        staged = staged_merge(sql, target)
    else:
        staged = plan if isinstance(plan, plans.MergeStagedPlan) else staged_merge(sql, target)
    return dataclasses.replace(staged, sequences=tuple(filled), target_columns=tuple(names))


async def _merge_with_insert_columns(dispatcher: Dispatcher, plan: plans.Plan, sql: str,
                                     target: DistTable) -> tuple[plans.Plan, str]:
    """A MERGE into a HASH table whose INSERT action has no column list (or is DEFAULT VALUES):
    the planner cannot tell which of its values is the distribution column's. With the target's columns
    listed (planner/merge_staged.with_insert_columns) the staged plan knows, and moves the
    rows that belong on other nodes (executor/merge_moves.py): that plan replaces a plan
    that would insert them on the wrong node (a datanode's 23514), or a staged one. Only
    the staged plan lets an INSERT without a column list through the planner (the others
    want the key's value named): its refusals stand."""
    from gridpg.planner.merge_staged import staged_merge, with_insert_columns

    if target.method != "hash" or isinstance(plan, plans.MergeStagedPlan) and plan.through_view is not None:
        return plan, sql
    columns = await dispatcher.coord.table_columns(dispatcher.runner, target)
    null_key = next((c.name for c in columns if c.name == target.column and not c.default and not c.sequence
                     and not c.generated), None)
    listed = with_insert_columns(sql, [c.name for c in columns], null_key)
    if listed is None:
        return plan, sql
    staged = staged_merge(listed, target)
    if staged.moved_inserts or isinstance(plan, plans.MergeStagedPlan):
        return staged, listed
    return plan, sql


async def _merge_statement(dispatcher: Dispatcher, request: ExecRequest, plan: Any) -> None:
    request = dataclasses.replace(request, sql=plan.sql) if plan.sql != request.sql else request
    await ensure_replica_defaults(dispatcher, request.sql)
    group = plan.group or await _merge_group(dispatcher, request, plan)
    if group is None:
        from gridpg.executor import merge_staged
        from gridpg.planner.merge_staged import staged_merge

        assert plan.target is not None
        await merge_staged.run(dispatcher, request, staged_merge(plan.sql, plan.target))
        return
    await dispatcher.run_on_node(group, request, writes=True)


async def _merge_group(dispatcher: Dispatcher, request: ExecRequest,
                       plan: plans.MergeStatementPlan) -> str | None:
    """The node of a MERGE's rows: the distinct values of its source's join column (None:
    they belong on several nodes)."""
    from gridpg.executor.multi import inline_params
    from gridpg.planner.merge_staged import _pieces

    target = plan.target
    assert target is not None
    source_text = await inline_params(dispatcher, request, plan.source_text)
    # the statement's WITH (of constants: the planner sends a source reading tables to the
    # staged path) goes with the source, which may name its entries (42P01 without it)
    with_text = _pieces(plan.sql)[0].strip()
    if with_text:  # (a line break after it: it may end in a -- comment, as the source may)
        with_text = (await inline_params(dispatcher, request, with_text)) + "\n"
    conn = await dispatcher.runner.txn.connection(dispatcher.coord.catalog_node, wants_block=False)
    alias_q = quote_ident(plan.alias or "s")
    rows = await conn.query(
        f"{with_text}SELECT DISTINCT ({alias_q}.{quote_ident(plan.source_column)})::text FROM {source_text.strip()}\n"
        if plan.alias else "SELECT 1 WHERE false")
    snapshot = dispatcher.runner.snapshot()
    groups = {group_for_value(target, r[0], snapshot) for r in rows}
    if len(groups) == 1 and None not in groups:
        return groups.pop()  # type: ignore[return-value]
    if not groups:
        return target.groups[0]
    return None  # its rows belong on several nodes: staged there (executor/merge_staged.py)


async def _merge_staged(dispatcher: Dispatcher, request: ExecRequest, plan: Any) -> None:
    from gridpg.executor import merge_staged

    await ensure_replica_defaults(dispatcher, request.sql)
    await merge_staged.run(dispatcher, request, plan)


async def _modifying_cte(dispatcher: Dispatcher, request: ExecRequest, plan: Any) -> None:
    from gridpg.executor import modifying_cte

    await modifying_cte.run(dispatcher, request, plan)


async def _rules(dispatcher: Dispatcher, request: ExecRequest, plan: Any) -> None:
    from gridpg.executor import rules

    await rules.run(dispatcher, request, plan)


async def _session_statement(dispatcher: Dispatcher, request: ExecRequest, plan: Any) -> None:
    from gridpg.executor import prepared

    await prepared.run(dispatcher, request, plan)


async def _create_table(dispatcher: Dispatcher, request: ExecRequest, plan: Any) -> None:
    from gridpg.commands.ddl import DdlRunner

    await DdlRunner(dispatcher).create_table(plan.clean, plan.tree, plan.spec)


async def _explain(dispatcher: Dispatcher, request: ExecRequest, plan: Any) -> None:
    from gridpg.executor import multi

    if not await multi.explain(dispatcher, request, plan.tree):
        await dispatcher.run_on_node(dispatcher.coord.catalog_node, request, writes=False)


async def _copy(dispatcher: Dispatcher, request: ExecRequest, plan: Any) -> None:
    from gridpg.executor import multi

    if not await multi.copy(dispatcher, request, plan.tree):
        await dispatcher.run_on_node(dispatcher.coord.catalog_node, request, writes=False)


async def _create_table_as(dispatcher: Dispatcher, request: ExecRequest, plan: Any) -> None:
    from gridpg.executor import multi

    if plan.spec is None and plan.clean != request.sql:
        request = dataclasses.replace(request, sql=plan.clean)  # SELECT INTO, as CREATE TABLE AS
    if not await multi.create_table_as(dispatcher, request, plan.tree, plan.spec):
        await dispatcher.run_on_node(dispatcher.coord.catalog_node, request, writes=False)


async def _materialized_view(dispatcher: Dispatcher, request: ExecRequest, plan: Any) -> None:
    from gridpg.executor import matview

    await matview.run(dispatcher, request, plan.tree)


async def _utility(dispatcher: Dispatcher, request: ExecRequest, plan: Any) -> None:
    """DDL everywhere it applies, then the GTM sequences of the tables it dropped or
    restarted."""
    from gridpg.commands import (
        cluster_role,
        concurrent,
        internal_objects,
        maintenance,
        partitions,
        server_config,
        tablespaces,
    )
    from gridpg.commands.ddl import DdlRunner
    from gridpg.gtm.protocol import GtmError

    state = dispatcher.runner.state
    cluster_role.ensure_keeps_cluster_access(plan.kind, plan.tree, state.role or state.session_user,
                                             state.session_user)
    internal_objects.ensure_untouched(plan.kind, plan.tree)
    server_config.ensure_settable(plan.kind, plan.tree)
    ddl = DdlRunner(dispatcher)
    if await _session_temp_only(dispatcher, request.sql, plan):
        await ddl.catalog_only(request.sql)  # the session's temp objects live on its catalog server
        return
    if plan.kind in tablespaces.KINDS:  # outside transactions, server by server
        await tablespaces.run(ddl, request, plan.kind, plan.tree)
        return
    if tablespaces.is_database_move(plan.kind, plan.tree):
        await tablespaces.move_database(ddl, request, plan.tree)
        return
    groups = list(plan.groups) if plan.groups is not None else ddl.all_groups()
    words = concurrent.concurrent_words(plan.kind, plan.tree)
    if words:
        await concurrent.run(ddl, request, plan.kind, words, list(plan.tables), groups)
        return
    if plan.kind in ("ClusterStmt", "ReindexStmt"):  # a plain table's in the transaction, others not
        run = maintenance.run_cluster if plan.kind == "ClusterStmt" else maintenance.run_reindex
        await run(ddl, request, plan.tree, groups)
        return
    if plan.kind == "AlterTableStmt":
        from gridpg.commands import retype

        retyped = retype.retyped_table(plan.tree, plan.tables)
        if retyped is not None:  # a partition key on the datanodes: the table is rebuilt
            await retype.run(ddl, request, retyped, plan.tree)
            return
        await partitions.align_for_attach(ddl, plan.tree)
        await partitions.prepare_inherit(ddl, plan.tree)
    sequences = await _sequences_to_reset(dispatcher, plan)
    group_sql = dict(plan.group_sql) if plan.group_sql is not None else None
    try:
        await ddl.propagate(request, plan.kind, groups, list(plan.after), group_sql)
    except PgError as exc:
        from gridpg.commands import retype

        retype.explain_dropped_distribution_column(exc, plan.tree, plan.tables)
        raise
    if sequences and plan.sequences == "restart" and dispatcher.runner.txn.in_block:
        _restart_at_commit(dispatcher, list(sequences))
        return
    if sequences and plan.sequences == "drop" and dispatcher.runner.txn.in_block:
        _drop_at_commit(dispatcher, list(sequences))
        return
    coord = dispatcher.coord
    for name, start in sequences.items():
        if start is None:
            await coord.gtm.seq_drop(name, if_exists=True)
        else:
            try:
                await coord.gtm.seq_setval(name, start, is_called=False)
            except GtmError as exc:
                if exc.code != UNDEFINED_TABLE:
                    raise
                # never used: the GTM makes it from the catalog's sequence (just restarted) when first used
    if sequences:
        coord.forget_sequences(list(sequences))


def _restart_at_commit(dispatcher: Dispatcher, names: list[str]) -> None:
    """TRUNCATE ... RESTART IDENTITY inside a block restarts the sequences transactionally,
    as PostgreSQL does: the catalog server's sequence (restarted by the TRUNCATE there)
    serves them until the block ends; COMMIT hands its position to the GTM, ROLLBACK leaves
    the GTM where it was."""
    from gridpg.commands.sequences import SequenceDdl

    runner = dispatcher.runner
    runner.local_sequences.update(names)
    runner.sequence_ddl.append(SequenceDdl(restarted=names))


def _drop_at_commit(dispatcher: Dispatcher, names: list[str]) -> None:
    """DROP TABLE inside a block drops its serial/identity columns' GTM sequences when the
    block commits: dropped at once, a ROLLBACK brought the table back with a sequence that
    started again from 1 (values handed out twice)."""
    from gridpg.commands.sequences import SequenceDdl

    dispatcher.runner.sequence_ddl.append(SequenceDdl(drop=names, dropped=list(names)))


async def _session_temp_only(dispatcher: Dispatcher, sql: str, plan: Any) -> bool:
    """CREATE TEMP SEQUENCE / VIEW, and DROP SEQUENCE / VIEW of the session's temp ones only:
    statements about objects of the session's pinned catalog connection alone."""
    from gridpg.frontend.temps import creates_temp

    if plan.kind in ("CreateSeqStmt", "ViewStmt"):
        return creates_temp(sql)
    body = plan.tree[plan.kind]
    if plan.kind == "ReindexStmt" and body.get("kind") == "REINDEX_OBJECT_SCHEMA":
        # REINDEX SCHEMA pg_temp_N: the session's temp relations, on its catalog connection
        # (the datanodes have no such schema: 3F000, create_index.sql:1414)
        if not dispatcher.runner.temps.pinned or not str(body.get("name") or "").startswith("pg_temp"):
            return False
        conn = await dispatcher.runner.txn.connection(dispatcher.coord.catalog_node, wants_block=False)
        rows = await conn.query("SELECT n.oid = pg_catalog.pg_my_temp_schema() FROM pg_catalog.pg_namespace n "
                                f"WHERE n.nspname = {quote_literal(str(body.get('name')))}")
        return bool(rows) and rows[0][0] == "t"
    if plan.kind != "DropStmt" or body.get("removeType") not in ("OBJECT_SEQUENCE", "OBJECT_VIEW"):
        return False
    if not dispatcher.runner.temps.pinned:
        return False
    names = [".".join(quote_ident(n["String"]["sval"]) for n in o.get("List", {}).get("items", []) if "String" in n)
             for o in body.get("objects", [])]
    conn = await dispatcher.runner.txn.connection(dispatcher.coord.catalog_node, wants_block=False)
    checks = " AND ".join(
        f"COALESCE(pg_catalog.to_regclass({quote_literal(n)})::oid IN (SELECT c.oid FROM pg_catalog.pg_class c "
        "WHERE c.relnamespace = pg_catalog.pg_my_temp_schema()), false)" for n in names)
    rows = await conn.query(f"SELECT {checks or 'false'}")
    return bool(rows) and rows[0][0] == "t"


async def _sequences_to_reset(dispatcher: Dispatcher, plan: plans.UtilityPlan) -> dict[str, int | None]:
    """GTM sequences a DROP TABLE drops (None) or TRUNCATE ... RESTART IDENTITY restarts."""
    if plan.sequences is None:
        return {}
    coord = dispatcher.coord
    out: dict[str, int | None] = {}
    tables = list(plan.tables)
    if plan.sequences == "restart" and plan.tree[plan.kind].get("behavior") == "DROP_CASCADE":
        tables += await _truncated_by_cascade(dispatcher, tables)
    for table in tables:
        for column in await coord.table_columns(dispatcher.runner, table):
            if column.sequence:
                out[column.sequence] = None if plan.sequences == "drop" else await coord._sequence_start(column.sequence)
    return out


async def _truncated_by_cascade(dispatcher: Dispatcher, tables: list[Any]) -> list[Any]:
    """The distributed tables a TRUNCATE ... CASCADE empties beside the ones it names (their
    foreign keys reference them, at any depth): RESTART IDENTITY restarts their sequences
    too, in the GTM as on the catalog server (they went on from where they were)."""
    if not tables:
        return []
    named = ", ".join(f"pg_catalog.to_regclass({quote_literal(quote_qualified(t.schema, t.name))})::oid"
                      for t in tables)
    conn = await dispatcher.runner.txn.connection(dispatcher.coord.catalog_node, wants_block=True)
    rows = await conn.query(
        f"WITH RECURSIVE r(oid) AS (SELECT unnest(ARRAY[{named}]) UNION SELECT c.conrelid FROM "
        "pg_catalog.pg_constraint c JOIN r ON c.confrelid = r.oid WHERE c.contype = 'f') "
        "SELECT n.nspname, k.relname FROM r JOIN pg_catalog.pg_class k ON k.oid = r.oid "
        "JOIN pg_catalog.pg_namespace n ON n.oid = k.relnamespace")
    snapshot = dispatcher.runner.snapshot()
    found = (snapshot.table(str(schema), str(name)) for schema, name in rows)
    return [t for t in found if t is not None and t not in tables]


_Runner = Callable[["Dispatcher", "ExecRequest", Any], Awaitable[None]]
_RUNNERS: dict[type, _Runner] = {
    plans.CatalogPlan: _catalog,
    plans.CatalogCheckPlan: _catalog_check,
    plans.ModifyingCtePlan: _modifying_cte,
    plans.RulesPlan: _rules,
    plans.UtilityPlan: _utility,
    plans.CreateTablePlan: _create_table,
    plans.ExplainPlan: _explain,
    plans.CopyPlan: _copy,
    plans.CreateTableAsPlan: _create_table_as,
    plans.MaterializedViewPlan: _materialized_view,
    plans.XlCommandPlan: _xl,
    plans.FunctionCallPlan: _function,
    plans.SequenceCallPlan: _sequence,
    plans.ClusterViewPlan: _cluster_view,
    plans.InsertPlan: _insert,
    plans.MergeStatementPlan: _merge_statement,
    plans.MergeStagedPlan: _merge_staged,
    plans.SessionStatementPlan: _session_statement,
    plans.RouterPlan: _distributed,
    plans.PushdownPlan: _distributed,
    plans.MergePlan: _distributed,
    plans.TwoPhasePlan: _distributed,
    plans.CoordinatorFinishPlan: _distributed,
    plans.BroadcastWritePlan: _distributed,
    plans.MoveRowsPlan: _distributed,
    plans.LockingSubplansPlan: _distributed,
}
