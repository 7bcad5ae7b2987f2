from __future__ import annotations

import pytest

from nodes.models.tokenizer import OPENCLIP_PAD_TOKEN, VOCAB_SIZE, bpe_path, clip_tokenizer

CAT = [49406, 320, 1125, 539, 320, 2368, 49407]


def test_known_ids() -> None:
    assert clip_tokenizer()("a photo of a cat").input_ids == CAT


def test_vocabulary() -> None:
    tok = clip_tokenizer()
    assert len(tok) == VOCAB_SIZE == 49408
    assert tok.vocab_size == VOCAB_SIZE
    assert tok.bos_token_id == 49406
    assert tok.eos_token_id == 49407
    assert tok.model_max_length == 77
    assert tok.convert_ids_to_tokens([0, 256, 320, 2368]) == ["!", "!</w>", "a</w>", "cat</w>"]


def test_text_normalisation_matches_clip() -> None:
    tok = clip_tokenizer()
    # CLIP lowercases and collapses whitespace; punctuation runs stay one token.
    assert tok("A  Photo of a CAT").input_ids == CAT
    assert tok("Hello, WORLD!!").input_ids == [49406, 3306, 267, 1002, 748, 49407]
    assert tok.decode(CAT, skip_special_tokens=True) == "a photo of a cat"


def test_pipeline_call_pads_with_end_token() -> None:
    """SD1.x / SDXL's first encoder: padded with <|endoftext|>, as diffusers pipelines call it."""
    tok = clip_tokenizer()
    ids = tok("a photo of a cat", padding="max_length", max_length=77, truncation=True).input_ids
    assert len(ids) == 77
    assert ids[:7] == CAT
    assert set(ids[7:]) == {49407}


def test_openclip_tokenizer_pads_with_exclamation_mark() -> None:
    """SD2.x / SDXL's second encoder pad with "!" (id 0), not the end token."""
    tok = clip_tokenizer(OPENCLIP_PAD_TOKEN)
    ids = tok("a photo of a cat", padding="max_length", max_length=77, truncation=True).input_ids
    assert ids[:7] == CAT
    assert set(ids[7:]) == {0}
    assert tok.pad_token_id == 0


def test_truncation_keeps_end_token() -> None:
    tok = clip_tokenizer()
    ids = tok("cat " * 200, padding="max_length", max_length=77, truncation=True).input_ids
    assert len(ids) == 77
    assert ids[0] == 49406 and ids[-1] == 49407


def test_cached_and_distinct() -> None:
    assert clip_tokenizer() is clip_tokenizer()
    assert clip_tokenizer(OPENCLIP_PAD_TOKEN) is not clip_tokenizer()


def test_unknown_pad_token() -> None:
    with pytest.raises(ValueError, match="not in the CLIP vocabulary"):
        clip_tokenizer("<pad>")


def test_shipped_with_licence() -> None:
    folder = bpe_path().parent
    assert bpe_path().is_file()
    assert "OpenAI" in (folder / "LICENSE").read_text()
    assert (folder / "README.md").is_file()
