"""The Load LoRA node end to end: exact against a checkpoint merged offline, no lasting change
to the shared models, caching, chaining, both file formats, and errors on the path field."""

from __future__ import annotations

import json
import os
import shutil
from typing import TYPE_CHECKING

import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file

from nodes.diffusion.device import model_cache
from nodes.events import RunStatus
from nodes.executor import Executor
from nodes.models.demo import kohya_lora, kohya_names
from nodes.models.loading import load_checkpoint
from tests.diffusion.conftest import tiny

if TYPE_CHECKING:
    from pathlib import Path

    from nodes.graph import Graph
    from nodes.models.demo import DemoPaths

TOLERANCE = 1e-5


def image(executor: Executor, graph: Graph) -> np.ndarray:
    outcome = executor.run(graph, capture=("decode",))
    assert outcome.status is RunStatus.DONE, outcome.problems
    return outcome.values["decode"][0].numpy()


def lora_graph(workflow, demo: DemoPaths, lora: Path, unet: float = 1.0, clip: float = 1.0):
    return workflow(
        "lora",
        tiny(
            demo.folder,
            **{"lora.path": str(lora), "lora.strength_unet": unet, "lora.strength_clip": clip},
        ),
    )


def with_lora(graph: Graph, node: str, after: str, path: Path, strength: float) -> Graph:
    """Insert a Load LoRA node between `after` and the UNet/CLIP users that `after` feeds."""
    graph.add_node(
        "loaders.lora",
        id=node,
        params={"path": str(path), "strength_unet": strength, "strength_clip": strength},
    )
    users = [(link.target, link.input) for link in graph.links if link.source == after]
    users = [(t, i) for t, i in users if i in ("unet", "clip")]
    graph.connect(after, "unet", node, "unet")
    graph.connect(after, "clip", node, "clip")
    for target, port in users:
        graph.connect(node, port, target, port)
    return graph


def merged_folder(demo: DemoPaths, loras: list[tuple[Path, float, float]], out: Path) -> Path:
    """The demo folder with kohya LoRAs (path, UNet strength, text-encoder strength) merged
    into its weights offline, saved as float32.

    The math is written out here, from the kohya file itself and the names the demo wrote
    it with: W ← W0 + strength · alpha/rank · (up @ down) in float32, LoRA by LoRA.
    """
    loaded = load_checkpoint(demo.folder)
    models = [loaded.unet, *loaded.text_encoders]
    names = kohya_names(loaded.unet, loaded.text_encoders, demo.family)
    merged: dict[tuple[int, str], torch.Tensor] = {}
    for path, unet_strength, clip_strength in loras:
        state = load_file(path)
        for (index, module), name in names.items():
            if name + ".lora_down.weight" not in state:
                continue
            strength = clip_strength if index else unet_strength
            down, up = state[name + ".lora_down.weight"], state[name + ".lora_up.weight"]
            scale = float(state[name + ".alpha"]) / down.shape[0]
            weight = models[index].get_submodule(module).weight
            assert isinstance(weight, torch.Tensor)
            product = up.float().reshape(up.shape[0], -1) @ down.float().reshape(down.shape[0], -1)
            base = merged.get((index, module), weight.detach().float())
            merged[(index, module)] = base + (product * (strength * scale)).reshape(weight.shape)
    assert merged
    with torch.no_grad():
        for (index, module), value in merged.items():
            models[index].get_submodule(module).weight.copy_(value)
    shutil.copytree(demo.folder, out)
    loaded.unet.save_pretrained(out / "unet", safe_serialization=True)
    for index, encoder in enumerate(loaded.text_encoders):
        encoder.save_pretrained(
            out / ("text_encoder" if index == 0 else f"text_encoder_{index + 1}")
        )
    return out


def test_strength_zero_is_the_plain_model_and_a_lora_changes_the_image(
    demo_sd15, executor, workflow
) -> None:
    plain = image(executor, workflow("txt2img", tiny(demo_sd15.folder)))
    off = image(executor, lora_graph(workflow, demo_sd15, demo_sd15.lora, 0.0, 0.0))
    assert np.array_equal(off, plain)
    full = image(executor, lora_graph(workflow, demo_sd15, demo_sd15.lora))
    unet_only = image(executor, lora_graph(workflow, demo_sd15, demo_sd15.lora, 1.0, 0.0))
    clip_only = image(executor, lora_graph(workflow, demo_sd15, demo_sd15.lora, 0.0, 1.0))
    for a, b in ((full, plain), (unet_only, plain), (clip_only, plain), (unet_only, clip_only)):
        assert np.abs(a - b).max() > 1e-3


def test_lora_equals_the_checkpoint_merged_offline(demo_sd15, executor, workflow, tmp_path) -> None:
    ours = image(executor, lora_graph(workflow, demo_sd15, demo_sd15.lora, 0.75, 1.25))
    merged = merged_folder(demo_sd15, [(demo_sd15.lora, 0.75, 1.25)], tmp_path / "merged")
    theirs = image(executor, workflow("txt2img", tiny(merged)))
    assert np.abs(ours - theirs).max() <= TOLERANCE


