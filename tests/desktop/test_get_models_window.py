"""The window's ways to models: File › Get Models… and the first-run banner's "Get
models…" show one dialog, a starter downloaded there puts the banner away, and "Use
existing models folder" adds a ComfyUI models folder to the settings."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from desktop.get_models import GetModelsDialog
from nodes.settings import Settings
from tests.desktop.test_get_models import WEIGHTS, hub
from tests.fake_hub import FakeHub

__all__ = ["hub"]  # the fake hub fixture, shared with the dialog's tests


@pytest.fixture
def window(qtbot, monkeypatch: pytest.MonkeyPatch):
    from PySide6.QtWidgets import QMessageBox

    from desktop.app import create_window

    for name in ("question", "warning", "information"):
        monkeypatch.setattr(QMessageBox, name, lambda *a, **k: QMessageBox.StandardButton.Ok)
    win = create_window(ask=False)
    qtbot.addWidget(win)
    win.show()
    yield win
    win.document.undo_stack.setClean()
    win.close()


def test_the_banner_gets_a_starter_and_hides_once_a_checkpoint_is_there(
    qtbot, hub: FakeHub, window
) -> None:
    hub.repos["stable-diffusion-v1-5/stable-diffusion-v1-5"] = {
        "v1-5-pruned-emaonly.safetensors": WEIGHTS
    }
    banner = window.banner
    assert banner.isVisible()
    button = next(b for b in banner.buttons if b.text() == "Get models…")
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    dialog = window.findChild(GetModelsDialog, "getModels")
    assert dialog is not None and dialog.isVisible()
    dialog.close()
    window.actions_by_name["get_models"].trigger()  # File › Get Models… shows the same one
    assert window.findChildren(GetModelsDialog) == [dialog] and dialog.isVisible()
    dialog.starters.setCurrentRow(0)  # SD1.5
    with qtbot.waitSignal(dialog.downloaded, timeout=20_000):
        qtbot.mouseClick(dialog.download_button, Qt.MouseButton.LeftButton)
    target = window.settings.model_dirs()[0] / "checkpoints" / "v1-5-pruned-emaonly.safetensors"
    assert target.read_bytes() == WEIGHTS
    assert not banner.isVisible()


def test_the_banner_uses_a_comfyui_models_folder(qtbot, window, tmp_path: Path) -> None:
    comfy = tmp_path / "ComfyUI"
    (comfy / "models" / "clip").mkdir(parents=True)
    (comfy / "models" / "checkpoints").mkdir()
    (comfy / "models" / "checkpoints" / "mine.safetensors").write_bytes(b"x")
    window.banner.choose_models_folder(str(tmp_path / "nothing"))  # no layout: asked again
    assert window.settings.models_dirs == []
    window.banner.choose_models_folder(str(comfy))
    assert window.settings.models_dirs == [str(comfy / "models")]
    assert Settings.load().models_dirs == [str(comfy / "models")]  # saved
    assert not window.banner.isVisible()
