"""The model catalogue: every file in the models folders, by kind, described for people.

:func:`scan` lists what a loader's file param can take (the same names as
:func:`nodes.paths.list_model_files`) and describes each as a :class:`ModelEntry`: its
family, size and precision read from the header only (:mod:`nodes.catalog.headers`), the
metadata the file carries — kohya's training tags and trigger words, base model and
resolution, ``modelspec.*``, a diffusers ``model_index.json`` — and a preview picture
when one sits beside it (``NAME.preview.png``, ``NAME.png``… as A1111 and ComfyUI
extensions write them).

The SHA-256 is never computed by a scan: :attr:`ModelEntry.sha256` is the digest already
known (:func:`nodes.models.fingerprint.sha256_file` caches digests by path, size and mtime
under the Daguerre home), and :func:`hash_entry` computes a missing one — the app calls it
on a worker thread, ``daguerre models --hash`` in turn. Described entries are cached per
file version, so rescanning a folder of 200 files reads only the new ones.

Nothing here imports torch: the Models panel and the CLI's listing use it directly.
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nodes.catalog.headers import HeaderFacts, family_label, read_facts
from nodes.models.errors import ModelError
from nodes.models.fingerprint import (
    Fingerprint,
    HashCancelled,
    file_fingerprint,
    known_sha256,
    sha256_file,
)
from nodes.paths import MODEL_KIND_FOLDERS, FileFinder, FileResolver, list_model_files

if TYPE_CHECKING:
    from nodes.graph import Graph

__all__ = [
    "KINDS",
    "KIND_TITLES",
    "LOADERS",
    "HashCancelled",
    "ModelEntry",
    "describe",
    "find_preview",
    "graph_family",
    "hash_entry",
    "human_size",
    "scan",
]

KINDS: tuple[str, ...] = tuple(kind for kind in MODEL_KIND_FOLDERS if kind != "images")
"""The models-folder kinds the catalogue lists, in display order."""
KIND_TITLES = {
    "checkpoints": "Checkpoints",
    "lora": "LoRAs",
    "controlnet": "ControlNets",
    "vae": "VAEs",
    "upscale_models": "Upscale models",
    "embeddings": "Embeddings",
}
LOADERS: dict[str, tuple[str, str]] = {
    "checkpoints": ("loaders.checkpoint", "path"),
    "lora": ("loaders.lora", "path"),
    "controlnet": ("loaders.controlnet", "path"),
    "vae": ("loaders.vae", "path"),
    "upscale_models": ("loaders.upscale_model", "path"),
}
"""kind → (loader node type, its file param): what dragging a model onto the canvas
makes. Embeddings have no loader: a prompt names them (``embedding:NAME``)."""
PREVIEW_SUFFIXES = (".preview.png", ".png", ".preview.jpg", ".jpg", ".preview.webp", ".webp")
TAG_LIMIT = 30


@dataclass(frozen=True, slots=True)
class ModelEntry:
    """One model file or diffusers folder in the models folders."""

    kind: str
    name: str
    """The value a loader's file param takes (relative to the kind's folder)."""
    path: Path
    size: int
    """Bytes (a folder: all its files)."""
    families: tuple[str, ...] = ()
    """Family ids it fits, from the header (see :class:`~nodes.catalog.headers.HeaderFacts`)."""
    precision: str | None = None
    architecture: str | None = None
    scale: int | None = None
    base_model: str | None = None
    """What the file says it was trained on (kohya's ``ss_base_model_version``...)."""
    resolution: str | None = None
    trigger_words: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    """Training tags, most frequent first (kohya's ``ss_tag_frequency``)."""
    metadata: dict[str, str] = field(default_factory=dict[str, str])
    preview: Path | None = None
    sha256: str | None = None
    """The digest, if known; :func:`hash_entry` computes it."""
    note: str | None = None
    mtime_ns: int = 0

    @property
    def family(self) -> str:
        """The family for people ("SDXL", "SD1.x or SD2.x"; "" unknown)."""
        return family_label(self.families)

    @property
    def summary(self) -> str:
        """What it is in a few words: its family, or an upscaler's architecture and
        scale ("Real-ESRGAN Compact 4×"); "" when the header does not tell."""
        if self.kind == "upscale_models":
            scale = f"{self.scale}×" if self.scale else ""
            return " ".join(x for x in (self.architecture or "", scale) if x)
        return self.family

    @property
    def folder(self) -> bool:
        return self.path.is_dir()

    def fits(self, family: str | None) -> bool:
        """Whether it can be used with a model of ``family`` (an id): unknown either way
        counts as fitting, so only a known mismatch is marked."""
        return family is None or not self.families or family in self.families

    def wrong_for(self, family: str | None) -> bool:
        """Whether to mark it in a graph whose checkpoint is of ``family``: a known
        mismatch, for anything but a checkpoint (the checkpoint sets the graph's family)."""
        return self.kind != "checkpoints" and not self.fits(family)

    def matches(self, query: str) -> bool:
        """Every word of ``query`` occurs in its name, family, kind, tags or trigger words
        (case-insensitive): the panel's search."""
        haystack = " ".join(
            (
                self.name,
                self.family,
                " ".join(self.families),
                self.kind,
                KIND_TITLES.get(self.kind, ""),
                self.architecture or "",
                self.base_model or "",
                " ".join(self.tags),
                " ".join(self.trigger_words),
            )
        ).lower()
        return all(word in haystack for word in query.lower().split())

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "name": self.name,
            "path": str(self.path),
            "folder": self.folder,
            "size": self.size,
            "family": self.family or None,
            "summary": self.summary or None,
            "families": list(self.families),
            "precision": self.precision,
            "architecture": self.architecture,
            "scale": self.scale,
            "base_model": self.base_model,
            "resolution": self.resolution,
            "trigger_words": list(self.trigger_words),
            "tags": list(self.tags),
            "metadata": self.metadata,
            "preview": str(self.preview) if self.preview else None,
            "sha256": self.sha256,
            "note": self.note,
        }


