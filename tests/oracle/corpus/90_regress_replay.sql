/*
Statements found by bench/regress_replay.py (PostgreSQL's own regression files replayed
through gridpg) where gridpg gave a different answer without an error, reduced to their
smallest form. Exercises: UPDATE of the distribution column to DEFAULT (the row moves
through a catalog temp table, which must carry the column defaults); cursors (DECLARE,
FETCH, MOVE, CLOSE) over distributed tables; SQL-level PREPARE,
EXECUTE and DEALLOCATE of reads and writes of distributed tables.
*/

-- update.sql: UPDATE update_test SET a = DEFAULT, b = DEFAULT (a is the distribution column)
CREATE TABLE rr_update_default (a int DEFAULT 10, b int, c text DEFAULT 'x') DISTRIBUTE BY HASH (a);
INSERT INTO rr_update_default VALUES (5, 10, 'foo');
INSERT INTO rr_update_default (b, a) VALUES (15, 10);
UPDATE rr_update_default SET a = DEFAULT, b = DEFAULT RETURNING *;
SELECT * FROM rr_update_default;
UPDATE rr_update_default SET a = 7, c = DEFAULT WHERE b IS NULL RETURNING a, c;
SELECT * FROM rr_update_default;

-- portals.sql: a cursor over a distributed table (FETCH returned no rows: the cursor read
-- the catalog server's empty copy of the table)
CREATE TABLE rr_cursor (a int, b text) DISTRIBUTE BY HASH (a);
INSERT INTO rr_cursor SELECT g, 'x' || g FROM generate_series(1, 20) g;
BEGIN;
DECLARE rr_c1 NO SCROLL CURSOR FOR SELECT * FROM rr_cursor ORDER BY a;
FETCH 2 FROM rr_c1;
FETCH ABSOLUTE 5 FROM rr_c1;
CLOSE rr_c1;
DECLARE rr_c2 SCROLL CURSOR FOR SELECT count(*), sum(a) FROM rr_cursor WHERE a > 5;
FETCH ALL FROM rr_c2;
FETCH BACKWARD 1 FROM rr_c2;
INSERT INTO rr_cursor VALUES (100, 'new');
DECLARE rr_c3 CURSOR FOR SELECT a, b FROM rr_cursor WHERE a > 15 ORDER BY a;
FETCH 2 FROM rr_c3;
FETCH ALL FROM rr_c3;
CLOSE rr_c3;
COMMIT;
-- error
DECLARE rr_c4 CURSOR FOR SELECT * FROM rr_cursor;
BEGIN;
DECLARE rr_c5 CURSOR FOR SELECT r.a, s.b FROM rr_cursor r JOIN rr_cursor s ON s.a = r.a + 1 WHERE r.a < 4 ORDER BY 1;
MOVE FORWARD 1 IN rr_c5;
FETCH NEXT FROM rr_c5;
ROLLBACK;

-- join.sql / prepare.sql: SQL-level PREPARE and EXECUTE over distributed tables (EXECUTE
-- ran on the catalog server: reads found no rows, writes stayed on the catalog server)
CREATE TABLE rr_prep (a int, b text) DISTRIBUTE BY HASH (a);
INSERT INTO rr_prep SELECT g, 'p' || g FROM generate_series(1, 30) g;
PREPARE rr_count(int) AS SELECT count(*), sum(a) FROM rr_prep WHERE a > $1;
EXECUTE rr_count(10);
EXECUTE rr_count(25);
PREPARE rr_add AS INSERT INTO rr_prep VALUES ($1, $2) RETURNING a, b;
EXECUTE rr_add(100, 'it''s');
EXECUTE rr_add(101, NULL);
SELECT * FROM rr_prep WHERE a >= 100;
PREPARE rr_upd(text, int) AS UPDATE rr_prep SET b = $1 WHERE a = $2 OR a = $2 + 1 RETURNING *;
BEGIN;
EXECUTE rr_upd('changed', 100);
ROLLBACK;
SELECT * FROM rr_prep WHERE a >= 100;
PREPARE rr_join(int) AS SELECT x.a, y.b FROM rr_prep x JOIN rr_prep y ON y.a = x.a + $1 WHERE x.a < 5 ORDER BY 1;
EXECUTE rr_join(2);
-- error
EXECUTE rr_count(1, 2);
DEALLOCATE rr_count;
-- error
EXECUTE rr_count(1);
DEALLOCATE ALL;


-- copyselect.sql: views over distributed tables in cursors and prepared statements (they
-- read the catalog server's empty copies)
CREATE VIEW rr_prep_view AS SELECT a, 'v_' || b AS vb FROM rr_prep WHERE a <= 5;
CREATE VIEW rr_prep_view2 AS SELECT * FROM rr_prep_view WHERE a > 1;
BEGIN;
DECLARE rr_vc CURSOR FOR SELECT * FROM rr_prep_view2 ORDER BY a;
FETCH ALL FROM rr_vc;
ROLLBACK;
PREPARE rr_vq(int) AS SELECT count(*) FROM rr_prep_view WHERE a > $1;
EXECUTE rr_vq(2);
DEALLOCATE rr_vq;
