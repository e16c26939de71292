"""Functions whose value is the answering server's own, in statements over distributed
tables. Pure.

A statement over distributed tables runs (partly) on the datanodes, each a PostgreSQL of its
own: its transaction id (`txid_current()`, `pg_current_xact_id()`), snapshot, WAL position,
start time, temp schema and data directory are not the ones the client's other statements
see from the coordinator's catalog server, and differ from node to node within one
statement (`SELECT txid_current(), count(*) FROM t` answered one node's xid; an INSERT ...
SELECT stored each node's). `ensure_none` refuses such a call (0A000) instead (except in
a comparison with a row's `xmin`/`xmax`, which the row's node answers right); in a
statement of its own the call is answered by the catalog server, the same for every
statement of the session's transaction. An INSERT's VALUES too: they are evaluated before
routing in a transaction of their own on the catalog server (executor/values.py), whose
xid the client's transaction never sees.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from gridpg.errors import FEATURE_NOT_SUPPORTED, PgError

PER_SERVER_FUNCTIONS = frozenset({
    "txid_current", "txid_current_if_assigned", "txid_current_snapshot", "txid_status",
    "txid_visible_in_snapshot", "pg_current_xact_id", "pg_current_xact_id_if_assigned",
    "pg_current_snapshot", "pg_xact_status", "pg_visible_in_snapshot", "pg_snapshot_xmin",
    "pg_snapshot_xmax", "pg_snapshot_xip", "txid_snapshot_xmin", "txid_snapshot_xmax", "txid_snapshot_xip",
    "pg_postmaster_start_time", "pg_conf_load_time", "pg_my_temp_schema", "pg_current_wal_lsn",
    "pg_current_wal_insert_lsn", "pg_current_wal_flush_lsn", "pg_last_wal_receive_lsn",
    "pg_last_wal_replay_lsn", "pg_last_xact_replay_timestamp", "pg_export_snapshot",
    "pg_xact_commit_timestamp", "pg_last_committed_xact", "pg_control_system", "pg_control_checkpoint",
    "pg_current_logfile",
})
# Settings that name the server itself (current_setting('port') is the coordinator's:
# sql/connection_values.py)
PER_SERVER_SETTINGS = frozenset({
    "data_directory", "config_file", "hba_file", "ident_file", "external_pid_file", "listen_addresses",
    "cluster_name", "unix_socket_directories", "log_directory",
})


def ensure_none(tree: dict[str, Any], kind: str) -> None:
    """Refuse a statement over distributed tables calling a per-server function."""
    for node in _walk(tree.get(kind) or {}):
        call = node.get("FuncCall") if isinstance(node, dict) else None
        if not isinstance(call, dict):
            continue
        name = _name(call)
        setting = _setting(call) if name == "current_setting" else None
        if name in PER_SERVER_FUNCTIONS or setting in PER_SERVER_SETTINGS or setting == "":
            what = f"{name}()" if name != "current_setting" else f"current_setting('{setting or '...'}')"
            raise PgError(FEATURE_NOT_SUPPORTED,
                          f"{what} in a statement over distributed tables is not supported by gridpg: "
                          "each datanode would answer its own",
                          hint=f"Call {what} in a statement of its own.")


def per_server_calls(tree: Any) -> list[str]:
    """The per-server functions `tree` calls (without the row-xmin comparisons `_walk`
    leaves out): code running on a datanode would answer with that node's own."""
    return [name for node in _walk(tree) if isinstance(node, dict) and isinstance(node.get("FuncCall"), dict)
            and (name := _name(node["FuncCall"])) in PER_SERVER_FUNCTIONS]


def _walk(node: Any) -> Iterator[Any]:
    """The tree's nodes, without comparisons of a row's xmin/xmax: `xmin =
    pg_current_xact_id()::xid` asks whether the node's own transaction wrote the row, and
    the node that holds the row answers it right."""
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            expr = item.get("A_Expr")
            if isinstance(expr, dict) and any(_is_xid_column(expr.get(side)) for side in ("lexpr", "rexpr")):
                continue
            yield item
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def _is_xid_column(node: Any) -> bool:
    fields = (node.get("ColumnRef") or {}).get("fields") if isinstance(node, dict) else None
    return bool(fields) and (fields[-1].get("String") or {}).get("sval") in ("xmin", "xmax")


def _name(call: dict[str, Any]) -> str:
    names = [n["String"]["sval"] for n in call.get("funcname") or [] if "String" in n]
    if not names or len(names) > 2 or (len(names) == 2 and names[0] != "pg_catalog"):
        return ""
    return names[-1].lower()


def _setting(call: dict[str, Any]) -> str | None:
    """The setting's name; "" when it is not a constant (a parameter: any setting)."""
    args = call.get("args") or []
    if args and "ParamRef" in args[0]:
        return ""
    text = ((args[0].get("A_Const") or {}).get("sval") or {}).get("sval") if args else None
    return text.lower() if isinstance(text, str) else None
