"""Cluster-wide sequences for `SELECT nextval('s')`, `currval('s')` and `setval('s', n)`.

The form ORMs and drivers use (one call, no FROM) is answered from the GTM, so every
coordinator hands out distinct values; serial and identity columns of distributed tables
take theirs from the same GTM sequences. Values come in cached ranges per coordinator, as
with PostgreSQL's CACHE: unique, not necessarily in call order across coordinators; setval
drops every coordinator's cached ranges.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gridpg.errors import PgError
from gridpg.pgwire import codec
from gridpg.sql.quote import quote_literal

if TYPE_CHECKING:
    from gridpg.executor.dispatch import Dispatcher, ExecRequest


async def run(dispatcher: Dispatcher, request: ExecRequest, function: str, column: str,
              args: list[Any]) -> None:
    from gridpg.planner.analyze import value_of
    from gridpg.planner.context import UNKNOWN, value_text

    texts = []
    for arg in args:
        value = value_of(arg)
        text = value_text(value, request.bound()) if value is not None else UNKNOWN
        if text is UNKNOWN:
            raise PgError("0A000", f"{function}() through gridpg takes constant or parameter arguments")
        texts.append(text)
    if not texts or texts[0] is None:
        raise PgError("22004", f"{function}() needs a sequence name")
    name = await _qualified(dispatcher, str(texts[0]))
    coord = dispatcher.coord
    last = dispatcher.runner.sequence_values
    if function == "nextval":
        result = (await coord.sequence_values(name, 1))[0]
        last[name] = result
        dispatcher.runner.last_sequence = name
    elif function == "currval":
        if name not in last:
            raise PgError("55000", f'currval of sequence "{name.split(".")[-1].strip(chr(34))}" '
                          "is not yet defined in this session")
        result = last[name]
    else:
        if len(texts) < 2 or texts[1] is None:
            raise PgError("22004", "setval() needs a value")
        result = int(texts[1])
        is_called = len(texts) < 3 or str(texts[2]).lower() in ("true", "t", "on", "1")
        await coord.ensure_sequence(name)
        await coord.gtm.seq_setval(name, result, is_called)
        # Every coordinator drops its cached ranges (a metadata epoch bump reloads them all).
        await coord.metadata_changed()
    send = dispatcher.session.send
    if request.simple:
        send(codec.build_row_description([codec.Column(column, type_oid=20, type_size=8)]))
    send(codec.build_data_row([str(result).encode()]))
    send(codec.build_command_complete("SELECT 1"))


async def _qualified(dispatcher: Dispatcher, name: str) -> str:
    """The sequence as `schema.name` (quoted like pg_get_serial_sequence), via the catalog."""
    conn = await dispatcher.runner.txn.connection(dispatcher.coord.catalog_node, wants_block=False)
    rows = await conn.query(
        "SELECT pg_catalog.format('%I.%I', n.nspname, c.relname) FROM pg_catalog.pg_class c "
        "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
        f"WHERE c.oid = pg_catalog.to_regclass({quote_literal(name)}) AND c.relkind = 'S'"
    )
    if not rows:
        raise PgError("42P01", f'relation "{name}" does not exist')
    return str(rows[0][0])
