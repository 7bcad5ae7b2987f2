"""The model catalogue (nodes.catalog.listing, nodes.catalog.headers): every demo model kind's
family, size and precision from its header alone, a file whose name lies, kohya and
modelspec metadata, previews beside models, and digests from the background hash cache."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import load_file, save_file

from nodes.catalog import listing as model_catalog
from nodes.catalog.headers import family_from_metadata, read_facts
from nodes.catalog.listing import ModelEntry, describe, hash_entry, scan
from nodes.models import fingerprint
from nodes.models.demo import DemoPaths, make_demo_refiner
from nodes.models.demo_upscale import make_demo_upscale_model


def _copy(source: Path, folder: Path, name: str | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / (name or source.name)
    if source.is_dir():
        shutil.copytree(source, target)
    else:
        shutil.copyfile(source, target)
    return target


@pytest.fixture(scope="module")
def models(
    tmp_path_factory: pytest.TempPathFactory,
    demo_sd15: DemoPaths,
    demo_sd21: DemoPaths,
    demo_sdxl: DemoPaths,
) -> Path:
    """A models folder with every demo kind in ComfyUI's layout, plus hand-made files."""
    root = tmp_path_factory.mktemp("catalog") / "models"
    scratch = tmp_path_factory.mktemp("catalog-scratch")
    for demo in (demo_sd15, demo_sd21, demo_sdxl):
        _copy(demo.single_file, root / "checkpoints")
        _copy(demo.folder, root / "checkpoints")
        _copy(demo.controlnet, root / "controlnet")
        _copy(demo.controlnet_file, root / "controlnet")
        _copy(demo.lora, root / "loras")
    refiner = make_demo_refiner(scratch)
    _copy(refiner.single_file, root / "checkpoints")
    _copy(refiner.folder, root / "checkpoints")
    _copy(make_demo_upscale_model(scratch), root / "upscale_models")
    _copy(demo_sd15.folder / "vae", root / "vae", "sd-vae")
    # names that lie: an SDXL checkpoint called SD1.5, an SD1.x LoRA called SDXL, a LoRA
    # in the checkpoints folder
    _copy(demo_sdxl.single_file, root / "checkpoints", "sd15-pruned-emaonly.safetensors")
    _copy(demo_sd15.lora, root / "loras", "sdxl-detail-lora.safetensors")
    _copy(demo_sd15.lora, root / "checkpoints", "my-model.safetensors")
    emb = root / "embeddings"
    emb.mkdir()
    save_file({"emb_params": np.zeros((2, 768), np.float32)}, str(emb / "sd1-style.safetensors"))
    save_file({"emb_params": np.zeros((3, 1024), np.float16)}, str(emb / "sd2-style.safetensors"))
    sdxl_vectors = {"clip_l": np.zeros((1, 768), np.float16)}
    sdxl_vectors["clip_g"] = np.zeros((1, 1280), np.float16)
    save_file(sdxl_vectors, str(emb / "xl-neg.safetensors"))
    return root


@pytest.fixture(scope="module")
def entries(models: Path) -> dict[tuple[str, str], ModelEntry]:
    return {(e.kind, e.name): e for e in scan([models])}


