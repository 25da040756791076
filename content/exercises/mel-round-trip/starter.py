"""Exercise mel-round-trip: audio <-> the mel spectrogram images of the audio unit (the course's Mel)."""

import numpy as np


def mel_round_trip(audio: np.ndarray, sample_rate: int, n_mels: int) -> tuple[np.ndarray, np.ndarray]:
    """Turn a slice of audio into a grey mel spectrogram image, and the image back into mel power.

    The course's settings: n_fft = 2048, hop_length = 512, top_db = 80.

    Args:
        audio: a mono slice of x_res · 512 - 1 samples (x_res frames), float32.
        sample_rate: e.g. 22050.
        n_mels: the image's height (y_res), e.g. 256.

    Forward (Mel.audio_slice_to_image), with librosa:
        S     = librosa.feature.melspectrogram(y=audio, sr=sample_rate, n_fft=2048, hop_length=512, n_mels=n_mels)
        dB    = librosa.power_to_db(S, ref=np.max, top_db=80)                  in [-80, 0]
        image = (((dB + 80) · 255 / 80).clip(0, 255) + 0.5).astype(np.uint8)   shape (n_mels, x_res)
    Back (the start of Mel.image_to_audio, before Griffin-Lim recovers phases):
        dB'   = image.astype(float) · 80 / 255 - 80
        S'    = librosa.db_to_power(dB')                                      float64

    Returns:
        (image, S'): uint8 of shape (n_mels, x_res), and the recovered mel power, same shape.
    """
    import librosa  # noqa: F401  (librosa.feature.melspectrogram, power_to_db, db_to_power)

    raise NotImplementedError("mel power -> dB -> grey levels, and back")
