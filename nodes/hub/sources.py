"""What to download, from what the user typed: a starter's key, ``owner/repo``,
``owner/repo/path/to/file``, or a Hugging Face URL (``…/resolve/REV/FILE``,
``…/blob/REV/FILE``, ``…/tree/REV``, the repo page); and which files of a whole repo to
fetch (:func:`repo_files`)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

HUB_HOSTS = frozenset({"huggingface.co", "www.huggingface.co", "hf.co"})

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


class SourceError(ValueError):
    """What the user typed names no Hugging Face file or repo; the message says why."""


@dataclass(frozen=True)
class Source:
    repo_id: str
    path: str | None = None
    """A file in the repo, or None for the whole repo."""
    revision: str = "main"


def parse_source(text: str, endpoint_host: str | None = None) -> Source:
    """``owner/repo[/file]`` or a hub URL → :class:`Source`; :class:`SourceError` otherwise.

    URLs are accepted from huggingface.co (and hf.co) and from ``endpoint_host`` (a mirror
    set with ``HF_ENDPOINT``); other sites are refused, since only the hub reports the hash
    a download is checked against."""
    value = text.strip()
    if not value:
        raise SourceError("type a Hugging Face repo id (owner/name) or a file's URL")
    revision = "main"
    if "://" in value:
        parts = urlsplit(value)
        hosts = HUB_HOSTS | ({endpoint_host} if endpoint_host else set())
        if parts.netloc.lower() not in hosts:
            raise SourceError(
                f"{parts.netloc or value!r} is not Hugging Face: give a huggingface.co URL "
                "or a repo id (owner/name)"
            )
        segments = [unquote(s) for s in parts.path.split("/") if s]
        if segments[:1] == ["models"]:
            segments = segments[1:]
        if len(segments) >= 3 and segments[2] in ("resolve", "blob", "tree"):
            if len(segments) < 4:
                raise SourceError(f"{value!r} names no revision after {segments[2]!r}")
            revision = segments[3]
            rest = segments[4:]
            if segments[2] != "tree" and not rest:
                raise SourceError(f"{value!r} names no file")
            segments = [*segments[:2], *rest] if segments[2] != "tree" else segments[:2]
    else:
        segments = [s for s in value.split("/") if s]
    if len(segments) < 2:
        raise SourceError(f"{value!r} is not a repo id: write it as owner/name")
    owner, name = segments[0], segments[1]
    for part in (owner, name):
        if not _NAME.match(part) or ".." in part:
            raise SourceError(f"{value!r} is not a repo id: {part!r} is not a valid name")
    path = "/".join(segments[2:]) or None
    if path is not None and any(p in ("..", ".") for p in path.split("/")):
        raise SourceError(f"{value!r}: a file path may not contain '.' or '..'")
    return Source(f"{owner}/{name}", path, revision)


WEIGHT_SUFFIXES = (".safetensors", ".bin", ".ckpt", ".pt", ".pth", ".msgpack", ".onnx", ".h5")
_SMALL_SUFFIXES = (".json", ".txt", ".model")


def repo_files(files: list[str]) -> tuple[str, ...]:
    """Which files of a whole repo to download: one usable copy, not all of them.

    A diffusers repo (``model_index.json`` at the top) gets that file and the component
    folders, with their configs and tokenizer files and one set of weights per component:
    ``.safetensors`` without a variant when there is one (else the fp16 variant); the
    single-file checkpoints some repos also keep at the top level are left out. Another repo
    (a ControlNet or VAE folder, a LoRA) gets its top-level configs and one weights file
    chosen the same way. Images, ONNX, Flax and TensorFlow copies and docs are skipped."""
    diffusers = "model_index.json" in files
    chosen: list[str] = []
    folders: dict[str, list[str]] = {}
    for name in files:
        folder, _, base = name.rpartition("/")
        if diffusers and not folder and name != "model_index.json":
            continue  # single-file copies next to the diffusers folders
        if "/" in folder or (not diffusers and folder):
            continue
        folders.setdefault(folder, []).append(base)
    for folder, names in sorted(folders.items()):
        prefix = f"{folder}/" if folder else ""
        chosen.extend(prefix + n for n in sorted(names) if n.lower().endswith(_SMALL_SUFFIXES))
        weights = [n for n in names if n.lower().endswith(".safetensors")]
        plain = [n for n in weights if n.count(".") == 1]
        fp16 = [n for n in weights if ".fp16." in n]
        bins = [n for n in names if n.lower().endswith(".bin") and n.count(".") == 1]
        chosen.extend(prefix + n for n in sorted(plain or fp16 or bins))
    return tuple(dict.fromkeys(chosen))
