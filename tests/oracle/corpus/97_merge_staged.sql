/*
MERGE into a distributed table from a source that is not colocated with it: the source
rows staged on the target's nodes by the target's partition hash of the ON condition's
key (planner/merge_staged.py, executor/merge_staged.py), or broadcast to every node when
the condition has no such key and nothing is inserted. Sources: a REPLICATION table, a
HASH table distributed by another column, a subquery with aggregates, VALUES, a join of
distributed tables, a CTE, a session TEMP table. MATCHED / NOT MATCHED / NOT MATCHED BY
SOURCE with AND conditions, DO NOTHING, RETURNING merge_action(), commit and rollback,
cardinality violation (21000), NULL keys, psql-style multi-line statements.
*/

CREATE TABLE prod (sku text PRIMARY KEY, name text, qty int, price numeric(10, 2)) DISTRIBUTE BY HASH (sku);
CREATE TABLE stage_h (id int PRIMARY KEY, sku text, qty int) DISTRIBUTE BY HASH (id);
CREATE TABLE stage_r (sku text, qty int, gone bool) DISTRIBUTE BY REPLICATION;
CREATE TABLE sales (oid int PRIMARY KEY, sku text, n int) DISTRIBUTE BY HASH (oid);
CREATE TABLE prices (sku text, price numeric(10, 2)) DISTRIBUTE BY HASH (price);
INSERT INTO prod SELECT 'p' || g, 'item ' || g, g, g * 1.5 FROM generate_series(1, 40) g;
INSERT INTO stage_h SELECT g, 'p' || (g * 3), g * 100 FROM generate_series(1, 20) g;
INSERT INTO stage_r SELECT 'p' || g, -g, g % 4 = 0 FROM generate_series(30, 50) g;
INSERT INTO sales SELECT g, 'p' || (g % 45 + 1), g % 7 FROM generate_series(1, 200) g;
INSERT INTO prices SELECT 'p' || g, g * 2.25 FROM generate_series(35, 48) g;

-- a HASH source distributed by another column: update, insert the new keys
MERGE INTO prod p USING stage_h s ON p.sku = s.sku WHEN MATCHED THEN UPDATE SET qty = s.qty WHEN NOT MATCHED THEN INSERT (sku, name, qty) VALUES (s.sku, 'new', s.qty);
SELECT count(*), sum(qty), count(*) FILTER (WHERE name = 'new') FROM prod;
SELECT * FROM prod WHERE sku IN ('p3', 'p39', 'p42', 'p60') ORDER BY sku;

-- a REPLICATION source: conditions on the clauses, DELETE, DO NOTHING, RETURNING
MERGE INTO prod p USING stage_r s ON p.sku = s.sku WHEN MATCHED AND s.gone THEN DELETE WHEN MATCHED AND p.qty > 1000 THEN DO NOTHING WHEN MATCHED THEN UPDATE SET qty = s.qty, name = 'rep' WHEN NOT MATCHED AND s.qty < -45 THEN INSERT VALUES (s.sku, 'rep new', s.qty, 0) RETURNING merge_action(), p.sku, p.qty, s.gone;
SELECT count(*), sum(qty) FROM prod;

-- psql-style, over several lines, with comments; a subquery with aggregates over a HASH table
MERGE INTO prod AS p
USING (
    SELECT o.sku, sum(o.n) AS total  -- grouped: not colocated with prod
    FROM sales o
    GROUP BY o.sku
) AS s
ON p.sku = s.sku
WHEN MATCHED AND s.total > 30 THEN
    UPDATE SET qty = p.qty + s.total
WHEN NOT MATCHED THEN
    INSERT (sku, name, qty) VALUES (s.sku, 'from sales', s.total);
SELECT count(*), sum(qty), count(*) FILTER (WHERE name = 'from sales') FROM prod;

-- a join of two distributed tables (neither colocated with prod) as a subquery, NOT MATCHED BY SOURCE
MERGE INTO prod p USING (SELECT o.sku, max(x.price) AS price FROM sales o JOIN prices x ON x.sku = o.sku GROUP BY o.sku) s ON s.sku = p.sku WHEN MATCHED THEN UPDATE SET price = s.price WHEN NOT MATCHED BY SOURCE AND p.qty < 3 THEN DELETE;
SELECT count(*), sum(price), sum(qty) FROM prod;
SELECT sku, price FROM prod WHERE price > 80 ORDER BY sku;

