"""The adversarial drill: every option of validate / progress / quiz / the demo listing, every file
they read, and the environments they meet, fed what a learner (or a crash) can produce.

Each case runs `python -m learnapp.cli` in a fresh process with a temporary data dir and checks:
the exit status; stderr is one `learnapp: error:` line (or, for a broken deck, stdout holds the
validator's `file:line:` lines); no traceback; it ends within TIMEOUT_S; and the data dir is
byte-identical afterwards unless the case is one that may legitimately write there.
"""

from __future__ import annotations

import functools
import json
import os
import random
import re
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from fsrs import Card, Rating, State
from srs_support import utc

from learnapp.backup import export_log
from learnapp.cli import main
from learnapp.content import default_deck_path, load_deck
from learnapp.demos import runner
from learnapp.store import Review, Store

TIMEOUT_S = 30  # generous for a loaded 2-core machine; a hang is what it catches
EXPORT = "backup.jsonl"


@dataclass(frozen=True)
class Paths:
    root: Path  # the test's own folder
    data: Path  # the data dir, holding a store with a few reviews
    store: Path
    export: Path  # a valid export of that store, outside the data dir

    def file(self, name: str, content: bytes | str) -> Path:
        path = self.root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content.encode() if isinstance(content, str) else content)
        return path


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    """A data dir with three reviews of deck items, and an export of it (made once)."""
    root = tmp_path_factory.mktemp("template")
    ids = [item.id for item in load_deck().items[:3]]
    with Store(root / "data" / "progress.sqlite3") as store:
        for n, item_id in enumerate(ids):
            at = utc(2025, 5, 1, 9, n)
            after = Card(
                card_id=0,
                state=State.Learning,
                step=1,
                stability=2.0,
                difficulty=5.0,
                due=at + timedelta(minutes=10),
                last_review=at,
            )
            store.record(Review(item_id, at, Rating.Good, 1000, None, after))
        export_log(store, root / EXPORT)
    return root


@pytest.fixture
def paths(template, tmp_path) -> Paths:
    root = Path(shutil.copytree(template, tmp_path / "t"))
    return Paths(root, root / "data", root / "data" / "progress.sqlite3", root / EXPORT)


def snapshot(folder: Path) -> dict[str, bytes | None]:
    """Every file under `folder` with its bytes (None for folders); SQLite's -shm scratch file aside."""
    return {
        str(p.relative_to(folder)): (p.read_bytes() if p.is_file() else None)
        for p in sorted(folder.rglob("*"))
        if not p.name.endswith("-shm")
    }


def run(argv: list[str], env: dict[str, str] | None = None, **kwargs) -> subprocess.CompletedProcess[str]:
    kwargs.setdefault("stdin", subprocess.DEVNULL)
    kwargs.setdefault("stdout", subprocess.PIPE)
    return subprocess.run(
        [sys.executable, "-m", "learnapp.cli", *map(str, argv)],
        stderr=subprocess.PIPE,
        text=True,
        errors="replace",
        env={**os.environ, **(env or {})},
        timeout=TIMEOUT_S,
        check=False,
        **kwargs,
    )


def assert_refused(result: subprocess.CompletedProcess[str], says: str, code: int = 2) -> None:
    """One `learnapp: error:` line naming the problem, a non-zero exit, no traceback."""
    assert "Traceback" not in (result.stdout or "") + result.stderr, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("learnapp: error: "), result.stderr
    assert says in lines[0], lines[0]
    assert result.returncode == code, (result.returncode, result.stderr)


# --- options ---------------------------------------------------------------------------------

