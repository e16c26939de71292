/*
INSERT ... ON CONFLICT into distributed tables in SQL-language functions, and in routines
called by other routines (PL/pgSQL calling PL/pgSQL, SQL calling PL/pgSQL, a routine with
its own search_path called by another): each such routine and every routine calling it
runs as its twin (executor/twins.py), the callers' twins calling the callees' in pg_temp,
each upsert handed to the coordinator (sql/plpgsql_upsert.py rewrite_sql_body for SQL
bodies: parameters by name, `fn.arg` and `$n` written in as typed literals). Before, both
were refused with 0A000. Inside transactions that commit and roll back.
*/

CREATE TABLE page_hits ("Page" text PRIMARY KEY, hits int NOT NULL, last_by text) DISTRIBUTE BY HASH ("Page");
CREATE TABLE daily (day date, page text, n int NOT NULL, PRIMARY KEY (day, page)) DISTRIBUTE BY HASH (page);
CREATE TABLE first_seen (who text PRIMARY KEY, at int) DISTRIBUTE BY REPLICATION;

-- a SQL function: the upsert, then its answer
CREATE FUNCTION hit(p text, who text) RETURNS int LANGUAGE sql AS $$
  INSERT INTO page_hits AS h VALUES (p, 1, who) ON CONFLICT ("Page") DO UPDATE SET hits = h.hits + 1, last_by = excluded.last_by;  -- count it
  SELECT hits FROM page_hits WHERE "Page" = hit.p;  -- the new count
$$;
-- a void SQL function, by position, ON CONFLICT ON CONSTRAINT, DO NOTHING on a replicated table
CREATE FUNCTION note_day(date, text) RETURNS void LANGUAGE sql AS $$
  INSERT INTO daily VALUES ($1, $2, 1) ON CONFLICT ON CONSTRAINT daily_pkey DO UPDATE SET n = daily.n + 1;  -- per day
  INSERT INTO first_seen VALUES ($2, 0) ON CONFLICT (who) DO NOTHING;  -- once
$$;

SELECT hit('/home', 'ann'), hit('/home', 'bob'), hit('/it''s', 'cy');
SELECT note_day('2024-02-29', '/home'), note_day('2024-02-29', '/home'), note_day('2024-03-01', '/home');
SELECT * FROM page_hits ORDER BY "Page";
SELECT * FROM daily ORDER BY day, page;
SELECT * FROM first_seen ORDER BY who;

-- nested routines: PL/pgSQL calling PL/pgSQL calling SQL
CREATE FUNCTION visit(p text, who text) RETURNS int LANGUAGE plpgsql AS $$
DECLARE n int;  -- the page's count after this visit
BEGIN
  n := hit(p, who);  -- the SQL function's upsert
  PERFORM note_day(DATE '2024-03-02', p);  -- and the daily one
  RETURN n;  -- its count
END $$;
CREATE FUNCTION "Visit Many"(pages text[], who text) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE total bigint := 0; pg text;  -- the sum, the page
BEGIN
  FOREACH pg IN ARRAY pages LOOP
    total := total + visit(pg, who);  -- nested twice
  END LOOP;  -- every page
  RETURN total;  -- the sum
END $$;
SELECT visit('/home', 'dee');
SELECT "Visit Many"(ARRAY['/a', '/b', '/a'], 'eve');
SELECT * FROM page_hits ORDER BY "Page";
SELECT * FROM daily ORDER BY day, page;

-- a nested routine with its own search_path
CREATE FUNCTION pinned_hit(p text) RETURNS int LANGUAGE sql SET search_path = oracle_89_upsert_sql_nested, pg_catalog AS $$ SELECT count(*)::int FROM page_hits WHERE "Page" = p $$;
CREATE FUNCTION count_after(p text) RETURNS int LANGUAGE plpgsql AS $$ BEGIN PERFORM hit(p, 'pin'); RETURN pinned_hit(p); END $$;
SELECT count_after('/pinned'), count_after('/pinned');

-- a transaction that rolls back
BEGIN;
SELECT "Visit Many"(ARRAY['/x', '/home'], 'fay');
SELECT * FROM page_hits WHERE "Page" IN ('/x', '/home') ORDER BY 1;
ROLLBACK;
SELECT * FROM page_hits ORDER BY "Page";
-- a transaction that commits, with a savepoint rolled back
BEGIN;
SELECT visit('/home', 'gus');
SAVEPOINT s;
SELECT visit('/home', 'hal');
ROLLBACK TO SAVEPOINT s;
SELECT note_day('2024-03-03', '/home');
COMMIT;
SELECT * FROM page_hits ORDER BY "Page";
SELECT * FROM daily ORDER BY day, page;
SELECT * FROM first_seen ORDER BY who;
