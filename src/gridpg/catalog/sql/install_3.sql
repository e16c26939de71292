-- gridpg catalog schema, version 3: full install.
--
-- Must equal install_2.sql followed by upgrade_2_3.sql (an integration test checks).
--
-- Run inside one transaction by gridpg.catalog.store.ensure_schema, which records the
-- version in gridpg.catalog_version afterwards (scripts never write their own version).
-- Tables are keyed by names, not oids: every catalog server has its own oids.
--
-- Where the Postgres-XL views live: the definitions are in schema gridpg
-- (gridpg.pgxc_node, gridpg.pgxc_class, gridpg.pgxc_group), and same-named aliases are
-- created in pg_catalog, as XL has them. pg_catalog is searched first whatever the
-- search_path, so an XL user's `select * from pgxc_node` works unchanged, and nothing is
-- added to `public` (where it would clash with user tables and be dumped by pg_dump).
-- Creating in pg_catalog needs a superuser and allow_system_table_mods, set for this
-- transaction only; the coordinator owns its catalog server as superuser.

CREATE SCHEMA gridpg;

CREATE TABLE gridpg.catalog_version (
    version int NOT NULL CHECK (version >= 1)
);
CREATE UNIQUE INDEX catalog_version_one_row ON gridpg.catalog_version ((true));

-- A datanode group: one primary and its standbys (rows of gridpg.node); what XL calls a
-- datanode, and what shards are placed on.
CREATE TABLE gridpg.datanode_group (
    name text PRIMARY KEY
);

CREATE TABLE gridpg.node (
    name text PRIMARY KEY,
    kind text NOT NULL CHECK (kind IN ('datanode', 'coordinator', 'catalog')),
    host text NOT NULL,
    port int NOT NULL CHECK (port BETWEEN 1 AND 65535),
    datanode_group text REFERENCES gridpg.datanode_group (name) ON UPDATE CASCADE,
    role text NOT NULL DEFAULT 'primary' CHECK (role IN ('primary', 'secondary')),
    active boolean NOT NULL DEFAULT true,
    CONSTRAINT node_group_iff_datanode CHECK ((kind = 'datanode') = (datanode_group IS NOT NULL))
);
CREATE UNIQUE INDEX node_one_primary_per_group
    ON gridpg.node (datanode_group) WHERE role = 'primary';

-- XL user node groups (CREATE NODE GROUP g WITH (dn1, dn2); ... TO GROUP g): an ordered
-- list of datanode group names.
CREATE TABLE gridpg.node_group (
    name text PRIMARY KEY,
    datanode_groups text[] NOT NULL CHECK (cardinality(datanode_groups) >= 1)
);

CREATE TABLE gridpg.colocation (
    id int PRIMARY KEY CHECK (id >= 1),
    shard_count int NOT NULL CHECK (shard_count >= 1),
    dist_type text NOT NULL
);

CREATE TABLE gridpg.dist_table (
    schema_name text NOT NULL,
    table_name text NOT NULL,
    method text NOT NULL CHECK (method IN ('hash', 'modulo', 'roundrobin', 'replication')),
    dist_column text,
    column_type text,
    colocation_id int REFERENCES gridpg.colocation (id),
    shard_count int CHECK (shard_count >= 1),
    groups text[] NOT NULL,
    -- true when gridpg chose the distribution (no DISTRIBUTE BY, no create_distributed_table):
    -- such a table may be made a REPLICATION table when a later key or foreign key needs it
    by_default boolean NOT NULL DEFAULT false,
    PRIMARY KEY (schema_name, table_name),
    CONSTRAINT dist_table_column_iff_keyed
        CHECK ((method IN ('hash', 'modulo')) = (dist_column IS NOT NULL)),
    CONSTRAINT dist_table_shards_iff_hash CHECK ((method = 'hash') = (shard_count IS NOT NULL))
);

