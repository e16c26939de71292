/*
A trigger function declared with its own search_path (`SET search_path = "Ev Store",
pg_catalog`, the form security reviews ask for) whose AFTER ROW trigger writes and reads
other distributed tables by unqualified names: the coordinator fires it (executor/
triggers.py) as a twin whose own path has the loopback's shadow schemas put before its
schemas (`shadowed_path`); its names are checked with that path (executor/routines.py
`_reach_by_loopback`). Before, it was refused with 0A000 (SET clauses).
*/

DROP SCHEMA IF EXISTS "Ev Store" CASCADE;
CREATE SCHEMA "Ev Store";
CREATE TABLE "Ev Store".events (id int PRIMARY KEY, what text) DISTRIBUTE BY HASH (id);
CREATE TABLE "Ev Store".event_log (id int, what text, n bigint) DISTRIBUTE BY HASH (what);
CREATE FUNCTION "Ev Store".log_event() RETURNS trigger LANGUAGE plpgsql SET search_path = "Ev Store", pg_catalog AS $$
BEGIN
  INSERT INTO event_log VALUES (NEW.id, NEW.what, (SELECT count(*) FROM events));  -- unqualified: its own path
  RETURN NEW;  -- an AFTER trigger: ignored
END $$;
CREATE TRIGGER log_event AFTER INSERT ON "Ev Store".events FOR EACH ROW EXECUTE FUNCTION "Ev Store".log_event();
INSERT INTO "Ev Store".events VALUES (1, 'a'), (2, 'b');
SELECT * FROM "Ev Store".event_log ORDER BY id;
BEGIN;
INSERT INTO "Ev Store".events VALUES (3, 'c');
SELECT * FROM "Ev Store".event_log ORDER BY id;
ROLLBACK;
SELECT * FROM "Ev Store".event_log ORDER BY id;
-- the caller's path does not matter: the function's own is used
SET search_path = public;
INSERT INTO "Ev Store".events VALUES (4, 'd');
SELECT * FROM "Ev Store".event_log ORDER BY id;
RESET search_path;
DROP SCHEMA "Ev Store" CASCADE;
