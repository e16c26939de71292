/*
Writes of REPLICATION tables whose SET or WHERE holds a top-level `IS DISTINCT FROM`
(h-fuzz20's differential fuzz): the query that locks the rows on the table's first node
took that FROM for the statement's FROM list and was a syntax error (42601). Also FROM
lists whose sub-selects read without a select list, and DELETE ... USING.
*/
CREATE TABLE fz_rep (id int PRIMARY KEY, g int, v int, s text) DISTRIBUTE BY REPLICATION;
CREATE TABLE fz_by_g (id int, g int, v int) DISTRIBUTE BY HASH (g);
INSERT INTO fz_rep SELECT n, n % 3, n, CASE WHEN n % 4 = 0 THEN NULL ELSE chr(97 + n % 3) END FROM generate_series(1, 12) n;
INSERT INTO fz_by_g SELECT n, CASE WHEN n % 5 = 0 THEN NULL ELSE n % 4 END, n * 2 FROM generate_series(1, 20) n;
UPDATE fz_rep SET v = v + 100 WHERE s IS DISTINCT FROM 'a';
UPDATE fz_rep SET v = (SELECT count(*) FROM fz_by_g b WHERE b.g = fz_rep.g)::int WHERE fz_rep.s IS DISTINCT FROM 'b';
UPDATE fz_rep SET s = (v > 50)::text WHERE g IS NOT DISTINCT FROM 1 RETURNING id, s;
UPDATE fz_rep r SET v = q.m FROM (SELECT g, max(v) AS m FROM fz_by_g GROUP BY g) q WHERE r.g = q.g AND r.s IS DISTINCT FROM 'c';
UPDATE fz_rep SET v = -v FROM (SELECT FROM fz_by_g WHERE id = 3) q WHERE fz_rep.id < 4;
SELECT * FROM fz_rep ORDER BY id;
DELETE FROM fz_rep WHERE s IS DISTINCT FROM 'true' AND id > 9;
DELETE FROM fz_rep USING fz_by_g b WHERE fz_rep.v IS DISTINCT FROM b.v AND b.id = 1 AND fz_rep.id > 7 RETURNING fz_rep.id;
SELECT * FROM fz_rep ORDER BY id;
