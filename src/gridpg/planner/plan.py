"""The plans the planner hands the executor: frozen values that print themselves.

Every statement kind the executor runs has a plan type; its `strategy` (an Enum) names
it. The query strategies are tried in the order planner/query.py declares
(`SELECT_STRATEGIES`, `WRITE_STRATEGIES`); one that does not apply answers `NotApplicable` with its reason (shown
by EXPLAIN VERBOSE). Plans never hold the names of scratch tables: they hold placeholders
(`Scratch`), and the executor binds fresh names with `bind_scratch` at each execution, so a
plan can be kept and run again.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, ClassVar

from gridpg.catalog.model import DistTable

SCRATCH_SCHEMA = "gridpg_shards"  # where scratch tables on datanodes live


class Strategy(Enum):
    """What the executor does with a plan."""

    # statements that are not queries over distributed tables
    CATALOG = "catalog"  # pass-through to the coordinator's catalog server
    UTILITY = "utility"  # DDL propagated to the catalog servers and datanodes
    CREATE_TABLE = "create-table"
    EXPLAIN = "explain"
    COPY = "copy"
    CREATE_TABLE_AS = "create-table-as"
    XL_COMMAND = "xl-command"
    FUNCTION_CALL = "function-call"  # create_distributed_table() and friends
    SEQUENCE_CALL = "sequence-call"  # nextval()/currval()/setval() through the GTM
    CLUSTER_VIEW = "cluster-view"  # gridpg_stat_activity, gridpg_lock_waits
    INSERT = "insert"
    MERGE_STATEMENT = "merge-statement"
    MERGE_STAGED = "merge-staged"  # MERGE over source rows staged on the target's nodes
    SESSION_STATEMENT = "session-statement"  # PREPARE/EXECUTE/DEALLOCATE, cursors over distributed tables
    MODIFYING_CTE = "modifying-cte"  # a data-modifying WITH run as steps (planner/modifying_cte.py)
    MATERIALIZED_VIEW = "materialized-view"  # CREATE / REFRESH of one over distributed tables
    RULES = "rules"  # a write whose table has rules that write: its statements in order (planner/rules.py)
    # query strategies (their order: planner/query.py SELECT_STRATEGIES, WRITE_STRATEGIES)
    ROUTER = "router"
    PUSHDOWN = "pushdown"
    MERGE = "merge"
    TWO_PHASE = "two-phase"
    COORDINATOR_FINISH = "coordinator-finish"
    # multi-node writes
    BROADCAST = "broadcast"
    MOVE_ROWS = "move-rows"
    LOCKING_SUBPLANS = "locking-subplans"  # FOR UPDATE/SHARE sub-selects of a write run first

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class NotApplicable:
    """Why a strategy does not apply (a value: EXPLAIN VERBOSE prints it)."""

    strategy: Strategy
    reason: str


@dataclass(frozen=True)
class Fragment:
    """SQL that one node runs."""

    group: str
    sql: str


@dataclass(frozen=True)
class GatherTable:
    """A distributed table a plan copies into a scratch table (`temp`: a placeholder);
    `tableoid`: the copy carries each row's table (planner/tableoid.GATHERED_COLUMN);
    `only`: the statement reads it with ONLY (its inheritance children left out)."""

    schema: str
    name: str
    temp: str
    groups: tuple[str, ...]
    tableoid: bool = False
    only: bool = False


@dataclass(frozen=True)
class Scratch:
    """A scratch-table placeholder in a plan's text; `shared` when it lives on datanodes
    (its name must then be unique in the cluster, not only in one session)."""

    placeholder: str
    kind: str
    shared: bool = False


class ScratchNames:
    """Hands out placeholders that do not occur in the statement's text."""

    def __init__(self, sql: str) -> None:
        self.text = sql.lower()
        self.made: list[Scratch] = []

    def new(self, kind: str, shared: bool = False) -> str:
        taken = {s.placeholder for s in self.made}
        n = 1 + sum(1 for s in self.made if s.kind == kind)
        name = f"gp_{kind}_s{n}"
        while name in self.text or name in taken:
            n += 1
            name = f"gp_{kind}_s{n}"
        self.made.append(Scratch(name, kind, shared))
        return name


@dataclass(frozen=True)
class Plan:
    """Base of every plan."""

    strategy: ClassVar[Strategy]

    def describe(self) -> list[str]:
        """Human-readable lines for EXPLAIN."""
        return [f"Distributed plan: {self.strategy}"]


