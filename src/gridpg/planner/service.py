"""The planner service: statement in, `DistributedPlan` out, strategies in a declared order.

For a query over distributed tables the strategies are tried in this order; the first
that applies wins, and the reasons of those that did not are kept for EXPLAIN VERBOSE:

  1. router      every distributed table pinned to one node by `col = value`
                 (or only reference tables): the whole statement goes to that node
  2. pushdown    tables colocated and joined on their distribution column (or reference
                 tables), nothing to combine: the same statement on each node, concatenated
  3. two-phase   aggregates: partial aggregates on the nodes, combined on the catalog server
  4. coordinator-finish   anything else: the distributed tables are gathered into catalog
                 temp tables and the statement runs there (always correct, slower)

Statements that touch no distributed table go to the catalog server as they are; DDL goes
to `commands.ddl`; INSERT, COPY, UPDATE and DELETE to the DML paths of the executor.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from gridpg.catalog.model import CatalogSnapshot, DistTable
from gridpg.errors import FEATURE_NOT_SUPPORTED, UNDEFINED_OBJECT, PgError
from gridpg.planner import analyze
from gridpg.planner.hashing import shard_for_text
from gridpg.planner.plan import DistributedPlan, Fragment, GatherTable, NotApplicable
from gridpg.sql import parse as sqlparse
from gridpg.sql.xl import extract_distribution, parse_xl_command

if TYPE_CHECKING:
    from gridpg.executor.dispatch import Dispatcher, ExecRequest
    from gridpg.frontend.coordinator import Coordinator

CATALOG_ONLY = {
    "VariableShowStmt", "PrepareStmt", "ExecuteStmt", "DeallocateStmt", "ListenStmt",
    "NotifyStmt", "UnlistenStmt", "DiscardStmt", "DeclareCursorStmt", "FetchStmt",
    "ClosePortalStmt", "CheckPointStmt", "DoStmt", "CallStmt", "LoadStmt",
    "ConstraintsSetStmt", "LockStmt", "VariableSetStmt",
}
QUERY_KINDS = {"SelectStmt", "InsertStmt", "UpdateStmt", "DeleteStmt", "MergeStmt"}
_temp_ids = itertools.count(1)
SCRATCH_SCHEMA = "gridpg_shards"


@dataclass(frozen=True)
class RouterSpec:
    """The static part of the router: which values pin which tables."""

    pins: tuple[tuple[DistTable, tuple[analyze.Value, ...]], ...]
    fixed_group: str | None
    writes: bool
    references: tuple[DistTable, ...]


@dataclass
class Resolved:
    """A table reference and, when distributed, its metadata."""

    ref: analyze.RelRef
    table: DistTable | None


@dataclass
class Analysis:
    """A statement read once: its route and, for queries, tree, kind and tables."""

    route: str  # catalog | xl | version | query | utility
    clean: str = ""
    spec: Any = None
    tree: dict[str, Any] = field(default_factory=dict)
    kind: str = ""
    resolved: list[Resolved] = field(default_factory=list)
    router: RouterSpec | NotApplicable | None = None
    xl: Any = None
    sql: str | None = None  # the text to run when it differs from the client's (views inlined)
    literals: list[str | None] | None = None  # values of $n in a normalized form


class Planner:
    """Plans and starts the execution of statements for all sessions of a coordinator."""

    def __init__(self, coordinator: Coordinator) -> None:
        self.coord = coordinator
        self.cache: dict[Any, Any] = {}

    def invalidate(self) -> None:
        self.cache.clear()

    def describe_sql(self, sql: str) -> str:
        clean, _ = extract_distribution(sql)
        if "_table" in clean:
            from gridpg.commands import redistribute

            try:
                call = redistribute.function_call(sqlparse.parse_tree(clean))
            except PgError:
                call = None
            if call is not None:
                return redistribute.describe_stand_in(call[0], clean)
        return _rewrite_version(clean)

    # -- entry -------------------------------------------------------------------------

    async def run(self, dispatcher: Dispatcher, request: ExecRequest) -> bool:
        """Run the statement if it needs distributed handling; False sends it to the catalog."""
        from gridpg.executor import multi

        analysis = self._analysis(dispatcher, request.sql, request.simple)
        if analysis.route == "catalog":
            return False
        if analysis.literals is not None:
            if await self._run_routed_by_literals(dispatcher, request, analysis):
                return True
            analysis = self._analyze(request.sql, dispatcher.runner.snapshot(), _search_path(dispatcher))
        if analysis.sql is not None:
            from dataclasses import replace

            request = replace(request, sql=analysis.sql)
        if analysis.route == "xl":
            await multi.run_xl_command(dispatcher, request, analysis.xl)
            return True
        if analysis.route == "version":
            await dispatcher.run_on_node(self.coord.catalog_node, request, writes=False,
                                         sql=_rewrite_version(request.sql))
            return True
        if analysis.route == "query":
            return await self._run_query(dispatcher, request, analysis)
        if analysis.route == "function":
            from gridpg.commands import redistribute

            await redistribute.run(dispatcher, request, *analysis.xl)
            return True
        if analysis.route == "sequence":
            from gridpg.commands import sequences

            await sequences.run(dispatcher, request, *analysis.xl)
            return True
        return await self._run_utility(dispatcher, request, analysis.clean, analysis.tree,
                                       analysis.kind, analysis.spec)

    def _analysis(self, dispatcher: Dispatcher, sql: str, simple: bool = False) -> Analysis:
        """What a statement is and which tables it touches, cached per text and catalog epoch
        (and, for statements with literals, per literal-free form: see _normalized)."""
        runner = dispatcher.runner
        search_path = _search_path(dispatcher)
        key = None
        if runner.private_snapshot is None:
            key = (sql, tuple(search_path))
            cached = self.cache.get(key)
            if cached is not None:
                return cached  # type: ignore[no-any-return]
            if simple:
                normalized = self._normalized(sql, runner.snapshot(), search_path)
                if normalized is not None:
                    return normalized
        analysis = self._analyze(sql, runner.snapshot(), search_path)
        if key is not None:
            if len(self.cache) > 20000:
                self.cache.clear()
            self.cache[key] = analysis
        return analysis

    def _normalized(self, sql: str, snapshot: CatalogSnapshot, search_path: list[str]) -> Analysis | None:
        """The analysis of the statement with its literals as parameters, when that answers
        (catalog statements, and router pins read from the literals). Literals change every
        time a client inlines its values (the simple protocol): this spares the parse."""
        form = normalize_literals(sql)
        if form is None:
            return None
        text, literals = form
        key = ("normalized", text, tuple(search_path))
        analysis = self.cache.get(key, False)
        if analysis is False:
            try:
                analysis = self._analyze(text, snapshot, search_path)
            except PgError:
                analysis = None
            if analysis is not None and not (
                analysis.route == "catalog"
                or (analysis.route == "query" and isinstance(analysis.router, RouterSpec))
            ):
                analysis = None
            self.cache[key] = analysis
        if analysis is None:
            return None
        if analysis.route == "catalog":
            return analysis
        from dataclasses import replace

        return replace(analysis, literals=literals)

    def _analyze(self, sql: str, snapshot: CatalogSnapshot, search_path: list[str]) -> Analysis:
        xl = parse_xl_command(sql)
        if xl is not None:
            return Analysis("xl", xl=xl)
        clean, spec = extract_distribution(sql)
        tree = sqlparse.parse_tree(clean)
        kind = sqlparse.node_type(tree)
        if kind == "SelectStmt":
            from gridpg.commands import redistribute, sequences

            call = redistribute.function_call(tree)
            if call is not None:
                return Analysis("function", clean, spec, tree, kind, xl=call)
            seq = sequences.sequence_call(tree)
            if seq is not None:
                return Analysis("sequence", clean, spec, tree, kind, xl=seq)
        if kind in QUERY_KINDS:
            inlined = self._inline_views(sql, tree, kind, snapshot, search_path)
            if inlined is not None:
                analysis = self._analyze(inlined, snapshot, search_path)
                analysis.sql = analysis.sql or inlined
                return analysis
            refs = analyze.relations(tree)
            resolved = [Resolved(r, self.resolve(snapshot, r, search_path)) for r in refs]
            if not any(r.table is not None for r in resolved):
                if analyze.has_node(tree, "FuncCall") and _rewrite_version(sql) != sql:
                    return Analysis("version")
                return Analysis("catalog")
            body = tree[kind]
            writes = kind != "SelectStmt" or analyze.has_node(tree, "lockingClause")
            router = None
            target = resolved[0].table if kind in ("UpdateStmt", "DeleteStmt") else None
            moves = target is not None and target.column is not None and kind == "UpdateStmt" \
                and _updates_column(body, target.column)
            if kind not in ("InsertStmt", "MergeStmt") and not moves:
                router = self._router_static(body, resolved, writes)
            return Analysis("query", clean, spec, tree, kind, resolved, router)
        if kind in CATALOG_ONLY or not kind:
            return Analysis("catalog")
        return Analysis("utility", clean, spec, tree, kind)

    # -- utility -----------------------------------------------------------------------

    async def _run_utility(self, dispatcher: Dispatcher, request: ExecRequest, clean: str,
                           tree: dict[str, Any], kind: str, spec: Any) -> bool:
        from gridpg.commands.ddl import DdlRunner
        from gridpg.executor import multi

        ddl = DdlRunner(dispatcher)
        if kind == "CreateStmt":
            await ddl.create_table(clean, tree, spec)
            return True
        if kind == "ExplainStmt":
            return await multi.explain(dispatcher, request, tree)
        if kind == "CopyStmt":
            return await multi.copy(dispatcher, request, tree)
        if kind == "CreateTableAsStmt":
            return await multi.create_table_as(dispatcher, request, tree, spec)
        snapshot = dispatcher.runner.snapshot()
        search_path = _search_path(dispatcher)
        refs = analyze.relations(tree) + _dropped_tables(tree, kind)
        tables = list({(t.schema, t.name): t for t in (self.resolve(snapshot, r, search_path) for r in refs) if t}.values())
        groups = sorted({g for t in tables for g in t.groups}) if tables else ddl.all_groups()
        after = _metadata_after(kind, tree, tables, snapshot, search_path)
        sequences = await self._sequences_to_reset(dispatcher, kind, tree, tables)
        group_sql = _drop_tables_per_group(tree, kind, tables, groups)
        await ddl.propagate(request, kind, groups, after, group_sql)
        for name, start in sequences.items():
            if start is None:
                await self.coord.gtm.seq_drop(name, if_exists=True)
            else:
                await self.coord.gtm.seq_setval(name, start, is_called=False)
        if sequences:
            self.coord.forget_sequences(list(sequences))
        return True

    async def _sequences_to_reset(self, dispatcher: Dispatcher, kind: str, tree: dict[str, Any],
                                  tables: list[DistTable]) -> dict[str, int | None]:
        """GTM sequences a DROP TABLE drops (None) or TRUNCATE ... RESTART IDENTITY restarts."""
        body = tree[kind]
        dropping = kind == "DropStmt" and body.get("removeType") == "OBJECT_TABLE"
        restarting = kind == "TruncateStmt" and body.get("restart_seqs")
        if not (dropping or restarting):
            return {}
        out: dict[str, int | None] = {}
        for table in tables:
            for column in await self.coord.table_columns(dispatcher.runner, table):
                if column.sequence:
                    out[column.sequence] = None if dropping else await self.coord._sequence_start(column.sequence)
        return out

    # -- queries -----------------------------------------------------------------------

    async def _run_routed_by_literals(self, dispatcher: Dispatcher, request: ExecRequest,
                                      analysis: Analysis) -> bool:
        from dataclasses import replace

        assert isinstance(analysis.router, RouterSpec) and analysis.literals is not None
        values = [None if v is None else v.encode() for v in analysis.literals]
        pseudo = replace(request, params=values, param_formats=[0], decode_oids=[])
        plan = self._router_bind(dispatcher, pseudo, analysis.router)
        if not isinstance(plan, DistributedPlan):
            return False
        await dispatcher.run_on_node(plan.fragments[0].group, request, writes=plan.writes)
        return True

    async def _run_query(self, dispatcher: Dispatcher, request: ExecRequest, analysis: Analysis) -> bool:
        from gridpg.executor import multi

        tree, kind, resolved = analysis.tree, analysis.kind, analysis.resolved
        if kind == "InsertStmt":
            await multi.insert(dispatcher, request, tree, resolved)
            return True
        if kind == "MergeStmt":
            group = await self._merge_group(dispatcher, request, tree["MergeStmt"], resolved)
            await dispatcher.run_on_node(group, request, writes=True)
            return True
        if isinstance(analysis.router, RouterSpec):
            plan = self._router_bind(dispatcher, request, analysis.router)
            if isinstance(plan, DistributedPlan):
                await dispatcher.run_on_node(plan.fragments[0].group, request, writes=plan.writes)
                return True
        plan = self.plan_query(dispatcher, request, tree, kind, resolved)
        await multi.execute_plan(dispatcher, request, plan)
        return True

    def plan_query(self, dispatcher: Dispatcher, request: ExecRequest, tree: dict[str, Any],
                   kind: str, resolved: list[Resolved]) -> DistributedPlan:
        reasons: list[NotApplicable] = []
        writes = kind != "SelectStmt" or analyze.has_node(tree, "lockingClause")
        body = tree[kind]
        target = resolved[0].table
        if kind == "UpdateStmt" and target is not None and target.column and \
                target.method in ("hash", "modulo") and _updates_column(body, target.column):
            return self._move_rows(request, body, resolved)
        spec = self._router_static(body, resolved, writes)
        pinned = self._pinned_set(dispatcher, request, spec) if isinstance(spec, RouterSpec) else None
        router = spec if isinstance(spec, NotApplicable) else self._router_decide(request, spec, pinned)
        if isinstance(router, DistributedPlan):
            return router
        reasons.append(router)
        if kind in ("UpdateStmt", "DeleteStmt"):
            return self._multi_node_write(request, body, resolved, reasons)
        if kind != "SelectStmt":
            raise PgError(FEATURE_NOT_SUPPORTED, f"{kind[:-4].upper()} over several nodes is not supported by gridpg yet")
        pushable = self._pushable_from(body, resolved)
        if isinstance(pushable, NotApplicable):
            reasons.append(pushable)
        else:
            if pinned:  # IN (...) over a few shards: only their nodes
                pushable = [g for g in pushable if g in pinned]
            plain = _needs_combine(body)
            if plain is None:
                return DistributedPlan("pushdown", tuple(Fragment(g, request.sql) for g in pushable),
                                       writes, reasons=tuple(reasons))
            reasons.append(NotApplicable("pushdown", plain))
            merge = self._sorted_merge(request.sql, body, resolved, pushable)
            if isinstance(merge, DistributedPlan):
                return DistributedPlan(merge.strategy, merge.fragments, False, merge.final_sql,
                                       partial_temp=merge.partial_temp, reasons=tuple(reasons))
            reasons.append(merge)
            two = self._two_phase(request.sql, pushable)
            if isinstance(two, DistributedPlan):
                return DistributedPlan(two.strategy, two.fragments, False, two.final_sql,
                                       partial_temp=two.partial_temp, reasons=tuple(reasons))
            reasons.append(two)
        if writes:
            raise PgError(FEATURE_NOT_SUPPORTED, "SELECT ... FOR UPDATE/SHARE over several nodes is not supported")
        return self._coordinator_finish(request.sql, resolved, tuple(reasons))

    # -- strategy 1: router ------------------------------------------------------------

    def _router(self, dispatcher: Dispatcher, request: ExecRequest, body: dict[str, Any],
                resolved: list[Resolved], writes: bool) -> DistributedPlan | NotApplicable:
        spec = self._router_static(body, resolved, writes)
        if isinstance(spec, NotApplicable):
            return spec
        return self._router_bind(dispatcher, request, spec)

    def _router_static(self, body: dict[str, Any], resolved: list[Resolved],
                       writes: bool) -> RouterSpec | NotApplicable:
        """What pins the statement to one node, read once from the parse tree."""
        tables = [r.table for r in resolved if r.table is not None]
        if all(t.method == "replication" for t in tables):
            common = set(tables[0].groups).intersection(*[set(t.groups) for t in tables[1:]])
            if not common:
                return NotApplicable("router", "reference tables live on different node sets")
            if writes:
                if len(tables) == 1 and len(tables[0].groups) == 1:
                    return RouterSpec((), tables[0].groups[0], True, ())
                return NotApplicable("router", "a write to a reference table goes to every node")
            return RouterSpec((), sorted(common)[0], False, ())
        if _top_level_relation_count(body) != len(resolved):
            return NotApplicable("router", "distributed tables appear in subqueries or CTEs")
        where = body.get("whereClause")
        pins = []
        for r in resolved:
            table = r.table
            if table is None or table.method == "replication":
                continue
            values = self._pin_values(where, r, table)
            if values is None:
                return NotApplicable("router", f'"{table.name}" is not pinned by its distribution column')
            pins.append((table, tuple(values)))
        references = tuple(r.table for r in resolved if r.table is not None and r.table.method == "replication")
        return RouterSpec(tuple(pins), None, writes, references)

    def _pin_values(self, where: Any, r: Resolved, table: DistTable) -> list[analyze.Value] | None:
        if table.method not in ("hash", "modulo") or table.column is None:
            return None
        names = {r.ref.alias or r.ref.name}
        column = table.column

        def matches(col: tuple[str, ...]) -> str | None:
            if col[-1] != column:
                return None
            if len(col) == 1 or col[-2] in names:
                return column
            return None

        return analyze.pinning_values(where, matches).get(column) or None

    def _router_bind(self, dispatcher: Dispatcher, request: ExecRequest,
                     spec: RouterSpec) -> DistributedPlan | NotApplicable:
        """The node for these parameter values, or why there is not exactly one."""
        return self._router_decide(request, spec, self._pinned_set(dispatcher, request, spec))

    def _router_decide(self, request: ExecRequest, spec: RouterSpec,
                       groups: set[str] | None) -> DistributedPlan | NotApplicable:
        """The router's answer given the nodes the pinned values live on."""
        if spec.fixed_group is not None:
            return DistributedPlan("router", (Fragment(spec.fixed_group, request.sql),), spec.writes)
        if groups is None:
            return NotApplicable("router", "a pinned value cannot be routed")
        for table in spec.references:
            if not groups <= set(table.groups):
                return NotApplicable("router", "a reference table is not on the pinned node")
        if len(groups) != 1:
            return NotApplicable("router", f"the pinned rows are on {len(groups)} nodes")
        return DistributedPlan("router", (Fragment(next(iter(groups)), request.sql),), spec.writes)

    def _pinned_set(self, dispatcher: Dispatcher, request: ExecRequest, spec: RouterSpec) -> set[str] | None:
        """The nodes holding the rows the WHERE clause pins, or None if a value cannot be routed."""
        if spec.fixed_group is not None or not spec.pins:
            return None
        snapshot = dispatcher.runner.snapshot()
        groups: set[str] = set()
        for table, values in spec.pins:
            for value in values:
                text = _value_text(value, request)
                group = None if text is _UNKNOWN else self.group_for_value(table, text, snapshot)  # type: ignore[arg-type]
                if group is None:
                    return None
                groups.add(group)
        return groups

    def group_for_value(self, table: DistTable, text: str | None,
                        snapshot: CatalogSnapshot | None = None) -> str | None:
        """The datanode group holding rows whose distribution column has this text value."""
        if table.method == "hash":
            try:
                remainder = shard_for_text(table.column_type or "", text, table.shard_count or 1)
            except (ValueError, TypeError, OverflowError):
                return None
            snapshot = snapshot or self.coord.snapshot
            assert snapshot is not None
            try:
                return snapshot.shard_group(table.schema, table.name, remainder)
            except Exception:  # noqa: BLE001 - metadata of a table created in this transaction
                return None
        if table.method == "modulo":
            if text is None:
                return table.groups[0]
            try:
                value = int(text)
            except ValueError:
                return None
            return table.groups[value % len(table.groups)]
        return None

    # -- strategy 2: pushdown ----------------------------------------------------------

    def _pushable_from(self, body: dict[str, Any], resolved: list[Resolved]) -> list[str] | NotApplicable:
        """The groups to run on when every node can answer for its own rows."""
        if body.get("op", "SETOP_NONE") != "SETOP_NONE":
            return NotApplicable("pushdown", "set operations need rows from every node")
        if body.get("withClause"):
            return NotApplicable("pushdown", "CTEs are finished on the coordinator")
        if _top_level_relation_count(body) != len(resolved):
            return NotApplicable("pushdown", "distributed tables appear in subqueries")
        distributed = [r for r in resolved if r.table is not None and r.table.method != "replication"]
        if not distributed:
            return NotApplicable("pushdown", "only reference tables")
        if _has_outer_join_with_reference_nullable(body, resolved):
            return NotApplicable("pushdown", "an outer join whose nullable side is a reference table")
        first = distributed[0].table
        assert first is not None
        if len(distributed) > 1:
            if any(r.table is not None and r.table.method in ("roundrobin",) for r in distributed):
                return NotApplicable("pushdown", "ROUNDROBIN tables cannot be joined node-locally")
            if not self._joined_on_distribution_columns(body, distributed):
                return NotApplicable("pushdown", "the tables are not joined on their distribution columns")
        groups = sorted(set(first.groups))
        for r in resolved:
            if r.table is not None and r.table.method == "replication" and not set(groups) <= set(r.table.groups):
                return NotApplicable("pushdown", "a reference table is missing on some nodes")
        return groups

    def _joined_on_distribution_columns(self, body: dict[str, Any], distributed: list[Resolved]) -> bool:
        snapshot = self.coord.snapshot
        assert snapshot is not None
        tables = [r.table for r in distributed if r.table is not None]
        first = tables[0]
        for t in tables[1:]:
            if not snapshot.colocated(first, t):
                return False
        names = {}
        for r in distributed:
            assert r.table is not None
            names[r.ref.alias or r.ref.name] = r.table.column
        linked = {next(iter(names))}
        pairs = analyze.equi_join_pairs(body)
        changed = True
        while changed:
            changed = False
            for left, right in pairs:
                if len(left) < 2 or len(right) < 2:
                    continue
                lt, lc = left[-2], left[-1]
                rt, rc = right[-2], right[-1]
                if names.get(lt) == lc and names.get(rt) == rc:
                    if lt in linked and rt not in linked:
                        linked.add(rt)
                        changed = True
                    elif rt in linked and lt not in linked:
                        linked.add(lt)
                        changed = True
        return linked == set(names)

    # -- strategy 2b: sorted merge ------------------------------------------------------

    def _sorted_merge(self, sql: str, body: dict[str, Any], resolved: list[Resolved],
                      groups: list[str]) -> DistributedPlan | NotApplicable:
        """ORDER BY / LIMIT / DISTINCT without aggregates: each node sorts and returns its
        first limit+offset rows; the catalog server merges them and applies the rest."""
        why = _merge_blocker(body, len(resolved))
        if why:
            return NotApplicable("merge", why)
        from pglast import ast, parse_sql
        from pglast.stream import RawStream

        stmt = parse_sql(sql)[0].stmt
        count, offset = _constant(body.get("limitCount")), _constant(body.get("limitOffset"))
        if (body.get("limitCount") and count is None) or (body.get("limitOffset") and offset is None):
            return NotApplicable("merge", "LIMIT/OFFSET are not constants")
        if count is not None:
            stmt.limitCount = ast.A_Const(val=ast.Integer(count + (offset or 0)))
        stmt.limitOffset = None
        partial = str(RawStream()(stmt))
        temp = f"pg_temp.gp_merge_{next(_temp_ids)}"
        relation = resolved[0].ref
        alias = _quote(relation.alias or relation.name) if len(resolved) == 1 else "m"
        final = f"SELECT {'DISTINCT ' if body.get('distinctClause') is not None else ''}* FROM {temp} AS {alias}"
        if body.get("sortClause"):
            final += " ORDER BY " + _sort_text(sql, body)
        if count is not None:
            final += f" LIMIT {count}"
        if offset:
            final += f" OFFSET {offset}"
        return DistributedPlan("merge", tuple(Fragment(g, partial) for g in groups), False, final,
                               partial_temp=temp)

    # -- strategy 3: two-phase aggregation ---------------------------------------------

    def _two_phase(self, sql: str, groups: list[str]) -> DistributedPlan | NotApplicable:
        try:
            from gridpg.planner import twophase
        except ImportError:
            return NotApplicable("two-phase", "two-phase aggregation is not available")
        temp = f"pg_temp.gp_agg_{next(_temp_ids)}"
        try:
            result = twophase.build_two_phase(sql, temp)
        except Exception as exc:  # noqa: BLE001 - a rewriter failure falls back safely
            return NotApplicable("two-phase", f"rewriter failed: {exc}")
        if isinstance(result, twophase.NotApplicable):
            return NotApplicable("two-phase", result.reason)
        return DistributedPlan(
            "two-phase", tuple(Fragment(g, result.partial_sql) for g in groups), False,
            result.final_sql, partial_temp=temp,
        )

    # -- strategy 4: coordinator finish ------------------------------------------------

    def _coordinator_finish(self, sql: str, resolved: list[Resolved],
                            reasons: tuple[NotApplicable, ...]) -> DistributedPlan:
        temps: dict[tuple[str, str], GatherTable] = {}
        replacements: list[tuple[int, int, str]] = []
        tokens = sqlparse.tokens(sql)
        for r in resolved:
            if r.table is None:
                continue
            key = (r.table.schema, r.table.name)
            if key not in temps:
                temp = f"gp_gather_{next(_temp_ids)}"
                groups = r.table.groups[:1] if r.table.method == "replication" else r.table.groups
                temps[key] = GatherTable(r.table.schema, r.table.name, temp, tuple(groups))
            start, end = _relation_span(sql, tokens, r.ref)
            alias = "" if r.ref.alias else f" AS {_quote(r.ref.name)}"
            replacements.append((start, end, f"pg_temp.{temps[key].temp}{alias}"))
        replacements += _schema_qualified_columns(sql, tokens, set(temps))
        final = _splice(sql, replacements)
        return DistributedPlan("coordinator-finish", (), False, final, tuple(temps.values()),
                               reasons=reasons)

    # -- multi-node writes -------------------------------------------------------------

    def _multi_node_write(self, request: ExecRequest, body: dict[str, Any], resolved: list[Resolved],
                          reasons: list[NotApplicable]) -> DistributedPlan:
        """UPDATE/DELETE on every node of the target; other distributed tables it reads are
        joined node-locally when colocated, else broadcast to the target's nodes first."""
        target = resolved[0].table
        assert target is not None
        others = [r for r in resolved[1:] if r.table is not None and r.table.method != "replication"]
        local = not others or (
            _top_level_relation_count(body) == len(resolved)
            and self._joined_on_distribution_columns(body, [resolved[0], *others])
        )
        replicated = target.method == "replication"
        if local and not (replicated and others):
            return DistributedPlan("pushdown", tuple(Fragment(g, request.sql) for g in target.groups),
                                   True, reasons=tuple(reasons), replicated=replicated)
        reasons.append(NotApplicable("pushdown", "reads distributed tables that are not colocated with the target"))
        temps: dict[tuple[str, str], GatherTable] = {}
        replacements = []
        tokens = sqlparse.tokens(request.sql)
        for r in others:
            assert r.table is not None
            key = (r.table.schema, r.table.name)
            if key not in temps:
                temps[key] = GatherTable(r.table.schema, r.table.name, self.scratch_name("bcast"), r.table.groups)
            start, end = _relation_span(request.sql, tokens, r.ref)
            alias = "" if r.ref.alias else f" AS {_quote(r.ref.name)}"
            replacements.append((start, end, f"{SCRATCH_SCHEMA}.{temps[key].temp}{alias}"))
        sql = _splice(request.sql, replacements)
        return DistributedPlan("broadcast", tuple(Fragment(g, sql) for g in target.groups), True,
                               gather=tuple(temps.values()), reasons=tuple(reasons), replicated=replicated)

    async def _merge_group(self, dispatcher: Dispatcher, request: ExecRequest, body: dict[str, Any],
                           resolved: list[Resolved]) -> str:
        """MERGE runs where its rows stay on one node: a source of constants joined on the
        target's distribution column, all of whose values live on the same node."""
        target = resolved[0].table
        assert target is not None
        unsupported = PgError(FEATURE_NOT_SUPPORTED, "MERGE into a distributed table is supported by "
                              "gridpg only when its source is a subquery of constants joined on the "
                              "distribution column and its rows live on one node")
        if target.method == "replication" and len(target.groups) == 1:
            return target.groups[0]
        source = body.get("sourceRelation", {}).get("RangeSubselect")
        if target.method not in ("hash", "modulo") or source is None or len(resolved) > 1:
            raise unsupported
        alias = source.get("alias", {}).get("aliasname")
        target_names = {resolved[0].ref.alias or resolved[0].ref.name}
        source_col = None
        for left, right in analyze.equi_join_pairs({"whereClause": body.get("joinCondition")}):
            for a, b in ((left, right), (right, left)):
                if len(a) == 2 and a[0] in target_names and a[1] == target.column and len(b) == 2 and b[0] == alias:
                    source_col = b[1]
        if source_col is None:
            raise unsupported
        from gridpg.executor.multi import inline_params
        from gridpg.sql.quote import quote_ident

        toks = sqlparse.tokens(request.sql)
        using_at = _top_level_keywords(request.sql, toks, ("using",))[0]
        on_at = _top_level_keywords(request.sql, toks, ("on",))[0]
        source_text = request.sql[using_at + len("using"):on_at]
        source_text = await inline_params(dispatcher, request, source_text)
        conn = await dispatcher.runner.txn.connection(self.coord.catalog_node, wants_block=False)
        alias_q = quote_ident(alias or "s")
        rows = await conn.query(
            f"SELECT DISTINCT ({alias_q}.{quote_ident(source_col)})::text FROM {source_text.strip()}"
            if alias else "SELECT 1 WHERE false")
        groups = {self.group_for_value(target, r[0], dispatcher.runner.snapshot()) for r in rows}
        if len(groups) == 1 and None not in groups:
            return groups.pop()  # type: ignore[return-value]
        if not groups:
            return target.groups[0]
        raise unsupported

    def _inline_views(self, sql: str, tree: dict[str, Any], kind: str, snapshot: CatalogSnapshot,
                      search_path: list[str]) -> str | None:
        """The statement with views over distributed tables replaced by their definitions
        (the catalog server holds those tables empty, so it cannot answer for a view)."""
        views = self.coord.views
        if not views:
            return None
        target = analyze._dml_target(tree)
        replacements = []
        tokens = None
        for ref in analyze.relations(tree):
            if ref.location == target or self.resolve(snapshot, ref, search_path) is not None:
                continue
            definition = self._view_definition(ref, search_path)
            if definition is None or not self._reads_distributed(definition, snapshot, 0):
                continue
            tokens = tokens or sqlparse.tokens(sql)
            start, end = _relation_span(sql, tokens, ref)
            alias = "" if ref.alias else f" AS {_quote(ref.name)}"
            replacements.append((start, end, f"({definition}){alias}"))
        return _splice(sql, replacements) if replacements else None

    def _view_definition(self, ref: analyze.RelRef, search_path: list[str]) -> str | None:
        views = self.coord.views
        if ref.schema:
            return views.get((ref.schema, ref.name))
        snapshot = self.coord.snapshot
        for schema in search_path:
            if snapshot is not None and snapshot.table(schema, ref.name) is not None:
                return None
            if (schema, ref.name) in views:
                return views[(schema, ref.name)]
        return None

    def _reads_distributed(self, definition: str, snapshot: CatalogSnapshot, depth: int) -> bool:
        if depth > 16:
            return False
        try:
            refs = analyze.relations(sqlparse.parse_tree(definition))
        except PgError:
            return False
        for ref in refs:
            if self.resolve(snapshot, ref, ["public"]) is not None:
                return True
            inner = self.coord.views.get((ref.schema or "public", ref.name))
            if inner is not None and self._reads_distributed(inner, snapshot, depth + 1):
                return True
        return False

    def scratch_name(self, kind: str) -> str:
        """A datanode scratch table name unique in the cluster (temp tables forbid 2PC)."""
        return f"gp_{kind}_{self.coord.name}_{next(_temp_ids)}"

    def _move_rows(self, request: ExecRequest, body: dict[str, Any],
                   resolved: list[Resolved]) -> DistributedPlan:
        """UPDATE of the distribution column: delete on the nodes, update, re-insert routed."""
        target = resolved[0].table
        assert target is not None
        if body.get("fromClause") or any(r.table is not None for r in resolved[1:]):
            raise PgError(FEATURE_NOT_SUPPORTED, "UPDATE of the distribution column with FROM or "
                          "subqueries over distributed tables is not supported by gridpg yet")
        sql = request.sql
        toks = sqlparse.tokens(sql)
        ref = resolved[0].ref
        start, end = _relation_span(sql, toks, ref)
        where_at, returning_at = _top_level_keywords(sql, toks, ("where", "returning"))
        where_text = sql[where_at:returning_at if returning_at >= 0 else len(sql)] if where_at >= 0 else ""
        alias = ref.alias or ref.name
        relation = sql[start:end] + (f" AS {_quote(ref.alias)}" if ref.alias else "")
        delete = f"DELETE FROM {relation} {where_text} RETURNING {_quote(alias)}.*"
        temp = f"gp_move_{next(_temp_ids)}"
        set_end = where_at if where_at >= 0 else (returning_at if returning_at >= 0 else len(sql))
        after_relation = sql[end:set_end]
        if ref.alias:  # drop "AS alias" that followed the name: re-added below
            after_relation = after_relation[after_relation.lower().find("set"):]
        returning = sql[returning_at:] if returning_at >= 0 else ""
        final = f"UPDATE pg_temp.{temp} AS {_quote(alias)} {after_relation.strip()} {returning}"
        fragments = tuple(Fragment(g, delete) for g in target.groups)
        return DistributedPlan("move-rows", fragments, True, final,
                               (GatherTable(target.schema, target.name, temp, target.groups),))

    # -- names -------------------------------------------------------------------------

    def resolve(self, snapshot: CatalogSnapshot, ref: analyze.RelRef, search_path: list[str]) -> DistTable | None:
        if ref.schema:
            return snapshot.table(ref.schema, ref.name)
        for schema in search_path:
            table = snapshot.table(schema, ref.name)
            if table is not None:
                return table
        return None


