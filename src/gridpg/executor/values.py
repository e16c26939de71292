"""INSERT ... VALUES whose rows must be evaluated once, before they are routed.

A VALUES row that calls a function (`random()`, `now()`, `gen_random_uuid()`,
`clock_timestamp()`, a set-returning `generate_series(1, 10)`), holds a subquery or a
special value such as CURRENT_TIMESTAMP would be evaluated twice if it were routed by one
evaluation and stored by another: the row would land where its stored value does not say.
Here the rows are evaluated exactly once, by PostgreSQL, with INSERT's own rules:

1. `nextval('s')`, `currval('s')` and `lastval()` are replaced by the cluster-wide values
   of the GTM sequences (in the order PostgreSQL evaluates them: row by row, left to
   right), and serial/identity columns get theirs, as on the direct INSERT path;
2. the rows are inserted into a temp table with the target's column types, collations and
   (non-sequence) defaults on an internal catalog-server connection of the session's role
   and settings, so types are coerced per row as INSERT does and DEFAULT works;
3. the resulting rows (COPY text) are routed by their stored distribution value into
   scratch tables on the datanodes, and the client's INSERT (ON CONFLICT, RETURNING
   included) runs from there (`dml._insert_via_stage`).

What differs from one PostgreSQL: the values are computed on the catalog server in a short
transaction of their own, so `now()` in VALUES is the statement's time, not the client
transaction's start; after DDL in the client's block, in a savepoint of that block instead
(what the DDL made is seen only there), and that catalog server then decides the 2PC.
"""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING, Any

from gridpg.catalog.model import DistTable
from gridpg.commands.sequences import next_values as _next_values
from gridpg.errors import FEATURE_NOT_SUPPORTED, PgError
from gridpg.executor.catalog_scratch import block_catalog_after_ddl
from gridpg.planner import analyze
from gridpg.planner.calls import sequence_calls
from gridpg.planner.replicas import diverging_default
from gridpg.sql.quote import quote_ident, quote_literal, quote_qualified

if TYPE_CHECKING:
    from gridpg.datanode.connection import BackendConnection
    from gridpg.executor.dispatch import Dispatcher, ExecRequest
    from gridpg.executor.dml import TableColumn

# Parse-tree nodes whose value PostgreSQL may compute differently at each evaluation (or
# which may yield several rows): any function call, subquery or SQL value function.
EVALUATED_NODES = ("FuncCall", "SubLink", "SQLValueFunction")
_ids = itertools.count(1)


# Functions known to return one value per call (no set-returning function, no sequence
# function, no access to tables): outside the distribution column the datanode computes them
# as PostgreSQL would, so a row with them needs no evaluation before routing (pgbench's
# `INSERT INTO pgbench_history ... CURRENT_TIMESTAMP` took the staging path for every row).
SCALAR_FUNCTIONS = frozenset({
    "now", "statement_timestamp", "transaction_timestamp", "clock_timestamp", "timeofday",
    "random", "gen_random_uuid", "md5", "lower", "upper", "length", "char_length", "concat",
    "concat_ws", "substr", "substring", "replace", "btrim", "ltrim", "rtrim", "trim", "format",
    "round", "trunc", "abs", "floor", "ceil", "ceiling", "mod", "power", "sqrt", "to_char",
    "to_timestamp", "to_date", "to_number", "date_trunc", "date_part", "extract", "age",
    "make_date", "make_time", "make_timestamp", "make_timestamptz", "make_interval",
    "jsonb_build_object", "json_build_object", "jsonb_build_array", "json_build_array",
    "to_jsonb", "to_json", "row_to_json", "array_append", "array_prepend", "array_cat",
    "encode", "decode", "sha224", "sha256", "sha384", "sha512", "left", "right", "lpad", "rpad",
    "repeat", "reverse", "split_part", "initcap", "chr", "ascii", "strpos", "regexp_replace",
    "inet_client_addr", "current_setting", "pg_backend_pid", "hashtext", "uuid_in",
})


