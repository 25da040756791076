"""Formulas in card text: LaTeX math between `$...$`, checked and drawn by matplotlib's mathtext.

- `spans(text)`: the formulas of a text (an escaped `\\$` is a dollar sign, not a delimiter);
- `problems(text)`: why each formula that mathtext cannot parse fails (the validator's check);
- `to_unicode(text)`: the text with each formula as readable Unicode, for a terminal that
  shows no images: `$\\sqrt{\\bar{\\alpha}_t} x_0$` reads `√ᾱ_t x₀`;
- `render_png(formula, path)`: the formula drawn to a PNG.

Headless, and light to import: matplotlib is imported only by `problems` (when the text has a
formula) and `render_png`, never on the quiz's start-up path.
"""

from __future__ import annotations

import os
import re
import unicodedata
from functools import cache
from pathlib import Path
from typing import Any

_SPAN = re.compile(r"(?<!\\)\$(.+?)(?<!\\)\$", re.DOTALL)
_TOKEN = re.compile(r"\\[A-Za-z]+|\\.|\s+|.", re.DOTALL)

SYMBOLS = {
    "alpha": "α",
    "beta": "β",
    "gamma": "γ",
    "delta": "δ",
    "epsilon": "ε",
    "zeta": "ζ",
    "eta": "η",
    "theta": "θ",
    "iota": "ι",
    "kappa": "κ",
    "lambda": "λ",
    "mu": "μ",
    "nu": "ν",
    "xi": "ξ",
    "pi": "π",
    "rho": "ρ",
    "sigma": "σ",
    "tau": "τ",
    "upsilon": "υ",
    "phi": "φ",
    "chi": "χ",
    "psi": "ψ",
    "omega": "ω",
    "Gamma": "Γ",
    "Delta": "Δ",
    "Theta": "Θ",
    "Lambda": "Λ",
    "Xi": "Ξ",
    "Pi": "Π",
    "Sigma": "Σ",
    "Phi": "Φ",
    "Psi": "Ψ",
    "Omega": "Ω",
    "varepsilon": "ε",
    "vartheta": "ϑ",
    "varphi": "φ",
    "varsigma": "ς",
    "cdot": "·",
    "times": "×",
    "div": "÷",
    "pm": "±",
    "mp": "∓",
    "ast": "∗",
    "approx": "≈",
    "sim": "∼",
    "simeq": "≃",
    "propto": "∝",
    "equiv": "≡",
    "neq": "≠",
    "ne": "≠",
    "leq": "≤",
    "le": "≤",
    "geq": "≥",
    "ge": "≥",
    "ll": "≪",
    "gg": "≫",
    "in": "∈",
    "sum": "∑",
    "prod": "∏",
    "int": "∫",
    "infty": "∞",
    "nabla": "∇",
    "partial": "∂",
    "to": "→",
    "rightarrow": "→",
    "leftarrow": "←",
    "mapsto": "↦",
    "Rightarrow": "⇒",
    "ldots": "…",
    "dots": "…",
    "cdots": "⋯",
    "top": "⊤",
    "odot": "⊙",
    "otimes": "⊗",
    "oplus": "⊕",
    "lVert": "‖",
    "rVert": "‖",
    "Vert": "‖",
    "|": "‖",
    "langle": "⟨",
    "rangle": "⟩",
    "{": "{",
    "}": "}",
    "$": "$",
    "%": "%",
    "_": "_",
    "#": "#",
    "&": "&",
    ",": " ",
    ";": " ",
    ":": " ",
    " ": " ",
    "quad": " ",
    "qquad": "  ",
    "!": "",
    "\\": " ",
}
ACCENTS = {
    "bar": "\u0304",
    "overline": "\u0305",
    "hat": "\u0302",
    "widehat": "\u0302",
    "tilde": "\u0303",
    "widetilde": "\u0303",
    "dot": "\u0307",
    "ddot": "\u0308",
    "vec": "\u20d7",
}
STYLES = {
    "mathbf",
    "mathrm",
    "mathit",
    "mathsf",
    "mathtt",
    "boldsymbol",
    "bm",
    "operatorname",
    "text",
    "textrm",
    "textbf",
    "textit",
    "texttt",
    "mbox",
}
SIZES = {"left", "right", "big", "Big", "bigg", "Bigg", "bigl", "bigr", "Bigl", "Bigr", "middle"}
# Unicode's script capitals: most in the Mathematical Alphanumeric block, eight older ones elsewhere
_SCRIPT = {chr(65 + n): chr(0x1D49C + n) for n in range(26)} | dict(zip("BEFHILMR", "ℬℰℱℋℐℒℳℛ", strict=True))
_DOUBLE_STRUCK = {chr(65 + n): chr(0x1D538 + n) for n in range(26)} | dict(zip("CHNPQRZ", "ℂℍℕℙℚℝℤ", strict=True))
LETTERS = {"mathcal": _SCRIPT, "mathscr": _SCRIPT, "mathbb": _DOUBLE_STRUCK}
# Only digits and signs: their small forms are in every terminal font, unlike ₜ or ᵀ.
SUBSCRIPTS = dict(zip("0123456789+−=()", "₀₁₂₃₄₅₆₇₈₉₊₋₌₍₎", strict=True))
SUPERSCRIPTS = dict(zip("0123456789+−=()", "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁼⁽⁾", strict=True))
_OPERATORS = set(" +−-*/·×=<>≤≥≈∼,")


