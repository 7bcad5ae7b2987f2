"""How node types are searched by name: one ranking for the node search popup and the library.

:func:`type_score` scores a type's title, type id, category and description for a query.
An exact match beats a prefix, a prefix beats a word start, a word start beats a
substring, and a substring beats a scattered subsequence ("ksamp" finds "Sampler",
"txtenc" finds "Text Encode"). Descriptions only count for plain substrings: a subsequence
of a long docstring matches almost anything.

- The canvas's node search popup (Tab) lists every type by that score
  (:func:`rank_node_types`).
- The node library keeps its browsable category tree: its filter (:func:`matches`) keeps
  the types in which every word of the query occurs, and it preselects, for Enter, the one
  :func:`type_score` ranks best — so Enter adds the same type in both places.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from nodes.api import Node
from nodes.registry import Registry

_WORD_START = re.compile(r"(?:^|[\s._\-/])(\w)")


def fuzzy_score(query: str, text: str) -> float | None:
    """How well ``query`` matches ``text`` (higher is better), or None for no match."""
    q = query.strip().lower()
    t = text.lower()
    if not q:
        return 0.0
    if not t:
        return None
    if t == q:
        return 1000.0
    if t.startswith(q):
        return 800.0 - min(len(t) - len(q), 100)
    words = [m.start(1) for m in _WORD_START.finditer(t)]
    index = t.find(q)
    if index >= 0:
        if index in words:
            return 600.0 - index
        return 400.0 - index
    # subsequence: reward consecutive runs and matches at word starts
    score, pos, run = 0.0, 0, 0
    starts = set(words)
    for ch in q:
        if ch.isspace():
            continue
        found = t.find(ch, pos)
        if found < 0:
            return None
        run = run + 1 if found == pos and pos else 0
        score += 4 + 6 * run + (8 if found in starts else 0) - min(found - pos, 10) * 0.5
        pos = found + 1
    return min(score, 300.0) - len(t) * 0.1


def type_score(cls: type[Node], query: str) -> float | None:
    """The best weighted score of a node type's fields for ``query``."""
    if not query.strip():
        return 0.0
    best: float | None = None
    for text, weight in ((cls.title, 1.0), (cls.type_id, 0.9), (cls.category, 0.7)):
        score = fuzzy_score(query, text)
        if score is not None and (best is None or score * weight > best):
            best = score * weight
    description = cls.description().lower()
    q = query.strip().lower()
    if q and q in description:
        score = 250.0 if re.search(rf"\b{re.escape(q)}", description) else 150.0
        if best is None or score > best:
            best = score
    return best


def rank_node_types(
    registry: Registry,
    query: str,
    accept: Callable[[type[Node]], bool] | None = None,
) -> list[type[Node]]:
    """Node types matching ``query``, best first (all, by category and title, when empty)."""
    scored: list[tuple[float, str, str, type[Node]]] = []
    for cls in registry:
        if not cls.listed or (accept is not None and not accept(cls)):
            continue
        score = type_score(cls, query)
        if score is not None:
            scored.append((-score, cls.category, cls.title, cls))
    scored.sort(key=lambda entry: entry[:3])
    return [entry[3] for entry in scored]


# ------------------------------------------------------------------ library filter
def search_text(cls: type[Node]) -> str:
    """Everything a search matches against, lower-cased."""
    return " ".join((cls.title, cls.category, cls.type_id, cls.description())).lower()


def matches(cls: type[Node], query: str) -> bool:
    """True when every word of ``query`` occurs in the type's title, category,
    description or type id (case-insensitive); an empty query matches everything."""
    haystack = search_text(cls)
    return all(word in haystack for word in query.lower().split())
