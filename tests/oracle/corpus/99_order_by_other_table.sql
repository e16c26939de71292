/*
ORDER BY a column of one table beside an output column of the same name from another
(issue 12, h-hunt3): `SELECT t.id, o.v ... ORDER BY o.id` over tables joined off their
distribution columns sorted the merged rows by the output `id` (t.id), silently; drivers
reading through cursors (asyncpg prefetch, JDBC setFetchSize) got the same rows in the
wrong order. The key is now returned by the nodes as a hidden column.
*/
CREATE TABLE obo_t (id int PRIMARY KEY, f int, v text) DISTRIBUTE BY HASH (id);
CREATE TABLE obo_o (id int PRIMARY KEY, tid int, v text) DISTRIBUTE BY HASH (id);
CREATE TABLE obo_r (id int PRIMARY KEY, x int) DISTRIBUTE BY REPLICATION;
INSERT INTO obo_t SELECT g, (g * 7) % 31, 't' || g FROM generate_series(1, 60) g;
INSERT INTO obo_o SELECT g, (g * 13) % 60 + 1, 'o' || g FROM generate_series(1, 90) g;
INSERT INTO obo_r SELECT g, 100 - g FROM generate_series(1, 60) g;
SELECT t.id, o.v FROM obo_t t JOIN obo_o o ON o.tid = t.id ORDER BY o.id;
SELECT t.id FROM obo_t t JOIN obo_o o ON o.tid = t.id ORDER BY o.id DESC;
SELECT t.id, o.v FROM obo_t t JOIN obo_o o ON o.tid = t.id ORDER BY o.id LIMIT 5 OFFSET 3;
SELECT t.v, o.id FROM obo_t t JOIN obo_o o ON o.tid = t.id ORDER BY t.f, t.id, o.id;
SELECT t.id, t.v FROM obo_t t JOIN obo_o o ON o.tid = t.id ORDER BY o.v;
SELECT t.id FROM obo_t t JOIN obo_o o ON o.tid = t.id ORDER BY o.id + 0;
SELECT o.id, r.x FROM obo_o o JOIN obo_r r ON r.id = o.tid ORDER BY r.id, o.id;
SELECT t.id AS id, o.tid FROM obo_t t JOIN obo_o o ON o.tid = t.f ORDER BY o.id, t.id;
SELECT t.f AS id FROM obo_t t ORDER BY t.id;
SELECT t.f AS id FROM obo_t t ORDER BY id, t.id;
