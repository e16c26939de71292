/*
A distribution-column comparison with a constant cast to another type (issue 12, h-probe).
PostgreSQL compares with the converted value: `k = 'abc '::char(4)` is `k = 'abc'` for a
text column (bpchar to text drops trailing blanks), `t = '... +05'::timestamptz` shifts by
the session's zone against a timestamp column, `n = 2.6::int` is 3, a typmod truncates or
rounds. The router hashed the text as written, read as the column's type: another shard,
0 rows and 0 rows updated, silently. Such a value no longer pins the statement.
*/
CREATE SCHEMA oracle_cp;
CREATE TABLE oracle_cp.kt (k text PRIMARY KEY, v int);
INSERT INTO oracle_cp.kt SELECT 'k' || g, g FROM generate_series(1, 40) g;
INSERT INTO oracle_cp.kt VALUES ('abc', 1);
SELECT v FROM oracle_cp.kt WHERE k = 'abc '::char(4);
SELECT v FROM oracle_cp.kt WHERE k = 'abc  '::bpchar;
SELECT v FROM oracle_cp.kt WHERE k IN ('abc '::char(4), 'zz');
UPDATE oracle_cp.kt SET v = 100 WHERE k = 'abc '::char(4) RETURNING k, v;
DELETE FROM oracle_cp.kt WHERE k = 'abc '::char(4) RETURNING k;
SELECT count(*) FROM oracle_cp.kt;
CREATE TABLE oracle_cp.kvc (k varchar(10) PRIMARY KEY, v int);
INSERT INTO oracle_cp.kvc SELECT 'k' || g, g FROM generate_series(1, 40) g;
INSERT INTO oracle_cp.kvc VALUES ('abc', 1);
SELECT v FROM oracle_cp.kvc WHERE k = 'abc '::char(4);
SELECT v FROM oracle_cp.kvc WHERE k = 'abcdef'::varchar(3);
CREATE TABLE oracle_cp.kn (n numeric PRIMARY KEY, v int);
INSERT INTO oracle_cp.kn SELECT g / 10.0, g FROM generate_series(1, 40) g;
SELECT v FROM oracle_cp.kn WHERE n = 2.6::int;
SELECT v FROM oracle_cp.kn WHERE n = 1.55::numeric(3,1);
SET TimeZone = 'UTC';
CREATE TABLE oracle_cp.kts (t timestamp PRIMARY KEY, v int);
INSERT INTO oracle_cp.kts SELECT timestamp '2024-01-01' + g * interval '1 hour', g FROM generate_series(0, 40) g;
SELECT v FROM oracle_cp.kts WHERE t = '2024-01-01 10:00+05'::timestamptz;
UPDATE oracle_cp.kts SET v = -v WHERE t = '2024-01-01 12:00+05'::timestamptz RETURNING v;
CREATE TABLE oracle_cp.kiv (i interval PRIMARY KEY, v int);
INSERT INTO oracle_cp.kiv SELECT g * interval '1 hour', g FROM generate_series(0, 40) g;
SELECT v FROM oracle_cp.kiv WHERE i = '1 day 3 hours 20 minutes'::interval hour;
RESET TimeZone;
