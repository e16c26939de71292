"""Utility statements (DDL and the like): which nodes run them, the metadata statements
that follow (drop, rename), per-node DROP TABLE lists, which GTM sequences go with them.
CREATE TABLE, EXPLAIN, COPY and CREATE TABLE AS get plans of their own kind."""

from __future__ import annotations

import itertools
from typing import Any

from gridpg.catalog import store
from gridpg.catalog.model import CatalogSnapshot, DistTable, shard_table_name
from gridpg.errors import FEATURE_NOT_SUPPORTED, PgError
from gridpg.planner import analyze, leafwise, tableoid
from gridpg.planner.context import CatalogView, SessionView
from gridpg.planner.plan import (
    CopyPlan,
    CreateTableAsPlan,
    CreateTablePlan,
    ExplainPlan,
    SCRATCH_SCHEMA,
    Plan,
    UtilityPlan,
)
from gridpg.sql import parse as sqlparse
from gridpg.sql.quote import quote_ident, quote_literal, quote_qualified

# The databases' default tablespace: named explicitly on a partitioned table (a HASH
# table's datanode copy) PostgreSQL refuses it (0A000), where leaving it out means the same.
DEFAULT_TABLESPACE = "pg_default"

_OWN_PLANS = {"CreateStmt": CreateTablePlan, "ExplainStmt": ExplainPlan, "CopyStmt": CopyPlan,
              "CreateTableAsStmt": CreateTableAsPlan}


def plan_utility(clean: str, tree: dict[str, Any], kind: str, spec: Any,
                 catalog: CatalogView, session: SessionView) -> Plan:
    if kind in ("CreatedbStmt", "DropdbStmt") or (
            kind == "RenameStmt" and tree[kind].get("renameType") == "OBJECT_DATABASE"):
        # One database per cluster (frontend/session.py refuses connections to another
        # name): made on one catalog server, a database would be one nobody can reach.
        word = {"CreatedbStmt": "CREATE", "DropdbStmt": "DROP"}.get(kind, "ALTER")
        raise PgError(FEATURE_NOT_SUPPORTED, f"{word} DATABASE is not supported by gridpg: "
                      "a cluster serves one database", hint="use a schema (CREATE SCHEMA), or another cluster")
    if kind == "CreateEventTrigStmt" and str(tree[kind].get("eventname", "")).lower() == "login":
        # Clients log in to a coordinator, never to the servers behind it: such a trigger
        # fired for gridpg's own pooled connections (as the cluster superuser, on every
        # server), wrote the catalog server's empty copy of a distributed table
        # (event_trigger_login.sql: 0 rows logged), and its error would refuse them.
        raise PgError(FEATURE_NOT_SUPPORTED, "login event triggers are not supported by gridpg: clients "
                      "log in to a coordinator, not to the servers the trigger would fire on")
    if kind == "CreateTableAsStmt":
        _ensure_on_commit_of_temp(tree[kind].get("into") or {})
    own = _OWN_PLANS.get(kind)
    if kind == "CreateTableAsStmt" and tree[kind].get("objtype") == "OBJECT_MATVIEW":
        own = None  # over no distributed table (core refuses others): DDL everywhere, as a view
    if own is not None:
        return own(clean, tree, spec)
    snapshot = catalog.snapshot
    refs = analyze.relations(tree) + _dropped_tables(tree, kind)
    found = (catalog.resolve(r, session.search_path) for r in refs)
    tables = list({(t.schema, t.name): t for t in found if t}.values())
    if snapshot.matviews:
        matview_plan = _on_distributed_matviews(clean, tree, kind, tables, catalog, session)
        if matview_plan is not None:
            return matview_plan
    if kind == "RuleStmt":
        _ensure_rule_keeps_placement(clean, tree["RuleStmt"], catalog, session)
    if kind in ("CreatePolicyStmt", "AlterPolicyStmt"):
        _ensure_policy_reads_whole_tables(tree[kind], catalog, session)
    if kind == "AlterTableStmt":
        for table in tables:
            if table.method == "hash":
                tableoid.ensure_no_check_reads_tableoid(tree[kind].get("cmds"), table.name)
    groups = tuple(sorted({g for t in tables for g in t.groups})) if tables else None
    if kind == "ViewStmt":
        # a view exists where every table it reads, through other views too, does (tables
        # placed TO NODE different node sets: the others lack one, 42P01); only plans that
        # run on nodes holding all of them read it there (planner/core._through_views)
        read = _tables_read(tree, catalog, session)
        if read:
            groups = tuple(sorted(set.intersection(*(set(t.groups) for t in read))))
    after = _metadata_after(kind, tree, tables, snapshot)
    group_sql = _drop_views_where_they_are(tree, kind, snapshot) \
        or _drop_tables_per_group(tree, kind, tables, list(groups or ())) \
        or _truncate_tables_per_group(tree, kind, tables, list(groups or ())) \
        or _storage_options_per_group(clean, tree, kind, tables, list(groups or ())) \
        or _unlogged_beside_sharded_keys(tree, kind, tables, list(groups or ())) \
        or _tablespace_moves_per_group(clean, tree, kind, tables, list(groups or [g.name for g in snapshot.datanode_group_list])) \
        or _default_tablespace_per_group(clean, tree, kind, tables, list(groups or ())) \
        or _cluster_marks_per_group(clean, tree, kind, tables, list(groups or ())) \
        or _no_inherit_per_group(clean, tree, kind, tables, list(groups or ())) \
        or _shard_renames_per_group(clean, tree, kind, tables, snapshot) \
        or _rules_per_group(clean, tree, kind, tables, catalog, session) \
        or _publications_per_group(clean, kind, list(groups or [g.name for g in snapshot.datanode_group_list]))
    return UtilityPlan(kind, tree, tuple(tables), groups, tuple(after), group_sql,
                       _sequences(kind, tree))


