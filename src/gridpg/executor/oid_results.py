"""Binary results of OID-valued types (regclass, regtype, regproc, ... and their arrays).

Every server numbers its objects itself. A regclass value a datanode computes or stores
is that datanode's OID: its text output is the object's name, the same on every server,
but its binary output is the number, which the client must get from the catalog server
(`pg_class.oid`). A portal that asks for such a column in binary is run with that column
in text; the names are then turned into the catalog server's binary values by the
catalog server itself (`regclasssend('t'::regclass)`), one query per type for all the
distinct names of the result, and the rows reach the client with the values replaced.

The binary form of an array names its element type by OID, and a composite's names the
type of each field: an array of an enum or of a composite, a composite (a table's row
type, PostgreSQL's `inventory_item` of the manual's rowtypes chapter) or a domain over
one carries the datanode's OIDs of the user's types. psycopg's binary loaders pick the
element's loader by that OID: `[b'red', b'blue']` for an enum array, raw bytes for an
array of composites. Such columns (`user_types`: the catalog server's OIDs of those types,
read at each catalog reload) take the same way: text from the nodes, the catalog server's
`typsend` of each value. Not covered: anonymous records (`record`, `record[]`), which
have no text input to cast to.

Owns only that translation; what runs where is the planner's. Results whose last step
ran on the catalog server (it parsed the names into its own OIDs) come out the same.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import TYPE_CHECKING, Any

from gridpg.errors import UNDEFINED_OBJECT, PgError
from gridpg.pgwire import codec
from gridpg.sql import parse as sqlparse
from gridpg.sql.quote import quote_literal

if TYPE_CHECKING:
    from gridpg.executor.dispatch import ExecRequest
    from gridpg.frontend.statements import StatementRunner

# type OID -> (type name, binary send function), the reg* types and their arrays
_SCALARS = {24: "regproc", 2202: "regprocedure", 2203: "regoper", 2204: "regoperator",
            2205: "regclass", 2206: "regtype", 3734: "regconfig", 3769: "regdictionary",
            4089: "regnamespace", 4096: "regrole", 4191: "regcollation"}
_ARRAYS = {1008: 24, 2207: 2202, 2208: 2203, 2209: 2204, 2210: 2205, 2211: 2206, 3735: 3734,
           3770: 3769, 4090: 4089, 4097: 4096, 4192: 4191}
_DATA_ROW = b"D"
_COMMAND_COMPLETE = b"C"


# Statements whose rows may come from datanodes; the rest (FETCH of a cursor, which gridpg
# declares over gathered rows on the catalog server, SHOW, ...) are answered there.
_FROM_DATANODES = frozenset({"SelectStmt", "InsertStmt", "UpdateStmt", "DeleteStmt", "MergeStmt",
                             "ExecuteStmt"})


def oid_columns(sql: str, row_description: bytes | None, result_formats: list[int],
                user_types: frozenset[int] = frozenset()) -> dict[int, int]:
    """{column position: type OID} of the OID-valued columns the client wants in binary
    (reg* types, and `user_types`: arrays of user types, composites, domains over them),
    of a statement whose rows may come from datanodes."""
    if row_description is None or 1 not in result_formats:
        return {}
    return dict(_oid_columns(sql, row_description, tuple(result_formats), user_types))


@functools.lru_cache(maxsize=4096)  # (per Execute of binary clients: asyncpg asks binary always)
def _oid_columns(sql: str, row_description: bytes, result_formats: tuple[int, ...],
                 user_types: frozenset[int]) -> tuple[tuple[int, int], ...]:
    return tuple(_find_oid_columns(sql, row_description, list(result_formats), user_types).items())


def _find_oid_columns(sql: str, row_description: bytes, result_formats: list[int],
                      user_types: frozenset[int] = frozenset()) -> dict[int, int]:
    columns = codec.parse_row_description(row_description[5:])
    formats = result_formats * len(columns) if len(result_formats) == 1 else result_formats
    if len(formats) != len(columns):
        return {}  # the Bind's own error is PostgreSQL's, reported elsewhere
    found = {i: c.type_oid for i, (c, f) in enumerate(zip(columns, formats, strict=True))
             if f == 1 and (c.type_oid in _SCALARS or c.type_oid in _ARRAYS or c.type_oid in user_types)}
    try:
        return found if found and sqlparse.node_type(sqlparse.parse_tree(sql)) in _FROM_DATANODES else {}
    except PgError:
        return {}


async def run_translated(runner: StatementRunner, request: ExecRequest, columns: dict[int, int],
                         column_count: int) -> None:
    """Run `request` with `columns` in text and send its rows with them in the catalog
    server's binary values; a row limit (`request.max_rows`) is served from the rows kept."""
    from gridpg.executor.multi import BufferedRows

    formats = list(request.result_formats)
    if len(formats) == 1:
        formats *= column_count
    for position in columns:
        formats[position] = 0
    session = runner.session
    saved, session.out = session.out, []
    try:
        await runner.run(dataclasses.replace(request, result_formats=formats, max_rows=0, portal=None))
        captured = session.out
    finally:
        session.out = saved
    rows: list[bytes] = []
    tag = ""
    # A statement the catalog server answered (no distributed table: `SELECT $1::a_composite`)
    # left its cycle there open, its ReadyForQuery unread: the lookups on that connection
    # below had taken it for their own answer (no rows: 42704 for a type that exists).
    await runner.sync_pending()
    values = await _catalog_values(runner, captured, columns)
    for message in captured:
        kind = message[:1]
        if kind == _DATA_ROW:
            row = codec.parse_data_row(message[5:])
            for position, type_oid in columns.items():
                text = row[position]
                if text is not None:
                    row[position] = values[(type_oid, text)]
            rows.append(codec.build_data_row(row))
        elif kind == _COMMAND_COMPLETE:
            tag = message[5:-1].decode()
        else:
            session.send(message)
    if not tag:
        return  # (no CommandComplete: an error or notice was all there was)
    cursor = BufferedRows(rows, tag)
    if request.max_rows and request.portal is not None:
        request.portal.cursor = cursor
    cursor.serve(session.send, request.max_rows if request.portal is not None else 0)


