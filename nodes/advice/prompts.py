"""What the prompt rules read from a prompt: its token count and how it opens.

A prompt's exact token count needs the CLIP tokenizer, which takes about a second to
build (it is built on a background thread in the app, see :mod:`nodes.tokens`). Until it
is ready, :func:`prompt_tokens` gives a lower bound that needs nothing: CLIP's tokenizer
first splits text into word pieces (runs of letters, single digits, runs of punctuation,
's 't 're...) and encodes each into one or more tokens, so the number of pieces never
exceeds the number of tokens. A lower bound over 75 is certain; the message says "at
least" then.

:func:`leading_filler` is the ``prompt.order`` heuristic: it reads the prompt's words (the
weights' brackets dropped, lowercased) from the start and counts how many in a row are
filler (:data:`~nodes.advice.table.FILLER_WORDS`: quality tags such as "masterpiece, best
quality, 8k" and words such as "a very beautiful image of") before the first word that is
not. Only that opening run is judged, not the words later on.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from nodes.advice.table import FILLER_WORDS, PROMPT_EXACT_FROM
from nodes.paths import FileResolver

__all__ = ["TokenCount", "leading_filler", "prompt_tokens", "word_pieces"]

_PIECES = re.compile(r"'s|'t|'re|'ve|'m|'ll|'d|[^\W\d_]+|\d|(?:[^\s\w]|_)+", re.IGNORECASE)
"""CLIP's pre-tokenizer pattern (letters, digits one by one, other symbols) in ``re``."""
_WORDS = re.compile(r"[^\W_]+")


@dataclass(frozen=True, slots=True)
class TokenCount:
    count: int
    exact: bool
    """False: ``count`` is a lower bound (the tokenizer is not ready)."""

    def __str__(self) -> str:
        return str(self.count) if self.exact else f"at least {self.count}"


def _plain_text(text: str) -> str:
    """The prompt's words without weight syntax and embedding references."""
    from nodes.api import NodeError
    from nodes.catalog.embeddings import split_refs
    from nodes.diffusion.prompt import parse_weights

    try:
        segments = [segment for segment, _ in parse_weights(text)]
    except NodeError:
        segments = [text]  # a bad weight is the text node's error; count the raw text
    runs = [part for s in segments for part in split_refs(s) if isinstance(part, str)]
    return " ".join(runs)


def word_pieces(text: str) -> int:
    """How many word pieces CLIP's tokenizer splits ``text`` into: a lower bound of its
    token count (each piece is one token or more)."""
    return len(_PIECES.findall(_plain_text(text).lower()))


def prompt_tokens(
    text: str,
    resolve: FileResolver | None = None,
    convention: str = "",
    *,
    load_tokenizer: bool = False,
) -> TokenCount:
    """``text``'s token count: exact when the tokenizer is ready (or ``load_tokenizer``
    allows building it, for a prompt long enough to be worth it), else the lower bound."""
    from nodes import tokens

    pieces = word_pieces(text)
    if load_tokenizer and pieces >= PROMPT_EXACT_FROM:
        tokens.load_tokenizer()
    try:
        exact = tokens.exact_count(text, resolve, convention)
    except RuntimeError:  # a fast tokenizer busy on another thread ("Already borrowed")
        exact = None
    if exact is not None:
        return TokenCount(exact, True)
    return TokenCount(pieces, False)


def leading_filler(text: str) -> tuple[int, list[str], bool]:
    """(how many words in a row open the prompt as filler, those words, whether any word
    that is not filler follows them)."""
    words = _WORDS.findall(_plain_text(text).lower())
    count = 0
    for word in words:
        if word not in FILLER_WORDS:
            break
        count += 1
    return count, words[:count], count < len(words)
