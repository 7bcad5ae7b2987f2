"""Advice on the common mistakes (nodes.advice.rules): each rule fires on the case it is for
and stays silent on its neighbours; model facts come from headers; silencing per node
(saved with the workflow) and everywhere; the shipped templates give no advice."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from nodes.advice import Advice
from nodes.advice.model_facts import DeviceMemory, checkpoint_facts, few_step_name
from nodes.advice.prompts import leading_filler, prompt_tokens, word_pieces
from nodes.advice.rules import SILENCED_KEY, AdviceContext
from nodes.graph import Graph
from nodes.library import load_builtin_nodes
from nodes.models.demo import DemoPaths
from nodes.models.detect import detect
from nodes.paths import resources_dir
from nodes.registry import Registry
from nodes.validation import review
from nodes.workflow import from_dict, load_file, to_dict

REGISTRY = load_builtin_nodes(Registry())
QUIET_MEMORY = AdviceContext(memory=lambda _device: None)
LONG_PROMPT = (
    "a lighthouse on a cliff at sunset, oil painting, warm light, crashing waves below, "
    "seagulls circling the lantern room, a small red boat in the harbour, fishermen "
    "mending nets on the pier, storm clouds gathering over the horizon, rays of light "
    "through the clouds, wet rocks glistening, moss on the old stones, a winding path "
    "up the hill, wildflowers in the grass, a cottage with a smoking chimney, laundry "
    "on a line, a dog running along the beach"
)
"""Over 75 word pieces, so over 75 tokens even by the lower bound."""


def template(name: str, **params: Any) -> Graph:
    """A shipped workflow with ``node__param=value`` params set."""
    graph = load_file(resources_dir() / "workflows" / f"{name}.json", REGISTRY)
    for key, value in params.items():
        node_id, _, param = key.partition("__")
        graph.nodes[node_id].params[param] = value
    return graph


def advice(graph: Graph, context: AdviceContext = QUIET_MEMORY) -> list[Advice]:
    return review(graph, context=context).advice


def rules(graph: Graph, context: AdviceContext = QUIET_MEMORY) -> set[str]:
    return {a.rule for a in advice(graph, context)}


def one(graph: Graph, rule_id: str, context: AdviceContext = QUIET_MEMORY) -> Advice:
    found = [a for a in advice(graph, context) if a.rule == rule_id]
    assert len(found) == 1, found
    return found[0]


def lcm_lora(tmp_path: Path, demo: DemoPaths) -> str:
    path = tmp_path / "lcm-lora-sdv1-5.safetensors"
    shutil.copy(demo.lora, path)
    return str(path)


# ---------------------------------------------------------------- steps and cfg
def test_cfg_1_5_is_fine_with_an_lcm_lora_and_advice_on_plain_sd15(
    tmp_path: Path, demo_sd15: DemoPaths
) -> None:
    lora = template(
        "lora",
        checkpoint__path=str(demo_sd15.single_file),
        lora__path=lcm_lora(tmp_path, demo_sd15),
    )
    lora.nodes["sampler"].params.update(cfg=1.5, steps=6)
    assert rules(lora) == set()

    plain = template("txt2img", checkpoint__path=str(demo_sd15.single_file), sampler__cfg=1.5)
    low = one(plain, "cfg.low")
    assert (low.node_id, low.field, low.fix) == ("sampler", "cfg", {"cfg": 7.0})
    assert "ignore the prompt" in low.message and low.why


def test_four_steps_are_fine_with_lcm_and_advice_with_euler() -> None:
    assert rules(template("lcm", sampler__steps=4)) == set()
    euler = one(template("txt2img", sampler__steps=4), "steps.low")
    assert (euler.node_id, euler.field, euler.fix) == ("sampler", "steps", {"steps": 20})
    assert euler.message.startswith("4 steps is likely blurry")


def test_steps_ranges() -> None:
    assert one(template("txt2img", sampler__steps=60), "steps.high").fix == {"steps": 30}
    for fine in (10, 20, 30, 50):
        assert rules(template("txt2img", sampler__steps=fine)) == set()
    few = one(template("lcm", sampler__steps=25), "steps.few_high")
    assert "lcm sampler" in few.message and few.fix == {"steps": 6}
    assert rules(template("lcm", sampler__steps=1)) == set()


def test_cfg_ranges() -> None:
    high = one(template("txt2img", sampler__cfg=25.0), "cfg.high")
    assert high.fix == {"cfg": 7.0} and "oversaturated" in high.message
    for fine in (3.0, 7.0, 12.0):
        assert rules(template("txt2img", sampler__cfg=fine)) == set()
    assert one(template("lcm", sampler__cfg=7.0), "cfg.few_high").fix == {"cfg": 1.5}
    assert rules(template("lcm", sampler__cfg=1.0)) == set()


def test_trailing_timesteps_and_turbo_checkpoints_are_few_step(
    tmp_path: Path, demo_sdxl: DemoPaths
) -> None:
    graph = template("txt2img", sampler__steps=1, sampler__cfg=1.0)
    graph.nodes["scheduler"].params["timestep_spacing"] = "trailing"
    assert rules(graph) == set()
    turbo = tmp_path / "sd_xl_turbo_1.0_fp16.safetensors"
    shutil.copy(demo_sdxl.single_file, turbo)
    graph = template(
        "sdxl_txt2img", checkpoint__path=str(turbo), sampler__steps=1, sampler__cfg=1.0
    )
    graph.nodes["latent"].params.update(width=512, height=512)  # SDXL-Turbo's own size
    found = rules(graph)
    assert not found & {"steps.low", "cfg.low"}
    assert (
        "Turbo checkpoint"
        in one(
            template("sdxl_txt2img", checkpoint__path=str(turbo), sampler__cfg=7.0), "cfg.few_high"
        ).message
    )


def test_few_step_names() -> None:
    assert few_step_name("models/lcm-lora-sdv1-5.safetensors") == "LCM"
    assert few_step_name("sd_xl_turbo_1.0_fp16.safetensors") == "Turbo"
    assert few_step_name("sdxl_lightning_4step_lora.safetensors") == "Lightning"
    assert few_step_name("Hyper-SDXL-8steps-lora.safetensors") == "Hyper-SD"
    assert few_step_name("realvisxlV40_v40LightningBakedvae.safetensors") == "Lightning"
    for ordinary in (
        "v1-5-pruned-emaonly.safetensors",
        "hyperRealism_v3.safetensors",
        "sd_xl_base_1.0.safetensors",
        "disturbo.safetensors",
    ):
        assert few_step_name(ordinary) is None, ordinary


# ---------------------------------------------------------------- prompts
def test_a_prompt_over_75_tokens_is_advice_a_short_one_is_not() -> None:
    graph = template("txt2img")
    graph.nodes["positive"].params["text"] = LONG_PROMPT
    long = one(graph, "prompt.long")
    assert (long.node_id, long.field) == ("positive", "text")
    assert "chunks" in long.message and long.fix is None
    assert rules(template("txt2img")) == set()
    graph.nodes["positive"].params["text"] = "blurry, " * 60  # a long negative is not judged
    graph.nodes["negative"].params["text"] = LONG_PROMPT
    graph.nodes["positive"].params["text"] = "a lighthouse"
    assert rules(graph) == set()


def test_the_token_count_is_exact_once_the_tokenizer_is_ready() -> None:
    lower = prompt_tokens(LONG_PROMPT)
    exact = prompt_tokens(LONG_PROMPT, load_tokenizer=True)
    from nodes.tokens import exact_count

    assert exact.exact and exact.count == exact_count(LONG_PROMPT)
    assert lower.count <= exact.count  # the word pieces never exceed the tokens
    assert word_pieces("(masterpiece:1.2), 8k") == 4  # masterpiece , 8 k
    assert word_pieces("embedding:style a cat") == 2  # the embedding is not a word piece


def test_filler_first_is_advice_subject_first_is_not() -> None:
    filler = "masterpiece, best quality, ultra detailed, 8k, highly detailed, a lighthouse"
    graph = template("txt2img", positive__text=filler)
    order = one(graph, "prompt.order")
    assert "subject and style first" in order.message and "masterpiece" in order.message
    for fine in (
        "a lighthouse on a cliff, masterpiece, best quality, ultra detailed, 8k",
        "masterpiece, best quality",  # nothing comes after: there is nothing to move up
        "masterpiece, oil painting of a lighthouse",  # a style word comes second
    ):
        assert rules(template("txt2img", positive__text=fine)) == set(), fine
    opening = "A very beautiful image of a cat"
    assert leading_filler(opening) == (6, ["a", "very", "beautiful", "image", "of", "a"], True)
    assert rules(template("txt2img", positive__text=opening)) == set()  # under 8 words


# ---------------------------------------------------------------- sizes
def test_sdxl_at_1024_is_fine_at_512_is_advice(demo_sdxl: DemoPaths) -> None:
    for path in (demo_sdxl.single_file, demo_sdxl.folder):
        graph = template("sdxl_txt2img", checkpoint__path=str(path))
        assert rules(graph) == set()
        graph.nodes["latent"].params.update(width=512, height=512)
        size = one(graph, "size.pixels")
        assert (size.node_id, size.field) == ("latent", "width")
        assert size.fix == {"width": 1024, "height": 1024}
        assert "SDXL's native 1024×1024" in size.message and "blurry" in size.message


def test_sd15_sizes(demo_sd15: DemoPaths) -> None:
    path = str(demo_sd15.single_file)
    for fine in ((512, 512), (768, 512), (512, 680), (384, 384)):
        graph = template("txt2img", checkpoint__path=path)
        graph.nodes["latent"].params.update(width=fine[0], height=fine[1])
        assert rules(graph) == set(), fine
    graph = template("txt2img", checkpoint__path=path)
    graph.nodes["latent"].params.update(width=1024, height=1024)
    big = one(graph, "size.pixels")
    assert "duplicated subjects" in big.message and big.fix == {"width": 512, "height": 512}


def test_sd2_v_models_are_native_at_768(demo_sd21: DemoPaths) -> None:
    graph = template("txt2img", checkpoint__path=str(demo_sd21.single_file))
    assert one(graph, "size.pixels").fix == {"width": 768, "height": 768}
    graph.nodes["latent"].params.update(width=768, height=768)
    assert rules(graph) == set()


def test_sdxl_sides_prefer_multiples_of_64(demo_sdxl: DemoPaths) -> None:
    graph = template("sdxl_txt2img", checkpoint__path=str(demo_sdxl.single_file))
    graph.nodes["latent"].params.update(width=1000, height=1024)
    for node in ("positive", "negative"):
        graph.nodes[node].params.update(target_width=1000, target_height=1024)
    multiple = one(graph, "size.multiple")
    assert multiple.fix == {"width": 1024, "height": 1024} and multiple.field == "width"


def test_an_unknown_family_keeps_the_size_rules_quiet(tmp_path: Path) -> None:
    for path in ("", str(tmp_path / "missing.safetensors"), str(tmp_path / "old.ckpt")):
        graph = template("txt2img", checkpoint__path=path)
        graph.nodes["latent"].params.update(width=2048, height=2048)
        assert rules(graph) == set(), path


def test_sdxl_conditioning_size_that_disagrees_with_the_latent(demo_sdxl: DemoPaths) -> None:
    graph = template("sdxl_txt2img", checkpoint__path=str(demo_sdxl.single_file))
    graph.nodes["latent"].params.update(width=896, height=1152)
    found = [a for a in advice(graph) if a.rule == "size.sdxl_conditioning"]
    assert [(a.node_id, a.field) for a in found] == [
        ("positive", "target_width"),
        ("negative", "target_width"),
    ]
    assert found[0].fix == {"target_width": 896, "target_height": 1152}
    assert "1024×1024" in found[0].message and "896×1152" in found[0].message
    for node in ("positive", "negative"):
        graph.nodes[node].params.update(target_width=896, target_height=1152)
    assert rules(graph) == set()

    plain = template("txt2img", checkpoint__path=str(demo_sdxl.single_file))
    plain.nodes["latent"].params.update(width=896, height=1152)
    texts = [a for a in advice(plain) if a.rule == "size.sdxl_conditioning"]
    assert {a.node_id for a in texts} == {"positive", "negative"}
    assert all(a.fix is None for a in texts)
    plain.nodes["latent"].params.update(width=1024, height=1024)
    assert rules(plain) == set()


# ---------------------------------------------------------------- denoise and memory
def test_img2img_denoise_that_changes_nothing() -> None:
    graph = template("img2img", sampler__denoise=0.02)
    none = one(graph, "denoise.none")
    assert none.fix == {"denoise": 0.5} and none.field == "denoise"
    assert rules(template("img2img", sampler__denoise=0.3, sampler__steps=25)) == set()
    assert "denoise.none" in rules(template("img2img", sampler__denoise=0.06, sampler__steps=10))
    assert rules(template("txt2img", sampler__denoise=0.02)) == set()  # not image to image


def test_a_batch_that_will_not_fit_the_device(demo_sd15: DemoPaths) -> None:
    path = str(demo_sd15.single_file)
    parameters = checkpoint_facts(demo_sd15.single_file).parameters
    assert parameters
    per_image = 3 * 1024 * 512 * 512  # fp16 on a GPU
    small = DeviceMemory(parameters * 2 + 3 * per_image + 1, "GPU test", True)
    context = AdviceContext(memory=lambda _device: small)
    graph = template("txt2img", checkpoint__path=path, latent__batch_size=8)
    memory = one(graph, "batch.memory", context)
    assert memory.fix == {"batch_size": 3} and memory.field == "batch_size"
    assert "estimate" in memory.message and "GPU test" in memory.message
    assert rules(template("txt2img", checkpoint__path=path, latent__batch_size=3), context) == set()
    assert rules(template("txt2img", checkpoint__path=path, latent__batch_size=1), context) == set()
    cpu = AdviceContext(memory=lambda _device: DeviceMemory(small.total, "system RAM", False))
    assert one(
        template("txt2img", checkpoint__path=path, latent__batch_size=8), "batch.memory", cpu
    ).fix == {"batch_size": 1}  # fp32 on the CPU: twice the bytes


def test_the_real_device_memory_is_read_without_torch() -> None:
    from nodes.advice.model_facts import device_memory, system_ram

    ram = system_ram()
    assert ram is not None and ram > 2**28
    cpu = device_memory("cpu")
    assert cpu is not None and cpu.name == "system RAM" and not cpu.gpu


# ---------------------------------------------------------------- model facts
@pytest.mark.parametrize("which", ["demo_sd15", "demo_sd21", "demo_sdxl"])
def test_header_facts_agree_with_detection(which: str, request: pytest.FixtureRequest) -> None:
    demo: DemoPaths = request.getfixturevalue(which)
    for path in (demo.single_file, demo.folder):
        facts = checkpoint_facts(path)
        detected = detect(path)
        assert facts.family is detected.family
        assert facts.prediction == detected.prediction
    assert checkpoint_facts(demo.single_file, "epsilon").prediction == "epsilon"


def test_unreadable_files_are_unknown(tmp_path: Path) -> None:
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"\xff" * 64)
    for path in (bad, tmp_path / "missing.safetensors", tmp_path):
        assert checkpoint_facts(path).family is None


# ---------------------------------------------------------------- scope and silencing
def test_a_scratch_sampler_gets_only_the_scratch_advice() -> None:
    graph = template("txt2img", sampler__cfg=25.0)
    graph.disconnect("decode", "latent")
    assert {a.rule for a in advice(graph)} == {"scratch"}


def test_silenced_per_node_survives_save_and_reload_and_globally() -> None:
    graph = template("txt2img", sampler__cfg=25.0, sampler__steps=4)
    assert rules(graph) == {"cfg.high", "steps.low"}
    graph.nodes["sampler"].extra[SILENCED_KEY] = ["cfg.high"]
    assert rules(graph) == {"steps.low"}
    reopened = from_dict(to_dict(graph), REGISTRY)
    assert reopened.nodes["sampler"].extra[SILENCED_KEY] == ["cfg.high"]
    assert rules(reopened) == {"steps.low"}
    reopened.nodes["sampler"].extra[SILENCED_KEY] = ["cfg", "steps"]  # a prefix silences all
    assert rules(reopened) == set()
    everywhere = AdviceContext(silenced=frozenset({"steps.low"}), memory=lambda _d: None)
    assert rules(template("txt2img", sampler__steps=4), everywhere) == set()
    graph.nodes["sampler"].extra[SILENCED_KEY] = "cfg.high"  # malformed: ignored
    assert rules(graph) == {"cfg.high", "steps.low"}


def test_advice_never_blocks_a_run_or_changes_a_value() -> None:
    graph = template("txt2img", sampler__cfg=25.0)
    before = to_dict(graph)
    findings = review(graph)
    assert "cfg.high" in {a.rule for a in findings.advice}
    assert findings.ok == (not review(graph, rules=False).errors)
    assert to_dict(graph) == before
    assert {a.rule for a in review(graph, rules=False).advice} == set()


def test_the_issue_example_sdxl_at_512x384_2_steps_cfg_25_long_prompt(
    demo_sdxl: DemoPaths,
) -> None:
    graph = template(
        "sdxl_txt2img",
        checkpoint__path=str(demo_sdxl.single_file),
        sampler__steps=2,
        sampler__cfg=25.0,
        positive__text=LONG_PROMPT,
    )
    graph.nodes["latent"].params.update(width=512, height=384)
    found = rules(graph)
    assert {"steps.low", "cfg.high", "prompt.long", "size.pixels"} <= found
    assert one(graph, "size.pixels").fix == {"width": 1152, "height": 896}


# ---------------------------------------------------------------- the templates
def test_the_shipped_templates_give_no_advice(demo_sd15: DemoPaths, demo_sdxl: DemoPaths) -> None:
    for file in sorted((resources_dir() / "workflows").glob("*.json")):
        graph = load_file(file, REGISTRY)
        assert advice(graph) == [], file.name
        demo = demo_sdxl if "sdxl" in file.stem else demo_sd15
        for data in graph.nodes.values():
            if data.type == "loaders.checkpoint":
                data.params["path"] = str(demo.single_file)
        assert advice(graph) == [], f"{file.name} with the {demo.family} demo model"
