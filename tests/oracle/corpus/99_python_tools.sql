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
