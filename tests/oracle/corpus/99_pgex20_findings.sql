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

DROP TABLE px_player;
