"""The fuzz corpus's material: the base documents (shipped templates, ComfyUI UI and API
files), hostile values, the mutations of documents and text, and damaged PNGs. Each
generator takes a seeded ``random.Random``, so a case can be drawn again from its index
(see test_fuzz_corpus.py)."""

from __future__ import annotations

import copy
import json
import math
import random
import sys
from collections.abc import Callable
from typing import Any

from nodes.comfy import ensure_registered, load_document
from nodes.graph import Graph, Link
from nodes.library import load_builtin_nodes
from nodes.paths import resources_dir
from nodes.registry import Registry
from nodes.workflow import to_dict
from tests.comfy.comfy_docs import UIDoc, sd15_api, sd15_ui, sdxl_api
from tests.comfy.inpaint_docs import inpaint_model_ui, inpaint_ui, masks_api, masks_ui
from tests.comfy.test_import import _clip_skip_doc

REGISTRY = ensure_registered(load_builtin_nodes(Registry()))


# --------------------------------------------------------------------------- the bases
def _templates() -> list[tuple[str, Any]]:
    folder = resources_dir() / "workflows"
    return [
        (f"template {p.stem}", json.loads(p.read_text())) for p in sorted(folder.glob("*.json"))
    ]


def _primitive_sampler_ui() -> dict[str, Any]:
    """sd15_ui, plus: a KSamplerAdvanced whose sampler_name and add_noise come from the
    frontend's primitives, a bypassed custom node and a subgraph."""
    d = sd15_ui()
    d.widget_input(23, "sampler_name", "COMBO")
    d.node(50, "PrimitiveNode", ["euler"], (), (("COMBO", "COMBO"),))
    d.nodes[50]["outputs"][0]["widget"] = {"name": "sampler_name"}
    d.link(50, 0, 23, "sampler_name")
    d.widget_input(23, "add_noise", "COMBO")
    d.node(51, "PrimitiveNode", ["disable"], (), (("COMBO", "COMBO"),))
    d.nodes[51]["outputs"][0]["widget"] = {"name": "add_noise"}
    d.link(51, 0, 23, "add_noise")
    d.node(60, "ImageSharpen", [1, 1.0, 1.0], (("image", "IMAGE"),), (("IMAGE", "IMAGE"),), mode=4)
    d.link(8, 0, 60, "image")
    d.node(61, "a1b2-subgraph", [], (("image", "IMAGE"),), (("IMAGE", "IMAGE"),))
    d.link(60, 0, 61, "image")
    doc = d.doc()
    doc["definitions"] = {
        "subgraphs": [{"id": "a1b2-subgraph", "name": "Upscale", "nodes": [{"type": "X"}]}]
    }
    return doc


def _api_with_primitives() -> dict[str, Any]:
    doc = sd15_api()
    doc["50"] = {"class_type": "PrimitiveString", "inputs": {"value": "dpmpp_2m"}}
    doc["51"] = {"class_type": "PrimitiveFloat", "inputs": {"value": 0.3}}
    doc["52"] = {"class_type": "PrimitiveInt", "inputs": {"value": 5}}
    doc["23"]["inputs"]["sampler_name"] = ["50", 0]
    doc["12"]["inputs"]["low_threshold"] = ["51", 0]
    doc["23"]["inputs"]["steps"] = ["52", 0]
    doc["99"] = {"class_type": "UpscaleModelLoader", "inputs": {"model_name": "4x.pth"}}
    return doc


def _bases() -> dict[str, list[tuple[str, Any]]]:
    ui = [
        ("sd15 ui 0.4", sd15_ui().doc()),
        ("sd15 ui 1", sd15_ui(version=1, object_links=True).doc()),
        ("clip skip bypassed", _clip_skip_doc(mode=4).doc()),
        ("masks ui", masks_ui().doc()),
        ("inpaint ui", inpaint_ui().doc()),
        ("inpaint model ui", inpaint_model_ui().doc()),
        ("primitives ui", _primitive_sampler_ui()),
    ]
    api = [
        ("sd15 api", sd15_api()),
        ("sdxl api", sdxl_api()),
        ("masks api", masks_api()),
        ("primitives api", _api_with_primitives()),
        ("wrapped api", {"prompt": sd15_api(), "client_id": "x"}),
    ]
    daguerre = _templates()
    for name, doc in (*ui[:2], ui[-1], api[0], api[-2]):  # carrying ComfyUI's records
        graph, _ = load_document(copy.deepcopy(doc), REGISTRY)
        daguerre.append((f"daguerre from {name}", to_dict(graph)))
    return {"daguerre": daguerre, "ui": ui, "api": api}


