"""Rules (CREATE RULE) of distributed tables whose actions write or notify, applied by the
coordinator as PostgreSQL's rewriter applies them.

A datanode holds some rows of the table; an action run there (`ON INSERT TO orders DO ALSO
INSERT INTO orders_log VALUES (new.id, ...)`) would write the other table's local shards
whatever their placement, and its NOTIFY would reach nobody. Such rules (an action that is
an INSERT, UPDATE, DELETE or NOTIFY) are kept on the catalog servers only; rules whose
actions do neither (`DO INSTEAD NOTHING`) stay with the table on the datanodes, where they
act on the statement as before.

A write of the table that fires coordinator rules becomes a list of statements, each
planned and run like a client's, in one transaction (PostgreSQL's "Rules on INSERT, UPDATE,
and DELETE"):
- each rule of the event, enabled, in name order, adds its actions with the rule's
  condition; `NEW.c` / `OLD.c` become the values the original statement gives or finds:
  the actions read a derived table `gp_rule_src` of them (an INSERT's VALUES or SELECT,
  with the column defaults PostgreSQL substitutes for columns not given; an UPDATE's or
  DELETE's target joined with its FROM/USING under its WHERE, the SET expressions as the
  new values);
- an unconditional INSTEAD rule drops the original statement; a conditional one adds
  `(condition) IS NOT TRUE` to it;
- the original runs before the actions of an INSERT and after those of an UPDATE/DELETE;
- the client gets the original's command tag, else the last same-kind action of an
  INSTEAD rule's, else the command with a count of 0.
The original, run again through the planner, carries a marker (the coordinator's own,
added by executor/rules.py, never shown) that stops a second expansion; actions are expanded in turn by the rules of the tables they write (a loop is
PostgreSQL's 42P17). Shapes not taken (0A000, never silently past the rule): WITH,
RETURNING under an INSTEAD rule (under DO ALSO rules the original keeps it), ON CONFLICT (PostgreSQL's own 0A000), OVERRIDING, WHERE CURRENT OF, multiple-
column or subscripted SET targets, `NEW`/`OLD` as whole rows, NEW of an identity column
not given, and a rule that cannot be read. An action's INSERT of several VALUES rows runs
as one INSERT ... SELECT over the source rows, each joined with the VALUES rows (their
order, PostgreSQL's), or one INSERT a row when the rows give DEFAULT in different columns. NEW of a generated column is its generation expression over the NEW
values of the columns it reads (PostgreSQL 18 gives a rule the value the row will have,
also for an UPDATE that does not set the column).
"""

from __future__ import annotations

import copy
import dataclasses
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pglast import ast, parse_sql
from pglast.stream import RawStream
from pglast.visitors import Visitor

from gridpg.errors import FEATURE_NOT_SUPPORTED, PgError
from gridpg.sql.quote import quote_ident

_EVENTS = {2: "update", 3: "insert", 4: "delete"}
_WRITES = (ast.InsertStmt, ast.UpdateStmt, ast.DeleteStmt)
_SOURCE = "gp_rule_src"
# distribution column types whose equality is identity (two equal values are the same
# value): an action's SET of such a key to the value its WHERE pins it to changes nothing
IDENTITY_EQUALITY = frozenset({"int2", "int4", "int8", "smallint", "integer", "bigint", "text", "varchar",
                               "character varying", "bpchar", "character", "uuid", "date", "bool", "boolean"})
_DEPTH_LIMIT = 16


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    default: str | None  # a generated column's: its generation expression
    generated: bool  # identity or generated: no default expression to substitute
    computed: bool = False  # a generated column (stored or virtual)


@dataclass(frozen=True)
class Rule:
    name: str
    event: str  # insert, update, delete (select rules are views')
    instead: bool
    condition: Any  # the WHERE of the rule (pglast node) or None
    actions: tuple[Any, ...]  # pglast statements; () for NOTHING
    enabled: str  # pg_rewrite.ev_enabled
    error: str = ""  # why the definition could not be read

    @property
    def on_coordinator(self) -> bool:
        """Whether the coordinator applies it (an action that writes or notifies)."""
        return bool(self.error) or any(isinstance(a, (*_WRITES, ast.NotifyStmt)) for a in self.actions)


