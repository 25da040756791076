"""How fast the quiz answers: `learnapp quiz` to the first card drawn, and a rating key to the next card.

    python benchmarks/bench_quiz.py [--runs 10] [--answers 60]

First card: fresh processes of the real `learnapp quiz` path (argument parsing, deck, store,
Textual), headless; the median time from starting the process to the first screen paint that
shows a question (wall clock: the parent reads it before the start, the child at the paint),
next to a bare `python -c pass` run in the same benchmark, and the median of the whole process
(which quits once the app is idle after that paint). Next card: in one headless
app, the median time from a rating key press to the first screen paint that shows the next
question (Pilot's own waiting after a key press is not counted: a terminal does not pay it).
Targets on a 2-core machine: first card <= 0.4 s, next card <= 30 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from timing import median_seconds


def on_paint(record: Callable[[float, str], None]) -> None:
    """Call `record(when, question on screen)` after every screen paint that shows a question."""
    from textual.screen import Screen

    paint = Screen._compositor_refresh

    def timed_paint(screen: Screen) -> None:
        paint(screen)
        question = screen.query("#question")
        if question:
            record(time.perf_counter(), question.first().render().plain)

    Screen._compositor_refresh = timed_paint


def child_first_card(data_dir: str) -> None:
    """Run `learnapp quiz` headless; print the wall-clock time of the first paint with a question, then quit."""
    from learnapp.cli import main
    from learnapp.tui.app import LearnApp

    def first_paint(when: float, question: str) -> None:
        if question and not drawn:
            drawn.append(time.time())
            print(drawn[0], flush=True)

    drawn: list[float] = []
    on_paint(first_paint)
    run = LearnApp.run

    async def quit_when_drawn(pilot) -> None:
        await pilot.pause()
        assert drawn, "no card was drawn"
        pilot.app.exit()

    LearnApp.run = lambda self, **kw: run(self, headless=True, auto_pilot=quit_when_drawn)
    sys.exit(main(["--data-dir", data_dir, "quiz"]))


def first_card_seconds(data_dir: str, runs: int) -> tuple[float, float]:
    """Medians of: process start to the first card painted, and the whole process (to its exit)."""
    drawn, whole = [], []
    for attempt in range(runs + 1):  # the first run warms the disk cache
        started = time.time()
        done = subprocess.run(
            [sys.executable, __file__, "--child-first-card", data_dir], capture_output=True, text=True, check=True
        )
        if attempt:
            whole.append(time.time() - started)
            drawn.append(float(done.stdout.split()[0]) - started)
    return statistics.median(drawn), statistics.median(whole)


async def next_card_latencies(data_dir: Path, answers: int) -> list[float]:
    from learnapp.content import load_deck
    from learnapp.review_options import ReviewOptions
    from learnapp.store import Store
    from learnapp.tui.app import LearnApp

    paints: list[tuple[float, str]] = []  # (when, question on screen) for every screen paint
    on_paint(lambda when, question: paints.append((when, question)))
    with Store(data_dir / "progress.sqlite3") as store:
        app = LearnApp(load_deck(), store, runs_dir=data_dir / "runs", start=ReviewOptions(new_per_day=answers))
        latencies = []
        async with app.run_test(headless=True, size=(100, 30)) as pilot:
            for _ in range(answers):
                await pilot.press("space")
                await pilot.pause()
                before = app.screen.query_one("#question").render().plain
                paints.clear()
                start = time.perf_counter()
                await pilot.press("4")
                await pilot.pause()
                drawn = next(when for when, question in paints if question != before)
                latencies.append(drawn - start)
        return latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--answers", type=int, default=60)
    parser.add_argument("--child-first-card", metavar="DATA_DIR", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_first_card:
        child_first_card(args.child_first_card)
    with tempfile.TemporaryDirectory() as tmp:
        baseline = median_seconds([sys.executable, "-c", "pass"], args.runs)
        first, whole = first_card_seconds(tmp, args.runs)
    with tempfile.TemporaryDirectory() as tmp:
        latencies = asyncio.run(next_card_latencies(Path(tmp), args.answers))
    print(
        json.dumps(
            {
                "python -c pass (s)": round(baseline, 4),
                "first card drawn, from process start (s)": round(first, 4),
                "first card x bare python": round(first / baseline, 2),
                "whole process, to its exit after the first card (s)": round(whole, 4),
                "next card median (ms)": round(1000 * statistics.median(latencies), 2),
                "next card p90 (ms)": round(1000 * sorted(latencies)[int(0.9 * len(latencies))], 2),
                "targets": {"first card (s)": 0.4, "next card (ms)": 30},
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
