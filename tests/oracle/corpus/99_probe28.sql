/*
Features as users combine them (h-probe28): row triggers on a partitioned table whose
functions write another distributed table, fired by the coordinator on each row, name the
partition that holds the row (TG_TABLE_NAME, TG_RELID), as PostgreSQL fires them cloned
on the partition, for INSERT, UPDATE and DELETE (COPY: in the test file below) (the coordinator named the parent);
an UPDATE moving rows between partitions with statement triggers (transition tables) and
BEFORE ROW triggers that stay on the datanodes; a multi-row VALUES with lists of
different lengths fails with PostgreSQL's error. The refusal of a moving UPDATE whose row
triggers write other distributed tables is tests/integration/test_partition_move_triggers28.py.
*/

CREATE TABLE pr_log (id bigserial PRIMARY KEY, what text);
CREATE TABLE pr_ev (id int, day date, kind text, PRIMARY KEY (id, day)) PARTITION BY RANGE (day);
CREATE TABLE pr_ev_2024 PARTITION OF pr_ev FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
CREATE TABLE pr_ev_2025 PARTITION OF pr_ev FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
CREATE TABLE pr_ev_rest PARTITION OF pr_ev DEFAULT;
INSERT INTO pr_ev VALUES (1, '2024-03-01', 'a'), (2, '2024-05-05', 'b'), (3, '2025-02-02', 'c'), (4, '2030-01-01', 'd');
CREATE FUNCTION pr_blog() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO pr_log (what) VALUES (TG_TABLE_NAME || ' ' || (TG_RELID = TG_TABLE_NAME::regclass)::text || ' ' || TG_OP || ' ' || coalesce(NEW.id, OLD.id)); RETURN COALESCE(NEW, OLD); END $$;
CREATE TRIGGER pr_b BEFORE UPDATE OR DELETE ON pr_ev FOR EACH ROW EXECUTE FUNCTION pr_blog();
UPDATE pr_ev SET kind = kind || '!' WHERE id IN (1, 3, 4);
DELETE FROM pr_ev WHERE id = 2;
SELECT what FROM pr_log ORDER BY what;
DROP TRIGGER pr_b ON pr_ev;
CREATE TRIGGER pr_bi BEFORE INSERT ON pr_ev FOR EACH ROW EXECUTE FUNCTION pr_blog();
INSERT INTO pr_ev VALUES (5, '2025-06-06', 'e'), (6, '2024-06-06', 'f'), (7, '1999-01-01', 'g');
INSERT INTO pr_ev SELECT g, date '2024-01-01' + g * 60, 'k' || g FROM generate_series(8, 9) g;
SELECT what FROM pr_log ORDER BY what;
SELECT tableoid::regclass::text AS part, id, day, kind FROM pr_ev ORDER BY id;
DROP TRIGGER pr_bi ON pr_ev;

-- a moving UPDATE: BEFORE ROW triggers on the datanodes, a statement trigger's transition tables
CREATE FUNCTION pr_up() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.kind := upper(NEW.kind); RETURN NEW; END $$;
CREATE TRIGGER pr_up BEFORE INSERT OR UPDATE ON pr_ev FOR EACH ROW EXECUTE FUNCTION pr_up();
CREATE FUNCTION pr_st() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO pr_log (what) SELECT TG_OP || ' ' || string_agg(n.id || ':' || o.day || '>' || n.day, ',' ORDER BY n.id) FROM pr_o o JOIN pr_n n USING (id); RETURN NULL; END $$;
CREATE TRIGGER pr_st AFTER UPDATE ON pr_ev REFERENCING OLD TABLE AS pr_o NEW TABLE AS pr_n FOR EACH STATEMENT EXECUTE FUNCTION pr_st();
UPDATE pr_ev SET day = day + 300 WHERE id IN (1, 5, 6, 8);
SELECT tableoid::regclass::text AS part, id, day, kind FROM pr_ev ORDER BY id;
SELECT what FROM pr_log WHERE what LIKE 'UPDATE %' ORDER BY what;

-- VALUES lists of different lengths
-- error
INSERT INTO pr_log VALUES (100, 'x'), (101);
-- error
INSERT INTO pr_log (id, what) VALUES (100, 'x'), (101, 'y', 'z');
-- error
INSERT INTO pr_log (id, what) VALUES (100, 'x', 'z');
SELECT count(*) FROM pr_log WHERE id >= 100;

