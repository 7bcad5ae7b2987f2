"""Suite-wide settings: one torch thread, offscreen Qt, no network, no writes to the user's
home; and the tiny demo models (built once per session, in both user formats)."""

from __future__ import annotations

import os
import socket
import tempfile
from pathlib import Path

# Before anything imports huggingface_hub: it reads these once, at import.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"
# Hypothesis keeps a cache even with its database off: keep it out of the repository.
os.environ.setdefault(
    "HYPOTHESIS_STORAGE_DIRECTORY", str(Path(tempfile.gettempdir()) / "daguerre-hypothesis")
)

import pytest
import torch

from nodes.models.demo import DemoPaths, make_demo_model

torch.set_num_threads(1)


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch):
    """Settings, autosave and default outputs go to a temp folder, never the real home."""
    home = tmp_path_factory.mktemp("daguerre-home")
    monkeypatch.setenv("DAGUERRE_HOME", str(home))
    monkeypatch.delenv("DAGUERRE_MODELS", raising=False)
    return home


@pytest.fixture(scope="session", autouse=True)
def _no_output_in_the_checkout():
    """A run whose Environment names no output folder writes to ``./output``: a test must
    give it a temp folder, or the suite litters the checkout (an error at the end says so)."""
    folder = Path.cwd() / "output"
    existed = folder.exists()
    yield
    if not existed and folder.exists():
        raise AssertionError(
            f"a test wrote into {folder}: give its Environment an output_dir (tmp_path)"
        )


class NetworkUsed(AssertionError):
    pass


def _refuse(*args: object, **kwargs: object) -> None:
    raise NetworkUsed(f"a test tried to open a network connection: {args!r}")


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Loading must never reach for a model hub: any connection attempt fails the test."""
    monkeypatch.setattr(socket.socket, "connect", _refuse)
    monkeypatch.setattr(socket, "create_connection", _refuse)


@pytest.fixture(scope="session")
def demo_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("demo-models")


def _make(root: Path, family: str) -> DemoPaths:
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(socket.socket, "connect", _refuse)
        return make_demo_model(root, family)


@pytest.fixture(scope="session")
def demo_sd15(demo_root: Path) -> DemoPaths:
    return _make(demo_root, "sd15")


@pytest.fixture(scope="session")
def demo_sd21(demo_root: Path) -> DemoPaths:
    """SD2.x, v-prediction (like SD2.1 768-v)."""
    return _make(demo_root, "sd21")


@pytest.fixture(scope="session")
def demo_sdxl(demo_root: Path) -> DemoPaths:
    return _make(demo_root, "sdxl")
