"""Running a staged MERGE (planner/merge_staged.py decides): the source rows computed on the
catalog connection, split by the target's partition hash and staged on the target's nodes,
then the MERGE on every node over its stage.

The source query runs where the statement's other catalog-side work runs: on the session's
catalog connection (its temp tables are there), its distributed tables gathered into
scratch temp tables with their filters (the coordinator finish), its rows kept in one more
temp table with the staging key as an extra column. From there COPY byte pumps move each
node's part into an unlogged scratch table on that node (`gridpg_shards`), created inside
the statement's transaction, so a failure or a rollback leaves nothing behind. Each node
then runs the client's MERGE with its source replaced by a SELECT of its stage; their
RETURNING rows are relayed and their counts summed into one `MERGE n`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from gridpg.errors import FEATURE_NOT_SUPPORTED, PgError
from gridpg.executor.merge_defaults import SEQUENCE_COLUMN, with_sequence_values
from gridpg.planner.broadcast import REPARTITION_TYPES, remainder_sql
from gridpg.planner.plan import SCRATCH_SCHEMA, Fragment, MergeStagedPlan, PushdownPlan
from gridpg.sql.parse import parse_sql
from gridpg.sql.quote import quote_ident, quote_literal, quote_qualified

if TYPE_CHECKING:
    from gridpg.catalog.model import DistTable
    from gridpg.datanode.connection import BackendConnection
    from gridpg.executor.dispatch import Dispatcher, ExecRequest

KEY_COLUMN = "gp_merge_key"
ROW_COLUMN = "gp_merge_n"  # a source row's number, staged with it (`_keep_unmatched_once`)
SEQUENCE_PREFIX = SEQUENCE_COLUMN.format("")


async def run(dispatcher: Dispatcher, request: ExecRequest, plan: MergeStagedPlan) -> None:
    """Stage the source rows on the target's nodes, run the MERGE there, drop the stages."""
    from gridpg.executor.exchange import is_read_only
    from gridpg.executor.multi import inline_params, scatter
    from gridpg.executor.run import _explain_on_catalog

    target = plan.target
    assert target is not None
    if plan.defaulted_key:  # (not a sequence's default: run._merge_filling_sequences named none)
        from gridpg.planner.merge_staged import defaulted_key_refused

        raise defaulted_key_refused(target.column or "")
    if is_read_only(dispatcher):
        raise PgError("25006", "cannot execute MERGE in a read-only transaction")
    if plan.through_view is not None:
        from gridpg.executor.multi import _ensure_plain_view

        await _ensure_plain_view(dispatcher, *plan.through_view)
    await _explain_on_catalog(dispatcher, request)  # PostgreSQL's own errors (names, types, rights) first
    if plan.sublinks and await _scalars_first(dispatcher, request):
        return
    if request.params:  # several steps cannot share one bound statement: its values as literals
        texts = [await inline_params(dispatcher, request, t) if t else t
                 for t in (plan.with_text, plan.head, plan.source_text, plan.tail, plan.key_sql)]
        plan = dataclasses.replace(plan, with_text=texts[0] or "", head=texts[1] or "",
                                   source_text=texts[2] or "", tail=texts[3] or "", key_sql=texts[4])
    bare = dataclasses.replace(request, params=[], param_formats=[], param_oids=[])
    txn = dispatcher.runner.txn
    async with dispatcher.runner.statement_transaction():
        stage, columns = await _stage_source(dispatcher, plan, target)
        if plan.unmatched_once:
            columns = [c for c in columns if c != ROW_COLUMN]
            await _keep_unmatched_once(dispatcher, plan, target, stage)
        source = f"(SELECT {', '.join(quote_ident(c) for c in columns)} FROM {stage})"
        alias = f" AS {quote_ident(plan.alias)}" if plan.alias else ""
        node_sql = f"{plan.head}USING {source}{alias} {plan.tail}"  # (head ends in a space or a newline)
        if plan.sequences:
            own = [c for c in columns if not c.startswith(SEQUENCE_PREFIX)]
            node_sql = with_sequence_values(node_sql, plan.alias, plan.sequences, plan.target_columns, own)
        copies: list[str] = []
        if plan.sublinks:
            from gridpg.executor import merge_sublinks

            node_sql, copies = await merge_sublinks.with_copies(dispatcher, target, node_sql, plan.with_text)
        replicated = target.method == "replication"
        after = None
        held: list[bytes] | None = None
        statements = {g: node_sql for g in target.groups}
        if plan.moved_inserts:
            if parse_sql(node_sql)[0].stmt.returningClause is not None:
                # the nodes' rows are held until the moved rows are in (their RETURNING rows
                # follow), so a refusal comes before any row (h-left25)
                held = []
            statements, after = await _moving_inserts(dispatcher, plan, target, node_sql, bare, held)
        await scatter(dispatcher, bare, PushdownPlan(tuple(Fragment(g, statements[g]) for g in target.groups), True),
                      relay_groups={target.groups[0]} if replicated else None, commit=False, after=after,
                      hold_rows=held)
        for group in target.groups:
            conn = await txn.connection(group, wants_block=True)
            await conn.settle()
            await conn.simple_query(f"DROP TABLE {', '.join([stage, *copies])}")


