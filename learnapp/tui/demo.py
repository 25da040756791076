"""Demo: what a topic's demo shows — its newest run's figures and metrics — and running it.

A run started here is the quick preset, in a thread worker, so the UI keeps answering; the
demo reports through the same progress callback the CLI's bar uses. Leaving the screen or the
app stops the run at its next report, as Ctrl-C does in the CLI (marked incomplete): a thread
left running would keep the process alive after the app has closed.
"""

from __future__ import annotations

import json
from pathlib import Path

from textual import work
from textual.worker import get_current_worker
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, ProgressBar, Static

from learnapp.demos import DEMOS
from learnapp.demos.estimates import quick_reference
from learnapp.demos.runs import latest_run, run_status

SHOWN_METRICS = 8


class DemoScreen(Screen[None]):
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back (stops a run)"),
        Binding("r", "run", "Run quick preset"),
    ]

    def __init__(self, demo: str) -> None:
        super().__init__()
        self.demo = demo
        self.running = False

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="demo"):
            yield Static(id="demo-about")
            yield Static(id="demo-run-status")
            yield ProgressBar(id="demo-progress", show_eta=False)
            yield Static(id="demo-latest")
            yield VerticalScroll(id="demo-figures")
        yield Footer()

    def on_mount(self) -> None:
        info = DEMOS[self.demo]
        topics = [t.title for t in self.app.deck.topics if t.demo == self.demo]
        self.query_one("#demo-about", Static).update(
            f"[b]{self.demo}[/b]: {info.summary}\nTopics: {', '.join(topics)}\n"
            f"Run it in a shell: [b]learnapp demo {self.demo} --quick[/b] ({quick_reference(self.demo)}; a run "
            f"prints its own estimate for the machine first) or without --quick on a GPU; r runs the quick preset here."
        )
        self.query_one("#demo-progress").display = False
        self.show_latest()

    def show_latest(self) -> None:
        latest = self.query_one("#demo-latest", Static)
        figures = self.query_one("#demo-figures")
        figures.remove_children()
        run = latest_run(self.app.runs_dir, self.demo)
        if run is None:
            latest.update(f"No run yet under {self.app.runs_dir / self.demo}.")
            return
        metrics = _read_metrics(run)
        status = run_status(metrics)
        lines = [f"Newest run: {run} ({status}, {metrics.get('device', {}).get('name', '?')})"]
        for name, value in list(_flat(metrics.get("metrics", {})).items())[:SHOWN_METRICS]:
            lines.append(f"  {name}: {value}")
        latest.update("\n".join(lines))
        for name in DEMOS[self.demo].figures:
            path = run / name
            if path.exists():
                figures.mount(Static(str(path), classes="figure-path"))
                figures.mount(self.app.image_widget(path, classes="figure"))

    def action_run(self) -> None:
        if not self.running:
            self.running = True
            self.query_one("#demo-progress").display = True
            self.run_demo()

    @work(thread=True, exclusive=True)
    def run_demo(self) -> None:
        from learnapp.demos.runner import run_quick

        worker = get_current_worker()

        def progress(stage: str, done: int, total: int, note: str = "") -> None:
            if worker.is_cancelled:  # the screen was left or the app is closing
                raise KeyboardInterrupt
            self.app.call_from_thread(self._progress, stage, done, total, note)

        try:
            folder = run_quick(self.demo, self.app.runs_dir, progress)
            message = f"Finished: {folder}"
        except KeyboardInterrupt:
            return  # stopped because nobody is looking any more
        except Exception as exc:  # shown in the UI: a failed demo must not take the quiz down
            message = f"The demo stopped: {exc}"
        self.app.call_from_thread(self._finished, message)

    def _progress(self, stage: str, done: int, total: int, note: str) -> None:
        bar = self.query_one("#demo-progress", ProgressBar)
        bar.update(total=max(total, 1), progress=done)
        self.query_one("#demo-run-status", Static).update(f"Running {self.demo}: {stage} {note}".rstrip())

    def _finished(self, message: str) -> None:
        self.running = False
        self.query_one("#demo-progress").display = False
        self.query_one("#demo-run-status", Static).update(message)
        self.show_latest()


def _read_metrics(run: Path) -> dict:
    try:
        return json.loads((run / "metrics.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def _flat(metrics: dict, prefix: str = "") -> dict[str, object]:
    """Nested metrics as `a.b: value` lines, numbers only."""
    flat: dict[str, object] = {}
    for key, value in metrics.items():
        if isinstance(value, dict):
            flat.update(_flat(value, f"{prefix}{key}."))
        elif isinstance(value, (int, float)):
            flat[f"{prefix}{key}"] = round(value, 4) if isinstance(value, float) else value
    return flat
