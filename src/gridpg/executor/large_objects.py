"""Large objects: one home for the cluster's, whichever coordinator a client uses.

PostgreSQL keeps large objects in `pg_largeobject` of the server that runs `lo_create`,
`lo_import`, `lo_put`: a catalog-only statement ran on the coordinator's own catalog
server, so a large object written through one coordinator did not exist through the
other (42704), and `lo_create(n)` through the other made a second object of the same
OID with contents of its own: the cluster answered with the object of whichever
coordinator the client reached.

Here every statement that names a large-object function or catalog, and the statements
on large objects (`ALTER`, `GRANT`/`REVOKE`, `COMMENT`, `SECURITY LABEL ... ON LARGE
OBJECT`), runs on one catalog server, the home: the first catalog server by name, the
same for every coordinator. It runs there inside the session's transaction (a block
that also wrote elsewhere commits by 2PC). `INSERT INTO t VALUES (..., lo_import(...))`
(the manual's example) has each VALUES item that calls them computed at the home first,
in the session's transaction, and the value written in its place (the VALUES path
computes rows in a side transaction it rolls back: the object was made and undone, the
row kept its OID); `INSERT ... SELECT <items>` without FROM (or any other clause) is that
VALUES row (`bare_select_as_values`, largeobject.sql:36). Another statement over distributed tables that calls large-object
functions is refused (0A000): its rows are on the datanodes, which hold no large objects. The fastpath function-call protocol (libpq's lo_* client
functions, psql's `\\lo_import`, pgjdbc's LargeObjectManager) is run as the SQL call of
the function (frontend/fastpath.py), so its calls come here like any other.
"""

from __future__ import annotations

from itertools import pairwise
from typing import TYPE_CHECKING

from gridpg.errors import FEATURE_NOT_SUPPORTED, PgError
from gridpg.planner import plan as plans
from gridpg.sql import parse as sqlparse

if TYPE_CHECKING:
    from gridpg.executor.dispatch import Dispatcher, ExecRequest
    from gridpg.frontend.coordinator import Coordinator
    from gridpg.planner.context import SessionView

# PostgreSQL's server-side large-object functions (be-fsstubs.c) and its two catalogs
NAMES = frozenset({
    "lo_creat", "lo_create", "lo_import", "lo_export", "lo_open", "lo_close", "loread", "lowrite",
    "lo_lseek", "lo_lseek64", "lo_tell", "lo_tell64", "lo_truncate", "lo_truncate64", "lo_unlink",
    "lo_get", "lo_put", "lo_from_bytea", "pg_largeobject", "pg_largeobject_metadata",
})
_HINTS = ("lo_", "loread", "lowrite", "large")  # (every name of NAMES holds one)


def may_touch(lowered: str) -> bool:
    """Cheap test on the lowered text: could the statement touch large objects?"""
    return any(word in lowered for word in _HINTS)


def touches(sql: str) -> bool:
    """Whether the statement names a large-object function or catalog, or is a statement
    on a large object (`... LARGE OBJECT n`), by PostgreSQL's scanner."""
    try:
        toks = sqlparse.tokens(sql)
    except PgError:
        return False
    words = [sql[t.start:t.end + 1].strip("'\"").lower() for t in toks]  # (also 'pg_largeobject'::regclass)
    return any(w in NAMES for w in words) or any(
        a == "large" and b == "object" for a, b in pairwise(words))


def home(coord: Coordinator) -> str:
    """The catalog server that holds the cluster's large objects."""
    return min([coord.catalog_node, *(a.name for a in coord.other_catalogs)])


async def run_if_large_object(dispatcher: Dispatcher, request: ExecRequest, plan: plans.Plan) -> bool:
    """Run a statement on large objects at their home (True), refuse one over distributed
    tables (0A000), or leave the statement alone (False)."""
    if not touches(request.sql):
        return False
    coord = dispatcher.coord
    node = home(coord)
    if _is_insert_values(request.sql) or bare_select_as_values(request.sql) is not None:
        return False  # its VALUES items are computed at the home first (`values_at_home`)
    if isinstance(plan, plans.CatalogPlan):
        if node == coord.catalog_node:
            return False
        await dispatcher.run_on_node(node, request, writes=True, sql=plan.sql)
        return True
    if _on_large_object(request.sql):
        await dispatcher.run_on_node(node, request, writes=True)
        return True
    raise _refusal()


def _on_large_object(sql: str) -> bool:
    """ALTER/GRANT/REVOKE/COMMENT/SECURITY LABEL on large objects."""
    try:
        tree = sqlparse.parse_tree(sql)
    except PgError:
        return False
    body = next(iter(tree.values()), None)
    if not isinstance(body, dict):
        return False
    return body.get("objtype") == "OBJECT_LARGEOBJECT" or body.get("objectType") == "OBJECT_LARGEOBJECT"


