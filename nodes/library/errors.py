"""Turning model-side exceptions into node errors that name the field at fault."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from nodes.api import NodeError

OOM_ADVICE = (
    "out of GPU memory. Try a smaller image or batch, fewer ControlNets, precision fp16, "
    "or close other programs using the GPU; loaded models were released"
)


@contextmanager
def model_errors(field: str | None = None) -> Iterator[None]:
    """Report ModelError, sampling errors and out-of-memory on this node and ``field``."""
    import torch

    from nodes.diffusion.device import release_memory
    from nodes.diffusion.inpainting import InpaintError
    from nodes.diffusion.sampling import SamplingError
    from nodes.diffusion.schedulers import SchedulerError
    from nodes.models.errors import ModelError

    try:
        yield
    except ModelError as exc:
        raise NodeError(str(exc), field) from exc
    except (SamplingError, SchedulerError, InpaintError) as exc:
        raise NodeError(str(exc), exc.field or field) from exc
    except torch.OutOfMemoryError as exc:
        release_memory()
        raise NodeError(OOM_ADVICE, None) from exc
