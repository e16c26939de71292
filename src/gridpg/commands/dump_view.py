"""What pg_dump sees through a coordinator: the user's database, not gridpg's internals.

pg_dump and pg_dumpall (recognised by the `application_name` libpq gives them, or, for
pg_dump under any other name (PGAPPNAME), by the `SET synchronize_seqscans TO off` its
connection setup sends and no application needs: pg_dump reads every table whole) read the
catalog server's catalogs through the coordinator. Left alone they dumped gridpg's metadata
schema, the loopback's postgres_fdw extension, and each sequence's position on the catalog
server, where no value is ever drawn (sequences live in the GTM): a restore then collided
with gridpg's own schema, failed in plain PostgreSQL, and reset every sequence. For such a
session:

* `pg_namespace` reads as itself with gridpg's internal schemas (`gridpg`, `gridpg_shards`,
  the loopback's `gridpg_lb_*`) named with a `pg_` prefix. pg_dump dumps no `pg_*` schema
  and nothing in one, so they and their contents are left out; their OIDs still resolve.
  (Renaming the schema itself is not possible: PostgreSQL reserves `pg_` for system schemas.)
* `pg_extension` shows the extensions installed in an internal schema (postgres_fdw, for
  the loopback) with a small OID, as `pg_depend` refers to them: pg_dump takes them for
  built-in ones, so neither they nor their members (the loopback's server, user mapping,
  shadow schemas and event triggers) are dumped.
* before a statement that reads sequence data (`pg_get_sequence_data`, `last_value`), the
  session's catalog server's sequences are set to the GTM's positions; setval is not
  transactional, so the dump's snapshot sees them.

Nothing changes for other clients (one that turned synchronized scans off sees gridpg's
internal schemas hidden, as a dump does: nothing of its own). Not covered: pg_dumpall's
own connection under another application_name (it reads roles and tablespaces, which the
view does not change anyway).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from gridpg.errors import PgError
from gridpg.planner.text import splice
from gridpg.sql import parse as sqlparse
from gridpg.sql.quote import quote_literal

if TYPE_CHECKING:
    from gridpg.frontend.coordinator import Coordinator

log = logging.getLogger("gridpg.dump")

DUMP_CLIENTS = ("pg_dump", "pg_dumpall")
INTERNAL_SCHEMAS = ("gridpg", "gridpg_shards")
INTERNAL_PREFIX = "gridpg_lb_"


def _internal(alias: str) -> str:
    names = ", ".join(quote_literal(s) for s in INTERNAL_SCHEMAS)
    return (f"({alias}.nspname IN ({names}) OR "
            f"pg_catalog.starts_with({alias}.nspname::text, {quote_literal(INTERNAL_PREFIX)}))")


_HIDDEN_EXTENSIONS = ("SELECT he.oid FROM pg_catalog.pg_extension he JOIN pg_catalog.pg_namespace hs "
                      f"ON hs.oid = he.extnamespace WHERE {_internal('hs')}")


def _builtin_oid(column: str) -> str:
    """A hidden extension's OID as pg_dump is shown it: its rank among the extensions
    (1, 2, ...), below every OID an extension really has (initdb's start at 12000), so
    pg_dump takes it for a built-in one: not created, its members not dumped."""
    return (f"CASE WHEN {column} IN ({_HIDDEN_EXTENSIONS}) THEN (SELECT count(*) FROM "
            f"pg_catalog.pg_extension re WHERE re.oid <= {column})::pg_catalog.oid ELSE {column} END")


_IS_EXTENSION = "'pg_catalog.pg_extension'::pg_catalog.regclass"

# Each catalog as a dump client sees it (tableoid kept: pg_dump selects it).
SUBSTITUTES = {
    "pg_namespace": (
        "(SELECT n.tableoid, n.oid, CASE WHEN " + _internal("n") + " THEN ('pg_' || n.nspname)::name "
        "ELSE n.nspname END AS nspname, n.nspowner, n.nspacl FROM pg_catalog.pg_namespace n)"),
    "pg_extension": (
        f"(SELECT x.tableoid, {_builtin_oid('x.oid')} AS oid, x.extname, x.extowner, x.extnamespace, "
        "x.extrelocatable, x.extversion, x.extconfig, x.extcondition FROM pg_catalog.pg_extension x)"),
    "pg_depend": (
        "(SELECT d.tableoid, d.classid, CASE WHEN d.classid = " + _IS_EXTENSION + " THEN "
        + _builtin_oid("d.objid") + " ELSE d.objid END AS objid, d.objsubid, d.refclassid, "
        "CASE WHEN d.refclassid = " + _IS_EXTENSION + " THEN " + _builtin_oid("d.refobjid")
        + " ELSE d.refobjid END AS refobjid, d.refobjsubid, d.deptype FROM pg_catalog.pg_depend d)"),
}
SEQUENCE_READS = ("pg_get_sequence_data", "last_value")


def is_dump_client(settings: dict[str, str]) -> bool:
    if settings.get("application_name", "") in DUMP_CLIENTS:
        return True
    scans = settings.get("synchronize_seqscans")  # pg_dump's setup_connection turns them off
    return scans is not None and scans.lower() in ("off", "false", "0")


def reads_hidden(sql: str) -> bool:
    """Whether the statement may read something a dump client sees differently (cheap)."""
    lowered = sql.lower()
    return any(name in lowered for name in (*SUBSTITUTES, *SEQUENCE_READS))


async def prepare(coord: Coordinator, sql: str) -> str:
    """The statement as a dump client's: catalogs substituted, sequences brought to the
    GTM's positions first when it reads them."""
    lowered = sql.lower()
    if any(word in lowered for word in SEQUENCE_READS):
        await sync_sequences(coord)
    if not any(name in lowered for name in SUBSTITUTES):
        return sql
    return rewrite(sql)


def rewrite(sql: str) -> str:
    """`sql` with each reference to a substituted catalog replaced by its dump view."""
    from gridpg.planner import analyze

    try:
        tree = sqlparse.parse_tree(sql)
    except PgError:
        log.warning("a dump client's statement could not be parsed; run as sent: %.200s", sql)
        return sql
    refs = [n["RangeVar"] for n in analyze._walk(tree) if isinstance(n, dict) and "RangeVar" in n
            and n["RangeVar"].get("relname") in SUBSTITUTES
            and n["RangeVar"].get("schemaname") in (None, "pg_catalog")]
    if not refs:
        return sql
    return _splice(sql, refs)


def _splice(sql: str, refs: list[dict[str, Any]]) -> str:
    toks = sqlparse.tokens(sql)
    replacements = []
    for ref in refs:
        name = ref["relname"]
        start = int(ref.get("location", 0))
        name_tok = next(t for t in toks if t.start >= start and sql[t.start : t.end + 1].lower() == name)
        body = SUBSTITUTES[name]
        replacements.append((start, name_tok.end + 1, body if ref.get("alias") else f"{body} AS {name}"))
    return splice(sql, replacements)


async def sync_sequences(coord: Coordinator) -> None:
    """Set the catalog server's copy of every GTM sequence to the GTM's position."""
    rows = [(str(s["name"]), int(s["last_value"]), bool(s["is_called"])) for s in await coord.gtm.seq_list()]
    if not rows:
        return
    values = ", ".join(f"({quote_literal(n)}, {v}::int8, {str(c).lower()})" for n, v, c in rows)
    sql = ("SELECT pg_catalog.setval(r.oid, v.last_value, v.is_called) FROM (VALUES " + values +
           ") v(name, last_value, is_called) JOIN pg_catalog.pg_class r "
           "ON r.oid = pg_catalog.to_regclass(v.name) AND r.relkind = 'S'")
    conn = await coord.internal_acquire(coord.catalog_node)
    try:
        await conn.simple_query(sql)
    finally:
        coord.pools.pool(coord.catalog_node).release(conn)
