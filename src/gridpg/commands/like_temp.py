"""CREATE TABLE of a cluster table `(LIKE temp_table ...)`: the LIKE clause spelled out.

A session's temp tables exist on its own catalog connection alone (`frontend/temps.py`),
while a permanent table's CREATE runs on every catalog server and datanode: there the
LIKE clause named a table they do not have (42P01). Before anything else runs, each LIKE
clause naming a temp relation is replaced by the table elements PostgreSQL would copy,
read from the session's catalog connection (which sees the temp table): the columns with
their exact types and collations and their NOT NULL constraints (always), and, as the
clause's options ask, defaults, generated expressions, identity, storage, compression,
CHECK constraints and the primary key / unique / exclusion constraints. The statement then
takes the ordinary CREATE TABLE path, distribution by the usual rules; what one CREATE
TABLE cannot carry (indexes that are no constraint, extended statistics, comments of
columns and constraints) follows as CREATE INDEX / CREATE STATISTICS / COMMENT ON of the
new table in the same transaction (commands/ddl.py).

What gridpg cannot reproduce exactly (comments of the copied indexes and statistics, whose
new names PostgreSQL chooses; statistics targets), temporary types and
expressions that read a temp object (a `serial` column's default reads the temp table's own
sequence: PostgreSQL would make the permanent table depend on it, its default vanishing
with the session) are refused with 0A000 naming them, never dropped. This module only
reads the catalog.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pglast import ast
from pglast.enums import TableLikeOption
from pglast.stream import RawStream

from gridpg.errors import FEATURE_NOT_SUPPORTED, PgError

WRONG_OBJECT_TYPE = "42809"
from gridpg.sql.parse import parse_sql
from gridpg.sql.quote import quote_ident, quote_literal, quote_qualified

if TYPE_CHECKING:
    from gridpg.datanode.connection import BackendConnection

_COMMENTS = TableLikeOption.CREATE_TABLE_LIKE_COMMENTS
_COMPRESSION = TableLikeOption.CREATE_TABLE_LIKE_COMPRESSION
_CONSTRAINTS = TableLikeOption.CREATE_TABLE_LIKE_CONSTRAINTS
_DEFAULTS = TableLikeOption.CREATE_TABLE_LIKE_DEFAULTS
_GENERATED = TableLikeOption.CREATE_TABLE_LIKE_GENERATED
_IDENTITY = TableLikeOption.CREATE_TABLE_LIKE_IDENTITY
_INDEXES = TableLikeOption.CREATE_TABLE_LIKE_INDEXES
_STATISTICS = TableLikeOption.CREATE_TABLE_LIKE_STATISTICS
_STORAGE = TableLikeOption.CREATE_TABLE_LIKE_STORAGE

_KIND_WORDS = {"S": "sequences", "i": "indexes", "I": "partitioned indexes", "t": "TOAST tables"}
_STORAGE_WORDS = {"p": "PLAIN", "e": "EXTERNAL", "m": "MAIN", "x": "EXTENDED"}
_COMPRESSION_WORDS = {"p": "pglz", "l": "lz4"}


@dataclass(frozen=True)
class Expansion:
    """The CREATE TABLE spelled out, and the statements that complete the copy after it
    (CREATE INDEX, CREATE STATISTICS, COMMENT ON), run in the same transaction."""

    sql: str
    after: tuple[str, ...]


async def expand(conn: BackendConnection, sql: str, schema: str | None, name: str) -> Expansion | None:
    """`sql` (a CREATE TABLE of the non-temp table `schema`.`name`) with each LIKE clause
    naming a temp relation replaced by explicit elements; None when it has no such clause."""
    stmt = parse_sql(sql)[0].stmt
    if not isinstance(stmt, ast.CreateStmt) or not any(
            isinstance(e, ast.TableLikeClause) for e in stmt.tableElts or ()):
        return None
    elements: list[Any] = []
    after: list[str] = []
    target = ast.RangeVar(schemaname=schema, relname=name, inh=True, relpersistence="p")
    expanded = False
    for element in stmt.tableElts or ():
        if isinstance(element, ast.TableLikeClause) and element.relation is not None:
            source = await _temp_source(conn, element.relation)
            if source is not None:
                text = await _elements(conn, source, element.relation.relname or "", element.options or 0,
                                       target, after)
                if text:
                    created = parse_sql(f"CREATE TABLE t ({text})")[0].stmt
                    elements.extend(created.tableElts or ())
                expanded = True
                continue
        elements.append(element)
    if not expanded:
        return None
    stmt.tableElts = tuple(elements) or None
    return Expansion(str(RawStream()(stmt)), tuple(after))


def _refuse(source: str, option: str, what: str, hint: str) -> PgError:
    return PgError(FEATURE_NOT_SUPPORTED,
                   f'CREATE TABLE (LIKE "{source}" INCLUDING {option}) of a temporary table: {what} '
                   f'cannot be copied to a table of the cluster', hint=hint)


async def _temp_source(conn: BackendConnection, relation: Any) -> str | None:
    """The oid of the LIKE clause's relation when it is one of the session's temp relations."""
    qualified = quote_qualified(relation.schemaname, relation.relname)
    rows = await conn.query(
        "SELECT c.oid, c.relkind FROM pg_catalog.pg_class c WHERE c.relpersistence = 't' "
        f"AND c.oid = pg_catalog.to_regclass({quote_literal(qualified)})")
    if not rows or not rows[0][0]:
        return None
    if rows[0][1] not in ("r", "v", "m", "c", "f", "p"):  # a temp sequence: PostgreSQL's error
        raise PgError(WRONG_OBJECT_TYPE, f'relation "{relation.relname}" is invalid in LIKE clause',
                      detail=f'This operation is not supported for {_KIND_WORDS.get(rows[0][1] or "", "this relation")}.')
    return str(rows[0][0])


# Whether the object `objid` of catalog `classid` (a default, a constraint, an index)
# depends on an object of a temp schema other than the table `rel` itself or its constraints.
_READS_TEMP = """EXISTS (SELECT 1 FROM pg_catalog.pg_depend dep
  CROSS JOIN LATERAL pg_catalog.pg_identify_object(dep.refclassid, dep.refobjid, 0) o
  WHERE dep.classid = {classid} AND dep.objid = {objid}
    AND NOT (dep.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass AND dep.refobjid = {rel})
    AND NOT (dep.refclassid = 'pg_catalog.pg_constraint'::pg_catalog.regclass AND dep.refobjid IN (
      SELECT own.oid FROM pg_catalog.pg_constraint own WHERE own.conrelid = {rel}))
    AND (o.schema LIKE 'pg\\_temp\\_%' OR o.schema LIKE 'pg\\_toast\\_temp\\_%'))"""

_COLUMNS_SQL = """SELECT a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod),
  tn.nspname LIKE 'pg\\_temp\\_%',
  CASE WHEN a.attcollation <> 0 AND a.attcollation <> t.typcollation THEN cn.nspname END, co.collname,
  a.attnotnull, nn.conname, nn.connoinherit,
  pg_catalog.pg_get_expr(d.adbin, d.adrelid), a.attgenerated, a.attidentity,
  a.attstorage, t.typstorage, a.attcompression,
  pg_catalog.col_description(a.attrelid, a.attnum) IS NOT NULL,
  d.oid IS NOT NULL AND {reads_temp},
  s.seqstart, s.seqincrement, s.seqmin, s.seqmax, s.seqcache, s.seqcycle,
  pg_catalog.col_description(a.attrelid, a.attnum)
