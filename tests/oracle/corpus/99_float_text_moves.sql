-- Under extra_float_digits below 1 (PostgreSQL's float regression files set 0), a float
-- made text on the datanodes keeps the session's digits when its rows are gathered for
-- an ORDER BY merge, an aggregate or a join: only moved float columns are written with
-- every digit (executor/exchange.lossy_for). gridpg gave 0.3333333333333333 here.
CREATE TABLE fmv (id int PRIMARY KEY, f float8, r real, g int);
INSERT INTO fmv SELECT n, n / 3.0, n / 7.0, n % 3 FROM generate_series(1, 30) n;
SET extra_float_digits = 0;
SELECT id, f::text FROM fmv WHERE id < 6 ORDER BY id;
SELECT id, r::text, f::varchar AS v FROM fmv ORDER BY id DESC LIMIT 5;
SELECT g, string_agg(f::text, ',' ORDER BY id) FROM fmv GROUP BY g ORDER BY g;
SELECT string_agg(f::text, ';' ORDER BY id) FROM fmv WHERE id <= 10;
SELECT g, max(f::text), min(concat('x', f)) FROM fmv GROUP BY g ORDER BY g;
SELECT a.id, a.f::text, b.f FROM fmv a JOIN fmv b ON b.g = a.id ORDER BY a.id, b.id;
SELECT sum(f), avg(r), sum(f)::text FROM fmv;
SELECT g, sum(f), array_agg(f ORDER BY id) FROM fmv GROUP BY g ORDER BY g;
SET extra_float_digits = 1;
SELECT id, f::text FROM fmv WHERE id < 4 ORDER BY id;
RESET extra_float_digits;
DROP TABLE fmv;
