"""Prompt weighting syntax, as ComfyUI reads it.

``(word:1.3)`` weighs ``word`` 1.3; ``(word)`` weighs it 1.1; nesting multiplies (in
ComfyUI, and with ``comfyui=True``, an explicit weight replaces the one around it instead:
``((word:1.3))`` is 1.3, not 1.43); ``\\(`` and ``\\)`` are literal parentheses.
Unbalanced parentheses are read literally rather than refused, so any text is a valid
prompt.

Parsing takes linear time and no recursion, whatever the nesting: parentheses are paired
in one pass with a stack, then the groups are walked with an explicit stack. A prompt of
32 KB of nested parentheses parses in milliseconds (the recursive parser this replaced
took a minute, or overflowed the interpreter's stack).

Weights are bounded when a prompt is encoded (:func:`check_weights`): an infinite or
not-a-number weight (``(word:99999…9)``, or ``0`` times one) would make the conditioning
NaN, and anything beyond ±:data:`MAX_WEIGHT` is a typo or runaway nesting, not emphasis.
"""

from __future__ import annotations

import math
import re

from nodes.api import NodeError

MAX_WEIGHT = 100.0
"""The largest weight a prompt may give, either sign (``(word:100)`` is accepted).

ComfyUI applies any finite weight, but useful ones lie between about 0.5 and 1.5: from a
few units on the embedding is far outside what the model was trained on and the image is
noise. ±100 leaves every deliberate value alone (48 plain nested parentheses make 97)
while refusing typos and runaway nesting before they reach the encoder."""

_NUMBER = re.compile(r"\s*([+-]?(?:\d+\.?\d*|\.\d+))\s*")
_ESC_OPEN, _ESC_CLOSE = "\0(", "\0)"
_NOT_IN_A_WEIGHT = frozenset("()\0:")
"""A weight's tail (``:1.3`` before the closing parenthesis) holds none of these but its
colon; scanning back from a group's end stops at the first one."""


class PromptError(NodeError):
    """A prompt that cannot be encoded; reported on the text-encode node's ``text``."""

    def __init__(self, message: str, field: str | None = "text") -> None:
        super().__init__(message, field)


def parse_weights(text: str, *, comfyui: bool = False) -> list[tuple[str, float]]:
    """Split ``text`` into (segment, weight) pairs; escapes are resolved in the segments.

    Neighbours of one weight are joined into one segment, unless ``comfyui``: ComfyUI keeps
    every parenthesised group and every plain run between them apart, and tokenizes each on
    its own (which decides its prompt chunks, :mod:`nodes.tokens`); it also takes an
    explicit weight as it is, whatever the groups around it. Weights are not checked here
    (the token counter reads any prompt): see :func:`check_weights`.
    """
    text = text.replace("\\(", _ESC_OPEN).replace("\\)", _ESC_CLOSE)
    runs: list[tuple[list[str], float]] = []  # neighbours of one weight, joined once
    for raw, weight in _segments(text, _pairs(text), absolute=comfyui):
        if not raw:
            continue
        segment = raw.replace(_ESC_OPEN, "(").replace(_ESC_CLOSE, ")")
        if not comfyui and runs and runs[-1][1] == weight:
            runs[-1][0].append(segment)
        else:
            runs.append(([segment], weight))
    return [("".join(parts), weight) for parts, weight in runs]


def check_weights(segments: list[tuple[str, float]]) -> None:
    """Raise :class:`PromptError` for a weight that is not finite or beyond ±MAX_WEIGHT,
    naming the words it weighs."""
    for segment, weight in segments:
        if math.isfinite(weight) and abs(weight) <= MAX_WEIGHT:
            continue
        words = " ".join(segment.split())
        words = words if len(words) <= 40 else words[:37] + "..."
        if math.isnan(weight):
            value = "not a number (a weight of 0 times an infinite one)"
        elif math.isinf(weight):
            value = "infinite (a weight too large to compute)"
        else:
            value = f"{weight:.4g}, beyond ±{MAX_WEIGHT:g}"
        raise PromptError(
            f"the prompt weight of {words!r} is {value}: weights from ±{MAX_WEIGHT:g} on "
            "only make noise (useful ones lie between about 0.5 and 1.5, as in "
            "(word:1.2)); nested parentheses multiply, each by 1.1"
        )


def _pairs(text: str) -> dict[int, int]:
    """Each unescaped ``(`` that is closed → the index of its ``)``; one pass, a stack.

    An unclosed ``(`` is not in the result (it is read literally); neither is a ``)``
    that closes nothing.
    """
    pairs: dict[int, int] = {}
    opened: list[int] = []
    previous = ""
    for index, char in enumerate(text):
        if previous != "\0":
            if char == "(":
                opened.append(index)
            elif char == ")" and opened:
                pairs[opened.pop()] = index
        previous = char
    return pairs


def _weight_tail(text: str, start: int, end: int) -> tuple[int, float] | None:
    """For a group's inside ``text[start:end]`` ending in ``:number`` (spaces allowed), the
    colon's index and the number; otherwise None.

    Only the group's own trailing text is scanned (a nested group ends in ``)``, which
    stops the scan), so every character is looked at once over the whole prompt.
    """
    colon = end - 1
    while colon >= start and text[colon] not in _NOT_IN_A_WEIGHT:
        colon -= 1
    if colon < start or text[colon] != ":":
        return None
    match = _NUMBER.fullmatch(text, colon + 1, end)
    return (colon, float(match.group(1))) if match else None


def _segments(
    text: str, pairs: dict[int, int], *, absolute: bool = False
) -> list[tuple[str, float]]:
    """The (raw segment, weight) pairs of ``text`` in order, plain runs and groups alike;
    an explicit weight multiplies the one around it, or replaces it if ``absolute``.

    Each frame on the stack is one level of nesting still to read: (its end, its weight,
    where its current plain run starts). A paired ``(`` pushes the rest of its level and
    then its inside (less a weight tail); an unpaired or escaped one is plain text.
    """
    out: list[tuple[str, float]] = []
    stack: list[tuple[int, float, int]] = [(len(text), 1.0, 0)]
    while stack:
        end, weight, start = stack.pop()
        i = text.find("(", start, end)
        while i != -1 and i not in pairs:
            i = text.find("(", i + 1, end)
        if i == -1:
            out.append((text[start:end], weight))
            continue
        out.append((text[start:i], weight))
        close = pairs[i]
        stack.append((end, weight, close + 1))
        tail = _weight_tail(text, i + 1, close)
        if tail is None:
            stack.append((close, weight * 1.1, i + 1))
        else:
            stack.append((tail[0], tail[1] if absolute else weight * tail[1], i + 1))
    return out
