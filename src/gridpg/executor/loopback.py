"""Server-side code over distributed tables: the loopback that joins the caller's transaction.

A function, procedure or DO block runs inside the coordinator's catalog server, which
holds distributed tables empty. For a statement whose only contact with distributed tables
is through such code (`SELECT f(...)`, `CALL p(...)`, `DO ...`), the coordinator *arms* a
loopback on the session's own catalog connection before running the statement there:

* every distributed or replicated table the code reaches has a *shadow* on the catalog
  server: a postgres_fdw foreign table of the same name and columns, in a shadow schema
  `gridpg_lb_<schema oid>`, whose remote table is the real one on this coordinator;
* the statement runs with `search_path` set (SET LOCAL) so that each schema holding
  shadows is preceded by its shadow schema: the code's unqualified names reach the
  shadows, and through them the coordinator;
* `postgres_fdw.application_name` (SET LOCAL, never visible to other sessions) carries
  this worker's index and a one-time token registered for the calling session. The
  loopback connection logs in with the cluster's internal secret (the user mapping's
  password, readable only by superusers of the catalog server) and presents the token;
  the coordinator runs its statements on the caller's `DistributedTransaction`
  (frontend/loopback.py): same datanode connections, snapshot rules, uncommitted writes,
  savepoints, and the caller's COMMIT or ROLLBACK decides for both.

The token lives as long as the caller's transaction; the armed settings are put back after
the statement (an error leaves them to the transaction's or savepoint's rollback).
What cannot be reached this way is refused by `executor/routines.py` (0A000).
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from gridpg.catalog import store
from gridpg.errors import FEATURE_NOT_SUPPORTED, PgError
from gridpg.executor.code_ddl import CODE_DDL_SQL
from gridpg.planner import lazy_initplans
from gridpg.sql import shadow_only
from gridpg.sql.quote import quote_ident, quote_literal

if TYPE_CHECKING:
    from gridpg.datanode.connection import BackendConnection
    from gridpg.executor.dispatch import Dispatcher, ExecRequest
    from gridpg.frontend.coordinator import Coordinator
    from gridpg.frontend.statements import StatementRunner

SERVER = "gridpg_loopback"
SHADOW_PREFIX = "gridpg_lb_"
APP_PREFIX = "gridpg-lb:"

# The schema of the loopback's sequence functions (`SEQUENCE_CALLS`): first on every armed
# path, so that the code's nextval('s') means gridpg_lb_calls.nextval, the GTM's sequence.
CALLS_SCHEMA = f"{SHADOW_PREFIX}calls"

# The shadowed search path: each schema of the current one that has a shadow schema is
# preceded by it (pg_temp and pg_catalog stay where the user put them), the sequence
# functions' schema first; pg_catalog, searched first when the path does not name it
# (so before gridpg_lb_calls), is then named right after it.
_PATH_FUNCTION = f"""
CREATE OR REPLACE FUNCTION gridpg.loopback_path() RETURNS text LANGUAGE sql STABLE AS $$
  SELECT pg_catalog.concat_ws(', ', '{CALLS_SCHEMA}',
    CASE WHEN 'pg_catalog' = ANY (pg_catalog.current_schemas(false)) THEN NULL ELSE 'pg_catalog' END,
    (SELECT string_agg(CASE WHEN s.nspname IS NULL THEN quote_ident(c.name)
                            ELSE quote_ident(s.nspname) || ', ' || quote_ident(c.name) END,
                       ', ' ORDER BY c.ord)
     FROM unnest(pg_catalog.current_schemas(false)) WITH ORDINALITY AS c(name, ord)
     LEFT JOIN pg_catalog.pg_namespace n ON n.nspname = c.name
     LEFT JOIN pg_catalog.pg_namespace s ON s.nspname = '{SHADOW_PREFIX}' || n.oid::text))
$$"""


def calls_path(path: tuple[str, ...] | list[str]) -> list[str]:
    """A routine's own (shadowed) search path armed as `loopback_path()` arms a session's:
    the sequence functions' schema first, pg_catalog after it unless the path names it."""
    return [CALLS_SCHEMA, *([] if "pg_catalog" in path else ["pg_catalog"]), *path]


def setup_sql(host: str, port: int, user: str, password: str, database: str) -> list[str]:
    """What a catalog server needs for the loopback (run at every coordinator start, with
    this coordinator's address). The server and the shadows are members of the extension,
    so pg_dump (plain or `gridpg dump`) leaves them out, the mapping's password included."""
    host = "127.0.0.1" if host in ("", "0.0.0.0", "*", "::") else host
    options = {"host": host, "port": str(port), "dbname": database,
               "keep_connections": "on", "fetch_size": "10000"}
    create = ", ".join(f"{k} {quote_literal(v)}" for k, v in options.items())
    alter = ", ".join(f"SET {k} {quote_literal(v)}" for k, v in options.items())
    mapping = {"user": user, "password": password, "password_required": "false"}
    create_mapping = ", ".join(f"{k} {quote_literal(v)}" for k, v in mapping.items())
    alter_mapping = ", ".join(f"SET {k} {quote_literal(v)}" for k, v in mapping.items())
    server = f"""
DO $gridpg$ BEGIN
  IF EXISTS (SELECT 1 FROM pg_catalog.pg_foreign_server WHERE srvname = '{SERVER}') THEN
    EXECUTE {quote_literal(f"ALTER SERVER {SERVER} OPTIONS ({alter})")};
    EXECUTE {quote_literal(f"ALTER USER MAPPING FOR PUBLIC SERVER {SERVER} OPTIONS ({alter_mapping})")};
  ELSE
    EXECUTE {quote_literal(f"CREATE SERVER {SERVER} FOREIGN DATA WRAPPER postgres_fdw OPTIONS ({create})")};
    EXECUTE {quote_literal(f"CREATE USER MAPPING FOR PUBLIC SERVER {SERVER} OPTIONS ({create_mapping})")};
    ALTER EXTENSION postgres_fdw ADD SERVER {SERVER};
  END IF;
END $gridpg$"""
    return ["CREATE EXTENSION IF NOT EXISTS postgres_fdw SCHEMA gridpg", server,
            _PATH_FUNCTION, NO_DEFAULT_FUNCTION, RUN_FUNCTION, REDIRECT_FUNCTION, SEQUENCE_CALLS,
            "GRANT EXECUTE ON FUNCTION gridpg.loopback_path() TO PUBLIC",
            _TOUCHED_FUNCTION, "GRANT EXECUTE ON FUNCTION gridpg.loopback_touched() TO PUBLIC",  # its own backend only
            *CODE_DDL_SQL, RETIRE_LOOPBACK_NEXTVAL]  # (after the guard that lets its DDL be)


