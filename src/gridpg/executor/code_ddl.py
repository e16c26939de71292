"""DDL run by server-side code (functions, procedures, DO blocks): run as gridpg's
distributed DDL, or refused; never left on one catalog server.

A function body runs inside the coordinator's catalog server. A `CREATE TABLE` (static,
or built with `EXECUTE format(...)`) run there made the table on that catalog server
alone: not distributed, unknown to the other coordinators, silently. DDL is what users
bring in migration DO blocks, monthly partition-maintenance functions and setup
procedures, so gridpg runs it instead of refusing it, by *capture and replay*:

1. Event triggers on the catalog server (ddl_command_start, ddl_command_end, sql_drop,
   `gridpg.loopback_ddl_guard()`) see every DDL statement. One that runs inside code (its
   PL/pgSQL context has more than the trigger's own line) stops the statement with the
   *marker* (SQLSTATE P0004, which a PL/pgSQL `EXCEPTION WHEN OTHERS` does not catch),
   unless it is on temporary or gridpg-internal objects; when the code runs with the
   loopback armed (its names reach the shadows) any DDL but CREATE TEMP stops it before
   it runs.
2. The coordinator catches the marker and runs the statement again in *capture mode*
   (`run_capturing`): on the session's catalog connection, unarmed, inside a savepoint.
   There the code runs its DDL on the catalog server's own copies, so its catalog reads
   (`information_schema.columns`, `pg_class`, `to_regclass`) see what it made, and its
   decisions are PostgreSQL's; the event triggers record each DDL statement's text (from
   the context PL/pgSQL reports), the search_path it ran under and what the DDL itself
   did to table statistics.
3. The savepoint is rolled back (the catalog server is as before) and each recorded
   statement runs, in order, through gridpg's own DDL path in the caller's transaction:
   every catalog server and datanode, the metadata, the default distribution, 2PC,
   rolled back with the caller. Then the code's own answer (its rows, notices) goes to
   the client.

The code runs twice, and what no rollback undoes must happen once: the first attempt's
sequence calls (the GTM's, and the session's temp sequences) are recorded
(`SequenceEcho`) and the capture run takes their values again instead of calling again
(`gridpg.code_ddl_sequence_ask`); calls it cannot answer so (a cluster sequence after the
DDL, calls that differ from the first attempt's) are refused with 0A000.

Replaying the statements gives PostgreSQL's answer only when the code did nothing else
that the rollback undid: a fingerprint of every user table's statistics (scans, rows
written, relation file) taken before and after the run, less what the DDL statements
themselves did (a CREATE INDEX scans its table, a CREATE TABLE AS writes rows), must not
move; otherwise (the code also wrote or read rows) the statement fails with 0A000. What
cannot be replayed faithfully is refused with 0A000 too: DDL under a search_path other
than the session's, text the context does not give whole, a procedure's COMMIT (the
capture runs in a block: PostgreSQL's 2D000), a marker inside a transaction block whose
statement already wrote through the loopback.

This module must not decide distribution or run DDL itself: the replay is an ordinary
gridpg statement.
"""

from __future__ import annotations

import dataclasses
import json
import re
from typing import TYPE_CHECKING, Any

from gridpg.errors import FEATURE_NOT_SUPPORTED, PgError
from gridpg.sql import parse as sqlparse
from gridpg.sql.quote import quote_literal

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from gridpg.datanode.connection import BackendConnection
    from gridpg.executor.dispatch import Dispatcher, ExecRequest

MARKER_STATE = "P0004"  # assert_failure: not caught by EXCEPTION WHEN OTHERS
MARKER_DETAIL = "gridpg: DDL inside server-side code"
SAVEPOINT = "gridpg_code_ddl"  # around the capture
TRY_SAVEPOINT = "gridpg_code_try"  # around a first attempt inside a block

# The user tables whose statistics the capture watches: every table, partitioned table and
# materialized view the session can write (its own temp tables too), by oid.
_FINGERPRINT = r"""
CREATE OR REPLACE FUNCTION gridpg.code_ddl_fingerprint() RETURNS jsonb
LANGUAGE sql VOLATILE SET search_path = pg_catalog AS $$
  SELECT coalesce(jsonb_object_agg(c.oid::text, jsonb_build_array(
           pg_stat_get_xact_numscans(c.oid),
           coalesce((SELECT sum(pg_stat_get_xact_numscans(x.indexrelid)) FROM pg_index x
                      WHERE x.indrelid = c.oid), 0),
           pg_stat_get_xact_tuples_inserted(c.oid), pg_stat_get_xact_tuples_updated(c.oid),
           pg_stat_get_xact_tuples_deleted(c.oid), pg_relation_filenode(c.oid)::text,
           c.oid::regclass::text)), '{}')
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE c.relkind IN ('r', 'p', 'm')
    AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'gridpg', 'gridpg_shards')
    AND n.nspname NOT LIKE 'pg\_toast%' AND n.nspname NOT LIKE 'gridpg\_lb\_%'
    AND (c.relpersistence <> 't' OR n.oid = pg_my_temp_schema())
$$"""

