"""The advice rules' thresholds and words, in one table to tune without touching the UI.

Each :class:`Rule` is one piece of advice :mod:`nodes.advice.rules` can give: its id (what a
user silences: ``"cfg.high"``, or ``"cfg"`` for every cfg rule), the limit it compares
with, the value it suggests as a fix, the message (a ``str.format`` template filled by the
rule), the *why* shown in tooltips and ``--json``, and ``source``: where the number comes
from, in one line. Nothing here reads a graph.

"Few-step" setups are LCM, Turbo, Lightning, Hyper-SD, TCD and DMD2 models or LoRAs (and
the ``lcm`` sampler, and ``trailing`` timestep spacing): they are distilled to finish in
1–8 steps at a guidance of about 1–2, so the ordinary ranges would be wrong for them.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["FEW_STEP_NAMES", "FILLER_WORDS", "RULES", "Rule", "rule"]


@dataclass(frozen=True, slots=True)
class Rule:
    """One advice rule's numbers and words."""

    id: str
    message: str
    """A ``str.format`` template; the rule names the fields it fills."""
    why: str
    source: str
    """Where the threshold comes from, or why it is where it is (one line)."""
    limit: float = 0.0
    suggest: float = 0.0
    """The value the fix sets (when the fix is one number)."""


RULES: dict[str, Rule] = {
    r.id: r
    for r in (
        Rule(
            "steps.low",
            "{steps} steps is likely blurry: start with 20–30",
            "Ordinary samplers need about 20 steps to remove the noise; with fewer the "
            "image stays soft and unfinished.",
            "The user guide: start with 20–30 steps, fewer gives blurry results.",
            limit=10,
            suggest=20,
        ),
        Rule(
            "steps.high",
            "{steps} steps gives diminishing returns and is slower: 20–30 is usually enough",
            "Beyond about 50 steps the image barely changes while each step costs the same.",
            "The user guide: beyond 50 steps returns diminish.",
            limit=50,
            suggest=30,
        ),
        Rule(
            "steps.few_high",
            "{steps} steps for a few-step setup ({setup}): it is made for 1–8",
            "LCM, Turbo and Lightning models are distilled to finish in a few steps; more "
            "only costs time and can over-sharpen.",
            "LCM-LoRA and SDXL-Turbo/Lightning model cards: 1–8 steps.",
            limit=12,
            suggest=6,
        ),
        Rule(
            "cfg.high",
            "cfg {cfg:g} is high: expect oversaturated colours and artifacts (keep it about 7–12)",
            "A higher guidance scale follows the prompt more literally, but past about 12 it "
            "burns colours and distorts shapes.",
            "The user guide: keep the guidance scale about 7–12.",
            limit=12,
            suggest=7.0,
        ),
        Rule(
            "cfg.low",
            "cfg {cfg:g} is low for this model: the image will mostly ignore the prompt",
            "Ordinary models need a guidance scale of about 7 to follow the prompt; at 1 the "
            "negative prompt is not used at all.",
            "The user guide (7–12); below ~3 ordinary models drift from the prompt.",
            limit=3,
            suggest=7.0,
        ),
        Rule(
            "cfg.few_high",
            "cfg {cfg:g} is high for a few-step setup ({setup}): it expects about 1–2",
            "Distilled few-step models have guidance built in; a usual cfg of 7 burns the image.",
            "LCM-LoRA card (cfg 1–2), SDXL-Turbo card (guidance 0, i.e. off).",
            limit=3,
            suggest=1.5,
        ),
        Rule(
            "prompt.long",
            "{tokens} tokens: past 75 the prompt is encoded in chunks, and the later chunks "
            "weigh less",
            "CLIP reads 75 tokens at a time; longer prompts are cut into chunks encoded apart "
            "and averaged in, so words past the first chunk count for less.",
            "CLIP's context is 77 tokens (75 plus start and end).",
            limit=75,
        ),
        Rule(
            "prompt.order",
            "the prompt opens with {count} filler words ({words}…): put the subject and style "
            "first, details after",
            "Models weight the first tokens most; quality tags and filler up front push the "
            "subject to where it counts less.",
            "The user guide: put subject and style first, details after; 8 words is about "
            "a tenth of the first chunk, more than a short quality tag.",
            limit=8,
        ),
        Rule(
            "size.pixels",
            "{width}×{height} is {ratio} {family}'s native {native}×{native}: expect {effect}",
            "Models make their best images near the pixel count they were trained at; far "
            "below it they blur and break anatomy, far above it they repeat the subject.",
            "Native sizes from the family records: SD1.x 512², SD2.x 768² (v), SDXL 1024².",
            limit=2.0,
        ),
        Rule(
            "size.multiple",
            "{width}×{height}: {family} prefers sides that are multiples of {multiple}",
            "SDXL was trained on size buckets in steps of 64 pixels; other sides crop or "
            "stretch its composition.",
            "SDXL's training buckets (Podell et al. 2023, appendix) are multiples of 64.",
            limit=64,
        ),
        Rule(
            "size.sdxl_conditioning",
            "conditions SDXL on a {cond_w}×{cond_h} image but the latent is {width}×{height}",
            "SDXL is told the size of the image it makes; a target size that differs from "
            "the latent's shifts framing and detail. Diffusers uses the latent's size.",
            "SDXL micro-conditioning: target size = output size (diffusers' default).",
        ),
        Rule(
            "denoise.none",
            "denoise {denoise:g} with {steps} steps leaves the image unchanged",
            "Image to image runs only denoise × steps of the steps; below one step nothing "
            "visible happens. 0.3–0.7 keeps the picture and changes its detail.",
            "diffusers' img2img runs int(steps × strength) steps.",
            limit=0.05,
            suggest=0.5,
        ),
        Rule(
            "batch.memory",
            "a batch of {batch} at {width}×{height} needs about {need} (an estimate), more "
            "than {device}'s {have}",
            "An estimate: the model's weights in the run's precision, plus about {per_pixel} "
            "per image pixel for the UNet and the VAE decode, times the batch. A batch that "
            "does not fit fails or swaps.",
            "Measured: diffusers' AutoencoderKL decode (SD1.5, CPU fp32) peaks 4.1 KB/pixel "
            "above its weights at 512² (4.7 at 256²), ~2 KB in fp16; 3 KB leaves room for the "
            "UNet.",
        ),
    )
}


