"""What screens ask the app for. A screen opens another by posting one of these (they bubble
to the app, which builds the screen with its collaborators) and closes itself with
`dismiss()`, so no screen imports another.
"""

from __future__ import annotations

from textual.message import Message

from learnapp.review_options import ReviewOptions


class OpenReview(Message):
    """Start a review session."""

    def __init__(self, options: ReviewOptions) -> None:
        super().__init__()
        self.options = options


class OpenDemo(Message):
    """Show a demo's newest run and let it be run."""

    def __init__(self, demo: str) -> None:
        super().__init__()
        self.demo = demo


class OpenProgress(Message):
    """Show the progress figures."""


class OpenBrowser(Message):
    """Search and browse the cards."""


class OpenExercises(Message):
    """Show the exercises; with a name, open that one (its file, watched for saves)."""

    def __init__(self, name: str | None = None) -> None:
        super().__init__()
        self.name = name
