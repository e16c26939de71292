/*
Statements found by replaying the SQL of job-queue libraries that ship it in their
packages (issue 12, bench/user_corpus.py procrastinate / graphile): their schema (enums, a
composite type, tables whose unique keys make them replicated by default) and the PL/pgSQL
functions the application calls, reduced to small forms with our own names.
*/

CREATE TYPE qc_status AS ENUM ('todo', 'doing', 'done', 'failed');
CREATE TYPE qc_spec AS (queue text, task text, priority int, lk text);
-- a unique key without a common column: replicated under the default distribution
CREATE TABLE qc_jobs (
    id bigserial PRIMARY KEY,
    queue text NOT NULL,
    task text NOT NULL,
    priority int NOT NULL DEFAULT 0,
    lk text,
    status qc_status NOT NULL DEFAULT 'todo',
    attempts int NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX qc_jobs_lk ON qc_jobs (lk) WHERE status = 'doing';
CREATE TABLE qc_log (note text PRIMARY KEY, at_job bigint UNIQUE, n int);

-- A parameter that is an array of a composite type (procrastinate_defer_jobs_v1): the
-- body could not be read ("PL/pgSQL functions cannot accept type _record", pglast's parser
-- takes a type it does not know for a record), so the call was refused with 0A000
CREATE FUNCTION qc_defer(jobs qc_spec[]) RETURNS bigint[] LANGUAGE plpgsql AS $$ DECLARE ids bigint[]; BEGIN WITH ins AS ( INSERT INTO qc_jobs (queue, task, priority, lk) SELECT (j).queue, (j).task, (j).priority, (j).lk FROM unnest(jobs) AS j RETURNING id ) SELECT array_agg(id ORDER BY id) FROM ins INTO ids; RETURN ids; END; $$;
SELECT unnest(qc_defer(ARRAY[('default', 'mail', 0, NULL), ('default', 'mail', 5, 'c'),
                             ('urgent', 'resize', 10, 'a'), ('urgent', 'resize', 1, NULL)]::qc_spec[])) AS id;
SELECT qc_defer(ARRAY[ROW('other', 'x', 2, 'b')]::qc_spec[]);
SELECT id, queue, task, priority, lk, status::text FROM qc_jobs ORDER BY id;

-- A variable of an enum type among several INTO targets (procrastinate_retry_job_v2):
-- "record variable cannot be part of multiple-item INTO list", refused with 0A000; also
-- an array variable of a composite type
CREATE FUNCTION qc_peek(job bigint) RETURNS text LANGUAGE plpgsql AS $$ DECLARE _status qc_status; _attempts int; _specs qc_spec[]; _other qc_status := 'todo'; BEGIN SELECT status, attempts FROM qc_jobs WHERE id = job INTO _status, _attempts; SELECT array_agg(ROW(queue, task, priority, lk)::qc_spec ORDER BY id) FROM qc_jobs INTO _specs; RETURN _status::text || '/' || _attempts || '/' || coalesce(array_length(_specs, 1), 0) || '/' || _other; END; $$;
SELECT qc_peek(1), qc_peek(3), qc_peek(99);

-- UPDATE and DELETE of a replicated table that postgres_fdw sends row by row (its WHERE
-- compares a user enum, which it does not push down): refused with 0A000 ("each node
-- holds the row under another ctid"); now by the row's primary key on every node
CREATE FUNCTION qc_fetch(q text) RETURNS bigint LANGUAGE plpgsql AS $$ DECLARE found bigint; BEGIN UPDATE qc_jobs SET status = 'doing', attempts = attempts + 1 WHERE id = (SELECT id FROM qc_jobs WHERE queue = q AND status = 'todo' ORDER BY priority DESC, id LIMIT 1 FOR UPDATE SKIP LOCKED) RETURNING id INTO found; RETURN found; END; $$;
CREATE FUNCTION qc_finish(job bigint, to_status qc_status) RETURNS bigint LANGUAGE plpgsql AS $$ DECLARE done_id bigint; BEGIN UPDATE qc_jobs SET status = to_status WHERE id = job AND status = 'doing' RETURNING id INTO done_id; IF done_id IS NULL THEN RAISE EXCEPTION 'job % not in doing', job; END IF; RETURN done_id; END; $$;
SELECT qc_fetch('urgent');
SELECT qc_fetch('default');
SELECT qc_finish(3, 'done');
-- error
SELECT qc_finish(3, 'failed');
SELECT id, status::text, attempts FROM qc_jobs ORDER BY id;
BEGIN;
SELECT qc_finish(2, 'failed');
SELECT id, status::text FROM qc_jobs WHERE id = 2;
ROLLBACK;
SELECT id, status::text FROM qc_jobs ORDER BY id;
DO $$ BEGIN DELETE FROM qc_jobs WHERE status = 'done'::qc_status; END $$;
SELECT id, status::text FROM qc_jobs ORDER BY id;
-- keys with quotes and non-ASCII text, a user function in the WHERE (not sent whole)
CREATE FUNCTION qc_small(v bigint) RETURNS boolean LANGUAGE sql IMMUTABLE AS $$ SELECT v < 3 $$;
INSERT INTO qc_log VALUES ('it''s é', 1, 0), ('plain', 2, 0), ('big', 3, 0);
DO $$ BEGIN UPDATE qc_log SET n = n + 10, note = note || ' ü' WHERE qc_small(at_job); END $$;
DO $$ BEGIN DELETE FROM qc_log WHERE qc_small(at_job) AND note LIKE 'plain%'; END $$;
SELECT note, at_job, n FROM qc_log ORDER BY at_job;

-- A row trigger of the replicated table writing an events table (procrastinate's status
-- events) on a row the code changes row by row: refused with 0A000 ("cannot fire the
-- triggers ... row by row"); now the coordinator runs the write by key and fires them
CREATE TABLE qc_events (id bigserial PRIMARY KEY, job_id bigint NOT NULL, kind text, old_status text);
CREATE FUNCTION qc_on_status() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO qc_events (job_id, kind, old_status) VALUES (NEW.id, NEW.status::text, OLD.status::text); RETURN NEW; END $$;
CREATE TRIGGER qc_status_events AFTER UPDATE OF status ON qc_jobs FOR EACH ROW EXECUTE FUNCTION qc_on_status();
SELECT qc_fetch('other');
SELECT qc_finish(5, 'failed');
BEGIN;
SELECT qc_fetch('urgent');
SELECT job_id, kind, old_status FROM qc_events ORDER BY id;
ROLLBACK;
SELECT job_id, kind, old_status FROM qc_events ORDER BY id;
SELECT id, status::text, attempts FROM qc_jobs ORDER BY id;

-- A GENERATED ALWAYS identity column (and a stored generated column) filled inside
-- server-side code (procrastinate_register_worker_v1: INSERT ... DEFAULT VALUES RETURNING
-- id): refused with 0A000 ("cannot fill column ... inside server-side code"); now filled
-- as a client's INSERT would be, and a value the code gives is PostgreSQL's 428C9
CREATE TABLE qc_workers (id bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY, beat int NOT NULL DEFAULT 0, twice bigint GENERATED ALWAYS AS (id * 2) STORED);
CREATE FUNCTION qc_register() RETURNS TABLE (worker_id bigint) LANGUAGE sql AS $$ INSERT INTO qc_workers DEFAULT VALUES RETURNING id $$;
CREATE FUNCTION qc_register_as(i bigint) RETURNS bigint LANGUAGE plpgsql AS $$ DECLARE r bigint; BEGIN INSERT INTO qc_workers (id) VALUES (i) RETURNING id INTO r; RETURN r; END $$;
CREATE FUNCTION qc_beat(w bigint) RETURNS bigint LANGUAGE plpgsql AS $$ DECLARE t bigint; BEGIN UPDATE qc_workers SET beat = beat + 1 WHERE id = w RETURNING twice INTO t; RETURN t; END $$;
CREATE FUNCTION qc_move(w bigint) RETURNS void LANGUAGE plpgsql AS $$ BEGIN UPDATE qc_workers SET id = id + 100 WHERE id = w; END $$;
SELECT * FROM qc_register();
SELECT * FROM qc_register();
-- error
SELECT qc_register_as(50);
-- error
SELECT qc_move(1);
SELECT qc_beat(2), qc_beat(2);
BEGIN;
SELECT * FROM qc_register();
ROLLBACK;
SELECT * FROM qc_register();
SELECT id, beat, twice FROM qc_workers ORDER BY id;

-- INSERT ... ON CONFLICT DO UPDATE ... RETURNING * INTO a variable of the table's row
-- type (graphile-worker's add_job: `returning * into v_job`): refused with 0A000 ("only
-- into a list of variables"); now the row fills the variable by position
CREATE TABLE qc_keyed (key text PRIMARY KEY, payload jsonb, revision int NOT NULL DEFAULT 0, run_at date);
CREATE FUNCTION qc_upsert(k text, p jsonb) RETURNS qc_keyed LANGUAGE plpgsql AS $$ DECLARE v_job qc_keyed; BEGIN INSERT INTO qc_keyed (key, payload, run_at) VALUES (k, p, DATE '2024-01-01') ON CONFLICT (key) DO UPDATE SET payload = excluded.payload, revision = qc_keyed.revision + 1 RETURNING * INTO v_job; RETURN v_job; END $$;
CREATE FUNCTION qc_upsert_some(k text) RETURNS text LANGUAGE plpgsql AS $$ DECLARE v qc_keyed; BEGIN INSERT INTO qc_keyed (key) VALUES (k) ON CONFLICT (key) DO UPDATE SET revision = qc_keyed.revision + 10 RETURNING key, payload INTO v; RETURN v.key || '/' || coalesce(v.payload::text, 'null') || '/' || coalesce(v.revision::text, 'null'); END $$;
SELECT * FROM qc_upsert('a', '{"n": 1}');
SELECT * FROM qc_upsert('a', '{"n": 2}');
SELECT (qc_upsert('b', '[1, 2]')).revision;
SELECT qc_upsert_some('a'), qc_upsert_some('c');
SELECT key, payload, revision, run_at FROM qc_keyed ORDER BY key;
