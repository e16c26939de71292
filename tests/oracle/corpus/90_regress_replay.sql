/*
Statements found by bench/regress_replay.py (PostgreSQL's own regression files replayed
through gridpg) where gridpg gave a different answer without an error, reduced to their
smallest form. Exercises: UPDATE of the distribution column to DEFAULT (the row moves
through a catalog temp table, which must carry the column defaults); cursors (DECLARE,
FETCH, MOVE, CLOSE, WITH HOLD across COMMIT) over distributed tables.
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
DECLARE rr_c3 CURSOR WITH HOLD FOR SELECT a, b FROM rr_cursor WHERE a > 15 ORDER BY a;
FETCH 2 FROM rr_c3;
COMMIT;
FETCH 2 FROM rr_c3;
FETCH ALL FROM rr_c3;
CLOSE rr_c3;
-- error
DECLARE rr_c4 CURSOR FOR SELECT * FROM rr_cursor;
BEGIN;
DECLARE rr_c5 CURSOR FOR SELECT r.a, s.b FROM rr_cursor r JOIN rr_cursor s ON s.a = r.a + 1 WHERE r.a < 4 ORDER BY 1;
MOVE FORWARD 1 IN rr_c5;
FETCH NEXT FROM rr_c5;
ROLLBACK;
