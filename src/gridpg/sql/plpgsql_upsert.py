"""INSERT ... ON CONFLICT in PL/pgSQL over distributed tables: the body rewritten so that
gridpg runs the statement itself. Pure.

Server-side code reaches distributed tables through the loopback's shadows, postgres_fdw
foreign tables (executor/loopback.py). PostgreSQL cannot infer a conflict target on a
foreign table (42P10) and postgres_fdw sends no `ON CONFLICT DO UPDATE`, so an upsert in a
body failed, though gridpg itself runs such a statement on a distributed table. In the
twin of a routine or trigger function (executor/twins.py, executor/triggers.py) each such
statement whose target is a distributed table becomes a call that hands the statement's
text, with the current values of the PL/pgSQL variables it uses written in as typed
literals, to the coordinator through the loopback (`gridpg.loopback_run`, a scan of a
foreign table the coordinator answers itself, frontend/loopback.py): it runs there as a
gridpg statement inside the caller's transaction, with the caller's settings and role.

    INSERT INTO counts (k, n) VALUES (NEW.cust, 1) ON CONFLICT (k) DO UPDATE SET n = counts.n + 1;
    -->
    PERFORM 1 FROM gridpg.loopback_run('INSERT INTO counts (k, n) VALUES (' || <NEW.cust as
        a typed literal> || ', 1) ON CONFLICT (k) DO UPDATE SET n = counts.n + 1', 'perform');

PERFORM keeps FOUND and GET DIAGNOSTICS ROW_COUNT (one row comes back per row inserted or
updated). `RETURNING ... INTO [STRICT] a, b` becomes `SELECT r[1], r[2] INTO [STRICT] a, b
FROM gridpg.loopback_run(..., 'into')` (the coordinator raises PostgreSQL's P0003 for more
than one row, as PL/pgSQL does for any INSERT ... RETURNING INTO). Variables are told from
columns as PL/pgSQL does with its default `variable_conflict = error`: a name that is both
a variable and a column of the target raises 42702 (`#variable_conflict use_column` /
`use_variable` honoured).

This module must not do I/O.
"""

from __future__ import annotations

import dataclasses

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


from gridpg.errors import AMBIGUOUS_COLUMN, FEATURE_NOT_SUPPORTED, SYNTAX_ERROR, PgError
from gridpg.sql import parse as sqlparse
from gridpg.sql import plpgsql
from gridpg.sql.quote import quote_ident, quote_literal

RUN_FUNCTION = "gridpg.loopback_run"

# (schema or None, table name) -> the target's column names when it is a distributed
# table whose upserts gridpg runs itself, else None
TargetColumns = Callable[[str | None, str], "tuple[str, ...] | None"]

_CONFLICT_OPTION = re.compile(r"#\s*variable_conflict\s+(use_column|use_variable|error)", re.IGNORECASE)


@dataclass(frozen=True)
class _Names:
    """The PL/pgSQL names a body's SQL may use: variables, records, labels, parameters."""

    variables: frozenset[str]
    records: frozenset[str]
    labels: frozenset[str]
    parameters: int
    conflict: str  # error, use_column, use_variable
    # records declared with a composite type (`v_job jobs`), not `record`: a RETURNING row
    # goes into one by position, each value converted as PL/pgSQL assigns it
    composites: frozenset[str] = frozenset()


def upsert_target(tree: dict[str, Any]) -> dict[str, Any] | None:
    """The RangeVar an `INSERT ... ON CONFLICT` statement writes when the loopback cannot
    send it (a conflict target, or DO UPDATE), or a MERGE writes (PostgreSQL merges into no
    foreign table: "cannot execute MERGE on relation"); None for anything else."""
    merge = tree.get("MergeStmt") if isinstance(tree, dict) else None
    if isinstance(merge, dict):
        relation = merge.get("relation")
        return relation if isinstance(relation, dict) else None
    insert = tree.get("InsertStmt") if isinstance(tree, dict) else None
    if not isinstance(insert, dict):
        return None
    conflict = insert.get("onConflictClause")
    if not isinstance(conflict, dict):
        return None
    if not conflict.get("infer") and conflict.get("action") != "ONCONFLICT_UPDATE":
        return None  # plain ON CONFLICT DO NOTHING: postgres_fdw sends it as it is
    relation = insert.get("relation")
    return relation if isinstance(relation, dict) else None


