"""Settings › Cluster: the address and worker count are saved on OK; an address that is not
local, auto or ray://HOST:PORT is refused with a message and changes nothing."""

from __future__ import annotations

import pytest
from pytestqt.qtbot import QtBot

from desktop import settings_dialog
from desktop.settings_dialog import SettingsDialog
from nodes.settings import Settings


def test_the_cluster_is_a_setting(qtbot: QtBot) -> None:
    settings = Settings()
    dialog = SettingsDialog(settings)
    qtbot.addWidget(dialog)
    assert dialog.cluster_box.currentText() == "local"
    dialog.cluster_box.setCurrentText("ray://10.0.0.2:10001")
    dialog.workers_spin.setValue(4)
    dialog.accept()
    assert (settings.cluster, settings.cluster_workers) == ("ray://10.0.0.2:10001", 4)
    again = Settings.load()
    assert (again.cluster, again.cluster_workers) == ("ray://10.0.0.2:10001", 4)


def test_a_bad_cluster_address_is_refused(qtbot: QtBot, monkeypatch: pytest.MonkeyPatch) -> None:
    said: list[str] = []
    monkeypatch.setattr(
        settings_dialog.QMessageBox, "warning", lambda _parent, _title, text: said.append(text)
    )
    settings = Settings()
    dialog = SettingsDialog(settings)
    qtbot.addWidget(dialog)
    dialog.cluster_box.setCurrentText("ray://nowhere")
    dialog.accept()
    assert settings.cluster == "local"
    assert said and "ray://HOST:PORT" in said[0]
    assert not Settings.path().exists()


def test_a_bad_cluster_in_the_file_reads_as_local() -> None:
    Settings.path().parent.mkdir(parents=True, exist_ok=True)
    Settings.path().write_text('{"cluster": "gopher://x", "cluster_workers": -3}')
    settings = Settings.load()
    assert (settings.cluster, settings.cluster_workers) == ("local", 0)
