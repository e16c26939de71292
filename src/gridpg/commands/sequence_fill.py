"""ALTER TABLE ... ADD COLUMN filled from a sequence, on a distributed table with rows.

`ADD COLUMN n serial`, `... GENERATED ALWAYS AS IDENTITY` or `... DEFAULT nextval('s')` (or
of a domain whose default that is, the column having none of its own):
PostgreSQL gives every existing row the sequence's next value. Each datanode running the
ALTER fills its rows from its own copy of the sequence, so two nodes hand out the same
values and none is the cluster's (it was refused, 0A000). Here, in the DDL's distributed
transaction, after the ALTER ran everywhere, each node's rows get values of the cluster's
sequence instead:

1. a sequence the statement creates (serial, identity) is new: nobody else can draw from
   it before COMMIT, so its values come from the coordinator's catalog server (in the
   DDL's transaction), and every other catalog server's copy is set to the same position
   (the GTM takes the sequence's position from a catalog server when it is first used);
   an existing sequence (`DEFAULT nextval('s')`) gives the GTM's values;
2. per datanode group, the rows are read in (tableoid, ctid) order, values taken for them,
   staged beside them in a scratch table and written back by one UPDATE joining it; a unique index over the column is kept
   satisfied by first negating the node's own values (they and the cluster's overlap);
   an identity column GENERATED ALWAYS is made BY DEFAULT for the writes, then ALWAYS again.

PostgreSQL's values follow its scan order, which SQL does not promise: here they follow
group order, then the rows' order on each node. A default that calls nextval() inside an
expression, and a REPLICATION table (its replicas' rows have no common order to number
them by), stay refused before the ALTER runs (commands/sequences.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from gridpg.errors import FEATURE_NOT_SUPPORTED, PgError
from gridpg.planner.plan import SCRATCH_SCHEMA
from gridpg.sql import parse as sqlparse
from gridpg.sql.quote import quote_ident, quote_literal, quote_qualified

if TYPE_CHECKING:
    from gridpg.catalog.model import DistTable
    from gridpg.commands.ddl import DdlRunner

BATCH = 10_000  # rows per INSERT into the scratch table
SERIAL_TYPES = frozenset({"serial", "serial2", "serial4", "serial8", "smallserial", "bigserial"})


@dataclass(frozen=True)
class AddedColumn:
    name: str
    new_sequence: bool  # serial or identity: a sequence the statement creates
    sequence: str | None  # an existing sequence's name as written (DEFAULT nextval('s'))
    always: bool  # GENERATED ALWAYS AS IDENTITY


def added_columns(cmds: list[dict[str, Any]]) -> tuple[list[AddedColumn], bool]:
    """The ADD COLUMN commands that fill from a sequence, and whether every one of them is
    served here (False: one whose default calls nextval() inside an expression, or another
    sequence function)."""
    from gridpg.executor.insert_nextval import _nextval_name
    from gridpg.planner.calls import sequence_calls

    out: list[AddedColumn] = []
    served = True
    for cmd in cmds:
        column = (cmd.get("def") or {}).get("ColumnDef") if cmd.get("subtype") == "AT_AddColumn" else None
        if not column:
            continue
        names = (column.get("typeName") or {}).get("names") or [{}]
        serial = names[-1].get("String", {}).get("sval") in SERIAL_TYPES
        identity = always = False
        sequence = None
        for constraint in (c.get("Constraint", {}) for c in column.get("constraints") or []):
            if constraint.get("contype") == "CONSTR_IDENTITY":
                identity, always = True, constraint.get("generated_when") == "a"
            elif constraint.get("contype") == "CONSTR_DEFAULT" and sequence_calls(constraint.get("raw_expr")):
                sequence = _nextval_name(constraint.get("raw_expr") or {})
                if sequence is None:
                    served = False
        if serial or identity or sequence is not None:
            out.append(AddedColumn(str(column["colname"]), serial or identity, sequence, always))
    return out, served


async def fill_added_columns(ddl: DdlRunner, sql: str, groups: list[str]) -> None:
    """After an ALTER TABLE ran on the catalog servers and `groups`: its added columns that
    fill from a sequence get the cluster's values on every row (module doc)."""
    lowered = sql.lower()
    if "add" not in lowered:
        return
    tree = sqlparse.parse_tree(sql)
    body = tree.get("AlterTableStmt") or {}
    cmds = [c.get("AlterTableCmd", {}) for c in body.get("cmds", [])]
    columns, served = added_columns(cmds)
    plain = _without_own_default(cmds)
    if not (columns and served) and not plain:
        return
    from gridpg.executor.run import catalog_view, search_path
    from gridpg.planner.analyze import RelRef

    relation = body["relation"]
    ref = RelRef(relation.get("schemaname"), relation["relname"], 0, None)
    table = catalog_view(ddl.dispatcher).resolve(ref, search_path(ddl.dispatcher))
    if table is None:
        return
    from_domains = await _domain_sequence_columns(ddl, table, plain, groups) if plain else []
    if not served or table.method not in ("hash", "modulo"):
        return
    for column in [*columns, *from_domains]:
        await _fill(ddl, table, column, [g for g in groups if g in table.groups])