def may_take_over(source: str) -> bool:
    """Whether a body may hold a statement gridpg takes over (a cheap test of its text)."""
    lowered = source.lower()
    return "conflict" in lowered or "merge" in lowered


def rewrite_body(create_sql: str, body: str, target_columns: TargetColumns) -> str:
    """`body` (the dollar-quoted text of `create_sql`, a CREATE FUNCTION / PROCEDURE of
    language plpgsql) with each upsert into a table `target_columns` knows rewritten (module
    doc). Unchanged when it has none."""
    try:
        function = plpgsql.parse(create_sql)[0]["PLpgSQL_function"]
    except (KeyError, IndexError) as exc:
        raise PgError(SYNTAX_ERROR, f"cannot read PL/pgSQL body: {exc}") from exc
    names = _names(function, body, _function_name(create_sql))
    sites = [(k, s) for k, s in _statements(function.get("action")) if _is_upsert(_query_of(k, s), target_columns)]
    if not sites:
        return body
    declared = plpgsql.declared_types(create_sql)
    names = dataclasses.replace(names, composites=frozenset(
        r for r in names.records if declared.get(r.lower(), "record").strip().lower() != "record"))
    line_starts = [0] + [m.end() for m in re.finditer("\n", body)]
    cuts: list[tuple[int, int, str]] = []
    after: dict[str, int] = {}
    for kind, statement in sorted(sites, key=lambda s: int(s[1].get("lineno", 0))):
        query = _query_of(kind, statement)
        line = int(statement.get("lineno", 1))
        follows = {_EXECSQL: "into" if statement.get("into") else ";", _RETURN_QUERY: ";", _FOR_QUERY: "loop"}[kind]
        start = _find(body, query, max(after.get(query, 0), line_starts[min(line, len(line_starts)) - 1]), follows)
        end = start + len(query) if kind == _FOR_QUERY else _statement_end(body, start + len(query))
        after[query] = end
        if kind == _EXECSQL:
            cuts.append((start, end, _replacement(statement, query, names, target_columns)))
        elif kind == _FOR_QUERY:
            cuts.append((start, end, _rows_select(statement, query, names, target_columns)))
        else:
            cuts.append((_return_start(body, start), end,
                         _return_rows(create_sql, query, names, target_columns)))
    for start, end, text in sorted(cuts, reverse=True):
        body = body[:start] + text + body[end:]
    return body


def rewrite_sql_body(create_sql: str, body: str, target_columns: TargetColumns) -> str:
    """`body` of a LANGUAGE sql function (its string form, not BEGIN ATOMIC) with each
    upsert into a table `target_columns` knows as `SELECT 1 FROM gridpg.loopback_run(...,
    'perform')`, its parameters (by name, `fn.name` or `$n`) written in as typed literals
    when it runs. In a SQL function a column wins over a parameter of the same name
    (`use_column`). An upsert with RETURNING as the last statement is the function's answer
    (`_answer_rows`). Unchanged when it has none."""
    create = _parse(create_sql).get("CreateFunctionStmt") or {}
    parameters = [p.get("FunctionParameter", {}) for p in create.get("parameters", [])]
    inputs = [p for p in parameters if p.get("mode", "FUNC_PARAM_IN") in ("FUNC_PARAM_IN", "FUNC_PARAM_INOUT",
                                                                           "FUNC_PARAM_VARIADIC", "FUNC_PARAM_DEFAULT")]
    names = _Names(frozenset(str(p["name"]).lower() for p in inputs if p.get("name")), frozenset(),
                   frozenset({_function_name(create_sql)}), len(inputs), "use_column")
    cuts: list[tuple[int, int, str]] = []
    statements = _top_level_statements(body)
    for start, end in statements:
        query = body[start:end]
        try:
            tree = _parse(query)
        except PgError:
            continue
        if not _is_upsert(query, target_columns):
            continue
        if _returning(_written(tree)) and (start, end) == statements[-1]:
            cuts.append((start, end, _answer_rows(create_sql, query, names, target_columns)))
            continue
        # (the RETURNING rows of a statement before the last are no one's answer)
        perform = _replacement({}, query, names, target_columns)
        cuts.append((start, end, "SELECT 1" + perform.removeprefix("PERFORM 1")))
    for start, end, text in sorted(cuts, reverse=True):
        body = body[:start] + text + body[end:]
    return body


