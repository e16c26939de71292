"""What a read-only coordinator refuses: everything a hot standby refuses.

A read-only coordinator reads every datanode group from a standby (which refuses writes
itself), but its catalog server is a writable primary that also holds the scratch temp
tables of multi-node plans; so writes are refused here, by the statement's parse, before
anything runs, with PostgreSQL's SQLSTATE 25006 and wording. Pure: no I/O.
"""

from __future__ import annotations

from typing import Any

from gridpg.errors import READ_ONLY_SQL_TRANSACTION, PgError
from gridpg.sql import parse as sqlparse
from gridpg.sql.xl import parse_xl_command

# statements that never write (their inner query is checked where they carry one)
_READING = {
    "SelectStmt", "VariableShowStmt", "VariableSetStmt", "TransactionStmt", "ExplainStmt",
    "PrepareStmt", "ExecuteStmt", "DeallocateStmt", "DeclareCursorStmt", "FetchStmt",
    "ClosePortalStmt", "DiscardStmt", "CopyStmt", "ListenStmt", "UnlistenStmt", "LoadStmt",
    "ConstraintsSetStmt", "CheckPointStmt",
}
_TAGS = {"InsertStmt": "INSERT", "UpdateStmt": "UPDATE", "DeleteStmt": "DELETE", "MergeStmt": "MERGE",
         "CreateStmt": "CREATE TABLE", "CreateTableAsStmt": "CREATE TABLE AS", "IndexStmt": "CREATE INDEX",
         "DropStmt": "DROP", "AlterTableStmt": "ALTER TABLE", "TruncateStmt": "TRUNCATE",
         "DoStmt": "DO", "CallStmt": "CALL", "LockStmt": "LOCK TABLE", "GrantStmt": "GRANT",
         "CopyStmt": "COPY FROM", "VacuumStmt": "VACUUM"}
_XL_READING = {"execute_direct", "clean_connection"}
_READ_ONLY_SETTINGS = {"transaction_read_only", "default_transaction_read_only"}
SHOWN_ON = frozenset(_READ_ONLY_SETTINGS)


def ensure_read_only(sql: str) -> None:
    """Raise 25006 when `sql` would write or make the transaction writable."""
    xl = parse_xl_command(sql)
    if xl is not None:
        if xl.kind not in _XL_READING:
            _refuse(xl.kind.replace("_", " ").upper())
        return
    try:
        tree = sqlparse.parse_tree(sql)
    except PgError:
        return  # a syntax error is reported by the normal path
    kind, body = next(iter(tree.items()))
    refusal = _refusal(kind, body)
    if refusal is not None:
        _refuse(refusal)


def shows_read_only(sql: str) -> str | None:
    """The setting's name when `sql` is SHOW transaction_read_only (or the default):
    on a read-only coordinator the answer is `on` whatever the catalog server says."""
    try:
        tree = sqlparse.parse_tree(sql)
    except PgError:
        return None
    body = tree.get("VariableShowStmt")
    name = body.get("name", "").lower() if body else ""
    return name if name in SHOWN_ON else None


def _refusal(kind: str, body: dict[str, Any]) -> str | None:
    if kind not in _READING:
        return _TAGS.get(kind, kind.removesuffix("Stmt").upper())
    if kind == "SelectStmt" and (body.get("lockingClause") or _writes_inside(body)):
        return "SELECT FOR UPDATE" if body.get("lockingClause") else "a data-modifying WITH"
    if kind == "CopyStmt" and body.get("is_from"):
        return "COPY FROM"
    if kind in ("ExplainStmt", "PrepareStmt", "DeclareCursorStmt"):
        inner = body.get("query") or {}
        if inner:
            inner_kind, inner_body = next(iter(inner.items()))
            return _refusal(inner_kind, inner_body)
    if kind in ("TransactionStmt", "VariableSetStmt"):
        return _makes_writable(body)
    return None


def _writes_inside(node: Any) -> bool:
    if isinstance(node, dict):
        return any(k in ("InsertStmt", "UpdateStmt", "DeleteStmt", "MergeStmt") or _writes_inside(v)
                   for k, v in node.items())
    if isinstance(node, list):
        return any(_writes_inside(item) for item in node)
    return False


def _makes_writable(body: dict[str, Any]) -> str | None:
    """BEGIN/SET TRANSACTION/SESSION CHARACTERISTICS ... READ WRITE, or SET of the
    read-only settings to off."""
    for option in body.get("options", []) + body.get("args", []):
        elem = option.get("DefElem", {})
        if elem.get("defname") == "transaction_read_only" and not _truthy(elem.get("arg", {})):
            return "a read-write transaction"
    if body.get("kind") == "VAR_SET_VALUE" and body.get("name", "").lower() in _READ_ONLY_SETTINGS:
        if not all(_truthy(arg) for arg in body.get("args", [])):
            return "a read-write transaction"
    return None


def _truthy(node: dict[str, Any]) -> bool:
    const = node.get("A_Const", {})
    if "ival" in const:
        return bool(const["ival"].get("ival", 0))
    if "boolval" in const:
        return bool(const["boolval"].get("boolval"))
    if "sval" in const:
        return const["sval"].get("sval", "").lower() in ("on", "true", "yes", "1", "t", "y")
    return False


def _refuse(what: str) -> None:
    raise PgError(READ_ONLY_SQL_TRANSACTION, f"cannot execute {what} in a read-only transaction",
                  detail="this coordinator is read-only: it reads from the datanodes' standbys",
                  hint="connect to a read-write coordinator to write")
