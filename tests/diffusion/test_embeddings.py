"""Textual-inversion embeddings (``embedding:NAME``): parity with diffusers'
``load_textual_inversion`` and its pipelines (CPU, fp32, one thread, demo models), the
file formats (A1111 ``.pt`` and ``.safetensors``, SDXL's ``clip_l``/``clip_g``, diffusers'
``learned_embeds.bin``), unknown and unusable embeddings reported on the text node's
``text`` field, and token counts that include the vectors."""

from __future__ import annotations

import copy
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

from nodes.catalog.embeddings import embedding_names, find_embedding, vector_count
from nodes.context import Environment
from nodes.events import RunStatus
from nodes.executor import Executor
from nodes.models.embeddings import load_embedding
from nodes.models.errors import ModelError
from nodes.models.tokenizer import clip_tokenizer
from nodes.paths import FileFinder
from nodes.tokens import tokenize
from nodes.validation import validate
from tests.diffusion.clip_helpers import (
    PROMPT,
    TOLERANCE,
    reference,
    run,
    sd_pipeline,
    sdxl_overrides,
    sdxl_pipeline,
)
from tests.diffusion.conftest import tiny

WIDTH = 32
"""The demo models' text-encoder width."""


def _vectors(count: int, seed: int, width: int = WIDTH) -> torch.Tensor:
    return torch.randn(count, width, generator=torch.Generator().manual_seed(seed))


def write_a1111_pt(path: Path, vectors: torch.Tensor) -> Path:
    """An embedding as A1111 saves it (``string_to_param``, a Parameter, training facts)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    data = {
        "string_to_token": {"*": 265},
        "string_to_param": {"*": torch.nn.Parameter(vectors.clone())},
        "name": path.stem,
        "step": 1500,
        "sd_checkpoint": "a9263745",
        "sd_checkpoint_name": "v1-5-pruned",
    }
    torch.save(data, path)
    return path


def write_safetensors(path: Path, **tensors: torch.Tensor) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file({k: v.contiguous() for k, v in tensors.items()}, str(path))
    return path


@pytest.fixture
def models(tmp_path: Path) -> Path:
    return tmp_path / "models"


@pytest.fixture
def finder_executor(models: Path, tmp_path: Path) -> Executor:
    """An executor that finds embeddings in ``models/embeddings/``, as the app does."""
    return Executor(env=Environment(output_dir=tmp_path / "out", resolve_file=FileFinder([models])))


def test_sd15_embedding_matches_load_textual_inversion(
    demo_sd15, models, workflow, tmp_path
) -> None:
    vectors = _vectors(3, seed=1)
    path = write_a1111_pt(models / "embeddings" / "lumen.pt", vectors)
    executor = Executor(env=Environment(output_dir=tmp_path, resolve_file=FileFinder([models])))
    text = "a lighthouse on a cliff at sunset, embedding:lumen oil painting, warm light"
    graph = workflow("txt2img", tiny(demo_sd15.single_file, **{"positive.text": text}))
    ours, outcome = run(executor, graph, "positive")
    words = text.replace("embedding:lumen ", "")
    assert outcome.values["positive"][0].tokens == tokenize(clip_tokenizer(), words).count + 3

    clip = outcome.values["checkpoint"][1]
    encoder, tokenizer = copy.deepcopy(clip.encoders[0]), copy.deepcopy(clip.tokenizers[0])
    pipe = sd_pipeline(outcome, text_encoder=encoder, tokenizer=tokenizer)
    pipe.load_textual_inversion(str(path), token="<lumen>")
    theirs = reference(pipe, text.replace("embedding:lumen", "<lumen>"))
    assert np.abs(ours - theirs).max() <= TOLERANCE
    plain, _ = run(executor, workflow("txt2img", tiny(demo_sd15.single_file)))
    assert np.abs(ours - plain).max() > 1e-3


def test_sdxl_embedding_fills_both_encoders_as_diffusers(
    demo_sdxl, models, workflow, tmp_path
) -> None:
    """An SDXL file's clip_l vectors go to the first encoder and clip_g to the second."""
    clip_l, clip_g = _vectors(2, seed=2), _vectors(2, seed=3)
    write_safetensors(
        models / "embeddings" / "xl" / "glow.safetensors", clip_l=clip_l, clip_g=clip_g
    )
    executor = Executor(env=Environment(output_dir=tmp_path, resolve_file=FileFinder([models])))
    text = PROMPT.replace("oil painting", "embedding:xl/glow, oil painting")
    ours, outcome = run(
        executor,
        workflow("sdxl_txt2img", sdxl_overrides(demo_sdxl.single_file, **{"positive.text": text})),
    )
    clip = outcome.values["checkpoint"][1]
    parts = {
        "text_encoder": copy.deepcopy(clip.encoders[0]),
        "text_encoder_2": copy.deepcopy(clip.encoders[1]),
        "tokenizer": copy.deepcopy(clip.tokenizers[0]),
        "tokenizer_2": copy.deepcopy(clip.tokenizers[1]),
    }
    # SDXL's published configs keep transformers' legacy eos_token_id (2), with which it
    # reads the pooled embedding at the highest token id: an added token, not the end
    # ("can't work correctly with extra new tokens added", transformers says). ComfyUI and
    # Daguerre read it at the end token; the copy is given the real end token id.
    encoder_2 = parts["text_encoder_2"]
    getattr(encoder_2, "text_model", encoder_2).eos_token_id = clip.tokenizers[1].eos_token_id
    pipe = sdxl_pipeline(outcome, **parts)
    pipe.load_textual_inversion(
        clip_l, token="<glow>", text_encoder=pipe.text_encoder, tokenizer=pipe.tokenizer
    )
    pipe.load_textual_inversion(
        clip_g, token="<glow>", text_encoder=pipe.text_encoder_2, tokenizer=pipe.tokenizer_2
    )
    theirs = reference(pipe, text.replace("embedding:xl/glow", "<glow>"), cfg=6.0)
    assert np.abs(ours - theirs).max() <= TOLERANCE


