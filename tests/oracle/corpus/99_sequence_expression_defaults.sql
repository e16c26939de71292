/*
INSERT ... SELECT into a distributed table leaving a column to a default that calls
nextval() inside an expression (`'ORD-' || lpad(nextval('order_no')::text, 6, '0')`, the
human-readable codes applications number their rows with) was refused (0A000). Each call
now takes the GTM's next value per row into the staging table and every node computes the
expression from it (executor/insert_nextval.SequenceDefault): PostgreSQL's values, row by
row and column by column when two defaults share a sequence, with ON CONFLICT, RETURNING,
a rolled-back block, and into a REPLICATION table.
*/
CREATE SEQUENCE sx_order_no START 100;
CREATE TABLE sx_src (id int PRIMARY KEY, amount int);
INSERT INTO sx_src SELECT g, g * 10 FROM generate_series(1, 12) g;
CREATE TABLE sx_orders (id bigserial PRIMARY KEY, src_id int, code text NOT NULL DEFAULT 'ORD-' || lpad(nextval('sx_order_no')::text, 6, '0'), amount int, note text DEFAULT 'n' || nextval('sx_order_no') * 2);
INSERT INTO sx_orders (src_id, amount) SELECT id, amount FROM sx_src WHERE id <= 4 ORDER BY id RETURNING src_id, code, note, id;
INSERT INTO sx_orders (src_id, amount, note) SELECT id, amount, 'given' FROM sx_src WHERE id > 10 ORDER BY id RETURNING src_id, code, note;
SELECT count(*), count(DISTINCT code), min(code), max(code) FROM sx_orders;
INSERT INTO sx_orders (id, src_id) SELECT id, id FROM sx_src WHERE id = 1 ON CONFLICT (id) DO UPDATE SET note = 'conflict' RETURNING id, code, note;
SELECT nextval('sx_order_no');
BEGIN;
INSERT INTO sx_orders (src_id, amount) SELECT id, amount FROM sx_src WHERE id BETWEEN 5 AND 6 ORDER BY id RETURNING code;
ROLLBACK;
INSERT INTO sx_orders (src_id, amount) SELECT id, amount FROM sx_src WHERE id = 7 RETURNING code, note;
SELECT src_id, code, note FROM sx_orders ORDER BY src_id, code;
CREATE TABLE sx_ref (k int PRIMARY KEY, tag text DEFAULT 'R' || nextval('sx_order_no')) DISTRIBUTE BY REPLICATION;
INSERT INTO sx_ref (k) SELECT id FROM sx_src WHERE id <= 3 ORDER BY id RETURNING k, tag;
SELECT k, tag FROM sx_ref ORDER BY k;
INSERT INTO sx_orders (src_id) SELECT count(*) FROM sx_src RETURNING src_id, code;
SELECT currval('sx_order_no');
