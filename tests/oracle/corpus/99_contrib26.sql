/*
What the replay of PostgreSQL 18.3's contrib regression files and of user SQL over
extension types (h-contrib26) found.
1. pg_trgm's set_limit(x) sets pg_trgm.similarity_threshold on the server running it: run
   on the catalog server alone, `t % 'word'` on the datanodes kept the old threshold and
   answered other rows, silently. isn's isn_weak(true) likewise left the datanodes
   refusing ISBNs with a wrong check digit. Such C functions (planner/routines.py
   SETTING_C_FUNCTIONS) now count as code that changes the setting, which the session
   takes over on every node (frontend/session_commands.adopt_code_settings).
2. pg_extension as a client reads it listed gridpg's own postgres_fdw.
3. citext as a key across nodes: GROUP BY, DISTINCT, joins, semi-joins, INTERSECT,
   min/max; these agreed already and stay here as guards (values of extension types are
   compared as text: their type OIDs are each server's own).
*/

CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE TABLE c26_words (id int, t text);
INSERT INTO c26_words SELECT g, (ARRAY['word','words','sword','wordy','world','ward','lord','cord','worm','wore'])[1 + g % 10] || CASE WHEN g > 10 THEN g::text ELSE '' END FROM generate_series(1, 60) g;
SELECT count(*) FROM c26_words WHERE t % 'word';
SELECT set_limit(0.2);
SELECT show_limit();
SELECT count(*) FROM c26_words WHERE t % 'word';
BEGIN;
SELECT set_limit(0.1);
SELECT count(*) FROM c26_words WHERE t % 'word';
ROLLBACK;
SELECT count(*) FROM c26_words WHERE t % 'word';
SELECT set_limit(0.5), count(*) FROM c26_words WHERE t % 'word';
SELECT count(*) FROM c26_words WHERE t % 'word';
CREATE FUNCTION c26_limit(real) RETURNS real LANGUAGE plpgsql AS $$ BEGIN PERFORM set_limit($1); RETURN show_limit(); END $$;
SELECT c26_limit(0.15);
SELECT count(*) FROM c26_words WHERE t % 'word';
SELECT t FROM c26_words WHERE t % 'lord' ORDER BY t LIMIT 5;
SELECT id, t <-> 'word' AS d FROM c26_words ORDER BY t <-> 'word', id LIMIT 6;
RESET pg_trgm.similarity_threshold;
SELECT count(*) FROM c26_words WHERE t % 'word';

CREATE EXTENSION IF NOT EXISTS isn;
CREATE TABLE c26_books (id int, code isbn13);
INSERT INTO c26_books VALUES (1, '978-0-393-04002-9');
SELECT isn_weak(true);
INSERT INTO c26_books VALUES (2, '978-0-393-04002-0');
SELECT id, code::text, is_valid(code) FROM c26_books ORDER BY id;
SELECT count(*) FROM c26_books WHERE code = '978-0-393-04002-0';
SELECT isn_weak(false);
-- error
INSERT INTO c26_books VALUES (3, '978-0-393-04002-1');
SELECT count(*) FROM c26_books;

SELECT count(*) FROM pg_extension WHERE extname = 'postgres_fdw';

CREATE EXTENSION IF NOT EXISTS citext;
CREATE TABLE c26_names (id int, name citext, n int);
INSERT INTO c26_names SELECT g, (ARRAY['Abc','abc','ABC','xyz','XYZ','Foo','foo ','FOO'])[1 + g % 8], g FROM generate_series(1, 80) g;
CREATE TABLE c26_names2 (id int, name citext, label text);
INSERT INTO c26_names2 VALUES (1, 'aBC', 'one'), (2, 'XyZ', 'two'), (3, 'nope', 'three'), (4, 'FOO', 'four');
SELECT lower(name::text), count(*), sum(n) FROM c26_names GROUP BY name ORDER BY 1;
SELECT count(DISTINCT name) FROM c26_names;
SELECT b.label, count(*) FROM c26_names a JOIN c26_names2 b ON a.name = b.name GROUP BY b.label ORDER BY 1;
SELECT count(*) FROM c26_names WHERE name IN (SELECT name FROM c26_names2);
SELECT count(*) FROM (SELECT name FROM c26_names INTERSECT SELECT name FROM c26_names2) s;
SELECT lower(min(name)::text), lower(max(name)::text) FROM c26_names;

