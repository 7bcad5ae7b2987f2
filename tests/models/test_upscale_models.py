"""Upscale model files read through spandrel (`nodes.models.upscale`): the layouts users
have, the demo model's layout, and every way a file can be wrong."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import torch

from nodes.models.demo_upscale import demo_upscale_state_dict, make_demo_upscale_model
from nodes.models.errors import ModelError
from nodes.models.upscale import SPANDREL_REQUIREMENT, import_spandrel, load_upscale_model
from nodes.paths import resources_dir
from tests.upscale_fixtures import USER_FILES, compact, esrgan, real_esrgan_layout, write_user_file

CPU = torch.device("cpu")
ROOT = resources_dir().parent


def _load(path: Path, dtype: torch.dtype = torch.float32):
    return load_upscale_model(path, device=CPU, dtype=dtype)


@pytest.mark.parametrize("name", sorted(USER_FILES))
def test_user_files_load_as_their_architecture_and_compute_the_same(
    name: str, tmp_path: Path
) -> None:
    architecture, scale, _, _ = USER_FILES[name]
    path, module = write_user_file(tmp_path, name)
    model = _load(path)
    assert (model.architecture, model.scale) == (architecture, scale)
    assert (model.input_channels, model.output_channels) == (3, 3)
    assert model.describe().startswith(f"{architecture} {scale}×")
    image = torch.rand(1, 3, 20, 24)
    with torch.inference_mode():
        expected = module(image).clamp(0, 1)
        got = model.descriptor(image)
    assert got.shape == (1, 3, 20 * scale, 24 * scale)
    assert torch.equal(got, expected)


def test_real_esrgan_names_are_the_published_layout(tmp_path: Path) -> None:
    names = set(real_esrgan_layout(esrgan(), 1))
    assert {
        "conv_first.weight",
        "body.0.rdb1.conv1.weight",
        "body.0.rdb3.conv5.bias",
        "conv_body.weight",
        "conv_up1.weight",
        "conv_up2.weight",
        "conv_hr.weight",
        "conv_last.weight",
    } <= names


def test_prefixed_state_dicts_load(tmp_path: Path) -> None:
    """DataParallel's ``module.`` prefix, as ComfyUI strips it."""
    module = compact()
    path = tmp_path / "dp.pth"
    torch.save({f"module.{k}": v for k, v in module.state_dict().items()}, path)
    assert _load(path).architecture == "Compact"


def test_the_ema_weights_are_preferred_over_the_raw_ones(tmp_path: Path) -> None:
    """Real-ESRGAN's training saves both; the published weights are ``params_ema``."""
    raw, ema = compact(), compact()
    with torch.no_grad():
        for tensor in ema.parameters():
            tensor.mul_(0.5)
    path = tmp_path / "both.pth"
    torch.save({"params": raw.state_dict(), "params_ema": ema.state_dict()}, path)
    loaded = _load(path).descriptor.model.state_dict()
    assert all(torch.equal(loaded[k], v) for k, v in ema.state_dict().items())


def test_fp16_is_kept_only_where_the_architecture_supports_it(tmp_path: Path) -> None:
    path, _ = write_user_file(tmp_path, "realesr-general-x4v3.pth")
    assert _load(path, torch.float16).dtype == torch.float16
    assert _load(path, torch.bfloat16).dtype == torch.bfloat16


def test_demo_model_has_the_layout_of_spandrels_compact_class(tmp_path: Path) -> None:
    ours = {k: tuple(v.shape) for k, v in demo_upscale_state_dict().items()}
    theirs = {k: tuple(v.shape) for k, v in compact(convs=2, features=8).state_dict().items()}
    assert ours == theirs
    model = _load(make_demo_upscale_model(tmp_path))
    assert (model.architecture, model.scale, model.tags) == ("Compact", 4, ("8nf", "2nc"))


def test_demo_model_upscales_like_a_nearest_enlargement_with_texture(tmp_path: Path) -> None:
    model = _load(make_demo_upscale_model(tmp_path))
    image = torch.rand(1, 3, 16, 16)
    nearest = torch.nn.functional.interpolate(image, scale_factor=4, mode="nearest")
    difference = (model.descriptor(image) - nearest).abs()
    assert 0 < difference.max().item() < 0.1