FROM pg_catalog.pg_attribute a
JOIN pg_catalog.pg_type t ON t.oid = a.atttypid
JOIN pg_catalog.pg_namespace tn ON tn.oid = t.typnamespace
LEFT JOIN pg_catalog.pg_collation co ON co.oid = a.attcollation
LEFT JOIN pg_catalog.pg_namespace cn ON cn.oid = co.collnamespace
LEFT JOIN pg_catalog.pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
LEFT JOIN pg_catalog.pg_constraint nn ON nn.conrelid = a.attrelid AND nn.contype = 'n'
  AND nn.conkey[1] = a.attnum
LEFT JOIN pg_catalog.pg_sequence s
  ON s.seqrelid = pg_catalog.pg_get_serial_sequence({rel_text}, a.attname)::pg_catalog.regclass
  AND a.attidentity <> ''
WHERE a.attrelid = {rel} AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum"""

_CONSTRAINTS_SQL = """SELECT c.conname, c.contype, pg_catalog.pg_get_constraintdef(c.oid),
  {reads_temp}, pg_catalog.obj_description(c.oid, 'pg_constraint')
FROM pg_catalog.pg_constraint c WHERE c.conrelid = {rel} AND c.contype IN ('c', 'n') ORDER BY c.oid"""

_INDEXES_SQL = """SELECT ic.relname, con.contype, COALESCE(pg_catalog.pg_get_constraintdef(con.oid),
    pg_catalog.pg_get_indexdef(i.indexrelid)),
  {reads_temp}, pg_catalog.obj_description(i.indexrelid, 'pg_class') IS NOT NULL