def _answer_rows(create_sql: str, query: str, names: _Names, target_columns: TargetColumns) -> str:
    """The last statement of a SQL function, an upsert whose RETURNING rows are the
    function's answer (`get_or_create` functions: `INSERT ... ON CONFLICT (k) DO UPDATE SET
    ... RETURNING id`), as a SELECT of those rows run by the coordinator: one RETURNING
    item, cast from the text it comes back as to the declared result type. Other shapes
    (several items, OUT parameters, `record`) are refused."""
    outs, result = _result_shape(create_sql)
    width = _returning_width(_written(_parse(query)), target_columns)
    if outs or result is None or width != 1:
        raise PgError(FEATURE_NOT_SUPPORTED, "gridpg runs INSERT ... ON CONFLICT ... RETURNING over distributed "
                      "tables as a SQL function's answer only with one RETURNING item and a declared "
                      "result type (no OUT parameters)", hint="Use PL/pgSQL: RETURNING ... INTO variables.")
    return (f"SELECT ((gp_run.r)[1])::{result} FROM {RUN_FUNCTION}("
            f"{_statement_text(query, names, target_columns)}, 'rows') AS gp_run(r)")


def _top_level_statements(body: str) -> list[tuple[int, int]]:
    """(start, end) of each statement of a SQL body, split at its `;` tokens (the scanner's:
    not inside strings, quoted names or dollar quotes), comments before it left out."""
    out: list[tuple[int, int]] = []
    start: int | None = None
    end = 0
    for token in sqlparse.tokens(body):
        if token.name in ("C_COMMENT", "SQL_COMMENT"):
            continue
        if token.name == "ASCII_59":
            if start is not None:
                out.append((start, end))
            start = None
            continue
        if start is None:
            start = token.start
        end = token.end + 1
    if start is not None:
        out.append((start, end))
    return out


def rewrite_do(sql: str, target_columns: TargetColumns) -> str:
    """A `DO` statement with its PL/pgSQL body's upserts rewritten (`rewrite_body`); the
    statement unchanged when its body is not a plain or dollar-quoted string."""
    from gridpg.sql.plpgsql import do_block_function

    do = (_parse(sql).get("DoStmt") or {})
    options = {a.get("DefElem", {}).get("defname"): a.get("DefElem", {}).get("arg", {}).get("String", {}).get("sval")
               for a in do.get("args", [])}
    body = options.get("as")
    if body is None or (options.get("language") or "plpgsql").lower() != "plpgsql":
        return sql
    for token in sqlparse.tokens(sql):
        text = sql[token.start:token.end + 1]
        if token.name != "SCONST" or _string_value(text) != body:
            continue
        new = rewrite_body(do_block_function(body), body, target_columns)
        if new == body:
            return sql
        tag = "gp"
        while f"${tag}$" in new:
            tag += "x"
        return sql[:token.start] + f"${tag}${new}${tag}$" + sql[token.end + 1:]
    return sql


def _string_value(token: str) -> str | None:
    if token.startswith("$"):
        tag = token[:token.index("$", 1) + 1]
        return token[len(tag):len(token) - len(tag)]
    if token.startswith("'"):
        return token[1:-1].replace("''", "'")
    return None


_EXECSQL = "PLpgSQL_stmt_execsql"
_RETURN_QUERY = "PLpgSQL_stmt_return_query"
_FOR_QUERY = "PLpgSQL_stmt_fors"


def _is_upsert(query: str, target_columns: TargetColumns) -> bool:
    target = upsert_target(_parse(query))
    return target is not None and target_columns(target.get("schemaname"), target.get("relname", "")) is not None


def _query_of(kind: str, statement: dict[str, Any]) -> str:
    return str((_expr(kind, statement) or {})["query"])


def _statements(node: Any) -> list[tuple[str, dict[str, Any]]]:
    """(kind, statement) of every statement of a function that runs a static SQL statement
    gridpg may have to take over: a plain SQL statement (`PLpgSQL_stmt_execsql`), `RETURN
    QUERY` and `FOR ... IN query LOOP`, nested ones included."""
    out: list[tuple[str, dict[str, Any]]] = []
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, dict):
            for kind in (_EXECSQL, _RETURN_QUERY, _FOR_QUERY):
                statement = item.get(kind)
                expr = _expr(kind, statement) if isinstance(statement, dict) else None
                if expr is not None and int(expr.get("parseMode", 0)) == 0:
                    out.append((kind, statement))
            stack.extend(item.values())
    return out


