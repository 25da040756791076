"""unet-training end to end, tiny: its files, falling losses, the saved pipeline, the model cache."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from learnapp.cli import main
from learnapp.demos import DEMOS, cache, runner
from learnapp.demos import config as config_options
from learnapp.demos import unet_training as demo

from demo_helpers import TINY, metrics, only_run


def test_models_have_the_courses_parameter_counts():
    assert demo.parameters(demo.BasicUNet()) == 309_057
    assert demo.parameters(demo.make_unet2d(demo.Config())) == 1_707_009


def test_basic_unet_keeps_the_image_shape():
    assert demo.BasicUNet()(torch.zeros(2, 1, 28, 28)).shape == (2, 1, 28, 28)


@pytest.fixture(scope="module")
def module_cache(tmp_path_factory):
    """One model cache for the tests of this module (conftest gives each test its own)."""
    return tmp_path_factory.mktemp("cache")


@pytest.fixture
def tiny_run(tiny_run_once, module_cache, monkeypatch):
    monkeypatch.setenv("LEARNAPP_CACHE_DIR", str(module_cache))
    return tiny_run_once


@pytest.fixture(scope="module")
def tiny_run_once(tmp_path_factory, module_cache):
    base = tmp_path_factory.mktemp("runs")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("LEARNAPP_CACHE_DIR", str(module_cache))
        assert main(["demo", "unet-training", *TINY["unet-training"], "--out", str(base)]) == 0
    return only_run(base, "unet-training")


def test_run_writes_every_figure_and_a_complete_record(tiny_run):
    for name in (
        *DEMOS["unet-training"].figures,
        "training_data.png",
        "denoising_unet2d.gif",
        "denoising_basic_unet.gif",
    ):
        assert (tiny_run / name).stat().st_size > 1000, name
    record = metrics(tiny_run)
    assert record["status"] == "complete" and record["device"]["device"] == "cpu"
    assert {"train BasicUNet", "train UNet2DModel", "sample UNet2DModel", "total"} <= set(record["timings"])
    for model in ("basic_unet", "unet2d"):
        assert record["metrics"][model]["images"] == 2 * 256
        assert record["metrics"][model]["images_per_second"] > 0


def test_both_losses_fall(tiny_run):
    for model in ("basic_unet", "unet2d"):
        first, last = metrics(tiny_run)["metrics"][model]["epoch_losses"]
        assert last < 0.8 * first, (model, first, last)


def test_saved_pipeline_loads_and_samples(tiny_run):
    from diffusers import DDPMPipeline

    pipeline = DDPMPipeline.from_pretrained(tiny_run / "unet2d-pipeline")
    assert pipeline.unet.config.block_out_channels == [8, 16]
    images = pipeline(
        batch_size=2, num_inference_steps=3, generator=torch.Generator().manual_seed(0), output_type="np"
    ).images
    assert images.shape == (2, 8, 8, 1) and 0 <= images.min() and images.max() <= 1


def test_cached_model_is_reused_until_retrain(tiny_run, monkeypatch):
    module = runner.load("unet-training")
    args = runner.build_parser("unet-training", module).parse_args(TINY["unet-training"])
    config = config_options.from_args(module.Config, args, quick=False)
    entry = cache.entry(demo.CACHE_KIND, demo.cache_settings(config))
    assert entry.exists() and entry.info()["settings"]["unet_channels"] == [8, 16]

    def no_training(*args, **kwargs):
        raise AssertionError("trained although the cache has the model")

    monkeypatch.setattr(demo, "train_unet2d", no_training)
    pipeline, found = demo.pretrained_pipeline(dataclasses.replace(config, samples=1))  # sampling is not in the key
    assert found.path == entry.path and pipeline.unet.config.sample_size == 8

    trained = []
    monkeypatch.undo()
    original = demo.train_unet2d
    monkeypatch.setattr(demo, "train_unet2d", lambda *a, **k: trained.append(1) or original(*a, **k))
    demo.pretrained_pipeline(config, retrain=True)
    assert trained == [1] and entry.exists()
    assert not list(cache.models_dir().glob("*.tmp-*"))  # nothing half-written left behind
