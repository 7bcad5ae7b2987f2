"""Downloads from the Hugging Face Hub into the models folders, through ``huggingface_hub``.

A :class:`DownloadPlan` (from a starter, :func:`plan_for_starter`, or from what the user
typed, :func:`plan_for_source`) names the files and the models kind they belong to;
:func:`download` fetches them and guarantees:

- **The right folder.** Files land under the kind's folder of the models folder
  (``checkpoints/``, ``loras/``, ``controlnet/``: the first name in
  :data:`nodes.paths.MODEL_KIND_FOLDERS`); a repo or a diffusers ControlNet becomes one
  folder there.
- **Checked.** Each file's SHA-256 (LFS files) or git blob SHA-1 (small files) is compared
  with the hash the hub reports for it (its ``X-Linked-Etag``/``ETag``, read with
  ``get_hf_file_metadata``), and its size with the size the hub reports. A file that does
  not match is deleted and :class:`CorruptDownload` raised.
- **Atomic.** Bytes go to a hidden ``.NAME.ETAG.part`` file next to the destination (a
  hidden ``.NAME.partial`` folder for a multi-file download) and are renamed into place
  only when every file checks out, so the models folders never show a half-written
  model (the listings skip hidden names).
- **Resumable.** A transfer that breaks keeps its part file; the next :func:`download` of
  the same file continues it with an HTTP Range request (and a connection that drops
  mid-file is retried from where it broke, while retries bring new bytes). The part
  file's name carries the hub's hash, so bytes of an older version are never continued.
- **Cancellable.** :class:`CancelToken` is checked between chunks; a cancelled download
  removes everything it wrote (part files included) and raises :class:`DownloadCancelled`.
- **Offline.** An endpoint that cannot be reached raises :class:`OfflineError` with one
  clear message before anything is written.

Progress arrives as plain :class:`DownloadProgress` values (bytes, speed, ETA) on the
calling thread; the app runs :func:`download` on a worker thread. The hub is
``$HF_ENDPOINT`` when set (read at each call, unlike ``huggingface_hub`` which reads it
once at import), else huggingface.co. The token is passed in and never logged.
"""

from __future__ import annotations

import os
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from nodes.hub.checks import HashCheck
from nodes.hub.progress import DownloadProgress, Meter, ProgressCallback
from nodes.hub.sources import Source, repo_files
from nodes.hub.starters import Starter
from nodes.paths import MODEL_KIND_FOLDERS

if TYPE_CHECKING:
    from huggingface_hub import HfFileMetadata

DEFAULT_ENDPOINT = "https://huggingface.co"
GENERIC_NAMES = frozenset(
    {
        "pytorch_lora_weights.safetensors",
        "diffusion_pytorch_model.safetensors",
        "diffusion_pytorch_model.fp16.safetensors",
        "model.safetensors",
    }
)
"""File names many repos share: a single one downloaded is saved under its repo's name."""


class DownloadError(Exception):
    """A download that did not complete; the message is for people."""


class OfflineError(DownloadError):
    """The hub could not be reached; nothing was written."""


class DownloadInterrupted(DownloadError):
    """The transfer broke off; its part file is kept so the next try resumes."""


class CorruptDownload(DownloadError):
    """A file did not match the hub's hash or size; it was deleted."""


class AccessError(DownloadError):
    """The repo is gated or private (a token is needed, or its terms must be accepted) or
    does not exist."""


class DownloadCancelled(DownloadError):
    """Cancelled by the user; everything the download wrote was removed."""