BASES = _bases()
KINDS = tuple(BASES)
_TEXTS = {id(doc): json.dumps(doc) for bases in BASES.values() for _, doc in bases}


def _fresh(base: Any) -> Any:
    """A copy of a base to mutate (JSON in C: many times faster than deepcopy)."""
    return json.loads(_TEXTS[id(base)])


# --------------------------------------------------------------------------- hostile values
UNICODE_DIGITS = ["²", "٣", "１２", "1²", "߁", "৪", "𝟙", "Ⅻ", "٠٠", "-1", "+1", " 1", "1 ", "0x10"]
NAMES = [
    "euler",
    "ddim",
    "karras",
    "normal",
    "enable",
    "disable",
    "fixed",
    "randomize",
    "image",
    "MODEL",
    "LATENT",
    "IMAGE",
    "*",
    "KSampler",
    "Reroute",
    "PrimitiveNode",
    "Note",
    "comfy.placeholder",
    "sampling.sampler",
    "utility.note",
    "prompt",
    "nodes",
]
HOSTILE_KEYS = [
    *("", "²", "１２", "a" * 65, "a\nb", "\t", "__proto__", "0", "-1", "ü", "x" * 1000),
    *[
        "id",
        "type",
        "inputs",
        "class_type",
        "links",
        "widgets_values",
        "mode",
        "link",
        "params",
        "comfy",
        "api",
        "ui",
    ],
    "outputs",
]


def _number(rng: random.Random) -> Any:
    return rng.choice(
        [
            0,
            -1,
            1,
            2,
            3,
            4,
            7,
            255,
            256,
            10000,
            2**31,
            2**53 + 1,
            2**63,
            2**64,
            -(2**63),
            10**20,
            10**300,
            -(10**300),
            int(sys.float_info.max),
            -int(sys.float_info.max),
            1e308,
            -1e308,
            1.7976931348623157e308,
            5e-324,
            -0.0,
            0.5,
            1.5,
            -2.5,
            1e-7,
            0.999,
            1e15,
            1e16,
            float(2**53),
            math.nan,  # written as NaN and Infinity, which JSON readers refuse
            math.inf,
            -math.inf,
        ]
    )


