"""The CLIP tokenizer, built offline from OpenAI's published BPE merges.

No PyPI package ships CLIP's tokenizer in Hugging Face format, and we never fetch one from
a hub, so the vocabulary is rebuilt here from `bpe_simple_vocab_16e6.txt.gz` the way
OpenAI's `SimpleTokenizer` builds it: the 256 byte symbols, the same symbols with the
end-of-word marker `</w>`, the first 48,894 merges concatenated, and the two special
tokens — 49,408 entries.

SD1.x, SD2.x and SDXL all use this vocabulary. They differ in padding only: the OpenAI
CLIP-L encoder (SD1.x, SDXL's first encoder) was trained padding with `<|endoftext|>`,
while the OpenCLIP encoders (SD2.x, SDXL's second encoder) pad with `!` (id 0), which is
what the diffusers pipelines' tokenizers for those models do.
"""

from __future__ import annotations

import gzip
from functools import cache
from typing import TYPE_CHECKING, Any

from nodes.models.errors import ModelError
from nodes.models.paths import resources_dir

if TYPE_CHECKING:
    from pathlib import Path

    from transformers import CLIPTokenizer

BOS_TOKEN = "<|startoftext|>"
EOS_TOKEN = "<|endoftext|>"
OPENCLIP_PAD_TOKEN = "!"
"""The padding of OpenCLIP encoders (SD2.x, SDXL's second): id 0, not the end token."""
MAX_LENGTH = 77
VOCAB_SIZE = 49408
_MERGES_USED = VOCAB_SIZE - 2 * 256 - 2  # 48,894: what OpenAI's SimpleTokenizer keeps


def bpe_path() -> Path:
    """The shipped OpenAI BPE merges file."""
    return resources_dir() / "tokenizers" / "clip" / "bpe_simple_vocab_16e6.txt.gz"


@cache
def _vocab_and_merges() -> tuple[dict[str, int], list[tuple[str, str]]]:
    from transformers.convert_slow_tokenizer import bytes_to_unicode

    path = bpe_path()
    try:
        lines = gzip.decompress(path.read_bytes()).decode("utf-8").split("\n")
    except OSError as exc:
        raise ModelError(f"cannot read the CLIP tokenizer data {path}: {exc}") from exc
    # Line 0 is a version header; transformers 5.x needs merges as tuples, not "a b" strings.
    merges = [tuple(line.split()) for line in lines[1 : 1 + _MERGES_USED]]
    if len(merges) != _MERGES_USED or any(len(m) != 2 for m in merges):
        raise ModelError(f"the CLIP tokenizer data {path} is damaged")
    symbols = list(bytes_to_unicode().values())
    tokens = symbols + [s + "</w>" for s in symbols] + ["".join(m) for m in merges]
    tokens += [BOS_TOKEN, EOS_TOKEN]
    return {token: i for i, token in enumerate(tokens)}, merges  # type: ignore[return-value]


@cache
def clip_tokenizer(pad_token: str = EOS_TOKEN) -> CLIPTokenizer:
    """A CLIP tokenizer (77 tokens) padding with `pad_token`; cached, so treat it as shared.

    Use the default for CLIP-L (SD1.x, SDXL's first encoder) and `OPENCLIP_PAD_TOKEN` for
    OpenCLIP encoders (SD2.x, SDXL's second). Call it as the diffusers pipelines do:
    `tokenizer(prompt, padding="max_length", max_length=77, truncation=True)`.
    """
    from transformers import CLIPTokenizer

    vocab, merges = _vocab_and_merges()
    if pad_token not in vocab:
        raise ValueError(f"pad token {pad_token!r} is not in the CLIP vocabulary")
    # Passing vocab_file=/merges_file= instead silently builds a 2-token tokenizer in
    # transformers 5.x: the in-memory vocabulary and merges are the reliable route.
    # transformers takes the merges as pairs at run time; its hint says strings.
    pairs: Any = list(merges)
    return CLIPTokenizer(
        vocab=dict(vocab),
        merges=pairs,
        pad_token=pad_token,
        model_max_length=MAX_LENGTH,
    )
