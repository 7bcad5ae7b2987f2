"""Prompt weighting syntax, as ComfyUI reads it.

``(word:1.3)`` weighs ``word`` 1.3; ``(word)`` weighs it 1.1; nesting multiplies;
``\\(`` and ``\\)`` are literal parentheses. Unbalanced parentheses are read literally
rather than refused, so any text is a valid prompt.
"""

from __future__ import annotations

import re

_WEIGHT = re.compile(r"^(.*):\s*([+-]?(?:\d+\.?\d*|\.\d+))\s*$", re.DOTALL)
_ESC_OPEN, _ESC_CLOSE = "\0(", "\0)"


def parse_weights(text: str) -> list[tuple[str, float]]:
    """Split ``text`` into (segment, weight) pairs; escapes are resolved in the segments."""
    text = text.replace("\\(", _ESC_OPEN).replace("\\)", _ESC_CLOSE)
    segments = _parse(text, 1.0)
    merged: list[tuple[str, float]] = []
    for raw, weight in segments:
        if not raw:
            continue
        segment = raw.replace(_ESC_OPEN, "(").replace(_ESC_CLOSE, ")")
        if merged and merged[-1][1] == weight:
            merged[-1] = (merged[-1][0] + segment, weight)
        else:
            merged.append((segment, weight))
    return merged


def _parse(text: str, weight: float) -> list[tuple[str, float]]:
    out: list[tuple[str, float]] = []
    i = 0
    plain_start = 0
    while i < len(text):
        if text[i] == "(" and (i == 0 or text[i - 1] != "\0"):
            close = _matching(text, i)
            if close is None:
                i += 1
                continue
            out.append((text[plain_start:i], weight))
            inner = text[i + 1 : close]
            match = _WEIGHT.match(inner)
            if match and "(" not in match.group(2):
                out.extend(_parse(match.group(1), weight * float(match.group(2))))
            else:
                out.extend(_parse(inner, weight * 1.1))
            i = close + 1
            plain_start = i
        else:
            i += 1
    out.append((text[plain_start:], weight))
    return out


def _matching(text: str, start: int) -> int | None:
    depth = 0
    for j in range(start, len(text)):
        char = text[j]
        if j > 0 and text[j - 1] == "\0":
            continue
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth == 0:
                return j
    return None
