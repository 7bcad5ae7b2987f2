"""Suite-wide settings: one torch thread, offscreen Qt, and no writes to the user's home."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch):
    """Settings, autosave and default outputs go to a temp folder, never the real home."""
    home = tmp_path_factory.mktemp("daguerre-home")
    monkeypatch.setenv("DAGUERRE_HOME", str(home))
    monkeypatch.delenv("DAGUERRE_MODELS", raising=False)
    return home