@dataclass(frozen=True)
class TableRules:
    schema: str
    table: str
    columns: tuple[Column, ...]
    rules: tuple[Rule, ...]

    def firing(self, event: str, replica: bool = False) -> list[Rule]:
        """The coordinator's rules the event fires, in name order: ENABLE ALWAYS ones, and
        plain enabled ones under session_replication_role origin or local, ENABLE REPLICA
        ones under replica (`replica`), as PostgreSQL's rewriter chooses (rules.sql:1381:
        both kinds fired as origin whatever the setting)."""
        states = ("R", "A") if replica else ("O", "A")
        return [r for r in self.rules if r.event == event and r.enabled in states and r.on_coordinator]

    def column(self, name: str) -> Column | None:
        return next((c for c in self.columns if c.name == name), None)


def table_rules(rows: Sequence[Sequence[Any]]) -> dict[tuple[str, str], TableRules]:
    """The catalog server's rows (schema, table, rule name, pg_get_ruledef, ev_enabled,
    columns as JSON) by table; tables with coordinator rules only."""
    found: dict[tuple[str, str], tuple[tuple[Column, ...], list[Rule]]] = {}
    for schema, table, name, definition, enabled, columns in rows:
        key = (schema or "", table or "")
        if key not in found:
            cols = tuple(Column(n, t, d, bool(g), bool(rest and rest[0]))
                         for n, t, d, g, *rest in json.loads(columns or "[]"))
            found[key] = (cols, [])
        found[key][1].append(_rule(name or "", definition or "", enabled or "O"))
    return {key: TableRules(key[0], key[1], cols, tuple(rules)) for key, (cols, rules) in found.items()
            if any(r.on_coordinator for r in rules)}


def _rule(name: str, definition: str, enabled: str) -> Rule:
    try:
        stmt = parse_sql(definition)[0].stmt
    except Exception as exc:  # noqa: BLE001 - kept as a rule that refuses the writes it fires on
        return Rule(name, "", False, None, (), enabled, f"its definition could not be read ({exc})")
    event = _EVENTS.get(int(stmt.event), "select")
    return Rule(name, event, bool(stmt.instead), stmt.whereClause, tuple(stmt.actions or ()), enabled)


def is_coordinator_rule(stmt: Any) -> bool:
    """A CREATE RULE (pglast RuleStmt) the coordinator applies (planner/utility.py keeps it
    off the datanodes)."""
    return any(isinstance(a, (*_WRITES, ast.NotifyStmt)) for a in stmt.actions or ())


@dataclass(frozen=True)
class Expansion:
    """The statements a write becomes, in order; `original`: the index of the client's own
    statement (its answer is the client's) or None; `tag_step`: when it does not run, the
    step whose command tag the client gets, else `tag`."""

    steps: tuple[str, ...]
    original: int | None
    tag_step: int | None
    tag: str


def target_rules(sql: str, marker: str, catalog_rules: Mapping[tuple[str, str], TableRules],
                 resolve: Any, replica: bool = False) -> tuple[Any, TableRules, list[Rule]] | None:
    """(the statement, its table's rules, the rules it fires) when `sql` is an INSERT,
    UPDATE or DELETE of a distributed table with coordinator rules for that event; None
    otherwise, and for the original statement of an expansion (`marker` first)."""
    if not catalog_rules or (marker and sql.startswith(marker)):
        return None
    head = sql.lstrip()[:7].lower()
    if not head.startswith(("insert", "update", "delete", "with", "/*", "--", "(")):
        return None
    try:
        statements = parse_sql(sql)
    except Exception:  # noqa: BLE001 - reported where it is planned
        return None
    if len(statements) != 1:
        return None
    stmt = statements[0].stmt
    if not isinstance(stmt, _WRITES):
        return None
    relation = resolve(stmt.relation.schemaname, stmt.relation.relname)
    if relation is None:
        return None
    rules = catalog_rules.get(relation)
    if rules is None:
        return None
    event = {ast.InsertStmt: "insert", ast.UpdateStmt: "update", ast.DeleteStmt: "delete"}[type(stmt)]
    firing = rules.firing(event, replica)
    return (stmt, rules, firing) if firing else None


