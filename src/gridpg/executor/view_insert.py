"""INSERT ... VALUES through an automatically updatable view over one distributed table
(directly, or through automatically updatable views over such a view).

The view exists on the datanodes too, so each row is sent, as an INSERT into the view, to
the node its distribution value routes to, and PostgreSQL there applies its own rules: the
view's column mapping and column defaults, WITH CHECK OPTION, ON CONFLICT, RETURNING, the
table's other defaults and constraints. What the coordinator must do first, as for an
INSERT into the table (executor/dml.py):

- route each row by the value its distribution column will store: the view column that
  shows the table's distribution column, given in VALUES as a constant, a parameter or an
  expression without function calls (evaluated once on the catalog server; a function
  call would be evaluated again on the node);
- give serial and identity columns their values from the GTM: a table column with a
  sequence default that the INSERT leaves to its default (or, OVERRIDING USER VALUE, an
  identity column whatever value it is given) gets a value in the view column that shows
  it (the datanode's own copy of the sequence is not the cluster's).

A distribution column left out or DEFAULT where neither the view nor the table gives it a
default is NULL, routed as the table's own NULL keys. Refused with 0A000 (never a silent
difference): the distribution column's value left to a default that is not a sequence's,
or computed by a function; a sequence column the view does not show; a view default
calling nextval().

INSERT ... SELECT through such a view (`_selected_rows`): the SELECT (with the INSERT's WITH
of plain queries) runs first through the coordinator, each value becomes a literal of its
SELECT column's type, and the rows take the VALUES path above (a data-modifying WITH, or
ON CONFLICT / RETURNING reading other relations, stay refused: planner/core._selected_first).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from gridpg.catalog.model import DistTable
from gridpg.commands.sequences import next_values
from gridpg.errors import FEATURE_NOT_SUPPORTED, PgError
from gridpg.planner import analyze
from gridpg.planner.plan import Fragment, PushdownPlan
from gridpg.sql import parse as sqlparse
from gridpg.sql.quote import quote_ident, quote_literal, quote_qualified

if TYPE_CHECKING:
    from gridpg.executor.dispatch import Dispatcher, ExecRequest
    from gridpg.executor.dml import TableColumn


@dataclass(frozen=True)
class _Named:
    name: str


@dataclass
class _ViewShape:
    """The view's columns in order, each with the table column it shows (None: an expression)."""

    columns: list[tuple[str, str | None]]
    defaults: dict[str, str]  # view column -> its own default (ALTER VIEW ... SET DEFAULT)
    hidden: tuple[str, ...] = ()  # defaults of views below of columns this view does not show
    levels: int = 1  # views from this one down to the table

    def shows(self, table_column: str) -> str | None:
        return next((v for v, t in self.columns if t == table_column), None)

    def base(self, view_column: str) -> str | None:
        return next((t for v, t in self.columns if v == view_column), None)


