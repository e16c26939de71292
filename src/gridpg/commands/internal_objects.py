"""gridpg's own objects on the catalog servers, kept from a client's DDL.

The catalog servers hold, beside the user's objects, what gridpg runs on: the schema
`gridpg` (the cluster's metadata tables, the loopback's functions), `gridpg_shards` (the
scratch tables of plans finished on the coordinator), `gridpg_tg` (the twins of trigger
functions), the loopback's shadow schemas `gridpg_lb_<oid>`, the postgres_fdw extension
installed for the loopback with its foreign server `gridpg_loopback` and user mapping, and
the loopback's event triggers. A superuser's `DROP EXTENSION postgres_fdw CASCADE` (meant
for their own foreign servers), `DROP SCHEMA gridpg CASCADE` or `TRUNCATE gridpg.dist_table`
ran: every later call of server-side code failed, or the metadata was gone, until the
cluster was restarted (or for good). PostgreSQL keeps its own system schemas the same way
(`DROP SCHEMA pg_catalog`: 2BP01, "required by the database system").

Refused before any server is asked: DROP of those schemas, of the extension, server, user
mapping and event triggers, and of anything named with one of those schemas (2BP01); ALTER,
RENAME, SET SCHEMA, TRUNCATE and ALTER EXTENSION ... DROP of them (42501). Reading them,
COMMENT, GRANT and a superuser's INSERT/UPDATE/DELETE on the metadata (as on PostgreSQL's
catalogs: the repair of last resort) stay allowed. Names are recognised where they are
written with their schema (an unqualified name resolves to the user's objects first unless
the session put `gridpg` on its search_path).

Owns the check only; the statement itself takes the ordinary DDL path.
"""

from __future__ import annotations

from typing import Any

from gridpg.errors import DEPENDENT_OBJECTS_STILL_EXIST, INSUFFICIENT_PRIVILEGE, PgError
from gridpg.executor.loopback import SERVER, SHADOW_PREFIX

SCHEMAS = frozenset({"gridpg", "gridpg_shards", "gridpg_tg"})
EXTENSION = "postgres_fdw"
EVENT_TRIGGERS = frozenset({"gridpg_loopback_ddl", "gridpg_loopback_drop", "gridpg_loopback_ddl_start"})

_REMOVE_TYPES = {
    "OBJECT_SCHEMA": "schema", "OBJECT_EXTENSION": "extension", "OBJECT_FOREIGN_SERVER": "server",
    "OBJECT_EVENT_TRIGGER": "event trigger",
}


def is_internal_schema(name: str | None) -> bool:
    return name is not None and (name in SCHEMAS or name.startswith(SHADOW_PREFIX))


def ensure_untouched(kind: str, tree: dict[str, Any]) -> None:
    """Raise when the statement would drop or change one of gridpg's own objects."""
    body = tree.get(kind) or {}
    if kind == "DropStmt":
        found = _dropped(body)
        if found is not None:
            raise PgError(DEPENDENT_OBJECTS_STILL_EXIST, f"cannot drop {found} because gridpg requires it",
                          hint="It is part of the cluster's own machinery, not of the user's database.")
        return
    if kind == "DropUserMappingStmt" and body.get("servername") == SERVER:
        raise PgError(DEPENDENT_OBJECTS_STILL_EXIST, f'cannot drop user mapping for server "{SERVER}" '
                      "because gridpg requires it")
    found = _altered(kind, body)
    if found is not None:
        raise PgError(INSUFFICIENT_PRIVILEGE, f"permission denied: {found} is gridpg's own",
                      hint="It is part of the cluster's own machinery, not of the user's database.")


def _dropped(body: dict[str, Any]) -> str | None:
    remove = body.get("removeType")
    for item in body.get("objects") or ():
        names = _names(item)
        if not names:
            continue
        if remove in _REMOVE_TYPES and len(names) == 1:
            name = names[0]
            if (remove == "OBJECT_SCHEMA" and is_internal_schema(name)) or \
                    (remove == "OBJECT_EXTENSION" and name == EXTENSION) or \
                    (remove == "OBJECT_FOREIGN_SERVER" and name == SERVER) or \
                    (remove == "OBJECT_EVENT_TRIGGER" and name in EVENT_TRIGGERS):
                return f'{_REMOVE_TYPES[remove]} "{name}"'
            continue
        if len(names) >= 2 and is_internal_schema(names[-2]):
            return f'"{names[-2]}.{names[-1]}"'
    return None


def _altered(kind: str, body: dict[str, Any]) -> str | None:
    if kind in ("AlterTableStmt", "AlterObjectSchemaStmt", "RenameStmt", "AlterOwnerStmt"):
        relation = body.get("relation") or {}
        if is_internal_schema(relation.get("schemaname")):
            return f'"{relation["schemaname"]}.{relation.get("relname")}"'
    if kind == "TruncateStmt":
        for item in body.get("relations") or ():
            relation = item.get("RangeVar") or {}
            if is_internal_schema(relation.get("schemaname")):
                return f'"{relation["schemaname"]}.{relation.get("relname")}"'
    if kind == "RenameStmt":
        if body.get("renameType") == "OBJECT_SCHEMA" and is_internal_schema(body.get("subname")):
            return f'schema "{body["subname"]}"'
        names = _names(body.get("object") or {})
        if body.get("renameType") == "OBJECT_FOREIGN_SERVER" and names == [SERVER]:
            return f'server "{SERVER}"'
        if body.get("renameType") == "OBJECT_EVENT_TRIGGER" and names and names[0] in EVENT_TRIGGERS:
            return f'event trigger "{names[0]}"'
        if len(names) >= 2 and is_internal_schema(names[-2]):
            return f'"{names[-2]}.{names[-1]}"'
    if kind in ("AlterObjectSchemaStmt", "AlterOwnerStmt", "AlterFunctionStmt"):
        names = _names(body.get("object") or body.get("func") or {})
        if len(names) >= 2 and is_internal_schema(names[-2]):
            return f'"{names[-2]}.{names[-1]}"'
        if kind == "AlterOwnerStmt" and body.get("objectType") == "OBJECT_SCHEMA" and names \
                and is_internal_schema(names[0]):
            return f'schema "{names[0]}"'
    if kind in ("AlterForeignServerStmt", "AlterUserMappingStmt") and body.get("servername") == SERVER:
        return f'server "{SERVER}"'
    if kind == "AlterEventTrigStmt" and body.get("trigname") in EVENT_TRIGGERS:
        return f'event trigger "{body["trigname"]}"'
    if kind == "AlterExtensionContentsStmt" and body.get("extname") == EXTENSION and body.get("action") == -1:
        return f'extension "{EXTENSION}"'
    return None


def _names(item: dict[str, Any]) -> list[str]:
    """The dotted name of one object of a statement (a String, a List of them, a TypeName,
    an ObjectWithArgs)."""
    if "String" in item:
        return [item["String"].get("sval", "")]
    if "List" in item:
        return [n.get("String", {}).get("sval", "") for n in item["List"].get("items") or ()]
    if "TypeName" in item:
        return [n.get("String", {}).get("sval", "") for n in item["TypeName"].get("names") or ()]
    if "ObjectWithArgs" in item:
        return [n.get("String", {}).get("sval", "") for n in item["ObjectWithArgs"].get("objname") or ()]
    if "objname" in item:  # (an ObjectWithArgs given bare: ALTER FUNCTION's func)
        return [n.get("String", {}).get("sval", "") for n in item.get("objname") or ()]
    return []
