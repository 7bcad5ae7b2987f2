"""ComfyUI's prompt chunking (the text nodes' ``comfyui`` convention) and CLIPSetLastLayer.

ComfyUI tokenizes each weighted run of text whole and each embedding on its own, and cuts
a group of at least 8 tokens exactly where a 75-token chunk fills; Daguerre's own rule
(``diffusers``, kept as it was) groups by word. The 176-token prompt of ComfyUI's
``controlnet_example`` template gives [75, 75, 26] in ComfyUI and [75, 74, 27] by words:
a different picture (39 dB, at most 15/255 off, measured against ComfyUI), so imported
text nodes get the ``comfyui`` convention.
"""

from __future__ import annotations

import pytest
import torch

from nodes.comfy import export_api, import_api
from nodes.events import RunStatus
from nodes.models.tokenizer import clip_tokenizer
from nodes.tokens import CHUNK, Vector, tokenize

TEMPLATE_PROMPT = (
    "Masterpiece,best quality,high definition,high level of detail,3D,3D style,cute "
    "Q-version,Chibi,a vibrant product photo created for innovative advertising,featuring a "
    "little boy with black hair and a big laugh,Solo,holding a wooden crate,wooden "
    "crate,pasture,blue sky,white clouds,brick paved path,with pleasant houses in the "
    "background,chimneys,big trees,maple leaves,maple trees,and a lot of wheat,wheat,wheat "
    "ears along the roadside,The atmosphere of autumn,yellow grass and leaves,fallen "
    "leaves,fences,barriers,orange and yellow colors,autumn,windows,doors,gravel "
    "roads,captured using a Sony Alpha A7R IV camera with a 35mm f/1.4 lens,aperture set to "
    "f/2.8,shutter speed of 1/100 second,"
)
"""The positive prompt (node 6) of ComfyUI's ``controlnet_example`` template, as published
in comfyui-workflow-templates 0.1.3."""


def _lengths(text: str, convention: str, vectors=None) -> list[int]:
    return [
        len(c)
        for c in tokenize(clip_tokenizer(), text, vectors=vectors, convention=convention).chunks
    ]


def test_the_template_prompt_is_chunked_as_each_program_does() -> None:
    tokens = tokenize(clip_tokenizer(), TEMPLATE_PROMPT, convention="comfyui")
    assert tokens.count == 176
    assert _lengths(TEMPLATE_PROMPT, "comfyui") == [75, 75, 26]
    assert _lengths(TEMPLATE_PROMPT, "diffusers") == [75, 74, 27]
    # ComfyUI tokenizes the run whole: the same tokens as its words end to end
    whole = clip_tokenizer().encode(TEMPLATE_PROMPT, add_special_tokens=False, verbose=False)
    assert [t for chunk in tokens.chunks for t, _ in chunk] == whole


def test_a_weighted_run_is_one_group() -> None:
    words = " ".join(["cat"] * 70)
    # a 6-token run does not fit in the 5 places left: it starts the next chunk whole
    assert _lengths(f"{words} (red green blue pink gold gray:1.2)", "comfyui") == [70, 6]
    assert _lengths(f"{words} (red green blue pink gold gray:1.2)", "diffusers") == [75, 1]
    # a run of 8 or more tokens is cut where the chunk fills
    run = "(" + " ".join(["dog"] * 9) + ":1.1)"
    assert _lengths(f"{words} {run}", "comfyui") == [75, 4]
    # runs of one weight that ComfyUI reads apart stay apart (no merging of neighbours)
    assert _lengths(f"{words} red green blue (pink gold gray:1.0)", "comfyui") == [73, 3]


def test_an_embedding_is_a_group_of_its_own() -> None:
    def vectors(name: str) -> int | None:
        return {"glow": 10, "spark": 3}.get(name)

    words = " ".join(["cat"] * 70)
    tokens = tokenize(
        clip_tokenizer(),
        f"{words} embedding:glow, small cat",
        vectors=vectors,
        convention="comfyui",
    )
    assert [len(c) for c in tokens.chunks] == [75, 8]  # 10 vectors: large, cut at the fill
    assert tokens.chunks[0][-1] == (Vector("glow", 4), 1.0)
    # the text after an embedding is a new group: here a small one, moved on whole
    assert _lengths(f"{words} embedding:spark a b c", "comfyui", vectors) == [73, 3]


