/*
Differences PostgreSQL 18's regression files showed in the h-regress23 replay
(2026-12-07: alter_table, foreign_data, rules, rowsecurity), each in its smallest form.
*/

-- rowsecurity.sql:91: a policy whose USING reads another table placed by default (a
-- lookup of the current user's clearance) was refused (0A000); the table kept row security
-- with no permissive policy, and every read after it answered no rows. The table it
-- reads is now made a REPLICATION table: each datanode's policy reads all of its rows.
DROP ROLE IF EXISTS rg23_reader;
CREATE ROLE rg23_reader;
GRANT USAGE ON SCHEMA oracle_99_regress23_findings TO rg23_reader;
CREATE TABLE rg23_clearance (login name PRIMARY KEY, lvl int);
CREATE TABLE rg23_paper (id int PRIMARY KEY, lvl int, title text);
INSERT INTO rg23_clearance SELECT 'user' || g, g % 3 FROM generate_series(1, 40) g;
INSERT INTO rg23_clearance VALUES ('rg23_reader', 1);
INSERT INTO rg23_paper SELECT g, g % 4, 'paper ' || g FROM generate_series(1, 60) g;
GRANT SELECT ON rg23_clearance, rg23_paper TO rg23_reader;
ALTER TABLE rg23_paper ENABLE ROW LEVEL SECURITY;
CREATE POLICY rg23_by_lvl ON rg23_paper
  USING (lvl <= (SELECT c.lvl FROM rg23_clearance c WHERE c.login = current_user));
SET ROLE rg23_reader;
SELECT count(*), min(id), max(id) FROM rg23_paper;
SELECT id, title FROM rg23_paper WHERE id < 12 ORDER BY id;
RESET ROLE;
UPDATE rg23_clearance SET lvl = 2 WHERE login = 'rg23_reader';
SET ROLE rg23_reader;
SELECT count(*) FROM rg23_paper;
RESET ROLE;
SELECT count(*), sum(lvl) FROM rg23_clearance;

-- policies reading each other's tables (the second conversion rebuilds a table that
-- already has a policy) and a policy reading its own table: PostgreSQL's own answers,
-- its infinite recursion error included
CREATE TABLE rg23_left (k int, v text);
CREATE TABLE rg23_right (k int, v text);
INSERT INTO rg23_left SELECT g, 'l' || g FROM generate_series(1, 20) g;
INSERT INTO rg23_right SELECT g, 'r' || g FROM generate_series(1, 20) g;
ALTER TABLE rg23_left ENABLE ROW LEVEL SECURITY;
ALTER TABLE rg23_right ENABLE ROW LEVEL SECURITY;
GRANT SELECT ON rg23_left, rg23_right TO rg23_reader;
BEGIN;
CREATE POLICY rg23_lp ON rg23_left USING (k IN (SELECT k FROM rg23_right WHERE k % 2 = 0));
ROLLBACK;
CREATE POLICY rg23_lp ON rg23_left USING (k IN (SELECT k FROM rg23_right WHERE k % 2 = 0));
SET ROLE rg23_reader;
SELECT count(*), sum(k) FROM rg23_left;
RESET ROLE;
CREATE POLICY rg23_rp ON rg23_right USING (k IN (SELECT k FROM rg23_left));
SET ROLE rg23_reader;
-- error
SELECT count(*) FROM rg23_left;
RESET ROLE;
DROP POLICY rg23_rp ON rg23_right;
CREATE POLICY rg23_rp ON rg23_right AS RESTRICTIVE FOR SELECT TO rg23_reader USING (k < 15);
CREATE POLICY rg23_rp_all ON rg23_right USING (true);
SET ROLE rg23_reader;
SELECT k, v FROM rg23_left ORDER BY k;
SELECT count(*) FROM rg23_right;
RESET ROLE;
SELECT policyname, permissive, roles, cmd, qual FROM pg_policies
  WHERE tablename IN ('rg23_left', 'rg23_right') ORDER BY policyname;
CREATE TABLE rg23_own (k int, owner name);
INSERT INTO rg23_own SELECT g, CASE WHEN g < 5 THEN 'rg23_reader' ELSE 'other' END FROM generate_series(1, 10) g;
ALTER TABLE rg23_own ENABLE ROW LEVEL SECURITY;
CREATE POLICY rg23_op ON rg23_own USING (k <= (SELECT max(k) + 2 FROM rg23_own WHERE owner = current_user));
GRANT SELECT ON rg23_own TO rg23_reader;
SET ROLE rg23_reader;
-- error
SELECT count(*) FROM rg23_own;
RESET ROLE;
DROP TABLE rg23_paper, rg23_clearance, rg23_left, rg23_right, rg23_own;
DROP OWNED BY rg23_reader;
DROP ROLE rg23_reader;