async def insert_through_view(dispatcher: Dispatcher, request: ExecRequest, tree: dict[str, Any],
                              view: tuple[str, str], target: DistTable) -> None:
    from gridpg.executor import dml
    from gridpg.executor.multi import _ensure_plain_view, in_sent_order, scatter

    await _ensure_plain_view(dispatcher, *view, events=4)  # (INSERT)
    await _ensure_no_check_option_over_reads(dispatcher, view)
    body = tree["InsertStmt"]
    shape = await _view_shape(dispatcher, view)
    columns = await dispatcher.coord.table_columns(dispatcher.runner, target)
    select = (body.get("selectStmt") or {}).get("SelectStmt")
    if select is not None and not select.get("valuesLists"):
        selected = await _selected_rows(dispatcher, request, body, view, shape)
        if isinstance(selected, str):  # no row: the INSERT's answer from one node, nothing written
            group = target.groups[0]
            await scatter(dispatcher, request, PushdownPlan((Fragment(group, selected),), True),
                          relay_groups={group}, reads=False)
            return
        head, rows, tail = selected
    else:
        head, rows, tail = _rows(request.sql, body, shape)
    user_value = body.get("override") == "OVERRIDING_USER_VALUE"
    if user_value:
        _identity_values_to_default(shape, columns, head, rows)
    hidden: list[TableColumn] = []
    added = _sequence_columns(view, shape, columns, head, rows, hidden)
    if hidden:  # (refused, as _sequence_columns would, unless the table itself may take it)
        await _ensure_table_takes_it(dispatcher, view, target, shape, head, tail, hidden[0])
    _null_keys_spelled(target, shape, columns, head, rows)
    if target.method not in ("replication", "roundrobin") and not any(c.name == target.column for c in hidden):
        for items in rows:  # before any sequence value is taken: a refused INSERT takes none
            _ensure_routable(view, target, shape, head, [v for v, _ in added], items)
    routed = []
    for items in rows:
        for view_column, column in added:
            position = head.index(view_column) if view_column in head else -1
            value = str((await next_values(dispatcher, column.sequence or "", 1))[0])
            if position >= 0:
                items[position] = value  # DEFAULT of a sequence column
            else:
                items.append(value)
        names = head + [v for v, _ in added if v not in head]
        if not hidden:
            routed.append((await _group(dispatcher, request, target, shape, names, items), items))
            continue
        for column in hidden:  # (the table's own columns: may be the distribution column)
            items.append(str((await next_values(dispatcher, column.sequence or "", 1))[0]))
        mapped = [shape.base(n) or "\0" + n for n in names] + [c.name for c in hidden]
        routed.append((await dml._group_of_row(dispatcher, request, target, mapped, items), items))
    names = head + [v for v, _ in added if v not in head]
    written = view
    if hidden:  # the view's table itself, by its own column names
        written = (target.schema, target.name)
        names = [shape.base(n) or n for n in names] + [c.name for c in hidden]
    given = [c for _, c in added] + hidden
    fragments = _fragments(body, written, target, names, routed, tail,
                           any(c.identity == "a" or user_value and c.identity for c in given))
    plan = PushdownPlan(tuple(fragments), True)
    oids = request.param_oids
    if not request.simple and request.params:
        oids, _ = await dispatcher.describe(request.sql, request.param_oids)
    replicated = target.method == "replication"
    order = in_sent_order([g for g, _ in routed]) if body.get("returningList") and not replicated else None
    await scatter(dispatcher, replace(request, param_oids=list(oids)), plan,
                  relay_groups={fragments[0].group} if replicated else None, order=order, reads=False)


async def _ensure_no_check_option_over_reads(dispatcher: Dispatcher, view: tuple[str, str]) -> None:
    """An INSERT through a view stack whose subqueries read distributed tables other than
    REPLICATION ones (planner/core.write_through_view) runs on the nodes only without a
    CHECK OPTION anywhere in the stack: a node would check it over its own rows of those
    tables. 0A000 otherwise, before anything is written."""
    from gridpg.executor.run import catalog_view
    from gridpg.planner.core import _view_stack

    catalog = catalog_view(dispatcher)
    definition = catalog.views.get(view)
    if definition is None or _view_stack(definition, catalog)[0] is not None:
        return
    conn = await dispatcher.runner.txn.connection(dispatcher.coord.catalog_node, wants_block=False)
    rows = await conn.query(
        "WITH RECURSIVE stack(oid) AS (SELECT pg_catalog.to_regclass("
        f"{quote_literal(quote_qualified(*view))})::pg_catalog.oid "
        "UNION SELECT d.refobjid FROM stack JOIN pg_catalog.pg_rewrite r ON r.ev_class = stack.oid "
        "AND r.rulename = '_RETURN' JOIN pg_catalog.pg_depend d ON d.classid = 'pg_catalog.pg_rewrite'::regclass "
        "AND d.objid = r.oid AND d.refclassid = 'pg_catalog.pg_class'::regclass AND d.refobjid <> stack.oid "
        "JOIN pg_catalog.pg_class v ON v.oid = d.refobjid AND v.relkind = 'v') "
        "SELECT count(*) FROM pg_catalog.pg_class c JOIN stack ON stack.oid = c.oid "
        "WHERE EXISTS (SELECT 1 FROM pg_catalog.unnest(c.reloptions) o WHERE o LIKE 'check\\_option=%')")
    if rows and rows[0][0] not in (None, "0"):
        raise PgError(FEATURE_NOT_SUPPORTED,
                      f'gridpg cannot INSERT through view "{view[1]}" over distributed tables: its CHECK '
                      "OPTION reads distributed tables that each node would read over its own rows only",
                      hint="write the view's table directly")


