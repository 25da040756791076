"""audio-spectrograms: audio -> mel spectrogram image -> audio, sample-rate mistakes, and diffusion on spectrograms.

Unit 4 of the course generates audio with image diffusion: a 2D UNet makes mel spectrogram
images, and `Mel` turns them back into sound. This demo does each step with audio made on the
spot (no download) or a file you pass with `--audio`:

1. A clip: a synthesised mix of melody, chords and drums (or one of them, or a sweep; `--clip`),
   or a slice of your file, at the course's 22050 Hz.
2. The course's conversion (`demos/audio.py`): a 256 x 256 uint8 mel image (n_fft 2048, hop 512,
   top_db 80) and back by Griffin-Lim, `(256 - 1) * 512` samples. The round trip is measured
   (spectral convergence, log-spectral distance) and its error taken apart: what the image loses
   (mel bands, 8 bits, 80 dB), what Griffin-Lim's phase guess loses, and random phases as a baseline.
3. Sample rates (cards 135-136): a 44.1 kHz clip resampled to 22.05 kHz with `librosa.resample`,
   the same halved by dropping every other sample (aliasing), and both wrong-rate mistakes: 22.05 kHz
   samples played as 44.1 kHz (twice as fast, an octave up) and the reverse.
4. Diffusion: a `UNet2DModel` learns to predict the noise in spectrogram images of synthetic
   clips (downscaled to `--image-size`), through the shared Accelerate loop; DDIM then samples
   new spectrograms, which are upscaled to 256 x 256 and played through Griffin-Lim.

Writes spectrogram.png, roundtrip_spectra.png, sample_rates.png, training_spectrograms.png,
generated_spectrograms.png, spectrogram_distances.png (how near the samples come to the training
set, next to noise and to held-out clips), denoising.gif, loss_curve.png, WAV files (original, roundtrip,
rate_*, generated_*) and the trained model as a DDIMPipeline folder (`spectrogram-pipeline`).
The quick preset takes 45 s on an otherwise idle 2-core CPU (`benchmarks/bench_audio.py`), most
of it training; its samples are rough. The full preset (2,048 clips at 64 x 64, a 4-level UNet with
attention, 4,800 steps, up from 1,920 so that samples can take the clips' shapes) is sized for a GPU;
spectrogram_distances.png shows whether its samples come as near the training set as held-out clips
do (the median distances are in metrics.json and the summary).
"""

from __future__ import annotations

import os
import textwrap
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import torch

from learnapp.errors import UserError

from . import DEMOS, audio
from .audio import ClipKind, MelSettings
from .base import Progress, Result
from .config import at_least, at_most, halvable, positive, require, unet_widths
from .data import ImageSet, resize
from .device import CompileRequest, DeviceRequest, PrecisionRequest, resolve
from .noising import noise_loss
from .output import plot_losses, save_figure, save_gif
from .sampling import denoise
from .training import Schedule, TrainLog, final_loss, train
from .unets import make_scheduler, make_unet2d, parameters

if TYPE_CHECKING:
    from diffusers.models.unets.unet_2d import UNet2DModel
    from diffusers.pipelines.ddim.pipeline_ddim import DDIMPipeline

# The files cards may point at (declared in the registry).
(SPECTROGRAM, ROUNDTRIP, SAMPLE_RATES, TRAINING, GENERATED, DISTANCES, LOSS, ANIMATION, ORIGINAL_WAV, ROUNDTRIP_WAV) = (
    DEMOS["audio-spectrograms"].outputs
)
LESSON_RATE, MODEL_RATE = 44_100, 22_050  # the sample-rate lesson: CD audio to the course's rate
CHUNK = 32  # clips converted per call: librosa batches the STFT and the mel projection
# The round-trip errors, ordered as they build up: what the image loses, what the phase guess
# loses, both together, and Griffin-Lim's starting point as a baseline.
ERRORS = {
    "mel_image": "mel image alone (its magnitude, true phase, as audio)",
    "griffin_lim": "Griffin-Lim alone (from the true magnitude)",
    "roundtrip": "round trip (image -> Griffin-Lim)",
    "random_phase": "random phase (Griffin-Lim's start, 0 iterations)",
}
AUDIBLE_DB = 50  # the round-trip difference map shows bins within this many dB of the peak