def _without_own_default(cmds: list[dict[str, Any]]) -> list[str]:
    """The columns ADD COLUMN adds without a default, identity or generation of their own:
    a domain's default fills them (PostgreSQL's get_typdefault)."""
    out = []
    for cmd in cmds:
        column = (cmd.get("def") or {}).get("ColumnDef") if cmd.get("subtype") == "AT_AddColumn" else None
        if not column:
            continue
        names = (column.get("typeName") or {}).get("names") or [{}]
        kinds = {c.get("Constraint", {}).get("contype") for c in column.get("constraints") or []}
        if names[-1].get("String", {}).get("sval") not in SERIAL_TYPES \
                and not kinds & {"CONSTR_DEFAULT", "CONSTR_IDENTITY", "CONSTR_GENERATED"}:
            out.append(str(column["colname"]))
    return out


async def _domain_sequence_columns(ddl: DdlRunner, table: DistTable, names: list[str],
                                   groups: list[str]) -> list[AddedColumn]:
    """Of the columns added without a default of their own, those whose domain's default
    is exactly nextval() of a sequence (filled here like `DEFAULT nextval('s')`); a domain
    default calling a sequence function otherwise, or on a table whose rows cannot be
    numbered here (REPLICATION, ROUNDROBIN) while it has rows: 0A000, each node would
    draw from its own copy of the sequence."""
    from gridpg.catalog import store

    catalog = await ddl.conn(ddl.coord.catalog_node)
    relation = f"pg_catalog.to_regclass({quote_literal(quote_qualified(table.schema, table.name))})"
    wanted = ", ".join(quote_literal(n) for n in names)
    rows = await catalog.query(
        f"SELECT a.attname, dd.expr, dd.sequence FROM pg_catalog.pg_attribute a "
        f"JOIN LATERAL ({store.domain_default_sql('a.atttypid')}) dd ON true "
        f"WHERE a.attrelid = {relation} AND a.attname IN ({wanted}) AND NOT a.attisdropped ORDER BY a.attnum")
    out = []
    for name, expr, sequence in rows:
        if not any(f in str(expr).lower() for f in ("nextval(", "currval(", "lastval(", "setval(")):
            continue
        if sequence is None or table.method not in ("hash", "modulo"):
            if sequence is not None and not await _has_rows(ddl, table, groups):
                continue
            raise PgError(FEATURE_NOT_SUPPORTED,
                          f'column "{name}" takes its domain\'s default {expr}, which gridpg cannot compute '
                          f'for the rows of "{table.name}": each node would draw from its own copy of the sequence',
                          hint="add the column while the table is empty, or give it a DEFAULT of its own")
        out.append(AddedColumn(str(name), False, str(sequence), False))
    return out


async def _has_rows(ddl: DdlRunner, table: DistTable, groups: list[str]) -> bool:
    qualified = quote_qualified(table.schema, table.name)
    for group in [g for g in groups if g in table.groups]:
        rows = await (await ddl.conn(group)).query(f"SELECT EXISTS (SELECT FROM {qualified})")
        if rows and rows[0][0] == "t":
            return True
    return False


