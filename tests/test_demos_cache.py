"""The model cache: get-or-train, versions, and what a damaged entry does."""

from __future__ import annotations

import pytest

from learnapp.demos import cache
from learnapp.demos.classifier import DigitClassifier
from learnapp.errors import UserError


def trainer(calls: list[int], width: int = 8):
    def train():
        calls.append(width)
        return DigitClassifier(width=width), {"loss": 0.5}

    return train


def test_a_model_is_trained_once_then_loaded():
    calls: list[int] = []
    _, info = cache.get_or_train("judge", {"seed": 1}, DigitClassifier, trainer(calls))
    assert info["trained_now"] and info["loss"] == 0.5 and calls == [8]
    again, info = cache.get_or_train("judge", {"seed": 1}, DigitClassifier, trainer(calls))
    assert not info["trained_now"] and info["loss"] == 0.5 and calls == [8]
    assert again.config.width == 8 and info["cache"] == str(cache.entry("judge", {"seed": 1}).path)
    cache.get_or_train("judge", {"seed": 2}, DigitClassifier, trainer(calls))  # other settings, another entry
    assert calls == [8, 8]


def test_a_new_version_of_a_kind_trains_again_into_the_same_entry():
    calls: list[int] = []
    cache.get_or_train("judge", {}, DigitClassifier, trainer(calls, 8))
    _, info = cache.get_or_train("judge", {}, DigitClassifier, trainer(calls, 16), version=2)
    assert info["trained_now"] and calls == [8, 16]
    model, info = cache.get_or_train("judge", {}, DigitClassifier, trainer(calls), version=2)
    assert not info["trained_now"] and model.config.width == 16


@pytest.mark.parametrize("damage", ["learnapp.json", "config.json", "diffusion_pytorch_model.safetensors"])
def test_a_damaged_entry_is_a_user_error_until_retrained(damage):
    calls: list[int] = []
    cache.get_or_train("judge", {}, DigitClassifier, trainer(calls))
    path = cache.entry("judge", {}).path
    (path / damage).write_bytes(b"\x00garbage")
    with pytest.raises(UserError, match=f"the cached model {path} is damaged .*--retrain"):
        cache.get_or_train("judge", {}, DigitClassifier, trainer(calls))
    assert calls == [8]  # not silently trained over
    _, info = cache.get_or_train("judge", {}, DigitClassifier, trainer(calls), retrain=True)
    assert info["trained_now"] and calls == [8, 8]
    _, info = cache.get_or_train("judge", {}, DigitClassifier, trainer(calls))
    assert not info["trained_now"]
    assert not list(cache.models_dir().glob("*.tmp-*"))
