/*
SQL as users write it, lead's seventeenth probe. An UPDATE or DELETE through an
automatically updatable view over a distributed table that also reads other distributed
tables (`UPDATE v SET b = b + o.delta FROM other o WHERE v.a = o.id`, `DELETE FROM v USING
other ...`, `WHERE EXISTS (SELECT ... FROM other ...)`) was refused with 0A000, and its
EXPLAIN closed the client's connection (the planner's target assertion). The tables read
are now copied whole to the view's nodes and the statement runs there as written, each
node's PostgreSQL writing through the view; joins on a view column that shows another
column of the table (renamed) answer as on one server.
*/
CREATE TABLE l17_base (a int PRIMARY KEY, b int, c text);
INSERT INTO l17_base SELECT g, g * 10, 'c' || g FROM generate_series(1, 20) g;
CREATE TABLE l17_other (id int, delta int);
INSERT INTO l17_other VALUES (3, 1), (4, 2), (17, 3), (30, 4);
CREATE VIEW l17_v AS SELECT * FROM l17_base WHERE a > 2;
CREATE VIEW l17_vr AS SELECT b AS bb, a AS aa, c FROM l17_base WHERE a < 18;
UPDATE l17_v SET b = b + o.delta FROM l17_other o WHERE l17_v.a = o.id;
SELECT * FROM l17_base WHERE a IN (3, 4, 17) ORDER BY a;
UPDATE l17_vr SET bb = bb + 1000 FROM l17_other WHERE aa = id RETURNING aa, bb;
UPDATE l17_vr SET c = 'x' WHERE aa IN (SELECT id FROM l17_other WHERE delta > 1);
SELECT a, b, c FROM l17_base WHERE a IN (3, 4, 17) ORDER BY a;
DELETE FROM l17_v USING l17_other WHERE l17_v.a = l17_other.id AND l17_other.delta = 3 RETURNING l17_v.a;
DELETE FROM l17_vr WHERE EXISTS (SELECT 1 FROM l17_other WHERE l17_other.id = l17_vr.aa);
SELECT count(*), sum(a) FROM l17_base;
CREATE TABLE l17_keyed (k int, note text);
INSERT INTO l17_keyed VALUES (60, 'sixty'), (100, 'hundred');
UPDATE l17_vr SET c = k.note FROM l17_keyed k WHERE l17_vr.bb = k.k;
SELECT a, b, c FROM l17_base WHERE c IN ('sixty', 'hundred') ORDER BY a;
UPDATE l17_v SET c = 'sub' WHERE a IN (SELECT aa FROM l17_vr WHERE bb > 150);
SELECT a, c FROM l17_base WHERE c = 'sub' ORDER BY a;
CREATE VIEW l17_vc AS SELECT * FROM l17_base WHERE b < 100 WITH CHECK OPTION;
UPDATE l17_vc SET b = b + 100 FROM l17_other WHERE l17_vc.a = l17_other.id;
UPDATE l17_vc SET b = b + 1 FROM l17_other WHERE l17_vc.a = l17_other.id RETURNING l17_vc.*;