# What one DDL statement did (the fingerprint now less the one at its start), added to
# what the earlier ones did; a relation new or with a new file since is marked rewritten.
_DELTA = """
CREATE OR REPLACE FUNCTION gridpg.code_ddl_delta(mark jsonb, acc jsonb) RETURNS jsonb
LANGUAGE sql VOLATILE SET search_path = pg_catalog AS $$
  SELECT coalesce(acc, '{}') || coalesce(jsonb_object_agg(f.k, jsonb_build_array(
      coalesce((acc->f.k->>0)::numeric, 0) + (f.v->>0)::numeric - coalesce((mark->f.k->>0)::numeric, 0),
      coalesce((acc->f.k->>1)::numeric, 0) + (f.v->>1)::numeric - coalesce((mark->f.k->>1)::numeric, 0),
      coalesce((acc->f.k->>2)::numeric, 0) + (f.v->>2)::numeric - coalesce((mark->f.k->>2)::numeric, 0),
      coalesce((acc->f.k->>3)::numeric, 0) + (f.v->>3)::numeric - coalesce((mark->f.k->>3)::numeric, 0),
      coalesce((acc->f.k->>4)::numeric, 0) + (f.v->>4)::numeric - coalesce((mark->f.k->>4)::numeric, 0),
      coalesce((acc->f.k->>5)::boolean, false) OR mark->f.k IS NULL
        OR (f.v->>5) IS DISTINCT FROM (mark->f.k->>5))), '{}')
  FROM jsonb_each(gridpg.code_ddl_fingerprint()) AS f(k, v)
$$"""

# The event triggers' function (the name of the refusal it replaces, so the triggers of
# catalog servers made before keep pointing at it). No SET search_path: it records the
# path the code's DDL ran under; everything it calls is schema-qualified.
_GUARD = r"""
CREATE OR REPLACE FUNCTION gridpg.loopback_ddl_guard() RETURNS event_trigger
LANGUAGE plpgsql AS $$
DECLARE
  ctx text; rest text; r record;
  path text := pg_catalog.current_setting('search_path');
  capture text := pg_catalog.current_setting('gridpg.ddl_capture', true);
BEGIN
  GET DIAGNOSTICS ctx = PG_CONTEXT;
  IF pg_catalog.strpos(ctx, E'\n') = 0 THEN  -- a statement of its own (the coordinator's DDL)
    IF TG_EVENT = 'ddl_command_start' AND TG_TAG IN ('DROP TYPE', 'DROP DOMAIN', 'DROP SCHEMA',
        'DROP EXTENSION', 'DROP COLLATION', 'DROP OWNED', 'ALTER TYPE', 'ALTER DOMAIN') THEN
      PERFORM gridpg.loopback_drop_orphan_shadows();
    END IF;
    RETURN;
  END IF;
  rest := pg_catalog.substr(ctx, pg_catalog.strpos(ctx, E'\n') + 1);
  IF coalesce(capture, '') <> '' THEN  -- capture mode: record, let it run
    IF TG_EVENT = 'ddl_command_start' THEN
      PERFORM pg_catalog.set_config('gridpg.ddl_mark', gridpg.code_ddl_fingerprint()::text, true);
    ELSIF TG_EVENT = 'ddl_command_end' THEN
      PERFORM pg_catalog.set_config('gridpg.ddl_delta', gridpg.code_ddl_delta(
          nullif(pg_catalog.current_setting('gridpg.ddl_mark', true), '')::jsonb,
          nullif(pg_catalog.current_setting('gridpg.ddl_delta', true), '')::jsonb)::text, true);
      PERFORM pg_catalog.set_config('gridpg.ddl_capture', (capture::jsonb OPERATOR(pg_catalog.||)
          pg_catalog.jsonb_build_array(pg_catalog.jsonb_build_object(
            'context', rest, 'path', path, 'tag', TG_TAG, 'objects',
            (SELECT coalesce(pg_catalog.jsonb_agg(c.object_identity), '[]')
               FROM pg_catalog.pg_event_trigger_ddl_commands() c) OPERATOR(pg_catalog.||)
            coalesce(nullif(pg_catalog.current_setting('gridpg.ddl_dropped', true), ''), '[]')::jsonb)))::text, true);
      PERFORM pg_catalog.set_config('gridpg.ddl_dropped', '', true);
    ELSIF TG_EVENT = 'sql_drop' THEN
      PERFORM pg_catalog.set_config('gridpg.ddl_dropped', (SELECT coalesce(pg_catalog.jsonb_agg(d.object_identity), '[]')
          FROM pg_catalog.pg_event_trigger_dropped_objects() d WHERE d.original)::text, true);
    END IF;
    RETURN;
  END IF;
  IF pg_catalog.current_setting('postgres_fdw.application_name', true) LIKE 'gridpg-lb:%' THEN
    -- armed: the code's names reach the shadows; only CREATE TEMP and drops of temporary
    -- objects (`DROP TABLE IF EXISTS pg_temp.scratch` before making it again) are its own
    IF TG_EVENT = 'ddl_command_start' AND rest !~* '^SQL statement "\s*create\s+(global\s+|local\s+)?temp(orary)?\s'
       AND TG_TAG NOT IN ('DROP TABLE', 'DROP VIEW', 'DROP SEQUENCE', 'DROP INDEX', 'DROP FUNCTION') THEN
      RAISE EXCEPTION 'gridpg runs % inside server-side code as distributed DDL', TG_TAG
        USING ERRCODE = 'P0004', DETAIL = 'gridpg: DDL inside server-side code';
    END IF;
    IF TG_EVENT = 'sql_drop' THEN  -- (a shadow or a table of the catalog server's: not its own)
      FOR r IN SELECT * FROM pg_catalog.pg_event_trigger_dropped_objects() LOOP
        IF r.original AND NOT r.is_temporary THEN
          RAISE EXCEPTION 'gridpg runs % inside server-side code as distributed DDL', TG_TAG
            USING ERRCODE = 'P0004', DETAIL = 'gridpg: DDL inside server-side code';
        END IF;
      END LOOP;
    END IF;
    RETURN;
  END IF;
  IF TG_EVENT = 'sql_drop' THEN
    IF rest OPERATOR(pg_catalog.~) '(^|\n)extension script file "' THEN
      RETURN;  -- an extension's script (its update path drops objects): part of CREATE/ALTER EXTENSION
    END IF;
    FOR r IN SELECT * FROM pg_catalog.pg_event_trigger_dropped_objects() LOOP
      IF r.original AND NOT r.is_temporary AND NOT gridpg.code_ddl_internal(r.object_type, r.schema_name, r.object_identity) THEN
        RAISE EXCEPTION 'gridpg runs % inside server-side code as distributed DDL', TG_TAG
          USING ERRCODE = 'P0004', DETAIL = 'gridpg: DDL inside server-side code';
      END IF;
    END LOOP;
  ELSIF TG_EVENT = 'ddl_command_end' THEN
    FOR r IN SELECT * FROM pg_catalog.pg_event_trigger_ddl_commands() LOOP
      IF NOT r.in_extension AND coalesce(r.schema_name, '') <> 'pg_temp' AND coalesce(r.schema_name, '') NOT LIKE 'pg\_temp\_%'
         AND gridpg.code_ddl_internal(r.object_type, r.schema_name, r.object_identity) IS NOT TRUE
         AND NOT (r.object_identity IS NULL
                  AND rest OPERATOR(pg_catalog.~*) '^SQL statement "[^\n]*\m(pg_)?gridpg') THEN
        -- GRANT, REVOKE (and ALTER DEFAULT PRIVILEGES) report no schema or identity: the
        -- internal call said NULL, and NOT NULL let the code's GRANT/REVOKE stay on this
        -- catalog server alone, silently (the datanodes kept the old privileges); gridpg's
        -- own (its shadows' and twins' setup) name its schemas in the statement's text
        RAISE EXCEPTION 'gridpg runs % inside server-side code as distributed DDL', TG_TAG
          USING ERRCODE = 'P0004', DETAIL = 'gridpg: DDL inside server-side code';
      END IF;
    END LOOP;
  END IF;
END $$"""