def test_every_file_format_reads_to_the_same_vectors(tmp_path: Path) -> None:
    vectors = _vectors(4, seed=4)
    files = {
        "a1111.pt": write_a1111_pt(tmp_path / "a1111.pt", vectors),
        "a1111.safetensors": write_safetensors(tmp_path / "a1111.safetensors", emb_params=vectors),
        "diffusers.safetensors": write_safetensors(
            tmp_path / "diffusers.safetensors", **{"<cat>": vectors}
        ),
    }
    bin_path = tmp_path / "learned_embeds.bin"
    torch.save({"<cat-toy>": vectors[0].clone()}, bin_path)  # diffusers: one 1-D vector
    for name, path in files.items():
        embedding = load_embedding(path, name)
        assert torch.equal(embedding.vectors[""], vectors), name
        assert embedding.count == vector_count(path) == 4, name
    single = load_embedding(bin_path, "cat-toy")
    assert torch.equal(single.vectors[""], vectors[0]) and single.count == 1
    assert vector_count(bin_path) == 1
    sdxl = write_safetensors(tmp_path / "xl.safetensors", clip_l=vectors, clip_g=_vectors(4, 5, 48))
    assert load_embedding(sdxl, "xl").count == vector_count(sdxl) == 4


def test_files_that_are_not_embeddings_are_refused(tmp_path: Path) -> None:
    class Payload:
        def __reduce__(self):
            return (print, ("ran code from a file",))

    code = tmp_path / "code.pt"
    code.write_bytes(b"")
    torch.save({"string_to_param": {"*": torch.zeros(1, WIDTH)}, "x": Payload()}, code)
    with pytest.raises(ModelError, match="Python objects besides tensors"):
        load_embedding(code, "code")
    assert vector_count(code) is None  # the torch-free reader refuses the class too
    empty = write_safetensors(tmp_path / "empty.safetensors", a=torch.zeros(2, 3), b=torch.zeros(3))
    with pytest.raises(ModelError, match="holds no textual-inversion embedding"):
        load_embedding(empty, "empty")
    damaged = tmp_path / "damaged.safetensors"
    damaged.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json")
    with pytest.raises(ModelError, match="not a readable"):
        load_embedding(damaged, "damaged")
    assert vector_count(damaged) is None
    nan = write_safetensors(
        tmp_path / "nan.safetensors", emb_params=torch.full((1, 4), float("nan"))
    )
    with pytest.raises(ModelError, match="NaN"):
        load_embedding(nan, "nan")
    assert pickle.HIGHEST_PROTOCOL  # the pickle module stays importable for torch


