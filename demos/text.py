"""Text for the latent diffusion demo: a real `CLIPTokenizer` and a tiny `CLIPTextModel`, built here.

Stable Diffusion turns a prompt into token ids with CLIP's byte-pair tokenizer (a `vocab.json` of
tokens and a `merges.txt` of pair merges, read in rank order) and into one vector per token with
CLIP's text transformer; the UNet attends to those vectors. Its tokenizer knows 49,408 tokens; ours
knows the letters and the caption words of `data.CAPTION_WORDS`, each built from its letters by a
chain of merges, so "a thick slanted seven" is four tokens between <|startoftext|> and
<|endoftext|> (and "backslanted", not a prefix of anything, becomes "back" + "slanted").

`transformers` is imported here only, inside the functions: the demo registry and the quiz never load it.
"""

from __future__ import annotations

import json
import string
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from transformers import CLIPTextModel, CLIPTokenizer

START, END = "<|startoftext|>", "<|endoftext|>"
WORD_END = "</w>"  # CLIP's marker for a token that ends a word


def quiet() -> None:
    """Keep transformers' notices about backends this demo does not use (torchvision image processors, which
    importing diffusers' Stable Diffusion pipelines looks up) out of the demo's progress display."""
    from transformers.utils import logging

    logging.set_verbosity_error()


def vocabulary(words: Sequence[str]) -> tuple[dict[str, int], list[str]]:
    """CLIP-style BPE files for `words`: the token ids (letters, then every merged piece) and the merges.
    Each word is merged left to right, one letter at a time, ending in its `</w>` token."""
    tokens = [START, END, *string.ascii_lowercase, *(letter + WORD_END for letter in string.ascii_lowercase)]
    merges: list[str] = []
    for word in words:
        pieces = [*word[:-1], word[-1] + WORD_END]
        built = pieces[0]
        for piece in pieces[1:]:
            merge = f"{built} {piece}"
            built += piece
            if merge not in merges:
                merges.append(merge)
                tokens.append(built)
    return {token: i for i, token in enumerate(dict.fromkeys(tokens))}, merges


def write_tokenizer_files(folder: Path, words: Sequence[str]) -> tuple[Path, Path]:
    """vocab.json and merges.txt for `words` in `folder`: what `CLIPTokenizer(vocab_file, merges_file)` reads."""
    vocab, merges = vocabulary(words)
    folder.mkdir(parents=True, exist_ok=True)
    vocab_file, merges_file = folder / "vocab.json", folder / "merges.txt"
    vocab_file.write_text(json.dumps(vocab, indent=0), encoding="utf-8")
    merges_file.write_text("#version: 0.2\n" + "\n".join(merges) + "\n", encoding="utf-8")
    return vocab_file, merges_file


def make_tokenizer(folder: Path, words: Sequence[str], max_length: int) -> CLIPTokenizer:
    """A `CLIPTokenizer` over `words`, its files written to `folder`; prompts are padded to `max_length` ids."""
    from transformers import CLIPTokenizer

    vocab_file, merges_file = write_tokenizer_files(folder, words)
    return CLIPTokenizer(
        str(vocab_file),
        str(merges_file),
        model_max_length=max_length,
        bos_token=START,
        eos_token=END,
        pad_token=END,
        unk_token=END,
    )


def make_text_encoder(tokenizer: CLIPTokenizer, width: int, layers: int, heads: int) -> CLIPTextModel:
    """A CLIP text transformer sized for the tokenizer (vocabulary, prompt length), `width` numbers per token."""
    from transformers import CLIPTextConfig, CLIPTextModel

    config = CLIPTextConfig(
        vocab_size=len(tokenizer),
        hidden_size=width,
        intermediate_size=4 * width,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        max_position_embeddings=tokenizer.model_max_length,
        projection_dim=width,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    return CLIPTextModel(config)


def token_ids(tokenizer: Any, prompts: Sequence[str]) -> Any:
    """The ids the Stable Diffusion pipeline feeds its text encoder: padded to the tokenizer's length (int64 tensor)."""
    return tokenizer(
        list(prompts), padding="max_length", max_length=tokenizer.model_max_length, truncation=True, return_tensors="pt"
    ).input_ids
