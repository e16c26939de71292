/*
Differences PostgreSQL 18's regression files showed in the eleventh replay (h-regress11,
2026-12-05), each reduced to its smallest form.
*/

-- update.sql:37 (and its ≈20 follow-ons), beside it: UPDATE of the distribution column
-- with a FROM of constants (VALUES, a sub-select of no table, a set-returning function)
-- was refused (0A000); rows now move as without FROM, the nodes deleting the rows the FROM
-- joins and the UPDATE joining it again in the copy
CREATE TABLE r11_upd (a int DEFAULT 10, b int, c text);
INSERT INTO r11_upd VALUES (5, 10, 'foo');
INSERT INTO r11_upd (b, a) VALUES (15, 10), (20, 10), (20, 11), (30, 12);
UPDATE r11_upd SET a = v.i FROM (VALUES (100, 20)) AS v(i, j) WHERE r11_upd.b = v.j;
SELECT * FROM r11_upd ORDER BY a, b, c;
UPDATE r11_upd t SET a = v.i + t.a FROM (VALUES (1, 10), (3, 15)) v(i, j) WHERE t.b = v.j RETURNING t.a, t.b, t.c, v.i, v.j;
SELECT * FROM r11_upd ORDER BY a, b, c;
UPDATE r11_upd SET a = g, c = c IS DISTINCT FROM 'foo' FROM generate_series(1, 3) g WHERE g = b / 10 AND b < 20 RETURNING a, b, c, g;
SELECT * FROM r11_upd ORDER BY a, b, c;
UPDATE r11_upd SET a = s.x * 2 FROM (SELECT 6 AS x) s WHERE r11_upd.a = 12 AND s.x > 5;
SELECT * FROM r11_upd ORDER BY a, b, c;
BEGIN;
UPDATE r11_upd SET (a, c) = (v.n, v.t) FROM (VALUES (20, 'moved')) v(n, t) WHERE r11_upd.b = 20;
SELECT * FROM r11_upd ORDER BY a, b, c;
ROLLBACK;
SELECT * FROM r11_upd ORDER BY a, b, c;
DROP TABLE r11_upd;

-- insert.sql:128: a multi-row INSERT ... VALUES assigning fields or elements
-- (`(f3.if1, f3.if2)`) into a table whose rows go to several nodes (ROUNDROBIN here, as a
-- table with no hashable column is made) sent the names alone to the nodes, `(f3, f3)`:
-- 42701 "column specified more than once"
CREATE TYPE r11_pair AS (if1 int, if2 text[]);
CREATE DOMAIN r11_pair_d AS r11_pair CHECK ((VALUE).if2[1] IS NOT NULL);
CREATE TABLE r11_ins (f3 r11_pair_d, f4 r11_pair_d[]);
INSERT INTO r11_ins (f3.if1, f3.if2) VALUES (1, '{foo}'), (2, '{bar}'), (3, '{baz}'), (4, '{quux}');
-- error
INSERT INTO r11_ins (f3.if1, f3.if2) VALUES (7, '{seven}'), (8, '{null}');
SELECT f3::text, f4::text FROM r11_ins ORDER BY (f3).if1, f4::text;
CREATE TABLE r11_ins_h (k int, a int[], c r11_pair);
INSERT INTO r11_ins_h (k, a[1], a[2], c.if1) VALUES (1, 1, 2, 3), (2, 3, 4, 5), (3, 5, 6, 7), (4, 7, 8, 9) RETURNING k, a, c::text;
SELECT k, a, c::text FROM r11_ins_h ORDER BY k;
DROP TABLE r11_ins, r11_ins_h;
DROP DOMAIN r11_pair_d;
DROP TYPE r11_pair;
