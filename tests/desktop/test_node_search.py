"""Node search: the popup's fuzzy ranking (exact, prefix, word start, substring,
subsequence), the words it finds in descriptions, ComfyUI class names and keywords, scattered
matches left out when better ones exist, and a loose end's preferred types."""

from __future__ import annotations

from PySide6.QtCore import QPointF, Qt
from PySide6.QtTest import QTest

from desktop.canvas.links import PendingLink
from desktop.canvas.search import NO_MATCHES
from desktop.canvas.view import CanvasView
from desktop.document import Document
from desktop.node_keywords import KEYWORDS, comfy_names, split_camel
from desktop.node_search import fuzzy_score, matches, rank_node_types
from nodes.api import Node
from nodes.comfy.nodetypes import CLASSES
from nodes.graph import Link
from nodes.ports import PortType
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


# ------------------------------------------------------------------ ComfyUI names, keywords
def test_every_mapped_comfyui_class_name_finds_its_type(registry: Registry) -> None:
    names = comfy_names()
    targets: dict[str, set[str]] = {}
    for type_id, comfy in names.items():
        for name in comfy:
            targets.setdefault(name, set()).add(type_id)
    assert set(targets) == set(CLASSES) - {"Reroute"}  # every mapped class but the resolved one
    for name, type_ids in targets.items():
        found = [cls.type_id for cls in rank_node_types(registry, name)]
        assert found and found[0] in type_ids, (name, found[:3])
        assert found[0] in [cls.type_id for cls in rank_node_types(registry, name.lower())]
    assert targets["KSampler"] == {"sampling.sampler"}
    assert targets["CLIPTextEncode"] == {"conditioning.text_encode"}
    assert targets["CheckpointLoaderSimple"] == {"loaders.checkpoint"}
    assert targets["EmptyLatentImage"] == {"latent.empty"}
    assert targets["PrimitiveInt"] == {"primitive.int"}
    assert "primitive.seed" in targets["PrimitiveNode"]


def test_comfyui_names_split_at_capitals_and_keywords_find_types(registry: Registry) -> None:
    def first(query: str) -> str:
        return rank_node_types(registry, query)[0].type_id

    assert split_camel("CLIPTextEncode") == "CLIP Text Encode"
    assert split_camel("KSamplerAdvanced") == "K Sampler Advanced"
    assert first("clip text encode") == "conditioning.text_encode"
    assert first("empty latent image") == "latent.empty"
    assert first("prompt") in ("conditioning.text_encode", "conditioning.text_encode_sdxl")
    assert first("ckpt") == "loaders.checkpoint"
    assert first("esrgan") in ("image.upscale_with_model", "loaders.upscale_model")
    assert first("image load") == "image.load"  # every word at a word start, any order
    # the library's filter finds the same names
    panel_hits = [cls.type_id for cls in registry if matches(cls, "ksampler")]
    assert panel_hits == ["sampling.sampler"]
    for type_id in KEYWORDS:
        assert type_id in registry, f"keywords for an unknown type {type_id}"


def test_scattered_letters_do_not_pad_a_good_result(registry: Registry) -> None:
    found = [cls.type_id for cls in rank_node_types(registry, "lora")]
    assert found == ["loaders.lora"]  # not Load VAE (l-o-r-a scattered in loaders.vae)
    # with nothing better, scattered letters still find a type
    assert rank_node_types(registry, "txtenc")[0].type_id == "conditioning.text_encode"
    assert rank_node_types(registry, "xyzzy") == []


def test_a_preferred_type_comes_first_among_equals(registry: Registry) -> None:
    def is_seed(cls: type[Node]) -> bool:
        return cls.type_id == "primitive.seed"

    ranked = [c.type_id for c in rank_node_types(registry, "", prefer=is_seed)]
    assert ranked[0] == "primitive.seed"
    unpreferred = [c.type_id for c in rank_node_types(registry, "")]
    assert unpreferred.index("primitive.int") < unpreferred.index("primitive.seed")
    # a preference never beats a better match
    assert rank_node_types(registry, "int", prefer=is_seed)[0].type_id == "primitive.int"


# ------------------------------------------------------------------ the popup
def test_the_popup_says_no_matches_and_enter_adds_nothing(
    canvas: CanvasView, document: Document
) -> None:
    canvas.open_search(QPointF(100, 100))
    popup = canvas.search_popup
    QTest.keyClicks(popup.field, "xyzzy")
    assert popup.results.count() == 1
    row = popup.results.item(0)
    assert row.text() == NO_MATCHES and not row.flags() & Qt.ItemFlag.ItemIsSelectable
    assert popup.current_type() is None and popup.result_type_ids() == []
    QTest.keyClick(popup.field, Qt.Key.Key_Return)
    assert len(document.graph) == 0
    popup.field.clear()
    QTest.keyClicks(popup.field, "KSampler")
    assert popup.result_type_ids() == ["sampling.sampler"]
    QTest.keyClick(popup.field, Qt.Key.Key_Return)
    assert [n.type for n in document.graph] == ["sampling.sampler"]


def test_a_seed_loose_end_lists_seed_before_int(canvas: CanvasView, document: Document) -> None:
    sampler = document.add_node("sampling.sampler", (0, 0))
    canvas.open_search(QPointF(300, 100), PendingLink(sampler, "seed", False, PortType.INT))
    offered = canvas.search_popup.result_type_ids()
    assert offered[0] == "primitive.seed"
    assert offered.index("primitive.seed") < offered.index("primitive.int")
    QTest.keyClick(canvas.search_popup.field, Qt.Key.Key_Return)
    seed = next(n.id for n in document.graph if n.type == "primitive.seed")
    assert document.graph.link_into(sampler, "seed") == Link(seed, "seed", sampler, "seed")


def test_a_steps_loose_end_lists_int_before_seed(canvas: CanvasView, document: Document) -> None:
    sampler = document.add_node("sampling.sampler", (400, 0))
    canvas.open_search(QPointF(100, 100), PendingLink(sampler, "steps", False, PortType.INT))
    offered = canvas.search_popup.result_type_ids()
    assert offered.index("primitive.int") < offered.index("primitive.seed")