# Dynamic SQL (text made at run time) cannot be read before it runs. Such calls are
# watched instead: `loopback_touched()` fingerprints what this backend's transaction did
# to the catalog server's own copies of distributed tables (scans, index scans, rows
# written, a new file from TRUNCATE, relation locks); it is taken before and after the
# call, and any change fails the statement. Row statistics and locks are read without
# taking locks themselves. DDL the code runs is stopped by the event triggers of
# executor/code_ddl.py, which run it as distributed DDL instead.
_TOUCHED_FUNCTION = """
CREATE OR REPLACE FUNCTION gridpg.loopback_touched() RETURNS TABLE (rel text, touched text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
  WITH RECURSIVE rels(oid) AS (
    SELECT c.oid FROM gridpg.dist_table d
      JOIN pg_namespace n ON n.nspname = d.schema_name
      JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = d.table_name
    UNION
    SELECT i.inhrelid FROM pg_inherits i JOIN rels r ON i.inhparent = r.oid),
  locks AS MATERIALIZED (
    SELECT l.relation, string_agg(l.mode, ',' ORDER BY l.mode) AS modes FROM pg_locks l
     WHERE l.pid = pg_backend_pid() AND l.locktype = 'relation' GROUP BY l.relation)
  SELECT r.oid::regclass::text,
         concat_ws(':', pg_stat_get_xact_numscans(r.oid),
                   (SELECT sum(pg_stat_get_xact_numscans(x.indexrelid)) FROM pg_index x
                     WHERE x.indrelid = r.oid),
                   pg_stat_get_xact_tuples_inserted(r.oid), pg_stat_get_xact_tuples_updated(r.oid),
                   pg_stat_get_xact_tuples_deleted(r.oid), pg_relation_filenode(r.oid), k.modes)
  FROM rels r LEFT JOIN locks k ON k.relation = r.oid
$$"""

class LoopbackTokens:
    """Per coordinator worker: which session a loopback token belongs to, and which session
    has armed the loopback on each catalog backend (by its pid).

    A catalog backend keeps its postgres_fdw connection from one transaction to the next
    (the server's `keep_connections`): connecting anew for every call (a login, the
    password, a session set up, postgres_fdw's settings) cost more than the call's own
    statements. The first connection presents a token, which proves it comes from a backend
    a session has armed; its application_name also names that backend's pid (postgres_fdw's
    `%p`). At each later transaction the connection serves the session that has armed that
    same backend then (`armed_on`), or none: only that backend can send on it, and a backend
    serves one session at a time."""

    def __init__(self) -> None:
        self._by_token: dict[str, StatementRunner] = {}
        self._by_pid: dict[int, StatementRunner] = {}

    def token_for(self, runner: StatementRunner) -> str:
        token = getattr(runner, "loopback_token", None)
        if token is None:
            token = secrets.token_hex(16)
            runner.loopback_token = token
            self._by_token[token] = runner
        return token

    def tag(self, runner: StatementRunner, conn: BackendConnection, worker: int) -> str:
        """The postgres_fdw application_name arming `conn` for `runner`'s call."""
        token = self.token_for(runner)
        if conn.backend_pid:
            self._by_pid[conn.backend_pid] = runner
        return f"{APP_PREFIX}{worker}:{token}:%p"

    def armed_on(self, pid: int) -> StatementRunner | None:
        """The session whose call runs on catalog backend `pid` now, if any."""
        runner = self._by_pid.get(pid)
        if runner is None or runner.loopback_calls <= 0:
            return None
        token = getattr(runner, "loopback_token", None)
        return runner if token is not None and self._by_token.get(token) is runner else None

    def forget(self, runner: StatementRunner) -> None:
        token = getattr(runner, "loopback_token", None)
        if token is not None:
            self._by_token.pop(token, None)
            runner.loopback_token = None
            for pid in [pid for pid, armed in self._by_pid.items() if armed is runner]:
                del self._by_pid[pid]

    def claim(self, token: str) -> StatementRunner | None:
        return self._by_token.get(token)


def parse_application_name(name: str) -> tuple[int, str, int | None] | None:
    """(worker, token, the catalog backend's pid) of a loopback connection's
    application_name, else None."""
    if not name.startswith(APP_PREFIX):
        return None
    parts = name[len(APP_PREFIX):].split(":")
    if len(parts) not in (2, 3) or not parts[0].isdigit() or len(parts[1]) != 32:
        return None
    if len(parts) == 3 and not parts[2].isdigit():
        return None
    return int(parts[0]), parts[1], int(parts[2]) if len(parts) == 3 else None


# -- the armed call ---------------------------------------------------------------------


async def run_call(dispatcher: Dispatcher, request: ExecRequest, sql: str,
                   tables: list[tuple[str, str]], guarded: bool = False, role: str | None = None,
                   before: Callable[[BackendConnection, str], Awaitable[tuple[str, str]]] | None = None) -> None:
    """Run a catalog-server statement whose code reaches `tables` with the loopback armed,
    inside a transaction block (the caller's, or one for this statement alone). `guarded`:
    the code runs dynamic SQL; the statement fails if it reached a catalog-server copy.
    `role`: the code's statements run as that role (SECURITY DEFINER), on the datanodes too.
    `before`: run on the armed catalog connection first; gives the statement to run and SQL
    to run after it (executor/twins.py)."""
    runner = dispatcher.runner
    runner.loopback_role = role
    runner.loopback_switched = set()
    try:
        await _run_call(dispatcher, request, sql, tables, guarded, before)
    finally:
        runner.loopback_role = None