# (argv, what the one error line must say); {data} {store} {export} {root} are filled in.
BAD_OPTIONS: dict[str, tuple[list[str], str]] = {
    "unknown-command": (["teach"], "invalid choice: 'teach'"),
    "data-dir-without-value": (["--data-dir"], "--data-dir: expected one argument"),
    "data-dir-empty": (["--data-dir", "", "progress"], "--data-dir needs a folder"),
    "data-dir-empty-after-command": (["progress", "--data-dir", " "], "--data-dir needs a folder"),
    "data-dir-under-proc": (["--data-dir", "/proc/learnapp-x/data", "progress"], "cannot create the folder"),
    "data-dir-read-only-proc": (["--data-dir", "/proc/self", "progress"], "/proc/self/progress.sqlite3"),
    "data-dir-is-a-file": (["--data-dir", "{export}", "progress"], "cannot create the folder"),
    "validate-unknown-option": (["validate", "--strict"], "unrecognized arguments: --strict"),
    "validate-two-paths": (["validate", "a.yaml", "b.yaml"], "unrecognized arguments: b.yaml"),
    "validate-missing-path": (["validate", "{root}/nothing.yaml"], "no deck at"),
    "validate-proc-path": (["validate", "/proc/learnapp-x"], "no such file or directory"),
    "progress-unknown-option": (["progress", "--csv"], "unrecognized arguments: --csv"),
    "progress-extra-word": (["progress", "now"], "unrecognized arguments: now"),
    "plot-wrong-suffix": (["progress", "--plot", "{root}/chart.txt"], "--plot needs a file ending in"),
    "plot-no-suffix": (["progress", "--plot", "{root}/chart"], "--plot needs a file ending in"),
    "plot-over-existing-file": (["progress", "--json", "--plot", "{root}/old.png"], "already exists; add --force"),
    "plot-onto-a-folder": (["progress", "--json", "--plot", "{root}/folder.png"], "it is a folder"),
    "plot-onto-the-store-by-link": (["progress", "--json", "--plot", "{data}/link.png"], "is the progress store"),
    "plot-under-proc": (["progress", "--json", "--plot", "/proc/learnapp-x/c.png"], "cannot write"),
    "plot-into-read-only-proc": (["progress", "--json", "--plot", "/proc/self/c.png"], "cannot write"),
    "plot-with-export": (["progress", "--plot", "{root}/c.png", "--export", "{root}/e.jsonl"], "cannot be combined"),
    "export-onto-the-store": (["progress", "--export", "{store}"], "is the progress store"),
    "export-onto-the-store-wal": (["progress", "--export", "{store}-wal"], "is the progress store"),
    "export-onto-the-store-forced": (["progress", "--export", "{store}", "--force"], "is the progress store"),
    "export-onto-a-hard-link-of-the-store": (
        ["progress", "--export", "{root}/hard.jsonl", "--force"],
        "is the progress store",
    ),
    "export-onto-the-store-relative": (
        ["progress", "--export", "{data}/../data/./progress.sqlite3"],
        "is the progress store",
    ),
    "export-over-existing-file": (["progress", "--export", "{export}"], "already exists; add --force"),
    "export-onto-a-folder": (["progress", "--export", "{root}"], "it is a folder"),
    "export-onto-dev-null": (["progress", "--export", "/dev/null", "--force"], "not a plain file"),
    "export-under-proc": (["progress", "--export", "/proc/learnapp-x.jsonl"], "cannot write"),
    "export-into-read-only-proc": (["progress", "--export", "/proc/self/x.jsonl"], "cannot write"),
    "export-without-file": (["progress", "--export"], "--export: expected one argument"),
    "export-and-import": (["progress", "--export", "{root}/a", "--import", "{export}"], "not allowed with"),
    "export-with-json": (["progress", "--export", "{root}/e.jsonl", "--json"], "cannot be combined with --json"),
    "export-with-dry-run": (["progress", "--export", "{root}/e.jsonl", "--dry-run"], "--dry-run only applies"),
    "force-alone": (["progress", "--force"], "--force only applies"),
    "dry-run-alone": (["progress", "--dry-run"], "--dry-run only applies"),
    "allow-unknown-ids-alone": (["progress", "--allow-unknown-ids"], "--allow-unknown-ids only applies"),
    "import-missing-file": (["progress", "--import", "{root}/nothing.jsonl"], "cannot read"),
    "import-a-folder": (["progress", "--import", "{root}"], "not a plain file"),
    "import-dev-zero": (["progress", "--import", "/dev/zero"], "not a plain file"),
    "import-a-pipe": (["progress", "--import", "{root}/pipe.jsonl"], "not a plain file"),
    "import-the-store": (["progress", "--import", "{store}"], "not a learnapp export"),
    "import-with-plot": (["progress", "--import", "{export}", "--plot", "{root}/c.png"], "cannot be combined"),
    "new-not-a-number": (["quiz", "--new", "many"], "--new must be a whole number, not 'many'"),
    "new-fraction": (["quiz", "--new", "2.5"], "--new must be a whole number"),
    "new-exponent": (["quiz", "--new", "1e3"], "--new must be a whole number"),
    "new-inf": (["quiz", "--new", "inf"], "--new must be a whole number"),
    "new-nan": (["quiz", "--new", "nan"], "--new must be a whole number"),
    "new-negative": (["quiz", "--new", "-1"], "--new must be 0 or more"),
    "new-too-large": (["quiz", "--new", "10000"], "--new must be 9999 or less"),
    "new-huge": (["quiz", "--new", "9" * 40], "--new must be 9999 or less"),
    "new-without-value": (["quiz", "--new"], "--new: expected one argument"),
    "mode-unknown": (["quiz", "--mode", "typing"], "invalid choice: 'typing'"),
    "topic-unknown": (["quiz", "--topic", "style-transfer"], "unknown topic style-transfer"),
    "cram-with-value": (["quiz", "--cram=yes"], "ignored explicit argument"),
    "quiz-no-terminal": (["quiz"], "needs an interactive terminal"),
    "quiz-data-dir-after-command": (["quiz", "--data-dir", "{data}"], "needs an interactive terminal"),
    "no-command-no-terminal": ([], "needs an interactive terminal"),
    "demo-unknown-option": (["demo", "--all"], "unrecognized arguments: --all"),
    "demo-unknown-name": (["demo", "style-transfer"], "unknown demo 'style-transfer'"),
    "demo-data-dir-empty": (["demo", "--data-dir", ""], "--data-dir needs a folder"),
    "demo-name-data-dir-without-value": (["demo", "cfg", "--data-dir"], "--data-dir: expected one argument"),
}


