/*
Writes through automatically updatable views over views over one distributed table, as
updatable_views.sql writes them (planner/core.py `_view_stack`,
executor/view_insert.py `_over`): each view's conditions, column names, defaults and
CHECK OPTIONs are PostgreSQL's on the datanodes; serial columns a view shows take the
GTM's values. Before, every write through a second view was refused (0A000).
*/

CREATE TABLE nv_base (a int PRIMARY KEY, b text DEFAULT 'Unspecified');
INSERT INTO nv_base SELECT i, 'Row ' || i FROM generate_series(-2, 2) g(i);
CREATE VIEW nv_view1 AS SELECT *, 'Const1' AS c1 FROM nv_base WHERE a > 0 WITH CHECK OPTION;
CREATE VIEW nv_view2 AS SELECT *, 'Const2' AS c2 FROM nv_view1 WHERE a < 10;
CREATE VIEW "NV view 3" AS SELECT c2, a AS "AAA", b AS "BBB" FROM nv_view2 WHERE a <> 8 WITH LOCAL CHECK OPTION;

INSERT INTO nv_view2 (a) VALUES (3) RETURNING *;
INSERT INTO nv_view2 (a, b) VALUES (4, 'x'), (5, 'y');
-- error
INSERT INTO nv_view2 (a) VALUES (-5);
INSERT INTO nv_view2 (a) VALUES (50);
INSERT INTO "NV view 3" ("AAA") VALUES (6) RETURNING "AAA", "BBB", c2;
-- error
INSERT INTO "NV view 3" ("AAA", "BBB") VALUES (8, 'no');
UPDATE nv_view2 SET b = 'upd' WHERE a = 3 RETURNING *;
UPDATE "NV view 3" SET "BBB" = "BBB" || '!' WHERE "AAA" IN (4, 6) RETURNING *;
DELETE FROM nv_view2 WHERE a = 1 RETURNING *;
DELETE FROM "NV view 3" WHERE "BBB" = 'y';
SELECT * FROM nv_base ORDER BY a;
SELECT * FROM nv_view2 ORDER BY a;

-- defaults of the view below, then of the top view
ALTER VIEW nv_view1 ALTER COLUMN b SET DEFAULT 'view1 default';
INSERT INTO nv_view2 (a) VALUES (7) RETURNING *;
ALTER VIEW nv_view2 ALTER COLUMN b SET DEFAULT 'view2 default';
INSERT INTO nv_view2 (a) VALUES (9) RETURNING *;
INSERT INTO "NV view 3" ("AAA") VALUES (2) ON CONFLICT DO NOTHING;
SELECT * FROM nv_base ORDER BY a;

-- a serial column shown through two views takes the cluster's values
CREATE TABLE nv_s (id serial PRIMARY KEY, name text);
CREATE VIEW nv_s1 AS SELECT id AS ident, name FROM nv_s;
CREATE VIEW nv_s2 AS SELECT ident, upper(name) AS up, name FROM nv_s1 WHERE ident < 100;
INSERT INTO nv_s2 (name) VALUES ('a'), ('b') RETURNING *;
INSERT INTO nv_s2 (ident, name) VALUES (50, 'c');
INSERT INTO nv_s2 (name) VALUES ('d') RETURNING ident;
SELECT * FROM nv_s ORDER BY id;
SELECT * FROM nv_s2 ORDER BY ident;

-- names with digits, spaces and dashes in quotes, read in the simple protocol: a number
-- inside the quotes was taken for a literal, the statement for one naming no view, and
-- the catalog server's empty copy answered (0 rows)
CREATE VIEW "nv 6" AS SELECT a, b FROM nv_base;
CREATE VIEW "nv-8" AS SELECT a AS "a 1", b FROM nv_base WHERE a > 2;
SELECT count(*) FROM "nv 6";
SELECT * FROM "nv-8" WHERE "a 1" < 7 ORDER BY 1;
UPDATE "nv-8" SET b = b || '.' WHERE "a 1" = 5 RETURNING *;
CREATE TABLE "t 10" (id int PRIMARY KEY, "col 2" text);
INSERT INTO "t 10" VALUES (1, 'one'), (2, 'two');
SELECT "col 2" FROM "t 10" WHERE id = 2;
SELECT count(*) FROM "t 10" WHERE "col 2" <> 'x';

-- MERGE through a view, and through a view over a view that renames the distribution
-- column (staged on the table's nodes, keyed by the view column that shows it; was 0A000)
CREATE TABLE nv_m (a int PRIMARY KEY, b text DEFAULT 'Unspecified');
INSERT INTO nv_m SELECT i, 'Row ' || i FROM generate_series(-2, 2) g(i);
CREATE VIEW nv_m1 AS SELECT * FROM nv_m WHERE a > 0;
CREATE VIEW nv_m2 AS SELECT a AS aaa, b AS bbb FROM nv_m1 WHERE a < 10;
MERGE INTO nv_m1 t USING (VALUES (0, 'ROW 0'), (1, 'ROW 1'), (2, 'ROW 2'), (3, 'ROW 3')) AS v(a, b) ON t.a = v.a WHEN MATCHED AND t.a <= 1 THEN UPDATE SET b = v.b WHEN MATCHED THEN DELETE WHEN NOT MATCHED AND a > 0 THEN INSERT (a) VALUES (v.a) RETURNING merge_action(), v.*, t.*;
SELECT * FROM nv_m ORDER BY a;
MERGE INTO nv_m2 t USING (VALUES (3, 'R3'), (4, 'R4'), (5, 'R5')) AS v(a, b) ON t.aaa = v.a WHEN MATCHED AND aaa = 3 THEN DELETE WHEN MATCHED THEN UPDATE SET bbb = v.b WHEN NOT MATCHED THEN INSERT (aaa) VALUES (v.a) RETURNING merge_action(), v.*, t.*;
MERGE INTO nv_m2 t USING (SELECT x, 'R' || x FROM generate_series(0, 6) x) AS s(a, b) ON t.aaa = s.a WHEN MATCHED THEN UPDATE SET bbb = s.b;
MERGE INTO nv_m1 t USING nv_base s ON t.a = s.a WHEN MATCHED AND s.b LIKE 'view%' THEN UPDATE SET b = s.b;
SELECT * FROM nv_m ORDER BY a;

-- DEFAULT for the distribution column with no default of the view's or the table's is
-- NULL, routed as the table's own NULL keys (was 0A000)
CREATE TABLE nv_def (a int, b text DEFAULT 'Table default', c text);
CREATE VIEW nv_def_v AS SELECT * FROM nv_def;
ALTER VIEW nv_def_v ALTER b SET DEFAULT 'View default';
INSERT INTO nv_def_v VALUES (17), (DEFAULT);
INSERT INTO nv_def_v (a, b) VALUES (DEFAULT, 'x') RETURNING *;
INSERT INTO nv_def VALUES (NULL, 'direct');
SELECT * FROM nv_def ORDER BY a NULLS FIRST, b;
SELECT count(*) FROM nv_def_v WHERE a IS NULL;