async def _run_call(dispatcher: Dispatcher, request: ExecRequest, sql: str,
                    tables: list[tuple[str, str]], guarded: bool,
                    before: Callable[[BackendConnection, str], Awaitable[tuple[str, str]]] | None) -> None:
    from gridpg.executor import multi

    runner = dispatcher.runner
    if getattr(runner, "is_loopback", False):
        raise PgError(FEATURE_NOT_SUPPORTED, "gridpg cannot run server-side code over "
                      "distributed tables from inside another such call")
    if runner.private_snapshot is not None and guarded and before is None:
        # dynamic SQL after DDL in this transaction (shadows exist for committed tables only):
        # run without the loopback, its DDL captured; what it does to rows is refused there
        from gridpg.executor import code_ddl

        await code_ddl.run_capturing(dispatcher, request)
        return
    coord = dispatcher.coord
    # After DDL in the block, the catalog server decides the block's 2PC once the code called
    # back (its postgres_fdw transaction cannot PREPARE; txn/transaction.py `_choose_decider`).
    if runner.private_snapshot is not None and not runner.txn.may_decide(coord.catalog_node):
        raise PgError(FEATURE_NOT_SUPPORTED,
                      "gridpg cannot run server-side code over distributed tables in a "
                      "transaction that changed the schema, with synchronous_commit off or "
                      "commit markers off",
                      hint="Commit the schema change first.")
    await ensure_shadows_for(runner, tables)
    await runner.sync_pending()
    changing = await coord.routine_guard.side_effect_names(dispatcher, sql) if tables else frozenset()
    if may_end_transactions(runner, sql) and not guarded:
        # (code running dynamic SQL is watched per catalog transaction: not split by COMMIT)
        await _run_committing_call(dispatcher, request, sql, before)
        return
    async with runner.statement_transaction():
        conn = await runner.txn.connection(coord.catalog_node, wants_block=True)
        tag = coord.loopback_tokens.tag(runner, conn, coord.worker)
        await conn.settle()
        after_call = ""
        if before is not None:  # (before arming: the twins' DDL is gridpg's own, not the code's)
            sql, after_call = await before(conn, sql)
        if tables:  # its conditions' sub-selects with side effects computed when a row needs
            # them, not before the shadows' scans (postgres_fdw's parameters: planner/
            # lazy_initplans.py); the routine check read the same text (RoutineGuard.before)
            sql = lazy_initplans.rewrite(sql, changing)
        rows = await conn.query(
            "SELECT o, pg_catalog.set_config('search_path', gridpg.loopback_path(), true), "
            f"pg_catalog.set_config('postgres_fdw.application_name', {quote_literal(tag)}, true) "
            "FROM (SELECT pg_catalog.current_setting('search_path') AS o) s")
        original = rows[0][0] or ""
        touched = dict(await conn.query(TOUCHED_SQL)) if guarded else {}
        mark = len(dispatcher.session.out)  # where the call's answer starts
        runner.loopback_calls += 1
        runner.txn.loopback_node = coord.catalog_node
        try:
            if request.simple:
                await dispatcher.run_on_node(coord.catalog_node, request, writes=False, sql=sql)
            else:  # (an Execute with a row limit gets the rows from the portal, in pieces)
                await multi.run_synced_in_pieces(dispatcher, coord.catalog_node, request, sql)
        except PgError as exc:
            with_schema_names(coord, exc)
            if before is not None:
                raise without_twin_names(exc) from None
            raise
        finally:
            runner.loopback_calls -= 1
            runner.loopback_call_writes = runner.txn.write_count
        await conn.settle()
        await restore_role(runner)
        if after_call:
            await conn.simple_query(after_call)
        if guarded:
            try:
                check_untouched(touched, dict(await conn.query(TOUCHED_SQL)))
            except PgError:
                _withdraw_answer(dispatcher.session.out, mark)
                raise
        await conn.simple_query(
            f"SELECT pg_catalog.set_config('search_path', {quote_literal(original)}, true), "
            "pg_catalog.set_config('postgres_fdw.application_name', '', true)")


TOUCHED_SQL = "SELECT rel, touched FROM gridpg.loopback_touched()"
_TWIN_CONTEXT = re.compile(r"\b(function) pg_temp_\d+\.")


def without_twin_names(exc: PgError) -> PgError:
    """An error of code run as twins (temporary copies, executor/twins.py) with its context
    naming the routines as the client called them: `PL/pgSQL function f(integer) line 3`,
    not the copy's `pg_temp_7.f(integer)`."""
    where = (exc.fields or {}).get("W")
    if not where or not _TWIN_CONTEXT.search(where):
        return exc
    exc.fields = {**(exc.fields or {}), "W": _TWIN_CONTEXT.sub(r"\1 ", where)}
    return exc


async def restore_role(runner: StatementRunner) -> None:
    """The caller's role again on the datanodes where SECURITY DEFINER code set its owner's
    (SET LOCAL: the caller's block goes on after the call)."""
    role = runner.state.role
    back = (f"SET LOCAL SESSION AUTHORIZATION {quote_ident(runner.state.session_user)}; "
            f"SET LOCAL ROLE {'NONE' if role is None else quote_ident(str(role))}")
    for node in sorted(runner.loopback_switched):
        part = runner.txn.participants.get(node)
        if part is not None:
            await part.conn.settle()
            await part.conn.simple_query(back)
    runner.loopback_switched = set()


def _withdraw_answer(out: list[bytes], mark: int) -> None:
    """The answer of a call refused after it ran (its rows, computed over the catalog
    server's empty copies, and its CommandComplete) taken back from the client's output,
    which holds it until the statement ends: the client sent `SELECT query_to_xml('SELECT *
    FROM s.t', ...)` got the empty table's XML as a complete result and then the error
    (psql printed both; xmlmap.sql:33). Its notices and protocol acknowledgements stay."""
    if len(out) >= mark:
        out[mark:] = [message for message in out[mark:] if message[:1] not in _ANSWER_MESSAGES]


_ANSWER_MESSAGES = (b"T", b"D", b"C")  # RowDescription, DataRow, CommandComplete


def check_untouched(before: dict, after: dict) -> None:
    """Fail when dynamic SQL reached a catalog-server copy of a distributed table (its
    statistics, file or locks changed during the call): its rows are on the datanodes."""
    for rel, state in after.items():
        if before.get(rel) != state:
            raise PgError(FEATURE_NOT_SUPPORTED,
                          f"dynamic SQL in server-side code reached distributed table {rel} "
                          "in a way gridpg cannot carry out",
                          detail="Its rows live on the datanodes; the statement was not applied.",
                          hint="Name distributed tables without their schema in dynamic SQL, "
                               "and keep the session's search_path.")


def may_end_transactions(runner: StatementRunner, sql: str) -> bool:
    """CALL or DO outside a transaction block: PostgreSQL lets the code COMMIT and ROLLBACK."""
    if runner.txn.in_block:
        return False
    from gridpg.sql import parse as sqlparse

    try:
        kind = sqlparse.node_type(sqlparse.parse_tree(sql))
    except PgError:
        return False
    return kind in ("CallStmt", "DoStmt")


