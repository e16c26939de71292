"""What an ordinary client's catalog queries see: the user's objects, not gridpg's internal
relations on the catalog server.

The catalog server holds, beside the user's tables, the loopback's shadows (postgres_fdw
foreign tables of the same names, in schemas `gridpg_lb_<oid>`, see "The loopback"),
the schema `gridpg_shards` (scratch tables of plans finished on the coordinator) and the
schema `gridpg_tg` (the twins of trigger functions the coordinator fires). Left
alone, `SELECT relname FROM pg_class WHERE relname = 'tenk1'` found two rows where
PostgreSQL finds one (PostgreSQL's subselect.sql:1117), and `information_schema.tables` /
`columns` listed every shadow as a FOREIGN table. A client's SELECT reads, in place of

  pg_namespace, pg_class, pg_type, pg_attribute, pg_foreign_table, pg_tables,
  pg_event_trigger, pg_extension, information_schema.schemata, information_schema.tables,
  information_schema.columns

(unqualified or schema-qualified), a subquery of the same catalog without the rows of those
schemas, so the user's query runs unchanged otherwise. The loopback's foreign server, its
user mapping (whose options hold the cluster's internal secret) and the foreign tables
over it are left out the same way of

  pg_foreign_data_wrapper, pg_foreign_server, pg_user_mapping, pg_user_mappings,
  pg_foreign_table, information_schema.foreign_data_wrappers, foreign_data_wrapper_options,
  foreign_servers, foreign_server_options, user_mappings, user_mapping_options,
  foreign_tables, foreign_table_options

(PostgreSQL's foreign_data.sql lists them), and the loopback's postgres_fdw wrapper with
them (the extension gridpg installs in its schema, which a client cannot use: the datanodes
have no postgres_fdw); that extension is left out of pg_extension too (`\\dx`, and
`SELECT extname FROM pg_extension` listed one extension more than PostgreSQL after a
client's own CREATE EXTENSIONs, h-contrib26); its DDL guards (event triggers running gridpg's functions) are left out of
pg_event_trigger (psql's `\\dy`). Their OIDs still resolve
(`'x'::regclass`, `pg_table_is_visible`). psql's `\\d` family, ORMs' introspection and
`information_schema` reads then see what PostgreSQL would. The schema `gridpg` (gridpg's
metadata: `gridpg.dist_table`, the `pgxc_*` views) stays visible, as Citus's `pg_dist_*`
tables do.

A schema-qualified column of a substituted catalog (`pg_catalog.pg_namespace.nspname`, as
SQLAlchemy's reflection writes; its `get_schema_names()` listed gridpg's schemas) loses its
schema with it. Not substituted (the catalog server's rows are shown, internal ones
included): a statement that names a system column (`xmin`, `ctid`, ...; a subquery has
none) of a substituted catalog, but for `c.tableoid` of a pg_catalog one, which becomes the
catalog's OID (psql's `\\des+`), one with a CTE of a substituted name, ONLY or
TABLESAMPLE on a catalog, anything but a SELECT (EXPLAIN, DML on catalogs), other
catalogs and views (`pg_depend`, `pg_description`, `pg_stat_*`, `pg_views`...), and code
running on the catalog server (functions, which read its catalogs directly). pg_dump's
sessions see the dump view instead (commands/dump_view.py), loopback sessions the catalogs
as they are.
"""

from __future__ import annotations

from typing import Any

from gridpg.errors import PgError
from gridpg.planner import analyze
from gridpg.planner.text import splice
from gridpg.sql import parse as sqlparse

_HIDDEN_SCHEMA = ("({a}.nspname IN ('gridpg_shards', 'gridpg_tg')"
                  " OR pg_catalog.starts_with({a}.nspname::text, 'gridpg_lb_'))")
_HIDDEN_NAMESPACES = ("(SELECT gp_hn.oid FROM pg_catalog.pg_namespace gp_hn WHERE "
                      + _HIDDEN_SCHEMA.format(a="gp_hn") + ")")
_HIDDEN_RELATIONS = ("(SELECT gp_hc.oid FROM pg_catalog.pg_class gp_hc WHERE gp_hc.relnamespace IN "
                     + _HIDDEN_NAMESPACES + ")")
