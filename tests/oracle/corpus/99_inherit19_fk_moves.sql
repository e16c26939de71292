/*
UPDATE of the distribution column of a table that a foreign key with ON DELETE / ON
UPDATE actions references (h-inherit19, foreign_key.sql:105-113, 472-480). Rows move as
DELETE and INSERT, so such a key refused every such UPDATE (0A000), also of rows nothing
references, where neither action has anything to do. The rows about to move are now
locked and checked on their datanode (a key that holds has its referencing rows there):
only a move of referenced rows is refused. NO ACTION keys fail as in PostgreSQL (23503).
A table gridpg placed itself whose foreign key's action writes its distribution column
(ON UPDATE CASCADE, SET NULL, SET DEFAULT; foreign_key.sql:170, 1755, 2216: 23514 "no
partition ... found for row") is made a REPLICATION table, and so are its parents.
*/
CREATE SCHEMA oracle_inh19f;
SET search_path = oracle_inh19f;
CREATE TABLE pktable (ptest1 int, ptest2 int, ptest3 int, ptest4 text, PRIMARY KEY (ptest1, ptest2, ptest3));
CREATE TABLE fktable (ftest1 int, ftest2 int, ftest3 int, ftest4 int, CONSTRAINT constrname3
  FOREIGN KEY (ftest1, ftest2, ftest3) REFERENCES pktable ON DELETE CASCADE);
INSERT INTO pktable VALUES (1, 2, 3, 'test1'), (1, 3, 3, 'test2'), (2, 3, 4, 'test3'), (2, 4, 5, 'test4');
INSERT INTO fktable VALUES (1, 2, 3, 1), (NULL, 2, 3, 2), (2, NULL, 3, 3), (NULL, 2, 7, 4), (NULL, 3, 4, 5);
-- error
UPDATE pktable SET ptest2 = 5 WHERE ptest2 = 2;
UPDATE pktable SET ptest1 = 1 WHERE ptest2 = 3;
SELECT * FROM pktable ORDER BY 1, 2, 3;
SELECT * FROM fktable ORDER BY 1, 2, 3, 4;
UPDATE pktable AS p SET ptest1 = 8 FROM (VALUES (4)) v(k) WHERE p.ptest2 = v.k RETURNING p.ptest1, p.ptest2, p.ptest3, p.ptest4;
BEGIN;
UPDATE pktable SET ptest1 = ptest1 + 10 WHERE ptest1 = 8;
SELECT * FROM pktable ORDER BY 1, 2, 3;
ROLLBACK;
SELECT * FROM pktable ORDER BY 1, 2, 3;
SELECT * FROM fktable ORDER BY 1, 2, 3, 4;
CREATE TABLE pk2 (id int PRIMARY KEY, v text);
CREATE TABLE fk2 (id int REFERENCES pk2 ON DELETE SET NULL, note text);
INSERT INTO pk2 SELECT g, 'v' || g FROM generate_series(1, 20) g;
INSERT INTO fk2 VALUES (3, 'three'), (5, 'five');
UPDATE pk2 SET id = id + 100 WHERE id > 10;
UPDATE pk2 SET id = 50 WHERE id = 4;
SELECT id, v FROM pk2 ORDER BY 1;
SELECT * FROM fk2 ORDER BY 1;
CREATE TABLE fk3 (id int REFERENCES pk2, note text);
INSERT INTO fk3 VALUES (6, 'six');
-- error
UPDATE pk2 SET id = 60 WHERE id = 6;
SELECT count(*) FROM pk2 WHERE id = 6;
DROP TABLE fk3, fk2, pk2, fktable, pktable;
CREATE TABLE pktable (ptest1 int PRIMARY KEY, ptest2 text);
CREATE TABLE fktable (ftest1 int REFERENCES pktable MATCH FULL ON DELETE CASCADE ON UPDATE CASCADE, ftest2 int);
INSERT INTO pktable VALUES (1, 'test1'), (2, 'test2'), (3, 'test3'), (4, 'test4'), (5, 'test5');
INSERT INTO fktable VALUES (1, 2), (2, 3), (3, 4), (NULL, 1);
-- error
UPDATE pktable SET ptest1 = 1 WHERE ptest1 = 2;
UPDATE pktable SET ptest1 = 7 WHERE ptest1 = 3;
SELECT * FROM pktable ORDER BY 1;
SELECT * FROM fktable ORDER BY 1, 2;
DELETE FROM pktable WHERE ptest1 = 7;
SELECT * FROM fktable ORDER BY 1, 2;
DROP TABLE fktable, pktable;
CREATE TABLE pk (a int PRIMARY KEY);
CREATE TABLE fk (a int);
INSERT INTO pk VALUES (20), (50);
ALTER TABLE fk ADD FOREIGN KEY (a) REFERENCES pk ON UPDATE SET NULL ON DELETE SET NULL;
INSERT INTO fk VALUES (20), (50);
UPDATE pk SET a = 21 WHERE a = 20;
DELETE FROM pk WHERE a = 50;
SELECT * FROM fk ORDER BY 1;
SELECT * FROM pk ORDER BY 1;
DROP TABLE fk, pk;
RESET search_path;
