/*
DDL run by server-side code: tables, partitions, indexes, columns made, changed and
dropped by SQL and PL/pgSQL functions, procedures, DO blocks and EXECUTE format(...)
become the cluster's (distributed, on every node, seen from the other coordinator) as a
top-level statement's; the code's own catalog reads see what it made; inside a
transaction block it rolls back with the block. The patterns users bring: a monthly
partition-maintenance function, a migration DO block guarded by information_schema, a
setup procedure, a SQL function that rebuilds a copy of a table (CREATE TABLE AS).
Exercises: executor.code_ddl (capture and replay), the catalog servers' event triggers.
*/

-- a SQL function, a PL/pgSQL function, a procedure, a DO block, each making a table
CREATE FUNCTION mk() RETURNS void LANGUAGE sql AS $$ CREATE TABLE t_made (id int PRIMARY KEY, v text) $$;
SELECT mk();
INSERT INTO t_made VALUES (1, 'a'), (2, 'b'), (3, 'c');
SELECT * FROM t_made ORDER BY id;
CREATE FUNCTION mk_pl(n int) RETURNS int LANGUAGE plpgsql AS $$ BEGIN CREATE TABLE t_pl (id int PRIMARY KEY, n int DEFAULT 7); RETURN n * 2; END $$;
SELECT mk_pl(21);
INSERT INTO t_pl (id) SELECT g FROM generate_series(1, 20) g;
SELECT count(*), sum(n) FROM t_pl;
CREATE PROCEDURE setup_app() LANGUAGE plpgsql AS $$ BEGIN CREATE TABLE app_users (id bigint PRIMARY KEY, name text NOT NULL); CREATE TABLE app_orders (id bigint, user_id bigint, total numeric(10,2), PRIMARY KEY (user_id, id)); CREATE INDEX app_orders_total ON app_orders (total); END $$;
CALL setup_app();
INSERT INTO app_users VALUES (1, 'ann'), (2, 'bob');
INSERT INTO app_orders VALUES (1, 1, 10.50), (2, 1, 3.25), (1, 2, 7.00);
SELECT u.name, sum(o.total) FROM app_users u JOIN app_orders o ON o.user_id = u.id GROUP BY u.name ORDER BY u.name;
SELECT indexname FROM pg_indexes WHERE schemaname = current_schema() AND tablename = 'app_orders' ORDER BY 1;
DO $$ BEGIN CREATE TABLE t_do (id int PRIMARY KEY); END $$;
INSERT INTO t_do VALUES (5), (6);
SELECT * FROM t_do ORDER BY id;

-- the code reads the catalog after its own DDL: it sees what it made
CREATE FUNCTION mk_and_count() RETURNS bigint LANGUAGE plpgsql AS $$ BEGIN CREATE TABLE t_counted (a int, b text, c date); RETURN (SELECT count(*) FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = 't_counted'); END $$;
SELECT mk_and_count();
SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = 't_counted' ORDER BY ordinal_position;

-- monthly partition maintenance: EXECUTE format(...) over a partitioned table, run twice
CREATE TABLE clicks (id int, at date, note text) PARTITION BY RANGE (at);
CREATE FUNCTION add_months(first date, months int) RETURNS int LANGUAGE plpgsql AS $$ DECLARE m int; lo date; made int := 0; BEGIN FOR m IN 0 .. months - 1 LOOP lo := first + make_interval(months => m); IF to_regclass(format('clicks_%s', to_char(lo, 'YYYY_MM'))) IS NULL THEN made := made + 1; END IF; EXECUTE format('CREATE TABLE IF NOT EXISTS %I PARTITION OF clicks FOR VALUES FROM (%L) TO (%L)', 'clicks_' || to_char(lo, 'YYYY_MM'), lo, lo + interval '1 month'); END LOOP; RETURN made; END $$;
SELECT add_months('2026-01-01', 3);
SELECT add_months('2026-02-01', 3);
INSERT INTO clicks SELECT g, date '2026-01-01' + g, 'e' || g FROM generate_series(0, 110) g;
SELECT tableoid::regclass::text, count(*) FROM clicks GROUP BY 1 ORDER BY 1;
SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'clicks'::regclass ORDER BY 1;

-- a migration DO block guarded by information_schema, run twice
CREATE TABLE accounts (id int PRIMARY KEY, owner text);
INSERT INTO accounts VALUES (1, 'ann'), (2, 'bob');
DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = 'accounts' AND column_name = 'status') THEN ALTER TABLE accounts ADD COLUMN status text NOT NULL DEFAULT 'active'; END IF; END $$;
DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = 'accounts' AND column_name = 'status') THEN ALTER TABLE accounts ADD COLUMN status text NOT NULL DEFAULT 'active'; END IF; END $$;
INSERT INTO accounts (id, owner) VALUES (3, 'cy');
SELECT * FROM accounts ORDER BY id;
DO $$ BEGIN EXECUTE 'CREATE INDEX accounts_owner ON accounts (owner)'; EXECUTE 'COMMENT ON TABLE accounts IS ''owners'''; END $$;
SELECT indexname FROM pg_indexes WHERE schemaname = current_schema() AND tablename = 'accounts' ORDER BY 1;
SELECT obj_description('accounts'::regclass, 'pg_class');

-- a SQL function that rebuilds a copy of a table, run twice (DROP TABLE IF EXISTS, CREATE TABLE AS)
CREATE FUNCTION snapshot_accounts() RETURNS void LANGUAGE sql AS $$ DROP TABLE IF EXISTS accounts_copy; CREATE TABLE accounts_copy AS SELECT * FROM accounts $$;
SELECT snapshot_accounts();
UPDATE accounts SET status = 'closed' WHERE id = 2;
SELECT snapshot_accounts();
SELECT * FROM accounts_copy ORDER BY id;

-- DROP TABLE inside code; a block that rolls back leaves nothing, one that commits keeps it
CREATE FUNCTION drop_do_table() RETURNS void LANGUAGE plpgsql AS $$ BEGIN DROP TABLE t_do; END $$;
SELECT drop_do_table();
-- error
SELECT * FROM t_do;
CREATE FUNCTION mk_named(name text) RETURNS void LANGUAGE plpgsql AS $$ BEGIN EXECUTE format('CREATE TABLE %I (id int PRIMARY KEY, v int)', name); END $$;
BEGIN;
SELECT mk_named('t_gone');
INSERT INTO t_gone VALUES (1, 1);
SELECT * FROM t_gone;
ROLLBACK;
SELECT to_regclass('t_gone') IS NULL;
BEGIN;
SELECT mk_named('t_kept');
INSERT INTO t_kept SELECT g, g * g FROM generate_series(1, 30) g;
COMMIT;
SELECT count(*), sum(v) FROM t_kept;

-- the other coordinator sees and uses what code made
\connect 2
SELECT * FROM t_made ORDER BY id;
INSERT INTO t_made VALUES (4, 'd');
SELECT count(*) FROM clicks;
SELECT * FROM accounts ORDER BY id;
SELECT count(*), sum(v) FROM t_kept;
SELECT add_months('2026-04-01', 2);
INSERT INTO clicks VALUES (500, '2026-05-02', 'may');
SELECT tableoid::regclass::text, count(*) FROM clicks GROUP BY 1 ORDER BY 1;
\connect 1
SELECT * FROM t_made ORDER BY id;