def spans(text: str) -> list[str]:
    """The formulas in `text`, without their dollar signs."""
    return _SPAN.findall(text)


def problems(text: str) -> list[str]:
    """Why each formula in `text` does not parse with mathtext (empty: all parse, or none)."""
    found = []
    for formula in spans(text):
        try:
            _parser().parse(f"${formula}$")
        except ValueError as exc:
            found.append(f"${formula}$: {_reason(exc)}")
    return found


def to_unicode(text: str) -> str:
    """`text` with each `$...$` turned into readable Unicode and `\\$` into a dollar sign."""
    parts = []
    for n, piece in enumerate(_SPAN.split(text)):
        if n % 2:
            converted = " ".join(_Converter(piece).group("").split())
            parts.append(unicodedata.normalize("NFC", re.sub(r"([(\[]) | ([)\]])", r"\1\2", converted)))
        else:
            parts.append(piece.replace("\\$", "$"))
    return "".join(parts)


def render_png(formula: str, path: Path, fontsize: float = 16, color: str = "black") -> Path:
    """Draw `formula` (without dollar signs) into the PNG `path`; ValueError if it does not parse.

    Written to a temporary file renamed into place, so a reader never sees half a picture.
    """
    import tempfile  # here, not at the top: the quiz imports this module on start-up

    from matplotlib.font_manager import FontProperties
    from matplotlib.mathtext import math_to_image

    path = Path(path)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".png")
    os.close(handle)
    try:
        math_to_image(f"${formula}$", temporary, prop=FontProperties(size=fontsize), dpi=100, format="png", color=color)
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise
    return path


@cache
def _parser() -> Any:
    from matplotlib.mathtext import MathTextParser

    return MathTextParser("path")


def _reason(exc: ValueError) -> str:
    """mathtext's message without its echo of the formula and its caret line."""
    last = [line for line in str(exc).splitlines() if line.strip()][-1]
    last = re.sub(r"^\w*Exception: ", "", last)
    return " ".join(re.sub(r",?\s*\(line:\d+, col:\d+\)$", "", last).split())


def _wrap(text: str) -> str:
    """`text` in parentheses when it is more than one term (so √ and / apply to all of it)."""
    return f"({text})" if len(text) > 1 and any(c in _OPERATORS for c in text) else text


def _script(text: str, small: dict[str, str], mark: str) -> str:
    """A sub- or superscript: small Unicode forms when every character has one, else _x / _(xy)."""
    if text and all(c in small for c in text):
        return "".join(small[c] for c in text)
    body = unicodedata.normalize("NFC", text)
    return mark + (body if len(body) == 1 or (body.startswith("(") and body.endswith(")")) else f"({body})")


class _Converter:
    """A small reader of the LaTeX math that cards use; anything unknown is kept as its name."""

    def __init__(self, formula: str) -> None:
        self.tokens = _TOKEN.findall(formula)
        self.pos = 0

    def next(self) -> str:
        token = self.tokens[self.pos] if self.pos < len(self.tokens) else ""
        self.pos += 1
        return token

    def group(self, end: str = "}") -> str:
        """Everything up to the closing `end` (or the end of the formula)."""
        out = []
        while self.pos < len(self.tokens):
            token = self.next()
            if token == end:
                break
            if token == "^":
                out.append(_script(self.argument(), SUPERSCRIPTS, "^"))
            elif token == "_":
                out.append(_script(self.argument(), SUBSCRIPTS, "_"))
            else:
                out.append(self.atom(token))
        return "".join(out)

    def argument(self) -> str:
        """The next group or single token: what a command or ^ and _ apply to."""
        while self.pos < len(self.tokens) and self.tokens[self.pos].isspace():
            self.pos += 1
        return self.atom(self.next())

    def atom(self, token: str) -> str:
        if token == "{":
            return self.group()
        if token.isspace():
            return " "
        if token == "-":
            return "−"
        if not token.startswith("\\"):
            return token
        name = token[1:]
        if name in SYMBOLS:
            return SYMBOLS[name]
        if name in ACCENTS:
            return "".join(c + ACCENTS[name] if c.isalnum() else c for c in self.argument())
        if name in STYLES:
            return self.argument()
        if name in LETTERS:
            return "".join(LETTERS[name].get(c, c) for c in self.argument())
        if name in SIZES:
            delimiter = self.argument()
            return "" if delimiter == "." else delimiter
        if name == "sqrt":
            return self.root()
        if name in ("frac", "dfrac", "tfrac"):
            numerator = self.argument()
            return f"{_wrap(numerator)}/{_wrap(self.argument())}"
        return name

    def root(self) -> str:
        index = ""
        if self.pos < len(self.tokens) and self.tokens[self.pos] == "[":
            self.pos += 1
            index = self.group("]")
        prefix = {"": "", "3": "∛", "4": "∜"}.get(index)
        radicand = _wrap(self.argument())
        if prefix is None:
            return _script(index, SUPERSCRIPTS, "^") + "√" + radicand
        return (prefix or "√") + radicand
