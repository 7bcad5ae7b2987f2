"""Port types: the closed set of value kinds that flow along links.

Each type has a display color (used by the desktop canvas) and a rule for what may be
connected to it. Scalar types can also be the type of a param, which is how a param can be
promoted to an input socket (a link into a param replaces its value).
"""

from __future__ import annotations

from enum import StrEnum


class PortType(StrEnum):
    UNET = "UNET"
    CLIP = "CLIP"
    VAE = "VAE"
    CONTROLNET = "CONTROLNET"
    SCHEDULER = "SCHEDULER"
    CONDITIONING = "CONDITIONING"
    LATENT = "LATENT"
    IMAGE = "IMAGE"
    MASK = "MASK"
    LORA = "LORA"
    UPSCALE_MODEL = "UPSCALE_MODEL"
    """A super-resolution model (ESRGAN, SwinIR...) loaded through spandrel."""
    INT = "INT"
    FLOAT = "FLOAT"
    STRING = "STRING"
    BOOL = "BOOL"
    ANY = "ANY"
    """Wildcard for utility nodes (display, reroute): accepts and yields any type."""

    @property
    def color(self) -> str:
        return PORT_COLORS[self]

    @property
    def is_scalar(self) -> bool:
        return self in SCALAR_TYPES


SCALAR_TYPES = frozenset({PortType.INT, PortType.FLOAT, PortType.STRING, PortType.BOOL})

PORT_COLORS: dict[PortType, str] = {
    PortType.UNET: "#b39ddb",
    PortType.CLIP: "#ffd54f",
    PortType.VAE: "#ef5350",
    PortType.CONTROLNET: "#26a69a",
    PortType.SCHEDULER: "#90a4ae",
    PortType.CONDITIONING: "#ffa726",
    PortType.LATENT: "#f06292",
    PortType.IMAGE: "#64b5f6",
    PortType.MASK: "#81c784",
    PortType.LORA: "#ce93d8",
    PortType.UPSCALE_MODEL: "#7986cb",
    PortType.INT: "#4db6ac",
    PortType.FLOAT: "#aed581",
    PortType.STRING: "#a1887f",
    PortType.BOOL: "#e57373",
    PortType.ANY: "#e0e0e0",
}


def can_connect(source: PortType, target: PortType) -> bool:
    """Whether an output of type ``source`` may feed an input of type ``target``.

    Types must match, except that ``ANY`` matches everything and an ``INT`` may feed a
    ``FLOAT`` (the value is widened).
    """
    if source is target or PortType.ANY in (source, target):
        return True
    return source is PortType.INT and target is PortType.FLOAT
