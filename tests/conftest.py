import subprocess
import sys

import pytest


@pytest.fixture(autouse=True)
def isolated_dirs(tmp_path_factory, monkeypatch):
    """No test reads or writes the learner's real data or cache folders."""
    root = tmp_path_factory.mktemp("learnapp-home")
    monkeypatch.setenv("LEARNAPP_DATA_DIR", str(root / "data"))
    monkeypatch.setenv("LEARNAPP_CACHE_DIR", str(root / "cache"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    return root


@pytest.fixture
def run_cli(tmp_path):
    """Run `python -m learnapp.cli ARGS` as a separate process.

    The working directory is a temporary one: from the repository root, the checkout's
    `learnapp/` would shadow the installed package (which is what CI tests).
    """

    def run(*args, **kwargs):
        kwargs.setdefault("cwd", tmp_path)
        return subprocess.run(
            [sys.executable, "-m", "learnapp.cli", *map(str, args)], capture_output=True, text=True, **kwargs
        )

    return run