# -- helpers ---------------------------------------------------------------------------

_UNKNOWN = object()


def _value_text(value: analyze.Value, request: ExecRequest) -> str | None | object:
    if not value.param:
        return value.text
    index = value.param - 1
    if index >= len(request.params):
        return _UNKNOWN
    raw = request.params[index]
    if raw is None:
        return None
    fmt = request.param_formats[index] if len(request.param_formats) > 1 else (
        request.param_formats[0] if request.param_formats else 0)
    if fmt == 0:
        return raw.decode()
    from gridpg.executor.binary import decode_binary_param

    oids = request.decode_oids or request.param_oids
    oid = oids[index] if index < len(oids) else 0
    decoded = decode_binary_param(oid, raw)
    return _UNKNOWN if decoded is None else decoded


def _search_path(dispatcher: Dispatcher) -> list[str]:
    raw = None
    for key, value in dispatcher.runner.settings.items():
        if key.lower() == "search_path":
            raw = value
    if raw is None:
        raw = '"$user", public'
    out = []
    for part in raw.split(","):
        name = part.strip()
        if name.startswith('"') and name.endswith('"'):
            name = name[1:-1].replace('""', '"')
        else:
            name = name.lower()
        if name == "$user":
            name = dispatcher.session.info.user
        if name:
            out.append(name)
    return out


