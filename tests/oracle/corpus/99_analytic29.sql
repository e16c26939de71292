/*
Analytic SQL as users write it (h-probe29, 2026-12-07): SQL/JSON, ordered-set and
hypothetical-set aggregates, FILTER, grouping sets, window frames, recursive CTEs with
SEARCH/CYCLE, LATERAL, DISTINCT ON, WITH TIES, set operations ALL, views and materialized
views, over tables distributed by different columns. The statements after each comment
block are the regressions of wrong answers found by diffing against PostgreSQL 18.
*/
CREATE SCHEMA oracle_a29;
CREATE TABLE oracle_a29.docs (did int, doc jsonb) DISTRIBUTE BY HASH (did);
INSERT INTO oracle_a29.docs VALUES (1, '{"a":1,"b":[1,2,3],"c":{"d":"x"},"items":[{"id":1,"p":2.5},{"id":2,"p":null}]}'),
 (2, '{"a":-2.5,"b":[],"c":{"d":null},"items":[]}'), (3, '{"a":"str","b":[4,5],"items":[{"id":3,"p":10}]}'),
 (4, '[1,"two"]'), (5, 'null'), (6, '{"b":[1,[2]],"items":[{"id":4,"p":1},{"id":5,"p":2}]}'), (7, NULL);