async def _view_shape(dispatcher: Dispatcher, view: tuple[str, str], depth: int = 0) -> _ViewShape:
    """The view's columns (from its definition as PostgreSQL prints it), each with the
    table column it shows through the views below it, and its defaults."""
    conn = await dispatcher.runner.txn.connection(dispatcher.coord.catalog_node, wants_block=False)
    regclass = f"pg_catalog.to_regclass({quote_literal(quote_qualified(*view))})"
    definition = await conn.query(f"SELECT pg_catalog.pg_get_viewdef({regclass})")
    defaults = await conn.query(
        "SELECT a.attname, pg_catalog.pg_get_expr(d.adbin, d.adrelid) FROM pg_catalog.pg_attribute a "
        "JOIN pg_catalog.pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum "
        f"WHERE a.attrelid = {regclass}")
    select = sqlparse.parse_tree(str(definition[0][0])).get("SelectStmt", {}) if definition else {}
    out: list[tuple[str, str | None]] = []
    for target in select.get("targetList") or []:
        res = target["ResTarget"]
        ref = analyze.column_ref(res.get("val", {}))
        column = ref[-1] if ref else None
        out.append((res.get("name") or column or "?column?", column))
    shape = _ViewShape(out, {str(n): str(d) for n, d in defaults})
    below = await conn.query(
        "SELECT DISTINCT n.nspname, c.relname FROM pg_catalog.pg_rewrite r JOIN pg_catalog.pg_depend d "
        "ON d.classid = 'pg_catalog.pg_rewrite'::regclass AND d.objid = r.oid "
        "AND d.refclassid = 'pg_catalog.pg_class'::regclass AND d.refobjid <> r.ev_class "
        "JOIN pg_catalog.pg_class c ON c.oid = d.refobjid AND c.relkind = 'v' "
        "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
        f"WHERE r.ev_class = {regclass} AND r.rulename = '_RETURN'")
    if len(below) == 1 and depth < 16:  # a view over a view: its columns as the table's
        return _over(shape, await _view_shape(dispatcher, (str(below[0][0]), str(below[0][1])), depth + 1))
    return shape


def _over(top: _ViewShape, inner: _ViewShape) -> _ViewShape:
    """The shape of view `top` over view `inner`, in terms of inner's table: a column of top
    shows what the inner column it reads shows, and takes the inner column's default when
    top gives it none (PostgreSQL applies each view's defaults as it rewrites that level)."""
    columns = [(v, inner.base(t) if t is not None else None) for v, t in top.columns]
    defaults = dict(top.defaults)
    for v, t in top.columns:
        if v not in defaults and t is not None and t in inner.defaults:
            defaults[v] = inner.defaults[t]
    shown = {t for _, t in top.columns}
    hidden = inner.hidden + tuple(d for c, d in inner.defaults.items() if c not in shown)
    return _ViewShape(columns, defaults, hidden, inner.levels + 1)


def _rows(sql: str, body: dict[str, Any], shape: _ViewShape) -> tuple[list[str], list[list[str]], str]:
    """(the INSERT's view columns, each row's item texts, the text after VALUES)."""
    from gridpg.executor import dml

    for col in body.get("cols") or []:
        if col["ResTarget"].get("indirection"):
            raise PgError(FEATURE_NOT_SUPPORTED, "gridpg cannot INSERT into a field or element of a "
                          "column through a view over distributed tables")
    select = (body.get("selectStmt") or {}).get("SelectStmt")
    if body.get("selectStmt") is None:  # DEFAULT VALUES
        words = sqlparse.tokens(sql)
        end = next(t.end + 1 for i, t in enumerate(words) if i and sql[t.start:t.end + 1].lower() == "values"
                   and sql[words[i - 1].start:words[i - 1].end + 1].lower() == "default")
        return [], [[]], sql[end:]
    if select is None or not select.get("valuesLists"):
        raise PgError(FEATURE_NOT_SUPPORTED, "gridpg cannot INSERT ... SELECT through a view over "
                      "distributed tables", hint="INSERT ... VALUES, or INSERT ... SELECT into the view's table")
    values = dml._values_shape(sql, body, [_Named(v) for v, _ in shape.columns])  # type: ignore[list-item]
    rows = [[sql[s:e].strip() for s, e in spans] for spans in values.rows]
    return list(values.cols), rows, sql[values.values_end:]


