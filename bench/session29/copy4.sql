DROP TABLE IF EXISTS k4 CASCADE;
CREATE TABLE k4 (id int PRIMARY KEY, ts timestamptz, d date, f float8, i interval, b bytea, n numeric) DISTRIBUTE BY HASH(id);
INSERT INTO k4 SELECT g, '2024-06-01 12:00:00+00'::timestamptz + g * interval '1 hour', '2024-01-01'::date + g, g / 7.0, g * interval '90 minutes', decode('00ff', 'hex'), g / 3.0 FROM generate_series(1, 5) g;
SET TimeZone = 'Asia/Kolkata';
SET DateStyle = 'SQL, DMY';
SET IntervalStyle = 'postgres_verbose';
SET extra_float_digits = 0;
SET bytea_output = 'escape';
COPY k4 TO STDOUT;
COPY (SELECT * FROM k4 ORDER BY id) TO STDOUT WITH (FORMAT csv);
COPY (SELECT id, ts::text, to_char(ts, 'HH24:MI') FROM k4 ORDER BY id) TO STDOUT;
BEGIN;
SET LOCAL TimeZone = 'UTC';
COPY (SELECT id, ts FROM k4 ORDER BY id) TO STDOUT;
COMMIT;
COPY (SELECT id, ts FROM k4 ORDER BY id) TO STDOUT;
RESET ALL;
COPY k4 FROM STDIN;
9	2024-06-01 12:00:00+05:30	2024-02-01	0.5	1 day	\\x01	1.5
\.
SET DateStyle = 'SQL, DMY';
COPY k4 FROM STDIN;
10	01/02/2024 10:00:00 UTC	05/02/2024	0.5	1 day	\\x01	1.5
\.
RESET DateStyle;
SELECT id, ts, d FROM k4 WHERE id >= 9 ORDER BY id;
