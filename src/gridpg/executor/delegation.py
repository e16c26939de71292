"""Distributed functions: `create_distributed_function` and the delegation of their calls.

`create_distributed_function(fn, '$1' | 'argname', colocate_with => 't')` checks that the
function can be delegated (`planner/delegation.py` reads its body; nested routines and the
triggers of the tables it writes must touch no distributed table) and records the
declaration in the function's settings on every node (ALTER ROUTINE ... SET, one
distributed DDL transaction). A later `SELECT fn(args)` / `CALL fn(args)` runs whole on
the datanode holding the argument's shard, in the caller's transaction. A declared
function whose body no longer qualifies (it was replaced) is refused with 0A000, never run
on the wrong node.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gridpg.catalog.model import DistTable
from gridpg.errors import FEATURE_NOT_SUPPORTED, INVALID_PARAMETER_VALUE, PgError
from gridpg.planner import analyze, delegation
from gridpg.planner import routines as body
from gridpg.sql import plpgsql
from gridpg.sql.quote import quote_literal

if TYPE_CHECKING:
    from gridpg.executor.dispatch import Dispatcher, ExecRequest
    from gridpg.executor.routines import RoutineGuard, _Registry

NAME = "create_distributed_function"
DELEGATED_SQL = """
SELECT lower(p.proname), p.oid, array_to_string(p.proconfig, E'\\x1f')
FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
WHERE EXISTS (SELECT 1 FROM unnest(p.proconfig) c WHERE c LIKE 'gridpg.distribution\\_argument=%')"""


def parse_delegated(rows: list[tuple[str | None, ...]]) -> dict[str, dict[int, delegation.Delegation]]:
    out: dict[str, dict[int, delegation.Delegation]] = {}
    for name, oid, config in rows:
        found = delegation.parse_config((config or "").split("\x1f"))
        if name and oid and found is not None:
            out.setdefault(name, {})[int(oid)] = found
    return out


# -- calls -----------------------------------------------------------------------------


async def try_delegate(guard: RoutineGuard, dispatcher: Dispatcher, request: ExecRequest,
                       tree: dict[str, Any], registry: _Registry, path: tuple[str, ...]) -> bool:
    """Run a call of a distributed function on its node; False when this is not one."""
    from gridpg.planner.context import UNKNOWN, value_text

    call = delegation.call_of(tree)
    if call is None or call.name.lower() not in registry.delegated:
        return False
    found = await guard._load(dispatcher, registry, set(), {(call.schema, call.name)})
    if len({r.oid for r, _ in found}) != 1:
        return False  # overloads: PostgreSQL picks by types; the guard decides instead
    routine = found[0][0]
    declared = registry.delegated[call.name.lower()].get(routine.oid)
    if declared is None:
        return False
    anchor = _anchor(dispatcher, declared.colocate_with)
    reason = registry.delegable.get(routine.oid, "")
    if reason == "":
        reason = await why_not(guard, dispatcher, registry, routine, declared, anchor, path)
        registry.delegable[routine.oid] = reason
    if reason is not None:
        raise PgError(FEATURE_NOT_SUPPORTED, f"gridpg cannot delegate {routine.title}: {reason}")
    value = delegation.argument_value(call, declared.argument)
    if value is not None and not value.cast_keeps_value(anchor.column_type or ""):
        # `f('k3 '::char(3))` passes 'k3' to a text parameter: the text as written would
        # hash to another node; run the call as any other (through the loopback)
        return False
    text = UNKNOWN if value is None else value_text(value, request.bound())
    planner = dispatcher.coord.planner
    assert planner is not None
    group = None if text is UNKNOWN else planner.group_for_value(anchor, text, dispatcher.runner.snapshot())  # type: ignore[arg-type]
    if group is None:
        raise PgError(FEATURE_NOT_SUPPORTED,
                      f"gridpg cannot delegate {routine.title}: its distribution argument "
                      f"${declared.argument} must be a constant or a parameter of the call")
    await dispatcher.run_on_node(group, request, writes=True)
    return True


def _anchor(dispatcher: Dispatcher, qualified: str) -> DistTable:
    schema, _, name = qualified.partition(".")
    table = dispatcher.runner.snapshot().table(schema, name)
    if table is None or table.method not in ("hash", "modulo"):
        raise PgError(FEATURE_NOT_SUPPORTED, f"the colocation table {qualified} of a distributed "
                      "function is not a HASH or MODULO distributed table")
    return table


async def why_not(guard: RoutineGuard, dispatcher: Dispatcher, registry: _Registry,
                  routine: body.Routine, declared: delegation.Delegation, anchor: DistTable,
                  path: tuple[str, ...]) -> str | None:
    """Why the routine cannot run whole on its argument's node, or None."""
    from gridpg.executor.routines import _resolver

    if routine.kind not in ("f", "p"):
        return "only functions and procedures can be distributed"
    snapshot = dispatcher.runner.snapshot()
    resolve = _resolver(dispatcher, snapshot)
    own_path = routine.search_path or path
    parsed = body.routine_body(routine)
    argument = await _argument(dispatcher, routine, declared.argument)
    assigned = plpgsql.assigned_variables(routine.definition) if routine.language == "plpgsql" else set()
    columns = await _table_columns(dispatcher, parsed, resolve, own_path)
    drawn = await _sequence_drawn_columns(dispatcher, parsed, resolve, own_path)
    reason = delegation.why_not_delegable(parsed, argument, assigned, anchor, snapshot, resolve,
                                          own_path, lambda t: columns.get((t.schema, t.name)),
                                          lambda t: drawn.get((t.schema, t.name), frozenset()))
    if reason is not None:
        return reason
    # What runs beside the body on that node must touch no distributed table at all.
    access = body.routine_access(routine)
    oids = {oid for tree in parsed.trees for name in body.written_names(tree)
            for oid in registry.on_write.get(name, ())} | registry.operator_functions(access)
    error = await guard._walk(dispatcher, registry, oids, body.user_calls(access, registry.names, registry.row_argument_names),
                              own_path, resolve)
    return None if error is None else error.message


