"""Broadcast and repartition exchanges (XL's RemoteSubplan): planning. Pure.

A SELECT whose distributed tables are not all colocated can still run on the datanodes:
keep one table where it is (the *anchor*: the biggest that may stay), together with the
references colocated with it (joined to it on the distribution columns in the top-level
FROM/WHERE, or read by a WHERE subquery correlated to it on the distribution columns), and
copy every other distributed table, filtered and projected (`planner.gather`), whole into
a scratch table on each of the anchor's nodes. Each node then holds its share of the
anchor rows and everything else complete, so the statement over the scratch copies is one
that the existing strategies finish: concatenated, sorted merge, or two-phase aggregation.

A reference equated to a local reference's partitioning column (top-level join, a WHERE
subquery correlated on it at any depth, `k IN (SELECT c ...)`) whose own column has the
anchor's distribution type is *repartitioned* instead ("Distribute results by H(c)"): each
node gets only the rows whose hash(c), computed on the source nodes with PostgreSQL's
partition hash (`remainder_sql`), falls in the anchor's partitions there. Each row moves
once (none when its node is right already), and the reference becomes local.

When the statement relates the anchor to the other tables only by columns none is
distributed by (a semi-join, anti-join or join on `a.y = b.x`), the anchor itself may be
repartitioned by such a column (`rekey`: into the partitions of the table equated to it
when that one is distributed by its side, else of the anchor's own table), and what is
equated to it follows: chosen when it writes fewer bytes than keeping the biggest table in
place (`written_size`), or when that would move more than the coordinator finish gathers.

The anchor must partition the result: it is a top-level FROM reference, never on the
nullable side of an outer join whose preserved side has no anchor rows (that side would
be produced once per node), never under a FULL join. Broadcasting is chosen only when it
moves no more rows than the coordinator finish would gather (row estimates from the
datanodes' statistics). This module decides and rewrites text; it does no I/O.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from pglast import ast
from pglast.enums import JoinType, LimitOption, SetOperation, SubLinkType
from pglast.stream import RawStream

from gridpg.catalog.model import BUILTIN_AGGREGATES, DistTable
from gridpg.planner.estimates import TableEstimate
from gridpg.planner.gather import (
    Needs,
    TableKey,
    _conjuncts,
    _Leaf,
    _leaves,
    _nodes,
    pushed_conjuncts,
    table_needs,
)
from gridpg.sql import parse as sqlparse
from gridpg.sql.parse import parse_sql
from gridpg.sql.quote import quote_ident, quote_qualified

SCRATCH_SCHEMA = "gridpg_shards"
SHARDED = ("hash", "modulo", "roundrobin")
@dataclass(frozen=True)
class Move:
    """A table copied whole (what the statement needs of it) to every anchor node."""

    table: DistTable
    scratch: str  # table name in SCRATCH_SCHEMA
    needs: Needs
    rows: float  # estimated rows of the copy (all nodes together)
    key: str | None = None  # repartitioned by hash(key) like the anchor; None: broadcast
    distinct: bool = False  # read only by EXISTS / IN subqueries: duplicate rows need not move
    # Every reference equated on `key` to the anchor's partitioning column, whose rows are
    # cut by this filter: only rows whose key the filtered anchor has can matter
    # (semi-join reduction; the executor pumps the keys first). None: no such cut.
    reduce_by: str | None = None
    # A repartition read once per source and sent whole to every node, each keeping its
    # partitions as it loads (COPY ... WHERE), instead of one split read per destination.
    scan_once: bool = False
    width: int = 0  # estimated bytes per row (0: unknown)
    # Columns of the copy to index (after a key filter, the node's planner underestimates
    # the rows joined to the copy and may probe it once per row: `_copy_lookups`)
    lookups: tuple[str, ...] = ()
    only: bool = False  # every reference it serves reads the table with ONLY: no inheritance children

    def select_sql(self, columns: Sequence[str], filter_sql: str | None = None) -> str:
        """What each source node sends: the needed columns, filtered (and `filter_sql`
        AND-ed), DISTINCT when duplicates cannot change the statement's answer."""
        need = self.needs
        if filter_sql:
            need = Needs(need.columns, f"({need.filter}) AND {filter_sql}" if need.filter else filter_sql)
        text = need.select_sql(self.table.schema, self.table.name, columns, only=self.only)
        return "SELECT DISTINCT " + text[len("SELECT "):] if self.distinct else text


@dataclass(frozen=True)
class BroadcastPlan:
    groups: tuple[str, ...]  # the anchor's nodes: where the statement runs
    anchor: tuple[str, ...]  # references that stay in place (for EXPLAIN)
    moves: tuple[Move, ...]
    sql: str  # the statement over the anchor and the scratch copies
    moved_rows: float
    gathered_rows: float  # what the coordinator finish would move instead
    anchor_table: DistTable | None = None  # whose hash partitioning repartitioned copies follow
    grouped: bool = False  # the anchor is in a FROM subquery grouped by its partitioning column
    moved_size: float = 0.0  # moved_rows and gathered_rows in estimated bytes (rows x width): what is weighed
    gathered_size: float = 0.0
    key_filters: tuple[str, ...] = ()  # for EXPLAIN: the local references cut by a broadcast copy's keys
    # The statement's own GROUP BY holds a local reference's partitioning column: each
    # node's groups (HAVING included) are final, only ORDER BY / LIMIT remain (a merge).
    groups_final: bool = False
    # The anchor reference itself repartitioned (`table.column`) into anchor_table's
    # partitions, with what is equated to it: a join or semi-join on no distribution column.
    rekeyed: str | None = None
    kept_size: float | None = None  # rekeyed: the bytes written keeping the biggest table in place (None: refused)

    def describe(self) -> list[str]:
        if self.rekeyed is None:
            lines = [f"  Anchor (stays on {', '.join(self.groups)}): {', '.join(self.anchor)}"]
        else:
            layout = self.anchor_table.name if self.anchor_table is not None else "?"
            stays = f"; stays in place: {', '.join(self.anchor)}" if self.anchor else ""
            kept = "no anchor can stay in place" if self.kept_size is None else \
                f"~{self.kept_size:.0f} keeping the biggest table in place"
            lines = [(f"  Partitioned by hash({self.rekeyed}) like {layout} on {', '.join(self.groups)} "
                      f"(~{written_size(self):.0f} bytes written into copies; {kept}){stays}")]
        for move in self.moves:
            where = f" WHERE {move.needs.filter}" if move.needs.filter else ""
            cols = ", ".join(move.needs.columns) if move.needs.columns is not None else "*"
            what = f"{'ONLY ' if move.only else ''}{move.table.schema}.{move.table.name} ({cols}){where}"
            if move.distinct:
                what = "DISTINCT " + what
            if move.reduce_by:
                what += f" whose {move.key} {self.anchor[0]} has WHERE {move.reduce_by}"
            if move.lookups:
                what += f" indexed on ({', '.join(move.lookups)})"
            size = f" x {move.width} bytes" if move.width else ""
            if move.key is None:
                lines.append(f"  Broadcast {what} to {', '.join(self.groups)} as "
                             f"{SCRATCH_SCHEMA}.{move.scratch}, ~{move.rows:.0f} rows{size} each")
            else:
                how = ", one scan per source, kept by partition on load" if move.scan_once else ""
                like = self.anchor_table.name if self.rekeyed and self.anchor_table is not None else self.anchor[0]
                lines.append(f"  Repartition {what} by hash({move.key}) like {like} to "
                             f"{', '.join(self.groups)} as {SCRATCH_SCHEMA}.{move.scratch}, "
                             f"~{move.rows:.0f} rows{size}{how}")
        lines += [f"  Key filter: {k}" for k in self.key_filters]
        if self.groups_final:
            lines.append("  The statement groups by the anchor's partitioning column: its groups are final on each node")
        if self.grouped:
            lines.append("  The FROM subquery groups by the anchor's partitioning column: its groups are final on each node")
        lines.append(f"  Rows moved: ~{self.moved_rows:.0f}, ~{self.moved_size:.0f} bytes (a coordinator finish: "
                     f"~{self.gathered_rows:.0f}, ~{self.gathered_size:.0f} bytes)")
        return lines


