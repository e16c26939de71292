"""The planner's entry: statement in, `Plan` out. Pure: no I/O, no asyncio.

`Planner.plan(sql, catalog, session, params)` reads the statement once per text, search_path
and catalog epoch (cached: what kind of statement it is, its tables, the router's pinning
values; statements with inlined literals are also cached under their literal-free form,
the pins read from the literals) and returns the plan the executor runs:

- no distributed table: `CatalogPlan` (the statement goes to the catalog server);
- DDL and other utilities: planner/utility.py;
- INSERT, MERGE: `InsertPlan`, `MergeStatementPlan` (planner/writes.py);
- SELECT, UPDATE, DELETE: the strategies of planner/query.py, in their declared order.

Views over distributed tables are inlined (their definitions come with the `CatalogView`),
since the catalog server holds the tables empty.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from gridpg.catalog.model import CatalogSnapshot, DistTable
from gridpg.errors import FEATURE_NOT_SUPPORTED, INTERNAL_ERROR, PgError
from gridpg.planner import (
    alias_columns,
    analyze,
    catalog_oids,
    matview,
    modifying_cte,
    node_values,
    prepared,
    qualnames,
    replicas,
    router,
    row_ids,
    rules,
    scope,
    shard_route,
    tableoid,
    tempnames,
)
from gridpg.planner.aggregate import two_phase
from gridpg.planner.calls import function_call, sequence_call
from gridpg.planner.cluster_views import view_refs
from gridpg.planner.context import BoundParams, CatalogView, SessionView, resolve
from gridpg.planner.merge import sorted_merge
from gridpg.planner.plan import (
    CatalogCheckPlan,
    CatalogPlan,
    ClusterViewPlan,
    DistributedPlan,
    Fragment,
    FunctionCallPlan,
    InsertPlan,
    MaterializedViewPlan,
    ModifyingCtePlan,
    NotApplicable,
    Plan,
    PushdownPlan,
    RulesPlan,
    ScratchNames,
    SequenceCallPlan,
    SessionStatementPlan,
    Strategy,
    XlCommandPlan,
)
from gridpg.planner.pushdown import Resolved
from gridpg.planner.query import plan_query
from gridpg.planner.text import normalize_literals, quote, relation_span, rewrite_version, splice
from gridpg.planner.utility import plan_utility
from gridpg.planner.writes import merge_statement, updates_column
from gridpg.sql import parse as sqlparse
from gridpg.sql.xl import extract_distribution, parse_xl_command

log = logging.getLogger(__name__)

CATALOG_ONLY = {
    "VariableShowStmt", "PrepareStmt", "ExecuteStmt", "DeallocateStmt", "ListenStmt",
    "NotifyStmt", "UnlistenStmt", "DiscardStmt", "DeclareCursorStmt", "FetchStmt",
    "ClosePortalStmt", "CheckPointStmt", "DoStmt", "CallStmt", "LoadStmt",
    "ConstraintsSetStmt", "LockStmt", "VariableSetStmt",
}
QUERY_KINDS = {"SelectStmt", "InsertStmt", "UpdateStmt", "DeleteStmt", "MergeStmt"}
CACHE_LIMIT = 20000
# Statements longer than this (characters) skip the literal-free analysis (`_normalized`):
# it spares OLTP statements a parse; a multi-row VALUES list it only parses twice.
NORMALIZED_LIMIT = 16384
NO_PARAMS = BoundParams()


@dataclass
class Analysis:
    """A statement read once: its route and, for queries, tree, kind and tables."""

    route: str  # catalog | xl | version | query | utility | function | sequence | cluster_view
    clean: str = ""
    spec: Any = None
    tree: dict[str, Any] = field(default_factory=dict)
    kind: str = ""
    resolved: list[Resolved] = field(default_factory=list)
    router: router.RouterSpec | Any = None
    xl: Any = None
    sql: str | None = None  # the text to run when it differs from the client's (views inlined)
    view_sql: str | None = None  # the client's text, whose views `sql` inlined (see _through_views)
    literals: list[str | None] | None = None  # values of $n in a normalized form
    # an expression whose value would be a datanode's OID (planner/catalog_oids.py), read
    # without the parameters' values
    oid_use: str | None = None
    writes: bool = False


class Planner:
    """Plans statements for all sessions of a coordinator; holds only its cache."""

    def __init__(self) -> None:
        self.cache: dict[Any, Any] = {}

    def invalidate(self) -> None:
        """Forget every cached analysis (the catalog epoch changed)."""
        self.cache.clear()

    def plan(self, sql: str, catalog: CatalogView, session: SessionView,
             params: BoundParams = NO_PARAMS, simple: bool = False) -> Plan:
        """The plan of one execution of `sql` with these parameter values.

        A defect of the planner itself (any exception but PgError and RecursionError) fails
        the statement with XX000, as PostgreSQL's elog(ERROR) does: planning sends nothing,
        so the session and its transaction go on as after any failed statement. Before, it
        reached the session's loop, which closed the client's connection."""
        try:
            return self._plan(sql, catalog, session, params, simple)
        except (PgError, RecursionError):
            raise
        except Exception as exc:
            log.exception("planning failed: %.2000s", sql)
            raise PgError(INTERNAL_ERROR, f"internal error in gridpg's planner ({type(exc).__name__})",
                          detail="The statement was not run; the coordinator's log has the details.") from None

    def _plan(self, sql: str, catalog: CatalogView, session: SessionView,
              params: BoundParams, simple: bool) -> Plan:
        if catalog.rules:
            ruled = self.rules_plan(sql, catalog, session)
            if ruled is not None:
                return ruled
            refusal = rules.merge_refusal(sql, catalog.rules, self._rule_relation(catalog, session, tables_only=True),
                                          session.replica)
            if refusal is not None:
                raise refusal
        analysis = self.analysis(sql, catalog, session, simple)
        if analysis.literals is not None:
            routed = self._routed_by_literals(sql, analysis, catalog)
            if routed is not None:
                return routed
            analysis = self._analyze(sql, catalog, session)
        run_sql = analysis.sql if analysis.sql is not None else sql
        if analysis.route == "catalog":
            return CatalogPlan()
        if analysis.route == "version":
            return CatalogPlan(rewrite_version(run_sql))
        if analysis.route == "xl":
            return XlCommandPlan(analysis.xl)
        if analysis.route == "function":
            return FunctionCallPlan(analysis.xl[0], tuple(analysis.xl[1]))
        if analysis.route == "cluster_view":
            return ClusterViewPlan(tuple(analysis.xl))
        if analysis.route == "sequence":
            return SequenceCallPlan(analysis.xl[0], analysis.xl[1], tuple(analysis.xl[2]))
        if analysis.route == "session":
            return SessionStatementPlan(analysis.kind, analysis.tree)
        if analysis.route == "query":
            return self._plan_query(run_sql, analysis, catalog, session, params)
        if analysis.route == "view_write" and analysis.kind == "MergeStmt":
            return _merge_through_view(run_sql, analysis, catalog)
        if analysis.route == "view_write" and analysis.kind == "InsertStmt":
            view, table = analysis.xl
            return InsertPlan(run_sql, analysis.tree, (), through_view=view, view_table=table)
        if analysis.route == "view_write" and (len(refs := analyze.relations(analysis.tree)) > 1
                                                or analyze.has_node(analysis.tree, "SubLink")):
            return _write_through_view_reading(run_sql, analysis, refs, catalog, session)
        if analysis.route == "view_write":
            view, table = analysis.xl
            return PushdownPlan(tuple(Fragment(g, run_sql) for g in table.groups), True,
                                replicated=table.method == "replication", through_view=view)
        if analysis.route == "matview":
            return MaterializedViewPlan(analysis.clean, analysis.tree, analysis.spec)
        if analysis.route == "modifying_cte":
            steps = modifying_cte.plan_steps(analysis.clean)
            return ModifyingCtePlan(steps=steps.steps, main=steps.main, head=steps.head, tail=steps.tail)
        return plan_utility(analysis.clean, analysis.tree, analysis.kind, analysis.spec, catalog, session)

    def _plan_query(self, sql: str, analysis: Analysis, catalog: CatalogView, session: SessionView,
                    params: BoundParams) -> Plan:
        """A query's plan. Multi-node plans are cached per text, search_path and the set of
        nodes the parameter values pin (the only thing they take from the values): they
        hold scratch placeholders, not names, so one plan serves every execution."""
        tree, kind, resolved = analysis.tree, analysis.kind, analysis.resolved
        if kind == "InsertStmt" and resolved[0].table is None:
            return CatalogCheckPlan(_not_distributed_target(kind, resolved[0].ref))
        if analysis.oid_use is not None and (kind != "SelectStmt" or analysis.writes):
            # a parameter's value may make it a name (stored into a column of OIDs)
            catalog_oids.ensure_no_hazard(tree, kind, oid_tables(resolved), catalog.snapshot, params)
        if kind == "InsertStmt":
            scope.ensure_references_visible(tree)  # INSERT ... SELECT may be rewritten
            return InsertPlan(sql, tree, tuple(resolved))
        if kind in ("UpdateStmt", "DeleteStmt", "MergeStmt") and resolved[0].table is None:
            return CatalogCheckPlan(_not_distributed_target(kind, resolved[0].ref))
        if kind in ("UpdateStmt", "DeleteStmt", "MergeStmt"):
            target = resolved[0].table
            assert target is not None
            body = {k: v for k, v in tree[kind].items() if k not in ("returningClause", "returningList")}
            replicas.ensure_same_on_every_replica(body, target, kind[:-4].upper(),
                                                  catalog.snapshot.volatile_functions)
        if kind == "MergeStmt":
            return merge_statement(sql, tree["MergeStmt"], resolved)
        pinned = None
        if isinstance(analysis.router, router.RouterSpec):
            pinned = router.pinned_set(analysis.router, catalog.snapshot, params)
            routed = router.decide(sql, analysis.router, pinned)
            if isinstance(routed, DistributedPlan):
                return _through_views(routed, sql, analysis.view_sql)
        row_ids.ensure_no_row_identity(sql, tree[kind], kind, resolved, catalog.snapshot)
        target_pinned = None
        if kind in ("UpdateStmt", "DeleteStmt"):
            # the nodes the target's own WHERE pins its rows to (query.QueryContext.target_pinned)
            target = router.target_spec(tree[kind], resolved)
            target_pinned = router.pinned_set(target, catalog.snapshot, params) if target is not None else None
        # (`view_sql` too: two views of one definition inline to one text, and the plan
        # carries the client's own, whose rights owners_rights checks and whose text the
        # nodes run; a plan cached for the other view's text checked the wrong view)
        key = ("plan", sql, analysis.view_sql, session.search_path, frozenset(pinned) if pinned else None,
               frozenset(target_pinned) if target_pinned else None)
        cached = self.cache.get(key) if catalog.cacheable else None
        if cached is not None:
            return cached  # type: ignore[no-any-return]
        scope.ensure_references_visible(tree)  # the strategies below rewrite the FROM list
        plan = dataclasses.replace(plan_query(sql, tree, kind, resolved, catalog.snapshot, params), sql=sql)
        plan = _through_views(plan, sql, analysis.view_sql)
        if catalog.cacheable:
            if len(self.cache) > CACHE_LIMIT:
                self.cache.clear()
            self.cache[key] = plan
        return plan

    def _routed_by_literals(self, sql: str, analysis: Analysis, catalog: CatalogView) -> Plan | None:
        """The router's plan for a statement read in its literal-free form, or None."""
        assert isinstance(analysis.router, router.RouterSpec) and analysis.literals is not None
        params = BoundParams.from_texts(analysis.literals)
        routed = router.route(sql, analysis.router, catalog.snapshot, params)
        return routed if isinstance(routed, DistributedPlan) else None

    @staticmethod
    def group_for_value(table: DistTable, text: str | None, snapshot: CatalogSnapshot) -> str | None:
        """The datanode group holding rows whose distribution column has this text value."""
        return router.group_for_value(table, text, snapshot)

    @staticmethod
    def resolve(snapshot: CatalogSnapshot, ref: analyze.RelRef,
                search_path: tuple[str, ...] | list[str]) -> DistTable | None:
        """The distributed table a reference names under this search_path, or None."""
        return resolve(snapshot, ref, search_path)

    # -- reading a statement -----------------------------------------------------------

    def analysis(self, sql: str, catalog: CatalogView, session: SessionView,
                 simple: bool = False) -> Analysis:
        """What a statement is and which tables it touches, cached per text and catalog epoch
        (and, for statements with literals, per literal-free form: see _normalized)."""
        key = None
        if catalog.cacheable:
            key = (sql, session.search_path)
            cached = self.cache.get(key)
            if cached is not None:
                return cached  # type: ignore[no-any-return]
            if simple:
                normalized = self._normalized(sql, catalog, session)
                if normalized is not None:
                    return normalized
        analysis = self._analyze(sql, catalog, session)
        if key is not None:
            if len(self.cache) > CACHE_LIMIT:
                self.cache.clear()
            self.cache[key] = analysis
        return analysis

    def fires_rules(self, sql: str, catalog: CatalogView, session: SessionView) -> bool:
        """Whether `sql` writes a table whose rules write or notify: never sent to one node
        as it stands (the prepared and literal-free fast paths ask)."""
        return bool(catalog.rules) and self._rules_target(sql, catalog, session) is not None

    def _rules_target(self, sql: str, catalog: CatalogView, session: SessionView) -> Any:
        return rules.target_rules(sql, catalog.rules_marker, catalog.rules, self._rule_relation(catalog, session),
                                  session.replica)

    @staticmethod
    def _rule_relation(catalog: CatalogView, session: SessionView,
                       tables_only: bool = False) -> Callable[[str | None, str], Any]:
        """(schema, name) of the table or view a write names, as catalog.rules keys them
        (`tables_only`: None for a view; a MERGE into a view with rules is the rewriter's
        55000, which the datanodes' copies of the view give)."""
        def relation(schema: str | None, name: str) -> tuple[str, str] | None:
            ref = analyze.RelRef(schema, name, 0, None)
            table = catalog.resolve(ref, session.search_path)
            if table is not None:
                return table.schema, table.name
            if tables_only:
                return None
            view = _view_entry(ref, catalog, session.search_path)
            return view[0] if view is not None else None

        return relation

    def rules_plan(self, sql: str, catalog: CatalogView, session: SessionView) -> RulesPlan | None:
        """The plan of a write whose table has rules that write or notify (planner/rules.py),
        None for any other statement."""
        found = self._rules_target(sql, catalog, session)
        if found is None:
            return None
        stmt, table_rules, firing = found
        def key_of(schema: str | None, name: str) -> str | None:
            table = catalog.resolve(analyze.RelRef(schema, name, 0, None), session.search_path)
            if table is None or table.method != "hash" or table.column_type not in rules.IDENTITY_EQUALITY:
                return None
            return table.column

        expansion = rules.expand(stmt, table_rules, firing, sql, key_of)
        return RulesPlan(expansion.steps, expansion.original, expansion.tag_step, expansion.tag,
                         (table_rules.schema, table_rules.table))

    def prepared_router(self, sql: str, catalog: CatalogView,
                        session: SessionView) -> router.RouterSpec | None:
        """The router spec of a statement that `plan` would send whole to the node its
        values pin (a SELECT/UPDATE/DELETE without views), for the executor's prepared fast
        path (executor/routed.py); None when it takes another route."""
        analysis = self.analysis(sql, catalog, session)
        if analysis.route != "query" or analysis.sql is not None or analysis.literals is not None:
            return None
        if analysis.kind not in ("SelectStmt", "UpdateStmt", "DeleteStmt"):
            return None
        if analysis.kind != "SelectStmt" and self.fires_rules(sql, catalog, session):
            return None
        return analysis.router if isinstance(analysis.router, router.RouterSpec) else None

    def shard_text(self, sql: str, table: DistTable, catalog: CatalogView,
                   session: SessionView) -> shard_route.ShardText | str:
        """A routed statement's text ready to name `table`'s shard (planner/shard_route.py),
        or why it may not."""
        analysis = self.analysis(sql, catalog, session)
        if analysis.route != "query" or analysis.sql is not None or analysis.literals is not None:
            return "not a plain query"
        return shard_route.shard_text(sql, analysis.tree, analysis.kind, analysis.resolved, table)

    def _normalized(self, sql: str, catalog: CatalogView, session: SessionView) -> Analysis | None:
        """The analysis of the statement with its literals as parameters, when that answers
        (catalog statements, and router pins read from the literals). Literals change every
        time a client inlines its values (the simple protocol): this spares the parse."""
        if len(sql) > NORMALIZED_LIMIT:
            return None  # (a bulk statement: no router pin to read, and a second parse of it)
        form = normalize_literals(sql)
        if form is None:
            return None
        text, literals = form
        key = ("normalized", text, session.search_path)
        analysis = self.cache.get(key, False)
        if analysis is False:
            try:
                analysis = self._analyze(text, catalog, session)
            except PgError:
                analysis = None
            if analysis is not None and not (
                analysis.route == "catalog"
                or (analysis.route == "query" and analysis.sql is None
                    and isinstance(analysis.router, router.RouterSpec))
            ):
                analysis = None
            self.cache[key] = analysis
        if analysis is None:
            return None
        if analysis.route == "catalog":
            return analysis
        return dataclasses.replace(analysis, literals=literals)

    def _analyze(self, sql: str, catalog: CatalogView, session: SessionView) -> Analysis:
        xl = parse_xl_command(sql)
        if xl is not None:
            return Analysis("xl", xl=xl)
        clean, spec = extract_distribution(sql)
        tree = sqlparse.parse_tree(clean)
        kind = sqlparse.node_type(tree)
        if kind == "SelectStmt" and _select_into(tree["SelectStmt"]):
            clean = _select_into_as_create_table(clean)
            tree = sqlparse.parse_tree(clean)
            kind = sqlparse.node_type(tree)
        if kind == "SelectStmt":
            call = function_call(tree)
            if call is not None:
                return Analysis("function", clean, spec, tree, kind, xl=call)
            seq = sequence_call(tree)
            if seq is not None:
                return Analysis("sequence", clean, spec, tree, kind, xl=seq)
            views = view_refs(analyze.relations(tree)) if "gridpg_" in clean else []
            if views:
                return Analysis("cluster_view", clean, spec, tree, kind, xl=views)
        if kind in QUERY_KINDS:
            return self._analyze_query(sql, clean, spec, tree, kind, catalog, session)
        # (a PREPAREd one is planned at each EXECUTE, as the statement itself: in steps)
        if kind in _WRAPPING_KINDS and kind != "PrepareStmt" and analyze.has_modifying_cte(tree) \
                and touches_distributed(tree, catalog, session):
            if kind == "CreateTableAsStmt" and tree[kind].get("objtype") == "OBJECT_TABLE" and spec is None:
                return Analysis("modifying_cte", clean, spec, tree, kind)  # (planner/modifying_cte.py)
            _refuse_modifying_cte()
        if kind == "CreateTableAsStmt" and tree[kind].get("objtype") == "OBJECT_MATVIEW":
            if touches_distributed(tree, catalog, session):
                if spec is not None:
                    raise PgError(FEATURE_NOT_SUPPORTED, "a materialized view over distributed tables "
                                  "takes no DISTRIBUTE BY clause: it is replicated to every datanode")
                return Analysis("matview", clean, spec, tree, kind)
            return Analysis("utility", clean, spec, tree, kind)
        if kind == "RefreshMatViewStmt":
            rel = tree[kind]["relation"]
            ref = analyze.RelRef(rel.get("schemaname"), rel["relname"], 0, None)
            table = catalog.resolve(ref, session.search_path)
            if table is not None and catalog.snapshot.is_matview(table):
                return Analysis("matview", clean, spec, tree, kind)
            if tree[kind].get("concurrent"):
                # a catalog server's own view: CONCURRENTLY's temp table would keep the
                # statement's 2PC from preparing (0A000); matview.refresh runs the plain form
                return Analysis("matview", clean, spec, tree, kind)
        if prepared.is_session_statement(tree, kind) or (
                kind == "DeclareCursorStmt" and touches_distributed(tree, catalog, session)):
            return Analysis("session", clean, spec, tree, kind)
        if kind == "ListenStmt":
            # A session's LISTEN is carried out before planning (frontend/notify.py). One
            # that reaches the planner would run on a pooled catalog connection, which goes
            # back to the pool: it would succeed and every notification be lost.
            raise PgError(FEATURE_NOT_SUPPORTED, "LISTEN is not supported here by gridpg: "
                          "notifications could not be delivered")
        if kind in CATALOG_ONLY or not kind:
            return Analysis("catalog")
        return Analysis("utility", clean, spec, tree, kind)

    def _analyze_query(self, sql: str, clean: str, spec: Any, tree: dict[str, Any], kind: str,
                       catalog: CatalogView, session: SessionView) -> Analysis:
        inlined = inline_views(sql, tree, catalog, session)
        if inlined is not None:
            analysis = self._analyze(inlined, catalog, session)
            if analysis.route == "query" and kind == "SelectStmt" and (
                    analysis.sql is None or analysis.view_sql is not None):
                analysis.view_sql = sql  # the client's own text (views in views: the outermost)
            analysis.sql = analysis.sql or inlined
            return analysis
        refs = analyze.relations(tree)
        resolved = [Resolved(r, catalog.resolve(r, session.search_path)) for r in refs]
        matview.ensure_readable(tree, kind, resolved, catalog.snapshot)
        view_write = write_through_view(tree, kind, refs, catalog, session)
        if view_write is not None:
            return Analysis("view_write", clean, spec, tree, kind, xl=view_write)
        if not any(r.table is not None for r in resolved):
            if analyze.has_node(tree, "FuncCall") and rewrite_version(sql) != sql:
                return Analysis("version")
            return Analysis("catalog")
        unqualified = qualnames.rewrite(sql, tree)
        if unqualified is not None:  # `schema.table.col` -> `table.col` (scratch copies keep the name)
            analysis = self._analyze(unqualified, catalog, session)
            analysis.sql = analysis.sql or unqualified
            return analysis
        versioned = rewrite_version(sql, inline=True)
        if versioned != sql:  # the datanodes have no gridpg.version(): its expression, there
            analysis = self._analyze(versioned, catalog, session)
            analysis.sql = analysis.sql or versioned
            return analysis
        if kind in ("SelectStmt", "InsertStmt", "UpdateStmt", "DeleteStmt", "MergeStmt"):
            unaliased = alias_columns.rewrite(sql, tree, resolved)
            if unaliased is not None:  # `t AS x(a, b)` -> `(SELECT * FROM t) AS x(a, b)`
                analysis = self._analyze(unaliased, catalog, session)
                analysis.sql = analysis.sql or unaliased
                return analysis
            mapped = tableoid.rewrite(sql, tree)
            if mapped is not None:
                analysis = self._analyze(mapped, catalog, session)
                analysis.sql = analysis.sql or mapped
                return analysis
        if kind in ("UpdateStmt", "DeleteStmt") and analyze.has_node(tree, "CurrentOfExpr"):
            raise PgError(FEATURE_NOT_SUPPORTED, "WHERE CURRENT OF on a distributed table is not "
                          "supported by gridpg (a cursor's current row is not tracked to its "
                          "datanode and shard)", hint="name the row by its key: WHERE id = ...")
        if analyze.has_modifying_cte(tree):
            return Analysis("modifying_cte", clean, spec, tree, kind)
        body = tree[kind]
        writes = kind != "SelectStmt" or analyze.has_node(tree, "lockingClause")
        spec_router = None
        target = resolved[0].table if kind in ("UpdateStmt", "DeleteStmt") else None
        moves = target is not None and target.column is not None and kind == "UpdateStmt" \
            and updates_column(body, target.column)
        node_values.ensure_none(tree, kind)
        oid_use = None
        if any(r.table is not None and catalog.snapshot.reg_columns_of(r.table.schema, r.table.name)
               for r in resolved) or catalog_oids.may_use_oids(sql):
            oid_use = catalog_oids.hazard(tree, kind, oid_tables(resolved), catalog.snapshot)
        if oid_use is not None:
            spec_router = NotApplicable(Strategy.ROUTER, f"{oid_use}: the catalog server's OIDs are needed")
        elif kind not in ("InsertStmt", "MergeStmt") and not moves:
            spec_router = router.static(body, resolved, writes)
        return Analysis("query", clean, spec, tree, kind, resolved, spec_router, oid_use=oid_use, writes=writes)


