"""latent-diffusion end to end, tiny: its files and measurements, the saved StableDiffusionPipeline,
the size the pipeline refuses, the cache; and the captions and tokenizer it is trained with."""

from __future__ import annotations

import json

import pytest
import torch
from demo_helpers import TINY, assert_written, metrics, only_run

from learnapp.cli import main
from learnapp.demos import DEMOS, data, text
from learnapp.demos import latent_diffusion as demo


@pytest.fixture(scope="module")
def tiny_runs(tmp_path_factory):
    """The tiny config run twice on one cache: the first trains, the second loads what it stored."""
    base = tmp_path_factory.mktemp("runs")
    with pytest.MonkeyPatch.context() as patch:  # module-scoped: conftest's per-test folders are not set yet
        patch.setenv("LEARNAPP_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
        patch.setenv("HF_HUB_OFFLINE", "1")
        assert main(["demo", "latent-diffusion", *TINY["latent-diffusion"], "--out", str(base / "first")]) == 0
        assert main(["demo", "latent-diffusion", *TINY["latent-diffusion"], "--out", str(base / "again")]) == 0
    return only_run(base / "first", "latent-diffusion"), only_run(base / "again", "latent-diffusion")


def test_run_writes_every_figure_and_measures_the_parts(tiny_runs):
    run, _ = tiny_runs
    assert_written(run, *DEMOS["latent-diffusion"].figures)
    record = metrics(run)
    assert record["status"] == "complete" and record["files"][:5] == list(DEMOS["latent-diffusion"].figures)
    measured = record["metrics"]
    vae = measured["vae"]
    assert vae["image_shape"] == [1, 16, 16] and vae["latent_shape"] == [2, 4, 4]
    assert vae["pixel_values_per_latent_value"] == 8 and vae["factor_per_side"] == 4
    assert vae["scaling_factor"] == pytest.approx(1 / vae["latent_std"], rel=0.2)  # from training, not test, latents
    assert 0.7 < vae["scaled_latent_std"] < 1.3
    cost = measured["step_cost"]
    assert cost["pixel"]["gflops"] > 8 * cost["latent"]["gflops"] > 0  # 16x fewer positions, a few more channels
    assert [row["scale"] for row in measured["guidance_sweep"]] == [1, 3]
    assert all(0 <= row["accuracy"] <= 1 and row["diversity"] > 0 for row in measured["guidance_sweep"])
    assert [row["negative_prompt"] for row in measured["prompts"]] == ["", "", "", "a thin {d}", "a thick {d}", "a {d}"]
    assert [row["denoising_steps"] for row in measured["img2img"]] == [1, 3]
    assert measured["text_encoding"]["tokens"][:5] == [
        "<|startoftext|>",
        "a</w>",
        "thick</w>",
        "slanted</w>",
        "seven</w>",
    ]
    assert measured["text_encoding"]["hidden_shape"] == [1, demo.PROMPT_LENGTH, 16]
    assert set(measured["text_dependence"]) == {"right", "shuffled", "empty"}


def test_a_size_that_is_no_multiple_of_the_vae_factor_is_refused_by_the_pipeline(tiny_runs):
    errors = metrics(tiny_runs[0])["metrics"]["size_errors"]
    assert set(errors) == {"18x18", "20x20"}  # 16 + 2 is no multiple of the VAE's 4; 16 + 4 is, but not of 8
    assert all("have to be divisible by 8" in message for message in errors.values())


def test_the_saved_pipeline_loads_with_from_pretrained_and_follows_the_api(tiny_runs):
    from diffusers import AutoencoderKL, StableDiffusionPipeline, UNet2DConditionModel
    from transformers import CLIPTextModel, CLIPTokenizer

    pipe = StableDiffusionPipeline.from_pretrained(tiny_runs[0] / "sd-pipeline")
    assert isinstance(pipe.vae, AutoencoderKL) and isinstance(pipe.unet, UNet2DConditionModel)
    assert isinstance(pipe.text_encoder, CLIPTextModel) and isinstance(pipe.tokenizer, CLIPTokenizer)
    assert pipe.safety_checker is None
    assert pipe.unet.config.cross_attention_dim == pipe.text_encoder.config.hidden_size == 16
    pipe.set_progress_bar_config(disable=True)
    images = pipe(
        ["a thick seven", "a one"],
        num_inference_steps=2,
        guidance_scale=3.0,
        output_type="pt",
        generator=torch.Generator().manual_seed(0),
    ).images
    assert images.shape == (2, 1, 16, 16) and images.min() >= 0 and images.max() <= 1
    with pytest.raises(ValueError, match="divisible by 8"):
        pipe("a one", height=18, width=18, num_inference_steps=1)


def test_a_second_run_loads_the_cached_models_instead_of_training(tiny_runs):
    first, again = (metrics(run)["metrics"]["models"] for run in tiny_runs)
    assert first["pipeline"]["trained_now"] and first["vae"]["trained_now"]
    assert not again["pipeline"]["trained_now"] and "vae" not in again  # the pipeline holds the VAE
    assert again["pipeline"]["epoch_losses"] == first["pipeline"]["epoch_losses"]
    assert (
        metrics(tiny_runs[1])["metrics"]["vae"]["scaling_factor"]
        == metrics(tiny_runs[0])["metrics"]["vae"]["scaling_factor"]
    )


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--image-size", "20"], "--image-size 20: StableDiffusionPipeline takes multiples of 8 only"),
        (["--strengths", "0.2", "--sampling-steps", "4"], "img2img would run int(4 x 0.2) = 0 steps"),
    ],
)
def test_options_the_pipelines_cannot_take_are_refused_before_training(capsys, argv, message):
    assert main(["demo", "latent-diffusion", *TINY["latent-diffusion"], *argv]) == 2
    assert message in capsys.readouterr().err


