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