def plan_broadcast(
    sql: str, refs: Mapping[int, DistTable], columns: Mapping[TableKey, Sequence[str]],
    needs: Mapping[TableKey, Needs], estimates: Mapping[TableKey, TableEstimate | float],
    colocated: Callable[[DistTable, DistTable], bool], scratch_name: Callable[[DistTable], str],
    types: Mapping[TableKey, Mapping[str, int]] | None = None,
    aggregates: frozenset[str] = BUILTIN_AGGREGATES,
) -> BroadcastPlan | str:
    """The broadcast plan for `sql`, or the reason there is none. `refs` maps the location
    of every reference to a distributed table (replicated ones included) to its table;
    `estimates` holds each table's estimated rows after its filter (all nodes together),
    with their width and the whole table's rows where known (planner/estimates.py: the
    executor gathered them from the datanodes' statistics; a bare number is rows alone).

    Decided here from them: which table stays (the biggest in bytes that may), whether
    moving beats the coordinator finish (bytes moved against bytes gathered), whether a
    repartition is cut by the anchor's keys first (few anchor rows: REDUCTION_LIMIT) and
    whether it reads each source once (when its filtered rows, sent to every node, are
    fewer than another scan of the table per node would read)."""
    rows = {k: v if isinstance(v, TableEstimate) else TableEstimate(float(v)) for k, v in estimates.items()}
    stmt = parse_sql(sql)[0].stmt
    if not isinstance(stmt, ast.SelectStmt) or stmt.op != SetOperation.SETOP_NONE:
        return "only a single SELECT (no set operation at the top) is broadcast"
    if stmt.lockingClause or stmt.intoClause:
        return "FOR UPDATE/SHARE and SELECT INTO are not broadcast"
    keys = {location: table.key for location, table in refs.items()}
    whole = stmt
    stmt, grouped = _core(stmt, aggregates)
    top: list[_Leaf] = []
    for item in stmt.fromClause or ():
        _leaves(item, keys, columns, top)
    candidates = [x.location for x in top if x.location is not None and refs[x.location].method in SHARDED]
    if not candidates:
        return "no distributed table in the top-level FROM can stay in place"
    candidates.sort(key=lambda loc: -rows.get(refs[loc].key, NO_ESTIMATE).size)
    tables = _Tables(refs, columns, types or {}, colocated)
    reasons = []
    best: BroadcastPlan | None = None
    for location in candidates:
        plan = _plan_with_anchor(sql, stmt, top, location, tables, needs, rows, scratch_name, grouped, stmt is whole)
        if isinstance(plan, BroadcastPlan):
            best = plan
            break
        reasons.append(f"{refs[location].name}: {plan}")
    if best is not None and (not best.moves or any(m.reduce_by for m in best.moves)):
        return best  # nothing moves, or the anchor's keys cut the moves first: keep it in place
    # The anchor itself repartitioned by a join or correlation key, with what is equated to
    # it (XL's "Distribute results by", Citus's dual repartition), when that writes fewer
    # bytes into the nodes' copies than keeping the biggest table in place, or when
    # nothing can stay in place without moving more than the coordinator finish gathers.
    kept = best
    for location in candidates:
        if best is not None and rows.get(refs[location].key, NO_ESTIMATE).size >= written_size(best):
            continue  # its own rows alone would write as much
        for rekey in _rekeyings(stmt, top, location, tables):
            plan = _plan_with_anchor(sql, stmt, top, location, tables, needs, rows, scratch_name, grouped,
                                     stmt is whole, rekey)
            if isinstance(plan, BroadcastPlan):
                if best is None or written_size(plan) < written_size(best):
                    best = plan
            elif best is None:
                reasons.append(f"{refs[location].name} by hash({rekey[0]}) like {rekey[1].name}: {plan}")
    if best is None:
        return "; ".join(reasons)
    if best is not kept:
        best = dataclasses.replace(best, kept_size=written_size(kept) if kept is not None else None)
    return best


def written_size(plan: BroadcastPlan) -> float:
    """Bytes the moves write into the nodes' copies: a broadcast's rows once per node, a
    repartition's once (the rows that stay on their node are copied too). A repartition
    of every side against a broadcast is weighed by this, not by the bytes that cross the
    network: a table repartitioned rather than left in place is read and written whole."""
    nodes = len(plan.groups)
    return sum(m.rows * max(m.width, 1) * (nodes if m.key is None else 1) for m in plan.moves)


def _rekeyings(stmt: ast.SelectStmt, top: list[_Leaf], anchor: int, tables: _Tables) -> list[tuple[str, DistTable]]:
    """The (column, layout) pairs by which the anchor's rows could be repartitioned: each
    column of the anchor equated to another reference (a join, a correlated WHERE
    subquery, a positive IN), hashed into the partitions of a hash table: the equated
    table, when it is distributed by that column (it then stays in place and only the
    anchor moves), else the anchor's own table (both sides move)."""
    finder = _KeyFinder(anchor, tables)
    finder.collect(stmt, top)
    table = tables.refs[anchor]
    out: list[tuple[str, DistTable]] = []
    for column, other in finder.found:
        kind = tables.types.get(table.key, {}).get(column)
        if kind not in REPARTITION_TYPES:
            continue
        partner = tables.refs[other[0]]
        if partner.method == "hash" and partner.column == other[1] and partner.shard_count \
                and tables.types.get(partner.key, {}).get(other[1]) == kind:
            out.append((column, partner))
        if table.method == "hash" and table.shard_count:
            out.append((column, table))
    # (the anchor's own distribution column in its own partitions: the plan without rekeying)
    return [r for r in dict.fromkeys(out) if not (r[0] == table.column and tables.colocated(r[1], table))]


def _core(stmt: ast.SelectStmt, aggregates: frozenset[str]) -> tuple[ast.SelectStmt, bool]:
    """The SELECT whose FROM holds the anchor: the statement, or the subquery that is its
    only FROM item when that subquery passes rows through (no grouping, limit, DISTINCT,
    window, aggregate), as in `SELECT ... FROM (SELECT ... FROM a, b WHERE ...) x GROUP BY`;
    or, last, such a subquery that groups (True): its GROUP BY must then hold the anchor's
    partitioning column, so each group is complete on one node (TPC-H Q13)."""
    while len(stmt.fromClause or ()) == 1 and isinstance(stmt.fromClause[0], ast.RangeSubselect):
        item = stmt.fromClause[0]
        sub = item.subquery
        if item.lateral or not isinstance(sub, ast.SelectStmt) or sub.op != SetOperation.SETOP_NONE:
            break
        if sub.limitCount or sub.limitOffset or sub.distinctClause is not None or sub.windowClause \
                or sub.withClause or sub.valuesLists:
            break
        if sub.groupClause:
            if not _is_plain_grouping(sub):
                break
            return sub, True
        if sub.havingClause or _has_aggregate_or_window((sub.targetList, sub.sortClause), aggregates):
            break
        stmt = sub
    return stmt, False


