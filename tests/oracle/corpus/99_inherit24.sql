/*
Table inheritance as users of pre-partitioning schemas write it (h-inherit24): an UPDATE of
the distribution column through an inheritance parent whose SET list or RETURNING reads
other distributed tables (and the tree itself) in sub-selects: the copies the catalog
server's UPDATE reads are gathered whole from every node before the moved rows leave them
(it was refused, 0A000, inherit.sql:787), ONLY in those sub-selects, a rolled-back block.
*/
CREATE SCHEMA oracle_inh24;
CREATE TABLE oracle_inh24.rates (region int, pct int);
INSERT INTO oracle_inh24.rates VALUES (1, 10), (2, 20), (3, 30);
CREATE TABLE oracle_inh24.account (id int, owner text, balance int);
CREATE TABLE oracle_inh24.savings (owner text, id int, balance int, region int);
ALTER TABLE oracle_inh24.savings INHERIT oracle_inh24.account;
CREATE TABLE oracle_inh24.checking (overdraft int) INHERITS (oracle_inh24.account);
INSERT INTO oracle_inh24.account SELECT i, 'acct' || i, i * 100 FROM generate_series(1, 4) i;
INSERT INTO oracle_inh24.savings SELECT 'sav' || i, i, i * 10, 1 + i % 3 FROM generate_series(5, 8) i;
INSERT INTO oracle_inh24.checking SELECT i, 'chk' || i, i, i FROM generate_series(9, 12) i;
UPDATE oracle_inh24.account a SET (id, owner) = (SELECT a.id, a.owner || '-' FROM oracle_inh24.rates WHERE region = 1);
SELECT tableoid::regclass, * FROM oracle_inh24.account ORDER BY id, owner;
UPDATE oracle_inh24.account SET id = id + (SELECT max(pct) FROM oracle_inh24.rates) WHERE id > 10 RETURNING id, owner;
UPDATE oracle_inh24.account SET id = (SELECT max(id) FROM oracle_inh24.checking) + id WHERE id < 3 RETURNING *;
UPDATE ONLY oracle_inh24.account SET id = id + (SELECT count(*) FROM ONLY oracle_inh24.account) WHERE id = 3
  RETURNING id, (SELECT count(*) FROM oracle_inh24.account);
UPDATE oracle_inh24.savings s SET id = s.id * 100, balance = (SELECT sum(balance) FROM oracle_inh24.savings)
  WHERE s.region = 2 RETURNING s.id, s.balance, s.region;
SELECT tableoid::regclass, * FROM oracle_inh24.account ORDER BY id, owner;
SELECT * FROM oracle_inh24.savings ORDER BY id;
BEGIN;
UPDATE oracle_inh24.account SET id = -id + (SELECT min(pct) FROM oracle_inh24.rates) WHERE owner LIKE 'chk%';
SELECT tableoid::regclass, id, owner FROM oracle_inh24.account WHERE id < 0 ORDER BY id;
ROLLBACK;
SELECT count(*), sum(id) FROM oracle_inh24.account;
-- RETURNING and WHERE reading tableoid of a moving UPDATE through a parent: each row's
-- member, as in PostgreSQL (refused before, 0A000, "by moving rows between nodes")
UPDATE oracle_inh24.account SET id = id + 1000 WHERE owner LIKE 'sav%' RETURNING tableoid::regclass, id, owner;
UPDATE oracle_inh24.account t SET id = t.id - 1000 WHERE t.tableoid = 'oracle_inh24.savings'::regclass
  RETURNING t.tableoid::regclass::text AS member, t.id;
UPDATE oracle_inh24.account a SET id = a.id + v.d FROM (VALUES (1, 'chk'), (2, 'acct')) v(d, prefix)
  WHERE a.owner LIKE v.prefix || '%' AND a.tableoid <> 'oracle_inh24.account'::regclass
  RETURNING a.tableoid::regclass, a.id, v.prefix;