def _ensure_on_commit_of_temp(into: dict[str, Any]) -> None:
    """PostgreSQL's check: CREATE TABLE ... ON COMMIT ... AS of a table that is not
    temporary fails (42P16); it made a permanent distributed table (one ON COMMIT DROP was
    meant to drop)."""
    if into.get("onCommit", "ONCOMMIT_NOOP") != "ONCOMMIT_NOOP" \
            and (into.get("rel") or {}).get("relpersistence") != "t":
        raise PgError("42P16", "ON COMMIT can only be used on temporary tables")


def _ensure_rule_keeps_placement(clean: str, body: dict[str, Any], catalog: CatalogView,
                                 session: SessionView) -> None:
    """A rule on a distributed table runs on the datanode that holds the row: actions that
    write a distributed or replicated table there would ignore that table's placement
    (writing one replica, or a shard this node does not hold). Refused, never silent;
    except a rule whose actions write or notify, which the coordinator applies
    (planner/rules.py) and the datanodes never hold (`_rules_per_group`)."""
    target = catalog.resolve(analyze.RelRef(body["relation"].get("schemaname"), body["relation"]["relname"],
                                            0, None), session.search_path)
    if target is None:
        return
    if _coordinator_rule(clean):
        if any(next(iter(a), "") == "SelectStmt" for a in body.get("actions") or []):
            raise PgError(FEATURE_NOT_SUPPORTED, f'a rule of distributed table "{target.name}" that both '
                          "writes and returns rows (a SELECT action) is not supported by gridpg")
        return
    for action in body.get("actions") or []:
        written = [r for r in analyze.relations(action) if catalog.resolve(r, session.search_path)]
        kind = next(iter(action), "")
        if kind in ("InsertStmt", "UpdateStmt", "DeleteStmt", "MergeStmt") or written:
            raise PgError(FEATURE_NOT_SUPPORTED,
                          f'rules on distributed table "{target.name}" cannot run {kind[:-4].upper() or "that"} '
                          "actions: they would run on one datanode and ignore where rows belong",
                          hint="use DO INSTEAD NOTHING, or do the writes from the client")


def _coordinator_rule(clean: str) -> bool:
    from pglast import parse_sql

    from gridpg.planner.rules import is_coordinator_rule

    try:
        return is_coordinator_rule(parse_sql(clean)[0].stmt)
    except Exception:  # noqa: BLE001 - PostgreSQL reports it
        return False


def _rules_per_group(clean: str, tree: dict[str, Any], kind: str, tables: list[DistTable],
                     catalog: CatalogView, session: SessionView) -> dict[str, str] | None:
    """Rule DDL on the datanodes. A rule the coordinator applies (planner/rules.py) lives on
    the catalog servers only: its CREATE [OR REPLACE] drops a rule of that name the
    datanodes may hold (one that did not write), and any DROP RULE is made IF EXISTS there;
    ALTER RULE ... RENAME of such a rule does nothing there. So for a view's DO ALSO rule: a
    write through the view that the rule keeps runs on the datanodes through their copies
    of the view (multi._ensure_plain_view), which must not apply the rule a second time, on
    each node's rows (h-views27)."""
    groups = [g.name for g in catalog.snapshot.datanode_group_list]
    body = tree.get(kind) or {}

    def table_of(relation: dict[str, Any]) -> DistTable | None:
        return catalog.resolve(analyze.RelRef(relation.get("schemaname"), relation.get("relname", ""), 0, None),
                               session.search_path)

    def view_of(relation: dict[str, Any]) -> tuple[str, str] | None:
        from gridpg.planner.core import _view_entry

        entry = _view_entry(analyze.RelRef(relation.get("schemaname"), relation.get("relname", ""), 0, None),
                            catalog, session.search_path)
        return entry[0] if entry is not None else None

    def applied_here(table: DistTable | tuple[str, str] | None, rule: str) -> bool:
        key = (table.schema, table.name) if isinstance(table, DistTable) else table
        ruled = catalog.rules.get(key) if key is not None else None
        view = not isinstance(table, DistTable)  # (a view's INSTEAD rules stay on the datanodes)
        return ruled is not None and any(r.name == rule and r.on_coordinator and not (view and r.instead)
                                         for r in ruled.rules)

    if kind == "RuleStmt" and _coordinator_rule(clean):
        table = table_of(body.get("relation") or {})
        if table is None:
            view = view_of(body.get("relation") or {})
            if view is None or body.get("instead"):
                # (a view's INSTEAD rules stay with it on every node: the write never goes
                # there through it but in EXPLAIN of a write through a view above it,
                # which PostgreSQL rewrites with them)
                return None
            drop = f"DROP RULE IF EXISTS {quote_ident(body['rulename'])} ON {quote_qualified(*view)}"
            return {g: drop for g in groups}
        drop = f"DROP RULE IF EXISTS {quote_ident(body['rulename'])} ON {quote_qualified(table.schema, table.name)}"
        return {g: drop for g in table.groups}
    if kind == "DropStmt" and body.get("removeType") == "OBJECT_RULE":
        objects = body.get("objects") or []
        if len(objects) != 1:
            return None
        names = [i["String"]["sval"] for i in objects[0].get("List", {}).get("items", []) if "String" in i]
        if len(names) < 2:
            return None
        relation = ".".join(quote_ident(n) for n in names[:-1])
        behavior = " CASCADE" if body.get("behavior") == "DROP_CASCADE" else ""
        drop = f"DROP RULE IF EXISTS {quote_ident(names[-1])} ON {relation}{behavior}"
        return {g: drop for g in groups}
    if kind == "RenameStmt" and body.get("renameType") == "OBJECT_RULE" \
            and applied_here(table_of(body.get("relation") or {}) or view_of(body.get("relation") or {}),
                             body.get("subname", "")):
        return {g: "SELECT" for g in groups}
    if kind == "CommentStmt" and body.get("objtype") == "OBJECT_RULE":
        names = [i["String"]["sval"] for i in (body.get("object") or {}).get("List", {}).get("items", [])
                 if "String" in i]
        relation = {"schemaname": names[-3] if len(names) > 2 else None, "relname": names[-2] if names else ""}
        if len(names) >= 2 and applied_here(table_of(relation) or view_of(relation), names[-1]):
            return {g: "SELECT" for g in groups}
    if kind == "AlterTableStmt":
        cmds = [c.get("AlterTableCmd", {}) for c in body.get("cmds") or []]
        table = table_of(body.get("relation") or {})
        owner = table or view_of(body.get("relation") or {})
        if owner is not None and cmds and all(c.get("subtype") in _RULE_SWITCHES
                                              and applied_here(owner, c.get("name", "")) for c in cmds):
            return {g: "SELECT" for g in (table.groups if table is not None else groups)}
    return None