def _top_level_relation_count(body: dict[str, Any]) -> int:
    """Tables of the statement's own FROM (and a DML target with its FROM/USING), not of
    subqueries: equal to the number of table references when nothing is nested."""
    count = 1 if "relation" in body else 0
    stack: list[Any] = [*(body.get("fromClause") or []), *(body.get("usingClause") or [])]
    while stack:
        node = stack.pop()
        if "RangeVar" in node:
            count += 1
        elif "JoinExpr" in node:
            stack.append(node["JoinExpr"]["larg"])
            stack.append(node["JoinExpr"]["rarg"])
    return count


def _needs_combine(body: dict[str, Any]) -> str | None:
    """Why concatenating node results would be wrong, or None."""
    if body.get("groupClause") or analyze.has_node(body.get("targetList"), "FuncCall") and _has_aggregate(body):
        return "aggregates or GROUP BY combine rows across nodes"
    if body.get("havingClause"):
        return "HAVING combines rows across nodes"
    if body.get("sortClause"):
        return "ORDER BY needs a merge"
    if body.get("limitCount") or body.get("limitOffset"):
        return "LIMIT/OFFSET apply to the whole result"
    if body.get("distinctClause") is not None:
        return "DISTINCT applies to the whole result"
    if body.get("windowClause") or any(
        isinstance(n, dict) and "FuncCall" in n and "over" in n["FuncCall"]
        for n in analyze._walk([body.get("targetList"), body.get("sortClause")])
    ):
        return "window functions see the whole result"
    if analyze.has_node(body.get("targetList"), "SubLink") or analyze.has_node(body.get("whereClause"), "SubLink"):
        return "subqueries"
    if analyze.has_node(body.get("targetList"), "SetToDefault") or any(
        "nextval" in str(x) for x in [body.get("targetList")]
    ):
        return "volatile functions"
    return None