CREATE TABLE oracle_a29.cust (id int PRIMARY KEY, region text, score numeric) DISTRIBUTE BY HASH (id);
INSERT INTO oracle_a29.cust SELECT g, (ARRAY['north','south',NULL])[1 + g % 3], CASE WHEN g % 4 = 0 THEN NULL ELSE g * 1.25 - 5 END FROM generate_series(1, 30) g;
/*
`t.*` of a function beside the one table (JSON_TABLE, jsonb_array_elements) with ORDER BY
a column of the table: the sorted merge took the star for the table's own columns, did
not carry the sort key, and its final step failed with 42703 (planner/merge._merge_blocker).
*/
SELECT jt.* FROM oracle_a29.docs, JSON_TABLE(doc, '$' COLUMNS (a text PATH '$.a', d text PATH '$.c.d' DEFAULT 'none' ON EMPTY)) jt WHERE did < 5 ORDER BY did;
SELECT jt.* FROM oracle_a29.docs, jsonb_array_elements(doc->'b') jt WHERE jsonb_typeof(doc->'b') = 'array' ORDER BY did, 1;
SELECT j.* FROM oracle_a29.docs d, JSON_TABLE(d.doc, '$.items[*]' COLUMNS (id int PATH '$.id', p numeric PATH '$.p')) j ORDER BY d.did DESC, j.id;
/*
JSON_ARRAYAGG / JSON_OBJECTAGG in a subquery of FROM (a view's body): the exchange planner
did not see them as aggregates (they are parse nodes of their own, not function calls),
ran the subquery on each node and returned one partial row per node, silently
(planner/broadcast._has_aggregate_or_window).
*/
CREATE VIEW oracle_a29.v_agg AS SELECT JSON_ARRAYAGG(id ORDER BY id RETURNING jsonb) a, JSON_OBJECTAGG(id::text : score RETURNING jsonb) o FROM oracle_a29.cust WHERE id < 8;
SELECT * FROM oracle_a29.v_agg;
SELECT a FROM (SELECT JSON_ARRAYAGG(region ORDER BY id DESC) a FROM oracle_a29.cust) s;
SELECT n FROM (SELECT JSON_OBJECTAGG(id : region ABSENT ON NULL RETURNING jsonb) n FROM oracle_a29.cust WHERE id > 20) s;
/*
An aggregate only in a FROM subquery's ORDER BY makes that subquery one group; the
exchange planner looked for aggregates in the select list only and returned one row per
node (planner/broadcast._core).
*/
SELECT * FROM (SELECT 1 AS x FROM oracle_a29.cust ORDER BY count(*)) s;
SELECT count(*) FROM (SELECT 'k' AS k FROM oracle_a29.cust ORDER BY max(score)) s;
/*
A user's aggregate overloading one of PostgreSQL's names (`CREATE AGGREGATE sum(text)`,
called unqualified): two-phase aggregation split it as PostgreSQL's sum, adding the nodes'
partial results (here: longest name per node, summed), silently; avg(text) failed with
42883. Such names now keep the aggregate whole (catalog snapshot `shadowed_aggregates`,
planner/twophase._ensure_not_shadowed). The file's schema is first on the search_path.
*/
CREATE FUNCTION a29_longest(int, text) RETURNS int LANGUAGE sql IMMUTABLE AS 'SELECT greatest($1, length($2))';
CREATE AGGREGATE sum(text) (sfunc = a29_longest, stype = int, initcond = '0');
CREATE FUNCTION a29_plus_one(numeric, text) RETURNS numeric LANGUAGE sql IMMUTABLE AS 'SELECT $1 + 1';
CREATE AGGREGATE avg(text) (sfunc = a29_plus_one, stype = numeric, initcond = '0');
CREATE TABLE a29_w (k int, w text) DISTRIBUTE BY HASH (k);
INSERT INTO a29_w SELECT g, repeat('x', g % 7) FROM generate_series(1, 40) g;
SELECT sum(w) FROM a29_w;
SELECT k % 3 AS m, sum(w), avg(w), sum(k), avg(k) FROM a29_w GROUP BY 1 ORDER BY 1;
SELECT sum(a.w), count(*) FROM a29_w a JOIN oracle_a29.cust c ON c.score = a.k;
SELECT pg_catalog.sum(k), sum(k) FROM a29_w;
DROP AGGREGATE sum(text);
DROP AGGREGATE avg(text);
/*
JSON_ARRAYAGG / JSON_OBJECTAGG as window functions over groups of the distribution column:
the exchange planner took the groups as final on each node and ran the window there (their
OVER clause sits in a constructor, not in a function call): each node's window saw its own
groups, silently (planner/broadcast._is_plain_grouping). The node-local test had the same
gap (planner/node_local._window_of), closed too; no statement here reached it.
*/
CREATE TABLE oracle_a29.ord (oid int, cust int) DISTRIBUTE BY HASH (cust);
INSERT INTO oracle_a29.ord SELECT g, 1 + g % 9 FROM generate_series(1, 60) g;
SELECT cust, jsonb_array_length(JSON_ARRAYAGG(cust RETURNING jsonb) OVER ()) FROM oracle_a29.ord GROUP BY cust ORDER BY 1;
SELECT cust, JSON_OBJECTAGG(cust : count(*) RETURNING jsonb) OVER (ORDER BY cust) FROM oracle_a29.ord WHERE cust < 6 GROUP BY cust ORDER BY 1;
SELECT cust, JSON_ARRAYAGG(cust RETURNING jsonb) OVER (ORDER BY cust ROWS 1 PRECEDING) FROM oracle_a29.ord GROUP BY cust ORDER BY 1 LIMIT 5;
SELECT cust, JSON_ARRAYAGG(count(*) RETURNING jsonb) OVER (PARTITION BY cust) FROM oracle_a29.ord GROUP BY cust ORDER BY 1;
CREATE TABLE oracle_a29.jw (cust int, a jsonb) DISTRIBUTE BY HASH (cust);
INSERT INTO oracle_a29.jw SELECT cust, JSON_OBJECTAGG(cust : cust RETURNING jsonb) OVER (ORDER BY cust) FROM oracle_a29.ord GROUP BY cust;
INSERT INTO oracle_a29.jw SELECT s.cust, s.a FROM (SELECT cust, JSON_ARRAYAGG(cust RETURNING jsonb) OVER () a FROM oracle_a29.ord GROUP BY cust) s;
SELECT cust, a FROM oracle_a29.jw WHERE jsonb_typeof(a) = 'object' ORDER BY 1;
SELECT cust, jsonb_array_length(a) FROM oracle_a29.jw WHERE jsonb_typeof(a) = 'array' ORDER BY 1;
/*
JSON_ARRAY(SELECT ...) is no SubLink in the raw parse tree: two-phase aggregation took the
subquery's count(*) for the statement's own aggregate and split the statement (42803 "must
appear in the GROUP BY clause"); it is now not split (planner/twophase._ensure_splittable).
*/
SELECT cust, JSON_ARRAY(SELECT count(*) FROM oracle_a29.cust RETURNING jsonb) n FROM oracle_a29.jw ORDER BY 1;
WITH x AS (SELECT cust, JSON_ARRAY(SELECT max(oid) FROM oracle_a29.ord RETURNING jsonb) n FROM oracle_a29.jw) SELECT * FROM x ORDER BY cust;
SELECT count(*), JSON_ARRAY(SELECT count(*) FROM oracle_a29.ord RETURNING jsonb) FROM oracle_a29.jw;
SELECT c.id, jsonb_array_length(JSON_ARRAY(SELECT o.oid FROM oracle_a29.ord o WHERE o.cust = c.id RETURNING jsonb)) FROM oracle_a29.cust c WHERE c.id < 5 ORDER BY 1;
