"""unet-training end to end, tiny: its files, falling losses, the judge's figures, what the models predict,
the saved pipeline."""

from __future__ import annotations

import pytest
import torch
from demo_helpers import TINY, assert_written, metrics, only_run

from learnapp.cli import main
from learnapp.demos import DEMOS
from learnapp.demos import unet_training as demo
from learnapp.demos.device import resolve
from learnapp.demos.sampling import denoise
from learnapp.demos.unets import make_scheduler, make_unet2d, parameters


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
    outputs = DEMOS["unet-training"].outputs
    assert {"predicted_x0.png", "loss_by_noise_level.png", "denoising_unet2d.gif", "denoising_basic_unet.gif"} <= set(
        outputs
    )
    assert_written(tiny_run, *outputs)
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
    # --no-attention reaches the model: the quick preset's UNet once kept its attention blocks regardless
    assert pipeline.unet.config.down_block_types == ["DownBlock2D", "DownBlock2D"]
    images = pipeline(
        batch_size=2, num_inference_steps=3, generator=torch.Generator().manual_seed(0), output_type="np"
    ).images
    assert images.shape == (2, 8, 8, 1) and images.min() >= 0 and images.max() <= 1


def test_the_judge_scores_samples_and_real_digits(tiny_run):
    record = metrics(tiny_run)["metrics"]
    real = record["judge"]["real_digits_confident_share"]
    assert 0 <= real <= 1 and record["judge"]["real_digits"] == 64
    assert record["judge"]["classifier"]["trained_now"]  # the test's cache started empty
    for model in ("basic_unet", "unet2d"):
        share = record[model]["confident_share"]
        assert 0 <= share <= 1
        ratio = record[model]["confident_share_vs_real"]
        assert ratio == pytest.approx(share / real) if real else ratio is None


def test_loss_by_noise_level_covers_every_level(tiny_run):
    record = metrics(tiny_run)["metrics"]
    basic, unet = record["basic_unet"]["loss_by_noise_level"], record["unet2d"]["loss_by_noise_level"]
    assert len(basic["amount"]) == len(basic["x0_mse"]) == demo.NOISE_LEVELS
    assert len(unet["t"]) == len(unet["eps_mse"]) == len(unet["x0_mse"]) == demo.NOISE_LEVELS
    assert unet["t"] == sorted(unet["t"]) and unet["t"][-1] < 50  # T = 50 in the tiny config
    # Heavier corruption leaves less of the image to recover: the BasicUNet's error grows with the amount.
    assert basic["x0_mse"][-1] > basic["x0_mse"][0]


def test_the_course_figures_are_recorded(tiny_run):
    course = metrics(tiny_run)["metrics"]["course"]
    assert course["basic_unet"]["epoch_losses"] == [0.0267, 0.0207, 0.0189]
    assert course["unet2d"]["epoch_losses"] == [0.0189, 0.0128, 0.0117]
    assert course["unet2d"]["parameters"] == parameters(make_unet2d(demo.Config()))


def test_gifs_show_the_predicted_x0_beside_x_t(tiny_run):
    from PIL import Image

    with Image.open(tiny_run / "denoising_unet2d.gif") as gif:
        width = gif.size[0]
    # Four 8x8 samples tile to 22 pixels a side; x_t and the prediction side by side, a divider between, times 3.
    assert width == 3 * (22 + 6 + 22)


@pytest.mark.parametrize("sampler", ["ddpm", "ddim"])
def test_trajectories_keep_a_prediction_of_x0_that_differs_from_x_t(sampler):
    config = demo.Config(
        image_size=8,
        unet_channels=(8, 16),
        layers_per_block=1,
        num_train_timesteps=20,
        sampler=sampler,
        sampling_steps=4,
    )
    torch.manual_seed(0)
    unet = make_unet2d(config).eval()
    scheduler, options = demo._sampler(make_scheduler(config), config)
    runtime = resolve("cpu")
    _, trajectory = denoise(unet, scheduler, 3, 4, torch.Generator().manual_seed(0), runtime, step_options=options)
    _, basic_trajectory = demo.sample_basic_unet(
        demo.BasicUNet().eval(), 3, 8, 4, torch.Generator().manual_seed(0), runtime
    )
    for kept in (trajectory, basic_trajectory):
        assert kept.predicted[0] is None  # the starting noise: nothing predicted yet
        pairs = list(zip(kept.frames[1:], kept.predicted[1:], strict=True))
        assert len(pairs) == 4
        for x_t, x0 in pairs[:-1]:  # before the end, x_t still carries noise the prediction has not
            assert x0.shape == x_t.shape and x0.min() >= 0 and x0.max() <= 1
            assert not torch.allclose(x0, x_t, atol=1e-3)


def test_min_snr_weights_each_images_error_by_min_snr_and_gamma_over_snr():
    from types import SimpleNamespace

    from learnapp.demos.noising import noise_loss

    scheduler = make_scheduler(demo.Config(num_train_timesteps=50, sampling_steps=50, beta_schedule="linear"))
    images = torch.rand(6, 1, 4, 4)

    def predicts_zero(x, t):  # every image's error is then its own noise's mean square
        return SimpleNamespace(sample=torch.zeros_like(x))

    def drawn(seed):  # the noise and timesteps the loss draws, in its order
        generator = torch.Generator().manual_seed(seed)
        noise = torch.randn(images.shape, generator=generator)
        return noise, torch.randint(0, 50, (6,), generator=generator)

    noise, t = drawn(3)
    per_image = (noise**2).mean(dim=(1, 2, 3))
    snr = scheduler.alphas_cumprod[t] / (1 - scheduler.alphas_cumprod[t])
    plain = noise_loss(scheduler)(predicts_zero, images, torch.zeros(6), torch.Generator().manual_seed(3))
    assert torch.allclose(plain, per_image.mean())
    for gamma in (0.5, 5.0, 1e9):
        weighted = noise_loss(scheduler, gamma)(predicts_zero, images, torch.zeros(6), torch.Generator().manual_seed(3))
        expected = (per_image * snr.clamp(max=gamma) / snr).mean()
        assert torch.allclose(weighted, expected), gamma
    assert noise_loss(scheduler, 1e9)(predicts_zero, images, None, torch.Generator().manual_seed(3)) == pytest.approx(
        plain.item()
    )
    assert snr.max() > 5  # some of the drawn timesteps were weighted down


def test_the_loss_table_keeps_every_step_of_the_longer_training(tmp_path):
    from learnapp.demos.training import TrainLog

    basic = TrainLog([0.5, 0.4], [0.45], 128, 1.0, 128.0)
    unet = TrainLog([0.9, 0.8, 0.7, 0.6], [0.75], 256, 1.0, 256.0)
    path = demo._loss_table(basic, unet, tmp_path / "losses.csv")
    rows = path.read_text(encoding="utf-8").splitlines()
    assert rows[0] == "step,basic_unet_x0_mse,unet2d_eps_mse"
    assert rows[1:] == ["1,0.500000,0.900000", "2,0.400000,0.800000", "3,,0.700000", "4,,0.600000"]
