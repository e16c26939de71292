/*
What the replay of the bundled extensions' own regression files (contrib's sql/ and
pgvector's test/sql, h-contrib8) found, and vector search as users write it.
1. A C function created under another name over tablefunc's crosstab / crosstab_hash
   (tablefunc.sql's crosstab_out, crosstab_named) runs its query text on the catalog
   server: it returned no rows (the empty copies), silently. Now known by its C symbol
   (planner/routines.py, SQL_TEXT_FUNCTIONS; executor/routines.py loads such functions).
2. A "char" column (btree_gin's char.sql) chosen as the distribution column was hashed as
   bpchar: INSERT failed with "no partition of relation found", reads pruned to the wrong
   shard. Now "char" is its own type, not a distribution type (planner/hashing.py).
3. Vector search (pgvector) over a HASH table: k nearest neighbours by <->, <=>, <#>, <+>
   merged across nodes, with WHERE, LIMIT/OFFSET, ties broken by id, the query vector
   from a sub-select or a CTE, joins, aggregates of vectors, and exact index scans
   (ivfflat with one list; hnsw with ef_search above the row count). avg() of a vector
   column (a centroid) failed with 42883: two-phase aggregation's partials of avg are
   PostgreSQL's numeric sums and casts; not split over columns of an extension's type.
*/

CREATE EXTENSION IF NOT EXISTS tablefunc;
CREATE TABLE c8_ct (rowid text, attribute text, val text);
INSERT INTO c8_ct VALUES ('test1', 'att1', 'val1'), ('test1', 'att2', 'val2'), ('test1', 'att3', 'val3'), ('test2', 'att1', 'val5'), ('test2', 'att2', 'val6'), ('test3', 'att3', 'val9');
CREATE TYPE c8_ct_out AS (rowid text, att1 text, att2 text, att3 text);
CREATE FUNCTION c8_crosstab_out(text) RETURNS SETOF c8_ct_out AS '$libdir/tablefunc', 'crosstab' LANGUAGE C STABLE STRICT;
SELECT * FROM c8_crosstab_out('SELECT rowid, attribute, val FROM c8_ct ORDER BY 1, 2');
CREATE FUNCTION c8_crosstab_named(text, text) RETURNS SETOF c8_ct_out AS '$libdir/tablefunc', 'crosstab_hash' LANGUAGE C STABLE STRICT;
SELECT * FROM c8_crosstab_named('SELECT rowid, attribute, val FROM c8_ct ORDER BY 1', 'SELECT DISTINCT attribute FROM c8_ct ORDER BY 1');
SELECT rowid, att2 FROM c8_crosstab_out('SELECT rowid, attribute, val FROM c8_ct WHERE rowid <> ''test3'' ORDER BY 1, 2') WHERE att1 IS NOT NULL;
BEGIN;
INSERT INTO c8_ct VALUES ('test4', 'att1', 'val10');
SELECT * FROM c8_crosstab_out('SELECT rowid, attribute, val FROM c8_ct ORDER BY 1, 2');
ROLLBACK;

CREATE TABLE c8_char (i "char");
INSERT INTO c8_char VALUES ('a'), ('b'), ('c'), ('d'), ('e'), ('f');
SELECT * FROM c8_char WHERE i = 'd'::"char";
SELECT * FROM c8_char WHERE i < 'd'::"char" ORDER BY i;
SELECT count(*) FROM c8_char WHERE i IN ('a', 'f');
CREATE TABLE c8_char_k (k "char", v int);
INSERT INTO c8_char_k SELECT chr(97 + g % 20), g FROM generate_series(1, 60) g;
SELECT k, count(*), sum(v) FROM c8_char_k GROUP BY k ORDER BY k;
UPDATE c8_char_k SET v = -v WHERE k = 'c';
SELECT sum(v) FROM c8_char_k WHERE k = 'c';
DELETE FROM c8_char_k WHERE k = 'b';
SELECT count(*) FROM c8_char_k;

