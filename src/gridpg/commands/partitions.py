"""Partitioned and inherited distributed tables: the distribution a child takes from its
parents, the rules its keys must keep, and the datanode layout of inheritance trees.

Layout (docs/architecture.md, "Partitioned and inherited tables"):

- A table created `PARTITION OF` or `INHERITS` a distributed table takes its parent's
  distribution (method, column, colocation, groups): it is colocated with it.
- Declarative partitioning: on every datanode the user's partition tree exists as written
  (same names, same bounds); each *leaf* of a HASH tree is itself `PARTITION BY HASH
  (column)` with the node's shards below it. So the datanode prunes the user's level and
  the shard level with PostgreSQL's own planner, and a row routed to the wrong node still
  finds no partition.
- Inheritance: PostgreSQL refuses inheritance from a partitioned table, so the members of
  an inheritance tree over a HASH table are plain tables on the datanodes (each holding the
  node's rows of every shard), with a placement CHECK where the type allows it. A parent
  created as an ordinary HASH table is converted on the datanodes when its first child
  appears (`conversion_sql`: rows, constraints, indexes, triggers, grants and owned
  sequences carried over, and the plain views over it made again; refused when other
  views, rules or foreign keys on the datanode depend on it).

`align_for_attach` makes the table of an ATTACH PARTITION take its new parent's distribution
(moving its rows) before the ALTER TABLE runs everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from gridpg.catalog.model import CatalogSnapshot, DistTable
from gridpg.errors import FEATURE_NOT_SUPPORTED, PgError
from gridpg.sql.quote import quote_ident, quote_literal, quote_qualified
from gridpg.sql.xl import DistributionSpec

if TYPE_CHECKING:
    from gridpg.commands.ddl import DdlRunner
    from gridpg.datanode.connection import BackendConnection


@dataclass(frozen=True)
class Parent:
    """A parent of a new table, as the catalog server resolved it."""

    schema: str
    name: str
    is_partition: bool  # PARTITION OF (declarative) rather than INHERITS


async def parents_of(conn: BackendConnection, schema: str, name: str) -> list[Parent]:
    """The parents of `schema.name` in INHERITS order (one for a partition)."""
    regclass = f"pg_catalog.to_regclass({quote_literal(quote_qualified(schema, name))})"
    rows = await conn.query(
        "SELECT n.nspname, p.relname, c.relispartition FROM pg_catalog.pg_inherits i "
        "JOIN pg_catalog.pg_class p ON p.oid = i.inhparent JOIN pg_catalog.pg_namespace n "
        "ON n.oid = p.relnamespace JOIN pg_catalog.pg_class c ON c.oid = i.inhrelid "
        f"WHERE i.inhrelid = {regclass} ORDER BY i.inhseqno"
    )
    return [Parent(r[0] or "", r[1] or "", r[2] == "t") for r in rows]


def inherited_table(snapshot: CatalogSnapshot, schema: str, name: str, parents: list[Parent],
                    spec: DistributionSpec | None) -> DistTable:
    """The distribution of a partition or inheritance child: its parents' (all alike)."""
    dists = []
    for parent in parents:
        table = snapshot.table(parent.schema, parent.name)
        if table is None:
            raise PgError(FEATURE_NOT_SUPPORTED, f'cannot inherit from "{parent.name}": it is not a '
                          "distributed table")
        dists.append(table)
    first = dists[0]
    for other in dists[1:]:
        if not same_distribution(first, other):
            raise PgError(FEATURE_NOT_SUPPORTED, f'cannot inherit from "{first.name}" and "{other.name}": '
                          "they are not distributed alike (method, column and colocation)")
    if spec is not None and spec.method and (
            spec.method != first.method or (spec.column is not None and spec.column != first.column)):
        word = "partition" if parents[0].is_partition else "child"
        raise PgError(FEATURE_NOT_SUPPORTED, f'a {word} of "{first.name}" takes its distribution '
                      f"({_describe(first)}); DISTRIBUTE BY cannot change it")
    return DistTable(schema, name, first.method, first.column, first.column_type,
                     first.colocation_id, first.shard_count, first.groups)


