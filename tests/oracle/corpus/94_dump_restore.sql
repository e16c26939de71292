/*
A schema restored the way pg_dump writes it, and session variables set with set_config().

pg_dump's script starts with SELECT pg_catalog.set_config('search_path', '', false) and
qualifies every name; it creates tables bare and adds each key afterwards with ALTER TABLE
ONLY ... ADD CONSTRAINT (PRIMARY KEY, UNIQUE, CHECK, FOREIGN KEY). On gridpg a HASH table is
a partitioned table of shards on each datanode, where ONLY made the key an invalid index on
the parent alone: duplicates were accepted silently, and ONLY CHECK / FOREIGN KEY failed.
set_config() ran on one pooled connection and the session lost the setting (an RLS policy
reading current_setting() then saw the wrong tenant).
*/

SELECT pg_catalog.set_config('search_path', '', false);
-- error
CREATE TABLE dr_unqualified (id int);
CREATE TABLE oracle_94_dump_restore.dr_actor (actor_id integer NOT NULL, first_name text NOT NULL, last_name text NOT NULL);
CREATE TABLE oracle_94_dump_restore.dr_film (film_id integer NOT NULL, title text NOT NULL, rating integer);
CREATE TABLE oracle_94_dump_restore.dr_film_actor (actor_id integer NOT NULL, film_id integer NOT NULL, note text);
INSERT INTO oracle_94_dump_restore.dr_actor SELECT i, 'first' || i, 'last' || (i % 7) FROM pg_catalog.generate_series(1, 40) i;
INSERT INTO oracle_94_dump_restore.dr_film SELECT i, 'film ' || i, i % 5 FROM pg_catalog.generate_series(1, 60) i;
INSERT INTO oracle_94_dump_restore.dr_film_actor SELECT 1 + i % 40, 1 + i % 60, NULL FROM pg_catalog.generate_series(1, 120) i;
ALTER TABLE ONLY oracle_94_dump_restore.dr_actor
    ADD CONSTRAINT dr_actor_pkey PRIMARY KEY (actor_id);
ALTER TABLE ONLY oracle_94_dump_restore.dr_film
    ADD CONSTRAINT dr_film_pkey PRIMARY KEY (film_id);
ALTER TABLE ONLY oracle_94_dump_restore.dr_film ADD CONSTRAINT dr_film_rating_check CHECK (rating >= 0);
ALTER TABLE ONLY oracle_94_dump_restore.dr_film_actor
    ADD CONSTRAINT dr_film_actor_pkey PRIMARY KEY (actor_id, film_id);
ALTER TABLE ONLY oracle_94_dump_restore.dr_film_actor
    ADD CONSTRAINT dr_film_actor_actor_id_fkey FOREIGN KEY (actor_id) REFERENCES oracle_94_dump_restore.dr_actor(actor_id) ON UPDATE CASCADE ON DELETE RESTRICT;
CREATE INDEX dr_idx_last_name ON oracle_94_dump_restore.dr_actor USING btree (last_name);
CREATE INDEX dr_idx_title ON ONLY oracle_94_dump_restore.dr_film USING btree (title);
SELECT pg_catalog.set_config('search_path', 'oracle_94_dump_restore', false);
SHOW search_path;
-- error
INSERT INTO dr_actor VALUES (1, 'again', 'dup');
-- error
INSERT INTO dr_film VALUES (61, 'bad', -1);
-- error
INSERT INTO dr_film_actor VALUES (99, 1, 'no such actor');
-- error
INSERT INTO dr_film_actor VALUES (2, 2, 'duplicate pair');
-- error
DELETE FROM dr_actor WHERE actor_id = 3;
INSERT INTO dr_actor VALUES (41, 'new', 'actor');
INSERT INTO dr_film_actor VALUES (41, 1, 'fine');
SELECT count(*), count(DISTINCT actor_id) FROM dr_actor;
SELECT a.last_name, count(*) FROM dr_actor a JOIN dr_film_actor fa USING (actor_id) GROUP BY a.last_name ORDER BY a.last_name;
BEGIN;
INSERT INTO dr_actor VALUES (42, 'in', 'block');
-- error
INSERT INTO dr_actor VALUES (42, 'in', 'block again');
ROLLBACK;
SELECT count(*) FROM dr_actor WHERE actor_id = 42;
-- error
ALTER TABLE ONLY dr_film DROP CONSTRAINT dr_no_such;
ALTER TABLE ONLY dr_film DROP CONSTRAINT dr_film_rating_check;
INSERT INTO dr_film VALUES (62, 'now fine', -1);

