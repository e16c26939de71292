"""Running a write whose table has rules that write or notify (the plan: planner/rules.py).

Each statement of the plan runs as a statement of its own through the coordinator (routed,
pushed down or broadcast as its own plan says), all in one transaction: inside the
client's block, else one statement transaction (2PC when needed). Their answers are held
back; the client gets the original statement's answer, or the tag the plan names, once
every statement has run, so a failing action leaves the client one error and nothing
written. The actions' notices reach the client as they come.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from gridpg.errors import FEATURE_NOT_SUPPORTED, PgError
from gridpg.executor.modifying_cte import _for
from gridpg.pgwire import codec
from gridpg.planner.plan import RulesPlan

if TYPE_CHECKING:
    from gridpg.executor.dispatch import Dispatcher, ExecRequest

# actions expanding into actions: PostgreSQL's rewriter stops a loop at the first repeat of a
# relation; here the depth of expansions in one statement is bounded instead
DEPTH_LIMIT = 16
_COMMAND_COMPLETE = 0x43
_NOT_RELAYED = frozenset((0x43, 0x44, 0x54, 0x31, 0x32, 0x33, 0x6E))  # answers, not notices


async def run(dispatcher: Dispatcher, request: ExecRequest, plan: RulesPlan) -> None:
    runner = dispatcher.runner
    if runner.rule_depth >= DEPTH_LIMIT:
        raise PgError("42P17", f'infinite recursion detected in rules for relation "{plan.table[1]}"')
    runner.rule_depth += 1
    try:
        answer: list[bytes] = []
        tag = codec.build_command_complete(plan.tag)
        async with runner.statement_transaction():
            for index, sql in enumerate(plan.steps):
                if index == plan.original:  # its rules applied: not expanded again
                    sql = dispatcher.coord.rules_marker + sql
                captured = await _run_held(dispatcher, _for(request, sql))
                if index == plan.original:
                    answer = captured
                    continue
                for message in captured:
                    if message[0] not in _NOT_RELAYED:
                        dispatcher.session.send(message)
                    elif message[0] == _COMMAND_COMPLETE and index == plan.tag_step:
                        tag = message
        for message in answer or [tag]:
            dispatcher.session.send(message)
    finally:
        runner.rule_depth -= 1


async def _run_held(dispatcher: Dispatcher, request: ExecRequest) -> list[bytes]:
    """One statement's messages to the client, run as a client's statement of the simple
    protocol runs (the session's whole path: sequence calls served by the GTM, the
    transaction's time pinned, ...) and held back. With the client's bound parameters it
    runs bound, its nodes' extended cycles closed before the next; a sequence call there
    is refused, not drawn from a node's copy of the sequence."""
    from gridpg.executor.prepared import _run_inner

    session, runner = dispatcher.session, dispatcher.runner
    saved, session.out = session.out, []
    current = runner.current_sql
    try:
        if request.simple or not request.params:
            await runner.run(dataclasses.replace(request, simple=True, params=[], param_formats=[],
                                                 param_oids=[], portal=None))
        else:
            if "nextval" in request.sql.lower():
                raise PgError(FEATURE_NOT_SUPPORTED, "a rule action calling nextval() (a serial column's "
                              "default read through NEW) in a statement with bound parameters is not "
                              "supported by gridpg", hint="send the values as literals")
            inner = dataclasses.replace(request, result_formats=[], max_rows=0, portal=None)
            await _run_inner(dispatcher, dataclasses.replace(request, simple=True), inner)
        return session.out
    finally:
        session.out = saved
        runner.current_sql = current
