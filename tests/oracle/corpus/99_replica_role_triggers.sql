-- session_replication_role = replica fires ENABLE REPLICA (and ALWAYS) triggers only. The
-- coordinator left ENABLE REPLICA triggers out, so a datanode fired one whose function
-- writes another distributed table itself: its row took the node's own sequence value and
-- a later insert met 23505 (executor/triggers._for_replication_role).
DROP TABLE IF EXISTS rrt_child, rrt_parent, rrt_log CASCADE;
CREATE TABLE rrt_parent (id int PRIMARY KEY, n text);
CREATE TABLE rrt_child (id int PRIMARY KEY, pid int REFERENCES rrt_parent(id), v int);
CREATE TABLE rrt_log (id serial PRIMARY KEY, what text);
CREATE OR REPLACE FUNCTION rrt_trg() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO rrt_log(what) VALUES (TG_OP || ':' || NEW.id); RETURN NEW; END $$;
CREATE TRIGGER rrt_t AFTER INSERT OR UPDATE ON rrt_child FOR EACH ROW EXECUTE FUNCTION rrt_trg();
INSERT INTO rrt_parent VALUES (1, 'a'), (2, 'b');
INSERT INTO rrt_child VALUES (10, 1, 1);
SELECT what FROM rrt_log ORDER BY id;
SET session_replication_role = replica;
INSERT INTO rrt_child VALUES (11, 2, 1);
INSERT INTO rrt_child VALUES (12, 99, 1);
UPDATE rrt_child SET v = 5 WHERE id = 10;
SELECT what FROM rrt_log ORDER BY id;
SELECT id, pid, v FROM rrt_child ORDER BY id;
RESET session_replication_role;
INSERT INTO rrt_child VALUES (13, 1, 1);
SELECT what FROM rrt_log ORDER BY id;
ALTER TABLE rrt_child ENABLE REPLICA TRIGGER rrt_t;
SET session_replication_role = replica;
INSERT INTO rrt_child VALUES (14, 1, 1);
SELECT what FROM rrt_log ORDER BY id;
RESET session_replication_role;
INSERT INTO rrt_child VALUES (15, 1, 1);
SELECT what FROM rrt_log ORDER BY id;
ALTER TABLE rrt_child ENABLE ALWAYS TRIGGER rrt_t;
SET session_replication_role = replica;
INSERT INTO rrt_child VALUES (16, 1, 1);
RESET session_replication_role;
SELECT what FROM rrt_log ORDER BY id;
ALTER TABLE rrt_child DISABLE TRIGGER rrt_t;
INSERT INTO rrt_child VALUES (17, 1, 1);
SELECT what FROM rrt_log ORDER BY id;
ALTER TABLE rrt_child ENABLE TRIGGER rrt_t;
BEGIN;
SET CONSTRAINTS ALL DEFERRED;
INSERT INTO rrt_child VALUES (18, 1, 1);
COMMIT;
SELECT count(*) FROM rrt_child;
DROP TABLE rrt_child, rrt_parent, rrt_log;
DROP FUNCTION rrt_trg();
