"""Audio for the audio-spectrograms demo: clips synthesised on the fly, the course's mel
spectrogram images and their inversion, WAV files, and how far a reconstruction is off.

The conversion is the course's `Mel` (unit 4; `diffusers.pipelines.deprecated.audio_diffusion.Mel`)
written against librosa directly, formula for formula: a slice of `x_res * hop - 1` samples gives
`x_res` STFT frames (n_fft 2048, hop 512, centred); their power on `y_res` mel bands, in dB below
the slice's loudest point, clipped at `top_db`, becomes a uint8 image (0 = top_db or more below the
peak, 255 = the peak; row 0 is the lowest band). Back: grey levels to dB to power, the linear
spectrogram that best explains it under the mel filters (non-negative least squares), then
Griffin-Lim, `(x_res - 1) * hop` samples. Why not import `Mel` itself: it is deprecated (diffusers
0.42 keeps it only under `pipelines.deprecated`; importing it prints no warning yet, but it may go),
it converts one slice at a time through PIL and a stateful `load_audio`, and its Griffin-Lim draws
its initial phases from an unseeded generator, so a run could not be repeated. The tests check that
this module gives `Mel`'s images, and its audio when both start from the same phases.

Cost on a CPU: an image takes about 15 ms; going back takes about 2.5 s, nearly all of it the
non-negative least squares (librosa's L-BFGS-B over 1025 x 256 unknowns), Griffin-Lim itself 0.5 s.

Nothing here touches torch: numpy, scipy, librosa and soundfile only.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from learnapp.errors import UserError

ClipKind = Literal["mix", "notes", "chord", "drums", "sweep"]
TRAINING_KINDS: tuple[ClipKind, ...] = ("notes", "chord", "drums", "sweep")
PEAK = 0.9  # every clip and WAV is scaled to this peak: loud, never clipped


@dataclass(frozen=True)
class MelSettings:
    """The course's `Mel` parameters (its defaults, except `n_iter`, which the demo exposes)."""

    x_res: int = 256  # STFT frames per image (time)
    y_res: int = 256  # mel bands per image (frequency)
    sample_rate: int = 22050
    n_fft: int = 2048
    hop_length: int = 512
    top_db: int = 80
    n_iter: int = 32  # Griffin-Lim iterations

    @property
    def slice_size(self) -> int:
        """Samples that make one image: `x_res` frames, the last one centred on the last sample."""
        return self.x_res * self.hop_length - 1

    @property
    def roundtrip_length(self) -> int:
        """Samples Griffin-Lim returns for one image: `x_res` frames, centred, span `(x_res - 1) * hop`."""
        return (self.x_res - 1) * self.hop_length

    @property
    def seconds(self) -> float:
        return self.slice_size / self.sample_rate


# --- synthesis ---------------------------------------------------------------------------------


def synthesize(kind: ClipKind, length: int, sample_rate: int, rng: np.random.Generator) -> np.ndarray:
    """A clip of `length` samples (float32, peak `PEAK`): a plucked melody ("notes"), sustained
    chords ("chord"), a drum pattern ("drums"), a swept tone ("sweep"), or the first three
    together ("mix"). Tempo, key, timbre and pattern are drawn from `rng`."""
    if kind == "mix":
        clip = (
            _notes(length, sample_rate, rng)
            + 0.6 * _chords(length, sample_rate, rng)
            + _drums(length, sample_rate, rng)
        )
    elif kind == "notes":
        clip = _notes(length, sample_rate, rng)
    elif kind == "chord":
        clip = _chords(length, sample_rate, rng)
    elif kind == "drums":
        clip = _drums(length, sample_rate, rng)
    elif kind == "sweep":
        clip = _sweep(length, sample_rate, rng)
    else:
        raise UserError(f"unknown clip kind '{kind}': choose mix, {', '.join(TRAINING_KINDS)}")
    return normalise(clip)


def lesson_clip(sample_rate: int) -> np.ndarray:
    """The sample-rate lesson: one second of A4 (440 Hz, four harmonics) then a two-second
    sweep rising linearly from 200 Hz to 18 kHz, so that both the pitch and the top of the band
    show what a rate change does (linear, so that it spends long enough above 11 kHz to hear)."""
    note = _tone(440.0, sample_rate, sample_rate, harmonics=4, attack=0.01, decay=1.5)
    sweep = _chirp(200.0, 18_000.0, 2 * sample_rate, sample_rate, "linear") * _fade(2 * sample_rate, sample_rate)
    return normalise(np.concatenate([note, 0.5 * sweep]))


def normalise(audio: np.ndarray) -> np.ndarray:
    peak = float(np.max(np.abs(audio))) if audio.size else 0.0
    return (audio * (PEAK / peak) if peak > 0 else audio).astype(np.float32)