def oid_tables(resolved: list[Resolved]) -> list[tuple[str, str, str]]:
    """(exposed name, schema, name) of each distributed table reference."""
    return [(r.ref.alias or r.ref.name, r.table.schema, r.table.name) for r in resolved if r.table is not None]


def _not_distributed_target(kind: str, target: analyze.RelRef) -> str:
    """The refusal of an INSERT/UPDATE/DELETE/MERGE whose target is not a distributed table (temp tables
    are served before planning) while it reads distributed ones: run on the catalog server
    it would read their empty copies. A target that does not exist, or a view PostgreSQL
    cannot update, gets PostgreSQL's error first (CatalogCheckPlan)."""
    verb = {"InsertStmt": "INSERT into", "UpdateStmt": "UPDATE of", "DeleteStmt": "DELETE of"}.get(kind, "MERGE of")
    return (f'{verb} "{target.name}", which is not a distributed table, reading distributed tables '
            "is not supported by gridpg")


def _select_into(body: dict[str, Any]) -> bool:
    """`SELECT ... INTO [UNLOGGED] t`: the INTO clause sits on the first leaf of a set
    operation. A temp target is left as it is (the session's temp-table path serves it)."""
    while body.get("op", "SETOP_NONE") != "SETOP_NONE":
        body = body["larg"]
    into = body.get("intoClause")
    return bool(into) and not tempnames.is_temp_relation(into.get("rel", {}))