_AGGREGATES = {
    "count", "sum", "avg", "min", "max", "bool_and", "bool_or", "every", "stddev", "stddev_samp",
    "stddev_pop", "variance", "var_samp", "var_pop", "string_agg", "array_agg", "json_agg",
    "jsonb_agg", "json_object_agg", "jsonb_object_agg", "percentile_cont", "percentile_disc",
    "mode", "bit_and", "bit_or", "bit_xor", "corr", "covar_pop", "covar_samp", "regr_count",
    "xmlagg", "any_value", "range_agg", "range_intersect_agg", "rank", "dense_rank",
}


def _has_aggregate(body: dict[str, Any]) -> bool:
    for node in analyze._walk([body.get("targetList"), body.get("havingClause"), body.get("sortClause")]):
        if isinstance(node, dict) and "FuncCall" in node:
            names = [n["String"]["sval"] for n in node["FuncCall"]["funcname"] if "String" in n]
            if names and names[-1].lower() in _AGGREGATES and "over" not in node["FuncCall"]:
                return True
    return False


def _has_outer_join_with_reference_nullable(body: dict[str, Any], resolved: list[Resolved]) -> bool:
    replicated = {r.ref.location for r in resolved if r.table is not None and r.table.method == "replication"}
    local = {r.ref.location for r in resolved if r.table is None}
    unsafe = replicated | local
    for node in analyze._walk(body.get("fromClause", [])):
        if not isinstance(node, dict) or "JoinExpr" not in node:
            continue
        join = node["JoinExpr"]
        kind = join["jointype"]
        left = {n["RangeVar"]["location"] for n in analyze._walk(join["larg"]) if isinstance(n, dict) and "RangeVar" in n}
        right = {n["RangeVar"]["location"] for n in analyze._walk(join["rarg"]) if isinstance(n, dict) and "RangeVar" in n}
        # The preserved side must not be only-replicated when the other side is distributed.
        if kind == "JOIN_LEFT" and left and left <= unsafe and not right <= unsafe:
            return True
        if kind == "JOIN_RIGHT" and right and right <= unsafe and not left <= unsafe:
            return True
        if kind == "JOIN_FULL" and (left <= unsafe) != (right <= unsafe):
            return True
    return bool(local)


