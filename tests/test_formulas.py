"""Formulas in card text: finding them, checking them with mathtext, Unicode, PNG."""

import pytest

from learnapp.formulas import problems, render_png, spans, to_unicode


def test_spans_skip_escaped_dollars():
    assert spans(r"costs \$5, then $x_0$ and $\epsilon$; \$ alone") == ["x_0", r"\epsilon"]
    assert spans("no formula, one $ sign") == []


@pytest.mark.parametrize(
    "latex, readable",
    [
        (r"\bar{\alpha}_t", "ᾱ_t"),
        (r"\bar\alpha_t", "ᾱ_t"),
        (r"\sqrt{x}", "√x"),
        (r"\sqrt{1-\bar{\alpha}_t}", "√(1−ᾱ_t)"),
        (r"\epsilon", "ε"),
        (r"\alpha \beta \sigma \theta \mu", "α β σ θ μ"),
        (r"a \cdot b", "a · b"),
        (r"4 \times 64", "4 × 64"),
        (r"\frac{a}{b}", "a/b"),
        (r"\frac{1-\alpha}{\sqrt{2}}", "(1−α)/√2"),
        (r"x_{t-1}", "x_(t−1)"),
        (r"x_0", "x₀"),
        (r"x_{12}", "x₁₂"),
        (r"x^2", "x²"),
        (r"W^{-1}", "W⁻¹"),
        (r"x^T", "x^T"),
        (r"\mathbf{x}", "x"),
        (r"\left( a + b \right)", "(a + b)"),
        (r"a \approx b \leq c \sim d", "a ≈ b ≤ c ∼ d"),
        (r"\mathcal{N}(0, \mathbf{I})", "𝒩(0, I)"),
        (r"\hat{x}", "x̂"),
        (r"\tilde{\mu}_t", "μ̃_t"),
        (r"\text{noise pred}", "noise pred"),
        (r"\mathrm{Var}", "Var"),
    ],
)
def test_to_unicode(latex, readable):
    assert to_unicode(f"${latex}$") == readable


def test_to_unicode_keeps_the_text_around_formulas():
    text = r"Noisy: $x_t = \sqrt{\bar{\alpha}_t}\,x_0 + \sqrt{1-\bar{\alpha}_t}\,\epsilon$ (costs \$0)."
    assert to_unicode(text) == "Noisy: x_t = √ᾱ_t x₀ + √(1−ᾱ_t) ε (costs $0)."


def test_problems_name_each_formula_that_does_not_parse():
    assert problems(r"fine: $\sqrt{\bar{\alpha}_t}\,\epsilon$, and no formula here") == []
    found = problems(r"$\frac{a}$ and $x_0$ and $\notacommand{x}$")
    assert len(found) == 2
    assert found[0].startswith(r"$\frac{a}$: ") and r"\frac{num}{den}" in found[0]
    assert found[1].startswith(r"$\notacommand{x}$: Unknown symbol")


def test_render_png_writes_a_png(tmp_path):
    path = render_png(r"\sqrt{\bar{\alpha}_t}\,x_0", tmp_path / "formula.png", fontsize=20, color="white")
    assert path == tmp_path / "formula.png"
    data = path.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) > 100
    assert [p.name for p in tmp_path.iterdir()] == ["formula.png"]  # no temporary file left


def test_render_png_of_a_bad_formula_raises_and_leaves_nothing(tmp_path):
    with pytest.raises(ValueError):
        render_png(r"\frac{a}", tmp_path / "formula.png")
    assert list(tmp_path.iterdir()) == []