def _select_into_as_create_table(sql: str) -> str:
    """`SELECT ... INTO t ...` as the `CREATE TABLE t AS SELECT ...` PostgreSQL's parser
    makes of it: run as a query, it created `t` on this coordinator's catalog server alone
    (no rows on the datanodes, unknown to the other coordinators)."""
    from pglast import ast, enums
    from pglast.stream import RawStream

    from gridpg.sql.parse import parse_sql

    stmt = parse_sql(sql)[0].stmt
    leaf = stmt
    while leaf.op != enums.SetOperation.SETOP_NONE:
        leaf = leaf.larg
    into, leaf.intoClause = leaf.intoClause, None
    return str(RawStream()(ast.CreateTableAsStmt(query=stmt, into=into, objtype=enums.ObjectType.OBJECT_TABLE,
                                                 is_select_into=True)))


# statements that carry a query of their own
_WRAPPING_KINDS = ("ExplainStmt", "CopyStmt", "DeclareCursorStmt", "PrepareStmt", "CreateTableAsStmt")


def _refuse_modifying_cte() -> None:
    """Each part of a data-modifying WITH would need its own plan and all of them one
    snapshot; planned as one query its writes reached gathered copies only, silently."""
    raise PgError(FEATURE_NOT_SUPPORTED, "a data-modifying WITH over distributed tables "
                  "is not supported by gridpg yet",
                  hint="run the INSERT/UPDATE/DELETE ... RETURNING as a statement of its own")


