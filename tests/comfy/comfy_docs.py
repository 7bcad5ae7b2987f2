"""Hand-written ComfyUI workflows, in both formats, as ComfyUI's frontend writes them."""

from __future__ import annotations

import copy
from typing import Any

SD15 = "v1-5-pruned-emaonly.safetensors"


class UIDoc:
    """Builds a UI-format workflow: nodes with typed slots, links by slot name."""

    def __init__(self, version: float | int = 0.4, object_links: bool = False) -> None:
        self.version = version
        self.object_links = object_links
        self.nodes: dict[int, dict[str, Any]] = {}
        self.links: list[Any] = []
        self.groups: list[dict[str, Any]] = []

    def node(
        self,
        node_id: int,
        class_type: str,
        widgets: Any = None,
        inputs: tuple[tuple[str, str], ...] = (),
        outputs: tuple[tuple[str, str], ...] = (),
        **extra: Any,
    ) -> dict[str, Any]:
        node = {
            "id": node_id,
            "type": class_type,
            "pos": [100.0 * len(self.nodes), 50.0 * node_id],
            "size": [315, 100],
            "flags": {},
            "order": len(self.nodes),
            "mode": 0,
            "inputs": [{"name": n, "type": t, "link": None} for n, t in inputs],
            "outputs": [{"name": n, "type": t, "links": []} for n, t in outputs],
            "properties": {"Node name for S&R": class_type},
        }
        if widgets is not None:
            node["widgets_values"] = widgets
        node.update(extra)
        self.nodes[node_id] = node
        return node

    def widget_input(self, node_id: int, name: str, kind: str) -> None:
        """Convert widget ``name`` of a node to an input socket (as right-click › convert)."""
        self.nodes[node_id]["inputs"].append(
            {"name": name, "type": kind, "widget": {"name": name}, "link": None}
        )

    def link(self, source: int, slot: int, target: int, name: str) -> None:
        link_id = len(self.links) + 1
        src, dst = self.nodes[source], self.nodes[target]
        index = next(i for i, s in enumerate(dst["inputs"]) if s["name"] == name)
        dst["inputs"][index]["link"] = link_id
        out = src["outputs"][slot]
        out["links"].append(link_id)
        kind = out["type"]
        if self.object_links:
            self.links.append(
                {
                    "id": link_id,
                    "origin_id": source,
                    "origin_slot": slot,
                    "target_id": target,
                    "target_slot": index,
                    "type": kind,
                }
            )
        else:
            self.links.append([link_id, source, slot, target, index, kind])

    def doc(self) -> dict[str, Any]:
        return copy.deepcopy(
            {
                "last_node_id": max(self.nodes, default=0),
                "last_link_id": len(self.links),
                "nodes": list(self.nodes.values()),
                "links": self.links,
                "groups": self.groups,
                "config": {},
                "extra": {"ds": {"scale": 1.0, "offset": [0, 0]}},
                "version": self.version,
            }
        )