async def _selected_rows(dispatcher: Dispatcher, request: ExecRequest, body: dict[str, Any],
                         view: tuple[str, str], shape: _ViewShape) -> tuple[list[str], list[list[str]], str] | str:
    """INSERT ... SELECT through the view: the SELECT run first through the coordinator (it
    may read distributed tables), each value made a literal of its SELECT column's type
    (`'1.5'::numeric`: the node applies INSERT's assignment casts to it as PostgreSQL
    does to the SELECT's column), so the rows take the VALUES path. With no row, the
    statement for one node that inserts none (its tag, RETURNING's columns)."""
    from pglast import parse_sql
    from pglast.stream import RawStream

    from gridpg.executor import dml
    from gridpg.executor.multi import copy_query_to_catalog_final, inline_params
    from gridpg.pgwire import codec

    for col in body.get("cols") or []:
        if col["ResTarget"].get("indirection"):
            raise PgError(FEATURE_NOT_SUPPORTED, "gridpg cannot INSERT into a field or element of a "
                          "column through a view over distributed tables")
    stmt = parse_sql(request.sql)[0].stmt
    select_sql = dml.insert_select_text(stmt)
    if request.params and not request.simple:
        select_sql = await inline_params(dispatcher, request, select_sql)
    _, described = await dispatcher.describe(select_sql, [])
    width = len(codec.parse_row_description(described[5:])) if described else 0
    names = [str(c["ResTarget"]["name"]) for c in body.get("cols") or []] or [v for v, _ in shape.columns][:width]
    if not width:
        raise PgError(FEATURE_NOT_SUPPORTED, "gridpg cannot INSERT ... SELECT of no columns through a view "
                      "over distributed tables")
    if width > len(names):
        raise PgError("42601", "INSERT has more expressions than target columns")
    if width < len(names) and body.get("cols"):
        raise PgError("42601", "INSERT has more target columns than expressions")
    # the text after the SELECT (ON CONFLICT, RETURNING), as pglast prints it
    stmt.selectStmt, stmt.withClause = None, None
    printed = str(RawStream()(stmt))
    tail = printed[printed.index("DEFAULT VALUES") + len("DEFAULT VALUES"):]
    aliases = ", ".join(f"gp_c{i}" for i in range(width))
    literals = ", ".join(f"pg_catalog.format('%L::%s', gp_c{i}, pg_catalog.pg_typeof(gp_c{i}))" for i in range(width))
    chunks = await copy_query_to_catalog_final(
        dispatcher, f"SELECT {literals} FROM ({select_sql}) AS gp_selected ({aliases})")
    rows = [[dml._unescape_copy_text(field) for field in line.split(b"\t")]
            for line in b"".join(chunks).split(b"\n") if line]
    if rows:
        return names, rows, tail
    relation = quote_qualified(*view)
    alias = body["relation"].get("alias")
    if alias:
        relation += f" AS {quote_ident(alias['aliasname'])}"
    return (f"INSERT INTO {relation} ({', '.join(quote_ident(n) for n in names)}) "
            f"SELECT {', '.join('NULL' for _ in names)} WHERE false{tail}")


def _identity_values_to_default(shape: _ViewShape, columns: list[TableColumn], head: list[str],
                                rows: list[list[str]]) -> None:
    """OVERRIDING USER VALUE: the values given for identity columns are ignored, each
    takes its sequence's next value, as for DEFAULT (from the GTM then, not from the
    datanode's own copy of the sequence, which the clause sent on would make it use)."""
    for column in columns:
        shown = shape.shows(column.name) if column.identity and column.sequence else None
        if shown in head:
            for items in rows:
                items[head.index(shown)] = "DEFAULT"


