"""The deck as an Anki package (.apkg) with genanki: one note per item, stable across exports.

Anki recognises a note by its GUID, so each GUID is derived from the item's permanent id:
importing a newer export updates the notes a learner already has (and keeps their Anki
history) instead of adding copies. Model and deck ids are fixed for the same reason.
Review history stays in learnapp: genanki writes notes and media, not a review log.
"""

from __future__ import annotations

import hashlib
import html
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import genanki

from learnapp.content import Deck, Item
from learnapp.demos.runs import latest_run
from learnapp.outfile import replacing

# Fixed forever: changing them makes Anki treat a re-export as a different note type / deck.
MODEL_ID = 1_607_392_319
ROOT_DECK = "learnapp: diffusion models"
FIELDS = ("Question", "Answer", "Notes", "Figure", "Topic", "Source", "Id")

_CSS = """\
.card { font-family: sans-serif; font-size: 20px; text-align: left; color: black; background: white; }
.notes { font-size: 16px; color: #555; margin-top: 1em; }
.source { font-size: 12px; color: #888; margin-top: 1em; }
img { max-width: 100%; }
code { font-family: monospace; }
"""
_BACK = (
    "{{FrontSide}}<hr id=answer>{{Answer}}"
    "{{#Notes}}<div class=notes>{{Notes}}</div>{{/Notes}}"
    "{{#Figure}}<div>{{Figure}}</div>{{/Figure}}"
    "<div class=source>{{Topic}} · {{Id}}{{#Source}} · course question {{Source}}{{/Source}}</div>"
)
MODEL = genanki.Model(
    MODEL_ID,
    "learnapp card",
    fields=[{"name": name} for name in FIELDS],
    templates=[{"name": "Card 1", "qfmt": "{{Question}}", "afmt": _BACK}],
    css=_CSS,
)

_MATH = re.compile(r"(?<!\\)\$(.+?)(?<!\\)\$")
_CODE = re.compile(r"`([^`]+)`")


@dataclass(frozen=True)
class Export:
    """What an export wrote: notes, embedded figures, and figures whose demo has not been run."""

    path: Path
    notes: int
    figures: tuple[str, ...]
    missing_figures: tuple[str, ...]


def note_guid(item: Item) -> str:
    """The note's GUID: a function of the permanent id alone, so rewording a card keeps it."""
    return str(genanki.guid_for("learnapp", item.id))


def deck_id(topic_id: str) -> int:
    """A stable Anki deck id per topic (Anki wants a positive 63-bit integer)."""
    return int.from_bytes(hashlib.sha256(f"learnapp/{topic_id}".encode()).digest()[:7], "big") + 1


def to_html(text: str) -> str:
    """Card text as Anki HTML: escaped, `code` in <code>, $math$ as MathJax \\( ... \\)."""
    escaped = html.escape(text, quote=False)
    escaped = _CODE.sub(r"<code>\1</code>", escaped)
    escaped = _MATH.sub(lambda m: rf"\({m.group(1)}\)", escaped)
    return escaped.replace(r"\$", "$").replace("\n", "<br>")


def media_name(figure: str) -> str:
    """A figure's name inside the package: Anki keeps all media in one flat folder."""
    return "learnapp-" + figure.replace("/", "-")


def find_figure(runs_dir: Path, figure: str) -> Path | None:
    """The file a `figure: demo/file` points at in the newest run of that demo, if any."""
    demo, _, name = figure.partition("/")
    run = latest_run(runs_dir, demo)
    if run is None:
        return None
    path = run / name
    return path if path.is_file() and path.stat().st_size > 0 else None


def build_package(deck: Deck, runs_dir: Path, media_dir: Path) -> tuple[genanki.Package, list[str], list[str]]:
    """The package, the figures embedded (copied into `media_dir` under their package names) and
    the figures no run has written yet."""
    embedded: list[str] = []
    missing: list[str] = []
    anki_decks = []
    for topic in deck.topics:
        anki_deck = genanki.Deck(deck_id(topic.id), f"{ROOT_DECK}::{topic.title}")
        for item in topic.items:
            figure_html = ""
            if item.figure:
                found = find_figure(runs_dir, item.figure)
                if found is None:
                    missing.append(item.figure)
                else:
                    if item.figure not in embedded:
                        shutil.copyfile(found, media_dir / media_name(item.figure))
                        embedded.append(item.figure)
                    figure_html = f'<img src="{html.escape(media_name(item.figure))}">'
            fields = [
                to_html(item.question),
                to_html(item.answer),
                to_html(item.notes or ""),
                figure_html,
                html.escape(topic.title),
                "" if item.source is None else str(item.source),
                item.id,
            ]
            tags = [f"learnapp::{topic.id}", *(tag.replace(" ", "_") for tag in item.tags)]
            anki_deck.add_note(genanki.Note(model=MODEL, fields=fields, guid=note_guid(item), tags=tags))
        anki_decks.append(anki_deck)
    package = genanki.Package(anki_decks)
    package.media_files = [str(media_dir / media_name(figure)) for figure in embedded]
    return package, embedded, sorted(set(missing))


def export(deck: Deck, runs_dir: Path, path: Path, force: bool = False) -> Export:
    """Write the deck to `path` (.apkg) through a temporary file; never over a file without `force`."""
    with tempfile.TemporaryDirectory(prefix="learnapp-anki-") as staging:
        package, embedded, missing = build_package(deck, runs_dir, Path(staging))
        with replacing(path, force=force) as out:
            # a fixed timestamp: the same deck gives the same package, byte for byte
            package.write_to_file(out, timestamp=0)
    return Export(path, len(deck.items), tuple(embedded), tuple(missing))