# -- views -----------------------------------------------------------------------------


def touches_distributed(tree: dict[str, Any], catalog: CatalogView, session: SessionView) -> bool:
    """Whether the statement reads a distributed table, directly or through a view."""
    for ref in analyze.relations(tree):
        if catalog.resolve(ref, session.search_path) is not None:
            return True
        definition = _view_definition(ref, catalog, session.search_path)
        if definition is not None and _reads_distributed(definition, catalog, 0):
            return True
    return False


def inline_views(sql: str, tree: dict[str, Any], catalog: CatalogView, session: SessionView,
                 wanted: Callable[[str], bool] | None = None) -> str | None:
    """The statement with views over distributed tables (or, with `wanted`, the views whose
    definition it accepts) replaced by their definitions (the catalog server holds those
    tables empty, so it cannot answer for a view)."""
    if not catalog.views:
        return None
    target = analyze._dml_target(tree)
    replacements = []
    tokens = None
    for ref in analyze.relations(tree):
        if ref.location == target or catalog.resolve(ref, session.search_path) is not None:
            continue
        definition = _view_definition(ref, catalog, session.search_path)
        if definition is None or not (wanted(definition) if wanted else _reads_distributed(definition, catalog, 0)):
            continue
        tokens = tokens or sqlparse.tokens(sql)
        start, end = relation_span(sql, tokens, ref)
        alias = "" if ref.alias else f" AS {quote(ref.name)}"
        replacements.append((start, end, f"({definition}){alias}"))
    return splice(sql, replacements) if replacements else None