def _sequence_columns(view: tuple[str, str], shape: _ViewShape, columns: list[TableColumn],
                      head: list[str], rows: list[list[str]],
                      hidden: list[TableColumn] | None = None) -> list[tuple[str, TableColumn]]:
    """The view columns to fill from the GTM: those showing a table column with a sequence
    default that the INSERT omits or sets to DEFAULT (and the view gives no default of
    its own). A sequence column the view does not show goes to `hidden` (None: refused)."""
    out = []
    for column in columns:
        if not column.sequence:
            continue
        shown = shape.shows(column.name)
        given = shown in head if shown else False
        if given and not any(row[head.index(shown)].upper() == "DEFAULT" for row in rows if shown):
            continue
        if shown is None and hidden is not None:
            hidden.append(column)
            continue
        if shown is None:
            raise PgError(FEATURE_NOT_SUPPORTED,
                          f'gridpg cannot INSERT through view "{view[1]}": it does not show column '
                          f'"{column.name}", whose default takes a value from a cluster-wide sequence',
                          hint="add the column to the view, or insert into the table")
        if shown in shape.defaults:
            _ensure_no_sequence_default(view, shown, shape.defaults[shown])
            continue
        if given and not all(row[head.index(shown)].upper() == "DEFAULT" for row in rows):
            raise PgError(FEATURE_NOT_SUPPORTED,
                          f'gridpg cannot INSERT through view "{view[1]}" with both values and DEFAULT '
                          f'for column "{shown}" in one statement', hint="one INSERT per kind of row")
        out.append((shown, column))
    for name, default in shape.defaults.items():
        _ensure_no_sequence_default(view, name, default)
    for default in shape.hidden:
        if "nextval(" in default.lower():
            raise PgError(FEATURE_NOT_SUPPORTED,
                          f'gridpg cannot INSERT through view "{view[1]}": a view below it gives a column '
                          "a default calling nextval(), which a datanode would take from its own copy")
    return out


async def _ensure_table_takes_it(dispatcher: Dispatcher, view: tuple[str, str], target: DistTable,
                                 shape: _ViewShape, head: list[str], tail: str, column: TableColumn) -> None:
    """An INSERT through a view that does not show a sequence column of its table (Pagila's
    `family_films` without `film_id`) runs as the INSERT into the table PostgreSQL's
    rewriter makes of it, the column given the GTM's value: a datanode's own copy of the
    sequence is not the cluster's. Only where that is exactly PostgreSQL's INSERT: one view
    straight over the table, every column given a column of the table, no default of the
    view's own left to apply, no CHECK OPTION, no RETURNING or ON CONFLICT (they name the
    view's columns), and the session may insert into the table itself, which has no row
    security (through the view, the view owner's rights apply). Else 0A000, as before."""
    reason = None
    if shape.levels != 1 or shape.hidden:
        reason = "it is a view over another view"
    elif any(shape.base(n) is None for n in head) or any(n not in head for n in shape.defaults):
        reason = "it gives columns defaults of its own or computes them"
    elif tail.strip().rstrip(";").strip():
        reason = "the INSERT has RETURNING or ON CONFLICT"
    else:
        conn = await dispatcher.runner.txn.connection(dispatcher.coord.catalog_node, wants_block=False)
        table = quote_literal(quote_qualified(target.schema, target.name))
        rows = await conn.query(
            f"SELECT pg_catalog.has_table_privilege(pg_catalog.to_regclass({table}), 'INSERT'), "
            f"(SELECT c.relrowsecurity FROM pg_catalog.pg_class c WHERE c.oid = pg_catalog.to_regclass({table})), "
            "(SELECT EXISTS (SELECT 1 FROM pg_catalog.unnest(c.reloptions) o WHERE o LIKE 'check\\_option=%') "
            f"FROM pg_catalog.pg_class c WHERE c.oid = pg_catalog.to_regclass({quote_literal(quote_qualified(*view))}))")
        if not rows or rows[0] != ("t", "f", "f"):
            reason = "it has a CHECK OPTION, or the table row security or rights of its own"
    if reason is not None:
        raise PgError(FEATURE_NOT_SUPPORTED,
                      f'gridpg cannot INSERT through view "{view[1]}": it does not show column '
                      f'"{column.name}", whose default takes a value from a cluster-wide sequence, and {reason}',
                      hint="add the column to the view, or insert into the table")


