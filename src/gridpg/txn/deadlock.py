"""Distributed deadlocks: the wait-for graph over every node and its cycles (DESIGN 6).

Each node reports its lock waits as edges between backends (``pg_blocking_pids``). A
backend working for a distributed transaction carries the transaction in its
``application_name`` (``gridpg:<gxid>:<coordinator>``, set with ``SET LOCAL`` when the
transaction opens its block on the node, see ``txn/transaction.py``), so the backends of
one transaction on different nodes become one vertex. A backend without that label is a
vertex of its own (``<node>/<pid>``): it works for one node only.

A cycle of unlabeled vertices lies on one node, where PostgreSQL's own detector breaks it;
every cycle found here that crosses nodes holds a labeled transaction, and the youngest
labeled transaction of each cycle is the victim. Pure: no I/O; the monitor collects the
edges and cancels the victims.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

LABEL_PREFIX = "gridpg:"
_LABEL = re.compile(r"^gridpg:(\d+):(.+)$")


@dataclass(frozen=True, slots=True)
class TxnRef:
    """One vertex: a distributed transaction, or a backend working alone on one node."""

    key: str
    gxid: int | None = None
    coordinator: str | None = None

    @property
    def is_distributed(self) -> bool:
        return self.gxid is not None

    def __str__(self) -> str:
        if self.gxid is None:
            node, _, pid = self.key.partition("/")
            return f"process {pid} on {node}"
        return f"transaction {self.gxid} of {self.coordinator}"


@dataclass(frozen=True, slots=True)
class WaitEdge:
    """On ``node``, backend ``waiter_pid`` waits for a lock ``holder_pid`` holds."""

    node: str
    waiter: TxnRef
    waiter_pid: int
    holder: TxnRef
    holder_pid: int
    waiter_started: float = 0.0  # transaction start on that node (epoch seconds)
    holder_started: float = 0.0
    lock: str = ""


@dataclass(frozen=True, slots=True)
class Deadlock:
    """A cycle of transactions and the one chosen to break it."""

    cycle: tuple[TxnRef, ...]
    victim: TxnRef
    detail: str
    nodes: frozenset[str] = frozenset()  # where its waits are

    @property
    def crosses_nodes(self) -> bool:
        """A cycle on one node is PostgreSQL's own detector's to break."""
        return len(self.nodes) > 1


def build_label(gxid: int, coordinator: str) -> str:
    """The application_name a backend carries while it works for transaction ``gxid``."""
    return f"{LABEL_PREFIX}{gxid}:{coordinator}"


def txn_ref(node: str, pid: int, application_name: str | None) -> TxnRef:
    """The vertex of a backend: its distributed transaction, else the backend itself."""
    match = _LABEL.match(application_name or "")
    if match is None:
        return TxnRef(f"{node}/{pid}")
    return TxnRef(f"{match.group(2)}/{match.group(1)}", int(match.group(1)), match.group(2))


def find_deadlocks(edges: Iterable[WaitEdge]) -> list[Deadlock]:
    """Every cycle of the merged graph, each broken by removing its victim, in turn."""
    edges = [e for e in edges if e.waiter != e.holder]
    graph: dict[TxnRef, set[TxnRef]] = {}
    for edge in edges:
        graph.setdefault(edge.waiter, set()).add(edge.holder)
    started = _start_times(edges)
    found: list[Deadlock] = []
    while True:
        cycle = find_cycle(graph)
        if cycle is None:
            return found
        victim = choose_victim(cycle, started)
        found.append(Deadlock(tuple(cycle), victim, describe_cycle(cycle, edges),
                              cycle_nodes(cycle, edges)))
        graph.pop(victim, None)
        for targets in graph.values():
            targets.discard(victim)


def find_cycle(graph: dict[TxnRef, set[TxnRef]]) -> list[TxnRef] | None:
    """One cycle of ``graph`` (vertices in wait order), or None; deterministic."""
    done: set[TxnRef] = set()
    for root in sorted(graph, key=lambda v: v.key):
        if root in done:
            continue
        path: list[TxnRef] = []
        on_path: dict[TxnRef, int] = {}
        stack: list[tuple[TxnRef, list[TxnRef]]] = [(root, _successors(graph, root))]
        path.append(root)
        on_path[root] = 0
        while stack:
            vertex, pending = stack[-1]
            if not pending:
                stack.pop()
                path.pop()
                on_path.pop(vertex, None)
                done.add(vertex)
                continue
            nxt = pending.pop()
            if nxt in on_path:
                return path[on_path[nxt]:]
            if nxt in done:
                continue
            on_path[nxt] = len(path)
            path.append(nxt)
            stack.append((nxt, _successors(graph, nxt)))
    return None


def _successors(graph: dict[TxnRef, set[TxnRef]], vertex: TxnRef) -> list[TxnRef]:
    # Reversed so that pop() visits them in key order.
    return sorted(graph.get(vertex, ()), key=lambda v: v.key, reverse=True)


def choose_victim(cycle: list[TxnRef], started: dict[TxnRef, float]) -> TxnRef:
    """The youngest distributed transaction of the cycle (latest start, then highest GXID);
    a cycle without one (it cannot cross nodes) gives its youngest backend."""
    candidates = [t for t in cycle if t.is_distributed] or cycle
    return max(candidates, key=lambda t: (started.get(t, 0.0), t.gxid or 0, t.key))


def describe_cycle(cycle: list[TxnRef], edges: list[WaitEdge]) -> str:
    """DETAIL text in PostgreSQL's manner: who waits for whom, where, for which lock."""
    lines = []
    for index, waiter in enumerate(cycle):
        holder = cycle[(index + 1) % len(cycle)]
        edge = next((e for e in edges if e.waiter == waiter and e.holder == holder), None)
        if edge is None:
            continue
        lock = f" for {edge.lock}" if edge.lock else ""
        lines.append(
            f"{waiter} waits on {edge.node} (process {edge.waiter_pid}){lock}; "
            f"blocked by {holder} (process {edge.holder_pid})."
        )
    return "\n".join(lines)


def cycle_nodes(cycle: list[TxnRef], edges: list[WaitEdge]) -> frozenset[str]:
    """The nodes on which the cycle's waits happen."""
    nodes = set()
    for index, waiter in enumerate(cycle):
        holder = cycle[(index + 1) % len(cycle)]
        nodes.update(e.node for e in edges if e.waiter == waiter and e.holder == holder)
    return frozenset(nodes)


def _start_times(edges: list[WaitEdge]) -> dict[TxnRef, float]:
    """A transaction's start: the earliest start of its backends seen on any node."""
    started: dict[TxnRef, float] = {}
    for edge in edges:
        for ref, when in ((edge.waiter, edge.waiter_started), (edge.holder, edge.holder_started)):
            if when and (ref not in started or when < started[ref]):
                started[ref] = when
    return started
