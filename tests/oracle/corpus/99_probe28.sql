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
