"""Hand-written ComfyUI workflows with ComfyUI's resize and crop nodes, in both formats, as
ComfyUI's frontend writes them (widget values in ComfyUI's widget order), and ComfyUI's
hires fix example (``hiresfix_latent_workflow``: txt2img at 768, Upscale Latent to 1152,
a second KSampler at denoise 0.5)."""

from __future__ import annotations

from typing import Any

from tests.comfy.comfy_docs import SD15, UIDoc, _api
from tests.comfy.inpaint_docs import COND, IMAGE, LATENT, SAMPLER_IN

CHECKPOINT_OUT = (("MODEL", "MODEL"), ("CLIP", "CLIP"), ("VAE", "VAE"))


def _prompts(d: UIDoc, checkpoint: str, node: int = 4) -> None:
    d.node(node, "CheckpointLoaderSimple", [checkpoint], (), CHECKPOINT_OUT)
    d.node(6, "CLIPTextEncode", ["a castle on a hill"], (("clip", "CLIP"),), COND)
    d.node(7, "CLIPTextEncode", ["blurry"], (("clip", "CLIP"),), COND)
    d.link(node, 1, 6, "clip")
    d.link(node, 1, 7, "clip")


def _ksampler(d: UIDoc, node_id: int, widgets: list[Any], latent: int, model: int = 4) -> None:
    d.node(node_id, "KSampler", widgets, SAMPLER_IN, LATENT)
    d.link(model, 0, node_id, "model")
    d.link(6, 0, node_id, "positive")
    d.link(7, 0, node_id, "negative")
    d.link(latent, 0, node_id, "latent_image")


def resize_ui() -> UIDoc:
    """Every mapped resize class in one runnable chain: a 64² txt2img latent upscaled to
    96², then ×1.5; decoded, scaled to 128 wide, halved, to 0.01 megapixels in multiples
    of 8 (104²), cropped to 32×24."""
    d = UIDoc()
    _prompts(d, SD15)
    d.node(5, "EmptyLatentImage", [64, 64, 1], (), LATENT)
    _ksampler(d, 3, [1234, "fixed", 3, 7.0, "euler", "normal", 1], 5)
    upscale = ["nearest-exact", 96, 96, "disabled"]
    d.node(10, "LatentUpscale", upscale, (("samples", "LATENT"),), LATENT)
    d.node(50, "LatentUpscaleBy", ["bicubic", 1.5], (("samples", "LATENT"),), LATENT)
    d.node(8, "VAEDecode", [], (("samples", "LATENT"), ("vae", "VAE")), IMAGE)
    d.node(51, "ImageScale", ["lanczos", 128, 0, "center"], (("image", "IMAGE"),), IMAGE)
    d.node(52, "ImageScaleBy", ["area", 0.5], (("image", "IMAGE"),), IMAGE)
    d.node(53, "ImageScaleToTotalPixels", ["bilinear", 0.01, 8], (("image", "IMAGE"),), IMAGE)
    d.node(54, "ImageCrop", [32, 24, 4, 8], (("image", "IMAGE"),), IMAGE)
    d.node(9, "SaveImage", ["resized"], (("images", "IMAGE"),), ())
    d.link(3, 0, 10, "samples")
    d.link(10, 0, 50, "samples")
    d.link(50, 0, 8, "samples")
    d.link(4, 2, 8, "vae")
    d.link(8, 0, 51, "image")
    d.link(51, 0, 52, "image")
    d.link(52, 0, 53, "image")
    d.link(53, 0, 54, "image")
    d.link(54, 0, 9, "images")
    return d


def resize_api() -> dict[str, Any]:
    """The API form of :func:`resize_ui`, as ComfyUI's frontend sends it."""
    return {
        "4": _api("CheckpointLoaderSimple", {"ckpt_name": SD15}),
        "6": _api("CLIPTextEncode", {"text": "a castle on a hill", "clip": ["4", 1]}),
        "7": _api("CLIPTextEncode", {"text": "blurry", "clip": ["4", 1]}),
        "5": _api("EmptyLatentImage", {"width": 64, "height": 64, "batch_size": 1}),
        "3": _api(
            "KSampler",
            {
                "seed": 1234,
                "steps": 3,
                "cfg": 7.0,
                "sampler_name": "euler",
                "scheduler": "normal",
                "denoise": 1,
                "model": ["4", 0],
                "positive": ["6", 0],
                "negative": ["7", 0],
                "latent_image": ["5", 0],
            },
        ),
        "10": _api(
            "LatentUpscale",
            {
                "upscale_method": "nearest-exact",
                "width": 96,
                "height": 96,
                "crop": "disabled",
                "samples": ["3", 0],
            },
        ),
        "50": _api(
            "LatentUpscaleBy", {"upscale_method": "bicubic", "scale_by": 1.5, "samples": ["10", 0]}
        ),
        "8": _api("VAEDecode", {"samples": ["50", 0], "vae": ["4", 2]}),
        "51": _api(
            "ImageScale",
            {
                "upscale_method": "lanczos",
                "width": 128,
                "height": 0,
                "crop": "center",
                "image": ["8", 0],
            },
        ),
        "52": _api("ImageScaleBy", {"upscale_method": "area", "scale_by": 0.5, "image": ["51", 0]}),
        "53": _api(
            "ImageScaleToTotalPixels",
            {
                "upscale_method": "bilinear",
                "megapixels": 0.01,
                "resolution_steps": 8,
                "image": ["52", 0],
            },
        ),
        "54": _api("ImageCrop", {"width": 32, "height": 24, "x": 4, "y": 8, "image": ["53", 0]}),
        "9": _api("SaveImage", {"filename_prefix": "resized", "images": ["54", 0]}),
    }


def hires_fix_ui() -> UIDoc:
    """ComfyUI's hires fix example as its frontend saved it: an SD2.1 768 checkpoint,
    txt2img at 768² (dpmpp_sde), Upscale Latent to 1152² (nearest-exact), a second KSampler
    at denoise 0.5 (dpmpp_2m, simple); both passes decoded and saved, in four groups."""
    d = UIDoc()
    _prompts(d, "v2-1_768-ema-pruned.safetensors", node=16)
    d.node(5, "EmptyLatentImage", [768, 768, 1], (), LATENT)
    _ksampler(d, 3, [748940210657206, "randomize", 12, 8, "dpmpp_sde", "normal", 1], 5, 16)
    d.node(
        10,
        "LatentUpscale",
        ["nearest-exact", 1152, 1152, "disabled"],
        (("samples", "LATENT"),),
        LATENT,
    )
    d.link(3, 0, 10, "samples")
    _ksampler(d, 11, [497066463919513, "randomize", 14, 8, "dpmpp_2m", "simple", 0.5], 10, 16)
    for decode, save, latent in ((8, 9, 3), (13, 12, 11)):
        d.node(decode, "VAEDecode", [], (("samples", "LATENT"), ("vae", "VAE")), IMAGE)
        d.node(save, "SaveImage", ["ComfyUI"], (("images", "IMAGE"),), ())
        d.link(latent, 0, decode, "samples")
        d.link(16, 2, decode, "vae")
        d.link(decode, 0, save, "images")
    for title, bounding in (
        ("Txt2Img", [-1, 30, 1211, 708]),
        ("Save Intermediate Image", [1225, 500, 516, 196]),
        ("Hires Fix", [1224, 29, 710, 464]),
        ("Save Final Image", [1949, 31, 483, 199]),
    ):
        d.groups.append({"title": title, "bounding": bounding, "color": "#3f789e"})
    return d
