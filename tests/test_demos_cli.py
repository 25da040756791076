"""`learnapp demo`: listing, options from the config, one-line errors, run folders, Ctrl-C and SIGTERM."""

from __future__ import annotations

import argparse
import importlib.util
import os
import subprocess
import sys
from dataclasses import dataclass, field
from typing import Literal

import pytest
from demo_helpers import TINY, metrics, only_run
from waiting import wait_for

from learnapp.cli import main
from learnapp.demos import DEMOS, runner, runs
from learnapp.demos import config as config_options
from learnapp.errors import UserError


def test_listing_shows_every_demo_with_its_topics():
    code = "from learnapp.cli import main; main(['demo'])"
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env={**os.environ, "COLUMNS": "200"}
    )
    assert done.returncode == 0, done.stderr
    for name in DEMOS:
        assert name in done.stdout
    assert "Diffusion basics" in done.stdout  # the topic that links to noise-corruption


def test_help_lists_the_config_options_with_both_presets(capsys):
    assert main(["demo", "unet-training", "--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())  # argparse wraps lines
    for flag in ("--quick", "--device {auto,cuda,mps,cpu}", "--out DIR", "--seed INT", "--unet-channels N [N ...]"):
        assert flag in text
    assert "--batch-size INT images per step and process (default: 256; --quick: 64)" in text


@pytest.mark.parametrize(
    "argv, message",
    [
        (["demo", "no-such-demo"], "unknown demo 'no-such-demo'"),
        (["demo", "noise-corruption", "--bogus"], "unrecognized arguments: --bogus"),
        (["demo", "unet-training", "--image-size", "30"], "--image-size 30: the UNet halves it 2 times"),
        (
            ["demo", "unet-training", "--image-size", "20", "--unet-channels", "32", "64", "64", "64"],
            "--image-size 20: the UNet halves it 3 times, so it must be a multiple of 8",
        ),
        (["demo", "unet-training", "--batch-size", "0"], "--batch-size 0: must be at least 1"),
        (["demo", "unet-training", "--sampling-steps", "0"], "--sampling-steps 0: must be at least 1"),
        (["demo", "unet-training", "--epochs", "-1"], "--epochs -1: must be at least 1"),
        (["demo", "unet-training", "--sampling-steps", "2000"], "at most --num-train-timesteps"),
        (["demo", "unet-training", "--unet-channels", "12", "24"], "multiples of 8"),
        (["demo", "unet-training", "--batch-size", "many"], "invalid int value: 'many'"),
        (["demo", "unet-training", "--device", "tpu"], "invalid choice: 'tpu'"),
        (["demo", "noise-corruption", "--beta-start", "0.5", "--beta-end", "0.1"], "need 0 < start < end < 1"),
    ],
)
def test_bad_input_is_one_line_and_a_non_zero_exit(capsys, argv, message):
    if argv[1] in TINY:  # were a check missing, the test would run a tiny demo, not the full one
        argv = [*argv[:2], *TINY[argv[1]], *argv[2:]]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("learnapp: error: ") and message in err
    assert err.count("\n") == 1


def test_every_registered_demo_ships_its_module():
    # The registry is read without importing the demos (listing, the deck's links); it must not promise more.
    for name in DEMOS:
        assert importlib.util.find_spec(runner.module_name(name)) is not None, name


def test_asking_for_cuda_without_it_says_so(capsys, monkeypatch):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert main(["demo", "unet-training", *TINY["unet-training"], "--device", "cuda"]) == 2
    err = capsys.readouterr().err
    assert "--device cuda:" in err and "use --device cpu" in err and err.count("\n") == 1


def test_an_unwritable_output_folder_is_a_one_line_error(tmp_path, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    assert main(["demo", "noise-corruption", "--out", str(blocker / "runs")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("learnapp: error: cannot create a run folder") and err.count("\n") == 1


def test_runs_never_overwrite_each_other(tmp_path):
    from datetime import datetime

    moment = datetime(2026, 1, 2, 3, 4, 5)
    folders = [runs.new_run_dir(tmp_path, "demo", moment) for _ in range(3)]
    assert [f.name for f in folders] == ["20260102-030405", "20260102-030405-2", "20260102-030405-3"]


def test_ctrl_c_keeps_what_was_written_and_marks_the_run_incomplete(tmp_path, monkeypatch, capsys):
    module = runner.load("noise-corruption")

    def interrupted(config, out_dir, progress):
        progress("corrupt images", 1, 4)
        (out_dir / "corruption_grid.png").write_bytes(b"partial")
        raise KeyboardInterrupt

    monkeypatch.setattr(module, "run", interrupted)
    assert main(["demo", "noise-corruption", "--out", str(tmp_path)]) == 130
    run = only_run(tmp_path, "noise-corruption")
    record = metrics(run)
    assert record["status"] == "incomplete" and record["error"] == "interrupted"
    assert record["files"] == ["corruption_grid.png"] and (run / "corruption_grid.png").read_bytes() == b"partial"
    assert "Interrupted" in capsys.readouterr().out


def test_sigterm_ends_a_run_like_ctrl_c(tmp_path):
    # A stand-in for the demo's work that writes one file, then waits to be killed.
    code = f"""
import sys, time
from learnapp.cli import main
from learnapp.demos import runner
module = runner.load("noise-corruption")
def slow(config, out_dir, progress):
    progress("corrupt images", 1, 4)
    (out_dir / "corruption_grid.png").write_bytes(b"partial")
    (out_dir.parent / "started").touch()
    time.sleep(60)
module.run = slow
sys.exit(main(["demo", "noise-corruption", "--out", {str(tmp_path)!r}]))
"""
    process = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    started = tmp_path / "noise-corruption" / "started"
    wait_for(lambda: started.exists() or process.poll() is not None, "the demo to start")
    assert started.exists(), process.communicate()
    process.terminate()
    _, err = process.communicate(timeout=30)
    assert process.returncode == 130, err
    assert "Traceback" not in err
    run = next(p for p in (tmp_path / "noise-corruption").iterdir() if p.is_dir())
    record = metrics(run)
    assert record["status"] == "incomplete" and record["error"] == "interrupted"
    assert (run / "corruption_grid.png").read_bytes() == b"partial"


def test_a_failing_demo_is_marked_incomplete_too(tmp_path, monkeypatch):
    module = runner.load("noise-corruption")
    monkeypatch.setattr(module, "run", lambda *args: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        main(["demo", "noise-corruption", "--out", str(tmp_path)])
    record = metrics(only_run(tmp_path, "noise-corruption"))
    assert record["status"] == "incomplete" and record["error"].startswith("ZeroDivisionError")


def test_config_fields_become_options_and_presets_apply():
    module = runner.load("unet-training")
    parser = runner.build_parser("unet-training", module)
    args = parser.parse_args(["--quick", "--unet-channels", "8", "16", "--seed", "7"])
    config = config_options.from_args(module.Config, args, args.quick)
    assert config.unet_channels == (8, 16) and config.seed == 7
    assert config.batch_size == module.Config.quick().batch_size != module.Config().batch_size
    with pytest.raises(UserError):
        parser.parse_args(["--layers-per-block"])


@dataclass
class Example:
    steps: int = field(default=10, metadata={"help": "how many"})
    scale: float = 1.5
    name: str = "a"
    mode: Literal["x", "y"] = "x"
    sizes: tuple[int, ...] = (1, 2)
    ema: bool = False

    @classmethod
    def quick(cls) -> Example:
        return cls(steps=2)


def test_every_field_type_a_config_may_use_has_an_option():
    parser = argparse.ArgumentParser()
    config_options.add_options(parser, Example, Example(), Example.quick())
    args = parser.parse_args(["--scale", "2", "--name", "b", "--mode", "y", "--sizes", "3", "4", "5", "--ema"])
    assert config_options.from_args(Example, args, quick=True) == Example(2, 2.0, "b", "y", (3, 4, 5), True)
    assert config_options.from_args(Example, parser.parse_args(["--no-ema"]), quick=False) == Example()
    assert "how many (default: 10; --quick: 2)" in " ".join(parser.format_help().split())


def test_range_checks_refuse_non_finite_values_a_config_was_built_with():
    # Parsing refuses them first; a config built in code (the app's quick preset, a benchmark) is checked too.
    from types import SimpleNamespace

    for check in (
        lambda c: config_options.at_least(c, 0, "learning_rate"),
        lambda c: config_options.positive(c, "learning_rate"),
    ):
        for value in (float("inf"), float("nan")):
            with pytest.raises(UserError, match=r"--learning-rate .*: must be a finite number"):
                check(SimpleNamespace(learning_rate=value))
