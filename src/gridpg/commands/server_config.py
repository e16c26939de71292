"""The servers' configuration through a coordinator: ALTER SYSTEM and pg_reload_conf().

`ALTER SYSTEM SET work_mem = '64MB'` through a coordinator is written on every catalog
server and datanode (commands/ddl.py, node by node), as a DBA tuning the cluster expects.
Two things kept it from working as on one server:

* `SELECT pg_reload_conf()` reloaded the catalog server alone (a per-server function
  called without tables runs there): the datanodes kept the old values until their next
  restart, though every server had the new file. It now reloads every server the
  coordinator reaches (its catalog server first, as the client, so that PostgreSQL's own
  permission check answers; then the other catalog servers and every datanode group's
  primary as the cluster superuser), and answers true as PostgreSQL does. Likewise
  `SELECT pg_stat_reset()` (the counters pg_stat_user_tables sums are the datanodes') and
  CHECKPOINT (run before a backup or a benchmark, it checkpointed the catalog server alone).
* Some settings are gridpg's: the address, port and socket directory it reaches each
  server at, what two-phase commit, standbys, failover, shard moves and archiving need
  (`PgServer.base_settings`, `archive_settings`, the synchronous standby names failover
  writes). ALTER SYSTEM of them, and ALTER SYSTEM RESET ALL (which takes failover's own
  setting with it), took effect at the next restart and left gridpg unable to reach its
  servers or to commit. They are refused (0A000) before any server is asked.

Standbys keep their own postgresql.auto.conf (the file is not replicated): ALTER SYSTEM
reaches the primaries only, as gridpg runs DDL.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from gridpg.errors import FEATURE_NOT_SUPPORTED, PgError
from gridpg.sql import parse as sqlparse

if TYPE_CHECKING:
    from gridpg.executor.dispatch import Dispatcher, ExecRequest

log = logging.getLogger("gridpg.config")

MANAGED = frozenset({
    "listen_addresses", "port", "unix_socket_directories", "max_prepared_transactions", "wal_level",
    "max_wal_senders", "max_replication_slots", "hot_standby", "wal_log_hints", "password_encryption",
    "archive_mode", "archive_command", "archive_library", "restore_command", "synchronous_standby_names",
    "primary_conninfo", "primary_slot_name", "hba_file", "ident_file", "data_directory", "config_file",
})
# Calls that act on the server they run on, made alone by a client for the cluster's sake:
# reload the configuration files, zero the statistics counters (the datanodes' feed
# pg_stat_user_tables, commands/table_stats.py)
EVERYWHERE = frozenset({"pg_reload_conf", "pg_stat_reset"})


def ensure_settable(kind: str, tree: dict[str, Any]) -> None:
    """Refuse ALTER SYSTEM of a setting gridpg manages on its servers, or RESET ALL."""
    if kind != "AlterSystemStmt":
        return
    setstmt = (tree[kind].get("setstmt") or {})
    if setstmt.get("kind") == "VAR_RESET_ALL":
        raise PgError(FEATURE_NOT_SUPPORTED, "ALTER SYSTEM RESET ALL is not supported by gridpg",
                      detail="It would also reset the settings gridpg keeps on its servers "
                             "(the synchronous standbys failover names).",
                      hint="Reset the parameters one by one.")
    name = str(setstmt.get("name") or "").lower()
    if name in MANAGED:
        raise PgError(FEATURE_NOT_SUPPORTED, f'parameter "{name}" is managed by gridpg on its servers',
                      detail="gridpg reaches, commits on and fails over its servers with it; "
                             "a value set by ALTER SYSTEM would take over at their next restart.",
                      hint="Addresses and ports are set in the cluster's topology file (gridpg.toml).")


def everywhere_call(sql: str) -> str | None:
    """What to run on every other server for `SELECT pg_reload_conf()` / `pg_stat_reset()`
    (or `pg_catalog.`) alone, or CHECKPOINT; None: any other statement."""
    lowered = sql.lower()
    if "checkpoint" in lowered:
        try:
            if sqlparse.node_type(sqlparse.parse_tree(sql)) == "CheckPointStmt":
                return "CHECKPOINT"
        except PgError:
            return None
    if not any(name in lowered for name in EVERYWHERE):
        return None
    found = sqlparse.lone_call(sql)
    return f"SELECT pg_catalog.{found[0]}()" if found is not None and found[0] in EVERYWHERE else None


async def call_everywhere(dispatcher: Dispatcher, request: ExecRequest, sql: str) -> None:
    """The client's statement on its catalog server (its answer relayed: PostgreSQL's own
    permission check), then `sql` on every other server as the cluster superuser."""
    coord = dispatcher.coord
    await dispatcher.run_on_node(coord.catalog_node, request, writes=False)
    others = [a.name for a in coord.other_catalogs] + sorted(coord.datanode_addresses)
    for node in others:
        try:
            await coord.internal_query(node, sql)
        except PgError as exc:  # (a server down: it reads its files when it starts)
            log.warning("%s on %s failed: %s", sql, node, exc.message)
            dispatcher.session.say(f"{sql} did not run on server {node}: {exc.message}", "WARNING", "01000")