-- session variables (what row-level security policies and audit triggers read)
SELECT set_config('dr.tenant', '3', false);
SELECT current_setting('dr.tenant');
SELECT count(*) FROM dr_film WHERE rating = current_setting('dr.tenant')::int;
SELECT pg_catalog.set_config('dr.tenant', '4', false) AS tenant, set_config('dr.user', 'alice', false) AS who;
SELECT current_setting('dr.tenant'), current_setting('dr.user');
SELECT rating, count(*) FROM dr_film WHERE rating = current_setting('dr.tenant')::int GROUP BY rating;
BEGIN;
SELECT set_config('dr.tenant', '1', true);
SELECT current_setting('dr.tenant'), count(*) FROM dr_film WHERE rating = current_setting('dr.tenant')::int;
SELECT max(title), current_setting('dr.tenant') FROM dr_film WHERE rating = current_setting('dr.tenant')::int;
ROLLBACK;
SELECT current_setting('dr.tenant');
BEGIN;
SELECT set_config('dr.tenant', '2', false);
ROLLBACK;
SELECT current_setting('dr.tenant');
SELECT set_config('dr.tenant', 'x' || 'y', false);
SELECT current_setting('dr.tenant');
-- error
SELECT set_config('work_mem', 'lots', false);
SELECT set_config('dr.tenant', '0', true);
SELECT current_setting('dr.tenant');

