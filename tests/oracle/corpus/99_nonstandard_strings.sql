-- standard_conforming_strings = off (old applications, PostgreSQL's strings.sql): plain
-- constants are escape strings. gridpg read them with the setting on (42601 for a quote
-- escaped with a backslash, and such a quote could end a constant early), and its own
-- printed statements wrote values holding a backslash as '...', which the nodes misread:
-- the LIKE below found no row (sql/escape_strings.py, sql/parse.py).
DROP TABLE IF EXISTS nss, nss2 CASCADE;
DROP FUNCTION IF EXISTS nss_f(text);
CREATE TABLE nss (id int PRIMARY KEY, t text);
INSERT INTO nss SELECT g, 'v' || g FROM generate_series(1, 10) g;
SET standard_conforming_strings = off;
SET escape_string_warning = off;
SELECT id, t FROM nss WHERE id = 1 AND t = 'x\' OR id = 2 --' ORDER BY id;
SELECT id FROM nss WHERE id = 3 OR t = 'a\' AND id = 4 --' ORDER BY id;
INSERT INTO nss VALUES (20, 'back\\slash'), (21, 'quote\'s'), (22, 'tab\there'), (23, '\\'), (24, 'oct\101'), (25, 'x\u0041');
SELECT id, t, length(t) FROM nss WHERE id >= 20 ORDER BY id;
SELECT id FROM nss WHERE t LIKE 'back\\\\%' ORDER BY id;
SELECT id FROM nss WHERE t ~ '^v\d$' ORDER BY id;
SELECT id FROM nss WHERE t = 'quote''s' OR t = 'quote\'s';
SELECT 'multi\'line'
  'continued\n' AS c;
SELECT $$dollar\'s$$ AS d, E'e\\x' AS e;
-- error
SELECT U&'d\0061t\+000061' AS u;
UPDATE nss SET t = t || '\!' WHERE id = 1 RETURNING t;
DELETE FROM nss WHERE t = 'tab\there' RETURNING id;
CREATE FUNCTION nss_f(x text) RETURNS text LANGUAGE sql AS 'SELECT x || ''\\end''';
SELECT nss_f(t) FROM nss WHERE id = 2;
SELECT id, nss_f(t) FROM nss WHERE id IN (20, 21) ORDER BY id;
PREPARE nss_p(text) AS SELECT id FROM nss WHERE t = $1 OR t = 'quote\'s';
EXECUTE nss_p('v3');
CREATE TABLE nss2 AS SELECT id, t || '\\' AS t FROM nss WHERE id > 20;
SELECT * FROM nss2 ORDER BY id;
RESET standard_conforming_strings;
SELECT id, t FROM nss WHERE id >= 20 ORDER BY id;
SELECT 'a\b' AS plain_on;
DROP FUNCTION nss_f(text);
DROP TABLE nss, nss2;
