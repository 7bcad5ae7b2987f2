"""What the advice rules know about a model file and the device, found cheaply.

The rules need a checkpoint's family (for its native size), its prediction type (SD2.x's
768-v releases) and how much its weights take, on every edit — so nothing here loads a
weight or imports torch:

- a ``.safetensors`` file's header (8 bytes of length, then JSON: every tensor's name,
  dtype, shape and offsets) gives the family, by which text encoders it holds, as
  :func:`nodes.models.detect.single_file_family` decides, and the weights' size; SD2.x's
  v-prediction is told by its ``v_pred`` marker or by the spread of one small bias tensor
  read at its offset (ComfyUI's rule, as the loader applies it);
- a diffusers folder's ``model_index.json`` and configs give the family and prediction;
- anything else (a pickled ``.ckpt``, a missing or damaged file) is *unknown*: the rules
  that need the family stay quiet.

Results are cached per file version (size and modification time). Device memory is read
without torch too: system RAM for the CPU (psutil when installed, else ``/proc/meminfo``
or ``os.sysconf``), a GPU's total from torch only if the runner already imported it, else
from ``nvidia-smi``; unknown means quiet.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import threading
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from nodes.advice.table import FEW_STEP_NAMES
from nodes.models import prefixes as ldm
from nodes.models.families import FAMILIES, Family, family_for_unet

__all__ = [
    "DeviceMemory",
    "ModelFacts",
    "checkpoint_facts",
    "device_memory",
    "few_step_name",
]

HEADER_MAX = 100 * 1024 * 1024
"""A safetensors header larger than this is not read (a real one is a few MB)."""
_DTYPE_BYTES = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I8": 1, "U8": 1}
_V_PRED_NORM_STD = 0.09  # nodes.models.detect.V_PRED_NORM_STD, without importing torch


@dataclass(frozen=True, slots=True)
class ModelFacts:
    """What a checkpoint is, as far as a header tells; ``family`` None = unknown."""

    family: Family | None
    prediction: str | None = None
    parameters: int | None = None
    """Number of weights (all components), for the memory estimate."""

    def native_side(self) -> int | None:
        if self.family is None:
            return None
        return self.family.native_side(self.prediction or self.family.predictions[0])


UNKNOWN = ModelFacts(None)


def few_step_name(path: str) -> str | None:
    """ "LCM", "Turbo"... when a file name says it is a few-step model or LoRA."""
    match = re.search(FEW_STEP_NAMES, Path(path).name.lower())
    if match is None:
        return None
    word = match.group(0)
    if word.startswith("hyper"):
        return "Hyper-SD"
    return {"lcm": "LCM", "tcd": "TCD", "dmd2": "DMD2"}.get(word, word.title())


_lock = threading.Lock()
_facts: dict[tuple[str, int, int, str], ModelFacts] = {}


def checkpoint_facts(path: Path, prediction: str = "auto") -> ModelFacts:
    """The facts of the checkpoint at ``path`` (a file or diffusers folder), cached per
    file version; :data:`UNKNOWN` when they cannot be read cheaply."""
    try:
        stat = path.stat()
    except OSError:
        return UNKNOWN
    key = (str(path), stat.st_size, stat.st_mtime_ns, prediction)
    with _lock:
        known = _facts.get(key)
    if known is not None:
        return known
    try:
        facts = _folder_facts(path) if path.is_dir() else _file_facts(path)
    except (OSError, ValueError, KeyError, TypeError):
        facts = UNKNOWN
    except Exception:  # a ModelError from a family lookup: unknown, not a crash
        facts = UNKNOWN
    if facts.family is not None and prediction in ("epsilon", "v_prediction"):
        facts = ModelFacts(facts.family, prediction, facts.parameters)
    with _lock:
        if len(_facts) > 256:
            _facts.clear()
        _facts[key] = facts
    return facts


def _file_facts(path: Path) -> ModelFacts:
    if path.suffix.lower() not in (".safetensors", ".sft"):
        return UNKNOWN  # a pickle cannot be read without unpickling it
    with path.open("rb") as handle:
        length = int.from_bytes(handle.read(8), "little")
        if not 0 < length <= HEADER_MAX:
            return UNKNOWN
        header: dict[str, Any] = json.loads(handle.read(length))
        header.pop("__metadata__", None)
        family = _single_file_family(header)
        if family is None:
            return UNKNOWN
        parameters = sum(_numel(entry.get("shape", ())) for entry in header.values())
        prediction = _single_file_prediction(header, family, handle, 8 + length)
    return ModelFacts(family, prediction, parameters)


def _single_file_family(header: dict[str, Any]) -> Family | None:
    """The family whose whole text-encoder stack the file holds (larger stacks first),
    as the loader's detection decides; None without a UNet or any known stack."""

    def has(prefix: str) -> bool:
        return any(key.startswith(prefix) for key in header)

    if not has(ldm.UNET):
        return None
    for family in sorted(FAMILIES.values(), key=lambda f: -len(f.text_encoders)):
        if all(has(spec.ldm_prefix) for spec in family.text_encoders):
            return family
    return None


