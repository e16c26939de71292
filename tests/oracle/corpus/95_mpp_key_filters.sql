/*
Cuts below an exchange (planner/broadcast.py): a local table equated to a small, selective
broadcast copy reads only that copy's keys (`col = ANY(ARRAY(SELECT DISTINCT key ...))`,
where an index leads with the column), and a moved table equated to a replicated table
reads only the rows whose value the replicated table has under its own conditions.
Exercises: TPC-H Q08's shape (fact HASH on one key, its colocated partner, a dimension
filtered hard, a second dimension cut through replicated tables); duplicate keys in the
copy (the join's multiplicity must stay), NULL keys on both sides, an empty copy, an
alias, the key column under an expression, the copy on the nullable side of a LEFT JOIN
(no cut from an ON), a self join of the fact, GROUP BY and ORDER BY over the result;
inside transactions after uncommitted writes to the fact, the dimension and the
replicated table, after a failed statement rolled back to a savepoint, with parameters.
A statement grouped by the anchor's partitioning column after an exchange: each node's
groups are final, so the nodes sort and limit them and the coordinator merges (ORDER BY
output names and positions, LIMIT/OFFSET, HAVING, NULL keys, an unnamed aggregate; a
GROUP BY without it, ROLLUP and an ORDER BY on an aggregate stay two-phase).
*/

CREATE TABLE kf_fact (id int NOT NULL, dkey int, ckey int, amount int) DISTRIBUTE BY HASH (id);
CREATE TABLE kf_side (id int NOT NULL, day int) DISTRIBUTE BY HASH (id);
CREATE TABLE kf_dim (dkey int, kind text) DISTRIBUTE BY HASH (dkey);
CREATE TABLE kf_cust (ckey int, region int) DISTRIBUTE BY HASH (ckey);
CREATE TABLE kf_region (region int, area int, name text) DISTRIBUTE BY REPLICATION;
CREATE TABLE kf_area (area int, label text) DISTRIBUTE BY REPLICATION;
CREATE INDEX ON kf_fact (dkey);
INSERT INTO kf_fact SELECT g, CASE WHEN g % 97 = 0 THEN NULL ELSE g % 4000 END, g % 3000, g % 113 FROM generate_series(1, 40000) g;
INSERT INTO kf_side SELECT g, g % 365 FROM generate_series(1, 40000) g;
INSERT INTO kf_dim SELECT g, CASE WHEN g % 100 = 7 THEN 'rare' WHEN g % 2 = 0 THEN 'even' ELSE 'odd' END FROM generate_series(0, 3999) g;
INSERT INTO kf_dim VALUES (7, 'rare'), (107, 'rare'), (NULL, 'rare');
INSERT INTO kf_cust SELECT g, g % 25 FROM generate_series(0, 2999) g;
INSERT INTO kf_region SELECT g, g % 5, 'r' || g FROM generate_series(0, 24) g;
INSERT INTO kf_area VALUES (0, 'north'), (1, 'south'), (2, 'east'), (3, 'west'), (4, 'middle');
ANALYZE kf_fact;
ANALYZE kf_side;
ANALYZE kf_dim;
ANALYZE kf_cust;
ANALYZE kf_region;
ANALYZE kf_area;

-- Q08's shape: the fact read for the rare keys, customers cut through region and area
SELECT s.day % 7 AS wd, sum(f.amount), count(*) FROM kf_dim d, kf_fact f, kf_side s, kf_cust c, kf_region r, kf_area a WHERE d.dkey = f.dkey AND f.id = s.id AND f.ckey = c.ckey AND c.region = r.region AND r.area = a.area AND a.label = 'south' AND d.kind = 'rare' GROUP BY 1 ORDER BY 1;
SELECT count(*), sum(f.amount) FROM kf_fact f JOIN kf_dim d ON d.dkey = f.dkey WHERE d.kind = 'rare';
SELECT f.id, f.dkey FROM kf_fact AS f, kf_dim AS d WHERE f.dkey = d.dkey AND d.kind = 'rare' AND f.amount < 3 ORDER BY f.id;
SELECT count(*) FROM kf_fact f, kf_dim d WHERE f.dkey = d.dkey AND d.kind = 'nothing';
SELECT count(*) FROM kf_fact f, kf_dim d WHERE f.dkey = d.dkey AND d.kind = 'rare' AND d.dkey IS NULL;
SELECT count(*) FROM kf_fact f, kf_dim d WHERE f.dkey + 0 = d.dkey AND d.kind = 'rare';
SELECT count(*) FROM kf_fact f LEFT JOIN kf_dim d ON d.dkey = f.dkey AND d.kind = 'rare';
SELECT count(d.dkey), count(*) FROM kf_fact f LEFT JOIN kf_dim d ON d.dkey = f.dkey AND d.kind = 'rare' WHERE f.amount = 5;
SELECT count(*) FROM kf_fact f1 JOIN kf_fact f2 ON f2.id = f1.id JOIN kf_dim d ON d.dkey = f1.dkey WHERE d.kind = 'rare';
SELECT d.dkey, count(*) FROM kf_fact f, kf_dim d, kf_side s WHERE f.dkey = d.dkey AND s.id = f.id AND d.kind = 'rare' AND s.day < 100 GROUP BY d.dkey ORDER BY count(*) DESC, d.dkey LIMIT 5;
SELECT count(*), sum(c.region) FROM kf_fact f, kf_cust c, kf_region r WHERE f.ckey = c.ckey AND c.region = r.region AND r.name IN ('r3', 'r4');
SELECT count(*) FROM kf_fact f, kf_cust c, kf_region r WHERE f.ckey = c.ckey AND c.region = r.region;
SELECT count(*) FROM kf_fact f JOIN kf_cust c ON f.ckey = c.ckey LEFT JOIN kf_region r ON c.region = r.region AND r.area = 2;
SELECT count(r.region) FROM kf_fact f JOIN kf_cust c ON f.ckey = c.ckey LEFT JOIN kf_region r ON c.region = r.region WHERE r.area = 2 OR r.area IS NULL;