async def align_parents(ddl: DdlRunner, schema: str, name: str, parents: list[Parent]) -> None:
    """Parents of a new inheritance child that are not distributed alike, where gridpg chose
    their distribution (no DISTRIBUTE BY, no create_distributed_table) and they belong to
    no other inheritance tree, are made alike before the child takes their distribution
    (PostgreSQL takes `INHERITS (p1, p2)` of any tables; the child must be placed as each
    parent is, or a read of that parent on its nodes would miss the child's rows): all
    distributed like the first parent whose distribution column each of them has (same
    type), else all REPLICATION. Rows move in the statement's transaction. Parents the user
    distributed are left as they are (then `inherited_table` refuses, 0A000)."""
    from gridpg.commands.default_placement import replicated

    snapshot = ddl.snapshot
    tables = [snapshot.table(p.schema, p.name) for p in parents]
    if len(parents) < 2 or any(p.is_partition for p in parents):
        return
    known = [t for t in tables if t is not None]
    if len(known) < len(tables) or all(same_distribution(known[0], t) for t in known[1:]):
        return
    conn = await ddl.conn(ddl.coord.catalog_node)
    child = quote_literal(quote_qualified(schema, name))
    movable = {t.key: t.by_default and await _standalone(conn, t, child) for t in known}
    targets = [*known, replicated(known[0])]
    for target in targets:
        unlike = [t for t in known if not same_distribution(target, t)]
        if not all(movable[t.key] for t in unlike):
            continue
        if target.column is not None and not all([
                await _has_column(conn, t, target.column, target.column_type or "") for t in unlike]):
            continue
        for table in unlike:
            await _redistribute_like(ddl, quote_qualified(table.schema, table.name), target)
        await ddl.runner.load_private_snapshot()
        return


async def _may_follow(conn: BackendConnection, table: DistTable, parent: DistTable) -> bool:
    """Whether `table` may be distributed like its new parent by gridpg: gridpg chose its
    placement, it is in no inheritance tree yet, and it has the parent's distribution
    column (INHERIT checks the type; ATTACH moves rows alike)."""
    return table.by_default and await _standalone(conn, table, None) and (
        parent.column is None or await _has_column(conn, table, parent.column, parent.column_type or ""))


async def _standalone(conn: BackendConnection, table: DistTable, child: str | None) -> bool:
    """Whether `table` has no inheritance parent and no child (but `child`, a quoted
    literal naming the new one)."""
    other = f"AND i.inhrelid <> pg_catalog.to_regclass({child})" if child else ""
    rows = await conn.query(
        "SELECT NOT EXISTS (SELECT 1 FROM pg_catalog.pg_inherits i WHERE i.inhrelid = t.oid OR (i.inhparent = t.oid "
        f"{other})) FROM (SELECT pg_catalog.to_regclass("
        f"{quote_literal(quote_qualified(table.schema, table.name))})::pg_catalog.oid AS oid) t")
    return bool(rows) and rows[0][0] == "t"


async def _has_column(conn: BackendConnection, table: DistTable, column: str, type_name: str) -> bool:
    rows = await conn.query(
        "SELECT pg_catalog.format_type(a.atttypid, a.atttypmod) FROM pg_catalog.pg_attribute a WHERE a.attrelid = "
        f"pg_catalog.to_regclass({quote_literal(quote_qualified(table.schema, table.name))}) "
        f"AND a.attname = {quote_literal(column)} AND NOT a.attisdropped")
    from gridpg.planner.hashing import canonical_type_name

    return bool(rows) and canonical_type_name(rows[0][0] or "") == canonical_type_name(type_name)


async def inheritance_relatives(conn: BackendConnection, qualified: str, upward: bool) -> list[tuple[str, str]]:
    """The table `qualified` names (as the statement wrote it) with its inheritance
    ancestors (`upward`) or descendants, partitions included, as (schema, name), at most
    100 levels deep."""
    step = ("SELECT i.inhparent, t.depth + 1 FROM pg_catalog.pg_inherits i JOIN tree t ON i.inhrelid = t.oid"
            if upward else
            "SELECT i.inhrelid, t.depth + 1 FROM pg_catalog.pg_inherits i JOIN tree t ON i.inhparent = t.oid")
    rows = await conn.query(
        f"WITH RECURSIVE tree(oid, depth) AS (SELECT pg_catalog.to_regclass({quote_literal(qualified)})::pg_catalog.oid, "
        f"0 UNION {step} WHERE t.depth < 100) SELECT DISTINCT n.nspname, c.relname FROM tree "
        "JOIN pg_catalog.pg_class c ON c.oid = tree.oid JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace")
    return [(schema or "", name or "") for schema, name in rows]


def same_distribution(a: DistTable, b: DistTable) -> bool:
    """Whether rows of `a` and `b` with equal keys always live on the same group."""
    if a.method != b.method or a.column != b.column or set(a.groups) != set(b.groups):
        return False
    return a.method != "hash" or a.colocation_id == b.colocation_id


