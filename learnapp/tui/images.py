"""Pictures in the terminal through textual-image: Kitty or Sixel graphics where the terminal
has them, coloured half blocks elsewhere, and half blocks in tests (where the class is given).

textual-image asks the terminal what it supports when it is imported, which it cannot do
while Textual owns the terminal, and the import costs a third of the quiz's start-up. So it
is imported only when the first picture is needed, with the app suspended for the moment of
the question.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from textual.app import App, SuspendNotSupported
from textual.widget import Widget
from textual.widgets import Static

ImageWidget = Callable[..., Widget]  # a textual_image.widget class, called as cls(PIL image, classes=...)


def detect_image_widget(app: App) -> ImageWidget:
    if app.is_headless:
        return halfblock_image_widget()
    try:
        with app.suspend():
            from textual_image.widget import Image
    except SuspendNotSupported:  # no terminal to give back (a web front end): no graphics protocol
        return halfblock_image_widget()
    return Image


def halfblock_image_widget() -> ImageWidget:
    from textual_image.widget import HalfcellImage

    return HalfcellImage


def picture(image_widget: ImageWidget, path: Path, classes: str) -> Widget:
    """The image at `path` drawn by `image_widget`, or a placeholder naming the file when it cannot
    be decoded: a run killed or a disk filled while it was saving leaves a truncated or empty file."""
    from PIL import Image

    try:
        image = Image.open(path)
        image.load()  # decodes now, so a broken file fails here and not while the screen draws
    except (OSError, ValueError, Image.DecompressionBombError) as exc:
        return Static(f"Cannot show {path}: {exc}", classes="figure-unreadable", markup=False)
    return image_widget(image, classes=classes)
