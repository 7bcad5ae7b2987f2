"""Prompt tokens without torch: the chunking the text encoder uses, and exact counts.

The desktop shows a prompt's token count as you type. It comes from the same tokenizer
and the same chunking as :mod:`nodes.diffusion.text`, so the number shown is the number
encoded; a textual-inversion embedding (``embedding:NAME``) counts as its vectors
(:mod:`nodes.catalog.embeddings` reads how many without torch). Building the tokenizer
takes about a second (the BPE vocabulary): it happens on a background thread
(:func:`nodes.runtime.warm_up`), and until then :func:`exact_count` answers None so the
caller can show an estimate.

Chunks hold 75 tokens (77 with the start and end tokens). How tokens are grouped before
they are cut into chunks is the text node's ``convention``:

- ``diffusers`` (Daguerre's rule): each word is a group;
- ``comfyui`` (ComfyUI's ``sd1_clip`` rule): each weighted run of text between
  embeddings is one group, and each embedding another.

Either way a group that does not fit in the current chunk starts the next one, unless it
has at least :data:`LONG_WORD` tokens: then it fills the chunk and goes on in the next.
So a 176-token prompt of one weighted run is [75, 75, 26] under ComfyUI's rule, and its
words give [75, 74, 27] under Daguerre's.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from nodes.catalog.embeddings import find_embedding, split_refs, vector_count
from nodes.diffusion.prompt import parse_weights
from nodes.diffusion.schedulers import COMFYUI
from nodes.paths import FileResolver

_ready = threading.Event()


CHUNK = 75
LONG_WORD = 8
"""Groups of at least this many tokens may be split across chunks (ComfyUI's rule)."""


@dataclass(frozen=True, slots=True)
class Vector:
    """Vector ``index`` of the embedding ``name``, where a token id would be."""

    name: str
    index: int


Token = int | Vector
VectorCount = Callable[[str], int | None]
"""An embedding's name → its number of vectors, or None when it is unknown (it then adds
nothing; the text node reports it before encoding)."""


@dataclass(frozen=True)
class Tokens:
    chunks: list[list[tuple[Token, float]]]
    """Each chunk's (token id or embedding vector, weight) pairs, without start/end/padding."""
    count: int


def tokenize(
    tokenizer: Any, text: str, *, vectors: VectorCount | None = None, convention: str = ""
) -> Tokens:
    """The chunks ``text`` encodes to (weights parsed, not checked)."""
    segments = parse_weights(text, comfyui=convention == COMFYUI)
    return tokenize_segments(tokenizer, segments, vectors=vectors, convention=convention)


def tokenize_segments(
    tokenizer: Any,
    segments: list[tuple[str, float]],
    *,
    vectors: VectorCount | None = None,
    convention: str = "",
) -> Tokens:
    """The chunks of already parsed (segment, weight) pairs; linear in the prompt's length.

    ``convention`` is ``comfyui`` for ComfyUI's grouping (parse with ``comfyui=True``, as
    ComfyUI keeps groups of one weight apart), anything else for Daguerre's.
    """
    count = vectors or _no_vectors
    groups: list[list[tuple[Token, float]]] = []
    for segment, weight in segments:
        for part in split_refs(segment):
            if isinstance(part, tuple):
                (name,) = part
                n = count(name) or 0
                if n:
                    groups.append([(Vector(name, i), weight) for i in range(n)])
                continue
            words = [_ids(tokenizer, w, weight) for w in part.replace("\n", " ").split(" ")]
            if convention == COMFYUI:
                # ComfyUI tokenizes the run whole; CLIP's tokenizer splits at spaces first,
                # so that is its words' tokens end to end.
                groups.append([t for word in words for t in word])
            else:
                groups.extend(words)
    groups = [g for g in groups if g]
    return Tokens(_chunked(groups), sum(len(g) for g in groups))


def _no_vectors(name: str) -> int | None:
    return None


def _ids(tokenizer: Any, word: str, weight: float) -> list[tuple[Token, float]]:
    if not word:
        return []
    return [(token, weight) for token in tokenizer.encode(word, add_special_tokens=False)]


def _chunked(groups: list[list[tuple[Token, float]]]) -> list[list[tuple[Token, float]]]:
    chunks: list[list[tuple[Token, float]]] = [[]]
    for group in groups:
        done = 0  # tokens of this group already placed (no slicing: a long one is linear)
        while done < len(group):
            room = CHUNK - len(chunks[-1])
            left = len(group) - done
            if left <= room:
                chunks[-1].extend(group[done:] if done else group)
                done = len(group)
            elif left >= LONG_WORD or not chunks[-1]:
                chunks[-1].extend(group[done : done + room])
                done += room
                chunks.append([])
            else:
                chunks.append([])
        if len(chunks[-1]) == CHUNK:
            chunks.append([])
    if len(chunks) > 1 and not chunks[-1]:
        chunks.pop()
    return chunks


def embedding_vectors(resolve: FileResolver | None) -> VectorCount:
    """Vector counts of the embeddings ``resolve`` finds (in the models folders), read
    without torch and remembered per file version."""

    def count(name: str) -> int | None:
        if resolve is None:
            return None
        path = find_embedding(resolve, name)
        return vector_count(path) if path is not None else None

    return count


def load_tokenizer() -> None:
    """Build the CLIP tokenizer (slow, once); :func:`exact_count` works from then on.

    It imports transformers, whose lazy imports race between threads (``cannot import name
    'CLIPTokenizer'``), so it holds the model-library lock of :mod:`nodes.runtime` until
    those are imported, like a run."""
    from nodes.import_lock import model_library_imports
    from nodes.models.tokenizer import clip_tokenizer

    with model_library_imports():
        clip_tokenizer()
    _ready.set()


def exact_count(text: str, resolve: FileResolver | None = None, convention: str = "") -> int | None:
    """The number of tokens ``text`` encodes to, or None while the tokenizer is loading.

    Embeddings count as their vectors when ``resolve`` finds them (the app passes its
    models folders); an unknown one counts nothing, as it cannot be encoded.
    """
    if not _ready.is_set():
        return None
    from nodes.models.tokenizer import clip_tokenizer

    vectors = embedding_vectors(resolve)
    return tokenize(clip_tokenizer(), text, vectors=vectors, convention=convention).count
