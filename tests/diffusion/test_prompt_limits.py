"""Hostile prompts: 32 KB of nested or unbalanced parentheses parse in linear time (the
parser gives exactly the old quadratic one's segments on ordinary prompts), and a weight
that is infinite, not a number or beyond ±MAX_WEIGHT is refused on the text field
instead of encoding NaN conditioning."""

from __future__ import annotations

import random
import re
import time

import pytest

from nodes.api import NodeError
from nodes.context import CancelToken, Environment, NodeContext
from nodes.diffusion.prompt import MAX_WEIGHT, PromptError, check_weights, parse_weights
from nodes.tokens import CHUNK, tokenize

FAST = 2.0
"""Seconds a 32 KB prompt may take (about 0.05 s here; the quadratic parser took minutes)."""


def _timed(text: str) -> tuple[list[tuple[str, float]], float]:
    start = time.perf_counter()
    segments = parse_weights(text)
    return segments, time.perf_counter() - start


# ------------------------------------------------------------------------- linear parsing


def test_a_32kb_nested_prompt_parses_in_linear_time() -> None:
    depth = 16_000
    segments, seconds = _timed("(" * depth + "cat" + ")" * depth)
    assert seconds < FAST
    ((text, weight),) = segments
    assert text == "cat" and weight == float("inf")  # 1.1 ** 16000: refused when encoded


@pytest.mark.parametrize(
    "text",
    [
        "(" * 32_000,
        ")" * 32_000,
        "(a:1.1 " * 4_000 + ")" * 4_000,
        "((a)" * 8_000,
        "(" * 16_000 + ":2" * 8_000,
        "\\(" * 16_000,
        "(a:1)" * 6_400,
    ],
    ids=[
        "unbalanced-open",
        "unbalanced-close",
        "nested-weights",
        "half-open",
        "colons",
        "escaped",
        "same-weight-runs",
    ],
)
def test_hostile_32kb_prompts_parse_in_linear_time(text: str) -> None:
    segments, seconds = _timed(text)
    assert seconds < FAST
    assert sum(len(s) for s, _ in segments) <= len(text)


def test_a_long_prompt_tokenizes_in_linear_time() -> None:
    from nodes.models.tokenizer import clip_tokenizer

    tokenizer = clip_tokenizer()
    start = time.perf_counter()
    tokens = tokenize(tokenizer, "(" * 16_000 + "photo, " * 2_000 + ")" * 16_000)
    long_word = tokenize(tokenizer, "ab" * 16_000)
    assert time.perf_counter() - start < 2 * FAST
    assert tokens.count == 4_000  # "photo" and "," each time: the parentheses weigh them
    for found in (tokens, long_word):
        assert all(0 < len(chunk) <= CHUNK for chunk in found.chunks)
        assert sum(len(chunk) for chunk in found.chunks) == found.count
    assert len(long_word.chunks) == -(-long_word.count // CHUNK)  # a long word fills chunks


# --------------------------------------------------------------- the same segments as before

_OLD_WEIGHT = re.compile(r"^(.*):\s*([+-]?(?:\d+\.?\d*|\.\d+))\s*$", re.DOTALL)


def _old_parse_weights(text: str) -> list[tuple[str, float]]:
    """The recursive, quadratic parser this module replaced: the reference for meaning."""
    text = text.replace("\\(", "\0(").replace("\\)", "\0)")

    def matching(text: str, start: int) -> int | None:
        depth = 0
        for j in range(start, len(text)):
            if j > 0 and text[j - 1] == "\0":
                continue
            if text[j] == "(":
                depth += 1
            elif text[j] == ")":
                depth -= 1
                if depth == 0:
                    return j
        return None

    def parse(text: str, weight: float) -> list[tuple[str, float]]:
        out: list[tuple[str, float]] = []
        i = plain_start = 0
        while i < len(text):
            if text[i] == "(" and (i == 0 or text[i - 1] != "\0"):
                close = matching(text, i)
                if close is None:
                    i += 1
                    continue
                out.append((text[plain_start:i], weight))
                inner = text[i + 1 : close]
                match = _OLD_WEIGHT.match(inner)
                if match:
                    out.extend(parse(match.group(1), weight * float(match.group(2))))
                else:
                    out.extend(parse(inner, weight * 1.1))
                i = plain_start = close + 1
            else:
                i += 1
        out.append((text[plain_start:], weight))
        return out

    merged: list[tuple[str, float]] = []
    for raw, weight in parse(text, 1.0):
        if not raw:
            continue
        segment = raw.replace("\0(", "(").replace("\0)", ")")
        if merged and merged[-1][1] == weight:
            merged[-1] = (merged[-1][0] + segment, weight)
        else:
            merged.append((segment, weight))
    return merged


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a photo of a cat", [("a photo of a cat", 1.0)]),
        ("(word:1.3)", [("word", 1.3)]),
        ("(word)", [("word", 1.1)]),
        ("((word))", [("word", 1.1 * 1.1)]),
        ("((word):1.5) rest", [("word", 1.5 * 1.1), (" rest", 1.0)]),
        ("(a:b:0.5)", [("a:b", 0.5)]),
        ("(a: 2 )", [("a", 2.0)]),
        ("(a:-.5)", [("a", -0.5)]),
        ("(a:x)", [("a:x", 1.1)]),
        ("\\(literal\\)", [("(literal)", 1.0)]),
        ("((a)", [("(", 1.0), ("a", 1.1)]),
        ("a)b(", [("a)b(", 1.0)]),
        ("(x(y):2)", [("x", 2.0), ("y", 2.2)]),
        ("(a\0:1))", [("a\0)", 1.0)]),  # a NUL is not an escape once the parts are joined
    ],
)
def test_weights_mean_what_they_meant(text: str, expected: list[tuple[str, float]]) -> None:
    got = parse_weights(text)
    assert [s for s, _ in got] == [s for s, _ in expected]
    assert [w for _, w in got] == pytest.approx([w for _, w in expected])
    assert got == _old_parse_weights(text)


