/*
Statements found by bench/regress_replay.py (PostgreSQL's own regression files replayed
through gridpg) where gridpg gave a different answer without an error, reduced to their
smallest form. Exercises: UPDATE of the distribution column to DEFAULT (the row moves
through a catalog temp table, which must carry the column defaults).
*/

-- update.sql: UPDATE update_test SET a = DEFAULT, b = DEFAULT (a is the distribution column)
CREATE TABLE rr_update_default (a int DEFAULT 10, b int, c text DEFAULT 'x') DISTRIBUTE BY HASH (a);
INSERT INTO rr_update_default VALUES (5, 10, 'foo');
INSERT INTO rr_update_default (b, a) VALUES (15, 10);
UPDATE rr_update_default SET a = DEFAULT, b = DEFAULT RETURNING *;
SELECT * FROM rr_update_default;
UPDATE rr_update_default SET a = 7, c = DEFAULT WHERE b IS NULL RETURNING a, c;
SELECT * FROM rr_update_default;
