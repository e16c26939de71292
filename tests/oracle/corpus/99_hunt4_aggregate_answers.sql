/*
Aggregates, sorts and types over rows spread on every datanode, against one PostgreSQL
(issue 12, no silent wrong answer). Two-phase aggregation (strategy 3) must give
PostgreSQL's values: stddev over numeric with an infinite or NaN input is NaN (the
combined quotient has no scale: it was NULL), variance and avg with infinities, interval
sums and averages with infinite intervals, numeric display scales, integer sum/avg types,
empty inputs and FILTERs that keep no row, float variances over large integer-valued
data (exact as PostgreSQL's accumulation). Aggregates that are not split must still answer
as PostgreSQL: user-defined aggregates with and without a combine function (and a final
function that is not linear), ordered-set and hypothetical aggregates, GROUPING SETS with
GROUPING(), bit and bool aggregates, range aggregates, min/max of arrays, inet, uuid,
intervals. Sorted merges: NULLS FIRST/LAST, DESC, COLLATE "C", float -0/NaN/Infinity and
numeric NaN/Infinity keys, count(DISTINCT) over text and its lower().
(Nondeterministic ICU collations are not testable here: the embedded PostgreSQL build
has no ICU, 0A000.)
*/

CREATE TABLE ha (id int PRIMARY KEY, g int, i2 int2, i4 int4, i8 int8, n numeric, n2 numeric(10,3), f float8, b bool, bits bit(8), tx text, arr int[], ip inet, u uuid, rg int4range, iv interval) DISTRIBUTE BY HASH (id);
INSERT INTO ha SELECT i, i % 5, (i * 7 % 100)::int2, i * 13, i::int8 * 1000003, i / 3.0, (i / 7.0)::numeric(10,3), i * 0.1, i % 3 <> 0, (i % 256)::bit(8), chr(97 + i % 26) || i, ARRAY[i, i + 1], ('10.0.' || (i % 200) || '.' || (i % 250))::inet, md5(i::text)::uuid, int4range(i, i + 3 + i % 4), make_interval(hours => i, secs => i * 0.25) FROM generate_series(1, 400) i;
CREATE TABLE hn (id int PRIMARY KEY, g int, n numeric, iv interval) DISTRIBUTE BY HASH (id);
INSERT INTO hn SELECT i, i % 3, CASE i WHEN 5 THEN 'Infinity' WHEN 9 THEN '-Infinity' ELSE i * 1.25 END, CASE i WHEN 4 THEN 'infinity' ELSE make_interval(mins => i) END FROM generate_series(1, 30) i;

-- numeric stddev with infinite and NaN inputs: NaN, as PostgreSQL
SELECT sum(n), avg(n), variance(n), stddev(n), stddev_pop(n), stddev_samp(n), min(n), max(n) FROM hn;
SELECT g, stddev(n), stddev_pop(n), var_pop(n) FROM hn GROUP BY g ORDER BY g;
SELECT stddev(n), stddev_pop(n) FROM hn WHERE id IN (5, 6, 7);
SELECT stddev(x), stddev_pop(x), variance(x) FROM (SELECT CASE WHEN id = 3 THEN 'NaN'::numeric ELSE id END AS x FROM hn) s;
SELECT stddev(n), stddev_pop(n) FROM hn WHERE n < 'Infinity' AND n > '-Infinity';
SELECT avg(n) FROM hn WHERE id IN (5, 9);
SELECT stddev(n), variance(n) FROM hn WHERE id IN (1, 2);
SELECT stddev(n), variance(n), var_pop(n) FROM hn WHERE id = 3;

-- intervals with an infinite one
SELECT sum(iv), avg(iv), max(iv) FROM hn;
SELECT g, sum(iv), avg(iv) FROM hn GROUP BY g ORDER BY g;
SELECT sum(iv), avg(iv) FROM hn WHERE id <> 4;

-- numeric display scale, integer result types
SELECT avg(n), avg(n2), sum(n2), avg(i4), avg(i2), avg(i8), sum(i2), sum(i4), sum(i8) FROM ha;
SELECT g, avg(n), avg(n2), avg(i4), stddev(n2) FROM ha GROUP BY g ORDER BY g;
SELECT avg(n2 * 1.00001), sum(n2 / 3), avg(i4::numeric(20,8)), avg(id / 7.000000) FROM ha;
SELECT pg_typeof(sum(i2)), pg_typeof(sum(i4)), pg_typeof(avg(i4)), pg_typeof(sum(i8)) FROM ha;
SELECT sum(iv), avg(iv) FROM ha;