def _is_plain_grouping(sub: ast.SelectStmt) -> bool:
    """GROUP BY of plain expressions (no grouping sets), no window function anywhere."""
    if any(isinstance(g, ast.GroupingSet) for g in sub.groupClause or ()):
        return False
    parts = (sub.targetList, sub.havingClause, sub.sortClause)
    if any(call.constructor is not None and call.constructor.over is not None
           for call in _nodes(parts, ast.JsonArrayAgg | ast.JsonObjectAgg)):
        return False  # JSON_ARRAYAGG / JSON_OBJECTAGG ... OVER: a window over every node's groups
    return not any(call.over is not None for call in _nodes(parts, ast.FuncCall))


def _has_aggregate_or_window(targets: object, aggregates: frozenset[str] = BUILTIN_AGGREGATES) -> bool:
    """An aggregate or window call in `targets`: a SELECT's list and its ORDER BY, where an
    aggregate alone also makes the SELECT one group (`SELECT 1 FROM t ORDER BY count(*)`)."""
    if any(True for _ in _nodes(targets, ast.JsonArrayAgg | ast.JsonObjectAgg)):
        return True  # JSON_ARRAYAGG / JSON_OBJECTAGG are their own nodes, not calls
    for call in _nodes(targets, ast.FuncCall):
        name = call.funcname[-1].sval.lower()
        if call.agg_star or call.agg_distinct or call.agg_filter is not None or call.agg_within_group \
                or call.agg_order or call.over is not None or name in aggregates:
            return True
    return False


@dataclass(frozen=True)
class _Tables:
    """What the planner knows of the statement's tables."""

    refs: Mapping[int, DistTable]
    columns: Mapping[TableKey, Sequence[str]]
    types: Mapping[TableKey, Mapping[str, int]]
    colocated: Callable[[DistTable, DistTable], bool]


def _plan_with_anchor(
    sql: str, stmt: ast.SelectStmt, top: list[_Leaf], anchor: int, tables: _Tables,
    needs: Mapping[TableKey, Needs], rows: Mapping[TableKey, TableEstimate],
    scratch_name: Callable[[DistTable], str], grouped: bool = False, top_level: bool = False,
    rekey: tuple[str, DistTable] | None = None,
) -> BroadcastPlan | str:
    """With `rekey` (column, layout): the anchor is itself repartitioned by that column into
    the layout table's partitions, and the references equated to it follow."""
    refs = tables.refs
    local = _Locality(anchor, tables, rekey)
    local.collect(stmt, top)
    groups_final = top_level and not grouped and bool(stmt.groupClause) and _is_plain_grouping(stmt) \
        and stmt.distinctClause is None and not stmt.windowClause and _groups_by_partitioning(stmt, top, local)
    blocker = _outer_join_blocker(stmt.fromClause or (), set(local.keys))
    if blocker:
        return blocker
    if grouped and not _groups_by_partitioning(stmt, top, local):
        return "the FROM subquery's GROUP BY does not hold the anchor's partitioning column"
    layout = local.first
    groups = layout.groups
    moved: dict[tuple[TableKey, str | None], DistTable] = {}
    replace: dict[int, tuple[TableKey, str | None]] = {}
    for location, table in refs.items():
        if location in local.keys and local.keys[location] is None:
            continue  # stays where it is
        if location not in local.keys and table.method == "replication" and set(groups) <= set(table.groups):
            continue  # already complete on every anchor node
        key = (table.key, local.keys.get(location))
        moved.setdefault(key, table)
        replace[location] = key
    missing = [t.name for t in moved.values() if not set(groups) <= set(t.groups) and t.method != "replication"]
    if missing:
        return f"{', '.join(missing)} not defined on every node of the anchor"
    only = _only_moves(stmt, replace)
    if isinstance(only, str):
        return only
    n = len(groups)
    share = {k: (n if k[1] is None else (n - 1) / n) for k in moved}
    semi = _semi_join_references(sql)
    distinct = {k: _duplicates_free(k, replace, semi, needs, tables.types) for k in moved}
    moved_rows = sum(_move_rows(rows.get(k[0], NO_ESTIMATE), distinct[k]) * share[k] for k in moved)
    moved_size = sum(rows.get(k[0], NO_ESTIMATE).moved_size(distinct[k]) * share[k] for k in moved)
    every = {t.key for t in refs.values()}
    gathered = sum(rows.get(k, NO_ESTIMATE).rows for k in every)
    gathered_size = sum(rows.get(k, NO_ESTIMATE).size for k in every)
    if moved and moved_size > gathered_size:
        return (f"moving ~{moved_rows:.0f} rows (~{moved_size:.0f} bytes) costs more than gathering "
                f"~{gathered:.0f} (~{gathered_size:.0f} bytes)")
    scratch = {key: scratch_name(table) for key, table in moved.items()}
    filtered, described = _key_filters(sql, stmt, top, local, replace, scratch, rows)
    lookups = _copy_lookups(stmt, top, replace, local.keys) if filtered else {}
    text = _rewrite(sql, stmt, {loc: scratch[key] for loc, key in replace.items()}, filtered)
    dropped = _without_pushed_conjuncts(sql, refs, tables.columns, {loc: scratch[key] for loc, key in replace.items()},
                                        filtered)
    if dropped is not None:
        text, narrower = dropped
        needs = {k: Needs(narrower[k].columns, n.filter) if k in narrower else n for k, n in needs.items()}
    anchor_filter = needs.get(refs[anchor].key, Needs(None, None)).filter
    anchor_rows = rows.get(refs[anchor].key, NO_ESTIMATE).rows
    moves = []
    for k, t in moved.items():
        need, estimate = needs.get(k[0], Needs(None, None)), rows.get(k[0], NO_ESTIMATE)
        reduce_by = _reduction(k, replace, local, refs[anchor], anchor_filter) if rekey is None else None
        if reduce_by is not None and not is_worth_reducing(anchor_rows, estimate.rows):
            reduce_by = None
        once = k[1] is not None and reduce_by is None and is_scan_once(need, estimate, n)
        unique = _duplicates_free(k, replace, semi, needs, tables.types)
        moves.append(Move(t, scratch[k], need, _move_rows(estimate, unique), k[1], unique,
                          reduce_by, once, estimate.width, lookups.get(k, ()), k in only))
    natives = [refs[loc].name for loc in sorted(local.keys) if local.keys[loc] is None]
    names = list(dict.fromkeys(natives if rekey else [refs[anchor].name, *natives]))
    rekeyed = f"{refs[anchor].name}.{rekey[0]}" if rekey else None
    return BroadcastPlan(tuple(groups), tuple(names), tuple(moves), text, moved_rows, gathered, layout,
                         grouped, moved_size, gathered_size, described, groups_final, rekeyed)


def _only_moves(stmt: ast.SelectStmt, replace: Mapping[int, tuple[TableKey, str | None]]
                ) -> set[tuple[TableKey, str | None]] | str:
    """The copies whose references all read their table with ONLY (the copy leaves the
    inheritance children out), or the reason there is no plan: one copy cannot serve a
    reference with ONLY and one without (the coordinator finish gathers one of each)."""
    flags: dict[tuple[TableKey, str | None], set[bool]] = {}
    for node in _nodes(stmt, ast.RangeVar):
        if node.location in replace:
            flags.setdefault(replace[node.location], set()).add(not node.inh)
    mixed = [k[0][1] for k, f in flags.items() if len(f) > 1]
    if mixed:
        return f"{', '.join(mixed)} read both with ONLY and without"
    return {k for k, f in flags.items() if f == {True}}


NO_ESTIMATE = TableEstimate(0.0)


