"""Strategy 2b, the sorted merge: ORDER BY / LIMIT / DISTINCT without aggregates over a
pushable FROM clause. Each node sorts and returns its first limit+offset rows into a
catalog temp table (a scratch placeholder), where the final ORDER BY, LIMIT and OFFSET
are applied."""

from __future__ import annotations

from typing import Any

from pglast import ast
from pglast.enums import BoolExprType, LimitOption, SortByDir, SortByNulls
from pglast.stream import RawStream

from gridpg.catalog.model import BUILTIN_AGGREGATES
from gridpg.errors import AMBIGUOUS_COLUMN, PgError
from gridpg.planner import analyze, tableoid
from gridpg.planner.gather import _nodes
from gridpg.planner.plan import Fragment, LockBound, MergePlan, NotApplicable, ScratchNames, Strategy
from gridpg.planner.pushdown import Resolved, has_aggregate
from gridpg.planner.text import quote
from gridpg.planner.twophase import figure_name
from gridpg.sql.parse import parse_sql


def sorted_merge(sql: str, body: dict[str, Any], resolved: list[Resolved], groups: list[str],
                 scratch: ScratchNames, aggregates: frozenset[str] = BUILTIN_AGGREGATES) -> MergePlan | NotApplicable:
    """Each node sorts and limits; the catalog server merges and applies the rest."""
    stmt = parse_sql(sql)[0].stmt
    names = _output_names(stmt)
    _ensure_sort_names_unambiguous(stmt)
    why = _merge_blocker(body, names, len(resolved), aggregates)
    if why:
        return NotApplicable(Strategy.MERGE, why)
    count, offset = _limit_texts(stmt, body)
    if (body.get("limitCount") and count is None) or (body.get("limitOffset") and offset is None):
        return NotApplicable(Strategy.MERGE, "LIMIT/OFFSET are not constants (nor, with a row lock, parameters)")
    offset = None if offset == "0" else offset
    taken = _rows_taken(count, offset)  # the rows each node returns and PostgreSQL locks
    # FOR UPDATE/SHARE that waits, with a LIMIT: the nodes lock one after the other, for
    # the rows still wanted (no ORDER BY) or each its first rows in a savepoint (ORDER BY)
    waits = count is not None and len(groups) > 1 and _waits_for_row_locks(body)
    in_turn = waits and not body.get("sortClause")
    if in_turn and _integer(taken) is None:
        return NotApplicable(Strategy.MERGE, "a waiting row lock with LIMIT $n and no ORDER BY")
    if taken:
        stmt.limitCount = None if in_turn else parse_sql(f"SELECT LIMIT {taken}")[0].stmt.limitCount
    stmt.limitOffset = None
    star = len(names) < len(body.get("targetList", []))
    system = [i for i, name in enumerate(names) if name in SYSTEM_COLUMNS]
    by_system = _system_sort_keys(stmt)
    if by_system or system and star:  # a node's own OIDs do not sort alike across nodes
        return NotApplicable(Strategy.MERGE, "a system column is a sort key, or an output column beside *")
    # a temp table cannot have a system column's name, nor two columns of one name (Django's
    # select_related: "id" of each table): renamed there, named back at the end
    renamed = {i: f"gp_sys_{i}" for i in system} | {i: f"gp_dup_{i}" for i in _repeated_names(names)}
    for index, name in renamed.items():
        stmt.targetList[index].name = name
    hidden = [] if star else _hidden_sort_keys(body, names) or []
    for index in hidden:  # sorted on the nodes, returned, left out at the end
        stmt.targetList = (*stmt.targetList, *_carried_sort_key(index, stmt.sortClause[index].node)[0])
    partial = str(RawStream()(stmt))
    temp = f"pg_temp.{scratch.new('merge')}"
    alias = _final_alias(body, resolved)
    columns = ", ".join(f"{quote(renamed[i])} AS {quote(n)}" if i in renamed else quote(n)
                        for i, n in enumerate(names)) if hidden or renamed else "*"
    with_ties = stmt.limitOption == LimitOption.LIMIT_OPTION_WITH_TIES
    locks = bool(body.get("lockingClause"))
    # the rows PostgreSQL locks: the first count+offset in the merged order (LockRows sits
    # below Limit), read by `keep`; it and the final step break ties alike (by the merged
    # row's place in the temp table), so the locks kept are those of the rows returned
    keeps = locks and bool(taken) and not with_ties and len(groups) > 1 and not in_turn
    order = ""
    if body.get("sortClause"):
        order = " ORDER BY " + _sort_text(sql, hidden) + (f", {alias}.ctid" if keeps else "")
    final = f"SELECT {'DISTINCT ' if body.get('distinctClause') is not None else ''}{columns} FROM {temp} AS {alias}"
    final += order + _final_limit(count, offset, with_ties)
    keep = None
    if keeps:  # listed after the output columns, so ORDER BY positions hold
        keep = f"SELECT {columns}, {alias}.ctid AS gp_lock_ctid FROM {temp} AS {alias}{order} LIMIT {taken}"
    bound = None
    if waits and not in_turn and keep is not None:
        bound = _lock_bound(sql, stmt, names, hidden, f"{temp} AS {alias}{order}", taken)
    return MergePlan(tuple(Fragment(g, partial) for g in groups), locks, final, partial_temp=temp,
                     scratch=tuple(scratch.made), lock_keep_sql=keep,
                     lock_rows_in_turn=_integer(taken) if in_turn else None,
                     lock_nodes_in_order=waits and not in_turn, lock_bound=bound)


