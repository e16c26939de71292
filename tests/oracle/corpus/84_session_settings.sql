/*
Session settings by PostgreSQL's rules: SET, SET LOCAL, RESET, RESET ALL, SET SESSION
CHARACTERISTICS, SET TIME ZONE across committed and rolled-back transactions and
savepoints, with comments before the statements; reads of distributed tables show what the
datanodes used. (Roles, SET ROLE and SET SESSION AUTHORIZATION are cluster-wide objects the
self mode cannot hold twice: tests/integration/test_session_state.py compares them with
plain PostgreSQL.)
Exercises: frontend.session_settings (model, undo), frontend.session_commands (SET on the
catalog and every node, replay inside blocks), datanode.pool (connections in an unknown
state are closed).
*/

CREATE TABLE open_t (id int, v text) DISTRIBUTE BY HASH (id);
INSERT INTO open_t VALUES (1, 'x'), (2, 'y');

-- ordinary settings: session-level in a block, SET LOCAL, savepoints
SET search_path = oracle_84_session_settings, public;
SET work_mem = '5MB';
BEGIN;
SET work_mem = '6MB';
SHOW work_mem;
ROLLBACK;
SHOW work_mem;
BEGIN;
SET work_mem = '7MB';
COMMIT;
SHOW work_mem;
BEGIN;
SET LOCAL work_mem = '8MB';
SHOW work_mem;
SELECT count(*) FROM open_t;
COMMIT;
SHOW work_mem;
BEGIN;
SET work_mem = '9MB';
SAVEPOINT s1;
SET work_mem = '10MB';
SET LOCAL statement_timeout = '5min';
SHOW work_mem;
SHOW statement_timeout;
ROLLBACK TO SAVEPOINT s1;
SHOW work_mem;
SHOW statement_timeout;
SAVEPOINT s2;
SET work_mem = '11MB';
RELEASE SAVEPOINT s2;
COMMIT;
SHOW work_mem;
SHOW statement_timeout;
BEGIN;
SET work_mem = '12MB';
-- error
SELECT 1 / 0;
/* c */ ROLLBACK;
SHOW work_mem;
SET LOCAL work_mem = '13MB';
SHOW work_mem;
/* reset */ RESET work_mem;
SHOW work_mem;
SET extra_float_digits = 3;
SET DateStyle = 'SQL, DMY';
SELECT DATE '2024-03-04' AS d;
RESET ALL;
SHOW extra_float_digits;
SELECT DATE '2024-03-04' AS d;
SET search_path = oracle_84_session_settings, public;
SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL REPEATABLE READ;
SHOW default_transaction_isolation;
BEGIN;
SHOW transaction_isolation;
COMMIT;
SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL READ COMMITTED;
SHOW default_transaction_isolation;
SET TIME ZONE 'Europe/Paris';
SELECT TIMESTAMPTZ '2024-01-01 12:00:00+00' AS t;
SELECT v, TIMESTAMPTZ '2024-01-01 12:00:00+00' AS t FROM open_t WHERE id = 1;
SET TIME ZONE 'UTC';
SELECT v, TIMESTAMPTZ '2024-01-01 12:00:00+00' AS t FROM open_t WHERE id = 1;