# -- statements that are not multi-node queries ------------------------------------------


@dataclass(frozen=True)
class CatalogCheckPlan(Plan):
    """Refused with `message` (0A000) once the catalog server has planned the statement:
    where PostgreSQL has an error for it (a relation that does not exist, a view that
    cannot be updated), the client gets PostgreSQL's."""

    strategy: ClassVar[Strategy] = Strategy.CATALOG
    message: str = ""

    def describe(self) -> list[str]:
        return ["Distributed plan: refused after the catalog server's check", f"  {self.message}"]


@dataclass(frozen=True)
class CatalogPlan(Plan):
    """Runs on the coordinator's catalog server (`sql` when the text changes)."""

    strategy: ClassVar[Strategy] = Strategy.CATALOG
    sql: str | None = None

    def describe(self) -> list[str]:
        lines = ["Distributed plan: catalog"]
        if self.sql is not None:
            lines.append(f"  SQL on the catalog server: {self.sql}")
        return lines


@dataclass(frozen=True)
class UtilityPlan(Plan):
    """DDL run atomically on the catalog servers and the datanodes of `groups` (None: all
    datanodes), followed by metadata statements; GTM sequences of the tables dropped
    (`sequences` = "drop") or restarted ("restart") afterwards."""

    strategy: ClassVar[Strategy] = Strategy.UTILITY
    kind: str
    tree: dict[str, Any] = field(compare=False, repr=False)
    tables: tuple[DistTable, ...] = ()
    groups: tuple[str, ...] | None = None
    after: tuple[str, ...] = ()
    group_sql: Mapping[str, str] | None = None
    sequences: str | None = None

    def describe(self) -> list[str]:
        lines = [f"Distributed plan: utility {self.kind}"]
        lines.append(f"  Nodes: {', '.join(self.groups) if self.groups is not None else 'all datanodes'}")
        for sql in self.after:
            lines.append(f"  Metadata: {sql}")
        for group, sql in sorted((self.group_sql or {}).items()):
            lines.append(f"  On {group}: {sql}")
        if self.sequences:
            lines.append(f"  GTM sequences: {self.sequences}")
        return lines


@dataclass(frozen=True)
class StatementPlan(Plan):
    """A statement the executor handles as a whole with its own module (CREATE TABLE,
    EXPLAIN, COPY, CREATE TABLE AS): the parse tree and the distribution clause."""

    strategy: ClassVar[Strategy] = Strategy.UTILITY
    clean: str = ""
    tree: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)
    spec: Any = None


@dataclass(frozen=True)
class CreateTablePlan(StatementPlan):
    strategy: ClassVar[Strategy] = Strategy.CREATE_TABLE


@dataclass(frozen=True)
class ExplainPlan(StatementPlan):
    strategy: ClassVar[Strategy] = Strategy.EXPLAIN


@dataclass(frozen=True)
class CopyPlan(StatementPlan):
    """COPY: FROM STDIN split by node, TO STDOUT concatenated (executor/dml.py)."""

    strategy: ClassVar[Strategy] = Strategy.COPY


@dataclass(frozen=True)
class CreateTableAsPlan(StatementPlan):
    strategy: ClassVar[Strategy] = Strategy.CREATE_TABLE_AS


@dataclass(frozen=True)
class MaterializedViewPlan(StatementPlan):
    """CREATE MATERIALIZED VIEW over distributed tables, or REFRESH of one
    (executor/matview.py): the view on the catalog servers, its rows in a REPLICATION
    table of the same name on the datanodes, filled by the query run through the cluster."""

    strategy: ClassVar[Strategy] = Strategy.MATERIALIZED_VIEW


@dataclass(frozen=True)
class SessionStatementPlan(Plan):
    """A statement about the client session's own objects, kept by the coordinator
    (executor/prepared.py): PREPARE, EXECUTE, DEALLOCATE, EXPLAIN EXECUTE, CREATE TABLE AS
    EXECUTE, and DECLARE CURSOR over distributed tables. `kind` is the statement's node
    type; the executor reads the rest from the parse tree and the session."""

    strategy: ClassVar[Strategy] = Strategy.SESSION_STATEMENT
    kind: str = ""
    tree: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def describe(self) -> list[str]:
        return [f"Distributed plan: {self.strategy} {self.kind}"]