# Output names a temp table refuses as column names (42701): PostgreSQL's system columns.
SYSTEM_COLUMNS = frozenset({"tableoid", "ctid", "xmin", "xmax", "cmin", "cmax"})


def _system_sort_keys(stmt: ast.SelectStmt) -> list[int]:
    """Positions of the ORDER BY keys that use a system column name other than as the bare
    key (the final step resolves a bare name to the output column; inside an expression it
    would read the temp table's own system column)."""
    found = []
    for index, item in enumerate(stmt.sortClause or ()):
        node = item.node
        if isinstance(node, ast.ColumnRef) and len(node.fields) == 1:
            continue
        if any(isinstance(n.fields[-1], ast.String) and n.fields[-1].sval in SYSTEM_COLUMNS
               for n in _nodes(node, ast.ColumnRef)):
            found.append(index)
    return found



def _final_alias(body: dict[str, Any], resolved: list[Resolved]) -> str:
    """The name the final step gives the merged rows: the one relation's (a table's, or a
    subquery's alias), so that ORDER BY `v.x` reads as the client wrote it."""
    from_clause = body.get("fromClause") or []
    if len(from_clause) == 1 and "RangeSubselect" in from_clause[0]:
        alias = from_clause[0]["RangeSubselect"].get("alias", {}).get("aliasname")
        return quote(alias) if alias else "m"
    relation = resolved[0].ref
    return quote(relation.alias or relation.name) if len(resolved) == 1 else "m"


def _final_limit(count: str | None, offset: str | None, with_ties: bool) -> str:
    """LIMIT/OFFSET of the merged rows. WITH TIES stays WITH TIES: each node returned its
    first count+offset rows and their ties, which hold every row PostgreSQL's answer needs
    (a row of the answer sorts before or level with the last counted row, and no node has
    count+offset rows before that one), so the same clause over the merged rows gives it."""
    text = f" OFFSET {offset}" if offset else ""
    if count is not None and with_ties:
        return text + f" FETCH FIRST {count} ROWS WITH TIES"
    return (f" LIMIT {count}" if count is not None else "") + text


def _limit_texts(stmt: ast.SelectStmt, body: dict[str, Any]) -> tuple[str | None, str | None]:
    """LIMIT and OFFSET as SQL text: integer constants, or, when the
    SELECT locks rows (refused otherwise, a merge being no better there than gathering),
    bound parameters (Rails' `lock.first`: `LIMIT $1 FOR UPDATE`), which the executor
    inlines into every step. None where absent or neither."""
    locks = bool(body.get("lockingClause"))

    def text(node: dict[str, Any] | None, tree: ast.Node | None) -> str | None:
        number = _constant(node)
        if number is not None:
            return str(number)
        value = analyze.value_of(node) if node else None
        return str(RawStream()(tree)) if locks and value is not None and value.param else None

    return text(body.get("limitCount"), stmt.limitCount), text(body.get("limitOffset"), stmt.limitOffset)