def ensure_keys_hold(table: DistTable, keys: list[list[str]]) -> None:
    """A unique key of a partitioned HASH/MODULO table must contain the distribution
    column: each datanode checks uniqueness alone (its leaves are hash-partitioned by that
    column, so PostgreSQL would only refuse when the first partition is created)."""
    if table.method not in ("hash", "modulo") or table.column is None:
        return
    for key in keys:
        if table.column not in key:
            raise PgError(FEATURE_NOT_SUPPORTED,
                          f'unique constraint on partitioned table "{table.name}" must include its '
                          f'distribution column "{table.column}"',
                          detail=f"The key ({', '.join(key)}) lacks it; each datanode checks "
                          "uniqueness of its own rows only.",
                          hint="add the distribution column to the key, or distribute by a column of the key")


async def ensure_plain_keys_hold(ddl: DdlRunner, table: DistTable) -> None:
    """A unique key or exclusion constraint added later (ALTER TABLE, CREATE UNIQUE INDEX) to
    a HASH table whose datanode copies are plain tables (a member of an inheritance tree):
    there no partitioned parent refuses a key without the distribution column, as it does
    for a table in the shard layout, and each node checked the key over its own rows only:
    equal keys on two nodes both went in, silently. Refused (0A000), as CREATE TABLE does."""
    conn = await ddl.conn(table.groups[0])
    rows = await conn.query("SELECT c.relkind FROM pg_catalog.pg_class c WHERE c.oid = pg_catalog.to_regclass("
                            f"{quote_literal(quote_qualified(table.schema, table.name))})")
    if rows and rows[0][0] == "r":
        from gridpg.commands.default_placement import unique_keys

        ensure_hash_keys_hold(table, await unique_keys(ddl, table.schema, table.name))


def ensure_hash_keys_hold(table: DistTable, keys: list[list[str] | None]) -> None:
    """Every unique key (None: on an expression, or an exclusion constraint comparing no
    column with `=`) of a HASH inheritance member holds its distribution column: the
    member is a plain table on each datanode, which checks the key over its own rows only
    (CREATE TABLE ... (UNIQUE (b)) INHERITS (p) of a parent distributed by another column
    took duplicates on two nodes, silently)."""
    for key in keys:
        if key is None or table.column not in key:
            shown = f"({', '.join(key)})" if key else "on an expression, or an exclusion constraint without ="
            raise PgError(FEATURE_NOT_SUPPORTED,
                          f'unique or exclusion key {shown} of "{table.name}" does not include the distribution '
                          f'column "{table.column}" of its inheritance tree',
                          detail="each datanode checks uniqueness over its own rows only",
                          hint="add the distribution column to the key, or create the tree's tables with "
                               "DISTRIBUTE BY REPLICATION")


def _describe(table: DistTable) -> str:
    if table.column:
        return f"{table.method.upper()} ({table.column})"
    return table.method.upper()


# Partition hashes of types the exchanges do not split by, for the placement CHECK only:
# without one a bytea member took a row written in place on the wrong node (an UPDATE of
# the distribution column through a view), and point reads missed it, silently.
_PLACEMENT_ONLY_HASH = {"bytea": "hashbyteaextended"}


def placement_check_sql(table: DistTable, remainders: list[int]) -> str | None:
    """`ALTER TABLE ... ADD CONSTRAINT gridpg_placement CHECK (...)` keeping a plain-layout
    HASH table to the remainders of its node; None when the type's hash is not computed in
    SQL by gridpg (the coordinator's routing then stands alone)."""
    from gridpg.planner.broadcast import REPARTITION_TYPE_OIDS, remainder_sql
    from gridpg.planner.hashing import canonical_type_name
    from gridpg.sql.quote import quote_ident

    ctype = canonical_type_name(table.column_type or "")
    oid = REPARTITION_TYPE_OIDS.get(ctype)
    function = _PLACEMENT_ONLY_HASH.get(ctype)
    if (oid is None and function is None) or table.column is None or table.shard_count is None or not remainders:
        return None
    expr = remainder_sql(quote_ident(table.column), oid or 0, table.shard_count, function)
    values = ", ".join(str(r) for r in sorted(remainders))
    return (f"ALTER TABLE {quote_qualified(table.schema, table.name)} ADD CONSTRAINT gridpg_placement "
            f"CHECK ({expr} IN ({values}))")


