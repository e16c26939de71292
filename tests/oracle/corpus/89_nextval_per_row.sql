/*
nextval() once per row over distributed tables, as PostgreSQL evaluates it: INSERT ...
SELECT nextval('s'), ... FROM another distributed table (executor/insert_nextval.py) and
UPDATE t SET col = nextval('s') (executor/update_nextval.py: the rows locked by (tableoid,
ctid) on each datanode, one GTM value each, then updated by those ctids; was 0A000), with a
quoted sequence name, INCREMENT, RETURNING, WHERE, inside transactions that commit and roll
back. Which row gets which value follows the scan order in both (not promised), so the
checks compare counts, distinct counts and ranges.
*/

CREATE SEQUENCE "Ticket Seq" START 100 INCREMENT 5;
CREATE SEQUENCE batch_no;
CREATE TABLE src (id int PRIMARY KEY, x text) DISTRIBUTE BY HASH (id);
CREATE TABLE tickets (id bigint, x text, ref bigint, batch bigint, note text) DISTRIBUTE BY HASH (x);
CREATE TABLE "Mod Tickets" (k int, n bigint) DISTRIBUTE BY MODULO (k);
INSERT INTO src SELECT g, 'x' || g FROM generate_series(1, 10) g;
INSERT INTO tickets (id, x) SELECT nextval('"Ticket Seq"'), x FROM src;
SELECT count(DISTINCT id), min(id), max(id) FROM tickets;
-- one value per updated row
UPDATE tickets SET ref = nextval('"Ticket Seq"') WHERE x > 'x3';
SELECT count(DISTINCT ref), min(ref), max(ref), count(ref) FROM tickets;
SELECT currval('"Ticket Seq"');
-- two sequences, another SET item, an alias and RETURNING
UPDATE tickets AS t SET id = nextval('"Ticket Seq"'), batch = nextval('batch_no'), note = upper(t.x) RETURNING t.id > 0 AS ok, t.batch BETWEEN 1 AND 10 AS in_range, note;
SELECT count(DISTINCT id), min(id), max(id), count(DISTINCT batch), min(batch), max(batch) FROM tickets;
SELECT currval('"Ticket Seq"'), currval('batch_no'), lastval();
-- no row matches: no value taken
UPDATE tickets SET ref = nextval('batch_no') WHERE x = 'none' RETURNING ref;
SELECT nextval('batch_no');
-- a modulo table
INSERT INTO "Mod Tickets" SELECT g, 0 FROM generate_series(1, 7) g;
UPDATE "Mod Tickets" SET n = nextval('batch_no') WHERE k % 2 = 1;
SELECT count(DISTINCT n), min(n), max(n) FROM "Mod Tickets" WHERE k % 2 = 1;

-- a transaction that rolls back keeps the values taken (sequences are not transactional)
BEGIN;
UPDATE tickets SET ref = nextval('"Ticket Seq"');
SELECT count(DISTINCT ref), count(ref) FROM tickets;
ROLLBACK;
SELECT count(DISTINCT ref), min(ref), max(ref), count(ref) FROM tickets;
SELECT nextval('"Ticket Seq"');

-- a transaction that commits, the rows seen by later statements of the block
BEGIN;
INSERT INTO tickets (id, x) VALUES (1, 'new');
UPDATE tickets SET ref = nextval('"Ticket Seq"') WHERE ref IS NULL;
SELECT count(*) FROM tickets WHERE ref IS NULL;
COMMIT;
SELECT count(DISTINCT ref), min(ref), max(ref), count(ref) FROM tickets;