_lock = threading.Lock()
_described: dict[tuple[str, Fingerprint], ModelEntry] = {}


def scan(models_dirs: list[Path], kinds: tuple[str, ...] = KINDS) -> list[ModelEntry]:
    """Every model of ``kinds`` in the models folders, by kind then name."""
    finder = FileFinder(models_dirs)
    entries: list[ModelEntry] = []
    for kind in kinds:
        for name in list_model_files(kind, models_dirs):
            path = finder(kind, name)
            if path is None:
                continue
            entry = describe(kind, name, path)
            if entry is not None:
                entries.append(entry)
    return entries


def describe(kind: str, name: str, path: Path) -> ModelEntry | None:
    """The entry of one model file (None when it vanished), from the cache while the file
    is unchanged; the known digest is looked up each time."""
    try:
        fp = file_fingerprint(path)
    except ModelError:
        return None
    key = (kind, fp)
    with _lock:
        cached = _described.get(key)
    if cached is None or cached.name != name:
        cached = _build(kind, name, path, fp)
        with _lock:
            if len(_described) > 4096:
                _described.clear()
            _described[key] = cached
    return replace(cached, sha256=known_sha256(path), preview=find_preview(path))


def hash_entry(entry: ModelEntry, cancel: threading.Event | None = None) -> ModelEntry:
    """``entry`` with its SHA-256, computed if not known yet (slow for a big file: call it
    off the GUI thread). Raises :class:`~nodes.models.errors.ModelError` when unreadable,
    and its subclass :class:`~nodes.models.fingerprint.HashCancelled` once ``cancel`` is
    set."""
    return replace(entry, sha256=sha256_file(entry.path, cancel))


def graph_family(graph: Graph, resolve: FileResolver) -> str | None:
    """The family id of the graph's checkpoint (its first Load Checkpoint node whose file
    resolves and whose header tells), or None: what a picker's wrong-family mark and the
    Models panel compare against."""
    from nodes.advice.model_facts import checkpoint_facts

    loader, param = LOADERS["checkpoints"]
    for node in sorted(graph.nodes.values(), key=lambda n: n.id):
        if node.type != loader:
            continue
        value = node.params.get(param)
        path = resolve("checkpoints", value if isinstance(value, str) else "")
        if path is None:
            continue
        family = checkpoint_facts(path).family
        if family is not None:
            return family.id
    return None