def merge_refusal(sql: str, catalog_rules: Mapping[tuple[str, str], TableRules], resolve: Any,
                  replica: bool = False) -> PgError | None:
    """PostgreSQL's 0A000 for a MERGE into a table with rules its rewriter would apply (an
    enabled rule of INSERT, UPDATE or DELETE: "MERGE is not supported for relations with
    rules"; a disabled one lets it run). A table's rules that write live on the catalog
    servers only, so the datanodes, which refuse it for the rules they hold, took the MERGE
    and wrote past the rules (rules.sql:1260, h-views27)."""
    if not catalog_rules or "merge" not in sql.lower():
        return None
    try:
        statements = parse_sql(sql)
    except Exception:  # noqa: BLE001 - reported where it is planned
        return None
    stmt = statements[0].stmt if len(statements) == 1 else None
    if not isinstance(stmt, ast.MergeStmt):
        return None
    relation = resolve(stmt.relation.schemaname, stmt.relation.relname)
    ruled = catalog_rules.get(relation) if relation is not None else None
    if ruled is None or not any(ruled.firing(event, replica) for event in ("insert", "update", "delete")):
        return None
    return PgError(FEATURE_NOT_SUPPORTED, f'cannot execute MERGE on relation "{stmt.relation.relname}"',
                   detail="MERGE is not supported for relations with rules.")


def expand(stmt: Any, rules: TableRules, firing: list[Rule], sql: str,
           key_of: Any = lambda _schema, _name: None) -> Expansion:
    """The statements `stmt` (pglast, of `sql`) becomes under `firing`, the rules of its
    table's event (TableRules.firing). `key_of(schema, name)`: the distribution column of
    a table an action updates, when its equality is identity (an action's `SET key =
    NEW.key` the original leaves unchanged is dropped: see `_unchanged_key`)."""
    for rule in firing:
        if rule.error:
            raise _refused(f'rule "{rule.name}" of table "{rules.table}": {rule.error}')
    if getattr(stmt, "withClause", None) is not None:
        raise _refused("a write with WITH of a table with rules that write is not supported by gridpg")
    if _returns(stmt) and any(r.instead for r in firing):
        # (DO ALSO rules only: the original statement runs as written and its RETURNING is
        # the client's answer, as in PostgreSQL, whose ALSO actions may return nothing; an
        # INSTEAD rule's RETURNING would stand for the original's, not built here)
        raise _refused("RETURNING of a table with INSTEAD rules that write is not supported by gridpg")
    if isinstance(stmt, ast.InsertStmt):
        return _insert(stmt, rules, firing, sql)
    return _update_or_delete(stmt, rules, firing, sql, key_of)


# -- INSERT ------------------------------------------------------------------------------