def conversion_sql(table: DistTable, check: str | None, after: list[str] | None = None) -> str:
    """A DO block that turns the datanode's hash-partitioned copy of `table` into a plain
    table holding the same rows (the parent of an inheritance tree), then runs `after`; a
    no-op when it is plain already."""
    qualified = quote_literal(quote_qualified(table.schema, table.name))
    schema, name = quote_literal(table.schema), quote_literal(table.name)
    check_text = quote_literal(check) if check else "NULL"
    after_text = "ARRAY[" + ", ".join(quote_literal(s) for s in after or ()) + "]::text[]"
    return _CONVERSION.replace("%QUALIFIED%", qualified).replace("%SCHEMA%", schema) \
        .replace("%NAME%", name).replace("%CHECK%", check_text).replace("%AFTER%", after_text)


# The conversion, run on a datanode inside the DDL's transaction. Every identifier goes
# through format('%I') / regclass output; the values substituted above are literals.
_CONVERSION = """DO $gridpg_convert$
DECLARE
  t regclass := pg_catalog.to_regclass(%QUALIFIED%);
  tmp text := 'gp_inherit_' || pg_catalog.txid_current();
  cols text; stmts text[] := '{}'; owned text[] := '{}'; s text; r record; chk text := %CHECK%;
  views text[] := '{}'; view_oids oid[];
BEGIN
  IF (SELECT relkind FROM pg_catalog.pg_class WHERE oid = t) <> 'p' THEN
    RETURN;
  END IF;
  -- the views over the table, and over those views, deepest last: made again after the
  -- conversion (plain views only: definition, options, owner, grants)
  WITH RECURSIVE dep(oid, depth) AS (
    SELECT DISTINCT w.ev_class, 1 FROM pg_catalog.pg_depend d JOIN pg_catalog.pg_rewrite w
      ON d.classid = 'pg_catalog.pg_rewrite'::regclass AND d.objid = w.oid
      WHERE d.refobjid = t AND w.ev_class <> t
    UNION
    SELECT w.ev_class, dep.depth + 1 FROM dep JOIN pg_catalog.pg_depend d ON d.refobjid = dep.oid
      JOIN pg_catalog.pg_rewrite w ON d.classid = 'pg_catalog.pg_rewrite'::regclass AND d.objid = w.oid
      WHERE w.ev_class <> dep.oid AND dep.depth < 100)
  SELECT pg_catalog.array_agg(oid ORDER BY depth, oid) INTO view_oids
    FROM (SELECT oid, max(depth) AS depth FROM dep GROUP BY oid) v;
  IF EXISTS (SELECT 1 FROM pg_catalog.pg_constraint WHERE confrelid = t AND conrelid <> t AND conparentid = 0)
     OR EXISTS (SELECT 1 FROM pg_catalog.unnest(view_oids) v(oid) JOIN pg_catalog.pg_class c ON c.oid = v.oid
                WHERE c.relkind <> 'v'
                   OR EXISTS (SELECT 1 FROM pg_catalog.pg_rewrite w WHERE w.ev_class = c.oid AND w.rulename <> '_RETURN')
                   OR EXISTS (SELECT 1 FROM pg_catalog.pg_trigger g WHERE g.tgrelid = c.oid)
                   OR EXISTS (SELECT 1 FROM pg_catalog.pg_attrdef a WHERE a.adrelid = c.oid)
                   OR EXISTS (SELECT 1 FROM pg_catalog.pg_attribute a WHERE a.attrelid = c.oid AND a.attacl IS NOT NULL)
                   OR EXISTS (SELECT 1 FROM pg_catalog.pg_policy p WHERE p.polrelid = c.oid)) THEN
    RAISE EXCEPTION USING ERRCODE = '0A000', MESSAGE = pg_catalog.format(
      'cannot make %s an inheritance parent: views, rules or foreign keys depend on it', t),
      HINT = 'drop them, create the child table, then create them again';
  END IF;
  FOR r IN SELECT c.oid, pg_catalog.format('%I.%I', n.nspname, c.relname) AS qn, c.reloptions,
                  pg_catalog.pg_get_userbyid(c.relowner) AS owner, c.relacl
           FROM pg_catalog.unnest(view_oids) WITH ORDINALITY v(oid, o) JOIN pg_catalog.pg_class c ON c.oid = v.oid
           JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace ORDER BY v.o LOOP
    views := views || pg_catalog.format('CREATE VIEW %s%s AS %s', r.qn,
      CASE WHEN r.reloptions IS NULL THEN '' ELSE ' WITH (' || pg_catalog.array_to_string(r.reloptions, ', ') || ')' END,
      pg_catalog.rtrim(pg_catalog.pg_get_viewdef(r.oid), ';'));
    views := views || pg_catalog.format('ALTER VIEW %s OWNER TO %I', r.qn, r.owner);
    FOR s IN SELECT pg_catalog.format('GRANT %s ON %s TO %s', a.privilege_type, r.qn,
               CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(a.grantee)) END)
             FROM pg_catalog.aclexplode(r.relacl) a WHERE a.grantee <> (SELECT relowner FROM pg_catalog.pg_class WHERE oid = r.oid) LOOP
      views := views || s;
    END LOOP;
  END LOOP;
  FOR r IN SELECT conname, pg_catalog.pg_get_constraintdef(oid) AS def FROM pg_catalog.pg_constraint
           WHERE conrelid = t AND contype IN ('p', 'u', 'c', 'x', 'f') AND conparentid = 0 ORDER BY oid LOOP
    stmts := stmts || pg_catalog.format('ALTER TABLE %s ADD CONSTRAINT %I %s', '%QN%', r.conname, r.def);
  END LOOP;
  FOR r IN SELECT pg_catalog.pg_get_indexdef(i.indexrelid) AS def FROM pg_catalog.pg_index i
           WHERE i.indrelid = t AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_constraint c
           WHERE c.conindid = i.indexrelid AND c.conrelid = t) LOOP
    stmts := stmts || pg_catalog.replace(r.def, ' ON ONLY ', ' ON ');
  END LOOP;
  FOR r IN SELECT pg_catalog.pg_get_triggerdef(oid) AS def FROM pg_catalog.pg_trigger
           WHERE tgrelid = t AND NOT tgisinternal AND tgparentid = 0 LOOP
    stmts := stmts || r.def;
  END LOOP;
  FOR r IN SELECT a.privilege_type, a.grantee FROM pg_catalog.pg_class c,
           LATERAL pg_catalog.aclexplode(c.relacl) a WHERE c.oid = t AND a.grantee <> c.relowner LOOP
    stmts := stmts || pg_catalog.format('GRANT %s ON %s TO %s', r.privilege_type, '%QN%',
      CASE WHEN r.grantee = 0 THEN 'PUBLIC' ELSE pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(r.grantee)) END);
  END LOOP;
  -- row security: the flags and the policies (a policy's role list: 0 is PUBLIC)
  FOR r IN SELECT pg_catalog.format('CREATE POLICY %I ON %s AS %s FOR %s TO %s%s%s', p.polname, '%QN%',
             CASE WHEN p.polpermissive THEN 'PERMISSIVE' ELSE 'RESTRICTIVE' END,
             CASE p.polcmd WHEN 'r' THEN 'SELECT' WHEN 'a' THEN 'INSERT' WHEN 'w' THEN 'UPDATE'
                           WHEN 'd' THEN 'DELETE' ELSE 'ALL' END,
             (SELECT pg_catalog.string_agg(CASE WHEN o = 0 THEN 'PUBLIC'
                     ELSE pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(o)) END, ', ')
                FROM pg_catalog.unnest(p.polroles) o),
             ' USING (' || pg_catalog.pg_get_expr(p.polqual, p.polrelid) || ')',
             ' WITH CHECK (' || pg_catalog.pg_get_expr(p.polwithcheck, p.polrelid) || ')') AS def
           FROM pg_catalog.pg_policy p WHERE p.polrelid = t ORDER BY p.oid LOOP
    stmts := stmts || r.def;
  END LOOP;
  IF (SELECT relrowsecurity FROM pg_catalog.pg_class WHERE oid = t) THEN
    stmts := stmts || 'ALTER TABLE %QN% ENABLE ROW LEVEL SECURITY'::text;
  END IF;
  IF (SELECT relforcerowsecurity FROM pg_catalog.pg_class WHERE oid = t) THEN
    stmts := stmts || 'ALTER TABLE %QN% FORCE ROW LEVEL SECURITY'::text;
  END IF;
  FOR r IN SELECT d.objid::regclass AS seq, a.attname FROM pg_catalog.pg_depend d
           JOIN pg_catalog.pg_class sc ON sc.oid = d.objid AND sc.relkind = 'S'
           JOIN pg_catalog.pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
           WHERE d.classid = 'pg_catalog.pg_class'::regclass AND d.refobjid = t AND d.deptype = 'a' LOOP
    EXECUTE pg_catalog.format('ALTER SEQUENCE %s OWNED BY NONE', r.seq);
    owned := owned || pg_catalog.format('ALTER SEQUENCE %s OWNED BY %s.%I', r.seq, '%QN%', r.attname);
  END LOOP;
  SELECT pg_catalog.string_agg(pg_catalog.quote_ident(attname), ', ' ORDER BY attnum) INTO cols
    FROM pg_catalog.pg_attribute WHERE attrelid = t AND attnum > 0 AND NOT attisdropped AND attgenerated = '';
  EXECUTE pg_catalog.format('CREATE TABLE gridpg_shards.%I (LIKE %s INCLUDING DEFAULTS INCLUDING '
    'GENERATED INCLUDING IDENTITY INCLUDING STORAGE INCLUDING COMPRESSION)', tmp, t);
  EXECUTE pg_catalog.format('ALTER TABLE gridpg_shards.%I OWNER TO %I', tmp,
    (SELECT pg_catalog.pg_get_userbyid(relowner) FROM pg_catalog.pg_class WHERE oid = t));
  -- LIKE makes a NOT VALID not-null constraint valid, which the rows it leaves NULL fail:
  -- the copy takes it NOT VALID again
  FOR r IN SELECT a.attname, c.conname, pg_catalog.pg_get_constraintdef(c.oid) AS def
           FROM pg_catalog.pg_constraint c JOIN pg_catalog.pg_attribute a
             ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
           WHERE c.conrelid = t AND c.contype = 'n' AND NOT c.convalidated LOOP
    EXECUTE pg_catalog.format('ALTER TABLE gridpg_shards.%I ALTER COLUMN %I DROP NOT NULL', tmp, r.attname);
    stmts := stmts || pg_catalog.format('ALTER TABLE %s ADD CONSTRAINT %I %s', '%QN%', r.conname, r.def);
  END LOOP;
  EXECUTE pg_catalog.format('INSERT INTO gridpg_shards.%I (%s) OVERRIDING SYSTEM VALUE SELECT %s FROM %s',
    tmp, cols, cols, t);
  FOR r IN SELECT v.oid::regclass AS v FROM pg_catalog.unnest(view_oids) WITH ORDINALITY v(oid, o) ORDER BY v.o DESC LOOP
    EXECUTE pg_catalog.format('DROP VIEW %s', r.v);
  END LOOP;
  EXECUTE pg_catalog.format('DROP TABLE %s', t);
  EXECUTE pg_catalog.format('ALTER TABLE gridpg_shards.%I SET SCHEMA %I', tmp, %SCHEMA%);
  EXECUTE pg_catalog.format('ALTER TABLE %I.%I RENAME TO %I', %SCHEMA%, tmp, %NAME%);
  FOREACH s IN ARRAY stmts || owned LOOP
    EXECUTE pg_catalog.replace(s, '%QN%', pg_catalog.format('%I.%I', %SCHEMA%, %NAME%));
  END LOOP;
  FOREACH s IN ARRAY views LOOP
    EXECUTE s;
  END LOOP;
  IF chk IS NOT NULL THEN
    EXECUTE chk;
  END IF;
  FOREACH s IN ARRAY %AFTER% LOOP
    EXECUTE s;
  END LOOP;
END
$gridpg_convert$"""


