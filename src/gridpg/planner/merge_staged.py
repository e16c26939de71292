"""MERGE into a distributed table from any source: the source rows staged on the target's
nodes, the MERGE run on each node over its stage. Pure.

PostgreSQL's MERGE joins every target row with the source rows its ON condition accepts.
When that condition holds an equality `target.<distribution column> = <source
expression>` (a top-level conjunct), a source row can only match target rows whose
partition is the one the target's partition hash gives that expression's value. So the
executor (executor/merge_staged.py) computes the source rows wherever they come from
(distributed, replicated or temp tables, VALUES, subqueries, CTEs), splits them by that
hash and stages each part on the node holding that partition; every node then runs the
MERGE with its stage as the source. Each source row meets there every target row it could
match, so WHEN MATCHED, NOT MATCHED [BY TARGET] and NOT MATCHED BY SOURCE are decided as
in one server, a target row matched by two source rows is PostgreSQL's cardinality error
(21000) on its node, and a row an INSERT action gives another distribution value lands in
no partition of that node: an error, never a row on the wrong node.

Without such an equality (or a target not split by hash) every node gets every source
row (a broadcast): right for WHEN MATCHED and NOT MATCHED BY SOURCE (each target row is on
one node and meets every source row there), not for NOT MATCHED [BY TARGET] (a source
row unmatched on one node may match on another). Into a HASH table the coordinator then
decides it (`unmatched_once`: each node's stage keeps the rows it matches, the first
node's also those no node matched, whose inserted rows move to their own nodes); into
other tables it is refused. Also refused
(0A000): an UPDATE action setting the distribution column (the row would move between
nodes), an INSERT action whose column list gives the distribution column something other
than the staged key, a join as the bare source. Subqueries outside the source would read
only each node's rows: the uncorrelated scalar ones run first, once, the tables the others
read are copied whole to the nodes (executor/merge_sublinks.py).

A REPLICATION target on several nodes gets every source row on every node (each replica
holds every target row, so each decides MATCHED and NOT MATCHED as one server would, the
same way: the planner refused the volatile calls that could make them differ,
planner/replicas.py); one replica's RETURNING rows and count answer.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from pglast import ast
from pglast.enums import A_Expr_Kind, BoolExprType, CmdType, MergeMatchKind, OverridingKind
from pglast.stream import RawStream

from gridpg.catalog.model import DistTable
from gridpg.errors import FEATURE_NOT_SUPPORTED, PgError
from gridpg.planner.gather import _nodes
from gridpg.planner.plan import MergeStagedPlan
from gridpg.sql import parse as sqlparse
from gridpg.sql.parse import parse_sql
from gridpg.sql.quote import quote_ident

# Functions whose value depends on nothing but their arguments: a key expression calling
# only these gives the same value when staged as when the node evaluates the ON condition.
_DETERMINISTIC = frozenset({"lower", "upper", "btrim", "ltrim", "rtrim", "abs", "md5", "substr",
                            "substring", "left", "right", "replace", "lpad", "rpad", "trunc", "round",
                            "floor", "ceil", "ceiling", "int4", "int8", "text", "numeric", "length",
                            "char_length", "octet_length", "concat", "concat_ws", "split_part", "initcap",
                            "reverse", "strpos", "mod", "sign"})


def staged_merge(sql: str, target: DistTable, through_view: tuple[str, str] | None = None,
                 shown_as: tuple[str, ...] = ()) -> MergeStagedPlan:
    """The staged plan of a MERGE into `target` (not colocated with its source), or 0A000.
    `through_view`: the MERGE names this automatically updatable view over `target`, whose
    columns `shown_as` show the target's distribution column (the nodes write through
    the view, PostgreSQL resolving it there)."""
    stmt = parse_sql(sql)[0].stmt
    assert isinstance(stmt, ast.MergeStmt)
    source = stmt.sourceRelation
    if not isinstance(source, (ast.RangeVar, ast.RangeSubselect, ast.RangeFunction)):
        raise _refused("MERGE whose source is a join is not supported by gridpg",
                       "write the join as a subquery: USING (SELECT ... FROM a JOIN b ...) AS s")
    alias = source_alias(source)
    names = _target_names(stmt)
    columns = shown_as if through_view is not None else (target.column,) if target.column else ()
    key, column = None, columns[0] if columns else None
    if target.method == "hash" and target.shard_count:
        for name in columns:
            key = _key_expression(stmt.joinCondition, names, name, alias)
            if key is not None:
                column = name
                break
    needs_key, moved, defaulted = _ensure_actions_keep_rows_home(stmt, target, key, column, columns)
    unmatched_once = needs_key and key is None
    if unmatched_once:
        _ensure_decidable_across_nodes(stmt, through_view, alias)
        needs_key = False  # (broadcast: NOT MATCHED is decided by the coordinator)
    if moved and through_view is not None:
        raise _refused("MERGE ... INSERT through a view of a row whose distribution column value belongs on "
                       "another node than the row it is decided on is not supported by gridpg",
                       f"insert the ON condition's {column} value")
    with_text, head, source_text, tail = _pieces(sql)
    return MergeStagedPlan(target=target, with_text=with_text, head=head, source_text=source_text,
                           alias=alias, tail=tail, key_sql=None if key is None else _deparse(key),
                           needs_key=needs_key, through_view=through_view, key_column=column,
                           moved_inserts=moved, sublinks=_has_sublink_outside_source(stmt),
                           unmatched_once=unmatched_once,
                           match_sql=_match_sql(stmt) if unmatched_once else "", defaulted_key=defaulted)


def _ensure_decidable_across_nodes(stmt: ast.MergeStmt, through_view: tuple[str, str] | None,
                                   alias: str | None) -> None:
    """A MERGE whose NOT MATCHED rows the coordinator decides (`unmatched_once`): its ON
    condition is evaluated twice on each node (which source rows match there, then the
    MERGE), so it must give the same answer both times: no sub-select (its tables are copied
    only for the MERGE) and no call outside the deterministic ones."""
    if through_view is not None or alias is None:
        raise _refused("MERGE ... WHEN NOT MATCHED THEN INSERT through a view, or from a source without a "
                       "name, is supported by gridpg only when the ON condition equates the target's "
                       "distribution column with an expression of the source's columns",
                       "add ON ... <distribution column> = <source column> to the condition")
    condition = stmt.joinCondition
    calls = [c.funcname[-1].sval for c in _nodes(condition, ast.FuncCall)]
    if any(True for _ in _nodes(condition, ast.SubLink)) or any(c not in _DETERMINISTIC for c in calls):
        raise _refused("MERGE ... WHEN NOT MATCHED THEN INSERT whose ON condition holds a sub-select or calls "
                       "a function is supported by gridpg only when the condition equates the target's "
                       "distribution column with an expression of the source's columns",
                       "add ON ... <distribution column> = <source column> to the condition")


def _match_sql(stmt: ast.MergeStmt) -> str:
    """`FROM <target> [AS alias] WHERE <ON condition>`: what a staged source row matches on
    one node (executor/merge_staged._keep_unmatched_once reads EXISTS (SELECT 1 ...) of it)."""
    return f"FROM {_deparse(stmt.relation)} WHERE {_deparse(stmt.joinCondition)}"


def _refused(message: str, hint: str) -> PgError:
    return PgError(FEATURE_NOT_SUPPORTED, message, hint=hint)


def _has_sublink_outside_source(stmt: ast.MergeStmt) -> bool:
    parts = (stmt.joinCondition, stmt.mergeWhenClauses, stmt.returningClause)
    return any(True for part in parts for _ in _nodes(part, ast.SubLink))


def source_alias(source: ast.Node) -> str | None:
    """The name the statement gives the source's columns (None: a subquery without alias)."""
    alias = getattr(source, "alias", None)
    if alias is not None and alias.aliasname:
        return str(alias.aliasname)
    if isinstance(source, ast.RangeVar):
        return str(source.relname)
    return None


