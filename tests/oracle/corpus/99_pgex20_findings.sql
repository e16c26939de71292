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

DROP TABLE px_player, px_shift;