@dataclass
class Config:
    clip: ClipKind = field(
        default="mix", metadata={"help": "the synthesised clip to convert (mix = notes + chord + drums)"}
    )
    audio: str = field(
        default="", metadata={"help": "a WAV/FLAC/MP3/OGG file to convert instead (any rate, resampled to 22050 Hz)"}
    )
    audio_slice: int = field(default=0, metadata={"help": "which 5.94 s slice of --audio to convert"})
    griffin_lim_iters: int = field(default=32, metadata={"help": "Griffin-Lim iterations (the course's Mel: 32)"})
    train_clips: int = field(default=2048, metadata={"help": "synthetic clips (one spectrogram each) to train on"})
    image_size: int = field(
        default=64, metadata={"help": "training spectrograms are the 256x256 images downscaled to this"}
    )
    epochs: int = field(default=150, metadata={"help": "passes over the training spectrograms"})
    batch_size: int = field(default=64, metadata={"help": "images per step and process"})
    learning_rate: float = field(default=1e-3, metadata={"help": "Adam's peak learning rate"})
    lr_schedule: Literal["constant", "cosine"] = field(default="cosine", metadata={"help": "after the warm-up"})
    warmup_steps: int = field(default=50, metadata={"help": "optimizer steps with a rising learning rate"})
    unet_channels: tuple[int, ...] = field(
        default=(32, 64, 128, 128),
        metadata={"help": "UNet2DModel block widths (multiples of 8); attention in all but the first"},
    )
    layers_per_block: int = field(default=2, metadata={"help": "ResNet layers per UNet2DModel block"})
    attention: bool = field(default=True, metadata={"help": "self-attention in the lower UNet blocks, as the course"})
    beta_schedule: Literal["linear", "squaredcos_cap_v2"] = field(
        default="squaredcos_cap_v2", metadata={"help": "noise schedule (squaredcos_cap_v2 = cosine)"}
    )
    num_train_timesteps: int = field(default=1000, metadata={"help": "diffusion steps T"})
    sampling_steps: int = field(default=50, metadata={"help": "DDIM steps when generating"})
    samples: int = field(default=16, metadata={"help": "spectrograms to generate"})
    samples_to_audio: int = field(
        default=8, metadata={"help": "of those, how many to turn into WAV files (a few seconds each on a CPU)"}
    )
    device: DeviceRequest = field(default="auto", metadata={"help": "auto: CUDA, then MPS, then CPU"})
    precision: PrecisionRequest = field(default="auto", metadata={"help": "auto: bf16 autocast on CUDA, else fp32"})
    compile: CompileRequest = field(default="auto", metadata={"help": "torch.compile the UNet (auto: on CUDA)"})
    seed: int = field(
        default=0, metadata={"help": "seed for the clips, initial weights, noise and Griffin-Lim's phases"}
    )

    @classmethod
    def quick(cls) -> Config:
        """About a minute on a 2-core CPU: 256 clips at 32x32 and a 67,673-parameter UNet with
        attention only in its middle block (half the cost on a CPU) for 320 steps at a constant learning rate. That is
        enough for the loss to fall tenfold and for some samples to show drum strokes or held
        notes, not for clean spectrograms: those take the full preset."""
        return cls(
            train_clips=256,
            image_size=32,
            epochs=40,
            batch_size=32,
            learning_rate=3e-3,
            lr_schedule="constant",
            warmup_steps=10,
            unet_channels=(8, 16, 16),
            layers_per_block=1,
            attention=False,
            samples=12,
            samples_to_audio=2,
        )

    def __post_init__(self) -> None:
        at_least(
            self,
            1,
            "griffin_lim_iters",
            "train_clips",
            "epochs",
            "batch_size",
            "layers_per_block",
            "num_train_timesteps",
            "sampling_steps",
            "samples",
        )
        at_least(self, 0, "warmup_steps", "audio_slice", "samples_to_audio", "seed")
        positive(self, "learning_rate")
        unet_widths(self.unet_channels)
        halvable(self.image_size, len(self.unet_channels) - 1)
        require(
            self.image_size <= MelSettings().y_res,
            f"--image-size {self.image_size}: at most {MelSettings().y_res}, the mel image it is downscaled from",
        )
        at_most(self, "sampling_steps", "num_train_timesteps")
        at_most(self, "samples_to_audio", "samples")
        if self.audio:  # a bad file or slice is reported before a run folder is made
            mel = MelSettings()
            audio.check_slice(self.audio_slice, int(audio.check_audio_file(self.audio) * mel.sample_rate), mel)


# --- 1-2. a clip, its mel image and the round trip ----------------------------------------------


def original_clip(config: Config, mel: MelSettings) -> tuple[np.ndarray, str]:
    """One slice of `mel.slice_size` samples at the course's rate, and where it came from."""
    if config.audio:
        whole = audio.read_audio(config.audio, mel.sample_rate)
        source = f"{Path(config.audio).name}, slice {config.audio_slice}"
        samples = audio.slice_audio(whole, config.audio_slice, mel)
        if not np.any(samples):  # its image would be all "peak": dB relative to a peak of zero
            raise UserError(f"--audio {config.audio}: slice {config.audio_slice} is silent; choose another")
        return samples, source
    rng = np.random.default_rng(config.seed)
    return audio.synthesize(config.clip, mel.slice_size, mel.sample_rate, rng), f"synthesised {config.clip}"


