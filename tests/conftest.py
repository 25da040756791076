import os
import subprocess
import sys

import pytest

# Many small torch runs share two cores with another test worker: one thread each is faster
# than threads fighting (set before anything imports torch; child processes inherit it).
os.environ.setdefault("OMP_NUM_THREADS", "1")


@pytest.fixture(autouse=True)
def isolated_dirs(tmp_path_factory, monkeypatch):
    """No test reads or writes the learner's real data or cache folders.

    Tests also run from an empty folder: from the repository root, a child process
    (`python -c`, `python -m`) would import the checkout's `learnapp/`, which lacks the deck
    and demos that the installed package (what CI tests) maps into it.
    """
    root = tmp_path_factory.mktemp("learnapp-home")
    monkeypatch.chdir(root)
    monkeypatch.setenv("LEARNAPP_DATA_DIR", str(root / "data"))
    monkeypatch.setenv("LEARNAPP_CACHE_DIR", str(root / "cache"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    return root


@pytest.fixture
def run_cli():
    """Run `python -m learnapp.cli ARGS` as a separate process."""

    def run(*args, **kwargs):
        return subprocess.run(
            [sys.executable, "-m", "learnapp.cli", *map(str, args)], capture_output=True, text=True, **kwargs
        )

    return run
