"""Per-thread setup for threads that run nodes (torch's thread settings are per thread)."""

from __future__ import annotations

import gc
import os
import threading


def init_worker_thread() -> None:
    """Apply ``DAGUERRE_THREADS`` (torch intra-op threads) on the calling thread."""
    value = os.environ.get("DAGUERRE_THREADS")
    if not value:
        return
    try:
        threads = int(value)
    except ValueError:
        return
    if threads > 0:
        import torch

        torch.set_num_threads(threads)


WARM = threading.Event()
"""Set once :func:`warm_up` has finished."""


def warm_up() -> None:
    """Import the model libraries now, on the calling (background) thread.

    torch, diffusers and transformers take seconds to import and hold the GIL through much
    of it; doing it while the user looks at a fresh window keeps that hitch out of the
    first run, when a live preview should be moving.
    """
    from nodes.tokens import load_tokenizer

    load_tokenizer()  # first: the prompt editors' exact token counts wait for it

    import diffusers
    import transformers

    import nodes.diffusion.sampling
    import nodes.diffusion.text
    import nodes.library.errors
    import nodes.models.loading  # noqa: F401

    # both libraries import lazily, on first attribute access: touch what loading uses
    for name in (
        "UNet2DConditionModel",
        "AutoencoderKL",
        "ControlNetModel",
        "EulerDiscreteScheduler",
    ):
        getattr(diffusers, name)
    for name in ("CLIPTextModel", "CLIPTextModelWithProjection", "CLIPTokenizer"):
        getattr(transformers, name)
    # The libraries leave millions of long-lived objects; a full garbage collection then
    # walks them all (~0.3 s, holding the GIL, freezing the GUI mid-run). Freezing moves
    # everything alive now out of the collector's sight.
    gc.collect()
    gc.freeze()
    WARM.set()
