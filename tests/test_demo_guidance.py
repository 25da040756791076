"""cfg and ddim-inversion, tiny: the guidance formula, the inversion round trip, both demos end to end
sharing one cached model, and their bad options."""

from __future__ import annotations

import dataclasses
import itertools

import numpy as np
import pytest
import torch
from demo_helpers import TINY, metrics, only_run

from learnapp.cli import main
from learnapp.demos import DEMOS, cache, cfg, conditioning, data, ddim_inversion, guidance, runner
from learnapp.demos.device import resolve
from learnapp.demos.unets import make_unet2d
from learnapp.errors import UserError

# --- the guidance formula ----------------------------------------------------------------------


def test_guide_gives_the_unconditional_prediction_at_0_and_the_conditional_at_1():
    eps_uncond, eps_cond = torch.randn(2, 3, 1, 4, 4, generator=torch.Generator().manual_seed(0)).unbind()
    assert torch.equal(guidance.guide(eps_uncond, eps_cond, 0.0), eps_uncond)
    # u + (c - u) rounds to within an ulp of the larger of |u| and |c|, not of c: an absolute tolerance
    # (rtol alone failed 1 run in 10 on unseeded draws where c was near 0).
    assert torch.allclose(guidance.guide(eps_uncond, eps_cond, 1.0), eps_cond, atol=1e-6)
    # Beyond 1 it extrapolates: s - 1 further steps of (cond - uncond) past the conditional prediction.
    assert torch.allclose(guidance.guide(eps_uncond, eps_cond, 4.0) - eps_cond, 3 * (eps_cond - eps_uncond), atol=1e-6)


@pytest.fixture(scope="module")
def tiny_unet():
    config = runner.config_options.from_args(cfg.Config, _parse("cfg", TINY["cfg"]), quick=False)
    torch.manual_seed(0)
    return make_unet2d(dataclasses.replace(config, attention=False), num_class_embeds=conditioning.CLASSES + 1).eval()


def test_guided_prediction_takes_one_batched_pass_and_mixes_as_the_formula_says(tiny_unet):
    x, t = torch.randn(3, 1, 8, 8, generator=torch.Generator().manual_seed(1)), torch.tensor(40)
    labels = torch.tensor([1, 5, 9])
    with torch.no_grad():
        cond = tiny_unet(x, t, class_labels=labels).sample
        uncond = tiny_unet(x, t, class_labels=torch.full_like(labels, conditioning.CLASSES)).sample
        calls = []
        hook = tiny_unet.register_forward_hook(lambda module, args, out: calls.append(len(args[0])))
        guided = guidance.predict_noise(tiny_unet, x, t, labels, 2.5)
        assert calls == [6]  # conditional and unconditional halves in one forward pass
        assert torch.allclose(guidance.predict_noise(tiny_unet, x, t, labels, 0.0), uncond, atol=1e-5)
        assert torch.allclose(guidance.predict_noise(tiny_unet, x, t, labels, 1.0), cond, atol=1e-5)
        hook.remove()
    assert not torch.allclose(cond, uncond, atol=1e-3)  # the labels do change the prediction
    assert torch.allclose(guided, uncond + 2.5 * (cond - uncond), atol=1e-5)


# --- the inversion round trip ------------------------------------------------------------------


