/*
Semi-joins, anti-joins and joins on columns no table is distributed by (h-semi21): the
exchange may repartition the anchor itself by the correlation or join key, with the
table equated to it, or keep in place a table distributed by that key and move only the
other side (planner/broadcast.py, `_rekeyings`). Keys of int4, int8, text; NULL keys on
both sides; keys on one side only; a self-join; nested correlation; outer joins; a
round-robin side; NOT IN and an IN compared with false, whose NULLs need the whole
subquery (never repartitioned).
*/

CREATE TABLE sr_orders (id int NOT NULL, cust int, code text, big bigint, qty int) DISTRIBUTE BY HASH (id);
CREATE TABLE sr_events (eid int NOT NULL, cust int, code text, big bigint, kind int) DISTRIBUTE BY HASH (eid);
CREATE TABLE sr_custs (cust int NOT NULL, tier int) DISTRIBUTE BY HASH (cust);
CREATE TABLE sr_codes (code text, label text) DISTRIBUTE BY HASH (code);
CREATE TABLE sr_log (cust int, n int) DISTRIBUTE BY ROUNDROBIN;
CREATE TABLE sr_tiers (tier int, name text) DISTRIBUTE BY REPLICATION;
INSERT INTO sr_orders SELECT i, CASE WHEN i % 41 = 0 THEN NULL ELSE (i * 7) % 3000 END, CASE WHEN i % 43 = 0 THEN NULL ELSE 'c' || ((i * 5) % 2500) END, CASE WHEN i % 47 = 0 THEN NULL ELSE (i * 11) % 4000 END, i % 9 FROM generate_series(1, 2000) i;
INSERT INTO sr_events SELECT i, CASE WHEN i % 37 = 0 THEN NULL ELSE (i * 3) % 6000 END, CASE WHEN i % 31 = 0 THEN NULL ELSE 'c' || ((i * 13) % 5000) END, CASE WHEN i % 29 = 0 THEN NULL ELSE (i * 17) % 8000 END, i % 5 FROM generate_series(1, 9000) i;
INSERT INTO sr_custs SELECT i, i % 4 FROM generate_series(0, 5999, 3) i;
INSERT INTO sr_codes SELECT 'c' || i, 'l' || (i % 7) FROM generate_series(0, 4999, 2) i;
INSERT INTO sr_log SELECT (i * 19) % 6000, i % 11 FROM generate_series(1, 7000) i;
INSERT INTO sr_tiers VALUES (0, 'zero'), (1, 'one'), (2, 'two');
ANALYZE sr_orders;
ANALYZE sr_events;
ANALYZE sr_custs;
ANALYZE sr_codes;
ANALYZE sr_log;
ANALYZE sr_tiers;
SELECT count(*), sum(qty) FROM sr_orders o WHERE EXISTS (SELECT 1 FROM sr_events e WHERE e.cust = o.cust);
SELECT count(*), count(cust), sum(qty) FROM sr_orders o WHERE NOT EXISTS (SELECT 1 FROM sr_events e WHERE e.cust = o.cust);
SELECT count(*), sum(qty) FROM sr_orders WHERE cust IN (SELECT cust FROM sr_events WHERE kind <> 2);
SELECT count(*) FROM sr_orders o WHERE EXISTS (SELECT 1 FROM sr_events e WHERE e.code = o.code);
SELECT count(*), count(code) FROM sr_orders o WHERE NOT EXISTS (SELECT 1 FROM sr_events e WHERE e.code = o.code AND e.kind = 1);
SELECT count(*) FROM sr_orders o WHERE EXISTS (SELECT 1 FROM sr_events e WHERE e.big = o.big);
SELECT count(*), count(big) FROM sr_orders o WHERE NOT EXISTS (SELECT 1 FROM sr_events e WHERE e.big = o.big);
-- two correlation keys, one equality a key
SELECT count(*) FROM sr_orders o WHERE EXISTS (SELECT 1 FROM sr_events e WHERE e.cust = o.cust AND e.kind > o.qty % 5);
-- nested: the inner subquery correlated to the outermost reference
SELECT count(*) FROM sr_orders o WHERE EXISTS (SELECT 1 FROM sr_events e WHERE e.cust = o.cust AND EXISTS (SELECT 1 FROM sr_log l WHERE l.cust = o.cust AND l.n = e.kind));
-- a table distributed by the key stays in place
SELECT count(*), sum(qty) FROM sr_orders o WHERE EXISTS (SELECT 1 FROM sr_custs c WHERE c.cust = o.cust AND c.tier > 0);
SELECT count(*) FROM sr_orders o WHERE NOT EXISTS (SELECT 1 FROM sr_custs c WHERE c.cust = o.cust);
SELECT count(*) FROM sr_orders o WHERE EXISTS (SELECT 1 FROM sr_codes c WHERE c.code = o.code AND c.label <> 'l3');
-- the anchor's own table, equated on its distribution column
SELECT count(*) FROM sr_orders o WHERE EXISTS (SELECT 1 FROM sr_orders o2 WHERE o2.id = o.cust AND o2.qty > 3);
SELECT count(*) FROM sr_orders o WHERE NOT EXISTS (SELECT 1 FROM sr_orders o2 WHERE o2.cust = o.cust AND o2.id <> o.id);
-- round-robin sides
SELECT count(*), sum(n) FROM sr_log l WHERE EXISTS (SELECT 1 FROM sr_custs c WHERE c.cust = l.cust);
SELECT count(*) FROM sr_log l WHERE NOT EXISTS (SELECT 1 FROM sr_events e WHERE e.cust = l.cust);
-- joins, grouped by the key, outer joins
SELECT o.cust, count(*), sum(e.kind) FROM sr_orders o JOIN sr_events e ON e.cust = o.cust GROUP BY o.cust ORDER BY 2 DESC, 1 LIMIT 8;
SELECT o.cust, count(*) FROM sr_orders o WHERE EXISTS (SELECT 1 FROM sr_events e WHERE e.cust = o.cust) GROUP BY o.cust HAVING count(*) > 1 ORDER BY 1 LIMIT 10;
SELECT count(*), count(e.eid) FROM sr_orders o LEFT JOIN sr_events e ON e.cust = o.cust;
SELECT count(*), count(o.id) FROM sr_events e LEFT JOIN sr_orders o ON o.cust = e.cust WHERE e.kind = 3;
SELECT t.name, count(*) FROM sr_orders o JOIN sr_custs c ON c.cust = o.cust JOIN sr_tiers t ON t.tier = c.tier WHERE EXISTS (SELECT 1 FROM sr_events e WHERE e.cust = o.cust) GROUP BY t.name;
-- NOT IN: a NULL in the subquery, none, an empty subquery; an IN compared with false
SELECT count(*) FROM sr_orders WHERE cust NOT IN (SELECT cust FROM sr_events);
SELECT count(*), count(cust) FROM sr_orders WHERE cust NOT IN (SELECT cust FROM sr_events WHERE cust IS NOT NULL);
SELECT count(*), count(cust) FROM sr_orders WHERE cust NOT IN (SELECT cust FROM sr_events WHERE kind > 10);
SELECT count(*) FROM sr_orders WHERE (cust IN (SELECT cust FROM sr_events)) = false;
SELECT count(*) FROM sr_orders WHERE (cust IN (SELECT cust FROM sr_events)) IS NOT TRUE;
SELECT count(*) FROM sr_custs WHERE (cust IN (SELECT cust FROM sr_events)) = false;
SELECT count(*) FROM sr_custs WHERE (cust IN (SELECT cust FROM sr_events WHERE cust IS NOT NULL)) = false;
SELECT count(*) FROM sr_orders o WHERE EXISTS (SELECT 1 FROM sr_events e WHERE e.cust = o.cust) AND o.qty NOT IN (SELECT kind FROM sr_events WHERE cust > 5900);
