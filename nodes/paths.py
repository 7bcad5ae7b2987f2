"""Where Daguerre keeps things: home (settings, autosave), outputs, inputs, resources; and how a
file param's value names a file (:data:`FileResolver`).

``DAGUERRE_HOME`` relocates everything the app writes on its own (tests and demos set it so
they never touch a user's real settings); otherwise the platform's conventional folders
are used (platformdirs).
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Callable
from pathlib import Path

import platformdirs

APP_NAME = "Daguerre"

FileResolver = Callable[[str, str], Path | None]
"""(file kind, value) → the existing file or folder it names, or None.

Validation, the run's environment and the nodes share it; the CLI and the app pass one
that also looks in the models folders."""


def default_resolver(kind: str, value: str) -> Path | None:
    """The path as given, if it is a file or a folder (see :func:`usable`)."""
    if not value or "\0" in value:
        return None
    path = Path(value).expanduser()
    return path if usable(path) else None


def special_kind(mode: int) -> str | None:
    """What a ``st_mode`` that is neither a regular file nor a folder is ("a named pipe
    (FIFO)", "a character device"...), or None for a file or a folder."""
    if stat.S_ISREG(mode) or stat.S_ISDIR(mode):
        return None
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def usable(path: Path) -> bool:
    """Whether ``path`` (links followed) is a regular file or a folder.

    FIFOs, devices and sockets are refused without opening them: reading a FIFO blocks
    until something writes to it, and ``/dev/zero`` never ends.
    """
    try:
        return special_kind(path.stat().st_mode) is None
    except (OSError, ValueError):
        return False


def unusable_reason(path: Path) -> str | None:
    """Why ``path`` cannot be a file param's value although it exists (``… is a named pipe
    (FIFO), not a file``), or None (it is a file or a folder, or does not exist)."""
    try:
        kind = special_kind(path.stat().st_mode)
    except (OSError, ValueError):
        return None
    return None if kind is None else f"{path} is {kind}, not a file"


def home_dir() -> Path:
    """Settings, autosave and recovery files."""
    env = os.environ.get("DAGUERRE_HOME")
    if env:
        return Path(env).expanduser()
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def default_output_dir() -> Path:
    env = os.environ.get("DAGUERRE_HOME")
    if env:
        return Path(env).expanduser() / "output"
    return Path(platformdirs.user_pictures_dir()) / APP_NAME


def inputs_dir() -> Path:
    """Images the app makes for Load Image nodes (a painted mask is saved here as a new
    PNG, never over the user's file); created on demand."""
    folder = home_dir() / "inputs"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def resources_dir() -> Path:
    """The shipped ``resources/`` folder (model configs, tokenizer data, workflows)."""
    return Path(__file__).resolve().parent.parent / "resources"


_SAFE_PREFIX = re.compile(r"[^A-Za-z0-9 _\-]+")


def safe_prefix(prefix: str, default: str = "daguerre") -> str:
    """A file name prefix that cannot leave its folder: no separators, no ``..``."""
    cleaned = _SAFE_PREFIX.sub("_", prefix).strip(" ._")
    return cleaned[:80] or default


def next_numbered(folder: Path, prefix: str, suffix: str) -> Path:
    """``folder/prefix_00001.suffix`` with the first number after those already there."""
    stem = safe_prefix(prefix)
    pattern = re.compile(rf"^{re.escape(stem)}_(\d+){re.escape(suffix)}$")
    highest = 0
    if folder.is_dir():
        for entry in folder.iterdir():
            match = pattern.match(entry.name)
            if match:
                highest = max(highest, int(match.group(1)))
    return folder / f"{stem}_{highest + 1:05d}{suffix}"


MODEL_KIND_FOLDERS: dict[str, tuple[str, ...]] = {
    "checkpoints": ("checkpoints", "Stable-diffusion"),
    "controlnet": ("controlnet", "ControlNet"),
    "lora": ("loras", "lora", "Lora"),
    "vae": ("vae", "VAE"),
    "upscale_models": ("upscale_models", "ESRGAN", "RealESRGAN", "SwinIR", "DAT", "HAT"),
    "embeddings": ("embeddings",),
    "images": ("input", "images"),
}
"""Subfolders searched per file kind — ours, ComfyUI's and A1111's names."""


def models_dirs_from_env() -> list[Path]:
    """Folders named by ``DAGUERRE_MODELS`` (``os.pathsep``-separated)."""
    value = os.environ.get("DAGUERRE_MODELS", "")
    return [Path(p).expanduser() for p in value.split(os.pathsep) if p]


class FileFinder:
    """Resolves file params: absolute paths, then the workflow's folder, then models folders.

    A value like ``sd15.safetensors`` for a ``checkpoints`` param is looked up as
    ``<models>/checkpoints/sd15.safetensors`` (and ComfyUI/A1111 folder names), then
    ``<models>/sd15.safetensors``.
    """

    def __init__(self, models_dirs: list[Path] | None = None, base_dir: Path | None = None):
        self.models_dirs = list(models_dirs or [])
        self.base_dir = base_dir

    def candidates(self, kind: str, value: str) -> list[Path]:
        path = Path(value).expanduser()
        if path.is_absolute():
            return [path]
        found = [Path.cwd() / path]
        if self.base_dir is not None:
            found.append(self.base_dir / path)
        for root in self.models_dirs:
            found.extend(root / sub / path for sub in MODEL_KIND_FOLDERS.get(kind, ()))
            found.append(root / path)
        return found

    def __call__(self, kind: str, value: str) -> Path | None:
        """The first candidate that is a regular file or a folder; FIFOs, devices and
        sockets are passed over, never opened (:func:`usable`). An empty value is the
        only model of its kind, when the models folders hold just one (:meth:`only_model`)."""
        if not value:
            return self.only_model(kind)
        if "\0" in value:
            return None
        for candidate in self.candidates(kind, value):
            if usable(candidate):
                return candidate
        return None

    def only_model(self, kind: str) -> Path | None:
        """The model an empty file param of ``kind`` stands for: the one model of that kind
        in the models folders, or None when there are none or several (then the user
        chooses). The same model as a single file and as a diffusers folder of the same
        name (what ``daguerre make-demo-model`` writes) counts as one; the file is used.
        Images are never picked this way: an empty Load Image stays empty."""
        if kind == "images" or kind not in MODEL_KIND_FOLDERS:
            return None
        name = only_model_name(kind, list_model_files(kind, self.models_dirs))
        return None if name is None else self(kind, name)

    def unusable_reason(self, kind: str, value: str) -> str | None:
        """Why ``value`` resolves to nothing although a candidate exists (it is a FIFO, a
        device, a socket), for a clearer message than "not found"; else None."""
        if not value or "\0" in value:
            return None
        for candidate in self.candidates(kind, value):
            reason = unusable_reason(candidate)
            if reason is not None:
                return reason
        return None


MODEL_SUFFIXES: dict[str, tuple[str, ...]] = {
    "checkpoints": (".safetensors", ".ckpt", ".pt", ".pth"),
    "controlnet": (".safetensors", ".ckpt", ".pt", ".pth"),
    "lora": (".safetensors", ".ckpt", ".pt"),
    "vae": (".safetensors", ".ckpt", ".pt", ".pth"),
    "upscale_models": (".safetensors", ".pth", ".pt"),
    "embeddings": (".safetensors", ".pt", ".bin"),
    "images": (".png", ".jpg", ".jpeg", ".webp", ".bmp"),
}
_FOLDER_MARKERS = {
    "checkpoints": "model_index.json",
    "controlnet": "config.json",
    "vae": "config.json",
}


def only_model_name(kind: str, names: list[str]) -> str | None:
    """Of the names :func:`list_model_files` gives for ``kind``, the one an empty param
    stands for (:meth:`FileFinder.only_model`): when they are one model (a file and a
    folder of the same stem count as one; the file is chosen), else None."""
    if kind == "images" or len({model_stem(kind, name) for name in names}) != 1:
        return None
    return min(names, key=lambda n: (model_stem(kind, n) == n, n))  # a file first


def model_stem(kind: str, name: str) -> str:
    """``name`` without a model file suffix of ``kind`` (``sd15.safetensors`` → ``sd15``),
    so a single file and a diffusers folder of one model have the same stem."""
    for suffix in MODEL_SUFFIXES.get(kind, ()):
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return name


def list_model_files(kind: str, models_dirs: list[Path]) -> list[str]:
    """Names a file param of ``kind`` can take, found in the models folders.

    Names are relative to the kind's subfolder (``checkpoints/sd15.safetensors`` is listed
    as ``sd15.safetensors``) so workflows stay portable between machines; diffusers model
    folders are listed by folder name.
    """
    suffixes = MODEL_SUFFIXES.get(kind, ())
    marker = _FOLDER_MARKERS.get(kind)
    found: set[str] = set()
    for root in models_dirs:
        for sub in MODEL_KIND_FOLDERS.get(kind, ()):
            folder = root / sub
            if not folder.is_dir():
                continue
            for dirpath, dirnames, filenames in os.walk(folder):
                here = Path(dirpath)
                if marker and marker in filenames and here != folder:
                    found.add(here.relative_to(folder).as_posix())
                    dirnames.clear()
                    continue
                dirnames[:] = [d for d in dirnames if not d.startswith(".")]
                for name in filenames:
                    if name.lower().endswith(suffixes) and not name.startswith("."):
                        found.add((here / name).relative_to(folder).as_posix())
    return sorted(found, key=str.lower)
