"""outfile.replacing: what a kill, an error or a racing writer leaves behind."""

from __future__ import annotations

import os

import pytest

from learnapp.errors import UserError
from learnapp.outfile import replacing


def test_a_file_made_while_writing_is_kept(tmp_path):
    target = tmp_path / "out.jsonl"
    with pytest.raises(UserError, match="already exists; add --force"), replacing(target) as out:
        out.write(b"ours")
        target.write_text("another program's")  # appeared after the check
    assert target.read_text() == "another program's"
    assert os.listdir(tmp_path) == ["out.jsonl"]


def test_an_error_while_writing_leaves_nothing(tmp_path):
    with pytest.raises(RuntimeError), replacing(tmp_path / "out.jsonl") as out:
        out.write(b"half")
        raise RuntimeError("disk gone")
    assert os.listdir(tmp_path) == []


def test_without_hard_links_it_still_never_replaces(tmp_path, monkeypatch):
    def no_links(*args):
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(os, "link", no_links)  # FAT, some network drives
    target = tmp_path / "out.jsonl"
    with replacing(target) as out:
        out.write(b"new")
    assert target.read_bytes() == b"new"
    with pytest.raises(UserError, match="already exists"), replacing(target) as out:
        out.write(b"newer")
    with replacing(target, force=True) as out:
        out.write(b"forced")
    assert target.read_bytes() == b"forced" and os.listdir(tmp_path) == ["out.jsonl"]
