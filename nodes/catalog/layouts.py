"""Recognising a models folder another app already has, so a user can point Daguerre at
it instead of copying gigabytes: ComfyUI's (``models/checkpoints``, ``models/loras``...)
and AUTOMATIC1111's / Forge's (``models/Stable-diffusion``, ``models/Lora``, and
``embeddings/`` beside ``models/``), picked as the install, its ``models`` folder, or one
kind's folder inside it. :data:`nodes.paths.MODEL_KIND_FOLDERS` already knows both apps'
subfolder names, so the folders found here are used as they are."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from nodes.paths import MODEL_KIND_FOLDERS

_COMFY_ONLY = ("clip", "clip_vision", "unet", "diffusion_models", "text_encoders", "style_models")
_KIND_NAMES = frozenset(n for names in MODEL_KIND_FOLDERS.values() for n in names)


@dataclass(frozen=True)
class FolderLayout:
    app: str
    """``ComfyUI``, ``AUTOMATIC1111`` or ``Daguerre``."""
    dirs: tuple[Path, ...]
    """The models folders to add, in order."""


def recognise_models_folder(folder: Path) -> FolderLayout | None:
    """The layout of ``folder`` (an install, its ``models`` folder, or a kind's folder in
    it), or None when it holds no known models layout."""
    folder = folder.expanduser()
    candidates = [folder, folder / "models"]
    if folder.name in _KIND_NAMES:
        candidates.insert(0, folder.parent)
    for root in candidates:
        if (root / "Stable-diffusion").is_dir():
            install = root.parent if root.name == "models" else None
            extra = (install,) if install and (install / "embeddings").is_dir() else ()
            return FolderLayout("AUTOMATIC1111", (root, *extra))
        if (root / "checkpoints").is_dir():
            comfy = (
                any((root / n).is_dir() for n in _COMFY_ONLY) or (root.parent / "comfy").is_dir()
            )
            return FolderLayout("ComfyUI" if comfy else "Daguerre", (root,))
    return None
