"""`learnapp export-anki`: the package read back as Anki would read it (a zip holding SQLite)."""

from __future__ import annotations

import json
import sqlite3
import zipfile
from pathlib import Path

import pytest

from learnapp.anki import FIELDS, export, note_guid, to_html
from learnapp.content import load_deck

PNG = b"\x89PNG\r\n\x1a\n" + b"figure bytes"


def read_package(path: Path, tmp_path: Path) -> tuple[list[dict[str, str]], dict[str, bytes], list[str]]:
    """Notes (field name -> value, plus guid and tags), media (name -> bytes), deck names."""
    with zipfile.ZipFile(path) as package:
        collection = tmp_path / "collection.anki2"
        collection.write_bytes(package.read("collection.anki2"))
        index = json.loads(package.read("media"))
        media = {name: package.read(number) for number, name in index.items()}
    with sqlite3.connect(collection) as db:
        notes = []
        for guid, flds, tags in db.execute("SELECT guid, flds, tags FROM notes"):
            note = dict(zip(FIELDS, flds.split("\x1f"), strict=True))
            notes.append({**note, "guid": guid, "tags": tags})
        decks = [d["name"] for d in json.loads(db.execute("SELECT decks FROM col").fetchone()[0]).values()]
    return notes, media, decks


def test_every_item_becomes_one_note_with_a_guid_from_its_id(tmp_path: Path) -> None:
    deck = load_deck()
    written = export(deck, tmp_path / "runs", tmp_path / "deck.apkg")
    notes, media, decks = read_package(tmp_path / "deck.apkg", tmp_path)

    assert written.notes == len(notes) == len(deck.items)
    by_id = {note["Id"]: note for note in notes}
    assert set(by_id) == set(deck.by_id)
    for item in deck.items:
        note = by_id[item.id]
        assert note["guid"] == note_guid(item)
        assert note["Question"] == to_html(item.question)
        assert note["Source"] == ("" if item.source is None else str(item.source))
        assert f"learnapp::{item.topic}" in note["tags"].split()
    for topic in deck.topics:
        assert any(name.endswith("::" + topic.title) for name in decks)
    # no demo has run: nothing embedded, every figure reported missing
    assert media == {}
    assert set(written.missing_figures) == {item.figure for item in deck.items if item.figure}


def test_a_figure_from_the_newest_run_is_embedded(tmp_path: Path) -> None:
    deck = load_deck()
    item = next(item for item in deck.items if item.figure)
    demo, _, name = item.figure.partition("/")
    for run, content in (("20260101-000000", b"old"), ("20260102-000000", PNG)):
        folder = tmp_path / "runs" / demo / run
        folder.mkdir(parents=True)
        (folder / name).write_bytes(content)

    written = export(deck, tmp_path / "runs", tmp_path / "deck.apkg")
    notes, media, _ = read_package(tmp_path / "deck.apkg", tmp_path)

    assert item.figure in written.figures and item.figure not in written.missing_figures
    [embedded_name] = [n for n in media if n.endswith(name.replace("/", "-"))]
    assert media[embedded_name] == PNG
    note = next(note for note in notes if note["Id"] == item.id)
    assert f'src="{embedded_name}"' in note["Figure"]


def test_re_export_keeps_the_guids_and_a_reworded_card_keeps_its_note(tmp_path: Path) -> None:
    deck = load_deck()
    export(deck, tmp_path / "runs", tmp_path / "first.apkg")
    reworded_dir = tmp_path / "deck"
    reworded_dir.mkdir()
    for source in sorted(Path(deck_file) for deck_file in _deck_files()):
        (reworded_dir / source.name).write_text(
            source.read_text(encoding="utf-8").replace("What are diffusion models?", "What is a diffusion model?"),
            encoding="utf-8",
        )
    export(load_deck(reworded_dir), tmp_path / "runs", tmp_path / "second.apkg")

    first, _, _ = read_package(tmp_path / "first.apkg", tmp_path)
    second, _, _ = read_package(tmp_path / "second.apkg", tmp_path)
    assert {n["Id"]: n["guid"] for n in first} == {n["Id"]: n["guid"] for n in second}
    assert {n["Question"] for n in first} != {n["Question"] for n in second}


def _deck_files() -> list[Path]:
    from learnapp.content import default_deck_path

    return sorted(default_deck_path().glob("*.yaml"))


@pytest.mark.parametrize(
    ("text", "html"),
    [
        ("$\\sqrt{\\bar\\alpha_t}$ scales x", "\\(\\sqrt{\\bar\\alpha_t}\\) scales x"),
        ("costs \\$5 and `a < b`", "costs $5 and <code>a &lt; b</code>"),
        ("x < y & z", "x &lt; y &amp; z"),
    ],
)
def test_text_becomes_anki_html_with_mathjax(text: str, html: str) -> None:
    assert to_html(text) == html


def test_the_command_never_replaces_a_file_without_force(run_cli, tmp_path: Path) -> None:
    target = tmp_path / "deck.apkg"
    target.write_bytes(b"the learner's own file")

    refused = run_cli("export-anki", target)
    assert refused.returncode == 2 and "already exists" in refused.stderr and "Traceback" not in refused.stderr
    assert target.read_bytes() == b"the learner's own file"

    forced = run_cli("export-anki", target, "--force")
    assert forced.returncode == 0, forced.stderr
    assert zipfile.is_zipfile(target)
    assert "not embedded" in forced.stdout  # the figures of demos never run are named


def test_the_command_wants_an_apkg_name(run_cli, tmp_path: Path) -> None:
    result = run_cli("export-anki", tmp_path / "deck.zip")
    assert result.returncode == 2 and result.stderr.count("\n") == 1 and ".apkg" in result.stderr