def fill(argv: list[str], paths: Paths) -> list[str]:
    names = {"data": paths.data, "store": paths.store, "export": paths.export, "root": paths.root}
    return [word.format(**names) for word in argv]


@pytest.mark.parametrize("case", BAD_OPTIONS)
def test_a_bad_option_is_one_line_and_changes_nothing(case, paths):
    argv, says = BAD_OPTIONS[case]
    (paths.root / "old.png").write_bytes(b"a chart the learner kept")
    (paths.root / "folder.png").mkdir()
    (paths.data / "link.png").symlink_to(paths.store)
    os.link(paths.store, paths.root / "hard.jsonl")
    os.mkfifo(paths.root / "pipe.jsonl")  # opening it to read would wait for a writer forever
    before, export = snapshot(paths.root), paths.export.read_bytes()
    result = run(["--data-dir", paths.data, *fill(argv, paths)])
    assert_refused(result, says)
    assert snapshot(paths.root) == before
    assert paths.export.read_bytes() == export


# --- the options that work where they are now accepted -----------------------------------------


@pytest.mark.parametrize(
    "argv",
    [
        ["progress", "--data-dir", "{data}", "--json"],
        ["progress", "--json", "--data-dir={data}"],
        ["demo", "--data-dir", "{data}"],
    ],
)
def test_data_dir_after_the_command(argv, paths, tmp_path):
    result = run(fill(argv, paths), env={"LEARNAPP_DATA_DIR": str(tmp_path / "elsewhere")})
    assert result.returncode == 0 and result.stderr == "", result.stderr
    if "--json" in argv:
        assert json.loads(result.stdout)["total"]["learning"] == 3  # the reviews in {data}, not elsewhere
    assert not (tmp_path / "elsewhere").exists()


