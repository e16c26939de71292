"""Strategy 1, the router: every distributed table pinned to one node by `col = value` /
`col IN (...)` (constants or bound parameters), or only reference tables: the whole
statement goes to that node. The static part (`RouterSpec`, which values pin which
tables) is read once per statement text; `route` binds it to one execution's values."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gridpg.catalog.model import CatalogSnapshot, DistTable
from gridpg.planner import analyze
from gridpg.planner.context import UNKNOWN, BoundParams, value_text
from gridpg.planner.hashing import shard_for_text
from gridpg.planner.plan import Fragment, NotApplicable, RouterPlan, Strategy
from gridpg.planner.pushdown import Resolved, all_top_level


@dataclass(frozen=True)
class RouterSpec:
    """The static part of the router: which values pin which tables."""

    pins: tuple[tuple[DistTable, tuple[analyze.Value, ...]], ...]
    fixed_group: str | None
    writes: bool
    references: tuple[DistTable, ...]
    # reference tables whose rows a FOR UPDATE/SHARE locks: every locker and writer of such
    # a table locks its rows on the table's first node, so routed elsewhere the lock would
    # be on a replica no one else looks at (two sessions "holding" the same row)
    locked_references: tuple[DistTable, ...] = ()


def route(sql: str, spec: RouterSpec, snapshot: CatalogSnapshot,
          params: BoundParams) -> RouterPlan | NotApplicable:
    """The node for these parameter values, or why there is not exactly one."""
    return decide(sql, spec, pinned_set(spec, snapshot, params))


def static(body: dict[str, Any], resolved: list[Resolved], writes: bool) -> RouterSpec | NotApplicable:
    """What pins the statement to one node, read once from the parse tree."""
    tables = [r.table for r in resolved if r.table is not None]
    if not tables:  # e.g. what is left of a statement once its subplans ran: nothing to route
        return NotApplicable(Strategy.ROUTER, "the statement reads no distributed or replicated table")
    if all(t.method == "replication" for t in tables):
        common = set(tables[0].groups).intersection(*[set(t.groups) for t in tables[1:]])
        if not common:
            return NotApplicable(Strategy.ROUTER, "reference tables live on different node sets")
        if writes:
            if len(tables) == 1 and len(tables[0].groups) == 1:
                return RouterSpec((), tables[0].groups[0], True, ())
            if "relation" not in body:
                # SELECT ... FOR UPDATE/SHARE: the rows are locked on the node every reader
                # and locker of these tables uses (the first common one), as one server would
                return RouterSpec((), min(common), True, ())
            return NotApplicable(Strategy.ROUTER, "a write to a reference table goes to every node")
        return RouterSpec((), min(common), False, ())
    if writes and "relation" in body and resolved[0].table is not None \
            and resolved[0].table.method == "replication":
        # `DELETE FROM ref USING dist WHERE dist.k = 1 AND ...`: pinned by the distributed
        # table, but the target's rows are on every node (written on one, the replicas differ)
        return NotApplicable(Strategy.ROUTER, "a write to a reference table goes to every node")
    if not all_top_level(body, resolved):
        return NotApplicable(Strategy.ROUTER, "distributed tables appear in subqueries or CTEs")
    if "relation" in body and analyze.has_node(body.get("targetList") or [], "SetToDefault"):
        # `UPDATE t SET col = DEFAULT`: a default reading the transaction time is given the
        # block's instant before planning (executor/update_defaults.py), which the routed
        # fast paths, planned once per statement text, would skip
        return NotApplicable(Strategy.ROUTER, "an UPDATE sets a column to its default")
    where = body.get("whereClause")
    sharded = [r for r in resolved if r.table is not None and r.table.method != "replication"]
    found = {id(r): _pin_values(where, r, r.table) for r in sharded if r.table is not None}
    _pin_through_equalities(body, sharded, found)
    pins = []
    for r in sharded:
        values = found[id(r)]
        assert r.table is not None
        if values is None:
            return NotApplicable(Strategy.ROUTER, f'"{r.table.name}" is not pinned by its distribution column')
        pins.append((r.table, tuple(values)))
    references = tuple(r.table for r in resolved if r.table is not None and r.table.method == "replication")
    locked = locked_references(body, resolved) if writes and "relation" not in body else ()
    return RouterSpec(tuple(pins), None, writes, references, locked)


def lock_node(table: DistTable) -> str:
    """The node on which a reference table's rows are locked by FOR UPDATE/SHARE: every
    locker of them uses the same one, as one server would."""
    return min(table.groups)


def locked_references(body: dict[str, Any], resolved: list[Resolved]) -> tuple[DistTable, ...]:
    """The reference tables of the FROM clause that the SELECT's FOR UPDATE/SHARE locks
    (all of them, or those named by `OF`)."""
    clauses = [c.get("LockingClause", {}) for c in body.get("lockingClause") or []]
    if not clauses:
        return ()
    every = any(not c.get("lockedRels") for c in clauses)
    named = {rel.get("RangeVar", {}).get("relname", "") for c in clauses for rel in c.get("lockedRels") or []}
    return tuple(r.table for r in resolved if r.table is not None and r.table.method == "replication"
                 and (every or (r.ref.alias or r.ref.name) in named))


def target_spec(body: dict[str, Any], resolved: list[Resolved]) -> RouterSpec | None:
    """What pins an UPDATE/DELETE's target rows to some nodes, read from its own WHERE
    clause alone (`static` gives up once other distributed tables are read in
    sub-selects): the rows it writes live only there, whatever the sub-selects read."""
    if "relation" not in body or not resolved or resolved[0].table is None:
        return None
    table = resolved[0].table
    values = _pin_values(body.get("whereClause"), resolved[0], table)
    return RouterSpec(((table, tuple(values)),), None, True, ()) if values else None


def _pin_through_equalities(body: dict[str, Any], sharded: list[Resolved],
                            found: dict[int, list[analyze.Value] | None]) -> None:
    """Pin a table its WHERE clause does not pin by the values of one it does, when a
    top-level WHERE conjunct or an ON condition of the FROM clause's joins equates their
    distribution columns (`FROM t1 JOIN t2 ON t1.id = t2.id WHERE t1.id = 1`), both of one
    type: every row of it that reaches the answer has the pinned value (the WHERE clause
    keeps only rows where the pinned column has it, and an unmatched row of a nullable side
    reads no row of the other table). A row of another type could compare equal with
    another text (`'a '::bpchar = 'a'::text`): not followed."""
    by_name = {(r.ref.alias or r.ref.name): r for r in sharded}
    if len(by_name) != len(sharded):
        return
    pairs = _equalities(body)
    changed = True
    while changed:
        changed = False
        for left, right in pairs:
            for a, b in ((left, right), (right, left)):
                ra, rb = by_name.get(a[-2]) if len(a) == 2 else None, by_name.get(b[-2]) if len(b) == 2 else None
                if ra is None or rb is None or ra.table is None or rb.table is None:
                    continue
                if found[id(ra)] is None or found[id(rb)] is not None:
                    continue
                if a[-1] != ra.table.column or b[-1] != rb.table.column or \
                        rb.table.method not in ("hash", "modulo") or \
                        not ra.table.column_type or ra.table.column_type != rb.table.column_type:
                    continue
                found[id(rb)] = found[id(ra)]
                changed = True


def _equalities(body: dict[str, Any]) -> list[tuple[tuple[str, ...], tuple[str, ...]]]:
    """`a.x = b.y` pairs of the top-level WHERE conjuncts and of the ON conditions (and
    USING lists between two tables) of the FROM clause's joins, not inside sub-selects."""
    conds = analyze.conjuncts(body.get("whereClause"))
    pairs = []
    stack = list(body.get("fromClause") or [])
    while stack:
        node = stack.pop()
        join = node.get("JoinExpr") if isinstance(node, dict) else None
        if join is None:
            continue
        conds += analyze.conjuncts(join.get("quals"))
        left, right = (join.get("larg") or {}).get("RangeVar"), (join.get("rarg") or {}).get("RangeVar")
        if left and right:
            names = [(v.get("alias") or {}).get("aliasname") or v["relname"] for v in (left, right)]
            pairs += [((names[0], c["String"]["sval"]), (names[1], c["String"]["sval"]))
                      for c in join.get("usingClause") or [] if "String" in c]
        stack += [join.get("larg"), join.get("rarg")]
    for cond in conds:
        expr = cond.get("A_Expr")
        if expr is None or expr.get("kind") != "AEXPR_OP" or \
                [n.get("String", {}).get("sval") for n in expr.get("name", [])] != ["="]:
            continue
        left_ref, right_ref = analyze.column_ref(expr.get("lexpr") or {}), analyze.column_ref(expr.get("rexpr") or {})
        if left_ref and right_ref:
            pairs.append((left_ref, right_ref))
    return pairs