# The loopback's shadows (executor/loopback.py) outlive their tables: made on first use,
# nothing drops them with the table. Their columns keep depending on the table's types, so
# after `DROP TABLE jobs` PostgreSQL refused `DROP TYPE job_status` (2BP01, "column status of
# foreign table gridpg_lb_2200.jobs depends on type job_status": pgqueuer's uninstall); with
# CASCADE it dropped the shadow's column, and an identical table made again kept that shadow
# (its comment's hash unchanged), one column short. The guard drops the shadows whose table
# is gone (dropped, renamed, its schema dropped) before each statement that drops or changes
# types, domains, collations, schemas or extensions, in that statement's transaction.
_ORPHAN_SHADOWS = r"""
CREATE OR REPLACE FUNCTION gridpg.loopback_drop_orphan_shadows() RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $$
DECLARE shadow text; child text;
BEGIN
  FOR shadow IN SELECT f.oid::pg_catalog.regclass::text FROM pg_catalog.pg_class f
      JOIN pg_catalog.pg_namespace fn ON fn.oid = f.relnamespace
     WHERE f.relkind = 'f' AND fn.nspname LIKE 'gridpg\_lb\_%' AND fn.nspname <> 'gridpg_lb_calls'
       AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_inherits i WHERE i.inhrelid = f.oid)
       AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_class c WHERE c.relname = f.relname
                         AND fn.nspname = 'gridpg_lb_' || c.relnamespace::text)
  LOOP
    -- the foreign table of its children's rows first (sql/shadow_only.py), which inherits it
    FOR child IN SELECT i.inhrelid::pg_catalog.regclass::text FROM pg_catalog.pg_inherits i
                  WHERE i.inhparent = shadow::pg_catalog.regclass LOOP
      EXECUTE pg_catalog.format('ALTER EXTENSION postgres_fdw DROP FOREIGN TABLE %s', child);
      EXECUTE pg_catalog.format('DROP FOREIGN TABLE %s', child);
    END LOOP;
    EXECUTE pg_catalog.format('ALTER EXTENSION postgres_fdw DROP FOREIGN TABLE %s', shadow);
    EXECUTE pg_catalog.format('DROP FOREIGN TABLE %s', shadow);
  END LOOP;
END $$"""

# gridpg's own DDL in DO blocks on a catalog server (the loopback's setup, its shadow
# schemas and the shadows in them, the twins of trigger functions in gridpg_tg): left alone.
_INTERNAL = r"""
CREATE OR REPLACE FUNCTION gridpg.code_ddl_internal(kind text, schema text, identity text) RETURNS boolean
LANGUAGE sql IMMUTABLE SET search_path = pg_catalog AS $$
  SELECT schema IN ('gridpg', 'gridpg_tg') OR schema LIKE 'gridpg\_lb\_%'
      OR (kind = 'schema' AND (identity LIKE 'gridpg\_lb\_%' OR identity = 'gridpg_tg'))
      OR (kind = 'extension' AND identity = 'postgres_fdw')
      OR (kind = 'server' AND identity = 'gridpg_loopback')
      OR (kind = 'user mapping' AND identity LIKE '% on server gridpg_loopback')
      OR (kind = 'event trigger' AND identity LIKE 'gridpg\_loopback\_%')
$$"""

