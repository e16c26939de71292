"""Twins: routines with their own `SET search_path`, run through the loopback.

The loopback's shadows are found by the search path (executor/loopback.py): the armed
statement runs with each schema's shadow schema just before it. A routine declared with
`SET search_path = app, public` replaces that path on entry, for its whole execution, so
its names would reach the catalog server's empty copies. Such a routine, when the client's
statement calls it (the guard, executor/routines.py and planner/call_shape.py, proves it
is called there and nowhere else in the code), runs as its **twin**: the same definition
(`pg_get_functiondef`) with the shadow schemas put on its own path, made for the call as
a temporary function (`pg_temp`) on the session's catalog connection and dropped after
it, owned by the routine's owner (SECURITY DEFINER keeps its meaning) and executable by
exactly the roles that may execute the routine; the statement's call is rewritten to it
(`rewrite_calls`). Temporary: nothing of it outlives the call (a twin kept in a schema of
its own made `DROP ROLE` of its owner or grantees fail), no other session sees it, and a
changed routine never meets an old twin.

This module must not run client statements; it only prepares the catalog server.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from gridpg.errors import FEATURE_NOT_SUPPORTED, PgError
from gridpg.executor.loopback import SHADOW_PREFIX, calls_path
from gridpg.planner.routines import qualified_relations
from gridpg.sql import parse as sqlparse
from gridpg.sql import plpgsql_dynamic, plpgsql_upsert
from gridpg.sql.plpgsql import do_block_function
from gridpg.sql.plpgsql_upsert import TargetColumns
from gridpg.sql.quote import quote_ident, quote_literal

if TYPE_CHECKING:
    from gridpg.datanode.connection import BackendConnection

_TWIN_SQL = """
SELECT p.oid, p.prokind, pg_catalog.pg_get_functiondef(p.oid),
       pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(p.proname),
       pg_catalog.quote_ident(p.proname), pg_catalog.pg_get_function_identity_arguments(p.oid),
       pg_catalog.pg_get_userbyid(p.proowner), p.proacl IS NULL,
       (SELECT string_agg(CASE WHEN a.grantee = 0 THEN 'PUBLIC'
                               ELSE pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(a.grantee)) END, ', ')
          FROM pg_catalog.aclexplode(p.proacl) a WHERE a.privilege_type = 'EXECUTE'),
       EXISTS (SELECT 1 FROM pg_catalog.pg_proc b WHERE b.proname = p.proname
                AND b.pronamespace = 'pg_catalog'::pg_catalog.regnamespace),
       (SELECT substr(s, 13) FROM unnest(p.proconfig) s WHERE s LIKE 'search_path=%')
FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
WHERE p.oid IN ({oids})"""

_SCHEMAS_SQL = "SELECT nspname, oid FROM pg_catalog.pg_namespace"

_COLUMNS_SQL = """
SELECT n.nspname, c.relname, a.attname
FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE a.attnum > 0 AND NOT a.attisdropped AND (n.nspname, c.relname) IN ({pairs})
ORDER BY c.oid, a.attnum"""  # in order: a RETURNING * row fills a composite by position


async def upsert_columns(conn: BackendConnection, tables: Iterable[tuple[str, str]],
                         path: Sequence[str] | None = None) -> TargetColumns:
    """What sql/plpgsql_upsert.py rewrites a body against: the columns of each of `tables`
    (the distributed tables the code reaches), by (schema, name) and, for names written
    without their schema, those of the first table of that name on `path` (the session's
    search path on `conn` when None and `conn` is the session's, `()` for none)."""
    by_key = await _table_columns(conn, tables)
    if path is None:
        path = await _search_path(conn) if by_key else []
    return columns_by_path(by_key, path)


async def _search_path(conn: BackendConnection) -> list[str]:
    """The schemas of the connection's search path that exist, in order."""
    return [r[0] or "" for r in await conn.query("SELECT s FROM unnest(pg_catalog.current_schemas(false)) AS s")]


async def _table_columns(conn: BackendConnection,
                         tables: Iterable[tuple[str, str]]) -> dict[tuple[str, str], list[str]]:
    wanted = sorted(set(tables))
    by_key: dict[tuple[str, str], list[str]] = {}
    if wanted:
        pairs = ", ".join(f"({quote_literal(s)}, {quote_literal(n)})" for s, n in wanted)
        for schema, name, column in await conn.query(_COLUMNS_SQL.format(pairs=pairs)):
            by_key.setdefault((schema or "", name or ""), []).append(column or "")
    return by_key


def columns_by_path(by_key: dict[tuple[str, str], list[str]], path: Sequence[str]) -> TargetColumns:
    """The columns of a table by (schema, name); a name written without its schema is the
    first table of that name on `path`, else the columns every table of that name has
    alike, else all of theirs (a body's names are told from variables by them; the width
    of a RETURNING * row then fails loudly)."""

    def columns(schema: str | None, name: str) -> tuple[str, ...] | None:
        if schema is not None:
            found = by_key.get((schema, name))
            return tuple(found) if found is not None else None
        for element in path:
            found = by_key.get((element, name))
            if found is not None:
                return tuple(found)
        shapes = [tuple(c) for (s, n), c in sorted(by_key.items()) if n == name]
        if not shapes:
            return None
        if len(set(shapes)) == 1:
            return shapes[0]
        return tuple(c for shape in shapes for c in shape)
    return columns


async def create_twins(conn: BackendConnection, session_user: str, role: str | None,
                       oids: list[int], unqualified: set[int],
                       redirect: dict[int, frozenset[tuple[str, str]]] | None = None,
                       tables: Iterable[tuple[str, str]] = ()) -> tuple[dict[int, str], str]:
    """Make the twins of `oids` on the session's catalog connection, before the call: (the
    twin's name per routine, the SQL that drops them again after the call). Made as the
    superuser the connection logged in as (the routine's owner must own the twin), then
    the session's authorization and role again. A routine called without its schema
    (`unqualified`) whose name pg_catalog also has is refused: the call may mean that one.
    A PL/pgSQL twin's upserts into `tables` (the distributed tables the code reaches) are
    rewritten to run on the coordinator (sql/plpgsql_upsert.py)."""
    rows = await conn.query(_TWIN_SQL.format(oids=", ".join(str(int(o)) for o in oids)))
    schemas = {name: oid for name, oid in await conn.query(_SCHEMAS_SQL)}
    upserting = any(plpgsql_upsert.may_take_over(row[2] or "") for row in rows)
    by_key = await _table_columns(conn, tables if upserting else ())
    session_path = await _search_path(conn) if by_key else []
    out: dict[int, str] = {}
    creates: list[str] = []
    drops: list[str] = []
    callees = {str(row[4] or ""): f"pg_temp.{row[4]}" for row in rows}  # (quoted name: its twin)
    for row in rows:
        # (its body's names resolve with its own search_path when it has one)
        targets = columns_by_path(by_key, path_elements(row[10]) if row[10] else session_path)
        name, create, drop = twin_ddl(row, schemas, (redirect or {}).get(int(row[0] or 0), frozenset()), targets,
                                      callees)
        if any(drop == d for d in drops):
            raise PgError(FEATURE_NOT_SUPPORTED, f"gridpg cannot run two routines named {name} "
                          "with their own search_path in one statement")
        if int(row[0] or 0) in unqualified and row[9] == "t":
            raise PgError(FEATURE_NOT_SUPPORTED, f"gridpg cannot run {row[3]} through the loopback "
                          "when it is called without its schema: pg_catalog has a function of that name",
                          hint="Call it with its schema.")
        out[int(row[0] or 0)] = name
        creates.append(create)
        drops.append(drop)
    if set(out) != set(oids):
        raise PgError(FEATURE_NOT_SUPPORTED, "gridpg cannot find a routine to run it through the loopback")
    await _ensure_block_can_create(conn, [str(row[3]) for row in rows])
    await conn.simple_query(_as_superuser(conn, session_user, role,
                                          ["SET LOCAL check_function_bodies = off", *creates]))
    return out, _as_superuser(conn, session_user, role, drops)


async def in_read_only_block(conn: BackendConnection) -> bool:
    """Whether the connection is in a read-only transaction block (no twin can be made)."""
    return conn.txn_status != b"I" and await conn.read_only()


async def _ensure_block_can_create(conn: BackendConnection, names: list[str]) -> None:
    """A twin is made inside the session's block; PostgreSQL refuses CREATE FUNCTION in a
    read-only one (PostgREST runs every GET in one): refused as gridpg's limit, not as a
    write of the client's (was 25006 'cannot execute CREATE FUNCTION')."""
    if conn.txn_status == b"I":
        return  # made in a block of its own, READ WRITE (_as_superuser)
    if await conn.read_only():
        raise PgError(FEATURE_NOT_SUPPORTED,
                      f"gridpg cannot run {', '.join(names)} in a read-only transaction: it runs a "
                      "routine that names distributed tables with their schema, sets its own "
                      "search_path or upserts into them as a temporary copy, which PostgreSQL "
                      "cannot create in a read-only transaction",
                      hint="Run it in a read-write transaction, or name the tables without their schema.")


def _as_superuser(conn: BackendConnection, session_user: str, role: str | None,
                  statements: list[str]) -> str:
    """`statements` as the superuser the connection logged in as, inside a block (the
    session's, or one of their own), the session's authorization and role put back."""
    back = [f"SET LOCAL SESSION AUTHORIZATION {quote_ident(session_user)}",
            f"SET LOCAL ROLE {'NONE' if role is None else quote_ident(role)}"]
    body = [f"SET LOCAL SESSION AUTHORIZATION {quote_ident(conn.address.user)}", *statements, *back]
    if conn.txn_status == b"I":  # (READ WRITE: gridpg's own step, also under default_transaction_read_only)
        return "; ".join(["BEGIN READ WRITE", *body, "COMMIT"])
    # (check_function_bodies back to the session's value for the rest of its block)
    keep = ("SELECT pg_catalog.set_config('gridpg.check_function_bodies', "
            "pg_catalog.current_setting('check_function_bodies'), true)")
    restore = ("SELECT pg_catalog.set_config('check_function_bodies', "
               "pg_catalog.current_setting('gridpg.check_function_bodies'), true)")
    return "; ".join([keep, *body, restore])


def twin_ddl(row: tuple[Any, ...], schemas: dict[str, str],
             redirect: frozenset[tuple[str, str]] = frozenset(),
             targets: TargetColumns | None = None,
             callees: dict[str, str] | None = None) -> tuple[str, str, str]:
    """(the twin's name, the statements that make it, the one that drops it). `row`: one
    of _TWIN_SQL's; `redirect`: the (schema, table) names the body gives with their schema,
    which the twin names in the table's shadow schema; `targets`: the distributed tables
    whose upserts in a PL/pgSQL body the coordinator runs (sql/plpgsql_upsert.py)."""
    _, kind, definition, qualified, ident, args, owner, default_acl, grantees, _, path = row[:11]
    if targets is not None and "\n LANGUAGE plpgsql\n" in (definition or ""):
        definition = _rewrite_upserts(definition, targets)
    elif targets is not None and "\n LANGUAGE sql\n" in (definition or ""):
        definition = _rewrite_upserts(definition, targets, sql_body=True)
    what = "PROCEDURE" if kind == "p" else "FUNCTION"
    twin = f"pg_temp.{ident}"
    head = f"CREATE OR REPLACE {what} {qualified}("
    if not (definition or "").startswith(head):
        raise PgError(FEATURE_NOT_SUPPORTED, f"gridpg cannot read the definition of {qualified}")
    shadowed: list[str] = []
    for element in path_elements(path or ""):
        if element in schemas and not element.startswith(("pg_", "$")):
            shadowed.append(f"{SHADOW_PREFIX}{schemas[element]}")
        shadowed.append(element)
    lines = string_body((f"CREATE {what} {twin}(" + definition[len(head):]).split("\n"))
    body_at = next((i for i, line in enumerate(lines) if line.startswith(("AS ", "BEGIN ATOMIC"))), len(lines))
    # (the sequence functions' schema first, as on the armed session path)
    new_path = " SET search_path TO " + ", ".join(quote_literal(e) for e in calls_path(shadowed))
    lines = [new_path if i < body_at and line.startswith(" SET search_path TO ") else line
             for i, line in enumerate(lines)]
    text = "\n".join(lines)
    if "\n LANGUAGE plpgsql\n" in text:  # (before the names are read again: constant texts too)
        text = _redirect_dynamic(text)
    if redirect:
        text = _redirect_body(text, {k: f"{SHADOW_PREFIX}{schemas[k[0]]}" for k in redirect if k[0] in schemas})
        language = "plpgsql" if "\n LANGUAGE plpgsql\n" in text else "sql" if "\n LANGUAGE sql\n" in text else None
        if language is not None:
            refuse_missed_names(qualified_relations(text, language), redirect)
    if callees:
        text = _redirect_calls(text, callees)
    lines = text.split("\n")
    signature = f"{twin}({args})"
    statements = ["\n".join(lines).rstrip("\n"), f"ALTER {what} {signature} OWNER TO {quote_ident(owner or '')}"]
    if default_acl != "t":  # (a text column: 't' or 'f')
        statements.append(f"REVOKE ALL ON {what} {signature} FROM PUBLIC")
        if grantees:
            statements.append(f"GRANT EXECUTE ON {what} {signature} TO {grantees}")
    return twin, "; ".join(statements), f"DROP {what} {signature}"


def string_body(lines: list[str]) -> list[str]:
    """A pg_get_functiondef text (its lines) whose SQL-standard body (`BEGIN ATOMIC ...
    END`, `RETURN expr`) becomes a dollar-quoted string body doing the same: PostgreSQL
    binds a standard body's names when the routine is created (in a twin, to the catalog
    server's empty copies), and reads a string body's when it runs (the shadows on the
    path, or named by `_redirect_body`). Other definitions come back as they are."""
    at = next((i for i, line in enumerate(lines) if line.startswith(("AS ", "BEGIN ATOMIC", "RETURN "))), None)
    if at is None or lines[at].startswith("AS "):
        return lines
    if lines[at].startswith("RETURN "):
        body = "SELECT " + "\n".join(lines[at:]).rstrip("\n")[len("RETURN "):]
    else:
        end = max((i for i, line in enumerate(lines) if line == "END"), default=-1)
        if end <= at:
            raise PgError(FEATURE_NOT_SUPPORTED, "gridpg cannot read a BEGIN ATOMIC body")
        body = "\n".join(lines[at + 1:end])
    tag = "$gp_body$"
    n = 0
    while tag in body:
        n += 1
        tag = f"$gp_body{n}$"
    return [*lines[:at], f"AS {tag}", body, tag]


def _redirect_body(definition: str, shadows: dict[tuple[str, str], str]) -> str:
    """The definition with each `schema.table` of `shadows` in its body (the dollar-quoted
    text after `AS`) naming the table's shadow schema instead. The body is read with
    PostgreSQL's scanner (PL/pgSQL uses the same one): strings, quoted identifiers and
    nested dollar-quoted text are single tokens, left alone; a name followed or preceded
    by `.` (a column, a longer name) is not a table's. A function of the same name would
    be named in the shadow schema too and not be found there (an error, never another
    answer); anything the rewriting misses reaches the catalog server's copy, which the
    call is watched for (`run_call(guarded=True)`): an error too."""
    match = re.search(r"^AS (\$[A-Za-z_0-9]*\$)", definition, re.MULTILINE)
    if match is None:
        raise PgError(FEATURE_NOT_SUPPORTED, "gridpg cannot read the body of a routine naming "
                      "distributed tables with their schema")
    start = match.end()
    end = definition.rindex(match.group(1))
    return definition[:start] + redirect_names(definition[start:end], shadows) + definition[end:]


def _redirect_dynamic(definition: str) -> str:
    """The definition with its dynamic statements' texts asking the coordinator for the
    shadows of the tables they name with their schema (sql/plpgsql_dynamic.py)."""
    match = re.search(r"^AS (\$[A-Za-z_0-9]*\$)", definition, re.MULTILINE)
    if match is None:
        return definition
    start = match.end()
    end = definition.rindex(match.group(1))
    body = plpgsql_dynamic.wrap_body(definition, definition[start:end])
    return definition[:start] + body + definition[end:]


def _redirect_calls(definition: str, callees: dict[str, str]) -> str:
    """The definition with each call in its body of a routine that runs as a twin (by its
    name as `quote_ident` writes it, with or without a schema) naming the twin in pg_temp,
    which PostgreSQL never searches for functions by itself. Read with the scanner: strings
    and quoted text are single tokens; only a name followed by `(` is a call."""
    match = re.search(r"^AS (\$[A-Za-z_0-9]*\$)", definition, re.MULTILINE)
    if match is None:
        return definition
    start = match.end()
    end = definition.rindex(match.group(1))
    body = definition[start:end]
    tokens = sqlparse.tokens(body)
    wanted = {_ident(k): v for k, v in callees.items()}
    cuts: list[tuple[int, int, str]] = []
    for i, token in enumerate(tokens[:-1]):
        if body[tokens[i + 1].start:tokens[i + 1].end + 1] != "(":
            continue
        name = _ident(body[token.start:token.end + 1])
        if name not in wanted:
            continue
        first = token.start
        if i >= 2 and body[tokens[i - 1].start:tokens[i - 1].end + 1] == ".":
            first = tokens[i - 2].start  # (schema.name: the schema goes too)
        elif i >= 1 and body[tokens[i - 1].start:tokens[i - 1].end + 1] == ".":
            continue
        cuts.append((first, token.end + 1, wanted[name]))
    for cut_start, cut_end, text in sorted(cuts, reverse=True):
        body = body[:cut_start] + text + body[cut_end:]
    return definition[:start] + body + definition[end:]


def redirect_names(text: str, shadows: dict[tuple[str, str], str]) -> str:
    """`text` with each `schema.table` of `shadows` naming that shadow schema instead, read
    with PostgreSQL's scanner (a body, or a client's statement run whole on the catalog
    server), also as the first two parts of a column `schema.table.column`; a name that
    follows a `.` (a longer name) is left alone."""
    tokens = sqlparse.tokens(text)
    cuts: list[tuple[int, int, str]] = []
    for i in range(len(tokens) - 2):
        first, dot, second = tokens[i], tokens[i + 1], tokens[i + 2]
        if text[dot.start:dot.end + 1] != "." or (i > 0 and text[tokens[i - 1].start:tokens[i - 1].end + 1] == "."):
            continue
        key = (_ident(text[first.start:first.end + 1]), _ident(text[second.start:second.end + 1]))
        if key in shadows:  # (`INSERT INTO app.t (cols)`: a table too)
            cuts.append((first.start, first.end + 1, quote_ident(shadows[key])))
    for cut_start, cut_end, name in sorted(cuts, reverse=True):
        text = text[:cut_start] + name + text[cut_end:]
    return text


async def redirect_statement(conn: BackendConnection, sql: str, tables: Iterable[tuple[str, str]]) -> str:
    """A client's statement run whole on the catalog server with the loopback armed, its
    `schema.table` names of `tables` (distributed tables and views over them) naming the
    tables' shadow schemas (the search path only catches unqualified names)."""
    schemas = {name: oid for name, oid in await conn.query(_SCHEMAS_SQL)}
    shadows = {k: f"{SHADOW_PREFIX}{schemas[k[0]]}" for k in tables if k[0] in schemas}
    if sqlparse.node_type(sqlparse.parse_tree(sql)) == "DoStmt":
        return _redirect_do_body(sql, shadows)
    return redirect_names(sql, shadows)


def _redirect_do_body(sql: str, shadows: dict[tuple[str, str], str]) -> str:
    """A DO block with the names of its body redirected (migrations backfill
    `auth.identities` so), made again from its parsed body, so any quoting of the body
    (dollar, '...', E'...' with escapes) reads the same; the body's text is kept as it is,
    so the lines of PL/pgSQL's error context hold."""
    args = sqlparse.do_arguments(sqlparse.parse_tree(sql)["DoStmt"])
    body = redirect_names(args.get("as", ""), shadows)
    if args.get("language", "plpgsql").lower() == "plpgsql":
        body = plpgsql_dynamic.wrap_body(do_block_function(body), body)
    tag = "$gp_do$"
    while tag in body:
        tag = tag[:-1] + "x$"
    language = f"LANGUAGE {quote_ident(args['language'])} " if "language" in args else ""
    out = f"DO {language}{tag}{body}{tag}"
    refuse_missed_names(qualified_relations(out, "do"), shadows)
    return out


def dynamic_do(sql: str) -> str | None:
    """A DO block whose PL/pgSQL body runs dynamic statements, made again (as
    `_redirect_do_body` makes it) with their texts asking the coordinator for shadows
    (sql/plpgsql_dynamic.py); None for any other statement or body."""
    tree = sqlparse.parse_tree(sql)
    if sqlparse.node_type(tree) != "DoStmt":
        return None
    args = sqlparse.do_arguments(tree["DoStmt"])
    if args.get("language", "plpgsql").lower() != "plpgsql":
        return None
    body = args.get("as", "")
    wrapped = plpgsql_dynamic.wrap_body(do_block_function(body), body)
    if wrapped == body:
        return None
    tag = "$gp_do$"
    while tag in wrapped:
        tag = tag[:-1] + "x$"
    return f"DO LANGUAGE plpgsql {tag}{wrapped}{tag}"


def refuse_missed_names(named: set[tuple[str, str]], redirected: Iterable[tuple[str, str]]) -> None:
    """Rewritten code read again (planner/routines.qualified_relations): a distributed table
    it still names with its schema, in a spelling the rewriting did not match (`U&"..."`,
    an E'' string), would be the catalog server's empty copy: refused (0A000) rather than
    left to the call's watch, which a CALL or DO that commits does not have."""
    left = named & set(redirected)
    if left:
        schema, name = min(left)
        raise PgError(FEATURE_NOT_SUPPORTED, f"gridpg cannot run code naming {schema}.{name} that way "
                      "through the loopback", hint="Name the table without its schema.")


def _rewrite_upserts(definition: str, targets: TargetColumns, sql_body: bool = False) -> str:
    """A PL/pgSQL (or, `sql_body`, SQL) definition with its body's upserts into distributed
    tables rewritten."""
    match = re.search(r"^AS (\$[A-Za-z_0-9]*\$)", definition, re.MULTILINE)
    if match is None:
        return definition
    start = match.end()
    end = definition.rindex(match.group(1))
    rewrite = plpgsql_upsert.rewrite_sql_body if sql_body else plpgsql_upsert.rewrite_body
    body = rewrite(definition, definition[start:end], targets)
    return definition[:start] + body + definition[end:]


def _ident(token: str) -> str:
    """A name as written: quoted kept exact, unquoted folded to lower case."""
    if token.startswith('"') and token.endswith('"') and len(token) > 1:
        return token[1:-1].replace('""', '"')
    return token.lower()


def path_elements(value: str) -> list[str]:
    """The schema names of a stored search_path value (`"App X", app, pg_temp`)."""
    out: list[str] = []
    current = ""
    quoted = False
    i = 0
    while i < len(value):
        char = value[i]
        if char == '"':
            if quoted and value[i + 1:i + 2] == '"':
                current += '"'
                i += 1
            else:
                quoted = not quoted
        elif char == "," and not quoted:
            out.append(current.strip())
            current = ""
        elif quoted or not char.isspace():
            current += char
        i += 1
    if current.strip():
        out.append(current.strip())
    return [e for e in out if e]


def rewrite_calls(sql: str, targets: dict[tuple[str | None, str], str]) -> str:
    """`sql` with each call of a (schema or None, name) of `targets` naming that twin
    instead: the name's tokens (qualified or not, quoted or not, comments between) are
    cut at the scanner's offsets, up to the call's parenthesis."""
    tree = sqlparse.parse_tree(sql)
    spans: list[tuple[int, int, str]] = []
    tokens = sqlparse.tokens(sql)
    for call in _func_calls(tree):
        names = [n.get("String", {}).get("sval", "") for n in call.get("funcname", [])]
        key = (None, names[0]) if len(names) == 1 else (names[0], names[1]) if len(names) == 2 else None
        if key not in targets:
            continue
        start = int(call.get("location", -1))
        paren = next((t for t in tokens if t.start >= start and sql[t.start:t.end + 1] == "("), None)
        if start < 0 or paren is None:
            raise PgError(FEATURE_NOT_SUPPORTED, f"gridpg cannot find the call of {names[-1]} in the statement")
        spans.append((start, paren.start, targets[key]))
    for start, end, text in sorted(spans, reverse=True):
        sql = sql[:start] + text + sql[end:]
    return sql


def _func_calls(node: Any) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if isinstance(item.get("FuncCall"), dict):
                out.append(item["FuncCall"])
            if isinstance(item.get("funccall"), dict):
                out.append(item["funccall"])  # CALL's (a typed field: no node name around it)
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return out