def _through_views(plan: DistributedPlan, inlined: str, view_sql: str | None) -> DistributedPlan:
    """A SELECT whose views were inlined to plan it runs the client's own text on the
    datanodes where the plan runs the statement whole there (router, pushdown) or splits
    it for two-phase aggregation: the views exist on the datanodes too, so PostgreSQL
    resolves them there as on one server: the view owner's rights on its tables (a role
    granted only the view can read it), security_invoker views, current_user. Other plans
    read the tables themselves and keep the client's text (`view_sql`): the executor then
    checks the client's rights on the catalog server and reads with the rights the view
    owners' give (executor/view_rights.py)."""
    if view_sql is None:
        return plan
    if plan.strategy in (Strategy.ROUTER, Strategy.PUSHDOWN) and all(f.sql == inlined for f in plan.fragments):
        return dataclasses.replace(plan, fragments=tuple(Fragment(f.group, view_sql) for f in plan.fragments))
    groups = [f.group for f in plan.fragments]
    replanned: DistributedPlan | NotApplicable | None = None
    if plan.strategy is Strategy.TWO_PHASE:
        replanned = two_phase(view_sql, groups, ScratchNames(view_sql))
    elif plan.strategy is Strategy.MERGE:
        tree = sqlparse.parse_tree(view_sql)
        refs = [Resolved(r, None) for r in analyze.relations(tree)]
        replanned = sorted_merge(view_sql, tree["SelectStmt"], refs, groups, ScratchNames(view_sql))
    if isinstance(replanned, DistributedPlan) and replanned.strategy is plan.strategy:
        return dataclasses.replace(replanned, reasons=plan.reasons, sql=plan.sql, writes=plan.writes)
    return dataclasses.replace(plan, view_sql=view_sql)