async def _keep_unmatched_once(dispatcher: Dispatcher, plan: MergeStagedPlan, target: DistTable,
                               stage: str) -> None:
    """A MERGE whose NOT MATCHED INSERT has no key to stage its source rows by: every node
    holds every source row, and a row unmatched on one node may match on another. So each
    node first says which source rows match its own target rows (the ON condition, in the
    statement's transaction), and its stage keeps those only: there the MERGE's MATCHED
    actions (and NOT MATCHED BY SOURCE, which such rows cannot change) run as before. The
    rows no node matched stay on the first node alone, whose NOT MATCHED actions insert each
    once, every row then placed on the node of its own distribution value (the moved
    inserts, executor/merge_moves.py), as PostgreSQL inserts the source rows no target row
    matched."""
    txn = dispatcher.runner.txn
    alias = quote_ident(plan.alias or "")
    matched: dict[str, set[int]] = {}
    for group in target.groups:
        conn = await txn.connection(group, wants_block=True)
        await conn.settle()
        rows = await conn.query(f"SELECT {alias}.{ROW_COLUMN} FROM {stage} AS {alias} "
                                f"WHERE EXISTS (SELECT 1 {plan.match_sql})")
        matched[group] = {int(n or 0) for n, in rows}
    anywhere = set().union(*matched.values())
    for n, group in enumerate(target.groups):
        conn = await txn.connection(group, wants_block=True)
        if n == 0:  # its own matches and the rows nobody matched
            dropped, test = anywhere - matched[group], "= ANY"
        else:
            dropped, test = matched[group], "<> ALL"
        if not dropped and n == 0:
            continue
        numbers = "'{" + ",".join(str(v) for v in sorted(dropped)) + "}'::pg_catalog.int8[]"
        await conn.simple_query(f"DELETE FROM {stage} WHERE {ROW_COLUMN} {test} ({numbers})")


async def _scalars_first(dispatcher: Dispatcher, request: ExecRequest) -> bool:
    """The MERGE's uncorrelated scalar sub-selects over distributed tables run first, once,
    and the MERGE with their values (planner/subplans.split_write_scalars); False: none."""
    from gridpg.executor import subplans

    recursive = await subplans.plan_recursive(dispatcher, request.sql, writes=True)
    if isinstance(recursive, str):
        return False
    await subplans.run_recursive(dispatcher, request, recursive)
    return True


