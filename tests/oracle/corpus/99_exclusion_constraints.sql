/*
EXCLUDE constraints on distributed tables: one that compares the distribution column with
`=` holds on each node (rows it keeps apart are on one node); one added later to a table
gridpg distributed by default that cannot hold there makes it a REPLICATION table, as a
unique key does (it was refused with the datanodes' partition error); one without `=`
at CREATE TABLE replicates the table. Rows PostgreSQL refuses are refused (23P01).
*/
CREATE EXTENSION IF NOT EXISTS btree_gist;
CREATE TABLE xc_booked (id int PRIMARY KEY, during tstzrange, room int);
INSERT INTO xc_booked VALUES (1, '[2024-01-01,2024-01-02)', 1), (2, '[2024-01-05,2024-01-06)', 1);
ALTER TABLE xc_booked ADD CONSTRAINT xc_booked_no_overlap EXCLUDE USING gist (room WITH =, during WITH &&);
-- error
INSERT INTO xc_booked VALUES (3, '[2024-01-01 12:00,2024-01-03)', 1);
INSERT INTO xc_booked VALUES (4, '[2024-01-01 12:00,2024-01-03)', 2);
SELECT id, room FROM xc_booked ORDER BY id;
CREATE TABLE xc_rooms (room int, during tstzrange, EXCLUDE USING gist (room WITH =, during WITH &&));
INSERT INTO xc_rooms SELECT g % 7, tstzrange('2024-01-01'::timestamptz + g * interval '1 day', '2024-01-01'::timestamptz + (g + 1) * interval '1 day') FROM generate_series(1, 60) g;
-- error
INSERT INTO xc_rooms VALUES (3, '[2024-01-01,2024-12-31)');
SELECT count(*), count(DISTINCT room) FROM xc_rooms;
CREATE TABLE xc_shapes (id int, c circle, EXCLUDE USING gist (c WITH &&));
INSERT INTO xc_shapes VALUES (1, '<(0,0),5>'), (2, '<(20,20),1>');
-- error
INSERT INTO xc_shapes VALUES (3, '<(1,1),1>');
SELECT id FROM xc_shapes ORDER BY id;