FROM pg_catalog.pg_index i JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid
LEFT JOIN pg_catalog.pg_constraint con ON con.conindid = i.indexrelid AND con.conrelid = i.indrelid
  AND con.contype IN ('p', 'u', 'x')
WHERE i.indrelid = {rel} ORDER BY i.indexrelid"""


async def _elements(conn: BackendConnection, rel: str, source: str, options: int, target: Any,
                    after: list[str]) -> str:
    """The table elements PostgreSQL's LIKE copies from temp relation `rel` (an oid); the
    statements completing the copy appended to `after`."""
    rel_sql = f"{int(rel)}::pg_catalog.oid"
    columns = await conn.query(_COLUMNS_SQL.format(
        rel=rel_sql, rel_text=f"{int(rel)}::pg_catalog.regclass::pg_catalog.text",
        reads_temp=_READS_TEMP.format(classid="'pg_catalog.pg_attrdef'::pg_catalog.regclass",
                                      objid="d.oid", rel=rel_sql)))
    parts = [_column(row, source, options) for row in columns]
    qualified = str(RawStream()(target))
    if options & _COMMENTS:
        after.extend(f"COMMENT ON COLUMN {qualified}.{quote_ident(row[0] or '')} IS {quote_literal(row[-1])}"
                     for row in columns if row[-1] is not None)
    parts.extend(await _checks(conn, rel_sql, source, options, qualified, after))
    if options & _INDEXES:
        parts.extend(await _index_constraints(conn, rel_sql, source, options, target, after))
    if options & _STATISTICS:
        after.extend(await _statistics(conn, rel_sql, source, options, target))
    return ", ".join(parts)


def _column(row: tuple[Any, ...], source: str, options: int) -> str:
    (name, type_text, temp_type, coll_schema, coll_name, notnull, nn_name, nn_noinherit, expr,
     generated, identity, storage, type_storage, compression, _has_comment, default_reads_temp,
     seq_start, seq_increment, seq_min, seq_max, seq_cache, seq_cycle, _comment) = row
    if temp_type == "t":
        raise PgError(FEATURE_NOT_SUPPORTED, f'CREATE TABLE (LIKE "{source}"): column "{name}" is of a '
                      f'temporary type ({type_text}), which a table of the cluster cannot use')
    text = f"{quote_ident(name)} {type_text}"
    if options & _STORAGE and storage != type_storage and storage in _STORAGE_WORDS:
        text += f" STORAGE {_STORAGE_WORDS[storage]}"
    if options & _COMPRESSION and compression in _COMPRESSION_WORDS:
        text += f" COMPRESSION {_COMPRESSION_WORDS[compression]}"
    if coll_schema:
        text += f" COLLATE {quote_qualified(coll_schema, coll_name)}"
    if notnull == "t" and nn_name:
        text += f" CONSTRAINT {quote_ident(nn_name)} NOT NULL{' NO INHERIT' if nn_noinherit == 't' else ''}"
    elif notnull == "t":
        text += " NOT NULL"
    if expr is not None and generated in ("s", "v") and options & _GENERATED:
        if default_reads_temp == "t":
            raise _refuse(source, "GENERATED", f'the expression of column "{name}" reads a temporary object, it',
                          "use EXCLUDING GENERATED")
        text += f" GENERATED ALWAYS AS ({expr}) {'STORED' if generated == 's' else 'VIRTUAL'}"
    elif expr is not None and not generated and options & _DEFAULTS:
        if default_reads_temp == "t":
            raise _refuse(source, "DEFAULTS", f'the default of column "{name}" ({expr}) reads a temporary '
                          f'object (a serial column\'s sequence is one), it',
                          "use EXCLUDING DEFAULTS, or give the column a default of its own")
        text += f" DEFAULT {expr}"
    if identity and options & _IDENTITY:
        text += (f" GENERATED {'ALWAYS' if identity == 'a' else 'BY DEFAULT'} AS IDENTITY "
                 f"(START WITH {int(seq_start)} INCREMENT BY {int(seq_increment)} MINVALUE {int(seq_min)} "
                 f"MAXVALUE {int(seq_max)} CACHE {int(seq_cache)}{' CYCLE' if seq_cycle == 't' else ' NO CYCLE'})")
    return text


async def _checks(conn: BackendConnection, rel_sql: str, source: str, options: int, qualified: str,
                  after: list[str]) -> list[str]:
    """CHECK constraints under their names; their comments and those of the NOT NULL
    constraints (copied with the columns) as COMMENT ON CONSTRAINT after."""
    rows = await conn.query(_CONSTRAINTS_SQL.format(rel=rel_sql, reads_temp=_READS_TEMP.format(
        classid="'pg_catalog.pg_constraint'::pg_catalog.regclass", objid="c.oid", rel=rel_sql)))
    out = []
    for name, contype, definition, reads_temp, comment in rows:
        if contype == "c" and not options & _CONSTRAINTS:
            continue
        if contype == "c" and reads_temp == "t":
            raise _refuse(source, "CONSTRAINTS", f'constraint "{name}" reads a temporary object, it',
                          "use EXCLUDING CONSTRAINTS")
        if contype == "c":
            out.append(f"CONSTRAINT {quote_ident(name or '')} {definition}")
        if comment is not None and options & _COMMENTS:
            after.append(f"COMMENT ON CONSTRAINT {quote_ident(name or '')} ON {qualified} IS {quote_literal(comment)}")
    return out


async def _index_constraints(conn: BackendConnection, rel_sql: str, source: str, options: int,
                             target: Any, after: list[str]) -> list[str]:
    """Primary key, unique and exclusion constraints, unnamed: PostgreSQL names the copies
    after the new table (perm_pkey), as it names these; other indexes as CREATE INDEX after,
    unnamed too (perm_lower_idx)."""
    rows = await conn.query(_INDEXES_SQL.format(rel=rel_sql, reads_temp=_READS_TEMP.format(
        classid="'pg_catalog.pg_class'::pg_catalog.regclass", objid="i.indexrelid", rel=rel_sql)))
    out = []
    for index, contype, definition, reads_temp, commented in rows:
        if reads_temp == "t":
            raise _refuse(source, "INDEXES", f'index "{index}" reads a temporary object, it',
                          "use EXCLUDING INDEXES")
        if commented == "t" and options & _COMMENTS:
            raise _refuse(source, "COMMENTS", f'the comment of index "{index}"',
                          "use EXCLUDING COMMENTS and COMMENT ON INDEX on the new table")
        if contype is None:
            after.append(_on_target(definition or "", target))
        else:
            out.append(definition or "")
    return out


async def _statistics(conn: BackendConnection, rel_sql: str, source: str, options: int,
                      target: Any) -> list[str]:
    """Extended statistics as CREATE STATISTICS, unnamed (PostgreSQL names the copies after
    the new table)."""
    rows = await conn.query(
        "SELECT s.stxname, pg_catalog.pg_get_statisticsobjdef(s.oid), "
        "pg_catalog.obj_description(s.oid, 'pg_statistic_ext') IS NOT NULL, s.stxstattarget IS NOT NULL "
        f"FROM pg_catalog.pg_statistic_ext s WHERE s.stxrelid = {rel_sql} ORDER BY s.oid")
    out = []
    for name, definition, commented, target_set in rows:
        if commented == "t" and options & _COMMENTS:
            raise _refuse(source, "COMMENTS", f'the comment of statistics "{name}"',
                          "use EXCLUDING COMMENTS and COMMENT ON STATISTICS on the new table's")
        if target_set == "t":
            raise _refuse(source, "STATISTICS", f'the statistics target of statistics "{name}"',
                          "use EXCLUDING STATISTICS and CREATE STATISTICS on the new table")
        out.append(_on_target(definition or "", target))
    return out


def _on_target(definition: str, target: Any) -> str:
    """pg_get_indexdef's / pg_get_statisticsobjdef's text made about the new table, unnamed."""
    stmt = parse_sql(definition)[0].stmt
    if isinstance(stmt, ast.IndexStmt):
        stmt.idxname = None
        stmt.relation = target
    else:
        stmt.defnames = None
        stmt.relations = (target,)
    return str(RawStream()(stmt))