_RULE_SWITCHES = frozenset({"AT_EnableRule", "AT_EnableAlwaysRule", "AT_EnableReplicaRule", "AT_DisableRule"})


def _ensure_policy_reads_whole_tables(body: dict[str, Any], catalog: CatalogView, session: SessionView) -> None:
    """A row security policy of a distributed table is applied on the datanodes, row by
    row: a subquery of its USING or WITH CHECK expression that reads a distributed table
    (not a replicated one) reads that node's shards only, so a row passes or fails on
    whether the rows it looks up live on the same node (the usual
    `USING (level <= (SELECT level FROM accounts WHERE name = current_user))` showed a
    user some of their rows, silently). Refused, never silent, for a table the user
    distributed; one placed by gridpg's default rules is made a REPLICATION table when the
    statement runs (`commands/policies.replicate_tables_read`)."""
    table = body.get("table") or {}
    target = catalog.resolve(analyze.RelRef(table.get("schemaname"), table.get("relname", ""), 0, None),
                             session.search_path)
    if target is None:
        return
    for clause in (body.get("qual"), body.get("with_check")):
        for ref in analyze.relations(clause) if clause else ():
            read = catalog.resolve(ref, session.search_path)
            if read is not None and read.method != "replication" and not read.by_default:
                raise PgError(FEATURE_NOT_SUPPORTED,
                              f'gridpg cannot apply policy "{body.get("policy_name")}" of distributed table '
                              f'"{target.name}": it reads distributed table "{read.name}", and each datanode '
                              "would read only its own rows of it",
                              hint=f'Distribute "{read.name}" by REPLICATION, or write the policy without reading it.')


def _sequences(kind: str, tree: dict[str, Any]) -> str | None:
    """"drop" when a DROP TABLE drops the tables' GTM sequences, "restart" for TRUNCATE ...
    RESTART IDENTITY."""
    body = tree[kind]
    if kind == "DropStmt" and body.get("removeType") == "OBJECT_TABLE":
        return "drop"
    if kind == "TruncateStmt" and body.get("restart_seqs"):
        return "restart"
    return None


def _metadata_after(kind: str, tree: dict[str, Any], tables: list[DistTable],
                    snapshot: CatalogSnapshot) -> list[str]:
    """Metadata statements that follow a DDL statement (drop, rename)."""
    body = tree[kind]
    if kind == "DropStmt" and body.get("removeType") == "OBJECT_TABLE":
        return [store.sql_delete_dist_table(t.schema, t.name) for t in tables] + [store.sql_forget_dropped_tables()]
    if kind == "DropStmt" and body.get("removeType") == "OBJECT_SCHEMA":
        names = set()
        for obj in body.get("objects", []):
            if "String" in obj:
                names.add(obj["String"]["sval"])
        # (and the partitions in other schemas dropped with their parent: their metadata
        # stayed, and a table of the name failed with 23505, drop_partitioned_table.sql:212)
        return [store.sql_delete_dist_table(t.schema, t.name) for t in snapshot.tables if t.schema in names] \
            + [store.sql_forget_dropped_tables()]
    if kind == "DropOwnedStmt":
        # DROP OWNED BY drops the role's tables (and their partitions) without naming them
        # (dependency.sql, drop_partitioned_table.sql: the stale entry made a later CREATE
        # TABLE of the name fail 23505 on gridpg.dist_table's key)
        return [store.sql_forget_dropped_tables()]
    if kind == "DropStmt" and body.get("behavior") == "DROP_CASCADE":
        return [store.sql_forget_dropped_tables()]  # a type or function dropped with its tables
    if kind == "RenameStmt" and body.get("renameType") in ("OBJECT_TABLE", "OBJECT_MATVIEW") and tables:
        t = tables[0]
        return [store.sql_rename_table(t.schema, t.name, t.schema, body["newname"])]
    if kind == "RenameStmt" and body.get("renameType") == "OBJECT_SCHEMA":
        old, new = body.get("subname"), body.get("newname")
        return [store.sql_rename_table(t.schema, t.name, new, t.name) for t in snapshot.tables if t.schema == old]
    if kind == "AlterObjectSchemaStmt" and body.get("objectType") in ("OBJECT_TABLE", "OBJECT_MATVIEW") and tables:
        t = tables[0]
        return [store.sql_rename_table(t.schema, t.name, body["newschema"], t.name)]
    return []