def test_inversion_round_trip_error_shrinks_as_steps_grow():
    # The tiniest model: the exact noise prediction for data drawn from N(0, 0.5^2),
    # eps(x_t, t) = sqrt(1 - a) x_t / (0.25 a + 1 - a) with a = alpha_bar(t). (An untrained UNet is no
    # noise predictor at all, and one trained for seconds adds its own errors.) DDIM's only error is
    # then its step size, so inverting and rebuilding must get better with every increase in steps.
    from diffusers import DDPMScheduler

    training = DDPMScheduler(num_train_timesteps=1000, beta_schedule="squaredcos_cap_v2")
    gaussian = _GaussianOptimum(training.alphas_cumprod, variance=0.25)
    x0 = torch.randn(16, 1, 8, 8, generator=torch.Generator().manual_seed(0)) * 0.5
    labels = torch.zeros(16, dtype=torch.long)
    errors = []
    for steps in (5, 10, 50, 200):
        forward = guidance.ddim_scheduler(training, steps, clip=False)
        inverse = guidance.ddim_inverse_scheduler(training, steps)
        noise = guidance.invert(gaussian, inverse, x0, labels)
        errors.append((guidance.sample(gaussian, forward, noise, labels, 1.0) - x0).square().mean().item())
    assert noise.std().item() > 0.9  # it did reach noise (std 1), where x0 had std 0.5
    assert all(later < earlier for earlier, later in itertools.pairwise(errors)), errors
    assert errors[-1] < errors[0] / 100, errors


class _GaussianOptimum:
    """The best possible noise prediction for Gaussian data, with a UNet's call signature."""

    class config:
        num_class_embeds = 1

    def __init__(self, alpha_bar: torch.Tensor, variance: float):
        self.alpha_bar, self.variance = alpha_bar, variance

    def __call__(self, x: torch.Tensor, t: torch.Tensor, class_labels: torch.Tensor):
        a = self.alpha_bar[int(t)]
        return _Output((1 - a).sqrt() * x / (a * self.variance + 1 - a))


class _Output:
    def __init__(self, sample: torch.Tensor):
        self.sample = sample


# --- held-out digits ---------------------------------------------------------------------------


def test_train_and_test_splits_draw_on_different_scans(monkeypatch):
    # Ten scans whose labels give them away: the test split is the last fifth, scans 8 and 9.
    scans = np.repeat(np.linspace(1, 16, 10, dtype=np.float32)[:, None, None], 64, axis=1).reshape(10, 8, 8)
    monkeypatch.setattr(data, "digit_scans", lambda: (scans, np.arange(10)))
    assert set(data.load_images("digits", 16, 200, seed=0, split="test").labels.tolist()) == {8, 9}
    assert set(data.load_images("digits", 16, 200, seed=0, split="train").labels.tolist()) == set(range(8))
    assert set(data.load_images("digits", 16, 200, seed=0).labels.tolist()) == set(range(10))


def test_mnist_holds_out_its_last_sixth(monkeypatch):
    images = np.arange(12, dtype=np.uint8).repeat(28 * 28).reshape(12, 28, 28)
    monkeypatch.setattr(data, "load_mnist", lambda: (images, np.arange(12) % 10))
    assert data.load_images("mnist", 28, 2, seed=0, split="test").images[:, 0, 0, 0].tolist() == [10, 11]
    assert data.load_images("mnist", 28, 10, seed=0, split="train").images[:, 0, 0, 0].tolist() == list(range(10))
    with pytest.raises(UserError, match="MNIST has 2 images in its test split; asked for 3"):
        data.load_images("mnist", 28, 3, seed=0, split="test")


# --- both demos, end to end, sharing one model -------------------------------------------------


@pytest.fixture(scope="module")
def module_cache(tmp_path_factory):
    return tmp_path_factory.mktemp("cache")


@pytest.fixture(scope="module")
def runs(tmp_path_factory, module_cache):
    """cfg, then ddim-inversion with the same model options: it must find cfg's models in the cache."""
    base = tmp_path_factory.mktemp("runs")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("LEARNAPP_CACHE_DIR", str(module_cache))
        assert main(["demo", "cfg", *TINY["cfg"], "--out", str(base)]) == 0

        def no_training(*args, **kwargs):
            raise AssertionError("ddim-inversion trained although cfg cached the models")

        patch.setattr(conditioning, "train_unet", no_training)
        patch.setattr(conditioning, "train_judge", no_training)
        assert main(["demo", "ddim-inversion", *TINY["ddim-inversion"], "--out", str(base)]) == 0
    return {demo: only_run(base, demo) for demo in ("cfg", "ddim-inversion")}