def _ensure_no_sequence_default(view: tuple[str, str], column: str, default: str) -> None:
    if "nextval(" in default.lower():
        raise PgError(FEATURE_NOT_SUPPORTED,
                      f'gridpg cannot INSERT through view "{view[1]}": the default of its column '
                      f'"{column}" calls nextval(), which a datanode would take from its own copy')


def _null_keys_spelled(target: DistTable, shape: _ViewShape, columns: list[TableColumn], head: list[str],
                       rows: list[list[str]]) -> None:
    """A DEFAULT for the view column showing the distribution column, or that column left
    out, where neither the view nor the table gives it a default, is NULL: spelled so, the
    row routes as the table's own NULL keys do (`VALUES (17), (DEFAULT)`)."""
    shown = shape.shows(target.column or "")
    column = next((c for c in columns if c.name == target.column), None)
    if shown is None or shown in shape.defaults or column is None or column.default is not None \
            or column.sequence:
        return
    if shown not in head:  # left out: NULL too
        head.append(shown)
        for items in rows:
            items.append("NULL")
        return
    at = head.index(shown)
    for items in rows:
        if items[at].upper() == "DEFAULT":
            items[at] = "NULL"


def _ensure_routable(view: tuple[str, str], target: DistTable, shape: _ViewShape, head: list[str],
                     filled: list[str], items: list[str]) -> None:
    """The row gives its distribution value in VALUES (a constant, a parameter or an
    expression without function calls), or the GTM fills it: else 0A000."""
    from gridpg.executor import dml, values

    shown = shape.shows(target.column or "")
    if shown in filled:
        return
    item = items[head.index(shown)] if shown in head else "DEFAULT"
    tree = dml.parse_json_expr(item) if item.upper() != "DEFAULT" else None
    if tree is None or analyze.has_node(tree, *values.EVALUATED_NODES):
        raise PgError(FEATURE_NOT_SUPPORTED,
                      f'gridpg cannot INSERT through view "{view[1]}" without the value of the '
                      f'distribution column "{target.column}" of "{target.name}" in VALUES',
                      detail="The row is routed by that value before the datanode stores it; a default "
                             "or a function call would be evaluated again there.",
                      hint=f"give column \"{shown or target.column}\" a constant or parameter in VALUES")


async def _group(dispatcher: Dispatcher, request: ExecRequest, target: DistTable, shape: _ViewShape,
                 names: list[str], items: list[str]) -> str:
    """The node of one row: by the item of the view column showing the distribution column
    (for `_group_of_row`, the view's names become the table's)."""
    from gridpg.executor import dml

    mapped = [shape.base(n) or "\0" + n for n in names]  # an expression column names no table column
    return await dml._group_of_row(dispatcher, request, target, mapped, items)


def _fragments(body: dict[str, Any], view: tuple[str, str], target: DistTable, names: list[str],
               routed: list[tuple[str, list[str]]], tail: str, overriding: bool) -> list[Fragment]:
    relation = quote_qualified(*view)
    alias = body["relation"].get("alias")
    if alias:
        relation += f" AS {quote_ident(alias['aliasname'])}"
    if overriding or body.get("override") == "OVERRIDING_SYSTEM_VALUE":
        clause = " OVERRIDING SYSTEM VALUE"
    elif body.get("override") == "OVERRIDING_USER_VALUE":
        clause = " OVERRIDING USER VALUE"
    else:
        clause = ""
    by_group: dict[str, list[str]] = {}
    for group, items in routed:
        by_group.setdefault(group, []).append("(" + ", ".join(items) + ")" if items else "")
    head = f"INSERT INTO {relation}"
    if not names:
        sql = {g: f"{head}{clause} DEFAULT VALUES{tail}" for g in by_group}
    else:
        cols = f" ({', '.join(quote_ident(n) for n in names)}){clause} VALUES "
        sql = {g: head + cols + ", ".join(rows) + tail for g, rows in by_group.items()}
    if target.method == "replication":
        text = next(iter(sql.values()))
        return [Fragment(g, text) for g in target.groups]
    return [Fragment(g, text) for g, text in sql.items()]
