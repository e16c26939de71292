/*
Row-locking sub-selects inside writes (issue 12, no silent wrong answer): the job-queue
pattern `UPDATE jobs ... WHERE id = (SELECT ... FOR UPDATE SKIP LOCKED)` and its DELETE,
IN, = ANY, WITH, FOR NO KEY UPDATE / FOR SHARE / NOWAIT forms, and INSERT ... SELECT ...
FOR UPDATE. gridpg runs the locking sub-select first as a SELECT of its own (planner
strategy locking-subplans; executor/locked_insert.py for INSERT) and puts its value, IN
list or rows in the statement; these are the single-session answers, which must be
PostgreSQL's (tests/integration/test_job_queue_locks.py checks two sessions).
*/

CREATE TABLE lq_jobs (id int PRIMARY KEY, state text, prio int);
CREATE TABLE lq_ref (id int PRIMARY KEY, v int) DISTRIBUTE BY REPLICATION;
CREATE TABLE lq_other (k text PRIMARY KEY, jid int, note numeric);
CREATE TABLE lq_claims (job int, who text, weight int);
INSERT INTO lq_jobs SELECT g, 'new', g % 3 FROM generate_series(1, 20) g;
INSERT INTO lq_ref SELECT g, g * 10 FROM generate_series(1, 5) g;
INSERT INTO lq_other VALUES ('a', 4, 1.5), ('b', 7, 2.5), ('c', NULL, 3.5);

BEGIN;
UPDATE lq_jobs SET state = 'taken' WHERE id = (SELECT id FROM lq_jobs WHERE state = 'new' ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED) RETURNING *;
UPDATE lq_jobs SET state = 'taken' WHERE id = (SELECT id FROM lq_jobs WHERE state = 'new' ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED) RETURNING *;
UPDATE lq_jobs SET state = 'taken' WHERE id = (SELECT id FROM lq_jobs WHERE state = 'new' ORDER BY prio DESC, id LIMIT 1 FOR NO KEY UPDATE NOWAIT) RETURNING id, state;
DELETE FROM lq_jobs WHERE id = (SELECT id FROM lq_jobs WHERE state = 'taken' ORDER BY id DESC LIMIT 1 FOR UPDATE NOWAIT) RETURNING id;
SELECT id, state FROM lq_jobs WHERE state <> 'new' ORDER BY id;
COMMIT;

-- IN / = ANY lists, empty results, NULLs, NOT IN, several columns
DELETE FROM lq_jobs WHERE id IN (SELECT id FROM lq_jobs WHERE state = 'new' ORDER BY id LIMIT 3 FOR UPDATE SKIP LOCKED) RETURNING id;
UPDATE lq_jobs SET state = 'done' WHERE id = ANY (SELECT id FROM lq_jobs WHERE id > 100 FOR UPDATE) RETURNING id;
UPDATE lq_jobs SET state = 'done' WHERE id IN (SELECT jid FROM lq_other ORDER BY k FOR SHARE) RETURNING id, state;
UPDATE lq_jobs SET prio = -1 WHERE id NOT IN (SELECT jid FROM lq_other FOR KEY SHARE) RETURNING id;
UPDATE lq_jobs SET prio = -2 WHERE id NOT IN (SELECT jid FROM lq_other WHERE jid IS NOT NULL FOR KEY SHARE) AND prio = 2 RETURNING id;
UPDATE lq_jobs SET prio = 9 WHERE (id, state) IN (SELECT id, state FROM lq_jobs WHERE id BETWEEN 8 AND 12 AND state = 'new' FOR UPDATE) RETURNING id, prio;
UPDATE lq_jobs SET state = 'none' WHERE id = (SELECT id FROM lq_jobs WHERE state = 'nothing' FOR UPDATE SKIP LOCKED) RETURNING id;

-- a scalar value in SET, a replicated table's rows, a WITH entry
UPDATE lq_jobs SET state = (SELECT k FROM lq_other WHERE jid = 7 FOR UPDATE) WHERE id = 7 RETURNING id, state;
UPDATE lq_ref SET v = 0 WHERE id = (SELECT id FROM lq_ref ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED) RETURNING *;
UPDATE lq_jobs SET prio = 100 WHERE id = (SELECT id FROM lq_ref WHERE v = 30 FOR SHARE) RETURNING id, prio;
WITH nxt AS (SELECT id FROM lq_jobs WHERE state = 'new' ORDER BY id LIMIT 2 FOR UPDATE SKIP LOCKED) UPDATE lq_jobs SET state = 'taken' FROM nxt WHERE lq_jobs.id = nxt.id RETURNING lq_jobs.id, lq_jobs.state;
SELECT id, state, prio FROM lq_jobs ORDER BY id;
SELECT * FROM lq_ref ORDER BY id;

-- a scalar sub-select with more than one row is PostgreSQL's error
-- error
UPDATE lq_jobs SET state = 'x' WHERE id = (SELECT id FROM lq_jobs WHERE state = 'new' FOR UPDATE);

-- INSERT ... SELECT ... FOR UPDATE: the SELECT's rows locked first, assignment casts kept
INSERT INTO lq_claims SELECT id, 'w1' AS who, prio FROM lq_jobs WHERE state = 'new' ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED RETURNING *;
INSERT INTO lq_claims (job, weight) SELECT jid, note FROM lq_other WHERE k = 'b' FOR UPDATE RETURNING *;
INSERT INTO lq_claims SELECT id, state FROM lq_jobs WHERE id > 100 FOR UPDATE RETURNING *;
INSERT INTO lq_claims (job, who) SELECT id, state FROM lq_jobs WHERE id = 9 FOR NO KEY UPDATE NOWAIT RETURNING job, who;
SELECT job, who, weight FROM lq_claims ORDER BY job, who;

-- the same WITH shape without a lock: the entry's LIMIT applies once, not on every node
-- (the write took it for a colocated join and updated one row per node)
BEGIN;
WITH nxt AS (SELECT id FROM lq_jobs WHERE state = 'new' ORDER BY id LIMIT 1) UPDATE lq_jobs SET state = 'one' FROM nxt WHERE lq_jobs.id = nxt.id RETURNING lq_jobs.id, lq_jobs.state;
WITH old AS (SELECT id FROM lq_jobs ORDER BY id DESC LIMIT 2) DELETE FROM lq_jobs USING old WHERE lq_jobs.id = old.id RETURNING lq_jobs.id;
WITH few AS (SELECT id FROM lq_jobs WHERE id < 12) DELETE FROM lq_jobs USING few WHERE lq_jobs.id = few.id RETURNING lq_jobs.id;
SELECT id, state FROM lq_jobs ORDER BY id;
ROLLBACK;
