"""Multi-node writes: UPDATE/DELETE on every node of the target (colocated reads joined
node-locally, other distributed tables broadcast to the target's nodes first), UPDATE of
the distribution column (rows moved), MERGE (run whole where its rows are, or over its
source rows staged on the target's nodes)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from gridpg.catalog.model import CatalogSnapshot, DistTable
from gridpg.errors import FEATURE_NOT_SUPPORTED, PgError
from gridpg.planner import analyze
from gridpg.planner.merge_staged import staged_merge
from gridpg.planner.node_local import (
    calls_volatile,
    key_columns,
    not_node_local,
    output_keys,
    volatile_subselect,
)
from gridpg.planner.plan import (
    SCRATCH_SCHEMA,
    BroadcastWritePlan,
    FirstCopyLock,
    Fragment,
    GatherTable,
    MergeStagedPlan,
    MergeStatementPlan,
    MoveRowsPlan,
    NotApplicable,
    PushdownPlan,
    ScratchNames,
    Strategy,
)
from gridpg.planner.pushdown import (
    Resolved,
    _has_outer_join_with_reference_nullable,
    joined_on_distribution_columns,
)
from gridpg.planner.text import quote, relation_span, splice, top_level_keywords
from gridpg.sql import parse as sqlparse


def multi_node_write(sql: str, body: dict[str, Any], resolved: list[Resolved],
                     reasons: list[NotApplicable], snapshot: CatalogSnapshot,
                     pinned: set[str] | None = None, through_view: bool = False) -> PushdownPlan | BroadcastWritePlan:
    """UPDATE/DELETE on every node of the target (those of `pinned` only: the nodes its own
    WHERE clause pins its rows to); other distributed tables it reads are joined
    node-locally when colocated, else broadcast to the target's nodes first. Through a
    view (`resolved[0]` then names the view, with the table below it), every other
    distributed table is broadcast: the view's columns may show the table's under other
    names, so a join on them says nothing of colocation."""
    target = resolved[0].table
    assert target is not None
    groups = tuple(g for g in target.groups if pinned is None or g in pinned)
    # a REPLICATION table placed on some of the target's nodes only is read there as any
    # other distributed table: copied to them first (each node joining its own copy failed
    # with 42P01 where it has none)
    partial = [r for r in resolved[1:] if r.table is not None and r.table.method == "replication"
               and not set(groups) <= set(r.table.groups)]
    others = [r for r in resolved[1:] if r.table is not None and r.table.method != "replication"] + partial
    local = not others or (not partial and not through_view and reads_node_locally(body, resolved, snapshot))
    replicated = target.method == "replication"
    if len(groups) > 1 and volatile_subselect(body):
        raise PgError(FEATURE_NOT_SUPPORTED, "a sub-select calling a volatile function (random(), nextval(), "
                      "...) in an UPDATE/DELETE on several datanodes is not supported by gridpg: each "
                      "datanode would draw its own value")
    several_copies = replicated and len(target.groups) > 1
    if local and not (replicated and others):
        return PushdownPlan(tuple(Fragment(g, sql) for g in groups), True,
                            reasons=tuple(reasons), replicated=replicated,
                            first_copy_lock=_first_copy(sql, target) if several_copies else None)
    reasons.append(NotApplicable(Strategy.PUSHDOWN,
                                 "reads distributed tables that are not colocated with the target"))
    scratch = ScratchNames(sql)
    temps: dict[tuple[str, str], GatherTable] = {}
    replacements = []
    tokens = sqlparse.tokens(sql)
    for r in others:
        assert r.table is not None
        key = (r.table.schema, r.table.name)
        if key not in temps:
            # (one copy of a REPLICATION table: every copy would add its rows again)
            sources = r.table.groups[:1] if r.table.method == "replication" else r.table.groups
            temps[key] = GatherTable(r.table.schema, r.table.name, scratch.new("bcast", shared=True),
                                     sources)
        start, end = relation_span(sql, tokens, r.ref)
        alias = "" if r.ref.alias else f" AS {quote(r.ref.name)}"
        replacements.append((start, end, f"{SCRATCH_SCHEMA}.{temps[key].temp}{alias}"))
    spliced = splice(sql, replacements)
    check = None
    if several_copies and body.get("fromClause") and "targetList" in body:
        check = several_matches_check(spliced, resolved[0].ref)
    return BroadcastWritePlan(tuple(Fragment(g, spliced) for g in groups), True,
                              gather=tuple(temps.values()), reasons=tuple(reasons),
                              replicated=replicated, scratch=tuple(scratch.made), row_check=check,
                              first_copy_lock=_first_copy(spliced, target) if several_copies else None)


def several_matches_check(sql: str, target: analyze.RelRef) -> str:
    """A query that finds a row of the UPDATE's target its FROM list joins more than once.

    PostgreSQL updates such a row once, with whichever joined row comes first: on a
    REPLICATION table each node would take the first of its own copy of the tables read,
    and the replicas would differ. The query (the UPDATE's WITH, target, FROM and WHERE,
    grouped by the target's ctid) runs on one node before the UPDATE; a row refuses it."""
    tokens = sqlparse.tokens(sql)
    body = sqlparse.parse_tree(sql)["UpdateStmt"]
    first_item = min(n["location"] for n in analyze._walk(body["fromClause"])
                     if isinstance(n, dict) and isinstance(n.get("location"), int))
    (update_at,) = top_level_keywords(sql, tokens, ("update",))
    from_at = max(t.start for t in _top_level(sql, tokens)
                  if t.start < first_item and sql[t.start:t.end + 1].lower() == "from")
    after = [t for t in tokens if t.start > from_at]
    where_at, returning_at = top_level_keywords(sql, after, ("where", "returning"))
    end = returning_at if returning_at >= 0 else len(sql)
    from_text = sql[from_at + 4:where_at if where_at >= 0 else end]
    where_text = sql[where_at:end] if where_at >= 0 else ""
    start, stop = relation_span(sql, tokens, target)
    alias = target.alias or target.name
    relation = sql[start:stop] + (f" AS {quote(target.alias)}" if target.alias else "")
    return (f"{sql[:update_at]}SELECT 1 FROM {relation}, {from_text} {where_text} "
            f"GROUP BY {quote(alias)}.ctid HAVING count(*) > 1 LIMIT 1")


def first_copy_lock(sql: str) -> str | None:
    """A query that locks, on one node, the rows an UPDATE/DELETE of a REPLICATION table
    will write, or None where none is made (WHERE CURRENT OF).

    A write to every copy runs on every node at once, so two writers of one row could
    each lock it on a different node first and wait for each other (a deadlock PostgreSQL
    does not have). Run on the table's first node before the write, this query makes
    every writer of a row queue there, as Postgres-XL's primary node did: the query is
    the statement's WITH, target, FROM/USING and WHERE, `FOR NO KEY UPDATE` (UPDATE) or
    `FOR UPDATE` (DELETE) of the target, counted so no rows come back."""
    tree = sqlparse.parse_tree(sql)
    kind = next(iter(tree))
    body = tree[kind]
    if kind not in ("UpdateStmt", "DeleteStmt") or "CurrentOfExpr" in (body.get("whereClause") or {}):
        return None
    tokens = [t for t in sqlparse.tokens(sql) if not t.name.endswith("COMMENT")]
    end = tokens[-1].end + 1 if sql[tokens[-1].start] != ";" else tokens[-2].end + 1
    if kind == "UpdateStmt":
        (verb_at,) = top_level_keywords(sql, tokens, ("update",))
        (target_at,) = top_level_keywords(sql, [t for t in tokens if t.start > verb_at], ("set",))
        target_from, target_to = verb_at + len("update"), target_at
        items_word, strength = "from", "NO KEY UPDATE"
    else:
        (verb_at,) = top_level_keywords(sql, tokens, ("delete",))
        (from_at,) = top_level_keywords(sql, [t for t in tokens if t.start > verb_at], ("from",))
        target_from, target_to = from_at + len("from"), -1
        items_word, strength = "using", "UPDATE"
    after = [t for t in tokens if t.start > max(target_from, target_to)]
    where_at, returning_at = top_level_keywords(sql, after, ("where", "returning"))
    # the FROM/USING keyword is the last one before the list's first item: a top-level
    # `IS DISTINCT FROM` in SET or WHERE is no FROM list
    items = [n["location"] for n in analyze._walk(body.get(items_word + "Clause") or [])
             if isinstance(n, dict) and isinstance(n.get("location"), int)]
    items_at = max((t.start for t in _top_level(sql, after) if items and t.start < min(items)
                    and sql[t.start:t.end + 1].lower() == items_word), default=-1)
    stops = [at for at in (items_at, where_at, returning_at) if at >= 0]
    if target_to < 0:
        target_to = min(stops, default=end)
    tail_end = returning_at if returning_at >= 0 else end
    listed = ""
    if items_at >= 0:
        listed = ", " + _piece(sql[items_at + len(items_word):where_at if where_at >= 0 else tail_end])
    where = " " + _piece(sql[where_at:tail_end]) if where_at >= 0 else ""
    relation = body["relation"]
    name = quote((relation.get("alias") or {}).get("aliasname") or relation["relname"])
    return (f"{sql[:verb_at]}SELECT count(*) FROM (SELECT 1 FROM {_piece(sql[target_from:target_to])}{listed}"
            f"{where} FOR {strength} OF {name}) AS gridpg_first_copy")


def _first_copy(sql: str, target: DistTable) -> FirstCopyLock | None:
    lock = first_copy_lock(sql)
    return None if lock is None else FirstCopyLock(lock, target.groups[0], target.key)


def _top_level(sql: str, tokens: list[Any]) -> Iterator[Any]:
    """The tokens outside parentheses."""
    depth = 0
    for tok in tokens:
        text = sql[tok.start:tok.end + 1]
        depth += (text == "(") - (text == ")")
        if depth == 0 and text != ")":
            yield tok


def _piece(text: str) -> str:
    """A clause's text without its outer blanks; a line break ending a `--` comment stays."""
    return text.lstrip().rstrip(" \t")


def reads_node_locally(body: dict[str, Any], resolved: list[Resolved], snapshot: CatalogSnapshot) -> bool:
    """Whether each node of an UPDATE/DELETE's target can join its own target rows with its
    own rows of every other distributed table the statement reads: each such table is a
    FROM/USING item, or inside a node-local CTE or sub-select there (planner/node_local.py)
    passing its distribution column through, colocated with the target and linked to it by
    equalities of distribution columns. A table anywhere else (a SubLink, a CTE read
    elsewhere, a sub-select that limits, aggregates, ...) is not node-local."""
    target = resolved[0]
    assert target.table is not None
    if target.table.method not in ("hash", "modulo") or not target.table.column:
        return False
    ctes = {c["CommonTableExpr"]["ctename"]: c["CommonTableExpr"]
            for c in (body.get("withClause") or {}).get("ctes", []) if "CommonTableExpr" in c}
    if (body.get("withClause") or {}).get("recursive"):
        return False
    by_location = {r.ref.location: r for r in resolved}
    names: dict[str, set[str]] = {target.ref.alias or target.ref.name: {target.table.column}}
    tables = [target]
    covered: set[int] = set()
    stack: list[Any] = [*(body.get("fromClause") or []), *(body.get("usingClause") or [])]
    while stack:
        node = stack.pop()
        if "JoinExpr" in node:
            join = node["JoinExpr"]
            if join.get("jointype", "JOIN_INNER") != "JOIN_INNER" and analyze.has_node(join, "RangeSubselect"):
                return False
            stack += [join["larg"], join["rarg"]]
            continue
        derived = _derived_source(node, by_location, ctes)
        if derived is False:
            return False
        if derived is None:
            if "RangeVar" in node and node["RangeVar"].get("location") in by_location:
                r = by_location[node["RangeVar"]["location"]]
                if r.table is not None and r.table.method != "replication":
                    alias = node["RangeVar"].get("alias") or {}
                    names[r.ref.alias or r.ref.name] = set() if alias.get("colnames") else {r.table.column or ""}
                    tables.append(r)
                    covered.add(r.ref.location)
            continue
        name, sub, colnames = derived
        inner = [by_location[loc] for loc in _range_var_locations(sub) if loc in by_location]
        sharded = [r for r in inner if r.table is not None and r.table.method != "replication"]
        if not sharded:
            continue
        if not _node_local_beside(sub, inner, sharded, snapshot):
            return False
        keys = key_columns((r.ref.alias or r.ref.name, r.table.column or "") for r in sharded if r.table)
        names[name] = output_keys(sub, keys, colnames)
        tables += sharded
        covered |= {r.ref.location for r in inner}
    others = [r for r in resolved[1:] if r.table is not None and r.table.method != "replication"]
    if any(r.ref.location not in covered for r in others) or _cte_read_in_sublink(body, set(ctes)):
        return False
    if any(r.table is None or r.table.method not in ("hash", "modulo")
           or not snapshot.colocated(target.table, r.table) for r in tables):
        return False
    return _linked(body, names)


def _derived_source(node: dict[str, Any], by_location: dict[int, Resolved], ctes: dict[str, Any],
                    ) -> tuple[str, dict[str, Any], list[str] | None] | None | bool:
    """(name, SELECT body, column names) of a CTE reference or sub-select FROM item; None
    for anything else; False for one that cannot be followed (LATERAL, a modifying CTE)."""
    if "RangeSubselect" in node:
        item = node["RangeSubselect"]
        sub = item["subquery"].get("SelectStmt")
        if sub is None or item.get("lateral"):
            return False
        alias = item.get("alias") or {}
        return alias.get("aliasname", ""), sub, _strings(alias.get("colnames"))
    if "RangeVar" in node:
        var = node["RangeVar"]
        if var.get("location") in by_location or var.get("schemaname") or var["relname"] not in ctes:
            return None
        cte = ctes[var["relname"]]
        sub = (cte.get("ctequery") or {}).get("SelectStmt")
        if sub is None:
            return False
        alias = var.get("alias") or {}
        colnames = _strings(alias.get("colnames")) or _strings(cte.get("aliascolnames"))
        return alias.get("aliasname") or var["relname"], sub, colnames
    return None


def _node_local_beside(sub: dict[str, Any], inner: list[Resolved], sharded: list[Resolved],
                       snapshot: CatalogSnapshot) -> bool:
    """`sub` is node-local over its own tables (every one of them a plain FROM item, no
    CTE of the statement, no renamed columns) joined there on their distribution columns."""
    if len(inner) != len(_range_var_locations(sub)) or any(
            (n["RangeVar"].get("alias") or {}).get("colnames") for n in analyze._walk(sub.get("fromClause"))
            if isinstance(n, dict) and "RangeVar" in n):
        return False
    if any(r.table is None for r in inner):
        return False  # a table the datanodes do not have
    keys = key_columns((r.ref.alias or r.ref.name, r.table.column or "") for r in sharded if r.table)
    if not_node_local(sub, snapshot.aggregates, keys) is not None:
        return False
    if len(sharded) > 1 and not joined_on_distribution_columns(sub, sharded, snapshot):
        return False
    return not _has_outer_join_with_reference_nullable(sub, inner)


def _cte_read_in_sublink(body: dict[str, Any], ctes: set[str]) -> bool:
    """A CTE read by a SubLink of the statement: evaluated there over one node's rows."""
    for node in analyze._walk({k: v for k, v in body.items() if k != "withClause"}):
        if isinstance(node, dict) and "SubLink" in node:
            if any(isinstance(n, dict) and "RangeVar" in n and not n["RangeVar"].get("schemaname")
                   and n["RangeVar"]["relname"] in ctes for n in analyze._walk(node)):
                return True
    return False


def _linked(body: dict[str, Any], names: dict[str, set[str]]) -> bool:
    """Every FROM item of `names` (name -> its distribution columns) reaches the target's
    (the first) through `a.x = b.y` equalities of those columns."""
    order = list(names)
    linked = {order[0]}
    pairs = analyze.equi_join_pairs({"whereClause": body.get("whereClause"),
                                     "fromClause": [*(body.get("fromClause") or []),
                                                    *(body.get("usingClause") or [])]})
    changed = True
    while changed:
        changed = False
        for left, right in pairs:
            if len(left) < 2 or len(right) < 2:
                continue
            if left[-1] in names.get(left[-2], ()) and right[-1] in names.get(right[-2], ()):
                new = {left[-2], right[-2]} - linked
                if len(new) == 1 and ({left[-2], right[-2]} & linked):
                    linked |= new
                    changed = True
    return linked == set(order)


def _range_var_locations(node: Any) -> set[int]:
    return {n["RangeVar"]["location"] for n in analyze._walk(node) if isinstance(n, dict) and "RangeVar" in n}


def _strings(items: list[Any] | None) -> list[str] | None:
    return [i["String"]["sval"] for i in items if "String" in i] if items else None


def updates_column(body: dict[str, Any], column: str) -> bool:
    """Whether an UPDATE's SET list assigns `column` (`SET col = col`, which ORMs write when
    they set every column, keeps its value: not an assignment here; nor is `SET col = x.c`
    when a top-level conjunct of the WHERE clause says `col = x.c`, as Citus's tests write
    `UPDATE t SET k = s.k FROM s WHERE t.k = s.k`)."""
    relation = body.get("relation") or {}
    itself = {((relation.get("alias") or {}).get("aliasname") or relation.get("relname"), column), (column,)}
    for target in body.get("targetList", []):
        res = target.get("ResTarget", {})
        if res.get("name") != column:
            continue
        value = analyze.column_ref(res.get("val", {}))
        if res.get("indirection") or (value not in itself and not _equated_by_where(body, itself, value)
                                      and not _constant_of_where(body, itself, res.get("val", {}))):
            return True  # (a MultiAssignRef `(a, b) = (...)` names each column too)
    return False


def _constant_of_where(body: dict[str, Any], itself: set[tuple[str | None, ...]], value: dict[str, Any]) -> bool:
    """Whether `value` is a constant that a top-level WHERE conjunct `col = constant` (the
    same literal, either way round) gives the column in every row the UPDATE writes
    (Citus's `SET c = 5 ... WHERE t.c = 5`): the row keeps its value, as with
    `_equated_by_where`."""
    constant = _literal(value)
    if constant is None:
        return False
    return any((analyze.column_ref(left) in itself and _literal(right) == constant)
               or (analyze.column_ref(right) in itself and _literal(left) == constant)
               for left, right in _where_equalities(body))


def _literal(node: dict[str, Any]) -> str | None:
    """A non-NULL constant as the parser read it (its location left out), else None."""
    const = node.get("A_Const") if isinstance(node, dict) else None
    if not isinstance(const, dict) or const.get("isnull"):
        return None
    return repr(sorted((k, v) for k, v in const.items() if k != "location"))


def _equated_by_where(body: dict[str, Any], itself: set[tuple[str | None, ...]],
                      value: tuple[str, ...] | None) -> bool:
    """Whether a top-level WHERE conjunct `col = value` (either way round) holds for every
    row the UPDATE writes: the new value then equals the old one and the row stays on its
    node. (Were `=` to equate values that hash apart, the datanode would move the row into
    its own partition of the new shard, or refuse it, 23514: never a row on the wrong node.)"""
    if value is None:
        return False
    for left_node, right_node in _where_equalities(body):
        left, right = analyze.column_ref(left_node), analyze.column_ref(right_node)
        if (left in itself and right == value) or (right in itself and left == value):
            return True
    return False


def _where_equalities(body: dict[str, Any]) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    """(left, right) of each top-level WHERE conjunct `left = right`."""
    for cond in analyze.conjuncts(body.get("whereClause")):
        expr = cond.get("A_Expr")
        if expr is not None and expr.get("kind") == "AEXPR_OP" and \
                [n.get("String", {}).get("sval") for n in expr.get("name", [])] == ["="]:
            yield expr.get("lexpr") or {}, expr.get("rexpr") or {}


def move_rows(sql: str, body: dict[str, Any], resolved: list[Resolved]) -> MoveRowsPlan:
    """UPDATE of the distribution column: delete on the nodes, update, re-insert routed.

    A FROM (or WHERE sub-select) may read REPLICATION tables: every node holds their rows,
    so its DELETE ... USING joins them as PostgreSQL would, and the UPDATE of the copy on
    the catalog server joins copies of them gathered there (`MoveRowsPlan.gather` after the
    target's). A sub-select of the SET list or RETURNING (`SET k = (SELECT o.k FROM o WHERE
    o.id = t.ref)`, `SET (k, x) = (SELECT ...)`) may read any distributed table, the target
    too: only the UPDATE of the copy reads it, from a whole copy gathered from all its
    nodes before their DELETE takes the moved rows away (the rows as the statement began,
    as PostgreSQL's sub-select sees them)."""
    target = resolved[0].table
    assert target is not None
    replicated = [r for r in resolved[1:] if r.table is not None]
    spread = [r for r in replicated if r.table is not None and r.table.method != "replication"]
    if (spread and not _read_by_set_only(body, spread)) or not _moves_with_own_from(body, resolved):
        raise PgError(FEATURE_NOT_SUPPORTED, "UPDATE of the distribution column with a FROM or WHERE that reads "
                      "distributed tables not replicated or calls volatile functions, or with subqueries over "
                      "such tables there, is not supported by gridpg yet",
                      hint="FROM (VALUES ...), REPLICATION tables, sub-selects of constants and set-returning "
                           "functions are supported, and sub-selects of any table in SET and RETURNING; else "
                           "update the distribution column in a statement of its own")
    toks = sqlparse.tokens(sql)
    ref = resolved[0].ref
    start, end = relation_span(sql, toks, ref)
    where_at, returning_at = top_level_keywords(sql, toks, ("where", "returning"))
    where_text = sql[where_at:returning_at if returning_at >= 0 else len(sql)] if where_at >= 0 else ""
    alias = ref.alias or ref.name
    relation = sql[start:end] + (f" AS {quote(ref.alias)}" if ref.alias else "")
    using = ""
    if body.get("fromClause"):
        # FROM of constants (VALUES, sub-selects of no table, functions) or of replicated
        # tables: the nodes delete the rows it joins (DELETE ... USING returns each row
        # once), the UPDATE in the copy joins it again with the same WHERE, which every
        # copied row meets
        from_end = where_at if where_at >= 0 else returning_at if returning_at >= 0 else len(sql)
        from_at = _last_top_level_from(sql, toks, end, from_end)
        using = f"USING {_piece(sql[from_at + len('from'):from_end])} "
    delete = f"DELETE FROM {relation} {using}{where_text} RETURNING {quote(alias)}.*"
    scratch = ScratchNames(sql)
    temp = scratch.new("move", shared=True)  # a table of the shard schema inside a block
    gathered, copied_sql = _replicated_copies(sql, toks, replicated, scratch)
    final = _update_of_copy(copied_sql, ref, temp, bool(using))
    fragments = tuple(Fragment(g, delete) for g in target.groups)
    return MoveRowsPlan(fragments, True, final,
                        (GatherTable(target.schema, target.name, temp, target.groups), *gathered),
                        scratch=tuple(scratch.made))


def _replicated_copies(sql: str, toks: list[Any], replicated: list[Resolved],
                       scratch: ScratchNames) -> tuple[list[GatherTable], str]:
    """The statement with each REPLICATION table it reads pointed at a catalog copy of it
    (`pg_temp.<copy> AS <its name or alias>`, `schema.table.column` losing the schema), and
    the copies to gather (one node's rows: each holds them all). Only text after the
    target's name changes, so the target's offsets hold."""
    from gridpg.planner.finish import _schema_qualified_columns

    copies: dict[tuple[str, str, bool], GatherTable] = {}
    replacements = []
    only = _only_locations(sqlparse.parse_tree(sql))
    for r in replicated:
        assert r.table is not None
        key = (r.table.schema, r.table.name, r.ref.location in only)
        if key not in copies:
            # one node's rows of a REPLICATION table (each holds them all), every node's of
            # another (read only by SET and RETURNING sub-selects: `_read_by_set_only`)
            groups = r.table.groups[:1] if r.table.method == "replication" else r.table.groups
            copies[key] = GatherTable(r.table.schema, r.table.name, scratch.new("gather"), tuple(groups),
                                      only=key[2])
        start, end = relation_span(sql, toks, r.ref)
        alias = "" if r.ref.alias else f" AS {quote(r.ref.name)}"
        replacements.append((start, end, f"pg_temp.{copies[key].temp}{alias}"))
    if not replacements:
        return [], sql
    replacements += _schema_qualified_columns(sql, toks, {k[:2] for k in copies})
    return list(copies.values()), splice(sql, replacements)


def _update_of_copy(sql: str, ref: analyze.RelRef, temp: str, joins: bool) -> str:
    """The UPDATE run on the catalog server over the target's copy `pg_temp.<temp>`: the
    statement's SET, FROM, WHERE and RETURNING as written (`sql`: with the replicated
    tables it reads pointed at their copies)."""
    toks = sqlparse.tokens(sql)
    start, end = relation_span(sql, toks, ref)
    where_at, returning_at = top_level_keywords(sql, toks, ("where", "returning"))
    where_text = sql[where_at:returning_at if returning_at >= 0 else len(sql)] if where_at >= 0 else ""
    alias = ref.alias or ref.name
    set_end = where_at if where_at >= 0 else (returning_at if returning_at >= 0 else len(sql))
    after_relation = sql[end:set_end]
    if ref.alias:  # drop "AS alias" that followed the name: re-added below (the SET token:
        # not "set" inside a comment or a quoted alias, `AS d /* reset */ SET`)
        (set_at,) = top_level_keywords(sql, [t for t in toks if t.start >= end], ("set",))
        after_relation = sql[set_at:set_end]
    returning = sql[returning_at:] if returning_at >= 0 else ""
    if joins:
        after_relation = f"{_piece(after_relation)} {where_text}"
    return f"UPDATE pg_temp.{temp} AS {quote(alias)} {_piece(after_relation)} {returning}"


def _read_by_set_only(body: dict[str, Any], spread: list[Resolved]) -> bool:
    """Whether the distributed tables not replicated that a moving UPDATE reads (`spread`)
    are read only by sub-selects of its SET list and RETURNING (inherit.sql:787, `SET (a, b)
    = (SELECT ... FROM t LIMIT 1)`), not by its FROM, WHERE or WITH: the nodes' DELETE of
    the moved rows then needs none of them (each node would read its own rows only), and
    the copy's UPDATE on the catalog server reads copies of them gathered whole from every
    node before that DELETE (executor/multi.move_rows), so also a sub-select of the
    target's own inheritance tree sees the rows as they were, as in PostgreSQL."""
    if body.get("withClause"):
        return False
    kept_out = {n["RangeVar"].get("location") for key in ("fromClause", "whereClause")
                for n in analyze._walk(body.get(key)) if isinstance(n, dict) and "RangeVar" in n}
    return not any(r.ref.location in kept_out for r in spread)


def _only_locations(tree: dict[str, Any]) -> set[int]:
    """The locations of the relations a statement reads under ONLY (RangeVar `inh` false)."""
    return {n["RangeVar"].get("location") for n in analyze._walk(tree)
            if isinstance(n, dict) and "RangeVar" in n and not n["RangeVar"].get("inh")}


def _moves_with_own_from(body: dict[str, Any], resolved: list[Resolved]) -> bool:
    """No FROM, or a FROM the nodes and the catalog server evaluate alike: it names no table
    but REPLICATION tables (each would read its own; those are gathered for the catalog
    server) and calls no volatile function (each would get other values), and the
    statement has no WITH, in neither of them."""
    if not body.get("fromClause"):
        return True
    if body.get("withClause"):
        return False
    replicated = {r.ref.location for r in resolved[1:] if r.table is not None and r.table.method == "replication"}
    if any(isinstance(n, dict) and "RangeVar" in n and n["RangeVar"].get("location") not in replicated
           for n in analyze._walk(body["fromClause"])):
        return False
    return not calls_volatile([body["fromClause"], body.get("whereClause")])


def _last_top_level_from(sql: str, toks: list[Any], start: int, end: int) -> int:
    """The offset of the UPDATE's FROM keyword: the last top-level FROM between the target
    and WHERE (a SET item may hold `IS DISTINCT FROM`; a FROM item holds none)."""
    depth, found = 0, -1
    for tok in toks:
        text = sql[tok.start : tok.end + 1]
        if tok.start < start or tok.start >= end:
            continue
        if text == "(":
            depth += 1
        elif text == ")":
            depth -= 1
        elif depth == 0 and text.lower() == "from":
            found = tok.start
    assert found >= 0, sql
    return found


def merge_statement(sql: str, body: dict[str, Any],
                    resolved: list[Resolved]) -> MergeStatementPlan | PushdownPlan | MergeStagedPlan:
    """MERGE runs whole where its rows are: on every node, its source colocated with its
    target (planner/merge_colocated.py); on one node, a source of constants joined on the
    target's distribution column whose values all live there (the executor reads them);
    else its source rows are staged on the target's nodes first (planner/merge_staged.py)."""
    from gridpg.planner.merge_colocated import colocated_merge

    target = resolved[0].table
    assert target is not None
    if analyze.has_node(body, "lockingClause"):
        # its source is staged, gathered or split by node: the locks would land on copies
        raise PgError(FEATURE_NOT_SUPPORTED, "FOR UPDATE/SHARE in a MERGE over distributed tables is not "
                      "supported by gridpg: it would lock copies of the rows",
                      hint="lock the rows with a SELECT ... FOR UPDATE of its own in the same transaction first")
    colocated = colocated_merge(sql, body, resolved)
    if colocated is not None:
        return colocated
    if target.method == "replication" and len(target.groups) == 1:
        return MergeStatementPlan(sql, target, target.groups[0])
    source = body.get("sourceRelation", {}).get("RangeSubselect")
    by_source = any((c.get("MergeWhenClause") or {}).get("matchKind") == "MERGE_WHEN_NOT_MATCHED_BY_SOURCE"
                    for c in body.get("mergeWhenClauses", []))
    if target.method not in ("hash", "modulo") or source is None or len(resolved) > 1 or by_source:
        return staged_merge(sql, target)  # (refuses what no plan can run)
    alias = source.get("alias", {}).get("aliasname")
    source_col = _merge_source_column(body, resolved[0], target, alias)
    if source_col is None or not _inserts_keep_key(body, alias, source_col, target.column):
        return staged_merge(sql, target)
    toks = sqlparse.tokens(sql)
    using_at = top_level_keywords(sql, toks, ("using",))[0]
    on_at = top_level_keywords(sql, toks, ("on",))[0]
    source_text = sql[using_at + len("using"):on_at]
    return MergeStatementPlan(sql, target, None, source_text, alias, source_col)


def _inserts_keep_key(body: dict[str, Any], alias: str | None, source_col: str, column: str | None) -> bool:
    """Whether every INSERT action gives the distribution column the source column the ON
    condition equates it with (`alias.col` or the bare `col`): its rows then belong on the
    node of their source values, the one the whole MERGE runs on. Any other value is left
    to the staged plan, which moves rows of other nodes there."""
    for clause in body.get("mergeWhenClauses", []):
        when = clause.get("MergeWhenClause", {})
        if when.get("commandType") != "CMD_INSERT":
            continue
        names = [t.get("ResTarget", {}).get("name") for t in when.get("targetList", [])]
        values = when.get("values") or []
        if not names:
            continue  # read with the target's columns at execution (executor/run.py _merge_with_insert_columns)
        if column not in names or names.index(column) >= len(values):
            return False
        value = analyze.column_ref(values[names.index(column)])
        if value not in ((alias, source_col), (source_col,)):
            return False
    return True


def _merge_source_column(body: dict[str, Any], target_ref: Resolved, target: DistTable,
                         alias: str | None) -> str | None:
    """The source column the MERGE joins to the target's distribution column."""
    target_names = {target_ref.ref.alias or target_ref.ref.name}
    source_col = None
    for left, right in analyze.equi_join_pairs({"whereClause": body.get("joinCondition")}):
        for a, b in ((left, right), (right, left)):
            if len(a) == 2 and a[0] in target_names and a[1] == target.column and len(b) == 2 and b[0] == alias:
                source_col = b[1]
    return source_col
