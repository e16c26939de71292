/*
GROUP BY a table's primary key, selecting its other columns (PostgreSQL's functional
dependency; what Django's annotate() and pgexercises' answers write), where the grouped
table is copied: broadcast or repartitioned into scratch tables by an exchange, gathered
into the catalog server by the coordinator finish (window functions over the groups).
The copies keep the primary key (planner/gather.kept_primary_keys). Also: a composite
key, a json column, inside a transaction after uncommitted writes, and the queries
PostgreSQL refuses (no key, or the key only partly grouped) refused alike.
*/

CREATE TABLE fd_cust (id int PRIMARY KEY, name text NOT NULL, region text, doc jsonb) DISTRIBUTE BY HASH (id);
CREATE TABLE fd_ord (oid int PRIMARY KEY, cust_id int, amount int) DISTRIBUTE BY HASH (oid);
CREATE TABLE fd_line (oid int, line int, qty int, PRIMARY KEY (oid, line)) DISTRIBUTE BY HASH (oid);
CREATE TABLE fd_nokey (id int, name text) DISTRIBUTE BY HASH (id);
INSERT INTO fd_cust SELECT g, 'c' || g, 'r' || (g % 3), jsonb_build_object('k', g % 7) FROM generate_series(1, 3000) g;
INSERT INTO fd_ord SELECT g, 1 + g % 3000, g % 100 FROM generate_series(1, 20000) g;
INSERT INTO fd_line SELECT 1 + g % 5000, g % 4, g % 13 FROM generate_series(1, 12000) g ON CONFLICT DO NOTHING;
INSERT INTO fd_nokey SELECT g, 'n' || g FROM generate_series(1, 500) g;
ANALYZE fd_cust;
ANALYZE fd_ord;
ANALYZE fd_line;

-- the customer side moves to the orders' nodes
SELECT c.id, c.name, sum(o.amount) FROM fd_ord o JOIN fd_cust c ON c.id = o.cust_id GROUP BY c.id ORDER BY 3 DESC, 1 LIMIT 5;
SELECT c.region, c.doc, count(*) FROM fd_ord o JOIN fd_cust c ON c.id = o.cust_id GROUP BY c.id ORDER BY 3 DESC, c.id LIMIT 5;
SELECT c.name, count(*) AS n FROM fd_ord o JOIN fd_cust c ON c.id = o.cust_id WHERE o.amount > 50 GROUP BY c.id HAVING count(*) > 3 ORDER BY n DESC, c.name LIMIT 5;
SELECT count(*) FROM (SELECT c.id, c.name, max(o.amount) FROM fd_cust c LEFT JOIN fd_ord o ON o.cust_id = c.id GROUP BY c.id) s;
-- a window over the groups: the coordinator finish gathers both tables
SELECT c.name, sum(o.amount) AS total, rank() OVER (ORDER BY sum(o.amount) DESC) AS r FROM fd_ord o JOIN fd_cust c ON c.id = o.cust_id GROUP BY c.id ORDER BY r, c.name LIMIT 7;
-- an output alias beside the key
SELECT c.name, date_trunc('month', timestamp '2024-05-17') AS month, count(*) FROM fd_ord o JOIN fd_cust c ON c.id = o.cust_id GROUP BY c.id, month ORDER BY 3 DESC, 1 LIMIT 3;
-- a composite key, every column of it grouped
SELECT l.oid, l.line, l.qty, count(o.oid) FROM fd_line l LEFT JOIN fd_ord o ON o.amount = l.qty GROUP BY l.oid, l.line ORDER BY 4 DESC, 1, 2 LIMIT 5;

-- inside a transaction, after writes it has not committed
BEGIN;
UPDATE fd_cust SET name = 'renamed' WHERE id = 7;
INSERT INTO fd_ord VALUES (900001, 7, 99);
SELECT c.id, c.name, sum(o.amount) FROM fd_ord o JOIN fd_cust c ON c.id = o.cust_id WHERE c.id IN (7, 8) GROUP BY c.id ORDER BY 1;
SELECT c.name, sum(o.amount), rank() OVER (ORDER BY sum(o.amount) DESC, c.id) FROM fd_ord o JOIN fd_cust c ON c.id = o.cust_id WHERE c.id < 12 GROUP BY c.id ORDER BY 3;
ROLLBACK;

-- what PostgreSQL refuses, refused alike
-- error
SELECT k.id, k.name, sum(o.amount) FROM fd_ord o JOIN fd_nokey k ON k.id = o.cust_id GROUP BY k.id;
-- error
SELECT l.oid, l.qty, count(*) FROM fd_line l JOIN fd_ord o ON o.amount = l.qty GROUP BY l.oid;

-- a bare column in GROUP BY beside the qualified one in the select list (LeetCode 1205's answer)
SELECT to_char(c.d, 'YYYY-MM') AS month, t.region, count(*) FROM (SELECT id, date '2024-01-01' + (id % 90) AS d FROM fd_cust) c JOIN fd_cust t ON t.id = c.id GROUP BY to_char(d, 'YYYY-MM'), t.region ORDER BY 1, 2;
SELECT o.amount % 7 AS bucket, count(*) FROM fd_ord o JOIN fd_cust c ON c.id = o.cust_id GROUP BY amount % 7 ORDER BY 1;
SELECT c.region || '-' || o.amount % 3 AS k, sum(o.amount) FROM fd_ord o JOIN fd_cust c ON c.id = o.cust_id GROUP BY region || '-' || amount % 3 ORDER BY 1;
-- error
SELECT amount, count(*) FROM fd_ord o JOIN fd_ord p ON p.oid = o.cust_id GROUP BY o.amount;

-- partition_aggregate.sql: GROUP BY the join key of the nullable side of an outer join.
-- Its column is NULL in the rows the join adds, on every node, so the groups are not final
-- on each node: the NULL group came once per node
CREATE TABLE gk_outer_a (x int, y int) DISTRIBUTE BY HASH (x);
CREATE TABLE gk_outer_b (x int, y int) DISTRIBUTE BY HASH (x);
INSERT INTO gk_outer_a SELECT i % 30, i % 20 FROM generate_series(0, 299, 2) i;
INSERT INTO gk_outer_b SELECT i % 20, i % 30 FROM generate_series(0, 299, 3) i;
ANALYZE gk_outer_a;
ANALYZE gk_outer_b;
SELECT b.y, sum(a.y) FROM gk_outer_a a LEFT JOIN gk_outer_b b ON a.x = b.y GROUP BY b.y ORDER BY 1 NULLS LAST;
SELECT b.y, count(*) FROM gk_outer_b b RIGHT JOIN gk_outer_a a ON a.x = b.y GROUP BY b.y ORDER BY 1 NULLS FIRST;
SELECT count(*), count(x) FROM (SELECT b.x FROM gk_outer_a a LEFT JOIN gk_outer_b b ON a.x = b.x GROUP BY b.x) s;
SELECT count(*) FROM (SELECT b.x FROM gk_outer_a a FULL JOIN gk_outer_b b ON a.x = b.x GROUP BY b.x) s;
SELECT a.x, count(b.y) FROM gk_outer_a a LEFT JOIN gk_outer_b b ON a.x = b.y GROUP BY a.x ORDER BY 1;
