"""How fast the quiz answers: `learnapp quiz` to the first card drawn, and a rating key to the next card.

    python benchmarks/bench_quiz.py [--runs 10] [--answers 60]

First card: whole processes of the real `learnapp quiz` path (argument parsing, deck, store,
Textual), headless, each ending as soon as the first question is on screen; the median is
shown next to a bare `python -c pass` run in the same benchmark. Next card: in one headless
app, the median time from a rating key press to the first screen paint that shows the next
question (Pilot's own waiting after a key press is not counted: a terminal does not pay it).
Targets on a 2-core machine: first card <= 0.4 s, next card <= 30 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

from timing import median_seconds


def child_first_card(data_dir: str) -> None:
    """Run `learnapp quiz` headless and quit once the first card is drawn."""
    from learnapp.cli import main
    from learnapp.tui.app import LearnApp

    run = LearnApp.run

    async def quit_on_first_card(pilot) -> None:
        await pilot.pause()
        assert pilot.app.screen.query_one("#question").render().plain
        pilot.app.exit()

    LearnApp.run = lambda self, **kw: run(self, headless=True, auto_pilot=quit_on_first_card)
    sys.exit(main(["--data-dir", data_dir, "quiz"]))


async def next_card_latencies(data_dir: Path, answers: int) -> list[float]:
    from textual.screen import Screen

    from learnapp.content import load_deck
    from learnapp.store import Store
    from learnapp.tui.app import LearnApp, ReviewOptions

    paints: list[tuple[float, str]] = []  # (when, question on screen) for every screen paint
    paint = Screen._compositor_refresh

    def timed_paint(screen: Screen) -> None:
        paint(screen)
        question = screen.query("#question")
        if question:
            paints.append((time.perf_counter(), question.first().render().plain))

    Screen._compositor_refresh = timed_paint
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
        first = median_seconds([sys.executable, __file__, "--child-first-card", tmp], args.runs)
    with tempfile.TemporaryDirectory() as tmp:
        latencies = asyncio.run(next_card_latencies(Path(tmp), args.answers))
    print(json.dumps({
        "python -c pass (s)": round(baseline, 4),
        "first card, whole process (s)": round(first, 4),
        "first card x bare python": round(first / baseline, 2),
        "next card median (ms)": round(1000 * statistics.median(latencies), 2),
        "next card p90 (ms)": round(1000 * sorted(latencies)[int(0.9 * len(latencies))], 2),
        "targets": {"first card (s)": 0.4, "next card (ms)": 30},
    }, indent=2))


if __name__ == "__main__":
    main()