def _midi_hz(note: float) -> float:
    return 440.0 * 2 ** ((note - 69) / 12)


def _tone(freq: float, length: int, sample_rate: int, harmonics: int, attack: float, decay: float) -> np.ndarray:
    """Additive synthesis: partial k at k * freq with amplitude 1/k, only those below Nyquist
    (a partial above it would alias), under an attack-then-exponential-decay envelope."""
    t = np.arange(length) / sample_rate
    partials = [k for k in range(1, harmonics + 1) if k * freq < 0.45 * sample_rate]
    wave = sum(np.sin(2 * np.pi * k * freq * t) / k for k in partials)
    return wave * np.minimum(1.0, t / attack) * np.exp(-t / decay)


def _place(buffer: np.ndarray, start: int, sound: np.ndarray) -> None:
    end = min(len(buffer), start + len(sound))
    if start < end:
        buffer[start:end] += sound[: end - start]


def _notes(length: int, sample_rate: int, rng: np.random.Generator) -> np.ndarray:
    """A melody on a major pentatonic scale, plucked: fast attack, exponential decay."""
    beat = 60 / rng.uniform(90, 150)
    root = int(rng.integers(55, 68))
    scale = [root + octave * 12 + step for octave in (0, 1) for step in (0, 2, 4, 7, 9)]
    harmonics, decay = int(rng.integers(1, 7)), rng.uniform(0.15, 0.6)
    out = np.zeros(length)
    start = 0
    while start < length:
        duration = int(rng.choice([0.5, 1.0, 1.0, 2.0]) * beat * sample_rate)
        tone = _tone(
            _midi_hz(rng.choice(scale)),
            duration + int(3 * decay * sample_rate),
            sample_rate,
            harmonics,
            attack=0.005,
            decay=decay,
        )
        _place(out, start, tone)
        start += duration
    return out


def _chords(length: int, sample_rate: int, rng: np.random.Generator) -> np.ndarray:
    """Sustained triads (major or minor, with the root an octave below), a new one every 1.5-3 s."""
    out = np.zeros(length)
    start = 0
    while start < length:
        duration = int(rng.uniform(1.5, 3.0) * sample_rate)
        root = int(rng.integers(48, 60))
        third = 4 if rng.random() < 0.5 else 3
        envelope = np.minimum(1.0, np.arange(duration) / (0.08 * sample_rate)) * _fade(duration, sample_rate, 0.2)
        for note in (root - 12, root, root + third, root + 7):
            _place(out, start, _tone(_midi_hz(note), duration, sample_rate, 3, attack=0.08, decay=20.0) * envelope)
        start += duration
    return out


def _drums(length: int, sample_rate: int, rng: np.random.Generator) -> np.ndarray:
    """A one-bar pattern of sixteenth notes, repeated: kick on 1 and 3 (and sometimes more),
    snare on 2 and 4, closed hi-hat on eighths or sixteenths."""
    step = int(60 / rng.uniform(90, 150) / 4 * sample_rate)
    kicks = {0, 8} | {s for s in range(16) if rng.random() < 0.15}
    snares = {4, 12}
    hats = set(range(0, 16, 1 if rng.random() < 0.5 else 2))
    t = np.arange(int(0.4 * sample_rate)) / sample_rate
    # The kick's pitch falls from 120 Hz to 45 Hz; its phase is the integral of that frequency.
    kick_freq = 45 + 75 * np.exp(-t / 0.03)
    kick = np.sin(2 * np.pi * np.cumsum(kick_freq) / sample_rate) * np.exp(-t / 0.12)
    out = np.zeros(length)
    for index, start in enumerate(range(0, length, step)):
        beat = index % 16
        if beat in kicks:
            _place(out, start, kick)
        if beat in snares:
            _place(
                out,
                start,
                0.5 * rng.standard_normal(len(t)) * np.exp(-t / 0.06)
                + 0.3 * np.sin(2 * np.pi * 190 * t) * np.exp(-t / 0.04),
            )
        if beat in hats:
            hiss = np.diff(rng.standard_normal(len(t) + 2), n=2)  # differencing tilts the noise to high frequencies
            _place(out, start, 0.08 * hiss * np.exp(-t / 0.015))
    return out


def _sweep(length: int, sample_rate: int, rng: np.random.Generator) -> np.ndarray:
    """A logarithmic sweep between a low and a high frequency, up or down."""
    low, high = rng.uniform(60, 400), rng.uniform(2_000, min(8_000, 0.45 * sample_rate))
    start, end = (low, high) if rng.random() < 0.5 else (high, low)
    return _chirp(start, end, length, sample_rate) * _fade(length, sample_rate)


