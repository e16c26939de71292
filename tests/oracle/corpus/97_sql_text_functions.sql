/*
Functions that run a query given to them as text (contrib's tablefunc crosstab/connectby,
text search's ts_stat and ts_rewrite): the query names distributed tables, which the
catalog server running the function holds empty, so a call runs through the loopback as
dynamic SQL does (crosstab returned no rows, connectby one, ts_stat none, silently).
Exercises: planner.routines (SQL_TEXT_FUNCTIONS), executor.routines (the loopback verdict).
*/

CREATE EXTENSION IF NOT EXISTS tablefunc;
CREATE TABLE stf_sales (region text, quarter text, amount int);
INSERT INTO stf_sales VALUES ('n', 'q1', 10), ('n', 'q2', 20), ('s', 'q1', 5), ('s', 'q2', 7), ('w', 'q2', 1);
SELECT * FROM crosstab('SELECT region, quarter, sum(amount)::int FROM stf_sales GROUP BY 1, 2 ORDER BY 1, 2') AS ct(region text, q1 int, q2 int);
SELECT * FROM crosstab('SELECT region, quarter, sum(amount)::int FROM stf_sales GROUP BY 1, 2 ORDER BY 1, 2', 'SELECT DISTINCT quarter FROM stf_sales ORDER BY 1') AS ct(region text, q1 int, q2 int);
CREATE TABLE stf_tree (id int PRIMARY KEY, parent int);
INSERT INTO stf_tree VALUES (1, NULL), (2, 1), (3, 1), (4, 2), (5, 4);
SELECT * FROM connectby('stf_tree', 'id', 'parent', '1', 0) AS t(id int, parent int, level int) ORDER BY id;
CREATE TABLE stf_docs (id int PRIMARY KEY, body tsvector);
INSERT INTO stf_docs VALUES (1, to_tsvector('simple', 'a b c a')), (2, to_tsvector('simple', 'b c d'));
SELECT * FROM ts_stat('SELECT body FROM stf_docs') ORDER BY word;
SELECT word, ndoc FROM ts_stat('SELECT body FROM stf_docs WHERE id = 1') WHERE nentry > 1;
SELECT ts_rewrite('a & b'::tsquery, 'SELECT ''a''::tsquery, ''c''::tsquery');
BEGIN;
INSERT INTO stf_sales VALUES ('e', 'q1', 3);
SELECT * FROM crosstab('SELECT region, quarter, sum(amount)::int FROM stf_sales GROUP BY 1, 2 ORDER BY 1, 2') AS ct(region text, q1 int, q2 int);
ROLLBACK;
DROP TABLE stf_sales, stf_tree, stf_docs;