_TRIGGERS = """
DO $gridpg$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_event_trigger WHERE evtname = 'gridpg_loopback_ddl') THEN
    CREATE EVENT TRIGGER gridpg_loopback_ddl ON ddl_command_end
      EXECUTE FUNCTION gridpg.loopback_ddl_guard();
    ALTER EXTENSION postgres_fdw ADD EVENT TRIGGER gridpg_loopback_ddl;
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_event_trigger WHERE evtname = 'gridpg_loopback_drop') THEN
    CREATE EVENT TRIGGER gridpg_loopback_drop ON sql_drop
      EXECUTE FUNCTION gridpg.loopback_ddl_guard();
    ALTER EXTENSION postgres_fdw ADD EVENT TRIGGER gridpg_loopback_drop;
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_event_trigger WHERE evtname = 'gridpg_loopback_ddl_start') THEN
    CREATE EVENT TRIGGER gridpg_loopback_ddl_start ON ddl_command_start
      EXECUTE FUNCTION gridpg.loopback_ddl_guard();
    ALTER EXTENSION postgres_fdw ADD EVENT TRIGGER gridpg_loopback_ddl_start;
  END IF;
END $gridpg$"""

# How many of the first attempt's sequence calls the capture run took again (see
# `SequenceEcho`): scans of an empty table, counted in the transaction's statistics, which a
# subtransaction's rollback does not undo (a setting would go back with it, and the code's
# EXCEPTION block would then take one value twice).
_ECHO_TICK = """
DO $gridpg$ BEGIN
  IF pg_catalog.to_regclass('gridpg.code_ddl_echo_tick') IS NULL THEN
    CREATE TABLE gridpg.code_ddl_echo_tick ();
    GRANT SELECT ON gridpg.code_ddl_echo_tick TO PUBLIC;  -- before ADD: its initial privilege
    ALTER EXTENSION postgres_fdw ADD TABLE gridpg.code_ddl_echo_tick;  -- (left out of dumps)
  END IF;
END $gridpg$"""
_ECHO_AT = "pg_catalog.pg_stat_get_xact_numscans('gridpg.code_ddl_echo_tick'::pg_catalog.regclass)"

# The capture run's answers to the loopback's sequence functions (gridpg.loopback_sequence_ask
# asks this in capture mode): the first attempt's calls, in order, with their values; then
# the session's temp sequences and those made in its open transaction ('local': the
# function calls pg_catalog's); a cluster sequence's nextval/setval past the first
# attempt's calls, or lastval(), refused (0A000).
_SEQUENCE_ASK = r"""
CREATE OR REPLACE FUNCTION gridpg.code_ddl_sequence_ask(fn text, seq text, arg text, OUT value bigint, OUT answer text)
LANGUAGE plpgsql SET search_path = pg_catalog AS $$
DECLARE
  echo jsonb := coalesce(nullif(current_setting('gridpg.ddl_echo', true), ''), '[]')::jsonb;
  at bigint := pg_stat_get_xact_numscans('gridpg.code_ddl_echo_tick'::regclass)
               - coalesce(nullif(current_setting('gridpg.ddl_echo_base', true), ''), '0')::bigint;
  local boolean := seq LIKE 'pg\_temp%' OR seq LIKE '"pg\_temp%' OR coalesce(nullif(
      current_setting('gridpg.ddl_local', true), ''), '[]')::jsonb ? seq;
  e jsonb;
BEGIN
  answer := '';
  IF fn IN ('nextval', 'setval') AND at < jsonb_array_length(echo) THEN
    e := echo -> at::int;
    IF e->>0 IS DISTINCT FROM fn OR e->>1 IS DISTINCT FROM seq OR e->>2 IS DISTINCT FROM arg THEN
      RAISE EXCEPTION 'gridpg cannot run server-side code that runs DDL and calls sequence % differently each time it runs', seq
        USING ERRCODE = '0A000',
              DETAIL = 'gridpg runs such code a second time to capture its DDL; that run must make the first run''s sequence calls again, in the same order.',
              HINT = 'Run the DDL and the sequence calls in separate statements.';
    END IF;
    PERFORM FROM gridpg.code_ddl_echo_tick;  -- one more taken
    value := (e->>3)::bigint;
    IF value IS NULL AND fn = 'setval' THEN
      value := split_part(arg, ',', 1)::bigint;
    END IF;
  ELSIF fn IN ('note_nextval', 'note_setval') THEN
    value := arg::bigint;
  ELSIF local AND fn = 'currval' THEN
    value := pg_catalog.currval(seq::regclass);
  ELSIF local AND fn <> 'lastval' THEN
    answer := 'local';
  ELSIF fn = 'currval' THEN  -- the last value the first attempt's calls took, else the session's
    SELECT (x.e->>3)::bigint INTO value FROM jsonb_array_elements(echo) WITH ORDINALITY x(e, n)
     WHERE x.n <= at AND x.e->>1 = seq AND (x.e->>0 = 'nextval' OR x.e->>2 LIKE '%,true')
     ORDER BY x.n DESC LIMIT 1;
    IF NOT FOUND THEN
      value := (coalesce(nullif(current_setting('gridpg.ddl_seqvals', true), ''), '{}')::jsonb ->> seq)::bigint;
    END IF;
  ELSE
    RAISE EXCEPTION 'gridpg cannot run %() on sequence % in server-side code after its DDL', fn, coalesce(nullif(seq, ''), '(last)')
      USING ERRCODE = '0A000',
            DETAIL = 'gridpg runs the code a second time to capture its DDL, without reaching the cluster''s sequences.',
            HINT = 'Call the sequence before the DDL, or in a separate statement.';
  END IF;
END $$"""

