/*
Tables placed TO NODE some datanodes only (h-mpp15's probe): a REPLICATION
table on one node joined with a HASH table on both, and HASH tables on one node joined
with tables elsewhere. The broadcast's scratch table was made `AS SELECT ... FROM <moved
table>` on every node of the anchor, also where the moved table does not exist (42P01
"relation ... does not exist"); an UPDATE/DELETE reading such a REPLICATION table ran as
if every node held a copy (42P01), and its gathered copy is read from one copy only.
*/

CREATE TABLE h1 (id int NOT NULL, k int, g text) DISTRIBUTE BY HASH (id) TO NODE (dn1);
CREATE TABLE h2 (id int NOT NULL, k int, g text) DISTRIBUTE BY HASH (id) TO NODE (dn2);
CREATE TABLE hall (id int NOT NULL, k int, g text) DISTRIBUTE BY HASH (id);
CREATE TABLE r1 (k int, label text) DISTRIBUTE BY REPLICATION TO NODE (dn1);
CREATE TABLE r2 (k int, label text) DISTRIBUTE BY REPLICATION TO NODE (dn2);
CREATE TABLE rall (k int, label text) DISTRIBUTE BY REPLICATION;
CREATE TABLE m1 (id int, k int) DISTRIBUTE BY MODULO (id) TO NODE (dn2);
CREATE TABLE rr1 (id int, k int) DISTRIBUTE BY ROUNDROBIN TO NODE (dn1);
INSERT INTO h1 SELECT i, i % 10, chr(97 + i % 3) FROM generate_series(1, 100) i;
INSERT INTO h2 SELECT i, i % 12, chr(97 + i % 4) FROM generate_series(50, 160) i;
INSERT INTO hall SELECT i, i % 8, chr(97 + i % 5) FROM generate_series(1, 200) i;
INSERT INTO r1 SELECT i, 'r1_' || i FROM generate_series(0, 9) i;
INSERT INTO r2 SELECT i, 'r2_' || i FROM generate_series(0, 6) i;
INSERT INTO rall SELECT i, 'ra_' || i FROM generate_series(0, 11) i;
INSERT INTO m1 SELECT i, i % 5 FROM generate_series(1, 30) i;
INSERT INTO rr1 SELECT i, i % 7 FROM generate_series(1, 30) i;
SELECT count(*) FROM hall JOIN r1 ON r1.k = hall.k;
SELECT count(*) FROM hall JOIN r2 ON r2.k = hall.k;
SELECT count(*) FROM hall LEFT JOIN r1 ON r1.k = hall.k;
SELECT count(*), count(r2.k) FROM hall LEFT JOIN r2 ON r2.k = hall.k;
SELECT count(*) FROM h1 JOIN r2 ON r2.k = h1.k;
SELECT count(*) FROM h2 JOIN r1 ON r1.k = h2.k;
SELECT count(*) FROM h1 JOIN r1 ON r1.k = h1.k;
SELECT count(*) FROM h1 JOIN h2 ON h1.id = h2.id;
SELECT count(*) FROM h1 JOIN h2 ON h1.k = h2.k;
SELECT count(*) FROM h1 FULL JOIN h2 ON h1.id = h2.id;
SELECT count(*) FROM h1 JOIN hall ON h1.id = hall.id;
SELECT count(*) FROM h1 LEFT JOIN hall ON h1.id = hall.id;
SELECT count(*) FROM hall LEFT JOIN h1 ON h1.id = hall.id;
SELECT count(*) FROM hall FULL JOIN h2 ON h2.id = hall.id;
SELECT count(*) FROM hall WHERE id IN (SELECT id FROM h1);
SELECT count(*) FROM hall WHERE id NOT IN (SELECT id FROM h2);
SELECT count(*) FROM hall WHERE NOT EXISTS (SELECT 1 FROM h2 WHERE h2.id = hall.id);
SELECT count(*) FROM hall WHERE EXISTS (SELECT 1 FROM r2 WHERE r2.k = hall.k);
SELECT count(*) FROM hall WHERE NOT EXISTS (SELECT 1 FROM r1 WHERE r1.k = hall.k);
SELECT count(*) FROM hall WHERE k IN (SELECT k FROM r2);
SELECT count(*) FROM hall WHERE k NOT IN (SELECT k FROM r2);
SELECT hall.k, r2.label FROM hall LEFT JOIN r2 USING (k) WHERE hall.id < 20;
SELECT count(*) FROM r1 JOIN r2 ON r1.k = r2.k;
SELECT count(*) FROM r1 FULL JOIN r2 ON r1.k = r2.k;
SELECT count(*) FROM r1 JOIN rall ON r1.k = rall.k;
SELECT count(*) FROM m1 JOIN hall ON hall.id = m1.id;
SELECT count(*) FROM m1 JOIN r1 ON r1.k = m1.k;
SELECT count(*) FROM rr1 JOIN r2 ON r2.k = rr1.k;
SELECT count(*) FROM rr1 JOIN hall ON hall.k = rr1.k;
SELECT count(*) FROM rr1 JOIN m1 ON m1.k = rr1.k;
SELECT g, count(*) FROM h1 GROUP BY g;
SELECT g, count(*) FROM (SELECT g FROM h1 UNION ALL SELECT g FROM h2) s GROUP BY g;
SELECT k, count(*) FROM h2 JOIN rall USING (k) GROUP BY k;
SELECT id, (SELECT label FROM r2 WHERE r2.k = hall.k) FROM hall WHERE id < 30;
SELECT id, (SELECT label FROM r1 WHERE r1.k = h2.k) FROM h2 WHERE id < 80;
SELECT hall.id, l.label FROM hall, LATERAL (SELECT label FROM r2 WHERE r2.k = hall.k LIMIT 1) l;
WITH c AS (SELECT k, label FROM r2) SELECT count(*) FROM hall JOIN c USING (k);
SELECT hall.id, row_number() OVER (PARTITION BY r1.label ORDER BY hall.id) FROM hall JOIN r1 USING (k) WHERE hall.id < 60;
INSERT INTO h1 SELECT id + 1000, k, g FROM hall WHERE k IN (SELECT k FROM r2);
SELECT count(*) FROM h1;
INSERT INTO r2 SELECT DISTINCT k + 100, 'x' FROM hall;
SELECT count(*) FROM r2;
UPDATE hall SET g = r2.label FROM r2 WHERE r2.k = hall.k;
SELECT g, count(*) FROM hall GROUP BY g;
DELETE FROM hall USING r1 WHERE r1.k = hall.k AND r1.label = 'r1_3';
SELECT count(*) FROM hall;
UPDATE r1 SET label = 'u' WHERE k IN (SELECT k FROM hall WHERE g = 'r2_1');
SELECT * FROM r1;
DELETE FROM h2 WHERE k IN (SELECT k FROM r1 WHERE label = 'u');
SELECT count(*) FROM h2;
