"""The denoiser seam on its own: CFG lives in one place, extensions change the one model
call, an empty latent takes its model family's format."""

from __future__ import annotations

import dataclasses

import torch

from nodes.diffusion.denoiser import ModelCall, UNetDenoiser
from nodes.diffusion.sampling import _fit_empty
from nodes.diffusion.values import Latent
from nodes.models.families import SD1, LatentFormat


class _Echo(torch.nn.Module):
    """A 'UNet' returning its input plus a per-sample offset, recording its kwargs."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[dict] = []

    def forward(self, sample, t, *, encoder_hidden_states, added_cond_kwargs, return_dict, **kw):
        self.calls.append({"sample": sample, "added": added_cond_kwargs, **kw})
        return (sample + encoder_hidden_states.mean(dim=(1, 2)).view(-1, 1, 1, 1),)


def test_cfg_batches_negative_then_positive_and_combines_once() -> None:
    unet = _Echo()
    embeds = torch.stack([torch.zeros(77, 8), torch.ones(77, 8)])  # [negative, positive]
    denoiser = UNetDenoiser(unet, embeds=embeds, added=None, cfg=7.5)
    x = torch.zeros(1, 4, 2, 2)
    out = denoiser(x, torch.tensor(10.0), 0)
    assert unet.calls[0]["sample"].shape[0] == 2  # one call, both halves
    assert torch.allclose(out, torch.full_like(x, 7.5))  # 0 + 7.5 · (1 − 0)
    unguided = UNetDenoiser(_Echo(), embeds=embeds[1:], added=None, cfg=None)
    assert torch.equal(unguided(x, torch.tensor(10.0), 0), torch.ones_like(x))


class _Residuals:
    name = "extra"

    def __init__(self) -> None:
        self.steps: list[float] = []

    def inputs(self) -> dict[str, torch.Tensor]:
        return {"bias": torch.tensor(0.5)}

    def step_inputs(self, step: int) -> dict[str, torch.Tensor]:
        return {"scale": torch.tensor(float(step))}

    def modules(self) -> tuple[torch.nn.Module, ...]:
        return ()

    def before_model(self, call: ModelCall, inputs) -> None:
        self.steps.append(float(inputs["scale"]))
        call.extra["mid_block_additional_residual"] = inputs["bias"] * inputs["scale"]


def test_extensions_see_their_own_namespaced_inputs_every_step() -> None:
    unet, ext = _Echo(), _Residuals()
    denoiser = UNetDenoiser(
        unet, embeds=torch.zeros(1, 77, 8), added=None, cfg=None, extensions=[ext]
    )
    assert set(denoiser.inputs) == {"embeds", "extra.bias"}
    assert set(denoiser.step_inputs(3)) == {"extra.scale"}
    for step in range(3):
        denoiser(torch.zeros(1, 4, 2, 2), torch.tensor(1.0), step)
    assert ext.steps == [0.0, 1.0, 2.0]
    assert float(unet.calls[-1]["mid_block_additional_residual"]) == 1.0


def test_an_empty_latent_takes_the_model_familys_channels() -> None:
    wide = dataclasses.replace(SD1, id="wide", latent=dataclasses.replace(SD1.latent, channels=16))
    assert isinstance(wide.latent, LatentFormat)
    empty = Latent(torch.zeros(2, 4, 8, 6), empty=True)
    fitted = _fit_empty(empty, wide)
    assert fitted.samples.shape == (2, 16, 8, 6) and fitted.empty
    encoded = Latent(torch.zeros(2, 4, 8, 6))
    assert _fit_empty(encoded, wide) is encoded  # a real latent is never reshaped