def _move_rows(estimate: TableEstimate, distinct: bool) -> float:
    """The rows a move sends: its distinct rows when it sends them DISTINCT and they are known."""
    return min(estimate.rows, estimate.distinct) if distinct and estimate.distinct is not None else estimate.rows
REDUCTION_LIMIT = 50000  # more filtered anchor rows than this (estimated): no semi-join reduction


def is_worth_reducing(anchor_rows: float, move_rows: float) -> bool:
    """Cut a repartition by the filtered anchor's keys first when those are few (a round of
    key pumps, then an index probe per key on the sources) and fewer than the rows moved."""
    return anchor_rows <= REDUCTION_LIMIT and anchor_rows < move_rows


def is_scan_once(need: Needs, estimate: TableEstimate, nodes: int) -> bool:
    """Read a repartitioned table once per source and send its filtered rows to every node
    (each keeps its partitions while loading), rather than once per destination with the
    partition condition: when parsing those rows on every node costs less than scanning
    the whole table once more per node. Without a filter, or the table's size, per destination."""
    if not need.filter or estimate.whole is None:
        return False
    return estimate.rows * nodes <= estimate.whole


# -- conjuncts a filtered copy satisfies ---------------------------------------------------


def _without_pushed_conjuncts(sql: str, refs: Mapping[int, DistTable], columns: Mapping[TableKey, Sequence[str]],
                              scratch: Mapping[int, str], filtered: Mapping[int, str] | None = None,
                              ) -> tuple[str, dict[TableKey, Needs]] | None:
    """The statement over the scratch copies with each conjunct that a moved table's filter
    already applied (gather.pushed_conjuncts; the table read by that one reference only)
    reading `true`, and what the statement then needs of those tables: a column that only
    such conjuncts used does not move (TPC-H Q13's o_comment). None when nothing drops."""
    keys = {loc: t.key for loc, t in refs.items()}
    counts = Counter(keys.values())
    pushed = pushed_conjuncts(sql, keys, columns)
    drop = {c for loc in scratch if counts[keys[loc]] == 1 for c in pushed.get(loc, ())}
    if not drop:
        return None
    full = parse_sql(sql)[0].stmt
    before = [n.location for n in _nodes(full, ast.RangeVar)]
    for node in _nodes(full, ast.Node):
        for attr in ("whereClause", "quals"):
            if isinstance(getattr(node, attr, None), ast.Node):
                setattr(node, attr, _true_where(getattr(node, attr), drop))
    try:
        text = str(RawStream()(full))
        again = parse_sql(text)[0].stmt
    except Exception:  # noqa: BLE001 - a statement pglast cannot print back keeps its conjuncts
        return None
    after = [n.location for n in _nodes(again, ast.RangeVar)]
    if len(before) != len(after):
        return None
    moved = dict(zip(before, after))
    narrower = table_needs(text, {moved[loc]: key for loc, key in keys.items()}, columns)
    changed = {keys[loc] for loc in scratch if counts[keys[loc]] == 1}
    rewritten = _rewrite(text, again, {moved[loc]: name for loc, name in scratch.items()},
                         {moved[loc]: f for loc, f in (filtered or {}).items()})
    return rewritten, {k: v for k, v in narrower.items() if k in changed}


def _true_where(expr: ast.Node, drop: set[tuple[str, int]]) -> ast.Node:
    if (type(expr).__name__, getattr(expr, "location", None)) in drop:
        return ast.A_Const(val=ast.Boolean(boolval=True))
    if isinstance(expr, ast.BoolExpr) and expr.boolop == 0:  # AND_EXPR: its conjuncts
        expr.args = tuple(_true_where(a, drop) for a in expr.args)
    return expr


# -- moves that may drop rows ------------------------------------------------------------


def _reduction(key: tuple[TableKey, str | None], replace: Mapping[int, tuple[TableKey, str | None]],
               local: _Locality, anchor: DistTable, anchor_filter: str | None) -> str | None:
    """The anchor's filter when every reference of a repartitioned move is equated on its
    key to a reference of the anchor's table (so a row whose key no filtered anchor row has
    joins nothing, matches no correlation, is in no IN list), else None."""
    if key[1] is None or not anchor_filter:
        return None
    locations = [loc for loc, k in replace.items() if k == key]
    for location in locations:
        via = local.via.get(location)
        if via is None or local.tables.refs[via].key != anchor.key or local.keys.get(via) is not None:
            return None
    return anchor_filter if locations else None


# -- moves that may drop duplicate rows -------------------------------------------------

# Types whose equality DISTINCT can use and whose equal values are interchangeable here.
DISTINCT_TYPES = frozenset({16, 20, 21, 23, 25, 26, 1042, 1043, 1082, 1114, 1184, 1700, 2950})


def _duplicates_free(key: tuple[TableKey, str | None], replace: Mapping[int, tuple[TableKey, str | None]],
                     semi: set[int], needs: Mapping[TableKey, Needs],
                     types: Mapping[TableKey, Mapping[str, int]]) -> bool:
    """Whether every reference a move serves reads it only for existence (EXISTS, IN), so
    its duplicate rows (over the columns moved) change nothing."""
    locations = [loc for loc, k in replace.items() if k == key]
    columns = needs.get(key[0], Needs(None, None)).columns
    if not locations or columns is None or not all(loc in semi for loc in locations):
        return False
    known = types.get(key[0], {})
    return all(known.get(c) in DISTINCT_TYPES for c in columns)


def semi_join_tables(sql: str, refs: Mapping[int, DistTable]) -> frozenset[TableKey]:
    """The sharded tables every reference of which is read only for existence (EXISTS,
    IN: `_semi_join_references`): a move of them may send their distinct rows, whose
    number the planner asks for (planner/estimates.table_requests)."""
    semi = _semi_join_references(sql)
    by_table: dict[TableKey, list[int]] = {}
    for location, table in refs.items():
        by_table.setdefault(table.key, []).append(location)
    return frozenset(k for k, locs in by_table.items()
                     if refs[locs[0]].method in SHARDED and all(loc in semi for loc in locs))


def _semi_join_references(sql: str) -> set[int]:
    """Locations of table references in the top-level FROM of an EXISTS or IN subquery
    that neither aggregates, groups, limits, numbers rows nor uses DISTINCT ON."""
    out: set[int] = set()
    for link in _nodes(parse_sql(sql)[0].stmt, ast.SubLink):
        sub = link.subselect
        if link.subLinkType not in (SubLinkType.EXISTS_SUBLINK, SubLinkType.ANY_SUBLINK) \
                or not isinstance(sub, ast.SelectStmt) or sub.op != SetOperation.SETOP_NONE:
            continue
        if sub.groupClause or sub.havingClause or sub.limitCount or sub.limitOffset or sub.windowClause \
                or sub.distinctClause is not None or _has_aggregate_or_window((sub.targetList, sub.sortClause)):
            continue
        stack = list(sub.fromClause or ())
        while stack:
            item = stack.pop()
            if isinstance(item, ast.RangeVar):
                out.add(item.location)
            elif isinstance(item, ast.JoinExpr):
                stack += [item.larg, item.rarg]
    return out


# -- which references stay in place ------------------------------------------------------

