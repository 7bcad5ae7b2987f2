"""Text encoding: prompts (with weights, any length) into CONDITIONING.

A prompt is tokenized word by word with its weights (:mod:`nodes.diffusion.prompt`), cut
into chunks of 75 tokens at word boundaries (a word too long for one chunk is split), and
each chunk is framed as ``<start> tokens <end> <pad>…`` to 77 tokens and encoded on its
own; the chunks' embeddings are concatenated. Weighted tokens are moved away from the
embedding of an empty prompt: ``z = (z − z_empty)·w + z_empty`` (ComfyUI's rule). A plain
prompt of at most 75 tokens gives exactly diffusers' ``encode_prompt`` embedding.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import torch

from nodes.diffusion.patches import clip_patched
from nodes.diffusion.prompt import check_weights, parse_weights
from nodes.diffusion.values import ClipModel, Conditioning
from nodes.tokens import CHUNK, LONG_WORD, Tokens, tokenize, tokenize_segments  # noqa: F401

if TYPE_CHECKING:
    from nodes.models.families import TextEncoderSpec


def _frame(tokenizer: Any, chunk: list[tuple[int, float]]) -> tuple[list[int], list[float]]:
    bos, eos = tokenizer.bos_token_id, tokenizer.eos_token_id
    pad = tokenizer.pad_token_id
    ids = [bos] + [t for t, _ in chunk] + [eos]
    weights = [1.0] + [w for _, w in chunk] + [1.0]
    missing = CHUNK + 2 - len(ids)
    return ids + [pad] * missing, weights + [1.0] * missing


@torch.no_grad()
def encode_text(
    clip: ClipModel, text: str, *, time_ids: tuple[float, ...] | None = None
) -> Conditioning:
    """Encode ``text`` with every encoder of ``clip`` (two for SDXL), LoRAs applied.

    A weight that is not finite or beyond ±MAX_WEIGHT raises
    :class:`~nodes.diffusion.prompt.PromptError` (on the node's ``text``) before any
    encoder runs.
    """
    segments = parse_weights(text)
    check_weights(segments)
    with clip_patched(clip):
        return _encode(clip, segments, time_ids)


def _encode(
    clip: ClipModel, segments: list[tuple[str, float]], time_ids: tuple[float, ...] | None
) -> Conditioning:
    specs = clip.family.text_encoders
    if len(specs) != len(clip.encoders):
        raise ValueError(
            f"a {clip.family} CLIP needs {len(specs)} text encoder(s), this one has "
            f"{len(clip.encoders)}"
        )
    tokens = tokenize_segments(clip.tokenizers[0], segments)
    weighted = any(w != 1.0 for chunk in tokens.chunks for _, w in chunk)
    per_chunk: list[torch.Tensor] = []
    pooled: torch.Tensor | None = None
    for index, chunk in enumerate(tokens.chunks):
        parts = []
        for spec, tokenizer, encoder in zip(specs, clip.tokenizers, clip.encoders, strict=True):
            ids, weights = _frame(tokenizer, chunk)
            hidden, pool = _run_encoder(encoder, ids, spec)
            if weighted:
                empty_ids, _ = _frame(tokenizer, [])
                empty, _ = _run_encoder(encoder, empty_ids, spec)
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


def _run_encoder(
    encoder: Any, ids: list[int], spec: TextEncoderSpec
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """The hidden states the family conditions on and, where it is an added condition, the
    pooled projection (the same calls diffusers' ``encode_prompt`` makes)."""
    input_ids = torch.tensor([ids], dtype=torch.long, device=encoder.device)
    if spec.hidden_state == "last" and not spec.pooled:
        return encoder(input_ids)[0], None
    out = encoder(input_ids, output_hidden_states=True)
    pooled = out[0] if spec.pooled and out[0].ndim == 2 else None
    hidden = out.hidden_states[-2] if spec.hidden_state == "penultimate" else out[0]
    return hidden, pooled
