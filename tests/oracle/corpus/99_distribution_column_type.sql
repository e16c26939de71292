/*
ALTER TABLE ... ALTER COLUMN <distribution column> TYPE ... [USING ...] (commands/retype.py):
Django's migration of an `integer` primary key to `bigint` (AutoField to BigAutoField: the
incoming foreign keys dropped, the key and the referencing columns retyped, the serial
sequence made bigint, the keys added again, in one transaction), identity keys, a type of
another hash family (int to text, text to int, int to numeric) and a USING that changes the
values, so rows change datanode. A failing cast (22P02) and a view over the column (0A000)
fail as in PostgreSQL and leave the table as it was; ROLLBACK undoes the change; the second
coordinator routes by the new type.
*/
CREATE TABLE "app_model" ("id" serial NOT NULL PRIMARY KEY, "name" varchar(40) NOT NULL);
CREATE TABLE "app_item" ("id" serial NOT NULL PRIMARY KEY, "model_id" integer NOT NULL, "qty" integer NOT NULL);
ALTER TABLE "app_item" ADD CONSTRAINT "app_item_model_id_fk" FOREIGN KEY ("model_id") REFERENCES "app_model" ("id") DEFERRABLE INITIALLY DEFERRED;
CREATE INDEX "app_item_model_id" ON "app_item" ("model_id");
INSERT INTO "app_model" ("name") SELECT 'model ' || g FROM generate_series(1, 120) g;
INSERT INTO "app_model" ("id", "name") VALUES (-7, 'negative'), (-2147483648, 'smallest');
INSERT INTO "app_item" ("model_id", "qty") SELECT 1 + g % 120, g FROM generate_series(1, 300) g;
-- error
SELECT setval('"app_model_id_seq"', 3000000000);
BEGIN;
SET CONSTRAINTS "app_item_model_id_fk" IMMEDIATE;
ALTER TABLE "app_item" DROP CONSTRAINT "app_item_model_id_fk";
ALTER TABLE "app_model" ALTER COLUMN "id" TYPE bigint USING "id"::bigint;
ALTER SEQUENCE IF EXISTS "app_model_id_seq" AS bigint;
ALTER TABLE "app_item" ALTER COLUMN "model_id" TYPE bigint USING "model_id"::bigint;
ALTER TABLE "app_item" ADD CONSTRAINT "app_item_model_id_fk" FOREIGN KEY ("model_id") REFERENCES "app_model" ("id") DEFERRABLE INITIALLY DEFERRED;
COMMIT;
SELECT attrelid::regclass::text, attname, format_type(atttypid, atttypmod), attnotnull FROM pg_attribute WHERE attrelid IN ('"app_model"'::regclass, '"app_item"'::regclass) AND attnum > 0 AND NOT attisdropped ORDER BY 1, 2;
SELECT "id", "name" FROM "app_model" WHERE "id" = -7;
SELECT "id", "name" FROM "app_model" WHERE "id" = -2147483648;
SELECT "id", "name" FROM "app_model" WHERE "id" = 77;
SELECT count(*), sum("id") FROM "app_model";
SELECT m."name", sum(i."qty") FROM "app_model" m JOIN "app_item" i ON i."model_id" = m."id" WHERE m."id" IN (5, 6) GROUP BY m."name" ORDER BY 1;
SELECT setval('"app_model_id_seq"', 3000000000);
INSERT INTO "app_model" ("name") VALUES ('after') RETURNING "id", "name";
INSERT INTO "app_item" ("model_id", "qty") VALUES (3000000001, 1);
-- error
INSERT INTO "app_item" ("model_id", "qty") VALUES (3000000002, 1);
UPDATE "app_model" SET "name" = 'renamed' WHERE "id" = 3000000001;
\connect 2
SELECT "id", "name" FROM "app_model" WHERE "id" = 3000000001;
SELECT "id", "name" FROM "app_model" WHERE "id" = -7;
DELETE FROM "app_item" WHERE "model_id" = 3000000001;
DELETE FROM "app_model" WHERE "id" = 3000000001 RETURNING "name";
SELECT count(*) FROM "app_model";
\connect 1
CREATE TABLE ident (id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY, v text);
INSERT INTO ident (v) SELECT 'v' || g FROM generate_series(1, 50) g;
ALTER TABLE ident ALTER COLUMN id TYPE bigint;
INSERT INTO ident (v) VALUES ('next') RETURNING id, v;
SELECT v FROM ident WHERE id = 49;
SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = 'ident'::regclass AND attname = 'id';
SELECT data_type FROM information_schema.sequences WHERE sequence_name = 'ident_id_seq';
CREATE TABLE codes (code text PRIMARY KEY, n int NOT NULL) DISTRIBUTE BY HASH (code);
INSERT INTO codes SELECT g::text, g FROM generate_series(1, 150) g;
INSERT INTO codes VALUES ('12a', -1);
-- error
ALTER TABLE codes ALTER COLUMN code TYPE int USING code::int;
SELECT count(*), sum(n) FROM codes;
SELECT n FROM codes WHERE code = '12a';
SELECT n FROM codes WHERE code = '99';
DELETE FROM codes WHERE code = '12a';
ALTER TABLE codes ALTER COLUMN code TYPE int USING code::int;
SELECT n FROM codes WHERE code = 99;
SELECT count(*), sum(code), sum(n) FROM codes;
BEGIN;
ALTER TABLE codes ALTER COLUMN code TYPE numeric(10, 1) USING code / 4.0;
SELECT n FROM codes WHERE code = 25.0;
SELECT n FROM codes WHERE code = 25.3;
ROLLBACK;
SELECT n FROM codes WHERE code = 100;
ALTER TABLE codes ALTER COLUMN code TYPE text USING 'c' || code;
SELECT n FROM codes WHERE code = 'c42';
SELECT count(*) FROM codes WHERE code LIKE 'c%';
CREATE VIEW code_view AS SELECT code, n FROM codes;
-- error
ALTER TABLE codes ALTER COLUMN code TYPE varchar(20);
DROP VIEW code_view;
ALTER TABLE codes ALTER COLUMN code TYPE varchar(20);
SELECT n FROM codes WHERE code = 'c42';
\connect 2
SELECT n FROM codes WHERE code = 'c43';
SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = 'codes'::regclass AND attname = 'code';
-- error
ALTER TABLE codes ALTER COLUMN code TYPE varchar(2);
SELECT count(*) FROM codes;
CREATE TABLE blocks (id int PRIMARY KEY, v int) DISTRIBUTE BY HASH (id);
INSERT INTO blocks SELECT g, g FROM generate_series(1, 60) g;
BEGIN;
ALTER TABLE blocks ALTER COLUMN id TYPE text;
-- error
SELECT 1 / 0;
COMMIT;
SELECT v FROM blocks WHERE id = 7;
BEGIN;
ALTER TABLE blocks ALTER COLUMN id TYPE text;
SAVEPOINT s;
ALTER TABLE blocks ALTER COLUMN id TYPE numeric USING id::numeric * 2;
SELECT v FROM blocks WHERE id = 14;
ROLLBACK TO SAVEPOINT s;
SELECT v FROM blocks WHERE id = '7';
INSERT INTO blocks VALUES ('x', 0);
COMMIT;
SELECT v FROM blocks WHERE id = 'x';
SELECT count(*), sum(v) FROM blocks;
