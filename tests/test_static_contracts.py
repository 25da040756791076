"""The import contracts in pyproject.toml keep up with the code they guard."""

from __future__ import annotations

import tomllib
from pathlib import Path

from learnapp.demos import DEMOS

PYPROJECT = Path(__file__).resolve().parent.parent / "pyproject.toml"


def test_the_independence_contract_lists_every_demo() -> None:
    contracts = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["tool"]["importlinter"]["contracts"]
    [independent] = [c for c in contracts if c["type"] == "independence"]
    assert set(independent["modules"]) == {f"demos.{name.replace('-', '_')}" for name in DEMOS}
