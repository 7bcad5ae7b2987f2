"""The diffusion nodes through the engine: errors on the right node and field, caching,
previews, cancel, saved files."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import save_file

from nodes.context import CancelToken, Environment
from nodes.events import NodeProgress, NodeResult, RunStatus
from nodes.executor import Executor
from nodes.models.fingerprint import sha256_file
from nodes.validation import validate
from nodes.workflow.png import RECORD_KEY, WORKFLOW_KEY, embedded_workflow, read_png_texts
from tests.diffusion.conftest import tiny


def _where(problems) -> set[tuple]:
    return {(p.node_id, p.field) for p in problems}


def test_missing_file_and_bad_sizes_fail_validation(workflow, tmp_path: Path) -> None:
    graph = workflow(
        "txt2img",
        tiny(
            tmp_path / "nope.safetensors",
            **{
                "latent.width": 68,
                "scheduler.name": "euler_ancestral",
                "scheduler.sigmas": "karras",
            },
        ),
    )
    problems = validate(graph)
    assert _where(problems) == {
        ("checkpoint", "path"),
        ("latent", "width"),
        ("scheduler", "sigmas"),
    }
    messages = {p.field: p.message for p in problems}
    assert "not found" in messages["path"]
    assert "multiple of 8" in messages["width"]
    assert "karras" in messages["sigmas"]


def test_not_a_checkpoint_fails_on_the_loader(workflow, executor, tmp_path: Path) -> None:
    fake = tmp_path / "weights.safetensors"
    save_file({"some.tensor": torch.zeros(3, 3), "other": torch.ones(2)}, fake)
    outcome = executor.run(workflow("txt2img", tiny(fake)))
    assert outcome.status is RunStatus.FAILED
    assert _where(outcome.problems) == {("checkpoint", "path")}
    assert "not a Stable Diffusion checkpoint" in outcome.problems[0].message


def test_truncated_checkpoint_fails_on_the_loader(
    workflow, executor, demo_sd15, tmp_path: Path
) -> None:
    data = demo_sd15.single_file.read_bytes()
    cut = tmp_path / "cut.safetensors"
    cut.write_bytes(data[: len(data) // 2])
    outcome = executor.run(workflow("txt2img", tiny(cut)))
    assert _where(outcome.problems) == {("checkpoint", "path")}
    garbage = tmp_path / "garbage.safetensors"
    garbage.write_bytes(struct.pack("<Q", 10**12) + b"{")
    outcome = executor.run(workflow("txt2img", tiny(garbage)))
    assert _where(outcome.problems) == {("checkpoint", "path")}


def test_controlnet_of_another_family_is_refused(
    workflow, executor, demo_sd15, demo_sdxl, tmp_path: Path
) -> None:
    image = tmp_path / "control.png"
    Image.new("RGB", (64, 64), "white").save(image)
    graph = workflow(
        "controlnet_canny",
        tiny(
            demo_sd15.single_file,
            **{
                "control_image.path": str(image),
                "controlnet.path": str(demo_sdxl.controlnet),
            },
        ),
    )
    outcome = executor.run(graph)
    assert outcome.status is RunStatus.FAILED
    assert _where(outcome.problems) == {("control", "controlnet")}
    assert "SDXL ControlNet" in outcome.problems[0].message


def test_single_file_and_folder_give_the_same_image(workflow, executor, demo_sd15) -> None:
    images = []
    for path in (demo_sd15.single_file, demo_sd15.folder):
        outcome = executor.run(workflow("txt2img", tiny(path)), capture=("decode",))
        assert outcome.status is RunStatus.DONE, outcome.problems
        images.append(outcome.values["decode"][0].numpy())
    assert np.abs(images[0] - images[1]).max() <= 1 / 255


def test_seed_change_reruns_only_sampler_and_after(workflow, executor, demo_sd15) -> None:
    graph = workflow("txt2img", tiny(demo_sd15.single_file))
    executor.run(graph)
    graph.set_param("sampler", "seed", 99)
    outcome = executor.run(graph)
    ran = {n for n, r in outcome.nodes.items() if not r.cached}
    assert ran == {"sampler", "decode", "save"}


def test_previews_arrive_every_step_throttled_and_last(workflow, demo_sd15, tmp_path: Path) -> None:
    executor = Executor(env=Environment(output_dir=tmp_path, preview_interval=0.0))
    events: list = []
    graph = workflow("txt2img", tiny(demo_sd15.single_file, **{"sampler.steps": 3}))
    assert executor.run(graph, emit=events.append).status is RunStatus.DONE
    progress = [e for e in events if isinstance(e, NodeProgress) and e.node_id == "sampler"]
    assert [(e.step, e.total) for e in progress] == [(1, 3), (2, 3), (3, 3)]
    previews = set()
    for event in progress:
        assert event.preview is not None
        assert event.preview.dtype == np.uint8 and event.preview.shape == (8, 8, 3)
        previews.add(event.preview.tobytes())
    assert len(previews) >= 2  # the image develops
    executor = Executor(env=Environment(output_dir=tmp_path, preview_interval=3600))
    events.clear()
    executor.run(graph, emit=events.append)
    shown = [e.step for e in events if isinstance(e, NodeProgress) and e.preview is not None]
    assert shown == [1, 3]  # throttled: the first, then always the last


def test_cancel_stops_within_a_step_and_next_run_works(workflow, executor, demo_sd15) -> None:
    graph = workflow(
        "txt2img", tiny(demo_sd15.single_file, **{"sampler.steps": 10, "sampler.seed": 5})
    )
    token = CancelToken()
    steps: list[int] = []

    def emit(event) -> None:
        if isinstance(event, NodeProgress):
            steps.append(event.step)
            if event.step == 2:
                token.cancel()

    outcome = executor.run(graph, emit=emit, cancel=token)
    assert outcome.status is RunStatus.CANCELLED
    assert steps == [1, 2]
    assert executor.run(graph).status is RunStatus.DONE


def test_saved_png_carries_workflow_and_record(workflow, demo_sd15, tmp_path: Path) -> None:
    executor = Executor(env=Environment(output_dir=tmp_path / "out"))
    graph = workflow("txt2img", tiny(demo_sd15.single_file, **{"save.prefix": "../../escape"}))
    outcome = executor.run(graph)
    (saved,) = (Path(p) for p in outcome.outputs)
    assert saved.parent == tmp_path / "out" and saved.name == "escape_00001.png"
    texts = read_png_texts(saved)
    record = json.loads(texts[RECORD_KEY])
    assert record["samplers"] == [
        {
            "node": "sampler",
            "seed": 1234,
            "steps": 4,
            "cfg": 7.0,
            "denoise": 1.0,
            "scheduler": "euler",
            "sigmas": "default",
        }
    ]
    assert record["models"][0]["sha256"] == sha256_file(demo_sd15.single_file)
    assert record["device"] == "cpu" and record["dtype"] == "fp32"
    assert embedded_workflow(saved)["nodes"]["sampler"]["params"]["seed"] == 1234
    assert WORKFLOW_KEY in texts
    again = executor.run(graph.copy())  # cached: the same file, no new one
    assert again.outputs == outcome.outputs
    graph.set_param("sampler", "seed", 7)
    third = executor.run(graph)
    assert Path(third.outputs[0]).name == "escape_00002.png"


def test_token_count_and_weights(workflow, executor, demo_sd15) -> None:
    events: list = []
    long_prompt = " ".join(["castle"] * 80)
    graph = workflow(
        "txt2img",
        tiny(
            demo_sd15.single_file,
            **{
                "positive.text": long_prompt,
                "negative.text": "(blurry:1.5), low quality",
            },
        ),
    )
    outcome = executor.run(graph, emit=events.append, capture=("positive", "negative"))
    assert outcome.status is RunStatus.DONE, outcome.problems
    texts = {e.node_id: e.text for e in events if isinstance(e, NodeResult) and e.text}
    assert texts["positive"] == "80 tokens (2 chunks of 75)"
    assert texts["negative"] == "4 tokens"
    (positive,) = outcome.values["positive"]
    assert positive.embeds.shape[1] == 154
    plain = workflow(
        "txt2img", tiny(demo_sd15.single_file, **{"negative.text": "blurry, low quality"})
    )
    weighted_one = workflow(
        "txt2img", tiny(demo_sd15.single_file, **{"negative.text": "(blurry:1.0), low quality"})
    )
    a = executor.run(plain, capture=("negative",)).values["negative"][0].embeds
    b = executor.run(weighted_one, capture=("negative",)).values["negative"][0].embeds
    c = outcome.values["negative"][0].embeds
    assert torch.equal(a, b)
    assert not torch.allclose(a, c)


def test_cfg_one_skips_the_negative(workflow, executor, demo_sd15) -> None:
    graph = workflow("txt2img", tiny(demo_sd15.single_file, **{"sampler.cfg": 1.0}))
    with_negative = executor.run(graph, capture=("decode",)).values["decode"][0]
    graph.disconnect("sampler", "negative")
    without = executor.run(graph, capture=("decode",)).values["decode"][0]
    assert torch.equal(with_negative, without)


def test_vae_encode_needs_multiples_of_eight(workflow, executor, demo_sd15, tmp_path: Path) -> None:
    odd = tmp_path / "odd.png"
    Image.new("RGB", (60, 64), "gray").save(odd)
    graph = workflow("img2img", tiny(demo_sd15.single_file, **{"image.path": str(odd)}))
    outcome = executor.run(graph)
    assert _where(outcome.problems) == {("encode", "image")}
    assert "multiples of 8" in outcome.problems[0].message


def test_load_image_alpha_becomes_mask(executor, registry, tmp_path: Path) -> None:
    from nodes.graph import Graph

    rgba = np.zeros((8, 8, 4), dtype=np.uint8)
    rgba[..., 3] = 255
    rgba[:4, :, 3] = 0
    path = tmp_path / "alpha.png"
    Image.fromarray(rgba, "RGBA").save(path)
    graph = Graph(registry)
    graph.add_node("image.load", id="load", params={"path": str(path)})
    graph.add_node("image.preview", id="show")
    graph.connect("load", "image", "show", "image")
    outcome = executor.run(graph, capture=("load",))
    image, mask = outcome.values["load"]
    assert image.shape == (1, 8, 8, 3) and mask.shape == (1, 8, 8)
    assert mask[0, :4].eq(1).all() and mask[0, 4:].eq(0).all()
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"not an image")
    graph.set_param("load", "path", str(bad))
    outcome = executor.run(graph)
    assert _where(outcome.problems) == {("load", "path")}


def test_fp16_nan_decode_is_retried_in_fp32() -> None:
    from nodes.context import NodeContext
    from nodes.diffusion.values import Latent, VaeModel
    from nodes.library.vae import VaeDecode
    from nodes.models.families import SD1

    class FakeVae(torch.nn.Module):
        """Decodes to NaN in half precision, like the SD VAE can at large sizes."""

        def __init__(self) -> None:
            super().__init__()
            self.weight = torch.nn.Parameter(torch.zeros(1, dtype=torch.float16))
            self.config = type(
                "Config", (), {"scaling_factor": 0.18215, "block_out_channels": [1, 1, 1, 1]}
            )()

        @property
        def device(self):
            return self.weight.device

        @property
        def dtype(self):
            return self.weight.dtype

        def decode(self, latents, return_dict=False):
            value = float("nan") if latents.dtype == torch.float16 else 0.5
            return (torch.full((1, 3, 8, 8), value, dtype=latents.dtype),)

    vae = VaeModel(FakeVae(), SD1)
    results: list = []
    ctx = NodeContext(Environment(), 1, "decode", results.append, CancelToken())
    (image,) = VaeDecode().run(ctx, vae=vae, latent=Latent(torch.zeros(1, 4, 1, 1)))
    assert not torch.isnan(image).any()
    assert vae.module.dtype == torch.float16  # put back as it was
    assert any("fp32" in (r.text or "") for r in results)


def test_out_of_memory_becomes_a_node_error_with_advice() -> None:
    from nodes.api import NodeError
    from nodes.library.errors import model_errors

    with pytest.raises(NodeError, match="out of GPU memory") as err, model_errors():
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
    assert "smaller image" in err.value.message


def test_model_cache_is_lru_and_reuses(monkeypatch: pytest.MonkeyPatch) -> None:
    from nodes.diffusion import device as device_module
    from nodes.diffusion.device import ModelCache

    cache = ModelCache(max_models=2)
    loads: list[str] = []

    def loader(name: str):
        return lambda: loads.append(name) or name

    assert cache.get("a", loader("a")) == "a"
    assert cache.get("a", loader("a")) == "a"
    cache.get("b", loader("b"))
    cache.get("a", loader("a"))  # a is now the most recent
    cache.get("c", loader("c"))  # evicts b
    cache.get("a", loader("a"))
    cache.get("b", loader("b"))
    assert loads == ["a", "b", "c", "b"]

    # on CUDA a model that would not fit evicts the least recently used first
    free = {"bytes": 100}
    monkeypatch.setattr(torch.cuda, "mem_get_info", lambda device=None: (free["bytes"], 1000))
    monkeypatch.setattr(device_module, "release_memory", lambda: free.update(bytes=900))
    cache.get("big", loader("big"), device=torch.device("cuda"), size=500)
    assert len(cache) == 2  # one model (the least recently used, a) made room
    cache.get("b", loader("b"))
    cache.get("a", loader("a"))
    assert loads == ["a", "b", "c", "b", "big", "a"]


@pytest.mark.parametrize("prediction", ["epsilon", "v_prediction"])
@pytest.mark.parametrize("name", ["ddim", "euler"])
def test_preview_x0_estimate_matches_the_schedulers_own(name: str, prediction: str) -> None:
    """Our x0 estimate (used for schedulers that don't return one) agrees with the
    schedulers that do, in both latent spaces."""
    from nodes.diffusion.sampling import _current_sigma, estimate_x0, in_sigma_space
    from nodes.diffusion.schedulers import SchedulerRecipe
    from nodes.models.families import SD1

    config = SD1.base_config("scheduler") | {"prediction_type": prediction}
    scheduler = SchedulerRecipe(name).build(config)
    scheduler.set_timesteps(10)
    generator = torch.Generator().manual_seed(0)
    sample = torch.randn(1, 4, 8, 8, generator=generator) * scheduler.init_noise_sigma
    output = torch.randn(1, 4, 8, 8, generator=generator)
    t = scheduler.timesteps[3]
    if name == "euler":
        scheduler._step_index = 3
    sigma = _current_sigma(scheduler)
    ours = estimate_x0(prediction, scheduler, sample, output, t, sigma, in_sigma_space(scheduler))
    theirs = scheduler.step(output, t, sample, return_dict=True).pred_original_sample
    assert ours is not None
    assert torch.allclose(ours, theirs, atol=1e-4)


def test_standalone_vae_loader_decodes_like_the_checkpoint(workflow, executor, demo_sd15) -> None:
    graph = workflow("txt2img", tiny(demo_sd15.single_file))
    own = executor.run(graph, capture=("decode",)).values["decode"][0]
    graph.add_node(
        "loaders.vae", id="vae", params={"path": str(demo_sd15.folder / "vae"), "family": "sd1"}
    )
    graph.connect("vae", "vae", "decode", "vae")
    outcome = executor.run(graph, capture=("decode",))
    assert outcome.status is RunStatus.DONE, outcome.problems
    assert {n for n, r in outcome.nodes.items() if not r.cached} == {"vae", "decode", "save"}
    assert torch.equal(outcome.values["decode"][0], own)