def _expr(kind: str, statement: dict[str, Any]) -> dict[str, Any] | None:
    """The statement's static SQL (`PLpgSQL_expr`); None for RETURN QUERY EXECUTE."""
    node = statement.get("sqlstmt" if kind == _EXECSQL else "query")
    expr = node.get("PLpgSQL_expr") if isinstance(node, dict) else None
    return expr if isinstance(expr, dict) else None


def _function_name(create_sql: str) -> str:
    """The routine's name: the label of the block holding its parameters (`f.arg`)."""
    create = _parse(create_sql).get("CreateFunctionStmt") or {}
    names = [n.get("String", {}).get("sval", "") for n in create.get("funcname", [])]
    return names[-1].lower() if names else ""


def _names(function: dict[str, Any], body: str, routine: str) -> _Names:
    variables: set[str] = set()
    records: set[str] = set()
    parameters = 0
    for datum in function.get("datums", []):
        for kind, item in datum.items():
            name = str(item.get("refname", ""))
            if kind == "PLpgSQL_var" or (kind == "PLpgSQL_row" and name != "(unnamed row)"):
                variables.add(name)
            elif kind == "PLpgSQL_rec":
                records.add(name)
            if name.startswith("$") and name[1:].isdigit():
                parameters = max(parameters, int(name[1:]))
    labels = {str(n["label"]).lower() for n in _nodes_with(function.get("action"), "label")} | {routine}
    match = _CONFLICT_OPTION.search(body)
    return _Names(frozenset(variables | records), frozenset(records), frozenset(labels), parameters,
                  match.group(1).lower() if match else "error")


def _nodes_with(node: Any, key: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, dict):
            if isinstance(item.get(key), str):
                out.append(item)
            stack.extend(item.values())
    return out


def _find(body: str, query: str, position: int, follows: str) -> int:
    """Where the statement whose text PL/pgSQL keeps as `query` starts, at or after
    `position`: the text followed by the word that ends it there (`;`, `into` for a
    statement with INTO, `loop` for a FOR loop's query), so that a statement whose text
    begins another's is not taken for it."""
    start = body.find(query, position)
    while start >= 0:
        rest = body[start + len(query):]
        following = sqlparse.tokens(rest)[:1] if rest.strip() else []
        word = rest[following[0].start:following[0].end + 1].lower() if following else ""
        if word == follows:
            return start
        start = body.find(query, start + 1)
    raise PgError(FEATURE_NOT_SUPPORTED, "gridpg cannot find an INSERT ... ON CONFLICT statement in "
                  "the body of server-side code to run it on distributed tables")


def _return_start(body: str, query_start: int) -> int:
    """The offset of the `RETURN` of the `RETURN QUERY` whose query starts at `query_start`."""
    words = [t for t in sqlparse.tokens(body[:query_start]) if t.name not in ("C_COMMENT", "SQL_COMMENT")]
    said = [body[t.start:t.end + 1].lower() for t in words[-2:]]
    if said != ["return", "query"]:
        raise PgError(FEATURE_NOT_SUPPORTED, "gridpg cannot find the RETURN QUERY of an INSERT ... ON "
                      "CONFLICT in the body of server-side code to run it on distributed tables")
    return int(words[-2].start)


def _statement_end(body: str, position: int) -> int:
    """The offset of the `;` that ends the statement whose text runs to `position` (an INTO
    clause may follow the query text PL/pgSQL keeps)."""
    rest = body[position:]
    for token in sqlparse.tokens(rest):
        if rest[token.start:token.end + 1] == ";":
            return position + token.start
    return len(body)


