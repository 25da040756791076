"""`learnapp exercise [NAME] [--once] [--hint] [--reset] [--edit]`: the terminal front end."""

from __future__ import annotations

import argparse
import os
import shlex
import subprocess
from pathlib import Path

from learnapp.errors import UserError
from learnapp.exercises import workspace
from learnapp.exercises.catalog import Exercise, find, load_exercises
from learnapp.exercises.verdict import Verdict
from learnapp.store import Store, default_path

MARKS = {"not started": " ", "failing": "x", "passed": "✓"}


def list_exercises(store: Store, data_dir: str | None) -> int:
    from learnapp.content import load_deck

    titles = {topic.id: topic.title for topic in load_deck().topics}
    order = list(titles)
    states = workspace.states(load_exercises(), store, data_dir)
    states.sort(
        key=lambda s: (order.index(s.exercise.topic) if s.exercise.topic in order else len(order), s.exercise.name)
    )
    topic = None
    for state in states:
        if state.exercise.topic != topic:
            topic = state.exercise.topic
            print(f"\n{titles.get(topic, topic)}")
        print(f"  [{MARKS[state.status]}] {state.exercise.name:<20} {state.exercise.title}  ({state.status})")
    passed = sum(state.status == "passed" for state in states)
    print(f"\n{passed} of {len(states)} passed. Start one: learnapp exercise NAME")
    return 0


def _edit(path: Path) -> None:
    editor = os.environ.get("VISUAL") or os.environ.get("EDITOR")
    if not editor:
        raise UserError("--edit needs $EDITOR (or $VISUAL), e.g. EDITOR=nano")
    try:
        subprocess.run([*shlex.split(editor), str(path)], check=False)
    except OSError as exc:
        raise UserError(f"cannot start the editor {editor!r}: {exc.strerror or exc}") from None


def _passed(exercise: Exercise) -> None:
    print(f"\nThe reference solution ({exercise.solution}):\n")
    print(exercise.solution.read_text(encoding="utf-8").rstrip())
    print(f"\nWhy it matters: {exercise.why}")


def run(args: argparse.Namespace) -> int:
    with Store(default_path(args.data_dir)) as store:
        if not args.name:
            return list_exercises(store, args.data_dir)
        exercise = find(args.name)
        if args.hint:
            number, text = workspace.next_hint(exercise, store)
            print(f"Hint {number} of {len(exercise.hints)} for {exercise.name}: {text}")
            return 0
        path = workspace.exercise_file(exercise, args.data_dir)
        if args.reset:
            backup = workspace.reset(exercise, path)
            print(f"started over: {path}" + (f" (your old file is {backup})" if backup else ""))
        elif workspace.start(exercise, path):
            print(f"{exercise.title}: your file is {path}")
        else:
            print(f"{exercise.title}: your file is {path} (kept as you left it)")
        if args.edit:
            _edit(path)

        def check() -> Verdict:
            from learnapp.exercises.runner import check_file

            verdict = check_file(exercise, path)
            workspace.record(store, verdict)
            print(verdict.text(), flush=True)
            return verdict

        if args.once:
            verdict = check()
        else:
            from learnapp.exercises.watch import watch

            print("Checking on every save; Ctrl-C stops. --hint gives a hint.", flush=True)

            def check_and_wait() -> Verdict:
                verdict = check()
                if not verdict.passed:
                    print(f"Waiting for your next save of {path} ...", flush=True)
                return verdict

            result = watch(path, check_and_wait)
            assert result is not None  # without a stop event the watch ends only on a pass
            verdict = result
        if verdict.passed:
            _passed(exercise)
        return 0 if verdict.passed else 1