async def ensure_no_foreign_members(ddl: DdlRunner, tree: dict[str, Any]) -> None:
    """A foreign table made a partition (CREATE FOREIGN TABLE ... PARTITION OF, ATTACH
    PARTITION) or an inheritance child (INHERITS, INHERIT) of a distributed table: it would
    exist on every datanode of the table, each of which reads it as its own part, so every
    read of the parent returned its rows once per node (foreign_data.sql). Refused once the
    catalog servers ran the statement, so PostgreSQL's own errors (a missing column or
    constraint, a unique index) come first; the transaction takes it back."""
    kind = next(iter(tree), "")
    body = tree.get(kind) or {}
    if kind == "CreateForeignTableStmt":
        base = body.get("base") or {}
        members = [(base.get("relation") or {}, bool(base.get("partbound")))] if base.get("inhRelations") else []
    elif kind == "AlterTableStmt":
        members = []
        for item in body.get("cmds") or []:
            cmd = item.get("AlterTableCmd", {})
            if cmd.get("subtype") == "AT_AttachPartition":
                members.append((cmd["def"]["PartitionCmd"]["name"], True))
            elif cmd.get("subtype") == "AT_AddInherit":
                members.append((body["relation"], False))
    else:
        return
    if not members:
        return
    conn = await ddl.conn(ddl.coord.catalog_node)
    for rangevar, is_partition in members:
        qualified = quote_qualified(rangevar.get("schemaname"), rangevar["relname"])
        rows = await conn.query(
            "SELECT c.relname, pn.nspname, p.relname FROM pg_catalog.pg_inherits i "
            "JOIN pg_catalog.pg_class c ON c.oid = i.inhrelid JOIN pg_catalog.pg_class p ON p.oid = i.inhparent "
            "JOIN pg_catalog.pg_namespace pn ON pn.oid = p.relnamespace "
            f"WHERE i.inhrelid = pg_catalog.to_regclass({quote_literal(qualified)}) AND c.relkind = 'f'")
        for child, p_schema, p_name in rows:
            if ddl.snapshot.table(p_schema or "", p_name or "") is not None:
                word = "a partition" if is_partition else "an inheritance child"
                raise PgError(FEATURE_NOT_SUPPORTED,
                              f'foreign table "{child}" cannot be {word} of distributed table "{p_name}" in '
                              "gridpg: every datanode of the table would read the foreign rows as its own",
                              hint="read the foreign table beside the distributed one (UNION ALL), or copy "
                                   "its rows into a partition")


