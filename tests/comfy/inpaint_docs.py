"""Hand-written ComfyUI workflows with ComfyUI's inpainting and mask nodes, in both formats,
as ComfyUI's frontend writes them (widget values in ComfyUI's widget order)."""

from __future__ import annotations

from typing import Any

from tests.comfy.comfy_docs import SD15, UIDoc, _api

IMAGE = (("IMAGE", "IMAGE"),)
MASK = (("MASK", "MASK"),)
LATENT = (("LATENT", "LATENT"),)
COND = (("CONDITIONING", "CONDITIONING"),)
SAMPLER_IN = (
    ("model", "MODEL"),
    ("positive", "CONDITIONING"),
    ("negative", "CONDITIONING"),
    ("latent_image", "LATENT"),
)
IMC_IN = (
    ("positive", "CONDITIONING"),
    ("negative", "CONDITIONING"),
    ("vae", "VAE"),
    ("pixels", "IMAGE"),
    ("mask", "MASK"),
)
IMC_OUT = (("positive", "CONDITIONING"), ("negative", "CONDITIONING"), ("latent", "LATENT"))


def _prompt(d: UIDoc, checkpoint: str = SD15) -> None:
    """Checkpoint 4 and the two prompts 6 and 7."""
    d.node(
        4,
        "CheckpointLoaderSimple",
        [checkpoint],
        (),
        (("MODEL", "MODEL"), ("CLIP", "CLIP"), ("VAE", "VAE")),
    )
    d.node(6, "CLIPTextEncode", ["a red door"], (("clip", "CLIP"),), COND)
    d.node(7, "CLIPTextEncode", ["blurry"], (("clip", "CLIP"),), COND)
    d.link(4, 1, 6, "clip")
    d.link(4, 1, 7, "clip")


def _sample(
    d: UIDoc,
    node_id: int,
    positive: tuple[int, int],
    negative: tuple[int, int],
    latent: tuple[int, int],
) -> None:
    d.node(node_id, "KSampler", [1234, "fixed", 3, 7.0, "euler", "normal", 1], SAMPLER_IN, LATENT)
    d.link(4, 0, node_id, "model")
    d.link(*positive, node_id, "positive")
    d.link(*negative, node_id, "negative")
    d.link(*latent, node_id, "latent_image")


def masks_ui() -> UIDoc:
    """Every mapped mask and inpainting class, wired into one workflow."""
    d = UIDoc()
    _prompt(d)
    d.node(11, "LoadImage", ["photo.png", "image"], (), (("IMAGE", "IMAGE"), ("MASK", "MASK")))
    d.node(30, "LoadImageMask", ["mask.png", "red", "image"], (), MASK)
    d.node(31, "ImageToMask", ["green"], (("image", "IMAGE"),), MASK)
    d.node(32, "MaskToImage", [], (("mask", "MASK"),), IMAGE)
    d.node(33, "InvertMask", [], (("mask", "MASK"),), MASK)
    d.node(34, "GrowMask", [4, False], (("mask", "MASK"),), MASK)
    d.node(35, "ThresholdMask", [0.25], (("mask", "MASK"),), MASK)
    d.node(36, "FeatherMask", [2, 4, 6, 8], (("mask", "MASK"),), MASK)
    d.node(37, "SolidMask", [1, 64, 64], (), MASK)
    d.node(38, "MaskComposite", [8, 16, "or"], (("destination", "MASK"), ("source", "MASK")), MASK)
    d.node(
        39,
        "ImageCompositeMasked",
        [4, 8, True],
        (("destination", "IMAGE"), ("source", "IMAGE"), ("mask", "MASK")),
        IMAGE,
    )
    d.node(
        40,
        "ImagePadForOutpaint",
        [8, 0, 16, 24, 40],
        (("image", "IMAGE"),),
        (("IMAGE", "IMAGE"), ("MASK", "MASK")),
    )
    d.node(
        41,
        "VAEEncodeForInpaint",
        [6],
        (("pixels", "IMAGE"), ("vae", "VAE"), ("mask", "MASK")),
        LATENT,
    )
    d.node(42, "SetLatentNoiseMask", [], (("samples", "LATENT"), ("mask", "MASK")), LATENT)
    d.node(43, "InpaintModelConditioning", [False], IMC_IN, IMC_OUT)
    d.link(11, 0, 31, "image")
    d.link(30, 0, 32, "mask")
    d.link(11, 1, 33, "mask")  # LoadImage's MASK output
    d.link(33, 0, 34, "mask")
    d.link(34, 0, 35, "mask")
    d.link(35, 0, 36, "mask")
    d.link(37, 0, 38, "destination")
    d.link(36, 0, 38, "source")
    d.link(11, 0, 39, "destination")
    d.link(32, 0, 39, "source")
    d.link(31, 0, 39, "mask")
    d.link(39, 0, 40, "image")
    d.link(40, 0, 41, "pixels")
    d.link(4, 2, 41, "vae")
    d.link(38, 0, 41, "mask")
    d.link(41, 0, 42, "samples")
    d.link(40, 1, 42, "mask")
    d.link(6, 0, 43, "positive")
    d.link(7, 0, 43, "negative")
    d.link(4, 2, 43, "vae")
    d.link(40, 0, 43, "pixels")
    d.link(40, 1, 43, "mask")
    _sample(d, 3, (43, 0), (43, 1), (42, 0))
    _sample(d, 45, (6, 0), (7, 0), (43, 2))
    d.node(8, "VAEDecode", [], (("samples", "LATENT"), ("vae", "VAE")), IMAGE)
    d.node(9, "SaveImage", ["masks"], (("images", "IMAGE"),), ())
    d.link(3, 0, 8, "samples")
    d.link(4, 2, 8, "vae")
    d.link(8, 0, 9, "images")
    return d