async def _moving_inserts(dispatcher: Dispatcher, plan: MergeStagedPlan, target: DistTable,
                          node_sql: str, request: ExecRequest,
                          held: list[bytes] | None) -> tuple[dict[str, str], Callable[[], Awaitable[int]]]:
    """Per node, the statement writing the rows of the moved INSERT actions that belong on
    other nodes into outboxes (executor/merge_moves.py), and the step moving them after it
    (its count of rows). With RETURNING (`held`: the list their rows go to), the moved rows
    are returned by their INSERT where they land (`merge_staged.moved_returning`); a list
    that reads what such an INSERT has not (a source column) refuses a row that had to move
    (0A000), before any row was sent."""
    from gridpg.executor import merge_moves
    from gridpg.planner.merge_staged import moved_returning, with_moved_inserts

    assert target.column and target.shard_count
    catalog = await dispatcher.runner.txn.connection(dispatcher.coord.catalog_node, wants_block=False)
    key = await _key_type(catalog, (target.schema, target.name), target.column)
    if key is None:
        raise PgError(FEATURE_NOT_SUPPORTED, "MERGE ... INSERT of rows belonging on other nodes into a table "
                      f"distributed by a column of type {target.column_type} is not supported by gridpg")
    names = merge_moves.scratch_names(dispatcher, len(plan.moved_inserts))
    mine = merge_moves.remainders_by_group(dispatcher, target)
    statements: dict[str, str] = {}
    shapes: list[tuple[list[str], str]] = []
    for group in target.groups:
        def is_local(value: str, group: str = group) -> str:
            split = remainder_sql(f"CAST(({value}) AS {key[1]})", key[0], target.shard_count or 1)
            return f"{split} IN ({', '.join(map(str, mine[group]))})" if mine[group] else "false"

        statements[group], shapes = with_moved_inserts(node_sql, plan.moved_inserts,
                                                       [outbox for outbox, _ in names], target.column, is_local)
    boxes = [merge_moves.Outbox(outbox, inbox, columns, overriding)
             for (outbox, inbox), (columns, overriding) in zip(names, shapes)]
    await merge_moves.create_boxes(dispatcher, target, boxes)
    returning = None
    if held is not None:
        columns = [c.name for c in await dispatcher.coord.table_columns(dispatcher.runner, target)]
        targets = moved_returning(node_sql, columns)
        relation = parse_sql(node_sql)[0].stmt.relation
        alias = relation.alias.aliasname if relation.alias is not None else relation.relname
        if targets is not None:
            returning = merge_moves.Returning(quote_ident(alias), targets, request.simple,
                                              list(request.result_formats), held)

    async def after() -> int:
        return await merge_moves.move_rows(dispatcher, target, boxes, key[0],
                                           refuse_any=held is not None and returning is None, returning=returning)

    return statements, after


async def _stage_source(dispatcher: Dispatcher, plan: MergeStagedPlan, target: DistTable) -> tuple[str, list[str]]:
    """The source rows in a scratch table on each target node (its part, or all of them);
    (its name, the source's column names)."""
    from gridpg.executor.exchange import _ensure_blocks, low_float_digits, pump
    from gridpg.executor.multi import _drop_temp, query_into_temp
    from gridpg.executor.run import scratch_name
    from gridpg.executor.scratch import writable_catalog

    txn = dispatcher.runner.txn
    async with writable_catalog(dispatcher):
        catalog = await txn.connection(dispatcher.coord.catalog_node, wants_block=False)
        await catalog.settle()
        named = plan.through_view or (target.schema, target.name)
        key = await _key_type(catalog, named, plan.key_column) if plan.key_sql else None
        if plan.key_sql and key is None and plan.needs_key:
            raise PgError(FEATURE_NOT_SUPPORTED, "MERGE ... WHEN NOT MATCHED THEN INSERT into a table "
                          f"distributed by a column of type {target.column_type} is not supported by gridpg")
        select = _source_select(plan, key[1] if key else None)
        rows = f"pg_temp.{quote_ident(scratch_name(dispatcher, 'msrc', shared=False))}"
        temps: list[str] = []
        try:
            await query_into_temp(dispatcher, select, catalog, rows, temps)
            if plan.sequences:
                await _draw_sequence_values(dispatcher, catalog, rows, plan.sequences)
            columns = await _columns(catalog, rows)
            await _ensure_blocks(dispatcher, list(target.groups))
            stage = f"{SCRATCH_SCHEMA}.{quote_ident(scratch_name(dispatcher, 'mstage'))}"
            shape = ", ".join(f"{quote_ident(name)} {type_sql}" for name, type_sql in columns)
            for group in target.groups:
                conn = await txn.connection(group, wants_block=True)
                txn.mark_written(group)
                await conn.settle()
                await conn.simple_query(f"CREATE UNLOGGED TABLE {stage} ({shape})")
            lossy = low_float_digits(dispatcher.runner)
            if key is None:  # every row to every node
                dests = [await txn.connection(g, wants_block=True) for g in target.groups]
                await pump(catalog, dests, f"SELECT * FROM {rows}", stage, lossy)
            else:
                for group, part in _parts(dispatcher, target, rows, key[0]).items():
                    await pump(catalog, [await txn.connection(group, wants_block=True)], part, stage, lossy)
        finally:
            await _drop_temp(catalog, temps)
    return stage, [name for name, _ in columns if name != KEY_COLUMN]


