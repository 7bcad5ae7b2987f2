"""Loader nodes: checkpoints, VAEs, ControlNets and LoRAs from files the user owns, offline."""

from __future__ import annotations

from typing import TYPE_CHECKING

from nodes.api import Input, Node, Output, Param
from nodes.context import Environment, NodeContext
from nodes.library.errors import model_errors
from nodes.models.families import LOADABLE_IDS
from nodes.ports import PortType

if TYPE_CHECKING:
    from nodes.diffusion.device import ModelCache
    from nodes.diffusion.values import ClipModel, UNetModel, VaeModel
    from nodes.models.loading import LoadedControlNet

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

    def run(
        self, ctx: NodeContext, *, path: str, prediction: str
    ) -> tuple[UNetModel, ClipModel, VaeModel]:
        from nodes.diffusion.device import key_size, model_cache, model_key, placement
        from nodes.diffusion.values import ClipModel, UNetModel, VaeModel
        from nodes.models.loading import load_checkpoint

        file = ctx.resolve_file("checkpoints", path, "path")
        with model_errors("path"):
            device, dtype = placement(ctx.env)
            key = model_key("checkpoint", file, device, dtype, prediction)
            loaded = model_cache(ctx.env).get(
                key,
                lambda: load_checkpoint(
                    file,
                    device=device,
                    dtype=dtype,
                    prediction=prediction,  # type: ignore[arg-type]
                ),
                device=device,
                size=key_size(key, dtype),
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
            choices=LOADABLE_IDS,
            tooltip="The model family the VAE belongs to (sets the latent scaling)",
        ),
    )
    outputs = (Output("vae", PortType.VAE),)

    def run(self, ctx: NodeContext, *, path: str, family: str) -> tuple[VaeModel]:
        from nodes.diffusion.device import key_size, model_cache, model_key, placement
        from nodes.diffusion.values import VaeModel
        from nodes.models.families import get_family
        from nodes.models.loading import load_vae

        file = ctx.resolve_file("vae", path, "path")
        fam = get_family(family)
        with model_errors("path"):
            device, dtype = placement(ctx.env)
            key = model_key("vae", file, device, dtype, fam.id)
            vae = model_cache(ctx.env).get(
                key,
                lambda: load_vae(file, device=device, dtype=dtype, family=fam),
                device=device,
                size=key_size(key, dtype),
            )
        return (VaeModel(vae, fam),)


class ControlNetLoader(Node):
    """Loads a ControlNet (a .safetensors file or a diffusers folder)."""

    type_id = "loaders.controlnet"
    title = "Load ControlNet"
    category = "loaders"
    params = (Param("path", PortType.STRING, default="", file_kind="controlnet"),)
    outputs = (Output("controlnet", PortType.CONTROLNET),)

    def run(self, ctx: NodeContext, *, path: str) -> tuple[LoadedControlNet]:
        from nodes.diffusion.device import key_size, model_cache, model_key, placement
        from nodes.models.loading import load_controlnet

        file = ctx.resolve_file("controlnet", path, "path")
        with model_errors("path"):
            device, dtype = placement(ctx.env)
            key = model_key("controlnet", file, device, dtype)
            loaded = model_cache(ctx.env).get(
                key,
                lambda: load_controlnet(file, device=device, dtype=dtype),
                device=device,
                size=key_size(key, dtype),
            )
        return (loaded,)


class LoraLoader(Node):
    """Applies a LoRA (a kohya or diffusers-format .safetensors) to the UNet and the text
    encoder(s). The strengths scale its effect: 0 turns it off, negative values invert it.
    Chain several to combine LoRAs. The checkpoint itself is never changed: the LoRA is
    added to the weights only while sampling or text encoding runs."""

    type_id = "loaders.lora"
    title = "Load LoRA"
    category = "loaders"
    inputs = (Input("unet", PortType.UNET), Input("clip", PortType.CLIP))
    params = (
        Param(
            "path",
            PortType.STRING,
            default="",
            file_kind="lora",
            tooltip="A LoRA file: kohya/sd-scripts or diffusers format (.safetensors)",
        ),
        Param(
            "strength_unet",
            PortType.FLOAT,
            default=1.0,
            min=-10.0,
            max=10.0,
            step=0.05,
            tooltip="How strongly the LoRA changes the UNet (the image)",
        ),
        Param(
            "strength_clip",
            PortType.FLOAT,
            default=1.0,
            min=-10.0,
            max=10.0,
            step=0.05,
            tooltip="How strongly the LoRA changes the text encoder (the prompt's meaning)",
        ),
    )
    outputs = (Output("unet", PortType.UNET), Output("clip", PortType.CLIP))

    def run(
        self,
        ctx: NodeContext,
        *,
        unet: UNetModel,
        clip: ClipModel,
        path: str,
        strength_unet: float,
        strength_clip: float,
    ) -> tuple[UNetModel, ClipModel]:
        import dataclasses

        from nodes.diffusion.device import model_key
        from nodes.diffusion.values import LoraPatch
        from nodes.models.lora import bind_lora, read_lora

        file = ctx.resolve_file("lora", path, "path")
        with model_errors("path"):
            module = unet.module
            blocks = module.config.layers_per_block
            blocks = blocks if isinstance(blocks, int) else None
            key = model_key("lora", file, module.device, module.dtype, blocks)
            lora = _lora_cache(ctx.env).get(
                key, lambda: read_lora(file, layers_per_block=blocks, device=module.device)
            )
            bound = bind_lora(lora, module, clip.encoders, unet.family)
        source = str(file)
        if strength_unet != 0.0 and bound.unet:
            patch = LoraPatch(bound.unet, strength_unet, 0, source)
            unet = dataclasses.replace(unet, patches=(*unet.patches, patch))
        if strength_clip != 0.0:
            added = tuple(
                LoraPatch(layers, strength_clip, index, source)
                for index, layers in enumerate(bound.text_encoders)
                if layers
            )
            if added:
                clip = dataclasses.replace(clip, patches=(*clip.patches, *added))
        if bound.skipped:
            ctx.logger.warning(
                "%s: skipped %d LoRA layers that match no layer of the model (e.g. %s)",
                file.name,
                len(bound.skipped),
                ", ".join(bound.skipped[:3]),
            )
        ctx.result(text=f"{lora.format} LoRA: {bound.describe()}")
        return unet, clip


def _lora_cache(env: Environment) -> ModelCache:
    """Parsed LoRA files, kept apart from the model cache: they are small and numerous, and
    must not push checkpoints out of its count."""
    from nodes.diffusion.device import ModelCache

    cache = env.services.get("loras")
    if cache is None:
        cache = env.services["loras"] = ModelCache(max_models=16)
    return cache
