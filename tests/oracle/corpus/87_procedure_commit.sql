/*
Transaction control in procedures and DO blocks over distributed tables: COMMIT and
ROLLBACK inside CALL / DO run outside a transaction block end the distributed transaction
(2PC over several datanodes) and start the next one, as PostgreSQL's; an error after a
COMMIT keeps what was committed; inside a block, PostgreSQL's own error (2D000); COMMIT in
an EXCEPTION block is refused as PostgreSQL does; both coordinators, the extended protocol.
Exercises: executor.loopback (_run_committing_call, end_within_call), frontend.loopback.
*/

CREATE TABLE pc (id int PRIMARY KEY, v int) DISTRIBUTE BY HASH (id);
CREATE TABLE pcr (k text PRIMARY KEY, n int) DISTRIBUTE BY REPLICATION;
INSERT INTO pcr VALUES ('calls', 0);
CREATE PROCEDURE batch(cnt int) LANGUAGE plpgsql AS $$ DECLARE i int; BEGIN FOR i IN 1..cnt LOOP INSERT INTO pc VALUES (i, i * 10), (i + 100, i), (i + 200, i); UPDATE pcr SET n = n + 1 WHERE k = 'calls'; IF i % 2 = 0 THEN COMMIT; ELSE ROLLBACK; END IF; END LOOP; INSERT INTO pc VALUES (1000, (SELECT count(*) FROM pc)); END $$;
CALL batch(6);
SELECT * FROM pc ORDER BY id;
SELECT * FROM pcr;

-- an error after a COMMIT: the committed part stays, the rest rolls back
CREATE PROCEDURE half() LANGUAGE plpgsql AS $$ BEGIN INSERT INTO pc VALUES (500, 1), (600, 2), (700, 3); COMMIT; INSERT INTO pc VALUES (501, 1); UPDATE pcr SET n = -1; INSERT INTO pc VALUES (2, 0); END $$;
-- error
CALL half();
SELECT * FROM pc WHERE id >= 500 ORDER BY id;
SELECT * FROM pcr;

-- inside a transaction block: PostgreSQL's error, the block's work rolls back
BEGIN;
INSERT INTO pc VALUES (3, 3);
-- error
CALL batch(2);
ROLLBACK;
SELECT count(*) FROM pc WHERE id IN (1, 3, 101);

-- DO blocks, a COMMIT refused inside an EXCEPTION block, reads after COMMIT
DO $$ BEGIN INSERT INTO pc VALUES (800, 8); COMMIT; INSERT INTO pc VALUES (801, 8); ROLLBACK; END $$;
DO $$ BEGIN INSERT INTO pc VALUES (900, 9); BEGIN COMMIT; EXCEPTION WHEN others THEN INSERT INTO pc VALUES (901, 9); END; END $$;
DO $$ DECLARE c int; BEGIN DELETE FROM pc WHERE id >= 800; COMMIT; SELECT count(*) INTO c FROM pc WHERE id >= 800; INSERT INTO pc VALUES (990, c); END $$;
SELECT * FROM pc WHERE id >= 800 ORDER BY id;

\connect 2
DELETE FROM pc WHERE id < 300 OR id = 1000;
CALL batch(2);
SELECT * FROM pc WHERE id < 300 ORDER BY id;
BEGIN;
SELECT count(*) FROM pc;
ROLLBACK;

-- a write whose triggers the coordinator fires (an audit table keyed by its own serial),
-- made by code outside a block: the firing's own catalog block ending is not the code's
-- COMMIT (it committed the caller's transaction: ROLLBACK and errors kept the rows)
\connect 1
CREATE TABLE pt (id int PRIMARY KEY) DISTRIBUTE BY HASH (id);
CREATE TABLE pt_log (n serial, v int) DISTRIBUTE BY HASH (n);
CREATE FUNCTION pt_log_f() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO pt_log (v) VALUES (NEW.id); RETURN NEW; END $$;
CREATE TRIGGER pt_log_t AFTER INSERT ON pt FOR EACH ROW EXECUTE FUNCTION pt_log_f();
DO $$ BEGIN INSERT INTO pt VALUES (1); ROLLBACK; INSERT INTO pt VALUES (2); END $$;
-- error
DO $$ BEGIN INSERT INTO pt VALUES (3); RAISE EXCEPTION 'after the write'; END $$;
CREATE PROCEDURE pt_batch() LANGUAGE plpgsql AS $$ BEGIN INSERT INTO pt VALUES (4); COMMIT; INSERT INTO pt VALUES (5); ROLLBACK; INSERT INTO pt VALUES (6), (7); END $$;
CALL pt_batch();
SELECT * FROM pt ORDER BY id;
SELECT v FROM pt_log ORDER BY v;
