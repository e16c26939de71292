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
