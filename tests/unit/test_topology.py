"""Topology: the default one-machine layout, its TOML round trip, and port clashes."""

from __future__ import annotations

import os
import socket
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

from gridpg.cluster.topology import (
    PortAllocator,
    ServerSpec,
    Topology,
    build_default,
    dump,
    load,
    save,
)

HOST = "127.0.0.1"


def free_base() -> int:
    """A port P with P..P+5 and P+100..P+115 free (below the ephemeral range)."""
    for base in range(15000, 30000, 97):
        ports = [*range(base, base + 6), *range(base + 100, base + 116)]
        if all(PortAllocator(HOST, p).take() == p for p in ports):
            return base
    raise RuntimeError("no free ports")


@pytest.fixture()
def base() -> int:
    return free_base()


@pytest.fixture()
def squat() -> Iterator[list[socket.socket]]:
    held: list[socket.socket] = []
    yield held
    for sock in held:
        sock.close()


def take_port(held: list[socket.socket], port: int) -> None:
    sock = socket.socket()
    sock.bind((HOST, port))
    sock.listen()
    held.append(sock)


def all_ports(topo: Topology) -> list[int]:
    return [topo.gtm.port, *(c.port for c in topo.coordinators),
            *(s.port for s in topo.all_servers())]


def test_build_default_layout(base: int) -> None:
    topo = build_default(datanodes=3, coordinators=2, standbys=1, port=base)
    assert [c.name for c in topo.coordinators] == ["coord1", "coord2"]
    assert topo.coordinators[0].port == base
    assert [c.catalog.name for c in topo.coordinators] == ["catalog1", "catalog2"]
    assert [g.name for g in topo.groups] == ["dn1", "dn2", "dn3"]
    for i, group in enumerate(topo.groups, 1):
        assert group.primary.name == f"dn{i}" and group.primary.role == "primary"
        assert [s.name for s in group.standbys] == [f"dn{i}s1"]
        assert group.standbys[0].role == "secondary"
    ports = all_ports(topo)
    assert len(ports) == len(set(ports)), "every member has its own port"
    assert all(p >= base + 100 for p in [topo.gtm.port, *(s.port for s in topo.all_servers())])
    assert all(s.host == HOST for s in topo.all_servers())
    assert not topo.trust
    assert topo.coordinator("coord2") is topo.coordinators[1]
    with pytest.raises(KeyError):
        topo.coordinator("coord9")


def test_build_default_sizes(base: int) -> None:
    topo = build_default(datanodes=1, coordinators=1, port=base, trust=True)
    assert len(topo.coordinators) == 1 and len(topo.groups) == 1 and topo.trust
    assert [s.name for s in topo.all_servers()] == ["catalog1", "dn1"]


def test_dump_load_round_trip(tmp_path: Path, base: int) -> None:
    topo = build_default(datanodes=2, coordinators=2, standbys=2, port=base, trust=True)
    path = tmp_path / "gridpg.toml"
    save(topo, path)
    assert load(path) == topo
    tomllib.loads(dump(topo))  # valid TOML


@pytest.mark.parametrize(
    "data_dir",
    ["/abs/path", 'with "quotes"', "back\\slash", "spaces and ünïcode", "new\nline", "tab\tctrl\x01"],
)
def test_round_trip_of_awkward_strings(tmp_path: Path, base: int, data_dir: str) -> None:
    topo = build_default(datanodes=1, coordinators=1, port=base)
    topo.groups[0].members[0] = ServerSpec("dn1", HOST, topo.groups[0].primary.port, data_dir)
    path = tmp_path / "gridpg.toml"
    save(topo, path)
    assert load(path).groups[0].primary.data_dir == data_dir


def test_explicit_port_taken_is_a_clear_error(base: int, squat: list[socket.socket]) -> None:
    take_port(squat, base)
    with pytest.raises(ValueError, match=f"port {base} .*already in use"):
        build_default(port=base)


def test_other_taken_ports_are_skipped(base: int, squat: list[socket.socket]) -> None:
    for port in (base + 1, base + 100, base + 101):
        take_port(squat, port)
    topo = build_default(datanodes=2, coordinators=2, port=base)
    taken = {base + 1, base + 100, base + 101}
    assert topo.coordinators[0].port == base
    assert not taken & set(all_ports(topo))
    assert len(set(all_ports(topo))) == len(all_ports(topo))


def test_port_allocator_hands_out_distinct_ports_and_runs_out() -> None:
    alloc = PortAllocator(HOST, 65530)
    ports = []
    with pytest.raises(ValueError, match="no free port"):
        for _ in range(10):
            ports.append(alloc.take())
    assert len(ports) == len(set(ports)) and all(65530 <= p < 65535 for p in ports)


def test_coordinator_workers_in_the_topology_file(tmp_path: Path, base: int,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    from gridpg.frontend.coordinator import default_workers

    topo = build_default(datanodes=1, coordinators=2, port=base)
    topo.coordinators[1].workers = 3
    path = tmp_path / "gridpg.toml"
    save(topo, path)
    loaded = load(path)
    assert [c.workers for c in loaded.coordinators] == [0, 3]
    monkeypatch.delenv("GRIDPG_COORDINATOR_WORKERS", raising=False)
    assert default_workers(3) == 3
    assert 1 <= default_workers(0) <= 2 or (os.cpu_count() or 1) > 4
    monkeypatch.setenv("GRIDPG_COORDINATOR_WORKERS", "5")
    assert default_workers(3) == 5  # the environment overrides the file
    path.write_text(path.read_text().replace("workers = 3", "workers = -1"))
    with pytest.raises(ValueError, match="workers"):
        load(path)
