"""The fastpath function-call protocol (FunctionCall, 'F'): a call of one function by OID.

pgjdbc's LargeObjectManager (and libpq's `lo_*` client functions, psql's `\\lo_import`)
call `lo_open`, `loread`, `lowrite`, `lo_lseek64` ... this way, by the OIDs it read from
`pg_proc` through the coordinator. Here the call becomes the statement
`SELECT schema.function($1, ...)` with the arguments as bound parameters of the function's
argument types, run through the session's runner like any other, so it takes the same path
as the SQL call would (large objects at their home catalog server, in the session's
transaction); its one value is answered as FunctionCallResponse. The session ends the call
as PostgreSQL does, with ReadyForQuery (`Session.on_function_call`).

Owns: reading the message, finding the function, building the statement. Must not: talk
to a server itself.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from gridpg.errors import PROTOCOL_VIOLATION, PgError
from gridpg.pgwire import codec
from gridpg.sql.quote import quote_ident

if TYPE_CHECKING:
    from gridpg.frontend.statements import StatementRunner

UNDEFINED_FUNCTION = "42883"

_LOOKUP = (
    "SELECT n.nspname, p.proname, p.pronargs, pg_catalog.array_to_string(p.proargtypes::pg_catalog.oid[], ',')"
    " FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace"
    " WHERE p.oid = {oid}::pg_catalog.oid"
)


class FunctionCall:
    """One FunctionCall message: the function's OID, its arguments and their formats."""

    __slots__ = ("arg_formats", "args", "function_oid", "result_format")

    def __init__(self, payload: bytes) -> None:
        reader = codec.PayloadReader(payload)
        self.function_oid = reader.int32() & 0xFFFFFFFF
        self.arg_formats = [reader.int16() for _ in range(reader.int16())]
        self.args: list[bytes | None] = []
        for _ in range(reader.int16()):
            length = reader.int32()
            self.args.append(None if length == -1 else reader.bytes_n(length))
        self.result_format = reader.int16()
        reader.ensure_end()


async def call(runner: StatementRunner, payload: bytes) -> None:
    """Run the call and send its FunctionCallResponse (errors are raised)."""
    request = FunctionCall(payload)
    found = await _rows(runner, _LOOKUP.format(oid=request.function_oid), [], [], [], [0])
    if not found:
        raise PgError(UNDEFINED_FUNCTION, f"function with OID {request.function_oid} does not exist")
    schema, name, nargs, argtypes = (value.decode() if value is not None else "" for value in found[0])
    if int(nargs) != len(request.args):
        raise PgError(PROTOCOL_VIOLATION, f"function call message contains {len(request.args)} arguments"
                                          f" but function requires {nargs}")
    param_oids = [int(oid) for oid in argtypes.split(",") if oid]
    placeholders = ", ".join(f"${i}" for i in range(1, len(request.args) + 1))
    sql = f"SELECT {quote_ident(schema)}.{quote_ident(name)}({placeholders})"
    rows = await _rows(runner, sql, param_oids, request.arg_formats, request.args, [request.result_format])
    value = rows[0][0] if rows and rows[0] else None
    runner.session.send(build_function_call_response(value))


def build_function_call_response(value: bytes | None) -> bytes:
    body = b"\xff\xff\xff\xff" if value is None else len(value).to_bytes(4, "big") + value
    return b"V" + (4 + len(body)).to_bytes(4, "big") + body


async def _rows(runner: StatementRunner, sql: str, param_oids: list[int], param_formats: list[int],
                params: list[bytes | None], result_formats: list[int]) -> list[list[bytes | None]]:
    """Run `sql` as an unnamed portal of the session, its rows captured (notices and
    anything else the statement says go on to the client)."""
    from gridpg.frontend.session import Portal, PreparedStatement

    session = runner.session
    portal = Portal("", PreparedStatement("", sql, param_oids), param_formats, params, result_formats)
    saved, session.out = session.out, []
    try:
        await runner.execute_portal(portal, 0)
        captured = b"".join(session.out)
    finally:
        session.out = saved
    rows: list[list[bytes | None]] = []
    for kind, body, whole in codec.backend_messages(captured):
        if kind == 0x44:
            rows.append(codec.parse_data_row(body))
        elif kind != 0x43:
            session.send(whole)
    return rows