def _insert(stmt: Any, rules: TableRules, firing: list[Rule], sql: str) -> Expansion:
    if stmt.onConflictClause is not None:
        raise PgError(FEATURE_NOT_SUPPORTED, "INSERT with ON CONFLICT clause cannot be used with table that "
                      "has INSERT or UPDATE rules")
    if stmt.override:
        raise _refused("INSERT ... OVERRIDING of a table with rules that write is not supported by gridpg")
    given = [t.name for t in stmt.cols] if stmt.cols else [c.name for c in rules.columns]
    generated_defaults: set[str] = set()  # DEFAULT of an identity or generated column: not substituted
    select = stmt.selectStmt
    has_default = False
    rows: list[list[str]] | None = None
    if select is None:  # DEFAULT VALUES
        source, width = "(SELECT)", 0
    elif select.valuesLists:
        width = len(select.valuesLists[0])
        rows = []
        for row in select.valuesLists:
            values = []
            for position, value in enumerate(row):
                if isinstance(value, ast.SetToDefault):
                    has_default = True
                    column = rules.column(given[position]) if position < len(given) else None
                    if column is not None and column.generated:
                        generated_defaults.add(column.name)
                        values.append(f"NULL::{column.type}")
                    else:
                        values.append(_default(column, rules) if column else "NULL")
                else:
                    values.append(_text(value))
            rows.append(values)
        source = "(VALUES " + ", ".join("(" + ", ".join(r) + ")" for r in rows) + ")"
    else:
        width = min(len(given), len(select.targetList or ())) if not _star(select) else len(given)
        source = "(" + _text(select) + ")"
    given = given[:width]
    aliases = ", ".join(f"gp_s{i}" for i in range(1, width + 1))
    source_item = f"{source} AS {_SOURCE}({aliases})" if width else f"{source} AS {_SOURCE}"
    # the defaults of columns not given that the actions read: items of the VALUES rows,
    # where a sequence call is the GTM's (sequences.inline_values_nextval), as the
    # statement's own DEFAULTs are
    extra: dict[str, int] = {}

    def new_value(name: str, in_values: bool) -> str:
        column = rules.column(name)
        if column is None:
            raise PgError("42703", f'column new.{name} does not exist')
        if column.computed:
            return _generation(column, lambda read: new_value(read, in_values))
        if name in given and name not in generated_defaults:
            return f"{_SOURCE}.gp_s{given.index(name) + 1}::{column.type}"
        if in_values and rows is not None and column.default and not column.generated:
            return f"{_SOURCE}.gp_s{extra.setdefault(name, width + len(extra) + 1)}::{column.type}"
        return _default(column, rules)

    reading = _Substitution(lambda qual, name: new_value(name, True) if qual == "new" else None)
    _actions(firing, reading, source_item, "INSERT")  # (names the defaults read)
    action_source = source_item
    if extra and rows is not None:
        defaults = [_default(rules.column(name), rules) for name in extra]  # type: ignore[arg-type]
        values = ", ".join("(" + ", ".join(r + defaults) + ")" for r in rows)
        names = ", ".join(f"gp_s{i}" for i in range(1, width + len(extra) + 1))
        action_source = f"(VALUES {values}) AS {_SOURCE}({names})"
    actions, _, unconditional = _actions(firing, reading, action_source, "INSERT")
    substitute = _Substitution(lambda qual, name: new_value(name, False) if qual == "new" else None)
    _, instead_conditions, _ = _actions(firing, substitute, source_item, "INSERT")
    steps: list[str] = []
    original: int | None = None
    if not unconditional:
        if instead_conditions:
            if has_default:
                raise _refused("INSERT ... DEFAULT of a table with a conditional INSTEAD rule is not "
                               "supported by gridpg")
            target = _text(stmt.relation)
            columns = ", ".join(quote_ident(c) for c in given)
            kept = " AND ".join(f"({c}) IS NOT TRUE" for c in instead_conditions)
            picked = ", ".join(f"{_SOURCE}.gp_s{i}" for i in range(1, width + 1)) or "NULL"
            steps.append(f"INSERT INTO {target} ({columns}) SELECT {picked} FROM {source_item} "
                         f"WHERE {kept}")
        else:
            steps.append(sql.strip().rstrip(";"))
        original = 0
    steps.extend(sql for sql, _ in actions)
    return _finish(steps, original, actions, "INSERT", len(steps) - len(actions))


# -- UPDATE / DELETE -------------------------------------------------------------------------