def _rows_taken(count: str | None, offset: str | None) -> str:
    """LIMIT + OFFSET as SQL text ("" without a LIMIT): a number when both are constants."""
    if count is None:
        return ""
    if offset is None:
        return count
    both = _integer(count), _integer(offset)
    if both[0] is not None and both[1] is not None:
        return str(both[0] + both[1])
    return f"({count}) + COALESCE(({offset}), 0)"


def _integer(text: str) -> int | None:
    try:
        return int(text)
    except ValueError:
        return None


def _merge_blocker(body: dict[str, Any], names: list[str], relations: int, aggregates: frozenset[str]) -> str | None:
    """Why the sorted merge cannot run this SELECT (or None)."""
    if body.get("groupClause") or body.get("havingClause") or has_aggregate(body, aggregates):
        return "aggregates are combined by two-phase aggregation"
    if body.get("windowClause") or any(
        isinstance(n, dict) and "FuncCall" in n and "over" in n["FuncCall"] for n in analyze._walk(body)
    ):
        return "window functions see the whole result"
    distinct = body.get("distinctClause")
    if distinct and any(item for item in distinct):  # DISTINCT ON (a list with expressions)
        return "DISTINCT ON is finished on the coordinator"
    if body.get("intoClause") or tableoid.has_user_sublink(body):
        return "subqueries or SELECT INTO"
    why = _locking_blocker(body)
    if why:
        return why
    if _anonymous_record_output(body):
        return "an output column is an anonymous record, which a table cannot hold"
    targets = body.get("targetList", [])
    if any(any("A_Star" in f for f in (t["ResTarget"].get("val", {}).get("A_Indirection") or {}).get("indirection", []))
           for t in targets):
        return "(row).* in the output expands to columns the final step would not name"
    star = any("ColumnRef" in t["ResTarget"].get("val", {}) and any(
        "A_Star" in f for f in t["ResTarget"]["val"]["ColumnRef"]["fields"]) for t in targets)
    if star and (relations != 1 or targets and len(targets) > 1):
        return "* over several tables may repeat column names"
    from_clause = body.get("fromClause") or []
    if star and not (len(from_clause) == 1 and ("RangeVar" in from_clause[0] or "RangeSubselect" in from_clause[0])):
        # `jt.*` of a function beside the table (JSON_TABLE, jsonb_array_elements): the
        # table's columns are not in the output, so an ORDER BY on them has nothing to read
        return "* of a FROM item other than the one table"
    if "?column?" in names:
        return "output columns need names"
    if star:  # the relation's columns are all in the output
        return None
    hidden = _hidden_sort_keys(body, names)
    if hidden is None:
        return "ORDER BY has a key without columns"
    if hidden and body.get("distinctClause") is not None:
        return "ORDER BY uses columns that are not in the output"
    return None


def _output_names(stmt: ast.SelectStmt) -> list[str]:
    """The output column names of the select list, as PostgreSQL names them (a `*` left out)."""
    return [_output_name(t) for t in _named_targets(stmt)]


def _named_targets(stmt: ast.SelectStmt) -> list[ast.ResTarget]:
    """The select list's items but `*`."""
    return [t for t in stmt.targetList or ()
            if not (isinstance(t.val, ast.ColumnRef) and isinstance(t.val.fields[-1], ast.A_Star))]


def _output_name(target: ast.ResTarget) -> str:
    return str(target.name) if target.name else figure_name(target.val) or "?column?"


def _ensure_sort_names_unambiguous(stmt: ast.SelectStmt) -> None:
    """PostgreSQL's 42702 for `ORDER BY u` where two output columns named u are different
    expressions (`SELECT u, u::text ... ORDER BY u`, `SELECT a.id, b.id ... ORDER BY id`):
    the merge renames repeated output columns in its scratch table, where the name would
    have found one of them. Two column references count as the same column unless both
    name their table and the tables differ (`t.id` and `id` may be one column)."""
    targets: dict[str, list[ast.Node]] = {}
    for target in _named_targets(stmt):
        targets.setdefault(_output_name(target), []).append(target.val)
    for sort in stmt.sortClause or ():
        node = sort.node
        if not (isinstance(node, ast.ColumnRef) and len(node.fields) == 1 and isinstance(node.fields[0], ast.String)):
            continue
        name = node.fields[0].sval
        found = targets.get(name, [])
        if any(_different_values(found[0], other) for other in found[1:]):
            raise PgError(AMBIGUOUS_COLUMN, f'ORDER BY "{name}" is ambiguous')


