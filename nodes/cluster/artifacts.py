"""A job's files as bytes: collected on the worker, written by the client.

On the worker, Save Image writes into the actor's scratch folder as it always does; each
file is then read back as an :class:`~nodes.run_spec.Artifact`, its PNG record gains the
worker's host and device (``"worker": {...}``; pixels and the other chunks unchanged) and
the scratch file is removed. On the client the artifacts are written with
:func:`nodes.workflow.io.write_numbered` under their prefix, so they are numbered as the
local runner numbers its saves.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from pathlib import Path

from nodes.run_spec import Artifact

_NUMBERED = re.compile(r"^(?P<prefix>.*)_(?P<number>\d+)(?P<suffix>\.[^.]+)$")


def split_numbered(name: str) -> tuple[str, str]:
    """``prefix_00001.png`` → ``("prefix", ".png")``; a name without a number keeps its
    stem as the prefix."""
    match = _NUMBERED.match(name)
    if match is None:
        path = Path(name)
        return path.stem, path.suffix
    return match["prefix"], match["suffix"]


def with_worker(data: bytes, worker: dict[str, str]) -> bytes:
    """PNG bytes whose ``daguerre.record`` says which worker made them; other files, and
    PNGs without a record, unchanged."""
    import numpy as np
    from PIL import Image

    from nodes.workflow.png import RECORD_KEY, encode_png, is_png, png_texts

    if not is_png(data):
        return data
    texts = png_texts(data)
    if RECORD_KEY not in texts:
        return data
    record = json.loads(texts[RECORD_KEY])
    record["worker"] = dict(worker)
    texts[RECORD_KEY] = json.dumps(record, indent=1)
    import io

    with Image.open(io.BytesIO(data)) as image:
        pixels = np.asarray(image.convert("RGB"))
    return encode_png(pixels, texts)


def collect(files: Iterable[tuple[str, str]], worker: dict[str, str]) -> list[Artifact]:
    """``(node id, path)`` of the files a job wrote → artifacts (the files removed)."""
    artifacts = []
    for node_id, name in files:
        path = Path(name)
        prefix, suffix = split_numbered(path.name)
        data = with_worker(path.read_bytes(), worker)
        path.unlink(missing_ok=True)
        artifacts.append(Artifact(node_id, prefix, suffix, data))
    return artifacts


def write(folder: Path, artifacts: Iterable[Artifact]) -> list[Path]:
    """Write each artifact as ``folder/prefix_NNNNN.suffix`` (the next free number)."""
    from nodes.workflow.io import write_numbered

    return [write_numbered(folder, a.prefix, a.suffix, a.data) for a in artifacts]
