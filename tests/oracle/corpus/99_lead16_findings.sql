/*
SQL as users write it, lead's sixteenth probe. nextval() per row of a SELECT over
distributed tables (`SELECT nextval('s'), id FROM t`, numbering rows for an export, a
batch id per row): refused with 0A000 before, since a datanode would draw from its own
copy of the sequence. It now runs on the catalog server with the tables read through
the loopback's shadows, each call taking the GTM's next value where and as often as
PostgreSQL calls nextval (with ORDER BY ... LIMIT: after the sort, for the rows returned).
*/
CREATE SEQUENCE l16_seq;
CREATE TABLE l16_src (id int PRIMARY KEY, v text);
INSERT INTO l16_src SELECT g, 'v' || g FROM generate_series(1, 10) g;
SELECT nextval('l16_seq') AS n, id FROM l16_src WHERE id = 1;
SELECT id, nextval('l16_seq') FROM l16_src ORDER BY id LIMIT 3;
SELECT currval('l16_seq'), lastval();
SELECT count(*), count(DISTINCT x), min(x), max(x) FROM (SELECT nextval('l16_seq') x FROM l16_src) t;
SELECT s.id, nextval('l16_seq'::regclass) AS batch FROM l16_src s JOIN l16_src s2 ON s2.id = s.id + 1 WHERE s.id < 4 ORDER BY s.id;
BEGIN;
SELECT id, nextval('l16_seq') FROM l16_src WHERE id > 8 ORDER BY id;
ROLLBACK;
SELECT nextval('l16_seq');
SELECT v, nextval('l16_seq') FROM l16_src WHERE id IN (2, 3) ORDER BY v DESC;