@dataclass(frozen=True)
class XlCommandPlan(Plan):
    """EXECUTE DIRECT, CREATE/ALTER/DROP NODE [GROUP], CLEAN CONNECTION."""

    strategy: ClassVar[Strategy] = Strategy.XL_COMMAND
    command: Any = None

    def describe(self) -> list[str]:
        return [f"Distributed plan: xl-command {getattr(self.command, 'kind', '?')}"]


@dataclass(frozen=True)
class FunctionCallPlan(Plan):
    """`SELECT create_distributed_table(...)` and friends (commands/redistribute.py)."""

    strategy: ClassVar[Strategy] = Strategy.FUNCTION_CALL
    name: str = ""
    args: tuple[Any, ...] = field(default=(), compare=False)

    def describe(self) -> list[str]:
        return [f"Distributed plan: function-call {self.name}()"]


@dataclass(frozen=True)
class ClusterViewPlan(Plan):
    """A SELECT over gridpg_stat_activity / gridpg_lock_waits (commands/activity.py)."""

    strategy: ClassVar[Strategy] = Strategy.CLUSTER_VIEW
    views: tuple[Any, ...] = field(default=(), compare=False)

    def describe(self) -> list[str]:
        names = ", ".join(sorted({v.name for v in self.views}))
        return [f"Distributed plan: cluster-view {names} (rows gathered from every node)"]


@dataclass(frozen=True)
class SequenceCallPlan(Plan):
    """`SELECT nextval(...)` answered from the GTM (commands/sequences.py)."""

    strategy: ClassVar[Strategy] = Strategy.SEQUENCE_CALL
    function: str = ""
    column: str = ""
    args: tuple[Any, ...] = field(default=(), compare=False)

    def describe(self) -> list[str]:
        return [f"Distributed plan: sequence-call {self.function}() through the GTM"]


@dataclass(frozen=True)
class InsertPlan(Plan):
    """INSERT into a distributed table: rows split by node (executor/dml.py)."""

    strategy: ClassVar[Strategy] = Strategy.INSERT
    sql: str = ""
    tree: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)
    resolved: tuple[Any, ...] = field(default=(), compare=False)
    # INSERT through an automatically updatable view over one distributed table
    # (executor/view_insert.py): the view, and its table
    through_view: tuple[str, str] | None = None
    view_table: Any = field(default=None, compare=False)

    def describe(self) -> list[str]:
        lines = ["Distributed plan: insert routed by the distribution column"]
        target = getattr(self.resolved[0], "table", None) if self.resolved else None
        if target is not None:
            by = f" by {target.method}({target.column})" if target.column else f" ({target.method})"
            lines.append(f"  Target: {target.schema}.{target.name}{by} on {', '.join(target.groups)}")
        return lines


@dataclass(frozen=True)
class RulesPlan(Plan):
    """A write of a table whose rules write or notify: the statements PostgreSQL's rewriter
    would make of it, each run as a statement of its own (planner/rules.py)."""

    strategy: ClassVar[Strategy] = Strategy.RULES
    steps: tuple[str, ...] = ()
    original: int | None = None  # the client's own statement among the steps
    tag_step: int | None = None  # else: the step whose command tag the client gets
    tag: str = ""  # else this tag
    table: tuple[str, str] = ("", "")

    def describe(self) -> list[str]:
        lines = ["Distributed plan: rules (the statements the table's rules make, in order)"]
        lines += [f"  {'Statement' if i == self.original else 'Rule action'}: {s}" for i, s in enumerate(self.steps)]
        return lines


@dataclass(frozen=True)
class ModifyingCtePlan(Plan):
    """A data-modifying WITH: each INSERT/UPDATE/DELETE entry runs as a statement of its
    own, its RETURNING rows become a constant WITH entry of what follows."""

    strategy: ClassVar[Strategy] = Strategy.MODIFYING_CTE
    steps: tuple[Any, ...] = ()  # planner.modifying_cte.CteStep
    main: str = ""
    head: str = ""  # CREATE TABLE ... AS before the main statement (and its WITH)
    tail: str = ""  # and after it (WITH NO DATA)

    def describe(self) -> list[str]:
        lines = ["Distributed plan: modifying-cte (each data-modifying WITH entry first, on its own)"]
        lines += [f"  Step: {s.name} := {s.statement}" for s in self.steps if s.modifying]
        lines.append(f"  Then: {self.main}")
        return lines