-- a counter cache: an AFTER ROW trigger of orders updating a REPLICATION table (two unique
-- keys) that orders references with ON UPDATE / ON DELETE CASCADE; the trigger's UPDATE
-- assigns no referenced column, so no action runs (it was refused for the cascade)
CREATE TABLE pr_users (id int PRIMARY KEY, email text UNIQUE NOT NULL, n_orders int DEFAULT 0);
CREATE TABLE pr_orders (id serial PRIMARY KEY, user_id int REFERENCES pr_users(id) ON DELETE CASCADE ON UPDATE CASCADE, amount numeric CHECK (amount > 0));
CREATE FUNCTION pr_bump() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF TG_OP = 'INSERT' THEN UPDATE pr_users SET n_orders = n_orders + 1 WHERE id = NEW.user_id; ELSIF TG_OP = 'DELETE' THEN UPDATE pr_users SET n_orders = n_orders - 1 WHERE id = OLD.user_id; ELSIF NEW.user_id IS DISTINCT FROM OLD.user_id THEN UPDATE pr_users SET n_orders = n_orders - 1 WHERE id = OLD.user_id; UPDATE pr_users SET n_orders = n_orders + 1 WHERE id = NEW.user_id; END IF; RETURN NULL; END $$;
CREATE TRIGGER pr_bump AFTER INSERT OR UPDATE OR DELETE ON pr_orders FOR EACH ROW EXECUTE FUNCTION pr_bump();
INSERT INTO pr_users (id, email) SELECT g, 'u' || g || '@x' FROM generate_series(1, 6) g;
INSERT INTO pr_orders (user_id, amount) SELECT 1 + g % 5, g FROM generate_series(1, 20) g;
SELECT id, n_orders FROM pr_users ORDER BY id;
UPDATE pr_orders SET user_id = 6 WHERE id IN (1, 2, 3);
DELETE FROM pr_orders WHERE amount > 17;
UPDATE pr_users SET email = 'x' || email WHERE id = 2;
SELECT id, email, n_orders FROM pr_users ORDER BY id;
-- error
INSERT INTO pr_orders (user_id, amount) VALUES (99, 1);
-- error
INSERT INTO pr_orders (user_id, amount) VALUES (1, 0);
SELECT user_id, count(*), sum(amount) FROM pr_orders GROUP BY user_id ORDER BY user_id;

-- MERGE into a partitioned table whose AFTER ROW trigger writes another distributed
-- table: each action's row is fired as its partition's (the coordinator named the parent)
CREATE TABLE pr_acc (id int, region text, bal numeric DEFAULT 0, bal2 numeric GENERATED ALWAYS AS (bal * 2) STORED, PRIMARY KEY (id, region)) PARTITION BY LIST (region);
CREATE TABLE pr_acc_eu PARTITION OF pr_acc FOR VALUES IN ('eu');
CREATE TABLE pr_acc_us PARTITION OF pr_acc FOR VALUES IN ('us');
CREATE FUNCTION pr_aud() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO pr_log (what) VALUES (TG_TABLE_NAME || ' ' || TG_OP || ' ' || coalesce(NEW.id, OLD.id) || ' ' || coalesce(NEW.bal2, OLD.bal2)); RETURN NULL; END $$;
CREATE TRIGGER pr_aud AFTER INSERT OR UPDATE OR DELETE ON pr_acc FOR EACH ROW EXECUTE FUNCTION pr_aud();
INSERT INTO pr_acc (id, region, bal) VALUES (1, 'eu', 10), (2, 'us', 20), (3, 'eu', 30);
INSERT INTO pr_acc (id, region, bal) VALUES (1, 'eu', 5), (4, 'us', 1) ON CONFLICT (id, region) DO UPDATE SET bal = pr_acc.bal + excluded.bal RETURNING id, region, bal, bal2;
MERGE INTO pr_acc a USING (VALUES (2, 'us', 7), (5, 'eu', 9), (3, 'eu', 0)) s(id, region, bal) ON a.id = s.id AND a.region = s.region WHEN MATCHED AND s.bal = 0 THEN DELETE WHEN MATCHED THEN UPDATE SET bal = s.bal WHEN NOT MATCHED THEN INSERT (id, region, bal) VALUES (s.id, s.region, s.bal);
SELECT what FROM pr_log WHERE what LIKE 'pr_acc%' ORDER BY what;
SELECT tableoid::regclass::text AS part, id, region, bal, bal2 FROM pr_acc ORDER BY id;