# The capture run's search_path: the session's, with the loopback's sequence functions'
# schema just before pg_catalog (named last when the path does not name it), so that the
# code's nextval('s') is gridpg_lb_calls.nextval (answered by `_SEQUENCE_ASK`) while its
# current_schema() and the schema its unqualified CREATEs make objects in stay the
# session's. pg_catalog then comes after the session's schemas: when one of them holds a
# function, operator or relation named as one of pg_catalog's (which it would now hide),
# NULL: the capture runs on the session's own path (its sequence calls then unanswered).
_CAPTURE_PATH = r"""
CREATE OR REPLACE FUNCTION gridpg.code_ddl_capture_path() RETURNS text
LANGUAGE sql STABLE AS $$
  WITH own AS (SELECT n.oid FROM pg_catalog.pg_namespace n
                WHERE n.nspname OPERATOR(pg_catalog.=) ANY (pg_catalog.current_schemas(false))
                  AND n.nspname OPERATOR(pg_catalog.<>) 'pg_catalog')
  SELECT CASE
    WHEN EXISTS (SELECT 1 FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_proc q
                   ON q.proname OPERATOR(pg_catalog.=) p.proname AND q.proargtypes OPERATOR(pg_catalog.=) p.proargtypes
                  AND q.pronamespace OPERATOR(pg_catalog.=) 'pg_catalog'::pg_catalog.regnamespace
                 WHERE p.pronamespace IN (SELECT oid FROM own))
      OR EXISTS (SELECT 1 FROM pg_catalog.pg_operator p JOIN pg_catalog.pg_operator q
                   ON q.oprname OPERATOR(pg_catalog.=) p.oprname AND q.oprleft OPERATOR(pg_catalog.=) p.oprleft
                  AND q.oprright OPERATOR(pg_catalog.=) p.oprright
                  AND q.oprnamespace OPERATOR(pg_catalog.=) 'pg_catalog'::pg_catalog.regnamespace
                 WHERE p.oprnamespace IN (SELECT oid FROM own))
      OR EXISTS (SELECT 1 FROM pg_catalog.pg_class p JOIN pg_catalog.pg_class q
                   ON q.relname OPERATOR(pg_catalog.=) p.relname
                  AND q.relnamespace OPERATOR(pg_catalog.=) 'pg_catalog'::pg_catalog.regnamespace
                 WHERE p.relnamespace IN (SELECT oid FROM own))
      OR EXISTS (SELECT 1 FROM pg_catalog.pg_type p JOIN pg_catalog.pg_type q
                   ON q.typname OPERATOR(pg_catalog.=) p.typname
                  AND q.typnamespace OPERATOR(pg_catalog.=) 'pg_catalog'::pg_catalog.regnamespace
                 WHERE p.typnamespace IN (SELECT oid FROM own))
      THEN NULL
    WHEN 'pg_catalog' OPERATOR(pg_catalog.=) ANY (pg_catalog.current_schemas(false)) THEN
      pg_catalog.regexp_replace(pg_catalog.current_setting('search_path'),
                                '(^|,)(\s*)("?)pg_catalog\3(\s*)(,|$)', '\1\2gridpg_lb_calls, \3pg_catalog\3\4\5')
    ELSE pg_catalog.concat_ws(', ', NULLIF(pg_catalog.current_setting('search_path'), ''),
                              'gridpg_lb_calls', 'pg_catalog')
  END
$$"""

# In the order a catalog server runs them (executor/loopback.setup_sql).
CODE_DDL_SQL = (_FINGERPRINT, _DELTA, _INTERNAL, _ORPHAN_SHADOWS, _GUARD, _TRIGGERS, _ECHO_TICK, _SEQUENCE_ASK, _CAPTURE_PATH)


def is_marker(exc: BaseException) -> bool:
    """The catalog server stopped server-side code at a DDL statement (the event trigger)."""
    return isinstance(exc, PgError) and exc.sqlstate == MARKER_STATE and exc.detail == MARKER_DETAIL


def refusal(exc: PgError, why: str) -> PgError:
    tag = exc.message.removeprefix("gridpg runs ").split(" inside ", 1)[0]
    return PgError(FEATURE_NOT_SUPPORTED, f"gridpg cannot run {tag} from server-side code {why}",
                   detail="It would change one catalog server only.",
                   hint="Run the call in a statement of its own, outside a transaction block.")


