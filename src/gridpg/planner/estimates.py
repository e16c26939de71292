"""Row and width estimates the exchange planner decides with: what it asks for, what it gets. Pure.

The exchange planner chooses between the coordinator finish, broadcast, repartition (one
scan per source, or one per destination), semi-join key reduction (planner/broadcast.py)
and running IN subqueries first (planner/subplans.py) from the datanodes' own planner
statistics, but it does no I/O. So planning an exchange is three steps:

1. the planner lists the estimates it needs (`table_requests`, `in_subquery_requests`):
   which node, which SELECT, how many nodes hold such rows;
2. the executor (executor/estimates.py) EXPLAINs them, all of one node in one round
   trip, and hands back each answer as an `Estimate` (rows of all nodes, bytes per row);
3. the planner decides from those values alone (`plan_broadcast`, `small_in_subqueries`).

Unit tests feed estimates by hand (tests/unit/test_exchange_choice.py). Nothing here
reads a catalog or talks to a server.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from gridpg.catalog.model import DistTable
from gridpg.planner.gather import Needs, TableKey
from gridpg.planner.plan import SCRATCH_SCHEMA
from gridpg.sql.quote import quote_ident, quote_qualified


@dataclass(frozen=True)
class Estimate:
    """A node planner's estimate, scaled to every node that holds such rows."""

    rows: float
    width: int = 0  # bytes per row (Plan Width); 0: unknown
    indexed: bool = False  # the node's plan reads through an index and sorts nothing

    @property
    def size(self) -> float:
        """Bytes, counting an unknown width as one byte a row (rows alone then decide)."""
        return self.rows * max(self.width, 1)


@dataclass(frozen=True)
class EstimateRequest:
    """One EXPLAIN the planner needs: `sql` (a SELECT) on `group`; its per-node row count
    times `nodes`. `in_block`: only the statement's own transaction block sees what it
    reads (a subplan's scratch table), so it is asked there."""

    kind: str  # "filtered" | "whole" | "distinct" | "in" | "probe"
    subject: str  # a table's "schema.name", or an IN subquery's text
    group: str
    sql: str
    nodes: int
    in_block: bool = False

    @property
    def label(self) -> tuple[str, str]:
        return (self.kind, self.subject)


@dataclass(frozen=True)
class TableEstimate:
    """What the exchange planner knows of one table: its filtered, projected rows (what a
    move or a gather would read), and the whole table's rows when they were asked for."""

    rows: float
    width: int = 0
    whole: float | None = None
    indexed: frozenset[str] = frozenset()  # columns a lookup by a key list reads through an index
    # the rows of its SELECT DISTINCT (each node's distinct rows, summed), asked for a table
    # read only by EXISTS / IN subqueries: what a move of its distinct rows sends
    distinct: float | None = None

    @property
    def size(self) -> float:
        return Estimate(self.rows, self.width).size

    def moved_size(self, distinct: bool) -> float:
        """Bytes a move sends: its distinct rows' when it moves them DISTINCT and they are known."""
        if distinct and self.distinct is not None:
            return Estimate(min(self.rows, self.distinct), self.width).size
        return self.size


Estimates = Mapping[tuple[str, str], Estimate]


def subject(key: TableKey) -> str:
    return f"{key[0]}.{key[1]}"