def sd15_ui(version: float | int = 0.4, object_links: bool = False) -> UIDoc:
    """Every SD1.x core node type Daguerre maps, wired into one runnable workflow."""
    d = UIDoc(version, object_links)
    d.node(
        4,
        "CheckpointLoaderSimple",
        [SD15],
        (),
        (("MODEL", "MODEL"), ("CLIP", "CLIP"), ("VAE", "VAE")),
    )
    d.node(
        10,
        "LoraLoader",
        ["style.safetensors", 0.8, 0.6],
        (("model", "MODEL"), ("clip", "CLIP")),
        (("MODEL", "MODEL"), ("CLIP", "CLIP")),
    )
    d.node(20, "Reroute", None, (("", "*"),), (("", "CLIP"),))
    d.node(
        6,
        "CLIPTextEncode",
        ["a lighthouse on a cliff"],
        (("clip", "CLIP"),),
        (("CONDITIONING", "CONDITIONING"),),
        title="Positive",
        color="#232",
        bgcolor="#353",
    )
    d.node(
        7, "CLIPTextEncode", ["blurry"], (("clip", "CLIP"),), (("CONDITIONING", "CONDITIONING"),)
    )
    d.node(11, "LoadImage", ["control.png", "image"], (), (("IMAGE", "IMAGE"), ("MASK", "MASK")))
    d.node(12, "Canny", [0.4, 0.8], (("image", "IMAGE"),), (("IMAGE", "IMAGE"),))
    d.node(
        13,
        "ControlNetLoader",
        ["control_sd15_canny.safetensors"],
        (),
        (("CONTROL_NET", "CONTROL_NET"),),
    )
    d.node(
        14,
        "ControlNetApplyAdvanced",
        [0.9, 0.0, 0.8],
        (
            ("positive", "CONDITIONING"),
            ("negative", "CONDITIONING"),
            ("control_net", "CONTROL_NET"),
            ("image", "IMAGE"),
        ),
        (("positive", "CONDITIONING"), ("negative", "CONDITIONING")),
    )
    d.node(
        15,
        "ControlNetApply",
        [0.5],
        (("conditioning", "CONDITIONING"), ("control_net", "CONTROL_NET"), ("image", "IMAGE")),
        (("CONDITIONING", "CONDITIONING"),),
    )
    d.node(5, "EmptyLatentImage", [64, 64, 1], (), (("LATENT", "LATENT"),))
    d.node(30, "PrimitiveNode", [1234, "increment"], (), (("INT", "INT"),), title="seed")
    d.nodes[30]["outputs"][0]["widget"] = {"name": "seed"}
    d.node(
        3,
        "KSampler",
        [1234, "increment", 3, 7.5, "euler", "karras", 1],
        (
            ("model", "MODEL"),
            ("positive", "CONDITIONING"),
            ("negative", "CONDITIONING"),
            ("latent_image", "LATENT"),
        ),
        (("LATENT", "LATENT"),),
    )
    d.widget_input(3, "seed", "INT")
    d.node(8, "VAEDecode", [], (("samples", "LATENT"), ("vae", "VAE")), (("IMAGE", "IMAGE"),))
    d.node(9, "SaveImage", ["ComfyUI"], (("images", "IMAGE"),), (), title="Final image")
    d.node(21, "VAELoader", ["vae-ft-mse-840000.safetensors"], (), (("VAE", "VAE"),))
    d.node(22, "VAEEncode", [], (("pixels", "IMAGE"), ("vae", "VAE")), (("LATENT", "LATENT"),))
    d.node(
        23,
        "KSamplerAdvanced",
        ["enable", 42, "fixed", 3, 6, "dpmpp_2m", "normal", 0, 10000, "disable"],
        (
            ("model", "MODEL"),
            ("positive", "CONDITIONING"),
            ("negative", "CONDITIONING"),
            ("latent_image", "LATENT"),
        ),
        (("LATENT", "LATENT"),),
    )
    d.node(24, "VAEDecode", [], (("samples", "LATENT"), ("vae", "VAE")), (("IMAGE", "IMAGE"),))
    d.node(25, "PreviewImage", [], (("images", "IMAGE"),), ())
    d.node(40, "Note", ["just a note"])
    d.node(41, "MarkdownNote", ["# A title"])
    d.link(4, 0, 10, "model")
    d.link(4, 1, 10, "clip")
    d.link(10, 1, 20, "")
    d.link(20, 0, 6, "clip")
    d.link(20, 0, 7, "clip")
    d.link(11, 0, 12, "image")
    d.link(6, 0, 14, "positive")
    d.link(7, 0, 14, "negative")
    d.link(13, 0, 14, "control_net")
    d.link(12, 0, 14, "image")
    d.link(14, 0, 15, "conditioning")
    d.link(13, 0, 15, "control_net")
    d.link(11, 0, 15, "image")
    d.link(10, 0, 3, "model")
    d.link(15, 0, 3, "positive")
    d.link(14, 1, 3, "negative")
    d.link(5, 0, 3, "latent_image")
    d.link(30, 0, 3, "seed")
    d.link(3, 0, 8, "samples")
    d.link(4, 2, 8, "vae")
    d.link(8, 0, 9, "images")
    d.link(11, 0, 22, "pixels")
    d.link(21, 0, 22, "vae")
    d.link(4, 0, 23, "model")
    d.link(6, 0, 23, "positive")
    d.link(7, 0, 23, "negative")
    d.link(22, 0, 23, "latent_image")
    d.link(23, 0, 24, "samples")
    d.link(21, 0, 24, "vae")
    d.link(24, 0, 25, "images")
    d.groups.append(
        {
            "id": 1,
            "title": "Prompt",
            "bounding": [300, 200, 500, 300],
            "color": "#3f789e",
            "font_size": 24,
            "flags": {},
        }
    )
    return d