async def run_retrying(dispatcher: Dispatcher, request: ExecRequest,
                       attempt: Callable[[], Awaitable[None]]) -> None:
    """Run the statement; when its code stopped at DDL, run it again capturing the DDL.
    Outside a transaction block the failed attempt left nothing anywhere; inside one, a
    statement that may run code on the catalog server runs after a savepoint there, and is
    run again when the attempt wrote nothing through the loopback."""
    runner = dispatcher.runner
    session = dispatcher.session
    if getattr(runner, "is_loopback", False):
        await attempt()  # (DDL there is the caller's statement's: its own marker)
        return
    in_block = runner.txn.in_block
    guarded = in_block and await _may_run_code(dispatcher, request.sql)
    conn = None
    if guarded:
        conn = await runner.txn.connection(dispatcher.coord.catalog_node, wants_block=True)
        await conn.settle()
        await conn.simple_query(f"SAVEPOINT {TRY_SAVEPOINT}")
    mark = len(session.out)
    ended, commits, writes = runner.call_transactions_ended, runner.call_commits, runner.loopback_writes
    outer_echo = runner.sequence_echo
    echo = SequenceEcho(outer_echo)
    runner.sequence_echo = echo
    try:
        await attempt()
    except PgError as exc:
        if not is_marker(exc):
            raise
        if in_block and (conn is None or runner.loopback_writes != writes):
            raise refusal(exc, "inside a transaction block after it wrote through the loopback") from None
        if in_block and _called_back(dispatcher):
            raise refusal(exc, "inside a transaction block whose code called back through the "
                          "loopback (the catalog server could not take part in its two-phase commit)") from None
        # (the statement's own failure ends the loopback's transaction once: a ROLLBACK)
        if runner.call_commits != commits or runner.call_transactions_ended - ended > 1:
            raise refusal(exc, "after it committed part of its work") from None
        if len(session.out) < mark or request.max_rows:
            raise refusal(exc, "whose answer was already sent in part") from None
        del session.out[mark:]
        if conn is not None:
            await runner.sync_pending()
            await conn.settle()
            await conn.simple_query(f"ROLLBACK TO SAVEPOINT {TRY_SAVEPOINT}; RELEASE SAVEPOINT {TRY_SAVEPOINT}")
    else:
        if conn is not None and not conn.is_closed:
            await runner.sync_pending()
            await conn.settle()
            await conn.simple_query(f"RELEASE SAVEPOINT {TRY_SAVEPOINT}")
        return
    finally:
        runner.sequence_echo = outer_echo
    await run_capturing(dispatcher, request, echo)


def _called_back(dispatcher: Dispatcher) -> bool:
    part = dispatcher.runner.txn.participants.get(dispatcher.coord.catalog_node)
    return part is not None and part.called_back


async def _may_run_code(dispatcher: Dispatcher, sql: str) -> bool:
    """Whether a statement in a block may run user code on the catalog server: a DO or
    CALL, or one naming a user routine (a cheap test; the savepoint costs a round trip)."""
    word = sql.lstrip().split(None, 1)[0].lower() if sql.strip() else ""
    if word in ("do", "call"):
        return True
    if word not in ("select", "with", "values", "insert", "copy", "table", "execute"):
        return False
    return await dispatcher.coord.routine_guard.may_call_user_code(dispatcher, sql)


async def run_capturing(dispatcher: Dispatcher, request: ExecRequest,
                        echo: SequenceEcho | None = None) -> None:
    """Run the statement's code on the catalog server in a savepoint, recording its DDL;
    undo it there; replay the DDL as gridpg statements; then send the code's answer.
    Outside a transaction block the capture has a catalog transaction of its own, rolled
    back, and the replay the next: what the code did to the session's temp objects there
    (a temp sequence's nextval after its DDL) does not forbid the replay's PREPARE."""
    runner = dispatcher.runner
    session = dispatcher.session
    if request.max_rows:
        raise PgError(FEATURE_NOT_SUPPORTED, "gridpg cannot fetch the answer of server-side code "
                      "that runs DDL in pieces (Execute with a row limit)")
    echoed = (echo or SequenceEcho()).entries()
    if runner.txn.in_block:
        async with runner.statement_transaction():
            statements, answer = await _capture(dispatcher, request, echoed)
            for sql in statements:
                await _replay(dispatcher, request, sql)
    else:
        runner.txn.begin()
        runner.implicit_block = True
        try:
            statements, answer = await _capture(dispatcher, request, echoed)
        finally:
            runner.implicit_block = False
            await runner.end_transaction(commit=False)
        async with runner.statement_transaction():
            for sql in statements:
                await _replay(dispatcher, request, sql)
    session.out.extend(answer)