@pytest.mark.parametrize(
    "argv, options, data_dir",
    [
        (["demo", "cfg", "--quick", "--data-dir", "D", "--seed", "3"], ["--quick", "--seed", "3"], "D"),
        (["demo", "cfg", "--data-dir=D"], [], "D"),
        (["--data-dir", "A", "demo", "cfg", "--quick"], ["--quick"], "A"),
        (["--data-dir", "A", "demo", "--data-dir", "B", "cfg", "--data-dir", "D"], [], "D"),
    ],
)
def test_data_dir_after_a_demo_name_is_taken_out_of_the_demo_options(argv, options, data_dir, monkeypatch):
    """In process: running a demo imports torch, too slow for a drill that only checks the hand-over."""
    calls = []
    monkeypatch.setattr(runner, "run_cli", lambda *args: calls.append(args) or 0)
    assert main(argv) == 0
    assert calls == [("cfg", options, data_dir)]


def test_export_with_force_replaces_a_file_and_leaves_no_temporary(paths):
    target = paths.file("old.jsonl", "kept?")
    result = run(["--data-dir", paths.data, "progress", "--export", target, "--force"])
    assert result.returncode == 0 and "exported 3 review(s)" in result.stdout
    assert target.read_bytes() == paths.export.read_bytes()
    assert sorted(p.name for p in paths.root.iterdir()) == sorted(["data", EXPORT, "old.jsonl"])


# --- files: the deck --------------------------------------------------------------------------


def topic_text() -> str:
    return min(default_deck_path().glob("*.yaml")).read_text(encoding="utf-8")


def _bomb() -> str:
    lines = ['a: &a ["x", "x", "x", "x", "x", "x", "x", "x", "x"]']
    for previous, name in zip("abcdefgh", "bcdefghi", strict=True):
        lines.append(f"{name}: &{name} [{', '.join([f'*{previous}'] * 9)}]")
    return "\n".join(lines) + "\n"


def _same_question(count: int) -> str:
    """`count` valid items that differ only in id, source and answer; one line each, to stay under the size limit."""
    items = "".join(
        f"  - {{id: q{n}, source: {n + 1}, question: Same?, answer: a{n}, distractors: [wxa, wxb, wxc]}}\n"
        for n in range(count)
    )
    return f"topic: t\ntitle: T\ndemo: cfg\nitems:\n{items}"


