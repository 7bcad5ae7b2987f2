"""Loader nodes: checkpoints, VAEs and ControlNets from files the user owns, offline."""

from __future__ import annotations

from typing import Any

from nodes.api import Node, Output, Param
from nodes.context import NodeContext
from nodes.library.errors import model_errors
from nodes.ports import PortType

PREDICTIONS = ("auto", "epsilon", "v_prediction")


class CheckpointLoader(Node):
    """Loads a Stable Diffusion checkpoint (SD1.x, SD2.x or SDXL): a single .safetensors
    file or a diffusers folder. The family is detected from the weights. Set prediction to
    v_prediction for SD2.x 768-v models if auto-detection gets it wrong."""

    type_id = "loaders.checkpoint"
    title = "Load Checkpoint"
    category = "loaders"
    params = (
        Param(
            "path",
            PortType.STRING,
            default="",
            file_kind="checkpoints",
            tooltip="A .safetensors file or a diffusers folder",
        ),
        Param("prediction", PortType.STRING, default="auto", choices=PREDICTIONS),
    )
    outputs = (
        Output("unet", PortType.UNET),
        Output("clip", PortType.CLIP),
        Output("vae", PortType.VAE),
    )

    def run(self, ctx: NodeContext, *, path: str, prediction: str) -> tuple[Any, Any, Any]:
        from nodes.diffusion.device import model_cache, model_key, placement
        from nodes.diffusion.values import ClipModel, UNetModel, VaeModel
        from nodes.models.loading import load_checkpoint

        file = ctx.resolve_file("checkpoints", path, "path")
        with model_errors("path"):
            device, dtype = placement(ctx.env)
            key = model_key("checkpoint", file, device, dtype, prediction)
            loaded = model_cache(ctx.env).get(
                key,
                lambda: load_checkpoint(file, device=device, dtype=dtype, prediction=prediction),  # type: ignore[arg-type]
            )
        unet = UNetModel(loaded.unet, loaded.family, loaded.scheduler_config, str(file))
        clip = ClipModel(tuple(loaded.text_encoders), tuple(loaded.tokenizers), loaded.family)
        vae = VaeModel(loaded.vae, loaded.family)
        ctx.result(text=f"{loaded.family.name}, {loaded.scheduler_config.get('prediction_type')}")
        return unet, clip, vae


class VaeLoader(Node):
    """Loads a standalone VAE (a .safetensors file or diffusers folder) to decode with
    instead of the checkpoint's own."""

    type_id = "loaders.vae"
    title = "Load VAE"
    category = "loaders"
    params = (
        Param("path", PortType.STRING, default="", file_kind="vae"),
        Param(
            "family",
            PortType.STRING,
            default="sd1",
            choices=("sd1", "sd2", "sdxl"),
            tooltip="The model family the VAE belongs to (sets the latent scaling)",
        ),
    )
    outputs = (Output("vae", PortType.VAE),)

    def run(self, ctx: NodeContext, *, path: str, family: str) -> tuple[Any]:
        from nodes.diffusion.device import model_cache, model_key, placement
        from nodes.diffusion.values import VaeModel
        from nodes.models.families import get_family
        from nodes.models.loading import load_vae

        file = ctx.resolve_file("vae", path, "path")
        fam = get_family(family)
        with model_errors("path"):
            device, dtype = placement(ctx.env)
            key = model_key("vae", file, device, dtype, fam.id)
            vae = model_cache(ctx.env).get(
                key, lambda: load_vae(file, device=device, dtype=dtype, family=fam)
            )
        return (VaeModel(vae, fam),)


class ControlNetLoader(Node):
    """Loads a ControlNet (a .safetensors file or a diffusers folder)."""

    type_id = "loaders.controlnet"
    title = "Load ControlNet"
    category = "loaders"
    params = (Param("path", PortType.STRING, default="", file_kind="controlnet"),)
    outputs = (Output("controlnet", PortType.CONTROLNET),)

    def run(self, ctx: NodeContext, *, path: str) -> tuple[Any]:
        from nodes.diffusion.device import model_cache, model_key, placement
        from nodes.models.loading import load_controlnet

        file = ctx.resolve_file("controlnet", path, "path")
        with model_errors("path"):
            device, dtype = placement(ctx.env)
            key = model_key("controlnet", file, device, dtype)
            loaded = model_cache(ctx.env).get(
                key, lambda: load_controlnet(file, device=device, dtype=dtype)
            )
        return (loaded,)


NODES: tuple[type[Node], ...] = (CheckpointLoader, VaeLoader, ControlNetLoader)