async def _draw_sequence_values(dispatcher: Dispatcher, catalog: BackendConnection, rows: str,
                                sequences: tuple[Any, ...]) -> None:
    """A column `gp_seq_<n>` per sequence-filled target column in the source rows, each row
    its own value from the GTM, in the rows' order (executor/merge_defaults.py)."""
    from gridpg.commands.sequences import next_values

    count = int((await catalog.query(f"SELECT count(*) FROM {rows}"))[0][0] or 0)
    names = [quote_ident(SEQUENCE_COLUMN.format(n)) for n in range(len(sequences))]
    await catalog.simple_query(f"ALTER TABLE {rows} " + ", ".join(f"ADD COLUMN {n} bigint" for n in names))
    if not count:
        return
    arrays = []
    for column in sequences:
        values = await next_values(dispatcher, column.sequence, count)
        arrays.append("ARRAY[" + ",".join(str(v) for v in values) + "]::pg_catalog.int8[]")
    sets = ", ".join(f"{n} = v.{n}" for n in names)
    await catalog.simple_query(
        f"UPDATE {rows} SET {sets} FROM (SELECT ctid AS at, row_number() OVER (ORDER BY ctid) AS gp_n "
        f"FROM {rows}) AS r, unnest({', '.join(arrays)}) WITH ORDINALITY AS v({', '.join(names)}, gp_n) "
        f"WHERE {rows}.ctid = r.at AND v.gp_n = r.gp_n")


def _source_select(plan: MergeStagedPlan, key_type: str | None) -> str:
    """The source's rows, with the staging key (cast to the target's distribution type,
    whose partition hash places them) as the last column, or their numbers
    (`unmatched_once`)."""
    source = plan.source_text.strip() + "\n"  # (it may end in a -- comment)
    if key_type is None or plan.key_sql is None:
        columns = f"{quote_ident(plan.alias)}.*" if plan.alias else "*"
        if plan.unmatched_once:
            columns += f", pg_catalog.row_number() OVER () AS {ROW_COLUMN}"
        return f"{plan.with_text}SELECT {columns} FROM {source}"
    assert plan.alias is not None
    return (f"{plan.with_text}SELECT {quote_ident(plan.alias)}.*, CAST(({plan.key_sql}) AS {key_type}) "
            f"AS {KEY_COLUMN} FROM {source}")


async def _key_type(catalog: BackendConnection, relation: tuple[str, str],
                    column: str | None) -> tuple[int, str] | None:
    """The (base type OID, type name) the target's partition hash reads its distribution
    column as (`column` of `relation`: the table, or the view the MERGE names), with the
    column's type modifier (a numeric(10,2) key is hashed as stored, rounded); None when
    gridpg cannot compute that hash on a server."""
    rows = await catalog.query(
        "SELECT b.oid, pg_catalog.format_type(b.oid, CASE WHEN t.typbasetype <> 0 THEN t.typtypmod "
        "ELSE a.atttypmod END) FROM pg_catalog.pg_attribute a "
        "JOIN pg_catalog.pg_type t ON t.oid = a.atttypid "
        "JOIN pg_catalog.pg_type b ON b.oid = CASE WHEN t.typbasetype <> 0 THEN t.typbasetype ELSE t.oid END "
        f"WHERE a.attrelid = pg_catalog.to_regclass({quote_literal(quote_qualified(*relation))}) "
        f"AND a.attname = {quote_literal(column or '')}")
    if not rows or rows[0][0] is None or int(rows[0][0]) not in REPARTITION_TYPES:
        return None
    return int(rows[0][0]), str(rows[0][1])


async def _columns(catalog: BackendConnection, table: str) -> list[tuple[str, str]]:
    rows = await catalog.query(
        "SELECT attname, pg_catalog.format_type(atttypid, atttypmod) FROM pg_catalog.pg_attribute "
        f"WHERE attrelid = {quote_literal(table)}::pg_catalog.regclass AND attnum > 0 AND NOT attisdropped "
        "ORDER BY attnum")
    return [(str(name), str(type_sql)) for name, type_sql in rows]


def _parts(dispatcher: Dispatcher, target: DistTable, rows: str, type_oid: int) -> dict[str, str]:
    """Per target node, the SELECT of the source rows whose key hashes to its partitions."""
    assert target.shard_count
    snapshot = dispatcher.runner.snapshot()
    mine: dict[str, list[int]] = {g: [] for g in target.groups}
    for remainder in range(target.shard_count):
        mine[snapshot.shard_group(target.schema, target.name, remainder)].append(remainder)
    split = remainder_sql(quote_ident(KEY_COLUMN), type_oid, target.shard_count)
    return {g: f"SELECT * FROM {rows} WHERE {split} IN ({', '.join(map(str, r))})" for g, r in mine.items() if r}
