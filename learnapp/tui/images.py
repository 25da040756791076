"""Pictures in the terminal through textual-image: Kitty or Sixel graphics where the terminal
has them, coloured half blocks elsewhere, and half blocks in tests (where the class is given).

textual-image asks the terminal what it supports when it is imported, which it cannot do
while Textual owns the terminal, and the import costs a third of the quiz's start-up. So it
is imported only when the first picture is needed, with the app suspended for the moment of
the question.
"""

from __future__ import annotations

from textual.app import App, SuspendNotSupported
from textual.widget import Widget

ImageWidget = Widget  # a textual_image.widget class: constructed as cls(path, classes=...)


def detect_image_widget(app: App) -> type[ImageWidget]:
    if app.is_headless:
        return halfblock_image_widget()
    try:
        with app.suspend():
            from textual_image.widget import Image
    except SuspendNotSupported:  # no terminal to give back (a web front end): no graphics protocol
        return halfblock_image_widget()
    return Image


def halfblock_image_widget() -> type[ImageWidget]:
    from textual_image.widget import HalfcellImage

    return HalfcellImage