async def align_for_attach(ddl: DdlRunner, tree: dict[str, Any]) -> None:
    """ATTACH PARTITION of a table distributed otherwise than the parent: redistribute it
    like the parent first (its rows move), so the attached partition is colocated."""
    body = tree["AlterTableStmt"]
    for item in body.get("cmds") or []:
        cmd = item.get("AlterTableCmd", {})
        if cmd.get("subtype") != "AT_AttachPartition":
            continue
        conn = await ddl.conn(ddl.coord.catalog_node)
        parent = await _resolve(conn, body["relation"])
        child = await _resolve(conn, cmd["def"]["PartitionCmd"]["name"])
        if parent is None or child is None:
            return  # PostgreSQL reports the missing table when the statement runs
        await ddl.runner.load_private_snapshot()
        snapshot = ddl.snapshot
        target, current = snapshot.table(*parent[:2]), snapshot.table(*child[:2])
        if target is None or current is None or same_distribution(target, current):
            return
        if child[2] == "p":
            await _redistribute_tree(ddl, conn, child[0], child[1], target)
        else:
            await _redistribute_like(ddl, quote_qualified(child[0], child[1]), target)


async def prepare_inherit(ddl: DdlRunner, tree: dict[str, Any]) -> None:
    """ALTER TABLE child INHERIT parent: both must be distributed alike, and HASH ones
    become plain tables on the datanodes (as for CREATE TABLE ... INHERITS)."""
    body = tree["AlterTableStmt"]
    alone = all(item.get("AlterTableCmd", {}).get("subtype") == "AT_AddInherit" for item in body.get("cmds") or [])
    for item in body.get("cmds") or []:
        cmd = item.get("AlterTableCmd", {})
        if cmd.get("subtype") != "AT_AddInherit":
            continue
        conn = await ddl.conn(ddl.coord.catalog_node)
        child, parent = await _resolve(conn, body["relation"]), await _resolve(conn, cmd["def"])
        if child is None or parent is None:
            return
        snapshot = ddl.snapshot
        tables = [snapshot.table(*child[:2]), snapshot.table(*parent[:2])]
        if tables[0] is None or tables[1] is None:
            return
        if not same_distribution(tables[0], tables[1]) and await _may_follow(conn, tables[0], tables[1]):
            # gridpg chose the child's placement: it takes its new parent's (rows move), as
            # a table attached as a partition does
            await _redistribute_like(ddl, quote_qualified(*child[:2]), tables[1])
            await ddl.runner.load_private_snapshot()
            snapshot = ddl.snapshot
            tables = [snapshot.table(*child[:2]), snapshot.table(*parent[:2])]
            if tables[0] is None or tables[1] is None:
                return
        if not same_distribution(tables[0], tables[1]) and tables[1].column is not None and alone and \
                not await _has_column(conn, tables[0], tables[1].column, tables[1].column_type or ""):
            # PostgreSQL refuses it with its own error: the child lacks a column of the parent
            # (with another subcommand, an ADD COLUMN could give it one: refused below)
            return
        if not same_distribution(tables[0], tables[1]):
            raise PgError(FEATURE_NOT_SUPPORTED, f'cannot make "{child[1]}" inherit from "{parent[1]}": they are '
                          f"not distributed alike ({_describe(tables[0])}, {_describe(tables[1])})",
                          hint="distribute the child like the parent first (alter_distributed_table)")
        for table, row in zip(tables, (child, parent), strict=True):
            if table.method == "hash" and row[2] == "r":
                await convert_to_plain(ddl, table)


