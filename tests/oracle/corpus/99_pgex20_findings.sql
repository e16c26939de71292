/*
What SQL written for the pgexercises.com club schema (members recommending members,
facilities, bookings) showed when replayed through gridpg (h-pgex20, 2026-12-06), each
reduced to a small form over tables of our own.
*/

CREATE TABLE px_player (pid int PRIMARY KEY, family text, given text, coach int) DISTRIBUTE BY HASH (pid);
INSERT INTO px_player VALUES (1, 'moss', 'ann', NULL), (2, 'moss', 'bea', 1), (3, 'ash', 'cal', 1),
  (4, 'ash', 'cal', 2), (5, 'birch', 'dot', NULL), (6, 'moss', 'ann', 3), (7, 'elm', 'eve', 9);

-- a self-join whose output repeats a name sorts by a row constructor: the key travelled to
-- the final step as one anonymous record column, refused (42P16 "pseudo-type record")
SELECT p.given, p.family, c.given, c.family
  FROM px_player p LEFT JOIN px_player c ON c.pid = p.coach
  ORDER BY (p.family, p.given, p.pid);
SELECT p.given, c.given FROM px_player p LEFT JOIN px_player c ON c.pid = p.coach
  ORDER BY (c.family, (p.given, p.pid)) DESC;
SELECT p.given, c.given FROM px_player p LEFT JOIN px_player c ON c.pid = p.coach
  ORDER BY ROW(c.family) NULLS FIRST, p.pid LIMIT 4;
SELECT p.pid, c.given FROM px_player p JOIN px_player c ON c.pid = p.coach
  ORDER BY (p.family, c.pid) USING >, 1;

CREATE TABLE px_shift (sid int, pid int, at timestamp, hours int) DISTRIBUTE BY HASH (sid);
INSERT INTO px_shift SELECT g, g % 7 + 1, timestamp '2024-01-03 08:00' + g * interval '29 hours', g % 4 + 1
  FROM generate_series(1, 60) g;

-- a CTE with a column of its own name (`tally`), run first and joined to a table on other
-- nodes under a window function: the coordinator finish read `tally` as a whole-row
-- reference and cast the rows to the CTE's scratch table's type, which the catalog server
-- does not have (42704)
WITH tally AS (SELECT pid, sum(hours) AS tally FROM px_shift GROUP BY pid)
SELECT given, family, tally, rank() OVER (ORDER BY tally DESC, pid) AS r
  FROM tally JOIN px_player USING (pid) ORDER BY r;
-- the whole row of such a CTE is an anonymous record, as in PostgreSQL
WITH t AS (SELECT pid, sum(hours) AS h FROM px_shift GROUP BY pid)
SELECT t, t.h, rank() OVER (ORDER BY h DESC, pid) FROM t JOIN px_player USING (pid) ORDER BY t.pid;
SELECT pg_typeof(t), count(*) OVER () FROM (SELECT pid, count(*) FROM px_shift GROUP BY pid) t
  JOIN px_player p USING (pid) ORDER BY t.pid;

-- GROUP BY and the select list write the same expression with a bare column that the join
-- condition qualifies (`date_trunc('month', at)` beside `s.at`): the two-phase split took
-- the select list's expression for another one and sent the bare column ungrouped (42803)
SELECT sum(hours), date_trunc('month', at) AS month
  FROM px_shift s JOIN (SELECT DISTINCT date_trunc('month', at) AS month FROM px_shift) m
    ON m.month = date_trunc('month', s.at)
  GROUP BY date_trunc('month', at) ORDER BY 2;
WITH months AS (SELECT DISTINCT date_trunc('month', at) AS month FROM px_shift)
SELECT sum(hours) AS total, date_trunc('month', at) AS month, count(*)
  FROM px_shift s JOIN months m ON m.month = date_trunc('month', s.at)
  GROUP BY date_trunc('month', at) ORDER BY month;

-- an UPDATE of the distribution column whose FROM (or WHERE sub-select) reads REPLICATION
-- tables: refused before (0A000, only constants were allowed); the nodes join the
-- replicated rows they hold, the copy's UPDATE joins a copy of them gathered to the
-- catalog server
CREATE TABLE px_member (mid int PRIMARY KEY, home int, name text) DISTRIBUTE BY REPLICATION;
INSERT INTO px_member VALUES (1, 3, 'ann'), (2, 5, 'bea'), (3, 3, 'cal'), (4, NULL, 'dot');
CREATE TABLE px_visit (vid int, court int, mid int, slots int) DISTRIBUTE BY HASH (court);
INSERT INTO px_visit SELECT g, g % 6, g % 5, g % 3 + 1 FROM generate_series(1, 40) g;
UPDATE px_visit v SET court = m.home FROM px_member m WHERE m.mid = v.mid AND m.home IS NOT NULL AND v.vid < 12
  RETURNING v.vid, v.court, m.name;