async def _argument(dispatcher: Dispatcher, routine: body.Routine, position: int) -> delegation.Argument:
    rows = await _catalog_query(
        dispatcher, "SELECT array_to_string(proargnames, E'\\x1f'), array_to_string(proargmodes, ','), "
        f"pronargs FROM pg_catalog.pg_proc WHERE oid = {int(routine.oid)}")
    names_raw, modes_raw, count = rows[0] if rows else (None, None, "0")
    names = (names_raw or "").split("\x1f") if names_raw else []
    modes = (modes_raw or "").split(",") if modes_raw else ["i"] * len(names)
    inputs = [n for n, m in zip(names, modes) if m in ("i", "b", "v")]
    if position < 1 or position > int(count or 0):
        raise PgError(INVALID_PARAMETER_VALUE, f"{routine.title} has no argument ${position}")
    name = inputs[position - 1] if position <= len(inputs) and inputs[position - 1] else None
    targets = {f"${position}", *([name.lower()] if name else [])}
    aliases = tuple(var for var, declared in (plpgsql.declared_types(routine.definition).items()
                                              if routine.language == "plpgsql" else ())
                    if _alias_target(declared) in targets)
    return delegation.Argument(position, name, routine.name, names=aliases)


def _alias_target(declared: str) -> str | None:
    """What a PL/pgSQL `ALIAS FOR x` declaration names (`$1`, a parameter's name), else None."""
    words = declared.split()
    if len(words) == 3 and words[0].lower() == "alias" and words[1].lower() == "for":
        return words[2].strip('"').lower() if not words[2].startswith('"') else words[2].strip('"')
    return None


async def _table_columns(dispatcher: Dispatcher, parsed: body.Body, resolve: body.Resolver,
                         path: tuple[str, ...]) -> dict[tuple[str, str], list[str]]:
    """The columns, in order, of the distributed tables the body names (for INSERT without
    a column list, and for argument names a column would hide)."""
    return {key: [c.name for c in columns]
            for key, columns in (await _table_column_rows(dispatcher, parsed, resolve, path)).items()}


async def _sequence_drawn_columns(dispatcher: Dispatcher, parsed: body.Body, resolve: body.Resolver,
                                  path: tuple[str, ...]) -> dict[tuple[str, str], frozenset[str]]:
    """Per distributed table the body names, its columns (lowercased) whose default a
    datanode computes apart: serial and identity columns, any default calling nextval()
    (the node's copy of the sequence) or a per-server function (`DEFAULT txid_current()`:
    the node's own transaction)."""
    from gridpg.planner.node_values import PER_SERVER_FUNCTIONS

    def apart(default: str) -> bool:
        return "nextval(" in default or any(f"{name}(" in default for name in PER_SERVER_FUNCTIONS)

    return {key: frozenset(c.name.lower() for c in columns
                           if c.sequence is not None or apart((c.default or "").lower()))
            for key, columns in (await _table_column_rows(dispatcher, parsed, resolve, path)).items()}


async def _table_column_rows(dispatcher: Dispatcher, parsed: body.Body, resolve: body.Resolver,
                             path: tuple[str, ...]) -> dict[tuple[str, str], list[Any]]:
    out: dict[tuple[str, str], list[Any]] = {}
    refs = [r for tree in parsed.trees for r in analyze.relations(tree)]
    for ref in refs:
        table = resolve(ref, path)
        if table is not None and (table.schema, table.name) not in out:
            out[(table.schema, table.name)] = await dispatcher.coord.table_columns(dispatcher.runner, table)
    return out


# -- create_distributed_function ---------------------------------------------------------