def _statement_text(query: str, names: _Names, target_columns: TargetColumns) -> str:
    """A SQL expression of the statement's text with the current values of the PL/pgSQL
    variables it uses written in as typed literals."""
    insert = _written(_parse(query))
    relation = insert["relation"]
    columns = frozenset(c.lower() for c in target_columns(relation.get("schemaname"), relation.get("relname", "")) or ())
    columns |= _merge_source_columns(insert, target_columns)
    pieces: list[str] = []
    position = 0
    sub_selects = _values_sub_selects(query, insert)
    refs = [(start, end, text, False) for start, end, text in _variable_refs(query, insert, names, columns)
            if not any(s <= start < e for s, e, _ in sub_selects)]
    for start, end, text, evaluated in sorted(refs + [(s, e, t, True) for s, e, t in sub_selects]):
        pieces.append(quote_literal(query[position:start]))
        if evaluated:  # once, here: a volatile call in it must not run twice
            pieces.append(f"(SELECT '(' || pg_catalog.quote_nullable(gp_v.v) || '::' || pg_catalog.pg_typeof(gp_v.v) "
                          f"|| ')' FROM (SELECT {text}) AS gp_v(v))")
        else:
            pieces.append(f"'(' || pg_catalog.quote_nullable({text}) || '::' || pg_catalog.pg_typeof({text}) || ')'")
        position = end
    pieces.append(quote_literal(query[position:]))
    return " || ".join(p for p in pieces if p != "''") or "''"


def _replacement(statement: dict[str, Any], query: str, names: _Names,
                 target_columns: TargetColumns) -> str:
    insert = _written(_parse(query))
    sql = _statement_text(query, names, target_columns)
    if not statement.get("into"):
        return f"PERFORM 1 FROM {RUN_FUNCTION}({sql}, 'perform')"
    target = statement.get("target") or {}
    row = target.get("PLpgSQL_row") or {}
    fields = [str(f.get("name", "")) for f in row.get("fields", [])]
    width = len(fields)
    var = (target.get("PLpgSQL_var") or {}).get("refname")
    if var:
        fields, width = [str(var)], 1
    rec = str((target.get("PLpgSQL_rec") or {}).get("refname", ""))
    if rec and rec in names.composites:
        fields, width = [rec], _returning_width(insert, target_columns) or 0
    if not fields or not width or not _returning(insert):
        raise PgError(FEATURE_NOT_SUPPORTED, "gridpg runs INSERT ... ON CONFLICT ... RETURNING INTO "
                      "a record in server-side code over distributed tables only into a list of variables "
                      "or a variable of a composite type", hint="Name the variables after INTO.")
    items = ", ".join(f"(gp_run.r)[{i}]" for i in range(1, width + 1))
    strict = " STRICT" if statement.get("strict") else ""
    return f"SELECT {items} INTO{strict} {', '.join(fields)} FROM {RUN_FUNCTION}({sql}, 'into') AS gp_run(r)"


def _rows_query(query: str, names: _Names, target_columns: TargetColumns) -> str:
    """A SELECT of the RETURNING rows of the upsert `query`, run by the coordinator, each
    value as text (PL/pgSQL converts them as it assigns them)."""
    width = _returning_width(_written(_parse(query)), target_columns)
    if not width:
        raise PgError(FEATURE_NOT_SUPPORTED, "gridpg runs INSERT ... ON CONFLICT in a FOR loop or RETURN "
                      "QUERY over distributed tables only with a RETURNING list")
    items = ", ".join(f"(gp_run.r)[{i}]" for i in range(1, width + 1))
    return f"SELECT {items} FROM {RUN_FUNCTION}({_statement_text(query, names, target_columns)}, 'rows') AS gp_run(r)"


def _rows_select(statement: dict[str, Any], query: str, names: _Names, target_columns: TargetColumns) -> str:
    """The query of `FOR target IN <upsert> LOOP` rewritten: the rows come back as text,
    which a list of variables or a record of a named row type converts as it is assigned;
    a `record` variable would keep the text (`r.k > 9` compared as text), so it is
    refused."""
    var = statement.get("var") or {}
    rec = str((var.get("PLpgSQL_rec") or {}).get("refname", ""))
    if rec and rec not in names.composites:
        typed = _whole_rows_query(query, names, target_columns)
        if typed is not None:
            return typed
        raise PgError(FEATURE_NOT_SUPPORTED, "gridpg runs FOR ... IN INSERT ... ON CONFLICT ... RETURNING over "
                      f"distributed tables into a list of variables or a row-typed variable, not the record {rec}",
                      hint="Declare the loop variable with the table's row type, or name variables after FOR.")
    return _rows_query(query, names, target_columns)


