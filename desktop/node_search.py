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

Types are also found by their other names (:mod:`desktop.node_keywords`): the ComfyUI
classes that import as them ("KSampler", "CLIPTextEncode", "EmptyLatentImage"...) and
keywords ("prompt", "ckpt"). Those count for whole words and substrings only, never as
scattered letters. A scattered subsequence is a last resort: when any type matches the
query better than that, types that match only that way are left out ("lora" lists Load
LoRA, not Load VAE, whose type id ``loaders.vae`` happens to hold l-o-r-a). Where a search
starts from a link's loose end, the types whose port has the loose end's name come first
among equals (Seed before Int for a seed input).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from desktop.node_keywords import KEYWORDS, aliases, comfy_aliases
from nodes.api import Node
from nodes.registry import Registry

_WORD_START = re.compile(r"(?:^|[\s._\-/(])(\w)")
SCATTERED_MAX = 300.0
"""Scores below this are scattered subsequences (and words found in a description)."""
PREFERRED_BONUS = 60.0
"""Added to the score of a type the search's context prefers (see :func:`rank_node_types`)."""


def fuzzy_score(query: str, text: str, *, scattered: bool = True) -> float | None:
    """How well ``query`` matches ``text`` (higher is better), or None for no match.

    ``scattered=False`` refuses the subsequence match (the letters found one by one)."""
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
    parts = q.split()
    if len(parts) > 1:  # every word of the query starts a word of the text, in any order
        starts = [t[i:] for i in words]
        if all(any(rest.startswith(part) for rest in starts) for part in parts):
            return 450.0 - min(len(t), 100) * 0.1
    if not scattered:
        return None
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
    return min(score, SCATTERED_MAX - 1) - len(t) * 0.1


@dataclass(frozen=True, slots=True)
class TypeMatch:
    """How a node type matches a query: its score, and whether anything matched better
    than a scattered subsequence (a word or substring of a name, or of the description)."""

    score: float
    whole: bool


def type_match(cls: type[Node], query: str) -> TypeMatch | None:
    """The best weighted match of a node type's title, other names (ComfyUI's, keywords),
    type id, category and description for ``query``; None when nothing matches."""
    if not query.strip():
        return TypeMatch(0.0, True)
    best: TypeMatch | None = None

    def offer(score: float | None, weight: float, whole: bool | None = None) -> None:
        nonlocal best
        if score is None:
            return
        found = TypeMatch(score * weight, score >= SCATTERED_MAX if whole is None else whole)
        if best is None or (found.score, found.whole) > (best.score, best.whole):
            best = found

    offer(fuzzy_score(query, cls.title), 1.0)
    for name in comfy_aliases(cls.type_id):
        offer(fuzzy_score(query, name, scattered=False), 0.95)
    for keyword in KEYWORDS.get(cls.type_id, ()):
        offer(fuzzy_score(query, keyword, scattered=False), 0.8)
    offer(fuzzy_score(query, cls.type_id), 0.9)
    offer(fuzzy_score(query, cls.category, scattered=False), 0.7)
    description = cls.description().lower()
    q = query.strip().lower()
    if q in description:
        offer(250.0 if re.search(rf"\b{re.escape(q)}", description) else 150.0, 1.0, True)
    return best


def type_score(cls: type[Node], query: str) -> float | None:
    """The score of :func:`type_match` (None for no match)."""
    found = type_match(cls, query)
    return found.score if found is not None else None


def rank_node_types(
    registry: Registry,
    query: str,
    accept: Callable[[type[Node]], bool] | None = None,
    prefer: Callable[[type[Node]], bool] | None = None,
) -> list[type[Node]]:
    """Node types matching ``query``, best first (all, by category and title, when empty).

    Scattered-subsequence matches are kept only when nothing matches better. ``prefer``
    (a link's loose end: its port's name) lifts the types it accepts a little, so they
    come first among equals and first of all for an empty query."""
    found: list[tuple[TypeMatch, type[Node]]] = []
    for cls in registry:
        if not cls.listed or (accept is not None and not accept(cls)):
            continue
        match = type_match(cls, query)
        if match is not None:
            found.append((match, cls))
    if any(match.whole for match, _ in found):
        found = [(match, cls) for match, cls in found if match.whole]
    scored = [
        (-(m.score + (PREFERRED_BONUS if prefer is not None and prefer(cls) else 0.0)), cls)
        for m, cls in found
    ]
    scored.sort(key=lambda entry: (entry[0], entry[1].category, entry[1].title))
    return [cls for _, cls in scored]


# ------------------------------------------------------------------ library filter
def search_text(cls: type[Node]) -> str:
    """Everything a search matches against, lower-cased."""
    fields = (cls.title, cls.category, cls.type_id, *aliases(cls.type_id), cls.description())
    return " ".join(fields).lower()


def matches(cls: type[Node], query: str) -> bool:
    """True when every word of ``query`` occurs in the type's title, category,
    description, type id or other names (case-insensitive); an empty query matches
    everything."""
    haystack = search_text(cls)
    return all(word in haystack for word in query.lower().split())
