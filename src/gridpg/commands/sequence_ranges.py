"""Whether any coordinator may hold a cached range of sequence values (2026-12-07).

A coordinator worker takes a sequence's values from the GTM `CACHE` at a time and keeps
the ones it has not handed out yet (`Coordinator.sequence_values`), as a PostgreSQL
backend does. A restart (TRUNCATE ... RESTART IDENTITY, setval, ALTER SEQUENCE RESTART)
must make every coordinator drop such ranges, which is what a catalog reload does
(`Coordinator.metadata_changed`). With `CACHE 1`, PostgreSQL's default, a worker takes
exactly the values a statement asked for and keeps none: there is nothing to drop, and the
restart needs no reload anywhere. A sequence's CACHE changes only through ALTER SEQUENCE,
which reloads every coordinator (they then read the new size again), so "no sequence has a
CACHE above 1" on the catalog server now means "no coordinator holds a range". This module
answers that question; it decides nothing else and sends nothing but the query.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from gridpg.datanode.connection import BackendConnection

NONE_CACHED_SQL = "SELECT NOT EXISTS (SELECT FROM pg_catalog.pg_sequence s WHERE s.seqcache > 1)"


async def is_none_cached(conn: BackendConnection) -> bool:
    """Whether no sequence of the database has a CACHE above 1 (`conn`: a catalog server's):
    then no coordinator holds values of any, and restarting sequences drops nothing."""
    rows = await conn.query(NONE_CACHED_SQL)
    return bool(rows) and rows[0][0] == "t"
