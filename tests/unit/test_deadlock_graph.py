"""The wait-for graph across nodes: labels, cycles, victims (txn/deadlock.py; pure)."""

from __future__ import annotations

from gridpg.txn.deadlock import (
    TxnRef,
    WaitEdge,
    build_label,
    choose_victim,
    find_cycle,
    find_deadlocks,
    txn_ref,
)


def ref(gxid: int, coord: str = "coord1") -> TxnRef:
    return txn_ref("dn1", 99, build_label(gxid, coord))


def edge(node: str, waiter: TxnRef, holder: TxnRef, w_start: float = 0.0, h_start: float = 0.0,
         pids: tuple[int, int] = (1, 2)) -> WaitEdge:
    return WaitEdge(node, waiter, pids[0], holder, pids[1], w_start, h_start, "ShareLock on transactionid 7")


def test_label_round_trip_and_unlabeled_backends() -> None:
    t = txn_ref("dn2", 123, "gridpg:4711:coord-2")
    assert (t.gxid, t.coordinator, t.key) == (4711, "coord-2", "coord-2/4711")
    assert txn_ref("dn1", 5, "gridpg:4711:coord-2") == t  # the same transaction on another node
    plain = txn_ref("dn1", 5, "psql")
    assert plain.gxid is None and plain.key == "dn1/5" and not plain.is_distributed
    assert txn_ref("dn1", 5, None) == plain
    assert txn_ref("dn1", 5, "gridpg:x:coord1").gxid is None


def test_two_node_cycle_picks_the_youngest_transaction() -> None:
    a, b = ref(10, "coord1"), ref(20, "coord2")
    # a waits for b on dn1, b waits for a on dn2; a started first.
    edges = [edge("dn1", a, b, 100.0, 105.0), edge("dn2", b, a, 105.0, 100.0)]
    found = find_deadlocks(edges)
    assert len(found) == 1
    assert set(found[0].cycle) == {a, b}
    assert found[0].victim == b
    assert "waits on dn1" in found[0].detail and "waits on dn2" in found[0].detail
    assert "transaction 20 of coord2" in found[0].detail
    assert found[0].crosses_nodes and found[0].nodes == {"dn1", "dn2"}


def test_cycle_on_one_node_is_left_to_postgresql() -> None:
    a, b = ref(10), ref(20)
    found = find_deadlocks([edge("dn2", a, b), edge("dn2", b, a)])
    assert len(found) == 1 and not found[0].crosses_nodes


def test_youngest_by_start_not_by_gxid() -> None:
    a, b = ref(500), ref(20)  # GXIDs come in per-coordinator ranges: not in start order
    edges = [edge("dn1", a, b, 200.0, 100.0), edge("dn2", b, a, 100.0, 200.0)]
    assert find_deadlocks(edges)[0].victim == a


def test_no_cycle_no_deadlock() -> None:
    a, b, c = ref(1), ref(2), ref(3)
    assert find_deadlocks([edge("dn1", a, b), edge("dn2", b, c)]) == []
    assert find_deadlocks([]) == []
    assert find_deadlocks([edge("dn1", a, a)]) == []  # a transaction waiting on its own backends


def test_unlabeled_backend_in_a_cross_node_cycle_is_not_the_victim() -> None:
    a = ref(1)
    local = txn_ref("dn1", 77, "")
    b = ref(2)
    # local (a single-node autocommit statement) waits for a on dn1, a waits for b on dn2,
    # b waits for local on dn1: the local statement is youngest, but a labeled one is chosen.
    edges = [edge("dn1", local, a, 300.0, 100.0), edge("dn2", a, b, 100.0, 200.0),
             edge("dn1", b, local, 200.0, 300.0)]
    found = find_deadlocks(edges)
    assert len(found) == 1 and found[0].victim == b


def test_two_independent_cycles_each_get_a_victim() -> None:
    a, b, c, d = ref(1), ref(2), ref(3), ref(4)
    edges = [edge("dn1", a, b, 1, 2), edge("dn2", b, a, 2, 1),
             edge("dn1", c, d, 3, 4), edge("dn2", d, c, 4, 3)]
    victims = {dl.victim for dl in find_deadlocks(edges)}
    assert victims == {b, d}


def test_breaking_one_cycle_breaks_overlapping_ones_once() -> None:
    a, b, c = ref(1), ref(2), ref(3)
    # a->b->a and b->c->b share b, the youngest: one victim breaks both.
    edges = [edge("dn1", a, b, 1, 9), edge("dn2", b, a, 9, 1), edge("dn1", b, c, 9, 2),
             edge("dn2", c, b, 2, 9)]
    found = find_deadlocks(edges)
    assert [d.victim for d in found] == [b]


def test_three_way_cycle_over_three_nodes() -> None:
    a, b, c = ref(1), ref(2), ref(3)
    graph = {a: {b}, b: {c}, c: {a}}
    cycle = find_cycle(graph)
    assert cycle is not None and set(cycle) == {a, b, c}
    assert choose_victim(cycle, {a: 1.0, b: 3.0, c: 2.0}) == b


def test_long_chain_is_iterative() -> None:
    refs = [ref(i) for i in range(5000)]
    graph = {refs[i]: {refs[i + 1]} for i in range(4999)}
    assert find_cycle(graph) is None
    graph[refs[-1]] = {refs[0]}
    assert len(find_cycle(graph) or []) == 5000
