/*
Rules of views over distributed tables, the rules chapter of PostgreSQL's manual (the
shoelace views): DO INSTEAD rules make a join view writable, a log rule of the table below
fires for the rows the view's UPDATE rule changes, and an INSERT into a table whose
INSTEAD rule updates the view chains both. Writes through such views were refused
(0A000); the coordinator applies the rules (planner/rules.py). The view's UPDATE rule
copies every column back, its key included: `SET sl_name = NEW.sl_name ... WHERE sl_name
= OLD.sl_name` leaves the distribution column as it is, so that assignment is dropped
instead of moving rows (which a FROM over other tables would refuse).
*/
CREATE TABLE shoe_data (shoename char(10), sh_avail integer, slcolor char(10), slminlen real, slmaxlen real, slunit char(8));
CREATE TABLE shoelace_data (sl_name char(10), sl_avail integer, sl_color char(10), sl_len real, sl_unit char(8));
CREATE TABLE unit (un_name char(8), un_fact real);
CREATE VIEW shoelace AS SELECT s.sl_name, s.sl_avail, s.sl_color, s.sl_len, s.sl_unit, s.sl_len * u.un_fact AS sl_len_cm FROM shoelace_data s, unit u WHERE s.sl_unit = u.un_name;
INSERT INTO unit VALUES ('cm', 1.0), ('m', 100.0), ('inch', 2.54);
INSERT INTO shoelace_data VALUES ('sl1', 5, 'black', 80.0, 'cm'), ('sl2', 6, 'black', 100.0, 'cm'), ('sl3', 0, 'black', 35.0 , 'inch'), ('sl4', 8, 'black', 40.0 , 'inch');
CREATE RULE shoelace_ins AS ON INSERT TO shoelace DO INSTEAD INSERT INTO shoelace_data VALUES (NEW.sl_name, NEW.sl_avail, NEW.sl_color, NEW.sl_len, NEW.sl_unit);
CREATE RULE shoelace_upd AS ON UPDATE TO shoelace DO INSTEAD UPDATE shoelace_data SET sl_name = NEW.sl_name, sl_avail = NEW.sl_avail, sl_color = NEW.sl_color, sl_len = NEW.sl_len, sl_unit = NEW.sl_unit WHERE sl_name = OLD.sl_name;
CREATE RULE shoelace_del AS ON DELETE TO shoelace DO INSTEAD DELETE FROM shoelace_data WHERE sl_name = OLD.sl_name;
CREATE TABLE shoelace_log (sl_name char(10), sl_avail integer, log_who text, log_when timestamp);
CREATE RULE log_shoelace AS ON UPDATE TO shoelace_data WHERE NEW.sl_avail <> OLD.sl_avail DO INSERT INTO shoelace_log VALUES (NEW.sl_name, NEW.sl_avail, 'Al Bundy', 'epoch');
INSERT INTO shoelace VALUES ('sl9', 0, 'pink', 35.0, 'inch', 0.0);
UPDATE shoelace SET sl_avail = 6 WHERE sl_name = 'sl7';
UPDATE shoelace SET sl_avail = 7 WHERE sl_name = 'sl1';
SELECT * FROM shoelace ORDER BY sl_name;
SELECT * FROM shoelace_log ORDER BY sl_name;
DELETE FROM shoelace WHERE sl_avail = 0;
SELECT sl_name FROM shoelace_data ORDER BY sl_name;
CREATE TABLE shoelace_arrive (arr_name char(10), arr_quant integer);
CREATE TABLE shoelace_ok (ok_name char(10), ok_quant integer);
CREATE RULE shoelace_ok_ins AS ON INSERT TO shoelace_ok DO INSTEAD UPDATE shoelace SET sl_avail = sl_avail + NEW.ok_quant WHERE sl_name = NEW.ok_name;
INSERT INTO shoelace_arrive VALUES ('sl3', 10), ('sl6', 20), ('sl8', 20), ('sl4', 1);
INSERT INTO shoelace_ok SELECT * FROM shoelace_arrive;
SELECT * FROM shoelace ORDER BY sl_name;
SELECT * FROM shoelace_log ORDER BY sl_name, sl_avail;