-- empty inputs, FILTER keeping nothing
SELECT count(*), sum(id), avg(id), stddev(n) FROM ha WHERE false;
SELECT g, count(*) FROM ha WHERE false GROUP BY g;
SELECT count(*) FROM ha HAVING count(*) > 1000;
SELECT sum(id) FILTER (WHERE false), count(*) FILTER (WHERE false), avg(n) FILTER (WHERE false) FROM ha;

-- aggregates gridpg does not split
SELECT bool_and(b), bool_or(b), every(b), bool_and(b) FILTER (WHERE g = 0) FROM ha;
SELECT g, bit_and(bits), bit_or(bits), bit_xor(bits), bit_and(i4), bit_or(i2), bit_xor(i8) FROM ha GROUP BY g ORDER BY g;
SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY f), percentile_disc(0.3) WITHIN GROUP (ORDER BY n), mode() WITHIN GROUP (ORDER BY g) FROM ha;
SELECT g, percentile_cont(ARRAY[0.1, 0.9]) WITHIN GROUP (ORDER BY i4) FROM ha GROUP BY g ORDER BY g;
SELECT rank(3) WITHIN GROUP (ORDER BY g), dense_rank(3) WITHIN GROUP (ORDER BY g), percent_rank(100) WITHIN GROUP (ORDER BY i4), cume_dist(50) WITHIN GROUP (ORDER BY i2) FROM ha;
SELECT range_agg(rg), range_intersect_agg(rg) FROM ha WHERE id < 20;
SELECT range_intersect_agg(rg) FROM ha WHERE id BETWEEN 10 AND 11;
SELECT min(arr), max(arr), min(ip), max(ip), min(iv), max(tx) FROM ha;
SELECT g, b, count(*), GROUPING(g, b), sum(i4) FROM ha GROUP BY ROLLUP (g, b) ORDER BY 1, 2, 4;
SELECT g, b, count(*), GROUPING(g) FROM ha GROUP BY CUBE (g, b) ORDER BY 1, 2, 4;
SELECT g FROM ha GROUP BY g HAVING sum(i4) > 100000 AND max(tx) > 'm' ORDER BY g;
SELECT count(*), sum(i4) FROM (SELECT DISTINCT ON (g) g, i4 FROM ha ORDER BY g, id DESC) s;
SELECT string_agg(DISTINCT tx, ',' ORDER BY tx DESC) FROM ha WHERE id < 30;
SELECT jsonb_object_agg(tx, id ORDER BY id) FROM ha WHERE id < 10;
SELECT array_agg(DISTINCT g ORDER BY g DESC), json_agg(DISTINCT g) FROM ha;
-- error
SELECT array_agg(a) FROM (SELECT CASE WHEN id = 7 THEN ARRAY[1] ELSE arr END AS a FROM ha) s;

-- user-defined aggregates: without a combine function they cannot be split
CREATE FUNCTION h4_sq(int8) RETURNS int8 LANGUAGE sql IMMUTABLE AS 'SELECT $1 * $1';
CREATE FUNCTION h4_add(int8, int4) RETURNS int8 LANGUAGE sql IMMUTABLE AS 'SELECT $1 + $2';
CREATE AGGREGATE h4_sqsum(int4) (sfunc = h4_add, stype = int8, initcond = '0', finalfunc = h4_sq);
CREATE AGGREGATE h4_sqsumc(int4) (sfunc = h4_add, stype = int8, initcond = '0', finalfunc = h4_sq, combinefunc = int8pl);
CREATE AGGREGATE h4_init(int4) (sfunc = h4_add, stype = int8, initcond = '1000', combinefunc = int8pl);
SELECT h4_sqsum(id), h4_sqsumc(id), h4_init(id) FROM ha;
SELECT g, h4_sqsum(id), h4_sqsumc(id), h4_init(id) FROM ha GROUP BY g ORDER BY g;
SELECT g, h4_sqsum(id) FILTER (WHERE b), sum(id) FROM ha GROUP BY g HAVING h4_sqsum(id) > 0 ORDER BY g;
SELECT h4_sqsum(DISTINCT g) FROM ha;

