/*
Tablespaces on the cluster (h-tblspc18): CREATE / ALTER / DROP TABLESPACE reach every
server outside transactions (commands/tablespaces.py), tables and indexes of every
distribution in a tablespace, ALTER TABLE / INDEX ... SET TABLESPACE moving the shards,
default_tablespace, pg_tablespace_size answering the datanodes' rows. Before, CREATE
TABLESPACE failed with 25001 (gridpg ran it in its DDL transaction: test_setup.sql:28).
Tablespace names are global: every name here starts with o18_ and is dropped at the end.
(Server-wide objects the self mode, two databases on one server, cannot hold twice: this
file fails there, as those creating roles do; the integration tests check the servers.)
*/

SET allow_in_place_tablespaces = on;
DROP TABLESPACE IF EXISTS o18_ts;
-- error
CREATE TABLESPACE o18_ts LOCATION 'relative';
-- error
CREATE TABLESPACE o18_ts LOCATION '/no/such/o18';
-- error
CREATE TABLESPACE o18_ts LOCATION '' WITH (o18_no_such_parameter = true);
CREATE TABLESPACE o18_ts LOCATION '' WITH (random_page_cost = 3.0);
SELECT spcname, spcoptions FROM pg_tablespace WHERE spcname = 'o18_ts';
-- error
CREATE TABLESPACE o18_ts LOCATION '';
BEGIN;
-- error
CREATE TABLESPACE o18_blk LOCATION '';
ROLLBACK;
BEGIN;
-- error
DROP TABLESPACE o18_ts;
ROLLBACK;
SELECT count(*) FROM pg_tablespace WHERE spcname LIKE 'o18%';
-- error
DROP TABLESPACE o18_nosuch;
DROP TABLESPACE IF EXISTS o18_nosuch;
-- the database's own tablespace: never while connected to it (55006); was 25001
-- error
ALTER DATABASE postgres SET TABLESPACE o18_ts;
-- error
ALTER DATABASE o18_nosuch SET TABLESPACE o18_ts;
BEGIN;
-- error
ALTER DATABASE postgres SET TABLESPACE o18_ts;
ROLLBACK;
ALTER TABLESPACE o18_ts SET (seq_page_cost = 1.1);
ALTER TABLESPACE o18_ts RESET (random_page_cost);
SELECT spcoptions FROM pg_tablespace WHERE spcname = 'o18_ts';

-- tables of each distribution and their indexes in the tablespace
CREATE TABLE o18_h (id int PRIMARY KEY, v text) TABLESPACE o18_ts DISTRIBUTE BY HASH (id);
CREATE TABLE o18_r (id int PRIMARY KEY USING INDEX TABLESPACE o18_ts, v text) TABLESPACE o18_ts DISTRIBUTE BY REPLICATION;
CREATE TABLE o18_m (id int, v text) TABLESPACE o18_ts DISTRIBUTE BY MODULO (id);
INSERT INTO o18_h SELECT g, repeat('h', 200) FROM generate_series(1, 5000) g;
INSERT INTO o18_r SELECT g, 'r' FROM generate_series(1, 100) g;
INSERT INTO o18_m SELECT g, 'm' FROM generate_series(1, 100) g;
CREATE INDEX o18_h_v ON o18_h (v) TABLESPACE o18_ts;
SELECT c.relname, t.spcname FROM pg_class c JOIN pg_tablespace t ON t.oid = c.reltablespace
  WHERE c.relname LIKE 'o18%' ORDER BY 1;
-- the rows are on the datanodes: the catalog server's empty copies would say a few kB
SELECT pg_tablespace_size('o18_ts') > 1000000 AS holds_rows;
SELECT pg_tablespace_size(oid) > 1000000 AS holds_rows FROM pg_tablespace WHERE spcname = 'o18_ts';
SELECT count(*), sum(length(v)) FROM o18_h WHERE id > 10;
-- error
DROP TABLESPACE o18_ts;

-- moving out: every shard and shard index follows
ALTER TABLE o18_h SET TABLESPACE pg_default;
ALTER INDEX o18_h_v SET TABLESPACE pg_default;
ALTER TABLE o18_r SET TABLESPACE pg_default;
ALTER INDEX o18_r_pkey SET TABLESPACE pg_default;
ALTER TABLE o18_m SET TABLESPACE pg_default;
SELECT c.relname, t.spcname FROM pg_class c JOIN pg_tablespace t ON t.oid = c.reltablespace
  WHERE c.relname LIKE 'o18%' ORDER BY 1;
SELECT pg_tablespace_size('o18_ts') < 100000 AS emptied;
SELECT count(*), sum(id) FROM o18_h;

-- default_tablespace, and a partitioned table's default for its partitions (a partition
-- naming pg_default: its shards took the partitioned table's tablespace)
SET default_tablespace = o18_ts;
CREATE TABLE o18_d (id int, v text) DISTRIBUTE BY HASH (id);
CREATE INDEX o18_d_v ON o18_d (v);
-- pg_default named while default_tablespace names another: the shards and their indexes
-- too (they took default_tablespace on the datanodes)
CREATE TABLE o18_q (id int, v text) TABLESPACE pg_default DISTRIBUTE BY HASH (id);
CREATE INDEX o18_q_v ON o18_q (v) TABLESPACE pg_default;
INSERT INTO o18_q SELECT g, repeat('q', 400) FROM generate_series(1, 10000) g;
RESET default_tablespace;
CREATE TABLE o18_p (a int, b text) PARTITION BY LIST (a) TABLESPACE o18_ts;
CREATE TABLE o18_p1 PARTITION OF o18_p FOR VALUES IN (1);
CREATE TABLE o18_p2 PARTITION OF o18_p FOR VALUES IN (2) TABLESPACE pg_default;
INSERT INTO o18_p SELECT 1 + g % 2, 'p' FROM generate_series(1, 100) g;
INSERT INTO o18_d SELECT g, 'd' FROM generate_series(1, 100) g;
SELECT c.relname, t.spcname FROM pg_class c LEFT JOIN pg_tablespace t ON t.oid = c.reltablespace
  WHERE c.relname LIKE 'o18%' AND c.relkind IN ('r', 'p', 'i', 'I') ORDER BY 1;
SELECT a, count(*) FROM o18_p GROUP BY a ORDER BY a;
SELECT count(*) FROM o18_d;
SELECT pg_tablespace_size('o18_ts') < 3000000 AS without_o18_q;
ALTER TABLE o18_d SET TABLESPACE pg_default;
ALTER INDEX o18_d_v SET TABLESPACE pg_default;
ALTER TABLE o18_p1 SET TABLESPACE pg_default;
ALTER TABLE o18_p SET TABLESPACE pg_default;
SELECT c.relname, t.spcname FROM pg_class c JOIN pg_tablespace t ON t.oid = c.reltablespace
  WHERE c.relname LIKE 'o18%' ORDER BY 1;
SELECT count(*) FROM o18_d;
ALTER TABLESPACE o18_ts RENAME TO o18_ts2;
DROP TABLESPACE o18_ts2;
SELECT count(*) FROM pg_tablespace WHERE spcname LIKE 'o18%';
DROP TABLE o18_h, o18_r, o18_m, o18_d, o18_p, o18_q;
