"""No demo imports another demo or the app: what two demos share lives in a building block."""

from __future__ import annotations

import ast
import importlib.util
from pathlib import Path

import pytest

from learnapp.demos import DEMOS, runner

PACKAGE = "learnapp.demos"
DEMO_MODULES = {runner.module_name(name) for name in DEMOS}


def imported_modules(path: Path, package: str) -> set[str]:
    """Every module `path` imports, by absolute name (relative imports resolved against `package`);
    `from . import x` counts as importing the module `package.x`."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package.rsplit(".", node.level - 1)[0] if node.level else ""
            module = ".".join(part for part in (base, node.module or "") if part)
            found.add(module)
            found.update(f"{module}.{alias.name}" for alias in node.names)
    return found


def test_imports_are_resolved_relative_to_the_package(tmp_path):
    source = tmp_path / "example.py"
    source.write_text(
        "from . import cfg, data\nfrom .audio import x\nimport learnapp.tui.app\n"
        "from learnapp.demos.unet_training import y\n"
    )
    found = imported_modules(source, PACKAGE)
    assert {
        "learnapp.demos.cfg",
        "learnapp.demos.data",
        "learnapp.demos.audio",
        "learnapp.tui.app",
        "learnapp.demos.unet_training",
    } <= found


@pytest.mark.parametrize("module", sorted(DEMO_MODULES))
def test_a_demo_imports_no_other_demo_and_not_the_app(module):
    path = Path(importlib.util.find_spec(module).origin)
    imported = imported_modules(path, PACKAGE)
    other_demos = sorted(imported & (DEMO_MODULES - {module}))
    app = sorted(name for name in imported if name == "learnapp.tui" or name.startswith("learnapp.tui."))
    assert not other_demos, f"{module} imports the demo(s) {other_demos}: move what they share into a block module"
    assert not app, f"{module} imports the app: {app}"
