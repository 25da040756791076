"""Demo: what a topic's demo shows — its newest run's figures and metrics — and running it.

A run started here is the quick preset, in a thread worker, so the UI keeps answering; the
demo reports through the same progress callback the CLI's bar uses, and the worker hands
each report to the screen as a message. A screen that is gone (or going) handles no more
messages and takes none: the next report then stops the run, as Ctrl-C does in the CLI,
and the runner marks it incomplete in its folder. A thread left running would keep the
process alive after the app has closed.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer, ProgressBar, Static
from textual.worker import get_current_worker

from learnapp.content import Deck
from learnapp.demos import DEMOS
from learnapp.demos.estimates import quick_reference
from learnapp.demos.runs import latest_run, read_record, run_status
from learnapp.tui.images import ImageWidget, picture

SHOWN_METRICS = 8


class DemoScreen(Screen[None]):
    BINDINGS = [
        Binding("escape", "dismiss", "Back (stops a run)"),
        Binding("r", "run", "Run quick preset"),
    ]

    class Reported(Message, bubble=False):
        """The running demo reached `done` of `total` in `stage`."""

        def __init__(self, stage: str, done: int, total: int, note: str) -> None:
            super().__init__()
            self.stage, self.done, self.total, self.note = stage, done, total, note

        def can_replace(self, message: Message) -> bool:
            # a newer report queued behind this one makes it stale: a fast demo never floods the screen
            return isinstance(message, DemoScreen.Reported)

    class Ended(Message, bubble=False):
        """The run finished or failed; `outcome` says which."""

        def __init__(self, outcome: str) -> None:
            super().__init__()
            self.outcome = outcome

    def __init__(self, demo: str, deck: Deck, runs_dir: Path, *, image_widget: Callable[[], ImageWidget]) -> None:
        super().__init__()
        self.demo = demo
        self.deck = deck
        self.runs_dir = runs_dir
        self.image_widget = image_widget
        self.running = False
        self._left = threading.Event()
        self.run_ended = threading.Event()  # set once a run started here has stopped and its folder is marked

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
        topics = [t.title for t in self.deck.topics if t.demo == self.demo]
        self.query_one("#demo-about", Static).update(
            f"[b]{self.demo}[/b]: {info.summary}\nTopics: {', '.join(topics)}\n"
            f"Run it in a shell: [b]learnapp demo {self.demo} --quick[/b] ({quick_reference(self.demo)}; a run "
            f"prints its own estimate for the machine first) or without --quick on a GPU; r runs the quick preset here."
        )
        self.query_one("#demo-progress").display = False
        self.show_latest()

    def on_unmount(self) -> None:
        self._left.set()

    def show_latest(self) -> None:
        latest = self.query_one("#demo-latest", Static)
        figures = self.query_one("#demo-figures")
        figures.remove_children()
        run = latest_run(self.runs_dir, self.demo)
        if run is None:
            latest.update(f"No run yet under {self.runs_dir / self.demo}.")
            return
        metrics = read_record(run)
        status = run_status(metrics)
        lines = [f"Newest run: {run} ({status}, {metrics.get('device', {}).get('name', '?')})"]
        for name, value in list(_flat(metrics.get("metrics", {})).items())[:SHOWN_METRICS]:
            lines.append(f"  {name}: {value}")
        latest.update("\n".join(lines))
        for name in DEMOS[self.demo].figures:
            path = run / name
            if path.exists():
                figures.mount(Static(str(path), classes="figure-path", markup=False))
                figures.mount(picture(self.image_widget(), path, classes="figure"))

    def action_run(self) -> None:
        if not self.running:
            self.running = True
            self.run_ended.clear()
            self.query_one("#demo-progress").display = True
            # The app's worker, not this screen's: Textual cancels a screen's thread worker without
            # waiting for the thread, while the run still has its folder to mark once it stops.
            self.app.run_worker(self._run_demo, name=f"demo {self.demo}", group="demo", thread=True)

    def _run_demo(self) -> None:
        """In the worker thread: the quick preset, its reports posted to this screen."""
        from learnapp.demos.runner import run_quick

        worker = get_current_worker()

        def report(stage: str, done: int, total: int, note: str = "") -> None:
            # nobody is looking any more (the screen was left, the app is closing): stop here
            if (
                self._left.is_set()
                or worker.is_cancelled
                or not self.post_message(self.Reported(stage, done, total, note))
            ):
                raise KeyboardInterrupt

        try:
            folder = run_quick(self.demo, self.runs_dir, report)
            outcome = f"Finished: {folder}"
        except KeyboardInterrupt:
            return  # the runner has marked the run incomplete
        except Exception as exc:  # shown in the UI: a failed demo must not take the quiz down
            outcome = f"The demo stopped: {exc}"
        finally:
            self.run_ended.set()
        self.post_message(self.Ended(outcome))

    def on_demo_screen_reported(self, message: DemoScreen.Reported) -> None:
        bar = self.query_one("#demo-progress", ProgressBar)
        bar.update(total=max(message.total, 1), progress=message.done)
        self.query_one("#demo-run-status", Static).update(
            f"Running {self.demo}: {message.stage} {message.note}".rstrip()
        )

    def on_demo_screen_ended(self, message: DemoScreen.Ended) -> None:
        self.running = False
        self.query_one("#demo-progress").display = False
        self.query_one("#demo-run-status", Static).update(message.outcome)
        self.show_latest()


def _flat(metrics: dict, prefix: str = "") -> dict[str, object]:
    """Nested metrics as `a.b: value` lines, numbers only."""
    flat: dict[str, object] = {}
    for key, value in metrics.items():
        if isinstance(value, dict):
            flat.update(_flat(value, f"{prefix}{key}."))
        elif isinstance(value, (int, float)):
            flat[f"{prefix}{key}"] = round(value, 4) if isinstance(value, float) else value
    return flat
