"""Downloads through huggingface_hub from a fake hub on 127.0.0.1 (``tests/fake_hub.py``,
``HF_ENDPOINT`` pointed at it): the right folder and hash, resume, corrupted files
removed, cancel, offline, gated repos and the token; the starter list and source parsing.
Nothing here can reach the real hub (sockets reach loopback only)."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import socket
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from nodes.hub.downloads import (
    AccessError,
    CancelToken,
    CorruptDownload,
    DownloadCancelled,
    DownloadInterrupted,
    DownloadPlan,
    DownloadProgress,
    OfflineError,
    PlanFile,
    download,
    hub_size,
    plan_for_source,
    plan_for_starter,
)
from nodes.hub.sources import Source, SourceError, parse_source, repo_files
from nodes.hub.starters import STARTERS, find_starter, human_size
from nodes.hub.token import mask, resolve_token, save_token, stored_token, token_file
from nodes.paths import list_model_files
from tests.fake_hub import FakeHub, serve_fake_hub

WEIGHTS = os.urandom(300_000) + b"\0" * 200_000  # 500 KB: several chunks
CONFIG = json.dumps({"_class_name": "ControlNetModel"}).encode()


@pytest.fixture
def hub(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[FakeHub]:
    fake = FakeHub(
        repos={
            "acme/lora": {"pytorch_lora_weights.safetensors": WEIGHTS, "README.md": b"# hi"},
            "acme/net": {
                "config.json": CONFIG,
                "diffusion_pytorch_model.fp16.safetensors": WEIGHTS,
                "diffusion_pytorch_model.bin": b"x" * 10,
            },
            "acme/gated": {"model.safetensors": WEIGHTS},
        },
        gated={"acme/gated": "hf_secretTOKEN0123456789"},
    )
    with serve_fake_hub(monkeypatch, fake, str(tmp_path / "hf-home")) as served:
        yield served


def lora_plan() -> DownloadPlan:
    return DownloadPlan(
        "acme/lora", "lora", (PlanFile("pytorch_lora_weights.safetensors", "fast.safetensors"),)
    )


def leftovers(models: Path) -> list[str]:
    return sorted(p.relative_to(models).as_posix() for p in models.rglob("*") if p.is_file())


def test_a_download_lands_in_the_kind_folder_with_the_hubs_hash(
    hub: FakeHub, tmp_path: Path
) -> None:
    models = tmp_path / "models"
    events: list[DownloadProgress] = []
    result = download(lora_plan(), models, on_progress=events.append)
    target = models / "loras" / "fast.safetensors"
    assert result.destination == target
    assert hashlib.sha256(target.read_bytes()).hexdigest() == hashlib.sha256(WEIGHTS).hexdigest()
    assert result.downloaded == len(WEIGHTS)
    assert leftovers(models) == ["loras/fast.safetensors"]  # no part file left
    assert list_model_files("lora", [models]) == ["fast.safetensors"]
    assert events[-1].done == events[-1].total == len(WEIGHTS)
    assert events[-1].fraction == 1.0
    assert all(e.speed >= 0 for e in events)
    assert hub_size(lora_plan()) == len(WEIGHTS)  # what the dialog shows, asked of the hub
    # a second download finds it there and transfers nothing
    gets = len(hub.gets("pytorch_lora_weights.safetensors"))
    again = download(lora_plan(), models)
    assert again.already_there and again.downloaded == 0
    assert len(hub.gets("pytorch_lora_weights.safetensors")) == gets


def test_a_diffusers_folder_is_renamed_into_place_when_every_file_checks_out(
    hub: FakeHub, tmp_path: Path
) -> None:
    models = tmp_path / "models"
    starter = find_starter("controlnet-canny-sd15")
    assert starter is not None
    plan = plan_for_starter(starter)
    plan = DownloadPlan("acme/net", plan.kind, plan.files, "canny", plan.revision)
    download(plan, models)
    folder = models / "controlnet" / "canny"
    assert (folder / "config.json").read_bytes() == CONFIG  # checked by its git blob sha1
    assert (folder / "diffusion_pytorch_model.safetensors").read_bytes() == WEIGHTS
    assert leftovers(models) == [
        "controlnet/canny/config.json",
        "controlnet/canny/diffusion_pytorch_model.safetensors",
    ]
    assert list_model_files("controlnet", [models]) == ["canny"]


def test_a_whole_repo_by_id_lists_it_and_takes_one_copy_of_the_weights(
    hub: FakeHub, tmp_path: Path
) -> None:
    plan = plan_for_source(parse_source("acme/net"), "controlnet")
    assert plan.folder == "net"
    assert [f.path for f in plan.files] == [
        "config.json",
        "diffusion_pytorch_model.fp16.safetensors",
    ]
    download(plan, tmp_path / "models")
    assert (tmp_path / "models/controlnet/net/config.json").is_file()


def test_an_interrupted_transfer_resumes_where_it_broke_off(hub: FakeHub, tmp_path: Path) -> None:
    models = tmp_path / "models"
    hub.drop_after = 131_072
    hub.fail_after_drop = 1  # huggingface_hub's own retry meets a failing server: the try ends
    with pytest.raises(DownloadInterrupted, match="run it again to resume"):
        download(lora_plan(), models)
    assert not (models / "loras" / "fast.safetensors").exists()
    parts = [p for p in (models / "loras").iterdir()]
    assert len(parts) == 1 and parts[0].name.startswith(".fast.safetensors.")
    assert parts[0].stat().st_size == 131_072
    assert list_model_files("lora", [models]) == []  # never listed half-written
    result = download(lora_plan(), models)
    assert result.downloaded == len(WEIGHTS) - 131_072
    assert (models / "loras" / "fast.safetensors").read_bytes() == WEIGHTS
    assert hub.gets("pytorch_lora_weights.safetensors")[-1].range == "bytes=131072-"
    assert leftovers(models) == ["loras/fast.safetensors"]


def test_a_dropped_connection_is_resumed_within_the_same_download(
    hub: FakeHub, tmp_path: Path
) -> None:
    hub.drop_after = 196_608
    download(lora_plan(), tmp_path / "models")
    assert (tmp_path / "models/loras/fast.safetensors").read_bytes() == WEIGHTS
    assert [g.range for g in hub.gets("pytorch_lora_weights.safetensors")] == [
        None,
        "bytes=196608-",
    ]


def test_a_corrupted_file_is_rejected_and_removed(hub: FakeHub, tmp_path: Path) -> None:
    models = tmp_path / "models"
    hub.corrupt.add("pytorch_lora_weights.safetensors")
    with pytest.raises(CorruptDownload, match=r"fast\.safetensors .*corrupted \(sha256"):
        download(lora_plan(), models)
    assert leftovers(models) == []


def test_a_corrupted_resumed_part_is_rejected_too(hub: FakeHub, tmp_path: Path) -> None:
    """Bytes already on disk are part of the check: a bad part file is not trusted."""
    models = tmp_path / "models"
    hub.drop_after = 65_536
    hub.fail_after_drop = 1
    with pytest.raises(DownloadInterrupted):
        download(lora_plan(), models)
    (part,) = (models / "loras").iterdir()
    part.write_bytes(b"\1" * 65_536)
    with pytest.raises(CorruptDownload):
        download(lora_plan(), models)
    assert leftovers(models) == []


def test_cancel_leaves_nothing_behind(hub: FakeHub, tmp_path: Path) -> None:
    models = tmp_path / "models"
    token = CancelToken()
    hub.chunk_delay = 0.05

    def progress(event: DownloadProgress) -> None:
        if event.done > 100_000:
            token.cancel()

    with pytest.raises(DownloadCancelled):
        download(lora_plan(), models, cancel=token, on_progress=progress)
    assert leftovers(models) == []


def test_cancel_of_a_folder_removes_its_finished_files_and_earlier_parts(
    hub: FakeHub, tmp_path: Path
) -> None:
    models = tmp_path / "models"
    plan = plan_for_source(parse_source("acme/net"), "controlnet")
    hub.drop_after = 65_536  # an earlier try left a part file
    hub.fail_after_drop = 1
    with pytest.raises(DownloadInterrupted):
        download(plan, models)
    assert leftovers(models)  # config.json done, weights part kept for resuming
    token = CancelToken()
    token.cancel()
    with pytest.raises(DownloadCancelled):
        download(plan, models, cancel=token)
    assert leftovers(models) == []
    assert [p.name for p in (models / "controlnet").iterdir()] == []


def test_an_unreachable_endpoint_gives_the_offline_message(
    hub: FakeHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    free = socket.socket()
    free.bind(("127.0.0.1", 0))
    port = free.getsockname()[1]
    free.close()  # nothing listens there now
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{port}")
    models = tmp_path / "models"
    with pytest.raises(OfflineError, match="you seem to be offline") as caught:
        download(lora_plan(), models)
    assert "Nothing was written" in str(caught.value)
    assert "\n" not in str(caught.value)
    assert not models.exists()
    with pytest.raises(OfflineError):
        plan_for_source(parse_source("acme/net"), "controlnet")


def test_offline_mode_says_so(hub: FakeHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    import huggingface_hub.constants as hf_constants

    monkeypatch.setattr(hf_constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(OfflineError, match="HF_HUB_OFFLINE"):
        download(lora_plan(), tmp_path / "models")


def test_a_gated_repo_needs_the_token_which_is_never_logged(
    hub: FakeHub,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    secret = hub.gated["acme/gated"]
    plan = plan_for_source(parse_source("acme/gated/model.safetensors"), "checkpoints")
    assert plan.files[0].save_as == "gated.safetensors"  # a generic name takes the repo's
    with pytest.raises(AccessError, match="gated"):
        download(plan, tmp_path / "models")
    caplog.set_level(logging.DEBUG)
    download(plan, tmp_path / "models", token=secret)
    assert (tmp_path / "models/checkpoints/gated.safetensors").read_bytes() == WEIGHTS
    assert hub.gets("model.safetensors")[-1].authorization == f"Bearer {secret}"
    out, err = capfd.readouterr()
    assert secret not in out + err + caplog.text
    with pytest.raises(AccessError) as wrong:
        download(plan, tmp_path / "other", token="hf_wrongwrongwrong00")
    assert "hf_wrong" not in str(wrong.value)


def test_the_token_is_stored_privately_and_preferred_to_huggingface_hubs(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HF_TOKEN", "hf_fromenvironment000")
    assert resolve_token() == "hf_fromenvironment000"
    where = save_token("  hf_pasted0123456789  ")
    assert where == str(token_file())
    assert stat.S_IMODE(token_file().stat().st_mode) == 0o600
    assert stored_token() == "hf_pasted0123456789"
    assert resolve_token() == "hf_pasted0123456789"
    assert resolve_token("hf_given") == "hf_given"
    assert mask("hf_pasted0123456789") == "hf_…6789"
    assert save_token("") == "cleared" and stored_token() is None


def test_the_starter_list_covers_the_families_with_size_licence_and_link() -> None:
    keys = {s.key for s in STARTERS}
    assert {
        "sd15",
        "sdxl",
        "sdxl-refiner",
        "sdxl-turbo",
        "lcm-lora-sd15",
        "lcm-lora-sdxl",
        "controlnet-canny-sd15",
        "controlnet-canny-sdxl",
    } <= keys
    for s in STARTERS:
        assert s.size > 0 and s.licence and s.link == f"https://huggingface.co/{s.repo_id}"
        plan = plan_for_starter(s)
        assert plan.kind in ("checkpoints", "lora", "controlnet")
        assert len({f.save_as for f in plan.files}) == len(plan.files)
    names = [s.destination for s in STARTERS if s.kind == "lora"]
    assert len(set(names)) == len(names)  # the LCM-LoRAs don't share a name
    assert human_size(4_270_000_000, approximate=True) == "≈ 4.3 GB"
    assert human_size(135_000_000) == "135 MB"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("acme/net", Source("acme/net")),
        ("acme/net/sub/w.safetensors", Source("acme/net", "sub/w.safetensors")),
        (
            "https://huggingface.co/acme/net/resolve/v2/w.safetensors?download=true",
            Source("acme/net", "w.safetensors", "v2"),
        ),
        ("https://huggingface.co/acme/net/blob/main/a%20b.pt", Source("acme/net", "a b.pt")),
        ("https://hf.co/acme/net/tree/dev", Source("acme/net", None, "dev")),
        ("https://huggingface.co/acme/net", Source("acme/net")),
    ],
)
def test_sources_from_ids_and_urls(text: str, expected: Source) -> None:
    assert parse_source(text) == expected


@pytest.mark.parametrize(
    "text", ["", "justone", "https://example.com/acme/net", "acme/../x", "acme/net/../../etc"]
)
def test_sources_that_name_nothing_on_the_hub_are_refused(text: str) -> None:
    with pytest.raises(SourceError):
        parse_source(text)


def test_a_diffusers_repo_gets_its_components_once() -> None:
    listing = [
        "model_index.json",
        "v1-5-pruned.safetensors",
        "README.md",
        "unet/config.json",
        "unet/diffusion_pytorch_model.safetensors",
        "unet/diffusion_pytorch_model.fp16.safetensors",
        "unet/diffusion_pytorch_model.bin",
        "text_encoder/model.fp16.safetensors",
        "tokenizer/vocab.json",
        "tokenizer/merges.txt",
        "onnx/unet/model.onnx",
    ]
    assert repo_files(listing) == (
        "model_index.json",
        "text_encoder/model.fp16.safetensors",
        "tokenizer/merges.txt",
        "tokenizer/vocab.json",
        "unet/config.json",
        "unet/diffusion_pytorch_model.safetensors",
    )
