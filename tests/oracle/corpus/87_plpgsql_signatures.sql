/*
PL/pgSQL routines whose signatures pglast's catalog-less PL/pgSQL parser cannot read as
written, over distributed tables: a set-returning function of a table's row type in
another schema (pg_get_functiondef writes `RETURNS SETOF blog.posts`), a parameter of a
schema-qualified user type, RETURNS TABLE of such types, VARIADIC parameters, named and
default arguments, OUT parameters. They were refused (0A000 "its body cannot be read");
gridpg reads them with the signature simplified (sql/plpgsql.parse) and runs them through
the loopback inside the caller's transaction.
*/

DROP SCHEMA IF EXISTS blog CASCADE;
CREATE SCHEMA blog;
CREATE TYPE blog.mood AS ENUM ('sad', 'ok', 'glad');
CREATE TABLE blog.posts (id serial PRIMARY KEY, author_id int NOT NULL, title text, views int DEFAULT 0, published boolean DEFAULT false, mood blog.mood DEFAULT 'ok');
INSERT INTO blog.posts (author_id, title, mood) SELECT (g % 3) + 1, 'post ' || g, (ARRAY['sad', 'ok', 'glad'])[(g % 3) + 1]::blog.mood FROM generate_series(1, 30) g;

-- RETURNS SETOF a row type of another schema, a default argument, named notation, FOUND
CREATE FUNCTION blog.posts_of(p_author int DEFAULT 1) RETURNS SETOF blog.posts LANGUAGE plpgsql AS $$ BEGIN RETURN QUERY SELECT * FROM blog.posts WHERE author_id = p_author ORDER BY id LIMIT 2; IF NOT FOUND THEN RAISE NOTICE 'none for %', p_author; END IF; END $$;
SELECT id, title FROM blog.posts_of();
SELECT id, title FROM blog.posts_of(p_author => 3);
SELECT count(*) FROM blog.posts_of(99);

-- VARIADIC, GET DIAGNOSTICS, in a block that rolls back and one that commits
CREATE FUNCTION blog.publish(VARIADIC ids int[]) RETURNS int LANGUAGE plpgsql AS $$ DECLARE n int; BEGIN UPDATE blog.posts SET published = true WHERE id = ANY (ids); GET DIAGNOSTICS n = ROW_COUNT; RETURN n; END $$;
BEGIN;
SELECT blog.publish(1, 2, 3, 100);
SELECT count(*) FROM blog.posts WHERE published;
ROLLBACK;
SELECT count(*) FROM blog.posts WHERE published;
SELECT blog.publish(VARIADIC ARRAY[4, 5]);
SELECT id FROM blog.posts WHERE published ORDER BY id;

-- a parameter of a schema-qualified enum type, RETURNS TABLE with one
CREATE FUNCTION blog.by_mood(m blog.mood) RETURNS TABLE (post_id int, post_mood blog.mood) LANGUAGE plpgsql AS $$ BEGIN RETURN QUERY SELECT p.id, p.mood FROM blog.posts p WHERE p.mood = m ORDER BY p.id LIMIT 3; END $$;
SELECT post_id, post_mood::text FROM blog.by_mood('glad');

-- OUT parameters
CREATE FUNCTION blog.author_stats(p_author int, OUT n int, OUT total_views bigint) LANGUAGE plpgsql AS $$ BEGIN SELECT count(*), coalesce(sum(views), 0) INTO n, total_views FROM blog.posts WHERE author_id = p_author; END $$;
SELECT * FROM blog.author_stats(2);

DROP SCHEMA blog CASCADE;
