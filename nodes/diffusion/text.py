"""Text encoding: prompts (with weights, embeddings, any length) into CONDITIONING.

A prompt is tokenized with its weights (:mod:`nodes.diffusion.prompt`), cut into chunks
of 75 tokens by the text node's convention (:mod:`nodes.tokens`: Daguerre's word rule, or
ComfyUI's), and each chunk is framed as ``<start> tokens <end> <pad>…`` to 77 tokens and
encoded on its own; the chunks' embeddings are concatenated. Weighted tokens are moved
away from the embedding of an empty prompt: ``z = (z − z_empty)·w + z_empty`` (ComfyUI's
rule). A plain prompt of at most 75 tokens gives exactly diffusers' ``encode_prompt``
embedding.

**Embeddings** (``embedding:NAME``): each of an embedding's vectors takes one token
position, and the encoder's token embedding there is replaced by the vector (a forward
hook on the input embedding layer, for the length of one call), which is what a token
added by diffusers' ``load_textual_inversion`` looks up; position embeddings are added as
usual. SDXL files hold one set of vectors per encoder (``clip_l``, ``clip_g``).

**The layer** (CLIP skip): a CLIP value's ``stop_at_layer`` is ComfyUI's
``stop_at_clip_layer``: −k conditions on the output of the k-th layer from the end of the
encoder as its file holds it (−1 the last), layer-normed for the encoders whose own layer
is layer-normed (SD1.x, SD2.x) and raw for SDXL's, as ComfyUI does; −k beyond the number
of layers means the last layer, layer-normed (ComfyUI's fallback). Without it each
family conditions on its own layer: the last for SD1.x (k = 1), the penultimate for SD2.x
and SDXL (k = 2). diffusers' ``clip_skip=N`` counts from that layer, so it is
``stop_at_layer = −(N + 1)`` on SD1.x and ``−(N + 2)`` on SD2.x and SDXL. SD2.x encoders
are loaded without the file's last layer (diffusers' layout), so −1 is refused there.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import torch

from nodes.diffusion.patches import clip_patched
from nodes.diffusion.prompt import PromptError, check_weights, parse_weights
from nodes.diffusion.schedulers import COMFYUI
from nodes.diffusion.values import ClipModel, Conditioning
from nodes.models.errors import ModelError
from nodes.tokens import (  # noqa: F401
    CHUNK,
    LONG_WORD,
    Token,
    Tokens,
    Vector,
    tokenize,
    tokenize_segments,
)

if TYPE_CHECKING:
    from nodes.models.embeddings import Embedding
    from nodes.models.families import TextEncoderSpec

_PLACEHOLDER = 0
"""The token id put where an embedding vector goes (its lookup is replaced): any id but
the end token, which marks where the pooled embedding is read."""


def _frame(
    tokenizer: Any, chunk: list[tuple[Token, float]]
) -> tuple[list[int], list[float], list[tuple[int, Vector]]]:
    """The chunk's 77 ids and weights, and the positions of its embedding vectors."""
    bos, eos = tokenizer.bos_token_id, tokenizer.eos_token_id
    pad = tokenizer.pad_token_id
    ids = [bos]
    vectors: list[tuple[int, Vector]] = []
    for position, (token, _) in enumerate(chunk, start=1):
        if isinstance(token, Vector):
            vectors.append((position, token))
            ids.append(_PLACEHOLDER)
        else:
            ids.append(token)
    ids.append(eos)
    weights = [1.0] + [w for _, w in chunk] + [1.0]
    missing = CHUNK + 2 - len(ids)
    return ids + [pad] * missing, weights + [1.0] * missing, vectors


@torch.no_grad()
def encode_text(
    clip: ClipModel,
    text: str,
    *,
    time_ids: tuple[float, ...] | None = None,
    embeddings: Mapping[str, Embedding] | None = None,
    convention: str = "",
) -> Conditioning:
    """Encode ``text`` with every encoder of ``clip`` (two for SDXL), LoRAs applied.

    ``embeddings`` holds every embedding the text names, by name (the text node finds
    and loads them); ``convention`` is ``comfyui`` for ComfyUI's chunks. A weight that is
    not finite or beyond ±MAX_WEIGHT, or an embedding that is missing or does not fit an
    encoder, raises :class:`~nodes.diffusion.prompt.PromptError` (on the node's
    ``text``) before any encoder runs.
    """
    segments = parse_weights(text, comfyui=convention == COMFYUI)
    check_weights(segments)
    found = dict(embeddings or {})
    tokens = tokenize_segments(
        clip.tokenizers[0],
        segments,
        vectors=lambda name: found[name].count if name in found else None,
        convention=convention,
    )
    tables = _vector_tables(clip, segments, tokens, found)
    with clip_patched(clip):
        return _encode(clip, tokens, tables, time_ids)


def _vector_tables(
    clip: ClipModel,
    segments: list[tuple[str, float]],
    tokens: Tokens,
    found: Mapping[str, Embedding],
) -> list[dict[str, torch.Tensor]]:
    """Per encoder, the vectors of each embedding the prompt uses, checked to fit it."""
    from nodes.catalog.embeddings import refs, unknown_embedding

    for segment, _ in segments:
        for match in refs(segment):
            if match.group(1) not in found:
                raise PromptError(unknown_embedding(match.group(1)))
    used = sorted({t.name for chunk in tokens.chunks for t, _ in chunk if isinstance(t, Vector)})
    tables: list[dict[str, torch.Tensor]] = []
    specs = clip.family.text_encoders
    for index, (spec, encoder) in enumerate(zip(specs, clip.encoders, strict=False)):
        width = int(encoder.config.hidden_size)
        table = {}
        for name in used:
            try:
                table[name] = found[name].for_encoder(spec, width, _which(clip, index))
            except ModelError as exc:
                raise PromptError(str(exc)) from exc
        tables.append(table)
    return tables