def needs_evaluation(select: dict[str, Any], columns: list[str] | None = None,
                     distribution_column: str | None = None) -> bool:
    """True when a VALUES list must be evaluated once before routing: some expression of
    the distribution column's value, a subquery, or a function not known to be a plain
    scalar (a set-returning function makes several rows; a sequence function's value comes
    from the GTM). Without `columns`, any function call or subquery counts."""
    lists = select.get("valuesLists", [])
    if columns is None:
        return analyze.has_node(lists, *EVALUATED_NODES)
    position = columns.index(distribution_column) if distribution_column in columns else -1
    for row in lists:
        items = row.get("List", {}).get("items", [])
        if 0 <= position < len(items) and analyze.has_node(items[position], *EVALUATED_NODES):
            return True
    if analyze.has_node(lists, "SubLink"):
        return True
    for node in analyze._walk(lists):
        if isinstance(node, dict) and "FuncCall" in node:
            names = [n["String"]["sval"] for n in node["FuncCall"]["funcname"] if "String" in n]
            schema = names[0].lower() if len(names) > 1 else "pg_catalog"
            if schema != "pg_catalog" or names[-1].lower() not in SCALAR_FUNCTIONS:
                return True
    return False


async def insert_evaluated(dispatcher: Dispatcher, request: ExecRequest, body: dict[str, Any],
                           target: DistTable) -> None:
    """Evaluate the VALUES rows once on the catalog server, then route what they hold."""
    from gridpg.executor import dml
    from gridpg.executor.multi import inline_params
    from gridpg.executor.run import scratch_name
    from gridpg.planner.plan import SCRATCH_SCHEMA

    columns = await dispatcher.coord.table_columns(dispatcher.runner, target)
    shape = dml._values_shape(request.sql, body, columns)
    by_name = {c.name: c for c in columns}
    rows = [[request.sql[s:e].strip() for s, e in spans] for spans in shape.rows]
    cols = list(shape.cols)
    by_default = {c.name for c in sequence_default_columns(columns)}
    by_default_extra = [c for c in columns if c.name in by_default and c.name not in cols]
    # Serial and identity columns the INSERT leaves to their sequence take their values
    # after the rows are made, one per row in order: a set-returning function in a VALUES
    # row makes several rows, each with its own value, as PostgreSQL's per-row default
    # does (an explicit DEFAULT of one VALUES row likewise). Per VALUES row, as before,
    # when other sequence calls must interleave with them.
    post = not by_default_extra and not sequence_calls(body.get("selectStmt"))
    if post and len(rows) == 1:
        for name, item in list(zip(cols, rows[0], strict=False)):
            if item.upper() == "DEFAULT" and (by_name.get(name) or _NO_DEFAULT).sequence:
                rows[0].pop(cols.index(name))
                cols.remove(name)
    fill = [c for c in columns if c.sequence and c.name not in cols]
    post_fill = fill if post else []
    extra = [c for c in fill if c not in post_fill] + by_default_extra
    rewriter = SequenceRewriter(dispatcher)
    sent = cols + [c.name for c in extra]
    # PostgreSQL evaluates a row's expressions in the table's column order, not as written:
    # a default `-1 * currval('s')` after a column `DEFAULT nextval('s')` sees that row's value.
    attnum = {c.name: n for n, c in enumerate(columns)}
    order = sorted(range(len(sent)), key=lambda i: attnum.get(sent[i], i))
    for items in rows:
        if len(items) != len(cols):
            raise PgError("42601", "VALUES lists must all be the same length")
        items.extend(["DEFAULT"] * len(extra))
        for index in order:
            column = by_name.get(sent[index]) if index < len(cols) else extra[index - len(cols)]
            items[index] = await _evaluated_item(dispatcher, rewriter, column, by_default, items[index])
    distribution = target.column
    if distribution and distribution not in sent and distribution not in {c.name for c in post_fill} \
            and (by_name.get(distribution) or _NO_DEFAULT).default:
        sent.append(distribution)  # a default such as gen_random_uuid(): evaluated once, here
        rows = [items + ["DEFAULT"] for items in rows]
    if target.method == "replication":  # each replica would evaluate gen_random_uuid() anew
        for column in columns:
            if column.name not in sent and not column.sequence \
                    and diverging_default(column.default, dispatcher.runner.snapshot().volatile_functions):
                sent.append(column.name)
                rows = [items + ["DEFAULT"] for items in rows]
    values_sql = "VALUES " + ", ".join("(" + ", ".join(items) + ")" for items in rows)
    values_sql = await inline_params(dispatcher, request, values_sql)
    chunks = await _evaluate(dispatcher, target, columns, sent, values_sql,
                             expected_rows=len(rows) if rewriter.used else None,
                             with_sql=with_clause_text(request.sql, body))
    if post_fill:
        chunks = await _post_fill(dispatcher, chunks, post_fill, one_values_row=len(rows) == 1)
        sent = sent + [c.name for c in post_fill]
    stmt = _pglast_statement(request.sql)
    quoted = ", ".join(quote_ident(c) for c in sent)
    qualified = quote_qualified(target.schema, target.name)
    stage = f"{SCRATCH_SCHEMA}.{scratch_name(dispatcher, 'stage')}"
    identity_fill = [c for c in fill if c.identity == "a"]
    async with dispatcher.runner.statement_transaction():
        await dml._insert_via_stage(dispatcher, request, body, target, stmt, chunks, identity_fill,
                                    sent, quoted, qualified, stage, columns, fill_rows=False)


