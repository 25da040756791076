"""The run-time estimate: said before a run starts, recorded with the actual time, scaled by work and speed."""

from __future__ import annotations

import pytest
from demo_helpers import TINY, metrics, only_run

from learnapp.cli import main
from learnapp.demos import DEMOS, estimates, runner


def test_every_demo_has_a_reference_time_for_its_quick_preset():
    assert set(DEMOS) <= set(estimates.QUICK_SECONDS)


def test_the_estimate_scales_with_work_and_inversely_with_speed():
    base = estimates.expected_seconds("cfg", 10.0, 10.0, estimates.REFERENCE_SPEED)
    assert base == estimates.QUICK_SECONDS["cfg"]
    tripled = estimates.expected_seconds("cfg", 30.0, 10.0, estimates.REFERENCE_SPEED)
    assert 2 * base < tripled < 3 * base  # a fixed share (figures, set-up) does not grow with the work
    assert estimates.expected_seconds("cfg", 10.0, 10.0, estimates.REFERENCE_SPEED / 2) == pytest.approx(2 * base)
    assert estimates.expected_seconds("no-such-demo", 1.0, 1.0, 1.0) is None
    # The benchmark's recalibration inverts it: a run that took exactly the estimate implies the same figure.
    assert estimates.quick_seconds_implied(tripled, 30.0, 10.0, estimates.REFERENCE_SPEED) == pytest.approx(
        estimates.QUICK_SECONDS["cfg"]
    )


@pytest.mark.parametrize("demo", list(DEMOS))
def test_full_presets_are_counted_as_more_work_than_quick_ones(demo):
    module = runner.load(demo)
    work = getattr(module, "work", estimates.work)
    full, quick = work(module.Config()), work(module.Config.quick())
    assert quick > 0
    assert full > quick if hasattr(module.Config(), "epochs") else full >= quick


def test_the_probe_measures_a_positive_speed_and_leaves_the_threads_as_they_were():
    import torch

    threads = torch.get_num_threads()
    assert estimates.probe_gflops("cpu", seconds=0.005) > 0
    assert torch.get_num_threads() == threads


def test_a_busy_machine_or_fewer_threads_mean_a_slower_cpu():
    assert estimates.busy_factor() >= 1
    idle = estimates.speed(100.0, "cpu", 2, 1.0)
    assert estimates.speed(100.0, "cpu", 2, 4.0) == pytest.approx(idle / 4)
    assert estimates.speed(100.0, "cpu", 1, 1.0) < idle
    assert estimates.speed(100.0, "cuda", 1, 4.0) == 100.0  # the load average says nothing about a GPU


@pytest.mark.parametrize(
    ("seconds", "text"), [(7.4, "about 7 s"), (42, "about 40 s"), (600, "about 10 min"), (9000, "about 2.5 h")]
)
def test_estimates_are_worded_as_estimates(seconds, text):
    assert estimates.describe(seconds) == text


def test_a_run_says_its_estimate_first_and_records_it_with_the_actual_time(tmp_path, capsys):
    assert main(["demo", "noise-corruption", *TINY["noise-corruption"], "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    lines = [line for line in out.splitlines() if line.startswith("expected: about ")]
    assert len(lines) == 1 and out.index(lines[0]) < out.index("Results")
    estimate = metrics(only_run(tmp_path, "noise-corruption"))["estimate"]
    assert estimate["expected_seconds"] > 0 and estimate["probe_gflops"] > 0 and estimate["busy_factor"] >= 1
    assert estimate["actual_seconds"] > 0
    assert estimate["work_units"] == pytest.approx(estimate["quick_work_units"])  # the tiny config adds no work