def _different_values(a: ast.Node, b: ast.Node) -> bool:
    if isinstance(a, ast.ColumnRef) and isinstance(b, ast.ColumnRef):
        left, right = _column_parts(a), _column_parts(b)
        if left is None or right is None or left[-1] != right[-1]:
            return left != right
        return len(left) > 1 and len(right) > 1 and left[:-1] != right[:-1]
    return RawStream()(a) != RawStream()(b)


def _column_parts(ref: ast.ColumnRef) -> tuple[str, ...] | None:
    parts = tuple(f.sval for f in ref.fields if isinstance(f, ast.String))
    return parts if len(parts) == len(ref.fields) else None


def _repeated_names(names: list[str]) -> list[int]:
    """Positions of the output columns whose name an earlier output column has."""
    seen: set[str] = set()
    repeated = []
    for index, name in enumerate(names):
        if name in seen:
            repeated.append(index)
        seen.add(name)
    return repeated


def _hidden_sort_keys(body: dict[str, Any], names: list[str]) -> list[int] | None:
    """Positions of the ORDER BY keys that use columns not in the output: each node sorts
    by them and returns them as extra columns the final step sorts by and leaves out
    (None: a key with no column at all, such as random()). A column is in the output when
    an output column of its name is that column written the same way (`ORDER BY o.id`
    beside an output `t.id` is not: the final step would sort by t.id), or the key is a
    bare output name (PostgreSQL's rule for ORDER BY name)."""
    repeated = {names[i] for i in _repeated_names(names)}
    written = {}  # output name -> the column reference it is, as written
    for target, name in zip(body.get("targetList", []), names):
        ref = analyze.column_ref(target["ResTarget"].get("val", {}))
        if ref is not None:
            written.setdefault(name, set()).add(ref)
    hidden = []
    for index, item in enumerate(body.get("sortClause", [])):
        node = item["SortBy"]["node"]
        if "A_Const" in node:
            continue
        refs = [analyze.column_ref(n) for n in analyze._walk(node) if isinstance(n, dict) and "ColumnRef" in n]
        if not refs:
            return None
        if any(ref is not None and ref[-1] in repeated for ref in refs):
            hidden.append(index)  # the bare name would mean the first column of that name
            continue
        key = analyze.column_ref(node)
        if key is not None and len(key) == 1 and key[0] in names:
            continue  # an output column by its name
        if any(ref is None or ref not in written.get(ref[-1], ()) for ref in refs):
            hidden.append(index)
    return hidden


def _carried_sort_key(index: int, node: Any, name: str = "") -> tuple[list[ast.ResTarget], Any]:
    """The extra output columns that carry hidden ORDER BY key `index` to the final step,
    and the key the final step sorts by over them. A row constructor (`ORDER BY (surname,
    firstname)`) is an anonymous record, which no table column can hold (42P16): each of
    its fields travels in a column of its own and the final step sorts by the row of those
    columns, which compares as the original row did (field by field, NULLs alike)."""
    name = name or f"gp_sort_{index}"
    if isinstance(node, ast.RowExpr) and node.args:
        targets: list[ast.ResTarget] = []
        fields = []
        for position, arg in enumerate(node.args):
            carried, field = _carried_sort_key(index, arg, f"{name}_{position}")
            targets += carried
            fields.append(field)
        return targets, ast.RowExpr(args=tuple(fields), row_format=node.row_format)
    return [ast.ResTarget(name=name, val=node)], ast.ColumnRef(fields=(ast.String(sval=name),))