# DROP of relations (name lists ending in the relation) and of objects that belong to one
# (rules, triggers, policies: the relation's name list, then the object's name).
_DROPPED_TABLES = frozenset({"OBJECT_TABLE", "OBJECT_FOREIGN_TABLE"})
_DROPPED_ON_RELATION = frozenset({"OBJECT_RULE", "OBJECT_TRIGGER", "OBJECT_POLICY"})
DROPPED_RELATIONS = _DROPPED_TABLES | _DROPPED_ON_RELATION | {
    "OBJECT_VIEW", "OBJECT_MATVIEW", "OBJECT_SEQUENCE", "OBJECT_INDEX"}


def _dropped_tables(tree: dict[str, Any], kind: str) -> list[analyze.RelRef]:
    """The tables a DROP TABLE names."""
    return dropped_relations(tree, kind, _DROPPED_TABLES)


def dropped_relations(tree: dict[str, Any], kind: str, kinds: frozenset[str]) -> list[analyze.RelRef]:
    """The relations a DROP of one of `kinds` names or drops something of (its objects are
    name lists, not RangeVars)."""
    body = tree.get(kind) or {}
    what = body.get("removeType")
    if kind != "DropStmt" or what not in kinds:
        return []
    out = []
    for obj in body.get("objects", []):
        names = [i["String"]["sval"] for i in obj.get("List", {}).get("items", []) if "String" in i]
        if what in _DROPPED_ON_RELATION:
            names = names[:-1]
        if names:
            out.append(analyze.RelRef(names[-2] if len(names) > 1 else None, names[-1], -1, None))
    return out


def _tables_read(tree: dict[str, Any], catalog: CatalogView, session: SessionView,
                 depth: int = 0) -> list[DistTable]:
    """The distributed tables a statement reads, through the views it names (their
    definitions, nested up to a depth)."""
    from gridpg.planner.core import view_definition

    found: list[DistTable] = []
    for ref in analyze.relations(tree):
        table = catalog.resolve(ref, session.search_path)
        if table is not None:
            found.append(table)
            continue
        definition = view_definition(ref, catalog, session.search_path) if depth < 8 else None
        if definition is not None:
            found += _tables_read(sqlparse.parse_tree(definition), catalog, session, depth + 1)
    return found


def _drop_views_where_they_are(tree: dict[str, Any], kind: str, snapshot: Any) -> dict[str, str] | None:
    """DROP VIEW on the datanodes with IF EXISTS: a view over tables placed TO NODE some
    nodes exists on those only (CREATE VIEW above), and the others' 42P01 made it
    impossible to drop. The catalog servers run the statement as written first, so a view
    that does not exist fails there as in PostgreSQL."""
    body = tree[kind]
    if kind != "DropStmt" or body.get("removeType") != "OBJECT_VIEW":
        return None
    names = []
    for obj in body.get("objects", []):
        parts = [i["String"]["sval"] for i in obj.get("List", {}).get("items", []) if "String" in i]
        if not parts:
            return None
        names.append(".".join(quote_ident(part) for part in parts))
    suffix = " CASCADE" if body.get("behavior") == "DROP_CASCADE" else ""
    return {g.name: f"DROP VIEW IF EXISTS {', '.join(names)}{suffix}" for g in snapshot.datanode_group_list}


def _drop_tables_per_group(tree: dict[str, Any], kind: str, tables: list[DistTable],
                           groups: list[str]) -> dict[str, str] | None:
    """DROP TABLE of tables on different node sets: each node drops the ones it holds."""
    body = tree[kind]
    if kind != "DropStmt" or body.get("removeType") != "OBJECT_TABLE" or len(tables) < 2:
        return None
    if all(set(t.groups) == set(groups) for t in tables):
        return None
    suffix = " CASCADE" if body.get("behavior") == "DROP_CASCADE" else ""
    exists = " IF EXISTS" if body.get("missing_ok") else ""
    out = {}
    for group in groups:
        names = [quote_qualified(t.schema, t.name) for t in tables if group in t.groups]
        out[group] = f"DROP TABLE{exists} {', '.join(names)}{suffix}"
    return out


def _truncate_tables_per_group(tree: dict[str, Any], kind: str, tables: list[DistTable],
                               groups: list[str]) -> dict[str, str] | None:
    """TRUNCATE of tables on different node sets (a single-shard table with a HASH one):
    each node truncates the ones it holds (the others are not there: 42P01 before)."""
    body = tree[kind]
    if kind != "TruncateStmt" or len(tables) < 2 or all(set(t.groups) == set(groups) for t in tables):
        return None
    named = []
    for item in body.get("relations", []):
        rel = item.get("RangeVar") or {}
        found = [t for t in tables if t.name == rel.get("relname")
                 and rel.get("schemaname") in (None, t.schema)]
        if len(found) != 1:
            return None  # (a relation that is not distributed, or a name read two ways)
        named.append((found[0], "" if rel.get("inh", True) else "ONLY "))
    suffix = (" RESTART IDENTITY" if body.get("restart_seqs") else "") + \
        (" CASCADE" if body.get("behavior") == "DROP_CASCADE" else "")
    out = {}
    for group in groups:
        names = [only + quote_qualified(t.schema, t.name) for t, only in named if group in t.groups]
        out[group] = f"TRUNCATE {', '.join(names)}{suffix}"
    return out