-- Shard r of a hash table is the partition FOR VALUES WITH (MODULUS n, REMAINDER r).
CREATE TABLE gridpg.shard (
    schema_name text NOT NULL,
    table_name text NOT NULL,
    remainder int NOT NULL CHECK (remainder >= 0),
    datanode_group text NOT NULL REFERENCES gridpg.datanode_group (name) ON UPDATE CASCADE,
    PRIMARY KEY (schema_name, table_name, remainder),
    FOREIGN KEY (schema_name, table_name) REFERENCES gridpg.dist_table (schema_name, table_name)
        ON UPDATE CASCADE ON DELETE CASCADE,
    size_bytes bigint CHECK (size_bytes >= 0)  -- last measured size; NULL until measured
);
CREATE INDEX shard_by_group ON gridpg.shard (datanode_group);

-- XL view: one row per coordinator and per datanode group (XL's "datanode"), the latter
-- addressed by its current primary. node_id is XL's int4 hash of the node name.
-- nodeis_primary / nodeis_preferred (XL's replicated-table write/read preference) are
-- not used by gridpg and are always false.
CREATE VIEW gridpg.pgxc_node AS
    SELECT n.name AS node_name, 'C'::"char" AS node_type, n.port AS node_port,
           n.host AS node_host, false AS nodeis_primary, false AS nodeis_preferred,
           hashtext(n.name) AS node_id
      FROM gridpg.node n
     WHERE n.kind = 'coordinator'
    UNION ALL
    SELECT g.name, 'D'::"char", p.port, p.host, false, false, hashtext(g.name)
      FROM gridpg.datanode_group g
      LEFT JOIN gridpg.node p ON p.datanode_group = g.name AND p.role = 'primary';

-- XL view: one row per distributed table that exists on this server. pclocatortype is
-- XL's letter (H hash, M modulo, N roundrobin, R replication); pchashbuckets is the
-- shard count; nodeoids holds the pgxc_node.node_id of each datanode group, in order.
CREATE VIEW gridpg.pgxc_class AS
    SELECT c.oid::regclass AS pcrelid,
           (CASE t.method WHEN 'hash' THEN 'H' WHEN 'modulo' THEN 'M'
                          WHEN 'roundrobin' THEN 'N' ELSE 'R' END)::"char" AS pclocatortype,
           coalesce(a.attnum, 0)::int2 AS pcattnum,
           (CASE WHEN t.method = 'hash' THEN 1 ELSE 0 END)::int2 AS pchashalgorithm,
           coalesce(t.shard_count, 0)::int2 AS pchashbuckets,
           ARRAY(SELECT hashtext(g) FROM unnest(t.groups) WITH ORDINALITY AS u(g, i)
                  ORDER BY i) AS nodeoids
      FROM gridpg.dist_table t
      JOIN pg_catalog.pg_namespace s ON s.nspname = t.schema_name
      JOIN pg_catalog.pg_class c ON c.relnamespace = s.oid AND c.relname = t.table_name
      LEFT JOIN pg_catalog.pg_attribute a
             ON a.attrelid = c.oid AND a.attname = t.dist_column AND NOT a.attisdropped;

-- XL view: one row per user node group; group_members are pgxc_node.node_id values.
CREATE VIEW gridpg.pgxc_group AS
    SELECT ng.name AS group_name,
           ARRAY(SELECT hashtext(g) FROM unnest(ng.datanode_groups) WITH ORDINALITY AS u(g, i)
                  ORDER BY i) AS group_members
      FROM gridpg.node_group ng;

SET LOCAL allow_system_table_mods = on;
CREATE VIEW pg_catalog.pgxc_node AS SELECT * FROM gridpg.pgxc_node;
CREATE VIEW pg_catalog.pgxc_class AS SELECT * FROM gridpg.pgxc_class;
CREATE VIEW pg_catalog.pgxc_group AS SELECT * FROM gridpg.pgxc_group;
RESET allow_system_table_mods;
