/*
Writes whose rows change nodes (h-merge24): a MERGE decided on one node whose INSERT gives
another distribution value (the row moved to its own node, executor/merge_moves.py;
PostgreSQL's rowsecurity.sql shape `ON did = s.sdid ... INSERT VALUES (12, ...)`), the ON
condition pinning the key to a constant, duplicates found where they live (23505) with the
whole statement rolled back; uncorrelated sub-selects over distributed tables in a MERGE's
WHEN conditions, UPDATE SET and INSERT VALUES, and as an UPDATE's new distribution value,
each run once first (planner/subplans.split_write_scalars).
*/

CREATE TABLE mk_doc (did int PRIMARY KEY, cid int, dnotes text) DISTRIBUTE BY HASH (did);
CREATE TABLE mk_src (sid int, v int) DISTRIBUTE BY HASH (v);
CREATE TABLE mk_rsrc (sid int, v int) DISTRIBUTE BY REPLICATION;
CREATE TABLE mk_coll (did int PRIMARY KEY, w int) DISTRIBUTE BY HASH (did);
CREATE TABLE mk_cat (cid int PRIMARY KEY, cname text) DISTRIBUTE BY HASH (cid);
CREATE TABLE mk_rtgt (did int PRIMARY KEY, cid int) DISTRIBUTE BY REPLICATION;
CREATE TABLE mk_nk (k int, w int DEFAULT 7) DISTRIBUTE BY HASH (k);
CREATE TABLE mk_acts (action text, abbrev text) DISTRIBUTE BY HASH (abbrev);
INSERT INTO mk_acts VALUES ('INSERT', 'ins'), ('UPDATE', 'upd'), ('DELETE', 'del');
INSERT INTO mk_doc SELECT g, g % 3, 'n' || g FROM generate_series(1, 10) g;
INSERT INTO mk_src SELECT g, g * 10 FROM generate_series(5, 15) g;
INSERT INTO mk_rsrc SELECT g, g * 10 FROM generate_series(8, 14) g;
INSERT INTO mk_coll SELECT g, g FROM generate_series(1, 20) g;
INSERT INTO mk_cat VALUES (11, 'novel'), (22, 'science'), (33, 'tech'), (44, 'manga');
INSERT INTO mk_rtgt SELECT g, g FROM generate_series(1, 5) g;

-- matched on one node, the insert's key on another
MERGE INTO mk_doc d USING (SELECT 1 AS sdid) s ON did = s.sdid WHEN MATCHED THEN UPDATE SET dnotes = dnotes || ' m4' WHEN NOT MATCHED THEN INSERT VALUES (12, 11, 'x');
MERGE INTO mk_doc d USING (SELECT 13 AS sdid) s ON did = s.sdid WHEN MATCHED THEN UPDATE SET dnotes = 'm' WHEN NOT MATCHED THEN INSERT VALUES (12, 11, 'x');
-- error
MERGE INTO mk_doc d USING (SELECT 77 AS sdid) s ON did = s.sdid WHEN NOT MATCHED THEN INSERT VALUES (3, 11, 'dup');
SELECT * FROM mk_doc ORDER BY did;

-- staged sources: HASH by another column, REPLICATION, colocated
MERGE INTO mk_doc d USING mk_src s ON d.did = s.sid WHEN MATCHED AND s.sid < 7 THEN DELETE WHEN MATCHED THEN UPDATE SET dnotes = 'u' || s.v WHEN NOT MATCHED AND s.sid % 2 = 0 THEN INSERT (did, cid, dnotes) VALUES (s.sid + 100, s.v, 'even') WHEN NOT MATCHED AND s.sid = 13 THEN DO NOTHING WHEN NOT MATCHED THEN INSERT (dnotes, did) VALUES ('odd', s.v);
SELECT * FROM mk_doc ORDER BY did;
MERGE INTO mk_doc d USING mk_rsrc s ON d.did = s.sid WHEN MATCHED THEN UPDATE SET cid = -1 WHEN NOT MATCHED THEN INSERT VALUES (s.v + 1, s.sid, 'rep');
MERGE INTO mk_doc d USING mk_coll c ON d.did = c.did WHEN NOT MATCHED AND c.w > 17 THEN INSERT VALUES (c.did + 1000, c.w, 'col');
SELECT count(*), sum(did), sum(cid) FROM mk_doc;

-- an error on the receiving node leaves nothing written
-- error
MERGE INTO mk_doc d USING (VALUES (1, 1), (502, 1), (503, 1)) v(a, b) ON d.did = v.a WHEN MATCHED THEN UPDATE SET cid = 5 WHEN NOT MATCHED THEN INSERT VALUES (v.b + 2000, 0, 'dup');
SELECT count(*), sum(did), sum(cid) FROM mk_doc;
BEGIN;
MERGE INTO mk_doc d USING (VALUES (1, 1), (502, 1)) v(a, b) ON d.did = v.a WHEN MATCHED THEN UPDATE SET cid = 6 WHEN NOT MATCHED THEN INSERT VALUES (v.b + 3000, 0, 'blk');
SELECT count(*), sum(did), sum(cid) FROM mk_doc;
ROLLBACK;
SELECT count(*), sum(did), sum(cid) FROM mk_doc;

