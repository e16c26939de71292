"""The cluster superuser's login stays gridpg's own: ALTER ROLE that would lock gridpg out.

Coordinators, the monitor and every cluster command connect to the catalog servers and
datanodes as the cluster superuser (`cluster.pgserver.SUPERUSER`) with the password in the
cluster directory's `superuser.password`. The role is one of the cluster's roles, so DDL
on it reaches every server: a new PASSWORD (pg_dumpall's globals always carry one for it,
`ALTER ROLE postgres WITH SUPERUSER ... PASSWORD 'SCRAM-SHA-256$...'`; psql's `\\password`),
NOLOGIN or a new name would leave every later connection of gridpg's failing
authentication (the running session lost with FATAL 28P01, the monitor's recovery blind).
Those are refused before any server is asked; every other ALTER ROLE of it runs.

Owns the check only; the statement itself takes the ordinary DDL path.
"""

from __future__ import annotations

from typing import Any

from gridpg.cluster.pgserver import SUPERUSER
from gridpg.errors import FEATURE_NOT_SUPPORTED, PgError

# ALTER ROLE options whose change breaks the cluster's own connections
_LOCKING_OUT = {"password": "change the password of role {role}", "canlogin": "make role {role} NOLOGIN"}


def ensure_keeps_cluster_access(kind: str, tree: dict[str, Any], current_user: str, session_user: str) -> None:
    """Raise 0A000 when the statement would change how gridpg logs in to its servers."""
    body = tree.get(kind) or {}
    if kind == "RenameStmt" and body.get("renameType") == "OBJECT_ROLE" and body.get("subname") == SUPERUSER:
        _refuse("rename role {role}")
    if kind != "AlterRoleStmt" or _role_name(body.get("role") or {}, current_user, session_user) != SUPERUSER:
        return
    for option in body.get("options") or ():
        element = option.get("DefElem") or {}
        name = element.get("defname")
        if name == "password" or (name == "canlogin" and not _bool_arg(element)):
            _refuse(_LOCKING_OUT[name])


def _role_name(spec: dict[str, Any], current_user: str, session_user: str) -> str | None:
    kind = spec.get("roletype")
    if kind == "ROLESPEC_CSTRING":
        return str(spec.get("rolename"))
    if kind in ("ROLESPEC_CURRENT_USER", "ROLESPEC_CURRENT_ROLE"):
        return current_user
    if kind == "ROLESPEC_SESSION_USER":
        return session_user
    return None


def _bool_arg(element: dict[str, Any]) -> bool:
    arg = element.get("arg") or {}
    if "Boolean" in arg:
        return bool(arg["Boolean"].get("boolval", False))
    if "Integer" in arg:
        return bool(arg["Integer"].get("ival", 0))
    return True


def _refuse(what: str) -> None:
    raise PgError(FEATURE_NOT_SUPPORTED,
                  "cannot " + what.format(role=f'"{SUPERUSER}"') + ": gridpg connects to its servers as this role",
                  detail=f'The coordinators, the monitor and the cluster commands log in to every catalog server '
                         f'and datanode as "{SUPERUSER}" with the password in the cluster directory '
                         f'(superuser.password).',
                  hint="Give clients a role of their own (CREATE ROLE ... LOGIN PASSWORD ...).")
