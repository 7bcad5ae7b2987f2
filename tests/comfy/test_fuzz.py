"""Fuzzing ComfyUI files and PNGs: whatever the input, the only failure is a WorkflowError.

Valid ComfyUI documents (UI 0.4 and 1, API) get values replaced at random paths, keys
deleted, lists shortened, links pointed elsewhere; PNGs get their text chunks filled with
mutated or broken JSON, or their bytes damaged. Whatever opens must validate without
raising, export to ComfyUI or raise ExportError, and save → load → save stably.
"""

from __future__ import annotations

import contextlib
import copy
import json
import zlib
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image, PngImagePlugin

from nodes.comfy import ensure_registered, export_api, open_file
from nodes.library import load_builtin_nodes
from nodes.registry import Registry
from nodes.validation import validate
from nodes.workflow import WorkflowError, dumps, loads
from tests.comfy.comfy_docs import sd15_api, sd15_ui, sdxl_api
from tests.comfy.inpaint_docs import inpaint_model_ui, masks_api, masks_ui
from tests.comfy.test_import import _clip_skip_doc
from tests.engine.test_workflow_fuzz import FUZZ, _parent, _paths, json_values

REGISTRY = ensure_registered(load_builtin_nodes(Registry()))
BASES = (
    sd15_ui().doc(),
    sd15_ui(version=1, object_links=True).doc(),
    _clip_skip_doc(mode=4).doc(),
    sd15_api(),
    sdxl_api(),
    masks_ui().doc(),
    inpaint_model_ui().doc(),
    masks_api(),
)
PICKS = st.sampled_from(
    [None, True, 0, -1, 1.5, "", "x", [], {}, [[]], 10**20, "fixed", "euler", "4", 2, 3]
).map(copy.deepcopy)  # fresh containers: a later mutation must not change the constants


@st.composite
def mutated(draw: st.DrawFn) -> Any:
    doc = json.loads(json.dumps(draw(st.sampled_from(BASES))))
    for _ in range(draw(st.integers(1, 4))):
        paths = _paths(doc)[1:]
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent, key = _parent(doc, path), path[-1]
        action = draw(st.sampled_from(["replace", "pick", "pick", "delete", "add"]))
        if action == "replace":
            parent[key] = draw(json_values)
        elif action == "pick":  # plausible values in the wrong place: ids, slots, widgets
            parent[key] = draw(PICKS)
        elif action == "delete":
            del parent[key]
        elif isinstance(parent, dict):
            parent[draw(st.sampled_from(["mode", "widgets_values", "link", "x"]))] = draw(PICKS)
        else:
            parent.insert(draw(st.integers(0, len(parent))), draw(PICKS))
    return doc


def _check(path: Path) -> None:
    try:
        graph = open_file(path, REGISTRY).graph
    except WorkflowError as exc:
        assert "\n" not in str(exc)
        str(exc).encode("utf-8")
        return
    validate(graph)
    with contextlib.suppress(WorkflowError):
        export_api(graph)
    text = dumps(graph)
    again = loads(text, REGISTRY)
    assert dumps(again) == dumps(loads(dumps(again), REGISTRY))


def _write(tmp: Path, data: bytes, suffix: str) -> Path:
    path = tmp / f"fuzz{suffix}"
    path.write_bytes(data)
    return path


@settings(FUZZ, max_examples=2500)
@given(doc=mutated())
def test_mutated_comfyui_files_raise_only_workflow_errors(tmp_path_factory, doc: Any) -> None:
    tmp = tmp_path_factory.getbasetemp()
    _check(_write(tmp, json.dumps(doc).encode("utf-8", "surrogatepass"), ".json"))


def _png(texts: dict[str, bytes]) -> bytes:
    """A PNG with raw tEXt chunks (any bytes, as a damaged file may hold)."""
    import io

    buffer = io.BytesIO()
    Image.new("RGB", (4, 4), "white").save(buffer, format="PNG", pnginfo=PngImagePlugin.PngInfo())
    data = buffer.getvalue()
    chunks = b""
    for key, value in texts.items():
        body = key.encode("latin-1") + b"\0" + value
        chunk = b"tEXt" + body
        chunks += len(body).to_bytes(4, "big") + chunk + zlib.crc32(chunk).to_bytes(4, "big")
    return data[:33] + chunks + data[33:]  # after the signature and IHDR


@st.composite
def damaged_pngs(draw: st.DrawFn) -> bytes:
    key = draw(st.sampled_from(["workflow", "prompt", "daguerre.workflow"]))
    doc = draw(mutated())
    text = json.dumps(doc).encode("utf-8", "surrogatepass")
    damage = draw(st.sampled_from(["none", "cut", "bytes", "latin", "file"]))
    if damage == "cut":
        text = text[: draw(st.integers(0, len(text)))]
    elif damage == "bytes":
        text = draw(st.binary(max_size=64))
    elif damage == "latin":
        text = draw(st.text(max_size=40)).encode("utf-8", "surrogatepass")
    texts = {key: text}
    if draw(st.booleans()):
        texts["prompt" if key == "workflow" else "workflow"] = json.dumps(sd15_api()).encode()
    data = _png(texts)
    if damage == "file":  # a damaged file: a byte flipped or the end missing
        if draw(st.booleans()):
            at = draw(st.integers(0, len(data) - 1))
            data = data[:at] + bytes([data[at] ^ draw(st.integers(1, 255))]) + data[at + 1 :]
        else:
            data = data[: draw(st.integers(8, len(data)))]
    return data


@settings(FUZZ, max_examples=700)
@given(data=damaged_pngs())
def test_pngs_with_corrupted_text_chunks_raise_only_workflow_errors(
    tmp_path_factory, data: bytes
) -> None:
    _check(_write(tmp_path_factory.getbasetemp(), data, ".png"))


def test_the_fuzz_bases_open(tmp_path: Path) -> None:
    for index, doc in enumerate(BASES):
        path = _write(tmp_path, json.dumps(doc).encode(), f"{index}.json")
        graph = open_file(path, REGISTRY).graph
        assert len(graph) > 5
    graph = open_file(_write(tmp_path, _png({"prompt": json.dumps(sd15_api()).encode()}), ".png"))
    assert graph.graph.nodes["3"].type == "sampling.sampler"