# The extended hash function of each type a copy can be repartitioned on, by the type's
# name (as planner/hashing.canonical_type_name gives it) and OID: the support function 2 of
# the type's default hash operator class, which a datanode's PARTITION BY HASH uses, for
# every type gridpg distributes by (planner/hashing.py) but bytea, whose function takes
# `internal`. Each one checked against PostgreSQL's own partition routing
# (tests/integration/test_exchange.py::test_remainder_sql_is_postgresql_partition_hash).
# MERGE's staging, INSERT ... SELECT's split on the datanodes, the exchange's repartition
# and the placement checks of plain-layout tables (commands/partitions.py) take them.
_EXTENDED_HASH = {("int8", 20): "hashint8extended", ("int2", 21): "hashint2extended",
                  ("int4", 23): "hashint4extended", ("text", 25): "hashtextextended",
                  ("varchar", 1043): "hashtextextended", ("bpchar", 1042): "hashbpcharextended",
                  ("name", 19): "hashnameextended", ("bool", 16): "hashboolextended",
                  ("oid", 26): "hashoidextended", ("numeric", 1700): "hash_numeric_extended",
                  ("date", 1082): "hashdateextended", ("time", 1083): "time_hash_extended",
                  ("timestamp", 1114): "timestamp_hash_extended",
                  ("timestamptz", 1184): "timestamptz_hash_extended",
                  ("interval", 1186): "interval_hash_extended", ("uuid", 2950): "uuid_hash_extended"}
REPARTITION_HASH = {oid: function for (_, oid), function in _EXTENDED_HASH.items()}
REPARTITION_TYPE_OIDS = {name: oid for name, oid in _EXTENDED_HASH}  # by canonical type name
REPARTITION_TYPES = frozenset(REPARTITION_HASH)
HASH_PARTITION_SEED = 0x7A5B22367996DCFD  # partition.h
HASH_COMBINE64_CONSTANT = 0x49A0F4DD15E5A8E3  # hashfn.h


def remainder_sql(column: str, type_oid: int, modulus: int, function: str | None = None) -> str:
    """SQL computing the hash-partition remainder PostgreSQL gives `column` (already quoted)
    in a table of `modulus` partitions: hash_combine64(0, <type>extended(v, seed)) % modulus
    in unsigned 64-bit arithmetic; NULL goes to remainder 0 as in PostgreSQL.

    A power-of-two modulus divides 2**64, so only the low bits matter: bigint `&` on the
    two's-complement hash gives them without numeric arithmetic (about 4x cheaper per row)."""
    function = function or REPARTITION_HASH[type_oid]
    modulus = int(modulus)
    if 0 < modulus <= 1 << 62 and modulus & (modulus - 1) == 0:
        mask = modulus - 1
        return (f"coalesce((({function}({column}, {HASH_PARTITION_SEED}) & {mask}) + "
                f"{HASH_COMBINE64_CONSTANT & mask}) & {mask}, 0)")
    return (f"coalesce((({function}({column}, {HASH_PARTITION_SEED})::numeric + "
            f"{HASH_COMBINE64_CONSTANT} + 18446744073709551616) % 18446744073709551616) % {int(modulus)}, 0)")


class _Locality:
    """The references whose rows, on each node, are exactly those that node's anchor rows
    join: the anchor; references equated to a local reference's partitioning column in
    the top-level FROM/WHERE, or in a WHERE subquery correlated to it (any depth), or
    `local.key IN (SELECT r.col ...)`. Such a reference is *native* (colocated with the
    anchor on its own distribution column: `keys[loc] is None`) or *repartitioned* by the
    column it is equated on (`keys[loc] = column`, hash anchors only, same column type)."""

    def __init__(self, anchor: int, tables: _Tables, rekey: tuple[str, DistTable] | None = None) -> None:
        self.tables = tables
        # whose partitions the local rows follow: the anchor's table, or with `rekey`
        # (column, layout) the layout table, the anchor itself repartitioned by that column
        self.first = tables.refs[anchor] if rekey is None else rekey[1]
        self.keys: dict[int, str | None] = {anchor: None if rekey is None else rekey[0]}
        self.via: dict[int, int] = {}  # repartitioned reference -> the local one it is equated to
        self.rekeyed = rekey is not None
        if rekey is None:
            self.key_type = tables.types.get(self.first.key, {}).get(self.first.column or "")
        else:
            self.key_type = tables.types.get(tables.refs[anchor].key, {}).get(rekey[0])

    def collect(self, stmt: ast.SelectStmt, top: list[_Leaf]) -> None:
        if self.first.method == "roundrobin" and not isinstance(self, _KeyFinder):
            return
        pairs = [(_owner(a, top), _owner(b, top)) for a, b in _equalities(_top_conditions(stmt))]
        changed = True
        while changed:
            changed = False
            for left, right in pairs:
                if left is None or right is None:
                    continue
                for mine, other in ((left, right), (right, left)):
                    if mine[0] in self.keys and other[0] not in self.keys and self.link(mine, other):
                        changed = True
        self._subqueries(stmt.whereClause, [top])

    def key_of(self, location: int) -> str | None:
        key = self.keys[location]
        return key if key is not None else self.tables.refs[location].column

    def link(self, local: tuple[int, str], other: tuple[int, str]) -> bool:
        """Make `other` local when it is equated to `local`'s partitioning column."""
        if self.key_of(local[0]) != local[1] or other[0] in self.keys:
            return False
        table = self.tables.refs[other[0]]
        if table.method in ("hash", "modulo") and table.column == other[1] \
                and self.tables.colocated(self.first, table) \
                and (not self.rekeyed or self.tables.types.get(table.key, {}).get(other[1]) == self.key_type):
            self.keys[other[0]] = None  # (rekeyed: hashed as the repartitioned key is, same type)
            return True
        column_type = self.tables.types.get(table.key, {}).get(other[1])
        if self.first.method == "hash" and table.method in SHARDED and column_type is not None \
                and column_type == self.key_type and column_type in REPARTITION_TYPES:
            self.keys[other[0]] = other[1]
            self.via[other[0]] = local[0]
            return True
        return False

    def _subqueries(self, where: object, enclosing: list[list[_Leaf]]) -> None:
        keys = {location: table.key for location, table in self.tables.refs.items()}
        for link, alone in _where_subqueries(where):
            sub = link.subselect
            inner: list[_Leaf] = []
            for item in sub.fromClause or ():
                _leaves(item, keys, self.tables.columns, inner)
            for a, b in _equalities(_conjuncts(sub.whereClause)):
                for x, y in ((a, b), (b, a)):
                    mine = _owner(x, inner)
                    outer = _outer_owner(y, inner, enclosing)
                    if mine is not None and outer is not None and outer[0] in self.keys:
                        self.link(outer, mine)
            # an IN whose NULL answer tells apart from false (NOT IN, `(k IN (...)) = false`)
            # sees every NULL of the whole subquery: not local
            if alone:
                self._in_subquery(link, inner, enclosing)
            self._subqueries(sub.whereClause, [inner, *enclosing])

    def _in_subquery(self, link: ast.SubLink, inner: list[_Leaf], enclosing: list[list[_Leaf]]) -> None:
        """`a.k IN (SELECT r.c FROM r ... [GROUP BY r.c ...])`: r's rows for a's key can be
        made local (a subquery without GROUP BY must not aggregate)."""
        sub = link.subselect
        if link.subLinkType != SubLinkType.ANY_SUBLINK or not isinstance(link.testexpr, ast.ColumnRef):
            return
        if link.operName and [n.sval for n in link.operName] != ["="]:
            return
        targets = sub.targetList or ()
        if len(targets) != 1 or not isinstance(targets[0].val, ast.ColumnRef) or sub.limitCount \
                or sub.limitOffset or sub.windowClause:
            return
        outer = _owner(link.testexpr, enclosing[0])
        mine = _owner(targets[0].val, inner)
        if outer is None or mine is None or outer[0] not in self.keys:
            return
        grouped = [_owner(g, inner) for g in sub.groupClause or () if isinstance(g, ast.ColumnRef)]
        if sub.groupClause and mine not in grouped:
            return
        if not sub.groupClause and (sub.havingClause or _has_aggregate_or_window((targets, sub.sortClause))):
            return
        self.link(outer, mine)


