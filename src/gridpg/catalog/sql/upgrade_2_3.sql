-- gridpg catalog schema: upgrade from version 2 to version 3.
--
-- Adds gridpg.dist_table.by_default: true when gridpg chose the table's distribution by
-- its default rules (no DISTRIBUTE BY, no create_distributed_table). Such a table may be
-- made a REPLICATION table when a unique key or foreign key added later could not hold
-- under its distribution (what ORMs' migrations do). install_3.sql must produce exactly
-- install_2 + this script.

ALTER TABLE gridpg.dist_table ADD COLUMN by_default boolean NOT NULL DEFAULT false;