def measure_roundtrip(clip: np.ndarray, image: np.ndarray, mel: MelSettings, seed: int) -> tuple[np.ndarray, dict]:
    """The course's round trip, and its error taken apart. Every error measures audio: the STFT
    magnitude of `(x_res - 1) * hop` samples against the original's. The mel image's own error is
    that of its magnitude with the true phases, made into audio (`audio.with_phase_of`); measured
    on the raw least-squares magnitude instead, it came out larger than the whole round trip's
    (7.1 against 5.6 dB), because that magnitude is no signal's: its near-empty bins between mel
    bands count tens of dB, while any audio blends them with their neighbours."""
    reference = audio.stft_magnitude(clip[: mel.roundtrip_length], mel)
    true_magnitude = audio.stft_magnitude(clip, mel)
    started = time.perf_counter()
    from_image = audio.image_to_magnitude(image, mel)
    roundtrip = audio.griffin_lim(from_image, mel, seed)
    seconds = time.perf_counter() - started
    random_phase = audio.griffin_lim(from_image, mel, seed, n_iter=0)
    phase_only = audio.griffin_lim(true_magnitude, mel, seed)
    errors = {
        "mel_image": audio.spectral_errors(
            reference, audio.stft_magnitude(audio.with_phase_of(from_image, clip, mel), mel)
        ),
        "griffin_lim": audio.spectral_errors(reference, audio.stft_magnitude(phase_only, mel)),
        "roundtrip": audio.spectral_errors(reference, audio.stft_magnitude(roundtrip, mel)),
        "random_phase": audio.spectral_errors(reference, audio.stft_magnitude(random_phase, mel)),
    }
    return roundtrip, {
        "samples": len(roundtrip),
        "seconds": len(roundtrip) / mel.sample_rate,
        "conversion_seconds": seconds,
        "errors": errors,
    }


# --- 3. sample rates ----------------------------------------------------------------------------


def sample_rate_versions() -> dict[str, tuple[np.ndarray, int, str]]:
    """The lesson clip made at 44.1 kHz, and four ways of getting it to (or mistaking it for) 22.05 kHz:
    file stem -> (samples, the rate the file says, what a learner hears)."""
    import librosa

    original = audio.lesson_clip(LESSON_RATE)
    resampled = librosa.resample(original, orig_sr=LESSON_RATE, target_sr=MODEL_RATE)
    return {
        "rate_original_44100": (original, LESSON_RATE, "the clip as made: A4 (440 Hz), then a sweep to 18 kHz"),
        "rate_resampled_22050": (
            resampled,
            MODEL_RATE,
            "librosa.resample: same pitch and length; the sweep stops at 11 kHz",
        ),
        "rate_every_other_sample_22050": (
            original[::2],
            MODEL_RATE,
            "x[::2] without a low-pass filter: above 11 kHz the sweep folds back down (aliasing)",
        ),
        "rate_wrong_22050_played_as_44100": (
            resampled,
            LESSON_RATE,
            "22.05 kHz samples labelled 44.1 kHz: twice as fast, an octave up",
        ),
        "rate_wrong_44100_played_as_22050": (
            original,
            MODEL_RATE,
            "44.1 kHz samples labelled 22.05 kHz: half speed, an octave down",
        ),
    }


# --- 4. diffusion on spectrograms ---------------------------------------------------------------


def spectrogram_dataset(
    config: Config, mel: MelSettings, device: torch.device, progress: Progress, held_out: bool = False
) -> ImageSet:
    """`train_clips` synthetic clips, the four kinds in turn, as mel images downscaled to
    `image_size` (averaging dB values), on `device`. Each chunk of clips has its own seed, so the
    set is the same however many threads make it. `held_out`: `samples` clips more of the same
    kinds, from other seeds, that the model never sees (what real new clips look like to it)."""
    total, stage = (
        (config.samples, "make held-out spectrograms") if held_out else (config.train_clips, "make spectrograms")
    )

    def chunk(start: int) -> torch.Tensor:
        rng = np.random.default_rng([config.seed, start, *([1] if held_out else [])])
        kinds = [audio.TRAINING_KINDS[i % len(audio.TRAINING_KINDS)] for i in range(start, start + CHUNK)]
        count = min(CHUNK, total - start)
        clips = np.stack([audio.synthesize(kind, mel.slice_size, mel.sample_rate, rng) for kind in kinds[:count]])
        return resize(torch.from_numpy(audio.audio_to_image(clips, mel)).unsqueeze(1), config.image_size)

    starts = range(0, total, CHUNK)
    parts = []
    progress(stage, 0, total)
    with ThreadPoolExecutor(max_workers=min(len(starts), os.cpu_count() or 1)) as pool:
        for part in pool.map(chunk, starts):  # numpy, scipy's FFT and BLAS release the GIL
            parts.append(part)
            progress(stage, sum(len(p) for p in parts), total)
    images = torch.cat(parts).to(device)
    kinds = torch.arange(total, device=device) % len(audio.TRAINING_KINDS)
    return ImageSet(images, kinds, "synthetic spectrograms")


