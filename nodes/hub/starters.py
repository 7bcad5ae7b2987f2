"""The curated starter models the "Get models" dialog and ``daguerre download`` offer.

Each :class:`Starter` names a Hugging Face repo, the files to fetch from it and where they
land (a models kind, see :data:`nodes.paths.MODEL_KIND_FOLDERS`), with what the user should
see before downloading: size, licence and the model page. Sizes were read from the model
pages and are approximate (:attr:`Starter.size` is in bytes, rounded); the download itself
uses the size the hub reports. Repos ship several copies of the same weights (fp32, fp16,
``.bin``, ONNX...): a starter fetches one, the fp16 copy where it is half the download and
loads the same.
"""

from __future__ import annotations

from dataclasses import dataclass

HUB_PAGE = "https://huggingface.co"


@dataclass(frozen=True)
class StarterFile:
    path: str
    """The file in the repo."""
    save_as: str
    """Its name in the destination (a file under the kind's folder, or inside
    :attr:`Starter.folder`)."""


@dataclass(frozen=True)
class Starter:
    key: str
    """What ``daguerre download`` takes (``sd15``, ``lcm-lora-sdxl``)."""
    title: str
    repo_id: str
    kind: str
    """The models kind its files go to (``checkpoints``, ``lora``, ``controlnet``)."""
    files: tuple[StarterFile, ...]
    size: int
    """Approximate bytes to download (from the model page)."""
    licence: str
    family: str
    description: str
    folder: str | None = None
    """A diffusers model folder to put the files in (its name under the kind's folder), or
    None for single files."""
    revision: str = "main"

    @property
    def link(self) -> str:
        """The model page: its card, licence and files."""
        return f"{HUB_PAGE}/{self.repo_id}"

    @property
    def destination(self) -> str:
        """What appears in the models folder: the folder, or the (first) file."""
        return self.folder or self.files[0].save_as


def _one(path: str, save_as: str | None = None) -> tuple[StarterFile, ...]:
    return (StarterFile(path, save_as or path.rsplit("/", 1)[-1]),)


def _diffusers_controlnet(weights: str) -> tuple[StarterFile, ...]:
    """A diffusers ControlNet folder: its config and one copy of the weights, saved under
    the name ``from_pretrained`` reads without a variant."""
    return (
        StarterFile("config.json", "config.json"),
        StarterFile(weights, "diffusion_pytorch_model.safetensors"),
    )


OPENRAIL_M = "CreativeML OpenRAIL-M"
OPENRAIL_PP = "CreativeML Open RAIL++-M"

STARTERS: tuple[Starter, ...] = (
    Starter(
        key="sd15",
        title="Stable Diffusion 1.5",
        repo_id="stable-diffusion-v1-5/stable-diffusion-v1-5",
        kind="checkpoints",
        files=_one("v1-5-pruned-emaonly.safetensors"),
        size=4_270_000_000,
        licence=OPENRAIL_M,
        family="SD1.5",
        description="The classic 512×512 model; most LoRAs and ControlNets are made for it.",
    ),
    Starter(
        key="sdxl",
        title="Stable Diffusion XL base 1.0",
        repo_id="stabilityai/stable-diffusion-xl-base-1.0",
        kind="checkpoints",
        files=_one("sd_xl_base_1.0.safetensors"),
        size=6_940_000_000,
        licence=OPENRAIL_PP,
        family="SDXL",
        description="1024×1024 pictures; the base of the SDXL family.",
    ),
    Starter(
        key="sdxl-refiner",
        title="Stable Diffusion XL refiner 1.0",
        repo_id="stabilityai/stable-diffusion-xl-refiner-1.0",
        kind="checkpoints",
        files=_one("sd_xl_refiner_1.0.safetensors"),
        size=6_080_000_000,
        licence=OPENRAIL_PP,
        family="SDXL refiner",
        description="Finishes the last steps of an SDXL base run (the base → refiner template).",
    ),
    Starter(
        key="sdxl-turbo",
        title="SDXL Turbo",
        repo_id="stabilityai/sdxl-turbo",
        kind="checkpoints",
        files=_one("sd_xl_turbo_1.0_fp16.safetensors"),
        size=6_940_000_000,
        licence="Stability AI Community License",
        family="SDXL",
        description="SDXL distilled to 1–4 steps at cfg 1 (512×512); non-commercial terms.",
    ),
    Starter(
        key="lcm-lora-sd15",
        title="LCM-LoRA for SD1.5",
        repo_id="latent-consistency/lcm-lora-sdv1-5",
        kind="lora",
        files=_one("pytorch_lora_weights.safetensors", "lcm-lora-sdv1-5.safetensors"),
        size=135_000_000,
        licence=OPENRAIL_PP,
        family="SD1.5",
        description="Any SD1.5 checkpoint in 4–8 steps (LCM sampler, cfg 1–2).",
    ),
    Starter(
        key="lcm-lora-sdxl",
        title="LCM-LoRA for SDXL",
        repo_id="latent-consistency/lcm-lora-sdxl",
        kind="lora",
        files=_one("pytorch_lora_weights.safetensors", "lcm-lora-sdxl.safetensors"),
        size=394_000_000,
        licence=OPENRAIL_PP,
        family="SDXL",
        description="Any SDXL checkpoint in 4–8 steps (LCM sampler, cfg 1–2).",
    ),
    Starter(
        key="controlnet-canny-sd15",
        title="ControlNet Canny for SD1.5 (v1.1)",
        repo_id="lllyasviel/control_v11p_sd15_canny",
        kind="controlnet",
        files=_diffusers_controlnet("diffusion_pytorch_model.fp16.safetensors"),
        size=723_000_000,
        licence="CreativeML OpenRAIL",
        family="SD1.5",
        description="Follows the edges of a picture (with the Canny node); diffusers folder.",
        folder="control_v11p_sd15_canny",
    ),
    Starter(
        key="controlnet-canny-sdxl",
        title="ControlNet Canny for SDXL",
        repo_id="diffusers/controlnet-canny-sdxl-1.0",
        kind="controlnet",
        files=_diffusers_controlnet("diffusion_pytorch_model.fp16.safetensors"),
        size=2_500_000_000,
        licence=OPENRAIL_PP,
        family="SDXL",
        description="Follows the edges of a picture at SDXL sizes; diffusers folder.",
        folder="controlnet-canny-sdxl-1.0",
    ),
)
"""The starter list, in the order the dialog shows it."""


def find_starter(key: str) -> Starter | None:
    return next((s for s in STARTERS if s.key == key), None)


def human_size(size: int | None, approximate: bool = False) -> str:
    """``4.3 GB``, ``135 MB`` (decimal units, as the hub shows them); ``≈`` when
    ``approximate``; ``size unknown`` for None."""
    if size is None:
        return "size unknown"
    value = float(size)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if value < 1000 or unit == "TB":
            text = f"{value:.0f} {unit}" if unit in ("B", "KB", "MB") else f"{value:.1f} {unit}"
            return f"≈ {text}" if approximate else text
        value /= 1000
    raise AssertionError("unreachable")