def sequence_default_columns(columns: list[TableColumn]) -> list[TableColumn]:
    """Columns whose default calls a sequence function inside a larger expression (`-1 *
    currval('s')`, `lastval()`): no serial fill; a datanode's session would evaluate it
    without the GTM's values (currval undefined there, 55000), so it is evaluated here."""
    return [c for c in columns if c.default and not c.sequence
            and any(f in c.default.lower() for f in ("currval(", "lastval(", "nextval("))]


async def _evaluated_item(dispatcher: Dispatcher, rewriter: SequenceRewriter, column: TableColumn | None,
                          by_default: set[str], item: str) -> str:
    """One VALUES item with its sequence calls answered (DEFAULT of a serial column: the
    sequence's next value; of a column whose default calls a sequence: that default)."""
    if item.upper() == "DEFAULT" and column is not None and column.sequence:
        rewriter.used = True  # a value per VALUES row: the row count is checked after
        return str((await _next_values(dispatcher, column.sequence, 1))[0])
    if item.upper() == "DEFAULT" and column is not None and column.name in by_default:
        return f"({await rewriter.rewrite(column.default or '')})"
    return await rewriter.rewrite(item)


async def _post_fill(dispatcher: Dispatcher, chunks: list[bytes], columns: list[TableColumn],
                     one_values_row: bool) -> list[bytes]:
    """The evaluated rows (COPY text) with the sequence values of `columns` appended: row
    by row, column by column, in the order PostgreSQL takes them. A set-returning function
    in PostgreSQL's one VALUES row (rows made: not one) evaluates the defaults once more when
    it ends: that value is taken and left unused too, so later values are PostgreSQL's."""
    lines = b"".join(chunks).split(b"\n")[:-1]
    calls = len(lines) + (1 if one_values_row and len(lines) != 1 else 0)
    if not calls:
        return chunks
    wanted: dict[str, int] = {}
    for column in columns:
        wanted[str(column.sequence)] = wanted.get(str(column.sequence), 0) + calls
    values = {seq: iter(await _next_values(dispatcher, seq, count)) for seq, count in wanted.items()}
    if not lines:
        return chunks
    return [b"".join(line + b"".join(b"\t" + str(next(values[str(c.sequence)])).encode() for c in columns)
                     + b"\n" for line in lines)]


class _NoDefault:
    default = None


_NO_DEFAULT = _NoDefault()


def _pglast_statement(sql: str) -> Any:
    from gridpg.sql.parse import parse_sql

    return parse_sql(sql)[0].stmt