async def _run_committing_call(dispatcher: Dispatcher, request: ExecRequest, sql: str,
                               before: Callable[[BackendConnection, str], Awaitable[tuple[str, str]]] | None) -> None:
    """CALL / DO outside a block, as PostgreSQL runs it: on the catalog server outside any
    block too (its settings for the loopback are session-level, put back after), so the
    code's COMMIT and ROLLBACK are allowed there. Each of them reaches the loopback as
    postgres_fdw's COMMIT / ABORT of its remote transaction, which then ends the caller's
    distributed transaction (2PC when needed) and starts the next one
    (`end_within_call`); the catalog server's commit at the end of the call ends the last."""
    from gridpg.executor import multi

    runner = dispatcher.runner
    coord = dispatcher.coord
    conn = await runner.txn.connection(coord.catalog_node, wants_block=False)  # no block: joined first
    tag = coord.loopback_tokens.tag(runner, conn, coord.worker)
    await conn.settle()
    rows = await conn.query(
        "SELECT o, pg_catalog.set_config('search_path', gridpg.loopback_path(), false), "
        f"pg_catalog.set_config('postgres_fdw.application_name', {quote_literal(tag)}, "
        "false) FROM (SELECT pg_catalog.current_setting('search_path') AS o) s")
    original = rows[0][0] or ""
    after_call = ""
    if before is not None:
        try:
            sql, after_call = await before(conn, sql)
        except BaseException:
            await _restore_settings(runner, conn, original)
            raise
    runner.txn.begin()
    runner.implicit_block = True
    runner.loopback_calls += 1
    runner.call_ends_transactions = True
    runner.txn.outside_block.add(coord.catalog_node)  # (the call runs there outside any block)
    try:
        if request.simple:
            await dispatcher.run_on_node(coord.catalog_node, request, writes=False, sql=sql)
        else:
            await multi.run_synced_in_pieces(dispatcher, coord.catalog_node, request, sql)
    except BaseException as exc:
        if isinstance(exc, PgError):
            with_schema_names(coord, exc)
        runner.txn.outside_block.discard(coord.catalog_node)
        await _restore_settings(runner, conn, original, after_call)
        runner.implicit_block = False
        await runner.end_transaction(commit=False)
        raise
    finally:
        runner.txn.outside_block.discard(coord.catalog_node)
        runner.loopback_calls -= 1
        runner.call_ends_transactions = False
    await _restore_settings(runner, conn, original, after_call)
    runner.implicit_block = False
    await runner.end_transaction(commit=True)


async def _restore_settings(runner: StatementRunner, conn: BackendConnection, original: str,
                            after_call: str = "") -> None:
    """The catalog connection's session-level settings as before the call (and `after_call`
    run); if that cannot be done, the connection is closed rather than pooled with them."""
    try:
        await conn.settle()
        if after_call:
            await conn.simple_query(after_call)
        await conn.simple_query(
            f"SELECT pg_catalog.set_config('search_path', {quote_literal(original)}, false), "
            "pg_catalog.set_config('postgres_fdw.application_name', '', false)")
    except (PgError, OSError):
        runner.txn.taint()


async def end_within_call(caller: StatementRunner, commit: bool) -> None:
    """The code of a CALL/DO run by `_run_committing_call` ran COMMIT or ROLLBACK: end the
    caller's distributed transaction on every node but the catalog server running the code,
    then open the next one (the rest of the code is its own transaction, as in PostgreSQL)."""
    txn = caller.txn
    busy = caller.coord.catalog_node
    running = txn.participants.pop(busy, None)
    try:
        if commit:
            await txn.commit()
        else:
            await txn.rollback()
    finally:
        if running is not None:
            txn.participants[busy] = running
        txn.begin()
        caller.call_transactions_ended += 1
        caller.call_commits += commit
        caller.loopback_switched = set()  # its SET LOCAL ROLEs ended with that transaction


# -- shadows ----------------------------------------------------------------------------

_COLUMNS_SQL = """
SELECT n.nspname, c.relname, n.oid, a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod),
       CASE WHEN d.oid IS NULL THEN dd.expr ELSE pg_catalog.pg_get_expr(d.adbin, d.adrelid) END,
       a.attidentity, a.attgenerated,
       -- the shadow's comment (the hash of its definition) while its columns are the table's
       -- names: a DROP ... CASCADE of a type drops the shadow's column too, and the hash
       -- alone then kept a shadow one column short once the table had it again
       (SELECT CASE WHEN (SELECT pg_catalog.array_agg(fa.attname ORDER BY fa.attnum) FROM pg_catalog.pg_attribute fa
                           WHERE fa.attrelid = f.oid AND fa.attnum > 0 AND NOT fa.attisdropped)
                         IS NOT DISTINCT FROM
                         (SELECT pg_catalog.array_agg(ca.attname ORDER BY ca.attnum) FROM pg_catalog.pg_attribute ca
                           WHERE ca.attrelid = c.oid AND ca.attnum > 0 AND NOT ca.attisdropped)
                    THEN coalesce(pg_catalog.obj_description(f.oid, 'pg_class'), '') ELSE '' END
          FROM pg_catalog.pg_class f
         JOIN pg_catalog.pg_namespace fn ON fn.oid = f.relnamespace
        WHERE fn.nspname = '{prefix}' || n.oid::text AND f.relname = c.relname),
       -- the sequence that fills the column: an identity column's own, or the one its
       -- default is exactly nextval() of (a serial's own while its default is that; a
       -- column without a default of its own takes its domain's: dd)
       COALESCE(CASE WHEN a.attidentity <> '' THEN pg_catalog.pg_get_serial_sequence(
                  pg_catalog.format('%I.%I', n.nspname, c.relname), a.attname) END,
                {nextval_default}, dd.sequence),
       -- whether the table has inheritance children, partitions aside (its shadow then
       -- reads ONLY it, and a child of the shadow the children's rows: sql/shadow_only.py)
       EXISTS (SELECT 1 FROM pg_catalog.pg_inherits i JOIN pg_catalog.pg_class k ON k.oid = i.inhrelid
                WHERE i.inhparent = c.oid AND NOT k.relispartition)
FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
LEFT JOIN pg_catalog.pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum
LEFT JOIN LATERAL ({domain_default}) dd ON d.oid IS NULL
WHERE (n.nspname, c.relname) IN ({pairs})
ORDER BY c.oid, a.attnum"""


async def ensure_shadows(coord: Coordinator, tables: list[tuple[str, str]]) -> None:
    """Create or re-create the shadows of `tables` (and views) whose columns changed since
    they were made (checked once per relation and catalog epoch in this worker)."""
    epoch = coord.snapshot.epoch if coord.snapshot is not None else 0
    wanted = [t for t in tables if coord.loopback_shadows.get(t) != epoch]
    if not wanted:
        return
    conn = await coord.internal_acquire(coord.catalog_node)
    pool = coord.pools.pool(coord.catalog_node)
    # Each collision is a shadow another session made meanwhile, at most one per table (a
    # fixed 3 attempts let one of 16 sessions starting together on 12 tables fail 42P07).
    attempts = len(wanted) + 3
    try:
        for attempt in range(attempts):
            rows = await conn.query(_columns_sql(wanted))
            try:
                for ddl in shadow_ddl(rows):
                    await conn.simple_query(ddl)
                break
            except PgError as exc:  # another worker made it meanwhile: read again
                await conn.simple_query("ROLLBACK")
                if attempt == attempts - 1 or exc.sqlstate not in ("42P07", "42P06", "23505"):
                    raise
    except BaseException:
        pool.discard(conn)
        raise
    pool.release(conn)
    for table in wanted:
        coord.loopback_shadows[table] = epoch
    note_shadow_schemas(coord, {str(row[2]): str(row[0]) for row in rows})


