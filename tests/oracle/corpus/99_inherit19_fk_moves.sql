/*
UPDATE of the distribution column of a table that a foreign key with ON DELETE / ON
UPDATE actions references (h-inherit19, foreign_key.sql:105-113, 472-480). Rows move as
DELETE and INSERT, so such a key refused every such UPDATE (0A000), also of rows nothing
references, where neither action has anything to do. The rows about to move are now
locked and checked on their datanode (a key that holds has its referencing rows there):
only a move of referenced rows is refused. NO ACTION keys fail as in PostgreSQL (23503).
*/
CREATE SCHEMA oracle_inh19f;
SET search_path = oracle_inh19f;
CREATE TABLE pktable (ptest1 int, ptest2 int, ptest3 int, ptest4 text, PRIMARY KEY (ptest1, ptest2, ptest3));
CREATE TABLE fktable (ftest1 int, ftest2 int, ftest3 int, ftest4 int, CONSTRAINT constrname3
  FOREIGN KEY (ftest1, ftest2, ftest3) REFERENCES pktable ON DELETE CASCADE ON UPDATE CASCADE);
INSERT INTO pktable VALUES (1, 2, 3, 'test1'), (1, 3, 3, 'test2'), (2, 3, 4, 'test3'), (2, 4, 5, 'test4');
INSERT INTO fktable VALUES (1, 2, 3, 1), (NULL, 2, 3, 2), (2, NULL, 3, 3), (NULL, 2, 7, 4), (NULL, 3, 4, 5);
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
RESET search_path;
