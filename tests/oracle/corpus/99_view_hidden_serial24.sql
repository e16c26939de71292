/*
INSERT through an automatically updatable view that does not show its table's serial or
identity column (Pagila's `family_films`, an API view without the id). PostgreSQL's
rewriter inserts into the table, whose default takes the sequence's next value; a
datanode would take it from its own copy of the sequence, so gridpg refused it (0A000).
Now the INSERT runs as that INSERT into the table, the column given the GTM's value
(executor/view_insert._ensure_table_takes_it), and the row is routed by it when it is the
distribution column. Still refused: a CHECK OPTION, a view over a view, RETURNING or ON
CONFLICT (they name the view's columns), row security on the table.
*/

DROP SCHEMA IF EXISTS vhs CASCADE;
CREATE SCHEMA vhs;
SET search_path = vhs;
CREATE TABLE film (film_id serial PRIMARY KEY, title text NOT NULL, rating text DEFAULT 'G',
                   length int, last_update timestamptz DEFAULT now() NOT NULL);
INSERT INTO film (title, rating, length)
  SELECT 'f' || g, CASE WHEN g % 3 = 0 THEN 'R' ELSE 'PG' END, g FROM generate_series(1, 20) g;
CREATE VIEW family_films AS SELECT title, rating, length FROM film WHERE rating IN ('G', 'PG');

INSERT INTO family_films (title, rating, length) VALUES ('KIDS', 'G', 90);
INSERT INTO family_films VALUES ('KIDS2', 'PG', 80), ('KIDS3', 'R', 70);
INSERT INTO family_films (title) VALUES ('KIDS4');
SELECT film_id, title, rating, length FROM film WHERE title LIKE 'KIDS%' ORDER BY film_id;
SELECT title FROM family_films WHERE title LIKE 'KIDS%' ORDER BY 1;
SELECT count(*), count(DISTINCT film_id), max(film_id) FROM film;

-- the serial column is the distribution column: each row lands where its new id routes it
INSERT INTO film (title) VALUES ('direct');
SELECT film_id, title FROM film WHERE title = 'direct';

-- an identity column GENERATED ALWAYS
CREATE TABLE film2 (film_id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY, title text);
CREATE VIEW f2v AS SELECT title FROM film2;
INSERT INTO f2v VALUES ('a'), ('b');
INSERT INTO f2v (title) VALUES ('c');
SELECT * FROM film2 ORDER BY film_id;

-- rolled back with its block
BEGIN;
INSERT INTO family_films (title) VALUES ('rolled');
SELECT count(*) FROM film WHERE title = 'rolled';
ROLLBACK;
SELECT count(*) FROM film WHERE title = 'rolled';

-- an error leaves nothing written
-- error
INSERT INTO family_films (title, length) VALUES ('bad', 'x');
SELECT count(*) FROM film WHERE title = 'bad';
RESET search_path;
DROP SCHEMA vhs CASCADE;