def _columns_sql(tables: list[tuple[str, str]]) -> str:
    """_COLUMNS_SQL for `tables` (schema, name)."""
    pairs = ", ".join(f"({quote_literal(s)}, {quote_literal(n)})" for s, n in tables)
    return _COLUMNS_SQL.format(prefix=SHADOW_PREFIX, pairs=pairs,
                               nextval_default=store.nextval_default_sequence_sql('d'),
                               domain_default=store.domain_default_sql('a.atttypid'))


async def ensure_shadows_for(runner: StatementRunner, tables: list[tuple[str, str]]) -> None:
    """The shadows of `tables` for this runner's statement: the coordinator's, shared by
    every session (`ensure_shadows`), or, after DDL in its block, made in the block."""
    if runner.private_snapshot is None:
        await ensure_shadows(runner.coord, tables)
    else:
        await ensure_shadows_in_block(runner, tables)


async def ensure_shadows_in_block(runner: StatementRunner, tables: list[tuple[str, str]]) -> None:
    """`ensure_shadows` for a block that changed the schema: the shadows its tables need
    (a table it created, a column it added) are made in the block itself, on the session's
    catalog connection, the only one that sees the block's DDL; rolled back with it, and
    committed with it as any other shadow (checked again later by their comment's hash).
    Made as the login (the superuser, as `ensure_shadows`' own connection is), the session's
    authorization and role put back after."""
    if not tables:
        return
    coord = runner.coord
    conn = await runner.txn.connection(coord.catalog_node, wants_block=True)
    await conn.settle()
    rows = await conn.query(_columns_sql(tables))
    statements = shadow_ddl(rows, in_block=True)
    if statements:
        await conn.simple_query(as_login(runner, "; ".join(statements)))
    note_shadow_schemas(coord, {str(row[2]): str(row[0]) for row in rows})


def as_login(runner: StatementRunner, sql: str) -> str:
    """`sql`, run in the session's block on its catalog connection as the login (the
    superuser gridpg's own objects are made by), the session's authorization and role put
    back after it (SET LOCAL: the block's own)."""
    role = runner.state.role
    return "; ".join([
        "SET LOCAL SESSION AUTHORIZATION DEFAULT", sql,
        f"SET LOCAL SESSION AUTHORIZATION {quote_ident(runner.state.session_user)}",
        f"SET LOCAL ROLE {'NONE' if role is None else quote_ident(str(role))}"])


def note_shadow_schemas(coord: Coordinator, names: dict[str, str]) -> None:
    """Remember which schema each shadow schema stands for (by the schema's oid), for
    `with_schema_names`."""
    coord.__dict__.setdefault("shadow_schema_names", {}).update(names)


_SHADOW_IN_CONTEXT = re.compile(SHADOW_PREFIX + r"(\d+)\.")


def with_schema_names(coord: Coordinator, error: PgError) -> PgError:
    """An error of code run with the loopback whose CONTEXT quotes a statement naming a
    shadow schema (a dynamic text or a twin's body, rewritten to reach the shadows) names
    the table's own schema there, as the code wrote it: `SQL statement "INSERT INTO
    app.audit ..."`, not `gridpg_lb_16779.audit`."""
    context = (error.fields or {}).get("W")
    names: dict[str, str] = coord.__dict__.get("shadow_schema_names", {})
    if not context or not names or error.fields is None:
        return error
    error.fields = {**error.fields, "W": _SHADOW_IN_CONTEXT.sub(
        lambda m: quote_ident(names[m.group(1)]) + "." if m.group(1) in names else m.group(0), context)}
    return error


def shadow_ddl(rows: list[tuple[str | None, ...]], in_block: bool = False) -> list[str]:
    """One transaction per shadow that is missing or differs (a hash of its definition is
    kept as the foreign table's comment). `rows`: _COLUMNS_SQL's, in column order.
    `in_block`: the statements alone, for a block already open (`ensure_shadows_in_block`)."""
    import hashlib

    by_table: dict[tuple[str, str], list[tuple[str | None, ...]]] = {}
    for row in rows:
        by_table.setdefault((row[0] or "", row[1] or ""), []).append(row)
    out = []
    for (schema, name), cols in by_table.items():
        shadow_schema = quote_ident(f"{SHADOW_PREFIX}{cols[0][2]}")
        shadow = f"{shadow_schema}.{quote_ident(name)}"
        columns = ", ".join(_column(f"{schema}.{name}", c[3:8], c[9] if len(c) > 9 else None) for c in cols)
        has_children = len(cols[0]) > 10 and cols[0][10] in (True, "t")
        remote_schema = shadow_only.ONLY_MARK + schema if has_children else schema
        create = (f"CREATE FOREIGN TABLE {shadow} ({columns}) SERVER {SERVER} OPTIONS "
                  f"(schema_name {quote_literal(remote_schema)}, table_name {quote_literal(name)})")
        digest = hashlib.sha256(create.encode()).hexdigest()[:32]
        if cols[0][8] == f"gridpg shadow {digest}":
            continue
        children_schema = f"{shadow_only.CHILDREN_SCHEMA_PREFIX}{cols[0][2]}"
        children = f"{quote_ident(children_schema)}.{quote_ident(name)}"
        drop = [_drop_shadow_sql(children, if_exists=True), _drop_shadow_sql(shadow)] if cols[0][8] is not None else []
        body = [
            _schema_sql(f"{SHADOW_PREFIX}{cols[0][2]}"), *drop, create, *_member_sql(shadow),
            f"COMMENT ON FOREIGN TABLE {shadow} IS {quote_literal('gridpg shadow ' + digest)}",
        ]
        if has_children:  # the children's rows, a child of the shadow (sql/shadow_only.py)
            body += [_schema_sql(children_schema),
                     f"CREATE FOREIGN TABLE {children} () INHERITS ({shadow}) SERVER {SERVER} OPTIONS "
                     f"(schema_name {quote_literal(shadow_only.CHILDREN_MARK + schema)}, "
                     f"table_name {quote_literal(name)})",
                     *_member_sql(children)]
        if in_block:
            out.extend(body)
            continue
        # One shadow maker at a time (the coordinator's workers share the server).
        out.append("; ".join(["BEGIN", "SET LOCAL lock_timeout = '5s'",
                              "SELECT pg_catalog.pg_advisory_xact_lock(7340211)", *body, "COMMIT"]))
    return out


