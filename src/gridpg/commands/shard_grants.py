"""GRANT, REVOKE and ALTER TABLE ... OWNER on a HASH table reach its shards too (as Citus
does for its shards).

PostgreSQL checks privileges on the relation a statement names, and GRANT/REVOKE or a
change of owner on a partitioned table do not recurse to its partitions. A routed
statement that names a shard instead of its table (issue 11, executor/shard_route.py) is
only taken while each shard has its table's owner and ACL; so such a statement on tables
is run on the datanodes as written and then, in the same transaction and as the same role
(the same grantor), on each shard of every table it names. The shards are found on the
datanode itself (the children of the named relation in `gridpg_shards`), so a table the
user partitions, whose shards are below its leaves, and a plain table, are left as they
were. GRANT ... ON ALL TABLES IN SCHEMA is not mirrored: the tables it changes lose the
shard route until a GRANT or REVOKE naming them makes their shards equal again.

Pure text building; `commands/ddl.py` runs it.
"""

from __future__ import annotations

from pglast import ast
from pglast.enums import AlterTableType, GrantTargetType, ObjectType
from pglast.stream import RawStream

from gridpg.sql.parse import parse_sql
from gridpg.sql.quote import quote_literal

_PLACEHOLDER = "gridpg_shard_placeholder"
_SHARDS_OF = (
    "SELECT i.inhrelid::pg_catalog.regclass::text FROM pg_catalog.pg_inherits i "
    "JOIN pg_catalog.pg_class c ON c.oid = i.inhrelid "
    "WHERE i.inhparent = pg_catalog.to_regclass({parent}) "
    "AND c.relnamespace = 'gridpg_shards'::pg_catalog.regnamespace")


def with_shards(sql: str) -> str | None:
    """The datanodes' text of a GRANT/REVOKE on tables or an ALTER TABLE ... OWNER TO: the
    statement, then the same on each shard of each named table; None when it is neither."""
    statements = parse_sql(sql)
    if len(statements) != 1:
        return None
    stmt = statements[0].stmt
    placeholder = ast.RangeVar(relname=_PLACEHOLDER, inh=True, relpersistence="p")
    if isinstance(stmt, ast.GrantStmt) and stmt.targtype == GrantTargetType.ACL_TARGET_OBJECT \
            and stmt.objtype == ObjectType.OBJECT_TABLE and stmt.objects:
        objects = stmt.objects
        stmt.objects = (placeholder,)
    elif isinstance(stmt, ast.AlterTableStmt) and stmt.objtype == ObjectType.OBJECT_TABLE and stmt.cmds \
            and all(cmd.subtype == AlterTableType.AT_ChangeOwner for cmd in stmt.cmds):
        objects = (stmt.relation,)
        stmt.relation = placeholder
        stmt.missing_ok = False  # (the table exists where its shards do)
    else:
        return None
    template = RawStream()(stmt).replace("%", "%%").replace(_PLACEHOLDER, "%s")
    loops = []
    for index, relation in enumerate(objects):
        parent = quote_literal(RawStream()(relation))
        loops.append(
            f"FOR s{index} IN {_SHARDS_OF.format(parent=parent)} LOOP "
            f"EXECUTE pg_catalog.format({quote_literal(template)}, s{index}); END LOOP;")
    declare = " ".join(f"s{index} text;" for index in range(len(objects)))
    body = f"DECLARE {declare} BEGIN {' '.join(loops)} END"
    tag = "$gridpg_grant$"
    while tag in body:  # (a role or table name that holds the dollar quote's tag)
        tag = tag[:-1] + "_$"
    return f"{sql}\n;\nDO {tag} {body} {tag}"