def _single_file_prediction(
    header: dict[str, Any], family: Family, handle: Any, data_start: int
) -> str:
    if "v_pred" in header:
        return "v_prediction"
    if not family.v_prediction_by_norm_std:
        return family.predictions[0]
    first = header.get(ldm.UNET + "input_blocks.0.0.weight", {})
    shape = first.get("shape", ())
    if len(shape) == 4 and shape[1] != family.latent.channels:
        return "epsilon"  # SD2.x inpainting and depth models predict noise
    blocks = {
        int(key[len(ldm.UNET + "output_blocks.") :].split(".")[0])
        for key in header
        if key.startswith(ldm.UNET + "output_blocks.")
    }
    if not blocks:
        return family.predictions[0]
    entry = header.get(f"{ldm.UNET}output_blocks.{max(blocks)}.1.transformer_blocks.0.norm1.bias")
    if not isinstance(entry, dict):
        return family.predictions[0]
    std = _tensor_std(handle, data_start, entry)
    if std is None:
        return family.predictions[0]
    return "v_prediction" if std > _V_PRED_NORM_STD else "epsilon"


def _tensor_std(handle: Any, data_start: int, entry: dict[str, Any]) -> float | None:
    """The population std of one small tensor, read at its offsets (numpy, no torch)."""
    import numpy as np

    dtype = entry.get("dtype")
    begin, end = entry.get("data_offsets", (0, 0))
    if dtype not in ("F32", "F16", "BF16") or not 0 <= begin < end <= begin + (1 << 20):
        return None
    handle.seek(data_start + begin)
    raw = handle.read(end - begin)
    if dtype == "F32":
        values = np.frombuffer(raw, dtype="<f4")
    elif dtype == "F16":
        values = np.frombuffer(raw, dtype="<f2").astype(np.float32)
    else:
        values = (np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16).view(np.float32)
    return float(values.astype(np.float64).std()) if values.size else None


def _numel(shape: Any) -> int:
    count = 1
    for side in shape:
        count *= int(side)
    return count


def _folder_facts(path: Path) -> ModelFacts:
    index = json.loads((path / "model_index.json").read_text(encoding="utf-8"))
    unet = json.loads((path / "unet" / "config.json").read_text(encoding="utf-8"))
    present = tuple(
        name
        for name in ("text_encoder", "text_encoder_2")
        if isinstance(index.get(name), list) and len(index[name]) == 2 and index[name][1]
    )
    if not present:
        return UNKNOWN
    family = family_for_unet(
        added_conditions=unet.get("addition_embed_type") == "text_time",
        linear_projection=bool(unet.get("use_linear_projection")),
        what=str(path),
        text_components=present,
    )
    scheduler = path / "scheduler" / "scheduler_config.json"
    prediction = family.predictions[0]
    if scheduler.is_file():
        prediction = json.loads(scheduler.read_text(encoding="utf-8")).get(
            "prediction_type", prediction
        )
    return ModelFacts(family, str(prediction), _folder_parameters(path))


def _folder_parameters(path: Path) -> int | None:
    """Weights in a diffusers folder: per component, its largest safetensors file's header
    (fp16 variants sit next to the full files: one per component is counted)."""
    total = 0
    for component in sorted(p for p in path.iterdir() if p.is_dir()):
        files = sorted(component.glob("*.safetensors"), key=lambda f: f.stat().st_size)
        if not files:
            continue
        with files[-1].open("rb") as handle:
            length = int.from_bytes(handle.read(8), "little")
            if not 0 < length <= HEADER_MAX:
                return None
            header = json.loads(handle.read(length))
        header.pop("__metadata__", None)
        total += sum(_numel(entry.get("shape", ())) for entry in header.values())
    return total or None


# --- device memory ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DeviceMemory:
    total: int
    """Bytes."""
    name: str
    """For people: "system RAM", "GPU cuda:0"."""
    gpu: bool


def device_memory(device: str) -> DeviceMemory | None:
    """The memory of the device a run on ``device`` (a setting: auto, cpu, cuda[:N], mps)
    would use, or None when it cannot be told cheaply."""
    if device in ("auto", "cuda") or device.startswith("cuda:"):
        index = int(device.partition(":")[2] or 0)
        from nodes.settings import cuda_devices

        if cuda_devices() or device != "auto":
            total = _gpu_total(index)
            if total is None:
                return None
            return DeviceMemory(total, f"GPU cuda:{index}", True)
    ram = system_ram()
    if ram is None:
        return None
    if device == "mps" or (device == "auto" and sys.platform == "darwin"):
        return DeviceMemory(ram, "unified memory", True)
    return DeviceMemory(ram, "system RAM", False)


def system_ram() -> int | None:
    """Total system memory in bytes: psutil, else /proc/meminfo, else os.sysconf."""
    try:
        import psutil  # pyright: ignore[reportMissingModuleSource]

        return int(psutil.virtual_memory().total)
    except ImportError:
        pass
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return int(os.sysconf("SC_PAGE_SIZE")) * int(os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):
        return None


def _gpu_total(index: int) -> int | None:
    torch = sys.modules.get("torch")
    if torch is not None:
        try:
            if torch.cuda.is_available() and index < torch.cuda.device_count():
                return int(torch.cuda.get_device_properties(index).total_memory)
        except Exception:  # a driver error: fall back to nvidia-smi
            pass
    totals = _nvidia_smi_totals()
    return totals[index] if index < len(totals) else None


@cache
def _nvidia_smi_totals() -> tuple[int, ...]:
    """Each GPU's total memory as nvidia-smi lists it (once per process; () without it)."""
    exe = shutil.which("nvidia-smi")
    if exe is None:
        return ()
    try:
        out = subprocess.run(
            [exe, "--query-gpu=memory.total", "--format=csv,noheader,nounits"],
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        ).stdout
        return tuple(int(float(line.strip())) * 1024 * 1024 for line in out.splitlines() if line)
    except (OSError, ValueError, subprocess.SubprocessError):
        return ()