def _drop_shadow_sql(shadow: str, if_exists: bool = False) -> str:
    """Drop a shadow (or its children's foreign table), out of the extension first."""
    ext = "ALTER EXTENSION postgres_fdw"
    unlink = quote_literal(f"{ext} DROP FOREIGN TABLE {shadow}")
    unlink_once = f"DO $gridpg$ BEGIN BEGIN EXECUTE {unlink}; EXCEPTION WHEN OTHERS THEN NULL; END; END $gridpg$"
    return f"{unlink_once}; DROP FOREIGN TABLE {'IF EXISTS ' if if_exists else ''}{shadow}"


def _member_sql(shadow: str) -> list[str]:
    """Granted before it joins the extension: the privileges an object has when added are
    its initial ones (pg_init_privs), which pg_dump does not dump."""
    return [f"GRANT SELECT, INSERT, UPDATE, DELETE ON {shadow} TO PUBLIC",
            f"ALTER EXTENSION postgres_fdw ADD FOREIGN TABLE {shadow}"]


def _schema_sql(name: str) -> str:
    """The shadow schema, made once, a member of the extension (left out of dumps; granted
    before it joins, so that its privileges are its initial ones, which pg_dump leaves out
    too: granted after, every dump carried `GRANT USAGE ON SCHEMA pg_gridpg_lb_...`)."""
    ident = quote_ident(name)
    body = (f"CREATE SCHEMA {ident}; GRANT USAGE ON SCHEMA {ident} TO PUBLIC; "
            f"ALTER EXTENSION postgres_fdw ADD SCHEMA {ident};")
    return (f"DO $gridpg$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = "
            f"{quote_literal(name)}) THEN EXECUTE {quote_literal(body)}; END IF; END $gridpg$")


def _column(table: str, col: tuple[str | None, ...], sequence: str | None = None) -> str:
    """A shadow column: the real type; the real default when the catalog server can
    evaluate it as a datanode would; a serial or identity column's default takes the
    sequence's next value from the GTM through this coordinator (`nextval_default`:
    gridpg's sequences live in the GTM, not in the catalog server's copies); any other
    default it cannot evaluate refuses, so that a row is never written with a NULL
    PostgreSQL would have filled."""
    name, type_name, default, identity, generated = col
    text = f"{quote_ident(name or '')} {type_name}"
    if identity == "a" or generated == "s":
        # A GENERATED ALWAYS identity or stored generated column: generated in the shadow
        # too, so postgres_fdw leaves it out of its INSERT and UPDATE (the coordinator's
        # write fills it as a client's would: the GTM's sequence, the datanode's
        # expression; RETURNING reads the stored value), and a value the code gives is
        # refused with PostgreSQL's 428C9 by the catalog server
        return text + f" GENERATED ALWAYS AS (NULL::{type_name}) STORED"
    if sequence and not generated and (identity == "d" or (not identity and (default or "").startswith("nextval("))):
        return text + f" DEFAULT {nextval_call(sequence)}::{type_name}"
    if identity or generated or (default is not None and "nextval(" in default):
        label = quote_literal(f"{table}.{name}")
        return text + f" DEFAULT gridpg.loopback_no_default({label}, NULL::{type_name})"
    if default is not None:
        return text + f" DEFAULT {default}"
    return text


# A statement server-side code cannot send through postgres_fdw (INSERT ... ON CONFLICT
# with a conflict target or DO UPDATE, sql/plpgsql_upsert.py): its text, values written in,
# in the WHERE of a scan of this foreign table, which the coordinator answers itself
# (frontend/loopback.py, `statement`) by running it inside the caller's transaction. One
# row comes back per row the statement wrote (mode 'perform'), or per row it returned,
# as text[] (mode 'into', at most one; mode 'rows', any number).
RUN_FUNCTION = """
DO $gridpg$ BEGIN
  IF to_regclass('gridpg.loopback_statement') IS NULL THEN
    CREATE FOREIGN TABLE gridpg.loopback_statement (sql text, mode text, r text[])
      SERVER gridpg_loopback OPTIONS (schema_name 'gridpg', table_name 'statement');
    GRANT SELECT ON gridpg.loopback_statement TO PUBLIC;  -- before ADD: its initial privilege
    ALTER EXTENSION postgres_fdw ADD FOREIGN TABLE gridpg.loopback_statement;
  END IF;
END $gridpg$;
CREATE OR REPLACE FUNCTION gridpg.loopback_run(sql text, mode text) RETURNS SETOF text[]
LANGUAGE plpgsql AS $$
BEGIN
  RETURN QUERY EXECUTE pg_catalog.format(
    'SELECT r FROM gridpg.loopback_statement WHERE sql = %L AND mode = %L', sql, mode);
END $$;
GRANT EXECUTE ON FUNCTION gridpg.loopback_run(text, text) TO PUBLIC"""

# What to run for the text of a dynamic statement of armed code (sql/plpgsql_dynamic.py
# wraps each one's expression in a twin's body): the coordinator answers `gridpg.redirect`
# itself (frontend/loopback.py `_redirect`, executor/dynamic_text.py), given the schemas of
# the path the code runs with. A text without a dot, MERGE or ON CONFLICT names nothing
# with its schema and writes nothing the shadows cannot take: no round trip. NULL stays
# NULL (EXECUTE's own 22004). The path is read where the text runs (no SET clause here).
REDIRECT_FUNCTION = """
DO $gridpg$ BEGIN
  IF to_regclass('gridpg.loopback_redirect_text') IS NULL THEN
    CREATE FOREIGN TABLE gridpg.loopback_redirect_text (sql text, path text, rows text, r text)
      SERVER gridpg_loopback OPTIONS (schema_name 'gridpg', table_name 'redirect');
    GRANT SELECT ON gridpg.loopback_redirect_text TO PUBLIC;  -- before ADD: its initial privilege
    ALTER EXTENSION postgres_fdw ADD FOREIGN TABLE gridpg.loopback_redirect_text;
  END IF;
END $gridpg$;
CREATE OR REPLACE FUNCTION gridpg.loopback_redirect(sql text, rows boolean) RETURNS text
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  out text;
BEGIN
  IF sql IS NULL OR (pg_catalog.strpos(sql, '.') = 0 AND pg_catalog.strpos(pg_catalog.lower(sql), 'merge') = 0
                     AND pg_catalog.strpos(pg_catalog.lower(sql), 'conflict') = 0
                     AND pg_catalog.strpos(pg_catalog.lower(sql), 'execute') = 0) THEN
    RETURN sql;
  END IF;
  EXECUTE pg_catalog.format('SELECT r FROM gridpg.loopback_redirect_text WHERE sql = %L AND path = %L AND rows = %L',
                            sql, pg_catalog.array_to_string(pg_catalog.current_schemas(false), E'\\n'), rows::text) INTO out;
  RETURN out;
END $$;
GRANT EXECUTE ON FUNCTION gridpg.loopback_redirect(text, boolean) TO PUBLIC"""