def write_through_view(tree: dict[str, Any], kind: str, refs: list[analyze.RelRef], catalog: CatalogView,
                        session: SessionView) -> tuple[tuple[str, str], DistTable] | None:
    """((schema, view), table) for an INSERT/UPDATE/DELETE whose target is an automatically
    updatable view over one distributed table: the views exist on the datanodes too, so the
    statement runs there on every node of the table, PostgreSQL resolving the view (its
    conditions, column names, CHECK OPTION). Other writes to views over distributed tables
    would change the catalog server's empty copy: refused. None: the target is no such view."""
    if kind not in ("InsertStmt", "UpdateStmt", "DeleteStmt", "MergeStmt"):
        return None
    target = analyze._dml_target(tree)
    ref = next((r for r in refs if r.location == target), None)
    if ref is None or catalog.resolve(ref, session.search_path) is not None:
        return None
    entry = _view_entry(ref, catalog, session.search_path)
    if entry is None or not _reads_distributed(entry[1], catalog, 0):
        return None
    key, definition = entry
    table, _ = _view_stack(definition, catalog)
    if table is None and kind == "InsertStmt":
        # an INSERT evaluates no view condition but a CHECK OPTION's: subqueries reading
        # other distributed tables do not matter without one (view_insert checks there is none)
        table, _ = _view_stack(definition, catalog, reads_anything=True)
    if table is not None:
        _ensure_no_table_rules(kind, ref.name, table, catalog)
    if kind == "MergeStmt" and table is not None:
        return key, table  # its source may read anything: staged (_merge_through_view)
    if kind in ("UpdateStmt", "DeleteStmt", "InsertStmt") and table is not None \
            and not analyze.has_node(tree, "SubLink") and len(refs) == 1:
        return key, table  # INSERT: executor/view_insert.py (VALUES only, routed per row)
    if kind in ("UpdateStmt", "DeleteStmt") and table is not None and table.method != "replication" \
            and _reads_tables_only(tree[kind], refs, ref, catalog, session):
        return key, table  # FROM/USING, sub-selects: the tables broadcast (Planner.plan)
    if kind == "InsertStmt" and table is not None and _selected_first(tree[kind]):
        return key, table  # its SELECT run first, its rows then as VALUES (view_insert._selected_rows)
    verb = kind.removesuffix("Stmt").upper()
    raise PgError(FEATURE_NOT_SUPPORTED,
                  f'gridpg cannot {verb} through view "{ref.name}" over distributed tables',
                  hint="write the view's table directly (gridpg runs INSERT ... VALUES or SELECT, UPDATE "
                       "and DELETE of a view over one distributed table, without FROM/USING or subqueries)")