async def _capture(dispatcher: Dispatcher, request: ExecRequest,
                   echoed: list[list[Any]]) -> tuple[list[str], list[bytes]]:
    """The capture run, in a savepoint of the catalog server's transaction rolled back after
    it: the DDL statements it ran, and its answer (messages for the client).
    The code's sequence functions are the loopback's (`gridpg.code_ddl_capture_path`),
    answered on the catalog server without calling back (`_SEQUENCE_ASK`): the calls of
    the first attempt (`echoed`) with that attempt's values, the session's temp sequences
    by pg_catalog's functions; a cluster sequence past those calls is refused (a loopback
    connection in the catalog server's transaction would forbid its PREPARE)."""
    runner = dispatcher.runner
    session = dispatcher.session
    catalog = dispatcher.coord.catalog_node
    conn = await runner.txn.connection(catalog, wants_block=True)
    await conn.settle()
    await conn.simple_query(f"SAVEPOINT {SAVEPOINT}")  # (its rollback puts the settings back)
    settings = {"gridpg.ddl_echo": json.dumps(echoed), "gridpg.ddl_local": json.dumps(sorted(runner.local_sequences)),
                "gridpg.ddl_seqvals": json.dumps(runner.sequence_values)}
    rows = await conn.query(
        "WITH c AS MATERIALIZED (SELECT gridpg.code_ddl_capture_path() AS p) "
        "SELECT pg_catalog.set_config('gridpg.ddl_capture', '[]', true), "
        "pg_catalog.set_config('gridpg.ddl_delta', '', true), pg_catalog.set_config('search_path', "
        "coalesce(c.p, pg_catalog.current_setting('search_path')), true), c.p IS NULL, "
        f"gridpg.code_ddl_fingerprint(), pg_catalog.set_config('gridpg.ddl_echo_base', ({_ECHO_AT})::text, true), "
        + ", ".join(f"pg_catalog.set_config({quote_literal(k)}, {quote_literal(v)}, true)" for k, v in settings.items())
        + " FROM c")
    capture_path, before = rows[0][2] or "", json.loads(rows[0][4] or "{}")
    if rows[0][3] == "t" and echoed:  # (its calls would reach pg_catalog's, not the first values)
        raise PgError(FEATURE_NOT_SUPPORTED,
                      "gridpg cannot run server-side code that calls sequences and runs DDL under "
                      "a search_path whose schemas hold names of pg_catalog's",
                      hint="Run the DDL and the sequence calls in separate statements.")
    mark = len(session.out)
    if request.simple:
        await dispatcher.run_on_node(catalog, request, writes=False)
    else:
        await dispatcher.run_on_node_synced(catalog, request, request.sql)
    answer = session.out[mark:]
    del session.out[mark:]
    await conn.settle()
    rows = await conn.query("SELECT pg_catalog.current_setting('gridpg.ddl_capture'), "
                            "pg_catalog.current_setting('gridpg.ddl_delta', true), gridpg.code_ddl_fingerprint(), "
                            f"({_ECHO_AT}) - pg_catalog.current_setting('gridpg.ddl_echo_base')::bigint")
    captured = json.loads(rows[0][0] or "[]")
    ddl_delta = json.loads(rows[0][1] or "{}")
    ensure_untouched(before, json.loads(rows[0][2] or "{}"), ddl_delta, ran_ddl=bool(captured))
    if int(rows[0][3] or 0) != len(echoed):  # (more were refused as they came)
        raise _diverged(echoed[int(rows[0][3] or 0)][1])
    await conn.simple_query(f"ROLLBACK TO SAVEPOINT {SAVEPOINT}; RELEASE SAVEPOINT {SAVEPOINT}")
    statements = [await _statement_text(conn, entry) for entry in captured]
    for (_, tag), entry in zip(statements, captured):
        if entry.get("path") != capture_path:
            raise PgError(FEATURE_NOT_SUPPORTED,
                          f"gridpg cannot run {tag} from server-side code under a search_path "
                          "of its own", detail=f"It ran with search_path {entry.get('path')!r}.",
                          hint="Run the DDL with the session's search_path (no SET "
                               "search_path on the routine), or from the client.")
    return [sql for sql, _ in statements], answer


def _diverged(sequence: str) -> PgError:
    return PgError(FEATURE_NOT_SUPPORTED,
                   f"gridpg cannot run server-side code that runs DDL and calls sequence {sequence} "
                   "differently each time it runs",
                   detail="gridpg runs such code a second time to capture its DDL; that run must make "
                          "the first run's sequence calls again, in the same order.",
                   hint="Run the DDL and the sequence calls in separate statements.")


class SequenceEcho:
    """The sequence calls (nextval, setval) server-side code made through the loopback in
    its first attempt, which stopped at its DDL. Their effects outlive that attempt's
    rollback (the GTM's sequences; the catalog server's own temp sequences, which the
    loopback has pg_catalog's function call there and note), so the capture run of the
    same code is given them (`gridpg.ddl_echo`) and takes each value again, in order,
    instead of calling again (`_SEQUENCE_ASK`): the sequence moves once, as in
    PostgreSQL's one run."""

    __slots__ = ("calls", "outer")

    def __init__(self, outer: SequenceEcho | None = None) -> None:
        self.calls: list[tuple[str, str, str, int | None, str]] = []
        self.outer = outer  # a statement's, run while it runs: its first attempt's calls too

    def record(self, function: str, name: str, arg: str, value: int | None, answer: str) -> None:
        if function in ("nextval", "setval", "note_nextval", "note_setval"):
            self.calls.append((function, name, arg, value, answer))
            if self.outer is not None:
                self.outer.record(function, name, arg, value, answer)

    def entries(self) -> list[list[Any]]:
        """[function, sequence, arg, value] per call; a call the catalog server made itself
        ('local') takes the value its note gave."""
        out: list[list[Any]] = []
        for function, name, arg, value, answer in self.calls:
            if function.startswith("note_"):
                if out and out[-1][0] == function.removeprefix("note_") and out[-1][1] == name:
                    out[-1][3] = value
                continue
            out.append([function, name, arg, None if answer == "local" else value])
        return out


def ensure_untouched(before: dict[str, list[Any]], after: dict[str, list[Any]],
                     ddl: dict[str, list[Any]], ran_ddl: bool = True) -> None:
    """Refuse when the code read or wrote rows itself (beside what its DDL statements did):
    the rollback of the capture undid that, and it reached the catalog server's copies.
    `ran_ddl`: the code ran DDL (else it is dynamic code run captured only because the
    transaction changed the schema, and the refusal says so)."""
    for oid, now in after.items():
        was = before.get(oid)
        done = ddl.get(oid)
        for i in range(5):
            moved = int(now[i]) - (int(was[i]) if was else 0) - (int(done[i]) if done else 0)
            if moved:
                raise _touched(now[6], ran_ddl)
        if was is not None and now[5] != was[5] and not (done and done[5]):
            raise _touched(now[6], ran_ddl)