# The loopback's foreign server (executor/loopback.SERVER), its user mapping (the cluster's
# internal secret), the foreign tables over it (the shadows and gridpg's own
# `gridpg.loopback_*` tables) and its wrapper (postgres_fdw, installed by gridpg in its
# schema, where a client cannot use it: the datanodes have no postgres_fdw)
_LOOPBACK_SERVERS = "(SELECT gp_hs.oid FROM pg_catalog.pg_foreign_server gp_hs WHERE gp_hs.srvname = 'gridpg_loopback')"
_LOOPBACK_WRAPPERS = ("(SELECT gp_hs.srvfdw FROM pg_catalog.pg_foreign_server gp_hs "
                      "WHERE gp_hs.srvname = 'gridpg_loopback')")
_LOOPBACK_WRAPPER_NAMES = ("(SELECT gp_hw.fdwname::text FROM pg_catalog.pg_foreign_data_wrapper gp_hw "
                           "WHERE gp_hw.oid IN " + _LOOPBACK_WRAPPERS + ")")
_LOOPBACK_TABLES = ("(SELECT gp_hf.ftrelid FROM pg_catalog.pg_foreign_table gp_hf WHERE gp_hf.ftserver IN "
                    + _LOOPBACK_SERVERS + ")")
_HIDDEN_NAMES = ("(gp_x.{col}::text IN ('gridpg_shards', 'gridpg_tg')"
                 " OR pg_catalog.starts_with(gp_x.{col}::text, 'gridpg_lb_'))")

# (schema, name) -> the catalog without gridpg's internal rows
SUBSTITUTES: dict[tuple[str, str], str] = {
    ("pg_catalog", "pg_namespace"):
        "(SELECT * FROM pg_catalog.pg_namespace gp_x WHERE NOT " + _HIDDEN_SCHEMA.format(a="gp_x") + ")",
    ("pg_catalog", "pg_class"):
        f"(SELECT * FROM pg_catalog.pg_class gp_x WHERE gp_x.relnamespace NOT IN {_HIDDEN_NAMESPACES})",
    ("pg_catalog", "pg_type"):
        f"(SELECT * FROM pg_catalog.pg_type gp_x WHERE gp_x.typnamespace NOT IN {_HIDDEN_NAMESPACES})",
    ("pg_catalog", "pg_attribute"):
        f"(SELECT * FROM pg_catalog.pg_attribute gp_x WHERE gp_x.attrelid NOT IN {_HIDDEN_RELATIONS})",
    ("pg_catalog", "pg_foreign_table"):
        f"(SELECT * FROM pg_catalog.pg_foreign_table gp_x WHERE gp_x.ftrelid NOT IN {_HIDDEN_RELATIONS}"
        f" AND gp_x.ftserver NOT IN {_LOOPBACK_SERVERS})",
    ("pg_catalog", "pg_event_trigger"):  # the loopback's DDL guards (executor/code_ddl.py)
        "(SELECT * FROM pg_catalog.pg_event_trigger gp_x WHERE gp_x.evtfoid NOT IN (SELECT gp_hp.oid "
        "FROM pg_catalog.pg_proc gp_hp JOIN pg_catalog.pg_namespace gp_hn ON gp_hn.oid = gp_hp.pronamespace "
        "WHERE gp_hn.nspname = 'gridpg'))",
    ("pg_catalog", "pg_extension"):  # the loopback's postgres_fdw, in gridpg's schema
        "(SELECT * FROM pg_catalog.pg_extension gp_x WHERE NOT (gp_x.extname = 'postgres_fdw' AND "
        "gp_x.extnamespace IN (SELECT gp_hn.oid FROM pg_catalog.pg_namespace gp_hn WHERE gp_hn.nspname = 'gridpg')))",
    ("pg_catalog", "pg_foreign_data_wrapper"):
        f"(SELECT * FROM pg_catalog.pg_foreign_data_wrapper gp_x WHERE gp_x.oid NOT IN {_LOOPBACK_WRAPPERS})",
    ("pg_catalog", "pg_foreign_server"):
        "(SELECT * FROM pg_catalog.pg_foreign_server gp_x WHERE gp_x.srvname <> 'gridpg_loopback')",
    ("pg_catalog", "pg_user_mapping"):
        f"(SELECT * FROM pg_catalog.pg_user_mapping gp_x WHERE gp_x.umserver NOT IN {_LOOPBACK_SERVERS})",
    ("pg_catalog", "pg_user_mappings"):
        f"(SELECT * FROM pg_catalog.pg_user_mappings gp_x WHERE gp_x.srvid NOT IN {_LOOPBACK_SERVERS})",
    ("pg_catalog", "pg_tables"):
        "(SELECT * FROM pg_catalog.pg_tables gp_x WHERE NOT " + _HIDDEN_NAMES.format(col="schemaname") + ")",
    ("information_schema", "schemata"):
        "(SELECT * FROM information_schema.schemata gp_x WHERE NOT "
        + _HIDDEN_NAMES.format(col="schema_name") + ")",
    ("information_schema", "tables"):
        "(SELECT * FROM information_schema.tables gp_x WHERE NOT " + _HIDDEN_NAMES.format(col="table_schema") + ")",
    ("information_schema", "columns"):
        "(SELECT * FROM information_schema.columns gp_x WHERE NOT "
        + _HIDDEN_NAMES.format(col="table_schema") + ")",
    **{("information_schema", view): f"(SELECT * FROM information_schema.{view} gp_x "
       "WHERE gp_x.foreign_server_name::text <> 'gridpg_loopback')"
       for view in ("foreign_servers", "foreign_server_options", "user_mappings", "user_mapping_options",
                    "foreign_tables", "_pg_foreign_servers", "_pg_foreign_tables", "_pg_user_mappings")},
    **{("information_schema", view): f"(SELECT * FROM information_schema.{view} gp_x "
       f"WHERE gp_x.foreign_data_wrapper_name::text NOT IN {_LOOPBACK_WRAPPER_NAMES})"
       for view in ("foreign_data_wrappers", "foreign_data_wrapper_options", "_pg_foreign_data_wrappers")},
    ("information_schema", "foreign_table_options"):
        "(SELECT * FROM information_schema.foreign_table_options gp_x WHERE NOT EXISTS (SELECT FROM "
        "pg_catalog.pg_class gp_hc JOIN pg_catalog.pg_namespace gp_hn ON gp_hn.oid = gp_hc.relnamespace "
        f"WHERE gp_hc.oid IN {_LOOPBACK_TABLES} AND gp_hn.nspname::text = gp_x.foreign_table_schema::text "
        "AND gp_hc.relname::text = gp_x.foreign_table_name::text))",
}
_NAMES = frozenset(name for _, name in SUBSTITUTES)
_PG_NAMES = tuple(name for schema, name in SUBSTITUTES if schema == "pg_catalog")
SYSTEM_COLUMNS = frozenset({"xmin", "xmax", "cmin", "cmax", "ctid", "tableoid"})