def test_sdxl_lora_equals_the_checkpoint_merged_offline(
    demo_sdxl, executor, workflow, tmp_path
) -> None:
    sizes = {
        f"{node}.{name}": 64
        for node in ("positive", "negative")
        for name in ("width", "height", "target_width", "target_height")
    }
    graph = workflow("sdxl_txt2img", tiny(demo_sdxl.folder, **sizes))
    ours = image(executor, with_lora(graph, "lora", "checkpoint", demo_sdxl.lora, 0.9))
    merged = merged_folder(demo_sdxl, [(demo_sdxl.lora, 0.9, 0.9)], tmp_path / "merged")
    theirs = image(executor, workflow("sdxl_txt2img", tiny(merged, **sizes)))
    plain = image(executor, workflow("sdxl_txt2img", tiny(demo_sdxl.folder, **sizes)))
    assert np.abs(ours - theirs).max() <= TOLERANCE
    assert np.abs(ours - plain).max() > 1e-3


def test_two_chained_loras_equal_both_merged(demo_sd15, executor, workflow, tmp_path) -> None:
    """The second LoRA changes convolutions (LoCon) and feed-forward layers, and a layer
    the first one changes too; -0.6 subtracts it."""
    loaded = load_checkpoint(demo_sd15.folder)
    state = kohya_lora(
        loaded.unet,
        loaded.text_encoders,
        "sd15",
        seed=3,
        pattern=r"(resnets\.\d+\.conv1|ff\.net\.2|attn1\.to_q|mlp\.fc1)$",
    )
    second = tmp_path / "second.safetensors"
    save_file(state, str(second))
    graph = lora_graph(workflow, demo_sd15, demo_sd15.lora, 0.8, 0.8)
    ours = image(executor, with_lora(graph, "lora_2", "lora", second, -0.6))
    merged = merged_folder(
        demo_sd15, [(demo_sd15.lora, 0.8, 0.8), (second, -0.6, -0.6)], tmp_path / "m"
    )
    theirs = image(executor, workflow("txt2img", tiny(merged)))
    assert np.abs(ours - theirs).max() <= TOLERANCE


def test_diffusers_format_gives_the_kohya_image(demo_sd15, executor, workflow, tmp_path) -> None:
    loaded = load_checkpoint(demo_sd15.folder)
    names = kohya_names(loaded.unet, loaded.text_encoders, "sd15")
    kohya = load_file(demo_sd15.lora)
    peft = {}
    for (index, module), name in names.items():
        if name + ".lora_down.weight" in kohya:
            prefix = "unet." if index == 0 else "text_encoder.text_model."
            peft[f"{prefix}{module}.lora_A.weight"] = kohya[name + ".lora_down.weight"]
            peft[f"{prefix}{module}.lora_B.weight"] = kohya[name + ".lora_up.weight"]
    assert len(peft) == len(kohya) // 3 * 2
    path = tmp_path / "pytorch_lora_weights.safetensors"
    alphas = json.dumps({"unet.lora_alpha": 2.0, "text_encoder.lora_alpha": 2.0})
    save_file(peft, str(path), metadata={"lora_adapter_metadata": alphas})
    ours = image(executor, lora_graph(workflow, demo_sd15, path))
    theirs = image(executor, lora_graph(workflow, demo_sd15, demo_sd15.lora))
    assert np.array_equal(ours, theirs)


def test_weights_are_restored_and_only_the_lora_branch_reruns(
    demo_sd15, executor, workflow
) -> None:
    # Own output cache, the session's model cache: every run below really computes.
    fresh = Executor(env=executor.env)
    plain_graph = workflow("txt2img", tiny(demo_sd15.folder, **{"sampler.seed": 99}))
    plain = image(fresh, plain_graph)
    loads = model_cache(executor.env).loads
    graph = workflow(
        "lora", tiny(demo_sd15.folder, **{"sampler.seed": 99, "lora.path": str(demo_sd15.lora)})
    )
    first = fresh.run(graph, capture=("decode", "checkpoint"))
    assert first.status is RunStatus.DONE, first.problems
    unet = first.values["checkpoint"][0].module
    before = {k: v.clone() for k, v in unet.state_dict().items()}

    graph.set_param("lora", "strength_unet", 0.5)
    again = fresh.run(graph, capture=("decode",))
    assert again.status is RunStatus.DONE, again.problems
    cached = {node: report.cached for node, report in again.nodes.items()}
    assert cached["checkpoint"] and cached["latent"] and cached["scheduler"]
    assert not cached["lora"] and not cached["positive"] and not cached["sampler"]
    assert model_cache(executor.env).loads == loads  # the checkpoint never reloaded
    lora_images = [o.values["decode"][0].numpy() for o in (first, again)]
    assert np.abs(lora_images[0] - lora_images[1]).max() > 1e-3

    after = unet.state_dict()
    assert all(torch.equal(after[k], before[k]) for k in before)
    fresh.cache.clear()
    assert np.array_equal(image(fresh, plain_graph), plain)