# Commands PostgreSQL refuses on a partitioned table (a HASH table's datanode copy) that
# concern the storage of its leaves, the shards.
_RELOPTION_COMMANDS = {"AT_SetRelOptions", "AT_ResetRelOptions", "AT_SetLogged", "AT_SetUnLogged"}


PUBLISH_VIA_ROOT = "publish_via_partition_root"


def _publications_per_group(clean: str, kind: str, groups: list[str]) -> dict[str, str] | None:
    """CREATE / ALTER PUBLICATION as the datanodes run it: always with
    publish_via_partition_root = true. A HASH table is a partitioned table there (its shards
    the partitions), where PostgreSQL refuses a row filter or a column list unless the
    publication publishes through the root (22023): `FOR TABLE t WHERE (a > 1)` failed on a
    table that is plain on the catalog servers and in PostgreSQL. Publishing through the
    root changes nothing a datanode checks for writes (replica identity is still checked
    on the shard that is written, against the published table's row filter and columns),
    so the option the client gave is kept on the catalog servers, which answer it
    (22023 for a row filter of a partitioned table of its own there), and left out on the
    datanodes. Pure: the text made by pglast's deparser."""
    if kind not in ("CreatePublicationStmt", "AlterPublicationStmt"):
        return None
    from pglast import ast, enums
    from pglast.stream import RawStream

    from gridpg.sql.parse import parse_sql

    stmt = parse_sql(clean)[0].stmt
    if kind == "AlterPublicationStmt" and not stmt.options:
        return None  # ADD / SET / DROP TABLE: the publication's own option holds
    options = tuple(o for o in stmt.options or () if o.defname != PUBLISH_VIA_ROOT)
    stmt.options = options + (ast.DefElem(defname=PUBLISH_VIA_ROOT, arg=ast.Boolean(boolval=True),
                                             defaction=enums.DefElemAction.DEFELEM_UNSPEC),)
    text = str(RawStream()(stmt))
    return {group: text for group in groups}


def _storage_options_per_group(clean: str, tree: dict[str, Any], kind: str, tables: list[DistTable],
                               groups: list[str]) -> dict[str, str] | None:
    """ALTER TABLE ... SET/RESET (storage options), SET LOGGED/UNLOGGED of a HASH table: on
    the datanodes the table is partitioned (PostgreSQL refuses those there), so they go to
    its leaves, the shards, which hold the rows (CREATE UNLOGGED TABLE makes its shards
    unlogged likewise)."""
    if kind != "AlterTableStmt" or len(tables) != 1 or tables[0].method != "hash":
        return None
    cmds = [c.get("AlterTableCmd", {}).get("subtype") for c in tree[kind].get("cmds") or []]
    if not set(cmds) & _RELOPTION_COMMANDS:
        return None
    from pglast.stream import RawStream

    from gridpg.sql.parse import parse_sql

    stmt = parse_sql(clean)[0].stmt
    # The other commands of the statement (`SET UNLOGGED, ALTER COLUMN a ADD GENERATED ...`,
    # identity.sql:226, failed 42809 on the partitioned table) run on the table first
    rest = [c for c in stmt.cmds if c.subtype.name not in _RELOPTION_COMMANDS]
    first = ""
    if rest:
        stmt.cmds = tuple(rest)
        first = RawStream()(stmt) + ";\n"
        stmt = parse_sql(clean)[0].stmt
        stmt.cmds = tuple(c for c in stmt.cmds if c.subtype.name in _RELOPTION_COMMANDS)
    stmt.relation.schemaname, stmt.relation.relname, stmt.missing_ok = None, "gp_reloptions_target", False
    tail = RawStream()(stmt).split("gp_reloptions_target", 1)[1]
    table = quote_literal(quote_qualified(tables[0].schema, tables[0].name))
    block = (
        "DO $gridpg_reloptions$ DECLARE r record; t regclass := " + table + "; BEGIN "
        "IF (SELECT relkind FROM pg_catalog.pg_class WHERE oid = t) <> 'p' THEN "
        "EXECUTE 'ALTER TABLE ' || t::text || " + quote_literal(tail) + "; RETURN; END IF; "
        "FOR r IN SELECT relid FROM pg_catalog.pg_partition_tree(t) WHERE isleaf LOOP "
        "EXECUTE 'ALTER TABLE ' || r.relid::text || " + quote_literal(tail) + "; END LOOP; END $gridpg_reloptions$"
    )
    return {group: first + block for group in groups}