def _updates_column(body: dict[str, Any], column: str) -> bool:
    for target in body.get("targetList", []):
        res = target.get("ResTarget", {})
        if res.get("name") == column:
            return True
        val = res.get("val", {})
        if "MultiAssignRef" in val and res.get("name") == column:
            return True
    return False


def _metadata_after(kind: str, tree: dict[str, Any], tables: list[DistTable],
                    snapshot: CatalogSnapshot, search_path: list[str]) -> list[str]:
    """Metadata statements that follow a DDL statement (drop, rename)."""
    from gridpg.catalog import store

    body = tree[kind]
    if kind == "DropStmt" and body.get("removeType") == "OBJECT_TABLE":
        return [store.sql_delete_dist_table(t.schema, t.name) for t in tables]
    if kind == "DropStmt" and body.get("removeType") == "OBJECT_SCHEMA":
        names = set()
        for obj in body.get("objects", []):
            if "String" in obj:
                names.add(obj["String"]["sval"])
        return [store.sql_delete_dist_table(t.schema, t.name) for t in snapshot.tables if t.schema in names]
    if kind == "RenameStmt" and body.get("renameType") == "OBJECT_TABLE" and tables:
        t = tables[0]
        return [store.sql_rename_table(t.schema, t.name, t.schema, body["newname"])]
    if kind == "RenameStmt" and body.get("renameType") == "OBJECT_SCHEMA":
        old, new = body.get("subname"), body.get("newname")
        return [store.sql_rename_table(t.schema, t.name, new, t.name) for t in snapshot.tables if t.schema == old]
    if kind == "AlterObjectSchemaStmt" and body.get("objectType") == "OBJECT_TABLE" and tables:
        t = tables[0]
        return [store.sql_rename_table(t.schema, t.name, body["newschema"], t.name)]
    return []


