"""Resolving in-doubt two-phase transactions a coordinator left behind (DESIGN 6).

A GID reads `gridpg_<gxid>_<coordinator>`. When a coordinator starts, nothing of its own is
in flight, so every prepared transaction carrying its name is in doubt: the GTM's decision
log says what happened. A logged decision means the transaction committed (COMMIT
PREPARED wherever it is still prepared); no decision means it never did (ROLLBACK
PREPARED). Decisions are forgotten once nothing is left prepared for them.
"""

from __future__ import annotations

import logging
import re

from gridpg.datanode.connection import BackendConnection, NodeAddress
from gridpg.errors import PgError
from gridpg.gtm.client import GtmClient
from gridpg.sql.quote import quote_literal

log = logging.getLogger("gridpg.recovery")

GID = re.compile(r"^gridpg_(\d+)_(.+)$")


async def recover_in_doubt(coordinator: str, gtm: GtmClient, nodes: list[NodeAddress]) -> dict[str, int]:
    """Resolve this coordinator's prepared transactions on `nodes`; counts by outcome."""
    outcome = {"committed": 0, "rolled back": 0}
    all_reached = True
    for address in nodes:
        try:
            conn = await BackendConnection.connect(address)
        except PgError as exc:
            log.warning("recovery: node %s unreachable: %s", address.name, exc.message)
            all_reached = False
            continue
        try:
            rows = await conn.query("SELECT gid FROM pg_catalog.pg_prepared_xacts")
            for (gid,) in rows:
                match = GID.match(gid or "")
                if match is None or match.group(2) != coordinator:
                    continue
                assert gid is not None
                if await gtm.txn_is_committed(gid):
                    await conn.simple_query(f"COMMIT PREPARED {quote_literal(gid)}")
                    outcome["committed"] += 1
                else:
                    await conn.simple_query(f"ROLLBACK PREPARED {quote_literal(gid)}")
                    outcome["rolled back"] += 1
                log.info("recovery: %s on %s", gid, address.name)
        finally:
            conn.close()
    if not all_reached:
        return outcome  # a decision is kept until every node it may concern was resolved
    for decision in await gtm.txn_decisions():
        gid = str(decision.get("gid", ""))
        match = GID.match(gid)
        if match is not None and match.group(2) == coordinator:
            await gtm.txn_forget(gid)
    return outcome