def _target_names(stmt: ast.MergeStmt) -> set[str]:
    relation = stmt.relation
    return {str(relation.alias.aliasname) if relation.alias is not None else str(relation.relname)}


def _key_expression(condition: ast.Node | None, target_names: set[str], column: str | None,
                    alias: str | None) -> ast.Node | None:
    """The source expression a top-level conjunct of ON equates with the target's
    distribution column: made of the source's columns only, no volatile call. The column
    may be named bare (`ON tid = sid`): the target has a column of that name, so PostgreSQL
    reads it as the target's, or refuses it as ambiguous (42702 on the nodes). A bare
    column of the expression is the source's: staged, it is read from the source alone (a
    column of the target alone fails there, 42703; one of both is ambiguous on the nodes)."""
    if alias is None or column is None:
        return None
    own = {(n, column) for n in target_names} | {(column,)}
    for cond in _conjuncts(condition):
        if not (isinstance(cond, ast.A_Expr) and cond.kind == A_Expr_Kind.AEXPR_OP
                and [n.sval for n in cond.name] == ["="]):
            continue
        for left, right in ((cond.lexpr, cond.rexpr), (cond.rexpr, cond.lexpr)):
            if _column(left) in own and (_is_source_expression(right, alias) or _is_constant(right)):
                return right
    return None