def sd15_api() -> dict[str, Any]:
    """The API form of :func:`sd15_ui`, as ComfyUI's frontend sends it."""
    return {
        "4": _api("CheckpointLoaderSimple", {"ckpt_name": SD15}, "Load Checkpoint"),
        "10": _api(
            "LoraLoader",
            {
                "lora_name": "style.safetensors",
                "strength_model": 0.8,
                "strength_clip": 0.6,
                "model": ["4", 0],
                "clip": ["4", 1],
            },
        ),
        "6": _api(
            "CLIPTextEncode", {"text": "a lighthouse on a cliff", "clip": ["10", 1]}, "Positive"
        ),
        "7": _api("CLIPTextEncode", {"text": "blurry", "clip": ["10", 1]}),
        "11": _api("LoadImage", {"image": "control.png", "upload": "image"}),
        "12": _api("Canny", {"low_threshold": 0.4, "high_threshold": 0.8, "image": ["11", 0]}),
        "13": _api("ControlNetLoader", {"control_net_name": "control_sd15_canny.safetensors"}),
        "14": _api(
            "ControlNetApplyAdvanced",
            {
                "strength": 0.9,
                "start_percent": 0.0,
                "end_percent": 0.8,
                "positive": ["6", 0],
                "negative": ["7", 0],
                "control_net": ["13", 0],
                "image": ["12", 0],
            },
        ),
        "15": _api(
            "ControlNetApply",
            {
                "strength": 0.5,
                "conditioning": ["14", 0],
                "control_net": ["13", 0],
                "image": ["11", 0],
            },
        ),
        "5": _api("EmptyLatentImage", {"width": 64, "height": 64, "batch_size": 1}),
        "3": _api(
            "KSampler",
            {
                "seed": 1234,
                "steps": 3,
                "cfg": 7.5,
                "sampler_name": "euler",
                "scheduler": "karras",
                "denoise": 1,
                "model": ["10", 0],
                "positive": ["15", 0],
                "negative": ["14", 1],
                "latent_image": ["5", 0],
            },
        ),
        "8": _api("VAEDecode", {"samples": ["3", 0], "vae": ["4", 2]}),
        "9": _api("SaveImage", {"filename_prefix": "ComfyUI", "images": ["8", 0]}, "Final image"),
        "21": _api("VAELoader", {"vae_name": "vae-ft-mse-840000.safetensors"}),
        "22": _api("VAEEncode", {"pixels": ["11", 0], "vae": ["21", 0]}),
        "23": _api(
            "KSamplerAdvanced",
            {
                "add_noise": "enable",
                "noise_seed": 42,
                "steps": 3,
                "cfg": 6,
                "sampler_name": "dpmpp_2m",
                "scheduler": "normal",
                "start_at_step": 0,
                "end_at_step": 10000,
                "return_with_leftover_noise": "disable",
                "model": ["4", 0],
                "positive": ["6", 0],
                "negative": ["7", 0],
                "latent_image": ["22", 0],
            },
        ),
        "24": _api("VAEDecode", {"samples": ["23", 0], "vae": ["21", 0]}),
        "25": _api("PreviewImage", {"images": ["24", 0]}),
    }


def sdxl_api() -> dict[str, Any]:
    """An SDXL graph with CLIPTextEncodeSDXL, as API JSON."""
    sizes = {
        "width": 64,
        "height": 64,
        "crop_w": 0,
        "crop_h": 0,
        "target_width": 64,
        "target_height": 64,
    }
    return {
        "1": _api("CheckpointLoaderSimple", {"ckpt_name": "sd_xl_base_1.0.safetensors"}),
        "2": _api(
            "CLIPTextEncodeSDXL", {**sizes, "text_g": "a fox", "text_l": "a fox", "clip": ["1", 1]}
        ),
        "3": _api("CLIPTextEncodeSDXL", {**sizes, "text_g": "", "text_l": "", "clip": ["1", 1]}),
        "4": _api("EmptyLatentImage", {"width": 64, "height": 64, "batch_size": 1}),
        "5": _api(
            "KSampler",
            {
                "seed": 7,
                "steps": 3,
                "cfg": 5.0,
                "sampler_name": "euler",
                "scheduler": "normal",
                "denoise": 1.0,
                "model": ["1", 0],
                "positive": ["2", 0],
                "negative": ["3", 0],
                "latent_image": ["4", 0],
            },
        ),
        "6": _api("VAEDecode", {"samples": ["5", 0], "vae": ["1", 2]}),
        "7": _api("SaveImage", {"filename_prefix": "xl", "images": ["6", 0]}),
    }


def _api(class_type: str, inputs: dict[str, Any], title: str | None = None) -> dict[str, Any]:
    return {"inputs": inputs, "class_type": class_type, "_meta": {"title": title or class_type}}