def _dropped_tables(tree: dict[str, Any], kind: str) -> list[analyze.RelRef]:
    """The tables a DROP TABLE names (its objects are name lists, not RangeVars)."""
    body = tree[kind]
    if kind != "DropStmt" or body.get("removeType") not in ("OBJECT_TABLE", "OBJECT_FOREIGN_TABLE"):
        return []
    out = []
    for obj in body.get("objects", []):
        names = [i["String"]["sval"] for i in obj.get("List", {}).get("items", []) if "String" in i]
        if names:
            out.append(analyze.RelRef(names[-2] if len(names) > 1 else None, names[-1], -1, None))
    return out


def _drop_tables_per_group(tree: dict[str, Any], kind: str, tables: list[DistTable],
                           groups: list[str]) -> dict[str, str] | None:
    """DROP TABLE of tables on different node sets: each node drops the ones it holds."""
    body = tree[kind]
    if kind != "DropStmt" or body.get("removeType") != "OBJECT_TABLE" or len(tables) < 2:
        return None
    if all(set(t.groups) == set(groups) for t in tables):
        return None
    from gridpg.sql.quote import quote_qualified

    suffix = " CASCADE" if body.get("behavior") == "DROP_CASCADE" else ""
    exists = " IF EXISTS" if body.get("missing_ok") else ""
    out = {}
    for group in groups:
        names = [quote_qualified(t.schema, t.name) for t in tables if group in t.groups]
        out[group] = f"DROP TABLE{exists} {', '.join(names)}{suffix}"
    return out


