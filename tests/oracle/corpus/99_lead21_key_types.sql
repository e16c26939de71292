/*
Tables distributed by uuid, date, numeric, timestamptz and varchar keys. MERGE ... WHEN NOT
MATCHED THEN INSERT into them was refused (0A000: its staging hash was computed in SQL for
int and text keys only), and INSERT ... SELECT or joins between two such tables on their
keys could not be split on the datanodes. PostgreSQL's own extended hash functions of those
types now place the rows as the datanodes' partitions do.
*/
CREATE TABLE kt_users (id uuid PRIMARY KEY, name text, visits int) DISTRIBUTE BY HASH (id);
CREATE TABLE kt_incoming (uid uuid, name text, visits int) DISTRIBUTE BY HASH (name);
INSERT INTO kt_incoming SELECT md5('user' || g)::uuid, 'user ' || g, g FROM generate_series(1, 40) g;
INSERT INTO kt_users SELECT uid, name, 0 FROM kt_incoming WHERE visits % 2 = 0;
MERGE INTO kt_users u USING kt_incoming i ON u.id = i.uid WHEN MATCHED THEN UPDATE SET visits = u.visits + i.visits WHEN NOT MATCHED THEN INSERT VALUES (i.uid, i.name, -i.visits);
SELECT count(*), sum(visits), sum(visits) FILTER (WHERE visits < 0) FROM kt_users;
SELECT u.name, i.visits FROM kt_users u JOIN kt_incoming i ON i.uid = u.id WHERE i.visits > 35 ORDER BY 1;
CREATE TABLE kt_days (day date PRIMARY KEY, total numeric(12, 2)) DISTRIBUTE BY HASH (day);
MERGE INTO kt_days d USING (SELECT date '2024-02-25' + g AS day, g * 1.255 AS amount FROM generate_series(0, 9) g) s ON d.day = s.day WHEN MATCHED THEN UPDATE SET total = d.total + s.amount WHEN NOT MATCHED THEN INSERT VALUES (s.day, s.amount);
MERGE INTO kt_days d USING (SELECT date '2024-03-01' + g AS day, 1 AS amount FROM generate_series(0, 9) g) s ON d.day = s.day WHEN MATCHED THEN UPDATE SET total = d.total + s.amount WHEN NOT MATCHED THEN INSERT VALUES (s.day, s.amount);
SELECT * FROM kt_days ORDER BY day;
CREATE TABLE kt_prices (price numeric(10, 2) PRIMARY KEY, label text) DISTRIBUTE BY HASH (price);
MERGE INTO kt_prices p USING (SELECT g / 8.0 AS price, 'p' || g AS label FROM generate_series(1, 30) g) s ON p.price = s.price WHEN NOT MATCHED THEN INSERT VALUES (s.price, s.label);
SELECT count(*), sum(price), min(label), max(label) FROM kt_prices;
CREATE TABLE kt_events (at timestamptz PRIMARY KEY, note varchar(20)) DISTRIBUTE BY HASH (at);
INSERT INTO kt_events SELECT timestamptz '2024-01-01 00:00:00+00' + g * interval '37 minutes', 'e' || g FROM generate_series(1, 25) g;
CREATE TABLE kt_events_copy (at timestamptz, note varchar(20)) DISTRIBUTE BY HASH (at);
INSERT INTO kt_events_copy SELECT at, upper(note) FROM kt_events WHERE note > 'e1';
SELECT count(*), min(at), max(note) FROM kt_events_copy;
SELECT count(*) FROM kt_events e JOIN kt_events_copy c ON c.at = e.at AND c.note = upper(e.note);
CREATE TABLE kt_tags (tag varchar(10) PRIMARY KEY, n int) DISTRIBUTE BY HASH (tag);
MERGE INTO kt_tags t USING (VALUES ('red', 1), ('green', 2), ('blue', 3)) AS s(tag, n) ON t.tag = s.tag WHEN NOT MATCHED THEN INSERT VALUES (s.tag, s.n);
MERGE INTO kt_tags t USING (VALUES ('red', 10), ('cyan', 4)) AS s(tag, n) ON t.tag = s.tag WHEN MATCHED THEN UPDATE SET n = t.n + s.n WHEN NOT MATCHED THEN INSERT VALUES (s.tag, s.n);
SELECT * FROM kt_tags ORDER BY tag;
-- error
MERGE INTO kt_tags t USING (VALUES ('a-much-too-long-tag', 1)) AS s(tag, n) ON t.tag = s.tag WHEN NOT MATCHED THEN INSERT VALUES (s.tag, s.n);
SELECT count(*) FROM kt_tags;
DROP TABLE kt_users, kt_incoming, kt_days, kt_prices, kt_events, kt_events_copy, kt_tags;
