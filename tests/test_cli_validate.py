"""`learnapp validate` and `learnapp --help` as a learner runs them."""

import pytest

from learnapp import content
from learnapp.cli import main


def test_validate_shipped_deck_prints_summary(capsys):
    assert main(["validate"]) == 0
    out = capsys.readouterr().out
    assert f"{len(content.load_deck().items)} items in 9 topics" in out
    assert "Diffusion for audio" in out and "audio-spectrograms" in out


def test_validate_broken_deck_lists_every_problem_and_fails(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "topic: t\ntitle: T\ndemo: nope\nitems:\n"
        "  - id: a\n    source: 1\n    question: Q?\n    answer: Q?\n    distractors: [R, S, T]\n"
        "  - id: a\n    source: 2\n    question: R?\n    answer: ok\n    distractors: [nope, perhaps, never]\n",
        encoding="utf-8",
    )
    assert main(["validate", str(bad)]) == 1
    out = capsys.readouterr().out
    assert f"{bad}:3: unknown demo 'nope'" in out
    assert f"{bad}:8: item a: the answer repeats the question" in out
    assert f"{bad}:5: duplicate item id a" in out and f"{bad}:10: duplicate item id a" in out
    assert "4 problem(s)" in out


def test_validate_missing_path_is_one_line_without_traceback(tmp_path, run_cli):
    result = run_cli("validate", tmp_path / "missing")
    assert result.returncode != 0
    assert "Traceback" not in result.stdout + result.stderr
    assert result.stderr.strip().splitlines() == [
        f"learnapp: error: no deck at {tmp_path / 'missing'}: no such file or directory"
    ]


@pytest.mark.parametrize("command", [["quiz"], [], ["progress"], ["demo"]])
def test_commands_that_need_the_deck_refuse_a_broken_one_in_one_line(command, tmp_path, monkeypatch, capsys):
    bad = tmp_path / "deck"
    bad.mkdir()
    (bad / "01.yaml").write_text("topic: t\ntitle: T\ndemo: nope\nitems: []\n", encoding="utf-8")
    monkeypatch.setattr(content, "default_deck_path", lambda: bad)
    assert main(["--data-dir", str(tmp_path / "data"), *command]) == 2
    err = capsys.readouterr().err
    assert err.splitlines() == [f"learnapp: error: the deck at {bad} has 2 problem(s); run `learnapp validate {bad}`"]
