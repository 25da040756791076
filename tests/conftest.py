import pytest


@pytest.fixture(autouse=True)
def isolated_dirs(tmp_path_factory, monkeypatch):
    """No test reads or writes the learner's real data or cache folders."""
    root = tmp_path_factory.mktemp("learnapp-home")
    monkeypatch.setenv("LEARNAPP_DATA_DIR", str(root / "data"))
    monkeypatch.setenv("LEARNAPP_CACHE_DIR", str(root / "cache"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    return root