-- grouped by the anchor's partitioning column: final groups merged
SELECT f.id, sum(f.amount) AS total, count(*) FROM kf_fact f, kf_dim d WHERE f.dkey = d.dkey AND d.kind = 'even' GROUP BY f.id ORDER BY total DESC, f.id LIMIT 7;
SELECT f.id, sum(f.amount) AS total FROM kf_fact f, kf_dim d WHERE f.dkey = d.dkey AND d.kind = 'odd' GROUP BY f.id HAVING sum(f.amount) > 100 ORDER BY 2 DESC, 1 LIMIT 5 OFFSET 3;
SELECT f.id, s.day, max(c.region) FROM kf_fact f JOIN kf_side s ON s.id = f.id JOIN kf_cust c ON c.ckey = f.ckey WHERE f.amount < 2 GROUP BY f.id, s.day ORDER BY max DESC, f.id LIMIT 9;
SELECT f.dkey, count(*) FROM kf_fact f, kf_cust c WHERE f.ckey = c.ckey AND c.region = 4 GROUP BY f.dkey ORDER BY count(*) DESC, f.dkey NULLS FIRST LIMIT 6;
SELECT f.id, count(*) FROM kf_fact f, kf_cust c WHERE f.ckey = c.ckey AND c.region = 4 GROUP BY ROLLUP (f.id) ORDER BY 2 DESC, 1 NULLS FIRST LIMIT 4;
SELECT f.id, sum(f.amount) FROM kf_fact f, kf_dim d WHERE f.dkey = d.dkey AND d.kind = 'rare' GROUP BY f.id ORDER BY sum(f.amount) DESC, f.id LIMIT 4;

-- inside transactions, after uncommitted writes
BEGIN;
INSERT INTO kf_dim VALUES (3001, 'rare'), (NULL, 'rare');
INSERT INTO kf_fact VALUES (50001, 3001, 1, 7), (50002, NULL, 2, 8), (50003, 7, 3, 9);
INSERT INTO kf_side VALUES (50001, 1), (50002, 2), (50003, 3);
UPDATE kf_region SET area = 1 WHERE region = 0;
SELECT s.day % 7 AS wd, sum(f.amount), count(*) FROM kf_dim d, kf_fact f, kf_side s, kf_cust c, kf_region r, kf_area a WHERE d.dkey = f.dkey AND f.id = s.id AND f.ckey = c.ckey AND c.region = r.region AND r.area = a.area AND a.label = 'south' AND d.kind = 'rare' GROUP BY 1 ORDER BY 1;
SELECT count(*), sum(f.amount) FROM kf_fact f JOIN kf_dim d ON d.dkey = f.dkey WHERE d.kind = 'rare';
SAVEPOINT s1;
-- error
SELECT count(*) FROM kf_fact f JOIN kf_dim d ON d.dkey = f.dkey WHERE d.kind = 'rare' AND 1 / (f.amount - f.amount) > 0;
ROLLBACK TO SAVEPOINT s1;
DELETE FROM kf_dim WHERE dkey = 7;
SELECT count(*), sum(f.amount) FROM kf_fact f JOIN kf_dim d ON d.dkey = f.dkey WHERE d.kind = 'rare';
SELECT f.id, sum(f.amount) AS total FROM kf_fact f, kf_dim d WHERE f.dkey = d.dkey AND d.kind = 'rare' GROUP BY f.id ORDER BY total DESC, f.id LIMIT 5;
PREPARE kf_q(text) AS SELECT count(*), sum(f.amount) FROM kf_fact f JOIN kf_dim d ON d.dkey = f.dkey WHERE d.kind = $1;
EXECUTE kf_q('rare');
EXECUTE kf_q('none');
DEALLOCATE kf_q;
ROLLBACK;
SELECT count(*), sum(f.amount) FROM kf_fact f JOIN kf_dim d ON d.dkey = f.dkey WHERE d.kind = 'rare';
SELECT count(*) FROM kf_fact f, kf_cust c, kf_region r, kf_area a WHERE f.ckey = c.ckey AND c.region = r.region AND r.area = a.area AND a.label = 'south';