# name -> (the file's bytes, what its one problem line must say)
BAD_DECKS: dict[str, tuple[Callable[[], bytes], str]] = {
    "empty": (lambda: b"", "must be a mapping"),
    "truncated": (lambda: topic_text()[: len(topic_text()) // 2].rsplit(":", 1)[0].encode() + b': "cut', "YAML"),
    "binary": (lambda: random.Random(1).randbytes(4096), "not UTF-8"),
    "nul-bytes": (lambda: b"topic: t\n\x00\x00\n", "2: YAML error: character #x0000 is not allowed"),
    "huge": (lambda: b"# padding\n" * 200_000, "too large for a topic file"),
    "latin-1": (lambda: topic_text().replace("?", "\u00e9?", 1).encode("latin-1", "replace"), "not UTF-8"),
    "utf-16": (lambda: topic_text().encode("utf-16"), "not UTF-8"),
    "alias-bomb": (lambda: _bomb().encode(), "anchors and aliases are not allowed"),
    "self-alias": (lambda: b"items: &a [*a]\n", "anchors and aliases are not allowed"),
    "anchor-alone": (lambda: topic_text().replace("title:", "title: &t", 1).encode(), "YAML &t"),
    "merge-key": (lambda: b"base: &b {demo: cfg}\ntopic:\n  <<: *b\n", "anchors and aliases"),
    "deep-flow": (lambda: b"items: " + b"[" * 100 + b"]" * 100 + b"\n", "nested more than 10 levels"),
    "deeper-than-libyaml-goes": (lambda: b"items: " + b"[" * 100_000 + b"]" * 100_000 + b"\n", "nesting depth"),
    "deep-block": (
        lambda: "".join(f"{'  ' * n}k{n}:\n" for n in range(200)).encode() + b"  " * 200 + b"v\n",
        "nested more than",
    ),
    "bad-date": (lambda: b"topic: t\ntitle: 2001-13-45\n", "YAML value error"),
    "list-as-key": (lambda: b"? [a]\n: 1\n", "unhashable key"),
    "two-documents": (lambda: b"a: 1\n---\nb: 2\n", "YAML syntax error"),
    "python-tag": (lambda: b"topic: !!python/object:os.system {}\n", "YAML syntax error"),
}


@pytest.mark.parametrize("case", BAD_DECKS)
def test_a_bad_topic_file_is_one_problem_line(case, paths):
    make, says = BAD_DECKS[case]
    deck = paths.file(f"deck/{case}.yaml", make())
    result = run(["validate", deck])
    assert "Traceback" not in result.stdout + result.stderr and result.stderr == ""
    problems = result.stdout.splitlines()
    assert result.returncode == 1 and len(problems) == 2, result.stdout[:2000]
    assert problems[0].startswith(f"{deck}:") and says in problems[0], problems[0]
    assert problems[1] == f"1 problem(s) in {deck}"


def test_a_folder_named_like_a_topic_file_is_one_problem_line(paths):
    deck = paths.root / "deck"
    (deck / "01-topic.yaml").mkdir(parents=True)
    result = run(["validate", deck])
    assert result.returncode == 1 and result.stdout.splitlines() == [
        f"{deck / '01-topic.yaml'}:0: not a plain file (a folder or a device cannot be a topic file)",
        f"1 problem(s) in {deck}",
    ]


def test_a_pipe_in_the_deck_is_one_problem_line_not_a_wait(paths):
    deck = paths.root / "deck"
    deck.mkdir()
    os.mkfifo(deck / "01-topic.yaml")
    result = run(["validate", deck])
    assert result.returncode == 1 and result.stdout.splitlines()[0].startswith(f"{deck / '01-topic.yaml'}:0: not a")


@pytest.mark.parametrize(
    "target, says",
    [
        ("/dev/zero", r"0: not a plain file"),
        ("{store}", r"\d+: not UTF-8 text"),  # the line of the first bad byte depends on the schema
        ("{root}/empty", r"0: no \.yaml files in this directory"),
    ],
)
def test_a_special_path_as_the_deck_is_one_problem_line(target, says, paths):
    (paths.root / "empty").mkdir()
    deck = fill([target], paths)[0]
    result = run(["validate", deck])
    lines = result.stdout.splitlines()
    assert result.returncode == 1 and result.stderr == "" and len(lines) == 2, result.stdout
    assert re.match(re.escape(f"{deck}:") + says, lines[0]) and lines[1] == f"1 problem(s) in {deck}"


def test_ten_thousand_identical_questions_print_a_bounded_report(paths):
    deck = paths.file("deck/same.yaml", _same_question(10_000))
    result = run(["validate", deck])
    assert result.returncode == 1 and result.stderr == ""
    lines = result.stdout.splitlines()
    assert lines[0] == (
        f"{deck}:5: duplicate question 'same' (also at "
        + ", ".join(f"{deck}:{5 + n}" for n in range(1, 6))
        + " and 9994 more)"
    )
    assert lines[1:] == [f"1 problem(s) in {deck}"]


def test_thousands_of_problems_are_capped_with_a_count(paths):
    deck = paths.file("deck/many.yaml", "topic: t\ntitle: T\ndemo: cfg\nitems:\n" + "  - just text\n" * 5000)
    result = run(["validate", deck])
    lines = result.stdout.splitlines()
    assert result.returncode == 1 and len(lines) == 202
    assert lines[-2:] == ["... and 4800 more problem(s) not shown", f"5000 problem(s) in {deck}"]


# --- files: the store -------------------------------------------------------------------------


def _newer_schema(path: Path) -> None:
    db = sqlite3.connect(path)
    db.execute("PRAGMA user_version = 999")
    db.close()


def _foreign(path: Path) -> None:
    path.unlink()
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE notes (text TEXT)")
    db.close()


def _replace_with(content: bytes) -> Callable[[Path], None]:
    return lambda path: path.write_bytes(content)


BAD_STORES: dict[str, tuple[Callable[[Path], None], str]] = {
    "truncated": (lambda path: path.write_bytes(path.read_bytes()[:1000]), "is damaged"),
    "random-bytes": (_replace_with(random.Random(2).randbytes(8192)), "is damaged"),
    "text": (_replace_with(b"not a database\n" * 100), "is damaged"),
    "newer-schema": (_newer_schema, "written by a newer learnapp (schema 999"),
    "another-program": (_foreign, "made by another program"),
    "a-folder": (lambda path: (path.unlink(), path.mkdir()), "it is a folder, not a progress database"),
}


@pytest.mark.parametrize(
    "command",
    [["progress", "--json"], ["progress", "--export", "{root}/e.jsonl"], ["progress", "--import", "{export}"]],
)
@pytest.mark.parametrize("case", BAD_STORES)
def test_a_bad_store_is_one_line_and_left_untouched(case, command, paths):
    damage, says = BAD_STORES[case]
    damage(paths.store)
    before = snapshot(paths.root)
    result = run(["--data-dir", paths.data, *fill(command, paths)])
    assert_refused(result, says)
    assert snapshot(paths.root) == before


def test_an_empty_store_file_is_a_fresh_start(paths):
    """A 0-byte file is what a crash during the very first start leaves: SQLite takes it as new."""
    paths.store.write_bytes(b"")
    result = run(["--data-dir", paths.data, "progress", "--json"])
    assert result.returncode == 0 and json.loads(result.stdout)["total"]["new"] == len(load_deck().items)


# --- files: an export -------------------------------------------------------------------------


def _export_lines(paths: Paths) -> list[str]:
    return paths.export.read_text(encoding="utf-8").splitlines()


def _with_review(paths: Paths, **changes: str) -> str:
    lines = _export_lines(paths)
    return "\n".join([*lines, json.dumps(json.loads(lines[1]) | changes)]) + "\n"


BAD_EXPORTS: dict[str, tuple[Callable[[Paths], bytes | str], str]] = {
    "empty": (lambda p: b"", "is not a learnapp export"),
    "header-only-truncated": (lambda p: _export_lines(p)[0][:20], "is not a learnapp export"),
    "truncated-json-line": (lambda p: "\n".join(_export_lines(p))[:-30], "line 4: not JSON"),
    "binary": (lambda p: random.Random(3).randbytes(4096), "not a learnapp export"),
    "latin-1": (lambda p: ("\n".join(_export_lines(p)) + '\n{"item": "caf\u00e9"}\n').encode("latin-1"), "not UTF-8"),
    "newer-version": (lambda p: '{"format": "learnapp-review-log", "version": 99}\n', "export version 99"),
    "one-endless-line": (lambda p: _export_lines(p)[0] + "\n" + "x" * 200_000, "line 2 is over 65536"),
    "unknown-ids": (lambda p: _with_review(p, item="old-001"), "1 review(s) name 1 item id(s) the deck does"),
    "contradiction": (lambda p: _with_review(p, duration_ms=7), "contradicts a stored review"),
}


@pytest.mark.parametrize("dry_run", [False, True], ids=["import", "dry-run"])
@pytest.mark.parametrize("case", BAD_EXPORTS)
def test_a_bad_export_is_refused_whole(case, dry_run, paths):
    make, says = BAD_EXPORTS[case]
    backup = paths.file("bad.jsonl", make(paths))
    before = snapshot(paths.data)
    result = run(["--data-dir", paths.data, "progress", "--import", backup, *(["--dry-run"] * dry_run)])
    assert_refused(result, says)
    assert snapshot(paths.data) == before


# --- environments -----------------------------------------------------------------------------

ENVIRONMENTS: dict[str, dict[str, str]] = {
    "C-locale": {"LANG": "C", "LC_ALL": "C"},
    "latin-1-stdout": {"PYTHONIOENCODING": "latin-1"},
    "ascii-stdout": {"PYTHONIOENCODING": "ascii", "LANG": "C", "LC_ALL": "C"},
    "no-color": {"NO_COLOR": "1"},
    "dumb-terminal": {"TERM": "dumb"},
    "narrow": {"COLUMNS": "12"},
}
COMMANDS = {"validate": ["validate"], "progress": ["progress"], "demo-list": ["demo"], "quiz": ["quiz"]}


@pytest.mark.parametrize("environment", ENVIRONMENTS)
@pytest.mark.parametrize("command", COMMANDS)
def test_every_environment(command, environment, paths):
    before = snapshot(paths.data)
    result = run(["--data-dir", paths.data, *COMMANDS[command]], env=ENVIRONMENTS[environment])
    if command == "quiz":  # no terminal in any of these
        assert_refused(result, "needs an interactive terminal")
    else:
        assert "Traceback" not in result.stdout + result.stderr, result.stderr
        assert result.returncode == 0 and result.stderr == "" and result.stdout.strip(), result.stderr
    assert snapshot(paths.data) == before


@pytest.mark.parametrize("stdin_is_a_terminal", [False, True], ids=["stdin-pipe", "stdin-tty"])
def test_the_quiz_refuses_when_only_one_end_is_a_terminal(stdin_is_a_terminal, paths):
    import pty

    controller, terminal = pty.openpty()
    try:
        streams = {"stdin": terminal} if stdin_is_a_terminal else {"stdin": subprocess.DEVNULL, "stdout": terminal}
        result = run(["--data-dir", paths.data, "quiz"], **streams)
    finally:
        os.close(terminal)
        os.close(controller)
    assert_refused(result, "needs an interactive terminal")


def test_a_closed_output_pipe_is_not_a_traceback(paths):
    reader, writer = os.pipe()
    os.close(reader)  # the reader is gone before anything is written: `learnapp progress | true`
    try:
        result = run(["--data-dir", paths.data, "progress", "--json"], stdout=writer)
    finally:
        os.close(writer)
    assert result.returncode != 0 and result.stderr == ""


# --- a read-only data dir -------------------------------------------------------------------


@functools.cache
def _can_mount() -> bool:
    if not shutil.which("unshare"):
        return False
    return subprocess.run(["unshare", "-rm", "true"], capture_output=True, check=False).returncode == 0


def run_read_only(folder: Path, argv: list[str]) -> subprocess.CompletedProcess[str]:
    """Run with `folder` read-only: by permissions, or for root (who ignores them) by a read-only
    bind mount in a private mount namespace."""
    if os.geteuid() != 0:
        modes = {path: path.stat().st_mode for path in [folder, *folder.rglob("*")]}
        try:
            for path, mode in modes.items():
                path.chmod(mode & ~0o222)
            return run(argv)
        finally:
            for path, mode in modes.items():
                path.chmod(mode)
    if not _can_mount():
        pytest.skip("running as root without `unshare -rm`: no way to make a folder read-only here")
    script = 'mount --bind "$0" "$0" && mount -o remount,bind,ro "$0" "$0" && exec "$@"'
    result = subprocess.run(
        ["unshare", "-rm", "sh", "-c", script, str(folder), sys.executable, "-m", "learnapp.cli", *map(str, argv)],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        check=False,
    )
    return result


@pytest.mark.parametrize(
    "argv, says",
    [
        (["progress", "--json"], "is read-only, and SQLite needs to write there"),
        (["progress", "--export", "{root}/backup2.jsonl"], "is read-only"),
        (["progress", "--import", "{export}"], "is read-only"),
        (["quiz"], "needs an interactive terminal"),
    ],
)
def test_a_read_only_data_dir(argv, says, paths):
    before = snapshot(paths.data)
    result = run_read_only(paths.data, ["--data-dir", paths.data, *fill(argv, paths)])
    assert_refused(result, says)
    assert snapshot(paths.data) == before


def test_a_distractor_that_is_many_answers_is_one_line(paths):
    """One item's wrong answer equal to the right answer of 20 others: one line, five named and a count."""
    items = "".join(
        f"  - {{id: q{n}, source: {n + 1}, question: Q{n}?, answer: Shared, distractors: [wxa, wxb, wxc]}}\n"
        for n in range(20)
    )
    last = "  - {id: z, source: 99, question: Z?, answer: Other, distractors: [Shared, wxb, wxc]}\n"
    deck = paths.file("deck/shared.yaml", f"topic: t\ntitle: T\ndemo: cfg\nitems:\n{items}{last}")
    lines = run(["validate", deck]).stdout.splitlines()
    assert lines == [
        f"{deck}:25: item z: distractor 1 is the answer of item "
        + ", ".join(f"q{n} ({deck}:{5 + n})" for n in range(5))
        + " and 15 more",
        f"1 problem(s) in {deck}",
    ]