def mentions(sql: str) -> bool:
    """A cheap test before parsing."""
    lowered = sql.lower()
    return "information_schema" in lowered or any(name in lowered for name in _PG_NAMES)


def rewrite(sql: str) -> str:
    """`sql` with each reference to a substituted catalog replaced by its filtered form."""
    try:
        tree = sqlparse.parse_tree(sql)
    except PgError:
        return sql  # its run reports the syntax error
    if "SelectStmt" not in tree:
        return sql
    nodes = list(analyze._walk(tree))
    refs = [rv for rv in (n.get("RangeVar") for n in nodes if isinstance(n, dict))
            if isinstance(rv, dict) and _key(rv) in SUBSTITUTES]
    if not refs or _has_cte_named(nodes) \
            or any(not r.get("inh", False) for r in refs) \
            or any(isinstance(n, dict) and "RangeTableSample" in n for n in nodes):
        return sql  # (ONLY and TABLESAMPLE take a table, not a subquery)
    toks = sqlparse.tokens(sql)
    replacements = _unqualified_columns(sql, toks, nodes, refs)
    tableoids = _catalog_tableoids(sql, toks, nodes, refs)
    if replacements is None or tableoids is None:
        return sql
    replacements += tableoids
    for ref in refs:
        start = int(ref.get("location", 0))
        name = ref["relname"]
        name_tok = next(t for t in toks if t.start >= start and sql[t.start:t.end + 1].strip('"').lower() == name)
        body = SUBSTITUTES[_key(ref)]
        replacements.append((start, name_tok.end + 1, body if ref.get("alias") else f"{body} AS {name}"))
    return splice(sql, replacements)