def _relation_span(sql: str, tokens: list[Any], ref: analyze.RelRef) -> tuple[int, int]:
    """Start and end offsets of a table reference's name (schema-qualified) in the text."""
    start = ref.location
    for i, tok in enumerate(tokens):
        if tok.start == start:
            end_index = i
            if ref.schema:
                end_index = i + 2
            return start, tokens[end_index].end + 1
    raise PgError(UNDEFINED_OBJECT, f'could not locate "{ref.name}" in the statement')


def _schema_qualified_columns(sql: str, tokens: list[Any],
                              tables: set[tuple[str, str]]) -> list[tuple[int, int, str]]:
    """`schema.table.column` references to gathered tables lose the schema (the temp table
    keeps the table's name as its alias)."""
    if not tables:
        return []
    out = []
    try:
        tree = sqlparse.parse_tree(sql)
    except PgError:
        return []
    starts = {tok.start: i for i, tok in enumerate(tokens)}
    for node in analyze._walk(tree):
        if not isinstance(node, dict) or "ColumnRef" not in node:
            continue
        names = [f.get("String", {}).get("sval") for f in node["ColumnRef"]["fields"]]
        if len(names) != 3 or (names[0], names[1]) not in tables:
            continue
        index = starts.get(node["ColumnRef"]["location"])
        if index is None or index + 2 >= len(tokens):
            continue
        out.append((tokens[index].start, tokens[index + 2].start, ""))  # drop "schema."
    return out