def rule(rule_id: str) -> Rule:
    """The rule with this id (a KeyError for an unknown id is a bug in a rule)."""
    return RULES[rule_id]


ACTIVATION_BYTES_PER_PIXEL = 3 * 1024
"""Estimated peak activation bytes per image pixel in fp16 (see ``batch.memory``)."""

SIZE_RATIO_LOW = 0.5
"""Below half the native pixel count an image is "far below" it (``size.pixels``)."""
SIZE_RATIO_HIGH = 2.0
"""Above twice the native pixel count an image is "far above" it (``size.pixels``)."""

SIDE_MULTIPLES: dict[str, int] = {"sdxl": 64, "sdxl_refiner": 64}
"""Families whose sides should be multiples of this (``size.multiple``); SD1.x and SD2.x
work at any multiple of 8."""

FEW_STEP_NAMES = r"(?<![a-z])(lcm|turbo|lightning|tcd|dmd2)|hyper-?sd"
"""A few-step model or LoRA, by its file name (lowercased): sd_xl_turbo, lcm-lora-sdv1-5,
sdxl_lightning_4step, Hyper-SDXL-8steps, TCD-SD15, dmd2_sdxl_4step."""

PROMPT_EXACT_FROM = 40
"""A prompt of at least this many word pieces is counted with the real tokenizer (when the
caller allows loading it): below, it cannot reach 75 tokens often enough to pay for that."""

_FILLER = """
    a an the of and with in very really so some this that is are there
    masterpiece masterpieces best quality high highest top ultra super extremely
    detailed highly hyper hyperdetailed intricate details detail sharp focus
    hd uhd hdr 4k 8k 16k 32k k resolution res highres absurdres
    beautiful stunning amazing awesome gorgeous incredible epic perfect perfection
    award winning awardwinning trending on artstation pixiv professional official
    image picture please i want make create generate
"""
FILLER_WORDS = frozenset(_FILLER.split())
"""Words that say nothing about the subject or style ("masterpiece, best quality, ultra
detailed, 8k", "a very beautiful image of"): quality tags and filler. Style words
(photo, oil painting, cinematic) are not filler. ``prompt.order`` counts how many open a
prompt."""