@pytest.mark.parametrize("demo", ["cfg", "ddim-inversion"])
def test_runs_write_every_declared_output_and_a_complete_record(runs, demo):
    outputs = DEMOS[demo].outputs
    for name in outputs:
        assert (runs[demo] / name).stat().st_size > 5000, name
    record = metrics(runs[demo])
    assert record["status"] == "complete" and record["files"][: len(outputs)] == list(outputs)


def test_cfg_measures_every_scale(runs):
    record = metrics(runs["cfg"])["metrics"]
    assert [row["scale"] for row in record["sweep"]] == [0, 1, 3]
    for row in record["sweep"]:
        assert 0 <= row["accuracy"] <= 1 and len(row["accuracy_per_class"]) == 10
        assert row["diversity"] > 0 and row["frechet_distance"] >= 0
    assert record["accuracy_at_default_scale"] == record["sweep"][2]["accuracy"]
    assert 0.1 < record["classifier_test_accuracy"] <= 1  # it learned something in two epochs
    for scale in (0, 1, 3):
        assert (runs["cfg"] / f"samples_scale_{scale}.png").is_file()
    assert record["models"]["unet"]["trained_now"] and record["models"]["classifier"]["trained_now"]


def test_cfg_compares_the_courses_conditioning_with_num_class_embeds(runs):
    record = metrics(runs["cfg"])["metrics"]
    comparison = record["conditioning"]
    course, plain, guided = comparison["rows"]
    assert (course["model"], plain["model"], guided["model"]) == ("course", "diffusers", "diffusers")
    assert course["guidance_scale"] is None and plain["guidance_scale"] == 1 and guided["guidance_scale"] == 3
    assert plain["accuracy"] == record["sweep"][1]["accuracy"]  # s = 1 of the sweep: the same noise and samples
    assert guided["accuracy"] == record["accuracy_at_default_scale"]
    for row in comparison["rows"]:
        assert 0 <= row["accuracy"] <= 1 and row["frechet_distance"] >= 0 and row["final_loss"] > 0
    # One embedding of 4 per class and 4 more input channels, against 11 vectors added to the timestep embedding.
    assert course["parameters"] != plain["parameters"] == record["models"]["unet"]["parameters"]
    assert record["models"]["course_unet"]["trained_now"]
    assert len(comparison["course"]["epoch_losses"]) == 2  # --epochs 2, as the other UNet


def test_the_courses_model_concatenates_a_4_channel_class_embedding_to_the_image():
    config = runner.config_options.from_args(cfg.Config, _parse("cfg", TINY["cfg"]), quick=False)
    torch.manual_seed(0)
    model = conditioning.CourseConditionedUnet.of(config).eval()
    assert model.model.config.in_channels == 1 + 4 and model.model.conv_in.in_channels == 5
    assert tuple(model.class_emb.weight.shape) == (10, 4)
    assert model.model.config.num_class_embeds is None  # the label goes in through the input only
    x, t = torch.randn(3, 1, 8, 8, generator=torch.Generator().manual_seed(1)), torch.tensor(40)
    seen = []
    hook = model.model.register_forward_pre_hook(lambda module, args: seen.append(args[0]))
    with torch.no_grad():
        out = model(x, t, class_labels=torch.tensor([1, 5, 9])).sample
        other = model(x, t, class_labels=torch.tensor([2, 5, 9])).sample
    hook.remove()
    assert out.shape == (3, 1, 8, 8)
    net_input = seen[0]
    assert net_input.shape == (3, 5, 8, 8) and torch.equal(net_input[:, :1], x)
    # channels 1-4 hold each image's class embedding, the same at every pixel
    assert torch.equal(net_input[:, 1:], model.class_emb.weight[[1, 5, 9]][:, :, None, None].expand(3, 4, 8, 8))
    assert not torch.allclose(out[0], other[0]) and torch.allclose(out[1:], other[1:])
    # scale 1 is the only guidance it takes: it has no null class
    assert torch.equal(guidance.predict_noise(model, x, t, torch.tensor([1, 5, 9]), 1.0), out)


