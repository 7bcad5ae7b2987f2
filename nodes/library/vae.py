"""VAE nodes: latents to images and back."""

from __future__ import annotations

from typing import TYPE_CHECKING

from nodes.api import Input, Node, NodeError, Output
from nodes.context import NodeContext
from nodes.library.errors import model_errors
from nodes.ports import PortType

if TYPE_CHECKING:
    import torch

    from nodes.diffusion.values import Latent, VaeModel


class VaeDecode(Node):
    """Decodes latents into an image with the VAE. If half precision produces NaNs (a
    known SD VAE weakness) the decode is redone in full precision, never a black image."""

    type_id = "vae.decode"
    title = "VAE Decode"
    category = "latent"
    inputs = (Input("vae", PortType.VAE), Input("latent", PortType.LATENT))
    outputs = (Output("image", PortType.IMAGE),)

    def run(self, ctx: NodeContext, *, vae: VaeModel, latent: Latent) -> tuple[torch.Tensor]:
        import torch

        from nodes.diffusion.acceleration import decode, forget_graphs

        module = vae.module
        with model_errors(), torch.inference_mode():
            latents = latent.samples.to(device=module.device, dtype=module.dtype)
            image = decode(module, vae.to_vae(latents), ctx.env.acceleration)
            if module.dtype != torch.float32 and torch.isnan(image).any():
                ctx.logger.warning("VAE decode gave NaNs in %s; retrying in fp32", module.dtype)
                ctx.result(text="decoded in fp32: half precision gave NaNs")
                dtype = module.dtype
                try:
                    module.to(torch.float32)
                    image = module.decode(vae.to_vae(latents.float()), return_dict=False)[0]
                finally:
                    module.to(dtype)
                    forget_graphs(module)  # new parameter memory: old graphs are invalid
            image = (image / 2 + 0.5).clamp(0, 1)
            image = image.cpu().permute(0, 2, 3, 1).float()
        return (image,)


class VaeEncode(Node):
    """Encodes an image into latents with the VAE, for image-to-image (connect the result
    to a Sampler with denoise below 1). Width and height must be multiples of 8."""

    type_id = "vae.encode"
    title = "VAE Encode"
    category = "latent"
    inputs = (Input("vae", PortType.VAE), Input("image", PortType.IMAGE))
    outputs = (Output("latent", PortType.LATENT),)

    def run(self, ctx: NodeContext, *, vae: VaeModel, image: torch.Tensor) -> tuple[Latent]:
        return (encode_image(vae, image, "image"),)


def encode_image(
    vae: VaeModel, image: torch.Tensor, field: str, keep: torch.Tensor | None = None
) -> Latent:
    """``image`` (B×H×W×3 in [0, 1]) encoded: the posterior's mode in model space, with the
    posterior kept for a sampler that draws from it. ``keep`` (B×H×W, 1 = keep) zeroes the
    other pixels in the VAE's [-1, 1] range, i.e. greys them, as inpainting wants."""
    import torch

    from nodes.diffusion.values import Latent

    factor = vae.downscale
    _, height, width, _ = image.shape
    if height % factor or width % factor:
        raise NodeError(
            f"the image is {width}×{height}; both sides must be multiples of {factor}", field
        )
    module = vae.module
    with model_errors(), torch.inference_mode():
        pixels = image.permute(0, 3, 1, 2).to(device=module.device, dtype=module.dtype)
        pixels = 2.0 * pixels - 1.0
        if keep is not None:
            pixels = pixels * keep.unsqueeze(1).to(device=module.device, dtype=module.dtype)
        posterior = module.encode(pixels).latent_dist
        mean, std = posterior.mean, posterior.std
        samples = vae.to_model(posterior.mode())
    return Latent(
        samples,
        mean=mean,
        std=std,
        scaling=vae.scaling_factor,
        shift=vae.shift_factor,
        downscale=factor,
    )
