"""The demos' part of the adversarial drill: every option of every demo with values no demo can take,
special `--out` paths, bad audio files, damaged cached models, a device that is not there.

Each case must end as one `learnapp: error: ...` line naming the problem, exit status 2, no
traceback, in bounded time, with nothing written. The options come from each demo's `Config`
dataclass, so a new option is drilled without touching this file. Every case starts from the
demo's tiny test config: were a check missing, a tiny run would start, not a full one. Most
cases run in this process (`main(argv)`, a timer bounds each); a few run `python -m
learnapp.cli` itself, under a subprocess timeout, for the real exit status and stderr.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import signal
import subprocess
import sys
import typing
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pytest
import soundfile
from demo_helpers import TINY

from learnapp.cli import main
from learnapp.demos import DEMOS, cache, conditioning, runner, runs, unets
from learnapp.demos import config as config_options

SECONDS = 60  # per case: far beyond what a refusal takes, far below a hang

# Bad values by the kind of option, as `--option=VALUE` (so that "-1" and "-inf" are values, not flags).
BAD_NUMBER = [
    ("text", "abc"),
    ("below-range", "-1"),
    ("inf", "inf"),
    ("minus-inf", "-inf"),
    ("nan", "nan"),
    ("empty", ""),
]
BAD_VALUES: dict[str, list[tuple[str, str]]] = {
    "int": [*BAD_NUMBER, ("fraction", "1.5"), ("huge", "1" + "0" * 30)],
    "float": BAD_NUMBER,
    "str": [("empty", ""), ("blank", "  ")],
    "choice": [("unknown", "bogus"), ("empty", ""), ("number", "1")],
    "bool": [("value", "yes"), ("empty", "")],
}


def kind_of(hint: Any) -> str:
    if hint is bool:
        return "bool"
    if typing.get_origin(hint) is Literal:
        return "choice"
    if typing.get_origin(hint) is tuple:
        return kind_of(typing.get_args(hint)[0])
    return hint.__name__


def option_cases() -> Iterator[Any]:
    for demo in DEMOS:
        config = runner.load(demo).Config
        hints = typing.get_type_hints(config)
        for field in dataclasses.fields(config):
            flag = config_options.option(field.name)
            for name, value in BAD_VALUES[kind_of(hints[field.name])]:
                yield pytest.param(demo, flag, value, id=f"{demo} {flag} {name}")


def snapshot(root: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns) for p in root.rglob("*")}


@contextlib.contextmanager
def deadline(seconds: float) -> Iterator[None]:
    def expire(signum: int, frame: object) -> None:
        raise TimeoutError(f"still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def one_line_error(err: str) -> str:
    assert "Traceback" not in err, err
    assert err.startswith("learnapp: error: ") and err.count("\n") == 1, err
    return err


@pytest.fixture
def refused(isolated_dirs, capsys):
    """Run `learnapp demo DEMO <tiny config> ARGS --out <home>/runs` here; return its error line, having
    checked the exit status, the one line, and that nothing under the home folder changed."""

    def run(demo: str, *args: str, changes: bool = False) -> str:
        before = snapshot(isolated_dirs)
        with deadline(SECONDS):
            code = main(["demo", demo, *TINY[demo], "--out", str(isolated_dirs / "runs"), *args])
        captured = capsys.readouterr()
        assert code == 2, captured.out[-2000:]
        if not changes:
            assert snapshot(isolated_dirs) == before
        return one_line_error(captured.err)

    return run


# --- every option ------------------------------------------------------------------------------


@pytest.mark.parametrize("demo, flag, value", option_cases())
def test_a_bad_option_value_is_refused_naming_the_option(refused, demo, flag, value):
    assert flag in refused(demo, f"{flag}={value}")


def test_the_drill_covers_every_option_of_every_demo():
    covered = {(p.values[0], p.values[1]) for p in option_cases()}
    for demo in DEMOS:
        for field in dataclasses.fields(runner.load(demo).Config):
            assert (demo, config_options.option(field.name)) in covered
    assert len(covered) > 90  # five demos, twenty-odd options each


def test_a_learning_rate_that_diverges_stops_with_the_reason(refused, isolated_dirs):
    # Finite and positive, so a valid option; the training says what went wrong instead of writing NaN figures.
    err = refused("unet-training", "--learning-rate", "1e12", changes=True)
    assert "training diverged" in err and "--learning-rate" in err
    (run,) = runs.runs_of(isolated_dirs / "runs", "unet-training")
    assert runs.run_status(runs.read_record(run)) == "incomplete"


# --- where the run goes ------------------------------------------------------------------------


def special_outs(home: Path) -> dict[str, Path]:
    a_file = home / "notes.txt"
    a_file.write_text("mine")
    locked = home / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    store = home / "data" / "progress.sqlite3"
    store.parent.mkdir()
    store.write_bytes(b"SQLite format 3\x00" + bytes(4080))
    return {
        "proc": Path("/proc/x"),
        "a file": a_file,
        # root writes into a read-only folder anyway; /sys refuses even root
        "not writable": locked if not os.access(locked, os.W_OK) else Path("/sys"),
        "the progress store": store,
    }


@pytest.mark.parametrize("place", ["proc", "a file", "not writable", "the progress store"])
def test_an_out_folder_that_cannot_hold_runs_is_refused(refused, isolated_dirs, place):
    out = special_outs(isolated_dirs)[place]
    before = snapshot(isolated_dirs)
    err = refused("noise-corruption", "--out", str(out))
    assert "cannot create a run folder" in err and str(out) in err
    assert snapshot(isolated_dirs) == before
    if place == "the progress store":
        assert out.read_bytes().startswith(b"SQLite format 3")


# --- audio files -------------------------------------------------------------------------------


def write_audio(folder: Path, name: str) -> Path:
    wav = folder / "real.wav"
    soundfile.write(wav, 0.5 * np.sin(np.arange(22050) / 5), 22050)
    png = b"\x89PNG\r\n\x1a\n" + bytes(200)
    contents = {
        "empty.wav": b"",
        "truncated.wav": wav.read_bytes()[:30],  # cut inside its header
        "garbage.wav": np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes(),
        "picture.wav": png,  # the wrong kind of file under an audio name
        "notes.mp3": b"not audio at all\n",
    }
    if name == "a device":
        return Path("/dev/zero")  # endless: it must be refused, not read
    path = folder / name
    if name == "a folder":
        path.mkdir()
    elif name != "missing.wav":
        path.write_bytes(contents[name])
    return path


@pytest.mark.parametrize(
    "name",
    ["empty.wav", "truncated.wav", "garbage.wav", "picture.wav", "notes.mp3", "a folder", "a device", "missing.wav"],
)
def test_a_bad_audio_file_is_refused_before_a_run_starts(refused, tmp_path, name):
    path = write_audio(tmp_path, name)
    assert f"--audio {path}" in refused("audio-spectrograms", "--audio", str(path))


# --- damaged cached models ---------------------------------------------------------------------


def guided_entries() -> tuple[cache.Entry, cache.Entry, Any]:
    """The cache entries cfg's tiny config looks for (ddim-inversion's, too), and that config."""
    module = runner.load("cfg")
    args = runner.build_parser("cfg", module).parse_args(TINY["cfg"])
    config = config_options.from_args(module.Config, args, quick=False)
    return (
        cache.entry(conditioning.UNET_KIND, conditioning.unet_settings(config)),
        cache.entry(conditioning.CLASSIFIER_KIND, conditioning.judge_settings(config)),
        config,
    )


def store_untrained(entry: cache.Entry, config: Any) -> None:
    """A loadable entry without any training: freshly initialised weights, saved as a run would."""
    from diffusers import DDPMPipeline

    from learnapp.demos.classifier import DigitClassifier

    if entry.kind == conditioning.UNET_KIND:
        unet = unets.make_unet2d(config, num_class_embeds=conditioning.CLASSES + 1)
        entry.store(DDPMPipeline(unet=unet, scheduler=unets.make_scheduler(config)), {"seconds": 0})
    else:
        entry.store(DigitClassifier(), {"seconds": 0})


DAMAGES = {
    "info garbage": ("unet", "learnapp.json", b"\x00\xff not json"),
    "info empty": ("unet", "learnapp.json", b""),
    "weights truncated": ("unet", "unet/diffusion_pytorch_model.safetensors", None),
    "weights garbage": ("unet", "unet/diffusion_pytorch_model.safetensors", bytes(range(256)) * 8),
    "config cut": ("unet", "unet/config.json", b'{"block_out_channels": ['),
    "index missing": ("unet", "model_index.json", "delete"),
    "classifier weights garbage": ("classifier", "diffusion_pytorch_model.safetensors", b"\x00" * 64),
    "classifier config garbage": ("classifier", "config.json", b"[1, 2"),
}


@pytest.mark.parametrize("demo", ["cfg", "ddim-inversion"])
@pytest.mark.parametrize("damage", list(DAMAGES))
def test_a_damaged_cached_model_is_one_line_naming_it(refused, isolated_dirs, demo, damage):
    unet_entry, judge_entry, config = guided_entries()
    for entry in (unet_entry, judge_entry):
        store_untrained(entry, config)
    which, name, content = DAMAGES[damage]
    damaged = (unet_entry if which == "unet" else judge_entry).path / name
    if content is None:
        damaged.write_bytes(damaged.read_bytes()[:100])
    elif content == "delete":
        damaged.unlink()
    else:
        damaged.write_bytes(content)
    cached = snapshot(cache.models_dir())
    err = refused(demo, changes=True)  # the run folder it started is kept, marked incomplete
    assert "is damaged" in err and "--retrain" in err
    assert str(unet_entry.path if which == "unet" else judge_entry.path) in err
    assert snapshot(cache.models_dir()) == cached  # left for the learner to look at or retrain
    (run,) = runs.runs_of(isolated_dirs / "runs", demo)
    assert runs.run_status(runs.read_record(run)) == "incomplete"


# --- the real command, in its own process ------------------------------------------------------


def test_the_command_itself_exits_2_with_one_line(tmp_path, isolated_dirs):
    """`python -m learnapp.cli` as a learner runs it, several at once (each is mostly torch's import)."""
    cases = {
        "inf": (["unet-training", *TINY["unet-training"], "--learning-rate", "inf"], "--learning-rate"),
        "proc": (["noise-corruption", *TINY["noise-corruption"], "--out", "/proc/x"], "/proc/x"),
        "cuda": (["unet-training", *TINY["unet-training"], "--device", "cuda"], "--device cuda"),
        # a valid count whose images do not fit in memory; its own process, in case an allocator says yes
        "memory": (
            ["noise-corruption", *TINY["noise-corruption"], "--images", "2000000000", "--out", str(tmp_path / "runs")],
            "out of memory",
        ),
    }
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": ""}  # a GPU machine without a visible GPU, too
    before = snapshot(isolated_dirs)
    started = {
        name: subprocess.Popen(
            [sys.executable, "-m", "learnapp.cli", "demo", *argv],
            env=env,
            text=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for name, (argv, _) in cases.items()
    }
    for name, process in started.items():
        try:
            _, err = process.communicate(timeout=120)
        finally:
            process.kill()
        assert process.returncode == 2, (name, err)
        assert cases[name][1] in one_line_error(err), name
    assert snapshot(isolated_dirs) == before