async def _fill(ddl: DdlRunner, table: DistTable, column: AddedColumn, groups: list[str]) -> None:
    from gridpg.commands.sequences import next_values, qualified_name
    from gridpg.executor.run import scratch_name

    qualified = quote_qualified(table.schema, table.name)
    col = quote_ident(column.name)
    catalog = await ddl.conn(ddl.coord.catalog_node)
    if column.new_sequence:
        rows = await catalog.query(f"SELECT pg_catalog.pg_get_serial_sequence({quote_literal(qualified)}, "
                                   f"{quote_literal(column.name)})")
        sequence = str(rows[0][0]) if rows and rows[0][0] else ""
    else:
        sequence = await qualified_name(ddl.dispatcher, column.sequence or "", "nextval")
    # GENERATED ALWAYS as the whole statement left it: a later `ALTER COLUMN c SET GENERATED
    # ALWAYS` of the same ALTER TABLE made an identity added BY DEFAULT refuse the writes
    # below (identity.sql:236, 428C9 "column can only be updated to DEFAULT")
    rows = await catalog.query("SELECT a.attidentity = 'a' FROM pg_catalog.pg_attribute a WHERE a.attrelid = "
                               f"{quote_literal(qualified)}::pg_catalog.regclass AND a.attname = "
                               f"{quote_literal(column.name)}")
    always = bool(rows) and rows[0][0] == "t"
    last: int | None = None
    for group in groups:
        conn = await ddl.conn(group)
        # The user's triggers must not see these writes (PostgreSQL's ADD COLUMN fires none):
        # those enabled are disabled for them, then enabled again as they were.
        enabled = await conn.query(
            "SELECT tgname, tgenabled FROM pg_catalog.pg_trigger WHERE tgrelid = "
            f"{quote_literal(qualified)}::pg_catalog.regclass AND NOT tgisinternal AND tgenabled <> 'D'")
        for name, _ in enabled:
            await conn.simple_query(f"ALTER TABLE {qualified} DISABLE TRIGGER {quote_ident(str(name))}")
        values: list[int] = []
        written = 0
        if always:
            await conn.simple_query(f"ALTER TABLE {qualified} ALTER COLUMN {col} SET GENERATED BY DEFAULT")
        unique = await conn.query(
            "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_index i JOIN pg_catalog.pg_attribute a "
            "ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey) "
            f"WHERE i.indrelid = {quote_literal(qualified)}::pg_catalog.regclass AND i.indisunique "
            f"AND a.attname = {quote_literal(column.name)})")
        if unique and unique[0][0] == "t":  # the node's own values and the cluster's overlap
            await conn.simple_query(f"UPDATE {qualified} SET {col} = -{col}")
        # (read after that UPDATE: it moved every row to a new ctid)
        # ordered by the values, not their texts (a bare `ctid` in ORDER BY is the output
        # column of that name, the text): '(0,10)' sorts before '(0,2)' (Citus's
        # multi_sequence_default.sql:37, h-citus14: the rows inserted 1, 2, 3 got 1, 12, 23)
        rows = await conn.query(f"SELECT gp_r.tableoid::pg_catalog.oid::pg_catalog.text, gp_r.ctid::pg_catalog.text "
                                f"FROM {qualified} AS gp_r ORDER BY gp_r.tableoid, gp_r.ctid")
        if rows:
            if column.new_sequence:
                drawn = await catalog.query(f"SELECT pg_catalog.nextval({quote_literal(sequence)}) "
                                            f"FROM pg_catalog.generate_series(1, {len(rows)})")
                values = [int(str(r[0])) for r in drawn]
            else:
                values = await next_values(ddl.dispatcher, sequence, len(rows))
            last = values[-1]
            # (tableoid, ctid, value) staged in batches, then one UPDATE joins them: one pass
            stage = f"{SCRATCH_SCHEMA}.{scratch_name(ddl.dispatcher, 'fill')}"
            await conn.simple_query(f"CREATE UNLOGGED TABLE {stage} (o pg_catalog.oid, c pg_catalog.tid, "
                                    "v pg_catalog.int8)")
            for start in range(0, len(rows), BATCH):
                part = rows[start : start + BATCH]
                oids = ",".join(str(r[0]) for r in part)
                ctids = ",".join(f'"{r[1]}"' for r in part)
                numbers = ",".join(str(v) for v in values[start : start + BATCH])
                await conn.simple_query(
                    f"INSERT INTO {stage} SELECT * FROM ROWS FROM ("
                    f"pg_catalog.unnest('{{{oids}}}'::pg_catalog.oid[]), "
                    f"pg_catalog.unnest('{{{ctids}}}'::pg_catalog.tid[]), "
                    f"pg_catalog.unnest('{{{numbers}}}'::pg_catalog.int8[]))")
            results = await conn.simple_query(
                f"UPDATE {qualified} AS gp_t SET {col} = gp_v.v FROM {stage} AS gp_v "
                "WHERE gp_t.tableoid = gp_v.o AND gp_t.ctid = gp_v.c")
            tag = results[-1].tag if results else ""
            written = int(tag.split()[-1]) if tag.startswith("UPDATE") else 0
            await conn.simple_query(f"DROP TABLE {stage}")
        if written != len(rows):  # (a row policy hiding rows from the owner, say): never half-filled
            raise PgError(FEATURE_NOT_SUPPORTED, f'gridpg could not fill column "{column.name}" of every row of '
                          f'"{table.name}" on {group} ({written} of {len(rows)}) from the cluster\'s sequence',
                          hint="add the column while the table is empty, or without the sequence default")
        if always:
            await conn.simple_query(f"ALTER TABLE {qualified} ALTER COLUMN {col} SET GENERATED ALWAYS")
        for name, mode in enabled:
            how = {"A": "ENABLE ALWAYS", "R": "ENABLE REPLICA"}.get(str(mode), "ENABLE")
            await conn.simple_query(f"ALTER TABLE {qualified} {how} TRIGGER {quote_ident(str(name))}")
    if column.new_sequence and last is not None:
        for node in ddl.catalog_nodes():  # every catalog server's copy at the same position
            if node != ddl.coord.catalog_node:
                await (await ddl.conn(node)).query(
                    f"SELECT pg_catalog.setval({quote_literal(sequence)}, {int(last)}, true)")
