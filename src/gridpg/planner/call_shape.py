"""Who calls whom in server-side code, and with which search path and role. Pure.

PostgreSQL runs a routine with its own `SET search_path` (proconfig) in force for its
whole execution, nested calls included, and a SECURITY DEFINER routine as its owner, also
for what it calls. The loopback (executor/loopback.py) must know both: the names a body
uses are resolved with the path in force where it runs, and the statements it sends
through the loopback run as the role in force there. `shape` propagates both along the
call graph the guard walked (executor/routines.py `_walk`, 0 standing for the client's
statement); `twins_and_role` says which routines run as twins (their own path with the
shadows on it) and which single role the code's statements run as, or why neither can be
told (the statement is then refused, 0A000).

This module must not do I/O.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from gridpg.errors import FEATURE_NOT_SUPPORTED, PgError
from gridpg.planner.routines import Access, Routine
from gridpg.sql import plpgsql_dynamic

STATEMENT = 0  # the client's statement as a caller in the graph

Path = tuple[str, ...]


@dataclass(frozen=True)
class Shape:
    """Per routine oid: the search paths and roles (None: the caller's) it may run with."""

    paths: dict[int, frozenset[Path]]
    roles: dict[int, frozenset[str | None]]
    children: dict[int, frozenset[int]]


def shape(routines: dict[int, Routine], edges: dict[int, set[int]], session_path: Path) -> Shape:
    """Propagate paths and roles from the statement down the call graph (a fixed point:
    the graph may have cycles)."""
    paths: dict[int, set[Path]] = {oid: set() for oid in routines}
    roles: dict[int, set[str | None]] = {oid: set() for oid in routines}
    for _ in range(len(routines) + 2):
        changed = False
        for oid, routine in routines.items():
            parents = edges.get(oid) or {STATEMENT}
            new_paths = {routine.search_path} if routine.search_path is not None else set().union(
                *({session_path} if p == STATEMENT else paths.get(p, set()) for p in parents))
            new_roles = {routine.owner} if routine.security_definer else set().union(
                *({None} if p == STATEMENT else roles.get(p, set()) for p in parents))
            if not new_paths <= paths[oid] or not new_roles <= roles[oid]:
                paths[oid] |= new_paths
                roles[oid] |= new_roles
                changed = True
        if not changed:
            break
    children: dict[int, set[int]] = {}
    for child, parents in edges.items():
        for parent in parents:
            children.setdefault(parent, set()).add(child)
    return Shape({o: frozenset(p or {session_path}) for o, p in paths.items()},
                 {o: frozenset(r or {None}) for o, r in roles.items()},
                 {o: frozenset(c) for o, c in children.items()})


def twins_and_role(tree: dict[str, Any], routines: dict[int, tuple[Routine, Access, str]],
                   edges: dict[int, set[int]], found: Shape, touching: set[int],
                   statement_touches: bool, dynamic: bool,
                   by_call: dict[tuple[str | None, str], list[int]], session_path: Path = (),
                   qualified: dict[int, frozenset[tuple[str, str]]] | None = None,
                   upserting: set[int] | None = None, caller_role: str | None = None,
                   with_dynamic: bool = True,
                   ) -> tuple[tuple[tuple[int, str | None, str, frozenset[tuple[str, str]]], ...], str | None] | PgError:
    """The twins the statement's calls are rewritten to (routines with their own search
    path reaching distributed tables, naming them with their schema: `qualified`, or
    running INSERT ... ON CONFLICT on them: `upserting`, sql/plpgsql_upsert.py), and the
    one role (None: the caller's) the code's statements run as; an error when the code
    cannot be run so. SECURITY DEFINER code owned by `caller_role` (the session's role)
    runs as the caller (Pagila's rewards_report, called by its owner). PL/pgSQL whose
    dynamic text may name tables with their schema (or MERGE, or upsert) runs as its twin
    too when it can be one (its texts then ask the coordinator, sql/plpgsql_dynamic.py);
    else as it is, watched (a name that reaches a catalog server's copy fails the call);
    not `with_dynamic`: those only when they must be twins for other reasons."""
    qualified = qualified or {}
    upserting = upserting or set()
    needs = {oid for oid, (routine, _, _) in routines.items()
             if oid in qualified or oid in upserting
             or (routine.search_path is not None and bool((_descendants(oid, found.children) | {oid}) & touching))}
    schema_naming = {oid for oid, (routine, access, _) in routines.items()
                     if access.has_dynamic() and plpgsql_dynamic.may_name_schemas(routine.language, routine.definition)}
    if with_dynamic and schema_naming - needs:
        wider = _twins_and_role(tree, routines, edges, found, touching, statement_touches, dynamic, by_call,
                                session_path, qualified, upserting, caller_role, needs | schema_naming)
        if not isinstance(wider, PgError):
            return wider
    return _twins_and_role(tree, routines, edges, found, touching, statement_touches, dynamic, by_call,
                           session_path, qualified, upserting, caller_role, needs)


def _twins_and_role(tree: dict[str, Any], routines: dict[int, tuple[Routine, Access, str]],
                    edges: dict[int, set[int]], found: Shape, touching: set[int],
                    statement_touches: bool, dynamic: bool,
                    by_call: dict[tuple[str | None, str], list[int]], session_path: Path,
                    qualified: dict[int, frozenset[tuple[str, str]]], upserting: set[int],
                    caller_role: str | None, needs: set[int],
                    ) -> tuple[tuple[tuple[int, str | None, str, frozenset[tuple[str, str]]], ...], str | None] | PgError:
    twins: list[tuple[int, str | None, str, frozenset[tuple[str, str]]]] = []
    calls = statement_calls(tree)
    # A routine that another routine calls runs as its twin when its callers do too: their
    # twins call it in pg_temp (executor/twins.py); so every caller up to the statement.
    callers = _ancestors(needs, edges)
    skipped: set[int] = set()  # routines no call of the code reaches
    for oid, (routine, _, title) in sorted(routines.items()):
        if oid not in needs and oid not in callers:
            continue
        own_path = routine.search_path is not None and oid in needs and oid not in qualified and oid not in upserting
        why = ("sets its own search_path" if own_path else "names distributed tables with their schema"
               if oid in qualified else "runs INSERT ... ON CONFLICT on distributed tables"
               if oid in upserting else "calls such code" if oid not in needs else "runs such dynamic SQL")
        named = [c for c in calls if c[1] == routine.name and c[0] in (None, routine.schema)]
        parents = edges.get(oid) or {STATEMENT}
        candidates = [_candidates(c, by_call, routines, session_path) for c in named]
        if parents == {STATEMENT} and named and not any(oid in c for c in candidates):
            skipped.add(oid)
            continue  # a routine of that name in a schema off the path: no call reaches it
        if (STATEMENT in parents and not named) or any(c != [oid] for c in candidates):
            return _refusal(title, f"it {why} and reads or writes distributed tables; gridpg runs "
                            "such a routine only when the statement (or such a routine) calls it, "
                            "by a name no other routine has")
        caller_paths = {p for parent in parents - {STATEMENT} for p in found.paths.get(parent, ())}
        reach = [_reachable(call, oids, routines, caller_paths) for call, oids in by_call.items()
                 if call[1].lower() == routine.name.lower() and oid in oids]
        if parents - {STATEMENT} and STATEMENT not in parents and reach and not any(oid in r for r in reach):
            skipped.add(oid)
            continue  # a routine of that name in a schema off its callers' paths: not called
        if parents - {STATEMENT} and (any(r != [oid] for r in reach if oid in r)
                                      or any(routines[p][0].language.lower() not in ("plpgsql", "sql")
                                             for p in parents - {STATEMENT} if p in routines)):
            return _refusal(title, f"it {why} and is called by other routines; gridpg runs such a "
                            "routine only by a name no other routine has, called from SQL or PL/pgSQL")
        twins.extend((oid, schema, name, qualified.get(oid, frozenset())) for schema, name in named)
        if not named:  # (called by routines only: their twins name it in pg_temp)
            twins.append((oid, None, routine.name, qualified.get(oid, frozenset())))
    roles: set[str | None] = set()
    for oid in touching - skipped:
        roles |= found.roles[oid]
    if statement_touches:
        roles.add(None)
    if dynamic:
        roles.add(None)
        for oid in set(routines) - skipped:
            roles |= found.roles[oid]
    roles = {None if r is not None and r == caller_role else r for r in roles}
    if len(roles) > 1:
        owners = ", ".join(sorted(r or "the caller" for r in roles))
        return PgError(FEATURE_NOT_SUPPORTED,
                       "gridpg cannot run server-side code over distributed tables whose "
                       f"statements run as different roles ({owners}: SECURITY DEFINER)",
                       hint="Call SECURITY DEFINER routines of one owner in a statement of their own.")
    return tuple(twins), next(iter(roles), None)


def statement_calls(tree: Any) -> set[tuple[str | None, str]]:
    """(schema or None, name) of every function call written in the statement itself."""
    out: set[tuple[str | None, str]] = set()
    for call in _nodes(tree, "FuncCall"):
        names = [n.get("String", {}).get("sval", "") for n in call.get("funcname", [])]
        if len(names) == 1:
            out.add((None, names[0]))
        elif len(names) == 2:
            out.add((names[0], names[1]))
    return out


def _nodes(node: Any, kind: str) -> Iterable[dict[str, Any]]:
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if kind in item and isinstance(item[kind], dict):
                yield item[kind]
            if kind == "FuncCall" and isinstance(item.get("funccall"), dict):
                yield item["funccall"]  # CALL's (a typed field: no node name around it)
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def _candidates(call: tuple[str | None, str], by_call: dict[tuple[str | None, str], list[int]],
                routines: dict[int, tuple[Routine, Access, str]], session_path: Path) -> list[int]:
    """The routines a call may reach: by its schema, else those in the session's path."""
    oids = by_call.get(call, [])
    if call[0] is not None:
        return oids
    return [o for o in oids if o in routines and routines[o][0].schema in session_path]


def _reachable(call: tuple[str | None, str], oids: list[int], routines: dict[int, tuple[Routine, Access, str]],
               paths: set[Path]) -> list[int]:
    """The routines a call made inside other routines may reach: by its schema, else
    those in a search path its callers may run with."""
    if call[0] is not None:
        return oids
    return [o for o in oids if o not in routines or any(routines[o][0].schema in p for p in paths)]


def _ancestors(oids: set[int], edges: dict[int, set[int]]) -> set[int]:
    """The routines that may call `oids`, directly or through others (not the statement)."""
    out: set[int] = set()
    stack = [p for o in oids for p in edges.get(o, ()) if p != STATEMENT]
    while stack:
        parent = stack.pop()
        if parent not in out:
            out.add(parent)
            stack.extend(p for p in edges.get(parent, ()) if p != STATEMENT)
    return out


def _descendants(oid: int, children: dict[int, frozenset[int]]) -> set[int]:
    out: set[int] = set()
    stack = list(children.get(oid, ()))
    while stack:
        child = stack.pop()
        if child not in out:
            out.add(child)
            stack.extend(children.get(child, ()))
    return out


def _refusal(what: str, why: str) -> PgError:
    return PgError(FEATURE_NOT_SUPPORTED, f"gridpg cannot run {what}: {why}")
