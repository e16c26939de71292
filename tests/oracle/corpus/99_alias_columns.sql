/*
Column alias lists on distributed tables (issue 12, h-probe). `FROM a AS x(k, id)` renames
a's columns by position: `x.id` is a.ref. The strategies matched references to the
distribution column by name: `WHERE x.id = 3` was routed by a value of ref, and
`JOIN b ON b.id = x.id` ran node-locally as a colocated join (26 of 40 rows), silently.
Such a reference is now planned as `(SELECT * FROM a) AS x(k, id)`.
*/
CREATE SCHEMA oracle_ac;
CREATE TABLE oracle_ac.a (id int PRIMARY KEY, ref int, v text);
INSERT INTO oracle_ac.a SELECT g, 41 - g, 'v' || g FROM generate_series(1, 40) g;
CREATE TABLE oracle_ac.b (id int PRIMARY KEY, ref int);
INSERT INTO oracle_ac.b SELECT g, 41 - g FROM generate_series(1, 40) g;
SELECT * FROM oracle_ac.a AS x(k, id) WHERE id = 3;
SELECT * FROM oracle_ac.a x(k, id) WHERE x.id IN (3, 4) ORDER BY k;
SELECT count(*) FROM oracle_ac.a x(k, id) JOIN oracle_ac.b ON oracle_ac.b.id = x.id;
SELECT count(*) FROM oracle_ac.a JOIN oracle_ac.b y(k, id) ON a.id = y.id;
SELECT count(*) FROM oracle_ac.a x(k, id) JOIN oracle_ac.b USING (id);
SELECT x.k, y.id FROM oracle_ac.a x(k, id) JOIN oracle_ac.b y ON y.ref = x.k WHERE x.id = 7;
SELECT id, count(*) FROM oracle_ac.a x(ref, id) GROUP BY id ORDER BY id LIMIT 3;
UPDATE oracle_ac.a x SET v = 'w' FROM oracle_ac.b y(k, id) WHERE x.id = y.id AND y.k < 5 RETURNING x.id, x.v;
DELETE FROM oracle_ac.b y USING oracle_ac.a x(k, id) WHERE y.id = x.id AND x.k > 38 RETURNING y.id;
INSERT INTO oracle_ac.b SELECT id + 100, k FROM oracle_ac.a x(k, id) WHERE k < 3;
SELECT count(*), sum(id) FROM oracle_ac.b;
