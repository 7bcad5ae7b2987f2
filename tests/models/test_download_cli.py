"""``daguerre download`` against the fake hub on 127.0.0.1 (``tests/fake_hub.py``)."""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from nodes.cli import main
from nodes.cli.download import format_eta
from nodes.hub.starters import STARTERS
from tests.fake_hub import FakeHub, serve_fake_hub

WEIGHTS = os.urandom(200_000)
SECRET = "hf_cliSecretToken99999"


@pytest.fixture
def hub(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[FakeHub]:
    fake = FakeHub(
        repos={"acme/lora": {"pytorch_lora_weights.safetensors": WEIGHTS}},
        gated={"acme/lora": SECRET},
    )
    with serve_fake_hub(monkeypatch, fake, str(tmp_path / "hf-home")) as served:
        yield served


def test_download_by_id_into_the_kind_folder_with_the_stored_token(
    hub: FakeHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    models = tmp_path / "models"
    source = "acme/lora/pytorch_lora_weights.safetensors"
    assert main(["download", source, "--kind", "lora", "--models", str(models)]) == 1
    assert "gated" in capsys.readouterr().err
    monkeypatch.setattr("sys.stdin", io.StringIO(SECRET + "\n"))
    assert main(["download", "--login"]) == 0
    out = capsys.readouterr().out
    assert "stored" in out and SECRET not in out
    assert main(["download", source, "--kind", "lora", "--models", str(models)]) == 0
    captured = capsys.readouterr()
    target = models / "loras" / "lora.safetensors"
    assert target.read_bytes() == WEIGHTS
    assert str(target) in captured.out
    assert "lora.safetensors 100%" in captured.err
    assert SECRET not in captured.out + captured.err


def test_unreachable_hub_is_one_offline_message(
    hub: FakeHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")  # the discard port: nothing there
    assert main(["download", "acme/lora", "--models", str(tmp_path / "m")]) == 1
    err = capsys.readouterr().err
    assert "you seem to be offline" in err and "Traceback" not in err
    assert not (tmp_path / "m").exists()


def test_list_shows_every_starter_and_bad_sources_are_usage_errors(
    capsys: pytest.CaptureFixture,
) -> None:
    assert main(["download", "--list"]) == 0
    out = capsys.readouterr().out
    for s in STARTERS:
        assert s.key in out and s.link in out and s.licence in out
    assert main(["download", "https://example.com/a/b"]) == 2
    assert "not Hugging Face" in capsys.readouterr().err
    assert main(["download"]) == 2
    assert format_eta(83) == "1:23" and format_eta(3723) == "1:02:03"
