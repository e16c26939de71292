/*
Probe h-probe28b (2026-12-07): results that depend on session settings, collations and
equality that is not byte equality, compared with PostgreSQL over distributed tables.
Settings evaluated on the datanodes (TimeZone in date_trunc/AT TIME ZONE/::date grouping,
DateStyle reading and writing dates, IntervalStyle of summed intervals, bytea_output,
extra_float_digits); COLLATE "C" vs the default in ORDER BY, min/max and comparisons;
distribution keys whose equal values differ in bytes (numeric scale, interval units,
-0.0 joined by repartition) found by routing, grouping and joins; non-partitioned
inheritance with ONLY and tableoid; window functions and recursive CTEs feeding writes;
overflow and division by zero inside distributed aggregates (errors, same SQLSTATE).
*/
CREATE TABLE p8_ev (id int PRIMARY KEY, at timestamptz, d date, iv interval, f float8, b bytea) DISTRIBUTE BY HASH (id);
INSERT INTO p8_ev SELECT g, timestamptz '2024-03-10 01:30:00+00' + g * interval '37 minutes', date '2024-01-01' + g, g * interval '1 day 3 hours', g / 7.0, decode(repeat('ab', g), 'hex') FROM generate_series(1, 20) g;
SET TimeZone = 'America/New_York';
SELECT id, at, date_trunc('day', at), at AT TIME ZONE 'UTC' FROM p8_ev ORDER BY id;
SELECT date_trunc('hour', at) h, count(*) FROM p8_ev GROUP BY 1 ORDER BY 1;
SELECT at::date, count(*) FROM p8_ev GROUP BY 1 ORDER BY 1;
SELECT count(*) FROM p8_ev WHERE at < '2024-03-10 03:30';
UPDATE p8_ev SET d = at::date WHERE id <= 5;
SET TimeZone = 'Asia/Kolkata';
SELECT extract(hour from at) h, count(*) FROM p8_ev GROUP BY 1 ORDER BY 1;
INSERT INTO p8_ev (id, at) VALUES (100, '2024-06-01 12:00');
SET TimeZone = 'UTC';
SELECT id, at, d FROM p8_ev WHERE id <= 5 OR id = 100 ORDER BY id;
SET DateStyle = 'SQL, DMY';
INSERT INTO p8_ev (id, d) VALUES (101, '03/04/2024');
SELECT id, d, at FROM p8_ev WHERE id < 4 OR id = 101 ORDER BY id;
SELECT count(*) FROM p8_ev WHERE d > '05/01/2024';
RESET DateStyle;
SET IntervalStyle = 'iso_8601';
SELECT sum(iv), max(iv), avg(iv) FROM p8_ev;
RESET IntervalStyle;
SET extra_float_digits = 0;
SELECT string_agg(f::text, ',' ORDER BY id) FROM p8_ev;
RESET extra_float_digits;
SET bytea_output = 'escape';
SELECT id, b FROM p8_ev WHERE id < 3 ORDER BY id;
RESET bytea_output;
CREATE TABLE p8_w (id int PRIMARY KEY, s text, sc text COLLATE "C") DISTRIBUTE BY HASH (id);
INSERT INTO p8_w SELECT g, (ARRAY['apple','Banana','cherry','Äpfel','banana','_x','Zed','zed','a b','éclair'])[g % 10 + 1] || g % 3, (ARRAY['apple','Banana','cherry','Äpfel','banana','_x','Zed','zed','a b','éclair'])[g % 10 + 1] FROM generate_series(1, 40) g;
SELECT s FROM p8_w ORDER BY s, id LIMIT 15;
SELECT s FROM p8_w ORDER BY s COLLATE "C", id LIMIT 15;
SELECT sc FROM p8_w ORDER BY sc COLLATE "default", id LIMIT 15;
SELECT min(s), max(s), min(sc), max(sc), min(s COLLATE "C") FROM p8_w;
SELECT count(*) FROM p8_w WHERE s > 'a';
SELECT count(*) FROM p8_w WHERE s COLLATE "C" > 'a';
SELECT sc, count(*) FROM p8_w GROUP BY sc ORDER BY sc DESC;
SELECT id FROM p8_w WHERE s ILIKE 'b%' OR s ~* '^(zed|äpfel)' OR s SIMILAR TO '(a|c)%1' ORDER BY id;
CREATE TABLE p8_kn (k numeric, v text) DISTRIBUTE BY HASH (k);
INSERT INTO p8_kn SELECT g / 4.0, 'a' || g FROM generate_series(1, 40) g;
INSERT INTO p8_kn VALUES (1.00, 'scaled'), (2.000, 'scaled2'), (1, 'int');
SELECT k, v FROM p8_kn WHERE k = 1 ORDER BY v;
SELECT k::text, count(*) FROM p8_kn GROUP BY k HAVING count(*) > 1 ORDER BY k;
SELECT count(*) FROM p8_kn a JOIN p8_kn b ON a.k = b.k;
CREATE TABLE p8_ki (k interval, v text) DISTRIBUTE BY HASH (k);
INSERT INTO p8_ki VALUES ('1 day', 'd'), ('24 hours', 'h'), ('1 mon', 'm'), ('30 days', 'd30'), ('0', 'z'), ('-1 day +24 hours', 'z2');
SELECT v FROM p8_ki WHERE k = '1 day' ORDER BY v;
SELECT v FROM p8_ki WHERE k = interval '720 hours' ORDER BY v;
SELECT count(*) FROM p8_ki a JOIN p8_ki b USING (k);
CREATE TABLE p8_kf (id int PRIMARY KEY, k float8, v text) DISTRIBUTE BY HASH (id);
INSERT INTO p8_kf SELECT g, (ARRAY[0.0, '-0', 'NaN', 1, '-0', 'NaN'])[g % 6 + 1], 'r' || g FROM generate_series(1, 30) g;
SELECT v FROM p8_kf WHERE k = 0 ORDER BY v;
SELECT count(*) FROM p8_kf a JOIN p8_kf b ON a.k = b.k;
SELECT count(*) FROM p8_kf a JOIN p8_kn b ON a.k = b.k;
SELECT k = 0, count(*) FROM p8_kf GROUP BY k = 0 ORDER BY 1;
CREATE TABLE p8_city (name text, pop int, alt int);
CREATE TABLE p8_capital (state char(2)) INHERITS (p8_city);
INSERT INTO p8_city VALUES ('Las Vegas', 500, 2174), ('Mariposa', 1200, 1953), ('Madison', 190, 845);
INSERT INTO p8_capital VALUES ('Sacramento', 3000, 30, 'CA'), ('Madison2', 190, 845, 'WI');
SELECT c.tableoid::regclass::text, name FROM p8_city c ORDER BY name;
SELECT name, alt FROM ONLY p8_city WHERE alt > 500 ORDER BY name;
UPDATE p8_city SET pop = pop + 1 WHERE alt < 900;
UPDATE ONLY p8_city SET pop = 0 WHERE name LIKE 'Mad%';
DELETE FROM ONLY p8_city WHERE pop = 0;
SELECT name, pop FROM p8_city ORDER BY name;
CREATE TABLE p8_o (id int PRIMARY KEY, cust int, amt numeric, rnk int) DISTRIBUTE BY HASH (id);
INSERT INTO p8_o SELECT g, g % 10 + 1, (g * 37) % 101, NULL FROM generate_series(1, 100) g;
UPDATE p8_o SET rnk = r.rn FROM (SELECT id, row_number() OVER (PARTITION BY cust ORDER BY amt DESC, id) rn FROM p8_o) r WHERE r.id = p8_o.id;
DELETE FROM p8_o USING (SELECT id, lag(amt) OVER (PARTITION BY cust ORDER BY id) prev FROM p8_o) w WHERE w.id = p8_o.id AND w.prev > p8_o.amt + 60;
SELECT cust, count(*), sum(rnk), max(amt) FROM p8_o GROUP BY cust ORDER BY cust;
CREATE TABLE p8_tree (id int PRIMARY KEY, parent int, depth int, path text) DISTRIBUTE BY HASH (id);
INSERT INTO p8_tree (id, parent) SELECT g, CASE WHEN g = 1 THEN NULL ELSE g / 2 END FROM generate_series(1, 31) g;
WITH RECURSIVE t AS (SELECT id, 0 d, id::text p FROM p8_tree WHERE parent IS NULL UNION ALL SELECT p8_tree.id, t.d + 1, t.p || '/' || p8_tree.id FROM p8_tree JOIN t ON p8_tree.parent = t.id) UPDATE p8_tree SET depth = t.d, path = t.p FROM t WHERE t.id = p8_tree.id;
WITH RECURSIVE sub AS (SELECT id FROM p8_tree WHERE id = 3 UNION ALL SELECT p8_tree.id FROM p8_tree JOIN sub ON p8_tree.parent = sub.id) DELETE FROM p8_tree WHERE id IN (SELECT id FROM sub);
SELECT depth, count(*), min(path), max(path) FROM p8_tree GROUP BY depth ORDER BY depth;
CREATE TABLE p8_n (id int PRIMARY KEY, v int, big bigint, s smallint) DISTRIBUTE BY HASH (id);
INSERT INTO p8_n SELECT g, g % 7, g::bigint * 1000000000000000, g FROM generate_series(1, 50) g;
SELECT v, sum(big), avg(big) FROM p8_n GROUP BY v ORDER BY v;
-- error
SELECT sum(big * 1000) FROM p8_n;
-- error
SELECT sum(100 / v) FROM p8_n;
-- error
UPDATE p8_n SET s = s * 1000 WHERE id = 50;
-- error
INSERT INTO p8_n (id, v) SELECT 300 + g, 2147483647 + g FROM generate_series(0, 1) g;
SELECT avg(1.0 / nullif(v, 0)), sum(s), sum(s::int8 * 1000000000) FROM p8_n;