def nearest_distances(images: torch.Tensor, pool: ImageSet) -> tuple[torch.Tensor, torch.Tensor]:
    """For each image in [0, 1], the RMS pixel difference to its nearest image in `pool` (0: a copy;
    a fifth of the grey range is 0.2), and that nearest image's index."""
    flat = images.reshape(len(images), -1).float().to(pool.images.device)
    candidates = pool.images.reshape(len(pool), -1).float() / 255
    distances = torch.cdist(flat, candidates) / flat.shape[1] ** 0.5
    nearest, index = distances.min(dim=1)
    return nearest.cpu(), index.cpu()


# What the generated spectrograms are measured against: the training set, from the far side (noise)
# and from the near side (clips of the same kinds the model never saw).
DISTANCE_SETS = {
    "noise": "noise: the sampler's starting point",
    "generated": "generated spectrograms",
    "held_out": "held-out real spectrograms",
}


def make_pipeline(unet: UNet2DModel, config: Config) -> DDIMPipeline:
    """The trained UNet with a DDIM scheduler on the training schedule, as a saveable pipeline."""
    from diffusers.pipelines.ddim.pipeline_ddim import DDIMPipeline
    from diffusers.schedulers.scheduling_ddim import DDIMScheduler

    return DDIMPipeline(unet=unet, scheduler=DDIMScheduler.from_config(make_scheduler(config).config))


# --- the demo ----------------------------------------------------------------------------------


