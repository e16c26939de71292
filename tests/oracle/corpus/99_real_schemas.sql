/*
Shapes from real schemas and the SQL their applications run (issue 12, h-dumps: PostgREST's
spec fixtures and the statements PostgREST generates). A request sets its search_path
for the transaction only (`set_config('search_path', ..., true)`, `SET LOCAL`): names
resolved by the session's path read the catalog server's empty copies (0 rows, silently).
A computed column `f(t)` takes the table's row type: a whole-row reference over a
gathered copy had the copy's type (42883). COMMENT ON MATERIALIZED VIEW of a view over
distributed tables failed on the datanodes (42809). Supabase auth's migrations backfill
tables from DO blocks naming them with their schema (was 0A000).
*/
CREATE SCHEMA oracle_rs_api;
CREATE TABLE oracle_rs_api.items (id bigint PRIMARY KEY, name text);
CREATE TABLE oracle_rs_api.clients (id int PRIMARY KEY, name text NOT NULL) DISTRIBUTE BY REPLICATION;
CREATE TABLE oracle_rs_api.projects (id int PRIMARY KEY, name text NOT NULL, client_id int) DISTRIBUTE BY HASH (id);
INSERT INTO oracle_rs_api.items SELECT g, 'item ' || g FROM generate_series(1, 15) g;
INSERT INTO oracle_rs_api.clients VALUES (1, 'microsoft'), (2, 'apple');
INSERT INTO oracle_rs_api.projects VALUES (1, 'windows 7', 1), (2, 'windows 10', 1), (3, 'ios', 2), (4, 'osx', 2), (5, 'orphan', NULL);
CREATE FUNCTION oracle_rs_api.search(id bigint) RETURNS SETOF oracle_rs_api.items LANGUAGE plpgsql STABLE AS $$
BEGIN RETURN QUERY SELECT items.id, items.name FROM items WHERE items.id = search.id; END $$;
CREATE FUNCTION oracle_rs_api.anti_id(oracle_rs_api.items) RETURNS bigint LANGUAGE sql IMMUTABLE AS $$ SELECT $1.id * -1 $$;
CREATE FUNCTION oracle_rs_api.is_first(oracle_rs_api.items) RETURNS boolean LANGUAGE sql IMMUTABLE AS $$ SELECT $1.id = 1 $$;
CREATE FUNCTION oracle_rs_api.label(oracle_rs_api.projects) RETURNS text LANGUAGE sql IMMUTABLE AS $$ SELECT $1.name || '#' || $1.id $$;
-- a request: the path set for the transaction only, by set_config and by SET LOCAL
BEGIN;
SELECT set_config('search_path', 'oracle_rs_api', true), set_config('request.method', 'GET', true);
SHOW search_path;
SELECT count(*), sum(id) FROM items;
SELECT * FROM items WHERE id = 3;
SELECT * FROM search(4);
WITH pgrst_source AS (SELECT pgrst_call.* FROM search(id := 7) pgrst_call) SELECT coalesce(json_agg(_postgrest_t), '[]') AS body FROM (SELECT * FROM pgrst_source) _postgrest_t;
SELECT p.name, c.name FROM projects p JOIN clients c ON c.id = p.client_id ORDER BY p.id;
INSERT INTO items VALUES (16, 'item 16');
SAVEPOINT s1;
SET LOCAL search_path = public;
-- error
SELECT count(*) FROM items;
ROLLBACK TO s1;
SELECT count(*) FROM items;
COMMIT;
SHOW search_path;
-- error
SELECT count(*) FROM items;
SELECT count(*) FROM oracle_rs_api.items;
BEGIN;
SET LOCAL search_path = oracle_rs_api, public;
UPDATE items SET name = 'sixteen' WHERE id = 16 RETURNING *;
DELETE FROM items WHERE id > 15 RETURNING id;
SELECT * FROM search(16);
-- a session-level SET after SET LOCAL outlives the transaction
SET search_path = oracle_rs_api;
COMMIT;
SELECT count(*) FROM items;
RESET search_path;
-- error
SELECT count(*) FROM items;
BEGIN;
SET LOCAL search_path = oracle_rs_api;
SELECT count(*) FROM items;
ROLLBACK;
-- error
SELECT count(*) FROM items;
SET search_path TO oracle_99_real_schemas, public;
-- PostgREST's GET with computed columns over a CTE (the coordinator finish): f(t) takes the table's type
WITH pgrst_source AS (SELECT oracle_rs_api.items.*, oracle_rs_api.anti_id(items) AS anti_id, oracle_rs_api.is_first(items) AS is_first FROM oracle_rs_api.items WHERE oracle_rs_api.anti_id(items) < -10 ORDER BY oracle_rs_api.anti_id(items)) SELECT coalesce(json_agg(_postgrest_t), '[]') AS body FROM (SELECT * FROM pgrst_source) _postgrest_t;
WITH s AS (SELECT i.id, oracle_rs_api.anti_id(i) AS a, pg_typeof(i)::text AS t, i FROM oracle_rs_api.items i) SELECT json_agg(s ORDER BY id) FROM s WHERE id < 4;
WITH s AS (SELECT p.id, oracle_rs_api.label(p), row_to_json(p.*) AS j FROM oracle_rs_api.projects p) SELECT * FROM s ORDER BY id;
-- a whole row of a null-extended side stays NULL
WITH s AS (SELECT c.id, p AS prow, oracle_rs_api.label(p) AS l FROM oracle_rs_api.clients c LEFT JOIN oracle_rs_api.projects p ON p.client_id = c.id AND p.id > 3) SELECT id, prow::text, prow IS NULL, l FROM s ORDER BY id;
-- a column named like its table is a column, not a whole row
CREATE TABLE oracle_rs_api.status (id int PRIMARY KEY, status text);
INSERT INTO oracle_rs_api.status VALUES (1, 'open'), (2, 'closed');
WITH s AS (SELECT id, status FROM oracle_rs_api.status) SELECT json_agg(s ORDER BY id), string_agg(status, ',' ORDER BY id) FROM s;
-- COMMENT ON MATERIALIZED VIEW of a view over distributed tables
CREATE MATERIALIZED VIEW oracle_rs_api.materialized_projects AS SELECT id, name, client_id FROM oracle_rs_api.projects;
COMMENT ON MATERIALIZED VIEW oracle_rs_api.materialized_projects IS $$A materialized view for projects

