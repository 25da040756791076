"""How a learner's function is compared with the reference: one harness for every exercise.

A `Check` names the function the learner writes, the cases to try (each with its input and the
answer diffusers or librosa gives for it) and known-wrong variants (`Mistake`). `run_check` calls
the learner's function on every case; at the first mismatch it reports the input, the expected
and the actual value (shape, dtype, the largest difference and where), and names the mistake whose
variant gives exactly what the learner's function gave. Mistakes are recognised by running them,
never by reading the learner's source.

Imports torch and numpy: only the check's child process and the checkers use this module.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import torch

from learnapp.exercises.verdict import Verdict, raised


@dataclass(frozen=True)
class Case:
    """One input. `arguments` and `expected` are called afresh for every call, because a
    generator is consumed and a learner may modify a tensor in place."""

    label: str
    arguments: Callable[[], tuple[Any, ...]]
    expected: Callable[[], Any]
    seed: int = 0  # torch, numpy and random are seeded with it before each call


@dataclass(frozen=True)
class Mistake:
    """A typical wrong solution: `says` is shown when `function` reproduces the learner's output."""

    says: str
    function: Callable[..., Any]


@dataclass(frozen=True)
class Check:
    function: str
    cases: Callable[[], Sequence[Case]]
    mistakes: tuple[Mistake, ...] = ()
    atol: float = 1e-5
    rtol: float = 1e-4
    tolerance_note: str = field(default="")

    @property
    def tolerance(self) -> str:
        return self.tolerance_note or f"|got - expected| <= {self.atol:g} + {self.rtol:g}·|expected|"


def on(function: Callable[..., Any], arguments: Callable[[], tuple[Any, ...]]) -> Callable[[], Any]:
    """`function` called on fresh `arguments()`: a case's expected value, when the reference takes the
    learner's arguments."""
    return lambda: function(*arguments())


def _seeded(seed: int, call: Callable[[], Any]) -> Any:
    torch.manual_seed(seed)
    np.random.seed(seed)
    random.seed(seed)
    return call()


def _as_array(value: Any) -> npt.NDArray[np.generic] | None:
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().double().numpy() if value.is_floating_point() else value.detach().cpu().numpy()
    if isinstance(value, np.ndarray):
        return value
    if isinstance(value, (bool, int, float, np.number)):
        return np.asarray(value)
    return None


def describe(value: Any) -> str:
    """`tensor (2, 3, 8, 8) torch.float32`, `ndarray (64, 9) uint8`, `int`, `tuple of 2`..."""
    if isinstance(value, torch.Tensor):
        return f"tensor {tuple(value.shape)} {value.dtype}"
    if isinstance(value, np.ndarray):
        return f"ndarray {value.shape} {value.dtype}"
    if isinstance(value, (tuple, list)):
        return f"{type(value).__name__} of {len(value)}"
    return type(value).__name__


def _dtype_differs(expected: Any, got: Any) -> bool:
    if isinstance(expected, torch.Tensor):
        return not isinstance(got, torch.Tensor) or got.dtype != expected.dtype
    if isinstance(expected, np.ndarray):
        return not isinstance(got, np.ndarray) or (got.dtype.kind, got.dtype.itemsize) != (
            expected.dtype.kind,
            expected.dtype.itemsize,
        )
    return False


def difference(expected: Any, got: Any, atol: float, rtol: float) -> str | None:
    """None when `got` matches `expected` within the tolerance, else what differs (one line)."""
    if isinstance(expected, tuple):
        if not isinstance(got, (tuple, list)) or len(got) != len(expected):
            return f"expected a tuple of {len(expected)} values, got {describe(got)}"
        for index, (want, have) in enumerate(zip(expected, got, strict=True)):
            problem = difference(want, have, atol, rtol)
            if problem:
                return f"value {index} of the tuple: {problem}"
        return None
    want, have = _as_array(expected), _as_array(got)
    assert want is not None, f"the reference returned {describe(expected)}"
    if have is None:
        return f"expected {describe(expected)}, got {describe(got)}"
    if want.shape != have.shape:
        return f"shape: expected {describe(expected)}, got {describe(got)}"
    if _dtype_differs(expected, got):
        return f"dtype: expected {describe(expected)}, got {describe(got)}"
    if want.size == 0:
        return None
    with np.errstate(invalid="ignore"):
        gap = np.abs(want.astype(np.float64) - have.astype(np.float64))
    gap = np.where(np.isnan(gap), np.inf, gap)
    bad = gap > atol + rtol * np.abs(want.astype(np.float64))
    if not bad.any():
        return None
    where = np.unravel_index(int(np.argmax(gap)), gap.shape) if gap.ndim else ()
    at = f" at index {tuple(int(i) for i in where)}" if where else ""
    return (
        f"max abs difference {gap.max():.4g}{at}: expected {want[where]:.6g}, got {have[where]:.6g} "
        f"({int(bad.sum())} of {bad.size} values off)"
    )


def _recognise(check: Check, case: Case, got: Any) -> str | None:
    for mistake in check.mistakes:
        try:
            theirs = _seeded(case.seed, on(mistake.function, case.arguments))
        except Exception:  # a variant that cannot run on this input is not the mistake
            continue
        if difference(theirs, got, check.atol, check.rtol) is None:
            return mistake.says
    return None


def expected_values(check: Check) -> list[tuple[Case, Any]]:
    """Every case with the reference's answer, computed before the learner's code runs (so its
    time limit counts only its own work)."""
    return [(case, _seeded(case.seed, case.expected)) for case in check.cases()]


def run_check(
    name: str, check: Check, function: Callable[..., Any], path: Path, prepared: list[tuple[Case, Any]] | None = None
) -> Verdict:
    cases = prepared if prepared is not None else expected_values(check)
    for number, (case, expected) in enumerate(cases, 1):
        try:
            got = _seeded(case.seed, on(function, case.arguments))
        except Exception as exc:  # whatever the learner's code raises is reported
            verdict = raised(name, exc, path, f"on case {number} ({case.label})")
            return verdict
        problem = difference(expected, got, check.atol, check.rtol)
        if problem:
            mistake = _recognise(check, case, got)
            details = [
                f"input: {case.label}",
                f"expected: {describe(expected)}",
                f"got:      {describe(got)}",
                problem,
                f"tolerance: {check.tolerance}",
            ]
            if mistake:
                details.append(f"likely mistake: {mistake}")
            return Verdict(
                name,
                "failed",
                f"wrong result on case {number} of {len(cases)}: {case.label}",
                "\n".join(details),
                mistake=mistake,
            )
    return Verdict(name, "passed", f"all {len(cases)} cases match (tolerance: {check.tolerance})")
