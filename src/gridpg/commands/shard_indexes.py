"""The names of a HASH table's indexes on its shards, and how errors read them back.

On a datanode a HASH table is a partitioned table whose partitions are the shards
(`gridpg_shards."s.t_7"`). PostgreSQL names a partition's copy of an index after the
partition and the columns (`s.t_7_email_key`, `s.t_7_id_idx`), whatever the user called
the index, and a unique violation on a shard names that copy. Read back by replacing the
shard with its table, it gave `t_email_key` where PostgreSQL names the user's constraint
(`CONSTRAINT users_email_uq UNIQUE (email)`, `CREATE UNIQUE INDEX index_users_on_email`,
the names ORMs give): applications that tell unique violations apart by
`diag.constraint_name` saw a name that does not exist.

So after every statement that may add or rename a shard's index (CREATE TABLE, ALTER
TABLE, CREATE INDEX, RENAME, a shard attached by a move) the datanode renames each shard
index to `<shard>:<parent index>` (`s.t_7:users_email_uq`), or, where that is over 63
bytes, `<the first 10 hex digits of md5(shard)>:<parent index>`; `errors._unshard` reads
either back as the parent's name (`shard_index_prefixes`). A parent's name too long even
for that keeps PostgreSQL's choice. Renames go through temporary names first, so two
indexes that swap names never collide.
"""

from __future__ import annotations

from collections.abc import Iterable

from gridpg.sql.quote import quote_literal, quote_qualified

# Statements after which a datanode's shard indexes may need their names (a new index or
# constraint, a renamed index, table or schema).
RENAMING = frozenset({"AlterTableStmt", "IndexStmt", "RenameStmt", "AlterObjectSchemaStmt"})

# Every index of a shard whose parent index is known, with the name it should have. The
# filter on the parent's table (the user's table or, under a partitioned user table, its
# partition) is spliced in where `{tables}` stands.
_WANTED = """
SELECT oid, relname, wanted FROM (
  SELECT ci.oid, ci.relname,
         CASE WHEN pg_catalog.octet_length(ct.relname || ':' || pi.relname) <= 63
              THEN ct.relname || ':' || pi.relname
              ELSE pg_catalog.left(pg_catalog.md5(ct.relname), 10) || ':' || pi.relname END AS wanted
    FROM pg_catalog.pg_index x
    JOIN pg_catalog.pg_class ci ON ci.oid = x.indexrelid
    JOIN pg_catalog.pg_class ct ON ct.oid = x.indrelid
    JOIN pg_catalog.pg_inherits h ON h.inhrelid = x.indexrelid
    JOIN pg_catalog.pg_class pi ON pi.oid = h.inhparent
    JOIN pg_catalog.pg_index px ON px.indexrelid = pi.oid
   WHERE ci.relnamespace = 'gridpg_shards'::pg_catalog.regnamespace{tables}) named
 WHERE pg_catalog.octet_length(wanted) <= 63 AND relname <> wanted"""


def rename_sql(tables: Iterable[tuple[str, str]] | None = None) -> str:
    """A statement for a datanode: its shard indexes named `<shard>:<parent index>`, for
    the shards of `tables` ((schema, name) of the user's tables) or of every table.
    Nothing happens where every name is right already."""
    where = ""
    if tables is not None:
        names = [quote_literal(quote_qualified(schema, name)) for schema, name in tables]
        if not names:
            return ""
        where = ("\n     AND px.indrelid IN (SELECT c FROM pg_catalog.unnest(ARRAY["
                 + ", ".join(f"pg_catalog.to_regclass({n})" for n in names)
                 + "]::pg_catalog.regclass[]) AS c WHERE c IS NOT NULL"
                 + " UNION SELECT i.inhrelid FROM pg_catalog.pg_inherits i"
                 + " WHERE i.inhparent IN (" + ", ".join(f"pg_catalog.to_regclass({n})" for n in names) + "))")
    wanted = _WANTED.format(tables=where)
    return (
        "DO $gridpg_shard_indexes$\n"
        "DECLARE r record; pending oid[] := '{}'; final text[] := '{}';\n"
        "BEGIN\n"
        f"  FOR r IN {wanted}\n"
        "  LOOP\n"
        "    EXECUTE pg_catalog.format('ALTER INDEX gridpg_shards.%I RENAME TO %I', r.relname, 'gridpg_rename_' || r.oid);\n"
        "    pending := pending || r.oid; final := final || r.wanted;\n"
        "  END LOOP;\n"
        "  FOR i IN 1 .. coalesce(pg_catalog.array_length(pending, 1), 0) LOOP\n"
        "    EXECUTE pg_catalog.format('ALTER INDEX gridpg_shards.%I RENAME TO %I', 'gridpg_rename_' || pending[i], final[i]);\n"
        "  END LOOP;\n"
        "END $gridpg_shard_indexes$"
    )

