"""Check for the audio unit's mel spectrogram images (the course's `Mel`, unit 4).

Expected values: `diffusers.pipelines.deprecated.audio_diffusion.Mel` (its `audio_slice_to_image`,
and the first lines of its `image_to_audio`: grey levels -> dB -> power, before Griffin-Lim).
"""

from __future__ import annotations

import librosa
import numpy as np
import numpy.typing as npt

from learnapp.exercises.compare import Case, Check, Mistake, on

N_FFT, HOP, TOP_DB = 2048, 512, 80


def mel_round_trip(
    audio: npt.NDArray[np.float32],
    sample_rate: int,
    n_mels: int,
    *,
    to_db: str = "power",
    ref: str = "max",
    rounding: float = 0.5,
    back: str = "affine",
) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.float64]]:
    power = librosa.feature.melspectrogram(y=audio, sr=sample_rate, n_fft=N_FFT, hop_length=HOP, n_mels=n_mels)
    reference = np.max if ref == "max" else 1.0
    convert = librosa.power_to_db if to_db == "power" else librosa.amplitude_to_db
    decibels = convert(power, ref=reference, top_db=TOP_DB)
    image = (((decibels + TOP_DB) * 255 / TOP_DB).clip(0, 255) + rounding).astype(np.uint8)
    grey = image.astype("float")
    decibels_back = grey * TOP_DB / 255 - TOP_DB if back == "affine" else grey
    return image, librosa.db_to_power(decibels_back)


def _expected(
    audio: npt.NDArray[np.float32], sample_rate: int, n_mels: int
) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.float64]]:
    from diffusers.pipelines.deprecated.audio_diffusion.mel import Mel

    frames = (len(audio) + 1) // HOP
    mel = Mel(x_res=frames, y_res=n_mels, sample_rate=sample_rate, n_fft=N_FFT, hop_length=HOP, top_db=TOP_DB)
    mel.load_audio(raw_audio=audio)
    image = np.array(mel.audio_slice_to_image(0))
    return image, librosa.db_to_power(image.astype("float") * TOP_DB / 255 - TOP_DB)


def _cases() -> list[Case]:
    cases = []
    for seed, (frames, n_mels, kind) in enumerate(((8, 256, "tone"), (16, 128, "noise"), (6, 64, "chirp"))):

        def arguments(
            frames: int = frames, n_mels: int = n_mels, kind: str = kind, seed: int = seed
        ) -> tuple[npt.NDArray[np.float32], int, int]:
            sample_rate, length = 22050, frames * HOP - 1
            t = np.arange(length) / sample_rate
            if kind == "tone":
                audio = 0.5 * np.sin(2 * np.pi * 440 * t) + 0.2 * np.sin(2 * np.pi * 1320 * t)
            elif kind == "noise":
                audio = 0.3 * np.random.default_rng(seed).standard_normal(length)
            else:
                audio = 0.8 * np.sin(2 * np.pi * (200 + 4000 * t) * t)
            return audio.astype(np.float32), sample_rate, n_mels

        cases.append(
            Case(
                f"{frames * HOP - 1} samples of a {kind} at 22050 Hz, n_mels {n_mels}",
                arguments,
                on(_expected, arguments),
                seed,
            )
        )
    return cases


MEL_ROUND_TRIP = Check(
    "mel_round_trip",
    _cases,
    (
        Mistake(
            "amplitude_to_db on a POWER spectrogram: melspectrogram gives power (|STFT|²), use power_to_db",
            lambda *a: mel_round_trip(*a, to_db="amplitude"),
        ),
        Mistake(
            "dB relative to 1.0: the course takes ref=np.max, so the loudest point is 0 dB and white",
            lambda *a: mel_round_trip(*a, ref="one"),
        ),
        Mistake(
            "grey levels truncated: add 0.5 before .astype(np.uint8) so they round to the nearest level",
            lambda *a: mel_round_trip(*a, rounding=0.0),
        ),
        Mistake(
            "on the way back the grey levels were taken as dB: dB = grey·top_db/255 - top_db first",
            lambda *a: mel_round_trip(*a, back="grey"),
        ),
    ),
    atol=0,
    rtol=1e-6,
    tolerance_note="the image exactly (uint8); the power within 1e-6 relative",
)
