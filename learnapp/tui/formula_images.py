"""Formulas of a card as pictures, for terminals with a graphics protocol (Kitty, Sixel).

The card's text always shows the formulas as Unicode (formulas.to_unicode); where pictures can
be drawn, each formula is also rendered by matplotlib's mathtext into a PNG, cached by its
text, so a card's formulas are drawn once ever. Rendering imports matplotlib: callers run it in
a worker thread after the card has painted, never on the quiz's start-up path.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from learnapp import formulas
from learnapp.tui.images import ImageWidget


def is_graphics(image_widget: ImageWidget) -> bool:
    """Whether `image_widget` draws real pixels (half blocks would make a formula unreadable)."""
    from textual_image.widget import HalfcellImage, UnicodeImage

    return image_widget not in (HalfcellImage, UnicodeImage)


def formula_pngs(text: str, cache: Path) -> list[Path]:
    """A PNG per formula of `text`, rendered into `cache` unless already there; unparsable ones left out."""
    cache.mkdir(parents=True, exist_ok=True)
    pictures = []
    for formula in dict.fromkeys(formulas.spans(text)):
        path = cache / f"{hashlib.sha256(formula.encode()).hexdigest()[:20]}.png"
        if not path.exists():
            try:
                formulas.render_png(formula, path)
            except ValueError:  # the validator reports it; the Unicode text still shows it
                continue
        pictures.append(path)
    return pictures