def run(config: Config, out_dir: Path, progress: Progress) -> Result:
    runtime = resolve(config.device, config.precision, config.compile)
    mel = MelSettings(n_iter=config.griffin_lim_iters)
    files: list[Path] = []
    metrics: dict[str, Any] = {
        "mel": {**asdict(mel), "slice_size": mel.slice_size, "roundtrip_length": mel.roundtrip_length}
    }
    summary: list[str] = []

    if runtime.is_main_process:
        # 1. The clip, and 2. the course's conversion there and back.
        progress("audio -> image -> audio", 0, 3, "mel image")
        clip, source = original_clip(config, mel)
        image = audio.audio_to_image(clip, mel)
        files.append(_spectrogram_figure(clip, image, mel, source, out_dir / SPECTROGRAM))
        progress("audio -> image -> audio", 1, 3, "Griffin-Lim")
        roundtrip, measured = measure_roundtrip(clip, image, mel, config.seed)
        progress("audio -> image -> audio", 2, 3, "figures")
        files.append(_roundtrip_figure(clip, roundtrip, measured, mel, out_dir / ROUNDTRIP))
        files.append(audio.write_wav(out_dir / ORIGINAL_WAV, clip, mel.sample_rate))
        files.append(audio.write_wav(out_dir / ROUNDTRIP_WAV, roundtrip, mel.sample_rate))
        metrics["clip"] = {
            "source": source,
            "sample_rate": mel.sample_rate,
            "samples": len(clip),
            "seconds": len(clip) / mel.sample_rate,
        }
        metrics["image"] = {
            "shape": list(image.shape),
            "dtype": str(image.dtype),
            "min": int(image.min()),
            "max": int(image.max()),
            "mean": float(image.mean()),
        }
        metrics["roundtrip"] = measured
        progress("audio -> image -> audio", 3, 3)
        rt = measured["errors"]["roundtrip"]
        summary.append(
            f"Round trip ({source}): spectral convergence {rt['spectral_convergence']:.3f}, "
            f"log-spectral distance {rt['log_spectral_distance_db']:.1f} dB, "
            f"{len(clip)} -> {len(roundtrip)} samples"
        )

        # 3. Sample rates: resampling right, and playing at the wrong rate.
        progress("sample rates", 0, 1)
        versions = sample_rate_versions()
        lesson: dict[str, Any] = {}
        for stem, (samples, rate, heard) in versions.items():
            files.append(audio.write_wav(out_dir / f"{stem}.wav", samples, rate))
            note = samples[: len(samples) // 3]  # the first second: the A4
            lesson[stem] = {
                "file": f"{stem}.wav",
                "sample_rate": rate,
                "samples": len(samples),
                "seconds": len(samples) / rate,
                "first_note_hz": audio.dominant_frequency(note, rate),
                "heard": heard,
            }
        files.append(_sample_rate_figure(versions, out_dir / SAMPLE_RATES))
        metrics["sample_rates"] = lesson
        progress("sample rates", 1, 1)
        wrong = lesson["rate_wrong_22050_played_as_44100"]
        summary.append(
            f"Wrong rate: {wrong['seconds']:.2f} s instead of {lesson['rate_resampled_22050']['seconds']:.2f} s, "
            f"A4 heard at {wrong['first_note_hz']:.0f} Hz"
        )

    # 4. Training spectrograms (every process makes the same set) and the UNet2DModel.
    data = spectrogram_dataset(config, mel, runtime.device, progress)
    torch.manual_seed(config.seed)
    unet, log = train(
        make_unet2d(config),
        noise_loss(make_scheduler(config)),
        data,
        Schedule.of(config),
        runtime,
        config.seed,
        progress,
        "train UNet2DModel",
    )
    if not runtime.is_main_process:
        return Result()
    pipeline = make_pipeline(unet, config)
    pipeline.save_pretrained(out_dir / "spectrogram-pipeline")

    # 5. New spectrograms by DDIM, upscaled to the mel image size, and through Griffin-Lim.
    generator = torch.Generator(runtime.device).manual_seed(config.seed)
    started = time.perf_counter()
    pixels, trajectory = denoise(
        unet, pipeline.scheduler, config.samples, config.sampling_steps, generator, runtime, progress, frames=20
    )
    sampling_seconds = time.perf_counter() - started
    generated = resize((pixels * 255).round().to(torch.uint8).cpu(), mel.y_res)[:, 0].numpy()

    # 6. How close the samples come to the training set: nearer than noise, as near as new real clips?
    held_out = spectrogram_dataset(config, mel, runtime.device, progress, held_out=True)
    measured_sets = {"noise": trajectory.frames[0], "generated": pixels, "held_out": held_out.floats(slice(None))}
    nearest = {name: nearest_distances(images, data) for name, images in measured_sets.items()}
    started = time.perf_counter()
    for index in range(config.samples_to_audio):
        progress("spectrograms -> audio", index, config.samples_to_audio)
        sound = audio.image_to_audio(generated[index], mel, config.seed + index)
        files.append(audio.write_wav(out_dir / f"generated_{index + 1}.wav", sound, mel.sample_rate))
    progress("spectrograms -> audio", config.samples_to_audio, config.samples_to_audio)
    to_audio_seconds = time.perf_counter() - started

    # 7. Figures of the diffusion part.
    progress("figures", 0, 1)
    examples = data.images[: 2 * len(audio.TRAINING_KINDS), 0].cpu().numpy()
    files.append(
        _mel_grid(
            examples,
            [audio.TRAINING_KINDS[i % len(audio.TRAINING_KINDS)] for i in range(len(examples))],
            mel,
            f"Training spectrograms: mel images downscaled to {config.image_size}x{config.image_size} "
            f"({config.train_clips} clips)",
            out_dir / TRAINING,
        )
    )
    files.append(
        _mel_grid(
            generated,
            [f"sample {i + 1}" + (" (WAV)" if i < config.samples_to_audio else "") for i in range(len(generated))],
            mel,
            f"Generated: {config.sampling_steps} DDIM steps at {config.image_size}x{config.image_size}, "
            f"upscaled to {mel.y_res}x{mel.x_res}",
            out_dir / GENERATED,
        )
    )
    files.append(_distances_figure(nearest, pixels, data, mel, config, out_dir / DISTANCES))
    files.append(
        save_gif(
            [frame.flip(-2) for frame in trajectory.frames],  # low frequencies at the bottom, as in the plots
            out_dir / ANIMATION,
            labels=[f"DDIM, {label}" for label in trajectory.labels],
            scale=max(1, 96 // config.image_size),
        )
    )
    files.append(_loss_figure(log, config, out_dir / LOSS))
    files.append(out_dir / "spectrogram-pipeline")
    progress("figures", 1, 1)

    metrics["training"] = {
        "clips": len(data),
        "image_size": config.image_size,
        "parameters": parameters(unet),
        **log.summary(),
        "final_loss": final_loss(log),
    }
    metrics["generated"] = {
        "samples": config.samples,
        "to_audio": config.samples_to_audio,
        "sampling_seconds": sampling_seconds,
        "to_audio_seconds": to_audio_seconds,
        "audio_seconds_each": mel.roundtrip_length / mel.sample_rate,
        "nearest_training_distance": {
            name: {"median": distances.median().item(), "mean": distances.mean().item(), "images": len(distances)}
            for name, (distances, _) in nearest.items()
        },
    }
    summary.append(
        f"UNet2DModel ({parameters(unet):,} parameters): {log.images:,} images in {log.seconds:.1f} s, "
        f"epoch losses {log.epoch_losses[0]:.4f} -> {log.epoch_losses[-1]:.4f}"
    )
    summary.append(
        "Distance to the nearest training spectrogram (RMS, grey range 1), median: "
        + ", ".join(
            f"{name.replace('_', '-')} {distances.median().item():.3f}" for name, (distances, _) in nearest.items()
        )
    )
    summary.append(f"Load the model: DDIMPipeline.from_pretrained('{out_dir / 'spectrogram-pipeline'}')")
    return Result(files=files, metrics=metrics, summary=summary)


# --- figures -----------------------------------------------------------------------------------


def _show_mel(ax: Any, image: np.ndarray, mel: MelSettings, colorbar: bool = False) -> Any:
    """A mel image (any size: a downscaled one keeps its span) with seconds and Hz on the axes."""
    import librosa.display

    decibels = image.astype(np.float64) * mel.top_db / 255 - mel.top_db
    mesh = librosa.display.specshow(
        decibels,
        ax=ax,
        sr=mel.sample_rate,
        x_axis="s",
        y_axis="mel",
        hop_length=mel.hop_length * mel.x_res / image.shape[1],
        fmax=mel.sample_rate / 2,
        cmap="magma",
        vmin=-mel.top_db,
        vmax=0,
    )
    if colorbar:
        ax.figure.colorbar(mesh, ax=ax, format="%+.0f dB", label="dB below the peak")
    return mesh


def _spectrogram_figure(clip: np.ndarray, image: np.ndarray, mel: MelSettings, source: str, path: Path) -> Path:
    import matplotlib.pyplot as plt

    figure = plt.figure(figsize=(14, 8.5))
    grid = figure.add_gridspec(2, 2, height_ratios=(1, 3), width_ratios=(1.45, 1))
    wave = figure.add_subplot(grid[0, :])
    t = np.arange(len(clip)) / mel.sample_rate
    wave.plot(t, clip, linewidth=0.3, color="tab:blue")
    wave.set(
        xlim=(0, t[-1]),
        xlabel="time (s)",
        ylabel="amplitude",
        title=f"Waveform: {source}, {len(clip):,} samples at {mel.sample_rate} Hz "
        f"({len(clip) / mel.sample_rate:.2f} s)",
    )
    _show_mel(figure.add_subplot(grid[1, 0]), image, mel, colorbar=True).axes.set_title(
        f"Mel spectrogram: n_fft {mel.n_fft}, hop {mel.hop_length}, {mel.y_res} mel bands, top_db {mel.top_db}"
    )
    raw = figure.add_subplot(grid[1, 1])
    shown = raw.imshow(image, cmap="gray", vmin=0, vmax=255, interpolation="nearest")
    figure.colorbar(shown, ax=raw, label="grey level (255 = peak, 0 = 80 dB below or less)")
    raw.set(
        xlabel="column = STFT frame",
        ylabel="row = mel band (row 0 = lowest)",
        title=f"What a UNet sees: {image.shape[0]}x{image.shape[1]} uint8, as Mel stores it",
    )
    figure.tight_layout()
    return save_figure(figure, path)


def _roundtrip_figure(clip: np.ndarray, roundtrip: np.ndarray, measured: dict, mel: MelSettings, path: Path) -> Path:
    import librosa
    import librosa.display
    import matplotlib.pyplot as plt

    original = audio.stft_magnitude(clip[: mel.roundtrip_length], mel)
    rebuilt = audio.stft_magnitude(roundtrip, mel)
    rebuilt *= np.sum(original * rebuilt) / max(np.sum(rebuilt * rebuilt), 1e-20)  # the level the measures use

    def to_db(magnitude: np.ndarray) -> np.ndarray:
        return librosa.amplitude_to_db(magnitude, ref=original.max(), top_db=None)

    figure = plt.figure(figsize=(15, 10))
    grid = figure.add_gridspec(2, 3, height_ratios=(1.25, 1))
    panels = ((original, "Original"), (rebuilt, f"Round trip: mel image -> Griffin-Lim ({mel.n_iter} iterations)"))
    for column, (magnitude, title) in enumerate(panels):
        ax = figure.add_subplot(grid[0, column])
        mesh = librosa.display.specshow(
            to_db(magnitude),
            ax=ax,
            sr=mel.sample_rate,
            hop_length=mel.hop_length,
            x_axis="s",
            y_axis="log",
            cmap="magma",
            vmin=-mel.top_db,
            vmax=0,
        )
        ax.set_title(f"{title}\nlinear STFT magnitude, {magnitude.shape[0]} bins")
    figure.colorbar(mesh, ax=ax, format="%+.0f dB")
    ax = figure.add_subplot(grid[0, 2])
    # Only where there is something to hear: near-silent bins differ by tens of dB and matter little.
    audible = np.maximum(to_db(rebuilt), to_db(original)) > -AUDIBLE_DB
    difference = np.where(audible, np.clip(to_db(rebuilt) - to_db(original), -30, 30), np.nan)
    mesh = librosa.display.specshow(
        difference,
        ax=ax,
        sr=mel.sample_rate,
        hop_length=mel.hop_length,
        x_axis="s",
        y_axis="log",
        cmap="coolwarm",
        vmin=-30,
        vmax=30,
    )
    figure.colorbar(mesh, ax=ax, format="%+.0f dB")
    ax.set_title(f"Round trip minus original (dB), where either\nis within {AUDIBLE_DB} dB of the peak (grey: quieter)")
    ax.set_facecolor("0.85")

    # Average spectra: what survives the round trip, frequency by frequency.
    ax = figure.add_subplot(grid[1, 0:2])
    freqs = librosa.fft_frequencies(sr=mel.sample_rate, n_fft=mel.n_fft)
    for magnitude, label, color, width in (
        (original, "original", "black", 1.6),
        (rebuilt, "round trip", "tab:orange", 1.0),
    ):
        ax.semilogx(
            freqs[1:], to_db(np.sqrt(np.mean(magnitude**2, axis=1)))[1:], label=label, color=color, linewidth=width
        )
    ax.set(
        xlabel="frequency (Hz)",
        ylabel="mean power (dB below the peak)",
        xlim=(freqs[1], freqs[-1]),
        title="Average spectrum over the clip",
    )
    ax.legend(fontsize=8, loc="lower left")
    ax.grid(alpha=0.3, which="both")

    # The waveforms themselves differ: Griffin-Lim finds some phase, not the original one.
    ax = figure.add_subplot(grid[1, 2])
    loudest = int(np.argmax(np.convolve(np.abs(clip[: mel.roundtrip_length]), np.ones(512), mode="same")))
    window = slice(max(0, loudest - 441), max(0, loudest - 441) + 882)  # 40 ms around the loudest moment
    t = np.arange(window.start, window.stop) / mel.sample_rate * 1000
    gain = np.std(clip[: mel.roundtrip_length]) / max(float(np.std(roundtrip)), 1e-12)  # the same loudness
    ax.plot(t, clip[window], color="black", linewidth=1.0, label="original")
    ax.plot(t, roundtrip[window] * gain, color="tab:orange", linewidth=1.0, label="round trip")
    ax.set(xlabel="time (ms)", ylabel="amplitude", title="40 ms of waveform: same spectrum, other phases")
    ax.legend(fontsize=8)

    lines = [
        f"{ERRORS[key]}: spectral convergence {e['spectral_convergence']:.3f}, log-spectral distance "
        f"{e['log_spectral_distance_db']:.1f} dB"
        for key, e in measured["errors"].items()
    ]
    figure.suptitle(
        "Audio -> mel image -> audio, measured against the original (lower is better)\n" + "\n".join(lines), fontsize=10
    )
    figure.tight_layout()
    return save_figure(figure, path)


def _sample_rate_figure(versions: dict[str, tuple[np.ndarray, int, str]], path: Path) -> Path:
    import librosa
    import librosa.display
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(2, 3, figsize=(15, 9), sharey=True)
    longest = max(len(samples) / rate for samples, rate, _ in versions.values())
    # zip(strict=False): five versions on a 2x3 grid; the sixth cell holds the notes
    for ax, (stem, (samples, rate, heard)) in zip(axes.flat, versions.items(), strict=False):
        n_fft = 2048 * rate // LESSON_RATE  # the same window in seconds at either rate
        decibels = librosa.amplitude_to_db(
            np.abs(librosa.stft(samples, n_fft=n_fft, hop_length=n_fft // 4)), ref=np.max, top_db=80
        )
        librosa.display.specshow(
            decibels, ax=ax, sr=rate, hop_length=n_fft // 4, x_axis="s", y_axis="linear", cmap="magma", vmin=-80, vmax=0
        )
        ax.axhline(rate / 2, color="tab:cyan", linestyle="--", linewidth=1.2)
        ax.text(longest * 0.98, rate / 2, f"Nyquist {rate // 2} Hz", color="tab:cyan", ha="right", va="bottom")
        ax.text(
            0.98,
            0.88,
            textwrap.fill(heard, 38),
            transform=ax.transAxes,
            ha="right",
            va="top",
            fontsize=8.5,
            bbox={"facecolor": "white", "alpha": 0.9, "edgecolor": "none"},
        )
        ax.set(xlim=(0, longest), ylim=(0, LESSON_RATE / 2 * 1.05), facecolor="0.85")
        ax.set_title(f"{stem}.wav\n{len(samples):,} samples at {rate} Hz = {len(samples) / rate:.2f} s", fontsize=9.5)
        ax.label_outer()
    notes = axes.flat[-1]
    notes.set_axis_off()
    notes.text(
        0,
        0.95,
        "A file stores samples and a rate; a player\ntrusts the rate. Play each WAV:\n\n"
        "- the right rate keeps pitch and length;\n"
        "- a rate 2x too high plays twice as fast and\n  an octave up (A4 440 Hz -> 880 Hz);\n"
        "- 2x too low: half speed, an octave down;\n"
        "- resampling must low-pass first: x[::2]\n  folds everything above the new Nyquist\n"
        "  frequency back down (the falling line).\n\n"
        f"Models trained at {MODEL_RATE} Hz need {MODEL_RATE} Hz input:\n"
        f"librosa.load(path, sr={MODEL_RATE}) resamples.",
        va="top",
        fontsize=10,
        family="monospace",
        transform=notes.transAxes,
    )
    figure.suptitle(
        "Sample rates: one clip made at 44.1 kHz, brought to 22.05 kHz right and wrong "
        "(grey: above the file's Nyquist frequency, nothing there)",
        fontsize=11,
    )
    figure.tight_layout()
    return save_figure(figure, path)


def _mel_grid(images: np.ndarray, titles: list[str], mel: MelSettings, title: str, path: Path) -> Path:
    import matplotlib.pyplot as plt

    columns = min(4, len(images))
    rows = -(-len(images) // columns)
    figure, axes = plt.subplots(rows, columns, figsize=(3.4 * columns, 2.9 * rows + 0.6), squeeze=False)
    for ax in axes.flat[len(images) :]:
        ax.set_axis_off()
    # zip(strict=False): the grid's spare cells are switched off above
    for ax, image, label in zip(axes.flat, images, titles, strict=False):
        _show_mel(ax, image, mel)
        ax.set_title(label, fontsize=9)
        ax.label_outer()
    figure.suptitle(title, fontsize=10)
    figure.tight_layout()
    return save_figure(figure, path)


def _distances_figure(
    nearest: dict[str, tuple[torch.Tensor, torch.Tensor]],
    generated: torch.Tensor,
    data: ImageSet,
    mel: MelSettings,
    config: Config,
    path: Path,
) -> Path:
    import matplotlib.pyplot as plt

    shown = min(4, len(generated))
    figure = plt.figure(figsize=(4 + 3 * shown, 6))
    grid = figure.add_gridspec(2, 1 + shown, width_ratios=(1.6, *([1] * shown)))
    strip = figure.add_subplot(grid[:, 0])
    rng = np.random.default_rng(0)
    for row, (distances, _) in enumerate(nearest.values()):
        values = distances.numpy()
        strip.scatter(values, row + rng.uniform(-0.15, 0.15, len(values)), s=14, alpha=0.7)
        median = distances.median().item()  # torch's median (the lower middle value), as metrics.json has it
        strip.plot([median, median], [row - 0.3, row + 0.3], color="black", linewidth=2)
        strip.annotate(f"median {median:.3f}", (median, row + 0.32), ha="center", fontsize=8)
    strip.set_yticks(range(len(nearest)), [DISTANCE_SETS[name].replace(": ", ":\n") for name in nearest], fontsize=8)
    strip.set_xlim(left=0)
    strip.set(
        xlabel="RMS difference to the nearest training spectrogram\n(grey levels in [0, 1]; lower is closer)",
        title=f"{len(data)} training spectrograms at {config.image_size}x{config.image_size}",
    )

    _, index = nearest["generated"]
    for column in range(shown):
        for row, (image, label) in enumerate(
            (
                ((generated[column, 0] * 255).round().to(torch.uint8).cpu().numpy(), f"sample {column + 1}"),
                (
                    data.images[int(index[column]), 0].cpu().numpy(),
                    (
                        "its nearest training clip\n"
                        f"({audio.TRAINING_KINDS[int(index[column]) % len(audio.TRAINING_KINDS)]}, "
                        f"{nearest['generated'][0][column].item():.3f} away)"
                    ),
                ),
            )
        ):
            ax = figure.add_subplot(grid[row, 1 + column])
            _show_mel(ax, image, mel)
            ax.set_title(label, fontsize=8)
            ax.label_outer()
    figure.suptitle(
        "Do the samples look like the training spectrograms? Nearer than noise, and (ideally) as near "
        "as clips of the same kinds the model never saw",
        fontsize=10,
    )
    figure.tight_layout()
    return save_figure(figure, path)


def _loss_figure(log: TrainLog, config: Config, path: Path) -> Path:
    import matplotlib.pyplot as plt

    figure, ax = plt.subplots(figsize=(8, 4.2))
    plot_losses(ax, log.losses, log.epoch_losses, config.batch_size)
    ax.set(
        ylabel="MSE(predicted eps, eps)",
        title=f"UNet2DModel on {config.image_size}x{config.image_size} spectrograms: "
        f"{log.epoch_losses[0]:.4f} -> {log.epoch_losses[-1]:.4f}",
    )
    ax.legend(fontsize=8)
    figure.tight_layout()
    return save_figure(figure, path)