def _is_insert_values(sql: str) -> bool:
    try:
        tree = sqlparse.parse_tree(sql)
    except PgError:
        return False
    body = tree.get("InsertStmt")
    select = ((body or {}).get("selectStmt") or {}).get("SelectStmt") or {}
    return bool(select.get("valuesLists"))


# What a SELECT of one row without FROM has nothing of (its items are then VALUES items)
_ROW_CLAUSES = ("fromClause", "whereClause", "groupClause", "havingClause", "windowClause", "distinctClause",
                "sortClause", "limitCount", "limitOffset", "lockingClause", "withClause", "intoClause",
                "valuesLists", "larg", "rarg")


def bare_select_as_values(sql: str) -> str | None:
    """`INSERT INTO t [(cols)] SELECT e1, e2` (a SELECT without FROM or any other clause,
    its items unnamed, nothing after them) as `INSERT INTO t [(cols)] VALUES (e1, e2)`,
    which computes the same one row (`INSERT INTO lotest_stash_values (loid) SELECT
    lo_creat(42)`: the VALUES path computes large-object calls at their home); None for
    any other statement."""
    try:
        tree = sqlparse.parse_tree(sql)
    except PgError:
        return None
    body = tree.get("InsertStmt")
    if not isinstance(body, dict) or body.get("returningClause") or body.get("returningList") \
            or body.get("onConflictClause") or body.get("withClause"):
        return None
    select = (body.get("selectStmt") or {}).get("SelectStmt")
    if not isinstance(select, dict) or any(select.get(k) for k in _ROW_CLAUSES) \
            or select.get("op", "SETOP_NONE") != "SETOP_NONE":
        return None
    targets = [t.get("ResTarget") or {} for t in select.get("targetList") or []]
    if not targets or any(t.get("name") or t.get("indirection") for t in targets):
        return None
    first = int(targets[0].get("location", -1))
    toks = sqlparse.tokens(sql)
    at = next((i for i, t in enumerate(toks) if t.start >= first), None)
    if at is None or at == 0 or sql[toks[at - 1].start:toks[at - 1].end + 1].lower() != "select":
        return None
    last = toks[-1] if toks[-1].name != "ASCII_59" else toks[-2]  # (a comment after it is no token)
    return f"{sql[:toks[at - 1].start]}VALUES ({sql[first:last.end + 1]})"


async def values_at_home(dispatcher: Dispatcher, sql: str, spans: list[list[tuple[int, int]]]) -> str | None:
    """`sql` (parameters written in) with each VALUES item that calls a large-object
    function computed at the home, in the session's transaction, row by row as
    PostgreSQL evaluates them, and replaced by its value (a typed literal); None when no
    item calls one. Refused (0A000) when the rest of the statement still does."""
    from gridpg.planner.text import splice
    from gridpg.sql.quote import quote_literal

    items = [(s, e) for row in spans for s, e in row if touches(sql[s:e])]
    if not items:
        _ensure_untouched(sql)
        return None
    node = home(dispatcher.coord)
    txn = dispatcher.runner.txn
    conn = await txn.connection(node, wants_block=False)
    txn.mark_written(node)
    replacements = []
    for start, end in items:
        rows = await conn.query(f"SELECT v::pg_catalog.text, pg_catalog.pg_typeof(v)::pg_catalog.text "
                                f"FROM (SELECT ({sql[start:end]}) AS v OFFSET 0) AS s")
        value, type_name = rows[0] if rows else (None, "unknown")
        literal = "NULL" if value is None else quote_literal(value)
        replacements.append((start, end, f"CAST({literal} AS {type_name})"))
    out = splice(sql, replacements)
    _ensure_untouched(out)
    return out


def _ensure_untouched(sql: str) -> None:
    if touches(sql):  # (RETURNING lo_get(col): the datanodes hold no large objects)
        raise _refusal()


def _refusal() -> PgError:
    return PgError(FEATURE_NOT_SUPPORTED,
                   "large object functions in a statement over distributed tables are not supported by gridpg",
                   hint="Large objects live on one catalog server; read or write them in a statement of their own.")


def ensure_not_beside_temps(dispatcher: Dispatcher, request: ExecRequest, session: SessionView) -> None:
    """A statement over the session's temp tables runs on the session's own catalog
    server: refused (0A000) when it calls large-object functions and their home is
    another one (they would reach that server's objects, not the cluster's)."""
    from gridpg.planner import analyze, tempnames

    coord = dispatcher.coord
    if home(coord) == coord.catalog_node or not touches(request.sql):
        return
    try:
        tree = sqlparse.parse_tree(request.sql)
    except PgError:
        return
    temps = tempnames.temp_names(list(session.search_path))
    if any(tempnames.is_temp_schema(ref.schema) or (ref.schema is None and ref.name in temps)
           for ref in analyze.relations(tree)):
        raise PgError(FEATURE_NOT_SUPPORTED, "large object functions beside temporary tables are not "
                      f"supported by gridpg through this coordinator (the large objects live on {home(coord)})",
                      hint="Read or write the large objects in a statement of their own.")