def nextval_call(sequence: str) -> str:
    """A call of the GTM's sequence (its `schema.name`, quoted as pg_get_serial_sequence
    quotes it) that the catalog server makes with the loopback armed: the one route from
    there to the GTM's sequences (`gridpg_lb_calls.nextval`, `SEQUENCE_CALLS`), for the
    shadows' serial defaults and per-row nextval alike. The name is cast from text at each
    call (late binding, as `nextval('s'::text)`): a default holding the sequence's oid
    would depend on it, and dropping the table or the sequence would trip over the shadow."""
    return f"{CALLS_SCHEMA}.nextval({quote_literal(sequence)}::text::pg_catalog.regclass)"


NO_DEFAULT_FUNCTION = """
CREATE OR REPLACE FUNCTION gridpg.loopback_no_default(label text, anyelement)
RETURNS anyelement LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'gridpg cannot fill column % from its sequence, identity or generation inside server-side code', label
    USING ERRCODE = '0A000',
          HINT = 'Give the column''s value explicitly in the function''s INSERT.';
END $$"""


# Sequence functions of code the catalog server runs with the loopback armed (the armed
# path names their schema first). Each names the sequence as pg_get_serial_sequence quotes
# it, checks the privilege PostgreSQL's function wants (as the current role: the caller's,
# or a SECURITY DEFINER routine's owner), and scans the foreign table
# `gridpg.loopback_sequence_call`, which the coordinator answers itself (frontend/loopback.py
# `_sequence_call`): nextval and setval on the GTM's sequence, currval and lastval from the
# caller's session, as recorded for its own statements. A temp sequence or one created in
# the open transaction is the catalog server's own until COMMIT
# (commands/sequences.served_by_catalog; the coordinator must not query this busy
# connection): the answer is 'local', pg_catalog's function makes the call here, and the
# value is noted for the caller's currval()/lastval(). Errors keep PostgreSQL's SQLSTATE and
# message (a bad sequence and out-of-range setval values raise in pg_catalog's function).
# COST 1, as pg_catalog's: the catalog server orders a WHERE's conditions by cost as
# PostgreSQL does (planner/lazy_initplans.py), so a nextval() condition comes where
# PostgreSQL puts it, not last as a plpgsql function's default cost of 100 put it.
SEQUENCE_CALLS = f"""
DO $gridpg$ BEGIN
  IF to_regclass('gridpg.loopback_sequence_call') IS NULL THEN
    CREATE FOREIGN TABLE gridpg.loopback_sequence_call (fn text, seq text, arg text, value bigint, answer text)
      SERVER gridpg_loopback OPTIONS (schema_name 'gridpg', table_name 'sequence_call');
    GRANT SELECT ON gridpg.loopback_sequence_call TO PUBLIC;  -- before ADD: its initial privilege
    ALTER EXTENSION postgres_fdw ADD FOREIGN TABLE gridpg.loopback_sequence_call;
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = '{CALLS_SCHEMA}') THEN
    CREATE SCHEMA {CALLS_SCHEMA};
    GRANT USAGE ON SCHEMA {CALLS_SCHEMA} TO PUBLIC;  -- before ADD: its initial privilege
    ALTER EXTENSION postgres_fdw ADD SCHEMA {CALLS_SCHEMA};
  END IF;
END $gridpg$;
CREATE OR REPLACE FUNCTION gridpg.loopback_sequence_ask(fn text, seq text, arg text, OUT value bigint, OUT answer text)
LANGUAGE plpgsql AS $$
BEGIN
  IF coalesce(pg_catalog.current_setting('gridpg.ddl_capture', true), '') <> '' THEN
    SELECT a.value, a.answer INTO value, answer FROM gridpg.code_ddl_sequence_ask(fn, seq, arg) a;
    RETURN;  -- the capture run of code that runs DDL (executor/code_ddl.py): no call back
  END IF;
  EXECUTE pg_catalog.format('SELECT value, answer FROM gridpg.loopback_sequence_call '
                            'WHERE fn = %L AND seq = %L AND arg = %L', fn, seq, arg) INTO value, answer;
  IF answer IS NULL THEN
    RAISE EXCEPTION 'gridpg could not run %() through the coordinator', fn USING ERRCODE = 'XX000';
  END IF;
END $$;
CREATE OR REPLACE FUNCTION gridpg.loopback_sequence_name(seq regclass, wanted text[], OUT name text)
LANGUAGE plpgsql AS $$
DECLARE bare text;
BEGIN
  SELECT pg_catalog.format('%I.%I', n.nspname, c.relname), c.relname INTO name, bare
    FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
   WHERE c.oid = seq AND c.relkind = 'S';
  IF name IS NOT NULL AND NOT EXISTS (SELECT 1 FROM unnest(wanted) w
                                       WHERE pg_catalog.has_sequence_privilege(seq, w)) THEN
    RAISE EXCEPTION 'permission denied for sequence %', bare USING ERRCODE = '42501';
  END IF;
END $$;
CREATE OR REPLACE FUNCTION {CALLS_SCHEMA}.nextval(seq regclass) RETURNS bigint LANGUAGE plpgsql COST 1 AS $$
DECLARE name text := gridpg.loopback_sequence_name(seq, ARRAY['USAGE', 'UPDATE']); v bigint; answer text;
BEGIN
  IF name IS NULL THEN
    RETURN pg_catalog.nextval(seq);  -- not a sequence: PostgreSQL's own error
  END IF;
  SELECT a.value, a.answer INTO v, answer FROM gridpg.loopback_sequence_ask('nextval', name, '') a;
  IF answer = 'local' THEN
    v := pg_catalog.nextval(seq);
    PERFORM gridpg.loopback_sequence_ask('note_nextval', name, v::text);
  END IF;
  RETURN v;
END $$;
CREATE OR REPLACE FUNCTION {CALLS_SCHEMA}.currval(seq regclass) RETURNS bigint LANGUAGE plpgsql COST 1 AS $$
DECLARE name text := gridpg.loopback_sequence_name(seq, ARRAY['USAGE', 'SELECT']); v bigint; answer text;
BEGIN
  IF name IS NULL THEN
    RETURN pg_catalog.currval(seq);
  END IF;
  SELECT a.value, a.answer INTO v, answer FROM gridpg.loopback_sequence_ask('currval', name, '') a;
  IF answer = 'local' THEN
    RETURN pg_catalog.currval(seq);
  END IF;
  IF v IS NULL THEN
    RAISE EXCEPTION 'currval of sequence "%" is not yet defined in this session',
      (SELECT c.relname FROM pg_catalog.pg_class c WHERE c.oid = seq) USING ERRCODE = '55000';
  END IF;
  RETURN v;
END $$;
CREATE OR REPLACE FUNCTION {CALLS_SCHEMA}.setval(seq regclass, value bigint, called boolean) RETURNS bigint
LANGUAGE plpgsql COST 1 AS $$
DECLARE name text := gridpg.loopback_sequence_name(seq, ARRAY['UPDATE']);
BEGIN
  IF name IS NULL OR NOT EXISTS (SELECT 1 FROM pg_catalog.pg_sequence s WHERE s.seqrelid = seq
                                   AND value BETWEEN s.seqmin AND s.seqmax) THEN
    RETURN pg_catalog.setval(seq, value, called);  -- PostgreSQL's own error (42809, 22003)
  END IF;
  IF (gridpg.loopback_sequence_ask('setval', name, value::text || ',' || called::text)).answer = 'local' THEN
    PERFORM pg_catalog.setval(seq, value, called);
    IF called THEN
      PERFORM gridpg.loopback_sequence_ask('note_setval', name, value::text);
    END IF;
  END IF;
  RETURN value;
END $$;
CREATE OR REPLACE FUNCTION {CALLS_SCHEMA}.setval(seq regclass, value bigint) RETURNS bigint
LANGUAGE sql COST 1 AS $$ SELECT {CALLS_SCHEMA}.setval(seq, value, true) $$;
CREATE OR REPLACE FUNCTION {CALLS_SCHEMA}.lastval() RETURNS bigint LANGUAGE plpgsql COST 1 AS $$
DECLARE v bigint; answer text; seq regclass;
BEGIN
  SELECT a.value, a.answer INTO v, answer FROM gridpg.loopback_sequence_ask('lastval', '', '') a;
  seq := pg_catalog.to_regclass(answer);
  IF v IS NULL OR seq IS NULL THEN
    RAISE EXCEPTION 'lastval is not yet defined in this session' USING ERRCODE = '55000';
  END IF;
  PERFORM gridpg.loopback_sequence_name(seq, ARRAY['USAGE', 'SELECT']);
  RETURN v;
END $$;
-- A table named by text resolves to its shadow on the armed path, whose columns own no
-- sequence: `nextval(pg_get_serial_sequence('jobs', 'id'))` (pgqueuer's enqueue) got NULL.
-- The shadow's own table answers instead (shadow schema gridpg_lb_<oid of the real schema>).
CREATE OR REPLACE FUNCTION {CALLS_SCHEMA}.pg_get_serial_sequence(tbl text, col text) RETURNS text
LANGUAGE plpgsql STABLE AS $$
DECLARE own text;
BEGIN
  SELECT pg_catalog.format('%I.%I', rn.nspname, c.relname) INTO own
    FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
    JOIN pg_catalog.pg_namespace rn ON n.nspname = '{SHADOW_PREFIX}' || rn.oid::text
   WHERE c.oid = pg_catalog.to_regclass(tbl) AND c.relkind = 'f';
  RETURN pg_catalog.pg_get_serial_sequence(coalesce(own, tbl), col);
END $$;
DO $gridpg$ DECLARE f regprocedure; BEGIN
  FOREACH f IN ARRAY ARRAY['{CALLS_SCHEMA}.nextval(regclass)', '{CALLS_SCHEMA}.currval(regclass)',
                           '{CALLS_SCHEMA}.setval(regclass, bigint)', '{CALLS_SCHEMA}.setval(regclass, bigint, boolean)',
                           '{CALLS_SCHEMA}.lastval()', '{CALLS_SCHEMA}.pg_get_serial_sequence(text, text)']::regprocedure[] LOOP
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d WHERE d.classid = 'pg_catalog.pg_proc'::regclass
                    AND d.objid = f AND d.deptype = 'e') THEN
      EXECUTE pg_catalog.format('ALTER EXTENSION postgres_fdw ADD FUNCTION %s', f);
    END IF;
  END LOOP;
END $gridpg$"""