def _update_or_delete(stmt: Any, rules: TableRules, firing: list[Rule], sql: str, key_of: Any) -> Expansion:
    where = stmt.whereClause
    if isinstance(where, ast.CurrentOfExpr):
        raise _refused("WHERE CURRENT OF a table with rules that write is not supported by gridpg")
    command = "UPDATE" if isinstance(stmt, ast.UpdateStmt) else "DELETE"
    relation = stmt.relation
    alias = relation.alias.aliasname if relation.alias else relation.relname
    qualified = quote_ident(alias)
    sets: dict[str, Any] = {}
    if isinstance(stmt, ast.UpdateStmt):
        for target in stmt.targetList or ():
            if isinstance(target.val, ast.MultiAssignRef) or target.indirection:
                raise _refused("UPDATE of a table with rules that write: only SET column = value is "
                               "supported by gridpg")
            sets[target.name] = target.val
    others = stmt.fromClause if isinstance(stmt, ast.UpdateStmt) else stmt.usingClause

    def new_value(name: str) -> str:
        column = rules.column(name)
        if column is None:
            raise PgError("42703", f"column new.{name} does not exist")
        if column.computed:  # computed again from the new values, set or not
            return _generation(column, new_value)
        if name in sets:
            value = sets[name]
            if isinstance(value, ast.SetToDefault):
                return _default(column, rules)
            return f"({_text(value)})::{column.type}"
        return f"{qualified}.{quote_ident(name)}"

    def value(qual: str, name: str) -> str | None:
        if qual == "old":
            if rules.column(name) is None:
                raise PgError("42703", f"column old.{name} does not exist")
            return f"{qualified}.{quote_ident(name)}"
        if qual == "new" and command == "UPDATE":
            return new_value(name)
        return None

    substitute = _Substitution(value)
    used: dict[str, str] = {}

    def collected(qual: str, name: str) -> str | None:
        text = value(qual, name)
        if text is None:
            return None
        label = used.setdefault(f"{qual}.{name}", f"gp_{qual[0]}{len(used) + 1}")
        return f"{_SOURCE}.{label}"

    # the actions read the rows the original finds: a derived table of the values they
    # use (a first pass names them, the second reads the table it made)
    reading = _Substitution(collected)
    if command == "UPDATE":
        unchanged = {c.name for c in rules.columns if not c.computed} - set(sets)
        firing = [_without_unchanged_keys(rule, unchanged, key_of) for rule in firing]
    _actions(firing, reading, f"(SELECT) AS {_SOURCE}", command)
    items = [_text(relation) + (f" AS {qualified}" if not relation.alias else "")]
    items += [_text(item) for item in others or ()]
    selected = ", ".join(f"{value(*key.split('.', 1))} AS {label}" for key, label in used.items())
    source = (f"(SELECT {selected} FROM {', '.join(items)}"
              + (f" WHERE {_text(where)}" if where is not None else "") + f") AS {_SOURCE}")
    actions, instead_conditions, unconditional = _actions(firing, reading, source, command)
    steps = [sql_text for sql_text, _ in actions]
    original: int | None = None
    if not unconditional:
        if instead_conditions:
            kept = [_parse_expression(substitute.text_of(c)) for c in _conditions(firing)]
            copied = copy.deepcopy(stmt)
            test = [ast.BooleanTest(arg=k, booltesttype=1) for k in kept]  # IS NOT TRUE
            parts = ([copied.whereClause] if copied.whereClause is not None else []) + test
            copied.whereClause = parts[0] if len(parts) == 1 else ast.BoolExpr(boolop=0, args=tuple(parts))
            steps.append(_text(copied))
        else:
            steps.append(sql.strip().rstrip(";"))
        original = len(steps) - 1
    return _finish(steps, original, actions, command, 0)


def _without_unchanged_keys(rule: Rule, unchanged: set[str], key_of: Any) -> Rule:
    """The rule with each UPDATE action's `SET key = NEW.x` dropped where the action's
    WHERE holds `key = OLD.x` and the original statement leaves x as it was: the key keeps
    its value in every row the action updates (a view's rule that copies every column
    back to its table, `shoelace_upd` of PostgreSQL's manual), and an UPDATE setting the
    distribution column from another table would be refused."""
    actions = []
    for action in rule.actions:
        if isinstance(action, ast.UpdateStmt) and action.targetList and len(action.targetList) > 1:
            key = key_of(action.relation.schemaname, action.relation.relname)
            kept = tuple(t for t in action.targetList if not _unchanged_key(t, key, action, unchanged))
            if kept and len(kept) < len(action.targetList):
                action = copy.deepcopy(action)
                action.targetList = kept
        actions.append(action)
    return dataclasses.replace(rule, actions=tuple(actions))