def _is_constant(node: ast.Node | None) -> bool:
    """A non-NULL literal, maybe cast (`ON t.k = 15`, `ON t.k = '15'::int`): every row the
    MERGE can match is on the one node of that value, so every source row is staged there."""
    while isinstance(node, ast.TypeCast):
        node = node.arg
    return isinstance(node, ast.A_Const) and not node.isnull


def _conjuncts(node: ast.Node | None) -> list[ast.Node]:
    if isinstance(node, ast.BoolExpr) and node.boolop == BoolExprType.AND_EXPR:
        return [c for arg in node.args for c in _conjuncts(arg)]
    return [] if node is None else [node]


def _column(node: ast.Node | None) -> tuple[str, ...] | None:
    if not isinstance(node, ast.ColumnRef) or not all(isinstance(f, ast.String) for f in node.fields):
        return None
    return tuple(f.sval for f in node.fields)


def _is_source_expression(node: ast.Node, alias: str) -> bool:
    refs = [_column(r) for r in _nodes(node, ast.ColumnRef)]
    if not refs or any(r is None or not (len(r) == 1 or len(r) == 2 and r[0] == alias) for r in refs):
        return False
    if any(True for _ in _nodes(node, ast.SubLink)) or any(True for _ in _nodes(node, ast.ParamRef)):
        return False
    calls = list(_nodes(node, ast.FuncCall))
    return all(call.funcname[-1].sval in _DETERMINISTIC and not call.agg_star and call.over is None
               for call in calls)