@pytest.mark.parametrize(
    ("kind", "name", "families"),
    [
        ("checkpoints", "sd1-demo.safetensors", ("sd1",)),
        ("checkpoints", "sd1-demo", ("sd1",)),
        ("checkpoints", "sd2-demo.safetensors", ("sd2",)),
        ("checkpoints", "sd2-demo", ("sd2",)),
        ("checkpoints", "sdxl-demo.safetensors", ("sdxl",)),
        ("checkpoints", "sdxl-demo", ("sdxl",)),
        ("checkpoints", "sdxl_refiner-demo.safetensors", ("sdxl_refiner",)),
        ("checkpoints", "sdxl_refiner-demo", ("sdxl_refiner",)),
        ("controlnet", "sd1-demo-controlnet.safetensors", ("sd1",)),
        ("controlnet", "sd1-demo-controlnet", ("sd1",)),
        ("controlnet", "sd2-demo-controlnet.safetensors", ("sd2",)),
        ("controlnet", "sd2-demo-controlnet", ("sd2",)),
        ("controlnet", "sdxl-demo-controlnet.safetensors", ("sdxl",)),
        ("controlnet", "sdxl-demo-controlnet", ("sdxl",)),
        # the demo LoRAs' text features are 32 wide: SD1.x and SD2.x LoRAs look alike
        ("lora", "sd1-demo-lora.safetensors", ("sd1", "sd2")),
        ("lora", "sd2-demo-lora.safetensors", ("sd1", "sd2")),
        ("lora", "sdxl-demo-lora.safetensors", ("sdxl",)),
        ("embeddings", "sd1-style.safetensors", ("sd1",)),
        ("embeddings", "sd2-style.safetensors", ("sd2",)),
        ("embeddings", "xl-neg.safetensors", ("sdxl",)),
        ("vae", "sd-vae", ()),
        ("upscale_models", "demo-compact-4x.safetensors", ()),
    ],
)
def test_every_demo_kind_has_its_family_from_the_header(
    entries: dict[tuple[str, str], ModelEntry], kind: str, name: str, families: tuple[str, ...]
) -> None:
    entry = entries[(kind, name)]
    assert entry.families == families
    assert entry.size == fingerprint.file_fingerprint(entry.path).size > 0
    assert entry.sha256 is None  # a scan never hashes


def test_precision_and_upscale_scale(entries: dict[tuple[str, str], ModelEntry]) -> None:
    assert entries[("checkpoints", "sd1-demo.safetensors")].precision == "fp16"
    assert entries[("checkpoints", "sd1-demo")].precision == "fp16"  # the UNet's weights
    assert entries[("embeddings", "sd1-style.safetensors")].precision == "fp32"
    upscaler = entries[("upscale_models", "demo-compact-4x.safetensors")]
    assert (upscaler.architecture, upscaler.scale, upscaler.precision) == (
        "Real-ESRGAN Compact",
        4,
        "fp32",
    )
    assert entries[("checkpoints", "sdxl-demo")].metadata["_class_name"] == (
        "StableDiffusionXLPipeline"
    )


def test_a_file_whose_name_lies_is_described_by_its_header(
    entries: dict[tuple[str, str], ModelEntry],
) -> None:
    lying = entries[("checkpoints", "sd15-pruned-emaonly.safetensors")]
    assert lying.families == ("sdxl",)
    assert lying.family == "SDXL"
    assert entries[("lora", "sdxl-detail-lora.safetensors")].families == ("sd1", "sd2")
    assert entries[("lora", "sdxl-detail-lora.safetensors")].family == "SD1.x or SD2.x"
    misplaced = entries[("checkpoints", "my-model.safetensors")]
    assert misplaced.families == ()
    assert misplaced.note is not None and "LoRA" in misplaced.note


def test_fits_marks_only_a_known_mismatch(entries: dict[tuple[str, str], ModelEntry]) -> None:
    xl_lora = entries[("lora", "sdxl-demo-lora.safetensors")]
    assert xl_lora.fits("sdxl") and not xl_lora.fits("sd1")
    assert entries[("lora", "sd1-demo-lora.safetensors")].fits("sd2")
    assert entries[("vae", "sd-vae")].fits("sd1")  # no family: never marked
    assert xl_lora.fits(None)


def test_lora_widths_and_metadata_decide_sd1_from_sd2(tmp_path: Path) -> None:
    key = "lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn2_to_k"
    for width, family in ((768, "sd1"), (1024, "sd2"), (2048, "sdxl")):
        path = tmp_path / f"w{width}.safetensors"
        tensors = {f"{key}.lora_down.weight": np.zeros((4, width), np.float16)}
        tensors[f"{key}.lora_up.weight"] = np.zeros((320, 4), np.float16)
        save_file(tensors, str(path))
        assert read_facts("lora", path).families == (family,)
    assert family_from_metadata({"ss_base_model_version": "sd_v1"}) == "sd1"
    assert family_from_metadata({"ss_base_model_version": "sd_2.1"}) == "sd2"
    assert family_from_metadata({"ss_base_model_version": "sdxl_base_v1-0"}) == "sdxl"
    assert family_from_metadata({"modelspec.architecture": "stable-diffusion-v2-768-v/lora"}) == (
        "sd2"
    )
    assert family_from_metadata({}) is None


