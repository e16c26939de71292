"""`nextval('s')` in the select list of an INSERT ... SELECT into a distributed table.

PostgreSQL evaluates `nextval` once per row it inserts. A datanode or the catalog server
calling it would take values from its own copy of the sequence, not the cluster's. So the
SELECT runs (through gridpg, anywhere its planner can run it) with each such item
replaced by NULL, and each row's NULL then takes a value from the GTM: row by row, left to
right, as PostgreSQL evaluates them. The rows, values included, are then routed by their
stored distribution value (dml._insert_via_stage), so every row lands where its value says.

Served: `nextval('name')` (or `nextval('name'::regclass)`) as a whole item of the select
list of a plain SELECT (WHERE, ORDER BY, LIMIT allowed: with LIMIT PostgreSQL also calls
it only for the rows it returns). Any other sequence call in the statement, or a SELECT
with DISTINCT, GROUP BY, aggregates, window functions or set operations (where the calls
would not be one per inserted row) stays refused (0A000, commands/sequences.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from gridpg.planner import analyze
from gridpg.planner.calls import sequence_calls
from gridpg.sql.parse import parse_sql

if TYPE_CHECKING:
    from gridpg.executor.dispatch import Dispatcher

_PER_ROW_BREAKERS = ("distinctClause", "groupClause", "havingClause", "windowClause", "larg")


def nextval_items(body: dict[str, Any]) -> dict[int, str] | None:
    """{select-list position: sequence name} when the INSERT's sequence calls are all
    served here (None: there are none, or some are not)."""
    select = (body.get("selectStmt") or {}).get("SelectStmt") or {}
    if not select or select.get("valuesLists") or any(select.get(k) for k in _PER_ROW_BREAKERS):
        return None
    out: dict[int, str] = {}
    for position, target in enumerate(select.get("targetList") or []):
        name = _nextval_name(target.get("ResTarget", {}).get("val", {}))
        if name is not None:
            out[position] = name
    calls = sequence_calls(body)
    if not out or len(calls) != len(out) or analyze.has_node(select.get("targetList"), "WindowFunc"):
        return None
    if _has_aggregate(select):
        return None
    return out


def _nextval_name(node: dict[str, Any]) -> str | None:
    call = node.get("FuncCall")
    if not isinstance(call, dict) or call.get("agg_star") or call.get("over"):
        return None
    names = [n["String"]["sval"] for n in call.get("funcname", []) if "String" in n]
    if not names or names[-1] != "nextval" or (len(names) == 2 and names[0] != "pg_catalog"):
        return None
    args = call.get("args") or []
    if len(args) != 1:
        return None
    arg = args[0]
    if "TypeCast" in arg:
        arg = arg["TypeCast"].get("arg", {})
    value = arg.get("A_Const", {}).get("sval", {}).get("sval")
    return value if isinstance(value, str) else None


def _has_aggregate(select: dict[str, Any]) -> bool:
    """A call of a common aggregate in the select list or HAVING makes one row of many."""
    names = {"count", "sum", "avg", "min", "max", "array_agg", "string_agg", "bool_and", "bool_or",
             "every", "json_agg", "jsonb_agg", "json_object_agg", "jsonb_object_agg"}
    for node in analyze._walk(select.get("targetList")):
        call = node.get("FuncCall") if isinstance(node, dict) else None
        if call and call.get("funcname") and call["funcname"][-1].get("String", {}).get("sval") in names:
            return True
    return False


def with_nulls(stmt: Any, positions: dict[int, str]) -> None:
    """The pglast statement's SELECT with those items replaced by NULL (in place)."""
    from pglast import ast

    for position in positions:
        target = stmt.selectStmt.targetList[position]
        target.val = ast.A_Const(isnull=True)


async def fill(dispatcher: Dispatcher, chunks: list[bytes], positions: dict[int, str]) -> list[bytes]:
    """COPY text rows with the fields at `positions` set to GTM values, row by row and left
    to right per sequence (the order PostgreSQL calls nextval in)."""
    from gridpg.commands.sequences import next_values, qualified_name

    data = b"".join(chunks)
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    order = sorted(positions)
    per_sequence: dict[str, list[int]] = {}
    for position in order:
        per_sequence.setdefault(positions[position], []).append(position)
    taken: dict[int, list[int]] = {}
    for name, places in sorted(per_sequence.items(), key=lambda item: max(item[1])):  # lastval: the last called
        qualified = await qualified_name(dispatcher, name, "nextval")
        values = await next_values(dispatcher, qualified, len(lines) * len(places)) if lines else []
        for index, place in enumerate(places):  # row-major: row r, place i gets r * k + i
            taken[place] = values[index::len(places)]
    out = []
    for row, line in enumerate(lines):
        fields = line.split(b"\t")
        for place in order:
            fields[place] = str(taken[place][row]).encode()
        out.append(b"\t".join(fields) + b"\n")
    return [b"".join(out)] if out else []


@dataclass
class SequenceDefault:
    """A column left to its default whose expression calls nextval() inside it
    (`'ORD-' || lpad(nextval('order_no')::text, 6, '0')`), for INSERT ... SELECT: each
    call becomes a staging column (`gp_seq_<k>`) that takes the GTM's next value per row,
    and each node computes the expression from it when it inserts its rows."""

    column: str
    expression: str  # the default with each nextval() call replaced by its staging column
    sequences: list[tuple[str, str]]  # (staging column, sequence name as written) per call


def sequence_defaults(defaults: list[tuple[str, str]]) -> list[SequenceDefault] | None:
    """For (column, default expression) pairs: the staged form of each; None when one of
    them calls another sequence function (currval, lastval, setval) or nextval() of a
    sequence not named by a constant, which stay refused."""
    from pglast.stream import RawStream

    out: list[SequenceDefault] = []
    count = 0
    for column, default in defaults:
        stmt = parse_sql(f"SELECT {default}")[0].stmt
        calls = _StagedCalls(count)
        calls(stmt)
        if calls.refused or not calls.found:
            return None
        count += len(calls.found)
        out.append(SequenceDefault(column, RawStream()(stmt.targetList[0].val), calls.found))
    return out


def _staged_calls_visitor() -> type:
    from pglast import ast
    from pglast.visitors import Visitor

    class StagedCalls(Visitor):  # type: ignore[misc]
        """Replaces each `nextval('name')` by its staging column `gp_seq_<k>`."""

        def __init__(self, first: int) -> None:
            self.first = first
            self.found: list[tuple[str, str]] = []
            self.refused = False

        def visit_FuncCall(self, _ancestors: Any, node: ast.FuncCall) -> Any:
            name = node.funcname[-1].sval if node.funcname else ""
            if name in ("currval", "lastval", "setval"):
                self.refused = True
                return None
            if name != "nextval":
                return None
            sequence = _constant_sequence(node)
            if sequence is None:
                self.refused = True
                return None
            staged = f"gp_seq_{self.first + len(self.found)}"
            self.found.append((staged, sequence))
            return ast.ColumnRef(fields=(ast.String(sval=staged),))

    return StagedCalls


_StagedCalls = _staged_calls_visitor()


def _constant_sequence(call: Any) -> str | None:
    """The sequence of `nextval('name')` / `nextval('name'::regclass)` (a pglast FuncCall)."""
    from pglast import ast

    args = call.args or ()
    if len(args) != 1 or call.agg_star or call.over is not None:
        return None
    arg = args[0]
    if isinstance(arg, ast.TypeCast):
        arg = arg.arg
    if isinstance(arg, ast.A_Const) and isinstance(arg.val, ast.String):
        return str(arg.val.sval)
    return None