class _KeyFinder(_Locality):
    """Collects what the anchor's columns are equated to (`found`: (anchor column,
    (location, column))), where `_Locality` would make the other side local; links nothing."""

    def __init__(self, anchor: int, tables: _Tables) -> None:
        super().__init__(anchor, tables)
        self.anchor = anchor
        self.found: list[tuple[str, tuple[int, str]]] = []

    def link(self, local: tuple[int, str], other: tuple[int, str]) -> bool:
        if local[0] == self.anchor and other[0] != self.anchor:
            self.found.append((local[1], other))
        return False


def _groups_by_partitioning(stmt: ast.SelectStmt, top: list[_Leaf], local: _Locality) -> bool:
    """Whether a GROUP BY item is a local reference's partitioning column: then every
    group's rows are on one node and the node's groups are final. Not a reference on the
    nullable side of an outer join: its column is NULL in the rows the join adds, on
    every node, so the NULL group would come once per node (`GROUP BY b.y` of `a LEFT
    JOIN b ON a.x = b.y`)."""
    nullable = _nullable_side(stmt.fromClause or ())
    for item in stmt.groupClause or ():
        owner = _owner(item, top) if isinstance(item, ast.ColumnRef) else None
        if owner is not None and owner[0] in local.keys and owner[0] not in nullable \
                and local.key_of(owner[0]) == owner[1]:
            return True
    return False


def _nullable_side(items: Sequence[object]) -> set[int]:
    """The locations of the references on the nullable side of an outer join."""
    out: set[int] = set()
    for item in items:
        for join in _nodes(item, ast.JoinExpr):
            sides = {JoinType.JOIN_LEFT: (join.rarg,), JoinType.JOIN_RIGHT: (join.larg,),
                     JoinType.JOIN_FULL: (join.larg, join.rarg)}.get(join.jointype, ())
            out |= {n.location for side in sides for n in _nodes(side, ast.RangeVar)}
    return out


def _outer_join_blocker(items: Sequence[object], local: set[int]) -> str | None:
    for item in items:
        for join in _nodes(item, ast.JoinExpr):
            left = _has_local(join.larg, local)
            right = _has_local(join.rarg, local)
            if join.jointype == JoinType.JOIN_LEFT and right and not left:
                return "the anchor is on the nullable side of a LEFT JOIN"
            if join.jointype == JoinType.JOIN_RIGHT and left and not right:
                return "the anchor is on the nullable side of a RIGHT JOIN"
            if join.jointype == JoinType.JOIN_FULL and (left or right):
                return "the anchor is under a FULL JOIN"
    return None


def _has_local(item: object, local: set[int]) -> bool:
    return any(isinstance(n, ast.RangeVar) and n.location in local for n in _nodes(item, ast.RangeVar)
               if not _inside_subselect(item, n))


def _inside_subselect(root: object, target: ast.RangeVar) -> bool:
    for sub in _nodes(root, ast.RangeSubselect):
        if any(n is target for n in _nodes(sub, ast.RangeVar)):
            return True
    return False


# -- conditions and column owners ------------------------------------------------------------


def _top_conditions(stmt: ast.SelectStmt) -> list[object]:
    """Top-level WHERE conjuncts and the ON conjuncts of the top-level joins."""
    out = list(_conjuncts(stmt.whereClause))
    stack = list(stmt.fromClause or ())
    while stack:
        item = stack.pop()
        if isinstance(item, ast.JoinExpr):
            out.extend(_conjuncts(item.quals))
            stack += [item.larg, item.rarg]
    return out


def _equalities(conds: Sequence[object]) -> list[tuple[ast.ColumnRef, ast.ColumnRef]]:
    out = []
    for cond in conds:
        if isinstance(cond, ast.A_Expr) and cond.kind == 0 and len(cond.name) == 1 \
                and cond.name[0].sval == "=" and isinstance(cond.lexpr, ast.ColumnRef) \
                and isinstance(cond.rexpr, ast.ColumnRef):
            out.append((cond.lexpr, cond.rexpr))
    return out


def _names(ref: ast.ColumnRef) -> list[str] | None:
    fields = ref.fields or ()
    if not all(isinstance(f, ast.String) for f in fields):
        return None
    return [f.sval for f in fields]


def _owner(ref: ast.ColumnRef, leaves: list[_Leaf]) -> tuple[int, str] | None:
    """(reference location, column) a column reference resolves to among `leaves` (one
    SELECT's FROM items), or None when it is not a distributed table's column there."""
    names = _names(ref)
    if not names:
        return None
    if len(names) >= 2:
        hits = [x for x in leaves if x.exposed == names[-2]]
        if len(hits) == 1 and hits[0].location is not None:
            return hits[0].location, names[-1]
        return None
    owners = [x for x in leaves if x.columns is None or names[0] in x.columns]
    if len(owners) == 1 and owners[0].location is not None and owners[0].columns is not None:
        return owners[0].location, names[0]
    return None


def _outer_owner(ref: ast.ColumnRef, inner: list[_Leaf],
                 enclosing: list[list[_Leaf]]) -> tuple[int, str] | None:
    """The enclosing query's column a subquery's column reference is correlated to (levels
    nearest first), or None when it may be the subquery's own or cannot be told."""
    names = _names(ref)
    if not names:
        return None
    if len(names) >= 2:
        if any(x.exposed == names[-2] for x in inner):
            return None
        for level in enclosing:
            if any(x.exposed == names[-2] for x in level):
                return _owner(ref, level)
        return None
    if any(x.columns is None or names[0] in x.columns for x in inner):
        return None  # the subquery's own column (or maybe: its FROM has unknown columns)
    for level in enclosing:
        if any(x.columns is None or names[0] in x.columns for x in level):
            return _owner(ref, level)
    return None


def _where_subqueries(where: object) -> list[tuple[ast.SubLink, bool]]:
    """SubLinks among the top-level WHERE conjuncts (EXISTS, IN, comparisons, under NOT),
    each with whether it is the conjunct itself: then a row passes only when it is true,
    so its false and its NULL reject alike (under NOT or in `(k IN (...)) = false`, a NULL
    from the subquery's NULLs rejects a row that false would keep)."""
    out = []
    for cond in _conjuncts(where):
        node = cond
        alone = True
        if isinstance(node, ast.BoolExpr) and node.boolop == 2 and len(node.args) == 1:  # NOT
            node = node.args[0]
            alone = False
        candidates = [node] if isinstance(node, ast.SubLink) else [
            getattr(node, side) for side in ("lexpr", "rexpr") if isinstance(node, ast.A_Expr)
        ]
        for link in candidates:
            if isinstance(link, ast.SubLink) and isinstance(link.subselect, ast.SelectStmt) \
                    and link.subselect.op == SetOperation.SETOP_NONE:
                out.append((link, alone and link is cond))
    return out


# -- groups final on each node -------------------------------------------------------------