-- rules.sql:1005: a rule action inserting several VALUES rows that read OLD and NEW
-- (`VALUES (old.*, 'old', default), (new.*, 'new', default)`): OLD in the first row was
-- left in place (pglast's visitor lost the replacement), 42P01 "missing FROM-clause entry
-- for table old"; and the rows went in all OLD first, so a serial column numbered them
-- unlike PostgreSQL (each source row's VALUES rows together)
CREATE TABLE rg23_item (k int, qty int DEFAULT 0);
CREATE TABLE rg23_item_log (k int, qty int, tag text, n serial);
INSERT INTO rg23_item VALUES (1, 2), (11, 12);
CREATE RULE rg23_item_upd AS ON UPDATE TO rg23_item DO ALSO
  INSERT INTO rg23_item_log VALUES (old.*, 'old', DEFAULT), (new.*, 'new', DEFAULT);
UPDATE rg23_item SET qty = qty + 1 WHERE k = 1;
UPDATE rg23_item SET qty = qty * 10 WHERE k = 11;
CREATE RULE rg23_item_ins AS ON INSERT TO rg23_item DO ALSO
  INSERT INTO rg23_item_log (k, tag) VALUES (new.k, 'ins-' || new.qty), (new.k + 100, 'plus');
INSERT INTO rg23_item VALUES (22, 23);
INSERT INTO rg23_item (k) VALUES (33);
CREATE RULE rg23_item_del AS ON DELETE TO rg23_item DO ALSO
  INSERT INTO rg23_item_log (k, qty, tag) VALUES (old.k, old.qty, 'gone'), (-old.k, DEFAULT, 'mark');
DELETE FROM rg23_item WHERE k = 33;
SELECT * FROM rg23_item ORDER BY k;
SELECT * FROM rg23_item_log ORDER BY n;
DROP TABLE rg23_item, rg23_item_log;

-- rules.sql:1381: rules the coordinator applies fired as under session_replication_role
-- origin whatever the setting: a plain enabled rule fired in the replica role, an ENABLE
-- REPLICA one never fired (silent: the rows landed in the other table)
CREATE TABLE rg23_inbox (a int);
CREATE TABLE rg23_outbox (b int);
CREATE RULE rg23_divert AS ON INSERT TO rg23_inbox DO INSTEAD INSERT INTO rg23_outbox VALUES (new.a);
INSERT INTO rg23_inbox VALUES (1);
SET session_replication_role = replica;
INSERT INTO rg23_inbox VALUES (2);
ALTER TABLE rg23_inbox ENABLE REPLICA RULE rg23_divert;
INSERT INTO rg23_inbox VALUES (3);
PREPARE rg23_put(int) AS INSERT INTO rg23_inbox VALUES ($1);
EXECUTE rg23_put(4);
RESET session_replication_role;
INSERT INTO rg23_inbox VALUES (5);
EXECUTE rg23_put(6);
ALTER TABLE rg23_inbox ENABLE ALWAYS RULE rg23_divert;
SET session_replication_role = replica;
INSERT INTO rg23_inbox VALUES (7);
RESET session_replication_role;
INSERT INTO rg23_inbox VALUES (8);
DEALLOCATE rg23_put;
SELECT * FROM rg23_inbox ORDER BY a;
SELECT * FROM rg23_outbox ORDER BY b;
DROP TABLE rg23_inbox, rg23_outbox;

-- rules.sql:1125: a unique index comparing the column a table placed by default is
-- distributed by under another collation or operator class was refused on the datanodes
-- (0A000 "must include all partitioning columns"), and the ON CONFLICT on it after found
-- no arbiter (42P10): such a key does not count as holding the distribution column
CREATE TABLE rg23_badge (code char(6), color char(6));
CREATE UNIQUE INDEX rg23_badge_code ON rg23_badge (code COLLATE "C" bpchar_pattern_ops);
INSERT INTO rg23_badge VALUES ('b1', 'red'), ('b2', 'blue');
INSERT INTO rg23_badge VALUES ('b1', 'green')
  ON CONFLICT (code COLLATE "C" bpchar_pattern_ops) DO UPDATE SET color = excluded.color;
-- error
INSERT INTO rg23_badge VALUES ('b2', 'x');
SELECT * FROM rg23_badge ORDER BY code;
CREATE TABLE rg23_word (w text, n int);
CREATE UNIQUE INDEX ON rg23_word (w COLLATE "C");
INSERT INTO rg23_word VALUES ('a', 1), ('b', 1);
-- error
INSERT INTO rg23_word VALUES ('a', 2);
CREATE TABLE rg23_pair (id int, label text);
CREATE UNIQUE INDEX ON rg23_pair (id, label text_pattern_ops);
INSERT INTO rg23_pair VALUES (1, 'a'), (1, 'b');
-- error
INSERT INTO rg23_pair VALUES (1, 'a');
SELECT * FROM rg23_pair ORDER BY id, label;
DROP TABLE rg23_badge, rg23_word, rg23_pair;

-- alter_table.sql:2282: SET UNLOGGED of a table an unlogged HASH table's foreign key
-- refers to: the datanodes refused it (42P16, the key hangs on the HASH table's
-- partitioned copy there, which is never unlogged) after the catalog server had allowed it
CREATE TABLE rg23_head (id serial PRIMARY KEY, note text);
CREATE TABLE rg23_line (id serial PRIMARY KEY, head int REFERENCES rg23_head);
-- error
ALTER TABLE rg23_head SET UNLOGGED;
ALTER TABLE rg23_line SET UNLOGGED;
ALTER TABLE rg23_head SET UNLOGGED;
INSERT INTO rg23_head (note) VALUES ('a'), ('b');
INSERT INTO rg23_line (head) VALUES (1), (2), (2);
SELECT c.relname, c.relpersistence FROM pg_class c
  WHERE c.relname IN ('rg23_head', 'rg23_line') AND c.relnamespace = current_schema()::regnamespace ORDER BY 1;
-- error
ALTER TABLE rg23_line SET LOGGED;
ALTER TABLE rg23_head SET LOGGED;
ALTER TABLE rg23_line SET LOGGED;
-- error
INSERT INTO rg23_line (head) VALUES (3);
SELECT h.note, count(*) FROM rg23_line l JOIN rg23_head h ON h.id = l.head GROUP BY h.note ORDER BY 1;
DROP TABLE rg23_line, rg23_head;

-- rules.sql:1055-1063: a rule action whose sub-select in FROM reads NEW/OLD (PostgreSQL's
-- implicit LATERAL): 42P01 "missing FROM-clause entry for table gp_rule_src"; and an
-- action INSERT ... SELECT * reading NEW in its WHERE took the derived table's columns
-- into its `*` (more values for the target's next columns)
CREATE TABLE rg23_src (a int, b text DEFAULT 'dflt', c int);
CREATE TABLE rg23_copy (a int, b text DEFAULT 'dflt', c int);
CREATE RULE rg23_src_ins AS ON INSERT TO rg23_src
  DO ALSO INSERT INTO rg23_copy SELECT * FROM (SELECT a + 10 FROM rg23_src WHERE a = new.a) tt;
CREATE RULE rg23_src_ins2 AS ON INSERT TO rg23_src
  DO ALSO INSERT INTO rg23_copy SELECT * FROM (SELECT 5 AS x) tt WHERE new.a > 1;
CREATE RULE rg23_src_ins3 AS ON INSERT TO rg23_src
  DO ALSO INSERT INTO rg23_copy (a, c) SELECT new.a + g, g FROM generate_series(100, 200, 100) g;
INSERT INTO rg23_src VALUES (1, 'a'), (2, 'b');
SELECT * FROM rg23_copy ORDER BY a, c;
CREATE RULE rg23_src_upd AS ON UPDATE TO rg23_src
  DO ALSO UPDATE rg23_copy t SET c = tt.a * 10 FROM (SELECT a FROM rg23_copy WHERE a = old.a + 10) tt
  WHERE t.a = tt.a;
CREATE RULE rg23_src_del AS ON DELETE TO rg23_src
  DO ALSO DELETE FROM rg23_copy t USING (SELECT old.a + 200 AS a) gone WHERE t.a = gone.a;
UPDATE rg23_src SET b = upper(b);
DELETE FROM rg23_src WHERE a = 2;
SELECT * FROM rg23_copy ORDER BY a, c;
SELECT * FROM rg23_src ORDER BY a;
DROP TABLE rg23_src, rg23_copy;