CREATE EXTENSION IF NOT EXISTS vector;
CREATE TABLE c8_items (id int PRIMARY KEY, cat int, embedding vector(3)) DISTRIBUTE BY HASH (id);
INSERT INTO c8_items SELECT g, g % 4, ARRAY[1 + (g * 7) % 11, 1 + (g * 3) % 13, 1 + (g * 5) % 17]::real[]::vector(3) FROM generate_series(1, 120) g;
INSERT INTO c8_items VALUES (121, 1, '[3,1,2]'), (122, 2, '[3,1,2]'), (123, NULL, NULL);
CREATE TABLE c8_cats (cat int PRIMARY KEY, name text) DISTRIBUTE BY REPLICATION;
INSERT INTO c8_cats VALUES (0, 'zero'), (1, 'one'), (2, 'two'), (3, 'three');
SELECT id, embedding::text, embedding <-> '[3,1,2]' AS distance FROM c8_items ORDER BY embedding <-> '[3,1,2]', id LIMIT 5;
SELECT id, embedding <=> '[3,1,2]' AS distance FROM c8_items ORDER BY embedding <=> '[3,1,2]', id LIMIT 5;
SELECT id, (embedding <#> '[3,1,2]') * -1 AS inner_product FROM c8_items ORDER BY embedding <#> '[3,1,2]', id LIMIT 5;
SELECT id, embedding <+> '[3,1,2]' AS taxicab FROM c8_items ORDER BY embedding <+> '[3,1,2]', id LIMIT 5;
SELECT id FROM c8_items WHERE cat = 2 ORDER BY embedding <-> '[5,5,5]', id LIMIT 3 OFFSET 2;
SELECT id, embedding <-> '[5,5,5]' AS d FROM c8_items WHERE cat IN (1, 3) AND id > 20 ORDER BY d, id LIMIT 4;
SELECT id, embedding <-> '[5,5,5]' FROM c8_items ORDER BY 2 DESC, 1 LIMIT 4;
SELECT id FROM c8_items ORDER BY embedding <-> '[3,1,2]' NULLS FIRST, id LIMIT 3;
SELECT id FROM c8_items ORDER BY embedding <-> '[3,1,2]', id OFFSET 118;
SELECT id FROM c8_items WHERE id <> 7 ORDER BY embedding <-> (SELECT embedding FROM c8_items WHERE id = 7), id LIMIT 5;
WITH q AS (SELECT embedding FROM c8_items WHERE id = 7) SELECT i.id, i.embedding <=> q.embedding AS d FROM c8_items i, q WHERE i.id <> 7 ORDER BY d, i.id LIMIT 5;
SELECT i.id, c.name FROM c8_items i JOIN c8_cats c ON c.cat = i.cat ORDER BY i.embedding <-> '[9,9,9]', i.id LIMIT 5;
SELECT c.name, (SELECT i.id FROM c8_items i WHERE i.cat = c.cat ORDER BY i.embedding <-> '[2,2,2]', i.id LIMIT 1) AS nearest FROM c8_cats c ORDER BY c.cat;
SELECT cat, count(*), min(embedding <-> '[3,1,2]') FROM c8_items GROUP BY cat ORDER BY cat;
SELECT cat, sum(embedding)::text FROM c8_items GROUP BY cat ORDER BY cat;
SELECT sum(embedding)::text, count(embedding) FROM c8_items;
SELECT cat, avg(embedding)::text, avg(id) FROM c8_items GROUP BY cat ORDER BY cat;
SELECT avg(embedding)::text, count(*) FROM c8_items WHERE id > 100;
SELECT cat FROM c8_items GROUP BY cat HAVING avg(embedding) <-> '[6,7,9]' < 100 ORDER BY cat;
SELECT s.cat, s.centroid::text, (SELECT count(*) FROM c8_items i WHERE i.cat = s.cat AND i.embedding <-> s.centroid < 5) FROM (SELECT cat, avg(embedding) AS centroid FROM c8_items GROUP BY cat) s ORDER BY s.cat;
SELECT l2_distance(embedding, '[1,1,1]'), cosine_distance(embedding, '[1,1,1]'), inner_product(embedding, '[1,1,1]'), vector_dims(embedding), vector_norm(embedding) FROM c8_items WHERE id = 5;
SELECT id, embedding::halfvec(3) <-> '[3,1,2]'::halfvec AS d FROM c8_items ORDER BY d, id LIMIT 3;
SELECT id, l2_normalize(embedding)::text FROM c8_items WHERE id IN (1, 2, 3) ORDER BY id;
SELECT count(*) FROM c8_items WHERE embedding <-> '[3,1,2]' < 3;
SELECT id FROM c8_items WHERE embedding = '[3,1,2]' ORDER BY id;
SELECT embedding::text, count(*) FROM c8_items GROUP BY embedding HAVING count(*) > 2 ORDER BY embedding;
SELECT e::text FROM (SELECT DISTINCT embedding AS e FROM c8_items WHERE cat = 0 ORDER BY embedding LIMIT 4) s ORDER BY e;
UPDATE c8_items SET embedding = embedding + '[1,1,1]' WHERE id = 121;
SELECT id, embedding::text FROM c8_items ORDER BY embedding <-> '[4,2,3]', id LIMIT 3;
CREATE INDEX c8_items_ivf ON c8_items USING ivfflat (embedding vector_l2_ops) WITH (lists = 1);
SELECT id, embedding <-> '[6,0,6]' AS d FROM c8_items ORDER BY embedding <-> '[6,0,6]' LIMIT 4;
SELECT id FROM c8_items WHERE cat = 3 ORDER BY embedding <-> '[6,0,6]' LIMIT 3;
DROP INDEX c8_items_ivf;
CREATE INDEX c8_items_hnsw ON c8_items USING hnsw (embedding vector_cosine_ops);
SET hnsw.ef_search = 1000;
SELECT id, embedding <=> '[1,12,3]' AS d FROM c8_items ORDER BY embedding <=> '[1,12,3]' LIMIT 4;
RESET hnsw.ef_search;
DROP TABLE c8_items, c8_cats, c8_char, c8_char_k, c8_ct;
DROP FUNCTION c8_crosstab_out(text), c8_crosstab_named(text, text);
DROP TYPE c8_ct_out;