def _locking_blocker(body: dict[str, Any]) -> str | None:
    """FOR UPDATE/SHARE: each node locks the rows it returns, up to its LIMIT. Without a
    LIMIT those are the rows PostgreSQL locks. With one and SKIP LOCKED or NOWAIT, a node's
    rows past the merged LIMIT are locked too, for the length of the statement (the
    executor gives back the locks of every node none of whose rows the answer takes,
    `MergePlan.lock_keep_sql`): harmless (a job queue: others skip them, as they may).
    A lock that waits, with a LIMIT and no ORDER BY (Django's `select_for_update().get()`,
    `update_or_create`), is taken one node after the other, each asked for the rows still
    wanted (`MergePlan.lock_rows_in_turn`): PostgreSQL's scan of the nodes' rows in turn,
    locking no row it does not return. With an ORDER BY (`select_for_update().first()`,
    Rails' `lock.first`, a job queue without SKIP LOCKED) the nodes run one after the other,
    always in the same order (so two such statements queue on the first node, as in
    PostgreSQL, instead of each holding one node's first row and waiting for the other's),
    each its ORDER BY and LIMIT inside a savepoint, and the nodes none of whose rows the
    merged answer takes give their locks back (`MergePlan.lock_nodes_in_order`). WITH TIES
    keeps no such account of the rows taken: refused when its locks wait."""
    if not body.get("sortClause") or not _waits_for_row_locks(body):
        return None
    if body.get("limitOption") != "LIMIT_OPTION_WITH_TIES":
        return None
    return "FOR UPDATE/SHARE with FETCH FIRST ... WITH TIES over several nodes waits on rows beyond the " \
           "answer (use SKIP LOCKED or NOWAIT)"


def _waits_for_row_locks(body: dict[str, Any]) -> bool:
    """Whether the SELECT has a LIMIT and a FOR UPDATE/SHARE that waits for locked rows."""
    clauses = body.get("lockingClause") or []
    if not clauses or not body.get("limitCount"):
        return False
    policies = {(c.get("LockingClause") or {}).get("waitPolicy") for c in clauses}
    return not policies <= {"LockWaitSkip", "LockWaitError"}


def _anonymous_record_output(body: dict[str, Any]) -> bool:
    """A target of type `record`: ROW(...), or a whole-row reference to a subquery, VALUES
    or a function with several output columns in FROM (the merge's temp table cannot have
    such a column; a table's own row type can)."""
    anonymous = set(_record_aliases(body.get("fromClause") or []))
    for target in body.get("targetList", []):
        val = target["ResTarget"].get("val", {})
        if _record_valued(val):
            return True
        ref = analyze.column_ref(val)
        if ref is not None and len(ref) == 1 and ref[0] in anonymous:
            return True
    return False


def _record_valued(node: Any) -> bool:
    """Whether an expression's value is a ROW(...) or holds one as a whole: an array of
    rows (`ARRAY[(a, (b, a))]`, type record[]), a CASE or COALESCE choosing between rows.
    A row passed to a function (row_to_json) gives that function's type."""
    if not isinstance(node, dict):
        return False
    if "RowExpr" in node:
        return True
    if "A_ArrayExpr" in node:
        return any(_record_valued(e) for e in node["A_ArrayExpr"].get("elements") or [])
    if "CoalesceExpr" in node:
        return any(_record_valued(a) for a in node["CoalesceExpr"].get("args") or [])
    if "CaseExpr" in node:
        case = node["CaseExpr"]
        results = [w["CaseWhen"].get("result") for w in case.get("args") or []] + [case.get("defresult")]
        return any(_record_valued(r) for r in results)
    return False


def _record_aliases(items: list[Any]) -> list[str]:
    """Aliases of FROM items whose whole-row value is an anonymous record."""
    out: list[str] = []
    for item in items:
        if not isinstance(item, dict):
            continue
        if "JoinExpr" in item:
            join = item["JoinExpr"]
            out += _record_aliases([join.get("larg"), join.get("rarg")])
            continue
        node = item.get("RangeSubselect") or item.get("RangeFunction")
        alias = (node or {}).get("alias") or {}
        if not alias.get("aliasname"):
            continue
        if "RangeSubselect" in item:
            out.append(alias["aliasname"])
            continue
        columns = len(alias.get("colnames") or []) + len(node.get("coldeflist") or [])
        if node.get("ordinality") or len(node.get("functions") or []) > 1 or columns > 1:
            out.append(alias["aliasname"])
    return out


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


