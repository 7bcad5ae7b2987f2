"""Prompt tokens without torch: the chunking the text encoder uses, and exact counts.

The desktop shows a prompt's token count as you type. It comes from the same tokenizer
and the same word-by-word chunking as :mod:`nodes.diffusion.text`, so the number shown is
the number encoded. Building the tokenizer takes about a second (the BPE vocabulary): it
happens on a background thread (:func:`nodes.runtime.warm_up`), and until then
:func:`exact_count` answers None so the caller can show an estimate.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from nodes.diffusion.prompt import parse_weights

_ready = threading.Event()


CHUNK = 75
LONG_WORD = 8
"""Words of at least this many tokens may be split across chunks (ComfyUI's rule)."""


@dataclass(frozen=True)
class Tokens:
    chunks: list[list[tuple[int, float]]]
    """Each chunk's (token id, weight) pairs, without start/end/padding."""
    count: int


def tokenize(tokenizer: Any, text: str) -> Tokens:
    """The chunks ``text`` encodes to (weights parsed, not checked)."""
    return tokenize_segments(tokenizer, parse_weights(text))


def tokenize_segments(tokenizer: Any, segments: list[tuple[str, float]]) -> Tokens:
    """The chunks of already parsed (segment, weight) pairs; linear in the prompt's length."""
    words: list[list[tuple[int, float]]] = []
    for segment, weight in segments:
        for word in segment.replace("\n", " ").split(" "):
            if word:
                ids = tokenizer.encode(word, add_special_tokens=False)
                if ids:
                    words.append([(token, weight) for token in ids])
    chunks: list[list[tuple[int, float]]] = [[]]
    for word in words:
        done = 0  # tokens of this word already placed (no slicing: a long word is linear)
        while done < len(word):
            room = CHUNK - len(chunks[-1])
            left = len(word) - done
            if left <= room:
                chunks[-1].extend(word[done:] if done else word)
                done = len(word)
            elif left >= LONG_WORD or not chunks[-1]:
                chunks[-1].extend(word[done : done + room])
                done += room
                chunks.append([])
            else:
                chunks.append([])
        if len(chunks[-1]) == CHUNK:
            chunks.append([])
    if len(chunks) > 1 and not chunks[-1]:
        chunks.pop()
    return Tokens(chunks, sum(len(w) for w in words))


def load_tokenizer() -> None:
    """Build the CLIP tokenizer (slow, once); :func:`exact_count` works from then on."""
    from nodes.models.tokenizer import clip_tokenizer

    clip_tokenizer()
    _ready.set()


def exact_count(text: str) -> int | None:
    """The number of tokens ``text`` encodes to, or None while the tokenizer is loading."""
    if not _ready.is_set():
        return None
    from nodes.models.tokenizer import clip_tokenizer

    return tokenize(clip_tokenizer(), text).count