def _unlogged_beside_sharded_keys(tree: dict[str, Any], kind: str, tables: list[DistTable],
                                  groups: list[str]) -> dict[str, str] | None:
    """`ALTER TABLE t SET UNLOGGED` of a table that is not HASH: PostgreSQL refuses it while a
    permanent table's foreign key refers to it (42P16), and on the datanodes the key of a
    HASH table that refers to it hangs on the table's partitioned copy, which PostgreSQL
    never makes unlogged (its shards are): an unlogged HASH table's key made the datanodes
    refuse what the catalog server, which checks PostgreSQL's rule, had done
    (alter_table.sql:2282). There the copy stays logged while such a key refers to it
    (durability only: the catalog and every read answer unlogged); otherwise it changes."""
    body = tree.get(kind) or {}
    if kind != "AlterTableStmt" or len(tables) != 1 or tables[0].method == "hash":
        return None
    cmds = [c.get("AlterTableCmd", {}).get("subtype") for c in body.get("cmds") or []]
    if cmds != ["AT_SetUnLogged"]:
        return None
    table = quote_literal(quote_qualified(tables[0].schema, tables[0].name))
    block = (
        "DO $gridpg_unlogged$ DECLARE t regclass := " + table + "; BEGIN "
        "IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_constraint c JOIN pg_catalog.pg_class r ON r.oid = c.conrelid "
        "WHERE c.confrelid = t AND c.contype = 'f' AND r.relkind = 'p' AND c.conrelid <> t) THEN "
        "EXECUTE 'ALTER TABLE ' || t::text || ' SET UNLOGGED'; END IF; END $gridpg_unlogged$"
    )
    return {group: block for group in groups}


def _tablespace_moves_per_group(clean: str, tree: dict[str, Any], kind: str, tables: list[DistTable],
                                groups: list[str]) -> dict[str, str] | None:
    """ALTER TABLE / INDEX ... SET TABLESPACE of a HASH table or of an index: on the datanodes
    the table and its indexes are partitioned, where PostgreSQL only changes the default
    for partitions made later; the shards (and their indexes), which hold the rows, stayed
    where they were while the catalog said the table had moved. So the datanodes run the
    statement, then move each shard of the relation (its children in the shard schema: a
    user's partitioned parent keeps PostgreSQL's meaning, its partitions stay)."""
    body = tree.get(kind) or {}
    if kind != "AlterTableStmt":
        return None
    spaces = [c["AlterTableCmd"].get("name") for c in body.get("cmds") or []
              if c.get("AlterTableCmd", {}).get("subtype") == "AT_SetTableSpace"]
    is_index = body.get("objtype") == "OBJECT_INDEX"
    if not spaces or not (is_index or any(t.method == "hash" for t in tables)):
        return None
    relation = body["relation"]
    name = quote_qualified(relation["schemaname"], relation["relname"]) if relation.get("schemaname") \
        else quote_ident(relation["relname"])
    block = shards_to_tablespace(name, str(spaces[-1]))
    return {group: f"{clean};\n{block}" for group in groups}


def shards_to_tablespace(relation: str, space: str, itself: bool = False) -> str:
    """A DO block moving the shards of `relation` (a table or index, as the datanode's
    search_path names it; its children in the shard schema) to tablespace `space`; with
    `itself`, the relation too, where it exists."""
    target = quote_literal(' SET TABLESPACE ' + quote_ident(space))
    first = (f"IF pg_catalog.to_regclass({quote_literal(relation)}) IS NOT NULL THEN "
             f"EXECUTE 'ALTER INDEX ' || pg_catalog.to_regclass({quote_literal(relation)})::text || {target}; "
             "END IF; ") if itself else ""
    return (
        "DO $gridpg_tablespace$ DECLARE r record; BEGIN " + first +
        "FOR r IN SELECT i.inhrelid::pg_catalog.regclass AS rel, c.relkind FROM pg_catalog.pg_inherits i "
        "JOIN pg_catalog.pg_class c ON c.oid = i.inhrelid "
        f"WHERE i.inhparent = pg_catalog.to_regclass({quote_literal(relation)}) "
        f"AND c.relnamespace = {quote_literal(SCRATCH_SCHEMA)}::pg_catalog.regnamespace LOOP "  # the shards' schema
        "EXECUTE 'ALTER ' || CASE WHEN r.relkind = 'i' THEN 'INDEX ' ELSE 'TABLE ' END || r.rel::text || "
        f"{target}; END LOOP; END $gridpg_tablespace$"
    )


def _shard_renames_per_group(clean: str, tree: dict[str, Any], kind: str, tables: list[DistTable],
                             snapshot: CatalogSnapshot) -> dict[str, str] | None:
    """A HASH table's shards on the datanodes are named after it (`gridpg_shards."s.t_0"`,
    catalog.model.shard_table_name): ALTER TABLE ... RENAME TO / SET SCHEMA and ALTER SCHEMA
    ... RENAME TO rename them with it, on the group that holds each. Left with the old
    name (Django's RenameModel), a statement routed to its shard (planner/shard_route.py:
    extended protocol, prepared statements) failed with 42P01 on the new name. A table the
    user partitioned has no shards of its own (its leaf partitions have them, named after
    the leaves): each shard is renamed where it exists (every rename of a partitioned table,
    or of a schema holding one, failed with 42P01 on a shard that is not there)."""
    body = tree[kind]
    moves: list[tuple[DistTable, str, str]] = []  # (table, its new schema, its new name)
    if kind == "RenameStmt" and body.get("renameType") == "OBJECT_TABLE" and tables:
        moves = [(tables[0], tables[0].schema, body["newname"])]
    elif kind == "AlterObjectSchemaStmt" and body.get("objectType") == "OBJECT_TABLE" and tables:
        moves = [(tables[0], body["newschema"], tables[0].name)]
    elif kind == "RenameStmt" and body.get("renameType") == "OBJECT_SCHEMA":
        moves = [(t, body["newname"], t.name) for t in snapshot.tables if t.schema == body.get("subname")]
    renames: dict[str, list[str]] = {}
    for table, schema, name in moves:
        if table.method != "hash" or not table.shard_count or (schema, name) == (table.schema, table.name):
            continue
        for remainder in range(table.shard_count):
            old = quote_ident(shard_table_name(table.schema, table.name, remainder))
            new = quote_ident(shard_table_name(schema, name, remainder))
            renames.setdefault(snapshot.shard_group(table.schema, table.name, remainder), []).append(
                f"IF pg_catalog.to_regclass({quote_literal(f'{SCRATCH_SCHEMA}.{old}')}) IS NOT NULL THEN "
                f"ALTER TABLE {SCRATCH_SCHEMA}.{old} RENAME TO {new}; END IF;")
    return {group: f"{clean}; DO $gridpg_shard_renames$ BEGIN {' '.join(statements)} END $gridpg_shard_renames$"
            for group, statements in renames.items()} or None


