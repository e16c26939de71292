/*
What Python database tools send (issue 12, h-pytools; the tools themselves run in
tests/compat/test_python_tools.py).

Alembic's every migration after the first: its DDL and `UPDATE alembic_version SET
version_num = ... WHERE version_num = ...` in one transaction. The key is the table's
distribution column, so the row moves; the copy it was updated in was a temp table on
the block's catalog connection, and the DDL's PREPARE there failed at COMMIT (0A000
"cannot PREPARE a transaction that has operated on temporary objects"): the migration
was lost. The same with the UPDATE before the DDL, with RETURNING, with generated
columns, and rolled back.
*/
CREATE SCHEMA oracle_pyt;
CREATE TABLE oracle_pyt.alembic_version (version_num varchar(32) NOT NULL, CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num));
INSERT INTO oracle_pyt.alembic_version (version_num) VALUES ('r1');
BEGIN;
CREATE TABLE oracle_pyt.tag (id serial PRIMARY KEY, name varchar(30) NOT NULL);
ALTER TABLE oracle_pyt.tag ADD COLUMN color varchar(7) DEFAULT '#000000';
UPDATE oracle_pyt.alembic_version SET version_num='r2' WHERE oracle_pyt.alembic_version.version_num = 'r1';
COMMIT;
SELECT version_num FROM oracle_pyt.alembic_version;
BEGIN;
UPDATE oracle_pyt.alembic_version SET version_num = 'r3' WHERE version_num = 'r2' RETURNING version_num;
CREATE INDEX ix_tag_name ON oracle_pyt.tag (name);
COMMIT;
SELECT version_num FROM oracle_pyt.alembic_version;
SELECT count(*) FROM pg_indexes WHERE schemaname = 'oracle_pyt' AND indexname = 'ix_tag_name';
CREATE TABLE oracle_pyt.g (k int PRIMARY KEY, a int, d int GENERATED ALWAYS AS (a * 2) STORED);
INSERT INTO oracle_pyt.g VALUES (1, 10), (2, 20), (3, 30);
BEGIN;
ALTER TABLE oracle_pyt.g ADD COLUMN note text DEFAULT 'n';
UPDATE oracle_pyt.g SET k = k + 10, a = a + 1 WHERE k < 3 RETURNING k, a, d, note;
COMMIT;
SELECT k, a, d, note FROM oracle_pyt.g ORDER BY k;
BEGIN;
CREATE TABLE oracle_pyt.gone (id int);
UPDATE oracle_pyt.alembic_version SET version_num = 'r4' RETURNING version_num;
ROLLBACK;
SELECT version_num FROM oracle_pyt.alembic_version;
SELECT count(*) FROM information_schema.tables WHERE table_schema = 'oracle_pyt' AND table_name = 'gone';
/*
Alembic data migrations: DDL, then queries over distributed tables in the same
transaction. A coordinator finish (an expression join, a correlated subquery) kept its
gathered rows in temp tables on the block's catalog connection, and COMMIT failed with
0A000 (documented as left before); an exchange finished by two-phase aggregation or a
sorted merge did the same; `NOT IN (SELECT ...)` with ORDER BY (a subplan, then an exchange
that moves nothing) hung forever: the exchange's row estimates were asked on the block's
own datanode connection twice at once.
*/
CREATE TABLE oracle_pyt.author (id serial PRIMARY KEY, name text);
CREATE TABLE oracle_pyt.post (id serial PRIMARY KEY, author_id int, title text, score int);
INSERT INTO oracle_pyt.author (name) SELECT 'a' || g FROM generate_series(1, 12) g;
INSERT INTO oracle_pyt.post (author_id, title, score) SELECT 1 + g % 12, 't' || g, g % 7 FROM generate_series(1, 60) g;
BEGIN;
CREATE TABLE oracle_pyt.b1 (id int PRIMARY KEY);
SELECT a.name, (SELECT max(p.score) FROM oracle_pyt.post p WHERE p.author_id = a.id) FROM oracle_pyt.author a ORDER BY a.id LIMIT 4;
SELECT count(*) FROM oracle_pyt.post a JOIN oracle_pyt.post b ON a.title = b.title || '0';
SELECT string_agg(name, ',' ORDER BY name) FROM oracle_pyt.author a WHERE EXISTS (SELECT 1 FROM oracle_pyt.post p WHERE p.author_id = a.id AND p.score > 5);
SELECT author_id, sum(score), rank() OVER (ORDER BY sum(score) DESC, author_id) FROM oracle_pyt.post GROUP BY author_id ORDER BY 3 LIMIT 3;
SELECT DISTINCT ON (score) score, title FROM oracle_pyt.post ORDER BY score, title;
SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY score) FROM oracle_pyt.post;
SELECT a.name FROM oracle_pyt.author a WHERE a.id NOT IN (SELECT author_id FROM oracle_pyt.post WHERE score = 6) ORDER BY 1;
SELECT score, count(*) FROM oracle_pyt.post GROUP BY score HAVING count(*) > (SELECT count(*) / 10 FROM oracle_pyt.post) ORDER BY 1;
INSERT INTO oracle_pyt.b1 SELECT DISTINCT score FROM oracle_pyt.post;
UPDATE oracle_pyt.post SET score = score + 1 WHERE author_id IN (SELECT id FROM oracle_pyt.author WHERE name LIKE 'a1%');
COMMIT;
SELECT count(*), sum(score) FROM oracle_pyt.post;
SELECT count(*) FROM oracle_pyt.b1;