def _ksampler(positive: list[Any], negative: list[Any], latent: list[Any]) -> dict[str, Any]:
    inputs = {
        "seed": 1234,
        "steps": 3,
        "cfg": 7.0,
        "sampler_name": "euler",
        "scheduler": "normal",
        "denoise": 1,
        "model": ["4", 0],
        "positive": positive,
        "negative": negative,
        "latent_image": latent,
    }
    return _api("KSampler", inputs)


def masks_api() -> dict[str, Any]:
    """The API form of :func:`masks_ui`, as ComfyUI's frontend sends it."""
    return {
        "4": _api("CheckpointLoaderSimple", {"ckpt_name": SD15}),
        "6": _api("CLIPTextEncode", {"text": "a red door", "clip": ["4", 1]}),
        "7": _api("CLIPTextEncode", {"text": "blurry", "clip": ["4", 1]}),
        "11": _api("LoadImage", {"image": "photo.png", "upload": "image"}),
        "30": _api("LoadImageMask", {"image": "mask.png", "channel": "red", "upload": "image"}),
        "31": _api("ImageToMask", {"channel": "green", "image": ["11", 0]}),
        "32": _api("MaskToImage", {"mask": ["30", 0]}),
        "33": _api("InvertMask", {"mask": ["11", 1]}),
        "34": _api("GrowMask", {"expand": 4, "tapered_corners": False, "mask": ["33", 0]}),
        "35": _api("ThresholdMask", {"value": 0.25, "mask": ["34", 0]}),
        "36": _api(
            "FeatherMask", {"left": 2, "top": 4, "right": 6, "bottom": 8, "mask": ["35", 0]}
        ),
        "37": _api("SolidMask", {"value": 1, "width": 64, "height": 64}),
        "38": _api(
            "MaskComposite",
            {"x": 8, "y": 16, "operation": "or", "destination": ["37", 0], "source": ["36", 0]},
        ),
        "39": _api(
            "ImageCompositeMasked",
            {
                "x": 4,
                "y": 8,
                "resize_source": True,
                "destination": ["11", 0],
                "source": ["32", 0],
                "mask": ["31", 0],
            },
        ),
        "40": _api(
            "ImagePadForOutpaint",
            {"left": 8, "top": 0, "right": 16, "bottom": 24, "feathering": 40, "image": ["39", 0]},
        ),
        "41": _api(
            "VAEEncodeForInpaint",
            {"grow_mask_by": 6, "pixels": ["40", 0], "vae": ["4", 2], "mask": ["38", 0]},
        ),
        "42": _api("SetLatentNoiseMask", {"samples": ["41", 0], "mask": ["40", 1]}),
        "43": _api(
            "InpaintModelConditioning",
            {
                "noise_mask": False,
                "positive": ["6", 0],
                "negative": ["7", 0],
                "vae": ["4", 2],
                "pixels": ["40", 0],
                "mask": ["40", 1],
            },
        ),
        "3": _ksampler(["43", 0], ["43", 1], ["42", 0]),
        "45": _ksampler(["6", 0], ["7", 0], ["43", 2]),
        "8": _api("VAEDecode", {"samples": ["3", 0], "vae": ["4", 2]}),
        "9": _api("SaveImage", {"filename_prefix": "masks", "images": ["8", 0]}),
    }


def inpaint_ui(checkpoint: str = SD15) -> UIDoc:
    """ComfyUI's inpainting example: the picture's alpha is the mask, VAE Encode (for
    Inpainting) keeps the rest of the latent."""
    d = UIDoc()
    _prompt(d, checkpoint)
    d.node(11, "LoadImage", ["inpaint.png", "image"], (), (("IMAGE", "IMAGE"), ("MASK", "MASK")))
    d.node(
        12,
        "VAEEncodeForInpaint",
        [6],
        (("pixels", "IMAGE"), ("vae", "VAE"), ("mask", "MASK")),
        LATENT,
    )
    d.link(11, 0, 12, "pixels")
    d.link(4, 2, 12, "vae")
    d.link(11, 1, 12, "mask")
    _sample(d, 3, (6, 0), (7, 0), (12, 0))
    _decode_and_save(d, "inpaint")
    return d


def inpaint_model_ui(checkpoint: str = "512-inpainting-ema.safetensors") -> UIDoc:
    """An inpainting checkpoint: the mask grown by Grow Mask, Inpaint Model Conditioning
    feeding the KSampler's prompts and latent."""
    d = UIDoc()
    _prompt(d, checkpoint)
    d.node(11, "LoadImage", ["inpaint.png", "image"], (), (("IMAGE", "IMAGE"), ("MASK", "MASK")))
    d.node(13, "GrowMask", [4, True], (("mask", "MASK"),), MASK)
    d.node(14, "InpaintModelConditioning", [True], IMC_IN, IMC_OUT)
    d.link(11, 1, 13, "mask")
    d.link(6, 0, 14, "positive")
    d.link(7, 0, 14, "negative")
    d.link(4, 2, 14, "vae")
    d.link(11, 0, 14, "pixels")
    d.link(13, 0, 14, "mask")
    _sample(d, 3, (14, 0), (14, 1), (14, 2))
    _decode_and_save(d, "inpaint_model")
    return d


def _decode_and_save(d: UIDoc, prefix: str) -> None:
    d.node(8, "VAEDecode", [], (("samples", "LATENT"), ("vae", "VAE")), IMAGE)
    d.node(9, "SaveImage", [prefix], (("images", "IMAGE"),), ())
    d.link(3, 0, 8, "samples")
    d.link(4, 2, 8, "vae")
    d.link(8, 0, 9, "images")