def _ensure_actions_keep_rows_home(stmt: ast.MergeStmt, target: DistTable, key: ast.Node | None,
                                   column: str | None, columns: tuple[str | None, ...]
                                   ) -> tuple[bool, tuple[int, ...], tuple[int, ...]]:
    """No UPDATE sets the distribution column; an INSERT only with the key staged by (never
    when the source is broadcast: its unmatched rows are not known on any one node).
    (Whether the MERGE inserts rows (its source must then be split by the key), the
    positions of the INSERT actions that give the distribution column another value:
    decided where the source row is staged, their rows moved to their own nodes after,
    executor/merge_moves.py.)"""
    if target.method == "replication":
        return False, (), ()  # every row on every replica: nothing moves, nothing is split
    key_text = None if key is None else _deparse(key)
    inserts = False
    moved: list[int] = []
    defaulted: list[int] = []
    for position, when in enumerate(stmt.mergeWhenClauses or ()):
        names = [str(t.name) for t in when.targetList or ()]
        kind = _command(when)
        if kind == "update" and any(c in names and not _keeps_value(stmt, c, when.targetList[names.index(c)].val)
                                    for c in columns):
            raise _refused("MERGE ... UPDATE of the distribution column of a distributed table is not "
                           "supported by gridpg (the row would move to another node)",
                           "DELETE the row and INSERT it with its new key")
        if kind != "insert":
            continue
        if when.matchKind != MergeMatchKind.MERGE_WHEN_NOT_MATCHED_BY_TARGET:
            continue
        inserts = True
        if key_text is None and target.method != "hash":
            raise _refused(f"MERGE ... WHEN NOT MATCHED THEN INSERT into a {target.method.upper()} table is "
                           "supported by gridpg only when its source is colocated with it",
                           "MERGE into a table distributed by HASH, or INSERT the new rows separately")
        given = key_text or "a value"
        for name in columns:
            if name is None or (not names and key_text is not None):
                continue
            if not names:  # (no key: where its row belongs is not known)
                raise _refused("MERGE ... WHEN NOT MATCHED THEN INSERT DEFAULT VALUES into a distributed table "
                               "is supported by gridpg only when the ON condition equates the target's "
                               "distribution column with an expression of the source's columns",
                               f"add ON ... {name} = <source column> to the condition")
            value = (when.values or ())[names.index(name)] if name in names else None
            if value is None or isinstance(value, ast.SetToDefault):
                # left to its default: served when that is a sequence's (the executor draws
                # each row's value and plans again, run._merge_filling_sequences), else
                # refused (`refuse_defaulted_key`)
                if target.method != "hash":
                    raise defaulted_key_refused(name, given)
                defaulted.append(position)
                continue
            # (without a key every source row is on every node: each inserted row is
            # placed by its own value, MergeStagedPlan.unmatched_once)
            if key_text is None or (_deparse(value) != key_text and not _names_source_key(value, key)):
                if target.method != "hash":
                    raise _refused("MERGE ... INSERT of a distribution column value other than the one in "
                                   "the ON condition is not supported by gridpg (the row would belong on "
                                   "another node)", f"insert {key_text} into {name}")
                moved.append(position)
    return inserts, tuple(moved), tuple(defaulted)


def defaulted_key_refused(name: str, given: str = "a value") -> PgError:
    """An INSERT action leaving the distribution column to a default that is not a sequence's."""
    return _refused(f'MERGE ... INSERT leaving the distribution column "{name}" to its default is not '
                    "supported by gridpg (the row would belong on another node than the source row that "
                    "inserts it)", f"insert {given} into {name}")


def with_insert_columns(sql: str, names: Sequence[str], null_key: str | None = None) -> str | None:
    """The MERGE with each INSERT action that has no column list given the one PostgreSQL
    reads it with (the target's first columns, `names` in order), so that the value it
    gives the distribution column can be found; `null_key`: the distribution column when
    it has no default, which an INSERT DEFAULT VALUES then gives NULL (said so, the row is
    placed as PostgreSQL's hash partitioning places a NULL key). None when no action
    changes."""
    stmt = parse_sql(sql)[0].stmt
    assert isinstance(stmt, ast.MergeStmt)
    changed = False
    for when in stmt.mergeWhenClauses or ():
        if when.commandType != CmdType.CMD_INSERT or when.targetList:
            continue
        if not when.values and null_key is not None:  # INSERT DEFAULT VALUES
            when.targetList = (ast.ResTarget(name=null_key),)
            when.values = (ast.A_Const(isnull=True),)
            changed = True
        elif when.values and len(when.values) <= len(names):
            when.targetList = tuple(ast.ResTarget(name=n) for n in names[:len(when.values)])
            changed = True
    return _deparse(stmt) if changed else None  # (its WITH clause too)