def _api_doc(text: str) -> dict:
    return {
        "4": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "sd15.safetensors"}},
        "9": {
            "class_type": "CLIPSetLastLayer",
            "inputs": {"stop_at_clip_layer": -2, "clip": ["4", 1]},
        },
        "6": {"class_type": "CLIPTextEncode", "inputs": {"text": text, "clip": ["9", 0]}},
        "7": {"class_type": "CLIPTextEncode", "inputs": {"text": "blurry", "clip": ["9", 0]}},
        "5": {
            "class_type": "EmptyLatentImage",
            "inputs": {"width": 64, "height": 64, "batch_size": 1},
        },
        "3": {
            "class_type": "KSampler",
            "inputs": {
                "seed": 3,
                "steps": 2,
                "cfg": 6.0,
                "sampler_name": "euler",
                "scheduler": "normal",
                "denoise": 1.0,
                "model": ["4", 0],
                "positive": ["6", 0],
                "negative": ["7", 0],
                "latent_image": ["5", 0],
            },
        },
        "8": {"class_type": "VAEDecode", "inputs": {"samples": ["3", 0], "vae": ["4", 2]}},
        "10": {
            "class_type": "SaveImage",
            "inputs": {"filename_prefix": "chunks", "images": ["8", 0]},
        },
    }


def test_imported_text_nodes_chunk_as_comfyui_and_clip_set_last_layer_maps(
    registry, comfy_executor
) -> None:
    doc = _api_doc(TEMPLATE_PROMPT)
    graph = import_api(doc, registry)
    assert graph.nodes["6"].params == {"text": TEMPLATE_PROMPT, "convention": "comfyui"}
    assert graph.nodes["9"].type == "conditioning.clip_set_last_layer"
    assert graph.nodes["9"].params == {"stop_at_clip_layer": -2}
    exported = export_api(graph)
    assert {k: v["inputs"] for k, v in exported.items()} == {k: v["inputs"] for k, v in doc.items()}

    outcome = comfy_executor.run(graph, capture=("checkpoint", "9", "6"))
    assert outcome.status is RunStatus.DONE, outcome.problems
    (clip,) = outcome.values["9"]
    assert clip.stop_at_layer == -2
    (cond,) = outcome.values["6"]
    assert cond.tokens == 176 and cond.embeds.shape[1] == 3 * 77

    # the reference: ComfyUI's chunks of the whole run, framed and encoded one by one,
    # on the penultimate layer (layer-normed, as ComfyUI does for SD1.x)
    tokenizer, encoder = clip.tokenizers[0], clip.encoders[0]
    ids = tokenizer.encode(TEMPLATE_PROMPT, add_special_tokens=False, verbose=False)
    parts = []
    for start in range(0, len(ids), CHUNK):
        chunk = [tokenizer.bos_token_id, *ids[start : start + CHUNK], tokenizer.eos_token_id]
        chunk += [tokenizer.pad_token_id] * (CHUNK + 2 - len(chunk))
        with torch.no_grad():
            out = encoder(torch.tensor([chunk]), output_hidden_states=True)
            parts.append(
                getattr(encoder, "text_model", encoder).final_layer_norm(out.hidden_states[-2])
            )
    assert [len(ids[s : s + CHUNK]) for s in range(0, len(ids), CHUNK)] == [75, 75, 26]
    assert torch.equal(cond.embeds, torch.cat(parts, dim=1))


def test_exports_of_long_diffusers_prompts_warn(registry) -> None:
    graph = import_api(_api_doc(TEMPLATE_PROMPT), registry)
    warnings: list[str] = []
    export_api(graph, warnings)
    assert not [w for w in warnings if "chunks" in w]
    graph.nodes["6"].params["convention"] = "diffusers"
    graph.nodes["7"].params["convention"] = "diffusers"  # short: the same chunks anyway
    export_api(graph, warnings)
    assert [w for w in warnings if "chunks" in w] == [
        "6: ComfyUI cuts prompts over 75 tokens into other chunks (picture differs; set "
        "convention to comfyui)"
    ]


@pytest.mark.parametrize("text", ["", "a cat", "(a cat:1.2), embedding:missing dog"])
def test_short_prompts_chunk_alike(text: str) -> None:
    assert _lengths(text, "comfyui") == _lengths(text, "diffusers")


def test_comfyui_takes_an_explicit_weight_as_it_is() -> None:
    """ComfyUI: an explicit weight inside other groups replaces theirs; Daguerre multiplies."""
    from nodes.diffusion.prompt import parse_weights

    text = "a ((cat:1.3)) (dog (fox:0.5))"
    assert parse_weights(text, comfyui=True) == [
        ("a ", 1.0),
        ("cat", 1.3),
        (" ", 1.0),
        ("dog ", 1.1),
        ("fox", 0.5),
    ]
    assert parse_weights(text) == [
        ("a ", 1.0),
        ("cat", pytest.approx(1.43)),
        (" ", 1.0),
        ("dog ", 1.1),
        ("fox", pytest.approx(0.55)),
    ]