def _which(clip: ClipModel, index: int) -> str:
    if len(clip.family.text_encoders) == 1:
        return f"{clip.family}'s text encoder"
    ordinal = ("first", "second", "third")[index] if index < 3 else f"#{index + 1}"
    return f"{clip.family}'s {ordinal} text encoder"


def _encode(
    clip: ClipModel,
    tokens: Tokens,
    tables: list[dict[str, torch.Tensor]],
    time_ids: tuple[float, ...] | None,
) -> Conditioning:
    specs = clip.family.text_encoders
    if len(specs) != len(clip.encoders):
        raise ValueError(
            f"a {clip.family} CLIP needs {len(specs)} text encoder(s), this one has "
            f"{len(clip.encoders)}"
        )
    weighted = any(w != 1.0 for chunk in tokens.chunks for _, w in chunk)
    per_chunk: list[torch.Tensor] = []
    pooled: torch.Tensor | None = None
    layer = clip.stop_at_layer
    for index, chunk in enumerate(tokens.chunks):
        parts = []
        encoders = zip(specs, clip.tokenizers, clip.encoders, tables, strict=True)
        for spec, tokenizer, encoder, table in encoders:
            ids, weights, slots = _frame(tokenizer, chunk)
            rows = [(p, table[v.name][v.index]) for p, v in slots]
            hidden, pool = _run_encoder(encoder, ids, spec, layer, rows)
            if weighted:
                empty_ids, _, _ = _frame(tokenizer, [])
                empty, _ = _run_encoder(encoder, empty_ids, spec, layer, [])
                w = torch.tensor(weights, dtype=hidden.dtype, device=hidden.device)
                hidden = (hidden - empty) * w.view(1, -1, 1) + empty
            parts.append(hidden)
            if pool is not None and index == 0:
                pooled = pool
        per_chunk.append(torch.cat(parts, dim=-1) if len(parts) > 1 else parts[0])
    embeds = torch.cat(per_chunk, dim=1) if len(per_chunk) > 1 else per_chunk[0]
    added = clip.family.added_conditions
    return Conditioning(
        embeds=embeds,
        family=clip.family,
        pooled=pooled if "text_embeds" in added else None,
        time_ids=time_ids if "time_ids" in added else None,
        tokens=tokens.count,
    )


def layer_problem(clip: ClipModel, stop_at: int) -> str | None:
    """Why ``clip`` cannot condition on layer ``stop_at`` (ComfyUI's numbering), or None."""
    for spec, encoder in zip(clip.family.text_encoders, clip.encoders, strict=False):
        layers = int(encoder.config.num_hidden_layers) + 1
        if spec.drop_last_layer and (stop_at == -1 or -stop_at > layers):
            # ComfyUI reads -1, and any layer beyond the encoder's, as the file's last layer
            return (
                f"{clip.family} conditions on the penultimate layer of its text encoder and "
                f"Daguerre loads it without the last one: use -2 (its own layer) to -{layers}"
            )
    return None


def _run_encoder(
    encoder: Any,
    ids: list[int],
    spec: TextEncoderSpec,
    stop_at: int | None,
    vectors: list[tuple[int, torch.Tensor]],
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """The hidden states the family (or ``stop_at``) conditions on and, where it is an
    added condition, the pooled projection (the same calls diffusers' ``encode_prompt``
    makes); ``vectors`` replace the token embeddings at their positions."""
    input_ids = torch.tensor([ids], dtype=torch.long, device=encoder.device)
    with _token_vectors(encoder, vectors):
        if stop_at is None and spec.hidden_state == "last" and not spec.pooled:
            return encoder(input_ids)[0], None
        out = encoder(input_ids, output_hidden_states=True)
    pooled = out[0] if spec.pooled and out[0].ndim == 2 else None
    if stop_at is None:
        hidden = out.hidden_states[-2] if spec.hidden_state == "penultimate" else out[0]
        return hidden, pooled
    return _layer(encoder, out, spec, stop_at), pooled


def _layer(encoder: Any, out: Any, spec: TextEncoderSpec, stop_at: int) -> torch.Tensor:
    """ComfyUI's ``stop_at_clip_layer`` of a text encoder's outputs (see the module)."""
    dropped = 1 if spec.drop_last_layer else 0
    layers = int(encoder.config.num_hidden_layers) + dropped  # as the file holds it
    normed = spec.hidden_state == "last"
    k = -stop_at
    if k > layers:  # ComfyUI's fallback: the last layer, layer-normed
        if dropped:
            raise PromptError(f"layer {stop_at} is beyond this text encoder's {layers}", None)
        hidden = out.hidden_states[-1]
        normed = True
    elif k - dropped < 1:
        raise PromptError(f"layer {stop_at} is not loaded for this text encoder", None)
    else:
        hidden = out.hidden_states[-(k - dropped)]
    if not normed:
        return hidden
    # transformers 5's CLIPTextModel holds its layers itself; WithProjection wraps one
    return getattr(encoder, "text_model", encoder).final_layer_norm(hidden)


@contextmanager
def _token_vectors(encoder: Any, vectors: list[tuple[int, torch.Tensor]]) -> Iterator[None]:
    """Replace the token embeddings of the one sequence at the given positions."""
    if not vectors:
        yield
        return
    layer = encoder.get_input_embeddings()

    def hook(module: Any, args: Any, output: torch.Tensor) -> torch.Tensor:
        replaced = output.clone()
        for position, vector in vectors:
            replaced[:, position] = vector.to(dtype=output.dtype, device=output.device)
        return replaced

    handle = layer.register_forward_hook(hook)
    try:
        yield
    finally:
        handle.remove()
