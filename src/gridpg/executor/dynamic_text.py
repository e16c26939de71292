"""The coordinator's answer to `gridpg.loopback_redirect`: dynamic SQL text of armed code.

Code the catalog server runs with the loopback armed asks, for each dynamic statement's
text (sql/plpgsql_dynamic.py wraps the expressions in its twin's body), what to run in its
place (frontend/loopback.py `_redirect`):

* each `schema.table` of a distributed table (or of a view with a shadow) names the
  table's shadow schema, as a twin's body does (`twins.redirect_names`); a distributed
  table named so whose shadow is not made yet (its schema off the session's path) gets it;
* a MERGE into a distributed table, or an `INSERT ... ON CONFLICT` with a conflict target
  or DO UPDATE (which PostgreSQL cannot run on a foreign table, or runs without the unique
  index it infers), becomes `SELECT 1 FROM gridpg.loopback_run(<the statement>, 'perform')`:
  the coordinator runs it as the client's (sql/plpgsql_upsert.py does so for static ones),
  one row per row written (EXECUTE's ROW_COUNT). Its `$n` parameters (EXECUTE ... USING)
  are put in as typed literals by `format()` on the catalog server when it runs.

Only the text is changed; what it does is gridpg's statement. This module must not run the
text itself.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from gridpg.errors import FEATURE_NOT_SUPPORTED, PgError
from gridpg.executor.loopback import SHADOW_PREFIX, ensure_shadows, note_shadow_schemas
from gridpg.sql import parse as sqlparse
from gridpg.sql.plpgsql_upsert import RUN_FUNCTION, upsert_target
from gridpg.sql.quote import quote_literal

if TYPE_CHECKING:
    from gridpg.frontend.coordinator import Coordinator

_SCHEMAS_SQL = "SELECT nspname, oid FROM pg_catalog.pg_namespace"


async def redirect(coord: Coordinator, sql: str, session_path: tuple[str, ...],
                   code_path: list[str] | None, rows: bool) -> str:
    """What the catalog server runs for the dynamic text `sql`. `session_path`: the
    caller's search_path (the coordinator resolves a taken-over statement's names with it);
    `code_path`: the schemas the code's path held when it ran the text (current_schemas);
    `rows`: the code reads the statement's rows (INTO, FOR ... IN, RETURN QUERY, OPEN)."""
    taken = await _take_over(coord, sql, session_path, code_path, rows)
    if taken is not None:
        return taken
    return await _to_shadows(coord, sql)


async def _to_shadows(coord: Coordinator, sql: str) -> str:
    from gridpg.executor.twins import _ident, redirect_names

    snapshot = coord.snapshot
    tables = {(t.schema, t.name) for t in snapshot.tables} if snapshot is not None else set()
    known = tables | set(coord.loopback_shadows)
    tokens = sqlparse.tokens(sql)
    named: set[tuple[str, str]] = set()
    for i in range(len(tokens) - 2):
        if sql[tokens[i + 1].start:tokens[i + 1].end + 1] == "." \
                and not (i > 0 and sql[tokens[i - 1].start:tokens[i - 1].end + 1] == "."):
            key = (_ident(sql[tokens[i].start:tokens[i].end + 1]),
                   _ident(sql[tokens[i + 2].start:tokens[i + 2].end + 1]))
            if key in known:
                named.add(key)
    if not named:
        return sql
    await ensure_shadows(coord, sorted(named & tables))
    schemas = await _schema_oids(coord)
    note_shadow_schemas(coord, {oid: name for name, oid in schemas.items() if name in {k[0] for k in named}})
    return redirect_names(sql, {k: f"{SHADOW_PREFIX}{schemas[k[0]]}" for k in named if k[0] in schemas})


async def _schema_oids(coord: Coordinator) -> dict[str, str]:
    conn = await coord.internal_acquire(coord.catalog_node)
    pool = coord.pools.pool(coord.catalog_node)
    try:
        rows = await conn.query(_SCHEMAS_SQL)
    except BaseException:
        pool.discard(conn)
        raise
    pool.release(conn)
    return {str(name): str(oid) for name, oid in rows}


async def _take_over(coord: Coordinator, sql: str, session_path: tuple[str, ...],
                     code_path: list[str] | None, rows: bool) -> str | None:
    """The text for a MERGE or an upsert into a distributed table, run by the coordinator;
    None for any other text."""
    try:
        statements = sqlparse.split(sql)
        tree = sqlparse.parse_tree(sql) if len(statements) == 1 else None
    except PgError:
        return None  # (PostgreSQL reports it)
    target = upsert_target(tree) if tree is not None else None
    snapshot = coord.snapshot
    if target is None or snapshot is None or coord.planner is None:
        return None
    from gridpg.planner import analyze

    ref = analyze.RelRef(target.get("schemaname"), str(target.get("relname") or ""), -1, None)
    if coord.planner.resolve(snapshot, ref, list(session_path)) is None:
        return None
    kind = sqlparse.node_type(tree)
    if rows or tree[kind].get("returningClause") or tree[kind].get("returningList"):  # (PostgreSQL 18's, 17's)
        # (its rows would be the takeover's, one per row written: refused, never another answer)
        raise PgError(FEATURE_NOT_SUPPORTED, "gridpg cannot run a dynamic MERGE or INSERT ... ON CONFLICT "
                      "into a distributed table in server-side code whose rows the code reads "
                      "(RETURNING, INTO, FOR ... IN EXECUTE, RETURN QUERY EXECUTE)",
                      hint="Run it without RETURNING, and read the rows after.")
    if not _same_schemas(code_path, session_path, set(await _schema_oids(coord))):
        raise PgError(FEATURE_NOT_SUPPORTED, "gridpg cannot run a dynamic MERGE or INSERT ... ON CONFLICT "
                      "into a distributed table in server-side code that runs with a search_path "
                      "other than the session's", hint="Name its tables with their schema.")
    return _bound_run(sql)


def _same_schemas(code_path: list[str] | None, session_path: tuple[str, ...], existing: set[str]) -> bool:
    """Whether the code ran the text under the session's own path: its schemas (less the
    shadow schemas) are the session's that exist, in the same order."""
    if code_path is None:
        return False
    code = [s for s in code_path if not s.startswith((SHADOW_PREFIX, "pg_temp")) and s != "pg_catalog"]
    session = [s for s in session_path if s in existing and s != "pg_catalog" and not s.startswith("pg_temp")]
    return code == session


def _bound_run(sql: str) -> str:
    """`SELECT 1 FROM gridpg.loopback_run(format(<sql, $n as %n$s>, <$n as a typed literal>...),
    'perform')`: the parameters put in by the catalog server as it runs the text."""
    tokens = sqlparse.tokens(sql)
    cuts: list[tuple[int, int, int]] = []
    for token in tokens:
        if token.name == "PARAM":
            cuts.append((token.start, token.end + 1, int(sql[token.start + 1:token.end + 1])))
    pieces: list[str] = []
    at = 0
    for start, end, number in cuts:
        pieces.append(sql[at:start].replace("%", "%%"))
        pieces.append(f"%{number}$s")
        at = end
    pieces.append(sql[at:].replace("%", "%%"))
    if not cuts:
        text = quote_literal(sql)
    else:
        count = max(number for _, _, number in cuts)
        args = ", ".join(f"pg_catalog.format('%L::%s', ${n}, pg_catalog.pg_typeof(${n}))"
                         for n in range(1, count + 1))
        text = f"pg_catalog.format({quote_literal(''.join(pieces))}, {args})"
    return f"SELECT 1 FROM {RUN_FUNCTION}({text}, {quote_literal('perform')})"