def with_moved_inserts(sql: str, moved: tuple[int, ...], outboxes: Sequence[str], column: str,
                       is_local: Callable[[str], str]) -> tuple[str, list[tuple[list[str], str]]]:
    """One node's statement of a MERGE (its source already the stage) whose INSERT actions
    at `moved` may give rows of other nodes. Each such action inserts only the rows whose
    distribution value (`column`'s value in it) is the node's own (`is_local(value)`: SQL
    true there, never NULL), followed by a DO NOTHING action of its condition for the others
    (so a later action never sees them, as in PostgreSQL); a WITH entry of the same
    statement (the same snapshot) writes those others into its outbox (`outboxes`, in
    order): the source rows no target row matches (NOT EXISTS of the ON condition) for
    which that action is the first NOT MATCHED action whose condition holds, with the
    action's values. (The statement, and per outbox the action's column list and its
    OVERRIDING clause.)"""
    stmt = parse_sql(sql)[0].stmt
    assert isinstance(stmt, ast.MergeStmt)
    source = _deparse(stmt.sourceRelation)
    unmatched = f"NOT EXISTS (SELECT 1 FROM {_deparse(stmt.relation)} WHERE {_deparse(stmt.joinCondition)})"
    earlier: list[str] = []
    entries, columns, clauses = [], [], []
    for position, when in enumerate(stmt.mergeWhenClauses or ()):
        clauses.append(when)
        if when.matchKind != MergeMatchKind.MERGE_WHEN_NOT_MATCHED_BY_TARGET:
            continue
        condition = _deparse(when.condition) if when.condition is not None else None
        fires = [unmatched, *(f"({c}) IS NOT TRUE" for c in earlier), *([f"({condition})"] if condition else [])]
        earlier.append(condition or "true")
        if position not in moved:
            continue
        names = [str(t.name) for t in when.targetList or ()]
        values = list(when.values or ())
        local = is_local(_deparse(values[names.index(column)]))
        outbox = outboxes[len(entries)]
        entries.append(f"gp_moved_{len(entries)} AS (INSERT INTO {outbox} ({', '.join(quote_ident(n) for n in names)}) "
                       f"SELECT {', '.join(_deparse(v) for v in values)} FROM {source} "
                       f"WHERE {' AND '.join(fires)} AND NOT ({local}))")
        overriding = {OverridingKind.OVERRIDING_SYSTEM_VALUE: "OVERRIDING SYSTEM VALUE ",
                      OverridingKind.OVERRIDING_USER_VALUE: "OVERRIDING USER VALUE "}.get(when.override, "")
        columns.append((names, overriding))
        when.condition = _expression(f"({condition}) AND ({local})" if condition else local)
        clauses.append(ast.MergeWhenClause(matchKind=when.matchKind, commandType=CmdType.CMD_NOTHING,
                                           override=OverridingKind.OVERRIDING_NOT_SET,
                                           condition=_expression(condition) if condition else None))
    stmt.mergeWhenClauses = tuple(clauses)
    return f"WITH {', '.join(entries)} {_deparse(stmt)}", columns


def moved_returning(sql: str, table_columns: Sequence[str]) -> str | None:
    """The RETURNING list a moved INSERT action's rows are returned with where they are
    inserted, on their own node (`INSERT INTO target AS alias ... SELECT ... FROM inbox
    RETURNING <this>`: executor/merge_moves.py), the MERGE's with `merge_action()` as
    'INSERT'; None when it reads what such an INSERT has not (a source column, OLD/NEW, `*`
    of the source too): those rows are refused then (0A000), before any row is returned."""
    stmt = parse_sql(sql)[0].stmt
    assert isinstance(stmt, ast.MergeStmt)
    clause = stmt.returningClause
    if clause is None or clause.options:
        return None
    names = {stmt.relation.alias.aliasname} if stmt.relation.alias is not None else {stmt.relation.relname}
    source = stmt.sourceRelation
    source_columns = {str(t.name) if t.name else _last_name(t.val)
                      for t in (getattr(getattr(source, "subquery", None), "targetList", None) or ())}

    def rewrite(node: object) -> object | None:
        if isinstance(node, ast.MergeSupportFunc):
            return _expression("'INSERT'::pg_catalog.text")
        if isinstance(node, ast.ColumnRef):
            fields = node.fields or ()
            if isinstance(fields[-1], ast.A_Star):
                return node if len(fields) == 2 and getattr(fields[0], "sval", None) in names else None
            if len(fields) == 1:
                return node if fields[0].sval in table_columns and fields[0].sval not in source_columns else None
            return node if len(fields) == 2 and fields[0].sval in names else None
        if isinstance(node, ast.Node):
            for attr in node:
                value = getattr(node, attr)
                if isinstance(value, (ast.Node, tuple)):
                    new = rewrite(value)
                    if new is None:
                        return None
                    setattr(node, attr, new)
            return node
        if isinstance(node, tuple):
            items = [rewrite(item) for item in node]
            return None if any(i is None for i in items) else tuple(items)
        return node

    exprs = rewrite(clause.exprs)
    if exprs is None:
        return None
    return ", ".join(_deparse(target) for target in exprs)  # type: ignore[union-attr]


