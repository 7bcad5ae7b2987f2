"""The one lock under which the model libraries are imported.

diffusers and transformers import lazily: a class is imported on its first attribute access,
and two threads doing that at once can see a half-initialised module (``AttributeError:
module 'diffusers' has no attribute 'UNet2DConditionModel'``, ``cannot import name
'CLIPTokenizer'``). So until :func:`nodes.runtime.import_model_libraries` has imported them
once, every thread that may import them — the warm-up, a run, the prompt editors' tokenizer —
holds :data:`IMPORTS` (:func:`model_library_imports`). A leaf module, so that any of them can
take it without importing the others.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

IMPORTS = threading.RLock()
"""Held by the one thread importing the model libraries (re-entrant: a run holding it may
call :func:`nodes.runtime.import_model_libraries`)."""
IMPORTED = threading.Event()
"""Set once :func:`nodes.runtime.import_model_libraries` has imported everything."""


@contextmanager
def model_library_imports() -> Iterator[None]:
    """Around work that may import the model libraries: until they are imported, hold
    :data:`IMPORTS` (the CLI never warms up; there the lock is simply free). Afterwards
    take no lock."""
    if IMPORTED.is_set():
        yield
        return
    with IMPORTS:
        yield