def _whole_rows_query(query: str, names: _Names, target_columns: TargetColumns) -> str | None:
    """A SELECT of the RETURNING rows with each value typed as its column of the target
    (what a `record` loop variable gets from PostgreSQL: names and types), for a RETURNING
    list of the target's columns (`*`, `t.*`, `k`, `t.k AS key`); None for any other (an
    expression's type is not known here)."""
    insert = _written(_parse(query))
    relation = insert["relation"]
    columns = target_columns(relation.get("schemaname"), relation.get("relname", ""))
    if not columns:
        return None
    own = {str(relation.get("relname", "")).lower(), str((relation.get("alias") or {}).get("aliasname", "")).lower()}
    keys: list[str] = []
    outputs: list[tuple[str, str]] = []
    for item in _returning(insert) or []:
        target = item.get("ResTarget", {})
        fields = target.get("val", {}).get("ColumnRef", {}).get("fields", [])
        if not fields or len(fields) > 2 or (len(fields) == 2 and str(
                fields[0].get("String", {}).get("sval", "")).lower() not in own):
            return None
        if "A_Star" in fields[-1]:
            keys.extend(columns)
            outputs.extend((c, c) for c in columns)
            continue
        column = str(fields[-1].get("String", {}).get("sval", ""))
        match = next((c for c in columns if c == column), None)
        if match is None:
            return None
        keys.append(match)
        outputs.append((match, str(target.get("name") or match)))
    table = ".".join(quote_ident(str(p)) for p in (relation.get("schemaname"), relation["relname"]) if p)
    text = _statement_text(query, names, target_columns)
    items = ", ".join(f"(gp_row.x).{quote_ident(c)} AS {quote_ident(n)}" for c, n in outputs)
    return (f"SELECT {items} FROM {RUN_FUNCTION}({text}, 'rows') AS gp_run(r), LATERAL (SELECT "
            f"pg_catalog.jsonb_populate_record(NULL::{table}, pg_catalog.jsonb_object(ARRAY["
            f"{', '.join(quote_literal(k) for k in keys)}]::text[], gp_run.r)) AS x) AS gp_row")


def _return_rows(create_sql: str, query: str, names: _Names, target_columns: TargetColumns) -> str:
    """`RETURN QUERY <upsert>` as a block that returns the same rows: each comes back as
    text and is assigned to the function's OUT parameters (kept and given back after) or
    to a variable of its result type, then returned with RETURN NEXT, which converts
    nothing else."""
    select = _rows_query(query, names, target_columns)
    outs, result = _result_shape(create_sql)
    if outs:
        quoted = [quote_ident(n) for n in outs]
        saves = " ".join(f"gp_out_{i} {q}%TYPE := {q};" for i, q in enumerate(quoted, 1))
        restores = " ".join(f"{q} := gp_out_{i};" for i, q in enumerate(quoted, 1))
        return (f"DECLARE {saves} BEGIN FOR {', '.join(quoted)} IN {select} LOOP RETURN NEXT; END LOOP; "
                f"{restores} END")
    if result is None:
        raise PgError(FEATURE_NOT_SUPPORTED, "gridpg runs RETURN QUERY INSERT ... ON CONFLICT over distributed "
                      "tables in functions with a declared result type or OUT parameters, not SETOF record")
    return f"DECLARE gp_row {result}; BEGIN FOR gp_row IN {select} LOOP RETURN NEXT gp_row; END LOOP; END"


def _result_shape(create_sql: str) -> tuple[list[str], str | None]:
    """The names of a function's OUT (INOUT, TABLE) parameters, and its result type as
    written without SETOF (None for record)."""
    from pglast import parse_sql
    from pglast.stream import RawStream

    try:
        create = parse_sql(create_sql)[0].stmt
    except Exception as exc:  # noqa: BLE001 - pglast's ParseError and friends
        raise PgError(SYNTAX_ERROR, f"cannot read function definition: {exc}") from exc
    outs = [str(p.name) for p in (create.parameters or ())
            if str(getattr(p.mode, "value", p.mode)) in ("o", "b", "t") and p.name]
    returns = getattr(create, "returnType", None)
    if returns is None:
        return outs, None
    text = RawStream()(returns)
    text = text[len("SETOF "):] if text.upper().startswith("SETOF ") else text
    return outs, None if text.lower() in ("pg_catalog.record", "record") else text