def _last_name(node: object) -> str | None:
    fields = getattr(node, "fields", None)
    return getattr(fields[-1], "sval", None) if fields else None


def _expression(text: str) -> ast.Node:
    target = parse_sql(f"SELECT {text}")[0].stmt.targetList[0]
    return target.val


def _keeps_value(stmt: ast.MergeStmt, column: str, value: ast.Node) -> bool:
    """Whether a WHEN MATCHED UPDATE sets the distribution column to the value it has: the
    target's own column (`SET k = t.k`), or the constant or column a top-level conjunct of
    ON equates it with (`ON ... AND t.k = 30000 ... SET k = 30000`, `ON t.k = s.k ... SET
    k = s.k`, `ON t.k IS NOT DISTINCT FROM s.k`: equal, or both NULL). The row stays where
    it is (and were `=` to equate values that hash apart,
    the datanode would move it into its own partition of the new shard, or refuse it)."""
    names = _target_names(stmt)
    own = {(n, column) for n in names}
    if _column(value) in own:
        return True
    if not isinstance(value, ast.A_Const) and _column(value) is None:
        return False
    for cond in _conjuncts(stmt.joinCondition):
        if isinstance(cond, ast.A_Expr) and cond.kind in (A_Expr_Kind.AEXPR_OP, A_Expr_Kind.AEXPR_NOT_DISTINCT) \
                and [n.sval for n in cond.name] == ["="]:
            for left, right in ((cond.lexpr, cond.rexpr), (cond.rexpr, cond.lexpr)):
                if _column(left) in own and isinstance(right, ast.A_Const | ast.ColumnRef) \
                        and _deparse(right) == _deparse(value):
                    return True
    return False


def _names_source_key(value: ast.Node, key: ast.Node | None) -> bool:
    """Whether an INSERT's value is the staging key `alias.column` named without its alias:
    a WHEN NOT MATCHED action sees the source's columns only (PostgreSQL does not let it
    name the target's), so a bare `column` is the source's one (or ambiguous: an error)."""
    bare, qualified = _column(value), _column(key)
    return bare is not None and qualified is not None and len(bare) == 1 and len(qualified) == 2 \
        and bare[0] == qualified[1]


def _command(when: ast.MergeWhenClause) -> str:
    return {CmdType.CMD_UPDATE: "update", CmdType.CMD_INSERT: "insert", CmdType.CMD_DELETE: "delete"}.get(
        when.commandType, "nothing")


def _deparse(node: ast.Node) -> str:
    return str(RawStream()(node))


def _pieces(sql: str) -> tuple[str, str, str, str]:
    """(WITH clause, `MERGE INTO target [alias] `, the source as written, `ON ...` to the
    end), cut at the statement's top-level MERGE, USING and ON keywords (keyword tokens:
    a quoted name or a comment never matches)."""
    depth, merge_at, using = 0, -1, (-1, -1)
    previous = ""
    for tok in sqlparse.tokens(sql):
        text = sql[tok.start: tok.end + 1]
        if tok.name in ("C_COMMENT", "SQL_COMMENT"):
            continue
        if text == "(":
            depth += 1
        elif text == ")":
            depth -= 1
        elif depth == 0 and merge_at < 0 and tok.name == "MERGE" and previous in ("", ")"):
            merge_at = tok.start
        elif depth == 0 and merge_at >= 0 and using[0] < 0 and tok.name == "USING":
            using = (tok.start, tok.end + 1)
        elif depth == 0 and using[0] >= 0 and tok.name == "ON":
            return sql[:merge_at], sql[merge_at:using[0]], sql[using[1]:tok.start], sql[tok.start:]
        previous = text
    raise PgError(FEATURE_NOT_SUPPORTED, "gridpg could not find the parts of this MERGE statement")
