"""cli/main.py: psql's own options pass through `gridpg psql`; other commands refuse
options they do not know."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from gridpg.cli import main as cli


def test_psql_options_reach_psql(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    calls: list[list[str]] = []

    class FakeCluster:
        def __init__(self, directory: Path, pg_bin: Any) -> None:
            self.directory = directory

        def dsn(self, index: int) -> str:
            return f"postgresql://coord{index + 1}"

    monkeypatch.setattr(cli, "Cluster", FakeCluster)
    monkeypatch.setattr(cli, "find_pg_bin", lambda pg_bin: tmp_path)
    monkeypatch.setattr(cli.os, "execv", lambda path, argv: calls.append(argv))
    assert cli.main(["psql", "--dir", str(tmp_path), "-c", "select 1", "-At"]) == 0
    assert cli.main(["psql", "--dir", str(tmp_path), "--coordinator", "2", "--", "-X", "-c", "select 2"]) == 0
    assert calls == [[str(tmp_path / "psql"), "postgresql://coord1", "-c", "select 1", "-At"],
                     [str(tmp_path / "psql"), "postgresql://coord2", "-X", "-c", "select 2"]]


def test_other_commands_refuse_unknown_options() -> None:
    with pytest.raises(SystemExit) as exited:
        cli.main(["status", "--bogus"])
    assert exited.value.code == 2