async def convert_to_plain(ddl: DdlRunner, table: DistTable) -> None:
    """The table's datanode copies become plain tables (see `conversion_sql`)."""
    placement = ddl._placement(table)
    after = await _no_inherit_again(ddl, table)
    for group in table.groups:
        check = placement_check_sql(table, [r for r, g in placement.items() if g == group])
        await (await ddl.conn(group)).simple_query(conversion_sql(table, check, after))


async def _no_inherit_again(ddl: DdlRunner, table: DistTable) -> list[str]:
    """The table's NO INHERIT CHECK and NOT NULL constraints made NO INHERIT again on the
    datanodes' plain copy: the partitioned copy could not hold NO INHERIT
    (`commands/ddl._without_no_inherit`), and a child inheriting them there refused rows
    PostgreSQL takes (23502, 23514). The definitions are the catalog server's."""
    qualified = quote_qualified(table.schema, table.name)
    conn = await ddl.conn(ddl.coord.catalog_node)
    rows = await conn.query(
        "SELECT c.contype, c.conname, pg_catalog.pg_get_constraintdef(c.oid), a.attname "
        "FROM pg_catalog.pg_constraint c LEFT JOIN pg_catalog.pg_attribute a ON a.attrelid = c.conrelid "
        "AND a.attnum = c.conkey[1] WHERE c.conrelid = pg_catalog.to_regclass("
        f"{quote_literal(qualified)}) AND c.connoinherit AND c.contype IN ('c', 'n') ORDER BY c.oid")
    out = []
    for contype, name, definition, column in rows:
        if contype == "n":
            out.append(f"ALTER TABLE {qualified} ALTER COLUMN {quote_ident(str(column))} DROP NOT NULL")
        else:
            out.append(f"ALTER TABLE {qualified} DROP CONSTRAINT IF EXISTS {quote_ident(str(name))}")
        out.append(f"ALTER TABLE {qualified} ADD CONSTRAINT {quote_ident(str(name))} {definition}")
    return out


