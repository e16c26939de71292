/*
Aggregates over every input type, against PostgreSQL's transition types (pg_aggregate.
aggtranstype): two-phase aggregation (strategy 3) must accumulate as PostgreSQL does.
avg(real) accumulates in float8 (a real sum per node would round each partial to 7
digits), sum(real) in real, sum(int2/int4) in bigint, sum(int8) and avg(int) in numeric,
the variance family over integers and numeric in numeric, over floats in float8 (per-node
states combined as float8_combine does), sum(interval)/avg(interval) and sum(money) in
their own types. Values expose precision: 0.1 and 1e7+1 in real, int4 and int8 values
near their limits, numeric with a long scale, NULLs, NaN and Infinity. Also DISTINCT,
FILTER and ORDER BY inside aggregates (a float sum in a given order is summed in that
order), HAVING, grouping by the distribution key (pushdown) and by other columns, empty
inputs, errors (overflow, no such aggregate for a type) with PostgreSQL's SQLSTATE, and
the aggregates gridpg does not split (regr_*, corr, covar_*, bit_*, any_value).
*/

CREATE TABLE at (id int PRIMARY KEY, g int NOT NULL, r real, r2 real, d float8, i2 int2, i4 int4, i8 int8, n numeric, iv interval, m money) DISTRIBUTE BY HASH (id);
INSERT INTO at SELECT i, i % 4, CASE WHEN i % 10 = 0 THEN 1e7 + 1 WHEN i % 10 = 5 THEN NULL ELSE 0.1 END, (i % 8) * 0.25, 1e6 + i * 0.1, (i * 97 % 32767)::int2, 2147483000 + i, 9223372036854775000 - i * 1000, CASE WHEN i % 9 = 0 THEN NULL ELSE i / 7.0 END, make_interval(days => i % 3, secs => i * 1.5), (i * 1.01)::numeric::money FROM generate_series(1, 600) i;
CREATE TABLE at_special (id int PRIMARY KEY, g int NOT NULL, r real, d float8) DISTRIBUTE BY HASH (id);
INSERT INTO at_special SELECT i, i % 3, CASE WHEN i = 7 THEN 'NaN' ELSE i * 0.5 END, CASE WHEN i = 11 THEN 'Infinity' WHEN i = 12 AND i % 3 = 0 THEN '-Infinity' ELSE i * 0.25 END FROM generate_series(1, 40) i;
CREATE TABLE at_empty (id int PRIMARY KEY, r real, i4 int4, n numeric) DISTRIBUTE BY HASH (id);

-- result types: PostgreSQL's, whatever the partials' types are
SELECT pg_typeof(avg(r)), pg_typeof(sum(r)), pg_typeof(avg(d)), pg_typeof(sum(i2)), pg_typeof(sum(i4)), pg_typeof(sum(i8)), pg_typeof(avg(i2)), pg_typeof(avg(i4)), pg_typeof(avg(i8)), pg_typeof(avg(n)), pg_typeof(avg(iv)), pg_typeof(sum(m)) FROM at;
SELECT pg_typeof(variance(r)), pg_typeof(stddev(i4)), pg_typeof(var_pop(i8)), pg_typeof(stddev_pop(n)), pg_typeof(var_samp(i2)) FROM at;

-- real: avg in float8, sum in real
SELECT avg(r), sum(r2), count(r), min(r), max(r) FROM at;
SELECT g, avg(r), sum(r2), count(r) FROM at GROUP BY g ORDER BY g;
SELECT g, avg(r) FROM at GROUP BY g HAVING avg(r) > 900000 ORDER BY 1;
SELECT avg(r) FILTER (WHERE g = 1), avg(r) FILTER (WHERE id % 10 <> 0), sum(r2) FILTER (WHERE g > 1) FROM at;
SELECT avg(r * 2), avg(r + 1), avg(r::float8), avg(-r) FROM at;
SELECT id % 2 AS odd, avg(r), avg(r2) FROM at GROUP BY 1 ORDER BY 1;
SELECT avg(DISTINCT r), sum(DISTINCT r2), count(DISTINCT r) FROM at;
SELECT round(avg(r)::numeric, 6), round(avg(r2)::numeric, 9) FROM at;

-- real: the variance family in float8
SELECT variance(r), var_pop(r), stddev(r), stddev_pop(r) FROM at;
SELECT g, var_samp(r), stddev_samp(r) FROM at GROUP BY g ORDER BY g;
SELECT variance(r2), stddev(r2), var_pop(r2) FROM at WHERE id < 100;
SELECT var_samp(r) FILTER (WHERE g = 2), stddev_pop(r) FILTER (WHERE id % 10 = 0) FROM at;