def _variable_refs(query: str, insert: dict[str, Any], names: _Names,
                   columns: frozenset[str]) -> list[tuple[int, int, str]]:
    """(start, end, text) of each PL/pgSQL variable the statement uses, in text order."""
    tokens = sqlparse.tokens(query)
    by_start = {t.start: i for i, t in enumerate(tokens)}
    scoped = _column_scoped(insert)
    infer = (insert.get("onConflictClause") or {}).get("infer") or {}
    for element in infer.get("InferClause", infer).get("indexElems", []):
        name = element.get("IndexElem", {}).get("name")
        if name is not None:  # (PostgreSQL resolves it as a column reference, variables included)
            _is_variable([name], names, columns)
    out: list[tuple[int, int, str]] = []
    for node, in_scope in _refs(insert, False, scoped):
        if "ParamRef" in node:
            number = int(node["ParamRef"].get("number", 0))
            location = int(node["ParamRef"].get("location", -1))
            if 0 < number <= names.parameters and location in by_start:
                token = tokens[by_start[location]]
                out.append((token.start, token.end + 1, query[token.start:token.end + 1]))
            continue
        ref = node["ColumnRef"]
        fields = [f.get("String", {}).get("sval") if "String" in f else "*" for f in ref.get("fields", [])]
        if not _is_variable(fields, names, columns if in_scope else frozenset()):
            continue
        if "*" in fields:
            raise PgError(FEATURE_NOT_SUPPORTED, "gridpg runs INSERT ... ON CONFLICT in server-side code "
                          "over distributed tables with the record's fields named, not `record.*`")
        first = by_start.get(int(ref.get("location", -1)))
        if first is None:
            raise PgError(FEATURE_NOT_SUPPORTED, "gridpg cannot read a variable of INSERT ... ON CONFLICT "
                          "in server-side code")
        last = tokens[first + 2 * len(fields) - 2]
        start = tokens[first].start
        out.append((start, last.end + 1, query[start:last.end + 1]))
    return sorted(out)


def _values_sub_selects(query: str, insert: dict[str, Any]) -> list[tuple[int, int, str]]:
    """(start, end, text) of each sub-select standing in a VALUES row of the upsert (`(SELECT
    count(*) FROM newtab)`, `EXISTS (...)`, `ARRAY(...)`), outermost ones only: evaluated in
    the body, where its code runs, and written in as a typed literal like a variable. Run by
    the coordinator they would miss what only the caller's backend has: the trigger's
    transition tables, the session's temp tables (42P01). A VALUES row reads no column of
    the target, so each one's value is the statement's own."""
    select = (insert.get("selectStmt") or {}).get("SelectStmt") or {}
    rows = select.get("valuesLists") or []
    if not rows:
        return []
    tokens = sqlparse.tokens(query)
    by_start = {t.start: i for i, t in enumerate(tokens)}
    out: list[tuple[int, int, str]] = []
    for link in _outer_sub_links(rows):
        if link.get("subLinkType") not in ("EXPR_SUBLINK", "EXISTS_SUBLINK", "ARRAY_SUBLINK"):
            continue  # (`x IN (SELECT ...)` starts at its operand, which the tree does not place)
        first = by_start.get(int(link.get("location", -1)))
        last = sqlparse.closing_paren(tokens, first) if first is not None else None
        if last is None:
            continue
        start, end = tokens[first].start, tokens[last].end + 1
        out.append((start, end, query[start:end]))
    return out


def _outer_sub_links(node: Any) -> list[dict[str, Any]]:
    if isinstance(node, list):
        return [link for item in node for link in _outer_sub_links(item)]
    if isinstance(node, dict):
        if "SubLink" in node:
            return [node["SubLink"]]
        return [link for value in node.values() for link in _outer_sub_links(value)]
    return []