class CancelToken:
    """Set from any thread to stop a :func:`download` at its next chunk."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()


@dataclass(frozen=True)
class PlanFile:
    path: str
    """In the repo."""
    save_as: str
    """Relative to the destination folder (the kind's folder, or :attr:`DownloadPlan.folder`)."""


@dataclass(frozen=True)
class DownloadPlan:
    repo_id: str
    kind: str
    files: tuple[PlanFile, ...]
    folder: str | None = None
    """A folder under the kind's folder that holds all the files, or None (single files)."""
    revision: str = "main"

    @property
    def title(self) -> str:
        return f"{self.repo_id}/{self.files[0].path}" if self.folder is None else self.repo_id


@dataclass(frozen=True)
class DownloadResult:
    destination: Path
    """The file or folder now in the models folder."""
    downloaded: int
    """Bytes transferred by this call (0 when it was already there)."""
    already_there: bool = False


def hub_endpoint() -> str:
    """``$HF_ENDPOINT`` (a mirror, or a test's local server), else huggingface.co."""
    return (os.environ.get("HF_ENDPOINT") or DEFAULT_ENDPOINT).rstrip("/")


def kind_folder(models_dir: Path, kind: str) -> Path:
    """Where files of ``kind`` go in ``models_dir`` (Daguerre's own folder name)."""
    folders = MODEL_KIND_FOLDERS.get(kind)
    if not folders or kind == "images":
        raise DownloadError(f"unknown model kind {kind!r}: choose one of {', '.join(KINDS)}")
    return models_dir / folders[0]


KINDS = tuple(k for k in MODEL_KIND_FOLDERS if k != "images")
"""The kinds a download can go to."""


def plan_for_starter(starter: Starter) -> DownloadPlan:
    files = tuple(PlanFile(f.path, f.save_as) for f in starter.files)
    return DownloadPlan(starter.repo_id, starter.kind, files, starter.folder, starter.revision)


def plan_for_source(
    source: Source,
    kind: str,
    *,
    token: str | None = None,
    endpoint: str | None = None,
) -> DownloadPlan:
    """A single file keeps its name (a generic one, :data:`GENERIC_NAMES`, becomes the repo's
    name); a whole repo is listed on the hub (which needs the network) and becomes a folder
    named after it, with the files :func:`~nodes.hub.sources.repo_files` picks."""
    kind_folder(Path(), kind)  # an unknown kind fails before the network is asked
    repo_name = source.repo_id.split("/")[-1]
    if source.path is not None:
        base = source.path.rsplit("/", 1)[-1]
        if base in GENERIC_NAMES:
            base = repo_name + Path(base).suffix
        return DownloadPlan(
            source.repo_id, kind, (PlanFile(source.path, base),), None, source.revision
        )
    listing = _call_hub(
        f"{source.repo_id}",
        endpoint or hub_endpoint(),
        lambda: _list_files(source, token, endpoint or hub_endpoint()),
    )
    chosen = repo_files(listing)
    if not chosen:
        raise AccessError(f"{source.repo_id} holds no model files Daguerre can use")
    return DownloadPlan(
        source.repo_id, kind, tuple(PlanFile(p, p) for p in chosen), repo_name, source.revision
    )


def _list_files(source: Source, token: str | None, endpoint: str) -> list[str]:
    from huggingface_hub import HfApi
    from huggingface_hub.utils import get_session

    # One plain request first: the listing retries a refused connection for ~20 s before
    # it gives up, and an offline user should hear so at once.
    get_session().head(endpoint, timeout=10)
    api = HfApi(endpoint=endpoint, token=token or False)
    return list(api.list_repo_files(source.repo_id, revision=source.revision))


def _call_hub(what: str, endpoint: str, call: Callable[[], Any]) -> Any:
    """Run a hub request, turning ``huggingface_hub``'s and httpx's errors into ours."""
    import httpx2
    from huggingface_hub.errors import (
        GatedRepoError,
        HfHubHTTPError,
        OfflineModeIsEnabled,
        RemoteEntryNotFoundError,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    page = f"{DEFAULT_ENDPOINT}/{what.split('/', 2)[0]}/{what.split('/', 2)[1]}"
    try:
        return call()
    except OfflineModeIsEnabled as exc:
        raise OfflineError(
            "Hugging Face is switched off here (HF_HUB_OFFLINE is set): unset it to download. "
            "Nothing was written."
        ) from exc
    except (httpx2.ConnectError, httpx2.TimeoutException, httpx2.NetworkError) as exc:
        host = urlsplit(endpoint).netloc or endpoint
        raise OfflineError(
            f"Can't reach Hugging Face ({host}): you seem to be offline. Check the connection "
            "and try again. Nothing was written."
        ) from exc
    except GatedRepoError as exc:
        raise AccessError(
            f"{what} is gated: accept its terms on {page} while logged in, then paste a token "
            "of that account (Hugging Face › Settings › Access Tokens)."
        ) from exc
    except RepositoryNotFoundError as exc:
        status = exc.response.status_code if exc.response is not None else None
        raise AccessError(
            f"{what}: no such repo, or it is private"
            + (" (paste a token that can read it)" if status in (401, 403) else "")
        ) from exc
    except RevisionNotFoundError as exc:
        raise AccessError(f"{what}: no such revision") from exc
    except RemoteEntryNotFoundError as exc:
        raise AccessError(f"{what}: no such file in the repo") from exc
    except HfHubHTTPError as exc:
        status = exc.response.status_code if exc.response is not None else None
        if status in (401, 403):
            raise AccessError(f"{what} needs a token that can read it") from exc
        raise DownloadError(f"{what}: the hub answered {status}") from exc


@dataclass
class _Resolved:
    file: PlanFile
    meta: HfFileMetadata
    part: Path
    final: Path


def download(
    plan: DownloadPlan,
    models_dir: Path,
    *,
    token: str | None = None,
    endpoint: str | None = None,
    cancel: CancelToken | None = None,
    on_progress: ProgressCallback | None = None,
) -> DownloadResult:
    """Fetch ``plan`` into ``models_dir`` (see the module docstring for what is guaranteed).

    Raises :class:`OfflineError`, :class:`AccessError`, :class:`DownloadInterrupted`,
    :class:`CorruptDownload`, :class:`DownloadCancelled` or :class:`DownloadError`."""
    hub = (endpoint or hub_endpoint()).rstrip("/")
    cancel = cancel or CancelToken()
    kind_dir = kind_folder(models_dir, plan.kind)
    if plan.folder is not None:
        destination = kind_dir / plan.folder
        staging = kind_dir / f".{plan.folder}.partial"
    else:
        if len(plan.files) != 1:
            raise DownloadError("a download without a folder holds exactly one file")
        destination = kind_dir / plan.files[0].save_as
        staging = kind_dir
    metas = [
        _call_hub(
            f"{plan.repo_id}/{f.path}",
            hub,
            lambda f=f: _metadata(plan, f, token, hub),
        )
        for f in plan.files
    ]
    sizes = [m.size for m in metas]
    if destination.exists():
        if _complete(destination, plan, sizes):
            return DownloadResult(destination, 0, already_there=True)
        raise DownloadError(
            f"{destination} already exists and is not this download: move it away first"
        )
    resolved = []
    for f, meta in zip(plan.files, metas, strict=True):
        tag = (meta.etag or "noetag")[:16]
        final = staging / f.save_as
        part = final.with_name(f".{final.name}.{tag}.part")
        resolved.append(_Resolved(f, meta, part, final))
    total = None if any(s is None for s in sizes) else sum(s or 0 for s in sizes)
    meter = Meter(total, len(plan.files), on_progress)
    transferred = 0
    try:
        if cancel.cancelled:
            raise DownloadCancelled(f"cancelled: {plan.title}")
        for index, item in enumerate(resolved):
            item.final.parent.mkdir(parents=True, exist_ok=True)
            _drop_stale_parts(item)
            if plan.folder is not None and item.final.exists():
                meter.add_done(item.final.stat().st_size)
                continue  # checked and renamed by an earlier, interrupted try
            transferred += _fetch(item, plan, token, hub, cancel, meter, index)
        if plan.folder is not None:
            os.replace(staging, destination)
    except DownloadCancelled:
        _remove_all(resolved, staging if plan.folder is not None else None)
        raise
    meter.finish()
    return DownloadResult(destination, transferred)


def hub_size(
    plan: DownloadPlan, *, token: str | None = None, endpoint: str | None = None
) -> int | None:
    """The bytes ``plan`` downloads, as the hub reports them now (one HEAD request per
    file, nothing written), or None when a file's size is not reported. Raises what
    :func:`download` raises before it writes (:class:`OfflineError`, :class:`AccessError`)."""
    hub = (endpoint or hub_endpoint()).rstrip("/")
    total = 0
    for f in plan.files:
        meta = _call_hub(
            f"{plan.repo_id}/{f.path}", hub, lambda f=f: _metadata(plan, f, token, hub)
        )
        if meta.size is None:
            return None
        total += meta.size
    return total


def _metadata(plan: DownloadPlan, f: PlanFile, token: str | None, endpoint: str) -> HfFileMetadata:
    from huggingface_hub import get_hf_file_metadata, hf_hub_url

    url = hf_hub_url(plan.repo_id, f.path, revision=plan.revision, endpoint=endpoint)
    return get_hf_file_metadata(url, token=token or False, endpoint=endpoint)


def _complete(destination: Path, plan: DownloadPlan, sizes: list[int | None]) -> bool:
    """Whether ``destination`` already holds this download (same files, same sizes)."""
    if plan.folder is None:
        return destination.is_file() and sizes[0] in (None, destination.stat().st_size)
    return all(
        (destination / f.save_as).is_file()
        and size in (None, (destination / f.save_as).stat().st_size)
        for f, size in zip(plan.files, sizes, strict=True)
    )


def _drop_stale_parts(item: _Resolved) -> None:
    """Part files of this name from another version of the file (another hash)."""
    for other in item.part.parent.glob(f".{item.final.name}.*.part"):
        if other != item.part:
            other.unlink(missing_ok=True)


def _remove_all(resolved: list[_Resolved], staging: Path | None) -> None:
    for item in resolved:
        item.part.unlink(missing_ok=True)
    if staging is not None:
        shutil.rmtree(staging, ignore_errors=True)


def _fetch(
    item: _Resolved,
    plan: DownloadPlan,
    token: str | None,
    endpoint: str,
    cancel: CancelToken,
    meter: Meter,
    index: int,
) -> int:
    """Download one file to its part file, check it, rename it into place; returns the bytes
    transferred."""
    meta = item.meta
    expected = meta.size
    check = HashCheck(meta.etag, expected)
    resume = item.part.stat().st_size if item.part.exists() else 0
    if expected is not None and resume > expected:
        item.part.unlink()
        resume = 0
    if resume:
        with item.part.open("rb") as existing:
            for chunk in iter(lambda: existing.read(CHUNK_SIZE), b""):
                check.update(chunk)
    meter.start_file(item.file.save_as, index, resume)
    with item.part.open("ab") as out:
        _transfer(item, token, cancel, meter, check, out, resume)
        out.flush()
        os.fsync(out.fileno())
    size = item.part.stat().st_size
    problem = check.problem(size)
    if problem is not None:
        item.part.unlink(missing_ok=True)
        raise CorruptDownload(
            f"{item.file.save_as} from {plan.repo_id} arrived corrupted ({problem}): "
            "it was removed; download it again."
        )
    os.replace(item.part, item.final)
    return size - resume


CHUNK_SIZE = 1 << 20
"""Bytes between cancel checks and progress counts (``huggingface_hub``'s own ``http_get``
reads 10 MB at a time, too coarse for a cancel button on a slow link)."""
RETRIES = 5
"""Tries in a row that bring no new byte before a broken transfer gives up."""


def _transfer(
    item: _Resolved,
    token: str | None,
    cancel: CancelToken,
    meter: Meter,
    check: HashCheck,
    out: Any,
    resume: int,
) -> None:
    """GET the file from where the part file ends (a Range request), through
    ``huggingface_hub``'s session, headers and error mapping; a dropped connection is
    retried from where it broke while each try brings new bytes."""
    import httpx2
    from huggingface_hub import constants
    from huggingface_hub.errors import HfHubHTTPError
    from huggingface_hub.utils import build_hf_headers, hf_raise_for_status, http_stream_backoff

    expected = item.meta.size
    have = resume
    tries = RETRIES
    while expected is None or have < expected:
        headers = build_hf_headers(token=token or False)
        headers["Accept-Encoding"] = "identity"
        if have:
            headers["Range"] = f"bytes={have}-"
        before = have
        try:
            with http_stream_backoff(
                "GET",
                item.meta.location,
                headers=headers,
                timeout=constants.HF_HUB_DOWNLOAD_TIMEOUT,
                retry_on_exceptions=(),
                retry_on_status_codes=(408, 429),
            ) as response:
                hf_raise_for_status(response)
                if have and response.status_code == 200:  # the Range was ignored: start over
                    out.seek(0)
                    out.truncate()
                    check.restart()
                    meter.rewind()
                    have = 0
                for chunk in response.iter_bytes(chunk_size=CHUNK_SIZE):
                    if cancel.cancelled:
                        raise DownloadCancelled("cancelled")
                    out.write(chunk)
                    check.update(chunk)
                    meter.add(len(chunk))
                    have += len(chunk)
            if expected is None:
                return
            if have < expected:
                raise httpx2.RemoteProtocolError("the body ended early")
        except (httpx2.ConnectError, httpx2.TimeoutException, httpx2.RemoteProtocolError) as exc:
            tries = RETRIES if have > before else tries - 1
            if tries > 0:
                _pause(cancel)
                continue
            raise _interrupted(item, have, exc) from exc
        except (httpx2.HTTPError, HfHubHTTPError, OSError) as exc:
            raise _interrupted(item, have, exc) from exc


def _pause(cancel: CancelToken, seconds: float = 1.0) -> None:
    """Wait before a retry, cancellable."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if cancel.cancelled:
            raise DownloadCancelled("cancelled")
        time.sleep(0.05)


def _interrupted(item: _Resolved, have: int, exc: BaseException) -> DownloadInterrupted:
    expected = item.meta.size
    share = f" at {have * 100 // expected}%" if expected else ""
    return DownloadInterrupted(
        f"The download of {item.file.save_as} broke off{share} ({type(exc).__name__}): "
        "run it again to resume where it stopped."
    )


__all__ = [
    "AccessError",
    "CancelToken",
    "CorruptDownload",
    "DownloadCancelled",
    "DownloadError",
    "DownloadInterrupted",
    "DownloadPlan",
    "DownloadProgress",
    "DownloadResult",
    "OfflineError",
    "PlanFile",
    "ProgressCallback",
    "download",
    "hub_endpoint",
    "hub_size",
    "plan_for_source",
    "plan_for_starter",
]