def _not_a_lora(demo: DemoPaths, tmp_path: Path) -> Path:
    path = tmp_path / "random.safetensors"
    save_file({f"layer{i}.weight": torch.randn(4, 4) for i in range(5)}, str(path))
    return path


def _truncated(demo: DemoPaths, tmp_path: Path) -> Path:
    path = tmp_path / "half.safetensors"
    data = demo.lora.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda demo, tmp, xl: xl.lora, "is a LoRA for SDXL"),
        (lambda demo, tmp, xl: _not_a_lora(demo, tmp), "random.safetensors is not a LoRA"),
        (lambda demo, tmp, xl: _truncated(demo, tmp), "truncated"),
    ],
    ids=["sdxl-lora-on-sd15", "not-a-lora", "truncated"],
)
def test_bad_lora_files_fail_on_the_path_field(
    make, message: str, demo_sd15, demo_sdxl, executor, workflow, tmp_path
) -> None:
    path = make(demo_sd15, tmp_path, demo_sdxl)
    outcome = executor.run(lora_graph(workflow, demo_sd15, path))
    assert outcome.status is RunStatus.FAILED
    (problem,) = outcome.problems
    assert (problem.node_id, problem.field) == ("lora", "path")
    assert message in problem.message


def test_replacing_the_lora_file_reruns_the_lora_node(
    demo_sd15, executor, workflow, tmp_path
) -> None:
    path = tmp_path / "mine.safetensors"
    shutil.copyfile(demo_sd15.lora, path)
    graph = lora_graph(workflow, demo_sd15, path)
    first = image(executor, graph)
    state = load_file(path)
    inverted = {k: -v if k.endswith(".lora_up.weight") else v for k, v in state.items()}
    save_file(inverted, str(path))  # same name, same size: only the contents and mtime differ
    stamp = path.stat().st_mtime_ns + 10**9
    os.utime(path, ns=(stamp, stamp))
    outcome = executor.run(graph, capture=("decode",))
    assert outcome.status is RunStatus.DONE, outcome.problems
    assert not outcome.nodes["lora"].cached and outcome.nodes["checkpoint"].cached
    second = outcome.values["decode"][0].numpy()
    assert np.abs(first - second).max() > 1e-3
    # the same as the original file at strength -1
    assert (
        np.abs(
            second - image(executor, lora_graph(workflow, demo_sd15, demo_sd15.lora, -1.0, -1.0))
        ).max()
        <= TOLERANCE
    )


def test_the_node_declaration(registry) -> None:
    cls = registry.get("loaders.lora")
    assert (cls.title, cls.category) == ("Load LoRA", "loaders")
    assert [(i.name, i.type.value) for i in cls.inputs] == [("unet", "UNET"), ("clip", "CLIP")]
    assert [(o.name, o.type.value) for o in cls.outputs] == [("unet", "UNET"), ("clip", "CLIP")]
    path, *strengths = cls.params
    assert (path.name, path.file_kind) == ("path", "lora")
    for param, name in zip(strengths, ("strength_unet", "strength_clip"), strict=True):
        assert (param.name, param.default, param.min, param.max, param.step) == (
            name,
            1.0,
            -10.0,
            10.0,
            0.05,
        )
    assert "LoRA" in cls.description()


def test_one_graph_samples_with_and_without_the_lora(demo_sd15, executor, workflow) -> None:
    """The same cached checkpoint feeds a LoRA branch and a plain branch in one run."""
    graph = lora_graph(workflow, demo_sd15, demo_sd15.lora)
    for node in ("positive", "negative", "sampler", "decode"):
        data = graph.node(node)
        graph.add_node(data.type, id=f"plain_{node}", params=dict(data.params))
    for link in list(graph.links):
        if link.target in ("positive", "negative", "sampler", "decode"):
            source = link.source
            if source in ("positive", "negative", "sampler"):
                source = f"plain_{source}"
            elif source == "lora":
                source = "checkpoint"
            graph.connect(source, link.output, f"plain_{link.target}", link.input)
    # Fresh output caches (the session's models): every image below is really computed.
    outcome = Executor(env=executor.env).run(
        graph, targets=("plain_decode", "decode"), capture=("decode", "plain_decode")
    )
    assert outcome.status is RunStatus.DONE, outcome.problems
    assert not any(report.cached for report in outcome.nodes.values())
    with_lora = image(Executor(env=executor.env), lora_graph(workflow, demo_sd15, demo_sd15.lora))
    plain = image(Executor(env=executor.env), workflow("txt2img", tiny(demo_sd15.folder)))
    assert np.array_equal(outcome.values["decode"][0].numpy(), with_lora)
    assert np.array_equal(outcome.values["plain_decode"][0].numpy(), plain)
    assert not np.array_equal(with_lora, plain)