-- views created before the keys (pg_dump's order): a key the default placement cannot hold
-- makes the table replicated, and its views are rebuilt with it (they made the move fail, 2BP01)
CREATE TABLE dr_store (store_id int NOT NULL, manager_staff_id int NOT NULL, address_id int);
CREATE TABLE dr_staff (staff_id int NOT NULL, store_id int, first_name text);
INSERT INTO dr_store VALUES (1, 1, 10), (2, 2, 20);
INSERT INTO dr_staff VALUES (1, 1, 'mike'), (2, 2, 'jon'), (3, 1, 'ann');
CREATE VIEW dr_store_list AS SELECT s.store_id, m.first_name AS manager FROM dr_store s JOIN dr_staff m ON m.staff_id = s.manager_staff_id;
CREATE VIEW dr_store_names WITH (security_barrier) AS SELECT manager FROM dr_store_list WHERE store_id > 0;
CREATE UNIQUE INDEX dr_idx_unq_manager ON dr_store USING btree (manager_staff_id);
ALTER TABLE ONLY dr_store ADD CONSTRAINT dr_store_pkey PRIMARY KEY (store_id);
ALTER TABLE ONLY dr_staff ADD CONSTRAINT dr_staff_pkey PRIMARY KEY (staff_id);
ALTER TABLE ONLY dr_staff ADD CONSTRAINT dr_staff_store_fkey FOREIGN KEY (store_id) REFERENCES dr_store(store_id);
SELECT * FROM dr_store_list ORDER BY store_id;
SELECT * FROM dr_store_names ORDER BY manager;
-- error
INSERT INTO dr_store VALUES (3, 1, 30);
-- error
INSERT INTO dr_staff VALUES (4, 9, 'nowhere');
UPDATE dr_staff SET first_name = 'mick' WHERE staff_id = 1;
SELECT * FROM dr_store_list ORDER BY store_id;
-- a function over the table's row type (pagila's rewards_report() RETURNS SETOF customer)
CREATE TABLE dr_customer (customer_id int NOT NULL, store_id int, email text);
INSERT INTO dr_customer SELECT i, 1 + i % 2, 'c' || i || '@example.org' FROM generate_series(1, 20) i;
CREATE FUNCTION dr_best_customers(min_id integer) RETURNS SETOF dr_customer LANGUAGE sql STABLE AS $$ SELECT * FROM dr_customer WHERE customer_id >= min_id ORDER BY customer_id $$;
CREATE FUNCTION dr_label(c dr_customer) RETURNS text LANGUAGE sql IMMUTABLE AS $$ SELECT c.customer_id || ':' || c.email $$;
CREATE VIEW dr_customer_labels AS SELECT dr_label(c) AS label FROM dr_customer c;
CREATE UNIQUE INDEX dr_customer_email ON dr_customer USING btree (email);
SELECT count(*) FROM dr_customer_labels;
SELECT label FROM dr_customer_labels WHERE label LIKE '1:%' OR label LIKE '2:%' ORDER BY label;
SELECT customer_id FROM dr_best_customers(18);
-- error
INSERT INTO dr_customer VALUES (21, 1, 'c1@example.org');
-- sequences a column uses without owning them (pg_dump writes no OWNED BY for these)
CREATE SEQUENCE dr_shared_seq START WITH 1 CACHE 1;
CREATE TABLE dr_rental (rental_id integer DEFAULT nextval('dr_shared_seq'::regclass) NOT NULL, note text);
INSERT INTO dr_rental (rental_id, note) SELECT i, 'old' FROM generate_series(1, 50) i;
SELECT setval('dr_shared_seq', 50);
INSERT INTO dr_rental (note) VALUES ('new') RETURNING rental_id;
INSERT INTO dr_rental (note) VALUES ('a'), ('b') RETURNING rental_id;
ALTER TABLE ONLY dr_rental ADD CONSTRAINT dr_rental_pkey PRIMARY KEY (rental_id);
CREATE UNIQUE INDEX dr_rental_note_u ON dr_rental (note, rental_id);
INSERT INTO dr_rental (note) VALUES ('c') RETURNING rental_id;
INSERT INTO dr_rental (rental_id, note) VALUES (DEFAULT, 'd') RETURNING rental_id;
SELECT count(*), count(DISTINCT rental_id), max(rental_id) FROM dr_rental;
-- currval()/lastval() in UPDATE/DELETE/SELECT ... FROM: constants within the statement
INSERT INTO dr_rental (note) VALUES ('e') RETURNING rental_id;
UPDATE dr_rental SET note = 'e2' WHERE rental_id = currval('dr_shared_seq') RETURNING rental_id, note;
SELECT rental_id, note, currval('dr_shared_seq'), lastval() FROM dr_rental WHERE rental_id = lastval();
DELETE FROM dr_rental WHERE rental_id = currval('dr_shared_seq') RETURNING rental_id, lastval();
SELECT count(*) FROM dr_rental WHERE rental_id < currval('dr_shared_seq') - 10;
/* ñandú */ SELECT count(*) FROM ONLY dr_rental;
/* ñandú */ SELECT count(*) FROM ONLY dr_film WHERE title <> 'é';
-- setval from a subquery over the table (migration scripts after loading rows with their ids)
CREATE TABLE dr_artist (artist_id serial PRIMARY KEY, name text);
INSERT INTO dr_artist (artist_id, name) SELECT i, 'artist ' || i FROM generate_series(1, 275) i;
SELECT setval(pg_get_serial_sequence('dr_artist', 'artist_id'), (SELECT max(artist_id) FROM dr_artist));
INSERT INTO dr_artist (name) VALUES ('next') RETURNING artist_id;
SELECT setval('dr_artist_artist_id_seq', coalesce((SELECT max(artist_id) FROM dr_artist WHERE name LIKE 'artist%'), 1), true);
-- error
INSERT INTO dr_artist (artist_id, name) VALUES (DEFAULT, 'collides with next') RETURNING artist_id, name;
INSERT INTO dr_artist (artist_id, name) VALUES (DEFAULT, 'after') RETURNING artist_id, name;
-- a table with a trigger of its own: currval() in its UPDATE is still the session's constant
CREATE FUNCTION dr_touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.note := NEW.note || '!'; RETURN NEW; END $$;
CREATE TRIGGER dr_touch BEFORE UPDATE ON dr_rental FOR EACH ROW EXECUTE FUNCTION dr_touch();
INSERT INTO dr_rental (note) VALUES ('t') RETURNING rental_id;
UPDATE dr_rental SET note = 'touched' WHERE rental_id = currval('dr_shared_seq') RETURNING rental_id, note;