def _merge_blocker(body: dict[str, Any], relations: int) -> str | None:
    """Why the sorted merge cannot run this SELECT (or None)."""
    if body.get("groupClause") or body.get("havingClause") or _has_aggregate(body):
        return "aggregates are combined by two-phase aggregation"
    if body.get("windowClause") or any(
        isinstance(n, dict) and "FuncCall" in n and "over" in n["FuncCall"] for n in analyze._walk(body)
    ):
        return "window functions see the whole result"
    distinct = body.get("distinctClause")
    if distinct:  # DISTINCT ON (a list with expressions)
        if any(item for item in distinct):
            return "DISTINCT ON is finished on the coordinator"
    if body.get("lockingClause") or body.get("intoClause") or analyze.has_node(body, "SubLink"):
        return "subqueries or locking"
    targets = body.get("targetList", [])
    names = []
    star = False
    for target in targets:
        res = target["ResTarget"]
        val = res.get("val", {})
        if "ColumnRef" in val and any("A_Star" in f for f in val["ColumnRef"]["fields"]):
            star = True
            continue
        name = res.get("name") or (analyze.column_ref(val) or ("?column?",))[-1]
        names.append(name)
    if star and (relations != 1 or targets and len(targets) > 1):
        return "* over several tables may repeat column names"
    if len(set(names)) != len(names) or "?column?" in names:
        return "output columns need distinct names"
    if not star:
        for item in body.get("sortClause", []):
            node = item["SortBy"]["node"]
            if "A_Const" in node:
                continue
            refs = [analyze.column_ref(n) for n in analyze._walk(node) if isinstance(n, dict) and "ColumnRef" in n]
            if any(ref is None or ref[-1] not in names for ref in refs) or not refs:
                return "ORDER BY uses columns that are not in the output"
    return None


def _constant(node: dict[str, Any] | None) -> int | None:
    if not node:
        return None
    value = analyze.value_of(node)
    if value is None or value.param or value.text is None:
        return None
    try:
        return int(value.text)
    except ValueError:
        return None


def _sort_text(sql: str, body: dict[str, Any]) -> str:
    """The ORDER BY list as written, column references reduced to the bare column name
    (the merged rows come from one temp table holding the output columns)."""
    from pglast import ast, parse_sql
    from pglast.stream import RawStream

    def bare(node: Any) -> None:
        if isinstance(node, ast.ColumnRef) and len(node.fields) > 1:
            node.fields = node.fields[-1:]
            return
        if isinstance(node, ast.Node):
            for attr in node:
                bare(getattr(node, attr))
        elif isinstance(node, tuple):
            for item in node:
                bare(item)

    stmt = parse_sql(sql)[0].stmt
    for item in stmt.sortClause:
        bare(item)
    return ", ".join(str(RawStream()(item)) for item in stmt.sortClause)


_LITERALS = re.compile(r"'(?:[^']|'')*'|(?<![\w$.])\d+(?:\.\d+)?(?![\w.])")


def normalize_literals(sql: str) -> tuple[str, list[str | None]] | None:
    """`sql` with plain string and number literals replaced by $1, $2, ... and their values;
    None when the text holds anything this cannot read safely (parameters, comments,
    backslashes, prefixed strings such as E'' or B'')."""
    if "$" in sql or "--" in sql or "/*" in sql or "\\" in sql:
        return None
    values: list[str | None] = []
    out = []
    pos = 0
    for match in _LITERALS.finditer(sql):
        text = match.group()
        start = match.start()
        if text.startswith("'") and start and (sql[start - 1].isalnum() or sql[start - 1] in "_&"):
            return None
        out.append(sql[pos:start])
        values.append(text[1:-1].replace("''", "'") if text.startswith("'") else text)
        out.append(f"${len(values)}")
        pos = match.end()
    if not values:
        return None
    out.append(sql[pos:])
    return "".join(out), values


def _top_level_keywords(sql: str, tokens: list[Any], words: tuple[str, ...]) -> list[int]:
    """Offsets of the first top-level (not parenthesized) occurrence of each keyword, or -1."""
    found = {w: -1 for w in words}
    depth = 0
    for tok in tokens:
        text = sql[tok.start : tok.end + 1]
        if text == "(":
            depth += 1
        elif text == ")":
            depth -= 1
        elif depth == 0 and text.lower() in found and found[text.lower()] < 0:
            found[text.lower()] = tok.start
    return [found[w] for w in words]


def _splice(sql: str, replacements: list[tuple[int, int, str]]) -> str:
    out = []
    pos = 0
    for start, end, text in sorted(replacements):
        out.append(sql[pos:start])
        out.append(text)
        pos = end
    out.append(sql[pos:])
    return "".join(out)


def _quote(name: str) -> str:
    from gridpg.sql.quote import quote_ident

    return quote_ident(name)


def _rewrite_version(sql: str) -> str:
    """`version()` names gridpg: calls to it are pointed at gridpg.version()."""
    if "version" not in sql.lower():
        return sql
    try:
        toks = sqlparse.tokens(sql)
    except PgError:
        return sql
    replacements = []
    for i, tok in enumerate(toks[:-1]):
        word = sql[tok.start : tok.end + 1]
        if word.lower() == "version" and sql[toks[i + 1].start : toks[i + 1].end + 1] == "(":
            prev = sql[toks[i - 1].start : toks[i - 1].end + 1] if i else ""
            if prev == ".":
                if i >= 2 and sql[toks[i - 2].start : toks[i - 2].end + 1].lower() == "pg_catalog":
                    replacements.append((toks[i - 2].start, tok.end + 1, "gridpg.version"))
                continue
            replacements.append((tok.start, tok.end + 1, "gridpg.version"))
    return _splice(sql, replacements)