async def _catalog_values(runner: StatementRunner, captured: list[bytes],
                          columns: dict[int, int]) -> dict[tuple[int, bytes], bytes]:
    """(type OID, text) -> the catalog server's binary value, for every value captured."""
    wanted: dict[int, set[bytes]] = {}
    for message in captured:
        if message[:1] == _DATA_ROW:
            row = codec.parse_data_row(message[5:])
            for position, type_oid in columns.items():
                if row[position] is not None:
                    wanted.setdefault(type_oid, set()).add(row[position])
    if not wanted:
        return {}
    catalog = await runner.txn.connection(runner.coord.catalog_node, wants_block=False)
    out: dict[tuple[int, bytes], bytes] = {}
    for type_oid, texts in wanted.items():
        ordered = sorted(texts)
        for text, value in zip(ordered, await _send_all(catalog, type_oid, ordered), strict=True):
            out[(type_oid, text)] = value
    return out


async def _send_all(catalog: Any, type_oid: int, texts: list[bytes]) -> list[bytes]:
    """The binary form of each text value of the type, as the catalog server sends it."""
    element = _ARRAYS.get(type_oid)
    if element:
        type_name, send = f"pg_catalog.{_SCALARS[element]}[]", "pg_catalog.array_send"
    elif type_oid in _SCALARS:
        type_name, send = f"pg_catalog.{_SCALARS[type_oid]}", f"pg_catalog.{_SCALARS[type_oid]}send"
    else:  # a user's type: its name and send function as the catalog server spells them
        rows = await catalog.query(
            "SELECT pg_catalog.format_type(t.oid, NULL), pg_catalog.quote_ident(n.nspname) || '.' || "
            "pg_catalog.quote_ident(p.proname) FROM pg_catalog.pg_type t JOIN pg_catalog.pg_proc p "
            "ON p.oid = t.typsend JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace "
            f"WHERE t.oid = {int(type_oid)}")
        if not rows:
            raise PgError(UNDEFINED_OBJECT, f"type with OID {int(type_oid)} does not exist")
        type_name, send = rows[0][0], rows[0][1]
    literals = ", ".join(quote_literal(t.decode()) for t in texts)
    rows = await catalog.query(
        f"SELECT pg_catalog.encode({send}(v::{type_name}), 'hex') FROM pg_catalog.unnest("
        f"ARRAY[{literals}]::pg_catalog.text[]) WITH ORDINALITY AS u(v, n) ORDER BY n")
    return [bytes.fromhex(row[0] or "") for row in rows]