async def create(guard: RoutineGuard, dispatcher: Dispatcher, request: ExecRequest,
                 call: delegation.Call, path: tuple[str, ...]) -> None:
    """`SELECT create_distributed_function(fn, arg, colocate_with)`: check, then record."""
    from gridpg.commands.ddl import DdlRunner

    fn, argument, colocate = _create_arguments(request, call)
    ddl = DdlRunner(dispatcher)
    catalog = await ddl.conn(dispatcher.coord.catalog_node)
    rows = await catalog.query(f"SELECT {quote_literal(fn)}::pg_catalog.regprocedure::oid, "
                               f"{quote_literal(fn)}::pg_catalog.regprocedure::text")
    oid, signature = int(rows[0][0] or 0), rows[0][1] or ""
    if argument is None:
        # Citus: without a distribution argument the function is only propagated to the
        # workers, and its calls are not delegated; gridpg's CREATE FUNCTION already reached
        # every node (HammerDB's `create_distributed_function('dbms_random(int,int)')`).
        _send_void(dispatcher, request)
        await ddl.finish("SELECT 1")
        return
    table_rows = await catalog.query(
        "SELECT n.nspname, c.relname FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n "
        f"ON n.oid = c.relnamespace WHERE c.oid = pg_catalog.to_regclass({quote_literal(colocate)})")
    if not table_rows:
        raise PgError("42P01", f'relation "{colocate}" does not exist')
    qualified = f"{table_rows[0][0]}.{table_rows[0][1]}"
    anchor = _anchor(dispatcher, qualified)
    registry = await guard._registry_for(dispatcher, dispatcher.runner.snapshot(), private=True)
    routine = (await guard._load(dispatcher, registry, {oid}, set()))[0][0]
    position = await _position(dispatcher, routine, argument)
    reason = await why_not(guard, dispatcher, registry, routine, delegation.Delegation(position, qualified),
                           anchor, path)
    if reason is not None:
        raise PgError(FEATURE_NOT_SUPPORTED, f"gridpg cannot distribute {routine.title}: {reason}")
    alter = (f"ALTER ROUTINE {signature} SET {delegation.CONFIG_ARGUMENT} = {quote_literal(str(position))} "
             f"SET {delegation.CONFIG_COLOCATE} = {quote_literal(qualified)}")
    for node in [*ddl.catalog_nodes(), *ddl.all_groups()]:
        await (await ddl.conn(node)).simple_query(alter)
    _send_void(dispatcher, request)
    await ddl.finish("SELECT 1")


def _send_void(dispatcher: Dispatcher, request: ExecRequest) -> None:
    """The call's one row, `void` (its description too when the protocol is simple)."""
    from gridpg.pgwire import codec

    if request.simple:
        dispatcher.session.send(codec.build_row_description([codec.Column(NAME, type_oid=2278)]))
    dispatcher.session.send(codec.build_data_row([b""]))


def _create_arguments(request: ExecRequest, call: delegation.Call) -> tuple[str, str | None, str]:
    from gridpg.planner.context import UNKNOWN, value_text

    positional: list[str | None] = []
    named: dict[str, str | None] = {}
    for node in call.args:
        target = node["NamedArgExpr"]["arg"] if "NamedArgExpr" in node else node
        value = analyze.value_of(target)
        text = UNKNOWN if value is None else value_text(value, request.bound())
        if text is UNKNOWN:
            raise PgError(INVALID_PARAMETER_VALUE, f"{NAME}() takes constant or parameter arguments")
        if "NamedArgExpr" in node:
            named[node["NamedArgExpr"]["name"]] = text  # type: ignore[assignment]
        else:
            positional.append(text)  # type: ignore[arg-type]
    fn = positional[0] if positional else named.get("function_name")
    argument = positional[1] if len(positional) > 1 else named.get("distribution_arg_name")
    colocate = positional[2] if len(positional) > 2 else named.get("colocate_with")
    if not fn:
        raise PgError(INVALID_PARAMETER_VALUE, f"{NAME}() needs a function")
    if not argument:
        return fn, None, colocate or ""
    if not colocate or colocate == "default":
        raise PgError(FEATURE_NOT_SUPPORTED, f"{NAME}() needs colocate_with naming a distributed table in gridpg")
    return fn, argument, colocate


async def _position(dispatcher: Dispatcher, routine: body.Routine, argument: str) -> int:
    """'$N' or an argument's name as its 1-based position."""
    if argument.startswith("$") and argument[1:].isdigit():
        position = int(argument[1:])
        await _argument(dispatcher, routine, position)  # checks the position exists
        return position
    rows = await _catalog_query(
        dispatcher, "SELECT array_to_string(proargnames, E'\\x1f'), array_to_string(proargmodes, ',') "
        f"FROM pg_catalog.pg_proc WHERE oid = {int(routine.oid)}")
    names = (rows[0][0] or "").split("\x1f") if rows and rows[0][0] else []
    modes = (rows[0][1] or "").split(",") if rows and rows[0][1] else ["i"] * len(names)
    inputs = [n for n, m in zip(names, modes) if m in ("i", "b", "v")]
    if argument not in inputs:
        raise PgError(INVALID_PARAMETER_VALUE, f'{routine.title} has no argument named "{argument}"')
    return inputs.index(argument) + 1


async def _catalog_query(dispatcher: Dispatcher, sql: str) -> list[tuple[str | None, ...]]:
    """On the session's own catalog connection: it sees routines created in its transaction."""
    txn = dispatcher.runner.txn
    node = dispatcher.coord.catalog_node
    held = node in txn.participants
    conn = await txn.connection(node, wants_block=False)
    try:
        return await conn.query(sql)
    finally:
        txn.release_lookup(node, held)
