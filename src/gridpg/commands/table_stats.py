"""`pg_stat_user_tables` / `pg_stat_all_tables` of distributed tables: the datanodes'
activity counters, not the catalog server's empty copy's.

A statement that reads one of these views (unqualified or `pg_catalog.`) reads, in its
place, the catalog server's view joined with the counters the datanodes report now for the
leaves of each distributed table (a HASH table's shards), summed over the table's groups
(one copy of a REPLICATION table, whose writes reach every copy):

- row counters (`n_tup_ins/upd/del/hot_upd/newpage_upd`, `n_live_tup`, `n_dead_tup`,
  `n_mod_since_analyze`, `n_ins_since_vacuum`, `seq_tup_read`, `idx_tup_fetch`) and the
  autovacuum counts and times are sums over the leaves;
- `seq_scan` / `idx_scan` are sums too: a scan of a HASH table scans each shard it reaches,
  so they count shard scans (more than one PostgreSQL's count for the same statements);
- timestamps (`last_seq_scan`, `last_idx_scan`, `last_vacuum`, `last_autovacuum`,
  `last_analyze`, `last_autoanalyze`) are the latest of the catalog server's and the leaves';
- manual `vacuum_count` / `analyze_count` and their times stay the catalog server's (a
  VACUUM or ANALYZE through a coordinator runs there once).

Other relations keep the catalog server's rows. The datanodes publish their counters when a
backend goes idle (PostgreSQL's own statistics delay), so, as in PostgreSQL, a count may lag
the writes by up to PostgreSQL's stats flush interval.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from gridpg.errors import PgError
from gridpg.planner.text import splice
from gridpg.sql import parse as sqlparse
from gridpg.sql.quote import quote_literal

if TYPE_CHECKING:
    from gridpg.catalog.model import DistTable
    from gridpg.executor.dispatch import Dispatcher

VIEWS = ("pg_stat_user_tables", "pg_stat_all_tables")

_SUMMED = frozenset({
    "seq_scan", "seq_tup_read", "idx_scan", "idx_tup_fetch", "n_tup_ins", "n_tup_upd",
    "n_tup_del", "n_tup_hot_upd", "n_tup_newpage_upd", "n_live_tup", "n_dead_tup",
    "n_mod_since_analyze", "n_ins_since_vacuum", "autovacuum_count", "autoanalyze_count",
    "total_autovacuum_time", "total_autoanalyze_time",
})
_LATEST = frozenset({"last_seq_scan", "last_idx_scan", "last_vacuum", "last_autovacuum",
                     "last_analyze", "last_autoanalyze"})

_COLUMNS_SQL = ("SELECT attname, pg_catalog.format_type(atttypid, atttypmod) FROM pg_catalog.pg_attribute "
                "WHERE attrelid = 'pg_catalog.pg_stat_all_tables'::pg_catalog.regclass AND attnum > 0 "
                "ORDER BY attnum")


def reads_views(sql: str) -> bool:
    lowered = sql.lower()
    return any(v in lowered for v in VIEWS)


async def rewrite(dispatcher: Dispatcher, sql: str) -> str:
    """`sql` with each reference to the views replaced by the subquery that answers it."""
    try:
        tree = sqlparse.parse_tree(sql)
    except PgError:
        return sql
    from gridpg.planner.analyze import _walk

    refs = [n["RangeVar"] for n in _walk(tree) if isinstance(n, dict) and isinstance(n.get("RangeVar"), dict)
            and n["RangeVar"].get("relname") in VIEWS and n["RangeVar"].get("schemaname") in (None, "pg_catalog")]
    snapshot = dispatcher.runner.snapshot()
    tables = {t.key: t for t in snapshot.tables if t.groups}
    if not refs or not tables:
        return sql
    columns = await _catalog_rows(dispatcher, _COLUMNS_SQL)
    counters = [(str(name), str(typ)) for name, typ in columns if name in _SUMMED or name in _LATEST]
    node_rows = await _node_counters(dispatcher, tables, counters)
    toks = sqlparse.tokens(sql)
    replacements = []
    for ref in refs:
        start = int(ref.get("location", 0))
        view = ref["relname"]
        name_tok = next(t for t in toks if t.start >= start and sql[t.start:t.end + 1].lower() == view)
        body = _subquery(view, [(str(n), str(t)) for n, t in columns], counters, node_rows)
        replacements.append((start, name_tok.end + 1, body if ref.get("alias") else f"{body} AS {view}"))
    return splice(sql, replacements)


async def _node_counters(dispatcher: Dispatcher, tables: dict[tuple[str, str], DistTable],
                         counters: list[tuple[str, str]]) -> list[str]:
    """VALUES rows (schema, table, counters...) per group that counts for each table."""
    aggregates = ", ".join(f"{'sum' if n in _SUMMED else 'max'}(st.{n})" for n, _ in counters)
    listed = ", ".join(f"({quote_literal(s)}, {quote_literal(n)})" for s, n in sorted(tables))
    sql = (f"SELECT tn.nspname, t.relname, {aggregates} FROM pg_catalog.pg_class t "
           "JOIN pg_catalog.pg_namespace tn ON tn.oid = t.relnamespace "
           "CROSS JOIN LATERAL (SELECT p.relid FROM pg_catalog.pg_partition_tree(t.oid) p WHERE p.isleaf "
           "UNION ALL SELECT t.oid WHERE NOT (t.relkind = 'p' OR t.relispartition)) AS l(r) "
           "JOIN pg_catalog.pg_stat_all_tables st ON st.relid = l.r "
           f"WHERE t.relkind IN ('r', 'p', 'm') AND (tn.nspname, t.relname) IN ({listed}) GROUP BY 1, 2")
    groups = sorted({g for t in tables.values() for g in t.groups})
    answers = await asyncio.gather(*(_node_rows(dispatcher, g, sql) for g in groups))
    out = []
    for group, rows in zip(groups, answers, strict=True):
        for schema, name, *values in rows:
            table = tables.get((str(schema), str(name)))
            if table is None or group not in table.groups:
                continue
            if table.method == "replication" and group != table.groups[0]:
                continue
            typed = [("NULL" if v is None else quote_literal(str(v))) + f"::{typ}"
                     for v, (_, typ) in zip(values, counters, strict=True)]
            out.append("(" + ", ".join([quote_literal(str(schema)), quote_literal(str(name)), *typed]) + ")")
    return out


def _subquery(view: str, columns: list[tuple[str, str]], counters: list[tuple[str, str]],
              node_rows: list[str]) -> str:
    names = [n for n, _ in counters]
    if not node_rows:
        return f"(SELECT * FROM pg_catalog.{view})"
    items = []
    for name, _ in columns:
        if name in _SUMMED:
            items.append(f"CASE WHEN gp_d.gp_schema IS NULL THEN s.{name} ELSE gp_d.{name} END AS {name}")
        elif name in _LATEST:
            items.append(f"CASE WHEN gp_d.gp_schema IS NULL THEN s.{name} "
                         f"ELSE GREATEST(s.{name}, gp_d.{name}) END AS {name}")
        else:
            items.append(f"s.{name}")
    aggregates = ", ".join(f"{'sum' if n in _SUMMED else 'max'}(v.{n}) AS {n}" for n in names)
    value_columns = ", ".join(["gp_schema", "gp_table", *names])
    return (f"(SELECT {', '.join(items)} FROM pg_catalog.{view} s LEFT JOIN "
            f"(SELECT v.gp_schema, v.gp_table, {aggregates} FROM (VALUES {', '.join(node_rows)}) "
            f"AS v({value_columns}) GROUP BY 1, 2) gp_d "
            "ON gp_d.gp_schema = s.schemaname AND gp_d.gp_table = s.relname)")


async def _node_rows(dispatcher: Dispatcher, group: str, sql: str) -> list[tuple[str | None, ...]]:
    conn = await dispatcher.runner.txn.connection(group, wants_block=False)
    await conn.settle()
    return await conn.query(sql)


async def _catalog_rows(dispatcher: Dispatcher, sql: str) -> list[tuple[str | None, ...]]:
    conn = await dispatcher.runner.txn.connection(dispatcher.coord.catalog_node, wants_block=False)
    await conn.settle()
    return await conn.query(sql)
