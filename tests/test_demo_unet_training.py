"""unet-training end to end, tiny: its files, falling losses, the saved pipeline."""

from __future__ import annotations

import pytest
import torch

from learnapp.cli import main
from learnapp.demos import DEMOS
from learnapp.demos import unet_training as demo
from learnapp.demos.unets import make_unet2d, parameters

from demo_helpers import TINY, assert_written, metrics, only_run


def test_models_have_the_courses_parameter_counts():
    assert parameters(demo.BasicUNet()) == 309_057
    assert parameters(make_unet2d(demo.Config())) == 1_707_009


def test_basic_unet_keeps_the_image_shape():
    assert demo.BasicUNet()(torch.zeros(2, 1, 28, 28)).shape == (2, 1, 28, 28)


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    base = tmp_path_factory.mktemp("runs")
    with pytest.MonkeyPatch.context() as patch:  # module-scoped: conftest's per-test folders are not set yet
        patch.setenv("LEARNAPP_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
        assert main(["demo", "unet-training", *TINY["unet-training"], "--out", str(base)]) == 0
    return only_run(base, "unet-training")


def test_run_writes_every_figure_and_a_complete_record(tiny_run):
    assert_written(tiny_run, *DEMOS["unet-training"].outputs)
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