-- VALUES whose rows belong on several nodes, with a NULL key (never matches; inserted it fails)
MERGE INTO prod p USING (VALUES ('p5', 5), ('p6', 6), ('zz1', 7), (NULL, 8)) AS v(sku, q) ON p.sku = v.sku WHEN MATCHED THEN UPDATE SET qty = v.q WHEN NOT MATCHED AND v.sku IS NOT NULL THEN INSERT (sku, qty) VALUES (v.sku, v.q);
SELECT * FROM prod WHERE sku IN ('p5', 'p6', 'zz1') OR sku IS NULL ORDER BY sku;
-- error
MERGE INTO prod p USING (VALUES ('p7', 5), (NULL, 8)) AS v(sku, q) ON p.sku = v.sku WHEN NOT MATCHED THEN INSERT (sku, qty) VALUES (v.sku, v.q);
SELECT count(*), sum(qty) FROM prod;

-- one constant row (whose node alone used to run the MERGE), NOT MATCHED BY SOURCE reaching every node
MERGE INTO prod p USING (SELECT 'p5' AS sku, 55 AS q) s ON p.sku = s.sku WHEN MATCHED THEN UPDATE SET qty = s.q WHEN NOT MATCHED BY SOURCE AND p.qty < 0 THEN UPDATE SET qty = -p.qty RETURNING p.sku, p.qty;
SELECT count(*) FILTER (WHERE qty < 0), sum(qty) FROM prod;

-- a CTE source, the key an expression of the source
WITH up AS (SELECT upper(sku) AS code, qty FROM stage_r WHERE qty > -40) MERGE INTO prod p USING up ON p.sku = lower(up.code) WHEN MATCHED THEN UPDATE SET qty = up.qty * 10;
SELECT sku, qty FROM prod WHERE sku BETWEEN 'p30' AND 'p39' ORDER BY sku;

-- a target row matched by two source rows: cardinality violation, nothing changed
-- error
MERGE INTO prod p USING (SELECT sku, qty FROM stage_h UNION ALL SELECT 'p9', 1) s ON p.sku = s.sku WHEN MATCHED THEN UPDATE SET qty = s.qty;
SELECT count(*), sum(qty) FROM prod;

-- inside a transaction: rolled back, then committed
BEGIN;
MERGE INTO prod p USING stage_h s ON p.sku = s.sku WHEN MATCHED THEN DELETE WHEN NOT MATCHED THEN DO NOTHING;
SELECT count(*) FROM prod;
ROLLBACK;
SELECT count(*), sum(qty) FROM prod;
BEGIN;
MERGE INTO prod p USING stage_r s ON p.sku = s.sku WHEN MATCHED THEN UPDATE SET name = 'in block';
SELECT count(*) FROM prod WHERE name = 'in block';
COMMIT;
SELECT count(*) FROM prod WHERE name = 'in block';

-- no equality on the distribution column: every node gets every source row (no INSERT)
MERGE INTO prod p USING stage_h s ON p.qty = s.id WHEN MATCHED THEN UPDATE SET name = 'by qty' WHEN NOT MATCHED BY SOURCE AND p.qty > 1800 THEN UPDATE SET name = 'big';
SELECT name, count(*) FROM prod WHERE name IN ('by qty', 'big') GROUP BY name ORDER BY name;

-- comments before MERGE, before USING and after the source
/* nightly load */ MERGE INTO prod p -- the target
USING stage_r s -- the source
ON p.sku = s.sku
WHEN MATCHED AND s.qty < -48 THEN DELETE;
SELECT count(*) FROM prod;

-- the classic ETL: a session temp table as the staging table
CREATE TEMP TABLE incoming (sku text, qty int, price numeric);
INSERT INTO incoming VALUES ('p1', 11, 1.1), ('p2', 22, NULL), ('new1', 1, 9.99), ('new2', 2, 8.88), (NULL, 3, 3);
MERGE INTO prod AS p
USING incoming AS i
ON p.sku = i.sku
WHEN MATCHED AND i.price IS NULL THEN
  DELETE
WHEN MATCHED THEN
  UPDATE SET qty = i.qty, price = i.price
WHEN NOT MATCHED AND i.sku IS NOT NULL THEN
  INSERT (sku, name, qty, price) VALUES (i.sku, 'etl', i.qty, i.price)
RETURNING merge_action(), p.sku, p.qty, p.price;
SELECT * FROM prod WHERE sku IN ('p1', 'p2', 'new1', 'new2') ORDER BY sku;
BEGIN;
INSERT INTO incoming VALUES ('p1', 99, 9);
-- error
MERGE INTO prod p USING incoming i ON p.sku = i.sku WHEN MATCHED THEN UPDATE SET qty = i.qty;
ROLLBACK;
SELECT qty FROM prod WHERE sku = 'p1';
SELECT count(*), sum(qty), sum(price) FROM prod;
