/*
Sequences in one session, value for value as PostgreSQL: START, INCREMENT (also negative),
MINVALUE/MAXVALUE, CYCLE, setval() with is_called, currval(), lastval(), several calls in
one target list, ALTER SEQUENCE (RESTART, INCREMENT), DROP and CREATE again, serial columns
of distributed tables, errors at the bounds and before the first nextval.
Exercises: commands.sequences (calls evaluated by the GTM's sequences, in PostgreSQL's
order) and the coordinator's GTM sequence definitions (frontend.coordinator).
Values across coordinators and sessions are compared in 85_sequences_exact.sql (CACHE 1);
with a CACHE above 1 they are unique but not in call order, as in PostgreSQL.
*/

CREATE SEQUENCE s1;
-- error
SELECT currval('s1');
-- error
SELECT lastval();
SELECT nextval('s1');
SELECT nextval('s1'), currval('s1');
SELECT currval('s1'), nextval('s1'), currval('s1');
SELECT lastval();
SELECT nextval('s1') + nextval('s1') AS two, lastval();
SELECT setval('s1', 100);
SELECT currval('s1'), lastval();
SELECT nextval('s1');
SELECT setval('s1', 50, false);
SELECT currval('s1');
SELECT nextval('s1');
SELECT setval('s1', 60, true), nextval('s1');
SELECT nextval('oracle_85_sequences.s1'::regclass);
SELECT nextval('s1'::text);

CREATE SEQUENCE s5 INCREMENT BY 5 START WITH 10;
SELECT nextval('s5');
SELECT nextval('s5'), nextval('s5');
SELECT currval('s5');
SELECT lastval();
CREATE SEQUENCE sdown INCREMENT BY -2 MINVALUE -5 MAXVALUE 3 START 3;
SELECT nextval('sdown');
SELECT nextval('sdown');
SELECT nextval('sdown');
SELECT nextval('sdown');
SELECT nextval('sdown');
-- error
SELECT nextval('sdown');
CREATE SEQUENCE scyc MINVALUE 1 MAXVALUE 3 CYCLE;
SELECT nextval('scyc');
SELECT nextval('scyc');
SELECT nextval('scyc');
SELECT nextval('scyc');
SELECT nextval('scyc');
CREATE SEQUENCE smax MAXVALUE 2;
SELECT nextval('smax');
SELECT nextval('smax');
-- error
SELECT nextval('smax');
-- error
SELECT setval('smax', 10);
SELECT currval('smax');

-- ALTER, DROP and CREATE again
CREATE SEQUENCE sa;
SELECT nextval('sa');
SELECT nextval('sa');
ALTER SEQUENCE sa INCREMENT BY 10;
SELECT nextval('sa');
ALTER SEQUENCE sa RESTART WITH 1000;
SELECT nextval('sa');
ALTER SEQUENCE sa RESTART;
SELECT nextval('sa');
DROP SEQUENCE sa;
CREATE SEQUENCE sa START 7;
SELECT nextval('sa');
ALTER SEQUENCE sa RENAME TO sb;
SELECT nextval('sb');

-- serial columns and explicit calls share the sequence
CREATE TABLE ser (id serial, v text) DISTRIBUTE BY HASH (id);
INSERT INTO ser (v) VALUES ('a'), ('b');
SELECT currval('ser_id_seq');
SELECT nextval('ser_id_seq');
INSERT INTO ser (v) VALUES ('c') RETURNING id;
INSERT INTO ser VALUES (DEFAULT, 'd'), (nextval('ser_id_seq'), 'e');
SELECT * FROM ser ORDER BY id;
SELECT lastval();

-- alter_table.sql: a table's serial and identity sequences move with ALTER TABLE ... SET
-- SCHEMA; the GTM's stayed under the old name and the moved table's ids started again at 1
CREATE SCHEMA seq_move_a;
CREATE SCHEMA seq_move_b;
CREATE TABLE seq_move_a.t (id serial, v int) DISTRIBUTE BY HASH (v);
CREATE TABLE seq_move_a.u (id bigint GENERATED ALWAYS AS IDENTITY, v int) DISTRIBUTE BY HASH (v);
INSERT INTO seq_move_a.t (v) VALUES (1), (2);
INSERT INTO seq_move_a.u (v) VALUES (1), (2);
ALTER TABLE seq_move_a.t SET SCHEMA seq_move_b;
INSERT INTO seq_move_b.t (v) VALUES (3), (4);
BEGIN;
ALTER TABLE seq_move_a.u SET SCHEMA seq_move_b;
INSERT INTO seq_move_b.u (v) VALUES (3);
COMMIT;
INSERT INTO seq_move_b.u (v) VALUES (4);
SELECT id, v FROM seq_move_b.t ORDER BY v;
SELECT id, v FROM seq_move_b.u ORDER BY v;
DROP SCHEMA seq_move_a, seq_move_b CASCADE;
