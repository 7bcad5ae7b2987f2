"""``daguerre models``: family, size and precision columns from the headers, ``--json``
with every catalogue field (and the old name lists), ``--hash`` filling cached digests."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import save_file

from nodes import cli
from nodes.models import fingerprint

pytestmark = pytest.mark.usefixtures("_home")

_KEY = "lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn2_to_k"


@pytest.fixture
def models(tmp_path: Path) -> Path:
    """A LoRA for SDXL that says so in its widths (named as if for SD1.5), kohya metadata,
    and a pickled checkpoint whose header cannot be read without unpickling."""
    root = tmp_path / "models"
    (root / "loras").mkdir(parents=True)
    tensors = {f"{_KEY}.lora_down.weight": np.zeros((4, 2048), np.float16)}
    tensors[f"{_KEY}.lora_up.weight"] = np.zeros((320, 4), np.float16)
    frequency = json.dumps({"8_zxc cat": {"cat": 9, "sofa": 2}})
    save_file(
        tensors,
        str(root / "loras" / "sd15-cat.safetensors"),
        metadata={"ss_tag_frequency": frequency, "ss_resolution": "(1024, 1024)"},
    )
    (root / "checkpoints").mkdir()
    (root / "checkpoints" / "old.ckpt").write_bytes(b"PK\x03\x04" + bytes(2000))
    return root


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = cli.main(list(argv))
    return code, capsys.readouterr().out


def test_the_table_shows_family_size_and_precision(
    capsys: pytest.CaptureFixture[str], models: Path
) -> None:
    code, out = _run(capsys, "models", "--models", str(models))
    assert code == 0
    lines = out.splitlines()
    lora = next(line for line in lines if "sd15-cat.safetensors" in line)
    assert lora.split()[1:] == ["SDXL", "19", "KB", "fp16"]
    old = next(line for line in lines if "old.ckpt" in line)
    assert old.split()[1:] == ["-", "2", "KB", "-"]
    assert "lora (1)" in lines and "checkpoints (1)" in lines


def test_json_carries_every_field_and_hash_fills_digests(
    capsys: pytest.CaptureFixture[str], models: Path
) -> None:
    code, out = _run(capsys, "models", "--json", "--models", str(models))
    assert code == 0
    listing = json.loads(out)
    assert listing["models"]["lora"] == ["sd15-cat.safetensors"]
    by_name = {entry["name"]: entry for entry in listing["entries"]}
    lora = by_name["sd15-cat.safetensors"]
    assert lora["kind"] == "lora"
    assert (lora["family"], lora["families"], lora["precision"]) == ("SDXL", ["sdxl"], "fp16")
    assert (lora["trigger_words"], lora["tags"]) == (["zxc cat"], ["cat", "sofa"])
    assert lora["resolution"] == "1024×1024"
    assert lora["size"] == (models / "loras" / "sd15-cat.safetensors").stat().st_size
    assert lora["sha256"] is None and by_name["old.ckpt"]["sha256"] is None

    code, out = _run(capsys, "models", "--json", "--hash", "--models", str(models))
    assert code == 0
    hashed = {entry["name"]: entry["sha256"] for entry in json.loads(out)["entries"]}
    for kind, name in (("loras", "sd15-cat.safetensors"), ("checkpoints", "old.ckpt")):
        data = (models / kind / name).read_bytes()
        assert hashed[name] == hashlib.sha256(data).hexdigest()

    fingerprint.forget_hashes()  # the next command reads them from the cache, unasked
    code, out = _run(capsys, "models", "--json", "--models", str(models))
    assert {e["name"]: e["sha256"] for e in json.loads(out)["entries"]} == hashed


def test_hash_column_and_notes_in_the_table(
    capsys: pytest.CaptureFixture[str], models: Path
) -> None:
    lora = models / "loras" / "sd15-cat.safetensors"
    (models / "checkpoints" / "a-lora.safetensors").write_bytes(lora.read_bytes())
    code, out = _run(capsys, "models", "--hash", "--models", str(models))
    assert code == 0
    digest = hashlib.sha256(lora.read_bytes()).hexdigest()
    row = next(line for line in out.splitlines() if "sd15-cat.safetensors" in line)
    assert row.split() == ["sd15-cat.safetensors", "SDXL", "19", "KB", "fp16", digest]
    assert "note: holds a LoRA, not a checkpoint" in out
