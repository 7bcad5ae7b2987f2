"""The "Get models" dialog against the fake hub on 127.0.0.1 (``tests/fake_hub.py``): a
starter downloaded from the list with progress, one by URL into the chosen kind, cancel
leaving nothing, the offline message, the token stored and never shown (the window's
File menu and the first-run banner: ``test_get_models_window.py``)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from desktop.get_models import GetModelsDialog
from nodes.hub.starters import STARTERS, find_starter
from nodes.hub.token import stored_token
from nodes.settings import Settings
from tests.fake_hub import FakeHub, serve_fake_hub

WEIGHTS = os.urandom(400_000)
SECRET = "hf_dialogSecret0000000"


@pytest.fixture
def hub(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[FakeHub]:
    fake = FakeHub(
        repos={
            "latent-consistency/lcm-lora-sdv1-5": {"pytorch_lora_weights.safetensors": WEIGHTS},
            "acme/gated": {"vae.safetensors": WEIGHTS},
        },
        gated={"acme/gated": SECRET},
    )
    with serve_fake_hub(monkeypatch, fake, str(tmp_path / "hf-home")) as served:
        yield served


@pytest.fixture
def dialog(qtbot, tmp_path: Path) -> GetModelsDialog:
    settings = Settings(models_dirs=[str(tmp_path / "models")])
    box = GetModelsDialog(settings)
    qtbot.addWidget(box)
    box.show()
    return box


def files_under(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


def test_a_starter_shows_size_licence_and_link_then_downloads(
    qtbot, hub: FakeHub, dialog: GetModelsDialog, tmp_path: Path
) -> None:
    assert dialog.starters.count() == len(STARTERS)
    row = next(i for i, s in enumerate(STARTERS) if s.key == "lcm-lora-sd15")
    dialog.starters.setCurrentRow(row)
    starter = find_starter("lcm-lora-sd15")
    assert starter is not None
    details = dialog.details.text()
    assert starter.licence in details and starter.link in details and "≈ 135 MB" in details
    # the hub's own size replaces the approximate one once it answers
    qtbot.waitUntil(lambda: "400 KB" in dialog.details.text(), timeout=20_000)
    assert dialog.starters.item(row).text().endswith("·  400 KB")
    assert "≈ 4.3 GB" in dialog.starters.item(0).text()  # not on this hub: kept
    progress: list[object] = []
    dialog.worker.progress.connect(progress.append)
    with qtbot.waitSignal(dialog.downloaded, timeout=20_000) as done:
        qtbot.mouseClick(dialog.download_button, Qt.MouseButton.LeftButton)
        assert not dialog.download_button.isEnabled() and dialog.cancel_button.isEnabled()
    target = tmp_path / "models" / "loras" / "lcm-lora-sdv1-5.safetensors"
    assert done.args == [str(target)]
    assert target.read_bytes() == WEIGHTS
    assert progress and dialog.bar.value() == 1000
    assert "Downloaded and checked" in dialog.status.text()
    assert dialog.download_button.isEnabled() and not dialog.cancel_button.isEnabled()


def test_a_url_goes_to_the_chosen_kind_with_the_pasted_token(
    qtbot, hub: FakeHub, dialog: GetModelsDialog, tmp_path: Path
) -> None:
    qtbot.keyClicks(dialog.source, f"{hub.endpoint}/acme/gated/resolve/main/vae.safetensors")
    assert not dialog.starters.isEnabled()
    dialog.kind.setCurrentText("vae")
    with qtbot.waitSignal(dialog.worker.failed, timeout=20_000):
        qtbot.mouseClick(dialog.download_button, Qt.MouseButton.LeftButton)
    assert "gated" in dialog.status.text()
    qtbot.keyClicks(dialog.token, SECRET)
    with qtbot.waitSignal(dialog.downloaded, timeout=20_000):
        qtbot.mouseClick(dialog.download_button, Qt.MouseButton.LeftButton)
    assert (tmp_path / "models" / "vae" / "vae.safetensors").read_bytes() == WEIGHTS
    assert stored_token() == SECRET  # "Remember" is on
    assert dialog.token.text() == ""
    assert SECRET not in dialog.token.placeholderText() + dialog.status.text()


def test_cancel_leaves_nothing_behind(
    qtbot, hub: FakeHub, dialog: GetModelsDialog, tmp_path: Path
) -> None:
    hub.chunk_delay = 0.1
    dialog.starters.setCurrentRow(next(i for i, s in enumerate(STARTERS) if s.kind == "lora"))
    with qtbot.waitSignal(dialog.worker.progress, timeout=20_000):
        qtbot.mouseClick(dialog.download_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: any((tmp_path / "models").rglob("*.part")), timeout=20_000)
    with qtbot.waitSignal(dialog.worker.failed, timeout=20_000) as failed:
        qtbot.mouseClick(dialog.cancel_button, Qt.MouseButton.LeftButton)
    assert failed.args == ["Cancelled: nothing was kept.", True]
    assert files_under(tmp_path / "models") == []


def test_an_unreachable_hub_says_offline(
    qtbot, hub: FakeHub, dialog: GetModelsDialog, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")
    with qtbot.waitSignal(dialog.worker.failed, timeout=20_000):
        qtbot.mouseClick(dialog.download_button, Qt.MouseButton.LeftButton)
    assert "you seem to be offline" in dialog.status.text()
    assert not (tmp_path / "models").exists()