# Upgrade of a catalog server set up by an earlier gridpg, whose shadows' serial defaults
# called `gridpg.loopback_nextval('schema.seq')` (a scan of the foreign table
# `gridpg.loopback_sequence_next`, a second route to the GTM's sequences): every such
# default is rewritten to `nextval_call`'s form in place (the shadow is also made again on
# its next use, the hash of its definition having changed), then the function and the
# foreign table go. A default of another form (none was ever made) becomes one that
# refuses, as for a column gridpg cannot fill: never a silent NULL. Runs at every
# coordinator start; a no-op once done.
RETIRE_LOOPBACK_NEXTVAL = rf"""
DO $gridpg$ DECLARE r record; seq text; BEGIN
  IF pg_catalog.to_regprocedure('gridpg.loopback_nextval(text)') IS NOT NULL THEN
    FOR r IN SELECT d.adrelid::pg_catalog.regclass::text AS rel, a.attname,
                    pg_catalog.format_type(a.atttypid, a.atttypmod) AS typ,
                    pg_catalog.pg_get_expr(d.adbin, d.adrelid) AS expr
               FROM pg_catalog.pg_depend p
               JOIN pg_catalog.pg_attrdef d ON d.oid = p.objid
               JOIN pg_catalog.pg_attribute a ON a.attrelid = d.adrelid AND a.attnum = d.adnum
              WHERE p.classid = 'pg_catalog.pg_attrdef'::pg_catalog.regclass
                AND p.refclassid = 'pg_catalog.pg_proc'::pg_catalog.regclass
                AND p.refobjid = 'gridpg.loopback_nextval(text)'::pg_catalog.regprocedure LOOP
      seq := (pg_catalog.regexp_match(r.expr, $re$^\(?gridpg\.loopback_nextval\('((?:[^']|'')*)'::text\)$re$))[1];
      IF seq IS NULL THEN
        EXECUTE pg_catalog.format('ALTER FOREIGN TABLE %s ALTER COLUMN %I SET DEFAULT '
                                  'gridpg.loopback_no_default(%L, NULL::%s)', r.rel, r.attname,
                                  r.rel || '.' || r.attname, r.typ);
      ELSE
        EXECUTE pg_catalog.format('ALTER FOREIGN TABLE %s ALTER COLUMN %I SET DEFAULT '
                                  '{CALLS_SCHEMA}.nextval(%L::text::pg_catalog.regclass)::%s',
                                  r.rel, r.attname, pg_catalog.replace(seq, $q$''$q$, $q$'$q$), r.typ);
      END IF;
    END LOOP;
    DROP FUNCTION gridpg.loopback_nextval(text);
  END IF;
  IF pg_catalog.to_regclass('gridpg.loopback_sequence_next') IS NOT NULL THEN
    ALTER EXTENSION postgres_fdw DROP FOREIGN TABLE gridpg.loopback_sequence_next;
    DROP FOREIGN TABLE gridpg.loopback_sequence_next;
  END IF;
END $gridpg$"""