-- the ON condition pins the key to a constant; a REPLICATION target
MERGE INTO mk_doc d USING (SELECT 3 AS x) s ON d.did = 3 WHEN MATCHED THEN UPDATE SET dnotes = 'c3' WHEN NOT MATCHED THEN INSERT VALUES (4000, 1, 'c');
MERGE INTO mk_doc d USING (SELECT 3 AS x) s ON d.did = 3333 WHEN MATCHED THEN UPDATE SET dnotes = 'c' WHEN NOT MATCHED THEN INSERT VALUES (4001, 1, 'c');
MERGE INTO mk_doc d USING (SELECT 3 AS x) s ON d.did = 3334 WHEN NOT MATCHED THEN INSERT VALUES (3334, 1, 'same') RETURNING merge_action(), d.*;
SELECT * FROM mk_doc WHERE did IN (3, 4000, 4001, 3333, 3334) ORDER BY did;
MERGE INTO mk_rtgt t USING (SELECT 9 AS k) s ON t.did = s.k WHEN NOT MATCHED THEN INSERT VALUES (99, 1);
SELECT * FROM mk_rtgt ORDER BY did;

-- INSERT DEFAULT VALUES: a NULL key (merge.sql:221)
MERGE INTO mk_nk USING (VALUES (1), (4321)) s(k) ON mk_nk.k = s.k WHEN NOT MATCHED THEN INSERT DEFAULT VALUES;
SELECT count(*), count(k), sum(w) FROM mk_nk;

-- sub-selects over a distributed table outside the MERGE's source
MERGE INTO mk_doc d USING (SELECT 1 AS sdid) s ON did = s.sdid WHEN MATCHED THEN UPDATE SET dnotes = 'm6', cid = (SELECT cid FROM mk_cat WHERE cname = 'tech');
MERGE INTO mk_doc d USING mk_src s ON d.did = s.sid WHEN MATCHED AND d.cid < (SELECT avg(cid) / 20 FROM mk_cat) THEN UPDATE SET cid = (SELECT max(cid) FROM mk_cat) WHEN NOT MATCHED AND s.v > (SELECT min(cid) * 10 FROM mk_cat) THEN INSERT VALUES (s.sid + 200, (SELECT count(*) FROM mk_cat), 'new');
SELECT * FROM mk_doc ORDER BY did;
-- error
MERGE INTO mk_doc d USING mk_src s ON d.did = s.sid WHEN MATCHED THEN UPDATE SET cid = (SELECT cid FROM mk_cat);
SELECT count(*), sum(did), sum(cid) FROM mk_doc;

-- correlated sub-selects over HASH tables (copies on the target's nodes), merge_action() in one (merge.sql:922)
MERGE INTO mk_doc d USING mk_src s ON d.did = s.sid WHEN MATCHED AND d.cid = (SELECT c.cid FROM mk_cat c WHERE c.cid = d.cid) THEN UPDATE SET dnotes = 'corr' || (SELECT cname FROM mk_cat WHERE mk_cat.cid = d.cid);
MERGE INTO mk_doc d USING mk_src s ON d.did = s.sid WHEN MATCHED AND EXISTS (SELECT 1 FROM mk_doc d2 WHERE d2.did = d.did + 1) THEN DELETE WHEN NOT MATCHED AND s.sid NOT IN (SELECT cid FROM mk_cat) THEN INSERT VALUES (s.sid + 300, (SELECT max(c.cid) FROM mk_cat c WHERE c.cid < s.v), 'ins');
SELECT * FROM mk_doc ORDER BY did;
MERGE INTO mk_doc d USING (SELECT 7777 AS sid) s ON d.did = s.sid WHEN MATCHED THEN DELETE WHEN NOT MATCHED THEN INSERT VALUES (s.sid, 0, 'new') RETURNING (SELECT abbrev FROM mk_acts WHERE action = merge_action()) AS a, d.did;

-- an entry of the MERGE's own WITH read by its sub-selects
WITH w(c, n) AS (SELECT cid, cname FROM mk_cat WHERE cid > 20), s2 AS (SELECT * FROM mk_src WHERE sid < 12) MERGE INTO mk_doc d USING s2 s ON d.did = s.sid WHEN MATCHED AND EXISTS (SELECT 1 FROM w WHERE w.c = d.cid) THEN UPDATE SET dnotes = (SELECT n FROM w WHERE w.c = d.cid) WHEN NOT MATCHED THEN INSERT VALUES (s.sid + 400, (SELECT min(c) FROM w), 'x');
SELECT * FROM mk_doc ORDER BY did;

-- an UPDATE's new distribution value from a sub-select: the rows move
UPDATE mk_doc SET did = (SELECT max(cid) FROM mk_cat) + 1000 WHERE did = 2;
UPDATE mk_doc SET did = did + (SELECT min(cid) FROM mk_cat) WHERE did BETWEEN 8 AND 10 RETURNING did, cid;
SELECT * FROM mk_doc ORDER BY did;
-- error
UPDATE mk_doc SET did = (SELECT max(cid) FROM mk_cat) WHERE cid IS NOT NULL;
SELECT count(*), sum(did), sum(cid) FROM mk_doc;
UPDATE mk_doc SET (did, dnotes) = (SELECT c.cid + 6000 + mk_doc.did, c.cname FROM mk_cat c WHERE c.cid = mk_doc.cid) WHERE cid = 44;
SELECT * FROM mk_doc ORDER BY did;