def merge_over_final_groups(sql: str) -> str | None:
    """For a statement whose groups are final on each node (`BroadcastPlan.groups_final`):
    `SELECT <its output names> FROM (<it without ORDER BY, LIMIT, OFFSET>) AS gp_groups
    ORDER BY ... LIMIT ...`, which the sorted merge runs (each node sorts and limits its groups). None when
    an ORDER BY item is not an output column's name or position (it could not be read
    from the nodes' rows), or an output column has no name of its own."""
    stmt = parse_sql(sql)[0].stmt
    names = []
    for target in stmt.targetList or ():
        if target.name:
            names.append(target.name)
        elif isinstance(target.val, ast.ColumnRef) and isinstance(target.val.fields[-1], ast.String):
            names.append(target.val.fields[-1].sval)
        elif isinstance(target.val, ast.FuncCall) and target.val.over is None:
            names.append(target.val.funcname[-1].sval)  # PostgreSQL names it after the function
        else:
            return None
    if len(set(names)) != len(names) or stmt.limitOption == LimitOption.LIMIT_OPTION_WITH_TIES:
        return None
    outputs = {tuple(_names(t.val) or ()): n for t, n in zip(stmt.targetList, names)
               if isinstance(t.val, ast.ColumnRef)}
    for item in stmt.sortClause or ():
        node = item.node
        if isinstance(node, ast.A_Const) and isinstance(node.val, ast.Integer) and 1 <= node.val.ival <= len(names):
            continue
        written = tuple(_names(node) or ()) if isinstance(node, ast.ColumnRef) else ()
        if len(written) > 1 and written in outputs:  # ORDER BY t.c where t.c is an output column
            item.node = ast.ColumnRef(fields=(ast.String(sval=outputs[written]),))
            continue
        if not (len(written) == 1 and written[0] in names):
            return None
    order, count, offset, option = stmt.sortClause, stmt.limitCount, stmt.limitOffset, stmt.limitOption
    stmt.sortClause, stmt.limitCount, stmt.limitOffset = None, None, None
    stmt.limitOption = LimitOption.LIMIT_OPTION_DEFAULT
    outer = ast.SelectStmt(targetList=tuple(ast.ResTarget(val=ast.ColumnRef(fields=(ast.String(sval=n),)))
                                            for n in names),
                           fromClause=(ast.RangeSubselect(subquery=stmt, alias=ast.Alias(aliasname="gp_groups")),),
                           sortClause=order, limitCount=count, limitOffset=offset, limitOption=option,
                           op=SetOperation.SETOP_NONE, all=False, groupDistinct=False)
    return str(RawStream()(outer))


# -- key filters: a local reference reads only the keys of a small broadcast copy ------------

KEY_FILTER_ROWS = 10000  # a broadcast copy of at most this many rows (estimated) ...
KEY_FILTER_SHARE = 0.05  # ... holding at most this share of its table's rows cuts what it is equated to
SYSTEM_COLUMNS = frozenset({"ctid", "tableoid", "xmin", "xmax", "cmin", "cmax"})


def is_key_filter_worth(estimate: TableEstimate) -> bool:
    """Whether a broadcast copy is few and selective enough that a local table equated to
    it should be read only for its keys (`col = ANY(ARRAY(SELECT DISTINCT key ... ORDER BY 1))`, one
    index scan per shard). Left to the node's planner, the join costs one lookup through
    every shard's index per copied row, which it prices above a whole scan of the big
    table (TPC-H Q08: all of lineitem for 1,451 parts); the key list it cannot estimate
    reads as few rows, and it then probes the colocated tables by index too."""
    if estimate.whole is None or estimate.whole <= 0:
        return False
    return estimate.rows <= KEY_FILTER_ROWS and estimate.rows <= KEY_FILTER_SHARE * estimate.whole


def key_filter_probes(sql: str, refs: Mapping[int, DistTable], columns: Mapping[TableKey, Sequence[str]],
                      types: Mapping[TableKey, Mapping[str, int]],
                      aggregates: frozenset[str] = BUILTIN_AGGREGATES) -> list[tuple[TableKey, str]]:
    """The (sharded table, column) pairs a key filter could cut: both sides of each
    equality of two sharded tables' columns of one type that every result row satisfies.
    Whether an index serves a key-list lookup on them is asked of the nodes
    (planner/estimates.probe_requests)."""
    stmt = parse_sql(sql)[0].stmt
    if not isinstance(stmt, ast.SelectStmt) or stmt.op != SetOperation.SETOP_NONE:
        return []
    stmt, _ = _core(stmt, aggregates)
    top: list[_Leaf] = []
    for item in stmt.fromClause or ():
        _leaves(item, {loc: t.key for loc, t in refs.items()}, columns, top)
    out = []
    for a, b in _equalities(_inner_conditions(stmt)):
        sides = [_owner(a, top), _owner(b, top)]
        if None in sides:
            continue
        tables = [refs[s[0]] for s in sides if s is not None]
        kinds = [types.get(t.key, {}).get(s[1]) for t, s in zip(tables, sides) if s is not None]
        if all(t.method in SHARDED for t in tables) and kinds[0] in DISTINCT_TYPES and kinds[0] == kinds[1]:
            out += [(t.key, s[1]) for t, s in zip(tables, sides) if s is not None]
    return out


def _inner_conditions(stmt: ast.SelectStmt) -> list[object]:
    """The top-level WHERE conjuncts and the ON conjuncts of the joins reached from the top
    through inner joins only: every result row satisfies each of them."""
    out = list(_conjuncts(stmt.whereClause))
    stack = list(stmt.fromClause or ())
    while stack:
        item = stack.pop()
        if isinstance(item, ast.JoinExpr) and item.jointype == JoinType.JOIN_INNER:
            out.extend(_conjuncts(item.quals))
            stack += [item.larg, item.rarg]
    return out


def _key_filters(sql: str, stmt: ast.SelectStmt, top: list[_Leaf], local: _Locality,
                 replace: Mapping[int, tuple[TableKey, str | None]], scratch: Mapping[tuple[TableKey, str | None], str],
                 rows: Mapping[TableKey, TableEstimate]) -> tuple[dict[int, str], tuple[str, ...]]:
    """Per native local reference equated (`_inner_conditions`) to a broadcast copy worth it
    (`is_key_filter_worth`) on a column of the same type that an index serves: the
    subquery it reads instead, `(SELECT * FROM t WHERE col = ANY(ARRAY(SELECT key FROM
    copy)))` (implied by the equality, so the answer cannot change); and EXPLAIN lines."""
    refs, types = local.tables.refs, local.tables.types
    if not _filterable(sql):
        return {}, ()
    whole_tables = {n.location for n in _nodes(stmt, ast.RangeVar) if n.inh}  # not ONLY
    conds: dict[int, list[str]] = {}
    lines = []
    for a, b in _equalities(_inner_conditions(stmt)):
        for x, y in ((a, b), (b, a)):
            mine, other = _owner(x, top), _owner(y, top)
            if mine is None or other is None or local.keys.get(mine[0], "") is not None \
                    or mine[0] not in whole_tables:
                continue
            move = replace.get(other[0])
            table, copy = refs[mine[0]], refs[other[0]]
            estimate = rows.get(copy.key, NO_ESTIMATE)
            if move is None or move[1] is not None or not is_key_filter_worth(estimate) \
                    or mine[1] not in rows.get(table.key, NO_ESTIMATE).indexed:
                continue
            kind = types.get(table.key, {}).get(mine[1])
            if kind is None or kind != types.get(copy.key, {}).get(other[1]):
                continue
            # sorted and distinct: the index scan sorts its key array on every rescan (a
            # nested loop's probe), which costs one pass over an array sorted already
            keys = f"SELECT DISTINCT {quote_ident(other[1])} FROM {SCRATCH_SCHEMA}.{quote_ident(scratch[move])} ORDER BY 1"
            conds.setdefault(mine[0], []).append(f"{quote_ident(mine[1])} = ANY(ARRAY({keys}))")
            lines.append(f"{table.name}.{mine[1]} read only for the keys of {copy.name}.{other[1]} "
                         f"(~{estimate.rows:.0f} of ~{estimate.whole:.0f} rows; an index serves the lookup)")
    filtered = {loc: f"(SELECT * FROM {quote_qualified(refs[loc].schema, refs[loc].name)} WHERE {' AND '.join(c)})"
                for loc, c in conds.items()}
    return filtered, tuple(dict.fromkeys(lines))


