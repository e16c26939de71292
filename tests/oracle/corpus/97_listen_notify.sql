/*
LISTEN / UNLISTEN / NOTIFY / pg_notify() as statements: their results, their errors and
pg_listening_channels() must be PostgreSQL's (deliveries are checked by
tests/integration/test_notify.py: the runner does not read notifications). LISTEN in a
block takes effect at COMMIT, not at all after ROLLBACK or ROLLBACK TO a savepoint taken
before it; UNLISTEN likewise; PREPARE TRANSACTION after any of them is refused.
*/

SELECT pg_notify('oracle_chan', 'payload with ''quotes'' and é');
SELECT pg_notify('oracle_chan', '') AS empty, pg_notify('oracle_chan', NULL) AS null_payload;
-- error
SELECT pg_notify('', 'x');
-- error
SELECT pg_notify(NULL, 'x');
-- error
SELECT pg_notify('notify_async_channel_name_too_long______________________________', 'x');
NOTIFY oracle_chan;
NOTIFY oracle_chan, 'with payload';
/* a comment first */ LISTEN oracle_a;
LISTEN "Oracle Mixed";
LISTEN oracle_a;
SELECT pg_listening_channels() ORDER BY 1;
SELECT c FROM pg_catalog.pg_listening_channels() AS c ORDER BY c;
SELECT count(*) FROM pg_listening_channels();
BEGIN;
LISTEN oracle_b;
SELECT pg_listening_channels() ORDER BY 1;
UNLISTEN oracle_a;
SELECT pg_listening_channels() ORDER BY 1;
COMMIT;
SELECT pg_listening_channels() ORDER BY 1;
BEGIN;
LISTEN oracle_c;
ROLLBACK;
SELECT pg_listening_channels() ORDER BY 1;
BEGIN;
SAVEPOINT s1;
LISTEN oracle_d;
ROLLBACK TO SAVEPOINT s1;
LISTEN oracle_e;
RELEASE SAVEPOINT s1;
COMMIT;
SELECT pg_listening_channels() ORDER BY 1;
UNLISTEN not_listening;
UNLISTEN *;
SELECT count(*) FROM pg_listening_channels();
BEGIN;
NOTIFY oracle_chan, 'in a block';
-- error
PREPARE TRANSACTION 'oracle_notify_gid';
SELECT 1;
BEGIN;
LISTEN oracle_f;
-- error
PREPARE TRANSACTION 'oracle_notify_gid';
SELECT count(*) FROM pg_listening_channels();
SELECT pg_notification_queue_usage();
