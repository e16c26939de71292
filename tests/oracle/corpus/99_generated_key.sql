/*
A primary key on a stored generated column (issue 12, h-probe). Without DISTRIBUTE BY the
default placement took the primary key's column, and every datanode refused to make a
generated column its partition key (42P17): CREATE TABLE failed where PostgreSQL creates
the table. Generated columns are passed over; such a table is replicated.
*/
CREATE SCHEMA oracle_gk;
CREATE TABLE oracle_gk.gk (a int, b int, id int GENERATED ALWAYS AS (a * 100 + b) STORED PRIMARY KEY);
INSERT INTO oracle_gk.gk (a, b) VALUES (1, 2), (3, 4);
INSERT INTO oracle_gk.gk (a, b) SELECT g, g FROM generate_series(5, 15) g;
SELECT a, b FROM oracle_gk.gk WHERE id = 102;
SELECT count(*) FROM oracle_gk.gk x JOIN oracle_gk.gk y USING (id);
UPDATE oracle_gk.gk SET b = 99 WHERE id = 304 RETURNING id;
SELECT a FROM oracle_gk.gk WHERE id = 399;
CREATE TABLE oracle_gk.line (order_id int, n int, total int GENERATED ALWAYS AS (order_id * n) STORED, PRIMARY KEY (order_id, n));
INSERT INTO oracle_gk.line (order_id, n) SELECT g % 7, g FROM generate_series(1, 30) g;
SELECT order_id, sum(total) FROM oracle_gk.line GROUP BY order_id ORDER BY order_id;