def _is_variable(fields: list[str | None], names: _Names, columns: frozenset[str]) -> bool:
    """Whether a column reference names a PL/pgSQL variable (PostgreSQL's resolution:
    `v`, `rec.field`, `label.v`, `label.rec.field`); `columns`: the target's columns
    visible where the reference stands (name clashes follow `variable_conflict`)."""
    head = (fields[0] or "").lower()
    if len(fields) == 1:
        if head not in names.variables:
            return False
        if head in columns:
            if names.conflict == "use_column":
                return False
            if names.conflict == "error":
                raise PgError(AMBIGUOUS_COLUMN, f'column reference "{fields[0]}" is ambiguous',
                              detail="It could refer to either a PL/pgSQL variable or a table column.")
        return True
    if head in names.records:
        return True
    return head in names.labels and (fields[1] or "").lower() in names.variables


def _column_scoped(insert: dict[str, Any]) -> set[int]:
    """ids of the parts of an INSERT where the target's columns are in scope: ON CONFLICT's
    SET and WHERE, RETURNING; of a MERGE: its join condition, WHEN clauses and RETURNING
    (its source's columns too, `_merge_source_columns`)."""
    if "mergeWhenClauses" in insert or "joinCondition" in insert:
        return {id(part) for part in (insert.get("joinCondition"), insert.get("mergeWhenClauses"),
                                      _returning(insert)) if part is not None}
    conflict = insert.get("onConflictClause") or {}
    return {id(part) for part in (conflict.get("targetList"), conflict.get("whereClause"),
                                  _returning(insert)) if part is not None}


def _returning_width(insert: dict[str, Any], target_columns: TargetColumns) -> int | None:
    """How many columns the RETURNING row has: one per item, a `*` (or `t.*`) the target
    table's columns; None when a `*` meets a table whose columns are not known."""
    relation = insert["relation"]
    width = 0
    for item in _returning(insert) or []:
        fields = item.get("ResTarget", {}).get("val", {}).get("ColumnRef", {}).get("fields", [])
        if fields and "A_Star" in fields[-1]:
            columns = target_columns(relation.get("schemaname"), relation.get("relname", ""))
            if columns is None:
                return None
            width += len(columns)
        else:
            width += 1
    return width


def _written(tree: dict[str, Any]) -> dict[str, Any]:
    """The body of the statement gridpg takes over: an INSERT's or a MERGE's."""
    return tree.get("InsertStmt") or tree["MergeStmt"]


def _merge_source_columns(merge: dict[str, Any], target_columns: TargetColumns) -> frozenset[str]:
    """The names of the columns a MERGE's source shows where the target's are in scope,
    as far as they are known here: a distributed table's, or a sub-select's named outputs
    (a variable of such a name is ambiguous there, as in PostgreSQL). Not an INSERT's."""
    source = merge.get("sourceRelation") or {}
    table = source.get("RangeVar")
    if isinstance(table, dict):
        return frozenset(c.lower() for c in target_columns(table.get("schemaname"), table.get("relname", "")) or ())
    select = ((source.get("RangeSubselect") or {}).get("subquery") or {}).get("SelectStmt") or {}
    names: set[str] = set()
    for item in select.get("targetList") or []:
        target = item.get("ResTarget", {})
        fields = target.get("val", {}).get("ColumnRef", {}).get("fields", [])
        name = target.get("name") or (fields[-1].get("String", {}).get("sval") if fields else None)
        if name:
            names.add(str(name).lower())
    aliases = ((source.get("RangeSubselect") or {}).get("alias") or {}).get("colnames") or []
    names |= {str(a.get("String", {}).get("sval", "")).lower() for a in aliases}
    return frozenset(names)


def _returning(insert: dict[str, Any]) -> Any:
    """An INSERT's RETURNING items (PostgreSQL 18 wraps them in a ReturningClause)."""
    clause = insert.get("returningClause") or {}
    return (clause.get("ReturningClause") or clause).get("exprs") or insert.get("returningList")


def _refs(node: Any, in_scope: bool, scoped: set[int]) -> list[tuple[dict[str, Any], bool]]:
    out: list[tuple[dict[str, Any], bool]] = []
    if id(node) in scoped:
        in_scope = True
    if isinstance(node, list):
        for item in node:
            out.extend(_refs(item, in_scope, scoped))
    elif isinstance(node, dict):
        if "ColumnRef" in node or "ParamRef" in node:
            return [(node, in_scope)]
        for value in node.values():
            out.extend(_refs(value, in_scope, scoped))
    return out


def _parse(query: str) -> dict[str, Any]:
    try:
        return sqlparse.parse_tree(query) or {}
    except PgError:
        return {}
