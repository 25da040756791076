"""audio-spectrograms: the course's conversion, its round trip measured, sample-rate files, a tiny run end to end."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import soundfile
from demo_helpers import TINY, assert_written, metrics, only_run

from learnapp.cli import main
from learnapp.demos import DEMOS, audio
from learnapp.demos import audio_spectrograms as demo
from learnapp.demos.base import no_progress
from learnapp.errors import UserError

MEL = audio.MelSettings()
SMALL = audio.MelSettings(x_res=32, y_res=64)  # the same conversion on a smaller image, for speed


def clip(kind: str = "mix", mel: audio.MelSettings = MEL, seed: int = 0) -> np.ndarray:
    return audio.synthesize(kind, mel.slice_size, mel.sample_rate, np.random.default_rng(seed))


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    base = tmp_path_factory.mktemp("runs")
    assert main(["demo", "audio-spectrograms", *TINY["audio-spectrograms"], "--out", str(base)]) == 0
    return only_run(base, "audio-spectrograms")


# --- the conversion ----------------------------------------------------------------------------


def test_a_full_slice_is_a_256x256_uint8_image_using_the_whole_grey_range():
    clips = np.stack([clip("mix"), clip("sweep")])
    images = audio.audio_to_image(clips)
    assert images.shape == (2, 256, 256) and images.dtype == np.uint8
    for image in images:  # the peak is 255; anything 80 dB or more below it is 0
        assert image.max() == 255 and image.min() == 0
    assert np.array_equal(images[1], audio.audio_to_image(clips[1]))  # a batch converts each slice on its own


@pytest.mark.parametrize("kind", ["mix", "notes", "chord", "drums", "sweep"])
def test_images_are_the_courses_mel_images(kind):
    mel_module = pytest.importorskip("diffusers.pipelines.deprecated.audio_diffusion.mel")
    samples = clip(kind)
    course = mel_module.Mel()
    course.load_audio(raw_audio=samples)  # pads the slice with one zero, which makes it float64
    assert np.array_equal(audio.audio_to_image(samples.astype(np.float64)), np.array(course.audio_slice_to_image(0)))


def test_image_to_audio_is_the_courses_griffin_lim_seeded(monkeypatch):
    mel_module = pytest.importorskip("diffusers.pipelines.deprecated.audio_diffusion.mel")
    from PIL import Image

    image = audio.audio_to_image(clip("notes", SMALL), SMALL)
    ours = audio.image_to_audio(image, SMALL, seed=5)
    # Mel draws Griffin-Lim's first phases from an unseeded generator: hand it ours.
    seeded = np.random.default_rng
    monkeypatch.setattr(np.random, "default_rng", lambda *args: seeded(5))
    course = mel_module.Mel(x_res=SMALL.x_res, y_res=SMALL.y_res).image_to_audio(Image.fromarray(image))
    assert np.array_equal(ours, course)
    assert len(ours) == (SMALL.x_res - 1) * SMALL.hop_length


def test_slices_are_cut_and_padded_as_mel_does():
    assert MEL.slice_size == 256 * 512 - 1 and MEL.roundtrip_length == 255 * 512
    short = np.ones(1000, np.float32)
    padded = audio.slice_audio(short, 0)
    assert len(padded) == MEL.slice_size and padded[:1000].all() and not padded[1000:].any()
    two = np.arange(2 * MEL.slice_size + 5, dtype=np.float32)
    assert audio.slice_audio(two, 1)[0] == MEL.slice_size
    with pytest.raises(UserError, match="has 2 slice"):
        audio.slice_audio(two, 2)


# --- measuring a reconstruction ----------------------------------------------------------------


def test_spectral_errors_ignore_level_and_grow_with_the_error():
    reference = audio.stft_magnitude(clip("chord", SMALL), SMALL)
    for estimate in (reference, 0.01 * reference):  # images keep no absolute level: neither do the measures
        errors = audio.spectral_errors(reference, estimate)
        assert errors["spectral_convergence"] == pytest.approx(0, abs=1e-6)
        assert errors["log_spectral_distance_db"] == pytest.approx(0, abs=1e-4)
    assert audio.spectral_errors(reference, np.zeros_like(reference))["spectral_convergence"] == pytest.approx(1)
    signs = np.random.default_rng(0).choice([-1.0, 1.0], reference.shape)
    small, large = (audio.spectral_errors(reference, reference * 10 ** (db * signs / 20)) for db in (1, 6))
    for measure in ("spectral_convergence", "log_spectral_distance_db"):
        assert 0 < small[measure] < large[measure], measure


def test_the_round_trip_beats_random_phases_and_a_time_shifted_original(tiny_run):
    """Griffin-Lim starts from random phases and each iteration moves towards a signal whose
    STFT magnitude matches the image, so its result must be closer than its starting point; and
    a reconstruction worth the name is closer than the original itself played a beat late."""
    errors = metrics(tiny_run)["metrics"]["roundtrip"]["errors"]
    roundtrip = errors["roundtrip"]
    start = errors["random_phase"]
    original, rate = soundfile.read(tiny_run / "original.wav")
    reference = audio.stft_magnitude(original[: MEL.roundtrip_length])
    late = np.roll(original, rate // 4)[: MEL.roundtrip_length]  # a quarter of a second late
    shifted = audio.spectral_errors(reference, audio.stft_magnitude(late))
    for measure in ("spectral_convergence", "log_spectral_distance_db"):
        assert roundtrip[measure] < start[measure], measure
        assert roundtrip[measure] < shifted[measure], measure
    assert errors["griffin_lim"]["spectral_convergence"] < start["spectral_convergence"]


def test_each_part_of_the_round_trip_loses_less_than_the_whole(tiny_run):
    """The story the figure tells: the mel image loses some, the phase guess more, the round trip both."""
    errors = metrics(tiny_run)["metrics"]["roundtrip"]["errors"]
    for measure in ("spectral_convergence", "log_spectral_distance_db"):
        assert errors["mel_image"][measure] < errors["roundtrip"][measure], measure
        assert errors["griffin_lim"][measure] < errors["random_phase"][measure], measure


def test_a_magnitude_with_its_own_phases_gives_back_the_audio():
    samples = clip("notes", SMALL)
    rebuilt = audio.with_phase_of(audio.stft_magnitude(samples, SMALL), samples, SMALL)
    assert len(rebuilt) == SMALL.roundtrip_length
    errors = audio.spectral_errors(
        audio.stft_magnitude(samples[: SMALL.roundtrip_length], SMALL), audio.stft_magnitude(rebuilt, SMALL)
    )
    assert errors["spectral_convergence"] < 1e-3 and errors["log_spectral_distance_db"] < 0.1


def test_nearest_distances_find_a_copy_at_zero_and_noise_far_away():
    import torch

    from learnapp.demos.data import ImageSet

    pixels = torch.randint(0, 256, (5, 1, 4, 4), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    pool = ImageSet(pixels, torch.zeros(5, dtype=torch.long), "x")
    copy = pool.floats(slice(3, 4))
    shifted = (copy + 0.1).clamp(max=1)
    distances, index = demo.nearest_distances(torch.cat([copy, shifted]), pool)
    assert distances[0].item() == pytest.approx(0, abs=1e-6) and index[0].item() == 3
    assert 0 < distances[1].item() <= 0.1 + 1e-6


def test_generated_spectrograms_are_measured_against_noise_and_held_out_clips(tiny_run):
    found = metrics(tiny_run)["metrics"]["generated"]["nearest_training_distance"]
    assert set(found) == {"noise", "generated", "held_out"}
    assert found["generated"]["images"] == found["held_out"]["images"] == found["noise"]["images"] == 2
    assert 0 < found["held_out"]["median"] < found["noise"]["median"]  # new clips of the same kinds are nearer


def test_held_out_spectrograms_are_new_clips_of_the_training_kinds():
    config = dataclasses.replace(demo.Config.quick(), train_clips=8, samples=4, image_size=8)
    train = demo.spectrogram_dataset(config, MEL, "cpu", no_progress)
    held_out = demo.spectrogram_dataset(config, MEL, "cpu", no_progress, held_out=True)
    assert len(held_out) == 4 and held_out.labels.tolist() == [0, 1, 2, 3]
    distances, _ = demo.nearest_distances(held_out.floats(slice(None)), train)
    assert (distances > 0).all()  # none is a copy of a training clip


# --- the run and its files ---------------------------------------------------------------------


def test_run_writes_every_figure_and_a_complete_record(tiny_run):
    assert_written(tiny_run, *DEMOS["audio-spectrograms"].outputs)
    record = metrics(tiny_run)
    assert record["status"] == "complete" and record["device"]["device"] == "cpu"
    assert {
        "audio -> image -> audio",
        "sample rates",
        "make spectrograms",
        "train UNet2DModel",
        "spectrograms -> audio",
        "total",
    } <= set(record["timings"])
    found = record["metrics"]
    assert found["image"]["shape"] == [256, 256] and found["image"]["max"] == 255
    assert found["roundtrip"]["samples"] == (MEL.x_res - 1) * MEL.hop_length
    assert found["training"]["images"] == 3 * 64 and len(found["training"]["epoch_losses"]) == 3
    first, *_, last = found["training"]["epoch_losses"]
    assert last < first


def test_wav_files_have_the_right_rate_and_length(tiny_run):
    expected = {
        "original.wav": (22050, MEL.slice_size),
        "roundtrip.wav": (22050, MEL.roundtrip_length),
        "generated_1.wav": (22050, MEL.roundtrip_length),
        "rate_original_44100.wav": (44100, 3 * 44100),
        "rate_resampled_22050.wav": (22050, 3 * 22050),
    }
    for name, (rate, frames) in expected.items():
        info = soundfile.info(tiny_run / name)
        assert (info.samplerate, info.frames, info.channels) == (rate, frames, 1), name
    assert not (tiny_run / "generated_2.wav").exists()  # --samples-to-audio 1
    samples, _ = soundfile.read(tiny_run / "roundtrip.wav")
    assert np.abs(samples).max() == pytest.approx(audio.PEAK, abs=1e-3)  # loud, never clipped


def test_the_wrong_rate_plays_in_half_the_time_an_octave_up(tiny_run):
    def heard(name):
        samples, rate = soundfile.read(tiny_run / name)
        note = samples[: len(samples) // 3]  # the lesson clip's first second: A4
        return len(samples) / rate, audio.dominant_frequency(note, rate)

    right_seconds, right_hz = heard("rate_resampled_22050.wav")
    fast_seconds, fast_hz = heard("rate_wrong_22050_played_as_44100.wav")
    slow_seconds, slow_hz = heard("rate_wrong_44100_played_as_22050.wav")
    assert right_seconds == pytest.approx(3.0) and right_hz == pytest.approx(440, abs=1)
    assert fast_seconds == pytest.approx(right_seconds / 2) and fast_hz == pytest.approx(880, abs=2)
    assert slow_seconds == pytest.approx(right_seconds * 2) and slow_hz == pytest.approx(220, abs=1)
    lesson = metrics(tiny_run)["metrics"]["sample_rates"]
    assert lesson["rate_wrong_22050_played_as_44100"]["seconds"] == pytest.approx(1.5)


def test_resampling_filters_and_dropping_samples_aliases():
    """Above the new Nyquist frequency (11,025 Hz) the sweep must be gone after librosa.resample,
    but come back folded below it when every other sample is simply dropped."""
    versions = demo.sample_rate_versions()
    sweep_end = slice(int(2.6 * 22050), int(2.9 * 22050))  # the sweep is at 15-17.5 kHz here
    resampled = versions["rate_resampled_22050"][0][sweep_end]
    dropped = versions["rate_every_other_sample_22050"][0][sweep_end]
    assert np.sqrt(np.mean(resampled**2)) < 0.01 * np.sqrt(np.mean(dropped**2))
    assert 4_000 < audio.dominant_frequency(dropped, 22050) < 7_500  # 22,050 - 15-17.5 kHz


def test_training_spectrograms_do_not_depend_on_the_thread_count(monkeypatch):
    config = dataclasses.replace(demo.Config.quick(), train_clips=40, image_size=16)
    data = demo.spectrogram_dataset(config, MEL, "cpu", no_progress)
    monkeypatch.setattr(demo.os, "cpu_count", lambda: 1)
    again = demo.spectrogram_dataset(config, MEL, "cpu", no_progress)
    assert data.images.shape == (40, 1, 16, 16) and data.images.dtype.is_floating_point is False
    assert bool((data.images == again.images).all()) and data.images.float().std() > 10
    assert data.labels.tolist()[:5] == [0, 1, 2, 3, 0]  # the four kinds in turn


# --- your own audio ----------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", ["wav", "flac", "mp3"])
def test_a_stereo_44k_file_is_read_as_mono_at_22k_and_padded_to_a_slice(tmp_path, suffix):
    t = np.arange(2 * 44100) / 44100
    tone = 0.5 * np.sin(2 * np.pi * 1000 * t)
    path = tmp_path / f"tone.{suffix}"
    soundfile.write(path, np.stack([tone, tone], axis=1), 44100)
    config = dataclasses.replace(demo.Config.quick(), audio=str(path))
    samples, source = demo.original_clip(config, MEL)
    assert len(samples) == MEL.slice_size and source == f"tone.{suffix}, slice 0"
    assert audio.dominant_frequency(samples[: 2 * 22050], 22050) == pytest.approx(1000, abs=1)
    assert not samples[int(2.1 * 22050) :].any()  # silence after the two seconds


def test_a_silent_slice_is_refused_rather_than_drawn_as_all_peak(tmp_path):
    path = tmp_path / "silence.wav"
    soundfile.write(path, np.zeros(22050), 22050)
    with pytest.raises(UserError, match="slice 0 is silent"):
        demo.original_clip(dataclasses.replace(demo.Config.quick(), audio=str(path)), MEL)


@pytest.mark.parametrize(
    "content, extra, message",
    [
        (b"RIFF\x00\x00\x00\x00WAVEnot really", [], "not a readable audio file"),
        (None, [], "no such file"),
        ("one second", ["--audio-slice", "3"], "--audio-slice 3: the audio has 1 slice(s)"),
    ],
)
def test_bad_audio_is_one_line_and_a_non_zero_exit(tmp_path, capsys, content, extra, message):
    path = tmp_path / "bad.wav"
    if content == "one second":
        soundfile.write(path, np.zeros(22050), 22050)
    elif content is not None:
        path.write_bytes(content)
    argv = [
        "demo",
        "audio-spectrograms",
        *TINY["audio-spectrograms"],
        "--audio",
        str(path),
        *extra,
        "--out",
        str(tmp_path / "runs"),
    ]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("learnapp: error: ") and message in err and err.count("\n") == 1
    assert not (tmp_path / "runs").exists()  # rejected before a run folder was made
