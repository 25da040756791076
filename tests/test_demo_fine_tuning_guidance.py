"""fine-tuning-guidance, tiny: loss guidance on the predicted x0, the DiT sized to the UNet, the training
hook that judges during fine-tuning, the new domains, and the demo end to end sharing cfg's models."""

from __future__ import annotations

import pytest
import torch
from demo_helpers import TINY, assert_written, metrics, only_run

from learnapp.cli import main
from learnapp.demos import DEMOS, data, fine_tuning_guidance, loss_guidance, training
from learnapp.demos.base import no_progress
from learnapp.demos.device import resolve
from learnapp.demos.dit import make_dit, matching_dit
from learnapp.demos.guidance import ddim_scheduler
from learnapp.demos.unets import make_unet2d, parameters

# --- guidance by a loss on the predicted x0 ----------------------------------------------------


class _Output:
    def __init__(self, sample: torch.Tensor):
        self.sample = sample


class _HalfNoise(torch.nn.Module):
    """A stand-in noise predictor, eps = x / 2, that notes whether its input carried a gradient."""

    def __init__(self) -> None:
        super().__init__()
        self.saw_grad: list[bool] = []

    def forward(self, x: torch.Tensor, t: torch.Tensor, class_labels: torch.Tensor) -> _Output:
        assert t.shape == (len(x),)  # one timestep per image, as a DiT needs
        self.saw_grad.append(x.requires_grad)
        return _Output(x / 2)


def _scheduler(steps: int):
    from diffusers import DDPMScheduler

    return ddim_scheduler(DDPMScheduler(num_train_timesteps=100), steps, clip=False)


def _brightness_after(scale: float, window=(0.0, 1.0), through_model=True, model=None) -> float:
    noise = torch.randn(8, 1, 6, 6, generator=torch.Generator().manual_seed(0))
    loss = loss_guidance.brightness_loss(0.9)
    x = loss_guidance.sample(
        model or _HalfNoise(),
        _scheduler(10),
        noise,
        torch.zeros(8, dtype=torch.long),
        loss,
        scale,
        window,
        through_model,
    )
    return loss(x.clamp(-1, 1)).mean().item()


def test_brightness_guidance_brings_the_mean_toward_its_target_more_as_the_scale_grows():
    losses = [_brightness_after(scale) for scale in (0.0, 0.3, 3.0)]
    assert losses[0] > losses[1] > losses[2], losses


def test_the_window_decides_on_which_steps_the_gradient_acts():
    steps = 10
    first = {i for i in range(steps) if loss_guidance.in_window(i, steps, (0.0, 0.5))}
    second = {i for i in range(steps) if loss_guidance.in_window(i, steps, (0.5, 1.0))}
    assert first == set(range(5)) and second == set(range(5, 10))
    model = _HalfNoise()
    _brightness_after(3.0, (0.5, 1.0), model=model)
    assert model.saw_grad == [False] * 5 + [True] * 5  # guided (a gradient through the model) on the late half only


def test_the_shortcut_keeps_the_gradient_out_of_the_model_and_guides_all_the_same():
    model = _HalfNoise()
    shortcut = _brightness_after(3.0, through_model=False, model=model)
    assert not any(model.saw_grad)
    full = _brightness_after(3.0, through_model=True)
    assert shortcut < _brightness_after(0.0) and shortcut != pytest.approx(full)  # eps as a constant: another gradient


def test_classifier_guidance_scores_minus_the_log_probability_of_the_digit():
    judge = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(16, 10))
    x0 = torch.rand(3, 1, 4, 4, generator=torch.Generator().manual_seed(0)) * 2 - 1
    expected = -torch.log_softmax(judge(x0 / 2 + 0.5), dim=1)[:, 7]
    assert torch.allclose(loss_guidance.class_loss(judge, 7)(x0), expected)


# --- the DiT --------------------------------------------------------------------------------


def test_the_dit_matches_the_unets_parameters_and_predicts_noise_through_the_same_call():
    from types import SimpleNamespace

    settings = SimpleNamespace(
        image_size=8,
        unet_channels=(8, 16),
        layers_per_block=1,
        attention=False,
        beta_schedule="linear",
        num_train_timesteps=100,
    )
    unet = make_unet2d(settings, num_class_embeds=11)
    target = parameters(unet)
    dit = matching_dit(target, 8, layers=2, heads=2, classes=10)
    head_dim = dit.config.attention_head_dim
    assert dit.config.patch_size == 2 and dit.config.num_layers == 2 and 2 * head_dim % 4 == 0
    gap = abs(parameters(dit) - target)
    assert gap / target < 0.15  # the nearest of widths 4 apart, at this tiny size
    for other in (head_dim - 2, head_dim + 2):  # the neighbouring widths the position embedding allows
        assert abs(parameters(make_dit(8, 2, 2, other, 10)) - target) >= gap
    x = torch.randn(3, 1, 8, 8, generator=torch.Generator().manual_seed(0))
    out = dit(x, torch.tensor([1, 50, 99]), class_labels=torch.tensor([0, 9, 10])).sample  # 10: the null class
    assert out.shape == x.shape