def _pin_values(where: Any, r: Resolved, table: DistTable) -> list[analyze.Value] | None:
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

    values = analyze.pinning_values(where, matches).get(column)
    if not values:
        return None
    # A value under a cast that may change it pins nothing: the comparison sees the cast's
    # result, not the text hashed as the column's type (`text_col = 'a  '::bpchar` matches 'a').
    column_type = table.column_type or ""
    if not all(v.cast_keeps_value(column_type) for v in values):
        return None
    return values


def decide(sql: str, spec: RouterSpec, groups: set[str] | None) -> RouterPlan | NotApplicable:
    """The router's answer given the nodes the pinned values live on."""
    if spec.fixed_group is not None:
        return RouterPlan((Fragment(spec.fixed_group, sql),), spec.writes, sql=sql)
    if groups is None:
        return NotApplicable(Strategy.ROUTER, "a pinned value cannot be routed")
    for table in spec.references:
        if not groups <= set(table.groups):
            return NotApplicable(Strategy.ROUTER, "a reference table is not on the pinned node")
    if len(groups) != 1:
        return NotApplicable(Strategy.ROUTER, f"the pinned rows are on {len(groups)} nodes")
    for table in spec.locked_references:
        if groups != {lock_node(table)}:
            return NotApplicable(Strategy.ROUTER, f'the rows of reference table "{table.name}" '
                                 "are locked on its first node, not the pinned one")
    return RouterPlan((Fragment(next(iter(groups)), sql),), spec.writes, sql=sql)