def _ensure_no_table_rules(kind: str, view: str, table: DistTable, catalog: CatalogView) -> None:
    """0A000 for a write through a view whose table has rules the coordinator applies (an
    action that writes or notifies, planner/rules.py) for the event: they are kept off the
    datanodes, where PostgreSQL resolves the view, so the write would pass them by (a DELETE
    under `ON DELETE DO INSTEAD UPDATE ... SET deleted = true` deleted the row). PostgreSQL
    refuses MERGE into a table with any rule (0A000) itself."""
    rules = catalog.rules.get(table.key)
    if rules is None:
        return
    verb = kind.removesuffix("Stmt").upper()
    events = ("insert", "update", "delete") if kind == "MergeStmt" else (verb.lower(),)
    firing = [r.name for event in events for r in rules.firing(event)]
    if firing:
        raise PgError(FEATURE_NOT_SUPPORTED,
                      f'gridpg cannot {verb} through view "{view}": table {table.schema}.{table.name} '
                      f"has rules the coordinator applies ({', '.join(sorted(firing))}), which a write "
                      "through the view would pass by", hint="write the view's table directly")


def _reads_tables_only(body: dict[str, Any], refs: list[analyze.RelRef], target: analyze.RelRef,
                       catalog: CatalogView, session: SessionView) -> bool:
    """An UPDATE/DELETE through a view whose FROM/USING and sub-selects read distributed
    tables only (no WITH, no other view, the view itself nowhere else, no table of the
    catalog server alone): copied whole to the view's nodes, each node's PostgreSQL then
    writes through the view as one server would."""
    if body.get("withClause"):
        return False
    return all(catalog.resolve(r, session.search_path) is not None for r in refs if r is not target)


def _selected_first(body: dict[str, Any]) -> bool:
    """An INSERT ... SELECT (not VALUES) whose SELECT, with the INSERT's WITH of plain
    queries, the coordinator can run first: nothing else of it (ON CONFLICT, RETURNING)
    reads another relation, which would be read on each node over its own rows."""
    select = (body.get("selectStmt") or {}).get("SelectStmt")
    if select is None or select.get("valuesLists"):
        return False
    ctes = (body.get("withClause") or {}).get("ctes") or []
    if any("SelectStmt" not in (c.get("CommonTableExpr", {}).get("ctequery") or {}) for c in ctes):
        return False  # a data-modifying WITH runs with the INSERT, not before it
    return not analyze.has_node({k: v for k, v in body.items() if k not in ("selectStmt", "withClause")}, "SubLink")


def _write_through_view_reading(sql: str, analysis: Analysis, refs: list[analyze.RelRef],
                                catalog: CatalogView, session: SessionView) -> Plan:
    """An UPDATE/DELETE through an automatically updatable view over one distributed table
    that reads other distributed tables (FROM, USING, sub-selects): they are broadcast to
    the view's nodes and the statement runs there as written (planner/writes.py)."""
    from gridpg.planner.writes import multi_node_write

    view, table = analysis.xl
    location = analyze._dml_target(analysis.tree)
    target = next(r for r in refs if r.location == location)
    resolved = [Resolved(target, table)] + [Resolved(r, catalog.resolve(r, session.search_path))
                                            for r in refs if r is not target]
    plan = multi_node_write(sql, analysis.tree[analysis.kind], resolved, [], catalog.snapshot, through_view=True)
    return dataclasses.replace(plan, through_view=view)