class SequenceRewriter:
    """Replaces sequence function calls in VALUES items by the GTM's values, in order."""

    def __init__(self, dispatcher: Dispatcher) -> None:
        self.dispatcher = dispatcher
        self.used = False

    async def rewrite(self, item: str) -> str:
        """`item` with each nextval/currval/lastval/setval call replaced by a literal."""
        from gridpg.commands import sequences
        from gridpg.executor.dml import parse_json_expr

        if "val" not in item.lower():
            return item
        calls = sorted(sequences.sequence_calls(parse_json_expr(item)), key=lambda c: c[0])
        if not calls:
            return item
        spans = sequences.call_spans(item, [location - len("SELECT ") for location, _, _ in calls])
        if any(a[1] > b[0] for a, b in itertools.pairwise(spans)):
            raise PgError(FEATURE_NOT_SUPPORTED, "a sequence function inside another is not supported "
                          "by gridpg", hint=sequences.NOT_SUPPORTED_HINT)
        out, pos = [], 0
        for (_, function, args), (start, end) in zip(calls, spans, strict=True):
            out.append(item[pos:start])
            texts = [_constant_name(args, function)] + [None] * (len(args) - 1) if function != "lastval" else []
            if function == "setval":
                texts = await sequences._argument_texts(self.dispatcher, _NO_PARAMS, item[start:end], args,
                                                        _no_inline)
            out.append(str(await sequences.call_value(self.dispatcher, function, texts)))
            pos = end
        out.append(item[pos:])
        self.used = True
        return "".join(out)


async def _no_inline(_dispatcher: Any, _request: Any, sql: str) -> str:
    return sql


class _NoParams:
    simple = True
    params = ()


_NO_PARAMS: Any = _NoParams()


def _constant_name(args: list[Any], function: str) -> str:
    """The sequence named by a constant argument ('s' or 's'::regclass)."""
    from gridpg.commands.sequences import literal_name

    name = literal_name(args)
    if name is None:
        raise PgError(FEATURE_NOT_SUPPORTED, f"{function}() inside INSERT ... VALUES into a distributed "
                      "table takes a constant sequence name in gridpg")
    return name


def with_clause_text(sql: str, body: dict[str, Any], constant: bool = False) -> str:
    """The INSERT's own WITH clause as text (`WITH aa AS (...) `), which its VALUES rows
    may read (42P01 "relation aa does not exist" when they were evaluated without it);
    "" when it has none. A data-modifying one never gets here (planner/modifying_cte.py),
    and is left out should it: its writes are the cluster's, not the evaluation's.
    `constant`: only a WITH that reads no relation and calls no function, which each
    datanode may evaluate again with the same result (its ON CONFLICT ... DO UPDATE or
    RETURNING reading it); else ""."""
    from gridpg.planner import analyze

    with_clause = body.get("withClause") or {}
    ctes = with_clause.get("ctes") or []
    if not ctes or any(set(c.get("CommonTableExpr", {}).get("ctequery", {})) - {"SelectStmt"} for c in ctes):
        return ""
    if constant and any(analyze.has_node(with_clause, kind) for kind in ("RangeVar", "FuncCall", "SubLink")):
        return ""
    from gridpg.sql import parse as sqlparse

    start = sqlparse.statement_start(sql)
    depth = 0
    for tok in sqlparse.tokens(sql):
        text = sql[tok.start:tok.end + 1]
        depth += (text == "(") - (text == ")")
        if depth == 0 and tok.start > start and text.lower() == "insert":
            return sql[start:tok.start]
    return ""