def _cluster_marks_per_group(clean: str, tree: dict[str, Any], kind: str, tables: list[DistTable],
                             groups: list[str]) -> dict[str, str] | None:
    """ALTER TABLE ... CLUSTER ON / SET WITHOUT CLUSTER of a HASH table: the marks go to
    its shards (planner/leafwise.py)."""
    if kind != "AlterTableStmt" or len(tables) != 1 or tables[0].method != "hash":
        return None
    text = leafwise.alter_cluster_text(clean, tree[kind], tables[0].schema, tables[0].name)
    return {group: text for group in groups} if text is not None else None


def _default_tablespace_per_group(clean: str, tree: dict[str, Any], kind: str, tables: list[DistTable],
                                  groups: list[str]) -> dict[str, str] | None:
    """CREATE INDEX ... TABLESPACE pg_default on a HASH table (pgAdmin writes it): on the
    datanodes the table is partitioned, where PostgreSQL refuses the default tablespace by
    name (0A000); without the clause the index and its shards' indexes land there too,
    unless the session's default_tablespace names another: the datanodes build it with
    default_tablespace '' (the shards' indexes went to that other while the catalog said
    pg_default)."""
    if kind not in ("IndexStmt", "AlterTableStmt") or len(tables) != 1 or tables[0].method != "hash":
        return None
    if tree[kind].get("tableSpace") != DEFAULT_TABLESPACE and not (
            kind == "AlterTableStmt" and _names_default_index_space(tree)):
        return None
    from pglast.stream import RawStream

    from gridpg.sql.parse import parse_sql

    stmt = parse_sql(clean)[0].stmt
    if kind == "IndexStmt":
        stmt.tableSpace = None
    without_default_index_tablespace(stmt)
    text = str(RawStream()(stmt))
    if kind == "IndexStmt":  # without the clause the session's default_tablespace applied
        text = f"{_KEEP_DEFAULT_SPACE};\nSET LOCAL default_tablespace = '';\n{text};\n{_RESTORE_DEFAULT_SPACE}"
    return {group: text for group in groups}


_KEEP_DEFAULT_SPACE = ("SELECT pg_catalog.set_config('gridpg.default_tablespace', "
                       "pg_catalog.current_setting('default_tablespace'), true)")
_RESTORE_DEFAULT_SPACE = ("SELECT pg_catalog.set_config('default_tablespace', "
                          "pg_catalog.current_setting('gridpg.default_tablespace'), true)")


def _no_inherit_per_group(clean: str, tree: dict[str, Any], kind: str, tables: list[DistTable],
                          groups: list[str]) -> dict[str, str] | None:
    """ALTER TABLE ... ADD CONSTRAINT ... NO INHERIT (CHECK, NOT NULL) and ALTER CONSTRAINT
    ... NO INHERIT of a HASH table: while its datanode copy is the partitioned table the
    shards hang below, PostgreSQL refuses NO INHERIT there (42P16) and the shards, which
    hold the rows, must keep the constraint; so the datanodes add it inheritable, as CREATE
    TABLE does (commands/ddl._without_no_inherit), and leave ALTER CONSTRAINT ... NO INHERIT
    out. A copy already plain (the table has inheritance children) takes the statement as
    written. The catalog servers keep NO INHERIT (commands/partitions._no_inherit_again
    puts it back when the copy becomes plain)."""
    if kind != "AlterTableStmt" or len(tables) != 1 or tables[0].method != "hash" \
            or not _has_no_inherit(tree[kind].get("cmds")):
        return None
    from pglast.stream import RawStream

    from gridpg.sql.parse import parse_sql

    stmt = parse_sql(clean)[0].stmt
    _without_no_inherit(stmt)
    on_partitioned = f"EXECUTE {quote_literal(str(RawStream()(stmt)))};" if stmt.cmds else "NULL;"
    regclass = quote_literal(quote_qualified(tables[0].schema, tables[0].name))
    text = (f"DO $gridpg_no_inherit$ BEGIN IF (SELECT relkind FROM pg_catalog.pg_class WHERE oid = "
            f"pg_catalog.to_regclass({regclass})) = 'p' THEN {on_partitioned} "
            f"ELSE EXECUTE {quote_literal(clean)}; END IF; END $gridpg_no_inherit$")
    return {group: text for group in groups}


def _has_no_inherit(node: Any) -> bool:
    if isinstance(node, dict):
        return bool(node.get("is_no_inherit") or node.get("noinherit")) or any(
            _has_no_inherit(v) for v in node.values())
    if isinstance(node, list):
        return any(_has_no_inherit(v) for v in node)
    return False