def _string(rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.3:
        return rng.choice(UNICODE_DIGITS)
    if roll < 0.6:
        return rng.choice(NAMES)
    if roll < 0.7:
        return rng.choice(
            ["a", "\u00e9" * 3, "\u202e", "a\u0000b", "\r\n", "\U0001f600"]
        ) * rng.choice([1, 1000, 100_000])
    if roll < 0.8:
        return "".join(chr(rng.randrange(32, 0x3000)) for _ in range(rng.randrange(1, 12)))
    return rng.choice(["", " ", "x", "true", "null", "NaN", "[1]", "{}", "4", "3_scheduler"])


def _nested(rng: random.Random) -> Any:
    depth = rng.choice([20, 85, 95, 99, 101, 150, 1000])
    value: Any = rng.choice([0, "x", None, []])
    for _ in range(depth):
        value = [value] if rng.random() < 0.5 else {"a": value}
    return value


def _link(rng: random.Random, ids: list[str]) -> Any:
    source: Any = (
        rng.choice([*ids, "999", "", "²", 3, -1, True, None, ["4"], 10**300]) if ids else "1"
    )
    slot: Any = rng.choice([0, 0, 1, 2, 7, -1, 10**20, True, 1.0, "0", None])
    return [source, slot] if rng.random() < 0.9 else [source, slot, 0]


def _value(rng: random.Random, ids: list[str], depth: int = 0) -> Any:
    """Any JSON value, skewed towards the ones that break readers."""
    roll = rng.random()
    if roll < 0.25:
        return _number(rng)
    if roll < 0.45:
        return _string(rng)
    if roll < 0.55:
        return rng.choice([None, True, False])
    if roll < 0.7:
        return _link(rng, ids)
    if roll < 0.72:
        return _nested(rng)
    if depth > 2:
        return None
    if roll < 0.88:
        return [_value(rng, ids, depth + 1) for _ in range(rng.choice([0, 1, 2, 3, 7, 12]))]
    return {
        rng.choice(HOSTILE_KEYS + NAMES): _value(rng, ids, depth + 1)
        for _ in range(rng.randrange(4))
    }


# --------------------------------------------------------------------------- mutations
Path_ = tuple[Any, ...]


def _paths(doc: Any, limit: int = 5000) -> tuple[list[Path_], list[Path_]]:
    """Every path into ``doc`` (the root first), and those that end at a scalar."""
    found: list[Path_] = []
    leaves: list[Path_] = []
    stack: list[tuple[Path_, Any]] = [((), doc)]
    while stack and len(found) < limit:
        path, value = stack.pop()
        found.append(path)
        if isinstance(value, dict):
            stack.extend(((*path, k), v) for k, v in value.items())
        elif isinstance(value, list):
            stack.extend(((*path, i), v) for i, v in enumerate(value))
        else:
            leaves.append(path)
    return found, leaves


_BASE_PATHS = {id(doc): _paths(doc) for bases in BASES.values() for _, doc in bases}


def _at(doc: Any, path: Path_) -> Any:
    for key in path:
        doc = doc[key]
    return doc


def _ids(doc: Any, kind: str) -> list[str]:
    if kind == "api":
        inner = doc.get("prompt", doc) if isinstance(doc, dict) else {}
        return [str(k) for k in inner] if isinstance(inner, dict) else []
    if kind == "ui" and isinstance(doc, dict) and isinstance(doc.get("nodes"), list):
        found = (n.get("id") for n in doc["nodes"] if isinstance(n, dict))
        return [str(i) for i in found if isinstance(i, str | int)]
    if kind == "daguerre" and isinstance(doc, dict) and isinstance(doc.get("nodes"), dict):
        return list(doc["nodes"])
    return []


def _retype(rng: random.Random, value: Any) -> Any:
    if isinstance(value, bool):
        return rng.choice([int(value), str(value).lower(), [value], None])
    if isinstance(value, int | float):
        return rng.choice(
            [
                str(value),
                float(value)
                if isinstance(value, int)
                else int(value)
                if math.isfinite(value) and abs(value) < 1e300
                else 0,
                bool(value),
                [value],
                {"value": value},
            ]
        )
    if isinstance(value, str):
        return rng.choice(
            [
                [value],
                {value: value} if value else {},
                len(value),
                value.encode("utf-8", "surrogatepass").hex(),
                None,
            ]
        )
    if isinstance(value, list):
        return rng.choice(
            [{str(i): v for i, v in enumerate(value)}, value[:1], len(value), "list", [value]]
        )
    if isinstance(value, dict):
        return rng.choice([list(value.values()), list(value), len(value), "dict", [value]])
    return rng.choice([0, "", [], {}, False])


def _mutate(
    rng: random.Random,
    doc: Any,
    kind: str,
    log: list[str],
    known: tuple[list[Path_], list[Path_]] | None = None,
) -> Any:
    """One change to ``doc`` (in place where it can be); returns the document. ``known``:
    its paths, if they are known (a fresh copy of a base)."""
    paths, leaves = known or _paths(doc)
    leaves = leaves if leaves and leaves[0] else leaves[1:]  # never the root
    if leaves and rng.random() < 0.6:  # mostly values, so that many files still open
        path = rng.choice(leaves)
    else:
        path = rng.choice(paths[1:]) if len(paths) > 1 else ()
    if not path:
        log.append("root")
        return _value(rng, _ids(doc, kind))
    parent, key = _at(doc, path[:-1]), path[-1]
    ids = _ids(doc, kind)
    action = rng.choice(
        [
            "replace",
            "replace",
            "retype",
            "delete",
            "duplicate",
            "rekey",
            "swap",
            "link",
            "link",
            "number",
            "string",
            "nest",
        ]
    )
    log.append(f"{action} {list(path)!r}"[:200])
    if action == "replace":
        parent[key] = _value(rng, ids)
    elif action == "retype":
        parent[key] = _retype(rng, parent[key])
    elif action == "number":
        parent[key] = _number(rng)
    elif action == "string":
        parent[key] = _string(rng)
    elif action == "nest":
        parent[key] = _nested(rng)
    elif action == "delete":
        del parent[key]
    elif action == "duplicate":
        try:
            twin = copy.deepcopy(parent[key])
        except RecursionError:  # a deep nest from an earlier mutation
            twin = None
        if isinstance(parent, list):
            parent.insert(rng.randrange(len(parent) + 1), twin)
        else:
            parent[rng.choice([*HOSTILE_KEYS, f"{key}_2"])] = twin
    elif action == "rekey" and isinstance(parent, dict):
        parent[rng.choice(HOSTILE_KEYS + UNICODE_DIGITS + ids)] = parent.pop(key)
    elif action == "swap":
        other = rng.choice(paths)
        if other and not _is_prefix(path, other) and not _is_prefix(other, path):
            other_parent = _at(doc, other[:-1])
            parent[key], other_parent[other[-1]] = other_parent[other[-1]], parent[key]
    elif action == "link":
        _relink(rng, doc, kind, ids)
    else:
        parent[key] = _value(rng, ids)
    return doc


def _safely(mutate: Callable[[Any], Any], doc: Any, log: list[str]) -> Any:
    """A mutation that meets a shape an earlier one made (a list where it wants a dict,
    a nest too deep to copy) is skipped: the corpus tests the reader, not the mutator."""
    try:
        return mutate(doc)
    except (TypeError, KeyError, IndexError, AttributeError, RecursionError, ValueError):
        log.append("(skipped)")
        return doc


def _is_prefix(a: Path_, b: Path_) -> bool:
    return b[: len(a)] == a


def _relink(rng: random.Random, doc: Any, kind: str, ids: list[str]) -> None:
    """A link that dangles, loops onto its node or closes a cycle."""
    if not ids or not isinstance(doc, dict):
        return
    if kind == "api":
        nodes = doc.get("prompt", doc)
        node_id = rng.choice(list(nodes))
        node = nodes[node_id]
        if not isinstance(node, dict) or not isinstance(node.get("inputs"), dict):
            return
        inputs = node["inputs"]
        name = (
            rng.choice([*inputs, "model", "sampler_name", "add_noise", "seed"]) if inputs else "x"
        )
        source = rng.choice([node_id, *ids, "999", "²"])  # itself: a one-node cycle
        inputs[name] = [source, rng.choice([0, 0, 1, 5, 99])]
        if rng.random() < 0.5 and source in nodes and isinstance(nodes[source], dict):
            back = nodes[source].setdefault("inputs", {})  # and back: a two-node cycle
            if isinstance(back, dict):
                back[rng.choice(["model", "samples", "images", "clip"])] = [node_id, 0]
    elif kind == "ui":
        nodes, links = doc.get("nodes"), doc.get("links")
        if not isinstance(nodes, list) or not isinstance(links, list) or not nodes:
            return
        target = rng.choice(nodes)
        if not isinstance(target, dict) or not isinstance(target.get("inputs"), list):
            return
        origin = rng.choice(nodes)
        origin_id = origin.get("id") if isinstance(origin, dict) else 999
        link_id = rng.choice([len(links) + 100, 1, 10**20, -5])
        slot = rng.choice([0, 0, 1, 9])
        if rng.random() < 0.3:
            links.append({"id": link_id, "origin_id": origin_id, "origin_slot": slot})
        else:
            links.append(
                [
                    link_id,
                    rng.choice([origin_id, origin_id, 9999, "²"]),
                    slot,
                    target.get("id"),
                    0,
                    "*",
                ]
            )
        inputs = target["inputs"]
        slots = [slot for slot in inputs if isinstance(slot, dict)]
        if slots and rng.random() < 0.7:
            rng.choice(slots)["link"] = rng.choice([link_id, link_id, 424242])
        else:
            inputs.append(
                {"name": rng.choice(["model", "seed", "x"]), "type": "*", "link": link_id}
            )
    else:
        links = doc.get("links")
        if not isinstance(links, list):
            return
        source, target = rng.choice(ids), rng.choice([*ids, "missing"])
        links.append(
            {
                "from": [source, rng.choice(["latent", "image", "value", "x"])],
                "to": [target, rng.choice(["latent", "unet", "value", "x"])],
            }
        )


def _text_damage(rng: random.Random, data: bytes, log: list[str]) -> bytes:
    """Damage below JSON: cut, flipped, bytes inserted, a number made to overflow."""
    roll = rng.random()
    if roll < 0.88 or not data:
        return data
    if roll < 0.9:
        log.append("cut")
        return data[: rng.randrange(len(data))]
    if roll < 0.92:
        at = rng.randrange(len(data))
        log.append(f"flip {at}")
        return data[:at] + bytes([data[at] ^ rng.randrange(1, 256)]) + data[at + 1 :]
    if roll < 0.94:
        digits = [i for i, b in enumerate(data) if 0x30 <= b <= 0x39]
        if digits:
            at = rng.choice(digits) + 1
            token = rng.choice([b"e400", b"e308", b"0" * 400, b".5e-400"])
            log.append(f"number {token[:8]!r} at {at}")
            return data[:at] + token + data[at:]
        return data
    if roll < 0.97:
        at = rng.randrange(len(data))
        log.append(f"insert at {at}")
        return data[:at] + rng.randbytes(rng.randrange(1, 5)) + data[at:]
    log.append("bom")
    return b"\xef\xbb\xbf" + data


def _big(rng: random.Random, kind: str, log: list[str]) -> Any:
    """A large document of one shape: long chains, wide nodes, many similar ids."""
    n = rng.choice([200, 500, 800])
    shape = rng.choice(["chain", "ids", "wide", "bypassed"])
    log.append(f"big {shape} {n}")
    if kind == "api":
        doc: dict[str, Any] = {}
        for i in range(n):
            if shape == "ids":  # ids that all sanitise to the same Daguerre id
                doc["²" * (1 + i % 3) + chr(0x2070 + i % 10) * (i // 10 % 5) + str(i)] = {
                    "class_type": "EmptyLatentImage",
                    "inputs": {"width": 64, "height": 64, "batch_size": 1},
                }
            elif shape == "wide":
                doc[str(i)] = {
                    "class_type": "Custom",
                    "inputs": {f"in{j}": [str(j), j] for j in range(min(i, 8))},
                }
            else:  # a chain of unknown nodes, each reading the one before
                doc[str(i)] = {
                    "class_type": "Custom",
                    "inputs": {"x": [str(i - 1), 0]} if i else {},
                }
        return doc
    if kind == "ui":
        d = UIDoc()
        for i in range(1, n + 1):
            mode = 4 if shape == "bypassed" else 0
            outputs = (("IMAGE", "IMAGE"),) * (50 if shape == "wide" and i == 1 else 1)
            d.node(
                i,
                "Reroute" if shape == "chain" else "ImageSharpen",
                [],
                (("image", "IMAGE"),),
                outputs,
                mode=mode,
            )
            if i > 1:
                d.link(i - 1, 0, i, "image")
        return d.doc()
    graph = Graph(REGISTRY)  # Daguerre: a chain of reroutes from a seed, closed or bypassed
    graph.add_node("primitive.seed", id="seed")
    for i in range(n):
        graph.add_node("utility.reroute", id=f"r{i}")
        graph.insert_link(Link("seed" if i == 0 else f"r{i - 1}", "value", f"r{i}", "value"))
        graph.nodes[f"r{i}"].bypass = shape == "bypassed"
    if shape == "wide":  # and back to its start: a cycle of n nodes
        graph.insert_link(Link(f"r{n - 1}", "value", "r0", "value"))
    return to_dict(graph)