async def _evaluate(dispatcher: Dispatcher, target: DistTable, columns: list[TableColumn],
                    sent: list[str], values_sql: str, expected_rows: int | None,
                    with_sql: str = "") -> list[bytes]:
    """The rows of `values_sql` as INSERT into the target would store them, as COPY text
    (`with_sql`: the statement's WITH clause, which the rows may read): inserted into a temp
    table of the target's columns in a transaction of their own, rolled back after. After
    DDL in the client's block, in a savepoint of that block instead: `INSERT ... VALUES
    (textrange('a', 'b'))` after `CREATE TYPE textrange AS RANGE` in the same block failed
    (42704) on a connection of its own, which cannot see the type
    (`catalog_scratch.block_catalog_after_ddl`: that server then decides the 2PC)."""
    coord = dispatcher.coord
    own = await block_catalog_after_ddl(dispatcher)
    if own is not None:
        savepoint = f"gp_values_{next(_ids)}"
        await own.simple_query(f"SAVEPOINT {savepoint}")
        try:
            return await _rows_through_temp(own, target, columns, sent, values_sql, expected_rows, with_sql)
        finally:
            await own.simple_query(f"ROLLBACK TO SAVEPOINT {savepoint}; RELEASE SAVEPOINT {savepoint}")
    conn = await coord.internal_acquire(coord.catalog_node, dispatcher.runner.txn.accepts)
    try:
        await dispatcher.runner._setup_connection(conn)
        await conn.simple_query("BEGIN")
        try:
            return await _rows_through_temp(conn, target, columns, sent, values_sql, expected_rows, with_sql)
        finally:
            await conn.simple_query("ROLLBACK")
    finally:
        coord.pools.pool(coord.catalog_node).release(conn)


async def _rows_through_temp(conn: BackendConnection, target: DistTable, columns: list[TableColumn],
                             sent: list[str], values_sql: str, expected_rows: int | None,
                             with_sql: str) -> list[bytes]:
    temp = f"pg_temp.gp_values_{next(_ids)}"
    await conn.simple_query(await _temp_table_sql(conn, target, columns, temp))
    names = ", ".join(quote_ident(c) for c in sent)
    results = await conn.simple_query(f"{with_sql}INSERT INTO {temp} ({names}) {values_sql}")
    chunks = await conn.copy_out_canonical(f"COPY (SELECT {names} FROM {temp}) TO STDOUT")
    _ensure_row_count(results, expected_rows)
    return chunks


def _ensure_row_count(results: Any, expected_rows: int | None) -> None:
    """Sequence values were taken per VALUES row: a set-returning function that multiplied
    the rows would reuse them, so refuse rather than store duplicates."""
    if expected_rows is None:
        return
    tag = ""
    for result in results if isinstance(results, list) else [results]:
        tag = getattr(result, "tag", "") or tag
    count = int(tag.split()[-1]) if tag.startswith("INSERT") else expected_rows
    if count != expected_rows:
        raise PgError(FEATURE_NOT_SUPPORTED, "a sequence function together with a set-returning "
                      "function in INSERT ... VALUES into a distributed table is not supported by gridpg")


async def _temp_table_sql(conn: BackendConnection, target: DistTable, columns: list[TableColumn],
                          temp: str) -> str:
    """CREATE TEMP TABLE with the target's column types, collations and plain defaults (no
    constraints: the datanodes check those and report them with the table's own name)."""
    qualified = quote_qualified(target.schema, target.name)
    rows = await conn.query(
        "SELECT a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod), "
        "CASE WHEN a.attcollation <> t.typcollation THEN pg_catalog.format('%I.%I', cn.nspname, c.collname) END, "
        "a.attgenerated "
        "FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_type t ON t.oid = a.atttypid "
        "LEFT JOIN pg_catalog.pg_collation c ON c.oid = a.attcollation "
        "LEFT JOIN pg_catalog.pg_namespace cn ON cn.oid = c.collnamespace "
        f"WHERE a.attrelid = pg_catalog.to_regclass({quote_literal(qualified)}) "
        "AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum"
    )
    defaults = {c.name: c.default for c in columns if c.default and not c.sequence}
    parts = []
    for name, type_sql, collation, generated in rows:
        part = f"{quote_ident(name)} {type_sql}"
        if collation:
            part += f" COLLATE {collation}"
        if name in defaults and not generated:
            part += f" DEFAULT {defaults[name]}"
        parts.append(part)
    return f"CREATE TEMP TABLE {temp} ({', '.join(parts)}) ON COMMIT DROP"
