"""Catalog schema versions: script names, the version graph and the shortest chain."""

from __future__ import annotations

import itertools

import pytest

from gridpg.catalog import store
from gridpg.catalog.model import CatalogError
from gridpg.catalog.versions import (
    CATALOG_VERSION,
    NOT_INSTALLED,
    NoUpgradeChainError,
    Script,
    build_version_graph,
    find_chain,
    parse_script_name,
)

SHORTCUTS = [
    "install_1.sql",
    "upgrade_1_2.sql",
    "upgrade_2_3.sql",
    "upgrade_3_4.sql",
    "upgrade_1_3.sql",
    "upgrade_2_4.sql",
    "README.md",
]


def names(chain: tuple[Script, ...]) -> list[str]:
    return [s.name for s in chain]


def test_parse_script_names() -> None:
    assert parse_script_name("install_12.sql") == Script(NOT_INSTALLED, 12, "install_12.sql")
    assert parse_script_name("upgrade_1_3.sql") == Script(1, 3, "upgrade_1_3.sql")
    assert parse_script_name("upgrade_1_3.sql.bak") is None
    assert parse_script_name("notes.sql") is None


@pytest.mark.parametrize("bad", ["upgrade_3_2.sql", "upgrade_2_2.sql", "install_0.sql"])
def test_bad_script_names_are_refused(bad: str) -> None:
    with pytest.raises(CatalogError):
        parse_script_name(bad)


def test_shortcuts_give_the_fewest_scripts() -> None:
    graph = build_version_graph(SHORTCUTS)
    chain = find_chain(graph, 1, 4)
    assert len(chain) == 2
    assert chain[0].source == 1 and chain[-1].target == 4
    assert all(a.target == b.source for a, b in itertools.pairwise(chain))
    assert names(find_chain(graph, 2, 4)) == ["upgrade_2_4.sql"]
    assert names(find_chain(graph, 3, 4)) == ["upgrade_3_4.sql"]
    assert names(find_chain(graph, 1, 2)) == ["upgrade_1_2.sql"]


def test_chain_without_shortcuts_walks_every_step() -> None:
    graph = build_version_graph(["upgrade_1_2.sql", "upgrade_2_3.sql", "upgrade_3_4.sql"])
    assert names(find_chain(graph, 1, 4)) == [
        "upgrade_1_2.sql",
        "upgrade_2_3.sql",
        "upgrade_3_4.sql",
    ]


def test_install_prefers_the_fewest_scripts() -> None:
    graph = build_version_graph(SHORTCUTS + ["install_3.sql"])
    assert names(find_chain(graph, NOT_INSTALLED, 4)) == ["install_3.sql", "upgrade_3_4.sql"]
    assert names(find_chain(graph, NOT_INSTALLED, 1)) == ["install_1.sql"]


def test_already_current_needs_nothing() -> None:
    assert find_chain(build_version_graph(SHORTCUTS), 4, 4) == ()
    assert find_chain(build_version_graph([]), 3, 3) == ()


def test_unreachable_target_is_a_clear_error() -> None:
    graph = build_version_graph(SHORTCUTS)
    with pytest.raises(NoUpgradeChainError, match="from catalog schema version 1 to 5"):
        find_chain(graph, 1, 5)
    with pytest.raises(NoUpgradeChainError, match="version 7 to 8"):
        find_chain(graph, 7, 8)
    with pytest.raises(NoUpgradeChainError, match="no install script"):
        find_chain(build_version_graph(["upgrade_1_2.sql"]), NOT_INSTALLED, 2)


def test_downgrade_is_refused() -> None:
    with pytest.raises(NoUpgradeChainError, match="cannot downgrade"):
        find_chain(build_version_graph(SHORTCUTS), 4, 2)


def test_packaged_scripts_reach_the_current_version_from_every_version() -> None:
    graph = build_version_graph(store.packaged_script_names())
    assert names(find_chain(graph, NOT_INSTALLED, CATALOG_VERSION)) == [
        f"install_{CATALOG_VERSION}.sql"
    ]
    for version in range(1, CATALOG_VERSION):
        assert find_chain(graph, version, CATALOG_VERSION)[-1].target == CATALOG_VERSION


def test_chain_sql_records_each_version() -> None:
    graph = build_version_graph(store.packaged_script_names())
    sql = store.build_chain_sql(find_chain(graph, NOT_INSTALLED, 1) + find_chain(graph, 1, 2))
    assert sql.index("CREATE SCHEMA gridpg") < sql.index("VALUES (1)")
    assert sql.index("VALUES (1)") < sql.index("ADD COLUMN size_bytes") < sql.index("version = 2")