async def _redistribute_like(ddl: DdlRunner, qualified: str, target: DistTable) -> None:
    from gridpg.commands import redistribute

    spec = DistributionSpec(target.method, target.column, nodes=target.groups)
    colocate = f"{target.schema}.{target.name}" if target.method == "hash" else None
    await redistribute.redistribute(ddl.dispatcher, ddl, qualified, spec, None, colocate)


async def _redistribute_tree(ddl: DdlRunner, conn: BackendConnection, schema: str, name: str,
                             target: DistTable) -> None:
    """A partitioned table distributed otherwise than its new parent: its leaves are
    redistributed one by one (rows move; on the datanodes each is made again and attached
    back under its bound), its partitioned members take the new distribution in the
    metadata (on the datanodes they do not depend on it)."""

    members = await conn.query(
        "SELECT n.nspname, c.relname, t.isleaf, pn.nspname, p.relname, "
        "pg_catalog.pg_get_expr(c.relpartbound, c.oid) FROM pg_catalog.pg_partition_tree("
        f"pg_catalog.to_regclass({quote_literal(quote_qualified(schema, name))})) t "
        "JOIN pg_catalog.pg_class c ON c.oid = t.relid JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
        "LEFT JOIN pg_catalog.pg_class p ON p.oid = t.parentrelid "
        "LEFT JOIN pg_catalog.pg_namespace pn ON pn.oid = p.relnamespace ORDER BY t.level")
    for m_schema, m_name, isleaf, p_schema, p_name, bound in members:
        qualified = quote_qualified(m_schema, m_name)
        if isleaf != "t":
            table = DistTable(m_schema or "", m_name or "", target.method, target.column, target.column_type,
                              target.colocation_id, target.shard_count, target.groups)
            await ddl.replace_metadata(table.schema, table.name, table)
            continue
        await _redistribute_like(ddl, qualified, target)
        if p_name is not None:
            for group in target.groups:
                await (await ddl.conn(group)).simple_query(
                    f"ALTER TABLE {quote_qualified(p_schema, p_name)} ATTACH PARTITION {qualified} {bound}")
    await ddl.runner.load_private_snapshot()


async def _resolve(conn: BackendConnection, rangevar: dict[str, Any]) -> tuple[str, str, str] | None:
    rel = rangevar.get("RangeVar", rangevar)
    qualified = quote_qualified(rel.get("schemaname"), rel["relname"])
    rows = await conn.query(
        "SELECT n.nspname, c.relname, c.relkind FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n "
        f"ON n.oid = c.relnamespace WHERE c.oid = pg_catalog.to_regclass({quote_literal(qualified)})")
    return (rows[0][0] or "", rows[0][1] or "", rows[0][2] or "") if rows else None
