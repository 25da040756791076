"""Pictures in the terminal through textual-image: Kitty or Sixel graphics where the terminal
has them, coloured half blocks everywhere else (and in tests, where the class is explicit)."""

from __future__ import annotations

from textual.widget import Widget

ImageWidget = Widget  # a textual_image.widget class: constructed as cls(path)


def default_image_widget() -> type[ImageWidget]:
    # Imported here, before the app runs: textual-image asks the terminal for its cell size on
    # import, which it cannot do once Textual owns the terminal.
    from textual_image.widget import Image

    return Image


def halfblock_image_widget() -> type[ImageWidget]:
    from textual_image.widget import HalfcellImage

    return HalfcellImage
