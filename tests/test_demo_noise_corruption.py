"""noise-corruption end to end, tiny: its files, and what its numbers must say."""

from __future__ import annotations

import torch
from demo_helpers import TINY, assert_written, metrics, only_run

from learnapp.cli import main
from learnapp.demos import DEMOS
from learnapp.demos.noising import corrupt


def test_corrupt_is_the_courses_uniform_mix():
    x = torch.full((2, 1, 2, 2), 0.8)
    noise = torch.full((2, 1, 2, 2), 0.2)
    mixed = corrupt(x, torch.tensor([0.0, 0.25]), noise)
    assert torch.allclose(mixed[0], x[0]) and torch.allclose(mixed[1], torch.full((1, 2, 2), 0.65))


def test_run_writes_its_figures_and_the_schedules_differ_as_they_should(tmp_path, capsys):
    assert main(["demo", "noise-corruption", *TINY["noise-corruption"], "--out", str(tmp_path)]) == 0
    run = only_run(tmp_path, "noise-corruption")
    assert_written(run, *DEMOS["noise-corruption"].outputs)
    record = metrics(run)
    assert record["status"] == "complete" and record["config"]["levels"] == 3
    assert set(record["timings"]) >= {"corrupt images", "total"}
    assert record["versions"]["torch"] == torch.__version__
    survival = record["metrics"]["correlation_with_original"]
    for values in survival.values():
        assert values[0] > 0.99 and values[-1] < 0.3  # clean at the start, (nearly) noise at the end
    # Half way, the cosine schedule keeps more of the image than the linear one.
    assert survival["cosine"][1] > survival["linear"][1]
    crossing = record["metrics"]["snr_equals_one_at_timestep"]
    assert crossing["linear"] < crossing["cosine"]
    assert str(run) in capsys.readouterr().out.replace("\n", "")  # where the results are