def find_preview(path: Path) -> Path | None:
    """The picture beside a model: ``NAME.preview.png``, ``NAME.png`` (and ``.jpg``,
    ``.webp``), where NAME is the file name without its suffix (a folder: its name)."""
    stem = path.name if path.is_dir() else path.stem
    for suffix in PREVIEW_SUFFIXES:
        candidate = path.with_name(stem + suffix)
        if candidate.is_file():
            return candidate
    return None


def _build(kind: str, name: str, path: Path, fp: Fingerprint) -> ModelEntry:
    facts: HeaderFacts = read_facts(kind, path)
    meta = facts.metadata
    tags = _tags(meta)
    return ModelEntry(
        kind=kind,
        name=name,
        path=path,
        size=fp.size,
        families=facts.families,
        precision=facts.precision,
        architecture=facts.architecture,
        scale=facts.scale,
        base_model=meta.get("ss_base_model_version") or meta.get("modelspec.architecture"),
        resolution=_resolution(meta),
        trigger_words=_trigger_words(meta),
        tags=tags,
        metadata=meta,
        note=facts.note,
        mtime_ns=fp.mtime_ns,
    )


def _tag_frequency(meta: dict[str, str]) -> dict[str, dict[str, int]]:
    try:
        data = json.loads(meta.get("ss_tag_frequency", "{}"))
    except ValueError:
        return {}
    if not isinstance(data, dict):
        return {}
    return {
        str(folder): {str(t): int(n) for t, n in tags.items() if isinstance(n, int | float)}
        for folder, tags in data.items()
        if isinstance(tags, dict)
    }


def _tags(meta: dict[str, str]) -> tuple[str, ...]:
    """kohya's training tags summed over its dataset folders, most frequent first."""
    totals: dict[str, int] = {}
    for tags in _tag_frequency(meta).values():
        for raw, count in tags.items():
            tag = raw.strip()
            if tag:
                totals[tag] = totals.get(tag, 0) + count
    ranked = sorted(totals, key=lambda t: (-totals[t], t))
    explicit = [t.strip() for t in meta.get("modelspec.tags", "").split(",") if t.strip()]
    return tuple(dict.fromkeys([*explicit, *ranked]))[:TAG_LIMIT]


_REPEATS = re.compile(r"^\d+_(.+)$")


def _trigger_words(meta: dict[str, str]) -> tuple[str, ...]:
    """The words that call up what a LoRA learnt: ``modelspec.trigger_phrase`` when the
    file names them, else kohya's instance tokens (its dataset folders are named
    ``REPEATS_TOKEN [CLASS]``, e.g. ``10_sks dog``)."""
    phrase = meta.get("modelspec.trigger_phrase", "")
    if phrase.strip():
        return tuple(dict.fromkeys(w.strip() for w in phrase.split(",") if w.strip()))
    words: list[str] = []
    for folder in _tag_frequency(meta):
        match = _REPEATS.match(Path(folder).name)
        if match:
            words.append(match.group(1).strip())
    return tuple(dict.fromkeys(w for w in words if w))


def _resolution(meta: dict[str, str]) -> str | None:
    """``512×512`` from kohya's ``ss_resolution`` (``(512, 512)``) or
    ``modelspec.resolution`` (``1024x1024``)."""
    raw = meta.get("ss_resolution") or meta.get("modelspec.resolution")
    if not raw:
        return None
    numbers = re.findall(r"\d+", raw)
    if len(numbers) == 1:
        return f"{numbers[0]}×{numbers[0]}"
    if len(numbers) >= 2:
        return f"{numbers[0]}×{numbers[1]}"
    return None


def human_size(size: int) -> str:
    """``1.9 GB``, ``144 MB``, ``812 KB``."""
    value = float(size)
    for unit in ("B", "KB", "MB"):
        if value < 1000:
            return f"{value:.0f} {unit}" if unit in ("B", "KB") else f"{value:.1f} {unit}"
        value /= 1000
    return f"{value:.1f} GB"
