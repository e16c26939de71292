/*
Writes as applications write them, compared with PostgreSQL (issue 12, h-hunt): UPDATE
SET (a, b) = (SELECT ...) reading a table that is not colocated (its sub-select was
spliced twice: a syntax error), correlated sub-selects and self-joins that must read the
statement's old snapshot, UPDATE ... FROM counting target rows once, SET col = DEFAULT,
RETURNING old/new, MERGE with sub-selects as source.
*/
CREATE TABLE wa_t (id int PRIMARY KEY, v int DEFAULT 7, w text DEFAULT 'dw') DISTRIBUTE BY HASH (id);
CREATE TABLE wa_s (k int PRIMARY KEY, id int, v int) DISTRIBUTE BY HASH (k);
INSERT INTO wa_t (id, v) SELECT g, g FROM generate_series(1, 20) g;
INSERT INTO wa_s SELECT g, g % 10 + 1, g FROM generate_series(1, 30) g;
UPDATE wa_t SET (v, w) = (SELECT v, 'c' || k FROM wa_s WHERE wa_s.k = wa_t.id) WHERE id <= 5;
UPDATE wa_t SET (v, w) = (SELECT max(v), 'm' || count(*) FROM wa_s WHERE wa_s.id = wa_t.id) WHERE id > 15;
-- error
UPDATE wa_t SET (v, w) = (SELECT v, 'x' FROM wa_s WHERE wa_s.id = wa_t.id) WHERE id = 6;
SELECT * FROM wa_t ORDER BY id;
UPDATE wa_t SET (v, w) = (SELECT max(v), 'm' || count(*) FROM wa_s WHERE wa_s.id = wa_t.id) WHERE id BETWEEN 6 AND 12 RETURNING *;
UPDATE wa_t SET v = DEFAULT, w = DEFAULT WHERE id IN (1, 2) RETURNING old.v, new.v, new.w;
UPDATE wa_t SET v = wa_s.v FROM wa_s WHERE wa_s.id = wa_t.id AND wa_s.k > 20;
UPDATE wa_t SET v = t2.v FROM wa_t t2 WHERE t2.id = wa_t.id + 1 AND wa_t.id < 10;
SELECT id, v FROM wa_t ORDER BY id;
UPDATE wa_t SET v = (SELECT count(*) FROM wa_s WHERE wa_s.v > wa_t.v) WHERE id BETWEEN 13 AND 15 RETURNING id, v;
DELETE FROM wa_t USING wa_s WHERE wa_s.v = wa_t.id * 3 RETURNING old.id;
MERGE INTO wa_t USING (SELECT id, max(v) AS v FROM wa_s GROUP BY id) q ON wa_t.id = q.id
  WHEN MATCHED THEN UPDATE SET v = q.v WHEN NOT MATCHED THEN INSERT VALUES (q.id, q.v, 'q');
-- error
MERGE INTO wa_t USING wa_s ON wa_t.id = wa_s.id WHEN MATCHED THEN UPDATE SET v = wa_s.v;
MERGE INTO wa_t USING wa_s ON wa_t.id = wa_s.k WHEN NOT MATCHED BY SOURCE THEN DELETE;
SELECT * FROM wa_t ORDER BY id;
-- the dedupe idiom on the distribution column pairs rows of one shard: it runs
CREATE TABLE wa_d (id int, k int, v int) DISTRIBUTE BY HASH (id);
INSERT INTO wa_d SELECT g, g % 5, g FROM generate_series(1, 40) g;
INSERT INTO wa_d SELECT id, k, v FROM wa_d WHERE id <= 10;
DELETE FROM wa_d a USING wa_d b WHERE a.ctid < b.ctid AND a.id = b.id;
SELECT id, count(*) FROM wa_d GROUP BY id HAVING count(*) > 1;
SELECT count(*), sum(v) FROM wa_d;
-- moving rows of a table with generated columns (stored and virtual): recomputed, not copied
CREATE TABLE wa_g (a int, b int GENERATED ALWAYS AS (a * 2) STORED, c text, d int GENERATED ALWAYS AS (a + 1)) DISTRIBUTE BY HASH (a);
INSERT INTO wa_g (a, c) SELECT g, 'z' || g FROM generate_series(1, 20) g;
UPDATE wa_g SET a = 100 WHERE a = 1 RETURNING *;
UPDATE wa_g SET a = a + 1000, c = c || '!' WHERE a > 15 RETURNING b, a, d, c;
SELECT * FROM wa_g WHERE b > 100 ORDER BY a;
SELECT count(*), sum(b), sum(d) FROM wa_g;
-- INSERT ... SELECT leaving the distribution column to a volatile default: evaluated once,
-- routed by that value (the datanodes evaluated it again: "no partition of relation found")
CREATE TABLE wa_u (id uuid DEFAULT gen_random_uuid() PRIMARY KEY, v int) DISTRIBUTE BY HASH (id);
INSERT INTO wa_u (v) SELECT g FROM generate_series(1, 50) g;
INSERT INTO wa_u (v) SELECT v + 100 FROM wa_u WHERE v <= 5 RETURNING v;
INSERT INTO wa_u (v) SELECT k FROM wa_s WHERE k < 4 ON CONFLICT (id) DO NOTHING;
SELECT count(*), count(DISTINCT id), sum(v) FROM wa_u;