@dataclass(frozen=True)
class MergeStatementPlan(Plan):
    """MERGE where its rows stay on one node: `group` when known from the metadata alone,
    else the executor reads the distinct values of `source_column` of the constant source
    (`source_text`, aliased `alias`) and routes by them."""

    strategy: ClassVar[Strategy] = Strategy.MERGE_STATEMENT
    sql: str = ""
    target: DistTable | None = None
    group: str | None = None
    source_text: str = ""
    alias: str | None = None
    source_column: str = ""

    def describe(self) -> list[str]:
        where = self.group or f"the node of the source's {self.source_column} values"
        return [f"Distributed plan: merge-statement on {where}"]


@dataclass(frozen=True)
class MergeStagedPlan(Plan):
    """MERGE over source rows staged on the target's nodes (planner/merge_staged.py): the
    statement split in its source query and its node statement. The executor runs
    `{with_text} SELECT <alias>.*[, key] FROM {source_text}` (its key cast to the target's
    distribution type), stages the rows on the target's nodes (split by `key_sql`'s hash,
    or all of them everywhere when None), then runs `{head} USING <stage> {tail}` there."""

    strategy: ClassVar[Strategy] = Strategy.MERGE_STAGED
    target: DistTable | None = None
    with_text: str = ""
    head: str = ""
    source_text: str = ""
    alias: str | None = None
    tail: str = ""
    key_sql: str | None = None
    needs_key: bool = False  # a NOT MATCHED [BY TARGET] INSERT: the rows cannot be broadcast
    # target columns an INSERT action leaves to a sequence default (executor/dml.py
    # TableColumn), each filled from the GTM per source row (executor/merge_defaults.py),
    # and the target's column names, for an INSERT action without a column list
    sequences: tuple[Any, ...] = ()
    target_columns: tuple[str, ...] = ()
    # the MERGE names this view over `target` (else `target` itself); `key_column`: the
    # column of what it names that shows the distribution column (the staging key's type
    # is read from it)
    through_view: tuple[str, str] | None = None
    key_column: str | None = None
    # positions (in the WHEN list) of the INSERT actions whose rows may belong on another
    # node than their source row's: decided there, then moved (executor/merge_moves.py)
    moved_inserts: tuple[int, ...] = ()
    # sub-selects outside the source: the tables they read are copied to the target's
    # nodes first (executor/merge_sublinks.py)
    sublinks: bool = False
    # NOT MATCHED INSERT without a key: every source row on every node, the rows no node
    # matches (`match_sql`) inserted once, by the first node, each placed by its own value
    # (executor/merge_staged._keep_unmatched_once)
    unmatched_once: bool = False
    match_sql: str = ""
    # positions of INSERT actions leaving the distribution column to its default: served
    # only once the executor names its sequence's values (run._merge_filling_sequences)
    defaulted_key: tuple[int, ...] = ()

    def describe(self) -> list[str]:
        assert self.target is not None
        how = f"split by hash({self.key_sql})" if self.key_sql else "broadcast to every node"
        lines = [f"Distributed plan: {self.strategy}",
                 f"  Source rows staged on {', '.join(self.target.groups)}, {how}",
                 f"  Source SQL: {self.with_text}SELECT * FROM {self.source_text.strip()}",
                 f"  Node SQL: {self.head}USING <stage> {self.tail}"]
        if self.unmatched_once:
            lines.append(f"  Source rows no node matches: inserted once, from {self.target.groups[0]}")
        if self.moved_inserts:
            lines.append("  Rows of the INSERT actions moved to their nodes after")
        return lines


# -- multi-node queries and writes -------------------------------------------------------


@dataclass(frozen=True)
class FirstCopyLock:
    """A query locking, on `group` (a REPLICATION table's first node), the rows of `table`
    a write to every copy will write, run before it (planner/writes.first_copy_lock)."""

    sql: str
    group: str
    table: tuple[str, str]