BOUND_MARKER = "gp_lock_bound"


def _lock_bound(sql: str, partial: ast.SelectStmt, names: list[str], hidden: list[int], source: str,
                taken: str) -> LockBound | None:
    """The bound later nodes lock under (`LockBound`), when every ORDER BY key is a column
    (Django's and Rails' orders): then the node computes it as the merge does, and no
    volatile or set-returning expression lands in a WHERE clause. None otherwise (each node
    locks its first rows)."""
    keys = []  # (LIMIT NULL: no bound; LIMIT 0: nothing to bound)
    original = parse_sql(sql)[0].stmt
    star = len(names) < len(original.targetList or ())
    targets = {} if star else {n: t for n, t in zip(names, original.targetList or ()) if names.count(n) == 1}
    for item in original.sortClause or ():
        if item.sortby_dir == SortByDir.SORTBY_USING:
            return None
        node = item.node
        if isinstance(node, ast.ColumnRef) and len(node.fields) == 1 and isinstance(node.fields[0], ast.String):
            target = targets.get(node.fields[0].sval)  # ORDER BY an output name: its expression
            node = target.val if target is not None else node
        if not (isinstance(node, ast.ColumnRef) and all(isinstance(f, ast.String) for f in node.fields)):
            return None
        descending = item.sortby_dir == SortByDir.SORTBY_DESC
        nulls_first = item.sortby_nulls == SortByNulls.SORTBY_NULLS_FIRST or (
            item.sortby_nulls == SortByNulls.SORTBY_NULLS_DEFAULT and descending)
        keys.append((str(RawStream()(node)), descending, nulls_first))
    merged = _sort_key_texts(sql, hidden)
    values = ", ".join(f"format('%L::%s', {k}, pg_typeof({k})), ({k}) IS NULL" for k in merged)
    bounded = parse_sql(str(RawStream()(partial)))[0].stmt
    marker = ast.ColumnRef(fields=(ast.String(sval=BOUND_MARKER),))
    bounded.whereClause = marker if bounded.whereClause is None else ast.BoolExpr(
        boolop=BoolExprType.AND_EXPR, args=(bounded.whereClause, marker))
    return LockBound(str(RawStream()(bounded)), f"SELECT {values} FROM {source} OFFSET GREATEST(({taken}) - 1, 0) "
                     f"LIMIT CASE WHEN ({taken}) > 0 THEN 1 ELSE 0 END",
                     tuple(keys))


def lock_bound_predicate(keys: tuple[tuple[str, bool, bool], ...], values: list[tuple[str, bool]]) -> str:
    """The rows that sort strictly before the row whose keys are `values` (typed literals,
    and whether NULL), in the order `keys` gives: true or false, never NULL."""
    predicate = ""
    for (expression, descending, nulls_first), (literal, is_null) in reversed(list(zip(keys, values))):
        if is_null:
            before = "false" if nulls_first else f"({expression}) IS NOT NULL"
            same = f"({expression}) IS NULL"
        else:
            before = f"({expression}) {'>' if descending else '<'} {literal}"
            if nulls_first:
                before = f"({before} OR ({expression}) IS NULL)"
            same = f"({expression}) = {literal}"
        predicate = f"({before} OR ({same} AND {predicate}))" if predicate else before
    return f"COALESCE({predicate or 'false'}, false)"


def _sort_key_texts(sql: str, hidden: list[int]) -> list[str]:
    """The ORDER BY keys over the merged rows, without their direction (see _sort_text)."""
    stmt = parse_sql(f"SELECT 1 ORDER BY {_sort_text(sql, hidden)}")[0].stmt
    return [str(RawStream()(item.node)) for item in stmt.sortClause]


def _sort_text(sql: str, hidden: list[int] | None = None) -> str:
    """The ORDER BY list as written, column references reduced to the bare column name
    (the merged rows come from one temp table holding the output columns); the keys at
    `hidden` positions sort by their extra column."""

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
    for index, item in enumerate(stmt.sortClause):
        if index in (hidden or ()):
            item.node = _carried_sort_key(index, item.node)[1]
        bare(item)
    return ", ".join(str(RawStream()(item)) for item in stmt.sortClause)