def _merge_through_view(sql: str, analysis: Analysis, catalog: CatalogView) -> Plan:
    """A MERGE into an automatically updatable view over one distributed table: staged on
    the table's nodes, keyed by the view column that shows its distribution column,
    PostgreSQL resolving the view on each node (planner/merge_staged.py)."""
    from gridpg.planner.merge_staged import staged_merge

    view, table = analysis.xl
    body = {k: v for k, v in analysis.tree["MergeStmt"].items() if k not in ("returningClause", "returningList")}
    replicas.ensure_same_on_every_replica(body, table, "MERGE", catalog.snapshot.volatile_functions)
    shown = tuple(sorted(_view_columns_showing(catalog.views[view], table.column, catalog))) \
        if table.column else ()
    return staged_merge(sql, table, through_view=view, shown_as=shown)


def _view_columns_showing(definition: str, column: str, catalog: CatalogView) -> set[str]:
    """The names of a view's columns that show `column` of the table below it (through
    the views between, each reading one relation)."""
    wanted = {column}
    for select in reversed(_view_stack(definition, catalog)[1]):  # from the table up
        shown = set()
        for target in select.get("targetList") or []:
            res = target["ResTarget"]
            ref = analyze.column_ref(res.get("val", {}))
            if ref and ref[-1] in wanted:
                shown.add(res.get("name") or ref[-1])
        wanted = shown
    return wanted


def _view_stack(definition: str, catalog: CatalogView,
                reads_anything: bool = False) -> tuple[DistTable | None, list[dict[str, Any]]]:
    """(the one distributed table a view reads, directly or through views that each read
    one relation, None when there is none; the stack's SELECTs, the view's own first).
    PostgreSQL writes through such a stack level by level, on the datanodes as on one
    server. A level may also read REPLICATION tables in its subqueries (a WITH CHECK
    OPTION's `EXISTS (SELECT ... FROM ref)`): each datanode holds all their rows, so
    PostgreSQL there decides as on one server. `reads_anything`: its subqueries may read
    any distributed tables (an INSERT through a stack without CHECK OPTION evaluates them
    nowhere)."""
    selects: list[dict[str, Any]] = []
    below: str | None = definition
    while below is not None and len(selects) <= 16:
        select = sqlparse.parse_tree(below).get("SelectStmt", {})
        selects.append(select)
        inner = _written_relation(select, catalog, reads_anything)
        if inner is None:
            break
        table = catalog.resolve(inner, ["public"])
        if table is not None:
            return table, selects
        below = catalog.views.get((inner.schema or "public", inner.name))
    return None, selects


def _written_relation(select: dict[str, Any], catalog: CatalogView,
                      reads_anything: bool = False) -> analyze.RelRef | None:
    """The one relation of a view level's FROM, when every other relation it reads (in
    subqueries) is a REPLICATION table (`reads_anything`: any distributed table); else None."""
    inner = analyze.relations(select)
    if len(inner) == 1:
        return inner[0]
    from_items = select.get("fromClause") or []
    if len(from_items) != 1 or "RangeVar" not in from_items[0]:
        return None
    location = from_items[0]["RangeVar"].get("location")
    written = [r for r in inner if r.location == location]
    others = [catalog.resolve(r, ["public"]) for r in inner if r.location != location]
    if len(written) != 1 or not all(t is not None and (reads_anything or t.method == "replication")
                                    for t in others):
        return None
    return written[0]


def view_definition(ref: analyze.RelRef, catalog: CatalogView, search_path: tuple[str, ...]) -> str | None:
    """The definition of the user view a reference names (search path order), else None."""
    return _view_definition(ref, catalog, search_path)


def _view_definition(ref: analyze.RelRef, catalog: CatalogView,
                     search_path: tuple[str, ...]) -> str | None:
    entry = _view_entry(ref, catalog, search_path)
    return entry[1] if entry is not None else None


def _view_entry(ref: analyze.RelRef, catalog: CatalogView,
                search_path: tuple[str, ...]) -> tuple[tuple[str, str], str] | None:
    """((schema, name), definition) of the view `ref` names under `search_path`, or None."""
    views = catalog.views
    if ref.schema:
        key = (ref.schema, ref.name)
        return (key, views[key]) if key in views else None
    for schema in search_path:
        if schema == tempnames.MARK + ref.name:
            return None  # a temp relation of the session hides the view
        if catalog.snapshot.table(schema, ref.name) is not None:
            return None
        if (schema, ref.name) in views:
            return (schema, ref.name), views[(schema, ref.name)]
    return None


def _reads_distributed(definition: str, catalog: CatalogView, depth: int) -> bool:
    if depth > 16:
        return False
    try:
        refs = analyze.relations(sqlparse.parse_tree(definition))
    except PgError:
        # a definition gridpg cannot read may read distributed tables: inlined, its
        # syntax error is loud; taken as local, the catalog server's empty copies answered
        return True
    for ref in refs:
        if catalog.resolve(ref, ["public"]) is not None:
            return True
        inner = catalog.views.get((ref.schema or "public", ref.name))
        if inner is not None and _reads_distributed(inner, catalog, depth + 1):
            return True
    return False
