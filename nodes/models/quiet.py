"""Scoped silencing of the Hugging Face libraries' console chatter (progress bars, notices)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator


@contextlib.contextmanager
def quiet_hf(*, diffusers_notices: bool = False) -> Iterator[None]:
    """Hide transformers' per-load progress bars; with `diffusers_notices`, diffusers' warnings.

    Not thread-safe against another thread changing the same settings; the engine loads
    models on one worker thread.
    """
    from diffusers.utils import logging as diffusers_logging
    from transformers.utils import logging as hf_logging

    bars = hf_logging.is_progress_bar_enabled()
    level = diffusers_logging.get_verbosity()
    hf_logging.disable_progress_bar()
    if diffusers_notices:
        diffusers_logging.set_verbosity_error()
    try:
        yield
    finally:
        if bars:
            hf_logging.enable_progress_bar()
        diffusers_logging.set_verbosity(level)


class _DropTorchvisionNotice:
    """transformers 5 says, at every start, that image processors fall back to PIL when
    torchvision is missing. Daguerre uses no image processor: the notice is noise."""

    @staticmethod
    def filter(record: object) -> bool:
        return "requires torchvision" not in str(getattr(record, "msg", ""))


_FILTER = _DropTorchvisionNotice()


def drop_known_notices() -> None:
    """Install the filter (idempotent: adding the same filter object twice is a no-op)."""
    import logging

    logging.getLogger("transformers.utils.import_utils").addFilter(_FILTER)