def _key(ref: dict[str, Any]) -> tuple[str, str] | None:
    schema, name = ref.get("schemaname"), ref.get("relname")
    if schema is None:
        return ("pg_catalog", name) if ("pg_catalog", name) in SUBSTITUTES else None
    return (schema, name) if ref.get("catalogname") is None else None


def _catalog_tableoids(sql: str, toks: list[Any], nodes: list[Any],
                       refs: list[dict[str, Any]]) -> list[tuple[int, int, str]] | None:
    """Spans that make `c.tableoid` of a substituted pg_catalog table its constant OID (the
    subquery has no system columns; psql's `\\des+` and `\\dew+` join pg_description on
    `s.tableoid`). None when the statement names another system column of a substituted
    catalog, or one without its relation's name, where the rewrite must not apply; system
    columns of the statement's other relations stay as they are."""
    names = {(r.get("alias") or {}).get("aliasname") or r["relname"]: _key(r) for r in refs}
    outputs = set()  # output columns named after their column: the constant would rename them
    for node in nodes:
        target = node.get("ResTarget") if isinstance(node, dict) else None
        if isinstance(target, dict) and not target.get("name") and _is_system_column(target.get("val")):
            outputs.add(int(target["val"]["ColumnRef"].get("location", -1)))
    out: list[tuple[int, int, str]] = []
    for node in nodes:
        column = node.get("ColumnRef") if isinstance(node, dict) else None
        fields = column.get("fields", []) if isinstance(column, dict) else []
        if not fields or fields[-1].get("String", {}).get("sval") not in SYSTEM_COLUMNS:
            continue
        qualifier = fields[-2].get("String", {}).get("sval") if len(fields) == 2 else None
        if len(fields) == 2 and qualifier not in names:
            continue  # a relation of the statement that is not substituted
        key = names.get(qualifier or "")
        if key is None or key[0] != "pg_catalog" or fields[-1]["String"]["sval"] != "tableoid":
            return None
        start = int(column.get("location", -1))  # type: ignore[union-attr]
        if start in outputs:
            return None
        last = next((t for t in toks
                     if t.start > start and sql[t.start:t.end + 1].strip('"').lower() == "tableoid"), None)
        if start < 0 or last is None:
            return None
        out.append((start, last.end + 1, f"'pg_catalog.{key[1]}'::pg_catalog.regclass::pg_catalog.oid"))
    return out


def _is_system_column(node: Any) -> bool:
    fields = (node.get("ColumnRef") or {}).get("fields", []) if isinstance(node, dict) else []
    return bool(fields) and fields[-1].get("String", {}).get("sval") in SYSTEM_COLUMNS


def _unqualified_columns(sql: str, toks: list[Any], nodes: list[Any],
                         refs: list[dict[str, Any]]) -> list[tuple[int, int, str]] | None:
    """Spans that drop the schema of `pg_catalog.pg_class.relname` (as SQLAlchemy's
    reflection writes columns), which names a catalog the rewrite makes a subquery `AS
    pg_class` (it has no schema): the name is then the subquery's. None when a column
    names its relation otherwise than the rewrite can follow (four parts; a substituted
    catalog with an alias or read twice, where PostgreSQL's own error must stay)."""
    plain = {_key(r): r for r in refs if not r.get("alias")}
    out: list[tuple[int, int, str]] = []
    for node in nodes:
        column = node.get("ColumnRef") if isinstance(node, dict) else None
        if not isinstance(column, dict) or len(column.get("fields", [])) < 3:
            continue
        fields = column["fields"]
        names = [f.get("String", {}).get("sval") for f in fields[:2]]
        key = (names[0], names[1])
        if len(fields) > 3 or key not in SUBSTITUTES:
            if len(fields) > 3:
                return None
            continue  # another catalog's column: not rewritten
        if key not in plain or sum(1 for r in refs if _key(r) == key) > 1:
            return None
        start = int(column.get("location", -1))
        dots = [t for t in toks if t.start >= start and t.name == "ASCII_46"]
        if start < 0 or not dots:
            return None
        out.append((start, dots[0].end + 1, ""))
    return out


def _has_cte_named(nodes: list[Any]) -> bool:
    return any(isinstance(n, dict) and isinstance(n.get("CommonTableExpr"), dict)
               and n["CommonTableExpr"].get("ctename") in _NAMES for n in nodes)

