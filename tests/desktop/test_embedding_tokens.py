"""A prompt's token count on the canvas counts a textual-inversion embedding as its vectors
(read from the file in the models folders' embeddings folder, without torch)."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtTest import QTest
from safetensors.numpy import save_file

from desktop.canvas.params import PromptEditor, count_tokens
from desktop.canvas.view import CanvasView
from desktop.document import Document
from nodes.settings import Settings
from nodes.tokens import exact_count, load_tokenizer
from tests.desktop.canvas_helpers import editor, node


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings whose models folder holds a 6-vector embedding, ``glow``."""
    import numpy as np

    models = tmp_path / "models"
    (models / "embeddings").mkdir(parents=True)
    save_file(
        {"emb_params": np.zeros((6, 32), np.float32)},
        str(models / "embeddings" / "glow.safetensors"),
    )
    return Settings(models_dirs=[str(models)])


def test_the_prompt_editor_counts_the_embeddings_vectors(
    canvas: CanvasView, document: Document, settings: Settings
) -> None:
    load_tokenizer()
    encode = document.add_node("conditioning.text_encode", (0, 0))
    canvas.fit_view()
    QTest.keyClicks(editor(canvas, encode, "text", PromptEditor).edit, "a cat, embedding:glow")
    plain = exact_count("a cat,")
    assert plain is not None
    assert node(canvas, encode).tokens["text"] == (plain + 6, True)
    assert count_tokens("a cat, embedding:glow", settings.model_dirs()) == (plain + 6, True)
    # without the models folders, or for a name no folder holds, the vectors are unknown
    assert count_tokens("a cat, embedding:glow") == (plain, True)
    assert count_tokens("a cat, embedding:gloom", settings.model_dirs()) == (plain, True)