def test_the_courses_model_loads_from_the_cache_as_it_was_saved(tmp_path):
    config = runner.config_options.from_args(cfg.Config, _parse("cfg", TINY["cfg"]), quick=False)
    model = conditioning.CourseConditionedUnet.of(config).eval()
    model.save_pretrained(tmp_path)
    loaded = conditioning.CourseConditionedUnet.from_pretrained(tmp_path, use_safetensors=True).eval()
    x, labels = torch.randn(2, 1, 8, 8, generator=torch.Generator().manual_seed(2)), torch.tensor([3, 7])
    with torch.no_grad():
        assert torch.equal(model(x, 10, class_labels=labels).sample, loaded(x, 10, class_labels=labels).sample)


# --- samplers ----------------------------------------------------------------------------------


def test_ddim_at_eta_0_maps_the_same_noise_to_the_same_image_whatever_the_step_noise(tiny_unet):
    from diffusers import DDPMScheduler

    training = DDPMScheduler(num_train_timesteps=100)
    noise = torch.randn(4, 1, 8, 8, generator=torch.Generator().manual_seed(0))
    labels = torch.tensor([0, 3, 6, 9])

    def run(kind, steps, eta, seed):
        scheduler = guidance.sampler(kind, training, steps)
        return guidance.sample(
            tiny_unet, scheduler, noise, labels, 1.0, eta=eta, generator=torch.Generator().manual_seed(seed)
        )

    assert torch.equal(run("ddim", 5, 0.0, 1), run("ddim", 5, 0.0, 2))
    assert not torch.allclose(run("ddim", 5, 1.0, 1), run("ddim", 5, 1.0, 2), atol=1e-3)
    assert torch.equal(run("ddim", 5, 1.0, 1), run("ddim", 5, 1.0, 1))  # seeded: repeatable all the same
    assert not torch.allclose(run("ddpm", 100, 1.0, 1), run("ddpm", 100, 1.0, 2), atol=1e-3)  # ancestral
    assert torch.equal(run("dpm-solver", 5, 0.0, 1), run("dpm-solver", 5, 0.0, 2))
    assert len(guidance.sampler("ddpm", training, 100).timesteps) == 100


def test_ddim_inversion_compares_samplers_and_measures_determinism(runs):
    record = metrics(runs["ddim-inversion"])["metrics"]
    rows = record["samplers"]["by_sampler"]
    assert [(r["sampler"], r["steps"]) for r in rows] == [
        ("DDPM (all steps)", 100),
        ("DDIM, eta 0", 3),
        ("DDIM, eta 1", 3),
        ("DPM-Solver++", 3),
    ]
    for row in rows:
        assert 0 <= row["accuracy"] <= 1 and row["frechet_distance"] >= 0 and row["seconds"] > 0
    assert record["samplers"]["samples"] == 20  # two per digit
    assert record["same_noise"]["eta_0_max_difference"] == 0
    assert record["same_noise"]["eta_1_max_difference"] > 0.01


def test_ddim_inversion_reuses_the_models_cfg_trained(runs):
    trained = metrics(runs["cfg"])["metrics"]["models"]
    reused = metrics(runs["ddim-inversion"])["metrics"]["models"]
    for model in ("unet", "classifier"):
        assert reused[model]["cache"] == trained[model]["cache"]
        assert not reused[model]["trained_now"]


def test_ddim_inversion_measures_reconstruction_and_both_edits(runs):
    record = metrics(runs["ddim-inversion"])["metrics"]
    assert [row["steps"] for row in record["reconstruction"]] == [2, 5]
    for row in record["reconstruction"]:
        assert row["mse"] > 0 and row["psnr"] > 0
    (edit,) = record["edit"]["by_start_step"]
    assert edit["start_step"] == 2 and edit["timestep"] == 25  # step 2 of 4 over T = 100: t = 25
    for method in ("inversion", "img2img"):
        assert edit[method]["mse_to_source"] > 0 and 0 <= edit[method]["target_accuracy"] <= 1