def _copy_lookups(stmt: ast.SelectStmt, top: list[_Leaf], replace: Mapping[int, tuple[TableKey, str | None]],
                  local: Mapping[int, str | None]) -> dict[tuple[TableKey, str | None], tuple[str, ...]]:
    """Per broadcast copy: its columns equated (`_inner_conditions`) to a local reference or
    another copy.
    A key filter's list reads to the node's planner as a few rows, and what joins them as
    fewer still: it may then probe a copy once per row, which an index makes a lookup
    instead of a scan of the copy (TPC-H Q08 at SF 0.1: 691 scans of 2,977 customers)."""
    out: dict[tuple[TableKey, str | None], set[str]] = {}
    for a, b in _equalities(_inner_conditions(stmt)):
        for x, y in ((a, b), (b, a)):
            owner, other = _owner(x, top), _owner(y, top)
            move = replace.get(owner[0]) if owner is not None else None
            if owner is None or other is None or move is None or move[1] is not None:
                continue
            if other[0] in local or other[0] in replace:  # not a replicated table left in place
                out.setdefault(move, set()).add(owner[1])
    return {k: tuple(sorted(v)) for k, v in out.items()}


def _filterable(sql: str) -> bool:
    """A reference can read a subquery under its own name: no column is named through its
    schema (`s.t.c`) and no system column is read (a subquery has none)."""
    for ref in _nodes(parse_sql(sql)[0].stmt, ast.ColumnRef):
        fields = ref.fields or ()
        names = [f.sval for f in fields if isinstance(f, ast.String)]
        if len(fields) > 2 or (names and names[-1] in SYSTEM_COLUMNS):
            return False
    return True


# -- semi-joins with replicated tables pushed into what moves -----------------------------------

SEMI_JOIN_NODES = (ast.A_Expr, ast.BoolExpr, ast.NullTest, ast.BooleanTest, ast.TypeCast, ast.TypeName,
                   ast.A_Const, ast.ColumnRef, ast.String, ast.Integer, ast.Float, ast.Boolean)


def with_replicated_semi_joins(sql: str, refs: Mapping[int, DistTable], columns: Mapping[TableKey, Sequence[str]],
                               needs: Mapping[TableKey, Needs], complete: frozenset[TableKey],
                               aggregates: frozenset[str] = BUILTIN_AGGREGATES) -> dict[TableKey, Needs]:
    """`needs` with each sharded table read by one reference, equated (`_inner_conditions`)
    to a column of a replicated table complete on every node, cut to the rows whose
    column value that replicated table has under the conditions that join it to other
    such tables: `c_nationkey IN (SELECT n1.n_nationkey FROM nation AS n1, region WHERE
    n1.n_regionkey = r_regionkey AND r_name = 'AMERICA')` (TPC-H Q08 moves a fifth of
    customer). Every result row satisfies those conditions, so no row that can matter is
    cut, whether the table moves, stays or is gathered."""
    out = dict(needs)
    stmt = parse_sql(sql)[0].stmt
    if not isinstance(stmt, ast.SelectStmt) or stmt.op != SetOperation.SETOP_NONE:
        return out
    counts = Counter(t.key for t in refs.values())
    stmt, _ = _core(stmt, aggregates)
    top: list[_Leaf] = []
    for item in stmt.fromClause or ():
        _leaves(item, {loc: t.key for loc, t in refs.items()}, columns, top)
    leaves = {x.location: x for x in top if x.location is not None and x.columns is not None}
    replicated = {loc for loc in leaves if refs[loc].key in complete and refs[loc].method == "replication"}
    conds = [(c, _owners(c, top)) for c in _inner_conditions(stmt)]
    for a, b in _equalities([c for c, _ in conds]):
        for x, y in ((a, b), (b, a)):
            mine, other = _owner(x, top), _owner(y, top)
            if mine is None or other is None or other[0] not in replicated or mine[0] not in leaves:
                continue
            table = refs[mine[0]]
            if table.method not in SHARDED or counts[table.key] != 1:
                continue
            cut = _replicated_subquery(other, conds, replicated, leaves, refs)
            if cut is None:
                continue
            need = out.get(table.key, Needs(None, None))
            text = f"{quote_ident(mine[1])} IN ({cut})"
            if need.filter and text in need.filter:
                continue
            out[table.key] = Needs(need.columns, f"({need.filter}) AND {text}" if need.filter else text)
    return out


def _owners(cond: object, top: list[_Leaf]) -> frozenset[int] | None:
    """The references a safe conjunct reads (None: it is not a plain condition over the
    top-level references' columns)."""
    found = set()
    for node in _nodes(cond, ast.Node):
        if not isinstance(node, SEMI_JOIN_NODES):
            return None
        if isinstance(node, ast.ColumnRef):
            owner = _owner(node, top)
            if owner is None:
                return None
            found.add(owner[0])
    return frozenset(found)


def _replicated_subquery(start: tuple[int, str], conds: Sequence[tuple[object, frozenset[int] | None]],
                         replicated: set[int], leaves: Mapping[int, _Leaf], refs: Mapping[int, DistTable]) -> str | None:
    """`SELECT r.c FROM <the replicated references joined to r> WHERE <their conditions>`,
    or None when no condition cuts them (the IN would keep every row with a partner)."""
    group = {start[0]}
    chosen: list[object] = []
    changed = True
    while changed:
        changed = False
        for cond, owners in conds:
            if owners and owners <= replicated and owners & group and not any(cond is c for c in chosen):
                group |= owners
                chosen.append(cond)
                changed = True
    names = ", ".join(f"{quote_qualified(refs[loc].schema, refs[loc].name)} AS {quote_ident(leaves[loc].exposed)}"
                      for loc in sorted(group))
    if not chosen:
        return None
    where = " AND ".join(f"({RawStream()(c)})" for c in chosen)
    return f"SELECT {quote_ident(leaves[start[0]].exposed)}.{quote_ident(start[1])} FROM {names} WHERE {where}"


# -- rewriting ---------------------------------------------------------------------------------


def _rewrite(sql: str, stmt: ast.SelectStmt, scratch: Mapping[int, str], filtered: Mapping[int, str] | None = None) -> str:
    """`sql` with the references at these locations reading their scratch copies, and
    those in `filtered` reading that subquery (under their own name) instead."""
    filtered = filtered or {}
    if not scratch and not filtered:
        return sql
    tokens = sqlparse.tokens(sql)
    starts = {tok.start: i for i, tok in enumerate(tokens)}
    spans = []
    for node in _nodes(stmt, ast.RangeVar):
        name = scratch.get(node.location)
        if name is None and node.location not in filtered:
            continue
        index = starts[node.location]
        end = tokens[index + (2 if node.schemaname else 0)].end + 1
        alias = "" if node.alias is not None else f" AS {quote_ident(node.relname)}"
        what = f"{SCRATCH_SCHEMA}.{quote_ident(name)}" if name is not None else filtered[node.location]
        spans.append((node.location, end, f"{what}{alias}"))
    out, pos = [], 0
    for start, end, text in sorted(spans):
        out += [sql[pos:start], text]
        pos = end
    out.append(sql[pos:])
    return "".join(out)
