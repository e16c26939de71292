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