def test_random_prompts_parse_exactly_as_before() -> None:
    rng = random.Random(20240611)
    alphabet = ["a", "b", " ", ":", "(", ")", "(", ")", ".", "1", "2", "-", "\\", "\n", "\0"]
    for _ in range(4_000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 30)))
        assert parse_weights(text) == _old_parse_weights(text), ascii(text)


# ------------------------------------------------------------------------- bounded weights


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("a (cat:" + "9" * 400 + ")", "infinite"),
        ("((cat:" + "9" * 400 + "):0)", "not a number"),
        ("(cat:100.5)", "beyond"),
        ("(cat:-101)", "beyond"),
        ("(" * 49 + "cat" + ")" * 49, "beyond"),  # 1.1 ** 49 ≈ 107
    ],
    ids=["inf", "nan", "101", "-101", "49-parentheses"],
)
def test_absurd_weights_are_refused_naming_the_words(text: str, reason: str) -> None:
    with pytest.raises(PromptError, match=reason) as refused:
        check_weights(parse_weights(text))
    assert refused.value.field == "text"
    assert "cat" in refused.value.message
    assert f"{MAX_WEIGHT:g}" in refused.value.message


@pytest.mark.parametrize(
    "text", ["(cat:100)", "(cat:-100)", "(cat:0)", "(" * 48 + "cat" + ")" * 48]
)
def test_weights_within_the_bound_are_accepted(text: str) -> None:
    check_weights(parse_weights(text))


class _NoClip:
    """Stands in for a CLIP model: refusing the prompt must not touch the encoders."""

    def __getattr__(self, name: str) -> object:
        raise AssertionError(f"the encoder was used ({name})")


def test_the_text_encode_node_refuses_an_infinite_weight_on_its_text_field() -> None:
    from nodes.library.conditioning import TextEncode

    ctx = NodeContext(Environment(), 1, "positive", lambda event: None, CancelToken())
    with pytest.raises(NodeError) as refused:
        TextEncode().run(ctx, clip=_NoClip(), text="a photo of a (cat:" + "9" * 400 + ")")  # type: ignore[arg-type]
    assert refused.value.field == "text"
    assert "cat" in refused.value.message and "infinite" in refused.value.message
