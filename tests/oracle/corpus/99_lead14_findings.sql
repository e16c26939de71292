/*
SQL as users write it, lead's fourteenth probe. An UPDATE or DELETE of PL/pgSQL code that
postgres_fdw runs row by row (`SELECT ..., ctid ... FOR UPDATE`, then one statement per
row: gridpg's frontend/by_ctid.py) on a table with a non-ASCII column name before the ctid
("Größe"): the extra columns gridpg reads were spliced in at a byte offset the parse tree
no longer gives (it counts characters), so every such call failed with 42601.
*/
CREATE TABLE l14_stock ("ID" int PRIMARY KEY, "Größe" numeric, "naïve" text) DISTRIBUTE BY HASH ("ID");
CREATE TABLE l14_units ("Kürzel" text PRIMARY KEY, "Faktor" numeric) DISTRIBUTE BY REPLICATION;
INSERT INTO l14_stock VALUES (1, NULL, 'a'), (2, 2.5, 'b'), (3, -1, NULL), (4, 10, 'd');
INSERT INTO l14_units VALUES ('kg', 1), ('g', NULL), ('t', 1000);
CREATE FUNCTION l14_bump(p_by numeric) RETURNS int LANGUAGE plpgsql AS $$ DECLARE n int; BEGIN UPDATE l14_stock SET "Größe" = coalesce("Größe", 0) + p_by, "naïve" = coalesce("naïve", '?') || '+'; GET DIAGNOSTICS n = ROW_COUNT; RETURN n; END $$;
SELECT l14_bump(1.5);
SELECT "ID", "Größe", "naïve" FROM l14_stock ORDER BY "ID";
CREATE FUNCTION l14_units_fix() RETURNS int LANGUAGE plpgsql AS $$ DECLARE n int; BEGIN UPDATE l14_units SET "Faktor" = coalesce("Faktor", 0.001) WHERE "Kürzel" <> 'x' AND now() IS NOT NULL; GET DIAGNOSTICS n = ROW_COUNT; RETURN n; END $$;
SELECT l14_units_fix();
SELECT "Kürzel", "Faktor" FROM l14_units ORDER BY "Kürzel";
CREATE FUNCTION l14_prune(p_min numeric) RETURNS int LANGUAGE plpgsql AS $$ DECLARE n int; BEGIN DELETE FROM l14_stock WHERE coalesce("Größe", 0) < p_min AND now() IS NOT NULL; GET DIAGNOSTICS n = ROW_COUNT; DELETE FROM l14_units WHERE coalesce("Faktor", 0) > p_min * 100 AND now() IS NOT NULL; RETURN n; END $$;
SELECT l14_prune(3);
SELECT "ID", "Größe", "naïve" FROM l14_stock ORDER BY "ID";
SELECT "Kürzel", "Faktor" FROM l14_units ORDER BY "Kürzel";

-- A write to a REPLICATION table whose other tables pin it to one node (`DELETE FROM ref
-- USING dist WHERE dist.k = 1 AND ...`) went to that node alone: one replica written, the
-- others not, and reads served by another node answered the old rows (DELETE 1, nothing
-- deleted). A table gridpg distributed by default becomes such a table when a unique index
-- without its key is added. Now every replica is written (the router declines).
CREATE TABLE l14_a (x int PRIMARY KEY, u text);
CREATE TABLE l14_b (id int PRIMARY KEY, r int);
INSERT INTO l14_a VALUES (1, 'me'), (2, 'you'), (3, 'us'), (4, 'them');
INSERT INTO l14_b VALUES (10, 1), (20, 2), (30, 3), (40, 4);
CREATE UNIQUE INDEX l14_a_u ON l14_a (u);
DELETE FROM l14_a USING l14_b WHERE l14_b.r = l14_a.x AND l14_b.id = 10 RETURNING l14_a.x;
SELECT * FROM l14_a ORDER BY x;
DELETE FROM l14_a USING l14_b WHERE l14_b.r = l14_a.x AND l14_b.id = 20;
SELECT * FROM l14_a ORDER BY x;
UPDATE l14_a SET u = 'upd' FROM l14_b WHERE l14_b.r = l14_a.x AND l14_b.id = 30 RETURNING l14_a.*;
SELECT * FROM l14_a ORDER BY x;
MERGE INTO l14_a USING l14_b ON l14_a.x = l14_b.r AND l14_b.id = 40 WHEN MATCHED THEN UPDATE SET u = 'merged';
SELECT * FROM l14_a ORDER BY x;
INSERT INTO l14_a SELECT id, 'from b' FROM l14_b WHERE id = 20;
SELECT * FROM l14_a ORDER BY x;

-- CREATE TABLE ... (LIKE t INCLUDING INDEXES / ALL) of a table with a unique index that
-- backs no constraint (CREATE UNIQUE INDEX): the copy's default placement did not see the
-- index (keys were read from pg_constraint alone), so it was hashed by its primary key and
-- every datanode refused the index (0A000 "unique constraint on partitioned table must
-- include all partitioning columns"). Such indexes count as keys now: the copy is a
-- REPLICATION table, as the source became.
CREATE TABLE l14_src (id int PRIMARY KEY, email text, code text);
CREATE UNIQUE INDEX l14_src_email ON l14_src (email);
CREATE UNIQUE INDEX l14_src_code ON l14_src (lower(code));
INSERT INTO l14_src VALUES (1, 'a@x', 'A'), (2, 'b@x', 'B');
CREATE TABLE l14_copy (LIKE l14_src INCLUDING ALL);
INSERT INTO l14_copy SELECT * FROM l14_src;
-- error
INSERT INTO l14_copy VALUES (3, 'a@x', 'C');
-- error
INSERT INTO l14_copy VALUES (4, 'd@x', 'a');
INSERT INTO l14_copy VALUES (5, 'e@x', 'E') ON CONFLICT (email) DO NOTHING RETURNING id;
SELECT * FROM l14_copy ORDER BY id;
CREATE TABLE l14_copy2 (LIKE l14_src INCLUDING INDEXES, extra text);
-- error
INSERT INTO l14_copy2 (id, email, code) VALUES (1, 'z', 'z'), (2, 'z', 'y');
SELECT count(*) FROM l14_copy2;
