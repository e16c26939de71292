-- gridpg catalog schema: upgrade from version 1 to version 2.
--
-- Adds gridpg.shard.size_bytes: the last measured size of a shard, for the rebalancer
-- (NULL until measured). install_2.sql must produce exactly install_1 + this script.

ALTER TABLE gridpg.shard ADD COLUMN size_bytes bigint CHECK (size_bytes >= 0);