def _touched(relation: str, ran_ddl: bool = True) -> PgError:
    if not ran_ddl:  # (join_hash.sql: EXECUTE 'explain (analyze) ...' after CREATE TABLE in its block)
        return PgError(FEATURE_NOT_SUPPORTED,
                       "gridpg cannot run server-side code that runs dynamic SQL over distributed "
                       f"table {relation} in a transaction that changed the schema",
                       detail="Dynamic SQL there runs on the catalog server without the loopback "
                              "(shadows exist for committed tables only), over its empty copies.",
                       hint="Commit the schema change first.")
    return PgError(FEATURE_NOT_SUPPORTED,
                   "gridpg cannot run server-side code that runs DDL and also reads or writes "
                   f"rows of {relation}",
                   detail="The code's DDL runs as distributed DDL; its other statements would "
                          "have reached the catalog server's copy.",
                   hint="Run the DDL and the statements over rows in separate calls.")


_PLPGSQL_TEXT = re.compile(r'^SQL statement "(.*?)"(?:\n(?:PL/pgSQL function |SQL function |SQL statement )|$)',
                           re.DOTALL)
_SQL_FUNCTION = re.compile(r'^SQL function "(.+?)" statement (\d+)(?:\n|$)')


async def _statement_text(conn: BackendConnection, entry: dict[str, Any]) -> tuple[str, str]:
    """The DDL statement a capture entry records, from the context PostgreSQL gave: the text
    of a PL/pgSQL statement (static or EXECUTE), or statement n of a SQL function's body
    (the context names the function without its schema: of the SQL functions of that name,
    the one whose statement n names the objects the DDL made or dropped)."""
    context, tag = str(entry.get("context", "")), str(entry.get("tag", "DDL"))
    text = statement_from_context(context)
    if text is None:
        found = _SQL_FUNCTION.match(context)
        if found is not None:
            rows = await conn.query(
                "SELECT p.prosrc FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_language l ON l.oid = p.prolang "
                f"WHERE l.lanname = 'sql' AND p.proname = {quote_literal(found.group(1))}")
            texts = {t for r in rows if (t := _nth_statement(r[0] or "", int(found.group(2))))}
            text = pick_statement(texts, [str(o) for o in entry.get("objects") or []])
    if text is None or len(sqlparse.split(text)) != 1:
        raise PgError(FEATURE_NOT_SUPPORTED, f"gridpg cannot tell which {tag} statement server-side "
                      "code ran", detail=context.split("\n", 1)[0][:200],
                      hint="Give the function a name no other SQL function has.")
    return text, tag


def pick_statement(texts: set[str], objects: list[str]) -> str | None:
    """The one candidate text that names an object the DDL made or dropped (`schema.name`
    as PostgreSQL identifies it) with its schema, else the one naming one without; None
    if none or several do."""
    if len(texts) == 1:
        return next(iter(texts))

    def flat(text: str) -> str:
        return re.sub(r"\s*\.\s*", ".", text.lower().replace('"', ""))

    for whole in (True, False):
        names = [flat(o if whole else o.rsplit(".", 1)[-1]) for o in objects]
        fits = [t for t in texts
                if any(re.search(rf"(?<![\w.$]){re.escape(n)}(?![\w$])", flat(t)) for n in names)]
        if len(fits) == 1:
            return fits[0]
    return None


def statement_from_context(context: str) -> str | None:
    """The statement text of a PL/pgSQL context (`SQL statement "..."` then the function's
    line), else None."""
    found = _PLPGSQL_TEXT.match(context)
    return found.group(1) if found is not None else None


def _nth_statement(body: str, n: int) -> str | None:
    try:
        parts = sqlparse.split(body)
    except PgError:
        return None
    return parts[n - 1] if 0 < n <= len(parts) else None


async def _replay(dispatcher: Dispatcher, request: ExecRequest, sql: str) -> None:
    """One recorded DDL statement as a gridpg statement of the caller's transaction; its
    messages (tag, notices) are dropped: the code's own run gave the client those."""
    session = dispatcher.session
    mark = len(session.out)
    try:
        await dispatcher.run(dataclasses.replace(request, sql=sql, simple=True, params=[], param_formats=[],
                                                 param_oids=[], portal=None, result_formats=[], max_rows=0))
    except PgError as exc:
        if exc.sqlstate in ("42703", "42P02") and _creates_from_query(sql):
            raise _variables_refusal(sql, exc) from exc
        raise
    del session.out[mark:]


def _creates_from_query(sql: str) -> bool:
    """CREATE TABLE AS, SELECT INTO, CREATE MATERIALIZED VIEW: DDL whose query PL/pgSQL
    runs with the code's variables as parameters, which its recorded text only names."""
    try:
        tree = sqlparse.parse_tree(sql)
    except PgError:
        return False
    return "CreateTableAsStmt" in tree or bool(tree.get("SelectStmt", {}).get("intoClause"))


def _variables_refusal(sql: str, exc: PgError) -> PgError:
    """The captured text of a CREATE TABLE AS that ran in the code (PostgreSQL resolved its
    names there) fails alone with an unknown column or parameter: it names the code's
    variables, whose values the capture does not see. Loud, not PostgreSQL's 42703."""
    return PgError(FEATURE_NOT_SUPPORTED,
                   "gridpg cannot run CREATE TABLE AS from server-side code when its query uses the "
                   "code's variables or parameters",
                   detail=f"Run alone, {sql.strip()!r} failed: {exc.message}",
                   hint="Build the statement with EXECUTE format(...), the values as %L literals.")