UPDATE ONLY oracle_inh24.checking SET id = -id RETURNING tableoid::regclass, *;
SELECT tableoid::regclass, * FROM oracle_inh24.account ORDER BY id, owner;
-- a partitioned target: the partition a moved row lands in is not known to the copy
CREATE TABLE oracle_inh24.events (id int, day int) PARTITION BY RANGE (day);
CREATE TABLE oracle_inh24.events_a PARTITION OF oracle_inh24.events FOR VALUES FROM (0) TO (10);
CREATE TABLE oracle_inh24.events_b PARTITION OF oracle_inh24.events FOR VALUES FROM (10) TO (20);
INSERT INTO oracle_inh24.events VALUES (1, 1), (2, 12);
UPDATE oracle_inh24.events_a SET id = id + 5 RETURNING tableoid::regclass, *;
SELECT tableoid::regclass, * FROM oracle_inh24.events ORDER BY id;
-- ALTER TABLE ... ALTER COLUMN ... TYPE of the distribution column of an inheritance tree's
-- root (refused before, 0A000): every member changes on the datanodes, rows whose new
-- value hashes elsewhere move (text -> integer USING), or stay (int -> bigint)
CREATE TABLE oracle_inh24.doc (code text, title text);
CREATE TABLE oracle_inh24.doc_memo (urgent bool) INHERITS (oracle_inh24.doc);
CREATE TABLE oracle_inh24.doc_note (body text) INHERITS (oracle_inh24.doc);
CREATE TABLE oracle_inh24.doc_both () INHERITS (oracle_inh24.doc_memo, oracle_inh24.doc_note);
INSERT INTO oracle_inh24.doc SELECT 'd' || repeat('x', g % 7), 'doc' || g FROM generate_series(1, 30) g;
INSERT INTO oracle_inh24.doc_memo SELECT repeat('m', g % 5), 'memo' || g, g % 2 = 0 FROM generate_series(1, 30) g;
INSERT INTO oracle_inh24.doc_both VALUES ('both', 'b1', true, 'body');
ALTER TABLE oracle_inh24.doc ALTER COLUMN code TYPE integer USING length(code) * 10;
SELECT tableoid::regclass, code, count(*) FROM oracle_inh24.doc GROUP BY 1, 2 ORDER BY 1, 2;
SELECT tableoid::regclass, * FROM oracle_inh24.doc WHERE code = 40 ORDER BY title;
SELECT * FROM oracle_inh24.doc_both WHERE code = 40;
UPDATE oracle_inh24.doc SET title = title || '!' WHERE code = 20 RETURNING tableoid::regclass, code, title;
DELETE FROM oracle_inh24.doc WHERE code = 30 RETURNING tableoid::regclass, code, title;
INSERT INTO oracle_inh24.doc_note VALUES (70, 'n', 'note') RETURNING *;
SELECT tableoid::regclass, * FROM oracle_inh24.doc WHERE code IN (10, 70) ORDER BY 1, 3;
ALTER TABLE oracle_inh24.doc ALTER COLUMN code TYPE bigint;
SELECT pg_typeof(code), count(*), sum(code) FROM oracle_inh24.doc GROUP BY 1;
SELECT count(*) FROM oracle_inh24.doc WHERE code = 50;
BEGIN;
ALTER TABLE oracle_inh24.doc ALTER COLUMN code TYPE text USING 'k' || code;
SELECT count(*) FROM oracle_inh24.doc WHERE code = 'k50';
ROLLBACK;
SELECT count(*) FROM oracle_inh24.doc WHERE code = 50;
-- error
ALTER TABLE oracle_inh24.doc_memo ALTER COLUMN code TYPE int;
SELECT tableoid::regclass, count(*) FROM oracle_inh24.doc GROUP BY 1 ORDER BY 1;
-- a key of the root of a tree gridpg placed that its HASH placement cannot hold: the whole
-- tree becomes REPLICATION (the parent's rebuild alone failed, 2BP01, inherit.sql:1029)
CREATE TABLE oracle_inh24.person (id int, email text, name text);
CREATE TABLE oracle_inh24.staff (dept text) INHERITS (oracle_inh24.person);
CREATE TABLE oracle_inh24.contractor (agency text) INHERITS (oracle_inh24.staff);
INSERT INTO oracle_inh24.person SELECT g, 'p' || g || '@x', 'n' || g FROM generate_series(1, 25) g;
INSERT INTO oracle_inh24.staff SELECT g, 's' || g || '@x', 'n' || g, 'd' || g % 3 FROM generate_series(26, 50) g;
INSERT INTO oracle_inh24.contractor SELECT g, 'p' || g || '@x', 'c', 'd', 'a' FROM generate_series(1, 5) g;
ALTER TABLE oracle_inh24.person ADD CONSTRAINT person_email UNIQUE (email);
-- error
INSERT INTO oracle_inh24.person VALUES (99, 'p7@x', 'dup');
INSERT INTO oracle_inh24.staff VALUES (99, 'p7@x', 'not a dup of the parent', 'd');
SELECT tableoid::regclass, count(*), count(DISTINCT email) FROM oracle_inh24.person GROUP BY 1 ORDER BY 1;
SELECT * FROM oracle_inh24.person WHERE email = 'p3@x' ORDER BY name;
UPDATE oracle_inh24.person SET name = upper(name) WHERE id % 10 = 0 RETURNING tableoid::regclass, id, name;
DELETE FROM oracle_inh24.staff WHERE dept = 'd1' RETURNING id;
SELECT tableoid::regclass, count(*), sum(id) FROM oracle_inh24.person GROUP BY 1 ORDER BY 1;
ALTER TABLE oracle_inh24.staff ADD CONSTRAINT staff_excl EXCLUDE ((1) WITH =) WHERE (dept = 'boss');
INSERT INTO oracle_inh24.staff VALUES (200, 'b1@x', 'boss one', 'boss');
-- error
INSERT INTO oracle_inh24.staff VALUES (201, 'b2@x', 'boss two', 'boss');
CREATE TABLE oracle_inh24.intern () INHERITS (oracle_inh24.staff);
INSERT INTO oracle_inh24.intern VALUES (300, 'p7@x', 'i', 'boss');
SELECT tableoid::regclass, count(*) FROM oracle_inh24.person GROUP BY 1 ORDER BY 1;
-- INHERIT of a table placed otherwise that lacks the parent's distribution column:
-- PostgreSQL's own error (42804), not gridpg's 0A000 about placements
CREATE TABLE oracle_inh24.pp (a int, b int);
CREATE TABLE oracle_inh24.cc (b int, c int);
INSERT INTO oracle_inh24.cc VALUES (1, 2);
-- error
ALTER TABLE oracle_inh24.cc INHERIT oracle_inh24.pp;
ALTER TABLE oracle_inh24.cc ADD COLUMN a int;
ALTER TABLE oracle_inh24.cc INHERIT oracle_inh24.pp;
SELECT * FROM oracle_inh24.pp ORDER BY b;
