"""Twins: routines with their own `SET search_path`, run through the loopback.

The loopback's shadows are found by the search path (executor/loopback.py): the armed
statement runs with each schema's shadow schema just before it. A routine declared with
`SET search_path = app, public` replaces that path on entry, for its whole execution, so
its names would reach the catalog server's empty copies. Such a routine, when the client's
statement calls it (the guard, executor/routines.py and planner/call_shape.py, proves it
is called there and nowhere else in the code), runs as its **twin**: the same definition
(`pg_get_functiondef`), with the shadow schemas put on its own path, in a shadow schema
`gridpg_lbf_<schema oid>` of the catalog server, owned by the routine's owner (SECURITY
DEFINER keeps its meaning) and executable by exactly the roles that may execute the
routine; the statement's call is rewritten to it (`rewrite_calls`). Twins are made like
shadows (one DDL transaction each under the shadows' advisory lock, checked once per
catalog epoch against a hash of their text, members of the extension so pg_dump leaves
them out).

This module must not run client statements; it only prepares the catalog server.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any

from gridpg.errors import FEATURE_NOT_SUPPORTED, PgError
from gridpg.executor.loopback import SHADOW_PREFIX, _schema_sql
from gridpg.sql import parse as sqlparse
from gridpg.sql.quote import quote_ident, quote_literal

if TYPE_CHECKING:
    from gridpg.frontend.coordinator import Coordinator

TWIN_PREFIX = "gridpg_lbf_"

_TWIN_SQL = """
SELECT p.oid, n.oid, p.prokind, pg_catalog.pg_get_functiondef(p.oid),
       pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(p.proname),
       pg_catalog.quote_ident(p.proname), pg_catalog.pg_get_function_identity_arguments(p.oid),
       pg_catalog.pg_get_userbyid(p.proowner), p.proacl IS NULL,
       (SELECT string_agg(CASE WHEN a.grantee = 0 THEN 'PUBLIC'
                               ELSE pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(a.grantee)) END, ', ')
          FROM pg_catalog.aclexplode(p.proacl) a WHERE a.privilege_type = 'EXECUTE'),
       (SELECT pg_catalog.obj_description(t.oid, 'pg_proc') FROM pg_catalog.pg_proc t
         JOIN pg_catalog.pg_namespace tn ON tn.oid = t.pronamespace
        WHERE tn.nspname = '{prefix}' || n.oid::text AND t.proname = p.proname
          AND pg_catalog.pg_get_function_identity_arguments(t.oid)
              = pg_catalog.pg_get_function_identity_arguments(p.oid)),
       (SELECT substr(s, 13) FROM unnest(p.proconfig) s WHERE s LIKE 'search_path=%')
FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
WHERE p.oid IN ({oids})"""

_SCHEMAS_SQL = "SELECT nspname, oid FROM pg_catalog.pg_namespace"


async def ensure_twins(coord: Coordinator, oids: list[int]) -> dict[int, str]:
    """The twin of each routine (its qualified name as SQL text), made or re-made when its
    definition, owner, privileges or path changed (checked once per catalog epoch)."""
    epoch = coord.snapshot.epoch if coord.snapshot is not None else 0
    cache: dict[int, tuple[int, str]] = coord.__dict__.setdefault("loopback_twins", {})
    out = {o: cache[o][1] for o in oids if o in cache and cache[o][0] == epoch}
    wanted = [o for o in oids if o not in out]
    if not wanted:
        return out
    conn = await coord.internal_acquire(coord.catalog_node)
    pool = coord.pools.pool(coord.catalog_node)
    try:
        rows = await conn.query(_TWIN_SQL.format(prefix=TWIN_PREFIX, oids=", ".join(str(int(o)) for o in wanted)))
        schemas = {name: oid for name, oid in await conn.query(_SCHEMAS_SQL)}
        for row in rows:
            name, ddl = twin_ddl(row, schemas)
            if ddl:
                await conn.simple_query(ddl)
            out[int(row[0] or 0)] = name
    except BaseException:
        pool.discard(conn)
        raise
    pool.release(conn)
    for oid in wanted:
        if oid not in out:
            raise PgError(FEATURE_NOT_SUPPORTED, f"gridpg cannot find routine {oid} to run it through the loopback")
        cache[oid] = (epoch, out[oid])
    return out


def twin_ddl(row: tuple[Any, ...], schemas: dict[str, str]) -> tuple[str, str]:
    """(the twin's qualified name, the DDL transaction that makes it, with the shadow
    schemas its path names, or '' when it is current). `row`: one of _TWIN_SQL's."""
    _, schema_oid, kind, definition, qualified, ident, args, owner, default_acl, grantees, comment, path = row
    what = "PROCEDURE" if kind == "p" else "FUNCTION"
    twin_schema = quote_ident(f"{TWIN_PREFIX}{schema_oid}")
    twin = f"{twin_schema}.{ident}"
    head = f"CREATE OR REPLACE {what} {qualified}("
    if not (definition or "").startswith(head):
        raise PgError(FEATURE_NOT_SUPPORTED, f"gridpg cannot read the definition of {qualified}")
    elements = path_elements(path or "")
    shadowed: list[str] = []
    needed: list[str] = []
    for element in elements:
        if element in schemas and not element.startswith(("pg_", "$")):
            shadow = f"{SHADOW_PREFIX}{schemas[element]}"
            shadowed.append(shadow)
            needed.append(shadow)
        shadowed.append(element)
    lines = (f"CREATE {what} {twin}(" + definition[len(head):]).split("\n")
    body_at = next((i for i, line in enumerate(lines) if line.startswith(("AS ", "BEGIN ATOMIC"))), len(lines))
    new_path = " SET search_path TO " + ", ".join(quote_literal(e) for e in shadowed)
    lines = [new_path if i < body_at and line.startswith(" SET search_path TO ") else line
             for i, line in enumerate(lines)]
    signature = f"{twin}({args})"
    grants = []
    if not default_acl:
        grants.append(f"REVOKE ALL ON {what} {signature} FROM PUBLIC")
        if grantees:
            grants.append(f"GRANT EXECUTE ON {what} {signature} TO {grantees}")
    create = "\n".join(lines)
    digest = hashlib.sha256("\0".join([create, owner or "", *grants]).encode()).hexdigest()[:32]
    if comment == f"gridpg twin {digest}":
        return twin, ""
    ext = "ALTER EXTENSION postgres_fdw"
    drop = []
    if comment is not None:
        unlink = quote_literal(f"{ext} DROP {what} {signature}")
        drop = [f"DO $gridpg$ BEGIN BEGIN EXECUTE {unlink}; EXCEPTION WHEN OTHERS THEN NULL; END; END $gridpg$",
                f"DROP {what} {signature}"]
    ddl = "; ".join([
        "BEGIN", "SET LOCAL lock_timeout = '5s'", "SELECT pg_catalog.pg_advisory_xact_lock(7340211)",
        "SET LOCAL check_function_bodies = off", _schema_sql(f"{TWIN_PREFIX}{schema_oid}"),
        *(_schema_sql(name) for name in needed),
        *drop, create, f"ALTER {what} {signature} OWNER TO {quote_ident(owner or '')}", *grants,
        f"{ext} ADD {what} {signature}",
        f"COMMENT ON {what} {signature} IS {quote_literal('gridpg twin ' + digest)}", "COMMIT",
    ])
    return twin, ddl


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
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return out
