"""Exercise mel-round-trip: the reference solution (diffusers' deprecated audio_diffusion Mel)."""

import numpy as np


def mel_round_trip(audio: np.ndarray, sample_rate: int, n_mels: int) -> tuple[np.ndarray, np.ndarray]:
    """Power mel spectrogram -> dB below the peak -> uint8 grey levels; and grey levels -> power."""
    import librosa

    top_db = 80
    power = librosa.feature.melspectrogram(y=audio, sr=sample_rate, n_fft=2048, hop_length=512, n_mels=n_mels)
    decibels = librosa.power_to_db(power, ref=np.max, top_db=top_db)
    image = (((decibels + top_db) * 255 / top_db).clip(0, 255) + 0.5).astype(np.uint8)
    power_back = librosa.db_to_power(image.astype(float) * top_db / 255 - top_db)
    return image, power_back
