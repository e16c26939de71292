/*
INSERT ... DEFAULT VALUES into a hash table whose distribution column has a default that
is not a sequence's (issue 12, h-probe): the row was routed by NULL and the node it reached
evaluated `gen_random_uuid()` itself, so its partitions refused the row (23514) unless its
shard happened to live there (about one insert in two on two datanodes). The statement is
now written `INSERT INTO t (key) VALUES (DEFAULT)`, whose default is evaluated before
routing.
*/
CREATE SCHEMA oracle_dvk;
CREATE TABLE oracle_dvk.u (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), name text DEFAULT 'anon', n int);
INSERT INTO oracle_dvk.u DEFAULT VALUES;
INSERT INTO oracle_dvk.u DEFAULT VALUES;
INSERT INTO oracle_dvk.u DEFAULT VALUES;
INSERT INTO oracle_dvk.u DEFAULT VALUES;
INSERT INTO oracle_dvk.u DEFAULT VALUES;
INSERT INTO oracle_dvk.u DEFAULT VALUES;
INSERT INTO oracle_dvk.u DEFAULT VALUES RETURNING name, n;
insert into oracle_dvk.u default values returning name;
SELECT count(*), count(DISTINCT id), min(name) FROM oracle_dvk.u;
SELECT count(*) FROM oracle_dvk.u a JOIN oracle_dvk.u b USING (id);
CREATE TABLE oracle_dvk.c (id int PRIMARY KEY DEFAULT 7, v text DEFAULT 'x');
INSERT INTO oracle_dvk.c DEFAULT VALUES RETURNING *;
SELECT * FROM oracle_dvk.c WHERE id = 7;
CREATE TABLE oracle_dvk.s (id serial PRIMARY KEY, v text DEFAULT 'y');
INSERT INTO oracle_dvk.s DEFAULT VALUES RETURNING *;
INSERT INTO oracle_dvk.s DEFAULT VALUES RETURNING *;
