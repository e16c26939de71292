/*
Procedures and DO blocks that name distributed tables with their schema and COMMIT or
ROLLBACK: the code runs as a twin (or a DO with its body redirected) naming the tables'
shadows, outside a block, so its transaction control works as PostgreSQL's. Before, the
twin's call was watched in one catalog transaction and every COMMIT failed with 2D000
("invalid transaction termination"). The rewritten code is read again instead
(twins.refuse_missed_names); a DO body in an E'' string is redirected too (it was left to
the watch, 0A000).
*/

DROP SCHEMA IF EXISTS tqc CASCADE;
CREATE SCHEMA tqc;
CREATE TABLE tqc.items (id int PRIMARY KEY, qty int NOT NULL DEFAULT 0) DISTRIBUTE BY HASH (id);
CREATE TABLE tqc.log (id bigserial PRIMARY KEY, msg text) DISTRIBUTE BY HASH (id);
CREATE TABLE tqc.totals (k text PRIMARY KEY, n int NOT NULL) DISTRIBUTE BY REPLICATION;
INSERT INTO tqc.items SELECT g, g FROM generate_series(1, 12) g;
INSERT INTO tqc.totals VALUES ('rounds', 0);

CREATE PROCEDURE tqc.batch(step int) LANGUAGE plpgsql AS $$ DECLARE i int; BEGIN FOR i IN 1..3 LOOP UPDATE tqc.items SET qty = qty + step WHERE id % 3 = i - 1; INSERT INTO tqc.log (msg) VALUES ('round ' || i); UPDATE "tqc"."totals" SET n = tqc.totals.n + 1 WHERE k = 'rounds'; IF i = 2 THEN ROLLBACK; ELSE COMMIT; END IF; END LOOP; END $$;
CALL tqc.batch(10);
SELECT sum(qty), count(*) FROM tqc.items;
SELECT msg FROM tqc.log ORDER BY id;
SELECT n FROM tqc.totals;

-- an error after a COMMIT keeps the committed part
CREATE PROCEDURE tqc.half(fail boolean) LANGUAGE plpgsql AS $$ BEGIN INSERT INTO tqc.log (msg) VALUES ('first'); COMMIT; INSERT INTO tqc.log (msg) VALUES ('second'); IF fail THEN RAISE EXCEPTION 'boom' USING ERRCODE = 'P0001'; END IF; END $$;
-- error
CALL tqc.half(true);
SELECT msg FROM tqc.log ORDER BY id;
CALL tqc.half(false);
SELECT msg, count(*) FROM tqc.log GROUP BY msg ORDER BY msg;

-- inside a block: PostgreSQL's own error, nothing kept
BEGIN;
-- error
CALL tqc.batch(1);
ROLLBACK;
SELECT sum(qty) FROM tqc.items;

-- DO blocks, the body quoted three ways
DO $$ BEGIN UPDATE tqc.items SET qty = 0 WHERE id = 1; COMMIT; UPDATE tqc.items SET qty = -1 WHERE id = 2; ROLLBACK; END $$;
DO 'BEGIN INSERT INTO tqc.log (msg) VALUES (''plain string''); COMMIT; END';
DO E'BEGIN INSERT INTO tqc.log (msg) VALUES (\'e-string\'); COMMIT; END';
DO LANGUAGE plpgsql $body$ DECLARE r record; BEGIN FOR r IN SELECT id FROM tqc.items WHERE id > 10 ORDER BY id LOOP DELETE FROM tqc.items WHERE id = r.id; COMMIT; END LOOP; END $body$;
SELECT id, qty FROM tqc.items ORDER BY id;
SELECT msg FROM tqc.log ORDER BY id;

-- through the other coordinator
\connect 2
CALL tqc.batch(1);
SELECT sum(qty), count(*) FROM tqc.items;
SELECT n FROM tqc.totals;

DROP SCHEMA tqc CASCADE;