@dataclass(frozen=True)
class DistributedPlan(Plan):
    """Fragments run on datanodes, maybe followed by SQL on the catalog server."""

    strategy: ClassVar[Strategy]
    fragments: tuple[Fragment, ...] = ()
    writes: bool = False
    final_sql: str | None = None  # catalog-side SQL (merge, two-phase, finish, move rows)
    gather: tuple[GatherTable, ...] = ()
    partial_temp: str | None = None
    replicated: bool = False  # a write to every copy: the client sees one copy's answer
    # run on the first node before such a write (UPDATE/DELETE): its rows locked there
    # first, so writers of a row queue on one node (planner/writes.first_copy_lock)
    first_copy_lock: FirstCopyLock | None = None
    reasons: tuple[NotApplicable, ...] = field(default=(), compare=False)
    scratch: tuple[Scratch, ...] = ()
    sql: str = ""  # the statement as run (views inlined); "" when the client's text
    through_view: tuple[str, str] | None = None  # a write to this view, run on its table's nodes
    # the client's text when the plan reads the tables of views it inlined itself (not the
    # views on the nodes): the view owner's rights apply (executor/view_rights.py)
    view_sql: str | None = field(default=None, compare=False)

    @property
    def groups(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(f.group for f in self.fragments))

    def describe(self) -> list[str]:
        lines = [f"Distributed plan: {self.strategy}"]
        if self.fragments:
            lines.append(f"  Nodes: {', '.join(self.groups)}")
            shown = set()
            for fragment in self.fragments:
                if fragment.sql in shown:
                    continue
                shown.add(fragment.sql)
                lines.append(f"  Remote SQL: {fragment.sql}")
        for table in self.gather:
            lines.append(
                f"  Gather {table.schema}.{table.name} from {', '.join(table.groups)} into {table.temp}"
            )
        if self.final_sql:
            lines.append(f"  Final SQL on the catalog server: {self.final_sql}")
        if self.first_copy_lock:
            lines.append(f"  Rows locked on {self.first_copy_lock.group} first: {self.first_copy_lock.sql}")
        if self.writes and len(self.groups) > 1 and self.strategy is not Strategy.MERGE:  # a merge only locks rows
            lines.append("  Commit: two-phase (PREPARE TRANSACTION on every node written)")
        return lines

    def describe_reasons(self) -> list[str]:
        """EXPLAIN VERBOSE: why each earlier strategy did not apply."""
        return [f"  Not {r.strategy}: {r.reason}" for r in self.reasons]


@dataclass(frozen=True)
class RouterPlan(DistributedPlan):
    """The whole statement on one node, its reply relayed."""

    strategy: ClassVar[Strategy] = Strategy.ROUTER


@dataclass(frozen=True)
class PushdownPlan(DistributedPlan):
    """The same statement on every node, rows concatenated (or written everywhere)."""

    strategy: ClassVar[Strategy] = Strategy.PUSHDOWN


@dataclass(frozen=True)
class LockBound:
    """A waiting row lock with ORDER BY and LIMIT, node after node: once the nodes read so
    far gave LIMIT+OFFSET rows, a later node need lock only its rows that sort before the
    last of those. `bounded_sql` is the node piece with the conjunct `gp_lock_bound` in its
    WHERE clause, where `merge.lock_bound_predicate` goes; `keys_sql` reads, on the catalog
    server, that row's sort keys (a typed literal and whether NULL, per key); `keys` are the
    keys as the nodes compute them: (expression, descending, nulls first)."""

    bounded_sql: str
    keys_sql: str
    keys: tuple[tuple[str, bool, bool], ...]


@dataclass(frozen=True)
class MergePlan(DistributedPlan):
    """Sorted/limited pieces from every node into `partial_temp`, merged by `final_sql`.
    `lock_keep_sql` (FOR UPDATE/SHARE with a LIMIT): the `gp_lock_ctid` of the merged rows
    the answer takes, so the nodes none of whose rows it takes give their locks back.
    `lock_rows_in_turn` (FOR UPDATE/SHARE that waits, LIMIT, no ORDER BY): the fragments
    have no LIMIT; the nodes run one after the other, each with `LIMIT <rows still
    wanted>` after its locking clause, until this many rows are locked.
    `lock_nodes_in_order` (FOR UPDATE/SHARE that waits, ORDER BY, LIMIT): the fragments run
    one node after the other in the groups' name order, never at once, each inside a savepoint
    whose locks `lock_keep_sql` then keeps or gives back."""

    strategy: ClassVar[Strategy] = Strategy.MERGE
    lock_keep_sql: str | None = None
    lock_rows_in_turn: int | None = None
    lock_nodes_in_order: bool = False
    lock_bound: LockBound | None = None

    def describe(self) -> list[str]:
        lines = super().describe()
        if self.lock_rows_in_turn is not None:
            lines.insert(2, f"  Row locks: node after node, until {self.lock_rows_in_turn} rows (LIMIT)")
        if self.lock_nodes_in_order:
            lines.insert(2, "  Row locks: node after node, each in a savepoint; given back where no row is returned"
                         + ("; later nodes lock only rows sorting before the LIMIT's last so far"
                            if self.lock_bound is not None else ""))
        return lines