def test_an_unknown_embedding_is_an_error_on_the_text_field(
    demo_sd15, models, workflow, tmp_path
) -> None:
    (models / "embeddings").mkdir(parents=True)
    finder = FileFinder([models])
    text = "a photo of embedding:nowhere, (embedding:neither:1.2)"
    graph = workflow("txt2img", tiny(demo_sd15.single_file, **{"positive.text": text}))
    problems = [p for p in validate(graph, finder) if p.node_id == "positive"]
    assert [(p.field, p.message.split(":")[0]) for p in problems] == [
        ("text", "unknown embedding 'nowhere'"),
        ("text", "unknown embedding 'neither'"),
    ]
    assert "embeddings folder" in problems[0].message

    # linked text (known only when the graph runs) fails the node on the same field
    graph.add_node("primitive.string", id="words", params={"value": text})
    graph.connect("words", "value", "positive", "text")
    assert not [p for p in validate(graph, finder) if p.node_id == "positive"]
    outcome = Executor(env=Environment(output_dir=tmp_path, resolve_file=finder)).run(graph)
    assert outcome.status is RunStatus.FAILED
    assert [(p.node_id, p.field) for p in outcome.problems] == [("positive", "text")]
    assert "unknown embedding 'nowhere'" in outcome.problems[0].message


def test_an_embedding_for_another_family_is_an_error_on_the_text_field(
    demo_sd15, models, workflow, tmp_path
) -> None:
    write_safetensors(models / "embeddings" / "wide.safetensors", emb_params=_vectors(2, 6, 768))
    graph = workflow("txt2img", tiny(demo_sd15.single_file, **{"positive.text": "embedding:wide"}))
    outcome = Executor(env=Environment(output_dir=tmp_path, resolve_file=FileFinder([models]))).run(
        graph
    )
    assert outcome.status is RunStatus.FAILED
    (problem,) = outcome.problems
    assert (problem.node_id, problem.field) == ("positive", "text")
    assert "768-wide" in problem.message and "32-wide" in problem.message


def test_a_weighted_embedding_moves_only_its_own_tokens(
    demo_sd15, models, workflow, tmp_path
) -> None:
    write_a1111_pt(models / "embeddings" / "lumen.pt", _vectors(2, seed=7))
    executor = Executor(env=Environment(output_dir=tmp_path, resolve_file=FileFinder([models])))

    def encoded(text: str) -> torch.Tensor:
        graph = workflow("txt2img", tiny(demo_sd15.single_file, **{"positive.text": text}))
        outcome = executor.run(graph, targets=["positive"], capture=("positive",))
        assert outcome.status is RunStatus.DONE, outcome.problems
        return outcome.values["positive"][0].embeds

    plain = encoded("a cat, embedding:lumen")
    weighted = encoded("a cat, (embedding:lumen:1.5)")
    empty = encoded("")
    # tokens: <start> a cat , v0 v1 <end>: the vectors sit at positions 4 and 5
    expected = plain.clone()
    expected[:, 4:6] = (plain[:, 4:6] - empty[:, 4:6]) * 1.5 + empty[:, 4:6]
    assert torch.allclose(weighted, expected, atol=1e-6, rtol=0)


def test_token_counts_include_the_vectors(models) -> None:
    from nodes.tokens import exact_count, load_tokenizer

    write_a1111_pt(models / "embeddings" / "lumen.pt", _vectors(5, seed=8))
    finder = FileFinder([models])
    load_tokenizer()
    text = "a photo of embedding:lumen, at dusk"
    assert embedding_names(text) == ["lumen"]
    assert find_embedding(finder, "lumen") == models / "embeddings" / "lumen.pt"
    words = exact_count("a photo of , at dusk")
    assert words is not None and exact_count(text, finder) == words + 5
    assert exact_count("a photo of embedding:missing", finder) == exact_count("a photo of")


def test_replacing_an_embedding_file_re_runs_the_text_node(
    demo_sd15, models, workflow, tmp_path
) -> None:
    path = write_a1111_pt(models / "embeddings" / "lumen.pt", _vectors(2, seed=9))
    executor = Executor(env=Environment(output_dir=tmp_path, resolve_file=FileFinder([models])))
    graph = workflow("txt2img", tiny(demo_sd15.single_file, **{"positive.text": "embedding:lumen"}))

    def encoded() -> tuple[bool, torch.Tensor]:
        outcome = executor.run(graph, targets=["positive"], capture=("positive",))
        assert outcome.status is RunStatus.DONE, outcome.problems
        return outcome.nodes["positive"].cached, outcome.values["positive"][0].embeds

    _, first = encoded()
    cached, again = encoded()
    assert cached and torch.equal(again, first)
    write_a1111_pt(path, _vectors(3, seed=10))  # retrained: another size, another time
    cached, replaced = encoded()
    assert not cached and not torch.equal(replaced, first)