def table_requests(tables: Mapping[TableKey, DistTable], needs: Mapping[TableKey, Needs],
                   columns: Mapping[TableKey, Sequence[str]],
                   semi: frozenset[TableKey] = frozenset()) -> tuple[EstimateRequest, ...]:
    """Per table: the rows of what the statement reads of it (its filtered, projected
    SELECT); for a sharded table with a filter, also the whole table's rows (the choice of
    one scan per source over one per destination of a repartition weighs the two); for a
    table in `semi` (read only by EXISTS / IN subqueries: planner/broadcast.semi_join_tables),
    also its distinct rows, which is what a broadcast of it moves."""
    out = []
    every = Needs(None, None)
    for key, table in tables.items():
        need = needs.get(key, every)
        nodes = 1 if table.method == "replication" else len(table.groups)
        in_block = table.schema == SCRATCH_SCHEMA
        select = need.select_sql(table.schema, table.name, columns.get(key, []))
        in_block = in_block or f"{SCRATCH_SCHEMA}." in select
        out.append(EstimateRequest("filtered", subject(key), table.groups[0], select, nodes, in_block))
        if key in semi and need.columns:
            out.append(EstimateRequest("distinct", subject(key), table.groups[0],
                                       "SELECT DISTINCT " + select.removeprefix("SELECT "), nodes, in_block))
        if need.filter and table.method != "replication":
            out.append(EstimateRequest("whole", subject(key), table.groups[0],
                                       f"SELECT 1 FROM {quote_qualified(table.schema, table.name)}", nodes,
                                       table.schema == SCRATCH_SCHEMA))
    return tuple(out)


def probe_subject(key: TableKey, column: str) -> str:
    return f"{quote_qualified(*key)}.{quote_ident(column)}"


def probe_requests(tables: Mapping[TableKey, DistTable],
                   probes: Sequence[tuple[TableKey, str]]) -> tuple[EstimateRequest, ...]:
    """Per (sharded table, column) that a key filter could cut (planner/broadcast.py,
    `key_filter_probes`): how its node plans `ORDER BY column LIMIT 1`, read through an
    index only when a btree index leads with the column, as a key-list lookup needs
    (without one, every row would be compared with every key; an index that has the
    column second would be skip-scanned once per value of its first)."""
    out = []
    for key, column in dict.fromkeys(probes):
        table = tables.get(key)
        if table is None or table.method == "replication" or key[0] == SCRATCH_SCHEMA:
            continue
        name, col = quote_qualified(*key), quote_ident(column)
        out.append(EstimateRequest("probe", probe_subject(key, column), table.groups[0],
                                   f"SELECT {col} FROM {name} ORDER BY {col} LIMIT 1",
                                   len(table.groups)))
    return tuple(out)


def table_estimates(tables: Mapping[TableKey, DistTable], answers: Estimates,
                    columns: Mapping[TableKey, Sequence[str]] | None = None) -> dict[TableKey, TableEstimate]:
    """The estimates of `table_requests` (and of `probe_requests` over `columns`), per
    table (0 rows where none came back)."""
    out = {}
    for key in tables:
        filtered = answers.get(("filtered", subject(key)), Estimate(0.0))
        whole = answers.get(("whole", subject(key)))
        distinct = answers.get(("distinct", subject(key)))
        probed = (answers.get(("probe", probe_subject(key, c))) for c in (columns or {}).get(key, ()))
        indexed = frozenset(c for c, a in zip((columns or {}).get(key, ()), probed) if a is not None and a.indexed)
        out[key] = TableEstimate(filtered.rows, filtered.width, whole.rows if whole is not None else None, indexed,
                                 distinct.rows if distinct is not None else None)
    return out


SMALL_IN_ROWS = 20000  # an IN subquery estimated to return at most this many rows runs first


def in_subquery_requests(texts: Sequence[tuple[str, str]], groups: Sequence[str]) -> tuple[EstimateRequest, ...]:
    """The rows of the outermost few IN subqueries (text, the text estimated: its DISTINCT
    form where the IN reads a set, planner/subplans.in_subqueries), a per-node estimate
    times the nodes: an upper bound for rows spread over them. One with a parameter cannot
    be estimated."""
    if not groups:
        return ()
    return tuple(EstimateRequest("in", text, groups[0], estimated, len(groups))
                 for text, estimated in texts[:4] if "$" not in text)


def small_in_subqueries(texts: Sequence[tuple[str, str]], answers: Estimates) -> list[str]:
    """The IN subqueries to run first: those estimated at most SMALL_IN_ROWS rows. One
    without an estimate (a table made in this transaction) stays in place."""
    return [t for t, _ in texts if ("in", t) in answers and answers[("in", t)].rows <= SMALL_IN_ROWS]