SELECT court, count(*), sum(vid) FROM px_visit GROUP BY court ORDER BY court;
BEGIN;
UPDATE px_visit SET court = court + 10 FROM px_member
  WHERE px_member.mid = px_visit.mid AND px_member.name IN ('bea', 'dot');
UPDATE px_visit v SET court = 7 WHERE v.mid IN (SELECT mid FROM px_member WHERE home = 3) AND v.slots = 2;
SELECT court, count(*), sum(vid) FROM px_visit GROUP BY court ORDER BY court;
ROLLBACK;
BEGIN;
CREATE TABLE px_note (n int);
UPDATE px_visit v SET court = m.mid + r.mid FROM px_member m, px_member r
  WHERE m.mid = v.mid AND r.home = m.home AND r.mid <> m.mid RETURNING v.vid, v.court;
SELECT court, count(*), sum(vid) FROM px_visit GROUP BY court ORDER BY court;
COMMIT;
SELECT court, count(*), sum(vid) FROM px_visit GROUP BY court ORDER BY court;

-- a join whose anchor table lives on one datanode (TO NODE) and whose other table is
-- moved to it with a semi-join reduction (only rows whose key a filtered anchor row has):
-- the key table on the moved table's nodes was shaped by reading the anchor table, which
-- the node without it does not have (42P01 "relation does not exist")
CREATE TABLE px_court (cid int, label text, fee numeric) DISTRIBUTE BY HASH (cid) TO NODE (dn2);
INSERT INTO px_court VALUES (0, 'grass 1', 5), (1, 'grass 2', 5), (2, 'clay', 0), (3, 'hall', 10),
  (4, 'pool', 20), (5, 'grass 3', 5), (6, 'hall 2', 10), (7, 'gym', 0), (8, 'sauna', 30);
CREATE TABLE px_slot (sid int, cid int, mid int, at timestamp) DISTRIBUTE BY MODULO (mid);
INSERT INTO px_slot SELECT g, g % 9, g % 31, timestamp '2024-05-01' + g * interval '1 hour'
  FROM generate_series(1, 4000) g;
ANALYZE px_court;
ANALYZE px_slot;
SELECT count(*) FROM px_court c JOIN px_slot s ON s.cid = c.cid WHERE c.label LIKE 'grass%';
SELECT s.at, c.label FROM px_court c JOIN px_slot s ON c.cid = s.cid
  WHERE c.label IN ('grass 1', 'grass 2') AND s.at >= '2024-05-10' AND s.at < '2024-05-11'
  ORDER BY s.at, c.label;
SELECT c.label, sum(c.fee), count(DISTINCT s.mid) FROM px_slot s JOIN px_court c USING (cid)
  WHERE c.fee > 5 GROUP BY c.label ORDER BY 1;

-- views over tables on different node sets (px_court on dn2 alone, px_slot on both,
-- px_member on both): CREATE VIEW ran on every node holding one of its tables, where
-- another was missing (42P01), and DROP VIEW of a view over px_court alone failed on the
-- node without it (42P01), so it could never be dropped
CREATE VIEW px_court_names AS SELECT cid, label FROM px_court;
SELECT * FROM px_court_names ORDER BY cid;
DROP VIEW px_court_names;
CREATE VIEW px_court_use AS SELECT c.label, s.mid, s.at FROM px_slot s JOIN px_court c USING (cid);
CREATE VIEW px_court_busy AS SELECT label, count(*) AS n FROM px_court_use GROUP BY label;
SELECT * FROM px_court_busy ORDER BY label;
CREATE OR REPLACE VIEW px_court_use AS SELECT c.label, s.mid, s.at, s.sid FROM px_slot s JOIN px_court c USING (cid);
SELECT label, count(DISTINCT mid) FROM px_court_use WHERE at < '2024-05-03' GROUP BY label ORDER BY 1;
-- error
DROP VIEW px_court_use;
DROP VIEW px_court_use CASCADE;
-- error
DROP VIEW px_court_busy;

DROP TABLE px_player, px_shift, px_member, px_visit, px_note, px_court, px_slot;
