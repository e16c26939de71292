"""The planner is pure: nothing under src/gridpg/planner/ imports I/O (asyncio, sockets,
subprocesses) or the layers that do I/O (executor, frontend, datanode, gtm, txn, cluster,
commands, cli), not even inside a function or under TYPE_CHECKING; and importing the
planner does not pull them in indirectly."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

PLANNER = Path(__file__).resolve().parents[2] / "src" / "gridpg" / "planner"
FORBIDDEN_MODULES = ("asyncio", "socket", "subprocess", "selectors")
FORBIDDEN_LAYERS = ("executor", "frontend", "datanode", "gtm", "txn", "cluster", "commands", "cli")


def forbidden(module: str) -> bool:
    parts = module.split(".")
    if parts[0] in FORBIDDEN_MODULES:
        return True
    return parts[0] == "gridpg" and len(parts) > 1 and parts[1] in FORBIDDEN_LAYERS


def imports_of(path: Path) -> list[tuple[int, str]]:
    """Every module an import statement of the file names (absolute; relative imports
    resolved against the planner package)."""
    out = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            out += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(["gridpg", "planner"][: 3 - node.level] + ([base] if base else []))
            out.append((node.lineno, base))
            out += [(node.lineno, f"{base}.{alias.name}") for alias in node.names]
        elif isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "import_module" \
                and node.args and isinstance(node.args[0], ast.Constant):
            out.append((node.lineno, str(node.args[0].value)))
    return out


def test_the_checker_catches_forbidden_imports(tmp_path: Path) -> None:
    sample = tmp_path / "bad.py"
    sample.write_text(
        "import asyncio\nfrom typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
        "    from gridpg.executor.dispatch import Dispatcher\n"
        "def f():\n    from gridpg import frontend\n    import socket\n"
    )
    found = [m for _, m in imports_of(sample) if forbidden(m)]
    assert found == ["asyncio", "gridpg.executor.dispatch", "gridpg.executor.dispatch.Dispatcher",
                     "gridpg.frontend", "socket"]
    assert not forbidden("gridpg.planner.plan") and not forbidden("gridpg.catalog.model")


def test_no_planner_module_imports_io_or_upper_layers() -> None:
    modules = sorted(PLANNER.rglob("*.py"))
    assert len(modules) >= 10, modules  # the walk sees the package
    offenders = [f"{path.name}:{line} imports {module}"
                 for path in modules for line, module in imports_of(path) if forbidden(module)]
    assert offenders == []


def test_importing_the_planner_pulls_in_no_io() -> None:
    names = [f"gridpg.planner.{p.stem}" for p in sorted(PLANNER.glob("*.py")) if p.stem != "__init__"]
    code = (
        "import sys\n"
        + "".join(f"import {n}\n" for n in names)
        + "print('\\n'.join(sorted(sys.modules)))\n"
    )
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                            timeout=60).stdout.split()
    assert [m for m in loaded if forbidden(m)] == []


def test_a_planner_defect_fails_the_statement_not_the_session(monkeypatch: object) -> None:
    """Planning does no I/O (above), so an exception of the planner's own (a defect: an
    assertion, a KeyError) is turned into the statement's XX000 error, as PostgreSQL's
    elog(ERROR), and the session goes on; before, it reached the session's loop, which
    closed the client's connection. PgError and RecursionError pass as they are."""
    import pytest

    from gridpg.errors import PgError
    from gridpg.planner.core import Planner

    planner = Planner()
    for raised, expected in ((AssertionError(), "XX000"), (KeyError("x"), "XX000"),
                             (PgError("0A000", "no"), "0A000")):
        def fail(*_args: object, exc: BaseException = raised) -> None:
            raise exc
        monkeypatch.setattr(planner, "_plan", fail)  # type: ignore[attr-defined]
        with pytest.raises(PgError) as caught:
            planner.plan("SELECT 1", None, None)  # type: ignore[arg-type]
        assert caught.value.sqlstate == expected
    monkeypatch.setattr(planner, "_plan", lambda *_a: (_ for _ in ()).throw(RecursionError()))  # type: ignore[attr-defined]
    with pytest.raises(RecursionError):
        planner.plan("SELECT 1", None, None)  # type: ignore[arg-type]