def pinned_set(spec: RouterSpec, snapshot: CatalogSnapshot, params: BoundParams) -> set[str] | None:
    """The nodes holding the rows the WHERE clause pins, or None if a value cannot be routed."""
    if spec.fixed_group is not None or not spec.pins:
        return None
    groups: set[str] = set()
    for table, values in spec.pins:
        for value in values:
            text = pin_text(value, table, params)
            group = None if text is UNKNOWN else group_for_value(table, text, snapshot)  # type: ignore[arg-type]
            if group is None:
                return None
            groups.add(group)
    return groups


def pin_text(value: analyze.Value, table: DistTable, params: BoundParams) -> str | None | object:
    """The text of a pinning value to hash as the column's type (`value_text`), or UNKNOWN
    for a parameter whose type is not the column's (`analyze.param_keeps_value`: compared
    converted, a timestamptz with a timestamp column). A cast's type is the one the
    parameter is converted to first (`static` pinned nothing under a cast that changes it)."""
    if not value.param_type_keeps_value(params.oids, table.column_type or ""):
        return UNKNOWN
    return value_text(value, params)


def group_for_value(table: DistTable, text: str | None, snapshot: CatalogSnapshot) -> str | None:
    """The datanode group holding rows whose distribution column has this text value."""
    if table.method == "hash":
        try:
            remainder = shard_for_text(table.column_type or "", text, table.shard_count or 1)
        except (ValueError, TypeError, OverflowError):
            return None
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
