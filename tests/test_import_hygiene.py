"""Heavy libraries stay out of the paths that must start fast (harlequin's test_import_hygiene).

Each case runs in a fresh interpreter and lists which heavy modules the command imported.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

HEAVY = ("torch", "diffusers", "accelerate", "librosa", "textual", "matplotlib")

RUN = """
import sys
from learnapp.cli import main
try:
    main({argv!r})
except SystemExit:
    pass
{imports}
print("HEAVY=" + ",".join(m for m in {heavy!r} if m in sys.modules), file=sys.stderr)
"""


def heavy_imports(argv: list[str], imports: str = "") -> set[str]:
    code = RUN.format(argv=argv, imports=imports, heavy=HEAVY)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    line = [text for text in result.stderr.splitlines() if text.startswith("HEAVY=")]
    assert line, result.stderr
    return {name for name in line[-1].removeprefix("HEAVY=").split(",") if name}


@pytest.mark.parametrize(
    "argv, allowed",
    [
        (["--help"], set()),
        (["validate"], {"matplotlib"}),  # mathtext checks the cards' formulas
        (["progress", "--json"], set()),  # matplotlib only for --plot
        (["demo"], set()),  # the listing; torch only once a demo runs
        (["exercise"], set()),  # the listing; torch only in the check's child process
        (["exercise", "cfg", "--hint"], set()),
    ],
)
def test_commands_import_only_what_they_need(argv, allowed):
    assert heavy_imports(argv) <= allowed


def test_the_quiz_app_never_imports_torch_or_the_demos():
    screens = (
        "import learnapp.tui.app, learnapp.tui.home, learnapp.tui.review, learnapp.tui.flashcards, "
        "learnapp.tui.choice, learnapp.tui.progress, learnapp.tui.demo, learnapp.tui.help, learnapp.tui.exercises"
    )
    assert heavy_imports(["--help"], screens) == {"textual"}


def test_the_headless_core_imports_neither_textual_nor_torch():
    core = (
        "import learnapp.content, learnapp.srs, learnapp.store, learnapp.stats, learnapp.backup, "
        "learnapp.quiz_modes, learnapp.review_options"
    )
    assert heavy_imports(["--help"], core) == set()


def test_loading_a_deck_with_formulas_leaves_matplotlib_to_validate(tmp_path):
    deck = tmp_path / "deck.yaml"
    deck.write_text(
        "topic: t\ntitle: T\ndemo: cfg\nitems:\n  - id: a\n    source: 1\n    question: What is $x_t$?\n"
        "    answer: $\\sqrt{\\bar{\\alpha}_t}\\,x_0$\n"
        "    distractors: [$x_0$ plus noise, $\\epsilon$ times $t$, $x_0 \\cdot t$ only]\n",
        encoding="utf-8",
    )
    load = f"from learnapp.content import load_deck; load_deck(__import__('pathlib').Path({str(deck)!r}))"
    assert heavy_imports(["--help"], load) == set()
    assert heavy_imports(["validate", str(deck)]) == {"matplotlib"}
