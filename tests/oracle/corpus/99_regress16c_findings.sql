/*
Differences PostgreSQL 18's regression files showed in the sixteenth replay's third part
(h-regress16c, 2026-12-06: advisory_lock, combocid, create_aggregate, create_cast,
create_type, privileges, lock, guc, largeobject, tsearch, tidscan, tidrangescan, txid,
xid, mvcc), each reduced to its smallest form. (GRANT and REVOKE in server-side code:
tests/integration/test_regress16c_findings.py, which looks at every node.)
*/

-- privileges.sql:1315: REFRESH MATERIALIZED VIEW CONCURRENTLY of a view over no
-- distributed table failed (0A000 "cannot PREPARE a transaction that has operated on
-- temporary objects": PostgreSQL's CONCURRENTLY takes a temp table, and the statement ran
-- on every catalog server under 2PC)
CREATE MATERIALIZED VIEW r16c_mv AS SELECT g AS c, 'v' || g AS d FROM generate_series(1, 3) g;
CREATE UNIQUE INDEX r16c_mv_c ON r16c_mv (c);
REFRESH MATERIALIZED VIEW CONCURRENTLY r16c_mv;
SELECT c, d FROM r16c_mv ORDER BY c;
BEGIN;
REFRESH MATERIALIZED VIEW CONCURRENTLY r16c_mv;
SELECT count(*) FROM r16c_mv;
COMMIT;
CREATE MATERIALIZED VIEW r16c_mv_noindex AS SELECT 1 AS c;
-- error
REFRESH MATERIALIZED VIEW CONCURRENTLY r16c_mv_noindex;
CREATE MATERIALIZED VIEW r16c_mv_empty AS SELECT 1 AS c WITH NO DATA;
CREATE UNIQUE INDEX r16c_mv_empty_c ON r16c_mv_empty (c);
-- error
REFRESH MATERIALIZED VIEW CONCURRENTLY r16c_mv_empty;
REFRESH MATERIALIZED VIEW r16c_mv_empty;
REFRESH MATERIALIZED VIEW CONCURRENTLY r16c_mv_empty;
SELECT c FROM r16c_mv_empty;
DROP MATERIALIZED VIEW r16c_mv, r16c_mv_noindex, r16c_mv_empty;