def _unchanged_key(target: Any, key: str | None, action: Any, unchanged: set[str]) -> bool:
    value = target.val
    if key is None or target.name != key or target.indirection or not isinstance(value, ast.ColumnRef):
        return False
    names = [f.sval for f in value.fields if isinstance(f, ast.String)]
    if len(names) != 2 or names[0] != "new" or names[1] not in unchanged:
        return False
    alias = action.relation.alias.aliasname if action.relation.alias else action.relation.relname
    for conjunct in _conjuncts(action.whereClause):
        if not (isinstance(conjunct, ast.A_Expr) and conjunct.kind == 0 and len(conjunct.name) == 1
                and conjunct.name[0].sval == "="):
            continue
        sides = [[f.sval for f in s.fields if isinstance(f, ast.String)] if isinstance(s, ast.ColumnRef) else None
                 for s in (conjunct.lexpr, conjunct.rexpr)]
        if ["old", names[1]] in sides and ([key] in sides or [alias, key] in sides):
            return True
    return False


def _conjuncts(node: Any) -> list[Any]:
    if isinstance(node, ast.BoolExpr) and node.boolop == 0:
        return [c for arg in node.args for c in _conjuncts(arg)]
    return [node] if node is not None else []


def _conditions(firing: list[Rule]) -> list[Any]:
    return [r.condition for r in firing if r.instead and r.condition is not None]


def _actions(firing: list[Rule], substitute: _Substitution, source_item: str, command: str
             ) -> tuple[list[tuple[str, str]], list[str], bool]:
    """([(action statement, its kind ('instead' or 'also') and command)], the conditions of
    conditional INSTEAD rules as text, whether an unconditional INSTEAD rule fired)."""
    actions: list[tuple[str, str]] = []
    instead_conditions: list[str] = []
    unconditional = False
    for rule in firing:
        condition = substitute.text_of(rule.condition) if rule.condition is not None else None
        if rule.instead:
            if condition is None:
                unconditional = True
            else:
                instead_conditions.append(condition)
        for action in rule.actions:
            if isinstance(action, ast.NotifyStmt):
                actions.append((_text(action), "notify"))
                continue
            kind = ("instead " if rule.instead else "also ") + type(action).__name__[:6].upper()
            actions.extend((text, kind) for text in _action(action, substitute, source_item, condition))
    return actions, instead_conditions, unconditional


def _action(action: Any, substitute: _Substitution, source_item: str, condition: str | None) -> list[str]:
    """One action as statements reading the rule's derived table (an INSERT of several
    VALUES rows: one statement a row, in their order)."""
    action = substitute.apply(copy.deepcopy(action))
    if getattr(action, "withClause", None) is not None or _returns(action):
        raise _refused("a rule action with WITH or RETURNING is not supported by gridpg")
    source = _parse_from_item(source_item)
    if isinstance(action, ast.InsertStmt):
        select = action.selectStmt
        if select is not None and select.valuesLists:
            together = _values_rows_together(action, source_item, condition)
            if together is not None:
                return [together]
            statements = []
            for row in select.valuesLists:
                cols = action.cols
                if any(isinstance(v, ast.SetToDefault) for v in row):
                    if not cols:
                        raise _refused("a rule action INSERT ... VALUES with DEFAULT and no column list is "
                                       "not supported by gridpg")
                    keep = [i for i, v in enumerate(row) if not isinstance(v, ast.SetToDefault)]
                    cols = tuple(cols[i] for i in keep)
                    row = tuple(row[i] for i in keep)
                columns = "(" + ", ".join(_text(c) for c in cols) + ") " if cols else ""
                selected = ", ".join(_text(v) for v in row)
                statements.append(f"INSERT INTO {_text(action.relation)} {columns}SELECT {selected} "
                                  f"FROM {source_item}" + (f" WHERE {condition}" if condition else ""))
            return statements
        if select is None:
            raise _refused("a rule action INSERT ... DEFAULT VALUES is not supported by gridpg")
        # the action's SELECT runs once per source row, LATERAL to it: its `*` sees only its
        # own columns (the derived table's, joined into its FROM, became more values for
        # the target's next columns) and a sub-select in its FROM reads NEW/OLD as PostgreSQL's
        # implicit LATERAL allows (42P01 "missing FROM-clause entry", rules.sql:1055)
        action.selectStmt = parse_sql(
            f"SELECT gp_rule_action.* FROM {source_item} CROSS JOIN LATERAL ({_text(select)}) AS gp_rule_action"
            + (f" WHERE {condition}" if condition else ""))[0].stmt
        return [_text(action)]
    if isinstance(action, ast.UpdateStmt):
        _join(action, "fromClause", source, condition)
        return [_text(action)]
    if isinstance(action, ast.DeleteStmt):
        _join(action, "usingClause", source, condition)
        return [_text(action)]
    raise _refused(f"a rule action {type(action).__name__} is not supported by gridpg")


