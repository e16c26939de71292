"""The plans the planner hands the executor: frozen values that print themselves.

A `DistributedPlan` says which strategy applies, which nodes run what SQL, and what the
coordinator does with the results. `NotApplicable` is the value a strategy returns when it
does not apply, with its reason (shown by EXPLAIN VERBOSE).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class NotApplicable:
    strategy: str
    reason: str


@dataclass(frozen=True)
class Fragment:
    """SQL that one node runs."""

    group: str
    sql: str


@dataclass(frozen=True)
class GatherTable:
    """A distributed table a coordinator-finish plan copies into a catalog temp table."""

    schema: str
    name: str
    temp: str
    groups: tuple[str, ...]


@dataclass(frozen=True)
class DistributedPlan:
    strategy: str  # catalog | router | pushdown | two-phase | coordinator-finish
    fragments: tuple[Fragment, ...] = ()
    writes: bool = False
    final_sql: str | None = None  # catalog-side SQL for two-phase / coordinator finish
    gather: tuple[GatherTable, ...] = ()
    partial_temp: str | None = None
    replicated: bool = False  # a write to every copy: the client sees one copy's answer
    reasons: tuple[NotApplicable, ...] = field(default=(), compare=False)

    @property
    def groups(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(f.group for f in self.fragments))

    def describe(self) -> list[str]:
        """Human-readable lines for EXPLAIN."""
        lines = [f"Distributed plan: {self.strategy}"]
        if self.fragments:
            nodes = ", ".join(self.groups)
            lines.append(f"  Nodes: {nodes}")
            shown = set()
            for fragment in self.fragments:
                if fragment.sql in shown:
                    continue
                shown.add(fragment.sql)
                lines.append(f"  Remote SQL: {fragment.sql}")
        for table in self.gather:
            lines.append(
                f"  Gather {table.schema}.{table.name} from {', '.join(table.groups)} into {table.temp}"
            )
        if self.final_sql:
            lines.append(f"  Final SQL on the catalog server: {self.final_sql}")
        if self.writes and len(self.groups) > 1:
            lines.append("  Commit: two-phase (PREPARE TRANSACTION on every node written)")
        return lines