# --- training, judged after each epoch -------------------------------------------------------


def test_the_epoch_hook_sees_every_epoch_in_eval_mode_off_the_clock(monkeypatch):
    clock = [0.0]
    monkeypatch.setattr(training.time, "perf_counter", lambda: clock[0])
    seen = []

    def hook(epoch: int, model: torch.nn.Module) -> None:
        seen.append((epoch, model.training))
        clock[0] += 100.0  # an evaluation that takes long: not training time

    images = data.ImageSet(torch.zeros(8, 1, 4, 4, dtype=torch.uint8), torch.zeros(8, dtype=torch.long), "zeros")
    model = torch.nn.Conv2d(1, 1, 1)
    modes = []

    def loss(model, images, labels, generator):
        modes.append(model.training)
        return model(images).square().mean()

    _, log = training.train(
        model, loss, images, training.Schedule(3, 4, 1e-3), resolve("cpu"), 0, no_progress, "t", after_epoch=hook
    )
    assert seen == [(1, False), (2, False), (3, False)]
    assert all(modes)  # back in training mode after each evaluation
    assert log.seconds < 100


# --- the new domain --------------------------------------------------------------------------


@pytest.mark.parametrize("domain", ["inverted", "rotated"])
def test_the_judge_sees_new_domain_digits_as_the_digits_they_came_from(domain):
    digits = data.load_images("digits", 8, 6, seed=0)
    moved = fine_tuning_guidance.to_domain(digits, domain)
    assert not torch.equal(moved.images, digits.images)
    assert torch.equal(moved.labels, digits.labels)
    back = fine_tuning_guidance.from_domain(moved.floats(slice(None)), domain)
    assert torch.allclose(back, digits.floats(slice(None)), atol=1e-6)


# --- the demo, end to end ----------------------------------------------------------------------


def test_the_demo_runs_end_to_end_on_cfgs_cached_models(tmp_path):
    out = tmp_path / "runs"
    assert main(["demo", "cfg", *TINY["cfg"], "--out", str(out)]) == 0
    assert main(["demo", "fine-tuning-guidance", *TINY["fine-tuning-guidance"], "--out", str(out)]) == 0
    run = only_run(out, "fine-tuning-guidance")
    assert_written(run, *DEMOS["fine-tuning-guidance"].figures)
    record = metrics(run)
    assert record["status"] == "complete" and record["files"] == list(DEMOS["fine-tuning-guidance"].figures)
    found = record["metrics"]
    assert not found["models"]["unet"]["trained_now"] and not found["models"]["classifier"]["trained_now"]

    tuning = found["finetuning"]
    for name, rate, accumulation in (("fine-tuned", 5e-4, 2), ("from scratch", 2e-3, 1)):
        assert len(tuning[name]["accuracy"]) == 3  # before training and after each of the 2 epochs
        assert tuning[name]["step"] == [0, 2, 4]  # 64 images, batch 32
        assert tuning[name]["learning_rate"] == rate
        assert tuning[name]["gradient_accumulation_steps"] == accumulation

    windows = ["every step", "first half", "second half"]
    for name, scale in (("brightness", 10), ("classifier", 1)):
        rows = found["guidance"][name]
        assert [(r["scale"], r["window"]) for r in rows] == [(0, "unguided")] + [(scale, w) for w in windows]
        assert all(0 <= r["digit_accuracy"] <= 1 and r["diversity"] >= 0 for r in rows)

    unet, dit = found["dit_vs_unet"]["UNet2DModel"], found["dit_vs_unet"]["DiT"]
    assert abs(dit["parameters"] - unet["parameters"]) / unet["parameters"] < 0.15
    assert unet["steps"] == 3 and dit["steps"] >= 1 and dit["patch_size"] == 2


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--guided-digit", "10"], "--guided-digit 10: not a digit class"),
        (["--brightness-target", "1.5"], "--brightness-target 1.5: a pixel value"),
        (["--class-scales", "1", "-2"], "--class-scales -2: a scale must be at least 0"),
        (["--domain", "upside-down"], "invalid choice: 'upside-down'"),
    ],
)
def test_bad_options_are_one_line(capsys, argv, message):
    assert main(["demo", "fine-tuning-guidance", *TINY["fine-tuning-guidance"], *argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("learnapp: error: ") and message in err and err.count("\n") == 1
