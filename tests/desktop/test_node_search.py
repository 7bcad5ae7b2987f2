"""Node search: the popup's fuzzy ranking (exact, prefix, word start, substring,
subsequence) and the words it finds in descriptions."""

from __future__ import annotations

from desktop.node_search import fuzzy_score, rank_node_types
from nodes.registry import Registry


def test_fuzzy_ranking(registry: Registry) -> None:
    def first(query: str) -> str:
        return rank_node_types(registry, query)[0].type_id

    assert first("sampler") == "sampling.sampler"
    assert first("Sampler") == "sampling.sampler"
    assert first("txtenc") == "conditioning.text_encode"
    assert first("ckpt") == "loaders.checkpoint"
    assert first("vae dec") == "vae.decode"
    assert first("save") in ("image.save", "utility.save_text")
    # exact beats prefix beats substring beats subsequence
    assert score("int", "int") > score("int", "integer") > score("int", "print")
    assert score("int", "print") > score("int", "i n t")
    assert fuzzy_score("xyz", "Sampler") is None
    assert len(rank_node_types(registry, "")) == len([c for c in registry if c.listed])
    # descriptions count for plain words ("edges" is only in Canny's docstring)
    assert "image.canny" in [c.type_id for c in rank_node_types(registry, "edges")]


def score(query: str, text: str) -> float:
    found = fuzzy_score(query, text)
    assert found is not None, f"{query!r} does not match {text!r}"
    return found