def _chirp(
    start: float, end: float, length: int, sample_rate: int, method: Literal["linear", "logarithmic"] = "logarithmic"
) -> np.ndarray:
    from scipy.signal import chirp

    t = np.arange(length) / sample_rate
    return chirp(t, f0=start, t1=t[-1], f1=end, method=method)


def _fade(length: int, sample_rate: int, seconds: float = 0.02) -> np.ndarray:
    """Short linear fades at both ends, so a clip never starts or stops with a click."""
    ramp = min(length // 2, int(seconds * sample_rate))
    envelope = np.ones(length)
    if ramp:
        envelope[:ramp] = np.linspace(0, 1, ramp)
        envelope[-ramp:] = np.linspace(1, 0, ramp)
    return envelope


# --- the course's conversion -------------------------------------------------------------------


def audio_to_image(audio: np.ndarray, mel: MelSettings = MelSettings()) -> np.ndarray:
    """Mel spectrogram images (uint8, `(..., y_res, x_res)`) of slices of `mel.slice_size` samples."""
    import librosa

    power = librosa.feature.melspectrogram(
        y=audio, sr=mel.sample_rate, n_fft=mel.n_fft, hop_length=mel.hop_length, n_mels=mel.y_res
    )
    # `power_to_db(ref=np.max, top_db=...)` slice by slice: dB below the slice's peak, floored top_db below its top.
    decibels = librosa.power_to_db(power, ref=power.max(axis=(-2, -1), keepdims=True), top_db=None)
    decibels = np.maximum(decibels, decibels.max(axis=(-2, -1), keepdims=True) - mel.top_db)
    return (((decibels + mel.top_db) * 255 / mel.top_db).clip(0, 255) + 0.5).astype(np.uint8)


def image_to_magnitude(image: np.ndarray, mel: MelSettings = MelSettings()) -> np.ndarray:
    """The linear STFT magnitude (`n_fft // 2 + 1` x `x_res`) that best explains a mel image:
    grey levels to dB to power, then non-negative least squares under the mel filters. Its scale
    is relative: the image's peak has power 1."""
    import librosa

    power = librosa.db_to_power(image.astype(np.float64) * mel.top_db / 255 - mel.top_db)
    return librosa.feature.inverse.mel_to_stft(power, sr=mel.sample_rate, n_fft=mel.n_fft)


def griffin_lim(
    magnitude: np.ndarray, mel: MelSettings = MelSettings(), seed: int = 0, n_iter: int | None = None
) -> np.ndarray:
    """Audio whose STFT magnitude approaches `magnitude`: Griffin-Lim (librosa's fast variant,
    momentum 0.99), starting from random phases drawn from `seed`. `n_iter=0` returns the
    random-phase starting point itself."""
    import librosa

    return librosa.griffinlim(
        magnitude,
        n_iter=mel.n_iter if n_iter is None else n_iter,
        hop_length=mel.hop_length,
        n_fft=mel.n_fft,
        dtype=np.float32,
        random_state=np.random.default_rng(seed),
    )


def image_to_audio(image: np.ndarray, mel: MelSettings = MelSettings(), seed: int = 0) -> np.ndarray:
    """The course's `Mel.image_to_audio`, seeded: `(x_res - 1) * hop` samples."""
    return griffin_lim(image_to_magnitude(image, mel), mel, seed)


def slice_audio(audio: np.ndarray, index: int, mel: MelSettings = MelSettings()) -> np.ndarray:
    """Slice `index` of `audio`, as `Mel.get_audio_slice` cuts it (audio shorter than one image
    is padded with silence first, as `Mel.load_audio` does)."""
    check_slice(index, len(audio), mel)
    if len(audio) < mel.x_res * mel.hop_length:
        audio = np.concatenate([audio, np.zeros(mel.x_res * mel.hop_length - len(audio), audio.dtype)])
    return audio[index * mel.slice_size : (index + 1) * mel.slice_size]


def check_slice(index: int, samples: int, mel: MelSettings = MelSettings()) -> None:
    """A `UserError` unless audio of `samples` samples has a slice `index` (as `slice_audio` cuts it)."""
    count = max(samples, mel.x_res * mel.hop_length) // mel.slice_size
    if not 0 <= index < count:
        raise UserError(
            f"--audio-slice {index}: the audio has {count} slice(s) of {mel.seconds:.2f} s; choose 0 to {count - 1}"
        )


# --- how far off a reconstruction is -----------------------------------------------------------


def stft_magnitude(audio: np.ndarray, mel: MelSettings = MelSettings()) -> np.ndarray:
    import librosa

    return np.abs(librosa.stft(audio, n_fft=mel.n_fft, hop_length=mel.hop_length))


def with_phase_of(magnitude: np.ndarray, source: np.ndarray, mel: MelSettings = MelSettings()) -> np.ndarray:
    """Audio (`(frames - 1) * hop` samples) from `magnitude` and the true phases of `source`'s STFT: what a
    perfect phase guess would give. The magnitude a mel image yields is no STFT of any signal (the least
    squares leave bins between mel bands near zero); turned into audio, overlapping frames blend them, as
    every reconstruction that ends in audio does. Measuring that audio keeps the comparison fair."""
    import librosa

    phase = np.exp(1j * np.angle(librosa.stft(source, n_fft=mel.n_fft, hop_length=mel.hop_length)))
    length = (magnitude.shape[-1] - 1) * mel.hop_length
    return librosa.istft(magnitude * phase, hop_length=mel.hop_length, n_fft=mel.n_fft, length=length)


def spectral_errors(reference: np.ndarray, estimate: np.ndarray, top_db: float = 80.0) -> dict[str, float]:
    """How far STFT magnitude `estimate` is from `reference` (same shape), phase ignored.

    A mel image keeps loudness relative to its peak only, so the estimate's overall level is
    first matched to the reference (the least-squares gain). Then:
    - spectral convergence: ||R - E|| / ||R|| (Frobenius): 0 is perfect, 1 is as far as silence;
    - log-spectral distance: per frame, the RMS over frequencies of the dB difference, averaged
      over frames; both floored `top_db` below the reference's peak, the range an image keeps.
    """
    reference, estimate = np.asarray(reference, np.float64), np.asarray(estimate, np.float64)
    energy = float(np.sum(estimate * estimate))
    if energy > 0:
        estimate = estimate * float(np.sum(reference * estimate)) / energy
    convergence = float(np.linalg.norm(reference - estimate) / max(float(np.linalg.norm(reference)), 1e-12))
    floor = max(float(reference.max()), 1e-12) * 10 ** (-top_db / 20)
    difference = 20 * np.log10(np.maximum(reference, floor)) - 20 * np.log10(np.maximum(estimate, floor))
    distance = float(np.mean(np.sqrt(np.mean(difference**2, axis=0))))
    return {"spectral_convergence": convergence, "log_spectral_distance_db": distance}


def dominant_frequency(audio: np.ndarray, sample_rate: float) -> float:
    """The frequency (Hz) of the strongest peak in `audio`'s spectrum (Hann window, 3-point
    parabolic interpolation between FFT bins)."""
    spectrum = np.abs(np.fft.rfft(audio * np.hanning(len(audio))))
    k = int(np.argmax(spectrum[1:-1])) + 1
    left, mid, right = np.log(spectrum[k - 1 : k + 2] + 1e-20)
    offset = 0.5 * (left - right) / (left - 2 * mid + right) if left - 2 * mid + right else 0.0
    return float((k + offset) * sample_rate / len(audio))


# --- files -------------------------------------------------------------------------------------


def write_wav(path: Path, audio: np.ndarray, sample_rate: int) -> Path:
    """16-bit PCM, scaled to peak `PEAK` (Griffin-Lim's output has no meaningful level of its own)."""
    import soundfile

    soundfile.write(path, normalise(audio), sample_rate, subtype="PCM_16")
    return path


def check_audio_file(path: str) -> float:
    """The duration in seconds of the audio file at `path`; a `UserError` if it is not one."""
    import soundfile

    file = Path(path).expanduser()
    if file.is_dir():
        raise UserError(f"--audio {path}: a folder, not an audio file")
    if not file.exists():
        raise UserError(f"--audio {path}: no such file")
    if not file.is_file():  # a device or a pipe: reading it might never end
        raise UserError(f"--audio {path}: not a regular file")
    try:
        info = soundfile.info(str(file))
    except Exception as exc:
        raise UserError(f"--audio {path}: not a readable audio file ({_reason(exc)})") from None
    if info.frames == 0:
        raise UserError(f"--audio {path}: the file holds no audio")
    return info.frames / info.samplerate


def read_audio(path: str, sample_rate: int) -> np.ndarray:
    """The file's audio as mono float32 at `sample_rate` (librosa resamples with soxr)."""
    import librosa

    check_audio_file(path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # librosa warns before falling back to audioread
            audio, _ = librosa.load(Path(path).expanduser(), sr=sample_rate, mono=True)
    except Exception as exc:
        raise UserError(f"--audio {path}: cannot decode it ({_reason(exc)})") from None
    if not np.all(np.isfinite(audio)):
        raise UserError(f"--audio {path}: the decoded audio has NaN or infinite samples")
    return audio


def _reason(exc: Exception) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 120 else text[:117] + "..."