Just a test for materialized views$$;
SELECT obj_description('oracle_rs_api.materialized_projects'::regclass, 'pg_class');
SELECT count(*) FROM oracle_rs_api.materialized_projects;
-- migrations' backfills: DO blocks naming distributed tables with their schema
CREATE TABLE oracle_rs_api.users (id uuid PRIMARY KEY, email text, encrypted_password text, invited_at timestamptz);
CREATE TABLE oracle_rs_api.identities (id text, user_id uuid REFERENCES oracle_rs_api.users (id), identity_data jsonb, provider text, last_sign_in_at timestamptz, created_at timestamptz, updated_at timestamptz, PRIMARY KEY (provider, id));
INSERT INTO oracle_rs_api.users SELECT ('00000000-0000-0000-0000-0000000000' || lpad(g::text, 2, '0'))::uuid, 'u' || g || '@x.org', CASE WHEN g % 3 = 0 THEN '' ELSE 'pw' END, CASE WHEN g % 4 = 0 THEN '2023-01-01'::timestamptz END FROM generate_series(1, 20) g;
DO $$ BEGIN INSERT INTO oracle_rs_api.identities (id, user_id, identity_data, provider, last_sign_in_at, created_at, updated_at) SELECT id, id AS user_id, jsonb_build_object('sub', id, 'email', email) AS identity_data, 'email' AS provider, NULL AS last_sign_in_at, '2022-11-25' AS created_at, '2022-11-25' AS updated_at FROM oracle_rs_api.users AS users WHERE encrypted_password != '' AND email IS NOT NULL AND NOT EXISTS (SELECT user_id FROM oracle_rs_api.identities WHERE user_id = users.id); END; $$;
SELECT count(*), count(DISTINCT user_id) FROM oracle_rs_api.identities;
DO $$ BEGIN UPDATE oracle_rs_api.identities AS identities SET identity_data = identity_data || jsonb_build_object('email2', (SELECT email FROM oracle_rs_api.users WHERE id = identities.user_id)), updated_at = '2022-11-26' WHERE identities.provider = 'email' AND identity_data->>'email2' IS NULL; END $$;
SELECT provider, count(*), min(identity_data->>'email2'), max(updated_at) FROM oracle_rs_api.identities GROUP BY 1;
BEGIN;
DO $$ BEGIN DELETE FROM oracle_rs_api.identities WHERE user_id IN (SELECT id FROM oracle_rs_api.users WHERE invited_at IS NOT NULL); END $$;
SELECT count(*) FROM oracle_rs_api.identities;
ROLLBACK;
SELECT count(*) FROM oracle_rs_api.identities;
DO 'BEGIN DELETE FROM oracle_rs_api.identities WHERE provider = ''email'' AND user_id::text LIKE ''%1''; END';
SELECT count(*) FROM oracle_rs_api.identities;
DROP SCHEMA oracle_rs_api CASCADE;