def test_retrain_trains_again_into_the_same_cache_entry(module_cache, monkeypatch, tmp_path):
    monkeypatch.setenv("LEARNAPP_CACHE_DIR", str(module_cache))
    trained = []
    original = conditioning.train_judge
    monkeypatch.setattr(conditioning, "train_judge", lambda *a, **k: trained.append(1) or original(*a, **k))
    config = runner.config_options.from_args(cfg.Config, _parse("cfg", [*TINY["cfg"], "--retrain"]), quick=False)
    runtime = resolve("cpu")
    before = cache.entry(conditioning.CLASSIFIER_KIND, conditioning.judge_settings(config))
    models = conditioning.pretrained_models(config, runtime, lambda *a: None)
    assert trained == [1] and models.training["classifier"]["cache"] == str(before.path)
    assert not list(cache.models_dir().glob("*.tmp-*"))  # nothing half-written left behind


def test_the_cache_keys_leave_out_what_does_not_change_the_weights():
    config = runner.config_options.from_args(cfg.Config, _parse("cfg", TINY["cfg"]), quick=False)
    inversion = runner.config_options.from_args(
        ddim_inversion.Config, _parse("ddim-inversion", TINY["ddim-inversion"]), quick=False
    )
    for settings in (conditioning.unet_settings, conditioning.judge_settings):
        assert settings(config) == settings(inversion)  # both demos find the same models
    changed = dataclasses.replace(config, classifier_epochs=5, guidance_scale=0.0, samples_per_class=9, device="auto")
    assert conditioning.unet_settings(changed) == conditioning.unet_settings(config)
    assert conditioning.judge_settings(changed) != conditioning.judge_settings(config)
    assert conditioning.judge_settings(dataclasses.replace(config, label_dropout=0.3)) == conditioning.judge_settings(
        config
    )


# --- bad options -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "demo, extra, message",
    [
        (
            "cfg",
            ["--guidance-scales", "0", "-2", "--guidance-scale", "0"],
            "--guidance-scales -2: a scale must be at least 0",
        ),
        ("cfg", ["--guidance-scales"], "expected at least one argument"),
        ("cfg", ["--guidance-scale", "5"], "--guidance-scale 5: must be one of --guidance-scales 0 1 3"),
        ("cfg", ["--samples-per-class", "1"], "--samples-per-class 1: must be at least 2"),
        ("cfg", ["--label-dropout", "0"], "--label-dropout 0.0: must be between 0 and 1"),
        ("cfg", ["--eta", "1.5"], "--eta 1.5: must be between 0 and 1"),
        ("cfg", ["--image-size", "5"], "--image-size 5: the UNet halves it 1 times"),
        ("ddim-inversion", ["--inversion-steps", "0"], "--inversion-steps 0: must be at least 1"),
        ("ddim-inversion", ["--inversion-steps", "3"], "--inversion-steps 3: must divide --num-train-timesteps (100)"),
        ("ddim-inversion", ["--edit-steps", "5"], "--edit-steps 5: must be between 1 and --sampling-steps (4)"),
        ("ddim-inversion", ["--edit-steps", "0"], "--edit-steps 0: must be between 1 and --sampling-steps (4)"),
        ("ddim-inversion", ["--edit-to", "12"], "--edit-to 12: not a digit class (0-9)"),
        ("ddim-inversion", ["--edit-from", "-1"], "--edit-from -1: not a digit class (0-9)"),
        ("ddim-inversion", ["--edit-from", "8"], "--edit-to 8: the same digit as --edit-from"),
    ],
)
def test_bad_options_are_one_line_errors(capsys, demo, extra, message):
    assert main(["demo", demo, *TINY[demo], *extra]) == 2
    err = capsys.readouterr().err
    assert err.startswith("learnapp: error: ") and message in err, err
    assert err.count("\n") == 1


def _parse(demo: str, argv: list[str]):
    return runner.build_parser(demo, runner.load(demo)).parse_args(argv)