def _values_rows_together(action: Any, source_item: str, condition: str | None) -> str | None:
    """An action's INSERT of several VALUES rows as one statement, the rows of each source
    row together (`SELECT gp_rule_vals.* FROM <source> CROSS JOIN LATERAL (VALUES ...)`),
    in PostgreSQL's order: a serial column's values follow it (rules.sql:1008 logged the
    OLD rows of every source row first). None when the rows give DEFAULT in different
    columns, or give it without a column list (then one INSERT a row)."""
    rows = action.selectStmt.valuesLists
    if len(rows) < 2:
        return None
    defaults = {i for i, v in enumerate(rows[0]) if isinstance(v, ast.SetToDefault)}
    if any({i for i, v in enumerate(row) if isinstance(v, ast.SetToDefault)} != defaults for row in rows) \
            or (defaults and not action.cols):
        return None
    keep = [i for i in range(len(rows[0])) if i not in defaults]
    cols = tuple(action.cols[i] for i in keep) if action.cols else ()
    columns = "(" + ", ".join(_text(c) for c in cols) + ") " if cols else ""
    values = ", ".join("(" + ", ".join(_text(row[i]) for i in keep) + ")" for row in rows)
    return (f"INSERT INTO {_text(action.relation)} {columns}SELECT gp_rule_vals.* FROM {source_item} "
            f"CROSS JOIN LATERAL (VALUES {values}) AS gp_rule_vals" + (f" WHERE {condition}" if condition else ""))


def _join(node: Any, clause: str, source: Any, condition: str | None) -> None:
    """Adds the derived table to the action's FROM/USING, first, the sub-selects there made
    LATERAL to it (they may read NEW/OLD, PostgreSQL's implicit LATERAL), and the rule's
    condition to its WHERE."""
    items = tuple(getattr(node, clause) or ())
    for item in items:
        if isinstance(item, ast.RangeSubselect):
            item.lateral = True
    setattr(node, clause, (source, *items))
    if condition is not None:
        added = _parse_expression(condition)
        node.whereClause = added if node.whereClause is None else ast.BoolExpr(
            boolop=0, args=(node.whereClause, added))


def _finish(steps: list[str], original: int | None, actions: list[tuple[str, str]], command: str,
            first_action: int) -> Expansion:
    tag_step = None
    if original is None:
        for index, (_, kind) in enumerate(actions):
            if kind == f"instead {command}":
                tag_step = first_action + index
    zero = "INSERT 0 0" if command == "INSERT" else f"{command} 0"
    return Expansion(tuple(steps), original, tag_step, zero)


