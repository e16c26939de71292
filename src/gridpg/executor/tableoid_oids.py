"""A bare `tableoid` returned to the client is the catalog server's OID of the table.

planner/tableoid.py maps a shard's `tableoid` to its table on the datanode, which is right
wherever the value stays there (`tableoid::regclass` prints the name, `tableoid =
't'::regclass` compares the node's own OIDs). But a bare `SELECT tableoid FROM t` sent the
datanode's OID of `t` to the client, while `'t'::regclass::oid`, `pg_class.oid` and every
other OID the client sees through that coordinator are its catalog server's (each catalog
server numbers its relations itself): a join of the answer with pg_class found nothing,
silently. Here a select-list or RETURNING item that is a bare `tableoid` column becomes

    CASE (pg_catalog.pg_identify_object('pg_catalog.pg_class'::pg_catalog.regclass,
                                        tableoid, 0)).identity
      WHEN 'public.t' THEN 16550::pg_catalog.oid ... ELSE tableoid END AS tableoid

with the session's catalog server's OID of every distributed table the statement names
and of the members of their partition trees; the datanode resolves the row's table name
(`identity` is schema-qualified and quoted, so the search_path does not matter).

`tableoid` inside an expression that uses its number (`tableoid::int`, a subquery's
select list, ORDER BY) never runs on the datanodes: planner/tableoid.py sends such a
statement to the coordinator finish, which reads the catalog server's OIDs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gridpg.errors import PgError
from gridpg.sql import parse as sqlparse
from gridpg.sql.quote import quote_literal

if TYPE_CHECKING:
    from gridpg.executor.dispatch import Dispatcher

_IDENTITY = ("(pg_catalog.pg_identify_object('pg_catalog.pg_class'::pg_catalog.regclass, {ref}, 0)).identity")


def bare_targets(sql: str) -> list[tuple[int, int, bool]]:
    """(start, end, has an alias) of each top-level select-list or RETURNING item that is a
    bare `tableoid` column (pure)."""
    if "tableoid" not in sql.lower():
        return []
    try:
        tree = sqlparse.parse_tree(sql)
    except PgError:
        return []
    out = []
    toks = sqlparse.tokens(sql)
    for target in _top_targets(tree):
        ref = target.get("val", {}).get("ColumnRef")
        if not isinstance(ref, dict):
            continue
        fields = [f.get("String", {}).get("sval") for f in ref.get("fields", [])]
        if not fields or fields[-1] != "tableoid":
            continue
        start = int(ref.get("location", -1))
        end = next((t.end + 1 for t in toks if t.start >= start
                    and sql[t.start:t.end + 1].strip('"').lower() == "tableoid"), None)
        if start >= 0 and end is not None:
            out.append((start, end, bool(target.get("name"))))
    return out


def with_catalog_oids(sql: str, targets: list[tuple[int, int, bool]], oids: dict[str, int]) -> str:
    """`sql` with each bare `tableoid` target answering the catalog server's OID (pure)."""
    if not oids:
        return sql
    out, pos = [], 0
    for start, end, aliased in sorted(targets):
        ref = sql[start:end]
        cases = " ".join(f"WHEN {quote_literal(name)} THEN {int(oid)}::pg_catalog.oid"
                         for name, oid in sorted(oids.items()))
        text = f"CASE {_IDENTITY.format(ref=ref)} {cases} ELSE {ref} END"
        out += [sql[pos:start], text if aliased else f"{text} AS tableoid"]
        pos = end
    return "".join(out) + sql[pos:]


async def rewrite(dispatcher: Dispatcher, sql: str, tables: list[tuple[str, str]]) -> str:
    """`sql` with bare `tableoid` targets answering the catalog server's OIDs of `tables`
    (schema, name) and of their partitions."""
    targets = bare_targets(sql)
    if not targets or not tables:
        return sql
    names = ", ".join(quote_literal(f"{_ident(s)}.{_ident(n)}") for s, n in tables)
    rows = await _catalog_rows(dispatcher, (
        "SELECT DISTINCT (pg_catalog.pg_identify_object('pg_catalog.pg_class'::pg_catalog.regclass, m.oid, 0)).identity, "
        "m.oid FROM unnest(ARRAY[" + names + "]::text[]) AS u(name) "
        "CROSS JOIN LATERAL (SELECT pg_catalog.to_regclass(u.name)::pg_catalog.oid AS oid UNION "
        "SELECT p.relid::pg_catalog.oid FROM pg_catalog.pg_partition_tree(pg_catalog.to_regclass(u.name)) p) m "
        "WHERE m.oid IS NOT NULL"))
    return with_catalog_oids(sql, targets, {str(name): int(str(oid)) for name, oid in rows})


def _top_targets(tree: dict[str, Any]) -> list[dict[str, Any]]:
    for kind, body in tree.items():
        if not isinstance(body, dict):
            continue
        if kind == "SelectStmt":
            items = body.get("targetList") or []
        else:
            items = (body.get("returningClause") or {}).get("exprs") or body.get("returningList") or []
        return [i["ResTarget"] for i in items if isinstance(i, dict) and "ResTarget" in i]
    return []


def _ident(name: str) -> str:
    from gridpg.sql.quote import quote_ident

    return quote_ident(name)


async def _catalog_rows(dispatcher: Dispatcher, sql: str) -> list[tuple[str | None, ...]]:
    conn = await dispatcher.runner.txn.connection(dispatcher.coord.catalog_node, wants_block=False)
    await conn.settle()
    return await conn.query(sql)
