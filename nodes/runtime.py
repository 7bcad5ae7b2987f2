"""Per-thread setup for threads that run nodes (torch's thread settings are per thread),
and the background warm-up that imports the model libraries early.

diffusers and transformers import lazily: a class is imported on its first attribute access,
and two threads doing that at once can see a half-initialised module (``AttributeError:
module 'diffusers' has no attribute 'UNet2DConditionModel'`` in one of them). So the
libraries are imported by one thread at a time: :func:`import_model_libraries` does it once
under the lock of :mod:`nodes.import_lock`, and the runner holds the same lock around each
run (:func:`~nodes.import_lock.model_library_imports`) until that has happened, so a run
that starts during the warm-up waits for it, and a warm-up that starts during a run waits
for the run.
"""

from __future__ import annotations

import gc
import logging
import os
import threading

from nodes import import_lock

log = logging.getLogger("daguerre.runtime")


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


def import_model_libraries() -> None:
    """Import torch, diffusers, transformers and the engine's model modules, and resolve the
    lazy classes the engine loads with — once per process, under one lock, so no other
    thread is importing them at the same time. Returns at once after the first time."""
    if import_lock.IMPORTED.is_set():
        return
    with import_lock.IMPORTS:
        if import_lock.IMPORTED.is_set():
            return
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
        import_lock.IMPORTED.set()


def warm_up() -> None:
    """Import the model libraries now, on the calling (background) thread.

    torch, diffusers and transformers take seconds to import and hold the GIL through much
    of it; doing it while the user looks at a fresh window keeps that hitch out of the
    first run, when a live preview should be moving. A failed import is logged (the run
    that needs the library reports it); the collector is frozen and :data:`WARM` set either
    way.
    """
    from nodes.tokens import load_tokenizer

    try:
        load_tokenizer()  # first: the prompt editors' exact token counts wait for it
        import_model_libraries()
    except Exception:
        log.exception("warm-up: importing the model libraries failed")
    finally:
        # The libraries leave millions of long-lived objects; a full garbage collection
        # then walks them all (~0.3 s, holding the GIL, freezing the GUI mid-run).
        # Freezing moves everything alive now out of the collector's sight.
        gc.collect()
        gc.freeze()
        WARM.set()