-- window functions over distributed rows (total orders)
SELECT id, g, sum(i4) OVER (PARTITION BY g ORDER BY id ROWS BETWEEN 2 PRECEDING AND 1 FOLLOWING) FROM ha ORDER BY id LIMIT 20;
SELECT id, sum(id) OVER (ORDER BY i2 RANGE BETWEEN 5 PRECEDING AND 5 FOLLOWING) FROM ha ORDER BY id LIMIT 30;
SELECT id, ntile(7) OVER (ORDER BY id), lag(i4, 2, -1) OVER (ORDER BY id), lead(tx, 3, 'zz') OVER (ORDER BY id) FROM ha ORDER BY id LIMIT 30;
SELECT g, sum(sum(i4)) OVER (ORDER BY g), rank() OVER (ORDER BY count(*) DESC, g) FROM ha GROUP BY g ORDER BY g;

-- sorted merges over special keys and collations
CREATE TABLE hs (id int PRIMARY KEY, w text, w2 text, f float8, n numeric) DISTRIBUTE BY HASH (id);
INSERT INTO hs SELECT i, CASE i % 4 WHEN 0 THEN 'abc' WHEN 1 THEN 'ABC' WHEN 2 THEN 'Abc' ELSE 'xyz' END || (i % 3), CASE i % 5 WHEN 0 THEN 'b' WHEN 1 THEN 'B' WHEN 2 THEN 'a' WHEN 3 THEN 'A' ELSE NULL END, CASE i % 7 WHEN 0 THEN 'NaN' WHEN 1 THEN '-0' WHEN 2 THEN '0' WHEN 3 THEN 'Infinity' WHEN 4 THEN '-Infinity' ELSE i::float8 END, CASE i % 6 WHEN 0 THEN 'NaN' WHEN 1 THEN NULL WHEN 2 THEN '-Infinity' ELSE i / 3.0 END FROM generate_series(1, 200) i;
SELECT count(DISTINCT w), count(DISTINCT w COLLATE "C"), count(DISTINCT lower(w)), string_agg(DISTINCT lower(w), ',' ORDER BY lower(w)) FROM hs;
SELECT count(*) FROM (SELECT DISTINCT w FROM hs) x;
SELECT lower(w), count(*) FROM hs GROUP BY lower(w) ORDER BY 1;
SELECT count(*) FROM hs WHERE w = 'abc1';
SELECT w2 COLLATE "C", count(*) FROM hs GROUP BY w2 ORDER BY w2 COLLATE "C";
SELECT w2, id FROM hs ORDER BY w2 COLLATE "C" DESC NULLS LAST, id LIMIT 12;
SELECT w2, id FROM hs ORDER BY w2 COLLATE "C" NULLS FIRST, id LIMIT 12;
SELECT f, id FROM hs ORDER BY f, id LIMIT 40;
SELECT f, id FROM hs ORDER BY f DESC, id LIMIT 40;
SELECT n, id FROM hs ORDER BY n NULLS FIRST, id LIMIT 40;
SELECT n, id FROM hs ORDER BY n DESC, id LIMIT 40;
SELECT DISTINCT n FROM hs ORDER BY 1;
SELECT min(f), max(f), min(n), max(n), sum(n), avg(n) FROM hs;

-- float variances over large integer-valued data: exact as PostgreSQL's accumulation
-- (the combined spread around an unrounded node mean lost 8 digits: 298.6666640508744)
CREATE TABLE hz (id int PRIMARY KEY, g int, x float8, y float8) DISTRIBUTE BY HASH (id);
INSERT INTO hz SELECT i, i % 4, CASE WHEN i % 4 = 0 THEN 1e10 + i ELSE i * 1e-5 END, 1e12 + i * i FROM generate_series(1, 60) i;
SELECT g, var_pop(x), stddev_samp(x), var_samp(x), var_pop(y), stddev(y) FROM hz GROUP BY g ORDER BY g;
SELECT var_pop(y), var_samp(y), stddev_pop(y), variance(y) FILTER (WHERE g > 0) FROM hz;
SELECT var_pop(x) FILTER (WHERE g = 0), var_samp(x) FILTER (WHERE g <> 0) FROM hz;
