"""Catalog schema versions: script names, the version graph, the shortest upgrade chain.

Owns `CATALOG_VERSION` (the schema this code reads and writes) and the rules of the
scripts in `catalog/sql/`: `install_N.sql` creates schema version N from nothing,
`upgrade_A_B.sql` moves an installed version A to B (B > A; it may skip versions).
A chain is found by breadth-first search, so it uses the fewest scripts; "nothing
installed" is the start vertex `NOT_INSTALLED` with an edge to every install script.

Pure: works on script names, never reads files or talks to a server (`store.py` does).
Scripts do not record their own version; whoever runs a chain writes it afterwards.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass

from gridpg.catalog.model import CatalogError

CATALOG_VERSION = 3
NOT_INSTALLED = 0

_INSTALL = re.compile(r"install_(\d+)\.sql")
_UPGRADE = re.compile(r"upgrade_(\d+)_(\d+)\.sql")


class NoUpgradeChainError(CatalogError):
    """No sequence of scripts leads from the installed version to the target."""

    def __init__(self, message: str) -> None:
        super().__init__(message, "55000")


@dataclass(frozen=True, order=True)
class Script:
    """One script: an edge of the version graph (`source` NOT_INSTALLED for install_N)."""

    source: int
    target: int
    name: str

    @property
    def is_install(self) -> bool:
        return self.source == NOT_INSTALLED


@dataclass(frozen=True)
class VersionGraph:
    """Scripts by source version, each list sorted by descending target (big leaps first)."""

    edges: dict[int, tuple[Script, ...]]

    @property
    def versions(self) -> frozenset[int]:
        return frozenset(s.target for scripts in self.edges.values() for s in scripts)


def parse_script_name(name: str) -> Script | None:
    """The script a file name denotes, or None for a file that is not a script."""
    if match := _INSTALL.fullmatch(name):
        return _checked(Script(NOT_INSTALLED, int(match[1]), name))
    if match := _UPGRADE.fullmatch(name):
        return _checked(Script(int(match[1]), int(match[2]), name))
    return None


def _checked(script: Script) -> Script:
    if script.target < 1:
        raise CatalogError(f"script {script.name}: versions start at 1")
    if not script.is_install and script.target <= script.source:
        raise CatalogError(f"script {script.name}: an upgrade must go to a higher version")
    return script


def build_version_graph(names: Iterable[str]) -> VersionGraph:
    """The graph of the scripts among `names` (other names are ignored)."""
    edges: dict[int, list[Script]] = {}
    for name in names:
        script = parse_script_name(name)
        if script is not None:
            edges.setdefault(script.source, []).append(script)
    return VersionGraph({v: tuple(sorted(s, key=_leap_first)) for v, s in edges.items()})


def _leap_first(script: Script) -> tuple[int, str]:
    return (-script.target, script.name)


def find_chain(graph: VersionGraph, installed: int, target: int) -> tuple[Script, ...]:
    """The fewest scripts taking `installed` (or NOT_INSTALLED) to `target`; () if equal."""
    if installed == target:
        return ()
    if installed > target:
        raise NoUpgradeChainError(
            f"catalog schema version {installed} is newer than {target}; cannot downgrade"
        )
    came_by = _breadth_first(graph, installed, target)
    if target not in came_by:
        raise NoUpgradeChainError(_no_chain_message(graph, installed, target))
    return _walk_back(came_by, installed, target)


def _breadth_first(graph: VersionGraph, start: int, target: int) -> dict[int, Script]:
    """For each reached version, the script that first reached it."""
    came_by: dict[int, Script] = {}
    queue = deque([start])
    while queue and target not in came_by:
        version = queue.popleft()
        for script in graph.edges.get(version, ()):
            if script.target not in came_by and script.target != start:
                came_by[script.target] = script
                queue.append(script.target)
    return came_by


def _walk_back(came_by: dict[int, Script], start: int, target: int) -> tuple[Script, ...]:
    chain: list[Script] = []
    version = target
    while version != start:
        script = came_by[version]
        chain.append(script)
        version = script.source
    return tuple(reversed(chain))


def _no_chain_message(graph: VersionGraph, installed: int, target: int) -> str:
    if installed == NOT_INSTALLED:
        return f"no install script leads to catalog schema version {target}"
    known = ", ".join(str(v) for v in sorted(graph.versions)) or "none"
    return (
        f"no upgrade scripts lead from catalog schema version {installed} to {target} "
        f"(versions with scripts: {known})"
    )