-- double precision
SELECT avg(d), sum(d), variance(d), stddev_pop(d) FROM at;
SELECT g, avg(d), var_pop(d), stddev(d) FROM at GROUP BY g ORDER BY g;
SELECT stddev(d), var_samp(d) FROM at WHERE id = 5;
SELECT var_pop(d - 1e6), stddev_pop(d - 1e6), var_samp(d - 1e6) FROM at WHERE id IN (5, 6);
SELECT var_pop(r2), stddev_pop(r2), var_samp(r2) FROM at WHERE id IN (5, 6, 7);

-- integers: sums in bigint / numeric past the input type's range, avg in numeric
SELECT sum(i2), avg(i2), sum(i4), avg(i4), sum(i8), avg(i8) FROM at;
SELECT g, sum(i2), sum(i4), sum(i8), avg(i8) FROM at GROUP BY g ORDER BY g;
SELECT sum(i8) - 9223372036854775807, sum(i4) - 2147483647, sum(i4) * 2 FROM at;
SELECT sum(-i8), avg(-i8), sum(i8 / 2) FROM at;
SELECT variance(i2), stddev(i4), var_pop(i8), stddev_samp(i8) FROM at;
SELECT g, variance(i4), stddev_pop(i2) FROM at GROUP BY g ORDER BY g;
SELECT sum(DISTINCT i4 % 7), avg(DISTINCT i2 % 11), count(DISTINCT i8 % 13) FROM at;

-- numeric: display scale as PostgreSQL's
SELECT sum(n), avg(n), variance(n), stddev(n), var_pop(n), stddev_pop(n) FROM at;
SELECT g, sum(n), avg(n), stddev(n) FROM at GROUP BY g ORDER BY g;
SELECT avg(n::numeric(10, 2)), sum(n::numeric(12, 4)), variance(n::numeric(10, 1)) FROM at;
SELECT avg(n) FILTER (WHERE g = 3), sum(n) FILTER (WHERE n > 50) FROM at;

-- interval and money
SELECT sum(iv), avg(iv), min(iv), max(iv) FROM at;
SELECT g, sum(iv), avg(iv) FROM at GROUP BY g ORDER BY g;
SELECT avg(iv) FILTER (WHERE id % 3 = 0), avg(DISTINCT iv) FROM at WHERE id < 50;
SELECT sum(m), min(m), max(m) FROM at;
SELECT g, sum(m) FROM at GROUP BY g ORDER BY g;

-- grouping by the distribution key (pushed down whole) beside the same aggregates
SELECT id, avg(r), sum(i4), variance(d) FROM at WHERE id < 30 GROUP BY id ORDER BY id;

-- ORDER BY inside the aggregate: PostgreSQL sums in that order
SELECT sum(r ORDER BY id), avg(r ORDER BY r DESC), sum(d ORDER BY d DESC) FROM at;
SELECT g, sum(r2 ORDER BY id DESC), avg(d ORDER BY id), variance(r ORDER BY id) FROM at GROUP BY g ORDER BY g;
SELECT sum(i4 ORDER BY id), avg(n ORDER BY n), count(r ORDER BY id) FROM at;

-- NaN and Infinity
SELECT avg(r), sum(r), variance(r), stddev(r) FROM at_special;
SELECT g, avg(r), sum(r), var_pop(r), avg(d), sum(d), var_samp(d), stddev_pop(d) FROM at_special GROUP BY g ORDER BY g;
SELECT avg(d), variance(d) FROM at_special WHERE id <> 11;

-- empty inputs and all-NULL groups
SELECT avg(r), sum(r), variance(r), sum(i4), avg(i4), sum(n), stddev(n), count(*) FROM at_empty;
SELECT avg(r), variance(r), sum(r) FROM at WHERE id % 10 = 5;
SELECT g, avg(r), stddev(r) FROM at WHERE id % 10 = 5 GROUP BY g ORDER BY g;
SELECT avg(r), var_pop(d) FROM at WHERE false;

-- aggregates gridpg does not split run whole, over all rows
SELECT regr_count(d, r), regr_avgx(d, r), regr_avgy(d, r), regr_slope(d, r2), regr_intercept(d, r2), regr_r2(d, r2) FROM at;
SELECT regr_sxx(d, i4), regr_syy(d, i4), regr_sxy(d, i4), corr(d, i4), covar_pop(r2, d), covar_samp(r2, d) FROM at;
SELECT g, corr(d, r2), regr_slope(i4, d) FROM at GROUP BY g ORDER BY g;
SELECT bit_and(i4), bit_or(i2), bit_xor(i8), bool_and(r > 0), bool_or(r > 1000) FROM at;

-- errors: as PostgreSQL's, with its SQLSTATE
-- error
SELECT avg(m) FROM at;
-- error
SELECT variance(iv) FROM at;
-- error
SELECT sum(make_interval(years => 170000000) + iv) FROM at;
-- error
SELECT g, sum(r2::text) FROM at GROUP BY g;