def test_kohya_metadata_gives_tags_trigger_words_and_resolution(
    demo_sd15: DemoPaths, tmp_path: Path
) -> None:
    folder = tmp_path / "models" / "loras"
    folder.mkdir(parents=True)
    path = folder / "corgi.safetensors"
    frequency = {"10_sks corgi": {"dog": 12, "corgi": 30, " grass": 3}, "5_park": {"dog": 20}}
    metadata = {
        "ss_tag_frequency": json.dumps(frequency),
        "ss_base_model_version": "sd_v1",
        "ss_resolution": "(512, 512)",
    }
    save_file(load_file(str(demo_sd15.lora)), str(path), metadata=metadata)
    (folder / "corgi.preview.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    [entry] = scan([tmp_path / "models"], ("lora",))
    assert entry.families == ("sd1",)  # ambiguous by shape, decided by the metadata
    assert entry.base_model == "sd_v1"
    assert entry.resolution == "512×512"
    assert entry.tags == ("dog", "corgi", "grass")
    assert entry.trigger_words == ("sks corgi", "park")
    assert entry.preview == folder / "corgi.preview.png"
    assert entry.matches("corgi sd1") and entry.matches("GRASS") and not entry.matches("cat")
    spec = {"modelspec.trigger_phrase": "zxc style, painterly", "modelspec.tags": "art"}
    save_file(load_file(str(demo_sd15.lora)), str(path), metadata=spec)
    [entry] = scan([tmp_path / "models"], ("lora",))
    assert entry.trigger_words == ("zxc style", "painterly")
    assert entry.tags == ("art",)


def test_preview_names_beside_a_model(tmp_path: Path) -> None:
    model = tmp_path / "m.safetensors"
    model.write_bytes(b"x")
    assert model_catalog.find_preview(model) is None
    (tmp_path / "m.png").write_bytes(b"p")
    assert model_catalog.find_preview(model) == tmp_path / "m.png"
    (tmp_path / "m.preview.png").write_bytes(b"p")
    assert model_catalog.find_preview(model) == tmp_path / "m.preview.png"


def test_hash_is_cached_by_file_version_across_sessions(tmp_path: Path) -> None:
    folder = tmp_path / "models" / "checkpoints"
    folder.mkdir(parents=True)
    path = folder / "a.ckpt"
    path.write_bytes(os.urandom(4096))
    [entry] = scan([tmp_path / "models"], ("checkpoints",))
    assert entry.sha256 is None and entry.families == ()  # a pickle: no header to read
    hashed = hash_entry(entry)
    assert hashed.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    fingerprint.forget_hashes()  # a new session: the digest comes from the disk cache
    assert describe("checkpoints", "a.ckpt", path) == hashed
    path.write_bytes(os.urandom(4096))
    stamp = path.stat().st_mtime_ns + 10**9
    os.utime(path, ns=(stamp, stamp))
    changed = describe("checkpoints", "a.ckpt", path)
    assert changed is not None and changed.sha256 is None  # a new version is not trusted


def test_unreadable_files_have_empty_facts(tmp_path: Path) -> None:
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"\xff" * 8 + b"{}")
    for kind in model_catalog.KINDS:
        assert read_facts(kind, bad).families == ()
    huge = tmp_path / "huge.safetensors"
    huge.write_bytes((10**12).to_bytes(8, "little"))
    assert read_facts("checkpoints", huge).precision is None


def test_the_catalogue_imports_no_torch() -> None:
    code = (
        "import sys, nodes.catalog.listing, nodes.cli.models; "
        "print(sorted(m for m in ('torch', 'diffusers', 'safetensors', 'PySide6') "
        "if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"


def test_a_cancelled_hash_caches_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import threading

    monkeypatch.setattr(fingerprint, "_CHUNK", 1024)
    path = tmp_path / "big.ckpt"
    path.write_bytes(os.urandom(8 * 1024))
    entry = describe("checkpoints", "big.ckpt", path)
    assert entry is not None
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(model_catalog.HashCancelled):
        hash_entry(entry, cancel)
    assert fingerprint.known_sha256(path) is None
    assert hash_entry(entry).sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