# ----------------------------------------------------------------- errors
def _message(path: Path) -> str:
    with pytest.raises(ModelError) as caught:
        _load(path)
    return str(caught.value)


def test_tensors_of_no_known_architecture(tmp_path: Path) -> None:
    from safetensors.torch import save_file

    path = tmp_path / "weights.safetensors"
    save_file({"encoder.weight": torch.zeros(4, 4), "decoder.bias": torch.zeros(4)}, str(path))
    message = _message(path)
    assert "weights.safetensors is not an upscale model spandrel knows" in message
    assert "2 tensors" in message and "encoder.weight" in message


def test_a_known_architecture_with_tensors_that_do_not_fit(tmp_path: Path) -> None:
    state = dict(esrgan().state_dict())
    state["model.0.weight"] = torch.zeros(8, 3, 5, 5)  # a 5×5 kernel where 3×3 belongs
    path = tmp_path / "broken.pth"
    torch.save(state, path)
    message = _message(path)
    assert "broken.pth looks like a ESRGAN model but its tensors do not fit" in message


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("cut.safetensors", b"\x08\x00\x00\x00\x00\x00\x00\x00{", "not a readable .safetensors"),
        ("noise.pth", os.urandom(64), "noise.pth is not a readable PyTorch file"),
        ("empty.pth", b"", "empty.pth is not a readable PyTorch file"),
        ("model.onnx", b"onnx", "not an upscale model file type Daguerre reads"),
    ],
)
def test_unreadable_files(tmp_path: Path, name: str, content: bytes, expected: str) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    assert expected in _message(path)


class _Trap:
    """Unpickling this would create the marker file: ``weights_only`` must refuse it."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):  # type: ignore[override]
        return (Path.touch, (self.marker,))


def test_pickled_code_is_refused_without_running_it(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    path = tmp_path / "trap.pth"
    torch.save({"params": compact().state_dict(), "trap": _Trap(marker)}, path)
    message = _message(path)
    assert "holds Python objects besides tensors" in message
    assert not marker.exists()


def test_a_file_without_tensors(tmp_path: Path) -> None:
    path = tmp_path / "numbers.pth"
    torch.save({"epoch": 3, "lr": 0.1}, path)
    assert "numbers.pth holds no tensors" in _message(path)


def test_missing_file_and_folder(tmp_path: Path) -> None:
    assert "not found" in _message(tmp_path / "nothing.pth")
    assert "is a folder" in _message(tmp_path)


def test_missing_spandrel_is_a_clear_model_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "spandrel", None)  # what an absent package looks like
    with pytest.raises(ModelError) as caught:
        import_spandrel()
    assert f"pip install {SPANDREL_REQUIREMENT}" in str(caught.value)


def test_a_torchvision_that_cannot_load_is_a_clear_model_error(tmp_path: Path) -> None:
    """In a fresh interpreter without the tests' stand-in: a torchvision that cannot be
    imported (here: made absent) gives a message naming it, not a traceback."""
    path = make_demo_upscale_model(tmp_path)
    script = (
        "import sys\n"
        "sys.modules['torchvision'] = None\n"
        "import torch\n"
        "from nodes.models.errors import ModelError\n"
        "from nodes.models.upscale import load_upscale_model\n"
        "try:\n"
        f"    load_upscale_model({str(path)!r}, device=torch.device('cpu'), dtype=torch.float32)\n"
        "except ModelError as exc:\n"
        "    print('ModelError:', exc)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        check=False,
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("ModelError: upscale models need spandrel, which needs a "), (
        done.stdout
    )
    assert "torchvision" in done.stdout and "Traceback" not in done.stderr


def test_the_spandrel_pin_is_the_one_installed_and_declared() -> None:
    from importlib.metadata import version

    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    declared = [
        spec
        for specs in pyproject["project"]["optional-dependencies"].values()
        for spec in specs
        if spec.startswith("spandrel")
    ]
    assert declared == [SPANDREL_REQUIREMENT]
    assert SPANDREL_REQUIREMENT in (ROOT / "Makefile").read_text(encoding="utf-8")
    assert f"spandrel=={version('spandrel')}" == SPANDREL_REQUIREMENT