def _without_no_inherit(stmt: Any) -> None:
    from pglast import ast
    from pglast.visitors import Visitor

    class _Drop(Visitor):  # type: ignore[misc]
        def visit_Constraint(self, _ancestors: Any, node: ast.Constraint) -> None:
            node.is_no_inherit = False

    _Drop()(stmt)
    stmt.cmds = tuple(cmd for cmd in stmt.cmds if not (
        isinstance(cmd.def_, ast.ATAlterConstraint) and cmd.def_.alterInheritability and cmd.def_.noinherit))


def _names_default_index_space(node: Any) -> bool:
    if isinstance(node, dict):
        return node.get("indexspace") == DEFAULT_TABLESPACE or any(
            _names_default_index_space(v) for v in node.values())
    if isinstance(node, list):
        return any(_names_default_index_space(v) for v in node)
    return False


def without_default_index_tablespace(stmt: Any) -> None:
    """`USING INDEX TABLESPACE pg_default` of the constraints in a CREATE/ALTER TABLE left
    out (see _default_tablespace_per_group)."""
    from pglast import ast
    from pglast.visitors import Visitor

    class _Drop(Visitor):  # type: ignore[misc]
        def visit_Constraint(self, _ancestors: Any, node: ast.Constraint) -> None:
            if node.indexspace == DEFAULT_TABLESPACE:
                node.indexspace = None

    _Drop()(stmt)


# -- materialized views over distributed tables (executor/matview.py) --------------------

_MATVIEW_ALTERS = {"AlterTableStmt": "objtype", "RenameStmt": "relationType",
                   "AlterObjectSchemaStmt": "objectType", "CommentStmt": "objtype"}


def _on_distributed_matviews(clean: str, tree: dict[str, Any], kind: str, tables: list[DistTable],
                             catalog: CatalogView, session: SessionView) -> UtilityPlan | None:
    """DROP / ALTER MATERIALIZED VIEW of views whose rows are a datanode table: the catalog
    servers run the statement as written, the datanodes its TABLE form."""
    body = tree[kind]
    snapshot = catalog.snapshot
    if kind == "DropStmt" and body.get("removeType") == "OBJECT_MATVIEW":
        return _drop_matviews(tree, kind, catalog, session)
    if kind == "CommentStmt" and body.get("objtype") == "OBJECT_MATVIEW":
        tables = _commented_matview(body, catalog, session)
    field_name = _MATVIEW_ALTERS.get(kind)
    views = [t for t in tables if snapshot.is_matview(t)]
    if field_name is None or not views:
        return None
    if body.get(field_name) != "OBJECT_MATVIEW" and body.get("renameType") != "OBJECT_MATVIEW":
        return None
    text = _as_table_statement(clean)
    groups = tuple(sorted({g for t in views for g in t.groups}))
    after = _metadata_after(kind, tree, views, snapshot)
    return UtilityPlan(kind, tree, tuple(views), groups, tuple(after), {g: text for g in groups})


def _commented_matview(body: dict[str, Any], catalog: CatalogView, session: SessionView) -> list[DistTable]:
    """The view `COMMENT ON MATERIALIZED VIEW` names (a name list, not a RangeVar)."""
    names = [i["String"]["sval"] for i in body["object"].get("List", {}).get("items", []) if "String" in i]
    if not names:
        return []
    found = catalog.resolve(analyze.RelRef(names[-2] if len(names) > 1 else None, names[-1], -1, None),
                            session.search_path)
    return [found] if found is not None else []


def _drop_matviews(tree: dict[str, Any], kind: str, catalog: CatalogView,
                   session: SessionView) -> UtilityPlan | None:
    body = tree[kind]
    refs = dropped_relations(tree, kind, frozenset({"OBJECT_MATVIEW"}))
    resolved = [(r, catalog.resolve(r, session.search_path)) for r in refs]
    views = [t for _, t in resolved if t is not None and catalog.snapshot.is_matview(t)]
    if not views:
        return None
    others = [quote_qualified(r.schema, r.name) for r, t in resolved
              if t is None or not catalog.snapshot.is_matview(t)]
    suffix = " CASCADE" if body.get("behavior") == "DROP_CASCADE" else ""
    # CASCADE on the datanodes: the catalog servers checked the dependencies (the views
    # over it there are the views over it here)
    statements = ["DROP TABLE IF EXISTS " + ", ".join(quote_qualified(t.schema, t.name) for t in views) + " CASCADE"]
    if others:
        exists = " IF EXISTS" if body.get("missing_ok") else ""
        statements.append(f"DROP MATERIALIZED VIEW{exists} {', '.join(others)}{suffix}")
    everywhere = {g.name for g in catalog.snapshot.datanode_groups()} if others else set()
    groups = tuple(sorted({g for t in views for g in t.groups} | everywhere))
    after = [store.sql_delete_dist_table(t.schema, t.name) for t in views] + [store.sql_forget_dropped_tables()]
    text = ";\n".join(statements)
    return UtilityPlan(kind, tree, tuple(views), groups, tuple(after), {g: text for g in groups})


def _as_table_statement(sql: str) -> str:
    """`ALTER / COMMENT ON MATERIALIZED VIEW ...` as `... TABLE ...` (PostgreSQL's ALTER TABLE takes
    every subcommand ALTER MATERIALIZED VIEW has), by the scanner's tokens."""
    from gridpg.sql.parse import tokens

    toks = tokens(sql)
    for first, second in itertools.pairwise(toks):
        if first.name == "MATERIALIZED" and second.name == "VIEW":
            return sql[:first.start] + "TABLE" + sql[second.end + 1:]
    return sql