@dataclass(frozen=True)
class TwoPhasePlan(DistributedPlan):
    """Partial aggregates from every node into `partial_temp`, combined by `final_sql`."""

    strategy: ClassVar[Strategy] = Strategy.TWO_PHASE


@dataclass(frozen=True)
class CoordinatorFinishPlan(DistributedPlan):
    """The distributed tables gathered into catalog temp tables, `final_sql` run there.
    `catalog_oids`: the statement uses OIDs as the client sees them (planner/catalog_oids.py),
    so no part of it may run on a datanode (no subplans, no exchange)."""

    strategy: ClassVar[Strategy] = Strategy.COORDINATOR_FINISH
    catalog_oids: bool = False


@dataclass(frozen=True)
class BroadcastWritePlan(DistributedPlan):
    """UPDATE/DELETE reading non-colocated tables: those copied to the target's nodes."""

    strategy: ClassVar[Strategy] = Strategy.BROADCAST
    # UPDATE of a REPLICATION table with FROM: finds a target row joined twice (one node,
    # before the UPDATE; planner/writes.several_matches_check)
    row_check: str | None = None


@dataclass(frozen=True)
class MoveRowsPlan(DistributedPlan):
    """UPDATE of the distribution column: DELETE ... RETURNING on the nodes, the UPDATE in a
    catalog temp table, the rows re-inserted where they now belong."""

    strategy: ClassVar[Strategy] = Strategy.MOVE_ROWS


@dataclass(frozen=True)
class LockingSubplansPlan(DistributedPlan):
    """UPDATE/DELETE (or SELECT, then only its WITH entries, scalar and IN sub-selects)
    whose sub-selects carry FOR UPDATE/SHARE: each runs first as a locking
    SELECT of its own, planned like any other (so it locks the rows where they live, never
    a copy), its result put in the statement's text, and the rest planned again
    (planner/subplans.py split_locking; executor/subplans.py runs it)."""

    strategy: ClassVar[Strategy] = Strategy.LOCKING_SUBPLANS

    def describe(self) -> list[str]:
        return [f"Distributed plan: {self.strategy}",
                "  Each sub-select with FOR UPDATE/SHARE runs first as a locking SELECT of its own "
                "(its rows locked where they live); the statement is then planned with their results"]


def bind_scratch(plan: DistributedPlan, names: Mapping[str, str]) -> DistributedPlan:
    """The plan with its scratch placeholders replaced by the names given (placeholder ->
    name), at execution."""
    if not plan.scratch:
        return plan
    order = sorted(names, key=len, reverse=True)

    def sub(text: str) -> str:
        for placeholder in order:
            text = text.replace(placeholder, names[placeholder])
        return text

    if isinstance(plan, MergePlan) and plan.lock_keep_sql is not None:
        plan = dataclasses.replace(plan, lock_keep_sql=sub(plan.lock_keep_sql))
    if isinstance(plan, MergePlan) and plan.lock_bound is not None:
        bound = plan.lock_bound
        plan = dataclasses.replace(plan, lock_bound=LockBound(sub(bound.bounded_sql), sub(bound.keys_sql), bound.keys))
    return dataclasses.replace(
        plan,
        fragments=tuple(Fragment(f.group, sub(f.sql)) for f in plan.fragments),
        final_sql=None if plan.final_sql is None else sub(plan.final_sql),
        gather=tuple(dataclasses.replace(g, temp=sub(g.temp)) for g in plan.gather),
        partial_temp=None if plan.partial_temp is None else sub(plan.partial_temp),
        scratch=(),
        first_copy_lock=None if plan.first_copy_lock is None else dataclasses.replace(
            plan.first_copy_lock, sql=sub(plan.first_copy_lock.sql)),
        **({"row_check": sub(plan.row_check)} if isinstance(plan, BroadcastWritePlan) and plan.row_check else {}),
    )
