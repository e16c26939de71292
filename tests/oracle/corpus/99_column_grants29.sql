-- A role granted SELECT on some columns of a table joins it in UPDATE ... FROM and
-- DELETE ... USING on those columns, as in PostgreSQL; the table read is distributed by
-- another key than the target, so gridpg copies it to the target's nodes first (it
-- copied every column, and the role's missing rights failed the statement: 42501).
DROP ROLE IF EXISTS cg29_user;
CREATE ROLE cg29_user;
GRANT USAGE ON SCHEMA oracle_99_column_grants29 TO cg29_user;
CREATE TABLE cg29_t (id int PRIMARY KEY, k int, v int);
CREATE TABLE cg29_o (oid_ int PRIMARY KEY, k int, w int, secret text);
CREATE TABLE cg29_ref (k int PRIMARY KEY, label text, secret text) DISTRIBUTE BY REPLICATION;
INSERT INTO cg29_t SELECT g, g % 7, 0 FROM generate_series(1, 60) g;
INSERT INTO cg29_o SELECT g, g, g * 10, 'hidden ' || g FROM generate_series(0, 6) g;
INSERT INTO cg29_ref SELECT g, 'label ' || g, 's' FROM generate_series(0, 6) g;
GRANT SELECT, UPDATE, DELETE ON cg29_t TO cg29_user;
GRANT SELECT (k, w) ON cg29_o TO cg29_user;
GRANT SELECT (k, label) ON cg29_ref TO cg29_user;
SET ROLE cg29_user;
UPDATE cg29_t SET v = o.w FROM cg29_o o WHERE cg29_t.k = o.k;
SELECT k, v, count(*) FROM cg29_t GROUP BY k, v ORDER BY k;
UPDATE cg29_t t SET v = t.v + o.w FROM cg29_o o WHERE t.k = o.k AND o.w > 30 RETURNING t.id, t.v, o.w;
DELETE FROM cg29_t t USING cg29_o o WHERE t.k = o.k AND o.w >= 50 RETURNING t.id, o.k;
SELECT count(*) FROM cg29_t;
UPDATE cg29_t t SET v = -1 FROM cg29_o o, cg29_ref r WHERE t.k = o.k AND r.k = o.k AND r.label = 'label 1';
SELECT id, v FROM cg29_t WHERE v < 0 ORDER BY id;
-- columns the role may not read still fail as in PostgreSQL
-- error
UPDATE cg29_t t SET v = 0 FROM cg29_o o WHERE t.k = o.k AND o.secret = 'x';
-- error
UPDATE cg29_t t SET v = 0 FROM cg29_o o WHERE t.k = o.k RETURNING o.*;
-- error
DELETE FROM cg29_t t USING cg29_o o WHERE t.k = o.k AND o IS NOT NULL;
RESET ROLE;
SELECT id, k, v FROM cg29_t ORDER BY id;
DROP TABLE cg29_t, cg29_o, cg29_ref;
DROP OWNED BY cg29_user;
DROP ROLE cg29_user;