class _Substitution:
    """Replaces `new.c` / `old.c` in a rule's condition and actions."""

    def __init__(self, value: Any) -> None:
        self.value = value

    def apply(self, node: Any) -> Any:
        """The node with NEW/OLD replaced. The rows of a multi-row VALUES are replaced one
        value at a time first: pglast's Visitor loses a replacement made directly in a row
        other than the last one (each update rebuilds the rows' tuple from the one it saw),
        so `VALUES (old.*, 'old'), (new.*, 'new')` kept `old.f1` and its action failed
        (42P01, rules.sql:1005). Innermost VALUES first; they are out of the tree while the
        rest is visited, so nothing is replaced twice."""
        lists = []
        for select in reversed(_values_selects(node)):
            rows = tuple(tuple(_Replace(self.value)(v) or v if isinstance(v, ast.Node) else v for v in row)
                         for row in select.valuesLists)
            lists.append((select, rows))
            select.valuesLists = None
        node = _Replace(self.value)(node) or node
        for select, rows in lists:
            select.valuesLists = rows
        return node

    def text_of(self, node: Any) -> str:
        return _text(self.apply(copy.deepcopy(node)))


def _values_selects(node: Any) -> list[Any]:
    """The SelectStmt nodes with a VALUES list in `node`, outermost first."""
    found: list[Any] = []

    class Collect(Visitor):  # type: ignore[misc]
        def visit_SelectStmt(self, _ancestors: Any, select: Any) -> None:
            if select.valuesLists:
                found.append(select)

    Collect()(node)
    return found


class _Replace(Visitor):
    def __init__(self, value: Any) -> None:
        super().__init__()
        self.value = value

    def visit_ColumnRef(self, _ancestors: Any, node: Any) -> Any:
        fields = node.fields
        if not fields or not isinstance(fields[0], ast.String) or fields[0].sval not in ("new", "old"):
            return None
        if len(fields) != 2 or not isinstance(fields[1], ast.String):
            raise _refused(f"{fields[0].sval.upper()} as a whole row in a rule is not supported by gridpg")
        text = self.value(fields[0].sval, fields[1].sval)
        if text is None:
            return None
        return _parse_expression(text)


def _generation(column: Column, value_of: Callable[[str], str]) -> str:
    """NEW of a generated column: its generation expression (which reads only columns of
    the row that are not generated, and immutable functions) over those columns' NEW values."""
    expression = _parse_expression(column.default or "NULL")
    expression = _BareColumns(value_of)(expression) or expression
    return f"({_text(expression)})::{column.type}"


class _BareColumns(Visitor):
    """Replaces the columns a generation expression names (bare, as pg_get_expr prints them)."""

    def __init__(self, value_of: Callable[[str], str]) -> None:
        super().__init__()
        self.value_of = value_of

    def visit_ColumnRef(self, _ancestors: Any, node: Any) -> Any:
        fields = node.fields
        if len(fields) != 1 or not isinstance(fields[0], ast.String):
            return None
        return _parse_expression(self.value_of(fields[0].sval))


def _default(column: Column, rules: TableRules) -> str:
    if column.generated:
        raise _refused(f'rules of "{rules.table}" read NEW.{column.name}, an identity column not given: '
                       "not supported by gridpg")
    return f"({column.default})::{column.type}" if column.default else f"NULL::{column.type}"


def _returns(node: Any) -> bool:
    """Whether a write has a RETURNING list (pglast 8: `returningClause`)."""
    clause = getattr(node, "returningClause", None)
    return bool(getattr(node, "returningList", None) or (clause is not None and clause.exprs))


def _star(select: Any) -> bool:
    return any(isinstance(t.val, ast.ColumnRef) and isinstance(t.val.fields[-1], ast.A_Star)
               for t in select.targetList or ())


def _text(node: Any) -> str:
    return str(RawStream()(node))


def _parse_expression(text: str) -> Any:
    return parse_sql(f"SELECT {text}")[0].stmt.targetList[0].val


def _parse_from_item(text: str) -> Any:
    return parse_sql(f"SELECT FROM {text}")[0].stmt.fromClause[0]


def _refused(message: str) -> PgError:
    return PgError(FEATURE_NOT_SUPPORTED, message)