# --- captions and the tokenizer ----------------------------------------------------------------


@pytest.mark.parametrize(
    "digit, stroke, slant, expected",
    [
        (7, 0.25, 0.3, "a thick slanted seven"),
        (0, 0.45, -0.2, "a thin backslanted zero"),
        (3, 0.35, 0.0, "a three"),
        (1, None, None, "a one"),
    ],
)
def test_caption_words_follow_the_style(digit, stroke, slant, expected):
    assert data.caption(digit, stroke, slant) == expected


def test_captions_describe_the_rendered_images():
    """'thick' digits carry more ink than 'thin' ones, and 'slanted' ones lean right (ink moments), as drawn."""
    images = data.load_images("digits", 16, 3000, seed=0)
    words = [caption.split() for caption in data.captions(images)]
    pixels = images.floats(slice(None))[:, 0]
    ink = pixels.mean(dim=(1, 2))
    ys, xs = torch.meshgrid(torch.arange(16.0), torch.arange(16.0), indexing="ij")
    mass = pixels.sum(dim=(1, 2))
    x_mean, y_mean = (pixels * xs).sum(dim=(1, 2)) / mass, (pixels * ys).sum(dim=(1, 2)) / mass
    dx, dy = xs - x_mean[:, None, None], ys - y_mean[:, None, None]
    lean = -(pixels * dx * dy).sum(dim=(1, 2)) / (pixels * dy * dy).sum(dim=(1, 2))  # x moves right going up

    def mean_where(values: torch.Tensor, word: str) -> float:
        return values[torch.tensor([word in w for w in words])].mean().item()

    assert mean_where(ink, "thick") > 1.15 * mean_where(ink, "thin")
    assert mean_where(lean, "slanted") > mean_where(lean, "backslanted") + 0.15
    assert all(w[0] == "a" and w[-1] in data.DIGIT_WORDS for w in words)
    assert [w[-1] for w in words[:50]] == [data.DIGIT_WORDS[d] for d in images.labels[:50].tolist()]


def test_mnist_has_no_style_so_its_captions_name_the_digit_only():
    images = data.ImageSet(torch.zeros(2, 1, 8, 8, dtype=torch.uint8), torch.tensor([4, 9]), "mnist")
    assert data.captions(images) == ["a four", "a nine"]


def test_the_tokenizer_spells_each_caption_word_as_written(tmp_path):
    tokenizer = text.make_tokenizer(tmp_path, data.CAPTION_WORDS, demo.PROMPT_LENGTH)
    assert json.loads((tmp_path / "vocab.json").read_text())["seven</w>"] > 0
    assert (tmp_path / "merges.txt").read_text().startswith("#version")
    ids = text.token_ids(tokenizer, ["a thick slanted seven", "a thin backslanted three", ""])
    assert ids.shape == (3, demo.PROMPT_LENGTH)
    assert tokenizer.convert_ids_to_tokens(ids[0].tolist()[:6]) == [
        "<|startoftext|>",
        "a</w>",
        "thick</w>",
        "slanted</w>",
        "seven</w>",
        "<|endoftext|>",
    ]
    assert tokenizer.convert_ids_to_tokens(ids[1].tolist()[3:5]) == ["back", "slanted</w>"]
    assert ids[2].tolist() == [tokenizer.bos_token_id] + [tokenizer.eos_token_id] * (demo.PROMPT_LENGTH - 1)
    assert tokenizer.decode(ids[0], skip_special_tokens=True) == "a thick slanted seven"
